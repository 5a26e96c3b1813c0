/*
 * bench_merge.h -- puts the records of shard files back into the order of the unsharded run.
 *
 * Every record carries its combination number (`index`) and the run's combination count
 * (`combinations`). The shards of one run hold, together, each index from 0 to combinations-1
 * exactly once, so sorting by index restores the unsharded order and any other set of files is
 * detected: a shard missing or given twice, shards of different --shard N, or of different runs.
 */
#ifndef GPUSIM_BENCH_MERGE_H
#define GPUSIM_BENCH_MERGE_H

#include "sim.h"

/*
 * Sorts recs[0..n) by index after checking that they are exactly one run's combinations, laid
 * out as scenario x seed x policy. origin[i] names the file record i came from (for messages).
 * Then re-evaluates the expectations (sim_expect_eval), as the unsharded run did. Returns 0, or
 * GPUSIM_EINVAL with a one-line message in err.
 */
int bench_merge(sim_result *recs, const char **origin, size_t n, char *err, size_t errlen);

#endif /* GPUSIM_BENCH_MERGE_H */
