/* SPDX-License-Identifier: Apache-2.0 */
/* remote.h - credentials over HTTP: the ECS/container endpoint and the EC2 instance
 * metadata service (IMDSv2), as botocore's ContainerProvider and InstanceMetadataProvider. */
#ifndef KVSWS_CREDENTIALS_REMOTE_H
#define KVSWS_CREDENTIALS_REMOTE_H

#include "base/buf.h"
#include "credentials/credentials.h"

/* What production fixes and tests need to change. */
typedef struct kvi_container_tuning {
    const char *relative_base; /* "http://169.254.170.2": the base of RELATIVE_URI */
    int timeout_ms;            /* connect and read per attempt; twice it bounds an attempt */
    int attempts;
    int sleep_ms;              /* between attempts */
} kvi_container_tuning;

extern const kvi_container_tuning kvi_container_defaults;

/* AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (on relative_base), else ..._FULL_URI (http only to
 * loopback, localhost, 169.254.170.2, 169.254.170.23 or fd00:ec2::23; https anywhere), with
 * Authorization from AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (read each time) or
 * AWS_CONTAINER_AUTHORIZATION_TOKEN. *found 0 when neither URI is set. Failures are
 * KVSWS_E_CREDENTIAL_RETRIEVAL naming container-role, never a secret. t NULL: the defaults. */
kvsws_status kvi_container_credentials(const kvi_container_tuning *t, kvi_credentials *out,
                                       int *found, kvsws_error *err);

/* IMDSv2 (token PUT, then the role, then its credentials), IMDSv1 when the token PUT answers
 * 403/404/405 or times out, unless AWS_EC2_METADATA_V1_DISABLED / ec2_metadata_v1_disabled.
 * Skipped when AWS_EC2_METADATA_DISABLED is true. Endpoint: AWS_EC2_METADATA_SERVICE_ENDPOINT,
 * the profile's ec2_metadata_service_endpoint, else by ..._ENDPOINT_MODE (IPv4 / IPv6).
 * Timeout / attempts: AWS_METADATA_SERVICE_TIMEOUT / _NUM_ATTEMPTS (or the profile's
 * metadata_service_timeout / metadata_service_num_attempts), 1 s and 1 by default; an attempt
 * ends after twice the timeout however steadily bytes arrive.
 * Like botocore, an unreachable or unhelpful service is "not found" (*found 0), with the
 * reason appended to why; a bad endpoint setting, or no token with IMDSv1 disabled, is an
 * error. */
kvsws_status kvi_imds_credentials(const kvi_profile_paths *p, kvi_credentials *out, int *found,
                                  kvi_buf *why, kvsws_error *err);

/* The container and IMDS answer {AccessKeyId, SecretAccessKey, Token, Expiration} into *out
 * (source: "container-role" / "iam-role"). NULL on success (*st KVSWS_OK), else a static reason
 * that never quotes the document (*st KVSWS_OK), or *st set by an out-of-memory error. */
const char *kvi_remote_credentials_parse(const kvi_buf *body, const char *source,
                                         kvi_credentials *out, kvsws_error *err,
                                         kvsws_status *st);

#endif
