/* SPDX-License-Identifier: Apache-2.0 */
/* args.h - parsing the global options, and the usage error every command reports. */
#ifndef KVSWS_CLI_ARGS_H
#define KVSWS_CLI_ARGS_H

#include "globals.h"

/* Prints "kvsws: error: ..." with usage hint, returns EXIT_BAD_ARGS. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Consumes a global option at argv[*i] (advancing *i): 1 taken, 0 not a global, -1 bad. */
int cli_take_global(cli_globals *g, int argc, char **argv, int *i);

#endif
