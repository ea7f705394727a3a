/* SPDX-License-Identifier: Apache-2.0 */
/* sign_api.c - SigV4 for the user's own transport, with the client's credentials and region. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api/client.h"
#include "base/buf.h"
#include "base/error.h"
#include "base/url.h"

#define MAX_SIGNED_HEADERS 64

void kvsws_string_free(char *s) { free(s); }

/* What the signer reads, as C strings: the URL's parts and each header's name and value, copied
 * once, into local when they fit (they usually do), else into one allocation. */
typedef struct sign_input {
    char local[1024];
    char *text; /* local or malloc'd: holds every string below */
    const char *authority, *path, *query;
    const char *url_prefix; /* "scheme://authority", the scheme lowercased */
    kvi_header headers[MAX_SIGNED_HEADERS];
    size_t header_count;
} sign_input;

/* Copies s[0..len) and a NUL to *cursor, and moves the cursor past them. */
static char *copy_in(char **cursor, const char *s, size_t len)
{
    char *start = *cursor;
    memcpy(start, s, len);
    start[len] = '\0';
    *cursor += len + 1;
    return start;
}

/* Checks the "Name: value" headers and fills in: the URL's parts, then each header split at its
 * first colon, and a Host header (what an HTTP client would send) unless there is one. */
static kvsws_status sign_input_build(const kvi_url_spans *url, const char *const *headers,
                                     sign_input *in, kvsws_error *err)
{
    size_t line_len[MAX_SIGNED_HEADERS - 1], name_len[MAX_SIGNED_HEADERS - 1];
    size_t lines = 0, total = 0;
    int have_host = 0;
    for (size_t i = 0; headers && headers[i]; i++) {
        if (lines >= MAX_SIGNED_HEADERS - 1)
            return kvi_error_set(err, KVSWS_E_PARAM_VALIDATION,
                                 "Invalid parameter headers: at most %d headers",
                                 MAX_SIGNED_HEADERS - 1);
        const char *colon = strchr(headers[i], ':');
        if (!colon || colon == headers[i])
            return kvi_error_set(err, KVSWS_E_PARAM_VALIDATION,
                                 "Invalid parameter headers[%zu]: expected \"Name: value\"", i);
        name_len[lines] = (size_t)(colon - headers[i]);
        have_host |= name_len[lines] == 4 && strncasecmp(headers[i], "host", 4) == 0;
        line_len[lines] = strlen(headers[i]);
        total += line_len[lines++] + 1;
    }
    total += url->authority_len + 1 + url->path_len + 1 + url->query_len + 1 + url->scheme_len +
             3 + url->authority_len + 1;
    char *cursor = in->text = total <= sizeof in->local ? in->local : malloc(total);
    if (!cursor)
        return kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory");

    in->authority = copy_in(&cursor, url->authority, url->authority_len);
    in->path = copy_in(&cursor, url->path, url->path_len);
    in->query = copy_in(&cursor, url->query, url->query_len);
    char *prefix = cursor;
    for (size_t i = 0; i < url->scheme_len; i++) {
        char c = url->scheme[i];
        *cursor++ = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
    }
    memcpy(cursor, "://", 3);
    cursor += 3;
    copy_in(&cursor, url->authority, url->authority_len);
    in->url_prefix = prefix;

    for (size_t i = 0; i < lines; i++) {
        char *line = copy_in(&cursor, headers[i], line_len[i]);
        line[name_len[i]] = '\0'; /* the colon */
        in->headers[i] = (kvi_header){line, line + name_len[i] + 1};
    }
    in->header_count = lines;
    if (!have_host)
        in->headers[in->header_count++] = (kvi_header){"Host", in->authority};
    return KVSWS_OK;
}

kvsws_status kvsws_sign_request(kvsws_client *client, const char *service, const char *method,
                                const char *url, const char *const *headers, const void *body,
                                size_t body_len, int64_t expires_s, int64_t timestamp,
                                char **out, kvsws_error *err)
{
    kvi_error_clear(err);
    if (out)
        *out = NULL;
    if (!client || !out)
        return kvi_error_set(err, KVSWS_E_PARAM_VALIDATION, "client and out must not be NULL");
    if (!service || !*service || !method || !*method)
        return kvi_error_set(err, KVSWS_E_PARAM_VALIDATION,
                             "Missing required parameter: %s", !service || !*service ? "service"
                                                                                     : "method");
    if (expires_s < 0 || expires_s > 604800)
        return kvi_error_set(err, KVSWS_E_PARAM_VALIDATION,
                             "Invalid value for parameter expires_s: must be 0 (header signing) "
                             "or 1 to 604800 seconds, got %lld",
                             (long long)expires_s);
    if (body_len && !body)
        return kvi_error_set(err, KVSWS_E_PARAM_VALIDATION,
                             "Invalid parameter body: NULL with a non-zero length");
    kvi_url_spans url_parts;
    const char *why = NULL;
    if (kvi_url_split_request(url, &url_parts, &why) != 0)
        return kvi_error_set(err, KVSWS_E_PARAM_VALIDATION, "Invalid parameter url: %s", why);

    sign_input in;
    in.text = NULL;
    kvi_buf creds_text = KVI_BUF_INIT; /* holds the secret */
    kvi_sign_credentials creds = {0};
    kvi_sign_result result;
    memset(&result, 0, sizeof result);
    kvsws_status st = sign_input_build(&url_parts, headers, &in, err);
    if (!st)
        st = kvi_credential_chain_get_packed(client->credentials, time(NULL), 300, &creds_text,
                                             &creds.access_key_id, &creds.secret_access_key,
                                             &creds.session_token, err);
    if (!st) {
        kvi_sign_request req = {method, in.path, in.query, in.headers, in.header_count, body,
                                body_len};
        /* Nobody reads the canonical request here; the presigned URL comes out whole, its path
         * the canonical (encoded) one. */
        kvi_sign_config cfg = {.region = client->region,
                               .service = service,
                               .timestamp = timestamp ? (time_t)timestamp : time(NULL),
                               .normalize_path = 1,
                               .sign_body = KVI_PAYLOAD_BODY,
                               .expires = expires_s ? expires_s : 3600,
                               .omit_canonical = 1,
                               .url_prefix = in.url_prefix};
        int failed = expires_s
                         ? kvi_sigv4_presign(client->signer, &creds, &cfg, &req, &result, &why)
                         : kvi_sigv4_sign_headers(client->signer, &creds, &cfg, &req, &result,
                                                  &why);
        if (failed)
            st = kvi_error_set(err, KVSWS_E_PARAM_VALIDATION, "Cannot sign this request: %s",
                               why ? why : "unknown reason");
        else
            *out = kvi_buf_detach(expires_s ? &result.url : &result.added_headers);
        if (!st && !*out)
            st = kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory");
    }
    kvi_sign_result_free(&result);
    kvi_buf_free_secret(&creds_text);
    if (in.text != in.local)
        free(in.text);
    return st;
}
