/* SPDX-License-Identifier: Apache-2.0 */
/* region.c - the region: option, environment, profile, as botocore looks for it. */
#include "credentials/region.h"

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/error.h"
#include "credentials/credentials.h"

static int region_valid(const char *r)
{
    size_t n = strlen(r);
    if (n < 1 || n > 64)
        return 0;
    for (; *r; r++)
        if (!((*r >= 'a' && *r <= 'z') || (*r >= '0' && *r <= '9') || *r == '-'))
            return 0;
    return 1;
}

/* Validates and copies a found region; `where` names its source for the error. */
static char *region_take(const char *value, const char *where, kvsws_error *err)
{
    if (!region_valid(value)) {
        kvi_buf msg = KVI_BUF_INIT;
        kvi_buf_puts(&msg, "Invalid region \"");
        kvi_put_sanitized(&msg, value, 80);
        kvi_buf_printf(&msg,
                       "\" from %s: a region is 1 to 64 characters of a-z, 0-9 and '-' "
                       "(like us-west-2)",
                       where);
        kvi_error_take_buf(err, KVSWS_E_PARAM_VALIDATION, &msg);
        return NULL;
    }
    char *r = kvi_strdup(value);
    if (!r)
        kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory");
    return r;
}

char *kvi_region_resolve(const char *option, const kvi_profile_paths *paths, kvsws_error *err)
{
    /* As botocore: a profile asked for by name must exist even when it is not needed. */
    if (paths && paths->profile_explicit && !kvi_profile_exists(paths)) {
        kvi_profile_not_found(paths, err);
        return NULL;
    }
    if (option && *option)
        return region_take(option, "the region option", err);
    const char *env = kvi_nonempty_env("AWS_REGION");
    if (env)
        return region_take(env, "AWS_REGION", err);
    if ((env = kvi_nonempty_env("AWS_DEFAULT_REGION")) != NULL)
        return region_take(env, "AWS_DEFAULT_REGION", err);

    const char *profile = paths && paths->profile ? paths->profile : "default";
    if (paths) {
        /* Per file, to say which one a bad value came from; the credentials file wins. */
        for (int config = 0; config < 2; config++) {
            kvi_profile_paths one = *paths;
            if (config)
                one.credentials_file = NULL;
            else
                one.config_file = NULL;
            char *v = kvi_profile_get(&one, "region");
            if (v && *v) {
                kvi_buf where = KVI_BUF_INIT;
                kvi_buf_puts(&where, "\"region\" in profile ");
                kvi_put_sanitized(&where, profile, 128);
                kvi_buf_printf(&where, " of %s", config ? one.config_file : one.credentials_file);
                char *r = region_take(v, kvi_buf_str(&where), err);
                kvi_buf_free(&where);
                free(v);
                return r;
            }
            free(v);
        }
    }
    kvi_buf msg = KVI_BUF_INIT;
    kvi_buf_puts(&msg, "You must specify a region. Looked in: the region option, AWS_REGION, "
                       "AWS_DEFAULT_REGION, \"region\" in profile ");
    kvi_put_sanitized(&msg, profile, 128);
    kvi_buf_printf(&msg, " of %s",
                   paths && paths->config_file ? paths->config_file : "(no config file)");
    kvi_error_take_buf(err, KVSWS_E_NO_REGION, &msg);
    return NULL;
}
