/* SPDX-License-Identifier: Apache-2.0 */
/* ca_paths.h - which CA bundle a connection trusts when the user named none. */
#ifndef KVSWS_CA_PATHS_H
#define KVSWS_CA_PATHS_H

/* libcurl's built-in CA file (curl_default, from CURLINFO_CAINFO; may be NULL) when it can be read,
 * else the first readable of the distributions' well-known bundle files, else NULL. A libcurl built
 * on Debian (the wheel's) names Debian's path, which RHEL, SUSE and others do not have. */
const char *kvi_ca_default_file(const char *curl_default);

/* The same choice among the given candidates (a NULL-terminated list); for tests. */
const char *kvi_ca_pick_file(const char *curl_default, const char *const *candidates);

#endif
