/* SPDX-License-Identifier: Apache-2.0 */
/* aws_error.c - AWS restJson1 error responses to stable codes, the way botocore reads them. */
#include "aws/aws_error.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/retry.h"

/* A code longer than this is not an AWS error name; it is cut so a hostile body stays small. */
#define CODE_MAX 256
/* Messages built from a non-JSON body are cut here (botocore keeps the whole body). */
#define TEXT_MESSAGE_MAX 512
/* A JSON message is kept whole up to this size. */
#define JSON_MESSAGE_MAX 8192

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c; }

/* ASCII-only so the user's locale never changes what matches. */
static int eq_ci(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (lower((unsigned char)*a) != lower((unsigned char)*b))
            return 0;
    return *a == *b;
}

static int contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (const char *p = hay; *p; p++) {
        size_t i = 0;
        while (i < n && p[i] && lower((unsigned char)p[i]) == lower((unsigned char)needle[i]))
            i++;
        if (i == n)
            return 1;
    }
    return 0;
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

typedef struct code_entry {
    const char *code;
    kvsws_status status;
} code_entry;

static const code_entry CODE_TABLE[] = {
    {"AccessDeniedException", KVSWS_E_ACCESS_DENIED},
    {"AccessDenied", KVSWS_E_ACCESS_DENIED},
    {"ClientLimitExceededException", KVSWS_E_CLIENT_LIMIT_EXCEEDED},
    {"InvalidArgumentException", KVSWS_E_INVALID_ARGUMENT},
    {"ResourceNotFoundException", KVSWS_E_RESOURCE_NOT_FOUND},
    {"ResourceInUseException", KVSWS_E_RESOURCE_IN_USE},
    {"NotAuthorizedException", KVSWS_E_NOT_AUTHORIZED},
    {"InvalidClientException", KVSWS_E_INVALID_CLIENT},
    {"SessionExpiredException", KVSWS_E_SESSION_EXPIRED},
    /* botocore's throttling codes (retries/standard.py ThrottledRetryableChecker). */
    {"Throttling", KVSWS_E_THROTTLING},
    {"ThrottlingException", KVSWS_E_THROTTLING},
    {"ThrottledException", KVSWS_E_THROTTLING},
    {"RequestThrottledException", KVSWS_E_THROTTLING},
    {"TooManyRequestsException", KVSWS_E_THROTTLING},
    {"ProvisionedThroughputExceededException", KVSWS_E_THROTTLING},
    {"TransactionInProgressException", KVSWS_E_THROTTLING},
    {"RequestLimitExceeded", KVSWS_E_THROTTLING},
    {"BandwidthLimitExceeded", KVSWS_E_THROTTLING},
    {"LimitExceededException", KVSWS_E_THROTTLING},
    {"RequestThrottled", KVSWS_E_THROTTLING},
    {"SlowDown", KVSWS_E_THROTTLING},
    {"PriorRequestNotComplete", KVSWS_E_THROTTLING},
    {"EC2ThrottledException", KVSWS_E_THROTTLING},
    {"InvalidSignatureException", KVSWS_E_INVALID_SIGNATURE},
    {"SignatureDoesNotMatch", KVSWS_E_INVALID_SIGNATURE},
    {"UnrecognizedClientException", KVSWS_E_UNRECOGNIZED_CLIENT},
    {"InvalidClientTokenId", KVSWS_E_UNRECOGNIZED_CLIENT},
    {"ExpiredTokenException", KVSWS_E_EXPIRED_TOKEN},
    {"ExpiredToken", KVSWS_E_EXPIRED_TOKEN},
    {"RequestExpired", KVSWS_E_EXPIRED_TOKEN},
    {"MissingAuthenticationToken", KVSWS_E_MISSING_AUTHENTICATION},
    {"MissingAuthenticationTokenException", KVSWS_E_MISSING_AUTHENTICATION},
    {"IncompleteSignature", KVSWS_E_MISSING_AUTHENTICATION},
    {"IncompleteSignatureException", KVSWS_E_MISSING_AUTHENTICATION},
    {"InternalFailure", KVSWS_E_INTERNAL_FAILURE},
    {"InternalServerError", KVSWS_E_INTERNAL_FAILURE},
    {"InternalServerException", KVSWS_E_INTERNAL_FAILURE},
    {"InternalError", KVSWS_E_INTERNAL_FAILURE},
    {"ServiceException", KVSWS_E_INTERNAL_FAILURE},
    {"ServiceUnavailable", KVSWS_E_SERVICE_UNAVAILABLE},
    {"ServiceUnavailableException", KVSWS_E_SERVICE_UNAVAILABLE},
    {"RequestTimeout", KVSWS_E_REQUEST_TIMEOUT},
    {"RequestTimeoutException", KVSWS_E_REQUEST_TIMEOUT},
};

kvsws_status kvi_aws_error_status_for_code(const char *code)
{
    if (!code)
        return KVSWS_E_SERVICE_OTHER;
    for (size_t i = 0; i < sizeof CODE_TABLE / sizeof CODE_TABLE[0]; i++)
        if (eq_ci(code, CODE_TABLE[i].code))
            return CODE_TABLE[i].status;
    return KVSWS_E_SERVICE_OTHER;
}

/* Python's http.client.responses, which botocore uses for the message of a bare 5xx. */
static const char *status_phrase(int status)
{
    switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Request Entity Too Large";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    case 507: return "Insufficient Storage";
    case 508: return "Loop Detected";
    case 510: return "Not Extended";
    case 511: return "Network Authentication Required";
    default: return "";
    }
}

/*
 * botocore's normalisation: cut at the first ':' (the header carries
 * ":http://internal.amazon.com/coral/..."), keep what follows the last '#' (the "__type" carries
 * a namespace). Whitespace is trimmed and control bytes replaced so the code stays one token.
 * Returns NULL when nothing is left, so the caller falls through to the next source.
 */
static char *normalize_code(const char *raw, int *oom)
{
    size_t end = strcspn(raw, ":");
    size_t start = 0;
    for (size_t i = 0; i < end; i++)
        if (raw[i] == '#')
            start = i + 1;
    while (start < end && is_space(raw[start]))
        start++;
    while (end > start && is_space(raw[end - 1]))
        end--;
    if (end == start)
        return NULL;
    if (end - start > CODE_MAX)
        end = start + CODE_MAX;
    char *s = malloc(end - start + 1);
    if (!s) {
        *oom = 1;
        return NULL;
    }
    for (size_t i = start; i < end; i++) {
        unsigned char c = (unsigned char)raw[i];
        s[i - start] = c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    s[end - start] = '\0';
    return s;
}

/* The string value of a member, or NULL when it is absent, not a string, or empty. */
static const char *member_string(const cJSON *obj, const char *name)
{
    if (!obj)
        return NULL;
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!cJSON_IsString(item) || !item->valuestring || !*item->valuestring)
        return NULL;
    return item->valuestring;
}

/* Appends a byte sequence as one line: control bytes become spaces, runs of spaces collapse,
 * and bytes that are not valid UTF-8 become '?', so the message is always printable. */
static int append_text(kvi_buf *b, const unsigned char *p, size_t n, size_t max)
{
    size_t i = 0;
    while (i < n && b->len < max) {
        unsigned char c = p[i];
        size_t seq = 1;
        if (c >= 0xc2 && c <= 0xdf)
            seq = 2;
        else if (c >= 0xe0 && c <= 0xef)
            seq = 3;
        else if (c >= 0xf0 && c <= 0xf4)
            seq = 4;
        if (c < 0x20 || c == 0x7f) {
            if (b->len > 0 && b->data[b->len - 1] != ' ' && kvi_buf_putc(b, ' ') != 0)
                return -1;
            i++;
            continue;
        }
        if (c < 0x80) {
            if (!(c == ' ' && b->len > 0 && b->data[b->len - 1] == ' ') &&
                kvi_buf_putc(b, (char)c) != 0)
                return -1;
            i++;
            continue;
        }
        int valid = seq > 1 && i + seq <= n && b->len + seq <= max;
        for (size_t k = 1; valid && k < seq; k++)
            valid = (p[i + k] & 0xc0) == 0x80;
        /* Overlong 3-byte, surrogate and beyond-U+10FFFF forms are rejected as Python does. */
        if (valid && seq == 3 &&
            ((c == 0xe0 && p[i + 1] < 0xa0) || (c == 0xed && p[i + 1] >= 0xa0)))
            valid = 0;
        if (valid && seq == 4 &&
            ((c == 0xf0 && p[i + 1] < 0x90) || (c == 0xf4 && p[i + 1] >= 0x90)))
            valid = 0;
        if (valid) {
            if (kvi_buf_append(b, p + i, seq) != 0)
                return -1;
            i += seq;
        } else {
            if (kvi_buf_putc(b, '?') != 0)
                return -1;
            i++;
        }
    }
    return 0;
}

/* A non-JSON body as a message: HTML/XML tags are dropped so "<h1>400 Bad Request</h1>" reads
 * as "400 Bad Request"; everything is one line, at most TEXT_MESSAGE_MAX bytes. */
static char *text_message(const char *body, size_t len, int *oom)
{
    kvi_buf b = KVI_BUF_INIT;
    const unsigned char *p = (const unsigned char *)body;
    int in_tag = 0;
    size_t run = 0;
    for (size_t i = 0; i <= len && b.len < TEXT_MESSAGE_MAX; i++) {
        int boundary = i == len || (!in_tag && p[i] == '<') || (in_tag && p[i] == '>');
        if (!boundary)
            continue;
        if (!in_tag && i > run) {
            if (b.len > 0 && b.data[b.len - 1] != ' ' && kvi_buf_putc(&b, ' ') != 0)
                goto fail;
            if (append_text(&b, p + run, i - run, TEXT_MESSAGE_MAX) != 0)
                goto fail;
        }
        if (i < len)
            in_tag = p[i] == '<';
        run = i + 1;
    }
    while (b.len > 0 && b.data[b.len - 1] == ' ')
        b.data[--b.len] = '\0';
    size_t lead = 0;
    while (lead < b.len && b.data[lead] == ' ')
        lead++;
    char *s = kvi_strdup(kvi_buf_str(&b) + lead);
    kvi_buf_free(&b);
    if (!s)
        *oom = 1;
    return s;
fail:
    kvi_buf_free(&b);
    *oom = 1;
    return NULL;
}

/* A JSON message, made one line and bounded (the service's own text otherwise kept as is). */
static char *json_message(const char *msg, int *oom)
{
    kvi_buf b = KVI_BUF_INIT;
    if (append_text(&b, (const unsigned char *)msg, strlen(msg), JSON_MESSAGE_MAX) != 0) {
        kvi_buf_free(&b);
        *oom = 1;
        return NULL;
    }
    char *s = kvi_buf_detach(&b);
    if (!s)
        *oom = 1;
    return s;
}

static char *trimmed_copy(const char *s, int *oom)
{
    if (!s)
        s = "";
    while (is_space(*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && is_space(s[n - 1]))
        n--;
    char *out = malloc(n + 1);
    if (!out) {
        *oom = 1;
        return NULL;
    }
    memcpy(out, s, n);
    out[n] = '\0';
    return out;
}

static int is_clock_skew(const char *code, int http_status, const char *message)
{
    if (eq_ci(code, "RequestTimeTooSkewed") || eq_ci(code, "RequestExpired"))
        return 1;
    /* "Signature expired: X is now earlier than Y" (our clock is behind) and
     * "Signature not yet current: X is still later than Y" (our clock is ahead). */
    int says_skew = contains_ci(message, "signature expired") ||
                    contains_ci(message, "signature not yet current");
    return says_skew && (http_status == 403 || eq_ci(code, "InvalidSignatureException"));
}

int kvi_aws_error_parse(int http_status, const char *error_type_header,
                        const char *request_id_header, const char *body, size_t body_len,
                        kvi_aws_error *out)
{
    memset(out, 0, sizeof *out);
    out->http_status = http_status;
    if (!body)
        body_len = 0;

    /* Leading whitespace decides nothing; botocore strips it for the "<html>" check too. */
    size_t skip = 0;
    while (skip < body_len && is_space(body[skip]))
        skip++;
    int blank = skip == body_len;

    cJSON *root = blank ? NULL : cJSON_ParseWithLength(body, body_len);
    const cJSON *obj = cJSON_IsObject(root) ? root : NULL;
    int oom = 0;

    /* Code: the header, else body code/Code, else __type, else the HTTP status. */
    const char *sources[4] = {error_type_header, member_string(obj, "code"),
                              member_string(obj, "Code"), member_string(obj, "__type")};
    for (size_t i = 0; i < 4 && !out->code && !oom; i++)
        if (sources[i])
            out->code = normalize_code(sources[i], &oom);
    int code_from_status = 0;
    if (!out->code && !oom) {
        char num[16];
        int n = http_status;
        /* Digits only, whatever the int holds, so the code is never empty or negative. */
        snprintf(num, sizeof num, "%d", n < 0 ? 0 : n);
        out->code = kvi_strdup(num);
        oom = !out->code;
        code_from_status = 1;
    }

    /* Message: message, else Message; a non-JSON body gives its text, and an empty or HTML 5xx
     * body gives the status phrase (botocore's "generic error response"). */
    if (!oom) {
        const char *m = member_string(obj, "message");
        if (!m)
            m = member_string(obj, "Message");
        if (m)
            out->message = json_message(m, &oom);
        else if (obj)
            out->message = kvi_strdup("");
        else if (http_status >= 500 && (blank || body[skip] == '<'))
            out->message = kvi_strdup(status_phrase(http_status));
        else if (blank)
            out->message = kvi_strdup("");
        else
            out->message = text_message(body + skip, body_len - skip, &oom);
        oom = oom || !out->message;
    }
    cJSON_Delete(root);

    if (!oom)
        out->request_id = trimmed_copy(request_id_header, &oom);
    if (oom) {
        kvi_aws_error_free(out);
        return -1;
    }

    out->status = kvi_aws_error_status_for_code(out->code);
    if (code_from_status) {
        /* With no AWS code at all, the status itself says what kind of failure this was. */
        if (http_status == 500)
            out->status = KVSWS_E_INTERNAL_FAILURE;
        else if (http_status == 502 || http_status == 503 || http_status == 504)
            out->status = KVSWS_E_SERVICE_UNAVAILABLE;
        else if (http_status == 429)
            out->status = KVSWS_E_THROTTLING;
    }
    out->retryable = kvi_retry_is_retryable_service(out->code, http_status, out->message);
    out->clock_skew = is_clock_skew(out->code, http_status, out->message);
    return 0;
}

void kvi_aws_error_free(kvi_aws_error *e)
{
    if (!e)
        return;
    free(e->code);
    free(e->message);
    free(e->request_id);
    memset(e, 0, sizeof *e);
}
