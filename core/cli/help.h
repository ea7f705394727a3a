/* SPDX-License-Identifier: Apache-2.0 */
/* help.h - `kvsws help`, `kvsws COMMAND help` and the usage paragraph. */
#ifndef KVSWS_CLI_HELP_H
#define KVSWS_CLI_HELP_H

#include <stdio.h>

/* `kvsws help` and `kvsws COMMAND help`, on stdout; 0 printed, -1 unknown command. */
void cli_help_top(void);
int cli_help_command(const char *name);
/* The one-paragraph usage the error lines point to. */
void cli_help_usage(FILE *out);

#endif
