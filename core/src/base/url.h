/* SPDX-License-Identifier: Apache-2.0 */
/* url.h - splitting an endpoint URL into what HTTP and the signer need. */
#ifndef KVSWS_URL_H
#define KVSWS_URL_H

#include <stddef.h>

typedef struct kvi_url {
    char *scheme; /* "https" / "wss", lowercased */
    char *host;   /* without brackets or port */
    char *authority; /* the Host header value: host, plus ":port" when not the scheme's default */
    int port;
    char *path;   /* "" or "/..." without a trailing '/' */
} kvi_url;

/* 0 ok, -1 on a malformed URL (with *why set). */
int kvi_url_parse(const char *url, kvi_url *out, const char **why);
void kvi_url_free(kvi_url *u);

/* For signing a request URL as given: parses scheme and authority, and returns the path and
 * query exactly as written (the path may hold spaces or raw UTF-8; the signer encodes it).
 * raw_path is "" or starts with '/'; raw_query excludes '?' and any '#fragment'.
 * 0 ok, -1 with *why set (malformed authority, or out of memory). */
int kvi_url_parse_request(const char *url, kvi_url *out, char **raw_path, char **raw_query,
                          const char **why);

/* The same split as kvi_url_parse_request, with the same checks, as spans of url itself:
 * nothing is allocated or copied. */
typedef struct kvi_url_spans {
    const char *scheme;    /* as written: compare it ignoring case */
    size_t scheme_len;
    const char *authority; /* the Host header value, as kvi_url.authority */
    size_t authority_len;
    const char *path;      /* "" or starting with '/' */
    size_t path_len;
    const char *query;     /* after '?', before any '#' */
    size_t query_len;
} kvi_url_spans;

/* 0 ok, -1 with *why set (malformed authority). */
int kvi_url_split_request(const char *url, kvi_url_spans *out, const char **why);

#endif
