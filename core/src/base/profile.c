/* SPDX-License-Identifier: Apache-2.0 */
/* profile.c - the shared AWS config and credentials files, read the way botocore reads them
 * (Python's RawConfigParser plus botocore's profile and sub-section rules). */
#include "base/profile.h"

#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


#include "base/buf.h"
#include "base/file.h"
#include "base/shlex.h"

/* A config file bigger than this is not a config file; the rest is ignored. */
#define PROFILE_FILE_MAX ((size_t)16 << 20)

/* ---------------------------------------------------------------------------------------------
 * Paths.
 * ------------------------------------------------------------------------------------------- */

static const char *nonempty_env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

/* The home directory of uid (NULL user) or of a named user, from the password database. */
static char *passwd_home(const char *user, size_t user_len)
{
    long sz = sysconf(_SC_GETPW_R_SIZE_MAX);
    size_t bufsz = sz > 0 ? (size_t)sz : 16384;
    char *buf = malloc(bufsz);
    char *name = user ? strndup(user, user_len) : NULL;
    char *home = NULL;
    struct passwd pw, *res = NULL;
    if (buf && (!user || name)) {
        int rc = user ? getpwnam_r(name, &pw, buf, bufsz, &res)
                      : getpwuid_r(getuid(), &pw, buf, bufsz, &res);
        if (rc == 0 && res && res->pw_dir && *res->pw_dir)
            home = kvi_strdup(res->pw_dir);
    }
    free(name);
    free(buf);
    return home;
}

/* $HOME as os.path.expanduser reads it, else the password database. malloc'd or NULL. */
static char *home_dir(void)
{
    const char *h = nonempty_env("HOME");
    return h ? kvi_strdup(h) : passwd_home(NULL, 0);
}

char *kvi_profile_home_dir(void) { return home_dir(); }

/* os.path.expandvars: $NAME and ${NAME} are replaced when set, left alone when not. */
static int expand_vars(const char *in, kvi_buf *out)
{
    for (const char *p = in; *p;) {
        if (*p == '$') {
            const char *name = p + 1, *name_end;
            const char *after;
            if (*name == '{') {
                name++;
                name_end = strchr(name, '}');
                after = name_end ? name_end + 1 : NULL;
            } else {
                name_end = name;
                while (isalnum((unsigned char)*name_end) || *name_end == '_')
                    name_end++;
                after = name_end;
            }
            if (after && name_end > name) {
                char *var = strndup(name, (size_t)(name_end - name));
                if (!var)
                    return -1;
                const char *val = getenv(var);
                free(var);
                if (val) {
                    if (kvi_buf_puts(out, val) != 0)
                        return -1;
                    p = after;
                    continue;
                }
                if (kvi_buf_append(out, p, (size_t)(after - p)) != 0)
                    return -1;
                p = after;
                continue;
            }
        }
        if (kvi_buf_putc(out, *p++) != 0)
            return -1;
    }
    return kvi_buf_append(out, "", 0);
}

/* os.path.expanduser: "~" and "~/x" use the home directory, "~user/x" that user's. */
static char *expand_user(const char *path)
{
    if (path[0] != '~')
        return kvi_strdup(path);
    const char *rest = strchr(path, '/');
    if (!rest)
        rest = path + strlen(path);
    char *home = rest == path + 1 ? home_dir() : passwd_home(path + 1, (size_t)(rest - path - 1));
    if (!home)
        return kvi_strdup(path); /* as Python does, an unknown user leaves the path alone */
    size_t hl = strlen(home);
    while (hl > 1 && home[hl - 1] == '/')
        hl--;
    int root = hl == 1 && home[0] == '/'; /* "/" + "/x" must not give "//x" */
    kvi_buf b = KVI_BUF_INIT;
    int rc = kvi_buf_append(&b, home, hl);
    free(home);
    if (rc == 0 && *rest)
        rc = kvi_buf_puts(&b, root ? rest + 1 : rest);
    if (rc != 0) {
        kvi_buf_free(&b);
        return NULL;
    }
    return kvi_buf_detach(&b);
}

/* The option, else the environment variable, else ~/<dflt>; "" counts as unset.
 * Sets *out NULL (and returns 0) when there is no home directory to default to. */
static int resolve_path(const char *option, const char *env, const char *dflt, char **out)
{
    *out = NULL;
    const char *chosen = option && *option ? option : nonempty_env(env);
    if (!chosen) {
        char *home = home_dir();
        if (!home)
            return 0;
        kvi_buf b = KVI_BUF_INIT;
        size_t hl = strlen(home);
        while (hl > 1 && home[hl - 1] == '/')
            hl--;
        int rc = kvi_buf_append(&b, home, hl);
        if (rc == 0)
            rc = kvi_buf_printf(&b, "%s%s", hl == 1 && home[0] == '/' ? "" : "/", dflt);
        free(home);
        if (rc != 0) {
            kvi_buf_free(&b);
            return -1;
        }
        *out = kvi_buf_detach(&b);
        return *out ? 0 : -1;
    }
    kvi_buf b = KVI_BUF_INIT;
    if (expand_vars(chosen, &b) != 0) {
        kvi_buf_free(&b);
        return -1;
    }
    *out = expand_user(kvi_buf_str(&b));
    kvi_buf_free(&b);
    return *out ? 0 : -1;
}

int kvi_profile_paths_resolve(const char *config_file, const char *credentials_file,
                              const char *profile, kvi_profile_paths *out)
{
    memset(out, 0, sizeof *out);
    if (resolve_path(config_file, "AWS_CONFIG_FILE", ".aws/config", &out->config_file) != 0 ||
        resolve_path(credentials_file, "AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials",
                     &out->credentials_file) != 0)
        goto oom;
    const char *env_profile = nonempty_env("AWS_PROFILE");
    if (profile && *profile) {
        out->profile = kvi_strdup(profile);
        out->profile_explicit = 1;
        out->profile_from_option = 1;
    } else if (env_profile) {
        out->profile = kvi_strdup(env_profile);
        out->profile_explicit = 1;
    } else {
        out->profile = kvi_strdup("default");
    }
    if (!out->profile)
        goto oom;
    return 0;
oom:
    kvi_profile_paths_free(out);
    return -1;
}

void kvi_profile_paths_free(kvi_profile_paths *p)
{
    if (!p)
        return;
    free(p->config_file);
    free(p->credentials_file);
    free(p->profile);
    memset(p, 0, sizeof *p);
}

/* ---------------------------------------------------------------------------------------------
 * The INI reader: configparser's rules (full-line comments only, "=" or ":", lowercased keys,
 * continuation lines indented deeper than their key) and botocore's one level of sub-sections.
 * ------------------------------------------------------------------------------------------- */

typedef struct ini_entry {
    int sect;
    char *key;   /* lowercased, as RawConfigParser stores option names */
    char *sub;   /* NULL, or a key inside key's indented sub-section (case kept, as botocore) */
    char *value; /* NULL on the marker entry of a key whose value is a sub-section */
} ini_entry;

typedef struct ini_file {
    char **sections;
    size_t nsect, sect_cap;
    ini_entry *e;
    size_t n, cap;
} ini_file;

typedef struct ini_parser {
    ini_file *f;
    int sect;    /* current section, -1 before the first header */
    char *opt;   /* the key whose value may still continue, or NULL */
    kvi_buf val; /* its value so far, lines joined with '\n' */
    size_t indent;
    int oom;
} ini_parser;

static void ini_free(ini_file *f)
{
    for (size_t i = 0; i < f->nsect; i++)
        free(f->sections[i]);
    free(f->sections);
    for (size_t i = 0; i < f->n; i++) {
        free(f->e[i].key);
        free(f->e[i].sub);
        kvi_free_secret(f->e[i].value); /* the credentials file holds secrets */
    }
    free(f->e);
    memset(f, 0, sizeof *f);
}

static int ini_add(ini_file *f, int sect, const char *key, size_t klen, const char *sub,
                   size_t slen, const char *value, size_t vlen)
{
    if (f->n == f->cap) {
        size_t ncap = f->cap ? f->cap * 2 : 16;
        ini_entry *p = realloc(f->e, ncap * sizeof *p);
        if (!p)
            return -1;
        f->e = p;
        f->cap = ncap;
    }
    ini_entry *e = &f->e[f->n];
    memset(e, 0, sizeof *e);
    e->sect = sect;
    e->key = strndup(key, klen);
    e->sub = sub ? strndup(sub, slen) : NULL;
    e->value = value ? strndup(value, vlen) : NULL;
    if (!e->key || (sub && !e->sub) || (value && !e->value)) {
        free(e->key);
        free(e->sub);
        kvi_free_secret(e->value);
        return -1;
    }
    f->n++;
    return 0;
}

static void trim(const char **a, const char **b)
{
    while (*a < *b && isspace((unsigned char)**a))
        (*a)++;
    while (*b > *a && isspace((unsigned char)(*b)[-1]))
        (*b)--;
}

/* Ends the pending key: a value that starts with a newline ("s3 =\n  k = v") is a
 * sub-section, parsed as botocore's _parse_nested does; anything else is a plain value. */
static void ini_finish_option(ini_parser *p)
{
    if (!p->opt)
        return;
    const char *v = kvi_buf_str(&p->val), *vend = v + p->val.len;
    while (vend > v && isspace((unsigned char)vend[-1]))
        vend--;
    size_t klen = strlen(p->opt);
    if (v < vend && v[0] == '\n') {
        if (ini_add(p->f, p->sect, p->opt, klen, NULL, 0, NULL, 0) != 0)
            p->oom = 1;
        for (const char *line = v + 1; line < vend && !p->oom;) {
            const char *le = memchr(line, '\n', (size_t)(vend - line));
            if (!le)
                le = vend;
            const char *eq = memchr(line, '=', (size_t)(le - line));
            if (eq) { /* a line without "=" is a parse error for botocore; skip it */
                const char *ka = line, *kb = eq, *va = eq + 1, *vb = le;
                trim(&ka, &kb);
                trim(&va, &vb);
                if (ini_add(p->f, p->sect, p->opt, klen, ka, (size_t)(kb - ka), va,
                            (size_t)(vb - va)) != 0)
                    p->oom = 1;
            }
            line = le + 1;
        }
    } else if (ini_add(p->f, p->sect, p->opt, klen, NULL, 0, v, (size_t)(vend - v)) != 0) {
        p->oom = 1;
    }
    free(p->opt);
    p->opt = NULL;
    kvi_buf_free_secret(&p->val);
}

static void ini_line(ini_parser *p, const char *line, size_t len)
{
    const char *a = line, *b = line + len;
    trim(&a, &b);
    size_t indent = (size_t)(a - line);
    if (a == b) { /* a blank line stays inside a multi-line value */
        if (p->opt && kvi_buf_putc(&p->val, '\n') != 0)
            p->oom = 1;
        return;
    }
    if (*a == '#' || *a == ';') /* configparser: full-line comments only, never inline */
        return;
    if (p->opt && indent > p->indent) { /* continuation line */
        if (kvi_buf_putc(&p->val, '\n') != 0 || kvi_buf_append(&p->val, a, (size_t)(b - a)) != 0)
            p->oom = 1;
        return;
    }
    ini_finish_option(p);
    p->indent = indent;
    if (*a == '[') {
        const char *close = b;
        while (close > a && close[-1] != ']')
            close--;
        /* "[header]" with the header running to the last "]", as configparser's SECTCRE. */
        if (close - a >= 3) {
            ini_file *f = p->f;
            if (f->nsect == f->sect_cap) {
                size_t ncap = f->sect_cap ? f->sect_cap * 2 : 8;
                char **s = realloc(f->sections, ncap * sizeof *s);
                if (!s) {
                    p->oom = 1;
                    return;
                }
                f->sections = s;
                f->sect_cap = ncap;
            }
            char *h = strndup(a + 1, (size_t)(close - 1 - (a + 1)));
            if (!h) {
                p->oom = 1;
                return;
            }
            f->sections[f->nsect] = h;
            p->sect = (int)f->nsect++;
            return;
        }
    }
    if (p->sect < 0)
        return; /* a key before any section: botocore rejects the file; we skip the line */
    const char *d = a;
    while (d < b && *d != '=' && *d != ':')
        d++;
    const char *ka = a, *kb = d;
    trim(&ka, &kb);
    if (d == b || ka == kb)
        return; /* not "key = value": botocore rejects the file; we skip the line */
    p->opt = strndup(ka, (size_t)(kb - ka));
    if (!p->opt) {
        p->oom = 1;
        return;
    }
    for (char *c = p->opt; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    const char *va = d + 1, *vb = b;
    trim(&va, &vb);
    kvi_buf_reset(&p->val);
    if (kvi_buf_append(&p->val, va, (size_t)(vb - va)) != 0)
        p->oom = 1;
}

/* Reads and parses a file. A missing or unreadable file, one that is not a regular file, or
 * one over 16 MiB is empty (botocore ignores the first ones too). 0 ok, -1 out of memory. */
static int ini_load(const char *path, ini_file *f)
{
    memset(f, 0, sizeof *f);
    if (!path || !*path)
        return 0;
    kvi_buf data = KVI_BUF_INIT;
    int e = kvi_file_read(path, PROFILE_FILE_MAX, &data);
    int rc = e == ENOMEM ? -1 : 0; /* any other failure: an empty file */
    if (e == 0) {
        ini_parser p;
        memset(&p, 0, sizeof p);
        p.f = f;
        p.sect = -1;
        const char *s = kvi_buf_str(&data), *end = s + data.len;
        if (end - s >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
            s += 3; /* a UTF-8 byte order mark */
        while (s < end && !p.oom) {
            const char *nl = memchr(s, '\n', (size_t)(end - s));
            const char *le = nl ? nl : end;
            ini_line(&p, s, (size_t)(le - s));
            s = nl ? nl + 1 : end;
        }
        ini_finish_option(&p);
        free(p.opt);
        kvi_buf_free_secret(&p.val);
        if (p.oom) {
            ini_free(f);
            rc = -1;
        }
    }
    kvi_buf_free_secret(&data);
    return rc;
}

/* "profile NAME" / "services NAME": botocore shlex-splits a header that starts with the word
 * and wants exactly two parts. Returns the name (malloc'd) or NULL. */
static char *prefixed_name(const char *header, const char *prefix)
{
    size_t pl = strlen(prefix);
    if (strncmp(header, prefix, pl) != 0)
        return NULL;
    const char *why;
    char **parts = kvi_shlex_split(header, &why);
    char *name = NULL;
    if (parts && parts[0] && parts[1] && !parts[2])
        name = kvi_strdup(parts[1]);
    kvi_shlex_free(parts);
    return name;
}

/* How well a section header names the profile: 0 not at all, 1 a bare "[name]" in the config
 * file (accepted like the CLI's credentials-file form), 2 the proper form. */
static int section_rank(const char *header, const char *profile, int is_config)
{
    if (!is_config)
        return strcmp(header, profile) == 0 ? 2 : 0;
    int is_default = strcmp(profile, "default") == 0;
    if (is_default && strcmp(header, "default") == 0)
        return 2;
    char *name = prefixed_name(header, "profile");
    if (name) {
        int match = strcmp(name, profile) == 0;
        free(name);
        if (match)
            return 2;
    }
    return !is_default && strcmp(header, profile) == 0 ? 1 : 0;
}

/* The best-ranked, then last, entry for key (and sub when non-NULL) in sections of the given
 * ranks; rank[] is per section. NULL when none. */
static const ini_entry *ini_find(const ini_file *f, const int *rank, const char *key,
                                 const char *sub)
{
    const ini_entry *best = NULL;
    int best_rank = 0;
    for (size_t i = 0; i < f->n; i++) {
        const ini_entry *e = &f->e[i];
        int r = rank[e->sect];
        if (r <= 0 || r < best_rank || strcmp(e->key, key) != 0)
            continue;
        if (sub ? !e->sub || strcmp(e->sub, sub) != 0 : e->sub != NULL)
            continue;
        best = e;
        best_rank = r;
    }
    return best;
}

/* Looks key up in one file for the profile. *found_section is set when the profile has a
 * section there. Returns 0 and *out (malloc'd or NULL), or -1 when out of memory. */
static int file_get(const char *path, int is_config, const char *profile, const char *key,
                    char **out, int *found_section)
{
    *out = NULL;
    if (found_section)
        *found_section = 0;
    ini_file f;
    if (ini_load(path, &f) != 0)
        return -1;
    int *rank = calloc(f.nsect ? f.nsect : 1, sizeof *rank);
    if (!rank) {
        ini_free(&f);
        return -1;
    }
    int any = 0;
    for (size_t i = 0; i < f.nsect; i++) {
        rank[i] = section_rank(f.sections[i], profile, is_config);
        any |= rank[i] > 0;
    }
    if (found_section)
        *found_section = any;
    int rc = 0;
    if (key) {
        /* configparser lowercases option names on lookup too. */
        char *lkey = kvi_strdup(key);
        if (!lkey) {
            rc = -1;
        } else {
            for (char *c = lkey; *c; c++)
                *c = (char)tolower((unsigned char)*c);
            const ini_entry *e = ini_find(&f, rank, lkey, NULL);
            if (e && e->value && !(*out = kvi_strdup(e->value)))
                rc = -1;
            free(lkey);
        }
    }
    free(rank);
    ini_free(&f);
    return rc;
}

char *kvi_profile_get(const kvi_profile_paths *p, const char *key)
{
    if (!p || !p->profile || !key)
        return NULL;
    char *v = NULL;
    if (file_get(p->credentials_file, 0, p->profile, key, &v, NULL) == 0 && v)
        return v;
    if (file_get(p->config_file, 1, p->profile, key, &v, NULL) == 0 && v)
        return v;
    return NULL;
}

int kvi_profile_exists(const kvi_profile_paths *p)
{
    if (!p || !p->profile)
        return 0;
    char *v = NULL;
    int found = 0;
    if (file_get(p->credentials_file, 0, p->profile, NULL, &v, &found) == 0 && found)
        return 1;
    if (file_get(p->config_file, 1, p->profile, NULL, &v, &found) == 0 && found)
        return 1;
    return 0;
}

/* key (or sub-key sub of key) in the config file's "[PREFIX NAME]" section; *exists (if not NULL)
 * says whether that section is there at all. */
static char *named_section_get(const kvi_profile_paths *p, const char *prefix, const char *name,
                               const char *key, const char *sub, int *exists)
{
    if (exists)
        *exists = 0;
    if (!p || !prefix || !name || !key)
        return NULL;
    ini_file f;
    if (ini_load(p->config_file, &f) != 0)
        return NULL;
    char *out = NULL;
    int *rank = calloc(f.nsect ? f.nsect : 1, sizeof *rank);
    if (rank) {
        for (size_t i = 0; i < f.nsect; i++) {
            char *n = prefixed_name(f.sections[i], prefix);
            rank[i] = n && strcmp(n, name) == 0 ? 2 : 0;
            if (rank[i] && exists)
                *exists = 1;
            free(n);
        }
        /* configparser lowercases option names, so the lookup does too */
        char *lkey = kvi_strdup(key);
        if (lkey) {
            for (char *c = lkey; *c; c++)
                *c = (char)tolower((unsigned char)*c);
            const ini_entry *e = ini_find(&f, rank, lkey, sub);
            if (e && e->value)
                out = kvi_strdup(e->value);
            free(lkey);
        }
        free(rank);
    }
    ini_free(&f);
    return out;
}

char *kvi_profile_services_get(const kvi_profile_paths *p, const char *services_name,
                               const char *service, const char *key)
{
    return named_section_get(p, "services", services_name, service, key, NULL);
}

char *kvi_profile_section_get(const kvi_profile_paths *p, const char *prefix, const char *name,
                              const char *key, int *exists)
{
    return named_section_get(p, prefix, name, key, NULL, exists);
}
