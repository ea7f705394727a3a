/* SPDX-License-Identifier: Apache-2.0 */
/* it_api.c - drives the public C API for the integration tests; prints one JSON result line.
 *
 *   it_api call OPERATION INPUT_JSON       one call, through kvsws_client_call
 *   it_api threads OPERATION INPUT_JSON N M   N threads x M calls on one shared client
 *   it_api cancel OPERATION INPUT_JSON MS   cancels the call from another thread after MS ms
 *
 * The client is configured from the environment only (region, keys, endpoints, CA bundle), as a
 * user's program would be; KVSWS_IT_MAX_ATTEMPTS / KVSWS_IT_RETRY_JOIN / KVSWS_IT_BASE_DELAY_MS
 * set those options. */
#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kvsws.h"

static void set_int_from_env(kvsws_config *cfg, kvsws_option opt, const char *var)
{
    const char *v = getenv(var);
    if (v && *v)
        kvsws_config_set_int(cfg, opt, atoll(v), NULL);
}

static kvsws_client *make_client(kvsws_error *err)
{
    kvsws_config *cfg = kvsws_config_new();
    set_int_from_env(cfg, KVSWS_OPT_MAX_ATTEMPTS, "KVSWS_IT_MAX_ATTEMPTS");
    set_int_from_env(cfg, KVSWS_OPT_RETRY_JOIN, "KVSWS_IT_RETRY_JOIN");
    set_int_from_env(cfg, KVSWS_OPT_RETRY_BASE_DELAY_MS, "KVSWS_IT_BASE_DELAY_MS");
    set_int_from_env(cfg, KVSWS_OPT_READ_TIMEOUT_MS, "KVSWS_IT_READ_TIMEOUT_MS");
    kvsws_client *client = NULL;
    kvsws_client_new(cfg, &client, err);
    kvsws_config_free(cfg);
    return client;
}

static void print_result(kvsws_status st, kvsws_response *resp, kvsws_error *err, double ms)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "status", st);
    cJSON_AddStringToObject(o, "status_name", kvsws_status_name(st));
    cJSON_AddStringToObject(o, "code", kvsws_error_code(err));
    cJSON_AddStringToObject(o, "message", kvsws_error_message(err));
    cJSON_AddStringToObject(o, "describe", kvsws_error_describe(err));
    cJSON_AddStringToObject(o, "operation", kvsws_error_operation(err));
    cJSON_AddNumberToObject(o, "http_status",
                            st ? kvsws_error_http_status(err) : kvsws_response_http_status(resp));
    cJSON_AddStringToObject(o, "request_id",
                            st ? kvsws_error_request_id(err) : kvsws_response_request_id(resp));
    cJSON_AddBoolToObject(o, "retryable", kvsws_error_retryable(err));
    cJSON_AddNumberToObject(o, "attempts",
                            st ? kvsws_error_attempts(err) : kvsws_response_attempts(resp));
    cJSON_AddNumberToObject(o, "elapsed_ms", ms);
    cJSON_AddItemToObject(o, "http_headers",
                          cJSON_Parse(st ? kvsws_error_http_headers_json(err)
                                         : kvsws_response_http_headers_json(resp)));
    if (!st)
        cJSON_AddItemToObject(o, "output", cJSON_Parse(kvsws_response_json(resp)));
    char *text = cJSON_PrintUnformatted(o);
    printf("%s\n", text);
    free(text);
    cJSON_Delete(o);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

typedef struct worker {
    kvsws_client *client;
    const char *op, *input;
    int calls, ok;
    kvsws_cancel *cancel;
    int delay_ms;
} worker;

static void *run_worker(void *arg)
{
    worker *w = arg;
    kvsws_error *err = kvsws_error_new();
    for (int i = 0; i < w->calls; i++)
        if (kvsws_client_call(w->client, w->op, w->input, NULL, NULL, err) == KVSWS_OK)
            w->ok++;
        else
            fprintf(stderr, "%s\n", kvsws_error_describe(err));
    kvsws_error_free(err);
    return NULL;
}

static void *cancel_later(void *arg)
{
    worker *w = arg;
    struct timespec ts = {w->delay_ms / 1000, (w->delay_ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    kvsws_cancel_trigger(w->cancel);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: it_api call|threads|cancel OPERATION INPUT_JSON [...]\n");
        return 2;
    }
    const char *mode = argv[1], *op = argv[2], *input = argv[3];
    kvsws_error *err = kvsws_error_new();
    kvsws_client *client = make_client(err);
    if (!client) {
        print_result(kvsws_error_status(err), NULL, err, 0);
        kvsws_error_free(err);
        return 0;
    }
    if (!strcmp(mode, "call")) {
        kvsws_response *resp = NULL;
        double t0 = now_ms();
        kvsws_status st = kvsws_client_call(client, op, input, NULL, &resp, err);
        print_result(st, resp, err, now_ms() - t0);
        kvsws_response_free(resp);
    } else if (!strcmp(mode, "threads") && argc >= 6) {
        int n = atoi(argv[4]), m = atoi(argv[5]);
        worker *ws = calloc((size_t)n, sizeof *ws);
        pthread_t *ts = calloc((size_t)n, sizeof *ts);
        double t0 = now_ms();
        for (int i = 0; i < n; i++) {
            ws[i] = (worker){client, op, input, m, 0, NULL, 0};
            pthread_create(&ts[i], NULL, run_worker, &ws[i]);
        }
        int ok = 0;
        for (int i = 0; i < n; i++) {
            pthread_join(ts[i], NULL);
            ok += ws[i].ok;
        }
        printf("{\"ok\": %d, \"total\": %d, \"elapsed_ms\": %.1f}\n", ok, n * m, now_ms() - t0);
        free(ws);
        free(ts);
    } else if (!strcmp(mode, "cancel") && argc >= 5) {
        worker w = {client, op, input, 1, 0, kvsws_cancel_new(), atoi(argv[4])};
        pthread_t t;
        pthread_create(&t, NULL, cancel_later, &w);
        double t0 = now_ms();
        kvsws_status st = kvsws_client_call(client, op, input, w.cancel, NULL, err);
        print_result(st, NULL, err, now_ms() - t0);
        pthread_join(t, NULL);
        kvsws_cancel_free(w.cancel);
    } else {
        fprintf(stderr, "unknown mode %s\n", mode);
        return 2;
    }
    kvsws_client_free(client);
    kvsws_error_free(err);
    return 0;
}
