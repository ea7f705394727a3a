/* SPDX-License-Identifier: Apache-2.0 */
/* it_session.c - a storage session driven from a poll() loop over kvsws_session_fd and stdin.
 *
 *   it_session (--channel-arn ARN | --channel-name NAME) [--viewer CLIENT_ID] [--offer-timeout MS]
 *              [--ping-interval MS] [--max-joins N] [--max-duration MS] [--check-answer 0|1]
 *              [--also-channel-arn ARN]
 *
 * Prints every event as one JSON line (kvsws_event_json) on stdout; reads commands as JSON lines
 * on stdin: {"cmd":"answer","sdp":...,"recipient"?:...}, {"cmd":"candidate","candidate":...,"sdp_mid":...,
 * "sdp_mline_index":N}, {"cmd":"stats"} (prints {"type":"session_stats","stats":{...}}, the
 * kvsws_session_stats_json document), {"cmd":"close"}. A command's failure prints
 * {"type":"command_error",...}. {"cmd":"fds"} prints {"type":"fds","when":"asked","count":N,
 * "fds":[...]}, the process's open descriptors; on exit it prints them again once the sessions
 * are freed and their closes are done ("session_freed") and once the client is freed
 * ("client_freed", with "before_client"). An event with an error is followed by {"type":"error_detail",
 * "describe","operation","request_id","correlation_id"}: what the error accessors return.
 * --also-channel-arn runs a second master session on the same client and loop; its events carry
 * "session":1. On exit it prints {"type":"stats","max_next_event_ms":N}: the longest
 * kvsws_session_next_event(s, 0) call, which must not wait for the network.
 * The client is configured from the environment, as a user's program would be. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kvsws.h"

/* The process's open file descriptors (the one that lists them not counted), and what each is:
 * {"type":"fds","when":WHEN,"count":N,"fds":["anon_inode:[eventpoll]","socket:[123]",...]}. */
static int print_fds(const char *when, const char *extra)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    cJSON *o = cJSON_CreateObject(), *list = cJSON_CreateArray();
    cJSON_AddStringToObject(o, "type", "fds");
    cJSON_AddStringToObject(o, "when", when);
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        char path[300], target[256];
        if (e->d_name[0] == '.' || atoi(e->d_name) == dirfd(d))
            continue;
        snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
        ssize_t len = readlink(path, target, sizeof target - 1);
        target[len > 0 ? len : 0] = '\0';
        cJSON_AddItemToArray(list, cJSON_CreateString(target));
        n++;
    }
    closedir(d);
    cJSON_AddNumberToObject(o, "count", n);
    cJSON_AddItemToObject(o, "fds", list);
    char *text = cJSON_PrintUnformatted(o);
    if (extra) /* one more member, already JSON: ,"name":value */
        text[strlen(text) - 1] = '\0';
    printf("%s%s%s\n", text, extra ? extra : "", extra ? "}" : "");
    fflush(stdout);
    free(text);
    cJSON_Delete(o);
    return n;
}

/* How many descriptors are open now. */
static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = -1;
    if (!d)
        return -1;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static void print_command_result(const char *cmd, kvsws_status st, kvsws_error *err)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", st ? "command_error" : "command_ok");
    cJSON_AddStringToObject(o, "cmd", cmd);
    cJSON_AddStringToObject(o, "status_name", kvsws_status_name(st));
    cJSON_AddStringToObject(o, "message", kvsws_error_message(err));
    char *text = cJSON_PrintUnformatted(o);
    printf("%s\n", text);
    fflush(stdout);
    free(text);
    cJSON_Delete(o);
}

/* What the accessors say of an event's error, for the tests: {"type":"error_detail",...}. */
static void print_error_detail(const kvsws_error *e)
{
    if (kvsws_error_status(e) == KVSWS_OK)
        return;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "error_detail");
    cJSON_AddStringToObject(o, "describe", kvsws_error_describe(e));
    cJSON_AddStringToObject(o, "operation", kvsws_error_operation(e));
    cJSON_AddStringToObject(o, "request_id", kvsws_error_request_id(e));
    cJSON_AddStringToObject(o, "correlation_id", kvsws_error_correlation_id(e));
    char *text = cJSON_PrintUnformatted(o);
    printf("%s\n", text);
    free(text);
    cJSON_Delete(o);
}

static int run_command(kvsws_session *s, const char *line, kvsws_error *err)
{
    cJSON *c = cJSON_Parse(line);
    const cJSON *cmd = cJSON_GetObjectItem(c, "cmd");
    int keep_going = 1;
    if (!cJSON_IsString(cmd)) {
        print_command_result("?", KVSWS_E_PARAM_VALIDATION, err);
    } else if (!strcmp(cmd->valuestring, "answer")) {
        const cJSON *sdp = cJSON_GetObjectItem(c, "sdp");
        const cJSON *to = cJSON_GetObjectItem(c, "recipient");
        kvsws_status st = kvsws_session_send_answer(
            s, cJSON_IsString(sdp) ? sdp->valuestring : NULL,
            cJSON_IsString(to) ? to->valuestring : NULL, err);
        print_command_result("answer", st, err);
    } else if (!strcmp(cmd->valuestring, "candidate")) {
        const cJSON *cand = cJSON_GetObjectItem(c, "candidate");
        const cJSON *mid = cJSON_GetObjectItem(c, "sdp_mid");
        const cJSON *idx = cJSON_GetObjectItem(c, "sdp_mline_index");
        kvsws_status st = kvsws_session_send_candidate(
            s, cJSON_IsString(cand) ? cand->valuestring : NULL,
            cJSON_IsString(mid) ? mid->valuestring : NULL,
            cJSON_IsNumber(idx) ? idx->valueint : -1, NULL, err);
        print_command_result("candidate", st, err);
    } else if (!strcmp(cmd->valuestring, "stats")) {
        char *json = NULL;
        kvsws_status st = kvsws_session_stats_json(s, &json, err);
        if (st)
            print_command_result("stats", st, err);
        else
            printf("{\"type\":\"session_stats\",\"stats\":%s}\n", json);
        fflush(stdout);
        kvsws_string_free(json);
    } else if (!strcmp(cmd->valuestring, "fds")) {
        print_fds("asked", NULL);
    } else if (!strcmp(cmd->valuestring, "close")) {
        kvsws_session_close(s);
    } else if (!strcmp(cmd->valuestring, "exit")) {
        keep_going = 0;
    }
    cJSON_Delete(c);
    return keep_going;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double max_call_ms;

/* One non-blocking next_event, timed. */
static kvsws_status next_event_timed(kvsws_session *s, kvsws_event **ev, kvsws_error *err)
{
    double t0 = now_ms();
    kvsws_status st = kvsws_session_next_event(s, 0, ev, err);
    double took = now_ms() - t0;
    if (took > max_call_ms)
        max_call_ms = took;
    return st;
}

/* The second session's event, tagged with "session":1. */
static void print_tagged(const kvsws_event *ev)
{
    cJSON *o = cJSON_Parse(kvsws_event_json(ev));
    cJSON_AddNumberToObject(o, "session", 1);
    char *text = cJSON_PrintUnformatted(o);
    printf("%s\n", text);
    fflush(stdout);
    free(text);
    cJSON_Delete(o);
}

/* A second master session on the same client, started; NULL on failure (said on stderr). */
static kvsws_session *start_also(kvsws_client *client, const char *arn, kvsws_error *err)
{
    kvsws_session *s = NULL;
    if (kvsws_session_new(client, &s, err) != KVSWS_OK ||
        kvsws_session_set_str(s, KVSWS_SESSION_OPT_CHANNEL_ARN, arn, err) != KVSWS_OK ||
        kvsws_session_start(s, err) != KVSWS_OK) {
        fprintf(stderr, "--also-channel-arn: %s\n", kvsws_error_message(err));
        kvsws_session_free(s);
        return NULL;
    }
    return s;
}

int main(int argc, char **argv)
{
    kvsws_error *err = kvsws_error_new();
    kvsws_config *cfg = kvsws_config_new();
    const char *level = getenv("KVSWS_IT_LOG_LEVEL");
    if (level)
        kvsws_config_set_int(cfg, KVSWS_OPT_LOG_LEVEL, atoi(level), err);
    kvsws_config_set_int(cfg, KVSWS_OPT_RETRY_BASE_DELAY_MS, 50, err);
    kvsws_client *client = NULL;
    int fds_before_client = count_fds();
    if (kvsws_client_new(cfg, &client, err) != KVSWS_OK) {
        fprintf(stderr, "%s\n", kvsws_error_describe(err));
        return 2;
    }
    kvsws_config_free(cfg);
    kvsws_session *s = NULL, *also = NULL;
    const char *also_arn = NULL;
    kvsws_session_new(client, &s, err);
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *f = argv[i], *v = argv[i + 1];
        kvsws_status st = KVSWS_OK;
        if (!strcmp(f, "--channel-arn"))
            st = kvsws_session_set_str(s, KVSWS_SESSION_OPT_CHANNEL_ARN, v, err);
        else if (!strcmp(f, "--channel-name"))
            st = kvsws_session_set_str(s, KVSWS_SESSION_OPT_CHANNEL_NAME, v, err);
        else if (!strcmp(f, "--viewer")) {
            st = kvsws_session_set_int(s, KVSWS_SESSION_OPT_ROLE, KVSWS_ROLE_VIEWER, err);
            if (!st)
                st = kvsws_session_set_str(s, KVSWS_SESSION_OPT_CLIENT_ID, v, err);
        } else if (!strcmp(f, "--offer-timeout"))
            st = kvsws_session_set_int(s, KVSWS_SESSION_OPT_OFFER_TIMEOUT_MS, atoll(v), err);
        else if (!strcmp(f, "--ping-interval"))
            st = kvsws_session_set_int(s, KVSWS_SESSION_OPT_PING_INTERVAL_MS, atoll(v), err);
        else if (!strcmp(f, "--max-joins"))
            st = kvsws_session_set_int(s, KVSWS_SESSION_OPT_MAX_JOIN_ATTEMPTS, atoll(v), err);
        else if (!strcmp(f, "--max-duration"))
            st = kvsws_session_set_int(s, KVSWS_SESSION_OPT_MAX_DURATION_MS, atoll(v), err);
        else if (!strcmp(f, "--check-answer"))
            st = kvsws_session_set_int(s, KVSWS_SESSION_OPT_CHECK_ANSWER, atoll(v), err);
        else if (!strcmp(f, "--also-channel-arn"))
            also_arn = v;
        if (st) {
            fprintf(stderr, "%s: %s\n", f, kvsws_error_message(err));
            return 2;
        }
    }
    if (kvsws_session_start(s, err) != KVSWS_OK) {
        printf("{\"type\":\"start_error\",\"status_name\":\"%s\"}\n",
               kvsws_status_name(kvsws_error_status(err)));
        fprintf(stderr, "%s\n", kvsws_error_message(err));
        kvsws_session_free(s);
        kvsws_client_free(client);
        kvsws_error_free(err);
        return 0;
    }
    if (also_arn && !(also = start_also(client, also_arn, err)))
        return 2;
    char line[262144];
    size_t used = 0;
    int running = 1, stdin_open = 1;
    while (running) {
        struct pollfd fds[3] = {{kvsws_session_fd(s), POLLIN, 0},
                                {also ? kvsws_session_fd(also) : -1, POLLIN, 0},
                                {stdin_open ? 0 : -1, POLLIN, 0}};
        poll(fds, 3, 1000);
        /* The second session first: the same loop, no thread of its own. */
        for (kvsws_event *ev = NULL; also && next_event_timed(also, &ev, err) == KVSWS_OK && ev;) {
            print_tagged(ev);
            if (kvsws_event_get_type(ev) == KVSWS_EVENT_CLOSED) {
                kvsws_session_free(also); /* its fd would stay readable */
                also = NULL;
            }
            kvsws_event_free(ev);
            ev = NULL;
        }
        /* Drain the session: events until none is ready. */
        for (;;) {
            kvsws_event *ev = NULL;
            if (next_event_timed(s, &ev, err) != KVSWS_OK) {
                fprintf(stderr, "next_event: %s\n", kvsws_error_message(err));
                running = 0;
                break;
            }
            if (!ev)
                break;
            printf("%s\n", kvsws_event_json(ev));
            print_error_detail(kvsws_event_error(ev));
            fflush(stdout);
            if (kvsws_event_get_type(ev) == KVSWS_EVENT_CLOSED)
                running = 0;
            kvsws_event_free(ev);
        }
        if (stdin_open && (fds[2].revents & (POLLIN | POLLHUP))) {
            ssize_t n = read(0, line + used, sizeof line - 1 - used);
            if (n <= 0) {
                stdin_open = 0;
                kvsws_session_close(s);
                continue;
            }
            used += (size_t)n;
            line[used] = '\0';
            char *nl;
            while (running && (nl = strchr(line, '\n')) != NULL) {
                *nl = '\0';
                running = run_command(s, line, err);
                size_t rest = used - (size_t)(nl + 1 - line);
                memmove(line, nl + 1, rest);
                used = rest;
                line[used] = '\0';
            }
        }
    }
    printf("{\"type\":\"stats\",\"max_next_event_ms\":%.1f}\n", max_call_ms);
    fflush(stdout);
    kvsws_session_free(also);
    kvsws_session_free(s);
    /* A polite close finishes on the client's worker (up to 1 s): wait until the count settles. */
    for (int last = -1, same = 0, tries = 0; same < 5 && tries < 30; tries++) {
        int n = count_fds();
        same = n == last ? same + 1 : 0;
        last = n;
        usleep(100000);
    }
    print_fds("session_freed", NULL);
    kvsws_client_free(client);
    char before[48];
    snprintf(before, sizeof before, ",\"before_client\":%d", fds_before_client);
    print_fds("client_freed", before);
    kvsws_error_free(err);
    return 0;
}
