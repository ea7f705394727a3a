/* SPDX-License-Identifier: Apache-2.0 */
/* sts.c - STS AssumeRole and AssumeRoleWithWebIdentity over the AWS query protocol. */
#include "credentials/sts.h"
#include "credentials/region.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "aws/endpoints.h"
#include "aws/sigv4.h"
#include "base/error.h"
#include "base/retry.h"
#include "base/url.h"
#include "base/xml.h"
#include "credentials/fetch.h"

#define STS_VERSION "2011-06-15"
#define FORM_CONTENT_TYPE "application/x-www-form-urlencoded; charset=utf-8"
/* Sizes a message quotes from an answer: STS's messages are a sentence or two. */
#define QUOTE_CODE_MAX 128
#define QUOTE_MESSAGE_MAX 600

/* ---- answers ------------------------------------------------------------------------------ */

const char *kvi_sts_parse_credentials(const char *action, const char *body, size_t len,
                                      const char *source, kvi_credentials *out)
{
    static const char *const fields[4] = {"AccessKeyId", "SecretAccessKey", "SessionToken",
                                          "Expiration"};
    static const char *const missing[4] = {
        "the answer has no Credentials/AccessKeyId", "the answer has no Credentials/SecretAccessKey",
        "the answer has no Credentials/SessionToken", "the answer has no Credentials/Expiration"};
    memset(out, 0, sizeof *out);
    kvi_buf v[4] = {KVI_BUF_INIT, KVI_BUF_INIT, KVI_BUF_INIT, KVI_BUF_INIT};
    kvi_buf path = KVI_BUF_INIT;
    const char *why = NULL;
    for (int i = 0; i < 4 && !why; i++) {
        kvi_buf_reset(&path);
        if (kvi_buf_printf(&path, "%sResponse/%sResult/Credentials/%s", action, action,
                           fields[i]) != 0) {
            why = "out of memory";
            break;
        }
        const char *xml_why = NULL;
        kvi_xml_result r = kvi_xml_value(body, len, kvi_buf_str(&path), &v[i], &xml_why);
        if (r == KVI_XML_NO_MEMORY)
            why = "out of memory";
        else if (r == KVI_XML_MALFORMED)
            why = "the answer is not well-formed XML";
        else if (r == KVI_XML_ABSENT || v[i].len == 0)
            why = missing[i];
    }
    time_t expiration = 0;
    if (!why && kvi_iso8601_parse(kvi_buf_str(&v[3]), &expiration) != 0)
        why = "Credentials/Expiration in the answer is not an ISO-8601 timestamp";
    if (!why && kvi_credentials_set(out, kvi_buf_str(&v[0]), kvi_buf_str(&v[1]),
                                    kvi_buf_str(&v[2]), expiration, source, NULL) != KVSWS_OK)
        why = "out of memory";
    for (int i = 0; i < 4; i++)
        kvi_buf_free_secret(&v[i]);
    kvi_buf_free(&path);
    return why;
}

int kvi_sts_parse_error(const char *body, size_t len, kvi_buf *code, kvi_buf *message,
                        kvi_buf *request_id)
{
    kvi_xml_result r = kvi_xml_value(body, len, "ErrorResponse/Error/Code", code, NULL);
    if (r == KVI_XML_MALFORMED || r == KVI_XML_NO_MEMORY)
        return -1;
    kvi_xml_value(body, len, "ErrorResponse/Error/Message", message, NULL);
    kvi_xml_value(body, len, "ErrorResponse/RequestId", request_id, NULL);
    /* A well-formed document that is not an STS error is no error document either. */
    return code->len || message->len ? 0 : -1;
}

/* STS's own code for an answer, or "" (caller frees the buffer). */
static void answer_code(const kvi_http_response *resp, kvi_buf *code)
{
    kvi_buf m = KVI_BUF_INIT, rid = KVI_BUF_INIT;
    if (kvi_sts_parse_error(resp->body.data, resp->body.len, code, &m, &rid) != 0)
        kvi_buf_reset(code);
    kvi_buf_free(&m);
    kvi_buf_free(&rid);
}

/* 5xx, throttling and, as botocore's _retry.json says for STS, IDPCommunicationError. */
static int sts_retryable(const kvi_http_response *resp)
{
    if (resp->status / 100 == 2)
        return 0;
    kvi_buf code = KVI_BUF_INIT;
    answer_code(resp, &code);
    const char *c = kvi_buf_str(&code);
    int yes = kvi_retry_is_retryable_service(c, resp->status, "") ||
              strcmp(c, "IDPCommunicationError") == 0;
    kvi_buf_free(&code);
    return yes;
}

/* ---- the call ----------------------------------------------------------------------------- */

/* "Error when retrieving credentials from PROVIDER (profile P, role ARN): " */
static void put_prefix(kvi_buf *msg, const kvi_sts_request *r)
{
    kvi_buf_printf(msg, "Error when retrieving credentials from %s (", r->provider);
    if (r->profile) {
        kvi_buf_puts(msg, "profile ");
        kvi_put_sanitized(msg, r->profile, 128);
        kvi_buf_puts(msg, ", ");
    } else {
        kvi_buf_puts(msg, "from the environment, ");
    }
    kvi_buf_puts(msg, "role ");
    kvi_put_sanitized(msg, r->role_arn ? r->role_arn : "", 2048);
    kvi_buf_puts(msg, "): ");
}

/* put_prefix as kvi_fetch_provider calls it. */
static void put_call_prefix(kvi_buf *msg, const void *self)
{
    put_prefix(msg, self);
}

static int form_param(kvi_buf *b, const char *name, const char *value)
{
    return kvi_buf_printf(b, "&%s=", name) != 0 || kvi_uri_encode(b, value, strlen(value), 0);
}

/* The query-protocol body; it may hold the web identity token. */
static int form_body(const kvi_sts_request *r, const char *action, kvi_buf *b)
{
    int rc = kvi_buf_printf(b, "Action=%s&Version=" STS_VERSION, action);
    rc = rc || form_param(b, "RoleArn", r->role_arn);
    rc = rc || form_param(b, "RoleSessionName", r->session_name);
    if (r->external_id)
        rc = rc || form_param(b, "ExternalId", r->external_id);
    if (r->duration_seconds > 0)
        rc = rc || kvi_buf_printf(b, "&DurationSeconds=%ld", r->duration_seconds);
    if (r->web_identity_token)
        rc = rc || form_param(b, "WebIdentityToken", r->web_identity_token);
    return rc ? -1 : 0;
}

/* The STS endpoint's region: the client's, else the profile's (a chain on its own). */
static char *sts_region(const kvi_provider_ctx *ctx)
{
    if (ctx->region)
        return kvi_strdup(ctx->region);
    kvsws_error *quiet = kvsws_error_new();
    char *r = ctx->paths ? kvi_region_resolve(NULL, ctx->paths, quiet) : NULL;
    kvsws_error_free(quiet);
    return r;
}

kvsws_status kvi_sts_answer(const kvi_sts_request *r, const char *action, const char *endpoint,
                            const kvi_http_response *resp, int attempts, kvi_credentials *out,
                            kvsws_error *err)
{
    kvsws_status st = KVSWS_OK;
    kvi_buf msg = KVI_BUF_INIT;
    if (resp->status / 100 == 2) {
        const char *bad =
            kvi_sts_parse_credentials(action, resp->body.data, resp->body.len, r->provider, out);
        if (bad) {
            put_prefix(&msg, r);
            kvi_buf_printf(&msg, "the %s answer from %s (HTTP %d) is not usable: %s", action,
                           endpoint, resp->status, bad);
            st = kvi_error_take_buf(err, KVSWS_E_CREDENTIAL_RETRIEVAL, &msg);
        }
        kvi_buf_free(&msg);
        return st;
    }
    kvi_buf code = KVI_BUF_INIT, message = KVI_BUF_INIT, rid = KVI_BUF_INIT;
    int parsed = kvi_sts_parse_error(resp->body.data, resp->body.len, &code, &message, &rid) == 0;
    put_prefix(&msg, r);
    kvi_buf_puts(&msg, "An error occurred (");
    if (parsed && code.len)
        kvi_put_sanitized(&msg, kvi_buf_str(&code), QUOTE_CODE_MAX);
    else
        kvi_buf_printf(&msg, "%d", resp->status);
    kvi_buf_printf(&msg, ") when calling the %s operation: ", action);
    if (parsed && message.len)
        kvi_put_sanitized(&msg, kvi_buf_str(&message), QUOTE_MESSAGE_MAX);
    else
        kvi_buf_puts(&msg, parsed ? "(no message)" : "(the answer is not an STS error document)");
    kvi_buf_printf(&msg, " (endpoint %s, HTTP %d", endpoint, resp->status);
    const char *request_id = rid.len ? kvi_buf_str(&rid) : resp->request_id;
    if (request_id && *request_id) {
        kvi_buf_puts(&msg, ", request id ");
        kvi_put_sanitized(&msg, request_id, QUOTE_CODE_MAX);
    }
    kvi_buf_printf(&msg, ", %d attempt%s)", attempts, attempts == 1 ? "" : "s");
    st = kvi_error_take_buf(err, KVSWS_E_CREDENTIAL_RETRIEVAL, &msg);
    if (err) {
        err->http_status = resp->status;
        err->retryable = sts_retryable(resp);
    }
    kvi_buf_free(&code);
    kvi_buf_free(&message);
    kvi_buf_free(&rid);
    kvi_buf_free(&msg);
    return st;
}

kvsws_status kvi_sts_assume_role(const kvi_provider_ctx *ctx, const kvi_sts_request *r,
                                 kvi_credentials *out, kvsws_error *err)
{
    memset(out, 0, sizeof *out);
    const char *action = r->web_identity_token ? "AssumeRoleWithWebIdentity" : "AssumeRole";
    char *region = sts_region(ctx);
    char *endpoint = NULL;
    kvi_buf body = KVI_BUF_INIT, path = KVI_BUF_INIT, url = KVI_BUF_INIT;
    kvi_sign_result signed_req;
    memset(&signed_req, 0, sizeof signed_req);
    kvi_url u;
    memset(&u, 0, sizeof u);
    kvi_http_response resp;
    memset(&resp, 0, sizeof resp);
    kvi_signer *signer = NULL;
    kvsws_status st = kvi_fetch_endpoint(ctx, KVI_ENDPOINT_STS, "sts", region, &endpoint, err);
    if (st != KVSWS_OK)
        goto out;
    const char *why = NULL;
    if (kvi_url_parse(endpoint, &u, &why) != 0) {
        st = kvi_error_set(err, KVSWS_E_CONFIG, "Invalid STS endpoint URL \"%s\": %s", endpoint,
                           why ? why : "malformed");
        goto out;
    }
    if (kvi_buf_printf(&path, "%s/", u.path) != 0 ||
        kvi_buf_printf(&url, "%s://%s%s", u.scheme, u.authority, kvi_buf_str(&path)) != 0 ||
        form_body(r, action, &body) != 0) {
        st = kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory");
        goto out;
    }

    kvi_header wire[6] = {{"Content-Type", FORM_CONTENT_TYPE}};
    size_t nwire = 1;
    if (!r->web_identity_token) {
        /* SigV4 for service "sts" with the source credentials; the body's hash is signed
         * without an x-amz-content-sha256 header, as botocore does for the query protocol. */
        char body_hash[65];
        kvi_sha256_hex(body.data, body.len, body_hash);
        kvi_header sign_headers[2] = {{"Host", u.authority}, {"Content-Type", FORM_CONTENT_TYPE}};
        kvi_sign_request sreq = {"POST", kvi_buf_str(&path), NULL, sign_headers, 2,
                                 body.data, body.len};
        kvi_sign_credentials sc = {r->source->access_key_id, r->source->secret_access_key,
                                   r->source->session_token};
        kvi_sign_config cfg = {region ? region : "us-east-1", "sts", time(NULL), 1, 0, 0, 0,
                               body_hash, 1, NULL};
        signer = kvi_signer_new();
        if (!signer) {
            st = kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory");
            goto out;
        }
        if (kvi_sigv4_sign_headers(signer, &sc, &cfg, &sreq, &signed_req, &why) != 0) {
            st = kvi_error_set(err, KVSWS_E_INTERNAL, "could not sign the %s request: %s",
                               action, why ? why : "unknown reason");
            goto out;
        }
        nwire += kvi_sign_split_added(&signed_req, wire + 1, 5);
    }
    kvi_http_request req;
    memset(&req, 0, sizeof req);
    req.method = "POST";
    req.url = kvi_buf_str(&url);
    req.headers = wire;
    req.header_count = nwire;
    req.body = body.data;
    req.body_len = body.len;
    /* STS's answers are its own (XML, any 2xx): kvi_sts_answer reads them. */
    kvi_fetch_provider p = {.self = r, .retryable = sts_retryable, .put_prefix = put_call_prefix};
    int attempts = 0;
    st = kvi_fetch_answer(ctx, &req, &p, &resp, &attempts, err);
    if (st == KVSWS_OK)
        st = kvi_sts_answer(r, action, endpoint, &resp, attempts, out, err);
out:
    kvi_fetch_response_free(&resp);
    kvi_sign_result_free(&signed_req); /* cleansed: it held the source session token */
    kvi_signer_free(signer);
    kvi_url_free(&u);
    kvi_buf_free_secret(&body);
    kvi_buf_free(&path);
    kvi_buf_free(&url);
    free(endpoint);
    free(region);
    return st;
}
