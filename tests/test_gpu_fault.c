/*
 * tests/test_gpu_fault.c -- the GPU's fault path in virtual time through the public API
 * (gpusim/gpu.h, "Faults"): a faulting access stalls, the driver is interrupted once per episode,
 * fetches coalesced batches at their cost, maps and replays; retries complete after fault_replay;
 * the engine's outstanding-fault limit throttles; replay policies; a non-replayable device kills
 * only the faulting context; a driver kill ends a context's waiters; teardown while waiting.
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
#include "test_util.h"

#define PAGE UINT64_C(4096)
#define VA   UINT64_C(0x7f0000000000)
#define RW   (GPUSIM_GPU_READ | GPUSIM_GPU_WRITE)
#define NREQ 80

/* A driver that services every fault by mapping frame FRAME0 + page index, after `service_ns`. */
#define FRAME0 UINT64_C(1000)

typedef struct drv {
    gpusim_world_t *w;
    gpusim_gpu_t *g;
    int interrupts;      /* handler calls */
    int batches;         /* fetches with faults */
    size_t faults;       /* unique faults fetched */
    uint32_t dups;       /* duplicates reported */
    bool map;            /* map what faulted (else replay without servicing) */
    bool kill;           /* kill each faulting context instead */
    gpusim_time_t t_irq; /* time of the last interrupt */
    gpusim_time_t t_replay;
    gpusim_gpu_fault_t last;
    gpusim_event_t later; /* the replay, after the batch's cost */
} drv;

typedef struct req {
    gpusim_gpu_req_t r;
    int done;
    int status;
    gpusim_time_t at;
    uint64_t pa;
    drv *d;
} req;

static void replay_now(gpusim_world_t *w, gpusim_event_t *ev)
{
    drv *d = ev->data;
    gpusim_time_t cost;
    int rc = gpusim_gpu_fault_replay(d->g, &cost);
    (void)w;
    assert_true(rc == 0 || rc == GPUSIM_EAGAIN);
    d->t_replay = gpusim_world_now(d->w);
}

/* The interrupt handler: fetch every batch, service them, replay after the time it all took. */
static void on_fault(gpusim_gpu_t *g, void *data)
{
    drv *d = data;
    gpusim_gpu_fault_t out[256];
    gpusim_time_t total = 0;
    d->interrupts++;
    d->t_irq = gpusim_world_now(d->w);
    for (;;) {
        size_t n;
        gpusim_time_t cost;
        ASSERT_OK(gpusim_gpu_fault_fetch(g, out, 256, &n, &cost));
        if (n == 0)
            break;
        d->batches++;
        d->faults += n;
        total += cost;
        for (size_t i = 0; i < n; i++) {
            uint64_t f = FRAME0 + (out[i].va - VA) / PAGE;
            d->dups += out[i].duplicates;
            d->last = out[i];
            if (d->kill)
                (void)gpusim_gpu_ctx_kill(out[i].ctx, GPUSIM_EGPUFAULT);
            else if (d->map)
                ASSERT_OK(gpusim_gpu_map(out[i].ctx, out[i].va, PAGE, &f, RW, NULL));
        }
    }
    if (total && !gpusim_event_pending(&d->later)) {
        gpusim_event_init(&d->later, replay_now, d);
        ASSERT_OK(gpusim_event_schedule_after(d->w, &d->later, total));
    }
}

static void on_touch(gpusim_gpu_req_t *r, int status, const gpusim_gpu_access_t *a)
{
    req *q = r->data;
    q->done++;
    q->status = status;
    q->at = gpusim_world_now(q->d->w);
    q->pa = a ? a->pa : 0;
}

static gpusim_gpu_t *device(gpusim_world_t *w, drv *d, bool replayable, const char *policy)
{
    gpusim_gpu_config_t cfg;
    gpusim_gpu_t *g;
    char msg[128];
    gpusim_gpu_config_init(&cfg);
    cfg.replayable = replayable;
    ASSERT_OK(gpusim_gpu_config_set(&cfg, "vram_size", "64MiB", false, msg, sizeof msg));
    if (policy)
        ASSERT_OK(
            gpusim_gpu_config_set(&cfg, "fault_replay_policy", policy, false, msg, sizeof msg));
    ASSERT_OK(gpusim_gpu_new(w, &cfg, &g));
    memset(d, 0, sizeof *d);
    d->w = w;
    d->g = g;
    d->map = true;
    ASSERT_OK(gpusim_gpu_set_fault_handler(g, on_fault, d));
    return g;
}

static int touch(gpusim_gpu_ctx_t *c, unsigned engine, uint64_t va, bool write, req *q, drv *d)
{
    gpusim_gpu_access_t a;
    memset(q, 0, sizeof *q);
    q->d = d;
    gpusim_gpu_req_init(&q->r);
    return gpusim_gpu_touch(c, engine, va, write, &q->r, on_touch, q, &a);
}

static uint64_t stat(gpusim_world_t *w, const char *name)
{
    gpusim_stat_info_t si;
    ASSERT_OK(gpusim_stats_get(w, name, &si));
    return si.count;
}

/* The device's invariants, and its event-queue slots: one reservation per stalled requester, plus
 * the interrupt's while it is not pending (a leaked or missing one fails here). */
static void check_ok(const gpusim_gpu_t *g)
{
    char msg[256];
    size_t stalled = 0;
    if (gpusim_gpu_check(g, msg, sizeof msg))
        fail_msg("gpu check: %s", msg);
    for (const gpusim_gpu_req_t *r = g->req_head; r; r = r->next_)
        stalled += r->state_ == GPUSIM__GPU_REQ_STALLED;
    assert_int_equal(g->world->queue.reserved, stalled + (g->irq_reserved ? 1 : 0));
}

/*
 * One isolated fault, end to end: the access stalls; the handler runs fault_interrupt later,
 * fetches one fault (context, page, write) at fault_batch_fixed + fault_sw_per_fault, maps it and
 * replays after that time; the access completes fault_replay after the replay, translated.
 */
static void test_isolated_fault(void **state)
{
    gpusim_world_t *w = test_world(1);
    drv d;
    gpusim_gpu_t *g = device(w, &d, true, NULL);
    gpusim_gpu_ctx_t *c;
    gpusim_gpu_access_t a;
    req q;
    gpusim_time_t t0 = gpusim_world_now(w);
    (void)state;
    ASSERT_OK(gpusim_gpu_ctx_new(g, NULL, &c));
    assert_int_equal(touch(c, 0, VA + 5 * PAGE + 12, true, &q, &d), GPUSIM_EINPROGRESS);
    assert_int_equal(q.done, 0);
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(d.interrupts, 1);
    assert_int_equal(d.t_irq, t0 + g->p[GPUSIM__GPU_P_fault_interrupt]);
    assert_int_equal(d.faults, 1);
    assert_ptr_equal(d.last.ctx, c);
    assert_int_equal(d.last.va, VA + 5 * PAGE);
    assert_true(d.last.write);
    assert_int_equal(d.t_replay, d.t_irq + g->p[GPUSIM__GPU_P_fault_batch_fixed] +
                                     g->p[GPUSIM__GPU_P_fault_sw_per_fault] +
                                     g->p[GPUSIM__GPU_P_fault_per_vablock]);
    assert_int_equal(q.done, 1);
    ASSERT_OK(q.status);
    assert_int_equal(q.at, d.t_replay + g->p[GPUSIM__GPU_P_fault_replay]);
    assert_int_equal(q.pa, (FRAME0 + 5) * PAGE + 12);
    /* Fault to completion: interrupt + batch + replay (the driver mapped at no cost here). */
    assert_int_equal(q.at - t0,
                     g->p[GPUSIM__GPU_P_fault_interrupt] + g->p[GPUSIM__GPU_P_fault_batch_fixed] +
                         g->p[GPUSIM__GPU_P_fault_sw_per_fault] +
                         g->p[GPUSIM__GPU_P_fault_per_vablock] + g->p[GPUSIM__GPU_P_fault_replay]);
    /* Now translated: no fault, no callback. */
    ASSERT_OK(gpusim_gpu_touch(c, 0, VA + 5 * PAGE, false, &q.r, on_touch, &q, &a));
    assert_int_equal(q.done, 1);
    assert_int_equal(stat(w, "gpu.gpu0.fault.raised"), 1);
    assert_int_equal(stat(w, "gpu.gpu0.fault.stall_ns"), 1);
    check_ok(g);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* Many requesters on few pages: one interrupt, duplicates coalesced, every requester completes. */
static void test_coalescing_one_interrupt(void **state)
{
    gpusim_world_t *w = test_world(1);
    drv d;
    gpusim_gpu_t *g = device(w, &d, true, NULL);
    gpusim_gpu_ctx_t *c;
    static req q[12];
    (void)state;
    ASSERT_OK(gpusim_gpu_ctx_new(g, NULL, &c));
    for (int i = 0; i < 12; i++)
        assert_int_equal(
            touch(c, (unsigned)(i % 2), VA + (uint64_t)(i % 3) * PAGE + 8 * i, false, &q[i], &d),
            GPUSIM_EINPROGRESS);
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(d.interrupts, 1);
    assert_int_equal(d.faults, 3);
    assert_int_equal(d.dups, 9);
    for (int i = 0; i < 12; i++) {
        assert_int_equal(q[i].done, 1);
        ASSERT_OK(q[i].status);
        assert_int_equal(q[i].pa, (FRAME0 + (uint64_t)(i % 3)) * PAGE + 8 * (uint64_t)i);
    }
    check_ok(g);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* A batch costs fault_per_vablock once per distinct (context, 2 MiB block) of its faults. */
static void test_batch_cost_per_vablock(void **state)
{
    gpusim_world_t *w = test_world(1);
    drv d;
    gpusim_gpu_t *g = device(w, &d, true, NULL);
    gpusim_gpu_ctx_t *c1, *c2;
    static req q[6];
    const uint64_t mib2 = 2 * GPUSIM_MIB;
    /* context 1: blocks 0 (two pages), 1 (two pages) and 2; context 2: block 2 again, which
     * follows context 1's block 2 in the sorted batch and still counts */
    const uint64_t va[6] = {
        VA, VA + PAGE, VA + mib2, VA + mib2 + PAGE, VA + 2 * mib2, VA + 2 * mib2 + PAGE};
    (void)state;
    ASSERT_OK(gpusim_gpu_ctx_new(g, NULL, &c1));
    ASSERT_OK(gpusim_gpu_ctx_new(g, NULL, &c2));
    for (int i = 0; i < 6; i++)
        assert_int_equal(touch(i < 5 ? c1 : c2, 0, va[i], false, &q[i], &d), GPUSIM_EINPROGRESS);
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(d.interrupts, 1);
    assert_int_equal(d.faults, 6);
    assert_int_equal(d.t_replay, d.t_irq + g->p[GPUSIM__GPU_P_fault_batch_fixed] +
                                     6 * g->p[GPUSIM__GPU_P_fault_sw_per_fault] +
                                     4 * g->p[GPUSIM__GPU_P_fault_per_vablock]);
    for (int i = 0; i < 6; i++)
        assert_int_equal(q[i].done, 1);
    check_ok(g);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/*
 * The engine's outstanding-fault limit: 80 distinct faults on one engine; 56 reach the buffer,
 * the rest are throttled. A replay without servicing makes all 80 retry and fault again; then the
 * driver maps and everything completes.
 */
static void test_throttle_and_refault(void **state)
{
    gpusim_world_t *w = test_world(1);
    drv d;
    gpusim_gpu_t *g = device(w, &d, true, NULL);
    gpusim_gpu_ctx_t *c;
    static req q[NREQ];
    uint64_t limit;
    (void)state;
    limit = g->p[GPUSIM__GPU_P_fault_outstanding_per_utlb];
    ASSERT_OK(gpusim_gpu_ctx_new(g, NULL, &c));
    for (int i = 0; i < NREQ; i++)
        assert_int_equal(touch(c, 0, VA + (uint64_t)i * PAGE, false, &q[i], &d),
                         GPUSIM_EINPROGRESS);
    assert_int_equal(stat(w, "gpu.gpu0.fault.throttled"), NREQ - limit);
    d.map = false; /* first round: replay without servicing */
    while (d.batches == 0)
        assert_int_equal(gpusim_world_run_events(w, 1), 1);
    assert_int_equal(d.faults, limit);
    d.map = true;
    ASSERT_OK(gpusim_world_run(w));
    for (int i = 0; i < NREQ; i++) {
        assert_int_equal(q[i].done, 1);
        ASSERT_OK(q[i].status);
    }
    assert_true(stat(w, "gpu.gpu0.fault.raised") >= 2 * NREQ - limit);
    assert_true(stat(w, "gpu.gpu0.fault.replays") >= 2);
    check_ok(g);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* ONCE: a replay while entries remain is refused until the buffer is empty. */
static void test_policy_once(void **state)
{
    gpusim_world_t *w = test_world(1);
    drv d;
    gpusim_gpu_t *g = device(w, &d, true, "3");
    gpusim_gpu_ctx_t *c;
    gpusim_gpu_fault_t out[4];
    static req q[6];
    size_t n;
    (void)state;
    ASSERT_OK(gpusim_gpu_set_fault_handler(g, NULL, NULL)); /* driven by hand */
    ASSERT_OK(gpusim_gpu_ctx_new(g, NULL, &c));
    for (int i = 0; i < 6; i++)
        assert_int_equal(touch(c, 0, VA + (uint64_t)i * PAGE, false, &q[i], &d),
                         GPUSIM_EINPROGRESS);
    ASSERT_OK(gpusim_gpu_fault_fetch(g, out, 4, &n, NULL));
    assert_int_equal(n, 4);
    ASSERT_ERR(gpusim_gpu_fault_replay(g, NULL), GPUSIM_EAGAIN);
    ASSERT_OK(gpusim_gpu_fault_fetch(g, out, 4, &n, NULL));
    assert_int_equal(n, 2);
    ASSERT_OK(gpusim_gpu_map(c, VA, 6 * PAGE, (uint64_t[]){1, 2, 3, 4, 5, 6}, RW, NULL));
    ASSERT_OK(gpusim_gpu_fault_replay(g, NULL));
    ASSERT_OK(gpusim_world_run(w));
    for (int i = 0; i < 6; i++)
        assert_int_equal(q[i].done, 1);
    check_ok(g);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* Non-replayable: a fault kills its context at once; another context goes on. */
static void test_non_replayable_kills_one_context(void **state)
{
    gpusim_world_t *w = test_world(1);
    drv d;
    gpusim_gpu_t *g = device(w, &d, false, NULL);
    gpusim_gpu_ctx_t *a, *b;
    gpusim_gpu_access_t acc;
    req q;
    (void)state;
    ASSERT_OK(gpusim_gpu_ctx_new(g, NULL, &a));
    ASSERT_OK(gpusim_gpu_ctx_new(g, NULL, &b));
    ASSERT_OK(gpusim_gpu_map(a, VA, PAGE, (uint64_t[]){7}, RW, NULL));
    ASSERT_OK(gpusim_gpu_map(b, VA, PAGE, (uint64_t[]){8}, RW, NULL));
    ASSERT_OK(touch(a, 0, VA, false, &q, &d));
    assert_int_equal(touch(a, 0, VA + PAGE, false, &q, &d), GPUSIM_ECTXKILLED);
    assert_int_equal(gpusim_gpu_ctx_error(a), GPUSIM_EGPUFAULT);
    assert_int_equal(touch(a, 0, VA, false, &q, &d), GPUSIM_ECTXKILLED); /* even mapped pages */
    assert_int_equal(gpusim_gpu_ctx_error(b), 0);
    ASSERT_OK(gpusim_gpu_touch(b, 0, VA, true, &q.r, on_touch, &q, &acc));
    assert_int_equal(acc.pa, 8 * PAGE);
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(d.interrupts, 0);
    assert_int_equal(q.done, 0);
    check_ok(g);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* The driver kills a context with waiters: they end with ECTXKILLED, its entries leave the buffer,
 * the other context's waiter completes after the replay. */
static void test_kill_ends_waiters(void **state)
{
    gpusim_world_t *w = test_world(1);
    drv d;
    gpusim_gpu_t *g = device(w, &d, true, NULL);
    gpusim_gpu_ctx_t *a, *b;
    gpusim_gpu_fault_t out[8];
    static req qa[3], qb;
    size_t n;
    (void)state;
    ASSERT_OK(gpusim_gpu_set_fault_handler(g, NULL, NULL));
    ASSERT_OK(gpusim_gpu_ctx_new(g, NULL, &a));
    ASSERT_OK(gpusim_gpu_ctx_new(g, NULL, &b));
    for (int i = 0; i < 3; i++)
        assert_int_equal(touch(a, 0, VA + (uint64_t)i * PAGE, false, &qa[i], &d),
                         GPUSIM_EINPROGRESS);
    assert_int_equal(touch(b, 1, VA, false, &qb, &d), GPUSIM_EINPROGRESS);
    ASSERT_OK(gpusim_gpu_ctx_kill(a, GPUSIM_ECANCELED));
    ASSERT_ERR(gpusim_gpu_ctx_kill(a, GPUSIM_EGPUFAULT), GPUSIM_EBUSY);
    assert_int_equal(gpusim_gpu_ctx_error(a), GPUSIM_ECANCELED);
    ASSERT_OK(gpusim_gpu_fault_fetch(g, out, 8, &n, NULL));
    assert_int_equal(n, 1);
    assert_ptr_equal(out[0].ctx, b);
    ASSERT_OK(gpusim_gpu_map(b, VA, PAGE, (uint64_t[]){9}, RW, NULL));
    ASSERT_OK(gpusim_gpu_fault_replay(g, NULL));
    ASSERT_OK(gpusim_world_run(w));
    for (int i = 0; i < 3; i++) {
        assert_int_equal(qa[i].done, 1);
        assert_int_equal(qa[i].status, GPUSIM_ECTXKILLED);
    }
    assert_int_equal(qb.done, 1);
    ASSERT_OK(qb.status);
    assert_int_equal(qb.pa, 9 * PAGE);
    assert_int_equal(stat(w, "gpu.gpu0.fault.context_kills"), 1);
    check_ok(g);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* Freeing a context whose requesters wait ends them; freeing the world while requesters wait
 * frees everything without calling them. */
static void test_teardown_while_waiting(void **state)
{
    gpusim_world_t *w = test_world(1);
    drv d;
    gpusim_gpu_t *g = device(w, &d, true, NULL);
    gpusim_gpu_ctx_t *a, *b;
    static req qa, qb;
    (void)state;
    ASSERT_OK(gpusim_gpu_set_fault_handler(g, NULL, NULL));
    ASSERT_OK(gpusim_gpu_ctx_new(g, NULL, &a));
    ASSERT_OK(gpusim_gpu_ctx_new(g, NULL, &b));
    assert_int_equal(touch(a, 0, VA, false, &qa, &d), GPUSIM_EINPROGRESS);
    assert_int_equal(touch(b, 0, VA, false, &qb, &d), GPUSIM_EINPROGRESS);
    gpusim_gpu_ctx_free(a);
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(qa.done, 1);
    assert_int_equal(qa.status, GPUSIM_ECTXKILLED);
    assert_int_equal(qb.done, 0); /* still stalled: nobody replays */
    check_ok(g);
    gpusim_world_free(w);
    assert_int_equal(qb.done, 0);
    ASSERT_NO_LEAK();
}

static void test_bad_arguments(void **state)
{
    gpusim_world_t *w = test_world(1);
    drv d;
    gpusim_gpu_t *g = device(w, &d, true, NULL);
    gpusim_gpu_ctx_t *c;
    gpusim_gpu_access_t a;
    gpusim_gpu_fault_t out[1];
    size_t n;
    req q;
    (void)state;
    ASSERT_OK(gpusim_gpu_ctx_new(g, NULL, &c));
    gpusim_gpu_req_init(&q.r);
    ASSERT_ERR(gpusim_gpu_touch(NULL, 0, VA, false, &q.r, on_touch, &q, &a), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_gpu_touch(c, 2, VA, false, &q.r, on_touch, &q, &a), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_gpu_touch(c, 0, VA, false, NULL, on_touch, &q, &a), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_gpu_touch(c, 0, VA, false, &q.r, NULL, &q, &a), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_gpu_touch(c, 0, VA, false, &q.r, on_touch, &q, NULL), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_gpu_touch(c, 0, GPUSIM_GPU_VA_END, false, &q.r, on_touch, &q, &a),
               GPUSIM_EFAULT);
    assert_int_equal(touch(c, 0, VA, false, &q, &d), GPUSIM_EINPROGRESS);
    ASSERT_ERR(gpusim_gpu_touch(c, 0, VA, false, &q.r, on_touch, &q, &a), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_gpu_fault_fetch(NULL, out, 1, &n, NULL), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_gpu_fault_fetch(g, NULL, 1, &n, NULL), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_gpu_fault_fetch(g, out, 1, NULL, NULL), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_gpu_fault_replay(NULL, NULL), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_gpu_ctx_kill(NULL, GPUSIM_EGPUFAULT), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_gpu_ctx_kill(c, 0), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_gpu_ctx_error(NULL), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_gpu_set_fault_handler(NULL, on_fault, &d), GPUSIM_EINVAL);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        GPUSIM_TEST(test_isolated_fault),
        GPUSIM_TEST(test_coalescing_one_interrupt),
        GPUSIM_TEST(test_batch_cost_per_vablock),
        GPUSIM_TEST(test_throttle_and_refault),
        GPUSIM_TEST(test_policy_once),
        GPUSIM_TEST(test_non_replayable_kills_one_context),
        GPUSIM_TEST(test_kill_ends_waiters),
        GPUSIM_TEST(test_teardown_while_waiting),
        GPUSIM_TEST(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
