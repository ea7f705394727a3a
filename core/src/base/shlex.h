/* SPDX-License-Identifier: Apache-2.0 */
/* shlex.h - splitting a command line or a section name into words, as Python's shlex does. */
#ifndef KVSWS_SHLEX_H
#define KVSWS_SHLEX_H

/* Splits s into words as Python's shlex.split does (POSIX mode: quotes, backslashes, no
 * comments), as botocore does for credential_process and "[profile NAME]". A NULL-terminated
 * malloc'd array, or NULL with *why set on a syntax error ("No closing quotation") or NULL
 * *why when out of memory. */
char **kvi_shlex_split(const char *s, const char **why);
void kvi_shlex_free(char **argv);

#endif
