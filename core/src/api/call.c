/* SPDX-License-Identifier: Apache-2.0 */
/* call.c - one operation end to end: validate, find the endpoint, sign, send, retry, map. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/call.h"
#include "api/client.h"
#include "api/operations.h"
#include "aws/aws_error.h"
#include "base/buf.h"
#include "base/error.h"
#include "base/retry.h"
#include "base/url.h"

#define MAX_BACKOFF_MS 20000
#define CREDENTIAL_REFRESH_MARGIN_S 300

void kvsws_response_free(kvsws_response *r)
{
    if (!r)
        return;
    cJSON_Delete(r->output);
    free(r->json);
    free(r->request_id);
    cJSON_Delete(r->headers);
    free(r->http_headers);
    free(r);
}
const char *kvsws_response_json(const kvsws_response *r) { return r && r->json ? r->json : "{}"; }
int kvsws_response_http_status(const kvsws_response *r) { return r ? r->http_status : 0; }
const char *kvsws_response_request_id(const kvsws_response *r)
{
    return r && r->request_id ? r->request_id : "";
}
int kvsws_response_attempts(const kvsws_response *r) { return r ? r->attempts : 0; }
const char *kvsws_response_http_headers_json(const kvsws_response *r)
{
    return r && r->http_headers ? r->http_headers : "{}";
}

/* Also runs the token's wait hook first, so a binding's own cancel reason counts. */
static int cancelled(const kvsws_cancel *cancel)
{
    if (cancel && cancel->on_wait)
        cancel->on_wait(cancel->on_wait_userdata);
    return cancel && __atomic_load_n(&cancel->flag, __ATOMIC_SEQ_CST);
}

/* Sleeps in short slices so a cancel lands within ~10 ms. */
static int sleep_cancellable(int64_t ms, const kvsws_cancel *cancel)
{
    while (ms > 0) {
        if (cancelled(cancel))
            return -1;
        int64_t slice = ms < 10 ? ms : 10;
        struct timespec ts = {0, (long)slice * 1000000L};
        nanosleep(&ts, NULL);
        ms -= slice;
    }
    return cancelled(cancel) ? -1 : 0;
}

/* Logs the canonical request with the session token's value hidden. */
static void log_signing(kvsws_client *c, const kvi_sign_result *signed_req)
{
    if (c->log_level < KVSWS_LOG_DEBUG)
        return;
    kvi_buf safe = KVI_BUF_INIT;
    const char *cr = kvi_buf_str(&signed_req->canonical_request);
    const char *tok = strstr(cr, "\nx-amz-security-token:");
    if (tok) {
        const char *end = strchr(tok + 1, '\n');
        kvi_buf_append(&safe, cr, (size_t)(tok - cr));
        kvi_buf_puts(&safe, "\nx-amz-security-token:<redacted>");
        kvi_buf_puts(&safe, end ? end : "");
        cr = kvi_buf_str(&safe);
    }
    kvi_log(c, KVSWS_LOG_DEBUG, "CanonicalRequest:\n%s", cr);
    kvi_log(c, KVSWS_LOG_DEBUG, "StringToSign:\n%s", kvi_buf_str(&signed_req->string_to_sign));
    kvi_buf_free(&safe);
}

typedef struct attempt_result {
    kvi_http_response http;
    kvsws_status transport; /* KVSWS_OK when an HTTP response came back */
} attempt_result;

/* Signs and sends one attempt. */
static kvsws_status send_once(kvsws_client *c, const kvi_url *url, const char *op_path,
                              const char *body, const kvi_credentials *creds,
                              const kvsws_cancel *cancel, attempt_result *out, kvsws_error *err)
{
    kvi_buf path = KVI_BUF_INIT, full_url = KVI_BUF_INIT;
    kvi_buf_printf(&path, "%s%s", url->path, op_path);
    kvi_buf_printf(&full_url, "%s://%s%s", url->scheme, url->authority, kvi_buf_str(&path));
    /* restJson1 sends application/json; signing Content-Type keeps it from being altered */
    kvi_header sign_headers[] = {{"Host", url->authority}, {"Content-Type", "application/json"}};
    kvi_sign_request req = {"POST", kvi_buf_str(&path), NULL, sign_headers, 2, body, strlen(body)};
    kvi_sign_credentials sc = {creds->access_key_id, creds->secret_access_key,
                               creds->session_token};
    kvi_sign_config cfg = {c->region, "kinesisvideo", kvi_client_now(c), 1, 1, 0, 0, NULL,
                           .omit_canonical = c->log_level < KVSWS_LOG_DEBUG};
    kvi_sign_result signed_req;
    memset(&signed_req, 0, sizeof signed_req);
    const char *why = NULL;
    kvsws_status st = KVSWS_OK;
    if (kvi_sigv4_sign_headers(c->signer, &sc, &cfg, &req, &signed_req, &why) != 0) {
        st = kvi_error_set(err, KVSWS_E_INTERNAL, "could not sign the request: %s",
                           why ? why : "unknown reason");
        goto done;
    }
    log_signing(c, &signed_req);

    /* Headers on the wire: ours plus what signing added ("Name: value" lines). */
    kvi_header wire[8];
    size_t n = 0;
    wire[n++] = sign_headers[1];
    n += kvi_sign_split_added(&signed_req, wire + n, 8 - n);
    kvi_http_request hreq = {"POST",
                             kvi_buf_str(&full_url),
                             wire,
                             n,
                             body,
                             strlen(body),
                             cancel ? &cancel->flag : NULL,
                             1 /* keep_headers: an error carries them (HTTPHeaders) */,
                             cancel ? cancel->on_wait : NULL,
                             cancel ? cancel->on_wait_userdata : NULL};
    out->transport = kvi_http_perform(c->http, &hreq, &out->http, err);
done:
    kvi_sign_result_free(&signed_req);
    kvi_buf_free(&path);
    kvi_buf_free(&full_url);
    return st;
}

/* The body of a 2xx must be empty or a JSON object; "" becomes {}. */
static kvsws_status take_output(const kvi_http_response *http, cJSON **output, kvsws_error *err)
{
    const char *body = kvi_buf_str(&http->body);
    size_t len = http->body.len;
    size_t i = 0;
    while (i < len && (body[i] == ' ' || body[i] == '\n' || body[i] == '\r' || body[i] == '\t'))
        i++;
    if (i == len) {
        *output = cJSON_CreateObject();
        return *output ? KVSWS_OK : kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory");
    }
    cJSON *doc = cJSON_ParseWithLength(body, len);
    if (!cJSON_IsObject(doc)) {
        cJSON_Delete(doc);
        return kvi_error_set(err, KVSWS_E_BAD_RESPONSE,
                             "The service answered HTTP %d with a body that is not a JSON object",
                             http->status);
    }
    *output = doc;
    return KVSWS_OK;
}

static int may_retry(const kvsws_client *c, const kvi_operation *op)
{
    return op->idempotent || c->retry_join;
}

/* Sends a validated body to one endpoint, with the standard retry mode. Each attempt has its own
 * request deadline (http.c), so a call ends within max_attempts x it plus the backoff: a timeout
 * is retryable, and one slow answer must not use up the next attempt's time. */
static kvsws_status send_with_retries(kvsws_client *c, const kvi_operation *op,
                                      const char *endpoint, const char *body,
                                      const kvsws_cancel *cancel, kvsws_response **out,
                                      kvsws_error *err)
{
    kvi_url url;
    const char *why = NULL;
    if (kvi_url_parse(endpoint, &url, &why) != 0)
        return kvi_error_set(err, KVSWS_E_PARAM_VALIDATION, "Invalid endpoint URL \"%s\": %s",
                             endpoint, why);
    kvsws_status st = KVSWS_OK;
    int attempts = 0, skew_retried = 0;
    for (;;) {
        kvi_credentials creds;
        memset(&creds, 0, sizeof creds);
        st = kvi_credential_chain_get(c->credentials, time(NULL), CREDENTIAL_REFRESH_MARGIN_S,
                                      &creds, err);
        if (st)
            break;
        attempt_result res;
        memset(&res, 0, sizeof res);
        attempts++;
        st = send_once(c, &url, op->path, body, &creds, cancel, &res, err);
        kvi_credentials_free(&creds);
        int retryable = 0, skewed = 0;
        if (st == KVSWS_OK && res.transport == KVSWS_OK && res.http.status / 100 == 2) {
            kvsws_response *resp = calloc(1, sizeof *resp);
            st = resp ? take_output(&res.http, &resp->output, err)
                      : kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory");
            if (st == KVSWS_OK) {
                resp->http_status = res.http.status;
                resp->attempts = attempts;
                resp->request_id = kvi_strdup(res.http.request_id);
                resp->headers = res.http.headers;
                res.http.headers = NULL;
                kvi_log(c, KVSWS_LOG_DEBUG, "%s: HTTP %d, request id %s, %d attempt(s)", op->name,
                        res.http.status, res.http.request_id ? res.http.request_id : "-",
                        attempts);
                if (out)
                    *out = resp;
                else
                    kvsws_response_free(resp);
            } else {
                kvsws_response_free(resp);
            }
            kvi_http_response_free(&res.http);
            break;
        }
        if (st == KVSWS_OK && res.transport == KVSWS_OK) {
            kvi_aws_error ae;
            memset(&ae, 0, sizeof ae);
            if (kvi_aws_error_parse(res.http.status, res.http.error_type, res.http.request_id,
                                    res.http.body.data, res.http.body.len, &ae) != 0) {
                st = kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory");
            } else {
                st = kvi_error_set_service(err, ae.status, ae.code, ae.message, ae.http_status,
                                           ae.request_id, ae.retryable);
                /* printed here: an error hands its headers out as text (none if out of memory) */
                kvi_error_take_http_headers(err, res.http.headers
                                                     ? cJSON_PrintUnformatted(res.http.headers)
                                                     : NULL);
                retryable = ae.retryable;
                skewed = ae.clock_skew;
                kvi_log(c, KVSWS_LOG_DEBUG, "%s: HTTP %d %s, request id %s, attempt %d",
                        op->name, ae.http_status, ae.code, ae.request_id, attempts);
            }
            kvi_aws_error_free(&ae);
            if (skewed && !skew_retried && kvi_client_learn_clock_skew(c, res.http.date) == 0) {
                skew_retried = 1; /* a corrected clock gets one more try, as the SDKs do */
                kvi_http_response_free(&res.http);
                continue;
            }
        } else if (st == KVSWS_OK) {
            st = res.transport;
            retryable = kvi_retry_is_retryable_transport(st);
            if (err)
                err->retryable = retryable;
            kvi_log(c, KVSWS_LOG_DEBUG, "%s: %s, attempt %d", op->name, kvsws_error_message(err),
                    attempts);
        }
        kvi_http_response_free(&res.http);
        if (!retryable || attempts >= c->max_attempts || !may_retry(c, op) ||
            st == KVSWS_E_CANCELLED)
            break;
        int64_t delay = kvi_retry_backoff_ms(attempts, c->retry_base_delay_ms, MAX_BACKOFF_MS,
                                             kvi_client_random(c));
        kvi_log(c, KVSWS_LOG_DEBUG, "%s: retrying in %lld ms", op->name, (long long)delay);
        if (sleep_cancellable(delay, cancel) != 0) {
            st = kvi_error_set(err, KVSWS_E_CANCELLED, "The call was cancelled");
            break;
        }
    }
    if (err)
        err->attempts = attempts;
    kvi_url_free(&url);
    return st;
}

static char *find_endpoint(cJSON *list, const char *protocol)
{
    cJSON *item;
    cJSON_ArrayForEach(item, list)
    {
        cJSON *p = cJSON_GetObjectItemCaseSensitive(item, "Protocol");
        cJSON *e = cJSON_GetObjectItemCaseSensitive(item, "ResourceEndpoint");
        if (cJSON_IsString(p) && cJSON_IsString(e) && strcmp(p->valuestring, protocol) == 0)
            return kvi_strdup(e->valuestring);
    }
    return NULL;
}

void kvi_client_seed_endpoints(kvsws_client *c, const char *channel_arn, const char *role,
                               const char *webrtc, const char *https)
{
    pthread_mutex_lock(&c->lock);
    kvi_channel_endpoints *e = c->cache;
    while (e && (strcmp(e->channel_arn, channel_arn) || strcmp(e->role, role)))
        e = e->next;
    if (!e && (e = calloc(1, sizeof *e)) != NULL) {
        e->channel_arn = kvi_strdup(channel_arn);
        e->role = kvi_strdup(role);
        e->next = c->cache;
        c->cache = e;
    }
    if (e && webrtc) {
        free(e->webrtc);
        e->webrtc = kvi_strdup(webrtc);
    }
    if (e && https) {
        free(e->https);
        e->https = kvi_strdup(https);
    }
    pthread_mutex_unlock(&c->lock);
}

/* The per-channel endpoint for op: configured, cached, or asked for once (as role). A failed
 * lookup is reported as what it is: GetSignalingChannelEndpoint, with its request id. */
static kvsws_status channel_endpoint(kvsws_client *c, const kvi_operation *op, const char *role,
                                     const char *channel_arn, const kvsws_cancel *cancel,
                                     char **out, kvsws_error *err)
{
    int want_webrtc = op->endpoint == KVI_ENDPOINT_WEBRTC_STORAGE;
    const char *configured = want_webrtc ? c->webrtc_endpoint : c->signaling_endpoint;
    if (configured) {
        *out = kvi_strdup(configured);
        return KVSWS_OK;
    }
    pthread_mutex_lock(&c->lock);
    for (kvi_channel_endpoints *e = c->cache; e; e = e->next)
        if (!strcmp(e->channel_arn, channel_arn) && !strcmp(e->role, role) &&
            (want_webrtc ? e->webrtc : e->https)) {
            *out = kvi_strdup(want_webrtc ? e->webrtc : e->https);
            break;
        }
    pthread_mutex_unlock(&c->lock);
    if (*out)
        return KVSWS_OK;

    const kvi_operation *get = kvi_operation_find("GetSignalingChannelEndpoint");
    cJSON *input = cJSON_CreateObject();
    cJSON_AddStringToObject(input, "ChannelARN", channel_arn);
    cJSON *smc = cJSON_AddObjectToObject(input, "SingleMasterChannelEndpointConfiguration");
    cJSON *protocols = cJSON_AddArrayToObject(smc, "Protocols");
    cJSON_AddItemToArray(protocols, cJSON_CreateString(want_webrtc ? "WEBRTC" : "HTTPS"));
    cJSON_AddStringToObject(smc, "Role", role);
    char *body = cJSON_PrintUnformatted(input);
    cJSON_Delete(input);
    if (!body)
        return kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory");
    kvi_error_set_operation(err, get->name);
    kvsws_response *resp = NULL;
    kvsws_status st = send_with_retries(c, get, c->control_endpoint, body, cancel, &resp, err);
    free(body);
    if (st) {
        kvi_buf msg = KVI_BUF_INIT;
        kvi_buf_printf(&msg, "%s (while finding the channel's %s endpoint for %s)",
                       kvsws_error_message(err), want_webrtc ? "WEBRTC" : "HTTPS", op->name);
        if (err) {
            free(err->message);
            err->message = kvi_buf_detach(&msg);
        }
        kvi_buf_free(&msg);
        return st;
    }
    char *url = find_endpoint(cJSON_GetObjectItemCaseSensitive(resp->output,
                                                               "ResourceEndpointList"),
                              want_webrtc ? "WEBRTC" : "HTTPS");
    kvsws_response_free(resp);
    const char *why = NULL;
    if (!url || kvi_endpoint_validate(url, 0, &why) != 0) {
        free(url);
        kvi_error_set_operation(err, get->name);
        return kvi_error_set(err, KVSWS_E_BAD_RESPONSE,
                             "GetSignalingChannelEndpoint returned no usable %s endpoint",
                             want_webrtc ? "WEBRTC" : "HTTPS");
    }
    kvi_client_seed_endpoints(c, channel_arn, role, want_webrtc ? url : NULL,
                              want_webrtc ? NULL : url);
    kvi_log(c, KVSWS_LOG_DEBUG, "channel %s: %s endpoint %s", channel_arn,
            want_webrtc ? "WEBRTC" : "HTTPS", url);
    *out = url;
    return KVSWS_OK;
}

/* The operation's model, or an error that says why there is none. */
static const kvi_operation *find_operation(const kvsws_client *c, const char *operation,
                                           kvsws_error *err)
{
    if (!c) {
        kvi_error_set(err, KVSWS_E_PARAM_VALIDATION, "client must not be NULL");
        return NULL;
    }
    const kvi_operation *op = kvi_operation_find(operation);
    if (!op)
        kvi_error_set(err, KVSWS_E_PARAM_VALIDATION, "Unknown operation \"%s\"",
                      operation ? operation : "(null)");
    else
        kvi_error_set_operation(err, op->name);
    return op;
}

kvsws_status kvi_call(kvsws_client *c, const char *operation, const char *role, cJSON *input,
                      const kvsws_cancel *cancel, kvsws_response **out, kvsws_error *err)
{
    kvi_error_clear(err);
    if (out)
        *out = NULL;
    const kvi_operation *op = find_operation(c, operation, err);
    if (!op)
        return KVSWS_E_PARAM_VALIDATION;
    kvsws_status st = kvi_operation_validate(op, input, err);
    if (!st)
        kvi_operation_strip_nulls(input);
    char *body = st ? NULL : cJSON_PrintUnformatted(input);
    const cJSON *arn = cJSON_GetObjectItemCaseSensitive(input, op->arn_member);
    char *endpoint = NULL;
    if (!st && !body)
        st = kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory");
    int lookup_failed = 0;
    if (!st && op->endpoint == KVI_ENDPOINT_CONTROL) {
        endpoint = kvi_strdup(c->control_endpoint);
    } else if (!st) {
        st = channel_endpoint(c, op, role ? role : op->discovery_role, arn->valuestring, cancel,
                              &endpoint, err);
        lookup_failed = st != KVSWS_OK; /* the error names GetSignalingChannelEndpoint */
    }
    if (!st) {
        kvi_error_set_operation(err, op->name);
        st = send_with_retries(c, op, endpoint, body, cancel, out, err);
    }
    if (st && !lookup_failed)
        kvi_error_set_operation(err, op->name);
    else if (!st)
        kvi_error_clear(err);
    free(endpoint);
    free(body);
    return st;
}

kvsws_status kvi_call_printed(kvsws_client *c, const char *operation, cJSON *input,
                              const kvsws_cancel *cancel, kvsws_response **out, kvsws_error *err)
{
    kvsws_status st = kvi_call(c, operation, NULL, input, cancel, out, err);
    if (st || !out)
        return st;
    kvsws_response *resp = *out;
    resp->json = cJSON_PrintUnformatted(resp->output);
    cJSON_Delete(resp->output);
    resp->output = NULL;
    resp->http_headers = resp->headers ? cJSON_PrintUnformatted(resp->headers) : NULL;
    if (resp->json && (resp->http_headers || !resp->headers))
        return KVSWS_OK;
    kvi_error_set_operation(err, operation);
    st = kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory");
    if (err)
        err->attempts = resp->attempts;
    kvsws_response_free(resp);
    *out = NULL;
    return st;
}

kvsws_status kvsws_client_call(kvsws_client *c, const char *operation, const char *input_json,
                               kvsws_cancel *cancel, kvsws_response **out, kvsws_error *err)
{
    kvi_error_clear(err);
    if (out)
        *out = NULL;
    const kvi_operation *op = find_operation(c, operation, err);
    if (!op)
        return KVSWS_E_PARAM_VALIDATION;
    cJSON *input = input_json && *input_json ? cJSON_Parse(input_json) : cJSON_CreateObject();
    if (!input)
        return kvi_error_set(err, KVSWS_E_PARAM_VALIDATION,
                             "Invalid input for %s: not valid JSON", op->name);
    kvsws_status st = kvi_call_printed(c, op->name, input, cancel, out, err);
    cJSON_Delete(input);
    return st;
}
