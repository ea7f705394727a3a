/* SPDX-License-Identifier: Apache-2.0 */
/* xml.c - a strict, bounded, single-pass XML value extractor (see xml.h). */
#include "base/xml.h"

#include <stdint.h>
#include <string.h>

typedef struct xml_parser {
    const unsigned char *s;
    size_t n, i;
    const char *why;
    /* the path, split */
    const char *step[KVI_XML_MAX_PATH];
    size_t step_len[KVI_XML_MAX_PATH];
    int steps;
    /* the open elements */
    const unsigned char *name[KVI_XML_MAX_DEPTH];
    size_t name_len[KVI_XML_MAX_DEPTH];
    int depth;
    int matched; /* how many of the open elements, from the root, follow the path */
    int found;   /* the element at the path was closed: its value is complete */
    kvi_buf *out;
    int oom;
} xml_parser;

static int fail(xml_parser *p, const char *why)
{
    if (!p->why)
        p->why = why;
    return -1;
}

/* ---- characters --------------------------------------------------------------------------- */

/* XML 1.0's Char production. */
static int xml_char_ok(uint32_t c)
{
    return c == 0x9 || c == 0xA || c == 0xD || (c >= 0x20 && c <= 0xD7FF) ||
           (c >= 0xE000 && c <= 0xFFFD) || (c >= 0x10000 && c <= 0x10FFFF);
}

/* Decodes one UTF-8 sequence at s (n bytes left): its length, or 0 when invalid (overlong,
 * surrogate, truncated, out of range). */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if ((c & 0xE0) == 0xC0) {
        len = 2, v = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        len = 3, v = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
        len = 4, v = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t k = 1; k < len; k++) {
        if ((s[k] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (s[k] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    return len;
}

/* The whole document is UTF-8 made of XML characters: checked once, up front. */
static int check_chars(xml_parser *p)
{
    for (size_t i = 0; i < p->n;) {
        uint32_t cp;
        size_t k = utf8_decode(p->s + i, p->n - i, &cp);
        if (!k)
            return fail(p, "the document is not valid UTF-8");
        if (!xml_char_ok(cp))
            return fail(p, "the document holds a character XML does not allow");
        i += k;
    }
    return 0;
}

static void put_utf8(xml_parser *p, uint32_t c)
{
    char b[4];
    size_t n;
    if (c < 0x80) {
        b[0] = (char)c, n = 1;
    } else if (c < 0x800) {
        b[0] = (char)(0xC0 | (c >> 6)), b[1] = (char)(0x80 | (c & 0x3F)), n = 2;
    } else if (c < 0x10000) {
        b[0] = (char)(0xE0 | (c >> 12)), b[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        b[2] = (char)(0x80 | (c & 0x3F)), n = 3;
    } else {
        b[0] = (char)(0xF0 | (c >> 18)), b[1] = (char)(0x80 | ((c >> 12) & 0x3F));
        b[2] = (char)(0x80 | ((c >> 6) & 0x3F)), b[3] = (char)(0x80 | (c & 0x3F)), n = 4;
    }
    if (kvi_buf_append(p->out, b, n) != 0)
        p->oom = 1;
}

/* ---- small scanners ----------------------------------------------------------------------- */

static int is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

static int at(const xml_parser *p, const char *lit)
{
    size_t l = strlen(lit);
    return p->n - p->i >= l && memcmp(p->s + p->i, lit, l) == 0;
}

static void skip_space(xml_parser *p)
{
    while (p->i < p->n && is_space(p->s[p->i]))
        p->i++;
}

/* A Name, loosely: ASCII letters, '_' and ':' (or any non-ASCII byte) first, then also digits,
 * '-' and '.'. */
static int name_start(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' || c >= 0x80;
}

static int name_char(unsigned char c)
{
    return name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

static int scan_name(xml_parser *p, const unsigned char **name, size_t *len)
{
    size_t start = p->i;
    if (p->i >= p->n || !name_start(p->s[p->i]))
        return fail(p, "a name was expected");
    while (p->i < p->n && name_char(p->s[p->i]))
        p->i++;
    *name = p->s + start;
    *len = p->i - start;
    return 0;
}

/* Moves past the next occurrence of end; -1 when there is none. */
static int skip_past(xml_parser *p, const char *end, const char *why)
{
    size_t l = strlen(end);
    for (; p->n - p->i >= l; p->i++)
        if (memcmp(p->s + p->i, end, l) == 0) {
            p->i += l;
            return 0;
        }
    return fail(p, why);
}

/* "<!--" ... "-->", where "--" may not appear inside. */
static int comment(xml_parser *p)
{
    p->i += 4;
    for (; p->n - p->i >= 2; p->i++)
        if (p->s[p->i] == '-' && p->s[p->i + 1] == '-') {
            if (p->n - p->i >= 3 && p->s[p->i + 2] == '>') {
                p->i += 3;
                return 0;
            }
            return fail(p, "\"--\" inside a comment");
        }
    return fail(p, "an unterminated comment");
}

/* "<?target ... ?>"; the declaration ("xml" in any case) only where first is set. */
static int processing_instruction(xml_parser *p, int first)
{
    p->i += 2;
    const unsigned char *target;
    size_t tl;
    if (scan_name(p, &target, &tl) != 0)
        return -1;
    if (tl == 3 && (target[0] | 0x20) == 'x' && (target[1] | 0x20) == 'm' &&
        (target[2] | 0x20) == 'l' && !first)
        return fail(p, "an XML declaration that is not at the start");
    if (p->i < p->n && !is_space(p->s[p->i]) && !at(p, "?>"))
        return fail(p, "a malformed processing instruction");
    return skip_past(p, "?>", "an unterminated processing instruction");
}

/* A reference after '&': appended to the value when keep. */
static int reference(xml_parser *p, int keep)
{
    static const struct {
        const char *name;
        char c;
    } predefined[] = {{"lt;", '<'}, {"gt;", '>'}, {"amp;", '&'}, {"quot;", '"'}, {"apos;", '\''}};
    p->i++; /* '&' */
    if (p->i < p->n && p->s[p->i] == '#') {
        p->i++;
        int hex = p->i < p->n && p->s[p->i] == 'x';
        if (hex)
            p->i++;
        uint32_t v = 0;
        size_t digits = 0;
        for (; p->i < p->n && p->s[p->i] != ';'; p->i++, digits++) {
            unsigned char c = p->s[p->i];
            int d = c >= '0' && c <= '9'               ? c - '0'
                    : hex && c >= 'a' && c <= 'f'      ? c - 'a' + 10
                    : hex && c >= 'A' && c <= 'F'      ? c - 'A' + 10
                                                       : -1;
            if (d < 0)
                return fail(p, "a malformed character reference");
            v = v * (hex ? 16u : 10u) + (uint32_t)d;
            if (v > 0x10FFFF)
                return fail(p, "a character reference out of range");
        }
        if (p->i >= p->n || !digits)
            return fail(p, "a malformed character reference");
        p->i++; /* ';' */
        if (!xml_char_ok(v))
            return fail(p, "a character reference to a character XML does not allow");
        if (keep)
            put_utf8(p, v);
        return 0;
    }
    for (size_t k = 0; k < sizeof predefined / sizeof *predefined; k++)
        if (at(p, predefined[k].name)) {
            p->i += strlen(predefined[k].name);
            if (keep && kvi_buf_putc(p->out, predefined[k].c) != 0)
                p->oom = 1;
            return 0;
        }
    return fail(p, "an entity reference other than the five predefined ones");
}

/* Attributes up to '>' or "/>": name = "value" | 'value', values without '<'. */
static int attributes(xml_parser *p)
{
    for (;;) {
        size_t before = p->i;
        skip_space(p);
        if (p->i >= p->n)
            return fail(p, "an unterminated start tag");
        if (p->s[p->i] == '>' || at(p, "/>"))
            return 0;
        if (p->i == before)
            return fail(p, "attributes must be separated by white space");
        const unsigned char *name;
        size_t nl;
        if (scan_name(p, &name, &nl) != 0)
            return -1;
        skip_space(p);
        if (p->i >= p->n || p->s[p->i] != '=')
            return fail(p, "an attribute without '='");
        p->i++;
        skip_space(p);
        if (p->i >= p->n || (p->s[p->i] != '"' && p->s[p->i] != '\''))
            return fail(p, "an attribute value without quotes");
        unsigned char q = p->s[p->i++];
        while (p->i < p->n && p->s[p->i] != q) {
            if (p->s[p->i] == '<')
                return fail(p, "'<' in an attribute value");
            if (p->s[p->i] == '&') {
                if (reference(p, 0) != 0)
                    return -1;
            } else {
                p->i++;
            }
        }
        if (p->i >= p->n)
            return fail(p, "an unterminated attribute value");
        p->i++;
    }
}

/* Does a name equal the path step, comparing the local part (after any prefix)? */
static int name_is(const unsigned char *name, size_t nl, const char *step, size_t sl)
{
    const unsigned char *colon = memchr(name, ':', nl);
    if (colon) {
        nl -= (size_t)(colon + 1 - name);
        name = colon + 1;
    }
    return nl == sl && memcmp(name, step, sl) == 0;
}

static int capturing(const xml_parser *p)
{
    return !p->found && p->depth == p->steps && p->matched == p->steps;
}

/* A start tag after '<' is seen (p->i at '<'); pushes it unless it is empty ("/>"). */
static int start_tag(xml_parser *p)
{
    p->i++;
    const unsigned char *name;
    size_t nl;
    if (scan_name(p, &name, &nl) != 0 || attributes(p) != 0)
        return -1;
    int empty = p->s[p->i] == '/';
    p->i += empty ? 2 : 1;
    if (p->depth >= KVI_XML_MAX_DEPTH)
        return fail(p, "elements nested too deep");
    int d = p->depth; /* the new element's index */
    int follows = p->matched == d && d < p->steps && name_is(name, nl, p->step[d], p->step_len[d]);
    if (empty) {
        if (follows && d + 1 == p->steps && !p->found)
            p->found = 1; /* <a/> at the path: an empty value */
        return 0;
    }
    p->name[d] = name;
    p->name_len[d] = nl;
    p->depth++;
    if (follows)
        p->matched = d + 1;
    return 0;
}

/* An end tag (p->i at "</"): must close the innermost open element. */
static int end_tag(xml_parser *p)
{
    p->i += 2;
    const unsigned char *name;
    size_t nl;
    if (scan_name(p, &name, &nl) != 0)
        return -1;
    skip_space(p);
    if (p->i >= p->n || p->s[p->i] != '>')
        return fail(p, "a malformed end tag");
    p->i++;
    if (p->depth == 0)
        return fail(p, "an end tag without its start tag");
    int d = p->depth - 1;
    if (nl != p->name_len[d] || memcmp(name, p->name[d], nl) != 0)
        return fail(p, "an end tag that does not match its start tag");
    if (capturing(p))
        p->found = 1;
    if (p->matched == p->depth)
        p->matched = d;
    p->depth--;
    return 0;
}

/* Character data up to the next '<' or '&'. */
static int char_data(xml_parser *p)
{
    size_t start = p->i;
    while (p->i < p->n && p->s[p->i] != '<' && p->s[p->i] != '&') {
        if (p->s[p->i] == '>' && p->i - start >= 2 && p->s[p->i - 1] == ']' &&
            p->s[p->i - 2] == ']')
            return fail(p, "\"]]>\" in character data");
        p->i++;
    }
    if (capturing(p) && kvi_buf_append(p->out, p->s + start, p->i - start) != 0)
        p->oom = 1;
    return 0;
}

/* The root element and everything in it. */
static int element(xml_parser *p)
{
    if (start_tag(p) != 0)
        return -1;
    while (p->depth > 0 && !p->oom) {
        if (p->i >= p->n)
            return fail(p, "the document ends inside an element");
        if (p->s[p->i] == '&') {
            if (reference(p, capturing(p)) != 0)
                return -1;
        } else if (p->s[p->i] != '<') {
            if (char_data(p) != 0)
                return -1;
        } else if (at(p, "</")) {
            if (end_tag(p) != 0)
                return -1;
        } else if (at(p, "<!--")) {
            if (comment(p) != 0)
                return -1;
        } else if (at(p, "<![CDATA[")) {
            p->i += 9;
            size_t start = p->i;
            if (skip_past(p, "]]>", "an unterminated CDATA section") != 0)
                return -1;
            if (capturing(p) && kvi_buf_append(p->out, p->s + start, p->i - 3 - start) != 0)
                p->oom = 1;
        } else if (at(p, "<?")) {
            if (processing_instruction(p, 0) != 0)
                return -1;
        } else if (at(p, "<!")) {
            return fail(p, "a markup declaration inside an element");
        } else {
            if (start_tag(p) != 0)
                return -1;
        }
    }
    return 0;
}

/* Comments, processing instructions and white space: what may surround the root. */
static int misc(xml_parser *p)
{
    for (;;) {
        skip_space(p);
        if (at(p, "<!--")) {
            if (comment(p) != 0)
                return -1;
        } else if (at(p, "<?")) {
            if (processing_instruction(p, 0) != 0)
                return -1;
        } else {
            return 0;
        }
    }
}

static int split_path(xml_parser *p, const char *path)
{
    p->steps = 0;
    for (const char *s = path;;) {
        size_t l = strcspn(s, "/");
        if (l == 0 || p->steps == KVI_XML_MAX_PATH)
            return fail(p, "a bad path");
        p->step[p->steps] = s;
        p->step_len[p->steps++] = l;
        if (!s[l])
            return 0;
        s += l + 1;
    }
}

kvi_xml_result kvi_xml_value(const char *doc, size_t len, const char *path, kvi_buf *out,
                             const char **why)
{
    const char *dummy;
    if (!why)
        why = &dummy;
    *why = NULL;
    xml_parser p;
    memset(&p, 0, sizeof p);
    p.s = (const unsigned char *)doc;
    p.n = doc ? len : 0;
    p.out = out;
    if (out)
        kvi_buf_reset(out);
    if (!path || !out || split_path(&p, path) != 0) {
        *why = p.why ? p.why : "a bad path";
        return KVI_XML_MALFORMED;
    }
    if (p.n > KVI_XML_MAX_DOC) {
        *why = "the document is too large";
        return KVI_XML_MALFORMED;
    }
    if (p.n >= 3 && memcmp(p.s, "\xEF\xBB\xBF", 3) == 0)
        p.i = 3; /* a byte order mark */
    int rc = check_chars(&p);
    if (rc == 0 && at(&p, "<?xml") && p.n - p.i > 5 && is_space(p.s[p.i + 5]))
        rc = processing_instruction(&p, 1);
    if (rc == 0)
        rc = misc(&p);
    if (rc == 0 && at(&p, "<!DOCTYPE"))
        rc = fail(&p, "a DOCTYPE (not accepted)");
    if (rc == 0 && (p.i >= p.n || p.s[p.i] != '<' || at(&p, "<!")))
        rc = fail(&p, "no root element");
    if (rc == 0)
        rc = element(&p);
    if (rc == 0 && !p.oom)
        rc = misc(&p);
    if (rc == 0 && !p.oom && p.i < p.n)
        rc = fail(&p, "content after the root element");
    if (p.oom)
        return KVI_XML_NO_MEMORY;
    if (rc != 0) {
        *why = p.why ? p.why : "malformed";
        return KVI_XML_MALFORMED;
    }
    if (!p.found) {
        kvi_buf_reset(out);
        return KVI_XML_ABSENT;
    }
    /* An empty value still leaves a NUL-terminated buffer. */
    if (kvi_buf_append(out, "", 0) != 0)
        return KVI_XML_NO_MEMORY;
    return KVI_XML_FOUND;
}
