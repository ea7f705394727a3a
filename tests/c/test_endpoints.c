/* SPDX-License-Identifier: Apache-2.0 */
/* test_endpoints.c - configured endpoints, partitions, FIPS and URL validation. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "aws/endpoints.h"
#include "env_support.h"

static void check_url(char *got, const char *want, int line)
{
    if ((got == NULL) != (want == NULL) || (got && strcmp(got, want) != 0)) {
        check_failed++;
        fprintf(stderr, "%s:%d: got [%s] want [%s]\n", __FILE__, line, got ? got : "(null)",
                want ? want : "(null)");
    } else {
        check_passed++;
    }
    free(got);
}
#define URL(got, want) check_url((got), (want), __LINE__)

static const char CONFIG[] = "[default]\n"
                             "endpoint_url = https://profile-global\n"
                             "services = mine\n"
                             "[services mine]\n"
                             "kinesis_video =\n"
                             "  endpoint_url = https://svc-control\n"
                             "kinesis_video_webrtc_storage =\n"
                             "  endpoint_url = https://svc-webrtc\n"
                             "[profile plain]\n"
                             "endpoint_url = https://plain-global\n"
                             "[profile dangling]\n"
                             "services = nosuch\n"
                             "endpoint_url = https://dangling-global\n"
                             "[profile ignoring]\n"
                             "endpoint_url = https://ignored\n"
                             "ignore_configured_endpoint_urls = true\n"
                             "[profile nothing]\n"
                             "region = us-east-1\n";

static void test_configured(void)
{
    reset_env();
    write_file("config", CONFIG);
    kvi_profile_paths p = scratch_paths("config", NULL, NULL);

    /* The profile: its services section for the kinds it names; its endpoint_url addresses the
     * control plane only (the channel's endpoints are discovered). */
    URL(kvi_endpoint_configured(KVI_ENDPOINT_CONTROL, NULL, &p), "https://svc-control");
    URL(kvi_endpoint_configured(KVI_ENDPOINT_WEBRTC_STORAGE, NULL, &p), "https://svc-webrtc");
    URL(kvi_endpoint_configured(KVI_ENDPOINT_SIGNALING, NULL, &p), NULL);

    /* AWS_ENDPOINT_URL beats the files, for the control plane; never a per-channel kind. */
    setenv("AWS_ENDPOINT_URL", "https://env-global", 1);
    URL(kvi_endpoint_configured(KVI_ENDPOINT_CONTROL, NULL, &p), "https://env-global");
    URL(kvi_endpoint_configured(KVI_ENDPOINT_SIGNALING, NULL, &p), NULL);
    URL(kvi_endpoint_configured(KVI_ENDPOINT_WEBRTC_STORAGE, NULL, &p), "https://svc-webrtc");
    URL(kvi_endpoint_configured(KVI_ENDPOINT_STS, NULL, &p), "https://env-global");

    /* Each service variable beats AWS_ENDPOINT_URL for its own kind only. */
    setenv("AWS_ENDPOINT_URL_KINESIS_VIDEO", "https://env-control", 1);
    URL(kvi_endpoint_configured(KVI_ENDPOINT_CONTROL, NULL, &p), "https://env-control");
    URL(kvi_endpoint_configured(KVI_ENDPOINT_SIGNALING, NULL, &p), NULL);
    URL(kvi_endpoint_configured(KVI_ENDPOINT_WEBRTC_STORAGE, NULL, &p), "https://svc-webrtc");
    setenv("AWS_ENDPOINT_URL_KINESIS_VIDEO_SIGNALING", "https://env-signaling", 1);
    URL(kvi_endpoint_configured(KVI_ENDPOINT_SIGNALING, NULL, &p), "https://env-signaling");
    URL(kvi_endpoint_configured(KVI_ENDPOINT_CONTROL, NULL, &p), "https://env-control");
    setenv("AWS_ENDPOINT_URL_KINESIS_VIDEO_WEBRTC_STORAGE", "https://env-webrtc", 1);
    URL(kvi_endpoint_configured(KVI_ENDPOINT_WEBRTC_STORAGE, NULL, &p), "https://env-webrtc");

    /* The option beats everything. */
    URL(kvi_endpoint_configured(KVI_ENDPOINT_CONTROL, "https://option", &p), "https://option");
    URL(kvi_endpoint_configured(KVI_ENDPOINT_SIGNALING, "https://option", &p), "https://option");
    URL(kvi_endpoint_configured(KVI_ENDPOINT_WEBRTC_STORAGE, "https://option", &p),
        "https://option");

    /* AWS_IGNORE_CONFIGURED_ENDPOINT_URLS silences all but the option. */
    setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "TRUE", 1);
    URL(kvi_endpoint_configured(KVI_ENDPOINT_CONTROL, NULL, &p), NULL);
    URL(kvi_endpoint_configured(KVI_ENDPOINT_SIGNALING, NULL, &p), NULL);
    URL(kvi_endpoint_configured(KVI_ENDPOINT_WEBRTC_STORAGE, NULL, &p), NULL);
    URL(kvi_endpoint_configured(KVI_ENDPOINT_CONTROL, "https://option", &p), "https://option");
    setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "false", 1);
    URL(kvi_endpoint_configured(KVI_ENDPOINT_CONTROL, NULL, &p), "https://env-control");
    setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "1", 1); /* only "true" is true */
    URL(kvi_endpoint_configured(KVI_ENDPOINT_CONTROL, NULL, &p), "https://env-control");
    unsetenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");

    /* Empty variables are unset. */
    setenv("AWS_ENDPOINT_URL_KINESIS_VIDEO", "", 1);
    URL(kvi_endpoint_configured(KVI_ENDPOINT_CONTROL, "", &p), "https://env-global");
    setenv("AWS_ENDPOINT_URL", "", 1);
    URL(kvi_endpoint_configured(KVI_ENDPOINT_CONTROL, NULL, &p), "https://svc-control");
    kvi_profile_paths_free(&p);

    /* A profile without services; one whose services section is missing; none at all. */
    reset_env();
    p = scratch_paths("config", NULL, "plain");
    URL(kvi_endpoint_configured(KVI_ENDPOINT_CONTROL, NULL, &p), "https://plain-global");
    URL(kvi_endpoint_configured(KVI_ENDPOINT_WEBRTC_STORAGE, NULL, &p), NULL);
    kvi_profile_paths_free(&p);
    p = scratch_paths("config", NULL, "dangling");
    URL(kvi_endpoint_configured(KVI_ENDPOINT_CONTROL, NULL, &p), "https://dangling-global");
    kvi_profile_paths_free(&p);
    p = scratch_paths("config", NULL, "nothing");
    URL(kvi_endpoint_configured(KVI_ENDPOINT_CONTROL, NULL, &p), NULL);
    URL(kvi_endpoint_configured(KVI_ENDPOINT_SIGNALING, NULL, &p), NULL);
    URL(kvi_endpoint_configured(KVI_ENDPOINT_WEBRTC_STORAGE, NULL, &p), NULL);
    kvi_profile_paths_free(&p);
    URL(kvi_endpoint_configured(KVI_ENDPOINT_CONTROL, NULL, NULL), NULL);

    /* The profile's ignore_configured_endpoint_urls, which the variable overrides. */
    p = scratch_paths("config", NULL, "ignoring");
    setenv("AWS_ENDPOINT_URL", "https://env-global", 1);
    URL(kvi_endpoint_configured(KVI_ENDPOINT_CONTROL, NULL, &p), NULL);
    URL(kvi_endpoint_configured(KVI_ENDPOINT_CONTROL, "https://option", &p), "https://option");
    setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "false", 1);
    URL(kvi_endpoint_configured(KVI_ENDPOINT_CONTROL, NULL, &p), "https://env-global");
    unsetenv("AWS_ENDPOINT_URL");
    URL(kvi_endpoint_configured(KVI_ENDPOINT_CONTROL, NULL, &p), "https://ignored");
    kvi_profile_paths_free(&p);

    /* Missing config file. */
    reset_env();
    p = scratch_paths(NULL, NULL, NULL);
    URL(kvi_endpoint_configured(KVI_ENDPOINT_CONTROL, NULL, &p), NULL);
    kvi_profile_paths_free(&p);
}

static void test_defaults(void)
{
    URL(kvi_endpoint_control_default("us-west-2", 0), "https://kinesisvideo.us-west-2.amazonaws.com");
    URL(kvi_endpoint_control_default("us-east-1", 1),
        "https://kinesisvideo-fips.us-east-1.amazonaws.com");
    URL(kvi_endpoint_control_default("ap-southeast-5", 0),
        "https://kinesisvideo.ap-southeast-5.amazonaws.com");
    URL(kvi_endpoint_control_default("cn-north-1", 0),
        "https://kinesisvideo.cn-north-1.amazonaws.com.cn");
    URL(kvi_endpoint_control_default("cn-northwest-1", 0),
        "https://kinesisvideo.cn-northwest-1.amazonaws.com.cn");
    URL(kvi_endpoint_control_default("cn-north-1", 1),
        "https://kinesisvideo-fips.cn-north-1.amazonaws.com.cn");
    URL(kvi_endpoint_control_default("us-gov-west-1", 0),
        "https://kinesisvideo.us-gov-west-1.amazonaws.com");
    URL(kvi_endpoint_control_default("us-gov-east-1", 1),
        "https://kinesisvideo-fips.us-gov-east-1.amazonaws.com");
    URL(kvi_endpoint_control_default("us-iso-east-1", 0),
        "https://kinesisvideo.us-iso-east-1.c2s.ic.gov");
    URL(kvi_endpoint_control_default("us-iso-east-1", 1),
        "https://kinesisvideo-fips.us-iso-east-1.c2s.ic.gov");
    URL(kvi_endpoint_control_default("us-isob-east-1", 0),
        "https://kinesisvideo.us-isob-east-1.sc2s.sgov.gov");
    URL(kvi_endpoint_control_default("us-isob-east-1", 1),
        "https://kinesisvideo-fips.us-isob-east-1.sc2s.sgov.gov");
    URL(kvi_endpoint_control_default("eu-isoe-west-1", 0),
        "https://kinesisvideo.eu-isoe-west-1.cloud.adc-e.uk");
    URL(kvi_endpoint_control_default("us-isof-south-1", 0),
        "https://kinesisvideo.us-isof-south-1.csp.hci.ic.gov");
    URL(kvi_endpoint_control_default("eusc-de-east-1", 0),
        "https://kinesisvideo.eusc-de-east-1.amazonaws.eu");
    /* Anything no partition claims is "aws", as in botocore. */
    URL(kvi_endpoint_control_default("xx-future-1", 0),
        "https://kinesisvideo.xx-future-1.amazonaws.com");
    URL(kvi_endpoint_control_default("cn-north", 0), "https://kinesisvideo.cn-north.amazonaws.com");
    URL(kvi_endpoint_control_default("us-isob-east-x", 0),
        "https://kinesisvideo.us-isob-east-x.amazonaws.com");
    URL(kvi_endpoint_control_default(NULL, 0), NULL);
    URL(kvi_endpoint_control_default("", 0), NULL);
}

static void test_fips(void)
{
    reset_env();
    write_file("fips", "[default]\nuse_fips_endpoint = True\n[profile off]\nregion = x\n");
    kvi_profile_paths p = scratch_paths("fips", NULL, NULL);
    CHECK_INT(kvi_endpoint_use_fips(-1, &p), 1); /* the profile */
    CHECK_INT(kvi_endpoint_use_fips(0, &p), 0);  /* the option beats it */
    setenv("AWS_USE_FIPS_ENDPOINT", "false", 1);
    CHECK_INT(kvi_endpoint_use_fips(-1, &p), 0); /* the variable beats it */
    CHECK_INT(kvi_endpoint_use_fips(1, &p), 1);
    setenv("AWS_USE_FIPS_ENDPOINT", "TRUE", 1);
    CHECK_INT(kvi_endpoint_use_fips(-1, &p), 1);
    CHECK_INT(kvi_endpoint_use_fips(0, &p), 0);
    setenv("AWS_USE_FIPS_ENDPOINT", "1", 1); /* only "true" is true, as botocore */
    CHECK_INT(kvi_endpoint_use_fips(-1, &p), 0);
    setenv("AWS_USE_FIPS_ENDPOINT", "", 1); /* empty is unset */
    CHECK_INT(kvi_endpoint_use_fips(-1, &p), 1);
    kvi_profile_paths_free(&p);
    unsetenv("AWS_USE_FIPS_ENDPOINT");
    p = scratch_paths("fips", NULL, "off");
    CHECK_INT(kvi_endpoint_use_fips(-1, &p), 0);
    kvi_profile_paths_free(&p);
    CHECK_INT(kvi_endpoint_use_fips(-1, NULL), 0);
    CHECK_INT(kvi_endpoint_use_fips(1, NULL), 1);
}

static void check_valid(const char *url, int wss, int want_ok, int line)
{
    const char *why = "unset";
    int rc = kvi_endpoint_validate(url, wss, &why);
    int ok = want_ok ? rc == 0 && why == NULL : rc == -1 && why && *why;
    if (ok) {
        check_passed++;
    } else {
        check_failed++;
        fprintf(stderr, "%s:%d: validate(%s, %d) = %d (%s)\n", __FILE__, line,
                url ? url : "(null)", wss, rc, why ? why : "");
    }
}
#define VALID(url, wss) check_valid((url), (wss), 1, __LINE__)
#define INVALID(url, wss) check_valid((url), (wss), 0, __LINE__)

static void test_validate(void)
{
    VALID("https://kinesisvideo.us-west-2.amazonaws.com", 0);
    VALID("https://r-1234abcd.kinesisvideo.us-west-2.amazonaws.com", 0);
    VALID("HTTPS://Example.COM", 0);
    VALID("https://localhost:4566", 0);
    VALID("https://host:443/base/path?x=1&y=2", 0);
    VALID("https://host/", 0);
    VALID("https://127.0.0.1:8443", 0);
    VALID("https://[::1]:8443/p", 0);
    VALID("https://[fd00::1]", 0);
    VALID("wss://m-1234.kinesisvideo.us-west-2.amazonaws.com", 1);

    INVALID(NULL, 0);
    INVALID("", 0);
    INVALID("http://localhost:4566", 0);
    INVALID("kinesisvideo.us-west-2.amazonaws.com", 0);
    INVALID("wss://host", 0);
    INVALID("https://host", 1);
    INVALID("https://", 0);
    INVALID("https:///path", 0);
    INVALID("https://:443", 0);
    INVALID("https://host:", 0);
    INVALID("https://host:0", 0);
    INVALID("https://host:65536", 0);
    INVALID("https://host:99999999999999999999", 0);
    INVALID("https://host:12ab", 0);
    INVALID("https://ho st", 0);
    INVALID("https://host/a b", 0);
    INVALID("https://host\n", 0);
    INVALID("https://host/\t", 0);
    INVALID(" https://host", 0);
    INVALID("https://user:pw@host", 0);
    INVALID("https://host/#frag", 0);
    INVALID("https://ho%73t", 0);
    INVALID("https://[::1", 0);
    INVALID("https://[]", 0);
    INVALID("https://[::1]x", 0);
    INVALID("https://[zz::1]", 0);

    const char *why = NULL;
    CHECK_INT(kvi_endpoint_validate("http://x", 0, &why), -1);
    CHECK_STR(why, "must start with https://");
    CHECK_INT(kvi_endpoint_validate("https://", 0, &why), -1);
    CHECK_STR(why, "has no host");
    CHECK_INT(kvi_endpoint_validate("https://x", 0, NULL), 0); /* why may be NULL */
}

int main(void)
{
    if (scratch_create("endpoints") != 0)
        return 1;
    test_configured();
    test_defaults();
    test_fips();
    test_validate();
    scratch_remove();
    return CHECK_DONE();
}
