/* SPDX-License-Identifier: Apache-2.0 */
/* test_aws_error.c - AWS error responses to codes, messages, statuses, retryability, clock skew. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aws/aws_error.h"
#include "check.h"

#define CORAL ":http://internal.amazon.com/coral/com.amazonaws.kinesisvideo.v20170930/"
#define NS "com.amazonaws.kinesisvideo.v20170930#"

typedef struct row {
    int http;
    const char *header;     /* x-amzn-ErrorType */
    const char *request_id; /* x-amzn-RequestId */
    const char *body;
    const char *code;
    const char *message;
    kvsws_status status;
    int retryable;
    int skew;
} row;

static const row ROWS[] = {
    /* The modelled storage errors (member "message", x-amzn-ErrorType header as AWS sends). */
    {400, "ClientLimitExceededException" CORAL, "rid-1",
     "{\"message\":\"Limit exceeded on number of requests for JoinStorageSession API\"}",
     "ClientLimitExceededException",
     "Limit exceeded on number of requests for JoinStorageSession API",
     KVSWS_E_CLIENT_LIMIT_EXCEEDED, 1, 0},
    {400, "InvalidArgumentException" CORAL, "rid-2",
     "{\"message\":\"The channel does not have a WebRTC storage configuration\"}",
     "InvalidArgumentException", "The channel does not have a WebRTC storage configuration",
     KVSWS_E_INVALID_ARGUMENT, 0, 0},
    {403, "AccessDeniedException" CORAL, "rid-3", "{\"message\":\"User is not authorized\"}",
     "AccessDeniedException", "User is not authorized", KVSWS_E_ACCESS_DENIED, 0, 0},
    {404, "ResourceNotFoundException" CORAL, "rid-4",
     "{\"message\":\"The requested channel is not found or not active.\"}",
     "ResourceNotFoundException", "The requested channel is not found or not active.",
     KVSWS_E_RESOURCE_NOT_FOUND, 0, 0},
    /* The control plane's (member "Message", AccessDenied is a 401 there). */
    {401, "AccessDeniedException" CORAL, "rid-5", "{\"Message\":\"Access denied\"}",
     "AccessDeniedException", "Access denied", KVSWS_E_ACCESS_DENIED, 0, 0},
    {400, "ClientLimitExceededException" CORAL, "rid-6",
     "{\"Message\":\"Limit exceeded on number of requests for DescribeSignalingChannel API\"}",
     "ClientLimitExceededException",
     "Limit exceeded on number of requests for DescribeSignalingChannel API",
     KVSWS_E_CLIENT_LIMIT_EXCEEDED, 1, 0},
    {400, "InvalidArgumentException" CORAL, NULL, "{\"Message\":\"1 validation error\"}",
     "InvalidArgumentException", "1 validation error", KVSWS_E_INVALID_ARGUMENT, 0, 0},
    {404, "ResourceNotFoundException" CORAL, NULL, "{\"Message\":\"Channel not found\"}",
     "ResourceNotFoundException", "Channel not found", KVSWS_E_RESOURCE_NOT_FOUND, 0, 0},
    {400, "ResourceInUseException" CORAL, NULL, "{\"Message\":\"in use\"}",
     "ResourceInUseException", "in use", KVSWS_E_RESOURCE_IN_USE, 0, 0},
    {401, "NotAuthorizedException" CORAL, NULL, "{\"Message\":\"not authorized\"}",
     "NotAuthorizedException", "not authorized", KVSWS_E_NOT_AUTHORIZED, 0, 0},
    {400, "InvalidClientException" CORAL, NULL, "{\"message\":\"bad client\"}",
     "InvalidClientException", "bad client", KVSWS_E_INVALID_CLIENT, 0, 0},
    {400, "SessionExpiredException" CORAL, NULL, "{\"Message\":\"session expired\"}",
     "SessionExpiredException", "session expired", KVSWS_E_SESSION_EXPIRED, 0, 0},
    /* ClientLimitExceeded as a count limit is final. */
    {400, "ClientLimitExceededException", NULL,
     "{\"message\":\"Exceeded the maximum number of viewers (3) for this storage session\"}",
     "ClientLimitExceededException",
     "Exceeded the maximum number of viewers (3) for this storage session",
     KVSWS_E_CLIENT_LIMIT_EXCEEDED, 0, 0},
    {400, "ClientLimitExceededException", NULL,
     "{\"Message\":\"You have reached the limit of connected clients for this channel\"}",
     "ClientLimitExceededException",
     "You have reached the limit of connected clients for this channel",
     KVSWS_E_CLIENT_LIMIT_EXCEEDED, 0, 0},
    /* The API name says "Viewer" but this is the rate message: still retryable. */
    {400, "ClientLimitExceededException", NULL,
     "{\"message\":\"Limit exceeded on number of requests for JoinStorageSessionAsViewer API\"}",
     "ClientLimitExceededException",
     "Limit exceeded on number of requests for JoinStorageSessionAsViewer API",
     KVSWS_E_CLIENT_LIMIT_EXCEEDED, 1, 0},
    {400, "ClientLimitExceededException", NULL, "{}", "ClientLimitExceededException", "",
     KVSWS_E_CLIENT_LIMIT_EXCEEDED, 1, 0},
    /* Code sources in order: header, code, Code, __type, status. */
    {400, NULL, NULL, "{\"__type\":\"" NS "ResourceNotFoundException\",\"Message\":\"x\"}",
     "ResourceNotFoundException", "x", KVSWS_E_RESOURCE_NOT_FOUND, 0, 0},
    {400, NULL, NULL, "{\"code\":\"Foo\",\"Code\":\"Bar\",\"__type\":\"Baz\"}", "Foo", "",
     KVSWS_E_SERVICE_OTHER, 0, 0},
    {400, NULL, NULL, "{\"Code\":\"Bar\",\"__type\":\"Baz\",\"message\":\"m\",\"Message\":\"M\"}",
     "Bar", "m", KVSWS_E_SERVICE_OTHER, 0, 0},
    {400, "HeaderWins", NULL, "{\"code\":\"Foo\",\"__type\":\"Baz\"}", "HeaderWins", "",
     KVSWS_E_SERVICE_OTHER, 0, 0},
    {400, NULL, NULL, "{\"code\":\"InvalidArgumentException:http://x\"}",
     "InvalidArgumentException", "", KVSWS_E_INVALID_ARGUMENT, 0, 0},
    {400, NULL, NULL, "{\"code\":42,\"__type\":\"a#b#InvalidArgumentException\"}",
     "InvalidArgumentException", "", KVSWS_E_INVALID_ARGUMENT, 0, 0},
    {400, "  ", NULL, "{\"code\":\"\",\"__type\":\"ns#ThrottlingException\"}",
     "ThrottlingException", "", KVSWS_E_THROTTLING, 1, 0},
    /* Case-insensitive comparison; the code keeps the casing it came with. */
    {400, "resourcenotfoundexception", NULL, "{}", "resourcenotfoundexception", "",
     KVSWS_E_RESOURCE_NOT_FOUND, 0, 0},
    {400, "THROTTLINGEXCEPTION", NULL, "{\"message\":\"Rate exceeded\"}", "THROTTLINGEXCEPTION",
     "Rate exceeded", KVSWS_E_THROTTLING, 1, 0},
    {400, NULL, NULL, "{\"__type\":\"" NS "accessdeniedexception\"}", "accessdeniedexception", "",
     KVSWS_E_ACCESS_DENIED, 0, 0},
    /* Throttling codes. */
    {400, "ThrottlingException", NULL, "{\"message\":\"Rate exceeded\"}", "ThrottlingException",
     "Rate exceeded", KVSWS_E_THROTTLING, 1, 0},
    {400, "Throttling", NULL, "{}", "Throttling", "", KVSWS_E_THROTTLING, 1, 0},
    {429, "TooManyRequestsException", NULL, "{\"message\":\"slow down\"}",
     "TooManyRequestsException", "slow down", KVSWS_E_THROTTLING, 1, 0},
    {400, "LimitExceededException", NULL, "{}", "LimitExceededException", "",
     KVSWS_E_THROTTLING, 1, 0},
    {503, "SlowDown", NULL, "{}", "SlowDown", "", KVSWS_E_THROTTLING, 1, 0},
    {400, "RequestLimitExceeded", NULL, "{}", "RequestLimitExceeded", "", KVSWS_E_THROTTLING, 1,
     0},
    /* Authentication and signing. */
    {403, "InvalidSignatureException" CORAL, "rid-s",
     "{\"message\":\"Signature expired: 20190101T000000Z is now earlier than 20190101T000500Z "
     "(20190101T001000Z - 5 min.)\"}",
     "InvalidSignatureException",
     "Signature expired: 20190101T000000Z is now earlier than 20190101T000500Z "
     "(20190101T001000Z - 5 min.)",
     KVSWS_E_INVALID_SIGNATURE, 0, 1},
    {403, "InvalidSignatureException", NULL,
     "{\"message\":\"Signature not yet current: 20300101T000000Z is still later than "
     "20290101T000500Z (20290101T000000Z + 5 min.)\"}",
     "InvalidSignatureException",
     "Signature not yet current: 20300101T000000Z is still later than 20290101T000500Z "
     "(20290101T000000Z + 5 min.)",
     KVSWS_E_INVALID_SIGNATURE, 0, 1},
    {403, "InvalidSignatureException", NULL,
     "{\"message\":\"The request signature we calculated does not match the signature you "
     "provided.\"}",
     "InvalidSignatureException",
     "The request signature we calculated does not match the signature you provided.",
     KVSWS_E_INVALID_SIGNATURE, 0, 0},
    {403, NULL, NULL, "{\"Code\":\"SignatureDoesNotMatch\",\"Message\":\"no\"}",
     "SignatureDoesNotMatch", "no", KVSWS_E_INVALID_SIGNATURE, 0, 0},
    {403, NULL, NULL, "{\"Message\":\"Signature expired: a is now earlier than b\"}", "403",
     "Signature expired: a is now earlier than b", KVSWS_E_SERVICE_OTHER, 0, 1},
    {400, NULL, NULL, "{\"Code\":\"RequestTimeTooSkewed\"}", "RequestTimeTooSkewed", "",
     KVSWS_E_SERVICE_OTHER, 0, 1},
    {400, "RequestExpired", NULL, "{}", "RequestExpired", "", KVSWS_E_EXPIRED_TOKEN, 0, 1},
    {403, "UnrecognizedClientException", NULL,
     "{\"message\":\"The security token included in the request is invalid.\"}",
     "UnrecognizedClientException", "The security token included in the request is invalid.",
     KVSWS_E_UNRECOGNIZED_CLIENT, 0, 0},
    {403, NULL, NULL, "{\"Code\":\"InvalidClientTokenId\"}", "InvalidClientTokenId", "",
     KVSWS_E_UNRECOGNIZED_CLIENT, 0, 0},
    {403, "ExpiredTokenException", NULL,
     "{\"message\":\"The security token included in the request is expired\"}",
     "ExpiredTokenException", "The security token included in the request is expired",
     KVSWS_E_EXPIRED_TOKEN, 0, 0},
    {400, NULL, NULL, "{\"Code\":\"ExpiredToken\"}", "ExpiredToken", "", KVSWS_E_EXPIRED_TOKEN,
     0, 0},
    {403, "MissingAuthenticationTokenException", NULL,
     "{\"message\":\"Missing Authentication Token\"}",
     "MissingAuthenticationTokenException", "Missing Authentication Token",
     KVSWS_E_MISSING_AUTHENTICATION, 0, 0},
    {403, NULL, NULL, "{\"Code\":\"MissingAuthenticationToken\"}", "MissingAuthenticationToken",
     "", KVSWS_E_MISSING_AUTHENTICATION, 0, 0},
    {400, "IncompleteSignatureException", NULL, "{}", "IncompleteSignatureException", "",
     KVSWS_E_MISSING_AUTHENTICATION, 0, 0},
    {400, NULL, NULL, "{\"Code\":\"IncompleteSignature\"}", "IncompleteSignature", "",
     KVSWS_E_MISSING_AUTHENTICATION, 0, 0},
    /* Server side. */
    {500, "InternalFailure", NULL, "{\"message\":\"oops\"}", "InternalFailure", "oops",
     KVSWS_E_INTERNAL_FAILURE, 1, 0},
    {500, "InternalServerError", NULL, "{}", "InternalServerError", "", KVSWS_E_INTERNAL_FAILURE,
     1, 0},
    {500, NULL, NULL, "{\"__type\":\"InternalServerException\"}", "InternalServerException", "",
     KVSWS_E_INTERNAL_FAILURE, 1, 0},
    {500, "ServiceException", NULL, "{}", "ServiceException", "", KVSWS_E_INTERNAL_FAILURE, 1,
     0},
    {503, "ServiceUnavailableException", NULL, "{}", "ServiceUnavailableException", "",
     KVSWS_E_SERVICE_UNAVAILABLE, 1, 0},
    {503, NULL, NULL, "{\"Code\":\"ServiceUnavailable\"}", "ServiceUnavailable", "",
     KVSWS_E_SERVICE_UNAVAILABLE, 1, 0},
    {408, "RequestTimeoutException", NULL, "{}", "RequestTimeoutException", "",
     KVSWS_E_REQUEST_TIMEOUT, 1, 0},
    {400, NULL, NULL, "{\"Code\":\"RequestTimeout\"}", "RequestTimeout", "",
     KVSWS_E_REQUEST_TIMEOUT, 1, 0},
    /* Bodies that are not the JSON object we expect (botocore's generic error handling). */
    {503, NULL, NULL, "<html><body><b>Http/1.1 Service Unavailable</b></body></html>", "503",
     "Service Unavailable", KVSWS_E_SERVICE_UNAVAILABLE, 1, 0},
    {500, NULL, NULL, "", "500", "Internal Server Error", KVSWS_E_INTERNAL_FAILURE, 1, 0},
    {502, NULL, NULL, " \r\n", "502", "Bad Gateway", KVSWS_E_SERVICE_UNAVAILABLE, 1, 0},
    {504, NULL, "rid-g", "<!DOCTYPE html><html>gateway</html>", "504", "Gateway Timeout",
     KVSWS_E_SERVICE_UNAVAILABLE, 1, 0},
    {503, "ServiceUnavailableException", NULL, "", "ServiceUnavailableException",
     "Service Unavailable", KVSWS_E_SERVICE_UNAVAILABLE, 1, 0},
    {400, NULL, NULL, "<html><head><title>400 Bad Request</title></head><body><h1>400 Bad "
                      "Request</h1><hr>awselb/2.0</body></html>",
     "400", "400 Bad Request 400 Bad Request awselb/2.0", KVSWS_E_SERVICE_OTHER, 0, 0},
    {400, NULL, NULL, "{\"message\":\"trunc", "400", "{\"message\":\"trunc",
     KVSWS_E_SERVICE_OTHER, 0, 0},
    {400, "InvalidArgumentException", NULL, "{\"message\":\"trunc", "InvalidArgumentException",
     "{\"message\":\"trunc", KVSWS_E_INVALID_ARGUMENT, 0, 0},
    {400, NULL, NULL, "[{\"code\":\"Foo\"}]", "400", "[{\"code\":\"Foo\"}]",
     KVSWS_E_SERVICE_OTHER, 0, 0},
    {400, NULL, NULL, "\"just a string\"", "400", "\"just a string\"", KVSWS_E_SERVICE_OTHER, 0,
     0},
    {404, NULL, NULL, "", "404", "", KVSWS_E_SERVICE_OTHER, 0, 0},
    {429, NULL, NULL, "", "429", "", KVSWS_E_THROTTLING, 1, 0},
    {400, NULL, NULL, "Endpoint request timed out\n", "400", "Endpoint request timed out",
     KVSWS_E_SERVICE_OTHER, 0, 0},
    {400, NULL, NULL, "{\"message\":null,\"Message\":\"second\"}", "400", "second",
     KVSWS_E_SERVICE_OTHER, 0, 0},
    {400, NULL, NULL, "{\"message\":\"line1\\nline2\"}", "400", "line1 line2",
     KVSWS_E_SERVICE_OTHER, 0, 0},
    /* Unknown codes stay themselves. */
    {409, "ConflictException", NULL, "{\"message\":\"conflict\"}", "ConflictException",
     "conflict", KVSWS_E_SERVICE_OTHER, 0, 0},
    {400, "#", NULL, "{\"__type\":\":\"}", "400", "", KVSWS_E_SERVICE_OTHER, 0, 0},
};

static void test_table(void)
{
    size_t n = sizeof ROWS / sizeof ROWS[0];
    CHECK(n >= 30);
    for (size_t i = 0; i < n; i++) {
        const row *r = &ROWS[i];
        /* An exactly sized heap copy, so ASan sees any read past the body. */
        size_t len = strlen(r->body);
        char *body = malloc(len ? len : 1);
        memcpy(body, r->body, len);
        kvi_aws_error e;
        int rc = kvi_aws_error_parse(r->http, r->header, r->request_id, body, len, &e);
        CHECK_INT(rc, 0);
        if (rc != 0) {
            free(body);
            continue;
        }
        int ok_before = check_failed;
        CHECK_STR(e.code, r->code);
        CHECK_STR(e.message, r->message);
        CHECK_STR(e.request_id, r->request_id ? r->request_id : "");
        CHECK_INT(e.status, r->status);
        CHECK_INT(e.http_status, r->http);
        CHECK_INT(e.retryable, r->retryable);
        CHECK_INT(e.clock_skew, r->skew);
        if (check_failed != ok_before)
            fprintf(stderr, "  in row %zu (%d %s)\n", i, r->http, r->body);
        kvi_aws_error_free(&e);
        free(body);
    }
}

static void test_request_id_and_null_body(void)
{
    kvi_aws_error e;
    CHECK_INT(kvi_aws_error_parse(503, NULL, "  req-123 \r\n", NULL, 5, &e), 0);
    CHECK_STR(e.code, "503");
    CHECK_STR(e.message, "Service Unavailable");
    CHECK_STR(e.request_id, "req-123");
    kvi_aws_error_free(&e);
    kvi_aws_error_free(&e); /* twice is harmless */

    /* Control bytes inside a code are made printable; huge codes are cut. */
    char big[2000];
    memset(big, 'A', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    CHECK_INT(kvi_aws_error_parse(400, big, NULL, "", 0, &e), 0);
    CHECK_INT(strlen(e.code), 256);
    kvi_aws_error_free(&e);
    CHECK_INT(kvi_aws_error_parse(400, "Bad\x01" "Code", NULL, "", 0, &e), 0);
    CHECK_STR(e.code, "Bad?Code");
    kvi_aws_error_free(&e);

    /* A negative or odd status still gives a digits-only code. */
    CHECK_INT(kvi_aws_error_parse(-1, NULL, NULL, "", 0, &e), 0);
    CHECK_STR(e.code, "0");
    kvi_aws_error_free(&e);

    /* Invalid UTF-8 in a text body becomes '?', valid UTF-8 is kept. */
    const char txt[] = "caf\xc3\xa9 \xff\xfe ok";
    CHECK_INT(kvi_aws_error_parse(400, NULL, NULL, txt, sizeof txt - 1, &e), 0);
    CHECK_STR(e.message, "caf\xc3\xa9 ?? ok");
    kvi_aws_error_free(&e);
}

static void test_status_for_code(void)
{
    CHECK_INT(kvi_aws_error_status_for_code(NULL), KVSWS_E_SERVICE_OTHER);
    CHECK_INT(kvi_aws_error_status_for_code(""), KVSWS_E_SERVICE_OTHER);
    CHECK_INT(kvi_aws_error_status_for_code("ResourceNotFoundExceptio"), KVSWS_E_SERVICE_OTHER);
    CHECK_INT(kvi_aws_error_status_for_code("ResourceNotFoundExceptionX"), KVSWS_E_SERVICE_OTHER);
    CHECK_INT(kvi_aws_error_status_for_code("sessionEXPIREDexception"), KVSWS_E_SESSION_EXPIRED);
    CHECK_INT(kvi_aws_error_status_for_code("ProvisionedThroughputExceededException"),
              KVSWS_E_THROTTLING);
    CHECK_INT(kvi_aws_error_status_for_code("RequestTimeout"), KVSWS_E_REQUEST_TIMEOUT);
}

/* A huge body: 1 MiB of nested arrays stays inside cJSON's nesting limit, no deep recursion. */
static void test_huge_bodies(void)
{
    size_t n = 1 << 20;
    char *body = malloc(n);
    memset(body, '[', n);
    kvi_aws_error e;
    CHECK_INT(kvi_aws_error_parse(400, NULL, NULL, body, n, &e), 0);
    CHECK_STR(e.code, "400");
    CHECK(strlen(e.message) <= 512);
    kvi_aws_error_free(&e);

    memset(body, 'x', n);
    memcpy(body, "{\"message\":\"", 12);
    memcpy(body + n - 2, "\"}", 2);
    CHECK_INT(kvi_aws_error_parse(500, "InternalFailure", NULL, body, n, &e), 0);
    CHECK_STR(e.code, "InternalFailure");
    CHECK(strlen(e.message) <= 8192 && strlen(e.message) > 0);
    kvi_aws_error_free(&e);
    free(body);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
    /* xorshift64*: fixed seed, so a failure reproduces. */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

static void test_fuzz(void)
{
    static const char *const pieces[] = {
        "{", "}", "[", "]", "\"", ":", ",", "#", "\\", "\\u00", "code", "Code", "__type",
        "message", "Message", "null", "true", "1e999", "-", "<html>", "</", " ", "\n", "\xff",
        "\xc3", "\"code\":\"", "\"message\":\"", "\"__type\":\"a#", "Throttling", "\0",
    };
    size_t npieces = sizeof pieces / sizeof pieces[0];
    int bad = 0;
    for (int iter = 0; iter < 10000; iter++) {
        size_t len = (size_t)(rng() % 300);
        char *body = malloc(len ? len : 1);
        size_t i = 0;
        int structured = (int)(rng() % 2);
        while (i < len) {
            if (structured) {
                const char *p = pieces[rng() % npieces];
                size_t pl = strlen(p);
                if (pl == 0)
                    pl = 1; /* the "\0" piece is one NUL byte */
                for (size_t k = 0; k < pl && i < len; k++)
                    body[i++] = p[k];
            } else {
                body[i++] = (char)(rng() & 0xff);
            }
        }
        int http = 100 + (int)(rng() % 500);
        const char *header = NULL;
        char hbuf[32];
        if (rng() % 4 == 0) {
            for (size_t k = 0; k < sizeof hbuf - 1; k++)
                hbuf[k] = (char)(1 + rng() % 255);
            hbuf[rng() % sizeof hbuf] = '\0';
            hbuf[sizeof hbuf - 1] = '\0';
            header = hbuf;
        }
        kvi_aws_error e;
        if (kvi_aws_error_parse(http, header, rng() % 2 ? "rid" : NULL, body, len, &e) != 0) {
            bad++;
        } else {
            if (!e.code || !*e.code || !e.message || !e.request_id)
                bad++;
            else if (strchr(e.message, '\n') || strchr(e.code, '\n'))
                bad++;
            kvi_aws_error_free(&e);
        }
        free(body);
    }
    CHECK_INT(bad, 0);
}

int main(void)
{
    test_table();
    test_request_id_and_null_body();
    test_status_for_code();
    test_huge_bodies();
    test_fuzz();
    return CHECK_DONE();
}
