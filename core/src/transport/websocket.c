/* SPDX-License-Identifier: Apache-2.0 */
/* websocket.c - an RFC 6455 client: libcurl connects, tls.c secures, this file speaks frames.
 *
 * libcurl (Debian's 7.88 has no WebSocket support) does DNS, the proxy (an HTTP CONNECT tunnel)
 * and TCP only, as an http:// CONNECT_ONLY transfer; we take its socket and free the handle at
 * once, so no libcurl state (nor the socketpair 7.88 keeps beside each handle) lives on with the
 * connection. tls.c runs TLS on that socket with OpenSSL (peer and host verified); ws_handshake.c
 * sends the HTTP/1.1 upgrade and checks the 101 answer; frames then go over ws_io.c.
 *
 * Threads: one reader (kvi_ws_read_message) and any number of senders. send_lock keeps each
 * frame whole on the wire; io_lock serialises every call into the TLS connection (one OpenSSL
 * object must not be entered by two threads at once). Lock order: send_lock, then io_lock;
 * nobody waits on the socket while holding io_lock.
 *
 * Polling: TLS may hold decrypted bytes that poll() on the socket does not signal, so a caller
 * must call kvi_ws_read_message until it returns 0 (TLS said "would block") before it polls
 * the socket again.
 */
#include "transport/websocket.h"

#include <curl/curl.h>
#include <errno.h>
#include <openssl/rand.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "base/error.h"
#include "base/retry.h"
#include "transport/curl_common.h"
#include "transport/tls.h"
#include "transport/ws_io.h"

/* A send that cannot make progress for this long leaves the connection broken. */
#define SEND_TIMEOUT_MS 5000
/* How long a frame the reader sends itself (a pong, a close reply, the close after a protocol
 * error) may hold it: a peer that does not read loses the connection, never the caller's time. */
#define CONTROL_SEND_MS 250
/* What one kvi_ws_read_message call handles at most before it returns (KVI_WS_READ_MORE), so
 * a flooding peer cannot keep the reading thread: frames, and bytes taken from the socket. */
#define READ_FRAME_BUDGET 256u
#define READ_BYTE_BUDGET ((size_t)256 << 10)

/* ---- small helpers ------------------------------------------------------------------------ */

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

/* ---- sending ------------------------------------------------------------------------------ */

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
        rc = kvi_ws_send_all(ws, frame.data, frame.len, kvi_ws_now_ms() + timeout_ms, &why);
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

/* ---- connect / close ---------------------------------------------------------------------- */

static void ws_free(kvi_ws *ws)
{
    if (!ws)
        return;
    kvi_tls_close(ws->tls);
    kvi_ws_reader_free(&ws->rd);
    free(ws->dead_message);
    pthread_mutex_destroy(&ws->send_lock);
    pthread_mutex_destroy(&ws->io_lock);
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
    return kvi_ws_cancelled(((const kvi_ws *)ws)->cancel); /* non-zero aborts the transfer */
}

/* libcurl closes its sockets through this: the ones it gave up on (a losing happy-eyeballs
 * attempt, a failed connect) close; the connected one, which it would close at cleanup, is ours. */
static int close_socket(void *keep, curl_socket_t sock)
{
    if (sock != *(const curl_socket_t *)keep)
        close(sock);
    return 0;
}

/* The authority's host without brackets or port, and whether it names a port. 0, -1 OOM. */
static int split_authority(const char *authority, kvi_buf *host, int *has_port)
{
    const char *bracket = authority[0] == '[' ? strchr(authority, ']') : NULL;
    const char *colon = strrchr(bracket ? bracket : authority, ':');
    *has_port = colon != NULL;
    if (bracket)
        return kvi_buf_append(host, authority + 1, (size_t)(bracket - authority - 1));
    return kvi_buf_append(host, authority,
                          colon ? (size_t)(colon - authority) : strlen(authority));
}

/* libcurl's part: DNS, the proxy, TCP, within connect_ms and the cancel flag. The connected,
 * non-blocking socket in *sock; the handle and all it kept are gone when this returns. */
static kvsws_status connect_tcp(kvi_ws *ws, const char *curl_url, const char *host,
                                long connect_ms, const char *shown, int *sock, kvsws_error *err)
{
    int holds_global = 0;
    if (kvi_curl_global_acquire(&holds_global) != 0)
        return kvi_error_set(err, KVSWS_E_INTERNAL, "libcurl could not be initialised");
    CURL *e = curl_easy_init();
    curl_socket_t keep = CURL_SOCKET_BAD;
    char errbuf[CURL_ERROR_SIZE] = "";
    kvsws_status st = KVSWS_OK;
    if (!e) {
        st = kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory creating a connection");
        goto done;
    }
    CURLcode rc = CURLE_OK;
#define SET(opt, val)                                  \
    do {                                               \
        if (rc == CURLE_OK)                            \
            rc = curl_easy_setopt(e, opt, val);        \
    } while (0)
    /* curl only connects: it gets the host and port, never the presigned path and query. */
    SET(CURLOPT_ERRORBUFFER, errbuf);
    SET(CURLOPT_URL, curl_url);
    SET(CURLOPT_PROTOCOLS_STR, "http");
    SET(CURLOPT_CONNECT_ONLY, 1L);
    SET(CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    /* No signals: timeouts must work in threads, and a library must not touch SIGALRM. */
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_TCP_NODELAY, 1L);
    SET(CURLOPT_TCP_KEEPALIVE, 1L);
    SET(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
    SET(CURLOPT_CLOSESOCKETFUNCTION, close_socket);
    SET(CURLOPT_CLOSESOCKETDATA, &keep);
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
    if ((st = kvi_curl_tunnel_proxy(e, host, err)) != KVSWS_OK)
        goto done;
    rc = curl_easy_perform(e);
    if (rc != CURLE_OK) {
        st = connect_error(rc, shown, errbuf, err);
        goto done;
    }
    if (curl_easy_getinfo(e, CURLINFO_ACTIVESOCKET, &keep) != CURLE_OK ||
        keep == CURL_SOCKET_BAD) {
        keep = CURL_SOCKET_BAD;
        st = kvi_error_set(err, KVSWS_E_TRANSPORT,
                           "libcurl gave no socket for endpoint URL: \"%s\"", shown);
    }
done:
    curl_easy_cleanup(e); /* closes every socket but keep */
    kvi_curl_global_release(holds_global);
    *sock = st == KVSWS_OK ? (int)keep : -1;
    return st;
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
    kvi_buf host_name = KVI_BUF_INIT;
    kvi_ca_store *own_trust = NULL;
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
    int has_port = 0;
    int oom = kvi_buf_append(&authority, host, host_len) != 0 ||
              (path_len == 0 || path[0] != '/' ? kvi_buf_putc(&target, '/') : 0) != 0 ||
              kvi_buf_append(&target, path, path_len) != 0 ||
              split_authority(authority.data, &host_name, &has_port) != 0 ||
              kvi_buf_printf(&curl_url, "http://%s%s/", authority.data,
                             has_port ? "" : ":443") != 0;
    if (oom) {
        st = kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory");
        goto done;
    }
    if (host_name.len == 0) {
        st = kvi_error_set(err, KVSWS_E_PARAM_VALIDATION, "Invalid endpoint: %s (no host)",
                           shown);
        goto done;
    }
    kvi_ca_store *trust = opts ? opts->ca_store : NULL;
    if (!trust && !(trust = own_trust = kvi_ca_store_new(opts ? opts->ca_bundle : NULL))) {
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
    ws->sock = -1;
    kvi_ws_limits lim = {opts ? opts->max_message : 0, 0, 0, opts ? opts->max_frames_per_s : 0};
    kvi_ws_reader_init(&ws->rd, &lim);
    ws->cancel = opts ? opts->cancel_flag : NULL;
    long connect_ms = opts && opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms
                                                            : KVI_HTTP_CONNECT_TIMEOUT_MS;
    long read_ms = opts && opts->read_timeout_ms > 0 ? opts->read_timeout_ms
                                                      : KVI_HTTP_READ_TIMEOUT_MS;
    long request_ms = opts && opts->request_timeout_ms > 0 ? opts->request_timeout_ms
                                                            : KVI_HTTP_REQUEST_TIMEOUT_MS;
    if (connect_ms > request_ms)
        connect_ms = request_ms;
    int64_t start = kvi_ws_now_ms();
    int64_t deadline = start + request_ms; /* the whole exchange, as an HTTPS call's */
    int sock = -1;
    st = connect_tcp(ws, curl_url.data, host_name.data, connect_ms, shown, &sock, err);
    if (st == KVSWS_OK) /* the connect timeout covers TCP and TLS, as libcurl's did */
        st = kvi_tls_connect(sock, trust, host_name.data, start + connect_ms, ws->cancel, shown,
                             &ws->tls, err);
    if (st == KVSWS_OK) {
        ws->sock = sock;
        st = kvi_ws_handshake(ws, authority.data, target.data, opts ? opts->user_agent : NULL,
                              deadline, read_ms, request_ms, shown, opts ? opts->refusal : NULL,
                              err);
    }
    if (st == KVSWS_OK)
        kvi_ws_note_rx(ws);

done:
    if (st != KVSWS_OK && ws && kvi_ws_cancelled(ws->cancel))
        st = kvi_error_set(err, KVSWS_E_CANCELLED, "The WebSocket connect was cancelled");
    if (ws)
        ws->cancel = NULL; /* the flag belongs to the caller's connect, not the connection */
    if (st != KVSWS_OK) {
        ws_free(ws);
        ws = NULL;
    } else {
        kvi_error_clear(err);
    }
    kvi_ca_store_free(own_trust); /* the connection holds its own reference to the context */
    kvi_buf_free_secret(&target);
    kvi_buf_free(&host_name);
    kvi_buf_free(&authority);
    kvi_buf_free(&curl_url);
    free(shown);
    *out = ws;
    return st;
}

int kvi_ws_socket(const kvi_ws *ws) { return ws ? ws->sock : -1; }

unsigned kvi_ws_failed_with(const kvi_ws *ws) { return ws ? ws->failed_with : 0; }

int64_t kvi_ws_idle_ms(const kvi_ws *ws)
{
    if (!ws)
        return 0;
    uint32_t last = __atomic_load_n(&ws->last_rx_ms, __ATOMIC_RELAXED);
    return (uint32_t)((uint32_t)kvi_ws_now_ms() - last);
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
    char chunk[KVI_WS_RECV_CHUNK];
    for (;;) {
        kvi_ws_output o;
        kvi_ws_result r = kvi_ws_reader_next(&ws->rd, kvi_ws_now_ms(), &frames, &o);
        if (r == KVI_WS_FAILED)
            return protocol_error(ws, &o, err);
        if (r == KVI_WS_GOT_CLOSE)
            return peer_closed(ws, &o, err);
        int done = r == KVI_WS_GOT_MESSAGE ? 1
                   : r == KVI_WS_BUDGET_SPENT || taken >= READ_BYTE_BUDGET ? KVI_WS_READ_MORE
                                                                             : 0;
        size_t n = 0;
        const char *why = NULL;
        kvi_tls_io io = KVI_TLS_WANT_READ;
        if (!done)
            io = kvi_ws_locked_recv(ws, chunk, sizeof chunk, &n, &why);
        if (done || io == KVI_TLS_WANT_READ || io == KVI_TLS_WANT_WRITE) {
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
        if (io == KVI_TLS_FAILED) {
            char m[260];
            snprintf(m, sizeof m, "WebSocket connection closed: %s", why);
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
        kvi_ws_note_rx(ws);
        taken += n;
        if (kvi_ws_reader_feed(&ws->rd, chunk, n) != 0)
            return kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory reading the WebSocket"),
                   -1;
    }
}

/* Reads and drops frames until the server's close frame, EOF, an error or the deadline. */
static void await_close(kvi_ws *ws, int64_t deadline)
{
    char chunk[KVI_WS_RECV_CHUNK];
    for (;;) {
        kvi_ws_output o;
        kvi_ws_result r;
        do {
            unsigned frames = READ_FRAME_BUDGET;
            r = kvi_ws_reader_next(&ws->rd, kvi_ws_now_ms(), &frames, &o);
            free(o.message);
            if (kvi_ws_now_ms() >= deadline)
                return;
        } while (r == KVI_WS_GOT_MESSAGE || r == KVI_WS_BUDGET_SPENT);
        if (r != KVI_WS_NEED_MORE)
            return; /* the close came, or the stream broke */
        size_t n = 0;
        const char *why = NULL;
        kvi_tls_io io = kvi_ws_locked_recv(ws, chunk, sizeof chunk, &n, &why);
        if (io == KVI_TLS_WANT_READ || io == KVI_TLS_WANT_WRITE) {
            if (!kvi_ws_wait_socket(ws, io == KVI_TLS_WANT_READ ? POLLIN : POLLOUT, deadline))
                return;
            continue;
        }
        if (io != KVI_TLS_DONE || n == 0 || kvi_ws_reader_feed(&ws->rd, chunk, n) != 0)
            return;
    }
}

/* After we failed the connection: drops what arrives until the peer closes or the deadline, so
 * it can read our close frame (closing a socket with unread input resets the connection). */
static void linger(kvi_ws *ws, int64_t deadline)
{
    char chunk[KVI_WS_RECV_CHUNK];
    for (;;) {
        size_t n = 0;
        const char *why = NULL;
        kvi_tls_io io = kvi_ws_locked_recv(ws, chunk, sizeof chunk, &n, &why);
        if (io == KVI_TLS_WANT_READ || io == KVI_TLS_WANT_WRITE) {
            if (!kvi_ws_wait_socket(ws, io == KVI_TLS_WANT_READ ? POLLIN : POLLOUT, deadline))
                return;
        } else if (io != KVI_TLS_DONE || n == 0 || kvi_ws_now_ms() >= deadline) {
            return;
        }
    }
}

void kvi_ws_close(kvi_ws *ws, int timeout_ms)
{
    if (!ws)
        return;
    int64_t deadline = kvi_ws_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    if (!ws->dead && timeout_ms > 0 && send_close(ws, 1000, timeout_ms) == 0)
        await_close(ws, deadline);
    else if (ws->dead && ws->close_sent && !ws->got_close && timeout_ms > 0)
        linger(ws, deadline);
    ws_free(ws);
}
