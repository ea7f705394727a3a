/* SPDX-License-Identifier: Apache-2.0 */
/* remote.c - the container endpoint and EC2 instance metadata (IMDSv2) providers. */
#include "credentials/remote.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>

#include "base/error.h"
#include "base/file.h"
#include "base/url.h"
#include "transport/http.h"

const kvi_container_tuning kvi_container_defaults = {"http://169.254.170.2", 1000, 3, 1000};

#define IMDS_DEFAULT_V4 "http://169.254.169.254"
#define IMDS_DEFAULT_V6 "http://[fd00:ec2::254]"
#define IMDS_TOKEN_TTL "21600"
#define IMDS_CREDS_PATH "/latest/meta-data/iam/security-credentials/"
/* A token file or an IMDS token is short; more is not a token. */
#define TOKEN_FILE_MAX 16384

static const char *nonempty_env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

static void sleep_ms(int ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* botocore's timeout for connect and for read, and (what botocore lacks) the two together for
 * the whole exchange, so an endpoint that trickles its answer cannot hold the chain forever. */
static kvi_http_pool *pool_for(int timeout_ms)
{
    kvi_http_options o;
    memset(&o, 0, sizeof o);
    o.connect_timeout_ms = timeout_ms;
    o.read_timeout_ms = timeout_ms;
    o.request_timeout_ms = 2L * timeout_ms;
    o.user_agent = "kvsws/" KVSWS_VERSION_STRING;
    return kvi_http_pool_new(&o);
}

static void response_free(kvi_http_response *r)
{
    if (r->body.data)
        OPENSSL_cleanse(r->body.data, r->body.len);
    kvi_http_response_free(r);
    memset(r, 0, sizeof *r);
}

/* Parses {AccessKeyId, SecretAccessKey, Token, Expiration}. Returns NULL on success, else a
 * static reason (which never quotes the document). */
const char *kvi_remote_credentials_parse(const kvi_buf *body, const char *source,
                                         kvi_credentials *out, kvsws_error *err,
                                         kvsws_status *st)
{
    const char *why = NULL;
    *st = KVSWS_OK;
    cJSON *doc = cJSON_ParseWithLength(kvi_buf_str(body), body->len);
    if (!doc || !cJSON_IsObject(doc)) {
        why = "the response is not a JSON object";
        goto done;
    }
    const cJSON *ak = cJSON_GetObjectItemCaseSensitive(doc, "AccessKeyId");
    const cJSON *sk = cJSON_GetObjectItemCaseSensitive(doc, "SecretAccessKey");
    const cJSON *tok = cJSON_GetObjectItemCaseSensitive(doc, "Token");
    const cJSON *exp = cJSON_GetObjectItemCaseSensitive(doc, "Expiration");
    time_t expiration = 0;
    if (!cJSON_IsString(ak) || !*ak->valuestring)
        why = "Missing required key in response: 'AccessKeyId'";
    else if (!cJSON_IsString(sk) || !*sk->valuestring)
        why = "Missing required key in response: 'SecretAccessKey'";
    else if (tok && !cJSON_IsNull(tok) && !cJSON_IsString(tok))
        why = "Token in the response is not a string";
    else if (exp && !cJSON_IsNull(exp) &&
             (!cJSON_IsString(exp) || kvi_iso8601_parse(exp->valuestring, &expiration) != 0))
        why = "Expiration in the response is not an ISO-8601 timestamp";
    else
        *st = kvi_credentials_set(out, ak->valuestring, sk->valuestring,
                                  cJSON_IsString(tok) ? tok->valuestring : NULL, expiration,
                                  source, err);
done:
    if (doc) {
        kvi_json_cleanse(doc);
        cJSON_Delete(doc);
    }
    return why;
}

/* ---------------------------------------------------------------------------------------------
 * Container
 * ------------------------------------------------------------------------------------------- */

static kvsws_status container_error(kvsws_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static kvsws_status container_error(kvsws_error *err, const char *fmt, ...)
{
    kvi_buf msg = KVI_BUF_INIT;
    kvi_buf_puts(&msg, "Error when retrieving credentials from container-role: ");
    va_list ap;
    va_start(ap, fmt);
    kvi_buf_vprintf(&msg, fmt, ap);
    va_end(ap);
    return kvi_error_take_buf(err, KVSWS_E_CREDENTIAL_RETRIEVAL, &msg);
}

/* botocore's ContainerMetadataFetcher: loopback, or one of its allowed hosts, for http. */
static int container_host_allowed(const char *host)
{
    static const char *const allowed[] = {"169.254.170.2", "169.254.170.23", "fd00:ec2::23",
                                          "localhost"};
    for (size_t i = 0; i < sizeof allowed / sizeof *allowed; i++)
        if (strcasecmp(host, allowed[i]) == 0)
            return 1;
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6);
    return 0;
}

/* Validates AWS_CONTAINER_CREDENTIALS_FULL_URI. */
static kvsws_status container_check_full(const char *full, kvsws_error *err)
{
    kvi_url u;
    const char *why = NULL;
    if (kvi_url_parse(full, &u, &why) != 0) {
        kvi_buf msg = KVI_BUF_INIT;
        kvi_buf_puts(&msg, "Error when retrieving credentials from container-role: "
                           "AWS_CONTAINER_CREDENTIALS_FULL_URI is not a URL (");
        kvi_put_sanitized(&msg, why ? why : "malformed", 100);
        kvi_buf_puts(&msg, ")");
        return kvi_error_take_buf(err, KVSWS_E_CREDENTIAL_RETRIEVAL, &msg);
    }
    kvsws_status st = KVSWS_OK;
    if (strcmp(u.scheme, "https") != 0 &&
        (strcmp(u.scheme, "http") != 0 || !container_host_allowed(u.host))) {
        kvi_buf msg = KVI_BUF_INIT;
        kvi_buf_puts(&msg, "Error when retrieving credentials from container-role: Unsupported "
                           "host '");
        kvi_put_sanitized(&msg, u.host, 256);
        kvi_buf_puts(&msg, "' in AWS_CONTAINER_CREDENTIALS_FULL_URI. Can only retrieve metadata "
                           "over http from a loopback address or one of these hosts: "
                           "169.254.170.2, 169.254.170.23, fd00:ec2::23, localhost (or use "
                           "https)");
        st = kvi_error_take_buf(err, KVSWS_E_CREDENTIAL_RETRIEVAL, &msg);
    }
    kvi_url_free(&u);
    return st;
}

/* The Authorization value, or NULL (*st set on error). Read again on every fetch. */
static char *container_auth(kvsws_error *err, kvsws_status *st)
{
    *st = KVSWS_OK;
    const char *file = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    char *token = NULL;
    if (file) {
        kvi_buf b = KVI_BUF_INIT;
        int e = kvi_file_read(file, TOKEN_FILE_MAX, &b);
        if (e == EFBIG) {
            *st = container_error(err, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (%s) is larger "
                                       "than %d bytes",
                                  file, TOKEN_FILE_MAX);
            return NULL;
        }
        if (e == ENOMEM) {
            *st = kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory");
            return NULL;
        }
        if (e != 0) {
            char eb[128];
            *st = container_error(err, "cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE "
                                       "(%s): %s",
                                  file, strerror_r(e, eb, sizeof eb));
            return NULL;
        }
        token = kvi_buf_detach(&b);
    } else if (getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN")) {
        token = kvi_strdup(getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN"));
    } else {
        return NULL;
    }
    if (!token) {
        *st = kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory");
        return NULL;
    }
    /* As botocore: a value that is not a legal header value is refused (a file written with a
     * trailing newline included). */
    if (strpbrk(token, "\r\n")) {
        kvi_free_secret(token);
        *st = container_error(err, "the authorization token (from %s) is not a legal header "
                                   "value: it contains a line break",
                              file ? "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"
                                   : "AWS_CONTAINER_AUTHORIZATION_TOKEN");
        return NULL;
    }
    return token;
}

kvsws_status kvi_container_credentials(const kvi_container_tuning *t, kvi_credentials *out,
                                       int *found, kvsws_error *err)
{
    memset(out, 0, sizeof *out);
    *found = 0;
    if (!t)
        t = &kvi_container_defaults;
    const char *rel = nonempty_env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    const char *full = nonempty_env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    if (!rel && !full)
        return KVSWS_OK;
    *found = 1;
    kvsws_status st;
    char *url = NULL;
    if (rel) {
        if (asprintf(&url, "%s%s%s", t->relative_base, rel[0] == '/' ? "" : "/", rel) < 0)
            return kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory");
    } else {
        if ((st = container_check_full(full, err)) != KVSWS_OK)
            return st;
        if (!(url = kvi_strdup(full)))
            return kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory");
    }
    char *auth = container_auth(err, &st);
    if (st != KVSWS_OK) {
        free(url);
        return st;
    }
    kvi_http_pool *pool = pool_for(t->timeout_ms);
    if (!pool) {
        free(url);
        kvi_free_secret(auth);
        return kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory");
    }
    kvi_header headers[2] = {{"Accept", "application/json"}, {"Authorization", auth}};
    kvi_http_request req;
    memset(&req, 0, sizeof req);
    req.method = "GET";
    req.url = url;
    req.headers = headers;
    req.header_count = auth ? 2 : 1;
    kvi_buf last = KVI_BUF_INIT;
    st = KVSWS_E_CREDENTIAL_RETRIEVAL;
    int attempts = t->attempts > 0 ? t->attempts : 1;
    for (int i = 0; i < attempts; i++) {
        if (i > 0)
            sleep_ms(t->sleep_ms);
        kvi_buf_reset(&last);
        kvi_http_response resp;
        kvsws_error *e = kvsws_error_new();
        kvsws_status hs = kvi_http_perform(pool, &req, &resp, e);
        if (hs == KVSWS_E_NO_MEMORY) {
            st = kvi_error_set(err, hs, "out of memory");
            kvsws_error_free(e);
            break;
        }
        if (hs != KVSWS_OK) {
            kvi_buf_puts(&last, e ? kvsws_error_message(e) : "transport error");
        } else if (resp.status != 200) {
            kvi_buf_printf(&last, "Received non 200 response (%d) from container metadata",
                           resp.status);
        } else {
            kvsws_status pst;
            const char *why = kvi_remote_credentials_parse(&resp.body, "container-role", out, err, &pst);
            if (!why) {
                st = pst;
                response_free(&resp);
                kvsws_error_free(e);
                break;
            }
            kvi_buf_puts(&last, why);
        }
        response_free(&resp);
        kvsws_error_free(e);
    }
    if (st == KVSWS_E_CREDENTIAL_RETRIEVAL)
        container_error(err, "%s (after %d attempt%s)", kvi_buf_str(&last), attempts,
                        attempts == 1 ? "" : "s");
    kvi_buf_free(&last);
    kvi_http_pool_free(pool);
    kvi_free_secret(auth);
    free(url);
    return st;
}

/* ---------------------------------------------------------------------------------------------
 * Instance metadata
 * ------------------------------------------------------------------------------------------- */

/* The environment variable, else the profile's key (malloc'd, NULL when neither). */
static char *setting(const kvi_profile_paths *p, const char *env, const char *key)
{
    const char *v = nonempty_env(env);
    if (v)
        return kvi_strdup(v);
    if (!p)
        return NULL;
    char *s = kvi_profile_get(p, key);
    if (s && !*s) {
        free(s);
        s = NULL;
    }
    return s;
}

static int is_true(const char *v)
{
    return v && strcasecmp(v, "true") == 0;
}

typedef struct imds {
    kvi_http_pool *pool;
    char *base; /* without a trailing '/' */
    int attempts;
    char *token; /* NULL: IMDSv1 */
} imds;

/* One request, retried as botocore's _get_request: a non-200 or empty answer and transport
 * errors are retried. 0 with resp filled on a usable answer; -1 with the reason in why. */
static int imds_get(imds *m, const char *path, kvi_http_response *resp, kvi_buf *why)
{
    char *url = NULL;
    if (asprintf(&url, "%s%s", m->base, path) < 0) {
        kvi_buf_puts(why, "out of memory");
        return -1;
    }
    kvi_header h = {"X-aws-ec2-metadata-token", m->token};
    kvi_http_request req;
    memset(&req, 0, sizeof req);
    req.method = "GET";
    req.url = url;
    req.headers = m->token ? &h : NULL;
    req.header_count = m->token ? 1 : 0;
    int rc = -1;
    kvi_buf last = KVI_BUF_INIT;
    for (int i = 0; i < m->attempts && rc != 0; i++) {
        kvi_buf_reset(&last);
        kvsws_error *e = kvsws_error_new();
        if (kvi_http_perform(m->pool, &req, resp, e) != KVSWS_OK)
            kvi_buf_puts(&last, e ? kvsws_error_message(e) : "transport error");
        else if (resp->status != 200)
            kvi_buf_printf(&last, "HTTP %d", resp->status);
        else if (resp->body.len == 0)
            kvi_buf_puts(&last, "an empty answer");
        else
            rc = 0;
        if (rc != 0)
            response_free(resp);
        kvsws_error_free(e);
    }
    if (rc != 0)
        kvi_buf_puts(why, kvi_buf_str(&last));
    kvi_buf_free(&last);
    free(url);
    return rc;
}

/* botocore's _fetch_metadata_token. 0: token set (or NULL for IMDSv1); -1 bad request (400). */
static int imds_token(imds *m, kvi_buf *why)
{
    char *url = NULL;
    if (asprintf(&url, "%s/latest/api/token", m->base) < 0) {
        kvi_buf_puts(why, "out of memory");
        return -1;
    }
    kvi_header h = {"X-aws-ec2-metadata-token-ttl-seconds", IMDS_TOKEN_TTL};
    kvi_http_request req;
    memset(&req, 0, sizeof req);
    req.method = "PUT";
    req.url = url;
    req.headers = &h;
    req.header_count = 1;
    int rc = 0;
    for (int i = 0; i < m->attempts; i++) {
        kvi_http_response resp;
        kvsws_error *e = kvsws_error_new();
        kvsws_status hs = kvi_http_perform(m->pool, &req, &resp, e);
        int done = 1;
        if (hs == KVSWS_OK && resp.status == 200 && resp.body.len > 0 &&
            resp.body.len <= TOKEN_FILE_MAX) {
            m->token = kvi_strdup(kvi_buf_str(&resp.body));
        } else if (hs == KVSWS_OK && resp.status == 400) {
            kvi_buf_puts(why, "the token request was refused as a bad request (HTTP 400)");
            rc = -1;
        } else if (hs == KVSWS_OK && (resp.status == 403 || resp.status == 404 ||
                                      resp.status == 405)) {
            /* IMDSv1 */
        } else if (hs == KVSWS_E_READ_TIMEOUT) {
            /* botocore falls back to IMDSv1 on a read timeout too */
        } else {
            done = 0; /* retried; after the last attempt, IMDSv1 */
        }
        response_free(&resp);
        kvsws_error_free(e);
        if (done)
            break;
    }
    free(url);
    return rc;
}

/* Role names are [\w+=,.@-]+: anything else is not used in a path. */
static int role_valid(const char *r)
{
    if (!*r)
        return 0;
    for (; *r; r++)
        if (!isalnum((unsigned char)*r) && !strchr("_+=,.@-", *r))
            return 0;
    return 1;
}

static kvsws_status imds_error(kvsws_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static kvsws_status imds_error(kvsws_error *err, const char *fmt, ...)
{
    kvi_buf msg = KVI_BUF_INIT;
    kvi_buf_puts(&msg, "Error when retrieving credentials from iam-role: ");
    va_list ap;
    va_start(ap, fmt);
    kvi_buf_vprintf(&msg, fmt, ap);
    va_end(ap);
    return kvi_error_take_buf(err, KVSWS_E_CREDENTIAL_RETRIEVAL, &msg);
}

/* Endpoint, timeout and attempts from the environment and the profile. */
static kvsws_status imds_settings(const kvi_profile_paths *p, imds *m, int *timeout_ms,
                                  kvsws_error *err)
{
    char *ep = setting(p, "AWS_EC2_METADATA_SERVICE_ENDPOINT", "ec2_metadata_service_endpoint");
    kvsws_status st = KVSWS_OK;
    if (ep) {
        kvi_url u;
        const char *why = NULL;
        int ok = kvi_url_parse(ep, &u, &why) == 0;
        if (ok) {
            ok = strcmp(u.scheme, "http") == 0 || strcmp(u.scheme, "https") == 0;
            kvi_url_free(&u);
        }
        if (!ok) {
            kvi_buf msg = KVI_BUF_INIT;
            kvi_buf_puts(&msg, "Invalid endpoint EC2 instance metadata endpoint: \"");
            kvi_put_sanitized(&msg, ep, 256);
            kvi_buf_puts(&msg, "\" (AWS_EC2_METADATA_SERVICE_ENDPOINT or "
                               "ec2_metadata_service_endpoint: an http:// or https:// URL)");
            free(ep);
            return kvi_error_take_buf(err, KVSWS_E_CONFIG, &msg);
        }
        size_t n = strlen(ep);
        while (n > 0 && ep[n - 1] == '/')
            ep[--n] = '\0';
        m->base = ep;
    } else {
        char *mode = setting(p, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
                             "ec2_metadata_service_endpoint_mode");
        if (mode && strcasecmp(mode, "ipv6") != 0 && strcasecmp(mode, "ipv4") != 0) {
            kvi_buf msg = KVI_BUF_INIT;
            kvi_buf_puts(&msg, "Invalid EC2 instance metadata endpoint mode: \"");
            kvi_put_sanitized(&msg, mode, 64);
            kvi_buf_puts(&msg, "\" (AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE or "
                               "ec2_metadata_service_endpoint_mode: IPv4 or IPv6)");
            free(mode);
            return kvi_error_take_buf(err, KVSWS_E_CONFIG, &msg);
        }
        m->base = kvi_strdup(mode && strcasecmp(mode, "ipv6") == 0 ? IMDS_DEFAULT_V6
                                                                   : IMDS_DEFAULT_V4);
        free(mode);
        if (!m->base)
            return kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory");
    }
    char *v = setting(p, "AWS_METADATA_SERVICE_TIMEOUT", "metadata_service_timeout");
    *timeout_ms = 1000;
    if (v) {
        char *end;
        double s = strtod(v, &end);
        if (end == v || *end || !(s > 0) || s > 3600)
            st = kvi_error_set(err, KVSWS_E_CONFIG,
                               "Invalid metadata_service_timeout (AWS_METADATA_SERVICE_TIMEOUT): "
                               "a number of seconds is expected");
        else
            *timeout_ms = (int)(s * 1000) > 0 ? (int)(s * 1000) : 1;
        free(v);
    }
    v = setting(p, "AWS_METADATA_SERVICE_NUM_ATTEMPTS", "metadata_service_num_attempts");
    m->attempts = 1;
    if (v && st == KVSWS_OK) {
        char *end;
        long n = strtol(v, &end, 10);
        if (end == v || *end || n < 1 || n > 100)
            st = kvi_error_set(err, KVSWS_E_CONFIG,
                               "Invalid metadata_service_num_attempts "
                               "(AWS_METADATA_SERVICE_NUM_ATTEMPTS): a whole number from 1 is "
                               "expected");
        else
            m->attempts = (int)n;
    }
    free(v);
    return st;
}

kvsws_status kvi_imds_credentials(const kvi_profile_paths *p, kvi_credentials *out, int *found,
                                  kvi_buf *why, kvsws_error *err)
{
    memset(out, 0, sizeof *out);
    *found = 0;
    if (is_true(getenv("AWS_EC2_METADATA_DISABLED"))) {
        kvi_buf_puts(why, "skipped: AWS_EC2_METADATA_DISABLED is true");
        return KVSWS_OK;
    }
    imds m;
    memset(&m, 0, sizeof m);
    int timeout_ms = 1000;
    kvsws_status st = imds_settings(p, &m, &timeout_ms, err);
    if (st != KVSWS_OK) {
        free(m.base);
        return st;
    }
    char *v1_off = setting(p, "AWS_EC2_METADATA_V1_DISABLED", "ec2_metadata_v1_disabled");
    int v1_disabled = is_true(v1_off);
    free(v1_off);
    kvi_http_response resp;
    memset(&resp, 0, sizeof resp);
    char *role = NULL, *path = NULL;
    kvi_buf_puts(why, m.base);
    kvi_buf_puts(why, ": ");
    m.pool = pool_for(timeout_ms);
    if (!m.pool) {
        st = kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory");
        goto out;
    }
    if (imds_token(&m, why) != 0)
        goto out;
    if (!m.token && v1_disabled) {
        st = imds_error(err, "Unable to retrieve token for use in IMDSv2 call and IMDSv1 has "
                             "been disabled (%s)",
                        m.base);
        goto out;
    }
    if (imds_get(&m, IMDS_CREDS_PATH, &resp, why) != 0)
        goto out;
    const char *body = kvi_buf_str(&resp.body);
    size_t len = strcspn(body, "\r\n");
    while (len > 0 && isspace((unsigned char)body[len - 1]))
        len--;
    role = strndup(body, len);
    response_free(&resp);
    if (!role) {
        st = kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory");
        goto out;
    }
    if (!role_valid(role)) {
        kvi_buf_puts(why, "no usable IAM role name");
        goto out;
    }
    if (asprintf(&path, "%s%s", IMDS_CREDS_PATH, role) < 0) {
        path = NULL;
        st = kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory");
        goto out;
    }
    if (imds_get(&m, path, &resp, why) != 0)
        goto out;
    kvsws_status pst;
    const char *bad = kvi_remote_credentials_parse(&resp.body, "iam-role", out, err, &pst);
    if (!bad && pst != KVSWS_OK) {
        st = pst;
    } else if (!bad) {
        *found = 1;
        if (!out->session_token || !out->expiration) {
            /* botocore wants all four fields; it ignores an answer without them. */
            kvi_credentials_free(out);
            *found = 0;
            kvi_buf_puts(why, "the credentials lack Token or Expiration");
        }
    } else {
        kvi_buf_puts(why, bad);
    }
out:
    response_free(&resp);
    free(path);
    free(role);
    kvi_free_secret(m.token);
    kvi_http_pool_free(m.pool);
    free(m.base);
    return st;
}
