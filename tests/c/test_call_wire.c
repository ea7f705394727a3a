/* SPDX-License-Identifier: Apache-2.0 */
/* test_call_wire.c - the bytes of the calls pinned: the request bodies and header names the
 * typed calls, kvsws_client_call and a session's lookup steps send, and the JSON strings the
 * calls and the ICE_SERVERS event hand back, against a loopback HTTPS server that records every
 * request and answers in its own odd formatting. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "kvsws.h"
#include "test_support.h"

#define ARN "arn:aws:kinesisvideo:us-west-2:123456789012:channel/cam/1700000000000"

/* Records "METHOD PATH content-type header,names BODY" per request in <dir>/wire.log before it
 * answers; the answers are spaced and ordered unlike what cJSON prints. */
static const char *const SERVER_PY =
    "import os, socket, ssl, sys, threading\n"
    "from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer\n"
    "d = sys.argv[1]\n"
    "lock = threading.Lock()\n"
    "ARN = '" ARN "'\n"
    "class H(BaseHTTPRequestHandler):\n"
    "    protocol_version = 'HTTP/1.1'\n"
    "    def log_message(self, *a):\n"
    "        pass\n"
    "    def send(self, code, body):\n"
    "        self.send_response(code)\n"
    "        self.send_header('x-amzn-RequestId', 'req-1')\n"
    "        self.send_header('Content-Length', str(len(body)))\n"
    "        self.end_headers()\n"
    "        self.wfile.write(body)\n"
    "    def do_GET(self):\n"
    "        n = int(self.headers.get('Content-Length') or 0)\n"
    "        req = self.rfile.read(n) if n else b''\n"
    "        names = ','.join(k.lower() for k in self.headers.keys())\n"
    "        line = '%s %s %s %s %s\\n' % (self.command, self.path.split('?')[0],\n"
    "                                    self.headers.get('Content-Type'), names,\n"
    "                                    req.decode('utf-8', 'replace'))\n"
    "        with lock, open(os.path.join(d, 'wire.log'), 'a') as f:\n"
    "            f.write(line)\n"
    "        me = 'https://127.0.0.1:%d' % self.server.server_address[1]\n"
    "        p = self.path\n"
    "        if p == '/describeSignalingChannel':\n"
    "            b = ('{ \"ChannelInfo\" : { \"ChannelName\" : \"cam\",'\n"
    "                 ' \"ChannelARN\" : \"%s\",\\n'\n"
    "                 '  \"CreationTime\" : 1.7e9, \"Version\":\"v1\" },\\n'\n"
    "                 ' \"zeta\" : [ 1, 2.5, -3, true, false, null,'\n"
    "                 ' \"\\\\u00e9\\\\n\\\\\"\" ] }' % ARN)\n"
    "        elif p == '/describeMediaStorageConfiguration':\n"
    "            b = ('{\"MediaStorageConfiguration\" : {\"StreamARN\" : null ,'\n"
    "                 ' \"Status\" : \"ENABLED\"}}')\n"
    "        elif p == '/getSignalingChannelEndpoint':\n"
    "            b = ('{\"ResourceEndpointList\": [ {\"Protocol\":\"WSS\",'\n"
    "                 ' \"ResourceEndpoint\":\"%s\"},'\n"
    "                 ' {\"ResourceEndpoint\":\"%s\", \"Protocol\":\"HTTPS\"},'\n"
    "                 ' {\"Protocol\":\"WEBRTC\",\"ResourceEndpoint\":\"%s\"} ] }'\n"
    "                 % (me.replace('https', 'wss'), me, me))\n"
    "        elif p == '/v1/get-ice-server-config':\n"
    "            b = ('{\"IceServerList\":[{\"Ttl\": 300,'\n"
    "                 ' \"Uris\":[\"turn:a:443?transport=udp\",'\n"
    "                 ' \"turns:b:443\"], \"Username\":\"u\", \"Password\":\"p\"}]}')\n"
    "        elif p == '/joinStorageSession':\n"
    "            b = ''\n"
    "        elif p == '/joinStorageSessionAsViewer':\n"
    "            b = ' \\r\\n'\n"
    "        else:\n"
    "            self.send(404, b'')\n"
    "            return\n"
    "        self.send(200, b.encode())\n"
    "    do_POST = do_GET\n"
    "s = ThreadingHTTPServer(('127.0.0.1', 0), H)\n"
    "s.daemon_threads = True\n"
    "ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)\n"
    "ctx.load_cert_chain(os.path.join(d, 'srv.pem'), os.path.join(d, 'srv.key'))\n"
    "s.socket = ctx.wrap_socket(s.socket, server_side=True)\n"
    "threading.Thread(target=s.serve_forever, daemon=True).start()\n"
    "print(s.server_address[1], 0, flush=True)\n"
    "threading.Timer(120, lambda: os._exit(0)).start()\n"
    "sys.stdin.read()\n"
    "os._exit(0)\n";

/* What every call sends besides its body: the signed header set, in wire order. */
#define HEADERS "host,user-agent,accept,content-type,x-amz-date,x-amz-security-token," \
                "x-amz-content-sha256,authorization,content-length"

static tls_server server = TLS_SERVER_INIT;
static char me[64]; /* https://127.0.0.1:PORT */

/* The lines of wire.log from the first'th on, joined; "" when there are none. */
static char *wire_from(int first)
{
    char path[128], line[4096];
    snprintf(path, sizeof path, "%s/wire.log", server.dir);
    size_t cap = 1 << 16, len = 0;
    char *all = calloc(1, cap);
    FILE *f = fopen(path, "r");
    for (int i = 0; f && all && fgets(line, sizeof line, f); i++) {
        size_t n = strlen(line);
        if (i >= first && len + n < cap) {
            memcpy(all + len, line, n + 1);
            len += n;
        }
    }
    if (f)
        fclose(f);
    return all;
}

static int wire_lines(void)
{
    char *all = wire_from(0);
    int n = 0;
    for (const char *p = all; p && *p; p++)
        n += *p == '\n';
    free(all);
    return n;
}

static kvsws_client *new_client(int with_control_endpoint)
{
    kvsws_error *err = kvsws_error_new();
    kvsws_config *cfg = kvsws_config_new();
    kvsws_config_set_str(cfg, KVSWS_OPT_REGION, "us-west-2", err);
    if (with_control_endpoint)
        kvsws_config_set_str(cfg, KVSWS_OPT_ENDPOINT_URL, me, err);
    kvsws_config_set_str(cfg, KVSWS_OPT_CA_BUNDLE, server.ca_path, err);
    kvsws_config_set_str(cfg, KVSWS_OPT_ACCESS_KEY_ID, "AKIDEXAMPLE", err);
    kvsws_config_set_str(cfg, KVSWS_OPT_SECRET_ACCESS_KEY,
                         "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", err);
    kvsws_config_set_str(cfg, KVSWS_OPT_SESSION_TOKEN, "token-value", err);
    kvsws_config_set_int(cfg, KVSWS_OPT_MAX_ATTEMPTS, 1, err);
    kvsws_client *c = NULL;
    CHECK(kvsws_client_new(cfg, &c, err) == KVSWS_OK);
    kvsws_config_free(cfg);
    kvsws_error_free(err);
    return c;
}

/* One typed or generic call: its status, the JSON it returned, and what went on the wire. */
typedef struct outcome {
    kvsws_status st;
    char *json;
    char *wire;
} outcome;

static void outcome_free(outcome *o)
{
    free(o->json);
    free(o->wire);
}

#define CALL(o, expr)                                                                     \
    do {                                                                                  \
        int first_ = wire_lines();                                                        \
        kvsws_response *resp = NULL;                                                      \
        kvsws_error *err = kvsws_error_new();                                             \
        kvsws_response **out = &resp;                                                     \
        (o).st = (expr);                                                                  \
        if ((o).st)                                                                       \
            fprintf(stderr, "call failed: %s\n", kvsws_error_describe(err));              \
        (o).json = strdup(kvsws_response_json(resp));                                     \
        (o).wire = wire_from(first_);                                                     \
        kvsws_response_free(resp);                                                        \
        kvsws_error_free(err);                                                            \
    } while (0)

static void expect(const outcome *o, const char *json, const char *wire)
{
    CHECK_INT(o->st, KVSWS_OK);
    CHECK_STR(o->json, json);
    CHECK_STR(o->wire, wire);
}

#define POST(path, body) "POST " path " application/json " HEADERS " " body "\n"

static void test_typed_calls(kvsws_client *c)
{
    outcome o;
    CALL(o, kvsws_describe_signaling_channel(c, NULL, "cam", out, err));
    expect(&o,
           "{\"ChannelInfo\":{\"ChannelName\":\"cam\",\"ChannelARN\":\"" ARN "\","
           "\"CreationTime\":1700000000,\"Version\":\"v1\"},"
           "\"zeta\":[1,2.5,-3,true,false,null,\"\xc3\xa9\\n\\\"\"]}",
           POST("/describeSignalingChannel", "{\"ChannelName\":\"cam\"}"));
    outcome_free(&o);

    CALL(o, kvsws_describe_media_storage_configuration(c, ARN, NULL, out, err));
    expect(&o, "{\"MediaStorageConfiguration\":{\"StreamARN\":null,\"Status\":\"ENABLED\"}}",
           POST("/describeMediaStorageConfiguration", "{\"ChannelARN\":\"" ARN "\"}"));
    outcome_free(&o);

    char want[1024];
    snprintf(want, sizeof want,
             "{\"ResourceEndpointList\":[{\"Protocol\":\"WSS\",\"ResourceEndpoint\":\"wss%s\"},"
             "{\"ResourceEndpoint\":\"%s\",\"Protocol\":\"HTTPS\"},"
             "{\"Protocol\":\"WEBRTC\",\"ResourceEndpoint\":\"%s\"}]}",
             me + 5, me, me);
    CALL(o, kvsws_get_signaling_channel_endpoint(c, ARN, "VIEWER", "WSS,HTTPS", out, err));
    expect(&o, want,
           POST("/getSignalingChannelEndpoint",
                "{\"ChannelARN\":\"" ARN "\",\"SingleMasterChannelEndpointConfiguration\":"
                "{\"Protocols\":[\"WSS\",\"HTTPS\"],\"Role\":\"VIEWER\"}}"));
    outcome_free(&o);

    /* the per-channel calls look their endpoint up first, once per role */
    CALL(o, kvsws_join_storage_session(c, ARN, out, err));
    expect(&o, "{}",
           POST("/getSignalingChannelEndpoint",
                "{\"ChannelARN\":\"" ARN "\",\"SingleMasterChannelEndpointConfiguration\":"
                "{\"Protocols\":[\"WEBRTC\"],\"Role\":\"MASTER\"}}")
               POST("/joinStorageSession", "{\"channelArn\":\"" ARN "\"}"));
    outcome_free(&o);

    CALL(o, kvsws_join_storage_session_as_viewer(c, ARN, "viewer-1", out, err));
    expect(&o, "{}",
           POST("/getSignalingChannelEndpoint",
                "{\"ChannelARN\":\"" ARN "\",\"SingleMasterChannelEndpointConfiguration\":"
                "{\"Protocols\":[\"WEBRTC\"],\"Role\":\"VIEWER\"}}")
               POST("/joinStorageSessionAsViewer",
                    "{\"channelArn\":\"" ARN "\",\"clientId\":\"viewer-1\"}"));
    outcome_free(&o);

    CALL(o, kvsws_get_ice_server_config(c, ARN, "me", NULL, out, err));
    expect(&o,
           "{\"IceServerList\":[{\"Ttl\":300,\"Uris\":[\"turn:a:443?transport=udp\","
           "\"turns:b:443\"],\"Username\":\"u\",\"Password\":\"p\"}]}",
           POST("/getSignalingChannelEndpoint",
                "{\"ChannelARN\":\"" ARN "\",\"SingleMasterChannelEndpointConfiguration\":"
                "{\"Protocols\":[\"HTTPS\"],\"Role\":\"MASTER\"}}")
               POST("/v1/get-ice-server-config",
                    "{\"ChannelARN\":\"" ARN "\",\"ClientId\":\"me\",\"Service\":\"TURN\"}"));
    outcome_free(&o);
}

static void test_generic_call(kvsws_client *c)
{
    outcome o;
    /* spaces go, nulls mean "not given", the order stays the caller's */
    CALL(o, kvsws_client_call(c, "GetSignalingChannelEndpoint",
                              "{ \"SingleMasterChannelEndpointConfiguration\" : { \"Role\" : "
                              "\"MASTER\", \"Protocols\" : [ \"WSS\" ] },\n \"ChannelARN\" : \"" ARN
                              "\" }",
                              NULL, out, err));
    CHECK_STR(o.wire, POST("/getSignalingChannelEndpoint",
                           "{\"SingleMasterChannelEndpointConfiguration\":{\"Role\":\"MASTER\","
                           "\"Protocols\":[\"WSS\"]},\"ChannelARN\":\"" ARN "\"}"));
    outcome_free(&o);

    CALL(o, kvsws_client_call(c, "DescribeMediaStorageConfiguration",
                              "{\"ChannelName\": null, \"ChannelARN\": \"" ARN "\"}", NULL, out,
                              err));
    expect(&o, "{\"MediaStorageConfiguration\":{\"StreamARN\":null,\"Status\":\"ENABLED\"}}",
           POST("/describeMediaStorageConfiguration", "{\"ChannelARN\":\"" ARN "\"}"));
    outcome_free(&o);

    /* the same call without a response: still sent once, nothing to hand back */
    int first = wire_lines();
    kvsws_error *err = kvsws_error_new();
    CHECK_INT(kvsws_client_call(c, "DescribeSignalingChannel", "{\"ChannelName\":\"cam\"}", NULL,
                                NULL, err),
              KVSWS_OK);
    char *wire = wire_from(first);
    CHECK_STR(wire, POST("/describeSignalingChannel", "{\"ChannelName\":\"cam\"}"));
    free(wire);

    /* bad input never reaches the wire, and says which member and rule */
    first = wire_lines();
    kvsws_response *resp = NULL;
    CHECK_INT(kvsws_client_call(c, "GetIceServerConfig", "{\"ChannelARN\":\"nope\"}", NULL, &resp,
                                err),
              KVSWS_E_PARAM_VALIDATION);
    CHECK(resp == NULL);
    CHECK(strstr(kvsws_error_message(err), "ChannelARN") != NULL);
    CHECK_STR(kvsws_error_operation(err), "GetIceServerConfig");
    CHECK_INT(kvsws_join_storage_session(c, NULL, &resp, err), KVSWS_E_PARAM_VALIDATION);
    CHECK_STR(kvsws_error_message(err), "Missing required parameter in input: \"channelArn\"");
    CHECK_STR(kvsws_error_operation(err), "JoinStorageSession");
    CHECK_INT(kvsws_client_call(c, "DescribeSignalingChannel", "{nope", NULL, &resp, err),
              KVSWS_E_PARAM_VALIDATION);
    CHECK_STR(kvsws_error_message(err), "Invalid input for DescribeSignalingChannel: not valid "
                                        "JSON");
    CHECK_INT(wire_lines(), first);
    kvsws_error_free(err);
}

/* A session by channel name: its lookup steps' bodies, and the ICE servers it hands out. The
 * WebSocket upgrade then fails (the server has none), which is not what this test is about. */
static void test_session_steps(kvsws_client *c)
{
    int first = wire_lines();
    kvsws_error *err = kvsws_error_new();
    kvsws_session *s = NULL;
    CHECK(kvsws_session_new(c, &s, err) == KVSWS_OK);
    kvsws_session_set_str(s, KVSWS_SESSION_OPT_CHANNEL_NAME, "cam", err);
    CHECK(kvsws_session_start(s, err) == KVSWS_OK);
    char *ice = NULL;
    int64_t deadline = now_ms() + 20000;
    while (!ice && now_ms() < deadline) {
        kvsws_event *ev = NULL;
        if (kvsws_session_next_event(s, 200, &ev, err) != KVSWS_OK)
            break;
        if (ev && kvsws_event_get_type(ev) == KVSWS_EVENT_ICE_SERVERS)
            ice = strdup(kvsws_event_ice_servers(ev));
        kvsws_event_free(ev);
    }
    kvsws_session_free(s);
    CHECK_STR(ice, "[{\"urls\":[\"turn:a:443?transport=udp\",\"turns:b:443\"],\"username\":\"u\","
                   "\"credential\":\"p\",\"ttl\":300}]");
    free(ice);
    char *wire = wire_from(first);
    const char *want =
        POST("/describeSignalingChannel", "{\"ChannelName\":\"cam\"}")
            POST("/describeMediaStorageConfiguration", "{\"ChannelARN\":\"" ARN "\"}")
                POST("/getSignalingChannelEndpoint",
                     "{\"ChannelARN\":\"" ARN "\",\"SingleMasterChannelEndpointConfiguration\":"
                     "{\"Protocols\":[\"WSS\",\"HTTPS\",\"WEBRTC\"],\"Role\":\"MASTER\"}}")
                    POST("/v1/get-ice-server-config",
                         "{\"ChannelARN\":\"" ARN "\",\"Service\":\"TURN\"}");
    CHECK(wire && strncmp(wire, want, strlen(want)) == 0);
    if (wire && strncmp(wire, want, strlen(want)) != 0)
        fprintf(stderr, "session wire:\n%s\nwant:\n%s\n", wire, want);
    free(wire);
    kvsws_error_free(err);
}

int main(void)
{
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    unsetenv("AWS_ENDPOINT_URL");
    unsetenv("AWS_ENDPOINT_URL_KINESIS_VIDEO");
    unsetenv("AWS_ENDPOINT_URL_KINESIS_VIDEO_SIGNALING");
    unsetenv("AWS_ENDPOINT_URL_KINESIS_VIDEO_WEBRTC_STORAGE");
    if (tls_server_start(&server, "kvsws-wire", "python3", SERVER_PY) != 0) {
        CHECK(0);
        return CHECK_DONE();
    }
    snprintf(me, sizeof me, "https://127.0.0.1:%d", server.port[0]);
    kvsws_client *c = new_client(1);
    test_typed_calls(c);
    test_generic_call(c);
    kvsws_client_free(c);
    c = new_client(1); /* a fresh endpoint cache: the session asks for all three */
    test_session_steps(c);
    kvsws_client_free(c);
    tls_server_stop(&server);
    return CHECK_DONE();
}
