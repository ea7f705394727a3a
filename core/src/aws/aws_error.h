/* SPDX-License-Identifier: Apache-2.0 */
/* aws_error.h - turning an AWS (restJson1) error response into a stable code, as botocore does. */
#ifndef KVSWS_AWS_ERROR_H
#define KVSWS_AWS_ERROR_H

#include "kvsws.h"

typedef struct kvi_aws_error {
    kvsws_status status; /* mapped from the code (KVSWS_E_SERVICE_OTHER when unknown) */
    char *code;          /* "ResourceNotFoundException", or "500"-style status text when none */
    char *message;       /* "" when none */
    char *request_id;    /* "" when none */
    int http_status;
    int retryable;       /* per the standard retry mode, see retry.h */
    int clock_skew;      /* 1 when this is a 403 "Signature expired" style error */
} kvi_aws_error;

/*
 * Parses an error response. error_type_header is the x-amzn-ErrorType header value (NULL if
 * absent), request_id_header x-amzn-RequestId (NULL if absent), body/body_len the raw body (any
 * bytes: HTML, empty, truncated JSON are all fine). Order: x-amzn-ErrorType header, else body
 * "code"/"Code", else body "__type", else the HTTP status; cut at the first ':', keep what follows
 * the last '#'. Message: body "message", else "Message". Never fails except out of memory (-1).
 */
int kvi_aws_error_parse(int http_status, const char *error_type_header,
                        const char *request_id_header, const char *body, size_t body_len,
                        kvi_aws_error *out);
void kvi_aws_error_free(kvi_aws_error *e);

/* Case-insensitive map from an AWS error name to a status; KVSWS_E_SERVICE_OTHER when unknown. */
kvsws_status kvi_aws_error_status_for_code(const char *code);

#endif
