/* SPDX-License-Identifier: Apache-2.0 */
/* events.h - a session's events: the object the application reads, built once with its JSON. */
#ifndef KVSWS_SESSION_EVENTS_H
#define KVSWS_SESSION_EVENTS_H

#include "base/error.h"
#include "kvsws.h"

struct kvsws_event {
    kvsws_event_type type;
    kvsws_session_state state;
    char *sdp, *sender_id, *candidate, *sdp_mid, *ice_servers, *json;
    int sdp_mline_index;
    kvsws_error error;
    struct kvsws_event *next;
};

/* Writes the event's JSON (kvsws_event_json) from its fields, once, when it is queued. */
void kvi_event_build_json(kvsws_event *ev);
/* A zeroed event of that type (NULL out of memory). */
kvsws_event *kvi_event_new(kvsws_event_type type);

#endif
