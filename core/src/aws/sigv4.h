/* SPDX-License-Identifier: Apache-2.0 */
/* sigv4.h - AWS Signature Version 4: header signing and query presigning. */
#ifndef KVSWS_SIGV4_H
#define KVSWS_SIGV4_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "base/buf.h"

/* Credentials as the signer reads them. Strings are borrowed. */
typedef struct kvi_sign_credentials {
    const char *access_key_id;
    const char *secret_access_key;
    const char *session_token; /* NULL or "" when none */
} kvi_sign_credentials;

typedef struct kvi_header {
    const char *name;
    const char *value;
} kvi_header;

/* The request as the signer reads it. Strings are borrowed. */
typedef struct kvi_sign_request {
    const char *method;        /* "GET", "POST" */
    const char *path;          /* raw, NOT percent-encoded ("/a b", raw UTF-8); "" means "/" */
    const char *query;         /* as it stands in the URL after '?': may hold raw UTF-8 or %XX
                                  escapes; NULL or "" when none */
    const kvi_header *headers; /* the headers to sign; must include Host */
    size_t header_count;
    const void *body;          /* may be NULL when body_len == 0 */
    size_t body_len;
} kvi_sign_request;

/* kvi_sign_config.sign_body: what the payload hash covers. */
enum {
    KVI_PAYLOAD_EMPTY = 0,           /* SHA-256("") whatever the body is */
    KVI_PAYLOAD_BODY_AND_HEADER = 1, /* SHA-256(body), and in header mode an x-amz-content-sha256
                                        header is added and signed (S3 wants it; the calls send it) */
    KVI_PAYLOAD_BODY = 2,            /* SHA-256(body), no such header */
};

typedef struct kvi_sign_config {
    const char *region;
    const char *service;
    time_t timestamp;         /* signing time, UTC seconds (injected: tests pin it) */
    int normalize_path;       /* 1: drop "." and ".." segments and collapse "//" (not for S3) */
    int sign_body;            /* KVI_PAYLOAD_* above (0 and 1 read as the flag they once were) */
    int omit_session_token;   /* 1: the token is added after signing (not in the canonical form) */
    int64_t expires;          /* query mode: X-Amz-Expires, 1..604800 */
    const char *payload_hash; /* optional precomputed hex hash overriding sign_body's choice
                                 (the x-amz-content-sha256 header, if any, carries it) */
    int omit_canonical;       /* 1: leave the result's canonical_request and string_to_sign empty,
                                 for callers that do not log them (saves two copies) */
    const char *url_prefix;   /* query mode, optional: "scheme://authority"; the result's url is
                                 then the whole presigned URL, and its query stays empty */
} kvi_sign_config;

typedef struct kvi_sign_result {
    kvi_buf canonical_request;
    kvi_buf string_to_sign;
    char signature[65];       /* lowercase hex */
    char amz_date[17];        /* 20150830T123600Z */
    /* Header mode: the headers to add to the request, in this order, as "Name: value" lines
     * separated by "\n" (X-Amz-Date, X-Amz-Security-Token if any, x-amz-content-sha256 if
     * KVI_PAYLOAD_BODY_AND_HEADER, Authorization). */
    kvi_buf added_headers;
    /* Query mode: the complete query string to put after '?' (the original parameters plus the
     * X-Amz-* ones and X-Amz-Signature), every part percent-encoded. */
    kvi_buf query;
    /* Query mode with cfg->url_prefix, instead of query: the prefix, the canonical (encoded) path,
     * '?' and the query string above. */
    kvi_buf url;
} kvi_sign_result;

/* Frees the result, cleansing what can hold the session token (all but the string to sign). */
void kvi_sign_result_free(kvi_sign_result *r);

/* Header mode: splits r->added_headers in place into at most max headers that point into it
 * (valid until the result is freed; the buffer is no longer one string). Returns how many. */
size_t kvi_sign_split_added(kvi_sign_result *r, kvi_header *out, size_t max);

/* A signer holds the OpenSSL algorithms (fetched once) and a cache of derived signing keys keyed
 * on (secret, date, region, service). Thread-safe: one per client, shared by all its threads. */
typedef struct kvi_signer kvi_signer;

kvi_signer *kvi_signer_new(void);
void kvi_signer_free(kvi_signer *s);

/* Both return 0 on success, -1 on out of memory or a request that cannot be signed (e.g. no Host
 * header, bad expires); on -1 *err_msg (if not NULL) points at a static description. */
int kvi_sigv4_sign_headers(kvi_signer *s, const kvi_sign_credentials *creds,
                           const kvi_sign_config *cfg, const kvi_sign_request *req,
                           kvi_sign_result *out, const char **err_msg);
int kvi_sigv4_presign(kvi_signer *s, const kvi_sign_credentials *creds,
                      const kvi_sign_config *cfg, const kvi_sign_request *req,
                      kvi_sign_result *out, const char **err_msg);

/* Helpers other modules use. */
/* Percent-encodes everything but A-Za-z0-9-._~ (and '/' when keep_slash). */
int kvi_uri_encode(kvi_buf *out, const char *s, size_t len, int keep_slash);
/* Lowercase hex SHA-256 of data into out[65]. */
void kvi_sha256_hex(const void *data, size_t len, char out[65]);

#endif
