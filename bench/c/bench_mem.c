/* SPDX-License-Identifier: Apache-2.0 */
/* bench_mem.c - kvsws C clients: how long one takes to create, and memory per client, idle and
 * connected (after one call, holding its kept-alive TLS connection to the local nginx).
 *
 *   bench_mem --endpoint URL --ca PEM [--clients N] [--fixtures F] */
#include <kvsws.h>

#include "common.h"

static kvsws_client *make(const fixtures *f, const char *endpoint, const char *ca,
                          kvsws_error *err)
{
    kvsws_config *cfg = kvsws_config_new();
    kvsws_config_set_str(cfg, KVSWS_OPT_REGION, f->region, err);
    kvsws_config_set_str(cfg, KVSWS_OPT_ENDPOINT_URL, endpoint, err);
    kvsws_config_set_str(cfg, KVSWS_OPT_CA_BUNDLE, ca, err);
    kvsws_config_set_str(cfg, KVSWS_OPT_ACCESS_KEY_ID, f->access_key_id, err);
    kvsws_config_set_str(cfg, KVSWS_OPT_SECRET_ACCESS_KEY, f->secret_access_key, err);
    kvsws_config_set_str(cfg, KVSWS_OPT_SESSION_TOKEN, f->session_token, err);
    kvsws_client *c = NULL;
    if (kvsws_client_new(cfg, &c, err) != KVSWS_OK)
        die("kvsws_client_new: %s", kvsws_error_describe(err));
    kvsws_config_free(cfg);
    return c;
}

int main(int argc, char **argv)
{
    fixtures f;
    fixtures_load(&f, arg_str(argc, argv, "--fixtures", "bench/fixtures.json"));
    const char *endpoint = arg_str(argc, argv, "--endpoint", NULL);
    const char *ca = arg_str(argc, argv, "--ca", NULL);
    long n = arg_long(argc, argv, "--clients", 1000);
    if (!endpoint || !ca)
        die("--endpoint and --ca are required");
    kvsws_error *err = kvsws_error_new();
    kvsws_client **clients = calloc((size_t)n + 1, sizeof *clients);

    clients[0] = make(&f, endpoint, ca, err); /* the first pays for one-time set-up */
    if (kvsws_join_storage_session(clients[0], f.channel_arn, NULL, err) != KVSWS_OK)
        die("join: %s", kvsws_error_describe(err));
    long rss0 = proc_status("VmRSS");
    int64_t t0 = now_ns();
    for (long i = 1; i <= n; i++)
        clients[i] = make(&f, endpoint, ca, err);
    int64_t create_ns = (now_ns() - t0) / n;
    long rss1 = proc_status("VmRSS");
    for (long i = 1; i <= n; i++)
        if (kvsws_join_storage_session(clients[i], f.channel_arn, NULL, err) != KVSWS_OK)
            die("join: %s", kvsws_error_describe(err));
    long rss2 = proc_status("VmRSS");
    printf("{\"kind\": \"memory\", \"impl\": \"kvsws-c\", \"what\": \"idle client\", \"clients\": %ld, "
           "\"bytes_per_client\": %.0f, \"create_ns\": %lld}\n",
           n, (double)(rss1 - rss0) * 1024 / (double)n, (long long)create_ns);
    printf("{\"kind\": \"memory\", \"impl\": \"kvsws-c\", \"what\": \"connected client\", "
           "\"clients\": %ld, \"bytes_per_client\": %.0f, \"threads\": %ld}\n",
           n, (double)(rss2 - rss0) * 1024 / (double)n, proc_status("Threads"));
    for (long i = 0; i <= n; i++)
        kvsws_client_free(clients[i]);
    free(clients);
    kvsws_error_free(err);
    cJSON_Delete(f.root);
    return 0;
}
