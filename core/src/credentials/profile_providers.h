/* SPDX-License-Identifier: Apache-2.0 */
/* profile_providers.h - the providers one profile may name. */
#ifndef KVSWS_CREDENTIALS_PROFILE_PROVIDERS_H
#define KVSWS_CREDENTIALS_PROFILE_PROVIDERS_H

#include "credentials/credentials.h"

/* The providers botocore's ProfileProviderBuilder makes for one profile, in its order:
 * assume-role-with-web-identity (web_identity.h; AWS_ROLE_ARN & co. unless disable_env),
 * SSO (sso.h), the credentials file's keys, credential_process, the config file's
 * keys. *found 0 when none of them applies to the profile. */
kvsws_status kvi_profile_providers(const kvi_provider_ctx *ctx, const char *profile,
                                   int disable_env, kvi_credentials *out, int *found,
                                   kvsws_error *err);

#endif
