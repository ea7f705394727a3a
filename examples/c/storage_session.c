/* SPDX-License-Identifier: Apache-2.0 */
/*
 * storage_session.c - stream live H.264 + Opus into a Kinesis Video Streams WebRTC storage session,
 * with kvsws for the signaling and GStreamer's webrtcbin as the WebRTC stack.
 *
 *   storage_session (--channel-name NAME | --channel-arn ARN) [--duration SECONDS]
 *                   [--ice-local-address IP]... [--no-turn] [--video-bitrate KBPS] [--log-level N]
 *
 * The AWS side is configured the way the AWS CLI is: region (AWS_REGION, the profile), the
 * credential chain (environment, shared files, credential_process), AWS_ENDPOINT_URL_KINESIS_VIDEO
 * and AWS_CA_BUNDLE.
 *
 * How the handoff works here (see README.md):
 *
 *  - One thread. A GLib main loop waits on kvsws_session_fd() with g_unix_fd_add(); when it is
 *    readable, on_session_fd() drains kvsws_session_next_event(session, 0, ...) until no event is
 *    left. kvsws does its work (connecting, joining, pings, timers, reconnecting) inside that call;
 *    the fd also becomes readable when one of kvsws's own timers is due, so nothing else has to
 *    poll it.
 *  - ICE_SERVERS: remembered; they configure the next webrtcbin (STUN and TURN).
 *  - OFFER: a new pipeline (the previous one, if any, is torn down): test video and audio,
 *    encoded to H.264 and Opus, payloaded with the payload types the offer uses, into sendonly
 *    transceivers of webrtcbin. The offer is set as remote description; once that is done and
 *    the media's caps have reached webrtcbin, the answer is created, set as local description,
 *    then sent with kvsws_session_send_answer().
 *  - ICE_CANDIDATE: handed to webrtcbin ("add-ice-candidate"). Local candidates from webrtcbin's
 *    "on-ice-candidate" go back with kvsws_session_send_candidate().
 *  - STATE reconnecting: the pipeline is torn down; the storage service sends a new offer once
 *    kvsws has rejoined, and that offer builds a new pipeline.
 *  - CLOSED: the error (if any) is printed and the main loop quits.
 *
 * GStreamer calls back on its own threads (the answer's promise, "on-ice-candidate",
 * "notify::connection-state"). kvsws_session_send_answer() and kvsws_session_send_candidate() are
 * thread-safe by contract, so those callbacks call them directly, each with its own kvsws_error.
 */
#define GST_USE_UNSTABLE_API 1 /* gst/webrtc/webrtc.h warns without it (-Werror) */

#include <glib-unix.h>
#include <glib.h>
#include <gst/gst.h>
#include <gst/sdp/sdp.h>
#include <gst/webrtc/webrtc.h>
#include <json-glib/json-glib.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kvsws.h>

/* ---- output -------------------------------------------------------------------------------- */

static gint64 g_t0_us; /* when the session started (monotonic), for the timestamps */
static GMutex g_print_lock;

/* One line on stdout, "[  1.234] text", from any thread. */
static void say(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    gchar *text = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_mutex_lock(&g_print_lock);
    printf("[%8.3f] %s\n", (double)(g_get_monotonic_time() - g_t0_us) / 1e6, text);
    fflush(stdout);
    g_mutex_unlock(&g_print_lock);
    g_free(text);
}

static double ms_since_start(gint64 at_us) { return (double)(at_us - g_t0_us) / 1000.0; }

/* ---- state --------------------------------------------------------------------------------- */

typedef struct App App;

/* One offered m-line, and what we send on it. */
typedef struct {
    guint index;     /* the m-line's index in the offer (and so in the answer) */
    gchar *kind;     /* "video" / "audio" */
    gchar *mid;      /* its a=mid, or NULL */
    int pt;          /* the payload type the offer uses for H.264 / Opus; -1 if none */
    GstPad *sink;    /* webrtcbin's sink pad for it */
    gint caps_seen;  /* atomic: caps arrived at that pad */
} MLine;

/* One peer connection: a pipeline around a webrtcbin, for one offer. Reference counted: the main
 * loop holds one reference, and every GStreamer callback that may run on another thread holds
 * its own, so a callback that comes late finds the Peer alive (and marked closing). */
typedef struct {
    App *app;
    int number;            /* 1 for the first offer, 2 for the next... */
    GstElement *pipeline;
    GstElement *webrtc;
    guint bus_watch;
    MLine *mlines;
    guint n_mlines;
    gint closing;          /* atomic: set before the pipeline is torn down */
    gint connected;        /* atomic: webrtcbin's connection-state reached "connected" */
    gint answer_pending;   /* atomic: what the answer waits for (the offer set, caps per pad) */
} Peer;

struct App {
    /* options */
    gchar *channel_name, *channel_arn;
    int duration_s;
    gchar **local_addresses;
    gboolean no_turn;
    int video_kbps;
    int log_level;

    kvsws_client *client;
    kvsws_session *session;
    kvsws_error *err; /* for calls made on the main thread only */
    GMainLoop *loop;
    guint fd_watch;

    gchar *stun_uri;     /* stun://host:port, from the latest ICE_SERVERS */
    GPtrArray *turn_uris; /* turn(s)://user:pass@host:port?transport=..., escaped */

    Peer *peer;          /* the current peer connection, or NULL */
    int exit_code;
    gboolean closed;

    /* for the summary */
    int offers, remote_candidates, reconnects, ice_server_events;
    gint answers_sent, local_candidates_sent; /* atomic: sent from GStreamer's threads */
    gint64 first_offer_us;
    gint connected_once;      /* atomic: first_connected_us is written by whoever sets it */
    gint64 first_connected_us; /* read after every pipeline is stopped */
};

static Peer *peer_ref(Peer *p)
{
    return g_atomic_rc_box_acquire(p);
}

static void peer_clear(Peer *p)
{
    for (guint i = 0; i < p->n_mlines; i++) {
        g_free(p->mlines[i].kind);
        g_free(p->mlines[i].mid);
        if (p->mlines[i].sink)
            gst_object_unref(p->mlines[i].sink);
    }
    g_free(p->mlines);
}

static void peer_unref(gpointer p)
{
    g_atomic_rc_box_release_full(p, (GDestroyNotify)peer_clear);
}

/* For g_signal_connect_data(): the handler's reference goes when the handler does. */
static void peer_unref_closure(gpointer p, GClosure *closure G_GNUC_UNUSED)
{
    peer_unref(p);
}

static gboolean peer_closing(Peer *p) { return g_atomic_int_get(&p->closing); }

static const char *mid_of(Peer *p, guint index)
{
    for (guint i = 0; i < p->n_mlines; i++)
        if (p->mlines[i].index == index)
            return p->mlines[i].mid;
    return NULL;
}

/* ---- ICE servers --------------------------------------------------------------------------- */

/* "turn:host:port?transport=udp" + user + pass -> "turn://user:pass@host:port?transport=udp".
 * webrtcbin parses the URI with gst_uri_from_string_escaped() and unescapes the user and the
 * password itself, so both must be percent-escaped: KVS TURN user names look like
 * "1700000000:djE6YXJu..." and the passwords are base64 ('+', '/', '='). */
static gchar *turn_uri(const char *url, const char *user, const char *pass)
{
    const char *rest;
    const char *scheme;
    if (g_str_has_prefix(url, "turns:")) {
        scheme = "turns";
        rest = url + 6;
    } else if (g_str_has_prefix(url, "turn:")) {
        scheme = "turn";
        rest = url + 5;
    } else {
        return NULL;
    }
    while (*rest == '/')
        rest++;
    gchar *u = g_uri_escape_string(user ? user : "", NULL, FALSE);
    gchar *p = g_uri_escape_string(pass ? pass : "", NULL, FALSE);
    gchar *out = g_strdup_printf("%s://%s:%s@%s", scheme, u, p, rest);
    g_free(u);
    g_free(p);
    return out;
}

/* The uri without its credentials, for printing. */
static gchar *redacted(const char *uri)
{
    const char *at = strchr(uri, '@');
    const char *sep = strstr(uri, "://");
    if (!at || !sep)
        return g_strdup(uri);
    return g_strdup_printf("%.*s://***@%s", (int)(sep - uri), uri, at + 1);
}

/* A JSON node's string, or NULL when it is not one. */
static const char *node_string(JsonNode *node)
{
    if (!node || !JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_STRING)
        return NULL;
    return json_node_get_string(node);
}

/* ICE_SERVERS: [{"urls": [...], "username": "...", "credential": "..."}] (RTCIceServer-shaped). */
static void remember_ice_servers(App *app, const char *json)
{
    JsonParser *parser = json_parser_new();
    GError *error = NULL;
    if (!json_parser_load_from_data(parser, json ? json : "[]", -1, &error)) {
        say("ice servers: cannot parse %s: %s", json, error->message);
        g_error_free(error);
        g_object_unref(parser);
        return;
    }
    g_clear_pointer(&app->stun_uri, g_free);
    g_ptr_array_set_size(app->turn_uris, 0);
    JsonNode *root = json_parser_get_root(parser);
    JsonArray *servers = JSON_NODE_HOLDS_ARRAY(root) ? json_node_get_array(root) : NULL;
    for (guint i = 0; servers && i < json_array_get_length(servers); i++) {
        JsonNode *node = json_array_get_element(servers, i);
        if (!JSON_NODE_HOLDS_OBJECT(node))
            continue;
        JsonObject *server = json_node_get_object(node);
        const char *user = node_string(json_object_get_member(server, "username"));
        const char *pass = node_string(json_object_get_member(server, "credential"));
        JsonNode *urls = json_object_get_member(server, "urls");
        JsonArray *list = urls && JSON_NODE_HOLDS_ARRAY(urls) ? json_node_get_array(urls) : NULL;
        guint n = list ? json_array_get_length(list) : (urls ? 1 : 0);
        for (guint j = 0; j < n; j++) {
            const char *url = node_string(list ? json_array_get_element(list, j) : urls);
            if (!url)
                continue;
            if (g_str_has_prefix(url, "stun:")) {
                if (!app->stun_uri) { /* webrtcbin takes one STUN server */
                    const char *rest = url + 5;
                    while (*rest == '/')
                        rest++;
                    app->stun_uri = g_strdup_printf("stun://%s", rest);
                }
            } else {
                gchar *uri = turn_uri(url, user, pass);
                if (uri)
                    g_ptr_array_add(app->turn_uris, uri);
            }
        }
    }
    g_object_unref(parser);
    say("ice servers: %s STUN, %u TURN uri(s)%s", app->stun_uri ? "a" : "no",
        app->turn_uris->len, app->no_turn ? " (TURN not used: --no-turn)" : "");
}

/* ---- the offer ----------------------------------------------------------------------------- */

/* Whether an offered H.264 format is Constrained Baseline, what x264enc makes here.
 * GStreamer's SDP parser turns profile-level-id into a "profile" field. */
static gboolean is_constrained_baseline(const GstStructure *s)
{
    const char *profile = gst_structure_get_string(s, "profile");
    const char *plid = gst_structure_get_string(s, "profile-level-id");
    return (profile && !strcmp(profile, "constrained-baseline")) ||
           (plid && (!g_ascii_strncasecmp(plid, "42e0", 4) ||
                     !g_ascii_strncasecmp(plid, "42c0", 4)));
}

/* The payload type of the best format of an encoding in an m-line, -1 if none. For H.264: one
 * with packetization-mode=1 (what rtph264pay makes) and Constrained Baseline. That matters:
 * webrtcbin answers with the intersection of the offered format and the caps arriving at its
 * sink pad, and x264enc's baseline stream says profile=constrained-baseline, so a format
 * offered as profile-level-id=42001f (Baseline) would leave video without a codec (inactive). */
static int pick_payload_type(const GstSDPMedia *media, const char *encoding)
{
    int best = -1, best_score = -1;
    for (guint i = 0; i < gst_sdp_media_formats_len(media); i++) {
        int pt = atoi(gst_sdp_media_get_format(media, i));
        GstCaps *caps = gst_sdp_media_get_caps_from_media(media, pt);
        if (!caps)
            continue;
        const GstStructure *s = gst_caps_get_structure(caps, 0);
        const char *name = gst_structure_get_string(s, "encoding-name");
        if (name && !g_ascii_strcasecmp(name, encoding)) {
            int score = 0;
            if (!g_ascii_strcasecmp(encoding, "H264")) {
                const char *mode = gst_structure_get_string(s, "packetization-mode");
                score = (mode && !strcmp(mode, "1")) * 2 + is_constrained_baseline(s);
            }
            if (score > best_score) {
                best = pt;
                best_score = score;
            }
        }
        gst_caps_unref(caps);
    }
    return best;
}

/* The m-lines of the offer, with the payload types to use. */
static gboolean read_offer(Peer *peer, const GstSDPMessage *sdp)
{
    guint n = gst_sdp_message_medias_len(sdp);
    peer->mlines = g_new0(MLine, n);
    gboolean video = FALSE, audio = FALSE;
    for (guint i = 0; i < n; i++) {
        const GstSDPMedia *media = gst_sdp_message_get_media(sdp, i);
        MLine *m = &peer->mlines[peer->n_mlines++];
        m->index = i;
        m->kind = g_strdup(gst_sdp_media_get_media(media));
        m->mid = g_strdup(gst_sdp_media_get_attribute_val(media, "mid"));
        m->pt = -1;
        if (gst_sdp_media_get_port(media) == 0)
            continue; /* a rejected m-line */
        if (!strcmp(m->kind, "video") && !video) {
            m->pt = pick_payload_type(media, "H264");
            video = m->pt >= 0;
        } else if (!strcmp(m->kind, "audio") && !audio) {
            m->pt = pick_payload_type(media, "OPUS");
            audio = m->pt >= 0;
        }
        say("offer: m-line %u %s mid=%s -> %s payload type %d", i, m->kind,
            m->mid ? m->mid : "(none)", !strcmp(m->kind, "video") ? "H.264" : "Opus", m->pt);
    }
    if (!video || !audio)
        say("offer: %s%s: the storage service takes H.264 video and Opus audio", video ? "" :
            "no H.264 video m-line", audio ? "" : (video ? "no Opus audio m-line" :
                                                   ", no Opus audio m-line"));
    return video || audio;
}

/* ---- webrtcbin callbacks (GStreamer's threads) ---------------------------------------------- */

static void on_ice_candidate(GstElement *webrtc G_GNUC_UNUSED, guint mline, gchar *candidate,
                             gpointer data)
{
    Peer *peer = data;
    if (peer_closing(peer) || !candidate || !*candidate)
        return;
    kvsws_error *err = kvsws_error_new();
    /* Thread-safe by contract: called here, on webrtcbin's thread. */
    if (kvsws_session_send_candidate(peer->app->session, candidate, mid_of(peer, mline),
                                     (int)mline, NULL, err) == KVSWS_OK) {
        g_atomic_int_inc(&peer->app->local_candidates_sent);
        say("peer %d: local candidate sent (m-line %u): %s", peer->number, mline, candidate);
    } else {
        say("peer %d: could not send a local candidate: %s", peer->number,
            kvsws_error_message(err));
    }
    kvsws_error_free(err);
}

static void on_connection_state(GObject *webrtc, GParamSpec *pspec G_GNUC_UNUSED, gpointer data)
{
    Peer *peer = data;
    GstWebRTCPeerConnectionState state;
    g_object_get(webrtc, "connection-state", &state, NULL);
    GEnumValue *v = g_enum_get_value(g_type_class_peek(GST_TYPE_WEBRTC_PEER_CONNECTION_STATE),
                                     (gint)state);
    say("peer %d: connection state %s", peer->number, v ? v->value_nick : "?");
    if (state == GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED &&
        g_atomic_int_compare_and_exchange(&peer->connected, 0, 1)) {
        /* Only the first peer's counts as "time to first connected". */
        if (g_atomic_int_compare_and_exchange(&peer->app->connected_once, 0, 1))
            peer->app->first_connected_us = g_get_monotonic_time();
    }
}

static void on_ice_connection_state(GObject *webrtc, GParamSpec *pspec G_GNUC_UNUSED,
                                    gpointer data)
{
    Peer *peer = data;
    GstWebRTCICEConnectionState state;
    g_object_get(webrtc, "ice-connection-state", &state, NULL);
    GEnumValue *v = g_enum_get_value(g_type_class_peek(GST_TYPE_WEBRTC_ICE_CONNECTION_STATE),
                                     (gint)state);
    say("peer %d: ICE connection state %s", peer->number, v ? v->value_nick : "?");
}

/* Whether a promise was answered without an error; prints the error if there is one. */
static gboolean promise_ok(Peer *peer, GstPromise *promise, const char *what)
{
    /* The promise has its result when its change function runs: this does not block. */
    if (gst_promise_wait(promise) != GST_PROMISE_RESULT_REPLIED) {
        say("peer %d: %s: no reply (the pipeline is going away)", peer->number, what);
        return FALSE;
    }
    const GstStructure *reply = gst_promise_get_reply(promise);
    if (reply && gst_structure_has_field(reply, "error")) {
        GError *error = NULL;
        gst_structure_get(reply, "error", G_TYPE_ERROR, &error, NULL);
        say("peer %d: %s failed: %s", peer->number, what, error ? error->message : "?");
        g_clear_error(&error);
        return FALSE;
    }
    return TRUE;
}

typedef struct {
    Peer *peer;
    gchar *sdp;
} AnswerJob;

static void answer_job_free(gpointer data)
{
    AnswerJob *job = data;
    peer_unref(job->peer);
    g_free(job->sdp);
    g_free(job);
}

/* 4. The answer is our local description: now send it to the storage service. */
static void on_local_description_set(GstPromise *promise, gpointer data)
{
    AnswerJob *job = data;
    Peer *peer = job->peer;
    if (promise_ok(peer, promise, "set-local-description") && !peer_closing(peer)) {
        kvsws_error *err = kvsws_error_new();
        /* kvsws checks the answer first: no H.264 video or no Opus audio is refused here, with
         * a message that says which is missing. */
        if (kvsws_session_send_answer(peer->app->session, job->sdp, NULL, err) == KVSWS_OK) {
            g_atomic_int_inc(&peer->app->answers_sent);
            say("peer %d: answer sent (%zu bytes)", peer->number, strlen(job->sdp));
        } else {
            say("peer %d: answer not sent: %s: %s\n%s", peer->number,
                kvsws_status_name(kvsws_error_status(err)), kvsws_error_message(err), job->sdp);
        }
        kvsws_error_free(err);
    }
    gst_promise_unref(promise);
}

/* 3. The answer exists: make it our local description (that starts ICE gathering). */
static void on_answer_created(GstPromise *promise, gpointer data)
{
    Peer *peer = data;
    GstWebRTCSessionDescription *answer = NULL;
    if (promise_ok(peer, promise, "create-answer") && gst_promise_get_reply(promise))
        gst_structure_get(gst_promise_get_reply(promise), "answer",
                          GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &answer, NULL);
    if (answer && !peer_closing(peer)) {
        AnswerJob *job = g_new0(AnswerJob, 1);
        job->peer = peer_ref(peer);
        job->sdp = gst_sdp_message_as_text(answer->sdp);
        /* It is sent once it is our local description (on_local_description_set). webrtcbin
         * runs its operations one at a time on its own thread and gathers candidates only
         * after set-local-description, so the answer leaves before any local candidate. */
        GstPromise *set = gst_promise_new_with_change_func(on_local_description_set, job,
                                                           answer_job_free);
        g_signal_emit_by_name(peer->webrtc, "set-local-description", answer, set);
    }
    if (answer)
        gst_webrtc_session_description_free(answer);
    gst_promise_unref(promise);
}

/* 2. Create the answer once the offer is set AND caps have arrived at every sink pad of ours
 * (whichever comes last calls this). webrtcbin writes the answer from the caps at its sink pads:
 * without them the answer has no a=ssrc lines (and no sprop-parameter-sets), which leaves a
 * receiver that demultiplexes by SSRC guessing. */
static void answer_step(Peer *peer)
{
    if (!g_atomic_int_dec_and_test(&peer->answer_pending) || peer_closing(peer))
        return;
    GstPromise *create = gst_promise_new_with_change_func(on_answer_created, peer_ref(peer),
                                                          peer_unref);
    g_signal_emit_by_name(peer->webrtc, "create-answer", NULL, create);
}

/* The offer is our remote description: webrtcbin knows its m-lines. */
static void on_remote_description_set(GstPromise *promise, gpointer data)
{
    Peer *peer = data;
    gboolean ok = promise_ok(peer, promise, "set-remote-description");
    gst_promise_unref(promise);
    if (ok)
        answer_step(peer);
}

/* Caps arrived at one of webrtcbin's sink pads (on the streaming thread). */
static void on_sink_caps(GObject *pad, GParamSpec *pspec G_GNUC_UNUSED, gpointer data)
{
    Peer *peer = data;
    for (guint i = 0; i < peer->n_mlines; i++)
        if (peer->mlines[i].sink == GST_PAD(pad) &&
            g_atomic_int_compare_and_exchange(&peer->mlines[i].caps_seen, 0, 1))
            answer_step(peer);
}

/* ---- the pipeline (main thread) ------------------------------------------------------------ */

static void teardown_peer(App *app, const char *why)
{
    Peer *peer = app->peer;
    if (!peer)
        return;
    app->peer = NULL;
    g_atomic_int_set(&peer->closing, 1);
    say("peer %d: torn down (%s)", peer->number, why);
    if (peer->bus_watch)
        g_source_remove(peer->bus_watch);
    /* NULL stops webrtcbin's thread and the streaming threads: no callback runs after this. */
    gst_element_set_state(peer->pipeline, GST_STATE_NULL);
    gst_object_unref(peer->pipeline);
    peer_unref(peer);
}

static gboolean on_bus_message(GstBus *bus G_GNUC_UNUSED, GstMessage *msg, gpointer data)
{
    App *app = data;
    if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_WARNING) {
        GError *error = NULL;
        gst_message_parse_warning(msg, &error, NULL);
        say("pipeline warning from %s: %s", GST_OBJECT_NAME(GST_MESSAGE_SRC(msg)), error->message);
        g_error_free(error);
    } else if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
        GError *error = NULL;
        gchar *debug = NULL;
        gst_message_parse_error(msg, &error, &debug);
        say("pipeline error from %s: %s (%s)", GST_OBJECT_NAME(GST_MESSAGE_SRC(msg)),
            error->message, debug ? debug : "");
        g_error_free(error);
        g_free(debug);
        if (app->peer)
            app->peer->bus_watch = 0; /* returning FALSE removes it */
        teardown_peer(app, "pipeline error; the next offer builds a new one");
        return G_SOURCE_REMOVE;
    }
    return G_SOURCE_CONTINUE;
}

/* The sending branch of one m-line, ending in a capsfilter whose src pad feeds webrtcbin. */
static GstElement *make_branch(App *app, const MLine *m, GError **error)
{
    gchar *desc;
    if (!strcmp(m->kind, "video"))
        /* key-int-max=30: a key frame every second, so a receiver that joins late (or lost
         * the first one before DTLS was up) decodes within a second; GStreamer's RTP session
         * also turns the receiver's PLI/FIR into a key-unit request upstream to x264enc.
         * config-interval=-1 repeats SPS/PPS with every key frame. */
        desc = g_strdup_printf(
            "videotestsrc is-live=true pattern=ball ! video/x-raw,width=640,height=480,"
            "framerate=30/1 ! videoconvert ! queue ! x264enc tune=zerolatency "
            "speed-preset=ultrafast key-int-max=30 bitrate=%d ! "
            "video/x-h264,profile=constrained-baseline ! "
            "rtph264pay config-interval=-1 aggregate-mode=zero-latency ! "
            "capsfilter caps=application/x-rtp,media=video,encoding-name=H264,payload=%d",
            app->video_kbps, m->pt);
    else
        desc = g_strdup_printf(
            "audiotestsrc is-live=true wave=sine ! audioconvert ! audioresample ! queue ! "
            "opusenc ! rtpopuspay ! "
            "capsfilter caps=application/x-rtp,media=audio,encoding-name=OPUS,payload=%d",
            m->pt);
    GstElement *bin = gst_parse_bin_from_description(desc, TRUE, error);
    g_free(desc);
    return bin;
}

/* The caps a transceiver sends, as codec preferences: what webrtcbin intersects with the offer's
 * format to write the answer. No profile-level-id or sprop-*: the answer takes the offer's
 * fmtp, and the stream's own (x264's level) is not held against it. */
static GstCaps *send_caps(const MLine *m)
{
    if (!strcmp(m->kind, "video"))
        return gst_caps_new_simple("application/x-rtp", "media", G_TYPE_STRING, "video",
                                   "encoding-name", G_TYPE_STRING, "H264", "payload", G_TYPE_INT,
                                   m->pt, "clock-rate", G_TYPE_INT, 90000, NULL);
    return gst_caps_new_simple("application/x-rtp", "media", G_TYPE_STRING, "audio",
                               "encoding-name", G_TYPE_STRING, "OPUS", "payload", G_TYPE_INT,
                               m->pt, "clock-rate", G_TYPE_INT, 48000, NULL);
}

static void configure_ice(App *app, Peer *peer)
{
    if (app->stun_uri)
        g_object_set(peer->webrtc, "stun-server", app->stun_uri, NULL);
    for (guint i = 0; !app->no_turn && i < app->turn_uris->len; i++) {
        const char *uri = g_ptr_array_index(app->turn_uris, i);
        gboolean ok = FALSE;
        g_signal_emit_by_name(peer->webrtc, "add-turn-server", uri, &ok);
        gchar *shown = redacted(uri);
        say("peer %d: TURN %s %s", peer->number, shown, ok ? "added" : "refused by webrtcbin");
        g_free(shown);
    }
    GstWebRTCICE *ice = NULL;
    g_object_get(peer->webrtc, "ice-agent", &ice, NULL);
    if (!ice)
        return;
    /* TCP candidates: the storage service (and the emulator) take UDP only. */
    g_object_set(ice, "ice-tcp", FALSE, NULL);
    /* --ice-local-address: gather host candidates on these addresses only (libnice leaves
     * loopback out by default; the local emulator only talks to 127.0.0.1). */
    for (gchar **a = app->local_addresses; a && *a; a++) {
        gboolean ok = FALSE;
        g_signal_emit_by_name(ice, "add-local-ip-address", *a, &ok);
        if (!ok)
            say("peer %d: libnice refused local address %s", peer->number, *a);
    }
    gst_object_unref(ice);
}

/* OFFER: build the pipeline, set the offer, answer it. */
static void answer_offer(App *app, const char *offer_text)
{
    teardown_peer(app, "a new offer");
    GstSDPMessage *sdp = NULL;
    if (gst_sdp_message_new_from_text(offer_text, &sdp) != GST_SDP_OK) {
        say("offer: the SDP does not parse");
        return;
    }
    Peer *peer = g_atomic_rc_box_new0(Peer);
    peer->app = app;
    peer->number = app->offers;
    if (!read_offer(peer, sdp)) {
        gst_sdp_message_free(sdp);
        peer_unref(peer);
        return;
    }
    peer->pipeline = gst_pipeline_new(NULL);
    peer->webrtc = gst_element_factory_make("webrtcbin", "webrtc");
    if (!peer->webrtc) {
        say("offer: no webrtcbin element (install gstreamer1.0-plugins-bad and gstreamer1.0-nice)");
        gst_object_unref(peer->pipeline);
        gst_sdp_message_free(sdp);
        peer_unref(peer);
        return;
    }
    /* max-bundle: everything on one ICE/DTLS transport, as the service's offer bundles. */
    g_object_set(peer->webrtc, "bundle-policy", GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE, NULL);
    gst_bin_add(GST_BIN(peer->pipeline), peer->webrtc);
    configure_ice(app, peer);
    g_signal_connect_data(peer->webrtc, "on-ice-candidate", G_CALLBACK(on_ice_candidate),
                          peer_ref(peer), peer_unref_closure, 0);
    g_signal_connect_data(peer->webrtc, "notify::connection-state",
                          G_CALLBACK(on_connection_state), peer_ref(peer),
                          peer_unref_closure, 0);
    g_signal_connect_data(peer->webrtc, "notify::ice-connection-state",
                          G_CALLBACK(on_ice_connection_state), peer_ref(peer),
                          peer_unref_closure, 0);

    /* One sending transceiver per offered m-line, made and linked BEFORE the offer is set:
     *
     *  - Requesting webrtcbin's "sink_%u" pad with caps creates an unassociated transceiver for
     *    it. We make it SENDONLY (the service's offer is recvonly) and give it codec
     *    preferences: the payload type the offer uses for H.264 (or Opus).
     *  - When the answer is created, webrtcbin (1.22) pairs each offered m-line with the
     *    unassociated transceiver whose caps intersect that m-line's formats ("found compatible
     *    transceiver" with GST_DEBUG=webrtcbin:7). The caps it compares are the codec
     *    preferences intersected with the caps arriving at the sink pad. If none matches, it
     *    makes a new receive-only transceiver and answers the m-line inactive, and kvsws refuses
     *    that answer ("H.264 video is inactive or recvonly"). Hence the care with the payload
     *    type and the H.264 profile (pick_payload_type) and the wait for caps (answer_step).
     *  - The payloader's capsfilter carries the same payload type, so the RTP packets say what
     *    the answer says. Until negotiation is done webrtcbin holds the buffers at its pads. */
    GstPadTemplate *templ =
        gst_element_class_get_pad_template(GST_ELEMENT_GET_CLASS(peer->webrtc), "sink_%u");
    gboolean ok = TRUE;
    g_atomic_int_set(&peer->answer_pending, 1); /* the offer; + 1 per sink pad below */
    for (guint i = 0; ok && i < peer->n_mlines; i++) {
        MLine *m = &peer->mlines[i];
        if (m->pt < 0)
            continue;
        GError *error = NULL;
        GstElement *branch = make_branch(app, m, &error);
        if (!branch) {
            say("offer: cannot build the %s branch: %s (are gstreamer1.0-plugins-base, -good, "
                "-bad and -ugly installed?)", m->kind, error ? error->message : "?");
            g_clear_error(&error);
            ok = FALSE;
            break;
        }
        gst_bin_add(GST_BIN(peer->pipeline), branch);
        GstCaps *caps = send_caps(m);
        GstPad *sink = gst_element_request_pad(peer->webrtc, templ, NULL, caps);
        GstWebRTCRTPTransceiver *trans = NULL;
        if (sink)
            g_object_get(sink, "transceiver", &trans, NULL);
        if (trans) {
            g_object_set(trans, "direction", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDONLY,
                         "codec-preferences", caps, NULL);
            gst_object_unref(trans);
        }
        GstPad *src = gst_element_get_static_pad(branch, "src");
        if (!sink || !src || gst_pad_link(src, sink) != GST_PAD_LINK_OK) {
            say("offer: cannot link the %s branch to webrtcbin", m->kind);
            ok = FALSE;
        }
        if (sink) {
            m->sink = sink; /* the MLine keeps the reference */
            g_atomic_int_inc(&peer->answer_pending);
            g_signal_connect_data(sink, "notify::caps", G_CALLBACK(on_sink_caps), peer_ref(peer),
                                  peer_unref_closure, 0);
        }
        if (src)
            gst_object_unref(src);
        gst_caps_unref(caps);
    }
    if (!ok) {
        gst_object_unref(peer->pipeline);
        gst_sdp_message_free(sdp);
        peer_unref(peer);
        return;
    }
    GstBus *bus = gst_pipeline_get_bus(GST_PIPELINE(peer->pipeline));
    peer->bus_watch = gst_bus_add_watch(bus, on_bus_message, app);
    gst_object_unref(bus);
    app->peer = peer;
    if (gst_element_set_state(peer->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
        teardown_peer(app, "the pipeline would not start");
        gst_sdp_message_free(sdp);
        return;
    }
    /* 1. Set the offer; the rest follows in the promises' callbacks. */
    GstWebRTCSessionDescription *offer =
        gst_webrtc_session_description_new(GST_WEBRTC_SDP_TYPE_OFFER, sdp); /* takes sdp */
    GstPromise *set = gst_promise_new_with_change_func(on_remote_description_set, peer_ref(peer),
                                                       peer_unref);
    g_signal_emit_by_name(peer->webrtc, "set-remote-description", offer, set);
    gst_webrtc_session_description_free(offer);
}

/* ICE_CANDIDATE: a remote candidate for the current peer. webrtcbin queues it if the offer is
 * still being applied (its operations run in order). */
static void add_remote_candidate(App *app, kvsws_event *ev)
{
    const char *candidate = kvsws_event_candidate(ev);
    if (!app->peer || !candidate || !*candidate)
        return;
    int index = kvsws_event_sdp_mline_index(ev);
    const char *mid = kvsws_event_sdp_mid(ev);
    if (index < 0 && mid && *mid)
        for (guint i = 0; i < app->peer->n_mlines; i++)
            if (app->peer->mlines[i].mid && !strcmp(app->peer->mlines[i].mid, mid))
                index = (int)app->peer->mlines[i].index;
    if (index < 0)
        index = 0; /* bundled: every candidate is the first m-line's */
    g_signal_emit_by_name(app->peer->webrtc, "add-ice-candidate", (guint)index, candidate);
    app->remote_candidates++;
    say("remote candidate (m-line %d): %s", index, candidate);
}

/* ---- the session's events (main thread) ---------------------------------------------------- */

static void handle_event(App *app, kvsws_event *ev)
{
    switch (kvsws_event_get_type(ev)) {
    case KVSWS_EVENT_STATE: {
        kvsws_session_state state = kvsws_event_state(ev);
        const kvsws_error *why = kvsws_event_error(ev);
        say("state: %s%s%s", kvsws_session_state_name(state),
            kvsws_error_status(why) ? ": " : "",
            kvsws_error_status(why) ? kvsws_error_message(why) : "");
        if (state == KVSWS_STATE_RECONNECTING) {
            app->reconnects++;
            /* The old peer connection is of no use: the service sends a new offer after the
             * rejoin, and that offer builds a new pipeline. */
            teardown_peer(app, "reconnecting");
        }
        break;
    }
    case KVSWS_EVENT_ICE_SERVERS:
        app->ice_server_events++;
        remember_ice_servers(app, kvsws_event_ice_servers(ev));
        break;
    case KVSWS_EVENT_OFFER: {
        gint64 now = g_get_monotonic_time();
        if (!app->first_offer_us)
            app->first_offer_us = now;
        app->offers++;
        const char *sender = kvsws_event_sender_id(ev);
        say("offer %d received (%zu bytes, sender %s)", app->offers, strlen(kvsws_event_sdp(ev)),
            sender && *sender ? sender : "none");
        answer_offer(app, kvsws_event_sdp(ev));
        break;
    }
    case KVSWS_EVENT_ICE_CANDIDATE:
        add_remote_candidate(app, ev);
        break;
    case KVSWS_EVENT_STATUS: {
        const kvsws_error *why = kvsws_event_error(ev);
        say("the service refused a message: %s", kvsws_error_describe(why));
        break;
    }
    case KVSWS_EVENT_CLOSED: {
        const kvsws_error *why = kvsws_event_error(ev);
        if (kvsws_error_status(why) != KVSWS_OK) {
            say("closed: %s", kvsws_error_describe(why));
            app->exit_code = 1;
        } else {
            say("closed");
        }
        app->closed = TRUE;
        break;
    }
    default:
        break;
    }
}

/* The session's fd is readable: drain every event that is ready, then wait again. */
static gboolean on_session_fd(gint fd G_GNUC_UNUSED, GIOCondition condition G_GNUC_UNUSED,
                              gpointer data)
{
    App *app = data;
    for (;;) {
        kvsws_event *ev = NULL;
        if (kvsws_session_next_event(app->session, 0, &ev, app->err) != KVSWS_OK) {
            say("next_event: %s", kvsws_error_message(app->err));
            app->exit_code = 1;
            app->closed = TRUE;
        }
        if (!ev)
            break;
        handle_event(app, ev);
        kvsws_event_free(ev);
        if (app->closed)
            break;
    }
    if (app->closed) {
        app->fd_watch = 0;
        g_main_loop_quit(app->loop);
        return G_SOURCE_REMOVE;
    }
    return G_SOURCE_CONTINUE;
}

/* --duration, SIGINT, SIGTERM: close the session politely; its CLOSED event ends the loop. */
static gboolean stop_session(gpointer data)
{
    App *app = data;
    say("closing the session");
    kvsws_session_close(app->session); /* next_event then returns KVSWS_EVENT_CLOSED */
    return G_SOURCE_REMOVE;
}

static gboolean on_signal(gpointer data)
{
    stop_session(data);
    return G_SOURCE_CONTINUE;
}

/* ---- main ---------------------------------------------------------------------------------- */

static void print_summary(App *app)
{
    gint64 connected = g_atomic_int_get(&app->connected_once) ? app->first_connected_us : 0;
    say("summary: offers %d, answers sent %d, local candidates sent %d, remote candidates %d, "
        "reconnects %d, ICE server updates %d", app->offers, g_atomic_int_get(&app->answers_sent),
        g_atomic_int_get(&app->local_candidates_sent), app->remote_candidates, app->reconnects,
        app->ice_server_events);
    if (app->first_offer_us)
        say("summary: time to first offer %.0f ms (from kvsws_session_start)",
            ms_since_start(app->first_offer_us));
    else
        say("summary: no offer arrived");
    if (connected)
        say("summary: time to first peer connection %.0f ms (%.0f ms after the offer)",
            ms_since_start(connected), (double)(connected - app->first_offer_us) / 1000.0);
}

int main(int argc, char **argv)
{
    g_t0_us = g_get_monotonic_time();
    App app_storage;
    App *app = &app_storage;
    memset(app, 0, sizeof *app);
    app->video_kbps = 1000;
    app->duration_s = 0;

    GOptionEntry entries[] = {
        {"channel-name", 0, 0, G_OPTION_ARG_STRING, &app->channel_name,
         "The signaling channel's name", "NAME"},
        {"channel-arn", 0, 0, G_OPTION_ARG_STRING, &app->channel_arn,
         "The signaling channel's ARN", "ARN"},
        {"duration", 0, 0, G_OPTION_ARG_INT, &app->duration_s,
         "Stream this many seconds, then close (default: until Ctrl-C)", "SECONDS"},
        {"ice-local-address", 0, 0, G_OPTION_ARG_STRING_ARRAY, &app->local_addresses,
         "Gather host candidates on this address only (repeatable; 127.0.0.1 for the local "
         "emulator)", "IP"},
        {"no-turn", 0, 0, G_OPTION_ARG_NONE, &app->no_turn,
         "Do not use the TURN servers (host candidates only)", NULL},
        {"video-bitrate", 0, 0, G_OPTION_ARG_INT, &app->video_kbps, "H.264 bitrate (default 1000)",
         "KBPS"},
        {"log-level", 0, 0, G_OPTION_ARG_INT, &app->log_level,
         "kvsws log level on stderr: 0 off .. 4 debug", "N"},
        {NULL, 0, 0, 0, NULL, NULL, NULL}};
    GOptionContext *ctx = g_option_context_new("- stream H.264 + Opus into a KVS storage session");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_add_group(ctx, gst_init_get_option_group());
    GError *error = NULL;
    if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
        fprintf(stderr, "%s\n", error->message);
        return 2;
    }
    g_option_context_free(ctx);
    if (!app->channel_name == !app->channel_arn) {
        fprintf(stderr, "give exactly one of --channel-name and --channel-arn\n");
        return 2;
    }
    gst_init(NULL, NULL);

    /* The client: region, credentials and endpoints from the environment and the profile. */
    app->err = kvsws_error_new();
    kvsws_config *cfg = kvsws_config_new();
    if (app->log_level > 0) {
        kvsws_config_set_int(cfg, KVSWS_OPT_LOG_LEVEL, app->log_level, app->err);
        kvsws_config_set_log(cfg, NULL, NULL); /* stderr */
    }
    kvsws_config_set_str(cfg, KVSWS_OPT_USER_AGENT_EXTRA, "example-c-gstreamer", app->err);
    if (kvsws_client_new(cfg, &app->client, app->err) != KVSWS_OK) {
        fprintf(stderr, "%s\n", kvsws_error_describe(app->err));
        kvsws_config_free(cfg);
        return 1;
    }
    kvsws_config_free(cfg);

    /* The session: options, then start (it checks them before any I/O). */
    kvsws_status st = kvsws_session_new(app->client, &app->session, app->err);
    if (st == KVSWS_OK)
        st = app->channel_arn
                 ? kvsws_session_set_str(app->session, KVSWS_SESSION_OPT_CHANNEL_ARN,
                                         app->channel_arn, app->err)
                 : kvsws_session_set_str(app->session, KVSWS_SESSION_OPT_CHANNEL_NAME,
                                         app->channel_name, app->err);
    g_t0_us = g_get_monotonic_time(); /* the timestamps and the summary count from here */
    if (st == KVSWS_OK)
        st = kvsws_session_start(app->session, app->err);
    if (st != KVSWS_OK) {
        fprintf(stderr, "%s\n", kvsws_error_describe(app->err));
        kvsws_session_free(app->session);
        kvsws_client_free(app->client);
        kvsws_error_free(app->err);
        return 1;
    }
    say("kvsws %s, %s, session started for %s %s (region %s)", kvsws_version(),
        gst_version_string(), app->channel_arn ? "channel" : "channel named",
        app->channel_arn ? app->channel_arn : app->channel_name,
        kvsws_client_region(app->client));

    app->turn_uris = g_ptr_array_new_with_free_func(g_free);
    app->loop = g_main_loop_new(NULL, FALSE);
    /* The handoff in our own event loop: no thread of ours, no polling. */
    app->fd_watch = g_unix_fd_add(kvsws_session_fd(app->session), G_IO_IN, on_session_fd, app);
    if (app->duration_s > 0)
        g_timeout_add_seconds((guint)app->duration_s, stop_session, app);
    g_unix_signal_add(SIGINT, on_signal, app);
    g_unix_signal_add(SIGTERM, on_signal, app);

    g_main_loop_run(app->loop);

    teardown_peer(app, "the end");
    if (app->fd_watch)
        g_source_remove(app->fd_watch);
    print_summary(app);
    if (g_atomic_int_get(&app->answers_sent) == 0 && app->exit_code == 0) {
        say("no answer was sent");
        app->exit_code = 1;
    }
    kvsws_session_free(app->session);
    kvsws_client_free(app->client);
    kvsws_error_free(app->err);
    g_main_loop_unref(app->loop);
    g_ptr_array_unref(app->turn_uris);
    g_free(app->stun_uri);
    g_free(app->channel_name);
    g_free(app->channel_arn);
    g_strfreev(app->local_addresses);
    return app->exit_code;
}
