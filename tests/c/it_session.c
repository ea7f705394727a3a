/* it_session.c - a storage session driven from a poll() loop over kvsws_session_fd and stdin.
 *
 *   it_session (--channel-arn ARN | --channel-name NAME) [--viewer CLIENT_ID] [--offer-timeout MS]
 *              [--ping-interval MS] [--max-joins N] [--max-duration MS]
 *
 * Prints every event as one JSON line (kvsws_event_json) on stdout; reads commands as JSON lines
 * on stdin: {"cmd":"answer","sdp":...}, {"cmd":"candidate","candidate":...,"sdp_mid":...,
 * "sdp_mline_index":N}, {"cmd":"close"}. A command's failure prints {"type":"command_error",...}.
 * The client is configured from the environment, as a user's program would be. */
#include <cjson/cJSON.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kvsws.h"

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

static int run_command(kvsws_session *s, const char *line, kvsws_error *err)
{
    cJSON *c = cJSON_Parse(line);
    const cJSON *cmd = cJSON_GetObjectItem(c, "cmd");
    int keep_going = 1;
    if (!cJSON_IsString(cmd)) {
        print_command_result("?", KVSWS_E_PARAM_VALIDATION, err);
    } else if (!strcmp(cmd->valuestring, "answer")) {
        const cJSON *sdp = cJSON_GetObjectItem(c, "sdp");
        kvsws_status st = kvsws_session_send_answer(
            s, cJSON_IsString(sdp) ? sdp->valuestring : NULL, NULL, err);
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
    } else if (!strcmp(cmd->valuestring, "close")) {
        kvsws_session_close(s);
    } else if (!strcmp(cmd->valuestring, "exit")) {
        keep_going = 0;
    }
    cJSON_Delete(c);
    return keep_going;
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
    if (kvsws_client_new(cfg, &client, err) != KVSWS_OK) {
        fprintf(stderr, "%s\n", kvsws_error_describe(err));
        return 2;
    }
    kvsws_config_free(cfg);
    kvsws_session *s = NULL;
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
    char line[262144];
    size_t used = 0;
    int running = 1, stdin_open = 1;
    while (running) {
        struct pollfd fds[2] = {{kvsws_session_fd(s), POLLIN, 0}, {0, POLLIN, 0}};
        poll(fds, stdin_open ? 2 : 1, 1000);
        /* Drain the session: events until none is ready. */
        for (;;) {
            kvsws_event *ev = NULL;
            if (kvsws_session_next_event(s, 0, &ev, err) != KVSWS_OK) {
                fprintf(stderr, "next_event: %s\n", kvsws_error_message(err));
                running = 0;
                break;
            }
            if (!ev)
                break;
            printf("%s\n", kvsws_event_json(ev));
            fflush(stdout);
            if (kvsws_event_get_type(ev) == KVSWS_EVENT_CLOSED)
                running = 0;
            kvsws_event_free(ev);
        }
        if (stdin_open && (fds[1].revents & (POLLIN | POLLHUP))) {
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
    kvsws_session_free(s);
    kvsws_client_free(client);
    kvsws_error_free(err);
    return 0;
}
