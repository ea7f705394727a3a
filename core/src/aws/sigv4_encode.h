/* SPDX-License-Identifier: Apache-2.0 */
/* sigv4_encode.h - the signer's text work: URI encoding as SigV4 wants it, hex, SHA-256, and the
 * buffer appends its hot path uses. */
#ifndef KVSWS_SIGV4_ENCODE_H
#define KVSWS_SIGV4_ENCODE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/buf.h"

/* RFC 3986 percent-encoding as SigV4 wants it: everything but A-Z a-z 0-9 - . _ ~ (and '/' when
 * keep_slash), upper-case hex. 0, or -1 out of memory. */
int kvi_uri_encode(kvi_buf *out, const char *s, size_t len, int keep_slash);

/* Lower-case hex SHA-256 of data into out[65] ("" if OpenSSL fails). */
void kvi_sha256_hex(const void *data, size_t len, char out[65]);

/* len bytes as lower-case hex into out[2 * len + 1]. */
void kvi_sigv4_hex(const unsigned char *bin, size_t len, char *out);

/* Decodes a raw query key or value and re-encodes it strictly; 0, -1 out of memory, -2 on a
 * malformed escape (out unchanged). A raw '+' is a space. */
int kvi_sigv4_encode_query_part(kvi_buf *out, const char *s, size_t len);

/* Appends to a buffer that usually has room already, since workspace buffers keep their memory
 * between signatures: then it is a memcpy here, and only growth goes through kvi_buf_append. */
static inline int kvi_put(kvi_buf *b, const void *data, size_t len)
{
    if (b->data && b->cap - b->len > len) {
        if (len)
            memcpy(b->data + b->len, data, len);
        b->len += len;
        b->data[b->len] = '\0';
        return 0;
    }
    return kvi_buf_append(b, data, len);
}

static inline int kvi_put_char(kvi_buf *b, char c) { return kvi_put(b, &c, 1); }
static inline int kvi_put_str(kvi_buf *b, const char *s) { return kvi_put(b, s, strlen(s)); }
static inline int kvi_put_buf(kvi_buf *b, const kvi_buf *from) { return kvi_put(b, from->data, from->len); }
#define KVI_PUT_LITERAL(b, literal) kvi_put((b), (literal), sizeof(literal) - 1)

#endif
