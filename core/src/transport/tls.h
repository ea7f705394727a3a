/* SPDX-License-Identifier: Apache-2.0 */
/* tls.h - TLS with OpenSSL on a connected socket we own (the WebSocket's): the verified
 * handshake, non-blocking reads and writes, the close. */
#ifndef KVSWS_TLS_H
#define KVSWS_TLS_H

#include <stddef.h>
#include <stdint.h>

#include "kvsws.h"
#include "transport/curl_common.h"

typedef struct kvi_tls kvi_tls;

/* What a read or a write did. WANT_READ / WANT_WRITE: nothing now, call again (with the same
 * arguments for a write) once the socket is readable / writable. */
typedef enum kvi_tls_io {
    KVI_TLS_DONE = 0,
    KVI_TLS_WANT_READ,
    KVI_TLS_WANT_WRITE,
    KVI_TLS_FAILED,
} kvi_tls_io;

/* Secures sock (connected, non-blocking) for host (a name or an IP literal, without brackets
 * or port): TLS 1.2 or later, SNI for names, the peer's chain verified against trust and its
 * name or address checked, ALPN http/1.1. Waits by poll() until deadline (CLOCK_MONOTONIC ms,
 * KVSWS_E_CONNECT_TIMEOUT) or until *cancel becomes non-zero (KVSWS_E_CANCELLED, checked
 * every 100 ms). A certificate refused is KVSWS_E_TLS, worded as libcurl's ("SSL validation
 * failed for SHOWN SSL certificate problem: ..."). The socket is taken either way: on failure it
 * is closed. */
kvsws_status kvi_tls_connect(int sock, kvi_ca_store *trust, const char *host, int64_t deadline,
                             const int *cancel, const char *shown, kvi_tls **out,
                             kvsws_error *err);

/* Reads up to size bytes into buf: DONE with *n > 0, or *n == 0 at the end of the stream (the
 * peer's close_notify or a bare TCP close: the WebSocket's own framing tells them apart);
 * FAILED with *why (static text or the connection's own buffer, valid until the next call).
 * Bytes may wait decrypted inside OpenSSL where poll() cannot see them: read until WANT_READ
 * before polling again. */
kvi_tls_io kvi_tls_read(kvi_tls *t, void *buf, size_t size, size_t *n, const char **why);

/* Writes part or all of len bytes (*n says how many). After WANT_*, retry with the same bytes. */
kvi_tls_io kvi_tls_write(kvi_tls *t, const void *buf, size_t len, size_t *n, const char **why);

/* Sends close_notify (without waiting), closes the socket and frees; NULL is fine. */
void kvi_tls_close(kvi_tls *t);

#endif
