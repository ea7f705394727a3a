/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_profile.c - libFuzzer target for the shared config and credentials files (profile.c) and
 * what is looked up in them: profiles, keys, sub-sections, "[services]" and "[sso-session]"
 * sections, the region, endpoint and FIPS settings, SSO settings; plus path expansion ($VAR,
 * ~, ~user) and shlex splitting. Input: byte 0 picks the profile, then the config file, a NUL,
 * the credentials file, a NUL, a path / command line. No credential is resolved (that would
 * run credential_process commands). Build: see README.md. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "credentials/credentials.h"
#include "credentials/sso.h"
#include "credentials/region.h"
#include "aws/endpoints.h"
#include "kvsws.h"
#include "base/profile.h"
#include "base/shlex.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const PROFILES[] = {"default", "dev", "sso", "a b", "Dev", "profile x"};
static const char *const KEYS[] = {"region", "aws_access_key_id", "role_arn", "source_profile",
                                   "sso_session", "services", "endpoint_url",
                                   "credential_process", "s3", "use_fips_endpoint"};

static char dir[64], config[96], creds[96];

/* The files go when the process does. */
static void remove_files(void)
{
    unlink(config);
    unlink(creds);
    rmdir(dir);
}

static void setup(void)
{
    if (dir[0])
        return;
    /* In memory when the machine has it: every lookup reads the files again. */
    snprintf(dir, sizeof dir, "%s/kvsws-fuzz-profile-XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (!mkdtemp(dir))
        abort();
    atexit(remove_files);
    snprintf(config, sizeof config, "%s/config", dir);
    snprintf(creds, sizeof creds, "%s/credentials", dir);
    /* Only what this target sets: no AWS_* of the machine's. */
    extern char **environ;
    for (int again = 1; again;) {
        again = 0;
        for (char **e = environ; *e; e++)
            if (strncmp(*e, "AWS_", 4) == 0) {
                char name[256];
                snprintf(name, sizeof name, "%.*s", (int)strcspn(*e, "="), *e);
                unsetenv(name);
                again = 1;
                break;
            }
    }
    setenv("HOME", dir, 1);
    setenv("FUZZ_VAR", "/var/fuzz", 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
}

static void write_file(const char *path, const uint8_t *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n)
        abort();
    fclose(f);
}

/* The next NUL-terminated part of [*p, end), copied; the last part runs to the end. */
static const uint8_t *part(const uint8_t **p, const uint8_t *end, size_t *n)
{
    const uint8_t *start = *p, *nul = memchr(start, 0, (size_t)(end - start));
    *n = (size_t)((nul ? nul : end) - start);
    *p = nul ? nul + 1 : end;
    return start;
}

static void lookups(const kvi_profile_paths *paths)
{
    const char *profile = paths->profile;
    (void)kvi_profile_exists(paths);
    for (size_t i = 0; i < sizeof KEYS / sizeof *KEYS; i++) {
        char *v = kvi_profile_get(paths, KEYS[i]);
        /* Values come trimmed, one line each... unless a sub-section's lines. */
        if (v && (v[0] == ' ' || v[0] == '\t'))
            abort();
        if (v && i == 3) {
            /* The source profile a role would chain on. */
            kvi_profile_paths other = kvi_profile_paths_for(paths, v);
            free(kvi_profile_get(&other, "aws_secret_access_key"));
        }
        free(v);
    }
    char *services = kvi_profile_get(paths, "services");
    if (services)
        free(kvi_profile_services_get(paths, services, "kinesis_video", "endpoint_url"));
    free(services);
    int exists = 0;
    free(kvi_profile_section_get(paths, "sso-session", profile, "sso_region", &exists));
    if (exists != 0 && exists != 1)
        abort();
    kvsws_error *err = kvsws_error_new();
    char *region = kvi_region_resolve(NULL, paths, err);
    if (region) {
        size_t n = strlen(region);
        if (n < 1 || n > 64 || strspn(region, "abcdefghijklmnopqrstuvwxyz0123456789-") != n)
            abort();
    } else if (kvsws_error_status(err) == KVSWS_OK) {
        abort();
    }
    free(region);
    for (int kind = KVI_ENDPOINT_CONTROL; kind <= KVI_ENDPOINT_SSO; kind++)
        free(kvi_endpoint_configured((kvi_endpoint_kind)kind, NULL, paths));
    int fips = kvi_endpoint_use_fips(-1, paths);
    if (fips != 0 && fips != 1)
        abort();
    kvi_sso_config sso;
    int found = 0;
    if (kvi_sso_config_load(paths, profile, &sso, &found, err) == KVSWS_OK && found) {
        if (!sso.account_id || !sso.role_name || !sso.start_url || !sso.region)
            abort();
        kvi_sso_config_free(&sso);
    }
    kvsws_error_free(err);
}

static void expand_and_split(const char *s)
{
    kvi_profile_paths p;
    if (kvi_profile_paths_resolve(s, NULL, NULL, &p) == 0) {
        if (*s && (!p.config_file || !p.credentials_file))
            abort();
        /* "~/x" is under $HOME; $FUZZ_VAR is replaced. */
        if (p.config_file && ((s[0] == '~' && s[1] == '/' && strncmp(p.config_file, dir,
                                                                     strlen(dir)) != 0) ||
                              (strcmp(s, "$FUZZ_VAR") == 0 && strcmp(p.config_file, "/var/fuzz"))))
            abort();
        kvi_profile_paths_free(&p);
    }
    const char *why = NULL;
    char **argv = kvi_shlex_split(s, &why);
    if (argv)
        kvi_shlex_free(argv);
    else if (!why)
        abort(); /* out of memory only */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    setup();
    const uint8_t *p = data + 1, *end = data + size;
    size_t n;
    const uint8_t *c = part(&p, end, &n);
    write_file(config, c, n);
    c = part(&p, end, &n);
    write_file(creds, c, n);
    c = part(&p, end, &n);
    char *tail = strndup((const char *)c, n);
    if (!tail)
        return 0;

    kvi_profile_paths paths;
    const char *profile = PROFILES[data[0] % (sizeof PROFILES / sizeof *PROFILES)];
    if (kvi_profile_paths_resolve(config, creds, profile, &paths) != 0)
        abort();
    lookups(&paths);
    kvi_profile_paths_free(&paths);
    expand_and_split(tail);
    free(tail);
    return 0;
}

/* With -DKVSWS_FUZZ_STANDALONE: a main that replays files, for builds without libFuzzer. */
#include "standalone_main.h"
