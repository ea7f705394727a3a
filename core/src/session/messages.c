/* SPDX-License-Identifier: Apache-2.0 */
/* messages.c - what the signaling service sends a session: offers, candidates, GO_AWAY,
 * RECONNECT_ICE_SERVER and STATUS_RESPONSE, read within a step's budget. */
#include "session/messages.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "aws/aws_error.h"
#include "base/error.h"
#include "base/retry.h"
#include "session/connect.h"
#include "session/send.h"
#include "session/session_stats.h"
#include "session/signaling.h"
#include "session/state.h"
#include "transport/websocket.h"

#define MAX_PENDING_CANDIDATES 256
/* What one step reads at most before it returns to the application (the rest waits, and the
 * fd stays readable): a flooding server cannot hold next_event or the thread's other sessions. */
#define STEP_MAX_MESSAGES 64
#define STEP_MAX_MS 10

static void deliver_candidate(kvsws_session *s, kvi_sig_message *m)
{
    kvsws_event *ev = kvi_event_new(KVSWS_EVENT_ICE_CANDIDATE);
    if (!ev)
        return;
    ev->candidate = m->candidate;
    ev->sdp_mid = m->sdp_mid;
    ev->sdp_mline_index = m->sdp_mline_index;
    ev->sender_id = m->sender_client_id;
    m->candidate = m->sdp_mid = m->sender_client_id = NULL; /* moved into the event */
    kvi_session_push(s, ev);
}

/* The service refused a message we sent: a STATUS event named after it. A status for a message
 * we did not send (or a success) is not the application's business. */
static void status_response(kvsws_session *s, const kvi_sig_message *m)
{
    const char *action = kvi_send_sent_action(s, m->correlation_id);
    int code = m->status_code ? atoi(m->status_code) : 0;
    if (!action) {
        kvi_log(s->client, m->correlation_id ? KVSWS_LOG_WARN : KVSWS_LOG_DEBUG,
                "dropped a STATUS_RESPONSE for correlation id %.64s, which this session did not "
                "send (%.64s %d)",
                m->correlation_id ? m->correlation_id : "(none)",
                m->error_type ? m->error_type : "", code);
        return;
    }
    if (code >= 200 && code < 300) {
        kvi_log(s->client, KVSWS_LOG_DEBUG, "the %s %s was delivered", action, m->correlation_id);
        return;
    }
    kvsws_event *ev = kvi_event_new(KVSWS_EVENT_STATUS);
    if (!ev)
        return;
    const char *type = m->error_type ? m->error_type : "";
    const char *description = m->description ? m->description : "";
    kvi_error_set_service(&ev->error, kvi_aws_error_status_for_code(type), type, description,
                          code, "", kvi_retry_is_retryable_service(type, code, description));
    kvi_error_set_operation(&ev->error, action);
    kvi_error_set_correlation_id(&ev->error, m->correlation_id);
    kvi_session_push(s, ev);
}

static void handle_message(kvsws_session *s, kvi_sig_message *m)
{
    switch (m->type) {
    case KVI_SIG_SDP_OFFER: {
        kvi_stats_offer(&s->stats, kvi_session_now_ms());
        pthread_mutex_lock(&s->send_lock);
        free(s->last_sender);
        s->last_sender = kvi_strdup(m->sender_client_id);
        s->awaiting_answer = 1;
        kvi_send_drop_held_locked(s); /* they were for the previous peer connection */
        pthread_mutex_unlock(&s->send_lock);
        kvsws_event *ev = kvi_event_new(KVSWS_EVENT_OFFER);
        if (ev) {
            ev->sdp = m->sdp;
            ev->sender_id = m->sender_client_id;
            m->sdp = m->sender_client_id = NULL;
            kvi_session_push(s, ev);
        }
        /* The service often sends candidates first: they follow their offer. */
        for (size_t i = 0; i < s->pending_count; i++)
            deliver_candidate(s, &s->pending[i]);
        kvi_connect_clear_pending(s);
        s->phase = PHASE_CONNECTED;
        s->reconnect_attempts = 0;
        s->session_deadline = kvi_session_now_ms() + s->max_duration_ms;
        kvi_session_set_state(s, KVSWS_STATE_CONNECTED, NULL);
        break;
    }
    case KVI_SIG_ICE_CANDIDATE:
        kvi_stats_count(&s->stats, KVI_STAT_CANDIDATES_RECEIVED);
        if (s->phase == PHASE_CONNECTED) {
            deliver_candidate(s, m);
        } else if (s->pending_count < MAX_PENDING_CANDIDATES) {
            kvi_sig_message *grown =
                realloc(s->pending, (s->pending_count + 1) * sizeof *s->pending);
            if (grown) {
                s->pending = grown;
                s->pending[s->pending_count++] = *m;
                memset(m, 0, sizeof *m); /* moved */
            }
        }
        break;
    case KVI_SIG_GO_AWAY: {
        kvsws_error *why = kvsws_error_new();
        kvi_error_set(why, KVSWS_E_SERVICE_UNAVAILABLE,
                      "The signaling service sent GO_AWAY: reconnecting and rejoining");
        kvi_session_error_code(why, "GoAway");
        kvi_connect_drop_websocket(s, 1);
        s->reconnect_attempts = 0;
        s->peer_faults = 0; /* a server that says goodbye properly is not flooding us */
        s->retry_at = kvi_session_now_ms();
        s->phase = PHASE_BACKOFF;
        kvi_stats_reconnect(&s->stats, KVI_RECONNECT_GO_AWAY, s->retry_at, s->retry_at);
        kvi_session_set_state(s, KVSWS_STATE_RECONNECTING, why);
        kvsws_error_free(why);
        break;
    }
    case KVI_SIG_RECONNECT_ICE_SERVER:
        kvi_stats_reconnect(&s->stats, KVI_RECONNECT_ICE_REFRESH, 0, -1);
        kvi_connect_start_job(s, JOB_ICE);
        break;
    case KVI_SIG_STATUS_RESPONSE:
        status_response(s, m);
        break;
    default:
        break;
    }
}

/* Reads the WebSocket within the step's budget. It stops early (and wakes the loop, so the fd
 * stays readable) when the budget is spent: TLS may hold bytes poll() cannot see. */
void kvi_messages_read(kvsws_session *s)
{
    kvsws_error *err = kvsws_error_new();
    int64_t stop_at = kvi_session_now_ms() + STEP_MAX_MS;
    for (int n = 0;; n++) {
        if (!s->ws || s->phase == PHASE_CLOSED || s->phase == PHASE_BACKOFF ||
            s->job.kind != JOB_NONE)
            break;
        if (n >= STEP_MAX_MESSAGES || kvi_session_now_ms() >= stop_at) {
            kvi_session_wake_up(s);
            break;
        }
        char *text = NULL;
        size_t len = 0;
        int rc = kvi_ws_read_message(s->ws, &text, &len, err);
        if (rc == 0)
            break;
        if (rc == KVI_WS_READ_MORE)
            continue;
        if (rc > 0)
            kvi_stats_message_in(&s->stats, len);
        if (rc < 0) {
            kvi_log(s->client, KVSWS_LOG_WARN, "signaling WebSocket of %s: %s",
                    s->channel_arn ? s->channel_arn : s->channel_name,
                    kvsws_error_message(err));
            if (err)
                err->retryable = 1;
            if (kvi_ws_failed_with(s->ws))
                s->peer_faults++;
            else
                s->peer_faults = 0;
            kvi_connect_drop_websocket(s, 1); /* on a worker: the server may still read our close frame */
            kvi_connect_fail_step(s, err, KVI_RECONNECT_DROP);
            break;
        }
        kvi_sig_message m;
        const char *why = NULL;
        if (kvi_sig_decode(text, len, &m, &why) == 0) {
            if (m.type == KVI_SIG_REFUSED)
                kvi_log(s->client, KVSWS_LOG_WARN, "refused a signaling message: %s",
                        why ? why : "unknown");
            else if (m.type == KVI_SIG_IGNORED)
                kvi_log(s->client, KVSWS_LOG_DEBUG, "ignored a signaling frame: %s",
                        why ? why : "unknown");
            else
                handle_message(s, &m);
            kvi_sig_message_free(&m);
        }
        free(text);
    }
    kvsws_error_free(err);
}
