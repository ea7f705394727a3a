/* SPDX-License-Identifier: Apache-2.0 */
/* Global functions with the names of static helpers inside the kvsws core (core/src): if the core
 * leaked one of them, a program with both packages would fail to link, or call the wrong one. */
#define _GNU_SOURCE
#include <string.h>
#include <strings.h>

long long now_ms(void);
int eq_ci(const char *a, const char *b);
int contains_ci(const char *haystack, const char *needle);
int is_space(int c);

long long now_ms(void)
{
    return 42;
}

int eq_ci(const char *a, const char *b)
{
    return strcasecmp(a, b) == 0;
}

int contains_ci(const char *haystack, const char *needle)
{
    return strcasestr(haystack, needle) != 0;
}

int is_space(int c)
{
    return c == ' ';
}
