/* SPDX-License-Identifier: Apache-2.0 */
/* consumer.c - links the installed library; prints its version and a status name. */
#include <kvsws.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
    printf("%s %s\n", kvsws_version(), kvsws_status_name(KVSWS_E_RESOURCE_NOT_FOUND));
    return strcmp(kvsws_version(), KVSWS_VERSION_STRING) == 0 ? 0 : 1;
}
