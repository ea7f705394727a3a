/* SPDX-License-Identifier: Apache-2.0 */
/* web_identity.c - assume-role-with-web-identity (EKS IRSA and the like), as botocore resolves
 * it: a token file and a role from the environment or the profile; the STS call is in sts.c. */
#include "credentials/web_identity.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>


#include "base/error.h"
#include "base/file.h"
#include "credentials/sts.h"

/* A Kubernetes service account token is ~1-2 KiB; a JWT far larger than this is not one. */
#define TOKEN_FILE_MAX (64 * 1024)

/* The environment's value (set, even empty, wins, as in botocore) unless disabled, else the
 * profile's. malloc'd or NULL; *from_env says which. */
static char *web_setting(const kvi_provider_ctx *ctx, const char *profile, int disable_env,
                         const char *env, const char *key, int *from_env)
{
    const char *v = disable_env ? NULL : getenv(env);
    if (from_env)
        *from_env = v != NULL;
    return v ? kvi_strdup(v) : kvi_profile_key(ctx->paths, profile, key);
}

/* Reads the whole token file (a secret) into tok. 0, or -1 with a reason in why. */
static int read_token(const char *path, kvi_buf *tok, kvi_buf *why)
{
    int e = kvi_file_read(path, TOKEN_FILE_MAX, tok);
    char eb[128];
    if (e == EFBIG)
        kvi_buf_printf(why, "it is larger than %d bytes", TOKEN_FILE_MAX);
    else if (e == ENOMEM)
        kvi_buf_puts(why, "out of memory");
    else if (e != 0)
        kvi_buf_puts(why, strerror_r(e, eb, sizeof eb));
    else if (tok->len == 0)
        kvi_buf_puts(why, "it is empty");
    else if (memchr(tok->data, '\0', tok->len))
        kvi_buf_puts(why, "it holds a NUL byte: not a token");
    else
        return 0;
    return -1;
}

kvsws_status kvi_web_identity_provider(const kvi_provider_ctx *ctx, const char *profile,
                                       int disable_env, kvi_credentials *out, int *found,
                                       kvsws_error *err)
{
    memset(out, 0, sizeof *out);
    *found = 0;
    int file_from_env = 0;
    char *file = web_setting(ctx, profile, disable_env, "AWS_WEB_IDENTITY_TOKEN_FILE",
                             "web_identity_token_file", &file_from_env);
    if (!file || !*file) {
        free(file);
        return KVSWS_OK;
    }
    *found = 1;
    char *role = web_setting(ctx, profile, disable_env, "AWS_ROLE_ARN", "role_arn", NULL);
    char *session =
        web_setting(ctx, profile, disable_env, "AWS_ROLE_SESSION_NAME", "role_session_name", NULL);
    kvi_buf token = KVI_BUF_INIT, why = KVI_BUF_INIT;
    kvsws_status st = KVSWS_OK;
    if (!role || !*role) {
        kvi_buf msg = KVI_BUF_INIT;
        kvi_buf_puts(&msg, "The provided profile or the current environment is configured to "
                           "assume role with web identity but has no role ARN configured. Ensure "
                           "that the profile has the role_arn configuration set or the "
                           "AWS_ROLE_ARN env var is set (token file from ");
        kvi_buf_puts(&msg, file_from_env ? "AWS_WEB_IDENTITY_TOKEN_FILE" : "profile ");
        if (!file_from_env)
            kvi_put_sanitized(&msg, profile, 128);
        kvi_buf_puts(&msg, ")");
        st = kvi_error_take_buf(err, KVSWS_E_CONFIG, &msg);
    } else if (read_token(file, &token, &why) != 0) {
        kvi_buf msg = KVI_BUF_INIT;
        kvi_buf_puts(&msg, "Error when retrieving credentials from "
                           "assume-role-with-web-identity: cannot read the web identity token "
                           "file ");
        kvi_put_sanitized(&msg, file, 1024);
        kvi_buf_puts(&msg, file_from_env ? " (AWS_WEB_IDENTITY_TOKEN_FILE): "
                                         : " (web_identity_token_file of profile ");
        if (!file_from_env) {
            kvi_put_sanitized(&msg, profile, 128);
            kvi_buf_puts(&msg, "): ");
        }
        kvi_buf_puts(&msg, kvi_buf_str(&why));
        st = kvi_error_take_buf(err, KVSWS_E_CREDENTIAL_RETRIEVAL, &msg);
    } else {
        kvi_sts_request r = {"assume-role-with-web-identity",
                             file_from_env ? NULL : profile,
                             role,
                             session && *session ? session : ctx->session_name,
                             NULL,
                             0,
                             NULL,
                             kvi_buf_str(&token)};
        st = kvi_sts_assume_role(ctx, &r, out, err);
    }
    kvi_buf_free_secret(&token);
    kvi_buf_free(&why);
    free(file);
    free(role);
    free(session);
    return st;
}
