/* SPDX-License-Identifier: Apache-2.0 */
/* test_utf8.c - the strict UTF-8 validator: RFC 3629's table, byte by byte and across cuts. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "base/utf8.h"

static const struct {
    const char *bytes;
    int valid;
} CASES[] = {
    {"", 1},
    {"plain ASCII \x7f", 1},
    {"caf\xc3\xa9", 1},                 /* U+00E9 */
    {"\xe2\x82\xac", 1},                /* U+20AC */
    {"\xef\xbf\xbf", 1},                /* U+FFFF */
    {"\xf0\x9f\x98\x80", 1},            /* U+1F600 */
    {"\xf4\x8f\xbf\xbf", 1},            /* U+10FFFF, the last one */
    {"\xed\x9f\xbf", 1},                /* U+D7FF, just below the surrogates */
    {"\xee\x80\x80", 1},                /* U+E000, just above them */
    {"\xff\xfe\xc0\xaf", 0},            /* the bytes */
    {"\x80", 0},                        /* a stray continuation byte */
    {"\xc0\xaf", 0},                    /* overlong '/' */
    {"\xc1\xbf", 0},                    /* overlong */
    {"\xe0\x80\xaf", 0},                /* overlong, 3 bytes */
    {"\xe0\x9f\xbf", 0},                /* overlong U+07FF */
    {"\xf0\x80\x80\xaf", 0},            /* overlong, 4 bytes */
    {"\xf0\x8f\xbf\xbf", 0},            /* overlong U+FFFF */
    {"\xed\xa0\x80", 0},                /* U+D800, a surrogate */
    {"\xed\xbf\xbf", 0},                /* U+DFFF */
    {"\xf4\x90\x80\x80", 0},            /* U+110000 */
    {"\xf5\x80\x80\x80", 0},
    {"\xc3", 0},                        /* cut short */
    {"\xe2\x82", 0},
    {"\xf0\x9f\x98", 0},
    {"\xc3\x28", 0},                    /* a continuation that is not one */
    {"\xe2\x28\xa1", 0},
};

static void test_table(void)
{
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        const char *b = CASES[i].bytes;
        size_t n = strlen(b);
        int got = kvi_utf8_valid(b, n);
        if (got != CASES[i].valid)
            fprintf(stderr, "case %zu: valid=%d\n", i, got);
        CHECK_INT(got, CASES[i].valid);
        /* Cut anywhere into two checks: the same verdict. */
        for (size_t cut = 0; cut <= n; cut++) {
            kvi_utf8_state st = KVI_UTF8_START;
            int ok = kvi_utf8_check(&st, b, cut) == 0 && kvi_utf8_check(&st, b + cut, n - cut) == 0 &&
                     st == KVI_UTF8_START;
            CHECK_INT(ok, CASES[i].valid);
        }
    }
    /* The state says "in the middle of a character" until it is complete. */
    kvi_utf8_state st = KVI_UTF8_START;
    CHECK_INT(kvi_utf8_check(&st, "\xf0\x9f", 2), 0);
    CHECK(st != KVI_UTF8_START);
    CHECK_INT(kvi_utf8_check(&st, "\x98\x80", 2), 0);
    CHECK(st == KVI_UTF8_START);
    /* A NUL is valid UTF-8 (NUL is refused elsewhere, with its own message). */
    CHECK_INT(kvi_utf8_valid("a\0b", 3), 1);
}

static void test_cut(void)
{
    const char *t = "ab\xc3\xa9\xe2\x82\xac"; /* a b é € */
    CHECK_INT(kvi_utf8_cut(t, 7, 10), 7);
    CHECK_INT(kvi_utf8_cut(t, 7, 7), 7);
    CHECK_INT(kvi_utf8_cut(t, 7, 6), 4); /* inside the euro sign: back to its start */
    CHECK_INT(kvi_utf8_cut(t, 7, 5), 4);
    CHECK_INT(kvi_utf8_cut(t, 7, 4), 4);
    CHECK_INT(kvi_utf8_cut(t, 7, 3), 2);
    CHECK_INT(kvi_utf8_cut(t, 7, 0), 0);
    for (size_t cap = 0; cap <= 7; cap++)
        CHECK(kvi_utf8_valid(t, kvi_utf8_cut(t, 7, cap)));
}

int main(void)
{
    test_table();
    test_cut();
    return CHECK_DONE();
}
