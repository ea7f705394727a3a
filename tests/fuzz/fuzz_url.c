/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_url.c - libFuzzer target for URL parsing (url.c) and endpoint validation and defaults
 * (endpoints.c): the input, up to its first NUL, is a URL (an endpoint option, a
 * GetSignalingChannelEndpoint answer, a user's URL to sign) and a region. A parsed URL must
 * read back the same from its parts, and the two request splitters must agree.
 * Build: see README.md. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/endpoints.h"
#include "base/url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int spans_equal(const char *a, size_t alen, const char *b)
{
    return strlen(b) == alen && memcmp(a, b, alen) == 0;
}

static void check_parse(const char *s)
{
    kvi_url u;
    const char *why = NULL;
    if (kvi_url_parse(s, &u, &why) != 0) {
        if (!why)
            abort();
        return;
    }
    if (!u.scheme || !u.host || !*u.host || !u.authority || !u.path || u.port < 1 ||
        u.port > 65535 || (*u.path && (u.path[0] != '/' || u.path[strlen(u.path) - 1] == '/')) ||
        !strstr(u.authority, u.host))
        abort();
    /* scheme://authority/path parses to the same parts. */
    size_t n = strlen(u.scheme) + strlen(u.authority) + strlen(u.path) + 4;
    char *again = malloc(n);
    if (!again)
        abort();
    snprintf(again, n, "%s://%s%s", u.scheme, u.authority, u.path);
    kvi_url v;
    if (kvi_url_parse(again, &v, &why) != 0 || strcmp(v.scheme, u.scheme) ||
        strcmp(v.host, u.host) || strcmp(v.authority, u.authority) || v.port != u.port ||
        strcmp(v.path, u.path))
        abort();
    kvi_url_free(&v);
    free(again);
    kvi_url_free(&u);
}

static void check_request(const char *s)
{
    kvi_url u;
    char *path = NULL, *query = NULL;
    const char *why = NULL, *why2 = NULL;
    kvi_url_spans sp;
    int a = kvi_url_parse_request(s, &u, &path, &query, &why);
    int b = kvi_url_split_request(s, &sp, &why2);
    if ((a == 0) != (b == 0))
        abort();
    if (a != 0) {
        if (!why || !why2)
            abort();
        return;
    }
    size_t len = strlen(s);
    if (!path || !query || (*path && *path != '/') || strchr(query, '#') ||
        !spans_equal(sp.path, sp.path_len, path) || !spans_equal(sp.query, sp.query_len, query) ||
        !spans_equal(sp.authority, sp.authority_len, u.authority) ||
        sp.scheme < s || sp.query + sp.query_len > s + len || sp.path + sp.path_len > s + len)
        abort();
    free(path);
    free(query);
    kvi_url_free(&u);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    check_parse(s);
    check_request(s);
    for (int wss = 0; wss <= 1; wss++) {
        const char *why = NULL;
        int rc = kvi_endpoint_validate(s, wss, &why);
        if (rc != 0 && !why)
            abort();
        /* A valid endpoint is a URL the client can use. */
        kvi_url u;
        if (rc == 0) {
            if (kvi_url_parse(s, &u, &why) != 0 || strcmp(u.scheme, wss ? "wss" : "https"))
                abort();
            kvi_url_free(&u);
        }
    }
    /* The same bytes as a region (as kvi_region_resolve lets them through): a default endpoint
     * made from it is a valid one. */
    size_t n = strlen(s);
    int region = n >= 1 && n <= 64 && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
    for (int fips = 0; region && fips <= 1; fips++) {
        char *control = kvi_endpoint_control_default(s, fips);
        char *sts = kvi_endpoint_service_default("sts", s, fips);
        const char *why = NULL;
        if ((control && kvi_endpoint_validate(control, 0, &why) != 0) ||
            (sts && kvi_endpoint_validate(sts, 0, &why) != 0))
            abort();
        free(control);
        free(sts);
    }
    free(s);
    return 0;
}

/* With -DKVSWS_FUZZ_STANDALONE: a main that replays files, for builds without libFuzzer. */
#include "standalone_main.h"
