/* SPDX-License-Identifier: Apache-2.0 */
/* chain.c - the credential chain (as botocore orders it), cached and refreshed for a client. */
#include "credentials/chain.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/error.h"
#include "credentials/assume_role.h"
#include "credentials/iot.h"
#include "credentials/keys.h"
#include "credentials/process.h"
#include "credentials/profile_providers.h"
#include "credentials/remote.h"
#include "transport/http.h"

struct kvi_credential_chain {
    pthread_mutex_t lock;
    char *access_key_id;
    char *secret_access_key;
    char *session_token;
    kvi_profile_paths paths;
    int process_timeout_ms;
    /* From the client (kvi_credential_chain_attach), for STS and the SSO portal. */
    char *region;
    kvi_http_pool *http; /* borrowed */
    int use_fips;
    char *session_name; /* kvsws-session-<unix time>: one per chain, kept across refreshes */
    /* The AWS IoT provider (kvi_credential_chain_attach_iot). */
    kvi_iot_config *iot_options; /* NULL: the AWS_IOT_CORE_* variables decide */
    char *iot_ca_bundle;
    long iot_connect_timeout_ms;
    long iot_request_timeout_ms;
    int have;
    kvi_credentials cached;
};

static int paths_copy(const kvi_profile_paths *from, kvi_profile_paths *to)
{
    memset(to, 0, sizeof *to);
    to->config_file = kvi_strdup(from->config_file);
    to->credentials_file = kvi_strdup(from->credentials_file);
    to->profile = kvi_strdup(from->profile ? from->profile : "default");
    to->profile_explicit = from->profile_explicit;
    to->profile_from_option = from->profile_from_option;
    if ((from->config_file && !to->config_file) ||
        (from->credentials_file && !to->credentials_file) || !to->profile) {
        kvi_profile_paths_free(to);
        return -1;
    }
    return 0;
}

kvi_credential_chain *kvi_credential_chain_new(const char *access_key_id,
                                               const char *secret_access_key,
                                               const char *session_token,
                                               const kvi_profile_paths *paths)
{
    kvi_credential_chain *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    int rc = paths ? paths_copy(paths, &c->paths)
                   : kvi_profile_paths_resolve(NULL, NULL, NULL, &c->paths);
    c->access_key_id = kvi_strdup(access_key_id);
    c->secret_access_key = kvi_strdup(secret_access_key);
    c->session_token = kvi_strdup(session_token);
    /* botocore's default RoleSessionName is botocore-session-<unix time>; ours says kvsws */
    if (asprintf(&c->session_name, "kvsws-session-%lld", (long long)time(NULL)) < 0)
        c->session_name = NULL;
    if (rc != 0 || !c->session_name || (access_key_id && !c->access_key_id) ||
        (secret_access_key && !c->secret_access_key) || (session_token && !c->session_token) ||
        pthread_mutex_init(&c->lock, NULL) != 0) {
        if (rc == 0)
            kvi_profile_paths_free(&c->paths);
        free(c->access_key_id);
        kvi_free_secret(c->secret_access_key);
        kvi_free_secret(c->session_token);
        free(c->session_name);
        free(c);
        return NULL;
    }
    c->process_timeout_ms = KVI_CREDENTIAL_PROCESS_TIMEOUT_MS;
    return c;
}

void kvi_credential_chain_free(kvi_credential_chain *chain)
{
    if (!chain)
        return;
    pthread_mutex_destroy(&chain->lock);
    free(chain->access_key_id);
    kvi_free_secret(chain->secret_access_key);
    kvi_free_secret(chain->session_token);
    kvi_profile_paths_free(&chain->paths);
    kvi_credentials_free(&chain->cached);
    free(chain->region);
    free(chain->session_name);
    if (chain->iot_options)
        kvi_iot_config_free(chain->iot_options);
    free(chain->iot_options);
    free(chain->iot_ca_bundle);
    free(chain);
}

void kvi_credential_chain_attach(kvi_credential_chain *chain, const char *region,
                                 kvi_http_pool *http, int use_fips)
{
    if (!chain)
        return;
    pthread_mutex_lock(&chain->lock);
    free(chain->region);
    chain->region = kvi_strdup(region); /* NULL when out of memory: the profile's region then */
    chain->http = http;
    chain->use_fips = use_fips;
    pthread_mutex_unlock(&chain->lock);
}

int kvi_credential_chain_attach_iot(kvi_credential_chain *chain, const kvi_iot_config *options,
                                    const char *ca_bundle, long connect_timeout_ms,
                                    long request_timeout_ms)
{
    if (!chain)
        return -1;
    kvi_iot_config *copy = NULL;
    char *ca = kvi_strdup(ca_bundle);
    if ((options && (!(copy = calloc(1, sizeof *copy)) || kvi_iot_config_copy(options, copy) != 0)) ||
        (ca_bundle && !ca)) {
        free(copy);
        free(ca);
        return -1;
    }
    pthread_mutex_lock(&chain->lock);
    if (chain->iot_options)
        kvi_iot_config_free(chain->iot_options);
    free(chain->iot_options);
    free(chain->iot_ca_bundle);
    chain->iot_options = copy;
    chain->iot_ca_bundle = ca;
    chain->iot_connect_timeout_ms = connect_timeout_ms;
    chain->iot_request_timeout_ms = request_timeout_ms;
    pthread_mutex_unlock(&chain->lock);
    return 0;
}

/* The AWS IoT provider with the chain's CA bundle and timeouts (0: the HTTP defaults). */
static kvsws_status iot_credentials(kvi_credential_chain *c, const kvi_iot_config *cfg,
                                    kvi_credentials *out, kvsws_error *err)
{
    return kvi_iot_provider(cfg, c->iot_ca_bundle, c->iot_connect_timeout_ms,
                            c->iot_request_timeout_ms, out, err);
}

/* One pass over the sources, botocore's order (with AWS IoT's ahead of the environment's keys,
 * where a device expects it): explicit, AWS IoT, environment, assume-role, the
 * profile's providers (web identity, SSO, shared credentials file, credential_process, config
 * file), container, instance metadata. */
static kvsws_status chain_resolve(kvi_credential_chain *c, kvi_credentials *out,
                                  kvsws_error *err)
{
    const kvi_profile_paths *p = &c->paths;
    const char *ak = c->access_key_id && *c->access_key_id ? c->access_key_id : NULL;
    const char *sk = c->secret_access_key && *c->secret_access_key ? c->secret_access_key : NULL;
    const char *tok = c->session_token && *c->session_token ? c->session_token : NULL;
    if (ak || sk) {
        if (!ak || !sk)
            return kvi_error_set(err, KVSWS_E_PARAM_VALIDATION,
                                 "Partial credentials found in explicit options, missing: %s",
                                 ak ? "aws_secret_access_key" : "aws_access_key_id");
        return kvi_credentials_set(out, ak, sk, tok, 0, "explicit", err);
    }
    if (tok)
        return kvi_error_set(err, KVSWS_E_PARAM_VALIDATION,
                             "A session token was given without aws_access_key_id and "
                             "aws_secret_access_key");
    /* A device configured for AWS IoT expects its certificate used: explicit options first. */
    if (c->iot_options)
        return iot_credentials(c, c->iot_options, out, err);

    /* As botocore: an explicitly named profile must exist, whatever supplies the keys. */
    if (p->profile_explicit && !kvi_profile_exists(p))
        return kvi_profile_not_found(p, err);

    int found = 0;
    kvsws_status st;
    /* As botocore: a profile given as an option beats the environment's keys (and IoT's). */
    if (!p->profile_from_option) {
        kvi_iot_config iot;
        st = kvi_iot_config_from_env(&iot, &found, err);
        if (st == KVSWS_OK && found)
            st = iot_credentials(c, &iot, out, err);
        kvi_iot_config_free(&iot);
        if (st != KVSWS_OK || found)
            return st;
        st = kvi_env_credentials(out, &found, err);
        if (st != KVSWS_OK || found)
            return st;
    }

    kvi_provider_ctx ctx = {p, c->region, c->use_fips, c->http, c->session_name,
                            c->process_timeout_ms};
    st = kvi_assume_role_provider(&ctx, p->profile, out, &found, err);
    if (st != KVSWS_OK || found)
        return st;
    st = kvi_profile_providers(&ctx, p->profile, p->profile_from_option, out, &found, err);
    if (st != KVSWS_OK || found)
        return st;

    st = kvi_container_credentials(NULL, out, &found, err);
    if (st != KVSWS_OK || found)
        return st;

    kvi_buf imds_why = KVI_BUF_INIT;
    st = kvi_imds_credentials(p, out, &found, &imds_why, err);
    if (st != KVSWS_OK || found) {
        kvi_buf_free(&imds_why);
        return st;
    }

    kvi_buf msg = KVI_BUF_INIT;
    kvi_buf_puts(&msg, "Unable to locate credentials. Looked in: explicit options, ");
    if (!p->profile_from_option)
        kvi_buf_puts(&msg, "AWS IoT (AWS_IOT_CORE_CREDENTIAL_ENDPOINT and the other "
                           "AWS_IOT_CORE_* variables are not set), ");
    kvi_buf_puts(&msg, "environment (AWS_ACCESS_KEY_ID");
    if (p->profile_from_option)
        kvi_buf_puts(&msg, ", skipped because the profile option is set");
    else if (kvi_nonempty_env("AWS_SECRET_ACCESS_KEY"))
        kvi_buf_puts(&msg, " is not set but AWS_SECRET_ACCESS_KEY is");
    kvi_buf_puts(&msg, p->profile_from_option
                           ? "), profile "
                           : "), web identity (AWS_WEB_IDENTITY_TOKEN_FILE), profile ");
    kvi_put_sanitized(&msg, p->profile, 128);
    kvi_buf_printf(&msg,
                   " (role_arn, web_identity_token_file, sso_account_id / sso_role_name, the keys, "
                   "credential_process) in the shared credentials file (%s) and the config file "
                   "(%s), container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and "
                   "AWS_CONTAINER_CREDENTIALS_FULL_URI are not set) and the EC2 instance "
                   "metadata service (",
                   p->credentials_file ? p->credentials_file : "none: no home directory",
                   p->config_file ? p->config_file : "none: no home directory");
    kvi_put_sanitized(&msg, kvi_buf_str(&imds_why), 600);
    kvi_buf_puts(&msg, ")");
    kvi_buf_free(&imds_why);
    return kvi_error_take_buf(err, KVSWS_E_NO_CREDENTIALS, &msg);
}

kvsws_status kvi_credential_chain_get(kvi_credential_chain *chain, time_t now,
                                      int refresh_margin, kvi_credentials *out, kvsws_error *err)
{
    memset(out, 0, sizeof *out);
    if (!chain)
        return kvi_error_set(err, KVSWS_E_INTERNAL, "no credential chain");
    pthread_mutex_lock(&chain->lock);
    kvsws_status st = KVSWS_OK;
    int stale = chain->have && chain->cached.expiration &&
                chain->cached.expiration - (time_t)refresh_margin <= now;
    if (!chain->have || stale) {
        kvi_credentials fresh;
        memset(&fresh, 0, sizeof fresh);
        st = chain_resolve(chain, &fresh, err);
        if (st == KVSWS_OK) {
            kvi_credentials_free(&chain->cached);
            chain->cached = fresh;
            chain->have = 1;
        } else if (stale && chain->cached.expiration > now) {
            /* botocore's advisory refresh: a failed refresh keeps credentials still valid. */
            kvi_error_clear(err);
            st = KVSWS_OK;
        } else {
            if (chain->have) {
                kvi_credentials_free(&chain->cached);
                chain->have = 0;
            }
            pthread_mutex_unlock(&chain->lock);
            return st;
        }
    }
    if (kvi_credentials_copy(&chain->cached, out) != 0)
        st = kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory");
    pthread_mutex_unlock(&chain->lock);
    return st;
}

/* Copies the three strings into storage, one after the other, and points at them. */
static int pack_credentials(const kvi_credentials *c, kvi_buf *storage, const char **access_key_id,
                            const char **secret_access_key, const char **session_token)
{
    const char *ak = c->access_key_id ? c->access_key_id : "";
    const char *sk = c->secret_access_key ? c->secret_access_key : "";
    const char *token = c->session_token ? c->session_token : "";
    size_t ak_size = strlen(ak) + 1, sk_size = strlen(sk) + 1, token_size = strlen(token) + 1;
    size_t need = ak_size + sk_size + token_size;
    if (storage->cap < need)
        kvi_buf_free_secret(storage); /* growing would leave a copy of the old secret behind */
    kvi_buf_reset(storage);
    if (kvi_buf_reserve_exact(storage, need - 1) != 0) /* the last NUL is the buffer's own */
        return -1;
    char *p = storage->data;
    memcpy(p, ak, ak_size);
    memcpy(p + ak_size, sk, sk_size);
    memcpy(p + ak_size + sk_size, token, token_size);
    storage->len = need - 1; /* the last NUL ends the buffer */
    *access_key_id = p;
    *secret_access_key = p + ak_size;
    *session_token = c->session_token ? p + ak_size + sk_size : NULL;
    return 0;
}

kvsws_status kvi_credential_chain_get_packed(kvi_credential_chain *chain, time_t now,
                                             int refresh_margin, kvi_buf *storage,
                                             const char **access_key_id,
                                             const char **secret_access_key,
                                             const char **session_token, kvsws_error *err)
{
    if (chain) {
        pthread_mutex_lock(&chain->lock);
        int fresh = chain->have && !(chain->cached.expiration &&
                                     chain->cached.expiration - (time_t)refresh_margin <= now);
        int rc = fresh ? pack_credentials(&chain->cached, storage, access_key_id,
                                          secret_access_key, session_token)
                       : 0;
        pthread_mutex_unlock(&chain->lock);
        if (fresh)
            return rc == 0 ? KVSWS_OK : kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory");
    }
    /* First use, or due for a refresh: the general path (which also reports a missing chain). */
    kvi_credentials c;
    kvsws_status st = kvi_credential_chain_get(chain, now, refresh_margin, &c, err);
    if (st == KVSWS_OK &&
        pack_credentials(&c, storage, access_key_id, secret_access_key, session_token) != 0)
        st = kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory");
    kvi_credentials_free(&c);
    return st;
}
