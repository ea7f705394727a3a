/* sign_api.c - SigV4 for the user's own transport, with the client's credentials and region. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "client.h"
#include "error.h"
#include "url.h"

#define MAX_SIGNED_HEADERS 64

void kvsws_string_free(char *s) { free(s); }

/* Splits "Name: value" strings into the signer's pairs (names point into `storage`). */
static kvsws_status split_headers(const char *const *headers, const char *authority,
                                  kvi_header *out, size_t *count, char **storage,
                                  kvsws_error *err)
{
    size_t n = 0;
    int have_host = 0;
    for (size_t i = 0; headers && headers[i]; i++) {
        if (n >= MAX_SIGNED_HEADERS - 1)
            return kvi_error_set(err, KVSWS_E_PARAM_VALIDATION,
                                 "Invalid parameter headers: at most %d headers",
                                 MAX_SIGNED_HEADERS - 1);
        const char *colon = strchr(headers[i], ':');
        if (!colon || colon == headers[i])
            return kvi_error_set(err, KVSWS_E_PARAM_VALIDATION,
                                 "Invalid parameter headers[%zu]: expected \"Name: value\"", i);
        storage[n] = kvi_strdup(headers[i]);
        if (!storage[n])
            return kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory");
        storage[n][colon - headers[i]] = '\0';
        out[n].name = storage[n];
        out[n].value = storage[n] + (colon - headers[i]) + 1;
        have_host |= strcasecmp(out[n].name, "host") == 0;
        n++;
    }
    if (!have_host) /* what an HTTP client would send */
        out[n++] = (kvi_header){"Host", authority};
    *count = n;
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
    kvi_url parsed;
    char *raw_path = NULL, *raw_query = NULL;
    const char *why = NULL;
    if (kvi_url_parse_request(url, &parsed, &raw_path, &raw_query, &why) != 0)
        return kvi_error_set(err, KVSWS_E_PARAM_VALIDATION, "Invalid parameter url: %s", why);

    kvi_header pairs[MAX_SIGNED_HEADERS];
    char *storage[MAX_SIGNED_HEADERS] = {0};
    size_t count = 0;
    kvi_credentials creds;
    memset(&creds, 0, sizeof creds);
    kvi_sign_result result;
    memset(&result, 0, sizeof result);
    kvsws_status st = split_headers(headers, parsed.authority, pairs, &count, storage, err);
    if (!st)
        st = kvi_credential_chain_get(client->credentials, time(NULL), 300, &creds, err);
    if (!st) {
        char payload_hash[65];
        kvi_sha256_hex(body ? body : "", body_len, payload_hash);
        kvi_sign_request req = {method, raw_path, raw_query, pairs, count, body, body_len};
        kvi_sign_credentials sc = {creds.access_key_id, creds.secret_access_key,
                                   creds.session_token};
        kvi_sign_config cfg = {client->region, service,
                               timestamp ? (time_t)timestamp : time(NULL), 1, 0, 0,
                               expires_s ? expires_s : 3600, payload_hash};
        int failed = expires_s ? kvi_sigv4_presign(client->signer, &sc, &cfg, &req, &result, &why)
                               : kvi_sigv4_sign_headers(client->signer, &sc, &cfg, &req, &result,
                                                        &why);
        if (failed) {
            st = kvi_error_set(err, KVSWS_E_PARAM_VALIDATION, "Cannot sign this request: %s",
                               why ? why : "unknown reason");
        } else if (expires_s) {
            /* the canonical URI (line 2 of the canonical request) is the encoded path */
            const char *cr = kvi_buf_str(&result.canonical_request);
            const char *uri = strchr(cr, '\n') + 1;
            kvi_buf signed_url = KVI_BUF_INIT;
            /* appends, not printf: glibc's vsnprintf sizing pass is slow on a 1 KB URL */
            if (kvi_buf_puts(&signed_url, parsed.scheme) || kvi_buf_puts(&signed_url, "://") ||
                kvi_buf_puts(&signed_url, parsed.authority) ||
                kvi_buf_append(&signed_url, uri, strcspn(uri, "\n")) ||
                kvi_buf_putc(&signed_url, '?') ||
                kvi_buf_append(&signed_url, result.query.data, result.query.len))
                kvi_buf_free(&signed_url); /* out stays NULL: reported as out of memory below */
            else
                *out = kvi_buf_detach(&signed_url);
        } else {
            *out = kvi_buf_detach(&result.added_headers);
        }
        if (!st && !*out)
            st = kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory");
    }
    kvi_sign_result_free(&result);
    kvi_credentials_free(&creds);
    for (size_t i = 0; i < count && i < MAX_SIGNED_HEADERS; i++)
        free(storage[i]);
    free(raw_path);
    free(raw_query);
    kvi_url_free(&parsed);
    return st;
}
