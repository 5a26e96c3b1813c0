/*
 * bench_output.c -- the table, CSV and JSON outputs of gpusim-bench (bench_output.h).
 *
 * The table's column widths follow the widest cell, with two spaces between columns, or one when
 * that keeps the line within 100 columns. CSV follows RFC 4180: a header row, then one row per
 * record with the same column count; a cell is quoted only when it holds a comma, quote or line
 * break. JSON is sim_results_write_json's, so every format reads the same records.
 */
#include "bench_output.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

unsigned bench_expect_met(const sim_result *r)
{
    unsigned met = 0;
    for (unsigned i = 0; i < r->nexpectations && i < SIM_MAX_EXPECT; i++)
        met += r->expectations[i].met == 1;
    return met;
}

uint64_t bench_blocked_max(const sim_result *r)
{
    uint64_t m = 0;
    for (unsigned k = 0; k < GPUSIM_INVALIDATOR_COUNT; k++)
        if (r->notifier.blocked_by[k].max > m)
            m = r->notifier.blocked_by[k].max;
    return m;
}

/* ---- table ---------------------------------------------------------------------------------- */

enum {
    COL_SCENARIO,
    COL_POLICY,
    COL_SEED,
    COL_TIME,
    COL_STALL,
    COL_BLOCKED,
    COL_PINNED,
    COL_UAF,
    COL_STALE,
    COL_EXPECT,
    NCOLS
};

static const char *const col_head[NCOLS] = {"scenario",  "policy", "seed", "sim time", "GPU stall",
                                            "inval max", "pinned", "uaf",  "stale",    "expect"};
/* Text columns are left-aligned, numbers right-aligned. */
static const bool col_left[NCOLS] = {true, true};

#define CELL 40

static void table_cells(const sim_result *r, char cell[NCOLS][CELL])
{
    snprintf(cell[COL_SCENARIO], CELL, "%s", r->scenario);
    snprintf(cell[COL_POLICY], CELL, "%s", r->policy);
    snprintf(cell[COL_SEED], CELL, "%" PRIu64, r->seed);
    gpusim_duration_format(r->sim_time_ns, cell[COL_TIME], CELL);
    gpusim_duration_format(r->gpu.stall_ns, cell[COL_STALL], CELL);
    gpusim_duration_format(bench_blocked_max(r), cell[COL_BLOCKED], CELL);
    snprintf(cell[COL_PINNED], CELL, "%" PRIu64, r->host.pinned_pages_peak);
    snprintf(cell[COL_UAF], CELL, "%" PRIu64, r->checker.use_after_free);
    snprintf(cell[COL_STALE], CELL, "%" PRIu64, r->checker.stale);
    if (r->status != 0)
        snprintf(cell[COL_EXPECT], CELL, "FAILED");
    else
        snprintf(cell[COL_EXPECT], CELL, "%u/%u", bench_expect_met(r), r->nexpectations);
}

static void table_row(FILE *f, char cell[NCOLS][CELL], const size_t *width, int gap)
{
    for (int c = 0; c < NCOLS; c++) {
        int w = (int)width[c];
        bool last = c == NCOLS - 1;
        if (col_left[c] && last)
            fputs(cell[c], f); /* no trailing blanks */
        else if (col_left[c])
            fprintf(f, "%-*s", w, cell[c]);
        else
            fprintf(f, "%*s", w, cell[c]);
        if (!last)
            fprintf(f, "%*s", gap, "");
    }
    fputc('\n', f);
}

static void write_table(FILE *f, const sim_result *recs, size_t n)
{
    char cell[NCOLS][CELL];
    size_t width[NCOLS], total = 0;
    for (int c = 0; c < NCOLS; c++)
        width[c] = strlen(col_head[c]);
    for (size_t i = 0; i < n; i++) {
        table_cells(&recs[i], cell);
        for (int c = 0; c < NCOLS; c++)
            if (strlen(cell[c]) > width[c])
                width[c] = strlen(cell[c]);
    }
    for (int c = 0; c < NCOLS; c++)
        total += width[c];
    int gap = total + 2 * (NCOLS - 1) <= 100 ? 2 : 1;
    for (int c = 0; c < NCOLS; c++)
        snprintf(cell[c], CELL, "%s", col_head[c]);
    table_row(f, cell, width, gap);
    for (size_t i = 0; i < n; i++) {
        table_cells(&recs[i], cell);
        table_row(f, cell, width, gap);
    }
    if (n == 0)
        fputs("(no runs)\n", f);
    fputs("\nsim time: simulated time to the end of the run; GPU stall: time jobs waited for\n"
          "their memory; inval max: longest wait of one invalidator on the drivers; pinned: peak\n"
          "pinned pages; uaf, stale: coherence violations; expect: expectations met / total.\n",
          f);

    /* What needs a reader's attention, below the table: failed runs, then unmet expectations,
     * each list cut at LIST_MAX lines so that a large sweep stays readable. */
    enum { LIST_MAX = 20 };
    unsigned unevaluated = 0, failed = 0, notmet = 0;
    for (size_t i = 0; i < n; i++) {
        const sim_result *r = &recs[i];
        if (r->status != 0 && failed++ < LIST_MAX)
            fprintf(f, "FAILED   %s/%s/%" PRIu64 ": %s\n", r->scenario, r->policy, r->seed,
                    r->error);
    }
    for (size_t i = 0; i < n; i++) {
        const sim_result *r = &recs[i];
        for (unsigned e = 0; e < r->nexpectations && e < SIM_MAX_EXPECT; e++) {
            if (r->expectations[e].met == 0 && notmet++ < LIST_MAX)
                fprintf(f, "NOT MET  %s/%s/%" PRIu64 ": %s\n", r->scenario, r->policy, r->seed,
                        r->expectations[e].text);
            unevaluated += r->expectations[e].met < 0;
        }
    }
    if (failed > LIST_MAX)
        fprintf(f, "... %u failed runs in all\n", failed);
    if (notmet > LIST_MAX)
        fprintf(f, "... %u expectation outcomes not met in all\n", notmet);
    if (unevaluated)
        fprintf(f,
                "%u expectation outcome(s) not evaluated: a record they compare with was not run\n",
                unevaluated);
}

/* ---- CSV ------------------------------------------------------------------------------------ */

static void csv_cell(FILE *f, const char *s, bool first)
{
    if (!first)
        fputc(',', f);
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void write_csv(FILE *f, const sim_result *recs, size_t n)
{
    size_t nf;
    const sim_field *fields = sim_result_fields(&nf);
    fputs("scenario,policy,seed,preset,status", f);
    for (size_t i = 0; i < nf; i++)
        csv_cell(f, fields[i].path, false);
    fputs(",expectations_met,expectations_total\n", f);
    for (size_t i = 0; i < n; i++) {
        const sim_result *r = &recs[i];
        csv_cell(f, r->scenario, true);
        csv_cell(f, r->policy, false);
        fprintf(f, ",%" PRIu64, r->seed);
        csv_cell(f, r->preset, false);
        fprintf(f, ",%d", r->status);
        for (size_t k = 0; k < nf; k++) {
            uint64_t v;
            memcpy(&v, (const char *)r + fields[k].offset, sizeof v);
            fprintf(f, ",%" PRIu64, v);
        }
        fprintf(f, ",%u,%u\n", bench_expect_met(r), r->nexpectations);
    }
}

int bench_output_write(FILE *f, bench_format fmt, const sim_result *recs, size_t n)
{
    switch (fmt) {
    case BENCH_FMT_JSON:
        return sim_results_write_json(f, recs, n);
    case BENCH_FMT_CSV:
        write_csv(f, recs, n);
        break;
    case BENCH_FMT_TABLE:
        write_table(f, recs, n);
        break;
    }
    return fflush(f) != 0 || ferror(f) ? GPUSIM_ENOSPC : 0;
}
