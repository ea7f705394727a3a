/* SPDX-License-Identifier: Apache-2.0 */
/* test_credentials_remote.c - the container and EC2 instance metadata credential providers,
 * against a plain-http stand-in on 127.0.0.1 (never a link-local or other address). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "credentials/credentials.h"
#include "credentials/remote.h"
#include "credentials/chain.h"
#include "env_support.h"
#include "base/error.h"
#include "test_support.h"

#define SECRET_MARK "SUPERSECRET"
#define EXPIRY_2030 ((time_t)1893456000) /* 2030-01-01T00:00:00Z */

/* Reads its behaviour from <dir>/mode on each request and logs one line per request to
 * <dir>/log. Credentials' AccessKeyId counts the credential answers: AKID1, AKID2, ... */
static const char *const SERVER_PY =
    "import http.server, json, os, sys, time\n"
    "d = sys.argv[1]\n"
    "served = [0]\n"
    "def mode():\n"
    "    try:\n"
    "        return open(os.path.join(d, 'mode')).read().strip()\n"
    "    except OSError:\n"
    "        return ''\n"
    "def creds():\n"
    "    served[0] += 1\n"
    "    return json.dumps({'Code': 'Success', 'AccessKeyId': 'AKID%d' % served[0],\n"
    "        'SecretAccessKey': 'SUPERSECRET-sk', 'Token': 'SUPERSECRET-tok',\n"
    "        'Expiration': '2030-01-01T00:00:00Z'})\n"
    "CP = '/latest/meta-data/iam/security-credentials/'\n"
    "class H(http.server.BaseHTTPRequestHandler):\n"
    "    protocol_version = 'HTTP/1.1'\n"
    "    def log_message(self, *a):\n"
    "        pass\n"
    "    def reply(self, code, body=''):\n"
    "        b = body.encode()\n"
    "        self.send_response(code)\n"
    "        self.send_header('Content-Length', str(len(b)))\n"
    "        self.end_headers()\n"
    "        self.wfile.write(b)\n"
    "    def any(self):\n"
    "        n = int(self.headers.get('Content-Length') or 0)\n"
    "        if n:\n"
    "            self.rfile.read(n)\n"
    "        m = mode()\n"
    "        tok = self.headers.get('X-aws-ec2-metadata-token')\n"
    "        with open(os.path.join(d, 'log'), 'a') as f:\n"
    "            f.write('%s %s auth=%s tok=%s ttl=%s\\n' % (self.command, self.path,\n"
    "                self.headers.get('Authorization'), tok,\n"
    "                self.headers.get('X-aws-ec2-metadata-token-ttl-seconds')))\n"
    "        if m == 'container':\n"
    "            return self.reply(200, creds())\n"
    "        if m == 'trickle':\n"
    "            b = creds().encode()\n"
    "            self.send_response(200)\n"
    "            self.send_header('Content-Length', str(len(b)))\n"
    "            self.end_headers()\n"
    "            try:\n"
    "                for i in range(len(b)):\n"
    "                    self.wfile.write(b[i:i + 1])\n"
    "                    time.sleep(0.1)\n"
    "            except OSError:\n"
    "                self.close_connection = True\n"
    "            return\n"
    "        if m == 'badjson':\n"
    "            return self.reply(200, '{\"AccessKeyId\": \"SUPERSECRET')\n"
    "        if m == 'nosecret':\n"
    "            return self.reply(200, '{\"AccessKeyId\": \"AKID\", \"Token\": \"SUPERSECRET\"}')\n"
    "        if m == 'http500':\n"
    "            return self.reply(500, 'SUPERSECRET oops')\n"
    "        if m.startswith('imds'):\n"
    "            code = int(m[4:] or 200)\n"
    "            if self.path == '/latest/api/token':\n"
    "                if self.command != 'PUT':\n"
    "                    return self.reply(405)\n"
    "                return self.reply(code, 'imdstoken' if code == 200 else '')\n"
    "            if code == 200 and tok != 'imdstoken':\n"
    "                return self.reply(401)\n"
    "            if self.path == CP:\n"
    "                return self.reply(200, 'myrole')\n"
    "            if self.path == CP + 'myrole':\n"
    "                return self.reply(200, creds())\n"
    "        self.reply(404)\n"
    "    do_GET = do_PUT = do_POST = any\n"
    "s = http.server.ThreadingHTTPServer(('127.0.0.1', 0), H)\n"
    "print(s.server_address[1], 0, flush=True)\n"
    "s.serve_forever()\n";

static tls_server srv = TLS_SERVER_INIT;
static char base[64];

static void set_mode(const char *m)
{
    write_file("mode", m);
    char *p = path_of("log");
    unlink(p);
    free(p);
}

/* The stand-in's log (caller frees; "" when no request came). */
static char *server_log(void)
{
    char *p = path_of("log");
    FILE *f = fopen(p, "r");
    free(p);
    char *s = calloc(1, 8192);
    if (f) {
        size_t n = fread(s, 1, 8191, f);
        s[n] = '\0';
        fclose(f);
    }
    return s;
}

static int log_lines(void)
{
    char *s = server_log();
    int n = 0;
    for (char *c = s; *c; c++)
        n += *c == '\n';
    free(s);
    return n;
}

static void check_no_secret(kvsws_error *err)
{
    CHECK(strstr(kvsws_error_message(err), SECRET_MARK) == NULL);
}

/* The test environment: clean, IMDS disabled (reset_env), loopback not proxied. */
static void fresh_env(void)
{
    reset_env();
    setenv("NO_PROXY", "127.0.0.1,localhost", 1);
    setenv("no_proxy", "127.0.0.1,localhost", 1);
}

static kvi_container_tuning fast_tuning(void)
{
    kvi_container_tuning t = {base, 1000, 3, 0};
    return t;
}

static void test_container(kvsws_error *err)
{
    kvi_container_tuning t = fast_tuning();
    kvi_credentials c;
    int found = -1;
    char url[128];

    /* Neither variable: not found, nothing asked. */
    fresh_env();
    set_mode("container");
    CHECK_INT(kvi_container_credentials(&t, &c, &found, err), KVSWS_OK);
    CHECK_INT(found, 0);
    CHECK_INT(log_lines(), 0);

    /* RELATIVE_URI on the (test) base. */
    setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/abc", 1);
    CHECK_INT(kvi_container_credentials(&t, &c, &found, err), KVSWS_OK);
    CHECK_INT(found, 1);
    CHECK_STR(c.access_key_id, "AKID1");
    CHECK_STR(c.secret_access_key, "SUPERSECRET-sk");
    CHECK_STR(c.session_token, "SUPERSECRET-tok");
    CHECK_INT(c.expiration, EXPIRY_2030);
    CHECK_STR(c.source, "container-role");
    kvi_credentials_free(&c);
    char *log = server_log();
    CHECK(contains(log, "GET /v2/credentials/abc auth=None"));
    free(log);

    /* RELATIVE_URI wins over FULL_URI, as in botocore. */
    snprintf(url, sizeof url, "%s/full", base);
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
    set_mode("container");
    CHECK_INT(kvi_container_credentials(&t, &c, &found, err), KVSWS_OK);
    kvi_credentials_free(&c);
    log = server_log();
    CHECK(contains(log, "GET /v2/credentials/abc "));
    free(log);

    /* FULL_URI with AWS_CONTAINER_AUTHORIZATION_TOKEN. */
    unsetenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "Bearer envtoken", 1);
    set_mode("container");
    CHECK_INT(kvi_container_credentials(&t, &c, &found, err), KVSWS_OK);
    CHECK_INT(found, 1);
    CHECK(c.access_key_id && strncmp(c.access_key_id, "AKID", 4) == 0);
    kvi_credentials_free(&c);
    log = server_log();
    CHECK(contains(log, "GET /full auth=Bearer envtoken"));
    free(log);

    /* The token file beats the variable and is read again on every fetch. */
    write_file("tokfile", "filetoken1");
    char *tf = path_of("tokfile");
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", tf, 1);
    set_mode("container");
    CHECK_INT(kvi_container_credentials(&t, &c, &found, err), KVSWS_OK);
    kvi_credentials_free(&c);
    write_file("tokfile", "filetoken2");
    CHECK_INT(kvi_container_credentials(&t, &c, &found, err), KVSWS_OK);
    kvi_credentials_free(&c);
    log = server_log();
    CHECK(contains(log, "auth=filetoken1"));
    CHECK(contains(log, "auth=filetoken2"));
    free(log);

    /* A token with a line break is refused (botocore's rule), without quoting it. */
    write_file("tokfile", "SUPERSECRET-token\n");
    set_mode("container");
    CHECK_INT(kvi_container_credentials(&t, &c, &found, err), KVSWS_E_CREDENTIAL_RETRIEVAL);
    CHECK(contains(kvsws_error_message(err), "not a legal header value"));
    check_no_secret(err);
    CHECK_INT(log_lines(), 0);

    /* A missing token file is an error naming it. */
    unlink(tf);
    CHECK_INT(kvi_container_credentials(&t, &c, &found, err), KVSWS_E_CREDENTIAL_RETRIEVAL);
    CHECK(contains(kvsws_error_message(err), "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"));
    free(tf);
    unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");

    /* Hosts: http only to loopback and the container hosts; refused before any request. */
    const char *refused[] = {"http://169.254.169.254/creds", "http://example.com/creds",
                             "http://10.0.0.1/x", "http://[fd00:ec2::254]/x"};
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", refused[i], 1);
        set_mode("container");
        kvi_error_clear(err);
        CHECK_INT(kvi_container_credentials(&t, &c, &found, err),
                  KVSWS_E_CREDENTIAL_RETRIEVAL);
        CHECK(contains(kvsws_error_message(err), "Unsupported host"));
        CHECK(contains(kvsws_error_message(err), "container-role"));
    }
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "not a url", 1);
    CHECK_INT(kvi_container_credentials(&t, &c, &found, err), KVSWS_E_CREDENTIAL_RETRIEVAL);
    /* 127.0.0.0/8 is loopback: 127.0.0.1 on the stand-in's port is allowed (tested above). */

    /* Bad JSON, a missing key and an HTTP 500: three attempts, then an error without secrets. */
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
    set_mode("badjson");
    CHECK_INT(kvi_container_credentials(&t, &c, &found, err), KVSWS_E_CREDENTIAL_RETRIEVAL);
    CHECK(contains(kvsws_error_message(err), "not a JSON object"));
    CHECK(contains(kvsws_error_message(err), "after 3 attempts"));
    check_no_secret(err);
    CHECK_INT(log_lines(), 3);
    set_mode("nosecret");
    CHECK_INT(kvi_container_credentials(&t, &c, &found, err), KVSWS_E_CREDENTIAL_RETRIEVAL);
    CHECK(contains(kvsws_error_message(err), "'SecretAccessKey'"));
    check_no_secret(err);
    set_mode("http500");
    CHECK_INT(kvi_container_credentials(&t, &c, &found, err), KVSWS_E_CREDENTIAL_RETRIEVAL);
    CHECK(contains(kvsws_error_message(err), "non 200 response (500)"));
    check_no_secret(err);

    /* Nothing listening. */
    char dead[128];
    snprintf(dead, sizeof dead, "http://127.0.0.1:%d/x", unused_port());
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", dead, 1);
    t.attempts = 1;
    CHECK_INT(kvi_container_credentials(&t, &c, &found, err), KVSWS_E_CREDENTIAL_RETRIEVAL);
    CHECK(contains(kvsws_error_message(err), "container-role"));
}

static kvsws_status imds_at(const kvi_profile_paths *p, kvi_credentials *c, int *found,
                            char **why, kvsws_error *err)
{
    kvi_buf w = KVI_BUF_INIT;
    kvi_error_clear(err);
    kvsws_status st = kvi_imds_credentials(p, c, found, &w, err);
    check_no_secret(err);
    CHECK(strstr(kvi_buf_str(&w), SECRET_MARK) == NULL);
    *why = strdup(kvi_buf_str(&w));
    kvi_buf_free(&w);
    return st;
}

/* A container endpoint that trickles its answer, a byte every 100 ms: never silent for the
 * 400 ms read timeout, cut at the attempt's total deadline (twice the timeout). */
static void test_container_trickle(kvsws_error *err)
{
    kvi_container_tuning t = {base, 400, 1, 0};
    kvi_credentials c;
    int found = -1;
    fresh_env();
    setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/slow", 1);
    set_mode("trickle");
    int64_t t0 = now_ms();
    CHECK_INT(kvi_container_credentials(&t, &c, &found, err), KVSWS_E_CREDENTIAL_RETRIEVAL);
    int64_t took = now_ms() - t0;
    CHECK(took >= 790 && took < (RUNNING_ON_VALGRIND ? 4000 : 2000));
    CHECK_INT(found, 1);
    CHECK(contains(kvsws_error_message(err), "Read timeout on endpoint URL"));
    CHECK(contains(kvsws_error_message(err), "within the request timeout of 800 ms"));
    check_no_secret(err);
    CHECK(c.access_key_id == NULL);
    kvi_credentials_free(&c);
}

static void test_imds(kvsws_error *err)
{
    kvi_profile_paths p = scratch_paths("config", "none", NULL);
    kvi_credentials c;
    int found = -1;
    char *why, *log;

    /* Disabled: skipped, no request even with the endpoint set. */
    fresh_env();
    write_file("config", "[default]\n");
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", base, 1);
    set_mode("imds");
    CHECK_INT(imds_at(&p, &c, &found, &why, err), KVSWS_OK);
    CHECK_INT(found, 0);
    CHECK(contains(why, "skipped"));
    free(why);
    CHECK_INT(log_lines(), 0);
    setenv("AWS_EC2_METADATA_DISABLED", "TRUE", 1);
    CHECK_INT(imds_at(&p, &c, &found, &why, err), KVSWS_OK);
    free(why);
    CHECK_INT(log_lines(), 0);

    /* IMDSv2: token, role, credentials, the token sent on both GETs. */
    unsetenv("AWS_EC2_METADATA_DISABLED");
    CHECK_INT(imds_at(&p, &c, &found, &why, err), KVSWS_OK);
    free(why);
    CHECK_INT(found, 1);
    CHECK(c.access_key_id && strncmp(c.access_key_id, "AKID", 4) == 0);
    CHECK_STR(c.secret_access_key, "SUPERSECRET-sk");
    CHECK_STR(c.session_token, "SUPERSECRET-tok");
    CHECK_INT(c.expiration, EXPIRY_2030);
    CHECK_STR(c.source, "iam-role");
    kvi_credentials_free(&c);
    log = server_log();
    CHECK(contains(log, "PUT /latest/api/token auth=None tok=None ttl=21600\n"
                        "GET /latest/meta-data/iam/security-credentials/ auth=None "
                        "tok=imdstoken ttl=None\n"
                        "GET /latest/meta-data/iam/security-credentials/myrole auth=None "
                        "tok=imdstoken ttl=None\n"));
    free(log);

    /* The endpoint from the profile, a trailing '/' ignored. */
    unsetenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    char cfg[256];
    snprintf(cfg, sizeof cfg, "[default]\nec2_metadata_service_endpoint = %s/\n", base);
    write_file("config", cfg);
    set_mode("imds");
    CHECK_INT(imds_at(&p, &c, &found, &why, err), KVSWS_OK);
    free(why);
    CHECK_INT(found, 1);
    kvi_credentials_free(&c);
    CHECK_INT(log_lines(), 3);

    /* IMDSv1 fallback when the token PUT answers 403, 404 or 405; or fails (500) after its
     * attempts. No token header then. */
    const char *fallback[] = {"imds403", "imds404", "imds405", "imds500"};
    for (size_t i = 0; i < 4; i++) {
        set_mode(fallback[i]);
        CHECK_INT(imds_at(&p, &c, &found, &why, err), KVSWS_OK);
        free(why);
        CHECK_INT(found, 1);
        kvi_credentials_free(&c);
        log = server_log();
        CHECK(contains(log, "GET /latest/meta-data/iam/security-credentials/myrole auth=None "
                            "tok=None"));
        free(log);
    }
    /* ... but not on a 400, and never with IMDSv1 disabled. */
    set_mode("imds400");
    CHECK_INT(imds_at(&p, &c, &found, &why, err), KVSWS_OK);
    CHECK_INT(found, 0);
    CHECK(contains(why, "400"));
    free(why);
    CHECK_INT(log_lines(), 1);
    setenv("AWS_EC2_METADATA_V1_DISABLED", "true", 1);
    set_mode("imds405");
    CHECK_INT(imds_at(&p, &c, &found, &why, err), KVSWS_E_CREDENTIAL_RETRIEVAL);
    free(why);
    CHECK(contains(kvsws_error_message(err), "IMDSv1 has been disabled"));
    CHECK_INT(log_lines(), 1);
    set_mode("imds");
    CHECK_INT(imds_at(&p, &c, &found, &why, err), KVSWS_OK);
    free(why);
    CHECK_INT(found, 1);
    kvi_credentials_free(&c);
    unsetenv("AWS_EC2_METADATA_V1_DISABLED");

    /* Attempts from the environment: two tries at an unhelpful service. */
    setenv("AWS_METADATA_SERVICE_NUM_ATTEMPTS", "2", 1);
    set_mode("nothing");
    CHECK_INT(imds_at(&p, &c, &found, &why, err), KVSWS_OK);
    CHECK_INT(found, 0);
    CHECK(contains(why, "HTTP 404"));
    free(why);
    CHECK_INT(log_lines(), 3); /* the PUT's 404 means IMDSv1 at once; the role GET twice */
    unsetenv("AWS_METADATA_SERVICE_NUM_ATTEMPTS");

    /* Nothing listening: not found, quickly, with the reason. */
    char dead[64];
    snprintf(dead, sizeof dead, "http://127.0.0.1:%d", unused_port());
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", dead, 1);
    int64_t t0 = now_ms();
    CHECK_INT(imds_at(&p, &c, &found, &why, err), KVSWS_OK);
    CHECK_INT(found, 0);
    CHECK(contains(why, dead));
    free(why);
    CHECK(now_ms() - t0 < 3000);

    /* Bad settings are errors. */
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "ftp://127.0.0.1/", 1);
    CHECK_INT(imds_at(&p, &c, &found, &why, err), KVSWS_E_CONFIG);
    free(why);
    unsetenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    write_file("config", "[default]\n");
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "IPv5", 1);
    CHECK_INT(imds_at(&p, &c, &found, &why, err), KVSWS_E_CONFIG);
    CHECK(contains(kvsws_error_message(err), "IPv5"));
    free(why);
    unsetenv("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", base, 1);
    setenv("AWS_METADATA_SERVICE_TIMEOUT", "soon", 1);
    CHECK_INT(imds_at(&p, &c, &found, &why, err), KVSWS_E_CONFIG);
    free(why);
    unsetenv("AWS_METADATA_SERVICE_TIMEOUT");
    kvi_profile_paths_free(&p);
}

static kvi_credential_chain *chain_new(void)
{
    kvi_profile_paths p = scratch_paths("none", "none", NULL);
    kvi_credential_chain *ch = kvi_credential_chain_new(NULL, NULL, NULL, &p);
    kvi_profile_paths_free(&p);
    if (!ch)
        abort();
    return ch;
}

static kvsws_status get_at(kvi_credential_chain *ch, time_t now, kvi_credentials *out,
                           kvsws_error *err)
{
    kvi_error_clear(err);
    kvsws_status st = kvi_credential_chain_get(ch, now, 300, out, err);
    check_no_secret(err);
    return st;
}

static void test_chain(kvsws_error *err)
{
    kvi_credentials c;
    char url[128];
    snprintf(url, sizeof url, "%s/full", base);

    /* Precedence: environment, then the container, then IMDS. */
    fresh_env();
    unsetenv("AWS_EC2_METADATA_DISABLED");
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", base, 1);
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "SUPERSECRET-env", 1);
    set_mode("container");
    kvi_credential_chain *ch = chain_new();
    CHECK_INT(get_at(ch, EXPIRY_2030 - 3600, &c, err), KVSWS_OK);
    CHECK_STR(c.source, "environment");
    kvi_credentials_free(&c);
    kvi_credential_chain_free(ch);
    CHECK_INT(log_lines(), 0);

    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    ch = chain_new();
    CHECK_INT(get_at(ch, EXPIRY_2030 - 3600, &c, err), KVSWS_OK);
    CHECK_STR(c.source, "container-role");
    kvi_credentials_free(&c);
    kvi_credential_chain_free(ch);
    char *log = server_log();
    CHECK(contains(log, "GET /full "));
    CHECK(strstr(log, "/latest/") == NULL); /* IMDS not asked */
    free(log);

    unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    set_mode("imds");
    ch = chain_new();
    CHECK_INT(get_at(ch, EXPIRY_2030 - 3600, &c, err), KVSWS_OK);
    CHECK_STR(c.source, "iam-role");
    CHECK_INT(c.expiration, EXPIRY_2030);
    char *first = strdup(c.access_key_id);
    kvi_credentials_free(&c);

    /* Cached until within the refresh margin of the expiry, then fetched again. */
    CHECK_INT(get_at(ch, EXPIRY_2030 - 1000, &c, err), KVSWS_OK);
    CHECK_STR(c.access_key_id, first);
    kvi_credentials_free(&c);
    CHECK_INT(log_lines(), 3);
    CHECK_INT(get_at(ch, EXPIRY_2030 - 200, &c, err), KVSWS_OK);
    CHECK(strcmp(c.access_key_id, first) != 0);
    kvi_credentials_free(&c);
    CHECK_INT(log_lines(), 6);
    /* A failed refresh keeps credentials that are still valid. */
    set_mode("nothing");
    CHECK_INT(get_at(ch, EXPIRY_2030 - 100, &c, err), KVSWS_OK);
    CHECK_STR(c.source, "iam-role");
    kvi_credentials_free(&c);
    /* ... and once they expired, the chain reports no credentials, naming IMDS. */
    CHECK_INT(get_at(ch, EXPIRY_2030 + 1, &c, err), KVSWS_E_NO_CREDENTIALS);
    CHECK(contains(kvsws_error_message(err), "EC2 instance metadata service (http://127.0.0.1"));
    free(first);
    kvi_credential_chain_free(ch);

    /* No credentials with IMDS disabled: both remote sources named, IMDS skipped, no request. */
    fresh_env();
    set_mode("imds");
    ch = chain_new();
    CHECK_INT(get_at(ch, EXPIRY_2030 - 3600, &c, err), KVSWS_E_NO_CREDENTIALS);
    const char *m = kvsws_error_message(err);
    CHECK(contains(m, "Unable to locate credentials"));
    CHECK(contains(m, "container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and "
                      "AWS_CONTAINER_CREDENTIALS_FULL_URI are not set)"));
    CHECK(contains(m, "EC2 instance metadata service (skipped: AWS_EC2_METADATA_DISABLED is "
                      "true)"));
    CHECK_INT(log_lines(), 0);
    kvi_credential_chain_free(ch);

    /* A failing container source is an error, not a fall-through to IMDS. */
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://192.0.2.1/creds", 1);
    ch = chain_new();
    CHECK_INT(get_at(ch, EXPIRY_2030 - 3600, &c, err), KVSWS_E_CREDENTIAL_RETRIEVAL);
    CHECK(contains(kvsws_error_message(err), "Unsupported host '192.0.2.1'"));
    kvi_credential_chain_free(ch);
}

int main(void)
{
    if (scratch_create("remote") != 0)
        return 1;
    memcpy(srv.dir, scratch_dir, sizeof srv.dir);
    if (tls_server_spawn(&srv, "python3", SERVER_PY) != 0) {
        fprintf(stderr, "could not start the python3 stand-in\n");
        srv.dir[0] = '\0';
        tls_server_stop(&srv);
        scratch_remove();
        return 1;
    }
    srv.dir[0] = '\0'; /* the scratch directory is removed below, not by tls_server_stop */
    snprintf(base, sizeof base, "http://127.0.0.1:%d", srv.port[0]);
    kvsws_error *err = kvsws_error_new();
    test_container(err);
    test_container_trickle(err);
    test_imds(err);
    test_chain(err);
    kvsws_error_free(err);
    tls_server_stop(&srv);
    scratch_remove();
    return CHECK_DONE();
}
