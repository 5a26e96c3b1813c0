/*
 * bench_perf.c -- `gpusim-bench perf` (bench_perf.h): the list of measurements, --only, the rows'
 * bookkeeping and helpers, and the table and JSON outputs.
 *
 * Invariants: every row printed carries its own target and verdict, computed here from the goal
 * (perf_meets), so no measurement judges itself; the exit status says only whether every
 * measurement could run (0) or one failed to set up (1), never whether a target was met.
 */
#include "bench_perf.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

typedef struct perf_measurement {
    const char *name; /* for --only */
    perf_fn fn;
    const char *what;
} perf_measurement;

/* In the table order; scaling last. */
static const perf_measurement measurements[] = {
    {"events", perf_event_queue, "event queue schedule+dispatch"},
    {"tlb-hit", perf_tlb_hit, "GPU translation, TLB hit"},
    {"page-walk", perf_page_walk, "GPU translation, page walk"},
    {"gpu-fault", perf_gpu_fault, "GPU fault end to end"},
    {"invalidate", perf_invalidate, "invalidating a mirrored 1 GiB range"},
    {"host-fault", perf_host_fault, "simulated anonymous host fault"},
    {"notifier", perf_notifier, "notifier lookup, 1 M subscriptions"},
    {"frame-memory", perf_frame_memory, "memory per simulated host frame"},
    {"big-world", perf_big_world, "64 GiB host, 16 GiB mirrored: resident memory"},
    {"scenarios", perf_scenarios, "built-in scenarios: simulated / wall time"},
    {"long-compute", perf_long_compute, "long-compute-pressure wall time"},
    {"scaling", perf_scaling, "growth with size (exponents)"},
};
#define NMEAS (sizeof measurements / sizeof measurements[0])

/* ---- helpers -------------------------------------------------------------------------------- */

uint64_t perf_now(void)
{
    return uv_hrtime();
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double perf_median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double perf_exponent(double a, double b, double na, double nb)
{
    return log(b / a) / log(nb / na);
}

double perf_nlogn_exponent(double na, double nb)
{
    return perf_exponent(na * log2(na), nb * log2(nb), na, nb);
}

/* A field of /proc/self/status in kB ("VmHWM:"), as bytes; 0 if absent. */
static uint64_t status_kb(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    uint64_t v = 0;
    size_t len = strlen(field);
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, field, len) == 0) {
            v = strtoull(line + len, NULL, 10) * 1024;
            break;
        }
    fclose(f);
    return v;
}

uint64_t perf_peak_rss(void)
{
    return status_kb("VmHWM:");
}

uint64_t perf_rss(void)
{
    return status_kb("VmRSS:");
}

void perf_add(perf_ctx *c, const perf_row *r)
{
    if (c->nrows == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 32;
        perf_row *g = realloc(c->rows, cap * sizeof *g);
        if (!g) {
            perf_fail(c, "rows", GPUSIM_ENOMEM);
            return;
        }
        c->rows = g;
        c->cap = cap;
    }
    c->rows[c->nrows++] = *r;
}

void perf_addf(perf_ctx *c, const char *name, const char *unit, double measured, double reference,
               double ratio, perf_goal goal, double target, const char *fmt, ...)
{
    perf_row r;
    va_list ap;
    memset(&r, 0, sizeof r);
    snprintf(r.name, sizeof r.name, "%s", name);
    snprintf(r.unit, sizeof r.unit, "%s", unit);
    r.measured = measured;
    r.reference = reference;
    r.ratio = ratio;
    r.goal = goal;
    r.target = target;
    va_start(ap, fmt);
    vsnprintf(r.note, sizeof r.note, fmt, ap);
    va_end(ap);
    perf_add(c, &r);
}

void perf_fail(perf_ctx *c, const char *what, int rc)
{
    fprintf(stderr, "gpusim-bench perf: %s: %s\n", what, gpusim_strerror(rc));
    c->failed = 1;
}

int perf_meets(const perf_row *r)
{
    switch (r->goal) {
    case PERF_GOAL_NONE:
        return -1;
    case PERF_GOAL_MIN:
        return r->measured >= r->target;
    case PERF_GOAL_MAX:
        return r->measured <= r->target;
    case PERF_GOAL_RATIO_MAX:
        return r->ratio <= r->target;
    case PERF_GOAL_RATIO_LT:
        return r->ratio < r->target;
    case PERF_GOAL_RATIO_MIN:
        return r->ratio >= r->target;
    }
    return -1;
}

/* ---- output --------------------------------------------------------------------------------- */

/* A number with an SI suffix (binary for bytes), or "-" for NAN. */
static void fmt_num(char *buf, size_t len, double v, const char *unit)
{
    bool bytes = strstr(unit, "bytes") != NULL;
    double a = fabs(v);
    if (isnan(v))
        snprintf(buf, len, "-");
    else if (bytes && a >= 1024.0 * 1024 * 1024)
        snprintf(buf, len, "%.2f Gi", v / (1024.0 * 1024 * 1024));
    else if (bytes && a >= 1024.0 * 1024)
        snprintf(buf, len, "%.1f Mi", v / (1024.0 * 1024));
    else if (!bytes && a >= 1e9)
        snprintf(buf, len, "%.2f G", v / 1e9);
    else if (!bytes && a >= 1e6)
        snprintf(buf, len, "%.2f M", v / 1e6);
    else if (a >= 100 || v == floor(v))
        snprintf(buf, len, "%.0f", v);
    else
        snprintf(buf, len, "%.3g", v);
}

static void fmt_target(char *buf, size_t len, const perf_row *r)
{
    char n[32];
    fmt_num(n, sizeof n, r->target, r->unit);
    switch (r->goal) {
    case PERF_GOAL_NONE:
        snprintf(buf, len, "-");
        break;
    case PERF_GOAL_MIN:
        snprintf(buf, len, ">= %s", n);
        break;
    case PERF_GOAL_MAX:
        snprintf(buf, len, "<= %s", n);
        break;
    case PERF_GOAL_RATIO_MAX:
        snprintf(buf, len, "ratio <= %g", r->target);
        break;
    case PERF_GOAL_RATIO_LT:
        snprintf(buf, len, "ratio < %g", r->target);
        break;
    case PERF_GOAL_RATIO_MIN:
        snprintf(buf, len, "ratio >= %g", r->target);
        break;
    }
}

static const char *verdict(const perf_row *r)
{
    int m = perf_meets(r);
    return m < 0 ? "" : m ? "meets" : "misses";
}

static void write_table(FILE *f, const perf_ctx *c)
{
    fprintf(f, "gpusim %s perf (%s; allocator %s; medians of %d repetitions)\n\n",
            gpusim_version_string(), c->quick ? "quick: small sizes" : "full",
            gpusim_allocator_name(), PERF_REPS);
    fprintf(f, "%-44s %11s %11s %-9s %9s %-16s %s\n", "measurement", "measured", "reference",
            "unit", "ratio", "target", "result");
    for (size_t i = 0; i < c->nrows; i++) {
        const perf_row *r = &c->rows[i];
        char m[32], ref[32], ratio[32], tgt[48];
        fmt_num(m, sizeof m, r->measured, r->unit);
        fmt_num(ref, sizeof ref, r->reference, r->unit);
        if (isnan(r->ratio))
            snprintf(ratio, sizeof ratio, "-");
        else
            snprintf(ratio, sizeof ratio, "%.3g", r->ratio);
        fmt_target(tgt, sizeof tgt, r);
        fprintf(f, "%-44s %11s %11s %-9s %9s %-16s %s\n", r->name, m, ref, r->unit, ratio, tgt,
                verdict(r));
        if (r->note[0])
            fprintf(f, "    %s\n", r->note);
    }
}

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fprintf(f, "\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            fprintf(f, "\\u%04x", (unsigned)(unsigned char)*s);
        else
            fputc(*s, f);
    }
    fputc('"', f);
}

static void json_number(FILE *f, double v)
{
    if (isnan(v) || isinf(v))
        fputs("null", f);
    else
        fprintf(f, "%.17g", v);
}

static void write_json(FILE *f, const perf_ctx *c)
{
    static const char *const goals[] = {"none", "min", "max", "ratio_max", "ratio_lt", "ratio_min"};
    fprintf(f, "{\n  \"gpusim_version\": ");
    json_string(f, gpusim_version_string());
    fprintf(f, ",\n  \"allocator\": ");
    json_string(f, gpusim_allocator_name());
    fprintf(f, ",\n  \"quick\": %s,\n  \"repetitions\": %d,\n  \"rows\": [",
            c->quick ? "true" : "false", PERF_REPS);
    for (size_t i = 0; i < c->nrows; i++) {
        const perf_row *r = &c->rows[i];
        int m = perf_meets(r);
        fprintf(f, "%s\n    {\"name\": ", i ? "," : "");
        json_string(f, r->name);
        fprintf(f, ", \"unit\": ");
        json_string(f, r->unit);
        fprintf(f, ", \"measured\": ");
        json_number(f, r->measured);
        fprintf(f, ", \"reference\": ");
        json_number(f, r->reference);
        fprintf(f, ", \"ratio\": ");
        json_number(f, r->ratio);
        fprintf(f, ", \"goal\": \"%s\", \"target\": ", goals[r->goal]);
        json_number(f, r->goal == PERF_GOAL_NONE ? NAN : r->target);
        fprintf(f, ", \"meets\": %s, \"note\": ", m < 0 ? "null" : m ? "true" : "false");
        json_string(f, r->note);
        fputc('}', f);
    }
    fprintf(f, "\n  ]\n}\n");
}

/* ---- the command ---------------------------------------------------------------------------- */

/* Marks in sel[] the measurements `only` names (NULL: all). Returns 0, or -1 with a one-line
 * message on stderr naming the measurements that exist. */
static int select_measurements(const char *only, bool *sel)
{
    char buf[512];
    char *save = NULL;
    for (size_t i = 0; i < NMEAS; i++)
        sel[i] = only == NULL;
    if (!only)
        return 0;
    if (strlen(only) >= sizeof buf) {
        fprintf(stderr, "gpusim-bench: --only: list too long\n");
        return -1;
    }
    strcpy(buf, only);
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        size_t i = 0;
        while (i < NMEAS && strcmp(measurements[i].name, tok) != 0)
            i++;
        if (i == NMEAS) {
            fprintf(stderr, "gpusim-bench: --only: unknown measurement '%s' (expected", tok);
            for (size_t j = 0; j < NMEAS; j++)
                fprintf(stderr, "%s %s", j ? "," : "", measurements[j].name);
            fprintf(stderr, ")\n");
            return -1;
        }
        sel[i] = true;
    }
    return 0;
}

int bench_perf(const bench_opts *o, FILE *out)
{
    bool sel[NMEAS];
    perf_ctx c;
    memset(&c, 0, sizeof c);
    c.quick = o->quick;
    if (select_measurements(o->only, sel) != 0)
        return BENCH_EXIT_USAGE;
    for (size_t i = 0; i < NMEAS; i++)
        if (sel[i]) {
            fprintf(stderr, "perf: %s ...\n", measurements[i].what);
            measurements[i].fn(&c);
        }
    if (o->format == BENCH_FMT_JSON)
        write_json(out, &c);
    else
        write_table(out, &c);
    free(c.rows);
    if (fflush(out) != 0 || ferror(out)) {
        fprintf(stderr, "gpusim-bench: cannot write the results\n");
        return BENCH_EXIT_FAILED;
    }
    return c.failed ? BENCH_EXIT_FAILED : BENCH_EXIT_OK;
}
