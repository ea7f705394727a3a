/* SPDX-License-Identifier: Apache-2.0 */
/* ws_io.c - a WebSocket connection's byte I/O: sends and receives on its TLS connection under its
 * I/O lock, waits on the socket with a deadline and the connect's cancel flag. */
#include "transport/ws_io.h"

#include <errno.h>
#include <poll.h>
#include <time.h>

int64_t kvi_ws_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Keeps the clock's low 32 bits: a 64-bit atomic needs libatomic on armel and ARMv6, a 32-bit one
 * nowhere. Their difference stays exact for idle times under 49 days. */
void kvi_ws_note_rx(kvi_ws *ws)
{
    __atomic_store_n(&ws->last_rx_ms, (uint32_t)kvi_ws_now_ms(), __ATOMIC_RELAXED);
}

int kvi_ws_cancelled(const int *flag) { return flag && __atomic_load_n(flag, __ATOMIC_SEQ_CST); }

/* Waits for the socket; 1 ready (or in error: the next call says which), 0 deadline passed or
 * the connect was kvi_ws_cancelled (checked every 100 ms). */
int kvi_ws_wait_socket(const kvi_ws *ws, short events, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - kvi_ws_now_ms();
        if (left <= 0 || kvi_ws_cancelled(ws->cancel))
            return 0;
        struct pollfd pfd = {ws->sock, events, 0};
        int n = poll(&pfd, 1, left > 100 ? 100 : (int)left);
        if (n > 0)
            return 1;
        if (n < 0 && errno != EINTR)
            return 1;
    }
}

/* Sends all bytes or fails by deadline; called with send_lock held (or before the connection
 * is shared). Retries after a would-block with the same pointer and length, as OpenSSL needs. */
int kvi_ws_send_all(kvi_ws *ws, const char *p, size_t left, int64_t deadline, const char **why)
{
    while (left > 0) {
        size_t n = 0;
        pthread_mutex_lock(&ws->io_lock);
        kvi_tls_io io = kvi_tls_write(ws->tls, p, left, &n, why);
        pthread_mutex_unlock(&ws->io_lock);
        if (io == KVI_TLS_DONE) {
            p += n;
            left -= n;
        } else if (io == KVI_TLS_FAILED) {
            return -1;
        } else if (!kvi_ws_wait_socket(ws, io == KVI_TLS_WANT_READ ? POLLIN : POLLOUT, deadline)) {
            *why = "timed out: the connection is not draining";
            return -1;
        }
    }
    return 0;
}

kvi_tls_io kvi_ws_locked_recv(kvi_ws *ws, char *chunk, size_t size, size_t *n, const char **why)
{
    pthread_mutex_lock(&ws->io_lock);
    kvi_tls_io io = kvi_tls_read(ws->tls, chunk, size, n, why);
    pthread_mutex_unlock(&ws->io_lock);
    return io;
}

/* Reads more of the connection into buf; 1 got bytes, 0 EOF, -1 error (why), -2 deadline. */
int kvi_ws_recv_some(kvi_ws *ws, kvi_buf *buf, int64_t deadline, const char **why)
{
    char chunk[KVI_WS_RECV_CHUNK];
    for (;;) {
        size_t n = 0;
        kvi_tls_io io = kvi_ws_locked_recv(ws, chunk, sizeof chunk, &n, why);
        if (io == KVI_TLS_DONE) {
            if (n == 0)
                return 0;
            if (kvi_buf_append(buf, chunk, n) != 0) {
                *why = "out of memory";
                return -1;
            }
            return 1;
        }
        if (io == KVI_TLS_FAILED)
            return -1;
        if (!kvi_ws_wait_socket(ws, io == KVI_TLS_WANT_WRITE ? POLLOUT : POLLIN, deadline))
            return -2;
    }
}
