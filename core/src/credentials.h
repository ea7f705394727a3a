/* SPDX-License-Identifier: Apache-2.0 */
/* credentials.h - the credential chain, as AWS users expect it, with caching and refresh. */
#ifndef KVSWS_CREDENTIALS_H
#define KVSWS_CREDENTIALS_H

#include <time.h>

#include "buf.h"
#include "kvsws.h"
#include "profile.h"

typedef struct kvi_credentials {
    char *access_key_id;
    char *secret_access_key; /* cleansed when freed */
    char *session_token;     /* NULL when none; cleansed when freed */
    time_t expiration;       /* 0 when they do not expire */
    const char *source;      /* static: "explicit", "environment", "shared-credentials-file",
                                "config-file", "credential_process", "container-role",
                                "iam-role", "assume-role", "assume-role-with-web-identity",
                                "sso", "iot" */
} kvi_credentials;

void kvi_credentials_free(kvi_credentials *c);
int kvi_credentials_copy(const kvi_credentials *from, kvi_credentials *to); /* 0 / -1 OOM */

/* Shared with credentials_remote.c. Fills c from borrowed strings (token NULL or "" = none). */
kvsws_status kvi_credentials_set(kvi_credentials *c, const char *ak, const char *sk,
                                 const char *token, time_t expiration, const char *source,
                                 kvsws_error *err);
/* Appends an untrusted, non-secret value for a message: printable ASCII, at most max bytes. */
void kvi_put_sanitized(kvi_buf *b, const char *s, size_t max);
/* ISO-8601 / RFC 3339 as credential endpoints write it. 0 ok, -1 not a timestamp, or one not
 * after 1970 (an expiration of 0 would mean "never expires"). */
int kvi_iso8601_parse(const char *s, time_t *out);
/* Wipes every string in a parsed cJSON document (they hold secrets). */
struct cJSON;
void kvi_json_cleanse(struct cJSON *item);

/* The chain, in botocore's order: explicit keys (both or neither, else PARAM_VALIDATION) ->
 * explicit AWS IoT options -> the AWS_IOT_CORE_* variables (credentials_iot.h; skipped, like
 * the environment's keys, when the profile came from the option) -> AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN; skipped when the profile came
 * from the option) -> assume-role: the profile's role_arn with source_profile or
 * credential_source (credentials_role.h) -> the profile's providers (kvi_profile_providers:
 * web identity, SSO, the credentials file's keys, credential_process, the config file's keys)
 * -> the container endpoint -> the EC2 instance metadata service (credentials_remote.h).
 * An explicitly named profile that exists nowhere is KVSWS_E_CONFIG "The config profile (NAME)
 * could not be found". Nothing found -> KVSWS_E_NO_CREDENTIALS with a message listing where it
 * looked. A failing source -> KVSWS_E_CREDENTIAL_RETRIEVAL naming the source (never a secret). */
typedef struct kvi_credential_chain kvi_credential_chain;

struct kvi_http_pool;

/* What the providers need from their chain and its client, for one resolution. */
typedef struct kvi_provider_ctx {
    const kvi_profile_paths *paths; /* the files and the client's profile (endpoint settings) */
    const char *region;             /* the client's region, for STS; NULL: the global endpoint */
    int use_fips;                   /* FIPS endpoints for STS and the SSO portal */
    struct kvi_http_pool *http;     /* the client's pool and CA bundle; NULL: one of our own */
    const char *session_name;       /* default RoleSessionName: kvsws-session-<unix time> */
    int process_timeout_ms;         /* credential_process */
} kvi_provider_ctx;

/* The providers botocore's ProfileProviderBuilder makes for one profile, in its order:
 * assume-role-with-web-identity (credentials_role.h; AWS_ROLE_ARN & co. unless disable_env),
 * SSO (credentials_sso.h), the credentials file's keys, credential_process, the config file's
 * keys. *found 0 when none of them applies to the profile. */
kvsws_status kvi_profile_providers(const kvi_provider_ctx *ctx, const char *profile,
                                   int disable_env, kvi_credentials *out, int *found,
                                   kvsws_error *err);

/* The environment provider: AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN or
 * AWS_SECURITY_TOKEN). *found 0 when AWS_ACCESS_KEY_ID is unset; an access key without its
 * secret is an error. */
kvsws_status kvi_env_credentials(kvi_credentials *out, int *found, kvsws_error *err);

/* A copy of p naming another profile (borrowed strings: valid while p and profile are). */
kvi_profile_paths kvi_profile_paths_for(const kvi_profile_paths *p, const char *profile);

kvi_credential_chain *kvi_credential_chain_new(const char *access_key_id,
                                               const char *secret_access_key,
                                               const char *session_token,
                                               const kvi_profile_paths *paths);
void kvi_credential_chain_free(kvi_credential_chain *chain);

/* Gives the chain what the providers that call AWS need from its client: the region (copied),
 * the pool (borrowed: the client frees it after its last call) and whether FIPS endpoints are
 * asked for. A chain without it uses the profile's region and a pool with the system CAs. */
void kvi_credential_chain_attach(kvi_credential_chain *chain, const char *region,
                                 struct kvi_http_pool *http, int use_fips);

/* Gives the chain the AWS IoT credentials provider's settings from the client: options (copied;
 * NULL when none were given: then the AWS_IOT_CORE_* variables), the CA bundle its TLS falls
 * back to without a CA file of its own (NULL: the system store) and the client's timeouts.
 * 0, or -1 out of memory. */
struct kvi_iot_config;
int kvi_credential_chain_attach_iot(kvi_credential_chain *chain,
                                    const struct kvi_iot_config *options, const char *ca_bundle,
                                    long connect_timeout_ms, long request_timeout_ms);

/* Thread-safe. Returns a copy of the current credentials in *out, resolving them on first use
 * and again when they expire within refresh_margin seconds of now. */
kvsws_status kvi_credential_chain_get(kvi_credential_chain *chain, time_t now,
                                      int refresh_margin, kvi_credentials *out, kvsws_error *err);

/* Runs a credential_process command line without a shell (split as botocore splits it), reads
 * its stdout (64 KiB at most) and parses the JSON into *out. Killed after timeout_ms (the chain
 * uses 60 s); exposed so tests can use a short one. Errors name credential_process and the
 * profile, with the exit status and stderr's first line, never stdout. */
kvsws_status kvi_credential_process_run(const char *command, const char *profile,
                                        int timeout_ms, kvi_credentials *out, kvsws_error *err);
/* The helper's stdout (JSON, Version 1) into *out; errors name credential_process and the
 * profile and never quote the output beyond a sanitized Version or Expiration. */
kvsws_status kvi_credential_process_parse(const kvi_buf *out, const char *profile,
                                          kvi_credentials *creds, kvsws_error *err);

/* Region: option -> AWS_REGION -> AWS_DEFAULT_REGION -> the profile's region. NULL + a
 * KVSWS_E_NO_REGION error naming where it looked when none; a region that is not
 * [a-z0-9-]{1,64} is a PARAM_VALIDATION error naming its source; an explicitly named profile
 * that exists nowhere is the KVSWS_E_CONFIG error above. Returns malloc'd. */
char *kvi_region_resolve(const char *option, const kvi_profile_paths *paths, kvsws_error *err);

/* As kvi_credential_chain_get, but the three strings are copied into storage, one after the
 * other (one allocation, none once storage is big enough), and *access_key_id,
 * *secret_access_key and *session_token (NULL when none) point into it. storage holds the secret:
 * free it with kvi_buf_free_secret. */
kvsws_status kvi_credential_chain_get_packed(kvi_credential_chain *chain, time_t now,
                                             int refresh_margin, kvi_buf *storage,
                                             const char **access_key_id,
                                             const char **secret_access_key,
                                             const char **session_token, kvsws_error *err);

#endif
