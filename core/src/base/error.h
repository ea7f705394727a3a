/* SPDX-License-Identifier: Apache-2.0 */
/* error.h - the kvsws_error object and how modules fill it in. */
#ifndef KVSWS_ERROR_H
#define KVSWS_ERROR_H

#include "kvsws.h"

struct kvsws_error {
    kvsws_status status;
    int http_status;
    int retryable;
    int attempts;
    char *code;       /* AWS error name or botocore-style client error name; NULL = "" */
    char *message;    /* NULL = "" */
    char *operation;  /* NULL = "" */
    char *request_id; /* NULL = "" */
    char *described;  /* lazily built by kvsws_error_describe */
    char *http_headers; /* the answer's headers as a JSON object, names lower-case; NULL = "{}" */
    char *correlation_id; /* a STATUS_RESPONSE's: the refused message's correlationId; NULL = "" */
};

/* Resets to "no error". NULL-safe. */
void kvi_error_clear(kvsws_error *err);

/* Sets a client-side or transport error: the code name comes from the status (botocore's names).
 * Returns status so callers can `return kvi_error_set(...)`. NULL err is fine (nothing recorded). */
kvsws_status kvi_error_set(kvsws_error *err, kvsws_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Sets a service error from a parsed AWS error (see aws_error.h). Returns the status. */
kvsws_status kvi_error_set_service(kvsws_error *err, kvsws_status status, const char *code,
                                   const char *message, int http_status, const char *request_id,
                                   int retryable);

void kvi_error_set_operation(kvsws_error *err, const char *operation);

void kvi_error_set_correlation_id(kvsws_error *err, const char *correlation_id);

/* Keeps the headers of the answer that carried the error (a JSON object string, taken over:
 * freed here). NULL-safe on both sides. */
void kvi_error_take_http_headers(kvsws_error *err, char *headers_json);

/* kvi_error_set with the message built in msg (a kvi_buf, see buf.h), which is then freed. */
struct kvi_buf;
kvsws_status kvi_error_take_buf(kvsws_error *err, kvsws_status status, struct kvi_buf *msg);

/* Copies every field of src into dst (dst is cleared first). 0 ok, -1 OOM. */
int kvi_error_copy(kvsws_error *dst, const kvsws_error *src);

/* The botocore-style name for a client-side/transport status ("ParamValidationError", ...). */
const char *kvi_status_client_code(kvsws_status status);

#endif
