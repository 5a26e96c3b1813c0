/*
 * tests/test_gpu_pt.c -- GPU parameters, VRAM frames and the GPU page table (src/gpu/params.h,
 * vram.h, pt.h).
 *
 * Covers: the parameter table (ranges, tags, the cost-model figures the defaults derive from);
 * VRAM allocation order, exhaustion, contiguous runs, refusal of bad frees, compact metadata at
 * 80 GiB; page-table map/unmap/protect at 4 KiB, 64 KiB (fragments) and 2 MiB, across 2 MiB, 1 GiB
 * and 512 GiB boundaries and at both ends of the 48-bit VA; splits of 2 MiB leaves by partial
 * unmap and protect, merges back; fragments forming and breaking; empty tables freed with their
 * VRAM; entry-write counts against hand-computed values; bad arguments, injected allocation
 * failures and VRAM exhaustion leaving the table unchanged; and a randomized test of thousands of
 * operations against a brute-force reference (translations, page sizes, table counts).
 */
#include "test_util.h"

#include <stdio.h>

#include "core/world.h"
#include "gpu/params.h"
#include "gpu/pt.h"
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
#define KIND  (GPUSIM__GPU_PTE_VALID | GPUSIM__GPU_PTE_MAP_FLAGS)

/* ------------------------------------------------------------------------------------------- */
/* Fixture and helpers                                                                         */
/* ------------------------------------------------------------------------------------------- */

typedef struct fx {
    gpusim_world_t *w;
    gpusim__gpu_vram *v;
    gpusim__gpu_pt *pt;
} fx;

static fx fx_new(uint64_t vram_bytes)
{
    fx f;
    f.w = test_world(1);
    ASSERT_OK(gpusim__gpu_vram_new(f.w, vram_bytes, "gpu", &f.v));
    ASSERT_OK(gpusim__gpu_pt_new(f.w, f.v, 1, "gpu", &f.pt));
    return f;
}

static void fx_free(fx *f)
{
    assert_true(gpusim__gpu_pt_check(f->pt));
    gpusim__gpu_pt_free(f->pt);
    assert_int_equal(gpusim__gpu_vram_used(f->v), 0);
    gpusim__gpu_vram_free(f->v);
    gpusim_world_free(f->w);
}

/* Frames first, first + 1, ... for n pages (n <= 2048). */
static const uint64_t *seq(uint64_t first, size_t n)
{
    static uint64_t buf[2048];
    assert_true(n <= 2048);
    for (size_t i = 0; i < n; i++)
        buf[i] = first + i;
    return buf;
}

static void map(fx *f, uint64_t va, uint64_t len, uint64_t first_frame, uint64_t flags,
                uint64_t expect_writes)
{
    uint64_t writes = UINT64_MAX;
    ASSERT_OK(gpusim__gpu_pt_map(f->pt, va, len, seq(first_frame, len / PAGE), flags, &writes));
    assert_int_equal(writes, expect_writes);
    assert_true(gpusim__gpu_pt_check(f->pt));
}

static void unmap(fx *f, uint64_t va, uint64_t len, uint64_t expect_writes)
{
    uint64_t writes = UINT64_MAX;
    ASSERT_OK(gpusim__gpu_pt_unmap(f->pt, va, len, &writes));
    assert_int_equal(writes, expect_writes);
    assert_true(gpusim__gpu_pt_check(f->pt));
}

static void protect(fx *f, uint64_t va, uint64_t len, uint64_t perms, uint64_t expect_writes)
{
    uint64_t writes = UINT64_MAX;
    ASSERT_OK(gpusim__gpu_pt_protect(f->pt, va, len, perms, &writes));
    assert_int_equal(writes, expect_writes);
    assert_true(gpusim__gpu_pt_check(f->pt));
}

/* Asserts va translates to frame (4 KiB frame of va itself) with flags, page size, levels. */
static void expect_at(fx *f, uint64_t va, uint64_t frame, uint64_t flags, uint64_t size,
                      unsigned levels)
{
    gpusim__gpu_pt_walk w;
    assert_true(gpusim__gpu_pt_walk_va(f->pt, va, &w));
    assert_int_equal(w.pa, frame * PAGE + (va % PAGE));
    assert_int_equal(w.pte & KIND, VALID | flags);
    assert_int_equal(w.size, size);
    assert_int_equal(w.levels, levels);
}

static void expect_none(fx *f, uint64_t va, unsigned levels)
{
    gpusim__gpu_pt_walk w;
    assert_false(gpusim__gpu_pt_walk_va(f->pt, va, &w));
    assert_int_equal(w.levels, levels);
    assert_int_equal(w.pte, 0);
    assert_int_equal(w.size, 0);
}

/* A fingerprint of everything a walk can observe in [lo, hi), plus the table's counters. */
static uint64_t snapshot(fx *f, uint64_t lo, uint64_t hi)
{
    uint64_t h = UINT64_C(1469598103934665603);
#define MIX(x) (h = (h ^ (uint64_t)(x)) * UINT64_C(1099511628211))
    for (uint64_t va = lo; va < hi; va += PAGE) {
        gpusim__gpu_pt_walk w;
        MIX(gpusim__gpu_pt_walk_va(f->pt, va, &w));
        MIX(w.pte);
        MIX(w.size);
        MIX(w.levels);
        for (unsigned l = 1; l <= 4; l++)
            MIX(w.table[l]);
    }
    MIX(f->pt->tables);
    MIX(f->pt->mapped_pages);
    MIX(gpusim__gpu_vram_used(f->v));
    MIX(f->pt->st_writes->u.count);
#undef MIX
    return h;
}

static uint64_t stat_count(gpusim_world_t *w, const char *name)
{
    gpusim_stat_info_t info;
    ASSERT_OK(gpusim_stats_get(w, name, &info));
    return info.kind == GPUSIM_STAT_GAUGE ? (uint64_t)info.value : info.count;
}

/* ------------------------------------------------------------------------------------------- */
/* Parameters                                                                                  */
/* ------------------------------------------------------------------------------------------- */

static void test_params_table(void **state)
{
    (void)state;
    static const char *const tags[] = {"R", "R2", "C", "D", "U", "S"};
    for (size_t i = 0; i < GPUSIM__GPU_P_COUNT; i++) {
        const gpusim__param_desc *d = &gpusim__gpu_param_desc[i];
        assert_true(d->min <= d->def && d->def <= d->max);
        assert_true(strlen(d->source) > 20);
        bool tag_ok = false;
        for (size_t k = 0; k < sizeof tags / sizeof tags[0]; k++)
            tag_ok |= strcmp(d->tag, tags[k]) == 0;
        assert_true(tag_ok);
        assert_int_equal(gpusim__param_find(gpusim__gpu_param_desc, GPUSIM__GPU_P_COUNT, d->name),
                         (long)i);
    }
    uint64_t p[GPUSIM__GPU_P_COUNT];
    gpusim__gpu_params_defaults(p);
    /* The figures of cost-model.md §9.2 the defaults are derived from. */
    assert_int_equal(4 * p[GPUSIM__GPU_P_page_walk_level], 500);        /* gpu_page_walk */
    assert_int_equal(p[GPUSIM__GPU_P_tlb_inval_range], 5000);           /* gpu_tlb_inval */
    assert_int_equal(p[GPUSIM__GPU_P_tlb_inval_context], 5000);         /* gpu_tlb_inval */
    assert_int_equal(p[GPUSIM__GPU_P_tlb_inval_global], 5000);          /* gpu_tlb_inval */
    assert_int_equal(p[GPUSIM__GPU_P_pte_update_per_4k], 50);           /* gpu_pte_update_per_4k */
    assert_int_equal(p[GPUSIM__GPU_P_tlb_l1_entries] * HUGE, 32 * MIB); /* gpu_l1_tlb_reach */
    assert_int_equal(p[GPUSIM__GPU_P_tlb_l2_entries] * HUGE, 8 * GIB);  /* gpu_l2_tlb_reach */
    assert_int_equal(p[GPUSIM__GPU_P_vram_size], 80 * GIB);
    /* Values parse with their unit and range. */
    const gpusim__param_desc *inval = &gpusim__gpu_param_desc[GPUSIM__GPU_P_tlb_inval_range];
    uint64_t v = 0;
    ASSERT_OK(gpusim__param_parse(inval, "3us", false, &v, NULL, 0));
    assert_int_equal(v, 3000);
    ASSERT_ERR(gpusim__param_parse(inval, "1ms", false, &v, NULL, 0), GPUSIM_ERANGE);
}

/* ------------------------------------------------------------------------------------------- */
/* VRAM                                                                                        */
/* ------------------------------------------------------------------------------------------- */

static void test_vram_frames(void **state)
{
    (void)state;
    gpusim_world_t *w = test_world(1);
    gpusim__gpu_vram *v;
    ASSERT_ERR(gpusim__gpu_vram_new(w, 0, "gpu", &v), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim__gpu_vram_new(w, PAGE + 1, "gpu", &v), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim__gpu_vram_new(w, PAGE, NULL, &v), GPUSIM_EINVAL);
    ASSERT_OK(gpusim__gpu_vram_new(w, 100 * PAGE, "gpu", &v)); /* 100: not a multiple of 64 */
    assert_int_equal(stat_count(w, "gpu.vram.total_bytes"), 100 * PAGE);

    uint64_t f;
    for (uint64_t i = 0; i < 100; i++) {
        ASSERT_OK(gpusim__gpu_vram_frame_alloc(v, &f));
        assert_int_equal(f, i); /* lowest first */
    }
    ASSERT_ERR(gpusim__gpu_vram_frame_alloc(v, &f), GPUSIM_ENOMEM);
    assert_int_equal(gpusim__gpu_vram_free_frames(v), 0);
    assert_int_equal(stat_count(w, "gpu.vram.used_bytes"), 100 * PAGE);
    assert_true(gpusim__gpu_vram_check(v));

    ASSERT_OK(gpusim__gpu_vram_frame_free(v, 37, 1));
    assert_false(gpusim__gpu_vram_frame_used(v, 37));
    ASSERT_ERR(gpusim__gpu_vram_frame_free(v, 37, 1), GPUSIM_EINVAL);  /* double free */
    ASSERT_ERR(gpusim__gpu_vram_frame_free(v, 36, 2), GPUSIM_EINVAL);  /* 37 is free */
    assert_true(gpusim__gpu_vram_frame_used(v, 36));                   /* ... so nothing freed */
    ASSERT_ERR(gpusim__gpu_vram_frame_free(v, 99, 2), GPUSIM_EINVAL);  /* past the end */
    ASSERT_ERR(gpusim__gpu_vram_frame_free(v, 100, 1), GPUSIM_EINVAL); /* past the end */
    ASSERT_ERR(gpusim__gpu_vram_frame_free(v, 5, 0), GPUSIM_EINVAL);
    assert_int_equal(gpusim__gpu_vram_used(v), 99);
    ASSERT_OK(gpusim__gpu_vram_frame_alloc(v, &f));
    assert_int_equal(f, 37);

    /* Contiguous aligned runs. */
    ASSERT_OK(gpusim__gpu_vram_frame_free(v, 32, 32)); /* 32..63 free */
    ASSERT_OK(gpusim__gpu_vram_frame_free(v, 70, 3));  /* 70..72 free: too short for 16 */
    ASSERT_ERR(gpusim__gpu_vram_frame_alloc_contig(v, 16, 3, &f), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim__gpu_vram_frame_alloc_contig(v, 0, 1, &f), GPUSIM_EINVAL);
    ASSERT_OK(gpusim__gpu_vram_frame_alloc_contig(v, 16, 16, &f));
    assert_int_equal(f, 32);
    ASSERT_OK(gpusim__gpu_vram_frame_alloc_contig(v, 8, 16, &f));
    assert_int_equal(f, 48);
    ASSERT_ERR(gpusim__gpu_vram_frame_alloc_contig(v, 16, 16, &f), GPUSIM_ENOMEM);
    ASSERT_OK(gpusim__gpu_vram_frame_alloc_contig(v, 3, 2, &f)); /* 56..58 */
    assert_int_equal(f, 56);
    ASSERT_OK(gpusim__gpu_vram_frame_alloc_contig(v, 3, 1, &f)); /* 59..61 */
    assert_int_equal(f, 59);
    ASSERT_OK(gpusim__gpu_vram_frame_alloc_contig(v, 3, 1, &f)); /* 62..63 too short: 70..72 */
    assert_int_equal(f, 70);
    ASSERT_ERR(gpusim__gpu_vram_frame_alloc_contig(v, 101, 1, &f), GPUSIM_ENOMEM);
    assert_int_equal(gpusim__gpu_vram_used(v), 98);
    assert_true(gpusim__gpu_vram_check(v));

    gpusim__gpu_vram_free(v);
    assert_int_equal(stat_count(w, "gpu.vram.used_bytes"), 0);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

static void test_vram_80gib_is_compact(void **state)
{
    (void)state;
    gpusim_world_t *w = test_world(1);
    uint64_t p[GPUSIM__GPU_P_COUNT];
    gpusim__gpu_params_defaults(p);
    gpusim__gpu_vram *v;
    ASSERT_OK(gpusim__gpu_vram_new(w, PAGE, "gpu", &v)); /* registers the statistics */
    gpusim__gpu_vram_free(v);
    int64_t before = gpusim__alloc_outstanding();
    ASSERT_OK(gpusim__gpu_vram_new(w, p[GPUSIM__GPU_P_vram_size], "gpu", &v));
    uint64_t nframes = p[GPUSIM__GPU_P_vram_size] / PAGE;
    assert_int_equal(nframes, 20971520);
    /* Two bitmaps: a bit per frame and a bit per 64 frames, plus the struct. */
    int64_t grew = gpusim__alloc_outstanding() - before;
    assert_true(grew <= (int64_t)(nframes / 8 + nframes / 8 / 64 + 4096));
    uint64_t f;
    for (uint64_t i = 0; i < 1000; i++) {
        ASSERT_OK(gpusim__gpu_vram_frame_alloc(v, &f));
        assert_int_equal(f, i);
    }
    ASSERT_OK(gpusim__gpu_vram_frame_alloc_contig(v, 512, 512, &f));
    assert_int_equal(f, 1024);
    ASSERT_OK(gpusim__gpu_vram_frame_free(v, 0, 1000));
    ASSERT_OK(gpusim__gpu_vram_frame_alloc(v, &f));
    assert_int_equal(f, 0);
    assert_true(gpusim__gpu_vram_check(v));
    gpusim_world_free(w); /* the world frees the VRAM */
    ASSERT_NO_LEAK();
}

/* The check reads only the words written so far and the last one (vram.c): it must still catch a
 * wrong word among those, a count that disagrees, and a hint past the first unwritten word. */
static void test_vram_check_catches_corruption(void **state)
{
    (void)state;
    gpusim_world_t *w = test_world(1);
    gpusim__gpu_vram *v;
    uint64_t f;
    ASSERT_OK(gpusim__gpu_vram_new(w, 64 * 64 * 10 * PAGE + 5 * PAGE, "gpu", &v)); /* 641 words */
    assert_true(gpusim__gpu_vram_check(v));
    for (int i = 0; i < 130; i++)
        ASSERT_OK(gpusim__gpu_vram_frame_alloc(v, &f)); /* words 0, 1 full; word 2 partly */
    assert_int_equal(v->top, 3);
    assert_true(gpusim__gpu_vram_check(v));

    v->bits[1] &= ~UINT64_C(1); /* a written word no longer full, its summary bit still set */
    assert_false(gpusim__gpu_vram_check(v));
    v->bits[1] |= 1;
    assert_true(gpusim__gpu_vram_check(v));

    v->used++; /* the count disagrees with the bits */
    assert_false(gpusim__gpu_vram_check(v));
    v->used--;

    size_t hint = v->hint;
    v->hint = 1; /* summary word 0 has clear bits (word 2 is not full): hint must be 0 */
    assert_false(gpusim__gpu_vram_check(v));
    v->hint = hint;

    v->bits[v->nwords - 1] = 0; /* the last word's padding bits lost */
    assert_false(gpusim__gpu_vram_check(v));
    v->bits[v->nwords - 1] = ~UINT64_C(0) << 5;
    assert_true(gpusim__gpu_vram_check(v));

    /* A run to the very end writes every word up to the last: everything is read again. */
    ASSERT_OK(gpusim__gpu_vram_frame_alloc_contig(v, 64 * 64 * 10 + 5 - 130, 1, &f));
    assert_int_equal(f, 130);
    assert_int_equal(gpusim__gpu_vram_free_frames(v), 0);
    assert_int_equal(v->top, v->nwords);
    assert_true(gpusim__gpu_vram_check(v));
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

static void test_vram_new_allocation_failures(void **state)
{
    (void)state;
    gpusim_world_t *w = test_world(1);
    gpusim__gpu_vram *v = NULL;
    int failures = 0;
    for (long n = 1;; n++) {
        assert_true(n < 1000); /* bounded: a call that never succeeds fails the test */
        gpusim__alloc_fail_nth(n);
        int rc = gpusim__gpu_vram_new(w, 64 * MIB, "gpu", &v);
        bool fired = gpusim__alloc_fail_fired();
        gpusim__alloc_fail_nth(0);
        if (rc == 0) {
            assert_false(fired);
            break;
        }
        assert_int_equal(rc, GPUSIM_ENOMEM);
        assert_true(fired);
        failures++;
    }
    assert_true(failures >= 3); /* struct, two bitmaps (and statistics) */
    assert_true(gpusim__gpu_vram_check(v));
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* ------------------------------------------------------------------------------------------- */
/* Page-table life cycle                                                                       */
/* ------------------------------------------------------------------------------------------- */

static void test_pt_new_and_free(void **state)
{
    (void)state;
    gpusim_world_t *w = test_world(1), *other = test_world(2);
    gpusim__gpu_vram *v, *v2;
    gpusim__gpu_pt *pt, *pt2;
    ASSERT_OK(gpusim__gpu_vram_new(w, 2 * PAGE, "gpu", &v));
    ASSERT_OK(gpusim__gpu_vram_new(other, 2 * PAGE, "gpu", &v2));
    ASSERT_ERR(gpusim__gpu_pt_new(w, v2, 1, "gpu", &pt), GPUSIM_EINVAL); /* another world's */
    ASSERT_ERR(gpusim__gpu_pt_new(w, NULL, 1, "gpu", &pt), GPUSIM_EINVAL);
    ASSERT_OK(gpusim__gpu_pt_new(w, v, 7, "gpu", &pt));
    assert_int_equal(pt->ctx, 7);
    assert_int_equal(pt->tables, 1);
    assert_int_equal(gpusim__gpu_vram_used(v), 1); /* the root table lives in VRAM */
    ASSERT_OK(gpusim__gpu_pt_new(w, v, 8, "gpu", &pt2));
    assert_int_equal(stat_count(w, "gpu.pt.tables"), 2);
    gpusim__gpu_pt *pt3 = NULL;
    ASSERT_ERR(gpusim__gpu_pt_new(w, v, 9, "gpu", &pt3), GPUSIM_ENOMEM); /* VRAM full */
    assert_null(pt3);
    expect_none(&(fx){w, v, pt}, 0, 1);
    gpusim__gpu_pt_free(pt2);
    assert_int_equal(gpusim__gpu_vram_used(v), 1);
    assert_int_equal(stat_count(w, "gpu.pt.tables"), 1);

    /* Every allocation of the constructor can fail, changing nothing. */
    int failures = 0;
    for (long n = 1;; n++) {
        assert_true(n < 1000); /* bounded: a call that never succeeds fails the test */
        uint64_t used = gpusim__gpu_vram_used(v);
        gpusim__alloc_fail_nth(n);
        int rc = gpusim__gpu_pt_new(w, v, 9, "gpu", &pt2);
        gpusim__alloc_fail_nth(0);
        if (rc == 0)
            break;
        assert_int_equal(rc, GPUSIM_ENOMEM);
        assert_int_equal(gpusim__gpu_vram_used(v), used);
        failures++;
    }
    assert_true(failures >= 2);
    assert_true(gpusim__gpu_pt_check(pt2));
    gpusim__gpu_pt_free(pt2);
    gpusim__gpu_pt_free(pt);
    assert_int_equal(gpusim__gpu_vram_used(v), 0);
    gpusim_world_free(w);
    gpusim_world_free(other);
    ASSERT_NO_LEAK();
}

static void test_world_teardown_frees_tables(void **state)
{
    (void)state;
    fx f = fx_new(64 * MIB);
    map(&f, 3 * GIB, 4 * MIB + 5 * PAGE, 4096, RW, 3 + 2 + 5);
    gpusim__gpu_pt *pt2;
    ASSERT_OK(gpusim__gpu_pt_new(f.w, f.v, 2, "gpu", &pt2));
    map(&(fx){f.w, f.v, pt2}, 0, PAGE, 9, RO, 4);
    gpusim_world_free(f.w); /* frees both tables, then the VRAM, without being asked */
    ASSERT_NO_LEAK();
}

/* ------------------------------------------------------------------------------------------- */
/* Page sizes                                                                                  */
/* ------------------------------------------------------------------------------------------- */

static void test_map_unmap_4k(void **state)
{
    (void)state;
    fx f = fx_new(64 * MIB);
    uint64_t va = 0x1234000;
    /* Three directory entries (new level-3, -2, -1 tables) and the PTE. */
    map(&f, va, PAGE, 77, RW, 4);
    assert_int_equal(f.pt->tables, 4);
    assert_int_equal(gpusim__gpu_vram_used(f.v), 4);
    assert_int_equal(f.pt->mapped_pages, 1);
    expect_at(&f, va, 77, RW, PAGE, 4);
    expect_at(&f, va + 123, 77, RW, PAGE, 4);
    expect_none(&f, va + PAGE, 4);
    expect_none(&f, va - PAGE, 4);
    expect_none(&f, va + HUGE, 3);
    expect_none(&f, va + GIB, 2);
    expect_none(&f, va + 512 * GIB, 1);
    /* The same map again changes nothing and writes nothing. */
    map(&f, va, PAGE, 77, RW, 0);
    /* A system-memory page and a read-only one. */
    map(&f, va + PAGE, 2 * PAGE, 500, RO | GPUSIM__GPU_PTE_SYSTEM, 2);
    expect_at(&f, va + 2 * PAGE, 501, RO | GPUSIM__GPU_PTE_SYSTEM, PAGE, 4);
    unmap(&f, va + PAGE, 2 * PAGE, 2);
    /* Unmapping the last page frees the three tables: one PTE and three directory entries. */
    unmap(&f, va, PAGE, 4);
    assert_int_equal(f.pt->tables, 1);
    assert_int_equal(gpusim__gpu_vram_used(f.v), 1);
    assert_int_equal(f.pt->mapped_pages, 0);
    expect_none(&f, va, 1);
    /* Unmapping nothing writes nothing. */
    unmap(&f, 0, 4 * GIB, 0);
    protect(&f, 0, 4 * GIB, RO, 0);
    fx_free(&f);
    ASSERT_NO_LEAK();
}

static void test_fragments_form_and_break(void **state)
{
    (void)state;
    fx f = fx_new(64 * MIB);
    uint64_t va = 5 * GIB + 7 * HUGE + 3 * FRAG;
    /* 16 aligned pages on 16 consecutive frames from a multiple of 16: one fragment. */
    map(&f, va, FRAG, 32, RW, 3 + 16);
    for (uint64_t i = 0; i < 16; i++)
        expect_at(&f, va + i * PAGE, 32 + i, RW, FRAG, 4);
    gpusim__gpu_pt_walk w;
    assert_true(gpusim__gpu_pt_walk_va(f.pt, va, &w));
    assert_true(w.pte & GPUSIM__GPU_PTE_FRAG);

    /* Unmapping one page breaks it: that PTE and the 15 others' FRAG bits. */
    unmap(&f, va + 5 * PAGE, PAGE, 16);
    expect_at(&f, va, 32, RW, PAGE, 4);
    expect_at(&f, va + 15 * PAGE, 47, RW, PAGE, 4);
    assert_true(gpusim__gpu_pt_walk_va(f.pt, va, &w));
    assert_false(w.pte & GPUSIM__GPU_PTE_FRAG);
    /* Mapping it back on the right frame re-forms it. */
    map(&f, va + 5 * PAGE, PAGE, 37, RW, 16);
    expect_at(&f, va + 5 * PAGE, 37, RW, FRAG, 4);
    /* On the wrong frame it breaks again: the new PTE and 15 FRAG bits. */
    map(&f, va + 5 * PAGE, PAGE, 99, RW, 16);
    expect_at(&f, va + 6 * PAGE, 38, RW, PAGE, 4);
    map(&f, va + 5 * PAGE, PAGE, 37, RW, 16);
    /* Different permissions on one page break it; the same permissions again re-form it. */
    protect(&f, va + 15 * PAGE, PAGE, RO, 16);
    expect_at(&f, va + 15 * PAGE, 47, RO, PAGE, 4);
    expect_at(&f, va, 32, RW, PAGE, 4);
    protect(&f, va + 15 * PAGE, PAGE, RW, 16);
    expect_at(&f, va + 15 * PAGE, 47, RW, FRAG, 4);
    /* Protecting the whole fragment keeps it a fragment. */
    protect(&f, va, FRAG, RO, 16);
    expect_at(&f, va + 3 * PAGE, 35, RO, FRAG, 4);
    /* A different aperture on one page breaks it. */
    map(&f, va, PAGE, 32, RO | GPUSIM__GPU_PTE_SYSTEM, 16);
    expect_at(&f, va + PAGE, 33, RO, PAGE, 4);
    unmap(&f, va, FRAG, 16 + 3); /* and the three tables, now empty */
    assert_int_equal(f.pt->tables, 1);

    /* Frames not starting at a multiple of 16, not consecutive, or a VA range that is not
     * 64 KiB-aligned: no fragment. */
    map(&f, va, FRAG, 33, RW, 3 + 16);
    expect_at(&f, va, 33, RW, PAGE, 4);
    uint64_t frames[16];
    for (unsigned i = 0; i < 16; i++)
        frames[i] = 64 + (i ^ 1);
    uint64_t writes;
    ASSERT_OK(gpusim__gpu_pt_map(f.pt, va, FRAG, frames, RW, &writes));
    assert_int_equal(writes, 16);
    expect_at(&f, va, 65, RW, PAGE, 4);
    unmap(&f, va, FRAG, 16 + 3);
    map(&f, va + FRAG / 2, FRAG, 40, RW, 3 + 16); /* two half groups */
    expect_at(&f, va + FRAG / 2, 40, RW, PAGE, 4);
    expect_at(&f, va + FRAG, 48, RW, PAGE, 4);
    /* Filling in both halves with matching frames forms two fragments: 8 new PTEs, 8 FRAG. */
    map(&f, va, FRAG / 2, 32, RW, 8 + 8);
    map(&f, va + FRAG + FRAG / 2, FRAG / 2, 56, RW, 8 + 8);
    expect_at(&f, va, 32, RW, FRAG, 4);
    expect_at(&f, va + 2 * FRAG - PAGE, 63, RW, FRAG, 4);
    fx_free(&f);
    ASSERT_NO_LEAK();
}

static void test_2m_leaves(void **state)
{
    (void)state;
    fx f = fx_new(64 * MIB);
    uint64_t va = 7 * GIB + 5 * HUGE;
    /* 512 consecutive frames from a multiple of 512: one level-2 leaf, no level-1 table. */
    map(&f, va, HUGE, 1024, RW, 2 + 1);
    assert_int_equal(f.pt->tables, 3);
    assert_int_equal(f.pt->mapped_pages, 512);
    expect_at(&f, va, 1024, RW, HUGE, 3);
    expect_at(&f, va + HUGE - 1, 1024 + 511, RW, HUGE, 3);
    gpusim__gpu_pt_walk w;
    assert_true(gpusim__gpu_pt_walk_va(f.pt, va + 4321, &w));
    assert_true(w.pte & GPUSIM__GPU_PTE_LEAF);
    assert_false(w.pte & GPUSIM__GPU_PTE_FRAG);
    /* Unmapping all of it is one entry, and frees the two directory tables. */
    unmap(&f, va, HUGE, 1 + 2);
    assert_int_equal(f.pt->tables, 1);

    /* Frames from 1040 (a multiple of 16, not of 512): 32 fragments in a level-1 table. */
    map(&f, va, HUGE, 1040, RW, 3 + 512);
    expect_at(&f, va + 100 * PAGE, 1140, RW, FRAG, 4);
    assert_int_equal(f.pt->tables, 4);
    /* Remapping the whole 2 MiB on aligned frames replaces the table by a leaf: one entry. */
    map(&f, va, HUGE, 2048, RO, 1);
    assert_int_equal(f.pt->tables, 3);
    expect_at(&f, va + 100 * PAGE, 2148, RO, HUGE, 3);
    /* ... and back to 4 KiB pages: a new table written whole, and the directory entry. */
    map(&f, va, HUGE, 1041, RO, 512 + 1);
    expect_at(&f, va + 100 * PAGE, 1141, RO, PAGE, 4);
    assert_int_equal(f.pt->tables, 4);
    unmap(&f, va, HUGE, 512 + 3);

    /* 2 MiB of pages that straddle two 2 MiB pieces: no leaf, fragments where aligned. */
    map(&f, va + PAGE * 16, HUGE, 1024 + 16, RW, 3 + 1 + 496 + 16);
    expect_at(&f, va + PAGE * 16, 1040, RW, FRAG, 4);
    expect_at(&f, va + HUGE, 1024 + 512, RW, FRAG, 4);
    assert_int_equal(f.pt->tables, 5);
    fx_free(&f);
    ASSERT_NO_LEAK();
}

static void test_split_by_partial_unmap(void **state)
{
    (void)state;
    fx f = fx_new(64 * MIB);
    uint64_t va = 9 * GIB;
    map(&f, va, HUGE, 512, RW, 3);
    /* Unmap page 100: the leaf becomes a table holding the 511 pages that stay (written once,
     * FRAG bits included) and the directory entry now names it. */
    unmap(&f, va + 100 * PAGE, PAGE, 511 + 1);
    assert_int_equal(stat_count(f.w, "gpu.pt.splits"), 1);
    assert_int_equal(f.pt->tables, 4);
    assert_int_equal(f.pt->mapped_pages, 511);
    expect_none(&f, va + 100 * PAGE, 4);
    expect_at(&f, va + 99 * PAGE, 611, RW, PAGE, 4); /* group 96..111 lost its fragment */
    expect_at(&f, va + 101 * PAGE, 613, RW, PAGE, 4);
    expect_at(&f, va + 95 * PAGE, 607, RW, FRAG, 4); /* other groups stay fragments */
    expect_at(&f, va + 112 * PAGE, 624, RW, FRAG, 4);
    expect_at(&f, va, 512, RW, FRAG, 4);
    expect_at(&f, va + HUGE - PAGE, 1023, RW, FRAG, 4);
    /* Unmap a range that covers the rest of this leaf's piece in two steps; the table goes. */
    unmap(&f, va, 100 * PAGE, 100);
    unmap(&f, va + 101 * PAGE, HUGE - 101 * PAGE, 411 + 3); /* last PTEs + three directories */
    assert_int_equal(f.pt->tables, 1);
    assert_int_equal(gpusim__gpu_vram_used(f.v), 1);

    /* A range covering the end of one leaf and the start of the next splits both. */
    map(&f, va, 2 * HUGE, 512, RW, 2 + 2);
    unmap(&f, va + HUGE - FRAG, 2 * FRAG, (512 - 16) + 1 + (512 - 16) + 1);
    assert_int_equal(stat_count(f.w, "gpu.pt.splits"), 3);
    expect_at(&f, va + HUGE - FRAG - PAGE, 512 + 495, RW, FRAG, 4);
    expect_none(&f, va + HUGE, 4);
    expect_at(&f, va + HUGE + FRAG, 1024 + 16, RW, FRAG, 4);
    fx_free(&f);
    ASSERT_NO_LEAK();
}

/*
 * An unmap that covers whole tables drops each subtree at once (pt.c, unmap_drop) instead of
 * clearing its entries one by one; the outcome and the write count must be those of clearing
 * them: every valid entry of every table freed, plus the directory entry that named it.
 */
static void test_unmap_covering_whole_tables(void **state)
{
    (void)state;
    fx f = fx_new(64 * MIB);
    uint64_t va = GIB;
    map(&f, va, 100 * PAGE, 1, RW, 3 + 100); /* frames off phase: no fragment */
    map(&f, va + HUGE, HUGE, 512, RW, 1);    /* a 2 MiB leaf */
    map(&f, va + 2 * HUGE, FRAG, 1024, RW, 1 + 16);
    map(&f, va + 3 * HUGE, PAGE, 7, RW, 1 + 1);
    map(&f, 2 * GIB, PAGE, 9, RO, 1 + 1 + 1);
    map(&f, 3 * GIB, PAGE, 11, RO, 1 + 1 + 1);
    assert_int_equal(f.pt->tables, 10);
    assert_int_equal(f.pt->mapped_pages, 100 + 512 + 16 + 1 + 1 + 1);

    /* One level-1 table covered whole, in a 1 GiB region that keeps others: 16 PTEs + 1. */
    unmap(&f, va + 2 * HUGE, HUGE, 16 + 1);
    assert_int_equal(f.pt->tables, 9);
    expect_none(&f, va + 2 * HUGE, 3);
    expect_at(&f, va + 3 * HUGE, 7, RW, PAGE, 4);

    /* From the middle of the leaf to 3 GiB: the leaf splits (its new table's 256 entries that
     * stay + the directory entry), the table at va + 3 * HUGE goes whole (1 + 1), and so does the
     * level-2 table of [2, 3) GiB with its table (1 + 1 + the level-3 entry). */
    unmap(&f, va + HUGE + 256 * PAGE, 2 * GIB - HUGE - 256 * PAGE, 1 + 256 + 2 + 3);
    assert_int_equal(stat_count(f.w, "gpu.pt.splits"), 1);
    assert_int_equal(f.pt->tables, 7);
    assert_int_equal(f.pt->mapped_pages, 100 + 256 + 1);
    expect_at(&f, va + 99 * PAGE, 100, RW, PAGE, 4);
    expect_at(&f, va + HUGE + 255 * PAGE, 512 + 255, RW, FRAG, 4);
    expect_none(&f, va + HUGE + 256 * PAGE, 4);
    expect_none(&f, va + 3 * HUGE, 3);
    expect_none(&f, 2 * GIB, 2);
    expect_at(&f, 3 * GIB, 11, RO, PAGE, 4);

    /* The whole first 512 GiB: the level-3 table and everything under it. Its 2 entries, the
     * [1, 2) GiB table's 2, 100 + 256 PTEs, the [3, 4) GiB table's 1 and its PTE, the root's 1. */
    unmap(&f, 0, 512 * GIB, 2 + 2 + 100 + 256 + 1 + 1 + 1);
    assert_int_equal(f.pt->tables, 1);
    assert_int_equal(f.pt->mapped_pages, 0);
    assert_int_equal(gpusim__gpu_vram_used(f.v), 1);
    assert_int_equal(stat_count(f.w, "gpu.pt.tables"), 1);
    expect_none(&f, va, 1);
    fx_free(&f);
    ASSERT_NO_LEAK();
}

static void test_split_by_partial_protect_and_merge_back(void **state)
{
    (void)state;
    fx f = fx_new(64 * MIB);
    uint64_t va = 11 * GIB + 3 * HUGE;
    map(&f, va, HUGE, 1536, RW, 3);
    /* Protecting the whole leaf to what it already has changes nothing. */
    protect(&f, va, HUGE, RW, 0);
    protect(&f, va + FRAG, FRAG, RW, 0);
    assert_int_equal(stat_count(f.w, "gpu.pt.splits"), 0);
    /* A 64 KiB piece read-only: split; that group is still a (read-only) fragment. */
    protect(&f, va + 4 * FRAG, FRAG, RO, 512 + 1);
    assert_int_equal(stat_count(f.w, "gpu.pt.splits"), 1);
    expect_at(&f, va + 4 * FRAG + PAGE, 1536 + 65, RO, FRAG, 4);
    expect_at(&f, va + 5 * FRAG, 1536 + 80, RW, FRAG, 4);
    assert_int_equal(f.pt->tables, 4);
    /* Writable again: 16 PTEs change, the table is one leaf again and is merged (one entry). */
    protect(&f, va + 4 * FRAG, FRAG, RW, 16 + 1);
    assert_int_equal(stat_count(f.w, "gpu.pt.merges"), 1);
    assert_int_equal(f.pt->tables, 3);
    expect_at(&f, va + 4 * FRAG, 1536 + 64, RW, HUGE, 3);
    /* The whole leaf at once: one entry, no split. */
    protect(&f, va, HUGE, 0, 1);
    expect_at(&f, va, 1536, 0, HUGE, 3);
    assert_int_equal(stat_count(f.w, "gpu.pt.splits"), 1);
    /* A protect covering the leaf and a hole next to it only touches the leaf. */
    protect(&f, va - HUGE, 3 * HUGE, RO, 1);
    expect_at(&f, va, 1536, RO, HUGE, 3);
    expect_none(&f, va + HUGE, 3);
    fx_free(&f);
    ASSERT_NO_LEAK();
}

static void test_merge_by_mapping_pages_one_by_one(void **state)
{
    (void)state;
    fx f = fx_new(64 * MIB);
    uint64_t va = 13 * GIB;
    for (uint64_t i = 0; i < 512; i++) {
        uint64_t writes;
        uint64_t frame = 2560 + i;
        ASSERT_OK(gpusim__gpu_pt_map(f.pt, va + i * PAGE, PAGE, &frame, RW, &writes));
        uint64_t expect = 1;
        if (i == 0)
            expect = 4; /* three directories */
        else if (i == 511)
            expect = 1 + 15 + 1; /* the last PTE, 15 FRAG bits, then merged: the leaf entry */
        else if (i % 16 == 15)
            expect = 16; /* the group's 16th page: FRAG on all 16 */
        assert_int_equal(writes, expect);
        assert_true(gpusim__gpu_pt_check(f.pt));
    }
    assert_int_equal(stat_count(f.w, "gpu.pt.merges"), 1);
    assert_int_equal(f.pt->tables, 3);
    expect_at(&f, va + 300 * PAGE, 2860, RW, HUGE, 3);
    fx_free(&f);
    ASSERT_NO_LEAK();
}

/* ------------------------------------------------------------------------------------------- */
/* Boundaries                                                                                  */
/* ------------------------------------------------------------------------------------------- */

static void test_boundaries(void **state)
{
    (void)state;
    /* Crossing a 2 MiB, 1 GiB and 512 GiB boundary needs 1, 2 and 3 more tables. */
    const struct {
        uint64_t b;
        uint64_t tables; /* with four pages around b mapped */
    } cases[] = {{HUGE * 77, 1 + 1 + 1 + 2}, {GIB * 5, 1 + 1 + 2 + 2}, {512 * GIB, 1 + 2 + 2 + 2}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        fx f = fx_new(64 * MIB);
        uint64_t b = cases[c].b;
        map(&f, b - 2 * PAGE, 4 * PAGE, 100, RW, (cases[c].tables - 1) + 4);
        assert_int_equal(f.pt->tables, cases[c].tables);
        for (uint64_t i = 0; i < 4; i++)
            expect_at(&f, b - 2 * PAGE + i * PAGE, 100 + i, RW, PAGE, 4);
        unmap(&f, b - PAGE, 2 * PAGE, 2);
        expect_none(&f, b - PAGE, 4);
        expect_none(&f, b, 4);
        expect_at(&f, b - 2 * PAGE, 100, RW, PAGE, 4);
        expect_at(&f, b + PAGE, 103, RW, PAGE, 4);
        unmap(&f, b - 2 * PAGE, 4 * PAGE, 2 + (cases[c].tables - 1));
        assert_int_equal(f.pt->tables, 1);
        /* 2 MiB leaves on both sides of the boundary. */
        map(&f, b - HUGE, 2 * HUGE, 512, RW, (cases[c].tables - 1 - 2) + 2);
        expect_at(&f, b - 1, 1023, RW, HUGE, 3);
        expect_at(&f, b, 1024, RW, HUGE, 3);
        fx_free(&f);
    }

    /* Both ends of the 48-bit VA. */
    fx f = fx_new(64 * MIB);
    uint64_t top = GPUSIM__GPU_VA_LIMIT - PAGE;
    map(&f, top, PAGE, 5, RW, 4);
    expect_at(&f, top + PAGE - 1, 5, RW, PAGE, 4);
    map(&f, 0, PAGE, 6, RW, 4);
    expect_at(&f, 0, 6, RW, PAGE, 4);
    map(&f, GPUSIM__GPU_VA_LIMIT - HUGE, HUGE, 0, RO, 1); /* table replaced by a leaf */
    expect_at(&f, top, 511, RO, HUGE, 3);
    gpusim__gpu_pt_walk w;
    assert_false(gpusim__gpu_pt_walk_va(f.pt, GPUSIM__GPU_VA_LIMIT, &w));
    assert_int_equal(w.levels, 0);
    assert_false(gpusim__gpu_pt_walk_va(f.pt, UINT64_MAX, &w));
    unmap(&f, 0, GPUSIM__GPU_VA_LIMIT, (1 + 3) + (1 + 2));
    assert_int_equal(f.pt->tables, 1);
    fx_free(&f);
    ASSERT_NO_LEAK();
}

/* ------------------------------------------------------------------------------------------- */
/* Failures change nothing                                                                     */
/* ------------------------------------------------------------------------------------------- */

static void test_bad_arguments_change_nothing(void **state)
{
    (void)state;
    fx f = fx_new(64 * MIB);
    map(&f, GIB - HUGE, 2 * HUGE, 512, RW, 3 + 2);
    map(&f, GIB + HUGE, 5 * PAGE, 3, RO, 1 + 5);
    uint64_t lo = GIB - 2 * HUGE, hi = GIB + 3 * HUGE;
    uint64_t before = snapshot(&f, lo, hi);
    const uint64_t *fr = seq(0, 16);
    uint64_t big[2] = {GPUSIM__GPU_FRAME_MAX, GPUSIM__GPU_FRAME_MAX + 1};
    uint64_t writes = 12345;
    const uint64_t L = GPUSIM__GPU_VA_LIMIT;

    struct {
        int rc;
        int expect;
    } r[] = {
        {gpusim__gpu_pt_map(f.pt, GIB + 1, PAGE, fr, RW, &writes), GPUSIM_EINVAL},
        {gpusim__gpu_pt_map(f.pt, GIB, 0, fr, RW, &writes), GPUSIM_EINVAL},
        {gpusim__gpu_pt_map(f.pt, GIB, PAGE + 8, fr, RW, &writes), GPUSIM_EINVAL},
        {gpusim__gpu_pt_map(f.pt, GIB, PAGE, NULL, RW, &writes), GPUSIM_EINVAL},
        {gpusim__gpu_pt_map(f.pt, GIB, PAGE, fr, VALID, &writes), GPUSIM_EINVAL},
        {gpusim__gpu_pt_map(f.pt, GIB, PAGE, fr, GPUSIM__GPU_PTE_FRAG, &writes), GPUSIM_EINVAL},
        {gpusim__gpu_pt_map(f.pt, GIB, PAGE, fr, GPUSIM__GPU_PTE_LEAF, &writes), GPUSIM_EINVAL},
        {gpusim__gpu_pt_map(f.pt, GIB, PAGE, fr, UINT64_C(1) << 40, &writes), GPUSIM_EINVAL},
        {gpusim__gpu_pt_map(f.pt, GIB, 2 * PAGE, big, RW, &writes), GPUSIM_EINVAL},
        {gpusim__gpu_pt_map(NULL, GIB, PAGE, fr, RW, &writes), GPUSIM_EINVAL},
        {gpusim__gpu_pt_map(f.pt, L, PAGE, fr, RW, &writes), GPUSIM_EFAULT},
        {gpusim__gpu_pt_map(f.pt, L - PAGE, 2 * PAGE, fr, RW, &writes), GPUSIM_EFAULT},
        {gpusim__gpu_pt_map(f.pt, UINT64_MAX - PAGE + 1, 2 * PAGE, fr, RW, &writes), GPUSIM_EFAULT},
        {gpusim__gpu_pt_map(f.pt, PAGE, UINT64_MAX - PAGE + 1, fr, RW, &writes), GPUSIM_EFAULT},
        {gpusim__gpu_pt_unmap(f.pt, GIB + 1, PAGE, &writes), GPUSIM_EINVAL},
        {gpusim__gpu_pt_unmap(f.pt, GIB, 0, &writes), GPUSIM_EINVAL},
        {gpusim__gpu_pt_unmap(f.pt, GIB, 3, &writes), GPUSIM_EINVAL},
        {gpusim__gpu_pt_unmap(NULL, GIB, PAGE, &writes), GPUSIM_EINVAL},
        {gpusim__gpu_pt_unmap(f.pt, L, PAGE, &writes), GPUSIM_EFAULT},
        {gpusim__gpu_pt_unmap(f.pt, GIB, L, &writes), GPUSIM_EFAULT},
        {gpusim__gpu_pt_unmap(f.pt, UINT64_MAX - PAGE + 1, 2 * PAGE, &writes), GPUSIM_EFAULT},
        {gpusim__gpu_pt_protect(f.pt, GIB + 1, PAGE, RO, &writes), GPUSIM_EINVAL},
        {gpusim__gpu_pt_protect(f.pt, GIB, 0, RO, &writes), GPUSIM_EINVAL},
        {gpusim__gpu_pt_protect(f.pt, GIB, PAGE, GPUSIM__GPU_PTE_SYSTEM, &writes), GPUSIM_EINVAL},
        {gpusim__gpu_pt_protect(f.pt, GIB, PAGE, VALID, &writes), GPUSIM_EINVAL},
        {gpusim__gpu_pt_protect(NULL, GIB, PAGE, RO, &writes), GPUSIM_EINVAL},
        {gpusim__gpu_pt_protect(f.pt, L - PAGE, 2 * PAGE, RO, &writes), GPUSIM_EFAULT},
        {gpusim__gpu_pt_protect(f.pt, UINT64_MAX - PAGE + 1, 2 * PAGE, RO, &writes), GPUSIM_EFAULT},
    };
    for (size_t i = 0; i < sizeof r / sizeof r[0]; i++) {
        if (r[i].rc != r[i].expect)
            fail_msg("case %zu returned %d, expected %d", i, r[i].rc, r[i].expect);
    }
    assert_int_equal(writes, 12345);
    assert_int_equal(snapshot(&f, lo, hi), before);
    assert_true(gpusim__gpu_pt_check(f.pt));
    /* The largest valid frame is accepted. */
    ASSERT_OK(gpusim__gpu_pt_map(f.pt, 0, PAGE, big, RW, &writes));
    expect_at(&f, 0, GPUSIM__GPU_FRAME_MAX, RW, PAGE, 4);
    fx_free(&f);
    ASSERT_NO_LEAK();
}

/* The operations the failure tests run, each needing new tables (failure_setup's state). */
typedef int (*pt_op_fn)(fx *f, uint64_t *writes);

static int op_map_across_512g(fx *f, uint64_t *writes)
{
    /* 5 tables: a level-2 and a level-1 below 512 GiB, three above. */
    return gpusim__gpu_pt_map(f->pt, 512 * GIB - 2 * PAGE, 4 * PAGE, seq(10, 4), RW, writes);
}

static int op_map_splits(fx *f, uint64_t *writes)
{
    return gpusim__gpu_pt_map(f->pt, 3 * GIB + HUGE - 2 * PAGE, 4 * PAGE, seq(7, 4), RW, writes);
}

static int op_unmap_splits(fx *f, uint64_t *writes)
{
    return gpusim__gpu_pt_unmap(f->pt, 3 * GIB + HUGE - PAGE, 2 * PAGE, writes);
}

static int op_protect_splits(fx *f, uint64_t *writes)
{
    return gpusim__gpu_pt_protect(f->pt, 3 * GIB + HUGE - FRAG, 2 * FRAG, RO, writes);
}

/* 2 MiB leaves at 3 GiB and 3 GiB + 2 MiB. */
static void failure_setup(fx *f)
{
    map(f, 3 * GIB, 2 * HUGE, 512, RW, 2 + 2);
}

static void sweep_allocation_failures(pt_op_fn fn, int min_failures)
{
    fx f = fx_new(64 * MIB);
    failure_setup(&f);
    uint64_t before = snapshot(&f, 3 * GIB - HUGE, 3 * GIB + 3 * HUGE) ^
                      snapshot(&f, 512 * GIB - HUGE, 512 * GIB + HUGE);
    int failures = 0;
    for (long n = 1;; n++) {
        assert_true(n < 1000); /* bounded: a call that never succeeds fails the test */
        uint64_t writes = 777;
        gpusim__alloc_fail_nth(n);
        int rc = fn(&f, &writes);
        gpusim__alloc_fail_nth(0);
        if (rc == 0)
            break;
        assert_int_equal(rc, GPUSIM_ENOMEM);
        assert_int_equal(writes, 777);
        assert_true(gpusim__gpu_pt_check(f.pt));
        uint64_t now = snapshot(&f, 3 * GIB - HUGE, 3 * GIB + 3 * HUGE) ^
                       snapshot(&f, 512 * GIB - HUGE, 512 * GIB + HUGE);
        assert_int_equal(now, before);
        failures++;
    }
    assert_true(failures >= min_failures);
    assert_true(gpusim__gpu_pt_check(f.pt));
    fx_free(&f);
}

static void test_allocation_failures_change_nothing(void **state)
{
    (void)state;
    sweep_allocation_failures(op_map_across_512g, 5);
    sweep_allocation_failures(op_map_splits, 2);
    sweep_allocation_failures(op_unmap_splits, 2);
    sweep_allocation_failures(op_protect_splits, 2);
    ASSERT_NO_LEAK();
}

static void test_vram_exhaustion_changes_nothing(void **state)
{
    (void)state;
    fx f = fx_new(7 * PAGE);                    /* the root and 6 more tables */
    map(&f, 3 * GIB, 2 * HUGE, 512, RW, 2 + 2); /* 2 more: 4 frames free */
    /* 5 tables needed (two sides of 512 GiB): refused, nothing changed. */
    uint64_t before = snapshot(&f, 512 * GIB - HUGE, 512 * GIB + HUGE) ^
                      snapshot(&f, 3 * GIB, 3 * GIB + 2 * HUGE);
    uint64_t writes = 5;
    ASSERT_ERR(gpusim__gpu_pt_map(f.pt, 512 * GIB - PAGE, 2 * PAGE, seq(0, 2), RW, &writes),
               GPUSIM_ENOMEM);
    assert_int_equal(writes, 5);
    assert_int_equal(gpusim__gpu_vram_used(f.v), 3);
    assert_int_equal(snapshot(&f, 512 * GIB - HUGE, 512 * GIB + HUGE) ^
                         snapshot(&f, 3 * GIB, 3 * GIB + 2 * HUGE),
                     before);
    /* Fill VRAM: a partial unmap or protect of a leaf (a split) is refused, a full one is not. */
    uint64_t frame;
    while (gpusim__gpu_vram_frame_alloc(f.v, &frame) == 0)
        ;
    before = snapshot(&f, 512 * GIB - HUGE, 512 * GIB + HUGE) ^
             snapshot(&f, 3 * GIB, 3 * GIB + 2 * HUGE);
    ASSERT_ERR(gpusim__gpu_pt_unmap(f.pt, 3 * GIB, PAGE, &writes), GPUSIM_ENOMEM);
    ASSERT_ERR(gpusim__gpu_pt_protect(f.pt, 3 * GIB + HUGE - FRAG, 2 * FRAG, RO, &writes),
               GPUSIM_ENOMEM);
    assert_int_equal(snapshot(&f, 512 * GIB - HUGE, 512 * GIB + HUGE) ^
                         snapshot(&f, 3 * GIB, 3 * GIB + 2 * HUGE),
                     before);
    protect(&f, 3 * GIB + HUGE, HUGE, RO, 1);
    unmap(&f, 3 * GIB, 2 * HUGE, 2 + 2);
    assert_int_equal(f.pt->tables, 1);
    assert_int_equal(gpusim__gpu_vram_free_frames(f.v), 2);
    /* Two frames free: a 4 KiB page needs three tables and is refused. */
    ASSERT_ERR(gpusim__gpu_pt_map(f.pt, 0, PAGE, seq(0, 1), RW, &writes), GPUSIM_ENOMEM);
    ASSERT_OK(gpusim__gpu_pt_map(f.pt, 0, HUGE, seq(0, 512), RW, &writes)); /* a leaf: two */
    assert_int_equal(gpusim__gpu_vram_free_frames(f.v), 0);
    assert_true(gpusim__gpu_pt_check(f.pt));
    gpusim__gpu_pt_free(f.pt);
    gpusim_world_free(f.w);
    ASSERT_NO_LEAK();
}

static void test_statistics(void **state)
{
    (void)state;
    fx f = fx_new(64 * MIB);
    map(&f, 0, HUGE, 512, RW, 3);
    unmap(&f, 0, PAGE, 512);
    protect(&f, PAGE, PAGE, RO, 1); /* its group is no fragment since page 0 went */
    assert_int_equal(stat_count(f.w, "gpu.pt.pte_writes"), 3 + 512 + 1);
    assert_int_equal(stat_count(f.w, "gpu.pt.range_ops"), 3);
    assert_int_equal(stat_count(f.w, "gpu.pt.splits"), 1);
    assert_int_equal(stat_count(f.w, "gpu.pt.tables"), 4);
    gpusim_stat_info_t info;
    ASSERT_OK(gpusim_stats_get(f.w, "gpu.vram.used_bytes", &info));
    assert_int_equal(info.value, 4 * (int64_t)PAGE);
    fx_free(&f);
    ASSERT_NO_LEAK();
}

/* ------------------------------------------------------------------------------------------- */
/* Randomized against a brute-force reference                                                  */
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

/* The window: four 2 MiB pieces either side of the 1 GiB boundary, and two at 512 GiB. */
#define PIECES 6
#define NPAGES (PIECES * 512)
static uint64_t piece_base(unsigned p)
{
    return p < 4 ? GIB - 2 * HUGE + p * HUGE : 512 * GIB - HUGE + (p - 4) * HUGE;
}

static uint64_t page_va(unsigned i)
{
    return piece_base(i / 512) + (i % 512) * PAGE;
}

/* Reference entry: 0, or VALID | flags | frame << 12. */
static uint64_t ref[NPAGES];

static bool ref_run_ok(unsigned first, unsigned n, unsigned align)
{
    uint64_t f0 = gpusim__gpu_pte_frame(ref[first]);
    if (!(ref[first] & VALID) || f0 % align != 0)
        return false;
    for (unsigned j = 1; j < n; j++)
        if ((ref[first + j] & KIND) != (ref[first] & KIND) ||
            gpusim__gpu_pte_frame(ref[first + j]) != f0 + j)
            return false;
    return true;
}

static void check_against_reference(fx *f)
{
    assert_true(gpusim__gpu_pt_check(f->pt));
    uint64_t mapped = 0, l1_tables = 0;
    bool any[PIECES];
    for (unsigned p = 0; p < PIECES; p++) {
        bool leaf = ref_run_ok(p * 512, 512, 512);
        any[p] = false;
        for (unsigned j = 0; j < 512; j++) {
            unsigned i = p * 512 + j;
            uint64_t expect_size = PAGE;
            if (leaf)
                expect_size = HUGE;
            else if (ref_run_ok(i & ~15u, 16, 16))
                expect_size = FRAG;
            gpusim__gpu_pt_walk w;
            bool valid = gpusim__gpu_pt_walk_va(f->pt, page_va(i), &w);
            if (!(ref[i] & VALID)) {
                if (valid)
                    fail_msg("page %u mapped, expected a hole", i);
                continue;
            }
            any[p] = true;
            mapped++;
            if (!valid)
                fail_msg("page %u not mapped", i);
            assert_int_equal(w.pte & KIND, ref[i] & KIND);
            assert_int_equal(w.pa, gpusim__gpu_pte_frame(ref[i]) * PAGE);
            if (w.size != expect_size)
                fail_msg("page %u: size %llu, expected %llu", i, (unsigned long long)w.size,
                         (unsigned long long)expect_size);
            assert_int_equal(w.levels, leaf ? 3 : 4);
        }
        l1_tables += any[p] && !leaf;
    }
    /* Every table the reference implies, and no other: empty ones freed, full ones merged.
     * Pieces 0-1 and 2-3 share a 1 GiB region each; 4 and 5 sit either side of 512 GiB. */
    uint64_t l2 = (any[0] || any[1]) + (any[2] || any[3]) + any[4] + any[5];
    uint64_t l3 = (any[0] || any[1] || any[2] || any[3] || any[4]) + any[5];
    uint64_t tables = 1 + l3 + l2 + l1_tables;
    assert_int_equal(f->pt->tables, tables);
    assert_int_equal(gpusim__gpu_vram_used(f->v), tables);
    assert_int_equal(f->pt->mapped_pages, mapped);
}

static void test_randomized_against_reference(void **state)
{
    (void)state;
    fx f = fx_new(64 * MIB);
    memset(ref, 0, sizeof ref);
    rng_state = 42;
    static uint64_t frames[NPAGES];
    unsigned counts[3] = {0, 0, 0};
    for (int step = 0; step < 4000; step++) {
        /* Ranges within one contiguous run of the window (pieces 0-3, or 4-5). */
        bool high = below(3) == 0;
        unsigned lo = high ? 4 * 512 : 0, n_run = high ? 2 * 512 : 4 * 512;
        unsigned first, n;
        switch (below(4)) {
        case 0: /* a few pages */
            n = 1 + (unsigned)below(20);
            first = lo + (unsigned)below(n_run - n + 1);
            break;
        case 1: /* aligned 64 KiB groups */
            n = 16 * (1 + (unsigned)below(4));
            first = lo + 16 * (unsigned)below((n_run - n) / 16 + 1);
            break;
        case 2: /* whole 2 MiB pieces */
            n = 512 * (1 + (unsigned)below(n_run / 512));
            first = lo + 512 * (unsigned)below((n_run - n) / 512 + 1);
            break;
        default: /* anything */
            n = 1 + (unsigned)below(n_run);
            first = lo + (unsigned)below(n_run - n + 1);
            break;
        }
        uint64_t va = page_va(first), len = (uint64_t)n * PAGE;
        unsigned kind = (unsigned)below(3);
        counts[kind]++;
        uint64_t writes;
        if (kind == 0) {
            uint64_t flags = below(4) << 1 | (below(4) == 0 ? GPUSIM__GPU_PTE_SYSTEM : 0);
            unsigned mode = (unsigned)below(3);
            /* Frames in phase with the VA (so leaves and fragments form), off by one, or random. */
            uint64_t base = 4096 * (1 + below(4));
            for (unsigned j = 0; j < n; j++) {
                unsigned i = first + j;
                frames[j] = mode == 0 ? base + i : mode == 1 ? base + 1 + i : below(1u << 20);
                ref[i] = VALID | flags | frames[j] << 12;
            }
            ASSERT_OK(gpusim__gpu_pt_map(f.pt, va, len, frames, flags, &writes));
        } else if (kind == 1) {
            for (unsigned j = 0; j < n; j++)
                ref[first + j] = 0;
            ASSERT_OK(gpusim__gpu_pt_unmap(f.pt, va, len, &writes));
        } else {
            uint64_t perms = below(4) << 1;
            for (unsigned j = 0; j < n; j++)
                if (ref[first + j] & VALID)
                    ref[first + j] = (ref[first + j] & ~GPUSIM__GPU_PTE_PERMS) | perms;
            ASSERT_OK(gpusim__gpu_pt_protect(f.pt, va, len, perms, &writes));
        }
        /* At most: the n PTEs, two split tables, FRAG bits of the two end groups, directories. */
        assert_true(writes <= (uint64_t)n + 2 * 512 + 2 * 16 + 16);
        check_against_reference(&f);
    }
    assert_true(counts[0] > 1000 && counts[1] > 1000 && counts[2] > 1000);
    assert_true(stat_count(f.w, "gpu.pt.splits") > 10);
    assert_true(stat_count(f.w, "gpu.pt.merges") > 10);
    fx_free(&f);
    ASSERT_NO_LEAK();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        GPUSIM_TEST(test_params_table),
        GPUSIM_TEST(test_vram_frames),
        GPUSIM_TEST(test_vram_80gib_is_compact),
        GPUSIM_TEST(test_vram_check_catches_corruption),
        GPUSIM_TEST(test_vram_new_allocation_failures),
        GPUSIM_TEST(test_pt_new_and_free),
        GPUSIM_TEST(test_world_teardown_frees_tables),
        GPUSIM_TEST(test_map_unmap_4k),
        GPUSIM_TEST(test_fragments_form_and_break),
        GPUSIM_TEST(test_2m_leaves),
        GPUSIM_TEST(test_split_by_partial_unmap),
        GPUSIM_TEST(test_unmap_covering_whole_tables),
        GPUSIM_TEST(test_split_by_partial_protect_and_merge_back),
        GPUSIM_TEST(test_merge_by_mapping_pages_one_by_one),
        GPUSIM_TEST(test_boundaries),
        GPUSIM_TEST(test_bad_arguments_change_nothing),
        GPUSIM_TEST(test_allocation_failures_change_nothing),
        GPUSIM_TEST(test_vram_exhaustion_changes_nothing),
        GPUSIM_TEST(test_statistics),
        GPUSIM_TEST(test_randomized_against_reference),
    };
    return cmocka_run_group_tests_name("gpu_pt", tests, NULL, NULL);
}
