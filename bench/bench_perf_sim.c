/*
 * bench_perf_sim.c -- the built-in scenarios at their default size (bench_perf.h):
 *
 *   scenarios     simulated time / wall time of every built-in scenario under every policy
 *                 (sim_run, seed 1, one thread); a scenario's figure is its slowest policy's, the
 *                 row is the slowest scenario's, and each scenario also gets a row of its own;
 *   long-compute  wall seconds of long-compute-pressure (about one simulated hour of compute),
 *                 its slowest policy.
 *
 * --quick runs each scenario once under the `none` policy only. The full run repeats each
 * (scenario, policy) PERF_REPS times; long-compute reuses the scenarios' measurements of it when
 * both are selected, so the slowest scenario is not run twice.
 */
#include "bench_perf.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LONG_NAME "long-compute-pressure"

/* The long-compute-pressure figures of the last scenarios measurement (median per policy). */
static struct {
    bool have;
    double wall_s, sim_s;
    char policy[32];
} long_cache;

/* Median wall and sim seconds of `reps` runs of s under policy p. Returns 0 or an error. */
static int run_scenario(const sim_scenario *s, gpusim_policy_t p, int reps, double *wall_s,
                        double *sim_s)
{
    double wall[PERF_REPS];
    sim_result *r = malloc(sizeof *r);
    int rc = r ? 0 : GPUSIM_ENOMEM;
    for (int i = 0; i < reps && rc == 0; i++) {
        uint64_t t0 = perf_now();
        if ((rc = sim_run(s, p, 1, NULL, r)) == 0 && r->status != 0)
            rc = r->status;
        wall[i] = (double)(perf_now() - t0) / 1e9;
        *sim_s = (double)r->sim_time_ns / 1e9;
    }
    if (rc == 0)
        *wall_s = perf_median(wall, (size_t)reps);
    free(r);
    return rc;
}

/* Finds the slowest policy of scenario s (the lowest sim/wall). */
static int slowest_policy(perf_ctx *c, const sim_scenario *s, double *wall_s, double *sim_s,
                          char *policy, size_t len)
{
    unsigned np = c->quick ? 1 : GPUSIM_POLICY_COUNT;
    double worst = INFINITY;
    for (unsigned p = 0; p < np; p++) {
        gpusim_policy_t pol = c->quick ? GPUSIM_POLICY_NONE : (gpusim_policy_t)p;
        double w, t;
        int rc = run_scenario(s, pol, c->quick ? 1 : PERF_REPS, &w, &t);
        if (rc)
            return rc;
        if (t / w < worst) {
            worst = t / w;
            *wall_s = w;
            *sim_s = t;
            snprintf(policy, len, "%s", gpusim_policy_name(pol));
        }
    }
    return 0;
}

static int parse_builtin(const sim_builtin *b, sim_scenario *s)
{
    char err[256];
    int rc = sim_scenario_parse_text(b->name, b->text, s, err, sizeof err);
    if (rc)
        fprintf(stderr, "gpusim-bench perf: built-in %s: %s\n", b->name, err);
    return rc;
}

void perf_scenarios(perf_ctx *c)
{
    size_t n;
    const sim_builtin *b = sim_builtins(&n);
    sim_scenario *s = malloc(sizeof *s);
    perf_row *rows = calloc(n ? n : 1, sizeof *rows);
    double worst = INFINITY;
    size_t wi = 0;
    if (!s || !rows) {
        free(s);
        free(rows);
        return perf_fail(c, "scenarios", GPUSIM_ENOMEM);
    }
    for (size_t i = 0; i < n; i++) {
        double wall, sim;
        char policy[32];
        int rc = parse_builtin(&b[i], s);
        if (rc == 0)
            rc = slowest_policy(c, s, &wall, &sim, policy, sizeof policy);
        if (rc) {
            perf_fail(c, b[i].name, rc);
            goto out;
        }
        perf_row *r = &rows[i];
        snprintf(r->name, sizeof r->name, "  %s", b[i].name);
        snprintf(r->unit, sizeof r->unit, "s");
        r->measured = sim;
        r->reference = wall;
        r->ratio = sim / wall;
        r->goal = PERF_GOAL_RATIO_MIN;
        r->target = 10;
        snprintf(r->note, sizeof r->note, "simulated / wall seconds, slowest policy: %s", policy);
        if (r->ratio < worst) {
            worst = r->ratio;
            wi = i;
        }
        if (strcmp(b[i].name, LONG_NAME) == 0) {
            long_cache.have = true;
            long_cache.wall_s = wall;
            long_cache.sim_s = sim;
            snprintf(long_cache.policy, sizeof long_cache.policy, "%s", policy);
        }
    }
    if (n) {
        perf_row top = rows[wi];
        snprintf(top.name, sizeof top.name, "every built-in scenario (slowest)");
        snprintf(top.note, sizeof top.note, "the slowest: %s under %s; %s", b[wi].name,
                 strstr(rows[wi].note, ": ") + 2,
                 c->quick ? "quick: policy none only, one run each"
                          : "median of the repetitions per (scenario, policy)");
        perf_add(c, &top);
        for (size_t i = 0; i < n; i++)
            perf_add(c, &rows[i]);
    }
out:
    free(s);
    free(rows);
}

void perf_long_compute(perf_ctx *c)
{
    if (!long_cache.have) {
        const sim_builtin *b = sim_builtin_find(LONG_NAME);
        sim_scenario *s = malloc(sizeof *s);
        int rc = !b ? GPUSIM_ENOENT : !s ? GPUSIM_ENOMEM : parse_builtin(b, s);
        if (rc == 0)
            rc = slowest_policy(c, s, &long_cache.wall_s, &long_cache.sim_s, long_cache.policy,
                                sizeof long_cache.policy);
        free(s);
        if (rc)
            return perf_fail(c, "long-compute", rc);
        long_cache.have = true;
    }
    perf_addf(c, LONG_NAME " wall time", "s", long_cache.wall_s, NAN, NAN, PERF_GOAL_MAX, 10,
              "%.0f simulated seconds, slowest policy: %s%s", long_cache.sim_s, long_cache.policy,
              c->quick ? "; quick: policy none only" : "");
}
