/*
 * bench_args.h -- gpusim-bench's command line: the commands, their options, the usage text and
 * the exit statuses.
 *
 * Parsing only checks what can be checked without reading a scenario: option names and where
 * they apply, numbers, --shard, --format, policy names, seed lists, how many arguments a
 * command takes (the presets command checks preset names itself, bench_presets.h). Everything it
 * accepts is copied or points into argv, which outlives the options.
 */
#ifndef GPUSIM_BENCH_ARGS_H
#define GPUSIM_BENCH_ARGS_H

#include "sim.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Exit statuses (docs/results.md). */
#define BENCH_EXIT_OK          0
#define BENCH_EXIT_FAILED      1   /* a run failed, or output could not be written */
#define BENCH_EXIT_USAGE       2   /* bad command line or scenario: nothing ran */
#define BENCH_EXIT_INTERRUPTED 130 /* Ctrl-C: the completed runs were written */

/* Bounds that keep a mistyped number from exhausting memory. */
#define BENCH_MAX_JOBS  1024      /* libuv's own thread-pool limit */
#define BENCH_MAX_SEEDS 1000000   /* --seeds N */
#define BENCH_MAX_RUNS  100000    /* runs in one invocation (one shard), each holds a record */
#define BENCH_MAX_COMBI 100000000 /* combinations of all shards together */

typedef enum bench_command {
    BENCH_CMD_NONE = 0, /* --help or --version alone */
    BENCH_CMD_LIST,
    BENCH_CMD_RUN,
    BENCH_CMD_MERGE,
    BENCH_CMD_REPORT,
    BENCH_CMD_PRESETS,
    BENCH_CMD_PERF,
} bench_command;

typedef enum bench_format { BENCH_FMT_TABLE = 0, BENCH_FMT_CSV, BENCH_FMT_JSON } bench_format;

typedef struct bench_opts {
    bench_command command;
    bool help, version;
    const char **inputs; /* positional arguments: scenarios (run), files (merge, report), presets */
    size_t ninputs;
    gpusim_policy_t policies[GPUSIM_POLICY_COUNT]; /* in the given order, no repeats */
    size_t npolicies;
    uint64_t *seeds; /* malloc'd, in the given order, no repeats */
    size_t nseeds;
    const char *preset; /* NULL: the scenario's own */
    sim_setting sets[SIM_MAX_SETTINGS];
    size_t nsets;
    bool force;             /* --force: --set values may lie outside the plausible ranges */
    uint64_t memory_budget; /* --memory-budget, bytes; 0: each scenario's own */
    unsigned jobs;          /* 0: uv_available_parallelism() */
    bench_format format;
    const char *output;      /* NULL: stdout */
    const char *plot;        /* --plot DIR */
    const char *trace;       /* --trace FILE */
    const char *out;         /* report --out DIR */
    uint64_t shard, nshards; /* --shard I/N; 0/1 when not given */
    bool progress;           /* --progress: report progress even when stderr is no terminal */
    bool diff, markdown;     /* presets --diff A B, presets --markdown */
    bool quick;              /* perf --quick: small sizes (the smoke test) */
    const char *only;        /* perf --only NAME,...: the measurements to run (NULL: all) */
} bench_opts;

/*
 * Parses argv[1..argc) into *o (which it initialises). Returns 0, or GPUSIM_EINVAL with a one-line
 * message in err (an unknown option, a missing value, an option the command does not take, a bad
 * number, --shard or policy). Free with bench_args_free() either way.
 */
int bench_args_parse(int argc, char **argv, bench_opts *o, char *err, size_t errlen);
void bench_args_free(bench_opts *o);

/* The usage text (--help). */
void bench_usage(FILE *f);

/* Strict unsigned decimal: digits only, no sign, no overflow. Returns 0 or GPUSIM_EINVAL. */
int bench_parse_u64(const char *text, uint64_t *out);

#endif /* GPUSIM_BENCH_ARGS_H */
