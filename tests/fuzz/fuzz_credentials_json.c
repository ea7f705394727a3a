/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_credentials_json.c - libFuzzer target for the JSON documents credentials come in: byte 0
 * picks the reader (credential_process's stdout, the container/IMDS answer, SSO's
 * GetRoleCredentials answer and the AWS IoT credentials provider's, the SSO token cache file
 * `aws sso login` writes), the rest is the
 * document. Usable credentials come out whole; an error message never shows a secret from the
 * document. Build: see README.md. */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "credentials/credentials.h"
#include "credentials/iot.h"
#include "credentials/process.h"
#include "credentials/remote.h"
#include "credentials/sso.h"
#include "kvsws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A secret-looking string member of the document (or of its object member), for the leak
 * check: NULL unless it is long enough to be told apart from the words of a message. */
static const char *secret_in(const cJSON *doc, const char *object, const char *name)
{
    const cJSON *o = object ? cJSON_GetObjectItemCaseSensitive(doc, object) : doc;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) && strlen(v->valuestring) >= 8 ? v->valuestring : NULL;
}

static void no_leak(const char *message, const char *secret, const char *except)
{
    if (message && secret && strstr(message, secret) && !(except && strstr(except, secret)))
        abort();
}

static void check_creds(const kvi_credentials *c)
{
    if (!c->access_key_id || !*c->access_key_id || !c->secret_access_key ||
        !*c->secret_access_key || (c->session_token && !*c->session_token))
        abort();
}

static char home[64], cache_file[160];

/* The token cache file and its directories go when the process does. */
static void remove_home(void)
{
    const char *const below[] = {"/.aws/sso/cache", "/.aws/sso", "/.aws", ""};
    char path[128];
    unlink(cache_file);
    for (size_t i = 0; i < sizeof below / sizeof *below; i++) {
        snprintf(path, sizeof path, "%s%s", home, below[i]);
        rmdir(path);
    }
}

/* $HOME for the token cache: a directory of our own. */
static void use_own_home(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    char *dir = home;
    snprintf(dir, sizeof home, "%s/kvsws-fuzz-home-XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (!mkdtemp(dir))
        abort();
    atexit(remove_home);
    setenv("HOME", dir, 1);
    char path[128];
    snprintf(path, sizeof path, "%s/.aws", dir);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/.aws/sso", dir);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/.aws/sso/cache", dir);
    mkdir(path, 0700);
}

static void token_cache(const uint8_t *doc, size_t len, const cJSON *parsed)
{
    use_own_home();
    kvi_sso_config cfg = {.start_url = "https://fuzz.awsapps.com/start", .region = "us-east-1",
                          .account_id = "123456789012", .role_name = "R",
                          .session = "fuzz-session"};
    char *path = kvi_sso_cache_path(cfg.session, cfg.start_url);
    if (path)
        snprintf(cache_file, sizeof cache_file, "%s", path);
    FILE *f = path ? fopen(path, "wb") : NULL;
    if (!f || fwrite(doc, 1, len, f) != len)
        abort();
    fclose(f);
    char *token = NULL;
    kvsws_error *err = kvsws_error_new();
    /* 2020-01-01: tokens that expire later are good ones. */
    if (kvi_sso_token_load(&cfg, "fuzz", 1577836800, &token, err) == KVSWS_OK) {
        if (!token || !*token || strpbrk(token, "\r\n"))
            abort();
    } else {
        const cJSON *exp = cJSON_GetObjectItemCaseSensitive(parsed, "expiresAt");
        no_leak(kvsws_error_message(err), secret_in(parsed, NULL, "accessToken"),
                cJSON_IsString(exp) ? exp->valuestring : NULL);
        if (token)
            abort();
    }
    free(token);
    kvsws_error_free(err);
    free(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    kvi_buf doc = KVI_BUF_INIT;
    kvi_buf_append(&doc, data + 1, size - 1);
    cJSON *parsed = cJSON_ParseWithLength(kvi_buf_str(&doc), doc.len);
    kvi_credentials c;
    memset(&c, 0, sizeof c);
    kvsws_error *err = kvsws_error_new();
    switch (data[0] % 4) {
    case 0:
        if (kvi_credential_process_parse(&doc, "fuzz", &c, err) == KVSWS_OK) {
            check_creds(&c);
        } else {
            /* The message may quote Version and Expiration (sanitized), nothing else. */
            const char *m = kvsws_error_message(err);
            const cJSON *exp = cJSON_GetObjectItemCaseSensitive(parsed, "Expiration");
            const cJSON *ver = cJSON_GetObjectItemCaseSensitive(parsed, "Version");
            char quoted[128];
            snprintf(quoted, sizeof quoted, "%s %s", cJSON_IsString(exp) ? exp->valuestring : "",
                     cJSON_IsString(ver) ? ver->valuestring : "");
            no_leak(m, secret_in(parsed, NULL, "SecretAccessKey"), quoted);
            no_leak(m, secret_in(parsed, NULL, "SessionToken"), quoted);
        }
        break;
    case 1: {
        kvsws_status st = KVSWS_OK;
        const char *why = kvi_remote_credentials_parse(&doc, "container-role", &c, err, &st);
        if (!why && st == KVSWS_OK)
            check_creds(&c);
        else if (!why && st != KVSWS_E_NO_MEMORY)
            abort();
        break;
    }
    case 2:
        if (!kvi_sso_role_credentials_parse(&doc, &c)) {
            check_creds(&c);
            if (!c.session_token || c.expiration <= 0)
                abort();
        }
        kvi_credentials_free(&c);
        /* The AWS IoT credentials provider's answer: the same members, another envelope. */
        if (!kvi_iot_credentials_parse(&doc, &c)) {
            check_creds(&c);
            if (!c.session_token || c.expiration <= 0)
                abort();
        }
        break;
    default:
        token_cache(data + 1, size - 1, parsed);
        break;
    }
    kvi_credentials_free(&c);
    kvsws_error_free(err);
    /* The timestamps all of them carry. */
    time_t t;
    (void)kvi_iso8601_parse(kvi_buf_str(&doc), &t);
    cJSON_Delete(parsed);
    kvi_buf_free(&doc);
    return 0;
}

/* With -DKVSWS_FUZZ_STANDALONE: a main that replays files, for builds without libFuzzer. */
#include "standalone_main.h"
