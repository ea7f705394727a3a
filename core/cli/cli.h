/* SPDX-License-Identifier: Apache-2.0 */
/* cli.h - the kvsws command's entry point, for its main() and the Python package's `kvsws`. */
#ifndef KVSWS_CLI_H
#define KVSWS_CLI_H

/* The whole command line (argv[0] is the program), as the kvsws executable runs it and as the
 * Python package's `kvsws` script does: prints to stdout/stderr, returns the exit code. */
int kvsws_cli_run(int argc, char **argv);

#endif
