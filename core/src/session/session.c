/* SPDX-License-Identifier: Apache-2.0 */
/* session.c - the storage session's public face: options, start, the step loop and its timers,
 * next_event, close, free and stats (the steps, messages and sends are in their own files). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "api/client.h"
#include "api/operations.h"
#include "base/error.h"
#include "session/connect.h"
#include "session/messages.h"
#include "session/send.h"
#include "session/session_stats.h"
#include "session/state.h"
#include "transport/websocket.h"

/* The signaling server may sustain this many frames a second (bursts of 10 s worth pass). */
#define DEFAULT_FLOOD_LIMIT 200

kvsws_status kvsws_session_new(kvsws_client *client, kvsws_session **out, kvsws_error *err)
{
    kvi_error_clear(err);
    if (!client || !out)
        return kvi_error_set(err, KVSWS_E_PARAM_VALIDATION, "client and out must not be NULL");
    kvsws_session *s = calloc(1, sizeof *s);
    if (!s)
        return kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory");
    s->client = client;
    kvi_stats_init(&s->stats);
    pthread_mutex_init(&s->job_lock, NULL);
    pthread_cond_init(&s->job_cond, NULL);
    s->job.err = kvsws_error_new();
    s->offer_timeout_ms = 6000;
    s->ping_interval_ms = 10000;
    s->max_duration_ms = 3300000;
    s->reconnect_max_ms = 30000;
    s->max_join_attempts = 5;
    s->check_answer = 1;
    s->flood_limit = DEFAULT_FLOOD_LIMIT;
    s->epfd = epoll_create1(EPOLL_CLOEXEC);
    s->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    pthread_mutex_init(&s->send_lock, NULL);
    if (s->epfd < 0 || s->timer_fd < 0 || !s->job.err) {
        kvsws_session_free(s);
        return kvi_error_set(err, KVSWS_E_INTERNAL, "cannot create the session's descriptors: %s",
                             strerror_r(errno, (char[128]){0}, 128));
    }
    struct epoll_event ee = {.events = EPOLLIN, .data.fd = s->timer_fd};
    epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->timer_fd, &ee);
    *out = s;
    return KVSWS_OK;
}

static char **str_option(kvsws_session *s, kvsws_session_option opt)
{
    switch (opt) {
    case KVSWS_SESSION_OPT_CHANNEL_ARN:
        return &s->channel_arn;
    case KVSWS_SESSION_OPT_CHANNEL_NAME:
        return &s->channel_name;
    case KVSWS_SESSION_OPT_CLIENT_ID:
        return &s->client_id;
    default:
        return NULL;
    }
}

/* Options are set on a session that exists and has not started. */
static kvsws_status check_settable(const kvsws_session *s, kvsws_error *err)
{
    kvi_error_clear(err);
    if (!s)
        return kvi_error_set(err, KVSWS_E_CONFIG, "session is NULL");
    if (s->phase != PHASE_NEW)
        return kvi_error_set(err, KVSWS_E_CONFIG, "options are set before kvsws_session_start");
    return KVSWS_OK;
}

kvsws_status kvsws_session_set_str(kvsws_session *s, kvsws_session_option opt, const char *value,
                                   kvsws_error *err)
{
    kvsws_status st = check_settable(s, err);
    if (st)
        return st;
    char **slot = str_option(s, opt);
    if (!slot)
        return kvi_error_set(err, KVSWS_E_CONFIG, "session option %d is not a string option",
                             (int)opt);
    free(*slot);
    *slot = kvi_strdup(value);
    return KVSWS_OK;
}

kvsws_status kvsws_session_set_int(kvsws_session *s, kvsws_session_option opt, int64_t value,
                                   kvsws_error *err)
{
    kvsws_status st = check_settable(s, err);
    if (st)
        return st;
    static const struct {
        kvsws_session_option opt;
        const char *name;
        int64_t min, max;
    } RANGES[] = {
        {KVSWS_SESSION_OPT_ROLE, "KVSWS_SESSION_OPT_ROLE", 0, 1},
        {KVSWS_SESSION_OPT_OFFER_TIMEOUT_MS, "KVSWS_SESSION_OPT_OFFER_TIMEOUT_MS", 100, 600000},
        {KVSWS_SESSION_OPT_PING_INTERVAL_MS, "KVSWS_SESSION_OPT_PING_INTERVAL_MS", 100, 540000},
        {KVSWS_SESSION_OPT_MAX_JOIN_ATTEMPTS, "KVSWS_SESSION_OPT_MAX_JOIN_ATTEMPTS", 1, 1000},
        {KVSWS_SESSION_OPT_MAX_DURATION_MS, "KVSWS_SESSION_OPT_MAX_DURATION_MS", 1000, 3600000},
        {KVSWS_SESSION_OPT_CHECK_ANSWER, "KVSWS_SESSION_OPT_CHECK_ANSWER", 0, 1},
        {KVSWS_SESSION_OPT_RECONNECT_MAX_MS, "KVSWS_SESSION_OPT_RECONNECT_MAX_MS", 100, 600000},
        {KVSWS_SESSION_OPT_FLOOD_LIMIT, "KVSWS_SESSION_OPT_FLOOD_LIMIT", 0, 1000000},
    };
    for (size_t i = 0; i < sizeof RANGES / sizeof RANGES[0]; i++) {
        if (RANGES[i].opt != opt)
            continue;
        if (value < RANGES[i].min || value > RANGES[i].max)
            return kvi_error_set(err, KVSWS_E_CONFIG, "%s must be between %lld and %lld, got %lld",
                                 RANGES[i].name, (long long)RANGES[i].min,
                                 (long long)RANGES[i].max, (long long)value);
        switch (opt) {
        case KVSWS_SESSION_OPT_ROLE: s->role = (int)value; break;
        case KVSWS_SESSION_OPT_OFFER_TIMEOUT_MS: s->offer_timeout_ms = value; break;
        case KVSWS_SESSION_OPT_PING_INTERVAL_MS: s->ping_interval_ms = value; break;
        case KVSWS_SESSION_OPT_MAX_JOIN_ATTEMPTS: s->max_join_attempts = (int)value; break;
        case KVSWS_SESSION_OPT_MAX_DURATION_MS: s->max_duration_ms = value; break;
        case KVSWS_SESSION_OPT_CHECK_ANSWER: s->check_answer = (int)value; break;
        case KVSWS_SESSION_OPT_FLOOD_LIMIT: s->flood_limit = value; break;
        default: s->reconnect_max_ms = value; break;
        }
        return KVSWS_OK;
    }
    return kvi_error_set(err, KVSWS_E_CONFIG, "session option %d is not an integer option",
                         (int)opt);
}

kvsws_status kvsws_session_start(kvsws_session *s, kvsws_error *err)
{
    kvi_error_clear(err);
    if (!s)
        return kvi_error_set(err, KVSWS_E_PARAM_VALIDATION, "session is NULL");
    if (s->phase != PHASE_NEW)
        return kvi_error_set(err, KVSWS_E_CONFIG, "the session was already started");
    if (!!s->channel_arn == !!s->channel_name)
        return kvi_error_set(err, KVSWS_E_PARAM_VALIDATION,
                             "Missing required session option: exactly one of channel ARN "
                             "(KVSWS_SESSION_OPT_CHANNEL_ARN) or channel name "
                             "(KVSWS_SESSION_OPT_CHANNEL_NAME)");
    /* The same rules as the calls, checked here so bad input fails before any I/O. */
    cJSON *probe = cJSON_CreateObject();
    const kvi_operation *op;
    if (s->channel_arn) {
        cJSON_AddStringToObject(probe, "channelArn", s->channel_arn);
        if (s->role == KVSWS_ROLE_VIEWER)
            cJSON_AddStringToObject(probe, "clientId", s->client_id ? s->client_id : "");
        op = kvi_operation_find(s->role == KVSWS_ROLE_VIEWER ? "JoinStorageSessionAsViewer"
                                                             : "JoinStorageSession");
    } else {
        cJSON_AddStringToObject(probe, "ChannelName", s->channel_name);
        op = kvi_operation_find("DescribeSignalingChannel");
    }
    kvsws_status st = kvi_operation_validate(op, probe, err);
    cJSON_Delete(probe);
    if (st)
        return st;
    if (s->role == KVSWS_ROLE_VIEWER && !s->client_id)
        return kvi_error_set(err, KVSWS_E_PARAM_VALIDATION,
                             "Missing required session option: a viewer needs a client id "
                             "(KVSWS_SESSION_OPT_CLIENT_ID)");
    if (s->role == KVSWS_ROLE_MASTER && s->client_id)
        return kvi_error_set(err, KVSWS_E_PARAM_VALIDATION,
                             "Invalid session option: a client id is for the VIEWER role only");
    s->pool = kvi_client_pool(s->client); /* NULL: the steps run inline, as a fallback */
    kvi_stats_start(&s->stats, kvi_session_now_ms());
    s->phase = PHASE_CONNECT;
    kvi_session_wake_up(s);
    return KVSWS_OK;
}

int kvsws_session_fd(const kvsws_session *s) { return s ? s->epfd : -1; }

void kvsws_session_wake(kvsws_session *s)
{
    if (s)
        kvi_session_wake_up(s);
}

kvsws_session_state kvsws_session_get_state(const kvsws_session *s)
{
    return s ? s->state : KVSWS_STATE_CLOSED;
}

static void run_timers(kvsws_session *s)
{
    int64_t now = kvi_session_now_ms();
    if (s->phase == PHASE_BACKOFF && now >= s->retry_at) {
        kvi_connect_start(s);
        return;
    }
    if (s->phase == PHASE_JOINING && now >= s->offer_deadline) {
        kvsws_error *err = kvsws_error_new();
        if (s->join_attempts >= s->max_join_attempts) {
            kvi_error_set(err, KVSWS_E_SERVICE_OTHER,
                          "No SDP offer arrived after %d JoinStorageSession calls, %lld ms "
                          "apart: check the channel's storage configuration and the IAM "
                          "permissions for the storage service",
                          s->join_attempts, (long long)s->offer_timeout_ms);
            kvi_session_error_code(err, "NoOfferReceived");
            kvi_connect_drop_websocket(s, 1);
            s->phase = PHASE_CLOSED;
            kvi_session_set_state(s, KVSWS_STATE_CLOSED, err);
        } else {
            if (s->join_throttles)
                kvi_stats_connecting(&s->stats); /* the throttle's wait is over */
            else
                kvi_log(s->client, KVSWS_LOG_WARN, "no offer within %lld ms: joining again",
                        (long long)s->offer_timeout_ms);
            kvi_connect_start_job(s, JOB_JOIN);
        }
        kvsws_error_free(err);
        return;
    }
    if (s->phase == PHASE_CONNECTED && now >= s->session_deadline) {
        /* Rejoin before the service ends the session at its 1 hour limit. */
        kvsws_error *why = kvsws_error_new();
        kvi_error_set(why, KVSWS_E_SESSION_EXPIRED,
                      "The storage session reached its maximum duration: rejoining");
        kvi_session_error_code(why, "SessionMaxDuration");
        s->retry_at = now;
        s->phase = PHASE_BACKOFF;
        kvi_stats_reconnect(&s->stats, KVI_RECONNECT_SESSION_LIMIT, now, now);
        kvi_connect_drop_websocket(s, 1);
        kvi_session_set_state(s, KVSWS_STATE_RECONNECTING, why);
        kvsws_error_free(why);
        return;
    }
    if (s->ws && (s->phase == PHASE_JOINING || s->phase == PHASE_CONNECTED)) {
        int64_t idle = kvi_ws_idle_ms(s->ws);
        if (idle >= 3 * s->ping_interval_ms) {
            kvsws_error *why = kvsws_error_new();
            kvi_error_set(why, KVSWS_E_READ_TIMEOUT,
                          "The signaling WebSocket went silent for %lld ms: reconnecting",
                          (long long)idle);
            kvi_session_error_code(why, "SignalingSilent");
            kvi_connect_fail_step(s, why, KVI_RECONNECT_IDLE);
            kvsws_error_free(why);
        } else if (idle >= s->ping_interval_ms) {
            pthread_mutex_lock(&s->send_lock);
            /* a ping keeps the service's 10 minute idle timer from closing us */
            if (s->ws)
                kvi_ws_send_ping(s->ws, NULL);
            pthread_mutex_unlock(&s->send_lock);
        }
    }
}

/* When the next timer is due, in ms from now (-1: none). */
static int64_t next_deadline(const kvsws_session *s)
{
    int64_t now = kvi_session_now_ms(), at = -1;
#define CONSIDER(t) \
    do { \
        if (at < 0 || (t) < at) \
            at = (t); \
    } while (0)
    if (s->phase == PHASE_BACKOFF)
        CONSIDER(s->retry_at);
    if (s->phase == PHASE_JOINING)
        CONSIDER(s->offer_deadline);
    if (s->phase == PHASE_CONNECTED)
        CONSIDER(s->session_deadline);
    if (s->ws && (s->phase == PHASE_JOINING || s->phase == PHASE_CONNECTED)) {
        int64_t idle = kvi_ws_idle_ms(s->ws);
        int64_t ping_at = now + (s->ping_interval_ms - idle % s->ping_interval_ms);
        CONSIDER(ping_at);
    }
#undef CONSIDER
    return at < 0 ? -1 : (at > now ? at - now : 0);
}

static void drain_fd(int fd)
{
    uint64_t v;
    while (read(fd, &v, sizeof v) > 0) {
    }
}

/* One pass of work: what is due, what arrived. */
static void step(kvsws_session *s)
{
    __atomic_store_n(&s->wake_pending, 0, __ATOMIC_SEQ_CST);
    drain_fd(s->timer_fd);
    if (s->job.kind != JOB_NONE) {
        if (!kvi_connect_job_done(s))
            return; /* the worker wakes us when it is back */
        kvi_connect_finish_job(s);
    }
    if (__atomic_load_n(&s->cancel.flag, __ATOMIC_SEQ_CST) && s->phase != PHASE_CLOSED) {
        kvi_connect_drop_websocket(s, 1);
        s->phase = PHASE_CLOSED;
        kvi_session_set_state(s, KVSWS_STATE_CLOSED, NULL);
    }
    if (s->phase == PHASE_CONNECT && s->job.kind == JOB_NONE) {
        kvi_connect_start(s); /* finish_job moves the phase on */
    }
    if (s->job.kind == JOB_NONE)
        kvi_messages_read(s);
    if (s->job.kind == JOB_NONE)
        run_timers(s);
    if (s->job.kind == JOB_NONE && s->phase != PHASE_CLOSED)
        kvi_session_arm_timer(s, next_deadline(s));
}

kvsws_status kvsws_session_next_event(kvsws_session *s, int timeout_ms, kvsws_event **out,
                                      kvsws_error *err)
{
    kvi_error_clear(err);
    if (!s || !out)
        return kvi_error_set(err, KVSWS_E_PARAM_VALIDATION, "session and out must not be NULL");
    *out = NULL;
    if (s->phase == PHASE_NEW)
        return kvi_error_set(err, KVSWS_E_CONFIG, "call kvsws_session_start first");
    int64_t give_up = timeout_ms < 0 ? -1 : kvi_session_now_ms() + timeout_ms;
    for (;;) {
        if (!s->queue_head && s->phase != PHASE_CLOSED)
            step(s);
        if (s->queue_head) {
            kvsws_event *ev = s->queue_head;
            s->queue_head = ev->next;
            if (!s->queue_head)
                s->queue_tail = NULL;
            ev->next = NULL;
            *out = ev;
            return KVSWS_OK;
        }
        if (s->phase == PHASE_CLOSED)
            return KVSWS_OK;
        int wait = -1;
        if (give_up >= 0) {
            int64_t left = give_up - kvi_session_now_ms();
            if (left <= 0)
                return KVSWS_OK;
            wait = left > 60000 ? 60000 : (int)left;
        }
        struct epoll_event ee;
        int n = epoll_wait(s->epfd, &ee, 1, wait);
        if (n < 0 && errno != EINTR)
            return kvi_error_set(err, KVSWS_E_INTERNAL, "epoll_wait failed: %s", strerror_r(errno, (char[128]){0}, 128));
    }
}

void kvsws_session_close(kvsws_session *s)
{
    if (!s)
        return;
    __atomic_store_n(&s->cancel.flag, 1, __ATOMIC_SEQ_CST);
    kvi_session_wake_up(s);
}

void kvsws_session_free(kvsws_session *s)
{
    if (!s)
        return;
    kvi_connect_abandon_job(s);
    s->pool = NULL; /* the last close runs inline: the client may be freed right after */
    kvi_connect_drop_websocket(s, s->phase != PHASE_CLOSED);
    while (s->queue_head) {
        kvsws_event *next = s->queue_head->next;
        kvsws_event_free(s->queue_head);
        s->queue_head = next;
    }
    kvi_connect_clear_pending(s);
    kvi_send_drop_held_locked(s); /* no other thread sends any more */
    if (s->epfd >= 0)
        close(s->epfd);
    if (s->timer_fd >= 0)
        close(s->timer_fd);
    pthread_mutex_destroy(&s->send_lock);
    pthread_cond_destroy(&s->job_cond);
    pthread_mutex_destroy(&s->job_lock);
    kvsws_error_free(s->job.err);
    free(s->job.ice_servers);
    free(s->channel_arn);
    free(s->channel_name);
    free(s->client_id);
    free(s->wss_endpoint);
    free(s->last_sender);
    kvi_stats_destroy(&s->stats);
    free(s);
}

kvsws_status kvsws_session_stats_json(kvsws_session *s, char **json_out, kvsws_error *err)
{
    kvi_error_clear(err);
    if (!s || !json_out)
        return kvi_error_set(err, KVSWS_E_PARAM_VALIDATION,
                             "session and json_out must not be NULL");
    *json_out = kvi_stats_json(&s->stats, kvi_session_now_ms());
    return *json_out ? KVSWS_OK : kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory");
}
