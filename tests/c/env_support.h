/* SPDX-License-Identifier: Apache-2.0 */
/* env_support.h - a scratch HOME and a clean environment for the tests of what reads AWS_*
 * variables and the AWS files (test_credentials.c, test_endpoints.c, test_profile.c).
 * Header-only: CMake builds every tests/c/test_*.c as a test of its own. */
#ifndef KVSWS_ENV_SUPPORT_H
#define KVSWS_ENV_SUPPORT_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/profile.h"

extern char **environ;

/* The test's files live here, and it is HOME after reset_env. */
static char scratch_dir[64];

/* Makes /tmp/kvsws-test-<name>-XXXXXX: 0, or -1 after saying why. */
static inline int scratch_create(const char *name)
{
    snprintf(scratch_dir, sizeof scratch_dir, "/tmp/kvsws-test-%s-XXXXXX", name);
    if (!mkdtemp(scratch_dir)) {
        perror("mkdtemp");
        return -1;
    }
    return 0;
}

static inline int scratch_rm_entry(const char *p, const struct stat *sb, int flag,
                                   struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

/* Removes the scratch directory and everything in it (depth first, links not followed). */
static inline void scratch_remove(void)
{
    nftw(scratch_dir, scratch_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* The developer's AWS_* variables must not leak into the tests, nor their ~/.aws files. */
static inline void reset_env(void)
{
    for (;;) {
        char *name = NULL;
        for (char **e = environ; *e; e++)
            if (strncmp(*e, "AWS_", 4) == 0) {
                name = strndup(*e, strcspn(*e, "="));
                break;
            }
        if (!name)
            break;
        unsetenv(name);
        free(name);
    }
    setenv("HOME", scratch_dir, 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
}

/* scratch_dir/name (caller frees). */
static inline char *path_of(const char *name)
{
    char *p = NULL;
    if (asprintf(&p, "%s/%s", scratch_dir, name) < 0)
        abort();
    return p;
}

static inline void write_file(const char *name, const char *content)
{
    char *p = path_of(name);
    FILE *f = fopen(p, "w");
    if (!f)
        abort();
    fputs(content, f);
    fclose(f);
    free(p);
}

/* Paths to the scratch files config and creds, NULL naming one that does not exist. */
static inline kvi_profile_paths scratch_paths(const char *config, const char *creds,
                                              const char *profile)
{
    kvi_profile_paths p;
    char *c = path_of(config ? config : "none"), *k = path_of(creds ? creds : "none");
    if (kvi_profile_paths_resolve(c, k, profile, &p) != 0)
        abort();
    free(c);
    free(k);
    return p;
}

/* Does hay contain needle? Says what it got when not, so a failed CHECK explains itself. */
static inline int contains(const char *hay, const char *needle)
{
    int ok = hay && strstr(hay, needle) != NULL;
    if (!ok)
        fprintf(stderr, "  [%s] lacks [%s]\n", hay ? hay : "(null)", needle);
    return ok;
}

#endif
