/* SPDX-License-Identifier: Apache-2.0 */
/* buf.h - a growable byte buffer, always NUL-terminated, used by every module. */
#ifndef KVSWS_BUF_H
#define KVSWS_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct kvi_buf {
    char *data; /* NUL-terminated when len > 0 or after any append; NULL when empty and unused */
    size_t len;
    size_t cap;
} kvi_buf;

#define KVI_BUF_INIT {NULL, 0, 0}

/* All return 0 on success, -1 when out of memory (the buffer is left as it was). */
/* Makes room for extra more bytes (and the NUL) without changing the contents. */
int kvi_buf_reserve(kvi_buf *b, size_t extra);
/* The same, but growing to exactly that size, not by doubling: for a buffer filled once, such as
 * a copy of a secret (less to cleanse). */
int kvi_buf_reserve_exact(kvi_buf *b, size_t extra);
int kvi_buf_append(kvi_buf *b, const void *data, size_t len);
int kvi_buf_puts(kvi_buf *b, const char *s);
int kvi_buf_putc(kvi_buf *b, char c);
int kvi_buf_printf(kvi_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int kvi_buf_vprintf(kvi_buf *b, const char *fmt, va_list ap);
/* The contents, "" when empty (never NULL). */
const char *kvi_buf_str(const kvi_buf *b);
void kvi_buf_reset(kvi_buf *b);            /* len = 0, keeps memory */
void kvi_buf_free(kvi_buf *b);             /* frees, no cleansing */
void kvi_buf_free_secret(kvi_buf *b);      /* explicit_bzero, then frees */
/* Takes ownership of the data: returns a malloc'd string ("" allocated if empty), buffer emptied. */
char *kvi_buf_detach(kvi_buf *b);

/* strdup that returns NULL for NULL. */
char *kvi_strdup(const char *s);
/* Frees s after explicit_bzero over strlen(s). NULL-safe. */
void kvi_free_secret(char *s);

#endif
