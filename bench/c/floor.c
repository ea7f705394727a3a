/* SPDX-License-Identifier: Apache-2.0 */
/* floor.c - the bare OpenSSL work one SigV4 signature needs, and nothing else: no canonical
 * request building, no string handling, no allocation. This is the floor every signer is held to.
 *
 * Header signing: SHA-256 of the body, SHA-256 of the canonical request, HMAC-SHA256 of the
 * string to sign with the signing key. Presigning: the last two (the empty payload's hash is a
 * constant). "nocache": plus the four HMACs that derive the signing key from the secret.
 *
 * The inputs are the exact canonical request and string to sign of the benchmark's request (taken
 * once from kvsws's signer, then checked: the floor's HMAC must equal the signature).
 * Two variants: EVP with the algorithms fetched once and the contexts reused (the fastest way
 * OpenSSL 3's public API offers), and the deprecated low-level SHA256_* calls with a hand-made
 * HMAC (no provider dispatch at all), for reference.
 *
 *   floor --fixtures F [--iterations N] [--runs R] */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "common.h"
#include "aws/sigv4.h"

static EVP_MD *sha256;
static EVP_MAC *hmac;
static EVP_MD_CTX *md;
static EVP_MAC_CTX *mac_keyed, *mac_derive;

typedef struct work {
    const char *body, *creq, *sts, *secret, *date, *region, *service;
    size_t body_len, creq_len, sts_len;
    unsigned char key[32];
    int presign, derive, lowlevel;
} work;

static void hex(const unsigned char *bin, size_t n, char *out)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[bin[i] >> 4];
        out[2 * i + 1] = d[bin[i] & 15];
    }
    out[2 * n] = '\0';
}

static void evp_sha256(const void *data, size_t len, unsigned char out[32])
{
    unsigned int n = 0;
    EVP_DigestInit_ex2(md, sha256, NULL);
    EVP_DigestUpdate(md, data, len);
    EVP_DigestFinal_ex(md, out, &n);
}

static void evp_hmac(EVP_MAC_CTX *ctx, const unsigned char *key, size_t key_len, const void *data,
                     size_t len, unsigned char out[32])
{
    size_t n = 0;
    EVP_MAC_init(ctx, key, key_len, NULL);
    EVP_MAC_update(ctx, data, len);
    EVP_MAC_final(ctx, out, &n, 32);
}

/* HMAC-SHA256 over the low-level API (RFC 2104), keys up to one block. The keyed state (the
 * inner and outer pads absorbed) can be kept, as the EVP floor keeps its keyed MAC context. */
typedef struct ll_key {
    SHA256_CTX inner, outer;
} ll_key;

static void ll_set_key(ll_key *k, const unsigned char *key, size_t key_len)
{
    unsigned char pad[64];
    memset(pad, 0x36, sizeof pad);
    for (size_t i = 0; i < key_len; i++)
        pad[i] ^= key[i];
    SHA256_Init(&k->inner);
    SHA256_Update(&k->inner, pad, 64);
    for (size_t i = 0; i < 64; i++)
        pad[i] ^= 0x36 ^ 0x5c;
    SHA256_Init(&k->outer);
    SHA256_Update(&k->outer, pad, 64);
}

static void ll_hmac_keyed(const ll_key *k, const void *data, size_t len, unsigned char out[32])
{
    unsigned char inner[32];
    SHA256_CTX c = k->inner;
    SHA256_Update(&c, data, len);
    SHA256_Final(inner, &c);
    c = k->outer;
    SHA256_Update(&c, inner, 32);
    SHA256_Final(out, &c);
}

static void ll_hmac(const unsigned char *key, size_t key_len, const void *data, size_t len,
                    unsigned char out[32])
{
    ll_key k;
    ll_set_key(&k, key, key_len);
    ll_hmac_keyed(&k, data, len, out);
}

static ll_key ll_signing_key; /* the cached signing key, keyed */

static void derive(const work *w, int lowlevel, unsigned char key[32])
{
    unsigned char seed[4 + 128], k1[32], k2[32], k3[32];
    size_t n = strlen(w->secret);
    memcpy(seed, "AWS4", 4);
    memcpy(seed + 4, w->secret, n);
    if (lowlevel) {
        ll_hmac(seed, 4 + n, w->date, 8, k1);
        ll_hmac(k1, 32, w->region, strlen(w->region), k2);
        ll_hmac(k2, 32, w->service, strlen(w->service), k3);
        ll_hmac(k3, 32, "aws4_request", 12, key);
    } else {
        evp_hmac(mac_derive, seed, 4 + n, w->date, 8, k1);
        evp_hmac(mac_derive, k1, 32, w->region, strlen(w->region), k2);
        evp_hmac(mac_derive, k2, 32, w->service, strlen(w->service), k3);
        evp_hmac(mac_derive, k3, 32, "aws4_request", 12, key);
    }
}

/* One signature's worth of hashing; the hex hashes are what the canonical request and the
 * string to sign would carry. */
static void one(const work *w, char signature[65])
{
    unsigned char digest[32], key[32], mac[32];
    char payload_hex[65], creq_hex[65];
    if (w->lowlevel) {
        if (!w->presign) {
            SHA256((const unsigned char *)w->body, w->body_len, digest);
            hex(digest, 32, payload_hex);
        }
        SHA256((const unsigned char *)w->creq, w->creq_len, digest);
        hex(digest, 32, creq_hex);
        if (w->derive)
            derive(w, 1, key);
        if (w->derive) {
            ll_hmac(key, 32, w->sts, w->sts_len, mac);
        } else {
            ll_hmac_keyed(&ll_signing_key, w->sts, w->sts_len, mac);
        }
    } else {
        if (!w->presign) {
            evp_sha256(w->body, w->body_len, digest);
            hex(digest, 32, payload_hex);
        }
        evp_sha256(w->creq, w->creq_len, digest);
        hex(digest, 32, creq_hex);
        if (w->derive) {
            derive(w, 0, key);
            evp_hmac(mac_keyed, key, 32, w->sts, w->sts_len, mac);
        } else {
            /* the signing key stays in the MAC context: no re-keying */
            evp_hmac(mac_keyed, NULL, 0, w->sts, w->sts_len, mac);
        }
    }
    if (signature)
        hex(mac, 32, signature);
}

static void run(work *w, const char *impl, const char *op, long iterations, int runs)
{
    char signature[65];
    one(w, signature);
    for (long i = 0; i < iterations / 10 + 100; i++)
        one(w, NULL);
    double ns[64];
    for (int r = 0; r < runs && r < 64; r++) {
        int64_t t0 = now_ns();
        for (long i = 0; i < iterations; i++)
            one(w, NULL);
        ns[r] = (double)(now_ns() - t0) / (double)iterations;
    }
    char arr[2048];
    json_array(arr, sizeof arr, ns, (size_t)runs);
    printf("{\"kind\": \"sign\", \"impl\": \"%s\", \"op\": \"%s\", \"iterations\": %ld, "
           "\"runs_ns\": %s, \"signature\": \"%s\", \"canonical_request_bytes\": %zu}\n",
           impl, op, iterations, arr, signature, w->creq_len);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    fixtures f;
    fixtures_load(&f, arg_str(argc, argv, "--fixtures", "bench/fixtures.json"));
    long iterations = arg_long(argc, argv, "--iterations", 50000);
    int runs = (int)arg_long(argc, argv, "--runs", 7);

    sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    md = EVP_MD_CTX_new();
    mac_keyed = EVP_MAC_CTX_new(hmac);
    mac_derive = EVP_MAC_CTX_new(hmac);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_end()};
    EVP_MAC_CTX_set_params(mac_keyed, params);
    EVP_MAC_CTX_set_params(mac_derive, params);

    /* The exact texts to hash, once, from the core's signer. */
    const char *host = strstr(f.join_url, "://") + 3, *slash = strchr(host, '/');
    char join_host[256], wss_host[256], length[24], wss_path[64];
    snprintf(join_host, sizeof join_host, "%.*s", (int)(slash - host), host);
    snprintf(length, sizeof length, "%zu", strlen(f.join_body));
    kvi_header jh[3] = {{"Content-Type", "application/json"}, {"Content-Length", length},
                        {"Host", join_host}};
    kvi_sign_request jreq = {f.join_method, slash, NULL, jh, 3, f.join_body, strlen(f.join_body)};
    host = strstr(f.wss_url, "://") + 3;
    slash = strchr(host, '/');
    snprintf(wss_host, sizeof wss_host, "%.*s", (int)(slash - host), host);
    snprintf(wss_path, sizeof wss_path, "%.*s", (int)strcspn(slash, "?"), slash);
    kvi_header wh[1] = {{"host", wss_host}};
    kvi_sign_request wreq = {"GET", wss_path, strchr(slash, '?') + 1, wh, 1, NULL, 0};
    kvi_sign_credentials creds = {f.access_key_id, f.secret_access_key, f.session_token};
    kvi_sign_config jcfg = {.region = f.region, .service = f.service,
                            .timestamp = (time_t)f.timestamp, .normalize_path = 1,
                            .sign_body = KVI_PAYLOAD_BODY};
    kvi_sign_config wcfg = jcfg;
    wcfg.sign_body = KVI_PAYLOAD_EMPTY;
    wcfg.expires = f.wss_expires;
    kvi_signer *signer = kvi_signer_new();
    kvi_sign_result jr, wr;
    const char *why = NULL;
    if (kvi_sigv4_sign_headers(signer, &creds, &jcfg, &jreq, &jr, &why) != 0 ||
        kvi_sigv4_presign(signer, &creds, &wcfg, &wreq, &wr, &why) != 0)
        die("signing failed: %s", why);

    work w = {.body = f.join_body, .body_len = strlen(f.join_body),
              .secret = f.secret_access_key, .date = jr.amz_date, .region = f.region,
              .service = f.service};
    derive(&w, 0, w.key);
    evp_hmac(mac_keyed, w.key, 32, "", 0, (unsigned char[32]){0}); /* keys the context */
    ll_set_key(&ll_signing_key, w.key, 32);

    static const struct {
        const char *impl, *op;
        int presign, derive, lowlevel;
    } variants[] = {
        {"floor", "header", 0, 0, 0},          {"floor", "presign", 1, 0, 0},
        {"floor", "header-nocache", 0, 1, 0},  {"floor-lowlevel", "header", 0, 0, 1},
        {"floor-lowlevel", "presign", 1, 0, 1}, {"floor-lowlevel", "header-nocache", 0, 1, 1},
    };
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
        const kvi_sign_result *r = variants[i].presign ? &wr : &jr;
        w.creq = r->canonical_request.data;
        w.creq_len = r->canonical_request.len;
        w.sts = r->string_to_sign.data;
        w.sts_len = r->string_to_sign.len;
        w.presign = variants[i].presign;
        w.derive = variants[i].derive;
        w.lowlevel = variants[i].lowlevel;
        char check[65];
        one(&w, check);
        if (strcmp(check, r->signature) != 0)
            die("the floor's %s %s signature %s is not the signer's %s", variants[i].impl,
                variants[i].op, check, r->signature);
        run(&w, variants[i].impl, variants[i].op, iterations, runs);
    }
    kvi_sign_result_free(&jr);
    kvi_sign_result_free(&wr);
    kvi_signer_free(signer);
    cJSON_Delete(f.root);
    return 0;
}
