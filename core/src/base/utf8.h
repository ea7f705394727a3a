/* SPDX-License-Identifier: Apache-2.0 */
/* utf8.h - strict UTF-8 validation (RFC 3629: no overlongs, no surrogates, nothing over
 * U+10FFFF), incremental so a text message can be checked fragment by fragment. */
#ifndef KVSWS_UTF8_H
#define KVSWS_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* What is still expected of a sequence cut at a fragment boundary; 0 between characters. */
typedef uint32_t kvi_utf8_state;

#define KVI_UTF8_START 0u

/* Checks n more bytes. Returns 0 and updates *state, or -1 at the first invalid byte. A whole
 * text is valid when every call returned 0 and the final *state is KVI_UTF8_START. */
int kvi_utf8_check(kvi_utf8_state *state, const void *data, size_t n);

/* 1 when data[0..n) is complete, valid UTF-8. */
int kvi_utf8_valid(const void *data, size_t n);

/* The longest prefix of data[0..n) (at most cap bytes) that ends on a character boundary:
 * cutting a valid text there keeps it valid. */
size_t kvi_utf8_cut(const void *data, size_t n, size_t cap);

#endif
