/*
 * bench_summary.h -- records grouped by scenario, one row per policy with the decisive numbers
 * averaged over seeds: what the plots and the report show.
 *
 * Scenarios and policies keep the order of their first appearance in the records, which is the
 * combination order of the run. A failed run (status != 0) is counted but left out of the means:
 * its figures stop wherever it failed.
 */
#ifndef GPUSIM_BENCH_SUMMARY_H
#define GPUSIM_BENCH_SUMMARY_H

#include "sim.h"

typedef struct bench_row {
    char policy[SIM_NAME_MAX];
    unsigned runs, failed; /* records of this policy; of them, failed */
    /* Means over the runs that did not fail (0 when all failed). */
    double sim_time_ns, stall_ns, blocked_ns, blocked_max_ns, pinned_peak, uaf, stale;
} bench_row;

typedef struct bench_group {
    char scenario[SIM_NAME_MAX];
    bench_row *rows; /* one per policy */
    size_t nrows;
    const sim_result **recs; /* this scenario's records, in order */
    size_t nrecs;
    size_t nseeds; /* distinct seeds among them */
} bench_group;

/* Groups recs[0..n) (which must outlive the groups). Returns 0 or GPUSIM_ENOMEM. */
int bench_groups_build(const sim_result *recs, size_t n, bench_group **out, size_t *ngroups);
void bench_groups_free(bench_group *g, size_t ngroups);

#endif /* GPUSIM_BENCH_SUMMARY_H */
