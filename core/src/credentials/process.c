/* SPDX-License-Identifier: Apache-2.0 */
/* process.c - credential_process: runs the profile's helper without a shell, reads its JSON. */
#include "credentials/process.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>

#include "base/buf.h"
#include "base/error.h"
#include "base/shlex.h"

extern char **environ;

/* Credentials JSON is a few KiB at most; more is a misbehaving helper. */
#define CREDENTIAL_PROCESS_STDOUT_MAX (64 * 1024)
/* Enough of stderr for its first line. */
#define CREDENTIAL_PROCESS_STDERR_KEEP 512

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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
