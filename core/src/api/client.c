/* SPDX-License-Identifier: Apache-2.0 */
/* client.c - creating a client: region, credentials, endpoints, transport, logging. */
#include "api/client.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "aws/endpoints.h"
#include "base/buf.h"
#include "base/error.h"
#include "credentials/iot.h"
#include "credentials/region.h"
#include "transport/curl_common.h"

#define DEFAULT_MAX_ATTEMPTS 3
#define DEFAULT_RETRY_BASE_DELAY_MS 1000
#define SESSION_WORKERS 4 /* steps in flight at once while every step is quick */
#define SESSION_WORKERS_MAX 64 /* and while some are slow (pool.c says how it grows) */
#define SESSION_STEP_SLOW_MS 1000 /* a step running this long no longer counts as a free worker */
#define SESSION_WORKER_IDLE_MS 10000 /* an extra worker this long without work leaves */

const char *kvsws_version(void) { return KVSWS_VERSION_STRING; }

void kvi_log(kvsws_client *c, kvsws_log_level level, const char *fmt, ...)
{
    if (!c || (int)level > __atomic_load_n(&c->log_level, __ATOMIC_RELAXED) ||
        level == KVSWS_LOG_OFF)
        return;
    kvi_buf line = KVI_BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    kvi_buf_vprintf(&line, fmt, ap);
    va_end(ap);
    if (c->log_fn)
        c->log_fn(c->log_userdata, level, kvi_buf_str(&line));
    else
        fprintf(stderr, "kvsws: %s\n", kvi_buf_str(&line));
    kvi_buf_free(&line);
}

time_t kvi_client_now(kvsws_client *c)
{
    pthread_mutex_lock(&c->lock);
    int64_t skew = c->clock_skew_s;
    pthread_mutex_unlock(&c->lock);
    return time(NULL) + (time_t)skew;
}

int kvi_client_learn_clock_skew(kvsws_client *c, const char *date_header)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (!date_header || !strptime(date_header, "%a, %d %b %Y %H:%M:%S GMT", &tm))
        return -1;
    time_t server = timegm(&tm);
    pthread_mutex_lock(&c->lock);
    c->clock_skew_s = (int64_t)(server - time(NULL));
    int64_t skew = c->clock_skew_s;
    pthread_mutex_unlock(&c->lock);
    kvi_log(c, KVSWS_LOG_WARN, "clock skew corrected: server is %+lld s from this machine",
            (long long)skew);
    return 0;
}

double kvi_client_random(kvsws_client *c)
{
    pthread_mutex_lock(&c->lock);
    /* xorshift64*: jitter needs spread, not secrecy */
    uint64_t x = c->rng_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    c->rng_state = x;
    pthread_mutex_unlock(&c->lock);
    return (double)((x * 0x2545F4914F6CDD1DULL) >> 11) / (double)(1ULL << 53);
}

kvi_pool *kvi_client_pool(kvsws_client *c)
{
    pthread_mutex_lock(&c->lock);
    if (!c->pool)
        c->pool = kvi_pool_new(SESSION_WORKERS, SESSION_WORKERS_MAX, SESSION_STEP_SLOW_MS,
                               SESSION_WORKER_IDLE_MS);
    kvi_pool *p = c->pool;
    pthread_mutex_unlock(&c->lock);
    return p;
}

void kvsws_client_set_log_level(kvsws_client *client, kvsws_log_level level)
{
    if (!client || (int)level < KVSWS_LOG_OFF || (int)level > KVSWS_LOG_DEBUG)
        return;
    __atomic_store_n(&client->log_level, (int)level, __ATOMIC_RELAXED);
}

/* KVSWS_LOG_LEVEL (error|warn|info|debug|off, any case) for a client given no level; unset or
 * empty is off, anything else an error that names it. */
static kvsws_status env_log_level(int *out, kvsws_error *err)
{
    static const struct {
        const char *name;
        kvsws_log_level level;
    } names[] = {{"off", KVSWS_LOG_OFF},   {"error", KVSWS_LOG_ERROR}, {"warn", KVSWS_LOG_WARN},
                 {"warning", KVSWS_LOG_WARN}, {"info", KVSWS_LOG_INFO}, {"debug", KVSWS_LOG_DEBUG}};
    const char *v = getenv("KVSWS_LOG_LEVEL");
    *out = KVSWS_LOG_OFF;
    if (!v || !*v)
        return KVSWS_OK;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcasecmp(v, names[i].name) == 0) {
            *out = (int)names[i].level;
            return KVSWS_OK;
        }
    return kvi_error_set(err, KVSWS_E_CONFIG,
                         "KVSWS_LOG_LEVEL must be one of error, warn, info, debug, off; got \"%s\"",
                         v);
}

/* AWS_MAX_ATTEMPTS, as the SDKs read it; a bad value is an error that names it. */
static kvsws_status env_max_attempts(int *out, kvsws_error *err)
{
    const char *v = getenv("AWS_MAX_ATTEMPTS");
    if (!v || !*v)
        return KVSWS_OK;
    char *end = NULL;
    long n = strtol(v, &end, 10);
    if (*end || n < 1 || n > 20)
        return kvi_error_set(err, KVSWS_E_CONFIG,
                             "AWS_MAX_ATTEMPTS must be a whole number from 1 to 20, got \"%s\"", v);
    *out = (int)n;
    return KVSWS_OK;
}

static const char *opt_str(const kvsws_config *cfg, kvsws_option opt)
{
    return cfg ? cfg->str[opt] : NULL;
}

static int64_t opt_int(const kvsws_config *cfg, kvsws_option opt, int64_t dflt)
{
    return cfg && cfg->num_set[opt] ? cfg->num[opt] : dflt;
}

static kvsws_status check_endpoint(const char *url, const char *what, kvsws_error *err)
{
    const char *why = NULL;
    if (url && kvi_endpoint_validate(url, 0, &why) != 0)
        return kvi_error_set(err, KVSWS_E_PARAM_VALIDATION, "Invalid endpoint URL in %s: \"%s\" %s",
                             what, url, why ? why : "is not valid");
    return KVSWS_OK;
}

/* The AWS IoT options, checked now (before any I/O), for the chain; none given: the chain
 * looks at the AWS_IOT_CORE_* variables when it resolves. */
static kvsws_status attach_iot(kvsws_client *c, const kvsws_config *cfg, kvsws_error *err)
{
    kvi_iot_config iot = {{NULL}, kvi_iot_option_names};
    int given = 0;
    for (int i = 0; i < KVI_IOT_FIELDS; i++) {
        const char *v = opt_str(cfg, (kvsws_option)(KVSWS_OPT_IOT_CREDENTIAL_ENDPOINT + i));
        iot.value[i] = v && *v ? (char *)v : NULL; /* borrowed: never freed here */
        given += iot.value[i] != NULL;
    }
    kvsws_status st = given ? kvi_iot_config_check(&iot, err) : KVSWS_OK;
    if (st == KVSWS_OK &&
        kvi_credential_chain_attach_iot(c->credentials, given ? &iot : NULL, c->ca_bundle,
                                        c->connect_timeout_ms, c->request_timeout_ms) != 0)
        st = kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory");
    return st;
}

kvsws_status kvsws_client_new(const kvsws_config *cfg, kvsws_client **out, kvsws_error *err)
{
    kvi_error_clear(err);
    if (!out)
        return kvi_error_set(err, KVSWS_E_PARAM_VALIDATION, "out must not be NULL");
    *out = NULL;
    kvsws_client *c = calloc(1, sizeof *c);
    if (!c)
        return kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory");
    pthread_mutex_init(&c->lock, NULL);
    kvsws_status st = KVSWS_OK;
    if (cfg && cfg->num_set[KVSWS_OPT_LOG_LEVEL])
        c->log_level = (int)cfg->num[KVSWS_OPT_LOG_LEVEL];
    else if ((st = env_log_level(&c->log_level, err)) != KVSWS_OK)
        goto fail;
    c->log_fn = cfg ? cfg->log_fn : NULL;
    c->log_userdata = cfg ? cfg->log_userdata : NULL;
    /* The retry jitter's seed: one getrandom(2), not RAND_bytes, whose first call seeds OpenSSL's
     * generator (about 2 ms, most of a client's creation; a TLS handshake pays it when needed). */
    ssize_t seeded = getrandom(&c->rng_state, sizeof c->rng_state, GRND_NONBLOCK);
    if (seeded != (ssize_t)sizeof c->rng_state || !c->rng_state)
        c->rng_state = (uint64_t)time(NULL) | 1;

    if (kvi_profile_paths_resolve(opt_str(cfg, KVSWS_OPT_CONFIG_FILE),
                                  opt_str(cfg, KVSWS_OPT_CREDENTIALS_FILE),
                                  opt_str(cfg, KVSWS_OPT_PROFILE), &c->paths) != 0) {
        st = kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory");
        goto fail;
    }
    c->region = kvi_region_resolve(opt_str(cfg, KVSWS_OPT_REGION), &c->paths, err);
    if (!c->region) {
        st = kvsws_error_status(err) ? kvsws_error_status(err) : KVSWS_E_NO_REGION;
        goto fail;
    }

    const char *ak = opt_str(cfg, KVSWS_OPT_ACCESS_KEY_ID);
    const char *sk = opt_str(cfg, KVSWS_OPT_SECRET_ACCESS_KEY);
    if ((ak && !sk) || (!ak && sk)) {
        st = kvi_error_set(err, KVSWS_E_PARAM_VALIDATION,
                           "Partial credentials: %s was given without %s",
                           ak ? "aws_access_key_id" : "aws_secret_access_key",
                           ak ? "aws_secret_access_key" : "aws_access_key_id");
        goto fail;
    }
    c->credentials = kvi_credential_chain_new(ak, sk, opt_str(cfg, KVSWS_OPT_SESSION_TOKEN),
                                              &c->paths);
    c->signer = kvi_signer_new();
    if (!c->credentials || !c->signer) {
        st = kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory");
        goto fail;
    }

    /* Endpoints: an explicit URL addresses the control plane, as boto3's endpoint_url does for
     * the kinesisvideo client; the channel's WEBRTC, HTTPS and WSS endpoints come from
     * GetSignalingChannelEndpoint unless a service's own setting names one. */
    const char *endpoint = opt_str(cfg, KVSWS_OPT_ENDPOINT_URL);
    if ((st = check_endpoint(endpoint, "the endpoint_url option", err)) != KVSWS_OK)
        goto fail;
    c->control_endpoint = kvi_endpoint_configured(KVI_ENDPOINT_CONTROL, endpoint, &c->paths);
    c->signaling_endpoint = kvi_endpoint_configured(KVI_ENDPOINT_SIGNALING, NULL, &c->paths);
    c->webrtc_endpoint = kvi_endpoint_configured(KVI_ENDPOINT_WEBRTC_STORAGE, NULL, &c->paths);
    int fips_opt = cfg && cfg->num_set[KVSWS_OPT_USE_FIPS_ENDPOINT]
                       ? (int)cfg->num[KVSWS_OPT_USE_FIPS_ENDPOINT]
                       : -1;
    int use_fips = kvi_endpoint_use_fips(fips_opt, &c->paths);
    if (!c->control_endpoint)
        c->control_endpoint = kvi_endpoint_control_default(c->region, use_fips);
    if ((st = check_endpoint(c->control_endpoint, "the control plane endpoint", err)) ||
        (st = check_endpoint(c->signaling_endpoint, "the signaling endpoint", err)) ||
        (st = check_endpoint(c->webrtc_endpoint, "the WebRTC storage endpoint", err)))
        goto fail;

    c->max_attempts = DEFAULT_MAX_ATTEMPTS;
    if ((st = env_max_attempts(&c->max_attempts, err)) != KVSWS_OK)
        goto fail;
    c->max_attempts = (int)opt_int(cfg, KVSWS_OPT_MAX_ATTEMPTS, c->max_attempts);
    c->retry_join = (int)opt_int(cfg, KVSWS_OPT_RETRY_JOIN, 1);
    c->retry_base_delay_ms =
        opt_int(cfg, KVSWS_OPT_RETRY_BASE_DELAY_MS, DEFAULT_RETRY_BASE_DELAY_MS);

    kvi_buf ua = KVI_BUF_INIT;
    kvi_buf_puts(&ua, "kvsws/" KVSWS_VERSION_STRING);
    const char *extra = opt_str(cfg, KVSWS_OPT_USER_AGENT_EXTRA);
    if (extra && *extra)
        kvi_buf_printf(&ua, " %s", extra);
    c->user_agent = kvi_buf_detach(&ua);

    /* The CA bundle: the option, else AWS_CA_BUNDLE as the AWS CLI reads it, else
     * AWS_KVS_CACERT_PATH, which the KVS C SDK uses for all of its TLS. */
    const char *ca = opt_str(cfg, KVSWS_OPT_CA_BUNDLE), *ca_from = "ca_bundle";
    if (!ca || !*ca)
        ca = getenv("AWS_CA_BUNDLE"), ca_from = "AWS_CA_BUNDLE";
    if (!ca || !*ca)
        ca = getenv("AWS_KVS_CACERT_PATH"), ca_from = "AWS_KVS_CACERT_PATH";
    if (ca && *ca) {
        FILE *f = fopen(ca, "r");
        if (!f) {
            st = kvi_error_set(err, KVSWS_E_PARAM_VALIDATION,
                               "Invalid %s: cannot read \"%s\"", ca_from, ca);
            goto fail;
        }
        fclose(f);
    }
    c->ca_store = kvi_ca_store_new(ca && *ca ? ca : NULL);
    kvi_http_options http = {
        .ca_bundle = ca && *ca ? ca : NULL,
        .ca_store = c->ca_store,
        .connect_timeout_ms =
            (long)opt_int(cfg, KVSWS_OPT_CONNECT_TIMEOUT_MS, KVI_HTTP_CONNECT_TIMEOUT_MS),
        .read_timeout_ms = (long)opt_int(cfg, KVSWS_OPT_READ_TIMEOUT_MS, KVI_HTTP_READ_TIMEOUT_MS),
        .user_agent = c->user_agent,
        .request_timeout_ms =
            (long)opt_int(cfg, KVSWS_OPT_REQUEST_TIMEOUT_MS, KVI_HTTP_REQUEST_TIMEOUT_MS),
    };
    c->ca_bundle = kvi_strdup(http.ca_bundle);
    c->connect_timeout_ms = http.connect_timeout_ms;
    c->read_timeout_ms = http.read_timeout_ms;
    c->request_timeout_ms = http.request_timeout_ms;
    c->http = kvi_http_pool_new(&http);
    if (!c->user_agent || !c->http || !c->ca_store) {
        st = kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory");
        goto fail;
    }
    /* STS and the SSO portal: the client's region, CA bundle and connections */
    kvi_credential_chain_attach(c->credentials, c->region, c->http, use_fips);
    if ((st = attach_iot(c, cfg, err)) != KVSWS_OK)
        goto fail;
    kvi_log(c, KVSWS_LOG_DEBUG, "client ready: region %s, control endpoint %s", c->region,
            c->control_endpoint);
    *out = c;
    return KVSWS_OK;
fail:
    if (st == KVSWS_OK)
        st = kvi_error_set(err, KVSWS_E_INTERNAL, "client creation failed");
    kvsws_client_free(c);
    return st;
}

void kvsws_client_free(kvsws_client *c)
{
    if (!c)
        return;
    kvi_pool_free(c->pool); /* first: its last steps still use the connections and credentials */
    kvi_http_pool_free(c->http);
    kvi_ca_store_free(c->ca_store); /* after the pool: its connections held references */
    kvi_signer_free(c->signer);
    kvi_credential_chain_free(c->credentials);
    kvi_profile_paths_free(&c->paths);
    free(c->region);
    free(c->control_endpoint);
    free(c->signaling_endpoint);
    free(c->webrtc_endpoint);
    free(c->user_agent);
    free(c->ca_bundle);
    for (kvi_channel_endpoints *e = c->cache, *next; e; e = next) {
        next = e->next;
        free(e->channel_arn);
        free(e->role);
        free(e->webrtc);
        free(e->https);
        free(e);
    }
    pthread_mutex_destroy(&c->lock);
    free(c);
}

const char *kvsws_client_region(const kvsws_client *c) { return c ? c->region : NULL; }

kvsws_cancel *kvsws_cancel_new(void) { return calloc(1, sizeof(kvsws_cancel)); }
void kvsws_cancel_free(kvsws_cancel *cancel) { free(cancel); }
void kvsws_cancel_trigger(kvsws_cancel *cancel)
{
    if (cancel)
        __atomic_store_n(&cancel->flag, 1, __ATOMIC_SEQ_CST);
}
void kvi_cancel_on_wait(kvsws_cancel *cancel, void (*fn)(void *userdata), void *userdata)
{
    if (!cancel)
        return;
    cancel->on_wait = fn;
    cancel->on_wait_userdata = userdata;
}
void kvsws_cancel_reset(kvsws_cancel *cancel)
{
    if (cancel)
        __atomic_store_n(&cancel->flag, 0, __ATOMIC_SEQ_CST);
}
