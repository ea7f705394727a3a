/* SPDX-License-Identifier: Apache-2.0 */
/* shlex.c - Python's shlex.split (POSIX mode), as botocore uses it for "[profile NAME]" section
 * names and credential_process command lines. */
#include "base/shlex.h"

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"

static int shlex_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

void kvi_shlex_free(char **argv)
{
    if (!argv)
        return;
    for (char **a = argv; *a; a++)
        free(*a);
    free(argv);
}

static int shlex_push(char ***argv, size_t *n, size_t *cap, kvi_buf *tok)
{
    if (*n + 2 > *cap) {
        size_t ncap = *cap ? *cap * 2 : 8;
        char **p = realloc(*argv, ncap * sizeof *p);
        if (!p)
            return -1;
        *argv = p;
        *cap = ncap;
    }
    char *w = kvi_buf_detach(tok);
    if (!w)
        return -1;
    (*argv)[(*n)++] = w;
    (*argv)[*n] = NULL;
    return 0;
}

char **kvi_shlex_split(const char *s, const char **why)
{
    char **argv = NULL;
    size_t n = 0, cap = 0;
    kvi_buf tok = KVI_BUF_INIT;
    *why = NULL;
    /* state: ' ' between words, 'a' in a word, '\'' or '"' in quotes; after a backslash,
     * `esc` remembers the state to return to. */
    char state = ' ', esc = 0;
    int in_word = 0, quoted = 0;
    for (const char *p = s;; p++) {
        char c = *p;
        if (esc) {
            if (!c) {
                *why = "No escaped character";
                goto fail;
            }
            /* Inside double quotes only \" and \\ are escapes; other backslashes stay. */
            if (esc == '"' && c != '\\' && c != '"' && kvi_buf_putc(&tok, '\\') != 0)
                goto fail;
            if (kvi_buf_putc(&tok, c) != 0)
                goto fail;
            state = esc;
            esc = 0;
            continue;
        }
        if (state == '\'' || state == '"') {
            if (!c) {
                *why = "No closing quotation";
                goto fail;
            }
            if (c == state)
                state = 'a';
            else if (c == '\\' && state == '"')
                esc = '"';
            else if (kvi_buf_putc(&tok, c) != 0)
                goto fail;
            continue;
        }
        if (!c || shlex_space(c)) {
            /* A word ends; an empty quoted word ('') still counts, as in POSIX shlex. */
            if (in_word && (tok.len || quoted) && shlex_push(&argv, &n, &cap, &tok) != 0)
                goto fail;
            kvi_buf_reset(&tok);
            in_word = quoted = 0;
            state = ' ';
            if (!c)
                break;
            continue;
        }
        in_word = 1;
        state = 'a';
        if (c == '\'' || c == '"') {
            state = c;
            quoted = 1;
        } else if (c == '\\') {
            esc = 'a';
        } else if (kvi_buf_putc(&tok, c) != 0) {
            goto fail;
        }
    }
    kvi_buf_free(&tok);
    if (!argv) {
        argv = calloc(1, sizeof *argv);
        if (!argv)
            return NULL;
    }
    return argv;
fail:
    kvi_buf_free(&tok);
    kvi_shlex_free(argv);
    return NULL;
}
