/* SPDX-License-Identifier: Apache-2.0 */
/* test_credentials_iot.c - the AWS IoT credentials provider without a network: its URL, its
 * answer, the six variables, the checks made before any I/O and its place in the chain. (The
 * mutual TLS exchange runs against the emulator: tests/integration/test_credentials_iot.py.) */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "credentials/chain.h"
#include "credentials/credentials.h"
#include "credentials/iot.h"
#include "env_support.h"
#include "base/error.h"

#define SECRET_MARK "SUPERSECRET"

static void test_url(void)
{
    const char *why = NULL;
    char *u = kvi_iot_credentials_url("c2abc.credentials.iot.us-west-2.amazonaws.com", "KvsAlias",
                                      &why);
    CHECK_STR(u, "https://c2abc.credentials.iot.us-west-2.amazonaws.com/role-aliases/KvsAlias/"
                 "credentials");
    free(u);
    u = kvi_iot_credentials_url("127.0.0.1:8443", "a=b,c@d-e_f", &why);
    CHECK_STR(u, "https://127.0.0.1:8443/role-aliases/a%3Db%2Cc%40d-e_f/credentials");
    free(u);
    u = kvi_iot_credentials_url("https://iot.example.com:9443/", "A", &why);
    CHECK_STR(u, "https://iot.example.com:9443/role-aliases/A/credentials");
    free(u);
    CHECK(kvi_iot_credentials_url("http://iot.example.com", "A", &why) == NULL);
    CHECK(why && contains(why, "https://"));
    CHECK(kvi_iot_credentials_url("iot example.com", "A", &why) == NULL);
    CHECK(kvi_iot_credentials_url("", "A", &why) == NULL);
}

static void test_parse(void)
{
    kvi_buf body = KVI_BUF_INIT;
    kvi_credentials c;
    memset(&c, 0, sizeof c);
    kvi_buf_puts(&body, "{\"credentials\": {\"accessKeyId\": \"ASIAIOT\", \"secretAccessKey\": \""
                        SECRET_MARK "1\", \"sessionToken\": \"" SECRET_MARK "2\", \"expiration\": "
                        "\"2030-01-02T03:04:05Z\"}}");
    CHECK(kvi_iot_credentials_parse(&body, &c) == NULL);
    CHECK_STR(c.access_key_id, "ASIAIOT");
    CHECK_STR(c.secret_access_key, SECRET_MARK "1");
    CHECK_STR(c.session_token, SECRET_MARK "2");
    CHECK_INT(c.expiration, 1893553445);
    CHECK_STR(c.source, "iot");
    kvi_credentials_free(&c);

    static const char *const bad[][2] = {
        {"{}", "no credentials object"},
        {"not json " SECRET_MARK, "no credentials object"},
        {"{\"credentials\": {\"secretAccessKey\": \"" SECRET_MARK "\"}}", "accessKeyId"},
        {"{\"credentials\": {\"accessKeyId\": \"A\", \"secretAccessKey\": \"" SECRET_MARK
         "\", \"expiration\": \"2030-01-02T03:04:05Z\"}}",
         "sessionToken"},
        {"{\"credentials\": {\"accessKeyId\": \"A\", \"secretAccessKey\": \"" SECRET_MARK
         "\", \"sessionToken\": \"T\", \"expiration\": 1893553445}}",
         "ISO 8601"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        kvi_buf_reset(&body);
        kvi_buf_puts(&body, bad[i][0]);
        const char *why = kvi_iot_credentials_parse(&body, &c);
        CHECK(why && contains(why, bad[i][1]));
        CHECK(why && !strstr(why, SECRET_MARK));
        CHECK(c.access_key_id == NULL);
    }
    kvi_buf_free(&body);
}

static void set_iot_env(const char *endpoint, const char *key_file)
{
    char *cert = path_of("device.pem");
    setenv("AWS_IOT_CORE_CREDENTIAL_ENDPOINT", endpoint, 1);
    setenv("AWS_IOT_CORE_CERT", cert, 1);
    setenv("AWS_IOT_CORE_PRIVATE_KEY", key_file, 1);
    setenv("AWS_IOT_CORE_ROLE_ALIAS", "KvsCameraRoleAlias", 1);
    setenv("AWS_IOT_CORE_THING_NAME", "camera-1", 1);
    free(cert);
}

static void test_env(kvsws_error *err)
{
    reset_env();
    kvi_iot_config cfg;
    int found = -1;
    CHECK_INT(kvi_iot_config_from_env(&cfg, &found, err), KVSWS_OK);
    CHECK_INT(found, 0);

    /* The CA path alone is the KVS C SDK's TLS setting, not an IoT configuration. */
    setenv("AWS_KVS_CACERT_PATH", "/etc/ssl/certs/ca-certificates.crt", 1);
    CHECK_INT(kvi_iot_config_from_env(&cfg, &found, err), KVSWS_OK);
    CHECK_INT(found, 0);

    setenv("AWS_IOT_CORE_CERT", "/dev/null", 1);
    setenv("AWS_IOT_CORE_THING_NAME", "camera-1", 1);
    CHECK_INT(kvi_iot_config_from_env(&cfg, &found, err), KVSWS_E_CREDENTIAL_RETRIEVAL);
    CHECK_INT(found, 1);
    CHECK(contains(kvsws_error_message(err), "missing: AWS_IOT_CORE_CREDENTIAL_ENDPOINT, "
                                             "AWS_IOT_CORE_PRIVATE_KEY, AWS_IOT_CORE_ROLE_ALIAS ("));

    char *key = path_of("device.key");
    set_iot_env("iot.example.com", key);
    CHECK_INT(kvi_iot_config_from_env(&cfg, &found, err), KVSWS_OK);
    CHECK_INT(found, 1);
    CHECK_STR(cfg.value[KVI_IOT_ENDPOINT], "iot.example.com");
    CHECK_STR(cfg.value[KVI_IOT_KEY], key);
    CHECK_STR(cfg.value[KVI_IOT_CA_FILE], "/etc/ssl/certs/ca-certificates.crt");
    CHECK(cfg.names == kvi_iot_env_names);
    kvi_iot_config_free(&cfg);
    free(key);
}

static void test_check(kvsws_error *err)
{
    reset_env();
    write_file("device.pem", "-----BEGIN CERTIFICATE-----\n");
    write_file("device.key", "-----BEGIN PRIVATE KEY-----\n");
    kvi_iot_config cfg = {{NULL}, kvi_iot_option_names};
    cfg.value[KVI_IOT_ENDPOINT] = strdup("iot.example.com");
    cfg.value[KVI_IOT_CERT] = path_of("device.pem");
    cfg.value[KVI_IOT_KEY] = path_of("device.key");
    cfg.value[KVI_IOT_ROLE_ALIAS] = strdup("KvsCameraRoleAlias");
    CHECK_INT(kvi_iot_config_check(&cfg, err), KVSWS_E_PARAM_VALIDATION);
    CHECK(contains(kvsws_error_message(err), "Missing KVSWS_OPT_IOT_THING_NAME"));
    cfg.value[KVI_IOT_THING_NAME] = strdup("camera-1");
    CHECK_INT(kvi_iot_config_check(&cfg, err), KVSWS_OK);

    free(cfg.value[KVI_IOT_THING_NAME]);
    cfg.value[KVI_IOT_THING_NAME] = strdup("camera/1");
    CHECK_INT(kvi_iot_config_check(&cfg, err), KVSWS_E_PARAM_VALIDATION);
    CHECK(contains(kvsws_error_message(err), "Invalid KVSWS_OPT_IOT_THING_NAME \"camera/1\": a "
                                             "thing name is 1 to 128 characters"));
    free(cfg.value[KVI_IOT_THING_NAME]);
    cfg.value[KVI_IOT_THING_NAME] = strdup("camera-1");

    free(cfg.value[KVI_IOT_ROLE_ALIAS]);
    cfg.value[KVI_IOT_ROLE_ALIAS] = strdup("role alias");
    CHECK_INT(kvi_iot_config_check(&cfg, err), KVSWS_E_PARAM_VALIDATION);
    CHECK(contains(kvsws_error_message(err), "Invalid KVSWS_OPT_IOT_ROLE_ALIAS"));
    free(cfg.value[KVI_IOT_ROLE_ALIAS]);
    cfg.value[KVI_IOT_ROLE_ALIAS] = strdup("KvsCameraRoleAlias");

    free(cfg.value[KVI_IOT_ENDPOINT]);
    cfg.value[KVI_IOT_ENDPOINT] = strdup("http://iot.example.com");
    CHECK_INT(kvi_iot_config_check(&cfg, err), KVSWS_E_PARAM_VALIDATION);
    CHECK(contains(kvsws_error_message(err), "Invalid KVSWS_OPT_IOT_CREDENTIAL_ENDPOINT"));
    free(cfg.value[KVI_IOT_ENDPOINT]);
    cfg.value[KVI_IOT_ENDPOINT] = strdup("iot.example.com:8443");

    /* A key the process cannot read: the error names the setting and the file. */
    free(cfg.value[KVI_IOT_KEY]);
    cfg.value[KVI_IOT_KEY] = path_of("missing.key");
    CHECK_INT(kvi_iot_config_check(&cfg, err), KVSWS_E_PARAM_VALIDATION);
    CHECK(contains(kvsws_error_message(err), "Cannot read the private key "
                                             "(KVSWS_OPT_IOT_PRIVATE_KEY_FILE) \""));
    CHECK(contains(kvsws_error_message(err), "missing.key\": No such file or directory"));
    free(cfg.value[KVI_IOT_KEY]);
    cfg.value[KVI_IOT_KEY] = strdup(scratch_dir);
    CHECK_INT(kvi_iot_config_check(&cfg, err), KVSWS_E_PARAM_VALIDATION);
    CHECK(contains(kvsws_error_message(err), "\": not a file"));
    kvi_iot_config_free(&cfg);
}

/* A listening socket nobody should connect to: proves the checks come before any I/O. */
static int listen_loopback(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 4) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0)
        abort();
    *port = ntohs(a.sin_port);
    return fd;
}

static int accepted_any(int fd)
{
    int c = accept(fd, NULL, NULL);
    if (c >= 0) {
        close(c);
        return 1;
    }
    return errno != EAGAIN && errno != EWOULDBLOCK;
}

static void test_chain(kvsws_error *err)
{
    reset_env();
    write_file("device.pem", "-----BEGIN CERTIFICATE-----\n");
    write_file("creds", "[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key = "
                        SECRET_MARK "\n[other]\naws_access_key_id = AKIDOTHER\n"
                        "aws_secret_access_key = " SECRET_MARK "\n");
    int port = 0, fd = listen_loopback(&port);
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "127.0.0.1:%d", port);
    char *key = path_of("unreadable.key");
    write_file("unreadable.key", "-----BEGIN PRIVATE KEY-----\n" SECRET_MARK "\n");
    chmod(key, 0);
    if (geteuid() == 0) {
        /* root reads any file: a path that does not exist stands in for it */
        free(key);
        key = path_of("absent.key");
    }
    set_iot_env(endpoint, key);
    /* IoT wins over the environment's keys and the profile: a device expects its certificate used. */
    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", SECRET_MARK, 1);

    kvi_profile_paths p = scratch_paths("config", "creds", NULL);
    kvi_credential_chain *chain = kvi_credential_chain_new(NULL, NULL, NULL, &p);
    kvi_credentials c;
    CHECK_INT(kvi_credential_chain_get(chain, time(NULL), 300, &c, err), KVSWS_E_PARAM_VALIDATION);
    CHECK(contains(kvsws_error_message(err), "Cannot read the private key (AWS_IOT_CORE_PRIVATE_KEY)"));
    CHECK(contains(kvsws_error_message(err), key));
    CHECK(!strstr(kvsws_error_message(err), SECRET_MARK));
    CHECK(!accepted_any(fd));
    kvi_credential_chain_free(chain);
    kvi_profile_paths_free(&p);

    /* A profile given as an option beats the environment: its keys, not IoT's. */
    p = scratch_paths("config", "creds", "other");
    chain = kvi_credential_chain_new(NULL, NULL, NULL, &p);
    CHECK_INT(kvi_credential_chain_get(chain, time(NULL), 300, &c, err), KVSWS_OK);
    CHECK_STR(c.access_key_id, "AKIDOTHER");
    kvi_credentials_free(&c);
    kvi_credential_chain_free(chain);
    kvi_profile_paths_free(&p);

    /* Partial variables: the error names what is missing, before any I/O. */
    unsetenv("AWS_IOT_CORE_ROLE_ALIAS");
    p = scratch_paths("config", "creds", NULL);
    chain = kvi_credential_chain_new(NULL, NULL, NULL, &p);
    CHECK_INT(kvi_credential_chain_get(chain, time(NULL), 300, &c, err),
              KVSWS_E_CREDENTIAL_RETRIEVAL);
    CHECK(contains(kvsws_error_message(err), "missing: AWS_IOT_CORE_ROLE_ALIAS"));
    kvi_credential_chain_free(chain);

    /* Explicit options come first, even over the variables. */
    chain = kvi_credential_chain_new(NULL, NULL, NULL, &p);
    kvi_iot_config opts = {{NULL}, kvi_iot_option_names};
    opts.value[KVI_IOT_ENDPOINT] = endpoint;
    opts.value[KVI_IOT_CERT] = path_of("device.pem");
    opts.value[KVI_IOT_KEY] = path_of("device.pem");
    opts.value[KVI_IOT_ROLE_ALIAS] = "Alias";
    opts.value[KVI_IOT_THING_NAME] = "thing";
    opts.value[KVI_IOT_CA_FILE] = path_of("no-such-ca.pem");
    CHECK_INT(kvi_credential_chain_attach_iot(chain, &opts, NULL, 1000, 2000), 0);
    free(opts.value[KVI_IOT_CERT]);
    free(opts.value[KVI_IOT_KEY]);
    free(opts.value[KVI_IOT_CA_FILE]);
    CHECK_INT(kvi_credential_chain_get(chain, time(NULL), 300, &c, err), KVSWS_E_PARAM_VALIDATION);
    CHECK(contains(kvsws_error_message(err), "Cannot read the CA certificates "
                                             "(KVSWS_OPT_IOT_CA_FILE)"));
    CHECK(!accepted_any(fd));
    kvi_credential_chain_free(chain);
    kvi_profile_paths_free(&p);
    close(fd);
    free(key);
}

/* The public API: options given in part fail kvsws_client_new, naming the missing one. */
static void test_client_options(kvsws_error *err)
{
    reset_env();
    kvsws_config *cfg = kvsws_config_new();
    CHECK_INT(kvsws_config_set_str(cfg, KVSWS_OPT_REGION, "us-west-2", err), KVSWS_OK);
    CHECK_INT(kvsws_config_set_str(cfg, KVSWS_OPT_IOT_CREDENTIAL_ENDPOINT, "iot.example.com", err),
              KVSWS_OK);
    CHECK_INT(kvsws_config_set_str(cfg, KVSWS_OPT_IOT_THING_NAME, "camera-1", err), KVSWS_OK);
    kvsws_client *client = NULL;
    CHECK_INT(kvsws_client_new(cfg, &client, err), KVSWS_E_PARAM_VALIDATION);
    CHECK(contains(kvsws_error_message(err), "Missing KVSWS_OPT_IOT_CERT_FILE"));
    CHECK(client == NULL);
    kvsws_config_free(cfg);

    /* AWS_KVS_CACERT_PATH is the KVS calls' CA file too (as in the KVS C SDK): checked early. */
    setenv("AWS_KVS_CACERT_PATH", "/nonexistent/ca.pem", 1);
    cfg = kvsws_config_new();
    kvsws_config_set_str(cfg, KVSWS_OPT_REGION, "us-west-2", err);
    CHECK_INT(kvsws_client_new(cfg, &client, err), KVSWS_E_PARAM_VALIDATION);
    CHECK(contains(kvsws_error_message(err), "Invalid AWS_KVS_CACERT_PATH: cannot read "
                                             "\"/nonexistent/ca.pem\""));
    kvsws_config_free(cfg);
}

int main(void)
{
    if (scratch_create("iot") != 0)
        return 1;
    kvsws_error *err = kvsws_error_new();
    test_url();
    test_parse();
    test_env(err);
    test_check(err);
    test_chain(err);
    test_client_options(err);
    kvsws_error_free(err);
    scratch_remove();
    return CHECK_DONE();
}
