/* SPDX-License-Identifier: Apache-2.0 */
/* common.h - what the C benchmarks share: the fixtures, clocks, statistics and JSON lines. */
#ifndef KVSWS_BENCH_COMMON_H
#define KVSWS_BENCH_COMMON_H

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

typedef struct fixtures {
    cJSON *root;
    const char *region, *service, *access_key_id, *secret_access_key, *session_token;
    int64_t timestamp;
    const char *channel_arn;
    const char *join_method, *join_url, *join_body;
    const char *join_headers[8]; /* "Name: value", NULL-terminated */
    char join_header_storage[8][256];
    const char *wss_url;
    int64_t wss_expires;
} fixtures;

static inline void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "bench: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

static inline const char *jstr(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!cJSON_IsString(v))
        die("fixtures: %s missing", name);
    return v->valuestring;
}

static inline void fixtures_load(fixtures *f, const char *path)
{
    memset(f, 0, sizeof *f);
    FILE *fp = fopen(path, "rb");
    if (!fp)
        die("cannot open %s", path);
    static char text[1 << 16];
    size_t n = fread(text, 1, sizeof text - 1, fp);
    fclose(fp);
    text[n] = '\0';
    f->root = cJSON_Parse(text);
    if (!f->root)
        die("%s is not JSON", path);
    f->region = jstr(f->root, "region");
    f->service = jstr(f->root, "service");
    f->access_key_id = jstr(f->root, "access_key_id");
    f->secret_access_key = jstr(f->root, "secret_access_key");
    f->session_token = jstr(f->root, "session_token");
    f->timestamp = (int64_t)cJSON_GetObjectItemCaseSensitive(f->root, "timestamp")->valuedouble;
    f->channel_arn = jstr(f->root, "channel_arn");
    const cJSON *join = cJSON_GetObjectItemCaseSensitive(f->root, "join");
    f->join_method = jstr(join, "method");
    f->join_url = jstr(join, "url");
    f->join_body = jstr(join, "body");
    const cJSON *h;
    int i = 0;
    cJSON_ArrayForEach(h, cJSON_GetObjectItemCaseSensitive(join, "headers"))
    {
        if (i >= 7)
            die("too many headers");
        snprintf(f->join_header_storage[i], sizeof f->join_header_storage[i], "%s: %s",
                 cJSON_GetArrayItem(h, 0)->valuestring, cJSON_GetArrayItem(h, 1)->valuestring);
        f->join_headers[i] = f->join_header_storage[i];
        i++;
    }
    f->join_headers[i] = NULL;
    const cJSON *wss = cJSON_GetObjectItemCaseSensitive(f->root, "wss");
    f->wss_url = jstr(wss, "url");
    f->wss_expires = (int64_t)cJSON_GetObjectItemCaseSensitive(wss, "expires")->valuedouble;
}

static inline int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* User + system CPU time of the whole process (every thread), in ns. */
static inline int64_t cpu_ns(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000 +
           ((int64_t)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000;
}

/* A field of /proc/self/status in kB (VmRSS) or as a count (Threads); -1 if absent. */
static inline long proc_status(const char *field)
{
    FILE *fp = fopen("/proc/self/status", "r");
    if (!fp)
        return -1;
    char line[256];
    long v = -1;
    size_t len = strlen(field);
    while (fgets(line, sizeof line, fp))
        if (strncmp(line, field, len) == 0 && line[len] == ':') {
            v = strtol(line + len + 1, NULL, 10);
            break;
        }
    fclose(fp);
    return v;
}

static inline int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The q-quantile (0..1) of v[0..n), sorting v. */
static inline double quantile(double *v, size_t n, double q)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof *v, cmp_double);
    size_t i = (size_t)(q * (double)(n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

/* "--name value" from argv, else the default. */
static inline const char *arg_str(int argc, char **argv, const char *name, const char *def)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    return def;
}

static inline long arg_long(int argc, char **argv, const char *name, long def)
{
    const char *v = arg_str(argc, argv, name, NULL);
    return v ? strtol(v, NULL, 10) : def;
}

/* Appends the runs' values as a JSON array into out. */
static inline void json_array(char *out, size_t cap, const double *v, size_t n)
{
    size_t used = (size_t)snprintf(out, cap, "[");
    for (size_t i = 0; i < n && used < cap; i++)
        used += (size_t)snprintf(out + used, cap - used, "%s%.2f", i ? ", " : "", v[i]);
    if (used < cap)
        snprintf(out + used, cap - used, "]");
}

#endif
