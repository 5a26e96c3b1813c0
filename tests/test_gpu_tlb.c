/*
 * tests/test_gpu_tlb.c -- the GPU TLBs and page-walk cache (src/gpu/tlb.h).
 *
 * Covers: creation (geometry validation, allocation failures); hits and misses at each level with
 * their costs; a walk paying per level missed in the page-walk cache; true LRU eviction in a
 * fully associative L1 and within one set of a set-associative L2; 4 KiB, 64 KiB and 2 MiB
 * entries sharing one set; context isolation; every invalidation form (range -- by probing and by
 * scanning, partial overlaps of 64 KiB and 2 MiB entries --, context, global) after which a
 * translation must walk and see the new PTE; stale page-walk-cache pointers; faults; an
 * allocation-free translate; statistics; and a randomized run of page-table changes, each followed
 * by the invalidation a correct driver issues, in which every translation must equal a fresh walk.
 */
#include "test_util.h"

#include <stdio.h>

#include "core/world.h"
#include "gpu/params.h"
#include "gpu/pt.h"
#include "gpu/tlb.h"
#include "gpu/vram.h"

#define KIB   UINT64_C(1024)
#define MIB   (KIB * 1024)
#define GIB   (MIB * 1024)
#define PAGE  GPUSIM__GPU_PAGE_SIZE
#define FRAG  GPUSIM__GPU_FRAG_SIZE
#define HUGE  GPUSIM__GPU_HUGE_SIZE
#define RW    (GPUSIM__GPU_PTE_READ | GPUSIM__GPU_PTE_WRITE)
#define RO    GPUSIM__GPU_PTE_READ
#define VALID GPUSIM__GPU_PTE_VALID

/* Costs used by every test (not the defaults, so that each term of a sum is visible). */
#define L1_NS   UINT64_C(3)
#define L2_NS   UINT64_C(40)
#define LVL_NS  UINT64_C(125)
#define INV_R   UINT64_C(5000)
#define INV_C   UINT64_C(6000)
#define INV_G   UINT64_C(7000)
#define MISS_NS (L1_NS + L2_NS) /* what every L1 miss pays before walking */

/* ------------------------------------------------------------------------------------------- */
/* Fixture and helpers                                                                         */
/* ------------------------------------------------------------------------------------------- */

typedef struct tfx {
    gpusim_world_t *w;
    gpusim__gpu_vram *v;
    gpusim__gpu_pt *pt;  /* context 1 */
    gpusim__gpu_pt *pt2; /* context 2 */
    gpusim__gpu_tlb *t;
    uint64_t p[GPUSIM__GPU_P_COUNT];
} tfx;

static void test_params(uint64_t *p)
{
    gpusim__gpu_params_defaults(p);
    p[GPUSIM__GPU_P_tlb_l1_lookup] = L1_NS;
    p[GPUSIM__GPU_P_tlb_l2_lookup] = L2_NS;
    p[GPUSIM__GPU_P_page_walk_level] = LVL_NS;
    p[GPUSIM__GPU_P_tlb_inval_range] = INV_R;
    p[GPUSIM__GPU_P_tlb_inval_context] = INV_C;
    p[GPUSIM__GPU_P_tlb_inval_global] = INV_G;
}

/* Sets the geometry of the L1s, the L2 and the PWC (0 keeps the default). */
static void geometry(tfx *f, uint64_t l1e, uint64_t l1w, uint64_t l2e, uint64_t l2w, uint64_t pe,
                     uint64_t pw)
{
    if (l1e) {
        f->p[GPUSIM__GPU_P_tlb_l1_entries] = l1e;
        f->p[GPUSIM__GPU_P_tlb_l1_ways] = l1w;
    }
    if (l2e) {
        f->p[GPUSIM__GPU_P_tlb_l2_entries] = l2e;
        f->p[GPUSIM__GPU_P_tlb_l2_ways] = l2w;
    }
    if (pe) {
        f->p[GPUSIM__GPU_P_pwc_entries] = pe;
        f->p[GPUSIM__GPU_P_pwc_ways] = pw;
    }
}

/* A world, 64 MiB of VRAM, two contexts; the TLBs are made by tfx_tlb (after geometry()). */
static tfx tfx_new(void)
{
    tfx f;
    memset(&f, 0, sizeof f);
    f.w = test_world(1);
    test_params(f.p);
    ASSERT_OK(gpusim__gpu_vram_new(f.w, 64 * MIB, "gpu", &f.v));
    ASSERT_OK(gpusim__gpu_pt_new(f.w, f.v, 1, "gpu", &f.pt));
    ASSERT_OK(gpusim__gpu_pt_new(f.w, f.v, 2, "gpu", &f.pt2));
    return f;
}

static void tfx_tlb(tfx *f, unsigned engines)
{
    ASSERT_OK(gpusim__gpu_tlb_new(f->w, f->p, engines, "gpu", &f->t));
}

static void tfx_free(tfx *f)
{
    assert_true(gpusim__gpu_tlb_check(f->t));
    assert_true(gpusim__gpu_pt_check(f->pt));
    assert_true(gpusim__gpu_pt_check(f->pt2));
    gpusim__gpu_tlb_free(f->t);
    gpusim_world_free(f->w); /* frees the tables and the VRAM */
}

static void map(gpusim__gpu_pt *pt, uint64_t va, uint64_t len, uint64_t first_frame, uint64_t flags)
{
    static uint64_t frames[1024];
    assert_true(len / PAGE <= 1024);
    for (uint64_t i = 0; i < len / PAGE; i++)
        frames[i] = first_frame + i;
    ASSERT_OK(gpusim__gpu_pt_map(pt, va, len, frames, flags, NULL));
}

/* Translates and checks where it was found, the physical address and the cost. */
static void expect_xlate(tfx *f, unsigned engine, gpusim__gpu_pt *pt, uint64_t va, unsigned source,
                         uint64_t pa, uint64_t cost)
{
    gpusim__gpu_xlate x;
    memset(&x, 0xa5, sizeof x);
    ASSERT_OK(gpusim__gpu_tlb_translate(f->t, engine, pt, va, &x));
    if (x.source != source)
        fail_msg("va %#llx: found at %u, expected %u", (unsigned long long)va, x.source, source);
    assert_int_equal(x.pa, pa);
    assert_int_equal(x.cost_ns, cost);
}

static void expect_fault(tfx *f, unsigned engine, gpusim__gpu_pt *pt, uint64_t va, uint64_t cost)
{
    gpusim__gpu_xlate x;
    ASSERT_ERR(gpusim__gpu_tlb_translate(f->t, engine, pt, va, &x), GPUSIM_EGPUFAULT);
    assert_int_equal(x.source, GPUSIM__GPU_XLATE_WALK);
    assert_int_equal(x.cost_ns, cost);
    assert_int_equal(x.pa, 0);
    assert_int_equal(x.size, 0);
}

/* Whether cache c holds a translation of va for ctx (without touching LRU state). */
static bool holds(gpusim__gpu_tlb_cache *c, uint32_t ctx, uint64_t va)
{
    return gpusim__gpu_tlb_find(c, ctx, va) != NULL;
}

static uint64_t stat_count(gpusim_world_t *w, const char *name)
{
    gpusim_stat_info_t info;
    ASSERT_OK(gpusim_stats_get(w, name, &info));
    return info.count;
}

/* ------------------------------------------------------------------------------------------- */
/* Creation                                                                                    */
/* ------------------------------------------------------------------------------------------- */

static void test_tlb_new_validation_and_failures(void **state)
{
    (void)state;
    tfx f = tfx_new();
    gpusim__gpu_tlb *t = NULL;
    ASSERT_ERR(gpusim__gpu_tlb_new(f.w, f.p, 0, "gpu", &t), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim__gpu_tlb_new(f.w, f.p, GPUSIM__GPU_TLB_MAX_ENGINES + 1, "gpu", &t),
               GPUSIM_EINVAL);
    ASSERT_ERR(gpusim__gpu_tlb_new(f.w, NULL, 1, "gpu", &t), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim__gpu_tlb_new(f.w, f.p, 1, NULL, &t), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim__gpu_tlb_new(NULL, f.p, 1, "gpu", &t), GPUSIM_EINVAL);
    const struct {
        unsigned field;
        uint64_t value;
    } bad[] = {
        {GPUSIM__GPU_P_tlb_l1_entries, 12}, /* not a multiple of 16 ways */
        {GPUSIM__GPU_P_tlb_l1_ways, 0},     {GPUSIM__GPU_P_tlb_l2_entries, 16 * 3}, /* 3 sets */
        {GPUSIM__GPU_P_tlb_l2_entries, 0},  {GPUSIM__GPU_P_pwc_ways, 48},           /* 64 / 48 */
        {GPUSIM__GPU_P_pwc_entries, 8 * 6},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t saved = f.p[bad[i].field];
        f.p[bad[i].field] = bad[i].value;
        ASSERT_ERR(gpusim__gpu_tlb_new(f.w, f.p, 1, "gpu", &t), GPUSIM_EINVAL);
        f.p[bad[i].field] = saved;
    }
    assert_null(t);

    int failures = 0;
    for (long n = 1;; n++) {
        assert_true(n < 1000); /* bounded: a call that never succeeds fails the test */
        gpusim__alloc_fail_nth(n);
        int rc = gpusim__gpu_tlb_new(f.w, f.p, 4, "gpu", &t);
        gpusim__alloc_fail_nth(0);
        if (rc == 0)
            break;
        assert_int_equal(rc, GPUSIM_ENOMEM);
        failures++;
    }
    assert_true(failures >= 1 + 1 + 4 + 2); /* struct, L1 array, four L1s, L2, PWC */
    assert_int_equal(t->nengines, 4);
    assert_int_equal(t->l2.set_mask + 1, 4096 / 16);
    assert_int_equal(t->l1[3].set_mask + 1, 1);
    f.t = t;
    tfx_free(&f);
    ASSERT_NO_LEAK();
}

static void test_world_teardown_frees_tlbs(void **state)
{
    (void)state;
    tfx f = tfx_new();
    tfx_tlb(&f, 3);
    map(f.pt, 0, PAGE, 1, RW);
    gpusim__gpu_xlate x;
    ASSERT_OK(gpusim__gpu_tlb_translate(f.t, 2, f.pt, 0, &x));
    gpusim_world_free(f.w);
    ASSERT_NO_LEAK();
}

/* ------------------------------------------------------------------------------------------- */
/* Hits, misses, walks, costs                                                                  */
/* ------------------------------------------------------------------------------------------- */

static void test_hits_misses_and_costs(void **state)
{
    (void)state;
    tfx f = tfx_new();
    tfx_tlb(&f, 2);
    uint64_t va = 5 * GIB + 3 * HUGE + 7 * PAGE;
    map(f.pt, va, PAGE, 100, RW);

    gpusim__gpu_xlate x;
    ASSERT_OK(gpusim__gpu_tlb_translate(f.t, 0, f.pt, va + 5, &x));
    assert_int_equal(x.source, GPUSIM__GPU_XLATE_WALK);
    assert_int_equal(x.levels, 4);
    assert_int_equal(x.cost_ns, MISS_NS + 4 * LVL_NS);
    assert_int_equal(x.pa, 100 * PAGE + 5);
    assert_int_equal(x.size, PAGE);
    assert_int_equal(x.flags, VALID | RW);

    expect_xlate(&f, 0, f.pt, va + 6, GPUSIM__GPU_XLATE_L1, 100 * PAGE + 6, L1_NS);
    expect_xlate(&f, 1, f.pt, va, GPUSIM__GPU_XLATE_L2, 100 * PAGE, MISS_NS);
    expect_xlate(&f, 1, f.pt, va + PAGE - 1, GPUSIM__GPU_XLATE_L1, 101 * PAGE - 1, L1_NS);

    assert_int_equal(stat_count(f.w, "gpu.tlb.l1.hits"), 2);
    assert_int_equal(stat_count(f.w, "gpu.tlb.l1.misses"), 2);
    assert_int_equal(stat_count(f.w, "gpu.tlb.l2.hits"), 1);
    assert_int_equal(stat_count(f.w, "gpu.tlb.l2.misses"), 1);
    assert_int_equal(stat_count(f.w, "gpu.tlb.walks"), 1);
    assert_int_equal(stat_count(f.w, "gpu.tlb.walk_levels"), 4);
    assert_int_equal(stat_count(f.w, "gpu.tlb.pwc.misses"), 1);
    assert_int_equal(stat_count(f.w, "gpu.tlb.pwc.hits"), 0);
    assert_int_equal(stat_count(f.w, "gpu.tlb.faults"), 0);
    assert_int_equal(stat_count(f.w, "gpu.tlb.l1.evictions"), 0);

    /* Default costs: an L1 hit is free, a full walk is the cost model's 500 ns plus the L2. */
    gpusim__gpu_tlb *t2;
    uint64_t d[GPUSIM__GPU_P_COUNT];
    gpusim__gpu_params_defaults(d);
    ASSERT_OK(gpusim__gpu_tlb_new(f.w, d, 1, "gpu", &t2));
    ASSERT_OK(gpusim__gpu_tlb_translate(t2, 0, f.pt, va, &x));
    assert_int_equal(x.cost_ns, 40 + 500);
    ASSERT_OK(gpusim__gpu_tlb_translate(t2, 0, f.pt, va, &x));
    assert_int_equal(x.cost_ns, 0);
    gpusim__gpu_tlb_free(t2);
    tfx_free(&f);
    ASSERT_NO_LEAK();
}

static void test_walk_pays_per_level_missed(void **state)
{
    (void)state;
    tfx f = tfx_new();
    tfx_tlb(&f, 1);
    uint64_t a = 5 * GIB + 3 * HUGE;
    map(f.pt, a, PAGE, 100, RW);             /* A */
    map(f.pt, a + PAGE, PAGE, 101, RW);      /* B: same 2 MiB */
    map(f.pt, a + HUGE, PAGE, 102, RW);      /* C: same 1 GiB */
    map(f.pt, a + GIB, PAGE, 103, RW);       /* D: same 512 GiB */
    map(f.pt, a + 512 * GIB, PAGE, 104, RW); /* E: another 512 GiB */
    map(f.pt, a + 2 * HUGE, HUGE, 1024, RW); /* F: a 2 MiB leaf in A's 1 GiB */

    expect_xlate(&f, 0, f.pt, a, GPUSIM__GPU_XLATE_WALK, 100 * PAGE, MISS_NS + 4 * LVL_NS);
    expect_xlate(&f, 0, f.pt, a + PAGE, GPUSIM__GPU_XLATE_WALK, 101 * PAGE, MISS_NS + 1 * LVL_NS);
    expect_xlate(&f, 0, f.pt, a + HUGE, GPUSIM__GPU_XLATE_WALK, 102 * PAGE, MISS_NS + 2 * LVL_NS);
    expect_xlate(&f, 0, f.pt, a + GIB, GPUSIM__GPU_XLATE_WALK, 103 * PAGE, MISS_NS + 3 * LVL_NS);
    expect_xlate(&f, 0, f.pt, a + 512 * GIB, GPUSIM__GPU_XLATE_WALK, 104 * PAGE,
                 MISS_NS + 4 * LVL_NS);
    /* The 2 MiB leaf is read from the level-2 table whose directory the PWC holds: one level. */
    expect_xlate(&f, 0, f.pt, a + 2 * HUGE + 5 * PAGE, GPUSIM__GPU_XLATE_WALK, 1029 * PAGE,
                 MISS_NS + 1 * LVL_NS);
    assert_int_equal(stat_count(f.w, "gpu.tlb.walk_levels"), 4 + 1 + 2 + 3 + 4 + 1);
    assert_int_equal(stat_count(f.w, "gpu.tlb.pwc.hits"), 4);
    assert_int_equal(stat_count(f.w, "gpu.tlb.pwc.misses"), 2);

    /* Faults cost what the walk read and cache nothing: a hole in A's level-1 table ... */
    expect_fault(&f, 0, f.pt, a + 9 * PAGE, MISS_NS + 1 * LVL_NS);
    expect_fault(&f, 0, f.pt, a + 9 * PAGE, MISS_NS + 1 * LVL_NS);
    /* ... a missing level-2 table below a cached root entry: the level-3 table is read ... */
    expect_fault(&f, 0, f.pt, 300 * GIB, MISS_NS + 1 * LVL_NS);
    /* ... a missing level-3 table: only the root is read; outside 48 bits nothing is. */
    expect_fault(&f, 0, f.pt, 3 * 512 * GIB, MISS_NS + 1 * LVL_NS);
    expect_fault(&f, 0, f.pt, GPUSIM__GPU_VA_LIMIT, MISS_NS);
    assert_int_equal(stat_count(f.w, "gpu.tlb.faults"), 5);
    assert_int_equal(stat_count(f.w, "gpu.tlb.walks"), 6 + 5);
    tfx_free(&f);
    ASSERT_NO_LEAK();
}

static void test_translate_allocates_nothing(void **state)
{
    (void)state;
    tfx f = tfx_new();
    tfx_tlb(&f, 1);
    map(f.pt, 0, PAGE, 1, RW);
    gpusim__gpu_xlate x;
    gpusim__alloc_fail_nth(1);
    ASSERT_OK(gpusim__gpu_tlb_translate(f.t, 0, f.pt, 0, &x)); /* walk */
    ASSERT_OK(gpusim__gpu_tlb_translate(f.t, 0, f.pt, 0, &x)); /* hit */
    ASSERT_ERR(gpusim__gpu_tlb_translate(f.t, 0, f.pt, GIB, &x), GPUSIM_EGPUFAULT);
    uint64_t cost;
    ASSERT_OK(gpusim__gpu_tlb_inval_range(f.t, 1, 0, PAGE, &cost));
    gpusim__gpu_tlb_inval_context(f.t, 1);
    gpusim__gpu_tlb_inval_global(f.t);
    assert_false(gpusim__alloc_fail_fired());
    gpusim__alloc_fail_nth(0);
    tfx_free(&f);
    ASSERT_NO_LEAK();
}

/* ------------------------------------------------------------------------------------------- */
/* Replacement                                                                                 */
/* ------------------------------------------------------------------------------------------- */

static void test_lru_order(void **state)
{
    (void)state;
    tfx f = tfx_new();
    geometry(&f, 4, 4, 0, 0, 0, 0); /* L1: one set of 4 ways */
    tfx_tlb(&f, 1);
    uint64_t p[6];
    for (unsigned i = 0; i < 6; i++) {
        p[i] = GIB + i * 2 * FRAG; /* lone 4 KiB pages, one per 64 KiB group */
        map(f.pt, p[i], PAGE, 1000 + 3 * i, RW);
    }
    gpusim__gpu_tlb_cache *l1 = &f.t->l1[0];
    for (unsigned i = 0; i < 4; i++)
        expect_xlate(&f, 0, f.pt, p[i], GPUSIM__GPU_XLATE_WALK, (1000 + 3 * i) * PAGE,
                     MISS_NS + (i == 0 ? 4 : 1) * LVL_NS);
    expect_xlate(&f, 0, f.pt, p[0], GPUSIM__GPU_XLATE_L1, 1000 * PAGE, L1_NS); /* P1 now LRU */
    expect_xlate(&f, 0, f.pt, p[4], GPUSIM__GPU_XLATE_WALK, 1012 * PAGE, MISS_NS + LVL_NS);
    assert_false(holds(l1, 1, p[1]));
    assert_true(holds(l1, 1, p[0]) && holds(l1, 1, p[2]) && holds(l1, 1, p[3]) &&
                holds(l1, 1, p[4]));
    assert_int_equal(stat_count(f.w, "gpu.tlb.l1.evictions"), 1);

    expect_xlate(&f, 0, f.pt, p[2], GPUSIM__GPU_XLATE_L1, 1006 * PAGE, L1_NS); /* P3 now LRU */
    expect_xlate(&f, 0, f.pt, p[5], GPUSIM__GPU_XLATE_WALK, 1015 * PAGE, MISS_NS + LVL_NS);
    assert_false(holds(l1, 1, p[3]));
    assert_true(holds(l1, 1, p[0]) && holds(l1, 1, p[2]) && holds(l1, 1, p[4]) &&
                holds(l1, 1, p[5]));
    /* P1 is still in the L2: an L2 hit, which evicts the L1's LRU, P0. */
    expect_xlate(&f, 0, f.pt, p[1], GPUSIM__GPU_XLATE_L2, 1003 * PAGE, MISS_NS);
    assert_false(holds(l1, 1, p[0]));
    assert_int_equal(stat_count(f.w, "gpu.tlb.l1.evictions"), 3);
    assert_int_equal(stat_count(f.w, "gpu.tlb.l2.evictions"), 0);
    tfx_free(&f);
    ASSERT_NO_LEAK();
}

static void test_lru_within_one_l2_set(void **state)
{
    (void)state;
    tfx f = tfx_new();
    geometry(&f, 1, 1, 8, 2, 0, 0); /* L1: one entry; L2: 4 sets of 2 ways */
    tfx_tlb(&f, 1);
    gpusim__gpu_tlb_cache *l2 = &f.t->l2;
    uint64_t base = 2 * GIB; /* page number a multiple of 4: set 0 */
    uint64_t q0 = base, q1 = base + 4 * PAGE, q2 = base + 8 * PAGE, r = base + 5 * PAGE;
    map(f.pt, q0, PAGE, 10, RW);
    map(f.pt, q1, PAGE, 20, RW);
    map(f.pt, q2, PAGE, 30, RW);
    map(f.pt, r, PAGE, 40, RW); /* set 1 */
    expect_xlate(&f, 0, f.pt, q0, GPUSIM__GPU_XLATE_WALK, 10 * PAGE, MISS_NS + 4 * LVL_NS);
    expect_xlate(&f, 0, f.pt, q1, GPUSIM__GPU_XLATE_WALK, 20 * PAGE, MISS_NS + LVL_NS);
    expect_xlate(&f, 0, f.pt, r, GPUSIM__GPU_XLATE_WALK, 40 * PAGE, MISS_NS + LVL_NS);
    expect_xlate(&f, 0, f.pt, q0, GPUSIM__GPU_XLATE_L2, 10 * PAGE, MISS_NS); /* q1 now LRU */
    expect_xlate(&f, 0, f.pt, q2, GPUSIM__GPU_XLATE_WALK, 30 * PAGE, MISS_NS + LVL_NS);
    assert_false(holds(l2, 1, q1));
    assert_true(holds(l2, 1, q0) && holds(l2, 1, q2) && holds(l2, 1, r));
    assert_int_equal(stat_count(f.w, "gpu.tlb.l2.evictions"), 1);
    /* The evicted page walks again (and evicts q0, now the set's LRU); r is untouched. */
    expect_xlate(&f, 0, f.pt, q1, GPUSIM__GPU_XLATE_WALK, 20 * PAGE, MISS_NS + LVL_NS);
    assert_false(holds(l2, 1, q0));
    expect_xlate(&f, 0, f.pt, r, GPUSIM__GPU_XLATE_L2, 40 * PAGE, MISS_NS);
    assert_true(gpusim__gpu_tlb_check(f.t));
    tfx_free(&f);
    ASSERT_NO_LEAK();
}

static void test_mixed_page_sizes_in_one_set(void **state)
{
    (void)state;
    tfx f = tfx_new();
    geometry(&f, 1, 1, 16, 4, 0, 0); /* L2: 4 sets of 4 ways */
    tfx_tlb(&f, 1);
    gpusim__gpu_tlb_cache *l2 = &f.t->l2;
    /* Page numbers at 4 KiB, 64 KiB and 2 MiB all multiples of 4: every entry in set 0. */
    uint64_t c = 10 * GIB;            /* a 2 MiB leaf */
    uint64_t b = 10 * GIB + 8 * MIB;  /* a 64 KiB fragment */
    uint64_t a = 10 * GIB + 16 * MIB; /* lone 4 KiB pages, 4 pages apart */
    map(f.pt, c, HUGE, 4096, RW);
    map(f.pt, b, FRAG, 8192, RW);
    map(f.pt, a, PAGE, 9001, RW);
    map(f.pt, a + 4 * PAGE, PAGE, 9005, RO);
    map(f.pt, a + 8 * PAGE, PAGE, 9009, RW);
    gpusim__gpu_xlate x;
    ASSERT_OK(gpusim__gpu_tlb_translate(f.t, 0, f.pt, c + 3 * PAGE, &x));
    assert_int_equal(x.size, HUGE);
    ASSERT_OK(gpusim__gpu_tlb_translate(f.t, 0, f.pt, b + 2 * PAGE, &x));
    assert_int_equal(x.size, FRAG);
    ASSERT_OK(gpusim__gpu_tlb_translate(f.t, 0, f.pt, a, &x));
    assert_int_equal(x.size, PAGE);
    ASSERT_OK(gpusim__gpu_tlb_translate(f.t, 0, f.pt, a + 4 * PAGE, &x));
    assert_int_equal(x.flags, VALID | RO);
    /* Set 0 holds one 2 MiB, one 64 KiB and two 4 KiB entries. */
    unsigned classes[3] = {0, 0, 0};
    for (unsigned w = 0; w < 4; w++) {
        assert_int_not_equal(l2->e[w].key, 0);
        classes[(l2->e[w].key & 3) - 1]++;
    }
    assert_int_equal(classes[GPUSIM__GPU_TLB_4K], 2);
    assert_int_equal(classes[GPUSIM__GPU_TLB_64K], 1);
    assert_int_equal(classes[GPUSIM__GPU_TLB_2M], 1);
    assert_int_equal(l2->present[GPUSIM__GPU_TLB_2M], 1);

    /* Any address in the 2 MiB page hits its entry (touching it). */
    expect_xlate(&f, 0, f.pt, c + HUGE - 1, GPUSIM__GPU_XLATE_L2, 4096 * PAGE + HUGE - 1, MISS_NS);
    /* A fifth entry for set 0 evicts the LRU, the 64 KiB entry, whatever its size. */
    expect_xlate(&f, 0, f.pt, a + 8 * PAGE, GPUSIM__GPU_XLATE_WALK, 9009 * PAGE, MISS_NS + LVL_NS);
    assert_false(holds(l2, 1, b));
    assert_true(holds(l2, 1, c) && holds(l2, 1, a) && holds(l2, 1, a + 4 * PAGE));
    /* The fragment comes back as one 64 KiB entry (evicting page a), then serves its 16 pages. */
    expect_xlate(&f, 0, f.pt, b + 15 * PAGE, GPUSIM__GPU_XLATE_WALK, 8207 * PAGE, MISS_NS + LVL_NS);
    assert_false(holds(l2, 1, a));
    for (unsigned i = 0; i < 16; i++)
        expect_xlate(&f, 0, f.pt, b + i * PAGE + 9, GPUSIM__GPU_XLATE_L1, (8192 + i) * PAGE + 9,
                     L1_NS);
    assert_int_equal(stat_count(f.w, "gpu.tlb.l2.evictions"), 2);
    tfx_free(&f);
    ASSERT_NO_LEAK();
}

/* ------------------------------------------------------------------------------------------- */
/* Contexts and invalidation                                                                   */
/* ------------------------------------------------------------------------------------------- */

static void test_context_isolation(void **state)
{
    (void)state;
    tfx f = tfx_new();
    tfx_tlb(&f, 2);
    uint64_t va = 7 * GIB;
    map(f.pt, va, PAGE, 100, RW);
    map(f.pt2, va, PAGE, 200, RO);
    expect_xlate(&f, 0, f.pt, va, GPUSIM__GPU_XLATE_WALK, 100 * PAGE, MISS_NS + 4 * LVL_NS);
    /* Same VA, other context: its own walk (no PWC sharing either) and its own entry. */
    expect_xlate(&f, 0, f.pt2, va, GPUSIM__GPU_XLATE_WALK, 200 * PAGE, MISS_NS + 4 * LVL_NS);
    expect_xlate(&f, 0, f.pt, va, GPUSIM__GPU_XLATE_L1, 100 * PAGE, L1_NS);
    expect_xlate(&f, 0, f.pt2, va, GPUSIM__GPU_XLATE_L1, 200 * PAGE, L1_NS);
    /* Invalidating one context leaves the other's translations (in the L1 and, as engine 1's
     * empty L1 shows, in the L2) and directories. */
    assert_int_equal(gpusim__gpu_tlb_inval_context(f.t, 1), INV_C);
    expect_xlate(&f, 0, f.pt2, va, GPUSIM__GPU_XLATE_L1, 200 * PAGE, L1_NS);
    expect_xlate(&f, 1, f.pt2, va, GPUSIM__GPU_XLATE_L2, 200 * PAGE, MISS_NS);
    expect_xlate(&f, 0, f.pt, va, GPUSIM__GPU_XLATE_WALK, 100 * PAGE, MISS_NS + 4 * LVL_NS);
    uint64_t cost = 0;
    ASSERT_OK(gpusim__gpu_tlb_inval_range(f.t, 2, va, PAGE, &cost));
    assert_int_equal(cost, INV_R);
    expect_xlate(&f, 0, f.pt, va, GPUSIM__GPU_XLATE_L1, 100 * PAGE, L1_NS);
    expect_xlate(&f, 1, f.pt, va, GPUSIM__GPU_XLATE_L2, 100 * PAGE, MISS_NS);
    expect_xlate(&f, 0, f.pt2, va, GPUSIM__GPU_XLATE_WALK, 200 * PAGE, MISS_NS + 4 * LVL_NS);
    /* ... and the PWC: context 1's next walk in this 2 MiB reads one level. */
    map(f.pt, va + PAGE, PAGE, 101, RW);
    expect_xlate(&f, 0, f.pt, va + PAGE, GPUSIM__GPU_XLATE_WALK, 101 * PAGE, MISS_NS + LVL_NS);
    tfx_free(&f);
    ASSERT_NO_LEAK();
}

/* One page size for the invalidation tests: where it is, how big, which frames. */
typedef struct size_case {
    const char *name;
    uint64_t va;
    uint64_t size;
    uint64_t old_frame; /* first frame before the change */
    uint64_t new_frame; /* ... after */
} size_case;

static const size_case cases[] = {
    {"4K", 3 * GIB + 5 * HUGE + 3 * PAGE, PAGE, 70, 90},
    {"64K", 3 * GIB + 5 * HUGE + 4 * FRAG, FRAG, 160, 320},
    {"2M", 3 * GIB + 8 * HUGE, HUGE, 2048, 3072},
};

/* Maps a case and a neighbour, caches both on engines 0 and 1, then remaps the case. */
static void cache_then_remap(tfx *f, const size_case *sc, uint64_t neighbour)
{
    map(f->pt, sc->va, sc->size, sc->old_frame, RW);
    map(f->pt, neighbour, PAGE, 5, RW);
    for (unsigned e = 0; e < 2; e++) {
        gpusim__gpu_xlate x;
        ASSERT_OK(gpusim__gpu_tlb_translate(f->t, e, f->pt, sc->va, &x));
        assert_int_equal(x.size, sc->size);
        ASSERT_OK(gpusim__gpu_tlb_translate(f->t, e, f->pt, neighbour, &x));
    }
    map(f->pt, sc->va, sc->size, sc->new_frame, RO);
    /* The TLBs are not coherent with the table: without an invalidation the old one is used. */
    expect_xlate(f, 0, f->pt, sc->va + sc->size - 1, GPUSIM__GPU_XLATE_L1,
                 sc->old_frame * PAGE + sc->size - 1, L1_NS);
}

/* After an invalidation covering the case: both engines see the new translation. */
static void expect_fresh(tfx *f, const size_case *sc)
{
    for (unsigned e = 0; e < 2; e++) {
        for (uint64_t off = 0; off < sc->size; off += sc->size / 2) {
            gpusim__gpu_xlate x;
            ASSERT_OK(gpusim__gpu_tlb_translate(f->t, e, f->pt, sc->va + off, &x));
            if (x.pa != sc->new_frame * PAGE + off || x.flags != (VALID | RO))
                fail_msg("%s: engine %u saw a stale translation (source %u)", sc->name, e,
                         x.source);
            if (e == 0 && off == 0)
                assert_int_equal(x.source, GPUSIM__GPU_XLATE_WALK);
        }
    }
}

static void test_range_invalidation_leaves_nothing_stale(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const size_case *sc = &cases[c];
        /* Ranges that overlap the page only in part: its last byte, its first 4 KiB, and a
         * 2 GiB range (more pages than the L2 has sets: the scanning path). */
        const struct {
            uint64_t va, len;
        } ranges[] = {
            {sc->va + sc->size - 1, 1},
            {sc->va - 1, 1 + PAGE},
            {sc->va - GIB, 2 * GIB},
        };
        for (size_t r = 0; r < sizeof ranges / sizeof ranges[0]; r++) {
            tfx f = tfx_new();
            tfx_tlb(&f, 2);
            uint64_t neighbour = sc->va + 64 * HUGE; /* outside the small ranges */
            cache_then_remap(&f, sc, neighbour);
            uint64_t cost = 0;
            ASSERT_OK(gpusim__gpu_tlb_inval_range(f.t, 1, ranges[r].va, ranges[r].len, &cost));
            assert_int_equal(cost, INV_R);
            assert_true(gpusim__gpu_tlb_check(f.t));
            expect_fresh(&f, sc);
            if (r < 2) /* outside the range: still cached */
                expect_xlate(&f, 1, f.pt, neighbour, GPUSIM__GPU_XLATE_L1, 5 * PAGE, L1_NS);
            assert_int_equal(stat_count(f.w, "gpu.tlb.invalidations.range"), 1);
            assert_true(stat_count(f.w, "gpu.tlb.invalidated_entries") >= 3);
            tfx_free(&f);
        }
    }
    /* An invalidation that ends just before the page, or starts just after it, keeps it. */
    tfx f = tfx_new();
    tfx_tlb(&f, 2);
    const size_case *sc = &cases[2];
    cache_then_remap(&f, sc, sc->va + 64 * HUGE);
    ASSERT_OK(gpusim__gpu_tlb_inval_range(f.t, 1, sc->va - GIB, GIB, NULL));
    ASSERT_OK(gpusim__gpu_tlb_inval_range(f.t, 1, sc->va + sc->size, PAGE, NULL));
    ASSERT_OK(gpusim__gpu_tlb_inval_range(f.t, 2, sc->va, sc->size, NULL)); /* other context */
    expect_xlate(&f, 0, f.pt, sc->va, GPUSIM__GPU_XLATE_L1, sc->old_frame * PAGE, L1_NS);
    /* Bad ranges change nothing. */
    uint64_t cost = 99;
    ASSERT_ERR(gpusim__gpu_tlb_inval_range(f.t, 1, sc->va, 0, &cost), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim__gpu_tlb_inval_range(f.t, 1, GPUSIM__GPU_VA_LIMIT, 1, &cost), GPUSIM_EFAULT);
    ASSERT_ERR(gpusim__gpu_tlb_inval_range(f.t, 1, sc->va, GPUSIM__GPU_VA_LIMIT, &cost),
               GPUSIM_EFAULT);
    ASSERT_ERR(gpusim__gpu_tlb_inval_range(f.t, 1, UINT64_MAX, 2, &cost), GPUSIM_EFAULT);
    ASSERT_ERR(gpusim__gpu_tlb_inval_range(NULL, 1, 0, 1, &cost), GPUSIM_EINVAL);
    assert_int_equal(cost, 99);
    assert_int_equal(stat_count(f.w, "gpu.tlb.invalidations.range"), 3);
    expect_xlate(&f, 0, f.pt, sc->va, GPUSIM__GPU_XLATE_L1, sc->old_frame * PAGE, L1_NS);
    tfx_free(&f);
    ASSERT_NO_LEAK();
}

static void test_context_and_global_invalidation(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const size_case *sc = &cases[c];
        tfx f = tfx_new();
        tfx_tlb(&f, 2);
        cache_then_remap(&f, sc, sc->va + GIB);
        assert_int_equal(gpusim__gpu_tlb_inval_context(f.t, 1), INV_C);
        expect_fresh(&f, sc);
        /* The PWC went too: the first walk after it read every level. */
        assert_int_equal(stat_count(f.w, "gpu.tlb.invalidations.context"), 1);

        /* Global: both contexts. */
        map(f.pt2, sc->va, sc->size, sc->old_frame, RW);
        gpusim__gpu_xlate x;
        ASSERT_OK(gpusim__gpu_tlb_translate(f.t, 0, f.pt2, sc->va, &x));
        map(f.pt2, sc->va, sc->size, sc->new_frame, RO);
        map(f.pt, sc->va, sc->size, sc->old_frame, RW); /* and back for context 1 */
        assert_int_equal(gpusim__gpu_tlb_inval_global(f.t), INV_G);
        ASSERT_OK(gpusim__gpu_tlb_translate(f.t, 0, f.pt2, sc->va, &x));
        assert_int_equal(x.pa, sc->new_frame * PAGE);
        assert_int_equal(x.levels, sc->size == HUGE ? 3 : 4); /* nothing left in the PWC */
        ASSERT_OK(gpusim__gpu_tlb_translate(f.t, 1, f.pt, sc->va, &x));
        assert_int_equal(x.pa, sc->old_frame * PAGE);
        assert_int_equal(x.source, GPUSIM__GPU_XLATE_WALK);
        assert_int_equal(stat_count(f.w, "gpu.tlb.invalidations.global"), 1);
        tfx_free(&f);
    }
    ASSERT_NO_LEAK();
}

static void test_unmap_then_invalidate_faults(void **state)
{
    (void)state;
    tfx f = tfx_new();
    tfx_tlb(&f, 1);
    uint64_t va = 6 * GIB + 3 * PAGE;
    map(f.pt, va, PAGE, 50, RW);
    expect_xlate(&f, 0, f.pt, va, GPUSIM__GPU_XLATE_WALK, 50 * PAGE, MISS_NS + 4 * LVL_NS);
    ASSERT_OK(gpusim__gpu_pt_unmap(f.pt, va, PAGE, NULL));                 /* frees three tables */
    expect_xlate(&f, 0, f.pt, va, GPUSIM__GPU_XLATE_L1, 50 * PAGE, L1_NS); /* stale, as on HW */
    ASSERT_OK(gpusim__gpu_tlb_inval_range(f.t, 1, va, PAGE, NULL));
    /* The PWC entries of the freed tables went with the range: the root alone is read. */
    expect_fault(&f, 0, f.pt, va, MISS_NS + LVL_NS);
    tfx_free(&f);
    ASSERT_NO_LEAK();
}

static void test_stale_pwc_pointer_counts_as_miss(void **state)
{
    (void)state;
    for (int moved = 0; moved < 2; moved++) {
        tfx f = tfx_new();
        tfx_tlb(&f, 1);
        uint64_t va = 6 * GIB;
        map(f.pt, va, PAGE, 50, RW);
        expect_xlate(&f, 0, f.pt, va, GPUSIM__GPU_XLATE_WALK, 50 * PAGE, MISS_NS + 4 * LVL_NS);
        ASSERT_OK(gpusim__gpu_pt_unmap(f.pt, va, PAGE, NULL)); /* no invalidation */
        uint64_t frame;
        if (moved) /* take a frame so that the new tables land elsewhere */
            ASSERT_OK(gpusim__gpu_vram_frame_alloc(f.v, &frame));
        map(f.pt, va + PAGE, PAGE, 60, RW);
        /* Tables in the same frames: the cached directories are right and used. Elsewhere:
         * every cached pointer is wrong, the walk reads every level, and the PWC is refilled. */
        expect_xlate(&f, 0, f.pt, va + PAGE, GPUSIM__GPU_XLATE_WALK, 60 * PAGE,
                     MISS_NS + (moved ? 4 : 1) * LVL_NS);
        expect_xlate(&f, 0, f.pt, va + 2 * PAGE - 1, GPUSIM__GPU_XLATE_L1, 61 * PAGE - 1, L1_NS);
        map(f.pt, va + 2 * PAGE, PAGE, 70, RW);
        expect_xlate(&f, 0, f.pt, va + 2 * PAGE, GPUSIM__GPU_XLATE_WALK, 70 * PAGE,
                     MISS_NS + LVL_NS);
        tfx_free(&f);
    }
    ASSERT_NO_LEAK();
}

static void test_statistics_registered(void **state)
{
    (void)state;
    tfx f = tfx_new();
    tfx_tlb(&f, 2);
    static const char *const names[] = {
        "gpu.tlb.l1.hits",
        "gpu.tlb.l1.misses",
        "gpu.tlb.l1.evictions",
        "gpu.tlb.l2.hits",
        "gpu.tlb.l2.misses",
        "gpu.tlb.l2.evictions",
        "gpu.tlb.pwc.hits",
        "gpu.tlb.pwc.misses",
        "gpu.tlb.pwc.evictions",
        "gpu.tlb.walks",
        "gpu.tlb.walk_levels",
        "gpu.tlb.faults",
        "gpu.tlb.invalidations.range",
        "gpu.tlb.invalidations.context",
        "gpu.tlb.invalidations.global",
        "gpu.tlb.invalidated_entries",
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        assert_int_equal(stat_count(f.w, names[i]), 0);
    /* Both engines' L1s count into the same statistics; a second TLB under another prefix has
     * its own. */
    map(f.pt, 0, PAGE, 1, RW);
    gpusim__gpu_xlate x;
    for (unsigned e = 0; e < 2; e++)
        for (int k = 0; k < 3; k++)
            ASSERT_OK(gpusim__gpu_tlb_translate(f.t, e, f.pt, 0, &x));
    assert_int_equal(stat_count(f.w, "gpu.tlb.l1.hits"), 4);
    assert_int_equal(stat_count(f.w, "gpu.tlb.l1.misses"), 2);
    gpusim__gpu_tlb *t1;
    ASSERT_OK(gpusim__gpu_tlb_new(f.w, f.p, 1, "gpu.1", &t1));
    ASSERT_OK(gpusim__gpu_tlb_translate(t1, 0, f.pt, 0, &x));
    assert_int_equal(stat_count(f.w, "gpu.1.tlb.l1.misses"), 1);
    assert_int_equal(stat_count(f.w, "gpu.tlb.l1.misses"), 2);
    gpusim__gpu_tlb_inval_global(t1);
    assert_int_equal(stat_count(f.w, "gpu.1.tlb.invalidated_entries"), 2 + 3);
    gpusim__gpu_tlb_free(t1);
    tfx_free(&f);
    ASSERT_NO_LEAK();
}

/* ------------------------------------------------------------------------------------------- */
/* Randomized: a correct driver never sees a stale translation                                 */
/* ------------------------------------------------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
    uint64_t z = (rng_state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static uint64_t below(uint64_t n)
{
    return rnd() % n;
}

#define WINDOW_PIECES 4
#define WINDOW_PAGES  (WINDOW_PIECES * 512)
#define WINDOW_BASE   (GIB - 2 * HUGE) /* four 2 MiB pieces across the 1 GiB boundary */

static void test_randomized_against_page_table(void **state)
{
    (void)state;
    tfx f = tfx_new();
    geometry(&f, 4, 2, 32, 4, 8, 2); /* small caches: many evictions */
    tfx_tlb(&f, 3);
    gpusim__gpu_pt *pts[2] = {f.pt, f.pt2};
    static uint64_t frames[WINDOW_PAGES];
    unsigned sources[4] = {0, 0, 0, 0}, faults = 0;
    rng_state = 7;
    for (int step = 0; step < 3000; step++) {
        gpusim__gpu_pt *pt = pts[below(2)];
        unsigned first, n;
        switch (below(3)) {
        case 0:
            n = 1 + (unsigned)below(40);
            break;
        case 1:
            n = 16 * (1 + (unsigned)below(8));
            break;
        default:
            n = 512 * (1 + (unsigned)below(2));
            break;
        }
        first = (unsigned)below(WINDOW_PAGES - n + 1);
        if (n % 16 == 0)
            first &= ~(n % 512 == 0 ? 511u : 15u);
        uint64_t va = WINDOW_BASE + (uint64_t)first * PAGE, len = (uint64_t)n * PAGE;
        switch (below(3)) {
        case 0: {
            uint64_t base = 512 * (8 + below(8)) + (below(4) == 0 ? 1 : 0);
            bool random = below(4) == 0;
            for (unsigned j = 0; j < n; j++)
                frames[j] = random ? below(1u << 16) : base + first + j;
            ASSERT_OK(gpusim__gpu_pt_map(pt, va, len, frames, below(4) << 1, NULL));
            break;
        }
        case 1:
            ASSERT_OK(gpusim__gpu_pt_unmap(pt, va, len, NULL));
            break;
        default:
            ASSERT_OK(gpusim__gpu_pt_protect(pt, va, len, below(4) << 1, NULL));
            break;
        }
        /* What a correct driver does after changing PTEs. */
        unsigned how = (unsigned)below(20);
        if (how == 0)
            gpusim__gpu_tlb_inval_global(f.t);
        else if (how == 1)
            gpusim__gpu_tlb_inval_context(f.t, pt->ctx);
        else
            ASSERT_OK(gpusim__gpu_tlb_inval_range(f.t, pt->ctx, va, len, NULL));

        for (int k = 0; k < 20; k++) {
            gpusim__gpu_pt *tp = pts[below(2)];
            unsigned engine = (unsigned)below(3);
            uint64_t a = WINDOW_BASE + below(WINDOW_PAGES) * PAGE + below(PAGE);
            gpusim__gpu_xlate x;
            gpusim__gpu_pt_walk w;
            int rc = gpusim__gpu_tlb_translate(f.t, engine, tp, a, &x);
            bool valid = gpusim__gpu_pt_walk_va(tp, a, &w);
            sources[x.source]++;
            if (!valid) {
                if (rc != GPUSIM_EGPUFAULT)
                    fail_msg("step %d: va %#llx unmapped but translated (source %u)", step,
                             (unsigned long long)a, x.source);
                faults++;
                continue;
            }
            ASSERT_OK(rc);
            if (x.pa != w.pa || x.flags != (w.pte & (VALID | GPUSIM__GPU_PTE_MAP_FLAGS)) ||
                x.size != w.size)
                fail_msg("step %d: va %#llx stale (source %u)", step, (unsigned long long)a,
                         x.source);
        }
        if (step % 100 == 0)
            assert_true(gpusim__gpu_tlb_check(f.t));
    }
    assert_true(sources[GPUSIM__GPU_XLATE_L1] > 1000);
    assert_true(sources[GPUSIM__GPU_XLATE_L2] > 1000);
    assert_true(sources[GPUSIM__GPU_XLATE_WALK] > 1000);
    assert_true(faults > 1000);
    assert_true(stat_count(f.w, "gpu.tlb.l2.evictions") > 100);
    assert_true(stat_count(f.w, "gpu.tlb.pwc.evictions") > 100);
    tfx_free(&f);
    ASSERT_NO_LEAK();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        GPUSIM_TEST(test_tlb_new_validation_and_failures),
        GPUSIM_TEST(test_world_teardown_frees_tlbs),
        GPUSIM_TEST(test_hits_misses_and_costs),
        GPUSIM_TEST(test_walk_pays_per_level_missed),
        GPUSIM_TEST(test_translate_allocates_nothing),
        GPUSIM_TEST(test_lru_order),
        GPUSIM_TEST(test_lru_within_one_l2_set),
        GPUSIM_TEST(test_mixed_page_sizes_in_one_set),
        GPUSIM_TEST(test_context_isolation),
        GPUSIM_TEST(test_range_invalidation_leaves_nothing_stale),
        GPUSIM_TEST(test_context_and_global_invalidation),
        GPUSIM_TEST(test_unmap_then_invalidate_faults),
        GPUSIM_TEST(test_stale_pwc_pointer_counts_as_miss),
        GPUSIM_TEST(test_statistics_registered),
        GPUSIM_TEST(test_randomized_against_page_table),
    };
    return cmocka_run_group_tests_name("gpu_tlb", tests, NULL, NULL);
}
