/*
 * bench_perf.h -- `gpusim-bench perf`: the simulator's own speed, each figure measured against a
 * reference in the same run (issue 10; docs/performance.md).
 *
 * A measurement fills one or more rows: a figure, the reference it is compared with (where the
 * issue names one), their ratio and the target, with whether the target is met. Targets are
 * printed, never turned into an exit status: wall time on a shared machine is evidence, not a
 * test. Each figure is the median of several repetitions (PERF_REPS), and a ratio is the median
 * of the per-repetition ratios, each measured back to back so that both sides see the same load.
 *
 * The measurement groups live in one file each (bench_perf_core.c: event queue, host fault,
 * memory; bench_perf_gpu.c: translation, GPU faults, invalidation; bench_perf_notifier.c:
 * notifier lookup; bench_perf_sim.c: the built-in scenarios; bench_perf_scale.c: scaling).
 * bench_perf.c holds the command: the list of measurements, --only, and the table/JSON output.
 * They use the public API only (gpusim.h and the scenario library).
 */
#ifndef GPUSIM_BENCH_PERF_H
#define GPUSIM_BENCH_PERF_H

#include "bench_args.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Repetitions of each timed measurement; the median is reported. */
#define PERF_REPS 5

/* How a row's target is judged. */
typedef enum perf_goal {
    PERF_GOAL_NONE = 0,  /* informative row: no target */
    PERF_GOAL_MIN,       /* measured >= target */
    PERF_GOAL_MAX,       /* measured <= target */
    PERF_GOAL_RATIO_MAX, /* ratio (measured / reference) <= target */
    PERF_GOAL_RATIO_LT,  /* ratio < target (strictly: "faster than") */
    PERF_GOAL_RATIO_MIN, /* ratio >= target */
} perf_goal;

typedef struct perf_row {
    char name[64];    /* "event queue schedule+dispatch" */
    char unit[24];    /* of measured and reference: "events/s", "ns", "bytes", "x" */
    double measured;  /* the simulator's figure */
    double reference; /* NAN: the issue names no reference */
    double ratio;     /* measured / reference (median of per-rep ratios); NAN: none */
    perf_goal goal;   /* how target is read */
    double target;    /* in unit (MIN, MAX) or as a ratio (RATIO_*) */
    char note[160];   /* what was measured, sizes, "quick: scaled down" */
} perf_row;

/* The state a measurement reads and fills. */
typedef struct perf_ctx {
    bool quick;     /* small sizes, for the smoke test: --quick must finish in < 20 s */
    perf_row *rows; /* appended by perf_add */
    size_t nrows, cap;
    int failed; /* a measurement could not run (set-up error): exit status 1 */
} perf_ctx;

/* A measurement: appends its rows with perf_add(); on a set-up error, calls perf_fail(). */
typedef void (*perf_fn)(perf_ctx *c);

/* Appends a row (copied). A row is "meets" when its goal holds (perf_meets). */
void perf_add(perf_ctx *c, const perf_row *r);
/* A row with the given name, unit, figures and goal; note formatted printf-style. */
void perf_addf(perf_ctx *c, const char *name, const char *unit, double measured, double reference,
               double ratio, perf_goal goal, double target, const char *fmt, ...)
    __attribute__((format(printf, 9, 10)));
/* Records a set-up failure of measurement `what` (prints it to stderr). */
void perf_fail(perf_ctx *c, const char *what, int rc);
/* 1 meets, 0 misses, -1 no target. */
int perf_meets(const perf_row *r);

/* Wall clock in ns (monotonic). */
uint64_t perf_now(void);
/* The median of v[0..n) (sorts v). n >= 1. */
double perf_median(double *v, size_t n);
/* log(b / a) / log(nb / na): how cost grows between sizes na and nb. */
double perf_exponent(double a, double b, double na, double nb);
/* The exponent n log n has between na and nb: the ceiling the issue sets for scaling. */
double perf_nlogn_exponent(double na, double nb);

/* Peak resident set of this process (VmHWM), bytes; 0 if unknown. */
uint64_t perf_peak_rss(void);
/* Current resident set (VmRSS), bytes; 0 if unknown. */
uint64_t perf_rss(void);

/* A world with one host (ram bytes, 1 GiB swap, no khugepaged), one process, one GPU and one
 * driver (bench_perf_fx.c): what the GPU-fault, big-world and scaling measurements build on. */
typedef struct perf_fx {
    gpusim_world_t *w;
    gpusim_host_t *h;
    gpusim_process_t *p;
    gpusim_gpu_t *g;
    gpusim_driver_t *d;
} perf_fx;

/* Builds it; dc NULL: the policy's defaults; no_driver: w, h and p only. Returns 0 or an error
 * (nothing to free). */
int perf_fx_new(perf_fx *f, uint64_t ram, gpusim_policy_t policy, const gpusim_driver_config_t *dc,
                bool no_driver);
void perf_fx_free(perf_fx *f);
/* mmap `bytes` of private anonymous memory anywhere and write every page (populated); *va its
 * address. Returns 0 or an error. */
int perf_fx_populate(perf_fx *f, uint64_t bytes, uint64_t *va);
/* Registers [va, va + len) writable with f->d and waits. Returns 0 or an error. */
int perf_fx_register(perf_fx *f, uint64_t va, uint64_t len, gpusim_buffer_t **out);
/* Runs one kernel sweeping the buffer (one 64-byte read per page, no compute) and waits for
 * it. Returns 0 or an error (the job's status included). */
int perf_fx_sweep(perf_fx *f, gpusim_buffer_t *b);
/* Runs the world until *done is set (bounded by pending events). Returns 0 or an error. */
int perf_fx_wait(perf_fx *f, const int *done);
/* An asynchronous call's outcome, for gpusim_host_cb (perf_fx_cb). */
typedef struct perf_call {
    int done, status;
    uint64_t result;
} perf_call;
void perf_fx_cb(void *data, int status, uint64_t result);

/* The measurements, one group per file. */
void perf_event_queue(perf_ctx *c);
void perf_host_fault(perf_ctx *c);
void perf_frame_memory(perf_ctx *c);
void perf_big_world(perf_ctx *c);
void perf_tlb_hit(perf_ctx *c);
void perf_page_walk(perf_ctx *c);
void perf_gpu_fault(perf_ctx *c);
void perf_invalidate(perf_ctx *c);
void perf_notifier(perf_ctx *c);
void perf_scenarios(perf_ctx *c);
void perf_long_compute(perf_ctx *c);
void perf_scaling(perf_ctx *c);

/* Shared by the GPU fault row and the buffer-size scaling: the wall ns of serving every fault of
 * one kernel sweep over a populated buffer of `pages` pages through a refault driver; *faults is
 * how many faults the driver served. Returns 0 or a negative error. */
int perf_refault_sweep(uint64_t pages, double *wall_ns, uint64_t *faults);
/* Shared by the notifier row and the subscription scaling: mean wall ns per invalidate_start +
 * end over random 4 KiB pages of a domain with n subscriptions (half the pages under one).
 * *callbacks: callbacks made. Returns the ns, or -1 on a set-up error. */
double perf_notifier_invalidation(size_t n, size_t rounds, bool sequential, uint64_t *callbacks);

/* `gpusim-bench perf`: runs the measurements o->only selects (all: NULL) and prints the rows as
 * a table or JSON. Returns an exit status (BENCH_EXIT_*). */
int bench_perf(const bench_opts *o, FILE *out);

#endif /* GPUSIM_BENCH_PERF_H */
