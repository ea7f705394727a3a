/* SPDX-License-Identifier: Apache-2.0 */
/* file.c - a whole small file into a buffer: the profiles, the SSO cache, the token files. */
#include "base/file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int kvi_file_read(const char *path, size_t max, kvi_buf *out)
{
    /* O_NONBLOCK: opening a FIFO would otherwise wait for a writer (a regular file ignores it) */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return errno;
    int e = 0;
    struct stat st;
    if (fstat(fd, &st) != 0)
        e = errno;
    else if (S_ISDIR(st.st_mode))
        e = EISDIR;
    else if (!S_ISREG(st.st_mode))
        e = EINVAL; /* a FIFO or a device: reading it could block or never end */
    char chunk[4096];
    while (e == 0) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            e = n < 0 ? errno : 0;
            break;
        }
        if (out->len + (size_t)n > max)
            e = EFBIG;
        else if (kvi_buf_append(out, chunk, (size_t)n) != 0)
            e = ENOMEM;
    }
    explicit_bzero(chunk, sizeof chunk);
    close(fd);
    if (e != 0)
        kvi_buf_free_secret(out);
    return e;
}
