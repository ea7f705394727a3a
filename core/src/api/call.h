/* SPDX-License-Identifier: Apache-2.0 */
/* call.h - one operation end to end on parsed JSON: the entry the C API and the sessions share. */
#ifndef KVSWS_CALL_H
#define KVSWS_CALL_H

#include <cjson/cJSON.h>

#include "kvsws.h"

struct kvsws_response {
    cJSON *output;      /* the answer parsed (an object, {} for an empty body); NULL once printed */
    char *json;         /* the answer as the public API hands it out (kvi_call_printed) */
    char *request_id;
    cJSON *headers;     /* the answer's headers, lower-case names (NULL: none kept) */
    char *http_headers; /* headers printed for the public API (kvi_call_printed); NULL = "{}" */
    int http_status;
    int attempts;
};

/* Runs operation with input: validates it (members set to null are removed from it, as they mean
 * "not given"), finds the endpoint (a channel's is looked up as role; NULL: the operation's own),
 * prints the body once, signs, sends, retries and maps errors. On success *out (when out is not
 * NULL) holds the answer parsed in output; on failure *out is NULL. The caller keeps input. */
kvsws_status kvi_call(kvsws_client *c, const char *operation, const char *role, cJSON *input,
                      const kvsws_cancel *cancel, kvsws_response **out, kvsws_error *err);

/* kvi_call for the public API (role: the operation's own): the answer parsed once, printed once
 * to the string kvsws_response_json returns. */
kvsws_status kvi_call_printed(kvsws_client *c, const char *operation, cJSON *input,
                              const kvsws_cancel *cancel, kvsws_response **out, kvsws_error *err);

#endif
