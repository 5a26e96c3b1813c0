/*
 * sim/sim.h -- scenarios: what a scenario file describes, its parser, the runner that plays one
 * (scenario, policy, seed) in a world of its own, the result record of a run, and the
 * expectations checked against records.
 *
 * The sim library sits on the public API (<gpusim.h>) only; gpusim-bench and the tests link it.
 * Nothing here is thread-unsafe across runs: a sim_scenario is read-only once parsed, and every
 * run builds and frees its own world, so runs of one scenario may execute on several threads.
 *
 * Flow:  sim_scenario_parse_file() -> sim_scenario_apply() (--preset, --set) ->
 *        sim_run() once per (policy, seed) -> sim_result records -> sim_expect_eval() over the
 *        records of one (scenario, seed) -> output (bench/).
 *
 * Indices: sections refer to each other by name in the file; the parser resolves names to array
 * indices, so the runner never looks a name up. A scenario has fixed upper bounds (SIM_MAX_*);
 * exceeding one is a parse error, not a truncation.
 */
#ifndef GPUSIM_SIM_H
#define GPUSIM_SIM_H

#include <gpusim.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SIM_NAME_MAX       32                 /* section names and scenario names, with the NUL */
#define SIM_TEXT_MAX       256                /* descriptions, expectation texts, error messages */
#define SIM_PRESET_MAX     (2 * SIM_NAME_MAX) /* "GPU+HOST" preset names, with the NUL */
#define SIM_MAX_GPUS       4
#define SIM_MAX_PROCESSES  16
#define SIM_MAX_BUFFERS    64
#define SIM_MAX_JOBS       64
#define SIM_MAX_ACTIVITIES 64
#define SIM_MAX_EXPECT     32
#define SIM_MAX_SETTINGS   64

/* ---- the scenario ------------------------------------------------------------------------- */

/* A cost or policy parameter set by name ("swap_in_4k = 80us" in [host], "driver.restore_delay"
 * through --set): kept as text and applied with gpusim_{host,gpu,driver}_config_set(). */
typedef struct sim_setting {
    char name[48];
    char value[64];
    unsigned line; /* 0 when it came from the command line */
} sim_setting;

typedef struct sim_gpu_desc {
    char name[SIM_NAME_MAX];    /* [gpu NAME]; "gpu0" for a bare [gpu] */
    gpusim_gpu_config_t cfg;    /* engines, replayable, cost parameters (cfg.name = name) */
    bool policy_fixed;          /* `policy =` given: this device's drivers ignore the run's */
    gpusim_policy_t policy;     /* ... and use this one */
    gpusim_driver_config_t drv; /* driver parameters for drivers on this device (policy is
                                     set by the runner) */
    bool gpu_explicit[GPUSIM_GPU_PARAM_SLOTS];    /* cfg.params_[i] was set by name: presets
                                                     leave it */
    bool drv_explicit[GPUSIM_DRIVER_PARAM_SLOTS]; /* the same for drv.params_[i] */
    unsigned line;
} sim_gpu_desc;

typedef struct sim_process_desc {
    char name[SIM_NAME_MAX];
    gpusim_process_config_t cfg; /* cfg.name points at name: re-point after copying the struct */
    unsigned line;
} sim_process_desc;

typedef struct sim_buffer_desc {
    char name[SIM_NAME_MAX];
    unsigned process;  /* index into processes */
    uint64_t size;     /* bytes, 4 KiB multiple, > 0 */
    bool hugepage;     /* madvise(MADV_HUGEPAGE) before first touch */
    bool populate;     /* written by the CPU before registration (default true) */
    bool writable;     /* GPU may write it (GPUSIM_BUFFER_WRITE, default true) */
    unsigned fragment; /* percent 0..90 (default 0): populate the buffer page by page
                          interleaved with a filler that is then unmapped, so its frames lie
                          sparse in partly used 2 MiB blocks (a long-running host's memory) */
    unsigned line;
} sim_buffer_desc;

typedef enum sim_job_kind { SIM_JOB_KERNEL = 0, SIM_JOB_COPY = 1 } sim_job_kind;

typedef struct sim_job_desc {
    char name[SIM_NAME_MAX];
    unsigned gpu; /* index into gpus */
    sim_job_kind kind;
    unsigned buffers[GPUSIM_JOB_MAX_BUFFERS]; /* indices into buffers, all of one process */
    unsigned nbuffers;                        /* >= 1 */
    /* KERNEL: the kernel runs over buffers[0]; kernel.buffer_va is filled in by the runner, every
     * other field comes from the file (touches_per_pass defaults to the buffer's pages). */
    gpusim_kernel_desc_t kernel;
    bool seed_fixed; /* `pattern_seed =` given; else the runner derives kernel.seed from
                               the run's seed and the job (RANDOM, HOTCOLD, CHASE) */
    /* COPY: copy_bytes from buffers[0] to buffers[1] (offset 0 in each). */
    uint64_t copy_bytes;
    gpusim_time_t start;    /* first submission */
    uint64_t repeat;        /* submissions, >= 1 */
    gpusim_time_t interval; /* 0: each submission when the previous job ended; else every
                               interval after start, whether or not the previous has ended */
    unsigned line;
} sim_job_desc;

typedef enum sim_activity_type {
    SIM_ACT_CHURN = 0, /* munmap [offset, offset+len) of the buffer, mmap it again at the same
                          address, write it (the application reusing freed memory) */
    SIM_ACT_MADVISE,   /* madvise(advice) over the range */
    SIM_ACT_MPROTECT,  /* mprotect(prot) over the range, then back to read-write after `hold` */
    SIM_ACT_MREMAP,    /* move the range away and back (two mremaps, `hold` apart) */
    SIM_ACT_FORK,      /* fork the process; parent and child write `parent_writes` /
                          `child_writes` bytes of the range; the child exits after `hold` */
    SIM_ACT_PRESSURE,  /* a new process maps and writes `bytes` (at `rate` bytes/s, 0: at once),
                          keeps it for `hold` (0: to the end), then exits */
    SIM_ACT_COMPACT,   /* compaction of node `node` */
    SIM_ACT_EXIT,      /* the process exits */
    SIM_ACT_COUNT
} sim_activity_type;

typedef struct sim_activity_desc {
    char name[SIM_NAME_MAX];
    sim_activity_type type;
    unsigned process;        /* index into processes (the buffer's, when a buffer is named) */
    int buffer;              /* index into buffers, or -1 (PRESSURE, COMPACT, EXIT) */
    uint64_t offset, len;    /* range within the buffer; len 0 = to the buffer's end */
    gpusim_time_t at;        /* first occurrence */
    gpusim_time_t every;     /* period; 0 = once */
    uint64_t count;          /* occurrences when every > 0; 0 = until the run ends */
    gpusim_madvise_t advice; /* MADVISE */
    unsigned prot;           /* MPROTECT: GPUSIM_PROT_* */
    uint64_t parent_writes;  /* FORK */
    uint64_t child_writes;   /* FORK */
    uint64_t bytes;          /* PRESSURE */
    uint64_t rate;           /* PRESSURE: bytes/s, 0 = at once */
    gpusim_time_t hold;      /* MPROTECT, MREMAP, FORK, PRESSURE */
    unsigned node;           /* COMPACT */
    unsigned line;
} sim_activity_desc;

/* Comparison operators of expectations. */
typedef enum sim_cmp { SIM_LT, SIM_LE, SIM_GT, SIM_GE, SIM_EQ, SIM_NE } sim_cmp;

/* One side of an expectation: factor x metric[@policy], or a constant (metric[0] == '\0'). */
typedef struct sim_term {
    double factor;             /* 1 when not written; the constant itself when metric is empty */
    char metric[64];           /* a record path: "gpu.stall_ns", "notifier.blocked_by.kswapd.max" */
    char policy[SIM_NAME_MAX]; /* "@policy": the record of that policy, same scenario and seed;
                                  "" = the record being checked */
} sim_term;

/* "POLICIES: LHS OP RHS", e.g. "pin: sim_time_ns > 2 * sim_time_ns@pin-persistent". */
typedef struct sim_expect {
    char text[SIM_TEXT_MAX]; /* as written (trimmed); also the record's expectation text */
    bool policies[GPUSIM_POLICY_COUNT]; /* which policies' records it applies to ("*": all) */
    sim_term lhs, rhs;
    sim_cmp op;
    unsigned line;
} sim_expect;

/* The default memory budget of one run: far above every built-in (docs/reliability.md) and far
 * below a machine's memory, so a mistyped `ram = 64TiB` fails at once instead of swapping. */
#define SIM_MEMORY_BUDGET_DEFAULT (UINT64_C(4) << 30)
#define SIM_MEMORY_BUDGET_MIN     (UINT64_C(1) << 20)

typedef struct sim_scenario {
    char name[SIM_NAME_MAX];        /* [scenario] name, default: the file's base name less .ini */
    char description[SIM_TEXT_MAX]; /* one line, shown by `gpusim-bench list` */
    char file[SIM_TEXT_MAX];        /* where it came from ("builtin:NAME" for built-ins) */
    char preset[SIM_PRESET_MAX];    /* the presets, "GPU+HOST" ("nvidia-h100+linux-x86-64") */
    char gpu_preset[SIM_NAME_MAX];  /* the GPU preset of every device ("nvidia-h100") */
    char host_preset[SIM_NAME_MAX]; /* the host preset ("linux-x86-64") */
    gpusim_time_t duration;         /* stop the run here at the latest (default 60 s) */
    uint64_t memory_budget;         /* the simulator's memory budget per run, bytes (default
                               SIM_MEMORY_BUDGET_DEFAULT; gpusim_world_config_t.mem_limit) */
    gpusim_host_config_t host;      /* [host] */
    bool host_explicit[GPUSIM_HOST_PARAM_SLOTS]; /* host.params_[i] was set by name: presets
                                                    leave it */
    sim_gpu_desc gpus[SIM_MAX_GPUS];
    unsigned ngpus; /* >= 1 (a scenario without [gpu] gets gpu0 defaults) */
    sim_process_desc processes[SIM_MAX_PROCESSES];
    unsigned nprocesses;
    sim_buffer_desc buffers[SIM_MAX_BUFFERS];
    unsigned nbuffers;
    sim_job_desc jobs[SIM_MAX_JOBS];
    unsigned njobs;
    sim_activity_desc activities[SIM_MAX_ACTIVITIES];
    unsigned nactivities;
    sim_expect expects[SIM_MAX_EXPECT];
    unsigned nexpects;
} sim_scenario;

/*
 * Parses a scenario from a file, or from text (`name` is what errors call it: "file:line:").
 * Returns 0 and fills *out, or a negative gpusim error with "file:line: message" in err (any
 * error: unknown section or key, bad value or unit, missing or unknown reference, a bound
 * exceeded). On error *out is unspecified and nothing may run. `out` is large (allocate it).
 */
int sim_scenario_parse_file(const char *path, sim_scenario *out, char *err, size_t errlen);
int sim_scenario_parse_text(const char *name, const char *text, sim_scenario *out, char *err,
                            size_t errlen);

/*
 * Applies command-line settings after parsing: `preset` (NULL: keep; else a preset or
 * GPU+HOST, replacing the kinds it names) and NAME=VALUE overrides, where NAME is "host.X",
 * "gpu.X" (every device), "gpu.DEV.X", "driver.X" (every device), or an unqualified X found in
 * exactly one of the host, GPU and driver tables. Parameters set by name, here or in the file,
 * win over every preset. `force` accepts values outside a parameter's plausible range (for
 * deliberate sweeps). Returns 0, or an error with the message in err ("--set foo=1: no such
 * parameter").
 */
int sim_scenario_apply(sim_scenario *s, const char *preset, const sim_setting *sets, size_t nsets,
                       bool force, char *err, size_t errlen);

/* ---- built-in scenarios (the .ini files of sim/scenarios, compiled in) ------------------------------- */

typedef struct sim_builtin {
    const char *name; /* file name less .ini */
    const char *text; /* the file */
} sim_builtin;

/* The built-ins in a fixed order (the default run's order); *n receives the count. */
const sim_builtin *sim_builtins(size_t *n);
/* Looks one up by name; NULL if none. */
const sim_builtin *sim_builtin_find(const char *name);

/* ---- results ------------------------------------------------------------------------------ */

/* A distribution in ns. */
typedef struct sim_summary {
    uint64_t count, total, p50, p99, max;
} sim_summary;

/* An expectation's outcome in one record. */
typedef struct sim_outcome {
    char text[SIM_TEXT_MAX];
    int met; /* 1 met, 0 not met, -1 not evaluated (a record it names is missing) */
} sim_outcome;

/* One run: the JSON record of docs/results.md, field for field. */
typedef struct sim_result {
    /* Where the record sits in its gpusim-bench invocation, so that shards can be merged back
     * into exactly the unsharded order: `index` numbers the (scenario, seed, policy) combinations
     * from 0, `combinations` is how many the invocation had, all shards together. sim_run leaves
     * both 0; the caller sets them. */
    uint64_t index, combinations;
    char scenario[SIM_NAME_MAX];
    char policy[SIM_NAME_MAX];
    char preset[SIM_PRESET_MAX];
    uint64_t seed;
    int status; /* 0, or the run failed: error says why (exit status 1) */
    char error[SIM_TEXT_MAX];
    uint64_t sim_time_ns, wall_time_ns, events; /* the first numeric field (sim_result_fields) */
    uint64_t memory_peak_bytes; /* the simulator's own peak allocation for the run's world */
    struct {
        uint64_t jobs_completed, jobs_failed, busy_ns, stall_ns, faults, fault_batches, tlb_misses,
            tlb_invalidations, preemptions, dma_bytes, contexts_killed;
    } gpu;
    struct {
        uint64_t pinned_pages_peak, reclaimed_pages, reclaim_skipped_pinned, alloc_stall_ns,
            oom_kills, migrations, migration_failures, swap_outs, swap_ins;
    } host;
    struct {
        uint64_t invalidations, blocked_ns;
        sim_summary blocked_by[GPUSIM_INVALIDATOR_COUNT]; /* by gpusim_invalidator_t */
    } notifier;
    struct {
        uint64_t accesses, use_after_free, stale;
    } checker;
    sim_outcome expectations[SIM_MAX_EXPECT];
    unsigned nexpectations;
} sim_result;

/* Invalidator kind names as the JSON uses them ("kswapd", "oom_reaper", ...); NULL past the end. */
const char *sim_invalidator_name(unsigned kind);

/* The numeric fields of a record, in JSON order: every uint64_t of sim_result but `seed` and
 * those before it, by path ("gpu.stall_ns", "notifier.blocked_by.kswapd.p99"). One table serves
 * the JSON writer and reader, the CSV columns and sim_result_field(). */
typedef struct sim_field {
    const char *path;
    size_t offset; /* of a uint64_t in sim_result */
} sim_field;
const sim_field *sim_result_fields(size_t *n);

/* Zeroes *r and sets every expectation's met to -1 (none listed yet). */
void sim_result_init(sim_result *r);

/* ---- JSON (docs/results.md) --------------------------------------------------------------- */

/* Writes {"gpusim_version": ..., "results": [record, ...]} to f. Returns 0, GPUSIM_ENOMEM, or
 * GPUSIM_ENOSPC when the write fails. */
int sim_results_write_json(FILE *f, const sim_result *recs, size_t n);

/* Reads such a file back. *recs is malloc'd (free() it). Returns 0, or an error with
 * "path: message" in err (not JSON, a missing or mistyped field). */
int sim_results_read_json(const char *path, sim_result **recs, size_t *n, char *err, size_t errlen);

/* ---- traces (Chrome trace-event JSON, opens in Perfetto) --------------------------------- */

/* The trace of one run, held in memory until written. */
typedef struct sim_trace sim_trace;

/* A new, empty trace; `label` names its process in the viewer ("steady-reuse/pin/1"). NULL on
 * ENOMEM. */
sim_trace *sim_trace_new(const char *label);
void sim_trace_free(sim_trace *t);
/* Records the world's own spans (invalidations, fault batches, preemptions, jobs, ...) through
 * its trace hook from now on. Returns 0 or a negative error. */
int sim_trace_attach(sim_trace *t, gpusim_world_t *w);
/* A span of the runner's own (the application's host activity): track, name, [begin, end). */
void sim_trace_span(sim_trace *t, const char *track, const char *name, gpusim_time_t begin,
                    gpusim_time_t end);
/* Writes traces[0..n) as one Chrome trace-event JSON document, one process per run, one thread
 * per track (docs/traces.md). Returns 0, GPUSIM_ENOSPC (the write failed), GPUSIM_ENOMEM, or
 * GPUSIM_EINVAL (f NULL). */
int sim_trace_write(FILE *f, sim_trace *const *traces, size_t n);

/* ---- running ------------------------------------------------------------------------------ */

typedef struct sim_run_opts {
    const atomic_int *stop; /* polled between slices of simulated time; non-zero: abandon.
                               Atomic: it is set on one thread (Ctrl-C) while runs read it on
                               others, which a plain or volatile int would make a data race */
    sim_trace *trace;       /* record the run's spans here (NULL: no trace) */
} sim_run_opts;

/*
 * Runs scenario `s` under `policy` with `seed` in a new world, to the end of its jobs and
 * activities or to s->duration, and fills *out (expectations are listed, not evaluated: met = -1).
 * opts may be NULL. When *opts->stop becomes non-zero the run is abandoned and sim_run returns
 * GPUSIM_ECANCELED. Returns 0 (the run happened; out->status says whether the scenario itself
 * failed, e.g. a job refused) or a negative error (ENOMEM, ECANCELED) with *out unspecified.
 * Deterministic: same (s, policy, seed) => same *out, apart from wall_time_ns.
 */
int sim_run(const sim_scenario *s, gpusim_policy_t policy, uint64_t seed, const sim_run_opts *opts,
            sim_result *out);

/* ---- expectations ------------------------------------------------------------------------- */

/* Parses "POLICIES: LHS OP RHS" into *e (e->line is left alone). Returns 0 or GPUSIM_EINVAL with
 * a message (no file:line: the caller adds it). */
int sim_expect_parse(const char *text, sim_expect *e, char *err, size_t errlen);

/* Reads a numeric field of a record by path (the JSON names: "gpu.stall_ns",
 * "notifier.blocked_by.kswapd.p99", "seed"). Returns 0 or GPUSIM_ENOENT. */
int sim_result_field(const sim_result *r, const char *path, double *out);

/*
 * Evaluates, for every record in recs[0..n), the expectation texts it carries against the
 * records of the same (scenario, seed): sets each outcome's met to 1, 0, or -1 when a record an
 * expectation names (term@policy) is not among recs. Texts that do not parse are not met (0).
 * Used after a run and again after a merge, so that sharded and unsharded runs agree.
 */
void sim_expect_eval(sim_result *recs, size_t n);

#endif /* GPUSIM_SIM_H */
