/* SPDX-License-Identifier: Apache-2.0 */
/* signaling.h - KVS signaling messages: what the service sends and what we send back. */
#ifndef KVSWS_SIGNALING_H
#define KVSWS_SIGNALING_H

#include <stddef.h>

#include "base/buf.h"

typedef enum kvi_sig_type {
    KVI_SIG_IGNORED = 0,       /* stray or unknown frame: not an error, just skipped */
    KVI_SIG_SDP_OFFER,
    KVI_SIG_SDP_ANSWER,
    KVI_SIG_ICE_CANDIDATE,
    KVI_SIG_GO_AWAY,
    KVI_SIG_RECONNECT_ICE_SERVER,
    KVI_SIG_STATUS_RESPONSE,
    KVI_SIG_REFUSED            /* breaks a rule (a NUL, bytes that are not UTF-8, a bad
                                  senderClientId): refused whole, *why says which */
} kvi_sig_type;

typedef struct kvi_sig_message {
    kvi_sig_type type;
    char *sender_client_id;  /* NULL when absent (the storage service's offer has none) */
    /* SDP_OFFER / SDP_ANSWER */
    char *sdp;
    /* ICE_CANDIDATE */
    char *candidate;
    char *sdp_mid;           /* NULL when absent */
    int sdp_mline_index;     /* -1 when absent */
    /* STATUS_RESPONSE */
    char *correlation_id;
    char *error_type;
    char *status_code;
    char *description;
} kvi_sig_message;

/* Decodes one received text message: the JSON envelope and the base64 JSON payload. Never
 * crashes on malformed input: garbage, a non-object, an unknown messageType or a payload that
 * does not decode gives KVI_SIG_IGNORED with *why set (for a debug log). A message that breaks a
 * rule gives KVI_SIG_REFUSED with *why set (for a warning): a NUL character in any string of
 * the envelope or the payload (raw or as \u0000, which would silently cut the string), bytes
 * that are not UTF-8, or a senderClientId that is not 1-256 characters of [a-zA-Z0-9_.-].
 * Nothing of an ignored or refused message is kept. Returns 0, or -1 OOM. This is the session's
 * whole view of a received message: fuzz it here. */
int kvi_sig_decode(const char *text, size_t len, kvi_sig_message *out, const char **why);
void kvi_sig_message_free(kvi_sig_message *m);

/* Encodes what we send. recipient may be NULL (the storage service's offer had no sender: then
 * the recipientClientId member is left out). correlation_id may be NULL. 0 ok, -1 OOM or a
 * payload over the service's 10 KB limit (*why set). */
int kvi_sig_encode_answer(kvi_buf *out, const char *sdp, const char *recipient,
                          const char *correlation_id, const char **why);
int kvi_sig_encode_candidate(kvi_buf *out, const char *candidate, const char *sdp_mid,
                             int sdp_mline_index, const char *recipient,
                             const char *correlation_id, const char **why);

/* Checks an SDP answer for what the storage service needs. From the master (viewer 0): an H.264
 * video m-line and an Opus audio m-line, both sending, neither rejected (port 0) nor inactive.
 * From a viewer (viewer 1; the service takes Opus audio from viewers, and no video): video, if
 * not rejected, receives H.264 and does not send; audio is optional and, if sent, Opus. 0 ok,
 * else -1 with a message in *why that says exactly what is wrong (static string). */
int kvi_sig_check_answer(const char *sdp, int viewer, const char **why);

/* Base64 (standard alphabet, padded). decode returns -1 on invalid input. */
int kvi_base64_encode(kvi_buf *out, const void *data, size_t len);
int kvi_base64_decode(kvi_buf *out, const char *text, size_t len);

#endif
