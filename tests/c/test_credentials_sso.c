/* SPDX-License-Identifier: Apache-2.0 */
/* test_credentials_sso.c - IAM Identity Center: the profile and sso-session settings, where the
 * AWS CLI's token cache file is, reading the token, and the chain's choice of provider. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "check.h"
#include "credentials/credentials.h"
#include "credentials/sso.h"
#include "credentials/chain.h"
#include "env_support.h"
#include "base/error.h"

#define SECRET_MARK "SUPERSECRET"
#define START_URL "https://my-sso-portal.awsapps.com/start"
/* sha1("my-sso") and sha1(START_URL), as hashlib computes them. */
#define SESSION_SHA1 "0ad374308c5a4e22f723adf10145eafad7c4031c"
#define START_URL_SHA1 "c7aaaf71fcc8777ae2475525ed049d39fe16c484"

static const char *const CONFIG =
    "[profile new]\n"
    "sso_session = my-sso\n"
    "sso_account_id = 111122223333\n"
    "sso_role_name = KvsRole\n"
    "region = us-west-2\n"
    "[sso-session my-sso]\n"
    "sso_start_url = " START_URL "\n"
    "sso_region = eu-west-1\n"
    "sso_registration_scopes = sso:account:access\n"
    "[profile legacy]\n"
    "sso_start_url = " START_URL "\n"
    "sso_region = us-east-1\n"
    "sso_account_id = 111122223333\n"
    "sso_role_name = LegacyRole\n"
    "[profile half]\n"
    "sso_account_id = 111122223333\n"
    "[profile ghost]\n"
    "sso_session = nowhere\n"
    "sso_account_id = 111122223333\n"
    "sso_role_name = R\n"
    "[profile clash]\n"
    "sso_session = my-sso\n"
    "sso_start_url = https://other.awsapps.com/start\n"
    "sso_account_id = 111122223333\n"
    "sso_role_name = R\n"
    "[profile same]\n"
    "sso_session = my-sso\n"
    "sso_region = eu-west-1\n"
    "sso_account_id = 111122223333\n"
    "sso_role_name = R\n"
    "[profile plain]\n"
    "region = us-west-2\n";

static void test_config(kvsws_error *err)
{
    reset_env();
    write_file("config", CONFIG);
    kvi_profile_paths p = scratch_paths("config", "creds", NULL);
    kvi_sso_config c;
    int found = -1;
    CHECK_INT(kvi_sso_config_load(&p, "new", &c, &found, err), KVSWS_OK);
    CHECK_INT(found, 1);
    CHECK_STR(c.session, "my-sso");
    CHECK_STR(c.start_url, START_URL);
    CHECK_STR(c.region, "eu-west-1"); /* the session's, not the profile's region */
    CHECK_STR(c.account_id, "111122223333");
    CHECK_STR(c.role_name, "KvsRole");
    kvi_sso_config_free(&c);

    CHECK_INT(kvi_sso_config_load(&p, "legacy", &c, &found, err), KVSWS_OK);
    CHECK(c.session == NULL);
    CHECK_STR(c.region, "us-east-1");
    CHECK_STR(c.role_name, "LegacyRole");
    kvi_sso_config_free(&c);

    CHECK_INT(kvi_sso_config_load(&p, "same", &c, &found, err), KVSWS_OK);
    kvi_sso_config_free(&c);

    CHECK_INT(kvi_sso_config_load(&p, "plain", &c, &found, err), KVSWS_OK);
    CHECK_INT(found, 0);

    CHECK_INT(kvi_sso_config_load(&p, "half", &c, &found, err), KVSWS_E_CONFIG);
    CHECK(contains(kvsws_error_message(err), "The profile \"half\" is configured to use SSO but "
                                             "is missing required configuration: sso_role_name, "
                                             "sso_start_url, sso_region"));
    CHECK_INT(kvi_sso_config_load(&p, "ghost", &c, &found, err), KVSWS_E_CONFIG);
    CHECK(contains(kvsws_error_message(err), "The specified sso-session does not exist: "
                                             "\"nowhere\""));
    CHECK_INT(kvi_sso_config_load(&p, "clash", &c, &found, err), KVSWS_E_CONFIG);
    CHECK(contains(kvsws_error_message(err), "The value for sso_start_url is inconsistent between "
                                             "profile (https://other.awsapps.com/start) and "
                                             "sso-session (" START_URL ")"));
    kvi_profile_paths_free(&p);
}

static void test_cache_path(void)
{
    reset_env();
    char *want = NULL;
    if (asprintf(&want, "%s/.aws/sso/cache/" SESSION_SHA1 ".json", scratch_dir) < 0)
        abort();
    char *got = kvi_sso_cache_path("my-sso", START_URL);
    CHECK_STR(got, want);
    free(got);
    free(want);
    got = kvi_sso_cache_path(NULL, START_URL);
    CHECK(contains(got, "/.aws/sso/cache/" START_URL_SHA1 ".json"));
    free(got);
    setenv("HOME", "/", 1);
    got = kvi_sso_cache_path("my-sso", NULL);
    CHECK_STR(got, "/.aws/sso/cache/" SESSION_SHA1 ".json");
    free(got);
    CHECK(kvi_sso_cache_path(NULL, NULL) == NULL);
}

static void write_token(const char *sha1, const char *json)
{
    char *dir = path_of(".aws");
    mkdir(dir, 0700);
    free(dir);
    dir = path_of(".aws/sso");
    mkdir(dir, 0700);
    free(dir);
    dir = path_of(".aws/sso/cache");
    mkdir(dir, 0700);
    free(dir);
    char name[128];
    snprintf(name, sizeof name, ".aws/sso/cache/%s.json", sha1);
    write_file(name, json);
}

static void test_token(kvsws_error *err)
{
    reset_env();
    kvi_sso_config c = {START_URL, "eu-west-1", "111122223333", "KvsRole", "my-sso"};
    char *tok = NULL;
    time_t now = 1893456000 - 3600; /* an hour before 2030-01-01 */
    CHECK_INT(kvi_sso_token_load(&c, "new", now, &tok, err), KVSWS_E_CREDENTIAL_RETRIEVAL);
    CHECK(contains(kvsws_error_message(err), "Error loading SSO Token: Token for my-sso does not "
                                             "exist"));
    CHECK(contains(kvsws_error_message(err), SESSION_SHA1 ".json"));
    CHECK(contains(kvsws_error_message(err), "run: aws sso login --profile new"));

    write_token(SESSION_SHA1, "{\"startUrl\": \"" START_URL "\", \"region\": \"eu-west-1\", "
                              "\"accessToken\": \"" SECRET_MARK "-sso-token\", "
                              "\"expiresAt\": \"2030-01-01T00:00:00Z\"}");
    CHECK_INT(kvi_sso_token_load(&c, "new", now, &tok, err), KVSWS_OK);
    CHECK_STR(tok, SECRET_MARK "-sso-token");
    kvi_free_secret(tok);
    /* Expired: say so, and how to log in again; never quote the token. */
    CHECK_INT(kvi_sso_token_load(&c, "new", 1893456000, &tok, err), KVSWS_E_CREDENTIAL_RETRIEVAL);
    CHECK(contains(kvsws_error_message(err), "expired at 2030-01-01T00:00:00Z"));
    CHECK(contains(kvsws_error_message(err), "aws sso login --profile new"));
    CHECK(strstr(kvsws_error_message(err), SECRET_MARK) == NULL);

    /* The legacy form is keyed on the start URL; the CLI's older "UTC" suffix is understood. */
    c.session = NULL;
    write_token(START_URL_SHA1, "{\"accessToken\": \"" SECRET_MARK "-legacy\", "
                                "\"expiresAt\": \"2030-01-01T00:00:00UTC\"}");
    CHECK_INT(kvi_sso_token_load(&c, "legacy", now, &tok, err), KVSWS_OK);
    CHECK_STR(tok, SECRET_MARK "-legacy");
    kvi_free_secret(tok);
    write_token(START_URL_SHA1, "{\"accessToken\": \"" SECRET_MARK "\"}");
    CHECK_INT(kvi_sso_token_load(&c, "legacy", now, &tok, err), KVSWS_E_CREDENTIAL_RETRIEVAL);
    CHECK(contains(kvsws_error_message(err), "Token for " START_URL " is invalid"));
    write_token(START_URL_SHA1, "not json " SECRET_MARK);
    CHECK_INT(kvi_sso_token_load(&c, "legacy", now, &tok, err), KVSWS_E_CREDENTIAL_RETRIEVAL);
    CHECK(strstr(kvsws_error_message(err), SECRET_MARK) == NULL);
}

static void test_chain(kvsws_error *err)
{
    reset_env();
    write_file("config", CONFIG);
    write_file("creds", "[legacy]\naws_access_key_id = AKIDFILE\n"
                        "aws_secret_access_key = " SECRET_MARK "\n");
    kvi_credentials out;
    /* SSO comes before the credentials file's keys, as in botocore: its token is missing. */
    kvi_profile_paths p = scratch_paths("config", "creds", "legacy");
    kvi_credential_chain *ch = kvi_credential_chain_new(NULL, NULL, NULL, &p);
    CHECK_INT(kvi_credential_chain_get(ch, time(NULL), 300, &out, err),
              KVSWS_E_CREDENTIAL_RETRIEVAL);
    CHECK(contains(kvsws_error_message(err), "Error when retrieving credentials from sso (profile "
                                             "legacy)"));
    kvi_credential_chain_free(ch);
    kvi_profile_paths_free(&p);
    /* A settings error comes first, before any file or network. */
    p = scratch_paths("config", "creds", "half");
    ch = kvi_credential_chain_new(NULL, NULL, NULL, &p);
    CHECK_INT(kvi_credential_chain_get(ch, time(NULL), 300, &out, err), KVSWS_E_CONFIG);
    kvi_credential_chain_free(ch);
    kvi_profile_paths_free(&p);
}

/* GetRoleCredentials' answer: the expiration is epoch milliseconds; under a second would
 * truncate to 0, which means "never expires" (found by fuzz_credentials_json). */
static void test_role_credentials(void)
{
    static const char *const answers[] = {
        "{\"roleCredentials\":{\"accessKeyId\":\"A\",\"secretAccessKey\":\"s\","
        "\"sessionToken\":\"t\",\"expiration\":1893456000000}}",
        "{\"roleCredentials\":{\"accessKeyId\":\"A\",\"secretAccessKey\":\"s\","
        "\"sessionToken\":\"t\",\"expiration\":13}}",
        "{\"roleCredentials\":{\"accessKeyId\":\"A\",\"secretAccessKey\":\"s\","
        "\"sessionToken\":\"t\",\"expiration\":0.5}}",
    };
    for (size_t i = 0; i < sizeof answers / sizeof *answers; i++) {
        kvi_buf body = KVI_BUF_INIT;
        kvi_buf_puts(&body, answers[i]);
        kvi_credentials c;
        memset(&c, 0, sizeof c);
        const char *why = kvi_sso_role_credentials_parse(&body, &c);
        if (i == 0) {
            CHECK(why == NULL);
            CHECK_INT((long long)c.expiration, 1893456000LL);
        } else {
            CHECK(why && strstr(why, "epoch milliseconds"));
        }
        kvi_credentials_free(&c);
        kvi_buf_free(&body);
    }
}

int main(void)
{
    if (scratch_create("sso") != 0)
        return 1;
    kvsws_error *err = kvsws_error_new();
    test_config(err);
    test_cache_path();
    test_token(err);
    test_chain(err);
    test_role_credentials();
    kvsws_error_free(err);
    scratch_remove();
    return CHECK_DONE();
}
