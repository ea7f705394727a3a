/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_signaling.c - libFuzzer target for the KVS signaling codec: decode the input as a
 * received message, re-encode what decoded and decode it again, and run the same bytes through
 * the SDP answer check and the base64 decoder.
 * Build: see README.md. With -DKVSWS_FUZZ_STANDALONE it is a plain program that replays the
 * files (or directories of files) named on its command line. */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "session/signaling.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What the service would forward for what we encoded: our payload under a messageType. */
static void redecode(const char *sent, const char *type, kvi_sig_message *out)
{
    cJSON *env = cJSON_Parse(sent);
    const cJSON *mp = cJSON_GetObjectItemCaseSensitive(env, "messagePayload");
    if (!cJSON_IsString(mp))
        abort();
    kvi_buf rx = KVI_BUF_INIT;
    kvi_buf_printf(&rx, "{\"messageType\":\"%s\",\"messagePayload\":\"%s\"}", type,
                   mp->valuestring);
    const char *why = NULL;
    if (kvi_sig_decode(rx.data, rx.len, out, &why) != 0)
        abort();
    kvi_buf_free(&rx);
    cJSON_Delete(env);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    kvi_sig_message m;
    const char *why = NULL;
    if (kvi_sig_decode(text, size, &m, &why) != 0)
        return 0; /* out of memory */
    if (m.type == KVI_SIG_IGNORED && (!why || m.sdp || m.candidate || m.sender_client_id))
        abort();
    kvi_buf out = KVI_BUF_INIT;
    if ((m.type == KVI_SIG_SDP_OFFER || m.type == KVI_SIG_SDP_ANSWER) && m.sdp) {
        for (int viewer = 0; viewer <= 1; viewer++) {
            int rc = kvi_sig_check_answer(m.sdp, viewer, &why);
            if ((rc == 0) != (why == NULL))
                abort();
        }
        if (kvi_sig_encode_answer(&out, m.sdp, m.sender_client_id, NULL, &why) == 0) {
            kvi_sig_message back;
            redecode(out.data, "SDP_ANSWER", &back);
            if (back.type != KVI_SIG_SDP_ANSWER || strcmp(back.sdp, m.sdp) != 0)
                abort();
            kvi_sig_message_free(&back);
        } else if (!why) {
            abort();
        }
    } else if (m.type == KVI_SIG_ICE_CANDIDATE) {
        if (!m.candidate)
            abort();
        if (kvi_sig_encode_candidate(&out, m.candidate, m.sdp_mid, m.sdp_mline_index,
                                     m.sender_client_id, NULL, &why) == 0) {
            kvi_sig_message back;
            redecode(out.data, "ICE_CANDIDATE", &back);
            if (back.type != KVI_SIG_ICE_CANDIDATE || strcmp(back.candidate, m.candidate) != 0 ||
                back.sdp_mline_index != m.sdp_mline_index ||
                (m.sdp_mid ? !back.sdp_mid || strcmp(back.sdp_mid, m.sdp_mid) != 0
                           : back.sdp_mid != NULL))
                abort();
            kvi_sig_message_free(&back);
        } else if (!why) {
            abort();
        }
    }
    kvi_buf_free(&out);
    kvi_sig_message_free(&m);

    /* The same bytes as an SDP answer (a C string) and as base64 text. */
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    why = NULL;
    int rc = kvi_sig_check_answer(s, (int)(size & 1), &why);
    if ((rc == 0) != (why == NULL))
        abort();
    kvi_buf raw = KVI_BUF_INIT, again = KVI_BUF_INIT;
    if (kvi_base64_decode(&raw, text, size) == 0) {
        /* Only canonical base64 is accepted, so encoding gives back the very input. */
        if (kvi_base64_encode(&again, raw.data ? raw.data : "", raw.len) != 0 ||
            again.len != size || (size && memcmp(again.data, data, size) != 0))
            abort();
    }
    kvi_buf_free(&raw);
    kvi_buf_free(&again);
    free(s);
    return 0;
}

/* With -DKVSWS_FUZZ_STANDALONE: a main that replays files, for builds without libFuzzer. */
#include "standalone_main.h"
