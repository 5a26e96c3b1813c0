/*
 * tests/fuzz/replay.c -- a main() for the fuzz targets in builds without libFuzzer.
 *
 * Linked with one target (a file defining LLVMFuzzerTestOneInput), it feeds every file named on
 * the command line, and every file of every directory named there, to the target once, in name
 * order within a directory, and prints how many it ran. A crash, a sanitizer report or an abort
 * in the target fails the run like any test; an argument that does not exist or cannot be read is
 * an error too (exit 2), so that a misspelt corpus path never makes a test pass by replaying
 * nothing. Names starting with '.' and README files are skipped (git cannot keep an empty
 * directory, so a regression directory may hold only its README).
 *
 * This is what CTest's fuzz.replay.<target> runs over the committed corpus and regression inputs,
 * with gcc or clang, under any allocator and under ASan/UBSan, without clang's libFuzzer.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads a whole file into a fresh malloc'd block (never NULL on success, even when empty). */
static int read_file(const char *path, uint8_t **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0;
    if (f == NULL)
        return -1;
    for (;;) {
        if (n == cap) {
            size_t ncap = cap ? 2 * cap : 4096;
            uint8_t *nb = realloc(buf, ncap);
            if (nb == NULL) {
                free(buf);
                fclose(f);
                return -1;
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return -1;
    }
    *out = buf;
    *len = n;
    return 0;
}

static int run_file(const char *path)
{
    uint8_t *data;
    size_t len;
    if (read_file(path, &data, &len) != 0) {
        fprintf(stderr, "replay: cannot read %s: %s\n", path, strerror(errno));
        return -1;
    }
    printf("replay: %s\n", path);
    fflush(stdout); /* the last name printed is the input that crashed, if one does */
    /* A copy of exactly `len` bytes, so that ASan sees any read past the input as libFuzzer does. */
    uint8_t *exact = malloc(len ? len : 1);
    if (exact == NULL) {
        free(data);
        return -1;
    }
    memcpy(exact, data, len);
    free(data);
    (void)LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    return 0;
}

static int skipped(const char *name)
{
    return name[0] == '.' || strncmp(name, "README", 6) == 0;
}

/* Replays path (a file, or a directory's files in name order); adds to *count. */
static int run_path(const char *path, unsigned long *count)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        if (run_file(path) != 0)
            return -1;
        (*count)++;
        return 0;
    }
    struct dirent **names;
    int n = scandir(path, &names, NULL, alphasort);
    if (n < 0) {
        fprintf(stderr, "replay: cannot list %s: %s\n", path, strerror(errno));
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < n; i++) {
        if (rc == 0 && !skipped(names[i]->d_name)) {
            size_t len = strlen(path) + strlen(names[i]->d_name) + 2;
            char *full = malloc(len);
            if (full == NULL) {
                rc = -1;
            } else {
                snprintf(full, len, "%s/%s", path, names[i]->d_name);
                if (stat(full, &st) == 0 && S_ISREG(st.st_mode)) {
                    rc = run_file(full);
                    if (rc == 0)
                        (*count)++;
                }
                free(full);
            }
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    unsigned long count = 0;
    if (argc < 2) {
        fprintf(stderr,
                "usage: %s FILE_OR_DIRECTORY...\n"
                "Runs the fuzz target once on each input file.\n",
                argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++)
        if (run_path(argv[i], &count) != 0)
            return 2;
    printf("replay: %lu inputs ran without a failure\n", count);
    return 0;
}
