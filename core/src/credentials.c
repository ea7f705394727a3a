/* SPDX-License-Identifier: Apache-2.0 */
/* credentials.c - the credential chain (as botocore orders it), credential_process, region. */
#include "credentials.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <spawn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>

#include "buf.h"
#include "credentials_iot.h"
#include "credentials_remote.h"
#include "credentials_role.h"
#include "credentials_sso.h"
#include "error.h"
#include "http.h"

extern char **environ;

/* botocore has no limit; a hung helper must not hang every call, so we give it a minute. */
#define CREDENTIAL_PROCESS_TIMEOUT_MS 60000
/* Credentials JSON is a few KiB at most; more is a misbehaving helper. */
#define CREDENTIAL_PROCESS_STDOUT_MAX (64 * 1024)
/* Enough of stderr for its first line. */
#define CREDENTIAL_PROCESS_STDERR_KEEP 512

struct kvi_credential_chain {
    pthread_mutex_t lock;
    char *access_key_id;
    char *secret_access_key;
    char *session_token;
    kvi_profile_paths paths;
    int process_timeout_ms;
    /* From the client (kvi_credential_chain_attach), for STS and the SSO portal. */
    char *region;
    kvi_http_pool *http; /* borrowed */
    int use_fips;
    char *session_name; /* kvsws-session-<unix time>: one per chain, kept across refreshes */
    /* The AWS IoT provider (kvi_credential_chain_attach_iot). */
    kvi_iot_config *iot_options; /* NULL: the AWS_IOT_CORE_* variables decide */
    char *iot_ca_bundle;
    long iot_connect_timeout_ms;
    long iot_request_timeout_ms;
    int have;
    kvi_credentials cached;
};

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

static const char *nonempty_env(const char *name)
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

/* kvi_error_set with a message built in a buffer (freed here). */
/* ---------------------------------------------------------------------------------------------
 * credential_process
 * ------------------------------------------------------------------------------------------- */

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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

typedef struct process_result {
    kvi_buf out;      /* stdout: secrets */
    kvi_buf err_head; /* the start of stderr */
    int status;       /* from waitpid; valid when reaped */
    int reaped;
    int timed_out;
    int too_large;
} process_result;

/* Kills and reaps the child. */
static void kill_child(pid_t pid, process_result *r)
{
    kill(pid, SIGKILL);
    while (waitpid(pid, &r->status, 0) < 0 && errno == EINTR)
        ;
    r->reaped = 0; /* the status is the kill's, not the helper's */
}

/* Reads both pipes until EOF, then waits for the exit, all within deadline (monotonic ms). */
static void collect(pid_t pid, int out_fd, int err_fd, int64_t deadline, process_result *r)
{
    struct pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
    char chunk[4096];
    int open_fds = 2;
    while (open_fds > 0) {
        int64_t left = deadline - mono_ms();
        if (left <= 0) {
            r->timed_out = 1;
            kill_child(pid, r);
            goto done;
        }
        int n = poll(fds, 2, left > 1000 ? 1000 : (int)left);
        if (n < 0 && errno != EINTR) {
            kill_child(pid, r);
            goto done;
        }
        for (int i = 0; i < 2 && n > 0; i++) {
            if (fds[i].fd < 0 || !fds[i].revents)
                continue;
            ssize_t got = read(fds[i].fd, chunk, sizeof chunk);
            if (got < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (got <= 0) {
                fds[i].fd = -1;
                open_fds--;
                continue;
            }
            if (i == 0) {
                if (r->out.len + (size_t)got > CREDENTIAL_PROCESS_STDOUT_MAX) {
                    r->too_large = 1;
                    kill_child(pid, r);
                    goto done;
                }
                kvi_buf_append(&r->out, chunk, (size_t)got);
            } else if (r->err_head.len < CREDENTIAL_PROCESS_STDERR_KEEP) {
                size_t room = CREDENTIAL_PROCESS_STDERR_KEEP - r->err_head.len;
                kvi_buf_append(&r->err_head, chunk, (size_t)got < room ? (size_t)got : room);
            }
        }
    }
    for (;;) {
        pid_t w = waitpid(pid, &r->status, WNOHANG);
        if (w == pid) {
            r->reaped = 1;
            break;
        }
        if (w < 0 && errno != EINTR) {
            /* ECHILD: the application reaps children itself (SIGCHLD ignored); take it as 0. */
            r->status = 0;
            r->reaped = 1;
            break;
        }
        if (mono_ms() >= deadline) {
            r->timed_out = 1;
            kill_child(pid, r);
            break;
        }
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
done:
    OPENSSL_cleanse(chunk, sizeof chunk);
}

/* "credential_process for profile NAME" at the start of every message from here. */
static void process_prefix(kvi_buf *msg, const char *profile)
{
    kvi_buf_puts(msg, "Error when retrieving credentials from credential_process");
    if (profile) {
        kvi_buf_puts(msg, " (profile ");
        kvi_put_sanitized(msg, profile, 128);
        kvi_buf_puts(msg, ")");
    }
    kvi_buf_puts(msg, ": ");
}

static kvsws_status process_error(kvsws_error *err, const char *profile, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static kvsws_status process_error(kvsws_error *err, const char *profile, const char *fmt, ...)
{
    kvi_buf msg = KVI_BUF_INIT;
    process_prefix(&msg, profile);
    va_list ap;
    va_start(ap, fmt);
    kvi_buf_vprintf(&msg, fmt, ap);
    va_end(ap);
    return kvi_error_take_buf(err, KVSWS_E_CREDENTIAL_RETRIEVAL, &msg);
}

/* Parses the helper's JSON (Version 1) into out. Messages never quote the output. */
kvsws_status kvi_credential_process_parse(const kvi_buf *out, const char *profile,
                                          kvi_credentials *creds, kvsws_error *err)
{
    cJSON *doc = cJSON_ParseWithLength(kvi_buf_str(out), out->len);
    kvsws_status st = KVSWS_OK;
    if (!doc || !cJSON_IsObject(doc)) {
        st = process_error(err, profile, "the process did not print a JSON object on stdout");
        goto done;
    }
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(doc, "Version");
    if (!cJSON_IsNumber(ver) || ver->valuedouble != 1.0) {
        kvi_buf msg = KVI_BUF_INIT;
        process_prefix(&msg, profile);
        kvi_buf_puts(&msg, "Unsupported version '");
        if (!ver)
            kvi_buf_puts(&msg, "<Version key not provided>");
        else if (cJSON_IsNumber(ver))
            kvi_buf_printf(&msg, "%g", ver->valuedouble);
        else if (cJSON_IsString(ver))
            kvi_put_sanitized(&msg, ver->valuestring, 32);
        else
            kvi_buf_puts(&msg, "<not a number>");
        kvi_buf_puts(&msg, "' for credential process provider, supported versions: 1");
        st = kvi_error_take_buf(err, KVSWS_E_CREDENTIAL_RETRIEVAL, &msg);
        goto done;
    }
    const cJSON *ak = cJSON_GetObjectItemCaseSensitive(doc, "AccessKeyId");
    const cJSON *sk = cJSON_GetObjectItemCaseSensitive(doc, "SecretAccessKey");
    const cJSON *tok = cJSON_GetObjectItemCaseSensitive(doc, "SessionToken");
    const cJSON *exp = cJSON_GetObjectItemCaseSensitive(doc, "Expiration");
    const char *missing = !cJSON_IsString(ak) || !*ak->valuestring   ? "AccessKeyId"
                          : !cJSON_IsString(sk) || !*sk->valuestring ? "SecretAccessKey"
                                                                     : NULL;
    if (missing) {
        st = process_error(err, profile, "Missing required key in response: '%s'", missing);
        goto done;
    }
    if (tok && !cJSON_IsNull(tok) && !cJSON_IsString(tok)) {
        st = process_error(err, profile, "SessionToken in the response is not a string");
        goto done;
    }
    time_t expiration = 0;
    if (exp && !cJSON_IsNull(exp)) {
        if (!cJSON_IsString(exp) || kvi_iso8601_parse(exp->valuestring, &expiration) != 0) {
            kvi_buf msg = KVI_BUF_INIT;
            process_prefix(&msg, profile);
            kvi_buf_puts(&msg, "Expiration in the response is not an ISO-8601 timestamp");
            if (cJSON_IsString(exp)) {
                kvi_buf_puts(&msg, ": \"");
                kvi_put_sanitized(&msg, exp->valuestring, 40);
                kvi_buf_puts(&msg, "\"");
            }
            st = kvi_error_take_buf(err, KVSWS_E_CREDENTIAL_RETRIEVAL, &msg);
            goto done;
        }
    }
    st = kvi_credentials_set(creds, ak->valuestring, sk->valuestring,
                   cJSON_IsString(tok) ? tok->valuestring : NULL, expiration,
                   "credential_process", err);
done:
    if (doc) {
        kvi_json_cleanse(doc);
        cJSON_Delete(doc);
    }
    return st;
}

kvsws_status kvi_credential_process_run(const char *command, const char *profile,
                                        int timeout_ms, kvi_credentials *out, kvsws_error *err)
{
    memset(out, 0, sizeof *out);
    const char *why = NULL;
    char **argv = kvi_shlex_split(command ? command : "", &why);
    if (!argv)
        return why ? process_error(err, profile, "the command line cannot be split: %s", why)
                   : kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory");
    if (!argv[0]) {
        kvi_shlex_free(argv);
        return process_error(err, profile, "the command line is empty");
    }

    int out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1};
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    int fa_ok = 0, attr_ok = 0;
    kvsws_status st = KVSWS_OK;
    process_result r;
    memset(&r, 0, sizeof r);

    /* O_CLOEXEC so that processes other threads spawn meanwhile do not hold our pipes open. */
    if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
        st = process_error(err, profile, "cannot create a pipe: %s", strerror_r(errno, (char[128]){0}, 128));
        goto out;
    }
    /* A daemon with closed stdio could get fds 0-2 here, which the dup2s below would clobber. */
    int *fds[4] = {&out_pipe[0], &out_pipe[1], &err_pipe[0], &err_pipe[1]};
    for (int i = 0; i < 4; i++) {
        if (*fds[i] > 2)
            continue;
        int moved = fcntl(*fds[i], F_DUPFD_CLOEXEC, 3);
        if (moved < 0) {
            st = process_error(err, profile, "cannot create a pipe: %s", strerror_r(errno, (char[128]){0}, 128));
            goto out;
        }
        close(*fds[i]);
        *fds[i] = moved;
    }
    fa_ok = posix_spawn_file_actions_init(&fa) == 0;
    attr_ok = posix_spawnattr_init(&attr) == 0;
    if (!fa_ok || !attr_ok || posix_spawn_file_actions_adddup2(&fa, out_pipe[1], 1) != 0 ||
        posix_spawn_file_actions_adddup2(&fa, err_pipe[1], 2) != 0) {
        st = kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory");
        goto out;
    }
    /* Like Python's subprocess: SIGPIPE back to default, and no signals blocked. */
    sigset_t none, dflt;
    sigemptyset(&none);
    sigemptyset(&dflt);
    sigaddset(&dflt, SIGPIPE);
    sigaddset(&dflt, SIGXFSZ);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &dflt);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, &attr, argv, environ);
    if (rc != 0) {
        kvi_buf msg = KVI_BUF_INIT;
        process_prefix(&msg, profile);
        kvi_buf_puts(&msg, "cannot run \"");
        kvi_put_sanitized(&msg, argv[0], 200);
        kvi_buf_printf(&msg, "\": %s", strerror_r(rc, (char[128]){0}, 128));
        st = kvi_error_take_buf(err, KVSWS_E_CREDENTIAL_RETRIEVAL, &msg);
        goto out;
    }
    close(out_pipe[1]);
    close(err_pipe[1]);
    out_pipe[1] = err_pipe[1] = -1;
    collect(pid, out_pipe[0], err_pipe[0], mono_ms() + (timeout_ms > 0 ? timeout_ms : 1), &r);

    if (r.timed_out) {
        st = process_error(err, profile, "the process did not finish within %d ms and was killed",
                           timeout_ms);
    } else if (r.too_large) {
        st = process_error(err, profile, "the process printed more than %d bytes on stdout",
                           CREDENTIAL_PROCESS_STDOUT_MAX);
    } else if (!r.reaped) {
        st = process_error(err, profile, "cannot read the process output");
    } else if (!WIFEXITED(r.status) || WEXITSTATUS(r.status) != 0) {
        kvi_buf msg = KVI_BUF_INIT;
        process_prefix(&msg, profile);
        if (WIFEXITED(r.status))
            kvi_buf_printf(&msg, "the process exited with status %d%s", WEXITSTATUS(r.status),
                           /* what a shell, or a posix_spawn without vfork, reports */
                           WEXITSTATUS(r.status) == 127 ? " (command not found?)" : "");
        else
            kvi_buf_printf(&msg, "the process was killed by signal %d", WTERMSIG(r.status));
        /* stderr's first line says why; stdout is never quoted, it may hold secrets. */
        const char *e = kvi_buf_str(&r.err_head);
        while (*e == '\n' || *e == '\r' || *e == ' ' || *e == '\t')
            e++;
        size_t len = strcspn(e, "\r\n");
        if (len) {
            char *line = strndup(e, len);
            if (line) {
                kvi_buf_puts(&msg, ": ");
                kvi_put_sanitized(&msg, line, 300);
                free(line);
            }
        }
        st = kvi_error_take_buf(err, KVSWS_E_CREDENTIAL_RETRIEVAL, &msg);
    } else {
        st = kvi_credential_process_parse(&r.out, profile, out, err);
    }
out:
    for (int i = 0; i < 2; i++) {
        if (out_pipe[i] >= 0)
            close(out_pipe[i]);
        if (err_pipe[i] >= 0)
            close(err_pipe[i]);
    }
    if (fa_ok)
        posix_spawn_file_actions_destroy(&fa);
    if (attr_ok)
        posix_spawnattr_destroy(&attr);
    kvi_shlex_free(argv);
    kvi_buf_free_secret(&r.out);
    kvi_buf_free(&r.err_head);
    return st;
}

/* ---------------------------------------------------------------------------------------------
 * The chain
 * ------------------------------------------------------------------------------------------- */

static int paths_copy(const kvi_profile_paths *from, kvi_profile_paths *to)
{
    memset(to, 0, sizeof *to);
    to->config_file = kvi_strdup(from->config_file);
    to->credentials_file = kvi_strdup(from->credentials_file);
    to->profile = kvi_strdup(from->profile ? from->profile : "default");
    to->profile_explicit = from->profile_explicit;
    to->profile_from_option = from->profile_from_option;
    if ((from->config_file && !to->config_file) ||
        (from->credentials_file && !to->credentials_file) || !to->profile) {
        kvi_profile_paths_free(to);
        return -1;
    }
    return 0;
}

kvi_credential_chain *kvi_credential_chain_new(const char *access_key_id,
                                               const char *secret_access_key,
                                               const char *session_token,
                                               const kvi_profile_paths *paths)
{
    kvi_credential_chain *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    int rc = paths ? paths_copy(paths, &c->paths)
                   : kvi_profile_paths_resolve(NULL, NULL, NULL, &c->paths);
    c->access_key_id = kvi_strdup(access_key_id);
    c->secret_access_key = kvi_strdup(secret_access_key);
    c->session_token = kvi_strdup(session_token);
    /* botocore's default RoleSessionName is botocore-session-<unix time>; ours says kvsws */
    if (asprintf(&c->session_name, "kvsws-session-%lld", (long long)time(NULL)) < 0)
        c->session_name = NULL;
    if (rc != 0 || !c->session_name || (access_key_id && !c->access_key_id) ||
        (secret_access_key && !c->secret_access_key) || (session_token && !c->session_token) ||
        pthread_mutex_init(&c->lock, NULL) != 0) {
        if (rc == 0)
            kvi_profile_paths_free(&c->paths);
        free(c->access_key_id);
        kvi_free_secret(c->secret_access_key);
        kvi_free_secret(c->session_token);
        free(c->session_name);
        free(c);
        return NULL;
    }
    c->process_timeout_ms = CREDENTIAL_PROCESS_TIMEOUT_MS;
    return c;
}

void kvi_credential_chain_free(kvi_credential_chain *chain)
{
    if (!chain)
        return;
    pthread_mutex_destroy(&chain->lock);
    free(chain->access_key_id);
    kvi_free_secret(chain->secret_access_key);
    kvi_free_secret(chain->session_token);
    kvi_profile_paths_free(&chain->paths);
    kvi_credentials_free(&chain->cached);
    free(chain->region);
    free(chain->session_name);
    if (chain->iot_options)
        kvi_iot_config_free(chain->iot_options);
    free(chain->iot_options);
    free(chain->iot_ca_bundle);
    free(chain);
}

void kvi_credential_chain_attach(kvi_credential_chain *chain, const char *region,
                                 kvi_http_pool *http, int use_fips)
{
    if (!chain)
        return;
    pthread_mutex_lock(&chain->lock);
    free(chain->region);
    chain->region = kvi_strdup(region); /* NULL when out of memory: the profile's region then */
    chain->http = http;
    chain->use_fips = use_fips;
    pthread_mutex_unlock(&chain->lock);
}

int kvi_credential_chain_attach_iot(kvi_credential_chain *chain, const kvi_iot_config *options,
                                    const char *ca_bundle, long connect_timeout_ms,
                                    long request_timeout_ms)
{
    if (!chain)
        return -1;
    kvi_iot_config *copy = NULL;
    char *ca = kvi_strdup(ca_bundle);
    if ((options && (!(copy = calloc(1, sizeof *copy)) || kvi_iot_config_copy(options, copy) != 0)) ||
        (ca_bundle && !ca)) {
        free(copy);
        free(ca);
        return -1;
    }
    pthread_mutex_lock(&chain->lock);
    if (chain->iot_options)
        kvi_iot_config_free(chain->iot_options);
    free(chain->iot_options);
    free(chain->iot_ca_bundle);
    chain->iot_options = copy;
    chain->iot_ca_bundle = ca;
    chain->iot_connect_timeout_ms = connect_timeout_ms;
    chain->iot_request_timeout_ms = request_timeout_ms;
    pthread_mutex_unlock(&chain->lock);
    return 0;
}

kvi_profile_paths kvi_profile_paths_for(const kvi_profile_paths *p, const char *profile)
{
    kvi_profile_paths q = *p;
    q.profile = (char *)profile; /* borrowed: q is never freed */
    return q;
}

/* botocore's ProfileNotFound, for a profile that was asked for by name. */
static kvsws_status profile_not_found(const kvi_profile_paths *p, kvsws_error *err)
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

/* Static keys from one file's profile section. KVSWS_OK with *found 0 when the profile has no
 * aws_access_key_id there; an access key without its secret is an error, as in botocore. */
static kvsws_status keys_from_file(const kvi_profile_paths *p, int config_file,
                                   kvi_credentials *out, int *found, kvsws_error *err)
{
    kvi_profile_paths one = *p;
    if (config_file)
        one.credentials_file = NULL;
    else
        one.config_file = NULL;
    const char *path = config_file ? p->config_file : p->credentials_file;
    const char *source = config_file ? "config-file" : "shared-credentials-file";
    *found = 0;
    char *ak = kvi_profile_get(&one, "aws_access_key_id");
    if (!ak || !*ak) {
        free(ak);
        return KVSWS_OK;
    }
    *found = 1;
    char *sk = kvi_profile_get(&one, "aws_secret_access_key");
    char *tok = kvi_profile_get(&one, "aws_session_token");
    if (!tok || !*tok) {
        kvi_free_secret(tok);
        tok = kvi_profile_get(&one, "aws_security_token");
    }
    kvsws_status st;
    if (!sk || !*sk) {
        kvi_buf msg = KVI_BUF_INIT;
        kvi_buf_printf(&msg, "Partial credentials found in %s (%s), profile ", source, path);
        kvi_put_sanitized(&msg, p->profile, 128);
        kvi_buf_puts(&msg, ", missing: aws_secret_access_key");
        st = kvi_error_take_buf(err, KVSWS_E_CREDENTIAL_RETRIEVAL, &msg);
    } else {
        st = kvi_credentials_set(out, ak, sk, tok, 0, source, err);
    }
    free(ak);
    kvi_free_secret(sk);
    kvi_free_secret(tok);
    return st;
}

kvsws_status kvi_env_credentials(kvi_credentials *out, int *found, kvsws_error *err)
{
    memset(out, 0, sizeof *out);
    *found = 0;
    const char *env_ak = nonempty_env("AWS_ACCESS_KEY_ID");
    if (!env_ak)
        return KVSWS_OK;
    *found = 1;
    const char *env_sk = nonempty_env("AWS_SECRET_ACCESS_KEY");
    if (!env_sk)
        return kvi_error_set(err, KVSWS_E_CREDENTIAL_RETRIEVAL,
                             "Partial credentials found in environment, missing: "
                             "AWS_SECRET_ACCESS_KEY");
    const char *env_tok = nonempty_env("AWS_SESSION_TOKEN");
    if (!env_tok)
        env_tok = nonempty_env("AWS_SECURITY_TOKEN");
    return kvi_credentials_set(out, env_ak, env_sk, env_tok, 0, "environment", err);
}

kvsws_status kvi_profile_providers(const kvi_provider_ctx *ctx, const char *profile,
                                   int disable_env, kvi_credentials *out, int *found,
                                   kvsws_error *err)
{
    kvi_profile_paths p = kvi_profile_paths_for(ctx->paths, profile);
    kvsws_status st = kvi_web_identity_provider(ctx, profile, disable_env, out, found, err);
    if (st != KVSWS_OK || *found)
        return st;
    st = kvi_sso_provider(ctx, profile, out, found, err);
    if (st != KVSWS_OK || *found)
        return st;
    st = keys_from_file(&p, 0, out, found, err);
    if (st != KVSWS_OK || *found)
        return st;
    char *process = kvi_profile_get(&p, "credential_process");
    if (process && *process) {
        *found = 1;
        st = kvi_credential_process_run(process, profile, ctx->process_timeout_ms, out, err);
        free(process);
        return st;
    }
    free(process);
    return keys_from_file(&p, 1, out, found, err);
}

/* The AWS IoT provider with the chain's CA bundle and timeouts (0: the HTTP defaults). */
static kvsws_status iot_credentials(kvi_credential_chain *c, const kvi_iot_config *cfg,
                                    kvi_credentials *out, kvsws_error *err)
{
    return kvi_iot_provider(cfg, c->iot_ca_bundle, c->iot_connect_timeout_ms,
                            c->iot_request_timeout_ms, out, err);
}

/* One pass over the sources, botocore's order (with AWS IoT's ahead of the environment's keys,
 * where a device expects it): explicit, AWS IoT, environment, assume-role, the
 * profile's providers (web identity, SSO, shared credentials file, credential_process, config
 * file), container, instance metadata. */
static kvsws_status chain_resolve(kvi_credential_chain *c, kvi_credentials *out,
                                  kvsws_error *err)
{
    const kvi_profile_paths *p = &c->paths;
    const char *ak = c->access_key_id && *c->access_key_id ? c->access_key_id : NULL;
    const char *sk = c->secret_access_key && *c->secret_access_key ? c->secret_access_key : NULL;
    const char *tok = c->session_token && *c->session_token ? c->session_token : NULL;
    if (ak || sk) {
        if (!ak || !sk)
            return kvi_error_set(err, KVSWS_E_PARAM_VALIDATION,
                                 "Partial credentials found in explicit options, missing: %s",
                                 ak ? "aws_secret_access_key" : "aws_access_key_id");
        return kvi_credentials_set(out, ak, sk, tok, 0, "explicit", err);
    }
    if (tok)
        return kvi_error_set(err, KVSWS_E_PARAM_VALIDATION,
                             "A session token was given without aws_access_key_id and "
                             "aws_secret_access_key");
    /* A device configured for AWS IoT expects its certificate used: explicit options first. */
    if (c->iot_options)
        return iot_credentials(c, c->iot_options, out, err);

    /* As botocore: an explicitly named profile must exist, whatever supplies the keys. */
    if (p->profile_explicit && !kvi_profile_exists(p))
        return profile_not_found(p, err);

    int found = 0;
    kvsws_status st;
    /* As botocore: a profile given as an option beats the environment's keys (and IoT's). */
    if (!p->profile_from_option) {
        kvi_iot_config iot;
        st = kvi_iot_config_from_env(&iot, &found, err);
        if (st == KVSWS_OK && found)
            st = iot_credentials(c, &iot, out, err);
        kvi_iot_config_free(&iot);
        if (st != KVSWS_OK || found)
            return st;
        st = kvi_env_credentials(out, &found, err);
        if (st != KVSWS_OK || found)
            return st;
    }

    kvi_provider_ctx ctx = {p, c->region, c->use_fips, c->http, c->session_name,
                            c->process_timeout_ms};
    st = kvi_assume_role_provider(&ctx, p->profile, out, &found, err);
    if (st != KVSWS_OK || found)
        return st;
    st = kvi_profile_providers(&ctx, p->profile, p->profile_from_option, out, &found, err);
    if (st != KVSWS_OK || found)
        return st;

    st = kvi_container_credentials(NULL, out, &found, err);
    if (st != KVSWS_OK || found)
        return st;

    kvi_buf imds_why = KVI_BUF_INIT;
    st = kvi_imds_credentials(p, out, &found, &imds_why, err);
    if (st != KVSWS_OK || found) {
        kvi_buf_free(&imds_why);
        return st;
    }

    kvi_buf msg = KVI_BUF_INIT;
    kvi_buf_puts(&msg, "Unable to locate credentials. Looked in: explicit options, ");
    if (!p->profile_from_option)
        kvi_buf_puts(&msg, "AWS IoT (AWS_IOT_CORE_CREDENTIAL_ENDPOINT and the other "
                           "AWS_IOT_CORE_* variables are not set), ");
    kvi_buf_puts(&msg, "environment (AWS_ACCESS_KEY_ID");
    if (p->profile_from_option)
        kvi_buf_puts(&msg, ", skipped because the profile option is set");
    else if (nonempty_env("AWS_SECRET_ACCESS_KEY"))
        kvi_buf_puts(&msg, " is not set but AWS_SECRET_ACCESS_KEY is");
    kvi_buf_puts(&msg, p->profile_from_option
                           ? "), profile "
                           : "), web identity (AWS_WEB_IDENTITY_TOKEN_FILE), profile ");
    kvi_put_sanitized(&msg, p->profile, 128);
    kvi_buf_printf(&msg,
                   " (role_arn, web_identity_token_file, sso_account_id / sso_role_name, the keys, "
                   "credential_process) in the shared credentials file (%s) and the config file "
                   "(%s), container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and "
                   "AWS_CONTAINER_CREDENTIALS_FULL_URI are not set) and the EC2 instance "
                   "metadata service (",
                   p->credentials_file ? p->credentials_file : "none: no home directory",
                   p->config_file ? p->config_file : "none: no home directory");
    kvi_put_sanitized(&msg, kvi_buf_str(&imds_why), 600);
    kvi_buf_puts(&msg, ")");
    kvi_buf_free(&imds_why);
    return kvi_error_take_buf(err, KVSWS_E_NO_CREDENTIALS, &msg);
}

kvsws_status kvi_credential_chain_get(kvi_credential_chain *chain, time_t now,
                                      int refresh_margin, kvi_credentials *out, kvsws_error *err)
{
    memset(out, 0, sizeof *out);
    if (!chain)
        return kvi_error_set(err, KVSWS_E_INTERNAL, "no credential chain");
    pthread_mutex_lock(&chain->lock);
    kvsws_status st = KVSWS_OK;
    int stale = chain->have && chain->cached.expiration &&
                chain->cached.expiration - (time_t)refresh_margin <= now;
    if (!chain->have || stale) {
        kvi_credentials fresh;
        memset(&fresh, 0, sizeof fresh);
        st = chain_resolve(chain, &fresh, err);
        if (st == KVSWS_OK) {
            kvi_credentials_free(&chain->cached);
            chain->cached = fresh;
            chain->have = 1;
        } else if (stale && chain->cached.expiration > now) {
            /* botocore's advisory refresh: a failed refresh keeps credentials still valid. */
            kvi_error_clear(err);
            st = KVSWS_OK;
        } else {
            if (chain->have) {
                kvi_credentials_free(&chain->cached);
                chain->have = 0;
            }
            pthread_mutex_unlock(&chain->lock);
            return st;
        }
    }
    if (kvi_credentials_copy(&chain->cached, out) != 0)
        st = kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory");
    pthread_mutex_unlock(&chain->lock);
    return st;
}

/* ---------------------------------------------------------------------------------------------
 * Region
 * ------------------------------------------------------------------------------------------- */

static int region_valid(const char *r)
{
    size_t n = strlen(r);
    if (n < 1 || n > 64)
        return 0;
    for (; *r; r++)
        if (!((*r >= 'a' && *r <= 'z') || (*r >= '0' && *r <= '9') || *r == '-'))
            return 0;
    return 1;
}

/* Validates and copies a found region; `where` names its source for the error. */
static char *region_take(const char *value, const char *where, kvsws_error *err)
{
    if (!region_valid(value)) {
        kvi_buf msg = KVI_BUF_INIT;
        kvi_buf_puts(&msg, "Invalid region \"");
        kvi_put_sanitized(&msg, value, 80);
        kvi_buf_printf(&msg,
                       "\" from %s: a region is 1 to 64 characters of a-z, 0-9 and '-' "
                       "(like us-west-2)",
                       where);
        kvi_error_take_buf(err, KVSWS_E_PARAM_VALIDATION, &msg);
        return NULL;
    }
    char *r = kvi_strdup(value);
    if (!r)
        kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory");
    return r;
}

char *kvi_region_resolve(const char *option, const kvi_profile_paths *paths, kvsws_error *err)
{
    /* As botocore: a profile asked for by name must exist even when it is not needed. */
    if (paths && paths->profile_explicit && !kvi_profile_exists(paths)) {
        profile_not_found(paths, err);
        return NULL;
    }
    if (option && *option)
        return region_take(option, "the region option", err);
    const char *env = nonempty_env("AWS_REGION");
    if (env)
        return region_take(env, "AWS_REGION", err);
    if ((env = nonempty_env("AWS_DEFAULT_REGION")) != NULL)
        return region_take(env, "AWS_DEFAULT_REGION", err);

    const char *profile = paths && paths->profile ? paths->profile : "default";
    if (paths) {
        /* Per file, to say which one a bad value came from; the credentials file wins. */
        for (int config = 0; config < 2; config++) {
            kvi_profile_paths one = *paths;
            if (config)
                one.credentials_file = NULL;
            else
                one.config_file = NULL;
            char *v = kvi_profile_get(&one, "region");
            if (v && *v) {
                kvi_buf where = KVI_BUF_INIT;
                kvi_buf_puts(&where, "\"region\" in profile ");
                kvi_put_sanitized(&where, profile, 128);
                kvi_buf_printf(&where, " of %s", config ? one.config_file : one.credentials_file);
                char *r = region_take(v, kvi_buf_str(&where), err);
                kvi_buf_free(&where);
                free(v);
                return r;
            }
            free(v);
        }
    }
    kvi_buf msg = KVI_BUF_INIT;
    kvi_buf_puts(&msg, "You must specify a region. Looked in: the region option, AWS_REGION, "
                       "AWS_DEFAULT_REGION, \"region\" in profile ");
    kvi_put_sanitized(&msg, profile, 128);
    kvi_buf_printf(&msg, " of %s",
                   paths && paths->config_file ? paths->config_file : "(no config file)");
    kvi_error_take_buf(err, KVSWS_E_NO_REGION, &msg);
    return NULL;
}

/* ---------------------------------------------------------------------------------------------
 * One copy for a signature
 * ------------------------------------------------------------------------------------------- */

/* Copies the three strings into storage, one after the other, and points at them. */
static int pack_credentials(const kvi_credentials *c, kvi_buf *storage, const char **access_key_id,
                            const char **secret_access_key, const char **session_token)
{
    const char *ak = c->access_key_id ? c->access_key_id : "";
    const char *sk = c->secret_access_key ? c->secret_access_key : "";
    const char *token = c->session_token ? c->session_token : "";
    size_t ak_size = strlen(ak) + 1, sk_size = strlen(sk) + 1, token_size = strlen(token) + 1;
    size_t need = ak_size + sk_size + token_size;
    if (storage->cap < need)
        kvi_buf_free_secret(storage); /* growing would leave a copy of the old secret behind */
    kvi_buf_reset(storage);
    if (kvi_buf_reserve_exact(storage, need - 1) != 0) /* the last NUL is the buffer's own */
        return -1;
    char *p = storage->data;
    memcpy(p, ak, ak_size);
    memcpy(p + ak_size, sk, sk_size);
    memcpy(p + ak_size + sk_size, token, token_size);
    storage->len = need - 1; /* the last NUL ends the buffer */
    *access_key_id = p;
    *secret_access_key = p + ak_size;
    *session_token = c->session_token ? p + ak_size + sk_size : NULL;
    return 0;
}

kvsws_status kvi_credential_chain_get_packed(kvi_credential_chain *chain, time_t now,
                                             int refresh_margin, kvi_buf *storage,
                                             const char **access_key_id,
                                             const char **secret_access_key,
                                             const char **session_token, kvsws_error *err)
{
    if (chain) {
        pthread_mutex_lock(&chain->lock);
        int fresh = chain->have && !(chain->cached.expiration &&
                                     chain->cached.expiration - (time_t)refresh_margin <= now);
        int rc = fresh ? pack_credentials(&chain->cached, storage, access_key_id,
                                          secret_access_key, session_token)
                       : 0;
        pthread_mutex_unlock(&chain->lock);
        if (fresh)
            return rc == 0 ? KVSWS_OK : kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory");
    }
    /* First use, or due for a refresh: the general path (which also reports a missing chain). */
    kvi_credentials c;
    kvsws_status st = kvi_credential_chain_get(chain, now, refresh_margin, &c, err);
    if (st == KVSWS_OK &&
        pack_credentials(&c, storage, access_key_id, secret_access_key, session_token) != 0)
        st = kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory");
    kvi_credentials_free(&c);
    return st;
}
