/*
 * bench_report.c -- the markdown report (bench_report.h).
 *
 * Deterministic: the report holds no date and no wall-clock figure, so regenerating it from the
 * same results gives the same bytes (the README section can be diffed). An expectation's outcome
 * over the runs that carry it: NOT MET if any run did not meet it, else not evaluated if any run
 * could not evaluate it, else met; the runs that missed are named.
 */
#include "bench_report.h"

#include "bench_plot.h"
#include "bench_summary.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A mean duration, human-readable. */
static void fmt_ns(double ns, char *buf, size_t len)
{
    gpusim_duration_format((gpusim_time_t)llround(ns), buf, len);
}

/* A mean count: an integer when it is one, else one decimal. */
static void fmt_count(double v, char *buf, size_t len)
{
    if (v == floor(v))
        snprintf(buf, len, "%.0f", v);
    else
        snprintf(buf, len, "%.1f", v);
}

/* The [scenario] description, for built-ins; "" otherwise. */
static void describe(const char *scenario, char *buf, size_t len)
{
    const sim_builtin *b = sim_builtin_find(scenario);
    buf[0] = '\0';
    if (!b)
        return;
    sim_scenario *s = malloc(sizeof *s);
    char err[SIM_TEXT_MAX];
    if (s && sim_scenario_parse_text(b->name, b->text, s, err, sizeof err) == 0)
        snprintf(buf, len, "%s", s->description);
    free(s);
}

/* Markdown table cells must not contain '|' or line breaks. */
static void md_cell(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '|')
            fputc('\\', f);
        fputc(*s == '\n' ? ' ' : *s, f);
    }
}

static void write_expectations(FILE *f, const bench_group *g)
{
    bool any = false;
    for (size_t i = 0; i < g->nrecs; i++) {
        const sim_result *r = g->recs[i];
        for (unsigned e = 0; e < r->nexpectations; e++) {
            const char *text = r->expectations[e].text;
            /* Each text once, where it first appears. */
            bool seen = false;
            for (size_t j = 0; j <= i && !seen; j++)
                for (unsigned k = 0; k < g->recs[j]->nexpectations && !seen; k++)
                    seen = (j < i || k < e) && strcmp(g->recs[j]->expectations[k].text, text) == 0;
            if (seen)
                continue;
            if (!any)
                fputs("\nExpectations:\n\n", f);
            any = true;
            unsigned met = 0, notmet = 0, uneval = 0;
            char missed[200] = "";
            size_t used = 0;
            for (size_t j = 0; j < g->nrecs; j++)
                for (unsigned k = 0; k < g->recs[j]->nexpectations; k++) {
                    const sim_outcome *o = &g->recs[j]->expectations[k];
                    if (strcmp(o->text, text) != 0)
                        continue;
                    met += o->met == 1;
                    uneval += o->met < 0;
                    if (o->met == 0 && notmet++ < 4 && used < sizeof missed)
                        used += (size_t)snprintf(missed + used, sizeof missed - used,
                                                 "%s%s seed %" PRIu64, notmet > 1 ? ", " : "",
                                                 g->recs[j]->policy, g->recs[j]->seed);
                }
            if (notmet)
                fprintf(f, "- **NOT MET** `%s` (%s%s)\n", text, missed, notmet > 4 ? ", ..." : "");
            else if (uneval)
                fprintf(f, "- not evaluated `%s` (a run it compares with is missing)\n", text);
            else
                fprintf(f, "- met `%s` (%u run%s)\n", text, met, met == 1 ? "" : "s");
        }
    }
    if (!any)
        fputs("\nNo expectations.\n", f);
}

static void write_group(FILE *f, const bench_group *g)
{
    char desc[SIM_TEXT_MAX], name[SIM_NAME_MAX];
    fprintf(f, "\n## %s\n\n", g->scenario);
    describe(g->scenario, desc, sizeof desc);
    if (desc[0])
        fprintf(f, "%s\n\n", desc);
    if (g->nseeds > 1)
        fprintf(f, "Means over %zu seeds.\n\n", g->nseeds);
    else
        fprintf(f, "Seed %" PRIu64 ".\n\n", g->recs[0]->seed);
    fputs("| policy | sim time | GPU stall | invalidators blocked | longest block | pinned peak "
          "(pages) | use after free | stale |\n"
          "|---|--:|--:|--:|--:|--:|--:|--:|\n",
          f);
    for (size_t r = 0; r < g->nrows; r++) {
        const bench_row *row = &g->rows[r];
        char t[32], st[32], bl[32], bm[32], pin[32], uaf[32], stale[32];
        fputs("| ", f);
        md_cell(f, row->policy);
        if (row->failed == row->runs) {
            fputs(" | failed | | | | | | |\n", f);
            continue;
        }
        fmt_ns(row->sim_time_ns, t, sizeof t);
        fmt_ns(row->stall_ns, st, sizeof st);
        fmt_ns(row->blocked_ns, bl, sizeof bl);
        fmt_ns(row->blocked_max_ns, bm, sizeof bm);
        fmt_count(row->pinned_peak, pin, sizeof pin);
        fmt_count(row->uaf, uaf, sizeof uaf);
        fmt_count(row->stale, stale, sizeof stale);
        fprintf(f, "%s | %s | %s | %s | %s | %s | %s | %s |\n", row->failed ? " (some failed)" : "",
                t, st, bl, bm, pin, uaf, stale);
    }
    for (size_t i = 0; i < g->nrecs; i++)
        if (g->recs[i]->status != 0)
            fprintf(f, "\nRun %s seed %" PRIu64 " FAILED: %s\n", g->recs[i]->policy,
                    g->recs[i]->seed, g->recs[i]->error);
    write_expectations(f, g);
    bench_plot_name(g->scenario, name, sizeof name);
    fprintf(f, "\n![%s](%s.svg)\n\n[PNG](%s.png) · [gnuplot script](%s.gp)\n", g->scenario, name,
            name, name);
}

int bench_report_write(const char *dir, const char *source, const sim_result *recs, size_t n,
                       char *err, size_t errlen)
{
    bench_group *g;
    size_t ng;
    int rc;
    if ((rc = bench_plot_check(err, errlen)) != 0)
        return rc;
    if ((rc = bench_groups_build(recs, n, &g, &ng)) != 0) {
        snprintf(err, errlen, "out of memory");
        return rc;
    }
    if ((rc = bench_plot_write(dir, g, ng, err, errlen)) != 0) {
        bench_groups_free(g, ng);
        return rc;
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/report.md", dir);
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        bench_groups_free(g, ng);
        return GPUSIM_ENOSPC;
    }
    unsigned failed = 0;
    for (size_t i = 0; i < n; i++)
        failed += recs[i].status != 0;
    const char *base = strrchr(source, '/');
    fprintf(f,
            "# gpusim-bench results\n\n"
            "%zu runs of %zu scenario%s from `%s`%s, reported by gpusim %s. Times are simulated; "
            "docs/results.md defines every figure.\n",
            n, ng, ng == 1 ? "" : "s", base ? base + 1 : source,
            failed ? " (SOME RUNS FAILED)" : "", gpusim_version_string());
    for (size_t k = 0; k < ng; k++)
        write_group(f, &g[k]);
    bench_groups_free(g, ng);
    bool bad = ferror(f) != 0;
    if (fclose(f) != 0 || bad) {
        snprintf(err, errlen, "cannot write %s", path);
        return GPUSIM_ENOSPC;
    }
    return 0;
}
