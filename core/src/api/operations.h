/* SPDX-License-Identifier: Apache-2.0 */
/* operations.h - the six operations: where they go and what input they accept. */
#ifndef KVSWS_OPERATIONS_H
#define KVSWS_OPERATIONS_H

#include <cjson/cJSON.h>

#include "aws/endpoints.h"
#include "kvsws.h"

typedef struct kvi_operation {
    const char *name;          /* "JoinStorageSession" */
    const char *path;          /* "/joinStorageSession" */
    kvi_endpoint_kind endpoint;
    int idempotent;            /* 0: every call has an effect (a join makes one more offer) */
    const char *arn_member;    /* the member that names the channel ("channelArn", "ChannelARN") */
    const char *discovery_role; /* role for endpoint discovery: "MASTER" / "VIEWER" */
} kvi_operation;

/* NULL when the name is not one of ours. */
const kvi_operation *kvi_operation_find(const char *name);

/* Checks input against the operation's model (required members, types, lengths, patterns, enum
 * values, unknown members) before any I/O. On failure: KVSWS_E_PARAM_VALIDATION with a message
 * that names the member and the rule. */
kvsws_status kvi_operation_validate(const kvi_operation *op, const cJSON *input,
                                    kvsws_error *err);

/* Removes members set to null (they mean "not given"), so they never reach the wire. */
void kvi_operation_strip_nulls(cJSON *obj);

#endif
