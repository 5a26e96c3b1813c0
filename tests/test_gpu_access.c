/*
 * tests/test_gpu_access.c -- gpusim_gpu_access_batch against the loop of gpusim_gpu_access calls it
 * is defined to equal (src/gpu/access.c).
 *
 * Two worlds are built the same way; one makes its accesses in batches, the other one call at a
 * time, and every output, return code and *done must agree, and so must every statistic of the
 * worlds and the TLBs themselves -- every entry of every L1, the L2 and the page-walk cache,
 * LRU stamps included, and the LRU clock -- compared byte for byte. The accesses mix L1 hits, L2
 * hits and walks, 4 KiB pages, 64 KiB fragments and 2 MiB leaves, two contexts and both engines,
 * unmapped addresses, writes to read-only pages and addresses past GPUSIM_GPU_VA_END, with
 * remaps and invalidations in between; small TLBs make evictions frequent. Also: where a batch
 * stops and what it leaves in out[], n = 0, and an eviction order that a skipped LRU update
 * would change.
 */
#include "test_util.h"

#include <stdio.h>

#include "gpu/device.h"

#define PAGE UINT64_C(4096)
#define HUGE (UINT64_C(2) << 20)
#define VA   UINT64_C(0x200000000) /* the window: 8 GiB, 2 MiB aligned */
#define RW   (GPUSIM_GPU_READ | GPUSIM_GPU_WRITE)

/* ---- a pair of identical worlds ---------------------------------------------------------- */

typedef struct side {
    gpusim_world_t *w;
    gpusim_gpu_t *g;
    gpusim_gpu_ctx_t *c[2];
} side;

/* small: TLBs small enough that a few hundred pages evict (L1 8 entries, L2 64 in 16 sets, PWC
 * 8 in 4 sets), else the defaults. */
static void side_new(side *s, bool small)
{
    gpusim_gpu_config_t cfg;
    gpusim_gpu_config_init(&cfg);
    if (small) {
        ASSERT_OK(gpusim_gpu_config_set(&cfg, "tlb_l1_entries", "8", true, NULL, 0));
        ASSERT_OK(gpusim_gpu_config_set(&cfg, "tlb_l1_ways", "8", true, NULL, 0));
        ASSERT_OK(gpusim_gpu_config_set(&cfg, "tlb_l2_entries", "64", true, NULL, 0));
        ASSERT_OK(gpusim_gpu_config_set(&cfg, "tlb_l2_ways", "4", true, NULL, 0));
        ASSERT_OK(gpusim_gpu_config_set(&cfg, "pwc_entries", "8", true, NULL, 0));
        ASSERT_OK(gpusim_gpu_config_set(&cfg, "pwc_ways", "2", true, NULL, 0));
    }
    s->w = test_world(7);
    ASSERT_OK(gpusim_gpu_new(s->w, &cfg, &s->g));
    ASSERT_OK(gpusim_gpu_ctx_new(s->g, NULL, &s->c[0]));
    ASSERT_OK(gpusim_gpu_ctx_new(s->g, NULL, &s->c[1]));
}

static void side_check(const side *s)
{
    char msg[256];
    if (gpusim_gpu_check(s->g, msg, sizeof msg))
        fail_msg("gpu check: %s", msg);
}

static void side_free(side *s)
{
    side_check(s);
    gpusim_world_free(s->w);
}

/* A small deterministic generator (xorshift64*), so that both sides see the same program. */
static uint64_t rnd(uint64_t *x)
{
    *x ^= *x >> 12;
    *x ^= *x << 25;
    *x ^= *x >> 27;
    return *x * UINT64_C(0x2545F4914F6CDD1D);
}

/* The TLBs of the two sides, byte for byte: entries, stamps, per-class counts, the clock. */
static void assert_same_tlbs(const side *a, const side *b)
{
    const gpusim__gpu_tlb *ta = a->g->tlb, *tb = b->g->tlb;
    assert_int_equal(ta->clock, tb->clock);
    for (unsigned i = 0; i <= ta->nengines; i++) {
        const gpusim__gpu_tlb_cache *ca = i < ta->nengines ? &ta->l1[i] : &ta->l2;
        const gpusim__gpu_tlb_cache *cb = i < tb->nengines ? &tb->l1[i] : &tb->l2;
        size_t n = (size_t)(ca->set_mask + 1) * ca->ways;
        assert_memory_equal(ca->e, cb->e, n * sizeof *ca->e);
        assert_memory_equal(ca->present, cb->present, sizeof ca->present);
    }
    size_t n = (size_t)(ta->pwc.set_mask + 1) * ta->pwc.ways;
    assert_memory_equal(ta->pwc.e, tb->pwc.e, n * sizeof *ta->pwc.e);
}

/* Every statistic of the two worlds, by name and value. */
static void assert_same_stats(const side *a, const side *b)
{
    gpusim_stats_iter_t ia, ib;
    gpusim_stat_info_t sa, sb;
    ASSERT_OK(gpusim_stats_iter_init(&ia, a->w, NULL));
    ASSERT_OK(gpusim_stats_iter_init(&ib, b->w, NULL));
    for (;;) {
        bool more_a = gpusim_stats_iter_next(&ia, &sa), more_b = gpusim_stats_iter_next(&ib, &sb);
        assert_int_equal(more_a, more_b);
        if (!more_a)
            break;
        assert_string_equal(sa.name, sb.name);
        if (sa.count != sb.count || sa.value != sb.value || sa.peak != sb.peak || sa.sum != sb.sum)
            fail_msg("statistic %s differs: %llu vs %llu", sa.name, (unsigned long long)sa.count,
                     (unsigned long long)sb.count);
    }
}

static void assert_same_access(const gpusim_gpu_access_t *x, const gpusim_gpu_access_t *y, size_t i)
{
    if (x->pa != y->pa || x->flags != y->flags || x->page_size != y->page_size ||
        x->cost != y->cost || x->source != y->source)
        fail_msg("access %zu differs: pa %#llx/%#llx flags %u/%u size %llu/%llu cost %llu/%llu "
                 "source %d/%d",
                 i, (unsigned long long)x->pa, (unsigned long long)y->pa, x->flags, y->flags,
                 (unsigned long long)x->page_size, (unsigned long long)y->page_size,
                 (unsigned long long)x->cost, (unsigned long long)y->cost, (int)x->source,
                 (int)y->source);
}

/* The same page-table change on both sides, with the invalidation a driver owes. */
static void both_map(side *a, side *b, unsigned k, uint64_t va, uint64_t pages, uint64_t frame0,
                     bool contiguous, unsigned flags)
{
    static uint64_t frames[1024];
    assert_true(pages <= 1024);
    for (uint64_t i = 0; i < pages; i++)
        frames[i] = frame0 + (contiguous ? i : 2 * i);
    for (side *s = a; s; s = s == a ? b : NULL) {
        ASSERT_OK(gpusim_gpu_map(s->c[k], va, pages * PAGE, frames, flags, NULL));
        ASSERT_OK(gpusim_gpu_tlb_invalidate(s->c[k], va, pages * PAGE, NULL));
    }
}

/* The window's layout on context k: 4 KiB pages, fragments, 2 MiB leaves, read-only pages and
 * holes (every fourth 2 MiB block is left empty). */
static void both_populate(side *a, side *b, unsigned k)
{
    uint64_t base = 0x10000 + (uint64_t)k * 0x100000;
    both_map(a, b, k, VA, 64, base, false, RW);                   /* 4 KiB pages */
    both_map(a, b, k, VA + HUGE, 256, base + 4096, true, RW);     /* fragments */
    both_map(a, b, k, VA + 2 * HUGE, 512, base + 8192, true, RW); /* a 2 MiB leaf */
    both_map(a, b, k, VA + 4 * HUGE, 512, base + 9216, true, RW); /* another, past a hole */
    both_map(a, b, k, VA + 5 * HUGE, 32, base + 12288, false, GPUSIM_GPU_READ); /* read-only */
    both_map(a, b, k, VA + 5 * HUGE + 64 * PAGE, 16, base + 12800, true,
             GPUSIM_GPU_READ | GPUSIM_GPU_SYSTEM); /* a read-only fragment */
    /* Scattered pages in far 1 GiB blocks: walks through other directories. */
    for (uint64_t j = 0; j < 8; j++)
        both_map(a, b, k, VA + (j + 1) * (UINT64_C(1) << 30), 1, base + 16384 + j, false, RW);
}

/* A random address: mostly in the mapped parts, some in holes, rarely past the VA. */
static uint64_t pick_va(uint64_t *x)
{
    uint64_t r = rnd(x);
    switch (r % 16) {
    case 0:
        return GPUSIM_GPU_VA_END + (r >> 20) % 4096; /* past the VA: EFAULT */
    case 1:
        return VA + 3 * HUGE + (r >> 8) % HUGE; /* the hole */
    case 2:
        return VA + ((r >> 8) % 9) * (UINT64_C(1) << 30) + (r >> 40) % (2 * PAGE);
    case 3:
    case 4:
        return VA + 5 * HUGE + (r >> 8) % (96 * PAGE); /* read-only, and holes after it */
    default:
        /* The first 12 MiB, with a bias to a few pages, so that the L1 hits often. */
        return r & 0x100 ? VA + ((r >> 12) % 12) * PAGE + (r >> 40) % PAGE
                         : VA + (r >> 8) % (6 * HUGE);
    }
}

/* ---- equivalence ------------------------------------------------------------------------- */

enum { MAXB = 300 };

/*
 * One batch on side a and the same accesses one call at a time on side b, stopping where the
 * batch stops; returns how many of va[] were consumed (the stopping access included).
 */
static size_t one_batch(side *a, side *b, unsigned k, unsigned engine, const uint64_t *va, size_t n,
                        bool write)
{
    gpusim_gpu_access_t out_a[MAXB], out_b[MAXB];
    size_t done = 12345, i;
    int rc_b = 0;
    memset(out_a, 0x5a, sizeof out_a);
    memset(out_b, 0x5a, sizeof out_b);
    int rc_a = gpusim_gpu_access_batch(a->c[k], engine, va, n, write, out_a, &done);
    for (i = 0; i < n; i++)
        if ((rc_b = gpusim_gpu_access(b->c[k], engine, va[i], write, &out_b[i])) != 0)
            break;
    assert_int_equal(rc_a, rc_b);
    assert_int_equal(done, i);
    /* The stopping access too: filled on EGPUFAULT, untouched (still 0x5a) on EFAULT. */
    for (size_t j = 0; j < n && j <= i; j++)
        assert_same_access(&out_a[j], &out_b[j], j);
    for (size_t j = i + 1; j < n; j++) /* never written */
        assert_memory_equal(&out_a[j], &out_b[j], sizeof out_a[j]);
    return i < n ? i + 1 : n;
}

/* Random programs of batches and changes on a pair of worlds. */
static void run_random(bool small, uint64_t seed)
{
    side a, b;
    uint64_t x = seed, va[MAXB];
    side_new(&a, small);
    side_new(&b, small);
    both_populate(&a, &b, 0);
    both_populate(&a, &b, 1);
    for (int round = 0; round < 400; round++) {
        uint64_t r = rnd(&x);
        unsigned k = (unsigned)(r & 1), engine = (unsigned)(r >> 1 & 1);
        bool write = (r >> 2) % 4 == 0;
        size_t n = (size_t)((r >> 8) % MAXB);
        if ((r >> 4) % 8 == 0)
            n = (r >> 16) % 3; /* 0, 1 or 2 accesses */
        for (size_t i = 0; i < n; i++)
            va[i] = pick_va(&x);
        /* Sometimes the same few addresses again: runs of L1 hits. */
        if ((r >> 20) % 4 == 0)
            for (size_t i = 8; i < n; i++)
                va[i] = va[i % 8];
        for (size_t off = 0; off < n;)
            off += one_batch(&a, &b, k, engine, va + off, n - off, write);
        switch ((r >> 32) % 16) {
        case 0: /* a remap of a piece, with its invalidation */
            both_map(&a, &b, k, VA + ((r >> 40) % 1536) * PAGE, 16, 0x300000 + (r >> 48) % 4096,
                     (r >> 36) & 1, RW);
            break;
        case 1:
            for (side *s = &a; s; s = s == &a ? &b : NULL)
                ASSERT_OK(gpusim_gpu_tlb_invalidate_ctx(s->c[k], NULL));
            break;
        case 2:
            for (side *s = &a; s; s = s == &a ? &b : NULL)
                ASSERT_OK(
                    gpusim_gpu_tlb_invalidate(s->c[k], VA + ((r >> 40) % 6) * HUGE, HUGE, NULL));
            break;
        default:
            break;
        }
        if (round % 50 == 0) {
            assert_same_tlbs(&a, &b);
            side_check(&a); /* on both sides: the checker allocates (a statistic) */
            side_check(&b);
        }
    }
    assert_same_tlbs(&a, &b);
    assert_same_stats(&a, &b);
    /* Identical afterwards: the same single accesses give the same results on both. */
    for (int j = 0; j < 2000; j++) {
        uint64_t v = pick_va(&x);
        gpusim_gpu_access_t oa, ob;
        memset(&oa, 0x5a, sizeof oa);
        memset(&ob, 0x5a, sizeof ob);
        assert_int_equal(gpusim_gpu_access(a.c[j & 1], (unsigned)(j >> 1 & 1), v, j % 3 == 0, &oa),
                         gpusim_gpu_access(b.c[j & 1], (unsigned)(j >> 1 & 1), v, j % 3 == 0, &ob));
        assert_memory_equal(&oa, &ob, sizeof oa);
    }
    assert_same_tlbs(&a, &b);
    assert_same_stats(&a, &b);
    side_free(&a);
    side_free(&b);
}

static void test_random_small_tlbs(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 6; seed++)
        run_random(true, seed * UINT64_C(0x9E3779B97F4A7C15));
    ASSERT_NO_LEAK();
}

static void test_random_default_tlbs(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 3; seed++)
        run_random(false, seed * UINT64_C(0xD1B54A32D192ED03));
    ASSERT_NO_LEAK();
}

/* ---- where a batch stops ----------------------------------------------------------------- */

static void test_stops_at_first_failure(void **state)
{
    (void)state;
    side a, b;
    gpusim_gpu_access_t out[6], one;
    size_t done;
    side_new(&a, false);
    side_new(&b, false);
    both_populate(&a, &b, 0);

    /* An unmapped address: EGPUFAULT, out[2] filled with the walk's cost, out[3..] untouched,
     * and the accesses after it not made (side b makes only the first three). */
    uint64_t v1[] = {VA, VA + PAGE, VA + 3 * HUGE, VA + 2 * PAGE, VA + 3 * PAGE};
    memset(out, 0x5a, sizeof out);
    memset(&one, 0x5a, sizeof one);
    ASSERT_ERR(gpusim_gpu_access_batch(a.c[0], 0, v1, 5, false, out, &done), GPUSIM_EGPUFAULT);
    assert_int_equal(done, 2);
    assert_int_equal(out[2].source, GPUSIM_GPU_XLATE_WALK);
    assert_true(out[2].cost > 0 && out[2].pa == 0 && out[2].flags == 0 && out[2].page_size == 0);
    memset(&one, 0x5a, sizeof one);
    assert_memory_equal(&out[3], &one, sizeof one);
    for (int i = 0; i < 3; i++)
        (void)gpusim_gpu_access(b.c[0], 0, v1[i], false, &one);
    assert_same_tlbs(&a, &b);
    assert_same_stats(&a, &b);

    /* A write to a read-only page the L1 now holds: EGPUFAULT from an L1 hit, with its size. */
    uint64_t v2[] = {VA + 5 * HUGE, VA + 5 * HUGE, VA};
    for (side *s = &a; s; s = s == &a ? &b : NULL)
        (void)gpusim_gpu_access(s->c[0], 0, v2[0], false, &one);
    memset(out, 0x5a, sizeof out);
    ASSERT_ERR(gpusim_gpu_access_batch(a.c[0], 0, v2, 3, true, out, &done), GPUSIM_EGPUFAULT);
    assert_int_equal(done, 0);
    assert_int_equal(out[0].source, GPUSIM_GPU_XLATE_L1);
    assert_int_equal(out[0].page_size, PAGE);
    assert_true(out[0].pa == 0 && out[0].flags == 0);
    (void)gpusim_gpu_access(b.c[0], 0, v2[0], true, &one);
    assert_same_tlbs(&a, &b);
    assert_same_stats(&a, &b);

    /* An address past the VA: EFAULT, out[1] untouched, nothing done for it. */
    uint64_t v3[] = {VA, GPUSIM_GPU_VA_END, VA + PAGE};
    memset(out, 0x5a, sizeof out);
    ASSERT_ERR(gpusim_gpu_access_batch(a.c[0], 1, v3, 3, false, out, &done), GPUSIM_EFAULT);
    assert_int_equal(done, 1);
    assert_int_equal(out[0].pa, (0x10000 + 0) * PAGE);
    memset(&one, 0x5a, sizeof one);
    assert_memory_equal(&out[1], &one, sizeof one);
    (void)gpusim_gpu_access(b.c[0], 1, v3[0], false, &one);
    assert_same_tlbs(&a, &b);
    assert_same_stats(&a, &b);

    /* n = 0: success, nothing done; va may be NULL. */
    done = 99;
    ASSERT_OK(gpusim_gpu_access_batch(a.c[0], 0, NULL, 0, false, out, &done));
    assert_int_equal(done, 0);
    ASSERT_OK(gpusim_gpu_access_batch(a.c[0], 0, v3, 0, true, out, &done));
    assert_int_equal(done, 0);
    assert_same_tlbs(&a, &b);
    assert_same_stats(&a, &b);

    /* Success: every access, *done = n. */
    ASSERT_OK(gpusim_gpu_access_batch(a.c[0], 0, v1, 2, true, out, &done));
    assert_int_equal(done, 2);
    assert_int_equal(out[1].pa, (0x10000 + 2) * PAGE);
    assert_int_equal(out[1].flags, RW);
    side_free(&a);
    side_free(&b);
    ASSERT_NO_LEAK();
}

/* ---- LRU ----------------------------------------------------------------------------------- */

/*
 * The default L1 holds 16 entries, fully associative. Sixteen pages fill it (page 0 least
 * recently used); a batch of hits on page 0 makes page 1 the least recently used, so the 17th
 * page must evict page 1 and page 0 must still hit. A batch that skipped the LRU stamp of its
 * hits would evict page 0 instead.
 */
static void test_batch_hits_update_lru(void **state)
{
    (void)state;
    side a, b;
    gpusim_gpu_access_t out[4], one;
    size_t done;
    side_new(&a, false);
    side_new(&b, false);
    both_populate(&a, &b, 0);
    for (uint64_t p = 0; p < 16; p++)
        ASSERT_OK(gpusim_gpu_access(a.c[0], 0, VA + p * PAGE, false, &one));
    uint64_t hits[4] = {VA, VA + 8, VA + 16, VA + 24};
    ASSERT_OK(gpusim_gpu_access_batch(a.c[0], 0, hits, 4, false, out, &done));
    for (int i = 0; i < 4; i++)
        assert_int_equal(out[i].source, GPUSIM_GPU_XLATE_L1);
    ASSERT_OK(gpusim_gpu_access(a.c[0], 0, VA + 16 * PAGE, false, &one)); /* evicts page 1 */
    ASSERT_OK(gpusim_gpu_access(a.c[0], 0, VA, false, &one));
    assert_int_equal(one.source, GPUSIM_GPU_XLATE_L1);
    ASSERT_OK(gpusim_gpu_access(a.c[0], 0, VA + PAGE, false, &one));
    assert_int_equal(one.source, GPUSIM_GPU_XLATE_L2);
    /* The same through a batch: the 17th page evicts the least recently used. */
    uint64_t more[3] = {VA + 17 * PAGE, VA + 2 * PAGE, VA + 3 * PAGE};
    ASSERT_OK(gpusim_gpu_access_batch(a.c[0], 0, more, 3, false, out, &done));
    assert_int_equal(out[0].source, GPUSIM_GPU_XLATE_WALK);
    assert_int_equal(out[1].source, GPUSIM_GPU_XLATE_L2); /* page 2 was the LRU: evicted */
    assert_int_equal(out[2].source, GPUSIM_GPU_XLATE_L2); /* page 3, evicted by page 2 */
    side_free(&a);
    side_free(&b);
    ASSERT_NO_LEAK();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        GPUSIM_TEST(test_random_small_tlbs),
        GPUSIM_TEST(test_random_default_tlbs),
        GPUSIM_TEST(test_stops_at_first_failure),
        GPUSIM_TEST(test_batch_hits_update_lru),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
