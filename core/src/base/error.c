/* SPDX-License-Identifier: Apache-2.0 */
/* error.c - the caller-owned error object and the names of the status codes. */
#include "base/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"

typedef struct status_info {
    kvsws_status status;
    const char *name;
    const char *client_code; /* botocore's exception name, for statuses raised on this side */
    const char *text;
} status_info;

static const status_info STATUS_TABLE[] = {
    {KVSWS_OK, "KVSWS_OK", "", "success"},
    {KVSWS_E_PARAM_VALIDATION, "KVSWS_E_PARAM_VALIDATION", "ParamValidationError",
     "invalid parameter"},
    {KVSWS_E_NO_CREDENTIALS, "KVSWS_E_NO_CREDENTIALS", "NoCredentialsError",
     "unable to locate credentials"},
    {KVSWS_E_NO_REGION, "KVSWS_E_NO_REGION", "NoRegionError", "no region specified"},
    {KVSWS_E_NO_MEMORY, "KVSWS_E_NO_MEMORY", "MemoryError", "out of memory"},
    {KVSWS_E_CREDENTIAL_RETRIEVAL, "KVSWS_E_CREDENTIAL_RETRIEVAL", "CredentialRetrievalError",
     "a credential source failed"},
    {KVSWS_E_CANCELLED, "KVSWS_E_CANCELLED", "Cancelled", "the call was cancelled"},
    {KVSWS_E_INTERNAL, "KVSWS_E_INTERNAL", "InternalError", "internal error in kvsws"},
    {KVSWS_E_CONFIG, "KVSWS_E_CONFIG", "InvalidConfigError", "invalid configuration"},
    {KVSWS_E_CONNECT, "KVSWS_E_CONNECT", "EndpointConnectionError",
     "could not connect to the endpoint"},
    {KVSWS_E_CONNECT_TIMEOUT, "KVSWS_E_CONNECT_TIMEOUT", "ConnectTimeoutError",
     "connect timeout"},
    {KVSWS_E_READ_TIMEOUT, "KVSWS_E_READ_TIMEOUT", "ReadTimeoutError", "read timeout"},
    {KVSWS_E_TLS, "KVSWS_E_TLS", "SSLError", "TLS validation failed"},
    {KVSWS_E_BAD_RESPONSE, "KVSWS_E_BAD_RESPONSE", "ResponseParserError",
     "the response could not be parsed"},
    {KVSWS_E_TRANSPORT, "KVSWS_E_TRANSPORT", "HTTPClientError", "transport error"},
    {KVSWS_E_ACCESS_DENIED, "KVSWS_E_ACCESS_DENIED", "AccessDeniedException", "access denied"},
    {KVSWS_E_CLIENT_LIMIT_EXCEEDED, "KVSWS_E_CLIENT_LIMIT_EXCEEDED",
     "ClientLimitExceededException", "client limit exceeded"},
    {KVSWS_E_INVALID_ARGUMENT, "KVSWS_E_INVALID_ARGUMENT", "InvalidArgumentException",
     "invalid argument"},
    {KVSWS_E_RESOURCE_NOT_FOUND, "KVSWS_E_RESOURCE_NOT_FOUND", "ResourceNotFoundException",
     "resource not found"},
    {KVSWS_E_RESOURCE_IN_USE, "KVSWS_E_RESOURCE_IN_USE", "ResourceInUseException",
     "resource in use"},
    {KVSWS_E_NOT_AUTHORIZED, "KVSWS_E_NOT_AUTHORIZED", "NotAuthorizedException",
     "not authorized"},
    {KVSWS_E_INVALID_CLIENT, "KVSWS_E_INVALID_CLIENT", "InvalidClientException",
     "invalid client"},
    {KVSWS_E_SESSION_EXPIRED, "KVSWS_E_SESSION_EXPIRED", "SessionExpiredException",
     "session expired"},
    {KVSWS_E_THROTTLING, "KVSWS_E_THROTTLING", "ThrottlingException", "throttled"},
    {KVSWS_E_INVALID_SIGNATURE, "KVSWS_E_INVALID_SIGNATURE", "InvalidSignatureException",
     "invalid signature"},
    {KVSWS_E_UNRECOGNIZED_CLIENT, "KVSWS_E_UNRECOGNIZED_CLIENT", "UnrecognizedClientException",
     "unrecognized client"},
    {KVSWS_E_EXPIRED_TOKEN, "KVSWS_E_EXPIRED_TOKEN", "ExpiredTokenException", "expired token"},
    {KVSWS_E_MISSING_AUTHENTICATION, "KVSWS_E_MISSING_AUTHENTICATION",
     "MissingAuthenticationTokenException", "missing authentication"},
    {KVSWS_E_INTERNAL_FAILURE, "KVSWS_E_INTERNAL_FAILURE", "InternalFailure",
     "internal failure in the service"},
    {KVSWS_E_SERVICE_UNAVAILABLE, "KVSWS_E_SERVICE_UNAVAILABLE", "ServiceUnavailable",
     "service unavailable"},
    {KVSWS_E_REQUEST_TIMEOUT, "KVSWS_E_REQUEST_TIMEOUT", "RequestTimeout", "request timeout"},
    {KVSWS_E_SERVICE_OTHER, "KVSWS_E_SERVICE_OTHER", "ServiceError", "service error"},
    {KVSWS_E_STORAGE_NOT_ENABLED, "KVSWS_E_STORAGE_NOT_ENABLED", "StorageNotEnabledError",
     "the channel's media storage is not enabled"},
};

static const status_info *status_lookup(kvsws_status status)
{
    for (size_t i = 0; i < sizeof STATUS_TABLE / sizeof STATUS_TABLE[0]; i++)
        if (STATUS_TABLE[i].status == status)
            return &STATUS_TABLE[i];
    return NULL;
}

const char *kvsws_status_name(kvsws_status status)
{
    const status_info *info = status_lookup(status);
    return info ? info->name : "KVSWS_E_UNKNOWN";
}

const char *kvsws_status_string(kvsws_status status)
{
    const status_info *info = status_lookup(status);
    return info ? info->text : "unknown status";
}

const char *kvi_status_client_code(kvsws_status status)
{
    const status_info *info = status_lookup(status);
    return info ? info->client_code : "UnknownError";
}

kvsws_error *kvsws_error_new(void) { return calloc(1, sizeof(kvsws_error)); }

void kvi_error_clear(kvsws_error *err)
{
    if (!err)
        return;
    free(err->code);
    free(err->message);
    free(err->operation);
    free(err->request_id);
    free(err->described);
    free(err->http_headers);
    free(err->correlation_id);
    memset(err, 0, sizeof *err);
}

void kvsws_error_free(kvsws_error *err)
{
    kvi_error_clear(err);
    free(err);
}

kvsws_status kvi_error_set(kvsws_error *err, kvsws_status status, const char *fmt, ...)
{
    if (!err)
        return status;
    char *operation = err->operation; /* the operation survives a re-set within one call */
    err->operation = NULL;
    int attempts = err->attempts;
    kvi_error_clear(err);
    err->operation = operation;
    err->attempts = attempts;
    err->status = status;
    kvi_buf msg = KVI_BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    kvi_buf_vprintf(&msg, fmt, ap);
    va_end(ap);
    err->message = kvi_buf_detach(&msg);
    err->code = kvi_strdup(kvi_status_client_code(status));
    return status;
}

kvsws_status kvi_error_set_service(kvsws_error *err, kvsws_status status, const char *code,
                                   const char *message, int http_status, const char *request_id,
                                   int retryable)
{
    if (!err)
        return status;
    kvi_error_set(err, status, "%s", message ? message : "");
    free(err->code);
    err->code = kvi_strdup(code ? code : "");
    err->request_id = kvi_strdup(request_id);
    err->http_status = http_status;
    err->retryable = retryable;
    return status;
}

int kvi_error_copy(kvsws_error *dst, const kvsws_error *src)
{
    if (!dst)
        return 0;
    kvi_error_clear(dst);
    if (!src)
        return 0;
    dst->status = src->status;
    dst->http_status = src->http_status;
    dst->retryable = src->retryable;
    dst->attempts = src->attempts;
    dst->code = kvi_strdup(src->code);
    dst->message = kvi_strdup(src->message);
    dst->operation = kvi_strdup(src->operation);
    dst->request_id = kvi_strdup(src->request_id);
    dst->http_headers = kvi_strdup(src->http_headers);
    dst->correlation_id = kvi_strdup(src->correlation_id);
    if ((src->code && !dst->code) || (src->message && !dst->message) ||
        (src->operation && !dst->operation) || (src->request_id && !dst->request_id) ||
        (src->http_headers && !dst->http_headers) ||
        (src->correlation_id && !dst->correlation_id))
        return -1;
    return 0;
}

void kvi_error_set_operation(kvsws_error *err, const char *operation)
{
    if (!err)
        return;
    free(err->operation);
    err->operation = kvi_strdup(operation);
}

void kvi_error_set_correlation_id(kvsws_error *err, const char *correlation_id)
{
    if (!err)
        return;
    free(err->correlation_id);
    err->correlation_id = kvi_strdup(correlation_id);
}

void kvi_error_take_http_headers(kvsws_error *err, char *headers_json)
{
    if (!err) {
        free(headers_json);
        return;
    }
    free(err->http_headers);
    err->http_headers = headers_json;
}

kvsws_status kvsws_error_status(const kvsws_error *err) { return err ? err->status : KVSWS_OK; }

#define OR_EMPTY(s) ((s) ? (s) : "")

const char *kvsws_error_code(const kvsws_error *err) { return err ? OR_EMPTY(err->code) : ""; }
const char *kvsws_error_message(const kvsws_error *err)
{
    return err ? OR_EMPTY(err->message) : "";
}
const char *kvsws_error_operation(const kvsws_error *err)
{
    return err ? OR_EMPTY(err->operation) : "";
}
const char *kvsws_error_request_id(const kvsws_error *err)
{
    return err ? OR_EMPTY(err->request_id) : "";
}
const char *kvsws_error_correlation_id(const kvsws_error *err)
{
    return err ? OR_EMPTY(err->correlation_id) : "";
}
int kvsws_error_http_status(const kvsws_error *err) { return err ? err->http_status : 0; }
const char *kvsws_error_http_headers_json(const kvsws_error *err)
{
    return err && err->http_headers ? err->http_headers : "{}";
}
int kvsws_error_retryable(const kvsws_error *err) { return err ? err->retryable : 0; }
int kvsws_error_attempts(const kvsws_error *err) { return err ? err->attempts : 0; }

const char *kvsws_error_describe(const kvsws_error *err)
{
    if (!err || err->status == KVSWS_OK)
        return "";
    kvsws_error *mut = (kvsws_error *)err; /* the description is a cache, built once */
    if (!mut->described) {
        kvi_buf b = KVI_BUF_INIT;
        int service = err->status >= 200 && err->status < 300;
        if (service && err->correlation_id && err->operation)
            kvi_buf_printf(&b, "An error occurred (%s) when sending the %s: %s",
                           OR_EMPTY(err->code), err->operation, OR_EMPTY(err->message));
        else if (service && err->operation && *err->operation)
            kvi_buf_printf(&b, "An error occurred (%s) when calling the %s operation: %s",
                           OR_EMPTY(err->code), err->operation, OR_EMPTY(err->message));
        else if (service)
            kvi_buf_printf(&b, "An error occurred (%s): %s", OR_EMPTY(err->code),
                           OR_EMPTY(err->message));
        else
            kvi_buf_puts(&b, OR_EMPTY(err->message));
        mut->described = kvi_buf_detach(&b);
    }
    return mut->described ? mut->described : "";
}

kvsws_status kvi_error_take_buf(kvsws_error *err, kvsws_status status, kvi_buf *msg)
{
    kvi_error_set(err, status, "%s", kvi_buf_str(msg));
    kvi_buf_free(msg);
    return status;
}
