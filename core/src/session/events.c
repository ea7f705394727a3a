/* SPDX-License-Identifier: Apache-2.0 */
/* events.c - a session's events: made, given their JSON, read through the public accessors. */
#include "session/events.h"

#include <cjson/cJSON.h>
#include <stdlib.h>

#include "base/error.h"

static const char *const STATE_NAMES[] = {"new",        "connecting",   "joining",
                                          "connected", "reconnecting", "closed"};
static const char *const EVENT_NAMES[] = {"none",         "state",   "offer", "ice_candidate",
                                          "ice_servers",  "status",  "closed"};

#define OR_EMPTY(x) ((x) ? (x) : "")

const char *kvsws_session_state_name(kvsws_session_state state)
{
    return (unsigned)state < sizeof STATE_NAMES / sizeof STATE_NAMES[0] ? STATE_NAMES[state]
                                                                          : "unknown";
}

void kvi_event_build_json(kvsws_event *ev)
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

kvsws_event *kvi_event_new(kvsws_event_type type)
{
    kvsws_event *ev = calloc(1, sizeof *ev);
    if (ev) {
        ev->type = type;
        ev->sdp_mline_index = -1;
    }
    return ev;
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
