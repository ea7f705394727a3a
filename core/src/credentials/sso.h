/* SPDX-License-Identifier: Apache-2.0 */
/* sso.h - IAM Identity Center (SSO) credentials, as botocore's SSOProvider: the
 * profile's sso_account_id and sso_role_name, the token `aws sso login` cached, and the portal's
 * GetRoleCredentials. The token is never refreshed here (no OIDC flow): when it is missing or
 * expired the error says to run `aws sso login`. */
#ifndef KVSWS_CREDENTIALS_SSO_H
#define KVSWS_CREDENTIALS_SSO_H

#include "credentials/credentials.h"

typedef struct kvi_sso_config {
    char *start_url;
    char *region;     /* sso_region: the portal's region */
    char *account_id;
    char *role_name;
    char *session;    /* the sso-session name; NULL for the legacy form (all in the profile) */
} kvi_sso_config;

void kvi_sso_config_free(kvi_sso_config *c);

/* The profile's SSO settings: *found 0 unless it has sso_account_id or sso_role_name. With
 * sso_session, sso_start_url and sso_region come from the config file's "[sso-session NAME]"
 * section (a different value in the profile is an error, as in botocore). Missing settings, or
 * an sso-session section that is not there, are KVSWS_E_CONFIG errors that name them. */
kvsws_status kvi_sso_config_load(const kvi_profile_paths *paths, const char *profile,
                                 kvi_sso_config *out, int *found, kvsws_error *err);

/* Where `aws sso login` caches the token: $HOME/.aws/sso/cache/<sha1 hex>.json, of the
 * sso-session name when there is one, else of the start URL. malloc'd; NULL without a home
 * directory or memory. */
char *kvi_sso_cache_path(const char *session, const char *start_url);

/* The cached token's accessToken (a secret, malloc'd) when it is there and not expired at now;
 * else KVSWS_E_CREDENTIAL_RETRIEVAL naming the file and saying to run
 * `aws sso login --profile PROFILE`. */
kvsws_status kvi_sso_token_load(const kvi_sso_config *cfg, const char *profile, time_t now,
                                char **token, kvsws_error *err);

/* The provider: config, token, then GET PORTAL/federation/credentials?role_name=..&account_id=..
 * with x-amz-sso_bearer_token, PORTAL being AWS_ENDPOINT_URL_SSO & co. (fetch.h)
 * else https://portal.sso.SSO_REGION.amazonaws.com. */
kvsws_status kvi_sso_provider(const kvi_provider_ctx *ctx, const char *profile,
                              kvi_credentials *out, int *found, kvsws_error *err);

/* GetRoleCredentials' 200 answer {"roleCredentials": {accessKeyId, secretAccessKey,
 * sessionToken, expiration (epoch ms)}} into *out. NULL, or a static reason (never quoting it). */
const char *kvi_sso_role_credentials_parse(const kvi_buf *body, kvi_credentials *out);

#endif
