/* SPDX-License-Identifier: Apache-2.0 */
/* sign.h - `kvsws sign`: SigV4 headers or a presigned URL for any request. */
#ifndef KVSWS_CLI_SIGN_H
#define KVSWS_CLI_SIGN_H

#include "globals.h"

/* `kvsws sign ...`: argv starts after "sign". */
int cli_sign(cli_globals *g, int argc, char **argv);

#endif
