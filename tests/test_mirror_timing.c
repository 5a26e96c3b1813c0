/*
 * tests/test_mirror_timing.c -- the driver policies in time (issue 6, "Directed timing tests"),
 * two devices mirroring one process with different policies, and determinism.
 *
 * Each timing test runs one job of known length twice in otherwise identical worlds: once
 * undisturbed (which measures the job), once with an invalidation from the process (munmap or
 * madvise DONTNEED: invalidator SYSCALL) in the middle of the job. The costs the drivers charge
 * are the GPU's named parameters, set here to values no other parameter shares and read back by
 * name, so that each expected figure is computed from what it names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "gpusim.h"
#include "core/alloc.h"
#include "mirror_util.h"

#define MIB    GPUSIM_MIB
#define MS     GPUSIM_NS_PER_MS
#define US     GPUSIM_NS_PER_US
#define NPAGES 64 /* pages of the buffer */

/* ---- helpers -------------------------------------------------------------------------------- */

static uint64_t gpu_param(const gpusim_gpu_config_t *c, const char *name)
{
    uint64_t v = 0;
    ASSERT_OK(gpusim_gpu_config_get(c, name, &v));
    return v;
}

static uint64_t drv_param(const gpusim_driver_config_t *c, const char *name)
{
    uint64_t v = 0;
    ASSERT_OK(gpusim_driver_config_get(c, name, &v));
    return v;
}

/* The GPU of the timing tests: the defaults, with the costs an invalidation pays changed to values
 * that no other parameter has (so that a figure made of the wrong parameter cannot match). */
static void timing_gpu(gpusim_gpu_config_t *c)
{
    char msg[128];
    gpusim_gpu_config_init(c);
    ASSERT_OK(gpusim_gpu_config_set(c, "tlb_inval_range", "7us", false, msg, sizeof msg));
    ASSERT_OK(gpusim_gpu_config_set(c, "pte_update_per_4k", "130ns", false, msg, sizeof msg));
    ASSERT_OK(gpusim_gpu_config_set(c, "preempt_save", "45us", false, msg, sizeof msg));
    ASSERT_OK(gpusim_gpu_config_set(c, "queue_resume", "35us", false, msg, sizeof msg));
}

/* The invalidating call: munmap or madvise DONTNEED from the process (invalidator SYSCALL), or
 * a blockable CLEAR through the public notifier API (invalidator OTHER: a harness). */
enum inv_kind { INV_NONE, INV_MUNMAP, INV_DONTNEED, INV_OTHER };

static gpusim_invalidator_t inv_by(int inv)
{
    return inv == INV_OTHER ? GPUSIM_INVALIDATOR_OTHER : GPUSIM_INVALIDATOR_SYSCALL;
}

/* INV_OTHER's continuation: the waits are over; end the invalidation and report. */
static void other_proceed(gpusim_world_t *w, gpusim_invalidation_t *inv, int status)
{
    (void)w;
    ASSERT_OK(gpusim_notifier_invalidate_end(inv));
    call_cb(inv->data, status, 0);
}

/* What one timed run saw. Times are relative to the submission. */
typedef struct trun {
    int job_status;
    gpusim_time_t job_end;      /* the job's callback */
    gpusim_time_t inv_at;       /* the invalidating call */
    gpusim_time_t inv_end;      /* its callback */
    uint64_t mapped;            /* GPU pages valid in the invalidated range when it was called */
    gpusim_driver_info_t i_inv; /* the driver's figures when the invalidating call returned */
    gpusim_driver_info_t i;     /* the driver's figures at the end */
} trun;

/* Counts the GPU pages of [va, va + len) the context maps now. */
static uint64_t gpu_mapped(const mfx *f, uint64_t va, uint64_t len)
{
    uint64_t n = 0;
    for (uint64_t a = va; a < va + len; a += MPAGE) {
        gpusim_gpu_pte_t e;
        ASSERT_OK(gpusim_gpu_translate(gpusim_driver_ctx(f->d), a, &e));
        n += e.valid;
    }
    return n;
}

/*
 * Maps, populates and registers a buffer of NPAGES, submits one job (`passes` passes of NPAGES
 * touches of `compute_ns`), and `at` after the submission invalidates pages [first, first + n) of
 * the buffer with `inv` (nothing for INV_NONE). Runs until the job and the invalidation are over.
 */
static void timed_run(gpusim_policy_t pol, const gpusim_driver_config_t *dc,
                      const gpusim_gpu_config_t *gc, uint32_t passes, uint32_t compute_ns, int inv,
                      gpusim_time_t at, uint64_t first, uint64_t n, trun *o)
{
    mfx f;
    gpusim_buffer_t *b;
    gpusim_job_desc_t j;
    call job = {0}, ic = {0};
    gpusim_invalidation_t gi;
    uint64_t va;
    gpusim_time_t t0;
    memset(o, 0, sizeof *o);
    mfx_init_gpu(&f, 64 * MIB, pol, dc, gc);
    va = mfx_mmap(&f, 0, NPAGES * MPAGE, 0);
    ASSERT_OK(mfx_touch(&f, va, NPAGES * MPAGE));
    b = mfx_register(&f, va, NPAGES * MPAGE);
    j = mfx_kernel(b, passes, compute_ns);
    job.w = ic.w = f.w;
    t0 = gpusim_world_now(f.w);
    ASSERT_OK(gpusim_driver_submit(f.d, &j, call_cb, &job));
    if (inv != INV_NONE) {
        uint64_t a = va + first * MPAGE, len = n * MPAGE;
        ASSERT_OK(gpusim_world_run_until(f.w, t0 + at));
        assert_int_equal(job.done, 0); /* the job is running */
        o->inv_at = gpusim_world_now(f.w) - t0;
        o->mapped = gpu_mapped(&f, a, len);
        if (inv == INV_MUNMAP) {
            ASSERT_OK(gpusim_process_munmap(f.p, a, len, call_cb, &ic));
        } else if (inv == INV_DONTNEED) {
            ASSERT_OK(gpusim_process_madvise(f.p, a, len, GPUSIM_MADV_DONTNEED, call_cb, &ic));
        } else {
            gpusim_notifier_range_t rg = {
                a, a + len, GPUSIM_NOTIFY_CLEAR, GPUSIM_INVALIDATOR_OTHER, true, NULL};
            int rc;
            gpusim_invalidation_init(&gi);
            rc = gpusim_notifier_invalidate_start(gpusim_process_notifier(f.p), &gi, &rg,
                                                  other_proceed, &ic);
            if (rc == 0)
                other_proceed(f.w, &gi, 0);
            else
                assert_int_equal(rc, GPUSIM_EINPROGRESS);
        }
        ASSERT_OK(mfx_wait(&f, &ic));
        o->inv_end = ic.at - t0;
        o->i_inv = mfx_info(&f);
    }
    o->job_status = mfx_wait(&f, &job);
    o->job_end = job.at - t0;
    mfx_check(&f);
    o->i = mfx_info(&f);
    mfx_free(&f);
}

/* Blocked time the driver recorded under every kind of invalidator but `by`: must be none. */
static gpusim_time_t blocked_except(const gpusim_driver_info_t *i, gpusim_invalidator_t by)
{
    gpusim_time_t t = 0;
    for (unsigned k = 0; k < GPUSIM_INVALIDATOR_COUNT; k++)
        if (k != by)
            t += i->blocked_ns[k];
    return t;
}

/* The cost of zapping `pages` GPU pages of a range: the PTE writes, then one range TLB
 * invalidation (read by name). Exact while the range leaves no page table empty and no group of
 * 16 PTEs split (the range is 16-page aligned), so that no other entry is rewritten. */
static gpusim_time_t zap_cost(const gpusim_gpu_config_t *gc, uint64_t pages)
{
    return gpu_param(gc, "tlb_inval_range") + pages * gpu_param(gc, "pte_update_per_4k");
}

/* ---- A. timing ------------------------------------------------------------------------------ */

/* The job of the timing tests (1000 passes of 64 touches of 1 us: about 76 ms), the invalidation
 * 10 ms into it, over the 16 pages [16, 32) of the buffer. */
#define PASSES  1000
#define COMPUTE 1000
#define INV_AT  (10 * MS)
#define FIRST   16
#define NINV    16

/*
 * fence-wait: an invalidation of the buffer of a running job blocks the invalidator until the job
 * has ended, then for the zap: blocked_ns.<kind> is exactly the job's remaining time (measured in
 * an undisturbed run) plus the PTE writes and the TLB invalidation. The job is not disturbed (it
 * ends when it would have), nothing is violated, no other kind is charged.
 */
static void test_fence_wait_blocks_for_remaining_time(void **state)
{
    gpusim_gpu_config_t gc;
    trun ref, r;
    (void)state;
    timing_gpu(&gc);
    timed_run(GPUSIM_POLICY_FENCE_WAIT, NULL, &gc, PASSES, COMPUTE, INV_NONE, 0, 0, 0, &ref);
    assert_int_equal(ref.job_status, 0);
    assert_true(ref.job_end > 5 * INV_AT);
    for (int inv = INV_MUNMAP; inv <= INV_OTHER; inv++) {
        gpusim_invalidator_t by = inv_by(inv);
        gpusim_time_t remaining;
        timed_run(GPUSIM_POLICY_FENCE_WAIT, NULL, &gc, PASSES, COMPUTE, inv, INV_AT, FIRST, NINV,
                  &r);
        assert_int_equal(r.job_status, 0);
        assert_int_equal(r.job_end, ref.job_end); /* the GPU did not notice */
        assert_int_equal(r.mapped, NINV);
        remaining = ref.job_end - r.inv_at;
        assert_int_equal(r.i.blocked_ns[by], remaining + zap_cost(&gc, NINV));
        assert_int_equal(blocked_except(&r.i, by), 0);
        assert_true(r.inv_end >= r.job_end + zap_cost(&gc, NINV)); /* it returned after */
        assert_int_equal(r.i.invalidations, 1);
        assert_int_equal(r.i.use_after_free + r.i.stale, 0);
    }
}

/*
 * fence-wait, two invalidators waiting on the same job at once (munmap of [16, 32) and a harness
 * CLEAR of [32, 48), 10 ms into the job): each is blocked for the job's remaining time and then
 * its own zap, and each kind is charged its own wait.
 */
static void test_fence_wait_two_waiters(void **state)
{
    gpusim_gpu_config_t gc;
    mfx f;
    gpusim_buffer_t *b;
    gpusim_job_desc_t j;
    gpusim_driver_info_t i;
    call job = {0}, um = {0}, oc = {0};
    gpusim_invalidation_t gi;
    gpusim_notifier_range_t rg;
    uint64_t va;
    gpusim_time_t t0, t_inv;
    int rc;
    trun ref;
    (void)state;
    timing_gpu(&gc);
    timed_run(GPUSIM_POLICY_FENCE_WAIT, NULL, &gc, PASSES, COMPUTE, INV_NONE, 0, 0, 0, &ref);
    mfx_init_gpu(&f, 64 * MIB, GPUSIM_POLICY_FENCE_WAIT, NULL, &gc);
    va = mfx_mmap(&f, 0, NPAGES * MPAGE, 0);
    ASSERT_OK(mfx_touch(&f, va, NPAGES * MPAGE));
    b = mfx_register(&f, va, NPAGES * MPAGE);
    j = mfx_kernel(b, PASSES, COMPUTE);
    job.w = um.w = oc.w = f.w;
    t0 = gpusim_world_now(f.w);
    ASSERT_OK(gpusim_driver_submit(f.d, &j, call_cb, &job));
    ASSERT_OK(gpusim_world_run_until(f.w, t0 + INV_AT));
    t_inv = gpusim_world_now(f.w);
    ASSERT_OK(gpusim_process_munmap(f.p, va + 16 * MPAGE, 16 * MPAGE, call_cb, &um));
    rg = (gpusim_notifier_range_t){va + 32 * MPAGE,
                                   va + 48 * MPAGE,
                                   GPUSIM_NOTIFY_CLEAR,
                                   GPUSIM_INVALIDATOR_OTHER,
                                   true,
                                   NULL};
    gpusim_invalidation_init(&gi);
    rc = gpusim_notifier_invalidate_start(gpusim_process_notifier(f.p), &gi, &rg, other_proceed,
                                          &oc);
    assert_int_equal(rc, GPUSIM_EINPROGRESS);
    ASSERT_OK(mfx_wait(&f, &um));
    ASSERT_OK(mfx_wait(&f, &oc));
    ASSERT_OK(mfx_wait(&f, &job));
    assert_int_equal(job.at - t0, ref.job_end);
    mfx_check(&f);
    i = mfx_info(&f);
    assert_int_equal(i.blocked_ns[GPUSIM_INVALIDATOR_SYSCALL], job.at - t_inv + zap_cost(&gc, 16));
    assert_int_equal(i.blocked_ns[GPUSIM_INVALIDATOR_OTHER], job.at - t_inv + zap_cost(&gc, 16));
    assert_int_equal(i.use_after_free + i.stale, 0);
    mfx_free(&f);
}

/*
 * fence-reload: the invalidation evicts the process's queues and waits for that only: the time to
 * the job's next preemption point, then preempt_save, then the zap -- far below the job's
 * remaining time. The GPU then stalls for the restore (restore_delay, the re-validation, the
 * re-mapping, queue_resume): evicted_ns covers at least restore_delay + queue_resume, and the job
 * ends later than undisturbed by evicted_ns less the time it kept running until its preemption
 * point, plus at most a page walk per page for the TLBs it refills.
 *
 * The preemption point is the end of the engine slice in progress (engine_quantum, overshot by at
 * most one touch) when the engine simulates every pass, and the end of the pass in progress when
 * it fast-forwards repeated passes (docs/gpu.md: a disturbed fast-forward stops at a pass
 * boundary). Both are run.
 */
static void test_fence_reload_blocks_for_preemption(void **state)
{
    gpusim_gpu_config_t gc;
    gpusim_driver_config_t dc;
    char msg[128];
    trun ref, r;
    (void)state;
    gpusim_driver_config_init(&dc, GPUSIM_POLICY_FENCE_RELOAD);
    ASSERT_OK(gpusim_driver_config_set(&dc, "restore_delay", "3ms", false, msg, sizeof msg));
    for (int ff = 0; ff <= 1; ff++) {
        gpusim_time_t zap, t_pre, remaining, delay, bound, refill;
        timing_gpu(&gc);
        ASSERT_OK(gpusim_gpu_config_set(&gc, "engine_fast_forward", ff ? "1" : "0", false, msg,
                                        sizeof msg));
        timed_run(GPUSIM_POLICY_FENCE_RELOAD, &dc, &gc, PASSES, COMPUTE, INV_NONE, 0, 0, 0, &ref);
        assert_int_equal(ref.job_status, 0);
        timed_run(GPUSIM_POLICY_FENCE_RELOAD, &dc, &gc, PASSES, COMPUTE, INV_DONTNEED, INV_AT,
                  FIRST, NINV, &r);
        assert_int_equal(r.job_status, 0);
        assert_int_equal(r.i.use_after_free + r.i.stale, 0);
        assert_int_equal(r.i.evictions, 1);
        assert_int_equal(r.i.restores, 1);
        assert_int_equal(r.i.restore_retries, 0);
        assert_int_equal(blocked_except(&r.i, GPUSIM_INVALIDATOR_SYSCALL), 0);
        /* Blocked: the way to the preemption point, the state save, the zap. */
        zap = zap_cost(&gc, NINV);
        assert_true(r.i.blocked_ns[GPUSIM_INVALIDATOR_SYSCALL] >=
                    zap + gpu_param(&gc, "preempt_save"));
        t_pre = r.i.blocked_ns[GPUSIM_INVALIDATOR_SYSCALL] - zap - gpu_param(&gc, "preempt_save");
        if (ff)
            bound = ref.job_end / PASSES + gpu_param(&gc, "engine_quantum"); /* a pass */
        else
            bound = gpu_param(&gc, "engine_quantum") + 2 * COMPUTE; /* a slice and a touch */
        assert_true(t_pre <= bound);
        remaining = ref.job_end - r.inv_at;
        assert_true(r.i.blocked_ns[GPUSIM_INVALIDATOR_SYSCALL] * 100 < remaining);
        /* The restore stalled the GPU. */
        assert_true(r.i.evicted_ns >=
                    drv_param(&dc, "restore_delay") + gpu_param(&gc, "queue_resume"));
        assert_true(r.i.gpu_stall_ns >= r.i.evicted_ns);
        /* ... and delayed the job by that stall. */
        assert_true(r.job_end > ref.job_end);
        delay = r.job_end - ref.job_end;
        refill = NPAGES * (4 * gpu_param(&gc, "page_walk_level") + gpu_param(&gc, "tlb_l2_lookup"));
        assert_true(delay + t_pre >= r.i.evicted_ns);
        assert_true(delay + t_pre <= r.i.evicted_ns + refill);
    }
}

/*
 * fence-reload without preemption (preempt = 0: a device or kernel that cannot preempt) degrades
 * to waiting for every job of the process, as fence-wait does: blocked_ns.syscall is exactly the
 * job's remaining time plus the zap, the queues are never evicted, the job is not delayed.
 */
static void test_fence_reload_without_preemption_waits_for_jobs(void **state)
{
    gpusim_gpu_config_t gc;
    gpusim_driver_config_t dc;
    char msg[128];
    trun ref, r;
    (void)state;
    timing_gpu(&gc);
    gpusim_driver_config_init(&dc, GPUSIM_POLICY_FENCE_RELOAD);
    ASSERT_OK(gpusim_driver_config_set(&dc, "preempt", "0", false, msg, sizeof msg));
    timed_run(GPUSIM_POLICY_FENCE_RELOAD, &dc, &gc, PASSES, COMPUTE, INV_NONE, 0, 0, 0, &ref);
    assert_int_equal(ref.job_status, 0);
    timed_run(GPUSIM_POLICY_FENCE_RELOAD, &dc, &gc, PASSES, COMPUTE, INV_DONTNEED, INV_AT, FIRST,
              NINV, &r);
    assert_int_equal(r.job_status, 0);
    assert_int_equal(r.job_end, ref.job_end);
    assert_int_equal(r.i.blocked_ns[GPUSIM_INVALIDATOR_SYSCALL],
                     ref.job_end - r.inv_at + zap_cost(&gc, NINV));
    assert_int_equal(r.i.evictions, 0);
    assert_int_equal(r.i.evicted_ns, 0);
    assert_int_equal(r.i.use_after_free + r.i.stale, 0);
}

/*
 * refault: the invalidation zaps and waits for that only: blocked_ns.<kind> is exactly
 * tlb_inval_range + pages x pte_update_per_4k, whatever the job has left to run. After a
 * DONTNEED (or a harness CLEAR) the job refaults the pages and completes; after a munmap it
 * touches unmapped memory and its context is killed. Nothing is violated.
 */
static void test_refault_blocks_for_tlb_invalidation(void **state)
{
    gpusim_gpu_config_t gc;
    trun ref, r;
    (void)state;
    timing_gpu(&gc);
    timed_run(GPUSIM_POLICY_REFAULT, NULL, &gc, PASSES, COMPUTE, INV_NONE, 0, 0, 0, &ref);
    assert_int_equal(ref.job_status, 0);
    for (int inv = INV_MUNMAP; inv <= INV_OTHER; inv++) {
        gpusim_invalidator_t by = inv_by(inv);
        timed_run(GPUSIM_POLICY_REFAULT, NULL, &gc, PASSES, COMPUTE, inv, INV_AT, FIRST, NINV, &r);
        assert_int_equal(r.mapped, NINV); /* the GPU mapped every page of the range */
        assert_int_equal(r.i_inv.blocked_ns[by], zap_cost(&gc, NINV));
        assert_int_equal(blocked_except(&r.i_inv, by), 0);
        assert_int_equal(r.i_inv.invalidations, 1);
        assert_int_equal(r.i.blocked_ns[by], zap_cost(&gc, NINV)); /* and nothing after */
        assert_true(r.inv_end < ref.job_end / 2);                  /* it never waited for the job */
        assert_int_equal(r.i.use_after_free + r.i.stale, 0);
        if (inv == INV_MUNMAP) {
            assert_int_equal(r.job_status, GPUSIM_ECTXKILLED);
        } else {
            assert_int_equal(r.job_status, 0);
            assert_true(r.job_end >= ref.job_end); /* it refaulted what was zapped */
        }
    }
}

/* ---- B. two devices, two policies, one process ---------------------------------------------- */

#define BUF_PAGES 128

static uint64_t stat_count(gpusim_world_t *w, const char *name)
{
    gpusim_stat_info_t si;
    ASSERT_OK(gpusim_stats_get(w, name, &si));
    return si.count;
}

/* Registers [va, va + len) writable with driver d and waits for the registration. */
static gpusim_buffer_t *register_on(mfx *f, gpusim_driver_t *d, uint64_t va, uint64_t len)
{
    gpusim_buffer_t *b = NULL;
    call c = {0};
    ASSERT_OK(gpusim_driver_register(d, va, len, GPUSIM_BUFFER_WRITE, &b, call_cb, &c));
    ASSERT_OK(mfx_wait(f, &c));
    return b;
}

/* Runs a job of 3 passes over b on d to its end; returns its status. */
static int run_job(mfx *f, gpusim_driver_t *d, gpusim_buffer_t *b)
{
    gpusim_job_desc_t j = mfx_kernel(b, 3, 100);
    call c = {0};
    ASSERT_OK(gpusim_driver_submit(d, &j, call_cb, &c));
    return mfx_wait(f, &c);
}

/* mfx_check for a second device and its driver, and the driver's coherence. */
static void check_second(gpusim_gpu_t *g, gpusim_driver_t *d)
{
    char msg[256];
    if (gpusim_gpu_check(g, msg, sizeof msg))
        fail_msg("gpu check: %s", msg);
    if (gpusim_driver_check(d, msg, sizeof msg))
        fail_msg("driver check: %s", msg);
}

/* Pages of [va, va + n pages) that d's GPU maps to the frame the CPU maps there, and how many it
 * maps at all (*valid). */
static uint64_t gpu_agrees(const mfx *f, const gpusim_driver_t *d, uint64_t va, uint64_t n,
                           uint64_t *valid)
{
    uint64_t same = 0;
    *valid = 0;
    for (uint64_t k = 0; k < n; k++) {
        gpusim_gpu_pte_t g;
        gpusim_host_pte_t c;
        ASSERT_OK(gpusim_gpu_translate(gpusim_driver_ctx(d), va + k * MPAGE, &g));
        ASSERT_OK(gpusim_process_translate(f->p, va + k * MPAGE, &c));
        *valid += g.valid;
        same += g.valid && c.present && g.frame == c.pfn;
    }
    return same;
}

/*
 * One process, two devices: gpu0 with a refault driver, gpu1 (with_pin) with a pin-persistent
 * driver, the same buffer registered with both. The buffer's frames are laid out so that
 * compaction wants to move them: block 0 (the unmovable zero page's) is filled with ballast, and
 * 200 ballast pages begin block 1; the buffer is then touched interleaved with a filler three
 * times its size, which is unmapped: the buffer's blocks are left sparse, the emptiest partly
 * used blocks, with room for their pages in the other.
 */
static void two_devices(bool with_pin)
{
    mfx f;
    gpusim_gpu_config_t gc;
    gpusim_driver_config_t dc;
    gpusim_gpu_t *g2 = NULL;
    gpusim_driver_t *pp = NULL;
    gpusim_buffer_t *b_rf, *b_pp = NULL;
    gpusim_driver_info_t i0, i1, ip;
    uint64_t va, filler, bal, out = 0, moved, valid;
    call cc = {0};
    gpusim_driver_config_init(&dc, GPUSIM_POLICY_REFAULT);
    dc.name = "rf";
    mfx_init(&f, 64 * MIB, GPUSIM_POLICY_REFAULT, &dc);
    if (with_pin) {
        gpusim_gpu_config_init(&gc);
        gc.name = "gpu1";
        ASSERT_OK(gpusim_gpu_new(f.w, &gc, &g2));
        gpusim_driver_config_init(&dc, GPUSIM_POLICY_PIN_PERSISTENT);
        dc.name = "pp";
        ASSERT_OK(gpusim_driver_new(g2, f.p, &dc, &pp));
    }
    bal = mfx_mmap(&f, 0, 1024 * MPAGE, 0);
    for (uint64_t k = 0; k < 1024 && out < 200; k++) {
        gpusim_host_pte_t e;
        ASSERT_OK(mfx_touch(&f, bal + k * MPAGE, MPAGE));
        ASSERT_OK(gpusim_process_translate(f.p, bal + k * MPAGE, &e));
        out += e.pfn / 512 != 0;
    }
    assert_int_equal(out, 200);
    va = mfx_mmap(&f, 0, BUF_PAGES * MPAGE, 0);
    filler = mfx_mmap(&f, 0, 3 * BUF_PAGES * MPAGE, 0);
    for (uint64_t k = 0; k < BUF_PAGES; k++) {
        ASSERT_OK(mfx_touch(&f, va + k * MPAGE, MPAGE));
        ASSERT_OK(mfx_touch(&f, filler + 3 * k * MPAGE, 3 * MPAGE));
    }
    ASSERT_OK(mfx_munmap(&f, filler, 3 * BUF_PAGES * MPAGE));

    /* Both mirror the buffer and run jobs over it, coherently. */
    b_rf = register_on(&f, f.d, va, BUF_PAGES * MPAGE);
    if (with_pin)
        b_pp = register_on(&f, pp, va, BUF_PAGES * MPAGE);
    ASSERT_OK(run_job(&f, f.d, b_rf));
    if (with_pin)
        ASSERT_OK(run_job(&f, pp, b_pp));
    assert_int_equal(gpu_agrees(&f, f.d, va, BUF_PAGES, &valid), BUF_PAGES);
    ASSERT_OK(gpusim_driver_info(f.d, &i0));

    /* Compaction. */
    ASSERT_OK(gpusim_host_compact(f.h, 0, call_cb, &cc));
    ASSERT_OK(mfx_wait(&f, &cc));
    moved = cc.result;
    ASSERT_OK(gpusim_driver_info(f.d, &i1));
    if (with_pin) {
        /* gpu1's long-term pins keep the buffer's frames in place: the blocks holding them
         * cannot be emptied, nothing moves, and gpu0's mirror is never disturbed. */
        assert_true(stat_count(f.w, "host.migrate.failed_pinned") > 0);
        assert_int_equal(moved, 0);
        assert_int_equal(i1.invalidations, i0.invalidations);
        assert_int_equal(gpu_agrees(&f, f.d, va, BUF_PAGES, &valid), BUF_PAGES);
        assert_int_equal(gpu_agrees(&f, pp, va, BUF_PAGES, &valid), BUF_PAGES);
    } else {
        /* The same compaction moves the buffer's pages (all in the emptiest block): one MIGRATE
         * each, which refault zaps. */
        assert_int_equal(stat_count(f.w, "host.migrate.failed_pinned"), 0);
        assert_true(moved > 0);
        assert_int_equal(stat_count(f.w, "host.migrate.success"), moved);
        assert_int_equal(i1.invalidations - i0.invalidations, moved);
        assert_int_equal(gpu_agrees(&f, f.d, va, BUF_PAGES, &valid), BUF_PAGES - moved);
        assert_int_equal(valid, BUF_PAGES - moved);
    }

    /* Both run again, coherently: refault maps what the CPU maps now. */
    ASSERT_OK(run_job(&f, f.d, b_rf));
    assert_int_equal(gpu_agrees(&f, f.d, va, BUF_PAGES, &valid), BUF_PAGES);
    ASSERT_OK(gpusim_driver_info(f.d, &i1));
    assert_int_equal(i1.jobs_completed, 2);
    assert_int_equal(i1.use_after_free + i1.stale, 0);
    if (with_pin) {
        ASSERT_OK(run_job(&f, pp, b_pp));
        assert_int_equal(gpu_agrees(&f, pp, va, BUF_PAGES, &valid), BUF_PAGES);
        ASSERT_OK(gpusim_driver_info(pp, &ip));
        assert_int_equal(ip.jobs_completed, 2);
        assert_int_equal(ip.pinned_pages, BUF_PAGES);
        assert_int_equal(ip.use_after_free + ip.stale, 0);
        assert_true(ip.checked > 0);
        check_second(g2, pp);
    }
    mfx_check(&f);
    mfx_free(&f);
}

static void test_two_devices_pin_blocks_migration(void **state)
{
    (void)state;
    two_devices(true);
    two_devices(false);
}

/*
 * The long-term pin of one device migrates the pages another device mirrors: with a ZONE_MOVABLE,
 * the process's pages are allocated there; gpu1's pin-persistent registration (FOLL_LONGTERM)
 * moves them out before pinning, announcing MIGRATE over each; gpu0's refault driver, which had
 * mapped them, zaps them, and its next job refaults the new frames -- the very frames gpu1 pinned.
 */
static void test_two_devices_longterm_pin_migrates(void **state)
{
    mfx f;
    gpusim_host_config_t hc;
    gpusim_process_config_t pc;
    gpusim_gpu_config_t gc;
    gpusim_driver_config_t dc;
    gpusim_gpu_t *g2;
    gpusim_driver_t *pp;
    gpusim_buffer_t *b_rf, *b_pp;
    gpusim_driver_info_t i0, i1, ip;
    uint64_t va, valid, moved;
    (void)state;
    memset(&f, 0, sizeof f);
    f.w = test_world(1);
    gpusim_host_config_init(&hc);
    hc.ram_bytes = 64 * MIB;
    hc.movable_bytes = 32 * MIB;
    hc.swap_bytes = 16 * MIB;
    hc.khugepaged = false;
    ASSERT_OK(gpusim_host_new(f.w, &hc, &f.h));
    gpusim_process_config_init(&pc);
    ASSERT_OK(gpusim_process_new(f.h, &pc, &f.p));
    ASSERT_OK(gpusim_gpu_new(f.w, NULL, &f.g));
    gpusim_driver_config_init(&dc, GPUSIM_POLICY_REFAULT);
    dc.name = "rf";
    ASSERT_OK(gpusim_driver_new(f.g, f.p, &dc, &f.d));
    gpusim_gpu_config_init(&gc);
    gc.name = "gpu1";
    ASSERT_OK(gpusim_gpu_new(f.w, &gc, &g2));
    gpusim_driver_config_init(&dc, GPUSIM_POLICY_PIN_PERSISTENT);
    dc.name = "pp";
    ASSERT_OK(gpusim_driver_new(g2, f.p, &dc, &pp));

    va = mfx_mmap(&f, 0, NPAGES * MPAGE, 0);
    ASSERT_OK(mfx_touch(&f, va, NPAGES * MPAGE));
    b_rf = register_on(&f, f.d, va, NPAGES * MPAGE);
    ASSERT_OK(run_job(&f, f.d, b_rf));
    assert_int_equal(gpu_agrees(&f, f.d, va, NPAGES, &valid), NPAGES);
    ASSERT_OK(gpusim_driver_info(f.d, &i0));
    b_pp = register_on(&f, pp, va, NPAGES * MPAGE);
    moved = stat_count(f.w, "host.migrate.longterm_pin");
    ASSERT_OK(gpusim_driver_info(f.d, &i1));
    assert_true(moved > 0);
    assert_int_equal(i1.invalidations - i0.invalidations, moved); /* one MIGRATE per page */
    assert_int_equal(gpu_agrees(&f, f.d, va, NPAGES, &valid), NPAGES - moved);
    assert_int_equal(valid, NPAGES - moved);
    /* Each one-page MIGRATE waited for refault's zap of that page only: one TLB invalidation and
     * the page's entry, plus, the first time a page of a 64 KiB fragment goes, the other 15
     * entries of its group (their fragment bit cleared), and the directory entries of the tables
     * the last page empties. */
    gpusim_gpu_config_init(&gc);
    assert_true(i1.blocked_ns[GPUSIM_INVALIDATOR_COMPACTION] >= moved * zap_cost(&gc, 1));
    assert_true(i1.blocked_ns[GPUSIM_INVALIDATOR_COMPACTION] <=
                moved * zap_cost(&gc, 16) + 3 * gpu_param(&gc, "pte_update_per_4k"));
    assert_int_equal(blocked_except(&i1, GPUSIM_INVALIDATOR_COMPACTION), 0);
    ASSERT_OK(run_job(&f, pp, b_pp));
    ASSERT_OK(run_job(&f, f.d, b_rf));
    assert_int_equal(gpu_agrees(&f, f.d, va, NPAGES, &valid), NPAGES);
    assert_int_equal(gpu_agrees(&f, pp, va, NPAGES, &valid), NPAGES);
    ASSERT_OK(gpusim_driver_info(f.d, &i1));
    ASSERT_OK(gpusim_driver_info(pp, &ip));
    assert_int_equal(i1.use_after_free + i1.stale + ip.use_after_free + ip.stale, 0);
    check_second(g2, pp);
    mfx_check(&f);
    mfx_free(&f);
}

/* ---- C. determinism ------------------------------------------------------------------------- */

/*
 * One scenario of the policy: two buffers, jobs over both, while the CPU drops part of one
 * (DONTNEED), the process forks and writes part of the other (copy-on-write), and the node is
 * compacted.
 * Returns the driver's figures, its violations and the end time.
 */
static void scenario(gpusim_policy_t pol, gpusim_driver_info_t *info, gpusim_violation_t *viol,
                     size_t *nviol, gpusim_time_t *end)
{
    mfx f;
    gpusim_buffer_t *b1, *b2;
    gpusim_job_desc_t j;
    call jc[3] = {{0}}, mc = {0}, tc = {0}, cc = {0}, fc = {0};
    gpusim_process_config_t pc;
    gpusim_process_t *child = NULL;
    uint64_t va;
    mfx_init(&f, 64 * MIB, pol, NULL);
    gpusim_process_config_init(&pc);
    va = mfx_mmap(&f, 0, 2 * NPAGES * MPAGE, 0);
    ASSERT_OK(mfx_touch(&f, va, 2 * NPAGES * MPAGE));
    b1 = mfx_register(&f, va, NPAGES * MPAGE);
    b2 = mfx_register(&f, va + NPAGES * MPAGE, NPAGES * MPAGE);
    j = mfx_kernel(b1, 50, 500);
    ASSERT_OK(gpusim_driver_submit(f.d, &j, call_cb, &jc[0]));
    j = mfx_kernel(b2, 50, 500);
    ASSERT_OK(gpusim_driver_submit(f.d, &j, call_cb, &jc[1]));
    ASSERT_OK(gpusim_world_run_until(f.w, gpusim_world_now(f.w) + 500 * US));
    ASSERT_OK(
        gpusim_process_madvise(f.p, va + 8 * MPAGE, 8 * MPAGE, GPUSIM_MADV_DONTNEED, call_cb, &mc));
    ASSERT_OK(gpusim_process_fork(f.p, &pc, &child, call_cb, &fc));
    ASSERT_OK(mfx_wait(&f, &fc));
    ASSERT_OK(gpusim_process_access(f.p, va + (NPAGES + 4) * MPAGE, 4 * MPAGE, GPUSIM_ACCESS_WRITE,
                                    NULL, call_cb, &tc));
    ASSERT_OK(gpusim_host_compact(f.h, 0, call_cb, &cc));
    j = mfx_kernel(b1, 20, 300);
    j.buffers[1] = b2;
    j.nbuffers = 2;
    ASSERT_OK(gpusim_driver_submit(f.d, &j, call_cb, &jc[2]));
    for (int k = 0; k < 3; k++)
        (void)mfx_wait(&f, &jc[k]);
    (void)mfx_wait(&f, &mc);
    (void)mfx_wait(&f, &tc);
    (void)mfx_wait(&f, &cc);
    ASSERT_OK(gpusim_world_run(f.w));
    mfx_check(&f);
    *info = mfx_info(&f);
    ASSERT_OK(gpusim_driver_violations(f.d, viol, GPUSIM_DRIVER_VIOLATIONS_KEPT, nviol));
    *end = gpusim_world_now(f.w);
    mfx_free(&f);
}

/* Each policy's scenario, run twice, gives the same figures, the same violations, the same end. */
static void test_deterministic(void **state)
{
    (void)state;
    for (unsigned p = 0; p < GPUSIM_POLICY_COUNT; p++) {
        gpusim_driver_info_t a, b;
        gpusim_violation_t va[GPUSIM_DRIVER_VIOLATIONS_KEPT], vb[GPUSIM_DRIVER_VIOLATIONS_KEPT];
        size_t na, nb;
        gpusim_time_t ea, eb;
        scenario((gpusim_policy_t)p, &a, va, &na, &ea);
        scenario((gpusim_policy_t)p, &b, vb, &nb, &eb);
        assert_int_equal(a.jobs_submitted, 3);
        assert_true(a.checked > 0);
        assert_memory_equal(&a, &b, sizeof a);
        assert_int_equal(na, nb);
        for (size_t k = 0; k < na; k++) {
            assert_int_equal(va[k].kind, vb[k].kind);
            assert_int_equal(va[k].va, vb[k].va);
            assert_int_equal(va[k].pfn, vb[k].pfn);
            assert_int_equal(va[k].write, vb[k].write);
            assert_int_equal(va[k].time, vb[k].time);
            assert_int_equal(va[k].changed_at, vb[k].changed_at);
            assert_int_equal(va[k].event, vb[k].event);
            assert_int_equal(va[k].by, vb[k].by);
        }
        assert_int_equal(ea, eb);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        GPUSIM_TEST(test_fence_wait_blocks_for_remaining_time),
        GPUSIM_TEST(test_fence_wait_two_waiters),
        GPUSIM_TEST(test_fence_reload_blocks_for_preemption),
        GPUSIM_TEST(test_fence_reload_without_preemption_waits_for_jobs),
        GPUSIM_TEST(test_refault_blocks_for_tlb_invalidation),
        GPUSIM_TEST(test_two_devices_pin_blocks_migration),
        GPUSIM_TEST(test_two_devices_longterm_pin_migrates),
        GPUSIM_TEST(test_deterministic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
