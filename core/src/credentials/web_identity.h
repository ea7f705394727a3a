/* SPDX-License-Identifier: Apache-2.0 */
/* web_identity.h - the web identity provider, as botocore's AssumeRoleWithWebIdentityProvider. */
#ifndef KVSWS_CREDENTIALS_WEB_IDENTITY_H
#define KVSWS_CREDENTIALS_WEB_IDENTITY_H

#include "credentials/credentials.h"

/*
 * assume-role-with-web-identity: AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN and
 * AWS_ROLE_SESSION_NAME (each unless disable_env), else the profile's web_identity_token_file,
 * role_arn and role_session_name. *found 0 without a token file. The token file is read again
 * on every call (the kubelet rotates it); its contents go only into the unsigned STS call.
 */
kvsws_status kvi_web_identity_provider(const kvi_provider_ctx *ctx, const char *profile,
                                       int disable_env, kvi_credentials *out, int *found,
                                       kvsws_error *err);

#endif
