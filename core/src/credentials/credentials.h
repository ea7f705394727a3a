/* SPDX-License-Identifier: Apache-2.0 */
/* credentials.h - what every credential provider shares: the credentials, the context a chain
 * gives its providers, timestamps and messages. The providers sit above it, the chain on top. */
#ifndef KVSWS_CREDENTIALS_H
#define KVSWS_CREDENTIALS_H

#include <time.h>

#include "base/buf.h"
#include "base/profile.h"
#include "kvsws.h"

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

/* Fills c from borrowed strings (token NULL or "" = none). */
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

/* A copy of p naming another profile (borrowed strings: valid while p and profile are). */
kvi_profile_paths kvi_profile_paths_for(const kvi_profile_paths *p, const char *profile);
/* A key of another profile of the same files (malloc'd or NULL: absent). */
char *kvi_profile_key(const kvi_profile_paths *paths, const char *profile, const char *key);
/* botocore's ProfileNotFound, for a profile asked for by name (the option or AWS_PROFILE). */
kvsws_status kvi_profile_not_found(const kvi_profile_paths *p, kvsws_error *err);
/* getenv, with "" read as unset (as botocore reads it). */
const char *kvi_nonempty_env(const char *name);

#endif
