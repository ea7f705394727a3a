/* SPDX-License-Identifier: Apache-2.0 */
/* sso.c - IAM Identity Center (SSO) credentials from the AWS CLI's token cache. */
#include "credentials/sso.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "aws/aws_error.h"
#include "aws/endpoints.h"
#include "aws/sigv4.h"
#include "base/error.h"
#include "base/file.h"
#include "credentials/fetch.h"

/* The CLI's cache files are a few hundred bytes; more is not one of them. */
#define CACHE_FILE_MAX (64 * 1024)

void kvi_sso_config_free(kvi_sso_config *c)
{
    free(c->start_url);
    free(c->region);
    free(c->account_id);
    free(c->role_name);
    free(c->session);
    memset(c, 0, sizeof *c);
}

/* "Error when retrieving credentials from sso (profile P): " */
static void put_prefix(kvi_buf *msg, const char *profile)
{
    kvi_buf_puts(msg, "Error when retrieving credentials from sso (profile ");
    kvi_put_sanitized(msg, profile, 128);
    kvi_buf_puts(msg, "): ");
}

static void put_login_hint(kvi_buf *msg, const char *profile)
{
    kvi_buf_puts(msg, ". To refresh this SSO session run: aws sso login --profile ");
    kvi_put_sanitized(msg, profile, 128);
}

/* ---- settings ------------------------------------------------------------------------------- */

kvsws_status kvi_sso_config_load(const kvi_profile_paths *paths, const char *profile,
                                 kvi_sso_config *out, int *found, kvsws_error *err)
{
    memset(out, 0, sizeof *out);
    *found = 0;
    kvi_profile_paths q = kvi_profile_paths_for(paths, profile);
    out->account_id = kvi_profile_get(&q, "sso_account_id");
    out->role_name = kvi_profile_get(&q, "sso_role_name");
    if (!out->account_id && !out->role_name)
        return KVSWS_OK;
    *found = 1;
    out->start_url = kvi_profile_get(&q, "sso_start_url");
    out->region = kvi_profile_get(&q, "sso_region");
    out->session = kvi_profile_get(&q, "sso_session");
    kvi_buf msg = KVI_BUF_INIT;
    kvsws_status st = KVSWS_OK;
    if (out->session) {
        /* The session's values win; a different one in the profile is refused (botocore). */
        static const char *const keys[2] = {"sso_start_url", "sso_region"};
        char **slots[2] = {&out->start_url, &out->region};
        int exists = 0;
        for (int i = 0; i < 2 && st == KVSWS_OK; i++) {
            char *v = kvi_profile_section_get(paths, "sso-session", out->session, keys[i],
                                              &exists);
            if (!exists) {
                free(v);
                kvi_buf_puts(&msg, "The specified sso-session does not exist: \"");
                kvi_put_sanitized(&msg, out->session, 128);
                kvi_buf_printf(&msg, "\" (no [sso-session ...] section for it in %s; sso_session "
                                     "of profile ",
                               paths->config_file ? paths->config_file : "(no config file)");
                kvi_put_sanitized(&msg, profile, 128);
                kvi_buf_puts(&msg, ")");
                st = kvi_error_take_buf(err, KVSWS_E_CONFIG, &msg);
            } else if (v && *slots[i] && strcmp(v, *slots[i]) != 0) {
                kvi_buf_printf(&msg, "The value for %s is inconsistent between profile (", keys[i]);
                kvi_put_sanitized(&msg, *slots[i], 512);
                kvi_buf_puts(&msg, ") and sso-session (");
                kvi_put_sanitized(&msg, v, 512);
                kvi_buf_puts(&msg, ")");
                free(v);
                st = kvi_error_take_buf(err, KVSWS_E_CONFIG, &msg);
            } else if (v) {
                free(*slots[i]);
                *slots[i] = v;
            }
        }
    }
    if (st == KVSWS_OK) {
        const char *names[5] = {"sso_role_name", "sso_account_id", "sso_start_url", "sso_region",
                                "sso_session"};
        const char *values[5] = {out->role_name, out->account_id, out->start_url, out->region,
                                 out->session};
        int n = out->session ? 5 : 4, missing = 0;
        for (int i = 0; i < n; i++)
            if (!values[i] || !*values[i]) {
                if (!missing++) {
                    kvi_buf_puts(&msg, "The profile \"");
                    kvi_put_sanitized(&msg, profile, 128);
                    kvi_buf_puts(&msg, "\" is configured to use SSO but is missing required "
                                       "configuration: ");
                } else {
                    kvi_buf_puts(&msg, ", ");
                }
                kvi_buf_puts(&msg, names[i]);
            }
        if (missing)
            st = kvi_error_take_buf(err, KVSWS_E_CONFIG, &msg);
    }
    if (st != KVSWS_OK)
        kvi_sso_config_free(out);
    return st;
}

/* ---- the token cache ------------------------------------------------------------------------ */

char *kvi_sso_cache_path(const char *session, const char *start_url)
{
    const char *key = session ? session : start_url;
    if (!key)
        return NULL;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (EVP_Digest(key, strlen(key), md, &mdlen, EVP_sha1(), NULL) != 1)
        return NULL;
    char *home = kvi_profile_home_dir();
    if (!home)
        return NULL;
    size_t hl = strlen(home);
    while (hl > 1 && home[hl - 1] == '/')
        hl--;
    kvi_buf b = KVI_BUF_INIT;
    int rc = kvi_buf_append(&b, home, hl);
    rc = rc || kvi_buf_puts(&b, hl == 1 && home[0] == '/' ? ".aws/sso/cache/" : "/.aws/sso/cache/");
    for (unsigned int i = 0; i < mdlen && !rc; i++)
        rc = kvi_buf_printf(&b, "%02x", md[i]);
    rc = rc || kvi_buf_puts(&b, ".json");
    free(home);
    if (rc) {
        kvi_buf_free(&b);
        return NULL;
    }
    return kvi_buf_detach(&b);
}

/* expiresAt as the CLI writes it: RFC 3339, or its older "...UTC" form. */
static int parse_expires_at(const char *s, time_t *out)
{
    size_t n = strlen(s);
    if (n > 3 && n < 64 && strcmp(s + n - 3, "UTC") == 0) {
        char tmp[64];
        memcpy(tmp, s, n - 3);
        tmp[n - 3] = 'Z';
        tmp[n - 2] = '\0';
        return kvi_iso8601_parse(tmp, out);
    }
    return kvi_iso8601_parse(s, out);
}

kvsws_status kvi_sso_token_load(const kvi_sso_config *cfg, const char *profile, time_t now,
                                char **token, kvsws_error *err)
{
    *token = NULL;
    const char *name = cfg->session ? cfg->session : cfg->start_url;
    char *path = kvi_sso_cache_path(cfg->session, cfg->start_url);
    kvi_buf msg = KVI_BUF_INIT;
    if (!path) {
        put_prefix(&msg, profile);
        kvi_buf_puts(&msg, "Error loading SSO Token: no home directory to find "
                           "~/.aws/sso/cache in");
        put_login_hint(&msg, profile);
        return kvi_error_take_buf(err, KVSWS_E_CREDENTIAL_RETRIEVAL, &msg);
    }
    kvi_buf data = KVI_BUF_INIT;
    const char *why = NULL;
    char eb[128];
    cJSON *doc = NULL;
    kvsws_status st = KVSWS_OK;
    int read_errno = kvi_file_read(path, CACHE_FILE_MAX, &data);
    if (read_errno != 0) {
        int missing = read_errno == ENOENT;
        why = read_errno == EFBIG    ? "the file is larger than 64 KiB"
              : read_errno == ENOMEM ? "out of memory"
                                     : strerror_r(read_errno, eb, sizeof eb);
        put_prefix(&msg, profile);
        kvi_buf_puts(&msg, "Error loading SSO Token: Token for ");
        kvi_put_sanitized(&msg, name, 512);
        kvi_buf_puts(&msg, missing ? " does not exist (" : " cannot be read (");
        kvi_buf_puts(&msg, path);
        kvi_buf_puts(&msg, ": ");
        kvi_buf_puts(&msg, why);
        kvi_buf_puts(&msg, ")");
        put_login_hint(&msg, profile);
        st = kvi_error_take_buf(err, KVSWS_E_CREDENTIAL_RETRIEVAL, &msg);
        goto out;
    }
    doc = cJSON_ParseWithLength(kvi_buf_str(&data), data.len);
    const cJSON *tok = cJSON_GetObjectItemCaseSensitive(doc, "accessToken");
    const cJSON *exp = cJSON_GetObjectItemCaseSensitive(doc, "expiresAt");
    time_t expires = 0;
    if (!cJSON_IsString(tok) || !*tok->valuestring || strpbrk(tok->valuestring, "\r\n") ||
        !cJSON_IsString(exp) || parse_expires_at(exp->valuestring, &expires) != 0) {
        put_prefix(&msg, profile);
        kvi_buf_puts(&msg, "Error loading SSO Token: Token for ");
        kvi_put_sanitized(&msg, name, 512);
        kvi_buf_printf(&msg, " is invalid (%s: no accessToken and expiresAt as `aws sso login` "
                             "writes them)",
                       path);
        put_login_hint(&msg, profile);
        st = kvi_error_take_buf(err, KVSWS_E_CREDENTIAL_RETRIEVAL, &msg);
        goto out;
    }
    if (expires <= now) {
        put_prefix(&msg, profile);
        kvi_buf_puts(&msg, "The SSO session associated with this profile has expired or is "
                           "otherwise invalid (the token in ");
        kvi_buf_puts(&msg, path);
        kvi_buf_puts(&msg, " expired at ");
        kvi_put_sanitized(&msg, exp->valuestring, 64);
        kvi_buf_puts(&msg, ")");
        put_login_hint(&msg, profile);
        st = kvi_error_take_buf(err, KVSWS_E_CREDENTIAL_RETRIEVAL, &msg);
        goto out;
    }
    if (!(*token = kvi_strdup(tok->valuestring)))
        st = kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory");
out:
    if (doc) {
        kvi_json_cleanse(doc);
        cJSON_Delete(doc);
    }
    kvi_buf_free_secret(&data);
    free(path);
    return st;
}

/* ---- GetRoleCredentials ---------------------------------------------------------------------- */

static int sso_retryable(const kvi_http_response *resp)
{
    return resp->status >= 500 || resp->status == 429;
}

/* The roleCredentials of a 200 answer. NULL, or a static reason (never quoting the answer). */
const char *kvi_sso_role_credentials_parse(const kvi_buf *body, kvi_credentials *out)
{
    const char *why = NULL;
    cJSON *doc = cJSON_ParseWithLength(kvi_buf_str(body), body->len);
    const cJSON *rc = cJSON_GetObjectItemCaseSensitive(doc, "roleCredentials");
    const cJSON *ak = cJSON_GetObjectItemCaseSensitive(rc, "accessKeyId");
    const cJSON *sk = cJSON_GetObjectItemCaseSensitive(rc, "secretAccessKey");
    const cJSON *tok = cJSON_GetObjectItemCaseSensitive(rc, "sessionToken");
    const cJSON *exp = cJSON_GetObjectItemCaseSensitive(rc, "expiration");
    if (!cJSON_IsObject(rc))
        why = "the answer has no roleCredentials object";
    else if (!cJSON_IsString(ak) || !*ak->valuestring)
        why = "the answer has no roleCredentials.accessKeyId";
    else if (!cJSON_IsString(sk) || !*sk->valuestring)
        why = "the answer has no roleCredentials.secretAccessKey";
    else if (!cJSON_IsString(tok) || !*tok->valuestring)
        why = "the answer has no roleCredentials.sessionToken";
    /* Under a second would truncate to 0, which reads as "never expires". */
    else if (!cJSON_IsNumber(exp) || !isfinite(exp->valuedouble) || exp->valuedouble < 1000.0 ||
             exp->valuedouble > 253402300799000.0)
        why = "roleCredentials.expiration in the answer is not a time in epoch milliseconds";
    else if (kvi_credentials_set(out, ak->valuestring, sk->valuestring, tok->valuestring,
                                 (time_t)(exp->valuedouble / 1000.0), "sso", NULL) != KVSWS_OK)
        why = "out of memory";
    if (doc) {
        kvi_json_cleanse(doc);
        cJSON_Delete(doc);
    }
    return why;
}

/* The GetRoleCredentials call's own state, for its words. */
typedef struct sso_call {
    const char *profile;
    const kvi_sso_config *cfg;
    const char *endpoint;
} sso_call;

/* put_prefix as kvi_fetch_provider calls it. */
static void put_call_prefix(kvi_buf *msg, const void *self)
{
    put_prefix(msg, ((const sso_call *)self)->profile);
}

static void put_unusable(kvi_buf *msg, const char *why, const void *self)
{
    kvi_buf_printf(msg, "the GetRoleCredentials answer from %s is not usable: %s",
                   ((const sso_call *)self)->endpoint, why);
}

/* In the AWS CLI's words; an UnauthorizedException is an expired session, with the way out. */
static void put_refusal(kvi_buf *msg, const kvi_aws_error *ae, int http_status, int attempts,
                        const void *self)
{
    const sso_call *c = self;
    int expired = strcmp(ae->code, "UnauthorizedException") == 0;
    (void)attempts;
    if (expired) {
        kvi_buf_puts(msg, "The SSO session associated with this profile has expired or is "
                          "otherwise invalid (GetRoleCredentials said: ");
    } else {
        kvi_buf_puts(msg, "An error occurred (");
        kvi_put_sanitized(msg, ae->code, 128);
        kvi_buf_puts(msg, ") when calling the GetRoleCredentials operation: ");
    }
    kvi_put_sanitized(msg, *ae->message ? ae->message : "(no message)", 600);
    if (expired)
        kvi_buf_puts(msg, ")");
    kvi_buf_puts(msg, " (account ");
    kvi_put_sanitized(msg, c->cfg->account_id, 64);
    kvi_buf_puts(msg, ", role ");
    kvi_put_sanitized(msg, c->cfg->role_name, 128);
    kvi_buf_printf(msg, ", endpoint %s, HTTP %d", c->endpoint, http_status);
    if (*ae->request_id) {
        kvi_buf_puts(msg, ", request id ");
        kvi_put_sanitized(msg, ae->request_id, 128);
    }
    kvi_buf_puts(msg, ")");
    if (expired)
        put_login_hint(msg, c->profile);
}

kvsws_status kvi_sso_provider(const kvi_provider_ctx *ctx, const char *profile,
                              kvi_credentials *out, int *found, kvsws_error *err)
{
    memset(out, 0, sizeof *out);
    kvi_sso_config cfg;
    kvsws_status st = kvi_sso_config_load(ctx->paths, profile, &cfg, found, err);
    if (st != KVSWS_OK || !*found)
        return st;
    char *token = NULL, *endpoint = NULL;
    kvi_buf url = KVI_BUF_INIT;
    if ((st = kvi_sso_token_load(&cfg, profile, time(NULL), &token, err)) != KVSWS_OK ||
        (st = kvi_fetch_endpoint(ctx, KVI_ENDPOINT_SSO, "portal.sso", cfg.region, &endpoint,
                                 err)) != KVSWS_OK)
        goto out;
    if (kvi_buf_printf(&url, "%s/federation/credentials?role_name=", endpoint) != 0 ||
        kvi_uri_encode(&url, cfg.role_name, strlen(cfg.role_name), 0) != 0 ||
        kvi_buf_puts(&url, "&account_id=") != 0 ||
        kvi_uri_encode(&url, cfg.account_id, strlen(cfg.account_id), 0) != 0) {
        st = kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory");
        goto out;
    }
    kvi_header headers[1] = {{"x-amz-sso_bearer_token", token}};
    kvi_http_request req;
    memset(&req, 0, sizeof req);
    req.method = "GET";
    req.url = kvi_buf_str(&url);
    req.headers = headers;
    req.header_count = 1;
    sso_call call = {profile, &cfg, endpoint};
    kvi_fetch_provider p = {.self = &call,
                            .retryable = sso_retryable,
                            .put_prefix = put_call_prefix,
                            .parse = kvi_sso_role_credentials_parse,
                            .put_unusable = put_unusable,
                            .put_refusal = put_refusal};
    st = kvi_fetch_credentials(ctx, &req, &p, out, err);
out:
    /* The URL has no secret; the token does. */
    kvi_buf_free(&url);
    kvi_free_secret(token);
    free(endpoint);
    kvi_sso_config_free(&cfg);
    return st;
}
