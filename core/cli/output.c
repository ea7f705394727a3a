/* SPDX-License-Identifier: Apache-2.0 */
/* output.c - an operation's output as the AWS CLI v2 prints it: --output json, text or table. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "output.h"
#include "base/profile.h"

const char *const cli_output_formats[] = {"json", "text", "table", NULL};

int cli_output_valid(const char *name)
{
    for (int i = 0; cli_output_formats[i]; i++)
        if (!strcmp(name, cli_output_formats[i]))
            return 1;
    return 0;
}

const char *cli_output_resolve(const cli_globals *g, char **owned)
{
    *owned = NULL;
    if (g->output)
        return g->output;
    const char *env = getenv("AWS_DEFAULT_OUTPUT");
    const char *name = env && *env ? env : NULL;
    if (!name) {
        /* The profile's "output", as the AWS CLI reads it (the credentials file's too). */
        kvi_profile_paths paths;
        memset(&paths, 0, sizeof paths);
        if (kvi_profile_paths_resolve(NULL, NULL, g->profile, &paths) == 0)
            *owned = kvi_profile_get(&paths, "output");
        kvi_profile_paths_free(&paths);
        name = *owned && **owned ? *owned : "json";
    }
    if (!cli_output_valid(name)) {
        /* What the AWS CLI says for a bad configured value (it is not a command-line error). */
        fprintf(stderr, "\nUnknown output type: %s\n", name);
        free(*owned);
        *owned = NULL;
        return NULL;
    }
    return name;
}

/* ---- timestamps ------------------------------------------------------------------------- */

/* Output members whose shape is a timestamp (epoch seconds on the wire), per operation. */
static const struct {
    const char *operation;
    const char *path[4];
} TIMESTAMPS[] = {
    {"DescribeSignalingChannel", {"ChannelInfo", "CreationTime", NULL}},
};

/* datetime.fromtimestamp(v, tzlocal()).isoformat(), as botocore parses and the CLI prints it. */
static void iso8601(double epoch, char *out, size_t size)
{
    long long secs = (long long)epoch;
    if ((double)secs > epoch)
        secs--;
    long us = (long)((epoch - (double)secs) * 1e6 + 0.5);
    if (us >= 1000000) {
        secs++;
        us -= 1000000;
    }
    time_t t = (time_t)secs;
    struct tm tm;
    tzset();
    if (!localtime_r(&t, &tm)) {
        snprintf(out, size, "%.6f", epoch);
        return;
    }
    char date[64], frac[32] = "";
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
    if (us)
        snprintf(frac, sizeof frac, ".%06ld", us);
    long off = tm.tm_gmtoff;
    char sign = off < 0 ? '-' : '+';
    if (off < 0)
        off = -off;
    snprintf(out, size, "%s%s%c%02ld:%02ld", date, frac, sign, off / 3600, off / 60 % 60);
}

static void convert_timestamps(const char *operation, cJSON *doc)
{
    for (size_t i = 0; i < sizeof TIMESTAMPS / sizeof TIMESTAMPS[0]; i++) {
        if (strcmp(TIMESTAMPS[i].operation, operation) != 0)
            continue;
        cJSON *parent = doc;
        int k = 0;
        while (parent && TIMESTAMPS[i].path[k + 1]) {
            parent = cJSON_GetObjectItemCaseSensitive(parent, TIMESTAMPS[i].path[k]);
            k++;
        }
        const char *leaf = TIMESTAMPS[i].path[k];
        cJSON *value = parent ? cJSON_GetObjectItemCaseSensitive(parent, leaf) : NULL;
        /* beyond year 9999 Python gives up too: leave the number */
        if (!cJSON_IsNumber(value) || !(value->valuedouble > -62135596800.0 &&
                                         value->valuedouble < 253402300800.0))
            continue;
        char text[128];
        iso8601(value->valuedouble, text, sizeof text);
        cJSON_ReplaceItemInObjectCaseSensitive(parent, leaf, cJSON_CreateString(text));
    }
}

/* ---- scalars ---------------------------------------------------------------------------- */

static int is_scalar(const cJSON *v)
{
    return !cJSON_IsObject(v) && !cJSON_IsArray(v);
}

/* A number as Python prints it: ints as ints, floats by their shortest round-trip form. */
static void number_text(double v, char *out, size_t size)
{
    if (v > -1e15 && v < 1e15 && (double)(long long)v == v) {
        snprintf(out, size, "%lld", (long long)v);
        return;
    }
    for (int precision = 15; precision <= 17; precision++) {
        snprintf(out, size, "%.*g", precision, v);
        if (strtod(out, NULL) == v)
            return;
    }
}

/* str(value) in Python, which the text and table formats print. malloc'd. */
static char *scalar_text(const cJSON *v)
{
    char num[64];
    if (!v)
        return strdup("");
    if (cJSON_IsString(v))
        return strdup(v->valuestring);
    if (cJSON_IsNumber(v)) {
        number_text(v->valuedouble, num, sizeof num);
        return strdup(num);
    }
    if (cJSON_IsTrue(v))
        return strdup("True");
    if (cJSON_IsFalse(v))
        return strdup("False");
    return strdup("None");
}

/* Children of an object sorted by key (Python's sorted() on str: code points, as strcmp). */
static int by_key(const void *a, const void *b)
{
    return strcmp((*(cJSON *const *)a)->string, (*(cJSON *const *)b)->string);
}

static cJSON **sorted_members(const cJSON *obj, size_t *n)
{
    *n = (size_t)cJSON_GetArraySize(obj);
    cJSON **m = calloc(*n ? *n : 1, sizeof *m);
    size_t i = 0;
    for (cJSON *c = obj->child; c && m; c = c->next)
        m[i++] = c;
    if (m)
        qsort(m, *n, sizeof *m, by_key);
    return m;
}

/* ---- json ------------------------------------------------------------------------------- */

/* json.dumps(indent=4, ensure_ascii=False): UTF-8 as is, control characters escaped. */
static void json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\n': fputs("\\n", out); break;
        case '\r': fputs("\\r", out); break;
        case '\t': fputs("\\t", out); break;
        case '\b': fputs("\\b", out); break;
        case '\f': fputs("\\f", out); break;
        default:
            if (*p < 0x20)
                fprintf(out, "\\u%04x", *p);
            else
                fputc(*p, out);
        }
    }
    fputc('"', out);
}

static void json_value(FILE *out, const cJSON *v, int depth)
{
    if (cJSON_IsObject(v) || cJSON_IsArray(v)) {
        int object = cJSON_IsObject(v);
        if (!v->child) {
            fputs(object ? "{}" : "[]", out);
            return;
        }
        fputc(object ? '{' : '[', out);
        for (const cJSON *c = v->child; c; c = c->next) {
            fprintf(out, "\n%*s", (depth + 1) * 4, "");
            if (object) {
                json_string(out, c->string);
                fputs(": ", out);
            }
            json_value(out, c, depth + 1);
            if (c->next)
                fputc(',', out);
        }
        fprintf(out, "\n%*s%c", depth * 4, "", object ? '}' : ']');
    } else if (cJSON_IsString(v)) {
        json_string(out, v->valuestring);
    } else if (cJSON_IsNumber(v)) {
        char num[64];
        number_text(v->valuedouble, num, sizeof num);
        fputs(num, out);
    } else {
        fputs(cJSON_IsTrue(v) ? "true" : cJSON_IsFalse(v) ? "false" : "null", out);
    }
}

/* ---- text ------------------------------------------------------------------------------- */

static void text_item(FILE *out, const cJSON *item, const char *identifier,
                      char **scalar_keys, size_t nkeys, int have_keys);

static void put_upper(FILE *out, const char *s)
{
    for (; *s; s++)
        fputc(*s >= 'a' && *s <= 'z' ? *s - 'a' + 'A' : *s, out);
}

/* One scalar of a text line: the upper-cased identifier leads the line, tabs separate the rest. */
static void put_text_field(FILE *out, const char *identifier, const cJSON *value, int *any)
{
    char *s = scalar_text(value);
    if (!*any && identifier) {
        put_upper(out, identifier);
        fputc('\t', out);
    } else if (*any)
        fputc('\t', out);
    fputs(s ? s : "", out);
    free(s);
    *any = 1;
}

/* Scalars on one tab-separated line led by the upper-cased identifier, then nested members. */
static void text_dict(FILE *out, const cJSON *obj, const char *identifier, char **scalar_keys,
                      size_t nkeys, int have_keys)
{
    size_t n;
    cJSON **members = sorted_members(obj, &n);
    if (!members)
        return;
    int any = 0;
    if (have_keys) {
        for (size_t k = 0; k < nkeys; k++) {
            put_text_field(out, identifier,
                           cJSON_GetObjectItemCaseSensitive(obj, scalar_keys[k]), &any);
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            if (!is_scalar(members[i]))
                continue;
            put_text_field(out, identifier, members[i], &any);
        }
    }
    if (any)
        fputc('\n', out);
    for (size_t i = 0; i < n; i++) {
        int listed = 0;
        for (size_t k = 0; have_keys && k < nkeys; k++)
            listed |= !strcmp(scalar_keys[k], members[i]->string);
        /* Without given keys the nested members follow; with them, every key not given. */
        if (have_keys ? !listed : !is_scalar(members[i]))
            text_item(out, members[i], members[i]->string, NULL, 0, 0);
    }
    free(members);
}

static void text_scalar_list(FILE *out, const cJSON *list, const char *identifier)
{
    int first = 1;
    for (const cJSON *c = list->child; c; c = c->next) {
        if (!is_scalar(c))
            continue;
        char *s = scalar_text(c);
        if (identifier) {
            put_upper(out, identifier);
            fprintf(out, "\t%s\n", s ? s : "");
        } else {
            fprintf(out, "%s%s", first ? "" : "\t", s ? s : "");
        }
        free(s);
        first = 0;
    }
    if (!identifier)
        fputc('\n', out);
}

static int add_key(char ***keys, size_t *n, const char *key)
{
    for (size_t i = 0; i < *n; i++)
        if (!strcmp((*keys)[i], key))
            return 0;
    char **grown = realloc(*keys, (*n + 1) * sizeof *grown);
    if (!grown)
        return -1;
    *keys = grown;
    grown[(*n)++] = (char *)key;
    return 0;
}

static int by_string(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A list of dicts shares one column order: every scalar key any element has, sorted. */
static void text_list(FILE *out, const cJSON *list, const char *identifier)
{
    if (!list->child)
        return;
    int dicts = 0, lists = 0;
    for (const cJSON *c = list->child; c; c = c->next) {
        dicts |= cJSON_IsObject(c);
        lists |= cJSON_IsArray(c);
    }
    if (dicts) {
        char **keys = NULL;
        size_t nkeys = 0;
        for (const cJSON *c = list->child; c; c = c->next)
            for (const cJSON *m = cJSON_IsObject(c) ? c->child : NULL; m; m = m->next)
                if (is_scalar(m))
                    add_key(&keys, &nkeys, m->string);
        if (nkeys)
            qsort(keys, nkeys, sizeof *keys, by_string);
        for (const cJSON *c = list->child; c; c = c->next)
            text_item(out, c, identifier, keys, nkeys, 1);
        free(keys);
    } else if (lists) {
        int scalars = 0;
        for (const cJSON *c = list->child; c; c = c->next)
            scalars |= is_scalar(c);
        if (scalars)
            text_scalar_list(out, list, identifier);
        for (const cJSON *c = list->child; c; c = c->next)
            if (!is_scalar(c))
                text_item(out, c, identifier, NULL, 0, 0);
    } else {
        text_scalar_list(out, list, identifier);
    }
}

static void text_item(FILE *out, const cJSON *item, const char *identifier,
                      char **scalar_keys, size_t nkeys, int have_keys)
{
    if (cJSON_IsObject(item)) {
        text_dict(out, item, identifier, scalar_keys, nkeys, have_keys);
    } else if (cJSON_IsArray(item)) {
        text_list(out, item, identifier);
    } else {
        char *s = scalar_text(item);
        fprintf(out, "%s\n", s ? s : "");
        free(s);
    }
}

/* ---- table ------------------------------------------------------------------------------ */

typedef struct row {
    char **cells;
    size_t n;
} row;

typedef struct section {
    char *title;
    int indent;
    row headers; /* n == 0: none */
    row *rows;
    size_t nrows;
    size_t *widths; /* widest cell per column (headers included), in characters */
    size_t nwidths;
} section;

typedef struct table {
    section *sections;
    size_t n;
} table;

/* Characters, not bytes: UTF-8 continuation bytes take no room. */
static size_t text_length(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static section *current(table *t)
{
    return t->n ? &t->sections[t->n - 1] : NULL;
}

static void new_section(table *t, const char *title, int indent)
{
    section *grown = realloc(t->sections, (t->n + 1) * sizeof *grown);
    if (!grown)
        return;
    t->sections = grown;
    memset(&grown[t->n], 0, sizeof grown[t->n]);
    grown[t->n].title = strdup(title ? title : "");
    grown[t->n].indent = indent;
    t->n++;
}

static void update_widths(section *s, const row *r)
{
    if (!s->nwidths) {
        s->widths = calloc(r->n ? r->n : 1, sizeof *s->widths);
        if (!s->widths)
            return;
        s->nwidths = r->n;
    }
    for (size_t i = 0; i < r->n && i < s->nwidths; i++) {
        size_t len = text_length(r->cells[i]);
        if (len > s->widths[i])
            s->widths[i] = len;
    }
}

static void free_row(row *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->cells[i]);
    free(r->cells);
    r->cells = NULL;
    r->n = 0;
}

/* Takes the cells (malloc'd strings in a malloc'd array). */
static void add_header(table *t, char **cells, size_t n)
{
    section *s = current(t);
    row r = {cells, n};
    if (!s) {
        free_row(&r);
        return;
    }
    update_widths(s, &r);
    free_row(&s->headers);
    s->headers = r;
}

static void add_row(table *t, char **cells, size_t n)
{
    section *s = current(t);
    row r = {cells, n};
    row *grown = s ? realloc(s->rows, (s->nrows + 1) * sizeof *grown) : NULL;
    if (!grown) {
        free_row(&r);
        return;
    }
    s->rows = grown;
    grown[s->nrows++] = r;
    update_widths(s, &r);
}

static char **cells_new(size_t n)
{
    return calloc(n ? n : 1, sizeof(char *));
}

static void sorted_keys(const cJSON *obj, int scalars, char ***keys, size_t *n)
{
    for (const cJSON *m = obj->child; m; m = m->next)
        if (is_scalar(m) == scalars)
            add_key(keys, n, m->string);
}

static void build(table *t, const char *title, const cJSON *cur, int indent);

/* A dict: its scalars as one row under their keys (one scalar: key and value), nested below. */
static void build_from_dict(table *t, const cJSON *obj, int indent)
{
    char **headers = NULL, **more = NULL;
    size_t nh = 0, nm = 0;
    sorted_keys(obj, 1, &headers, &nh);
    sorted_keys(obj, 0, &more, &nm);
    if (nh)
        qsort(headers, nh, sizeof *headers, by_string);
    if (nm)
        qsort(more, nm, sizeof *more, by_string);
    if (nh == 1) {
        char **cells = cells_new(2);
        if (cells) {
            cells[0] = strdup(headers[0]);
            cells[1] = scalar_text(cJSON_GetObjectItemCaseSensitive(obj, headers[0]));
            add_row(t, cells, 2);
        }
    } else if (nh) {
        char **h = cells_new(nh), **v = cells_new(nh);
        for (size_t i = 0; h && v && i < nh; i++) {
            h[i] = strdup(headers[i]);
            v[i] = scalar_text(cJSON_GetObjectItemCaseSensitive(obj, headers[i]));
        }
        if (h && v) {
            add_header(t, h, nh);
            add_row(t, v, nh);
        } else {
            free(h);
            free(v);
        }
    }
    for (size_t i = 0; i < nm; i++)
        build(t, more[i], cJSON_GetObjectItemCaseSensitive(obj, more[i]), indent + 1);
    free(headers);
    free(more);
}

static void add_list_header(table *t, char **headers, size_t nh)
{
    char **h = cells_new(nh);
    for (size_t i = 0; h && i < nh; i++)
        h[i] = strdup(headers[i]);
    if (h)
        add_header(t, h, nh);
}

/* A list of dicts: one column per scalar key any element has; an element with nested members
 * starts its own section, so that they follow the row they belong to. */
static void build_from_list(table *t, const cJSON *list, int indent, const char *title)
{
    char **headers = NULL, **more = NULL;
    size_t nh = 0, nm = 0;
    for (const cJSON *c = list->child; c; c = c->next)
        if (cJSON_IsObject(c)) {
            sorted_keys(c, 1, &headers, &nh);
            sorted_keys(c, 0, &more, &nm);
        }
    if (nh)
        qsort(headers, nh, sizeof *headers, by_string);
    if (nm)
        qsort(more, nm, sizeof *more, by_string);
    add_list_header(t, headers, nh);
    int first = 1;
    for (const cJSON *c = list->child; c; c = c->next) {
        if (!first && nm) {
            new_section(t, title, indent);
            add_list_header(t, headers, nh);
        }
        first = 0;
        char **v = cells_new(nh);
        for (size_t i = 0; v && i < nh; i++) {
            const cJSON *m = cJSON_IsObject(c) ? cJSON_GetObjectItemCaseSensitive(c, headers[i])
                                               : NULL;
            v[i] = m ? scalar_text(m) : strdup("");
        }
        if (v)
            add_row(t, v, nh);
        for (size_t i = 0; i < nm; i++) {
            const cJSON *m = cJSON_IsObject(c) ? cJSON_GetObjectItemCaseSensitive(c, more[i])
                                               : NULL;
            if (m)
                build(t, more[i], m, indent + 1);
        }
    }
    free(headers);
    free(more);
}

static void build(table *t, const char *title, const cJSON *cur, int indent)
{
    if (!cur || !cur->child)
        return; /* empty: no section at all */
    if (title)
        new_section(t, title, indent);
    if (cJSON_IsArray(cur)) {
        if (cJSON_IsObject(cur->child)) {
            build_from_list(t, cur, indent, title);
            return;
        }
        for (const cJSON *item = cur->child; item; item = item->next) {
            int all_scalar = 1;
            for (const cJSON *e = cJSON_IsArray(item) ? item->child : NULL; e; e = e->next)
                all_scalar &= is_scalar(e);
            if (is_scalar(item)) {
                char **cells = cells_new(1);
                if (cells) {
                    cells[0] = scalar_text(item);
                    add_row(t, cells, 1);
                }
            } else if (cJSON_IsArray(item) && all_scalar) {
                size_t n = (size_t)cJSON_GetArraySize(item), i = 0;
                char **cells = cells_new(n);
                for (const cJSON *e = item->child; cells && e; e = e->next)
                    cells[i++] = scalar_text(e);
                if (cells)
                    add_row(t, cells, n);
            } else {
                build(t, NULL, item, 0);
            }
        }
    } else if (cJSON_IsObject(cur)) {
        build_from_dict(t, cur, indent);
    }
}

/* A section of one row under headers becomes a two-column key | value list. */
static void make_vertical(table *t)
{
    for (size_t i = 0; i < t->n; i++) {
        section *s = &t->sections[i];
        if (s->nrows != 1 || !s->headers.n)
            continue;
        row old_headers = s->headers, old_row = s->rows[0];
        free(s->rows);
        free(s->widths);
        s->rows = NULL;
        s->nrows = 0;
        s->widths = NULL;
        s->nwidths = 0;
        s->headers.cells = NULL;
        s->headers.n = 0;
        table one = {s, 1};
        for (size_t k = 0; k < old_headers.n && k < old_row.n; k++) {
            char **cells = cells_new(2);
            if (!cells)
                break;
            cells[0] = old_headers.cells[k];
            cells[1] = old_row.cells[k];
            old_headers.cells[k] = old_row.cells[k] = NULL;
            add_row(&one, cells, 2);
        }
        free_row(&old_headers);
        free_row(&old_row);
    }
}

static size_t section_width(const section *s)
{
    size_t total = 0;
    for (size_t i = 0; i < s->nwidths; i++)
        total += s->widths[i] + 4;
    total += 2 + 2 * (size_t)s->indent;
    size_t title = text_length(s->title) + 2 + 2 * (size_t)s->indent;
    return title > total ? title : total;
}

static size_t table_width(const table *t)
{
    size_t max = 0;
    for (size_t i = 0; i < t->n; i++) {
        size_t w = section_width(&t->sections[i]);
        if (w > max)
            max = w;
    }
    return max;
}

/* Column widths (padded by 4) scaled to fill the section's width exactly. malloc'd. */
static long *column_widths(const section *s, long max_width)
{
    long *w = calloc(s->nwidths ? s->nwidths : 1, sizeof *w);
    if (!w || !s->nwidths)
        return w;
    double sum = 0;
    for (size_t i = 0; i < s->nwidths; i++)
        sum += (double)(s->widths[i] + 4);
    long off_by = -max_width;
    for (size_t i = 0; i < s->nwidths; i++) {
        double x = (double)max_width / sum * (double)(s->widths[i] + 4);
        long r = (long)x;
        double frac = x - (double)r;
        /* Python's round(): halves to even */
        if (frac > 0.5 || (frac == 0.5 && (r & 1)))
            r++;
        w[i] = r;
        off_by += r;
    }
    while (off_by != 0) {
        for (size_t k = 0; k < s->nwidths && off_by != 0; k++) {
            size_t i = off_by < 0 ? s->nwidths - 1 - k : k;
            w[i] += off_by > 0 ? -1 : 1;
            off_by += off_by > 0 ? -1 : 1;
        }
    }
    return w;
}

static void spaces(FILE *out, char c, long n)
{
    for (long i = 0; i < n; i++)
        fputc(c, out);
}

static void center(FILE *out, const char *text, long length, const char *left)
{
    long len = (long)text_length(text);
    long start = length / 2 - len / 2 - 1; /* may be negative: counted as the AWS CLI does */
    fputs(left, out);
    spaces(out, ' ', start);
    fputs(text, out);
    spaces(out, ' ', length - 1 - ((long)strlen(left) + start + len));
    fputc('|', out);
}

static void align_left(FILE *out, const char *text, long length, const char *left)
{
    long len = (long)text_length(text), edge = (long)strlen(left);
    long padding = length - (len + 2 + edge + 1) >= 0 ? 2 : 0;
    fputs(left, out);
    spaces(out, ' ', padding);
    fputs(text, out);
    spaces(out, ' ', length - (edge + padding + len) - 1);
    fputc('|', out);
}

static void line_start(FILE *out, const section *s)
{
    spaces(out, '|', s->indent);
}

static void line_end(FILE *out, const section *s)
{
    spaces(out, '|', s->indent);
    fputc('\n', out);
}

static void line_break(FILE *out, const section *s, const long *w)
{
    line_start(out, s);
    for (size_t i = 0; i < s->nwidths; i++) {
        if (i == 0)
            fputc('+', out);
        spaces(out, '-', w[i] - (i == 0 ? 2 : 1));
        fputc('+', out);
    }
    line_end(out, s);
}

static void render_section(FILE *out, const section *s, long max_width)
{
    max_width -= 2L * s->indent;
    if (*s->title) {
        line_start(out, s);
        center(out, s->title, max_width, "|");
        line_end(out, s);
        if (!s->headers.n && !s->nrows) {
            line_start(out, s);
            fputc('+', out);
            spaces(out, '-', max_width - 2);
            fputc('+', out);
            line_end(out, s);
        }
    }
    long *w = s->nwidths ? column_widths(s, max_width) : NULL;
    if (!w)
        return;
    if (s->headers.n) {
        line_break(out, s, w);
        line_start(out, s);
        for (size_t i = 0; i < s->headers.n && i < s->nwidths; i++)
            center(out, s->headers.cells[i], w[i], i == 0 ? "|" : "");
        line_end(out, s);
    }
    if (s->nrows) {
        line_break(out, s, w);
        for (size_t r = 0; r < s->nrows; r++) {
            line_start(out, s);
            for (size_t i = 0; i < s->rows[r].n && i < s->nwidths; i++)
                align_left(out, s->rows[r].cells[i], w[i], i == 0 ? "|" : "");
            line_end(out, s);
        }
        line_break(out, s, w);
    }
    free(w);
}

/* The terminal's width, 80 when stdout is not one (as the AWS CLI decides). */
static size_t terminal_width(void)
{
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    return 80;
}

static void table_print(FILE *out, const char *operation, const cJSON *doc, size_t columns)
{
    table t = {NULL, 0};
    build(&t, operation, doc, 0);
    if (t.n) {
        size_t width = table_width(&t);
        if (width > columns) {
            make_vertical(&t);
            width = table_width(&t);
        }
        spaces(out, '-', (long)width);
        fputc('\n', out);
        for (size_t i = 0; i < t.n; i++)
            render_section(out, &t.sections[i], (long)width);
    }
    for (size_t i = 0; i < t.n; i++) {
        section *s = &t.sections[i];
        free(s->title);
        free_row(&s->headers);
        for (size_t r = 0; r < s->nrows; r++)
            free_row(&s->rows[r]);
        free(s->rows);
        free(s->widths);
    }
    free(t.sections);
}

/* ---- entry point ------------------------------------------------------------------------ */

void cli_print_output_to(FILE *out, size_t columns, const char *format, const char *operation,
                         const char *json)
{
    cJSON *doc = cJSON_Parse(json);
    if (!doc) {
        fprintf(out, "%s\n", json);
        return;
    }
    convert_timestamps(operation, doc);
    if (!strcmp(format, "text")) {
        text_item(out, doc, NULL, NULL, 0, 0);
    } else if (!strcmp(format, "table")) {
        table_print(out, operation, doc, columns);
    } else {
        json_value(out, doc, 0);
        fputc('\n', out);
    }
    cJSON_Delete(doc);
}

void cli_print_output(const char *format, const char *operation, const char *json)
{
    cli_print_output_to(stdout, terminal_width(), format, operation, json);
}
