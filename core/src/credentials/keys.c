/* SPDX-License-Identifier: Apache-2.0 */
/* keys.c - static keys: the environment's and a profile's (credentials or config file). */
#include "credentials/keys.h"

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/error.h"

kvsws_status kvi_file_keys(const kvi_profile_paths *p, int config_file, kvi_credentials *out,
                           int *found, kvsws_error *err)
{
    kvi_profile_paths one = *p;
    if (config_file)
        one.credentials_file = NULL;
    else
        one.config_file = NULL;
    const char *path = config_file ? p->config_file : p->credentials_file;
    const char *source = config_file ? "config-file" : "shared-credentials-file";
    *found = 0;
    char *ak = kvi_profile_get(&one, "aws_access_key_id");
    if (!ak || !*ak) {
        free(ak);
        return KVSWS_OK;
    }
    *found = 1;
    char *sk = kvi_profile_get(&one, "aws_secret_access_key");
    char *tok = kvi_profile_get(&one, "aws_session_token");
    if (!tok || !*tok) {
        kvi_free_secret(tok);
        tok = kvi_profile_get(&one, "aws_security_token");
    }
    kvsws_status st;
    if (!sk || !*sk) {
        kvi_buf msg = KVI_BUF_INIT;
        kvi_buf_printf(&msg, "Partial credentials found in %s (%s), profile ", source, path);
        kvi_put_sanitized(&msg, p->profile, 128);
        kvi_buf_puts(&msg, ", missing: aws_secret_access_key");
        st = kvi_error_take_buf(err, KVSWS_E_CREDENTIAL_RETRIEVAL, &msg);
    } else {
        st = kvi_credentials_set(out, ak, sk, tok, 0, source, err);
    }
    free(ak);
    kvi_free_secret(sk);
    kvi_free_secret(tok);
    return st;
}

kvsws_status kvi_env_credentials(kvi_credentials *out, int *found, kvsws_error *err)
{
    memset(out, 0, sizeof *out);
    *found = 0;
    const char *env_ak = kvi_nonempty_env("AWS_ACCESS_KEY_ID");
    if (!env_ak)
        return KVSWS_OK;
    *found = 1;
    const char *env_sk = kvi_nonempty_env("AWS_SECRET_ACCESS_KEY");
    if (!env_sk)
        return kvi_error_set(err, KVSWS_E_CREDENTIAL_RETRIEVAL,
                             "Partial credentials found in environment, missing: "
                             "AWS_SECRET_ACCESS_KEY");
    const char *env_tok = kvi_nonempty_env("AWS_SESSION_TOKEN");
    if (!env_tok)
        env_tok = kvi_nonempty_env("AWS_SECURITY_TOKEN");
    return kvi_credentials_set(out, env_ak, env_sk, env_tok, 0, "environment", err);
}
