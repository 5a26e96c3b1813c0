/*
 * tests/test_gpu_cp.c -- the command processor through the public API (gpusim/gpu.h, "Queues",
 * "Preemption", "Fences"): every packet kind and its cost, in-order execution, a bad packet
 * mid-stream, ring wrap-around and ENOSPC, fences across queues and from the host (timeouts,
 * errors), TLB_INVALIDATE leaving no stale entry, killed contexts isolated, eviction and restore
 * costs, preemption and resume of one queue (costs, a running job, with an eviction, kills,
 * teardown), the preemption timeout resetting the device, two devices, teardown with work in
 * flight.
 *
 * Jobs (COPY, DISPATCH) run on whatever engine is linked: the assertions are about order and
 * states, never about how long a job takes, and every buffer a job names is mapped.
 */
#include <stdio.h>

#include "test_util.h"
#include "gpu/cp.h"
#include "gpu/device.h"
#include "core/world.h"

#define PAGE UINT64_C(4096)
#define BUF  UINT64_C(0x100000000) /* a 16-page buffer, mapped read-write */
#define NBUF 16
#define RW   (GPUSIM_GPU_READ | GPUSIM_GPU_WRITE)
#define RING 4096u

static uint64_t param(const char *name)
{
    gpusim_gpu_config_t cfg;
    uint64_t v = 0;
    gpusim_gpu_config_init(&cfg);
    ASSERT_OK(gpusim_gpu_config_get(&cfg, name, &v));
    return v;
}

/* A device with a small VRAM; kv is NULL or {"name", "value", ..., NULL}, forced overrides. */
static gpusim_gpu_t *device(gpusim_world_t *w, const char *name, const char *const *kv)
{
    gpusim_gpu_config_t cfg;
    gpusim_gpu_t *g;
    char msg[128];
    gpusim_gpu_config_init(&cfg);
    cfg.name = name;
    ASSERT_OK(gpusim_gpu_config_set(&cfg, "vram_size", "64MiB", false, msg, sizeof msg));
    for (; kv && kv[0]; kv += 2)
        ASSERT_OK(gpusim_gpu_config_set(&cfg, kv[0], kv[1], true, msg, sizeof msg));
    ASSERT_OK(gpusim_gpu_new(w, &cfg, &g));
    return g;
}

static gpusim_gpu_ctx_t *context(gpusim_gpu_t *g)
{
    gpusim_gpu_ctx_t *c;
    uint64_t frames[NBUF];
    ASSERT_OK(gpusim_gpu_ctx_new(g, NULL, &c));
    for (int i = 0; i < NBUF; i++)
        frames[i] = 100 + (uint64_t)i;
    ASSERT_OK(gpusim_gpu_map(c, BUF, NBUF * PAGE, frames, RW, NULL));
    return c;
}

static void check(const gpusim_gpu_t *g)
{
    char msg[256];
    int rc = gpusim_gpu_check(g, msg, sizeof msg);
    if (rc)
        fail_msg("gpusim_gpu_check: %s", msg);
}

static gpusim_gpu_queue_info_t info(const gpusim_gpu_queue_t *q)
{
    gpusim_gpu_queue_info_t i;
    ASSERT_OK(gpusim_gpu_queue_info(q, &i));
    return i;
}

/* ---- writing packets ---- */

static void put_nop(gpusim_gpu_queue_t *q, size_t bytes)
{
    uint8_t b[256];
    assert_true(gpusim_packet_nop(b, sizeof b, bytes) > 0);
    ASSERT_OK(gpusim_gpu_queue_write(q, b, bytes));
}

static void put_signal(gpusim_gpu_queue_t *q, uint32_t f, uint64_t v)
{
    uint8_t b[GPUSIM_PKT_FENCE_BYTES];
    assert_int_equal(gpusim_packet_fence_signal(b, sizeof b, f, v), (int)sizeof b);
    ASSERT_OK(gpusim_gpu_queue_write(q, b, sizeof b));
}

static void put_wait(gpusim_gpu_queue_t *q, uint32_t f, uint64_t v)
{
    uint8_t b[GPUSIM_PKT_FENCE_BYTES];
    assert_int_equal(gpusim_packet_fence_wait(b, sizeof b, f, v), (int)sizeof b);
    ASSERT_OK(gpusim_gpu_queue_write(q, b, sizeof b));
}

static void put_inval(gpusim_gpu_queue_t *q, gpusim_tlb_scope_t s, uint64_t va, uint64_t bytes)
{
    uint8_t b[GPUSIM_PKT_TLB_INVALIDATE_BYTES];
    assert_int_equal(gpusim_packet_tlb_invalidate(b, sizeof b, s, va, bytes), (int)sizeof b);
    ASSERT_OK(gpusim_gpu_queue_write(q, b, sizeof b));
}

static void put_copy(gpusim_gpu_queue_t *q)
{
    uint8_t b[GPUSIM_PKT_COPY_BYTES];
    assert_int_equal(gpusim_packet_copy(b, sizeof b, BUF + 8 * PAGE, BUF, 4 * PAGE), (int)sizeof b);
    ASSERT_OK(gpusim_gpu_queue_write(q, b, sizeof b));
}

/* A sequential kernel over the mapped buffer; `passes` makes it long. */
static void put_dispatch(gpusim_gpu_queue_t *q, uint32_t passes, bool trace)
{
    uint8_t b[GPUSIM_PKT_DISPATCH_BYTES];
    gpusim_kernel_desc_t k;
    memset(&k, 0, sizeof k);
    k.pattern = trace ? GPUSIM_PATTERN_TRACE : GPUSIM_PATTERN_SEQUENTIAL;
    k.trace_id = trace ? 77 : 0; /* never registered */
    k.buffer_va = BUF;
    k.buffer_bytes = 4 * PAGE;
    k.passes = passes;
    k.touches_per_pass = 4;
    k.bytes_per_touch = 4096;
    k.compute_ns_per_touch = 100;
    k.waves = 1;
    assert_int_equal(gpusim_packet_dispatch(b, sizeof b, &k), (int)sizeof b);
    ASSERT_OK(gpusim_gpu_queue_write(q, b, sizeof b));
}

/* ---- host waiters ---- */

typedef struct hwait {
    gpusim_gpu_fence_waiter_t w;
    gpusim_world_t *world;
    int calls;
    int status;
    gpusim_time_t at;
} hwait;

static void hw_cb(gpusim_gpu_fence_waiter_t *w, int status)
{
    hwait *h = w->data;
    h->calls++;
    h->status = status;
    h->at = gpusim_world_now(h->world);
}

/* Starts a host wait that must be queued. */
static void host_wait(gpusim_gpu_t *g, uint32_t f, uint64_t v, hwait *h, gpusim_time_t timeout)
{
    memset(h, 0, sizeof *h);
    h->world = g->world;
    gpusim_gpu_fence_waiter_init(&h->w);
    ASSERT_ERR(gpusim_gpu_fence_wait(g, f, v, &h->w, hw_cb, h, timeout), GPUSIM_EINPROGRESS);
}

static uint64_t fval(const gpusim_gpu_t *g, uint32_t f, int *err)
{
    uint64_t v = 0;
    ASSERT_OK(gpusim_gpu_fence_value(g, f, &v, err));
    return v;
}

/* ---- eviction callbacks ---- */

typedef struct evres {
    gpusim_world_t *w;
    int calls;
    int status;
    gpusim_time_t at;
} evres;

static void ev_cb(void *data, int status)
{
    evres *r = data;
    r->calls++;
    r->status = status;
    r->at = gpusim_world_now(r->w);
}

static gpusim_time_t now(gpusim_world_t *w)
{
    return gpusim_world_now(w);
}

/* Counter `gpu.<dev>.cp.<name>`. */
static uint64_t stat(gpusim_world_t *w, const char *dev, const char *name)
{
    char full[128];
    gpusim_stat_info_t si;
    snprintf(full, sizeof full, "gpu.%s.cp.%s", dev, name);
    ASSERT_OK(gpusim_stats_get(w, full, &si));
    return si.count;
}

/* An event that rings a doorbell, kills a context or evicts one, at a chosen time. */
typedef struct action {
    gpusim_event_t ev;
    gpusim_gpu_queue_t *q;
    gpusim_gpu_ctx_t *c;
    evres *r;
    int rc;
} action;

static void do_doorbell(gpusim_world_t *w, gpusim_event_t *ev)
{
    action *a = ev->data;
    (void)w;
    a->rc = gpusim_gpu_queue_doorbell(a->q);
}

static void do_kill(gpusim_world_t *w, gpusim_event_t *ev)
{
    action *a = ev->data;
    (void)w;
    a->rc = gpusim_gpu_ctx_kill(a->c, GPUSIM_EGPUFAULT);
}

static void do_evict(gpusim_world_t *w, gpusim_event_t *ev)
{
    action *a = ev->data;
    (void)w;
    a->rc = gpusim_gpu_ctx_evict(a->c, ev_cb, a->r);
}

static void do_qpreempt(gpusim_world_t *w, gpusim_event_t *ev)
{
    action *a = ev->data;
    (void)w;
    a->rc = gpusim_gpu_queue_preempt(a->q, ev_cb, a->r);
}

static void at(gpusim_world_t *w, action *a, gpusim_event_cb cb, gpusim_time_t when)
{
    gpusim_event_init(&a->ev, cb, a);
    ASSERT_OK(gpusim_event_schedule(w, &a->ev, when));
}

/* ---- arguments ------------------------------------------------------------------------------ */

static void test_arguments(void **state)
{
    gpusim_world_t *w = test_world(1);
    size_t reserved = w->queue.reserved;
    gpusim_gpu_t *g = device(w, "gpu0", NULL);
    gpusim_gpu_ctx_t *c = context(g);
    gpusim_gpu_queue_t *q = NULL;
    gpusim_gpu_queue_info_t i;
    gpusim_gpu_fence_waiter_t fw;
    uint8_t b[16] = {0};
    uint32_t f;
    (void)state;
    ASSERT_ERR(gpusim_gpu_queue_new(NULL, RING, &q), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_gpu_queue_new(c, RING, NULL), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_gpu_queue_new(c, 0, &q), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_gpu_queue_new(c, 128, &q), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_gpu_queue_new(c, 768, &q), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_gpu_queue_new(c, GPUSIM_PKT_RING_MAX * 2, &q), GPUSIM_EINVAL);
    assert_null(q);
    ASSERT_OK(gpusim_gpu_queue_new(c, GPUSIM_PKT_RING_MIN, &q));
    i = info(q);
    assert_int_equal(i.state, GPUSIM_GPU_QUEUE_IDLE);
    assert_int_equal(i.size, GPUSIM_PKT_RING_MIN);
    assert_true(i.rptr == 0 && i.wptr == 0 && i.doorbell == 0 && i.packets == 0);
    assert_int_equal(i.error.code, 0);
    assert_null(i.error.reason);
    ASSERT_ERR(gpusim_gpu_queue_write(NULL, b, 4), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_gpu_queue_write(q, NULL, 4), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_gpu_queue_write(q, b, 0), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_gpu_queue_write(q, b, 6), GPUSIM_EINVAL);
    assert_int_equal(info(q).wptr, 0);
    ASSERT_ERR(gpusim_gpu_queue_doorbell(NULL), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_gpu_queue_info(NULL, &i), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_gpu_queue_info(q, NULL), GPUSIM_EINVAL);
    ASSERT_OK(gpusim_gpu_queue_doorbell(q)); /* nothing written: stays idle */
    assert_int_equal(info(q).state, GPUSIM_GPU_QUEUE_IDLE);
    gpusim_gpu_queue_free(NULL);

    ASSERT_ERR(gpusim_gpu_fence_new(NULL, 0, &f), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_gpu_fence_new(g, 0, NULL), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_gpu_fence_free(NULL, 1), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_gpu_fence_free(g, 1), GPUSIM_ENOENT);
    ASSERT_ERR(gpusim_gpu_fence_value(NULL, 1, NULL, NULL), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_gpu_fence_value(g, 0, NULL, NULL), GPUSIM_ENOENT);
    ASSERT_ERR(gpusim_gpu_fence_signal(NULL, 1, 1), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_gpu_fence_signal(g, 1, 1), GPUSIM_ENOENT);
    gpusim_gpu_fence_waiter_init(&fw);
    gpusim_gpu_fence_waiter_init(NULL);
    ASSERT_ERR(gpusim_gpu_fence_wait(g, 1, 1, &fw, hw_cb, NULL, 0), GPUSIM_ENOENT);
    ASSERT_OK(gpusim_gpu_fence_new(g, 0, &f));
    ASSERT_ERR(gpusim_gpu_fence_wait(NULL, f, 1, &fw, hw_cb, NULL, 0), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_gpu_fence_wait(g, f, 1, NULL, hw_cb, NULL, 0), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_gpu_fence_wait(g, f, 1, &fw, NULL, NULL, 0), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_gpu_fence_waiter_cancel(NULL), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_gpu_fence_waiter_cancel(&fw), GPUSIM_ENOENT);

    ASSERT_ERR(gpusim_gpu_ctx_evict(NULL, ev_cb, NULL), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_gpu_ctx_evict(c, NULL, NULL), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_gpu_ctx_restore(NULL, ev_cb, NULL), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_gpu_ctx_restore(c, ev_cb, NULL), GPUSIM_EINVAL); /* not evicted */
    ASSERT_ERR(gpusim_gpu_queue_preempt(NULL, ev_cb, NULL), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_gpu_queue_preempt(q, NULL, NULL), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_gpu_queue_resume(NULL, ev_cb, NULL), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_gpu_queue_resume(q, NULL, NULL), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_gpu_queue_resume(q, ev_cb, NULL), GPUSIM_EINVAL); /* not preempted */
    assert_int_equal(info(q).state, GPUSIM_GPU_QUEUE_IDLE);
    /* A queue stopped in error has nothing to preempt. */
    put_nop(q, 4);
    b[0] = 0xee; /* unknown opcode, one dword */
    b[1] = 1;
    ASSERT_OK(gpusim_gpu_queue_write(q, b, 4));
    ASSERT_OK(gpusim_gpu_queue_doorbell(q));
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(info(q).state, GPUSIM_GPU_QUEUE_ERROR);
    ASSERT_ERR(gpusim_gpu_queue_preempt(q, ev_cb, NULL), GPUSIM_ECANCELED);
    check(g);
    gpusim_gpu_free(g);
    assert_int_equal(w->queue.reserved, reserved);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* ---- execution ------------------------------------------------------------------------------ */

/* NOPs and signals run in order, each packet after cp_packet; nothing runs before the doorbell. */
static void test_nop_signal_in_order(void **state)
{
    gpusim_world_t *w = test_world(1);
    gpusim_gpu_t *g = device(w, "gpu0", NULL);
    gpusim_gpu_ctx_t *c = context(g);
    gpusim_gpu_queue_t *q;
    gpusim_gpu_queue_info_t i;
    uint64_t cp = param("cp_packet");
    hwait h1, h2, h3;
    gpusim_time_t t0;
    uint32_t f;
    (void)state;
    ASSERT_OK(gpusim_gpu_queue_new(c, RING, &q));
    ASSERT_OK(gpusim_gpu_fence_new(g, 0, &f));
    assert_int_not_equal(f, 0);
    put_nop(q, 4);
    put_nop(q, 64);
    put_signal(q, f, 1);
    put_signal(q, f, 2);
    put_nop(q, 8);
    put_signal(q, f, 3);
    host_wait(g, f, 1, &h1, GPUSIM_TIME_MAX);
    host_wait(g, f, 2, &h2, GPUSIM_TIME_MAX);
    host_wait(g, f, 3, &h3, GPUSIM_TIME_MAX);
    ASSERT_OK(gpusim_world_run_until(w, 50 * GPUSIM_NS_PER_US));
    assert_int_equal(fval(g, f, NULL), 0); /* written but not published */
    assert_int_equal(info(q).rptr, 0);
    t0 = now(w);
    ASSERT_OK(gpusim_gpu_queue_doorbell(q));
    assert_int_equal(info(q).state, GPUSIM_GPU_QUEUE_RUNNING);
    check(g);
    ASSERT_OK(gpusim_world_run(w));
    assert_true(h1.calls == 1 && h2.calls == 1 && h3.calls == 1);
    assert_true(h1.status == 0 && h2.status == 0 && h3.status == 0);
    assert_int_equal(h1.at, t0 + 3 * cp);
    assert_int_equal(h2.at, t0 + 4 * cp);
    assert_int_equal(h3.at, t0 + 6 * cp);
    i = info(q);
    assert_int_equal(i.state, GPUSIM_GPU_QUEUE_IDLE);
    assert_int_equal(i.packets, 6);
    assert_true(i.rptr == i.wptr && i.doorbell == i.wptr && i.wptr == 4 + 64 + 16 + 16 + 8 + 16);
    assert_int_equal(stat(w, "gpu0", "packets"), 6);
    check(g);
    gpusim_gpu_free(g);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* A queue's FENCE_WAIT blocks it until another queue (of another context) signals. */
static void test_fence_across_queues(void **state)
{
    gpusim_world_t *w = test_world(1);
    gpusim_gpu_t *g = device(w, "gpu0", NULL);
    gpusim_gpu_ctx_t *a = context(g), *b = context(g);
    gpusim_gpu_queue_t *qa, *qb;
    uint64_t cp = param("cp_packet");
    action ring;
    hwait hg;
    uint32_t f, gf;
    (void)state;
    ASSERT_OK(gpusim_gpu_queue_new(a, RING, &qa));
    ASSERT_OK(gpusim_gpu_queue_new(b, RING, &qb));
    ASSERT_OK(gpusim_gpu_fence_new(g, 0, &f));
    ASSERT_OK(gpusim_gpu_fence_new(g, 0, &gf));
    put_wait(qa, f, 1);
    put_signal(qa, gf, 1);
    put_signal(qb, f, 1);
    ASSERT_OK(gpusim_gpu_queue_doorbell(qa));
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(info(qa).state, GPUSIM_GPU_QUEUE_WAITING);
    assert_int_equal(info(qa).rptr, 0);
    ASSERT_ERR(gpusim_gpu_fence_free(g, f), GPUSIM_EBUSY); /* the queue waits on it */
    check(g);
    host_wait(g, gf, 1, &hg, GPUSIM_TIME_MAX);
    memset(&ring, 0, sizeof ring);
    ring.q = qb;
    at(w, &ring, do_doorbell, 10 * GPUSIM_NS_PER_US);
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(ring.rc, 0);
    assert_int_equal(fval(g, f, NULL), 1);
    assert_int_equal(hg.calls, 1);
    assert_int_equal(hg.status, 0);
    assert_int_equal(hg.at, 10 * GPUSIM_NS_PER_US + 2 * cp);
    assert_int_equal(info(qa).state, GPUSIM_GPU_QUEUE_IDLE);
    assert_int_equal(info(qa).packets, 2);
    /* A wait for a value already reached completes at once. */
    put_wait(qa, f, 1);
    put_signal(qa, gf, 2);
    ASSERT_OK(gpusim_gpu_queue_doorbell(qa));
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(fval(g, gf, NULL), 2);
    check(g);
    gpusim_gpu_free(g);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* Host-side fences: immediate waits, polls, timeouts, host signals, cancel, free, handles. */
static void test_host_fences(void **state)
{
    gpusim_world_t *w = test_world(1);
    gpusim_gpu_t *g = device(w, "gpu0", NULL);
    gpusim_gpu_fence_waiter_t fw;
    hwait h1, h2, h3;
    uint32_t f, f2;
    int err = 1;
    (void)state;
    ASSERT_OK(gpusim_gpu_fence_new(g, 5, &f));
    assert_int_equal(fval(g, f, &err), 5);
    assert_int_equal(err, 0);
    gpusim_gpu_fence_waiter_init(&fw);
    ASSERT_OK(gpusim_gpu_fence_wait(g, f, 5, &fw, hw_cb, NULL, GPUSIM_TIME_MAX));
    ASSERT_OK(gpusim_gpu_fence_wait(g, f, 3, &fw, hw_cb, NULL, 0));
    ASSERT_ERR(gpusim_gpu_fence_wait(g, f, 6, &fw, hw_cb, NULL, 0), GPUSIM_EFENCETIMEDOUT);
    ASSERT_ERR(gpusim_gpu_fence_waiter_cancel(&fw), GPUSIM_ENOENT);

    host_wait(g, f, 6, &h1, 5 * GPUSIM_NS_PER_US);
    ASSERT_ERR(gpusim_gpu_fence_wait(g, f, 6, &h1.w, hw_cb, &h1, 0), GPUSIM_EBUSY);
    check(g);
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(h1.calls, 1);
    assert_int_equal(h1.status, GPUSIM_EFENCETIMEDOUT);
    assert_int_equal(h1.at, 5 * GPUSIM_NS_PER_US);

    host_wait(g, f, 7, &h2, GPUSIM_TIME_MAX);
    host_wait(g, f, 8, &h3, 100 * GPUSIM_NS_PER_US);
    ASSERT_ERR(gpusim_gpu_fence_free(g, f), GPUSIM_EBUSY);
    ASSERT_OK(gpusim_gpu_fence_waiter_cancel(&h3.w));
    ASSERT_ERR(gpusim_gpu_fence_waiter_cancel(&h3.w), GPUSIM_ENOENT);
    ASSERT_ERR(gpusim_gpu_fence_signal(g, f, 5), GPUSIM_EINVAL);
    ASSERT_OK(gpusim_gpu_fence_signal(g, f, 8));
    assert_int_equal(h2.calls, 0); /* woken through an event, not inside the signal */
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(h2.calls, 1);
    assert_int_equal(h2.status, 0);
    assert_int_equal(h2.at, 5 * GPUSIM_NS_PER_US);
    assert_int_equal(h3.calls, 0);
    ASSERT_ERR(gpusim_gpu_fence_signal(g, f, 8), GPUSIM_EINVAL);
    assert_int_equal(fval(g, f, NULL), 8);
    /* The device check remembers each fence's value: one that goes back is reported. */
    check(g);
    {
        gpusim__gpu_cp_fence *cf = gpusim__gpu_cp_fence_find(g->cp, f);
        char m[256];
        assert_non_null(cf);
        cf->f.value = 7;
        ASSERT_ERR(gpusim_gpu_check(g, m, sizeof m), GPUSIM_ECORRUPT);
        assert_non_null(strstr(m, "went back from 8 to 7"));
        cf->f.value = 8;
        check(g);
    }

    /* Handles are never reused. */
    ASSERT_OK(gpusim_gpu_fence_free(g, f));
    ASSERT_ERR(gpusim_gpu_fence_value(g, f, NULL, NULL), GPUSIM_ENOENT);
    ASSERT_ERR(gpusim_gpu_fence_free(g, f), GPUSIM_ENOENT);
    ASSERT_OK(gpusim_gpu_fence_new(g, 0, &f2));
    assert_true(f2 != f && f2 != 0);
    check(g);
    gpusim_gpu_free(g);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* TLB_INVALIDATE drops the queue's context's entries (range and context forms), at their cost,
 * and leaves another context's entries alone. */
static void test_tlb_invalidate(void **state)
{
    static const char *const kv[] = {"tlb_inval_range", "3us", "tlb_inval_context", "7us", NULL};
    gpusim_world_t *w = test_world(1);
    gpusim_gpu_t *g = device(w, "gpu0", kv);
    gpusim_gpu_ctx_t *a = context(g), *b = context(g);
    gpusim_gpu_queue_t *q;
    gpusim_gpu_access_t acc;
    uint64_t cp = param("cp_packet"), frame = 999;
    gpusim_time_t t0;
    hwait h;
    uint32_t f;
    char msg[256];
    (void)state;
    ASSERT_OK(gpusim_gpu_queue_new(a, RING, &q));
    ASSERT_OK(gpusim_gpu_fence_new(g, 0, &f));
    ASSERT_OK(gpusim_gpu_access(a, 0, BUF, false, &acc));
    ASSERT_OK(gpusim_gpu_access(b, 0, BUF, false, &acc));
    /* Remapping without an invalidation leaves a stale entry: the checker sees it. */
    ASSERT_OK(gpusim_gpu_map(a, BUF, PAGE, &frame, RW, NULL));
    ASSERT_ERR(gpusim_gpu_check(g, msg, sizeof msg), GPUSIM_ECORRUPT);
    put_inval(q, GPUSIM_TLB_SCOPE_RANGE, BUF, PAGE);
    put_signal(q, f, 1);
    host_wait(g, f, 1, &h, GPUSIM_TIME_MAX);
    t0 = now(w);
    ASSERT_OK(gpusim_gpu_queue_doorbell(q));
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(h.status, 0);
    assert_int_equal(h.at, t0 + cp + 3 * GPUSIM_NS_PER_US + cp);
    check(g);
    ASSERT_OK(gpusim_gpu_access(a, 0, BUF, false, &acc));
    assert_int_equal(acc.pa, frame * PAGE);
    ASSERT_OK(gpusim_gpu_access(b, 0, BUF, false, &acc));
    assert_int_equal(acc.source, GPUSIM_GPU_XLATE_L1); /* b's entry survived */

    frame = 998;
    ASSERT_OK(gpusim_gpu_access(a, 1, BUF + PAGE, false, &acc));
    ASSERT_OK(gpusim_gpu_map(a, BUF + PAGE, PAGE, &frame, RW, NULL));
    ASSERT_ERR(gpusim_gpu_check(g, msg, sizeof msg), GPUSIM_ECORRUPT);
    put_inval(q, GPUSIM_TLB_SCOPE_CONTEXT, 0, 0);
    put_signal(q, f, 2);
    host_wait(g, f, 2, &h, GPUSIM_TIME_MAX);
    t0 = now(w);
    ASSERT_OK(gpusim_gpu_queue_doorbell(q));
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(h.at, t0 + cp + 7 * GPUSIM_NS_PER_US + cp);
    check(g);
    ASSERT_OK(gpusim_gpu_access(b, 0, BUF, false, &acc));
    assert_int_equal(acc.source, GPUSIM_GPU_XLATE_L1);
    assert_int_equal(info(q).packets, 4);
    gpusim_gpu_free(g);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* DISPATCH and COPY run as jobs: the packets after them wait for them, in order. */
static void test_dispatch_copy_in_order(void **state)
{
    gpusim_world_t *w = test_world(1);
    gpusim_gpu_t *g = device(w, "gpu0", NULL);
    gpusim_gpu_ctx_t *c = context(g);
    gpusim_gpu_queue_t *q;
    uint64_t cp = param("cp_packet");
    gpusim_time_t t0;
    hwait h1, h2;
    uint32_t f;
    (void)state;
    ASSERT_OK(gpusim_gpu_queue_new(c, RING, &q));
    ASSERT_OK(gpusim_gpu_fence_new(g, 0, &f));
    put_dispatch(q, 1, false);
    put_signal(q, f, 1);
    put_copy(q);
    put_signal(q, f, 2);
    host_wait(g, f, 1, &h1, GPUSIM_TIME_MAX);
    host_wait(g, f, 2, &h2, GPUSIM_TIME_MAX);
    t0 = now(w);
    ASSERT_OK(gpusim_gpu_queue_doorbell(q));
    ASSERT_OK(gpusim_world_run_until(w, t0 + cp));
    /* The dispatch is on the engine: the queue runs it, the signal behind it waits. */
    assert_int_equal(info(q).state, GPUSIM_GPU_QUEUE_RUNNING);
    assert_int_equal(info(q).rptr, 0);
    assert_int_equal(fval(g, f, NULL), 0);
    check(g);
    ASSERT_OK(gpusim_world_run(w));
    assert_true(h1.status == 0 && h2.status == 0);
    assert_true(h1.at > t0 + 2 * cp);
    assert_true(h2.at > h1.at + 2 * cp);
    assert_int_equal(info(q).packets, 4);
    assert_int_equal(info(q).state, GPUSIM_GPU_QUEUE_IDLE);
    check(g);
    gpusim_gpu_free(g);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* A job the engine refuses (a trace that is not registered) stops the queue at that packet. */
static void test_job_refused(void **state)
{
    gpusim_world_t *w = test_world(1);
    gpusim_gpu_t *g = device(w, "gpu0", NULL);
    gpusim_gpu_ctx_t *c = context(g);
    gpusim_gpu_queue_t *q;
    gpusim_gpu_queue_info_t i;
    uint32_t f;
    int err;
    (void)state;
    ASSERT_OK(gpusim_gpu_queue_new(c, RING, &q));
    ASSERT_OK(gpusim_gpu_fence_new(g, 0, &f));
    put_signal(q, f, 1);
    put_dispatch(q, 1, true);
    put_signal(q, f, 2);
    ASSERT_OK(gpusim_gpu_queue_doorbell(q));
    ASSERT_OK(gpusim_world_run(w));
    i = info(q);
    assert_int_equal(i.state, GPUSIM_GPU_QUEUE_ERROR);
    assert_int_equal(i.error.code, GPUSIM_EINVAL);
    assert_string_equal(i.error.reason, "job_refused");
    assert_true(i.error.message && i.error.message[0]);
    assert_int_equal(i.error.offset, GPUSIM_PKT_FENCE_BYTES);
    assert_int_equal(i.error.opcode, GPUSIM_PKT_DISPATCH);
    assert_int_equal(i.rptr, GPUSIM_PKT_FENCE_BYTES);
    /* The signal behind it will never come: its fence fails. */
    assert_int_equal(fval(g, f, &err), 1);
    assert_int_equal(err, GPUSIM_ECANCELED);
    ASSERT_ERR(gpusim_gpu_queue_doorbell(q), GPUSIM_ECANCELED);
    assert_int_equal(stat(w, "gpu0", "queue_errors"), 1);
    check(g);
    gpusim_gpu_free(g);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* A malformed packet mid-stream: the packets before it ran, the error names it, the queue stops. */
static void test_bad_packet_midstream(void **state)
{
    gpusim_world_t *w = test_world(1);
    gpusim_gpu_t *g = device(w, "gpu0", NULL);
    gpusim_gpu_ctx_t *c = context(g);
    gpusim_gpu_queue_t *q, *q2;
    gpusim_gpu_queue_info_t i;
    uint32_t bad = GPUSIM_PKT_HEADER(9, 1), trunc = GPUSIM_PKT_HEADER(GPUSIM_PKT_COPY, 8);
    uint32_t f;
    (void)state;
    ASSERT_OK(gpusim_gpu_queue_new(c, RING, &q));
    ASSERT_OK(gpusim_gpu_fence_new(g, 0, &f));
    put_signal(q, f, 1);
    put_nop(q, 4);
    ASSERT_OK(gpusim_gpu_queue_write(q, &bad, 4)); /* little-endian host assumed by the test */
    put_signal(q, f, 2);
    ASSERT_OK(gpusim_gpu_queue_doorbell(q));
    ASSERT_OK(gpusim_world_run(w));
    i = info(q);
    assert_int_equal(i.state, GPUSIM_GPU_QUEUE_ERROR);
    assert_int_equal(i.packets, 2);
    assert_int_equal(fval(g, f, NULL), 1);
    assert_int_equal(i.error.code, GPUSIM_EINVAL);
    assert_int_equal(i.error.offset, 20);
    assert_int_equal(i.rptr, 20);
    assert_int_equal(i.error.opcode, 9);
    assert_string_equal(i.error.reason, "unknown_opcode");
    assert_string_equal(i.error.message, "unknown opcode");
    ASSERT_ERR(gpusim_gpu_queue_doorbell(q), GPUSIM_ECANCELED);
    check(g);

    /* A packet running past the doorbell's wptr is truncated, not awaited. */
    ASSERT_OK(gpusim_gpu_queue_new(c, RING, &q2));
    put_nop(q2, 8);
    ASSERT_OK(gpusim_gpu_queue_write(q2, &trunc, 4));
    ASSERT_OK(gpusim_gpu_queue_doorbell(q2));
    ASSERT_OK(gpusim_world_run(w));
    i = info(q2);
    assert_int_equal(i.state, GPUSIM_GPU_QUEUE_ERROR);
    assert_string_equal(i.error.reason, "truncated");
    assert_string_equal(i.error.field, "length");
    assert_int_equal(i.error.offset, 8);
    assert_int_equal(i.packets, 1);
    /* Freeing a queue in error is fine; another queue of the context still works. */
    gpusim_gpu_queue_free(q);
    ASSERT_OK(gpusim_gpu_queue_new(c, RING, &q));
    put_signal(q, f, 3);
    ASSERT_OK(gpusim_gpu_queue_doorbell(q));
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(fval(g, f, NULL), 3);
    check(g);
    gpusim_gpu_free(g);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* Execution errors: an unknown fence, a value not above the fence's, a failed fence. */
static void test_fence_packet_errors(void **state)
{
    gpusim_world_t *w = test_world(1);
    gpusim_gpu_t *g = device(w, "gpu0", NULL);
    gpusim_gpu_ctx_t *c = context(g);
    gpusim_gpu_queue_t *q1, *q2, *q3;
    gpusim_gpu_queue_info_t i;
    hwait h;
    uint32_t f, f2;
    int err;
    (void)state;
    ASSERT_OK(gpusim_gpu_fence_new(g, 4, &f));
    ASSERT_OK(gpusim_gpu_fence_new(g, 0, &f2));
    ASSERT_OK(gpusim_gpu_queue_new(c, RING, &q1));
    ASSERT_OK(gpusim_gpu_queue_new(c, RING, &q2));
    ASSERT_OK(gpusim_gpu_queue_new(c, RING, &q3));
    put_signal(q1, 999, 1); /* no such fence */
    put_signal(q1, f2, 5);
    put_nop(q2, 4);
    put_signal(q2, f, 4); /* not above 4 */
    put_wait(q3, f2, 5);  /* f2 will fail: q1 abandons its signal */
    host_wait(g, f2, 5, &h, GPUSIM_TIME_MAX);
    ASSERT_OK(gpusim_gpu_queue_doorbell(q3));
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(info(q3).state, GPUSIM_GPU_QUEUE_WAITING);
    ASSERT_OK(gpusim_gpu_queue_doorbell(q1));
    ASSERT_OK(gpusim_gpu_queue_doorbell(q2));
    ASSERT_OK(gpusim_world_run(w));
    i = info(q1);
    assert_int_equal(i.error.code, GPUSIM_ENOENT);
    assert_string_equal(i.error.reason, "unknown_fence");
    assert_int_equal(i.error.offset, 0);
    assert_int_equal(i.error.opcode, GPUSIM_PKT_FENCE_SIGNAL);
    i = info(q2);
    assert_int_equal(i.error.code, GPUSIM_ERANGE);
    assert_string_equal(i.error.reason, "fence_value");
    assert_int_equal(i.error.offset, 4);
    assert_int_equal(fval(g, f, &err), 4);
    assert_int_equal(err, 0); /* the fence itself is fine */
    assert_int_equal(fval(g, f2, &err), 0);
    assert_int_equal(err, GPUSIM_ECANCELED);
    assert_int_equal(h.calls, 1);
    assert_int_equal(h.status, GPUSIM_ECANCELED);
    i = info(q3);
    assert_int_equal(i.state, GPUSIM_GPU_QUEUE_ERROR);
    assert_int_equal(i.error.code, GPUSIM_ECANCELED);
    assert_string_equal(i.error.reason, "fence_failed");
    /* A failed fence refuses signals; a queue signalling it stops. */
    ASSERT_ERR(gpusim_gpu_fence_signal(g, f2, 9), GPUSIM_ECANCELED);
    ASSERT_OK(gpusim_gpu_queue_new(c, RING, &q1));
    put_signal(q1, f2, 9);
    ASSERT_OK(gpusim_gpu_queue_doorbell(q1));
    ASSERT_OK(gpusim_world_run(w));
    assert_string_equal(info(q1).error.reason, "fence_failed");
    assert_int_equal(info(q1).error.code, GPUSIM_ECANCELED);
    check(g);
    gpusim_gpu_free(g);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* Writes wrap around the ring (a packet may straddle its end); a full ring refuses writes whole;
 * a packet's space is free only once it completed. */
static void test_wrap_and_enospc(void **state)
{
    gpusim_world_t *w = test_world(1);
    gpusim_gpu_t *g = device(w, "gpu0", NULL);
    gpusim_gpu_ctx_t *c = context(g);
    gpusim_gpu_queue_t *q;
    uint8_t big[256];
    uint32_t f, f2;
    (void)state;
    ASSERT_OK(gpusim_gpu_queue_new(c, 256, &q));
    ASSERT_OK(gpusim_gpu_fence_new(g, 0, &f));
    ASSERT_OK(gpusim_gpu_fence_new(g, 0, &f2));
    put_wait(q, f2, 1); /* holds rptr at 0 */
    put_nop(q, 232);
    assert_int_equal(info(q).wptr, 248);
    ASSERT_OK(gpusim_gpu_queue_doorbell(q));
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(gpusim_packet_nop(big, sizeof big, 16), 16);
    ASSERT_ERR(gpusim_gpu_queue_write(q, big, 16), GPUSIM_ENOSPC); /* 248 + 16 > 256 */
    assert_int_equal(info(q).wptr, 248);
    ASSERT_OK(gpusim_gpu_fence_signal(g, f2, 1));
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(info(q).rptr, 248);
    /* This signal straddles the end: its value's two dwords are on either side. */
    put_signal(q, f, UINT64_C(0x1122334455667788));
    ASSERT_OK(gpusim_gpu_queue_doorbell(q));
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(fval(g, f, NULL), UINT64_C(0x1122334455667788));
    assert_int_equal(info(q).rptr, 264);
    /* A full ring takes exactly its size. */
    assert_int_equal(gpusim_packet_nop(big, sizeof big, 256), 256);
    ASSERT_OK(gpusim_gpu_queue_write(q, big, 256));
    ASSERT_ERR(gpusim_gpu_queue_write(q, big, 4), GPUSIM_ENOSPC);
    ASSERT_OK(gpusim_gpu_queue_doorbell(q));
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(info(q).rptr, 520);
    assert_int_equal(info(q).state, GPUSIM_GPU_QUEUE_IDLE);
    ASSERT_OK(gpusim_gpu_queue_write(q, big, 4 * 16)); /* room again */
    check(g);
    gpusim_gpu_free(g);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* Killing a context stops its queues with the kill error, ends its running job, fails the fences
 * its unexecuted signals name (their waiters wake with the error), refuses later doorbells and
 * queues; another context's queue goes on. */
static void test_kill_isolation(void **state)
{
    gpusim_world_t *w = test_world(1);
    gpusim_gpu_t *g = device(w, "gpu0", NULL);
    gpusim_gpu_ctx_t *a = context(g), *b = context(g);
    gpusim_gpu_queue_t *qa, *qa2, *qb, *qb2, *q;
    gpusim_gpu_queue_info_t i;
    uint64_t cp = param("cp_packet");
    action kill;
    hwait h;
    uint32_t fa, fb;
    int err;
    (void)state;
    ASSERT_OK(gpusim_gpu_fence_new(g, 0, &fa));
    ASSERT_OK(gpusim_gpu_fence_new(g, 0, &fb));
    ASSERT_OK(gpusim_gpu_queue_new(a, RING, &qa));
    ASSERT_OK(gpusim_gpu_queue_new(a, RING, &qa2));
    ASSERT_OK(gpusim_gpu_queue_new(b, RING, &qb));
    ASSERT_OK(gpusim_gpu_queue_new(b, RING, &qb2));
    put_dispatch(qa, 1000, false); /* long, whatever the engine */
    put_signal(qa, fa, 1);
    put_dispatch(qb, 1, false);
    put_signal(qb, fb, 1);
    put_wait(qb2, fa, 1); /* another context depends on a's work */
    host_wait(g, fa, 1, &h, GPUSIM_TIME_MAX);
    ASSERT_OK(gpusim_gpu_queue_doorbell(qa));
    ASSERT_OK(gpusim_gpu_queue_doorbell(qb));
    ASSERT_OK(gpusim_gpu_queue_doorbell(qb2));
    memset(&kill, 0, sizeof kill);
    kill.c = a;
    at(w, &kill, do_kill, cp + 1); /* the dispatch is on the engine */
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(kill.rc, 0);
    assert_int_equal(gpusim_gpu_ctx_error(a), GPUSIM_EGPUFAULT);
    i = info(qa);
    assert_int_equal(i.state, GPUSIM_GPU_QUEUE_ERROR);
    assert_int_equal(i.error.code, GPUSIM_EGPUFAULT);
    assert_string_equal(i.error.reason, "context_killed");
    assert_int_equal(i.error.offset, 0);
    assert_int_equal(i.error.opcode, GPUSIM_PKT_DISPATCH);
    assert_int_equal(i.packets, 0);
    assert_int_equal(info(qa2).state, GPUSIM_GPU_QUEUE_ERROR); /* idle, but stopped too */
    assert_int_equal(info(qa2).error.code, GPUSIM_EGPUFAULT);
    assert_int_equal(fval(g, fa, &err), 0);
    assert_int_equal(err, GPUSIM_ECTXKILLED);
    assert_int_equal(h.calls, 1);
    assert_int_equal(h.status, GPUSIM_ECTXKILLED);
    assert_int_equal(h.at, cp + 1);
    i = info(qb2);
    assert_int_equal(i.state, GPUSIM_GPU_QUEUE_ERROR);
    assert_int_equal(i.error.code, GPUSIM_ECTXKILLED);
    assert_string_equal(i.error.reason, "fence_failed");
    assert_int_equal(gpusim_gpu_ctx_error(b), 0);
    assert_int_equal(info(qb).state, GPUSIM_GPU_QUEUE_IDLE);
    assert_int_equal(info(qb).packets, 2);
    assert_int_equal(fval(g, fb, NULL), 1);
    ASSERT_ERR(gpusim_gpu_queue_doorbell(qa), GPUSIM_ECTXKILLED);
    ASSERT_ERR(gpusim_gpu_queue_new(a, RING, &q), GPUSIM_ECTXKILLED);
    ASSERT_ERR(gpusim_gpu_ctx_evict(a, ev_cb, NULL), GPUSIM_ECTXKILLED);
    ASSERT_ERR(gpusim_gpu_ctx_restore(a, ev_cb, NULL), GPUSIM_ECTXKILLED);
    check(g);
    /* Freeing a killed context frees its queues, even one whose job the engine has yet to end. */
    gpusim_gpu_ctx_free(a);
    a = context(g);
    ASSERT_OK(gpusim_gpu_queue_new(a, RING, &qa));
    put_dispatch(qa, 1000, false);
    ASSERT_OK(gpusim_gpu_queue_doorbell(qa));
    ASSERT_OK(gpusim_world_run_until(w, now(w) + 2 * cp));
    ASSERT_OK(gpusim_gpu_ctx_kill(a, GPUSIM_EGPUFAULT));
    gpusim_gpu_ctx_free(a);
    check(g);
    ASSERT_OK(gpusim_world_run(w));
    check(g);
    gpusim_gpu_free(g);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

static void touch_cb(gpusim_gpu_req_t *req, int status, const gpusim_gpu_access_t *a)
{
    (void)req;
    (void)status;
    (void)a;
    fail_msg("a non-replayable fault does not wait");
}

/* A non-replayable fault kills the context from inside the access: its queues stop with
 * GPUSIM_EGPUFAULT and its pending signals fail. */
static void test_nonreplayable_fault_stops_queues(void **state)
{
    gpusim_world_t *w = test_world(1);
    gpusim_gpu_config_t cfg;
    gpusim_gpu_t *g;
    gpusim_gpu_ctx_t *c;
    gpusim_gpu_queue_t *q;
    gpusim_gpu_req_t req;
    gpusim_gpu_access_t acc;
    hwait h;
    uint32_t f, gate;
    int err;
    (void)state;
    gpusim_gpu_config_init(&cfg);
    cfg.replayable = false;
    ASSERT_OK(gpusim_gpu_config_set(&cfg, "vram_size", "64MiB", false, NULL, 0));
    ASSERT_OK(gpusim_gpu_new(w, &cfg, &g));
    c = context(g);
    ASSERT_OK(gpusim_gpu_fence_new(g, 0, &f));
    ASSERT_OK(gpusim_gpu_fence_new(g, 0, &gate));
    ASSERT_OK(gpusim_gpu_queue_new(c, RING, &q));
    put_wait(q, gate, 1);
    put_signal(q, f, 1);
    ASSERT_OK(gpusim_gpu_queue_doorbell(q));
    host_wait(g, f, 1, &h, GPUSIM_TIME_MAX);
    ASSERT_OK(gpusim_world_run(w));
    gpusim_gpu_req_init(&req);
    ASSERT_ERR(gpusim_gpu_touch(c, 0, 0x1000, false, &req, NULL, NULL, &acc), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_gpu_touch(c, 0, 0x1000, false, &req, touch_cb, NULL, &acc),
               GPUSIM_ECTXKILLED);
    assert_int_equal(info(q).state, GPUSIM_GPU_QUEUE_ERROR);
    assert_int_equal(info(q).error.code, GPUSIM_EGPUFAULT);
    assert_int_equal(info(q).error.opcode, GPUSIM_PKT_FENCE_WAIT);
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(h.status, GPUSIM_ECTXKILLED);
    assert_int_equal(fval(g, f, &err), 0);
    assert_int_equal(err, GPUSIM_ECTXKILLED);
    check(g);
    gpusim_gpu_free(g);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* Eviction with nothing running costs preempt_save; work published meanwhile waits; a restore
 * costs queue_resume, then the queue goes on. */
static void test_evict_restore_costs(void **state)
{
    static const char *const kv[] = {"preempt_save", "30us", "queue_resume", "15us", NULL};
    gpusim_world_t *w = test_world(1);
    gpusim_gpu_t *g = device(w, "gpu0", kv);
    gpusim_gpu_ctx_t *c = context(g);
    gpusim_gpu_queue_t *q, *q2;
    uint64_t cp = param("cp_packet"), save = 30 * GPUSIM_NS_PER_US, resume = 15 * GPUSIM_NS_PER_US;
    evres ev = {w, 0, 1, 0}, rs = {w, 0, 1, 0};
    gpusim_time_t t0, t1;
    hwait h;
    uint32_t f;
    (void)state;
    ASSERT_OK(gpusim_gpu_queue_new(c, RING, &q));
    ASSERT_OK(gpusim_gpu_fence_new(g, 0, &f));
    ASSERT_OK(gpusim_world_run_until(w, 3 * GPUSIM_NS_PER_US));
    t0 = now(w);
    ASSERT_OK(gpusim_gpu_ctx_evict(c, ev_cb, &ev));
    assert_int_equal(info(q).state, GPUSIM_GPU_QUEUE_PREEMPTED);
    ASSERT_ERR(gpusim_gpu_ctx_evict(c, ev_cb, &ev), GPUSIM_EBUSY);
    ASSERT_ERR(gpusim_gpu_ctx_restore(c, ev_cb, &rs), GPUSIM_EBUSY);
    put_signal(q, f, 1);
    ASSERT_OK(gpusim_gpu_queue_doorbell(q)); /* accepted; runs after the restore */
    check(g);
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(ev.calls, 1);
    assert_int_equal(ev.status, 0);
    assert_int_equal(ev.at, t0 + save);
    assert_int_equal(fval(g, f, NULL), 0);
    assert_int_equal(info(q).state, GPUSIM_GPU_QUEUE_PREEMPTED);
    ASSERT_ERR(gpusim_gpu_ctx_evict(c, ev_cb, &ev), GPUSIM_EBUSY);
    ASSERT_OK(gpusim_gpu_queue_new(c, RING, &q2)); /* a new queue of an evicted context waits */
    assert_int_equal(info(q2).state, GPUSIM_GPU_QUEUE_PREEMPTED);
    check(g);
    ASSERT_OK(gpusim_world_run_until(w, now(w) + 50 * GPUSIM_NS_PER_US));
    t1 = now(w);
    host_wait(g, f, 1, &h, GPUSIM_TIME_MAX);
    ASSERT_OK(gpusim_gpu_ctx_restore(c, ev_cb, &rs));
    assert_int_equal(info(q).state, GPUSIM_GPU_QUEUE_PREEMPTED);
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(rs.calls, 1);
    assert_int_equal(rs.status, 0);
    assert_int_equal(rs.at, t1 + resume);
    assert_int_equal(h.at, t1 + resume + cp);
    assert_int_equal(info(q).state, GPUSIM_GPU_QUEUE_IDLE);
    assert_int_equal(info(q2).state, GPUSIM_GPU_QUEUE_IDLE);
    ASSERT_ERR(gpusim_gpu_ctx_restore(c, ev_cb, &rs), GPUSIM_EINVAL);
    assert_int_equal(stat(w, "gpu0", "evictions"), 1);
    assert_int_equal(stat(w, "gpu0", "restores"), 1);
    check(g);
    gpusim_gpu_free(g);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* Evicting a context with a job running: the eviction completes at least preempt_save after the
 * request, nothing after the job issues until the restore, and then the queue finishes. */
static void test_evict_running_job(void **state)
{
    static const char *const kv[] = {"preempt_save", "30us", "queue_resume", "15us", NULL};
    gpusim_world_t *w = test_world(1);
    gpusim_gpu_t *g = device(w, "gpu0", kv);
    gpusim_gpu_ctx_t *c = context(g), *other = context(g);
    gpusim_gpu_queue_t *q, *qo;
    uint64_t cp = param("cp_packet"), save = 30 * GPUSIM_NS_PER_US, resume = 15 * GPUSIM_NS_PER_US;
    evres ev = {w, 0, 1, 0}, rs = {w, 0, 1, 0};
    action evict;
    gpusim_time_t t1;
    hwait h;
    uint32_t f, fo;
    (void)state;
    ASSERT_OK(gpusim_gpu_queue_new(c, RING, &q));
    ASSERT_OK(gpusim_gpu_queue_new(other, RING, &qo));
    ASSERT_OK(gpusim_gpu_fence_new(g, 0, &f));
    ASSERT_OK(gpusim_gpu_fence_new(g, 0, &fo));
    put_dispatch(q, 1, false);
    put_signal(q, f, 1);
    put_nop(q, 4);
    ASSERT_OK(gpusim_gpu_queue_doorbell(q));
    memset(&evict, 0, sizeof evict);
    evict.c = c;
    evict.r = &ev;
    at(w, &evict, do_evict, cp + 1);
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(evict.rc, 0);
    assert_int_equal(ev.calls, 1);
    assert_int_equal(ev.status, 0);
    assert_true(ev.at >= cp + 1 + save);
    assert_int_equal(fval(g, f, NULL), 0); /* the signal behind the job did not issue */
    assert_int_equal(info(q).state, GPUSIM_GPU_QUEUE_PREEMPTED);
    /* Another context is not affected. */
    put_signal(qo, fo, 1);
    ASSERT_OK(gpusim_gpu_queue_doorbell(qo));
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(fval(g, fo, NULL), 1);
    check(g);
    t1 = now(w);
    host_wait(g, f, 1, &h, GPUSIM_TIME_MAX);
    ASSERT_OK(gpusim_gpu_ctx_restore(c, ev_cb, &rs));
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(rs.at, t1 + resume);
    assert_int_equal(h.status, 0);
    assert_true(h.at >= t1 + resume + cp);
    assert_int_equal(info(q).packets, 3);
    assert_int_equal(info(q).state, GPUSIM_GPU_QUEUE_IDLE);
    check(g);
    gpusim_gpu_free(g);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* A preemption that cannot complete within queue_preempt_timeout (here shorter than the save
 * itself) resets the device: every context is killed with GPUSIM_ETIMEDOUT. */
static void test_preempt_timeout_resets_device(void **state)
{
    static const char *const kv[] = {"queue_preempt_timeout", "1us", NULL};
    gpusim_world_t *w = test_world(1);
    gpusim_gpu_t *g = device(w, "gpu0", kv);
    gpusim_gpu_t *g2 = device(w, "gpu1", NULL);
    gpusim_gpu_ctx_t *a = context(g), *b = context(g), *c2 = context(g2);
    gpusim_gpu_queue_t *qa, *qb, *q2;
    gpusim_gpu_config_t cfg;
    evres ev = {w, 0, 1, 0};
    char msg[128];
    gpusim_time_t t0;
    hwait h;
    uint32_t fb;
    int err;
    (void)state;
    gpusim_gpu_config_init(&cfg);
    ASSERT_ERR(gpusim_gpu_config_set(&cfg, "queue_preempt_timeout", "1us", false, msg, sizeof msg),
               GPUSIM_ERANGE); /* only forced */
    ASSERT_OK(gpusim_gpu_queue_new(a, RING, &qa));
    ASSERT_OK(gpusim_gpu_queue_new(b, RING, &qb));
    ASSERT_OK(gpusim_gpu_queue_new(c2, RING, &q2));
    ASSERT_OK(gpusim_gpu_fence_new(g, 0, &fb));
    put_dispatch(qb, 1000, false);
    put_signal(qb, fb, 1);
    host_wait(g, fb, 1, &h, GPUSIM_TIME_MAX);
    ASSERT_OK(gpusim_gpu_queue_doorbell(qb));
    ASSERT_OK(gpusim_world_run_until(w, 2 * param("cp_packet")));
    t0 = now(w);
    ASSERT_OK(gpusim_gpu_ctx_evict(a, ev_cb, &ev));
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(ev.calls, 1);
    assert_int_equal(ev.status, GPUSIM_ETIMEDOUT);
    assert_int_equal(ev.at, t0 + GPUSIM_NS_PER_US);
    assert_int_equal(gpusim_gpu_ctx_error(a), GPUSIM_ETIMEDOUT);
    assert_int_equal(gpusim_gpu_ctx_error(b), GPUSIM_ETIMEDOUT);
    assert_int_equal(info(qa).state, GPUSIM_GPU_QUEUE_ERROR);
    assert_int_equal(info(qa).error.code, GPUSIM_ETIMEDOUT);
    assert_int_equal(info(qb).state, GPUSIM_GPU_QUEUE_ERROR);
    assert_int_equal(info(qb).error.code, GPUSIM_ETIMEDOUT);
    assert_string_equal(info(qb).error.reason, "context_killed");
    assert_int_equal(fval(g, fb, &err), 0);
    assert_int_equal(err, GPUSIM_ECTXKILLED);
    assert_int_equal(h.status, GPUSIM_ECTXKILLED);
    ASSERT_ERR(gpusim_gpu_queue_doorbell(qb), GPUSIM_ECTXKILLED);
    assert_int_equal(stat(w, "gpu0", "resets"), 1);
    assert_int_equal(stat(w, "gpu0", "evictions"), 0);
    /* The other device is not reset. */
    assert_int_equal(gpusim_gpu_ctx_error(c2), 0);
    assert_int_equal(info(q2).state, GPUSIM_GPU_QUEUE_IDLE);
    check(g);
    check(g2);
    gpusim_gpu_free(g);
    gpusim_gpu_free(g2);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* Killing a context while its eviction is in progress ends the eviction with ECTXKILLED. */
static void test_kill_during_eviction(void **state)
{
    gpusim_world_t *w = test_world(1);
    gpusim_gpu_t *g = device(w, "gpu0", NULL);
    gpusim_gpu_ctx_t *c = context(g);
    gpusim_gpu_queue_t *q;
    evres ev = {w, 0, 1, 0};
    (void)state;
    ASSERT_OK(gpusim_gpu_queue_new(c, RING, &q));
    ASSERT_OK(gpusim_gpu_ctx_evict(c, ev_cb, &ev));
    ASSERT_OK(gpusim_world_run_until(w, 5 * GPUSIM_NS_PER_US)); /* saving */
    ASSERT_OK(gpusim_gpu_ctx_kill(c, GPUSIM_EGPUFAULT));
    assert_int_equal(ev.calls, 0); /* delivered from an event */
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(ev.calls, 1);
    assert_int_equal(ev.status, GPUSIM_ECTXKILLED);
    assert_int_equal(ev.at, 5 * GPUSIM_NS_PER_US);
    assert_int_equal(info(q).state, GPUSIM_GPU_QUEUE_ERROR);
    assert_int_equal(stat(w, "gpu0", "evictions"), 0);
    check(g);
    gpusim_gpu_free(g);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* ---- preemption of one queue ---------------------------------------------------------------- */

/* The slack of a job's stop: one engine slice plus the touch in progress (put_dispatch's). */
static gpusim_time_t stop_slack(void)
{
    return param("engine_quantum") +
           4096 * GPUSIM_NS_PER_S * param("compute_units") / param("hbm_bw") + 100;
}

/* Preempting an idle queue costs preempt_save exactly; the other queue of the same context goes
 * on meanwhile; work published to the preempted queue waits; a resume costs queue_resume, then the
 * queue runs it. */
static void test_queue_preempt_resume_costs(void **state)
{
    static const char *const kv[] = {"preempt_save", "30us", "queue_resume", "15us", NULL};
    gpusim_world_t *w = test_world(1);
    gpusim_gpu_t *g = device(w, "gpu0", kv);
    gpusim_gpu_ctx_t *c = context(g);
    gpusim_gpu_queue_t *q, *q2;
    uint64_t cp = param("cp_packet"), save = 30 * GPUSIM_NS_PER_US, resume = 15 * GPUSIM_NS_PER_US;
    evres ev = {w, 0, 1, 0}, rs = {w, 0, 1, 0};
    gpusim_time_t t0, t1;
    hwait h, h2;
    uint32_t f, f2;
    (void)state;
    ASSERT_OK(gpusim_gpu_queue_new(c, RING, &q));
    ASSERT_OK(gpusim_gpu_queue_new(c, RING, &q2));
    ASSERT_OK(gpusim_gpu_fence_new(g, 0, &f));
    ASSERT_OK(gpusim_gpu_fence_new(g, 0, &f2));
    ASSERT_OK(gpusim_world_run_until(w, 3 * GPUSIM_NS_PER_US));
    t0 = now(w);
    ASSERT_OK(gpusim_gpu_queue_preempt(q, ev_cb, &ev));
    assert_int_equal(info(q).state, GPUSIM_GPU_QUEUE_PREEMPTED);
    assert_int_equal(info(q2).state, GPUSIM_GPU_QUEUE_IDLE);
    ASSERT_ERR(gpusim_gpu_queue_preempt(q, ev_cb, &ev), GPUSIM_EBUSY);
    ASSERT_ERR(gpusim_gpu_queue_resume(q, ev_cb, &rs), GPUSIM_EBUSY);
    put_signal(q, f, 1);
    ASSERT_OK(gpusim_gpu_queue_doorbell(q)); /* accepted; runs after the resume */
    put_signal(q2, f2, 1);
    host_wait(g, f2, 1, &h2, GPUSIM_TIME_MAX);
    ASSERT_OK(gpusim_gpu_queue_doorbell(q2));
    check(g);
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(ev.calls, 1);
    assert_int_equal(ev.status, 0);
    assert_int_equal(ev.at, t0 + save);
    assert_int_equal(h2.at, t0 + cp); /* the other queue did not wait */
    assert_int_equal(fval(g, f, NULL), 0);
    assert_int_equal(info(q).state, GPUSIM_GPU_QUEUE_PREEMPTED);
    assert_int_equal(info(q2).state, GPUSIM_GPU_QUEUE_IDLE);
    ASSERT_ERR(gpusim_gpu_queue_preempt(q, ev_cb, &ev), GPUSIM_EBUSY);
    check(g);
    ASSERT_OK(gpusim_world_run_until(w, now(w) + 50 * GPUSIM_NS_PER_US));
    t1 = now(w);
    host_wait(g, f, 1, &h, GPUSIM_TIME_MAX);
    ASSERT_OK(gpusim_gpu_queue_resume(q, ev_cb, &rs));
    assert_int_equal(info(q).state, GPUSIM_GPU_QUEUE_PREEMPTED);
    ASSERT_ERR(gpusim_gpu_queue_resume(q, ev_cb, &rs), GPUSIM_EBUSY);
    ASSERT_ERR(gpusim_gpu_queue_preempt(q, ev_cb, &rs), GPUSIM_EBUSY);
    check(g);
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(rs.calls, 1);
    assert_int_equal(rs.status, 0);
    assert_int_equal(rs.at, t1 + resume);
    assert_int_equal(h.at, t1 + resume + cp);
    assert_int_equal(info(q).state, GPUSIM_GPU_QUEUE_IDLE);
    ASSERT_ERR(gpusim_gpu_queue_resume(q, ev_cb, &rs), GPUSIM_EINVAL);
    /* Preempted in the middle of a fetch: the fetch is dropped and redone after the resume. */
    {
        action pre;
        gpusim_time_t td;
        put_nop(q, 4);
        td = now(w);
        ASSERT_OK(gpusim_gpu_queue_doorbell(q));
        memset(&pre, 0, sizeof pre);
        pre.q = q;
        pre.r = &ev;
        at(w, &pre, do_qpreempt, td + cp / 2);
        ASSERT_OK(gpusim_world_run_until(w, td + cp / 2));
        check(g); /* nothing fetches while preempted */
        ASSERT_OK(gpusim_world_run(w));
        assert_int_equal(ev.calls, 2);
        assert_int_equal(ev.at, td + cp / 2 + save);
        assert_int_equal(info(q).packets, 1); /* the NOP has not run */
        t1 = now(w);
        ASSERT_OK(gpusim_gpu_queue_resume(q, ev_cb, &rs));
        ASSERT_OK(gpusim_world_run(w));
        assert_int_equal(rs.at, t1 + resume);
        assert_int_equal(info(q).packets, 2);
        assert_int_equal(info(q).state, GPUSIM_GPU_QUEUE_IDLE);
    }
    assert_int_equal(stat(w, "gpu0", "queue_preemptions"), 2);
    assert_int_equal(stat(w, "gpu0", "queue_resumes"), 2);
    assert_int_equal(stat(w, "gpu0", "evictions"), 0);
    assert_null(g->cp->ops);
    check(g);
    gpusim_gpu_free(g);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/*
 * Preempting a queue whose job runs: the job stops within one engine slice and gives its compute
 * unit back, then preempt_save; nothing behind it issues; another queue of the same context runs
 * its own job meanwhile. After the resume the job continues where it stopped: the queue ends
 * exactly as much later than an undisturbed run as the job was stopped.
 */
static void test_queue_preempt_running_job(void **state)
{
    static const char *const kv[] = {"preempt_save", "30us", "queue_resume", "15us", NULL};
    gpusim_world_t *w = test_world(1);
    gpusim_gpu_t *g = device(w, "gpu0", kv);
    gpusim_gpu_ctx_t *c = context(g);
    gpusim_gpu_queue_t *q, *q2;
    uint64_t save = 30 * GPUSIM_NS_PER_US, resume = 15 * GPUSIM_NS_PER_US;
    uint64_t units = param("compute_units");
    evres ev = {w, 0, 1, 0}, rs = {w, 0, 1, 0};
    action pre;
    gpusim_time_t t0, alone, tp, t1, stop;
    hwait h, h2;
    uint32_t f, f2;
    (void)state;
    ASSERT_OK(gpusim_gpu_queue_new(c, RING, &q));
    ASSERT_OK(gpusim_gpu_queue_new(c, RING, &q2));
    ASSERT_OK(gpusim_gpu_fence_new(g, 0, &f));
    ASSERT_OK(gpusim_gpu_fence_new(g, 0, &f2));
    /* Undisturbed, TLBs warm: doorbell to signal. */
    put_dispatch(q, 1, false);
    ASSERT_OK(gpusim_gpu_queue_doorbell(q));
    ASSERT_OK(gpusim_world_run(w));
    t0 = now(w);
    put_dispatch(q, 200, false);
    put_signal(q, f, 1);
    host_wait(g, f, 1, &h, GPUSIM_TIME_MAX);
    ASSERT_OK(gpusim_gpu_queue_doorbell(q));
    ASSERT_OK(gpusim_world_run(w));
    alone = h.at - t0;
    assert_true(alone > 100 * GPUSIM_NS_PER_US);
    /* Again, preempted a third of the way in. */
    t0 = now(w);
    put_dispatch(q, 200, false);
    put_signal(q, f, 2);
    put_nop(q, 4);
    host_wait(g, f, 2, &h, GPUSIM_TIME_MAX);
    ASSERT_OK(gpusim_gpu_queue_doorbell(q));
    memset(&pre, 0, sizeof pre);
    pre.q = q;
    pre.r = &ev;
    tp = t0 + alone / 3;
    at(w, &pre, do_qpreempt, tp);
    ASSERT_OK(gpusim_world_run_until(w, tp + 5 * GPUSIM_NS_PER_US));
    assert_int_equal(pre.rc, 0);
    /* The other queue of the context runs a job meanwhile. */
    put_dispatch(q2, 1, false);
    put_signal(q2, f2, 1);
    host_wait(g, f2, 1, &h2, GPUSIM_TIME_MAX);
    ASSERT_OK(gpusim_gpu_queue_doorbell(q2));
    ASSERT_OK(gpusim_world_run_until(w, tp + 500 * GPUSIM_NS_PER_US));
    assert_int_equal(ev.calls, 1);
    assert_int_equal(ev.status, 0);
    stop = ev.at - save; /* when the job reached its preemption point */
    assert_true(stop > tp && stop - tp <= stop_slack());
    assert_int_equal(h2.calls, 1);
    assert_int_equal(h2.status, 0);
    assert_int_equal(h.calls, 0);
    assert_int_equal(info(q).state, GPUSIM_GPU_QUEUE_PREEMPTED);
    assert_int_equal(info(q).packets, 3); /* the warm-up kernel, the first run's two */
    assert_int_equal(gpusim__gpu_engine_free_units(g), units); /* the stopped job holds none */
    check(g);
    t1 = now(w);
    ASSERT_OK(gpusim_gpu_queue_resume(q, ev_cb, &rs));
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(rs.at, t1 + resume);
    assert_int_equal(h.status, 0);
    assert_int_equal(h.at - t0, alone + (t1 + resume - stop));
    assert_int_equal(info(q).packets, 6);
    assert_int_equal(info(q).state, GPUSIM_GPU_QUEUE_IDLE);
    assert_null(g->cp->ops);
    check(g);
    gpusim_gpu_free(g);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* A queue preemption that cannot complete within queue_preempt_timeout resets the device, through
 * the eviction's code: every context killed with GPUSIM_ETIMEDOUT, the callback too. */
static void test_queue_preempt_timeout_resets_device(void **state)
{
    static const char *const kv[] = {"queue_preempt_timeout", "1us", NULL};
    gpusim_world_t *w = test_world(1);
    gpusim_gpu_t *g = device(w, "gpu0", kv);
    gpusim_gpu_ctx_t *a = context(g), *b = context(g);
    gpusim_gpu_queue_t *qa, *qa2, *qb;
    evres ev = {w, 0, 1, 0};
    gpusim_time_t t0;
    (void)state;
    ASSERT_OK(gpusim_gpu_queue_new(a, RING, &qa));
    ASSERT_OK(gpusim_gpu_queue_new(a, RING, &qa2));
    ASSERT_OK(gpusim_gpu_queue_new(b, RING, &qb));
    put_dispatch(qa, 1000, false);
    put_dispatch(qb, 1000, false);
    ASSERT_OK(gpusim_gpu_queue_doorbell(qa));
    ASSERT_OK(gpusim_gpu_queue_doorbell(qb));
    ASSERT_OK(gpusim_world_run_until(w, 2 * param("cp_packet")));
    t0 = now(w);
    ASSERT_OK(gpusim_gpu_queue_preempt(qa, ev_cb, &ev));
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(ev.calls, 1);
    assert_int_equal(ev.status, GPUSIM_ETIMEDOUT);
    assert_int_equal(ev.at, t0 + GPUSIM_NS_PER_US);
    assert_int_equal(gpusim_gpu_ctx_error(a), GPUSIM_ETIMEDOUT);
    assert_int_equal(gpusim_gpu_ctx_error(b), GPUSIM_ETIMEDOUT);
    assert_int_equal(info(qa).state, GPUSIM_GPU_QUEUE_ERROR);
    assert_int_equal(info(qa).error.code, GPUSIM_ETIMEDOUT);
    assert_int_equal(info(qa2).error.code, GPUSIM_ETIMEDOUT);
    assert_int_equal(info(qb).error.code, GPUSIM_ETIMEDOUT);
    assert_int_equal(stat(w, "gpu0", "resets"), 1);
    assert_int_equal(stat(w, "gpu0", "queue_preemptions"), 0);
    ASSERT_ERR(gpusim_gpu_queue_preempt(qa, ev_cb, &ev), GPUSIM_ECTXKILLED);
    ASSERT_ERR(gpusim_gpu_queue_resume(qa, ev_cb, &ev), GPUSIM_ECTXKILLED);
    assert_null(g->cp->ops);
    check(g);
    gpusim_gpu_free(g);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* Killing the context while a queue is being preempted (its job stopping, or saving) or resumed
 * ends that operation with ECTXKILLED, from an event at the kill; the queue stops in error. */
static void test_kill_during_queue_preempt(void **state)
{
    gpusim_world_t *w = test_world(1);
    gpusim_gpu_t *g = device(w, "gpu0", NULL);
    gpusim_gpu_ctx_t *a = context(g), *b = context(g), *c = context(g);
    gpusim_gpu_queue_t *qa, *qa2, *qb, *qc;
    evres ea = {w, 0, 1, 0}, eb = {w, 0, 1, 0}, ec = {w, 0, 1, 0};
    gpusim_time_t t;
    (void)state;
    ASSERT_OK(gpusim_gpu_queue_new(a, RING, &qa));
    ASSERT_OK(gpusim_gpu_queue_new(a, RING, &qa2));
    ASSERT_OK(gpusim_gpu_queue_new(b, RING, &qb));
    ASSERT_OK(gpusim_gpu_queue_new(c, RING, &qc));
    put_dispatch(qa, 1000, false);
    put_dispatch(qb, 1000, false);
    ASSERT_OK(gpusim_gpu_queue_doorbell(qa));
    ASSERT_OK(gpusim_gpu_queue_doorbell(qb));
    ASSERT_OK(gpusim_world_run_until(w, 2 * param("cp_packet")));
    /* a: saving when killed. */
    ASSERT_OK(gpusim_gpu_queue_preempt(qa, ev_cb, &ea));
    ASSERT_OK(gpusim_world_run_until(w, now(w) + stop_slack() + 1000));
    t = now(w);
    ASSERT_OK(gpusim_gpu_ctx_kill(a, GPUSIM_EGPUFAULT));
    assert_int_equal(ea.calls, 0); /* delivered from an event */
    /* b: its job not yet stopped when killed. */
    ASSERT_OK(gpusim_gpu_queue_preempt(qb, ev_cb, &eb));
    ASSERT_OK(gpusim_gpu_ctx_kill(b, GPUSIM_EGPUFAULT));
    /* c: resuming when killed. */
    ASSERT_OK(gpusim_gpu_queue_preempt(qc, ev_cb, &ec));
    ASSERT_OK(gpusim_world_run_until(w, now(w) + param("preempt_save")));
    assert_int_equal(ec.calls, 1);
    ASSERT_OK(gpusim_gpu_queue_resume(qc, ev_cb, &ec));
    ASSERT_OK(gpusim_gpu_ctx_kill(c, GPUSIM_EGPUFAULT));
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(ea.calls, 1);
    assert_int_equal(ea.status, GPUSIM_ECTXKILLED);
    assert_int_equal(ea.at, t);
    assert_int_equal(eb.calls, 1);
    assert_int_equal(eb.status, GPUSIM_ECTXKILLED);
    assert_int_equal(eb.at, t);
    assert_int_equal(ec.calls, 2);
    assert_int_equal(ec.status, GPUSIM_ECTXKILLED);
    assert_int_equal(info(qa).state, GPUSIM_GPU_QUEUE_ERROR);
    assert_int_equal(info(qa).error.code, GPUSIM_EGPUFAULT);
    assert_int_equal(info(qa2).state, GPUSIM_GPU_QUEUE_ERROR);
    assert_int_equal(info(qc).state, GPUSIM_GPU_QUEUE_ERROR);
    assert_int_equal(stat(w, "gpu0", "queue_preemptions"), 1); /* c's */
    assert_int_equal(stat(w, "gpu0", "queue_resumes"), 0);
    ASSERT_ERR(gpusim_gpu_queue_preempt(qa, ev_cb, &ea), GPUSIM_ECTXKILLED);
    ASSERT_ERR(gpusim_gpu_queue_resume(qa, ev_cb, &ea), GPUSIM_ECTXKILLED);
    assert_null(g->cp->ops); /* the engine answered b's finished preemption too */
    check(g);
    gpusim_gpu_free(g);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/*
 * A queue preemption and an eviction of its context are independent holds. Queue first: the
 * eviction then has nothing left to stop (preempt_save exactly); the restore lets the other
 * queues go on but not the preempted queue, which goes on only after its own resume. Eviction
 * first: the queue preemption finds its job stopped (preempt_save exactly); the queue's resume
 * completes but the queue stays held until the restore.
 */
static void test_queue_preempt_and_evict(void **state)
{
    static const char *const kv[] = {"preempt_save", "30us", "queue_resume", "15us", NULL};
    gpusim_world_t *w = test_world(1);
    gpusim_gpu_t *g = device(w, "gpu0", kv);
    gpusim_gpu_ctx_t *c = context(g);
    gpusim_gpu_queue_t *q, *q2;
    uint64_t cp = param("cp_packet"), save = 30 * GPUSIM_NS_PER_US, resume = 15 * GPUSIM_NS_PER_US;
    uint64_t units = param("compute_units");
    evres eq = {w, 0, 1, 0}, ec = {w, 0, 1, 0}, rq = {w, 0, 1, 0}, rc = {w, 0, 1, 0};
    gpusim_time_t t;
    hwait h, h2;
    uint32_t f, f2;
    (void)state;
    ASSERT_OK(gpusim_gpu_queue_new(c, RING, &q));
    ASSERT_OK(gpusim_gpu_queue_new(c, RING, &q2));
    ASSERT_OK(gpusim_gpu_fence_new(g, 0, &f));
    ASSERT_OK(gpusim_gpu_fence_new(g, 0, &f2));

    /* Queue preempted, then its context evicted and restored, then the queue resumed. */
    put_dispatch(q, 1000, false);
    put_signal(q, f, 1);
    host_wait(g, f, 1, &h, GPUSIM_TIME_MAX);
    ASSERT_OK(gpusim_gpu_queue_doorbell(q));
    ASSERT_OK(gpusim_world_run_until(w, 10 * GPUSIM_NS_PER_US));
    ASSERT_OK(gpusim_gpu_queue_preempt(q, ev_cb, &eq));
    ASSERT_OK(gpusim_world_run_until(w, now(w) + 100 * GPUSIM_NS_PER_US));
    assert_int_equal(eq.calls, 1);
    t = now(w);
    ASSERT_OK(gpusim_gpu_ctx_evict(c, ev_cb, &ec));
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(ec.calls, 1);
    assert_int_equal(ec.at, t + save); /* nothing left running to stop */
    put_signal(q2, f2, 1);
    host_wait(g, f2, 1, &h2, GPUSIM_TIME_MAX);
    ASSERT_OK(gpusim_gpu_queue_doorbell(q2));
    t = now(w);
    ASSERT_OK(gpusim_gpu_ctx_restore(c, ev_cb, &rc));
    ASSERT_OK(gpusim_world_run_until(w, t + 1000 * GPUSIM_NS_PER_US));
    assert_int_equal(rc.calls, 1);
    assert_int_equal(h2.at, t + resume + cp); /* the other queue runs after the restore */
    assert_int_equal(info(q).state, GPUSIM_GPU_QUEUE_PREEMPTED);
    assert_int_equal(info(q2).state, GPUSIM_GPU_QUEUE_IDLE);
    assert_int_equal(h.calls, 0);
    assert_int_equal(gpusim__gpu_engine_free_units(g), units); /* its job still held */
    check(g);
    t = now(w);
    ASSERT_OK(gpusim_gpu_queue_resume(q, ev_cb, &rq));
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(rq.at, t + resume);
    assert_int_equal(h.calls, 1);
    assert_int_equal(h.status, 0);
    assert_int_equal(info(q).state, GPUSIM_GPU_QUEUE_IDLE);

    /* Context evicted, then the queue preempted and resumed, then the context restored. */
    put_dispatch(q, 1000, false);
    put_signal(q, f, 2);
    host_wait(g, f, 2, &h, GPUSIM_TIME_MAX);
    ASSERT_OK(gpusim_gpu_queue_doorbell(q));
    ASSERT_OK(gpusim_world_run_until(w, now(w) + 10 * GPUSIM_NS_PER_US));
    ASSERT_OK(gpusim_gpu_ctx_evict(c, ev_cb, &ec));
    ASSERT_OK(gpusim_world_run_until(w, now(w) + 100 * GPUSIM_NS_PER_US));
    assert_int_equal(ec.calls, 2);
    t = now(w);
    ASSERT_OK(gpusim_gpu_queue_preempt(q, ev_cb, &eq));
    ASSERT_OK(gpusim_world_run_until(w, t + 100 * GPUSIM_NS_PER_US));
    assert_int_equal(eq.calls, 2);
    assert_int_equal(eq.status, 0);
    assert_int_equal(eq.at, t + save); /* its job was stopped already */
    t = now(w);
    ASSERT_OK(gpusim_gpu_queue_resume(q, ev_cb, &rq));
    ASSERT_OK(gpusim_world_run_until(w, t + 1000 * GPUSIM_NS_PER_US));
    assert_int_equal(rq.calls, 2);
    assert_int_equal(rq.at, t + resume);
    assert_int_equal(info(q).state, GPUSIM_GPU_QUEUE_PREEMPTED); /* the context still holds it */
    assert_int_equal(h.calls, 0);
    assert_int_equal(gpusim__gpu_engine_free_units(g), units);
    check(g);
    ASSERT_OK(gpusim_gpu_ctx_restore(c, ev_cb, &rc));
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(rc.calls, 2);
    assert_int_equal(h.calls, 1);
    assert_int_equal(h.status, 0);
    assert_int_equal(info(q).state, GPUSIM_GPU_QUEUE_IDLE);
    assert_int_equal(stat(w, "gpu0", "queue_preemptions"), 2);
    assert_int_equal(stat(w, "gpu0", "evictions"), 2);
    assert_null(g->cp->ops);
    check(g);
    gpusim_gpu_free(g);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* Freeing a queue (stopping its job, saving, resuming), its context or the device while a queue
 * preemption or resume is in progress: no callback, no operation left behind, every event-queue
 * slot given back. */
static void test_queue_preempt_teardown(void **state)
{
    gpusim_world_t *w = test_world(1);
    size_t reserved = w->queue.reserved, pending = w->queue.n;
    gpusim_gpu_t *g = device(w, "gpu0", NULL);
    gpusim_gpu_ctx_t *a = context(g), *b = context(g);
    gpusim_gpu_queue_t *q1, *q2, *q3, *qb, *q4;
    evres e1 = {w, 0, 1, 0}, e2 = {w, 0, 1, 0}, e3 = {w, 0, 1, 0}, eb = {w, 0, 1, 0};
    evres e4 = {w, 0, 1, 0};
    size_t with_queues;
    (void)state;
    ASSERT_OK(gpusim_gpu_queue_new(a, RING, &q1));
    ASSERT_OK(gpusim_gpu_queue_new(a, RING, &q2));
    ASSERT_OK(gpusim_gpu_queue_new(a, RING, &q3));
    ASSERT_OK(gpusim_gpu_queue_new(b, RING, &qb));
    put_dispatch(q1, 1000, false);
    put_dispatch(q3, 1, false);
    put_dispatch(qb, 1000, false);
    ASSERT_OK(gpusim_gpu_queue_doorbell(q1));
    ASSERT_OK(gpusim_gpu_queue_doorbell(q3));
    ASSERT_OK(gpusim_gpu_queue_doorbell(qb));
    ASSERT_OK(gpusim_world_run_until(w, 2 * param("cp_packet")));
    ASSERT_OK(gpusim_gpu_queue_preempt(q3, ev_cb, &e3));
    ASSERT_OK(gpusim_world_run_until(w, now(w) + param("preempt_save") + stop_slack()));
    assert_int_equal(e3.calls, 1);
    ASSERT_OK(gpusim_gpu_queue_resume(q3, ev_cb, &e3));  /* q3: resuming */
    ASSERT_OK(gpusim_gpu_queue_preempt(q2, ev_cb, &e2)); /* q2: no job, saving */
    ASSERT_OK(gpusim_gpu_queue_preempt(q1, ev_cb, &e1)); /* q1: its job not stopped yet */
    ASSERT_OK(gpusim_gpu_queue_preempt(qb, ev_cb, &eb)); /* qb: its context goes */
    check(g);
    gpusim_gpu_queue_free(q1);
    gpusim_gpu_queue_free(q2);
    gpusim_gpu_queue_free(q3);
    gpusim_gpu_ctx_free(b);
    check(g);
    assert_null(g->cp->ops);
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(e1.calls + e2.calls + eb.calls, 0);
    assert_int_equal(e3.calls, 1);
    /* A context evicted while its job runs, killed (the eviction ends, the engine's report is
     * still owed), then freed: the engine drops the report, and the operation goes too. */
    b = context(g);
    ASSERT_OK(gpusim_gpu_queue_new(b, RING, &qb));
    put_dispatch(qb, 1000, false);
    ASSERT_OK(gpusim_gpu_queue_doorbell(qb));
    ASSERT_OK(gpusim_world_run_until(w, now(w) + 2 * param("cp_packet")));
    ASSERT_OK(gpusim_gpu_ctx_evict(b, ev_cb, &eb));
    ASSERT_OK(gpusim_gpu_ctx_kill(b, GPUSIM_EGPUFAULT));
    ASSERT_OK(gpusim_world_run_until(w, now(w))); /* the eviction reports ECTXKILLED */
    assert_int_equal(eb.calls, 1);
    assert_int_equal(eb.status, GPUSIM_ECTXKILLED);
    assert_non_null(g->cp->ops); /* waiting for the engine */
    gpusim_gpu_ctx_free(b);
    assert_null(g->cp->ops);
    check(g);
    with_queues = w->queue.reserved;
    /* The device freed with a queue preemption in progress. */
    ASSERT_OK(gpusim_gpu_queue_new(a, RING, &q4));
    assert_int_equal(w->queue.reserved, with_queues + 1);
    put_dispatch(q4, 1000, false);
    ASSERT_OK(gpusim_gpu_queue_doorbell(q4));
    ASSERT_OK(gpusim_world_run_until(w, now(w) + 2 * param("cp_packet")));
    ASSERT_OK(gpusim_gpu_queue_preempt(q4, ev_cb, &e4));
    gpusim_gpu_free(g);
    assert_int_equal(w->queue.reserved, reserved);
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(e4.calls, 0);
    assert_int_equal(w->queue.n, pending);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* Two devices in one world: fence handles, queues and kills are per device. */
static void test_two_devices(void **state)
{
    gpusim_world_t *w = test_world(1);
    gpusim_gpu_t *g0 = device(w, "gpu0", NULL), *g1 = device(w, "gpu1", NULL);
    gpusim_gpu_ctx_t *c0 = context(g0), *c1 = context(g1);
    gpusim_gpu_queue_t *q0, *q1;
    uint32_t f0, f1;
    (void)state;
    ASSERT_OK(gpusim_gpu_fence_new(g0, 0, &f0));
    ASSERT_OK(gpusim_gpu_fence_new(g1, 0, &f1));
    assert_int_equal(f0, f1); /* each device numbers its own */
    ASSERT_OK(gpusim_gpu_queue_new(c0, RING, &q0));
    ASSERT_OK(gpusim_gpu_queue_new(c1, RING, &q1));
    put_signal(q0, f0, 5);
    put_signal(q1, f1, 7);
    ASSERT_OK(gpusim_gpu_queue_doorbell(q0));
    ASSERT_OK(gpusim_gpu_queue_doorbell(q1));
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(fval(g0, f0, NULL), 5);
    assert_int_equal(fval(g1, f1, NULL), 7);
    put_dispatch(q0, 1000, false);
    put_signal(q0, f0, 6);
    put_dispatch(q1, 1, false);
    put_signal(q1, f1, 8);
    ASSERT_OK(gpusim_gpu_queue_doorbell(q0));
    ASSERT_OK(gpusim_gpu_queue_doorbell(q1));
    ASSERT_OK(gpusim_gpu_ctx_kill(c0, GPUSIM_ECANCELED));
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(info(q0).state, GPUSIM_GPU_QUEUE_ERROR);
    assert_int_equal(info(q1).state, GPUSIM_GPU_QUEUE_IDLE);
    assert_int_equal(fval(g1, f1, NULL), 8);
    assert_int_equal(stat(w, "gpu0", "packets"), 1);
    assert_int_equal(stat(w, "gpu1", "packets"), 3);
    check(g0);
    check(g1);
    gpusim_gpu_free(g0);
    gpusim_gpu_free(g1);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* Freeing a queue abandons its unexecuted signals: their fences fail with ECANCELED. */
static void test_queue_free_abandons(void **state)
{
    gpusim_world_t *w = test_world(1);
    gpusim_gpu_t *g = device(w, "gpu0", NULL);
    gpusim_gpu_ctx_t *c = context(g);
    gpusim_gpu_queue_t *q, *qj;
    hwait h;
    uint32_t f, gate;
    int err;
    (void)state;
    ASSERT_OK(gpusim_gpu_fence_new(g, 0, &f));
    ASSERT_OK(gpusim_gpu_fence_new(g, 0, &gate));
    ASSERT_OK(gpusim_gpu_queue_new(c, RING, &q));
    ASSERT_OK(gpusim_gpu_queue_new(c, RING, &qj));
    put_wait(q, gate, 1);
    put_signal(q, f, 1);
    put_dispatch(qj, 1000, false); /* a job in flight when its queue goes */
    ASSERT_OK(gpusim_gpu_queue_doorbell(q));
    ASSERT_OK(gpusim_gpu_queue_doorbell(qj));
    host_wait(g, f, 1, &h, GPUSIM_TIME_MAX);
    ASSERT_OK(gpusim_world_run_until(w, 10 * param("cp_packet")));
    gpusim_gpu_queue_free(q);
    gpusim_gpu_queue_free(qj);
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(h.status, GPUSIM_ECANCELED);
    assert_int_equal(fval(g, f, &err), 0);
    assert_int_equal(err, GPUSIM_ECANCELED);
    ASSERT_OK(gpusim_gpu_fence_free(g, gate)); /* nobody waits on it any more */
    check(g);
    gpusim_gpu_free(g);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* Freeing contexts, devices and worlds with work in flight: nothing leaks, no callback runs
 * afterwards, and every event-queue slot is given back. */
static void test_teardown_in_flight(void **state)
{
    gpusim_world_t *w = test_world(1);
    size_t reserved = w->queue.reserved, pending = w->queue.n;
    gpusim_gpu_t *g = device(w, "gpu0", NULL);
    gpusim_gpu_ctx_t *a = context(g), *b = context(g);
    gpusim_gpu_queue_t *qa, *qb, *qw;
    evres rs = {w, 0, 1, 0}, ev = {w, 0, 1, 0};
    hwait h1, h2;
    uint32_t f;
    (void)state;
    ASSERT_OK(gpusim_gpu_fence_new(g, 0, &f));
    ASSERT_OK(gpusim_gpu_queue_new(a, RING, &qa));
    ASSERT_OK(gpusim_gpu_queue_new(b, RING, &qb));
    ASSERT_OK(gpusim_gpu_queue_new(b, RING, &qw));
    put_dispatch(qa, 1000, false);
    put_dispatch(qb, 1000, false);
    put_wait(qw, f, 1);
    ASSERT_OK(gpusim_gpu_queue_doorbell(qa));
    ASSERT_OK(gpusim_gpu_queue_doorbell(qb));
    ASSERT_OK(gpusim_gpu_queue_doorbell(qw));
    host_wait(g, f, 1, &h1, GPUSIM_TIME_MAX);
    host_wait(g, f, 2, &h2, 500 * GPUSIM_NS_PER_US);
    ASSERT_OK(gpusim_world_run_until(w, 2 * param("cp_packet")));
    ASSERT_OK(gpusim_gpu_ctx_evict(b, ev_cb, &ev));
    ASSERT_OK(gpusim_world_run_until(w, now(w) + 1)); /* the engine has answered; saving */
    gpusim_gpu_ctx_free(a);                           /* a job running */
    check(g);
    ASSERT_OK(gpusim_gpu_fence_signal(g, f, 1)); /* h1 and qw woken, not yet run */
    gpusim_gpu_free(g);
    assert_int_equal(w->queue.reserved, reserved);
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(h1.calls + h2.calls + rs.calls + ev.calls, 0);
    assert_int_equal(w->queue.n, pending);
    gpusim_world_free(w);

    /* A world freed with a device busy in it. */
    w = test_world(2);
    g = device(w, "gpu0", NULL);
    a = context(g);
    ASSERT_OK(gpusim_gpu_queue_new(a, RING, &qa));
    ASSERT_OK(gpusim_gpu_fence_new(g, 0, &f));
    put_dispatch(qa, 1000, false);
    put_wait(qa, f, 1);
    ASSERT_OK(gpusim_gpu_queue_doorbell(qa));
    host_wait(g, f, 1, &h1, GPUSIM_TIME_MAX);
    ASSERT_OK(gpusim_world_run_until(w, 2 * param("cp_packet")));
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* Every allocation of queue_new, fence_new, evict, restore, queue_preempt and queue_resume can
 * fail: GPUSIM_ENOMEM, nothing changed, and the call then succeeds. */
/* The preemption calls, with one signature for sweep(). */
static int evict_call(void *o, evres *ev)
{
    return gpusim_gpu_ctx_evict(o, ev_cb, ev);
}

static int restore_call(void *o, evres *ev)
{
    return gpusim_gpu_ctx_restore(o, ev_cb, ev);
}

static int qpreempt_call(void *o, evres *ev)
{
    return gpusim_gpu_queue_preempt(o, ev_cb, ev);
}

static int qresume_call(void *o, evres *ev)
{
    return gpusim_gpu_queue_resume(o, ev_cb, ev);
}

/* Fails every allocation point of call(o, ev) in turn: each failure is ENOMEM with the queue still
 * in `state`, no event-queue slot taken and the device consistent; then the call succeeds and its
 * callback runs once. */
static void sweep(gpusim_world_t *w, gpusim_gpu_t *g, gpusim_gpu_queue_t *q,
                  int (*call)(void *o, evres *ev), void *o, evres *ev, int state)
{
    int calls = ev->calls;
    for (long n = 1;; n++) {
        size_t reserved = w->queue.reserved;
        int rc;
        gpusim__alloc_fail_nth(n);
        rc = call(o, ev);
        gpusim__alloc_fail_nth(0);
        if (rc == 0)
            break;
        assert_int_equal(rc, GPUSIM_ENOMEM);
        assert_int_equal(info(q).state, state);
        assert_int_equal(w->queue.reserved, reserved);
        check(g);
    }
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(ev->calls, calls + 1);
}

static void test_alloc_failures(void **state)
{
    gpusim_world_t *w = test_world(1);
    gpusim_gpu_t *g = device(w, "gpu0", NULL);
    gpusim_gpu_ctx_t *c = context(g);
    gpusim_gpu_queue_t *q = NULL;
    evres ev = {w, 0, 1, 0};
    size_t reserved;
    uint32_t f = 0;
    int rc;
    (void)state;
    for (long n = 1;; n++) {
        int64_t before = gpusim__alloc_outstanding();
        reserved = w->queue.reserved;
        gpusim__alloc_fail_nth(n);
        rc = gpusim_gpu_queue_new(c, RING, &q);
        gpusim__alloc_fail_nth(0);
        if (rc == 0)
            break;
        assert_int_equal(rc, GPUSIM_ENOMEM);
        assert_int_equal(gpusim__alloc_outstanding(), before);
        assert_int_equal(w->queue.reserved, reserved);
        assert_null(c->cp);
    }
    for (long n = 1;; n++) {
        gpusim__alloc_fail_nth(n);
        rc = gpusim_gpu_fence_new(g, 0, &f);
        gpusim__alloc_fail_nth(0);
        if (rc == 0)
            break;
        assert_int_equal(rc, GPUSIM_ENOMEM);
        ASSERT_ERR(gpusim_gpu_fence_value(g, 1, NULL, NULL), GPUSIM_ENOENT);
    }
    assert_int_equal(f, 1);
    sweep(w, g, q, evict_call, c, &ev, GPUSIM_GPU_QUEUE_IDLE);
    sweep(w, g, q, restore_call, c, &ev, GPUSIM_GPU_QUEUE_PREEMPTED);
    assert_int_equal(info(q).state, GPUSIM_GPU_QUEUE_IDLE);
    sweep(w, g, q, qpreempt_call, q, &ev, GPUSIM_GPU_QUEUE_IDLE);
    sweep(w, g, q, qresume_call, q, &ev, GPUSIM_GPU_QUEUE_PREEMPTED);
    assert_int_equal(info(q).state, GPUSIM_GPU_QUEUE_IDLE);
    assert_int_equal(ev.calls, 4);
    check(g);
    gpusim_gpu_free(g);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        GPUSIM_TEST(test_arguments),
        GPUSIM_TEST(test_nop_signal_in_order),
        GPUSIM_TEST(test_fence_across_queues),
        GPUSIM_TEST(test_host_fences),
        GPUSIM_TEST(test_tlb_invalidate),
        GPUSIM_TEST(test_dispatch_copy_in_order),
        GPUSIM_TEST(test_job_refused),
        GPUSIM_TEST(test_bad_packet_midstream),
        GPUSIM_TEST(test_fence_packet_errors),
        GPUSIM_TEST(test_wrap_and_enospc),
        GPUSIM_TEST(test_kill_isolation),
        GPUSIM_TEST(test_nonreplayable_fault_stops_queues),
        GPUSIM_TEST(test_evict_restore_costs),
        GPUSIM_TEST(test_evict_running_job),
        GPUSIM_TEST(test_preempt_timeout_resets_device),
        GPUSIM_TEST(test_kill_during_eviction),
        GPUSIM_TEST(test_queue_preempt_resume_costs),
        GPUSIM_TEST(test_queue_preempt_running_job),
        GPUSIM_TEST(test_queue_preempt_timeout_resets_device),
        GPUSIM_TEST(test_kill_during_queue_preempt),
        GPUSIM_TEST(test_queue_preempt_and_evict),
        GPUSIM_TEST(test_queue_preempt_teardown),
        GPUSIM_TEST(test_two_devices),
        GPUSIM_TEST(test_queue_free_abandons),
        GPUSIM_TEST(test_teardown_in_flight),
        GPUSIM_TEST(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
