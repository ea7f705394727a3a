/* SPDX-License-Identifier: Apache-2.0 */
/* test_signaling.c - the KVS signaling codec: every message type, stray and hostile frames,
 * encode/decode round trips, the 10 KB limit, base64, and the SDP answer check. */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "check.h"
#include "session/signaling.h"

/* ---- helpers ------------------------------------------------------------------------------ */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

/* xorshift64*: seeded, so a failure reproduces. */
static uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}

static char *b64(const char *s)
{
    kvi_buf b = KVI_BUF_INIT;
    kvi_base64_encode(&b, s, strlen(s));
    return kvi_buf_detach(&b);
}

/* An envelope as the service sends it; sender may be NULL, payload_json is base64-encoded. */
static char *envelope(const char *type, const char *sender, const char *payload_json)
{
    kvi_buf b = KVI_BUF_INIT;
    kvi_buf_printf(&b, "{\"messageType\":\"%s\"", type);
    if (sender)
        kvi_buf_printf(&b, ",\"senderClientId\":\"%s\"", sender);
    if (payload_json) {
        char *p = b64(payload_json);
        kvi_buf_printf(&b, ",\"messagePayload\":\"%s\"", p);
        free(p);
    }
    kvi_buf_puts(&b, "}");
    return kvi_buf_detach(&b);
}

static int decode_str(const char *text, kvi_sig_message *m, const char **why)
{
    return kvi_sig_decode(text, strlen(text), m, why);
}

static int all_null(const kvi_sig_message *m)
{
    return !m->sender_client_id && !m->sdp && !m->candidate && !m->sdp_mid &&
           !m->correlation_id && !m->error_type && !m->status_code && !m->description &&
           m->sdp_mline_index == -1;
}

/* A copy of s with the first occurrence of from replaced by to (the test fails if none). */
static char *replace(const char *s, const char *from, const char *to)
{
    const char *at = strstr(s, from);
    CHECK(at != NULL);
    if (!at)
        return strdup(s);
    kvi_buf b = KVI_BUF_INIT;
    kvi_buf_append(&b, s, (size_t)(at - s));
    kvi_buf_puts(&b, to);
    kvi_buf_puts(&b, at + strlen(from));
    return kvi_buf_detach(&b);
}

/* ---- base64 ------------------------------------------------------------------------------- */

static void test_base64(void)
{
    static const char *const vec[][2] = {{"", ""},         {"f", "Zg=="},
                                         {"fo", "Zm8="},   {"foo", "Zm9v"},
                                         {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="},
                                         {"foobar", "Zm9vYmFy"}};
    for (size_t i = 0; i < sizeof vec / sizeof vec[0]; i++) {
        kvi_buf e = KVI_BUF_INIT, d = KVI_BUF_INIT;
        CHECK_INT(kvi_base64_encode(&e, vec[i][0], strlen(vec[i][0])), 0);
        CHECK_STR(kvi_buf_str(&e), vec[i][1]);
        CHECK_INT(kvi_base64_decode(&d, vec[i][1], strlen(vec[i][1])), 0);
        CHECK_INT(d.len, strlen(vec[i][0]));
        CHECK_STR(kvi_buf_str(&d), vec[i][0]);
        kvi_buf_free(&e);
        kvi_buf_free(&d);
    }
    /* Round trips over every length mod 3 with every byte value. */
    int ok = 1;
    for (size_t len = 0; len < 300 && ok; len++) {
        unsigned char raw[300];
        for (size_t i = 0; i < len; i++)
            raw[i] = (unsigned char)rng();
        kvi_buf e = KVI_BUF_INIT, d = KVI_BUF_INIT;
        ok = kvi_base64_encode(&e, raw, len) == 0 && e.len == (len + 2) / 3 * 4 &&
             kvi_base64_decode(&d, kvi_buf_str(&e), e.len) == 0 && d.len == len &&
             (len == 0 || memcmp(d.data, raw, len) == 0);
        kvi_buf_free(&e);
        kvi_buf_free(&d);
    }
    CHECK(ok);
    /* Invalid: lengths, characters, padding in the wrong place, non-zero trailing bits. */
    static const char *const bad[] = {"Zg=",      "Zg",       "Z===",     "====",
                                      "Zg==Zg==", "Zh==",     "Zm9=",     "Zm9v!A==",
                                      "Zm9v\n",   "Zm9-",     "Zm9_",     "Zm 9",
                                      "=Zm9",     "Zm=v",     "\xc3\xa9==", "Zm9vYmFy===="};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        kvi_buf d = KVI_BUF_INIT;
        kvi_buf_puts(&d, "keep");
        int rc = kvi_base64_decode(&d, bad[i], strlen(bad[i]));
        if (rc != -1)
            fprintf(stderr, "base64 accepted [%s]\n", bad[i]);
        CHECK_INT(rc, -1);
        CHECK_STR(kvi_buf_str(&d), "keep"); /* a failed decode leaves the buffer as it was */
        kvi_buf_free(&d);
    }
    /* A NUL inside the text is an invalid character, not an end. */
    kvi_buf d = KVI_BUF_INIT;
    CHECK_INT(kvi_base64_decode(&d, "Zm\0v", 4), -1);
    kvi_buf_free(&d);
}

/* ---- decoding ----------------------------------------------------------------------------- */

#define OFFER_SDP                                                                               \
    "v=0\r\no=- 5498186869896684180 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"                     \
    "a=group:BUNDLE 0 1\r\nm=video 9 UDP/TLS/RTP/SAVPF 102\r\nc=IN IP4 0.0.0.0\r\n"            \
    "a=mid:0\r\na=recvonly\r\na=rtpmap:102 H264/90000\r\n"                                      \
    "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=recvonly\r\n"         \
    "a=rtpmap:111 opus/48000/2\r\n"

/* {"type":"offer","sdp":sdp} with the SDP escaped as JSON (caller cJSON_frees). */
static char *offer_json(const char *sdp)
{
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "type", "offer");
    cJSON_AddStringToObject(p, "sdp", sdp);
    char *pj = cJSON_PrintUnformatted(p);
    cJSON_Delete(p);
    return pj;
}

static void test_decode_offer(void)
{
    kvi_sig_message m;
    const char *why = NULL;
    char *pj = offer_json(OFFER_SDP);

    /* The storage service's offer: no senderClientId. */
    char *env = envelope("SDP_OFFER", NULL, pj);
    CHECK_INT(decode_str(env, &m, &why), 0);
    CHECK_INT(m.type, KVI_SIG_SDP_OFFER);
    CHECK(m.sender_client_id == NULL);
    CHECK_STR(m.sdp, OFFER_SDP);
    CHECK(why == NULL);
    kvi_sig_message_free(&m);
    free(env);

    /* A viewer's offer has a sender. */
    env = envelope("SDP_OFFER", "viewer-1.a_b", pj);
    CHECK_INT(decode_str(env, &m, &why), 0);
    CHECK_INT(m.type, KVI_SIG_SDP_OFFER);
    CHECK_STR(m.sender_client_id, "viewer-1.a_b");
    CHECK_STR(m.sdp, OFFER_SDP);
    kvi_sig_message_free(&m);
    free(env);
    cJSON_free(pj);

    /* Members in any order, with spaces, with unknown members, and an empty sender. */
    char *pb = b64("{\"sdp\":\"v=0\\r\\n\",\"type\":\"offer\",\"extra\":[1,2]}");
    kvi_buf b = KVI_BUF_INIT;
    kvi_buf_printf(&b,
                   "  {\"messagePayload\" : \"%s\", \"senderClientId\": \"\", \"x\": null,"
                   " \"messageType\" : \"SDP_OFFER\"}  ",
                   pb);
    CHECK_INT(kvi_sig_decode(b.data, b.len, &m, &why), 0);
    CHECK_INT(m.type, KVI_SIG_SDP_OFFER);
    CHECK(m.sender_client_id == NULL);
    CHECK_STR(m.sdp, "v=0\r\n");
    kvi_sig_message_free(&m);
    kvi_buf_free(&b);
    free(pb);

    /* An offer with no "type" member in the payload is still an offer. */
    env = envelope("SDP_OFFER", NULL, "{\"sdp\":\"v=0\"}");
    CHECK_INT(decode_str(env, &m, &why), 0);
    CHECK_INT(m.type, KVI_SIG_SDP_OFFER);
    kvi_sig_message_free(&m);
    free(env);

    /* Unicode: raw UTF-8 in the payload and \u escapes (a surrogate pair too). */
    env = envelope("SDP_OFFER", NULL,
                   "{\"type\":\"offer\",\"sdp\":\"s=caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80 "
                   "\\u00e9\\u2713\\ud83d\\ude00\"}");
    CHECK_INT(decode_str(env, &m, &why), 0);
    CHECK_INT(m.type, KVI_SIG_SDP_OFFER);
    CHECK_STR(m.sdp, "s=caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80 "
                     "\xc3\xa9\xe2\x9c\x93\xf0\x9f\x98\x80");
    kvi_sig_message_free(&m);
    free(env);

    /* SDP_ANSWER decodes too (a viewer's view of the channel). */
    env = envelope("SDP_ANSWER", "master", "{\"type\":\"answer\",\"sdp\":\"v=0\"}");
    CHECK_INT(decode_str(env, &m, &why), 0);
    CHECK_INT(m.type, KVI_SIG_SDP_ANSWER);
    CHECK_STR(m.sdp, "v=0");
    CHECK_STR(m.sender_client_id, "master");
    kvi_sig_message_free(&m);
    free(env);
}

static void check_candidate(const char *payload, int want_type, const char *cand,
                            const char *mid, int index)
{
    kvi_sig_message m;
    const char *why = NULL;
    char *env = envelope("ICE_CANDIDATE", "sender", payload);
    CHECK_INT(decode_str(env, &m, &why), 0);
    CHECK_INT(m.type, want_type);
    if (want_type == KVI_SIG_ICE_CANDIDATE) {
        CHECK_STR(m.candidate, cand);
        if (mid)
            CHECK_STR(m.sdp_mid, mid);
        else
            CHECK(m.sdp_mid == NULL);
        CHECK_INT(m.sdp_mline_index, index);
        CHECK_STR(m.sender_client_id, "sender");
    } else {
        CHECK(why != NULL);
        CHECK(all_null(&m));
    }
    kvi_sig_message_free(&m);
    free(env);
}

#define CAND                                                                                    \
    "candidate:842163049 1 udp 1677729535 203.0.113.7 50123 typ srflx raddr 10.0.0.2 rport "   \
    "50123 generation 0 ufrag Xf3k network-cost 999"

static void test_decode_candidate(void)
{
    int T = KVI_SIG_ICE_CANDIDATE;
    check_candidate("{\"candidate\":\"" CAND "\",\"sdpMid\":\"0\",\"sdpMLineIndex\":0}", T, CAND,
                    "0", 0);
    check_candidate("{\"candidate\":\"" CAND "\",\"sdpMid\":\"1\",\"sdpMLineIndex\":1}", T, CAND,
                    "1", 1);
    /* As a numeric string, as some SDKs send it. */
    check_candidate("{\"candidate\":\"c\",\"sdpMid\":\"audio\",\"sdpMLineIndex\":\"1\"}", T, "c",
                    "audio", 1);
    check_candidate("{\"candidate\":\"c\",\"sdpMLineIndex\":\" 12 \"}", T, "c", NULL, 12);
    /* Absent, null, or nonsense index: -1; null mid: absent. */
    check_candidate("{\"candidate\":\"c\",\"sdpMid\":null}", T, "c", NULL, -1);
    check_candidate("{\"candidate\":\"c\",\"sdpMLineIndex\":null}", T, "c", NULL, -1);
    check_candidate("{\"candidate\":\"c\",\"sdpMLineIndex\":-1}", T, "c", NULL, -1);
    check_candidate("{\"candidate\":\"c\",\"sdpMLineIndex\":1.5}", T, "c", NULL, -1);
    check_candidate("{\"candidate\":\"c\",\"sdpMLineIndex\":\"abc\"}", T, "c", NULL, -1);
    check_candidate("{\"candidate\":\"c\",\"sdpMLineIndex\":\"\"}", T, "c", NULL, -1);
    check_candidate("{\"candidate\":\"c\",\"sdpMLineIndex\":\"99999999999999999999\"}", T, "c",
                    NULL, -1);
    check_candidate("{\"candidate\":\"c\",\"sdpMLineIndex\":1e300}", T, "c", NULL, -1);
    check_candidate("{\"candidate\":\"c\",\"sdpMLineIndex\":true}", T, "c", NULL, -1);
    /* The end-of-candidates marker is an empty candidate. */
    check_candidate("{\"candidate\":\"\",\"sdpMid\":\"0\",\"sdpMLineIndex\":0}", T, "", "0", 0);
    /* No candidate, or not a string: skipped. */
    check_candidate("{\"sdpMid\":\"0\",\"sdpMLineIndex\":0}", KVI_SIG_IGNORED, NULL, NULL, -1);
    check_candidate("{\"candidate\":5}", KVI_SIG_IGNORED, NULL, NULL, -1);
}

static void test_decode_control(void)
{
    kvi_sig_message m;
    const char *why = NULL;
    CHECK_INT(decode_str("{\"messageType\":\"GO_AWAY\"}", &m, &why), 0);
    CHECK_INT(m.type, KVI_SIG_GO_AWAY);
    kvi_sig_message_free(&m);
    /* A payload, valid or not, does not matter for these. */
    CHECK_INT(decode_str("{\"messageType\":\"GO_AWAY\",\"messagePayload\":\"!!\"}", &m, &why), 0);
    CHECK_INT(m.type, KVI_SIG_GO_AWAY);
    kvi_sig_message_free(&m);
    CHECK_INT(decode_str("{\"messageType\":\"RECONNECT_ICE_SERVER\",\"senderClientId\":\"s\"}",
                         &m, &why),
              0);
    CHECK_INT(m.type, KVI_SIG_RECONNECT_ICE_SERVER);
    CHECK_STR(m.sender_client_id, "s");
    kvi_sig_message_free(&m);

    const char *sr = "{\"messageType\":\"STATUS_RESPONSE\",\"statusResponse\":{"
                     "\"correlationId\":\"corr-1\",\"errorType\":\"InvalidArgumentException\","
                     "\"statusCode\":\"400\",\"description\":\"Recipient client id is not "
                     "valid\"}}";
    CHECK_INT(decode_str(sr, &m, &why), 0);
    CHECK_INT(m.type, KVI_SIG_STATUS_RESPONSE);
    CHECK_STR(m.correlation_id, "corr-1");
    CHECK_STR(m.error_type, "InvalidArgumentException");
    CHECK_STR(m.status_code, "400");
    CHECK_STR(m.description, "Recipient client id is not valid");
    kvi_sig_message_free(&m);
    /* statusCode as a number; missing members stay NULL. */
    CHECK_INT(decode_str("{\"messageType\":\"STATUS_RESPONSE\",\"statusResponse\":{"
                         "\"statusCode\":403}}",
                         &m, &why),
              0);
    CHECK_INT(m.type, KVI_SIG_STATUS_RESPONSE);
    CHECK_STR(m.status_code, "403");
    CHECK(m.correlation_id == NULL && m.description == NULL);
    kvi_sig_message_free(&m);
    CHECK_INT(decode_str("{\"messageType\":\"STATUS_RESPONSE\"}", &m, &why), 0);
    CHECK_INT(m.type, KVI_SIG_STATUS_RESPONSE);
    kvi_sig_message_free(&m);
    /* free is idempotent and NULL-safe */
    kvi_sig_message_free(&m);
    kvi_sig_message_free(NULL);
}

static void expect_ignored(const char *text, size_t len)
{
    kvi_sig_message m;
    const char *why = NULL;
    CHECK_INT(kvi_sig_decode(text, len, &m, &why), 0);
    CHECK_INT(m.type, KVI_SIG_IGNORED);
    CHECK(why != NULL && *why);
    CHECK(all_null(&m));
    kvi_sig_message_free(&m);
}

#define IGN(s) expect_ignored((s), strlen(s))

/* Refused whole, with why containing says; nothing of it is kept. */
static void expect_refused(const char *text, size_t len, const char *says)
{
    kvi_sig_message m;
    const char *why = NULL;
    CHECK_INT(kvi_sig_decode(text, len, &m, &why), 0);
    CHECK_INT(m.type, KVI_SIG_REFUSED);
    if (!why || !strstr(why, says))
        fprintf(stderr, "refused [%.60s] with [%s], want [%s]\n", text, why ? why : "", says);
    CHECK(why != NULL && strstr(why, says));
    CHECK(all_null(&m));
    kvi_sig_message_free(&m);
}

#define REF(s, says) expect_refused((s), strlen(s), (says))

static void test_decode_stray(void)
{
    /* API Gateway's own frames. */
    IGN("{\"message\": \"Endpoint request timed out\", \"connectionId\":\"L5gvTcVKoAMCKzg=\", "
        "\"requestId\":\"L5gvYEfuoAMF4ZA=\"}");
    IGN("{\"message\": \"Forbidden\", \"connectionId\":\"x\", \"requestId\":\"y\"}");
    IGN("{\"message\": \"Internal server error\"}");
    kvi_sig_message m;
    const char *why = NULL;
    decode_str("{\"message\": \"Endpoint request timed out\"}", &m, &why);
    CHECK(why && strstr(why, "gateway"));
    kvi_sig_message_free(&m);
    /* Not objects, not JSON, empty. */
    IGN("");
    expect_ignored(NULL, 0);
    IGN("[]");
    IGN("[{\"messageType\":\"GO_AWAY\"}]");
    IGN("null");
    IGN("\"GO_AWAY\"");
    IGN("42");
    IGN("not json at all");
    IGN("{}");
    IGN("{\"messageType\":5}");
    IGN("{\"messageType\":null}");
    IGN("{\"messageType\":\"go_away\"}");
    IGN("{\"messageType\":\"SDP_OFFER_X\"}");
    IGN("{\"messageType\":\"\"}");
    /* Offers and candidates whose payload is missing, not base64, or not a JSON object. */
    IGN("{\"messageType\":\"SDP_OFFER\"}");
    IGN("{\"messageType\":\"SDP_OFFER\",\"messagePayload\":5}");
    IGN("{\"messageType\":\"SDP_OFFER\",\"messagePayload\":\"\"}");
    IGN("{\"messageType\":\"SDP_OFFER\",\"messagePayload\":\"!!!!\"}");
    IGN("{\"messageType\":\"SDP_OFFER\",\"messagePayload\":\"eyJ0eXBlIjoib2ZmZXIi\"}"); /* cut */
    IGN("{\"messageType\":\"ICE_CANDIDATE\",\"messagePayload\":\"e30\"}");
    /* Valid base64 of a payload that is no offer or candidate. */
    static const struct {
        const char *type, *payload;
    } not_a_payload[] = {{"SDP_OFFER", "v=0 not json"},
                         {"SDP_OFFER", "[\"offer\"]"},
                         {"SDP_OFFER", "{\"type\":\"offer\"}"},
                         {"SDP_OFFER", "{\"type\":\"offer\",\"sdp\":\"\"}"},
                         {"SDP_OFFER", "{\"type\":\"offer\",\"sdp\":7}"},
                         {"SDP_OFFER", "{\"type\":\"answer\",\"sdp\":\"v=0\"}"},
                         {"ICE_CANDIDATE", ""}};
    for (size_t i = 0; i < sizeof not_a_payload / sizeof not_a_payload[0]; i++) {
        char *env = envelope(not_a_payload[i].type, NULL, not_a_payload[i].payload);
        IGN(env);
        free(env);
    }
    /* A payload that decodes to binary garbage: not UTF-8, refused. */
    REF("{\"messageType\":\"SDP_OFFER\",\"messagePayload\":\"/////w==\"}", "not valid UTF-8");
    /* A payload with a NUL byte after valid JSON. */
    static const char nul_payload[] = "{\"type\":\"offer\",\"sdp\":\"v=0\"}\0";
    kvi_buf enc = KVI_BUF_INIT;
    kvi_base64_encode(&enc, nul_payload, sizeof nul_payload - 1);
    kvi_buf nul_env = KVI_BUF_INIT;
    kvi_buf_printf(&nul_env, "{\"messageType\":\"SDP_OFFER\",\"messagePayload\":\"%s\"}", enc.data);
    REF(nul_env.data, "NUL byte in the messagePayload");
    kvi_buf_free(&enc);
    kvi_buf_free(&nul_env);
    /* Deep nesting does not blow the stack. */
    kvi_buf deep = KVI_BUF_INIT;
    for (int i = 0; i < 100000; i++)
        kvi_buf_putc(&deep, '[');
    expect_ignored(deep.data, deep.len);
    kvi_buf_free(&deep);
    /* A NUL in the middle: the length is what counts, the text after it is not read as JSON. */
    expect_refused("{\"messageType\":\"GO_AWAY\"\0}", 27, "NUL byte in the message");
    CHECK_INT(kvi_sig_decode("{\"messageType\":\"GO_AWAY\"}\0garbage", 25, &m, &why), 0);
    CHECK_INT(m.type, KVI_SIG_GO_AWAY);
    kvi_sig_message_free(&m);
}

/* An envelope whose payload is given as raw bytes (base64-encoded here, whatever they are). */
static char *envelope_raw(const char *type, const char *sender, const void *payload, size_t n)
{
    kvi_buf enc = KVI_BUF_INIT, b = KVI_BUF_INIT;
    kvi_base64_encode(&enc, payload, n);
    kvi_buf_printf(&b, "{\"messageType\":\"%s\"", type);
    if (sender)
        kvi_buf_printf(&b, ",\"senderClientId\":\"%s\"", sender);
    kvi_buf_printf(&b, ",\"messagePayload\":\"%s\"}", kvi_buf_str(&enc));
    kvi_buf_free(&enc);
    return kvi_buf_detach(&b);
}

/* Issue 10 items 4 and 5: what could cut or corrupt a string is refused at decode time. */
static void test_decode_refused(void)
{
    /* The SDP: bytes FF FE C0 AF inside the offer's payload. */
    static const char bad_sdp[] = "{\"type\":\"offer\",\"sdp\":\"v=0\r\ns=\xff\xfe\xc0\xaf\r\n\"}";
    char *env = envelope_raw("SDP_OFFER", NULL, bad_sdp, sizeof bad_sdp - 1);
    REF(env, "messagePayload is not valid UTF-8");
    free(env);
    /* Overlong forms, a surrogate, beyond U+10FFFF, a sequence cut at the end. */
    static const char *const bad_utf8[] = {"\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80",
                                           "\xf4\x90\x80\x80", "\xe2\x82"};
    for (size_t i = 0; i < sizeof bad_utf8 / sizeof bad_utf8[0]; i++) {
        kvi_buf p = KVI_BUF_INIT;
        kvi_buf_printf(&p, "{\"candidate\":\"candidate:1 %s\"}", bad_utf8[i]);
        env = envelope_raw("ICE_CANDIDATE", NULL, p.data, p.len);
        REF(env, "not valid UTF-8");
        free(env);
        kvi_buf_free(&p);
    }
    /* Invalid UTF-8 in the envelope itself (a decoder called without the WebSocket's check). */
    REF("{\"messageType\":\"STATUS_RESPONSE\",\"statusResponse\":{\"description\":\"\xff\"}}",
        "message is not valid UTF-8");
    /* An escaped NUL would cut the string: "v=0\u0000\r\nm=video..." must not become "v=0". */
    env = envelope("SDP_OFFER", NULL,
                   "{\"type\":\"offer\",\"sdp\":\"v=0\\u0000\\r\\nm=video 9 UDP/TLS/RTP/SAVPF 96\"}");
    REF(env, "NUL character (\\u0000) in a string of the messagePayload");
    free(env);
    env = envelope("ICE_CANDIDATE", NULL, "{\"candidate\":\"candidate:1 1 udp \\u0000 1.2.3.4\"}");
    REF(env, "\\u0000");
    free(env);
    env = envelope("ICE_CANDIDATE", NULL, "{\"candidate\":\"c\",\"sdpMid\":\"0\\u0000x\"}");
    REF(env, "\\u0000");
    free(env);
    REF("{\"messageType\":\"GO_AWAY\",\"senderClientId\":\"ab\\u0000cd\"}",
        "NUL character (\\u0000) in a string of the message");
    REF("{\"messageType\":\"STATUS_RESPONSE\",\"statusResponse\":{\"description\":\"x\\u0000\"}}",
        "\\u0000");
    /* An escaped backslash before "u0000" is text, not a NUL: decoded as it is. */
    kvi_sig_message m;
    const char *why = NULL;
    env = envelope("ICE_CANDIDATE", NULL, "{\"candidate\":\"a\\\\u0000b\"}");
    CHECK_INT(decode_str(env, &m, &why), 0);
    CHECK_INT(m.type, KVI_SIG_ICE_CANDIDATE);
    CHECK_STR(m.candidate, "a\\u0000b");
    kvi_sig_message_free(&m);
    free(env);
    /* Valid UTF-8, raw and escaped (an emoji as a surrogate pair), passes whole. */
    env = envelope("SDP_OFFER", NULL,
                   "{\"type\":\"offer\",\"sdp\":\"v=0\\r\\ns=caf\xc3\xa9 \\ud83d\\ude00\\r\\n\"}");
    CHECK_INT(decode_str(env, &m, &why), 0);
    CHECK_INT(m.type, KVI_SIG_SDP_OFFER);
    CHECK_STR(m.sdp, "v=0\r\ns=caf\xc3\xa9 \xf0\x9f\x98\x80\r\n");
    kvi_sig_message_free(&m);
    free(env);
    /* senderClientId: the client id rule, at decode time (not when the answer fails later). */
    static const char *const bad_ids[] = {"bad id", "a/b", "caf\xc3\xa9", "x\\ty", "a+b"};
    for (size_t i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++) {
        env = envelope("SDP_OFFER", bad_ids[i], "{\"type\":\"offer\",\"sdp\":\"v=0\"}");
        REF(env, "senderClientId must be 1-256 characters of [a-zA-Z0-9_.-]");
        free(env);
    }
    char id[258];
    memset(id, 'a', 257);
    id[257] = '\0';
    env = envelope("ICE_CANDIDATE", id, "{\"candidate\":\"c\"}");
    REF(env, "senderClientId");
    free(env);
    id[256] = '\0'; /* 256 is the longest allowed */
    env = envelope("ICE_CANDIDATE", id, "{\"candidate\":\"c\"}");
    CHECK_INT(decode_str(env, &m, &why), 0);
    CHECK_INT(m.type, KVI_SIG_ICE_CANDIDATE);
    CHECK_INT(strlen(m.sender_client_id), 256);
    kvi_sig_message_free(&m);
    free(env);
    env = envelope("SDP_OFFER", "viewer-1.A_b", "{\"type\":\"offer\",\"sdp\":\"v=0\"}");
    CHECK_INT(decode_str(env, &m, &why), 0);
    CHECK_STR(m.sender_client_id, "viewer-1.A_b");
    kvi_sig_message_free(&m);
    free(env);
}

/* Every prefix of a real offer and candidate is skipped (only the whole one decodes). */
static void test_truncated(void)
{
    char *env = envelope("SDP_OFFER", "viewer", "{\"type\":\"offer\",\"sdp\":\"" "v=0\\r\\n" "\"}");
    size_t n = strlen(env);
    int ok = 1;
    for (size_t i = 0; i < n; i++) {
        kvi_sig_message m;
        const char *why = NULL;
        char *copy = malloc(i + 1); /* exact-size copies so ASan sees any over-read */
        memcpy(copy, env, i);
        copy[i] = '\0';
        if (kvi_sig_decode(copy, i, &m, &why) != 0 || m.type != KVI_SIG_IGNORED || !why)
            ok = 0;
        kvi_sig_message_free(&m);
        free(copy);
    }
    CHECK(ok);
    kvi_sig_message m;
    const char *why = NULL;
    CHECK_INT(kvi_sig_decode(env, n, &m, &why), 0);
    CHECK_INT(m.type, KVI_SIG_SDP_OFFER);
    kvi_sig_message_free(&m);
    free(env);
}

static void test_garbage(void)
{
    int ok = 1;
    /* Random bytes. */
    for (int it = 0; it < 10000; it++) {
        size_t len = (size_t)(rng() % 600);
        char *buf = malloc(len ? len : 1);
        for (size_t i = 0; i < len; i++)
            buf[i] = (char)rng();
        kvi_sig_message m;
        const char *why = NULL;
        if (kvi_sig_decode(buf, len, &m, &why) != 0)
            ok = 0;
        if (m.type == KVI_SIG_IGNORED && (!why || !all_null(&m)))
            ok = 0;
        kvi_sig_message_free(&m);
        free(buf);
    }
    CHECK(ok);
    /* Random mutations of valid messages (these get past the JSON parser far more often). */
    char *seeds[3];
    seeds[0] =
        envelope("SDP_OFFER", "v", "{\"type\":\"offer\",\"sdp\":\"v=0\\r\\nm=video 9 x 1\"}");
    seeds[1] = envelope("ICE_CANDIDATE", NULL,
                        "{\"candidate\":\"c\",\"sdpMid\":\"0\",\"sdpMLineIndex\":\"0\"}");
    seeds[2] = strdup("{\"messageType\":\"STATUS_RESPONSE\",\"statusResponse\":{"
                      "\"correlationId\":\"c\",\"statusCode\":400}}");
    int decoded = 0;
    for (int it = 0; it < 10000; it++) {
        const char *seed = seeds[it % 3];
        size_t len = strlen(seed);
        char *buf = malloc(len);
        memcpy(buf, seed, len);
        int flips = 1 + (int)(rng() % 3);
        for (int k = 0; k < flips; k++) {
            size_t at = (size_t)(rng() % len);
            static const char pick[] = "{}[]\":,\\0aZ=/+ \x80\xff";
            buf[at] = rng() % 2 ? (char)rng() : pick[rng() % (sizeof pick - 1)];
        }
        size_t cut = rng() % 4 == 0 ? (size_t)(rng() % len) : len;
        kvi_sig_message m;
        const char *why = NULL;
        if (kvi_sig_decode(buf, cut, &m, &why) != 0)
            ok = 0;
        if (m.type != KVI_SIG_IGNORED)
            decoded++;
        else if (!why || !all_null(&m))
            ok = 0;
        kvi_sig_message_free(&m);
        free(buf);
    }
    CHECK(ok);
    CHECK(decoded > 100); /* the mutations reach the payload decoding, not just the parser */
    for (int i = 0; i < 3; i++)
        free(seeds[i]);
}

static void test_huge(void)
{
    /* A 2 MB SDP decodes (the WebSocket caps messages before this layer). */
    size_t n = (size_t)2 << 20;
    char *sdp = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        sdp[i] = (char)('a' + i % 26);
    sdp[n] = '\0';
    char *pj = offer_json(sdp);
    char *env = envelope("SDP_OFFER", NULL, pj);
    kvi_sig_message m;
    const char *why = NULL;
    CHECK_INT(decode_str(env, &m, &why), 0);
    CHECK_INT(m.type, KVI_SIG_SDP_OFFER);
    CHECK(m.sdp && strlen(m.sdp) == n && memcmp(m.sdp, sdp, n) == 0);
    kvi_sig_message_free(&m);
    /* One bad character at the very end of the huge payload: skipped. */
    char *q = strstr(env, "\"}");
    CHECK(q != NULL);
    if (q) {
        q[-1] = '*';
        CHECK_INT(decode_str(env, &m, &why), 0);
        CHECK_INT(m.type, KVI_SIG_IGNORED);
        kvi_sig_message_free(&m);
    }
    free(env);
    cJSON_free(pj);
    free(sdp);
}

/* ---- encoding ----------------------------------------------------------------------------- */

/* Parses what we send; returns the decoded payload object (caller deletes) and the envelope. */
static cJSON *sent_payload(const char *text, cJSON **env_out)
{
    cJSON *env = cJSON_Parse(text);
    *env_out = env;
    const cJSON *mp = cJSON_GetObjectItemCaseSensitive(env, "messagePayload");
    if (!cJSON_IsString(mp))
        return NULL;
    kvi_buf raw = KVI_BUF_INIT;
    if (kvi_base64_decode(&raw, mp->valuestring, strlen(mp->valuestring)) != 0)
        return NULL;
    cJSON *p = cJSON_ParseWithLength(raw.data, raw.len);
    kvi_buf_free(&raw);
    return p;
}

static const char *jstr(const cJSON *o, const char *name)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(it) ? it->valuestring : NULL;
}

/* What the service would forward for what we sent: our payload in a messageType envelope. */
static char *as_received(const char *sent, const char *type)
{
    cJSON *env = cJSON_Parse(sent);
    kvi_buf b = KVI_BUF_INIT;
    kvi_buf_printf(&b,
                   "{\"messageType\":\"%s\",\"senderClientId\":\"me\",\"messagePayload\":\"%s\"}",
                   type, jstr(env, "messagePayload"));
    cJSON_Delete(env);
    return kvi_buf_detach(&b);
}

/* Decodes what we sent in out as the service would forward it to the peer. */
static void decode_sent(const kvi_buf *out, const char *type, kvi_sig_message *m)
{
    char *rx = as_received(kvi_buf_str(out), type);
    const char *why = NULL;
    CHECK_INT(decode_str(rx, m, &why), 0);
    free(rx);
}

static void test_encode_answer(void)
{
    const char *sdp = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=\"quoted\" \\ caf\xc3\xa9\r\nt=0 0\r\n";
    kvi_buf out = KVI_BUF_INIT;
    const char *why = NULL;
    CHECK_INT(kvi_sig_encode_answer(&out, sdp, "viewer-7", "corr.1", &why), 0);
    cJSON *env = NULL;
    cJSON *p = sent_payload(kvi_buf_str(&out), &env);
    CHECK(p != NULL);
    CHECK_STR(jstr(env, "action"), "SDP_ANSWER");
    CHECK_STR(jstr(env, "recipientClientId"), "viewer-7");
    CHECK_STR(jstr(env, "correlationId"), "corr.1");
    CHECK_STR(jstr(p, "type"), "answer");
    CHECK_STR(jstr(p, "sdp"), sdp);
    cJSON_Delete(p);
    cJSON_Delete(env);
    /* And back through the decoder. */
    kvi_sig_message m;
    decode_sent(&out, "SDP_ANSWER", &m);
    CHECK_INT(m.type, KVI_SIG_SDP_ANSWER);
    CHECK_STR(m.sdp, sdp);
    kvi_sig_message_free(&m);
    kvi_buf_free(&out);

    /* No recipient (the storage service's offer had no sender), no correlation id: left out.
     * The encoder appends to what the buffer held. */
    kvi_buf_puts(&out, "X");
    CHECK_INT(kvi_sig_encode_answer(&out, "v=0\r\n", NULL, NULL, &why), 0);
    CHECK(out.data[0] == 'X');
    p = sent_payload(kvi_buf_str(&out) + 1, &env);
    CHECK(p != NULL);
    CHECK(cJSON_GetObjectItemCaseSensitive(env, "recipientClientId") == NULL);
    CHECK(cJSON_GetObjectItemCaseSensitive(env, "correlationId") == NULL);
    CHECK_INT(cJSON_GetArraySize(env), 2);
    cJSON_Delete(p);
    cJSON_Delete(env);
    kvi_buf_free(&out);
    /* "" means absent as well. */
    CHECK_INT(kvi_sig_encode_answer(&out, "v=0\r\n", "", "", &why), 0);
    CHECK(strstr(kvi_buf_str(&out), "recipientClientId") == NULL);
    kvi_buf_free(&out);

    /* Bad input. */
    CHECK_INT(kvi_sig_encode_answer(&out, NULL, NULL, NULL, &why), -1);
    CHECK(why != NULL);
    CHECK_INT(kvi_sig_encode_answer(&out, "", NULL, NULL, &why), -1);
    CHECK_INT(kvi_sig_encode_answer(&out, "v=0", "bad id!", NULL, &why), -1);
    CHECK(why && strstr(why, "recipientClientId"));
    CHECK_INT(kvi_sig_encode_answer(&out, "v=0", "ok", "has\"quote", &why), -1);
    CHECK(why && strstr(why, "correlationId"));
    char longid[258];
    memset(longid, 'a', 257);
    longid[257] = '\0';
    CHECK_INT(kvi_sig_encode_answer(&out, "v=0", longid, NULL, &why), -1);
    longid[256] = '\0';
    CHECK_INT(kvi_sig_encode_answer(&out, "v=0", longid, NULL, &why), 0);
    CHECK_INT(kvi_sig_encode_answer(&out, "v=0", NULL, NULL, NULL), 0); /* why may be NULL */
    kvi_buf_free(&out);
}

static void test_encode_candidate(void)
{
    kvi_buf out = KVI_BUF_INIT;
    const char *why = NULL;
    CHECK_INT(kvi_sig_encode_candidate(&out, CAND, "0", 0, "peer", "c-2", &why), 0);
    cJSON *env = NULL;
    cJSON *p = sent_payload(kvi_buf_str(&out), &env);
    CHECK(p != NULL);
    CHECK_STR(jstr(env, "action"), "ICE_CANDIDATE");
    CHECK_STR(jstr(env, "recipientClientId"), "peer");
    CHECK_STR(jstr(env, "correlationId"), "c-2");
    CHECK_STR(jstr(p, "candidate"), CAND);
    CHECK_STR(jstr(p, "sdpMid"), "0");
    const cJSON *idx = cJSON_GetObjectItemCaseSensitive(p, "sdpMLineIndex");
    CHECK(cJSON_IsNumber(idx) && idx->valueint == 0);
    cJSON_Delete(p);
    cJSON_Delete(env);
    kvi_sig_message m;
    decode_sent(&out, "ICE_CANDIDATE", &m);
    CHECK_INT(m.type, KVI_SIG_ICE_CANDIDATE);
    CHECK_STR(m.candidate, CAND);
    CHECK_STR(m.sdp_mid, "0");
    CHECK_INT(m.sdp_mline_index, 0);
    CHECK_STR(m.sender_client_id, "me");
    kvi_sig_message_free(&m);
    kvi_buf_free(&out);

    /* No mid, no index, no recipient: those members are left out. */
    CHECK_INT(kvi_sig_encode_candidate(&out, "", NULL, -1, NULL, NULL, &why), 0);
    p = sent_payload(kvi_buf_str(&out), &env);
    CHECK(p != NULL);
    CHECK_STR(jstr(p, "candidate"), "");
    CHECK(cJSON_GetObjectItemCaseSensitive(p, "sdpMid") == NULL);
    CHECK(cJSON_GetObjectItemCaseSensitive(p, "sdpMLineIndex") == NULL);
    CHECK(cJSON_GetObjectItemCaseSensitive(env, "recipientClientId") == NULL);
    cJSON_Delete(p);
    cJSON_Delete(env);
    kvi_buf_free(&out);

    CHECK_INT(kvi_sig_encode_candidate(&out, "c", "1", 7, NULL, NULL, &why), 0);
    decode_sent(&out, "ICE_CANDIDATE", &m);
    CHECK_INT(m.sdp_mline_index, 7);
    CHECK_STR(m.sdp_mid, "1");
    kvi_sig_message_free(&m);
    kvi_buf_free(&out);

    CHECK_INT(kvi_sig_encode_candidate(&out, NULL, "0", 0, NULL, NULL, &why), -1);
    CHECK(why != NULL);
    CHECK_INT(kvi_sig_encode_candidate(&out, "c", "0", 0, "a b", NULL, &why), -1);
    kvi_buf_free(&out);
}

static void test_size_limit(void)
{
    /* The limit is on the base64 messagePayload: 10 KB = 10240 characters, i.e. 7680 bytes of
     * payload JSON. {"type":"answer","sdp":"..."} has 26 bytes around the SDP. */
    size_t overhead = strlen("{\"type\":\"answer\",\"sdp\":\"\"}");
    size_t max_sdp = 7680 - overhead;
    char *sdp = malloc(max_sdp + 2);
    memset(sdp, 'a', max_sdp + 1);
    sdp[max_sdp] = '\0';
    kvi_buf out = KVI_BUF_INIT;
    const char *why = NULL;
    CHECK_INT(kvi_sig_encode_answer(&out, sdp, NULL, NULL, &why), 0);
    cJSON *env = cJSON_Parse(kvi_buf_str(&out));
    CHECK_INT(strlen(jstr(env, "messagePayload")), 10240);
    cJSON_Delete(env);
    kvi_buf_free(&out);
    sdp[max_sdp] = 'a';
    sdp[max_sdp + 1] = '\0';
    kvi_buf_puts(&out, "prior");
    CHECK_INT(kvi_sig_encode_answer(&out, sdp, NULL, NULL, &why), -1);
    CHECK(why && strstr(why, "10 KB") && strstr(why, "answer"));
    CHECK_STR(kvi_buf_str(&out), "prior"); /* nothing appended on failure */
    kvi_buf_free(&out);
    /* Escaping counts: 3000 newlines are 6000 bytes of JSON ("\r\n" -> 4 bytes each pair). */
    memset(sdp, '\n', 4000);
    sdp[4000] = '\0';
    CHECK_INT(kvi_sig_encode_answer(&out, sdp, NULL, NULL, &why), -1);
    kvi_buf_free(&out);
    /* A giant candidate too. */
    memset(sdp, 'c', max_sdp);
    sdp[max_sdp] = '\0';
    CHECK_INT(kvi_sig_encode_candidate(&out, sdp, "0", 0, NULL, NULL, &why), -1);
    CHECK(why && strstr(why, "candidate"));
    kvi_buf_free(&out);
    free(sdp);
}

/* ---- the answer check --------------------------------------------------------------------- */

/* What Chrome answers to the storage service's recvonly H.264 + Opus offer. */
static const char CHROME_ANSWER[] =
    "v=0\r\n"
    "o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "a=group:BUNDLE 0 1\r\n"
    "a=extmap-allow-mixed\r\n"
    "a=msid-semantic: WMS 5d2b0b3a-4a1c-4fd6-9d5f-2b1b2b6b3f0e\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 102 103 127 125\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=rtcp:9 IN IP4 0.0.0.0\r\n"
    "a=ice-ufrag:Xf3k\r\n"
    "a=ice-pwd:QhXjv6n2mS7oYJ9l2R8vPq1B\r\n"
    "a=ice-options:trickle\r\n"
    "a=fingerprint:sha-256 4A:1F:9C:77:0B:6D:21:3E:58:AF:90:12:CD:34:EF:56:78:9A:BC:DE:F0:11:22:"
    "33:44:55:66:77:88:99:AA:BB\r\n"
    "a=setup:active\r\n"
    "a=mid:0\r\n"
    "a=extmap:1 urn:ietf:params:rtp-hdrext:toffset\r\n"
    "a=extmap:3 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\n"
    "a=sendonly\r\n"
    "a=msid:5d2b0b3a-4a1c-4fd6-9d5f-2b1b2b6b3f0e 9c1b1f4e-8f0a-4d1e-bb2a-6f1d1e7c2a11\r\n"
    "a=rtcp-mux\r\n"
    "a=rtcp-rsize\r\n"
    "a=rtpmap:102 H264/90000\r\n"
    "a=rtcp-fb:102 goog-remb\r\n"
    "a=rtcp-fb:102 transport-cc\r\n"
    "a=rtcp-fb:102 ccm fir\r\n"
    "a=rtcp-fb:102 nack\r\n"
    "a=rtcp-fb:102 nack pli\r\n"
    "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n"
    "a=rtpmap:103 rtx/90000\r\n"
    "a=fmtp:103 apt=102\r\n"
    "a=rtpmap:127 red/90000\r\n"
    "a=rtpmap:125 ulpfec/90000\r\n"
    "a=ssrc-group:FID 2231627014 632943048\r\n"
    "a=ssrc:2231627014 cname:4TOk42mSjXCkVIa6\r\n"
    "a=ssrc:632943048 cname:4TOk42mSjXCkVIa6\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=rtcp:9 IN IP4 0.0.0.0\r\n"
    "a=ice-ufrag:Xf3k\r\n"
    "a=ice-pwd:QhXjv6n2mS7oYJ9l2R8vPq1B\r\n"
    "a=ice-options:trickle\r\n"
    "a=fingerprint:sha-256 4A:1F:9C:77:0B:6D:21:3E:58:AF:90:12:CD:34:EF:56:78:9A:BC:DE:F0:11:22:"
    "33:44:55:66:77:88:99:AA:BB\r\n"
    "a=setup:active\r\n"
    "a=mid:1\r\n"
    "a=extmap:14 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n"
    "a=sendonly\r\n"
    "a=msid:5d2b0b3a-4a1c-4fd6-9d5f-2b1b2b6b3f0e 0a4b6c1d-2e3f-4a5b-8c7d-9e0f1a2b3c4d\r\n"
    "a=rtcp-mux\r\n"
    "a=rtpmap:111 opus/48000/2\r\n"
    "a=rtcp-fb:111 transport-cc\r\n"
    "a=fmtp:111 minptime=10;useinbandfec=1\r\n"
    "a=ssrc:3735928559 cname:4TOk42mSjXCkVIa6\r\n";

static void refused(const char *sdp, const char *says)
{
    const char *why = NULL;
    CHECK_INT(kvi_sig_check_answer(sdp, 0, &why), -1);
    CHECK(why != NULL && strstr(why, says) != NULL);
    if (why && !strstr(why, says))
        fprintf(stderr, "  message [%s] lacks [%s]\n", why, says);
}

static void accepted(const char *sdp)
{
    const char *why = NULL;
    int rc = kvi_sig_check_answer(sdp, 0, &why);
    CHECK_INT(rc, 0);
    if (rc != 0)
        fprintf(stderr, "  refused: %s\n", why ? why : "(null)");
}

/* CHROME_ANSWER with one edit: the check must accept it, or refuse it saying says. */
static void accepted_edit(const char *from, const char *to)
{
    char *a = replace(CHROME_ANSWER, from, to);
    accepted(a);
    free(a);
}

static void refused_edit(const char *from, const char *to, const char *says)
{
    char *a = replace(CHROME_ANSWER, from, to);
    refused(a, says);
    free(a);
}

static void test_check_answer(void)
{
    accepted(CHROME_ANSWER);
    CHECK_INT(kvi_sig_check_answer(CHROME_ANSWER, 0, NULL), 0);

    /* Lowercase / uppercase codec names. */
    char *a = replace(CHROME_ANSWER, "H264/90000", "h264/90000");
    char *b = replace(a, "opus/48000/2", "OPUS/48000/2");
    accepted(b);
    free(a);
    free(b);
    /* Opus without the channel count, LF-only line endings, audio before video. */
    accepted_edit("opus/48000/2", "opus/48000");
    kvi_buf lf = KVI_BUF_INIT;
    for (const char *p = CHROME_ANSWER; *p; p++)
        if (*p != '\r')
            kvi_buf_putc(&lf, *p);
    accepted(lf.data);
    kvi_buf_free(&lf);
    const char *audio_at = strstr(CHROME_ANSWER, "m=audio");
    kvi_buf swapped = KVI_BUF_INIT;
    const char *video_at = strstr(CHROME_ANSWER, "m=video");
    kvi_buf_append(&swapped, CHROME_ANSWER, (size_t)(video_at - CHROME_ANSWER));
    kvi_buf_puts(&swapped, audio_at);
    kvi_buf_append(&swapped, video_at, (size_t)(audio_at - video_at));
    accepted(swapped.data);
    kvi_buf_free(&swapped);
    /* sendrecv is fine too. */
    accepted_edit("a=sendonly", "a=sendrecv");

    /* VP8-only video. */
    refused_edit("a=rtpmap:102 H264/90000", "a=rtpmap:102 VP8/90000", "no H.264 video");
    refused_edit("a=rtpmap:102 H264/90000", "a=rtpmap:102 VP8/90000", "Kinesis Video Streams");
    /* H.264 mapped to a payload type the m-line does not carry. */
    refused_edit("a=rtpmap:102 H264/90000", "a=rtpmap:96 H264/90000", "H.264");
    /* H.264 with a wrong clock rate. */
    refused_edit("H264/90000", "H264/8000", "H.264");
    /* No audio at all. */
    kvi_buf cut = KVI_BUF_INIT;
    kvi_buf_append(&cut, CHROME_ANSWER, (size_t)(audio_at - CHROME_ANSWER));
    refused(cut.data, "Opus");
    refused(cut.data, "no audio");
    kvi_buf_free(&cut);
    /* No video at all. */
    kvi_buf_append(&cut, CHROME_ANSWER, (size_t)(video_at - CHROME_ANSWER));
    kvi_buf_puts(&cut, audio_at);
    refused(cut.data, "no video");
    kvi_buf_free(&cut);
    /* Audio rejected with port 0 (as an answer rejects it: no attributes left). */
    refused_edit("m=audio 9 UDP/TLS/RTP/SAVPF 111", "m=audio 0 UDP/TLS/RTP/SAVPF 111",
                 "audio (port 0)");
    refused_edit("m=audio 9 UDP/TLS/RTP/SAVPF 111", "m=audio 0 UDP/TLS/RTP/SAVPF 111", "Opus");
    kvi_buf_append(&cut, CHROME_ANSWER, (size_t)(audio_at - CHROME_ANSWER));
    kvi_buf_puts(&cut, "m=audio 0 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\n");
    refused(cut.data, "rejects the audio");
    kvi_buf_free(&cut);
    /* Video rejected with port 0. */
    refused_edit("m=video 9", "m=video 0", "rejects the video");
    /* Inactive or recvonly video. */
    refused_edit("a=sendonly", "a=inactive", "H.264 video is inactive");
    refused_edit("a=sendonly", "a=recvonly", "video is inactive or recvonly");
    /* Inactive audio (the video's a=sendonly comes first, so replace the second one). */
    const char *second = strstr(strstr(CHROME_ANSWER, "a=sendonly") + 1, "a=sendonly");
    kvi_buf_append(&cut, CHROME_ANSWER, (size_t)(second - CHROME_ANSWER));
    kvi_buf_puts(&cut, "a=inactive");
    kvi_buf_puts(&cut, second + strlen("a=sendonly"));
    refused(cut.data, "Opus audio is inactive");
    kvi_buf_free(&cut);
    /* A session-level a=inactive applies to media without their own direction. */
    a = replace(CHROME_ANSWER, "a=extmap-allow-mixed\r\n",
                "a=extmap-allow-mixed\r\na=inactive\r\n");
    accepted(a); /* each m-line says sendonly, which wins */
    char *c = replace(a, "a=sendonly\r\n", "");
    refused(c, "video is inactive");
    free(c);
    free(a);
    /* A second video m-line with H.264 is enough when the first one is VP8. */
    a = replace(CHROME_ANSWER, "a=rtpmap:102 H264/90000", "a=rtpmap:102 VP8/90000");
    kvi_buf_puts(&cut, a);
    kvi_buf_puts(&cut, "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:2\r\na=sendonly\r\n"
                       "a=rtpmap:96 H264/90000\r\n");
    accepted(cut.data);
    kvi_buf_free(&cut);
    free(a);
    /* Opus at the wrong clock rate. */
    refused_edit("opus/48000/2", "opus/16000/2", "no Opus audio");

    /* Degenerate input never crashes. */
    refused("", "empty");
    refused(NULL, "empty");
    refused("garbage", "no video");
    refused("m=", "no video");
    refused("m=video", "rejects the video");
    refused("m=video 9", "no H.264");
    refused("m=video 9 RTP/AVP 96\na=rtpmap:96 H264/90000\n", "no audio");
    accepted("m=video 9 RTP/AVP 96\na=rtpmap:96 H264/90000\nm=audio 9 RTP/AVP 111\n"
             "a=rtpmap:111 opus/48000/2");
    refused("a=rtpmap:96 H264/90000\r\n", "no video");
    refused("m=video 99999999999999999999 RTP/AVP 96\na=rtpmap:96 H264/90000\n", "no audio");
    refused("m=video 9 RTP/AVP 96\na=rtpmap:96\na=rtpmap:\na=rtpmap:96 \na=rtpmap: H264/90000\n",
            "H.264");
    /* Random SDP-ish garbage. */
    int ok = 1;
    static const char *const frags[] = {
        "m=video 9 X 96", "m=audio 0 X 111", "a=rtpmap:96 H264/90000", "a=rtpmap:111 opus/48000/2",
        "a=inactive",     "a=sendonly",      "\r\n",                   "\n",
        "m=",             "a=",              " ",                      "96",
        "\r"};
    for (int it = 0; it < 3000; it++) {
        kvi_buf s = KVI_BUF_INIT;
        int parts = (int)(rng() % 12);
        for (int k = 0; k < parts; k++)
            kvi_buf_puts(&s, frags[rng() % (sizeof frags / sizeof frags[0])]);
        const char *why = NULL;
        int rc = kvi_sig_check_answer(kvi_buf_str(&s), 0, &why);
        if ((rc == 0) != (why == NULL))
            ok = 0;
        kvi_buf_free(&s);
    }
    CHECK(ok);
}

static void viewer_verdict(const char *sdp, const char *says)
{
    const char *why = NULL;
    int rc = kvi_sig_check_answer(sdp, 1, &why);
    if (!says) {
        CHECK_INT(rc, 0);
        if (rc != 0)
            fprintf(stderr, "  viewer answer refused: %s\n", why ? why : "(null)");
    } else {
        CHECK_INT(rc, -1);
        CHECK(why != NULL && strstr(why, says) != NULL);
    }
}

/* A viewer receives the master's H.264 video and may send Opus audio: its answer has recvonly
 * video, and audio in any direction or none. */
static void test_check_viewer_answer(void)
{
    const char *video_dir = strstr(CHROME_ANSWER, "a=sendonly");
    const char *audio_dir = strstr(video_dir + 1, "a=sendonly");
    /* CHROME_ANSWER with the video's and the audio's direction lines replaced. */
    kvi_buf b = KVI_BUF_INIT;
#define ANSWER(vdir, adir) \
    do { \
        kvi_buf_free(&b); \
        kvi_buf_append(&b, CHROME_ANSWER, (size_t)(video_dir - CHROME_ANSWER)); \
        kvi_buf_puts(&b, vdir); \
        kvi_buf_append(&b, video_dir + 10, (size_t)(audio_dir - video_dir - 10)); \
        kvi_buf_puts(&b, adir); \
        kvi_buf_puts(&b, audio_dir + 10); \
    } while (0)
    ANSWER("a=recvonly", "a=sendrecv"); /* talks back */
    viewer_verdict(b.data, NULL);
    CHECK_INT(kvi_sig_check_answer(b.data, 0, NULL), -1); /* not what a master may answer */
    ANSWER("a=recvonly", "a=recvonly"); /* listens only */
    viewer_verdict(b.data, NULL);
    ANSWER("a=inactive", "a=sendonly");
    viewer_verdict(b.data, NULL);
    ANSWER("a=sendonly", "a=recvonly"); /* viewers send no video */
    viewer_verdict(b.data, "sends video");
    ANSWER("a=sendrecv", "a=recvonly");
    viewer_verdict(b.data, "Opus audio only");
    /* The master's answer sends video: a viewer may not. */
    viewer_verdict(CHROME_ANSWER, "sends video");
    /* Receiving video that is not H.264. */
    ANSWER("a=recvonly", "a=recvonly");
    char *vp8 = replace(b.data, "a=rtpmap:102 H264/90000", "a=rtpmap:102 VP8/90000");
    viewer_verdict(vp8, "not H.264");
    free(vp8);
    /* Sending audio that is not Opus; receiving it only is fine. */
    ANSWER("a=recvonly", "a=sendrecv");
    char *pcmu = replace(b.data, "opus/48000/2", "PCMU/8000");
    viewer_verdict(pcmu, "not Opus");
    free(pcmu);
    ANSWER("a=recvonly", "a=recvonly");
    pcmu = replace(b.data, "opus/48000/2", "PCMU/8000");
    viewer_verdict(pcmu, NULL);
    free(pcmu);
    /* No audio m-line, or video rejected: an audio-only or video-only viewer. */
    ANSWER("a=recvonly", "a=sendrecv");
    kvi_buf cut = KVI_BUF_INIT;
    kvi_buf_append(&cut, b.data, (size_t)(strstr(b.data, "m=audio") - b.data));
    viewer_verdict(cut.data, NULL);
    kvi_buf_free(&cut);
    char *rejected = replace(b.data, "m=video 9", "m=video 0");
    viewer_verdict(rejected, NULL);
    free(rejected);
    viewer_verdict("", "empty");
    viewer_verdict(NULL, "empty");
#undef ANSWER
    kvi_buf_free(&b);
}

int main(void)
{
    test_check_viewer_answer();
    test_base64();
    test_decode_offer();
    test_decode_candidate();
    test_decode_control();
    test_decode_stray();
    test_decode_refused();
    test_truncated();
    test_garbage();
    test_huge();
    test_encode_answer();
    test_encode_candidate();
    test_size_limit();
    test_check_answer();
    return CHECK_DONE();
}
