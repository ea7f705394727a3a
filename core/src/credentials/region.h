/* SPDX-License-Identifier: Apache-2.0 */
/* region.h - the region a client uses, from its option, the environment or its profile. */
#ifndef KVSWS_CREDENTIALS_REGION_H
#define KVSWS_CREDENTIALS_REGION_H

#include "base/profile.h"
#include "kvsws.h"

/* Region: option -> AWS_REGION -> AWS_DEFAULT_REGION -> the profile's region. NULL + a
 * KVSWS_E_NO_REGION error naming where it looked when none; a region that is not
 * [a-z0-9-]{1,64} is a PARAM_VALIDATION error naming its source; an explicitly named profile
 * that exists nowhere is the KVSWS_E_CONFIG error above. Returns malloc'd. */
char *kvi_region_resolve(const char *option, const kvi_profile_paths *paths, kvsws_error *err);

#endif
