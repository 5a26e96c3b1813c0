/*
 * test_badinput_gpu.c -- the bad-input catalogue of gpu.h: configuration, devices, contexts, page
 * tables and TLBs, accesses, address traces, faults, queues, preemption and fences.
 *
 * Every public function of gpu.h is called with each kind of bad argument that applies (NULL,
 * zero lengths, addresses and lengths that are not 4 KiB-aligned, ranges past the 48-bit VA or
 * wrapping past 2^64, unknown flags, engine indices past the last, ring sizes that are not powers
 * of two, fence handles never created, and retired states: a killed context, a queue stopped in
 * error, a freed fence handle, a cancelled waiter, a device freed under a waiter) and must return
 * exactly the error its header documents, change nothing observable (the page table, the device's
 * statistics, the world's queue, the output argument where the header says so) and leave the
 * device usable: gpusim_gpu_check() passes, a good map and access succeed afterwards and nothing
 * leaks. docs/reliability.md §3 states the rules.
 */
#include "badinput_util.h"
#include "gpu/params.h"

#define PG 4096u
#define VA GPUSIM_GPU_VA_END

typedef struct gfx {
    gpusim_world_t *w;
    gpusim_gpu_t *g;
    gpusim_gpu_ctx_t *c, *killed;
    gpusim_gpu_queue_t *q, *kq; /* a queue of c; a queue of the killed context */
    uint64_t frames[16];
} gfx;

static void gfx_init(gfx *x)
{
    memset(x, 0, sizeof *x);
    x->w = test_world(1);
    ASSERT_OK(gpusim_gpu_new(x->w, NULL, &x->g));
    ASSERT_OK(gpusim_gpu_ctx_new(x->g, NULL, &x->c));
    ASSERT_OK(gpusim_gpu_ctx_new(x->g, NULL, &x->killed));
    ASSERT_OK(gpusim_gpu_queue_new(x->c, 4096, &x->q));
    ASSERT_OK(gpusim_gpu_queue_new(x->killed, 4096, &x->kq));
    ASSERT_OK(gpusim_gpu_ctx_kill(x->killed, GPUSIM_EGPUFAULT));
    for (unsigned i = 0; i < 16; i++)
        x->frames[i] = 1000 + i;
    ASSERT_OK(gpusim_gpu_map(x->c, 0x100000, 16 * PG, x->frames,
                             GPUSIM_GPU_READ | GPUSIM_GPU_WRITE | GPUSIM_GPU_SYSTEM, NULL));
    ASSERT_OK(gpusim_world_run(x->w));
}

/* A digest of everything observable: every statistic of the world, the pending events, and the
 * translations of the mapped range and around it. */
typedef struct gsnap {
    uint64_t stats_digest;
    size_t nstats, pending;
    gpusim_gpu_pte_t pte[18];
} gsnap;

static gsnap snap(const gfx *x)
{
    gsnap s;
    gpusim_stats_iter_t it;
    gpusim_stat_info_t si;
    memset(&s, 0, sizeof s);
    ASSERT_OK(gpusim_stats_iter_init(&it, x->w, NULL));
    while (gpusim_stats_iter_next(&it, &si))
        s.stats_digest = s.stats_digest * 31 + si.count + (uint64_t)si.value + si.sum;
    s.nstats = gpusim_stats_count(x->w);
    s.pending = gpusim_world_pending(x->w);
    for (unsigned i = 0; i < 18; i++)
        ASSERT_OK(gpusim_gpu_translate(x->c, 0x100000 + (i - 1) * (uint64_t)PG, &s.pte[i]));
    return s;
}

static void assert_unchanged(const gfx *x, const gsnap *before)
{
    gsnap now = snap(x);
    assert_memory_equal(&now, before, sizeof now);
}

/* The device still works: consistent, and a good map + access + unmap + invalidate succeed. */
static void gpu_usable(gfx *x)
{
    char msg[256];
    gpusim_gpu_access_t a;
    uint64_t f = 77;
    if (gpusim_gpu_check(x->g, msg, sizeof msg))
        fail_msg("gpu check: %s", msg);
    ASSERT_OK(gpusim_gpu_map(x->c, 0x800000, PG, &f, GPUSIM_GPU_READ | GPUSIM_GPU_SYSTEM, NULL));
    ASSERT_OK(gpusim_gpu_access(x->c, 0, 0x800000, false, &a));
    assert_true(a.pa == 77 * (uint64_t)PG);
    ASSERT_OK(gpusim_gpu_unmap(x->c, 0x800000, PG, NULL));
    ASSERT_OK(gpusim_gpu_tlb_invalidate(x->c, 0x800000, PG, NULL));
    if (gpusim_gpu_check(x->g, msg, sizeof msg))
        fail_msg("gpu check: %s", msg);
}

static void gfx_free(gfx *x)
{
    gpu_usable(x);
    gpusim_world_free(x->w);
    ASSERT_NO_LEAK();
}

static void ctx_cb(void *data, int status)
{
    int *p = data;
    p[0]++;
    p[1] = status;
}

/* ---- configuration and devices ----------------------------------------------------------- */

static void test_config(void **state)
{
    (void)state;
    gpusim_gpu_config_t cfg;
    BAD_VOID(gpusim_gpu_config_init(NULL));
    gpusim_gpu_config_init(&cfg);
    PARAM_CATALOGUE(gpusim_gpu_config_set, gpusim_gpu_config_get, gpusim_gpu_param_info,
                    gpusim_gpu_config_t, cfg, "page_walk_level", "1000ns");
    BAD(gpusim_gpu_config_set(&cfg, "vram_size", "1.5B", true, NULL, 0), GPUSIM_EINVAL);
}

static void test_gpu_new(void **state)
{
    (void)state;
    gpusim_world_t *w = test_world(1);
    gpusim_gpu_config_t cfg;
    gpusim_gpu_t *g = (gpusim_gpu_t *)&cfg, *good;
    gpusim_gpu_t *const sentinel = g;
    size_t stats = gpusim_stats_count(w);

    BAD(gpusim_gpu_new(NULL, NULL, &g), GPUSIM_EINVAL);
    BAD(gpusim_gpu_new(w, NULL, NULL), GPUSIM_EINVAL);
    const char *names[] = {NULL, "", "Gpu", "gpu-0", "gpu.0", "0123456789012345678901234567890x"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        gpusim_gpu_config_init(&cfg);
        cfg.name = names[i];
        BAD(gpusim_gpu_new(w, &cfg, &g), GPUSIM_EINVAL);
    }
    const unsigned engines[] = {0, GPUSIM_GPU_MAX_ENGINES + 1, UINT32_MAX};
    for (size_t i = 0; i < sizeof engines / sizeof engines[0]; i++) {
        gpusim_gpu_config_init(&cfg);
        cfg.engines = engines[i];
        BAD(gpusim_gpu_new(w, &cfg, &g), GPUSIM_EINVAL);
    }
    /* TLB geometry that does not divide (forced past the plausible checks). */
    gpusim_gpu_config_init(&cfg);
    ASSERT_OK(gpusim_gpu_config_set(&cfg, "tlb_l1_ways", "3", true, NULL, 0));
    BAD(gpusim_gpu_new(w, &cfg, &g), GPUSIM_EINVAL);
    gpusim_gpu_config_init(&cfg);
    ASSERT_OK(gpusim_gpu_config_set(&cfg, "tlb_l2_ways", "4097", true, NULL, 0));
    BAD(gpusim_gpu_new(w, &cfg, &g), GPUSIM_EINVAL);
    /* A config never initialised: zero sizes and counts. */
    memset(&cfg, 0, sizeof cfg);
    cfg.name = "zero";
    cfg.engines = 2;
    BAD(gpusim_gpu_new(w, &cfg, &g), GPUSIM_EINVAL);
    /* Parameters at zero where zero means nothing can work (rates cannot be set to 0 by name:
     * the private array is written as an uninitialised config would hold them). */
    const int zero_params[] = {
        GPUSIM__GPU_P_vram_size,       GPUSIM__GPU_P_tlb_l1_entries,
        GPUSIM__GPU_P_tlb_l2_entries,  GPUSIM__GPU_P_pwc_ways,
        GPUSIM__GPU_P_fault_batch_max, GPUSIM__GPU_P_fault_buffer_entries,
        GPUSIM__GPU_P_compute_units,   GPUSIM__GPU_P_hbm_bw,
        GPUSIM__GPU_P_pcie_h2d_pinned, GPUSIM__GPU_P_pcie_d2h_pinned,
        GPUSIM__GPU_P_engine_quantum,  GPUSIM__GPU_P_fault_outstanding_per_utlb,
    };
    for (size_t i = 0; i < sizeof zero_params / sizeof zero_params[0]; i++) {
        gpusim_gpu_config_init(&cfg);
        cfg.name = "zero";
        cfg.params_[zero_params[i]] = 0;
        BAD(gpusim_gpu_new(w, &cfg, &g), GPUSIM_EINVAL);
    }
    gpusim_gpu_config_init(&cfg);
    cfg.name = "zero";
    ASSERT_OK(gpusim_gpu_config_set(&cfg, "fault_replay_policy", "7", true, NULL, 0));
    BAD(gpusim_gpu_new(w, &cfg, &g), GPUSIM_EINVAL);
    assert_ptr_equal(g, sentinel);
    assert_int_equal(gpusim_stats_count(w), stats);

    /* A name taken, also by a device freed since (its statistics stay). */
    ASSERT_OK(gpusim_gpu_new(w, NULL, &good));
    BAD(gpusim_gpu_new(w, NULL, &g), GPUSIM_EEXIST);
    gpusim_gpu_free(good);
    BAD(gpusim_gpu_new(w, NULL, &g), GPUSIM_EEXIST);
    assert_ptr_equal(g, sentinel);

    BAD_VOID(gpusim_gpu_free(NULL));
    BAD_EQ(gpusim_gpu_name(NULL), NULL);
    BAD(gpusim_gpu_check(NULL, NULL, 0), GPUSIM_EINVAL);

    gpusim_gpu_config_init(&cfg);
    cfg.name = "gpu1";
    ASSERT_OK(gpusim_gpu_new(w, &cfg, &good));
    ASSERT_OK(gpusim_gpu_check(good, NULL, 0));
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

static void test_ctx(void **state)
{
    (void)state;
    gfx x;
    gfx_init(&x);
    gpusim_gpu_ctx_t *c = (gpusim_gpu_ctx_t *)&x;
    gpusim_gpu_ctx_t *const sentinel = c;
    gsnap before = snap(&x);

    BAD(gpusim_gpu_ctx_new(NULL, NULL, &c), GPUSIM_EINVAL);
    BAD(gpusim_gpu_ctx_new(x.g, NULL, NULL), GPUSIM_EINVAL);
    assert_ptr_equal(c, sentinel);
    BAD_VOID(gpusim_gpu_ctx_free(NULL));
    BAD_EQ(gpusim_gpu_ctx_id(NULL), 0);
    BAD_EQ(gpusim_gpu_ctx_data(NULL), NULL);
    BAD_EQ(gpusim_gpu_ctx_gpu(NULL), NULL);
    BAD_EQ(gpusim_gpu_ctx_error(NULL), GPUSIM_EINVAL);

    /* kill: NULL, a non-negative error; killed again (the first error stays). */
    BAD(gpusim_gpu_ctx_kill(NULL, GPUSIM_EINVAL), GPUSIM_EINVAL);
    BAD(gpusim_gpu_ctx_kill(x.c, 0), GPUSIM_EINVAL);
    BAD(gpusim_gpu_ctx_kill(x.c, 5), GPUSIM_EINVAL);
    assert_int_equal(gpusim_gpu_ctx_error(x.c), 0);
    BAD(gpusim_gpu_ctx_kill(x.killed, GPUSIM_ETIMEDOUT), GPUSIM_EBUSY);
    assert_int_equal(gpusim_gpu_ctx_error(x.killed), GPUSIM_EGPUFAULT);
    assert_unchanged(&x, &before);
    gfx_free(&x);
}

/* ---- page tables, TLBs, translation ------------------------------------------------------ */

static void test_map(void **state)
{
    (void)state;
    gfx x;
    gfx_init(&x);
    const unsigned rw = GPUSIM_GPU_READ | GPUSIM_GPU_WRITE | GPUSIM_GPU_SYSTEM;
    gpusim_time_t cost = 0x5a;
    uint64_t big[2] = {GPUSIM_GPU_FRAME_MAX + 1, 1};
    gsnap before = snap(&x);

    /* EINVAL: NULLs, misalignment, zero length, unknown flags, frames past the maximum. */
    BAD(gpusim_gpu_map(NULL, 0x200000, PG, x.frames, rw, &cost), GPUSIM_EINVAL);
    BAD(gpusim_gpu_map(x.c, 0x200000, PG, NULL, rw, &cost), GPUSIM_EINVAL);
    BAD(gpusim_gpu_map(x.c, 0x200001, PG, x.frames, rw, &cost), GPUSIM_EINVAL);
    BAD(gpusim_gpu_map(x.c, 0x200800, PG, x.frames, rw, &cost), GPUSIM_EINVAL);
    BAD(gpusim_gpu_map(x.c, 0x200000, PG + 512, x.frames, rw, &cost), GPUSIM_EINVAL);
    BAD(gpusim_gpu_map(x.c, 0x200000, 0, x.frames, rw, &cost), GPUSIM_EINVAL);
    BAD(gpusim_gpu_map(x.c, 0x200000, PG, x.frames, 0x8, &cost), GPUSIM_EINVAL);
    BAD(gpusim_gpu_map(x.c, 0x200000, PG, x.frames, ~0u, &cost), GPUSIM_EINVAL);
    BAD(gpusim_gpu_map(x.c, 0x200000, 2 * PG, big, rw, &cost), GPUSIM_EINVAL);
    big[0] = 1;
    big[1] = UINT64_MAX;
    BAD(gpusim_gpu_map(x.c, 0x200000, 2 * PG, big, rw, &cost), GPUSIM_EINVAL);
    /* EFAULT: past the VA, wrapping. */
    BAD(gpusim_gpu_map(x.c, VA, PG, x.frames, rw, &cost), GPUSIM_EFAULT);
    BAD(gpusim_gpu_map(x.c, VA - PG, 2 * PG, x.frames, rw, &cost), GPUSIM_EFAULT);
    BAD(gpusim_gpu_map(x.c, UINT64_MAX - PG + 1, 2 * PG, x.frames, rw, &cost), GPUSIM_EFAULT);
    BAD(gpusim_gpu_map(x.c, 0x200000, UINT64_MAX - PG + 1, x.frames, rw, &cost), GPUSIM_EFAULT);

    /* unmap and protect: the same ranges; protect also refuses SYSTEM and unknown bits. */
    BAD(gpusim_gpu_unmap(NULL, 0x100000, PG, &cost), GPUSIM_EINVAL);
    BAD(gpusim_gpu_unmap(x.c, 0x100001, PG, &cost), GPUSIM_EINVAL);
    BAD(gpusim_gpu_unmap(x.c, 0x100000, 100, &cost), GPUSIM_EINVAL);
    BAD(gpusim_gpu_unmap(x.c, 0x100000, 0, &cost), GPUSIM_EINVAL);
    BAD(gpusim_gpu_unmap(x.c, VA, PG, &cost), GPUSIM_EFAULT);
    BAD(gpusim_gpu_unmap(x.c, 0x100000, UINT64_MAX - PG + 1, &cost), GPUSIM_EFAULT);
    BAD(gpusim_gpu_protect(NULL, 0x100000, PG, GPUSIM_GPU_READ, &cost), GPUSIM_EINVAL);
    BAD(gpusim_gpu_protect(x.c, 0x100000, PG, GPUSIM_GPU_SYSTEM, &cost), GPUSIM_EINVAL);
    BAD(gpusim_gpu_protect(x.c, 0x100000, PG, 0x10, &cost), GPUSIM_EINVAL);
    BAD(gpusim_gpu_protect(x.c, 0x100004, PG, 0, &cost), GPUSIM_EINVAL);
    BAD(gpusim_gpu_protect(x.c, 0x100000, 0, 0, &cost), GPUSIM_EINVAL);
    BAD(gpusim_gpu_protect(x.c, VA - PG, 2 * PG, 0, &cost), GPUSIM_EFAULT);

    /* TLB invalidations: NULL, zero length, past the VA, wrapping. */
    BAD(gpusim_gpu_tlb_invalidate(NULL, 0x100000, PG, &cost), GPUSIM_EINVAL);
    BAD(gpusim_gpu_tlb_invalidate(x.c, 0x100000, 0, &cost), GPUSIM_EINVAL);
    BAD(gpusim_gpu_tlb_invalidate(x.c, VA, PG, &cost), GPUSIM_EFAULT);
    BAD(gpusim_gpu_tlb_invalidate(x.c, VA - 1, 2, &cost), GPUSIM_EFAULT);
    BAD(gpusim_gpu_tlb_invalidate(x.c, 0x1000, UINT64_MAX, &cost), GPUSIM_EFAULT);
    BAD(gpusim_gpu_tlb_invalidate_ctx(NULL, &cost), GPUSIM_EINVAL);
    BAD(gpusim_gpu_tlb_invalidate_all(NULL, &cost), GPUSIM_EINVAL);
    assert_true(cost == 0x5a);
    assert_unchanged(&x, &before);
    gfx_free(&x);
}

static void test_translate_access(void **state)
{
    (void)state;
    gfx x;
    gfx_init(&x);
    gpusim_gpu_pte_t pte;
    gpusim_gpu_access_t a;
    gsnap before = snap(&x);

    POISON(pte);
    BAD(gpusim_gpu_translate(NULL, 0x100000, &pte), GPUSIM_EINVAL);
    BAD(gpusim_gpu_translate(x.c, 0x100000, NULL), GPUSIM_EINVAL);
    BAD(gpusim_gpu_translate(x.c, VA, &pte), GPUSIM_EFAULT);
    BAD(gpusim_gpu_translate(x.c, UINT64_MAX, &pte), GPUSIM_EFAULT);
    ASSERT_UNTOUCHED(pte);

    POISON(a);
    BAD(gpusim_gpu_access(NULL, 0, 0x100000, false, &a), GPUSIM_EINVAL);
    BAD(gpusim_gpu_access(x.c, 0, 0x100000, false, NULL), GPUSIM_EINVAL);
    BAD(gpusim_gpu_access(x.c, 2, 0x100000, false, &a), GPUSIM_EINVAL); /* engines = 2 */
    BAD(gpusim_gpu_access(x.c, UINT32_MAX, 0x100000, false, &a), GPUSIM_EINVAL);
    BAD(gpusim_gpu_access(x.c, 0, VA, false, &a), GPUSIM_EFAULT);
    BAD(gpusim_gpu_access(x.c, 0, UINT64_MAX, true, &a), GPUSIM_EFAULT);
    ASSERT_UNTOUCHED(a);
    assert_unchanged(&x, &before);

    /* The batch: bad arguments change nothing, *done and out[] included. A first address past
     * the VA is EFAULT with *done = 0 and nothing done either. */
    {
        uint64_t vas[2] = {0x100000, 0x101000}, past[2] = {VA, 0x100000};
        gpusim_gpu_access_t outs[2];
        size_t done;
        POISON(outs);
        POISON(done);
        BAD(gpusim_gpu_access_batch(NULL, 0, vas, 2, false, outs, &done), GPUSIM_EINVAL);
        BAD(gpusim_gpu_access_batch(x.c, 0, vas, 2, false, NULL, &done), GPUSIM_EINVAL);
        BAD(gpusim_gpu_access_batch(x.c, 0, vas, 2, false, outs, NULL), GPUSIM_EINVAL);
        BAD(gpusim_gpu_access_batch(x.c, 0, NULL, 2, false, outs, &done), GPUSIM_EINVAL);
        BAD(gpusim_gpu_access_batch(x.c, 2, vas, 2, false, outs, &done), GPUSIM_EINVAL);
        BAD(gpusim_gpu_access_batch(x.c, UINT32_MAX, vas, 2, true, outs, &done), GPUSIM_EINVAL);
        BAD(gpusim_gpu_access_batch(NULL, 0, NULL, 0, false, outs, &done), GPUSIM_EINVAL);
        ASSERT_UNTOUCHED(outs);
        ASSERT_UNTOUCHED(done);
        BAD(gpusim_gpu_access_batch(x.c, 0, past, 2, false, outs, &done), GPUSIM_EFAULT);
        assert_int_equal(done, 0);
        ASSERT_UNTOUCHED(outs);
        assert_unchanged(&x, &before);
    }

    /* A miss and a permission miss: EGPUFAULT, with the time spent. */
    BAD(gpusim_gpu_access(x.c, 0, 0x900000, false, &a), GPUSIM_EGPUFAULT);
    assert_true(a.pa == 0 && a.page_size == 0);
    ASSERT_OK(gpusim_gpu_protect(x.c, 0x100000, PG, GPUSIM_GPU_READ, NULL));
    ASSERT_OK(gpusim_gpu_tlb_invalidate(x.c, 0x100000, PG, NULL));
    BAD(gpusim_gpu_access(x.c, 1, 0x100000, true, &a), GPUSIM_EGPUFAULT);
    gfx_free(&x);
}

static void test_trace_load(void **state)
{
    (void)state;
    gfx x;
    gfx_init(&x);
    uint32_t id = 0x5a;
    char msg[96];
    const char *good = "R 0\nW 0x1000 64\n";
    gsnap before = snap(&x);

    BAD(gpusim_gpu_trace_load(NULL, good, strlen(good), &id, msg, sizeof msg), GPUSIM_EINVAL);
    BAD(gpusim_gpu_trace_load(x.g, good, strlen(good), NULL, msg, sizeof msg), GPUSIM_EINVAL);
    BAD(gpusim_gpu_trace_load(x.g, NULL, 5, &id, msg, sizeof msg), GPUSIM_EINVAL);
    const char *bad[] = {
        "",        "# only a comment\n", "X 0\n",    "R\n",       "R zz\n",
        "R 0 0\n", "R 0 4097\n",         "R 0 -1\n", "R 0 1 2\n", "R 0xffffffffffffffff 2\n",
        "r 0\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        msg[0] = '\0';
        BAD(gpusim_gpu_trace_load(x.g, bad[i], strlen(bad[i]), &id, msg, sizeof msg),
            GPUSIM_EINVAL);
        assert_true(strncmp(msg, "line ", 5) == 0);
    }
    /* A NUL byte inside the text. */
    BAD(gpusim_gpu_trace_load(x.g, "R 0\0R 1\n", 8, &id, msg, sizeof msg), GPUSIM_EINVAL);
    assert_true(id == 0x5a);
    assert_unchanged(&x, &before);
    ASSERT_OK(gpusim_gpu_trace_load(x.g, good, strlen(good), &id, NULL, 0));
    assert_true(id == 1);
    gfx_free(&x);
}

/* ---- faults ------------------------------------------------------------------------------- */

static int touched;

static void touch_cb(gpusim_gpu_req_t *req, int status, const gpusim_gpu_access_t *a)
{
    (void)req;
    (void)a;
    touched = status == 0 ? 1 : status;
}

static void test_faults(void **state)
{
    (void)state;
    gfx x;
    gfx_init(&x);
    gpusim_gpu_fault_t out[4];
    size_t n = 0x5a;
    gpusim_time_t cost = 0x5a;
    gpusim_gpu_req_t req, busy;
    gpusim_gpu_access_t a;
    gsnap before = snap(&x);

    BAD(gpusim_gpu_set_fault_handler(NULL, NULL, NULL), GPUSIM_EINVAL);
    BAD(gpusim_gpu_fault_fetch(NULL, out, 4, &n, &cost), GPUSIM_EINVAL);
    BAD(gpusim_gpu_fault_fetch(x.g, NULL, 4, &n, &cost), GPUSIM_EINVAL);
    BAD(gpusim_gpu_fault_fetch(x.g, out, 4, NULL, &cost), GPUSIM_EINVAL);
    assert_true(n == 0x5a && cost == 0x5a);
    BAD(gpusim_gpu_fault_replay(NULL, &cost), GPUSIM_EINVAL);

    BAD_VOID(gpusim_gpu_req_init(NULL));
    gpusim_gpu_req_init(&req);
    gpusim_gpu_req_init(&busy);
    BAD(gpusim_gpu_touch(NULL, 0, 0x900000, false, &req, touch_cb, NULL, &a), GPUSIM_EINVAL);
    BAD(gpusim_gpu_touch(x.c, 0, 0x900000, false, NULL, touch_cb, NULL, &a), GPUSIM_EINVAL);
    BAD(gpusim_gpu_touch(x.c, 0, 0x900000, false, &req, NULL, NULL, &a), GPUSIM_EINVAL);
    BAD(gpusim_gpu_touch(x.c, 0, 0x900000, false, &req, touch_cb, NULL, NULL), GPUSIM_EINVAL);
    BAD(gpusim_gpu_touch(x.c, 2, 0x900000, false, &req, touch_cb, NULL, &a), GPUSIM_EINVAL);
    BAD(gpusim_gpu_touch(x.c, 0, VA, false, &req, touch_cb, NULL, &a), GPUSIM_EFAULT);
    BAD(gpusim_gpu_touch(x.killed, 0, 0x900000, false, &req, touch_cb, NULL, &a),
        GPUSIM_ECTXKILLED);
    assert_unchanged(&x, &before);

    /* A requester already waiting is refused; killing the context ends it with ECTXKILLED. */
    gpusim_gpu_ctx_t *c2;
    ASSERT_OK(gpusim_gpu_ctx_new(x.g, NULL, &c2));
    assert_int_equal(gpusim_gpu_touch(c2, 0, 0x900000, false, &busy, touch_cb, NULL, &a),
                     GPUSIM_EINPROGRESS);
    BAD(gpusim_gpu_touch(c2, 1, 0xa00000, false, &busy, touch_cb, NULL, &a), GPUSIM_EINVAL);
    BAD(gpusim_gpu_touch(x.c, 1, 0xa00000, false, &busy, touch_cb, NULL, &a), GPUSIM_EINVAL);
    ASSERT_OK(gpusim_gpu_ctx_kill(c2, GPUSIM_ECANCELED));
    ASSERT_OK(gpusim_world_run(x.w));
    assert_int_equal(touched, GPUSIM_ECTXKILLED);
    /* Its faults left the buffer: a fetch finds nothing of it. */
    ASSERT_OK(gpusim_gpu_fault_fetch(x.g, out, 4, &n, NULL));
    assert_true(n == 0);
    gpusim_gpu_ctx_free(c2);
    gfx_free(&x);
}

/* Under the ONCE replay policy, a replay with faults still in the buffer is EAGAIN. */
static void test_replay_once(void **state)
{
    (void)state;
    gpusim_world_t *w = test_world(1);
    gpusim_gpu_config_t cfg;
    gpusim_gpu_t *g;
    gpusim_gpu_ctx_t *c;
    gpusim_gpu_req_t r1, r2;
    gpusim_gpu_access_t a;
    gpusim_gpu_fault_t out[1];
    size_t n;
    gpusim_time_t cost = 0x5a;
    gpusim_gpu_config_init(&cfg);
    ASSERT_OK(gpusim_gpu_config_set(&cfg, "fault_replay_policy", "3", false, NULL, 0));
    ASSERT_OK(gpusim_gpu_new(w, &cfg, &g));
    ASSERT_OK(gpusim_gpu_ctx_new(g, NULL, &c));
    gpusim_gpu_req_init(&r1);
    gpusim_gpu_req_init(&r2);
    assert_int_equal(gpusim_gpu_touch(c, 0, 0x100000, false, &r1, touch_cb, NULL, &a),
                     GPUSIM_EINPROGRESS);
    assert_int_equal(gpusim_gpu_touch(c, 1, 0x200000, false, &r2, touch_cb, NULL, &a),
                     GPUSIM_EINPROGRESS);
    ASSERT_OK(gpusim_gpu_fault_fetch(g, out, 1, &n, NULL));
    assert_true(n == 1);
    BAD(gpusim_gpu_fault_replay(g, &cost), GPUSIM_EAGAIN);
    assert_true(cost == 0x5a);
    ASSERT_OK(gpusim_gpu_fault_fetch(g, out, 1, &n, NULL));
    ASSERT_OK(gpusim_gpu_fault_replay(g, &cost));
    ASSERT_OK(gpusim_gpu_ctx_kill(c, GPUSIM_ECANCELED));
    ASSERT_OK(gpusim_world_run(w));
    ASSERT_OK(gpusim_gpu_check(g, NULL, 0));
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* ---- queues ------------------------------------------------------------------------------- */

static void test_queue(void **state)
{
    (void)state;
    gfx x;
    gfx_init(&x);
    gpusim_gpu_queue_t *q = (gpusim_gpu_queue_t *)&x;
    gpusim_gpu_queue_t *const sentinel = q;
    gpusim_gpu_queue_info_t info, before_q;
    uint8_t bytes[8192];
    memset(bytes, 0, sizeof bytes);
    ASSERT_OK(gpusim_gpu_queue_info(x.q, &before_q));
    gsnap before = snap(&x);

    const uint32_t rings[] = {0, 1, 128, 255, 300, 4095, GPUSIM_PKT_RING_MAX * 2, UINT32_MAX};
    for (size_t i = 0; i < sizeof rings / sizeof rings[0]; i++)
        BAD(gpusim_gpu_queue_new(x.c, rings[i], &q), GPUSIM_EINVAL);
    BAD(gpusim_gpu_queue_new(NULL, 4096, &q), GPUSIM_EINVAL);
    BAD(gpusim_gpu_queue_new(x.c, 4096, NULL), GPUSIM_EINVAL);
    BAD(gpusim_gpu_queue_new(x.killed, 4096, &q), GPUSIM_ECTXKILLED);
    assert_ptr_equal(q, sentinel);
    BAD_VOID(gpusim_gpu_queue_free(NULL));

    /* write: NULLs, zero and unaligned lengths, more than the ring. */
    BAD(gpusim_gpu_queue_write(NULL, bytes, 4), GPUSIM_EINVAL);
    BAD(gpusim_gpu_queue_write(x.q, NULL, 4), GPUSIM_EINVAL);
    BAD(gpusim_gpu_queue_write(x.q, bytes, 0), GPUSIM_EINVAL);
    BAD(gpusim_gpu_queue_write(x.q, bytes, 3), GPUSIM_EINVAL);
    BAD(gpusim_gpu_queue_write(x.q, bytes, 4098), GPUSIM_EINVAL);
    BAD(gpusim_gpu_queue_write(x.q, bytes, 4100), GPUSIM_ENOSPC);
    BAD(gpusim_gpu_queue_write(x.q, bytes, SIZE_MAX - 3), GPUSIM_ENOSPC);
    BAD(gpusim_gpu_queue_doorbell(NULL), GPUSIM_EINVAL);
    BAD(gpusim_gpu_queue_doorbell(x.kq), GPUSIM_ECTXKILLED);
    POISON(info);
    BAD(gpusim_gpu_queue_info(NULL, &info), GPUSIM_EINVAL);
    BAD(gpusim_gpu_queue_info(x.q, NULL), GPUSIM_EINVAL);
    ASSERT_UNTOUCHED(info);
    ASSERT_OK(gpusim_gpu_queue_info(x.q, &info));
    assert_memory_equal(&info, &before_q, sizeof info);
    assert_unchanged(&x, &before);

    /* A full ring: ENOSPC, nothing written. */
    ASSERT_OK(gpusim_gpu_queue_write(x.q, bytes, 4092));
    BAD(gpusim_gpu_queue_write(x.q, bytes, 8), GPUSIM_ENOSPC);
    ASSERT_OK(gpusim_gpu_queue_info(x.q, &info));
    assert_true(info.wptr == 4092);

    /* A malformed packet stops the queue in error; then doorbells are ECANCELED and the queue
     * cannot be preempted; writes are still accepted (the ring is the host's memory). */
    gpusim_gpu_queue_t *bad;
    uint32_t junk = GPUSIM_PKT_HEADER(0xee, 1);
    ASSERT_OK(gpusim_gpu_queue_new(x.c, 256, &bad));
    ASSERT_OK(gpusim_gpu_queue_write(bad, &junk, sizeof junk));
    ASSERT_OK(gpusim_gpu_queue_doorbell(bad));
    ASSERT_OK(gpusim_world_run(x.w));
    ASSERT_OK(gpusim_gpu_queue_info(bad, &info));
    assert_int_equal(info.state, GPUSIM_GPU_QUEUE_ERROR);
    assert_int_equal(info.error.code, GPUSIM_EINVAL);
    BAD(gpusim_gpu_queue_doorbell(bad), GPUSIM_ECANCELED);
    int st[2] = {0, 0};
    BAD(gpusim_gpu_queue_preempt(bad, ctx_cb, st), GPUSIM_ECANCELED);
    gpusim_gpu_queue_free(bad);
    gpusim_gpu_queue_free(x.q);
    x.q = NULL;
    gfx_free(&x);
}

static void test_preemption(void **state)
{
    (void)state;
    gfx x;
    gfx_init(&x);
    int ev[2] = {0, 0}, qs[2] = {0, 0}, other[2] = {0, 0};
    gsnap before = snap(&x);

    BAD(gpusim_gpu_ctx_evict(NULL, ctx_cb, ev), GPUSIM_EINVAL);
    BAD(gpusim_gpu_ctx_evict(x.c, NULL, ev), GPUSIM_EINVAL);
    BAD(gpusim_gpu_ctx_evict(x.killed, ctx_cb, ev), GPUSIM_ECTXKILLED);
    BAD(gpusim_gpu_ctx_restore(NULL, ctx_cb, ev), GPUSIM_EINVAL);
    BAD(gpusim_gpu_ctx_restore(x.c, NULL, ev), GPUSIM_EINVAL);
    BAD(gpusim_gpu_ctx_restore(x.c, ctx_cb, ev), GPUSIM_EINVAL); /* not evicted */
    BAD(gpusim_gpu_ctx_restore(x.killed, ctx_cb, ev), GPUSIM_ECTXKILLED);
    BAD(gpusim_gpu_queue_preempt(NULL, ctx_cb, qs), GPUSIM_EINVAL);
    BAD(gpusim_gpu_queue_preempt(x.q, NULL, qs), GPUSIM_EINVAL);
    BAD(gpusim_gpu_queue_preempt(x.kq, ctx_cb, qs), GPUSIM_ECTXKILLED);
    BAD(gpusim_gpu_queue_resume(NULL, ctx_cb, qs), GPUSIM_EINVAL);
    BAD(gpusim_gpu_queue_resume(x.q, NULL, qs), GPUSIM_EINVAL);
    BAD(gpusim_gpu_queue_resume(x.q, ctx_cb, qs), GPUSIM_EINVAL); /* not preempted */
    BAD(gpusim_gpu_queue_resume(x.kq, ctx_cb, qs), GPUSIM_ECTXKILLED);
    assert_unchanged(&x, &before);

    /* An eviction in progress: evicting or restoring again is EBUSY; after it, evict is EBUSY
     * (evicted already) and restore works. */
    ASSERT_OK(gpusim_gpu_ctx_evict(x.c, ctx_cb, ev));
    BAD(gpusim_gpu_ctx_evict(x.c, ctx_cb, other), GPUSIM_EBUSY);
    BAD(gpusim_gpu_ctx_restore(x.c, ctx_cb, other), GPUSIM_EBUSY);
    ASSERT_OK(gpusim_world_run(x.w));
    assert_true(ev[0] == 1 && ev[1] == 0);
    BAD(gpusim_gpu_ctx_evict(x.c, ctx_cb, other), GPUSIM_EBUSY);
    ASSERT_OK(gpusim_gpu_ctx_restore(x.c, ctx_cb, ev));
    BAD(gpusim_gpu_ctx_restore(x.c, ctx_cb, other), GPUSIM_EBUSY);
    BAD(gpusim_gpu_ctx_evict(x.c, ctx_cb, other), GPUSIM_EBUSY);
    ASSERT_OK(gpusim_world_run(x.w));
    assert_true(ev[0] == 2 && ev[1] == 0);

    /* The same for one queue. */
    ASSERT_OK(gpusim_gpu_queue_preempt(x.q, ctx_cb, qs));
    BAD(gpusim_gpu_queue_preempt(x.q, ctx_cb, other), GPUSIM_EBUSY);
    BAD(gpusim_gpu_queue_resume(x.q, ctx_cb, other), GPUSIM_EBUSY);
    ASSERT_OK(gpusim_world_run(x.w));
    BAD(gpusim_gpu_queue_preempt(x.q, ctx_cb, other), GPUSIM_EBUSY);
    ASSERT_OK(gpusim_gpu_queue_resume(x.q, ctx_cb, qs));
    BAD(gpusim_gpu_queue_resume(x.q, ctx_cb, other), GPUSIM_EBUSY);
    ASSERT_OK(gpusim_world_run(x.w));
    assert_true(qs[0] == 2 && qs[1] == 0);
    assert_int_equal(other[0], 0);
    gfx_free(&x);
}

/* ---- fences ------------------------------------------------------------------------------- */

static int fence_status, fence_calls;

static void fence_cb(gpusim_gpu_fence_waiter_t *waiter, int status)
{
    (void)waiter;
    fence_calls++;
    fence_status = status;
}

static void test_fences(void **state)
{
    (void)state;
    gfx x;
    gfx_init(&x);
    uint32_t h, gone, handle = 0x5a;
    uint64_t value = 0x5a;
    int error = 0x5a;
    gpusim_gpu_fence_waiter_t wt, busy;
    ASSERT_OK(gpusim_gpu_fence_new(x.g, 5, &h));
    ASSERT_OK(gpusim_gpu_fence_new(x.g, 0, &gone));
    ASSERT_OK(gpusim_gpu_fence_free(x.g, gone));
    BAD_VOID(gpusim_gpu_fence_waiter_init(NULL));
    gpusim_gpu_fence_waiter_init(&wt);
    gpusim_gpu_fence_waiter_init(&busy);
    gsnap before = snap(&x);

    BAD(gpusim_gpu_fence_new(NULL, 0, &handle), GPUSIM_EINVAL);
    BAD(gpusim_gpu_fence_new(x.g, 0, NULL), GPUSIM_EINVAL);
    assert_true(handle == 0x5a);
    /* Handles never created (0, the next, the largest) and freed ("use after free"). */
    const uint32_t missing[] = {0, gone, gone + 1, UINT32_MAX};
    for (size_t i = 0; i < sizeof missing / sizeof missing[0]; i++) {
        BAD(gpusim_gpu_fence_free(x.g, missing[i]), GPUSIM_ENOENT);
        BAD(gpusim_gpu_fence_value(x.g, missing[i], &value, &error), GPUSIM_ENOENT);
        BAD(gpusim_gpu_fence_signal(x.g, missing[i], 10), GPUSIM_ENOENT);
        BAD(gpusim_gpu_fence_wait(x.g, missing[i], 1, &wt, fence_cb, NULL, 100), GPUSIM_ENOENT);
    }
    assert_true(value == 0x5a && error == 0x5a);
    BAD(gpusim_gpu_fence_free(NULL, h), GPUSIM_EINVAL);
    BAD(gpusim_gpu_fence_value(NULL, h, &value, &error), GPUSIM_EINVAL);
    BAD(gpusim_gpu_fence_signal(NULL, h, 10), GPUSIM_EINVAL);
    /* Values not above the fence's. */
    BAD(gpusim_gpu_fence_signal(x.g, h, 5), GPUSIM_EINVAL);
    BAD(gpusim_gpu_fence_signal(x.g, h, 0), GPUSIM_EINVAL);
    BAD(gpusim_gpu_fence_wait(NULL, h, 6, &wt, fence_cb, NULL, 100), GPUSIM_EINVAL);
    BAD(gpusim_gpu_fence_wait(x.g, h, 6, NULL, fence_cb, NULL, 100), GPUSIM_EINVAL);
    BAD(gpusim_gpu_fence_wait(x.g, h, 6, &wt, NULL, NULL, 100), GPUSIM_EINVAL);
    BAD(gpusim_gpu_fence_wait(x.g, h, 6, &wt, fence_cb, NULL, 0), GPUSIM_EFENCETIMEDOUT);
    BAD(gpusim_gpu_fence_waiter_cancel(NULL), GPUSIM_EINVAL);
    BAD(gpusim_gpu_fence_waiter_cancel(&wt), GPUSIM_ENOENT);
    ASSERT_OK(gpusim_gpu_fence_value(x.g, h, &value, NULL));
    assert_true(value == 5);
    assert_unchanged(&x, &before);

    /* A waiting waiter: waiting again is EBUSY; the fence cannot be freed (EBUSY); cancelled
     * twice, the second is ENOENT. */
    assert_int_equal(gpusim_gpu_fence_wait(x.g, h, 6, &busy, fence_cb, NULL, GPUSIM_TIME_MAX),
                     GPUSIM_EINPROGRESS);
    BAD(gpusim_gpu_fence_wait(x.g, h, 7, &busy, fence_cb, NULL, 100), GPUSIM_EBUSY);
    BAD(gpusim_gpu_fence_free(x.g, h), GPUSIM_EBUSY);
    ASSERT_OK(gpusim_gpu_fence_waiter_cancel(&busy));
    BAD(gpusim_gpu_fence_waiter_cancel(&busy), GPUSIM_ENOENT);
    ASSERT_OK(gpusim_world_run(x.w));
    assert_int_equal(fence_calls, 0);

    /* A failed fence: a queue with a published FENCE_SIGNAL behind a wait is freed. */
    uint32_t blocker, failed;
    uint8_t pkt[64];
    int n1, n2;
    ASSERT_OK(gpusim_gpu_fence_new(x.g, 0, &blocker));
    ASSERT_OK(gpusim_gpu_fence_new(x.g, 0, &failed));
    n1 = gpusim_packet_fence_wait(pkt, sizeof pkt, blocker, 1);
    n2 = gpusim_packet_fence_signal(pkt + n1, sizeof pkt - (size_t)n1, failed, 1);
    assert_true(n1 > 0 && n2 > 0);
    ASSERT_OK(gpusim_gpu_queue_write(x.q, pkt, (size_t)(n1 + n2)));
    ASSERT_OK(gpusim_gpu_queue_doorbell(x.q));
    ASSERT_OK(gpusim_world_run(x.w));
    BAD(gpusim_gpu_fence_free(x.g, blocker), GPUSIM_EBUSY); /* the queue waits on it */
    gpusim_gpu_queue_free(x.q);
    x.q = NULL;
    ASSERT_OK(gpusim_gpu_fence_value(x.g, failed, &value, &error));
    assert_int_equal(error, GPUSIM_ECANCELED);
    BAD(gpusim_gpu_fence_signal(x.g, failed, 2), GPUSIM_ECANCELED);
    BAD(gpusim_gpu_fence_wait(x.g, failed, 1, &wt, fence_cb, NULL, 100), GPUSIM_ECANCELED);
    assert_false(wt.gpu_ != NULL);

    /* A waiter of a device freed meanwhile becomes idle: cancelling it is ENOENT. */
    gpusim_gpu_config_t cfg;
    gpusim_gpu_t *g2;
    uint32_t h2;
    gpusim_gpu_config_init(&cfg);
    cfg.name = "gone";
    ASSERT_OK(gpusim_gpu_new(x.w, &cfg, &g2));
    ASSERT_OK(gpusim_gpu_fence_new(g2, 0, &h2));
    assert_int_equal(gpusim_gpu_fence_wait(g2, h2, 1, &wt, fence_cb, NULL, 1000),
                     GPUSIM_EINPROGRESS);
    gpusim_gpu_free(g2);
    BAD(gpusim_gpu_fence_waiter_cancel(&wt), GPUSIM_ENOENT);
    ASSERT_OK(gpusim_world_run(x.w));
    assert_int_equal(fence_calls, 0);
    gfx_free(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        GPUSIM_TEST(test_config),
        GPUSIM_TEST(test_gpu_new),
        GPUSIM_TEST(test_ctx),
        GPUSIM_TEST(test_map),
        GPUSIM_TEST(test_translate_access),
        GPUSIM_TEST(test_trace_load),
        GPUSIM_TEST(test_faults),
        GPUSIM_TEST(test_replay_once),
        GPUSIM_TEST(test_queue),
        GPUSIM_TEST(test_preemption),
        GPUSIM_TEST(test_fences),
    };
    return cmocka_run_group_tests(tests, NULL, badinput_report);
}
