/* SPDX-License-Identifier: Apache-2.0 */
/* fetch.c - HTTPS for the STS, SSO and IoT credential providers (see the header). */
#include "credentials/fetch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "aws/endpoints.h"
#include "base/error.h"
#include "base/retry.h"

/* What a pool made for one fetch waits (the client's own settings apply when there is one). */
#define OWN_POOL_TIMEOUT_MS 10000
#define BACKOFF_MAX_MS 2000

void kvi_fetch_response_free(kvi_http_response *r)
{
    if (r->body.data)
        OPENSSL_cleanse(r->body.data, r->body.len);
    kvi_http_response_free(r);
    memset(r, 0, sizeof *r);
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (ms > 0 && nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static double rand01(void)
{
    unsigned int r = 0;
    if (RAND_bytes((unsigned char *)&r, sizeof r) != 1)
        return 0.5;
    return (double)r / 4294967296.0;
}

kvsws_status kvi_fetch(const kvi_provider_ctx *ctx, const kvi_http_request *req,
                       kvi_fetch_retryable_fn retryable, kvi_http_response *out, int *attempts,
                       kvsws_error *err)
{
    memset(out, 0, sizeof *out);
    *attempts = 0;
    kvi_http_pool *pool = ctx ? ctx->http : NULL, *own = NULL;
    if (!pool) {
        kvi_http_options o;
        memset(&o, 0, sizeof o);
        o.connect_timeout_ms = OWN_POOL_TIMEOUT_MS;
        o.read_timeout_ms = OWN_POOL_TIMEOUT_MS;
        o.request_timeout_ms = 2 * OWN_POOL_TIMEOUT_MS;
        o.user_agent = "kvsws/" KVSWS_VERSION_STRING;
        if (!(pool = own = kvi_http_pool_new(&o)))
            return kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory");
    }
    kvsws_status st = KVSWS_OK;
    for (int i = 1; i <= KVI_FETCH_ATTEMPTS; i++) {
        if (i > 1)
            sleep_ms(kvi_retry_backoff_ms(i - 1, KVI_FETCH_BACKOFF_MS, BACKOFF_MAX_MS, rand01()));
        *attempts = i;
        kvi_error_clear(err);
        st = kvi_http_perform(pool, req, out, err);
        int again = st == KVSWS_OK ? retryable && retryable(out)
                                   : kvi_retry_is_retryable_transport(st);
        if (!again || i == KVI_FETCH_ATTEMPTS)
            break;
        if (st == KVSWS_OK)
            kvi_fetch_response_free(out);
    }
    kvi_http_pool_free(own);
    return st;
}

kvsws_status kvi_fetch_endpoint(const kvi_provider_ctx *ctx, int kind, const char *prefix,
                                const char *region, char **url, kvsws_error *err)
{
    *url = kvi_endpoint_configured((kvi_endpoint_kind)kind, NULL, ctx ? ctx->paths : NULL);
    const char *env = kind == KVI_ENDPOINT_STS ? "AWS_ENDPOINT_URL_STS" : "AWS_ENDPOINT_URL_SSO";
    if (*url) {
        const char *why = NULL;
        if (kvi_endpoint_validate(*url, 0, &why) != 0) {
            kvsws_status st = kvi_error_set(err, KVSWS_E_CONFIG,
                                            "Invalid endpoint URL \"%s\" (from %s, "
                                            "AWS_ENDPOINT_URL or the profile's services / "
                                            "endpoint_url): %s",
                                            *url, env, why ? why : "not valid");
            free(*url);
            *url = NULL;
            return st;
        }
    } else if (region && *region) {
        int fips = ctx && ctx->use_fips;
        /* STS in GovCloud has no sts-fips name: its regional endpoints are the FIPS ones. */
        if (fips && kind == KVI_ENDPOINT_STS && strncmp(region, "us-gov-", 7) == 0)
            fips = 0;
        *url = kvi_endpoint_service_default(prefix, region, fips);
    } else {
        *url = kvi_strdup("https://sts.amazonaws.com");
    }
    /* No trailing '/': callers append their path. */
    size_t n = *url ? strlen(*url) : 0;
    while (n > 0 && (*url)[n - 1] == '/')
        (*url)[--n] = '\0';
    return *url ? KVSWS_OK : kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory");
}

/* After kvi_fetch failed with status st: msg (which holds the provider's words) gets the
 * transport's own words and the attempts, and err the transport's retryable flag. Frees terr
 * and msg. */
static kvsws_status fetch_failed(kvsws_status st, kvsws_error *terr, int attempts, kvi_buf *msg,
                                 kvsws_error *err)
{
    if (st == KVSWS_E_NO_MEMORY) {
        kvsws_error_free(terr);
        kvi_buf_free(msg);
        return kvi_error_set(err, st, "out of memory");
    }
    /* The transport's own words (they name the URL), after the provider's. */
    kvi_buf_printf(msg, "%s (%d attempt%s)", kvsws_error_message(terr), attempts,
                   attempts == 1 ? "" : "s");
    int retryable = terr ? terr->retryable : 0;
    kvsws_error_free(terr);
    st = kvi_error_take_buf(err, KVSWS_E_CREDENTIAL_RETRIEVAL, msg);
    if (err)
        err->retryable = retryable;
    return st;
}

kvsws_status kvi_fetch_answer(const kvi_provider_ctx *ctx, const kvi_http_request *req,
                              const kvi_fetch_provider *p, kvi_http_response *resp, int *attempts,
                              kvsws_error *err)
{
    kvsws_error *terr = kvsws_error_new();
    kvsws_status st = kvi_fetch(ctx, req, p->retryable, resp, attempts, terr);
    if (st == KVSWS_OK) {
        kvsws_error_free(terr);
        return st;
    }
    kvi_buf msg = KVI_BUF_INIT;
    p->put_prefix(&msg, p->self);
    if (terr && p->put_transport_hint)
        p->put_transport_hint(&msg, kvsws_error_message(terr), p->self);
    return fetch_failed(st, terr, *attempts, &msg, err);
}

/* A 200 answer's credentials, else the service's error, each in p's words. */
static kvsws_status read_answer(const kvi_http_response *resp, int attempts,
                                const kvi_fetch_provider *p, kvi_credentials *out,
                                kvsws_error *err)
{
    kvi_buf msg = KVI_BUF_INIT;
    if (resp->status == 200) {
        const char *why = p->parse(&resp->body, out);
        if (!why)
            return KVSWS_OK;
        p->put_prefix(&msg, p->self);
        p->put_unusable(&msg, why, p->self);
        return kvi_error_take_buf(err, KVSWS_E_CREDENTIAL_RETRIEVAL, &msg);
    }
    kvi_aws_error ae;
    memset(&ae, 0, sizeof ae);
    if (kvi_aws_error_parse(resp->status, resp->error_type, resp->request_id, resp->body.data,
                            resp->body.len, &ae) != 0)
        return kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory");
    p->put_prefix(&msg, p->self);
    p->put_refusal(&msg, &ae, resp->status, attempts, p->self);
    kvi_aws_error_free(&ae);
    kvsws_status st = kvi_error_take_buf(err, KVSWS_E_CREDENTIAL_RETRIEVAL, &msg);
    if (err) {
        err->http_status = resp->status;
        err->retryable = p->retryable(resp);
    }
    return st;
}

kvsws_status kvi_fetch_credentials(const kvi_provider_ctx *ctx, const kvi_http_request *req,
                                   const kvi_fetch_provider *p, kvi_credentials *out,
                                   kvsws_error *err)
{
    kvi_http_response resp;
    memset(&resp, 0, sizeof resp);
    int attempts = 0;
    kvsws_status st = kvi_fetch_answer(ctx, req, p, &resp, &attempts, err);
    if (st == KVSWS_OK)
        st = read_answer(&resp, attempts, p, out, err);
    /* The body carries credentials. */
    kvi_fetch_response_free(&resp);
    return st;
}
