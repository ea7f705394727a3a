/* SPDX-License-Identifier: Apache-2.0 */
/* api.c - the typed C forms of the operations: build the input, call the shared entry (call.h). */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "api/call.h"
#include "base/error.h"
#include "kvsws.h"

/* Adds a string member when the value is given. */
static void add_optional(cJSON *obj, const char *name, const char *value)
{
    if (value)
        cJSON_AddStringToObject(obj, name, value);
}

/* The input goes to the call as built: no string in between. */
static kvsws_status call_with(kvsws_client *c, const char *op, cJSON *input, kvsws_response **out,
                              kvsws_error *err)
{
    if (!input) {
        kvi_error_clear(err);
        if (out)
            *out = NULL;
        return kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory");
    }
    kvsws_status st = kvi_call_printed(c, op, input, NULL, out, err);
    cJSON_Delete(input);
    return st;
}

kvsws_status kvsws_join_storage_session(kvsws_client *c, const char *channel_arn,
                                        kvsws_response **out, kvsws_error *err)
{
    cJSON *in = cJSON_CreateObject();
    add_optional(in, "channelArn", channel_arn);
    return call_with(c, "JoinStorageSession", in, out, err);
}

kvsws_status kvsws_join_storage_session_as_viewer(kvsws_client *c, const char *channel_arn,
                                                  const char *client_id, kvsws_response **out,
                                                  kvsws_error *err)
{
    cJSON *in = cJSON_CreateObject();
    add_optional(in, "channelArn", channel_arn);
    add_optional(in, "clientId", client_id);
    return call_with(c, "JoinStorageSessionAsViewer", in, out, err);
}

kvsws_status kvsws_get_signaling_channel_endpoint(kvsws_client *c, const char *channel_arn,
                                                  const char *role, const char *protocols,
                                                  kvsws_response **out, kvsws_error *err)
{
    cJSON *in = cJSON_CreateObject();
    add_optional(in, "ChannelARN", channel_arn);
    cJSON *smc = cJSON_AddObjectToObject(in, "SingleMasterChannelEndpointConfiguration");
    cJSON *list = cJSON_AddArrayToObject(smc, "Protocols");
    const char *p = protocols ? protocols : "WSS,HTTPS,WEBRTC";
    while (*p) {
        size_t n = strcspn(p, ",");
        char item[32];
        size_t copy = n < sizeof item - 1 ? n : sizeof item - 1;
        memcpy(item, p, copy);
        item[copy] = '\0';
        cJSON_AddItemToArray(list, cJSON_CreateString(item));
        p += n;
        if (*p == ',')
            p++;
    }
    cJSON_AddStringToObject(smc, "Role", role ? role : "MASTER");
    return call_with(c, "GetSignalingChannelEndpoint", in, out, err);
}

kvsws_status kvsws_describe_signaling_channel(kvsws_client *c, const char *channel_arn,
                                              const char *channel_name, kvsws_response **out,
                                              kvsws_error *err)
{
    cJSON *in = cJSON_CreateObject();
    add_optional(in, "ChannelARN", channel_arn);
    add_optional(in, "ChannelName", channel_name);
    return call_with(c, "DescribeSignalingChannel", in, out, err);
}

kvsws_status kvsws_describe_media_storage_configuration(kvsws_client *c, const char *channel_arn,
                                                        const char *channel_name,
                                                        kvsws_response **out, kvsws_error *err)
{
    cJSON *in = cJSON_CreateObject();
    add_optional(in, "ChannelARN", channel_arn);
    add_optional(in, "ChannelName", channel_name);
    return call_with(c, "DescribeMediaStorageConfiguration", in, out, err);
}

kvsws_status kvsws_get_ice_server_config(kvsws_client *c, const char *channel_arn,
                                         const char *client_id, const char *service,
                                         kvsws_response **out, kvsws_error *err)
{
    cJSON *in = cJSON_CreateObject();
    add_optional(in, "ChannelARN", channel_arn);
    add_optional(in, "ClientId", client_id);
    cJSON_AddStringToObject(in, "Service", service ? service : "TURN");
    return call_with(c, "GetIceServerConfig", in, out, err);
}
