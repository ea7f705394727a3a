/* SPDX-License-Identifier: Apache-2.0 */
/* sigv4_encode.c - the signer's encodings: URI encoding, hex, SHA-256. */
#include "aws/sigv4_encode.h"

#include <openssl/evp.h>
#include <pthread.h>

#define SHA256_LEN 32

/* Every byte's two hex digits: one lookup and one two-byte store per byte, twice as fast as a
 * digit at a time (three digests a signature). */
#define HEX_ROW(high)                                                                            \
    {high, '0'}, {high, '1'}, {high, '2'}, {high, '3'}, {high, '4'}, {high, '5'}, {high, '6'},   \
        {high, '7'}, {high, '8'}, {high, '9'}, {high, 'a'}, {high, 'b'}, {high, 'c'},            \
        {high, 'd'}, {high, 'e'}, {high, 'f'}
static const char HEX_PAIRS[256][2] = {
    HEX_ROW('0'), HEX_ROW('1'), HEX_ROW('2'), HEX_ROW('3'), HEX_ROW('4'), HEX_ROW('5'),
    HEX_ROW('6'), HEX_ROW('7'), HEX_ROW('8'), HEX_ROW('9'), HEX_ROW('a'), HEX_ROW('b'),
    HEX_ROW('c'), HEX_ROW('d'), HEX_ROW('e'), HEX_ROW('f')};

void kvi_sigv4_hex(const unsigned char *bin, size_t len, char *out)
{
    for (size_t i = 0; i < len; i++)
        memcpy(out + 2 * i, HEX_PAIRS[bin[i]], 2);
    out[2 * len] = '\0';
}

#define UNRESERVED_BYTES                                                                         \
    ['A' ... 'Z'] = 1, ['a' ... 'z'] = 1, ['0' ... '9'] = 1, ['-'] = 1, ['.'] = 1, ['_'] = 1,     \
    ['~'] = 1
static const unsigned char UNRESERVED[256] = {UNRESERVED_BYTES};
static const unsigned char UNRESERVED_OR_SLASH[256] = {UNRESERVED_BYTES, ['/'] = 1};

/* Writes c at p, percent-encoded unless keep[c]; returns the position after it. */
static inline char *put_encoded(char *p, unsigned char c, const unsigned char keep[256])
{
    static const char digits[] = "0123456789ABCDEF";
    if (keep[c]) {
        *p = (char)c;
        return p + 1;
    }
    p[0] = '%';
    p[1] = digits[c >> 4];
    p[2] = digits[c & 15];
    return p + 3;
}

/* Whether the four bytes at s all stay as they are. Most of a long value (a base64 session
 * token) does, and taking it four bytes at a time halves the cost of encoding it. */
static inline int keeps_four(const unsigned char *s, const unsigned char keep[256])
{
    return keep[s[0]] & keep[s[1]] & keep[s[2]] & keep[s[3]];
}

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int kvi_uri_encode(kvi_buf *out, const char *s, size_t len, int keep_slash)
{
    if (len > ((size_t)-1) / 3 || kvi_buf_reserve(out, len * 3) != 0)
        return -1;
    const unsigned char *keep = keep_slash ? UNRESERVED_OR_SLASH : UNRESERVED;
    const unsigned char *in = (const unsigned char *)s;
    char *p = out->data + out->len;
    size_t i = 0;
    while (i < len) {
        if (i + 4 <= len && keeps_four(in + i, keep)) {
            memcpy(p, in + i, 4);
            p += 4;
            i += 4;
        } else {
            p = put_encoded(p, in[i++], keep);
        }
    }
    *p = '\0';
    out->len = (size_t)(p - out->data);
    return 0;
}

/* Decodes a raw query key or value and re-encodes it strictly; -2 on a malformed escape (out
 * unchanged). A raw '+' is a space: AWS services form-decode the query, and botocore's presigner
 * (parse_qs) agrees (aws-c-auth would sign it as %2B, which the service then fails to match). */
int kvi_sigv4_encode_query_part(kvi_buf *out, const char *s, size_t len)
{
    /* Decoding never lengthens, so 3 bytes of room per input byte are enough. */
    if (len > ((size_t)-1) / 3 || kvi_buf_reserve(out, len * 3) != 0)
        return -1;
    const unsigned char *in = (const unsigned char *)s;
    char *p = out->data + out->len;
    size_t i = 0;
    while (i < len) {
        /* Unreserved bytes are neither '%' nor '+': they stay as they are. */
        if (i + 4 <= len && keeps_four(in + i, UNRESERVED)) {
            memcpy(p, in + i, 4);
            p += 4;
            i += 4;
            continue;
        }
        unsigned char c = in[i++];
        if (c == '%') {
            int hi = i + 1 < len ? hex_value(in[i]) : -1;
            int lo = hi >= 0 ? hex_value(in[i + 1]) : -1;
            if (lo < 0) {
                out->data[out->len] = '\0';
                return -2;
            }
            c = (unsigned char)(hi * 16 + lo);
            i += 2;
        } else if (c == '+') {
            c = ' ';
        }
        p = put_encoded(p, c, UNRESERVED);
    }
    *p = '\0';
    out->len = (size_t)(p - out->data);
    return 0;
}

static EVP_MD *shared_sha256;
static pthread_once_t shared_sha256_once = PTHREAD_ONCE_INIT;
static void fetch_shared_sha256(void) { shared_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL); }

void kvi_sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char digest[SHA256_LEN];
    unsigned int digest_len = 0;
    pthread_once(&shared_sha256_once, fetch_shared_sha256);
    if (EVP_Digest(data, len, digest, &digest_len, shared_sha256 ? shared_sha256 : EVP_sha256(),
                   NULL) != 1 ||
        digest_len != SHA256_LEN) {
        out[0] = '\0';
        return;
    }
    kvi_sigv4_hex(digest, SHA256_LEN, out);
}
