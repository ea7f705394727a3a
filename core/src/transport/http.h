/* SPDX-License-Identifier: Apache-2.0 */
/* http.h - HTTPS over libcurl: one pool of kept-alive connections per client, TLS verified. */
#ifndef KVSWS_HTTP_H
#define KVSWS_HTTP_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "aws/sigv4.h"
#include "base/buf.h"
#include "kvsws.h"

typedef struct kvi_http_options {
    const char *ca_bundle;      /* NULL: the system store */
    struct kvi_ca_store *ca_store; /* the client's CA store: used instead of ca_bundle */
    long connect_timeout_ms;
    long read_timeout_ms;       /* no bytes received for this long -> KVSWS_E_READ_TIMEOUT */
    const char *user_agent;     /* "kvsws/0.1.0 ..." */
    long request_timeout_ms;    /* one exchange, connect to last byte; 0: the default */
    const char *client_cert;    /* PEM file: mutual TLS (the AWS IoT credentials provider) */
    const char *client_key;     /* PEM file of client_cert's private key */
} kvi_http_options;

typedef struct kvi_http_request {
    const char *method;
    const char *url;            /* full URL, already encoded */
    const kvi_header *headers;  /* sent as given (Host is set by libcurl from the URL; pass it
                                   anyway for signing, it is skipped when sending) */
    size_t header_count;
    const void *body;
    size_t body_len;
    /* Cancellation: checked during the transfer; returns KVSWS_E_CANCELLED when it reads 1. */
    const volatile int *cancel_flag;
    int keep_headers;           /* 1: every response header goes into headers */
    /* NULL, or called each time the transfer's wait wakes (a socket event, a signal, or every
     * 50 ms): a binding's own cancel reason (Ctrl-C) can set *cancel_flag there. */
    void (*on_wait)(void *userdata);
    void *on_wait_userdata;
} kvi_http_request;

typedef struct kvi_http_response {
    int status;
    kvi_buf body;
    char *request_id;          /* x-amzn-RequestId (or x-amz-request-id), NULL if absent */
    char *error_type;          /* x-amzn-ErrorType, NULL if absent */
    char *date;                /* Date, NULL if absent */
    cJSON *headers;            /* with keep_headers: {"lower-case-name": "value", ...} */
} kvi_http_response;

void kvi_http_response_free(kvi_http_response *r);

typedef struct kvi_http_pool kvi_http_pool;

kvi_http_pool *kvi_http_pool_new(const kvi_http_options *opts);
void kvi_http_pool_free(kvi_http_pool *pool);

/*
 * Performs one request on a pooled connection (HTTP/1.1, keep-alive, TLS peer and host verified,
 * proxies from the environment as libcurl reads them). Thread-safe: concurrent calls use
 * different connections. Any HTTP status is a success here (KVSWS_OK with out->status set);
 * failures are transport ones: KVSWS_E_CONNECT, _CONNECT_TIMEOUT, _READ_TIMEOUT, _TLS,
 * _TRANSPORT, _CANCELLED, with a one-line reason in err. Response bodies are capped at 1 MiB.
 * Three clocks bound it: connect_timeout_ms until connected, read_timeout_ms of silence after,
 * and request_timeout_ms over the whole exchange (a trickled answer ends there: connect timeout
 * while connecting, read timeout after, both retryable).
 */
kvsws_status kvi_http_perform(kvi_http_pool *pool, const kvi_http_request *req,
                              kvi_http_response *out, kvsws_error *err);

#endif
