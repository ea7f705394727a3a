/* SPDX-License-Identifier: Apache-2.0 */
/* utf8.c - strict, incremental UTF-8 validation (RFC 3629, the table in its section 4). */
#include "base/utf8.h"

/* The state packs the bytes still needed (bits 0-7) and the range allowed for the next one
 * (lo in bits 8-15, hi in bits 16-23): only a sequence's second byte has a narrower range. */
static kvi_utf8_state expect(unsigned need, unsigned lo, unsigned hi)
{
    return need | (lo << 8) | (hi << 16);
}

int kvi_utf8_check(kvi_utf8_state *state, const void *data, size_t n)
{
    const unsigned char *p = data;
    kvi_utf8_state st = *state;
    for (size_t i = 0; i < n; i++) {
        unsigned b = p[i];
        unsigned need = st & 0xFF;
        if (need) {
            if (b < ((st >> 8) & 0xFF) || b > ((st >> 16) & 0xFF))
                return -1;
            st = need > 1 ? expect(need - 1, 0x80, 0xBF) : KVI_UTF8_START;
            continue;
        }
        if (b < 0x80)
            continue;
        if (b >= 0xC2 && b <= 0xDF)
            st = expect(1, 0x80, 0xBF);
        else if (b == 0xE0)
            st = expect(2, 0xA0, 0xBF); /* no overlong 3-byte form */
        else if (b == 0xED)
            st = expect(2, 0x80, 0x9F); /* no UTF-16 surrogates */
        else if (b >= 0xE1 && b <= 0xEF)
            st = expect(2, 0x80, 0xBF);
        else if (b == 0xF0)
            st = expect(3, 0x90, 0xBF); /* no overlong 4-byte form */
        else if (b >= 0xF1 && b <= 0xF3)
            st = expect(3, 0x80, 0xBF);
        else if (b == 0xF4)
            st = expect(3, 0x80, 0x8F); /* nothing over U+10FFFF */
        else
            return -1; /* a stray continuation byte, C0, C1 or F5-FF */
    }
    *state = st;
    return 0;
}

int kvi_utf8_valid(const void *data, size_t n)
{
    kvi_utf8_state st = KVI_UTF8_START;
    return kvi_utf8_check(&st, data, n) == 0 && st == KVI_UTF8_START;
}

size_t kvi_utf8_cut(const void *data, size_t n, size_t cap)
{
    const unsigned char *p = data;
    if (n <= cap)
        return n;
    size_t cut = cap;
    /* Back off over continuation bytes to the start of the character cut in two. */
    while (cut > 0 && (p[cut] & 0xC0) == 0x80)
        cut--;
    return cut;
}
