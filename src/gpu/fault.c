/*
 * gpu/fault.c -- the GPU's fault path in virtual time: faulting accesses, the interrupt, the
 * driver's fetch and replay, and killing a context (gpusim/gpu.h, "Faults").
 *
 * An access that finds no valid, permitted translation (gpusim_gpu_touch) raises a fault into the
 * buffer (gpu/faultbuf.c) with its engine as the uTLB, and its requester stalls -- whether the
 * entry was queued, throttled at the engine's outstanding-fault limit, or dropped by a full buffer:
 * in all three cases the hardware requester waits for the next replay and then tries again. The
 * first fault of an episode schedules the interrupt fault_interrupt later; the driver's handler
 * fetches batches (paying fault_batch_fixed + fault_sw_per_fault per raw entry + fault_per_vablock
 * per 2 MiB block the unique faults touch), services them as
 * it likes, and replays. A replay (paying fault_replay) makes every stalled requester retry
 * fault_replay later; a retry that faults again stalls again, until its translation is there or
 * its context dies. A non-replayable device kills the context on its first fault instead
 * (GPUSIM_EGPUFAULT recorded; other contexts go on).
 *
 * Queue slots. A waiting requester holds exactly one slot of the event queue: a reservation while
 * stalled, its pending event while retrying or ending. Replays and kills only turn reservations
 * into events, so they cannot fail; a stall whose reservation cannot be made is refused before
 * anything is recorded. The interrupt event holds its own slot in the same way.
 *
 * Invariants: every requester on the device's list is STALLED (a reservation, no event), RETRYING
 * or ENDING (an event pending); a killed context has no STALLED or RETRYING requester and no entry
 * in the buffer.
 */
#include <stdio.h>
#include <string.h>

#include "gpu/device.h"
#include "gpu/engine.h"
#include "gpu/cp.h"
#include "core/alloc.h"
#include "core/compiler.h"
#include "core/event.h"

/* ---- requester list ------------------------------------------------------------------------- */

static void req_link(gpusim_gpu_t *g, gpusim_gpu_req_t *r)
{
    r->prev_ = g->req_tail;
    r->next_ = NULL;
    if (g->req_tail)
        g->req_tail->next_ = r;
    else
        g->req_head = r;
    g->req_tail = r;
}

static void req_unlink(gpusim_gpu_t *g, gpusim_gpu_req_t *r)
{
    if (r->prev_)
        r->prev_->next_ = r->next_;
    else
        g->req_head = r->next_;
    if (r->next_)
        r->next_->prev_ = r->prev_;
    else
        g->req_tail = r->prev_;
    r->prev_ = r->next_ = NULL;
}

void gpusim_gpu_req_init(gpusim_gpu_req_t *req)
{
    if (!req)
        return;
    memset(req, 0, sizeof *req);
    req->state_ = GPUSIM__GPU_REQ_IDLE;
}

/* ---- the interrupt -------------------------------------------------------------------------- */

static void irq_event(gpusim_world_t *w, gpusim_event_t *ev)
{
    gpusim_gpu_t *g = ev->data;
    /* Our own queue entry has just been released: re-reserving it cannot fail. */
    int rc = gpusim__queue_reserve(w, 1);
    GPUSIM_ASSERT(rc == 0);
    (void)rc;
    g->irq_reserved = true;
    if (gpusim__gpu_faultbuf_irq_take(&g->fb) && g->handler) {
        gpusim__stat_add(g->fst.interrupts, 1);
        g->handler(g, g->handler_data);
    }
}

/* Schedules the interrupt if the buffer says one is due and none is on its way. */
static void irq_maybe(gpusim_gpu_t *g)
{
    if (!g->irq_reserved || !gpusim__gpu_faultbuf_irq_due(&g->fb))
        return;
    g->irq_reserved = false;
    gpusim__event_schedule_reserved(g->world, &g->irq,
                                    g->world->now + g->p[GPUSIM__GPU_P_fault_interrupt]);
}

/* ---- raising a fault ------------------------------------------------------------------------ */

static void req_event(gpusim_world_t *w, gpusim_event_t *ev);

/* Records r's fault and stalls it. r holds a queue reservation and is on the list. */
static void fault_raise(gpusim_gpu_t *g, gpusim_gpu_req_t *r)
{
    gpusim__gpu_fault f;
    int rc;
    f.va = r->va_ & ~(GPUSIM__GPU_PAGE_SIZE - 1);
    f.time = g->world->now;
    f.ctx = r->ctx_->pt->ctx;
    f.utlb = (uint16_t)r->engine_;
    f.access = r->write_ ? GPUSIM__GPU_FAULT_WRITE : GPUSIM__GPU_FAULT_READ;
    rc = gpusim__gpu_faultbuf_push(&g->fb, &f);
    GPUSIM_ASSERT(rc >= 0); /* the arguments were checked by gpusim_gpu_touch */
    gpusim__stat_add(g->fst.raised, 1);
    if (rc == GPUSIM__GPU_FAULT_THROTTLED)
        gpusim__stat_add(g->fst.throttled, 1);
    else if (rc == GPUSIM__GPU_FAULT_DROPPED)
        gpusim__stat_add(g->fst.dropped, 1);
    r->state_ = GPUSIM__GPU_REQ_STALLED;
    irq_maybe(g);
    gpusim__gpu_engines_disturb(g);
}

/* Ends a waiting requester with `status` through its event at the current time. */
static void req_end(gpusim_gpu_t *g, gpusim_gpu_req_t *r)
{
    if (r->state_ == GPUSIM__GPU_REQ_STALLED)
        gpusim__event_schedule_reserved(g->world, &r->ev_, g->world->now);
    else
        (void)gpusim_event_reschedule(g->world, &r->ev_, g->world->now); /* pending: no memory */
    r->state_ = GPUSIM__GPU_REQ_ENDING;
    r->ctx_ = NULL;
}

/* A waiting requester's event: its retry after a replay, or its end after a kill. */
static void req_event(gpusim_world_t *w, gpusim_event_t *ev)
{
    gpusim_gpu_req_t *r = ev->data;
    gpusim_gpu_t *g = r->gpu_;
    gpusim_gpu_touch_cb cb = r->cb_;
    gpusim_gpu_access_t acc;
    if (r->state_ == GPUSIM__GPU_REQ_RETRYING) {
        int rc = gpusim_gpu_access(r->ctx_, r->engine_, r->va_, r->write_, &acc);
        if (rc == GPUSIM_EGPUFAULT) {
            /* Still no translation: fault again. Our own queue entry has just been released, so
             * re-reserving it cannot fail. */
            rc = gpusim__queue_reserve(w, 1);
            GPUSIM_ASSERT(rc == 0);
            fault_raise(g, r);
            return;
        }
        req_unlink(g, r);
        r->state_ = GPUSIM__GPU_REQ_IDLE;
        r->ctx_ = NULL;
        r->gpu_ = NULL;
        (void)gpusim__stat_record(g->fst.stall, w->now - r->since_);
        cb(r, 0, &acc);
        return;
    }
    GPUSIM_ASSERT(r->state_ == GPUSIM__GPU_REQ_ENDING);
    req_unlink(g, r);
    r->state_ = GPUSIM__GPU_REQ_IDLE;
    r->gpu_ = NULL;
    cb(r, GPUSIM_ECTXKILLED, NULL);
}

int gpusim_gpu_touch(gpusim_gpu_ctx_t *c, unsigned engine, uint64_t va, bool write,
                     gpusim_gpu_req_t *req, gpusim_gpu_touch_cb cb, void *data,
                     gpusim_gpu_access_t *a)
{
    gpusim_gpu_t *g;
    int rc;
    if (!c || !req || !cb || !a || engine >= c->gpu->engines || req->state_ != GPUSIM__GPU_REQ_IDLE)
        return GPUSIM_EINVAL;
    if (va >= GPUSIM_GPU_VA_END)
        return GPUSIM_EFAULT;
    if (c->error)
        return GPUSIM_ECTXKILLED;
    g = c->gpu;
    rc = gpusim_gpu_access(c, engine, va, write, a);
    if (rc != GPUSIM_EGPUFAULT)
        return rc;
    if (!g->replayable) {
        gpusim__stat_add(g->fst.raised, 1);
        (void)gpusim_gpu_ctx_kill(c, GPUSIM_EGPUFAULT);
        return GPUSIM_ECTXKILLED;
    }
    if (gpusim__queue_reserve(g->world, 1))
        return GPUSIM_ENOMEM;
    gpusim_event_init(&req->ev_, req_event, req);
    req->data = data;
    req->gpu_ = g;
    req->ctx_ = c;
    req->cb_ = cb;
    req->va_ = va;
    req->engine_ = engine;
    req->write_ = write;
    req->since_ = g->world->now;
    req_link(g, req);
    fault_raise(g, req);
    return GPUSIM_EINPROGRESS;
}

/* ---- the driver's side ---------------------------------------------------------------------- */

int gpusim_gpu_set_fault_handler(gpusim_gpu_t *g, gpusim_gpu_fault_handler cb, void *data)
{
    if (!g)
        return GPUSIM_EINVAL;
    g->handler = cb;
    g->handler_data = data;
    return 0;
}

static gpusim_gpu_ctx_t *ctx_of(const gpusim_gpu_t *g, uint32_t id)
{
    for (gpusim_gpu_ctx_t *c = g->ctx_head; c; c = c->next)
        if (c->pt->ctx == id)
            return c;
    return NULL;
}

int gpusim_gpu_fault_fetch(gpusim_gpu_t *g, gpusim_gpu_fault_t *out, size_t max, size_t *n,
                           gpusim_time_t *cost)
{
    gpusim__gpu_faultbuf_fetch_info info;
    uint64_t batch_max, blocks = 0;
    size_t k = 0;
    int rc;
    if (!g || !out || !n)
        return GPUSIM_EINVAL;
    batch_max = g->p[GPUSIM__GPU_P_fault_batch_max];
    if (max == 0 || max > batch_max)
        max = (size_t)batch_max;
    rc = gpusim__gpu_faultbuf_fetch(&g->fb, g->batch, (uint32_t)max, &info);
    if (rc < 0)
        return rc; /* else the number of unique faults, also in info */
    for (uint32_t i = 0; i < info.unique; i++) {
        const gpusim__gpu_fault_coalesced *f = &g->batch[i];
        gpusim_gpu_ctx_t *c = ctx_of(g, f->f.ctx);
        if (!c)
            continue; /* freed since (its entries are cancelled then; kept for safety) */
        out[k].ctx = c;
        out[k].va = f->f.va;
        out[k].write = f->f.access == GPUSIM__GPU_FAULT_WRITE;
        out[k].duplicates = f->dups;
        out[k].time = f->f.time;
        /* sorted by (context, page): a block is new when its first fault is */
        if (k == 0 || out[k - 1].ctx != c ||
            out[k - 1].va >> GPUSIM__GPU_HUGE_SHIFT != out[k].va >> GPUSIM__GPU_HUGE_SHIFT)
            blocks++;
        k++;
    }
    if (info.raw)
        gpusim__stat_add(g->fst.batches, 1);
    *n = k;
    if (cost)
        *cost = info.raw ? g->p[GPUSIM__GPU_P_fault_batch_fixed] +
                               info.raw * g->p[GPUSIM__GPU_P_fault_sw_per_fault] +
                               blocks * g->p[GPUSIM__GPU_P_fault_per_vablock]
                         : 0;
    return 0;
}

int gpusim_gpu_fault_replay(gpusim_gpu_t *g, gpusim_time_t *cost)
{
    gpusim_time_t when;
    int rc;
    if (!g)
        return GPUSIM_EINVAL;
    if (g->fb.policy == GPUSIM__GPU_REPLAY_ONCE && gpusim__gpu_faultbuf_count(&g->fb) > 0)
        return GPUSIM_EAGAIN;
    rc = gpusim__gpu_faultbuf_replay(&g->fb, g->fb.policy == GPUSIM__GPU_REPLAY_BATCH_FLUSH);
    if (rc < 0)
        return rc;
    gpusim__stat_add(g->fst.replays, 1);
    when = g->world->now + g->p[GPUSIM__GPU_P_fault_replay];
    for (gpusim_gpu_req_t *r = g->req_head; r; r = r->next_)
        if (r->state_ == GPUSIM__GPU_REQ_STALLED) {
            r->state_ = GPUSIM__GPU_REQ_RETRYING;
            gpusim__event_schedule_reserved(g->world, &r->ev_, when);
        }
    gpusim__gpu_engines_disturb(g);
    if (cost)
        *cost = g->p[GPUSIM__GPU_P_fault_replay];
    /* A BATCH replay may leave entries behind: the driver looks at them after its next fetch. */
    irq_maybe(g);
    return 0;
}

int gpusim_gpu_ctx_kill(gpusim_gpu_ctx_t *c, int err)
{
    gpusim_gpu_t *g;
    if (!c || err >= 0)
        return GPUSIM_EINVAL;
    if (c->error)
        return GPUSIM_EBUSY;
    g = c->gpu;
    c->error = err;
    gpusim__gpu_ctx_faults_end(c);
    gpusim__gpu_engines_disturb(g); /* its fast-forwarding waves must see the kill now */
    gpusim__gpu_cp_ctx_killed(c);   /* its queues stop, its jobs end, its pending signals fail */
    gpusim__stat_add(g->fst.kills, 1);
    return 0;
}

void gpusim__gpu_ctx_faults_end(gpusim_gpu_ctx_t *c)
{
    gpusim_gpu_t *g = c->gpu;
    (void)gpusim__gpu_faultbuf_cancel(&g->fb, c->pt->ctx);
    for (gpusim_gpu_req_t *r = g->req_head; r; r = r->next_)
        if (r->ctx_ == c && r->state_ != GPUSIM__GPU_REQ_ENDING)
            req_end(g, r);
}

int gpusim_gpu_ctx_error(const gpusim_gpu_ctx_t *c)
{
    return c ? c->error : GPUSIM_EINVAL;
}

/* ---- life cycle ----------------------------------------------------------------------------- */

static int register_stats(gpusim_gpu_t *g)
{
    static const gpusim__stat_def defs[] = {
        {"fault.raised", GPUSIM_STAT_COUNTER, "", offsetof(gpusim__gpu_fault_stats, raised)},
        {"fault.throttled", GPUSIM_STAT_COUNTER, "", offsetof(gpusim__gpu_fault_stats, throttled)},
        {"fault.dropped", GPUSIM_STAT_COUNTER, "", offsetof(gpusim__gpu_fault_stats, dropped)},
        {"fault.interrupts", GPUSIM_STAT_COUNTER, "",
         offsetof(gpusim__gpu_fault_stats, interrupts)},
        {"fault.batches", GPUSIM_STAT_COUNTER, "", offsetof(gpusim__gpu_fault_stats, batches)},
        {"fault.replays", GPUSIM_STAT_COUNTER, "", offsetof(gpusim__gpu_fault_stats, replays)},
        {"fault.context_kills", GPUSIM_STAT_COUNTER, "", offsetof(gpusim__gpu_fault_stats, kills)},
        {"fault.stall_ns", GPUSIM_STAT_HISTOGRAM, "ns", offsetof(gpusim__gpu_fault_stats, stall)},
    };
    return gpusim__stats_register_prefixed(g->world, g->prefix, defs, GPUSIM_ARRAY_SIZE(defs),
                                           &g->fst);
}

int gpusim__gpu_faults_init(gpusim_gpu_t *g)
{
    gpusim__arena *a = &g->world->arena;
    size_t n = (size_t)g->p[GPUSIM__GPU_P_fault_batch_max];
    int rc = register_stats(g);
    if (rc)
        return rc;
    rc = gpusim__gpu_faultbuf_init_params(&g->fb, a, g->p, g->engines);
    if (rc)
        return rc;
    g->batch = gpusim__arena_alloc(a, n * sizeof *g->batch);
    if (!g->batch || gpusim__queue_reserve(g->world, 1)) {
        gpusim__arena_free(a, g->batch, g->batch ? n * sizeof *g->batch : 0);
        g->batch = NULL;
        gpusim__gpu_faultbuf_destroy(&g->fb);
        return GPUSIM_ENOMEM;
    }
    g->irq_reserved = true;
    gpusim_event_init(&g->irq, irq_event, g);
    return 0;
}

void gpusim__gpu_faults_destroy(gpusim_gpu_t *g)
{
    gpusim_world_t *w = g->world;
    if (!g->batch)
        return; /* never initialised */
    /* Waiting requesters give back their queue slot and become idle; their callbacks never run
     * (the device is going away, as with a world freed while events are pending). */
    while (g->req_head) {
        gpusim_gpu_req_t *r = g->req_head;
        if (r->state_ == GPUSIM__GPU_REQ_STALLED)
            gpusim__queue_unreserve(w, 1);
        else
            (void)gpusim_event_cancel(w, &r->ev_);
        req_unlink(g, r);
        r->state_ = GPUSIM__GPU_REQ_IDLE;
        r->gpu_ = NULL;
        r->ctx_ = NULL;
    }
    if (g->irq_reserved)
        gpusim__queue_unreserve(w, 1);
    else
        (void)gpusim_event_cancel(w, &g->irq);
    g->irq_reserved = false;
    gpusim__arena_free(&w->arena, g->batch,
                       (size_t)g->p[GPUSIM__GPU_P_fault_batch_max] * sizeof *g->batch);
    g->batch = NULL;
    gpusim__gpu_faultbuf_destroy(&g->fb);
}

void gpusim__gpu_req_cancel(gpusim_gpu_req_t *r)
{
    gpusim_gpu_t *g = r->gpu_;
    if (!g || r->state_ == GPUSIM__GPU_REQ_IDLE)
        return;
    if (r->state_ == GPUSIM__GPU_REQ_STALLED)
        gpusim__queue_unreserve(g->world, 1);
    else
        (void)gpusim_event_cancel(g->world, &r->ev_);
    req_unlink(g, r);
    r->state_ = GPUSIM__GPU_REQ_IDLE;
    r->gpu_ = NULL;
    r->ctx_ = NULL;
}
