/* SPDX-License-Identifier: Apache-2.0 */
/* test_http.c - real TLS on loopback against a small Python server: statuses, headers, errors,
 * keep-alive, timeouts (silence, and a trickle under the total deadline), cancellation and
 * concurrency. */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "aws/aws_error.h"
#include "check.h"
#include "transport/curl_common.h"
#include "base/error.h"
#include "transport/http.h"
#include "test_support.h"

/* The server: two TLS listeners (a good certificate, and one for another name), routes for each
 * case, a count of accepted connections, and exit when our end of its stdin closes. */
static const char *const SERVER_PY =
    "import json, os, socket, ssl, sys, threading, time\n"
    "from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer\n"
    "d = sys.argv[1]\n"
    "conns = 0\n"
    "lock = threading.Lock()\n"
    "class H(BaseHTTPRequestHandler):\n"
    "    protocol_version = 'HTTP/1.1'\n"
    "    def setup(self):\n"
    "        global conns\n"
    "        with lock:\n"
    "            conns += 1\n"
    "        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)\n"
    "        super().setup()\n"
    "    def log_message(self, *a):\n"
    "        pass\n"
    "    def send(self, code, body, headers=()):\n"
    "        self.send_response(code)\n"
    "        for k, v in headers:\n"
    "            self.send_header(k, v)\n"
    "        self.send_header('Content-Length', str(len(body)))\n"
    "        self.end_headers()\n"
    "        self.wfile.write(body)\n"
    "    def do_GET(self):\n"
    "        self.route()\n"
    "    do_POST = do_PUT = do_GET\n"
    "    def route(self):\n"
    "        n = int(self.headers.get('Content-Length') or 0)\n"
    "        req = self.rfile.read(n) if n else b''\n"
    "        p = self.path.split('?')[0]\n"
    "        if p == '/ok':\n"
    "            self.send(200, b'{\"ok\":true}', [('x-amzn-RequestId', 'req-ok')])\n"
    "        elif p == '/err400':\n"
    "            self.send(400, b'{\"message\":\"Channel not found\"}', [\n"
    "                ('x-amzn-ErrorType', 'ResourceNotFoundException:http://internal.amazon.com/"
    "coral/com.amazonaws.kinesisvideo.v20170930/'),\n"
    "                ('X-AMZ-REQUEST-ID', 'alt-id')])\n"
    "        elif p == '/sleep':\n"
    "            time.sleep(3)\n"
    "            self.send(200, b'late')\n"
    "        elif p == '/trickle':\n"
    "            self.send_response(200)\n"
    "            self.send_header('Content-Length', '600')\n"
    "            self.end_headers()\n"
    "            try:\n"
    "                for _ in range(600):\n"
    "                    self.wfile.write(b'x')\n"
    "                    time.sleep(0.05)\n"
    "            except OSError:\n"
    "                self.close_connection = True\n"
    "        elif p == '/close':\n"
    "            self.close_connection = True\n"
    "        elif p == '/conns':\n"
    "            with lock:\n"
    "                c = conns\n"
    "            self.send(200, str(c).encode())\n"
    "        elif p == '/big':\n"
    "            self.send(200, b'x' * (2 << 20))\n"
    "        elif p == '/fold':\n"
    "            self.wfile.write(b'HTTP/1.1 200 OK\\r\\nX-AMZN-REQUESTID: part1\\r\\n  part2\\r\\n'\n"
    "                             b'x-amzn-errortype:  Foo \\r\\nContent-Length: 2\\r\\n\\r\\nok')\n"
    "        elif p == '/dup':\n"
    "            self.wfile.write(b'HTTP/1.1 200 OK\\r\\nX-Dup: a\\r\\nContent-Type: text/plain\\r\\n'\n"
    "                             b'x-dup:  b \\r\\nContent-Length: 2\\r\\n\\r\\nok')\n"
    "        elif p == '/info':\n"
    "            self.wfile.write(b'HTTP/1.1 103 Early Hints\\r\\nx-amzn-RequestId: wrong\\r\\n'\n"
    "                             b'Date: wrong\\r\\n\\r\\n')\n"
    "            self.send(200, b'ok', [('x-amzn-RequestId', 'right')])\n"
    "        elif p == '/echo':\n"
    "            out = {'method': self.command, 'path': self.path,\n"
    "                   'headers': [[k, v] for k, v in self.headers.items()], 'body': req.hex()}\n"
    "            self.send(200, json.dumps(out).encode())\n"
    "        else:\n"
    "            self.send(404, b'')\n"
    "def serve(cert):\n"
    "    s = ThreadingHTTPServer(('127.0.0.1', 0), H)\n"
    "    s.daemon_threads = True\n"
    "    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)\n"
    "    ctx.load_cert_chain(os.path.join(d, cert + '.pem'), os.path.join(d, cert + '.key'))\n"
    "    s.socket = ctx.wrap_socket(s.socket, server_side=True)\n"
    "    threading.Thread(target=s.serve_forever, daemon=True).start()\n"
    "    return s.server_address[1]\n"
    "print(serve('srv'), serve('wrong'), flush=True)\n"
    "threading.Timer(120, lambda: os._exit(0)).start()\n"
    "sys.stdin.read()\n"
    "os._exit(0)\n";

static tls_server server = TLS_SERVER_INIT;
static int port_good, port_wrong; /* the server's listeners with srv.pem and with wrong.pem */

/* Messages name a URL without what could be a secret: userinfo, query and fragment. */
static void test_url_for_message(void)
{
    static const char *const cases[][2] = {
        {"https://user:pw@h.example:443/p/a?X-Amz-Security-Token=S#f", "https://h.example:443/p/a"},
        {"wss://h/x?X-Amz-Signature=S", "wss://h/x"},
        {"https://u@h", "https://h"},
        {"https://h/a@b?x", "https://h/a@b"}, /* an @ in the path is no userinfo */
        {"https://h#frag", "https://h"},
        {"no-scheme/p?q", "no-scheme/p"},
        {"a?b://u:pw@c", "a"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *shown = kvi_curl_url_for_message(cases[i][0]);
        CHECK_STR(shown, cases[i][1]);
        free(shown);
    }
}

static kvi_http_pool *new_pool(const char *ca, long connect_ms, long read_ms)
{
    kvi_http_options o = {ca, NULL, connect_ms, read_ms, "kvsws-test/1.0", 0, NULL, NULL};
    return kvi_http_pool_new(&o);
}

/* The way a client connects: trust from its CA store, parsed once on first use (the system
 * store's ~150 certificates take seconds under valgrind on a busy machine: a long connect
 * timeout keeps that a TLS failure, which is what the tests look for). */
static kvi_http_pool *new_store_pool(kvi_ca_store *store)
{
    kvi_http_options o = {NULL, store, 30000, 5000, "kvsws-test/1.0", 0, NULL, NULL};
    return kvi_http_pool_new(&o);
}

static void url_for(char *buf, size_t n, int port, const char *path)
{
    snprintf(buf, n, "https://127.0.0.1:%d%s", port, path);
}

static kvsws_status do_get(kvi_http_pool *pool, const char *url, kvi_http_response *resp,
                           kvsws_error *err)
{
    kvi_http_request req = {"GET", url, NULL, 0, NULL, 0, NULL, 0, NULL, NULL};
    return kvi_http_perform(pool, &req, resp, err);
}

static void test_ok_and_headers(kvi_http_pool *pool)
{
    char url[256];
    kvi_http_response r;
    kvsws_error *err = kvsws_error_new();

    url_for(url, sizeof url, port_good, "/ok");
    CHECK_INT(do_get(pool, url, &r, err), KVSWS_OK);
    CHECK_INT(r.status, 200);
    CHECK_STR(kvi_buf_str(&r.body), "{\"ok\":true}");
    CHECK_INT(r.body.len, 11);
    CHECK_STR(r.request_id, "req-ok");
    CHECK(r.error_type == NULL);
    CHECK(r.date != NULL && strstr(r.date, "GMT") != NULL);
    kvi_http_response_free(&r);

    /* An AWS error is a success at this layer; the headers feed aws_error. */
    url_for(url, sizeof url, port_good, "/err400");
    kvi_http_request req = {"POST", url, NULL, 0, "{}", 2, NULL, 0, NULL, NULL};
    CHECK_INT(kvi_http_perform(pool, &req, &r, err), KVSWS_OK);
    CHECK_INT(r.status, 400);
    CHECK_STR(r.request_id, "alt-id");
    CHECK(r.error_type && strncmp(r.error_type, "ResourceNotFoundException:http://", 33) == 0);
    kvi_aws_error ae;
    CHECK_INT(kvi_aws_error_parse(r.status, r.error_type, r.request_id, r.body.data, r.body.len,
                                  &ae),
              0);
    CHECK_STR(ae.code, "ResourceNotFoundException");
    CHECK_STR(ae.message, "Channel not found");
    CHECK_INT(ae.status, KVSWS_E_RESOURCE_NOT_FOUND);
    CHECK_STR(ae.request_id, "alt-id");
    kvi_aws_error_free(&ae);
    kvi_http_response_free(&r);

    /* A folded header is joined with one space; names match in any case. */
    url_for(url, sizeof url, port_good, "/fold");
    CHECK_INT(do_get(pool, url, &r, err), KVSWS_OK);
    CHECK_STR(r.request_id, "part1 part2");
    CHECK_STR(r.error_type, "Foo");
    CHECK_STR(kvi_buf_str(&r.body), "ok");
    kvi_http_response_free(&r);

    /* Headers of a 1xx answer are dropped with it. */
    url_for(url, sizeof url, port_good, "/info");
    CHECK_INT(do_get(pool, url, &r, err), KVSWS_OK);
    CHECK_INT(r.status, 200);
    CHECK_STR(r.request_id, "right");
    CHECK(r.date != NULL && strcmp(r.date, "wrong") != 0);
    kvi_http_response_free(&r);

    url_for(url, sizeof url, port_good, "/nothing-here");
    CHECK_INT(do_get(pool, url, &r, err), KVSWS_OK);
    CHECK_INT(r.status, 404);
    CHECK_INT(r.body.len, 0);
    CHECK(r.request_id == NULL);
    kvi_http_response_free(&r);
    kvsws_error_free(err);
}

static kvsws_status do_get_keep(kvi_http_pool *pool, const char *url, kvi_http_response *resp,
                                kvsws_error *err)
{
    kvi_http_request req = {"GET", url, NULL, 0, NULL, 0, NULL, 1, NULL, NULL};
    return kvi_http_perform(pool, &req, resp, err);
}

static const char *json_member(cJSON *o, const char *name)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* keep_headers: every header under its lower-case name, as botocore's HTTPHeaders. */
static void test_keep_headers(kvi_http_pool *pool)
{
    char url[256];
    kvi_http_response r;
    kvsws_error *err = kvsws_error_new();

    url_for(url, sizeof url, port_good, "/ok");
    CHECK_INT(do_get(pool, url, &r, err), KVSWS_OK);
    CHECK(r.headers == NULL); /* only when asked */
    kvi_http_response_free(&r);

    url_for(url, sizeof url, port_good, "/fold");
    CHECK_INT(do_get_keep(pool, url, &r, err), KVSWS_OK);
    cJSON *o = r.headers;
    CHECK(cJSON_IsObject(o));
    CHECK_STR(json_member(o, "x-amzn-requestid"), "part1 part2");
    CHECK_STR(json_member(o, "x-amzn-errortype"), "Foo");
    CHECK_STR(json_member(o, "content-length"), "2");
    CHECK(json_member(o, "X-AMZN-REQUESTID") == NULL);
    CHECK_INT(cJSON_GetArraySize(o), 3);
    kvi_http_response_free(&r);

    url_for(url, sizeof url, port_good, "/dup");
    CHECK_INT(do_get_keep(pool, url, &r, err), KVSWS_OK);
    o = r.headers;
    CHECK_STR(json_member(o, "x-dup"), "a, b");
    CHECK_STR(json_member(o, "content-type"), "text/plain");
    kvi_http_response_free(&r);

    url_for(url, sizeof url, port_good, "/info");
    CHECK_INT(do_get_keep(pool, url, &r, err), KVSWS_OK);
    o = r.headers;
    CHECK_STR(json_member(o, "x-amzn-requestid"), "right");
    CHECK(json_member(o, "date") != NULL && strcmp(json_member(o, "date"), "wrong") != 0);
    kvi_http_response_free(&r);
    kvsws_error_free(err);
}

static const char *echo_header(cJSON *root, const char *name, int *count)
{
    const char *found = NULL;
    *count = 0;
    cJSON *h;
    cJSON_ArrayForEach(h, cJSON_GetObjectItem(root, "headers"))
    {
        const char *k = cJSON_GetArrayItem(h, 0)->valuestring;
        if (strcasecmp(k, name) == 0) {
            found = cJSON_GetArrayItem(h, 1)->valuestring;
            (*count)++;
        }
    }
    return found;
}

static void test_request_shape(kvi_http_pool *pool)
{
    char url[256], host[64];
    url_for(url, sizeof url, port_good, "/echo?a=1&b=%2F");
    snprintf(host, sizeof host, "127.0.0.1:%d", port_good);
    const char body[] = {'{', 0, '\xff', '}'};
    kvi_header hs[] = {
        {"Host", "must-not-be-sent.example"},
        {"X-Amz-Date", "20240101T000000Z"},
        {"X-Empty", ""},
        {"Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/..."},
    };
    kvi_http_request req = {"POST", url, hs, 4, body, sizeof body, NULL, 0, NULL, NULL};
    kvi_http_response r;
    kvsws_error *err = kvsws_error_new();
    CHECK_INT(kvi_http_perform(pool, &req, &r, err), KVSWS_OK);
    CHECK_INT(r.status, 200);
    cJSON *root = cJSON_ParseWithLength(r.body.data, r.body.len);
    CHECK(root != NULL);
    if (root) {
        int n;
        CHECK_STR(cJSON_GetObjectItem(root, "method")->valuestring, "POST");
        CHECK_STR(cJSON_GetObjectItem(root, "path")->valuestring, "/echo?a=1&b=%2F");
        CHECK_STR(cJSON_GetObjectItem(root, "body")->valuestring, "7b00ff7d");
        CHECK_STR(echo_header(root, "Host", &n), host);
        CHECK_INT(n, 1);
        CHECK_STR(echo_header(root, "X-Amz-Date", &n), "20240101T000000Z");
        CHECK_STR(echo_header(root, "X-Empty", &n), "");
        CHECK_INT(n, 1);
        CHECK_STR(echo_header(root, "User-Agent", &n), "kvsws-test/1.0");
        CHECK_STR(echo_header(root, "Content-Length", &n), "4");
        CHECK(echo_header(root, "Expect", &n) == NULL);
        CHECK(echo_header(root, "Content-Type", &n) == NULL);
        cJSON_Delete(root);
    }
    kvi_http_response_free(&r);

    /* A given Content-Type is sent as given; GET and PUT work too. */
    kvi_header ct[] = {{"Content-Type", "application/json"}};
    kvi_http_request put = {"PUT", url, ct, 1, "{}", 2, NULL, 0, NULL, NULL};
    CHECK_INT(kvi_http_perform(pool, &put, &r, err), KVSWS_OK);
    root = cJSON_ParseWithLength(r.body.data, r.body.len);
    if (root) {
        int n;
        CHECK_STR(cJSON_GetObjectItem(root, "method")->valuestring, "PUT");
        CHECK_STR(echo_header(root, "Content-Type", &n), "application/json");
        cJSON_Delete(root);
    }
    CHECK(root != NULL);
    kvi_http_response_free(&r);

    /* A header that could smuggle another one is refused, without echoing its value. */
    kvi_header bad[] = {{"X-Amz-Security-Token", "SECRETTOKEN\r\nX-Evil: 1"}};
    kvi_http_request breq = {"POST", url, bad, 1, "", 0, NULL, 0, NULL, NULL};
    CHECK_INT(kvi_http_perform(pool, &breq, &r, err), KVSWS_E_PARAM_VALIDATION);
    CHECK(strstr(kvsws_error_message(err), "SECRETTOKEN") == NULL);
    CHECK(strstr(kvsws_error_message(err), "X-Amz-Security-Token") != NULL);
    CHECK_INT(r.status, 0);
    CHECK(r.body.data == NULL);
    kvsws_error_free(err);
}

static void test_transport_failures(kvi_http_pool *pool)
{
    char url[256];
    kvi_http_response r;
    kvsws_error *err = kvsws_error_new();

    url_for(url, sizeof url, port_good, "/big");
    CHECK_INT(do_get(pool, url, &r, err), KVSWS_E_TRANSPORT);
    CHECK(strstr(kvsws_error_message(err), "too large") != NULL);
    CHECK(r.body.data == NULL && r.status == 0);

    url_for(url, sizeof url, port_good, "/close");
    CHECK_INT(do_get(pool, url, &r, err), KVSWS_E_TRANSPORT);
    CHECK(strstr(kvsws_error_message(err), "Connection was closed before we received") != NULL);
    CHECK_INT(kvsws_error_retryable(err), 1);
    CHECK(strchr(kvsws_error_message(err), '\n') == NULL);

    CHECK_INT(do_get(pool, "ftp://127.0.0.1/x", &r, err), KVSWS_E_PARAM_VALIDATION);

    /* After failures the pool still works. */
    url_for(url, sizeof url, port_good, "/ok");
    CHECK_INT(do_get(pool, url, &r, err), KVSWS_OK);
    CHECK_INT(r.status, 200);
    kvi_http_response_free(&r);
    kvsws_error_free(err);
}

static void test_keep_alive(kvi_http_pool *pool)
{
    char url[256], curl_[256];
    kvi_http_response r;
    kvsws_error *err = kvsws_error_new();
    url_for(curl_, sizeof curl_, port_good, "/conns");
    CHECK_INT(do_get(pool, curl_, &r, err), KVSWS_OK);
    int before = atoi(kvi_buf_str(&r.body));
    kvi_http_response_free(&r);
    url_for(url, sizeof url, port_good, "/ok");
    int ok = 0;
    for (int i = 0; i < 10; i++) {
        if (do_get(pool, url, &r, err) == KVSWS_OK && r.status == 200)
            ok++;
        kvi_http_response_free(&r);
    }
    CHECK_INT(ok, 10);
    CHECK_INT(do_get(pool, curl_, &r, err), KVSWS_OK);
    int after = atoi(kvi_buf_str(&r.body));
    kvi_http_response_free(&r);
    CHECK(before > 0);
    CHECK_INT(after - before, 0); /* 10 requests + 1, all on the connection already open */
    kvsws_error_free(err);
}

static void test_tls_failures(void)
{
    char url[256];
    kvi_http_response r;
    kvsws_error *err = kvsws_error_new();
    url_for(url, sizeof url, port_good, "/ok");
    char want[400];
    snprintf(want, sizeof want, "SSL validation failed for %s ", url);

    kvi_http_pool *other = new_pool(server.other_ca_path, 5000, 5000);
    CHECK_INT(do_get(other, url, &r, err), KVSWS_E_TLS);
    CHECK(strncmp(kvsws_error_message(err), want, strlen(want)) == 0);
    CHECK_STR(kvsws_error_code(err), "SSLError");
    CHECK_INT(kvsws_error_retryable(err), 0);
    kvi_http_pool_free(other);

    /* The system store does not know our test CA. */
    kvi_http_pool *sys = new_pool(NULL, 30000, 5000);
    CHECK_INT(do_get(sys, url, &r, err), KVSWS_E_TLS);
    kvi_http_pool_free(sys);

    char missing[300];
    snprintf(missing, sizeof missing, "%s/no-such-ca.pem", server.dir);
    kvi_http_pool *none = new_pool(missing, 5000, 5000);
    CHECK_INT(do_get(none, url, &r, err), KVSWS_E_TLS);
    kvi_http_pool_free(none);

    /* Right CA, wrong name. */
    kvi_http_pool *good = new_pool(server.ca_path, 5000, 5000);
    url_for(url, sizeof url, port_wrong, "/ok");
    CHECK_INT(do_get(good, url, &r, err), KVSWS_E_TLS);
    kvi_http_pool_free(good);
    kvsws_error_free(err);
}

/* The shared CA store verifies exactly like a bundle file: the right CA passes; another CA,
 * the system store, a missing file, and the right CA with the wrong name all fail. */
static void test_shared_ca_store(void)
{
    char url[256], missing[300];
    kvi_http_response r;
    kvsws_error *err = kvsws_error_new();
    snprintf(missing, sizeof missing, "%s/no-such-ca.pem", server.dir);
    kvi_ca_store *right = kvi_ca_store_new(server.ca_path);
    kvi_ca_store *refused[] = {kvi_ca_store_new(server.other_ca_path), kvi_ca_store_new(NULL),
                               kvi_ca_store_new(missing)};
    url_for(url, sizeof url, port_good, "/ok");
    kvi_http_pool *pool = new_store_pool(right);
    for (int i = 0; i < 3; i++) { /* several connections share the one store */
        CHECK_INT(do_get(pool, url, &r, err), KVSWS_OK);
        CHECK_INT(r.status, 200);
        kvi_http_response_free(&r);
    }
    kvi_http_pool_free(pool);
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        pool = new_store_pool(refused[i]);
        CHECK_INT(do_get(pool, url, &r, err), KVSWS_E_TLS);
        kvi_http_pool_free(pool);
        kvi_ca_store_free(refused[i]);
    }
    pool = new_store_pool(right);
    url_for(url, sizeof url, port_wrong, "/ok");
    CHECK_INT(do_get(pool, url, &r, err), KVSWS_E_TLS);
    kvi_http_pool_free(pool);
    kvi_ca_store_free(right);
    kvsws_error_free(err);
}

static void test_connect_failures(void)
{
    char url[256];
    kvi_http_response r;
    kvsws_error *err = kvsws_error_new();
    kvi_http_pool *pool = new_pool(server.ca_path, 300, 5000);

    int port = unused_port();
    snprintf(url, sizeof url, "https://user:pw@127.0.0.1:%d/ok?X-Amz-Security-Token=SECRET#f",
             port);
    CHECK_INT(do_get(pool, url, &r, err), KVSWS_E_CONNECT);
    char want[400];
    snprintf(want, sizeof want, "Could not connect to the endpoint URL: \"https://127.0.0.1:%d/ok\"",
             port);
    CHECK(strncmp(kvsws_error_message(err), want, strlen(want)) == 0);
    CHECK(strstr(kvsws_error_message(err), "SECRET") == NULL);
    CHECK(strstr(kvsws_error_message(err), "pw") == NULL);
    CHECK_STR(kvsws_error_code(err), "EndpointConnectionError");
    CHECK_INT(kvsws_error_retryable(err), 1);

    /* A listener that never accepts: TCP completes in the kernel, TLS never does. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    CHECK_INT(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    CHECK_INT(listen(fd, 8), 0);
    getsockname(fd, (struct sockaddr *)&a, &len);
    snprintf(url, sizeof url, "https://127.0.0.1:%d/ok", ntohs(a.sin_port));
    int64_t t0 = now_ms();
    CHECK_INT(do_get(pool, url, &r, err), KVSWS_E_CONNECT_TIMEOUT);
    int64_t took = now_ms() - t0;
    CHECK(took >= 250 && took < 3000);
    snprintf(want, sizeof want, "Connect timeout on endpoint URL: \"%s\"", url);
    CHECK_STR(kvsws_error_message(err), want);
    close(fd);

    kvi_http_pool_free(pool);
    kvsws_error_free(err);
}

static void test_read_timeout(void)
{
    char url[256];
    kvi_http_response r;
    kvsws_error *err = kvsws_error_new();
    kvi_http_pool *pool = new_pool(server.ca_path, 5000, 300);
    url_for(url, sizeof url, port_good, "/sleep");
    int64_t t0 = now_ms();
    CHECK_INT(do_get(pool, url, &r, err), KVSWS_E_READ_TIMEOUT);
    int64_t took = now_ms() - t0;
    CHECK(took >= 290 && took < (RUNNING_ON_VALGRIND ? 3000 : 1000));
    char want[400];
    snprintf(want, sizeof want, "Read timeout on endpoint URL: \"%s\"", url);
    CHECK_STR(kvsws_error_message(err), want);
    CHECK_STR(kvsws_error_code(err), "ReadTimeoutError");
    /* The timed-out connection is dropped, the next request gets a fresh one. */
    url_for(url, sizeof url, port_good, "/ok");
    CHECK_INT(do_get(pool, url, &r, err), KVSWS_OK);
    CHECK_INT(r.status, 200);
    kvi_http_response_free(&r);
    kvi_http_pool_free(pool);
    kvsws_error_free(err);
}

/* An answer that keeps coming, one byte every 50 ms (a 30 s body): the read timeout (1 s of
 * silence) never fires, the total deadline does, as a retryable read timeout. */
static void test_request_deadline(void)
{
    char url[256];
    kvi_http_response r;
    kvsws_error *err = kvsws_error_new();
    kvi_http_options o = {server.ca_path, NULL, 5000, 1000, "kvsws-test/1.0", 700, NULL, NULL};
    kvi_http_pool *pool = kvi_http_pool_new(&o);
    url_for(url, sizeof url, port_good, "/trickle");
    int64_t t0 = now_ms();
    CHECK_INT(do_get(pool, url, &r, err), KVSWS_E_READ_TIMEOUT);
    int64_t took = now_ms() - t0;
    CHECK(took >= 690 && took < (RUNNING_ON_VALGRIND ? 3000 : 1300));
    char want[400];
    snprintf(want, sizeof want,
             "Read timeout on endpoint URL: \"%s\" (no complete answer within the request "
             "timeout of 700 ms)",
             url);
    CHECK_STR(kvsws_error_message(err), want);
    CHECK_STR(kvsws_error_code(err), "ReadTimeoutError");
    CHECK_INT(kvsws_error_retryable(err), 1);
    /* The deadline is per exchange: the next request has its own, and a fresh connection. */
    url_for(url, sizeof url, port_good, "/ok");
    CHECK_INT(do_get(pool, url, &r, err), KVSWS_OK);
    CHECK_INT(r.status, 200);
    kvi_http_response_free(&r);

    /* Before the connection is up, the deadline reads as a connect timeout, even when the
     * connect timeout is longer: a listener that never speaks TLS. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    CHECK_INT(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    CHECK_INT(listen(fd, 8), 0);
    getsockname(fd, (struct sockaddr *)&a, &len);
    snprintf(url, sizeof url, "https://127.0.0.1:%d/ok", ntohs(a.sin_port));
    t0 = now_ms();
    CHECK_INT(do_get(pool, url, &r, err), KVSWS_E_CONNECT_TIMEOUT);
    took = now_ms() - t0;
    CHECK(took >= 650 && took < (RUNNING_ON_VALGRIND ? 3000 : 1300));
    CHECK_STR(kvsws_error_code(err), "ConnectTimeoutError");
    CHECK_INT(kvsws_error_retryable(err), 1);
    close(fd);
    kvi_http_pool_free(pool);
    kvsws_error_free(err);
}

typedef struct cancel_job {
    kvi_http_pool *pool;
    const char *url;
    volatile int flag;
    kvsws_status status;
    int64_t returned_ms;
} cancel_job;

static void *cancel_worker(void *arg)
{
    cancel_job *job = arg;
    kvi_http_request req = {"POST", job->url, NULL, 0, "{}", 2, &job->flag, 0, NULL, NULL};
    kvi_http_response r;
    kvsws_error *err = kvsws_error_new();
    job->status = kvi_http_perform(job->pool, &req, &r, err);
    job->returned_ms = now_ms();
    kvi_http_response_free(&r);
    kvsws_error_free(err);
    return NULL;
}

static void test_cancel(kvi_http_pool *pool)
{
    char url[256];
    url_for(url, sizeof url, port_good, "/sleep");
    cancel_job job = {pool, url, 0, KVSWS_OK, 0};
    pthread_t t;
    pthread_create(&t, NULL, cancel_worker, &job);
    sleep_ms(400); /* well into the server's 3 s sleep */
    int64_t set_at = now_ms();
    __atomic_store_n(&job.flag, 1, __ATOMIC_RELEASE);
    pthread_join(t, NULL);
    CHECK_INT(job.status, KVSWS_E_CANCELLED);
    int64_t latency = job.returned_ms - set_at;
    CHECK(latency >= 0 && latency < (RUNNING_ON_VALGRIND ? 1000 : 200));
    if (latency >= 200)
        fprintf(stderr, "cancel took %lld ms\n", (long long)latency);

    /* Already cancelled: no I/O at all. */
    volatile int set = 1;
    kvi_http_request req = {"GET", url, NULL, 0, NULL, 0, &set, 0, NULL, NULL};
    kvi_http_response r;
    kvsws_error *err = kvsws_error_new();
    int64_t t0 = now_ms();
    CHECK_INT(kvi_http_perform(pool, &req, &r, err), KVSWS_E_CANCELLED);
    CHECK(now_ms() - t0 < 100);
    CHECK_INT(kvsws_error_retryable(err), 0);
    kvsws_error_free(err);
}

/* The wait hook: called on the calling thread while a transfer waits (at least every 50 ms);
 * setting the cancel flag from it stops the transfer, as the Python binding does on Ctrl-C. */
typedef struct wait_hook {
    pthread_t caller;
    int calls, other_thread;
    int64_t first_call_ms, set_at_ms;
    volatile int flag;
} wait_hook;

static void on_wait(void *userdata)
{
    wait_hook *h = userdata;
    h->calls++;
    if (!pthread_equal(pthread_self(), h->caller))
        h->other_thread = 1;
    if (!h->first_call_ms)
        h->first_call_ms = now_ms();
    /* 400 ms after the first call (not after the start: TLS under qemu takes a while) */
    if (!h->set_at_ms && now_ms() >= h->first_call_ms + 400) {
        h->set_at_ms = now_ms();
        __atomic_store_n(&h->flag, 1, __ATOMIC_RELEASE);
    }
}

static void test_wait_hook(kvi_http_pool *pool)
{
    char url[256];
    url_for(url, sizeof url, port_good, "/sleep");
    wait_hook h = {pthread_self(), 0, 0, 0, 0, 0};
    kvi_http_request req = {"GET", url, NULL, 0, NULL, 0, &h.flag, 0, on_wait, &h};
    kvi_http_response r;
    kvsws_error *err = kvsws_error_new();
    int64_t t0 = now_ms();
    CHECK_INT(kvi_http_perform(pool, &req, &r, err), KVSWS_E_CANCELLED);
    int64_t returned = now_ms();
    /* Woken every 50 ms while the server sleeps; half as often passes on a loaded or emulated
     * CPU, while a hook called only on socket events would have been called once or twice. */
    CHECK(h.calls >= 400 / 50 / 2);
    CHECK_INT(h.other_thread, 0);
    CHECK(h.set_at_ms > 0 && returned - h.set_at_ms < (RUNNING_ON_VALGRIND ? 1000 : 200));
    CHECK(returned - t0 < 3000); /* not the server's 3 s */
    kvi_http_response_free(&r);
    kvsws_error_free(err);
}

typedef struct burst {
    kvi_http_pool *pool;
    int ok;
} burst;

static void *burst_worker(void *arg)
{
    burst *b = arg;
    char url[256];
    url_for(url, sizeof url, port_good, "/ok");
    kvsws_error *err = kvsws_error_new();
    for (int i = 0; i < 20; i++) {
        kvi_http_response r;
        if (do_get(b->pool, url, &r, err) == KVSWS_OK && r.status == 200 && r.request_id &&
            strcmp(r.request_id, "req-ok") == 0 && r.body.len == 11)
            b->ok++;
        else
            fprintf(stderr, "burst request failed: %s\n", kvsws_error_message(err));
        kvi_http_response_free(&r);
    }
    kvsws_error_free(err);
    return NULL;
}

static void test_concurrency(kvi_http_pool *pool)
{
    pthread_t t[8];
    burst b[8];
    for (int i = 0; i < 8; i++) {
        b[i].pool = pool;
        b[i].ok = 0;
        pthread_create(&t[i], NULL, burst_worker, &b[i]);
    }
    int ok = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        ok += b[i].ok;
    }
    CHECK_INT(ok, 160);
}

int main(void)
{
    test_url_for_message();
    if (tls_server_start(&server, "kvsws-http", "python3", SERVER_PY) != 0) {
        CHECK(0);
        return CHECK_DONE();
    }
    port_good = server.port[0];
    port_wrong = server.port[1];
    int64_t t0 = now_ms();
    kvi_http_pool *pool = new_pool(server.ca_path, 5000, 5000);
    CHECK(pool != NULL);
    test_ok_and_headers(pool);
    test_keep_headers(pool);
    test_request_shape(pool);
    test_keep_alive(pool);
    test_transport_failures(pool);
    test_tls_failures();
    test_shared_ca_store();
    test_connect_failures();
    test_read_timeout();
    test_request_deadline();
    test_cancel(pool);
    test_wait_hook(pool);
    test_concurrency(pool);
    kvi_http_pool_free(pool);
    kvi_http_pool_free(NULL);
    tls_server_stop(&server);
    fprintf(stderr, "http tests took %lld ms\n", (long long)(now_ms() - t0));
    return CHECK_DONE();
}
