/* SPDX-License-Identifier: Apache-2.0 */
/* process.h - credential_process, as botocore runs it. */
#ifndef KVSWS_CREDENTIALS_PROCESS_H
#define KVSWS_CREDENTIALS_PROCESS_H

#include "base/buf.h"
#include "credentials/credentials.h"

/* botocore has no limit; a hung helper must not hang every call, so the chain gives it a minute. */
#define KVI_CREDENTIAL_PROCESS_TIMEOUT_MS 60000

/* Runs a credential_process command line without a shell (split as botocore splits it), reads
 * its stdout (64 KiB at most) and parses the JSON into *out. Killed after timeout_ms (the chain
 * uses 60 s); exposed so tests can use a short one. Errors name credential_process and the
 * profile, with the exit status and stderr's first line, never stdout. */
kvsws_status kvi_credential_process_run(const char *command, const char *profile,
                                        int timeout_ms, kvi_credentials *out, kvsws_error *err);
/* The helper's stdout (JSON, Version 1) into *out; errors name credential_process and the
 * profile and never quote the output beyond a sanitized Version or Expiration. */
kvsws_status kvi_credential_process_parse(const kvi_buf *out, const char *profile,
                                          kvi_credentials *creds, kvsws_error *err);

#endif
