/* SPDX-License-Identifier: Apache-2.0 */
/* test_credentials_role.c - assume-role and web identity: reading the profiles (source_profile
 * chains, loops, credential_source, the settings), which provider the chain picks, what STS
 * answers mean, and where the STS endpoint is. Calls that would reach STS go to a closed
 * loopback port: the error then shows which provider, profile and role got that far. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "credentials/credentials.h"
#include "credentials/fetch.h"
#include "credentials/assume_role.h"
#include "credentials/sts.h"
#include "credentials/chain.h"
#include "aws/endpoints.h"
#include "env_support.h"
#include "base/error.h"

#define SECRET_MARK "SUPERSECRET"
/* Nothing listens there: a call that gets that far fails at once, on loopback. */
#define CLOSED_STS "https://127.0.0.1:1"

static kvi_credential_chain *chain_for(const char *profile)
{
    kvi_profile_paths p = scratch_paths("config", "creds", profile);
    kvi_credential_chain *ch = kvi_credential_chain_new(NULL, NULL, NULL, &p);
    kvi_profile_paths_free(&p);
    if (!ch)
        abort();
    return ch;
}

/* Resolves once; the message never carries a secret or the web identity token. */
static kvsws_status resolve(const char *profile, kvi_credentials *out, kvsws_error *err)
{
    kvi_credential_chain *ch = chain_for(profile);
    kvi_error_clear(err);
    kvsws_status st = kvi_credential_chain_get(ch, time(NULL), 300, out, err);
    CHECK(strstr(kvsws_error_message(err), SECRET_MARK) == NULL);
    kvi_credential_chain_free(ch);
    return st;
}

static void fresh(void)
{
    reset_env();
    setenv("AWS_ENDPOINT_URL_STS", CLOSED_STS, 1);
    setenv("AWS_REGION", "us-west-2", 1);
    write_file("creds", "");
    write_file("config", "");
}

static void test_role_config(kvsws_error *err)
{
    fresh();
    write_file("config", "[profile full]\n"
                         "role_arn = arn:aws:iam::123456789012:role/r\n"
                         "source_profile = base\n"
                         "external_id = ext-1\n"
                         "role_session_name = my-session\n"
                         "duration_seconds = 900\n"
                         "[profile base]\n"
                         "aws_access_key_id = AKIDBASE\n"
                         "aws_secret_access_key = " SECRET_MARK "\n"
                         "[profile both]\n"
                         "role_arn = arn:aws:iam::123456789012:role/r\n"
                         "source_profile = base\n"
                         "credential_source = Environment\n"
                         "[profile neither]\n"
                         "role_arn = arn:aws:iam::123456789012:role/r\n"
                         "[profile badsource]\n"
                         "role_arn = arn:aws:iam::123456789012:role/r\n"
                         "credential_source = environment\n"
                         "[profile nosuch]\n"
                         "role_arn = arn:aws:iam::123456789012:role/r\n"
                         "source_profile = ghost\n"
                         "[profile mfa]\n"
                         "role_arn = arn:aws:iam::123456789012:role/r\n"
                         "source_profile = base\n"
                         "mfa_serial = arn:aws:iam::123456789012:mfa/me\n"
                         "[profile baddur]\n"
                         "role_arn = arn:aws:iam::123456789012:role/r\n"
                         "source_profile = base\n"
                         "duration_seconds = 1h\n"
                         "[profile web]\n"
                         "role_arn = arn:aws:iam::123456789012:role/r\n"
                         "web_identity_token_file = /tmp/t\n");
    kvi_profile_paths p = scratch_paths("config", "creds", NULL);
    kvi_role_config c;
    CHECK_INT(kvi_role_config_load(&p, "full", &c, err), KVSWS_OK);
    CHECK_STR(c.role_arn, "arn:aws:iam::123456789012:role/r");
    CHECK_STR(c.source_profile, "base");
    CHECK(c.credential_source == NULL);
    CHECK_STR(c.external_id, "ext-1");
    CHECK_STR(c.session_name, "my-session");
    CHECK_INT(c.duration_seconds, 900);
    kvi_role_config_free(&c);

    CHECK(kvi_role_profile_assumes(&p, "full"));
    CHECK(!kvi_role_profile_assumes(&p, "base"));
    CHECK(!kvi_role_profile_assumes(&p, "web")); /* that one is web identity's */

    CHECK_INT(kvi_role_config_load(&p, "both", &c, err), KVSWS_E_CONFIG);
    CHECK(contains(kvsws_error_message(err),
                   "The profile \"both\" contains both source_profile and credential_source."));
    CHECK_INT(kvi_role_config_load(&p, "neither", &c, err), KVSWS_E_CONFIG);
    CHECK(contains(kvsws_error_message(err),
                   "Partial credentials found in assume-role, missing: source_profile or "
                   "credential_source"));
    CHECK_INT(kvi_role_config_load(&p, "badsource", &c, err), KVSWS_E_CONFIG);
    CHECK(contains(kvsws_error_message(err), "The credential source \"environment\" referenced "
                                             "in profile \"badsource\" is not valid"));
    CHECK_INT(kvi_role_config_load(&p, "nosuch", &c, err), KVSWS_E_CONFIG);
    CHECK(contains(kvsws_error_message(err), "The source_profile \"ghost\" referenced in the "
                                             "profile \"nosuch\" does not exist"));
    CHECK_INT(kvi_role_config_load(&p, "mfa", &c, err), KVSWS_E_CONFIG);
    CHECK(contains(kvsws_error_message(err), "not supported: it needs an MFA token prompt"));
    CHECK_INT(kvi_role_config_load(&p, "baddur", &c, err), KVSWS_E_CONFIG);
    CHECK(contains(kvsws_error_message(err), "duration_seconds"));
    kvi_profile_paths_free(&p);

    /* Through the chain: a settings error comes before any network I/O. */
    kvi_credentials out;
    CHECK_INT(resolve("mfa", &out, err), KVSWS_E_CONFIG);
    CHECK(contains(kvsws_error_message(err), "MFA"));
}

static void test_loops(kvsws_error *err)
{
    fresh();
    write_file("config", "[profile a]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = b\n"
                         "[profile b]\nrole_arn = arn:aws:iam::1:role/b\nsource_profile = a\n"
                         "[profile self]\nrole_arn = arn:aws:iam::1:role/s\n"
                         "source_profile = self\n"
                         "[profile selfkeys]\nrole_arn = arn:aws:iam::1:role/sk\n"
                         "source_profile = selfkeys\naws_access_key_id = AKIDSELF\n"
                         "aws_secret_access_key = " SECRET_MARK "\n"
                         "[profile x]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = y\n"
                         "[profile y]\nrole_arn = arn:aws:iam::1:role/y\nsource_profile = z\n"
                         "[profile z]\nrole_arn = arn:aws:iam::1:role/z\nsource_profile = y\n"
                         "[profile empty]\nregion = us-east-1\n"
                         "[profile toempty]\nrole_arn = arn:aws:iam::1:role/e\n"
                         "source_profile = empty\n");
    kvi_credentials out;
    CHECK_INT(resolve("a", &out, err), KVSWS_E_CONFIG);
    CHECK(contains(kvsws_error_message(err),
                   "Infinite loop in credential configuration detected. Attempting to load from "
                   "profile a which has already been visited. Visited profiles: ['a', 'b']"));
    CHECK_INT(resolve("self", &out, err), KVSWS_E_CONFIG);
    CHECK(contains(kvsws_error_message(err), "Visited profiles: ['self']"));
    CHECK_INT(resolve("x", &out, err), KVSWS_E_CONFIG);
    CHECK(contains(kvsws_error_message(err),
                   "profile y which has already been visited. Visited profiles: ['x', 'y', "
                   "'z']"));
    /* A profile may name itself to use its own keys: that reaches STS. */
    CHECK_INT(resolve("selfkeys", &out, err), KVSWS_E_CREDENTIAL_RETRIEVAL);
    CHECK(contains(kvsws_error_message(err), "Error when retrieving credentials from assume-role "
                                             "(profile selfkeys, role arn:aws:iam::1:role/sk)"));
    CHECK(contains(kvsws_error_message(err), "127.0.0.1:1"));
    CHECK_INT(resolve("toempty", &out, err), KVSWS_E_CONFIG);
    CHECK(contains(kvsws_error_message(err),
                   "The source profile \"empty\" must have credentials"));

    /* A chain of 20 roles is longer than anyone means. */
    kvi_buf cfg = KVI_BUF_INIT;
    for (int i = 0; i < 20; i++)
        kvi_buf_printf(&cfg, "[profile r%d]\nrole_arn = arn:aws:iam::1:role/r%d\n"
                             "source_profile = r%d\n",
                       i, i, i + 1);
    kvi_buf_puts(&cfg, "[profile r20]\naws_access_key_id = AKID\naws_secret_access_key = s\n");
    write_file("config", kvi_buf_str(&cfg));
    kvi_buf_free(&cfg);
    CHECK_INT(resolve("r0", &out, err), KVSWS_E_CONFIG);
    CHECK(contains(kvsws_error_message(err), "longer than 16 profiles"));
}

static void test_sources(kvsws_error *err)
{
    fresh();
    write_file("creds", "[base]\naws_access_key_id = AKIDBASE\n"
                        "aws_secret_access_key = " SECRET_MARK "\n");
    write_file("config",
               "[profile role]\nrole_arn = arn:aws:iam::123456789012:role/from-base\n"
               "source_profile = base\n"
               "[profile chained]\nrole_arn = arn:aws:iam::123456789012:role/second\n"
               "source_profile = role\n"
               "[profile fromenv]\nrole_arn = arn:aws:iam::123456789012:role/env\n"
               "credential_source = Environment\n"
               "[profile fromecs]\nrole_arn = arn:aws:iam::123456789012:role/ecs\n"
               "credential_source = EcsContainer\n"
               "[profile fromimds]\nrole_arn = arn:aws:iam::123456789012:role/imds\n"
               "credential_source = Ec2InstanceMetadata\n"
               "[profile webbase]\nrole_arn = arn:aws:iam::123456789012:role/web\n"
               "web_identity_token_file = /nonexistent/kvsws-token\n"
               "[profile fromweb]\nrole_arn = arn:aws:iam::123456789012:role/after-web\n"
               "source_profile = webbase\n");
    kvi_credentials out;
    /* The source is resolved first: a chained role fails at the innermost call. */
    CHECK_INT(resolve("chained", &out, err), KVSWS_E_CREDENTIAL_RETRIEVAL);
    CHECK(contains(kvsws_error_message(err), "(profile role, role arn:aws:iam::123456789012:role/"
                                             "from-base)"));
    CHECK_INT(resolve("fromenv", &out, err), KVSWS_E_CREDENTIAL_RETRIEVAL);
    CHECK(contains(kvsws_error_message(err), "Error when retrieving credentials from "
                                             "Environment: No credentials found in "
                                             "credential_source referenced in profile fromenv"));
    CHECK_INT(resolve("fromecs", &out, err), KVSWS_E_CREDENTIAL_RETRIEVAL);
    CHECK(contains(kvsws_error_message(err), "EcsContainer: No credentials found"));
    CHECK_INT(resolve("fromimds", &out, err), KVSWS_E_CREDENTIAL_RETRIEVAL);
    CHECK(contains(kvsws_error_message(err), "AWS_EC2_METADATA_DISABLED"));
    /* A source profile set up for web identity uses it (its token file is missing here). */
    CHECK_INT(resolve("fromweb", &out, err), KVSWS_E_CREDENTIAL_RETRIEVAL);
    CHECK(contains(kvsws_error_message(err), "cannot read the web identity token file "
                                             "/nonexistent/kvsws-token (web_identity_token_file "
                                             "of profile webbase)"));

    /* The environment's keys come before assume-role, unless the profile is an option. */
    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", SECRET_MARK "ENV", 1);
    setenv("AWS_PROFILE", "role", 1);
    CHECK_INT(resolve(NULL, &out, err), KVSWS_OK);
    CHECK_STR(out.access_key_id, "AKIDENV");
    CHECK_STR(out.source, "environment");
    kvi_credentials_free(&out);
    unsetenv("AWS_PROFILE");
    CHECK_INT(resolve("role", &out, err), KVSWS_E_CREDENTIAL_RETRIEVAL);
    CHECK(contains(kvsws_error_message(err), "assume-role (profile role"));
    CHECK_INT(resolve("fromenv", &out, err), KVSWS_E_CREDENTIAL_RETRIEVAL);
    CHECK(contains(kvsws_error_message(err), "assume-role (profile fromenv, role "
                                             "arn:aws:iam::123456789012:role/env)"));
}

static void test_web_identity(kvsws_error *err)
{
    fresh();
    write_file("token", SECRET_MARK "-web-identity-token");
    char *token = path_of("token");
    kvi_credentials out;
    /* From the environment: the token file without a role is a settings error. */
    setenv("AWS_WEB_IDENTITY_TOKEN_FILE", token, 1);
    CHECK_INT(resolve(NULL, &out, err), KVSWS_E_CONFIG);
    CHECK(contains(kvsws_error_message(err), "has no role ARN configured"));
    setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/irsa", 1);
    setenv("AWS_ROLE_SESSION_NAME", "pod-session", 1);
    CHECK_INT(resolve(NULL, &out, err), KVSWS_E_CREDENTIAL_RETRIEVAL);
    CHECK(contains(kvsws_error_message(err), "Error when retrieving credentials from "
                                             "assume-role-with-web-identity (from the "
                                             "environment, role "
                                             "arn:aws:iam::123456789012:role/irsa)"));
    /* A profile named as an option skips the environment's settings, as botocore does. */
    write_file("config", "[profile named]\nregion = us-west-2\n");
    CHECK_INT(resolve("named", &out, err), KVSWS_E_NO_CREDENTIALS);
    unsetenv("AWS_WEB_IDENTITY_TOKEN_FILE");
    unsetenv("AWS_ROLE_ARN");
    unsetenv("AWS_ROLE_SESSION_NAME");

    /* From a profile; a missing token file is named. */
    kvi_buf cfg = KVI_BUF_INIT;
    kvi_buf_printf(&cfg, "[default]\nrole_arn = arn:aws:iam::123456789012:role/web\n"
                         "web_identity_token_file = %s\n"
                         "[profile gone]\nrole_arn = arn:aws:iam::123456789012:role/web\n"
                         "web_identity_token_file = %s.missing\n",
                   token, token);
    write_file("config", kvi_buf_str(&cfg));
    kvi_buf_free(&cfg);
    CHECK_INT(resolve(NULL, &out, err), KVSWS_E_CREDENTIAL_RETRIEVAL);
    CHECK(contains(kvsws_error_message(err), "assume-role-with-web-identity (profile default, "
                                             "role arn:aws:iam::123456789012:role/web)"));
    CHECK_INT(resolve("gone", &out, err), KVSWS_E_CREDENTIAL_RETRIEVAL);
    CHECK(contains(kvsws_error_message(err), ".missing (web_identity_token_file of profile gone)"));
    CHECK(contains(kvsws_error_message(err), "No such file"));
    write_file("token", "");
    CHECK_INT(resolve(NULL, &out, err), KVSWS_E_CREDENTIAL_RETRIEVAL);
    CHECK(contains(kvsws_error_message(err), "it is empty"));
    free(token);
}

static const char *const WEB_OK =
    "<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
    "  <AssumeRoleWithWebIdentityResult>\n"
    "    <SubjectFromWebIdentityToken>system:serviceaccount:ns:sa</SubjectFromWebIdentityToken>\n"
    "    <Audience>sts.amazonaws.com</Audience>\n"
    "    <AssumedRoleUser><Arn>arn:aws:sts::1:assumed-role/r/s</Arn>\n"
    "      <AssumedRoleId>AROA:s</AssumedRoleId></AssumedRoleUser>\n"
    "    <Credentials>\n"
    "      <SessionToken>tok&amp;en</SessionToken>\n"
    "      <SecretAccessKey>se/cret</SecretAccessKey>\n"
    "      <Expiration>2030-01-01T00:00:00Z</Expiration>\n"
    "      <AccessKeyId>ASIAWEB</AccessKeyId>\n"
    "    </Credentials>\n"
    "    <Provider>oidc.eks.us-west-2.amazonaws.com/id/X</Provider>\n"
    "  </AssumeRoleWithWebIdentityResult>\n"
    "  <ResponseMetadata><RequestId>rid-1</RequestId></ResponseMetadata>\n"
    "</AssumeRoleWithWebIdentityResponse>\n";

static void test_sts_answers(void)
{
    kvi_credentials c;
    const char *why = kvi_sts_parse_credentials("AssumeRoleWithWebIdentity", WEB_OK,
                                                strlen(WEB_OK), "assume-role-with-web-identity",
                                                &c);
    CHECK(why == NULL);
    CHECK_STR(c.access_key_id, "ASIAWEB");
    CHECK_STR(c.secret_access_key, "se/cret");
    CHECK_STR(c.session_token, "tok&en");
    CHECK_INT(c.expiration, 1893456000);
    CHECK_STR(c.source, "assume-role-with-web-identity");
    kvi_credentials_free(&c);
    /* The wrong action's elements are not there. */
    why = kvi_sts_parse_credentials("AssumeRole", WEB_OK, strlen(WEB_OK), "assume-role", &c);
    CHECK_STR(why, "the answer has no Credentials/AccessKeyId");
    const char *no_token = "<AssumeRoleResponse><AssumeRoleResult><Credentials>"
                           "<AccessKeyId>A</AccessKeyId><SecretAccessKey>S</SecretAccessKey>"
                           "<Expiration>2030-01-01T00:00:00Z</Expiration>"
                           "</Credentials></AssumeRoleResult></AssumeRoleResponse>";
    why = kvi_sts_parse_credentials("AssumeRole", no_token, strlen(no_token), "assume-role", &c);
    CHECK_STR(why, "the answer has no Credentials/SessionToken");
    const char *bad_time = "<AssumeRoleResponse><AssumeRoleResult><Credentials>"
                           "<AccessKeyId>A</AccessKeyId><SecretAccessKey>S</SecretAccessKey>"
                           "<SessionToken>T</SessionToken><Expiration>soon</Expiration>"
                           "</Credentials></AssumeRoleResult></AssumeRoleResponse>";
    why = kvi_sts_parse_credentials("AssumeRole", bad_time, strlen(bad_time), "assume-role", &c);
    CHECK(contains(why, "not an ISO-8601 timestamp"));
    why = kvi_sts_parse_credentials("AssumeRole", "<html>", 6, "assume-role", &c);
    CHECK_STR(why, "the answer is not well-formed XML");

    const char *error = "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
                        "<Error><Type>Sender</Type><Code>InvalidIdentityToken</Code>"
                        "<Message>Couldn&apos;t retrieve verification key</Message></Error>"
                        "<RequestId>rid-2</RequestId></ErrorResponse>";
    kvi_buf code = KVI_BUF_INIT, msg = KVI_BUF_INIT, rid = KVI_BUF_INIT;
    CHECK_INT(kvi_sts_parse_error(error, strlen(error), &code, &msg, &rid), 0);
    CHECK_STR(kvi_buf_str(&code), "InvalidIdentityToken");
    CHECK_STR(kvi_buf_str(&msg), "Couldn't retrieve verification key");
    CHECK_STR(kvi_buf_str(&rid), "rid-2");
    CHECK_INT(kvi_sts_parse_error("<html><body>502</body></html>", 29, &code, &msg, &rid), -1);
    CHECK_INT(kvi_sts_parse_error("", 0, &code, &msg, &rid), -1);
    kvi_buf_free(&code);
    kvi_buf_free(&msg);
    kvi_buf_free(&rid);
}

static char *endpoint(const kvi_provider_ctx *ctx, int kind, const char *prefix,
                      const char *region, kvsws_error *err)
{
    char *url = NULL;
    kvi_error_clear(err);
    if (kvi_fetch_endpoint(ctx, kind, prefix, region, &url, err) != KVSWS_OK)
        return strdup(kvsws_error_message(err));
    return url;
}

#define CHECK_ENDPOINT(ctx, kind, prefix, region, want)                                    \
    do {                                                                                   \
        char *u_ = endpoint(ctx, kind, prefix, region, err);                               \
        CHECK_STR(u_, want);                                                               \
        free(u_);                                                                          \
    } while (0)

static void test_endpoints(kvsws_error *err)
{
    reset_env();
    write_file("config", "[default]\nregion = us-west-2\n");
    kvi_profile_paths p = scratch_paths("config", "creds", NULL);
    kvi_provider_ctx ctx = {&p, NULL, 0, NULL, "s", 1000};
    CHECK_ENDPOINT(&ctx, KVI_ENDPOINT_STS, "sts", "us-west-2", "https://sts.us-west-2.amazonaws.com");
    CHECK_ENDPOINT(&ctx, KVI_ENDPOINT_STS, "sts", "cn-north-1",
                   "https://sts.cn-north-1.amazonaws.com.cn");
    CHECK_ENDPOINT(&ctx, KVI_ENDPOINT_STS, "sts", NULL, "https://sts.amazonaws.com");
    CHECK_ENDPOINT(&ctx, KVI_ENDPOINT_SSO, "portal.sso", "eu-west-1",
                   "https://portal.sso.eu-west-1.amazonaws.com");
    ctx.use_fips = 1;
    CHECK_ENDPOINT(&ctx, KVI_ENDPOINT_STS, "sts", "us-east-1", "https://sts-fips.us-east-1.amazonaws.com");
    CHECK_ENDPOINT(&ctx, KVI_ENDPOINT_STS, "sts", "us-gov-west-1",
                   "https://sts.us-gov-west-1.amazonaws.com");
    ctx.use_fips = 0;
    /* Overrides, botocore's order: the service's variable, the global one, the profile. */
    write_file("config", "[default]\nservices = local\n[services local]\nsts =\n"
                         "  endpoint_url = https://sts.profile.example:8443/\n"
                         "sso =\n  endpoint_url = https://sso.profile.example\n");
    CHECK_ENDPOINT(&ctx, KVI_ENDPOINT_STS, "sts", "us-west-2", "https://sts.profile.example:8443");
    CHECK_ENDPOINT(&ctx, KVI_ENDPOINT_SSO, "portal.sso", "us-west-2", "https://sso.profile.example");
    setenv("AWS_ENDPOINT_URL", "https://all.example", 1);
    CHECK_ENDPOINT(&ctx, KVI_ENDPOINT_STS, "sts", "us-west-2", "https://all.example");
    setenv("AWS_ENDPOINT_URL_STS", "https://127.0.0.1:4443", 1);
    setenv("AWS_ENDPOINT_URL_SSO", "https://127.0.0.1:4444", 1);
    CHECK_ENDPOINT(&ctx, KVI_ENDPOINT_STS, "sts", "us-west-2", "https://127.0.0.1:4443");
    CHECK_ENDPOINT(&ctx, KVI_ENDPOINT_SSO, "portal.sso", "us-west-2", "https://127.0.0.1:4444");
    setenv("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:4443", 1);
    char *e = endpoint(&ctx, KVI_ENDPOINT_STS, "sts", "us-west-2", err);
    CHECK(contains(e, "Invalid endpoint URL \"http://127.0.0.1:4443\" (from AWS_ENDPOINT_URL_STS"));
    CHECK_INT(kvsws_error_status(err), KVSWS_E_CONFIG);
    free(e);
    setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true", 1);
    CHECK_ENDPOINT(&ctx, KVI_ENDPOINT_STS, "sts", "us-west-2", "https://sts.us-west-2.amazonaws.com");
    kvi_profile_paths_free(&p);
}

int main(void)
{
    if (scratch_create("role") != 0)
        return 1;
    kvsws_error *err = kvsws_error_new();
    test_role_config(err);
    test_loops(err);
    test_sources(err);
    test_web_identity(err);
    test_sts_answers();
    test_endpoints(err);
    kvsws_error_free(err);
    scratch_remove();
    return CHECK_DONE();
}
