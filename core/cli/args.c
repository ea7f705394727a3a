/* SPDX-License-Identifier: Apache-2.0 */
/* args.c - the kvsws command's global options and its usage error. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "help.h"
#include "output.h"

int cli_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    /* The AWS CLI's layout: the usage and where help is, then the error line. */
    cli_help_usage(stderr);
    fputs("\nkvsws: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return EXIT_BAD_ARGS;
}

static int parse_seconds(const char *flag, const char *v, long *out)
{
    char *end = NULL;
    long n = strtol(v, &end, 10);
    if (!*v || *end || n < 0 || n > 3600) {
        cli_usage_error("argument %s: must be a whole number of seconds from 0 to 3600", flag);
        return -1;
    }
    *out = n;
    return 0;
}

/* The AWS CLI's argparse message for a bad --output: two choices a line, each padded to 40. */
static int output_choice_error(void)
{
    return cli_usage_error("argument --output: Invalid choice, valid choices are:\n\n"
                           "%-40s | %-40s\n%-40s",
                           cli_output_formats[0], cli_output_formats[1], cli_output_formats[2]);
}

int cli_take_global(cli_globals *g, int argc, char **argv, int *i)
{
    const char *flag = argv[*i];
    if (!strcmp(flag, "--debug")) {
        g->debug = 1;
        (*i)++;
        return 1;
    }
    static const char *const WITH_VALUE[] = {"--region", "--endpoint-url", "--profile",
                                             "--ca-bundle", "--output", "--cli-connect-timeout",
                                             "--cli-read-timeout", "--cli-request-timeout",
                                             NULL};
    int known = 0;
    for (int k = 0; WITH_VALUE[k]; k++)
        known |= !strcmp(flag, WITH_VALUE[k]);
    if (!known)
        return 0;
    if (*i + 1 >= argc) {
        cli_usage_error("argument %s: expected one argument", flag);
        return -1;
    }
    const char *v = argv[*i + 1];
    *i += 2;
    if (!strcmp(flag, "--region"))
        g->region = v;
    else if (!strcmp(flag, "--endpoint-url"))
        g->endpoint_url = v;
    else if (!strcmp(flag, "--profile"))
        g->profile = v;
    else if (!strcmp(flag, "--ca-bundle"))
        g->ca_bundle = v;
    else if (!strcmp(flag, "--output")) {
        if (!cli_output_valid(v))
            return output_choice_error(), -1;
        g->output = v;
    }
    else if (!strcmp(flag, "--cli-connect-timeout"))
        return parse_seconds(flag, v, &g->connect_timeout_s) ? -1 : 1;
    else if (!strcmp(flag, "--cli-request-timeout"))
        return parse_seconds(flag, v, &g->request_timeout_s) ? -1 : 1;
    else
        return parse_seconds(flag, v, &g->read_timeout_s) ? -1 : 1;
    return 1;
}
