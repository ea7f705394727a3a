/* SPDX-License-Identifier: Apache-2.0 */
/* sign.c - `kvsws sign`: signs an arbitrary request, for debugging SignatureDoesNotMatch. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sign.h"
#include "args.h"
#include "aws/sigv4.h"
#include "base/buf.h"
#include "base/error.h"
#include "base/url.h"
#include "credentials/chain.h"
#include "credentials/credentials.h"
#include "output.h"

#define MAX_HEADERS 64
#define MAX_BODY_FILE (64L * 1024 * 1024)

typedef struct sign_args {
    const char *method, *url, *body, *body_file, *service, *region, *timestamp, *output;
    int normalize, presign;
    long expires;
    kvi_header headers[MAX_HEADERS];
    char *header_lines[MAX_HEADERS];
    size_t header_count;
} sign_args;

/* "Name: value" -> name and value (whitespace after the colon belongs to the value's trim). */
static int add_header(sign_args *a, const char *line)
{
    if (a->header_count >= MAX_HEADERS)
        return cli_usage_error("argument --header: at most %d headers", MAX_HEADERS);
    const char *colon = strchr(line, ':');
    if (!colon || colon == line)
        return cli_usage_error("argument --header: expected 'Name: value', got '%s'", line);
    char *copy = kvi_strdup(line);
    copy[colon - line] = '\0';
    a->header_lines[a->header_count] = copy;
    a->headers[a->header_count].name = copy;
    a->headers[a->header_count].value = copy + (colon - line) + 1;
    a->header_count++;
    return 0;
}

static int add_host_header(sign_args *a, const char *authority)
{
    kvi_buf line = KVI_BUF_INIT;
    kvi_buf_printf(&line, "Host:%s", authority);
    int rc = add_header(a, kvi_buf_str(&line));
    kvi_buf_free(&line);
    return rc;
}

static int parse_args(sign_args *a, cli_globals *g, int argc, char **argv)
{
    a->normalize = 1;
    a->expires = -1;
    a->output = "text";
    a->region = g->region;
    for (int i = 0; i < argc; i++) {
        const char *f = argv[i];
        if (!strcmp(f, "--no-normalize-path")) {
            a->normalize = 0;
            continue;
        }
        if (!strcmp(f, "--presign")) {
            a->presign = 1;
            continue;
        }
        if (strcmp(f, "--region") != 0) {
            int taken = cli_take_global(g, argc, argv, &i);
            if (taken < 0)
                return EXIT_BAD_ARGS;
            if (taken > 0) {
                i--; /* the loop's i++ */
                continue;
            }
        }
        if (i + 1 >= argc)
            return cli_usage_error("argument %s: expected one argument", f);
        const char *v = argv[++i];
        if (!strcmp(f, "--method"))
            a->method = v;
        else if (!strcmp(f, "--url"))
            a->url = v;
        else if (!strcmp(f, "--header")) {
            if (add_header(a, v))
                return EXIT_BAD_ARGS;
        } else if (!strcmp(f, "--body"))
            a->body = v;
        else if (!strcmp(f, "--body-file"))
            a->body_file = v;
        else if (!strcmp(f, "--service"))
            a->service = v;
        else if (!strcmp(f, "--region"))
            a->region = v;
        else if (!strcmp(f, "--timestamp"))
            a->timestamp = v;
        else if (!strcmp(f, "--expires")) {
            char *end = NULL;
            a->expires = strtol(v, &end, 10);
            if (!*v || *end || a->expires < 1 || a->expires > 604800)
                return cli_usage_error("argument --expires: must be 1 to 604800 seconds");
        } else
            return cli_usage_error("Unknown options: %s", f);
    }
    if (g->output) /* --output is a global option now: cli_take_global took and checked it */
        a->output = g->output;
    if (!a->method || !a->url || !a->service)
        return cli_usage_error("the following arguments are required: %s%s%s",
                               a->method ? "" : "--method ", a->url ? "" : "--url ",
                               a->service ? "" : "--service");
    if (!a->region || !*a->region)
        return cli_usage_error("the following arguments are required: --region");
    if (a->body && a->body_file)
        return cli_usage_error("--body and --body-file cannot be used together");
    if (a->expires > 0 && !a->presign)
        return cli_usage_error("--expires goes with --presign");
    if (strcmp(a->output, "text") && strcmp(a->output, "json"))
        return cli_usage_error("argument --output: Invalid choice: '%s' (text, json)", a->output);
    return 0;
}

static int parse_timestamp(const char *s, time_t *out)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = strptime(s, "%Y%m%dT%H%M%SZ", &tm);
    if (!end || *end)
        return -1;
    *out = timegm(&tm);
    return 0;
}

static int read_file(const char *path, kvi_buf *out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (kvi_buf_append(out, chunk, n) != 0 || out->len > (size_t)MAX_BODY_FILE) {
            fclose(f);
            return -1;
        }
    int failed = ferror(f);
    fclose(f);
    return failed ? -1 : 0;
}

static int has_header(const sign_args *a, const char *name)
{
    for (size_t i = 0; i < a->header_count; i++)
        if (!strcasecmp(a->headers[i].name, name))
            return 1;
    return 0;
}

/* Appends text[0..len) to out with every occurrence of needle replaced by mark. */
static void replace_all(kvi_buf *out, const char *text, size_t len, const kvi_buf *needle,
                        const char *mark)
{
    size_t i = 0;
    while (i < len) {
        if (needle->len && len - i >= needle->len &&
            memcmp(text + i, needle->data, needle->len) == 0) {
            kvi_buf_puts(out, mark);
            i += needle->len;
        } else {
            kvi_buf_putc(out, text[i++]);
        }
    }
}

/* The canonical request as it may be shown: the session token's value (raw in the
 * x-amz-security-token header line, percent-encoded in the X-Amz-Security-Token parameter) is
 * replaced by its length and a short hash, enough to tell two tokens apart but not to use one. */
static void redact_token(kvi_buf *out, const char *canonical, const char *token)
{
    if (!token || !*token) {
        kvi_buf_puts(out, canonical);
        return;
    }
    char digest[65];
    kvi_sha256_hex(token, strlen(token), digest);
    char mark[96];
    snprintf(mark, sizeof mark, "<redacted: %zu chars, sha256 %.8s>", strlen(token), digest);
    kvi_buf raw = KVI_BUF_INIT, encoded = KVI_BUF_INIT, pass = KVI_BUF_INIT;
    kvi_buf_puts(&raw, token);
    kvi_uri_encode(&encoded, token, strlen(token), 0);
    replace_all(&pass, canonical, strlen(canonical), &raw, mark);
    replace_all(out, kvi_buf_str(&pass), pass.len, &encoded, mark);
    kvi_buf_free_secret(&raw);
    kvi_buf_free_secret(&encoded);
    kvi_buf_free_secret(&pass);
}

/* Prints the result; the canonical URI (line 2 of the canonical request) builds the URL. Only
 * the signed headers or URL themselves carry the session token. */
static void print_result(const sign_args *a, const kvi_url *url, const kvi_sign_result *r,
                         const char *shown_canonical)
{
    const char *cr = kvi_buf_str(&r->canonical_request);
    const char *uri = strchr(cr, '\n') ? strchr(cr, '\n') + 1 : "/";
    size_t uri_len = strcspn(uri, "\n");
    kvi_buf signed_url = KVI_BUF_INIT;
    kvi_buf_printf(&signed_url, "%s://%s%.*s?%s", url->scheme, url->authority, (int)uri_len, uri,
                   kvi_buf_str(&r->query));
    if (!strcmp(a->output, "json")) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "canonical_request", shown_canonical);
        cJSON_AddStringToObject(o, "string_to_sign", kvi_buf_str(&r->string_to_sign));
        cJSON_AddStringToObject(o, "signature", r->signature);
        if (a->presign) {
            cJSON_AddStringToObject(o, "url", kvi_buf_str(&signed_url));
        } else {
            cJSON *h = cJSON_AddObjectToObject(o, "headers");
            char *lines = kvi_strdup(kvi_buf_str(&r->added_headers));
            char *saved = NULL;
            for (char *l = strtok_r(lines, "\n", &saved); l; l = strtok_r(NULL, "\n", &saved)) {
                char *colon = strchr(l, ':');
                if (!colon)
                    continue;
                *colon = '\0';
                cJSON_AddStringToObject(h, l, colon + 1 + (colon[1] == ' '));
            }
            kvi_free_secret(lines);
        }
        char *text = cJSON_PrintUnformatted(o);
        cli_print_output("json", "sign", text); /* indented as every kvsws JSON output */
        free(text);
        cJSON_Delete(o);
    } else if (a->presign) {
        printf("%s\n", kvi_buf_str(&signed_url));
    } else {
        printf("%s\n", kvi_buf_str(&r->added_headers));
    }
    kvi_buf_free(&signed_url);
}

int cli_sign(cli_globals *g, int argc, char **argv)
{
    sign_args a;
    memset(&a, 0, sizeof a);
    int rc = parse_args(&a, g, argc, argv);
    kvi_url url;
    memset(&url, 0, sizeof url);
    kvi_buf body = KVI_BUF_INIT, shown = KVI_BUF_INIT;
    kvi_profile_paths paths;
    memset(&paths, 0, sizeof paths);
    kvi_credential_chain *chain = NULL;
    kvi_credentials creds;
    memset(&creds, 0, sizeof creds);
    kvi_signer *signer = NULL;
    kvi_sign_result result;
    memset(&result, 0, sizeof result);
    kvsws_error *err = kvsws_error_new();
    if (rc)
        goto done;

    /* Only scheme and authority are parsed: the path is signed literally, spaces and all. */
    const char *why = NULL;
    char *raw_path = NULL, *raw_query = NULL;
    if (kvi_url_parse_request(a.url, &url, &raw_path, &raw_query, &why) != 0) {
        rc = cli_usage_error("argument --url: '%s' %s", a.url, why);
        goto done;
    }
    time_t when = time(NULL);
    if (a.timestamp && parse_timestamp(a.timestamp, &when) != 0) {
        rc = cli_usage_error("argument --timestamp: expected YYYYMMDDTHHMMSSZ, got '%s'",
                             a.timestamp);
        goto free_raw;
    }
    if (a.body)
        kvi_buf_puts(&body, a.body);
    else if (a.body_file && read_file(a.body_file, &body) != 0) {
        rc = cli_usage_error("argument --body-file: cannot read '%s'", a.body_file);
        goto free_raw;
    }
    /* Without a Host header the URL's authority is the host, as an HTTP client would send it */
    if (!has_header(&a, "host") && add_host_header(&a, url.authority) != 0) {
        rc = EXIT_BAD_ARGS;
        goto free_raw;
    }

    if (kvi_profile_paths_resolve(NULL, NULL, g->profile, &paths) != 0 ||
        !(chain = kvi_credential_chain_new(NULL, NULL, NULL, &paths)) ||
        !(signer = kvi_signer_new())) {
        fprintf(stderr, "kvsws: out of memory\n");
        rc = EXIT_OTHER;
        goto free_raw;
    }
    kvsws_status st = kvi_credential_chain_get(chain, time(NULL), 0, &creds, err);
    if (st) {
        fprintf(stderr, "\n%s\n", kvsws_error_message(err));
        rc = st == KVSWS_E_PARAM_VALIDATION ? EXIT_BAD_ARGS : EXIT_NO_CREDS_OR_REGION;
        goto free_raw;
    }
    char payload_hash[65];
    kvi_sha256_hex(body.data ? body.data : "", body.len, payload_hash);
    kvi_sign_request req = {a.method, raw_path, raw_query, a.headers, a.header_count,
                            body.data, body.len};
    kvi_sign_credentials sc = {creds.access_key_id, creds.secret_access_key, creds.session_token};
    kvi_sign_config cfg = {a.region, a.service, when, a.normalize, 0, 0,
                           a.expires > 0 ? a.expires : 3600, payload_hash, .omit_canonical = 0};
    int failed = a.presign ? kvi_sigv4_presign(signer, &sc, &cfg, &req, &result, &why)
                           : kvi_sigv4_sign_headers(signer, &sc, &cfg, &req, &result, &why);
    if (failed) {
        rc = cli_usage_error("cannot sign this request: %s", why ? why : "unknown reason");
        goto free_raw;
    }
    redact_token(&shown, kvi_buf_str(&result.canonical_request), creds.session_token);
    if (g->debug)
        fprintf(stderr, "CanonicalRequest:\n%s\n\nStringToSign:\n%s\n", kvi_buf_str(&shown),
                kvi_buf_str(&result.string_to_sign));
    print_result(&a, &url, &result, kvi_buf_str(&shown));
    rc = EXIT_OK;
free_raw:
    free(raw_path);
    free(raw_query);
done:
    kvi_sign_result_free(&result);
    kvi_signer_free(signer);
    kvi_credentials_free(&creds);
    kvi_credential_chain_free(chain);
    kvi_profile_paths_free(&paths);
    kvi_buf_free(&body);
    kvi_buf_free_secret(&shown);
    kvi_url_free(&url);
    for (size_t i = 0; i < a.header_count; i++)
        free(a.header_lines[i]);
    kvsws_error_free(err);
    return rc;
}
