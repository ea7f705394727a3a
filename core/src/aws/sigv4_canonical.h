/* SPDX-License-Identifier: Apache-2.0 */
/* sigv4_canonical.h - the canonical request of SigV4 (path, query, headers, payload hash). */
#ifndef KVSWS_SIGV4_CANONICAL_H
#define KVSWS_SIGV4_CANONICAL_H

#include "aws/sigv4_state.h"

/* Builds the job's canonical request into ws->canonical_request (and the signed header list,
 * credential and scope beside it). NULL, or why the request cannot be signed. */
const char *kvi_sigv4_canonical_request(sign_workspace *ws, sign_job *job);

#endif
