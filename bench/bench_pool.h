/*
 * bench_pool.h -- runs many (scenario, policy, seed) combinations in parallel on libuv's thread
 * pool, each in a world of its own (sim_run), with Ctrl-C handling and a progress display.
 *
 * Threads: sim_run executes on pool threads; everything else (completion bookkeeping, progress,
 * the SIGINT handler) runs on the loop thread, the caller's. The only datum shared while runs are
 * in flight is the stop flag, a C11 atomic. A run's record is handed back through libuv's
 * completion queue (a mutex), so the caller reads it race-free once bench_pool_run returns.
 */
#ifndef GPUSIM_BENCH_POOL_H
#define GPUSIM_BENCH_POOL_H

#include "sim.h"

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

typedef enum bench_run_state {
    BENCH_RUN_PENDING = 0, /* not finished (or never started) */
    BENCH_RUN_DONE,        /* sim_run returned something other than GPUSIM_ECANCELED */
    BENCH_RUN_CANCELED,    /* dropped from the queue, or abandoned on Ctrl-C */
} bench_run_state;

typedef struct bench_run {
    uv_work_t req; /* first member: the work callbacks get the run back from it */
    const sim_scenario *s;
    gpusim_policy_t policy;
    uint64_t seed;
    sim_trace *trace; /* NULL unless --trace */
    int rc;           /* sim_run's return, valid when DONE */
    bench_run_state state;
    sim_result result; /* valid when DONE and rc == 0 */
} bench_run;

/*
 * Runs runs[0..n) on the thread pool (whose size the caller fixed through UV_THREADPOOL_SIZE
 * before any work was queued) and returns when every run is DONE or CANCELED. `progress`: draw
 * a progress bar on stderr (a line per run when stderr is not a terminal). On SIGINT, sets the
 * stop flag, cancels the queued runs, waits for the running ones and sets *interrupted.
 * Returns 0, or a negative error when the loop cannot be set up (nothing ran then).
 */
int bench_pool_run(bench_run *runs, size_t n, bool progress, bool *interrupted);

#endif /* GPUSIM_BENCH_POOL_H */
