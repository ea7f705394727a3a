/* SPDX-License-Identifier: Apache-2.0 */
/* iot.c - the AWS IoT credentials provider (see the header). */
#include "credentials/iot.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "aws/aws_error.h"
#include "credentials/fetch.h"
#include "aws/endpoints.h"
#include "base/error.h"
#include "transport/http.h"
#include "aws/sigv4.h"

/* The KVS C SDK's names, which every camera guide uses. */
const char *const kvi_iot_env_names[KVI_IOT_FIELDS] = {
    "AWS_IOT_CORE_CREDENTIAL_ENDPOINT", "AWS_IOT_CORE_CERT",      "AWS_IOT_CORE_PRIVATE_KEY",
    "AWS_IOT_CORE_ROLE_ALIAS",          "AWS_IOT_CORE_THING_NAME", "AWS_KVS_CACERT_PATH",
};
const char *const kvi_iot_option_names[KVI_IOT_FIELDS] = {
    "KVSWS_OPT_IOT_CREDENTIAL_ENDPOINT", "KVSWS_OPT_IOT_CERT_FILE",  "KVSWS_OPT_IOT_PRIVATE_KEY_FILE",
    "KVSWS_OPT_IOT_ROLE_ALIAS",          "KVSWS_OPT_IOT_THING_NAME", "KVSWS_OPT_IOT_CA_FILE",
};

#define THING_NAME_HEADER "x-amzn-iot-thingname"
#define NAME_MAX_LEN 128

void kvi_iot_config_free(kvi_iot_config *c)
{
    if (!c)
        return;
    for (int i = 0; i < KVI_IOT_FIELDS; i++)
        free(c->value[i]);
    memset(c, 0, sizeof *c);
}

int kvi_iot_config_copy(const kvi_iot_config *from, kvi_iot_config *to)
{
    memset(to, 0, sizeof *to);
    to->names = from->names;
    for (int i = 0; i < KVI_IOT_FIELDS; i++) {
        if (from->value[i] && !(to->value[i] = kvi_strdup(from->value[i]))) {
            kvi_iot_config_free(to);
            return -1;
        }
    }
    return 0;
}

kvsws_status kvi_iot_config_from_env(kvi_iot_config *out, int *found, kvsws_error *err)
{
    memset(out, 0, sizeof *out);
    out->names = kvi_iot_env_names;
    *found = 0;
    int set = 0;
    for (int i = 0; i < KVI_IOT_FIELDS; i++) {
        const char *v = getenv(kvi_iot_env_names[i]);
        if (!v || !*v)
            continue;
        if (!(out->value[i] = kvi_strdup(v))) {
            kvi_iot_config_free(out);
            return kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory");
        }
        set += i != KVI_IOT_CA_FILE;
    }
    if (set == 0) {
        kvi_iot_config_free(out);
        return KVSWS_OK;
    }
    *found = 1;
    if (set == KVI_IOT_CA_FILE)
        return KVSWS_OK;
    kvi_buf msg = KVI_BUF_INIT;
    kvi_buf_puts(&msg, "Partial AWS IoT credentials configuration in the environment, missing: ");
    const char *sep = "";
    for (int i = 0; i < KVI_IOT_CA_FILE; i++) {
        if (!out->value[i]) {
            kvi_buf_printf(&msg, "%s%s", sep, kvi_iot_env_names[i]);
            sep = ", ";
        }
    }
    kvi_buf_puts(&msg, " (the IoT credentials provider needs all of AWS_IOT_CORE_CREDENTIAL_ENDPOINT, "
                       "AWS_IOT_CORE_CERT, AWS_IOT_CORE_PRIVATE_KEY, AWS_IOT_CORE_ROLE_ALIAS and "
                       "AWS_IOT_CORE_THING_NAME)");
    kvi_iot_config_free(out);
    return kvi_error_take_buf(err, KVSWS_E_CREDENTIAL_RETRIEVAL, &msg);
}

/* IoT's patterns: role alias [\w=,@-]+, thing name [a-zA-Z0-9:_-]+, both 1 to 128. */
static int name_ok(const char *s, const char *extra)
{
    size_t n = strlen(s);
    if (n < 1 || n > NAME_MAX_LEN)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr(extra, *s))
            return 0;
    return 1;
}

/* An error that names a setting: "Invalid NAME \"VALUE\": RULE". */
static kvsws_status invalid(kvsws_error *err, const kvi_iot_config *c, int field, const char *rule)
{
    kvi_buf msg = KVI_BUF_INIT;
    kvi_buf_printf(&msg, "Invalid %s \"", c->names[field]);
    kvi_put_sanitized(&msg, c->value[field], 200);
    kvi_buf_printf(&msg, "\": %s", rule);
    return kvi_error_take_buf(err, KVSWS_E_PARAM_VALIDATION, &msg);
}

/* 0 when path is a file that can be opened for reading, else -1 with the reason in why. */
static int readable(const char *path, char *why, size_t why_size)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(why, why_size, "%s", strerror_r(errno, (char[128]){0}, 128));
        return -1;
    }
    struct stat st;
    int file = fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode);
    fclose(f);
    if (!file)
        snprintf(why, why_size, "not a file");
    return file ? 0 : -1;
}

kvsws_status kvi_iot_config_check(const kvi_iot_config *c, kvsws_error *err)
{
    for (int i = 0; i < KVI_IOT_CA_FILE; i++)
        if (!c->value[i] || !*c->value[i])
            return kvi_error_set(err, KVSWS_E_PARAM_VALIDATION,
                                 "Missing %s: the AWS IoT credentials provider needs the "
                                 "credentials endpoint, certificate, private key, role alias and "
                                 "thing name",
                                 c->names[i]);
    const char *why = NULL;
    char *url = kvi_iot_credentials_url(c->value[KVI_IOT_ENDPOINT], "x", &why);
    free(url);
    if (!url)
        return why ? invalid(err, c, KVI_IOT_ENDPOINT,
                             "the endpoint is a host (as `aws iot describe-endpoint "
                             "--endpoint-type iot:CredentialProvider` prints it), a host:port or "
                             "an https:// URL")
                   : kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory");
    if (!name_ok(c->value[KVI_IOT_ROLE_ALIAS], "_=,@-"))
        return invalid(err, c, KVI_IOT_ROLE_ALIAS,
                       "a role alias is 1 to 128 characters of A-Z, a-z, 0-9 and _=,@-");
    if (!name_ok(c->value[KVI_IOT_THING_NAME], ":_-"))
        return invalid(err, c, KVI_IOT_THING_NAME,
                       "a thing name is 1 to 128 characters of A-Z, a-z, 0-9 and :_-");
    static const int files[] = {KVI_IOT_CERT, KVI_IOT_KEY, KVI_IOT_CA_FILE};
    static const char *const what[] = {"the device certificate", "the private key",
                                       "the CA certificates"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        const char *path = c->value[files[i]];
        char reason[160];
        if (path && *path && readable(path, reason, sizeof reason) != 0)
            return kvi_error_set(err, KVSWS_E_PARAM_VALIDATION,
                                 "Cannot read %s (%s) \"%s\": %s", what[i], c->names[files[i]],
                                 path, reason);
    }
    return KVSWS_OK;
}

char *kvi_iot_credentials_url(const char *endpoint, const char *role_alias, const char **why)
{
    kvi_buf url = KVI_BUF_INIT;
    /* As AWS prints it (a bare host), as host:port, or as a URL. */
    if (!strstr(endpoint, "://"))
        kvi_buf_puts(&url, "https://");
    kvi_buf_puts(&url, endpoint);
    while (url.len > 0 && url.data[url.len - 1] == '/')
        url.data[--url.len] = '\0';
    if (kvi_endpoint_validate(kvi_buf_str(&url), 0, why) != 0) {
        kvi_buf_free(&url);
        return NULL;
    }
    if (kvi_buf_puts(&url, "/role-aliases/") != 0 ||
        kvi_uri_encode(&url, role_alias, strlen(role_alias), 0) != 0 ||
        kvi_buf_puts(&url, "/credentials") != 0) {
        kvi_buf_free(&url);
        *why = NULL;
        return NULL;
    }
    return kvi_buf_detach(&url);
}

const char *kvi_iot_credentials_parse(const kvi_buf *body, kvi_credentials *out)
{
    const char *why = NULL;
    cJSON *doc = cJSON_ParseWithLength(kvi_buf_str(body), body->len);
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(doc, "credentials");
    const cJSON *ak = cJSON_GetObjectItemCaseSensitive(c, "accessKeyId");
    const cJSON *sk = cJSON_GetObjectItemCaseSensitive(c, "secretAccessKey");
    const cJSON *tok = cJSON_GetObjectItemCaseSensitive(c, "sessionToken");
    const cJSON *exp = cJSON_GetObjectItemCaseSensitive(c, "expiration");
    time_t expiration = 0;
    if (!cJSON_IsObject(c))
        why = "the answer has no credentials object";
    else if (!cJSON_IsString(ak) || !*ak->valuestring)
        why = "the answer has no credentials.accessKeyId";
    else if (!cJSON_IsString(sk) || !*sk->valuestring)
        why = "the answer has no credentials.secretAccessKey";
    else if (!cJSON_IsString(tok) || !*tok->valuestring)
        why = "the answer has no credentials.sessionToken";
    else if (!cJSON_IsString(exp) || kvi_iso8601_parse(exp->valuestring, &expiration) != 0)
        why = "credentials.expiration in the answer is not an ISO 8601 time";
    else if (kvi_credentials_set(out, ak->valuestring, sk->valuestring, tok->valuestring,
                                 expiration, "iot", NULL) != KVSWS_OK)
        why = "out of memory";
    if (doc) {
        kvi_json_cleanse(doc);
        cJSON_Delete(doc);
    }
    return why;
}

static int iot_retryable(const kvi_http_response *resp)
{
    return resp->status >= 500 || resp->status == 429;
}

/* The call's own state, for its words. */
typedef struct iot_call {
    const char *url;
    const kvi_iot_config *cfg;
} iot_call;

/* "Error when retrieving credentials from the AWS IoT credentials provider (URL, thing T): " */
static void put_prefix(kvi_buf *msg, const void *self)
{
    const iot_call *c = self;
    kvi_buf_printf(msg, "Error when retrieving credentials from the AWS IoT credentials provider "
                        "(%s, thing ", c->url);
    kvi_put_sanitized(msg, c->cfg->value[KVI_IOT_THING_NAME], NAME_MAX_LEN);
    kvi_buf_puts(msg, "): ");
}

/* The endpoint ended the TLS connection without an answer (an alert, or a plain close after
 * TLS 1.3's handshake): how a mutual TLS server refuses a client certificate. */
static int refused_certificate(const char *reason)
{
    static const char *const signs[] = {"alert unknown ca", "alert bad certificate",
                                        "alert certificate required", "alert certificate unknown",
                                        "alert handshake failure", "Empty reply from server",
                                        "Connection reset by peer"};
    for (size_t i = 0; i < sizeof signs / sizeof signs[0]; i++)
        if (strstr(reason, signs[i]))
            return 1;
    return 0;
}

/* A refused certificate looks like a network failure: say what it most likely is. */
static void put_transport_hint(kvi_buf *msg, const char *reason, const void *self)
{
    const kvi_iot_config *cfg = ((const iot_call *)self)->cfg;
    if (!refused_certificate(reason))
        return;
    kvi_buf_printf(msg, "the endpoint ended the connection without an answer, as it does for a "
                        "device certificate it did not accept (%s \"%s\": is it registered with "
                        "AWS IoT and active?). ",
                   cfg->names[KVI_IOT_CERT], cfg->value[KVI_IOT_CERT]);
}

static void put_unusable(kvi_buf *msg, const char *why, const void *self)
{
    (void)self;
    kvi_buf_printf(msg, "the answer is not usable: %s", why);
}

static void put_refusal(kvi_buf *msg, const kvi_aws_error *ae, int http_status, int attempts,
                        const void *self)
{
    const kvi_iot_config *cfg = ((const iot_call *)self)->cfg;
    kvi_buf_printf(msg, "HTTP %d: ", http_status);
    kvi_put_sanitized(msg, *ae->message ? ae->message : "(no message)", 600);
    kvi_buf_puts(msg, " (role alias ");
    kvi_put_sanitized(msg, cfg->value[KVI_IOT_ROLE_ALIAS], NAME_MAX_LEN);
    if (*ae->request_id) {
        kvi_buf_puts(msg, ", request id ");
        kvi_put_sanitized(msg, ae->request_id, 128);
    }
    kvi_buf_printf(msg, ", %d attempt%s)", attempts, attempts == 1 ? "" : "s");
}

kvsws_status kvi_iot_provider(const kvi_iot_config *cfg, const char *ca_bundle,
                              long connect_timeout_ms, long request_timeout_ms,
                              kvi_credentials *out, kvsws_error *err)
{
    memset(out, 0, sizeof *out);
    kvsws_status st = kvi_iot_config_check(cfg, err);
    if (st != KVSWS_OK)
        return st;
    const char *why = NULL;
    char *url = kvi_iot_credentials_url(cfg->value[KVI_IOT_ENDPOINT],
                                        cfg->value[KVI_IOT_ROLE_ALIAS], &why);
    if (!url)
        return kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory");
    const char *ca = cfg->value[KVI_IOT_CA_FILE] && *cfg->value[KVI_IOT_CA_FILE]
                         ? cfg->value[KVI_IOT_CA_FILE]
                         : ca_bundle;
    kvi_http_options o = {
        .ca_bundle = ca,
        .connect_timeout_ms = connect_timeout_ms,
        .read_timeout_ms = request_timeout_ms,
        .request_timeout_ms = request_timeout_ms,
        .user_agent = "kvsws/" KVSWS_VERSION_STRING,
        .client_cert = cfg->value[KVI_IOT_CERT],
        .client_key = cfg->value[KVI_IOT_KEY],
    };
    /* A pool of its own: its connections carry the device's certificate. */
    kvi_http_pool *pool = kvi_http_pool_new(&o);
    if (!pool) {
        free(url);
        return kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory");
    }
    kvi_header headers[1] = {{THING_NAME_HEADER, cfg->value[KVI_IOT_THING_NAME]}};
    kvi_http_request req;
    memset(&req, 0, sizeof req);
    req.method = "GET";
    req.url = url;
    req.headers = headers;
    req.header_count = 1;
    kvi_provider_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.http = pool;
    iot_call call = {url, cfg};
    kvi_fetch_provider p = {.self = &call,
                            .retryable = iot_retryable,
                            .put_prefix = put_prefix,
                            .put_transport_hint = put_transport_hint,
                            .parse = kvi_iot_credentials_parse,
                            .put_unusable = put_unusable,
                            .put_refusal = put_refusal};
    st = kvi_fetch_credentials(&ctx, &req, &p, out, err);
    kvi_http_pool_free(pool);
    free(url);
    return st;
}
