/* SPDX-License-Identifier: Apache-2.0 */
/* test_retry.c - standard-mode classification and full-jitter backoff bounds. */
#include <math.h>
#include <stdint.h>

#include "check.h"
#include "base/retry.h"

static void test_service(void)
{
    /* Transient statuses, whatever the code. */
    CHECK_INT(kvi_retry_is_retryable_service("InternalFailure", 500, ""), 1);
    CHECK_INT(kvi_retry_is_retryable_service("502", 502, "Bad Gateway"), 1);
    CHECK_INT(kvi_retry_is_retryable_service("Whatever", 503, NULL), 1);
    CHECK_INT(kvi_retry_is_retryable_service(NULL, 504, NULL), 1);
    CHECK_INT(kvi_retry_is_retryable_service("501", 501, ""), 0);
    CHECK_INT(kvi_retry_is_retryable_service("505", 505, ""), 0);
    CHECK_INT(kvi_retry_is_retryable_service("429", 429, ""), 1);
    /* Transient codes. */
    CHECK_INT(kvi_retry_is_retryable_service("RequestTimeout", 400, ""), 1);
    CHECK_INT(kvi_retry_is_retryable_service("requesttimeoutexception", 408, ""), 1);
    CHECK_INT(kvi_retry_is_retryable_service("PriorRequestNotComplete", 400, ""), 1);
    /* Every throttling code. */
    static const char *const throttles[] = {
        "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
        "TooManyRequestsException", "ProvisionedThroughputExceededException",
        "TransactionInProgressException", "RequestLimitExceeded", "BandwidthLimitExceeded",
        "LimitExceededException", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
        "EC2ThrottledException",
    };
    for (size_t i = 0; i < sizeof throttles / sizeof throttles[0]; i++) {
        CHECK_INT(kvi_retry_is_retryable_service(throttles[i], 400, "x"), 1);
        CHECK_INT(kvi_retry_is_throttle(throttles[i], NULL), 1);
    }
    CHECK_INT(kvi_retry_is_throttle("THROTTLINGEXCEPTION", NULL), 1);
    /* Final errors. */
    static const char *const finals[] = {
        "AccessDeniedException", "InvalidArgumentException", "ResourceNotFoundException",
        "ResourceInUseException", "NotAuthorizedException", "InvalidClientException",
        "SessionExpiredException", "InvalidSignatureException", "UnrecognizedClientException",
        "ExpiredTokenException", "MissingAuthenticationTokenException", "400", "",
    };
    for (size_t i = 0; i < sizeof finals / sizeof finals[0]; i++) {
        CHECK_INT(kvi_retry_is_retryable_service(finals[i], 400, "m"), 0);
        CHECK_INT(kvi_retry_is_throttle(finals[i], "m"), 0);
    }
    CHECK_INT(kvi_retry_is_retryable_service(NULL, 403, NULL), 0);
    CHECK_INT(kvi_retry_is_throttle(NULL, NULL), 0);
    /* Prefix or suffix of a code is not the code. */
    CHECK_INT(kvi_retry_is_retryable_service("ThrottlingExceptionX", 400, ""), 0);
    CHECK_INT(kvi_retry_is_retryable_service("Throttl", 400, ""), 0);
}

static void test_client_limit(void)
{
    const char *cle = "ClientLimitExceededException";
    /* Rate: the service's real wording, and others that say rate. */
    static const char *const rate[] = {
        "Limit exceeded on number of requests for GetSignalingChannelEndpoint API",
        "Limit exceeded on number of requests for JoinStorageSessionAsViewer API",
        "The request exceeded the TPS limit",
        "Your request rate is too high",
        "Rate exceeded",
        "Too many requests, please slow down",
        "Request was throttled",
        "",
        NULL,
        "Kinesis Video Streams has throttled the request because you have exceeded the limit of "
        "allowed client calls. Try making the call later.",
        "Something we have never seen",
    };
    for (size_t i = 0; i < sizeof rate / sizeof rate[0]; i++) {
        CHECK_INT(kvi_retry_is_retryable_service(cle, 400, rate[i]), 1);
        CHECK_INT(kvi_retry_is_throttle(cle, rate[i]), 1);
        CHECK_INT(kvi_retry_is_throttle("clientlimitexceededexception", rate[i]), 1);
    }
    /* Count: final. */
    static const char *const count[] = {
        "Exceeded the maximum number of viewers for this channel",
        "The maximum number of viewers (3) has been reached",
        "You have reached the limit of connected clients for this channel",
        "VIEWER LIMIT REACHED",
        "Maximum number of participants reached",
        "see https://docs.aws.amazon.com: viewer quota in use",
    };
    for (size_t i = 0; i < sizeof count / sizeof count[0]; i++) {
        CHECK_INT(kvi_retry_is_retryable_service(cle, 400, count[i]), 0);
        CHECK_INT(kvi_retry_is_throttle(cle, count[i]), 0);
    }
    /* "tps" inside "https" is not the word TPS. */
    CHECK_INT(kvi_retry_is_throttle(cle, "maximum number of clients, see https://x"), 0);
    /* A 5xx is transient whatever the message says. */
    CHECK_INT(kvi_retry_is_retryable_service(cle, 503, "maximum number of viewers"), 1);
}

static void test_transport(void)
{
    CHECK_INT(kvi_retry_is_retryable_transport(KVSWS_E_CONNECT), 1);
    CHECK_INT(kvi_retry_is_retryable_transport(KVSWS_E_CONNECT_TIMEOUT), 1);
    CHECK_INT(kvi_retry_is_retryable_transport(KVSWS_E_READ_TIMEOUT), 1);
    CHECK_INT(kvi_retry_is_retryable_transport(KVSWS_E_TRANSPORT), 1);
    CHECK_INT(kvi_retry_is_retryable_transport(KVSWS_E_TLS), 0);
    CHECK_INT(kvi_retry_is_retryable_transport(KVSWS_E_CANCELLED), 0);
    CHECK_INT(kvi_retry_is_retryable_transport(KVSWS_E_BAD_RESPONSE), 0);
    CHECK_INT(kvi_retry_is_retryable_transport(KVSWS_E_PARAM_VALIDATION), 0);
    CHECK_INT(kvi_retry_is_retryable_transport(KVSWS_OK), 0);
    CHECK_INT(kvi_retry_is_retryable_transport(KVSWS_E_THROTTLING), 0);
}

static void test_backoff(void)
{
    /* Upper bound doubles per attempt: rand01 near 1 shows the ceiling. */
    const double hi = 0.999999999;
    CHECK_INT(kvi_retry_backoff_ms(1, 1000, 20000, hi), 999);
    CHECK_INT(kvi_retry_backoff_ms(2, 1000, 20000, hi), 1999);
    CHECK_INT(kvi_retry_backoff_ms(3, 1000, 20000, hi), 3999);
    CHECK_INT(kvi_retry_backoff_ms(5, 1000, 20000, hi), 15999);
    /* Capped. */
    CHECK_INT(kvi_retry_backoff_ms(6, 1000, 20000, hi), 19999);
    CHECK_INT(kvi_retry_backoff_ms(60, 1000, 20000, hi), 19999);
    CHECK_INT(kvi_retry_backoff_ms(1000000, 1000, 20000, hi), 19999);
    CHECK_INT(kvi_retry_backoff_ms(100, INT64_MAX / 2, INT64_MAX, 0.5) > 0, 1);
    CHECK_INT(kvi_retry_backoff_ms(2, 1000, 500, hi), 499);
    /* Full jitter: the lower bound is 0 on every attempt. */
    for (int a = 1; a < 40; a++)
        CHECK_INT(kvi_retry_backoff_ms(a, 1000, 20000, 0.0), 0);
    CHECK_INT(kvi_retry_backoff_ms(3, 1000, 20000, 0.5), 2000);
    CHECK_INT(kvi_retry_backoff_ms(1, 100, 20000, 0.25), 25);
    /* Bad inputs are clamped, never negative or above the cap. */
    CHECK_INT(kvi_retry_backoff_ms(0, 1000, 20000, hi), 999);
    CHECK_INT(kvi_retry_backoff_ms(-5, 1000, 20000, hi), 999);
    CHECK_INT(kvi_retry_backoff_ms(1, 1000, 20000, -1.0), 0);
    CHECK_INT(kvi_retry_backoff_ms(1, 1000, 20000, 7.0), 1000);
    CHECK_INT(kvi_retry_backoff_ms(1, 1000, 20000, NAN), 0);
    CHECK_INT(kvi_retry_backoff_ms(1, 0, 20000, 0.5), 0);
    CHECK_INT(kvi_retry_backoff_ms(1, -10, 20000, 0.5), 0);
    CHECK_INT(kvi_retry_backoff_ms(1, 1000, 0, 0.5), 0);
    /* Every value in range over a sweep of rand01. */
    int out_of_range = 0;
    for (int a = 1; a <= 12; a++)
        for (int k = 0; k < 1000; k++) {
            int64_t d = kvi_retry_backoff_ms(a, 50, 20000, k / 1000.0);
            int64_t cap = 50LL << (a - 1);
            if (cap > 20000)
                cap = 20000;
            if (d < 0 || d > cap)
                out_of_range++;
        }
    CHECK_INT(out_of_range, 0);
}

int main(void)
{
    test_service();
    test_client_limit();
    test_transport();
    test_backoff();
    return CHECK_DONE();
}
