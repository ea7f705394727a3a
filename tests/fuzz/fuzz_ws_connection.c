/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_ws_connection.c - libFuzzer target for a whole WebSocket connection as the server plays
 * it: the HTTP upgrade answer (headers, error status and its body, plain or chunked, read as an
 * AWS error), then the frame stream (fragments reassembled, pings answered, pongs and close
 * frames interleaved) through kvi_ws_connect, kvi_ws_read_message and kvi_ws_close.
 *
 * The network is this file: it defines the libcurl calls websocket.c makes to connect
 * (curl_easy_perform, curl_easy_getinfo), which take precedence over libcurl's, and the TLS
 * connection's calls (transport/tls.h, so tls.c stays out of the link), so the real code runs
 * unchanged on bytes from the input.
 * Input: byte 0 shapes the reads (chunk size, "would block" in between, silence or EOF at the
 * end), byte 1 the message size limit, the rest is what the server sends; "@@" in it stands for
 * the right Sec-WebSocket-Accept value. Build: see README.md. */
#include <curl/curl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/buf.h"
#include "kvsws.h"
#include "transport/tls.h"
#include "transport/websocket.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The presigned query must never reach a message. */
#define TOKEN "Zx9TokenNeverShown4Q"
#define URL "wss://fuzz.example.com/v1?X-Amz-Security-Token=" TOKEN "&X-Amz-Signature=5ig"

static struct {
    int sock[2];           /* websocket.c polls sock[0]: always readable and writable */
    const uint8_t *input;  /* the server's bytes as given, "@@" not yet replaced */
    size_t input_len;
    kvi_buf stream;        /* the server's bytes, built at the first read */
    size_t off;
    unsigned char shape;
    unsigned reads;
    int connected;         /* after kvi_ws_connect: silence may be "would block" */
    kvi_buf sent;          /* everything the client sent */
} net;

CURLcode curl_easy_perform(CURL *curl)
{
    (void)curl;
    return CURLE_OK;
}

/* In parentheses: with gcc, curl.h makes the name a type-checking macro. */
CURLcode(curl_easy_getinfo)(CURL *curl, CURLINFO info, ...)
{
    (void)curl;
    va_list ap;
    va_start(ap, info);
    CURLcode rc = CURLE_OK;
    if (info == CURLINFO_ACTIVESOCKET)
        *va_arg(ap, curl_socket_t *) = net.sock[0];
    else if (info == CURLINFO_CAINFO || info == CURLINFO_CAPATH)
        *va_arg(ap, char **) = NULL;
    else
        rc = CURLE_UNKNOWN_OPTION;
    va_end(ap);
    return rc;
}

/* The connection is this file's: any non-NULL handle does, and the socket stays open. */
kvsws_status kvi_tls_connect(int sock, kvi_ca_store *trust, const char *host, int64_t deadline,
                             const int *cancel, const char *shown, kvi_tls **out,
                             kvsws_error *err)
{
    (void)sock, (void)trust, (void)host, (void)deadline, (void)cancel, (void)shown, (void)err;
    *out = (kvi_tls *)&net;
    return KVSWS_OK;
}

void kvi_tls_close(kvi_tls *t) { (void)t; }

kvi_tls_io kvi_tls_write(kvi_tls *t, const void *buffer, size_t buflen, size_t *n,
                         const char **why)
{
    (void)t;
    *n = 0;
    /* Now and then the socket is full, or takes part of the bytes. */
    if ((net.shape & 0x40) && (++net.reads & 3) == 0)
        return KVI_TLS_WANT_WRITE;
    size_t take = (net.shape & 0x20) && buflen > 7 ? buflen / 2 : buflen;
    if (kvi_buf_append(&net.sent, buffer, take) != 0) {
        *why = "out of memory";
        return KVI_TLS_FAILED;
    }
    *n = take;
    return KVI_TLS_DONE;
}

/* The upgrade request was sent: the server's bytes, with "@@" as the key's accept value. */
static void build_stream(void)
{
    char accept[29] = "";
    const char *k = memmem(net.sent.data, net.sent.len, "Sec-WebSocket-Key: ", 19);
    if (k) {
        char key[25];
        memcpy(key, k + 19, 24);
        key[24] = '\0';
        kvi_ws_accept_for_key(key, accept);
    }
    for (size_t i = 0; i < net.input_len; i++) {
        if (i + 1 < net.input_len && net.input[i] == '@' && net.input[i + 1] == '@') {
            kvi_buf_puts(&net.stream, accept);
            i++;
        } else {
            kvi_buf_putc(&net.stream, (char)net.input[i]);
        }
    }
}

kvi_tls_io kvi_tls_read(kvi_tls *t, void *buffer, size_t buflen, size_t *n, const char **why)
{
    (void)t, (void)why;
    *n = 0;
    if (!net.stream.data)
        build_stream();
    if ((net.shape & 0x40) && (++net.reads & 1) == 0)
        return KVI_TLS_WANT_READ;
    if (net.off == net.stream.len)
        /* The end: EOF, or (once connected) a server that stays silent. */
        return (net.shape & 0x80) && net.connected ? KVI_TLS_WANT_READ : KVI_TLS_DONE;
    size_t chunk = (net.shape & 0x1f) ? (size_t)(net.shape & 0x1f) * 3 - 2 : buflen;
    size_t left = net.stream.len - net.off;
    size_t take = chunk < left ? chunk : left;
    if (take > buflen)
        take = buflen;
    memcpy(buffer, net.stream.data + net.off, take);
    net.off += take;
    *n = take;
    return KVI_TLS_DONE;
}

/* Every frame the client sent after the upgrade request: masked, whole, and nothing after a
 * close frame; a close frame carries no code or a code a peer may send. */
static void check_sent(size_t request_len)
{
    size_t off = request_len;
    int closed = 0;
    while (off < net.sent.len) {
        if (closed)
            abort();
        kvi_ws_frame f;
        const char *why = NULL;
        if (kvi_ws_parse_frame((unsigned char *)net.sent.data + off, net.sent.len - off,
                               UINT64_MAX, &f, &why) != 1 ||
            !f.masked || !f.fin)
            abort();
        if (f.opcode == KVI_WS_CLOSE) {
            closed = 1;
            if (f.payload_len == 1)
                abort();
            if (f.payload_len >= 2) {
                unsigned code = ((unsigned)f.payload[0] << 8) | f.payload[1];
                if (code < 1000 || code == 1004 || code == 1005 || code == 1006 ||
                    code == 1015 || (code > 1015 && code < 3000) || code > 4999)
                    abort();
            }
        } else if (f.opcode != KVI_WS_PONG && f.opcode != KVI_WS_PING &&
                   f.opcode != KVI_WS_TEXT) {
            abort();
        }
        off += f.header_len + (size_t)f.payload_len;
    }
}

static void check_error(const kvsws_error *err)
{
    const char *m = kvsws_error_message(err);
    if (kvsws_error_status(err) == KVSWS_OK || !m || !*m)
        abort();
    /* The query holds a token: no message shows it, unless the server itself sent it back. */
    if (strstr(m, TOKEN) && !memmem(net.input, net.input_len, TOKEN, strlen(TOKEN)))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    if (!net.sock[0] && socketpair(AF_UNIX, SOCK_STREAM, 0, net.sock) == 0) {
        /* One byte that is never read keeps the socket readable for poll(). */
        if (write(net.sock[1], "x", 1) != 1)
            abort();
    }
    net.shape = data[0];
    net.input = data + 2;
    net.input_len = size - 2;
    net.off = 0;
    net.reads = 0;
    net.connected = 0;
    kvi_buf_free(&net.stream);
    kvi_buf_free(&net.sent);

    kvi_ws_options opts;
    memset(&opts, 0, sizeof opts);
    opts.connect_timeout_ms = 1000;
    opts.max_message = 16 + (uint64_t)data[1] * 64;
    kvi_ws_refusal refusal;
    memset(&refusal, 0, sizeof refusal);
    opts.refusal = &refusal;
    kvsws_error *err = kvsws_error_new();
    kvi_ws *ws = NULL;
    kvsws_status st = kvi_ws_connect(URL, &opts, &ws, err);
    size_t request_len = net.sent.len;
    if (st != KVSWS_OK) {
        if (ws)
            abort();
        check_error(err);
        goto done;
    }
    net.connected = 1;
    static const char request_line[] = "GET /v1?X-Amz-Security-Token=" TOKEN;
    const char *req = kvi_buf_str(&net.sent);
    if (strncmp(req, request_line, sizeof request_line - 1) != 0 || !strstr(req, "\r\n\r\n"))
        abort();
    for (int i = 0; i < 100000; i++) {
        char *msg = NULL;
        size_t len = 0;
        int r = kvi_ws_read_message(ws, &msg, &len, err);
        if (r == 1) {
            if (!msg || msg[len] != '\0' || len > opts.max_message)
                abort();
            free(msg);
            continue;
        }
        if (msg)
            abort();
        if (r == 0) {
            if (net.off == net.stream.len && (net.shape & 0x80))
                break; /* the server went silent */
            continue;
        }
        check_error(err);
        /* Once broken, it stays broken with the same message. */
        char *again = NULL;
        kvsws_error *err2 = kvsws_error_new();
        if (kvi_ws_read_message(ws, &again, NULL, err2) != -1 || again ||
            strcmp(kvsws_error_message(err2), kvsws_error_message(err)) != 0)
            abort();
        kvsws_error_free(err2);
        break;
    }
    kvi_ws_close(ws, (net.shape & 0x80) ? 0 : 100);
    check_sent(request_len);
done:
    kvsws_error_free(err);
    kvi_buf_free(&net.stream);
    kvi_buf_free(&net.sent);
    return 0;
}

/* With -DKVSWS_FUZZ_STANDALONE: a main that replays files, for builds without libFuzzer. */
#include "standalone_main.h"
