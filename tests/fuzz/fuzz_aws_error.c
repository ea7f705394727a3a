/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_aws_error.c - libFuzzer target for the AWS error reader (aws_error.c): an HTTP status, the
 * x-amzn-ErrorType and x-amzn-RequestId headers and a body, as any server may send them.
 * Input: two bytes of status, then "header\nrequest id\nbody" (a missing line is a missing
 * header). Build: see README.md. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aws/aws_error.h"
#include "kvsws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Copies the next line of [*p, end) into a fresh string; NULL when there is no line left. */
static char *next_line(const uint8_t **p, const uint8_t *end)
{
    const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
    if (!nl)
        return NULL;
    size_t n = (size_t)(nl - *p);
    char *s = malloc(n + 1);
    if (!s)
        abort();
    memcpy(s, *p, n);
    s[n] = '\0';
    *p = nl + 1;
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    int status = 100 + ((data[0] << 8) | data[1]) % 500;
    const uint8_t *p = data + 2, *end = data + size;
    char *error_type = next_line(&p, end);
    char *request_id = error_type ? next_line(&p, end) : NULL;
    /* An exact-size copy of the body: ASan flags any read past its end. */
    size_t body_len = (size_t)(end - p);
    char *body = malloc(body_len ? body_len : 1);
    if (!body)
        abort();
    memcpy(body, p, body_len);

    kvi_aws_error e;
    if (kvi_aws_error_parse(status, error_type, request_id, body_len ? body : NULL, body_len,
                            &e) == 0) {
        if (!e.code || !*e.code || !e.message || !e.request_id || e.http_status != status ||
            (e.retryable != 0 && e.retryable != 1) || (e.clock_skew != 0 && e.clock_skew != 1))
            abort();
        /* botocore's cuts: nothing after a ':' and nothing before a '#' is left in the code. */
        if (strchr(e.code, ':') || strchr(e.code, '#'))
            abort();
        /* A named code decides the status (an unknown one is SERVICE_OTHER); a code made from
         * the HTTP status has the status's meaning. */
        int from_status = strspn(e.code, "0123456789") == strlen(e.code);
        if (e.status == KVSWS_OK ||
            (!from_status && e.status != kvi_aws_error_status_for_code(e.code)))
            abort();
        /* The same answer gives the same error. */
        kvi_aws_error again;
        if (kvi_aws_error_parse(status, error_type, request_id, body_len ? body : NULL, body_len,
                                &again) != 0 ||
            strcmp(again.code, e.code) || strcmp(again.message, e.message) ||
            strcmp(again.request_id, e.request_id) || again.retryable != e.retryable)
            abort();
        kvi_aws_error_free(&again);
        kvi_aws_error_free(&e);
    }
    char *code = malloc(body_len + 1);
    if (!code)
        abort();
    memcpy(code, body, body_len);
    code[body_len] = '\0';
    (void)kvi_aws_error_status_for_code(code);
    free(code);
    free(body);
    free(error_type);
    free(request_id);
    return 0;
}

/* With -DKVSWS_FUZZ_STANDALONE: a main that replays files, for builds without libFuzzer. */
#include "standalone_main.h"
