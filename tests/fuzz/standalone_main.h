/* SPDX-License-Identifier: Apache-2.0 */
/* standalone_main.h - the replay main of a fuzz target built with -DKVSWS_FUZZ_STANDALONE (gcc,
 * no libFuzzer): runs LLVMFuzzerTestOneInput on the files, or every file in the directories,
 * named on the command line. Included last by each fuzz_*.c, after its LLVMFuzzerTestOneInput. */
#ifndef KVSWS_FUZZ_STANDALONE_MAIN_H
#define KVSWS_FUZZ_STANDALONE_MAIN_H

#ifdef KVSWS_FUZZ_STANDALONE
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return 1;
    }
    size_t cap = 4096, n = 0;
    uint8_t *data = malloc(cap);
    size_t got;
    while (data && (got = fread(data + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            uint8_t *bigger = realloc(data, cap *= 2);
            if (!bigger)
                free(data);
            data = bigger;
        }
    }
    fclose(f);
    if (!data)
        return 1;
    /* An exact-size copy, as libFuzzer hands it over. */
    uint8_t *exact = malloc(n ? n : 1);
    if (exact) {
        memcpy(exact, data, n);
        LLVMFuzzerTestOneInput(exact, n);
    }
    free(exact);
    free(data);
    return exact ? 0 : 1;
}

int main(int argc, char **argv)
{
    int failed = 0, runs = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            DIR *d = opendir(argv[i]);
            struct dirent *e;
            while (d && (e = readdir(d)) != NULL) {
                if (e->d_name[0] == '.')
                    continue;
                char path[4096];
                snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name);
                failed += run_file(path);
                runs++;
            }
            if (d)
                closedir(d);
        } else {
            failed += run_file(argv[i]);
            runs++;
        }
    }
    printf("%d inputs replayed, %d unreadable\n", runs, failed);
    return failed ? 1 : 0;
}
#endif /* KVSWS_FUZZ_STANDALONE */

#endif
