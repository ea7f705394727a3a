/* SPDX-License-Identifier: Apache-2.0 */
/* assume_role.h - the assume-role provider, as botocore's AssumeRoleProvider: a profile's
 * role_arn with source_profile or credential_source. */
#ifndef KVSWS_CREDENTIALS_ROLE_H
#define KVSWS_CREDENTIALS_ROLE_H

#include "credentials/credentials.h"

/* Profiles a chain of roles may pass through; a longer chain is refused. */
#define KVI_ROLE_CHAIN_MAX 16

/* A profile's assume-role settings, as botocore's _get_role_config reads them. */
typedef struct kvi_role_config {
    char *role_arn;
    char *source_profile;    /* NULL, or the profile whose credentials call AssumeRole */
    char *credential_source; /* NULL, or Environment / EcsContainer / Ec2InstanceMetadata */
    char *external_id;
    char *session_name;      /* role_session_name */
    char *mfa_serial;
    long duration_seconds;   /* 0 when not set */
} kvi_role_config;

void kvi_role_config_free(kvi_role_config *c);

/* 1 when the profile is for assume-role: it has role_arn and no web_identity_token_file. */
int kvi_role_profile_assumes(const kvi_profile_paths *paths, const char *profile);

/* Reads and checks the settings, before any network I/O. KVSWS_E_CONFIG for: both
 * source_profile and credential_source, neither, an unknown credential_source, a source_profile
 * that does not exist, mfa_serial (a token prompt is not supported), a duration_seconds that is
 * not a whole number of seconds. */
kvsws_status kvi_role_config_load(const kvi_profile_paths *paths, const char *profile,
                                  kvi_role_config *out, kvsws_error *err);

/*
 * assume-role for the profile: *found 0 unless kvi_role_profile_assumes. The source credentials
 * come from credential_source, or from source_profile: its own providers (static keys, SSO,
 * web identity, credential_process: kvi_profile_providers without the environment) when it has
 * static keys or no role_arn, else its own assume-role, recursively. A profile visited twice is
 * botocore's "Infinite loop in credential configuration" (KVSWS_E_CONFIG), except a profile
 * that names itself and has static keys. Then STS AssumeRole (sts.h) with
 * role_session_name (default ctx->session_name), external_id and duration_seconds.
 */
kvsws_status kvi_assume_role_provider(const kvi_provider_ctx *ctx, const char *profile,
                                      kvi_credentials *out, int *found, kvsws_error *err);

#endif
