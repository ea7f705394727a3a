/* SPDX-License-Identifier: Apache-2.0 */
/* file.h - a whole small file into a buffer, bounded, wiped after (files may hold secrets). */
#ifndef KVSWS_FILE_H
#define KVSWS_FILE_H

#include <stddef.h>

#include "base/buf.h"

/* Appends the regular file at path to out, refusing one of more than max bytes. 0, or an errno
 * value: open's or read's (ENOENT: no such file), EISDIR or EINVAL for a directory or another
 * kind of file, EFBIG past max, ENOMEM. On failure out is wiped and emptied. */
int kvi_file_read(const char *path, size_t max, kvi_buf *out);

#endif
