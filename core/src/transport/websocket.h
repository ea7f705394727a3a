/* SPDX-License-Identifier: Apache-2.0 */
/* websocket.h - an RFC 6455 client over a libcurl CONNECT_ONLY connection (TLS verified). */
#ifndef KVSWS_WEBSOCKET_H
#define KVSWS_WEBSOCKET_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "kvsws.h"
#include "transport/ws_handshake.h" /* the connection type, the upgrade and its refusal */
#include "transport/ws_reader.h"    /* the frame types, the parser and the receive rules */

/* --- The frame codec: pure functions on buffers, no I/O (fuzzed and unit-tested alone). --- */

/* Appends one client frame (always masked, with mask_key) to out. 0 ok, -1 OOM. */
int kvi_ws_encode_frame(kvi_buf *out, kvi_ws_opcode opcode, int fin, const void *payload,
                        size_t len, const unsigned char mask_key[4]);

/* --- The connection. --- */

typedef struct kvi_ws_options {
    const char *ca_bundle;     /* NULL: the system store */
    struct kvi_ca_store *ca_store; /* the client's CA store: used instead of ca_bundle */
    long connect_timeout_ms;
    const char *user_agent;
    uint64_t max_message;      /* reassembled message cap, e.g. 1 MiB */
    const int *cancel_flag;    /* NULL, or read atomically: 1 stops a connect within ~100 ms
                                  (KVSWS_E_CANCELLED) */
    kvi_ws_refusal *refusal;   /* NULL, or filled when the upgrade is answered with an error */
    long read_timeout_ms;      /* the upgrade answer silent this long: KVSWS_E_READ_TIMEOUT */
    long request_timeout_ms;   /* connect + upgrade in all; 0 (as the two above): the defaults */
    unsigned max_frames_per_s; /* the flood limit (see kvi_ws_limits); 0: none */
} kvi_ws_options;

/* Connects (DNS, proxy, TCP, TLS with verification, then the HTTP/1.1 upgrade with
 * Sec-WebSocket-Key and the Sec-WebSocket-Accept check). url is wss:// (presigned).
 * Blocking, bounded as an HTTPS exchange: connect_timeout_ms for TCP + TLS, read_timeout_ms of
 * silence while the answer comes, request_timeout_ms for all of it (a trickled answer ends
 * there, KVSWS_E_READ_TIMEOUT). On success the socket is non-blocking. Transport
 * failures map like HTTP's (KVSWS_E_CONNECT, _CONNECT_TIMEOUT, _TLS, _TRANSPORT); an upgrade
 * answered with an HTTP error status reports it (status, body parsed as an AWS error when it is
 * one, e.g. 403 on a bad signature). Messages never include the URL's query (it holds a token). */
kvsws_status kvi_ws_connect(const char *url, const kvi_ws_options *opts, kvi_ws **out,
                            kvsws_error *err);

/* The socket to poll for reading. */
int kvi_ws_socket(const kvi_ws *ws);

/* Reads what the socket has (non-blocking) and returns the next complete TEXT message, if any:
 * 1 = *msg filled (caller frees with free()), 0 = nothing complete yet (would block),
 * KVI_WS_READ_MORE = this call's work budget (256 frames, 256 KiB) is spent and more may be
 * buffered: do other work, then call again without waiting for the socket, -1 = the connection
 * is closed or broken (err says why: a close frame with code/reason, EOF, a protocol error or a
 * broken limit, after sending the matching close code). The latest ping is answered with a pong
 * (RFC 6455 5.5.3), pongs and binary messages are consumed. TLS may hold decrypted bytes that
 * poll() does not signal: call again until it returns 0 before polling the socket. One reading
 * thread at a time. */
#define KVI_WS_READ_MORE 2
int kvi_ws_read_message(kvi_ws *ws, char **msg, size_t *len, kvsws_error *err);

/* The close code we failed the connection with (1002, 1007, 1008, 1009, 1011) after the server
 * broke RFC 6455 or a limit; 0 otherwise. */
unsigned kvi_ws_failed_with(const kvi_ws *ws);

/* Sends a text message / a ping. Thread-safe (a lock per connection); may block briefly
 * while the socket drains. 0 ok, -1 with err. */
int kvi_ws_send_text(kvi_ws *ws, const char *text, size_t len, kvsws_error *err);
int kvi_ws_send_ping(kvi_ws *ws, kvsws_error *err);

/* Milliseconds since the last byte was received (for keepalive decisions). */
int64_t kvi_ws_idle_ms(const kvi_ws *ws);

/* Sends a close frame (1000) and waits up to timeout_ms for the server's close, then frees.
 * After the reader failed the connection (its close frame is out), it waits up to timeout_ms
 * for the server to hang up instead, so the server can read why. */
void kvi_ws_close(kvi_ws *ws, int timeout_ms);

#endif
