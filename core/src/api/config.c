/* SPDX-License-Identifier: Apache-2.0 */
/* config.c - the option bag a client is built from. */
#include <stdlib.h>
#include <string.h>

#include "api/client.h"
#include "base/buf.h"
#include "base/error.h"

typedef enum option_type { OPT_NONE = 0, OPT_STR, OPT_INT, OPT_SECRET } option_type;

/* Indexed by kvsws_option; a new option is one new row. */
static const struct {
    option_type type;
    const char *name;
    int64_t min, max;
} OPTIONS[KVSWS_OPT_COUNT] = {
    [KVSWS_OPT_REGION] = {OPT_STR, "KVSWS_OPT_REGION", 0, 0},
    [KVSWS_OPT_PROFILE] = {OPT_STR, "KVSWS_OPT_PROFILE", 0, 0},
    [KVSWS_OPT_ENDPOINT_URL] = {OPT_STR, "KVSWS_OPT_ENDPOINT_URL", 0, 0},
    [KVSWS_OPT_ACCESS_KEY_ID] = {OPT_STR, "KVSWS_OPT_ACCESS_KEY_ID", 0, 0},
    [KVSWS_OPT_SECRET_ACCESS_KEY] = {OPT_SECRET, "KVSWS_OPT_SECRET_ACCESS_KEY", 0, 0},
    [KVSWS_OPT_SESSION_TOKEN] = {OPT_SECRET, "KVSWS_OPT_SESSION_TOKEN", 0, 0},
    [KVSWS_OPT_CA_BUNDLE] = {OPT_STR, "KVSWS_OPT_CA_BUNDLE", 0, 0},
    [KVSWS_OPT_CONNECT_TIMEOUT_MS] = {OPT_INT, "KVSWS_OPT_CONNECT_TIMEOUT_MS", 1, 3600000},
    [KVSWS_OPT_READ_TIMEOUT_MS] = {OPT_INT, "KVSWS_OPT_READ_TIMEOUT_MS", 1, 3600000},
    [KVSWS_OPT_MAX_ATTEMPTS] = {OPT_INT, "KVSWS_OPT_MAX_ATTEMPTS", 1, 20},
    [KVSWS_OPT_RETRY_JOIN] = {OPT_INT, "KVSWS_OPT_RETRY_JOIN", 0, 1},
    [KVSWS_OPT_USER_AGENT_EXTRA] = {OPT_STR, "KVSWS_OPT_USER_AGENT_EXTRA", 0, 0},
    [KVSWS_OPT_LOG_LEVEL] = {OPT_INT, "KVSWS_OPT_LOG_LEVEL", KVSWS_LOG_OFF, KVSWS_LOG_DEBUG},
    [KVSWS_OPT_CONFIG_FILE] = {OPT_STR, "KVSWS_OPT_CONFIG_FILE", 0, 0},
    [KVSWS_OPT_CREDENTIALS_FILE] = {OPT_STR, "KVSWS_OPT_CREDENTIALS_FILE", 0, 0},
    [KVSWS_OPT_RETRY_BASE_DELAY_MS] = {OPT_INT, "KVSWS_OPT_RETRY_BASE_DELAY_MS", 0, 20000},
    [KVSWS_OPT_USE_FIPS_ENDPOINT] = {OPT_INT, "KVSWS_OPT_USE_FIPS_ENDPOINT", 0, 1},
    [KVSWS_OPT_REQUEST_TIMEOUT_MS] = {OPT_INT, "KVSWS_OPT_REQUEST_TIMEOUT_MS", 1, 3600000},
    [KVSWS_OPT_IOT_CREDENTIAL_ENDPOINT] = {OPT_STR, "KVSWS_OPT_IOT_CREDENTIAL_ENDPOINT", 0, 0},
    [KVSWS_OPT_IOT_CERT_FILE] = {OPT_STR, "KVSWS_OPT_IOT_CERT_FILE", 0, 0},
    [KVSWS_OPT_IOT_PRIVATE_KEY_FILE] = {OPT_STR, "KVSWS_OPT_IOT_PRIVATE_KEY_FILE", 0, 0},
    [KVSWS_OPT_IOT_ROLE_ALIAS] = {OPT_STR, "KVSWS_OPT_IOT_ROLE_ALIAS", 0, 0},
    [KVSWS_OPT_IOT_THING_NAME] = {OPT_STR, "KVSWS_OPT_IOT_THING_NAME", 0, 0},
    [KVSWS_OPT_IOT_CA_FILE] = {OPT_STR, "KVSWS_OPT_IOT_CA_FILE", 0, 0},
};

kvsws_config *kvsws_config_new(void) { return calloc(1, sizeof(kvsws_config)); }

void kvsws_config_free(kvsws_config *cfg)
{
    if (!cfg)
        return;
    for (int i = 0; i < KVSWS_OPT_COUNT; i++) {
        if (OPTIONS[i].type == OPT_SECRET)
            kvi_free_secret(cfg->str[i]);
        else
            free(cfg->str[i]);
    }
    free(cfg);
}

static int option_known(kvsws_option opt)
{
    return (int)opt > 0 && (int)opt < KVSWS_OPT_COUNT && OPTIONS[opt].type != OPT_NONE;
}

kvsws_status kvsws_config_set_str(kvsws_config *cfg, kvsws_option opt, const char *value,
                                  kvsws_error *err)
{
    kvi_error_clear(err);
    if (!cfg)
        return kvi_error_set(err, KVSWS_E_CONFIG, "config is NULL");
    if (!option_known(opt))
        return kvi_error_set(err, KVSWS_E_CONFIG, "unknown option %d", (int)opt);
    if (OPTIONS[opt].type == OPT_INT)
        return kvi_error_set(err, KVSWS_E_CONFIG, "%s takes an integer (kvsws_config_set_int)",
                             OPTIONS[opt].name);
    char *copy = NULL;
    if (value && !(copy = kvi_strdup(value)))
        return kvi_error_set(err, KVSWS_E_NO_MEMORY, "out of memory");
    if (OPTIONS[opt].type == OPT_SECRET)
        kvi_free_secret(cfg->str[opt]);
    else
        free(cfg->str[opt]);
    cfg->str[opt] = copy;
    return KVSWS_OK;
}

kvsws_status kvsws_config_set_int(kvsws_config *cfg, kvsws_option opt, int64_t value,
                                  kvsws_error *err)
{
    kvi_error_clear(err);
    if (!cfg)
        return kvi_error_set(err, KVSWS_E_CONFIG, "config is NULL");
    if (!option_known(opt))
        return kvi_error_set(err, KVSWS_E_CONFIG, "unknown option %d", (int)opt);
    if (OPTIONS[opt].type != OPT_INT)
        return kvi_error_set(err, KVSWS_E_CONFIG, "%s takes a string (kvsws_config_set_str)",
                             OPTIONS[opt].name);
    if (value < OPTIONS[opt].min || value > OPTIONS[opt].max)
        return kvi_error_set(err, KVSWS_E_CONFIG, "%s must be between %lld and %lld, got %lld",
                             OPTIONS[opt].name, (long long)OPTIONS[opt].min,
                             (long long)OPTIONS[opt].max, (long long)value);
    cfg->num[opt] = value;
    cfg->num_set[opt] = 1;
    return KVSWS_OK;
}

void kvsws_config_set_log(kvsws_config *cfg, kvsws_log_fn fn, void *userdata)
{
    if (!cfg)
        return;
    cfg->log_fn = fn;
    cfg->log_userdata = userdata;
}
