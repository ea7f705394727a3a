/* SPDX-License-Identifier: Apache-2.0 */
/* ws_handshake.c - the HTTP/1.1 upgrade (RFC 6455 4.1): the request with Sec-WebSocket-Key,
 * the 101 answer and its Sec-WebSocket-Accept check, and an error answer read as AWS wrote it. */
#include "transport/ws_handshake.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aws/aws_error.h"
#include "base/error.h"
#include "transport/curl_common.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
/* The upgrade answer's headers; API Gateway's are well under 2 KB. */
#define HEADERS_MAX ((size_t)16 << 10)
/* An error answer's body is a short JSON document; more is cut. */
#define ERROR_BODY_MAX ((size_t)64 << 10)
/* After the error status line, how long we wait for its body at most. */
#define ERROR_BODY_WAIT_MS 2000

void kvi_ws_accept_for_key(const char *key, char out[29])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) == 1 &&
             EVP_DigestUpdate(ctx, key, strlen(key)) == 1 &&
             EVP_DigestUpdate(ctx, WS_GUID, sizeof WS_GUID - 1) == 1 &&
             EVP_DigestFinal_ex(ctx, md, &md_len) == 1 && md_len == 20;
    EVP_MD_CTX_free(ctx);
    if (!ok) {
        /* Matches no real answer, so the upgrade check fails closed. */
        out[0] = '\0';
        return;
    }
    EVP_EncodeBlock((unsigned char *)out, md, 20);
    out[28] = '\0';
}

/* Does the comma-separated header value hold token (case-insensitive)? */
static int has_token(const char *value, const char *token)
{
    const char *p = value;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        size_t n = strcspn(p, ",");
        size_t m = n;
        while (m > 0 && (p[m - 1] == ' ' || p[m - 1] == '\t'))
            m--;
        if (m && kvi_curl_name_is(p, m, token))
            return 1;
        p += n;
    }
    return 0;
}

/* ---- the upgrade -------------------------------------------------------------------------- */

typedef struct upgrade_answer {
    int status;
    long long content_length; /* -1 when absent */
    int chunked;
    char *accept, *upgrade, *connection, *extensions, *protocol, *error_type, *request_id, *date;
} upgrade_answer;

static void answer_free(upgrade_answer *a)
{
    free(a->accept);
    free(a->upgrade);
    free(a->connection);
    free(a->extensions);
    free(a->protocol);
    free(a->error_type);
    free(a->request_id);
    free(a->date);
}

static char *dup_trimmed(const char *v, size_t n)
{
    while (n > 0 && (*v == ' ' || *v == '\t')) {
        v++;
        n--;
    }
    while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, v, n);
        s[n] = '\0';
    }
    return s;
}

/* Parses the status line and the headers we look at from head[0..n) (CRLF lines, no final
 * blank line). -1 when it is not HTTP, -2 when out of memory. */
static int parse_answer(const char *head, size_t n, upgrade_answer *a)
{
    memset(a, 0, sizeof *a);
    a->content_length = -1;
    const char *end = head + n;
    const char *eol = memchr(head, '\n', n);
    if (!eol)
        eol = end;
    size_t l = (size_t)(eol - head);
    if (l < 12 || memcmp(head, "HTTP/1.", 7) != 0 || head[8] != ' ')
        return -1;
    int st = 0;
    for (int i = 9; i < 12; i++) {
        if (head[i] < '0' || head[i] > '9')
            return -1;
        st = st * 10 + (head[i] - '0');
    }
    a->status = st;
    const char *p = eol < end ? eol + 1 : end;
    while (p < end) {
        const char *e = memchr(p, '\n', (size_t)(end - p));
        if (!e)
            e = end;
        size_t ln = (size_t)(e - p);
        if (ln > 0 && p[ln - 1] == '\r')
            ln--;
        const char *colon = memchr(p, ':', ln);
        if (colon) {
            size_t nl = (size_t)(colon - p);
            const char *v = colon + 1;
            size_t vl = ln - nl - 1;
            char **slot = NULL;
            if (kvi_curl_name_is(p, nl, "Sec-WebSocket-Accept"))
                slot = &a->accept;
            else if (kvi_curl_name_is(p, nl, "Upgrade"))
                slot = &a->upgrade;
            else if (kvi_curl_name_is(p, nl, "Connection"))
                slot = &a->connection;
            else if (kvi_curl_name_is(p, nl, "Sec-WebSocket-Extensions"))
                slot = &a->extensions;
            else if (kvi_curl_name_is(p, nl, "Sec-WebSocket-Protocol"))
                slot = &a->protocol;
            else if (kvi_curl_name_is(p, nl, "x-amzn-ErrorType"))
                slot = &a->error_type;
            else if (kvi_curl_name_is(p, nl, "x-amzn-RequestId"))
                slot = &a->request_id;
            else if (kvi_curl_name_is(p, nl, "x-amz-request-id") && !a->request_id)
                slot = &a->request_id;
            else if (kvi_curl_name_is(p, nl, "Date"))
                slot = &a->date;
            if (slot) {
                free(*slot);
                *slot = dup_trimmed(v, vl);
                if (!*slot)
                    return -2;
            } else if (kvi_curl_name_is(p, nl, "Content-Length")) {
                char *s = dup_trimmed(v, vl);
                if (!s)
                    return -2;
                char *stop = NULL;
                long long cl = strtoll(s, &stop, 10);
                if (stop != s && *stop == '\0' && cl >= 0)
                    a->content_length = cl;
                free(s);
            } else if (kvi_curl_name_is(p, nl, "Transfer-Encoding")) {
                char *s = dup_trimmed(v, vl);
                if (!s)
                    return -2;
                a->chunked = has_token(s, "chunked");
                free(s);
            }
        }
        p = e < end ? e + 1 : end;
    }
    return 0;
}

/* Decodes a chunked body as far as it is there; returns 1 when the last chunk was seen. */
static int dechunk(const char *in, size_t n, kvi_buf *out)
{
    size_t i = 0;
    for (;;) {
        const char *crlf = memchr(in + i, '\n', n - i);
        if (!crlf)
            return 0;
        char *stop = NULL;
        char line[32];
        size_t ll = (size_t)(crlf - (in + i));
        if (ll >= sizeof line)
            ll = sizeof line - 1;
        memcpy(line, in + i, ll);
        line[ll] = '\0';
        unsigned long long size = strtoull(line, &stop, 16);
        if (stop == line)
            return 1; /* not chunked after all: keep what we have */
        i = (size_t)(crlf - in) + 1;
        if (size == 0)
            return 1;
        size_t take = size > n - i ? n - i : (size_t)size;
        if (kvi_buf_append(out, in + i, take) != 0)
            return 1;
        if (take < size || out->len >= ERROR_BODY_MAX)
            return take < size ? 0 : 1;
        i += take;
        /* The CRLF after the chunk's data. */
        while (i < n && (in[i] == '\r' || in[i] == '\n'))
            i++;
    }
}



/* The error answer's body, read as far as the deadline lets us. */
static void read_error_body(kvi_ws *ws, const upgrade_answer *a, const char *rest,
                            size_t rest_len, int64_t deadline, kvi_buf *body)
{
    kvi_buf raw = KVI_BUF_INIT;
    const char *why = NULL;
    if (rest_len)
        kvi_buf_append(&raw, rest, rest_len);
    int64_t limit = kvi_ws_now_ms() + ERROR_BODY_WAIT_MS;
    if (limit < deadline)
        deadline = limit;
    for (;;) {
        if (a->chunked) {
            kvi_buf_reset(body);
            if (dechunk(raw.data ? raw.data : "", raw.len, body))
                break;
        } else if (a->content_length >= 0 && raw.len >= (unsigned long long)a->content_length) {
            break;
        }
        if (raw.len >= ERROR_BODY_MAX || kvi_ws_recv_some(ws, &raw, deadline, &why) != 1)
            break;
    }
    if (!a->chunked) {
        size_t n = raw.len;
        if (a->content_length >= 0 && (unsigned long long)a->content_length < n)
            n = (size_t)a->content_length;
        if (n > ERROR_BODY_MAX)
            n = ERROR_BODY_MAX;
        kvi_buf_append(body, raw.data ? raw.data : "", n);
    }
    kvi_buf_free(&raw);
}

static kvsws_status upgrade_failed(const char *shown, kvsws_error *err, const char *what,
                                   const char *detail)
{
    kvi_error_set(err, KVSWS_E_TRANSPORT, "WebSocket upgrade failed: %s%s (endpoint URL: \"%s\")",
                  what, detail ? detail : "", shown);
    if (err)
        err->retryable = 0;
    return KVSWS_E_TRANSPORT;
}

/* The upgrade's answer is late: silent for read_ms, or not whole by the total deadline. */
static kvsws_status answer_timeout(int total, long ms, const char *shown, kvsws_error *err)
{
    kvsws_status st = kvi_error_set(err, KVSWS_E_READ_TIMEOUT,
                                    "Read timeout on endpoint URL: \"%s\" (%s WebSocket upgrade "
                                    "%s %ld ms)",
                                    shown, total ? "no complete answer to the" : "no answer to the",
                                    total ? "within the request timeout of" : "for", ms);
    if (err)
        err->retryable = 1;
    return st;
}

kvsws_status kvi_ws_handshake(kvi_ws *ws, const char *authority, const char *target,
                              const char *user_agent, int64_t deadline, long read_ms,
                              long request_ms, const char *shown, kvi_ws_refusal *refusal,
                              kvsws_error *err)
{
    unsigned char nonce[16];
    char key[25], expect[29];
    if (RAND_bytes(nonce, sizeof nonce) != 1)
        return kvi_error_set(err, KVSWS_E_INTERNAL, "the random generator failed");
    EVP_EncodeBlock((unsigned char *)key, nonce, sizeof nonce);
    key[24] = '\0';
    kvi_ws_accept_for_key(key, expect);

    kvi_buf req = KVI_BUF_INIT;
    int rc = kvi_buf_printf(&req,
                            "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
                            "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                            "Sec-WebSocket-Version: 13\r\nUser-Agent: %s\r\n\r\n",
                            target, authority, key, user_agent ? user_agent : "kvsws");
    if (rc != 0) {
        kvi_buf_free(&req);
        return kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory");
    }
    const char *why = NULL;
    rc = kvi_ws_send_all(ws, req.data, req.len, deadline, &why);
    /* The request line carries the presigned query: wipe it. */
    kvi_buf_free_secret(&req);
    if (rc != 0) {
        kvsws_status st =
            kvi_error_set(err, KVSWS_E_TRANSPORT,
                          "Could not send the WebSocket upgrade to endpoint URL: \"%s\" (%s)",
                          shown, why);
        if (err)
            err->retryable = 1;
        return st;
    }

    kvi_buf in = KVI_BUF_INIT;
    size_t head_len = 0;
    for (;;) {
        const char *p = in.len >= 4 ? memmem(in.data, in.len, "\r\n\r\n", 4) : NULL;
        if (p) {
            head_len = (size_t)(p - in.data);
            break;
        }
        if (in.len > HEADERS_MAX) {
            kvi_buf_free(&in);
            return upgrade_failed(shown, err, "the answer's headers are too long", NULL);
        }
        /* silence ends it after read_ms, a trickle at the total deadline */
        int64_t quiet_until = kvi_ws_now_ms() + read_ms;
        int r = kvi_ws_recv_some(ws, &in, quiet_until < deadline ? quiet_until : deadline, &why);
        if (r == 1)
            continue;
        kvi_buf_free(&in);
        if (r == -2)
            return quiet_until < deadline ? answer_timeout(0, read_ms, shown, err)
                                          : answer_timeout(1, request_ms, shown, err);
        kvsws_status st = kvi_error_set(err, KVSWS_E_TRANSPORT,
                               "Connection was closed before we received a valid response from "
                               "endpoint URL: \"%s\". (%s)",
                               shown, r == 0 ? "no answer to the WebSocket upgrade" : why);
        if (err)
            err->retryable = 1;
        return st;
    }

    upgrade_answer a;
    int pr = parse_answer(in.data, head_len, &a);
    const char *rest = in.data + head_len + 4;
    size_t rest_len = in.len - head_len - 4;
    kvsws_status st = KVSWS_OK;
    if (pr == -2) {
        st = kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory");
    } else if (pr != 0) {
        st = upgrade_failed(shown, err, "the answer is not HTTP", NULL);
    } else if (a.status >= 400) {
        kvi_buf body = KVI_BUF_INIT;
        read_error_body(ws, &a, rest, rest_len, deadline, &body);
        kvi_aws_error ae;
        if (kvi_aws_error_parse(a.status, a.error_type, a.request_id, body.data, body.len,
                                &ae) != 0) {
            st = kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory");
        } else {
            kvi_buf msg = KVI_BUF_INIT;
            if (ae.message && *ae.message)
                kvi_buf_puts(&msg, ae.message);
            else
                kvi_buf_printf(&msg, "WebSocket upgrade failed: HTTP %d (endpoint URL: \"%s\")",
                               a.status, shown);
            st = kvi_error_set_service(err, ae.status, ae.code, kvi_buf_str(&msg), a.status,
                                       ae.request_id, ae.retryable);
            if (refusal) {
                refusal->clock_skew = ae.clock_skew;
                snprintf(refusal->date, sizeof refusal->date, "%s", a.date ? a.date : "");
            }
            kvi_buf_free(&msg);
            kvi_aws_error_free(&ae);
        }
        kvi_buf_free(&body);
    } else if (a.status != 101) {
        char detail[48];
        snprintf(detail, sizeof detail, "%d instead of 101", a.status);
        st = upgrade_failed(shown, err, "HTTP ", detail);
    } else if (!a.upgrade || !kvi_curl_name_is(a.upgrade, strlen(a.upgrade), "websocket")) {
        st = upgrade_failed(shown, err, "the answer has no \"Upgrade: websocket\"", NULL);
    } else if (!a.connection || !has_token(a.connection, "upgrade")) {
        st = upgrade_failed(shown, err, "the answer has no \"Connection: Upgrade\"", NULL);
    } else if (!a.accept || strcmp(a.accept, expect) != 0) {
        st = upgrade_failed(shown, err,
                            a.accept ? "wrong Sec-WebSocket-Accept"
                                     : "no Sec-WebSocket-Accept in the answer",
                            NULL);
    } else if ((a.extensions && *a.extensions) || (a.protocol && *a.protocol)) {
        /* RFC 6455 4.1: an extension or subprotocol we did not ask for fails the connection. */
        st = upgrade_failed(shown, err, "the server chose an extension or subprotocol we did not "
                                        "offer", NULL);
    } else if (kvi_ws_reader_feed(&ws->rd, rest, rest_len) != 0) {
        /* Bytes after the headers are the start of the frame stream. */
        st = kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory");
    }
    if (pr != -1)
        answer_free(&a);
    kvi_buf_free(&in);
    return st;
}
