/* SPDX-License-Identifier: Apache-2.0 */
/* ca_paths.c - which CA bundle a connection trusts when the user named none. */
#include "transport/ca_paths.h"

#include <sys/stat.h>
#include <unistd.h>

/* Where distributions keep the system's trusted CAs as one PEM file, most common first. */
static const char *const WELL_KNOWN_BUNDLES[] = {
    "/etc/ssl/certs/ca-certificates.crt",                /* Debian, Ubuntu, Alpine, Arch, Gentoo */
    "/etc/pki/tls/certs/ca-bundle.crt",                  /* RHEL, CentOS, Fedora, Amazon Linux */
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", /* RHEL 7+, where the above comes from */
    "/etc/ssl/ca-bundle.pem",                            /* openSUSE, SLES */
    "/etc/ssl/cert.pem",                                 /* Alpine, Arch (another name) */
    NULL,
};

static int readable_file(const char *path)
{
    struct stat st;
    return path && stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, R_OK) == 0;
}

const char *kvi_ca_pick_file(const char *curl_default, const char *const *candidates)
{
    if (readable_file(curl_default))
        return curl_default;
    for (int i = 0; candidates[i]; i++)
        if (readable_file(candidates[i]))
            return candidates[i];
    return NULL;
}

const char *kvi_ca_default_file(const char *curl_default)
{
    return kvi_ca_pick_file(curl_default, WELL_KNOWN_BUNDLES);
}
