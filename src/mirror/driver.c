/*
 * mirror/driver.c -- driver instances (gpusim/mirror.h): creation and teardown, buffer
 * registration, and the submission pipeline every policy shares.
 *
 * A job goes through three lists (mirror/mirror.h): pending (FIFO) -> preparing (one at a time:
 * the policy pins or validates its buffers, asynchronously) -> running (its DISPATCH or COPY and a
 * FENCE_SIGNAL of the driver's timeline fence with value `seq` are in the ring; a host waiter on
 * the fence ends it). Preparation is serialised because a real driver's command submission holds
 * the process's submission lock across it, and because fence values must enter the ring in order.
 * The policy's commit (read_retry, map, write) happens in one event: that event is "the driver
 * lock". The doorbell follows after the driver's time (PTE writes, TLB invalidations) so that the
 * work is visible to invalidations -- which then wait for it -- before the GPU starts it.
 * A job's preparation, from its start to the doorbell (or to its failure), is reported on the
 * driver's trace track "driver:<name>" (core/trace.h).
 */
#include <stdio.h>
#include <string.h>

#include "mirror/mirror.h"
#include "core/alloc.h"
#include "core/trace.h"

static const gpusim__policy_ops *const policy_ops[GPUSIM_POLICY_COUNT] = {
    [GPUSIM_POLICY_NONE] = &gpusim__pol_none,
    [GPUSIM_POLICY_PIN] = &gpusim__pol_pin,
    [GPUSIM_POLICY_PIN_PERSISTENT] = &gpusim__pol_pin_persistent,
    [GPUSIM_POLICY_FENCE_WAIT] = &gpusim__pol_fence_wait,
    [GPUSIM_POLICY_FENCE_RELOAD] = &gpusim__pol_fence_reload,
    [GPUSIM_POLICY_REFAULT] = &gpusim__pol_refault,
};

/* Ring bytes of one job: its DISPATCH (the longer of DISPATCH and COPY) and its FENCE_SIGNAL. */
#define JOB_BYTES (GPUSIM_PKT_DISPATCH_BYTES + GPUSIM_PKT_FENCE_BYTES)
_Static_assert(GPUSIM_PKT_COPY_BYTES <= GPUSIM_PKT_DISPATCH_BYTES, "a job fits JOB_BYTES");

static gpusim__arena *arena(const gpusim_driver_t *d)
{
    return &d->world->arena;
}

/* ---- statistics ----------------------------------------------------------------------------- */

static int register_stats(gpusim_driver_t *d)
{
    char prefix[48];
#define C(name, field)                                                                             \
    {                                                                                              \
        name, GPUSIM_STAT_COUNTER, "", offsetof(gpusim__driver_stats, field)                       \
    }
#define T(name, field)                                                                             \
    {                                                                                              \
        name, GPUSIM_STAT_COUNTER, "ns", offsetof(gpusim__driver_stats, field)                     \
    }
    static const gpusim__stat_def defs[] = {
        C("jobs.submitted", jobs_submitted),
        C("jobs.completed", jobs_completed),
        C("jobs.failed", jobs_failed),
        C("pin.pinned", pins),
        C("pin.unpinned", unpins),
        {"pin.pages", GPUSIM_STAT_GAUGE, "", offsetof(gpusim__driver_stats, pinned_pages)},
        C("validate.pages", pages_validated),
        C("validate.retries", retries),
        C("map.pages", pages_mapped),
        C("fault.served", faults),
        C("fault.batches", fault_batches),
        C("fault.dropped_stale", faults_dropped),
        C("fault.cancelled", faults_cancelled),
        C("notifier.invalidations", invalidations),
        C("notifier.refusals", refusals),
        C("evict.evictions", evictions),
        C("evict.restores", restores),
        C("evict.restore_retries", restore_retries),
        T("stall.submit_wait_ns", submit_wait_ns),
        T("stall.evicted_ns", evicted_ns),
        T("stall.fault_ns", fault_stall_ns),
        T("stall.gpu_ns", gpu_stall_ns),
#define B(NAME, name) T("blocked_ns." #name, blocked[GPUSIM_INVALIDATOR_##NAME]),
        GPUSIM_INVALIDATOR_MAP(B)
#undef B
            C("check.accesses", checked),
        C("check.use_after_free", uaf),
        C("check.stale", stale),
        C("check.data_mismatch", data_mismatch),
    };
#undef C
#undef T
    snprintf(prefix, sizeof prefix, "mirror.%s", d->name);
    return gpusim__stats_register_prefixed(d->world, prefix, defs, GPUSIM_ARRAY_SIZE(defs), &d->st);
}

void gpusim__drv_pinned(gpusim_driver_t *d, int64_t pages)
{
    d->pinned_pages = (uint64_t)((int64_t)d->pinned_pages + pages);
    gpusim__stat_set(d->st.pinned_pages, (int64_t)d->pinned_pages);
    gpusim__stat_add(pages > 0 ? d->st.pins : d->st.unpins, (uint64_t)(pages > 0 ? pages : -pages));
}

/* ---- creation and teardown ------------------------------------------------------------------ */

static void release(gpusim_driver_t *d, bool teardown);

static void kick_event(gpusim_world_t *w, gpusim_event_t *ev)
{
    (void)w;
    gpusim__drv_kick(ev->data);
}

static void destroy(gpusim_world_t *w, gpusim__owned *o)
{
    (void)w;
    release((gpusim_driver_t *)o, true); /* `owned` is the first member */
}

int gpusim_driver_new(gpusim_gpu_t *gpu, gpusim_process_t *p, const gpusim_driver_config_t *cfg,
                      gpusim_driver_t **out)
{
    gpusim_world_t *w;
    gpusim_driver_t *d;
    gpusim_process_info_t pi;
    gpusim_stat_info_t si;
    char stat[96];
    int rc;
    if (!gpu || !p || !cfg || !out || (unsigned)cfg->policy >= GPUSIM_POLICY_COUNT)
        return GPUSIM_EINVAL;
    if (cfg->name && !gpusim__stat_segment_ok(cfg->name, sizeof d->name - 1))
        return GPUSIM_EINVAL;
    for (size_t i = 0; i < GPUSIM__DP_COUNT; i++) {
        const gpusim__param_desc *pd = &gpusim__driver_param_desc[i];
        if (pd->unit == GPUSIM__PARAM_BOOL && cfg->params_[i] > 1)
            return GPUSIM_EINVAL;
    }
    if (cfg->params_[GPUSIM__DP_ring_bytes] < GPUSIM_PKT_RING_MIN ||
        cfg->params_[GPUSIM__DP_ring_bytes] > GPUSIM_PKT_RING_MAX ||
        (cfg->params_[GPUSIM__DP_ring_bytes] & (cfg->params_[GPUSIM__DP_ring_bytes] - 1)))
        return GPUSIM_EINVAL;
    if (cfg->params_[GPUSIM__DP_fault_granule] < GPUSIM__MPAGE ||
        (cfg->params_[GPUSIM__DP_fault_granule] & (cfg->params_[GPUSIM__DP_fault_granule] - 1)))
        return GPUSIM_EINVAL;
    if (gpusim_process_info(p, &pi) || pi.state != GPUSIM_PROCESS_LIVE)
        return GPUSIM_ESRCH;
    w = p->host->world;
    if (w != gpu->world)
        return GPUSIM_EINVAL;
    d = gpusim__arena_zalloc(&w->arena, sizeof *d);
    if (!d)
        return GPUSIM_ENOMEM;
    d->world = w;
    d->gpu = gpu;
    d->proc = p;
    d->host = p->host;
    d->policy = cfg->policy;
    d->ops = policy_ops[cfg->policy];
    memcpy(d->p, cfg->params_, sizeof d->p);
    gpusim__itree_init(&d->bufs);
    /*
     * The refusals that do not depend on memory come before the context is created: a context
     * takes an id for good (the default name of the next driver would change) and registers
     * statistics, so a refused call would not leave everything as it was. The default name uses
     * the id the context is about to get.
     */
    if (cfg->name)
        snprintf(d->name, sizeof d->name, "%s", cfg->name);
    else
        snprintf(d->name, sizeof d->name, "%.20s_%u", gpusim_gpu_name(gpu),
                 (unsigned)gpu->next_ctx_id);
    snprintf(d->track, sizeof d->track, "driver:%s", d->name);
    snprintf(stat, sizeof stat, "mirror.%s.jobs.submitted", d->name);
    rc = GPUSIM_EEXIST;
    if (gpusim_stats_get(w, stat, &si) == 0)
        goto fail;
    rc = GPUSIM_EBUSY; /* a fault handler that is not the drivers' (gpusim__mirror_dev_attach) */
    if (!gpu->mirror && (gpu->handler || gpu->access_hook))
        goto fail;
    rc = gpusim_gpu_ctx_new(gpu, d, &d->ctx);
    if (rc)
        goto fail;
    GPUSIM_ASSERT(cfg->name || gpusim_gpu_ctx_id(d->ctx) == gpu->next_ctx_id - 1);
    rc = gpusim_gpu_queue_new(d->ctx, (uint32_t)d->p[GPUSIM__DP_ring_bytes], &d->queue);
    if (rc)
        goto fail;
    rc = gpusim_gpu_fence_new(gpu, 0, &d->fence);
    if (rc)
        goto fail;
    rc = gpusim__mirror_dev_attach(d);
    if (rc)
        goto fail;
    rc = register_stats(d);
    if (rc) {
        gpusim__mirror_dev_detach(d);
        goto fail;
    }
    d->watch.changed = gpusim__check_changed;
    gpusim__notifier_watch_add(gpusim_process_notifier(p), &d->watch);
    gpusim_event_init(&d->restore_ev, NULL, d);
    gpusim_event_init(&d->kick_ev, kick_event, d);
    gpusim__world_own(w, &d->owned, destroy);
    *out = d;
    return 0;
fail:
    if (d->fence)
        (void)gpusim_gpu_fence_free(gpu, d->fence);
    gpusim_gpu_queue_free(d->queue);
    gpusim_gpu_ctx_free(d->ctx);
    gpusim__arena_free(&w->arena, d, sizeof *d);
    return rc;
}

static void job_free(gpusim__job *job)
{
    gpusim_driver_t *d = job->drv;
    for (unsigned i = 0; i < GPUSIM_JOB_MAX_BUFFERS; i++)
        if (job->pins[i]) {
            uint64_t n = job->desc.buffers[i]->npages;
            gpusim__arena_free(arena(d), job->pins[i], n * sizeof(uint64_t));
        }
    if (job->hmm)
        gpusim__arena_free(arena(d), job->hmm, job->hmm_n * sizeof(uint64_t));
    gpusim__arena_free(arena(d), job, sizeof *job);
}

static void buf_free_mem(gpusim_buffer_t *b)
{
    gpusim_driver_t *d = b->drv;
    gpusim__arena_free(arena(d), b->sh, b->npages * sizeof *b->sh);
    if (b->pins)
        gpusim__arena_free(arena(d), b->pins, b->npages * sizeof *b->pins);
    gpusim__arena_free(arena(d), b, sizeof *b);
}

static void buf_unlink(gpusim_buffer_t *b)
{
    gpusim_driver_t *d = b->drv;
    gpusim__itree_remove(&d->bufs, &b->node);
    if (b->prev)
        b->prev->next = b->next;
    else
        d->buf_head = b->next;
    if (b->next)
        b->next->prev = b->prev;
    else
        d->buf_tail = b->prev;
}

static void job_list_free(gpusim_driver_t *d, gpusim__job *j)
{
    while (j) {
        gpusim__job *next = j->next;
        (void)gpusim_event_cancel(d->world, &j->ev);
        (void)gpusim_gpu_fence_waiter_cancel(&j->fw);
        if (j->v.busy)
            (void)gpusim_waiter_cancel(d->world, &j->v.waiter);
        job_free(j);
        j = next;
    }
}

static void release(gpusim_driver_t *d, bool teardown)
{
    gpusim_notifier_t *n = gpusim_process_notifier(d->proc);
    if (d->ops->destroy)
        d->ops->destroy(d);
    (void)gpusim_event_cancel(d->world, &d->restore_ev);
    (void)gpusim_event_cancel(d->world, &d->kick_ev);
    job_list_free(d, d->pend_head);
    if (d->preparing)
        job_list_free(d, d->preparing);
    job_list_free(d, d->run_head);
    gpusim__waits_destroy(d);
    while (d->buf_head) {
        gpusim_buffer_t *b = d->buf_head;
        (void)gpusim_event_cancel(d->world, &b->ev);
        if (gpusim_waiter_waiting(&b->rm_waiter))
            (void)gpusim_waiter_cancel(d->world, &b->rm_waiter);
        if (!teardown) {
            if (d->ops->unreg && b->state != B_REGISTERING)
                d->ops->unreg(b);
            gpusim__zap(b, b->va, b->va + b->len, NULL);
            if (b->sub)
                (void)gpusim_notifier_remove(b->sub, NULL, NULL, NULL);
        }
        buf_unlink(b);
        buf_free_mem(b);
    }
    gpusim__notifier_watch_del(n, &d->watch);
    gpusim__mirror_dev_detach(d);
    (void)gpusim_gpu_fence_free(d->gpu, d->fence);
    gpusim_gpu_queue_free(d->queue);
    gpusim_gpu_ctx_free(d->ctx);
    gpusim__stat_set(d->st.pinned_pages, 0);
    if (!teardown)
        gpusim__world_disown(&d->owned);
    gpusim__arena_free(arena(d), d, sizeof *d);
}

int gpusim_driver_free(gpusim_driver_t *d)
{
    if (!d)
        return GPUSIM_EINVAL;
    if (d->host_ops > 0 || d->waits || d->evict_busy)
        return GPUSIM_EBUSY;
    for (gpusim_buffer_t *b = d->buf_head; b; b = b->next)
        if (b->sub && (gpusim_notifier_seq(gpusim_process_notifier(d->proc)) & 1))
            return GPUSIM_EBUSY;
    release(d, false);
    return 0;
}

gpusim_gpu_ctx_t *gpusim_driver_ctx(const gpusim_driver_t *d)
{
    return d ? d->ctx : NULL;
}

gpusim_policy_t gpusim_driver_policy(const gpusim_driver_t *d)
{
    return d ? d->policy : GPUSIM_POLICY_COUNT;
}

const char *gpusim_driver_name(const gpusim_driver_t *d)
{
    return d ? d->name : NULL;
}

/* ---- buffers -------------------------------------------------------------------------------- */

gpusim_buffer_t *gpusim__buf_find(const gpusim_driver_t *d, uint64_t va)
{
    gpusim__itree_node *n = gpusim__itree_first(&d->bufs, va, va);
    return n ? gpusim_container_of(n, gpusim_buffer_t, node) : NULL;
}

static void buf_event(gpusim_world_t *w, gpusim_event_t *ev)
{
    gpusim_buffer_t *b = ev->data;
    (void)w;
    if (b->state == B_UNREGISTERING) {
        gpusim_host_cb cb = b->cb;
        void *data = b->cbdata;
        buf_unlink(b);
        buf_free_mem(b);
        if (cb)
            cb(data, 0, 0);
        return;
    }
    b->state = b->status ? B_FAILED : B_ACTIVE;
    if (b->cb)
        b->cb(b->cbdata, b->status, 0);
}

/* Reports a registration (or an unregistration) from an event at the current time. */
static void buf_report(gpusim_buffer_t *b, int status)
{
    b->status = status;
    if (gpusim_event_schedule(b->drv->world, &b->ev, drv_now(b->drv)) != 0)
        buf_event(b->drv->world, &b->ev); /* no room in the queue: report in line */
}

void gpusim__buf_registered(gpusim_buffer_t *b, int status)
{
    buf_report(b, status);
}

static gpusim_notifier_answer_t buf_invalidate(gpusim_notifier_sub_t *sub,
                                               const gpusim_notifier_range_t *r, uint64_t cur_seq,
                                               gpusim_completion_t **wait_on)
{
    gpusim_buffer_t *b = gpusim_notifier_sub_data(sub);
    gpusim_driver_t *d = b->drv;
    gpusim_notifier_answer_t a;
    gpusim_notifier_set_seq(sub, cur_seq); /* always, and first (linux-semantics.md §1) */
    gpusim__stat_add(d->st.invalidations, 1);
    if (r->event == GPUSIM_NOTIFY_UNMAP || r->event == GPUSIM_NOTIFY_RELEASE)
        b->unmap_time = drv_now(d);
    a = d->ops->invalidate(b, r, wait_on);
    if (a == GPUSIM_NOTIFIER_WOULD_BLOCK)
        gpusim__stat_add(d->st.refusals, 1);
    return a;
}

int gpusim_driver_register(gpusim_driver_t *d, uint64_t va, uint64_t len, unsigned flags,
                           gpusim_buffer_t **out, gpusim_host_cb cb, void *data)
{
    gpusim_buffer_t *b;
    gpusim_process_info_t pi;
    int rc;
    if (!d || !out || len == 0 || (va | len) & (GPUSIM__MPAGE - 1) || va >= GPUSIM_GPU_VA_END ||
        len > GPUSIM_GPU_VA_END - va || (flags & ~GPUSIM_BUFFER_WRITE))
        return GPUSIM_EINVAL;
    if (gpusim_gpu_ctx_error(d->ctx))
        return GPUSIM_ECTXKILLED;
    if (gpusim_process_info(d->proc, &pi) || pi.state != GPUSIM_PROCESS_LIVE)
        return GPUSIM_ESRCH;
    if (gpusim__itree_first(&d->bufs, va, va + len - 1))
        return GPUSIM_EEXIST;
    b = gpusim__arena_zalloc(arena(d), sizeof *b);
    if (!b)
        return GPUSIM_ENOMEM;
    b->drv = d;
    b->va = va;
    b->len = len;
    b->npages = len / GPUSIM__MPAGE;
    b->flags = flags;
    b->sh = gpusim__arena_zalloc(arena(d), b->npages * sizeof *b->sh);
    if (!b->sh) {
        gpusim__arena_free(arena(d), b, sizeof *b);
        return GPUSIM_ENOMEM;
    }
    gpusim_event_init(&b->ev, buf_event, b);
    gpusim_waiter_init(&b->rm_waiter);
    if (d->ops->subscribes) {
        rc = gpusim_notifier_insert(gpusim_process_notifier(d->proc), va, len, buf_invalidate, b,
                                    &b->sub);
        if (rc) {
            buf_free_mem(b);
            return rc == GPUSIM_EDEADLK ? GPUSIM_EBUSY : rc;
        }
    }
    b->node.start = va;
    b->node.last = va + len - 1;
    b->node.order = ++d->buf_order;
    gpusim__itree_insert(&d->bufs, &b->node);
    b->prev = d->buf_tail;
    if (d->buf_tail)
        d->buf_tail->next = b;
    else
        d->buf_head = b;
    d->buf_tail = b;
    b->state = B_REGISTERING;
    b->cb = cb;
    b->cbdata = data;
    rc = d->ops->reg ? d->ops->reg(b) : 0;
    if (rc != GPUSIM_EINPROGRESS)
        buf_report(b, rc);
    *out = b;
    return 0;
}

static void buf_removed(gpusim_world_t *w, gpusim_waiter_t *waiter)
{
    gpusim_buffer_t *b = waiter->data;
    (void)w;
    b->sub = NULL;
    buf_report(b, 0);
}

/* The buffer has no user left: drop it (its callback reports from an event). */
static void buf_finish_unregister(gpusim_buffer_t *b)
{
    gpusim_driver_t *d = b->drv;
    if (d->ops->unreg)
        d->ops->unreg(b);
    gpusim__zap(b, b->va, b->va + b->len, NULL);
    if (b->sub) {
        int rc = gpusim_notifier_remove(b->sub, &b->rm_waiter, buf_removed, b);
        if (rc == GPUSIM_EINPROGRESS)
            return; /* an invalidation is running: removal when it ends */
        b->sub = NULL;
    }
    buf_report(b, 0);
}

int gpusim_driver_unregister(gpusim_buffer_t *b, gpusim_host_cb cb, void *data)
{
    if (!b)
        return GPUSIM_EINVAL;
    if (b->state == B_UNREGISTERING || b->state == B_REGISTERING || b->host_busy)
        return GPUSIM_EBUSY;
    b->state = B_UNREGISTERING;
    b->cb = cb;
    b->cbdata = data;
    if (b->users == 0)
        buf_finish_unregister(b);
    return 0;
}

int gpusim_buffer_range(const gpusim_buffer_t *b, uint64_t *va, uint64_t *len)
{
    if (!b || !va || !len)
        return GPUSIM_EINVAL;
    *va = b->va;
    *len = b->len;
    return 0;
}

/* ---- jobs ----------------------------------------------------------------------------------- */

static bool range_in_bufs(const gpusim_job_desc_t *j, uint64_t va, uint64_t len)
{
    if (len == 0 || va + len < va)
        return false;
    for (unsigned i = 0; i < j->nbuffers; i++) {
        const gpusim_buffer_t *b = j->buffers[i];
        if (va >= b->va && va + len <= b->va + b->len)
            return true;
    }
    return false;
}

static int desc_ok(const gpusim_driver_t *d, const gpusim_job_desc_t *j)
{
    uint8_t scratch[GPUSIM_PKT_DISPATCH_BYTES];
    if (j->nbuffers == 0 || j->nbuffers > GPUSIM_JOB_MAX_BUFFERS)
        return GPUSIM_EINVAL;
    for (unsigned i = 0; i < j->nbuffers; i++) {
        const gpusim_buffer_t *b = j->buffers[i];
        if (!b || b->drv != d || b->state == B_UNREGISTERING || b->state == B_FAILED)
            return GPUSIM_EINVAL;
        if (b->state == B_REGISTERING)
            return GPUSIM_EBUSY;
        for (unsigned k = 0; k < i; k++)
            if (j->buffers[k] == b)
                return GPUSIM_EINVAL;
    }
    if (j->kind == GPUSIM_JOB_DISPATCH) {
        if (gpusim_packet_dispatch(scratch, sizeof scratch, &j->kernel) < 0)
            return GPUSIM_EINVAL;
        return range_in_bufs(j, j->kernel.buffer_va, j->kernel.buffer_bytes) ? 0 : GPUSIM_EINVAL;
    }
    if (j->kind == GPUSIM_JOB_COPY) {
        if (gpusim_packet_copy(scratch, sizeof scratch, j->copy_dst, j->copy_src, j->copy_bytes) <
            0)
            return GPUSIM_EINVAL;
        return range_in_bufs(j, j->copy_src, j->copy_bytes) &&
                       range_in_bufs(j, j->copy_dst, j->copy_bytes)
                   ? 0
                   : GPUSIM_EINVAL;
    }
    return GPUSIM_EINVAL;
}

static void buffers_release(gpusim__job *job)
{
    for (unsigned i = 0; i < job->desc.nbuffers; i++) {
        gpusim_buffer_t *b = job->desc.buffers[i];
        if (--b->users == 0 && b->state == B_UNREGISTERING)
            buf_finish_unregister(b);
    }
}

/* The job has ended (status) and left every list: tell the policy and the user, free it. */
static void job_end(gpusim__job *job, int status)
{
    gpusim_driver_t *d = job->drv;
    gpusim_host_cb cb = job->cb;
    void *data = job->data;
    uint64_t id = job->id;
    (void)gpusim_event_cancel(d->world, &job->ev); /* a doorbell still to ring */
    if (d->ops->job_done)
        d->ops->job_done(job);
    gpusim__stat_add(status ? d->st.jobs_failed : d->st.jobs_completed, 1);
    buffers_release(job);
    job_free(job);
    if (cb)
        cb(data, status, id);
}

static void job_fence_cb(gpusim_gpu_fence_waiter_t *fw, int status)
{
    gpusim__job *job = fw->data;
    gpusim_driver_t *d = job->drv;
    gpusim__job **pp = &d->run_head, *prev = NULL;
    /* Fences of one in-order queue signal in order, so this is normally the head; a failing
     * queue fails them all, in any order. */
    while (*pp != job) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    *pp = job->next;
    if (d->run_tail == job)
        d->run_tail = prev;
    d->running--;
    if (job->seq > d->done_seq)
        d->done_seq = job->seq;
    job_end(job, status);
    gpusim__waits_poke(d);
    gpusim__drv_kick(d);
}

static void job_doorbell(gpusim_world_t *w, gpusim_event_t *ev)
{
    gpusim__job *job = ev->data;
    gpusim_driver_t *d = job->drv;
    int rc;
    (void)w;
    gpusim__stat_add(d->st.submit_wait_ns, drv_now(d) - job->t_submit);
    /* Only the driver's preparation stalls the GPU's work here: time the job spent waiting for
     * an earlier one, or for a restore (counted in evicted_ns), is not counted twice. */
    gpusim__stat_add(d->st.gpu_stall_ns, drv_now(d) - job->t_prepare);
    GPUSIM_TRACE(d->world, d->track, job->t_prepare, drv_now(d), "queued_ns",
                 job->t_prepare - job->t_submit, "prepare job %llu", (unsigned long long)job->id);
    rc = gpusim_gpu_queue_doorbell(d->queue);
    if (rc == 0)
        return;
    /* The context was killed (or the queue stopped) before these packets were published: their
     * fences will never be signalled nor failed by the device, so end the jobs here. */
    while (d->run_head) {
        gpusim__job *j = d->run_head;
        (void)gpusim_gpu_fence_waiter_cancel(&j->fw);
        j->fw.data = j;
        job_fence_cb(&j->fw, gpusim_gpu_ctx_error(d->ctx) ? GPUSIM_ECTXKILLED : rc);
    }
}

/* Writes a prepared job into the ring and attaches it (the commit's last step). Returns 0, or
 * GPUSIM_ENOSPC when the ring is full (the job waits in ring_wait). */
static int job_write(gpusim__job *job)
{
    gpusim_driver_t *d = job->drv;
    uint8_t pkt[JOB_BYTES];
    int n, m, rc;
    uint64_t seq = d->next_seq + 1;
    if (job->desc.kind == GPUSIM_JOB_DISPATCH)
        n = gpusim_packet_dispatch(pkt, sizeof pkt, &job->desc.kernel);
    else
        n = gpusim_packet_copy(pkt, sizeof pkt, job->desc.copy_dst, job->desc.copy_src,
                               job->desc.copy_bytes);
    GPUSIM_ASSERT(n > 0);
    m = gpusim_packet_fence_signal(pkt + n, sizeof pkt - (size_t)n, d->fence, seq);
    GPUSIM_ASSERT(m > 0);
    rc = gpusim_gpu_queue_write(d->queue, pkt, (size_t)(n + m));
    if (rc)
        return rc;
    d->next_seq = seq;
    job->seq = seq;
    for (unsigned i = 0; i < job->desc.nbuffers; i++)
        job->desc.buffers[i]->last_seq = seq;
    job->next = NULL;
    if (d->run_tail)
        d->run_tail->next = job;
    else
        d->run_head = job;
    d->run_tail = job;
    d->running++;
    gpusim_gpu_fence_waiter_init(&job->fw);
    rc = gpusim_gpu_fence_wait(d->gpu, d->fence, seq, &job->fw, job_fence_cb, job, GPUSIM_TIME_MAX);
    if (rc != GPUSIM_EINPROGRESS) {
        /* Reached or failed already (a killed context fails its fences at once). */
        job->fw.data = job;
        job_fence_cb(&job->fw, rc == 0 ? 0 : rc);
        return 0;
    }
    gpusim_event_init(&job->ev, job_doorbell, job);
    if (gpusim_event_schedule(d->world, &job->ev, drv_now(d) + job->cost) != 0)
        job_doorbell(d->world, &job->ev);
    return 0;
}

void gpusim__job_prepared(gpusim__job *job, int status)
{
    gpusim_driver_t *d = job->drv;
    GPUSIM_ASSERT(d->preparing == job);
    d->preparing = NULL;
    if (status == 0 && gpusim_gpu_ctx_error(d->ctx))
        status = GPUSIM_ECTXKILLED;
    if (status) {
        gpusim__stat_add(d->st.submit_wait_ns, drv_now(d) - job->t_submit);
        GPUSIM_TRACE(d->world, d->track, job->t_prepare, drv_now(d), "error",
                     (uint64_t)(-(int64_t)status), "prepare job %llu", (unsigned long long)job->id);
        job_end(job, status);
    } else if (job_write(job) != 0) {
        job_end(job, GPUSIM_ENOMEM); /* cannot happen: kick bounds the jobs in the ring */
    }
    gpusim__drv_kick(d);
}

void gpusim__drv_kick(gpusim_driver_t *d)
{
    while (!d->preparing && d->pend_head) {
        gpusim__job *job;
        if (d->ops->gate && d->ops->gate(d))
            return;
        /* A job is prepared only when the ring has room for it: a committed job must be
         * attached at once, or an invalidation would not know to wait for it. */
        if (d->running >= d->p[GPUSIM__DP_ring_bytes] / JOB_BYTES)
            return;
        job = d->pend_head;
        d->pend_head = job->next;
        if (!d->pend_head)
            d->pend_tail = NULL;
        job->next = NULL;
        d->preparing = job;
        job->cost = 0;
        job->t_prepare = drv_now(d);
        if (gpusim_gpu_ctx_error(d->ctx))
            gpusim__job_prepared(job, GPUSIM_ECTXKILLED);
        else if (d->ops->prepare)
            d->ops->prepare(job);
        else
            gpusim__job_prepared(job, 0);
    }
}

int gpusim_driver_submit(gpusim_driver_t *d, const gpusim_job_desc_t *desc, gpusim_host_cb cb,
                         void *data)
{
    gpusim__job *job;
    gpusim_process_info_t pi;
    int rc;
    if (!d || !desc)
        return GPUSIM_EINVAL;
    rc = desc_ok(d, desc);
    if (rc)
        return rc;
    if (gpusim_gpu_ctx_error(d->ctx))
        return GPUSIM_ECTXKILLED;
    if (gpusim_process_info(d->proc, &pi) || pi.state != GPUSIM_PROCESS_LIVE)
        return GPUSIM_ESRCH;
    job = gpusim__arena_zalloc(arena(d), sizeof *job);
    if (!job)
        return GPUSIM_ENOMEM;
    /* Preparation starts from an event, so that the callback never runs inside this call; the
     * event is scheduled first, so that failing to changes nothing. */
    if (!gpusim_event_pending(&d->kick_ev) &&
        gpusim_event_schedule(d->world, &d->kick_ev, drv_now(d)) != 0) {
        gpusim__arena_free(arena(d), job, sizeof *job);
        return GPUSIM_ENOMEM;
    }
    job->drv = d;
    job->desc = *desc;
    job->id = ++d->next_id;
    job->t_submit = drv_now(d);
    job->cb = cb;
    job->data = data;
    gpusim_event_init(&job->ev, NULL, job);
    gpusim_gpu_fence_waiter_init(&job->fw);
    gpusim_waiter_init(&job->v.waiter);
    for (unsigned i = 0; i < desc->nbuffers; i++)
        desc->buffers[i]->users++;
    if (d->pend_tail)
        d->pend_tail->next = job;
    else
        d->pend_head = job;
    d->pend_tail = job;
    gpusim__stat_add(d->st.jobs_submitted, 1);
    return 0;
}

/* ---- information ---------------------------------------------------------------------------- */

int gpusim_driver_info(const gpusim_driver_t *d, gpusim_driver_info_t *o)
{
    const gpusim__driver_stats *s;
    if (!d || !o)
        return GPUSIM_EINVAL;
    s = &d->st;
    memset(o, 0, sizeof *o);
    o->jobs_submitted = s->jobs_submitted->u.count;
    o->jobs_completed = s->jobs_completed->u.count;
    o->jobs_failed = s->jobs_failed->u.count;
    o->pins = s->pins->u.count;
    o->unpins = s->unpins->u.count;
    o->pinned_pages = d->pinned_pages;
    o->pinned_pages_peak = (uint64_t)s->pinned_pages->u.gauge.peak;
    o->pages_validated = s->pages_validated->u.count;
    o->pages_mapped = s->pages_mapped->u.count;
    o->retries = s->retries->u.count;
    o->faults = s->faults->u.count;
    o->fault_batches = s->fault_batches->u.count;
    o->faults_dropped = s->faults_dropped->u.count;
    o->faults_cancelled = s->faults_cancelled->u.count;
    o->invalidations = s->invalidations->u.count;
    o->refusals = s->refusals->u.count;
    o->evictions = s->evictions->u.count;
    o->restores = s->restores->u.count;
    o->restore_retries = s->restore_retries->u.count;
    o->submit_wait_ns = s->submit_wait_ns->u.count;
    o->evicted_ns = s->evicted_ns->u.count;
    o->fault_stall_ns = s->fault_stall_ns->u.count;
    o->gpu_stall_ns = s->gpu_stall_ns->u.count;
    for (unsigned k = 0; k < GPUSIM_INVALIDATOR_COUNT; k++)
        o->blocked_ns[k] = s->blocked[k]->u.count;
    o->checked = s->checked->u.count;
    o->use_after_free = s->uaf->u.count;
    o->stale = s->stale->u.count;
    o->data_mismatch = s->data_mismatch->u.count;
    return 0;
}

int gpusim_driver_violations(const gpusim_driver_t *d, gpusim_violation_t *out, size_t max,
                             size_t *n)
{
    size_t k;
    if (!d || !n || (max && !out))
        return GPUSIM_EINVAL;
    k = GPUSIM_MIN(max, d->nviol);
    memcpy(out, d->viol, k * sizeof *out);
    *n = k;
    return 0;
}
