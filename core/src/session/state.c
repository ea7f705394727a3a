/* SPDX-License-Identifier: Apache-2.0 */
/* state.c - what every part of a session does to its state: the clock, the event queue, state
 * changes, and the one timerfd that is both the next deadline and the wake-up. */
#include "session/state.h"

#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>

#include "base/error.h"
#include "session/session_stats.h"

int64_t kvi_session_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void kvi_session_push(kvsws_session *s, kvsws_event *ev)
{
    if (!ev)
        return;
    kvi_event_build_json(ev);
    if (ev->error.status != KVSWS_OK)
        kvi_stats_error(&s->stats, &ev->error, kvi_session_now_ms());
    if (s->queue_tail)
        s->queue_tail->next = ev;
    else
        s->queue_head = ev;
    s->queue_tail = ev;
}

void kvi_session_set_state(kvsws_session *s, kvsws_session_state state, const kvsws_error *why)
{
    if (s->state == state && state != KVSWS_STATE_RECONNECTING)
        return;
    s->state = state;
    kvi_stats_state(&s->stats, state, kvi_session_now_ms());
    /* a state change is INFO; coming back from a failure a recovery (WARN); the end on an
     * error ERROR */
    kvsws_log_level level = !why || !why->status            ? KVSWS_LOG_INFO
                            : state == KVSWS_STATE_CLOSED ? KVSWS_LOG_ERROR
                                                          : KVSWS_LOG_WARN;
    kvi_log(s->client, level, "session %s: %s%s%s",
            s->channel_arn ? s->channel_arn : s->channel_name,
            kvsws_session_state_name(state), why && why->status ? ": " : "",
            why && why->status ? kvsws_error_describe(why) : "");
    kvsws_event *ev = kvi_event_new(state == KVSWS_STATE_CLOSED ? KVSWS_EVENT_CLOSED
                                                            : KVSWS_EVENT_STATE);
    if (!ev)
        return;
    ev->state = state;
    if (why)
        kvi_error_copy(&ev->error, why);
    kvi_session_push(s, ev);
}

/* The timer expiring now: a step runs at the next look at the fd. Any thread may call it. */
static void fire_timer_now(kvsws_session *s)
{
    struct itimerspec its = {.it_value = {.tv_sec = 0, .tv_nsec = 1}};
    timerfd_settime(s->timer_fd, 0, &its, NULL);
}

void kvi_session_wake_up(kvsws_session *s)
{
    /* The flag first: a concurrent arm_timer that overwrites our expiry then sees it. */
    __atomic_store_n(&s->wake_pending, 1, __ATOMIC_SEQ_CST);
    fire_timer_now(s);
}

/* Errors the session raises itself: a code naming what happened, retryable, and the operation
 * "StorageSession" so they read like the others. */
void kvi_session_error_code(kvsws_error *err, const char *code)
{
    if (!err)
        return;
    free(err->code);
    err->code = kvi_strdup(code);
    kvi_error_set_operation(err, "StorageSession");
    err->retryable = strcmp(code, "NoOfferReceived") != 0;
}

void kvi_session_arm_timer(kvsws_session *s, int64_t in_ms)
{
    struct itimerspec its;
    memset(&its, 0, sizeof its);
    if (in_ms >= 0) {
        if (in_ms == 0)
            in_ms = 1; /* zero would disarm */
        its.it_value.tv_sec = in_ms / 1000;
        its.it_value.tv_nsec = (in_ms % 1000) * 1000000L;
    }
    timerfd_settime(s->timer_fd, 0, &its, NULL);
    if (__atomic_load_n(&s->wake_pending, __ATOMIC_SEQ_CST))
        fire_timer_now(s); /* a wake-up came while we re-armed: it must not be lost */
}
