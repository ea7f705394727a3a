/* SPDX-License-Identifier: Apache-2.0 */
/* keys.h - static keys from the environment and from a profile. */
#ifndef KVSWS_CREDENTIALS_KEYS_H
#define KVSWS_CREDENTIALS_KEYS_H

#include "credentials/credentials.h"

/* The environment provider: AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN or
 * AWS_SECURITY_TOKEN). *found 0 when AWS_ACCESS_KEY_ID is unset; an access key without its
 * secret is an error. */
kvsws_status kvi_env_credentials(kvi_credentials *out, int *found, kvsws_error *err);

/* Static keys from one file's profile section (config_file 1: the config file, else the
 * credentials file). *found 0 when the profile has no aws_access_key_id there; an access key
 * without its secret is an error, as in botocore. */
kvsws_status kvi_file_keys(const kvi_profile_paths *p, int config_file, kvi_credentials *out,
                           int *found, kvsws_error *err);

#endif
