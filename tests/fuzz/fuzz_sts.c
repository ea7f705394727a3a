/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_sts.c - libFuzzer target for what an STS answer becomes (credentials_sts.c over xml.c):
 * byte 0 picks the action and the HTTP status, the rest is the body. A 2xx answer gives usable
 * credentials or a message that quotes nothing of the document; any error message is one
 * printable line that never shows a credential from the body. Build: see README.md. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "credentials/credentials.h"
#include "credentials/sts.h"
#include "base/error.h"
#include "transport/http.h"
#include "kvsws.h"
#include "base/xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const int STATUSES[] = {200, 200, 200, 400, 403, 500, 503, 302};

/* The value at path in the body, when there is a non-trivial one (for the leak check). */
static char *value_at(const char *body, size_t len, const char *action, const char *field)
{
    kvi_buf path = KVI_BUF_INIT, v = KVI_BUF_INIT;
    kvi_buf_printf(&path, "%sResponse/%sResult/Credentials/%s", action, action, field);
    kvi_xml_result r = kvi_xml_value(body, len, kvi_buf_str(&path), &v, NULL);
    kvi_buf_free(&path);
    if (r != KVI_XML_FOUND || v.len < 8) {
        kvi_buf_free(&v);
        return NULL;
    }
    return kvi_buf_detach(&v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *action = (data[0] & 1) ? "AssumeRoleWithWebIdentity" : "AssumeRole";
    kvi_http_response resp;
    memset(&resp, 0, sizeof resp);
    resp.status = STATUSES[(data[0] >> 1) % (sizeof STATUSES / sizeof *STATUSES)];
    resp.request_id = (data[0] & 0x10) ? "req-from-header" : NULL;
    kvi_buf_append(&resp.body, data + 1, size - 1);
    kvi_sts_request r = {.provider = "assume-role", .profile = "fuzz", .role_arn = "arn:r"};

    kvi_credentials creds;
    kvsws_error *err = kvsws_error_new();
    kvsws_status st =
        kvi_sts_answer(&r, action, "https://sts.example.com/", &resp, 1, &creds, err);
    const char *body = resp.body.data ? resp.body.data : "";
    if (st == KVSWS_OK) {
        if (resp.status / 100 != 2 || !creds.access_key_id || !*creds.access_key_id ||
            !creds.secret_access_key || !*creds.secret_access_key || !creds.session_token ||
            creds.expiration == 0)
            abort();
        kvi_credentials_free(&creds);
    } else {
        const char *m = kvsws_error_message(err);
        if (st != KVSWS_E_CREDENTIAL_RETRIEVAL || !m || !*m)
            abort();
        for (const char *p = m; *p; p++)
            if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
                abort();
        if (resp.status / 100 == 2) {
            /* Not usable: the message says why without quoting the document. */
            char *secret = value_at(body, resp.body.len, action, "SecretAccessKey");
            char *token = value_at(body, resp.body.len, action, "SessionToken");
            if ((secret && strstr(m, secret)) || (token && strstr(m, token)))
                abort();
            free(secret);
            free(token);
        }
    }
    /* The error document reader alone. */
    kvi_buf code = KVI_BUF_INIT, message = KVI_BUF_INIT, rid = KVI_BUF_INIT;
    if (kvi_sts_parse_error(body, resp.body.len, &code, &message, &rid) == 0 &&
        !code.len && !message.len)
        abort();
    kvi_buf_free(&code);
    kvi_buf_free(&message);
    kvi_buf_free(&rid);
    kvsws_error_free(err);
    kvi_buf_free(&resp.body);
    return 0;
}

/* With -DKVSWS_FUZZ_STANDALONE: a main that replays files, for builds without libFuzzer. */
#include "standalone_main.h"
