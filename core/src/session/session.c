/* SPDX-License-Identifier: Apache-2.0 */
/* session.c - the storage session: connect, join, hand off the offer, keep it alive. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "api/call.h"
#include "api/client.h"
#include "api/operations.h"
#include "aws/aws_error.h"
#include "aws/endpoints.h"
#include "base/buf.h"
#include "base/error.h"
#include "base/pool.h"
#include "base/retry.h"
#include "base/url.h"
#include "session/session_stats.h"
#include "session/signaling.h"
#include "transport/websocket.h"

#define PRESIGN_EXPIRES_S 300
#define MAX_MESSAGE (1024 * 1024)
#define RECONNECT_BASE_MS 500
#define CLOSE_WAIT_MS 1000
#define MAX_PENDING_CANDIDATES 256
/* What one step reads at most before it returns to the application (the rest waits, and the
 * fd stays readable): a flooding server cannot hold next_event or the thread's other sessions. */
#define STEP_MAX_MESSAGES 64
#define STEP_MAX_MS 10
/* The signaling server may sustain this many frames a second (bursts of 10 s worth pass). */
#define DEFAULT_FLOOD_LIMIT 200
/* The correlation ids of the last messages sent: a STATUS_RESPONSE names one of them, or it is
 * not for us. 64 is 3 s of candidates at the service's 20 a second; answers come in ms. */
#define SENT_IDS 64
/* Candidates given before the answer to the current offer wait for it, up to this many: the
 * offerer can use them only once it has the answer, and pion or aiortc may hand them over first. */
#define MAX_HELD_CANDIDATES 100

struct kvsws_event {
    kvsws_event_type type;
    kvsws_session_state state;
    char *sdp, *sender_id, *candidate, *sdp_mid, *ice_servers, *json;
    int sdp_mline_index;
    kvsws_error error;
    struct kvsws_event *next;
};

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

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *const STATE_NAMES[] = {"new",        "connecting",   "joining",
                                          "connected", "reconnecting", "closed"};

const char *kvsws_session_state_name(kvsws_session_state state)
{
    return (unsigned)state < sizeof STATE_NAMES / sizeof STATE_NAMES[0] ? STATE_NAMES[state]
                                                                          : "unknown";
}

/* ---- events -------------------------------------------------------------------------------- */

static const char *const EVENT_NAMES[] = {"none",         "state",   "offer", "ice_candidate",
                                          "ice_servers",  "status",  "closed"};

static void event_build_json(kvsws_event *ev)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", EVENT_NAMES[ev->type]);
    if (ev->type == KVSWS_EVENT_STATE || ev->type == KVSWS_EVENT_CLOSED)
        cJSON_AddStringToObject(o, "state", kvsws_session_state_name(ev->state));
    if (ev->sdp)
        cJSON_AddStringToObject(o, "sdp", ev->sdp);
    if (ev->type == KVSWS_EVENT_OFFER || ev->type == KVSWS_EVENT_ICE_CANDIDATE)
        cJSON_AddStringToObject(o, "sender_id", ev->sender_id ? ev->sender_id : "");
    if (ev->candidate) {
        cJSON_AddStringToObject(o, "candidate", ev->candidate);
        if (ev->sdp_mid)
            cJSON_AddStringToObject(o, "sdp_mid", ev->sdp_mid);
        else
            cJSON_AddNullToObject(o, "sdp_mid");
        if (ev->sdp_mline_index >= 0)
            cJSON_AddNumberToObject(o, "sdp_mline_index", ev->sdp_mline_index);
        else
            cJSON_AddNullToObject(o, "sdp_mline_index");
    }
    if (ev->ice_servers)
        cJSON_AddItemToObject(o, "ice_servers", cJSON_Parse(ev->ice_servers));
    if (ev->error.status != KVSWS_OK) {
        cJSON *e = cJSON_AddObjectToObject(o, "error");
        cJSON_AddNumberToObject(e, "status", ev->error.status);
        cJSON_AddStringToObject(e, "status_name", kvsws_status_name(ev->error.status));
        cJSON_AddStringToObject(e, "code", kvsws_error_code(&ev->error));
        cJSON_AddStringToObject(e, "message", kvsws_error_message(&ev->error));
        cJSON_AddStringToObject(e, "operation", kvsws_error_operation(&ev->error));
        cJSON_AddNumberToObject(e, "http_status", ev->error.http_status);
        cJSON_AddStringToObject(e, "request_id", kvsws_error_request_id(&ev->error));
        if (*kvsws_error_correlation_id(&ev->error))
            cJSON_AddStringToObject(e, "correlation_id", kvsws_error_correlation_id(&ev->error));
        cJSON_AddBoolToObject(e, "retryable", ev->error.retryable);
    }
    ev->json = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
}

static kvsws_event *event_new(kvsws_event_type type)
{
    kvsws_event *ev = calloc(1, sizeof *ev);
    if (ev) {
        ev->type = type;
        ev->sdp_mline_index = -1;
    }
    return ev;
}

static void push(kvsws_session *s, kvsws_event *ev)
{
    if (!ev)
        return;
    event_build_json(ev);
    if (ev->error.status != KVSWS_OK)
        kvi_stats_error(&s->stats, &ev->error, now_ms());
    if (s->queue_tail)
        s->queue_tail->next = ev;
    else
        s->queue_head = ev;
    s->queue_tail = ev;
}

static void set_state(kvsws_session *s, kvsws_session_state state, const kvsws_error *why)
{
    if (s->state == state && state != KVSWS_STATE_RECONNECTING)
        return;
    s->state = state;
    kvi_stats_state(&s->stats, state, now_ms());
    /* a state change is INFO; coming back from a failure a recovery (WARN); the end on an
     * error ERROR */
    kvsws_log_level level = !why || !why->status            ? KVSWS_LOG_INFO
                            : state == KVSWS_STATE_CLOSED ? KVSWS_LOG_ERROR
                                                          : KVSWS_LOG_WARN;
    kvi_log(s->client, level, "session %s: %s%s%s",
            s->channel_arn ? s->channel_arn : s->channel_name,
            kvsws_session_state_name(state), why && why->status ? ": " : "",
            why && why->status ? kvsws_error_describe(why) : "");
    kvsws_event *ev = event_new(state == KVSWS_STATE_CLOSED ? KVSWS_EVENT_CLOSED
                                                            : KVSWS_EVENT_STATE);
    if (!ev)
        return;
    ev->state = state;
    if (why)
        kvi_error_copy(&ev->error, why);
    push(s, ev);
}

void kvsws_event_free(kvsws_event *ev)
{
    if (!ev)
        return;
    free(ev->sdp);
    free(ev->sender_id);
    free(ev->candidate);
    free(ev->sdp_mid);
    free(ev->ice_servers);
    free(ev->json);
    kvi_error_clear(&ev->error);
    free(ev);
}

#define OR_EMPTY(x) ((x) ? (x) : "")
kvsws_event_type kvsws_event_get_type(const kvsws_event *ev) { return ev ? ev->type : 0; }
kvsws_session_state kvsws_event_state(const kvsws_event *ev) { return ev ? ev->state : 0; }
const char *kvsws_event_sdp(const kvsws_event *ev) { return ev ? OR_EMPTY(ev->sdp) : ""; }
const char *kvsws_event_sender_id(const kvsws_event *ev)
{
    return ev ? OR_EMPTY(ev->sender_id) : "";
}
const char *kvsws_event_candidate(const kvsws_event *ev)
{
    return ev ? OR_EMPTY(ev->candidate) : "";
}
const char *kvsws_event_sdp_mid(const kvsws_event *ev) { return ev ? OR_EMPTY(ev->sdp_mid) : ""; }
int kvsws_event_sdp_mline_index(const kvsws_event *ev) { return ev ? ev->sdp_mline_index : -1; }
const char *kvsws_event_ice_servers(const kvsws_event *ev)
{
    return ev && ev->ice_servers ? ev->ice_servers : "[]";
}
const char *kvsws_event_json(const kvsws_event *ev) { return ev ? OR_EMPTY(ev->json) : "{}"; }
const kvsws_error *kvsws_event_error(const kvsws_event *ev) { return ev ? &ev->error : NULL; }

/* ---- options and lifecycle ----------------------------------------------------------------- */

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

/* The timer expiring now: a step runs at the next look at the fd. Any thread may call it. */
static void fire_timer_now(kvsws_session *s)
{
    struct itimerspec its = {.it_value = {.tv_sec = 0, .tv_nsec = 1}};
    timerfd_settime(s->timer_fd, 0, &its, NULL);
}

static void wake(kvsws_session *s)
{
    /* The flag first: a concurrent arm_timer that overwrites our expiry then sees it. */
    __atomic_store_n(&s->wake_pending, 1, __ATOMIC_SEQ_CST);
    fire_timer_now(s);
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
    kvi_stats_start(&s->stats, now_ms());
    s->phase = PHASE_CONNECT;
    wake(s);
    return KVSWS_OK;
}

int kvsws_session_fd(const kvsws_session *s) { return s ? s->epfd : -1; }

void kvsws_session_wake(kvsws_session *s)
{
    if (s)
        wake(s);
}

kvsws_session_state kvsws_session_get_state(const kvsws_session *s)
{
    return s ? s->state : KVSWS_STATE_CLOSED;
}

/* Errors the session raises itself: a code naming what happened, retryable, and the operation
 * "StorageSession" so they read like the others. */
static void set_session_code(kvsws_error *err, const char *code)
{
    if (!err)
        return;
    free(err->code);
    err->code = kvi_strdup(code);
    kvi_error_set_operation(err, "StorageSession");
    err->retryable = strcmp(code, "NoOfferReceived") != 0;
}

/* ---- the connect sequence ------------------------------------------------------------------ */

static kvsws_status call_json(kvsws_session *s, const char *op, cJSON *input, cJSON **output,
                              kvsws_error *err)
{
    s->call_requests = 0;
    if (!input)
        return kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory");
    kvsws_response *resp = NULL;
    /* every call of the session uses the endpoints looked up for its own role */
    kvsws_status st = kvi_call(s->client, op, s->role == KVSWS_ROLE_VIEWER ? "VIEWER" : "MASTER",
                               input, &s->cancel, &resp, err);
    cJSON_Delete(input);
    s->call_requests = resp ? resp->attempts : kvsws_error_attempts(err);
    if (st == KVSWS_OK && output) {
        *output = resp->output; /* the answer as parsed once, by the call */
        resp->output = NULL;
    }
    kvsws_response_free(resp);
    return st;
}

static const char *json_str(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Channel ARN from the name, and a clear error when a master's channel has no storage. */
static kvsws_status describe_channel(kvsws_session *s, kvsws_error *err)
{
    if (!s->channel_arn) {
        cJSON *in = cJSON_CreateObject(), *out = NULL;
        cJSON_AddStringToObject(in, "ChannelName", s->channel_name);
        kvsws_status st = call_json(s, "DescribeSignalingChannel", in, &out, err);
        if (st)
            return st;
        const char *arn = json_str(cJSON_GetObjectItemCaseSensitive(out, "ChannelInfo"),
                                   "ChannelARN");
        s->channel_arn = kvi_strdup(arn);
        cJSON_Delete(out);
        if (!s->channel_arn)
            return kvi_error_set(err, KVSWS_E_BAD_RESPONSE,
                                 "DescribeSignalingChannel returned no ChannelARN");
    }
    cJSON *in = cJSON_CreateObject(), *out = NULL;
    cJSON_AddStringToObject(in, "ChannelARN", s->channel_arn);
    kvsws_status st = call_json(s, "DescribeMediaStorageConfiguration", in, &out, err);
    if (st)
        return st;
    const char *status = json_str(cJSON_GetObjectItemCaseSensitive(out,
                                                                   "MediaStorageConfiguration"),
                                  "Status");
    if (!status || strcmp(status, "ENABLED") != 0) {
        st = kvi_error_set(err, KVSWS_E_STORAGE_NOT_ENABLED,
                           "The channel %s has no media storage (its MediaStorageConfiguration "
                           "Status is %s): enable it with UpdateMediaStorageConfiguration before "
                           "joining a storage session",
                           s->channel_arn, status ? status : "missing");
        kvi_error_set_operation(err, "DescribeMediaStorageConfiguration"); /* what told us */
    }
    cJSON_Delete(out); /* status points into it */
    return st;
}

static const char *role_name(const kvsws_session *s)
{
    return s->role == KVSWS_ROLE_VIEWER ? "VIEWER" : "MASTER";
}

static kvsws_status find_endpoints(kvsws_session *s, kvsws_error *err)
{
    cJSON *in = cJSON_CreateObject(), *out = NULL;
    cJSON_AddStringToObject(in, "ChannelARN", s->channel_arn);
    cJSON *cfg = cJSON_AddObjectToObject(in, "SingleMasterChannelEndpointConfiguration");
    cJSON *protocols = cJSON_AddArrayToObject(cfg, "Protocols");
    cJSON_AddItemToArray(protocols, cJSON_CreateString("WSS"));
    cJSON_AddItemToArray(protocols, cJSON_CreateString("HTTPS"));
    cJSON_AddItemToArray(protocols, cJSON_CreateString("WEBRTC"));
    cJSON_AddStringToObject(cfg, "Role", role_name(s));
    kvsws_status st = call_json(s, "GetSignalingChannelEndpoint", in, &out, err);
    if (st)
        return st;
    const char *wss = NULL, *https = NULL, *webrtc = NULL;
    const cJSON *item;
    cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(out, "ResourceEndpointList"))
    {
        const char *p = json_str(item, "Protocol"), *e = json_str(item, "ResourceEndpoint");
        if (!p || !e)
            continue;
        if (!strcmp(p, "WSS"))
            wss = e;
        else if (!strcmp(p, "HTTPS"))
            https = e;
        else if (!strcmp(p, "WEBRTC"))
            webrtc = e;
    }
    const char *why = NULL;
    if (!wss || kvi_endpoint_validate(wss, 1, &why) != 0) {
        cJSON_Delete(out);
        return kvi_error_set(err, KVSWS_E_BAD_RESPONSE,
                             "GetSignalingChannelEndpoint returned no usable WSS endpoint");
    }
    free(s->wss_endpoint);
    s->wss_endpoint = kvi_strdup(wss);
    kvi_client_seed_endpoints(s->client, s->channel_arn, role_name(s), webrtc, https);
    cJSON_Delete(out);
    s->have_endpoints = 1;
    return KVSWS_OK;
}

/* GetIceServerConfig, turned into RTCIceServer-shaped JSON for the reader to deliver. */
static kvsws_status fetch_ice_servers(kvsws_session *s, kvsws_error *err)
{
    cJSON *in = cJSON_CreateObject(), *out = NULL;
    cJSON_AddStringToObject(in, "ChannelARN", s->channel_arn);
    if (s->client_id)
        cJSON_AddStringToObject(in, "ClientId", s->client_id);
    cJSON_AddStringToObject(in, "Service", "TURN");
    kvsws_status st = call_json(s, "GetIceServerConfig", in, &out, err);
    if (st)
        return st;
    cJSON *servers = cJSON_CreateArray();
    int64_t min_refresh_at = 0;
    /* The regional STUN server, as the KVS SDKs add it; TURN comes from the service. */
    const char *endpoint = s->client->control_endpoint;
    if (strstr(endpoint, ".amazonaws.com")) {
        cJSON *stun = cJSON_CreateObject();
        cJSON *urls = cJSON_AddArrayToObject(stun, "urls");
        kvi_buf url = KVI_BUF_INIT;
        kvi_buf_printf(&url, "stun:stun.kinesisvideo.%s.amazonaws.com:443", s->client->region);
        cJSON_AddItemToArray(urls, cJSON_CreateString(kvi_buf_str(&url)));
        kvi_buf_free(&url);
        cJSON_AddItemToArray(servers, stun);
    }
    const cJSON *item;
    cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(out, "IceServerList"))
    {
        cJSON *server = cJSON_CreateObject();
        cJSON *uris = cJSON_GetObjectItemCaseSensitive(item, "Uris");
        cJSON_AddItemToObject(server, "urls",
                              cJSON_IsArray(uris) ? cJSON_Duplicate(uris, 1) : cJSON_CreateArray());
        const char *user = json_str(item, "Username"), *pass = json_str(item, "Password");
        if (user)
            cJSON_AddStringToObject(server, "username", user);
        if (pass)
            cJSON_AddStringToObject(server, "credential", pass);
        const cJSON *ttl = cJSON_GetObjectItemCaseSensitive(item, "Ttl");
        if (cJSON_IsNumber(ttl)) {
            cJSON_AddNumberToObject(server, "ttl", ttl->valuedouble);
            /* a minute early, so a rejoin never hands out credentials about to expire */
            int64_t at = now_ms() + ((int64_t)ttl->valuedouble - 60) * 1000;
            if (min_refresh_at == 0 || at < min_refresh_at)
                min_refresh_at = at;
        }
        cJSON_AddItemToArray(servers, server);
    }
    cJSON_Delete(out);
    s->ice_refresh_at = min_refresh_at;
    free(s->job.ice_servers);
    s->job.ice_servers = cJSON_PrintUnformatted(servers);
    cJSON_Delete(servers);
    return KVSWS_OK;
}

static void close_politely(void *ws) { kvi_ws_close(ws, CLOSE_WAIT_MS); }

static void drop_websocket(kvsws_session *s, int polite)
{
    pthread_mutex_lock(&s->send_lock);
    kvi_ws *ws = s->ws;
    s->ws = NULL;
    pthread_mutex_unlock(&s->send_lock);
    if (!ws)
        return;
    epoll_ctl(s->epfd, EPOLL_CTL_DEL, kvi_ws_socket(ws), NULL);
    /* the polite close waits up to 1 s for the server's reply: a worker does the waiting */
    if (!polite)
        kvi_ws_close(ws, 0);
    else if (!s->pool || kvi_pool_submit(s->pool, close_politely, ws) != 0)
        kvi_ws_close(ws, CLOSE_WAIT_MS);
}

/* Whether the reader hears from the WebSocket: not while a step is in flight, so it neither
 * reads frames out of order nor spins on a socket it leaves alone. */
static void watch_websocket(kvsws_session *s, int on)
{
    if (!s->ws)
        return;
    struct epoll_event ee = {.events = EPOLLIN, .data.fd = kvi_ws_socket(s->ws)};
    epoll_ctl(s->epfd, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, kvi_ws_socket(s->ws), &ee);
}

/* Presigns the WSS URL with fresh credentials, by the server's clock as far as the client knows
 * it, for no longer than the credentials last; connects. */
static kvsws_status presign_and_connect(kvsws_session *s, const kvi_url *url,
                                       kvi_ws_refusal *refusal, kvsws_error *err)
{
    kvi_credentials creds;
    memset(&creds, 0, sizeof creds);
    kvsws_status st = kvi_credential_chain_get(s->client->credentials, time(NULL), 300, &creds,
                                               err);
    if (st)
        return st;
    time_t now = kvi_client_now(s->client);
    int expires = PRESIGN_EXPIRES_S;
    if (creds.expiration) {
        time_t left = creds.expiration - time(NULL);
        if (left < expires)
            expires = left > 1 ? (int)left : 1;
    }
    kvi_buf query = KVI_BUF_INIT, full = KVI_BUF_INIT, path = KVI_BUF_INIT;
    kvi_buf_puts(&query, "X-Amz-ChannelARN=");
    kvi_uri_encode(&query, s->channel_arn, strlen(s->channel_arn), 0);
    if (s->role == KVSWS_ROLE_VIEWER) {
        kvi_buf_puts(&query, "&X-Amz-ClientId=");
        kvi_uri_encode(&query, s->client_id, strlen(s->client_id), 0);
    }
    kvi_header host = {"host", url->authority};
    kvi_buf_printf(&path, "%s/", url->path);
    kvi_sign_request req = {"GET", kvi_buf_str(&path), kvi_buf_str(&query), &host, 1, NULL, 0};
    kvi_sign_credentials sc = {creds.access_key_id, creds.secret_access_key, creds.session_token};
    kvi_sign_config cfg = {s->client->region, "kinesisvideo", now, 1, 0, 0, expires, NULL,
                           .omit_canonical = 1};
    kvi_sign_result signed_url;
    memset(&signed_url, 0, sizeof signed_url);
    const char *why = NULL;
    if (kvi_sigv4_presign(s->client->signer, &sc, &cfg, &req, &signed_url, &why) != 0) {
        st = kvi_error_set(err, KVSWS_E_INTERNAL, "cannot presign the WSS URL: %s", why);
    } else {
        kvi_buf_printf(&full, "wss://%s%s?%s", url->authority, kvi_buf_str(&path),
                       kvi_buf_str(&signed_url.query));
        kvi_ws_options opts = {s->client->ca_bundle, s->client->ca_store,
                               s->client->connect_timeout_ms, s->client->user_agent, MAX_MESSAGE,
                               &s->cancel.flag, refusal, s->client->read_timeout_ms,
                               s->client->request_timeout_ms, (unsigned)s->flood_limit};
        st = kvi_ws_connect(kvi_buf_str(&full), &opts, &s->job.ws, err);
    }
    kvi_sign_result_free(&signed_url);
    kvi_buf_free_secret(&full); /* it held the session token */
    kvi_buf_free(&query);
    kvi_buf_free(&path);
    kvi_credentials_free(&creds);
    return st;
}

/* Connects the WebSocket; a refusal that says our clock is off teaches the client the server's
 * clock (its Date header) and gets one more try, as the calls do. */
static kvsws_status connect_websocket(kvsws_session *s, kvsws_error *err)
{
    kvi_url url;
    const char *why = NULL;
    if (kvi_url_parse(s->wss_endpoint, &url, &why) != 0)
        return kvi_error_set(err, KVSWS_E_BAD_RESPONSE, "invalid WSS endpoint: %s", why);
    kvi_ws_refusal refusal;
    memset(&refusal, 0, sizeof refusal);
    kvsws_status st = presign_and_connect(s, &url, &refusal, err);
    if (st && refusal.clock_skew && kvi_client_learn_clock_skew(s->client, refusal.date) == 0) {
        memset(&refusal, 0, sizeof refusal);
        st = presign_and_connect(s, &url, &refusal, err);
    }
    kvi_url_free(&url);
    if (st) /* the WebSocket's upgrade is the signaling service's ConnectAs* operation */
        kvi_error_set_operation(err, s->role == KVSWS_ROLE_VIEWER ? "ConnectAsViewer"
                                                                   : "ConnectAsMaster");
    return st;
}

static kvsws_status join(kvsws_session *s, kvsws_error *err)
{
    cJSON *in = cJSON_CreateObject();
    cJSON_AddStringToObject(in, "channelArn", s->channel_arn);
    if (s->role == KVSWS_ROLE_VIEWER)
        cJSON_AddStringToObject(in, "clientId", s->client_id);
    s->join_attempts++;
    kvsws_status st = call_json(s, s->role == KVSWS_ROLE_VIEWER ? "JoinStorageSessionAsViewer"
                                                                : "JoinStorageSession",
                                in, NULL, err);
    kvi_stats_join(&s->stats, s->call_requests, now_ms());
    if (st == KVSWS_OK)
        s->offer_deadline = now_ms() + s->offer_timeout_ms;
    return st;
}

static void clear_pending(kvsws_session *s)
{
    for (size_t i = 0; i < s->pending_count; i++)
        kvi_sig_message_free(&s->pending[i]);
    free(s->pending);
    s->pending = NULL;
    s->pending_count = 0;
}

/* A failure in a (re)connect step: come back later if it can pass, else close for good. */
static void fail_step(kvsws_session *s, kvsws_error *step_err, kvi_reconnect_cause cause)
{
    drop_websocket(s, 0);
    kvsws_status st = kvsws_error_status(step_err);
    int transient = kvsws_error_retryable(step_err) || st == KVSWS_E_CONNECT ||
                    st == KVSWS_E_CONNECT_TIMEOUT || st == KVSWS_E_READ_TIMEOUT ||
                    st == KVSWS_E_TRANSPORT || st == KVSWS_E_EXPIRED_TOKEN ||
                    st == KVSWS_E_SESSION_EXPIRED;
    if (!transient || st == KVSWS_E_CANCELLED) {
        s->phase = PHASE_CLOSED;
        set_state(s, KVSWS_STATE_CLOSED, step_err);
        return;
    }
    s->reconnect_attempts++;
    int attempts = s->reconnect_attempts + s->peer_faults;
    int shift = attempts < 16 ? attempts - 1 : 15;
    int64_t cap = RECONNECT_BASE_MS << shift;
    if (cap > s->reconnect_max_ms)
        cap = s->reconnect_max_ms;
    /* Equal jitter: never a hot loop, never in lockstep with other sessions. */
    int64_t delay = cap / 2 + (int64_t)(kvi_client_random(s->client) * (double)(cap / 2));
    int64_t now = now_ms();
    s->retry_at = now + delay;
    s->phase = PHASE_BACKOFF;
    kvi_stats_reconnect(&s->stats, cause, now, s->retry_at);
    set_state(s, KVSWS_STATE_RECONNECTING, step_err);
}

/* Everything from "nothing" to "joined, waiting for the offer". Blocking, bounded: a worker's. */
static kvsws_status connect_steps(kvsws_session *s, kvsws_error *err)
{
    kvsws_status st = KVSWS_OK;
    if (!s->have_endpoints) {
        if (s->role == KVSWS_ROLE_MASTER || !s->channel_arn)
            st = describe_channel(s, err);
        if (!st)
            st = find_endpoints(s, err);
        if (!st)
            st = fetch_ice_servers(s, err);
    } else if (s->ice_refresh_at && now_ms() >= s->ice_refresh_at) {
        st = fetch_ice_servers(s, err); /* the next offer needs TURN credentials that work */
    }
    if (!st)
        st = connect_websocket(s, err);
    if (!st) {
        s->join_attempts = 0;
        st = join(s, err);
    }
    return st;
}

/* On a worker: the step, then "done" and a wake-up; after the unlock it leaves s alone, since
 * kvsws_session_free may free it at once. */
static void run_job(void *arg)
{
    kvsws_session *s = arg;
    switch (s->job.kind) {
    case JOB_CONNECT: s->job.st = connect_steps(s, s->job.err); break;
    case JOB_JOIN: s->job.st = join(s, s->job.err); break;
    default: s->job.st = fetch_ice_servers(s, s->job.err); break;
    }
    pthread_mutex_lock(&s->job_lock);
    s->job.done = 1;
    wake(s);
    pthread_cond_signal(&s->job_cond);
    pthread_mutex_unlock(&s->job_lock);
}

static void arm_timer(kvsws_session *s, int64_t in_ms);

static void start_job(kvsws_session *s, job_kind kind)
{
    s->job.kind = kind;
    s->job.done = 0;
    s->job.st = KVSWS_OK;
    kvi_error_clear(s->job.err);
    watch_websocket(s, 0);
    arm_timer(s, -1); /* no deadlines while the step is out: it is what comes next */
    if (!s->pool || kvi_pool_submit(s->pool, run_job, s) != 0)
        run_job(s); /* no workers: block, as before, rather than fail */
}

static int job_done(kvsws_session *s)
{
    pthread_mutex_lock(&s->job_lock);
    int done = s->job.done;
    pthread_mutex_unlock(&s->job_lock);
    return done;
}

/* Waits for a step in flight (stopped early by the cancel flag) and drops what it left. */
static void abandon_job(kvsws_session *s)
{
    if (s->job.kind == JOB_NONE)
        return;
    __atomic_store_n(&s->cancel.flag, 1, __ATOMIC_SEQ_CST); /* the session is going: no waiting */
    pthread_mutex_lock(&s->job_lock);
    while (!s->job.done)
        pthread_cond_wait(&s->job_cond, &s->job_lock);
    pthread_mutex_unlock(&s->job_lock);
    kvi_ws_close(s->job.ws, 0);
    s->job.ws = NULL;
    s->job.kind = JOB_NONE;
}

/* The reader's half of run_connect: what happens before the network. */
static void start_connect(kvsws_session *s)
{
    if (s->state != KVSWS_STATE_RECONNECTING)
        set_state(s, KVSWS_STATE_CONNECTING, NULL);
    drop_websocket(s, 0);
    clear_pending(s);
    kvi_stats_connecting(&s->stats);
    start_job(s, JOB_CONNECT);
}

/* A join the service throttled (a TPS ClientLimitExceededException, ThrottlingException) after
 * the call's own retries; "maximum number of viewers" is no throttle and ends the session. */
static int join_throttled(const kvsws_error *err)
{
    const char *op = kvsws_error_operation(err);
    return (!strcmp(op, "JoinStorageSession") || !strcmp(op, "JoinStorageSessionAsViewer")) &&
           kvsws_error_status(err) >= 200 && kvsws_error_status(err) < 300 &&
           kvi_retry_is_throttle(kvsws_error_code(err), kvsws_error_message(err));
}

/* Joins again on the same WebSocket, no sooner than the join interval (the offer timeout, 6 s
 * by default as the KVS JS sample waits), doubling while the throttling lasts: a quick retry
 * would only spend the channel's join rate again. */
static void rejoin_after_throttle(kvsws_session *s, const kvsws_error *why)
{
    s->join_attempts--; /* not an unanswered join: it never reached the storage service */
    int shift = s->join_throttles < 10 ? s->join_throttles : 10;
    s->join_throttles++;
    int64_t cap = s->reconnect_max_ms > s->offer_timeout_ms ? s->reconnect_max_ms
                                                              : s->offer_timeout_ms;
    int64_t wait = s->offer_timeout_ms << shift;
    if (wait > cap)
        wait = cap;
    wait += (int64_t)(kvi_client_random(s->client) * (double)(wait / 2)); /* never in lockstep */
    int64_t now = now_ms();
    s->phase = PHASE_JOINING;
    s->offer_deadline = now + wait;
    kvi_stats_reconnect(&s->stats, KVI_RECONNECT_ERROR, now, s->offer_deadline);
    set_state(s, KVSWS_STATE_RECONNECTING, why);
}

/* A finished step's results, applied with the events in the order the inline steps had. */
static void finish_job(kvsws_session *s)
{
    job_kind kind = s->job.kind;
    s->job.kind = JOB_NONE;
    if (s->job.ws) {
        pthread_mutex_lock(&s->send_lock);
        s->ws = s->job.ws;
        pthread_mutex_unlock(&s->send_lock);
        s->job.ws = NULL;
    }
    watch_websocket(s, 1);
    if (s->job.ice_servers) {
        kvsws_event *ev = event_new(KVSWS_EVENT_ICE_SERVERS);
        if (ev)
            ev->ice_servers = s->job.ice_servers;
        else
            free(s->job.ice_servers);
        s->job.ice_servers = NULL;
        push(s, ev);
    }
    kvsws_status st = s->job.st;
    if (kind == JOB_ICE) {
        if (st != KVSWS_OK) {
            kvi_log(s->client, KVSWS_LOG_WARN, "refreshing ICE servers failed: %s",
                    kvsws_error_describe(s->job.err));
            kvi_stats_error(&s->stats, s->job.err, now_ms());
        }
    } else if (st != KVSWS_OK && s->ws && join_throttled(s->job.err)) {
        rejoin_after_throttle(s, s->job.err);
    } else if (st != KVSWS_OK) {
        /* the endpoints may have moved: ask again next time */
        if (kind == JOB_CONNECT && (st == KVSWS_E_CONNECT || st == KVSWS_E_RESOURCE_NOT_FOUND))
            s->have_endpoints = 0;
        fail_step(s, s->job.err, KVI_RECONNECT_ERROR);
    } else {
        s->join_throttles = 0;
        s->phase = PHASE_JOINING;
        set_state(s, KVSWS_STATE_JOINING, NULL); /* also back from a throttled join */
    }
}

/* ---- signaling messages -------------------------------------------------------------------- */

static void deliver_candidate(kvsws_session *s, kvi_sig_message *m)
{
    kvsws_event *ev = event_new(KVSWS_EVENT_ICE_CANDIDATE);
    if (!ev)
        return;
    ev->candidate = m->candidate;
    ev->sdp_mid = m->sdp_mid;
    ev->sdp_mline_index = m->sdp_mline_index;
    ev->sender_id = m->sender_client_id;
    m->candidate = m->sdp_mid = m->sender_client_id = NULL; /* moved into the event */
    push(s, ev);
}

static void drop_held_locked(kvsws_session *s)
{
    for (size_t i = 0; i < s->held_count; i++)
        free(s->held[i]);
    s->held_count = 0;
}

/* What this session sent with that correlation id ("SDP_ANSWER", "ICE_CANDIDATE"), or NULL. */
static const char *sent_action(kvsws_session *s, const char *correlation_id)
{
    const char *action = NULL;
    pthread_mutex_lock(&s->send_lock);
    for (size_t i = 0; correlation_id && i < SENT_IDS && !action; i++)
        if (s->sent[i].action && strcmp(s->sent[i].id, correlation_id) == 0)
            action = s->sent[i].action;
    pthread_mutex_unlock(&s->send_lock);
    return action;
}

/* The service refused a message we sent: a STATUS event named after it. A status for a message
 * we did not send (or a success) is not the application's business. */
static void status_response(kvsws_session *s, const kvi_sig_message *m)
{
    const char *action = sent_action(s, m->correlation_id);
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
    kvsws_event *ev = event_new(KVSWS_EVENT_STATUS);
    if (!ev)
        return;
    const char *type = m->error_type ? m->error_type : "";
    const char *description = m->description ? m->description : "";
    kvi_error_set_service(&ev->error, kvi_aws_error_status_for_code(type), type, description,
                          code, "", kvi_retry_is_retryable_service(type, code, description));
    kvi_error_set_operation(&ev->error, action);
    kvi_error_set_correlation_id(&ev->error, m->correlation_id);
    push(s, ev);
}

static void handle_message(kvsws_session *s, kvi_sig_message *m)
{
    switch (m->type) {
    case KVI_SIG_SDP_OFFER: {
        kvi_stats_offer(&s->stats, now_ms());
        pthread_mutex_lock(&s->send_lock);
        free(s->last_sender);
        s->last_sender = kvi_strdup(m->sender_client_id);
        s->awaiting_answer = 1;
        drop_held_locked(s); /* they were for the previous peer connection */
        pthread_mutex_unlock(&s->send_lock);
        kvsws_event *ev = event_new(KVSWS_EVENT_OFFER);
        if (ev) {
            ev->sdp = m->sdp;
            ev->sender_id = m->sender_client_id;
            m->sdp = m->sender_client_id = NULL;
            push(s, ev);
        }
        /* The service often sends candidates first: they follow their offer. */
        for (size_t i = 0; i < s->pending_count; i++)
            deliver_candidate(s, &s->pending[i]);
        clear_pending(s);
        s->phase = PHASE_CONNECTED;
        s->reconnect_attempts = 0;
        s->session_deadline = now_ms() + s->max_duration_ms;
        set_state(s, KVSWS_STATE_CONNECTED, NULL);
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
        set_session_code(why, "GoAway");
        drop_websocket(s, 1);
        s->reconnect_attempts = 0;
        s->peer_faults = 0; /* a server that says goodbye properly is not flooding us */
        s->retry_at = now_ms();
        s->phase = PHASE_BACKOFF;
        kvi_stats_reconnect(&s->stats, KVI_RECONNECT_GO_AWAY, s->retry_at, s->retry_at);
        set_state(s, KVSWS_STATE_RECONNECTING, why);
        kvsws_error_free(why);
        break;
    }
    case KVI_SIG_RECONNECT_ICE_SERVER:
        kvi_stats_reconnect(&s->stats, KVI_RECONNECT_ICE_REFRESH, 0, -1);
        start_job(s, JOB_ICE);
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
static void read_websocket(kvsws_session *s)
{
    kvsws_error *err = kvsws_error_new();
    int64_t stop_at = now_ms() + STEP_MAX_MS;
    for (int n = 0;; n++) {
        if (!s->ws || s->phase == PHASE_CLOSED || s->phase == PHASE_BACKOFF ||
            s->job.kind != JOB_NONE)
            break;
        if (n >= STEP_MAX_MESSAGES || now_ms() >= stop_at) {
            wake(s);
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
            drop_websocket(s, 1); /* on a worker: the server may still read our close frame */
            fail_step(s, err, KVI_RECONNECT_DROP);
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

/* ---- timers -------------------------------------------------------------------------------- */

static void run_timers(kvsws_session *s)
{
    int64_t now = now_ms();
    if (s->phase == PHASE_BACKOFF && now >= s->retry_at) {
        start_connect(s);
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
            set_session_code(err, "NoOfferReceived");
            drop_websocket(s, 1);
            s->phase = PHASE_CLOSED;
            set_state(s, KVSWS_STATE_CLOSED, err);
        } else {
            if (s->join_throttles)
                kvi_stats_connecting(&s->stats); /* the throttle's wait is over */
            else
                kvi_log(s->client, KVSWS_LOG_WARN, "no offer within %lld ms: joining again",
                        (long long)s->offer_timeout_ms);
            start_job(s, JOB_JOIN);
        }
        kvsws_error_free(err);
        return;
    }
    if (s->phase == PHASE_CONNECTED && now >= s->session_deadline) {
        /* Rejoin before the service ends the session at its 1 hour limit. */
        kvsws_error *why = kvsws_error_new();
        kvi_error_set(why, KVSWS_E_SESSION_EXPIRED,
                      "The storage session reached its maximum duration: rejoining");
        set_session_code(why, "SessionMaxDuration");
        s->retry_at = now;
        s->phase = PHASE_BACKOFF;
        kvi_stats_reconnect(&s->stats, KVI_RECONNECT_SESSION_LIMIT, now, now);
        drop_websocket(s, 1);
        set_state(s, KVSWS_STATE_RECONNECTING, why);
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
            set_session_code(why, "SignalingSilent");
            fail_step(s, why, KVI_RECONNECT_IDLE);
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
    int64_t now = now_ms(), at = -1;
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

static void arm_timer(kvsws_session *s, int64_t in_ms)
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
        if (!job_done(s))
            return; /* the worker wakes us when it is back */
        finish_job(s);
    }
    if (__atomic_load_n(&s->cancel.flag, __ATOMIC_SEQ_CST) && s->phase != PHASE_CLOSED) {
        drop_websocket(s, 1);
        s->phase = PHASE_CLOSED;
        set_state(s, KVSWS_STATE_CLOSED, NULL);
    }
    if (s->phase == PHASE_CONNECT && s->job.kind == JOB_NONE) {
        start_connect(s); /* finish_job moves the phase on */
    }
    if (s->job.kind == JOB_NONE)
        read_websocket(s);
    if (s->job.kind == JOB_NONE)
        run_timers(s);
    if (s->job.kind == JOB_NONE && s->phase != PHASE_CLOSED)
        arm_timer(s, next_deadline(s));
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
    int64_t give_up = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
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
            int64_t left = give_up - now_ms();
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

/* ---- sending ------------------------------------------------------------------------------- */

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
    drop_held_locked(s);
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
        wake(s); /* let the reader notice the broken socket */
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

void kvsws_session_close(kvsws_session *s)
{
    if (!s)
        return;
    __atomic_store_n(&s->cancel.flag, 1, __ATOMIC_SEQ_CST);
    wake(s);
}

void kvsws_session_free(kvsws_session *s)
{
    if (!s)
        return;
    abandon_job(s);
    s->pool = NULL; /* the last close runs inline: the client may be freed right after */
    drop_websocket(s, s->phase != PHASE_CLOSED);
    while (s->queue_head) {
        kvsws_event *next = s->queue_head->next;
        kvsws_event_free(s->queue_head);
        s->queue_head = next;
    }
    clear_pending(s);
    drop_held_locked(s); /* no other thread sends any more */
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
    *json_out = kvi_stats_json(&s->stats, now_ms());
    return *json_out ? KVSWS_OK : kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory");
}
