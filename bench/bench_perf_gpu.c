/*
 * bench_perf_gpu.c -- the GPU model's speed (bench_perf.h), each figure against plain C doing the
 * same job in the same run:
 *
 *   tlb-hit     gpusim_gpu_access() on pages that stay in the engine's L1 TLB, against a loop
 *               loading the same addresses' entries from an array;
 *   page-walk   accesses that miss both TLBs and the page-walk cache (one page in each of many
 *               2 MiB regions, visited in a scrambled order), against the same loop walking a
 *               plain 4-level radix tree of the same shape (a dependent 4-level index chain);
 *   invalidate  unmapping a fully mirrored 1 GiB range of 4 KiB pages and invalidating its TLB
 *               entries, against a memset of the page-table entries' bytes (2 MiB);
 *   gpu-fault   a kernel sweeping a populated buffer through a refault driver with the prefetcher
 *               off, so that every page is one fault: fault buffer, batch, hmm_range_fault, PTE
 *               write, replay, all in wall time, amortised over the faults (no reference).
 *
 * Each repetition measures the simulator and its reference back to back; the rows carry the
 * medians and the median of the per-repetition ratios.
 */
#include "bench_perf.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PAGE  UINT64_C(4096)
#define HUGE  (UINT64_C(2) << 20)
#define VA0   UINT64_C(0x100000000000) /* 16 TiB: 512 GiB aligned */
#define RW    (GPUSIM_GPU_READ | GPUSIM_GPU_WRITE)
#define FRAME (UINT64_C(1) << 20) /* host frame numbers start here */
#define BATCH 256                 /* addresses per gpusim_gpu_access_batch call */

static volatile uint64_t sink; /* keeps results alive */

/* A scrambled but reproducible order of n items (n a power of two): an odd multiplier mod n. */
static uint64_t scramble(uint64_t i, uint64_t n)
{
    return (i * UINT64_C(0x9E3779B97F4A7C15)) & (n - 1);
}

static int new_ctx(gpusim_world_t **w, gpusim_gpu_ctx_t **c)
{
    gpusim_gpu_t *g;
    int rc = gpusim_world_new(NULL, w);
    if (rc)
        return rc;
    if ((rc = gpusim_gpu_new(*w, NULL, &g)) || (rc = gpusim_gpu_ctx_new(g, NULL, c)))
        gpusim_world_free(*w);
    return rc;
}

/* ---- TLB hit -------------------------------------------------------------------------------- */

/* The n addresses of the TLB-hit row: 8 pages, 256 offsets. The reference computes the same. */
static uint64_t hit_va(uint64_t i)
{
    return VA0 + (i % 8) * PAGE + (i & 255) * 8;
}

static int hit_once(uint64_t n, double *batch_ns, double *single_ns, double *ref_ns)
{
    enum { PAGES = 8 }; /* well inside the 16-entry L1 */
    gpusim_world_t *w;
    gpusim_gpu_ctx_t *c;
    uint64_t frames[PAGES], table[PAGES], acc = 0, t0, vas[BATCH];
    gpusim_gpu_access_t a, out[BATCH];
    size_t done;
    int rc = new_ctx(&w, &c);
    if (rc)
        return rc;
    for (int i = 0; i < PAGES; i++) {
        frames[i] = FRAME + 2 * (uint64_t)i; /* not contiguous: 4 KiB entries */
        if ((rc = gpusim_gpu_map(c, VA0 + (uint64_t)i * PAGE, PAGE, &frames[i], RW, NULL)))
            goto out;
        table[i] = frames[i] * PAGE;
    }
    for (uint64_t i = 0; i < PAGES; i++) /* warm the L1 */
        gpusim_gpu_access(c, 0, VA0 + i * PAGE, false, &a);
    /* Batches of BATCH addresses, computed in the timed loop as the reference computes them. */
    t0 = perf_now();
    for (uint64_t i = 0; i < n; i += BATCH) {
        size_t m = n - i < BATCH ? (size_t)(n - i) : BATCH;
        for (size_t j = 0; j < m; j++)
            vas[j] = hit_va(i + j);
        if ((rc = gpusim_gpu_access_batch(c, 0, vas, m, false, out, &done)) != 0)
            goto out;
        for (size_t j = 0; j < m; j++)
            acc += out[j].pa;
    }
    *batch_ns = (double)(perf_now() - t0) / (double)n;
    sink = acc;
    /* One call per access. */
    acc = 0;
    t0 = perf_now();
    for (uint64_t i = 0; i < n; i++) {
        if ((rc = gpusim_gpu_access(c, 0, hit_va(i), false, &a)) != 0)
            goto out;
        acc += a.pa;
    }
    *single_ns = (double)(perf_now() - t0) / (double)n;
    sink = acc;
    /* Reference: the same addresses, each translated by one load from an array. */
    acc = 0;
    t0 = perf_now();
    for (uint64_t i = 0; i < n; i++) {
        uint64_t va = hit_va(i);
        acc += table[(va >> 12) % PAGES] + (va & (PAGE - 1));
        __asm__ volatile("" : "+r"(acc)); /* one access per iteration, not vectorised away */
    }
    *ref_ns = (double)(perf_now() - t0) / (double)n;
    sink = acc;
out:
    gpusim_world_free(w);
    return rc;
}

/* ---- page walk ------------------------------------------------------------------------------ */

/* A plain 4-level radix tree: levels of 512 entries, the reference's "page table". */
typedef struct ref_node {
    void *e[512];
} ref_node;

static void *ref_walk(ref_node *root, uint64_t va)
{
    ref_node *n = root;
    for (int level = 3; level > 0; level--) {
        n = n->e[(va >> (12 + 9 * level)) & 511];
        if (!n)
            return NULL;
    }
    return n->e[(va >> 12) & 511];
}

static int ref_insert(ref_node *root, uint64_t va, void *leaf)
{
    ref_node *n = root;
    for (int level = 3; level > 0; level--) {
        void **slot = &n->e[(va >> (12 + 9 * level)) & 511];
        if (!*slot && !(*slot = calloc(1, sizeof(ref_node))))
            return GPUSIM_ENOMEM;
        n = *slot;
    }
    n->e[(va >> 12) & 511] = leaf;
    return 0;
}

/* Frees the tables under n (level 4 = the root, 1 = a leaf table, whose entries are leaves). */
static void ref_free(ref_node *n, int level)
{
    if (level > 1)
        for (int i = 0; i < 512; i++)
            if (n->e[i])
                ref_free(n->e[i], level - 1);
    if (level < 4)
        free(n);
}

static uint64_t region_va(uint64_t r)
{
    /* Regions spread over 1 GiB blocks, so that directories of every level differ. */
    return VA0 + (r % 512) * (UINT64_C(1) << 30) + (r / 512) * HUGE;
}

static int walk_once(uint64_t regions, uint64_t n, double *batch_ns, double *single_ns,
                     double *ref_ns, double *levels)
{
    gpusim_world_t *w;
    gpusim_gpu_ctx_t *c;
    ref_node *root = calloc(1, sizeof *root);
    uint64_t acc = 0, t0, walks = 0, sum_levels = 0, vas[BATCH];
    gpusim_gpu_access_t a, out[BATCH];
    gpusim_stat_info_t si;
    size_t done;
    int rc = root ? new_ctx(&w, &c) : GPUSIM_ENOMEM;
    if (rc) {
        free(root);
        return rc;
    }
    for (uint64_t r = 0; r < regions && rc == 0; r++) {
        uint64_t f = FRAME + r;
        if ((rc = gpusim_gpu_map(c, region_va(r), PAGE, &f, RW, NULL)) == 0)
            rc = ref_insert(root, region_va(r), (void *)(uintptr_t)(f * PAGE));
    }
    if (rc)
        goto out;
    if (gpusim_stats_get(w, "gpu.gpu0.tlb.walk_levels", &si) == 0)
        sum_levels = si.count;
    /* Batches of BATCH addresses, computed in the timed loop as the reference computes them. */
    t0 = perf_now();
    for (uint64_t i = 0; i < n; i += BATCH) {
        size_t m = n - i < BATCH ? (size_t)(n - i) : BATCH;
        for (size_t j = 0; j < m; j++)
            vas[j] = region_va(scramble(i + j, regions));
        if ((rc = gpusim_gpu_access_batch(c, 0, vas, m, false, out, &done)) != 0)
            goto out;
        for (size_t j = 0; j < m; j++) {
            acc += out[j].pa;
            walks += out[j].source == GPUSIM_GPU_XLATE_WALK;
        }
    }
    *batch_ns = (double)(perf_now() - t0) / (double)n;
    if (gpusim_stats_get(w, "gpu.gpu0.tlb.walk_levels", &si) == 0 && walks)
        *levels = (double)(si.count - sum_levels) / (double)walks;
    sink = acc;
    /* One call per access (the same addresses again: they miss again, n being far more than
     * the TLBs and the page-walk cache hold). */
    acc = 0;
    t0 = perf_now();
    for (uint64_t i = 0; i < n; i++) {
        if ((rc = gpusim_gpu_access(c, 0, region_va(scramble(i, regions)), false, &a)) != 0)
            goto out;
        acc += a.pa;
    }
    *single_ns = (double)(perf_now() - t0) / (double)n;
    sink = acc;
    acc = 0;
    t0 = perf_now();
    for (uint64_t i = 0; i < n; i++)
        acc += (uint64_t)(uintptr_t)ref_walk(root, region_va(scramble(i, regions)));
    *ref_ns = (double)(perf_now() - t0) / (double)n;
    sink = acc;
out:
    ref_free(root, 4);
    free(root);
    gpusim_world_free(w);
    return rc;
}

/* ---- invalidating a mirrored range ---------------------------------------------------------- */

static int invalidate_once(gpusim_gpu_ctx_t *c, uint64_t bytes, const uint64_t *frames,
                           uint64_t *ptes, double *sim_ns, double *ref_ns)
{
    uint64_t npages = bytes / PAGE, t0;
    gpusim_gpu_access_t a;
    int rc = gpusim_gpu_map(c, VA0, bytes, frames, RW, NULL);
    if (rc)
        return rc;
    for (uint64_t i = 0; i < npages; i += npages / 64) /* some TLB entries to drop */
        gpusim_gpu_access(c, 0, VA0 + i * PAGE, false, &a);
    t0 = perf_now();
    if ((rc = gpusim_gpu_unmap(c, VA0, bytes, NULL)) ||
        (rc = gpusim_gpu_tlb_invalidate(c, VA0, bytes, NULL)))
        return rc;
    *sim_ns = (double)(perf_now() - t0);
    memset(ptes, 1, npages * sizeof *ptes); /* the reference's entries are live, like ours */
    t0 = perf_now();
    memset(ptes, 0, npages * sizeof *ptes);
    __asm__ volatile("" : : "r"(ptes) : "memory");
    *ref_ns = (double)(perf_now() - t0);
    return 0;
}

/* ---- the rows ------------------------------------------------------------------------------- */

/* Medians of REPS (sim, ref) pairs and of their ratios into the row. */
typedef struct pairs {
    double sim[PERF_REPS], ref[PERF_REPS], ratio[PERF_REPS];
} pairs;

static void pairs_set(pairs *p, int i, double sim, double ref)
{
    p->sim[i] = sim;
    p->ref[i] = ref;
    p->ratio[i] = sim / ref;
}

/* The informative sub-row of the tlb-hit and page-walk rows: the same accesses, one call each. */
static void add_single(perf_ctx *c, pairs *single)
{
    perf_addf(c, "  same, one gpusim_gpu_access per access", "ns/access",
              perf_median(single->sim, PERF_REPS), perf_median(single->ref, PERF_REPS),
              perf_median(single->ratio, PERF_REPS), PERF_GOAL_NONE, 0,
              "the same accesses and reference, one call each (informative)");
}

void perf_tlb_hit(perf_ctx *c)
{
    uint64_t n = c->quick ? 200000 : 10000000;
    pairs batch, single;
    for (int i = 0; i < PERF_REPS; i++) {
        double b = 0, s = 0, r = 0;
        int rc = hit_once(n, &b, &s, &r);
        if (rc)
            return perf_fail(c, "tlb-hit", rc);
        pairs_set(&batch, i, b, r);
        pairs_set(&single, i, s, r);
    }
    perf_addf(c, "GPU translation, TLB hit", "ns/access", perf_median(batch.sim, PERF_REPS),
              perf_median(batch.ref, PERF_REPS), perf_median(batch.ratio, PERF_REPS),
              PERF_GOAL_RATIO_MAX, 3,
              "gpusim_gpu_access_batch (%d per call) on 8 pages in the L1 vs an array load per "
              "access; %llu accesses",
              BATCH, (unsigned long long)n);
    add_single(c, &single);
}

void perf_page_walk(perf_ctx *c)
{
    uint64_t regions = c->quick ? 4096 : 65536, n = c->quick ? 50000 : 2000000;
    double levels = 0;
    pairs batch, single;
    for (int i = 0; i < PERF_REPS; i++) {
        double b = 0, s = 0, r = 0;
        int rc = walk_once(regions, n, &b, &s, &r, &levels);
        if (rc)
            return perf_fail(c, "page-walk", rc);
        pairs_set(&batch, i, b, r);
        pairs_set(&single, i, s, r);
    }
    perf_addf(c, "GPU translation, page walk", "ns/access", perf_median(batch.sim, PERF_REPS),
              perf_median(batch.ref, PERF_REPS), perf_median(batch.ratio, PERF_REPS),
              PERF_GOAL_RATIO_MAX, 3,
              "gpusim_gpu_access_batch (%d per call), %llu scattered pages, TLBs and PWC missed "
              "(%.2f tables read per walk) vs a plain 4-level radix walk",
              BATCH, (unsigned long long)regions, levels);
    add_single(c, &single);
}

void perf_invalidate(perf_ctx *c)
{
    uint64_t bytes = c->quick ? 64 * GPUSIM_MIB : GPUSIM_GIB, npages = bytes / PAGE;
    uint64_t *frames = malloc(npages * sizeof *frames), *ptes = malloc(npages * sizeof *ptes);
    gpusim_world_t *w = NULL;
    gpusim_gpu_ctx_t *ctx;
    pairs p;
    int rc = frames && ptes ? new_ctx(&w, &ctx) : GPUSIM_ENOMEM;
    for (uint64_t i = 0; rc == 0 && i < npages; i++)
        frames[i] = FRAME + 2 * i; /* host pages are rarely contiguous: 4 KiB entries */
    for (int i = 0; rc == 0 && i < PERF_REPS; i++) {
        double s = 0, r = 0;
        if ((rc = invalidate_once(ctx, bytes, frames, ptes, &s, &r)) == 0)
            pairs_set(&p, i, s, r);
    }
    if (rc == 0)
        perf_addf(c, c->quick ? "invalidate mirrored 64 MiB (quick)" : "invalidate mirrored 1 GiB",
                  "ns", perf_median(p.sim, PERF_REPS), perf_median(p.ref, PERF_REPS),
                  perf_median(p.ratio, PERF_REPS), PERF_GOAL_RATIO_MAX, 3,
                  "gpusim_gpu_unmap + tlb_invalidate of %llu 4 KiB PTEs vs memset of their %llu "
                  "bytes%s",
                  (unsigned long long)npages, (unsigned long long)(npages * 8),
                  c->quick ? "; quick: 64 MiB, not 1 GiB" : "");
    else
        perf_fail(c, "invalidate", rc);
    if (w)
        gpusim_world_free(w);
    free(frames);
    free(ptes);
}

int perf_refault_sweep(uint64_t pages, double *wall_ns, uint64_t *faults)
{
    gpusim_driver_config_t dc;
    gpusim_driver_info_t info;
    gpusim_buffer_t *b;
    perf_fx f;
    uint64_t va, t0;
    int rc;
    gpusim_driver_config_init(&dc, GPUSIM_POLICY_REFAULT);
    if ((rc = gpusim_driver_config_set(&dc, "prefetch", "off", false, NULL, 0)) != 0)
        return rc;
    /* RAM: the buffer twice over and at least 256 MiB, so nothing is reclaimed. */
    uint64_t ram = 2 * pages * PAGE < 256 * GPUSIM_MIB ? 256 * GPUSIM_MIB : 2 * pages * PAGE;
    ram = (ram + HUGE - 1) / HUGE * HUGE;
    if ((rc = perf_fx_new(&f, ram, GPUSIM_POLICY_REFAULT, &dc, false)) != 0)
        return rc;
    if ((rc = perf_fx_populate(&f, pages * PAGE, &va)) == 0 &&
        (rc = perf_fx_register(&f, va, pages * PAGE, &b)) == 0) {
        t0 = perf_now();
        rc = perf_fx_sweep(&f, b);
        *wall_ns = (double)(perf_now() - t0);
        if (rc == 0 && (rc = gpusim_driver_info(f.d, &info)) == 0)
            *faults = info.faults;
    }
    perf_fx_free(&f);
    return rc;
}

void perf_gpu_fault(perf_ctx *c)
{
    uint64_t pages = c->quick ? 4096 : 65536, faults = 0;
    double rate[PERF_REPS];
    for (int i = 0; i < PERF_REPS; i++) {
        double ns;
        int rc = perf_refault_sweep(pages, &ns, &faults);
        if (rc)
            return perf_fail(c, "gpu-fault", rc);
        rate[i] = (double)faults / (ns / 1e9);
    }
    perf_addf(c, "GPU fault end to end, amortised", "faults/s", perf_median(rate, PERF_REPS), NAN,
              NAN, PERF_GOAL_MIN, 1e6,
              "refault driver, prefetch off, checker on: one sweep over %llu populated pages, "
              "%llu faults served",
              (unsigned long long)pages, (unsigned long long)faults);
}
