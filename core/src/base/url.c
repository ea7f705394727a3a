/* SPDX-License-Identifier: Apache-2.0 */
/* url.c - splitting an endpoint URL into scheme, authority and path. */
#include "base/url.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"

static char *dup_range(const char *s, size_t n)
{
    kvi_buf b = KVI_BUF_INIT;
    if (kvi_buf_append(&b, s, n) != 0)
        return NULL;
    return kvi_buf_detach(&b);
}

/* "scheme://authority" at the start of a URL, checked, as spans of it. */
typedef struct origin {
    const char *scheme;
    size_t scheme_len;
    const char *host; /* without brackets or port */
    size_t host_len;
    const char *authority; /* the Host header value: less the port when it is the default */
    size_t authority_len;
    int port;
    const char *rest; /* what follows the authority */
} origin;

/* Whether s[0..len) holds whitespace or a control byte (ASCII: <= ' ', or DEL). The loop has no
 * early exit, so that the compiler can vectorize it. */
static int has_space_or_control(const char *s, size_t len)
{
    int found = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        found |= (c <= ' ') | (c == 0x7f);
    }
    return found;
}

static int scheme_is(const origin *o, const char *lowercase)
{
    return o->scheme_len == strlen(lowercase) &&
           strncasecmp(o->scheme, lowercase, o->scheme_len) == 0;
}

/* Whitespace is looked for in the whole URL, or only up to the end of the authority. */
static int split_origin(const char *url, int check_whole_url, origin *o, const char **why)
{
    memset(o, 0, sizeof *o);
    /* The first "://" (strstr, but strchr is much faster at finding the colon). */
    const char *sep = url ? strchr(url, ':') : NULL;
    while (sep && strncmp(sep, "://", 3) != 0)
        sep = strchr(sep + 1, ':');
    if (!sep || sep == url) {
        *why = "must start with a scheme such as https://";
        return -1;
    }
    const char *auth = sep + 3;
    size_t auth_len = strcspn(auth, "/?#");
    const char *rest = auth + auth_len;
    const char *checked_end = check_whole_url ? rest + strlen(rest) : rest;
    if (has_space_or_control(url, (size_t)(checked_end - url))) {
        *why = "must not contain whitespace";
        return -1;
    }
    if (memchr(auth, '@', auth_len)) {
        *why = "must not contain user information";
        return -1;
    }
    o->scheme = url;
    o->scheme_len = (size_t)(sep - url);
    const char *host = auth, *port_str = NULL;
    size_t host_len;
    if (*auth == '[') { /* IPv6 literal */
        const char *close = memchr(auth, ']', auth_len);
        if (!close) {
            *why = "has an unterminated IPv6 address";
            return -1;
        }
        host = auth + 1;
        host_len = (size_t)(close - host);
        if (close + 1 < rest && close[1] == ':')
            port_str = close + 2;
    } else {
        const char *colon = memchr(auth, ':', auth_len);
        host_len = colon ? (size_t)(colon - auth) : auth_len;
        if (colon)
            port_str = colon + 1;
    }
    if (host_len == 0) {
        *why = "has no host";
        return -1;
    }
    int default_port = scheme_is(o, "https") || scheme_is(o, "wss") ? 443 : 80;
    o->port = default_port;
    if (port_str) {
        long port = 0;
        const char *p = port_str;
        for (; p < rest; p++) {
            if (!isdigit((unsigned char)*p) || port > 65535) {
                *why = "has an invalid port";
                return -1;
            }
            port = port * 10 + (*p - '0');
        }
        if (p == port_str || port < 1 || port > 65535) {
            *why = "has an invalid port";
            return -1;
        }
        o->port = (int)port;
    }
    o->host = host;
    o->host_len = host_len;
    /* The Host header carries the port only when it is not the scheme's default. */
    o->authority = auth;
    o->authority_len =
        o->port == default_port && port_str ? (size_t)(port_str - 1 - auth) : auth_len;
    o->rest = rest;
    return 0;
}

/* Fills out with copies of the origin's parts and the given path. */
static int url_from_origin(const origin *o, const char *path, size_t path_len, kvi_url *out,
                           const char **why)
{
    out->scheme = dup_range(o->scheme, o->scheme_len);
    for (char *p = out->scheme; p && *p; p++)
        *p = (char)tolower((unsigned char)*p);
    out->host = dup_range(o->host, o->host_len);
    out->authority = dup_range(o->authority, o->authority_len);
    out->port = o->port;
    out->path = dup_range(path, path_len);
    if (!out->scheme || !out->host || !out->authority || !out->path) {
        kvi_url_free(out);
        *why = "out of memory";
        return -1;
    }
    return 0;
}

int kvi_url_parse(const char *url, kvi_url *out, const char **why)
{
    memset(out, 0, sizeof *out);
    origin o;
    if (split_origin(url, 1, &o, why) != 0)
        return -1;
    size_t path_len = strcspn(o.rest, "?#");
    while (path_len > 0 && o.rest[path_len - 1] == '/')
        path_len--;
    return url_from_origin(&o, o.rest, path_len, out, why);
}

void kvi_url_free(kvi_url *u)
{
    free(u->scheme);
    free(u->host);
    free(u->authority);
    free(u->path);
    memset(u, 0, sizeof *u);
}

static void spans_from_origin(const origin *o, kvi_url_spans *out)
{
    out->scheme = o->scheme;
    out->scheme_len = o->scheme_len;
    out->authority = o->authority;
    out->authority_len = o->authority_len;
    out->path = o->rest;
    out->path_len = strcspn(o->rest, "?#");
    const char *after_path = o->rest + out->path_len;
    out->query = *after_path == '?' ? after_path + 1 : after_path;
    out->query_len = *after_path == '?' ? (size_t)(strchrnul(out->query, '#') - out->query) : 0;
}

int kvi_url_split_request(const char *url, kvi_url_spans *out, const char **why)
{
    memset(out, 0, sizeof *out);
    origin o;
    if (split_origin(url, 0, &o, why) != 0)
        return -1;
    spans_from_origin(&o, out);
    return 0;
}

int kvi_url_parse_request(const char *url, kvi_url *out, char **raw_path, char **raw_query,
                          const char **why)
{
    *raw_path = *raw_query = NULL;
    memset(out, 0, sizeof *out);
    origin o;
    if (split_origin(url, 0, &o, why) != 0 || url_from_origin(&o, "", 0, out, why) != 0)
        return -1;
    kvi_url_spans spans;
    spans_from_origin(&o, &spans);
    *raw_path = dup_range(spans.path, spans.path_len);
    *raw_query = dup_range(spans.query, spans.query_len);
    if (!*raw_path || !*raw_query) {
        free(*raw_path);
        free(*raw_query);
        *raw_path = *raw_query = NULL;
        kvi_url_free(out);
        *why = "out of memory";
        return -1;
    }
    return 0;
}
