/* SPDX-License-Identifier: Apache-2.0 */
/* abi_check.c - the public ABI through the shared library only: names, options, validation. */
#include <stdlib.h>

#include "check.h"
#include "kvsws.h"

static void clear_aws_env(void)
{
    const char *vars[] = {"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_ACCESS_KEY_ID",
                          "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL",
                          "AWS_ENDPOINT_URL_KINESIS_VIDEO", "AWS_CA_BUNDLE", "AWS_MAX_ATTEMPTS",
                          NULL};
    for (int i = 0; vars[i]; i++)
        unsetenv(vars[i]);
    setenv("AWS_CONFIG_FILE", "/nonexistent/kvsws-config", 1);
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/kvsws-credentials", 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
}

static void test_names(void)
{
    CHECK_STR(kvsws_version(), KVSWS_VERSION_STRING);
    CHECK_STR(kvsws_status_name(KVSWS_OK), "KVSWS_OK");
    CHECK_STR(kvsws_status_name(KVSWS_E_RESOURCE_NOT_FOUND), "KVSWS_E_RESOURCE_NOT_FOUND");
    CHECK_STR(kvsws_status_name((kvsws_status)12345), "KVSWS_E_UNKNOWN");
    /* The numbers are part of the ABI: pinned here so a renumbering fails. */
    CHECK_INT(KVSWS_E_PARAM_VALIDATION, 1);
    CHECK_INT(KVSWS_E_CONNECT, 100);
    CHECK_INT(KVSWS_E_ACCESS_DENIED, 200);
    CHECK_INT(KVSWS_E_THROTTLING, 230);
    CHECK_INT(KVSWS_E_SERVICE_OTHER, 299);
    CHECK_INT(KVSWS_E_STORAGE_NOT_ENABLED, 300);
    CHECK_STR(kvsws_status_name(KVSWS_E_STORAGE_NOT_ENABLED), "KVSWS_E_STORAGE_NOT_ENABLED");
    CHECK_STR(kvsws_error_correlation_id(NULL), "");
}

static void test_config(void)
{
    kvsws_error *err = kvsws_error_new();
    kvsws_config *cfg = kvsws_config_new();
    CHECK_INT(kvsws_config_set_str(cfg, (kvsws_option)999, "x", err), KVSWS_E_CONFIG);
    CHECK_INT(kvsws_config_set_str(cfg, KVSWS_OPT_MAX_ATTEMPTS, "3", err), KVSWS_E_CONFIG);
    CHECK(strstr(kvsws_error_message(err), "KVSWS_OPT_MAX_ATTEMPTS") != NULL);
    CHECK_INT(kvsws_config_set_int(cfg, KVSWS_OPT_MAX_ATTEMPTS, 0, err), KVSWS_E_CONFIG);
    CHECK(strstr(kvsws_error_message(err), "between 1 and 20") != NULL);
    CHECK_INT(kvsws_config_set_int(cfg, KVSWS_OPT_REGION, 1, err), KVSWS_E_CONFIG);
    CHECK_INT(kvsws_config_set_int(cfg, KVSWS_OPT_MAX_ATTEMPTS, 5, err), KVSWS_OK);
    CHECK_INT(kvsws_error_status(err), KVSWS_OK); /* success clears the error */

    kvsws_client *client = NULL;
    CHECK_INT(kvsws_client_new(cfg, &client, err), KVSWS_E_NO_REGION);
    CHECK(client == NULL);
    CHECK_STR(kvsws_error_code(err), "NoRegionError");
    CHECK(strstr(kvsws_error_message(err), "AWS_REGION") != NULL);

    kvsws_config_set_str(cfg, KVSWS_OPT_REGION, "us-west-2", err);
    kvsws_config_set_str(cfg, KVSWS_OPT_ACCESS_KEY_ID, "AKIDEXAMPLE", err);
    CHECK_INT(kvsws_client_new(cfg, &client, err), KVSWS_E_PARAM_VALIDATION);
    CHECK(strstr(kvsws_error_message(err), "secret") != NULL);
    kvsws_config_set_str(cfg, KVSWS_OPT_SECRET_ACCESS_KEY, "not-a-real-secret-0123456789", err);
    kvsws_config_set_str(cfg, KVSWS_OPT_ENDPOINT_URL, "ftp//nowhere", err);
    CHECK_INT(kvsws_client_new(cfg, &client, err), KVSWS_E_PARAM_VALIDATION);
    CHECK(strstr(kvsws_error_message(err), "endpoint") != NULL);
    kvsws_config_free(cfg);
    kvsws_error_free(err);
}

/* Input is rejected before any I/O: the endpoint is a closed port, so reaching it would fail
 * with KVSWS_E_CONNECT instead of the validation error. */
static void test_validation_before_io(void)
{
    kvsws_error *err = kvsws_error_new();
    kvsws_config *cfg = kvsws_config_new();
    kvsws_config_set_str(cfg, KVSWS_OPT_REGION, "us-west-2", err);
    kvsws_config_set_str(cfg, KVSWS_OPT_ACCESS_KEY_ID, "AKIDEXAMPLE", err);
    kvsws_config_set_str(cfg, KVSWS_OPT_SECRET_ACCESS_KEY, "not-a-real-secret-0123456789", err);
    kvsws_config_set_str(cfg, KVSWS_OPT_ENDPOINT_URL, "https://127.0.0.1:9", err);
    kvsws_config_set_int(cfg, KVSWS_OPT_MAX_ATTEMPTS, 1, err);
    kvsws_client *client = NULL;
    CHECK_INT(kvsws_client_new(cfg, &client, err), KVSWS_OK);
    CHECK_STR(kvsws_client_region(client), "us-west-2");

    static const struct {
        const char *op, *input, *field;
    } bad[] = {
        {"JoinStorageSession", "{}", "channelArn"},
        {"JoinStorageSession", "{\"channelArn\":\"not-an-arn\"}", "channelArn"},
        {"JoinStorageSession", "{\"channelArn\":5}", "channelArn"},
        {"JoinStorageSession", "{\"ChannelARN\":\"arn:aws:kinesisvideo:us-west-2:1:channel/a/1\"}",
         "ChannelARN"},
        {"JoinStorageSessionAsViewer",
         "{\"channelArn\":\"arn:aws:kinesisvideo:us-west-2:123:channel/a/1\",\"clientId\":\"a b\"}",
         "clientId"},
        {"GetSignalingChannelEndpoint",
         "{\"ChannelARN\":\"arn:aws:kinesisvideo:us-west-2:123:channel/a/1\","
         "\"SingleMasterChannelEndpointConfiguration\":{\"Protocols\":[\"UDP\"]}}",
         "Protocols[0]"},
        {"GetSignalingChannelEndpoint",
         "{\"ChannelARN\":\"arn:aws:kinesisvideo:us-west-2:123:channel/a/1\","
         "\"SingleMasterChannelEndpointConfiguration\":{\"Role\":\"BOSS\"}}",
         "Role"},
        {"DescribeSignalingChannel", "{}", "ChannelName"},
        {"GetIceServerConfig",
         "{\"ChannelARN\":\"arn:aws:kinesisvideo:us-west-2:123:channel/a/1\",\"Service\":\"STUN\"}",
         "Service"},
        {"JoinStorageSession", "not json", "JSON"},
        {"NoSuchOperation", "{}", "NoSuchOperation"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        kvsws_response *resp = (kvsws_response *)1;
        kvsws_status st = kvsws_client_call(client, bad[i].op, bad[i].input, NULL, &resp, err);
        CHECK_INT(st, KVSWS_E_PARAM_VALIDATION);
        CHECK(resp == NULL);
        CHECK_INT(kvsws_error_attempts(err), 0);
        if (!strstr(kvsws_error_message(err), bad[i].field))
            fprintf(stderr, "case %zu: message does not name %s: %s\n", i, bad[i].field,
                    kvsws_error_message(err));
        CHECK(strstr(kvsws_error_message(err), bad[i].field) != NULL);
        CHECK_STR(kvsws_error_code(err), "ParamValidationError");
    }
    /* A valid input does reach the (closed) endpoint: the negative control for the above. */
    CHECK_INT(kvsws_describe_signaling_channel(client, NULL, "demo", NULL, err), KVSWS_E_CONNECT);
    CHECK_STR(kvsws_error_code(err), "EndpointConnectionError");
    CHECK_STR(kvsws_error_operation(err), "DescribeSignalingChannel");
    CHECK_INT(kvsws_error_attempts(err), 1);
    kvsws_client_free(client);
    kvsws_config_free(cfg);
    kvsws_error_free(err);
}

static void test_cancel(void)
{
    kvsws_cancel *c = kvsws_cancel_new();
    CHECK(c != NULL);
    kvsws_cancel_trigger(c);
    kvsws_cancel_reset(c);
    kvsws_cancel_free(c);
    kvsws_cancel_free(NULL);
    kvsws_error_free(NULL);
    kvsws_response_free(NULL);
    kvsws_client_free(NULL);
    kvsws_config_free(NULL);
    CHECK_STR(kvsws_error_describe(NULL), "");
}

static kvsws_client *client_with(const char *region, const char *ak, const char *sk,
                                 const char *token)
{
    kvsws_config *cfg = kvsws_config_new();
    kvsws_config_set_str(cfg, KVSWS_OPT_REGION, region, NULL);
    kvsws_config_set_str(cfg, KVSWS_OPT_ACCESS_KEY_ID, ak, NULL);
    kvsws_config_set_str(cfg, KVSWS_OPT_SECRET_ACCESS_KEY, sk, NULL);
    kvsws_config_set_str(cfg, KVSWS_OPT_SESSION_TOKEN, token, NULL);
    kvsws_client *client = NULL;
    kvsws_client_new(cfg, &client, NULL);
    kvsws_config_free(cfg);
    return client;
}

/* kvsws_sign_request against published vectors: the AWS suite's get-vanilla (header mode) and
 * the KVS WebRTC SDKs' golden presigned WSS URL (with and without a session token). */
static void test_sign_request(void)
{
    kvsws_error *err = kvsws_error_new();
    char *out = NULL;
    kvsws_client *c = client_with("us-east-1", "AKIDEXAMPLE",
                                  "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", NULL);
    CHECK_INT(kvsws_sign_request(c, "service", "GET", "https://example.amazonaws.com/", NULL, NULL,
                                 0, 0, 1440938160, &out, err),
              KVSWS_OK);
    CHECK(out && strstr(out, "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d"
                             "763fbf31") != NULL);
    CHECK(out && strstr(out, "X-Amz-Date: 20150830T123600Z") != NULL);
    kvsws_string_free(out);
    CHECK_INT(kvsws_sign_request(c, "service", "GET", "example.amazonaws.com/", NULL, NULL, 0, 0,
                                 0, &out, err),
              KVSWS_E_PARAM_VALIDATION);
    CHECK(strstr(kvsws_error_message(err), "url") != NULL);
    CHECK_INT(kvsws_sign_request(c, "service", "GET", "https://a/", NULL, NULL, 0, 604801, 0, &out,
                                 err),
              KVSWS_E_PARAM_VALIDATION);
    CHECK(strstr(kvsws_error_message(err), "expires_s") != NULL);
    const char *bad_headers[] = {"no colon here", NULL};
    CHECK_INT(kvsws_sign_request(c, "service", "GET", "https://a/", bad_headers, NULL, 0, 0, 0,
                                 &out, err),
              KVSWS_E_PARAM_VALIDATION);
    kvsws_client_free(c);

    const char *wss = "wss://kvs.awsamazon.com/?X-Amz-TestParam=test-param-value";
    c = client_with("us-west-2", "AKIA4F7WJQR7FMMWMNXI", "FakeSecretKey", "FakeSessionToken");
    CHECK_INT(kvsws_sign_request(c, "kinesisvideo", "GET", wss, NULL, NULL, 0, 299, 1575158400,
                                 &out, err),
              KVSWS_OK);
    CHECK(out && strstr(out, "X-Amz-Signature=fc268038be276315822b4f73eafd28ee3a5632a2a35fdb0a88"
                             "db9a42b13d6c92") != NULL);
    CHECK(out && strncmp(out, "wss://kvs.awsamazon.com/?", 25) == 0);
    CHECK(out && strstr(out, "X-Amz-Security-Token=FakeSessionToken") != NULL);
    kvsws_string_free(out);
    kvsws_client_free(c);
    c = client_with("us-west-2", "AKIA4F7WJQR7FMMWMNXI", "FakeSecretKey", NULL);
    CHECK_INT(kvsws_sign_request(c, "kinesisvideo", "GET", wss, NULL, NULL, 0, 299, 1575158400,
                                 &out, err),
              KVSWS_OK);
    CHECK(out && strstr(out, "X-Amz-Signature=be1e78950d956a8a9a1997417099ddbd7455619f3d08c4ad20"
                             "e1e272179ca695") != NULL);
    kvsws_string_free(out);
    kvsws_client_free(c);
    kvsws_error_free(err);
}

/* Session options are checked at start, before any I/O (the endpoint is a closed port). */
static void test_session_validation(void)
{
    kvsws_error *err = kvsws_error_new();
    kvsws_client *c = client_with("us-west-2", "AKIDEXAMPLE", "not-a-real-secret-0123456789",
                                  NULL);
    kvsws_session *s = NULL;
    CHECK_INT(kvsws_session_new(c, &s, err), KVSWS_OK);
    kvsws_event *ev = NULL;
    CHECK_INT(kvsws_session_next_event(s, 0, &ev, err), KVSWS_E_CONFIG); /* not started */
    CHECK_INT(kvsws_session_start(s, err), KVSWS_E_PARAM_VALIDATION);      /* no channel */
    CHECK(strstr(kvsws_error_message(err), "channel") != NULL);
    CHECK_INT(kvsws_session_set_str(s, KVSWS_SESSION_OPT_CHANNEL_ARN, "arn:nope", err), KVSWS_OK);
    CHECK_INT(kvsws_session_start(s, err), KVSWS_E_PARAM_VALIDATION);
    CHECK(strstr(kvsws_error_message(err), "channelArn") != NULL);
    kvsws_session_set_str(s, KVSWS_SESSION_OPT_CHANNEL_ARN,
                          "arn:aws:kinesisvideo:us-west-2:123456789012:channel/a/1", err);
    CHECK_INT(kvsws_session_set_int(s, KVSWS_SESSION_OPT_ROLE, KVSWS_ROLE_VIEWER, err), KVSWS_OK);
    CHECK_INT(kvsws_session_start(s, err), KVSWS_E_PARAM_VALIDATION); /* viewer needs a client id */
    CHECK(strstr(kvsws_error_message(err), "clientId") != NULL ||
          strstr(kvsws_error_message(err), "client id") != NULL);
    CHECK_INT(kvsws_session_set_int(s, KVSWS_SESSION_OPT_ROLE, KVSWS_ROLE_MASTER, err), KVSWS_OK);
    kvsws_session_set_str(s, KVSWS_SESSION_OPT_CLIENT_ID, "viewer-1", err);
    CHECK_INT(kvsws_session_start(s, err), KVSWS_E_PARAM_VALIDATION); /* master has no client id */
    CHECK_INT(kvsws_session_set_int(s, KVSWS_SESSION_OPT_OFFER_TIMEOUT_MS, 5, err), KVSWS_E_CONFIG);
    CHECK(strstr(kvsws_error_message(err), "KVSWS_SESSION_OPT_OFFER_TIMEOUT_MS") != NULL);
    CHECK_INT(kvsws_session_set_str(s, KVSWS_SESSION_OPT_ROLE, "MASTER", err), KVSWS_E_CONFIG);
    CHECK_INT(kvsws_session_send_answer(s, "v=0", NULL, err), KVSWS_E_PARAM_VALIDATION);
    CHECK(strstr(kvsws_error_message(err), "H.264") != NULL);
    CHECK(kvsws_session_fd(s) >= 0);
    CHECK_INT(kvsws_session_get_state(s), KVSWS_STATE_NEW);
    CHECK_STR(kvsws_session_state_name(KVSWS_STATE_RECONNECTING), "reconnecting");
    /* Stats before start: all zero, state "new", no error, no offer yet. */
    char *stats = NULL;
    CHECK_INT(kvsws_session_stats_json(s, &stats, err), KVSWS_OK);
    CHECK(stats && strstr(stats, "\"state\":\"new\"") != NULL);
    CHECK(strstr(stats, "\"joins_sent\":0,") != NULL);
    CHECK(strstr(stats, "\"go_away\":0,") != NULL);
    CHECK(strstr(stats, "\"offer_from_join_ms\":null") != NULL);
    CHECK(strstr(stats, "\"last_error\":null") != NULL);
    kvsws_string_free(stats);
    CHECK_INT(kvsws_session_stats_json(s, NULL, err), KVSWS_E_PARAM_VALIDATION);
    CHECK_INT(kvsws_session_stats_json(NULL, &stats, err), KVSWS_E_PARAM_VALIDATION);
    kvsws_session_close(s); /* before start: harmless */
    kvsws_session_free(s);
    /* NULL-safe accessors */
    CHECK_STR(kvsws_event_json(NULL), "{}");
    CHECK_STR(kvsws_event_sdp(NULL), "");
    CHECK_INT(kvsws_event_sdp_mline_index(NULL), -1);
    kvsws_event_free(NULL);
    kvsws_session_free(NULL);
    kvsws_client_free(c);
    kvsws_error_free(err);
}

int main(void)
{
    clear_aws_env();
    test_names();
    test_config();
    test_validation_before_io();
    test_cancel();
    test_sign_request();
    test_session_validation();
    return CHECK_DONE();
}
