/* SPDX-License-Identifier: Apache-2.0 */
/* send.c - what a session sends: the answer and candidates (candidates held until the
 * answer is out), addressed and numbered, the correlation ids remembered. */
#include "session/send.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/error.h"
#include "session/session_stats.h"
#include "session/signaling.h"
#include "session/state.h"
#include "transport/websocket.h"

void kvi_send_drop_held_locked(kvsws_session *s)
{
    for (size_t i = 0; i < s->held_count; i++)
        free(s->held[i]);
    s->held_count = 0;
}

/* What this session sent with that correlation id ("SDP_ANSWER", "ICE_CANDIDATE"), or NULL. */
const char *kvi_send_sent_action(kvsws_session *s, const char *correlation_id)
{
    const char *action = NULL;
    pthread_mutex_lock(&s->send_lock);
    for (size_t i = 0; correlation_id && i < SENT_IDS && !action; i++)
        if (s->sent[i].action && strcmp(s->sent[i].id, correlation_id) == 0)
            action = s->sent[i].action;
    pthread_mutex_unlock(&s->send_lock);
    return action;
}

/* Under send_lock. */
static kvsws_status send_text_locked(kvsws_session *s, const char *text, size_t len,
                                     kvsws_error *err)
{
    if (!s->ws)
        return kvi_error_set(err, KVSWS_E_TRANSPORT,
                             "The signaling WebSocket is not connected (state %s): send after "
                             "the next offer",
                             kvsws_session_state_name(s->state));
    if (kvi_ws_send_text(s->ws, text, len, err) != 0)
        return kvsws_error_status(err) ? kvsws_error_status(err) : KVSWS_E_TRANSPORT;
    kvi_stats_message_out(&s->stats, len);
    return KVSWS_OK;
}

/* Under send_lock: the candidates that waited for the answer, in the order they were given. */
static void flush_held_locked(kvsws_session *s)
{
    for (size_t i = 0; i < s->held_count; i++) {
        if (send_text_locked(s, s->held[i], strlen(s->held[i]), NULL) == KVSWS_OK)
            kvi_stats_count(&s->stats, KVI_STAT_CANDIDATES_SENT);
        else
            kvi_log(s->client, KVSWS_LOG_WARN, "a candidate held for the answer was not sent");
    }
    kvi_send_drop_held_locked(s);
}

/* Sends the answer, then the candidates that waited for it; or holds a candidate until the
 * answer is out. Frees msg. */
static kvsws_status send_encoded(kvsws_session *s, int is_answer, int encode_failed,
                                 const char *what, const char *why, kvi_buf *msg,
                                 kvsws_error *err)
{
    if (encode_failed) {
        kvi_buf_free(msg);
        return kvi_error_set(err, KVSWS_E_PARAM_VALIDATION, "%s: %s", what,
                             why ? why : "cannot encode it");
    }
    kvsws_status st = KVSWS_OK;
    pthread_mutex_lock(&s->send_lock);
    if (is_answer || !s->awaiting_answer || !s->ws) {
        st = send_text_locked(s, kvi_buf_str(msg), msg->len, err);
        if (st == KVSWS_OK)
            kvi_stats_count(&s->stats, is_answer ? KVI_STAT_ANSWERS_SENT
                                                 : KVI_STAT_CANDIDATES_SENT);
        if (st == KVSWS_OK && is_answer) {
            s->awaiting_answer = 0;
            flush_held_locked(s);
        }
    } else if (s->held_count < MAX_HELD_CANDIDATES) {
        s->held[s->held_count++] = kvi_buf_detach(msg); /* a string: sent with strlen */
    } else {
        st = kvi_error_set(err, KVSWS_E_PARAM_VALIDATION,
                           "%d ICE candidates already wait for the SDP answer: send the answer "
                           "first",
                           MAX_HELD_CANDIDATES);
    }
    pthread_mutex_unlock(&s->send_lock);
    kvi_buf_free(msg);
    if (st == KVSWS_E_TRANSPORT)
        kvi_session_wake_up(s); /* let the reader notice the broken socket */
    return st;
}

/* The explicit recipient, else the last offer's sender (NULL when it had none). A viewer's
 * messages always go to the channel's storage session: they name no recipient. */
static char *recipient_for(kvsws_session *s, const char *recipient)
{
    if (s->role == KVSWS_ROLE_VIEWER)
        return NULL;
    if (recipient && *recipient)
        return kvi_strdup(recipient);
    pthread_mutex_lock(&s->send_lock);
    char *r = kvi_strdup(s->last_sender);
    pthread_mutex_unlock(&s->send_lock);
    return r;
}

/* A new correlation id, remembered with what it is sent with for the STATUS_RESPONSE. */
static void next_correlation_id(kvsws_session *s, const char *action, char out[32])
{
    unsigned long n = __atomic_add_fetch(&s->correlation, 1, __ATOMIC_SEQ_CST);
    snprintf(out, 32, "kvsws-%lu", n);
    pthread_mutex_lock(&s->send_lock);
    memcpy(s->sent[n % SENT_IDS].id, out, 32);
    s->sent[n % SENT_IDS].action = action;
    pthread_mutex_unlock(&s->send_lock);
}

/* A viewer names no recipient (the JS SDK refuses one): say so before sending. */
static kvsws_status check_recipient(const kvsws_session *s, const char *recipient,
                                    kvsws_error *err)
{
    if (s->role == KVSWS_ROLE_VIEWER && recipient && *recipient)
        return kvi_error_set(err, KVSWS_E_PARAM_VALIDATION,
                             "Invalid parameter recipient: a VIEWER's answer and candidates go to "
                             "the storage session and name no recipient");
    return KVSWS_OK;
}

kvsws_status kvsws_session_send_answer(kvsws_session *s, const char *sdp, const char *recipient,
                                       kvsws_error *err)
{
    kvi_error_clear(err);
    if (!s || !sdp || !*sdp)
        return kvi_error_set(err, KVSWS_E_PARAM_VALIDATION, "Missing required parameter: sdp");
    const char *why = NULL;
    if (s->check_answer && kvi_sig_check_answer(sdp, s->role == KVSWS_ROLE_VIEWER, &why) != 0)
        return kvi_error_set(err, KVSWS_E_PARAM_VALIDATION, "Invalid SDP answer: %s", why);
    if (check_recipient(s, recipient, err))
        return KVSWS_E_PARAM_VALIDATION;
    char *to = recipient_for(s, recipient);
    char cid[32];
    next_correlation_id(s, "SDP_ANSWER", cid);
    kvi_buf msg = KVI_BUF_INIT;
    int failed = kvi_sig_encode_answer(&msg, sdp, to, cid, &why);
    free(to);
    return send_encoded(s, 1, failed, "Invalid SDP answer", why, &msg, err);
}

kvsws_status kvsws_session_send_candidate(kvsws_session *s, const char *candidate,
                                          const char *sdp_mid, int sdp_mline_index,
                                          const char *recipient, kvsws_error *err)
{
    kvi_error_clear(err);
    if (!s || !candidate)
        return kvi_error_set(err, KVSWS_E_PARAM_VALIDATION,
                             "Missing required parameter: candidate");
    if (sdp_mline_index < -1)
        return kvi_error_set(err, KVSWS_E_PARAM_VALIDATION,
                             "Invalid value for parameter sdp_mline_index: must be >= 0, or -1 "
                             "for none");
    if (check_recipient(s, recipient, err))
        return KVSWS_E_PARAM_VALIDATION;
    char *to = recipient_for(s, recipient);
    char cid[32];
    next_correlation_id(s, "ICE_CANDIDATE", cid);
    kvi_buf msg = KVI_BUF_INIT;
    const char *why = NULL;
    int failed =
        kvi_sig_encode_candidate(&msg, candidate, sdp_mid, sdp_mline_index, to, cid, &why);
    free(to);
    return send_encoded(s, 0, failed, "Invalid ICE candidate", why, &msg, err);
}
