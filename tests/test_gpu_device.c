/*
 * tests/test_gpu_device.c -- devices and VM contexts through the public API (gpusim/gpu.h):
 * configuration by name, life cycle and ownership, map/unmap/protect with their costs, every TLB
 * invalidation form, and the checker's detection of stale TLB entries.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "gpusim.h"
#include "core/alloc.h"
#include "gpu/device.h"
#include "test_util.h"

#define KIB   UINT64_C(1024)
#define MIB   (KIB * KIB)
#define PAGE  (4 * KIB)
#define VA    UINT64_C(0x7f0000000000) /* 2 MiB aligned */
#define RW    (GPUSIM_GPU_READ | GPUSIM_GPU_WRITE)
#define NPAGE 1024 /* 4 MiB */

static uint64_t frames[NPAGE];

/* Frames base, base + 1, ...: contiguous (2 MiB leaves when base is a multiple of 512). */
static const uint64_t *run_of(uint64_t base, size_t n)
{
    for (size_t i = 0; i < n; i++)
        frames[i] = base + i;
    return frames;
}

static void check_ok(const gpusim_gpu_t *g)
{
    char msg[256];
    if (gpusim_gpu_check(g, msg, sizeof msg))
        fail_msg("gpu check: %s", msg);
}

static gpusim_gpu_t *small_gpu(gpusim_world_t *w, const char *name)
{
    gpusim_gpu_config_t cfg;
    gpusim_gpu_t *g;
    char msg[128];
    gpusim_gpu_config_init(&cfg);
    cfg.name = name;
    ASSERT_OK(gpusim_gpu_config_set(&cfg, "vram_size", "64MiB", false, msg, sizeof msg));
    ASSERT_OK(gpusim_gpu_new(w, &cfg, &g));
    return g;
}

/* Translates through the TLBs of engine 0, as an engine would (fills them). */
static int xlate(gpusim_gpu_ctx_t *c, uint64_t va, gpusim__gpu_xlate *x)
{
    return gpusim__gpu_tlb_translate(c->gpu->tlb, 0, c->pt, va, x);
}

/* ---- configuration -------------------------------------------------------------------------- */

static void test_config(void **state)
{
    gpusim_gpu_config_t cfg;
    gpusim_param_info_t pi;
    uint64_t v;
    char msg[128];
    size_t n = 0;
    (void)state;
    gpusim_gpu_config_init(&cfg);
    assert_string_equal(cfg.name, "gpu0");
    ASSERT_OK(gpusim_gpu_config_get(&cfg, "page_walk_level", &v));
    assert_int_equal(v, 125);
    ASSERT_OK(gpusim_gpu_config_set(&cfg, "page_walk_level", "0.2us", false, msg, sizeof msg));
    ASSERT_OK(gpusim_gpu_config_get(&cfg, "page_walk_level", &v));
    assert_int_equal(v, 200);
    ASSERT_ERR(gpusim_gpu_config_set(&cfg, "page_walk_level", "1ms", false, msg, sizeof msg),
               GPUSIM_ERANGE);
    assert_non_null(strstr(msg, "plausible"));
    ASSERT_OK(gpusim_gpu_config_get(&cfg, "page_walk_level", &v));
    assert_int_equal(v, 200); /* unchanged by the refusal */
    ASSERT_OK(gpusim_gpu_config_set(&cfg, "page_walk_level", "1ms", true, msg, sizeof msg));
    ASSERT_ERR(gpusim_gpu_config_set(&cfg, "nope", "1", false, msg, sizeof msg), GPUSIM_ENOENT);
    assert_non_null(strstr(msg, "GPU parameter"));
    ASSERT_ERR(gpusim_gpu_config_set(NULL, "vram_size", "1GiB", false, msg, sizeof msg),
               GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_gpu_config_get(&cfg, NULL, &v), GPUSIM_EINVAL);
    for (; gpusim_gpu_param_info(n, &pi) == 0; n++) {
        assert_true(pi.def >= pi.min && pi.def <= pi.max);
        assert_true(strlen(pi.source) > 10);
        ASSERT_OK(gpusim_gpu_config_get(&cfg, pi.name, &v));
    }
    assert_int_equal(n, GPUSIM__GPU_P_COUNT);
    ASSERT_ERR(gpusim_gpu_param_info(0, NULL), GPUSIM_EINVAL);
}

/* ---- life cycle ----------------------------------------------------------------------------- */

static void test_new_bad_arguments(void **state)
{
    gpusim_world_t *w = test_world(1);
    gpusim_gpu_config_t cfg;
    gpusim_gpu_t *g = NULL;
    static const char *const bad_names[] = {"", "GPU", "a-b", "a b",
                                            "a_name_much_longer_than_31_chars_"};
    (void)state;
    ASSERT_ERR(gpusim_gpu_new(NULL, NULL, &g), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_gpu_new(w, NULL, NULL), GPUSIM_EINVAL);
    for (size_t i = 0; i < GPUSIM_ARRAY_SIZE(bad_names); i++) {
        gpusim_gpu_config_init(&cfg);
        cfg.name = bad_names[i];
        ASSERT_ERR(gpusim_gpu_new(w, &cfg, &g), GPUSIM_EINVAL);
    }
    gpusim_gpu_config_init(&cfg);
    cfg.name = NULL;
    ASSERT_ERR(gpusim_gpu_new(w, &cfg, &g), GPUSIM_EINVAL);
    gpusim_gpu_config_init(&cfg);
    cfg.engines = 0;
    ASSERT_ERR(gpusim_gpu_new(w, &cfg, &g), GPUSIM_EINVAL);
    cfg.engines = GPUSIM_GPU_MAX_ENGINES + 1;
    ASSERT_ERR(gpusim_gpu_new(w, &cfg, &g), GPUSIM_EINVAL);
    /* TLB geometry that does not divide into sets. */
    gpusim_gpu_config_init(&cfg);
    cfg.params_[GPUSIM__GPU_P_tlb_l2_ways] = 3;
    ASSERT_ERR(gpusim_gpu_new(w, &cfg, &g), GPUSIM_EINVAL);
    assert_null(g);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* Two devices in one world; a name cannot be used twice; the world frees what is left. */
static void test_two_devices(void **state)
{
    gpusim_world_t *w = test_world(1);
    gpusim_gpu_t *a = small_gpu(w, "a"), *b = small_gpu(w, "b"), *dup = NULL;
    gpusim_gpu_ctx_t *ca, *cb;
    gpusim_gpu_config_t cfg;
    gpusim_gpu_pte_t e;
    gpusim_stat_info_t si;
    (void)state;
    assert_string_equal(gpusim_gpu_name(a), "a");
    gpusim_gpu_config_init(&cfg);
    cfg.name = "a";
    ASSERT_ERR(gpusim_gpu_new(w, &cfg, &dup), GPUSIM_EEXIST);
    ASSERT_OK(gpusim_gpu_ctx_new(a, NULL, &ca));
    ASSERT_OK(gpusim_gpu_ctx_new(b, NULL, &cb));
    ASSERT_OK(gpusim_gpu_map(ca, VA, PAGE, run_of(7, 1), RW | GPUSIM_GPU_SYSTEM, NULL));
    ASSERT_OK(gpusim_gpu_translate(cb, VA, &e));
    assert_false(e.valid); /* devices share nothing */
    ASSERT_OK(gpusim_stats_get(w, "gpu.a.vram.used_bytes", &si));
    assert_true(si.value > 0);
    ASSERT_OK(gpusim_stats_get(w, "gpu.b.vram.used_bytes", &si));
    assert_int_equal(si.value, PAGE); /* b's root table only */
    check_ok(a);
    check_ok(b);
    gpusim_gpu_free(b);
    gpusim_world_free(w); /* frees a and its context */
    ASSERT_NO_LEAK();
}

/* Context ids are distinct and never reused; freeing a context returns its tables to VRAM. */
static void test_contexts(void **state)
{
    gpusim_world_t *w = test_world(1);
    gpusim_gpu_t *g = small_gpu(w, "g");
    gpusim_gpu_ctx_t *c1, *c2, *c3;
    int tag;
    uint64_t used0 = gpusim__gpu_vram_used(g->vram);
    (void)state;
    ASSERT_ERR(gpusim_gpu_ctx_new(NULL, NULL, &c1), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_gpu_ctx_new(g, NULL, NULL), GPUSIM_EINVAL);
    ASSERT_OK(gpusim_gpu_ctx_new(g, &tag, &c1));
    ASSERT_OK(gpusim_gpu_ctx_new(g, NULL, &c2));
    assert_ptr_equal(gpusim_gpu_ctx_data(c1), &tag);
    assert_ptr_equal(gpusim_gpu_ctx_gpu(c1), g);
    assert_int_not_equal(gpusim_gpu_ctx_id(c1), gpusim_gpu_ctx_id(c2));
    assert_int_equal(gpusim__gpu_vram_used(g->vram), used0 + 2);
    ASSERT_OK(gpusim_gpu_map(c1, VA, 4 * MIB, run_of(512, 1024), RW, NULL));
    assert_true(gpusim__gpu_vram_used(g->vram) > used0 + 2);
    gpusim_gpu_ctx_free(c1);
    assert_int_equal(gpusim__gpu_vram_used(g->vram), used0 + 1);
    ASSERT_OK(gpusim_gpu_ctx_new(g, NULL, &c3));
    assert_true(gpusim_gpu_ctx_id(c3) > gpusim_gpu_ctx_id(c2));
    check_ok(g);
    gpusim_gpu_ctx_free(NULL);
    gpusim_gpu_free(g);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* Every allocation point of gpusim_gpu_new and gpusim_gpu_ctx_new fails cleanly. */
static void test_alloc_failures(void **state)
{
    gpusim_world_t *w = test_world(1);
    int points = 0;
    (void)state;
    for (long k = 1;; k++) {
        gpusim_gpu_config_t cfg;
        gpusim_gpu_t *g = NULL;
        gpusim_gpu_ctx_t *c = NULL;
        char name[24];
        int rc;
        bool fired;
        gpusim_gpu_config_init(&cfg);
        snprintf(name, sizeof name, "g%ld", k);
        cfg.name = name;
        cfg.params_[GPUSIM__GPU_P_vram_size] = 64 * MIB;
        gpusim__alloc_fail_nth(k);
        rc = gpusim_gpu_new(w, &cfg, &g);
        if (rc == 0)
            rc = gpusim_gpu_ctx_new(g, NULL, &c);
        fired = gpusim__alloc_fail_fired();
        gpusim__alloc_fail_nth(0);
        if (!fired) {
            ASSERT_OK(rc);
            check_ok(g);
            gpusim_gpu_free(g);
            break;
        }
        points++;
        ASSERT_ERR(rc, GPUSIM_ENOMEM);
        assert_null(c);
        if (g) {
            check_ok(g);
            gpusim_gpu_free(g);
        }
    }
    assert_true(points >= 4);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* ---- page tables ---------------------------------------------------------------------------- */

/* map/translate/protect/unmap through the public flags, with the cost of the entries written. */
static void test_map_protect_unmap(void **state)
{
    gpusim_world_t *w = test_world(1);
    gpusim_gpu_t *g = small_gpu(w, "g");
    gpusim_gpu_ctx_t *c;
    gpusim_gpu_pte_t e;
    gpusim_time_t cost = 1;
    uint64_t per;
    (void)state;
    ASSERT_OK(gpusim_gpu_ctx_new(g, NULL, &c));
    per = g->p[GPUSIM__GPU_P_pte_update_per_4k];
    /* One 4 KiB page of host memory: a PTE and three new directory entries. */
    ASSERT_OK(gpusim_gpu_map(c, VA + PAGE, PAGE, run_of(12345, 1),
                             GPUSIM_GPU_READ | GPUSIM_GPU_SYSTEM, &cost));
    assert_int_equal(cost, 4 * per);
    ASSERT_OK(gpusim_gpu_translate(c, VA + PAGE + 100, &e));
    assert_true(e.valid);
    assert_int_equal(e.flags, GPUSIM_GPU_READ | GPUSIM_GPU_SYSTEM);
    assert_int_equal(e.frame, 12345);
    assert_int_equal(e.page_size, PAGE);
    /* 2 MiB of contiguous, aligned VRAM frames: one 2 MiB leaf. */
    ASSERT_OK(gpusim_gpu_map(c, VA + 2 * MIB, 2 * MIB, run_of(1024, 512), RW, &cost));
    ASSERT_OK(gpusim_gpu_translate(c, VA + 3 * MIB, &e));
    assert_int_equal(e.page_size, 2 * MIB);
    assert_int_equal(e.frame, 1024 + 256);
    assert_int_equal(e.flags, RW);
    /* Protect to read-only, then unmap: each reports its writes. */
    ASSERT_OK(gpusim_gpu_protect(c, VA + 2 * MIB, 2 * MIB, GPUSIM_GPU_READ, &cost));
    assert_int_equal(cost, per); /* the one leaf */
    ASSERT_OK(gpusim_gpu_translate(c, VA + 2 * MIB, &e));
    assert_int_equal(e.flags, GPUSIM_GPU_READ);
    ASSERT_OK(gpusim_gpu_unmap(c, VA, 4 * MIB, &cost));
    assert_true(cost >= 2 * per);
    ASSERT_OK(gpusim_gpu_translate(c, VA + PAGE, &e));
    assert_false(e.valid);
    assert_int_equal(e.page_size, 0);
    check_ok(g);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* Bad arguments are refused with their documented code and change nothing. */
static void test_pt_bad_arguments(void **state)
{
    gpusim_world_t *w = test_world(1);
    gpusim_gpu_t *g = small_gpu(w, "g");
    gpusim_gpu_ctx_t *c;
    gpusim_gpu_pte_t e;
    gpusim_time_t cost = 77;
    uint64_t used;
    (void)state;
    ASSERT_OK(gpusim_gpu_ctx_new(g, NULL, &c));
    ASSERT_OK(gpusim_gpu_map(c, VA, PAGE, run_of(5, 1), RW, NULL));
    used = gpusim__gpu_vram_used(g->vram);
    ASSERT_ERR(gpusim_gpu_map(NULL, VA, PAGE, frames, RW, &cost), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_gpu_map(c, VA, PAGE, NULL, RW, &cost), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_gpu_map(c, VA + 1, PAGE, frames, RW, &cost), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_gpu_map(c, VA, 100, frames, RW, &cost), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_gpu_map(c, VA, 0, frames, RW, &cost), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_gpu_map(c, VA, PAGE, frames, 0x8, &cost), GPUSIM_EINVAL);
    frames[0] = GPUSIM_GPU_FRAME_MAX + 1;
    ASSERT_ERR(gpusim_gpu_map(c, VA, PAGE, frames, RW, &cost), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_gpu_map(c, GPUSIM_GPU_VA_END - PAGE, 2 * PAGE, run_of(1, 2), RW, &cost),
               GPUSIM_EFAULT);
    ASSERT_ERR(gpusim_gpu_map(c, GPUSIM_GPU_VA_END, PAGE, run_of(1, 1), RW, &cost), GPUSIM_EFAULT);
    ASSERT_ERR(gpusim_gpu_protect(c, VA, PAGE, GPUSIM_GPU_SYSTEM, &cost), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_gpu_protect(NULL, VA, PAGE, RW, &cost), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_gpu_unmap(c, VA, UINT64_MAX - PAGE + 1, &cost), GPUSIM_EFAULT);
    ASSERT_ERR(gpusim_gpu_unmap(NULL, VA, PAGE, &cost), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_gpu_translate(c, GPUSIM_GPU_VA_END, &e), GPUSIM_EFAULT);
    ASSERT_ERR(gpusim_gpu_translate(c, VA, NULL), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_gpu_tlb_invalidate(c, VA, 0, &cost), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_gpu_tlb_invalidate(c, GPUSIM_GPU_VA_END - PAGE, 2 * PAGE, &cost),
               GPUSIM_EFAULT);
    ASSERT_ERR(gpusim_gpu_tlb_invalidate(NULL, VA, PAGE, &cost), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_gpu_tlb_invalidate_ctx(NULL, &cost), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_gpu_tlb_invalidate_all(NULL, &cost), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_gpu_check(NULL, NULL, 0), GPUSIM_EINVAL);
    assert_int_equal(cost, 77); /* never written on error */
    ASSERT_OK(gpusim_gpu_translate(c, VA, &e));
    assert_true(e.valid && e.frame == 5 && e.flags == RW);
    assert_int_equal(gpusim__gpu_vram_used(g->vram), used);
    check_ok(g);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* ---- TLBs ----------------------------------------------------------------------------------- */

/*
 * Changing a table without invalidating leaves a stale TLB entry, which the checker reports; each
 * invalidation form (range, context, all) removes it, at its cost.
 */
static void test_stale_entries_and_invalidation(void **state)
{
    gpusim_world_t *w = test_world(1);
    gpusim_gpu_t *g = small_gpu(w, "g");
    gpusim_gpu_ctx_t *c;
    gpusim__gpu_xlate x;
    gpusim_time_t cost;
    char msg[256];
    (void)state;
    ASSERT_OK(gpusim_gpu_ctx_new(g, NULL, &c));
    for (int form = 0; form < 3; form++) {
        ASSERT_OK(gpusim_gpu_map(c, VA, PAGE, run_of(40, 1), RW, NULL));
        ASSERT_OK(xlate(c, VA, &x));
        assert_int_equal(x.pa, 40 * PAGE);
        check_ok(g);
        /* Remap to another frame without invalidating: the TLB still says frame 40. */
        ASSERT_OK(gpusim_gpu_map(c, VA, PAGE, run_of(41, 1), RW, NULL));
        ASSERT_ERR(gpusim_gpu_check(g, msg, sizeof msg), GPUSIM_ECORRUPT);
        assert_non_null(strstr(msg, "stale"));
        ASSERT_OK(xlate(c, VA, &x));
        assert_int_equal(x.pa, 40 * PAGE); /* what a GPU with a stale TLB would use */
        if (form == 0) {
            ASSERT_OK(gpusim_gpu_tlb_invalidate(c, VA, PAGE, &cost));
            assert_int_equal(cost, g->p[GPUSIM__GPU_P_tlb_inval_range]);
        } else if (form == 1) {
            ASSERT_OK(gpusim_gpu_tlb_invalidate_ctx(c, &cost));
            assert_int_equal(cost, g->p[GPUSIM__GPU_P_tlb_inval_context]);
        } else {
            ASSERT_OK(gpusim_gpu_tlb_invalidate_all(g, &cost));
            assert_int_equal(cost, g->p[GPUSIM__GPU_P_tlb_inval_global]);
        }
        check_ok(g);
        ASSERT_OK(xlate(c, VA, &x));
        assert_int_equal(x.pa, 41 * PAGE);
        ASSERT_OK(gpusim_gpu_unmap(c, VA, PAGE, NULL));
        ASSERT_OK(gpusim_gpu_tlb_invalidate(c, VA, PAGE, NULL));
    }
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* A cached 4 KiB entry stays coherent when mapping its neighbours merges its page into a 64 KiB
 * fragment (the translation is unchanged); a cached 64 KiB entry is stale once one of its pages
 * is remapped elsewhere (the fragment splits). */
static void test_merged_fragment_not_stale(void **state)
{
    gpusim_world_t *w = test_world(1);
    gpusim_gpu_t *g = small_gpu(w, "g");
    gpusim_gpu_ctx_t *c;
    gpusim__gpu_xlate x;
    char msg[256];
    (void)state;
    ASSERT_OK(gpusim_gpu_ctx_new(g, NULL, &c));
    ASSERT_OK(gpusim_gpu_map(c, VA, PAGE, run_of(64, 1), RW, NULL));
    ASSERT_OK(xlate(c, VA, &x)); /* a 4 KiB entry */
    ASSERT_OK(gpusim_gpu_map(c, VA + PAGE, 15 * PAGE, run_of(65, 15), RW, NULL));
    check_ok(g); /* merged into a fragment: the 4 KiB entry still agrees */
    ASSERT_OK(gpusim_gpu_tlb_invalidate_ctx(c, NULL));
    ASSERT_OK(xlate(c, VA, &x)); /* now a 64 KiB entry */
    ASSERT_OK(gpusim_gpu_map(c, VA + 3 * PAGE, PAGE, run_of(200, 1), RW, NULL));
    ASSERT_ERR(gpusim_gpu_check(g, msg, sizeof msg), GPUSIM_ECORRUPT);
    assert_non_null(strstr(msg, "stale"));
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* Contexts are isolated in the TLBs: the same VA translates per context, and invalidating one
 * context leaves the other's entries; a freed context leaves no entry behind. */
static void test_context_isolation(void **state)
{
    gpusim_world_t *w = test_world(1);
    gpusim_gpu_t *g = small_gpu(w, "g");
    gpusim_gpu_ctx_t *a, *b;
    gpusim__gpu_xlate x;
    (void)state;
    ASSERT_OK(gpusim_gpu_ctx_new(g, NULL, &a));
    ASSERT_OK(gpusim_gpu_ctx_new(g, NULL, &b));
    ASSERT_OK(gpusim_gpu_map(a, VA, PAGE, run_of(100, 1), RW, NULL));
    ASSERT_OK(gpusim_gpu_map(b, VA, PAGE, run_of(200, 1), RW, NULL));
    ASSERT_OK(xlate(a, VA, &x));
    assert_int_equal(x.pa, 100 * PAGE);
    ASSERT_OK(xlate(b, VA, &x));
    assert_int_equal(x.pa, 200 * PAGE);
    ASSERT_OK(gpusim_gpu_tlb_invalidate_ctx(a, NULL));
    ASSERT_OK(xlate(b, VA, &x));
    assert_int_equal(x.source, GPUSIM__GPU_XLATE_L1); /* b's entry survived */
    ASSERT_OK(xlate(a, VA, &x));
    assert_int_equal(x.source, GPUSIM__GPU_XLATE_WALK); /* a's did not */
    gpusim_gpu_ctx_free(a);
    check_ok(g); /* no entry names the freed context */
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* An engine access through the public API: walk then L1 hit, permission faults, unmapped faults
 * with their cost, a stale translation used until invalidated, bad arguments. */
static void test_engine_access(void **state)
{
    gpusim_world_t *w = test_world(1);
    gpusim_gpu_t *g = small_gpu(w, "g");
    gpusim_gpu_ctx_t *c;
    gpusim_gpu_access_t a;
    uint64_t walk4 = 4 * g->p[GPUSIM__GPU_P_page_walk_level];
    (void)state;
    ASSERT_OK(gpusim_gpu_ctx_new(g, NULL, &c));
    ASSERT_OK(gpusim_gpu_map(c, VA, PAGE, run_of(9, 1), GPUSIM_GPU_READ | GPUSIM_GPU_SYSTEM, NULL));
    ASSERT_OK(gpusim_gpu_access(c, 1, VA + 8, false, &a));
    assert_int_equal(a.source, GPUSIM_GPU_XLATE_WALK);
    assert_int_equal(a.pa, 9 * PAGE + 8);
    assert_int_equal(a.flags, GPUSIM_GPU_READ | GPUSIM_GPU_SYSTEM);
    assert_int_equal(a.page_size, PAGE);
    assert_true(a.cost >= walk4);
    ASSERT_OK(gpusim_gpu_access(c, 1, VA + 16, false, &a));
    assert_int_equal(a.source, GPUSIM_GPU_XLATE_L1);
    assert_int_equal(a.cost, g->p[GPUSIM__GPU_P_tlb_l1_lookup]);
    /* Engine 0 has its own L1: it finds the page in the shared L2. */
    ASSERT_OK(gpusim_gpu_access(c, 0, VA, false, &a));
    assert_int_equal(a.source, GPUSIM_GPU_XLATE_L2);
    /* A write to a read-only page faults; so does an unmapped page, after a walk. */
    ASSERT_ERR(gpusim_gpu_access(c, 1, VA, true, &a), GPUSIM_EGPUFAULT);
    assert_int_equal(a.pa, 0);
    ASSERT_ERR(gpusim_gpu_access(c, 1, VA + PAGE, false, &a), GPUSIM_EGPUFAULT);
    assert_int_equal(a.source, GPUSIM_GPU_XLATE_WALK);
    assert_true(a.cost > 0);
    assert_int_equal(a.page_size, 0);
    /* Unmapped without an invalidation: the engine keeps using the stale translation. */
    ASSERT_OK(gpusim_gpu_unmap(c, VA, PAGE, NULL));
    ASSERT_OK(gpusim_gpu_access(c, 1, VA, false, &a));
    assert_int_equal(a.pa, 9 * PAGE);
    ASSERT_OK(gpusim_gpu_tlb_invalidate(c, VA, PAGE, NULL));
    ASSERT_ERR(gpusim_gpu_access(c, 1, VA, false, &a), GPUSIM_EGPUFAULT);
    ASSERT_ERR(gpusim_gpu_access(c, 2, VA, false, &a), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_gpu_access(NULL, 0, VA, false, &a), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_gpu_access(c, 0, VA, false, NULL), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_gpu_access(c, 0, GPUSIM_GPU_VA_END, false, &a), GPUSIM_EFAULT);
    check_ok(g);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        GPUSIM_TEST(test_config),
        GPUSIM_TEST(test_new_bad_arguments),
        GPUSIM_TEST(test_two_devices),
        GPUSIM_TEST(test_contexts),
        GPUSIM_TEST(test_alloc_failures),
        GPUSIM_TEST(test_map_protect_unmap),
        GPUSIM_TEST(test_pt_bad_arguments),
        GPUSIM_TEST(test_stale_entries_and_invalidation),
        GPUSIM_TEST(test_merged_fragment_not_stale),
        GPUSIM_TEST(test_context_isolation),
        GPUSIM_TEST(test_engine_access),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
