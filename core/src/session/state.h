/* SPDX-License-Identifier: Apache-2.0 */
/* state.h - a session's state, shared by its files: the options, the loop's fds and
 * timers, the event queue, the step in flight and what was sent. */
#ifndef KVSWS_SESSION_STATE_H
#define KVSWS_SESSION_STATE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "api/client.h"
#include "base/pool.h"
#include "kvsws.h"
#include "session/events.h"
#include "session/session_stats.h"
#include "session/signaling.h"
#include "transport/websocket.h"

/* The correlation ids of the last messages sent: a STATUS_RESPONSE names one of them, or it is
 * not for us. 64 is 3 s of candidates at the service's 20 a second; answers come in ms. */
#define SENT_IDS 64
/* Candidates given before the answer to the current offer wait for it, up to this many: the
 * offerer can use them only once it has the answer, and pion or aiortc may hand them over first. */
#define MAX_HELD_CANDIDATES 100

/* A blocking network step, run on the client's workers so next_event never waits for it. */
typedef enum job_kind {
    JOB_NONE,
    JOB_CONNECT, /* describe/endpoints/ICE/WebSocket, then join */
    JOB_JOIN,    /* JoinStorageSession again after no offer */
    JOB_ICE      /* GetIceServerConfig after RECONNECT_ICE_SERVER */
} job_kind;

typedef struct job {
    job_kind kind;      /* the reader's: what is in flight (JOB_NONE: nothing) */
    int done;           /* under the session's job_lock: the worker finished */
    kvsws_status st;    /* the results, the worker's until done, then the reader's to apply */
    kvsws_error *err;
    char *ice_servers;  /* an ICE_SERVERS event for the reader to push */
    kvi_ws *ws;         /* the connected WebSocket, for the reader to install */
} job;

typedef enum phase {
    PHASE_NEW,
    PHASE_CONNECT,   /* due: describe/endpoints/ICE/WebSocket, then join */
    PHASE_JOINING,   /* joined, waiting for the offer until offer_deadline */
    PHASE_CONNECTED, /* offer delivered */
    PHASE_BACKOFF,   /* waiting until retry_at to connect again */
    PHASE_CLOSED
} phase;

struct kvsws_session {
    kvsws_client *client;
    /* options */
    char *channel_arn, *channel_name, *client_id;
    int role;
    int64_t offer_timeout_ms, ping_interval_ms, max_duration_ms, reconnect_max_ms;
    int max_join_attempts, check_answer;
    int64_t flood_limit; /* frames per second; 0: none */

    /* the loop: epoll over the WebSocket and one timerfd, which is both the next deadline and
     * the wake-up (waking arms it to fire now; wake_pending keeps a re-arm from losing that) */
    int epfd, timer_fd;
    int wake_pending;
    phase phase;
    kvsws_session_state state;
    int64_t offer_deadline, session_deadline, retry_at;
    int join_attempts, reconnect_attempts;
    int peer_faults; /* connections in a row we failed for breaking RFC 6455 or a limit: they
                        stretch the backoff even though each got as far as an offer */
    int have_endpoints;
    int64_t ice_refresh_at; /* when the TURN credentials need fetching again (0: never) */
    char *wss_endpoint;
    kvsws_cancel cancel; /* stops a blocking step when close() comes from another thread */

    /* While job.kind != JOB_NONE the worker owns channel_arn, wss_endpoint, have_endpoints,
     * ice_refresh_at, join_attempts and offer_deadline; the reader waits for job.done. */
    kvi_pool *pool;
    job job;
    pthread_mutex_t job_lock;
    pthread_cond_t job_cond; /* job.done became 1 (kvsws_session_free waits for it) */

    kvsws_event *queue_head, *queue_tail;
    kvi_sig_message *pending; /* candidates that came before their offer */
    size_t pending_count;

    pthread_mutex_t send_lock; /* guards ws, last_sender and sent against the sending threads */
    kvi_ws *ws;
    char *last_sender;
    unsigned long correlation;
    struct {
        char id[32];
        const char *action; /* "SDP_ANSWER" or "ICE_CANDIDATE" */
    } sent[SENT_IDS];
    int join_throttles; /* throttled joins in a row: each waits longer before the next */
    int awaiting_answer; /* under send_lock: an offer came and its answer was not sent yet */
    char *held[MAX_HELD_CANDIDATES]; /* under send_lock: encoded candidates awaiting the answer */
    size_t held_count;

    kvi_session_stats stats; /* its own lock: read from any thread (kvsws_session_stats_json) */
    int call_requests;       /* the last call's HTTP requests, retries included (call_json) */
};

/* The monotonic clock, in milliseconds. */
int64_t kvi_session_now_ms(void);
/* Queues an event for next_event (the session owns it from here). */
void kvi_session_push(kvsws_session *s, kvsws_event *ev);
/* Moves to a state and queues its event (why: the error that caused it, or NULL). */
void kvi_session_set_state(kvsws_session *s, kvsws_session_state state, const kvsws_error *why);
/* Makes the loop's fd readable now, from any thread (the timer fires at once). */
void kvi_session_wake_up(kvsws_session *s);
/* Errors the session raises itself: a code naming what happened, retryable, and the operation
 * "StorageSession" so they read like the others. */
void kvi_session_error_code(kvsws_error *err, const char *code);
/* Arms the loop's timer to fire in in_ms (negative: disarmed); a pending wake-up still fires. */
void kvi_session_arm_timer(kvsws_session *s, int64_t in_ms);

#endif
