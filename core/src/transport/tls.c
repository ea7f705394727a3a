/* SPDX-License-Identifier: Apache-2.0 */
/* tls.c - TLS with OpenSSL on a socket we own: the WebSocket's connection, so that no libcurl
 * handle (and no descriptor libcurl keeps beside it) lives as long as the connection does.
 *
 * OpenSSL's error queue is per thread: every call clears it first and reads it right after.
 */
#include "transport/tls.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/error.h"
#include "base/retry.h"

struct kvi_tls {
    SSL *ssl;
    int sock;
    int broken;    /* a fatal error happened: no close_notify may follow */
    int eof;       /* the socket read its end: OpenSSL asks (BIO_CTRL_EOF) */
    char why[200]; /* the last failure, for kvi_tls_read / _write's *why */
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the socket BIO: OpenSSL's own writes with write(), which raises SIGPIPE on a closed
 * connection and kills an application that did not ignore it; ours sends with MSG_NOSIGNAL. */

static BIO_METHOD *socket_method; /* written once under method_once, read-only after */
static pthread_once_t method_once = PTHREAD_ONCE_INIT;

static kvi_tls *bio_conn(BIO *b) { return BIO_get_data(b); }

/* EAGAIN and EINTR are "try again"; the caller waits on the socket. */
static int retry_errno(int e) { return e == EAGAIN || e == EWOULDBLOCK || e == EINTR; }

static int bio_write(BIO *b, const char *data, size_t len, size_t *written)
{
    BIO_clear_retry_flags(b);
    ssize_t n = send(bio_conn(b)->sock, data, len, MSG_NOSIGNAL);
    if (n >= 0) {
        *written = (size_t)n;
        return 1;
    }
    if (retry_errno(errno))
        BIO_set_retry_write(b);
    return 0;
}

static int bio_read(BIO *b, char *data, size_t size, size_t *got)
{
    BIO_clear_retry_flags(b);
    ssize_t n = recv(bio_conn(b)->sock, data, size, 0);
    if (n > 0) {
        *got = (size_t)n;
        return 1;
    }
    if (n < 0 && retry_errno(errno))
        BIO_set_retry_read(b);
    if (n == 0)
        bio_conn(b)->eof = 1;
    return 0;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)num, (void)ptr;
    if (cmd == BIO_CTRL_EOF) /* how OpenSSL tells the end of the stream from an error */
        return bio_conn(b)->eof;
    return cmd == BIO_CTRL_FLUSH ? 1 : 0; /* nothing is buffered here */
}

static void make_method(void)
{
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "kvsws socket");
    if (m && BIO_meth_set_write_ex(m, bio_write) == 1 && BIO_meth_set_read_ex(m, bio_read) == 1 &&
        BIO_meth_set_ctrl(m, bio_ctrl) == 1) {
        socket_method = m;
        return;
    }
    BIO_meth_free(m);
}

/* A BIO over t's socket that never raises SIGPIPE; NULL when out of memory. */
static BIO *socket_bio(kvi_tls *t)
{
    pthread_once(&method_once, make_method);
    BIO *b = socket_method ? BIO_new(socket_method) : NULL;
    if (b) {
        BIO_set_data(b, t);
        BIO_set_init(b, 1);
    }
    return b;
}

/* ---- the connection ----------------------------------------------------------------------- */

/* Why OpenSSL failed, as one line: its first queued error, else the socket's errno. */
static const char *failure_text(char *out, size_t size, int ssl_error, int saved_errno)
{
    unsigned long e = ERR_get_error();
    ERR_clear_error();
    if (e != 0)
        ERR_error_string_n(e, out, size);
    if (e == 0 && ssl_error == SSL_ERROR_SYSCALL && saved_errno != 0) {
        char buf[128];
        snprintf(out, size, "%s", strerror_r(saved_errno, buf, sizeof buf)); /* GNU's */
    } else if (e == 0) {
        snprintf(out, size, "the TLS connection failed (OpenSSL error %d)", ssl_error);
    }
    return out;
}

/* The handshake's failure, with http.c's statuses and libcurl's wording. */
static kvsws_status handshake_error(const kvi_tls *t, int ssl_error, int saved_errno,
                                    const char *host, const char *shown, kvsws_error *err)
{
    long verify = SSL_get_verify_result(t->ssl);
    char text[200];
    kvsws_status st;
    if (verify == X509_V_ERR_HOSTNAME_MISMATCH || verify == X509_V_ERR_IP_ADDRESS_MISMATCH)
        st = kvi_error_set(err, KVSWS_E_TLS,
                           "SSL validation failed for %s SSL: no alternative certificate subject "
                           "name matches target host name '%s'",
                           shown, host);
    else if (verify != X509_V_OK)
        st = kvi_error_set(err, KVSWS_E_TLS,
                           "SSL validation failed for %s SSL certificate problem: %s", shown,
                           X509_verify_cert_error_string(verify));
    else if (ssl_error == SSL_ERROR_SYSCALL || ssl_error == SSL_ERROR_ZERO_RETURN)
        st = kvi_error_set(err, KVSWS_E_TLS,
                           "SSL validation failed for %s the connection closed during the TLS "
                           "handshake (%s)",
                           shown, failure_text(text, sizeof text, ssl_error, saved_errno));
    else
        st = kvi_error_set(err, KVSWS_E_TLS, "SSL validation failed for %s %s", shown,
                           failure_text(text, sizeof text, ssl_error, saved_errno));
    if (err)
        err->retryable = kvi_retry_is_retryable_transport(st);
    return st;
}

/* Per connection: what this host's peer must prove, and how the bytes move. */
static int configure(kvi_tls *t, const char *host)
{
    SSL *ssl = t->ssl;
    static const unsigned char alpn[] = "\x08http/1.1";
    X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
    int is_ip = X509_VERIFY_PARAM_set1_ip_asc(param, host) == 1;
    /* the WebSocket's frames tell a truncated stream; a bare TCP close reads as the end */
    SSL_set_options(ssl, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION);
    SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_set_verify(ssl, SSL_VERIFY_PEER, NULL);
    SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS); /* as libcurl checks names */
    BIO *bio = socket_bio(t);
    if (!bio)
        return 0;
    SSL_set_bio(ssl, bio, bio); /* the SSL owns it now */
    return SSL_set_min_proto_version(ssl, TLS1_2_VERSION) == 1 &&
           (is_ip || (SSL_set_tlsext_host_name(ssl, host) == 1 && SSL_set1_host(ssl, host) == 1)) &&
           SSL_set_alpn_protos(ssl, alpn, sizeof alpn - 1) == 0;
}

/* Waits for the socket; 1 ready (or in error), 0 deadline passed, -1 cancelled. */
static int wait_socket(int sock, short events, int64_t deadline, const int *cancel)
{
    for (;;) {
        if (cancel && __atomic_load_n(cancel, __ATOMIC_SEQ_CST))
            return -1;
        int64_t left = deadline - now_ms();
        if (left <= 0)
            return 0;
        struct pollfd pfd = {sock, events, 0};
        int n = poll(&pfd, 1, left > 100 ? 100 : (int)left);
        if (n > 0 || (n < 0 && errno != EINTR))
            return 1;
    }
}

kvsws_status kvi_tls_connect(int sock, kvi_ca_store *trust, const char *host, int64_t deadline,
                             const int *cancel, const char *shown, kvi_tls **out,
                             kvsws_error *err)
{
    *out = NULL;
    kvi_tls *t = calloc(1, sizeof *t);
    if (!t) {
        close(sock);
        return kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory securing \"%s\"", shown);
    }
    t->sock = sock;
    ERR_clear_error();
    kvsws_status st = KVSWS_OK;
    char text[200];
    SSL_CTX *ctx = kvi_ca_store_tls_context(trust, text, sizeof text);
    if (!ctx) {
        st = kvi_error_set(err, KVSWS_E_TLS, "SSL validation failed for %s %s", shown, text);
        goto fail;
    }
    t->ssl = SSL_new(ctx);
    SSL_CTX_free(ctx); /* the connection holds its own reference */
    if (!t->ssl || !configure(t, host)) {
        st = kvi_error_set(err, KVSWS_E_TLS, "SSL validation failed for %s %s", shown,
                           failure_text(text, sizeof text, SSL_ERROR_SSL, 0));
        goto fail;
    }
    for (;;) {
        ERR_clear_error();
        int r = SSL_connect(t->ssl);
        if (r == 1)
            break;
        int saved_errno = errno;
        int e = SSL_get_error(t->ssl, r);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
            st = handshake_error(t, e, saved_errno, host, shown, err);
            goto fail;
        }
        int w = wait_socket(sock, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline, cancel);
        if (w < 0) {
            st = kvi_error_set(err, KVSWS_E_CANCELLED, "The WebSocket connect was cancelled");
            goto fail;
        }
        if (w == 0) {
            st = kvi_error_set(err, KVSWS_E_CONNECT_TIMEOUT,
                               "Connect timeout on endpoint URL: \"%s\"", shown);
            if (err)
                err->retryable = kvi_retry_is_retryable_transport(st);
            goto fail;
        }
    }
    *out = t;
    return KVSWS_OK;

fail:
    ERR_clear_error();
    SSL_free(t->ssl); /* no close_notify: the handshake never finished */
    close(sock);
    free(t);
    return st;
}

/* An I/O call's outcome from SSL_get_error; DONE only for a clean end of stream. */
static kvi_tls_io io_result(kvi_tls *t, int r, int saved_errno, const char **why)
{
    int e = SSL_get_error(t->ssl, r);
    switch (e) {
    case SSL_ERROR_WANT_READ:
        return KVI_TLS_WANT_READ;
    case SSL_ERROR_WANT_WRITE:
        return KVI_TLS_WANT_WRITE;
    case SSL_ERROR_ZERO_RETURN:
        return KVI_TLS_DONE;
    default:
        t->broken = 1;
        *why = failure_text(t->why, sizeof t->why, e, saved_errno);
        return KVI_TLS_FAILED;
    }
}

kvi_tls_io kvi_tls_read(kvi_tls *t, void *buf, size_t size, size_t *n, const char **why)
{
    *n = 0;
    ERR_clear_error();
    int r = SSL_read_ex(t->ssl, buf, size, n);
    if (r == 1)
        return KVI_TLS_DONE;
    *n = 0;
    return io_result(t, r, errno, why);
}

kvi_tls_io kvi_tls_write(kvi_tls *t, const void *buf, size_t len, size_t *n, const char **why)
{
    *n = 0;
    ERR_clear_error();
    int r = SSL_write_ex(t->ssl, buf, len, n);
    if (r == 1)
        return KVI_TLS_DONE;
    *n = 0;
    kvi_tls_io io = io_result(t, r, errno, why);
    if (io == KVI_TLS_DONE) { /* the peer's close_notify: it reads no more */
        *why = "the server closed the TLS connection";
        return KVI_TLS_FAILED;
    }
    return io;
}

void kvi_tls_close(kvi_tls *t)
{
    if (!t)
        return;
    ERR_clear_error();
    /* close_notify once, without waiting for the peer's: the socket closes right after */
    if (!t->broken && !(SSL_get_shutdown(t->ssl) & SSL_SENT_SHUTDOWN))
        SSL_shutdown(t->ssl);
    ERR_clear_error();
    SSL_free(t->ssl);
    close(t->sock);
    free(t);
}
