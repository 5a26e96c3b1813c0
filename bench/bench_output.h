/*
 * bench_output.h -- writes result records as a table, CSV or JSON (docs/results.md).
 *
 * The records are written in the order given (the combination order); nothing here sorts or
 * evaluates. The table is for people (about 100 columns, human-readable durations, a list of
 * failed runs and unmet expectations below it); CSV and JSON are for programs and carry every
 * field.
 */
#ifndef GPUSIM_BENCH_OUTPUT_H
#define GPUSIM_BENCH_OUTPUT_H

#include "bench_args.h"

/* Writes recs[0..n) to f in `fmt`. Returns 0, GPUSIM_ENOMEM or GPUSIM_ENOSPC (write error). */
int bench_output_write(FILE *f, bench_format fmt, const sim_result *recs, size_t n);

/* Expectations of r that are met (met == 1). */
unsigned bench_expect_met(const sim_result *r);

/* The longest an invalidator waited on the drivers in r: max over notifier.blocked_by.*.max. */
uint64_t bench_blocked_max(const sim_result *r);

#endif /* GPUSIM_BENCH_OUTPUT_H */
