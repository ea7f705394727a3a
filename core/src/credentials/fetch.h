/* SPDX-License-Identifier: Apache-2.0 */
/* fetch.h - HTTPS for the credential providers that call AWS (STS, the IAM Identity
 * Center portal): the client's connection pool and CA bundle, a few attempts on transient
 * failures, and the endpoint each of them goes to. */
#ifndef KVSWS_CREDENTIALS_FETCH_H
#define KVSWS_CREDENTIALS_FETCH_H

#include "credentials/credentials.h"
#include "transport/http.h"

/* Attempts per credential call (botocore's nested clients retry too), and the backoff base. */
#define KVI_FETCH_ATTEMPTS 3
#define KVI_FETCH_BACKOFF_MS 200

/* Says whether an HTTP answer is worth another attempt (5xx, throttling, ...). */
typedef int (*kvi_fetch_retryable_fn)(const kvi_http_response *resp);

/*
 * Sends req through ctx's pool (a pool of its own with the system CAs when ctx has none), up to
 * KVI_FETCH_ATTEMPTS times with jittered backoff while the transport error or the answer is
 * retryable. KVSWS_OK with *out set for any HTTP answer (the last one), else the transport
 * status with err set; *attempts says how many were made. Response bodies are cleansed by
 * kvi_fetch_response_free (they carry credentials).
 */
kvsws_status kvi_fetch(const kvi_provider_ctx *ctx, const kvi_http_request *req,
                       kvi_fetch_retryable_fn retryable, kvi_http_response *out, int *attempts,
                       kvsws_error *err);
void kvi_fetch_response_free(kvi_http_response *r);

/* After kvi_fetch failed with status st: msg (which holds the provider's prefix) gets the
 * transport's own words and the attempts, and err becomes KVSWS_E_CREDENTIAL_RETRIEVAL with that
 * message and the transport's retryable flag (out of memory stays itself). Frees terr and msg. */
kvsws_status kvi_fetch_failed(kvsws_status st, kvsws_error *terr, int attempts, kvi_buf *msg,
                              kvsws_error *err);

/* The endpoint for kind (KVI_ENDPOINT_STS, KVI_ENDPOINT_SSO): configured as endpoints.h says
 * (AWS_ENDPOINT_URL_STS / _SSO, AWS_ENDPOINT_URL, the profile's services section or endpoint_url,
 * looked up in ctx's profile), else https://PREFIX[-fips].REGION.SUFFIX for the given region.
 * NULL region: STS's global endpoint (https://sts.amazonaws.com). A configured URL must be
 * https (the error names where it came from). *url malloc'd. */
kvsws_status kvi_fetch_endpoint(const kvi_provider_ctx *ctx, int kind, const char *prefix,
                                const char *region, char **url, kvsws_error *err);

#endif
