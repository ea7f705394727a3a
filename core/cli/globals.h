/* SPDX-License-Identifier: Apache-2.0 */
/* globals.h - the kvsws command's exit codes and global options (types only, used by every file). */
#ifndef KVSWS_CLI_GLOBALS_H
#define KVSWS_CLI_GLOBALS_H

/* The AWS CLI's exit codes, which scripts already test for. */
enum {
    EXIT_OK = 0,
    EXIT_BAD_ARGS = 252,
    EXIT_NO_CREDS_OR_REGION = 253,
    EXIT_SERVICE_ERROR = 254,
    EXIT_OTHER = 255
};

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

#endif
