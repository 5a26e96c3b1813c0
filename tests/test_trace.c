/*
 * tests/test_trace.c -- the trace hook (gpusim/trace.h) and its reporting sites: the spans a
 * world reports for its invalidations, jobs, fault batches, evictions and restores, host actors
 * and device resets, checked against the statistics that measure the same things; no hook, no
 * call; the same world reports the same spans.
 *
 * A recorder copies every span it is given (checking end >= begin and the strings); tests then
 * look spans up by track and name.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gpusim.h"
#include "core/alloc.h"
#include "mirror_util.h"

#define MIB  GPUSIM_MIB
#define MS   GPUSIM_NS_PER_MS
#define PAGE GPUSIM_HOST_PAGE_SIZE

/* ---- the recorder ---------------------------------------------------------------------------- */

typedef struct rspan {
    char track[48];
    char name[96];
    char arg_name[24]; /* "" when none */
    gpusim_time_t begin, end;
    uint64_t arg;
} rspan;

typedef struct recorder {
    gpusim_world_t *w;
    rspan *v;
    size_t n, cap;
} recorder;

static void rec_cb(void *ud, const gpusim_trace_span_t *s)
{
    recorder *r = ud;
    rspan *o;
    assert_non_null(s->track);
    assert_non_null(s->name);
    assert_true(s->end >= s->begin);
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 64;
        r->v = realloc(r->v, r->cap * sizeof *r->v);
        assert_non_null(r->v);
    }
    o = &r->v[r->n++];
    memset(o, 0, sizeof *o);
    assert_true(strlen(s->track) < sizeof o->track);
    assert_true(strlen(s->name) < sizeof o->name);
    strcpy(o->track, s->track);
    strcpy(o->name, s->name);
    if (s->arg_name) {
        assert_true(strlen(s->arg_name) < sizeof o->arg_name);
        strcpy(o->arg_name, s->arg_name);
    } else {
        assert_int_equal(s->arg, 0);
    }
    o->begin = s->begin;
    o->end = s->end;
    o->arg = s->arg;
}

static void rec_attach(recorder *r, gpusim_world_t *w)
{
    memset(r, 0, sizeof *r);
    r->w = w;
    ASSERT_OK(gpusim_world_set_trace(w, rec_cb, r));
}

static void rec_free(recorder *r)
{
    free(r->v);
    memset(r, 0, sizeof *r);
}

/* The i-th span (from 0) on `track` named `name`, or NULL. */
static const rspan *nth(const recorder *r, const char *track, const char *name, size_t i)
{
    for (size_t k = 0; k < r->n; k++)
        if (!strcmp(r->v[k].track, track) && !strcmp(r->v[k].name, name) && i-- == 0)
            return &r->v[k];
    return NULL;
}

/* The only span on `track` named `name` (fails unless there is exactly one). */
static const rspan *one(const recorder *r, const char *track, const char *name)
{
    const rspan *s = nth(r, track, name, 0);
    if (!s || nth(r, track, name, 1))
        fail_msg("expected exactly one span %s / %s", track, name);
    return s;
}

static size_t count(const recorder *r, const char *track, const char *name)
{
    size_t n = 0;
    while (nth(r, track, name, n))
        n++;
    return n;
}

static size_t on_track(const recorder *r, const char *track)
{
    size_t n = 0;
    for (size_t k = 0; k < r->n; k++)
        n += !strcmp(r->v[k].track, track);
    return n;
}

static gpusim_stat_info_t stat(gpusim_world_t *w, const char *name)
{
    gpusim_stat_info_t si;
    ASSERT_OK(gpusim_stats_get(w, name, &si));
    return si;
}

static const char *driver_track(const mfx *f, char *buf, size_t len)
{
    snprintf(buf, len, "driver:%s", gpusim_driver_name(f->d));
    return buf;
}

/* ---- tests ----------------------------------------------------------------------------------- */

static int calls;

static void count_cb(void *ud, const gpusim_trace_span_t *s)
{
    (void)ud;
    (void)s;
    calls++;
}

/* A job and an invalidation that waits for it: the hook is called while it is set, never once it
 * is removed; a NULL world is refused. */
static void test_set_and_remove(void **state)
{
    mfx f;
    gpusim_buffer_t *b;
    gpusim_job_desc_t j;
    call c = {0};
    uint64_t va;
    (void)state;
    ASSERT_ERR(gpusim_world_set_trace(NULL, count_cb, NULL), GPUSIM_EINVAL);
    mfx_init(&f, 64 * MIB, GPUSIM_POLICY_FENCE_WAIT, NULL);
    ASSERT_OK(gpusim_world_set_trace(f.w, count_cb, NULL));
    ASSERT_OK(gpusim_world_set_trace(f.w, NULL, &c)); /* removed again */
    b = mfx_buffer(&f, 16, &va);
    j = mfx_kernel(b, 10, 100);
    ASSERT_OK(gpusim_driver_submit(f.d, &j, call_cb, &c));
    ASSERT_OK(mfx_wait(&f, &c));
    ASSERT_OK(mfx_munmap(&f, va, 16 * MPAGE));
    memset(&c, 0, sizeof c);
    ASSERT_OK(gpusim_driver_unregister(b, call_cb, &c));
    ASSERT_OK(mfx_wait(&f, &c));
    assert_int_equal(calls, 0);
    /* Set: the same kind of work is reported. */
    ASSERT_OK(gpusim_world_set_trace(f.w, count_cb, NULL));
    b = mfx_buffer(&f, 16, &va);
    j = mfx_kernel(b, 10, 100);
    memset(&c, 0, sizeof c);
    ASSERT_OK(gpusim_driver_submit(f.d, &j, call_cb, &c));
    ASSERT_OK(mfx_wait(&f, &c));
    ASSERT_OK(mfx_munmap(&f, va, 16 * MPAGE));
    assert_int_equal(calls, 3); /* prepare, kernel, invalidation */
    mfx_free(&f);
}

/*
 * fence-wait: munmap of a registered buffer while a 64 ms job uses it waits for the job. Spans:
 * the job's preparation (as long as the driver's gpu_stall_ns), the kernel on the compute engine
 * (as long as engine.busy_ns), and the invalidation from the munmap to its end with blocked_ns
 * equal to the notifier's statistic. A munmap of memory no mirror subscribed to is not reported.
 */
static void test_fence_wait_munmap(void **state)
{
    mfx f;
    recorder r;
    gpusim_buffer_t *b;
    gpusim_job_desc_t j;
    gpusim_driver_info_t i;
    call job = {0}, um = {0};
    uint64_t va, other;
    gpusim_time_t t0, t_unmap;
    const rspan *prep, *k, *inv;
    char dt[48];
    (void)state;
    mfx_init(&f, 64 * MIB, GPUSIM_POLICY_FENCE_WAIT, NULL);
    rec_attach(&r, f.w);
    b = mfx_buffer(&f, 64, &va);
    other = mfx_mmap(&f, 0, 16 * MPAGE, 0);
    ASSERT_OK(mfx_touch(&f, other, 16 * MPAGE));
    ASSERT_OK(mfx_munmap(&f, other, 16 * MPAGE)); /* nobody subscribed: not reported */
    assert_int_equal(r.n, 0);

    j = mfx_kernel(b, 1000, 1000);
    job.w = um.w = f.w;
    t0 = gpusim_world_now(f.w);
    ASSERT_OK(gpusim_driver_submit(f.d, &j, call_cb, &job));
    ASSERT_OK(gpusim_world_run_until(f.w, t0 + 10 * MS));
    t_unmap = gpusim_world_now(f.w);
    ASSERT_OK(gpusim_process_munmap(f.p, va, 64 * MPAGE, call_cb, &um));
    ASSERT_OK(mfx_wait(&f, &job));
    ASSERT_OK(mfx_wait(&f, &um));
    mfx_check(&f);
    i = mfx_info(&f);

    prep = one(&r, driver_track(&f, dt, sizeof dt), "prepare job 1");
    assert_int_equal(prep->begin, t0);
    assert_string_equal(prep->arg_name, "queued_ns");
    assert_int_equal(prep->arg, 0);
    assert_int_equal(prep->end - prep->begin, i.gpu_stall_ns);

    k = one(&r, "gpu0.compute", "kernel ctx1");
    assert_true(k->begin >= prep->end);
    assert_true(k->end <= job.at && k->end > t_unmap);
    assert_string_equal(k->arg_name, "");
    assert_int_equal(k->end - k->begin, stat(f.w, "gpu.gpu0.engine.busy_ns").count);

    inv = one(&r, "syscall", "invalidate unmap");
    assert_int_equal(inv->begin, t_unmap);
    assert_true(inv->end <= um.at);
    assert_true(inv->end >= k->end); /* it waited for the job */
    assert_string_equal(inv->arg_name, "blocked_ns");
    assert_true(inv->arg > 0);
    assert_int_equal(inv->arg, stat(f.w, "notifier.blocked_ns.syscall").sum);
    assert_int_equal(inv->arg, i.blocked_ns[GPUSIM_INVALIDATOR_SYSCALL]);
    assert_true(inv->end - inv->begin >= inv->arg);
    assert_int_equal(r.n, 3); /* nothing else happened */

    /* A job over the buffer whose memory is gone: its preparation fails, and says why. */
    memset(&job, 0, sizeof job);
    ASSERT_OK(gpusim_driver_submit(f.d, &j, call_cb, &job));
    assert_int_equal(mfx_wait(&f, &job), GPUSIM_EFAULT);
    prep = one(&r, dt, "prepare job 2");
    assert_string_equal(prep->arg_name, "error");
    assert_int_equal(prep->arg, (uint64_t)(-(int64_t)GPUSIM_EFAULT));
    rec_free(&r);
    mfx_free(&f);
}

/* refault, two drivers on one GPU whose jobs fault at the same time: every fault batch is
 * reported on the track of each driver with faults in it, with that driver's faults only (as
 * many spans as its fault_batches, as many faults as it served), from the fetch to the end of the
 * replay (fault_replay is made 1 ms, longer than everything else a batch costs). */
static void test_refault_batches(void **state)
{
    mfx f, f2;
    recorder r;
    gpusim_gpu_config_t gc;
    gpusim_driver_config_t dc;
    gpusim_process_config_t pc;
    gpusim_buffer_t *b, *b2;
    gpusim_job_desc_t j, j2;
    call c = {0}, c2 = {0};
    size_t mixed = 0;
    (void)state;
    gpusim_gpu_config_init(&gc);
    ASSERT_OK(gpusim_gpu_config_set(&gc, "fault_replay", "1ms", true, NULL, 0));
    mfx_init_gpu(&f, 64 * MIB, GPUSIM_POLICY_REFAULT, NULL, &gc);
    f2 = f;
    gpusim_process_config_init(&pc);
    pc.name = "second";
    ASSERT_OK(gpusim_process_new(f.h, &pc, &f2.p));
    gpusim_driver_config_init(&dc, GPUSIM_POLICY_REFAULT);
    ASSERT_OK(gpusim_driver_new(f.g, f2.p, &dc, &f2.d));
    rec_attach(&r, f.w);
    b = mfx_buffer(&f, 64, NULL);
    b2 = mfx_buffer(&f2, 64, NULL);
    j = mfx_kernel(b, 3, 100);
    j2 = mfx_kernel(b2, 3, 100);
    j.kernel.waves = j2.kernel.waves = 4;
    ASSERT_OK(gpusim_driver_submit(f.d, &j, call_cb, &c));
    ASSERT_OK(gpusim_driver_submit(f2.d, &j2, call_cb, &c2));
    ASSERT_OK(mfx_wait(&f, &c));
    ASSERT_OK(mfx_wait(&f, &c2));
    ASSERT_OK(gpusim_world_run(f.w));
    for (int k = 0; k < 2; k++) {
        const mfx *fx = k ? &f2 : &f;
        gpusim_driver_info_t i = mfx_info(fx);
        uint64_t faults = 0;
        gpusim_time_t longest = 0;
        const rspan *s;
        char dt[48];
        assert_true(i.fault_batches > 0);
        driver_track(fx, dt, sizeof dt);
        assert_int_equal(count(&r, dt, "fault batch"), i.fault_batches);
        for (size_t n = 0; (s = nth(&r, dt, "fault batch", n)) != NULL; n++) {
            assert_string_equal(s->arg_name, "faults");
            assert_true(s->arg > 0);
            faults += s->arg;
            longest = s->end - s->begin > longest ? s->end - s->begin : longest;
            /* the other driver's batch at the same moment: the two shared it */
            for (size_t m = 0; m < r.n; m++)
                mixed += strcmp(r.v[m].track, dt) && !strcmp(r.v[m].name, "fault batch") &&
                         r.v[m].begin == s->begin;
        }
        assert_int_equal(faults, i.faults);
        assert_true(longest >= MS); /* the replay is in the span */
    }
    assert_true(mixed > 0);
    rec_free(&r);
    mfx_free(&f);
}

/*
 * fence-reload: madvise(DONTNEED) over part of a buffer a running job uses evicts the queues; the
 * restore worker re-validates and resumes them. Spans: the eviction on the driver's track from the
 * invalidation to the queues' restore (as long as evicted_ns), the clean restore pass inside it
 * ending with it, the command processor's evict and restore of the context, and the invalidation
 * (blocked as long as the notifier says). Returns the spans (for the determinism test).
 */
static void reload_run(recorder *r)
{
    mfx f;
    gpusim_driver_config_t dc;
    gpusim_buffer_t *b;
    gpusim_job_desc_t j;
    gpusim_driver_info_t i;
    call job = {0}, ic = {0};
    uint64_t va;
    gpusim_time_t t_inv;
    uint64_t delay;
    const rspan *ev, *pass, *cpe, *cpr, *inv;
    char dt[48];
    gpusim_driver_config_init(&dc, GPUSIM_POLICY_FENCE_RELOAD);
    ASSERT_OK(gpusim_driver_config_get(&dc, "restore_delay", &delay));
    mfx_init(&f, 64 * MIB, GPUSIM_POLICY_FENCE_RELOAD, &dc);
    rec_attach(r, f.w);
    b = mfx_buffer(&f, 64, &va);
    j = mfx_kernel(b, 1000, 1000);
    job.w = ic.w = f.w;
    ASSERT_OK(gpusim_driver_submit(f.d, &j, call_cb, &job));
    ASSERT_OK(gpusim_world_run_until(f.w, gpusim_world_now(f.w) + 10 * MS));
    t_inv = gpusim_world_now(f.w);
    ASSERT_OK(
        gpusim_process_madvise(f.p, va + 8 * MPAGE, 8 * MPAGE, GPUSIM_MADV_DONTNEED, call_cb, &ic));
    ASSERT_OK(mfx_wait(&f, &job));
    ASSERT_OK(mfx_wait(&f, &ic));
    mfx_check(&f);
    i = mfx_info(&f);
    assert_int_equal(i.evictions, 1);
    assert_int_equal(i.restores, 1);
    assert_int_equal(i.restore_retries, 0);

    driver_track(&f, dt, sizeof dt);
    ev = one(r, dt, "evict");
    assert_int_equal(ev->begin, t_inv);
    assert_int_equal(ev->end - ev->begin, i.evicted_ns);
    pass = one(r, dt, "restore");
    assert_string_equal(pass->arg_name, "clean");
    assert_int_equal(pass->arg, 1);
    assert_true(pass->begin >= ev->begin + delay);
    assert_int_equal(pass->end, ev->end);

    cpe = one(r, "gpu0.cp", "evict ctx1");
    assert_int_equal(cpe->begin, t_inv);
    assert_string_equal(cpe->arg_name, "");
    cpr = one(r, "gpu0.cp", "restore ctx1");
    assert_true(cpr->begin >= cpe->end && cpr->begin >= pass->begin);
    assert_int_equal(cpr->end, ev->end);

    inv = one(r, "syscall", "invalidate clear");
    assert_int_equal(inv->begin, t_inv);
    assert_true(inv->end >= cpe->end); /* it waited for the eviction */
    assert_int_equal(inv->arg, stat(f.w, "notifier.blocked_ns.syscall").sum);
    one(r, "gpu0.compute", "kernel ctx1");
    mfx_free(&f);
}

static void test_fence_reload_evict_restore(void **state)
{
    recorder r;
    (void)state;
    reload_run(&r);
    rec_free(&r);
}

/* fence-reload: a second invalidation of the buffer while the first restore pass validates it
 * makes that pass collide: it is reported not clean, and the next one, clean, resumes the queues
 * and ends the eviction. */
static void test_fence_reload_retry(void **state)
{
    mfx f;
    recorder r;
    gpusim_buffer_t *b;
    gpusim_job_desc_t j;
    gpusim_driver_info_t i;
    call job = {0}, ic = {0}, ic2 = {0};
    uint64_t va, delay;
    gpusim_time_t t_inv;
    const rspan *ev, *p1, *p2;
    char dt[48];
    gpusim_driver_config_t dc;
    (void)state;
    gpusim_driver_config_init(&dc, GPUSIM_POLICY_FENCE_RELOAD);
    ASSERT_OK(gpusim_driver_config_get(&dc, "restore_delay", &delay));
    mfx_init(&f, 64 * MIB, GPUSIM_POLICY_FENCE_RELOAD, &dc);
    rec_attach(&r, f.w);
    b = mfx_buffer(&f, 64, &va);
    j = mfx_kernel(b, 1000, 1000);
    ASSERT_OK(gpusim_driver_submit(f.d, &j, call_cb, &job));
    ASSERT_OK(gpusim_world_run_until(f.w, gpusim_world_now(f.w) + 10 * MS));
    t_inv = gpusim_world_now(f.w);
    ASSERT_OK(gpusim_process_madvise(f.p, va, 8 * MPAGE, GPUSIM_MADV_DONTNEED, call_cb, &ic));
    /* The restore worker starts its pass at t_inv + restore_delay; invalidate right after. */
    ASSERT_OK(gpusim_world_run_until(f.w, t_inv + delay));
    ASSERT_OK(gpusim_process_madvise(f.p, va + 8 * MPAGE, 8 * MPAGE, GPUSIM_MADV_DONTNEED, call_cb,
                                     &ic2));
    ASSERT_OK(mfx_wait(&f, &job));
    ASSERT_OK(mfx_wait(&f, &ic));
    ASSERT_OK(mfx_wait(&f, &ic2));
    mfx_check(&f);
    i = mfx_info(&f);
    assert_int_equal(i.evictions, 1);
    assert_int_equal(i.restores, 1);
    assert_int_equal(i.restore_retries, 1);
    driver_track(&f, dt, sizeof dt);
    ev = one(&r, dt, "evict");
    assert_int_equal(count(&r, dt, "restore"), 2);
    p1 = nth(&r, dt, "restore", 0);
    p2 = nth(&r, dt, "restore", 1);
    assert_int_equal(p1->begin, t_inv + delay);
    assert_string_equal(p1->arg_name, "clean");
    assert_int_equal(p1->arg, 0);
    assert_true(p2->begin >= p1->end + delay);
    assert_int_equal(p2->arg, 1);
    assert_int_equal(p2->end, ev->end);
    assert_int_equal(ev->end - ev->begin, i.evicted_ns);
    rec_free(&r);
    mfx_free(&f);
}

/* The same world and inputs report the same spans in the same order. */
static void test_deterministic(void **state)
{
    recorder a, b;
    (void)state;
    reload_run(&a);
    reload_run(&b);
    assert_true(a.n > 5);
    assert_int_equal(a.n, b.n);
    for (size_t k = 0; k < a.n; k++) {
        assert_string_equal(a.v[k].track, b.v[k].track);
        assert_string_equal(a.v[k].name, b.v[k].name);
        assert_string_equal(a.v[k].arg_name, b.v[k].arg_name);
        assert_int_equal(a.v[k].begin, b.v[k].begin);
        assert_int_equal(a.v[k].end, b.v[k].end);
        assert_int_equal(a.v[k].arg, b.v[k].arg);
    }
    rec_free(&a);
    rec_free(&b);
}

/* A copy job on the DMA engine reports its bytes; a preemption that times out resets the device:
 * the reset (an instant, with the contexts it killed) and the failed eviction are reported. */
static void test_copy_and_reset(void **state)
{
    mfx f;
    recorder r;
    gpusim_gpu_config_t gc;
    gpusim_buffer_t *b1, *b2;
    gpusim_job_desc_t j;
    call c = {0}, job = {0}, um = {0};
    uint64_t va1, va2;
    const rspan *s, *reset;
    (void)state;
    gpusim_gpu_config_init(&gc);
    ASSERT_OK(gpusim_gpu_config_set(&gc, "queue_preempt_timeout", "10us", true, NULL, 0));
    mfx_init_gpu(&f, 64 * MIB, GPUSIM_POLICY_FENCE_RELOAD, NULL, &gc);
    rec_attach(&r, f.w);
    b1 = mfx_buffer(&f, 16, &va1);
    b2 = mfx_buffer(&f, 16, &va2);
    memset(&j, 0, sizeof j);
    j.kind = GPUSIM_JOB_COPY;
    j.copy_src = va1;
    j.copy_dst = va2;
    j.copy_bytes = 16 * MPAGE;
    j.buffers[0] = b1;
    j.buffers[1] = b2;
    j.nbuffers = 2;
    ASSERT_OK(gpusim_driver_submit(f.d, &j, call_cb, &c));
    ASSERT_OK(mfx_wait(&f, &c));
    s = one(&r, "gpu0.dma", "copy ctx1");
    assert_string_equal(s->arg_name, "bytes");
    assert_int_equal(s->arg, 16 * MPAGE);
    assert_true(s->end > s->begin);

    j = mfx_kernel(b1, 1000, 1000);
    job.w = um.w = f.w;
    ASSERT_OK(gpusim_driver_submit(f.d, &j, call_cb, &job));
    ASSERT_OK(gpusim_world_run_until(f.w, gpusim_world_now(f.w) + 10 * MS));
    ASSERT_OK(gpusim_process_munmap(f.p, va1, 16 * MPAGE, call_cb, &um));
    (void)mfx_wait(&f, &job);
    ASSERT_OK(mfx_wait(&f, &um));
    assert_int_equal(job.status, GPUSIM_ECTXKILLED);
    reset = one(&r, "gpu0.cp", "reset");
    assert_int_equal(reset->begin, reset->end);
    assert_string_equal(reset->arg_name, "contexts");
    assert_int_equal(reset->arg, 1);
    s = one(&r, "gpu0.cp", "evict ctx1");
    assert_string_equal(s->arg_name, "error");
    assert_int_equal(s->arg, (uint64_t)(-(int64_t)GPUSIM_ETIMEDOUT));
    assert_int_equal(s->end, reset->end);
    s = one(&r, "gpu0.compute", "kernel ctx1");
    assert_string_equal(s->arg_name, "error");
    assert_int_equal(s->arg, (uint64_t)(-(int64_t)GPUSIM_ECTXKILLED));
    rec_free(&r);
    mfx_free(&f);
}

/* ---- the notifier alone ---------------------------------------------------------------------- */

static gpusim_completion_t seven_us;

/* Refuses non-blockable ranges; makes blockable ones wait 7 us. */
static gpusim_notifier_answer_t slow_sub(gpusim_notifier_sub_t *sub,
                                         const gpusim_notifier_range_t *rg, uint64_t cur_seq,
                                         gpusim_completion_t **wait_on)
{
    gpusim_world_t *w = gpusim_notifier_sub_data(sub);
    gpusim_notifier_set_seq(sub, cur_seq);
    if (!rg->blockable)
        return GPUSIM_NOTIFIER_WOULD_BLOCK;
    gpusim_completion_init(&seven_us, NULL);
    ASSERT_OK(gpusim_completion_signal_at(w, &seven_us, gpusim_world_now(w) + 7000));
    *wait_on = &seven_us;
    return GPUSIM_NOTIFIER_WAIT;
}

static void end_inv(gpusim_world_t *w, gpusim_invalidation_t *inv, int status)
{
    (void)w;
    ASSERT_OK(status);
    ASSERT_OK(gpusim_notifier_invalidate_end(inv));
}

/* Through the public notifier API (invalidator OTHER): a refused non-blockable invalidation is
 * reported as refused, at once; a blockable one from its start to its end with the 7 us the
 * subscriber made it wait; one that overlaps no subscription is not reported. */
static void test_notifier_spans(void **state)
{
    gpusim_world_t *w = test_world(1);
    gpusim_notifier_t *n;
    gpusim_notifier_sub_t *sub;
    gpusim_invalidation_t inv;
    gpusim_notifier_range_t rg = {0x10000, 0x20000, GPUSIM_NOTIFY_UNMAP, GPUSIM_INVALIDATOR_OTHER,
                                  false,   NULL};
    recorder r;
    const rspan *s;
    (void)state;
    ASSERT_OK(gpusim_notifier_new(w, &n));
    ASSERT_OK(gpusim_notifier_insert(n, 0x10000, 0x10000, slow_sub, w, &sub));
    rec_attach(&r, w);
    ASSERT_OK(gpusim_world_run_until(w, 1000));
    gpusim_invalidation_init(&inv);
    ASSERT_ERR(gpusim_notifier_invalidate_start(n, &inv, &rg, end_inv, NULL), GPUSIM_EWOULDBLOCK);
    s = one(&r, "other", "invalidate unmap refused");
    assert_int_equal(s->begin, 1000);
    assert_int_equal(s->end, 1000);
    assert_string_equal(s->arg_name, "blocked_ns");
    assert_int_equal(s->arg, 0);

    rg.blockable = true;
    rg.event = GPUSIM_NOTIFY_CLEAR;
    ASSERT_ERR(gpusim_notifier_invalidate_start(n, &inv, &rg, end_inv, NULL), GPUSIM_EINPROGRESS);
    ASSERT_OK(gpusim_world_run(w));
    s = one(&r, "other", "invalidate clear");
    assert_int_equal(s->begin, 1000);
    assert_int_equal(s->end, 8000);
    assert_int_equal(s->arg, 7000);

    rg.start = 0x40000; /* nobody there */
    rg.end = 0x50000;
    ASSERT_OK(gpusim_notifier_invalidate_start(n, &inv, &rg, end_inv, NULL));
    ASSERT_OK(gpusim_notifier_invalidate_end(&inv));
    assert_int_equal(r.n, 2);
    gpusim_world_free(w);
    rec_free(&r);
    ASSERT_NO_LEAK();
}

/* ---- host actors ----------------------------------------------------------------------------- */

/* A subscription that holds the address space's RELEASE for ever (a device that never stops), so
 * that the OOM victim's exit cannot free its memory and the reaper has work. */
static gpusim_completion_t never;

static gpusim_notifier_answer_t hold_release(gpusim_notifier_sub_t *sub,
                                             const gpusim_notifier_range_t *rg, uint64_t cur_seq,
                                             gpusim_completion_t **wait_on)
{
    gpusim_notifier_set_seq(sub, cur_seq);
    if (rg->event != GPUSIM_NOTIFY_RELEASE)
        return GPUSIM_NOTIFIER_DONE;
    *wait_on = &never;
    return GPUSIM_NOTIFIER_WAIT;
}

static gpusim_process_t *new_proc(gpusim_host_t *h, const char *name, bool unkillable)
{
    gpusim_process_config_t pc;
    gpusim_process_t *p;
    gpusim_process_config_init(&pc);
    pc.name = name;
    pc.oom_unkillable = unkillable;
    ASSERT_OK(gpusim_process_new(h, &pc, &p));
    return p;
}

/* Maps and writes `pages` pages in p; runs the world until that is done; returns the status. */
static int fill(gpusim_world_t *w, gpusim_process_t *p, uint64_t pages, uint64_t *addr)
{
    call m = {0}, c = {0};
    ASSERT_OK(gpusim_process_mmap(p, 0, pages * PAGE, GPUSIM_PROT_READ | GPUSIM_PROT_WRITE,
                                  GPUSIM_MAP_PRIVATE, NULL, 0, call_cb, &m));
    ASSERT_OK(gpusim_world_run(w));
    ASSERT_OK(m.status);
    if (addr)
        *addr = m.result;
    ASSERT_OK(
        gpusim_process_access(p, m.result, pages * PAGE, GPUSIM_ACCESS_WRITE, NULL, call_cb, &c));
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(c.done, 1);
    return c.status;
}

/*
 * Memory pressure without swap: kswapd wakes (and finds nothing it can reclaim), the allocating
 * process stalls in direct reclaim, the OOM killer kills the largest killable process, whose exit
 * is held by a subscription, so the reaper zaps its memory (an instant; its UNMAP reached the
 * subscription). Durations and arguments match the host's statistics.
 */
static void test_host_pressure(void **state)
{
    gpusim_world_t *w = test_world(1);
    gpusim_host_config_t hc;
    gpusim_host_t *h;
    gpusim_process_t *v, *x;
    gpusim_notifier_sub_t *sub;
    recorder r;
    uint64_t va, n = 1024, stall = 0;
    const rspan *s;
    (void)state;
    gpusim_host_config_init(&hc);
    hc.ram_bytes = 32 * MIB;
    hc.swap_bytes = 0;
    hc.thp = GPUSIM_THP_NEVER;
    hc.khugepaged = false;
    ASSERT_OK(gpusim_host_new(w, &hc, &h));
    gpusim_completion_init(&never, NULL);
    rec_attach(&r, w);
    v = new_proc(h, "victim", false);
    x = new_proc(h, "hog", true);
    ASSERT_OK(fill(w, v, n, &va));
    ASSERT_OK(
        gpusim_notifier_insert(gpusim_process_notifier(v), va, n * PAGE, hold_release, NULL, &sub));
    ASSERT_OK(fill(w, x, 32 * MIB / PAGE - n + 256, NULL)); /* more than is left */
    host_check_ok(h);

    s = one(&r, "oom_killer", "oom kill victim");
    assert_string_equal(s->arg_name, "pages");
    assert_int_equal(s->arg, n);
    assert_int_equal(s->begin, s->end);
    s = one(&r, "oom_reaper", "reap victim");
    assert_int_equal(s->begin, s->end);
    assert_int_equal(s->arg, n);
    assert_int_equal(s->arg, stat(w, "host.oom.reaped_pages").count);
    s = one(&r, "oom_reaper", "invalidate unmap");
    assert_int_equal(s->arg, 0);                                  /* non-blockable: never blocked */
    assert_int_equal(count(&r, "exit", "invalidate release"), 0); /* held: never ended */

    assert_true(count(&r, "direct_reclaim", "direct reclaim hog") >= 1);
    for (size_t k = 0; (s = nth(&r, "direct_reclaim", "direct reclaim hog", k)) != NULL; k++) {
        assert_string_equal(s->arg_name, "stall_ns");
        /* From the stalling step: earlier than the operation's own clock by the work it had
         * charged then (less than a quantum of it). */
        assert_true(s->end - s->begin >= s->arg);
        assert_true(s->end - s->begin - s->arg < MS);
        stall += s->arg;
    }
    assert_true(stall > 0);
    assert_int_equal(stall, stat(w, "host.direct_reclaim.stall_ns").sum);
    assert_true(count(&r, "kswapd", "reclaim node0") >= 1);
    assert_int_equal(on_track(&r, "kswapd"), count(&r, "kswapd", "reclaim node0"));
    gpusim_world_free(w);
    rec_free(&r);
    ASSERT_NO_LEAK();
}

/* With swap, kswapd reclaims: its runs report the pages they reclaimed, which are part of the
 * host's reclaimed pages (direct reclaim makes up the rest). */
static void test_kswapd_reclaims(void **state)
{
    gpusim_world_t *w = test_world(1);
    gpusim_host_config_t hc;
    gpusim_host_t *h;
    gpusim_process_t *p;
    recorder r;
    uint64_t reclaimed = 0;
    gpusim_time_t last_end = 0;
    const rspan *s;
    (void)state;
    gpusim_host_config_init(&hc);
    hc.ram_bytes = 32 * MIB;
    hc.swap_bytes = 32 * MIB;
    hc.thp = GPUSIM_THP_NEVER;
    hc.khugepaged = false;
    ASSERT_OK(gpusim_host_new(w, &hc, &h));
    rec_attach(&r, w);
    p = new_proc(h, "app", false);
    ASSERT_OK(fill(w, p, 40 * MIB / PAGE, NULL));
    host_check_ok(h);
    assert_true(count(&r, "kswapd", "reclaim node0") >= 1);
    for (size_t k = 0; (s = nth(&r, "kswapd", "reclaim node0", k)) != NULL; k++) {
        assert_string_equal(s->arg_name, "reclaimed");
        assert_true(s->begin > last_end); /* runs, wake-up to sleep, one after another */
        last_end = s->end;
        reclaimed += s->arg;
    }
    assert_true(reclaimed > 0);
    assert_true(reclaimed <= stat(w, "host.reclaim.reclaimed").count);
    gpusim_world_free(w);
    rec_free(&r);
    ASSERT_NO_LEAK();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        GPUSIM_TEST(test_set_and_remove),     GPUSIM_TEST(test_fence_wait_munmap),
        GPUSIM_TEST(test_refault_batches),    GPUSIM_TEST(test_fence_reload_evict_restore),
        GPUSIM_TEST(test_fence_reload_retry), GPUSIM_TEST(test_deterministic),
        GPUSIM_TEST(test_copy_and_reset),     GPUSIM_TEST(test_notifier_spans),
        GPUSIM_TEST(test_host_pressure),      GPUSIM_TEST(test_kswapd_reclaims),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
