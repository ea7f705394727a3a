/* SPDX-License-Identifier: Apache-2.0 */
/* ws_handshake.h - the WebSocket upgrade: RFC 6455's opening handshake over a connected handle. */
#ifndef KVSWS_WS_HANDSHAKE_H
#define KVSWS_WS_HANDSHAKE_H

#include <stdint.h>

#include "kvsws.h"
#include "transport/ws_io.h"

/* The Sec-WebSocket-Accept value for a key (base64 of SHA-1 of key + GUID) into out[29]. */
void kvi_ws_accept_for_key(const char *key, char out[29]);

/* What a refused upgrade said about the clock, so the caller can correct it and presign again. */
typedef struct kvi_ws_refusal {
    int clock_skew; /* 1: the server said the signature's time is off ("Signature expired") */
    char date[64];  /* the answer's Date header, "" when absent */
} kvi_ws_refusal;

/* Sends the upgrade request for target on authority and reads the answer: KVSWS_OK on a valid
 * 101 (bytes after it are fed to the frame reader); else the error (an HTTP error answer parsed
 * as AWS wrote it, with refusal filled when asked for). deadline bounds it all, read_ms the
 * silence, request_ms is reported in timeout messages; shown is the URL without its query. */
kvsws_status kvi_ws_handshake(kvi_ws *ws, const char *authority, const char *target,
                              const char *user_agent, int64_t deadline, long read_ms,
                              long request_ms, const char *shown, kvi_ws_refusal *refusal,
                              kvsws_error *err);

#endif
