/* SPDX-License-Identifier: Apache-2.0 */
/* sigv4.h - AWS Signature Version 4: header signing and query presigning. */
#ifndef KVSWS_SIGV4_H
#define KVSWS_SIGV4_H

#include <stddef.h>

#include "aws/sigv4_encode.h" /* kvi_uri_encode, kvi_sha256_hex */
#include "aws/sigv4_types.h"
#include "base/buf.h"

/* Frees the result, cleansing what can hold the session token (all but the string to sign). */
void kvi_sign_result_free(kvi_sign_result *r);

/* Header mode: splits r->added_headers in place into at most max headers that point into it
 * (valid until the result is freed; the buffer is no longer one string). Returns how many. */
size_t kvi_sign_split_added(kvi_sign_result *r, kvi_header *out, size_t max);

/* Both return 0 on success, -1 on out of memory or a request that cannot be signed (e.g. no Host
 * header, bad expires); on -1 *err_msg (if not NULL) points at a static description. */
int kvi_sigv4_sign_headers(kvi_signer *s, const kvi_sign_credentials *creds,
                           const kvi_sign_config *cfg, const kvi_sign_request *req,
                           kvi_sign_result *out, const char **err_msg);
int kvi_sigv4_presign(kvi_signer *s, const kvi_sign_credentials *creds,
                      const kvi_sign_config *cfg, const kvi_sign_request *req,
                      kvi_sign_result *out, const char **err_msg);

#endif
