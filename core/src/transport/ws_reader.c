/* SPDX-License-Identifier: Apache-2.0 */
/* ws_reader.c - the receiving half of RFC 6455 without I/O: the frame parser, reassembly, UTF-8
 * and close-frame checks, and the limits on what a peer can make us do. */
#include "transport/ws_reader.h"

#include <string.h>

/* ---- the frame parser --------------------------------------------------------------------- */

/* Compared by address: this protocol error closes with 1009 (message too big), not 1002. */
static const char WHY_TOO_BIG[] = "frame larger than the message size limit";

int kvi_ws_parse_frame(unsigned char *data, size_t len, uint64_t max_payload,
                       kvi_ws_frame *frame, const char **why)
{
    static const char *dummy;
    if (!why)
        why = &dummy;
    *why = NULL;
    if (len < 2)
        return 0;
    unsigned char b0 = data[0], b1 = data[1];
    if (b0 & 0x70) {
        *why = "reserved bits set in a frame (no extension was negotiated)";
        return -1;
    }
    unsigned op = b0 & 0x0F;
    if (!(op <= 0x2 || (op >= 0x8 && op <= 0xA))) {
        *why = "unknown opcode";
        return -1;
    }
    int fin = (b0 & 0x80) != 0;
    int masked = (b1 & 0x80) != 0;
    uint64_t plen = b1 & 0x7F;
    if (op & 0x8) {
        if (!fin) {
            *why = "fragmented control frame";
            return -1;
        }
        if (plen > 125) {
            *why = "control frame over 125 bytes";
            return -1;
        }
    }
    size_t hlen = 2;
    if (plen == 126) {
        if (len < 4)
            return 0;
        plen = ((uint64_t)data[2] << 8) | data[3];
        hlen = 4;
    } else if (plen == 127) {
        if (len < 10)
            return 0;
        if (data[2] & 0x80) {
            *why = "frame length with the most significant bit set";
            return -1;
        }
        plen = 0;
        for (int i = 2; i < 10; i++)
            plen = (plen << 8) | data[i];
        hlen = 10;
    }
    if (plen > max_payload) {
        *why = WHY_TOO_BIG;
        return -1;
    }
    const unsigned char *key = NULL;
    if (masked) {
        if (len < hlen + 4)
            return 0;
        key = data + hlen;
        hlen += 4;
    }
    if (plen > (uint64_t)(len - hlen))
        return 0;
    unsigned char *payload = data + hlen;
    if (masked)
        for (size_t i = 0; i < (size_t)plen; i++)
            payload[i] ^= key[i & 3];
    frame->fin = fin;
    frame->opcode = (kvi_ws_opcode)op;
    frame->masked = masked;
    frame->payload_len = plen;
    frame->payload = payload;
    frame->header_len = hlen;
    return 1;
}

/* ---- the receive rules -------------------------------------------------------------------- */

#define DEFAULT_MAX_MESSAGE ((uint64_t)1 << 20)
#define DEFAULT_MAX_FRAGMENTS 1024u
#define DEFAULT_MESSAGE_TIMEOUT_MS 20000
/* A peer may send this many seconds' worth of its rate at once (a burst after a quiet spell). */
#define BURST_SECONDS 10

void kvi_ws_reader_init(kvi_ws_reader *r, const kvi_ws_limits *lim)
{
    memset(r, 0, sizeof *r);
    if (lim)
        r->lim = *lim;
    if (!r->lim.max_message)
        r->lim.max_message = DEFAULT_MAX_MESSAGE;
    if (!r->lim.max_fragments)
        r->lim.max_fragments = DEFAULT_MAX_FRAGMENTS;
    if (r->lim.message_timeout_ms <= 0)
        r->lim.message_timeout_ms = DEFAULT_MESSAGE_TIMEOUT_MS;
    r->partial_since = -1;
    r->allowance = (int64_t)r->lim.max_frames_per_s * BURST_SECONDS * 1000;
    r->allowance_at = -1;
}

void kvi_ws_reader_free(kvi_ws_reader *r)
{
    kvi_buf_free(&r->in);
    kvi_buf_free(&r->msg);
    r->in_off = 0;
}

int kvi_ws_reader_feed(kvi_ws_reader *r, const void *data, size_t n)
{
    return n ? kvi_buf_append(&r->in, data, n) : 0;
}

int kvi_ws_reader_mid_message(const kvi_ws_reader *r)
{
    return r->in_message || r->in.len > r->in_off;
}

static void consume(kvi_ws_reader *r, size_t n)
{
    r->in_off += n;
    if (r->in_off == r->in.len) {
        kvi_buf_reset(&r->in);
        r->in_off = 0;
    } else if (r->in_off > r->in.len / 2 && r->in_off > 4096) {
        /* Compact: the unparsed tail moves to the front. */
        memmove(r->in.data, r->in.data + r->in_off, r->in.len - r->in_off);
        r->in.len -= r->in_off;
        r->in.data[r->in.len] = '\0';
        r->in_off = 0;
    }
}

static kvi_ws_result fail(kvi_ws_output *out, const char *why, unsigned code)
{
    out->why = why;
    out->fail_code = code;
    return KVI_WS_FAILED;
}

/* One more frame against the flood limit (a token bucket): 0 within it, -1 over it. */
static int spend_allowance(kvi_ws_reader *r, int64_t now)
{
    if (!r->lim.max_frames_per_s)
        return 0;
    int64_t cap = (int64_t)r->lim.max_frames_per_s * BURST_SECONDS * 1000;
    if (r->allowance_at >= 0 && now > r->allowance_at) {
        /* frames per second are thousandths of a frame per millisecond */
        r->allowance += (now - r->allowance_at) * (int64_t)r->lim.max_frames_per_s;
        if (r->allowance > cap)
            r->allowance = cap;
    }
    r->allowance_at = now;
    if (r->allowance < 1000)
        return -1;
    r->allowance -= 1000;
    return 0;
}

static int valid_close_code(unsigned code)
{
    /* RFC 6455 7.4: 1004-1006 and 1015 are reserved and never sent, 1016-2999 are for
     * extensions and standards we do not speak, and below 1000 or from 5000 is undefined. */
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

static const char *invalid_close_code_why(unsigned code)
{
    if (code == 1005)
        return "the server's close frame carries 1005, a code reserved for \"no status code\" "
               "that must never be sent (RFC 6455 7.4.1)";
    if (code == 1006)
        return "the server's close frame carries 1006, a code reserved for \"closed "
               "abnormally\" that must never be sent (RFC 6455 7.4.1)";
    if (code == 1015)
        return "the server's close frame carries 1015, a code reserved for \"TLS handshake "
               "failure\" that must never be sent (RFC 6455 7.4.1)";
    return "the server's close frame carries an invalid status code (RFC 6455 7.4)";
}

/* The close frame's code and reason into out, or why it breaks the rules. */
static kvi_ws_result read_close(const kvi_ws_frame *f, kvi_ws_output *out)
{
    if (f->payload_len == 0)
        return KVI_WS_GOT_CLOSE;
    if (f->payload_len == 1)
        return fail(out, "a close frame with a 1-byte payload", 1002);
    unsigned code = ((unsigned)f->payload[0] << 8) | f->payload[1];
    const unsigned char *reason = f->payload + 2;
    size_t n = (size_t)f->payload_len - 2;
    out->close_code = code;
    if (!valid_close_code(code))
        return fail(out, invalid_close_code_why(code), 1002);
    if (!kvi_utf8_valid(reason, n))
        return fail(out, "the server's close reason is not valid UTF-8", 1007);
    size_t keep = kvi_utf8_cut(reason, n, sizeof out->close_reason - 1);
    for (size_t i = 0; i < keep; i++)
        out->close_reason[i] = reason[i] < 0x20 || reason[i] == 0x7f ? '?' : (char)reason[i];
    out->close_reason[keep] = '\0';
    return KVI_WS_GOT_CLOSE;
}

/* A data frame (first, only or continuation): a complete text message lands in out. */
static kvi_ws_result read_data(kvi_ws_reader *r, const kvi_ws_frame *f, int64_t now,
                               kvi_ws_output *out)
{
    if (f->opcode != KVI_WS_CONTINUATION) {
        if (r->in_message)
            return fail(out, "a new message inside a fragmented one", 1002);
        r->in_message = 1;
        r->msg_is_text = f->opcode == KVI_WS_TEXT;
        r->msg_total = 0;
        r->msg_frames = 0;
        r->msg_started = now;
        r->utf8 = KVI_UTF8_START;
        kvi_buf_reset(&r->msg);
    } else if (!r->in_message) {
        return fail(out, "a continuation frame outside a message", 1002);
    }
    if (++r->msg_frames > r->lim.max_fragments)
        return fail(out, "a fragmented message spans more frames than the limit", 1008);
    if (f->payload_len > r->lim.max_message - r->msg_total)
        return fail(out, "message larger than the message size limit", 1009);
    r->msg_total += f->payload_len;
    if (r->msg_is_text) {
        /* RFC 6455 8.1: fail as soon as the text stops being UTF-8, even mid-message. */
        if (kvi_utf8_check(&r->utf8, f->payload, (size_t)f->payload_len) != 0 ||
            (f->fin && r->utf8 != KVI_UTF8_START))
            return fail(out, "a text message is not valid UTF-8", 1007);
        if (kvi_buf_append(&r->msg, f->payload, (size_t)f->payload_len) != 0)
            return fail(out, "out of memory reading the WebSocket", 1011);
    }
    if (!f->fin)
        return KVI_WS_NEED_MORE;
    r->in_message = 0;
    if (!r->msg_is_text)
        return KVI_WS_NEED_MORE; /* binary messages are skipped */
    out->len = r->msg.len;
    out->message = kvi_buf_detach(&r->msg);
    if (!out->message)
        return fail(out, "out of memory reading the WebSocket", 1011);
    return KVI_WS_GOT_MESSAGE;
}

kvi_ws_result kvi_ws_reader_next(kvi_ws_reader *r, int64_t now_ms, unsigned *budget,
                                 kvi_ws_output *out)
{
    memset(out, 0, sizeof *out);
    if (r->in_message && now_ms - r->msg_started > r->lim.message_timeout_ms)
        return fail(out, "a fragmented message did not complete within the time limit", 1008);
    if (r->partial_since >= 0 && now_ms - r->partial_since > r->lim.message_timeout_ms)
        return fail(out, "a frame did not complete within the time limit", 1008);
    for (;;) {
        if (r->in.len == r->in_off) {
            r->partial_since = -1;
            return KVI_WS_NEED_MORE;
        }
        kvi_ws_frame f;
        const char *why = NULL;
        int pr = kvi_ws_parse_frame((unsigned char *)r->in.data + r->in_off, r->in.len - r->in_off,
                                    r->lim.max_message, &f, &why);
        if (pr < 0)
            return fail(out, why, why == WHY_TOO_BIG ? 1009u : 1002u);
        if (pr == 0) {
            if (r->partial_since < 0)
                r->partial_since = now_ms;
            return KVI_WS_NEED_MORE;
        }
        r->partial_since = -1;
        if (*budget == 0)
            return KVI_WS_BUDGET_SPENT;
        (*budget)--;
        if (spend_allowance(r, now_ms) != 0)
            return fail(out, "the server sends frames faster than the flood limit", 1008);
        if (f.masked)
            return fail(out, "a masked frame from the server", 1002);
        kvi_ws_result res = KVI_WS_NEED_MORE;
        switch (f.opcode) {
        case KVI_WS_TEXT:
        case KVI_WS_BINARY:
        case KVI_WS_CONTINUATION:
            res = read_data(r, &f, now_ms, out);
            break;
        case KVI_WS_PING:
            r->pong_due = 1;
            r->pong_len = (size_t)f.payload_len;
            memcpy(r->pong, f.payload, r->pong_len);
            break;
        case KVI_WS_PONG:
            break;
        case KVI_WS_CLOSE:
            res = read_close(&f, out);
            break;
        }
        consume(r, f.header_len + (size_t)f.payload_len); /* after: it may move the bytes */
        if (res != KVI_WS_NEED_MORE)
            return res;
    }
}
