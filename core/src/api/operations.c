/* SPDX-License-Identifier: Apache-2.0 */
/* operations.c - the operations' models and input validation (before any network I/O). */
#include "api/operations.h"

#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "base/error.h"

typedef enum member_type { M_STRING, M_STRUCT, M_STRING_LIST } member_type;

typedef struct member {
    const char *name;
    member_type type;
    int required;
    int min_len, max_len;     /* for strings (characters) and lists (items) */
    const char *pattern;      /* POSIX ERE, anchored; NULL for none */
    const char *const *enum_values; /* NULL-terminated, or NULL for none */
    const struct member *members;   /* M_STRUCT: its members, ended by a NULL name */
    const char *const *item_enum;   /* M_STRING_LIST: allowed item values */
} member;

#define ARN_PATTERN \
    "^arn:(aws[a-zA-Z-]*):kinesisvideo:[a-z0-9-]+:[0-9]+:[a-z]+/[a-zA-Z0-9_.-]+/[0-9]+$"
#define NAME_PATTERN "^[a-zA-Z0-9_.-]+$"

static const char *const ROLES[] = {"MASTER", "VIEWER", NULL};
static const char *const PROTOCOLS[] = {"WSS", "HTTPS", "WEBRTC", NULL};
static const char *const SERVICES[] = {"TURN", NULL};

static const member JOIN[] = {
    {"channelArn", M_STRING, 1, 1, 1024, ARN_PATTERN, NULL, NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL, NULL}};
static const member JOIN_VIEWER[] = {
    {"channelArn", M_STRING, 1, 1, 1024, ARN_PATTERN, NULL, NULL, NULL},
    {"clientId", M_STRING, 1, 1, 256, NAME_PATTERN, NULL, NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL, NULL}};
static const member ENDPOINT_CONFIG[] = {
    {"Protocols", M_STRING_LIST, 0, 1, 5, NULL, NULL, NULL, PROTOCOLS},
    {"Role", M_STRING, 0, 0, 0, NULL, ROLES, NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL, NULL}};
static const member GET_ENDPOINT[] = {
    {"ChannelARN", M_STRING, 1, 1, 1024, ARN_PATTERN, NULL, NULL, NULL},
    {"SingleMasterChannelEndpointConfiguration", M_STRUCT, 0, 0, 0, NULL, NULL, ENDPOINT_CONFIG,
     NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL, NULL}};
static const member DESCRIBE[] = {
    {"ChannelName", M_STRING, 0, 1, 256, NAME_PATTERN, NULL, NULL, NULL},
    {"ChannelARN", M_STRING, 0, 1, 1024, ARN_PATTERN, NULL, NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL, NULL}};
static const member ICE[] = {
    {"ChannelARN", M_STRING, 1, 1, 1024, ARN_PATTERN, NULL, NULL, NULL},
    {"ClientId", M_STRING, 0, 1, 256, NAME_PATTERN, NULL, NULL, NULL},
    {"Service", M_STRING, 0, 0, 0, NULL, SERVICES, NULL, NULL},
    {"Username", M_STRING, 0, 1, 256, NAME_PATTERN, NULL, NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL, NULL}};

typedef struct operation_model {
    kvi_operation op;
    const member *members;
    int one_of_name_or_arn; /* Describe*: the service needs ChannelName or ChannelARN */
} operation_model;

static const operation_model MODELS[] = {
    {{"JoinStorageSession", "/joinStorageSession", KVI_ENDPOINT_WEBRTC_STORAGE, 0, "channelArn",
      "MASTER"},
     JOIN, 0},
    {{"JoinStorageSessionAsViewer", "/joinStorageSessionAsViewer", KVI_ENDPOINT_WEBRTC_STORAGE, 0,
      "channelArn", "VIEWER"},
     JOIN_VIEWER, 0},
    {{"GetSignalingChannelEndpoint", "/getSignalingChannelEndpoint", KVI_ENDPOINT_CONTROL, 1,
      "ChannelARN", NULL},
     GET_ENDPOINT, 0},
    {{"DescribeSignalingChannel", "/describeSignalingChannel", KVI_ENDPOINT_CONTROL, 1,
      "ChannelARN", NULL},
     DESCRIBE, 1},
    {{"DescribeMediaStorageConfiguration", "/describeMediaStorageConfiguration",
      KVI_ENDPOINT_CONTROL, 1, "ChannelARN", NULL},
     DESCRIBE, 1},
    {{"GetIceServerConfig", "/v1/get-ice-server-config", KVI_ENDPOINT_SIGNALING, 1, "ChannelARN",
      "MASTER"},
     ICE, 0},
};

const kvi_operation *kvi_operation_find(const char *name)
{
    for (size_t i = 0; name && i < sizeof MODELS / sizeof MODELS[0]; i++)
        if (strcmp(MODELS[i].op.name, name) == 0)
            return &MODELS[i].op;
    return NULL;
}

static const operation_model *model_of(const kvi_operation *op)
{
    return (const operation_model *)op; /* op is the first member of its model */
}

/* Characters, not bytes: the AWS length constraints count code points. */
static size_t utf8_length(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

/* The patterns are the models' static strings: each is compiled once, on first use, and kept. */
#define MAX_PATTERNS 32
static struct {
    const char *pattern;
    regex_t re;
    int ok;
} compiled[MAX_PATTERNS];
static size_t compiled_count;
static pthread_mutex_t compiled_lock = PTHREAD_MUTEX_INITIALIZER;

static int matches(const char *pattern, const char *value)
{
    regex_t *re = NULL;
    pthread_mutex_lock(&compiled_lock);
    for (size_t i = 0; i < compiled_count && !re; i++)
        if (compiled[i].pattern == pattern)
            re = compiled[i].ok ? &compiled[i].re : NULL;
    if (!re && compiled_count < MAX_PATTERNS) {
        size_t i = compiled_count++;
        compiled[i].pattern = pattern;
        compiled[i].ok = regcomp(&compiled[i].re, pattern, REG_EXTENDED | REG_NOSUB) == 0;
        re = compiled[i].ok ? &compiled[i].re : NULL;
    }
    pthread_mutex_unlock(&compiled_lock);
    return re && regexec(re, value, 0, NULL, 0) == 0;
}

static int in_list(const char *const *values, const char *v)
{
    for (; *values; values++)
        if (strcmp(*values, v) == 0)
            return 1;
    return 0;
}

static void list_names(kvi_buf *b, const char *const *values)
{
    for (int i = 0; values[i]; i++)
        kvi_buf_printf(b, "%s%s", i ? ", " : "", values[i]);
}

static kvsws_status validate_string(const member *m, const char *path, const cJSON *v,
                                    const char *const *allowed, kvsws_error *err)
{
    if (!cJSON_IsString(v))
        return kvi_error_set(err, KVSWS_E_PARAM_VALIDATION,
                             "Invalid type for parameter %s: must be a string", path);
    const char *s = v->valuestring;
    size_t len = utf8_length(s);
    if (m->max_len && (len < (size_t)m->min_len || len > (size_t)m->max_len))
        return kvi_error_set(err, KVSWS_E_PARAM_VALIDATION,
                             "Invalid length for parameter %s: must be %d to %d characters, "
                             "got %zu",
                             path, m->min_len, m->max_len, len);
    if (allowed && !in_list(allowed, s)) {
        kvi_buf names = KVI_BUF_INIT;
        list_names(&names, allowed);
        kvi_error_set(err, KVSWS_E_PARAM_VALIDATION,
                      "Invalid value for parameter %s: \"%.64s\", must be one of: %s", path, s,
                      kvi_buf_str(&names));
        kvi_buf_free(&names);
        return KVSWS_E_PARAM_VALIDATION;
    }
    if (m->pattern && !matches(m->pattern, s))
        return kvi_error_set(err, KVSWS_E_PARAM_VALIDATION,
                             "Invalid value for parameter %s: \"%.64s%s\" does not match the "
                             "pattern %s",
                             path, s, len > 64 ? "..." : "", m->pattern);
    return KVSWS_OK;
}

static kvsws_status validate_struct(const member *members, const char *prefix, const cJSON *obj,
                                    kvsws_error *err);

static kvsws_status validate_member(const member *m, const char *path, const cJSON *v,
                                    kvsws_error *err)
{
    switch (m->type) {
    case M_STRING:
        return validate_string(m, path, v, m->enum_values, err);
    case M_STRUCT:
        if (!cJSON_IsObject(v))
            return kvi_error_set(err, KVSWS_E_PARAM_VALIDATION,
                                 "Invalid type for parameter %s: must be an object", path);
        return validate_struct(m->members, path, v, err);
    case M_STRING_LIST: {
        if (!cJSON_IsArray(v))
            return kvi_error_set(err, KVSWS_E_PARAM_VALIDATION,
                                 "Invalid type for parameter %s: must be a list of strings", path);
        int n = cJSON_GetArraySize(v);
        if (n < m->min_len || n > m->max_len)
            return kvi_error_set(err, KVSWS_E_PARAM_VALIDATION,
                                 "Invalid length for parameter %s: must have %d to %d items, "
                                 "got %d",
                                 path, m->min_len, m->max_len, n);
        member item = {m->name, M_STRING, 1, 0, 0, NULL, NULL, NULL, NULL};
        int i = 0;
        for (const cJSON *it = v->child; it; it = it->next, i++) {
            char item_path[160];
            snprintf(item_path, sizeof item_path, "%s[%d]", path, i);
            kvsws_status st = validate_string(&item, item_path, it, m->item_enum, err);
            if (st)
                return st;
        }
        return KVSWS_OK;
    }
    }
    return KVSWS_OK;
}

static kvsws_status validate_struct(const member *members, const char *prefix, const cJSON *obj,
                                    kvsws_error *err)
{
    for (const cJSON *field = obj->child; field; field = field->next) {
        const member *m = members;
        while (m->name && strcmp(m->name, field->string) != 0)
            m++;
        if (!m->name) {
            kvi_buf names = KVI_BUF_INIT;
            for (int i = 0; members[i].name; i++)
                kvi_buf_printf(&names, "%s%s", i ? ", " : "", members[i].name);
            kvi_error_set(err, KVSWS_E_PARAM_VALIDATION,
                          "Unknown parameter in %s: \"%.64s\", must be one of: %s",
                          *prefix ? prefix : "input", field->string, kvi_buf_str(&names));
            kvi_buf_free(&names);
            return KVSWS_E_PARAM_VALIDATION;
        }
    }
    for (const member *m = members; m->name; m++) {
        char path[128];
        snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", m->name);
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, m->name);
        if (!v || cJSON_IsNull(v)) {
            if (m->required)
                return kvi_error_set(err, KVSWS_E_PARAM_VALIDATION,
                                     "Missing required parameter in %s: \"%s\"",
                                     *prefix ? prefix : "input", m->name);
            continue;
        }
        kvsws_status st = validate_member(m, path, v, err);
        if (st)
            return st;
    }
    return KVSWS_OK;
}

/* A member set to null counts as absent, as in the SDKs. */
static int present(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    return v && !cJSON_IsNull(v);
}

kvsws_status kvi_operation_validate(const kvi_operation *op, const cJSON *input,
                                    kvsws_error *err)
{
    const operation_model *model = model_of(op);
    if (!cJSON_IsObject(input))
        return kvi_error_set(err, KVSWS_E_PARAM_VALIDATION,
                             "Invalid input for %s: must be a JSON object", op->name);
    kvsws_status st = validate_struct(model->members, "", input, err);
    if (st)
        return st;
    if (model->one_of_name_or_arn && !present(input, "ChannelName") &&
        !present(input, "ChannelARN"))
        return kvi_error_set(err, KVSWS_E_PARAM_VALIDATION,
                             "Missing required parameter in input: one of \"ChannelARN\" or "
                             "\"ChannelName\"");
    return KVSWS_OK;
}

void kvi_operation_strip_nulls(cJSON *obj)
{
    cJSON *field = obj ? obj->child : NULL;
    while (field) {
        cJSON *next = field->next;
        if (cJSON_IsNull(field))
            cJSON_Delete(cJSON_DetachItemViaPointer(obj, field));
        else if (cJSON_IsObject(field))
            kvi_operation_strip_nulls(field);
        field = next;
    }
}
