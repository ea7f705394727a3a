/* SPDX-License-Identifier: Apache-2.0 */
/* sts.h - the two STS calls the assume-role providers make (AWS query protocol, XML
 * answers): AssumeRole, SigV4-signed with the source credentials, and AssumeRoleWithWebIdentity,
 * unsigned. */
#ifndef KVSWS_CREDENTIALS_STS_H
#define KVSWS_CREDENTIALS_STS_H

#include "base/buf.h"
#include "credentials/credentials.h"
#include "transport/http.h"

typedef struct kvi_sts_request {
    const char *provider;           /* "assume-role" / "assume-role-with-web-identity" */
    const char *profile;            /* for messages; NULL when configured by the environment */
    const char *role_arn;
    const char *session_name;
    const char *external_id;        /* NULL: not sent */
    long duration_seconds;          /* 0: not sent (STS's default is 3600) */
    const kvi_credentials *source;  /* AssumeRole: the credentials that sign the call */
    const char *web_identity_token; /* non-NULL: AssumeRoleWithWebIdentity (never in a message) */
} kvi_sts_request;

/*
 * POST / to the STS endpoint (kvi_fetch_endpoint: AWS_ENDPOINT_URL_STS & co., else
 * https://sts.REGION.amazonaws.com(.cn) for ctx's region), Content-Type
 * application/x-www-form-urlencoded; charset=utf-8, body Action=...&Version=2011-06-15&RoleArn=
 * ...&RoleSessionName=...[&ExternalId=...][&DurationSeconds=...][&WebIdentityToken=...].
 * Transient failures (5xx, throttling, IDPCommunicationError, connection errors) are tried again.
 * Fills out (source = r->provider) from Credentials/{AccessKeyId, SecretAccessKey, SessionToken,
 * Expiration}. Failures are KVSWS_E_CREDENTIAL_RETRIEVAL with a message that names the provider,
 * the profile, the role ARN, the endpoint, and STS's error code, message and request id; never
 * a secret or the web identity token.
 */
kvsws_status kvi_sts_assume_role(const kvi_provider_ctx *ctx, const kvi_sts_request *r,
                                 kvi_credentials *out, kvsws_error *err);

/* Parses a successful answer to action ("AssumeRole", "AssumeRoleWithWebIdentity"). NULL on
 * success, else a static reason (which never quotes the document). */
const char *kvi_sts_parse_credentials(const char *action, const char *body, size_t len,
                                      const char *source, kvi_credentials *out);

/* STS's <ErrorResponse><Error><Code/><Message/></Error><RequestId/></ErrorResponse>: 0 with the
 * parts that are there (each may stay empty), -1 when the body is not such a document. */
int kvi_sts_parse_error(const char *body, size_t len, kvi_buf *code, kvi_buf *message,
                        kvi_buf *request_id);

/* What STS's answer means for the request r: a 2xx answer's credentials in *out, else a
 * KVSWS_E_CREDENTIAL_RETRIEVAL error in AWS CLI words, quoting STS's code, message and request id
 * (sanitized), never the document's credentials. */
kvsws_status kvi_sts_answer(const kvi_sts_request *r, const char *action, const char *endpoint,
                            const kvi_http_response *resp, int attempts, kvi_credentials *out,
                            kvsws_error *err);

#endif
