/* SPDX-License-Identifier: Apache-2.0 */
/* client.h - the client object shared by the operations (internal). */
#ifndef KVSWS_CLIENT_H
#define KVSWS_CLIENT_H

#include <pthread.h>
#include <stdint.h>

#include "aws/sigv4.h"
#include "base/pool.h"
#include "base/profile.h"
#include "credentials/chain.h"
#include "credentials/credentials.h"
#include "kvsws.h"
#include "transport/http.h"

#define KVSWS_OPT_COUNT 25 /* one past the highest kvsws_option */

struct kvsws_config {
    char *str[KVSWS_OPT_COUNT];
    int64_t num[KVSWS_OPT_COUNT];
    int num_set[KVSWS_OPT_COUNT];
    kvsws_log_fn log_fn;
    void *log_userdata;
};

struct kvsws_cancel {
    int flag; /* read and written with __atomic builtins */
};

/* Discovered per-channel endpoints, cached for the client's life. */
typedef struct kvi_channel_endpoints {
    struct kvi_channel_endpoints *next;
    char *channel_arn;
    char *role;   /* "MASTER" or "VIEWER" */
    char *webrtc; /* NULL when not asked for yet */
    char *https;
} kvi_channel_endpoints;

struct kvsws_client {
    char *region;
    kvi_profile_paths paths;
    kvi_credential_chain *credentials;
    kvi_signer *signer;
    kvi_http_pool *http;
    char *control_endpoint;   /* configured or the region's default */
    char *signaling_endpoint; /* configured, else NULL: discovered per channel */
    char *webrtc_endpoint;    /* configured, else NULL: discovered per channel */
    int max_attempts;
    int retry_join;
    int64_t retry_base_delay_ms;
    int log_level;            /* read and written with __atomic builtins (set_log_level) */
    kvsws_log_fn log_fn;
    void *log_userdata;
    char *user_agent;
    char *ca_bundle;          /* NULL: the system store (the WebSocket needs it too) */
    struct kvi_ca_store *ca_store; /* the trusted CAs, parsed once for every connection */
    long connect_timeout_ms;
    long read_timeout_ms;
    long request_timeout_ms; /* total per HTTPS exchange (the WebSocket upgrade too) */

    pthread_mutex_t lock;         /* guards what follows */
    kvi_channel_endpoints *cache;
    int64_t clock_skew_s;         /* server time minus ours, learned from a skew error */
    uint64_t rng_state;
    kvi_pool *pool;               /* the sessions' workers, started by the first session */
};

/* Logs a line when level is enabled; never pass secrets. */
void kvi_log(kvsws_client *c, kvsws_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A uniform random number in [0, 1) from the client's generator (under its lock). */
double kvi_client_random(kvsws_client *c);

/* Now by the server's clock: this machine's time plus the skew learned so far (0 at first). */
time_t kvi_client_now(kvsws_client *c);

/* Learns the server's clock from an HTTP Date header, after a "Signature expired" style error,
 * so the next signature (a call or a presigned URL) uses it. 0 ok, -1 no usable date. */
int kvi_client_learn_clock_skew(kvsws_client *c, const char *date_header);

/* Records a channel's endpoints learned elsewhere (the session asks for all three at once), so
 * the operations do not ask again. Any of webrtc/https may be NULL. */
void kvi_client_seed_endpoints(kvsws_client *c, const char *channel_arn, const char *role,
                               const char *webrtc, const char *https);

/* The workers for the sessions' blocking steps, started on first use (NULL: none could start). */
kvi_pool *kvi_client_pool(kvsws_client *c);

#endif
