/* SPDX-License-Identifier: Apache-2.0 */
/* sigv4_state.h - what a signature works in: the signer (its signing-key cache and spare
 * workspaces), a workspace (OpenSSL contexts and buffers reused between signatures) and the job. */
#ifndef KVSWS_SIGV4_STATE_H
#define KVSWS_SIGV4_STATE_H

#include <openssl/evp.h>
#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "aws/sigv4_types.h"
#include "base/buf.h"

#define SHA256_LEN 32
/* A handful of slots covers one client's (secret, day, region, service) working set. */
#define KEY_CACHE_SLOTS 8
/* Longer inputs are legal but rare: they are derived every time instead of cached. */
#define CACHED_SECRET_MAX 128
#define CACHED_SCOPE_PART_MAX 64

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

/* A header or query parameter in canonical form. Its name and value live in its list's text,
 * unless they were canonical already: those are borrowed where they stand (a session token is a
 * kilobyte not worth copying). */
typedef struct canon_item {
    size_t name_off, name_len, value_off, value_len;
    size_t arrival; /* keeps repeated headers in the order they came */
    const char *name, *value; /* set when borrowed, else once the list is complete */
} canon_item;

/* The canonical headers, or the canonical query's parameters: two lists, so the headers are still
 * there to write after the query (which names them when presigning) is built. */
typedef struct canon_list {
    canon_item *items;
    size_t count, cap;
    kvi_buf text; /* the names and values that are not borrowed */
} canon_list;

/* Everything one signature needs besides its outputs, pooled so that the hot path reuses the
 * OpenSSL contexts and the buffers' memory instead of allocating them per call. */
typedef struct sign_workspace {
    struct sign_workspace *next_spare;
    EVP_MD_CTX *md;
    EVP_MAC_CTX *derive_mac;
    /* Keeps the last signing key: re-keying HMAC costs two more hash blocks per signature. */
    EVP_MAC_CTX *signing_mac;
    uint64_t signing_mac_key_id; /* the cache's id of the key it holds; 0: none, or not cached */
    canon_list headers, params;
    kvi_buf path;           /* the path after normalizing, before encoding */
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

/* A workspace for one signature: a spare one, else a new one (NULL out of memory). */
sign_workspace *kvi_sigv4_workspace_acquire(kvi_signer *s);
/* Back to the signer's spares (a few are kept), else freed. */
void kvi_sigv4_workspace_release(kvi_signer *s, sign_workspace *ws);
/* Empties a list, keeping its memory. */
void kvi_sigv4_list_reset(canon_list *list);
/* Room for one more item, zeroed; NULL out of memory. */
canon_item *kvi_sigv4_list_add(canon_list *list);
/* The text only grows while items are added, so the pointers into it are set once that is over. */
void kvi_sigv4_list_point(canon_list *list);
/* Lower-case hex SHA-256 of data into out, with the workspace's digest context. 0 / -1. */
int kvi_sigv4_sha256_hex(sign_workspace *ws, const EVP_MD *md, const void *data, size_t len,
                         char out[65]);
/* HMAC-SHA256 of data with key into out. key_id is the key's id in the signer's cache (0 when it
 * is not cached): the same id means the same key, so the MAC context that already holds it is
 * not keyed again. 0 / -1. */
int kvi_sigv4_sign_string(sign_workspace *ws, const unsigned char key[SHA256_LEN], uint64_t key_id,
                          const void *data, size_t len, unsigned char out[SHA256_LEN]);
/* The signing key, and its id in the cache (0 when it is too long to cache). 0 / -1. */
int kvi_sigv4_signing_key(kvi_signer *s, sign_workspace *ws, const sign_job *job,
                          unsigned char key[SHA256_LEN], uint64_t *key_id);

#endif
