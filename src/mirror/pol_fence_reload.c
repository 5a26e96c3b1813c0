/*
 * mirror/pol_fence_reload.c -- the policy `fence-reload`: amdkfd's userptr evict and restore
 * (amdgpu_amdkfd_evict_userptr, restore_userptr_work; kfd_svm with XNACK off;
 * linux-semantics.md §5): "globally stop the GPU, fence the DMA, fix the page tables, start it up
 * again".
 *
 *   registration   an interval notifier over the buffer
 *   submission     as fence-wait, but only while the process's queues run: a submission made
 *                  while they are evicted waits for the restore (§10.7)
 *   invalidation   refuse a non-blockable range; otherwise mark the buffer invalid; on the first
 *                  eviction preempt every queue of the process (gpusim_gpu_ctx_evict) and wait
 *                  for that only -- not for the jobs -- then zap and invalidate the TLBs; schedule
 *                  the restore worker restore_delay (1 ms) later
 *   restore        re-validate every invalid buffer, then under the lock confirm that no
 *                  sequence moved: if one did, reschedule (the queues stay quiesced until one
 *                  clean pass, §10.5); else map, and resume the queues (gpusim_gpu_ctx_restore)
 *   GPU fault      not expected: the context is killed
 *
 * States: RUNNING -> EVICTING (preemption in flight) -> EVICTED -> RESTORING (resume in flight)
 * -> RUNNING. An invalidation during RESTORING cannot stop a resume half-way: it waits, and the
 * eviction starts again the moment the resume completes. A preemption that times out resets the
 * device (the GPU model's escalation); its contexts are dead, so the invalidation proceeds. With
 * `preempt` off (a device or kernel that cannot preempt), an invalidation degrades to waiting for
 * every job of the process, as fence-wait does for the buffer's jobs.
 *
 * Trace (core/trace.h), on the driver's track: "evict", from the eviction to the queues' restore
 * (the interval evicted_ns counts), and "restore" for each pass, clean or not.
 */
#include "mirror/mirror.h"
#include "core/alloc.h"
#include "core/trace.h"

enum { RUNNING, EVICTING, EVICTED, RESTORING };

typedef struct reload_state {
    int state;
    bool again; /* an invalidation came during RESTORING: evict when it completes */
    gpusim__validation v;
    uint64_t *hmm; /* [hmm_n] */
    uint64_t hmm_n;
    gpusim_time_t cost;
    gpusim_time_t pass_start; /* when the restore pass in progress began (its trace span) */
    gpusim_event_t resume_ev; /* after the pass's PTE writes */
} reload_state;

static void worker(gpusim_world_t *w, gpusim_event_t *ev);
static void resume(gpusim_world_t *w, gpusim_event_t *ev);

static reload_state *state(gpusim_driver_t *d)
{
    if (!d->pol) {
        reload_state *st = gpusim__arena_zalloc(&d->world->arena, sizeof *st);
        if (!st)
            return NULL;
        gpusim_waiter_init(&st->v.waiter);
        gpusim_event_init(&st->resume_ev, resume, d);
        d->pol = st;
        gpusim_event_init(&d->restore_ev, worker, d);
    }
    return d->pol;
}

static void schedule_worker(gpusim_driver_t *d)
{
    if (!gpusim_event_pending(&d->restore_ev))
        (void)gpusim_event_schedule(d->world, &d->restore_ev,
                                    drv_now(d) + d->p[GPUSIM__DP_restore_delay]);
}

static void evicted(void *data, int status)
{
    gpusim_driver_t *d = data;
    reload_state *st = d->pol;
    (void)status; /* 0, or the context is dead (a reset, a kill): either way the GPU has stopped */
    d->evict_busy = false;
    st->state = EVICTED;
    d->evict_done = true;
    gpusim__waits_poke(d);
}

static int start_eviction(gpusim_driver_t *d, reload_state *st)
{
    int rc = gpusim_gpu_ctx_evict(d->ctx, evicted, d);
    if (rc == 0) {
        d->evict_busy = true;
        st->state = EVICTING;
        d->evict_done = false;
    } else if (rc == GPUSIM_ECTXKILLED) {
        st->state = EVICTED;
        d->evict_done = true;
    } else {
        return rc;
    }
    d->evicted_since = drv_now(d);
    gpusim__stat_add(d->st.evictions, 1);
    schedule_worker(d);
    return 0;
}

static gpusim_notifier_answer_t fr_invalidate(gpusim_buffer_t *b, const gpusim_notifier_range_t *r,
                                              gpusim_completion_t **wait_on)
{
    gpusim_driver_t *d = b->drv;
    reload_state *st;
    if (!r->blockable)
        return GPUSIM_NOTIFIER_WOULD_BLOCK;
    b->invalid = true;
    st = state(d);
    if (!d->p[GPUSIM__DP_preempt] || !st)
        return gpusim__wait_then_zap(d, WAIT_SEQ, d->next_seq, b, r->start, r->end, r->invalidator,
                                     wait_on);
    switch (st->state) {
    case RUNNING:
        if (start_eviction(d, st) != 0)
            return gpusim__wait_then_zap(d, WAIT_SEQ, d->next_seq, b, r->start, r->end,
                                         r->invalidator, wait_on);
        break;
    case RESTORING:
        st->again = true;
        d->evict_done = false;
        break;
    default:
        break;
    }
    return gpusim__wait_then_zap(d, WAIT_EVICTED, 0, b, r->start, r->end, r->invalidator, wait_on);
}

static bool fr_gate(gpusim_driver_t *d)
{
    const reload_state *st = d->pol;
    return st && st->state != RUNNING;
}

/* ---- the restore worker --------------------------------------------------------------------- */

static void restored(void *data, int status)
{
    gpusim_driver_t *d = data;
    reload_state *st = d->pol;
    /* The pass that resumed the queues, and the whole eviction, end here. */
    GPUSIM_TRACE(d->world, d->track, st->pass_start, drv_now(d), status ? "error" : "clean",
                 status ? (uint64_t)(-(int64_t)status) : 1, "restore");
    GPUSIM_TRACE(d->world, d->track, d->evicted_since, drv_now(d), NULL, 0, "evict");
    d->evict_busy = false;
    st->state = RUNNING;
    gpusim__stat_add(d->st.evicted_ns, drv_now(d) - d->evicted_since);
    gpusim__stat_add(d->st.gpu_stall_ns, drv_now(d) - d->evicted_since);
    if (status == 0)
        gpusim__stat_add(d->st.restores, 1);
    if (st->again || status) {
        st->again = false;
        if (status || start_eviction(d, st) != 0) {
            /* Dead context (or no eviction possible): nothing runs; let waiters go. */
            d->evict_done = true;
            st->state = status ? EVICTED : RUNNING;
        }
        gpusim__waits_poke(d);
        if (st->state != RUNNING)
            return;
    }
    gpusim__drv_kick(d);
}

/* The restore pass in progress was not clean: it ends, and another is scheduled. */
static void reschedule(gpusim_driver_t *d)
{
    const reload_state *st = d->pol;
    GPUSIM_TRACE(d->world, d->track, st->pass_start, drv_now(d), "clean", 0, "restore");
    gpusim__stat_add(d->st.restore_retries, 1);
    schedule_worker(d);
}

static void resume(gpusim_world_t *w, gpusim_event_t *ev)
{
    gpusim_driver_t *d = ev->data;
    reload_state *st = d->pol;
    (void)w;
    /* An invalidation during the PTE writes re-invalidated a buffer: not a clean pass. */
    for (gpusim_buffer_t *b = d->buf_head; b; b = b->next)
        if (b->invalid) {
            reschedule(d);
            return;
        }
    if (gpusim_gpu_ctx_error(d->ctx))
        return;
    if (gpusim_gpu_ctx_restore(d->ctx, restored, d) == 0) {
        d->evict_busy = true;
        st->state = RESTORING;
    } else {
        reschedule(d);
    }
}

static void pass_next(gpusim_driver_t *d);

static void pass_validated(gpusim__validation *v, int status)
{
    gpusim_driver_t *d = v->drv;
    reload_state *st = d->pol;
    if (status == GPUSIM_EFAULT || status == GPUSIM_ESRCH || status == GPUSIM_EPERM) {
        /* The memory is gone (unmapped, the process exited) or no longer accessible. amdkfd
         * treats this as success rather than "hanging indefinitely with stalled user mode
         * queues": the buffer stays unmapped, and a GPU access to it faults (and, not being
         * expected, kills the context). */
        v->buf->invalid = false;
        pass_next(d);
        return;
    }
    if (status) {
        reschedule(d); /* out of memory, or collisions for too long: try again later */
        return;
    }
    /* The lock: confirm_valid_user_pages_locked. */
    if (gpusim__validation_collided(v)) {
        reschedule(d);
        return;
    }
    (void)gpusim__map_hmm(v->buf, v->start, v->npages, st->hmm, &st->cost);
    v->buf->invalid = false;
    pass_next(d);
}

static void pass_next(gpusim_driver_t *d)
{
    reload_state *st = d->pol;
    gpusim_buffer_t *b;
    int rc;
    for (b = d->buf_head; b && !(b->invalid && b->state != B_UNREGISTERING); b = b->next)
        ;
    if (!b) {
        if (gpusim_event_schedule(d->world, &st->resume_ev, drv_now(d) + st->cost) != 0)
            resume(d->world, &st->resume_ev);
        return;
    }
    if (st->hmm_n < b->npages) {
        uint64_t *h = gpusim__arena_alloc(&d->world->arena, b->npages * sizeof *h);
        if (!h) {
            reschedule(d);
            return;
        }
        if (st->hmm)
            gpusim__arena_free(&d->world->arena, st->hmm, st->hmm_n * sizeof *h);
        st->hmm = h;
        st->hmm_n = b->npages;
    }
    st->v.drv = d;
    st->v.buf = b;
    st->v.start = b->va;
    st->v.npages = b->npages;
    st->v.write = (b->flags & GPUSIM_BUFFER_WRITE) != 0;
    st->v.hmm = st->hmm;
    st->v.t0 = 0;
    st->v.done = pass_validated;
    rc = gpusim__validate(&st->v);
    if (rc)
        pass_validated(&st->v, rc); /* refused at once (the process is gone): as if it came back */
}

static void worker(gpusim_world_t *w, gpusim_event_t *ev)
{
    gpusim_driver_t *d = ev->data;
    reload_state *st = d->pol;
    (void)w;
    if (gpusim_gpu_ctx_error(d->ctx))
        return; /* dead: nothing to restore */
    if (st->state == EVICTING) {
        schedule_worker(d); /* the preemption has not completed yet */
        return;
    }
    if (st->state != EVICTED)
        return;
    st->cost = 0;
    st->pass_start = drv_now(d);
    pass_next(d);
}

static void fr_destroy(gpusim_driver_t *d)
{
    reload_state *st = d->pol;
    if (!st)
        return;
    (void)gpusim_event_cancel(d->world, &st->resume_ev);
    if (gpusim_waiter_waiting(&st->v.waiter))
        (void)gpusim_waiter_cancel(d->world, &st->v.waiter);
    if (st->hmm)
        gpusim__arena_free(&d->world->arena, st->hmm, st->hmm_n * sizeof(uint64_t));
    gpusim__arena_free(&d->world->arena, st, sizeof *st);
    d->pol = NULL;
}

const gpusim__policy_ops gpusim__pol_fence_reload = {
    .subscribes = true,
    .prepare = gpusim__job_validate,
    .gate = fr_gate,
    .invalidate = fr_invalidate,
    .destroy = fr_destroy,
};
