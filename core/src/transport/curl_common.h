/* SPDX-License-Identifier: Apache-2.0 */
/* curl_common.h - what the two libcurl users (http.c, websocket.c) share: the global init, the
 * options every connection of ours has, URLs as messages show them, and failure statuses. */
#ifndef KVSWS_CURL_COMMON_H
#define KVSWS_CURL_COMMON_H

#include <curl/curl.h>
#include <openssl/ssl.h>
#include <stddef.h>

#include "kvsws.h"

/* Every exchange's three clocks, by default (the options of the same names override them):
 * connect (TCP + TLS) 10 s: a dead endpoint fails over to the next attempt quickly, yet a slow
 * link's handshake fits (the KVS C SDKs allow 2-5 s, aws-sdk-go-v2 30 s, botocore 60 s);
 * read 60 s of silence, botocore's; request 30 s from the first byte to the last: AWS's own
 * API Gateway gives up on a backend after 29 s, so no real answer takes longer, while a
 * trickling peer (which no inactivity timeout catches) ends there. */
#define KVI_HTTP_CONNECT_TIMEOUT_MS 10000L
#define KVI_HTTP_READ_TIMEOUT_MS 60000L
#define KVI_HTTP_REQUEST_TIMEOUT_MS 30000L

/* Takes libcurl's global init for one user (a pool, a connection). 0 on success, with *holds
 * set to 1 when the reference must be given back by kvi_curl_global_release; -1 on failure. */
int kvi_curl_global_acquire(int *holds);
void kvi_curl_global_release(int holds);

/* Does the n-byte name (an HTTP header name or token) equal lit, ignoring ASCII case? */
int kvi_curl_name_is(const char *name, size_t n, const char *lit);

/* The URL as messages show it (malloc'd, NULL when out of memory): no query or fragment (a
 * presigned URL carries a session token and a signature there) and no user:password@. */
char *kvi_curl_url_for_message(const char *url);

/* The trusted CAs of one client: ca_bundle, or NULL for libcurl's default CA file and
 * directory. Parsed once, at the first TLS handshake that needs them (creating a client stays
 * cheap), then shared by every connection (an OpenSSL X509_STORE is reference-counted and
 * thread-safe). A bundle that cannot be read fails that handshake as a TLS error. */
typedef struct kvi_ca_store kvi_ca_store;

kvi_ca_store *kvi_ca_store_new(const char *ca_bundle); /* NULL only when out of memory */
void kvi_ca_store_free(kvi_ca_store *store);

/* The client's TLS context for the connections we secure ourselves (tls.c): trusting the store,
 * built once; a new reference (SSL_CTX_free it). NULL with why filled in when the CAs cannot be
 * loaded (or out of memory). */
SSL_CTX *kvi_ca_store_tls_context(kvi_ca_store *store, char *why, size_t why_size);

/* The options every connection of ours has, TLS verification first among them. Trust comes from
 * ca_store when given (no per-connection parsing of the bundle), else from ca_bundle (NULL: the
 * system store); returns the first failure. */
CURLcode kvi_curl_set_common(CURL *e, char *errbuf, const char *ca_bundle,
                             kvi_ca_store *ca_store, long connect_timeout_ms);

/* Sets e's proxy as libcurl would choose one for an https:// URL to host, for a connection that
 * is an http:// URL to libcurl (ours secures it itself): https_proxy, HTTPS_PROXY, all_proxy,
 * ALL_PROXY, unless no_proxy / NO_PROXY names the host; a proxy tunnels (HTTP CONNECT).
 * KVSWS_E_CONFIG naming the variable for an https:// proxy (TLS to the proxy cannot carry ours). */
kvsws_status kvi_curl_tunnel_proxy(CURL *e, const char *host, kvsws_error *err);

/* Why rc failed, as one line: errbuf when libcurl filled it in (a trailing newline is cut off
 * in place), else libcurl's name for rc. errbuf may be NULL. */
const char *kvi_curl_reason(CURLcode rc, char *errbuf);

/* Sets err (botocore's wording, retryable flag) for a failure to get connected: host
 * unreachable, connect timeout, TLS, bad URL. KVSWS_OK, err untouched, for any other rc. */
kvsws_status kvi_curl_connect_error(CURLcode rc, const char *shown, const char *reason,
                                    kvsws_error *err);

#endif
