/* SPDX-License-Identifier: Apache-2.0 */
/* http.c - HTTPS over libcurl: a pool of kept-alive connections, TLS always verified. */
#include "transport/http.h"

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "base/error.h"
#include "base/retry.h"
#include "transport/curl_common.h"

/* Idle connection slots kept per pool; busier moments create more, extras are closed on return. */
#define POOL_IDLE_MAX 16
/* Connections one slot's cache keeps open (a slot may alternate between two or three hosts). */
#define SLOT_MAX_CONNECTS 4L
/* No AWS answer of these calls comes near this; more is a misdirected endpoint or an attack. */
#define BODY_MAX ((size_t)1 << 20)
/* The headers we keep are short (ids, a date, an error name); longer values are cut. */
#define HEADER_VALUE_MAX 4096
/* With keep_headers, this many distinct header names are kept; an answer with more is odd. */
#define HEADERS_KEPT_MAX 64
#define HEADER_NAME_MAX 256
/* How often a quiet transfer wakes to look at the cancel flag and the deadlines. */
#define POLL_MS 50

typedef struct http_slot {
    CURLM *multi; /* owns the slot's connection cache, so connections outlive each request */
    CURL *easy;
} http_slot;

struct kvi_http_pool {
    pthread_mutex_t lock; /* guards idle[] and idle_count */
    http_slot *idle[POOL_IDLE_MAX];
    size_t idle_count;
    CURLSH *share; /* DNS cache and TLS sessions, shared by every slot */
    pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
    char *ca_bundle;
    struct kvi_ca_store *ca_store; /* borrowed from the client */
    char *user_agent;
    char *client_cert; /* mutual TLS: PEM certificate and key files, or NULL */
    char *client_key;
    long connect_timeout_ms;
    long read_timeout_ms;
    long request_timeout_ms;
    int holds_global; /* 1 when this pool owns a curl_global_init reference */
};

/* ---- small helpers ------------------------------------------------------------------------ */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int cancel_requested(const volatile int *flag)
{
    return flag && __atomic_load_n(flag, __ATOMIC_ACQUIRE) != 0;
}

/* ---- the pool ----------------------------------------------------------------------------- */

static void share_lock(CURL *handle, curl_lock_data data, curl_lock_access access, void *userptr)
{
    kvi_http_pool *pool = userptr;
    if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
        pthread_mutex_lock(&pool->share_locks[data]);
}

static void share_unlock(CURL *handle, curl_lock_data data, void *userptr)
{
    kvi_http_pool *pool = userptr;
    if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
        pthread_mutex_unlock(&pool->share_locks[data]);
}

static void slot_free(http_slot *s)
{
    if (!s)
        return;
    /* The multi closes its cached connections here; the easy handle goes after it. */
    if (s->multi)
        curl_multi_cleanup(s->multi);
    if (s->easy)
        curl_easy_cleanup(s->easy);
    free(s);
}

static http_slot *slot_new(kvi_http_pool *pool)
{
    http_slot *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->multi = curl_multi_init();
    s->easy = curl_easy_init();
    if (!s->multi || !s->easy ||
        curl_multi_setopt(s->multi, CURLMOPT_MAXCONNECTS, SLOT_MAX_CONNECTS) != CURLM_OK ||
        (pool->share && curl_easy_setopt(s->easy, CURLOPT_SHARE, pool->share) != CURLE_OK)) {
        slot_free(s);
        return NULL;
    }
    return s;
}

static http_slot *pool_take(kvi_http_pool *pool)
{
    http_slot *s = NULL;
    pthread_mutex_lock(&pool->lock);
    /* Last in, first out: the most recently used connection is the likeliest to be alive. */
    if (pool->idle_count > 0)
        s = pool->idle[--pool->idle_count];
    pthread_mutex_unlock(&pool->lock);
    return s ? s : slot_new(pool);
}

static void pool_give(kvi_http_pool *pool, http_slot *s)
{
    /* Drops every pointer into the finished request's stack (callbacks, error buffer, body);
     * connections, the share, DNS and TLS session caches survive a reset. */
    curl_easy_reset(s->easy);
    pthread_mutex_lock(&pool->lock);
    if (pool->idle_count < POOL_IDLE_MAX) {
        pool->idle[pool->idle_count++] = s;
        s = NULL;
    }
    pthread_mutex_unlock(&pool->lock);
    slot_free(s);
}

kvi_http_pool *kvi_http_pool_new(const kvi_http_options *opts)
{
    kvi_http_pool *pool = calloc(1, sizeof *pool);
    if (!pool || kvi_curl_global_acquire(&pool->holds_global) != 0) {
        free(pool);
        return NULL;
    }
    pthread_mutex_init(&pool->lock, NULL);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&pool->share_locks[i], NULL);

    pool->connect_timeout_ms = KVI_HTTP_CONNECT_TIMEOUT_MS;
    pool->read_timeout_ms = KVI_HTTP_READ_TIMEOUT_MS;
    pool->request_timeout_ms = KVI_HTTP_REQUEST_TIMEOUT_MS;
    if (opts) {
        if (opts->connect_timeout_ms > 0)
            pool->connect_timeout_ms = opts->connect_timeout_ms;
        if (opts->read_timeout_ms > 0)
            pool->read_timeout_ms = opts->read_timeout_ms;
        if (opts->request_timeout_ms > 0)
            pool->request_timeout_ms = opts->request_timeout_ms;
        pool->ca_bundle = kvi_strdup(opts->ca_bundle);
        pool->ca_store = opts->ca_store;
        pool->user_agent = kvi_strdup(opts->user_agent);
        pool->client_cert = kvi_strdup(opts->client_cert);
        pool->client_key = kvi_strdup(opts->client_key);
        if ((opts->ca_bundle && !pool->ca_bundle) || (opts->user_agent && !pool->user_agent) ||
            (opts->client_cert && !pool->client_cert) || (opts->client_key && !pool->client_key)) {
            kvi_http_pool_free(pool);
            return NULL;
        }
    }

    /* Sharing is an optimisation (fewer lookups, TLS resumption): a pool works without it. */
    pool->share = curl_share_init();
    if (pool->share) {
        int ok = curl_share_setopt(pool->share, CURLSHOPT_LOCKFUNC, share_lock) == CURLSHE_OK &&
                 curl_share_setopt(pool->share, CURLSHOPT_UNLOCKFUNC, share_unlock) ==
                     CURLSHE_OK &&
                 curl_share_setopt(pool->share, CURLSHOPT_USERDATA, pool) == CURLSHE_OK &&
                 curl_share_setopt(pool->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) ==
                     CURLSHE_OK &&
                 curl_share_setopt(pool->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) ==
                     CURLSHE_OK;
        if (!ok) {
            curl_share_cleanup(pool->share);
            pool->share = NULL;
        }
    }
    return pool;
}

void kvi_http_pool_free(kvi_http_pool *pool)
{
    if (!pool)
        return;
    for (size_t i = 0; i < pool->idle_count; i++)
        slot_free(pool->idle[i]);
    /* Last: every handle that used the share is gone, so it is no longer in use. */
    if (pool->share)
        curl_share_cleanup(pool->share);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_destroy(&pool->share_locks[i]);
    pthread_mutex_destroy(&pool->lock);
    free(pool->ca_bundle);
    free(pool->user_agent);
    free(pool->client_cert);
    free(pool->client_key);
    kvi_curl_global_release(pool->holds_global);
    free(pool);
}

void kvi_http_response_free(kvi_http_response *r)
{
    if (!r)
        return;
    kvi_buf_free(&r->body);
    free(r->request_id);
    free(r->error_type);
    free(r->date);
    cJSON_Delete(r->headers);
    memset(r, 0, sizeof *r);
}

/* ---- one transfer -------------------------------------------------------------------------- */

typedef struct xfer {
    kvi_buf body;
    int too_large;
    int oom;
    char *request_id;     /* x-amzn-RequestId */
    char *request_id_alt; /* x-amz-request-id, used when the first is absent */
    char *error_type;
    char *date;
    char **folding; /* the kept header an obs-fold continuation line extends, or NULL */
    int keep_all;   /* kvi_http_request.keep_headers: every header goes into all[] too */
    struct {
        char *name; /* lower-case */
        char *value;
    } all[HEADERS_KEPT_MAX];
    size_t all_n;
    char **folding_all; /* the value in all[] a continuation line extends, or NULL */
    int connected;  /* set once the connection (TCP + TLS) is up or reused */
    int64_t last_activity_ms;
    curl_off_t last_dl, last_ul;
    const volatile int *cancel_flag;
    int cancelled;
} xfer;

static void xfer_clear_headers(xfer *x)
{
    free(x->request_id);
    free(x->request_id_alt);
    free(x->error_type);
    free(x->date);
    x->request_id = x->request_id_alt = x->error_type = x->date = NULL;
    x->folding = NULL;
    for (size_t i = 0; i < x->all_n; i++) {
        free(x->all[i].name);
        free(x->all[i].value);
    }
    x->all_n = 0;
    x->folding_all = NULL;
}

static int is_ows(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* Sets *slot to the trimmed value, or (sep not NULL) appends it after sep: a space for a folded
 * line, ", " for a repeated header. */
static void keep_header_sep(xfer *x, char **slot, const char *v, size_t n, const char *sep_s)
{
    int append = sep_s != NULL;
    while (n > 0 && is_ows(*v)) {
        v++;
        n--;
    }
    while (n > 0 && is_ows(v[n - 1]))
        n--;
    size_t old = append && *slot ? strlen(*slot) : 0;
    size_t sep = old && n ? strlen(sep_s) : 0;
    if (old + sep + n > HEADER_VALUE_MAX)
        n = old + sep >= HEADER_VALUE_MAX ? 0 : HEADER_VALUE_MAX - old - sep;
    char *p = malloc(old + sep + n + 1);
    if (!p) {
        x->oom = 1;
        return;
    }
    if (old)
        memcpy(p, *slot, old);
    if (sep)
        memcpy(p + old, sep_s, sep);
    memcpy(p + old + sep, v, n);
    p[old + sep + n] = '\0';
    free(*slot);
    *slot = p;
}

static void keep_header(xfer *x, char **slot, const char *v, size_t n, int append)
{
    keep_header_sep(x, slot, v, n, append ? " " : NULL);
}

/* Keeps any header under its lower-case name (botocore's HTTPHeaders); a repeated one is joined
 * with ", " as HTTP allows. Returns the value's slot for a continuation line, or NULL. */
static char **keep_any_header(xfer *x, const char *name, size_t name_len, const char *v, size_t n)
{
    if (name_len == 0 || name_len > HEADER_NAME_MAX)
        return NULL;
    char lower[HEADER_NAME_MAX + 1];
    for (size_t i = 0; i < name_len; i++)
        lower[i] = (char)((name[i] >= 'A' && name[i] <= 'Z') ? name[i] - 'A' + 'a' : name[i]);
    lower[name_len] = '\0';
    for (size_t i = 0; i < x->all_n; i++)
        if (strcmp(x->all[i].name, lower) == 0) {
            keep_header_sep(x, &x->all[i].value, v, n, ", ");
            return &x->all[i].value;
        }
    if (x->all_n == HEADERS_KEPT_MAX)
        return NULL;
    char *copy = kvi_strdup(lower);
    if (!copy) {
        x->oom = 1;
        return NULL;
    }
    size_t i = x->all_n++;
    x->all[i].name = copy;
    x->all[i].value = NULL;
    keep_header_sep(x, &x->all[i].value, v, n, NULL);
    return &x->all[i].value;
}

/* all[] as one JSON object (printed only by whoever hands it out as text), or NULL (out of
 * memory). */
static cJSON *headers_to_object(const xfer *x)
{
    cJSON *o = cJSON_CreateObject();
    for (size_t i = 0; o && i < x->all_n; i++)
        if (!cJSON_AddStringToObject(o, x->all[i].name, x->all[i].value ? x->all[i].value : "")) {
            cJSON_Delete(o);
            o = NULL;
        }
    return o;
}

/* libcurl hands over one complete header line per call; a folded header arrives as more
 * calls whose lines start with whitespace, and every status line (a 1xx, a proxy's CONNECT
 * answer) starts the header set over. */
static size_t on_header(char *line, size_t size, size_t nitems, void *userdata)
{
    xfer *x = userdata;
    size_t len = size * nitems;
    x->last_activity_ms = now_ms();
    if (len >= 5 && memcmp(line, "HTTP/", 5) == 0) {
        xfer_clear_headers(x);
        return len;
    }
    size_t n = len;
    while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == '\n'))
        n--;
    if (n == 0) {
        x->folding = NULL;
        return len;
    }
    if (line[0] == ' ' || line[0] == '\t') {
        if (x->folding)
            keep_header(x, x->folding, line, n, 1);
        if (x->folding_all)
            keep_header(x, x->folding_all, line, n, 1);
        return len;
    }
    const char *colon = memchr(line, ':', n);
    x->folding = NULL;
    x->folding_all = NULL;
    if (!colon)
        return len;
    size_t name_len = (size_t)(colon - line);
    if (x->keep_all)
        x->folding_all = keep_any_header(x, line, name_len, colon + 1, n - name_len - 1);
    char **slot = NULL;
    if (kvi_curl_name_is(line, name_len, "x-amzn-RequestId"))
        slot = &x->request_id;
    else if (kvi_curl_name_is(line, name_len, "x-amz-request-id"))
        slot = &x->request_id_alt;
    else if (kvi_curl_name_is(line, name_len, "x-amzn-ErrorType"))
        slot = &x->error_type;
    else if (kvi_curl_name_is(line, name_len, "Date"))
        slot = &x->date;
    if (slot) {
        keep_header(x, slot, colon + 1, n - name_len - 1, 0);
        x->folding = slot;
    }
    return len;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
    xfer *x = userdata;
    size_t len = size * nmemb;
    x->last_activity_ms = now_ms();
    if (len > BODY_MAX - x->body.len) {
        x->too_large = 1;
        return 0; /* any short count makes libcurl stop with CURLE_WRITE_ERROR */
    }
    if (kvi_buf_append(&x->body, data, len) != 0) {
        x->oom = 1;
        return 0;
    }
    return len;
}

/* Called often while bytes move (and about once a second when quiet): tracks the last time a
 * byte went either way, and stops the transfer at once when cancelled. */
static int on_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    xfer *x = userdata;
    if (dlnow != x->last_dl || ulnow != x->last_ul) {
        x->last_dl = dlnow;
        x->last_ul = ulnow;
        x->last_activity_ms = now_ms();
    }
    if (cancel_requested(x->cancel_flag)) {
        x->cancelled = 1;
        return 1;
    }
    return 0;
}

/* Called when the connection is ready (new after TCP + TLS, or reused), just before the
 * request goes out: from here on the read timeout applies instead of the connect timeout. */
static int on_prereq(void *userdata, char *primary_ip, char *local_ip, int primary_port,
                     int local_port)
{
    xfer *x = userdata;
    x->connected = 1;
    x->last_activity_ms = now_ms();
    return CURL_PREREQFUNC_OK;
}

/* The list held the Authorization and X-Amz-Security-Token lines: wipe before freeing. */
static void slist_free_secret(struct curl_slist *list)
{
    for (struct curl_slist *n = list; n; n = n->next)
        if (n->data)
            OPENSSL_cleanse(n->data, strlen(n->data));
    curl_slist_free_all(list);
}

static int has_line_break(const char *s)
{
    for (; *s; s++)
        if (*s == '\r' || *s == '\n')
            return 1;
    return 0;
}

/* The headers as curl takes them: Host dropped (curl writes it from the URL), "Expect:" to
 * stop 100-continue round trips, "Content-Type:" so curl adds no form type of its own. */
static kvsws_status build_headers(const kvi_http_request *req, struct curl_slist **out,
                                  kvsws_error *err)
{
    struct curl_slist *list = NULL;
    int has_content_type = 0;
    kvi_buf line = KVI_BUF_INIT;
    kvsws_status st = KVSWS_OK;
    for (size_t i = 0; i < req->header_count && st == KVSWS_OK; i++) {
        const kvi_header *h = &req->headers[i];
        if (!h->name || !*h->name) {
            st = kvi_error_set(err, KVSWS_E_INTERNAL, "HTTP header %zu has no name", i);
            break;
        }
        size_t name_len = strlen(h->name);
        if (kvi_curl_name_is(h->name, name_len, "Host"))
            continue;
        if (kvi_curl_name_is(h->name, name_len, "Content-Type"))
            has_content_type = 1;
        const char *value = h->value ? h->value : "";
        /* A line break would let a value start a header of its own; values are not echoed
         * because one of them is the Authorization header. */
        if (has_line_break(h->name) || has_line_break(value) || strchr(h->name, ':')) {
            st = kvi_error_set(err, KVSWS_E_PARAM_VALIDATION,
                               "HTTP header \"%s\" has a line break or colon in it", h->name);
            break;
        }
        kvi_buf_reset(&line);
        /* "Name;" is curl's spelling of a header with an empty value. */
        int rc = *value ? kvi_buf_printf(&line, "%s: %s", h->name, value)
                        : kvi_buf_printf(&line, "%s;", h->name);
        struct curl_slist *next = rc == 0 ? curl_slist_append(list, kvi_buf_str(&line)) : NULL;
        if (!next)
            st = kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory building HTTP headers");
        else
            list = next;
    }
    /* The line held an Authorization value: wipe it. */
    kvi_buf_free_secret(&line);
    const char *extra[2] = {"Expect:", has_content_type ? NULL : "Content-Type:"};
    for (size_t i = 0; i < 2 && st == KVSWS_OK; i++) {
        if (!extra[i])
            continue;
        struct curl_slist *next = curl_slist_append(list, extra[i]);
        if (!next)
            st = kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory building HTTP headers");
        else
            list = next;
    }
    if (st != KVSWS_OK) {
        slist_free_secret(list);
        list = NULL;
    }
    *out = list;
    return st;
}

static int set_options(kvi_http_pool *pool, CURL *e, const kvi_http_request *req,
                       struct curl_slist *headers, xfer *x, char *errbuf)
{
    long connect_ms = pool->connect_timeout_ms < pool->request_timeout_ms
                          ? pool->connect_timeout_ms
                          : pool->request_timeout_ms;
    CURLcode rc = kvi_curl_set_common(e, errbuf, pool->ca_bundle, pool->ca_store, connect_ms);
#define SET(opt, val)                                  \
    do {                                               \
        if (rc == CURLE_OK)                            \
            rc = curl_easy_setopt(e, opt, val);        \
    } while (0)
    SET(CURLOPT_URL, req->url);
    SET(CURLOPT_PROTOCOLS_STR, "https,http");
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    if (pool->user_agent)
        SET(CURLOPT_USERAGENT, pool->user_agent);
    if (pool->client_cert) {
        SET(CURLOPT_SSLCERT, pool->client_cert);
        SET(CURLOPT_SSLCERTTYPE, "PEM");
        SET(CURLOPT_SSLKEY, pool->client_key);
        SET(CURLOPT_SSLKEYTYPE, "PEM");
    }
    SET(CURLOPT_HTTPHEADER, headers);
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, x);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, x);
    SET(CURLOPT_NOPROGRESS, 0L);
    SET(CURLOPT_XFERINFOFUNCTION, on_progress);
    SET(CURLOPT_XFERINFODATA, x);
    SET(CURLOPT_PREREQFUNCTION, on_prereq);
    SET(CURLOPT_PREREQDATA, x);

    const char *m = req->method;
    const void *body = req->body && req->body_len ? req->body : "";
    if (strcmp(m, "GET") == 0 && req->body_len == 0) {
        SET(CURLOPT_HTTPGET, 1L);
    } else if (strcmp(m, "HEAD") == 0) {
        SET(CURLOPT_NOBODY, 1L);
    } else {
        /* The size goes first so a body holding NUL bytes is sent whole. */
        SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        SET(CURLOPT_POSTFIELDS, body);
        if (strcmp(m, "POST") != 0)
            SET(CURLOPT_CUSTOMREQUEST, m);
    }
#undef SET
    return rc == CURLE_OK ? 0 : -1;
}

/* Turns a failed transfer into a status and botocore's one-line message. */
static kvsws_status transfer_error(CURLcode rc, const xfer *x, const char *url, char *errbuf,
                                   kvsws_error *err)
{
    const char *reason = kvi_curl_reason(rc, errbuf);
    kvsws_status st;
    if (x->oom || rc == CURLE_OUT_OF_MEMORY) {
        st = kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory reading \"%s\"", url);
    } else if (x->too_large) {
        st = kvi_error_set(err, KVSWS_E_TRANSPORT,
                           "Response too large (over %zu bytes) from endpoint URL: \"%s\"",
                           BODY_MAX, url);
    } else if (x->cancelled || rc == CURLE_ABORTED_BY_CALLBACK) {
        st = kvi_error_set(err, KVSWS_E_CANCELLED, "Cancelled calling endpoint URL: \"%s\"", url);
    } else if (rc == CURLE_OPERATION_TIMEDOUT && x->connected) {
        /* Only the connect phase has a libcurl timeout; our own read timer is separate. */
        st = kvi_error_set(err, KVSWS_E_READ_TIMEOUT, "Read timeout on endpoint URL: \"%s\"", url);
    } else if (rc == CURLE_GOT_NOTHING || rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR ||
               rc == CURLE_PARTIAL_FILE) {
        st = kvi_error_set(err, KVSWS_E_TRANSPORT,
                           "Connection was closed before we received a valid response from "
                           "endpoint URL: \"%s\". (%s)",
                           url, reason);
    } else if ((st = kvi_curl_connect_error(rc, url, reason, err)) == KVSWS_OK) {
        st = kvi_error_set(err, KVSWS_E_TRANSPORT,
                           "An HTTP Client raised an unhandled exception: %s (endpoint URL: "
                           "\"%s\")",
                           reason, url);
    }
    if (err)
        err->retryable = kvi_retry_is_retryable_transport(st);
    return st;
}

/* The whole exchange took too long, however steadily bytes came: urllib3's total timeout,
 * which reads as a connect timeout while connecting and as a read timeout after. */
static kvsws_status deadline_error(int connected, const char *url, long total_ms,
                                   kvsws_error *err)
{
    kvsws_status st =
        connected ? kvi_error_set(err, KVSWS_E_READ_TIMEOUT,
                                  "Read timeout on endpoint URL: \"%s\" (no complete answer "
                                  "within the request timeout of %ld ms)",
                                  url, total_ms)
                  : kvi_error_set(err, KVSWS_E_CONNECT_TIMEOUT,
                                  "Connect timeout on endpoint URL: \"%s\" (not connected "
                                  "within the request timeout of %ld ms)",
                                  url, total_ms);
    if (err)
        err->retryable = 1;
    return st;
}

kvsws_status kvi_http_perform(kvi_http_pool *pool, const kvi_http_request *req,
                              kvi_http_response *out, kvsws_error *err)
{
    if (out)
        memset(out, 0, sizeof *out);
    if (!pool || !req || !req->url || !req->method || !out)
        return kvi_error_set(err, KVSWS_E_INTERNAL, "kvi_http_perform called without a request");
    if (req->header_count && !req->headers)
        return kvi_error_set(err, KVSWS_E_INTERNAL, "kvi_http_perform: headers missing");

    char *url = kvi_curl_url_for_message(req->url);
    if (!url)
        return kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory");
    if (cancel_requested(req->cancel_flag)) {
        kvsws_status st = kvi_error_set(err, KVSWS_E_CANCELLED,
                                        "Cancelled calling endpoint URL: \"%s\"", url);
        free(url);
        return st;
    }

    struct curl_slist *headers = NULL;
    kvsws_status st = build_headers(req, &headers, err);
    if (st != KVSWS_OK) {
        free(url);
        return st;
    }
    http_slot *slot = pool_take(pool);
    if (!slot) {
        slist_free_secret(headers);
        free(url);
        return kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory creating a connection");
    }

    xfer x;
    memset(&x, 0, sizeof x);
    x.cancel_flag = req->cancel_flag;
    x.keep_all = req->keep_headers;
    x.last_activity_ms = now_ms();
    char errbuf[CURL_ERROR_SIZE];
    errbuf[0] = '\0';

    if (set_options(pool, slot->easy, req, headers, &x, errbuf) != 0) {
        st = kvi_error_set(err, KVSWS_E_INTERNAL, "libcurl rejected an option for \"%s\"", url);
        goto done;
    }

    CURLMcode mc = curl_multi_add_handle(slot->multi, slot->easy);
    if (mc != CURLM_OK) {
        st = kvi_error_set(err, mc == CURLM_OUT_OF_MEMORY ? KVSWS_E_NO_MEMORY : KVSWS_E_INTERNAL,
                           "libcurl: %s", curl_multi_strerror(mc));
        goto done;
    }

    /* Our own loop instead of curl_easy_perform: it wakes at least every POLL_MS, so a cancel
     * lands within that and the read timeout ("no byte either way for N ms") is exact to it;
     * libcurl's LOW_SPEED_TIME only has whole seconds. The total deadline is ours too, so that
     * it reads as a connect or a read timeout depending on where the exchange was. */
    enum { RUNNING, CANCELLED, READ_TIMEOUT, DEADLINE } stop = RUNNING;
    int64_t deadline = x.last_activity_ms + pool->request_timeout_ms;
    int still_running = 1;
    for (;;) {
        mc = curl_multi_perform(slot->multi, &still_running);
        if (mc != CURLM_OK || !still_running)
            break;
        if (req->on_wait)
            req->on_wait(req->on_wait_userdata);
        if (x.cancelled || cancel_requested(req->cancel_flag)) {
            stop = CANCELLED;
            break;
        }
        int64_t left = deadline - now_ms();
        if (left <= 0) {
            stop = DEADLINE;
            break;
        }
        long wait = left < POLL_MS ? (long)left : POLL_MS;
        if (x.connected) {
            int64_t idle = now_ms() - x.last_activity_ms;
            if (idle >= pool->read_timeout_ms) {
                stop = READ_TIMEOUT;
                break;
            }
            if (pool->read_timeout_ms - idle < wait)
                wait = (long)(pool->read_timeout_ms - idle);
        }
        mc = curl_multi_poll(slot->multi, NULL, 0, (int)wait, NULL);
        if (mc != CURLM_OK)
            break;
    }

    CURLcode rc = CURLE_OK;
    if (stop == RUNNING && mc == CURLM_OK) {
        int queued = 0;
        CURLMsg *msg;
        rc = CURLE_RECV_ERROR; /* replaced below; a finished transfer always leaves a message */
        while ((msg = curl_multi_info_read(slot->multi, &queued)) != NULL)
            if (msg->msg == CURLMSG_DONE && msg->easy_handle == slot->easy)
                rc = msg->data.result;
    }
    /* Removing an unfinished transfer closes its connection; a finished one stays cached. */
    curl_multi_remove_handle(slot->multi, slot->easy);

    if (stop == CANCELLED) {
        x.cancelled = 1;
        st = transfer_error(CURLE_ABORTED_BY_CALLBACK, &x, url, NULL, err);
    } else if (stop == READ_TIMEOUT) {
        st = kvi_error_set(err, KVSWS_E_READ_TIMEOUT, "Read timeout on endpoint URL: \"%s\"", url);
        if (err)
            err->retryable = 1;
    } else if (stop == DEADLINE) {
        st = deadline_error(x.connected, url, pool->request_timeout_ms, err);
    } else if (mc != CURLM_OK) {
        st = kvi_error_set(err, mc == CURLM_OUT_OF_MEMORY ? KVSWS_E_NO_MEMORY : KVSWS_E_TRANSPORT,
                           "libcurl: %s (endpoint URL: \"%s\")", curl_multi_strerror(mc), url);
    } else if (rc != CURLE_OK || x.oom) {
        st = transfer_error(rc, &x, url, errbuf, err);
    } else {
        long code = 0;
        curl_easy_getinfo(slot->easy, CURLINFO_RESPONSE_CODE, &code);
        out->status = (int)code;
        out->body = x.body;
        memset(&x.body, 0, sizeof x.body);
        out->request_id = x.request_id ? x.request_id : x.request_id_alt;
        if (x.request_id)
            free(x.request_id_alt);
        out->error_type = x.error_type;
        out->date = x.date;
        x.request_id = x.request_id_alt = x.error_type = x.date = NULL;
        st = KVSWS_OK;
        if (x.keep_all && !(out->headers = headers_to_object(&x))) {
            kvi_http_response_free(out);
            st = kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory");
        }
    }

done:
    kvi_buf_free(&x.body);
    xfer_clear_headers(&x);
    pool_give(pool, slot);
    slist_free_secret(headers);
    free(url);
    return st;
}
