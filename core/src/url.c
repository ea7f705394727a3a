/* url.c - splitting an endpoint URL into scheme, authority and path. */
#include "url.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

static char *dup_range(const char *s, size_t n)
{
    kvi_buf b = KVI_BUF_INIT;
    if (kvi_buf_append(&b, s, n) != 0)
        return NULL;
    return kvi_buf_detach(&b);
}

int kvi_url_parse(const char *url, kvi_url *out, const char **why)
{
    memset(out, 0, sizeof *out);
    const char *sep = url ? strstr(url, "://") : NULL;
    if (!sep || sep == url) {
        *why = "must start with a scheme such as https://";
        return -1;
    }
    for (const char *p = url; *p; p++)
        if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p)) {
            *why = "must not contain whitespace";
            return -1;
        }
    out->scheme = dup_range(url, (size_t)(sep - url));
    for (char *p = out->scheme; p && *p; p++)
        *p = (char)tolower((unsigned char)*p);
    const char *auth = sep + 3;
    size_t auth_len = strcspn(auth, "/?#");
    const char *rest = auth + auth_len;
    if (memchr(auth, '@', auth_len)) {
        *why = "must not contain user information";
        goto fail;
    }
    const char *host = auth, *port_str = NULL;
    size_t host_len;
    if (*auth == '[') { /* IPv6 literal */
        const char *close = memchr(auth, ']', auth_len);
        if (!close) {
            *why = "has an unterminated IPv6 address";
            goto fail;
        }
        host = auth + 1;
        host_len = (size_t)(close - host);
        if (close + 1 < auth + auth_len && close[1] == ':')
            port_str = close + 2;
    } else {
        const char *colon = memchr(auth, ':', auth_len);
        host_len = colon ? (size_t)(colon - auth) : auth_len;
        if (colon)
            port_str = colon + 1;
    }
    if (host_len == 0) {
        *why = "has no host";
        goto fail;
    }
    int default_port = (strcmp(out->scheme, "https") == 0 || strcmp(out->scheme, "wss") == 0)
                           ? 443
                           : 80;
    out->port = default_port;
    if (port_str) {
        long port = 0;
        const char *p = port_str;
        for (; p < auth + auth_len; p++) {
            if (!isdigit((unsigned char)*p) || port > 65535) {
                *why = "has an invalid port";
                goto fail;
            }
            port = port * 10 + (*p - '0');
        }
        if (p == port_str || port < 1 || port > 65535) {
            *why = "has an invalid port";
            goto fail;
        }
        out->port = (int)port;
    }
    out->host = dup_range(host, host_len);
    /* The Host header carries the port only when it is not the scheme's default. */
    out->authority = out->port == default_port ? dup_range(auth, port_str ? (size_t)(port_str - 1 - auth) : auth_len)
                                               : dup_range(auth, auth_len);
    size_t path_len = strcspn(rest, "?#");
    while (path_len > 0 && rest[path_len - 1] == '/')
        path_len--;
    out->path = dup_range(rest, path_len);
    if (!out->scheme || !out->host || !out->authority || !out->path) {
        *why = "out of memory";
        goto fail;
    }
    return 0;
fail:
    kvi_url_free(out);
    return -1;
}

void kvi_url_free(kvi_url *u)
{
    free(u->scheme);
    free(u->host);
    free(u->authority);
    free(u->path);
    memset(u, 0, sizeof *u);
}

int kvi_url_parse_request(const char *url, kvi_url *out, char **raw_path, char **raw_query,
                          const char **why)
{
    *raw_path = *raw_query = NULL;
    const char *scheme_end = url ? strstr(url, "://") : NULL;
    if (!scheme_end) {
        *why = "must start with a scheme such as https://";
        return -1;
    }
    const char *path = scheme_end + 3 + strcspn(scheme_end + 3, "/?#");
    char *origin = dup_range(url, (size_t)(path - url));
    int bad = !origin || kvi_url_parse(origin, out, why) != 0;
    free(origin);
    if (bad)
        return -1;
    size_t path_len = strcspn(path, "?#");
    const char *query = path[path_len] == '?' ? path + path_len + 1 : "";
    *raw_path = dup_range(path, path_len);
    *raw_query = dup_range(query, strcspn(query, "#"));
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
