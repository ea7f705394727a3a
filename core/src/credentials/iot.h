/* SPDX-License-Identifier: Apache-2.0 */
/* iot.h - the AWS IoT credentials provider, as cameras use it: the device's X.509
 * certificate and key over mutual TLS to https://ENDPOINT/role-aliases/ALIAS/credentials with
 * x-amzn-iot-thingname, configured by options or by the KVS C SDK's six environment variables. */
#ifndef KVSWS_CREDENTIALS_IOT_H
#define KVSWS_CREDENTIALS_IOT_H

#include "credentials/credentials.h"

/* The settings, in this order everywhere (names, values). */
enum {
    KVI_IOT_ENDPOINT = 0,
    KVI_IOT_CERT,
    KVI_IOT_KEY,
    KVI_IOT_ROLE_ALIAS,
    KVI_IOT_THING_NAME,
    KVI_IOT_CA_FILE, /* optional: the client's CA bundle when unset */
    KVI_IOT_FIELDS
};

typedef struct kvi_iot_config {
    char *value[KVI_IOT_FIELDS];       /* NULL when unset */
    const char *const *names;          /* what messages call each setting: the variables or the
                                          options (static) */
} kvi_iot_config;

extern const char *const kvi_iot_env_names[KVI_IOT_FIELDS];
extern const char *const kvi_iot_option_names[KVI_IOT_FIELDS];

void kvi_iot_config_free(kvi_iot_config *c);
int kvi_iot_config_copy(const kvi_iot_config *from, kvi_iot_config *to); /* 0 / -1 OOM */

/* From AWS_IOT_CORE_CREDENTIAL_ENDPOINT, _CERT, _PRIVATE_KEY, _ROLE_ALIAS, _THING_NAME and
 * AWS_KVS_CACERT_PATH. *found 0 when none of the five AWS_IOT_CORE_* is set; some but not all
 * of them is KVSWS_E_CREDENTIAL_RETRIEVAL naming the missing ones. */
kvsws_status kvi_iot_config_from_env(kvi_iot_config *out, int *found, kvsws_error *err);

/* Checks the settings before any I/O: all five required ones set; the endpoint a host, a
 * host:port or an https URL; the role alias [\w=,@-]{1,128} and the thing name
 * [a-zA-Z0-9:_-]{1,128} (IoT's rules); certificate, key and CA files readable. The error
 * (KVSWS_E_PARAM_VALIDATION) names the setting, the rule and, for a file, its path. */
kvsws_status kvi_iot_config_check(const kvi_iot_config *c, kvsws_error *err);

/* https://ENDPOINT/role-aliases/ALIAS/credentials (malloc'd), or NULL with *why. */
char *kvi_iot_credentials_url(const char *endpoint, const char *role_alias, const char **why);

/* The 200 answer {"credentials": {accessKeyId, secretAccessKey, sessionToken, expiration
 * (ISO 8601)}} into *out. NULL, or a static reason (never quoting the answer). */
const char *kvi_iot_credentials_parse(const kvi_buf *body, kvi_credentials *out);

/* The provider: checks cfg, then GETs the credentials with the certificate and key over mutual
 * TLS, the server verified against the CA file (else ca_bundle, else the system store), with
 * ctx's timeouts. Errors (KVSWS_E_CREDENTIAL_RETRIEVAL) name the endpoint and the HTTP answer
 * (status, the service's message, the request id) or the TLS failure, never a secret.
 * Timeouts of 0 are the HTTP defaults (curl_common.h). */
kvsws_status kvi_iot_provider(const kvi_iot_config *cfg, const char *ca_bundle,
                              long connect_timeout_ms, long request_timeout_ms,
                              kvi_credentials *out, kvsws_error *err);

#endif
