/* SPDX-License-Identifier: Apache-2.0 */
/* cli.h - shared pieces of the kvsws command. */
#ifndef KVSWS_CLI_H
#define KVSWS_CLI_H

#include <stdio.h>

/* The AWS CLI's exit codes, which scripts already test for. */
enum {
    EXIT_OK = 0,
    EXIT_BAD_ARGS = 252,
    EXIT_NO_CREDS_OR_REGION = 253,
    EXIT_SERVICE_ERROR = 254,
    EXIT_OTHER = 255
};

/* The whole command line (argv[0] is the program), as the kvsws executable runs it and as the
 * Python package's `kvsws` script does: prints to stdout/stderr, returns the exit code. */
int kvsws_cli_run(int argc, char **argv);

/* Global options, parsed before the command. */
typedef struct cli_globals {
    const char *region;
    const char *endpoint_url;
    const char *profile;
    const char *ca_bundle;
    const char *output; /* --output as given (checked: json, text or table), else NULL */
    int debug;
    long connect_timeout_s; /* -1: default */
    long read_timeout_s;    /* -1: default */
    long request_timeout_s; /* -1: default (the total of one request) */
} cli_globals;

/* Prints "kvsws: error: ..." with usage hint, returns EXIT_BAD_ARGS. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Consumes a global option at argv[*i] (advancing *i): 1 taken, 0 not a global, -1 bad. */
int cli_take_global(cli_globals *g, int argc, char **argv, int *i);

/* output.c: 1 when name is one of json, text, table. */
int cli_output_valid(const char *name);
/* The AWS CLI's "Invalid choice" error for --output; returns EXIT_BAD_ARGS. */
int cli_output_choice_error(const char *value);
/* The format to print in: --output, else AWS_DEFAULT_OUTPUT, else the profile's "output", else
 * json. NULL (error printed) for a bad configured value; *owned is freed by the caller. */
const char *cli_output_resolve(const cli_globals *g, char **owned);
/* Prints an operation's JSON output in format, timestamps as ISO 8601 in local time. */
void cli_print_output(const char *format, const char *operation, const char *json);
/* The same on out, a table fitted to columns (the tests' entry point). */
void cli_print_output_to(FILE *out, size_t columns, const char *format, const char *operation,
                         const char *json);

/* help.c: `kvsws help` and `kvsws COMMAND help`, on stdout; 0 printed, -1 unknown command. */
void cli_help_top(void);
int cli_help_command(const char *name);
/* The one-paragraph usage the error lines point to. */
void cli_help_usage(FILE *out);

/* `kvsws sign ...`: argv starts after "sign". */
int cli_sign(cli_globals *g, int argc, char **argv);

#endif
