/* SPDX-License-Identifier: Apache-2.0 */
/* bench_sign.c - SigV4 signing in kvsws C: through the public kvsws_sign_request, and through the
 * core's own signer (kvi_sigv4_*, what the calls and the session use) without the public
 * wrapper's URL parsing, header splitting and copies.
 *
 *   bench_sign --fixtures F [--iterations N] [--runs R]
 *
 * --only IMPL/OP (e.g. kvsws-c/presign) runs just that one, for a profiler.
 *
 * Prints one JSON line per (implementation, operation): ns per signature of each run and the
 * signature made at the fixed time (the correctness gate compares them across languages). */
#include <kvsws.h>

#include "common.h"
#include "aws/sigv4.h"

static const char *extract(const char *text, const char *marker, char out[65])
{
    const char *p = strstr(text, marker);
    if (!p || strlen(p + strlen(marker)) < 64)
        die("no %s in %s", marker, text);
    memcpy(out, p + strlen(marker), 64);
    out[64] = '\0';
    return out;
}

typedef struct ctx {
    const fixtures *f;
    kvsws_client *client;
    kvsws_error *err;
    kvi_signer *signer;
    kvi_header join_headers[3], wss_host[1];
    char *join_path, *wss_path, *wss_query;
} ctx;

/* One signature; `i` varies the day when the key must not come from the cache. */
typedef void (*sign_fn)(ctx *c, long i, char signature[65]);

static void public_header(ctx *c, long i, char signature[65])
{
    const fixtures *f = c->f;
    char *out = NULL;
    if (kvsws_sign_request(c->client, f->service, f->join_method, f->join_url, f->join_headers,
                           f->join_body, strlen(f->join_body), 0, f->timestamp + i * 86400, &out,
                           c->err) != KVSWS_OK)
        die("kvsws_sign_request: %s", kvsws_error_describe(c->err));
    if (signature)
        extract(out, "Signature=", signature);
    kvsws_string_free(out);
}

static void public_header_cached(ctx *c, long i, char signature[65])
{
    (void)i;
    public_header(c, 0, signature);
}

static void public_presign(ctx *c, long i, char signature[65])
{
    const fixtures *f = c->f;
    char *out = NULL;
    if (kvsws_sign_request(c->client, f->service, "GET", f->wss_url, NULL, NULL, 0,
                           f->wss_expires, f->timestamp, &out, c->err) != KVSWS_OK)
        die("kvsws_sign_request (presign): %s", kvsws_error_describe(c->err));
    if (signature)
        extract(out, "X-Amz-Signature=", signature);
    kvsws_string_free(out);
}

/* As the session presigns its WSS URL (no body: the empty payload's hash) and as
 * kvsws_sign_request signs headers (the body hashed by the signer, no x-amz-content-sha256);
 * like the calls and the session, nothing asks for the canonical request and string to sign. */
static void core_sign(ctx *c, long i, char signature[65], int presign)
{
    const fixtures *f = c->f;
    kvi_sign_credentials creds = {f->access_key_id, f->secret_access_key, f->session_token};
    kvi_sign_request req;
    if (presign)
        req = (kvi_sign_request){"GET", c->wss_path, c->wss_query, c->wss_host, 1, NULL, 0};
    else
        req = (kvi_sign_request){f->join_method, c->join_path, NULL, c->join_headers, 3,
                                 f->join_body, strlen(f->join_body)};
    kvi_sign_config cfg = {.region = f->region,
                           .service = f->service,
                           .timestamp = (time_t)(f->timestamp + i * 86400),
                           .normalize_path = 1,
                           .sign_body = presign ? KVI_PAYLOAD_EMPTY : KVI_PAYLOAD_BODY,
                           .expires = presign ? f->wss_expires : 0,
                           .omit_canonical = 1};
    kvi_sign_result r;
    const char *why = NULL;
    int rc = presign ? kvi_sigv4_presign(c->signer, &creds, &cfg, &req, &r, &why)
                     : kvi_sigv4_sign_headers(c->signer, &creds, &cfg, &req, &r, &why);
    if (rc != 0)
        die("kvi_sigv4: %s", why);
    if (signature)
        memcpy(signature, r.signature, 65);
    kvi_sign_result_free(&r);
}

static void core_header(ctx *c, long i, char signature[65]) { core_sign(c, 0, signature, 0); }
static void core_header_nocache(ctx *c, long i, char signature[65])
{
    core_sign(c, i, signature, 0);
}
static void core_presign(ctx *c, long i, char signature[65]) { core_sign(c, 0, signature, 1); }

static const char *only; /* --only IMPL/OP: just that one (for profiling) */

static void run(ctx *c, const char *impl, const char *op, sign_fn fn, long iterations, int runs)
{
    char signature[65], name[64];
    snprintf(name, sizeof name, "%s/%s", impl, op);
    if (only && strcmp(only, name) != 0)
        return;
    fn(c, 0, signature); /* at the fixed time: the gate */
    for (long i = 0; i < iterations / 10 + 100; i++)
        fn(c, i + 1, NULL);
    double ns[64];
    long next_day = 1;
    for (int r = 0; r < runs && r < 64; r++) {
        int64_t t0 = now_ns();
        for (long i = 0; i < iterations; i++)
            fn(c, next_day++, NULL);
        ns[r] = (double)(now_ns() - t0) / (double)iterations;
    }
    char arr[2048];
    json_array(arr, sizeof arr, ns, (size_t)runs);
    printf("{\"kind\": \"sign\", \"impl\": \"%s\", \"op\": \"%s\", \"iterations\": %ld, "
           "\"runs_ns\": %s, \"signature\": \"%s\"}\n",
           impl, op, iterations, arr, signature);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    fixtures f;
    fixtures_load(&f, arg_str(argc, argv, "--fixtures", "bench/fixtures.json"));
    long iterations = arg_long(argc, argv, "--iterations", 20000);
    int runs = (int)arg_long(argc, argv, "--runs", 7);
    only = arg_str(argc, argv, "--only", NULL);

    ctx c = {.f = &f, .err = kvsws_error_new(), .signer = kvi_signer_new()};
    kvsws_config *cfg = kvsws_config_new();
    kvsws_config_set_str(cfg, KVSWS_OPT_REGION, f.region, c.err);
    kvsws_config_set_str(cfg, KVSWS_OPT_ACCESS_KEY_ID, f.access_key_id, c.err);
    kvsws_config_set_str(cfg, KVSWS_OPT_SECRET_ACCESS_KEY, f.secret_access_key, c.err);
    kvsws_config_set_str(cfg, KVSWS_OPT_SESSION_TOKEN, f.session_token, c.err);
    if (kvsws_client_new(cfg, &c.client, c.err) != KVSWS_OK)
        die("kvsws_client_new: %s", kvsws_error_describe(c.err));
    kvsws_config_free(cfg);

    /* The core signer's request: what kvsws_sign_request would hand it for these URLs. */
    const char *host = strstr(f.join_url, "://") + 3;
    const char *slash = strchr(host, '/');
    static char join_host[256], wss_host[256];
    snprintf(join_host, sizeof join_host, "%.*s", (int)(slash - host), host);
    c.join_path = (char *)slash;
    c.join_headers[0] = (kvi_header){"Content-Type", "application/json"};
    char length[24];
    snprintf(length, sizeof length, "%zu", strlen(f.join_body));
    c.join_headers[1] = (kvi_header){"Content-Length", length};
    c.join_headers[2] = (kvi_header){"Host", join_host};
    host = strstr(f.wss_url, "://") + 3;
    slash = strchr(host, '/');
    snprintf(wss_host, sizeof wss_host, "%.*s", (int)(slash - host), host);
    static char wss_path[64];
    snprintf(wss_path, sizeof wss_path, "%.*s", (int)strcspn(slash, "?"), slash);
    c.wss_path = wss_path;
    c.wss_query = strchr(slash, '?') + 1;
    c.wss_host[0] = (kvi_header){"host", wss_host};

    run(&c, "kvsws-c", "header", public_header_cached, iterations, runs);
    run(&c, "kvsws-c", "presign", public_presign, iterations, runs);
    run(&c, "kvsws-c", "header-nocache", public_header, iterations, runs);
    run(&c, "kvsws-c-core", "header", core_header, iterations, runs);
    run(&c, "kvsws-c-core", "presign", core_presign, iterations, runs);
    run(&c, "kvsws-c-core", "header-nocache", core_header_nocache, iterations, runs);

    kvi_signer_free(c.signer);
    kvsws_client_free(c.client);
    kvsws_error_free(c.err);
    cJSON_Delete(f.root);
    return 0;
}
