/* SPDX-License-Identifier: Apache-2.0 */
/* test_ca_paths.c - the CA bundle used when none is named: libcurl's, else a distribution's. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "transport/ca_paths.h"
#include "check.h"

static void touch(const char *path, mode_t mode)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs("-----BEGIN CERTIFICATE-----\n", f);
        fclose(f);
    }
    chmod(path, mode);
}

int main(void)
{
    char dir[] = "/tmp/kvsws-ca-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char curl_file[256], rhel[256], suse[256], unreadable[256];
    snprintf(curl_file, sizeof curl_file, "%s/curl-default.crt", dir);
    snprintf(rhel, sizeof rhel, "%s/ca-bundle.crt", dir);
    snprintf(suse, sizeof suse, "%s/ca-bundle.pem", dir);
    snprintf(unreadable, sizeof unreadable, "%s/unreadable.pem", dir);
    const char *const candidates[] = {unreadable, dir, rhel, suse, NULL};

    /* nothing there: NULL, so libcurl reports the missing file itself */
    CHECK(kvi_ca_pick_file(curl_file, candidates) == NULL);
    CHECK(kvi_ca_pick_file(NULL, candidates) == NULL);

    /* libcurl's own file missing: the first candidate that is a readable file (not a directory) */
    touch(suse, 0644);
    CHECK_STR(kvi_ca_pick_file(curl_file, candidates), suse);
    touch(rhel, 0644);
    CHECK_STR(kvi_ca_pick_file(curl_file, candidates), rhel);
    CHECK_STR(kvi_ca_pick_file(NULL, candidates), rhel);
    /* an unreadable file is skipped (root reads anything: only checked for other users) */
    touch(unreadable, 0000);
    if (geteuid() != 0)
        CHECK_STR(kvi_ca_pick_file(curl_file, candidates), rhel);

    /* libcurl's own file, when it is there, wins */
    touch(curl_file, 0644);
    CHECK(kvi_ca_pick_file(curl_file, candidates) == curl_file);

    /* the real list: whatever it picks is readable */
    const char *found = kvi_ca_default_file("/nonexistent/ca.crt");
    CHECK(found == NULL || access(found, R_OK) == 0);
    CHECK(kvi_ca_default_file(curl_file) == curl_file);

    unlink(curl_file);
    unlink(rhel);
    unlink(suse);
    unlink(unreadable);
    rmdir(dir);
    return CHECK_DONE();
}
