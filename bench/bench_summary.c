/*
 * bench_summary.c -- groups records by scenario and policy and averages over seeds
 * (bench_summary.h).
 *
 * Quadratic in the number of scenarios and policies only (both small); linear in records.
 */
#include "bench_summary.h"

#include "bench_output.h"

#include <stdlib.h>
#include <string.h>

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static size_t distinct_seeds(const bench_group *g)
{
    if (g->nrecs == 0)
        return 0;
    uint64_t *s = malloc(g->nrecs * sizeof *s);
    if (!s)
        return 0;
    for (size_t i = 0; i < g->nrecs; i++)
        s[i] = g->recs[i]->seed;
    qsort(s, g->nrecs, sizeof *s, cmp_u64);
    size_t d = 1;
    for (size_t i = 1; i < g->nrecs; i++)
        d += s[i] != s[i - 1];
    free(s);
    return d;
}

static void add_to_row(bench_row *row, const sim_result *r)
{
    row->runs++;
    if (r->status != 0) {
        row->failed++;
        return;
    }
    row->sim_time_ns += (double)r->sim_time_ns;
    row->stall_ns += (double)r->gpu.stall_ns;
    row->blocked_ns += (double)r->notifier.blocked_ns;
    row->blocked_max_ns += (double)bench_blocked_max(r);
    row->pinned_peak += (double)r->host.pinned_pages_peak;
    row->uaf += (double)r->checker.use_after_free;
    row->stale += (double)r->checker.stale;
}

static void finish_row(bench_row *row)
{
    unsigned ok = row->runs - row->failed;
    if (ok == 0)
        return;
    row->sim_time_ns /= ok;
    row->stall_ns /= ok;
    row->blocked_ns /= ok;
    row->blocked_max_ns /= ok;
    row->pinned_peak /= ok;
    row->uaf /= ok;
    row->stale /= ok;
}

int bench_groups_build(const sim_result *recs, size_t n, bench_group **out, size_t *ngroups)
{
    bench_group *g = calloc(n ? n : 1, sizeof *g);
    size_t ng = 0;
    *out = NULL;
    *ngroups = 0;
    if (!g)
        return GPUSIM_ENOMEM;
    /* First pass: the scenarios and their record counts. */
    size_t *which = malloc((n ? n : 1) * sizeof *which);
    if (!which) {
        free(g);
        return GPUSIM_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;
        while (k < ng && strcmp(g[k].scenario, recs[i].scenario) != 0)
            k++;
        if (k == ng)
            snprintf(g[ng++].scenario, sizeof g[0].scenario, "%s", recs[i].scenario);
        which[i] = k;
        g[k].nrecs++;
    }
    for (size_t k = 0; k < ng; k++) {
        g[k].recs = malloc(g[k].nrecs * sizeof *g[k].recs);
        g[k].rows = calloc(g[k].nrecs, sizeof *g[k].rows);
        if (!g[k].recs || !g[k].rows) {
            free(which);
            bench_groups_free(g, ng);
            return GPUSIM_ENOMEM;
        }
        g[k].nrecs = 0;
    }
    /* Second pass: records into their scenario, and into their policy's row. */
    for (size_t i = 0; i < n; i++) {
        bench_group *grp = &g[which[i]];
        grp->recs[grp->nrecs++] = &recs[i];
        size_t r = 0;
        while (r < grp->nrows && strcmp(grp->rows[r].policy, recs[i].policy) != 0)
            r++;
        if (r == grp->nrows)
            snprintf(grp->rows[grp->nrows++].policy, sizeof grp->rows[0].policy, "%s",
                     recs[i].policy);
        add_to_row(&grp->rows[r], &recs[i]);
    }
    free(which);
    for (size_t k = 0; k < ng; k++) {
        for (size_t r = 0; r < g[k].nrows; r++)
            finish_row(&g[k].rows[r]);
        g[k].nseeds = distinct_seeds(&g[k]);
    }
    *out = g;
    *ngroups = ng;
    return 0;
}

void bench_groups_free(bench_group *g, size_t ngroups)
{
    if (!g)
        return;
    for (size_t k = 0; k < ngroups; k++) {
        free(g[k].recs);
        free(g[k].rows);
    }
    free(g);
}
