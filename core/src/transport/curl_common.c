/* SPDX-License-Identifier: Apache-2.0 */
/* curl_common.c - what the two libcurl users (http.c, websocket.c) share, and the client's
 * trusted CAs (for libcurl's TLS and for ours, tls.c). */
#include "transport/curl_common.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/error.h"
#include "base/retry.h"
#include "transport/ca_paths.h"

/* ---- libcurl global initialisation ------------------------------------------------------- */

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static int global_threadsafe; /* written once under global_once, read-only after */
static CURLcode global_once_rc;

/*
 * libcurl >= 7.84 reports CURL_VERSION_THREADSAFE when curl_global_init/cleanup are themselves
 * thread-safe and reference counted (Debian's 7.88 does): then every user takes and releases a
 * reference, which also keeps leak checkers quiet. An older libcurl gets one init, never undone.
 */
static void global_probe(void)
{
    const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
#ifdef CURL_VERSION_THREADSAFE
    global_threadsafe = v && (v->features & CURL_VERSION_THREADSAFE);
#else
    (void)v;
    global_threadsafe = 0;
#endif
    if (!global_threadsafe)
        global_once_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int kvi_curl_global_acquire(int *holds)
{
    *holds = 0;
    pthread_once(&global_once, global_probe);
    if (!global_threadsafe)
        return global_once_rc == CURLE_OK ? 0 : -1;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return -1;
    *holds = 1;
    return 0;
}

void kvi_curl_global_release(int holds)
{
    if (holds)
        curl_global_cleanup();
}

/* ---- names and URLs ----------------------------------------------------------------------- */

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c; }

int kvi_curl_name_is(const char *name, size_t n, const char *lit)
{
    size_t i = 0;
    for (; i < n && lit[i]; i++)
        if (lower((unsigned char)name[i]) != lower((unsigned char)lit[i]))
            return 0;
    return i == n && lit[i] == '\0';
}

char *kvi_curl_url_for_message(const char *url)
{
    const char *start = url;
    const char *scheme = strstr(url, "://");
    size_t end = strcspn(url, "?#");
    char *out = malloc(end + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    if (scheme && (size_t)(scheme - url) < end) {
        size_t auth = (size_t)(scheme - url) + 3;
        size_t auth_end = auth + strcspn(url + auth, "/?#");
        const char *at = memchr(url + auth, '@', auth_end - auth);
        memcpy(out, url, auth);
        o = auth;
        start = at ? at + 1 : url + auth;
    }
    size_t rest = end - (size_t)(start - url);
    memcpy(out + o, start, rest);
    out[o + rest] = '\0';
    return out;
}

/* ---- connection options ------------------------------------------------------------------- */

struct kvi_ca_store {
    pthread_mutex_t lock;
    char *bundle;       /* NULL: libcurl's defaults */
    X509_STORE *store;  /* NULL until the first handshake */
    SSL_CTX *tls;       /* NULL until the first handshake of our own (tls.c) */
};

kvi_ca_store *kvi_ca_store_new(const char *ca_bundle)
{
    kvi_ca_store *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    if (ca_bundle && !(s->bundle = strdup(ca_bundle))) {
        free(s);
        return NULL;
    }
    pthread_mutex_init(&s->lock, NULL);
    return s;
}

void kvi_ca_store_free(kvi_ca_store *s)
{
    if (!s)
        return;
    X509_STORE_free(s->store);
    SSL_CTX_free(s->tls);
    pthread_mutex_destroy(&s->lock);
    free(s->bundle);
    free(s);
}

/* Parses the CAs: the bundle, or what libcurl would load by default. NULL when nothing loads. */
static X509_STORE *load_store(const char *bundle)
{
    const char *file = bundle, *dir = NULL;
    CURL *probe = NULL;
    if (!file) { /* libcurl's own defaults, as a connection without a bundle would use */
        probe = curl_easy_init();
        char *v = NULL;
        if (probe && curl_easy_getinfo(probe, CURLINFO_CAINFO, &v) == CURLE_OK)
            file = v;
        if (probe && curl_easy_getinfo(probe, CURLINFO_CAPATH, &v) == CURLE_OK)
            dir = v;
        file = kvi_ca_default_file(file); /* libcurl's may name another distribution's path */
    }
    X509_STORE *store = X509_STORE_new();
    int ok = store != NULL;
    if (ok && file && X509_STORE_load_file(store, file) != 1)
        ok = 0;
    if (ok && dir && X509_STORE_load_path(store, dir) != 1 && !file)
        ok = 0;
    if (ok && !file && !dir)
        ok = X509_STORE_set_default_paths(store) == 1;
    if (ok && file) {
        STACK_OF(X509_OBJECT) *objects = X509_STORE_get0_objects(store);
        ok = objects && sk_X509_OBJECT_num(objects) > 0;
    }
    curl_easy_cleanup(probe);
    if (!ok) {
        X509_STORE_free(store);
        return NULL;
    }
    return store;
}

/* libcurl hands us each new TLS context: it trusts the client's store (one more reference). */
static CURLcode use_ca_store(CURL *curl, void *ssl_ctx, void *arg)
{
    (void)curl;
    kvi_ca_store *s = arg;
    pthread_mutex_lock(&s->lock);
    if (!s->store)
        s->store = load_store(s->bundle);
    X509_STORE *store = s->store;
    pthread_mutex_unlock(&s->lock);
    if (!store)
        return CURLE_SSL_CACERT_BADFILE;
    SSL_CTX_set1_cert_store(ssl_ctx, store);
    return CURLE_OK;
}

SSL_CTX *kvi_ca_store_tls_context(kvi_ca_store *s, char *why, size_t why_size)
{
    pthread_mutex_lock(&s->lock);
    if (!s->store)
        s->store = load_store(s->bundle);
    if (s->store && !s->tls) {
        SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
        if (ctx)
            SSL_CTX_set1_cert_store(ctx, s->store);
        s->tls = ctx;
    }
    SSL_CTX *ctx = s->tls;
    if (ctx)
        SSL_CTX_up_ref(ctx);
    int loaded = s->store != NULL;
    pthread_mutex_unlock(&s->lock);
    if (!loaded)
        snprintf(why, why_size, "error setting certificate verify locations (CA file: %s)",
                 s->bundle ? s->bundle : "the system's default");
    else if (!ctx)
        snprintf(why, why_size, "out of memory creating a TLS context");
    return ctx;
}

CURLcode kvi_curl_set_common(CURL *e, char *errbuf, const char *ca_bundle,
                             kvi_ca_store *ca_store, long connect_timeout_ms)
{
    CURLcode rc = CURLE_OK;
#define SET(opt, val)                                  \
    do {                                               \
        if (rc == CURLE_OK)                            \
            rc = curl_easy_setopt(e, opt, val);        \
    } while (0)
    SET(CURLOPT_ERRORBUFFER, errbuf);
    /* HTTP/1.1 only: ALPN must not pick h2 for the WebSocket upgrade, and one peer SDK saw HTML
     * 400s from the per-channel endpoints over h2. */
    SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    SET(CURLOPT_SSL_VERIFYPEER, 1L);
    SET(CURLOPT_SSL_VERIFYHOST, 2L);
    if (ca_store) {
        /* no file for libcurl to parse on every connection: the store comes in use_ca_store */
        SET(CURLOPT_CAINFO, (char *)NULL);
        SET(CURLOPT_CAPATH, (char *)NULL);
        SET(CURLOPT_SSL_CTX_FUNCTION, use_ca_store);
        SET(CURLOPT_SSL_CTX_DATA, ca_store);
    } else if (ca_bundle) {
        SET(CURLOPT_CAINFO, ca_bundle);
    } else {
        /* libcurl's built-in CA file may name another distribution's path (the wheel's does) */
        char *builtin = NULL;
        if (curl_easy_getinfo(e, CURLINFO_CAINFO, &builtin) != CURLE_OK)
            builtin = NULL;
        const char *file = kvi_ca_default_file(builtin);
        if (file && file != builtin)
            SET(CURLOPT_CAINFO, file);
    }
    SET(CURLOPT_CONNECTTIMEOUT_MS, connect_timeout_ms);
    /* No signals: timeouts must work in threads, and a library must not touch SIGALRM. */
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_TCP_KEEPALIVE, 1L);
    SET(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
#undef SET
    return rc;
}

/* ---- proxies ------------------------------------------------------------------------------ */

/* The first non-empty variable of names (NULL-terminated) and its name. */
static const char *first_env(const char *const *names, const char **which)
{
    for (int i = 0; names[i]; i++) {
        const char *v = getenv(names[i]);
        if (v && *v) {
            *which = names[i];
            return v;
        }
    }
    return NULL;
}

/* Does no_proxy's list (comma or space separated; "*" is all) name host or one of its parent
 * domains, ignoring case and a leading dot? */
static int no_proxy_matches(const char *list, const char *host)
{
    size_t hn = strlen(host);
    for (const char *p = list; *p;) {
        p += strspn(p, ", \t");
        size_t n = strcspn(p, ", \t");
        const char *e = p;
        p += n;
        if (n && e[0] == '.')
            e++, n--;
        if (n == 1 && e[0] == '*')
            return 1;
        if (n == 0 || n > hn)
            continue;
        const char *tail = host + hn - n;
        if (strncasecmp(tail, e, n) == 0 &&
            (tail == host || tail[-1] == '.'))
            return 1;
    }
    return 0;
}

kvsws_status kvi_curl_tunnel_proxy(CURL *e, const char *host, kvsws_error *err)
{
    static const char *const PROXY_VARS[] = {"https_proxy", "HTTPS_PROXY", "all_proxy",
                                             "ALL_PROXY", NULL};
    static const char *const NO_PROXY_VARS[] = {"no_proxy", "NO_PROXY", NULL};
    const char *var = NULL, *no_var = NULL;
    const char *proxy = first_env(PROXY_VARS, &var);
    const char *no_proxy = first_env(NO_PROXY_VARS, &no_var);
    if (proxy && no_proxy && no_proxy_matches(no_proxy, host))
        proxy = NULL;
    if (proxy && strncasecmp(proxy, "https://", 8) == 0)
        return kvi_error_set(err, KVSWS_E_CONFIG,
                             "%s names an https:// proxy: the signaling WebSocket reaches its "
                             "endpoint through an http:// (or socks) proxy only; use "
                             "http://HOST:PORT, or list the host in no_proxy",
                             var);
    CURLcode rc = curl_easy_setopt(e, CURLOPT_PROXY, proxy ? proxy : "");
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(e, CURLOPT_NOPROXY, no_proxy ? no_proxy : "");
    if (rc == CURLE_OK && proxy) /* a proxy relays our TLS bytes (HTTP CONNECT) */
        rc = curl_easy_setopt(e, CURLOPT_HTTPPROXYTUNNEL, 1L);
    if (rc != CURLE_OK)
        return kvi_error_set(err, KVSWS_E_CONFIG, "libcurl rejected the proxy named by %s",
                             var ? var : "the environment");
    return KVSWS_OK;
}

/* ---- failures ----------------------------------------------------------------------------- */

const char *kvi_curl_reason(CURLcode rc, char *errbuf)
{
    if (!errbuf || !*errbuf)
        return curl_easy_strerror(rc);
    /* errbuf lines end with a newline on some paths; messages are one line. */
    size_t n = strlen(errbuf);
    while (n > 0 && (errbuf[n - 1] == '\n' || errbuf[n - 1] == '\r'))
        errbuf[--n] = '\0';
    return errbuf;
}

static int is_tls_error(CURLcode rc)
{
    switch (rc) {
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
    case CURLE_USE_SSL_FAILED:
        return 1;
    default:
        return 0;
    }
}

kvsws_status kvi_curl_connect_error(CURLcode rc, const char *shown, const char *reason,
                                    kvsws_error *err)
{
    kvsws_status st;
    if (rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_CONNECT ||
        rc == CURLE_COULDNT_RESOLVE_PROXY)
        st = kvi_error_set(err, KVSWS_E_CONNECT,
                           "Could not connect to the endpoint URL: \"%s\" (%s)", shown, reason);
    else if (rc == CURLE_OPERATION_TIMEDOUT)
        st = kvi_error_set(err, KVSWS_E_CONNECT_TIMEOUT, "Connect timeout on endpoint URL: \"%s\"",
                           shown);
    else if (is_tls_error(rc))
        st = kvi_error_set(err, KVSWS_E_TLS, "SSL validation failed for %s %s", shown, reason);
    else if (rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL)
        st = kvi_error_set(err, KVSWS_E_PARAM_VALIDATION, "Invalid endpoint: %s (%s)", shown,
                           reason);
    else
        return KVSWS_OK;
    if (err)
        err->retryable = kvi_retry_is_retryable_transport(st);
    return st;
}
