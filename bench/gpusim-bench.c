/*
 * gpusim-bench -- plays scenarios under the driver policies and reports what each policy cost
 * (docs/results.md).
 *
 *   gpusim-bench list                          built-in scenarios and the policies
 *   gpusim-bench run [SCENARIO|FILE ...] ...   the runs, in parallel, as a table, CSV or JSON
 *   gpusim-bench merge FILE ...                shard files back into the unsharded result
 *   gpusim-bench report RESULTS.json --out DIR a markdown report with plots
 *   gpusim-bench presets [NAME|--diff A B|--markdown]
 *                                              the cost presets and parameters (docs/cost-model.md)
 *   gpusim-bench perf [--quick] [--only NAME,...] the simulator's own speed against references
 *                                              measured in the same run (docs/performance.md)
 *
 * A run is one (scenario, seed, policy) combination, numbered from 0 in that order (scenarios as
 * given, then seeds as given, then policies as given); the number is the record's `index`, which
 * is what --shard selects on and what merge sorts by. Records are written in combination order
 * whatever --jobs is, so two invocations differ only in wall_time_ns.
 *
 * Exit status: 0 success, 1 a run failed or output could not be written, 2 usage error (nothing
 * ran), 130 interrupted (the completed runs were written).
 */
#include "bench_args.h"
#include "bench_load.h"
#include "bench_merge.h"
#include "bench_output.h"
#include "bench_perf.h"
#include "bench_plot.h"
#include "bench_pool.h"
#include "bench_presets.h"
#include "bench_report.h"
#include "bench_summary.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#define ERRLEN 640

static int usage_error(const char *msg)
{
    fprintf(stderr, "gpusim-bench: %s\n", msg);
    return BENCH_EXIT_USAGE;
}

static int failure(const char *msg)
{
    fprintf(stderr, "gpusim-bench: %s\n", msg);
    return BENCH_EXIT_FAILED;
}

/* ---- list ----------------------------------------------------------------------------------- */

static int cmd_list(void)
{
    size_t n;
    const sim_builtin *b = sim_builtins(&n);
    sim_scenario *s = malloc(sizeof *s);
    int status = BENCH_EXIT_OK;
    if (!s)
        return failure("out of memory");
    size_t w = 8;
    for (size_t i = 0; i < n; i++)
        w = strlen(b[i].name) > w ? strlen(b[i].name) : w;
    printf("Built-in scenarios (gpusim-bench run NAME; none named: all of them, in this order):\n");
    for (size_t i = 0; i < n; i++) {
        char err[ERRLEN] = "";
        int rc = sim_scenario_parse_text(b[i].name, b[i].text, s, err, sizeof err);
        if (rc == 0) {
            printf("  %-*s  %s\n", (int)w, b[i].name, s->description);
        } else {
            printf("  %-*s  (does not parse)\n", (int)w, b[i].name);
            fprintf(stderr, "gpusim-bench: built-in %s: %s\n", b[i].name,
                    err[0] ? err : gpusim_strerror(rc));
            status = BENCH_EXIT_FAILED;
        }
    }
    printf("\nPolicies (--policy LIST; default: all, in this order):\n");
    for (unsigned p = 0; p < GPUSIM_POLICY_COUNT; p++)
        printf("  %s\n", gpusim_policy_name((gpusim_policy_t)p));
    free(s);
    if (fflush(stdout) != 0 || ferror(stdout))
        return failure("cannot write to stdout");
    return status;
}

/* ---- output --------------------------------------------------------------------------------- */

/* Writes the records to --output or stdout. Returns an exit status. */
static int write_results(FILE *out, const char *name, bench_format fmt, const sim_result *recs,
                         size_t n)
{
    int rc = bench_output_write(out, fmt, recs, n);
    if (rc != 0) {
        fprintf(stderr, "gpusim-bench: cannot write the results to %s: %s\n", name,
                rc == GPUSIM_ENOSPC ? strerror(errno) : gpusim_strerror(rc));
        return BENCH_EXIT_FAILED;
    }
    return BENCH_EXIT_OK;
}

static FILE *open_output(const char *path)
{
    FILE *f = path ? fopen(path, "w") : stdout;
    if (!f)
        fprintf(stderr, "gpusim-bench: cannot write %s: %s\n", path, strerror(errno));
    return f;
}

static int close_output(FILE *f, const char *path, int status)
{
    if (f && f != stdout && fclose(f) != 0 && status == BENCH_EXIT_OK) {
        fprintf(stderr, "gpusim-bench: cannot write %s: %s\n", path, strerror(errno));
        return BENCH_EXIT_FAILED;
    }
    return status;
}

/* ---- run ------------------------------------------------------------------------------------ */

typedef struct run_ctx {
    const bench_opts *o;
    sim_scenario **sc;
    size_t nsc;
    bench_run *runs;
    size_t nruns;
    uint64_t combinations;
    sim_result *recs;
    size_t nrecs;
    FILE *out, *trace;
} run_ctx;

/* The record of a finished run: sim_run's, or one that says why sim_run gave none. Identity
 * fields are set from the combination either way, so every record says which run it is. */
static void make_record(const run_ctx *c, const bench_run *r, uint64_t index, sim_result *rec)
{
    if (r->rc == 0) {
        *rec = r->result;
    } else {
        sim_result_init(rec);
        rec->status = r->rc;
        snprintf(rec->error, sizeof rec->error, "the run could not complete: %s",
                 gpusim_strerror(r->rc));
    }
    rec->index = index;
    rec->combinations = c->combinations;
    snprintf(rec->scenario, sizeof rec->scenario, "%s", r->s->name);
    snprintf(rec->policy, sizeof rec->policy, "%s", gpusim_policy_name(r->policy));
    snprintf(rec->preset, sizeof rec->preset, "%s", r->s->preset);
    rec->seed = r->seed;
}

/* Builds the runs of this shard, in combination order. Returns an exit status. */
static int plan_runs(run_ctx *c)
{
    const bench_opts *o = c->o;
    uint64_t per_scenario = (uint64_t)o->nseeds * o->npolicies;
    if (c->nsc == 0)
        return usage_error("no scenario to run");
    if (per_scenario > BENCH_MAX_COMBI / c->nsc) {
        char msg[160];
        snprintf(msg, sizeof msg, "more than %d combinations of scenario, seed and policy",
                 BENCH_MAX_COMBI);
        return usage_error(msg);
    }
    c->combinations = per_scenario * c->nsc;
    uint64_t mine = c->combinations / o->nshards + (o->shard < c->combinations % o->nshards);
    if (mine > BENCH_MAX_RUNS) {
        char msg[200];
        snprintf(msg, sizeof msg,
                 "%" PRIu64 " runs in one invocation (at most %d): split with "
                 "--shard",
                 mine, BENCH_MAX_RUNS);
        return usage_error(msg);
    }
    c->runs = calloc(mine ? mine : 1, sizeof *c->runs);
    if (!c->runs)
        return failure("out of memory for the runs");
    for (uint64_t idx = o->shard; idx < c->combinations; idx += o->nshards) {
        bench_run *r = &c->runs[c->nruns++];
        uint64_t si = idx / per_scenario, rest = idx % per_scenario;
        r->s = c->sc[si];
        r->seed = o->seeds[rest / o->npolicies];
        r->policy = o->policies[rest % o->npolicies];
        if (o->trace) {
            char label[3 * SIM_NAME_MAX + 32];
            snprintf(label, sizeof label, "%s/%s/%" PRIu64, r->s->name,
                     gpusim_policy_name(r->policy), r->seed);
            if (!(r->trace = sim_trace_new(label)))
                return failure("out of memory for the traces");
        }
    }
    return BENCH_EXIT_OK;
}

/* UV_THREADPOOL_SIZE is read once, when the first work is queued: set it before that. */
static void size_thread_pool(const bench_opts *o, size_t nruns)
{
    unsigned jobs = o->jobs ? o->jobs : uv_available_parallelism();
    if (jobs > nruns && nruns > 0)
        jobs = (unsigned)nruns; /* no idle threads */
    if (jobs < 1)
        jobs = 1;
    if (jobs > BENCH_MAX_JOBS)
        jobs = BENCH_MAX_JOBS;
    char buf[16];
    snprintf(buf, sizeof buf, "%u", jobs);
    setenv("UV_THREADPOOL_SIZE", buf, 1);
}

static int finish_run(run_ctx *c, bool interrupted)
{
    const bench_opts *o = c->o;
    char err[ERRLEN];
    bool failed = false;
    c->recs = calloc(c->nruns ? c->nruns : 1, sizeof *c->recs);
    if (!c->recs)
        return failure("out of memory for the results");
    /* Completed runs only, in combination order; their traces likewise. */
    size_t ntraces = 0;
    sim_trace **traces = calloc(c->nruns ? c->nruns : 1, sizeof *traces);
    if (!traces)
        return failure("out of memory for the traces");
    for (size_t i = 0; i < c->nruns; i++) {
        bench_run *r = &c->runs[i];
        if (r->state != BENCH_RUN_DONE)
            continue;
        sim_result *rec = &c->recs[c->nrecs++];
        make_record(c, r, o->shard + i * o->nshards, rec);
        failed |= rec->status != 0;
        if (r->trace)
            traces[ntraces++] = r->trace;
    }
    sim_expect_eval(c->recs, c->nrecs);
    int status =
        write_results(c->out, o->output ? o->output : "stdout", o->format, c->recs, c->nrecs);
    if (status == BENCH_EXIT_OK && c->trace) {
        if (sim_trace_write(c->trace, traces, ntraces) != 0)
            status = failure("cannot write the trace file");
    }
    free(traces);
    if (status == BENCH_EXIT_OK && o->plot && !interrupted) {
        bench_group *g;
        size_t ng;
        if (bench_groups_build(c->recs, c->nrecs, &g, &ng) != 0)
            return failure("out of memory for the plots");
        if (bench_plot_write(o->plot, g, ng, err, sizeof err) != 0)
            status = failure(err);
        bench_groups_free(g, ng);
    }
    if (interrupted)
        return BENCH_EXIT_INTERRUPTED;
    return status != BENCH_EXIT_OK ? status : failed ? BENCH_EXIT_FAILED : BENCH_EXIT_OK;
}

static int cmd_run(const bench_opts *o)
{
    char err[ERRLEN] = "";
    run_ctx c = {.o = o};
    int status;
    if (bench_load_scenarios(o, &c.sc, &c.nsc, err, sizeof err) != 0)
        return usage_error(err);
    status = plan_runs(&c);
    if (status == BENCH_EXIT_OK && o->plot && bench_plot_check(err, sizeof err) != 0)
        status = failure(err);
    /* Outputs are opened before anything runs, so a bad path costs no simulation time. */
    if (status == BENCH_EXIT_OK && !(c.out = open_output(o->output)))
        status = BENCH_EXIT_FAILED;
    if (status == BENCH_EXIT_OK && o->trace && !(c.trace = open_output(o->trace)))
        status = BENCH_EXIT_FAILED;
    if (status == BENCH_EXIT_OK) {
        bool interrupted = false;
        size_thread_pool(o, c.nruns);
        if (bench_pool_run(c.runs, c.nruns, o->progress || isatty(STDERR_FILENO) == 1,
                           &interrupted) != 0)
            status = failure("cannot start the thread pool");
        else
            status = finish_run(&c, interrupted);
    }
    status = close_output(c.out, o->output, status);
    status = close_output(c.trace, o->trace, status);
    for (size_t i = 0; i < c.nruns; i++)
        sim_trace_free(c.runs[i].trace);
    free(c.runs);
    free(c.recs);
    bench_load_free(c.sc, c.nsc);
    return status;
}

/* ---- merge and report ----------------------------------------------------------------------- */

/* Reads every file into one array; *origin[i] is record i's file. Returns an exit status. */
static int read_all(const char *const *files, size_t nfiles, sim_result **recs,
                    const char ***origin, size_t *n)
{
    char err[ERRLEN];
    *recs = NULL;
    *origin = NULL;
    *n = 0;
    for (size_t f = 0; f < nfiles; f++) {
        sim_result *part;
        size_t m;
        if (sim_results_read_json(files[f], &part, &m, err, sizeof err) != 0)
            return usage_error(err);
        sim_result *grown = realloc(*recs, (*n + m + 1) * sizeof *grown);
        const char **og = grown ? realloc(*origin, (*n + m + 1) * sizeof *og) : NULL;
        if (grown)
            *recs = grown;
        if (og)
            *origin = og;
        if (!grown || !og) {
            free(part);
            return failure("out of memory for the records");
        }
        if (m)
            memcpy(*recs + *n, part, m * sizeof *part);
        for (size_t i = 0; i < m; i++)
            (*origin)[*n + i] = files[f];
        *n += m;
        free(part);
    }
    return BENCH_EXIT_OK;
}

static int cmd_merge(const bench_opts *o)
{
    char err[ERRLEN];
    sim_result *recs;
    const char **origin;
    size_t n;
    int status = read_all(o->inputs, o->ninputs, &recs, &origin, &n);
    if (status == BENCH_EXIT_OK && bench_merge(recs, origin, n, err, sizeof err) != 0)
        status = usage_error(err);
    if (status == BENCH_EXIT_OK) {
        FILE *out = open_output(o->output);
        status = out ? write_results(out, o->output ? o->output : "stdout", o->format, recs, n)
                     : BENCH_EXIT_FAILED;
        status = close_output(out, o->output, status);
        for (size_t i = 0; status == BENCH_EXIT_OK && i < n; i++)
            if (recs[i].status != 0)
                status = BENCH_EXIT_FAILED; /* as the unsharded run would have exited */
    }
    free(recs);
    free(origin);
    return status;
}

static int cmd_report(const bench_opts *o)
{
    char err[ERRLEN];
    sim_result *recs;
    size_t n;
    if (sim_results_read_json(o->inputs[0], &recs, &n, err, sizeof err) != 0)
        return usage_error(err);
    int status = BENCH_EXIT_OK;
    if (bench_report_write(o->out, o->inputs[0], recs, n, err, sizeof err) != 0)
        status = failure(err);
    free(recs);
    return status;
}

int main(int argc, char **argv)
{
    bench_opts o;
    char err[ERRLEN];
    int status;
    if (bench_args_parse(argc, argv, &o, err, sizeof err) != 0) {
        bench_args_free(&o);
        return usage_error(err);
    }
    if (o.help) {
        bench_usage(stdout);
        status = BENCH_EXIT_OK;
    } else if (o.version) {
        printf("gpusim-bench %s (allocator %s)\n", gpusim_version_string(),
               gpusim_allocator_name());
        status = BENCH_EXIT_OK;
    } else {
        switch (o.command) {
        case BENCH_CMD_LIST:
            status = cmd_list();
            break;
        case BENCH_CMD_RUN:
            status = cmd_run(&o);
            break;
        case BENCH_CMD_MERGE:
            status = cmd_merge(&o);
            break;
        case BENCH_CMD_REPORT:
            status = cmd_report(&o);
            break;
        case BENCH_CMD_PRESETS:
            status = bench_presets(&o, stdout);
            break;
        case BENCH_CMD_PERF:
            status = bench_perf(&o, stdout);
            break;
        default:
            status = usage_error("missing command");
            break;
        }
    }
    bench_args_free(&o);
    return status;
}
