/* SPDX-License-Identifier: Apache-2.0 */
/* signaling.c - KVS signaling messages: decoding what the service sends, encoding what we send,
 * and checking an SDP answer for what the storage service needs (H.264 video, Opus audio). */
#include "session/signaling.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/utf8.h"

/* The service's limit on messagePayload, which is the base64 text ("Maximum length of 10K" in
 * the SendSdpAnswer / SendIceCandidate WebSocket API reference). */
#define PAYLOAD_MAX (10 * 1024)
/* Client ids and correlation ids: [a-zA-Z0-9_.-]{1,256}. */
#define ID_MAX 256
/* m-line indexes beyond this are not real SDP. */
#define MLINE_INDEX_MAX 65535

/* ---- base64 ------------------------------------------------------------------------------- */

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int kvi_base64_encode(kvi_buf *out, const void *data, size_t len)
{
    const unsigned char *p = data;
    if (len > ((size_t)-1 - 2) / 4 * 3)
        return -1;
    size_t start = out->len;
    char q[4];
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < len)
            v |= p[i + 2];
        q[0] = B64[(v >> 18) & 63];
        q[1] = B64[(v >> 12) & 63];
        q[2] = i + 1 < len ? B64[(v >> 6) & 63] : '=';
        q[3] = i + 2 < len ? B64[v & 63] : '=';
        if (kvi_buf_append(out, q, 4) != 0) {
            if (out->data) {
                out->len = start;
                out->data[start] = '\0';
            }
            return -1;
        }
    }
    /* An empty input still leaves a valid (empty, NUL-terminated) buffer. */
    return len == 0 ? kvi_buf_append(out, "", 0) : 0;
}

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int kvi_base64_decode(kvi_buf *out, const char *text, size_t len)
{
    if (!text && len)
        return -1;
    /* Padded input only: whole quads, '=' only in the last one's last two places. */
    if (len % 4 != 0)
        return -1;
    size_t start = out->len;
    for (size_t i = 0; i < len; i += 4) {
        int last = i + 4 == len;
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; k++) {
            unsigned char c = (unsigned char)text[i + k];
            if (c == '=' && last && k >= 2) {
                v[k] = 0;
                pad++;
                continue;
            }
            if (pad || (v[k] = b64_value(c)) < 0)
                goto bad;
        }
        /* Bits below the data must be zero in canonical base64. */
        if ((pad == 2 && (v[1] & 0x0F)) || (pad == 1 && (v[2] & 0x03)))
            goto bad;
        unsigned char b[3] = {(unsigned char)(v[0] << 2 | v[1] >> 4),
                              (unsigned char)((v[1] & 0x0F) << 4 | v[2] >> 2),
                              (unsigned char)((v[2] & 0x03) << 6 | v[3])};
        if (kvi_buf_append(out, b, (size_t)(3 - pad)) != 0)
            goto bad;
    }
    return len == 0 ? kvi_buf_append(out, "", 0) : 0;
bad:
    if (out->data) {
        out->len = start;
        out->data[start] = '\0';
    }
    return -1;
}

/* ---- decoding ----------------------------------------------------------------------------- */

static int valid_id(const char *s);

void kvi_sig_message_free(kvi_sig_message *m)
{
    if (!m)
        return;
    free(m->sender_client_id);
    free(m->sdp);
    free(m->candidate);
    free(m->sdp_mid);
    free(m->correlation_id);
    free(m->error_type);
    free(m->status_code);
    free(m->description);
    memset(m, 0, sizeof *m);
    m->sdp_mline_index = -1;
}

static const char *str_member(const cJSON *obj, const char *name)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsString(it) && it->valuestring ? it->valuestring : NULL;
}

/* A member as a string: strings as they are, numbers in their shortest integer/decimal form
 * (statusCode may come either way). NULL when absent or another type; *oom on failure. */
static char *dup_scalar(const cJSON *obj, const char *name, int *oom)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);
    char num[64];
    const char *s = NULL;
    if (cJSON_IsString(it) && it->valuestring) {
        s = it->valuestring;
    } else if (cJSON_IsNumber(it)) {
        double d = it->valuedouble;
        if (d > -1e15 && d < 1e15 && d == (double)(long long)d)
            snprintf(num, sizeof num, "%lld", (long long)d);
        else
            snprintf(num, sizeof num, "%.17g", d);
        s = num;
    }
    if (!s)
        return NULL;
    char *copy = kvi_strdup(s);
    if (!copy)
        *oom = 1;
    return copy;
}

/* sdpMLineIndex: a non-negative integer, as a JSON number or a numeric string; -1 otherwise. */
static int mline_index(const cJSON *obj)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, "sdpMLineIndex");
    if (cJSON_IsNumber(it)) {
        double d = it->valuedouble;
        if (d >= 0 && d <= MLINE_INDEX_MAX && d == (double)(int)d)
            return (int)d;
        return -1;
    }
    if (cJSON_IsString(it) && it->valuestring) {
        const char *s = it->valuestring;
        long v = 0;
        size_t i = 0;
        while (s[i] == ' ')
            i++;
        size_t digits = 0;
        for (; s[i] >= '0' && s[i] <= '9'; i++, digits++) {
            v = v * 10 + (s[i] - '0');
            if (v > MLINE_INDEX_MAX)
                return -1;
        }
        while (s[i] == ' ')
            i++;
        return digits && s[i] == '\0' ? (int)v : -1;
    }
    return -1;
}

/* Does JSON text hold the escape \u0000 (a NUL in some string)? Backslashes only occur in
 * strings, and an escaped backslash is skipped whole, so "\\u0000" is not one. */
static int has_escaped_nul(const char *text, size_t len)
{
    for (size_t i = 0; i + 1 < len; i++) {
        if (text[i] != '\\')
            continue;
        if (text[i + 1] == 'u' && i + 5 < len && memcmp(text + i + 2, "0000", 4) == 0)
            return 1;
        i++; /* the escaped character */
    }
    return 0;
}

/* Why JSON text must be refused before parsing it (NULL: it may be parsed). cJSON would end a
 * string at an escaped NUL and skip a raw one as whitespace; neither may shorten what we pass
 * on. */
static const char *refuse_text(const char *text, size_t len, const char *where)
{
    static const char *const WHY[][3] = {
        {"a NUL byte in the message", "the message is not valid UTF-8",
         "a NUL character (\\u0000) in a string of the message"},
        {"a NUL byte in the messagePayload", "the messagePayload is not valid UTF-8",
         "a NUL character (\\u0000) in a string of the messagePayload"}};
    int w = strcmp(where, "payload") == 0;
    if (memchr(text, '\0', len))
        return WHY[w][0];
    if (!kvi_utf8_valid(text, len))
        return WHY[w][1];
    if (has_escaped_nul(text, len))
        return WHY[w][2];
    return NULL;
}

/* The envelope's messagePayload: base64 text holding a JSON object. NULL with *why if not;
 * *refused set when it breaks a rule rather than being garbage. */
static cJSON *payload_object(const cJSON *env, const char **why, int *refused)
{
    const char *b64 = str_member(env, "messagePayload");
    if (!b64) {
        *why = "no messagePayload";
        return NULL;
    }
    kvi_buf raw = KVI_BUF_INIT;
    if (kvi_base64_decode(&raw, b64, strlen(b64)) != 0) {
        /* Out of memory here is reported like bad text: the message is skipped either way. */
        kvi_buf_free(&raw);
        *why = "messagePayload is not valid base64";
        return NULL;
    }
    const char *bad = raw.len ? refuse_text(raw.data, raw.len, "payload") : NULL;
    if (bad) {
        kvi_buf_free(&raw);
        *why = bad;
        *refused = 1;
        return NULL;
    }
    cJSON *p = raw.len ? cJSON_ParseWithLength(raw.data, raw.len) : NULL;
    kvi_buf_free(&raw);
    if (!cJSON_IsObject(p)) {
        cJSON_Delete(p);
        *why = "messagePayload is not a base64 JSON object";
        return NULL;
    }
    return p;
}

int kvi_sig_decode(const char *text, size_t len, kvi_sig_message *out, const char **why)
{
    static const char *dummy;
    if (!why)
        why = &dummy;
    *why = NULL;
    memset(out, 0, sizeof *out);
    out->type = KVI_SIG_IGNORED;
    out->sdp_mline_index = -1;
    if (!text || len == 0) {
        *why = "empty message";
        return 0;
    }
    const char *bad = refuse_text(text, len, "envelope");
    if (bad) {
        *why = bad;
        out->type = KVI_SIG_REFUSED;
        return 0;
    }
    cJSON *env = cJSON_ParseWithLength(text, len);
    if (!cJSON_IsObject(env)) {
        cJSON_Delete(env);
        *why = "not a JSON object";
        return 0;
    }
    int oom = 0, refused = 0;
    cJSON *payload = NULL;
    const char *type = str_member(env, "messageType");
    kvi_sig_type t = KVI_SIG_IGNORED;
    if (!type) {
        /* API Gateway's own frames ({"message": "Endpoint request timed out", ...}). */
        *why = str_member(env, "message") ? "a gateway message, not a signaling message"
                                          : "no messageType";
        goto done;
    }
    if (strcmp(type, "SDP_OFFER") == 0 || strcmp(type, "SDP_ANSWER") == 0) {
        int offer = type[4] == 'O';
        payload = payload_object(env, why, &refused);
        if (!payload)
            goto done;
        const char *ptype = str_member(payload, "type");
        const char *sdp = str_member(payload, "sdp");
        if (!sdp || !*sdp) {
            *why = "the SDP payload has no sdp";
            goto done;
        }
        if (ptype && strcmp(ptype, offer ? "offer" : "answer") != 0) {
            *why = "the SDP payload's type does not match the messageType";
            goto done;
        }
        out->sdp = kvi_strdup(sdp);
        oom = !out->sdp;
        t = offer ? KVI_SIG_SDP_OFFER : KVI_SIG_SDP_ANSWER;
    } else if (strcmp(type, "ICE_CANDIDATE") == 0) {
        payload = payload_object(env, why, &refused);
        if (!payload)
            goto done;
        const char *cand = str_member(payload, "candidate");
        if (!cand) {
            *why = "the ICE_CANDIDATE payload has no candidate";
            goto done;
        }
        out->candidate = kvi_strdup(cand);
        const char *mid = str_member(payload, "sdpMid");
        out->sdp_mid = mid ? kvi_strdup(mid) : NULL;
        out->sdp_mline_index = mline_index(payload);
        oom = !out->candidate || (mid && !out->sdp_mid);
        t = KVI_SIG_ICE_CANDIDATE;
    } else if (strcmp(type, "GO_AWAY") == 0) {
        t = KVI_SIG_GO_AWAY;
    } else if (strcmp(type, "RECONNECT_ICE_SERVER") == 0) {
        t = KVI_SIG_RECONNECT_ICE_SERVER;
    } else if (strcmp(type, "STATUS_RESPONSE") == 0) {
        const cJSON *sr = cJSON_GetObjectItemCaseSensitive(env, "statusResponse");
        if (cJSON_IsObject(sr)) {
            out->correlation_id = dup_scalar(sr, "correlationId", &oom);
            out->error_type = dup_scalar(sr, "errorType", &oom);
            out->status_code = dup_scalar(sr, "statusCode", &oom);
            out->description = dup_scalar(sr, "description", &oom);
        }
        t = KVI_SIG_STATUS_RESPONSE;
    } else {
        *why = "unknown messageType";
        goto done;
    }
    const char *sender = str_member(env, "senderClientId");
    if (sender && *sender && !valid_id(sender)) {
        /* refused now, not when an answer to it fails to encode */
        *why = "senderClientId must be 1-256 characters of [a-zA-Z0-9_.-]";
        refused = 1;
        goto done;
    }
    if (!oom && sender && *sender) {
        out->sender_client_id = kvi_strdup(sender);
        oom = !out->sender_client_id;
    }
    out->type = t;

done:
    cJSON_Delete(payload);
    cJSON_Delete(env);
    if (oom) {
        kvi_sig_message_free(out);
        *why = "out of memory";
        return -1;
    }
    if (refused || out->type == KVI_SIG_IGNORED) {
        /* Nothing half-filled leaks out of an ignored or refused message. */
        const char *keep = *why;
        kvi_sig_message_free(out);
        *why = keep;
        out->type = refused ? KVI_SIG_REFUSED : KVI_SIG_IGNORED;
    }
    return 0;
}

/* ---- encoding ----------------------------------------------------------------------------- */

/* NULL and "" both mean "absent"; otherwise [a-zA-Z0-9_.-]{1,256}. */
static int valid_id(const char *s)
{
    if (!s || !*s)
        return 1;
    size_t n = 0;
    for (; s[n]; n++) {
        char c = s[n];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '_' || c == '.' || c == '-';
        if (!ok || n >= ID_MAX)
            return 0;
    }
    return 1;
}

/* Wraps payload (a JSON object) into the envelope and appends it to out. Consumes payload. */
static int encode_envelope(kvi_buf *out, const char *action, cJSON *payload,
                           const char *recipient, const char *correlation_id, const char **why)
{
    static const char *dummy;
    if (!why)
        why = &dummy;
    *why = NULL;
    int rc = -1;
    char *json = NULL;
    cJSON *env = NULL;
    kvi_buf b64 = KVI_BUF_INIT;
    if (!payload) {
        *why = "out of memory";
        return -1;
    }
    if (!valid_id(recipient)) {
        *why = "recipientClientId must be 1-256 characters of [a-zA-Z0-9_.-]";
        goto done;
    }
    if (!valid_id(correlation_id)) {
        *why = "correlationId must be 1-256 characters of [a-zA-Z0-9_.-]";
        goto done;
    }
    json = cJSON_PrintUnformatted(payload);
    if (!json || kvi_base64_encode(&b64, json, strlen(json)) != 0) {
        *why = "out of memory";
        goto done;
    }
    if (b64.len > PAYLOAD_MAX) {
        *why = strcmp(action, "SDP_ANSWER") == 0
                   ? "the SDP answer is too large: its base64 messagePayload is over the "
                     "signaling service's 10 KB limit"
                   : "the ICE candidate is too large: its base64 messagePayload is over the "
                     "signaling service's 10 KB limit";
        goto done;
    }
    env = cJSON_CreateObject();
    int ok = env && cJSON_AddStringToObject(env, "action", action);
    if (ok && recipient && *recipient)
        ok = cJSON_AddStringToObject(env, "recipientClientId", recipient) != NULL;
    ok = ok && cJSON_AddStringToObject(env, "messagePayload", b64.data) != NULL;
    if (ok && correlation_id && *correlation_id)
        ok = cJSON_AddStringToObject(env, "correlationId", correlation_id) != NULL;
    char *text = ok ? cJSON_PrintUnformatted(env) : NULL;
    if (!text || kvi_buf_puts(out, text) != 0) {
        cJSON_free(text);
        *why = "out of memory";
        goto done;
    }
    cJSON_free(text);
    rc = 0;
done:
    cJSON_Delete(env);
    cJSON_free(json);
    cJSON_Delete(payload);
    kvi_buf_free(&b64);
    return rc;
}

int kvi_sig_encode_answer(kvi_buf *out, const char *sdp, const char *recipient,
                          const char *correlation_id, const char **why)
{
    if (!sdp || !*sdp) {
        if (why)
            *why = "the SDP answer is empty";
        return -1;
    }
    cJSON *p = cJSON_CreateObject();
    if (p && (!cJSON_AddStringToObject(p, "type", "answer") ||
              !cJSON_AddStringToObject(p, "sdp", sdp))) {
        cJSON_Delete(p);
        p = NULL;
    }
    return encode_envelope(out, "SDP_ANSWER", p, recipient, correlation_id, why);
}

int kvi_sig_encode_candidate(kvi_buf *out, const char *candidate, const char *sdp_mid,
                             int sdp_mline_index, const char *recipient,
                             const char *correlation_id, const char **why)
{
    if (!candidate) {
        if (why)
            *why = "the ICE candidate is missing";
        return -1;
    }
    cJSON *p = cJSON_CreateObject();
    int ok = p && cJSON_AddStringToObject(p, "candidate", candidate);
    /* Absent members are left out rather than sent as null. */
    if (ok && sdp_mid)
        ok = cJSON_AddStringToObject(p, "sdpMid", sdp_mid) != NULL;
    if (ok && sdp_mline_index >= 0)
        ok = cJSON_AddNumberToObject(p, "sdpMLineIndex", sdp_mline_index) != NULL;
    if (!ok) {
        cJSON_Delete(p);
        p = NULL;
    }
    return encode_envelope(out, "ICE_CANDIDATE", p, recipient, correlation_id, why);
}

/* ---- checking an answer ------------------------------------------------------------------- */

enum { KIND_OTHER, KIND_VIDEO, KIND_AUDIO };

/* What we learned about the m-lines of one kind. */
typedef struct kind_state {
    int seen;          /* an m-line of this kind */
    int live;          /* ... with a non-zero port */
    int codec_idle;    /* ... live with the codec but inactive or recvonly */
    int ok;            /* ... live, sending, with the codec */
    int codec_live;    /* ... live with the codec, whatever its direction */
    int sends;         /* ... live and sending (sendrecv, sendonly, or no direction) */
} kind_state;

typedef struct section {
    int kind;
    int port_zero;
    int direction; /* 0 unset, 1 sendrecv/sendonly, 2 recvonly/inactive */
    int has_codec;
    const char *fmts; /* the m-line's payload types: from here to fmts_end */
    const char *fmts_end;
} section;

static int ci_eq_n(const char *a, size_t n, const char *lit)
{
    size_t i = 0;
    for (; i < n && lit[i]; i++) {
        int x = (unsigned char)a[i], y = (unsigned char)lit[i];
        if (x >= 'A' && x <= 'Z')
            x += 32;
        if (y >= 'A' && y <= 'Z')
            y += 32;
        if (x != y)
            return 0;
    }
    return i == n && lit[i] == '\0';
}

/* Is the payload type pt[0..n) among the m-line's formats? */
static int in_fmts(const section *s, const char *pt, size_t n)
{
    const char *p = s->fmts;
    while (p && p < s->fmts_end) {
        while (p < s->fmts_end && *p == ' ')
            p++;
        const char *e = p;
        while (e < s->fmts_end && *e != ' ')
            e++;
        if ((size_t)(e - p) == n && n > 0 && memcmp(p, pt, n) == 0)
            return 1;
        p = e;
    }
    return 0;
}

/* a=rtpmap:<pt> <name>/<clock>[/<channels>] names the kind's codec? */
static int rtpmap_matches(const section *s, const char *v, size_t n)
{
    size_t i = 0;
    while (i < n && v[i] >= '0' && v[i] <= '9')
        i++;
    size_t pt_len = i;
    if (pt_len == 0 || i >= n || v[i] != ' ' || !in_fmts(s, v, pt_len))
        return 0;
    while (i < n && v[i] == ' ')
        i++;
    const char *enc = v + i;
    size_t len = n - i;
    while (len > 0 && (enc[len - 1] == ' ' || enc[len - 1] == '\t'))
        len--;
    if (s->kind == KIND_VIDEO)
        return ci_eq_n(enc, len, "H264/90000");
    return ci_eq_n(enc, len, "opus/48000/2") || ci_eq_n(enc, len, "opus/48000");
}

static void section_end(const section *s, int session_dir, kind_state *video, kind_state *audio)
{
    kind_state *k = s->kind == KIND_VIDEO ? video : s->kind == KIND_AUDIO ? audio : NULL;
    if (!k)
        return;
    int dir = s->direction ? s->direction : session_dir;
    k->seen = 1;
    if (s->port_zero)
        return;
    k->live = 1;
    if (dir != 2)
        k->sends = 1;
    if (!s->has_codec)
        return;
    k->codec_live = 1;
    if (dir == 2)
        k->codec_idle = 1;
    else
        k->ok = 1;
}

static const char *kind_problem(const kind_state *k, int video)
{
    if (k->ok)
        return NULL;
    if (!k->seen)
        return video ? "The answer has no video: Kinesis Video Streams storage needs H.264 video "
                       "and Opus audio"
                     : "The answer has no audio: Kinesis Video Streams storage needs H.264 video "
                       "and Opus audio";
    if (k->codec_idle)
        return video ? "The answer's H.264 video is inactive or recvonly: Kinesis Video Streams "
                       "storage needs the device to send H.264 video"
                     : "The answer's Opus audio is inactive or recvonly: Kinesis Video Streams "
                       "storage needs the device to send Opus audio";
    if (!k->live)
        return video ? "The answer rejects the video (port 0): Kinesis Video Streams storage "
                       "needs H.264 video and Opus audio"
                     : "The answer rejects the audio (port 0): Kinesis Video Streams storage "
                       "needs H.264 video and Opus audio";
    return video ? "The answer has no H.264 video: Kinesis Video Streams storage needs H.264 "
                   "video and Opus audio"
                 : "The answer has no Opus audio: Kinesis Video Streams storage needs H.264 "
                   "video and Opus audio";
}

/* A viewer's answer: it receives the master's H.264 video (or rejects video) and sends no video;
 * it may send audio, Opus only. */
static const char *viewer_problem(const kind_state *video, const kind_state *audio)
{
    if (video->sends)
        return "The answer sends video: a viewer of a Kinesis Video Streams storage session can "
               "send Opus audio only";
    if (video->live && !video->codec_live)
        return "The answer's video is not H.264: a viewer of a Kinesis Video Streams storage "
               "session receives the master's H.264 video";
    if (audio->sends && !audio->codec_live)
        return "The answer sends audio that is not Opus: a viewer of a Kinesis Video Streams "
               "storage session can send Opus audio only";
    return NULL;
}

/* Direction attributes: 1 sends, 2 does not, 0 not a direction. */
static int direction_of(const char *v, size_t n)
{
    if (ci_eq_n(v, n, "sendrecv") || ci_eq_n(v, n, "sendonly"))
        return 1;
    if (ci_eq_n(v, n, "recvonly") || ci_eq_n(v, n, "inactive"))
        return 2;
    return 0;
}

int kvi_sig_check_answer(const char *sdp, int viewer, const char **why)
{
    static const char *dummy;
    if (!why)
        why = &dummy;
    *why = NULL;
    if (!sdp || !*sdp) {
        *why = viewer ? "The answer is empty: a viewer of a Kinesis Video Streams storage session "
                        "answers the service's offer"
                      : "The answer is empty: Kinesis Video Streams storage needs H.264 video and "
                        "Opus audio";
        return -1;
    }
    kind_state video, audio;
    memset(&video, 0, sizeof video);
    memset(&audio, 0, sizeof audio);
    section cur;
    memset(&cur, 0, sizeof cur);
    int in_media = 0, session_dir = 0;
    const char *p = sdp;
    while (*p) {
        size_t n = strcspn(p, "\r\n");
        const char *line = p;
        p += n;
        while (*p == '\r' || *p == '\n')
            p++;
        if (n < 2 || line[1] != '=')
            continue;
        const char *v = line + 2;
        size_t vn = n - 2;
        if (line[0] == 'm') {
            if (in_media)
                section_end(&cur, session_dir, &video, &audio);
            memset(&cur, 0, sizeof cur);
            in_media = 1;
            /* m=<media> <port>[/<count>] <proto> <fmt> ... */
            size_t i = 0;
            while (i < vn && v[i] != ' ')
                i++;
            cur.kind = ci_eq_n(v, i, "video") ? KIND_VIDEO
                       : ci_eq_n(v, i, "audio") ? KIND_AUDIO
                                                : KIND_OTHER;
            while (i < vn && v[i] == ' ')
                i++;
            size_t port_start = i;
            unsigned long port = 0;
            while (i < vn && v[i] >= '0' && v[i] <= '9' && port < 100000)
                port = port * 10 + (unsigned long)(v[i++] - '0');
            cur.port_zero = i == port_start || port == 0;
            while (i < vn && v[i] != ' ')
                i++; /* "/count" */
            while (i < vn && v[i] == ' ')
                i++;
            while (i < vn && v[i] != ' ')
                i++; /* proto */
            cur.fmts = v + i;
            cur.fmts_end = v + vn;
        } else if (line[0] == 'a') {
            int dir = direction_of(v, vn);
            if (dir) {
                if (in_media)
                    cur.direction = dir;
                else
                    session_dir = dir;
            } else if (in_media && vn > 7 && ci_eq_n(v, 7, "rtpmap:") &&
                       (cur.kind == KIND_VIDEO || cur.kind == KIND_AUDIO) &&
                       rtpmap_matches(&cur, v + 7, vn - 7)) {
                cur.has_codec = 1;
            }
        }
    }
    if (in_media)
        section_end(&cur, session_dir, &video, &audio);
    const char *problem = NULL;
    if (viewer) {
        problem = viewer_problem(&video, &audio);
    } else {
        problem = kind_problem(&video, 1);
        if (!problem)
            problem = kind_problem(&audio, 0);
    }
    if (problem) {
        *why = problem;
        return -1;
    }
    return 0;
}
