/* SPDX-License-Identifier: Apache-2.0 */
/* sigv4_canonical.c - the canonical request: the path normalized and encoded, the query and the
 * headers sorted and folded, the session token where it belongs. */
#include "aws/sigv4_canonical.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aws/sigv4_encode.h"

#define ALGORITHM "AWS4-HMAC-SHA256"
/* Up to this many headers or parameters, insertion sort beats qsort's setup. */
#define SMALL_SORT_MAX 16

/* value in decimal into out, NUL-terminated (snprintf costs more than the rest of a parameter). */
static void format_decimal(uint64_t value, char out[21])
{
    char reversed[20];
    size_t n = 0;
    do {
        reversed[n++] = (char)('0' + value % 10);
        value /= 10;
    } while (value);
    for (size_t i = 0; i < n; i++)
        out[i] = reversed[n - 1 - i];
    out[n] = '\0';
}

static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static int equals_ignoring_case(const char *a, size_t a_len, const char *lowercase)
{
    if (a_len != strlen(lowercase))
        return 0;
    for (size_t i = 0; i < a_len; i++) {
        char c = a[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != lowercase[i])
            return 0;
    }
    return 1;
}

/* ---- canonical request ---- */

/* Percent-encodes the request path into out, after dropping "." and ".." segments and empty
 * ones when normalizing (as aws-c-auth and botocore do; S3 signs the path as it is). */
static const char *append_path(sign_workspace *ws, const sign_job *job, kvi_buf *out)
{
    const char *raw = job->req->path ? job->req->path : "";
    size_t raw_len = strlen(raw);
    kvi_buf *path = &ws->path;
    kvi_buf_reset(path);
    int rc = 0;

    if (job->cfg->normalize_path) {
        /* Each kept segment is "/segment", so dropping the last one cuts at its slash. */
        for (size_t start = 0; start <= raw_len && rc == 0;) {
            const char *slash = memchr(raw + start, '/', raw_len - start);
            size_t end = slash ? (size_t)(slash - raw) : raw_len;
            size_t seg_len = end - start;
            if (seg_len == 2 && raw[start] == '.' && raw[start + 1] == '.') {
                while (path->len > 0 && path->data[--path->len] != '/')
                    ;
                if (path->data)
                    path->data[path->len] = '\0';
            } else if (seg_len > 0 && !(seg_len == 1 && raw[start] == '.')) {
                rc = kvi_put_char(path, '/') || kvi_put(path, raw + start, seg_len);
            }
            start = end + 1;
        }
        if (rc == 0 && (path->len == 0 || raw[raw_len - 1] == '/'))
            rc = kvi_put_char(path, '/');
    } else {
        if (raw[0] != '/')
            rc = kvi_put_char(path, '/');
        if (rc == 0)
            rc = kvi_put(path, raw, raw_len);
    }
    if (rc != 0 || kvi_uri_encode(out, path->data, path->len, 1) != 0)
        return "out of memory";
    return NULL;
}

static int compare_spans(const char *a, size_t a_len, const char *b, size_t b_len)
{
    int c = memcmp(a, b, a_len < b_len ? a_len : b_len);
    if (c != 0)
        return c;
    return a_len < b_len ? -1 : a_len > b_len;
}

static int same_name(const canon_item *a, const canon_item *b)
{
    return a->name_len == b->name_len && memcmp(a->name, b->name, a->name_len) == 0;
}

/* Headers sort by name, repeats keeping their order; parameters by name, then value. */
static int compare_headers(const void *pa, const void *pb)
{
    const canon_item *a = pa, *b = pb;
    int c = compare_spans(a->name, a->name_len, b->name, b->name_len);
    if (c != 0)
        return c;
    return a->arrival < b->arrival ? -1 : a->arrival > b->arrival;
}

static int compare_params(const void *pa, const void *pb)
{
    const canon_item *a = pa, *b = pb;
    int c = compare_spans(a->name, a->name_len, b->name, b->name_len);
    if (c != 0)
        return c;
    return compare_spans(a->value, a->value_len, b->value, b->value_len);
}

/* Inline so that each call site gets its comparator inlined in the insertion sort. */
static inline void sort_items(canon_item *items, size_t count,
                              int (*compare)(const void *, const void *))
{
    if (count > SMALL_SORT_MAX) {
        qsort(items, count, sizeof *items, compare);
        return;
    }
    for (size_t i = 1; i < count; i++) {
        canon_item moving = items[i];
        size_t j = i;
        for (; j > 0 && compare(&items[j - 1], &moving) > 0; j--)
            items[j] = items[j - 1];
        items[j] = moving;
    }
}

/* ---- the session token, remembered ---- */

/* Makes the token the one the workspace remembers; 0, or -1 when out of memory. */
static int remember_token(sign_workspace *ws, const char *token, size_t len)
{
    /* (memcmp's timing could only tell how this token differs from the previous one.) */
    if (ws->token.len == len && len > 0 && memcmp(ws->token.data, token, len) == 0)
        return 0;
    kvi_buf_reset(&ws->token);
    kvi_buf_reset(&ws->encoded_token);
    ws->token_has_space = -1;
    if (kvi_put(&ws->token, token, len) != 0) {
        kvi_buf_reset(&ws->token); /* a failure is not a match next time */
        return -1;
    }
    return 0;
}

/* Whether the token holds whitespace: header mode trims it like any header value. -1 when out of
 * memory. */
static int token_has_space(sign_workspace *ws, const char *token, size_t len)
{
    if (remember_token(ws, token, len) != 0)
        return -1;
    if (ws->token_has_space < 0)
        ws->token_has_space = strcspn(ws->token.data, " \t\n\r\v\f") != len;
    return ws->token_has_space;
}

/* The token percent-encoded, kept in the workspace until the token changes; NULL out of memory. */
static const kvi_buf *encoded_token(sign_workspace *ws, const char *token, size_t len)
{
    if (remember_token(ws, token, len) != 0)
        return NULL;
    if (ws->encoded_token.len == 0 && kvi_uri_encode(&ws->encoded_token, token, len, 0) != 0) {
        kvi_buf_reset(&ws->encoded_token);
        return NULL;
    }
    return &ws->encoded_token;
}

/* Adds a header: its name lowercased, its value trimmed with inner runs of whitespace, folded
 * lines included, collapsed to one space. Both are copied into the list's text and canonicalized
 * there (which only keeps or shrinks them), except what is canonical already: the names the
 * signer adds are lowercase, and the values it made itself are borrowed as they are. Returns the
 * item, or NULL when out of memory. */
static canon_item *add_header(canon_list *list, const char *name, size_t name_len,
                              int name_is_lowercase, const char *value, size_t value_len,
                              int value_is_canonical)
{
    canon_item *item = kvi_sigv4_list_add(list);
    if (!item)
        return NULL;
    item->arrival = list->count;
    item->name_len = name_len;
    item->value_len = value_len;
    kvi_buf *text = &list->text;
    if (name_is_lowercase) {
        item->name = name;
    } else {
        item->name_off = text->len;
        if (kvi_put(text, name, name_len) != 0)
            return NULL;
        for (char *c = text->data + item->name_off; c < text->data + text->len; c++)
            if (*c >= 'A' && *c <= 'Z')
                *c = (char)(*c - 'A' + 'a');
    }
    if (value_is_canonical) {
        item->value = value;
        return item;
    }

    /* Leading and trailing whitespace goes before the copy: most values that have any only have
     * that (the space after the colon of a "Name: value" line). */
    while (value_len > 0 && is_space((unsigned char)value[0])) {
        value++;
        value_len--;
    }
    while (value_len > 0 && is_space((unsigned char)value[value_len - 1]))
        value_len--;
    item->value_off = text->len;
    item->value_len = value_len;
    if (kvi_put(text, value, value_len) != 0)
        return NULL;
    char *v = text->data + item->value_off;
    /* Most values hold no inner whitespace: a vectorized scan finds that out far faster than the
     * byte loop below. The value ends the text, so it is NUL-terminated here. */
    if (strcspn(v, " \t\n\r\v\f") == value_len)
        return item;
    size_t kept = 0;
    int space_pending = 0;
    for (size_t i = 0; i < value_len; i++) {
        unsigned char c = (unsigned char)v[i];
        /* Every whitespace byte is <= ' ', so most bytes take only the first test. */
        if (c <= ' ' && is_space(c)) {
            space_pending = kept > 0;
            continue;
        }
        if (space_pending)
            v[kept++] = ' ';
        space_pending = 0;
        /* Until something is dropped the text is already where it belongs. */
        if (kept != i)
            v[kept] = (char)c;
        kept++;
    }
    item->value_len = kept;
    text->len = item->value_off + kept;
    text->data[text->len] = '\0';
    return item;
}

/* For a caller's header, whose name is in the list's text. */
#define NAME_IS(list, item, literal)                                                             \
    ((item)->name_len == sizeof(literal) - 1 &&                                                  \
     memcmp((list)->text.data + (item)->name_off, literal, sizeof(literal) - 1) == 0)

/* Fills ws->headers, sorted, and ws->signed_headers. This and build_query stay out of line:
 * inlined into their one caller, they made presigning 8 % slower (one huge function; measured
 * with bench/c/bench_sign). */
__attribute__((noinline)) static const char *build_headers(sign_workspace *ws,
                                                           const sign_job *job)
{
    const kvi_sign_request *req = job->req;
    canon_list *list = &ws->headers;
    int has_host = 0;
    kvi_sigv4_list_reset(list);

    for (size_t i = 0; i < req->header_count; i++) {
        const char *name = req->headers[i].name, *value = req->headers[i].value;
        size_t name_len = name ? strlen(name) : 0;
        if (name_len == 0)
            return "a header has an empty name";
        const canon_item *h =
            add_header(list, name, name_len, 0, value, value ? strlen(value) : 0, 0);
        if (!h)
            return "out of memory";
        /* Headers the signer writes itself would otherwise go out twice. */
        if (NAME_IS(list, h, "x-amz-date") || NAME_IS(list, h, "authorization"))
            return "the request already carries X-Amz-Date or Authorization";
        if (!job->presign && job->add_token && NAME_IS(list, h, "x-amz-security-token"))
            return "the request already carries X-Amz-Security-Token";
        if (job->content_sha256_header && NAME_IS(list, h, "x-amz-content-sha256"))
            return "the request already carries x-amz-content-sha256";
        has_host |= NAME_IS(list, h, "host");
    }
    if (!has_host)
        return "the request has no Host header";

    /* Query signing carries these as parameters instead. */
    if (!job->presign) {
        int ok = add_header(list, "x-amz-date", 10, 1, job->amz_date, 16, 1) != NULL;
        /* The token is the caller's text, so it is trimmed like any header value (unless it
         * has no whitespace at all, as tokens do). */
        if (ok && job->sign_token) {
            int has_space = token_has_space(ws, job->creds->session_token, job->token_len);
            ok = has_space >= 0 && add_header(list, "x-amz-security-token", 20, 1,
                                              job->creds->session_token, job->token_len,
                                              !has_space) != NULL;
        }
        if (ok && job->content_sha256_header)
            ok = add_header(list, "x-amz-content-sha256", 20, 1, job->payload_hash,
                            strlen(job->payload_hash), 1) != NULL;
        if (!ok)
            return "out of memory";
    }

    kvi_sigv4_list_point(list);
    sort_items(list->items, list->count, compare_headers);

    kvi_buf *names = &ws->signed_headers;
    kvi_buf_reset(names);
    int rc = 0;
    for (size_t i = 0; i < list->count && rc == 0; i++) {
        const canon_item *h = &list->items[i];
        if (i == 0 || !same_name(h, &list->items[i - 1]))
            rc = (i > 0 && kvi_put_char(names, ';')) || kvi_put(names, h->name, h->name_len);
    }
    return rc == 0 ? NULL : "out of memory";
}

/* Appends the sorted headers to out as "name:value" lines, a repeated header's values joined by
 * commas. */
static int put_header_block(const canon_list *list, kvi_buf *out)
{
    int rc = 0;
    for (size_t i = 0; i < list->count && rc == 0; i++) {
        const canon_item *h = &list->items[i];
        if (i > 0 && same_name(h, &list->items[i - 1]))
            rc = kvi_put_char(out, ',');
        else
            rc = (i > 0 && kvi_put_char(out, '\n')) || kvi_put(out, h->name, h->name_len) ||
                 kvi_put_char(out, ':');
        rc = rc || kvi_put(out, h->value, h->value_len);
    }
    return rc || kvi_put_char(out, '\n');
}

static int is_signing_param(const char *name, size_t len, int token_added)
{
    if (len < 6 || strncasecmp(name, "x-amz-", 6) != 0)
        return 0; /* most parameters: no need to try every reserved name */
    static const char *const reserved[] = {"x-amz-algorithm", "x-amz-credential", "x-amz-date",
                                           "x-amz-expires",   "x-amz-signedheaders",
                                           "x-amz-signature"};
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
        if (equals_ignoring_case(name, len, reserved[i]))
            return 1;
    return token_added && equals_ignoring_case(name, len, "x-amz-security-token");
}

/* How a parameter's name or value reaches the canonical query. */
typedef enum param_text {
    PARAM_RAW,       /* as written in a URL: decoded, then encoded strictly */
    PARAM_PLAIN,     /* plain text: encoded */
    PARAM_CANONICAL, /* already as it must appear (our own names and values): copied */
    PARAM_TOKEN,     /* the session token: encoded, or its encoding reused */
} param_text;

/* Sets a parameter's name or value: borrowed when it is canonical already, else encoded into the
 * list's text. 0, -1 when out of memory, -2 on a malformed %-escape. */
static int set_param_text(sign_workspace *ws, const char *s, size_t len, param_text kind,
                          const char **borrowed, size_t *off, size_t *text_len)
{
    kvi_buf *text = &ws->params.text;
    int rc = 0;
    *off = text->len;
    switch (kind) {
    case PARAM_CANONICAL:
        *borrowed = s;
        *text_len = len;
        return 0;
    case PARAM_TOKEN: {
        const kvi_buf *encoded = encoded_token(ws, s, len);
        if (!encoded)
            return -1;
        *borrowed = encoded->data;
        *text_len = encoded->len;
        return 0;
    }
    case PARAM_RAW:
        rc = kvi_sigv4_encode_query_part(text, s, len);
        break;
    case PARAM_PLAIN:
        rc = kvi_uri_encode(text, s, len, 0);
        break;
    }
    *text_len = text->len - *off;
    return rc;
}

static const char *add_param(sign_workspace *ws, const char *name, size_t name_len,
                             param_text name_kind, const char *value, size_t value_len,
                             param_text value_kind)
{
    canon_item *item = kvi_sigv4_list_add(&ws->params);
    if (!item)
        return "out of memory";
    int rc = set_param_text(ws, name, name_len, name_kind, &item->name, &item->name_off,
                            &item->name_len);
    if (rc == 0)
        rc = set_param_text(ws, value, value_len, value_kind, &item->value, &item->value_off,
                            &item->value_len);
    if (rc == -2)
        return "the query has a malformed %-escape";
    return rc == 0 ? NULL : "out of memory";
}

/* Appends the canonical query string to out. */
__attribute__((noinline)) static const char *build_query(sign_workspace *ws, const sign_job *job,
                                                         kvi_buf *out)
{
    const char *query = job->req->query ? job->req->query : "";
    canon_list *list = &ws->params;
    const char *err = NULL;
    char expires[21]; /* borrowed by its parameter until the query is written */
    kvi_sigv4_list_reset(list);

    for (const char *p = query; *p && !err;) {
        const char *end = strchrnul(p, '&');
        size_t len = (size_t)(end - p);
        if (len > 0) {
            /* "key" without '=' signs as "key=". */
            const char *eq = memchr(p, '=', len);
            size_t name_len = eq ? (size_t)(eq - p) : len;
            const char *value = eq ? eq + 1 : p + len;
            err = add_param(ws, p, name_len, PARAM_RAW, value, (size_t)(p + len - value),
                            PARAM_RAW);
            /* Compared decoded, so an escaped spelling cannot slip a second copy past us. */
            if (!err && job->presign) {
                const canon_item *added = &list->items[list->count - 1];
                if (is_signing_param(list->text.data + added->name_off, added->name_len,
                                     job->add_token))
                    err = "the query already carries X-Amz-* signing parameters";
            }
        }
        p = *end ? end + 1 : end;
    }

    if (!err && job->presign) {
        format_decimal((uint64_t)job->cfg->expires, expires); /* 1..604800: checked */
        kvi_buf *credential = &ws->credential;
        kvi_buf_reset(credential);
        if (kvi_put_str(credential, job->creds->access_key_id) || kvi_put_char(credential, '/') ||
            kvi_put_buf(credential, &ws->scope))
            return "out of memory";
        const char *token = job->sign_token ? job->creds->session_token : NULL;
        /* The names and most values are canonical as they are: only the credential (its
         * slashes), the signed header list (its semicolons) and the token need encoding. */
#define LITERAL_AND_LENGTH(literal) literal, sizeof(literal) - 1
        const struct {
            const char *name;
            size_t name_len;
            const char *value;
            size_t value_len;
            param_text value_kind;
        } auth_params[] = {
            {LITERAL_AND_LENGTH("X-Amz-Algorithm"), LITERAL_AND_LENGTH(ALGORITHM), PARAM_CANONICAL},
            {LITERAL_AND_LENGTH("X-Amz-Credential"), credential->data, credential->len, PARAM_PLAIN},
            {LITERAL_AND_LENGTH("X-Amz-Date"), job->amz_date, 16, PARAM_CANONICAL},
            {LITERAL_AND_LENGTH("X-Amz-Expires"), expires, strlen(expires), PARAM_CANONICAL},
            {LITERAL_AND_LENGTH("X-Amz-Security-Token"), token, job->token_len, PARAM_TOKEN},
            {LITERAL_AND_LENGTH("X-Amz-SignedHeaders"), kvi_buf_str(&ws->signed_headers),
             ws->signed_headers.len, PARAM_PLAIN},
        }; /* in their sorted order, which leaves the sort less to move */
#undef LITERAL_AND_LENGTH
        for (size_t i = 0; i < sizeof auth_params / sizeof auth_params[0] && !err; i++)
            if (auth_params[i].value)
                err = add_param(ws, auth_params[i].name, auth_params[i].name_len,
                                PARAM_CANONICAL, auth_params[i].value, auth_params[i].value_len,
                                auth_params[i].value_kind);
    }
    if (err)
        return err;

    kvi_sigv4_list_point(list);
    sort_items(list->items, list->count, compare_params);
    int rc = 0;
    for (size_t i = 0; i < list->count && rc == 0; i++) {
        const canon_item *q = &list->items[i];
        rc = (i > 0 && kvi_put_char(out, '&')) || kvi_put(out, q->name, q->name_len) ||
             kvi_put_char(out, '=') || kvi_put(out, q->value, q->value_len);
    }
    return rc == 0 ? NULL : "out of memory";
}

const char *kvi_sigv4_canonical_request(sign_workspace *ws, sign_job *job)
{
    /* The headers first: a presigned query names them. */
    const char *err = build_headers(ws, job);
    if (err)
        return err;
    kvi_buf *out = &ws->canonical_request;
    kvi_buf_reset(out);
    if (kvi_put_str(out, job->req->method) || kvi_put_char(out, '\n'))
        return "out of memory";
    job->path_off = out->len;
    if ((err = append_path(ws, job, out)) != NULL)
        return err;
    job->path_len = out->len - job->path_off;
    if (kvi_put_char(out, '\n'))
        return "out of memory";
    job->query_off = out->len;
    if ((err = build_query(ws, job, out)) != NULL)
        return err;
    job->query_len = out->len - job->query_off;
    /* The header block ends in its own newline, hence the blank line after it. */
    if (kvi_put_char(out, '\n') || put_header_block(&ws->headers, out) || kvi_put_char(out, '\n') ||
        kvi_put_buf(out, &ws->signed_headers) || kvi_put_char(out, '\n') ||
        kvi_put_str(out, job->payload_hash))
        return "out of memory";
    return NULL;
}

