/* SPDX-License-Identifier: Apache-2.0 */
/* ws_reader.h - the receiving half of RFC 6455 without I/O: bytes in; messages, the peer's
 * close and protocol errors out. It reassembles fragmented text messages, checks UTF-8 and close
 * frames, and bounds what a peer can make us do: bytes per message, frames per message, time
 * per message and frames per second. Pure and time-injected, so tests and fuzzers drive it. */
#ifndef KVSWS_WS_READER_H
#define KVSWS_WS_READER_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/utf8.h"

/* --- The frame parser. --- */

typedef enum kvi_ws_opcode {
    KVI_WS_CONTINUATION = 0x0,
    KVI_WS_TEXT = 0x1,
    KVI_WS_BINARY = 0x2,
    KVI_WS_CLOSE = 0x8,
    KVI_WS_PING = 0x9,
    KVI_WS_PONG = 0xA
} kvi_ws_opcode;

typedef struct kvi_ws_frame {
    int fin;
    kvi_ws_opcode opcode;
    int masked;
    uint64_t payload_len;
    const unsigned char *payload; /* points into the input buffer; unmasked in place */
    size_t header_len;            /* bytes of header; the frame is header_len + payload_len */
} kvi_ws_frame;

/* Parses one frame from data[0..len). Returns 1 and fills frame when a whole frame is there,
 * 0 when more bytes are needed, -1 on a protocol error (*why set: reserved bits, bad opcode,
 * fragmented or oversized control frame, payload over max_payload, a 64-bit length with its top
 * bit set). A masked frame parses (frame->masked = 1) and is unmasked in place (so data is not
 * const); the connection refuses masked server frames itself. */
int kvi_ws_parse_frame(unsigned char *data, size_t len, uint64_t max_payload,
                       kvi_ws_frame *frame, const char **why);

/* --- The receive rules. --- */

typedef struct kvi_ws_limits {
    uint64_t max_message;       /* bytes of a (reassembled) message; 0: 1 MiB */
    unsigned max_fragments;     /* frames of one fragmented message; 0: 1024 */
    int64_t message_timeout_ms; /* a started frame or message must complete within; 0: 20 s */
    unsigned max_frames_per_s;  /* sustained frame rate, bursts of 10 s worth pass; 0: no limit */
} kvi_ws_limits;

typedef enum kvi_ws_result {
    KVI_WS_NEED_MORE = 0, /* every whole frame is handled: feed more bytes */
    KVI_WS_GOT_MESSAGE,   /* out->message holds a complete text message */
    KVI_WS_GOT_CLOSE,     /* the peer's (valid) close frame: out->close_code, out->close_reason */
    KVI_WS_FAILED,        /* a protocol error or a broken limit: out->why, out->fail_code */
    KVI_WS_BUDGET_SPENT   /* the frame budget ran out with whole frames still buffered */
} kvi_ws_result;

typedef struct kvi_ws_output {
    char *message;          /* GOT_MESSAGE: malloc'd, NUL-terminated; the caller frees it */
    size_t len;
    unsigned close_code;    /* GOT_CLOSE: 0 when the frame had none; FAILED: the bad code, or 0 */
    char close_reason[124]; /* GOT_CLOSE: valid UTF-8, control characters shown as '?' */
    const char *why;        /* FAILED: what broke (static text, never the peer's bytes) */
    unsigned fail_code;     /* FAILED: the close code to answer with (1002, 1007, 1008, 1009, 1011) */
} kvi_ws_output;

typedef struct kvi_ws_reader {
    kvi_ws_limits lim;
    kvi_buf in;             /* received bytes; the unparsed ones start at in_off */
    size_t in_off;
    int64_t partial_since;  /* when an incomplete frame was first buffered (-1: none) */
    kvi_buf msg;            /* the text message being reassembled */
    int in_message;         /* 1 while continuation frames are expected */
    int msg_is_text;
    uint64_t msg_total;     /* its bytes so far (binary ones are counted, not kept) */
    unsigned msg_frames;
    int64_t msg_started;
    kvi_utf8_state utf8;    /* the text so far ends in the middle of a character */
    int64_t allowance;      /* frames the peer may still send now, in thousandths */
    int64_t allowance_at;   /* when it was last topped up (-1: never) */
    int pong_due;           /* a ping is unanswered: pong[0..pong_len) echoes the latest one */
    unsigned char pong[125];
    size_t pong_len;
} kvi_ws_reader;

void kvi_ws_reader_init(kvi_ws_reader *r, const kvi_ws_limits *lim);
void kvi_ws_reader_free(kvi_ws_reader *r);

/* Buffers received bytes. 0 ok, -1 out of memory. */
int kvi_ws_reader_feed(kvi_ws_reader *r, const void *data, size_t n);

/* Handles buffered frames until one has a result, taking one from *budget per frame. now_ms is
 * a monotonic clock (for the time and rate limits). Pings set pong_due (only the latest one is
 * answered, as RFC 6455 5.5.3 allows); pongs and binary messages are consumed. After FAILED or
 * GOT_CLOSE the reader is done: the connection ends. */
kvi_ws_result kvi_ws_reader_next(kvi_ws_reader *r, int64_t now_ms, unsigned *budget,
                                 kvi_ws_output *out);

/* 1 when a frame or a fragmented message is cut off in the middle. */
int kvi_ws_reader_mid_message(const kvi_ws_reader *r);

#endif
