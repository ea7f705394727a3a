/* SPDX-License-Identifier: Apache-2.0 */
/* test_profile.c - config/credentials file parsing, paths and profile selection. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "env_support.h"
#include "base/file.h"
#include "base/profile.h"
#include "base/shlex.h"

/* Paths to the two test files and a profile (NULL = default resolution). */
static kvi_profile_paths paths_for(const char *config, const char *creds, const char *profile)
{
    kvi_profile_paths p;
    char *c = config ? path_of(config) : NULL, *k = creds ? path_of(creds) : NULL;
    if (kvi_profile_paths_resolve(c, k, profile, &p) != 0)
        abort();
    free(c);
    free(k);
    return p;
}

/* kvi_profile_get, compared and freed. want NULL = absent. */
static void check_get(const kvi_profile_paths *p, const char *key, const char *want, int line)
{
    char *v = kvi_profile_get(p, key);
    if ((v == NULL) != (want == NULL) || (v && strcmp(v, want) != 0)) {
        check_failed++;
        fprintf(stderr, "%s:%d: get(%s, %s): got [%s] want [%s]\n", __FILE__, line, p->profile,
                key, v ? v : "(null)", want ? want : "(null)");
    } else {
        check_passed++;
    }
    free(v);
}
#define GET(p, key, want) check_get((p), (key), (want), __LINE__)

static void test_paths(void)
{
    reset_env();
    kvi_profile_paths p;
    CHECK_INT(kvi_profile_paths_resolve(NULL, NULL, NULL, &p), 0);
    char *want_cfg = path_of(".aws/config"), *want_creds = path_of(".aws/credentials");
    CHECK_STR(p.config_file, want_cfg);
    CHECK_STR(p.credentials_file, want_creds);
    CHECK_STR(p.profile, "default");
    CHECK_INT(p.profile_explicit, 0);
    CHECK_INT(p.profile_from_option, 0);
    kvi_profile_paths_free(&p);

    /* Environment, with "" counting as unset. */
    setenv("AWS_CONFIG_FILE", "/etc/aws-cfg", 1);
    setenv("AWS_SHARED_CREDENTIALS_FILE", "", 1);
    setenv("AWS_PROFILE", "dev", 1);
    CHECK_INT(kvi_profile_paths_resolve(NULL, NULL, NULL, &p), 0);
    CHECK_STR(p.config_file, "/etc/aws-cfg");
    CHECK_STR(p.credentials_file, want_creds);
    CHECK_STR(p.profile, "dev");
    CHECK_INT(p.profile_explicit, 1);
    CHECK_INT(p.profile_from_option, 0);
    kvi_profile_paths_free(&p);

    /* Options beat the environment; "~" and $VARS are expanded as botocore does. */
    setenv("KVSWS_TEST_DIR", "sub", 1);
    CHECK_INT(kvi_profile_paths_resolve("~/cfg", "~/$KVSWS_TEST_DIR/${KVSWS_TEST_DIR}/c",
                                        "prod", &p),
              0);
    char *want_opt = path_of("cfg"), *want_opt2 = path_of("sub/sub/c");
    CHECK_STR(p.config_file, want_opt);
    CHECK_STR(p.credentials_file, want_opt2);
    CHECK_STR(p.profile, "prod");
    CHECK_INT(p.profile_explicit, 1);
    CHECK_INT(p.profile_from_option, 1);
    kvi_profile_paths_free(&p);
    unsetenv("KVSWS_TEST_DIR");

    /* An unknown variable stays as it is; "" options count as unset. */
    CHECK_INT(kvi_profile_paths_resolve("/x/$KVSWS_NO_SUCH_VAR/c", "", "", &p), 0);
    CHECK_STR(p.config_file, "/x/$KVSWS_NO_SUCH_VAR/c");
    CHECK_STR(p.credentials_file, want_creds);
    CHECK_STR(p.profile, "dev");
    kvi_profile_paths_free(&p);

    /* HOME with a trailing slash. */
    char *home_slash = NULL;
    if (asprintf(&home_slash, "%s/", scratch_dir) < 0)
        abort();
    setenv("HOME", home_slash, 1);
    unsetenv("AWS_CONFIG_FILE");
    CHECK_INT(kvi_profile_paths_resolve(NULL, NULL, NULL, &p), 0);
    CHECK_STR(p.config_file, want_cfg);
    kvi_profile_paths_free(&p);
    free(home_slash);
    kvi_profile_paths_free(&p); /* twice is harmless */

    free(want_cfg);
    free(want_creds);
    free(want_opt);
    free(want_opt2);
}

static void test_sections(void)
{
    reset_env();
    write_file("config", "[default]\n"
                         "region = us-west-2\n"
                         "output = json\n"
                         "\n"
                         "[profile dev]\n"
                         "region = eu-west-1\n"
                         "only_in_config = yes\n"
                         "\n"
                         "[bare]\n"
                         "region = ap-south-1\n"
                         "\n"
                         "[both]\n"
                         "region = from-bare\n"
                         "bare_only = 1\n"
                         "[profile both]\n"
                         "region = from-profile\n"
                         "\n"
                         "[profile \"with space\"]\n"
                         "region = sa-east-1\n"
                         "[profile   spaced]\n"
                         "region = ca-central-1\n"
                         "[profilejoined]\n"
                         "region = nope\n"
                         "[preview]\n"
                         "cloudfront = true\n");
    write_file("credentials", "[default]\n"
                              "aws_access_key_id = AKIDDEFAULT\n"
                              "[dev]\n"
                              "region = us-east-2\n"
                              "[profile prof]\n"
                              "region = not-a-profile-in-credentials\n");

    kvi_profile_paths p = paths_for("config", "credentials", NULL);
    GET(&p, "region", "us-west-2");
    GET(&p, "output", "json");
    GET(&p, "aws_access_key_id", "AKIDDEFAULT");
    GET(&p, "missing", NULL);
    CHECK_INT(kvi_profile_exists(&p), 1);
    kvi_profile_paths_free(&p);

    /* The credentials file's value wins over the config file's for the same key. */
    p = paths_for("config", "credentials", "dev");
    GET(&p, "region", "us-east-2");
    GET(&p, "only_in_config", "yes");
    kvi_profile_paths_free(&p);

    /* A bare [name] in the config file is accepted; [profile name] wins over it. */
    p = paths_for("config", "credentials", "bare");
    GET(&p, "region", "ap-south-1");
    CHECK_INT(kvi_profile_exists(&p), 1);
    kvi_profile_paths_free(&p);
    p = paths_for("config", "credentials", "both");
    GET(&p, "region", "from-profile");
    GET(&p, "bare_only", "1");
    kvi_profile_paths_free(&p);

    /* Section names are split like botocore's shlex: quotes and extra spaces. */
    p = paths_for("config", "credentials", "with space");
    GET(&p, "region", "sa-east-1");
    kvi_profile_paths_free(&p);
    p = paths_for("config", "credentials", "spaced");
    GET(&p, "region", "ca-central-1");
    kvi_profile_paths_free(&p);
    p = paths_for("config", "credentials", "joined");
    GET(&p, "region", NULL);
    CHECK_INT(kvi_profile_exists(&p), 0);
    kvi_profile_paths_free(&p);

    /* "[profile x]" in the credentials file is a section named "profile x", not profile x. */
    p = paths_for("config", "credentials", "prof");
    GET(&p, "region", NULL);
    CHECK_INT(kvi_profile_exists(&p), 0);
    kvi_profile_paths_free(&p);

    /* Section names are case-sensitive. */
    p = paths_for("config", "credentials", "DEV");
    CHECK_INT(kvi_profile_exists(&p), 0);
    kvi_profile_paths_free(&p);

    /* "[profile default]" is the default profile too. */
    write_file("config2", "[profile default]\nregion = eu-north-1\n");
    p = paths_for("config2", "none", NULL);
    GET(&p, "region", "eu-north-1");
    CHECK_INT(kvi_profile_exists(&p), 1);
    kvi_profile_paths_free(&p);

    /* A bare [default]-like name is not accepted for other profiles' "default" lookups. */
    write_file("config3", "[profile other]\nregion = x\n");
    p = paths_for("config3", "none", NULL);
    CHECK_INT(kvi_profile_exists(&p), 0);
    GET(&p, "region", NULL);
    kvi_profile_paths_free(&p);
}

static void test_syntax(void)
{
    reset_env();
    write_file("config", "# a comment\n"
                         "; another comment\n"
                         "key_before_section = ignored\n"
                         "[default]\n"
                         "   # an indented comment\n"
                         "region=us-west-2\n"
                         "output : text\n"
                         "cli_pager = less # not a comment, as in botocore\n"
                         "semi = a ; b\n"
                         "Mixed_Case = value\n"
                         "empty =\n"
                         "url = https://example.com:8443/p?q=1\n"
                         "not a key value line\n"
                         "s3 =\n"
                         "  max_concurrent_requests = 10\n"
                         "  # a comment inside\n"
                         "\n"
                         "  addressing_style = path\n"
                         "region_after_sub = eu-central-1\n"
                         "multi = first\n"
                         "  second\n"
                         "\n"
                         "  third\n"
                         "after_multi = ok\n"
                         "  [not a section]\n"
                         "last = 1\n");
    kvi_profile_paths p = paths_for("config", "none", NULL);
    GET(&p, "key_before_section", NULL);
    GET(&p, "region", "us-west-2");
    GET(&p, "output", "text");
    GET(&p, "cli_pager", "less # not a comment, as in botocore");
    GET(&p, "semi", "a ; b");
    /* Keys are case-insensitive, as RawConfigParser lowercases them. */
    GET(&p, "mixed_case", "value");
    GET(&p, "MIXED_CASE", "value");
    GET(&p, "empty", "");
    GET(&p, "url", "https://example.com:8443/p?q=1");
    /* A sub-section: its keys stay inside it and the key itself has no plain value. */
    GET(&p, "s3", NULL);
    GET(&p, "max_concurrent_requests", NULL);
    GET(&p, "addressing_style", NULL);
    GET(&p, "region_after_sub", "eu-central-1");
    /* Continuation lines join with newlines; the blank line inside is kept. */
    GET(&p, "multi", "first\nsecond\n\nthird");
    GET(&p, "after_multi", "ok\n[not a section]");
    GET(&p, "last", "1");
    kvi_profile_paths_free(&p);

    /* CRLF line endings and a UTF-8 byte order mark. */
    write_file("crlf", "\xEF\xBB\xBF[default]\r\nregion = us-east-1\r\ns3 =\r\n  k = v\r\n"
                       "other = x\r\n");
    p = paths_for("crlf", "none", NULL);
    GET(&p, "region", "us-east-1");
    GET(&p, "other", "x");
    GET(&p, "k", NULL);
    kvi_profile_paths_free(&p);

    /* A sub-section in the credentials file does not leak either. */
    write_file("creds_sub", "[default]\nsub =\n    aws_access_key_id = LEAK\n"
                            "aws_secret_access_key = s\n");
    p = paths_for("none", "creds_sub", NULL);
    GET(&p, "aws_access_key_id", NULL);
    GET(&p, "aws_secret_access_key", "s");
    kvi_profile_paths_free(&p);

    /* Duplicate keys: the later one wins. */
    write_file("dup", "[default]\nregion = a\n[default]\nregion = b\n");
    p = paths_for("dup", "none", NULL);
    GET(&p, "region", "b");
    kvi_profile_paths_free(&p);
}

static void test_missing(void)
{
    reset_env();
    /* No ~/.aws at all. */
    kvi_profile_paths p;
    CHECK_INT(kvi_profile_paths_resolve(NULL, NULL, NULL, &p), 0);
    GET(&p, "region", NULL);
    CHECK_INT(kvi_profile_exists(&p), 0);
    kvi_profile_paths_free(&p);

    /* A directory or an empty file is no file; NULL paths are fine. */
    char *dir = path_of("adir");
    mkdir(dir, 0700);
    free(dir);
    write_file("empty", "");
    p = paths_for("adir", "empty", "x");
    GET(&p, "region", NULL);
    CHECK_INT(kvi_profile_exists(&p), 0);
    free(p.config_file);
    free(p.credentials_file);
    p.config_file = p.credentials_file = NULL;
    GET(&p, "region", NULL);
    CHECK_INT(kvi_profile_exists(&p), 0);
    kvi_profile_paths_free(&p);
    CHECK(kvi_profile_get(NULL, "region") == NULL);

    /* The default location under HOME is read. */
    char *aws = path_of(".aws");
    mkdir(aws, 0700);
    free(aws);
    write_file(".aws/config", "[profile home]\nregion = from-home\n");
    setenv("AWS_PROFILE", "home", 1);
    CHECK_INT(kvi_profile_paths_resolve(NULL, NULL, NULL, &p), 0);
    GET(&p, "region", "from-home");
    CHECK_INT(kvi_profile_exists(&p), 1);
    kvi_profile_paths_free(&p);
}

static void test_services(void)
{
    reset_env();
    write_file("config", "[profile dev]\n"
                         "services = local\n"
                         "[services local]\n"
                         "kinesis_video =\n"
                         "  endpoint_url = http://localhost:4566\n"
                         "kinesis_video_signaling =\n"
                         "  Endpoint_URL = case-kept\n"
                         "  endpoint_url = https://sig.local\n"
                         "[services other]\n"
                         "kinesis_video =\n"
                         "  endpoint_url = https://other\n");
    kvi_profile_paths p = paths_for("config", "none", "dev");
    GET(&p, "services", "local");
    char *v = kvi_profile_services_get(&p, "local", "kinesis_video", "endpoint_url");
    CHECK_STR(v, "http://localhost:4566");
    free(v);
    v = kvi_profile_services_get(&p, "local", "kinesis_video_signaling", "endpoint_url");
    CHECK_STR(v, "https://sig.local");
    free(v);
    v = kvi_profile_services_get(&p, "local", "kinesis_video_signaling", "Endpoint_URL");
    CHECK_STR(v, "case-kept");
    free(v);
    v = kvi_profile_services_get(&p, "other", "kinesis_video", "endpoint_url");
    CHECK_STR(v, "https://other");
    free(v);
    CHECK(kvi_profile_services_get(&p, "local", "kinesis_video_webrtc_storage",
                                   "endpoint_url") == NULL);
    CHECK(kvi_profile_services_get(&p, "nope", "kinesis_video", "endpoint_url") == NULL);
    /* "[services local]" is not a profile named "services local" or "local". */
    kvi_profile_paths_free(&p);
    p = paths_for("config", "none", "local");
    CHECK_INT(kvi_profile_exists(&p), 0);
    kvi_profile_paths_free(&p);
}

static void check_split(const char *in, const char *const *want, int line)
{
    const char *why = "unset";
    char **got = kvi_shlex_split(in, &why);
    int ok = got != NULL && why == NULL;
    size_t i = 0;
    for (; ok && want[i]; i++)
        ok = got[i] && strcmp(got[i], want[i]) == 0;
    ok = ok && got[i] == NULL;
    if (ok) {
        check_passed++;
    } else {
        check_failed++;
        fprintf(stderr, "%s:%d: shlex_split(%s) differs:", __FILE__, line, in);
        for (size_t j = 0; got && got[j]; j++)
            fprintf(stderr, " [%s]", got[j]);
        fprintf(stderr, "\n");
    }
    kvi_shlex_free(got);
}

/* kvi_file_read, which reads the profiles, the SSO cache and the token files. */
static void test_file_read(void)
{
    kvi_buf b = KVI_BUF_INIT;
    char *path = path_of("small");
    write_file("small", "0123456789");
    CHECK_INT(kvi_file_read(path, 10, &b), 0);
    CHECK_STR(kvi_buf_str(&b), "0123456789");
    kvi_buf_free(&b);
    CHECK_INT(kvi_file_read(path, 9, &b), EFBIG); /* one byte over */
    CHECK(b.len == 0 && b.data == NULL);             /* emptied, nothing half-read */
    free(path);

    path = path_of("no-such-file");
    CHECK_INT(kvi_file_read(path, 10, &b), ENOENT);
    free(path);
    path = path_of("a-dir");
    mkdir(path, 0700);
    CHECK_INT(kvi_file_read(path, 10, &b), EISDIR);
    free(path);
    path = path_of("a-fifo"); /* would block a read with no writer: refused at once */
    CHECK_INT(mkfifo(path, 0600), 0);
    CHECK_INT(kvi_file_read(path, 10, &b), EINVAL);
    free(path);
    CHECK(b.len == 0);
}

static void test_shlex(void)
{
    const char *w1[] = {"a", "b c", "d e", "f\"g", "", "h'i", NULL};
    check_split("a 'b c' d\\ e \"f\\\"g\" '' \"h'i\"", w1, __LINE__);
    const char *w2[] = {"/usr/bin/helper", "--arg=x y", "#notacomment", NULL};
    check_split("  /usr/bin/helper\t--arg='x y' #notacomment  ", w2, __LINE__);
    const char *w3[] = {"a\\nb", "c\\d", "e'f", NULL}; /* backslash kept inside "" */
    check_split("\"a\\nb\" c\\\\d e\\'f", w3, __LINE__);
    const char *w4[] = {"ab", NULL};
    check_split("a\"\"b", w4, __LINE__);
    const char *w5[] = {NULL};
    check_split("   ", w5, __LINE__);
    check_split("", w5, __LINE__);

    const char *why = NULL;
    char **bad = kvi_shlex_split("a 'b", &why);
    CHECK(bad == NULL);
    CHECK_STR(why, "No closing quotation");
    bad = kvi_shlex_split("a \"b\\\"", &why);
    CHECK(bad == NULL);
    CHECK_STR(why, "No closing quotation");
    bad = kvi_shlex_split("a\\", &why);
    CHECK(bad == NULL);
    CHECK_STR(why, "No escaped character");
}

int main(void)
{
    if (scratch_create("profile") != 0)
        return 1;
    test_paths();
    test_sections();
    test_syntax();
    test_missing();
    test_services();
    test_file_read();
    test_shlex();
    scratch_remove();
    return CHECK_DONE();
}
