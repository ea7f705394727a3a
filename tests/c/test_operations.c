/* SPDX-License-Identifier: Apache-2.0 */
/* test_operations.c - operation models, input validation rules and URL splitting. */
#include <cjson/cJSON.h>

#include "check.h"
#include "base/error.h"
#include "api/operations.h"
#include "base/url.h"

#define ARN "arn:aws:kinesisvideo:us-west-2:123456789012:channel/demo/1234567890123"

static kvsws_status validate(const char *op, const char *json, kvsws_error *err)
{
    cJSON *in = cJSON_Parse(json);
    kvsws_status st = kvi_operation_validate(kvi_operation_find(op), in, err);
    cJSON_Delete(in);
    return st;
}

static void test_models(void)
{
    const kvi_operation *join = kvi_operation_find("JoinStorageSession");
    CHECK(join != NULL);
    CHECK_STR(join->path, "/joinStorageSession");
    CHECK_INT(join->endpoint, KVI_ENDPOINT_WEBRTC_STORAGE);
    CHECK_INT(join->idempotent, 0);
    CHECK_STR(kvi_operation_find("GetIceServerConfig")->path, "/v1/get-ice-server-config");
    CHECK_INT(kvi_operation_find("GetIceServerConfig")->endpoint, KVI_ENDPOINT_SIGNALING);
    CHECK_INT(kvi_operation_find("DescribeSignalingChannel")->endpoint, KVI_ENDPOINT_CONTROL);
    CHECK(kvi_operation_find("joinStorageSession") == NULL); /* names are exact */
    CHECK(kvi_operation_find(NULL) == NULL);
}

static void test_validation(void)
{
    kvsws_error *err = kvsws_error_new();
    CHECK_INT(validate("JoinStorageSession", "{\"channelArn\":\"" ARN "\"}", err), KVSWS_OK);
    CHECK_INT(validate("JoinStorageSession",
                       "{\"channelArn\":\"arn:aws-cn:kinesisvideo:cn-north-1:1:channel/a.b_c-d/9\"}",
                       err),
              KVSWS_OK);
    CHECK_INT(validate("JoinStorageSession",
                       "{\"channelArn\":\"arn:aws:kinesisvideo:us-west-2:1:channel/a/b\"}", err),
              KVSWS_E_PARAM_VALIDATION);
    CHECK(strstr(kvsws_error_message(err), "pattern") != NULL);
    /* 1..1024 characters: one past the limit names the length rule */
    char big[1200];
    int n = snprintf(big, sizeof big, "{\"channelArn\":\"arn:aws:kinesisvideo:us-west-2:1:channel/");
    memset(big + n, 'a', 1010);
    snprintf(big + n + 1010, sizeof big - (size_t)n - 1010, "/1\"}");
    CHECK_INT(validate("JoinStorageSession", big, err), KVSWS_E_PARAM_VALIDATION);
    CHECK(strstr(kvsws_error_message(err), "1 to 1024") != NULL);
    CHECK_INT(validate("JoinStorageSessionAsViewer", "{\"channelArn\":\"" ARN "\"}", err),
              KVSWS_E_PARAM_VALIDATION);
    CHECK(strstr(kvsws_error_message(err), "\"clientId\"") != NULL);
    CHECK_INT(validate("JoinStorageSessionAsViewer",
                       "{\"channelArn\":\"" ARN "\",\"clientId\":\"\"}", err),
              KVSWS_E_PARAM_VALIDATION);
    CHECK_INT(validate("GetSignalingChannelEndpoint",
                       "{\"ChannelARN\":\"" ARN "\",\"SingleMasterChannelEndpointConfiguration\":"
                       "{\"Protocols\":[],\"Role\":\"MASTER\"}}",
                       err),
              KVSWS_E_PARAM_VALIDATION);
    CHECK(strstr(kvsws_error_message(err), "Protocols") != NULL);
    CHECK_INT(validate("GetSignalingChannelEndpoint",
                       "{\"ChannelARN\":\"" ARN "\",\"SingleMasterChannelEndpointConfiguration\":"
                       "{\"Protocols\":[\"WSS\",\"WEBRTC\"],\"Role\":\"VIEWER\"}}",
                       err),
              KVSWS_OK);
    CHECK_INT(validate("GetSignalingChannelEndpoint",
                       "{\"ChannelARN\":\"" ARN "\",\"SingleMasterChannelEndpointConfiguration\":"
                       "{\"Extra\":1}}",
                       err),
              KVSWS_E_PARAM_VALIDATION);
    CHECK(strstr(kvsws_error_message(err), "SingleMasterChannelEndpointConfiguration") != NULL);
    CHECK_INT(validate("DescribeMediaStorageConfiguration", "{\"ChannelName\":\"demo\"}", err),
              KVSWS_OK);
    CHECK_INT(validate("DescribeMediaStorageConfiguration", "{\"ChannelName\":null}", err),
              KVSWS_E_PARAM_VALIDATION);
    CHECK_INT(validate("GetIceServerConfig", "{\"ChannelARN\":\"" ARN "\",\"Username\":\"u\"}",
                       err),
              KVSWS_OK);
    CHECK_INT(validate("GetIceServerConfig", "[1,2]", err), KVSWS_E_PARAM_VALIDATION);
    kvsws_error_free(err);
}

static void test_url(void)
{
    kvi_url u;
    const char *why = NULL;
    CHECK_INT(kvi_url_parse("https://kinesisvideo.us-west-2.amazonaws.com", &u, &why), 0);
    CHECK_STR(u.authority, "kinesisvideo.us-west-2.amazonaws.com");
    CHECK_INT(u.port, 443);
    CHECK_STR(u.path, "");
    kvi_url_free(&u);
    CHECK_INT(kvi_url_parse("https://127.0.0.1:8443/prefix/", &u, &why), 0);
    CHECK_STR(u.authority, "127.0.0.1:8443");
    CHECK_STR(u.host, "127.0.0.1");
    CHECK_STR(u.path, "/prefix");
    kvi_url_free(&u);
    CHECK_INT(kvi_url_parse("HTTPS://example.com:443/", &u, &why), 0);
    CHECK_STR(u.scheme, "https");
    CHECK_STR(u.authority, "example.com"); /* the default port stays out of Host */
    kvi_url_free(&u);
    CHECK_INT(kvi_url_parse("wss://[::1]:9000?x=1", &u, &why), 0);
    CHECK_STR(u.host, "::1");
    CHECK_STR(u.authority, "[::1]:9000");
    kvi_url_free(&u);
    CHECK_INT(kvi_url_parse("example.com", &u, &why), -1);
    CHECK_INT(kvi_url_parse("https://", &u, &why), -1);
    CHECK_INT(kvi_url_parse("https://a:99999", &u, &why), -1);
    CHECK_INT(kvi_url_parse("https://a:", &u, &why), -1);
    CHECK_INT(kvi_url_parse("https://user@a", &u, &why), -1);
    CHECK_INT(kvi_url_parse("https://a b", &u, &why), -1);
}

int main(void)
{
    test_models();
    test_validation();
    test_url();
    return CHECK_DONE();
}
