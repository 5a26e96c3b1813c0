/*
 * tests/test_mirror_bugs.c -- the known Linux bugs of linux-semantics.md §10 as directed tests of
 * the driver layer (gpusim/mirror.h): each recreates the situation that broke a real driver and
 * checks that the policies, the notifier shim and the coherence checker handle it.
 *
 *   §10.1   balanced start/end after a refusal (the test as invalidator, and the real OOM reaper)
 *   §10.5   an invalidation during a fence-reload restore keeps the queues quiesced
 *   §10.7   a submission while the process is evicted waits for the restore
 *   §10.6   stale queued faults after munmap are dropped, never served against the new mapping
 *   §10.8   fork with a pinned page: the parent keeps the pinned page
 *   §10.10  inclusive/exclusive range ends: the last page of [s, e) is invalidated
 *   §10.11  a page freed right after the callback returns is never reached by the GPU
 *   §10.14  exit with GPU work in flight, every policy
 *   §10.15  subscribe and unsubscribe while an invalidation is running
 *
 * The tests are white-box where a public figure cannot show a transient state: they read the
 * driver's queue and flags (mirror/mirror.h) to find the moment a restore pass is in progress.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "gpusim.h"
#include "core/alloc.h"
#include "mirror_util.h"
#include "host/host.h"
#include "mirror/mirror.h"

#define MIB GPUSIM_MIB
#define US  GPUSIM_NS_PER_US
#define MS  GPUSIM_NS_PER_MS

/* ---- helpers -------------------------------------------------------------------------------- */

static gpusim_notifier_t *dom(const mfx *f)
{
    return gpusim_process_notifier(f->p);
}

static gpusim_time_t now(const mfx *f)
{
    return gpusim_world_now(f->w);
}

/* No invalidation is open on the process's domain, and its sequence is even. */
static void assert_balanced(const mfx *f)
{
    assert_int_equal(gpusim_notifier_active(dom(f)), 0);
    assert_int_equal(gpusim_notifier_seq(dom(f)) & 1, 0);
}

static void run_for(mfx *f, gpusim_time_t dt)
{
    ASSERT_OK(gpusim_world_run_until(f->w, now(f) + dt));
}

/* Runs one event; fails if there is none. */
static void step1(mfx *f)
{
    assert_int_equal(gpusim_world_run_events(f->w, 1), 1);
}

static gpusim_gpu_pte_t gpu_pte(const mfx *f, uint64_t va)
{
    gpusim_gpu_pte_t pte;
    ASSERT_OK(gpusim_gpu_translate(gpusim_driver_ctx(f->d), va, &pte));
    return pte;
}

static bool gpu_mapped(const mfx *f, uint64_t va)
{
    return gpu_pte(f, va).valid;
}

/* Pages of [va, va + n pages) the GPU page table maps. */
static uint64_t gpu_mapped_count(const mfx *f, uint64_t va, uint64_t n)
{
    uint64_t k = 0;
    for (uint64_t i = 0; i < n; i++)
        k += gpu_mapped(f, va + i * MPAGE);
    return k;
}

static gpusim_host_pte_t cpu_pte_of(gpusim_process_t *p, uint64_t va)
{
    gpusim_host_pte_t e;
    ASSERT_OK(gpusim_process_translate(p, va, &e));
    return e;
}

/* Every page of [va, va + n pages) is mapped on the GPU to the frame the CPU maps there. */
static void assert_gpu_is_cpu(const mfx *f, uint64_t va, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        gpusim_gpu_pte_t g = gpu_pte(f, va + i * MPAGE);
        gpusim_host_pte_t c = cpu_pte_of(f->p, va + i * MPAGE);
        assert_true(g.valid);
        assert_true(c.present);
        assert_int_equal(g.frame, c.pfn);
    }
}

static gpusim_frame_info_t frame(const mfx *f, uint64_t pfn)
{
    gpusim_frame_info_t fi;
    ASSERT_OK(gpusim_host_frame_info(f->h, pfn, &fi));
    return fi;
}

static uint64_t stat_count(const mfx *f, const char *name)
{
    gpusim_stat_info_t si;
    ASSERT_OK(gpusim_stats_get(f->w, name, &si));
    return si.count;
}

/* mmap, write every page, register: a populated buffer of n pages. */
static gpusim_buffer_t *populated(mfx *f, uint64_t n, uint64_t *va)
{
    *va = mfx_mmap(f, 0, n * MPAGE, 0);
    ASSERT_OK(mfx_touch(f, *va, n * MPAGE));
    return mfx_register(f, *va, n * MPAGE);
}

static void submit(mfx *f, gpusim_buffer_t *b, uint32_t passes, uint32_t compute_ns, call *c)
{
    gpusim_job_desc_t j = mfx_kernel(b, passes, compute_ns);
    memset(c, 0, sizeof *c);
    c->w = f->w;
    ASSERT_OK(gpusim_driver_submit(f->d, &j, call_cb, c));
}

/* Runs a one-pass job over b to completion (it maps the whole buffer under every policy). */
static void run_job(mfx *f, gpusim_buffer_t *b)
{
    call c;
    submit(f, b, 1, 100, &c);
    ASSERT_OK(mfx_wait(f, &c));
}

static void assert_coherent(const mfx *f)
{
    gpusim_driver_info_t i = mfx_info(f);
    assert_int_equal(i.use_after_free, 0);
    assert_int_equal(i.stale, 0);
}

/* The test as an invalidator, through the public notifier API. */
typedef struct tinv {
    gpusim_invalidation_t inv;
    int proceeded;    /* times its callback (or an immediate start) said it may proceed */
    gpusim_time_t at; /* when */
} tinv;

static void tinv_cb(gpusim_world_t *w, gpusim_invalidation_t *inv, int status)
{
    tinv *t = inv->data;
    assert_int_equal(status, 0); /* a started blockable invalidation cannot fail */
    t->proceeded++;
    t->at = gpusim_world_now(w);
}

/* Starts an invalidation of [start, end); returns invalidate_start's answer. */
static int tinv_start(mfx *f, tinv *t, uint64_t start, uint64_t end, gpusim_invalidator_t by,
                      bool blockable)
{
    gpusim_notifier_range_t r;
    int rc;
    memset(&r, 0, sizeof r);
    r.start = start;
    r.end = end;
    r.event = GPUSIM_NOTIFY_CLEAR;
    r.invalidator = by;
    r.blockable = blockable;
    memset(t, 0, sizeof *t);
    gpusim_invalidation_init(&t->inv);
    rc = gpusim_notifier_invalidate_start(dom(f), &t->inv, &r, tinv_cb, t);
    if (rc == 0) {
        t->proceeded = 1;
        t->at = now(f);
    }
    return rc;
}

/* Starts a blockable invalidation and runs until it may proceed: it is then open until tinv_end. */
static void tinv_open(mfx *f, tinv *t, uint64_t start, uint64_t end)
{
    int rc = tinv_start(f, t, start, end, GPUSIM_INVALIDATOR_OTHER, true);
    gpusim_time_t limit = now(f) + GPUSIM_NS_PER_S;
    if (rc != GPUSIM_EINPROGRESS)
        ASSERT_OK(rc);
    while (!t->proceeded && now(f) < limit)
        step1(f);
    assert_int_equal(t->proceeded, 1);
    assert_true(gpusim_invalidation_active(&t->inv));
}

static void tinv_end(tinv *t)
{
    ASSERT_OK(gpusim_notifier_invalidate_end(&t->inv));
}

static const gpusim_policy_t subscribing[] = {GPUSIM_POLICY_REFAULT, GPUSIM_POLICY_FENCE_WAIT,
                                              GPUSIM_POLICY_FENCE_RELOAD};

/* ---- §10.1: balanced start/end after a refusal ---------------------------------------------- */

/*
 * A non-blockable invalidation (the OOM reaper's kind) over part of a buffer a job is using: every
 * subscribing policy refuses it (it would have to wait), the shim closes it, and the domain is
 * balanced again -- no invalidation open, sequence even -- so later readers are not locked out.
 * Then the same refusal while a blockable invalidation of the test is open over the same range:
 * the refusal must leave that one open (count 1, sequence odd), and for as long as it is open no
 * GPU PTE of the range may be recreated -- not by a fault (refault), a submission's validation
 * (fence-wait) or the restore worker (fence-reload). Once it ends, the work goes on and is
 * coherent.
 */
static void refusal_balanced(gpusim_policy_t pol)
{
    mfx f;
    gpusim_buffer_t *b;
    tinv x, y;
    call job, job2;
    uint64_t va, s, e, n = 32;
    uint64_t seq0;
    gpusim_driver_info_t i;
    mfx_init(&f, 64 * MIB, pol, NULL);
    b = populated(&f, n, &va);
    run_job(&f, b);
    assert_int_equal(gpu_mapped_count(&f, va, n), n);
    s = va + 8 * MPAGE;
    e = va + 16 * MPAGE;

    /* A refusal alone, with a job running. */
    submit(&f, b, 200, 1000, &job); /* 200 x 32 us */
    run_for(&f, 1 * MS);
    assert_int_equal(job.done, 0);
    seq0 = gpusim_notifier_seq(dom(&f));
    ASSERT_ERR(tinv_start(&f, &y, s, e, GPUSIM_INVALIDATOR_OOM_REAPER, false), GPUSIM_EWOULDBLOCK);
    assert_false(gpusim_invalidation_active(&y.inv));
    assert_int_equal(y.proceeded, 0);
    assert_balanced(&f);
    assert_true(gpusim_notifier_seq(dom(&f)) > seq0); /* it did enter the exclusive phase */
    i = mfx_info(&f);
    assert_int_equal(i.refusals, 1);
    assert_int_equal(i.invalidations, 1);
    /* The domain works: a blockable invalidation starts, proceeds and ends. */
    tinv_open(&f, &x, s, e);
    assert_int_equal(gpusim_notifier_active(dom(&f)), 1);
    tinv_end(&x);
    assert_balanced(&f);
    ASSERT_OK(mfx_wait(&f, &job));
    mfx_check(&f);

    /* A refusal while the test's blockable invalidation is open over the same range. */
    submit(&f, b, 200, 1000, &job);
    run_for(&f, 1 * MS);
    tinv_open(&f, &x, s, e);
    memset(&job2, 0, sizeof job2);
    if (pol == GPUSIM_POLICY_FENCE_WAIT) {
        /* fence-wait let x proceed only once the job had ended: a new submission must wait. */
        assert_int_equal(job.done, 1);
        submit(&f, b, 10, 1000, &job2);
    }
    assert_int_equal(gpu_mapped_count(&f, s, 8), 0);
    ASSERT_ERR(tinv_start(&f, &y, s, e, GPUSIM_INVALIDATOR_OOM_REAPER, false), GPUSIM_EWOULDBLOCK);
    assert_int_equal(gpusim_notifier_active(dom(&f)), 1); /* x is still open */
    assert_int_equal(gpusim_notifier_seq(dom(&f)) & 1, 1);
    assert_int_equal(mfx_info(&f).refusals, 2);
    for (int k = 0; k < 100; k++) { /* 5 ms: the job (or the restore) keeps trying */
        run_for(&f, 50 * US);
        assert_int_equal(gpu_mapped_count(&f, s, 8), 0);
    }
    assert_int_equal(job2.done, 0);
    if (pol != GPUSIM_POLICY_FENCE_WAIT)
        assert_int_equal(job.done, 0); /* stalled on the range */
    tinv_end(&x);
    assert_balanced(&f);
    ASSERT_OK(mfx_wait(&f, &job));
    if (pol == GPUSIM_POLICY_FENCE_WAIT)
        ASSERT_OK(mfx_wait(&f, &job2));
    assert_balanced(&f);
    assert_gpu_is_cpu(&f, va, n);
    i = mfx_info(&f);
    assert_int_equal(i.refusals, 2);
    assert_int_equal(i.jobs_failed, 0);
    assert_coherent(&f);
    mfx_check(&f);
    mfx_free(&f);
}

static void test_refusal_balanced(void **state)
{
    (void)state;
    for (size_t k = 0; k < GPUSIM_ARRAY_SIZE(subscribing); k++)
        refusal_balanced(subscribing[k]);
}

/*
 * The real OOM reaper. The driver's process (fence-wait) is the largest killable one when another
 * process runs the host out of memory: it is killed, its exit's RELEASE waits for the job using
 * its buffer, and meanwhile the reaper announces non-blockable UNMAPs over the victim's VMAs. The
 * driver refuses the one over its buffer (the reaper skips that VMA), every pass; the other VMA is
 * reaped. The job ends, the exit completes, the allocation succeeds, and everything balances.
 */
static void test_refusal_oom_reaper(void **state)
{
    mfx f;
    gpusim_host_config_t hc;
    gpusim_process_config_t pc;
    gpusim_process_t *unk, *x;
    gpusim_buffer_t *b;
    gpusim_process_info_t pi;
    gpusim_driver_info_t i;
    call job, fill = {0};
    uint64_t va, other, ax, rest, n = 1024;
    char msg[128];
    (void)state;
    mfx_host_config(&hc, 32 * MIB);
    hc.swap_bytes = 0;
    hc.thp = GPUSIM_THP_NEVER;
    ASSERT_OK(gpusim_host_config_set(&hc, "oom_reaper_delay", "1ms", false, msg, sizeof msg));
    ASSERT_OK(gpusim_host_config_set(&hc, "oom_reap_retry_delay", "1ms", false, msg, sizeof msg));
    mfx_init_cfg(&f, &hc, NULL, GPUSIM_POLICY_FENCE_WAIT, NULL);
    gpusim_process_config_init(&pc);
    pc.oom_unkillable = true;
    pc.name = "unk";
    ASSERT_OK(gpusim_process_new(f.h, &pc, &unk));
    pc.name = "x";
    ASSERT_OK(gpusim_process_new(f.h, &pc, &x));
    b = populated(&f, n, &va);
    {
        call c = {0}; /* another VMA (EXEC keeps it from merging with the buffer's) */
        ASSERT_OK(gpusim_process_mmap(f.p, 0, n * MPAGE,
                                      GPUSIM_PROT_READ | GPUSIM_PROT_WRITE | GPUSIM_PROT_EXEC,
                                      GPUSIM_MAP_PRIVATE, NULL, 0, call_cb, &c));
        ASSERT_OK(mfx_wait(&f, &c));
        other = c.result;
        ASSERT_OK(mfx_touch(&f, other, n * MPAGE));
    }
    {
        call c = {0};
        uint64_t a;
        ASSERT_OK(gpusim_process_mmap(unk, 0, 4000 * MPAGE, GPUSIM_PROT_READ | GPUSIM_PROT_WRITE,
                                      GPUSIM_MAP_PRIVATE, NULL, 0, call_cb, &c));
        ASSERT_OK(mfx_wait(&f, &c));
        a = c.result;
        memset(&c, 0, sizeof c);
        ASSERT_OK(
            gpusim_process_access(unk, a, 4000 * MPAGE, GPUSIM_ACCESS_WRITE, NULL, call_cb, &c));
        ASSERT_OK(mfx_wait(&f, &c));
    }
    submit(&f, b, 10, 1000, &job); /* 10 passes x 1024 touches x 1 us */
    run_for(&f, 100 * US);
    assert_int_equal(job.done, 0);
    rest = f.h->nodes[0].free;
    {
        call c = {0};
        ASSERT_OK(gpusim_process_mmap(x, 0, (rest + 500) * MPAGE,
                                      GPUSIM_PROT_READ | GPUSIM_PROT_WRITE, GPUSIM_MAP_PRIVATE,
                                      NULL, 0, call_cb, &c));
        ASSERT_OK(mfx_wait(&f, &c));
        ax = c.result;
    }
    fill.w = f.w;
    ASSERT_OK(gpusim_process_access(x, ax, (rest + 500) * MPAGE, GPUSIM_ACCESS_WRITE, NULL, call_cb,
                                    &fill));
    ASSERT_OK(mfx_wait(&f, &fill));
    ASSERT_OK(mfx_wait(&f, &job));
    ASSERT_OK(gpusim_world_run(f.w));
    ASSERT_OK(gpusim_process_info(f.p, &pi));
    assert_true(pi.oom_killed);
    assert_int_equal(pi.state, GPUSIM_PROCESS_DEAD);
    i = mfx_info(&f);
    assert_true(i.refusals >= 1);
    assert_int_equal(i.refusals, stat_count(&f, "host.oom.reap_skipped_vmas"));
    /* The other VMA was reaped, the buffer's never was. */
    assert_int_equal(stat_count(&f, "host.oom.reaped_pages"), n);
    assert_int_equal(i.jobs_completed, 1);
    assert_int_equal(i.use_after_free, 0);
    assert_int_equal(i.stale, 0);
    assert_balanced(&f);
    mfx_check(&f);
    ASSERT_OK(gpusim_driver_free(f.d));
    f.d = NULL;
    mfx_check(&f);
    mfx_free(&f);
}

/* ---- §10.5: an invalidation during a fence-reload restore ----------------------------------- */

static gpusim_gpu_queue_state_t queue_state(const mfx *f)
{
    gpusim_gpu_queue_info_t qi;
    ASSERT_OK(gpusim_gpu_queue_info(f->d->queue, &qi));
    return qi.state;
}

/*
 * A job runs; the test invalidates the buffer (eviction, zap) and ends. The restore worker runs
 * restore_delay later, re-validates and maps the buffer, and schedules the resume after its PTE
 * writes. `during_resume` false: a second invalidation lands between the pass's map and the
 * resume: the pass is not clean, the worker reschedules (restore_retries), and the queues stay
 * quiesced until a clean pass. `during_resume` true: it lands while the resume is in flight: it
 * waits for a new eviction, which starts the moment the resume completes. Either way the job never
 * runs while its buffer is invalid, and it completes coherently.
 */
static void restore_collision(bool during_resume)
{
    mfx f;
    gpusim_buffer_t *b;
    tinv x;
    call job;
    uint64_t va, n = 32, mapped0, checked0;
    gpusim_time_t t_evict, t_second, limit;
    gpusim_driver_info_t i;
    mfx_init(&f, 64 * MIB, GPUSIM_POLICY_FENCE_RELOAD, NULL);
    b = populated(&f, n, &va);
    submit(&f, b, 1000, 1000, &job); /* 32 ms */
    run_for(&f, 2 * MS);
    assert_int_equal(queue_state(&f), GPUSIM_GPU_QUEUE_RUNNING);
    t_evict = now(&f);
    tinv_open(&f, &x, va, va + n * MPAGE);
    tinv_end(&x);
    i = mfx_info(&f);
    assert_int_equal(i.evictions, 1);
    assert_int_equal(i.restores, 0);
    assert_int_equal(gpu_mapped_count(&f, va, n), 0);
    mapped0 = i.pages_mapped;
    checked0 = i.checked;
    /* Find the restore pass: its PTE writes (and, for during_resume, the resume call). */
    limit = now(&f) + 100 * MS;
    for (;;) {
        assert_true(now(&f) < limit);
        assert_int_equal(queue_state(&f), GPUSIM_GPU_QUEUE_PREEMPTED);
        i = mfx_info(&f);
        assert_int_equal(i.restores, 0);
        if (i.pages_mapped > mapped0 && (!during_resume || f.d->evict_busy))
            break;
        step1(&f);
    }
    assert_true(now(&f) >= t_evict + MS); /* restore_delay */
    assert_int_equal(gpu_mapped_count(&f, va, n), n);
    t_second = now(&f);
    tinv_open(&f, &x, va, va + 4 * MPAGE);
    if (during_resume) {
        /* It waited for the resume to complete and for the new eviction that followed. */
        i = mfx_info(&f);
        assert_int_equal(i.restores, 1);
        assert_int_equal(i.evictions, 2);
        assert_int_equal(queue_state(&f), GPUSIM_GPU_QUEUE_PREEMPTED);
    }
    assert_int_equal(gpu_mapped_count(&f, va, 4), 0);
    tinv_end(&x);
    /* Until a clean pass has resumed the queues, the job does not run. */
    limit = now(&f) + 100 * MS;
    for (;;) {
        assert_true(now(&f) < limit);
        i = mfx_info(&f);
        if (i.restores == (during_resume ? 2u : 1u))
            break;
        if (!during_resume || i.restores == 1)
            assert_int_equal(queue_state(&f), GPUSIM_GPU_QUEUE_PREEMPTED);
        step1(&f);
    }
    assert_int_equal(queue_state(&f), GPUSIM_GPU_QUEUE_RUNNING);
    assert_gpu_is_cpu(&f, va, n);
    assert_true(now(&f) >= t_second + MS); /* the rescheduled pass, restore_delay later */
    i = mfx_info(&f);
    if (during_resume) {
        assert_int_equal(i.evictions, 2);
    } else {
        assert_int_equal(i.evictions, 1); /* never resumed in between */
        assert_true(i.restore_retries >= 1);
        assert_int_equal(i.checked, checked0); /* no GPU access while quiesced */
    }
    assert_true(i.evicted_ns >= now(&f) - t_evict - (during_resume ? 1 * MS : 0));
    assert_int_equal(job.done, 0);
    ASSERT_OK(mfx_wait(&f, &job));
    i = mfx_info(&f);
    assert_int_equal(i.restores, during_resume ? 2 : 1);
    assert_coherent(&f);
    assert_balanced(&f);
    mfx_check(&f);
    mfx_free(&f);
}

static void test_invalidation_during_restore(void **state)
{
    (void)state;
    restore_collision(false);
    restore_collision(true);
}

/* ---- §10.7: submission while evicted waits -------------------------------------------------- */

/*
 * Nothing runs; an invalidation evicts the process's queues (fence-reload). A job submitted while
 * they are evicted is neither validated nor rung before the restore: it waits in the driver
 * (submit_wait_ns covers the wait) and starts only after the clean pass resumed the queues.
 */
static void test_submit_while_evicted(void **state)
{
    mfx f;
    gpusim_buffer_t *b;
    tinv x;
    call job;
    uint64_t va, n = 32, validated0;
    gpusim_time_t t_evict, t_submit, t_restore = 0, limit;
    gpusim_driver_info_t i0, i;
    (void)state;
    mfx_init(&f, 64 * MIB, GPUSIM_POLICY_FENCE_RELOAD, NULL);
    b = populated(&f, n, &va);
    run_job(&f, b);
    t_evict = now(&f);
    tinv_open(&f, &x, va, va + n * MPAGE);
    tinv_end(&x);
    assert_int_equal(mfx_info(&f).evictions, 1);
    i0 = mfx_info(&f);
    validated0 = i0.pages_validated;
    run_for(&f, 100 * US);
    t_submit = now(&f);
    submit(&f, b, 1, 1000, &job); /* 32 us */
    limit = now(&f) + 100 * MS;
    while (!job.done) {
        assert_true(now(&f) < limit);
        i = mfx_info(&f);
        if (i.restores == 0) {
            /* Only the restore pass may have walked the buffer, once. */
            assert_true(i.pages_validated <= validated0 + n);
            assert_int_equal(i.submit_wait_ns, i0.submit_wait_ns);
        } else if (!t_restore) {
            t_restore = now(&f);
        }
        step1(&f);
    }
    ASSERT_OK(job.status);
    assert_true(t_restore > 0);
    assert_true(t_restore >= t_evict + MS);     /* restore_delay after the eviction */
    assert_true(job.at >= t_restore + 32 * US); /* it ran after the restore */
    i = mfx_info(&f);
    assert_true(i.submit_wait_ns - i0.submit_wait_ns >= t_restore - t_submit);
    assert_int_equal(i.restores, 1);
    assert_int_equal(i.evictions, 1);
    assert_coherent(&f);
    mfx_check(&f);
    mfx_free(&f);
}

/* ---- §10.6: stale queued faults after munmap ------------------------------------------------- */

/*
 * refault, with a 1 ms fault interrupt: the job's first accesses fault and the faults sit in the
 * buffer. Before the driver fetches them, the application unmaps the buffer's memory and maps new
 * memory at the same address (MAP_FIXED) and writes it. The queued faults predate the unmap: they
 * are dropped, not served (serving them would map what the faulting access never meant). The
 * replay makes the accesses retry; they fault afresh and are served against the new mapping.
 */
static void test_stale_faults_after_munmap(void **state)
{
    mfx f;
    gpusim_host_config_t hc;
    gpusim_gpu_config_t gc;
    gpusim_buffer_t *b;
    call job, c = {0};
    uint64_t va, n = 16, oldpfn[16];
    uint32_t oldgen[16];
    gpusim_time_t t0;
    gpusim_driver_info_t i;
    size_t nv;
    gpusim_violation_t v[4];
    char msg[128];
    (void)state;
    mfx_host_config(&hc, 64 * MIB);
    gpusim_gpu_config_init(&gc);
    ASSERT_OK(gpusim_gpu_config_set(&gc, "fault_interrupt", "1ms", true, msg, sizeof msg));
    mfx_init_cfg(&f, &hc, &gc, GPUSIM_POLICY_REFAULT, NULL);
    b = populated(&f, n, &va);
    for (uint64_t k = 0; k < n; k++) {
        oldpfn[k] = cpu_pte_of(f.p, va + k * MPAGE).pfn;
        oldgen[k] = frame(&f, oldpfn[k]).gen;
    }
    t0 = now(&f);
    submit(&f, b, 4, 1000, &job);
    run_for(&f, 50 * US);
    i = mfx_info(&f);
    assert_int_equal(i.faults, 0); /* raised, not fetched yet */
    assert_int_equal(i.fault_batches, 0);
    assert_int_equal(gpu_mapped_count(&f, va, n), 0);
    ASSERT_OK(mfx_munmap(&f, va, n * MPAGE));
    ASSERT_OK(gpusim_process_mmap(f.p, va, n * MPAGE, GPUSIM_PROT_READ | GPUSIM_PROT_WRITE,
                                  GPUSIM_MAP_PRIVATE | GPUSIM_MAP_FIXED, NULL, 0, call_cb, &c));
    ASSERT_OK(mfx_wait(&f, &c));
    assert_int_equal(c.result, va);
    ASSERT_OK(mfx_touch(&f, va, n * MPAGE));
    assert_true(now(&f) < t0 + MS); /* all before the interrupt */
    assert_int_equal(mfx_info(&f).fault_batches, 0);
    for (uint64_t k = 0; k < n; k++) { /* the old frames are gone (freed, perhaps reused) */
        gpusim_frame_info_t fi = frame(&f, oldpfn[k]);
        assert_true(fi.state == GPUSIM_FRAME_FREE || fi.gen != oldgen[k]);
    }
    ASSERT_OK(mfx_wait(&f, &job));
    i = mfx_info(&f);
    assert_true(i.faults_dropped > 0);
    assert_true(i.faults > i.faults_dropped); /* the retried accesses were served */
    assert_int_equal(i.faults_cancelled, 0);
    assert_int_equal(i.use_after_free, 0);
    assert_int_equal(i.stale, 0);
    ASSERT_OK(gpusim_driver_violations(f.d, v, 4, &nv));
    assert_int_equal(nv, 0);
    assert_gpu_is_cpu(&f, va, n); /* the new frames */
    for (uint64_t k = 0; k < n; k++) {
        gpusim_gpu_pte_t g = gpu_pte(&f, va + k * MPAGE);
        assert_true(g.frame != oldpfn[k] || frame(&f, g.frame).gen != oldgen[k]);
    }
    mfx_check(&f);
    mfx_free(&f);
}

/* ---- §10.8: fork with a pinned page ------------------------------------------------------- */

static void write_pattern(mfx *f, gpusim_process_t *p, uint64_t va, uint64_t n, uint8_t byte)
{
    static uint8_t buf[16 * 4096];
    call c = {0};
    assert_true(n * MPAGE <= sizeof buf);
    memset(buf, byte, n * MPAGE);
    ASSERT_OK(gpusim_process_access(p, va, n * MPAGE, GPUSIM_ACCESS_WRITE, buf, call_cb, &c));
    ASSERT_OK(mfx_wait(f, &c));
}

/* The frame the GPU maps at va holds `byte` everywhere (data mode). */
static void assert_gpu_data(const mfx *f, uint64_t va, uint8_t byte)
{
    uint8_t buf[4096], want[4096];
    memset(want, byte, sizeof want);
    ASSERT_OK(gpusim_host_frame_read(f->h, gpu_pte(f, va).frame, 0, buf, sizeof buf));
    assert_memory_equal(buf, want, sizeof buf);
}

/*
 * pin-persistent: the buffer is pinned at registration; pin: it is pinned while a job runs. The
 * process forks and then writes the buffer: the pinned pages were copied for the child at fork,
 * so the parent's write lands in the pinned frame itself (no copy-on-write break moves the parent
 * away from the GPU's frame). The GPU's frame is the parent's CPU frame, holds the parent's data,
 * and the job sees neither a freed nor a stale frame. The child has its own copy.
 */
static void fork_pinned(gpusim_policy_t pol)
{
    mfx f;
    gpusim_host_config_t hc;
    gpusim_process_config_t pc;
    gpusim_process_t *child = NULL;
    gpusim_buffer_t *b;
    call job = {0}, fc = {0};
    uint64_t va, n = 16, gpupfn[16];
    mfx_host_config(&hc, 64 * MIB);
    hc.data_mode = true;
    mfx_init_cfg(&f, &hc, NULL, pol, NULL);
    va = mfx_mmap(&f, 0, n * MPAGE, 0);
    write_pattern(&f, f.p, va, n, 0xa1);
    b = mfx_register(&f, va, n * MPAGE);
    if (pol == GPUSIM_POLICY_PIN) {
        submit(&f, b, 500, 1000, &job); /* 8 ms */
        run_for(&f, 1 * MS);
        assert_int_equal(job.done, 0);
    }
    assert_int_equal(mfx_info(&f).pinned_pages, n);
    assert_gpu_is_cpu(&f, va, n);
    for (uint64_t k = 0; k < n; k++)
        gpupfn[k] = gpu_pte(&f, va + k * MPAGE).frame;
    gpusim_process_config_init(&pc);
    pc.name = "child";
    ASSERT_OK(gpusim_process_fork(f.p, &pc, &child, call_cb, &fc));
    ASSERT_OK(mfx_wait(&f, &fc));
    write_pattern(&f, f.p, va, n, 0xb2);   /* the parent writes */
    write_pattern(&f, child, va, n, 0xc3); /* and so does the child */
    for (uint64_t k = 0; k < n; k++) {
        uint64_t a = va + k * MPAGE;
        assert_int_equal(cpu_pte_of(f.p, a).pfn, gpupfn[k]); /* the parent kept its pinned page */
        assert_int_equal(gpu_pte(&f, a).frame, gpupfn[k]);
        assert_true(cpu_pte_of(child, a).pfn != gpupfn[k]);
        assert_gpu_data(&f, a, 0xb2);
    }
    if (pol == GPUSIM_POLICY_PIN_PERSISTENT)
        submit(&f, b, 50, 1000, &job);
    ASSERT_OK(mfx_wait(&f, &job));
    assert_coherent(&f);
    assert_int_equal(mfx_info(&f).data_mismatch, 0);
    assert_true(mfx_info(&f).checked > 0);
    mfx_check(&f);
    mfx_free(&f);
}

static void test_fork_pinned(void **state)
{
    (void)state;
    fork_pinned(GPUSIM_POLICY_PIN_PERSISTENT);
    fork_pinned(GPUSIM_POLICY_PIN);
}

/* ---- §10.10: inclusive/exclusive range ends ------------------------------------------------- */

/* Invalidates [s, e) and checks, while it is open, that every page of it is gone from the GPU's
 * page table and TLBs: the page at e - 4K above all (over-invalidating e itself is legal). */
static void invalidate_exact(mfx *f, uint64_t s, uint64_t e)
{
    tinv x;
    tinv_open(f, &x, s, e);
    for (uint64_t a = s; a < e; a += MPAGE) {
        gpusim_gpu_access_t acc;
        assert_false(gpu_mapped(f, a));
        /* no TLB of the compute engine holds it either */
        ASSERT_ERR(gpusim_gpu_access(gpusim_driver_ctx(f->d), 0, a, false, &acc), GPUSIM_EGPUFAULT);
    }
    tinv_end(&x);
}

static void range_ends(gpusim_policy_t pol)
{
    mfx f;
    gpusim_buffer_t *b;
    uint64_t va, n = 32;
    mfx_init(&f, 64 * MIB, pol, NULL);
    b = populated(&f, n, &va);
    run_job(&f, b);
    assert_int_equal(gpu_mapped_count(&f, va, n), n);
    /* Inside the buffer. */
    invalidate_exact(&f, va + 8 * MPAGE, va + 16 * MPAGE);
    assert_true(gpu_mapped(&f, va + 7 * MPAGE));
    assert_int_equal(gpu_mapped_count(&f, va + 17 * MPAGE, n - 17), n - 17);
    /* One page, the buffer's last. */
    run_job(&f, b);
    assert_int_equal(gpu_mapped_count(&f, va, n), n);
    invalidate_exact(&f, va + (n - 1) * MPAGE, va + n * MPAGE);
    assert_int_equal(gpu_mapped_count(&f, va, n - 1), n - 1);
    /* From before the buffer into it. */
    run_job(&f, b);
    invalidate_exact(&f, va - 8 * MPAGE, va + 4 * MPAGE);
    assert_int_equal(gpu_mapped_count(&f, va + 5 * MPAGE, n - 5), n - 5);
    /* And everything comes back coherently. */
    run_job(&f, b);
    assert_gpu_is_cpu(&f, va, n);
    assert_coherent(&f);
    assert_balanced(&f);
    mfx_check(&f);
    mfx_free(&f);
}

static void test_range_ends(void **state)
{
    (void)state;
    range_ends(GPUSIM_POLICY_REFAULT);
    range_ends(GPUSIM_POLICY_FENCE_WAIT);
}

/* ---- §10.11: freeing a page right after the callback returns -------------------------------- */

/*
 * A 32 ms job sweeps a 32-page buffer. At 5 ms the application drops pages 8-15 (madvise
 * DONTNEED) or unmaps them; the host frees their frames as soon as the callbacks have returned,
 * and the test makes it reuse them at once (a new mapping written). Whatever the policy does
 * afterwards (refault faults the pages back, fence-wait made the call wait for the job,
 * fence-reload evicted and restores), the GPU never reaches a freed or reused frame.
 */
static void free_after_callback(gpusim_policy_t pol, bool unmap)
{
    mfx f;
    gpusim_buffer_t *b;
    call job, c = {0};
    uint64_t va, other, n = 32, s, oldpfn[8];
    uint32_t oldgen[8];
    gpusim_driver_info_t i;
    mfx_init(&f, 64 * MIB, pol, NULL);
    b = populated(&f, n, &va);
    s = va + 8 * MPAGE;
    for (uint64_t k = 0; k < 8; k++) {
        oldpfn[k] = cpu_pte_of(f.p, s + k * MPAGE).pfn;
        oldgen[k] = frame(&f, oldpfn[k]).gen;
    }
    other = mfx_mmap(&f, 0, 64 * MPAGE, 0);
    submit(&f, b, 1000, 1000, &job);
    run_for(&f, 5 * MS);
    assert_int_equal(job.done, 0);
    if (unmap)
        ASSERT_OK(mfx_munmap(&f, s, 8 * MPAGE));
    else {
        ASSERT_OK(gpusim_process_madvise(f.p, s, 8 * MPAGE, GPUSIM_MADV_DONTNEED, call_cb, &c));
        ASSERT_OK(mfx_wait(&f, &c));
    }
    ASSERT_OK(mfx_touch(&f, other, 64 * MPAGE)); /* reuse the freed frames */
    for (uint64_t k = 0; k < 8; k++) {
        gpusim_frame_info_t fi = frame(&f, oldpfn[k]);
        assert_true(fi.state == GPUSIM_FRAME_FREE || fi.gen != oldgen[k]);
    }
    (void)mfx_wait(&f, &job);
    i = mfx_info(&f);
    assert_int_equal(i.use_after_free, 0);
    assert_int_equal(i.stale, 0);
    assert_true(i.invalidations >= 1);
    if (!unmap || pol == GPUSIM_POLICY_FENCE_WAIT)
        ASSERT_OK(job.status); /* DONTNEED'd pages come back as zero pages; fence-wait waited */
    else
        assert_int_equal(job.status, GPUSIM_ECTXKILLED); /* it touched unmapped memory */
    mfx_check(&f);
    mfx_free(&f);
}

static void test_free_after_callback(void **state)
{
    (void)state;
    for (size_t k = 0; k < GPUSIM_ARRAY_SIZE(subscribing); k++) {
        free_after_callback(subscribing[k], false);
        free_after_callback(subscribing[k], true);
    }
}

/* ---- §10.14: exit with GPU work in flight --------------------------------------------------- */

/*
 * The process exits while a 32 ms job runs over its buffer. No policy that protects the GPU's
 * translations lets it reach a freed frame: refault zaps and the job then faults on memory that
 * is gone (its context is killed); fence-wait holds the exit until the job ends; fence-reload
 * evicts, and the resumed job faults (killed); the pinning policies keep their frames alive (the
 * job reads frames the dead process no longer maps: stale, never freed). `none` is caught. The job
 * ends, the world stays consistent, and the driver can be freed afterwards.
 */
static void exit_in_flight(gpusim_policy_t pol)
{
    mfx f;
    gpusim_buffer_t *b;
    gpusim_process_info_t pi;
    gpusim_driver_info_t i;
    call job, ex = {0};
    uint64_t va, n = 32;
    int rc = GPUSIM_EBUSY;
    mfx_init(&f, 64 * MIB, pol, NULL);
    b = populated(&f, n, &va);
    submit(&f, b, 1000, 1000, &job);
    run_for(&f, 5 * MS);
    assert_int_equal(job.done, 0);
    ex.w = f.w;
    ASSERT_OK(gpusim_process_exit(f.p, call_cb, &ex));
    /* The job ends within a second (it had 27 ms to go). */
    for (int k = 0; k < 1000 && !job.done; k++)
        run_for(&f, 1 * MS);
    assert_int_equal(job.done, 1);
    ASSERT_OK(mfx_wait(&f, &ex));
    ASSERT_OK(gpusim_process_info(f.p, &pi));
    assert_int_equal(pi.state, GPUSIM_PROCESS_DEAD);
    assert_true(job.status == 0 || job.status == GPUSIM_ECTXKILLED);
    i = mfx_info(&f);
    switch (pol) {
    case GPUSIM_POLICY_NONE:
        assert_true(i.use_after_free > 0); /* the checker can fail */
        break;
    case GPUSIM_POLICY_FENCE_WAIT:
        assert_int_equal(i.use_after_free + i.stale, 0);
        ASSERT_OK(job.status);
        assert_true(ex.at >= job.at); /* the exit waited for the job */
        break;
    case GPUSIM_POLICY_REFAULT:
    case GPUSIM_POLICY_FENCE_RELOAD:
        assert_int_equal(i.use_after_free + i.stale, 0);
        assert_int_equal(job.status, GPUSIM_ECTXKILLED);
        break;
    default: /* pin, pin-persistent */
        assert_int_equal(i.use_after_free, 0);
        ASSERT_OK(job.status);
        break;
    }
    ASSERT_OK(gpusim_world_run(f.w));
    mfx_check(&f);
    assert_balanced(&f);
    /* The driver can be freed (a few tries: a host call may still be calling back). */
    for (int k = 0; k < 100 && rc == GPUSIM_EBUSY; k++) {
        rc = gpusim_driver_free(f.d);
        if (rc == GPUSIM_EBUSY)
            run_for(&f, 1 * MS);
    }
    ASSERT_OK(rc);
    f.d = NULL;
    mfx_check(&f);
    mfx_free(&f);
}

static void test_exit_in_flight(void **state)
{
    (void)state;
    for (unsigned p = 0; p < GPUSIM_POLICY_COUNT; p++)
        if (p != GPUSIM_POLICY_FENCE_RELOAD)
            exit_in_flight((gpusim_policy_t)p);
}

static void test_exit_in_flight_fence_reload(void **state)
{
    (void)state;
    exit_in_flight(GPUSIM_POLICY_FENCE_RELOAD);
}

/* ---- §10.15: subscribe / unsubscribe during an invalidation --------------------------------- */

/*
 * The test holds an invalidation open over buffer A and over the range where buffer B will be.
 * Meanwhile the driver unregisters A (its subscription's removal is deferred: the unregistration
 * reports only once the invalidation has ended) and registers B (its insertion is deferred: its
 * first read waits, so nothing of B is mapped -- with refault's prefetch_on_register, the
 * registration itself completes only then). A job on B waits too. When the invalidation ends,
 * both complete, the domain is balanced, and the job on B runs coherently.
 */
static void churn_during_invalidation(gpusim_policy_t pol)
{
    mfx f;
    gpusim_driver_config_t dc;
    gpusim_buffer_t *a, *b = NULL;
    gpusim_job_desc_t j;
    tinv x;
    call un = {0}, reg = {0}, job = {0};
    uint64_t va, vb, n = 16;
    size_t subs0;
    gpusim_time_t t_end;
    gpusim_driver_config_init(&dc, pol);
    if (pol == GPUSIM_POLICY_REFAULT)
        ASSERT_OK(gpusim_driver_config_set(&dc, "prefetch_on_register", "1", false, NULL, 0));
    mfx_init(&f, 64 * MIB, pol, &dc);
    va = mfx_mmap(&f, 0, 2 * n * MPAGE, 0); /* A, then B's range right after it */
    vb = va + n * MPAGE;
    ASSERT_OK(mfx_touch(&f, va, 2 * n * MPAGE));
    a = mfx_register(&f, va, n * MPAGE);
    run_job(&f, a);
    subs0 = gpusim_notifier_count(dom(&f));
    tinv_open(&f, &x, va, va + 2 * n * MPAGE);
    un.w = reg.w = job.w = f.w;
    ASSERT_OK(gpusim_driver_unregister(a, call_cb, &un));
    ASSERT_OK(gpusim_driver_register(f.d, vb, n * MPAGE, GPUSIM_BUFFER_WRITE, &b, call_cb, &reg));
    if (pol != GPUSIM_POLICY_REFAULT) {
        ASSERT_OK(mfx_wait(&f, &reg)); /* nothing to read at registration */
        ASSERT_OK(reg.status);
    }
    run_for(&f, 1 * MS);
    if (reg.done) {
        j = mfx_kernel(b, 2, 100);
        ASSERT_OK(gpusim_driver_submit(f.d, &j, call_cb, &job));
    }
    for (int k = 0; k < 40; k++) { /* 4 ms more with the invalidation open */
        run_for(&f, 100 * US);
        assert_int_equal(un.done, 0);
        assert_int_equal(job.done, 0);
        if (pol == GPUSIM_POLICY_REFAULT)
            assert_int_equal(reg.done, 0);
        assert_int_equal(gpu_mapped_count(&f, vb, n), 0);
        assert_int_equal(gpusim_notifier_active(dom(&f)), 1);
    }
    t_end = now(&f);
    tinv_end(&x);
    ASSERT_OK(mfx_wait(&f, &un));
    assert_true(un.at >= t_end);
    if (!reg.done)
        ASSERT_OK(mfx_wait(&f, &reg));
    ASSERT_OK(reg.status);
    assert_true(reg.at >= t_end || pol != GPUSIM_POLICY_REFAULT);
    if (pol == GPUSIM_POLICY_REFAULT) {
        assert_int_equal(gpu_mapped_count(&f, vb, n), n); /* prefetched after the end */
        j = mfx_kernel(b, 2, 100);
        ASSERT_OK(gpusim_driver_submit(f.d, &j, call_cb, &job));
    }
    ASSERT_OK(mfx_wait(&f, &job));
    assert_true(job.at > t_end);
    assert_balanced(&f);
    assert_int_equal(gpusim_notifier_count(dom(&f)), subs0); /* A out, B in */
    assert_int_equal(gpu_mapped_count(&f, va, n), 0);        /* nothing of A is left */
    assert_gpu_is_cpu(&f, vb, n);
    assert_coherent(&f);
    mfx_check(&f);
    mfx_free(&f);
}

static void test_churn_during_invalidation(void **state)
{
    (void)state;
    for (size_t k = 0; k < GPUSIM_ARRAY_SIZE(subscribing); k++)
        churn_during_invalidation(subscribing[k]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        GPUSIM_TEST(test_refusal_balanced),
        GPUSIM_TEST(test_refusal_oom_reaper),
        GPUSIM_TEST(test_invalidation_during_restore),
        GPUSIM_TEST(test_submit_while_evicted),
        GPUSIM_TEST(test_stale_faults_after_munmap),
        GPUSIM_TEST(test_fork_pinned),
        GPUSIM_TEST(test_range_ends),
        GPUSIM_TEST(test_free_after_callback),
        GPUSIM_TEST(test_exit_in_flight),
        GPUSIM_TEST(test_exit_in_flight_fence_reload),
        GPUSIM_TEST(test_churn_during_invalidation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
