/* SPDX-License-Identifier: Apache-2.0 */
/* sigv4.c - AWS Signature Version 4: header signing and query presigning. */
#include "aws/sigv4.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SHA256_LEN 32
#define ALGORITHM "AWS4-HMAC-SHA256"
#define EMPTY_SHA256_HEX "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define MAX_PRESIGN_EXPIRES 604800    /* seven days, the SigV4 limit */
#define FIRST_YEAR_10000 253402300800 /* the date format has four year digits */

/* A handful of slots covers one client's (secret, day, region, service) working set. */
#define KEY_CACHE_SLOTS 8
/* Longer inputs are legal but rare: they are derived every time instead of cached. */
#define CACHED_SECRET_MAX 128
#define CACHED_SCOPE_PART_MAX 64
/* Spare workspaces kept for reuse: about one per concurrently signing thread. */
#define SPARE_WORKSPACES_MAX 8
/* Up to this many headers or parameters, insertion sort beats qsort's setup. */
#define SMALL_SORT_MAX 16

typedef struct signing_key_slot {
    int in_use;
    uint64_t last_used;
    uint64_t key_id; /* unique to this key in this signer: a new one for every key stored */
    size_t secret_len;
    char secret[CACHED_SECRET_MAX];
    char date[9];
    char region[CACHED_SCOPE_PART_MAX];
    char service[CACHED_SCOPE_PART_MAX];
    unsigned char key[SHA256_LEN];
} signing_key_slot;

/* A header or query parameter in canonical form; names and values live in a workspace's scratch. */
typedef struct canon_item {
    size_t name_off, name_len, value_off, value_len;
    size_t arrival; /* keeps repeated headers in the order they came */
    const char *name, *value;
} canon_item;

/* Everything one signature needs besides its outputs, pooled so that the hot path reuses the
 * OpenSSL contexts and the buffers' memory instead of allocating them per call. */
typedef struct sign_workspace {
    struct sign_workspace *next_spare;
    EVP_MD_CTX *md;
    EVP_MAC_CTX *derive_mac;
    /* Keeps the last signing key: re-keying HMAC costs two more hash blocks per signature. */
    EVP_MAC_CTX *signing_mac;
    uint64_t signing_mac_key_id; /* the cache's id of the key it holds; 0: none, or not cached */
    canon_item *items;
    size_t item_cap;
    kvi_buf scratch;        /* canonical header or parameter names and values */
    kvi_buf path;           /* the path after normalizing, before encoding */
    kvi_buf header_block;   /* "name:value\n" lines */
    kvi_buf signed_headers; /* "host;x-amz-date" */
    kvi_buf credential;     /* AKID/scope */
    kvi_buf scope;          /* 20150830/us-east-1/service/aws4_request */
    /* Copied into the result unless omitted; the canonical path and query are read back from
     * canonical_request for the outputs. */
    kvi_buf canonical_request, string_to_sign;
    /* The last session token this workspace met, and what was worked out about it: a client
     * signs with one token until its credentials change, and a long token's encoding (a good
     * part of a presign) or whitespace check need not be done again. */
    kvi_buf token;
    kvi_buf encoded_token; /* its percent-encoding once a presign needed it, else empty */
    int token_has_space;   /* whether it holds whitespace; -1 until a header needed to know */
    /* The X-Amz-Date of the last signature and its time: most signatures are made in the same
     * second as the one before. */
    char amz_date[17];
    time_t amz_date_time;
} sign_workspace;

struct kvi_signer {
    EVP_MAC *hmac;
    EVP_MD *sha256;
    pthread_mutex_t lock; /* guards the cache and the spare workspaces */
    uint64_t use_clock;
    uint64_t last_key_id;
    signing_key_slot cache[KEY_CACHE_SLOTS];
    sign_workspace *spares;
    size_t spare_count;
};

/* What one signature is about, gathered once so the steps below take few arguments. */
typedef struct sign_job {
    const kvi_sign_credentials *creds;
    const kvi_sign_config *cfg;
    const kvi_sign_request *req;
    int presign;
    int add_token;  /* the token goes into the output */
    size_t token_len;
    int sign_token; /* ... and into the canonical request */
    int content_sha256_header; /* header mode: x-amz-content-sha256 is added and signed */
    char amz_date[17];
    char date[9];
    const char *payload_hash;
    char payload_hash_buf[65];
    /* The canonical path and query, as spans of the workspace's canonical_request. */
    size_t path_off, path_len, query_off, query_len;
} sign_job;

/* ---- text helpers ---- */

/* Appends to a buffer that usually has room already, since workspace buffers keep their memory
 * between signatures: then it is a memcpy here, and only growth goes through kvi_buf_append. */
static inline int put(kvi_buf *b, const void *data, size_t len)
{
    if (b->data && b->cap - b->len > len) {
        if (len)
            memcpy(b->data + b->len, data, len);
        b->len += len;
        b->data[b->len] = '\0';
        return 0;
    }
    return kvi_buf_append(b, data, len);
}

static inline int put_char(kvi_buf *b, char c) { return put(b, &c, 1); }
static inline int put_str(kvi_buf *b, const char *s) { return put(b, s, strlen(s)); }
static inline int put_buf(kvi_buf *b, const kvi_buf *from) { return put(b, from->data, from->len); }
#define PUT_LITERAL(b, literal) put((b), (literal), sizeof(literal) - 1)

static void to_hex(const unsigned char *bin, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[bin[i] >> 4];
        out[2 * i + 1] = digits[bin[i] & 15];
    }
    out[2 * len] = '\0';
}

#define UNRESERVED_BYTES                                                                         \
    ['A' ... 'Z'] = 1, ['a' ... 'z'] = 1, ['0' ... '9'] = 1, ['-'] = 1, ['.'] = 1, ['_'] = 1,     \
    ['~'] = 1
static const unsigned char UNRESERVED[256] = {UNRESERVED_BYTES};
static const unsigned char UNRESERVED_OR_SLASH[256] = {UNRESERVED_BYTES, ['/'] = 1};

/* Writes c at p, percent-encoded unless keep[c]; returns the position after it. */
static inline char *put_encoded(char *p, unsigned char c, const unsigned char keep[256])
{
    static const char digits[] = "0123456789ABCDEF";
    if (keep[c]) {
        *p = (char)c;
        return p + 1;
    }
    p[0] = '%';
    p[1] = digits[c >> 4];
    p[2] = digits[c & 15];
    return p + 3;
}

/* Whether the four bytes at s all stay as they are. Most of a long value (a base64 session
 * token) does, and taking it four bytes at a time halves the cost of encoding it. */
static inline int keeps_four(const unsigned char *s, const unsigned char keep[256])
{
    return keep[s[0]] & keep[s[1]] & keep[s[2]] & keep[s[3]];
}

/* value in decimal into out, NUL-terminated (snprintf costs more than the rest of a parameter). */
static void format_decimal(uint64_t value, char out[21])
{
    char reversed[20];
    size_t n = 0;
    do {
        reversed[n++] = (char)('0' + value % 10);
        value /= 10;
    } while (value);
    for (size_t i = 0; i < n; i++)
        out[i] = reversed[n - 1 - i];
    out[n] = '\0';
}

static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int equals_ignoring_case(const char *a, size_t a_len, const char *lowercase)
{
    if (a_len != strlen(lowercase))
        return 0;
    for (size_t i = 0; i < a_len; i++) {
        char c = a[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != lowercase[i])
            return 0;
    }
    return 1;
}

int kvi_uri_encode(kvi_buf *out, const char *s, size_t len, int keep_slash)
{
    if (len > ((size_t)-1) / 3 || kvi_buf_reserve(out, len * 3) != 0)
        return -1;
    const unsigned char *keep = keep_slash ? UNRESERVED_OR_SLASH : UNRESERVED;
    const unsigned char *in = (const unsigned char *)s;
    char *p = out->data + out->len;
    size_t i = 0;
    while (i < len) {
        if (i + 4 <= len && keeps_four(in + i, keep)) {
            memcpy(p, in + i, 4);
            p += 4;
            i += 4;
        } else {
            p = put_encoded(p, in[i++], keep);
        }
    }
    *p = '\0';
    out->len = (size_t)(p - out->data);
    return 0;
}

/* Decodes a raw query key or value and re-encodes it strictly; -2 on a malformed escape (out
 * unchanged). A raw '+' is a space: AWS services form-decode the query, and botocore's presigner
 * (parse_qs) agrees (aws-c-auth would sign it as %2B, which the service then fails to match). */
static int encode_query_part(kvi_buf *out, const char *s, size_t len)
{
    /* Decoding never lengthens, so 3 bytes of room per input byte are enough. */
    if (len > ((size_t)-1) / 3 || kvi_buf_reserve(out, len * 3) != 0)
        return -1;
    const unsigned char *in = (const unsigned char *)s;
    char *p = out->data + out->len;
    size_t i = 0;
    while (i < len) {
        /* Unreserved bytes are neither '%' nor '+': they stay as they are. */
        if (i + 4 <= len && keeps_four(in + i, UNRESERVED)) {
            memcpy(p, in + i, 4);
            p += 4;
            i += 4;
            continue;
        }
        unsigned char c = in[i++];
        if (c == '%') {
            int hi = i + 1 < len ? hex_value(in[i]) : -1;
            int lo = hi >= 0 ? hex_value(in[i + 1]) : -1;
            if (lo < 0) {
                out->data[out->len] = '\0';
                return -2;
            }
            c = (unsigned char)(hi * 16 + lo);
            i += 2;
        } else if (c == '+') {
            c = ' ';
        }
        p = put_encoded(p, c, UNRESERVED);
    }
    *p = '\0';
    out->len = (size_t)(p - out->data);
    return 0;
}

static EVP_MD *shared_sha256;
static pthread_once_t shared_sha256_once = PTHREAD_ONCE_INIT;
static void fetch_shared_sha256(void) { shared_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL); }

void kvi_sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char digest[SHA256_LEN];
    unsigned int digest_len = 0;
    pthread_once(&shared_sha256_once, fetch_shared_sha256);
    if (EVP_Digest(data, len, digest, &digest_len, shared_sha256 ? shared_sha256 : EVP_sha256(),
                   NULL) != 1 ||
        digest_len != SHA256_LEN) {
        out[0] = '\0';
        return;
    }
    to_hex(digest, SHA256_LEN, out);
}

void kvi_sign_result_free(kvi_sign_result *r)
{
    if (!r)
        return;
    /* All but the string to sign can carry the session token. */
    kvi_buf_free_secret(&r->canonical_request);
    kvi_buf_free(&r->string_to_sign);
    kvi_buf_free_secret(&r->added_headers);
    kvi_buf_free_secret(&r->query);
    kvi_buf_free_secret(&r->url);
    memset(r, 0, sizeof *r);
}

size_t kvi_sign_split_added(kvi_sign_result *r, kvi_header *out, size_t max)
{
    size_t n = 0;
    char *saved = NULL; /* strtok_r: strtok's hidden state is shared by all threads */
    char *lines = r->added_headers.data;
    for (char *line = lines ? strtok_r(lines, "\n", &saved) : NULL; line && n < max;
         line = strtok_r(NULL, "\n", &saved)) {
        char *colon = strchr(line, ':');
        if (!colon)
            continue;
        *colon = '\0';
        const char *value = colon + 1;
        while (*value == ' ')
            value++;
        out[n].name = line;
        out[n].value = value;
        n++;
    }
    return n;
}

/* ---- workspaces ---- */

static void workspace_free(sign_workspace *ws)
{
    if (!ws)
        return;
    EVP_MD_CTX_free(ws->md);
    EVP_MAC_CTX_free(ws->derive_mac);
    EVP_MAC_CTX_free(ws->signing_mac);
    free(ws->items);
    /* The session token passes through most of these. */
    kvi_buf *buffers[] = {&ws->scratch,        &ws->path,       &ws->header_block,
                          &ws->signed_headers, &ws->credential, &ws->scope,
                          &ws->canonical_request, &ws->string_to_sign, &ws->token,
                          &ws->encoded_token};
    for (size_t i = 0; i < sizeof buffers / sizeof buffers[0]; i++)
        kvi_buf_free_secret(buffers[i]);
    free(ws);
}

static sign_workspace *workspace_new(const kvi_signer *s)
{
    sign_workspace *ws = calloc(1, sizeof *ws);
    if (!ws)
        return NULL;
    ws->md = EVP_MD_CTX_new();
    ws->derive_mac = EVP_MAC_CTX_new(s->hmac);
    ws->signing_mac = EVP_MAC_CTX_new(s->hmac);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_end()};
    if (!ws->md || !ws->derive_mac || !ws->signing_mac ||
        EVP_MAC_CTX_set_params(ws->derive_mac, params) != 1 ||
        EVP_MAC_CTX_set_params(ws->signing_mac, params) != 1) {
        workspace_free(ws);
        return NULL;
    }
    return ws;
}

static sign_workspace *workspace_acquire(kvi_signer *s)
{
    pthread_mutex_lock(&s->lock);
    sign_workspace *ws = s->spares;
    if (ws) {
        s->spares = ws->next_spare;
        s->spare_count--;
    }
    pthread_mutex_unlock(&s->lock);
    return ws ? ws : workspace_new(s);
}

static void workspace_release(kvi_signer *s, sign_workspace *ws)
{
    pthread_mutex_lock(&s->lock);
    if (s->spare_count < SPARE_WORKSPACES_MAX) {
        ws->next_spare = s->spares;
        s->spares = ws;
        s->spare_count++;
        ws = NULL;
    }
    pthread_mutex_unlock(&s->lock);
    workspace_free(ws);
}

static canon_item *workspace_add_item(sign_workspace *ws, size_t *count)
{
    if (*count == ws->item_cap) {
        size_t cap = ws->item_cap ? ws->item_cap * 2 : 16;
        canon_item *items = realloc(ws->items, cap * sizeof *items);
        if (!items)
            return NULL;
        ws->items = items;
        ws->item_cap = cap;
    }
    canon_item *item = &ws->items[(*count)++];
    memset(item, 0, sizeof *item);
    return item;
}

/* Scratch only grows while items are added, so pointers are fixed once that is over. */
static void workspace_point_items(sign_workspace *ws, size_t count)
{
    const char *base = kvi_buf_str(&ws->scratch);
    for (size_t i = 0; i < count; i++) {
        ws->items[i].name = base + ws->items[i].name_off;
        ws->items[i].value = base + ws->items[i].value_off;
    }
}

/* ---- hashing ---- */

static int sha256_hex(sign_workspace *ws, const EVP_MD *md, const void *data, size_t len,
                      char out[65])
{
    unsigned char digest[SHA256_LEN];
    unsigned int digest_len = 0;
    if (EVP_DigestInit_ex2(ws->md, md, NULL) != 1 || EVP_DigestUpdate(ws->md, data, len) != 1 ||
        EVP_DigestFinal_ex(ws->md, digest, &digest_len) != 1 || digest_len != SHA256_LEN)
        return -1;
    to_hex(digest, SHA256_LEN, out);
    return 0;
}

/* A NULL key re-initializes mac with the key it already holds. */
static int hmac_sha256(EVP_MAC_CTX *mac, const void *key, size_t key_len, const void *data,
                       size_t len, unsigned char out[SHA256_LEN])
{
    size_t out_len = 0;
    if (EVP_MAC_init(mac, key, key_len, NULL) != 1 || EVP_MAC_update(mac, data, len) != 1 ||
        EVP_MAC_final(mac, out, &out_len, SHA256_LEN) != 1 || out_len != SHA256_LEN)
        return -1;
    return 0;
}

/* key_id is the key's id in the signer's cache (0 when it is not cached): the same id means the
 * same key, so the MAC context that already holds it is not keyed again. */
static int sign_string(sign_workspace *ws, const unsigned char key[SHA256_LEN], uint64_t key_id,
                       const void *data, size_t len, unsigned char out[SHA256_LEN])
{
    int same_key = key_id != 0 && ws->signing_mac_key_id == key_id;
    ws->signing_mac_key_id = 0;
    if (hmac_sha256(ws->signing_mac, same_key ? NULL : key, same_key ? 0 : SHA256_LEN, data, len,
                    out) != 0)
        return -1;
    ws->signing_mac_key_id = key_id;
    return 0;
}

/* ---- signing key: derivation and cache ---- */

static int derive_signing_key(sign_workspace *ws, const sign_job *job,
                              unsigned char key[SHA256_LEN])
{
    const char *secret = job->creds->secret_access_key;
    size_t secret_len = strlen(secret);
    unsigned char stack_seed[4 + CACHED_SECRET_MAX];
    unsigned char *seed = secret_len <= CACHED_SECRET_MAX ? stack_seed : malloc(4 + secret_len);
    if (!seed)
        return -1;
    memcpy(seed, "AWS4", 4);
    memcpy(seed + 4, secret, secret_len);

    unsigned char k_date[SHA256_LEN], k_region[SHA256_LEN], k_service[SHA256_LEN];
    const char *region = job->cfg->region, *service = job->cfg->service;
    EVP_MAC_CTX *mac = ws->derive_mac;
    int ok = hmac_sha256(mac, seed, 4 + secret_len, job->date, 8, k_date) == 0 &&
             hmac_sha256(mac, k_date, SHA256_LEN, region, strlen(region), k_region) == 0 &&
             hmac_sha256(mac, k_region, SHA256_LEN, service, strlen(service), k_service) == 0 &&
             hmac_sha256(mac, k_service, SHA256_LEN, "aws4_request", 12, key) == 0;

    OPENSSL_cleanse(seed, 4 + secret_len);
    if (seed != stack_seed)
        free(seed);
    OPENSSL_cleanse(k_date, sizeof k_date);
    OPENSSL_cleanse(k_region, sizeof k_region);
    OPENSSL_cleanse(k_service, sizeof k_service);
    return ok ? 0 : -1;
}

/* Needs the lock. The secret is compared in constant time, and only once the public parts of
 * the scope match. */
static signing_key_slot *cache_find(kvi_signer *s, const char *secret, size_t secret_len,
                                    const sign_job *job)
{
    for (size_t i = 0; i < KEY_CACHE_SLOTS; i++) {
        signing_key_slot *slot = &s->cache[i];
        if (slot->in_use && slot->secret_len == secret_len && strcmp(slot->date, job->date) == 0 &&
            strcmp(slot->region, job->cfg->region) == 0 &&
            strcmp(slot->service, job->cfg->service) == 0 &&
            CRYPTO_memcmp(slot->secret, secret, secret_len) == 0)
            return slot;
    }
    return NULL;
}

/* Needs the lock. Takes a free slot, else the least recently used; returns the key's new id.
 * Two threads that missed together may both store the same key; the spare copy just ages out. */
static uint64_t cache_store(kvi_signer *s, const char *secret, size_t secret_len,
                            const sign_job *job, const unsigned char key[SHA256_LEN])
{
    signing_key_slot *slot = &s->cache[0];
    for (size_t i = 0; i < KEY_CACHE_SLOTS && slot->in_use; i++)
        if (!s->cache[i].in_use || s->cache[i].last_used < slot->last_used)
            slot = &s->cache[i];
    OPENSSL_cleanse(slot, sizeof *slot);
    slot->in_use = 1;
    slot->last_used = ++s->use_clock;
    slot->key_id = ++s->last_key_id;
    slot->secret_len = secret_len;
    memcpy(slot->secret, secret, secret_len);
    memcpy(slot->date, job->date, sizeof slot->date);
    strcpy(slot->region, job->cfg->region);
    strcpy(slot->service, job->cfg->service);
    memcpy(slot->key, key, SHA256_LEN);
    return slot->key_id;
}

/* The signing key, and its id in the cache (0 when it is too long to cache). */
static int get_signing_key(kvi_signer *s, sign_workspace *ws, const sign_job *job,
                           unsigned char key[SHA256_LEN], uint64_t *key_id)
{
    const char *secret = job->creds->secret_access_key;
    size_t secret_len = strlen(secret);
    *key_id = 0;
    if (secret_len > CACHED_SECRET_MAX || strlen(job->cfg->region) >= CACHED_SCOPE_PART_MAX ||
        strlen(job->cfg->service) >= CACHED_SCOPE_PART_MAX)
        return derive_signing_key(ws, job, key);

    pthread_mutex_lock(&s->lock);
    signing_key_slot *slot = cache_find(s, secret, secret_len, job);
    if (slot) {
        slot->last_used = ++s->use_clock;
        *key_id = slot->key_id;
        memcpy(key, slot->key, SHA256_LEN);
    }
    pthread_mutex_unlock(&s->lock);
    if (slot)
        return 0;

    /* Derived outside the lock: four HMACs should not stall other signing threads. */
    if (derive_signing_key(ws, job, key) != 0)
        return -1;
    pthread_mutex_lock(&s->lock);
    *key_id = cache_store(s, secret, secret_len, job, key);
    pthread_mutex_unlock(&s->lock);
    return 0;
}

kvi_signer *kvi_signer_new(void)
{
    kvi_signer *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    if (pthread_mutex_init(&s->lock, NULL) != 0) {
        free(s);
        return NULL;
    }
    s->hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    s->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    /* One workspace up front proves the MAC accepts its SHA256 digest parameter. */
    sign_workspace *probe = s->hmac && s->sha256 ? workspace_new(s) : NULL;
    if (!probe) {
        kvi_signer_free(s);
        return NULL;
    }
    workspace_release(s, probe);
    return s;
}

void kvi_signer_free(kvi_signer *s)
{
    if (!s)
        return;
    while (s->spares) {
        sign_workspace *next = s->spares->next_spare;
        workspace_free(s->spares);
        s->spares = next;
    }
    OPENSSL_cleanse(s->cache, sizeof s->cache);
    EVP_MAC_free(s->hmac);
    EVP_MD_free(s->sha256);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

/* ---- canonical request ---- */

/* Percent-encodes the request path into out, after dropping "." and ".." segments and empty
 * ones when normalizing (as aws-c-auth and botocore do; S3 signs the path as it is). */
static const char *append_path(sign_workspace *ws, const sign_job *job, kvi_buf *out)
{
    const char *raw = job->req->path ? job->req->path : "";
    size_t raw_len = strlen(raw);
    kvi_buf *path = &ws->path;
    kvi_buf_reset(path);
    int rc = 0;

    if (job->cfg->normalize_path) {
        /* Each kept segment is "/segment", so dropping the last one cuts at its slash. */
        for (size_t start = 0; start <= raw_len && rc == 0;) {
            const char *slash = memchr(raw + start, '/', raw_len - start);
            size_t end = slash ? (size_t)(slash - raw) : raw_len;
            size_t seg_len = end - start;
            if (seg_len == 2 && raw[start] == '.' && raw[start + 1] == '.') {
                while (path->len > 0 && path->data[--path->len] != '/')
                    ;
                if (path->data)
                    path->data[path->len] = '\0';
            } else if (seg_len > 0 && !(seg_len == 1 && raw[start] == '.')) {
                rc = put_char(path, '/') || put(path, raw + start, seg_len);
            }
            start = end + 1;
        }
        if (rc == 0 && (path->len == 0 || raw[raw_len - 1] == '/'))
            rc = put_char(path, '/');
    } else {
        if (raw[0] != '/')
            rc = put_char(path, '/');
        if (rc == 0)
            rc = put(path, raw, raw_len);
    }
    if (rc != 0 || kvi_uri_encode(out, path->data, path->len, 1) != 0)
        return "out of memory";
    return NULL;
}

static int compare_spans(const char *a, size_t a_len, const char *b, size_t b_len)
{
    int c = memcmp(a, b, a_len < b_len ? a_len : b_len);
    if (c != 0)
        return c;
    return a_len < b_len ? -1 : a_len > b_len;
}

/* Headers sort by name, repeats keeping their order; parameters by name, then value. */
static int compare_headers(const void *pa, const void *pb)
{
    const canon_item *a = pa, *b = pb;
    int c = compare_spans(a->name, a->name_len, b->name, b->name_len);
    if (c != 0)
        return c;
    return a->arrival < b->arrival ? -1 : a->arrival > b->arrival;
}

static int compare_params(const void *pa, const void *pb)
{
    const canon_item *a = pa, *b = pb;
    int c = compare_spans(a->name, a->name_len, b->name, b->name_len);
    if (c != 0)
        return c;
    return compare_spans(a->value, a->value_len, b->value, b->value_len);
}

/* Inline so that each call site gets its comparator inlined in the insertion sort. */
static inline void sort_items(canon_item *items, size_t count,
                              int (*compare)(const void *, const void *))
{
    if (count > SMALL_SORT_MAX) {
        qsort(items, count, sizeof *items, compare);
        return;
    }
    for (size_t i = 1; i < count; i++) {
        canon_item moving = items[i];
        size_t j = i;
        for (; j > 0 && compare(&items[j - 1], &moving) > 0; j--)
            items[j] = items[j - 1];
        items[j] = moving;
    }
}

/* ---- the session token, remembered ---- */

/* Makes the token the one the workspace remembers; 0, or -1 when out of memory. */
static int remember_token(sign_workspace *ws, const char *token, size_t len)
{
    /* (memcmp's timing could only tell how this token differs from the previous one.) */
    if (ws->token.len == len && len > 0 && memcmp(ws->token.data, token, len) == 0)
        return 0;
    kvi_buf_reset(&ws->token);
    kvi_buf_reset(&ws->encoded_token);
    ws->token_has_space = -1;
    if (put(&ws->token, token, len) != 0) {
        kvi_buf_reset(&ws->token); /* a failure is not a match next time */
        return -1;
    }
    return 0;
}

/* Whether the token holds whitespace: header mode trims it like any header value. -1 when out of
 * memory. */
static int token_has_space(sign_workspace *ws, const char *token, size_t len)
{
    if (remember_token(ws, token, len) != 0)
        return -1;
    if (ws->token_has_space < 0)
        ws->token_has_space = strcspn(ws->token.data, " \t\n\r\v\f") != len;
    return ws->token_has_space;
}

/* Appends the token percent-encoded to the scratch. */
static int put_encoded_token(sign_workspace *ws, const char *token, size_t len)
{
    if (remember_token(ws, token, len) != 0)
        return -1;
    if (ws->encoded_token.len == 0 && kvi_uri_encode(&ws->encoded_token, token, len, 0) != 0) {
        kvi_buf_reset(&ws->encoded_token);
        return -1;
    }
    return put_buf(&ws->scratch, &ws->encoded_token);
}

/* Appends a header to the scratch as it came, then canonicalizes it in place (which only keeps or
 * shrinks it): the name lowercased, the value trimmed with inner runs of whitespace, folded lines
 * included, collapsed to one space. The names the signer adds are lowercase already, and the
 * values it made itself canonical. Returns the item, or NULL when out of memory. */
static canon_item *add_header(sign_workspace *ws, size_t *count, const char *name,
                              size_t name_len, int name_is_lowercase, const char *value,
                              size_t value_len, int value_is_canonical)
{
    /* Leading and trailing whitespace goes before the copy: most values that have any only have
     * that (the space after the colon of a "Name: value" line). */
    while (!value_is_canonical && value_len > 0 && is_space((unsigned char)value[0])) {
        value++;
        value_len--;
    }
    while (!value_is_canonical && value_len > 0 && is_space((unsigned char)value[value_len - 1]))
        value_len--;
    canon_item *item = workspace_add_item(ws, count);
    if (!item || put(&ws->scratch, name, name_len) != 0 || put(&ws->scratch, value, value_len))
        return NULL;
    item->arrival = *count;
    item->name_off = ws->scratch.len - value_len - name_len;
    item->name_len = name_len;
    item->value_off = item->name_off + name_len;
    char *text = ws->scratch.data + item->name_off;
    for (size_t i = 0; i < name_len && !name_is_lowercase; i++)
        if (text[i] >= 'A' && text[i] <= 'Z')
            text[i] = (char)(text[i] - 'A' + 'a');

    item->value_len = value_len;
    if (value_is_canonical)
        return item;
    text = ws->scratch.data + item->value_off;
    /* Most values (a 1 KB session token among them) hold no inner whitespace: a vectorized scan
     * finds that out far faster than the byte loop below. The value ends the scratch, so it is
     * NUL-terminated here. */
    if (strcspn(text, " \t\n\r\v\f") == value_len)
        return item;
    size_t kept = 0;
    int space_pending = 0;
    for (size_t i = 0; i < value_len; i++) {
        unsigned char c = (unsigned char)text[i];
        /* Every whitespace byte is <= ' ', so most bytes take only the first test. */
        if (c <= ' ' && is_space(c)) {
            space_pending = kept > 0;
            continue;
        }
        if (space_pending)
            text[kept++] = ' ';
        space_pending = 0;
        /* Until something is dropped the text is already where it belongs. */
        if (kept != i)
            text[kept] = (char)c;
        kept++;
    }
    item->value_len = kept;
    ws->scratch.len = item->value_off + kept;
    ws->scratch.data[ws->scratch.len] = '\0';
    return item;
}

#define NAME_IS(item, literal)                                                                   \
    ((item)->name_len == sizeof(literal) - 1 &&                                                  \
     memcmp(ws->scratch.data + (item)->name_off, literal, sizeof(literal) - 1) == 0)

/* Fills ws->header_block ("name:value\n" lines) and ws->signed_headers. This and build_query
 * stay out of line: inlined into their one caller, they made presigning 8 % slower (one huge
 * function; measured with bench/c/bench_sign). */
__attribute__((noinline)) static const char *build_headers(sign_workspace *ws,
                                                           const sign_job *job)
{
    const kvi_sign_request *req = job->req;
    size_t count = 0;
    int has_host = 0;
    kvi_buf_reset(&ws->scratch);

    for (size_t i = 0; i < req->header_count; i++) {
        const char *name = req->headers[i].name, *value = req->headers[i].value;
        size_t name_len = name ? strlen(name) : 0;
        if (name_len == 0)
            return "a header has an empty name";
        const canon_item *h =
            add_header(ws, &count, name, name_len, 0, value, value ? strlen(value) : 0, 0);
        if (!h)
            return "out of memory";
        /* Headers the signer writes itself would otherwise go out twice. */
        if (NAME_IS(h, "x-amz-date") || NAME_IS(h, "authorization"))
            return "the request already carries X-Amz-Date or Authorization";
        if (!job->presign && job->add_token && NAME_IS(h, "x-amz-security-token"))
            return "the request already carries X-Amz-Security-Token";
        if (job->content_sha256_header && NAME_IS(h, "x-amz-content-sha256"))
            return "the request already carries x-amz-content-sha256";
        has_host |= NAME_IS(h, "host");
    }
    if (!has_host)
        return "the request has no Host header";

    /* Query signing carries these as parameters instead. */
    if (!job->presign) {
        int ok = add_header(ws, &count, "x-amz-date", 10, 1, job->amz_date, 16, 1) != NULL;
        /* The token is the caller's text, so it is trimmed like any header value (unless it
         * has no whitespace at all, as tokens do). */
        if (ok && job->sign_token) {
            int has_space = token_has_space(ws, job->creds->session_token, job->token_len);
            ok = has_space >= 0 && add_header(ws, &count, "x-amz-security-token", 20, 1,
                                              job->creds->session_token, job->token_len,
                                              !has_space) != NULL;
        }
        if (ok && job->content_sha256_header)
            ok = add_header(ws, &count, "x-amz-content-sha256", 20, 1, job->payload_hash,
                            strlen(job->payload_hash), 1) != NULL;
        if (!ok)
            return "out of memory";
    }

    workspace_point_items(ws, count);
    sort_items(ws->items, count, compare_headers);

    kvi_buf *block = &ws->header_block, *names = &ws->signed_headers;
    kvi_buf_reset(block);
    kvi_buf_reset(names);
    int rc = 0;
    for (size_t i = 0; i < count && rc == 0; i++) {
        const canon_item *h = &ws->items[i];
        int repeated = i > 0 && compare_spans(h->name, h->name_len, ws->items[i - 1].name,
                                              ws->items[i - 1].name_len) == 0;
        if (repeated) {
            rc = put_char(block, ',');
        } else {
            if (i > 0)
                rc = put_char(block, '\n') || put_char(names, ';');
            rc = rc || put(names, h->name, h->name_len) || put(block, h->name, h->name_len) ||
                 put_char(block, ':');
        }
        rc = rc || put(block, h->value, h->value_len);
    }
    rc = rc || put_char(block, '\n');
    return rc == 0 ? NULL : "out of memory";
}

static int is_signing_param(const char *name, size_t len, int token_added)
{
    static const char *const reserved[] = {"x-amz-algorithm", "x-amz-credential", "x-amz-date",
                                           "x-amz-expires",   "x-amz-signedheaders",
                                           "x-amz-signature"};
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
        if (equals_ignoring_case(name, len, reserved[i]))
            return 1;
    return token_added && equals_ignoring_case(name, len, "x-amz-security-token");
}

/* How a parameter's name or value reaches the canonical query. */
typedef enum param_text {
    PARAM_RAW,       /* as written in a URL: decoded, then encoded strictly */
    PARAM_PLAIN,     /* plain text: encoded */
    PARAM_CANONICAL, /* already as it must appear (our own names and values): copied */
    PARAM_TOKEN,     /* the session token: encoded, or its encoding reused */
} param_text;

/* Appends a parameter's name or value to the workspace's scratch. */
static int put_param_text(sign_workspace *ws, const char *s, size_t len, param_text kind)
{
    switch (kind) {
    case PARAM_RAW:
        return encode_query_part(&ws->scratch, s, len);
    case PARAM_PLAIN:
        return kvi_uri_encode(&ws->scratch, s, len, 0);
    case PARAM_TOKEN:
        return put_encoded_token(ws, s, len);
    case PARAM_CANONICAL:
        break;
    }
    return put(&ws->scratch, s, len);
}

static const char *add_param(sign_workspace *ws, size_t *count, const char *name, size_t name_len,
                             param_text name_kind, const char *value, size_t value_len,
                             param_text value_kind)
{
    canon_item *item = workspace_add_item(ws, count);
    if (!item)
        return "out of memory";
    item->name_off = ws->scratch.len;
    int rc = put_param_text(ws, name, name_len, name_kind);
    item->name_len = ws->scratch.len - item->name_off;
    item->value_off = ws->scratch.len;
    if (rc == 0)
        rc = put_param_text(ws, value, value_len, value_kind);
    item->value_len = ws->scratch.len - item->value_off;
    if (rc == -2)
        return "the query has a malformed %-escape";
    return rc == 0 ? NULL : "out of memory";
}

/* Appends the canonical query string to out. */
__attribute__((noinline)) static const char *build_query(sign_workspace *ws, const sign_job *job,
                                                         kvi_buf *out)
{
    const char *query = job->req->query ? job->req->query : "";
    size_t count = 0;
    const char *err = NULL;
    kvi_buf_reset(&ws->scratch);

    for (const char *p = query; *p && !err;) {
        const char *end = strchrnul(p, '&');
        size_t len = (size_t)(end - p);
        if (len > 0) {
            /* "key" without '=' signs as "key=". */
            const char *eq = memchr(p, '=', len);
            size_t name_len = eq ? (size_t)(eq - p) : len;
            const char *value = eq ? eq + 1 : p + len;
            err = add_param(ws, &count, p, name_len, PARAM_RAW, value,
                            (size_t)(p + len - value), PARAM_RAW);
            /* Compared decoded, so an escaped spelling cannot slip a second copy past us. */
            if (!err && job->presign) {
                const canon_item *added = &ws->items[count - 1];
                if (is_signing_param(ws->scratch.data + added->name_off, added->name_len,
                                     job->add_token))
                    err = "the query already carries X-Amz-* signing parameters";
            }
        }
        p = *end ? end + 1 : end;
    }

    if (!err && job->presign) {
        char expires[21];
        format_decimal((uint64_t)job->cfg->expires, expires); /* 1..604800: checked */
        kvi_buf *credential = &ws->credential;
        kvi_buf_reset(credential);
        if (put_str(credential, job->creds->access_key_id) || put_char(credential, '/') ||
            put_buf(credential, &ws->scope))
            return "out of memory";
        const char *token = job->sign_token ? job->creds->session_token : NULL;
        /* The names and most values are canonical as they are: only the credential (its
         * slashes), the signed header list (its semicolons) and the token need encoding. */
#define LITERAL_AND_LENGTH(literal) literal, sizeof(literal) - 1
        const struct {
            const char *name;
            size_t name_len;
            const char *value;
            size_t value_len;
            param_text value_kind;
        } auth_params[] = {
            {LITERAL_AND_LENGTH("X-Amz-Algorithm"), LITERAL_AND_LENGTH(ALGORITHM), PARAM_CANONICAL},
            {LITERAL_AND_LENGTH("X-Amz-Credential"), credential->data, credential->len, PARAM_PLAIN},
            {LITERAL_AND_LENGTH("X-Amz-Date"), job->amz_date, 16, PARAM_CANONICAL},
            {LITERAL_AND_LENGTH("X-Amz-Expires"), expires, strlen(expires), PARAM_CANONICAL},
            {LITERAL_AND_LENGTH("X-Amz-Security-Token"), token, job->token_len, PARAM_TOKEN},
            {LITERAL_AND_LENGTH("X-Amz-SignedHeaders"), kvi_buf_str(&ws->signed_headers),
             ws->signed_headers.len, PARAM_PLAIN},
        }; /* in their sorted order, which leaves the sort less to move */
#undef LITERAL_AND_LENGTH
        for (size_t i = 0; i < sizeof auth_params / sizeof auth_params[0] && !err; i++)
            if (auth_params[i].value)
                err = add_param(ws, &count, auth_params[i].name, auth_params[i].name_len,
                                PARAM_CANONICAL, auth_params[i].value, auth_params[i].value_len,
                                auth_params[i].value_kind);
    }
    if (err)
        return err;

    workspace_point_items(ws, count);
    sort_items(ws->items, count, compare_params);
    int rc = 0;
    for (size_t i = 0; i < count && rc == 0; i++) {
        const canon_item *q = &ws->items[i];
        rc = (i > 0 && put_char(out, '&')) || put(out, q->name, q->name_len) ||
             put_char(out, '=') || put(out, q->value, q->value_len);
    }
    return rc == 0 ? NULL : "out of memory";
}

static const char *build_canonical_request(sign_workspace *ws, sign_job *job)
{
    /* The headers first: a presigned query names them. */
    const char *err = build_headers(ws, job);
    if (err)
        return err;
    kvi_buf *out = &ws->canonical_request;
    kvi_buf_reset(out);
    if (put_str(out, job->req->method) || put_char(out, '\n'))
        return "out of memory";
    job->path_off = out->len;
    if ((err = append_path(ws, job, out)) != NULL)
        return err;
    job->path_len = out->len - job->path_off;
    if (put_char(out, '\n'))
        return "out of memory";
    job->query_off = out->len;
    if ((err = build_query(ws, job, out)) != NULL)
        return err;
    job->query_len = out->len - job->query_off;
    /* The header block ends in its own newline, hence the blank line after it. */
    if (put_char(out, '\n') || put_buf(out, &ws->header_block) || put_char(out, '\n') ||
        put_buf(out, &ws->signed_headers) || put_char(out, '\n') ||
        put_str(out, job->payload_hash))
        return "out of memory";
    return NULL;
}

/* ---- the two entry points ---- */

static const char *check_inputs(const kvi_sign_credentials *creds, const kvi_sign_config *cfg,
                                const kvi_sign_request *req, int presign)
{
    if (!creds || !cfg || !req)
        return "missing credentials, config or request";
    if (!creds->access_key_id || !*creds->access_key_id || !creds->secret_access_key ||
        !*creds->secret_access_key)
        return "the credentials lack an access key id or secret";
    if (!cfg->region || !*cfg->region || !cfg->service || !*cfg->service)
        return "the signing config lacks a region or service";
    if (!req->method || !*req->method)
        return "the request has no method";
    if (req->header_count > 0 && !req->headers)
        return "the request has a header count but no headers";
    if (req->body_len > 0 && !req->body)
        return "the request has a body length but no body";
    if (cfg->sign_body < KVI_PAYLOAD_EMPTY || cfg->sign_body > KVI_PAYLOAD_BODY)
        return "sign_body must be one of KVI_PAYLOAD_*";
    if (presign && (cfg->expires < 1 || cfg->expires > MAX_PRESIGN_EXPIRES))
        return "expires must be 1..604800 seconds";
    /* Through int64_t: with a 32-bit time_t (Debian 12 armhf) gcc calls the upper bound dead. */
    int64_t timestamp = cfg->timestamp;
    if (timestamp < 0 || timestamp >= FIRST_YEAR_10000)
        return "the timestamp is before 1970 or after 9999";
    return NULL;
}

static void put_digits(char *out, unsigned value, int width)
{
    for (int i = width - 1; i >= 0; i--, value /= 10)
        out[i] = (char)('0' + value % 10);
}

/* 20150830T123600Z from UTC seconds, by H. Hinnant's civil-from-days algorithm: gmtime_r takes
 * glibc's time zone lock, which every signing thread would contend on. */
static void format_amz_date(time_t when, char out[17])
{
    int64_t seconds = (int64_t)when;
    unsigned second_of_day = (unsigned)(seconds % 86400);
    int64_t days = seconds / 86400 + 719468; /* days since 0000-03-01 */
    unsigned era = (unsigned)(days / 146097);
    unsigned day_of_era = (unsigned)(days - (int64_t)era * 146097);
    unsigned year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
    unsigned day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    unsigned month_from_march = (5 * day_of_year + 2) / 153;
    unsigned day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    unsigned month = month_from_march < 10 ? month_from_march + 3 : month_from_march - 9;
    unsigned year = year_of_era + era * 400 + (month <= 2);

    put_digits(out, year, 4);
    put_digits(out + 4, month, 2);
    put_digits(out + 6, day, 2);
    out[8] = 'T';
    put_digits(out + 9, second_of_day / 3600, 2);
    put_digits(out + 11, second_of_day / 60 % 60, 2);
    put_digits(out + 13, second_of_day % 60, 2);
    out[15] = 'Z';
    out[16] = '\0';
}

/* Query mode: appends the presigned query to out: the canonical one, then any unsigned token,
 * then the signature. */
static int put_presigned_query(const sign_workspace *ws, const sign_job *job,
                               const char *signature, kvi_buf *out)
{
    int rc = put(out, ws->canonical_request.data + job->query_off, job->query_len);
    /* An unsigned token still has to reach the service. */
    if (rc == 0 && job->add_token && !job->sign_token)
        rc = PUT_LITERAL(out, "&X-Amz-Security-Token=") ||
             kvi_uri_encode(out, job->creds->session_token, job->token_len, 0);
    return rc || PUT_LITERAL(out, "&X-Amz-Signature=") || put(out, signature, 64);
}

/* Header mode: appends the headers to add to out, as "Name: value" lines. */
static int put_added_headers(const sign_workspace *ws, const sign_job *job, const char *signature,
                             kvi_buf *out)
{
    int rc = PUT_LITERAL(out, "X-Amz-Date: ") || put(out, job->amz_date, 16);
    if (job->add_token)
        rc = rc || PUT_LITERAL(out, "\nX-Amz-Security-Token: ") ||
             put(out, job->creds->session_token, job->token_len);
    if (job->content_sha256_header)
        rc = rc || PUT_LITERAL(out, "\nx-amz-content-sha256: ") || put_str(out, job->payload_hash);
    return rc || PUT_LITERAL(out, "\nAuthorization: " ALGORITHM " Credential=") ||
           put_str(out, job->creds->access_key_id) || put_char(out, '/') ||
           put_buf(out, &ws->scope) || PUT_LITERAL(out, ", SignedHeaders=") ||
           put_buf(out, &ws->signed_headers) || PUT_LITERAL(out, ", Signature=") ||
           put(out, signature, 64);
}

static const char *sign(kvi_signer *s, sign_job *job, sign_workspace *ws, char signature[65])
{
    const kvi_sign_config *cfg = job->cfg;
    const kvi_sign_request *req = job->req;

    kvi_buf *scope = &ws->scope;
    kvi_buf_reset(scope);
    if (put(scope, job->date, 8) || put_char(scope, '/') || put_str(scope, cfg->region) ||
        put_char(scope, '/') || put_str(scope, cfg->service) || PUT_LITERAL(scope, "/aws4_request"))
        return "out of memory";

    if (cfg->payload_hash) {
        job->payload_hash = cfg->payload_hash;
    } else if (cfg->sign_body != KVI_PAYLOAD_EMPTY && req->body_len > 0) {
        if (sha256_hex(ws, s->sha256, req->body, req->body_len, job->payload_hash_buf) != 0)
            return "SHA-256 failed";
        job->payload_hash = job->payload_hash_buf;
    } else {
        job->payload_hash = EMPTY_SHA256_HEX; /* no body, or not signed */
    }

    const char *err = build_canonical_request(ws, job);
    if (err)
        return err;

    char request_hash[65];
    if (sha256_hex(ws, s->sha256, ws->canonical_request.data, ws->canonical_request.len,
                   request_hash) != 0)
        return "SHA-256 failed";
    kvi_buf *sts = &ws->string_to_sign;
    kvi_buf_reset(sts);
    if (PUT_LITERAL(sts, ALGORITHM "\n") || put(sts, job->amz_date, 16) || put_char(sts, '\n') ||
        put_buf(sts, scope) || put_char(sts, '\n') || put(sts, request_hash, 64))
        return "out of memory";

    unsigned char key[SHA256_LEN], mac[SHA256_LEN];
    uint64_t key_id;
    int rc = get_signing_key(s, ws, job, key, &key_id);
    if (rc == 0)
        rc = sign_string(ws, key, key_id, sts->data, sts->len, mac);
    OPENSSL_cleanse(key, sizeof key);
    if (rc != 0)
        return "HMAC-SHA256 failed";
    to_hex(mac, SHA256_LEN, signature);
    return NULL;
}

/* Fills out: the canonical texts unless omitted, and what goes on the wire. Nonzero when out of
 * memory. */
static int write_outputs(const sign_workspace *ws, const sign_job *job, const char *signature,
                         kvi_sign_result *out)
{
    memcpy(out->amz_date, job->amz_date, sizeof out->amz_date);
    memcpy(out->signature, signature, sizeof out->signature);
    if (!job->cfg->omit_canonical &&
        (kvi_buf_append(&out->canonical_request, ws->canonical_request.data,
                        ws->canonical_request.len) != 0 ||
         kvi_buf_append(&out->string_to_sign, ws->string_to_sign.data,
                        ws->string_to_sign.len) != 0))
        return -1;
    /* Each output is written once, into a buffer reserved at about its final size: the literal
     * parts of either come to less than 300 bytes. */
    size_t size = 300 + strlen(job->creds->access_key_id) + ws->scope.len +
                  ws->signed_headers.len + job->token_len;
    if (!job->presign)
        return kvi_buf_reserve_exact(&out->added_headers, size) ||
               put_added_headers(ws, job, signature, &out->added_headers);
    size += job->query_len;
    if (job->add_token && !job->sign_token)
        size += 2 * job->token_len; /* the unsigned token goes in encoded */
    const char *prefix = job->cfg->url_prefix;
    if (!prefix)
        return kvi_buf_reserve_exact(&out->query, size) ||
               put_presigned_query(ws, job, signature, &out->query);
    size_t prefix_len = strlen(prefix);
    kvi_buf *url = &out->url;
    return kvi_buf_reserve_exact(url, size + prefix_len + job->path_len + 1) ||
           put(url, prefix, prefix_len) ||
           put(url, ws->canonical_request.data + job->path_off, job->path_len) ||
           put_char(url, '?') || put_presigned_query(ws, job, signature, url);
}

static int sign_entry(kvi_signer *s, const kvi_sign_credentials *creds, const kvi_sign_config *cfg,
                      const kvi_sign_request *req, int presign, kvi_sign_result *out,
                      const char **err_msg)
{
    if (!out) {
        if (err_msg)
            *err_msg = "missing result";
        return -1;
    }
    memset(out, 0, sizeof *out);
    char signature[65];
    const char *err = s ? check_inputs(creds, cfg, req, presign) : "missing signer";
    sign_job job = {.creds = creds, .cfg = cfg, .req = req, .presign = presign};
    if (!err) {
        job.add_token = creds->session_token && *creds->session_token;
        job.token_len = job.add_token ? strlen(creds->session_token) : 0;
        job.sign_token = job.add_token && !cfg->omit_session_token;
        job.content_sha256_header = !presign && cfg->sign_body == KVI_PAYLOAD_BODY_AND_HEADER;
    }

    sign_workspace *ws = NULL;
    if (!err && !(ws = workspace_acquire(s)))
        err = "out of memory";
    if (!err) {
        if (!ws->amz_date[0] || ws->amz_date_time != cfg->timestamp) {
            format_amz_date(cfg->timestamp, ws->amz_date);
            ws->amz_date_time = cfg->timestamp;
        }
        memcpy(job.amz_date, ws->amz_date, sizeof job.amz_date);
        memcpy(job.date, job.amz_date, 8);
        err = sign(s, &job, ws, signature);
    }
    if (!err && write_outputs(ws, &job, signature, out) != 0)
        err = "out of memory";
    if (ws)
        workspace_release(s, ws);
    if (err) {
        kvi_sign_result_free(out);
        if (err_msg)
            *err_msg = err;
        return -1;
    }
    return 0;
}

int kvi_sigv4_sign_headers(kvi_signer *s, const kvi_sign_credentials *creds,
                           const kvi_sign_config *cfg, const kvi_sign_request *req,
                           kvi_sign_result *out, const char **err_msg)
{
    return sign_entry(s, creds, cfg, req, 0, out, err_msg);
}

int kvi_sigv4_presign(kvi_signer *s, const kvi_sign_credentials *creds,
                      const kvi_sign_config *cfg, const kvi_sign_request *req,
                      kvi_sign_result *out, const char **err_msg)
{
    return sign_entry(s, creds, cfg, req, 1, out, err_msg);
}
