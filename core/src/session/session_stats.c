/* SPDX-License-Identifier: Apache-2.0 */
/* session_stats.c - a storage session's counters and their JSON (kvsws_session_stats_json). */
#include "session/session_stats.h"

#include <cjson/cJSON.h>
#include <string.h>

#include "base/error.h"

static const char *const CAUSE_NAMES[KVI_RECONNECT_CAUSES] = {
    "go_away", "drop", "idle", "session_limit", "ice_refresh", "error"};

void kvi_stats_init(kvi_session_stats *st)
{
    memset(st, 0, sizeof *st);
    pthread_mutex_init(&st->lock, NULL);
    st->last_join_at = st->last_offer_at = -1;
    st->offer_from_start_ms = st->offer_from_join_ms = -1;
}

void kvi_stats_destroy(kvi_session_stats *st)
{
    kvsws_error_free(st->last_error);
    st->last_error = NULL;
    pthread_mutex_destroy(&st->lock);
}

void kvi_stats_start(kvi_session_stats *st, int64_t now)
{
    pthread_mutex_lock(&st->lock);
    st->started_at = now;
    st->state_since = now;
    pthread_mutex_unlock(&st->lock);
}

void kvi_stats_state(kvi_session_stats *st, kvsws_session_state state, int64_t now)
{
    pthread_mutex_lock(&st->lock);
    if (st->state != state)
        st->state_since = now;
    st->state = state;
    pthread_mutex_unlock(&st->lock);
}

void kvi_stats_count(kvi_session_stats *st, kvi_stat which)
{
    pthread_mutex_lock(&st->lock);
    switch (which) {
    case KVI_STAT_ANSWERS_SENT: st->answers++; break;
    case KVI_STAT_CANDIDATES_SENT: st->candidates_sent++; break;
    case KVI_STAT_CANDIDATES_RECEIVED: st->candidates_received++; break;
    }
    pthread_mutex_unlock(&st->lock);
}

void kvi_stats_join(kvi_session_stats *st, int requests, int64_t now)
{
    if (requests <= 0)
        return; /* nothing went out (bad credentials, cancelled before the request) */
    pthread_mutex_lock(&st->lock);
    st->joins += (uint64_t)requests;
    st->last_join_at = now;
    pthread_mutex_unlock(&st->lock);
}

void kvi_stats_offer(kvi_session_stats *st, int64_t now)
{
    pthread_mutex_lock(&st->lock);
    st->offers++;
    st->last_offer_at = now;
    st->offer_from_start_ms = now - st->started_at;
    st->offer_from_join_ms = st->last_join_at >= 0 ? now - st->last_join_at : -1;
    pthread_mutex_unlock(&st->lock);
}

void kvi_stats_message_in(kvi_session_stats *st, size_t bytes)
{
    pthread_mutex_lock(&st->lock);
    st->messages_in++;
    st->bytes_in += bytes;
    pthread_mutex_unlock(&st->lock);
}

void kvi_stats_message_out(kvi_session_stats *st, size_t bytes)
{
    pthread_mutex_lock(&st->lock);
    st->messages_out++;
    st->bytes_out += bytes;
    pthread_mutex_unlock(&st->lock);
}

void kvi_stats_reconnect(kvi_session_stats *st, kvi_reconnect_cause cause, int64_t now,
                         int64_t retry_at)
{
    pthread_mutex_lock(&st->lock);
    st->reconnects[cause]++;
    if (retry_at >= 0) {
        st->retry_at = retry_at;
        st->backoff_ms = retry_at > now ? retry_at - now : 0;
    }
    pthread_mutex_unlock(&st->lock);
}

void kvi_stats_connecting(kvi_session_stats *st)
{
    pthread_mutex_lock(&st->lock);
    st->backoff_ms = 0;
    st->retry_at = 0;
    pthread_mutex_unlock(&st->lock);
}

void kvi_stats_error(kvi_session_stats *st, const kvsws_error *err, int64_t now)
{
    if (!err || err->status == KVSWS_OK)
        return;
    kvsws_error *copy = kvsws_error_new(); /* copied outside the lock: errors are rare */
    if (!copy || kvi_error_copy(copy, err) != 0) {
        kvsws_error_free(copy);
        return;
    }
    pthread_mutex_lock(&st->lock);
    kvsws_error *old = st->last_error;
    st->last_error = copy;
    st->last_error_at = now;
    pthread_mutex_unlock(&st->lock);
    kvsws_error_free(old);
}

static void add_ms_or_null(cJSON *o, const char *name, int64_t ms)
{
    if (ms < 0)
        cJSON_AddNullToObject(o, name);
    else
        cJSON_AddNumberToObject(o, name, (double)ms);
}

char *kvi_stats_json(kvi_session_stats *st, int64_t now)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    pthread_mutex_lock(&st->lock);
    cJSON_AddStringToObject(o, "state", kvsws_session_state_name(st->state));
    cJSON_AddNumberToObject(o, "state_ms", st->started_at ? (double)(now - st->state_since) : 0);
    cJSON_AddNumberToObject(o, "uptime_ms", st->started_at ? (double)(now - st->started_at) : 0);
    cJSON_AddNumberToObject(o, "joins_sent", (double)st->joins);
    cJSON_AddNumberToObject(o, "offers_received", (double)st->offers);
    cJSON_AddNumberToObject(o, "answers_sent", (double)st->answers);
    cJSON_AddNumberToObject(o, "candidates_sent", (double)st->candidates_sent);
    cJSON_AddNumberToObject(o, "candidates_received", (double)st->candidates_received);
    cJSON *r = cJSON_AddObjectToObject(o, "reconnects");
    for (int i = 0; i < KVI_RECONNECT_CAUSES; i++)
        cJSON_AddNumberToObject(r, CAUSE_NAMES[i], (double)st->reconnects[i]);
    add_ms_or_null(o, "offer_from_start_ms", st->offer_from_start_ms);
    add_ms_or_null(o, "offer_from_join_ms", st->offer_from_join_ms);
    cJSON *ws = cJSON_AddObjectToObject(o, "websocket");
    cJSON_AddNumberToObject(ws, "messages_in", (double)st->messages_in);
    cJSON_AddNumberToObject(ws, "bytes_in", (double)st->bytes_in);
    cJSON_AddNumberToObject(ws, "messages_out", (double)st->messages_out);
    cJSON_AddNumberToObject(ws, "bytes_out", (double)st->bytes_out);
    cJSON_AddNumberToObject(o, "backoff_ms", (double)st->backoff_ms);
    cJSON_AddNumberToObject(o, "retry_in_ms",
                            st->retry_at > now ? (double)(st->retry_at - now) : 0);
    const kvsws_error *e = st->last_error;
    if (!e) {
        cJSON_AddNullToObject(o, "last_error");
    } else {
        cJSON *le = cJSON_AddObjectToObject(o, "last_error");
        cJSON_AddNumberToObject(le, "status", e->status);
        cJSON_AddStringToObject(le, "status_name", kvsws_status_name(e->status));
        cJSON_AddStringToObject(le, "code", kvsws_error_code(e));
        cJSON_AddStringToObject(le, "message", kvsws_error_message(e));
        cJSON_AddStringToObject(le, "operation", kvsws_error_operation(e));
        cJSON_AddNumberToObject(le, "http_status", e->http_status);
        cJSON_AddStringToObject(le, "request_id", kvsws_error_request_id(e));
        cJSON_AddNumberToObject(le, "ms_ago", (double)(now - st->last_error_at));
    }
    pthread_mutex_unlock(&st->lock);
    char *json = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return json;
}
