/* SPDX-License-Identifier: Apache-2.0 */
/* assume_role.c - assume-role (source_profile / credential_source), as botocore resolves it;
 * the STS call itself is in sts.c. */
#include "credentials/assume_role.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "base/error.h"
#include "credentials/keys.h"
#include "credentials/profile_providers.h"
#include "credentials/remote.h"
#include "credentials/sts.h"

/* Is the key there at all, even empty (botocore tests `key in profile`)? */
static int profile_has(const kvi_profile_paths *paths, const char *profile, const char *key)
{
    char *v = kvi_profile_key(paths, profile, key);
    int yes = v != NULL;
    kvi_free_secret(v); /* it may be a secret key */
    return yes;
}

static int profile_exists(const kvi_profile_paths *paths, const char *profile)
{
    kvi_profile_paths q = kvi_profile_paths_for(paths, profile);
    return kvi_profile_exists(&q);
}

static int has_static_keys(const kvi_profile_paths *paths, const char *profile)
{
    return profile_has(paths, profile, "aws_access_key_id") ||
           profile_has(paths, profile, "aws_secret_access_key");
}

int kvi_role_profile_assumes(const kvi_profile_paths *paths, const char *profile)
{
    return profile_has(paths, profile, "role_arn") &&
           !profile_has(paths, profile, "web_identity_token_file");
}

void kvi_role_config_free(kvi_role_config *c)
{
    free(c->role_arn);
    free(c->source_profile);
    free(c->credential_source);
    free(c->external_id);
    free(c->session_name);
    free(c->mfa_serial);
    memset(c, 0, sizeof *c);
}

static void put_quoted(kvi_buf *msg, const char *s)
{
    kvi_buf_putc(msg, '"');
    kvi_put_sanitized(msg, s, 256);
    kvi_buf_putc(msg, '"');
}

/* KVSWS_E_CONFIG "The profile "P" ... <rest>" with the profile quoted. */
static kvsws_status config_error(kvsws_error *err, const char *profile, const char *before,
                                 const char *after)
{
    kvi_buf msg = KVI_BUF_INIT;
    kvi_buf_puts(&msg, before);
    put_quoted(&msg, profile);
    kvi_buf_puts(&msg, after);
    return kvi_error_take_buf(err, KVSWS_E_CONFIG, &msg);
}

static int source_known(const char *s)
{
    return strcmp(s, "Environment") == 0 || strcmp(s, "EcsContainer") == 0 ||
           strcmp(s, "Ec2InstanceMetadata") == 0;
}

kvsws_status kvi_role_config_load(const kvi_profile_paths *paths, const char *profile,
                                  kvi_role_config *out, kvsws_error *err)
{
    memset(out, 0, sizeof *out);
    out->role_arn = kvi_profile_key(paths, profile, "role_arn");
    out->source_profile = kvi_profile_key(paths, profile, "source_profile");
    out->credential_source = kvi_profile_key(paths, profile, "credential_source");
    out->external_id = kvi_profile_key(paths, profile, "external_id");
    out->session_name = kvi_profile_key(paths, profile, "role_session_name");
    out->mfa_serial = kvi_profile_key(paths, profile, "mfa_serial");
    char *duration = kvi_profile_key(paths, profile, "duration_seconds");
    kvsws_status st = KVSWS_OK;
    kvi_buf msg = KVI_BUF_INIT;
    if (!out->role_arn || !*out->role_arn) {
        st = config_error(err, profile, "The profile ", " has an empty role_arn");
    } else if (out->source_profile && out->credential_source) {
        /* botocore's wording */
        st = config_error(err, profile, "The profile ",
                          " contains both source_profile and credential_source.");
    } else if (!out->source_profile && !out->credential_source) {
        st = config_error(err, profile,
                          "Partial credentials found in assume-role, missing: source_profile or "
                          "credential_source (profile ",
                          " has role_arn)");
    } else if (out->credential_source && !source_known(out->credential_source)) {
        kvi_buf_puts(&msg, "The credential source ");
        put_quoted(&msg, out->credential_source);
        kvi_buf_puts(&msg, " referenced in profile ");
        put_quoted(&msg, profile);
        kvi_buf_puts(&msg, " is not valid (valid: Environment, EcsContainer, Ec2InstanceMetadata)");
        st = kvi_error_take_buf(err, KVSWS_E_CONFIG, &msg);
    } else if (out->source_profile && !profile_exists(paths, out->source_profile)) {
        kvi_buf_puts(&msg, "The source_profile ");
        put_quoted(&msg, out->source_profile);
        kvi_buf_puts(&msg, " referenced in the profile ");
        put_quoted(&msg, profile);
        kvi_buf_printf(&msg, " does not exist (looked in %s and %s)",
                       paths->config_file ? paths->config_file : "(no config file)",
                       paths->credentials_file ? paths->credentials_file
                                               : "(no credentials file)");
        st = kvi_error_take_buf(err, KVSWS_E_CONFIG, &msg);
    } else if (out->mfa_serial) {
        st = config_error(err, profile, "The profile ",
                          " has mfa_serial: assuming a role with MFA is not supported: it needs "
                          "an MFA token prompt (use credentials that need no MFA, or a "
                          "credential_process that prompts)");
    } else if (duration) {
        char *end = NULL;
        errno = 0;
        long v = strtol(duration, &end, 10);
        if (end == duration || *end || errno || v <= 0)
            st = config_error(err, profile, "The profile ",
                              " has a duration_seconds that is not a whole, positive number of "
                              "seconds");
        else
            out->duration_seconds = v;
    }
    free(duration);
    if (st == KVSWS_OK &&
        ((out->source_profile && !*out->source_profile) ||
         (out->credential_source && !*out->credential_source)))
        st = config_error(err, profile, "The profile ",
                          " has an empty source_profile or credential_source");
    if (st != KVSWS_OK)
        kvi_role_config_free(out);
    return st;
}

/* ---- assume-role ---------------------------------------------------------------------------- */

typedef struct role_walk {
    const kvi_provider_ctx *ctx;
    const char *visited[KVI_ROLE_CHAIN_MAX + 1];
    int n;
} role_walk;

/* botocore's _validate_source_profile: a profile seen before is a loop, unless a profile names
 * itself to use its own static keys. */
static kvsws_status check_loop(const role_walk *w, const char *parent, const char *source,
                               kvsws_error *err)
{
    int seen = 0;
    for (int i = 0; i < w->n; i++)
        seen |= strcmp(w->visited[i], source) == 0;
    if (!seen || (strcmp(source, parent) == 0 && has_static_keys(w->ctx->paths, source)))
        return KVSWS_OK;
    kvi_buf msg = KVI_BUF_INIT;
    kvi_buf_puts(&msg, "Infinite loop in credential configuration detected. Attempting to load "
                       "from profile ");
    kvi_put_sanitized(&msg, source, 128);
    kvi_buf_puts(&msg, " which has already been visited. Visited profiles: [");
    for (int i = 0; i < w->n; i++) {
        kvi_buf_puts(&msg, i ? ", '" : "'");
        kvi_put_sanitized(&msg, w->visited[i], 128);
        kvi_buf_putc(&msg, '\'');
    }
    kvi_buf_puts(&msg, "]");
    return kvi_error_take_buf(err, KVSWS_E_CONFIG, &msg);
}

/* Environment, EcsContainer or Ec2InstanceMetadata, for the profile's role. */
static kvsws_status from_credential_source(const kvi_provider_ctx *ctx, const char *profile,
                                           const char *source, kvi_credentials *out,
                                           kvsws_error *err)
{
    int found = 0;
    kvsws_status st;
    kvi_buf why = KVI_BUF_INIT;
    if (strcmp(source, "Environment") == 0) {
        st = kvi_env_credentials(out, &found, err);
        kvi_buf_puts(&why, "AWS_ACCESS_KEY_ID is not set");
    } else if (strcmp(source, "EcsContainer") == 0) {
        st = kvi_container_credentials(NULL, out, &found, err);
        kvi_buf_puts(&why, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and "
                           "AWS_CONTAINER_CREDENTIALS_FULL_URI are not set");
    } else {
        st = kvi_imds_credentials(ctx->paths, out, &found, &why, err);
    }
    if (st == KVSWS_OK && !found) {
        kvi_buf msg = KVI_BUF_INIT;
        kvi_buf_printf(&msg, "Error when retrieving credentials from %s: No credentials found in "
                             "credential_source referenced in profile ",
                       source);
        kvi_put_sanitized(&msg, profile, 128);
        kvi_buf_puts(&msg, " (");
        kvi_put_sanitized(&msg, kvi_buf_str(&why), 600);
        kvi_buf_puts(&msg, ")");
        st = kvi_error_take_buf(err, KVSWS_E_CREDENTIAL_RETRIEVAL, &msg);
    }
    kvi_buf_free(&why);
    return st;
}

static kvsws_status assume_via(role_walk *w, const char *profile, kvi_credentials *out,
                               kvsws_error *err);

/* botocore's _resolve_credentials_from_profile. */
static kvsws_status from_source_profile(role_walk *w, const char *name, kvi_credentials *out,
                                        kvsws_error *err)
{
    const kvi_profile_paths *paths = w->ctx->paths;
    if (!has_static_keys(paths, name) && kvi_role_profile_assumes(paths, name))
        return assume_via(w, name, out, err);
    int found = 0;
    kvsws_status st = kvi_profile_providers(w->ctx, name, 1, out, &found, err);
    if (st != KVSWS_OK || found)
        return st;
    kvi_buf msg = KVI_BUF_INIT;
    kvi_buf_puts(&msg, "The source profile ");
    put_quoted(&msg, name);
    kvi_buf_printf(&msg, " must have credentials (looked for web_identity_token_file, SSO, "
                         "aws_access_key_id in %s and %s, credential_process)",
                   paths->credentials_file ? paths->credentials_file : "(no credentials file)",
                   paths->config_file ? paths->config_file : "(no config file)");
    return kvi_error_take_buf(err, KVSWS_E_CONFIG, &msg);
}

static kvsws_status assume_via(role_walk *w, const char *profile, kvi_credentials *out,
                               kvsws_error *err)
{
    kvi_role_config cfg;
    kvsws_status st = kvi_role_config_load(w->ctx->paths, profile, &cfg, err);
    if (st != KVSWS_OK)
        return st;
    kvi_credentials source;
    memset(&source, 0, sizeof source);
    if (cfg.credential_source) {
        st = from_credential_source(w->ctx, profile, cfg.credential_source, &source, err);
    } else if ((st = check_loop(w, profile, cfg.source_profile, err)) == KVSWS_OK) {
        if (w->n >= KVI_ROLE_CHAIN_MAX) {
            st = config_error(err, profile, "The chain of source_profile roles from profile ",
                              " is longer than 16 profiles");
        } else {
            w->visited[w->n++] = cfg.source_profile;
            st = from_source_profile(w, cfg.source_profile, &source, err);
        }
    }
    if (st == KVSWS_OK) {
        kvi_sts_request r = {"assume-role",
                             profile,
                             cfg.role_arn,
                             cfg.session_name ? cfg.session_name : w->ctx->session_name,
                             cfg.external_id,
                             cfg.duration_seconds,
                             &source,
                             NULL};
        st = kvi_sts_assume_role(w->ctx, &r, out, err);
    }
    kvi_credentials_free(&source);
    /* The walk's visited names point into cfg: drop this level's before it goes. */
    if (w->n > 0 && cfg.source_profile && w->visited[w->n - 1] == cfg.source_profile)
        w->n--;
    kvi_role_config_free(&cfg);
    return st;
}

kvsws_status kvi_assume_role_provider(const kvi_provider_ctx *ctx, const char *profile,
                                      kvi_credentials *out, int *found, kvsws_error *err)
{
    memset(out, 0, sizeof *out);
    *found = 0;
    if (!kvi_role_profile_assumes(ctx->paths, profile))
        return KVSWS_OK;
    *found = 1;
    role_walk w;
    memset(&w, 0, sizeof w);
    w.ctx = ctx;
    w.visited[w.n++] = profile;
    return assume_via(&w, profile, out, err);
}
