/* SPDX-License-Identifier: Apache-2.0 */
/* fetch.h - HTTPS for the credential providers that call AWS (STS, the IAM Identity
 * Center portal, the AWS IoT credentials provider): the client's connection pool and CA bundle,
 * a few attempts on transient failures, the endpoint each of them goes to, and the answer read
 * the same way for each, in the provider's words. */
#ifndef KVSWS_CREDENTIALS_FETCH_H
#define KVSWS_CREDENTIALS_FETCH_H

#include "aws/aws_error.h"
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

/* What is a provider's own in a credential call: how it words its errors and reads a 200
 * answer. Each function gets self, the provider's own state. */
typedef struct kvi_fetch_provider {
    const void *self;
    kvi_fetch_retryable_fn retryable;
    /* Starts every message: "Error when retrieving credentials from ... : ". */
    void (*put_prefix)(kvi_buf *msg, const void *self);
    /* NULL, or what a transport failure's reason means here (before the transport's words). */
    void (*put_transport_hint)(kvi_buf *msg, const char *reason, const void *self);
    /* kvi_fetch_credentials: a 200 answer's credentials; NULL, or a static reason... */
    const char *(*parse)(const kvi_buf *body, kvi_credentials *out);
    /* ...which this words, after the prefix. */
    void (*put_unusable)(kvi_buf *msg, const char *why, const void *self);
    /* Any other answer, after the prefix: the service's error in the provider's words (ae's
     * code, message and request id come from the answer: sanitize them). */
    void (*put_refusal)(kvi_buf *msg, const kvi_aws_error *ae, int http_status, int attempts,
                        const void *self);
} kvi_fetch_provider;

/* kvi_fetch with p's retryable: KVSWS_OK with *resp for any HTTP answer, else
 * KVSWS_E_CREDENTIAL_RETRIEVAL (out of memory stays itself) in p's words (prefix, hint) with
 * the transport's own words, the attempts and its retryable flag. Free *resp with
 * kvi_fetch_response_free, whatever the status. */
kvsws_status kvi_fetch_answer(const kvi_provider_ctx *ctx, const kvi_http_request *req,
                              const kvi_fetch_provider *p, kvi_http_response *resp, int *attempts,
                              kvsws_error *err);

/* kvi_fetch_answer, then p->parse on a 200 answer, else KVSWS_E_CREDENTIAL_RETRIEVAL with the
 * service's error (kvi_aws_error_parse) in p's words, the HTTP status and p's retryable flag.
 * The answer is cleansed and freed. */
kvsws_status kvi_fetch_credentials(const kvi_provider_ctx *ctx, const kvi_http_request *req,
                                   const kvi_fetch_provider *p, kvi_credentials *out,
                                   kvsws_error *err);

/* The endpoint for kind (KVI_ENDPOINT_STS, KVI_ENDPOINT_SSO): configured as endpoints.h says
 * (AWS_ENDPOINT_URL_STS / _SSO, AWS_ENDPOINT_URL, the profile's services section or endpoint_url,
 * looked up in ctx's profile), else https://PREFIX[-fips].REGION.SUFFIX for the given region.
 * NULL region: STS's global endpoint (https://sts.amazonaws.com). A configured URL must be
 * https (the error names where it came from). *url malloc'd. */
kvsws_status kvi_fetch_endpoint(const kvi_provider_ctx *ctx, int kind, const char *prefix,
                                const char *region, char **url, kvsws_error *err);

#endif
