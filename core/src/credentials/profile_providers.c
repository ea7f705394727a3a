/* SPDX-License-Identifier: Apache-2.0 */
/* profile_providers.c - the providers one profile may name, in botocore's order. */
#include "credentials/profile_providers.h"

#include <stdlib.h>

#include "credentials/keys.h"
#include "credentials/process.h"
#include "credentials/sso.h"
#include "credentials/web_identity.h"

kvsws_status kvi_profile_providers(const kvi_provider_ctx *ctx, const char *profile,
                                   int disable_env, kvi_credentials *out, int *found,
                                   kvsws_error *err)
{
    kvi_profile_paths p = kvi_profile_paths_for(ctx->paths, profile);
    kvsws_status st = kvi_web_identity_provider(ctx, profile, disable_env, out, found, err);
    if (st != KVSWS_OK || *found)
        return st;
    st = kvi_sso_provider(ctx, profile, out, found, err);
    if (st != KVSWS_OK || *found)
        return st;
    st = kvi_file_keys(&p, 0, out, found, err);
    if (st != KVSWS_OK || *found)
        return st;
    char *process = kvi_profile_get(&p, "credential_process");
    if (process && *process) {
        *found = 1;
        st = kvi_credential_process_run(process, profile, ctx->process_timeout_ms, out, err);
        free(process);
        return st;
    }
    free(process);
    return kvi_file_keys(&p, 1, out, found, err);
}
