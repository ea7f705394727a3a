/* SPDX-License-Identifier: Apache-2.0 */
/* main.c - the kvsws command: global options, the operations, AWS CLI exit codes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "help.h"
#include "kvsws.h"
#include "output.h"
#include "sign.h"

typedef struct command {
    const char *name;
    const char *operation;
    const char *const *flags; /* the --options it takes, each with a value */
} command;

static const char *const ARN_ONLY[] = {"--channel-arn", NULL};
static const char *const ARN_CLIENT[] = {"--channel-arn", "--client-id", NULL};
static const char *const ARN_ROLE[] = {"--channel-arn", "--role", "--protocols", NULL};
static const char *const ARN_OR_NAME[] = {"--channel-arn", "--channel-name", NULL};
static const char *const ICE[] = {"--channel-arn", "--client-id", "--service", NULL};

static const command COMMANDS[] = {
    {"join-storage-session", "JoinStorageSession", ARN_ONLY},
    {"join-storage-session-as-viewer", "JoinStorageSessionAsViewer", ARN_CLIENT},
    {"get-signaling-channel-endpoint", "GetSignalingChannelEndpoint", ARN_ROLE},
    {"describe-signaling-channel", "DescribeSignalingChannel", ARN_OR_NAME},
    {"describe-media-storage-configuration", "DescribeMediaStorageConfiguration", ARN_OR_NAME},
    {"get-ice-server-config", "GetIceServerConfig", ICE},
};

/* Returns the index of flag in the command's list, or -1. */
static int flag_index(const command *cmd, const char *flag)
{
    for (int i = 0; cmd->flags[i]; i++)
        if (strcmp(cmd->flags[i], flag) == 0)
            return i;
    return -1;
}

static void log_to_stderr(void *userdata, kvsws_log_level level, const char *line)
{
    (void)userdata;
    (void)level;
    fprintf(stderr, "kvsws: %s\n", line);
}

static int exit_code_for(kvsws_status st)
{
    if (st == KVSWS_E_NO_CREDENTIALS || st == KVSWS_E_NO_REGION ||
        st == KVSWS_E_CREDENTIAL_RETRIEVAL)
        return EXIT_NO_CREDS_OR_REGION;
    if (st == KVSWS_E_PARAM_VALIDATION || st == KVSWS_E_CONFIG)
        return EXIT_BAD_ARGS;
    if (st >= 200)
        return EXIT_SERVICE_ERROR;
    return EXIT_OTHER;
}

static int report(kvsws_error *err)
{
    kvsws_status st = kvsws_error_status(err);
    if (st == KVSWS_E_PARAM_VALIDATION || st == KVSWS_E_CONFIG)
        fprintf(stderr, "\nParameter validation failed:\n%s\n", kvsws_error_message(err));
    else
        fprintf(stderr, "\n%s\n", kvsws_error_describe(err));
    return exit_code_for(st);
}

static kvsws_client *make_client(const cli_globals *g, kvsws_error *err)
{
    kvsws_config *cfg = kvsws_config_new();
    kvsws_client *client = NULL;
    if (!cfg)
        return NULL;
    if (kvsws_config_set_str(cfg, KVSWS_OPT_REGION, g->region, err) ||
        kvsws_config_set_str(cfg, KVSWS_OPT_ENDPOINT_URL, g->endpoint_url, err) ||
        kvsws_config_set_str(cfg, KVSWS_OPT_PROFILE, g->profile, err) ||
        kvsws_config_set_str(cfg, KVSWS_OPT_CA_BUNDLE, g->ca_bundle, err) ||
        (g->connect_timeout_s > 0 &&
         kvsws_config_set_int(cfg, KVSWS_OPT_CONNECT_TIMEOUT_MS, g->connect_timeout_s * 1000,
                              err)) ||
        (g->read_timeout_s > 0 &&
         kvsws_config_set_int(cfg, KVSWS_OPT_READ_TIMEOUT_MS, g->read_timeout_s * 1000, err)) ||
        (g->request_timeout_s > 0 &&
         kvsws_config_set_int(cfg, KVSWS_OPT_REQUEST_TIMEOUT_MS, g->request_timeout_s * 1000,
                              err)) ||
        (g->debug && kvsws_config_set_int(cfg, KVSWS_OPT_LOG_LEVEL, KVSWS_LOG_DEBUG, err)) ||
        kvsws_config_set_str(cfg, KVSWS_OPT_USER_AGENT_EXTRA, "cli", err)) {
        kvsws_config_free(cfg);
        return NULL;
    }
    kvsws_config_set_log(cfg, log_to_stderr, NULL);
    kvsws_client_new(cfg, &client, err);
    kvsws_config_free(cfg);
    return client;
}

static int run_operation(cli_globals *g, const command *cmd, int argc, char **argv)
{
    const char *values[8] = {0};
    for (int i = 0; i < argc; i++) {
        /* "help" where a parameter could stand, as the AWS CLI takes it; --help too (below) */
        if (!strcmp(argv[i], "help") || !strcmp(argv[i], "--help")) {
            cli_help_command(cmd->name);
            return EXIT_OK;
        }
        int idx = flag_index(cmd, argv[i]);
        if (idx < 0) {
            int taken = cli_take_global(g, argc, argv, &i);
            if (taken < 0)
                return EXIT_BAD_ARGS;
            if (taken == 0)
                return cli_usage_error("Unknown options: %s", argv[i]);
            i--; /* the loop's i++ */
            continue;
        }
        if (i + 1 >= argc)
            return cli_usage_error("argument %s: expected one argument", argv[i]);
        values[idx] = argv[++i];
    }
    char *configured = NULL;
    const char *format = cli_output_resolve(g, &configured);
    if (!format)
        return EXIT_OTHER;
    kvsws_error *err = kvsws_error_new();
    kvsws_response *resp = NULL;
    kvsws_client *client = err ? make_client(g, err) : NULL;
    int rc = EXIT_OK;
    if (!client) {
        rc = err ? report(err) : EXIT_OTHER;
        goto done;
    }
    kvsws_status st;
    const char *op = cmd->operation;
    if (!strcmp(op, "JoinStorageSession"))
        st = kvsws_join_storage_session(client, values[0], &resp, err);
    else if (!strcmp(op, "JoinStorageSessionAsViewer"))
        st = kvsws_join_storage_session_as_viewer(client, values[0], values[1], &resp, err);
    else if (!strcmp(op, "GetSignalingChannelEndpoint"))
        st = kvsws_get_signaling_channel_endpoint(client, values[0], values[1], values[2], &resp,
                                                  err);
    else if (!strcmp(op, "DescribeSignalingChannel"))
        st = kvsws_describe_signaling_channel(client, values[0], values[1], &resp, err);
    else if (!strcmp(op, "DescribeMediaStorageConfiguration"))
        st = kvsws_describe_media_storage_configuration(client, values[0], values[1], &resp, err);
    else
        st = kvsws_get_ice_server_config(client, values[0], values[1], values[2], &resp, err);
    if (st != KVSWS_OK) {
        rc = report(err);
        goto done;
    }
    /* The join calls have an empty output: the AWS CLI prints nothing for them. */
    const char *json = kvsws_response_json(resp);
    if (strcmp(json, "{}") != 0)
        cli_print_output(format, op, json);
done:
    free(configured);
    kvsws_response_free(resp);
    kvsws_client_free(client);
    kvsws_error_free(err);
    return rc;
}

/* "help" (or --help) where sign expects an option, not as an option's value. */
static int sign_asks_for_help(int argc, char **argv)
{
    static const char *const SWITCHES[] = {"--no-normalize-path", "--presign", "--debug", NULL};
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "help") || !strcmp(argv[i], "--help"))
            return 1;
        int is_switch = 0;
        for (int k = 0; SWITCHES[k]; k++)
            is_switch |= !strcmp(argv[i], SWITCHES[k]);
        if (!is_switch)
            i++; /* its value */
    }
    return 0;
}

int kvsws_cli_run(int argc, char **argv)
{
    cli_globals g = {NULL, NULL, NULL, NULL, NULL, 0, -1, -1, -1};
    int i = 1;
    while (i < argc && strncmp(argv[i], "--", 2) == 0) {
        if (!strcmp(argv[i], "--version")) {
            printf("kvsws/%s\n", kvsws_version());
            return EXIT_OK;
        }
        if (!strcmp(argv[i], "--help")) {
            cli_help_top();
            return EXIT_OK;
        }
        int taken = cli_take_global(&g, argc, argv, &i);
        if (taken < 0)
            return EXIT_BAD_ARGS;
        if (taken == 0)
            return cli_usage_error("Unknown options: %s", argv[i]);
    }
    if (i >= argc)
        return cli_usage_error("the following arguments are required: command");
    const char *name = argv[i++];
    if (!strcmp(name, "help")) {
        if (i < argc)
            return cli_usage_error("Unknown options: %s", argv[i]);
        cli_help_top();
        return EXIT_OK;
    }
    if (!strcmp(name, "sign")) {
        if (sign_asks_for_help(argc - i, argv + i))
            return cli_help_command(name), EXIT_OK;
        return cli_sign(&g, argc - i, argv + i);
    }
    for (size_t c = 0; c < sizeof COMMANDS / sizeof COMMANDS[0]; c++)
        if (!strcmp(name, COMMANDS[c].name))
            return run_operation(&g, &COMMANDS[c], argc - i, argv + i);
    return cli_usage_error("argument command: Invalid choice: '%s'", name);
}
