/*
 * results-check.c -- a test helper for the gpusim-bench shell tests (tests/bench/cli-NAME.sh), which may
 * use neither python nor jq: reads a results file with sim_results_read_json.
 *
 *   bench-results-check FILE            one line per record: "index scenario policy seed status
 *                                       met/total", then "records N"; exit 1 with the reader's
 *                                       message if FILE is not a valid results file
 *   bench-results-check --rewrite FILE  writes the records back with sim_results_write_json (a
 *                                       round trip: the output must equal FILE byte for byte)
 */
#include "sim.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    bool rewrite = argc == 3 && strcmp(argv[1], "--rewrite") == 0;
    if (argc != 2 && !rewrite) {
        fprintf(stderr, "usage: bench-results-check [--rewrite] FILE\n");
        return 2;
    }
    const char *path = argv[argc - 1];
    sim_result *recs;
    size_t n;
    char err[512];
    if (sim_results_read_json(path, &recs, &n, err, sizeof err) != 0) {
        fprintf(stderr, "bench-results-check: %s\n", err);
        return 1;
    }
    int status = 0;
    if (rewrite) {
        status = sim_results_write_json(stdout, recs, n) != 0;
    } else {
        for (size_t i = 0; i < n; i++) {
            unsigned met = 0;
            for (unsigned e = 0; e < recs[i].nexpectations; e++)
                met += recs[i].expectations[e].met == 1;
            printf("%" PRIu64 " %s %s %" PRIu64 " %d %u/%u\n", recs[i].index, recs[i].scenario,
                   recs[i].policy, recs[i].seed, recs[i].status, met, recs[i].nexpectations);
        }
        printf("records %zu\n", n);
    }
    free(recs);
    return status;
}
