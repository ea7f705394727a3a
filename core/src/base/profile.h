/* SPDX-License-Identifier: Apache-2.0 */
/* profile.h - the shared AWS config and credentials files (INI), as the AWS CLI reads them. */
#ifndef KVSWS_PROFILE_H
#define KVSWS_PROFILE_H

/* Where the files are and which profile: resolved from the options and the environment. */
typedef struct kvi_profile_paths {
    char *config_file;      /* option, else AWS_CONFIG_FILE, else $HOME/.aws/config;
                               NULL = no file (no home directory) */
    char *credentials_file; /* option, else AWS_SHARED_CREDENTIALS_FILE, else $HOME/.aws/credentials */
    char *profile;          /* option, else AWS_PROFILE, else "default" */
    int profile_explicit;   /* 1 when the profile was named by the option or AWS_PROFILE */
    int profile_from_option; /* 1 when by the option: like botocore's Session(profile=...), it
                                then skips the AWS_ACCESS_KEY_ID environment credentials */
} kvi_profile_paths;

/* Fills paths (all malloc'd) from the given overrides (any may be NULL). 0 ok, -1 OOM. */
int kvi_profile_paths_resolve(const char *config_file, const char *credentials_file,
                              const char *profile, kvi_profile_paths *out);
void kvi_profile_paths_free(kvi_profile_paths *p);

/*
 * Looks up key in the profile: in the credentials file the section is "[name]"; in the config
 * file "[profile name]" (and "[default]" for default; a bare "[name]" is also accepted for other
 * names, as the CLI does). Credentials-file values win over config-file ones for the same key.
 * Returns a malloc'd, trimmed value or NULL when absent (missing files are not an error; a NULL
 * path is no file). Parsed as botocore does: full-line comments (# and ;) only, "key = value" or
 * "key: value", key names case-insensitive (lowercase them), indented continuation lines and
 * sub-sections ("s3 =\n  k = v", whose key then has no plain value).
 */
char *kvi_profile_get(const kvi_profile_paths *p, const char *key);

/* 1 when the profile has a section in either file. */
int kvi_profile_exists(const kvi_profile_paths *p);

/* The config file's "[services NAME]" section: the value of key in service's sub-section
 * ("kinesis_video =\n  endpoint_url = ..."). malloc'd or NULL. */
char *kvi_profile_services_get(const kvi_profile_paths *p, const char *services_name,
                               const char *service, const char *key);

/* A plain key of the config file's "[PREFIX NAME]" section (e.g. "[sso-session my-sso]"), as
 * botocore reads sso-session sections. malloc'd or NULL. *exists (when not NULL) is set to 1
 * when such a section is there at all. */
char *kvi_profile_section_get(const kvi_profile_paths *p, const char *prefix, const char *name,
                              const char *key, int *exists);

/* $HOME as os.path.expanduser reads it, else the password database's. malloc'd or NULL. */
char *kvi_profile_home_dir(void);


#endif
