/* SPDX-License-Identifier: Apache-2.0 */
/* test_sigv4.c - the SigV4 signer against the AWS test suite, botocore-derived cases, the KVS
 * WebRTC presigned-URL vector, the key cache and concurrent use. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "aws/sigv4.h"

#ifndef KVSWS_TEST_VECTORS
#error "KVSWS_TEST_VECTORS must name the sigv4 vectors directory"
#endif

#define SUITE_CASES 38
#define SUITE_TIME 1440938160 /* 2015-08-30T12:36:00Z */
#define SUITE_AK "AKIDEXAMPLE"
#define SUITE_SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

/* ---- small helpers ---- */

static char *read_whole_file(const char *dir, const char *name, size_t *len_out)
{
    char path[1024];
    int path_len = snprintf(path, sizeof path, "%s/%s", dir, name);
    if (path_len < 0 || (size_t)path_len >= sizeof path)
        return NULL; /* a cut path would open some other file */
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    kvi_buf b = KVI_BUF_INIT;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        kvi_buf_append(&b, chunk, n);
    fclose(f);
    if (len_out)
        *len_out = b.len;
    return kvi_buf_detach(&b);
}

static char *dup_span(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Splits s on sep into a malloc'd array of malloc'd strings. */
static char **split(const char *s, char sep, size_t *count)
{
    size_t cap = 8, n = 0;
    char **parts = malloc(cap * sizeof *parts);
    for (const char *p = s;;) {
        const char *end = strchr(p, sep);
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (n == cap)
            parts = realloc(parts, (cap *= 2) * sizeof *parts);
        parts[n++] = dup_span(p, len);
        if (!end)
            break;
        p = end + 1;
    }
    *count = n;
    return parts;
}

static void free_strings(char **parts, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(parts[i]);
    free(parts);
}

/* Compares two lists as sets (sorted, then element by element). */
static int same_string_sets(char **a, size_t a_n, char **b, size_t b_n)
{
    if (a_n != b_n)
        return 0;
    qsort(a, a_n, sizeof *a, compare_strings);
    qsort(b, b_n, sizeof *b, compare_strings);
    for (size_t i = 0; i < a_n; i++)
        if (strcmp(a[i], b[i]) != 0)
            return 0;
    return 1;
}

static void percent_decode_in_place(char *s)
{
    char *out = s;
    for (char *p = s; *p; p++) {
        unsigned int byte;
        if (p[0] == '%' && p[1] && p[2] && sscanf(p + 1, "%2x", &byte) == 1) {
            *out++ = (char)byte;
            p += 2;
        } else {
            *out++ = *p;
        }
    }
    *out = '\0';
}

/* ---- the suite's request.txt ---- */

typedef struct parsed_request {
    char *method, *path, *query;
    kvi_header headers[32];
    size_t header_count;
    char **raw_header_lines; /* as they appear, for comparing with the signed request */
    size_t raw_header_line_count;
    char *body;
    size_t body_len;
    char *file;
} parsed_request;

/* Header lines of an HTTP message as written: from the second line up to a blank line or EOF. */
static char **header_lines(const char *text, size_t *count, const char **after)
{
    size_t cap = 16, n = 0;
    char **lines = malloc(cap * sizeof *lines);
    const char *p = strchr(text, '\n');
    p = p ? p + 1 : text + strlen(text);
    while (*p && *p != '\n') {
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (n == cap)
            lines = realloc(lines, (cap *= 2) * sizeof *lines);
        lines[n++] = dup_span(p, len);
        p = end ? end + 1 : p + len;
    }
    *count = n;
    if (after)
        *after = *p == '\n' ? p + 1 : p;
    return lines;
}

static int parse_request(const char *dir, parsed_request *r)
{
    memset(r, 0, sizeof *r);
    size_t len;
    r->file = read_whole_file(dir, "request.txt", &len);
    if (!r->file)
        return -1;
    const char *line_end = strchr(r->file, '\n');
    char *request_line = dup_span(r->file, line_end ? (size_t)(line_end - r->file) : len);
    char *sp1 = strchr(request_line, ' '), *sp2 = strrchr(request_line, ' ');
    if (!sp1 || sp2 == sp1) {
        free(request_line);
        return -1;
    }
    r->method = dup_span(request_line, (size_t)(sp1 - request_line));
    char *target = dup_span(sp1 + 1, (size_t)(sp2 - sp1 - 1));
    free(request_line);
    char *question = strchr(target, '?');
    r->path = dup_span(target, question ? (size_t)(question - target) : strlen(target));
    r->query = question ? strdup(question + 1) : strdup("");
    free(target);

    const char *body;
    r->raw_header_lines = header_lines(r->file, &r->raw_header_line_count, &body);
    for (size_t i = 0; i < r->raw_header_line_count; i++) {
        const char *line = r->raw_header_lines[i];
        if ((line[0] == ' ' || line[0] == '\t') && r->header_count > 0) {
            /* A folded line: hand the signer the newline too, it must fold it. */
            kvi_header *last = &r->headers[r->header_count - 1];
            size_t old = strlen(last->value), add = strlen(line);
            char *joined = malloc(old + 1 + add + 1);
            memcpy(joined, last->value, old);
            joined[old] = '\n';
            memcpy(joined + old + 1, line, add + 1);
            free((char *)last->value);
            last->value = joined;
            continue;
        }
        const char *colon = strchr(line, ':');
        if (!colon || r->header_count == 32)
            return -1;
        r->headers[r->header_count].name = dup_span(line, (size_t)(colon - line));
        r->headers[r->header_count].value = strdup(colon + 1);
        r->header_count++;
    }
    r->body_len = len - (size_t)(body - r->file);
    r->body = dup_span(body, r->body_len);
    return 0;
}

static void free_request(parsed_request *r)
{
    free(r->method);
    free(r->path);
    free(r->query);
    for (size_t i = 0; i < r->header_count; i++) {
        free((char *)r->headers[i].name);
        free((char *)r->headers[i].value);
    }
    free_strings(r->raw_header_lines, r->raw_header_line_count);
    free(r->body);
    free(r->file);
}

/* ---- the suite's context.json ---- */

typedef struct parsed_context {
    cJSON *json;
    kvi_sign_credentials creds;
    kvi_sign_config cfg;
} parsed_context;

static int json_flag(const cJSON *obj, const char *name)
{
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(obj, name));
}

static const char *json_string(const cJSON *obj, const char *name)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsString(item) ? item->valuestring : NULL;
}

static int parse_context(const char *dir, parsed_context *c)
{
    memset(c, 0, sizeof *c);
    char *text = read_whole_file(dir, "context.json", NULL);
    c->json = text ? cJSON_Parse(text) : NULL;
    free(text);
    if (!c->json)
        return -1;
    const cJSON *creds = cJSON_GetObjectItemCaseSensitive(c->json, "credentials");
    c->creds.access_key_id = json_string(creds, "access_key_id");
    c->creds.secret_access_key = json_string(creds, "secret_access_key");
    c->creds.session_token = json_string(creds, "token");
    c->cfg.region = json_string(c->json, "region");
    c->cfg.service = json_string(c->json, "service");
    c->cfg.normalize_path = json_flag(c->json, "normalize");
    c->cfg.sign_body = json_flag(c->json, "sign_body");
    c->cfg.omit_session_token = json_flag(c->json, "omit_session_token");
    const cJSON *expires = cJSON_GetObjectItemCaseSensitive(c->json, "expiration_in_seconds");
    c->cfg.expires = cJSON_IsNumber(expires) ? (int64_t)expires->valuedouble : 0;
    const char *when = json_string(c->json, "timestamp");
    struct tm tm = {0};
    if (!when || sscanf(when, "%d-%d-%dT%d:%d:%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                        &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    c->cfg.timestamp = timegm(&tm);
    return 0;
}

/* ---- suite checks ---- */

/* The header lines the signer added must be exactly those the signed request has beyond the
 * unsigned one (compared as sets of "Name:value" lines). */
static int added_headers_match(const char *dir, const parsed_request *r, const char *added)
{
    char *signed_text = read_whole_file(dir, "header-signed-request.txt", NULL);
    if (!signed_text)
        return 0;
    size_t signed_n;
    char **signed_lines = header_lines(signed_text, &signed_n, NULL);
    free(signed_text);

    /* Remove one copy of each original line; what remains is what signing added. */
    size_t extra_n = 0;
    char **extra = calloc(signed_n + 1, sizeof *extra);
    int *used = calloc(r->raw_header_line_count + 1, sizeof *used);
    for (size_t i = 0; i < signed_n; i++) {
        int original = 0;
        for (size_t j = 0; j < r->raw_header_line_count && !original; j++)
            if (!used[j] && strcmp(signed_lines[i], r->raw_header_lines[j]) == 0)
                original = used[j] = 1;
        if (!original)
            extra[extra_n++] = strdup(signed_lines[i]);
    }
    free(used);
    free_strings(signed_lines, signed_n);

    size_t ours_n;
    char **ours = split(added, '\n', &ours_n);
    for (size_t i = 0; i < ours_n; i++) {
        /* Ours are "Name: value"; the suite writes "Name:value". */
        char *colon = strstr(ours[i], ": ");
        if (colon)
            memmove(colon + 1, colon + 2, strlen(colon + 2) + 1);
    }
    int same = same_string_sets(ours, ours_n, extra, extra_n);
    free_strings(ours, ours_n);
    free_strings(extra, extra_n);
    return same;
}

/* Our presigned query and the suite's must hold the same parameters once percent-decoded (the
 * suite leaves the original parameters raw, we encode them). */
static int presigned_query_matches(const char *dir, const char *ours)
{
    char *signed_text = read_whole_file(dir, "query-signed-request.txt", NULL);
    if (!signed_text)
        return 0;
    char *question = strchr(signed_text, '?');
    char *space = question ? strchr(question, ' ') : NULL;
    if (!space) {
        free(signed_text);
        return 0;
    }
    *space = '\0';
    size_t theirs_n, ours_n;
    char **theirs = split(question + 1, '&', &theirs_n);
    char **mine = split(ours, '&', &ours_n);
    free(signed_text);
    for (size_t i = 0; i < theirs_n; i++)
        percent_decode_in_place(theirs[i]);
    for (size_t i = 0; i < ours_n; i++)
        percent_decode_in_place(mine[i]);
    int same = same_string_sets(mine, ours_n, theirs, theirs_n);
    free_strings(theirs, theirs_n);
    free_strings(mine, ours_n);
    return same;
}

static int compare_with_file(const char *dir, const char *name, const char *got,
                             const char *case_name)
{
    char *want = read_whole_file(dir, name, NULL);
    int same = want && got && strcmp(want, got) == 0;
    if (!same)
        fprintf(stderr, "%s/%s differs:\n--- got\n%s\n--- want\n%s\n", case_name, name,
                got ? got : "(null)", want ? want : "(missing)");
    free(want);
    return same;
}

static void test_suite(kvi_signer *signer)
{
    DIR *dir = opendir(KVSWS_TEST_VECTORS);
    CHECK(dir != NULL);
    if (!dir)
        return;
    int cases = 0, signatures_matched = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        char case_dir[1024];
        snprintf(case_dir, sizeof case_dir, "%s/%s", KVSWS_TEST_VECTORS, entry->d_name);
        char *context_probe = read_whole_file(case_dir, "context.json", NULL);
        if (entry->d_name[0] == '.' || !context_probe) {
            free(context_probe);
            continue;
        }
        free(context_probe);
        cases++;

        parsed_request r;
        parsed_context c;
        int parsed = parse_request(case_dir, &r) == 0;
        parsed = parse_context(case_dir, &c) == 0 && parsed;
        CHECK(parsed);
        if (parsed) {
            kvi_sign_request req = {r.method, r.path, r.query, r.headers, r.header_count,
                                    r.body, r.body_len};
            const char *name = entry->d_name;
            for (int presign = 0; presign <= 1; presign++) {
                const char *mode = presign ? "query" : "header";
                kvi_sign_result out;
                const char *err = NULL;
                int rc = presign ? kvi_sigv4_presign(signer, &c.creds, &c.cfg, &req, &out, &err)
                                 : kvi_sigv4_sign_headers(signer, &c.creds, &c.cfg, &req, &out,
                                                          &err);
                if (rc != 0)
                    fprintf(stderr, "%s (%s): %s\n", name, mode, err);
                CHECK_INT(rc, 0);
                char file[64];
                snprintf(file, sizeof file, "%s-canonical-request.txt", mode);
                CHECK(compare_with_file(case_dir, file, kvi_buf_str(&out.canonical_request),
                                        name));
                snprintf(file, sizeof file, "%s-string-to-sign.txt", mode);
                CHECK(compare_with_file(case_dir, file, kvi_buf_str(&out.string_to_sign), name));
                snprintf(file, sizeof file, "%s-signature.txt", mode);
                int sig_ok = compare_with_file(case_dir, file, out.signature, name);
                CHECK(sig_ok);
                signatures_matched += sig_ok;
                if (presign) {
                    CHECK(presigned_query_matches(case_dir, kvi_buf_str(&out.query)));
                } else {
                    CHECK(added_headers_match(case_dir, &r, kvi_buf_str(&out.added_headers)));
                }
                kvi_sign_result_free(&out);
            }
        }
        free_request(&r);
        cJSON_Delete(c.json);
    }
    closedir(dir);
    CHECK_INT(cases, SUITE_CASES);
    CHECK_INT(signatures_matched, 2 * SUITE_CASES);
}

/* ---- own cases: expected values computed with botocore 1.43 ---- */

typedef struct own_case {
    const char *label;
    const char *path;
    const char *query;
    const char *token;
    int presign;
    const char *canonical_query; /* line 3 of the canonical request */
    const char *canonical_path;  /* line 2 */
    const char *signature;
} own_case;

/* All GET, Host example.amazonaws.com, empty body, the suite's key, time and scope, normalize on.
 * Header mode came from botocore SigV4Auth (query given as decoded params, since we decode the raw
 * query); query mode from botocore SigV4QueryAuth with the raw query in the URL (its parse_qs
 * decodes '+' to a space as we do). */
static const own_case own_cases[] = {
    {"empty value and bare key", "/", "a=&b&c=1", NULL, 0, "a=&b=&c=1", "/",
     "e59259ab43b7aed0457e32b95696efd099b2a289f7cadaa4fdeeddea73f4575f"},
    {"literal plus", "/", "q=a+b&r=%2B", NULL, 0, "q=a%20b&r=%2B", "/",
     "53da8c0d83cb3430ca14e986a69388a58250eb275f061bfa5827833c465a12b6"},
    {"reserved characters", "/foo$bar!baz*(x):y@z", "k$=v!*&p(=:@", NULL, 0,
     "k%24=v%21%2A&p%28=%3A%40", "/foo%24bar%21baz%2A%28x%29%3Ay%40z",
     "69bd0daac81bd2e890a6654304a3d8f9a026bd7222e5c09be90fcba6f200c48e"},
    {"duplicate keys sorted by value", "/", "k=b&k=a&k=c&j=z", NULL, 0, "j=z&k=a&k=b&k=c", "/",
     "fe2cb5703445453d78166027985b99f25c76076c456239e046e2c915f6cc6f44"},
    {"escaped slash in path", "/a%2Fb/c", "", NULL, 0, "", "/a%252Fb/c",
     "006eff3d53d3fa15e6340e61e016213e7f99291f4bf407e953a1b0ec30bae5da"},
    {"token with / + =", "/", "", "tok/en+with=chars", 0, "", "/",
     "6e61558e1ffd3cdad8647ecf8eebf917a207ded87a558260759ce4860e4bc95f"},
    {"presign: empty value and bare key", "/", "a=&b&c=1", NULL, 1,
     "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2F"
     "service%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=3600&"
     "X-Amz-SignedHeaders=host&a=&b=&c=1",
     "/", "2938ce6268968cad71edef86bc6cdb71b9d63ece1cd8a4370602b8360d93f6a1"},
    {"presign: literal plus", "/", "q=a+b&r=%2B", NULL, 1,
     "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2F"
     "service%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=3600&"
     "X-Amz-SignedHeaders=host&q=a%20b&r=%2B",
     "/", "d9054fc39f11926890ed1c0edad48b01d7615e295f4256051b8b620c6b7df781"},
    {"presign: reserved characters", "/foo$bar!baz*(x):y@z", "k$=v!*&p(=:@", NULL, 1,
     "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2F"
     "service%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=3600&"
     "X-Amz-SignedHeaders=host&k%24=v%21%2A&p%28=%3A%40",
     "/foo%24bar%21baz%2A%28x%29%3Ay%40z",
     "f88eac9825b11a4a2ce6fad6d8724632aa57e7b89dfe349eca80c1f7e1425e91"},
    {"presign: escaped slash in path", "/a%2Fb/c", "", NULL, 1,
     "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2F"
     "service%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=3600&"
     "X-Amz-SignedHeaders=host",
     "/a%252Fb/c", "54250ed8e4b842dea126b2bf6a9425a621040a8ecb52bee7f5569c5e297f545a"},
    {"presign: token with / + =", "/", "", "tok/en+with=chars", 1,
     "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2F"
     "service%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=3600&"
     "X-Amz-Security-Token=tok%2Fen%2Bwith%3Dchars&X-Amz-SignedHeaders=host",
     "/", "882c0c5ea7bacce87550545710b5018251d5288f56c3ba8d373d590716674597"},
};

static const kvi_header suite_host[] = {{"Host", "example.amazonaws.com"}};

static kvi_sign_config suite_config(void)
{
    kvi_sign_config cfg = {.region = "us-east-1", .service = "service", .timestamp = SUITE_TIME,
                           .normalize_path = 1, .expires = 3600};
    return cfg;
}

/* Line n (0-based) of a canonical request, or "" past its end. */
static char *nth_line(const char *text, int n)
{
    for (; n > 0 && text; n--) {
        text = strchr(text, '\n');
        if (text)
            text++;
    }
    if (!text)
        return strdup("");
    const char *end = strchr(text, '\n');
    return dup_span(text, end ? (size_t)(end - text) : strlen(text));
}

static void test_own_cases(kvi_signer *signer)
{
    for (size_t i = 0; i < sizeof own_cases / sizeof own_cases[0]; i++) {
        const own_case *t = &own_cases[i];
        kvi_sign_credentials creds = {SUITE_AK, SUITE_SECRET, t->token};
        kvi_sign_config cfg = suite_config();
        kvi_sign_request req = {"GET", t->path, t->query, suite_host, 1, NULL, 0};
        kvi_sign_result out;
        const char *err = NULL;
        int rc = t->presign ? kvi_sigv4_presign(signer, &creds, &cfg, &req, &out, &err)
                            : kvi_sigv4_sign_headers(signer, &creds, &cfg, &req, &out, &err);
        if (rc != 0)
            fprintf(stderr, "%s: %s\n", t->label, err);
        CHECK_INT(rc, 0);
        char *path = nth_line(kvi_buf_str(&out.canonical_request), 1);
        char *query = nth_line(kvi_buf_str(&out.canonical_request), 2);
        CHECK_STR(path, t->canonical_path);
        CHECK_STR(query, t->canonical_query);
        CHECK_STR(out.signature, t->signature);
        if (t->presign) {
            /* What goes on the wire is the canonical query plus the signature. */
            char want[2048];
            snprintf(want, sizeof want, "%s&X-Amz-Signature=%s", t->canonical_query,
                     t->signature);
            CHECK_STR(kvi_buf_str(&out.query), want);
        }
        free(path);
        free(query);
        kvi_sign_result_free(&out);
    }

    /* The token goes out raw in header mode (it is a header value). */
    kvi_sign_credentials creds = {SUITE_AK, SUITE_SECRET, "tok/en+with=chars"};
    kvi_sign_config cfg = suite_config();
    kvi_sign_request req = {"GET", "/", NULL, suite_host, 1, NULL, 0};
    kvi_sign_result out;
    CHECK_INT(kvi_sigv4_sign_headers(signer, &creds, &cfg, &req, &out, NULL), 0);
    CHECK(strstr(kvi_buf_str(&out.added_headers), "\nX-Amz-Security-Token: tok/en+with=chars\n") !=
          NULL);
    kvi_sign_result_free(&out);
}

static void test_helpers(void)
{
    kvi_buf b = KVI_BUF_INIT;
    CHECK_INT(kvi_uri_encode(&b, "a b/c~%", 7, 1), 0);
    CHECK_STR(kvi_buf_str(&b), "a%20b/c~%25");
    kvi_buf_reset(&b);
    CHECK_INT(kvi_uri_encode(&b, "a b/c=+", 7, 0), 0);
    CHECK_STR(kvi_buf_str(&b), "a%20b%2Fc%3D%2B");
    kvi_buf_reset(&b);
    CHECK_INT(kvi_uri_encode(&b, "\xe1\x88\xb4", 3, 0), 0);
    CHECK_STR(kvi_buf_str(&b), "%E1%88%B4");
    kvi_buf_free(&b);

    char hex[65];
    kvi_sha256_hex("", 0, hex);
    CHECK_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    kvi_sha256_hex("abc", 3, hex);
    CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

/* Path normalization beyond the suite: the expected canonical paths follow botocore's
 * remove_dot_segments and aws-c-auth's s_append_normalized_path. */
static void test_paths(kvi_signer *signer)
{
    static const struct {
        const char *raw;
        int normalize;
        const char *canonical;
    } paths[] = {
        {"", 1, "/"},
        {"", 0, "/"},
        {"/a/./b/../../c/", 1, "/c/"},
        {"/../..", 1, "/"},
        {"/a//b///", 1, "/a/b/"},
        {"/a//b///", 0, "/a//b///"},
        {"/100%", 1, "/100%25"},
        {"/a b/\xe1\x88\xb4", 1, "/a%20b/%E1%88%B4"},
    };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        kvi_sign_credentials creds = {SUITE_AK, SUITE_SECRET, NULL};
        kvi_sign_config cfg = suite_config();
        cfg.normalize_path = paths[i].normalize;
        kvi_sign_request req = {"GET", paths[i].raw, NULL, suite_host, 1, NULL, 0};
        kvi_sign_result out;
        CHECK_INT(kvi_sigv4_sign_headers(signer, &creds, &cfg, &req, &out, NULL), 0);
        char *path = nth_line(kvi_buf_str(&out.canonical_request), 1);
        CHECK_STR(path, paths[i].canonical);
        free(path);
        kvi_sign_result_free(&out);
    }
}

/* ---- the KVS WebRTC presigned WSS URL ---- */

/* From the KVS WebRTC SDKs' SigV4RequestSigner tests (JS and Go). */
#define WSS_TIME 1575158400 /* 2019-12-01T00:00:00Z */
#define WSS_SIG_WITH_TOKEN "fc268038be276315822b4f73eafd28ee3a5632a2a35fdb0a88db9a42b13d6c92"
#define WSS_SIG_NO_TOKEN "be1e78950d956a8a9a1997417099ddbd7455619f3d08c4ad20e1e272179ca695"

static void presign_wss(kvi_signer *signer, const char *token, int omit_token, const char *path,
                        kvi_sign_result *out)
{
    static const kvi_header host[] = {{"Host", "kvs.awsamazon.com"}};
    kvi_sign_credentials creds = {"AKIA4F7WJQR7FMMWMNXI", "FakeSecretKey", token};
    kvi_sign_config cfg = {.region = "us-west-2", .service = "kinesisvideo",
                           .timestamp = WSS_TIME, .normalize_path = 1, .expires = 299,
                           .omit_session_token = omit_token};
    kvi_sign_request req = {"GET", path, "X-Amz-TestParam=test-param-value", host, 1, NULL, 0};
    const char *err = NULL;
    if (kvi_sigv4_presign(signer, &creds, &cfg, &req, out, &err) != 0)
        fprintf(stderr, "wss presign: %s\n", err);
}

static void test_wss_vector(kvi_signer *signer)
{
    kvi_sign_result out;
    presign_wss(signer, "FakeSessionToken", 0, "/", &out);
    CHECK_STR(out.signature, WSS_SIG_WITH_TOKEN);
    /* The SDKs' expected URL, parameters in the same (sorted) order. */
    CHECK_STR(kvi_buf_str(&out.query),
              "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA4F7WJQR7FMMWMNXI%2F20191201%2F"
              "us-west-2%2Fkinesisvideo%2Faws4_request&X-Amz-Date=20191201T000000Z&X-Amz-Expires="
              "299&X-Amz-Security-Token=FakeSessionToken&X-Amz-SignedHeaders=host&X-Amz-TestParam="
              "test-param-value&X-Amz-Signature=" WSS_SIG_WITH_TOKEN);
    kvi_sign_result_free(&out);

    /* wss://kvs.awsamazon.com has an empty path, which signs as "/". */
    presign_wss(signer, "FakeSessionToken", 0, "", &out);
    CHECK_STR(out.signature, WSS_SIG_WITH_TOKEN);
    kvi_sign_result_free(&out);

    presign_wss(signer, NULL, 0, "/", &out);
    CHECK_STR(out.signature, WSS_SIG_NO_TOKEN);
    kvi_sign_result_free(&out);

    /* A token added after signing leaves the signature as if there were none. */
    presign_wss(signer, "FakeSessionToken", 1, "/", &out);
    CHECK_STR(out.signature, WSS_SIG_NO_TOKEN);
    CHECK(strstr(kvi_buf_str(&out.query), "&X-Amz-Security-Token=FakeSessionToken&") != NULL);
    kvi_sign_result_free(&out);
}

/* ---- validation ---- */

static void test_validation(kvi_signer *signer)
{
    kvi_sign_credentials creds = {SUITE_AK, SUITE_SECRET, NULL};
    kvi_sign_config cfg = suite_config();
    kvi_sign_result out;
    const char *err = NULL;

    static const kvi_header no_host[] = {{"Content-Type", "application/json"}};
    kvi_sign_request req = {"GET", "/", NULL, no_host, 1, NULL, 0};
    CHECK_INT(kvi_sigv4_sign_headers(signer, &creds, &cfg, &req, &out, &err), -1);
    CHECK(err != NULL && strstr(err, "Host") != NULL);
    err = NULL;
    CHECK_INT(kvi_sigv4_presign(signer, &creds, &cfg, &req, &out, &err), -1);
    CHECK(err != NULL);

    req.headers = suite_host;
    int64_t bad_expires[] = {0, -1, 604801};
    for (size_t i = 0; i < sizeof bad_expires / sizeof bad_expires[0]; i++) {
        cfg.expires = bad_expires[i];
        err = NULL;
        CHECK_INT(kvi_sigv4_presign(signer, &creds, &cfg, &req, &out, &err), -1);
        CHECK(err != NULL);
    }
    int64_t good_expires[] = {1, 604800};
    for (size_t i = 0; i < sizeof good_expires / sizeof good_expires[0]; i++) {
        cfg.expires = good_expires[i];
        CHECK_INT(kvi_sigv4_presign(signer, &creds, &cfg, &req, &out, NULL), 0);
        kvi_sign_result_free(&out);
    }
    cfg.expires = 3600;

    /* A query that already carries a signing parameter would be signed twice. */
    req.query = "x-amz-signature=abc";
    CHECK_INT(kvi_sigv4_presign(signer, &creds, &cfg, &req, &out, &err), -1);
    req.query = "a=%zz";
    CHECK_INT(kvi_sigv4_sign_headers(signer, &creds, &cfg, &req, &out, &err), -1);
    req.query = NULL;

    static const kvi_header dated[] = {{"Host", "example.amazonaws.com"},
                                       {"X-Amz-Date", "20150830T123600Z"}};
    req.headers = dated;
    req.header_count = 2;
    CHECK_INT(kvi_sigv4_sign_headers(signer, &creds, &cfg, &req, &out, &err), -1);
    req.headers = suite_host;
    req.header_count = 1;

    kvi_sign_credentials no_secret = {SUITE_AK, "", NULL};
    CHECK_INT(kvi_sigv4_sign_headers(signer, &no_secret, &cfg, &req, &out, &err), -1);
}

/* ---- key cache ---- */

static void sign_with_secret(kvi_signer *signer, const char *secret, time_t when, char sig[65])
{
    kvi_sign_credentials creds = {SUITE_AK, secret, NULL};
    kvi_sign_config cfg = suite_config();
    cfg.timestamp = when;
    kvi_sign_request req = {"GET", "/", NULL, suite_host, 1, NULL, 0};
    kvi_sign_result out;
    sig[0] = '\0';
    if (kvi_sigv4_sign_headers(signer, &creds, &cfg, &req, &out, NULL) == 0)
        memcpy(sig, out.signature, 65);
    kvi_sign_result_free(&out);
}

static void test_key_cache(kvi_signer *signer)
{
    char first[65], second[65], again[65], next_day[65];
    sign_with_secret(signer, SUITE_SECRET, SUITE_TIME, first);
    sign_with_secret(signer, "another-secret-for-the-same-access-key", SUITE_TIME, second);
    sign_with_secret(signer, SUITE_SECRET, SUITE_TIME, again);
    CHECK(strcmp(first, second) != 0);
    CHECK_STR(first, again);
    /* get-vanilla's header signature. */
    CHECK_STR(first, "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");

    /* More scopes than slots: evictions must not mix keys up. */
    for (int day = 0; day < 20; day++)
        sign_with_secret(signer, SUITE_SECRET, SUITE_TIME + day * 86400, next_day);
    sign_with_secret(signer, SUITE_SECRET, SUITE_TIME, again);
    CHECK_STR(first, again);

    /* A fresh signer (empty cache) agrees with a warm one. */
    kvi_signer *fresh = kvi_signer_new();
    CHECK(fresh != NULL);
    sign_with_secret(fresh, "another-secret-for-the-same-access-key", SUITE_TIME, again);
    CHECK_STR(second, again);
    kvi_signer_free(fresh);

    /* A secret too long to cache is derived each time and still right. */
    char long_secret[300];
    memset(long_secret, 'k', sizeof long_secret - 1);
    long_secret[sizeof long_secret - 1] = '\0';
    sign_with_secret(signer, long_secret, SUITE_TIME, first);
    sign_with_secret(signer, long_secret, SUITE_TIME, again);
    CHECK(first[0] != '\0');
    CHECK_STR(first, again);
}

/* ---- threads ---- */

#define THREADS 4
#define SIGNATURES_PER_THREAD 2000

typedef struct thread_job {
    kvi_signer *signer;
    const char *secrets[2];
    char expected[2][2][65]; /* [secret][day] */
    int correct;
} thread_job;

static void *sign_many(void *arg)
{
    thread_job *job = arg;
    for (int i = 0; i < SIGNATURES_PER_THREAD; i++) {
        int secret = i & 1, day = (i >> 1) & 1;
        char sig[65];
        sign_with_secret(job->signer, job->secrets[secret], SUITE_TIME + day * 86400, sig);
        job->correct += strcmp(sig, job->expected[secret][day]) == 0;
    }
    return NULL;
}

static void test_threads(kvi_signer *signer)
{
    thread_job jobs[THREADS];
    pthread_t threads[THREADS];
    for (int t = 0; t < THREADS; t++) {
        jobs[t].signer = signer;
        /* Each thread has a secret of its own and one shared with all. */
        jobs[t].secrets[0] = SUITE_SECRET;
        jobs[t].secrets[1] = (const char *[]){"secret-0", "secret-1", "secret-2", "secret-3"}[t];
        jobs[t].correct = 0;
        /* Expected values from a separate signer, so the shared cache is not yet involved. */
        kvi_signer *reference = kvi_signer_new();
        for (int s = 0; s < 2; s++)
            for (int d = 0; d < 2; d++)
                sign_with_secret(reference, jobs[t].secrets[s], SUITE_TIME + d * 86400,
                                 jobs[t].expected[s][d]);
        kvi_signer_free(reference);
    }
    for (int t = 0; t < THREADS; t++)
        CHECK_INT(pthread_create(&threads[t], NULL, sign_many, &jobs[t]), 0);
    int correct = 0;
    for (int t = 0; t < THREADS; t++) {
        pthread_join(threads[t], NULL);
        correct += jobs[t].correct;
    }
    CHECK_INT(correct, THREADS * SIGNATURES_PER_THREAD);
}

int main(void)
{
    kvi_signer *signer = kvi_signer_new();
    CHECK(signer != NULL);
    if (!signer)
        return CHECK_DONE();
    test_helpers();
    test_suite(signer);
    test_own_cases(signer);
    test_paths(signer);
    test_wss_vector(signer);
    test_validation(signer);
    test_key_cache(signer);
    test_threads(signer);
    kvi_signer_free(signer);
    return CHECK_DONE();
}
