/* SPDX-License-Identifier: Apache-2.0 */
/* cli_main.c - the kvsws executable: its main only, so the command itself (kvsws_cli_run) can
 * also be linked into the Python extension, which the wheel's `kvsws` script calls. */
#include "cli.h"

int main(int argc, char **argv)
{
    return kvsws_cli_run(argc, argv);
}
