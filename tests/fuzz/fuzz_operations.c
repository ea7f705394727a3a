/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_operations.c - libFuzzer target for operation input validation (operations.c), the check
 * every call's JSON input passes before any I/O: the first byte picks the operation, the rest
 * is the input document. Build: see README.md. */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "kvsws.h"
#include "api/operations.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const OPERATIONS[] = {
    "JoinStorageSession",          "JoinStorageSessionAsViewer", "GetSignalingChannelEndpoint",
    "DescribeSignalingChannel",    "DescribeMediaStorageConfiguration", "GetIceServerConfig",
};

static kvsws_status validate(const kvi_operation *op, const cJSON *input, char **message)
{
    kvsws_error *err = kvsws_error_new();
    kvsws_status st = kvi_operation_validate(op, input, err);
    if (st != KVSWS_OK) {
        const char *m = kvsws_error_message(err);
        if (st != KVSWS_E_PARAM_VALIDATION || !m || !*m)
            abort();
        if (message)
            *message = strdup(m);
    }
    kvsws_error_free(err);
    return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const kvi_operation *op =
        kvi_operation_find(OPERATIONS[data[0] % (sizeof OPERATIONS / sizeof *OPERATIONS)]);
    if (!op)
        abort();
    cJSON *input = cJSON_ParseWithLength((const char *)data + 1, size - 1);
    char *first = NULL, *second = NULL;
    kvsws_status st = validate(op, input, &first);
    /* The same input, the same verdict and message. */
    if (validate(op, input, &second) != st || (first && strcmp(first, second) != 0))
        abort();
    if (st == KVSWS_OK) {
        /* What goes on the wire (nulls stripped, printed) is valid when read back. */
        kvi_operation_strip_nulls(input);
        char *wire = cJSON_PrintUnformatted(input);
        cJSON *back = wire ? cJSON_Parse(wire) : NULL;
        if (wire && back && validate(op, back, NULL) != KVSWS_OK)
            abort();
        cJSON_Delete(back);
        free(wire);
    }
    free(first);
    free(second);
    cJSON_Delete(input);
    return 0;
}

/* With -DKVSWS_FUZZ_STANDALONE: a main that replays files, for builds without libFuzzer. */
#include "standalone_main.h"
