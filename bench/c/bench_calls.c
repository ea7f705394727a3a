/* SPDX-License-Identifier: Apache-2.0 */
/* bench_calls.c - round trips against one fast local HTTPS server (nginx), keep-alive, one thread:
 * kvsws C (kvsws_join_storage_session / kvsws_describe_media_storage_configuration, endpoint set
 * so it goes straight there) and the floor, a bare libcurl loop on one easy handle that sends the
 * same request with a fixed, precomputed set of signed headers.
 *
 *   bench_calls --impl kvsws|curl --op join|describe --endpoint URL --ca PEM
 *               [--calls N] [--runs R] [--warmup W] [--fixtures F]
 *
 * Prints one JSON line: per run, the median and p99 latency, and the process's CPU (user + sys,
 * every thread) per call. */
#include <curl/curl.h>
#include <kvsws.h>

#include "common.h"

typedef struct bench {
    const fixtures *f;
    const char *op;
    kvsws_client *client;
    kvsws_error *err;
    CURL *easy;
    struct curl_slist *headers;
    char body[512];
} bench;

static size_t discard(char *p, size_t size, size_t n, void *userdata)
{
    (void)p;
    (void)userdata;
    return size * n;
}

static void call_kvsws(bench *b)
{
    kvsws_status st;
    if (strcmp(b->op, "join") == 0) {
        st = kvsws_join_storage_session(b->client, b->f->channel_arn, NULL, b->err);
    } else {
        kvsws_response *resp = NULL;
        st = kvsws_describe_media_storage_configuration(b->client, b->f->channel_arn, NULL, &resp,
                                                        b->err);
        kvsws_response_free(resp);
    }
    if (st != KVSWS_OK)
        die("kvsws call: %s", kvsws_error_describe(b->err));
}

static void call_curl(bench *b)
{
    CURLcode rc = curl_easy_perform(b->easy);
    long status = 0;
    curl_easy_getinfo(b->easy, CURLINFO_RESPONSE_CODE, &status);
    if (rc != CURLE_OK || status != 200)
        die("curl: %s, HTTP %ld", curl_easy_strerror(rc), status);
}

int main(int argc, char **argv)
{
    fixtures f;
    fixtures_load(&f, arg_str(argc, argv, "--fixtures", "bench/fixtures.json"));
    const char *impl = arg_str(argc, argv, "--impl", "kvsws");
    const char *op = arg_str(argc, argv, "--op", "join");
    const char *endpoint = arg_str(argc, argv, "--endpoint", NULL);
    const char *ca = arg_str(argc, argv, "--ca", NULL);
    long calls = arg_long(argc, argv, "--calls", 2000);
    int runs = (int)arg_long(argc, argv, "--runs", 5);
    long warmup = arg_long(argc, argv, "--warmup", 200);
    if (!endpoint || !ca)
        die("--endpoint and --ca are required");
    int join = strcmp(op, "join") == 0;

    bench b = {.f = &f, .op = op, .err = kvsws_error_new()};
    void (*call)(bench *) = NULL;
    if (strcmp(impl, "kvsws") == 0) {
        kvsws_config *cfg = kvsws_config_new();
        kvsws_config_set_str(cfg, KVSWS_OPT_REGION, f.region, b.err);
        kvsws_config_set_str(cfg, KVSWS_OPT_ENDPOINT_URL, endpoint, b.err);
        kvsws_config_set_str(cfg, KVSWS_OPT_CA_BUNDLE, ca, b.err);
        kvsws_config_set_str(cfg, KVSWS_OPT_ACCESS_KEY_ID, f.access_key_id, b.err);
        kvsws_config_set_str(cfg, KVSWS_OPT_SECRET_ACCESS_KEY, f.secret_access_key, b.err);
        kvsws_config_set_str(cfg, KVSWS_OPT_SESSION_TOKEN, f.session_token, b.err);
        if (kvsws_client_new(cfg, &b.client, b.err) != KVSWS_OK)
            die("kvsws_client_new: %s", kvsws_error_describe(b.err));
        kvsws_config_free(cfg);
        call = call_kvsws;
    } else if (strcmp(impl, "curl") == 0) {
        /* The request kvsws sends, with headers signed once up front (a fixed header). */
        curl_global_init(CURL_GLOBAL_DEFAULT);
        kvsws_config *cfg = kvsws_config_new();
        kvsws_config_set_str(cfg, KVSWS_OPT_REGION, f.region, b.err);
        kvsws_config_set_str(cfg, KVSWS_OPT_ACCESS_KEY_ID, f.access_key_id, b.err);
        kvsws_config_set_str(cfg, KVSWS_OPT_SECRET_ACCESS_KEY, f.secret_access_key, b.err);
        kvsws_config_set_str(cfg, KVSWS_OPT_SESSION_TOKEN, f.session_token, b.err);
        kvsws_client *signer = NULL;
        if (kvsws_client_new(cfg, &signer, b.err) != KVSWS_OK)
            die("kvsws_client_new: %s", kvsws_error_describe(b.err));
        kvsws_config_free(cfg);
        if (join)
            snprintf(b.body, sizeof b.body, "{\"channelArn\":\"%s\"}", f.channel_arn);
        else
            snprintf(b.body, sizeof b.body, "{\"ChannelARN\":\"%s\"}", f.channel_arn);
        char url[512];
        snprintf(url, sizeof url, "%s/%s", endpoint,
                 join ? "joinStorageSession" : "describeMediaStorageConfiguration");
        const char *hdrs[] = {"Content-Type: application/json", NULL};
        char *signed_headers = NULL;
        if (kvsws_sign_request(signer, "kinesisvideo", "POST", url, hdrs, b.body, strlen(b.body),
                               0, 0, &signed_headers, b.err) != KVSWS_OK)
            die("sign: %s", kvsws_error_describe(b.err));
        kvsws_client_free(signer);
        b.headers = curl_slist_append(NULL, "Content-Type: application/json");
        b.headers = curl_slist_append(b.headers, "Expect:");
        for (char *line = strtok(signed_headers, "\n"); line; line = strtok(NULL, "\n"))
            b.headers = curl_slist_append(b.headers, line);
        kvsws_string_free(signed_headers);
        b.easy = curl_easy_init();
        curl_easy_setopt(b.easy, CURLOPT_URL, url);
        curl_easy_setopt(b.easy, CURLOPT_CAINFO, ca);
        curl_easy_setopt(b.easy, CURLOPT_HTTPHEADER, b.headers);
        curl_easy_setopt(b.easy, CURLOPT_POSTFIELDS, b.body);
        curl_easy_setopt(b.easy, CURLOPT_POSTFIELDSIZE, (long)strlen(b.body));
        curl_easy_setopt(b.easy, CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(b.easy, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
        curl_easy_setopt(b.easy, CURLOPT_NOSIGNAL, 1L);
        call = call_curl;
    } else {
        die("unknown --impl %s", impl);
    }

    for (long i = 0; i < warmup; i++)
        call(&b);
    double p50[32], p99[32], cpu[32], wall[32];
    double *lat = malloc((size_t)calls * sizeof *lat);
    for (int r = 0; r < runs && r < 32; r++) {
        int64_t c0 = cpu_ns(), w0 = now_ns();
        for (long i = 0; i < calls; i++) {
            int64_t t0 = now_ns();
            call(&b);
            lat[i] = (double)(now_ns() - t0);
        }
        wall[r] = (double)(now_ns() - w0) / (double)calls;
        cpu[r] = (double)(cpu_ns() - c0) / (double)calls;
        p50[r] = quantile(lat, (size_t)calls, 0.50);
        p99[r] = quantile(lat, (size_t)calls, 0.99);
    }
    char a1[1024], a2[1024], a3[1024], a4[1024];
    json_array(a1, sizeof a1, p50, (size_t)runs);
    json_array(a2, sizeof a2, p99, (size_t)runs);
    json_array(a3, sizeof a3, cpu, (size_t)runs);
    json_array(a4, sizeof a4, wall, (size_t)runs);
    printf("{\"kind\": \"calls\", \"impl\": \"%s\", \"op\": \"%s\", \"calls\": %ld, "
           "\"p50_ns\": %s, \"p99_ns\": %s, \"cpu_ns\": %s, \"wall_ns\": %s, \"threads\": %ld}\n",
           strcmp(impl, "kvsws") == 0 ? "kvsws-c" : "libcurl-floor", op, calls, a1, a2, a3, a4,
           proc_status("Threads"));
    free(lat);
    if (b.easy)
        curl_easy_cleanup(b.easy);
    curl_slist_free_all(b.headers);
    kvsws_client_free(b.client);
    kvsws_error_free(b.err);
    cJSON_Delete(f.root);
    return 0;
}
