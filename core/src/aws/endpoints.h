/* SPDX-License-Identifier: Apache-2.0 */
/* endpoints.h - where each call goes: overrides, then the region's default. */
#ifndef KVSWS_ENDPOINTS_H
#define KVSWS_ENDPOINTS_H

#include "base/profile.h"
#include "kvsws.h"

typedef enum kvi_endpoint_kind {
    KVI_ENDPOINT_CONTROL = 0,        /* kinesisvideo control plane */
    KVI_ENDPOINT_SIGNALING = 1,      /* the channel's HTTPS endpoint (GetIceServerConfig) */
    KVI_ENDPOINT_WEBRTC_STORAGE = 2, /* the channel's WEBRTC endpoint (JoinStorageSession*) */
    KVI_ENDPOINT_STS = 3,            /* STS, for the assume-role credential providers */
    KVI_ENDPOINT_SSO = 4             /* the IAM Identity Center portal (GetRoleCredentials) */
} kvi_endpoint_kind;

/*
 * The configured URL for a kind, or NULL when the caller must use the default (control plane)
 * or discover it (the two per-channel kinds). Precedence, as botocore's: explicit option, then
 * AWS_ENDPOINT_URL_KINESIS_VIDEO / _SIGNALING / _WEBRTC_STORAGE (AWS_ENDPOINT_URL_STS,
 * AWS_ENDPOINT_URL_SSO), then AWS_ENDPOINT_URL, then the profile's "services = NAME" section
 * ("[services NAME]" with "kinesis_video =" / "kinesis_video_signaling =" /
 * "kinesis_video_webrtc_storage =" / "sts =" / "sso =" and an indented "endpoint_url = URL"),
 * then the profile's endpoint_url. The per-channel kinds (SIGNALING, WEBRTC_STORAGE) take only
 * the option, their own variable and their own services key: AWS_ENDPOINT_URL and the profile's
 * endpoint_url address the control plane, which names the channel's endpoints. All but the
 * option are ignored when AWS_IGNORE_CONFIGURED_ENDPOINT_URLS (else the profile's
 * ignore_configured_endpoint_urls) is true. Empty values count as unset. Not validated here.
 * Returns malloc'd or NULL.
 */
char *kvi_endpoint_configured(kvi_endpoint_kind kind, const char *option,
                              const kvi_profile_paths *paths);

/* The control plane default for a region: https://kinesisvideo.REGION.amazonaws.com, with
 * the partition's suffix (amazonaws.com.cn for cn-*, c2s.ic.gov for us-iso-*, sc2s.sgov.gov for
 * us-isob-*, cloud.adc-e.uk, csp.hci.ic.gov, amazonaws.eu), kinesisvideo-fips for FIPS.
 * malloc'd; NULL for no region. */
char *kvi_endpoint_control_default(const char *region, int use_fips);

/* The same rule for another service's endpoint prefix ("sts", "portal.sso"):
 * https://PREFIX[-fips].REGION.SUFFIX. malloc'd; NULL for no region or out of memory. */
char *kvi_endpoint_service_default(const char *prefix, const char *region, int use_fips);

/* 1 when FIPS is asked for: option (-1 = unset), AWS_USE_FIPS_ENDPOINT, the profile's
 * use_fips_endpoint; the first one set decides, and only "true" (any case) is true. */
int kvi_endpoint_use_fips(int option, const kvi_profile_paths *paths);

/* Checks a URL is https:// (wss:// instead when wss) with a host, an optional port (1-65535),
 * path and query, no user info, fragment, whitespace or control characters; 0 ok, else -1 and
 * *why (a static phrase such as "must start with https://"). */
int kvi_endpoint_validate(const char *url, int wss, const char **why);

#endif
