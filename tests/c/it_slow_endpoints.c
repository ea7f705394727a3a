/* SPDX-License-Identifier: Apache-2.0 */
/* it_slow_endpoints.c - many storage sessions on one client and one poll() loop, some of them
 * against answers that trickle, for as long as asked.
 *
 *   it_slow_endpoints --seconds S (--channel-name NAME | --channel-arn ARN)...
 *
 * Every session is a master on the same client (so they share its workers). Prints each event
 * as one JSON line with "session" (its index in the arguments) and "t_ms" (since the sessions
 * started); at the end {"type":"done","max_next_event_ms":N}. The client is configured from the
 * environment, plus KVSWS_IT_REQUEST_TIMEOUT_MS when set. */
#include <cjson/cJSON.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kvsws.h"

#define MAX_SESSIONS 16

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void print_event(const kvsws_event *ev, int index, double t_ms)
{
    cJSON *o = cJSON_Parse(kvsws_event_json(ev));
    cJSON_AddNumberToObject(o, "session", index);
    cJSON_AddNumberToObject(o, "t_ms", (double)(long long)t_ms);
    char *text = cJSON_PrintUnformatted(o);
    printf("%s\n", text);
    fflush(stdout);
    free(text);
    cJSON_Delete(o);
}

int main(int argc, char **argv)
{
    kvsws_error *err = kvsws_error_new();
    kvsws_config *cfg = kvsws_config_new();
    kvsws_config_set_int(cfg, KVSWS_OPT_RETRY_BASE_DELAY_MS, 50, err);
    const char *request_ms = getenv("KVSWS_IT_REQUEST_TIMEOUT_MS");
    if (request_ms &&
        kvsws_config_set_int(cfg, KVSWS_OPT_REQUEST_TIMEOUT_MS, atoll(request_ms), err)) {
        fprintf(stderr, "%s\n", kvsws_error_message(err));
        return 2;
    }
    kvsws_client *client = NULL;
    if (kvsws_client_new(cfg, &client, err) != KVSWS_OK) {
        fprintf(stderr, "%s\n", kvsws_error_describe(err));
        return 2;
    }
    kvsws_config_free(cfg);

    kvsws_session *sessions[MAX_SESSIONS] = {0};
    int n = 0;
    double seconds = 10;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *f = argv[i], *v = argv[i + 1];
        if (!strcmp(f, "--seconds")) {
            seconds = atof(v);
            continue;
        }
        kvsws_session_option opt = !strcmp(f, "--channel-arn") ? KVSWS_SESSION_OPT_CHANNEL_ARN
                                                                : KVSWS_SESSION_OPT_CHANNEL_NAME;
        if (n == MAX_SESSIONS || kvsws_session_new(client, &sessions[n], err) != KVSWS_OK ||
            kvsws_session_set_str(sessions[n], opt, v, err) != KVSWS_OK) {
            fprintf(stderr, "%s %s: %s\n", f, v, kvsws_error_message(err));
            return 2;
        }
        n++;
    }
    double t0 = now_ms(), max_call = 0;
    for (int i = 0; i < n; i++)
        if (kvsws_session_start(sessions[i], err) != KVSWS_OK) {
            fprintf(stderr, "start: %s\n", kvsws_error_message(err));
            return 2;
        }
    while (now_ms() - t0 < seconds * 1000) {
        struct pollfd fds[MAX_SESSIONS];
        for (int i = 0; i < n; i++)
            fds[i] = (struct pollfd){kvsws_session_fd(sessions[i]), POLLIN, 0};
        poll(fds, (nfds_t)n, 100);
        for (int i = 0; i < n; i++) {
            for (;;) {
                kvsws_event *ev = NULL;
                double c0 = now_ms();
                kvsws_status st = kvsws_session_next_event(sessions[i], 0, &ev, err);
                if (now_ms() - c0 > max_call)
                    max_call = now_ms() - c0;
                if (st != KVSWS_OK || !ev)
                    break;
                print_event(ev, i, now_ms() - t0);
                kvsws_event_free(ev);
            }
        }
    }
    for (int i = 0; i < n; i++)
        kvsws_session_free(sessions[i]);
    printf("{\"type\":\"done\",\"max_next_event_ms\":%.1f}\n", max_call);
    kvsws_client_free(client);
    kvsws_error_free(err);
    return 0;
}
