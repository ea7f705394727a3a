/* SPDX-License-Identifier: Apache-2.0 */
/* session_stats.h - a storage session's counters (kvsws_session_stats_json), internal. */
#ifndef KVSWS_SESSION_STATS_H
#define KVSWS_SESSION_STATS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "kvsws.h"

/* Why the session went to "reconnecting" (the JSON's "reconnects" keys, in this order). */
typedef enum kvi_reconnect_cause {
    KVI_RECONNECT_GO_AWAY,       /* the service sent GO_AWAY */
    KVI_RECONNECT_DROP,          /* the WebSocket closed or broke under us */
    KVI_RECONNECT_IDLE,          /* the WebSocket went silent */
    KVI_RECONNECT_SESSION_LIMIT, /* the session reached its maximum duration */
    KVI_RECONNECT_ICE_REFRESH,   /* RECONNECT_ICE_SERVER */
    KVI_RECONNECT_ERROR,         /* a (re)connect step failed */
    KVI_RECONNECT_CAUSES
} kvi_reconnect_cause;

/* Plain counters and timestamps (CLOCK_MONOTONIC ms), updated where the events happen: on the
 * reader (frames, offers, state), on a worker (joins) and on the sending threads (answers,
 * candidates), so one small lock guards them all. Nothing here allocates except last_error,
 * which is copied only when an error happens. */
typedef struct kvi_session_stats {
    pthread_mutex_t lock;
    int64_t started_at, state_since;
    kvsws_session_state state;
    uint64_t joins, offers, answers, candidates_sent, candidates_received;
    uint64_t reconnects[KVI_RECONNECT_CAUSES];
    uint64_t messages_in, bytes_in, messages_out, bytes_out;
    int64_t last_join_at, last_offer_at, offer_from_start_ms, offer_from_join_ms; /* -1: none */
    int64_t backoff_ms, retry_at; /* the wait before the next connect (0: none) */
    kvsws_error *last_error;      /* NULL until the first error */
    int64_t last_error_at;
} kvi_session_stats;

typedef enum kvi_stat {
    KVI_STAT_ANSWERS_SENT,
    KVI_STAT_CANDIDATES_SENT,
    KVI_STAT_CANDIDATES_RECEIVED
} kvi_stat;

void kvi_stats_init(kvi_session_stats *st);
void kvi_stats_destroy(kvi_session_stats *st);
void kvi_stats_start(kvi_session_stats *st, int64_t now);
void kvi_stats_state(kvi_session_stats *st, kvsws_session_state state, int64_t now);
void kvi_stats_count(kvi_session_stats *st, kvi_stat which);
/* requests: the HTTP requests the JoinStorageSession call sent, retries included. */
void kvi_stats_join(kvi_session_stats *st, int requests, int64_t now);
void kvi_stats_offer(kvi_session_stats *st, int64_t now);
void kvi_stats_message_in(kvi_session_stats *st, size_t bytes);
void kvi_stats_message_out(kvi_session_stats *st, size_t bytes);
/* retry_at: when the next connect is due (now for an immediate one). */
void kvi_stats_reconnect(kvi_session_stats *st, kvi_reconnect_cause cause, int64_t now,
                         int64_t retry_at);
void kvi_stats_connecting(kvi_session_stats *st); /* the wait is over */
void kvi_stats_error(kvi_session_stats *st, const kvsws_error *err, int64_t now);

/* The JSON document kvsws_session_stats_json returns (malloc'ed), NULL when out of memory. */
char *kvi_stats_json(kvi_session_stats *st, int64_t now);

#endif
