/* SPDX-License-Identifier: Apache-2.0 */
/* retry.c - the standard retry mode's classification (botocore retries/standard.py) and backoff. */
#include "base/retry.h"

#include <stddef.h>
#include <string.h>

/* ASCII-only so the user's locale never changes what matches. */
static int lower(int c) { return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c; }

static int eq_ci(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (lower((unsigned char)*a) != lower((unsigned char)*b))
            return 0;
    return *a == *b;
}

static int in_list_ci(const char *code, const char *const *list)
{
    if (!code)
        return 0;
    for (size_t i = 0; list[i]; i++)
        if (eq_ci(code, list[i]))
            return 1;
    return 0;
}

/* Case-insensitive substring search; whole_word keeps "tps" from matching inside "https". */
static int contains_ci(const char *hay, const char *needle, int whole_word)
{
    size_t n = strlen(needle);
    for (const char *p = hay; *p; p++) {
        size_t i = 0;
        while (i < n && p[i] && lower((unsigned char)p[i]) == lower((unsigned char)needle[i]))
            i++;
        if (i != n)
            continue;
        if (!whole_word)
            return 1;
        int before_ok = p == hay || !((p[-1] >= 'a' && p[-1] <= 'z') ||
                                      (p[-1] >= 'A' && p[-1] <= 'Z'));
        char after = p[n];
        int after_ok = !((after >= 'a' && after <= 'z') || (after >= 'A' && after <= 'Z'));
        if (before_ok && after_ok)
            return 1;
    }
    return 0;
}

/* botocore StandardRetryConditions / ThrottlingErrorDetector lists. */
static const char *const THROTTLE_CODES[] = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
    NULL,
};

static const char *const TRANSIENT_CODES[] = {
    "RequestTimeout",
    "RequestTimeoutException",
    "PriorRequestNotComplete",
    NULL,
};

/*
 * ClientLimitExceededException covers both a call-rate throttle and a count limit (viewers per
 * channel / storage session, connected clients). Real rate messages look like "Limit exceeded on
 * number of requests for GetDataEndpoint API for resource '...'" - note that the API name can
 * contain "Viewer", so rate phrases are checked first. Count phrases make it final; a message
 * that says neither (or no message) is treated as the documented "try making the call later".
 */
static int client_limit_is_rate(const char *message)
{
    if (!message || !*message)
        return 1;
    static const char *const rate[] = {
        "number of requests", "request rate", "requests per second", "rate exceeded",
        "rate limit", "too many requests", "throttl", "call rate", "concurrent request", NULL,
    };
    for (size_t i = 0; rate[i]; i++)
        if (contains_ci(message, rate[i], 0))
            return 1;
    if (contains_ci(message, "tps", 1))
        return 1;
    static const char *const count[] = {
        "viewer", "maximum number of", "max number of", "connected client", "number of client",
        "number of connection", "participant", "number of session", NULL,
    };
    for (size_t i = 0; count[i]; i++)
        if (contains_ci(message, count[i], 0))
            return 0;
    return 1;
}

int kvi_retry_is_throttle(const char *code, const char *message)
{
    if (!code)
        return 0;
    if (in_list_ci(code, THROTTLE_CODES))
        return 1;
    return eq_ci(code, "ClientLimitExceededException") && client_limit_is_rate(message);
}

int kvi_retry_is_retryable_service(const char *code, int http_status, const char *message)
{
    if (http_status == 500 || http_status == 502 || http_status == 503 || http_status == 504)
        return 1;
    /* 429 is a throttle by definition (RFC 6585); gateways send it bare, without an AWS code. */
    if (http_status == 429)
        return 1;
    if (in_list_ci(code, TRANSIENT_CODES))
        return 1;
    return kvi_retry_is_throttle(code, message);
}

int kvi_retry_is_retryable_transport(kvsws_status status)
{
    switch (status) {
    case KVSWS_E_CONNECT:
    case KVSWS_E_CONNECT_TIMEOUT:
    case KVSWS_E_READ_TIMEOUT:
    case KVSWS_E_TRANSPORT:
        return 1;
    default:
        /* TLS failures, cancellation and unparseable 2xx bodies do not get better by retrying. */
        return 0;
    }
}

int64_t kvi_retry_backoff_ms(int attempt, int64_t base_ms, int64_t max_ms, double rand01)
{
    if (base_ms <= 0 || max_ms <= 0)
        return 0;
    if (attempt < 1)
        attempt = 1;
    /* Doubling stops once the cap is reached, so a huge attempt number cannot overflow. */
    int64_t cap = base_ms;
    for (int i = 1; i < attempt && cap < max_ms; i++)
        cap = cap > INT64_MAX / 2 ? INT64_MAX : cap * 2;
    if (cap > max_ms)
        cap = max_ms;
    if (!(rand01 >= 0.0)) /* also catches NaN */
        rand01 = 0.0;
    if (rand01 > 1.0)
        rand01 = 1.0;
    int64_t d = (int64_t)(rand01 * (double)cap);
    return d < 0 ? 0 : d > cap ? cap : d;
}
