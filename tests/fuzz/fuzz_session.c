/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_session.c - libFuzzer target for what a storage session does with each signaling message
 * it receives (signaling.c's decode, then messages.c's handling), message after message, as the
 * session's reader does between reconnects: offers, candidates before and after their offer,
 * GO_AWAY, RECONNECT_ICE_SERVER, STATUS_RESPONSE and stray frames. Then the application answers
 * the last offer. Checked: every event is whole and its JSON parses, no candidate comes before
 * an offer, states only move as they may.
 * messages.c is compiled into this file (the archive's copy stays out), so the reader's own
 * static handler runs; the network steps it may start fail at once (a closed loopback port).
 * Input: byte 0 picks the role, then messages separated by 0xFF bytes. Build: see README.md. */
#include "session/messages.c"

#include <cjson/cJSON.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ARN "arn:aws:kinesisvideo:us-west-2:123456789012:channel/fuzz/1234567890123"

static kvsws_client *fuzz_client(void)
{
    static kvsws_client *c;
    if (!c) {
        kvsws_config *cfg = kvsws_config_new();
        kvsws_config_set_str(cfg, KVSWS_OPT_REGION, "us-west-2", NULL);
        kvsws_config_set_str(cfg, KVSWS_OPT_ACCESS_KEY_ID, "AKIDFUZZ", NULL);
        kvsws_config_set_str(cfg, KVSWS_OPT_SECRET_ACCESS_KEY, "fuzz-secret", NULL);
        kvsws_config_set_str(cfg, KVSWS_OPT_ENDPOINT_URL, "https://127.0.0.1:1", NULL);
        kvsws_config_set_str(cfg, KVSWS_OPT_CONFIG_FILE, "/nonexistent/fuzz-config", NULL);
        kvsws_config_set_str(cfg, KVSWS_OPT_CREDENTIALS_FILE, "/nonexistent/fuzz-creds", NULL);
        kvsws_config_set_int(cfg, KVSWS_OPT_MAX_ATTEMPTS, 1, NULL);
        kvsws_config_set_int(cfg, KVSWS_OPT_CONNECT_TIMEOUT_MS, 200, NULL);
        if (kvsws_client_new(cfg, &c, NULL) != KVSWS_OK)
            abort();
        kvsws_config_free(cfg);
    }
    return c;
}

typedef struct seen {
    int offers;       /* offers delivered since the last (re)join */
    char *last_sdp;   /* the last offer, for the answer */
} seen;

/* Takes every queued event, checking each. */
static void drain(kvsws_session *s, seen *v)
{
    while (s->queue_head) {
        kvsws_event *ev = s->queue_head;
        s->queue_head = ev->next;
        if (!s->queue_head)
            s->queue_tail = NULL;
        ev->next = NULL;
        cJSON *doc = cJSON_Parse(kvsws_event_json(ev));
        if (!doc)
            abort();
        cJSON_Delete(doc);
        switch (kvsws_event_get_type(ev)) {
        case KVSWS_EVENT_OFFER:
            if (!ev->sdp)
                abort();
            v->offers++;
            free(v->last_sdp);
            v->last_sdp = strdup(ev->sdp);
            break;
        case KVSWS_EVENT_ICE_CANDIDATE:
            if (!ev->candidate || v->offers == 0)
                abort();
            break;
        case KVSWS_EVENT_STATUS:
            if (kvsws_event_error(ev)->status == KVSWS_OK)
                abort();
            break;
        case KVSWS_EVENT_STATE:
        case KVSWS_EVENT_CLOSED:
            if (kvsws_event_state(ev) == KVSWS_STATE_RECONNECTING && !kvsws_event_error(ev)->status)
                abort();
            break;
        case KVSWS_EVENT_ICE_SERVERS:
            break;
        default:
            abort();
        }
        kvsws_event_free(ev);
    }
}

/* One received text message, as kvi_messages_read handles it. */
static void receive(kvsws_session *s, const char *text, size_t len)
{
    kvi_sig_message m;
    const char *why = NULL;
    if (kvi_sig_decode(text, len, &m, &why) != 0)
        return;
    if (m.type != KVI_SIG_IGNORED)
        handle_message(s, &m);
    kvi_sig_message_free(&m);
    /* A step the message started (the ICE refresh) ran inline: its results, as step() applies
     * them. */
    if (s->job.kind != JOB_NONE && kvi_connect_job_done(s))
        kvi_connect_finish_job(s);
}

/* What a successful reconnect leaves: joined again, waiting for a new offer. */
static void rejoined(kvsws_session *s, seen *v)
{
    kvi_connect_clear_pending(s);
    s->phase = PHASE_JOINING;
    s->offer_deadline = kvi_session_now_ms() + 3600 * 1000;
    kvi_session_set_state(s, KVSWS_STATE_JOINING, NULL);
    v->offers = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    kvsws_session *s = NULL;
    if (kvsws_session_new(fuzz_client(), &s, NULL) != KVSWS_OK)
        abort();
    int viewer = data[0] & 1;
    kvsws_session_set_str(s, KVSWS_SESSION_OPT_CHANNEL_ARN, ARN, NULL);
    if (viewer) {
        kvsws_session_set_int(s, KVSWS_SESSION_OPT_ROLE, KVSWS_ROLE_VIEWER, NULL);
        kvsws_session_set_str(s, KVSWS_SESSION_OPT_CLIENT_ID, "fuzz-viewer", NULL);
    }
    seen v = {0, NULL};
    rejoined(s, &v);
    /* The join step would have fetched the endpoints: no discovery call for the ICE refresh. */
    s->have_endpoints = 1;

    const uint8_t *p = data + 1, *end = data + size;
    while (p < end) {
        const uint8_t *sep = memchr(p, 0xff, (size_t)(end - p));
        size_t n = (size_t)((sep ? sep : end) - p);
        /* The reader's copy: NUL-terminated, exact size. */
        char *text = malloc(n + 1);
        if (!text)
            abort();
        memcpy(text, p, n);
        text[n] = '\0';
        receive(s, text, n);
        free(text);
        drain(s, &v);
        if (s->phase == PHASE_BACKOFF)
            rejoined(s, &v);
        p = sep ? sep + 1 : end;
    }
    drain(s, &v);
    /* The application answers the last offer (no socket: the send itself fails cleanly). */
    if (v.last_sdp) {
        kvsws_error *err = kvsws_error_new();
        if (kvsws_session_send_answer(s, v.last_sdp, NULL, err) == KVSWS_OK ||
            !*kvsws_error_message(err))
            abort();
        kvsws_session_send_candidate(s, "candidate:1 1 UDP 1 127.0.0.1 9 typ host", "0", 0,
                                     NULL, err);
        kvsws_error_free(err);
    }
    free(v.last_sdp);
    kvsws_session_free(s);
    return 0;
}

/* With -DKVSWS_FUZZ_STANDALONE: a main that replays files, for builds without libFuzzer. */
#include "standalone_main.h"
