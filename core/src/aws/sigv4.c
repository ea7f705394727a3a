/* SPDX-License-Identifier: Apache-2.0 */
/* sigv4.c - AWS Signature Version 4: header signing and query presigning (the entry points; the
 * canonical request is in sigv4_canonical.c, keys and workspaces in sigv4_state.c). */
#include "aws/sigv4.h"

#include <openssl/crypto.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aws/sigv4_canonical.h"
#include "aws/sigv4_encode.h"
#include "aws/sigv4_state.h"

#define ALGORITHM "AWS4-HMAC-SHA256"
#define EMPTY_SHA256_HEX "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define MAX_PRESIGN_EXPIRES 604800    /* seven days, the SigV4 limit */
#define FIRST_YEAR_10000 253402300800 /* the date format has four year digits */

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
    int rc = kvi_put(out, ws->canonical_request.data + job->query_off, job->query_len);
    /* An unsigned token still has to reach the service. */
    if (rc == 0 && job->add_token && !job->sign_token)
        rc = KVI_PUT_LITERAL(out, "&X-Amz-Security-Token=") ||
             kvi_uri_encode(out, job->creds->session_token, job->token_len, 0);
    return rc || KVI_PUT_LITERAL(out, "&X-Amz-Signature=") || kvi_put(out, signature, 64);
}

/* Header mode: appends the headers to add to out, as "Name: value" lines. */
static int put_added_headers(const sign_workspace *ws, const sign_job *job, const char *signature,
                             kvi_buf *out)
{
    int rc = KVI_PUT_LITERAL(out, "X-Amz-Date: ") || kvi_put(out, job->amz_date, 16);
    if (job->add_token)
        rc = rc || KVI_PUT_LITERAL(out, "\nX-Amz-Security-Token: ") ||
             kvi_put(out, job->creds->session_token, job->token_len);
    if (job->content_sha256_header)
        rc = rc || KVI_PUT_LITERAL(out, "\nx-amz-content-sha256: ") || kvi_put_str(out, job->payload_hash);
    return rc || KVI_PUT_LITERAL(out, "\nAuthorization: " ALGORITHM " Credential=") ||
           kvi_put_str(out, job->creds->access_key_id) || kvi_put_char(out, '/') ||
           kvi_put_buf(out, &ws->scope) || KVI_PUT_LITERAL(out, ", SignedHeaders=") ||
           kvi_put_buf(out, &ws->signed_headers) || KVI_PUT_LITERAL(out, ", Signature=") ||
           kvi_put(out, signature, 64);
}

static const char *sign(kvi_signer *s, sign_job *job, sign_workspace *ws, char signature[65])
{
    const kvi_sign_config *cfg = job->cfg;
    const kvi_sign_request *req = job->req;

    kvi_buf *scope = &ws->scope;
    kvi_buf_reset(scope);
    if (kvi_put(scope, job->date, 8) || kvi_put_char(scope, '/') || kvi_put_str(scope, cfg->region) ||
        kvi_put_char(scope, '/') || kvi_put_str(scope, cfg->service) || KVI_PUT_LITERAL(scope, "/aws4_request"))
        return "out of memory";

    if (cfg->payload_hash) {
        job->payload_hash = cfg->payload_hash;
    } else if (cfg->sign_body != KVI_PAYLOAD_EMPTY && req->body_len > 0) {
        if (kvi_sigv4_sha256_hex(ws, s->sha256, req->body, req->body_len, job->payload_hash_buf) != 0)
            return "SHA-256 failed";
        job->payload_hash = job->payload_hash_buf;
    } else {
        job->payload_hash = EMPTY_SHA256_HEX; /* no body, or not signed */
    }

    const char *err = kvi_sigv4_canonical_request(ws, job);
    if (err)
        return err;

    char request_hash[65];
    if (kvi_sigv4_sha256_hex(ws, s->sha256, ws->canonical_request.data, ws->canonical_request.len,
                   request_hash) != 0)
        return "SHA-256 failed";
    kvi_buf *sts = &ws->string_to_sign;
    kvi_buf_reset(sts);
    if (KVI_PUT_LITERAL(sts, ALGORITHM "\n") || kvi_put(sts, job->amz_date, 16) || kvi_put_char(sts, '\n') ||
        kvi_put_buf(sts, scope) || kvi_put_char(sts, '\n') || kvi_put(sts, request_hash, 64))
        return "out of memory";

    unsigned char key[SHA256_LEN], mac[SHA256_LEN];
    uint64_t key_id;
    int rc = kvi_sigv4_signing_key(s, ws, job, key, &key_id);
    if (rc == 0)
        rc = kvi_sigv4_sign_string(ws, key, key_id, sts->data, sts->len, mac);
    OPENSSL_cleanse(key, sizeof key);
    if (rc != 0)
        return "HMAC-SHA256 failed";
    kvi_sigv4_hex(mac, SHA256_LEN, signature);
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
           kvi_put(url, prefix, prefix_len) ||
           kvi_put(url, ws->canonical_request.data + job->path_off, job->path_len) ||
           kvi_put_char(url, '?') || put_presigned_query(ws, job, signature, url);
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
    if (!err && !(ws = kvi_sigv4_workspace_acquire(s)))
        err = "out of memory, or OpenSSL has no HMAC-SHA256";
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
        kvi_sigv4_workspace_release(s, ws);
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

