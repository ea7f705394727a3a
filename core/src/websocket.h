/* SPDX-License-Identifier: Apache-2.0 */
/* websocket.h - an RFC 6455 client over a libcurl CONNECT_ONLY connection (TLS verified). */
#ifndef KVSWS_WEBSOCKET_H
#define KVSWS_WEBSOCKET_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "kvsws.h"

/* --- The frame codec: pure functions on buffers, no I/O (fuzzed and unit-tested alone). --- */

typedef enum kvi_ws_opcode {
    KVI_WS_CONTINUATION = 0x0,
    KVI_WS_TEXT = 0x1,
    KVI_WS_BINARY = 0x2,
    KVI_WS_CLOSE = 0x8,
    KVI_WS_PING = 0x9,
    KVI_WS_PONG = 0xA
} kvi_ws_opcode;

typedef struct kvi_ws_frame {
    int fin;
    kvi_ws_opcode opcode;
    int masked;
    uint64_t payload_len;
    const unsigned char *payload; /* points into the input buffer; unmasked in place */
    size_t header_len;            /* bytes of header; the frame is header_len + payload_len */
} kvi_ws_frame;

/* Parses one frame from data[0..len). Returns 1 and fills frame when a whole frame is there,
 * 0 when more bytes are needed, -1 on a protocol error (*why set: reserved bits, bad opcode,
 * fragmented or oversized control frame, payload over max_payload, a 64-bit length with its top
 * bit set). A masked frame parses (frame->masked = 1) and is unmasked in place (so data is not
 * const); the connection refuses masked server frames itself. */
int kvi_ws_parse_frame(unsigned char *data, size_t len, uint64_t max_payload,
                       kvi_ws_frame *frame, const char **why);

/* Appends one client frame (always masked, with mask_key) to out. 0 ok, -1 OOM. */
int kvi_ws_encode_frame(kvi_buf *out, kvi_ws_opcode opcode, int fin, const void *payload,
                        size_t len, const unsigned char mask_key[4]);

/* The Sec-WebSocket-Accept value for a key (base64 of SHA-1 of key + GUID) into out[29]. */
void kvi_ws_accept_for_key(const char *key, char out[29]);

/* --- The connection. --- */

typedef struct kvi_ws kvi_ws;

/* What a refused upgrade said about the clock, so the caller can correct it and presign again. */
typedef struct kvi_ws_refusal {
    int clock_skew; /* 1: the server said the signature's time is off ("Signature expired") */
    char date[64];  /* the answer's Date header, "" when absent */
} kvi_ws_refusal;

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
 * -1 = the connection is closed or broken (err says why: a close frame with code/reason, EOF,
 * protocol error). Pings are answered with pongs and pongs are consumed inside. Binary
 * messages are ignored. Call again until it returns 0 before polling the socket again: TLS may
 * hold decrypted bytes that poll() does not signal. One reading thread at a time. */
int kvi_ws_read_message(kvi_ws *ws, char **msg, size_t *len, kvsws_error *err);

/* Sends a text message / a ping. Thread-safe (a lock per connection); may block briefly
 * while the socket drains. 0 ok, -1 with err. */
int kvi_ws_send_text(kvi_ws *ws, const char *text, size_t len, kvsws_error *err);
int kvi_ws_send_ping(kvi_ws *ws, kvsws_error *err);

/* Milliseconds since the last byte was received (for keepalive decisions). */
int64_t kvi_ws_idle_ms(const kvi_ws *ws);

/* Sends a close frame (1000) and waits up to timeout_ms for the server's close, then frees. */
void kvi_ws_close(kvi_ws *ws, int timeout_ms);

#endif
