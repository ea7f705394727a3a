/* SPDX-License-Identifier: Apache-2.0 */
/* test_sigv4_options.c - what the signer does besides the AWS suite: its payload modes, leaving
 * out the canonical texts, returning a whole presigned URL, the session token it remembers
 * between signatures; the URL split and the packed credentials kvsws_sign_request uses; and
 * kvsws_sign_request's whole output for a few requests, as it was before these existed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "credentials/credentials.h"
#include "credentials/chain.h"
#include "kvsws.h"
#include "aws/sigv4.h"
#include "base/url.h"

#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define WHEN 1575158400 /* 2019-12-01T00:00:00Z */
#define AK "AKIA4F7WJQR7FMMWMNXI"
#define SECRET "FakeSecretKey"
#define LONG_TOKEN                                                                               \
    "IQoJb3JpZ2luX2VjEkO5G9Yp/cfHD9wtK5E4AEubCIXHTMuqIz5aqi5uk7+gry/g+B+duSGJdJtFckl85AAn1G3h7W/=="
#define SPACED_TOKEN "tok/en+with=chars and  spaces\t"

static const kvi_header host_only[] = {{"Host", "example.amazonaws.com"}};
static const kvi_header with_type[] = {{"Host", "example.amazonaws.com"},
                                       {"Content-Type", "application/json"}};

static kvi_sign_config config(void)
{
    return (kvi_sign_config){.region = "us-west-2", .service = "kinesisvideo",
                             .timestamp = WHEN, .normalize_path = 1, .expires = 299};
}

/* ---- payload modes ---- */

static void test_payload_modes(kvi_signer *signer)
{
    static const char body[] = "{\"a\":1}";
    kvi_sign_credentials creds = {AK, SECRET, NULL};
    kvi_sign_request req = {"POST", "/", NULL, with_type, 2, body, strlen(body)};
    char body_hash[65];
    kvi_sha256_hex(body, strlen(body), body_hash);

    /* The signer hashing the body is the same as handing it the hash. */
    kvi_sign_config given = config();
    given.payload_hash = body_hash;
    kvi_sign_config hashed = config();
    hashed.sign_body = KVI_PAYLOAD_BODY;
    kvi_sign_result a, b;
    CHECK_INT(kvi_sigv4_sign_headers(signer, &creds, &given, &req, &a, NULL), 0);
    CHECK_INT(kvi_sigv4_sign_headers(signer, &creds, &hashed, &req, &b, NULL), 0);
    CHECK_STR(b.signature, a.signature);
    CHECK_STR(kvi_buf_str(&b.added_headers), kvi_buf_str(&a.added_headers));
    CHECK(strstr(kvi_buf_str(&b.added_headers), "x-amz-content-sha256") == NULL);
    const char *creq = kvi_buf_str(&b.canonical_request);
    CHECK(strlen(creq) > 64 && strcmp(creq + strlen(creq) - 64, body_hash) == 0);
    kvi_sign_result_free(&a);
    kvi_sign_result_free(&b);

    /* KVI_PAYLOAD_BODY_AND_HEADER adds and signs x-amz-content-sha256. */
    kvi_sign_config with_header = config();
    with_header.sign_body = KVI_PAYLOAD_BODY_AND_HEADER;
    CHECK_INT(kvi_sigv4_sign_headers(signer, &creds, &with_header, &req, &a, NULL), 0);
    char line[100];
    snprintf(line, sizeof line, "\nx-amz-content-sha256: %s\n", body_hash);
    CHECK(strstr(kvi_buf_str(&a.added_headers), line) != NULL);
    CHECK(strstr(kvi_buf_str(&a.canonical_request), ";x-amz-content-sha256;x-amz-date\n") != NULL);
    kvi_sign_result_free(&a);

    /* No body: the empty payload's hash, whatever the mode. */
    kvi_sign_request no_body = {"GET", "/", NULL, host_only, 1, NULL, 0};
    CHECK_INT(kvi_sigv4_sign_headers(signer, &creds, &hashed, &no_body, &a, NULL), 0);
    creq = kvi_buf_str(&a.canonical_request);
    CHECK(strlen(creq) > 64 && strcmp(creq + strlen(creq) - 64, EMPTY_SHA256) == 0);
    kvi_sign_result_free(&a);

    kvi_sign_config bad = config();
    bad.sign_body = KVI_PAYLOAD_BODY + 1;
    const char *why = NULL;
    CHECK_INT(kvi_sigv4_sign_headers(signer, &creds, &bad, &no_body, &a, &why), -1);
    CHECK(why && strstr(why, "sign_body"));
}

/* ---- omit_canonical and url_prefix ---- */

static void test_outputs(kvi_signer *signer)
{
    kvi_sign_credentials creds = {AK, SECRET, "FakeSessionToken"};
    kvi_sign_request req = {"GET", "/a b/./c", "X-Amz-TestParam=test-param-value", host_only, 1,
                            NULL, 0};
    kvi_sign_config full = config();
    kvi_sign_config bare = config();
    bare.omit_canonical = 1;
    kvi_sign_result a, b;

    CHECK_INT(kvi_sigv4_sign_headers(signer, &creds, &full, &req, &a, NULL), 0);
    CHECK_INT(kvi_sigv4_sign_headers(signer, &creds, &bare, &req, &b, NULL), 0);
    CHECK_STR(b.signature, a.signature);
    CHECK_STR(kvi_buf_str(&b.added_headers), kvi_buf_str(&a.added_headers));
    CHECK(a.canonical_request.len > 0 && a.string_to_sign.len > 0);
    CHECK_INT(b.canonical_request.len, 0);
    CHECK_INT(b.string_to_sign.len, 0);
    kvi_sign_result_free(&a);
    kvi_sign_result_free(&b);

    /* url_prefix: the prefix, the canonical path, '?' and the query, instead of the query. */
    CHECK_INT(kvi_sigv4_presign(signer, &creds, &full, &req, &a, NULL), 0);
    bare.url_prefix = "wss://example.amazonaws.com";
    CHECK_INT(kvi_sigv4_presign(signer, &creds, &bare, &req, &b, NULL), 0);
    CHECK_STR(b.signature, a.signature);
    char want[2048];
    snprintf(want, sizeof want, "wss://example.amazonaws.com/a%%20b/c?%s", kvi_buf_str(&a.query));
    CHECK_STR(kvi_buf_str(&b.url), want);
    CHECK_INT(b.query.len, 0);
    CHECK_INT(b.canonical_request.len, 0);
    kvi_sign_result_free(&a);
    kvi_sign_result_free(&b);

    /* An unsigned token is added encoded, in the URL as in the query. */
    bare.omit_session_token = 1;
    creds.session_token = SPACED_TOKEN;
    CHECK_INT(kvi_sigv4_presign(signer, &creds, &bare, &req, &b, NULL), 0);
    CHECK(strstr(kvi_buf_str(&b.url),
                 "&X-Amz-Security-Token=tok%2Fen%2Bwith%3Dchars%20and%20%20spaces%09"
                 "&X-Amz-Signature=") != NULL);
    kvi_sign_result_free(&b);
}

/* ---- the token a workspace remembers ---- */

typedef struct step {
    const char *token;
    int presign;
    int omit_token;
} step;

static void sign_step(kvi_signer *signer, const step *s, kvi_sign_result *out)
{
    kvi_sign_credentials creds = {AK, SECRET, s->token};
    kvi_sign_config cfg = config();
    cfg.omit_session_token = s->omit_token;
    kvi_sign_request req = {"GET", "/", "k=v", host_only, 1, NULL, 0};
    int rc = s->presign ? kvi_sigv4_presign(signer, &creds, &cfg, &req, out, NULL)
                        : kvi_sigv4_sign_headers(signer, &creds, &cfg, &req, out, NULL);
    CHECK_INT(rc, 0);
}

/* One signer signs one after the other (one workspace, reused); each result must be what a fresh
 * signer makes. */
static void test_remembered_token(void)
{
    static const step steps[] = {
        {SPACED_TOKEN, 0, 0}, {LONG_TOKEN, 0, 0},   {SPACED_TOKEN, 0, 0}, {SPACED_TOKEN, 1, 0},
        {LONG_TOKEN, 1, 0},   {SPACED_TOKEN, 1, 0}, {LONG_TOKEN, 0, 0},   {LONG_TOKEN, 1, 1},
        {NULL, 1, 0},         {"x", 1, 0},          {"x", 0, 0},          {"x ", 0, 0},
        {SPACED_TOKEN, 0, 0},
    };
    kvi_signer *reused = kvi_signer_new();
    CHECK(reused != NULL);
    for (size_t i = 0; reused && i < sizeof steps / sizeof steps[0]; i++) {
        kvi_signer *fresh = kvi_signer_new();
        kvi_sign_result got, want;
        sign_step(reused, &steps[i], &got);
        sign_step(fresh, &steps[i], &want);
        CHECK_STR(got.signature, want.signature);
        CHECK_STR(kvi_buf_str(&got.canonical_request), kvi_buf_str(&want.canonical_request));
        CHECK_STR(kvi_buf_str(steps[i].presign ? &got.query : &got.added_headers),
                  kvi_buf_str(steps[i].presign ? &want.query : &want.added_headers));
        kvi_sign_result_free(&got);
        kvi_sign_result_free(&want);
        kvi_signer_free(fresh);
    }
    kvi_signer_free(reused);

    /* Header mode signs the token trimmed and folded, and sends it as it is. */
    kvi_signer *signer = kvi_signer_new();
    kvi_sign_result out;
    sign_step(signer, &(step){SPACED_TOKEN, 0, 0}, &out);
    CHECK(strstr(kvi_buf_str(&out.canonical_request),
                 "\nx-amz-security-token:tok/en+with=chars and spaces\n") != NULL);
    CHECK(strstr(kvi_buf_str(&out.added_headers),
                 "\nX-Amz-Security-Token: " SPACED_TOKEN "\n") != NULL);
    kvi_sign_result_free(&out);
    kvi_signer_free(signer);
}

/* ---- the URL split ---- */

static void test_url_split(void)
{
    static const char *const urls[] = {
        "wss://kvs.awsamazon.com/?X-Amz-TestParam=test-param-value",
        "https://example.amazonaws.com",
        "HTTPS://Example.amazonaws.com:443/a/./b/../c//d?x=1&y=a%20b#frag",
        "https://example.amazonaws.com:8443/p?q=%7e~",
        "http://example.amazonaws.com:80/p?q",
        "http://example.amazonaws.com:443/p?",
        "wss://[::1]:443/path with space/\xc3\xa9?k=v",
        "wss://[::1]:9000/?k=v",
        "ht:tp://example.com/",
        "https://example.com/#frag?not-a-query",
        "https://example.com?only=query",
        "wss://[::1/",
        "https://user@example.com/",
        "https://example.com:0/",
        "https://example.com:99999/",
        "https://example.com:/",
        "https://:443/",
        "no-scheme/",
        "://x/",
        "https://exa mple.com/",
        "https://exa\x7fmple.com/",
        "https://example.com/pa th?q= x",
        NULL};
    for (size_t i = 0; urls[i]; i++) {
        kvi_url parsed;
        char *raw_path = NULL, *raw_query = NULL;
        const char *why_parsed = NULL, *why_split = NULL;
        int rc_parsed = kvi_url_parse_request(urls[i], &parsed, &raw_path, &raw_query,
                                              &why_parsed);
        kvi_url_spans spans;
        int rc_split = kvi_url_split_request(urls[i], &spans, &why_split);
        CHECK_INT(rc_split, rc_parsed);
        if (rc_parsed != 0 || rc_split != 0) {
            CHECK_STR(why_split, why_parsed);
            continue;
        }
        char scheme[16] = "";
        for (size_t j = 0; j < spans.scheme_len && j < sizeof scheme - 1; j++)
            scheme[j] = (char)(spans.scheme[j] | 0x20);
        CHECK_STR(scheme, parsed.scheme);
        CHECK_INT(spans.authority_len, strlen(parsed.authority));
        CHECK(strncmp(spans.authority, parsed.authority, spans.authority_len) == 0);
        CHECK_INT(spans.path_len, strlen(raw_path));
        CHECK(strncmp(spans.path, raw_path, spans.path_len) == 0);
        CHECK_INT(spans.query_len, strlen(raw_query));
        CHECK(strncmp(spans.query, raw_query, spans.query_len) == 0);
        free(raw_path);
        free(raw_query);
        kvi_url_free(&parsed);
    }
}

/* ---- packed credentials ---- */

static void test_packed_credentials(void)
{
    kvi_buf storage = KVI_BUF_INIT;
    const char *ak = NULL, *sk = NULL, *token = NULL;
    kvsws_error *err = kvsws_error_new();

    kvi_credential_chain *small = kvi_credential_chain_new(AK, SECRET, "short", NULL);
    kvi_credential_chain *large = kvi_credential_chain_new(AK, SECRET, LONG_TOKEN LONG_TOKEN, NULL);
    kvi_credential_chain *none = kvi_credential_chain_new(AK, SECRET, NULL, NULL);
    /* The same storage, growing and reused. */
    kvi_credential_chain *order[] = {small, large, small, none};
    const char *tokens[] = {"short", LONG_TOKEN LONG_TOKEN, "short", NULL};
    for (size_t i = 0; i < 4; i++) {
        CHECK_INT(kvi_credential_chain_get_packed(order[i], 1000, 300, &storage, &ak, &sk, &token,
                                                  err),
                  KVSWS_OK);
        CHECK_STR(ak, AK);
        CHECK_STR(sk, SECRET);
        if (tokens[i])
            CHECK_STR(token, tokens[i]);
        else
            CHECK(token == NULL);
    }
    CHECK(kvi_credential_chain_get_packed(NULL, 1000, 300, &storage, &ak, &sk, &token, err) !=
          KVSWS_OK);
    kvi_buf_free_secret(&storage);
    kvi_credential_chain_free(small);
    kvi_credential_chain_free(large);
    kvi_credential_chain_free(none);
    kvsws_error_free(err);

    kvi_buf exact = KVI_BUF_INIT;
    CHECK_INT(kvi_buf_reserve_exact(&exact, 100), 0);
    CHECK_INT(exact.cap, 101);
    kvi_buf_free(&exact);
}

/* ---- kvsws_sign_request, whole outputs ---- */

static kvsws_client *client_with(const char *token)
{
    kvsws_error *err = kvsws_error_new();
    kvsws_config *cfg = kvsws_config_new();
    kvsws_config_set_str(cfg, KVSWS_OPT_REGION, "us-west-2", err);
    kvsws_config_set_str(cfg, KVSWS_OPT_ACCESS_KEY_ID, AK, err);
    kvsws_config_set_str(cfg, KVSWS_OPT_SECRET_ACCESS_KEY, SECRET, err);
    kvsws_config_set_str(cfg, KVSWS_OPT_SESSION_TOKEN, token, err);
    kvsws_client *c = NULL;
    CHECK_INT(kvsws_client_new(cfg, &c, err), KVSWS_OK);
    kvsws_config_free(cfg);
    kvsws_error_free(err);
    return c;
}

static void check_signed(kvsws_client *c, const char *url, const char *const *headers,
                         const char *body, int64_t expires, const char *want)
{
    kvsws_error *err = kvsws_error_new();
    char *out = NULL;
    CHECK_INT(kvsws_sign_request(c, "kinesisvideo", body ? "POST" : "GET", url, headers, body,
                                 body ? strlen(body) : 0, expires, WHEN, &out, err),
              KVSWS_OK);
    CHECK_STR(out, want);
    kvsws_string_free(out);
    kvsws_error_free(err);
}

/* Expected outputs made by kvsws_sign_request before it split URLs in place and packed the
 * credentials (commit 08d27c7). */
static void test_sign_request(void)
{
    static const char *const multi[] = {"host: other.example.com", "X-Multi: a",
                                        "x-multi:  b   c ", NULL};
    static const char body[] = "{\"a\":1}";

    kvsws_client *c = client_with("FakeSessionToken");
    check_signed(c, "wss://kvs.awsamazon.com/?X-Amz-TestParam=test-param-value", NULL, NULL, 299,
                 "wss://kvs.awsamazon.com/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="
                 "AKIA4F7WJQR7FMMWMNXI%2F20191201%2Fus-west-2%2Fkinesisvideo%2Faws4_request&"
                 "X-Amz-Date=20191201T000000Z&X-Amz-Expires=299&X-Amz-Security-Token="
                 "FakeSessionToken&X-Amz-SignedHeaders=host&X-Amz-TestParam=test-param-value&"
                 "X-Amz-Signature=fc268038be276315822b4f73eafd28ee3a5632a2a35fdb0a88db9a42b13d6c92");
    kvsws_client_free(c);

    c = client_with(SPACED_TOKEN);
    check_signed(c, "HTTPS://Example.amazonaws.com:443/a/./b/../c//d?x=1&y=a%20b&z=a+b&w&&v=#frag",
                 multi, body, 299,
                 "https://Example.amazonaws.com/a/c/d?X-Amz-Algorithm=AWS4-HMAC-SHA256&"
                 "X-Amz-Credential=AKIA4F7WJQR7FMMWMNXI%2F20191201%2Fus-west-2%2Fkinesisvideo%2F"
                 "aws4_request&X-Amz-Date=20191201T000000Z&X-Amz-Expires=299&X-Amz-Security-Token="
                 "tok%2Fen%2Bwith%3Dchars%20and%20%20spaces%09&X-Amz-SignedHeaders=host%3Bx-multi&"
                 "v=&w=&x=1&y=a%20b&z=a%20b&X-Amz-Signature="
                 "7b07490048e6c71e4bb7bc09ab189443ef615960f01ace75e97b2f049b3d7d50");
    check_signed(c, "wss://[::1]:443/path with space/\xc3\xa9?k=v", NULL, NULL, 299,
                 "wss://[::1]/path%20with%20space/%C3%A9?X-Amz-Algorithm=AWS4-HMAC-SHA256&"
                 "X-Amz-Credential=AKIA4F7WJQR7FMMWMNXI%2F20191201%2Fus-west-2%2Fkinesisvideo%2F"
                 "aws4_request&X-Amz-Date=20191201T000000Z&X-Amz-Expires=299&X-Amz-Security-Token="
                 "tok%2Fen%2Bwith%3Dchars%20and%20%20spaces%09&X-Amz-SignedHeaders=host&k=v&"
                 "X-Amz-Signature=9e36018ca4fd7154ee96b0fa67fcfd9cc6884f9ddb02a04afc92f5ea911c11d7");
    check_signed(c, "HTTPS://Example.amazonaws.com:443/a/./b/../c//d?x=1&y=a%20b&z=a+b&w&&v=#frag",
                 multi, body, 0,
                 "X-Amz-Date: 20191201T000000Z\n"
                 "X-Amz-Security-Token: " SPACED_TOKEN "\n"
                 "Authorization: AWS4-HMAC-SHA256 Credential=AKIA4F7WJQR7FMMWMNXI/20191201/"
                 "us-west-2/kinesisvideo/aws4_request, SignedHeaders=host;x-amz-date;"
                 "x-amz-security-token;x-multi, Signature="
                 "a01e77ba6a87286c782724d21a7f13ae96874e6a6b50b13b10007fd1e75848d7");
    kvsws_client_free(c);

    c = client_with(LONG_TOKEN);
    check_signed(c, "HTTPS://Example.amazonaws.com:443/a/./b/../c//d?x=1&y=a%20b&z=a+b&w&&v=#frag",
                 multi, body, 0,
                 "X-Amz-Date: 20191201T000000Z\n"
                 "X-Amz-Security-Token: " LONG_TOKEN "\n"
                 "Authorization: AWS4-HMAC-SHA256 Credential=AKIA4F7WJQR7FMMWMNXI/20191201/"
                 "us-west-2/kinesisvideo/aws4_request, SignedHeaders=host;x-amz-date;"
                 "x-amz-security-token;x-multi, Signature="
                 "dbac8b2062745bbe4ac8da7e00e67fd546b023f81e79945896d137e7502041fe");
    kvsws_client_free(c);
}

int main(void)
{
    kvi_signer *signer = kvi_signer_new();
    CHECK(signer != NULL);
    if (!signer)
        return CHECK_DONE();
    test_payload_modes(signer);
    test_outputs(signer);
    kvi_signer_free(signer);
    test_remembered_token();
    test_url_split();
    test_packed_credentials();
    test_sign_request();
    return CHECK_DONE();
}
