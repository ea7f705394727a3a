/* SPDX-License-Identifier: Apache-2.0 */
/* test_credentials.c - the credential chain, credential_process and region resolution. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "credentials/credentials.h"
#include "credentials/chain.h"
#include "credentials/process.h"
#include "credentials/region.h"
#include "env_support.h"
#include "base/error.h"

/* Every secret the tests use contains this; no message may. */
#define SECRET_MARK "SUPERSECRET"
#define EXPIRY_2030 ((time_t)1893456000) /* 2030-01-01T00:00:00Z */
/* Long after that, and still within a 32-bit time_t (Debian 12 armhf). */
#define LATE_2037 ((time_t)2114380800) /* 2037-01-01T00:00:00Z */

static void write_script(const char *name, const char *content)
{
    write_file(name, content);
    char *p = path_of(name);
    chmod(p, 0755);
    free(p);
}

static void remove_file(const char *name)
{
    char *p = path_of(name);
    unlink(p);
    free(p);
}

static int read_count(void)
{
    char *p = path_of("count");
    FILE *f = fopen(p, "r");
    free(p);
    int n = 0;
    if (f) {
        if (fscanf(f, "%d", &n) != 1)
            n = -1;
        fclose(f);
    }
    return n;
}

/* A chain over the test's files ("none" = a file that does not exist). */
static kvi_credential_chain *chain_for(const char *config, const char *creds, const char *profile,
                                       const char *ak, const char *sk, const char *tok)
{
    kvi_profile_paths p = scratch_paths(config, creds, profile);
    kvi_credential_chain *ch = kvi_credential_chain_new(ak, sk, tok, &p);
    kvi_profile_paths_free(&p);
    if (!ch)
        abort();
    return ch;
}

/* One get at a fixed time; checks the message never carries a secret. */
static kvsws_status get_at(kvi_credential_chain *ch, time_t now, kvi_credentials *out,
                           kvsws_error *err)
{
    kvi_error_clear(err);
    kvsws_status st = kvi_credential_chain_get(ch, now, 300, out, err);
    CHECK(strstr(kvsws_error_message(err), SECRET_MARK) == NULL);
    return st;
}

static void test_explicit_and_env(kvsws_error *err)
{
    reset_env();
    kvi_credentials c;
    write_file("creds", "[default]\naws_access_key_id = AKIDFILE\n"
                        "aws_secret_access_key = " SECRET_MARK "FILE\n");

    /* Explicit keys beat everything. */
    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", SECRET_MARK "ENV", 1);
    kvi_credential_chain *ch =
        chain_for(NULL, "creds", NULL, "AKIDEXPLICIT", SECRET_MARK "X", "TOKEN" SECRET_MARK);
    CHECK_INT(get_at(ch, 1000, &c, err), KVSWS_OK);
    CHECK_STR(c.access_key_id, "AKIDEXPLICIT");
    CHECK_STR(c.secret_access_key, SECRET_MARK "X");
    CHECK_STR(c.session_token, "TOKEN" SECRET_MARK);
    CHECK_STR(c.source, "explicit");
    CHECK_INT(c.expiration, 0);
    kvi_credentials_free(&c);
    kvi_credential_chain_free(ch);

    /* Half an explicit pair is a PARAM_VALIDATION error naming the missing half. */
    ch = chain_for(NULL, "creds", NULL, "AKIDEXPLICIT", NULL, NULL);
    CHECK_INT(get_at(ch, 1000, &c, err), KVSWS_E_PARAM_VALIDATION);
    CHECK(contains(kvsws_error_message(err), "missing: aws_secret_access_key"));
    CHECK_STR(kvsws_error_code(err), "ParamValidationError");
    kvi_credential_chain_free(ch);
    ch = chain_for(NULL, "creds", NULL, "", SECRET_MARK "X", NULL);
    CHECK_INT(get_at(ch, 1000, &c, err), KVSWS_E_PARAM_VALIDATION);
    CHECK(contains(kvsws_error_message(err), "missing: aws_access_key_id"));
    kvi_credential_chain_free(ch);
    ch = chain_for(NULL, "creds", NULL, NULL, NULL, "TOKEN" SECRET_MARK);
    CHECK_INT(get_at(ch, 1000, &c, err), KVSWS_E_PARAM_VALIDATION);
    CHECK(contains(kvsws_error_message(err), "session token"));
    kvi_credential_chain_free(ch);

    /* The environment beats the files. */
    setenv("AWS_SESSION_TOKEN", "ENVTOKEN" SECRET_MARK, 1);
    ch = chain_for(NULL, "creds", NULL, NULL, NULL, NULL);
    CHECK_INT(get_at(ch, 1000, &c, err), KVSWS_OK);
    CHECK_STR(c.access_key_id, "AKIDENV");
    CHECK_STR(c.secret_access_key, SECRET_MARK "ENV");
    CHECK_STR(c.session_token, "ENVTOKEN" SECRET_MARK);
    CHECK_STR(c.source, "environment");
    kvi_credentials_free(&c);
    kvi_credential_chain_free(ch);

    /* The legacy AWS_SECURITY_TOKEN is read when AWS_SESSION_TOKEN is not set. */
    unsetenv("AWS_SESSION_TOKEN");
    setenv("AWS_SECURITY_TOKEN", "LEGACY" SECRET_MARK, 1);
    ch = chain_for(NULL, "creds", NULL, NULL, NULL, NULL);
    CHECK_INT(get_at(ch, 1000, &c, err), KVSWS_OK);
    CHECK_STR(c.session_token, "LEGACY" SECRET_MARK);
    kvi_credentials_free(&c);
    kvi_credential_chain_free(ch);
    unsetenv("AWS_SECURITY_TOKEN");

    /* AWS_PROFILE does not stop the environment's keys (botocore: they still win) ... */
    write_file("creds2", "[dev]\naws_access_key_id = AKIDDEV\n"
                         "aws_secret_access_key = " SECRET_MARK "DEV\n");
    setenv("AWS_PROFILE", "dev", 1);
    ch = chain_for(NULL, "creds2", NULL, NULL, NULL, NULL);
    CHECK_INT(get_at(ch, 1000, &c, err), KVSWS_OK);
    CHECK_STR(c.access_key_id, "AKIDENV");
    kvi_credentials_free(&c);
    kvi_credential_chain_free(ch);
    unsetenv("AWS_PROFILE");
    /* ... but a profile given as an option does, as botocore's Session(profile=...). */
    ch = chain_for(NULL, "creds2", "dev", NULL, NULL, NULL);
    CHECK_INT(get_at(ch, 1000, &c, err), KVSWS_OK);
    CHECK_STR(c.access_key_id, "AKIDDEV");
    CHECK_STR(c.source, "shared-credentials-file");
    kvi_credentials_free(&c);
    kvi_credential_chain_free(ch);

    /* AWS_ACCESS_KEY_ID without the secret is an error naming the missing variable. */
    unsetenv("AWS_SECRET_ACCESS_KEY");
    ch = chain_for(NULL, "creds", NULL, NULL, NULL, NULL);
    CHECK_INT(get_at(ch, 1000, &c, err), KVSWS_E_CREDENTIAL_RETRIEVAL);
    CHECK(contains(kvsws_error_message(err), "missing: AWS_SECRET_ACCESS_KEY"));
    kvi_credential_chain_free(ch);
    setenv("AWS_SECRET_ACCESS_KEY", "", 1); /* empty is unset */
    ch = chain_for(NULL, "creds", NULL, NULL, NULL, NULL);
    CHECK_INT(get_at(ch, 1000, &c, err), KVSWS_E_CREDENTIAL_RETRIEVAL);
    kvi_credential_chain_free(ch);

    /* The secret alone is skipped, as botocore does, and the next source is used ... */
    unsetenv("AWS_ACCESS_KEY_ID");
    setenv("AWS_SECRET_ACCESS_KEY", SECRET_MARK "ENV", 1);
    ch = chain_for(NULL, "creds", NULL, NULL, NULL, NULL);
    CHECK_INT(get_at(ch, 1000, &c, err), KVSWS_OK);
    CHECK_STR(c.access_key_id, "AKIDFILE");
    kvi_credentials_free(&c);
    kvi_credential_chain_free(ch);
    /* ... and when there is none the message points at the missing variable. */
    ch = chain_for(NULL, NULL, NULL, NULL, NULL, NULL);
    CHECK_INT(get_at(ch, 1000, &c, err), KVSWS_E_NO_CREDENTIALS);
    CHECK(contains(kvsws_error_message(err), "AWS_ACCESS_KEY_ID is not set but"));
    kvi_credential_chain_free(ch);
}

static void test_files(kvsws_error *err)
{
    reset_env();
    kvi_credentials c;
    write_file("config", "[default]\n"
                         "aws_access_key_id = AKIDCONFIG\n"
                         "aws_secret_access_key = " SECRET_MARK "CONFIG\n"
                         "aws_session_token = CFGTOKEN\n"
                         "[profile cfgonly]\n"
                         "aws_access_key_id = AKIDCFGONLY\n"
                         "aws_secret_access_key = " SECRET_MARK "CFGONLY\n"
                         "[profile partial]\n"
                         "aws_access_key_id = AKIDPARTIAL\n"
                         "[profile secretonly]\n"
                         "aws_secret_access_key = " SECRET_MARK "ALONE\n"
                         "[profile empty]\n");
    write_file("creds", "[default]\n"
                        "aws_access_key_id = AKIDCREDS\n"
                        "aws_secret_access_key = " SECRET_MARK "CREDS\n"
                        "[partialcreds]\n"
                        "aws_access_key_id = AKIDPC\n"
                        "[legacy]\n"
                        "aws_access_key_id = AKIDLEG\n"
                        "aws_secret_access_key = " SECRET_MARK "LEG\n"
                        "aws_security_token = LEGTOKEN\n");

    /* The credentials file beats the config file. */
    kvi_credential_chain *ch = chain_for("config", "creds", NULL, NULL, NULL, NULL);
    CHECK_INT(get_at(ch, 1000, &c, err), KVSWS_OK);
    CHECK_STR(c.access_key_id, "AKIDCREDS");
    CHECK(c.session_token == NULL);
    CHECK_STR(c.source, "shared-credentials-file");
    kvi_credentials_free(&c);
    kvi_credential_chain_free(ch);

    /* Config file only. */
    ch = chain_for("config", NULL, NULL, NULL, NULL, NULL);
    CHECK_INT(get_at(ch, 1000, &c, err), KVSWS_OK);
    CHECK_STR(c.access_key_id, "AKIDCONFIG");
    CHECK_STR(c.session_token, "CFGTOKEN");
    CHECK_STR(c.source, "config-file");
    kvi_credentials_free(&c);
    kvi_credential_chain_free(ch);

    /* A named profile from AWS_PROFILE, in the config file's [profile x] form. */
    setenv("AWS_PROFILE", "cfgonly", 1);
    ch = chain_for("config", "creds", NULL, NULL, NULL, NULL);
    CHECK_INT(get_at(ch, 1000, &c, err), KVSWS_OK);
    CHECK_STR(c.access_key_id, "AKIDCFGONLY");
    kvi_credentials_free(&c);
    kvi_credential_chain_free(ch);
    unsetenv("AWS_PROFILE");

    /* aws_security_token, the legacy name. */
    ch = chain_for("config", "creds", "legacy", NULL, NULL, NULL);
    CHECK_INT(get_at(ch, 1000, &c, err), KVSWS_OK);
    CHECK_STR(c.session_token, "LEGTOKEN");
    kvi_credentials_free(&c);
    kvi_credential_chain_free(ch);

    /* An access key without its secret is an error naming the file and the key. */
    ch = chain_for("config", "creds", "partialcreds", NULL, NULL, NULL);
    CHECK_INT(get_at(ch, 1000, &c, err), KVSWS_E_CREDENTIAL_RETRIEVAL);
    CHECK(contains(kvsws_error_message(err), "shared-credentials-file"));
    CHECK(contains(kvsws_error_message(err), "missing: aws_secret_access_key"));
    kvi_credential_chain_free(ch);
    ch = chain_for("config", "creds", "partial", NULL, NULL, NULL);
    CHECK_INT(get_at(ch, 1000, &c, err), KVSWS_E_CREDENTIAL_RETRIEVAL);
    CHECK(contains(kvsws_error_message(err), "config-file"));
    kvi_credential_chain_free(ch);

    /* A secret alone, or an empty profile: nothing found, with where we looked. */
    ch = chain_for("config", "creds", "secretonly", NULL, NULL, NULL);
    CHECK_INT(get_at(ch, 1000, &c, err), KVSWS_E_NO_CREDENTIALS);
    kvi_credential_chain_free(ch);
    ch = chain_for("config", "creds", "empty", NULL, NULL, NULL);
    CHECK_INT(get_at(ch, 1000, &c, err), KVSWS_E_NO_CREDENTIALS);
    const char *m = kvsws_error_message(err);
    char *cfg = path_of("config"), *crd = path_of("creds");
    CHECK(contains(m, "Unable to locate credentials"));
    CHECK(contains(m, "AWS_ACCESS_KEY_ID"));
    CHECK(contains(m, "profile empty"));
    CHECK(contains(m, cfg));
    CHECK(contains(m, crd));
    CHECK(contains(m, "credential_process"));
    CHECK_STR(kvsws_error_code(err), "NoCredentialsError");
    free(cfg);
    free(crd);
    kvi_credential_chain_free(ch);

    /* A profile named explicitly that exists nowhere: botocore's ProfileNotFound. */
    ch = chain_for("config", "creds", "nosuch", NULL, NULL, NULL);
    CHECK_INT(get_at(ch, 1000, &c, err), KVSWS_E_CONFIG);
    CHECK(contains(kvsws_error_message(err), "The config profile (nosuch) could not be found"));
    kvi_credential_chain_free(ch);
    setenv("AWS_PROFILE", "nosuch", 1);
    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", SECRET_MARK "ENV", 1);
    ch = chain_for("config", "creds", NULL, NULL, NULL, NULL);
    CHECK_INT(get_at(ch, 1000, &c, err), KVSWS_E_CONFIG);
    CHECK(contains(kvsws_error_message(err), "(nosuch)"));
    CHECK(contains(kvsws_error_message(err), "AWS_PROFILE"));
    kvi_credential_chain_free(ch);
    /* Explicit keys need no profile (the client's region resolution still reports it). */
    ch = chain_for("config", "creds", NULL, "AKIDEXPLICIT", SECRET_MARK "X", NULL);
    CHECK_INT(get_at(ch, 1000, &c, err), KVSWS_OK);
    CHECK_STR(c.source, "explicit");
    kvi_credentials_free(&c);
    kvi_credential_chain_free(ch);
    unsetenv("AWS_PROFILE");
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");

    /* The implicit "default" may be missing: that is just "no credentials". */
    ch = chain_for(NULL, NULL, NULL, NULL, NULL, NULL);
    CHECK_INT(get_at(ch, 1000, &c, err), KVSWS_E_NO_CREDENTIALS);
    kvi_credential_chain_free(ch);

    /* The files under HOME are found without any option. */
    char *aws = path_of(".aws");
    mkdir(aws, 0700);
    free(aws);
    write_file(".aws/credentials", "[default]\naws_access_key_id = AKIDHOME\n"
                                   "aws_secret_access_key = " SECRET_MARK "HOME\n");
    kvi_profile_paths p;
    CHECK_INT(kvi_profile_paths_resolve(NULL, NULL, NULL, &p), 0);
    ch = kvi_credential_chain_new(NULL, NULL, NULL, &p);
    kvi_profile_paths_free(&p);
    CHECK_INT(get_at(ch, 1000, &c, err), KVSWS_OK);
    CHECK_STR(c.access_key_id, "AKIDHOME");
    kvi_credentials_free(&c);
    kvi_credential_chain_free(ch);
    remove_file(".aws/credentials");
}

/* The helper script: counts its runs, prints out.json, optional stderr.txt and exitcode. */
static const char PROC_SH[] = "#!/bin/sh\n"
                              "d=$(dirname \"$0\")\n"
                              "n=$(cat \"$d/count\" 2>/dev/null || echo 0)\n"
                              "echo $((n + 1)) > \"$d/count\"\n"
                              "cat \"$d/out.json\"\n"
                              "[ -e \"$d/stderr.txt\" ] && cat \"$d/stderr.txt\" >&2\n"
                              "code=0\n"
                              "[ -e \"$d/exitcode\" ] && code=$(cat \"$d/exitcode\")\n"
                              "exit $code\n";

static void set_process_output(const char *json, const char *stderr_text, int exitcode)
{
    write_file("out.json", json);
    if (stderr_text)
        write_file("stderr.txt", stderr_text);
    else
        remove_file("stderr.txt");
    if (exitcode) {
        char code[16];
        snprintf(code, sizeof code, "%d\n", exitcode);
        write_file("exitcode", code);
    } else {
        remove_file("exitcode");
    }
    remove_file("count");
}

#define GOOD_JSON                                                                              \
    "{\"Version\": 1, \"AccessKeyId\": \"AKIDPROC\", \"SecretAccessKey\": \"" SECRET_MARK      \
    "PROC\", \"SessionToken\": \"TOK" SECRET_MARK "\", \"Expiration\": \"2030-01-01T00:00:00Z\"}"

static void test_process_chain(kvsws_error *err)
{
    reset_env();
    kvi_credentials c;
    write_script("proc.sh", PROC_SH);
    char *script = path_of("proc.sh");
    char *config = NULL;
    if (asprintf(&config,
                 "[default]\n"
                 "credential_process = %s\n"
                 "aws_access_key_id = AKIDCONFIGLOSES\n"
                 "aws_secret_access_key = " SECRET_MARK "CONFIG\n"
                 "[profile static]\n"
                 "credential_process = %s --never-run\n"
                 "[profile noexp]\n"
                 "credential_process = %s\n",
                 script, script, script) < 0)
        abort();
    write_file("config", config);
    free(config);
    write_file("creds", "[static]\naws_access_key_id = AKIDSTATIC\n"
                        "aws_secret_access_key = " SECRET_MARK "STATIC\n");
    set_process_output(GOOD_JSON, NULL, 0);

    /* credential_process beats the config file's keys (botocore's order). */
    kvi_credential_chain *ch = chain_for("config", "creds", NULL, NULL, NULL, NULL);
    CHECK_INT(get_at(ch, EXPIRY_2030 - 3600, &c, err), KVSWS_OK);
    CHECK_STR(c.access_key_id, "AKIDPROC");
    CHECK_STR(c.secret_access_key, SECRET_MARK "PROC");
    CHECK_STR(c.session_token, "TOK" SECRET_MARK);
    CHECK_STR(c.source, "credential_process");
    CHECK_INT(c.expiration, EXPIRY_2030);
    kvi_credentials_free(&c);
    CHECK_INT(read_count(), 1);

    /* Cached while far from expiry. */
    CHECK_INT(get_at(ch, EXPIRY_2030 - 3600, &c, err), KVSWS_OK);
    kvi_credentials_free(&c);
    CHECK_INT(get_at(ch, EXPIRY_2030 - 301, &c, err), KVSWS_OK);
    kvi_credentials_free(&c);
    CHECK_INT(read_count(), 1);

    /* Within the margin: the process runs again. */
    CHECK_INT(get_at(ch, EXPIRY_2030 - 300, &c, err), KVSWS_OK);
    CHECK_STR(c.access_key_id, "AKIDPROC");
    kvi_credentials_free(&c);
    CHECK_INT(read_count(), 2);

    /* A failed refresh keeps credentials that have not expired yet ... */
    write_file("exitcode", "9\n");
    CHECK_INT(get_at(ch, EXPIRY_2030 - 10, &c, err), KVSWS_OK);
    CHECK_STR(c.access_key_id, "AKIDPROC");
    CHECK_INT(kvsws_error_status(err), KVSWS_OK);
    kvi_credentials_free(&c);
    CHECK_INT(read_count(), 3);
    /* ... but not expired ones. */
    CHECK_INT(get_at(ch, EXPIRY_2030 + 1, &c, err), KVSWS_E_CREDENTIAL_RETRIEVAL);
    CHECK(contains(kvsws_error_message(err), "status 9"));
    CHECK(c.access_key_id == NULL);
    CHECK_INT(read_count(), 4);
    /* And it recovers when the helper does. */
    remove_file("exitcode");
    CHECK_INT(get_at(ch, EXPIRY_2030 - 3600, &c, err), KVSWS_OK);
    kvi_credentials_free(&c);
    CHECK_INT(read_count(), 5);
    kvi_credential_chain_free(ch);

    /* The credentials file's keys beat credential_process. */
    ch = chain_for("config", "creds", "static", NULL, NULL, NULL);
    CHECK_INT(get_at(ch, 1000, &c, err), KVSWS_OK);
    CHECK_STR(c.access_key_id, "AKIDSTATIC");
    kvi_credentials_free(&c);
    kvi_credential_chain_free(ch);
    CHECK_INT(read_count(), 5); /* not run */

    /* Without Expiration the credentials never expire: one run only. */
    set_process_output("{\"Version\": 1, \"AccessKeyId\": \"AKIDNOEXP\", \"SecretAccessKey\": "
                       "\"" SECRET_MARK "N\", \"SessionToken\": null}",
                       NULL, 0);
    ch = chain_for("config", "creds", "noexp", NULL, NULL, NULL);
    CHECK_INT(get_at(ch, 1000, &c, err), KVSWS_OK);
    CHECK_STR(c.access_key_id, "AKIDNOEXP");
    CHECK(c.session_token == NULL);
    CHECK_INT(c.expiration, 0);
    kvi_credentials_free(&c);
    CHECK_INT(get_at(ch, LATE_2037, &c, err), KVSWS_OK);
    kvi_credentials_free(&c);
    CHECK_INT(read_count(), 1);

    /* A failing process: the message names credential_process, the profile, the status and
     * stderr's first line, never stdout (which here holds a secret). */
    kvi_credential_chain_free(ch);
    set_process_output(GOOD_JSON, "\nboom: the helper broke\nsecond line\n", 3);
    ch = chain_for("config", "creds", "noexp", NULL, NULL, NULL);
    CHECK_INT(get_at(ch, 1000, &c, err), KVSWS_E_CREDENTIAL_RETRIEVAL);
    const char *m = kvsws_error_message(err);
    CHECK(contains(m, "credential_process"));
    CHECK(contains(m, "profile noexp"));
    CHECK(contains(m, "status 3"));
    CHECK(contains(m, "boom: the helper broke"));
    CHECK(strstr(m, "second line") == NULL);
    CHECK(strstr(m, "AKIDPROC") == NULL);
    CHECK_STR(kvsws_error_code(err), "CredentialRetrievalError");
    kvi_credential_chain_free(ch);
    free(script);
}

/* kvi_credential_process_run on the helper with the given output; returns the status. */
static kvsws_status run_with(const char *json, kvi_credentials *c, kvsws_error *err)
{
    set_process_output(json, NULL, 0);
    char *script = path_of("proc.sh");
    kvi_error_clear(err);
    kvsws_status st = kvi_credential_process_run(script, "p1", 10000, c, err);
    free(script);
    CHECK(strstr(kvsws_error_message(err), SECRET_MARK) == NULL);
    return st;
}

static void check_expiration(const char *iso, time_t want, kvsws_error *err, int line)
{
    char json[512];
    snprintf(json, sizeof json,
             "{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"" SECRET_MARK
             "\",\"Expiration\":\"%s\"}",
             iso);
    kvi_credentials c;
    kvsws_status st = run_with(json, &c, err);
    if (want < 0) {
        if (st == KVSWS_E_CREDENTIAL_RETRIEVAL &&
            strstr(kvsws_error_message(err), "Expiration")) {
            check_passed++;
        } else {
            check_failed++;
            fprintf(stderr, "%s:%d: %s accepted\n", __FILE__, line, iso);
        }
    } else if (st == KVSWS_OK && c.expiration == want) {
        check_passed++;
    } else {
        check_failed++;
        fprintf(stderr, "%s:%d: %s -> st %d, %lld (want %lld): %s\n", __FILE__, line, iso, st,
                (long long)c.expiration, (long long)want, kvsws_error_message(err));
    }
    kvi_credentials_free(&c);
}

static void test_process_output(kvsws_error *err)
{
    reset_env();
    kvi_credentials c;
    write_script("proc.sh", PROC_SH);

    CHECK_INT(run_with(GOOD_JSON, &c, err), KVSWS_OK);
    CHECK_STR(c.access_key_id, "AKIDPROC");
    kvi_credentials_free(&c);

    /* Not JSON, or cut short: the output is never quoted. */
    CHECK_INT(run_with("{\"Version\": 1, \"SecretAccessKey\": \"" SECRET_MARK "\", ", &c, err),
              KVSWS_E_CREDENTIAL_RETRIEVAL);
    CHECK(contains(kvsws_error_message(err), "JSON"));
    CHECK(contains(kvsws_error_message(err), "profile p1"));
    CHECK_INT(run_with("", &c, err), KVSWS_E_CREDENTIAL_RETRIEVAL);
    CHECK_INT(run_with("[1, 2]", &c, err), KVSWS_E_CREDENTIAL_RETRIEVAL);

    /* Version must be 1. */
    CHECK_INT(run_with("{\"Version\": 2, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"" SECRET_MARK
                       "\"}",
                       &c, err),
              KVSWS_E_CREDENTIAL_RETRIEVAL);
    CHECK(contains(kvsws_error_message(err), "Unsupported version '2'"));
    CHECK_INT(run_with("{\"AccessKeyId\": \"A\", \"SecretAccessKey\": \"" SECRET_MARK "\"}", &c,
                       err),
              KVSWS_E_CREDENTIAL_RETRIEVAL);
    CHECK(contains(kvsws_error_message(err), "<Version key not provided>"));
    CHECK_INT(run_with("{\"Version\": \"1\", \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"x\"}",
                       &c, err),
              KVSWS_E_CREDENTIAL_RETRIEVAL);
    CHECK_INT(run_with("{\"Version\": 1.0, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"x\"}",
                       &c, err),
              KVSWS_OK);
    kvi_credentials_free(&c);

    /* Required keys. */
    CHECK_INT(run_with("{\"Version\": 1, \"SecretAccessKey\": \"" SECRET_MARK "\"}", &c, err),
              KVSWS_E_CREDENTIAL_RETRIEVAL);
    CHECK(contains(kvsws_error_message(err), "Missing required key in response: 'AccessKeyId'"));
    CHECK_INT(run_with("{\"Version\": 1, \"AccessKeyId\": \"A\"}", &c, err),
              KVSWS_E_CREDENTIAL_RETRIEVAL);
    CHECK(contains(kvsws_error_message(err), "'SecretAccessKey'"));
    CHECK_INT(run_with("{\"Version\": 1, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"x\", "
                       "\"SessionToken\": 5}",
                       &c, err),
              KVSWS_E_CREDENTIAL_RETRIEVAL);

    /* Expiration forms. */
    check_expiration("2030-01-01T00:00:00Z", EXPIRY_2030, err, __LINE__);
    check_expiration("2030-01-01T00:00:00.123456Z", EXPIRY_2030, err, __LINE__);
    check_expiration("2030-01-01T02:00:00+02:00", EXPIRY_2030, err, __LINE__);
    check_expiration("2029-12-31T19:00:00-0500", EXPIRY_2030, err, __LINE__);
    check_expiration("2030-01-01 00:00:00", EXPIRY_2030, err, __LINE__);
    check_expiration("2024-02-29T12:00:00Z", (time_t)1709208000, err, __LINE__);
    /* 0 would mean "never expires": the epoch and before are refused. */
    check_expiration("1970-01-01T00:00:00Z", -1, err, __LINE__);
    check_expiration("1970-01-01T00:00:01Z", 1, err, __LINE__);
    check_expiration("1969-12-31T23:59:59Z", -1, err, __LINE__);
    check_expiration("tomorrow", -1, err, __LINE__);
    check_expiration("2030-13-01T00:00:00Z", -1, err, __LINE__);
    check_expiration("2030-01-01T00:00:00Zjunk", -1, err, __LINE__);
    check_expiration("2030-01-01", -1, err, __LINE__);
}

static void test_process_spawn(kvsws_error *err)
{
    reset_env();
    kvi_credentials c;
    memset(&c, 0, sizeof c);

    write_script("proc.sh", PROC_SH);
    set_process_output(GOOD_JSON, NULL, 0);

    /* A hung helper is killed at the timeout. */
    write_script("sleep.sh", "#!/bin/sh\nexec sleep 5\n");
    char *sleeper = path_of("sleep.sh");
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    kvi_error_clear(err);
    CHECK_INT(kvi_credential_process_run(sleeper, "slow", 300, &c, err),
              KVSWS_E_CREDENTIAL_RETRIEVAL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    CHECK(secs < 3.0);
    CHECK(contains(kvsws_error_message(err), "300 ms"));
    CHECK(contains(kvsws_error_message(err), "profile slow"));
    free(sleeper);

    /* A helper that prints too much is stopped. */
    write_script("big.sh", "#!/bin/sh\nhead -c 70000 /dev/zero | tr '\\000' a\n");
    char *big = path_of("big.sh");
    kvi_error_clear(err);
    CHECK_INT(kvi_credential_process_run(big, "p", 10000, &c, err), KVSWS_E_CREDENTIAL_RETRIEVAL);
    CHECK(contains(kvsws_error_message(err), "more than 65536 bytes"));
    free(big);

    /* Lots of stderr does not block the helper (both pipes are drained). */
    write_file("out.json", GOOD_JSON);
    write_script("noisy.sh", "#!/bin/sh\nhead -c 300000 /dev/zero | tr '\\000' e >&2\n"
                             "cat \"$(dirname \"$0\")/out.json\"\n");
    char *noisy = path_of("noisy.sh");
    kvi_error_clear(err);
    CHECK_INT(kvi_credential_process_run(noisy, "p", 10000, &c, err), KVSWS_OK);
    CHECK_STR(c.access_key_id, "AKIDPROC");
    kvi_credentials_free(&c);
    free(noisy);

    /* A host process with its stdio closed: the pipes must not land on fds 0-2. */
    pid_t pid = fork();
    if (pid == 0) {
        close(0);
        close(1);
        close(2);
        kvi_credentials cc;
        kvsws_error *e2 = kvsws_error_new();
        char *script = path_of("proc.sh");
        int ok = kvi_credential_process_run(script, "p", 10000, &cc, e2) == KVSWS_OK &&
                 strcmp(cc.access_key_id, "AKIDPROC") == 0;
        kvi_credentials_free(&cc);
        kvsws_error_free(e2);
        free(script);
        _exit(ok ? 0 : 1);
    }
    int wstatus = -1;
    waitpid(pid, &wstatus, 0);
    CHECK(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0);

    /* A missing program. */
    kvi_error_clear(err);
    CHECK_INT(kvi_credential_process_run("/nonexistent/kvsws-helper --x", "p", 1000, &c, err),
              KVSWS_E_CREDENTIAL_RETRIEVAL);
    /* glibc reports the exec failure itself; other spawn implementations exit 127. */
    CHECK(strstr(kvsws_error_message(err), "cannot run \"/nonexistent/kvsws-helper\"") ||
          strstr(kvsws_error_message(err), "status 127 (command not found?)"));
    kvi_error_clear(err);
    CHECK_INT(kvi_credential_process_run("kvsws-no-such-helper-on-path", "p", 1000, &c, err),
              KVSWS_E_CREDENTIAL_RETRIEVAL);

    /* Bad command lines. */
    kvi_error_clear(err);
    CHECK_INT(kvi_credential_process_run("helper 'unclosed", "p", 1000, &c, err),
              KVSWS_E_CREDENTIAL_RETRIEVAL);
    CHECK(contains(kvsws_error_message(err), "No closing quotation"));
    kvi_error_clear(err);
    CHECK_INT(kvi_credential_process_run("   ", "p", 1000, &c, err),
              KVSWS_E_CREDENTIAL_RETRIEVAL);
    CHECK(contains(kvsws_error_message(err), "empty"));

    /* No shell: quotes and backslashes split like botocore's shlex, a path with a space,
     * and shell syntax reaches the program as plain arguments. */
    char *dir = path_of("with space");
    mkdir(dir, 0700);
    write_script("with space/args.sh",
                 "#!/bin/sh\n"
                 "printf '%s\\n' \"$@\" > \"$(dirname \"$0\")/args.out\"\n"
                 "printf '{\"Version\":1,\"AccessKeyId\":\"AK\",\"SecretAccessKey\":\"S\"}'\n");
    char *cmd = NULL;
    if (asprintf(&cmd, "'%s/args.sh' \"a b\" c\\ d '$HOME' ';' '|' \"\" x\\\"y", dir) < 0)
        abort();
    kvi_error_clear(err);
    CHECK_INT(kvi_credential_process_run(cmd, "p", 10000, &c, err), KVSWS_OK);
    kvi_credentials_free(&c);
    char *argsfile = path_of("with space/args.out");
    FILE *f = fopen(argsfile, "r");
    char got[256] = "";
    if (f) {
        size_t n = fread(got, 1, sizeof got - 1, f);
        got[n] = '\0';
        fclose(f);
    }
    CHECK_STR(got, "a b\nc d\n$HOME\n;\n|\n\nx\"y\n");
    free(argsfile);
    free(cmd);
    free(dir);
}

/* Many threads share one chain: the helper runs once. */
static void *getter(void *arg)
{
    kvi_credential_chain *ch = arg;
    kvsws_error *err = kvsws_error_new();
    intptr_t bad = 0;
    for (int i = 0; i < 50; i++) {
        kvi_credentials c;
        if (kvi_credential_chain_get(ch, EXPIRY_2030 - 3600, 300, &c, err) != KVSWS_OK ||
            strcmp(c.access_key_id, "AKIDPROC") != 0)
            bad++;
        kvi_credentials_free(&c);
    }
    kvsws_error_free(err);
    return (void *)bad;
}

static void test_threads(void)
{
    reset_env();
    write_script("proc.sh", PROC_SH);
    char *script = path_of("proc.sh"), *config = NULL;
    if (asprintf(&config, "[default]\ncredential_process = %s\n", script) < 0)
        abort();
    write_file("config", config);
    set_process_output(GOOD_JSON, NULL, 0);
    kvi_credential_chain *ch = chain_for("config", NULL, NULL, NULL, NULL, NULL);
    pthread_t t[8];
    for (int i = 0; i < 8; i++)
        pthread_create(&t[i], NULL, getter, ch);
    intptr_t bad = 0;
    for (int i = 0; i < 8; i++) {
        void *r;
        pthread_join(t[i], &r);
        bad += (intptr_t)r;
    }
    CHECK_INT(bad, 0);
    CHECK_INT(read_count(), 1);
    kvi_credential_chain_free(ch);
    free(script);
    free(config);
}

static char *region_for(const char *option, const char *config, const char *creds,
                        const char *profile, kvsws_error *err)
{
    kvi_profile_paths p = scratch_paths(config, creds, profile);
    kvi_error_clear(err);
    char *r = kvi_region_resolve(option, &p, err);
    kvi_profile_paths_free(&p);
    return r;
}

static void test_region(kvsws_error *err)
{
    reset_env();
    write_file("config", "[default]\nregion = eu-west-1\n"
                         "[profile bad]\nregion = Eu-West-1 # comment\n"
                         "[profile both]\nregion = ap-south-1\n"
                         "[profile none]\noutput = json\n");
    write_file("creds", "[both]\nregion = us-east-2\n");

    char *r = region_for(NULL, "config", "creds", NULL, err);
    CHECK_STR(r, "eu-west-1");
    free(r);
    r = region_for(NULL, "config", "creds", "both", err);
    CHECK_STR(r, "us-east-2"); /* the credentials file wins, as the merged profile in botocore */
    free(r);
    setenv("AWS_DEFAULT_REGION", "us-west-1", 1);
    r = region_for(NULL, "config", "creds", NULL, err);
    CHECK_STR(r, "us-west-1");
    free(r);
    setenv("AWS_REGION", "us-west-2", 1);
    r = region_for(NULL, "config", "creds", NULL, err);
    CHECK_STR(r, "us-west-2");
    free(r);
    r = region_for("cn-north-1", "config", "creds", NULL, err);
    CHECK_STR(r, "cn-north-1");
    free(r);
    setenv("AWS_REGION", "", 1); /* empty is unset */
    r = region_for(NULL, "config", "creds", NULL, err);
    CHECK_STR(r, "us-west-1");
    free(r);

    /* Validation names where the bad value came from. */
    setenv("AWS_REGION", "US-EAST-1", 1);
    r = region_for(NULL, "config", "creds", NULL, err);
    CHECK(r == NULL);
    CHECK_INT(kvsws_error_status(err), KVSWS_E_PARAM_VALIDATION);
    CHECK(contains(kvsws_error_message(err), "\"US-EAST-1\" from AWS_REGION"));
    r = region_for("us-east-1; rm -rf /", "config", "creds", NULL, err);
    CHECK(r == NULL);
    CHECK(contains(kvsws_error_message(err), "from the region option"));
    char long_region[70];
    memset(long_region, 'a', 65);
    long_region[65] = '\0';
    r = region_for(long_region, "config", "creds", NULL, err);
    CHECK(r == NULL);
    CHECK_INT(kvsws_error_status(err), KVSWS_E_PARAM_VALIDATION);
    long_region[64] = '\0';
    r = region_for(long_region, "config", "creds", NULL, err);
    CHECK_STR(r, long_region);
    free(r);
    unsetenv("AWS_REGION");
    unsetenv("AWS_DEFAULT_REGION");
    r = region_for(NULL, "config", "creds", "bad", err);
    CHECK(r == NULL);
    char *cfg = path_of("config");
    CHECK(contains(kvsws_error_message(err), "\"Eu-West-1 # comment\""));
    CHECK(contains(kvsws_error_message(err), "profile bad"));
    CHECK(contains(kvsws_error_message(err), cfg));
    setenv("AWS_REGION", "\x01\n", 1); /* control characters are escaped in the message */
    r = region_for(NULL, "config", "creds", NULL, err);
    CHECK(r == NULL);
    CHECK(contains(kvsws_error_message(err), "\\x01\\x0a"));
    unsetenv("AWS_REGION");

    /* None anywhere. */
    r = region_for(NULL, "config", "creds", "none", err);
    CHECK(r == NULL);
    CHECK_INT(kvsws_error_status(err), KVSWS_E_NO_REGION);
    const char *m = kvsws_error_message(err);
    CHECK(contains(m, "You must specify a region"));
    CHECK(contains(m, "AWS_REGION"));
    CHECK(contains(m, "AWS_DEFAULT_REGION"));
    CHECK(contains(m, "profile none"));
    CHECK(contains(m, cfg));
    CHECK_STR(kvsws_error_code(err), "NoRegionError");
    r = region_for(NULL, NULL, NULL, NULL, err);
    CHECK(r == NULL);
    CHECK_INT(kvsws_error_status(err), KVSWS_E_NO_REGION);
    free(cfg);

    /* A named profile that does not exist, even when the region comes from elsewhere. */
    r = region_for("us-east-1", "config", "creds", "nosuch", err);
    CHECK(r == NULL);
    CHECK_INT(kvsws_error_status(err), KVSWS_E_CONFIG);
    CHECK(contains(kvsws_error_message(err), "The config profile (nosuch) could not be found"));
    setenv("AWS_PROFILE", "both", 1);
    r = region_for(NULL, "config", "creds", NULL, err);
    CHECK_STR(r, "us-east-2");
    free(r);
}

int main(void)
{
    if (scratch_create("creds") != 0)
        return 1;
    kvsws_error *err = kvsws_error_new();
    test_explicit_and_env(err);
    test_files(err);
    test_process_chain(err);
    test_process_output(err);
    test_process_spawn(err);
    test_threads();
    test_region(err);
    kvsws_error_free(err);
    scratch_remove();
    return CHECK_DONE();
}
