/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_ws_frame.c - libFuzzer target for the WebSocket frame codec: parse every frame in the
 * input, check what the parser claims, and re-encode each frame and parse it back.
 * Build: see README.md. With -DKVSWS_FUZZ_STANDALONE it is a plain program that replays the
 * files (or directories of files) named on its command line. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "transport/websocket.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    /* The first byte picks the size limit, so the limit checks get reached too. */
    uint64_t max = (data[0] & 1) ? UINT64_MAX : (uint64_t)data[0] * 257;
    size_t len = size - 1;
    /* An exact-size copy: ASan flags any read past the end. */
    unsigned char *buf = malloc(len ? len : 1);
    if (!buf)
        return 0;
    memcpy(buf, data + 1, len);
    size_t off = 0;
    while (off < len) {
        kvi_ws_frame f;
        const char *why = NULL;
        int r = kvi_ws_parse_frame(buf + off, len - off, max, &f, &why);
        if (r < 0) {
            if (!why)
                abort();
            break;
        }
        if (r == 0)
            break;
        if (r != 1 || f.header_len < 2 || f.header_len > 14 ||
            f.payload_len > (uint64_t)(len - off - f.header_len) || f.payload_len > max ||
            f.payload != buf + off + f.header_len)
            abort();
        if ((f.opcode & 0x8) && (f.payload_len > 125 || !f.fin))
            abort();
        /* Round trip: the unmasked payload, encoded as a client frame, parses to the same. */
        kvi_buf out = KVI_BUF_INIT;
        const unsigned char key[4] = {buf[off], 0x5a, 0xa5, (unsigned char)f.payload_len};
        if (kvi_ws_encode_frame(&out, f.opcode, f.fin, f.payload, (size_t)f.payload_len, key) != 0)
            abort();
        kvi_ws_frame g;
        if (kvi_ws_parse_frame((unsigned char *)out.data, out.len, UINT64_MAX, &g, &why) != 1 ||
            g.fin != f.fin || g.opcode != f.opcode || !g.masked ||
            g.payload_len != f.payload_len || g.header_len + (size_t)g.payload_len != out.len ||
            (f.payload_len && memcmp(g.payload, f.payload, (size_t)f.payload_len) != 0))
            abort();
        kvi_buf_free(&out);
        off += f.header_len + (size_t)f.payload_len;
    }
    free(buf);
    return 0;
}

/* With -DKVSWS_FUZZ_STANDALONE: a main that replays files, for builds without libFuzzer. */
#include "standalone_main.h"
