/* SPDX-License-Identifier: Apache-2.0 */
/* connect.c - a session's (re)connect steps on the client's workers: describe the channel,
 * find its endpoints, fetch the ICE servers, open the WebSocket, join; and how a failed step
 * comes back. */
#include "session/connect.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "api/call.h"
#include "api/client.h"
#include "aws/endpoints.h"
#include "base/buf.h"
#include "base/error.h"
#include "base/pool.h"
#include "base/retry.h"
#include "base/url.h"
#include "session/session_stats.h"
#include "session/signaling.h"
#include "session/state.h"
#include "transport/websocket.h"

#define PRESIGN_EXPIRES_S 300
#define MAX_MESSAGE (1024 * 1024)
#define RECONNECT_BASE_MS 500
#define CLOSE_WAIT_MS 1000

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
            int64_t at = kvi_session_now_ms() + ((int64_t)ttl->valuedouble - 60) * 1000;
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

void kvi_connect_drop_websocket(kvsws_session *s, int polite)
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
    kvi_stats_join(&s->stats, s->call_requests, kvi_session_now_ms());
    if (st == KVSWS_OK)
        s->offer_deadline = kvi_session_now_ms() + s->offer_timeout_ms;
    return st;
}

void kvi_connect_clear_pending(kvsws_session *s)
{
    for (size_t i = 0; i < s->pending_count; i++)
        kvi_sig_message_free(&s->pending[i]);
    free(s->pending);
    s->pending = NULL;
    s->pending_count = 0;
}

/* A failure in a (re)connect step: come back later if it can pass, else close for good. */
void kvi_connect_fail_step(kvsws_session *s, kvsws_error *step_err, kvi_reconnect_cause cause)
{
    kvi_connect_drop_websocket(s, 0);
    kvsws_status st = kvsws_error_status(step_err);
    int transient = kvsws_error_retryable(step_err) || st == KVSWS_E_CONNECT ||
                    st == KVSWS_E_CONNECT_TIMEOUT || st == KVSWS_E_READ_TIMEOUT ||
                    st == KVSWS_E_TRANSPORT || st == KVSWS_E_EXPIRED_TOKEN ||
                    st == KVSWS_E_SESSION_EXPIRED;
    if (!transient || st == KVSWS_E_CANCELLED) {
        s->phase = PHASE_CLOSED;
        kvi_session_set_state(s, KVSWS_STATE_CLOSED, step_err);
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
    int64_t now = kvi_session_now_ms();
    s->retry_at = now + delay;
    s->phase = PHASE_BACKOFF;
    kvi_stats_reconnect(&s->stats, cause, now, s->retry_at);
    kvi_session_set_state(s, KVSWS_STATE_RECONNECTING, step_err);
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
    } else if (s->ice_refresh_at && kvi_session_now_ms() >= s->ice_refresh_at) {
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
    kvi_session_wake_up(s);
    pthread_cond_signal(&s->job_cond);
    pthread_mutex_unlock(&s->job_lock);
}

void kvi_connect_start_job(kvsws_session *s, job_kind kind)
{
    s->job.kind = kind;
    s->job.done = 0;
    s->job.st = KVSWS_OK;
    kvi_error_clear(s->job.err);
    watch_websocket(s, 0);
    kvi_session_arm_timer(s, -1); /* no deadlines while the step is out: it is what comes next */
    if (!s->pool || kvi_pool_submit(s->pool, run_job, s) != 0)
        run_job(s); /* no workers: block, as before, rather than fail */
}

int kvi_connect_job_done(kvsws_session *s)
{
    pthread_mutex_lock(&s->job_lock);
    int done = s->job.done;
    pthread_mutex_unlock(&s->job_lock);
    return done;
}

/* Waits for a step in flight (stopped early by the cancel flag) and drops what it left. */
void kvi_connect_abandon_job(kvsws_session *s)
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

/* The reader's half of a connect: what happens before the network (connect_steps, on a worker,
 * does the rest). */
void kvi_connect_start(kvsws_session *s)
{
    if (s->state != KVSWS_STATE_RECONNECTING)
        kvi_session_set_state(s, KVSWS_STATE_CONNECTING, NULL);
    kvi_connect_drop_websocket(s, 0);
    kvi_connect_clear_pending(s);
    kvi_stats_connecting(&s->stats);
    kvi_connect_start_job(s, JOB_CONNECT);
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
    int64_t now = kvi_session_now_ms();
    s->phase = PHASE_JOINING;
    s->offer_deadline = now + wait;
    kvi_stats_reconnect(&s->stats, KVI_RECONNECT_ERROR, now, s->offer_deadline);
    kvi_session_set_state(s, KVSWS_STATE_RECONNECTING, why);
}

/* A finished step's results, applied with the events in the order the inline steps had. */
void kvi_connect_finish_job(kvsws_session *s)
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
        kvsws_event *ev = kvi_event_new(KVSWS_EVENT_ICE_SERVERS);
        if (ev)
            ev->ice_servers = s->job.ice_servers;
        else
            free(s->job.ice_servers);
        s->job.ice_servers = NULL;
        kvi_session_push(s, ev);
    }
    kvsws_status st = s->job.st;
    if (kind == JOB_ICE) {
        if (st != KVSWS_OK) {
            kvi_log(s->client, KVSWS_LOG_WARN, "refreshing ICE servers failed: %s",
                    kvsws_error_describe(s->job.err));
            kvi_stats_error(&s->stats, s->job.err, kvi_session_now_ms());
        }
    } else if (st != KVSWS_OK && s->ws && join_throttled(s->job.err)) {
        rejoin_after_throttle(s, s->job.err);
    } else if (st != KVSWS_OK) {
        /* the endpoints may have moved: ask again next time */
        if (kind == JOB_CONNECT && (st == KVSWS_E_CONNECT || st == KVSWS_E_RESOURCE_NOT_FOUND))
            s->have_endpoints = 0;
        kvi_connect_fail_step(s, s->job.err, KVI_RECONNECT_ERROR);
    } else {
        s->join_throttles = 0;
        s->phase = PHASE_JOINING;
        kvi_session_set_state(s, KVSWS_STATE_JOINING, NULL); /* also back from a throttled join */
    }
}
