/* SPDX-License-Identifier: Apache-2.0 */
/* bench_scale.c - many storage sessions in one process, one thread: N kvsws sessions on one
 * client, every session's fd in one epoll set, against a lightweight local signaling endpoint
 * (bench/go/cmd/sigserver). Measures how long until all are connected (the offer delivered), the
 * memory per session, the CPU per session while idle (pings only), threads and fds.
 *
 *   bench_scale --endpoint URL --ca PEM [--sessions N] [--idle-s S] [--timeout-s T]
 *               [--label TEXT] [--fixtures F] */
#include <dirent.h>
#include <kvsws.h>
#include <sys/epoll.h>

#include "common.h"

static long count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    long n = 0;
    if (!d)
        return -1;
    while (readdir(d))
        n++;
    closedir(d);
    return n - 3; /* ".", ".." and the DIR's own fd */
}

typedef struct state {
    kvsws_session **sessions;
    char *connected; /* per session: reached "connected" once */
    long n_connected, n_closed, offers, events, reconnects;
    int64_t last_connected_ns;
} state;

/* Runs every session's due work and events until `until_ns` (or all connected, if stop_early). */
static void loop(int ep, state *st, long n, kvsws_error *err, int64_t until_ns, int stop_early)
{
    struct epoll_event evs[256];
    while (now_ns() < until_ns && !(stop_early && st->n_connected + st->n_closed >= n)) {
        int64_t left_ms = (until_ns - now_ns()) / 1000000;
        int k = epoll_wait(ep, evs, 256, left_ms > 1000 ? 1000 : (int)left_ms + 1);
        for (int j = 0; j < k; j++) {
            long i = (long)evs[j].data.u64;
            kvsws_event *ev = NULL;
            while (kvsws_session_next_event(st->sessions[i], 0, &ev, err) == KVSWS_OK && ev) {
                st->events++;
                kvsws_event_type type = kvsws_event_get_type(ev);
                if (type == KVSWS_EVENT_OFFER)
                    st->offers++;
                if (type == KVSWS_EVENT_STATE && kvsws_event_state(ev) == KVSWS_STATE_CONNECTED &&
                    !st->connected[i]) {
                    st->connected[i] = 1;
                    st->n_connected++;
                    st->last_connected_ns = now_ns();
                }
                if (type == KVSWS_EVENT_STATE &&
                    kvsws_event_state(ev) == KVSWS_STATE_RECONNECTING) {
                    if (st->reconnects++ < 5)
                        fprintf(stderr, "bench_scale: session %ld reconnecting: %s\n", i,
                                kvsws_error_describe(kvsws_event_error(ev)));
                }
                if (type == KVSWS_EVENT_CLOSED) {
                    st->n_closed++;
                    fprintf(stderr, "bench_scale: session %ld closed: %s\n", i,
                            kvsws_error_describe(kvsws_event_error(ev)));
                }
                kvsws_event_free(ev);
            }
        }
    }
}

int main(int argc, char **argv)
{
    fixtures f;
    fixtures_load(&f, arg_str(argc, argv, "--fixtures", "bench/fixtures.json"));
    const char *endpoint = arg_str(argc, argv, "--endpoint", NULL);
    const char *ca = arg_str(argc, argv, "--ca", NULL);
    long n = arg_long(argc, argv, "--sessions", 100);
    long idle_s = arg_long(argc, argv, "--idle-s", 30);
    long timeout_s = arg_long(argc, argv, "--timeout-s", 120);
    const char *label = arg_str(argc, argv, "--label", "");
    if (!endpoint || !ca)
        die("--endpoint and --ca are required");

    kvsws_error *err = kvsws_error_new();
    kvsws_config *cfg = kvsws_config_new();
    kvsws_config_set_str(cfg, KVSWS_OPT_REGION, f.region, err);
    kvsws_config_set_str(cfg, KVSWS_OPT_ENDPOINT_URL, endpoint, err);
    kvsws_config_set_str(cfg, KVSWS_OPT_CA_BUNDLE, ca, err);
    kvsws_config_set_str(cfg, KVSWS_OPT_ACCESS_KEY_ID, f.access_key_id, err);
    kvsws_config_set_str(cfg, KVSWS_OPT_SECRET_ACCESS_KEY, f.secret_access_key, err);
    kvsws_config_set_str(cfg, KVSWS_OPT_SESSION_TOKEN, f.session_token, err);
    kvsws_client *client = NULL;
    if (kvsws_client_new(cfg, &client, err) != KVSWS_OK)
        die("kvsws_client_new: %s", kvsws_error_describe(err));
    kvsws_config_free(cfg);

    state st = {.sessions = calloc((size_t)n, sizeof(kvsws_session *)),
                .connected = calloc((size_t)n, 1)};
    int ep = epoll_create1(EPOLL_CLOEXEC);
    long rss0 = proc_status("VmRSS"), fds0 = count_fds();
    int64_t cpu0 = cpu_ns(), t0 = now_ns();
    for (long i = 0; i < n; i++) {
        char arn[128];
        snprintf(arn, sizeof arn, "arn:aws:kinesisvideo:%s:123456789012:channel/bench-%ld/1700000000%03ld",
                 f.region, i, i % 1000);
        if (kvsws_session_new(client, &st.sessions[i], err) != KVSWS_OK ||
            kvsws_session_set_str(st.sessions[i], KVSWS_SESSION_OPT_CHANNEL_ARN, arn, err) !=
                KVSWS_OK ||
            kvsws_session_start(st.sessions[i], err) != KVSWS_OK)
            die("session %ld: %s", i, kvsws_error_describe(err));
        struct epoll_event ee = {.events = EPOLLIN, .data.u64 = (uint64_t)i};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, kvsws_session_fd(st.sessions[i]), &ee) != 0)
            die("epoll_ctl: session %ld", i);
    }
    loop(ep, &st, n, err, t0 + timeout_s * 1000000000LL, 1);
    int64_t connect_ns = (st.n_connected ? st.last_connected_ns : now_ns()) - t0;
    int64_t connect_cpu = cpu_ns() - cpu0;
    long rss1 = proc_status("VmRSS"), threads1 = proc_status("Threads"), fds1 = count_fds();

    /* Idle: nothing but the sessions' keep-alive (pings after PING_INTERVAL of silence). */
    int64_t cpu1 = cpu_ns(), t1 = now_ns();
    long events1 = st.events;
    loop(ep, &st, n, err, t1 + idle_s * 1000000000LL, 0);
    int64_t idle_cpu = cpu_ns() - cpu1, idle_ns = now_ns() - t1;
    long rss2 = proc_status("VmRSS"), threads2 = proc_status("Threads");
    long still = 0;
    for (long i = 0; i < n; i++)
        still += kvsws_session_get_state(st.sessions[i]) == KVSWS_STATE_CONNECTED;

    printf("{\"kind\": \"scale\", \"impl\": \"kvsws-c\", \"label\": \"%s\", \"sessions\": %ld, \"connected\": %ld, "
           "\"closed\": %ld, \"reconnects\": %ld, \"offers\": %ld, \"connect_s\": %.3f, \"connect_cpu_ms_per_session\": %.3f, "
           "\"rss_kb_before\": %ld, \"rss_kb_connected\": %ld, \"rss_kb_after_idle\": %ld, "
           "\"kb_per_session\": %.1f, \"idle_s\": %.1f, \"idle_events\": %ld, "
           "\"idle_cpu_us_per_session_per_s\": %.3f, \"idle_cpu_percent\": %.3f, "
           "\"still_connected\": %ld, \"threads\": %ld, \"threads_after_idle\": %ld, "
           "\"fds_per_session\": %.2f}\n",
           label, n, st.n_connected, st.n_closed, st.reconnects, st.offers, (double)connect_ns / 1e9,
           (double)connect_cpu / 1e6 / (double)n, rss0, rss1, rss2,
           (double)(rss1 - rss0) / (double)n, (double)idle_ns / 1e9, st.events - events1,
           (double)idle_cpu / 1e3 / (double)n / ((double)idle_ns / 1e9),
           100.0 * (double)idle_cpu / (double)idle_ns, still, threads1, threads2,
           (double)(fds1 - fds0) / (double)n);
    fflush(stdout);
    for (long i = 0; i < n; i++)
        kvsws_session_close(st.sessions[i]);
    for (long i = 0; i < n; i++)
        kvsws_session_free(st.sessions[i]);
    kvsws_client_free(client);
    kvsws_error_free(err);
    free(st.sessions);
    free(st.connected);
    cJSON_Delete(f.root);
    return st.n_connected == n ? 0 : 2;
}
