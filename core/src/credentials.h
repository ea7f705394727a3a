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
                                "iam-role" */
} kvi_credentials;

void kvi_credentials_free(kvi_credentials *c);
int kvi_credentials_copy(const kvi_credentials *from, kvi_credentials *to); /* 0 / -1 OOM */

/* Shared with credentials_remote.c. Fills c from borrowed strings (token NULL or "" = none). */
kvsws_status kvi_credentials_set(kvi_credentials *c, const char *ak, const char *sk,
                                 const char *token, time_t expiration, const char *source,
                                 kvsws_error *err);
/* Appends an untrusted, non-secret value for a message: printable ASCII, at most max bytes. */
void kvi_put_sanitized(kvi_buf *b, const char *s, size_t max);
/* ISO-8601 / RFC 3339 as credential endpoints write it. 0 ok, -1 not a timestamp. */
int kvi_iso8601_parse(const char *s, time_t *out);
/* Wipes every string in a parsed cJSON document (they hold secrets). */
struct cJSON;
void kvi_json_cleanse(struct cJSON *item);

/* The chain, in botocore's order: explicit keys (both or neither, else PARAM_VALIDATION) ->
 * AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN; skipped when the profile came
 * from the option) -> the profile's aws_access_key_id / aws_secret_access_key /
 * aws_session_token in the credentials file -> the profile's credential_process (JSON Version 1,
 * AccessKeyId, SecretAccessKey, SessionToken, Expiration) -> the same keys in the config file
 * -> the container endpoint -> the EC2 instance metadata service (credentials_remote.h).
 * An explicitly named profile that exists nowhere is KVSWS_E_CONFIG "The config profile (NAME)
 * could not be found". Nothing found -> KVSWS_E_NO_CREDENTIALS with a message listing where it
 * looked. A failing source -> KVSWS_E_CREDENTIAL_RETRIEVAL naming the source (never a secret). */
typedef struct kvi_credential_chain kvi_credential_chain;

kvi_credential_chain *kvi_credential_chain_new(const char *access_key_id,
                                               const char *secret_access_key,
                                               const char *session_token,
                                               const kvi_profile_paths *paths);
void kvi_credential_chain_free(kvi_credential_chain *chain);

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
