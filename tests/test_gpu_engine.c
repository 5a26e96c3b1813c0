/*
 * tests/test_gpu_engine.c -- the compute and DMA engines (gpu/engine.h): kernel and copy timing
 * against hand-computed figures, waves sharing compute units, faults during a kernel, context
 * kill, preemption and resume (of a context, of one job, of both), cancellation, validation, and
 * teardown with work in flight.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "gpusim.h"
#include "gpu/device.h"
#include "gpu/engine.h"
#include "test_util.h"
#include "gpu_engine_util.h"

/* Memory time of n bytes of VRAM for one wave: n / (hbm_bw / compute_units). */
static uint64_t vram_ns(const gpusim_gpu_t *g, uint64_t n)
{
    return n * GPUSIM_NS_PER_S * g->p[GPUSIM__GPU_P_compute_units] / g->p[GPUSIM__GPU_P_hbm_bw];
}

/*
 * One wave, two passes over 16 pages of VRAM mapped as one 64 KiB fragment: one walk (L1 and L2
 * miss, four tables read) for the first touch, L1 hits after; each touch moves a page at the
 * wave's share of the bandwidth and computes 100 ns.
 */
static void test_kernel_timing(void **state)
{
    gpusim_world_t *w = test_world(1);
    gpusim_gpu_t *g = device(w, NULL);
    gpusim_gpu_ctx_t *c;
    jobrec j;
    gpusim_time_t t0 = gpusim_world_now(w), walk;
    (void)state;
    ASSERT_OK(gpusim_gpu_ctx_new(g, NULL, &c));
    map_run(c, VA, 16, 4096, RW);
    kernel(&j, w, c, VA, 16 * PAGE, 16, 4096, 2, 1, 100);
    ASSERT_OK(gpusim__gpu_engine_submit(&j.job, NULL, 0));
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(j.done, 1);
    ASSERT_OK(j.status);
    walk = g->p[GPUSIM__GPU_P_tlb_l1_lookup] + g->p[GPUSIM__GPU_P_tlb_l2_lookup] +
           4 * g->p[GPUSIM__GPU_P_page_walk_level];
    assert_int_equal(j.at - t0, walk + 32 * (vram_ns(g, PAGE) + 100));
    check_idle(g);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* Six equal waves on two units run in three rounds: three times one wave's time. */
static void test_waves_share_units(void **state)
{
    gpusim_world_t *w = test_world(1);
    gpusim_gpu_t *g = device(w, "2");
    gpusim_gpu_ctx_t *c;
    jobrec one, six;
    gpusim_time_t t0;
    (void)state;
    ASSERT_OK(gpusim_gpu_ctx_new(g, NULL, &c));
    map_run(c, VA, 16, 4096, RW);
    /* Warm the TLBs so every wave sees the same (hit) translations. */
    kernel(&one, w, c, VA, 16 * PAGE, 6, 64, 1, 1, 1000);
    ASSERT_OK(gpusim__gpu_engine_submit(&one.job, NULL, 0));
    ASSERT_OK(gpusim_world_run(w));
    t0 = gpusim_world_now(w);
    kernel(&one, w, c, VA, 16 * PAGE, 1, 64, 1, 1, 1000);
    ASSERT_OK(gpusim__gpu_engine_submit(&one.job, NULL, 0));
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(one.at - t0, 1000 + vram_ns(g, 64));
    t0 = gpusim_world_now(w);
    kernel(&six, w, c, VA, 16 * PAGE, 6, 64, 1, 6, 1000);
    ASSERT_OK(gpusim__gpu_engine_submit(&six.job, NULL, 0));
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(six.at - t0, 3 * (1000 + vram_ns(g, 64)));
    check_idle(g);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* A driver for the fault tests: maps every faulting page to frame 7000 + index and replays. */
static void on_fault(gpusim_gpu_t *g, void *data)
{
    gpusim_gpu_fault_t out[256];
    size_t n;
    (void)data;
    for (;;) {
        ASSERT_OK(gpusim_gpu_fault_fetch(g, out, 256, &n, NULL));
        if (n == 0)
            break;
        for (size_t i = 0; i < n; i++) {
            uint64_t f = 7000 + (out[i].va - VA) / PAGE;
            ASSERT_OK(gpusim_gpu_map(out[i].ctx, out[i].va, PAGE, &f, RW, NULL));
        }
    }
    ASSERT_OK(gpusim_gpu_fault_replay(g, NULL));
}

/* A kernel over unmapped memory faults, is serviced and completes; its waves stalled meanwhile. */
static void test_kernel_faults(void **state)
{
    gpusim_world_t *w = test_world(1);
    gpusim_gpu_t *g = device(w, NULL);
    gpusim_gpu_ctx_t *c;
    gpusim_gpu_pte_t e;
    gpusim_stat_info_t si;
    jobrec j;
    gpusim_time_t t0 = gpusim_world_now(w);
    (void)state;
    ASSERT_OK(gpusim_gpu_set_fault_handler(g, on_fault, NULL));
    ASSERT_OK(gpusim_gpu_ctx_new(g, NULL, &c));
    kernel(&j, w, c, VA, 64 * PAGE, 64, 4096, 1, 4, 10);
    ASSERT_OK(gpusim__gpu_engine_submit(&j.job, NULL, 0));
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(j.done, 1);
    ASSERT_OK(j.status);
    ASSERT_OK(gpusim_gpu_translate(c, VA + 63 * PAGE, &e));
    assert_true(e.valid);
    ASSERT_OK(gpusim_stats_get(w, "gpu.gpu0.fault.raised", &si));
    assert_true(si.count >= 64);
    /* At least one fault round trip: interrupt, batch and replay. */
    assert_true(j.at - t0 > g->p[GPUSIM__GPU_P_fault_interrupt] + g->p[GPUSIM__GPU_P_fault_replay]);
    check_idle(g);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* Killing a context ends its kernel with ECTXKILLED; another context's kernel completes. */
static void test_kill_isolated(void **state)
{
    gpusim_world_t *w = test_world(1);
    gpusim_gpu_t *g = device(w, NULL);
    gpusim_gpu_ctx_t *a, *b;
    jobrec ja, jb;
    char msg[128];
    (void)state;
    ASSERT_OK(gpusim_gpu_ctx_new(g, NULL, &a));
    ASSERT_OK(gpusim_gpu_ctx_new(g, NULL, &b));
    map_run(b, VA, 16, 4096, RW);
    kernel(&ja, w, a, VA, 16 * PAGE, 1000, 64, 1, 8, 10); /* unmapped, no handler: stalls */
    kernel(&jb, w, b, VA, 16 * PAGE, 1000, 64, 1, 8, 10);
    ASSERT_OK(gpusim__gpu_engine_submit(&ja.job, NULL, 0));
    ASSERT_OK(gpusim__gpu_engine_submit(&jb.job, NULL, 0));
    ASSERT_OK(gpusim_world_run_until(w, gpusim_world_now(w) + 100000));
    assert_int_equal(ja.done, 0);
    ASSERT_OK(gpusim_gpu_ctx_kill(a, GPUSIM_ECANCELED));
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(ja.done, 1);
    assert_int_equal(ja.status, GPUSIM_ECTXKILLED);
    assert_int_equal(jb.done, 1);
    ASSERT_OK(jb.status);
    kernel(&ja, w, a, VA, 16 * PAGE, 1, 64, 1, 1, 10);
    assert_int_equal(gpusim__gpu_engine_submit(&ja.job, msg, sizeof msg), GPUSIM_ECTXKILLED);
    check_idle(g);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

static int stopped_calls;
static gpusim_time_t stopped_at;
static gpusim_world_t *stopped_world;

static void on_stopped(void *data)
{
    (void)data;
    stopped_calls++;
    stopped_at = gpusim_world_now(stopped_world);
}

/*
 * Preempting a context stops its kernel at the next slice end (within engine_quantum), frees its
 * units for another context's kernel, and the kernel finishes after resume, later by the time it
 * was stopped.
 */
static void test_preempt_and_resume(void **state)
{
    gpusim_world_t *w = test_world(1);
    gpusim_gpu_t *g = device(w, "4");
    gpusim_gpu_ctx_t *a, *b;
    jobrec ref, ja, jb;
    gpusim_time_t t0, alone, tp;
    const gpusim_time_t pause = 10 * GPUSIM_NS_PER_US * 100;
    (void)state;
    stopped_world = w;
    stopped_calls = 0;
    ASSERT_OK(gpusim_gpu_ctx_new(g, NULL, &a));
    ASSERT_OK(gpusim_gpu_ctx_new(g, NULL, &b));
    map_run(a, VA, 16, 4096, RW);
    map_run(b, VA, 16, 4096, RW);
    /* Reference: the kernel alone, TLBs warm. */
    kernel(&ref, w, a, VA, 16 * PAGE, 4000, 64, 1, 4, 50);
    ASSERT_OK(gpusim__gpu_engine_submit(&ref.job, NULL, 0));
    ASSERT_OK(gpusim_world_run(w));
    t0 = gpusim_world_now(w);
    kernel(&ref, w, a, VA, 16 * PAGE, 4000, 64, 1, 4, 50);
    ASSERT_OK(gpusim__gpu_engine_submit(&ref.job, NULL, 0));
    ASSERT_OK(gpusim_world_run(w));
    alone = ref.at - t0;
    /* The same kernel, preempted part-way for `pause`, while b's kernel uses the units. */
    t0 = gpusim_world_now(w);
    kernel(&ja, w, a, VA, 16 * PAGE, 4000, 64, 1, 4, 50);
    ASSERT_OK(gpusim__gpu_engine_submit(&ja.job, NULL, 0));
    ASSERT_OK(gpusim_world_run_until(w, t0 + alone / 3));
    tp = gpusim_world_now(w);
    ASSERT_OK(gpusim__gpu_engine_preempt_ctx(a, on_stopped, NULL));
    ASSERT_ERR(gpusim__gpu_engine_preempt_ctx(a, on_stopped, NULL), GPUSIM_EBUSY);
    kernel(&jb, w, b, VA, 16 * PAGE, 8, 64, 1, 4, 50);
    ASSERT_OK(gpusim__gpu_engine_submit(&jb.job, NULL, 0));
    ASSERT_OK(gpusim_world_run_until(w, tp + pause));
    assert_int_equal(stopped_calls, 1);
    assert_true(stopped_at - tp <= g->p[GPUSIM__GPU_P_engine_quantum] + 1000);
    assert_int_equal(ja.done, 0);
    assert_int_equal(jb.done, 1); /* b ran on the freed units */
    gpusim__gpu_engine_resume_ctx(a);
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(ja.done, 1);
    ASSERT_OK(ja.status);
    assert_true(ja.at - t0 >= alone + pause - g->p[GPUSIM__GPU_P_engine_quantum] - 1000);
    assert_true(ja.at - t0 <= alone + pause + g->p[GPUSIM__GPU_P_engine_quantum]);
    check_idle(g);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* A report counter for job and context preemptions in the same test. */
typedef struct stoprec {
    gpusim_world_t *w;
    int calls;
    gpusim_time_t at;
    const jobrec *watch; /* if set: its done count when the report came */
    int watch_done;
} stoprec;

static void on_stop(void *data)
{
    stoprec *r = data;
    r->calls++;
    r->at = gpusim_world_now(r->w);
    r->watch_done = r->watch ? r->watch->done : -1;
}

static void check_ok(const gpusim_gpu_t *g)
{
    char msg[256];
    if (gpusim_gpu_check(g, msg, sizeof msg))
        fail_msg("gpu check: %s", msg);
}

/*
 * Preempting one job stops its waves at their next slice end (within engine_quantum plus the
 * touch in progress), frees its units for another job of the same context, and after resume the
 * job ends exactly as late as it was stopped: its end moves by the pause, to the nanosecond.
 */
static void test_preempt_job_and_resume(void **state)
{
    gpusim_world_t *w = test_world(1);
    gpusim_gpu_t *g = device(w, "4");
    gpusim_gpu_ctx_t *a;
    jobrec ref, ja, jb, idle;
    stoprec st = {w, 0, 0, NULL, 0};
    gpusim_time_t t0, alone, tp, tr, touch;
    const gpusim_time_t pause = 1000 * GPUSIM_NS_PER_US;
    (void)state;
    ASSERT_OK(gpusim_gpu_ctx_new(g, NULL, &a));
    map_run(a, VA, 16, 4096, RW);
    touch = vram_ns(g, 64) + 50;
    kernel(&ref, w, a, VA, 16 * PAGE, 4000, 64, 1, 4, 50); /* warms the TLBs */
    ASSERT_OK(gpusim__gpu_engine_submit(&ref.job, NULL, 0));
    ASSERT_OK(gpusim_world_run(w));
    t0 = gpusim_world_now(w);
    kernel(&ref, w, a, VA, 16 * PAGE, 4000, 64, 1, 4, 50);
    ASSERT_OK(gpusim__gpu_engine_submit(&ref.job, NULL, 0));
    ASSERT_OK(gpusim_world_run(w));
    alone = ref.at - t0;
    /* Arguments. */
    kernel(&idle, w, a, VA, 16 * PAGE, 4, 64, 1, 1, 50);
    ASSERT_ERR(gpusim__gpu_engine_preempt_job(NULL, on_stop, &st), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim__gpu_engine_preempt_job(&idle.job, on_stop, &st), GPUSIM_ENOENT);
    gpusim__gpu_engine_resume_job(NULL);
    gpusim__gpu_engine_resume_job(&idle.job); /* not submitted: nothing */
    /* The same kernel, preempted a third of the way. */
    t0 = gpusim_world_now(w);
    kernel(&ja, w, a, VA, 16 * PAGE, 4000, 64, 1, 4, 50);
    ASSERT_OK(gpusim__gpu_engine_submit(&ja.job, NULL, 0));
    ASSERT_OK(gpusim_world_run_until(w, t0 + alone / 3));
    tp = gpusim_world_now(w);
    ASSERT_OK(gpusim__gpu_engine_preempt_job(&ja.job, on_stop, &st));
    ASSERT_ERR(gpusim__gpu_engine_preempt_job(&ja.job, on_stop, &st), GPUSIM_EBUSY);
    check_ok(g);
    /* A short kernel of the same context, submitted behind it, gets the freed units. */
    kernel(&jb, w, a, VA, 16 * PAGE, 8, 64, 1, 4, 50);
    ASSERT_OK(gpusim__gpu_engine_submit(&jb.job, NULL, 0));
    ASSERT_OK(gpusim_world_run_until(w, tp + pause));
    assert_int_equal(st.calls, 1);
    assert_true(st.at > tp);
    assert_true(st.at - tp < g->p[GPUSIM__GPU_P_engine_quantum] + touch);
    assert_int_equal(ja.done, 0);
    assert_int_equal(jb.done, 1);
    assert_true(jb.at < tp + pause);
    assert_int_equal(gpusim__gpu_engine_free_units(g), 4); /* the preempted waves hold none */
    check_ok(g);
    tr = gpusim_world_now(w);
    gpusim__gpu_engine_resume_job(&ja.job);
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(ja.done, 1);
    ASSERT_OK(ja.status);
    assert_int_equal(ja.at - t0, alone + (tr - st.at));
    assert_int_equal(st.calls, 1);
    check_idle(g);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/*
 * A job preempted both alone and with its context: a wave still running counts toward both
 * requests (both report when it stops); a request made once the waves have stopped reports at
 * once, through an event; each resume lifts only its own hold, and the job runs again only when
 * both are lifted.
 */
static void test_preempt_job_and_ctx(void **state)
{
    gpusim_world_t *w = test_world(1);
    gpusim_gpu_t *g = device(w, "2");
    gpusim_gpu_ctx_t *a;
    jobrec j;
    stoprec sj = {w, 0, 0, NULL, 0}, sc = {w, 0, 0, NULL, 0};
    gpusim_time_t t;
    (void)state;
    ASSERT_OK(gpusim_gpu_ctx_new(g, NULL, &a));
    map_run(a, VA, 16, 4096, RW);
    kernel(&j, w, a, VA, 16 * PAGE, 20000, 64, 1, 2, 50);
    ASSERT_OK(gpusim__gpu_engine_submit(&j.job, NULL, 0));
    ASSERT_OK(gpusim_world_run_until(w, gpusim_world_now(w) + 10 * GPUSIM_NS_PER_US));
    /* Both requests at the same instant: both wait for the two running waves. */
    ASSERT_OK(gpusim__gpu_engine_preempt_job(&j.job, on_stop, &sj));
    ASSERT_OK(gpusim__gpu_engine_preempt_ctx(a, on_stop, &sc));
    check_ok(g);
    ASSERT_OK(gpusim_world_run_until(w, gpusim_world_now(w) + 100 * GPUSIM_NS_PER_US));
    assert_int_equal(sj.calls, 1);
    assert_int_equal(sc.calls, 1);
    assert_int_equal(sj.at, sc.at);
    /* The context resumed: the job is still held by its own preemption. */
    gpusim__gpu_engine_resume_ctx(a);
    ASSERT_OK(gpusim_world_run_until(w, gpusim_world_now(w) + 100 * GPUSIM_NS_PER_US));
    assert_int_equal(gpusim__gpu_engine_free_units(g), 2);
    assert_int_equal(j.done, 0);
    check_ok(g);
    /* The context preempted again while the job is stopped: nothing to wait for, it reports at
     * once, from an event. */
    t = gpusim_world_now(w);
    ASSERT_OK(gpusim__gpu_engine_preempt_ctx(a, on_stop, &sc));
    assert_int_equal(sc.calls, 1);
    ASSERT_OK(gpusim_world_run_until(w, t));
    assert_int_equal(sc.calls, 2);
    assert_int_equal(sc.at, t);
    /* The job resumed: still held by the context. */
    gpusim__gpu_engine_resume_job(&j.job);
    ASSERT_OK(gpusim_world_run_until(w, gpusim_world_now(w) + 100 * GPUSIM_NS_PER_US));
    assert_int_equal(gpusim__gpu_engine_free_units(g), 2);
    assert_int_equal(j.done, 0);
    /* The job preempted again while held by the context: reports at once as well. */
    t = gpusim_world_now(w);
    ASSERT_OK(gpusim__gpu_engine_preempt_job(&j.job, on_stop, &sj));
    ASSERT_OK(gpusim_world_run_until(w, t));
    assert_int_equal(sj.calls, 2);
    gpusim__gpu_engine_resume_job(&j.job);
    /* Both lifted: it finishes. */
    gpusim__gpu_engine_resume_ctx(a);
    assert_int_equal(gpusim__gpu_engine_free_units(g), 0);
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(j.done, 1);
    ASSERT_OK(j.status);
    assert_int_equal(sj.calls + sc.calls, 4);
    check_idle(g);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* An event that preempts a job (for a request at a chosen point in the event order). */
typedef struct late_job {
    gpusim_event_t ev;
    gpusim__gpu_job *job;
    stoprec *st;
    int rc;
} late_job;

static void do_preempt_job(gpusim_world_t *w, gpusim_event_t *ev)
{
    late_job *lj = ev->data;
    (void)w;
    lj->rc = gpusim__gpu_engine_preempt_job(lj->job, on_stop, lj->st);
}

/*
 * Preemption reports that never come: a resume before the waves stopped drops the report, and so
 * does cancelling a preempted job; no event-queue slot is kept. A job whose slice was its last
 * ends normally, its report first.
 */
static void test_preempt_job_dropped_reports(void **state)
{
    gpusim_world_t *w = test_world(1);
    gpusim_gpu_t *g = device(w, "2");
    gpusim_gpu_ctx_t *a;
    jobrec j, k;
    stoprec sj = {w, 0, 0, NULL, 0}, sk = {w, 0, 0, NULL, 0};
    gpusim_time_t ts, dur;
    (void)state;
    ASSERT_OK(gpusim_gpu_ctx_new(g, NULL, &a));
    map_run(a, VA, 16, 4096, RW);
    kernel(&j, w, a, VA, 16 * PAGE, 20000, 64, 1, 2, 50);
    ASSERT_OK(gpusim__gpu_engine_submit(&j.job, NULL, 0));
    ASSERT_OK(gpusim_world_run_until(w, gpusim_world_now(w) + 5 * GPUSIM_NS_PER_US));
    ASSERT_OK(gpusim__gpu_engine_preempt_job(&j.job, on_stop, &sj));
    gpusim__gpu_engine_resume_job(&j.job); /* before any wave stopped */
    ASSERT_OK(gpusim__gpu_engine_preempt_job(&j.job, on_stop, &sj));
    ASSERT_OK(gpusim__gpu_engine_cancel(&j.job)); /* preempted, report not delivered */
    /* A one-touch kernel preempted in its last slice: it ends, reporting first. */
    kernel(&k, w, a, VA, 16 * PAGE, 1, 64, 1, 1, 50);
    sk.watch = &k;
    ts = gpusim_world_now(w);
    ASSERT_OK(gpusim__gpu_engine_submit(&k.job, NULL, 0));
    ASSERT_OK(gpusim_world_run_until(w, gpusim_world_now(w))); /* its one slice is under way */
    ASSERT_OK(gpusim__gpu_engine_preempt_job(&k.job, on_stop, &sk));
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(sj.calls, 0);
    assert_int_equal(j.done, 0);
    assert_int_equal(k.done, 1);
    ASSERT_OK(k.status);
    assert_int_equal(sk.calls, 1);
    assert_int_equal(sk.at, k.at);
    assert_int_equal(sk.watch_done, 0); /* the report came before done */
    dur = k.at - ts;
    ASSERT_ERR(gpusim__gpu_engine_preempt_job(&k.job, on_stop, &sk), GPUSIM_ENOENT);
    /* Preempted in the very instant it ended, after its end was scheduled: the report is due
     * after done in the event queue, yet still comes first. */
    {
        gpusim_time_t t0;
        late_job lj;
        sk.calls = 0;
        kernel(&k, w, a, VA, 16 * PAGE, 1, 64, 1, 1, 50);
        ASSERT_OK(gpusim__gpu_engine_submit(&k.job, NULL, 0));
        ASSERT_OK(gpusim_world_run_until(w, gpusim_world_now(w)));
        t0 = gpusim_world_now(w);
        lj.job = &k.job;
        lj.st = &sk;
        lj.rc = 1;
        gpusim_event_init(&lj.ev, do_preempt_job, &lj);
        ASSERT_OK(gpusim_event_schedule(w, &lj.ev, t0 + dur));
        ASSERT_OK(gpusim_world_run(w));
        ASSERT_OK(lj.rc);
        assert_int_equal(k.done, 1);
        assert_int_equal(k.at, t0 + dur);
        assert_int_equal(sk.calls, 1);
        assert_int_equal(sk.watch_done, 0);
    }
    check_idle(g);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* A preempted copy gives the DMA engine back: the next copy runs meanwhile; after resume the
 * first finishes. */
static void test_preempt_job_copy(void **state)
{
    gpusim_world_t *w = test_world(1);
    gpusim_gpu_t *g = device(w, NULL);
    gpusim_gpu_ctx_t *c;
    jobrec big, small;
    stoprec st = {w, 0, 0, NULL, 0};
    static uint64_t f[512];
    gpusim_time_t tp;
    (void)state;
    ASSERT_OK(gpusim_gpu_ctx_new(g, NULL, &c));
    for (int i = 0; i < 512; i++)
        f[i] = 512 * 40 + (uint64_t)i;
    ASSERT_OK(gpusim_gpu_map(c, VA, HUGE, f, GPUSIM_GPU_READ | GPUSIM_GPU_SYSTEM, NULL));
    map_run(c, VB, 256, 512 * 3, RW); /* 4 KiB-ish chunks on the destination side */
    copy(&big, w, c, VB, VA, 256 * PAGE);
    copy(&small, w, c, VB, VA, PAGE);
    ASSERT_OK(gpusim__gpu_engine_submit(&big.job, NULL, 0));
    ASSERT_OK(gpusim__gpu_engine_submit(&small.job, NULL, 0));
    ASSERT_OK(gpusim_world_run_until(w, g->p[GPUSIM__GPU_P_dma_setup] + 1000));
    tp = gpusim_world_now(w);
    ASSERT_OK(gpusim__gpu_engine_preempt_job(&big.job, on_stop, &st));
    ASSERT_OK(gpusim_world_run_until(w, tp + 100 * GPUSIM_NS_PER_US));
    assert_int_equal(st.calls, 1);
    assert_int_equal(small.done, 1); /* ran on the DMA engine the big copy gave back */
    assert_int_equal(big.done, 0);
    check_ok(g);
    gpusim__gpu_engine_resume_job(&big.job);
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(big.done, 1);
    ASSERT_OK(big.status);
    assert_true(big.at > small.at);
    check_idle(g);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* A copy host -> VRAM over 2 MiB mappings on both sides moves in one chunk: dma_setup, two
 * translations and the bytes at pcie_h2d_pinned. */
static void test_copy_timing(void **state)
{
    gpusim_world_t *w = test_world(1);
    gpusim_gpu_t *g = device(w, NULL);
    gpusim_gpu_ctx_t *c;
    jobrec j;
    gpusim_time_t t0 = gpusim_world_now(w), data, lo, hi;
    static uint64_t f[512];
    (void)state;
    ASSERT_OK(gpusim_gpu_ctx_new(g, NULL, &c));
    for (int i = 0; i < 512; i++)
        f[i] = 512 * 40 + (uint64_t)i;
    ASSERT_OK(gpusim_gpu_map(c, VA, HUGE, f, GPUSIM_GPU_READ | GPUSIM_GPU_SYSTEM, NULL));
    for (int i = 0; i < 512; i++)
        f[i] = 512 * 3 + (uint64_t)i;
    ASSERT_OK(gpusim_gpu_map(c, VB, HUGE, f, RW, NULL));
    copy(&j, w, c, VB, VA, HUGE / 2);
    ASSERT_OK(gpusim__gpu_engine_submit(&j.job, NULL, 0));
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(j.done, 1);
    ASSERT_OK(j.status);
    data = (HUGE / 2) * GPUSIM_NS_PER_S / g->p[GPUSIM__GPU_P_pcie_h2d_pinned];
    lo = g->p[GPUSIM__GPU_P_dma_setup] + data;
    hi = lo + 2 * (g->p[GPUSIM__GPU_P_tlb_l2_lookup] + 4 * g->p[GPUSIM__GPU_P_page_walk_level]);
    assert_true(j.at - t0 >= lo && j.at - t0 <= hi);
    /* 4 KiB source pages: one chunk per page, each at least the page's transfer time. */
    {
        uint64_t pages[256];
        for (int i = 0; i < 256; i++)
            pages[i] = 100000 + 2 * (uint64_t)i;
        ASSERT_OK(gpusim_gpu_map(c, VA + HUGE, 256 * PAGE, pages,
                                 GPUSIM_GPU_READ | GPUSIM_GPU_SYSTEM, NULL));
        t0 = gpusim_world_now(w);
        copy(&j, w, c, VB, VA + HUGE, 256 * PAGE);
        ASSERT_OK(gpusim__gpu_engine_submit(&j.job, NULL, 0));
        ASSERT_OK(gpusim_world_run(w));
        assert_int_equal(j.done, 1);
        assert_true(j.at - t0 >=
                    g->p[GPUSIM__GPU_P_dma_setup] +
                        256 * (PAGE * GPUSIM_NS_PER_S / g->p[GPUSIM__GPU_P_pcie_h2d_pinned]));
    }
    check_idle(g);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* Cancelling running jobs: no done callback, engines free for the next job, nothing kept. */
static void test_cancel(void **state)
{
    gpusim_world_t *w = test_world(1);
    gpusim_gpu_t *g = device(w, "2");
    gpusim_gpu_ctx_t *c;
    jobrec k, cp, next;
    (void)state;
    ASSERT_OK(gpusim_gpu_ctx_new(g, NULL, &c));
    map_run(c, VA, 16, 4096, RW);
    kernel(&k, w, c, VA, 16 * PAGE, 100000, 64, 1, 8, 100);
    copy(&cp, w, c, VA + 8 * PAGE, VA, 8 * PAGE);
    ASSERT_OK(gpusim__gpu_engine_submit(&k.job, NULL, 0));
    ASSERT_OK(gpusim__gpu_engine_submit(&cp.job, NULL, 0));
    ASSERT_OK(gpusim_world_run_until(w, gpusim_world_now(w) + 3000));
    ASSERT_OK(gpusim__gpu_engine_cancel(&k.job));
    ASSERT_OK(gpusim__gpu_engine_cancel(&cp.job));
    ASSERT_ERR(gpusim__gpu_engine_cancel(&k.job), GPUSIM_ENOENT);
    kernel(&next, w, c, VA, 16 * PAGE, 4, 64, 1, 2, 100);
    ASSERT_OK(gpusim__gpu_engine_submit(&next.job, NULL, 0));
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(k.done, 0);
    assert_int_equal(cp.done, 0);
    assert_int_equal(next.done, 1);
    check_idle(g);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

static void test_submit_rejects(void **state)
{
    gpusim_world_t *w = test_world(1);
    gpusim_gpu_t *g = device(w, NULL);
    gpusim_gpu_ctx_t *c;
    jobrec j;
    char msg[128];
    (void)state;
    ASSERT_OK(gpusim_gpu_ctx_new(g, NULL, &c));
    kernel(&j, w, c, VA, 16 * PAGE, 4, 64, 1, 1, 1);
    j.job.kernel.pattern = GPUSIM_PATTERN_TRACE;
    j.job.kernel.trace_id = 3;
    ASSERT_ERR(gpusim__gpu_engine_submit(&j.job, msg, sizeof msg), GPUSIM_EINVAL);
    assert_non_null(strstr(msg, "trace"));
    kernel(&j, w, c, VA, 16 * PAGE, 4, 64, 1, 0, 1);
    ASSERT_ERR(gpusim__gpu_engine_submit(&j.job, msg, sizeof msg), GPUSIM_EINVAL);
    kernel(&j, w, c, GPUSIM_GPU_VA_END - PAGE, 2 * PAGE, 4, 64, 1, 1, 1);
    ASSERT_ERR(gpusim__gpu_engine_submit(&j.job, msg, sizeof msg), GPUSIM_EINVAL);
    kernel(&j, w, c, VA, 16 * PAGE, 4, 8192, 1, 1, 1);
    ASSERT_ERR(gpusim__gpu_engine_submit(&j.job, msg, sizeof msg), GPUSIM_EINVAL);
    copy(&j, w, c, VA, VA, 0);
    ASSERT_ERR(gpusim__gpu_engine_submit(&j.job, msg, sizeof msg), GPUSIM_EINVAL);
    copy(&j, w, c, GPUSIM_GPU_VA_END - PAGE, VA, 2 * PAGE);
    ASSERT_ERR(gpusim__gpu_engine_submit(&j.job, msg, sizeof msg), GPUSIM_EINVAL);
    j.job.kind = 99;
    ASSERT_ERR(gpusim__gpu_engine_submit(&j.job, msg, sizeof msg), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim__gpu_engine_submit(NULL, msg, sizeof msg), GPUSIM_EINVAL);
    check_idle(g);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* Freeing the world (or a context) with kernels, copies and stalled waves in flight: no leak, no
 * callback. */
static void test_teardown_in_flight(void **state)
{
    gpusim_world_t *w = test_world(1);
    gpusim_gpu_t *g = device(w, "2");
    gpusim_gpu_ctx_t *a, *b;
    jobrec ka, kb, cb;
    (void)state;
    ASSERT_OK(gpusim_gpu_ctx_new(g, NULL, &a));
    ASSERT_OK(gpusim_gpu_ctx_new(g, NULL, &b));
    map_run(b, VA, 16, 4096, RW);
    kernel(&ka, w, a, VA, 16 * PAGE, 1000, 64, 1, 4, 10); /* faults, no handler: stalls */
    kernel(&kb, w, b, VA, 16 * PAGE, 100000, 64, 1, 4, 10);
    copy(&cb, w, b, VA + 8 * PAGE, VA, 8 * PAGE);
    ASSERT_OK(gpusim__gpu_engine_submit(&ka.job, NULL, 0));
    ASSERT_OK(gpusim__gpu_engine_submit(&kb.job, NULL, 0));
    ASSERT_OK(gpusim__gpu_engine_submit(&cb.job, NULL, 0));
    ASSERT_OK(gpusim_world_run_until(w, gpusim_world_now(w) + 5000));
    gpusim_gpu_ctx_free(a);
    ASSERT_OK(gpusim_world_run_until(w, gpusim_world_now(w) + 5000));
    assert_int_equal(ka.done, 0);
    gpusim_world_free(w);
    assert_int_equal(kb.done, 0);
    ASSERT_NO_LEAK();
}

/* Runs one kernel on a fresh world, with or without fast-forward: its duration, and the passes
 * fast-forwarded. */
static gpusim_time_t run_kernel(bool ff, gpusim_access_pattern_t pattern, uint32_t waves,
                                uint32_t passes, uint64_t *ff_passes, uint64_t *events)
{
    gpusim_world_t *w = test_world(7);
    gpusim_gpu_t *g = device_ff(w, "4", ff);
    gpusim_gpu_ctx_t *c;
    jobrec j;
    gpusim_time_t t0, d;
    ASSERT_OK(gpusim_gpu_ctx_new(g, NULL, &c));
    map_run(c, VA, 64, 4096, RW); /* four 64 KiB fragments: fits any L1 */
    kernel(&j, w, c, VA, 64 * PAGE, 300, 256, passes, waves, 20);
    j.job.kernel.pattern = pattern;
    if (pattern == GPUSIM_PATTERN_RANDOM)
        j.job.kernel.seed = 99;
    t0 = gpusim_world_now(w);
    ASSERT_OK(gpusim__gpu_engine_submit(&j.job, NULL, 0));
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(j.done, 1);
    ASSERT_OK(j.status);
    d = j.at - t0;
    *ff_passes = stat(w, "gpu.gpu0.engine.ff_passes");
    if (events)
        *events = gpusim_world_events_run(w);
    check_idle(g);
    gpusim_world_free(w);
    return d;
}

/* A fast-forwarded kernel ends exactly when the fully simulated one does, with far fewer events;
 * for one wave and for several waves sharing the units, sequential and random. */
static void test_fast_forward_matches_full(void **state)
{
    static const struct {
        gpusim_access_pattern_t pattern;
        uint32_t waves;
    } cases[] = {{GPUSIM_PATTERN_SEQUENTIAL, 1},
                 {GPUSIM_PATTERN_SEQUENTIAL, 4},
                 {GPUSIM_PATTERN_RANDOM, 3},
                 {GPUSIM_PATTERN_RANDOM, 8}};
    (void)state;
    for (size_t i = 0; i < GPUSIM_ARRAY_SIZE(cases); i++) {
        uint64_t ff_on, ff_off, ev_on, ev_off;
        gpusim_time_t full =
            run_kernel(false, cases[i].pattern, cases[i].waves, 40, &ff_off, &ev_off);
        gpusim_time_t fast = run_kernel(true, cases[i].pattern, cases[i].waves, 40, &ff_on, &ev_on);
        if (fast != full)
            fail_msg("case %zu: fast-forward %llu ns, full %llu ns", i, (unsigned long long)fast,
                     (unsigned long long)full);
        assert_int_equal(ff_off, 0);
        assert_true(ff_on > 0);
        assert_true(ev_on * 4 < ev_off);
    }
    ASSERT_NO_LEAK();
}

/* A kernel of one simulated hour takes a handful of events. */
static void test_hour_long_kernel(void **state)
{
    uint64_t ff, events, pass;
    gpusim_time_t one, hour;
    uint32_t passes;
    (void)state;
    /* One steady pass: four passes minus three (the first pass has the walks). */
    one = run_kernel(true, GPUSIM_PATTERN_SEQUENTIAL, 1, 3, &ff, NULL);
    pass = run_kernel(true, GPUSIM_PATTERN_SEQUENTIAL, 1, 4, &ff, NULL) - one;
    passes = (uint32_t)(3600 * GPUSIM_NS_PER_S / pass);
    hour = run_kernel(true, GPUSIM_PATTERN_SEQUENTIAL, 1, passes, &ff, &events);
    assert_true(hour >= 3600 * GPUSIM_NS_PER_S - pass && hour <= 3600 * GPUSIM_NS_PER_S + one);
    assert_true(ff >= passes - 3);
    assert_true(events < 1000);
    ASSERT_NO_LEAK();
}

/* A TLB invalidation while a kernel fast-forwards stops the fast-forward at its real position: the
 * kernel re-simulates from there (the walks it now needs), becomes steady again, and ends a little
 * later than undisturbed. */
static void test_fast_forward_interrupted(void **state)
{
    gpusim_world_t *w = test_world(7);
    gpusim_gpu_t *g = device(w, "4");
    gpusim_gpu_ctx_t *c;
    jobrec j;
    uint64_t ff;
    gpusim_time_t t0, calm = run_kernel(true, GPUSIM_PATTERN_SEQUENTIAL, 1, 400, &ff, NULL);
    (void)state;
    ASSERT_OK(gpusim_gpu_ctx_new(g, NULL, &c));
    map_run(c, VA, 64, 4096, RW);
    kernel(&j, w, c, VA, 64 * PAGE, 300, 256, 400, 1, 20);
    t0 = gpusim_world_now(w);
    ASSERT_OK(gpusim__gpu_engine_submit(&j.job, NULL, 0));
    ASSERT_OK(gpusim_world_run_until(w, t0 + calm / 2));
    assert_int_equal(j.done, 0);
    ASSERT_OK(gpusim_gpu_tlb_invalidate_ctx(c, NULL));
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(j.done, 1);
    assert_int_equal(stat(w, "gpu.gpu0.engine.ff_interrupts"), 1);
    assert_true(j.at - t0 > calm);
    assert_true(j.at - t0 < calm + 3 * (calm / 400) + 10000);
    check_idle(g);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* A TRACE kernel replays a registered trace: its records are the touches (a write to a read-only
 * page faults, and is counted); a trace reaching past the buffer, an unknown id and bad text are
 * refused with a reason. */
static void test_trace_kernel(void **state)
{
    gpusim_world_t *w = test_world(1);
    gpusim_gpu_t *g = device(w, NULL);
    gpusim_gpu_ctx_t *c;
    jobrec j;
    uint32_t id, id2;
    char msg[128];
    static const char text[] = "# two reads and a write\nR 0\nR 0x1000 64\nW 0x3000 8\n";
    (void)state;
    ASSERT_OK(gpusim_gpu_ctx_new(g, NULL, &c));
    map_run(c, VA, 3, 4096, RW);
    map_run(c, VA + 3 * PAGE, 1, 5000, GPUSIM_GPU_READ);
    ASSERT_OK(gpusim_gpu_trace_load(g, text, strlen(text), &id, msg, sizeof msg));
    assert_int_not_equal(id, 0);
    kernel(&j, w, c, VA, 4 * PAGE, 3, 0, 1, 1, 10);
    j.job.kernel.pattern = GPUSIM_PATTERN_TRACE;
    j.job.kernel.trace_id = id;
    ASSERT_OK(gpusim__gpu_engine_submit(&j.job, msg, sizeof msg));
    ASSERT_OK(gpusim_world_run_until(w, gpusim_world_now(w) + 100000));
    assert_int_equal(j.done, 0); /* the write to the read-only page faults; nobody services it */
    assert_int_equal(stat(w, "gpu.gpu0.fault.raised"), 1);
    ASSERT_OK(gpusim_gpu_protect(c, VA + 3 * PAGE, PAGE, RW, NULL));
    ASSERT_OK(gpusim_gpu_tlb_invalidate(c, VA + 3 * PAGE, PAGE, NULL));
    ASSERT_OK(gpusim_gpu_fault_replay(g, NULL));
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(j.done, 1);
    ASSERT_OK(j.status);
    /* Refusals. */
    kernel(&j, w, c, VA, 3 * PAGE, 3, 0, 1, 1, 10); /* the trace reaches 0x3008 */
    j.job.kernel.pattern = GPUSIM_PATTERN_TRACE;
    j.job.kernel.trace_id = id;
    ASSERT_ERR(gpusim__gpu_engine_submit(&j.job, msg, sizeof msg), GPUSIM_EINVAL);
    assert_non_null(strstr(msg, "past the end"));
    j.job.kernel.trace_id = id + 1;
    ASSERT_ERR(gpusim__gpu_engine_submit(&j.job, msg, sizeof msg), GPUSIM_EINVAL);
    assert_non_null(strstr(msg, "no address trace"));
    ASSERT_ERR(gpusim_gpu_trace_load(g, "R 0\nQ 1\n", 8, &id2, msg, sizeof msg), GPUSIM_EINVAL);
    assert_non_null(strstr(msg, "line 2"));
    ASSERT_ERR(gpusim_gpu_trace_load(NULL, "R 0", 3, &id2, msg, sizeof msg), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_gpu_trace_load(g, "R 0", 3, NULL, msg, sizeof msg), GPUSIM_EINVAL);
    ASSERT_OK(gpusim_gpu_trace_load(g, "W 8 8", 5, &id2, msg, sizeof msg));
    assert_true(id2 > id);
    check_idle(g);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        GPUSIM_TEST(test_kernel_timing),
        GPUSIM_TEST(test_waves_share_units),
        GPUSIM_TEST(test_kernel_faults),
        GPUSIM_TEST(test_kill_isolated),
        GPUSIM_TEST(test_preempt_and_resume),
        GPUSIM_TEST(test_preempt_job_and_resume),
        GPUSIM_TEST(test_preempt_job_and_ctx),
        GPUSIM_TEST(test_preempt_job_dropped_reports),
        GPUSIM_TEST(test_preempt_job_copy),
        GPUSIM_TEST(test_copy_timing),
        GPUSIM_TEST(test_cancel),
        GPUSIM_TEST(test_submit_rejects),
        GPUSIM_TEST(test_teardown_in_flight),
        GPUSIM_TEST(test_fast_forward_matches_full),
        GPUSIM_TEST(test_hour_long_kernel),
        GPUSIM_TEST(test_fast_forward_interrupted),
        GPUSIM_TEST(test_trace_kernel),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
