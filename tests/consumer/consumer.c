/* SPDX-License-Identifier: Apache-2.0 */
/* consumer.c - links kvsws as a user does; prints its version and a status name. */
#include <kvsws.h>
#include <stdio.h>
#include <string.h>

/* A consumer sees the public header only, never the core's internal ones (core/src). */
#if defined(__has_include)
#if __has_include("sigv4.h") || __has_include("buf.h")
#error "kvsws's internal headers (core/src) are on a consumer's include path"
#endif
#endif

int main(void)
{
    printf("%s %s\n", kvsws_version(), kvsws_status_name(KVSWS_E_RESOURCE_NOT_FOUND));
    return strcmp(kvsws_version(), KVSWS_VERSION_STRING) == 0 ? 0 : 1;
}
