/*
 * gpusim-perf-gpu -- the speed of the GPU model's translation, each figure a ratio against a plain
 * C reference measured in the same run (issue 5, "Speed"; docs/performance.md):
 *
 *   hit path    gpusim_gpu_access() on pages that stay in the engine's L1 TLB, against a loop
 *               loading the same addresses' entries from an array;
 *   walk path   accesses that miss both TLBs and the page-walk cache (one page in each of many
 *               2 MiB regions, visited in a scrambled order), against the same loop walking a
 *               plain 4-level radix tree of the same shape (a dependent 4-level index chain);
 *   invalidate  unmapping a fully mirrored 1 GiB range of 4 KiB pages and invalidating its TLB
 *               entries, against a memset of the page-table entries' bytes (2 MiB).
 *
 * Figures are wall time on this machine, compared with each other: the ratios are what carry over
 * between machines. Public API only (links the shared library).
 *
 *   gpusim-perf-gpu [--quick]     --quick: small sizes, for the test suite's smoke run
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gpusim.h>
#include <uv.h>

#define PAGE  UINT64_C(4096)
#define HUGE  (UINT64_C(2) << 20)
#define VA0   UINT64_C(0x100000000000) /* 16 TiB: 512 GiB aligned */
#define RW    (GPUSIM_GPU_READ | GPUSIM_GPU_WRITE)
#define FRAME (UINT64_C(1) << 20) /* host frame numbers start here */

static volatile uint64_t sink; /* keeps results alive */

static void die(const char *what, int rc)
{
    fprintf(stderr, "gpusim-perf-gpu: %s: %s\n", what, gpusim_strerror(rc));
    exit(1);
}

/* A scrambled but reproducible order of n items (n a power of two): an odd multiplier mod n. */
static uint64_t scramble(uint64_t i, uint64_t n)
{
    return (i * UINT64_C(0x9E3779B97F4A7C15)) & (n - 1);
}

static gpusim_gpu_ctx_t *new_ctx(gpusim_world_t **w, gpusim_gpu_t **g)
{
    gpusim_gpu_ctx_t *c;
    int rc = gpusim_world_new(NULL, w);
    if (rc)
        die("world", rc);
    if ((rc = gpusim_gpu_new(*w, NULL, g)) || (rc = gpusim_gpu_ctx_new(*g, NULL, &c)))
        die("device", rc);
    return c;
}

/* ---- hit path ------------------------------------------------------------------------------- */

static void hit_path(uint64_t n, double *sim_ns, double *ref_ns)
{
    enum { PAGES = 8 }; /* well inside the 16-entry L1 */
    gpusim_world_t *w;
    gpusim_gpu_t *g;
    gpusim_gpu_ctx_t *c = new_ctx(&w, &g);
    uint64_t frames[PAGES], table[PAGES], acc = 0, t0;
    gpusim_gpu_access_t a;
    for (int i = 0; i < PAGES; i++)
        frames[i] = FRAME + 2 * (uint64_t)i; /* not contiguous: 4 KiB entries */
    for (int i = 0; i < PAGES; i++) {
        int rc = gpusim_gpu_map(c, VA0 + (uint64_t)i * PAGE, PAGE, &frames[i], RW, NULL);
        if (rc)
            die("map", rc);
        table[i] = frames[i] * PAGE;
    }
    for (uint64_t i = 0; i < PAGES; i++) /* warm the L1 */
        gpusim_gpu_access(c, 0, VA0 + i * PAGE, false, &a);
    t0 = uv_hrtime();
    for (uint64_t i = 0; i < n; i++) {
        uint64_t va = VA0 + (i % PAGES) * PAGE + (i & 255) * 8;
        if (gpusim_gpu_access(c, 0, va, false, &a) != 0)
            die("hit path fault", GPUSIM_EGPUFAULT);
        acc += a.pa;
    }
    *sim_ns = (double)(uv_hrtime() - t0) / (double)n;
    sink = acc;
    /* Reference: the same addresses, each translated by one load from an array. */
    acc = 0;
    t0 = uv_hrtime();
    for (uint64_t i = 0; i < n; i++) {
        uint64_t va = VA0 + (i % PAGES) * PAGE + (i & 255) * 8;
        acc += table[(va >> 12) % PAGES] + (va & (PAGE - 1));
        __asm__ volatile("" : "+r"(acc)); /* one access per iteration, not vectorised away */
    }
    *ref_ns = (double)(uv_hrtime() - t0) / (double)n;
    sink = acc;
    gpusim_world_free(w);
}

/* ---- walk path ------------------------------------------------------------------------------ */

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

static void ref_insert(ref_node *root, uint64_t va, void *leaf)
{
    ref_node *n = root;
    for (int level = 3; level > 0; level--) {
        void **slot = &n->e[(va >> (12 + 9 * level)) & 511];
        if (!*slot)
            *slot = calloc(1, sizeof(ref_node));
        if (!*slot)
            die("reference tree", GPUSIM_ENOMEM);
        n = *slot;
    }
    n->e[(va >> 12) & 511] = leaf;
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

static void walk_path(uint64_t regions, uint64_t n, double *sim_ns, double *ref_ns, double *levels)
{
    gpusim_world_t *w;
    gpusim_gpu_t *g;
    gpusim_gpu_ctx_t *c = new_ctx(&w, &g);
    ref_node root;
    uint64_t acc = 0, t0, walks = 0, sum_levels = 0;
    gpusim_gpu_access_t a;
    gpusim_stat_info_t si;
    memset(&root, 0, sizeof root);
    /* One page in each 2 MiB region, regions spread over 1 GiB blocks so that directories of
     * every level differ: far more translations than the L2 and directories than the PWC hold. */
    for (uint64_t r = 0; r < regions; r++) {
        uint64_t va = VA0 + (r % 512) * (UINT64_C(1) << 30) + (r / 512) * HUGE, f = FRAME + r;
        int rc = gpusim_gpu_map(c, va, PAGE, &f, RW, NULL);
        if (rc)
            die("map", rc);
        ref_insert(&root, va, (void *)(uintptr_t)(f * PAGE));
    }
    if (gpusim_stats_get(w, "gpu.gpu0.tlb.walk_levels", &si) == 0)
        sum_levels = si.count;
    t0 = uv_hrtime();
    for (uint64_t i = 0; i < n; i++) {
        uint64_t r = scramble(i, regions);
        uint64_t va = VA0 + (r % 512) * (UINT64_C(1) << 30) + (r / 512) * HUGE;
        if (gpusim_gpu_access(c, 0, va, false, &a) != 0)
            die("walk path fault", GPUSIM_EGPUFAULT);
        acc += a.pa;
        walks += a.source == GPUSIM_GPU_XLATE_WALK;
    }
    *sim_ns = (double)(uv_hrtime() - t0) / (double)n;
    if (gpusim_stats_get(w, "gpu.gpu0.tlb.walk_levels", &si) == 0 && walks)
        *levels = (double)(si.count - sum_levels) / (double)walks;
    sink = acc;
    acc = 0;
    t0 = uv_hrtime();
    for (uint64_t i = 0; i < n; i++) {
        uint64_t r = scramble(i, regions);
        uint64_t va = VA0 + (r % 512) * (UINT64_C(1) << 30) + (r / 512) * HUGE;
        acc += (uint64_t)(uintptr_t)ref_walk(&root, va);
    }
    *ref_ns = (double)(uv_hrtime() - t0) / (double)n;
    sink = acc;
    ref_free(&root, 4);
    gpusim_world_free(w);
}

/* ---- invalidating a mirrored range ---------------------------------------------------------- */

static void invalidate(uint64_t bytes, int rounds, double *sim_ns, double *ref_ns)
{
    gpusim_world_t *w;
    gpusim_gpu_t *g;
    gpusim_gpu_ctx_t *c = new_ctx(&w, &g);
    uint64_t npages = bytes / PAGE, t_sim = 0, t_ref = 0;
    uint64_t *frames = malloc(npages * sizeof *frames), *ptes = malloc(npages * sizeof *ptes);
    gpusim_gpu_access_t a;
    if (!frames || !ptes)
        die("buffers", GPUSIM_ENOMEM);
    for (uint64_t i = 0; i < npages; i++)
        frames[i] = FRAME + 2 * i;          /* host pages are rarely contiguous: 4 KiB entries */
    memset(ptes, 1, npages * sizeof *ptes); /* the reference's memory is faulted in, like ours */
    for (int round = 0; round < rounds; round++) {
        uint64_t t0;
        int rc = gpusim_gpu_map(c, VA0, bytes, frames, RW, NULL);
        if (rc)
            die("map", rc);
        for (uint64_t i = 0; i < npages; i += npages / 64) /* some TLB entries to drop */
            gpusim_gpu_access(c, 0, VA0 + i * PAGE, false, &a);
        t0 = uv_hrtime();
        if ((rc = gpusim_gpu_unmap(c, VA0, bytes, NULL)) ||
            (rc = gpusim_gpu_tlb_invalidate(c, VA0, bytes, NULL)))
            die("invalidate", rc);
        t_sim += uv_hrtime() - t0;
        t0 = uv_hrtime();
        memset(ptes, 0, npages * sizeof *ptes);
        __asm__ volatile("" : : "r"(ptes) : "memory");
        t_ref += uv_hrtime() - t0;
    }
    *sim_ns = (double)t_sim / rounds;
    *ref_ns = (double)t_ref / rounds;
    free(frames);
    free(ptes);
    gpusim_world_free(w);
}

int main(int argc, char **argv)
{
    bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    double sim, ref, levels = 0;
    uint64_t n = quick ? 100000 : 20000000, regions = quick ? 4096 : 65536;
    uint64_t bytes = quick ? 64 * (UINT64_C(1) << 20) : UINT64_C(1) << 30;
    if (argc > 1 && !quick) {
        fprintf(stderr, "usage: gpusim-perf-gpu [--quick]\n");
        return 2;
    }
    printf("GPU translation speed (%s; allocator %s)\n\n", quick ? "quick" : "full",
           gpusim_allocator_name());
    printf("%-34s %14s %14s %8s\n", "", "gpusim ns", "reference ns", "ratio");
    hit_path(n, &sim, &ref);
    printf("%-34s %14.2f %14.2f %8.2f\n", "TLB hit (L1), per access", sim, ref, sim / ref);
    walk_path(regions, n / 4, &sim, &ref, &levels);
    printf("%-34s %14.2f %14.2f %8.2f\n", "page walk, per access", sim, ref, sim / ref);
    printf("%-34s %14.2f\n", "  tables read per walk", levels);
    invalidate(bytes, quick ? 2 : 5, &sim, &ref);
    printf("%-34s %14.0f %14.0f %8.2f\n",
           quick ? "unmap + invalidate 64 MiB" : "unmap + invalidate 1 GiB", sim, ref, sim / ref);
    printf("\nreferences: an array load per access; a plain 4-level radix walk; a memset of the "
           "range's 8-byte entries\n");
    return 0;
}
