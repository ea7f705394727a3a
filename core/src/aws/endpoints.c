/* SPDX-License-Identifier: Apache-2.0 */
/* endpoints.c - configured endpoint URLs (botocore's ConfiguredEndpointProvider order) and the
 * control plane's default per partition. */
#include "aws/endpoints.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"

static const char *nonempty_env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

/* botocore's ensure_boolean: only "true", in any case, is true. */
static int is_true(const char *v) { return v && strcasecmp(v, "true") == 0; }

/* The service ids botocore derives the names from: "Kinesis Video", "Kinesis Video Signaling",
 * "Kinesis Video WebRTC Storage", "STS", "SSO". */
static const char *service_env(kvi_endpoint_kind kind)
{
    switch (kind) {
    case KVI_ENDPOINT_SIGNALING:
        return "AWS_ENDPOINT_URL_KINESIS_VIDEO_SIGNALING";
    case KVI_ENDPOINT_WEBRTC_STORAGE:
        return "AWS_ENDPOINT_URL_KINESIS_VIDEO_WEBRTC_STORAGE";
    case KVI_ENDPOINT_STS:
        return "AWS_ENDPOINT_URL_STS";
    case KVI_ENDPOINT_SSO:
        return "AWS_ENDPOINT_URL_SSO";
    default:
        return "AWS_ENDPOINT_URL_KINESIS_VIDEO";
    }
}

static const char *service_key(kvi_endpoint_kind kind)
{
    switch (kind) {
    case KVI_ENDPOINT_SIGNALING:
        return "kinesis_video_signaling";
    case KVI_ENDPOINT_WEBRTC_STORAGE:
        return "kinesis_video_webrtc_storage";
    case KVI_ENDPOINT_STS:
        return "sts";
    case KVI_ENDPOINT_SSO:
        return "sso";
    default:
        return "kinesis_video";
    }
}

/* Takes a malloc'd value, keeping it only when non-empty. */
static char *keep_nonempty(char *v)
{
    if (v && !*v) {
        free(v);
        return NULL;
    }
    return v;
}

char *kvi_endpoint_configured(kvi_endpoint_kind kind, const char *option,
                              const kvi_profile_paths *paths)
{
    if (option && *option)
        return kvi_strdup(option);
    /* The switch silences the environment and the files, never the explicit option. */
    const char *ignore = nonempty_env("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
    if (ignore) {
        if (is_true(ignore))
            return NULL;
    } else if (paths) {
        char *v = kvi_profile_get(paths, "ignore_configured_endpoint_urls");
        int yes = is_true(v);
        free(v);
        if (yes)
            return NULL;
    }
    /* The per-channel kinds answer to their own names only: the catch-alls (AWS_ENDPOINT_URL, the
     * profile's endpoint_url) address the control plane, whose GetSignalingChannelEndpoint names
     * the channel's endpoints, as boto3 users and the KVS SDKs route them. */
    int per_channel = kind == KVI_ENDPOINT_SIGNALING || kind == KVI_ENDPOINT_WEBRTC_STORAGE;
    const char *env = nonempty_env(service_env(kind));
    if (!env && !per_channel)
        env = nonempty_env("AWS_ENDPOINT_URL");
    if (env)
        return kvi_strdup(env);
    if (!paths)
        return NULL;
    char *url = NULL;
    char *services = keep_nonempty(kvi_profile_get(paths, "services"));
    if (services) {
        url = keep_nonempty(
            kvi_profile_services_get(paths, services, service_key(kind), "endpoint_url"));
        free(services);
    }
    if (!url && !per_channel)
        url = keep_nonempty(kvi_profile_get(paths, "endpoint_url"));
    return url;
}

/* "^PREFIX-\w+-\d+$", the shape of partitions.json's regionRegex. */
static int region_in(const char *region, const char *prefix)
{
    size_t pl = strlen(prefix);
    if (strncmp(region, prefix, pl) != 0 || region[pl] != '-')
        return 0;
    const char *p = region + pl + 1, *w = p;
    while (isalnum((unsigned char)*p) || *p == '_')
        p++;
    if (p == w || *p++ != '-' || !isdigit((unsigned char)*p))
        return 0;
    while (isdigit((unsigned char)*p))
        p++;
    return *p == '\0';
}

/* The partition's dnsSuffix (botocore's partitions.json); anything unknown is "aws". */
static const char *dns_suffix(const char *region)
{
    static const struct {
        const char *prefix, *suffix;
    } partitions[] = {
        {"cn", "amazonaws.com.cn"},       /* aws-cn */
        {"us-gov", "amazonaws.com"},      /* aws-us-gov */
        {"us-iso", "c2s.ic.gov"},         /* aws-iso */
        {"us-isob", "sc2s.sgov.gov"},     /* aws-iso-b */
        {"eu-isoe", "cloud.adc-e.uk"},    /* aws-iso-e */
        {"us-isof", "csp.hci.ic.gov"},    /* aws-iso-f */
        {"eusc-de", "amazonaws.eu"},      /* aws-eusc */
    };
    for (size_t i = 0; i < sizeof partitions / sizeof partitions[0]; i++)
        if (region_in(region, partitions[i].prefix))
            return partitions[i].suffix;
    return "amazonaws.com";
}

char *kvi_endpoint_control_default(const char *region, int use_fips)
{
    return kvi_endpoint_service_default("kinesisvideo", region, use_fips);
}

char *kvi_endpoint_service_default(const char *prefix, const char *region, int use_fips)
{
    if (!region || !*region)
        return NULL;
    kvi_buf b = KVI_BUF_INIT;
    if (kvi_buf_printf(&b, "https://%s%s.%s.%s", prefix, use_fips ? "-fips" : "", region,
                       dns_suffix(region)) != 0) {
        kvi_buf_free(&b);
        return NULL;
    }
    return kvi_buf_detach(&b);
}

int kvi_endpoint_use_fips(int option, const kvi_profile_paths *paths)
{
    if (option >= 0)
        return option != 0;
    const char *env = nonempty_env("AWS_USE_FIPS_ENDPOINT");
    if (env)
        return is_true(env);
    if (!paths)
        return 0;
    char *v = kvi_profile_get(paths, "use_fips_endpoint");
    int yes = is_true(v);
    free(v);
    return yes;
}

int kvi_endpoint_validate(const char *url, int wss, const char **why)
{
    const char *dummy;
    if (!why)
        why = &dummy;
    *why = NULL;
    if (!url || !*url) {
        *why = "is empty";
        return -1;
    }
    for (const char *p = url; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c <= 0x20 || c == 0x7f) {
            *why = "contains whitespace or a control character";
            return -1;
        }
    }
    const char *scheme = wss ? "wss://" : "https://";
    size_t sl = strlen(scheme);
    if (strncasecmp(url, scheme, sl) != 0) {
        *why = wss ? "must start with wss://" : "must start with https://";
        return -1;
    }
    const char *host = url + sl;
    const char *end = host + strcspn(host, "/?#");
    if (memchr(host, '@', (size_t)(end - host))) {
        *why = "must not contain user information (user@)";
        return -1;
    }
    const char *port = NULL, *host_end;
    if (*host == '[') { /* an IPv6 literal */
        const char *close = memchr(host, ']', (size_t)(end - host));
        if (!close || close == host + 1) {
            *why = "has a malformed IPv6 host";
            return -1;
        }
        for (const char *p = host + 1; p < close; p++)
            if (!isxdigit((unsigned char)*p) && *p != ':' && *p != '.') {
                *why = "has a malformed IPv6 host";
                return -1;
            }
        host_end = close + 1;
        if (host_end < end && *host_end != ':') {
            *why = "has a malformed IPv6 host";
            return -1;
        }
    } else {
        host_end = host;
        while (host_end < end && *host_end != ':') {
            char c = *host_end;
            if (!isalnum((unsigned char)c) && c != '-' && c != '.' && c != '_') {
                *why = "has an invalid character in the host";
                return -1;
            }
            host_end++;
        }
        if (host_end == host) {
            *why = "has no host";
            return -1;
        }
    }
    if (host_end < end) { /* ":port" */
        port = host_end + 1;
        long n = 0;
        const char *p = port;
        for (; p < end && isdigit((unsigned char)*p) && n <= 65535; p++)
            n = n * 10 + (*p - '0');
        if (p == port || p != end || n < 1 || n > 65535) {
            *why = "has an invalid port (1 to 65535)";
            return -1;
        }
    }
    if (strchr(end, '#')) {
        *why = "must not have a fragment (#)";
        return -1;
    }
    return 0;
}
