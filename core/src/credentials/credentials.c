/* SPDX-License-Identifier: Apache-2.0 */
/* credentials.c - what every provider shares: the credentials type, timestamps, messages. */
#include "credentials/credentials.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>

#include "base/buf.h"
#include "base/error.h"

void kvi_credentials_free(kvi_credentials *c)
{
    if (!c)
        return;
    free(c->access_key_id);
    kvi_free_secret(c->secret_access_key);
    kvi_free_secret(c->session_token);
    memset(c, 0, sizeof *c);
}

int kvi_credentials_copy(const kvi_credentials *from, kvi_credentials *to)
{
    memset(to, 0, sizeof *to);
    to->access_key_id = kvi_strdup(from->access_key_id);
    to->secret_access_key = kvi_strdup(from->secret_access_key);
    to->session_token = kvi_strdup(from->session_token);
    to->expiration = from->expiration;
    to->source = from->source;
    if ((from->access_key_id && !to->access_key_id) ||
        (from->secret_access_key && !to->secret_access_key) ||
        (from->session_token && !to->session_token)) {
        kvi_credentials_free(to);
        return -1;
    }
    return 0;
}

/* Fills c from borrowed strings; token may be NULL or "". */
kvsws_status kvi_credentials_set(kvi_credentials *c, const char *ak, const char *sk,
                              const char *token, time_t expiration, const char *source,
                              kvsws_error *err)
{
    kvi_credentials tmp = {kvi_strdup(ak), kvi_strdup(sk),
                           token && *token ? kvi_strdup(token) : NULL, expiration, source};
    if (!tmp.access_key_id || !tmp.secret_access_key || (token && *token && !tmp.session_token)) {
        kvi_credentials_free(&tmp);
        return kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory");
    }
    *c = tmp;
    return KVSWS_OK;
}

const char *kvi_nonempty_env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

/* Appends an untrusted, non-secret value for a message: printable ASCII, at most max bytes. */
void kvi_put_sanitized(kvi_buf *b, const char *s, size_t max)
{
    size_t i = 0;
    for (; s[i] && i < max; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f)
            kvi_buf_putc(b, (char)c);
        else
            kvi_buf_printf(b, "\\x%02x", c);
    }
    if (s[i])
        kvi_buf_puts(b, "...");
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int take_digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++, (*p)++) {
        if (!isdigit((unsigned char)**p))
            return -1;
        v = v * 10 + (**p - '0');
    }
    *out = v;
    return 0;
}

/* ISO-8601 / RFC 3339 as credential helpers write it: YYYY-MM-DDTHH:MM:SS[.frac][Z|+HH:MM|
 * +HHMM]; no zone is taken as UTC. 0 ok, -1 not a timestamp (or not after 1970-01-01T00:00:00Z). */
int kvi_iso8601_parse(const char *s, time_t *out)
{
    int Y, M, D, h, m, sec, oh = 0, om = 0, sign = 0;
    const char *p = s;
    if (take_digits(&p, 4, &Y) || *p++ != '-' || take_digits(&p, 2, &M) || *p++ != '-' ||
        take_digits(&p, 2, &D))
        return -1;
    if (*p != 'T' && *p != 't' && *p != ' ')
        return -1;
    p++;
    if (take_digits(&p, 2, &h) || *p++ != ':' || take_digits(&p, 2, &m) || *p++ != ':' ||
        take_digits(&p, 2, &sec))
        return -1;
    if (*p == '.' || *p == ',') {
        p++;
        if (!isdigit((unsigned char)*p))
            return -1;
        while (isdigit((unsigned char)*p))
            p++;
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p++ == '-' ? -1 : 1;
        if (take_digits(&p, 2, &oh))
            return -1;
        if (*p == ':')
            p++;
        if (take_digits(&p, 2, &om))
            return -1;
    }
    if (*p || M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60 || oh > 23 ||
        om > 59)
        return -1;
    int64_t t = days_from_civil(Y, (unsigned)M, (unsigned)D) * 86400 + h * 3600 + m * 60 + sec -
                sign * (oh * 3600 + om * 60);
    /* An expiration of 0 means "never expires": 1970 and before is no expiration time. */
    if (t <= 0)
        return -1;
    *out = (time_t)t;
    return 0;
}

/* Wipes every string in a parsed document: the credentials JSON holds secrets. */
void kvi_json_cleanse(cJSON *item)
{
    for (; item; item = item->next) {
        if (item->valuestring)
            OPENSSL_cleanse(item->valuestring, strlen(item->valuestring));
        kvi_json_cleanse(item->child);
    }
}


kvi_profile_paths kvi_profile_paths_for(const kvi_profile_paths *p, const char *profile)
{
    kvi_profile_paths q = *p;
    q.profile = (char *)profile; /* borrowed: q is never freed */
    return q;
}

char *kvi_profile_key(const kvi_profile_paths *paths, const char *profile, const char *key)
{
    kvi_profile_paths q = kvi_profile_paths_for(paths, profile);
    return kvi_profile_get(&q, key);
}

/* botocore's ProfileNotFound, for a profile that was asked for by name. */
kvsws_status kvi_profile_not_found(const kvi_profile_paths *p, kvsws_error *err)
{
    kvi_buf msg = KVI_BUF_INIT;
    kvi_buf_puts(&msg, "The config profile (");
    kvi_put_sanitized(&msg, p->profile, 128);
    kvi_buf_printf(&msg, ") could not be found (named by %s; looked in %s and %s)",
                   p->profile_from_option ? "the profile option" : "AWS_PROFILE",
                   p->config_file ? p->config_file : "(no config file)",
                   p->credentials_file ? p->credentials_file : "(no credentials file)");
    return kvi_error_take_buf(err, KVSWS_E_CONFIG, &msg);
}
