/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_sigv4.c - libFuzzer target for SigV4 on a user's request (sigv4.c through sign_api.c,
 * kvsws_sign_request, and the signer itself): the URL's path and query canonicalised, the
 * headers trimmed and sorted. Input: byte 0 picks the mode, then "METHOD\nURL\nheader\n...".
 * Checked: the string to sign hashes the very canonical request; signing is deterministic; the
 * secret key never comes out; a presigned URL splits back into a URL. Build: see README.md. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "kvsws.h"
#include "aws/sigv4.h"
#include "base/url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SECRET "fuzzSecret/Key+With=Marks0123456789abcd"
#define TOKEN "fuzzToken/With+Marks="
#define MAX_LINES 16

static kvsws_client *client(void)
{
    static kvsws_client *c;
    if (!c) {
        kvsws_config *cfg = kvsws_config_new();
        kvsws_config_set_str(cfg, KVSWS_OPT_REGION, "us-west-2", NULL);
        kvsws_config_set_str(cfg, KVSWS_OPT_ACCESS_KEY_ID, "AKIDFUZZ", NULL);
        kvsws_config_set_str(cfg, KVSWS_OPT_SECRET_ACCESS_KEY, SECRET, NULL);
        kvsws_config_set_str(cfg, KVSWS_OPT_SESSION_TOKEN, TOKEN, NULL);
        kvsws_config_set_str(cfg, KVSWS_OPT_CONFIG_FILE, "/nonexistent/fuzz-config", NULL);
        kvsws_config_set_str(cfg, KVSWS_OPT_CREDENTIALS_FILE, "/nonexistent/fuzz-creds", NULL);
        if (kvsws_client_new(cfg, &c, NULL) != KVSWS_OK)
            abort();
        kvsws_config_free(cfg);
    }
    return c;
}

/* Whether s shows the secret key, when the input did not hold it already. */
static const uint8_t *input;
static size_t input_len;

static int leaks(const char *s)
{
    return strstr(s, SECRET) && !memmem(input, input_len, SECRET, strlen(SECRET));
}

/* The public call: twice the same answer, no secret in it, a URL that splits again. */
static void sign_public(const char *method, const char *url, const char *const *headers,
                        int presign)
{
    char *a = NULL, *b = NULL;
    kvsws_error *err = kvsws_error_new();
    int64_t expires = presign ? 300 : 0, when = 1440938160;
    kvsws_status st = kvsws_sign_request(client(), "kinesisvideo", method, url, headers, "b", 1,
                                         expires, when, &a, err);
    if (st != KVSWS_OK) {
        if (a || !*kvsws_error_message(err))
            abort();
    } else {
        if (!a || leaks(a) ||
            kvsws_sign_request(client(), "kinesisvideo", method, url, headers, "b", 1, expires,
                               when, &b, NULL) != KVSWS_OK ||
            strcmp(a, b) != 0)
            abort();
        kvi_url_spans sp;
        const char *why = NULL;
        if (presign && (kvi_url_split_request(a, &sp, &why) != 0 ||
                        !strstr(a, "X-Amz-Signature=")))
            abort();
    }
    kvsws_string_free(a);
    kvsws_string_free(b);
    kvsws_error_free(err);
}

/* The signer: the string to sign's last line is the canonical request's SHA-256. */
static void sign_internal(const char *method, const char *url, const char *const *lines,
                          size_t count, int presign, int normalize)
{
    kvi_url u;
    char *path = NULL, *query = NULL;
    const char *why = NULL;
    if (kvi_url_parse_request(url, &u, &path, &query, &why) != 0)
        return;
    kvi_header headers[MAX_LINES + 1];
    char *copies[MAX_LINES];
    size_t n = 0;
    for (size_t i = 0; i < count; i++) {
        const char *colon = strchr(lines[i], ':');
        if (!colon || colon == lines[i])
            continue;
        copies[n] = strdup(lines[i]);
        copies[n][colon - lines[i]] = '\0';
        headers[n] = (kvi_header){copies[n], copies[n] + (colon - lines[i]) + 1};
        n++;
    }
    headers[n++] = (kvi_header){"Host", u.authority};
    static kvi_signer *signer;
    if (!signer && !(signer = kvi_signer_new()))
        abort();
    kvi_sign_request req = {method, path, query, headers, n, "", 0};
    kvi_sign_credentials sc = {"AKIDFUZZ", SECRET, TOKEN};
    kvi_sign_config cfg = {.region = "us-west-2", .service = "kinesisvideo",
                           .timestamp = 1440938160, .normalize_path = normalize,
                           .expires = 300};
    kvi_sign_result r;
    memset(&r, 0, sizeof r);
    int rc = presign ? kvi_sigv4_presign(signer, &sc, &cfg, &req, &r, &why)
                     : kvi_sigv4_sign_headers(signer, &sc, &cfg, &req, &r, &why);
    if (rc != 0) {
        if (!why)
            abort();
    } else {
        char digest[65];
        kvi_sha256_hex(r.canonical_request.data, r.canonical_request.len, digest);
        const char *sts = kvi_buf_str(&r.string_to_sign);
        const char *last = strrchr(sts, '\n');
        if (!last || strcmp(last + 1, digest) != 0 || strlen(r.signature) != 64 ||
            leaks(kvi_buf_str(&r.canonical_request)) || leaks(sts) ||
            leaks(kvi_buf_str(&r.added_headers)) || leaks(kvi_buf_str(&r.query)))
            abort();
        /* Six parts: method, path, query, headers (one line each, then a blank), names, hash. */
        const char *cr = kvi_buf_str(&r.canonical_request);
        size_t newlines = 0;
        for (const char *p = cr; *p; p++)
            newlines += *p == '\n';
        if (newlines < 5 + 1 || strncmp(cr, method, strlen(method)) != 0 ||
            cr[strlen(method)] != '\n')
            abort();
    }
    kvi_sign_result_free(&r);
    for (size_t i = 0; i + 1 < n; i++)
        free(copies[i]);
    free(path);
    free(query);
    kvi_url_free(&u);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    input = data;
    input_len = size;
    char *text = malloc(size);
    if (!text)
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    /* Lines: method, URL, then headers. */
    const char *lines[MAX_LINES + 2];
    size_t count = 0;
    char *save = NULL;
    for (char *l = strtok_r(text, "\n", &save); l && count < MAX_LINES + 2;
         l = strtok_r(NULL, "\n", &save))
        lines[count++] = l;
    if (count >= 2 && *lines[0]) {
        const char *headers[MAX_LINES + 1];
        for (size_t i = 2; i < count; i++)
            headers[i - 2] = lines[i];
        headers[count - 2] = NULL;
        int presign = data[0] & 1;
        sign_public(lines[0], lines[1], headers, presign);
        sign_internal(lines[0], lines[1], lines + 2, count - 2, presign, (data[0] >> 1) & 1);
    }
    free(text);
    return 0;
}

/* With -DKVSWS_FUZZ_STANDALONE: a main that replays files, for builds without libFuzzer. */
#include "standalone_main.h"
