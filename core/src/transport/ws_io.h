/* SPDX-License-Identifier: Apache-2.0 */
/* ws_io.h - a WebSocket connection's state and byte I/O, shared by the upgrade (ws_handshake.c)
 * and the connection (websocket.c). Nothing above transport/ includes it. */
#ifndef KVSWS_WS_IO_H
#define KVSWS_WS_IO_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "kvsws.h"
#include "transport/tls.h"
#include "transport/ws_reader.h"

#define KVI_WS_RECV_CHUNK 16384

typedef struct kvi_ws kvi_ws;

struct kvi_ws {
    kvi_tls *tls; /* owns the socket */
    int sock;
    pthread_mutex_t send_lock; /* one frame at a time on the wire; guards close_sent, broken */
    pthread_mutex_t io_lock;   /* every call into tls (one OpenSSL object, one thread at once) */
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
};

/* The monotonic clock in milliseconds. */
int64_t kvi_ws_now_ms(void);
/* Records that bytes arrived (for kvi_ws_idle_ms). */
void kvi_ws_note_rx(kvi_ws *ws);
/* 1 when the connect's cancel flag is set. */
int kvi_ws_cancelled(const int *flag);
/* Waits for the socket; 1 ready (or in error: the next call says which), 0 deadline passed or
 * the connect was cancelled (checked every 100 ms). */
int kvi_ws_wait_socket(const kvi_ws *ws, short events, int64_t deadline);
/* Sends all bytes or fails by deadline (why set); called with send_lock held or before the
 * connection is shared. 0 / -1. */
int kvi_ws_send_all(kvi_ws *ws, const char *p, size_t left, int64_t deadline, const char **why);
/* kvi_tls_read under the I/O lock (a sender may be writing on the same connection). */
kvi_tls_io kvi_ws_locked_recv(kvi_ws *ws, char *chunk, size_t size, size_t *n, const char **why);
/* Reads more of the connection into buf; 1 got bytes, 0 EOF, -1 error (why), -2 deadline. */
int kvi_ws_recv_some(kvi_ws *ws, kvi_buf *buf, int64_t deadline, const char **why);

#endif
