/* SPDX-License-Identifier: Apache-2.0 */
/* websocket.c - an RFC 6455 client over a libcurl CONNECT_ONLY connection (TLS verified).
 *
 * libcurl (Debian's 7.88 has no WebSocket support) does DNS, proxies, TCP and TLS with peer and
 * host verification; this file sends the HTTP/1.1 upgrade itself with curl_easy_send, checks the
 * 101 answer, and then speaks frames over curl_easy_send / curl_easy_recv.
 *
 * Threads: one reader (kvi_ws_read_message) and any number of senders. send_lock keeps each
 * frame whole on the wire; io_lock serialises every call into the curl handle (and so into the
 * one OpenSSL object, which must not be entered by two threads at once). Lock order: send_lock,
 * then io_lock; nobody waits on the socket while holding io_lock.
 *
 * Polling: TLS may hold decrypted bytes that poll() on the socket does not signal, so a caller
 * must call kvi_ws_read_message until it returns 0 (curl said "would block") before it polls
 * the socket again.
 */
#include "transport/websocket.h"

#include <curl/curl.h>
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "aws/aws_error.h"
#include "base/error.h"
#include "base/retry.h"
#include "transport/curl_common.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
/* The upgrade answer's headers; API Gateway's are well under 2 KB. */
#define HEADERS_MAX ((size_t)16 << 10)
/* An error answer's body is a short JSON document; more is cut. */
#define ERROR_BODY_MAX ((size_t)64 << 10)
/* After the error status line, how long we wait for its body at most. */
#define ERROR_BODY_WAIT_MS 2000
/* A send that cannot make progress for this long leaves the connection broken. */
#define SEND_TIMEOUT_MS 5000
/* How long a frame the reader sends itself (a pong, a close reply, the close after a protocol
 * error) may hold it: a peer that does not read loses the connection, never the caller's time. */
#define CONTROL_SEND_MS 250
#define RECV_CHUNK 16384
/* What one kvi_ws_read_message call handles at most before it returns (KVI_WS_READ_MORE), so
 * a flooding peer cannot keep the reading thread: frames, and bytes taken from the socket. */
#define READ_FRAME_BUDGET 256u
#define READ_BYTE_BUDGET ((size_t)256 << 10)

struct kvi_ws {
    CURL *curl;
    curl_socket_t sock;
    int holds_global;
    pthread_mutex_t send_lock; /* one frame at a time on the wire; guards close_sent, broken */
    pthread_mutex_t io_lock;   /* every curl_easy_send/recv on the handle */
    int close_sent;
    int send_broken; /* a frame went out partly: the stream is corrupt */
    /* Reader state, touched only by the reading thread (and kvi_ws_close). */
    kvi_ws_reader rd; /* frames, reassembly and the receive limits */
    int dead;         /* the reader reported -1: it keeps doing so */
    const int *cancel; /* the connect's cancel flag (NULL once connected) */
    int got_close;    /* the server's close frame arrived */
    unsigned failed_with; /* the close code of our protocol error, 0 if none */
    kvsws_status dead_status;
    char *dead_message;
    uint32_t last_rx_ms; /* atomic, see note_rx; read by kvi_ws_idle_ms from any thread */
    char errbuf[CURL_ERROR_SIZE]; /* curl keeps the pointer for the handle's whole life */
};

/* ---- small helpers ------------------------------------------------------------------------ */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Keeps the clock's low 32 bits: a 64-bit atomic needs libatomic on armel and ARMv6, a 32-bit one
 * nowhere. Their difference stays exact for idle times under 49 days. */
static void note_rx(kvi_ws *ws)
{
    __atomic_store_n(&ws->last_rx_ms, (uint32_t)now_ms(), __ATOMIC_RELAXED);
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

/* The connect phase's failures, with http.c's statuses and botocore's wording. */
static kvsws_status connect_error(CURLcode rc, const char *shown, char *errbuf, kvsws_error *err)
{
    const char *reason = kvi_curl_reason(rc, errbuf);
    kvsws_status st;
    if (rc == CURLE_OUT_OF_MEMORY)
        st = kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory connecting to \"%s\"", shown);
    else if ((st = kvi_curl_connect_error(rc, shown, reason, err)) == KVSWS_OK)
        st = kvi_error_set(err, KVSWS_E_TRANSPORT,
                           "Could not open the WebSocket to endpoint URL: \"%s\" (%s)", shown,
                           reason);
    if (err)
        err->retryable = kvi_retry_is_retryable_transport(st);
    return st;
}

static int cancelled(const int *flag) { return flag && __atomic_load_n(flag, __ATOMIC_SEQ_CST); }

/* Waits for the socket; 1 ready (or in error: the next call says which), 0 deadline passed or
 * the connect was cancelled (checked every 100 ms). */
static int wait_socket(const kvi_ws *ws, short events, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - now_ms();
        if (left <= 0 || cancelled(ws->cancel))
            return 0;
        struct pollfd pfd = {ws->sock, events, 0};
        int n = poll(&pfd, 1, left > 100 ? 100 : (int)left);
        if (n > 0)
            return 1;
        if (n < 0 && errno != EINTR)
            return 1;
    }
}

/* ---- the frame codec ---------------------------------------------------------------------- */

int kvi_ws_encode_frame(kvi_buf *out, kvi_ws_opcode opcode, int fin, const void *payload,
                        size_t len, const unsigned char mask_key[4])
{
    unsigned char h[14];
    size_t n = 0;
    h[n++] = (unsigned char)((fin ? 0x80 : 0) | ((unsigned)opcode & 0x0F));
    if (len <= 125) {
        h[n++] = (unsigned char)(0x80 | len);
    } else if (len <= 0xFFFF) {
        h[n++] = 0x80 | 126;
        h[n++] = (unsigned char)(len >> 8);
        h[n++] = (unsigned char)len;
    } else {
        h[n++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            h[n++] = (unsigned char)((uint64_t)len >> (8 * i));
    }
    memcpy(h + n, mask_key, 4);
    n += 4;
    size_t start = out->len;
    if (kvi_buf_append(out, h, n) != 0 || kvi_buf_append(out, payload, len) != 0) {
        if (out->data) {
            out->len = start;
            out->data[start] = '\0';
        }
        return -1;
    }
    unsigned char *p = (unsigned char *)out->data + start + n;
    for (size_t i = 0; i < len; i++)
        p[i] ^= mask_key[i & 3];
    return 0;
}

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

/* ---- sending ------------------------------------------------------------------------------ */

/* Sends all bytes or fails by deadline; called with send_lock held (or before the connection
 * is shared). Retries after CURLE_AGAIN with the same pointer and length, as OpenSSL needs. */
static int send_all(kvi_ws *ws, const char *p, size_t left, int64_t deadline, const char **why)
{
    while (left > 0) {
        size_t n = 0;
        pthread_mutex_lock(&ws->io_lock);
        CURLcode rc = curl_easy_send(ws->curl, p, left, &n);
        pthread_mutex_unlock(&ws->io_lock);
        if (rc == CURLE_OK) {
            p += n;
            left -= n;
        } else if (rc == CURLE_AGAIN) {
            if (!wait_socket(ws, POLLOUT, deadline)) {
                *why = "timed out: the connection is not draining";
                return -1;
            }
        } else {
            *why = curl_easy_strerror(rc);
            return -1;
        }
    }
    return 0;
}

/* Encodes and sends one frame whole; thread-safe. Without wait_for_lock it gives up at once
 * when another thread is sending (returns 1). 0 sent, -1 failed (err set). */
static int send_frame(kvi_ws *ws, kvi_ws_opcode op, const void *payload, size_t len,
                      int timeout_ms, int wait_for_lock, kvsws_error *err)
{
    unsigned char key[4];
    if (RAND_bytes(key, sizeof key) != 1)
        return kvi_error_set(err, KVSWS_E_INTERNAL, "the random generator failed"), -1;
    kvi_buf frame = KVI_BUF_INIT;
    if (kvi_ws_encode_frame(&frame, op, 1, payload, len, key) != 0) {
        kvi_buf_free(&frame);
        return kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory sending on the WebSocket"),
               -1;
    }
    int rc = 0;
    const char *why = NULL;
    if (wait_for_lock) {
        pthread_mutex_lock(&ws->send_lock);
    } else if (pthread_mutex_trylock(&ws->send_lock) != 0) {
        kvi_buf_free(&frame);
        return 1;
    }
    if (ws->send_broken) {
        why = "an earlier send failed";
        rc = -1;
    } else if (ws->close_sent) {
        why = "the WebSocket is closing";
        rc = -1;
    } else {
        rc = send_all(ws, frame.data, frame.len, now_ms() + timeout_ms, &why);
        if (rc != 0)
            ws->send_broken = 1;
        else if (op == KVI_WS_CLOSE)
            ws->close_sent = 1;
    }
    pthread_mutex_unlock(&ws->send_lock);
    kvi_buf_free(&frame);
    if (rc != 0) {
        kvi_error_set(err, KVSWS_E_TRANSPORT, "WebSocket send failed: %s", why);
        if (err)
            err->retryable = 1;
    }
    return rc;
}

int kvi_ws_send_text(kvi_ws *ws, const char *text, size_t len, kvsws_error *err)
{
    if (!ws || (!text && len))
        return kvi_error_set(err, KVSWS_E_INTERNAL, "kvi_ws_send_text called without a message"),
               -1;
    return send_frame(ws, KVI_WS_TEXT, text ? text : "", len, SEND_TIMEOUT_MS, 1, err);
}

int kvi_ws_send_ping(kvi_ws *ws, kvsws_error *err)
{
    if (!ws)
        return kvi_error_set(err, KVSWS_E_INTERNAL, "kvi_ws_send_ping called without a socket"),
               -1;
    return send_frame(ws, KVI_WS_PING, "", 0, SEND_TIMEOUT_MS, 1, err);
}

static int send_close(kvi_ws *ws, unsigned code, int timeout_ms)
{
    unsigned char p[2] = {(unsigned char)(code >> 8), (unsigned char)code};
    return send_frame(ws, KVI_WS_CLOSE, p, code ? 2 : 0, timeout_ms, 1, NULL);
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

/* curl_easy_recv under the I/O lock (a sender may be writing on the same connection). */
static CURLcode locked_recv(kvi_ws *ws, char *chunk, size_t size, size_t *n)
{
    pthread_mutex_lock(&ws->io_lock);
    CURLcode rc = curl_easy_recv(ws->curl, chunk, size, n);
    pthread_mutex_unlock(&ws->io_lock);
    return rc;
}

/* Reads more of the connection into buf; 1 got bytes, 0 EOF, -1 error (why), -2 deadline. */
static int recv_some(kvi_ws *ws, kvi_buf *buf, int64_t deadline, const char **why)
{
    char chunk[RECV_CHUNK];
    for (;;) {
        size_t n = 0;
        CURLcode rc = locked_recv(ws, chunk, sizeof chunk, &n);
        if (rc == CURLE_OK) {
            if (n == 0)
                return 0;
            if (kvi_buf_append(buf, chunk, n) != 0) {
                *why = "out of memory";
                return -1;
            }
            return 1;
        }
        if (rc != CURLE_AGAIN) {
            *why = curl_easy_strerror(rc);
            return -1;
        }
        if (!wait_socket(ws, POLLIN, deadline))
            return -2;
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
    int64_t limit = now_ms() + ERROR_BODY_WAIT_MS;
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
        if (raw.len >= ERROR_BODY_MAX || recv_some(ws, &raw, deadline, &why) != 1)
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

static kvsws_status handshake(kvi_ws *ws, const char *authority, const char *target,
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
    rc = send_all(ws, req.data, req.len, deadline, &why);
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
        int64_t quiet_until = now_ms() + read_ms;
        int r = recv_some(ws, &in, quiet_until < deadline ? quiet_until : deadline, &why);
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

/* ---- connect / close ---------------------------------------------------------------------- */

static void ws_free(kvi_ws *ws)
{
    if (!ws)
        return;
    if (ws->curl)
        curl_easy_cleanup(ws->curl);
    kvi_ws_reader_free(&ws->rd);
    free(ws->dead_message);
    pthread_mutex_destroy(&ws->send_lock);
    pthread_mutex_destroy(&ws->io_lock);
    kvi_curl_global_release(ws->holds_global);
    free(ws);
}

/* Bytes that cannot go on a request line or a Host header. */
static int bad_url_bytes(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c == 0x7f)
            return 1;
    }
    return 0;
}

static int connect_progress(void *ws, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                            curl_off_t ulnow)
{
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    return cancelled(((const kvi_ws *)ws)->cancel); /* non-zero aborts the transfer */
}

kvsws_status kvi_ws_connect(const char *url, const kvi_ws_options *opts, kvi_ws **out,
                            kvsws_error *err)
{
    if (out)
        *out = NULL;
    if (!url || !out)
        return kvi_error_set(err, KVSWS_E_INTERNAL, "kvi_ws_connect called without a URL");
    char *shown = kvi_curl_url_for_message(url);
    if (!shown)
        return kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory");

    /* wss://[user@]authority[/path][?query][#fragment] */
    kvsws_status st = KVSWS_OK;
    kvi_buf curl_url = KVI_BUF_INIT, authority = KVI_BUF_INIT, target = KVI_BUF_INIT;
    kvi_ws *ws = NULL;
    if (strncasecmp(url, "wss://", 6) != 0) {
        st = kvi_error_set(err, KVSWS_E_PARAM_VALIDATION,
                           "Invalid endpoint: %s (a signaling URL must start with wss://)", shown);
        goto done;
    }
    const char *auth = url + 6;
    size_t auth_len = strcspn(auth, "/?#");
    const char *at = memchr(auth, '@', auth_len);
    const char *host = at ? at + 1 : auth;
    size_t host_len = auth_len - (size_t)(host - auth);
    const char *path = auth + auth_len;
    size_t path_len = strcspn(path, "#");
    if (host_len == 0 || bad_url_bytes(host, host_len) || bad_url_bytes(path, path_len)) {
        st = kvi_error_set(err, KVSWS_E_PARAM_VALIDATION,
                           "Invalid endpoint: %s (no host, or a space or control character in "
                           "the URL)",
                           shown);
        goto done;
    }
    int oom = kvi_buf_append(&authority, host, host_len) != 0 ||
              (path_len == 0 || path[0] != '/' ? kvi_buf_putc(&target, '/') : 0) != 0 ||
              kvi_buf_append(&target, path, path_len) != 0 ||
              kvi_buf_printf(&curl_url, "https://%s/", authority.data) != 0;
    if (oom) {
        st = kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory");
        goto done;
    }

    ws = calloc(1, sizeof *ws);
    if (!ws) {
        st = kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory");
        goto done;
    }
    pthread_mutex_init(&ws->send_lock, NULL);
    pthread_mutex_init(&ws->io_lock, NULL);
    ws->sock = CURL_SOCKET_BAD;
    kvi_ws_limits lim = {opts ? opts->max_message : 0, 0, 0, opts ? opts->max_frames_per_s : 0};
    kvi_ws_reader_init(&ws->rd, &lim);
    ws->cancel = opts ? opts->cancel_flag : NULL;
    if (kvi_curl_global_acquire(&ws->holds_global) != 0) {
        st = kvi_error_set(err, KVSWS_E_INTERNAL, "libcurl could not be initialised");
        goto done;
    }
    long connect_ms = opts && opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms
                                                            : KVI_HTTP_CONNECT_TIMEOUT_MS;
    long read_ms = opts && opts->read_timeout_ms > 0 ? opts->read_timeout_ms
                                                      : KVI_HTTP_READ_TIMEOUT_MS;
    long request_ms = opts && opts->request_timeout_ms > 0 ? opts->request_timeout_ms
                                                            : KVI_HTTP_REQUEST_TIMEOUT_MS;
    if (connect_ms > request_ms)
        connect_ms = request_ms;
    int64_t deadline = now_ms() + request_ms; /* the whole exchange, as an HTTPS call's */
    ws->curl = curl_easy_init();
    if (!ws->curl) {
        st = kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory creating a connection");
        goto done;
    }

    char *errbuf = ws->errbuf;
    errbuf[0] = '\0';
    CURL *e = ws->curl;
    CURLcode rc = kvi_curl_set_common(e, errbuf, opts ? opts->ca_bundle : NULL,
                                      opts ? opts->ca_store : NULL, connect_ms);
#define SET(opt, val)                                  \
    do {                                               \
        if (rc == CURLE_OK)                            \
            rc = curl_easy_setopt(e, opt, val);        \
    } while (0)
    /* curl only connects: it gets the host and port, never the presigned path and query. */
    SET(CURLOPT_URL, curl_url.data);
    SET(CURLOPT_PROTOCOLS_STR, "https");
    SET(CURLOPT_CONNECT_ONLY, 1L);
    SET(CURLOPT_TCP_NODELAY, 1L);
    if (ws->cancel) { /* libcurl asks at least once a second while it connects */
        SET(CURLOPT_XFERINFOFUNCTION, connect_progress);
        SET(CURLOPT_XFERINFODATA, ws);
        SET(CURLOPT_NOPROGRESS, 0L);
    }
#undef SET
    if (rc != CURLE_OK) {
        st = kvi_error_set(err, KVSWS_E_INTERNAL, "libcurl rejected an option for \"%s\"", shown);
        goto done;
    }
    rc = curl_easy_perform(e);
    if (rc != CURLE_OK) {
        st = connect_error(rc, shown, errbuf, err);
        goto done;
    }
    curl_socket_t sock = CURL_SOCKET_BAD;
    if (curl_easy_getinfo(e, CURLINFO_ACTIVESOCKET, &sock) != CURLE_OK ||
        sock == CURL_SOCKET_BAD) {
        st = kvi_error_set(err, KVSWS_E_TRANSPORT,
                           "libcurl gave no socket for endpoint URL: \"%s\"", shown);
        goto done;
    }
    ws->sock = sock;
    st = handshake(ws, authority.data, target.data, opts ? opts->user_agent : NULL, deadline,
                   read_ms, request_ms, shown, opts ? opts->refusal : NULL, err);
    if (st == KVSWS_OK)
        note_rx(ws);

done:
    if (st != KVSWS_OK && ws && cancelled(ws->cancel))
        st = kvi_error_set(err, KVSWS_E_CANCELLED, "The WebSocket connect was cancelled");
    if (ws)
        ws->cancel = NULL; /* the flag belongs to the caller's connect, not the connection */
    if (st != KVSWS_OK) {
        ws_free(ws);
        ws = NULL;
    } else {
        kvi_error_clear(err);
    }
    kvi_buf_free_secret(&target);
    kvi_buf_free(&authority);
    kvi_buf_free(&curl_url);
    free(shown);
    *out = ws;
    return st;
}

int kvi_ws_socket(const kvi_ws *ws) { return ws ? (int)ws->sock : -1; }

unsigned kvi_ws_failed_with(const kvi_ws *ws) { return ws ? ws->failed_with : 0; }

int64_t kvi_ws_idle_ms(const kvi_ws *ws)
{
    if (!ws)
        return 0;
    uint32_t last = __atomic_load_n(&ws->last_rx_ms, __ATOMIC_RELAXED);
    return (uint32_t)((uint32_t)now_ms() - last);
}

/* ---- receiving ---------------------------------------------------------------------------- */

/* Records why the reader stopped; read_message reports the same thing from then on. */
static int go_dead(kvi_ws *ws, kvsws_status st, const char *message, kvsws_error *err)
{
    free(ws->dead_message);
    ws->dead_message = kvi_strdup(message);
    ws->dead = 1;
    ws->dead_status = st;
    kvi_error_set(err, st, "%s", ws->dead_message ? ws->dead_message : "WebSocket closed");
    if (err)
        err->retryable = kvi_retry_is_retryable_transport(st);
    return -1;
}

static const char *close_code_name(unsigned code)
{
    switch (code) {
    case 1002: return "Protocol Error";
    case 1007: return "Invalid Payload Data";
    case 1008: return "Policy Violation";
    case 1009: return "Message Too Big";
    default: return "Internal Error";
    }
}

/* The reader's verdict: the server learns why (best effort), the caller reads it, without any
 * of the peer's bytes. */
static int protocol_error(kvi_ws *ws, const kvi_ws_output *o, kvsws_error *err)
{
    ws->failed_with = o->fail_code;
    send_close(ws, o->fail_code, CONTROL_SEND_MS);
    char code[32] = "";
    if (o->close_code)
        snprintf(code, sizeof code, " (code %u)", o->close_code);
    char m[360];
    snprintf(m, sizeof m, "WebSocket protocol error: %s%s; closed with %u %s", o->why, code,
             o->fail_code, close_code_name(o->fail_code));
    return go_dead(ws, KVSWS_E_TRANSPORT, m, err);
}

/* The server's close frame: echo its code (RFC 6455 5.5.1) and report it. */
static int peer_closed(kvi_ws *ws, const kvi_ws_output *o, kvsws_error *err)
{
    ws->got_close = 1;
    send_close(ws, o->close_code, CONTROL_SEND_MS);
    if (!o->close_code)
        return go_dead(ws, KVSWS_E_TRANSPORT, "WebSocket closed by the server (no status code)",
                       err);
    char m[200];
    snprintf(m, sizeof m, "WebSocket closed by the server (code %u: %s)", o->close_code,
             *o->close_reason ? o->close_reason : "no reason given");
    return go_dead(ws, KVSWS_E_TRANSPORT, m, err);
}

/* Answers the latest unanswered ping; while another thread sends, it waits for the next call.
 * 0 answered or deferred, -1 the connection broke. */
static int send_due_pong(kvi_ws *ws, kvsws_error *err)
{
    if (!ws->rd.pong_due)
        return 0;
    kvsws_error perr;
    memset(&perr, 0, sizeof perr);
    int rc = send_frame(ws, KVI_WS_PONG, ws->rd.pong, ws->rd.pong_len, CONTROL_SEND_MS, 0, &perr);
    if (rc == 0)
        ws->rd.pong_due = 0;
    if (rc < 0)
        go_dead(ws, KVSWS_E_TRANSPORT, kvsws_error_message(&perr), err);
    kvi_error_clear(&perr);
    return rc < 0 ? -1 : 0;
}

int kvi_ws_read_message(kvi_ws *ws, char **msg, size_t *len, kvsws_error *err)
{
    if (msg)
        *msg = NULL;
    if (len)
        *len = 0;
    if (!ws || !msg)
        return kvi_error_set(err, KVSWS_E_INTERNAL, "kvi_ws_read_message called without a socket"),
               -1;
    if (ws->dead) {
        kvi_error_set(err, ws->dead_status, "%s",
                      ws->dead_message ? ws->dead_message : "WebSocket closed");
        if (err)
            err->retryable = kvi_retry_is_retryable_transport(ws->dead_status);
        return -1;
    }
    unsigned frames = READ_FRAME_BUDGET;
    size_t taken = 0;
    char chunk[RECV_CHUNK];
    for (;;) {
        kvi_ws_output o;
        kvi_ws_result r = kvi_ws_reader_next(&ws->rd, now_ms(), &frames, &o);
        if (r == KVI_WS_FAILED)
            return protocol_error(ws, &o, err);
        if (r == KVI_WS_GOT_CLOSE)
            return peer_closed(ws, &o, err);
        int done = r == KVI_WS_GOT_MESSAGE ? 1
                   : r == KVI_WS_BUDGET_SPENT || taken >= READ_BYTE_BUDGET ? KVI_WS_READ_MORE
                                                                             : 0;
        size_t n = 0;
        CURLcode rc = CURLE_AGAIN;
        if (!done) {
            rc = locked_recv(ws, chunk, sizeof chunk, &n);
        }
        if (done || rc == CURLE_AGAIN) {
            /* One pong per call, for the latest ping: TLS may give us one frame per record. */
            if (send_due_pong(ws, err) != 0) {
                free(o.message);
                return -1;
            }
            if (done == 1) {
                *msg = o.message;
                if (len)
                    *len = o.len;
            }
            return done;
        }
        if (rc != CURLE_OK) {
            char m[200];
            snprintf(m, sizeof m, "WebSocket connection closed: %s", curl_easy_strerror(rc));
            return go_dead(ws, KVSWS_E_TRANSPORT, m, err);
        }
        if (n == 0)
            return go_dead(ws, KVSWS_E_TRANSPORT,
                           kvi_ws_reader_mid_message(&ws->rd)
                               ? "WebSocket connection closed by the server without a close "
                                 "frame (in the middle of a message)"
                               : "WebSocket connection closed by the server without a close "
                                 "frame",
                           err);
        note_rx(ws);
        taken += n;
        if (kvi_ws_reader_feed(&ws->rd, chunk, n) != 0)
            return kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory reading the WebSocket"),
                   -1;
    }
}

/* Reads and drops frames until the server's close frame, EOF, an error or the deadline. */
static void await_close(kvi_ws *ws, int64_t deadline)
{
    char chunk[RECV_CHUNK];
    for (;;) {
        kvi_ws_output o;
        kvi_ws_result r;
        do {
            unsigned frames = READ_FRAME_BUDGET;
            r = kvi_ws_reader_next(&ws->rd, now_ms(), &frames, &o);
            free(o.message);
            if (now_ms() >= deadline)
                return;
        } while (r == KVI_WS_GOT_MESSAGE || r == KVI_WS_BUDGET_SPENT);
        if (r != KVI_WS_NEED_MORE)
            return; /* the close came, or the stream broke */
        size_t n = 0;
        CURLcode rc = locked_recv(ws, chunk, sizeof chunk, &n);
        if (rc == CURLE_AGAIN) {
            if (!wait_socket(ws, POLLIN, deadline))
                return;
            continue;
        }
        if (rc != CURLE_OK || n == 0 || kvi_ws_reader_feed(&ws->rd, chunk, n) != 0)
            return;
    }
}

/* After we failed the connection: drops what arrives until the peer closes or the deadline, so
 * it can read our close frame (closing a socket with unread input resets the connection). */
static void linger(kvi_ws *ws, int64_t deadline)
{
    char chunk[RECV_CHUNK];
    for (;;) {
        size_t n = 0;
        CURLcode rc = locked_recv(ws, chunk, sizeof chunk, &n);
        if (rc == CURLE_AGAIN) {
            if (!wait_socket(ws, POLLIN, deadline))
                return;
        } else if (rc != CURLE_OK || n == 0 || now_ms() >= deadline) {
            return;
        }
    }
}

void kvi_ws_close(kvi_ws *ws, int timeout_ms)
{
    if (!ws)
        return;
    int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    if (!ws->dead && timeout_ms > 0 && send_close(ws, 1000, timeout_ms) == 0)
        await_close(ws, deadline);
    else if (ws->dead && ws->close_sent && !ws->got_close && timeout_ms > 0)
        linger(ws, deadline);
    ws_free(ws);
}
