/* SPDX-License-Identifier: Apache-2.0 */
/* it_hostile.c - a storage session against a hostile signaling server, measured on the public
 * API only (tests/integration/test_hostile_session.py runs it).
 *
 *   it_hostile --channel-arn ARN [--run-ms N] [--close-at-ms N] [--event-delay-ms N]
 *              [--flood-limit N] [--offer-timeout MS] [--answer] [--also-channel-arn ARN]
 *
 * The application's loop calls kvsws_session_next_event(s, 200, ...) for --run-ms (default
 * 4000) and then closes the session. --close-at-ms: another thread calls kvsws_session_close
 * that long after the session first reached "joining" (the server starts misbehaving at the
 * join). --event-delay-ms: the application spends that long on each event (it does not keep
 * up). --answer: the first offer is answered (to its sender). --also-channel-arn: a second
 * session on the same client and thread, polled with next_event(s, 0) after every call of the
 * first; the report says when its first offer came (a flooded session must not starve it). At
 * the end it prints one JSON
 * line: the longest next_event call, the peak RSS, the events by type, how long CLOSED took
 * after close() was called, and what reached the application (the first offers and candidates,
 * the senders, the states with their error messages, and how many strings were not UTF-8). */
#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kvsws.h"

#define KEEP 20 /* offers, candidates and states kept for the report */

static const char ANSWER[] = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
                             "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 H264/90000\r\n"
                             "a=sendonly\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
                             "a=rtpmap:111 opus/48000/2\r\na=sendonly\r\n";

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* UTF-8 checked here independently of the library: code point by code point. */
static int utf8_ok(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned cp, n;
        if (*p < 0x80) {
            p++;
            continue;
        } else if ((*p & 0xE0) == 0xC0) {
            cp = *p & 0x1F, n = 1;
        } else if ((*p & 0xF0) == 0xE0) {
            cp = *p & 0x0F, n = 2;
        } else if ((*p & 0xF8) == 0xF0) {
            cp = *p & 0x07, n = 3;
        } else {
            return 0;
        }
        for (unsigned i = 1; i <= n; i++) {
            if ((p[i] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (p[i] & 0x3F);
        }
        static const unsigned min[] = {0, 0x80, 0x800, 0x10000};
        if (cp < min[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        p += n + 1;
    }
    return 1;
}

typedef struct closer {
    kvsws_session *s;
    int delay_ms;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int joining; /* the session reached "joining" */
    int quit;
    double closed_at; /* when close() was called, 0 before */
} closer;

/* Another thread: close() delay_ms after the session first reached "joining". */
static void *close_later(void *arg)
{
    closer *c = arg;
    pthread_mutex_lock(&c->lock);
    while (!c->joining && !c->quit)
        pthread_cond_wait(&c->cond, &c->lock);
    int go = !c->quit;
    pthread_mutex_unlock(&c->lock);
    if (!go)
        return NULL;
    usleep((useconds_t)c->delay_ms * 1000);
    pthread_mutex_lock(&c->lock);
    c->closed_at = now_ms();
    pthread_mutex_unlock(&c->lock);
    kvsws_session_close(c->s);
    return NULL;
}

/* The process's peak RSS in MB (VmHWM: unlike getrusage's, it starts afresh at exec). */
static double peak_rss_mb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    double kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %lf kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb / 1024.0;
}

static void add_string(cJSON *list, const char *s)
{
    if (cJSON_GetArraySize(list) < KEEP)
        cJSON_AddItemToArray(list, cJSON_CreateString(utf8_ok(s) ? s : "(not UTF-8)"));
}

int main(int argc, char **argv)
{
    const char *arn = NULL, *also_arn = NULL;
    int run_ms = 4000, close_at = -1, event_delay = 0, answer = 0;
    long long flood_limit = -1, offer_timeout = -1;
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : "0";
        if (!strcmp(f, "--answer")) {
            answer = 1;
            continue;
        }
        i++;
        if (!strcmp(f, "--channel-arn"))
            arn = v;
        else if (!strcmp(f, "--run-ms"))
            run_ms = atoi(v);
        else if (!strcmp(f, "--close-at-ms"))
            close_at = atoi(v);
        else if (!strcmp(f, "--event-delay-ms"))
            event_delay = atoi(v);
        else if (!strcmp(f, "--flood-limit"))
            flood_limit = atoll(v);
        else if (!strcmp(f, "--offer-timeout"))
            offer_timeout = atoll(v);
        else if (!strcmp(f, "--also-channel-arn"))
            also_arn = v;
    }
    kvsws_error *err = kvsws_error_new();
    kvsws_config *cfg = kvsws_config_new();
    const char *level = getenv("KVSWS_IT_LOG_LEVEL");
    if (level)
        kvsws_config_set_int(cfg, KVSWS_OPT_LOG_LEVEL, atoi(level), err);
    kvsws_client *client = NULL;
    kvsws_session *s = NULL;
    if (kvsws_client_new(cfg, &client, err) != KVSWS_OK ||
        kvsws_session_new(client, &s, err) != KVSWS_OK ||
        kvsws_session_set_str(s, KVSWS_SESSION_OPT_CHANNEL_ARN, arn, err) != KVSWS_OK ||
        (flood_limit >= 0 &&
         kvsws_session_set_int(s, KVSWS_SESSION_OPT_FLOOD_LIMIT, flood_limit, err) != KVSWS_OK) ||
        (offer_timeout >= 0 && kvsws_session_set_int(s, KVSWS_SESSION_OPT_OFFER_TIMEOUT_MS,
                                                     offer_timeout, err) != KVSWS_OK) ||
        kvsws_session_set_int(s, KVSWS_SESSION_OPT_RECONNECT_MAX_MS, 2000, err) != KVSWS_OK ||
        kvsws_session_start(s, err) != KVSWS_OK) {
        fprintf(stderr, "setup: %s\n", kvsws_error_describe(err));
        return 2;
    }
    kvsws_session *also = NULL;
    if (also_arn && (kvsws_session_new(client, &also, err) != KVSWS_OK ||
                     kvsws_session_set_str(also, KVSWS_SESSION_OPT_CHANNEL_ARN, also_arn, err) !=
                         KVSWS_OK ||
                     kvsws_session_start(also, err) != KVSWS_OK)) {
        fprintf(stderr, "--also-channel-arn: %s\n", kvsws_error_describe(err));
        return 2;
    }
    double also_offer_ms = -1, also_longest = 0;
    kvsws_config_free(cfg);
    closer c = {s, close_at, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0};
    pthread_t thread;
    int have_thread = close_at >= 0 && pthread_create(&thread, NULL, close_later, &c) == 0;

    cJSON *report = cJSON_CreateObject(), *counts = cJSON_CreateObject();
    cJSON *offers = cJSON_CreateArray(), *cands = cJSON_CreateArray();
    cJSON *senders = cJSON_CreateArray(), *states = cJSON_CreateArray();
    double start = now_ms(), longest = 0, close_latency = -1, we_closed_at = 0;
    int bad_utf8 = 0, closed = 0, answered = 0;
    const char *answer_status = "not sent";
    while (!closed) {
        double now = now_ms();
        if (!we_closed_at && now - start > run_ms) {
            we_closed_at = now; /* the run is over: close, and CLOSED must follow soon */
            kvsws_session_close(s);
        }
        if (we_closed_at && now - we_closed_at > 10000) {
            fprintf(stderr, "no CLOSED within 10 s of close()\n");
            return 3;
        }
        kvsws_event *ev = NULL;
        double t0 = now_ms();
        kvsws_status st = kvsws_session_next_event(s, 200, &ev, err);
        double took = now_ms() - t0;
        if (took > longest)
            longest = took;
        for (kvsws_event *a = NULL; also;) { /* the other session on this thread: its turn */
            double a0 = now_ms();
            kvsws_status ast = kvsws_session_next_event(also, 0, &a, err);
            if (now_ms() - a0 > also_longest)
                also_longest = now_ms() - a0;
            if (ast != KVSWS_OK || !a)
                break;
            if (kvsws_event_get_type(a) == KVSWS_EVENT_OFFER && also_offer_ms < 0)
                also_offer_ms = now_ms() - start;
            kvsws_event_free(a);
        }
        if (st != KVSWS_OK) {
            fprintf(stderr, "next_event: %s\n", kvsws_error_describe(err));
            return 4;
        }
        if (!ev)
            continue;
        kvsws_event_type type = kvsws_event_get_type(ev);
        cJSON *parsed = cJSON_Parse(kvsws_event_json(ev));
        const char *tname = cJSON_GetStringValue(cJSON_GetObjectItem(parsed, "type"));
        cJSON *n = cJSON_GetObjectItem(counts, tname ? tname : "?");
        if (n)
            cJSON_SetNumberValue(n, n->valuedouble + 1);
        else
            cJSON_AddNumberToObject(counts, tname ? tname : "?", 1);
        cJSON_Delete(parsed);
        const char *strings[] = {kvsws_event_sdp(ev), kvsws_event_sender_id(ev),
                                 kvsws_event_candidate(ev), kvsws_event_sdp_mid(ev),
                                 kvsws_error_message(kvsws_event_error(ev))};
        for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++)
            bad_utf8 += !utf8_ok(strings[i]);
        if (type == KVSWS_EVENT_OFFER) {
            add_string(offers, kvsws_event_sdp(ev));
            add_string(senders, kvsws_event_sender_id(ev));
            if (answer && !answered) {
                answered = 1;
                answer_status = kvsws_status_name(kvsws_session_send_answer(s, ANSWER, NULL, err));
            }
        } else if (type == KVSWS_EVENT_ICE_CANDIDATE) {
            add_string(cands, kvsws_event_candidate(ev));
            add_string(senders, kvsws_event_sender_id(ev));
        } else if (type == KVSWS_EVENT_STATE || type == KVSWS_EVENT_CLOSED) {
            kvsws_session_state state = kvsws_event_state(ev);
            if (cJSON_GetArraySize(states) < 50) {
                cJSON *o = cJSON_CreateObject();
                cJSON_AddStringToObject(o, "state", kvsws_session_state_name(state));
                const char *m = kvsws_error_message(kvsws_event_error(ev));
                cJSON_AddStringToObject(o, "message", utf8_ok(m) ? m : "(not UTF-8)");
                cJSON_AddNumberToObject(o, "at_ms", now_ms() - start);
                cJSON_AddItemToArray(states, o);
            }
            if (state == KVSWS_STATE_JOINING) {
                pthread_mutex_lock(&c.lock);
                c.joining = 1;
                pthread_cond_signal(&c.cond);
                pthread_mutex_unlock(&c.lock);
            }
            if (type == KVSWS_EVENT_CLOSED) {
                closed = 1;
                pthread_mutex_lock(&c.lock);
                double asked = c.closed_at ? c.closed_at : we_closed_at;
                pthread_mutex_unlock(&c.lock);
                if (asked)
                    close_latency = now_ms() - asked;
            }
        }
        kvsws_event_free(ev);
        if (event_delay)
            usleep((useconds_t)event_delay * 1000);
    }
    if (have_thread) {
        pthread_mutex_lock(&c.lock);
        c.quit = 1;
        pthread_cond_signal(&c.cond);
        pthread_mutex_unlock(&c.lock);
        pthread_join(thread, NULL);
    }
    cJSON_AddNumberToObject(report, "longest_next_event_ms", longest);
    cJSON_AddNumberToObject(report, "peak_rss_mb", peak_rss_mb());
    cJSON_AddNumberToObject(report, "close_latency_ms", close_latency);
    cJSON_AddNumberToObject(report, "also_offer_ms", also_offer_ms);
    cJSON_AddNumberToObject(report, "also_longest_next_event_ms", also_longest);
    cJSON_AddBoolToObject(report, "closed_by_thread", c.closed_at != 0);
    cJSON_AddNumberToObject(report, "bad_utf8", bad_utf8);
    cJSON_AddStringToObject(report, "answer_status", answer_status);
    cJSON_AddItemToObject(report, "events", counts);
    cJSON_AddItemToObject(report, "offers", offers);
    cJSON_AddItemToObject(report, "candidates", cands);
    cJSON_AddItemToObject(report, "senders", senders);
    cJSON_AddItemToObject(report, "states", states);
    char *text = cJSON_PrintUnformatted(report);
    printf("%s\n", text);
    free(text);
    cJSON_Delete(report);
    kvsws_session_free(also);
    kvsws_session_free(s);
    kvsws_client_free(client);
    kvsws_error_free(err);
    return 0;
}
