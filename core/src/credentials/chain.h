/* SPDX-License-Identifier: Apache-2.0 */
/* chain.h - the credential chain, as AWS users expect it, with caching and refresh. */
#ifndef KVSWS_CREDENTIALS_CHAIN_H
#define KVSWS_CREDENTIALS_CHAIN_H

#include <time.h>

#include "base/buf.h"
#include "base/profile.h"
#include "credentials/credentials.h"
#include "kvsws.h"

/* The chain, in botocore's order: explicit keys (both or neither, else PARAM_VALIDATION) ->
 * explicit AWS IoT options -> the AWS_IOT_CORE_* variables (iot.h; skipped, like the
 * environment's keys, when the profile came from the option) -> AWS_ACCESS_KEY_ID +
 * AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN; skipped when the profile came from the option) -> assume-role: the profile's role_arn with source_profile or
 * credential_source (assume_role.h) -> the profile's providers (kvi_profile_providers:
 * web identity, SSO, the credentials file's keys, credential_process, the config file's keys)
 * -> the container endpoint -> the EC2 instance metadata service (remote.h).
 * An explicitly named profile that exists nowhere is KVSWS_E_CONFIG "The config profile (NAME)
 * could not be found". Nothing found -> KVSWS_E_NO_CREDENTIALS with a message listing where it
 * looked. A failing source -> KVSWS_E_CREDENTIAL_RETRIEVAL naming the source (never a secret). */
typedef struct kvi_credential_chain kvi_credential_chain;

struct kvi_http_pool;

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
