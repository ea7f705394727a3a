/* SPDX-License-Identifier: Apache-2.0 */
/* sigv4_state.c - the signer's state: workspaces, hashing, signing keys and their cache. */
#include "aws/sigv4_state.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>
#include <stdlib.h>
#include <string.h>

#include "aws/sigv4_encode.h"

/* Spare workspaces kept for reuse: about one per concurrently signing thread. */
#define SPARE_WORKSPACES_MAX 8

/* ---- workspaces ---- */

static void workspace_free(sign_workspace *ws)
{
    if (!ws)
        return;
    EVP_MD_CTX_free(ws->md);
    EVP_MAC_CTX_free(ws->derive_mac);
    EVP_MAC_CTX_free(ws->signing_mac);
    free(ws->headers.items);
    free(ws->params.items);
    /* The session token passes through most of these. */
    kvi_buf *buffers[] = {&ws->headers.text,   &ws->params.text, &ws->path,
                          &ws->signed_headers, &ws->credential,  &ws->scope,
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

/* Needs the lock. OpenSSL's algorithms, fetched for the first signature rather than when the
 * signer is made: the first fetch loads OpenSSL's default provider (about 1.5 ms, most of a
 * client's creation), which a client that never signs need not pay. */
static int fetch_algorithms(kvi_signer *s)
{
    if (!s->hmac)
        s->hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (!s->sha256)
        s->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    return s->hmac && s->sha256 ? 0 : -1;
}

sign_workspace *kvi_sigv4_workspace_acquire(kvi_signer *s)
{
    pthread_mutex_lock(&s->lock);
    sign_workspace *ws = s->spares;
    if (ws) {
        s->spares = ws->next_spare;
        s->spare_count--;
    }
    int fetched = ws || fetch_algorithms(s) == 0;
    pthread_mutex_unlock(&s->lock);
    if (!fetched)
        return NULL;
    return ws ? ws : workspace_new(s);
}

void kvi_sigv4_workspace_release(kvi_signer *s, sign_workspace *ws)
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

void kvi_sigv4_list_reset(canon_list *list)
{
    list->count = 0;
    kvi_buf_reset(&list->text);
}

canon_item *kvi_sigv4_list_add(canon_list *list)
{
    if (list->count == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 16;
        canon_item *items = realloc(list->items, cap * sizeof *items);
        if (!items)
            return NULL;
        list->items = items;
        list->cap = cap;
    }
    canon_item *item = &list->items[list->count++];
    memset(item, 0, sizeof *item);
    return item;
}

void kvi_sigv4_list_point(canon_list *list)
{
    const char *base = kvi_buf_str(&list->text);
    for (size_t i = 0; i < list->count; i++) {
        canon_item *item = &list->items[i];
        if (!item->name)
            item->name = base + item->name_off;
        if (!item->value)
            item->value = base + item->value_off;
    }
}

/* ---- hashing ---- */

int kvi_sigv4_sha256_hex(sign_workspace *ws, const EVP_MD *md, const void *data, size_t len,
                         char out[65])
{
    unsigned char digest[SHA256_LEN];
    unsigned int digest_len = 0;
    if (EVP_DigestInit_ex2(ws->md, md, NULL) != 1 || EVP_DigestUpdate(ws->md, data, len) != 1 ||
        EVP_DigestFinal_ex(ws->md, digest, &digest_len) != 1 || digest_len != SHA256_LEN)
        return -1;
    kvi_sigv4_hex(digest, SHA256_LEN, out);
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
int kvi_sigv4_sign_string(sign_workspace *ws, const unsigned char key[SHA256_LEN], uint64_t key_id,
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
int kvi_sigv4_signing_key(kvi_signer *s, sign_workspace *ws, const sign_job *job,
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

