/* SPDX-License-Identifier: Apache-2.0 */
/* test_support.h - real TLS on loopback for test_http.c and test_websocket.c: a throwaway CA and
 * server certificates made with the openssl command, and a Python child server using them.
 * Header-only: CMake builds every tests/c/test_*.c as a test of its own. */
#ifndef KVSWS_TEST_SUPPORT_H
#define KVSWS_TEST_SUPPORT_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

/* How long the server may take to print its ports (importing aiohttp is the slow part). */
#define TLS_SERVER_START_MS 15000

static inline int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Initialise with TLS_SERVER_INIT, so that stopping one never started is safe. */
typedef struct tls_server {
    char dir[64];            /* "" until made: ca.pem, other.pem, srv.*, wrong.* */
    char ca_path[256];       /* the CA that signed srv.pem and wrong.pem */
    char other_ca_path[256]; /* a CA that signed nothing the server shows */
    int port[2];             /* the two numbers on the server's first line */
    pid_t pid;
    int stdin_fd; /* the server exits when this closes */
} tls_server;

#define TLS_SERVER_INIT {"", "", "", {0, 0}, 0, -1}

/* Makes /tmp/<prefix>-XXXXXX with the certificates: srv.pem is for 127.0.0.1 and localhost,
 * wrong.pem for wrong.example (the right CA, the wrong name). */
static inline int tls_server_make_certs(tls_server *s, const char *prefix)
{
    char dir[sizeof s->dir];
    snprintf(dir, sizeof dir, "/tmp/%s-XXXXXX", prefix);
    if (!mkdtemp(dir))
        return -1;
    memcpy(s->dir, dir, sizeof dir);
    char cmd[4096];
    const char *ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    snprintf(cmd, sizeof cmd,
             "(cd %s && "
             "openssl req -x509 %s -keyout ca.key -out ca.pem -days 2 -subj /CN=kvsws-test-ca && "
             "openssl req -x509 %s -keyout other.key -out other.pem -days 2 -subj /CN=other-ca && "
             "openssl req %s -keyout srv.key -out srv.csr -subj /CN=127.0.0.1 && "
             "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > srv.ext && "
             "openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
             "-out srv.pem -days 2 -extfile srv.ext && "
             "openssl req %s -keyout wrong.key -out wrong.csr -subj /CN=wrong.example && "
             "printf 'subjectAltName=DNS:wrong.example\\n' > wrong.ext && "
             "openssl x509 -req -in wrong.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
             "-out wrong.pem -days 2 -extfile wrong.ext) >/dev/null 2>&1",
             s->dir, ec, ec, ec, ec);
    if (system(cmd) != 0)
        return -1;
    snprintf(s->ca_path, sizeof s->ca_path, "%s/ca.pem", s->dir);
    snprintf(s->other_ca_path, sizeof s->other_ca_path, "%s/other.pem", s->dir);
    return 0;
}

/* Runs `python -c script <cert dir>` and reads "<port> <port>" from its first line. */
static inline int tls_server_spawn(tls_server *s, const char *python, const char *script)
{
    int out[2], in[2];
    if (pipe(out) != 0 || pipe(in) != 0)
        return -1;
    s->pid = fork();
    if (s->pid < 0)
        return -1;
    if (s->pid == 0) {
        dup2(out[1], 1);
        dup2(in[0], 0);
        close(out[0]);
        close(out[1]);
        close(in[0]);
        close(in[1]);
        execlp(python, python, "-c", script, s->dir, (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    close(in[0]);
    s->stdin_fd = in[1];
    char line[128];
    size_t len = 0;
    int64_t deadline = now_ms() + TLS_SERVER_START_MS;
    while (len < sizeof line - 1 && !memchr(line, '\n', len)) {
        struct pollfd pfd = {out[0], POLLIN, 0};
        int64_t left = deadline - now_ms();
        if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
            break;
        ssize_t n = read(out[0], line + len, sizeof line - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(out[0]);
    line[len] = '\0';
    return sscanf(line, "%d %d", &s->port[0], &s->port[1]) == 2 ? 0 : -1;
}

/* Stops the server and removes the certificates; safe on a server that never started. */
static inline void tls_server_stop(tls_server *s)
{
    if (s->stdin_fd >= 0)
        close(s->stdin_fd);
    s->stdin_fd = -1;
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        waitpid(s->pid, NULL, 0);
    }
    s->pid = 0;
    if (!s->dir[0])
        return;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", s->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", s->dir);
    s->dir[0] = '\0';
}

/* Certificates, then the server; on failure it says why and cleans up. */
static inline int tls_server_start(tls_server *s, const char *prefix, const char *python,
                                   const char *script)
{
    /* Loopback must not go through whatever proxy the environment names. */
    setenv("NO_PROXY", "127.0.0.1,localhost", 1);
    setenv("no_proxy", "127.0.0.1,localhost", 1);
    if (tls_server_make_certs(s, prefix) == 0 && tls_server_spawn(s, python, script) == 0)
        return 0;
    fprintf(stderr, "test setup failed (openssl CLI and python3 are needed)\n");
    tls_server_stop(s);
    return -1;
}

/* A loopback port that nothing listens on (bound to learn a free one, then closed). */
static inline int unused_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    bind(fd, (struct sockaddr *)&a, sizeof a);
    getsockname(fd, (struct sockaddr *)&a, &len);
    close(fd);
    return ntohs(a.sin_port);
}

#endif
