/* SPDX-License-Identifier: Apache-2.0 */
/* output.h - printing an operation's answer as json, text or table, as the AWS CLI does. */
#ifndef KVSWS_CLI_OUTPUT_H
#define KVSWS_CLI_OUTPUT_H

#include <stddef.h>
#include <stdio.h>

#include "globals.h"

/* The formats, NULL-terminated: json, text, table. */
extern const char *const cli_output_formats[];
/* 1 when name is one of them. */
int cli_output_valid(const char *name);
/* The format to print in: --output, else AWS_DEFAULT_OUTPUT, else the profile's "output", else
 * json. NULL (error printed) for a bad configured value; *owned is freed by the caller. */
const char *cli_output_resolve(const cli_globals *g, char **owned);
/* Prints an operation's JSON output in format, timestamps as ISO 8601 in local time. */
void cli_print_output(const char *format, const char *operation, const char *json);
/* The same on out, a table fitted to columns (the tests' entry point). */
void cli_print_output_to(FILE *out, size_t columns, const char *format, const char *operation,
                         const char *json);

#endif
