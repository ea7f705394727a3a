/* SPDX-License-Identifier: Apache-2.0 */
/* cli.h - shared pieces of the kvsws command. */
#ifndef KVSWS_CLI_H
#define KVSWS_CLI_H

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
    int debug;
    long connect_timeout_s; /* -1: default */
    long read_timeout_s;    /* -1: default */
    long request_timeout_s; /* -1: default (the total of one request) */
} cli_globals;

/* Prints "kvsws: error: ..." with usage hint, returns EXIT_BAD_ARGS. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Consumes a global option at argv[*i] (advancing *i): 1 taken, 0 not a global, -1 bad. */
int cli_take_global(cli_globals *g, int argc, char **argv, int *i);

/* `kvsws sign ...`: argv starts after "sign". */
int cli_sign(cli_globals *g, int argc, char **argv);

#endif
