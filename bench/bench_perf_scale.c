/*
 * bench_perf_scale.c -- how the simulator's cost grows with the size of the problem (bench_perf.h;
 * the "Also: scaling"). Four series, each at three sizes n (a factor 4 or more apart),
 * each cost the median of PERF_REPS runs:
 *
 *   buffer size     one refault sweep over a populated buffer of n pages (n faults);
 *   subscriptions   n random invalidations of a notifier domain holding n subscriptions;
 *   processes       n processes, each with a refault driver, mapping, writing, registering and
 *                   sweeping a 1 MiB buffer, in one world on one GPU;
 *   pressure        a host of n frames whose one process writes 2n pages, so n pages are reclaimed
 *                   (swapped out) while it writes.
 *
 * Each series prints the cost per size, the growth exponent log(cost ratio) / log(size ratio)
 * between successive sizes and overall, and n log n's exponent over the same sizes as the
 * target: a series whose exponent exceeds it grows faster than n log n and is flagged.
 */
#include "bench_perf.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NSIZES 3
#define PAGE   GPUSIM_HOST_PAGE_SIZE

typedef int (*cost_fn)(uint64_t n, double *ns);

static int cost_buffer(uint64_t n, double *ns)
{
    uint64_t faults;
    return perf_refault_sweep(n, ns, &faults);
}

static int cost_subscriptions(uint64_t n, double *ns)
{
    uint64_t cb;
    double per = perf_notifier_invalidation((size_t)n, (size_t)n, false, &cb);
    if (per < 0)
        return GPUSIM_ENOMEM;
    *ns = per * (double)n;
    return 0;
}

/*
 * The subscriptions series' control: the same number of random 4 KiB lookups over n disjoint
 * 64 KiB intervals with 64 KiB gaps, answered by a binary search of a sorted array of starts, each
 * hit touching its interval's 128-byte record (a subscription is about that size) as a callback
 * would. An O(log n) lookup with no simulator around it: its exponent is what n log n costs on
 * this machine once the data outgrows the caches, which the flat n log n exponent ignores.
 */
static volatile uint64_t ref_hits; /* keeps the lookups' result alive */

typedef struct ref_rec {
    uint64_t start, end, hits;
    uint8_t pad[104];
} ref_rec;

static int cost_subscriptions_ref(uint64_t n, double *ns)
{
    const uint64_t span = 64 * GPUSIM_KIB, pages = n * 2 * span / PAGE;
    uint64_t *starts = malloc(n * sizeof *starts), x = UINT64_C(0x9E3779B97F4A7C15), t0;
    ref_rec **recs = calloc(n, sizeof *recs);
    uint64_t hits = 0;
    int rc = starts && recs ? 0 : GPUSIM_ENOMEM;
    for (uint64_t i = 0; i < n && rc == 0; i++) {
        starts[i] = i * 2 * span;
        if (!(recs[i] = calloc(1, sizeof **recs)))
            rc = GPUSIM_ENOMEM;
        else
            recs[i]->start = starts[i], recs[i]->end = starts[i] + span;
    }
    if (rc == 0) {
        t0 = perf_now();
        for (uint64_t q = 0; q < n; q++) {
            uint64_t a, lo = 0, hi = n;
            x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
            a = x % pages * PAGE;
            while (lo < hi) {
                uint64_t mid = lo + (hi - lo) / 2;
                if (starts[mid] <= a)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            if (lo > 0 && a < recs[lo - 1]->end) {
                recs[lo - 1]->hits++;
                hits++;
            }
        }
        *ns = (double)(perf_now() - t0);
        ref_hits = hits;
    }
    for (uint64_t i = 0; recs && i < n; i++)
        free(recs[i]);
    free(recs);
    free(starts);
    return rc;
}

static int cost_processes(uint64_t n, double *ns)
{
    enum { BUF = 1024 * 1024 };
    perf_fx f;
    uint64_t t0;
    int rc = perf_fx_new(&f,
                         (2 * n * BUF + GPUSIM_HOST_HUGE_SIZE - 1) / GPUSIM_HOST_HUGE_SIZE *
                                 GPUSIM_HOST_HUGE_SIZE +
                             64 * GPUSIM_MIB,
                         GPUSIM_POLICY_REFAULT, NULL, false);
    if (rc)
        return rc;
    t0 = perf_now();
    for (uint64_t i = 0; i < n && rc == 0; i++) {
        gpusim_process_config_t pc;
        gpusim_driver_config_t dc;
        gpusim_buffer_t *b;
        perf_fx one = f; /* the same world, host and GPU; a process and driver of its own */
        uint64_t va;
        gpusim_process_config_init(&pc);
        gpusim_driver_config_init(&dc, GPUSIM_POLICY_REFAULT);
        if (i > 0 && ((rc = gpusim_process_new(f.h, &pc, &one.p)) != 0 ||
                      (rc = gpusim_driver_new(f.g, one.p, &dc, &one.d)) != 0))
            break;
        if ((rc = perf_fx_populate(&one, BUF, &va)) == 0 &&
            (rc = perf_fx_register(&one, va, BUF, &b)) == 0)
            rc = perf_fx_sweep(&one, b);
    }
    *ns = (double)(perf_now() - t0);
    perf_fx_free(&f);
    return rc;
}

static int cost_pressure(uint64_t n, double *ns)
{
    gpusim_host_config_t hc;
    gpusim_process_config_t pc;
    perf_fx f;
    perf_call m = {0}, t = {0};
    uint64_t t0;
    int rc;
    memset(&f, 0, sizeof f);
    gpusim_host_config_init(&hc);
    hc.ram_bytes = n * PAGE;
    hc.swap_bytes = 3 * n * PAGE;
    hc.khugepaged = false;
    gpusim_process_config_init(&pc);
    if ((rc = gpusim_world_new(NULL, &f.w)) != 0)
        return rc;
    if ((rc = gpusim_host_new(f.w, &hc, &f.h)) != 0 ||
        (rc = gpusim_process_new(f.h, &pc, &f.p)) != 0)
        goto out;
    t0 = perf_now();
    rc = gpusim_process_mmap(f.p, 0, 2 * n * PAGE, GPUSIM_PROT_READ | GPUSIM_PROT_WRITE,
                             GPUSIM_MAP_PRIVATE, NULL, 0, perf_fx_cb, &m);
    if (rc == 0 && (rc = perf_fx_wait(&f, &m.done)) == 0 && (rc = m.status) == 0)
        rc = gpusim_process_access(f.p, m.result, 2 * n * PAGE, GPUSIM_ACCESS_WRITE, NULL,
                                   perf_fx_cb, &t);
    if (rc == 0 && (rc = perf_fx_wait(&f, &t.done)) == 0)
        rc = t.status;
    *ns = (double)(perf_now() - t0);
out:
    perf_fx_free(&f);
    return rc;
}

typedef struct series {
    const char *name, *what;
    cost_fn fn;
    uint64_t full[NSIZES], quick[NSIZES];
    cost_fn ref; /* a control doing the same job outside the simulator, or NULL */
    const char *ref_what;
} series;

static const series all_series[] = {
    {"buffer size",
     "pages swept by a refault driver",
     cost_buffer,
     {4096, 16384, 65536},
     {1024, 4096, 16384},
     NULL,
     NULL},
    {"subscriptions",
     "random invalidations over as many subscriptions",
     cost_subscriptions,
     {4096, 65536, 1048576},
     {1024, 4096, 16384},
     cost_subscriptions_ref,
     "binary search of a sorted array, the same number of random lookups"},
    {"processes",
     "processes each mirroring a 1 MiB buffer",
     cost_processes,
     {4, 16, 64},
     {2, 8, 32},
     NULL,
     NULL},
    {"pressure",
     "pages reclaimed while a process writes twice RAM",
     cost_pressure,
     {16384, 65536, 262144},
     {4096, 16384, 65536},
     NULL,
     NULL},
};

/* Median cost of fn at each size into cost[]; 0 or the first failure's code (*failed_at the size). */
static int measure(cost_fn fn, const uint64_t *sizes, double *cost, uint64_t *failed_at)
{
    for (int k = 0; k < NSIZES; k++) {
        double v[PERF_REPS];
        for (int i = 0; i < PERF_REPS; i++) {
            int rc = fn(sizes[k], &v[i]);
            if (rc) {
                *failed_at = sizes[k];
                return rc;
            }
        }
        cost[k] = perf_median(v, PERF_REPS);
    }
    return 0;
}

static void run_series(perf_ctx *c, const series *s)
{
    const uint64_t *sizes = c->quick ? s->quick : s->full;
    double cost[NSIZES], ref[NSIZES];
    char flags[96] = "";
    uint64_t at = 0;
    int rc = measure(s->fn, sizes, cost, &at);
    if (rc == 0 && s->ref)
        rc = measure(s->ref, sizes, ref, &at);
    if (rc) {
        char what[64];
        snprintf(what, sizeof what, "scaling %s at %llu", s->name, (unsigned long long)at);
        return perf_fail(c, what, rc);
    }
    for (int k = 0; k < NSIZES; k++) {
        char name[64], note[160] = "";
        snprintf(name, sizeof name, "  %s n=%llu", s->name, (unsigned long long)sizes[k]);
        if (k > 0) {
            double e = perf_exponent(cost[k - 1], cost[k], (double)sizes[k - 1], (double)sizes[k]);
            double lim = perf_nlogn_exponent((double)sizes[k - 1], (double)sizes[k]);
            snprintf(note, sizeof note, "exponent from n=%llu: %.2f (n log n: %.2f)%s",
                     (unsigned long long)sizes[k - 1], e, lim, e > lim ? " ABOVE n log n" : "");
            if (e > lim)
                snprintf(flags + strlen(flags), sizeof flags - strlen(flags), " %llu->%llu",
                         (unsigned long long)sizes[k - 1], (unsigned long long)sizes[k]);
        }
        perf_addf(c, name, "ms", cost[k] / 1e6, NAN, NAN, PERF_GOAL_NONE, 0, "%s", note);
    }
    double na = (double)sizes[0], nb = (double)sizes[NSIZES - 1];
    char name[64];
    snprintf(name, sizeof name, "scaling: %s, exponent", s->name);
    perf_addf(c, name, "exponent", perf_exponent(cost[0], cost[NSIZES - 1], na, nb),
              perf_nlogn_exponent(na, nb), NAN, PERF_GOAL_MAX, perf_nlogn_exponent(na, nb),
              "%s, n=%llu..%llu; reference: n log n's exponent%s%s", s->what,
              (unsigned long long)sizes[0], (unsigned long long)sizes[NSIZES - 1],
              flags[0] ? "; above n log n between" : "", flags);
    if (s->ref) {
        snprintf(name, sizeof name, "  %s, control's exponent", s->name);
        perf_addf(c, name, "exponent", perf_exponent(ref[0], ref[NSIZES - 1], na, nb), NAN, NAN,
                  PERF_GOAL_NONE, 0, "%s: %.3g to %.3g ms", s->ref_what, ref[0] / 1e6,
                  ref[NSIZES - 1] / 1e6);
    }
}

void perf_scaling(perf_ctx *c)
{
    for (size_t i = 0; i < sizeof all_series / sizeof all_series[0]; i++)
        run_series(c, &all_series[i]);
}
