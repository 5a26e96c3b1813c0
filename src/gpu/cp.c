/*
 * gpu/cp.c -- the command processor's device and context state: life cycle, killed contexts,
 * eviction and restore, the preemption timeout that resets the device, and the checker
 * (gpusim/gpu.h, "Preemption"; gpu/cp.h).
 *
 * Eviction is an operation (gpusim__gpu_cp_op) in stages: STOPPING (the context's queues issue
 * nothing more and its jobs are asked to stop, gpusim__gpu_engine_preempt_ctx), SAVING (they have
 * stopped: preempt_save), then the caller's callback. A timer set at queue_preempt_timeout from the
 * request races it; if it fires first, the device is reset as amdkfd does when the CP misses its
 * UNMAP_QUEUES fence: every context on the device is killed with GPUSIM_ETIMEDOUT. A restore is a
 * one-stage operation (queue_resume, then the jobs and queues go on).
 *
 * An operation outlives its context when the engine still owes it the `stopped` call (that call
 * carries only the operation's pointer), so operations are kept on the device's list, and freed
 * once both the callback is done with and the engine has answered -- or with the device.
 *
 * Event-queue slots: an operation holds one for its step event (a reservation while it waits for
 * the engine, the pending event otherwise), so a kill or a reset can always deliver its result.
 * User callbacks run from that event, last, so they may free the context or the device.
 *
 * Invariants: a context's `op` is the operation in progress, exactly when its sched is EVICTING or
 * RESTORING, and that operation names the context; a finished operation names no context.
 */
#include <stdio.h>
#include <string.h>

#include "gpu/cp.h"
#include "gpu/device.h"
#include "core/alloc.h"
#include "core/event.h"

enum { OP_EVICT, OP_RESTORE };
enum {
    ST_STOPPING, /* EVICT: waiting for the engine's stopped(); step reserved */
    ST_WORKING,  /* step pending at the end of preempt_save / queue_resume */
    ST_ENDING,   /* step pending at now, delivering a failure */
    ST_FINISHED  /* callback delivered or dropped; waiting only for the engine */
};

struct gpusim__gpu_cp_op {
    gpusim__gpu_cp *cp;    /* The device's command processor. */
    gpusim_gpu_ctx_t *ctx; /* The context; NULL once finished or the context is freed. */
    int kind;              /* OP_EVICT / OP_RESTORE. */
    int stage;             /* ST_*. */
    bool engine_owes;      /* EVICT: the engine has yet to call stopped(). */
    bool reserved;         /* Holds a reservation for `step`. */
    gpusim_event_t step;   /* End of the stage, or delivery of a failure. */
    gpusim_event_t timer;  /* EVICT: the preemption timeout. */
    gpusim_gpu_ctx_cb cb;  /* The caller's callback and data. */
    void *data;
    int status;              /* What cb gets when step runs in ST_ENDING. */
    gpusim_time_t started;   /* When it was requested. */
    gpusim__gpu_cp_op *prev; /* Neighbours on the device's list. */
    gpusim__gpu_cp_op *next;
};

/* ---- operations ----------------------------------------------------------------------------- */

/* now + d, saturating (a timeout may be set far out with force). */
static gpusim_time_t later(const gpusim_world_t *w, uint64_t d)
{
    return d >= GPUSIM_TIME_MAX - w->now ? GPUSIM_TIME_MAX : w->now + d;
}

static void op_unlink_free(gpusim__gpu_cp_op *op)
{
    gpusim__gpu_cp *cp = op->cp;
    if (op->prev)
        op->prev->next = op->next;
    else
        cp->ops = op->next;
    if (op->next)
        op->next->prev = op->prev;
    gpusim__arena_free(&cp->world->arena, op, sizeof *op);
}

/* The operation no longer concerns its context: events stopped, context detached. */
static void op_detach(gpusim__gpu_cp_op *op)
{
    gpusim_world_t *w = op->cp->world;
    if (gpusim_event_pending(&op->timer))
        gpusim_event_cancel(w, &op->timer);
    if (gpusim_event_pending(&op->step))
        gpusim_event_cancel(w, &op->step);
    if (op->reserved)
        gpusim__queue_unreserve(w, 1);
    op->reserved = false;
    if (op->ctx && op->ctx->cp && op->ctx->cp->op == op)
        op->ctx->cp->op = NULL;
    op->ctx = NULL;
    op->stage = ST_FINISHED;
    if (!op->engine_owes)
        op_unlink_free(op);
}

/* Moves the step to now, to deliver `status` (the context was killed or is being reset). */
static void op_fail(gpusim__gpu_cp_op *op, int status)
{
    gpusim_world_t *w = op->cp->world;
    if (gpusim_event_pending(&op->timer))
        gpusim_event_cancel(w, &op->timer);
    op->status = status;
    op->stage = ST_ENDING;
    if (op->reserved) {
        op->reserved = false;
        gpusim__event_schedule_reserved(w, &op->step, w->now);
    } else {
        int rc = gpusim_event_reschedule(w, &op->step, w->now); /* pending: allocates nothing */
        (void)GPUSIM_ALWAYS(rc == 0);
    }
}

static void op_step(gpusim_world_t *w, gpusim_event_t *ev)
{
    gpusim__gpu_cp_op *op = ev->data;
    gpusim__gpu_cp *cp = op->cp;
    gpusim_gpu_ctx_t *c = op->ctx;
    gpusim_gpu_ctx_cb cb = op->cb;
    void *data = op->data;
    int status = op->status;
    if (op->stage == ST_WORKING) {
        gpusim__gpu_cp_ctx *cc = c->cp;
        status = 0;
        if (op->kind == OP_EVICT) {
            cc->sched = GPUSIM__CPC_EVICTED;
            gpusim__stat_add(cp->st.evictions, 1);
            (void)gpusim__stat_record(cp->st.evict_ns, w->now - op->started);
        } else {
            cc->sched = GPUSIM__CPC_RUN;
            gpusim__stat_add(cp->st.restores, 1);
            gpusim__gpu_engine_resume_ctx(c);
            for (gpusim_gpu_queue_t *q = cc->head; q; q = q->next)
                gpusim__gpu_queue_kick(q);
        }
    }
    op_detach(op);
    cb(data, status); /* last: it may free the context or the device */
}

/* The engine: every job of the context has stopped. */
static void op_stopped(void *data)
{
    gpusim__gpu_cp_op *op = data;
    gpusim_world_t *w = op->cp->world;
    op->engine_owes = false;
    if (op->stage == ST_FINISHED) {
        op_unlink_free(op);
        return;
    }
    if (op->stage != ST_STOPPING)
        return; /* failing already */
    op->stage = ST_WORKING;
    op->reserved = false;
    gpusim__event_schedule_reserved(w, &op->step,
                                    later(w, op->cp->gpu->p[GPUSIM__GPU_P_preempt_save]));
}

/* The preemption did not complete in time: reset the device. */
static void op_timeout(gpusim_world_t *w, gpusim_event_t *ev)
{
    gpusim__gpu_cp_op *op = ev->data;
    gpusim__gpu_cp *cp = op->cp;
    (void)w;
    gpusim__stat_add(cp->st.resets, 1);
    cp->resetting = true; /* every operation ended by these kills reports GPUSIM_ETIMEDOUT */
    for (gpusim_gpu_ctx_t *c = cp->gpu->ctx_head; c; c = c->next)
        if (!c->error)
            (void)gpusim_gpu_ctx_kill(c, GPUSIM_ETIMEDOUT);
    cp->resetting = false;
}

static gpusim__gpu_cp_op *op_new(gpusim__gpu_cp *cp, gpusim_gpu_ctx_t *c, int kind,
                                 gpusim_gpu_ctx_cb cb, void *data)
{
    gpusim__gpu_cp_op *op = gpusim__arena_zalloc(&cp->world->arena, sizeof *op);
    if (!op)
        return NULL;
    op->cp = cp;
    op->ctx = c;
    op->kind = kind;
    op->cb = cb;
    op->data = data;
    op->started = cp->world->now;
    gpusim_event_init(&op->step, op_step, op);
    gpusim_event_init(&op->timer, op_timeout, op);
    return op;
}

static void op_link(gpusim__gpu_cp *cp, gpusim__gpu_cp_op *op)
{
    op->next = cp->ops;
    if (cp->ops)
        cp->ops->prev = op;
    cp->ops = op;
}

int gpusim_gpu_ctx_evict(gpusim_gpu_ctx_t *c, gpusim_gpu_ctx_cb cb, void *data)
{
    gpusim__gpu_cp *cp;
    gpusim__gpu_cp_ctx *cc;
    gpusim__gpu_cp_op *op;
    gpusim_world_t *w;
    int rc;
    if (!c || !cb)
        return GPUSIM_EINVAL;
    if (c->error)
        return GPUSIM_ECTXKILLED;
    if (c->cp && c->cp->sched != GPUSIM__CPC_RUN)
        return GPUSIM_EBUSY;
    cp = c->gpu->cp;
    w = cp->world;
    cc = gpusim__gpu_cp_ctx_get(c);
    if (!cc)
        return GPUSIM_ENOMEM;
    op = op_new(cp, c, OP_EVICT, cb, data);
    if (!op)
        return GPUSIM_ENOMEM; /* a new cc stays: it is empty state, freed with the context */
    rc = gpusim__queue_reserve(w, 1);
    if (rc == 0) {
        op->reserved = true;
        rc = gpusim_event_schedule(w, &op->timer,
                                   later(w, c->gpu->p[GPUSIM__GPU_P_queue_preempt_timeout]));
    }
    if (rc == 0) {
        op->engine_owes = true;
        rc = gpusim__gpu_engine_preempt_ctx(c, op_stopped, op);
        if (rc)
            op->engine_owes = false;
    }
    if (rc) {
        if (gpusim_event_pending(&op->timer))
            gpusim_event_cancel(w, &op->timer);
        if (op->reserved)
            gpusim__queue_unreserve(w, 1);
        gpusim__arena_free(&w->arena, op, sizeof *op);
        return rc;
    }
    op_link(cp, op);
    op->stage = ST_STOPPING;
    cc->op = op;
    cc->sched = GPUSIM__CPC_EVICTING;
    for (gpusim_gpu_queue_t *q = cc->head; q; q = q->next)
        gpusim__gpu_queue_park(q);
    return 0;
}

int gpusim_gpu_ctx_restore(gpusim_gpu_ctx_t *c, gpusim_gpu_ctx_cb cb, void *data)
{
    gpusim__gpu_cp_op *op;
    gpusim_world_t *w;
    if (!c || !cb)
        return GPUSIM_EINVAL;
    if (c->error)
        return GPUSIM_ECTXKILLED;
    if (!c->cp || c->cp->sched == GPUSIM__CPC_RUN)
        return GPUSIM_EINVAL;
    if (c->cp->sched != GPUSIM__CPC_EVICTED)
        return GPUSIM_EBUSY;
    w = c->gpu->world;
    op = op_new(c->gpu->cp, c, OP_RESTORE, cb, data);
    if (!op)
        return GPUSIM_ENOMEM;
    if (gpusim_event_schedule(w, &op->step, later(w, c->gpu->p[GPUSIM__GPU_P_queue_resume]))) {
        gpusim__arena_free(&w->arena, op, sizeof *op);
        return GPUSIM_ENOMEM;
    }
    op->stage = ST_WORKING;
    op_link(c->gpu->cp, op);
    c->cp->op = op;
    c->cp->sched = GPUSIM__CPC_RESTORING;
    return 0;
}

/* ---- contexts ------------------------------------------------------------------------------- */

gpusim__gpu_cp_ctx *gpusim__gpu_cp_ctx_get(gpusim_gpu_ctx_t *c)
{
    if (!c->cp) {
        c->cp = gpusim__arena_zalloc(&c->gpu->world->arena, sizeof *c->cp);
        if (c->cp) {
            c->cp->ctx = c;
            c->cp->sched = GPUSIM__CPC_RUN;
        }
    }
    return c->cp;
}

void gpusim__gpu_cp_ctx_killed(gpusim_gpu_ctx_t *c)
{
    gpusim__gpu_cp_ctx *cc = c->cp;
    if (!cc)
        return;
    /* Stop everything first, then fail the fences: failing a fence wakes its waiters, and none
     * of this context's queues may still be among them. */
    for (gpusim_gpu_queue_t *q = cc->head; q; q = q->next)
        gpusim__gpu_queue_fail(q, c->error, "context_killed", "the queue's context was killed");
    for (gpusim_gpu_queue_t *q = cc->head; q; q = q->next)
        gpusim__gpu_queue_abandon_signals(q, GPUSIM_ECTXKILLED);
    if (cc->op) {
        gpusim__gpu_cp_op *op = cc->op;
        cc->op = NULL;
        cc->sched = GPUSIM__CPC_RUN; /* nothing in progress: a dead context runs nothing anyway */
        op_fail(op, c->gpu->cp->resetting ? GPUSIM_ETIMEDOUT : GPUSIM_ECTXKILLED);
    }
}

/* Frees the queues and the state of a context; its operation is dropped. */
static void ctx_state_free(gpusim_gpu_ctx_t *c)
{
    gpusim__gpu_cp_ctx *cc = c->cp;
    gpusim__gpu_cp *cp = c->gpu->cp;
    if (!cc)
        return;
    while (cc->head)
        gpusim_gpu_queue_free(cc->head);
    /* The operation in progress, and one that is delivering a failure, are dropped. */
    for (gpusim__gpu_cp_op *op = cp->ops, *next; op; op = next) {
        next = op->next;
        if (op->ctx == c)
            op_detach(op);
    }
    gpusim__arena_free(&cp->world->arena, cc, sizeof *cc);
    c->cp = NULL;
}

void gpusim__gpu_cp_ctx_free(gpusim_gpu_ctx_t *c)
{
    ctx_state_free(c);
}

/* ---- device --------------------------------------------------------------------------------- */

static int register_stats(gpusim__gpu_cp *cp)
{
    static const struct {
        size_t off;
        gpusim_stat_kind_t kind;
        const char *unit, *name;
    } defs[] = {
        {offsetof(gpusim__gpu_cp_stats, packets), GPUSIM_STAT_COUNTER, "", "packets"},
        {offsetof(gpusim__gpu_cp_stats, errors), GPUSIM_STAT_COUNTER, "", "queue_errors"},
        {offsetof(gpusim__gpu_cp_stats, evictions), GPUSIM_STAT_COUNTER, "", "evictions"},
        {offsetof(gpusim__gpu_cp_stats, restores), GPUSIM_STAT_COUNTER, "", "restores"},
        {offsetof(gpusim__gpu_cp_stats, resets), GPUSIM_STAT_COUNTER, "", "resets"},
        {offsetof(gpusim__gpu_cp_stats, evict_ns), GPUSIM_STAT_HISTOGRAM, "ns", "evict_ns"},
    };
    for (size_t i = 0; i < sizeof defs / sizeof defs[0]; i++) {
        char name[GPUSIM_STAT_NAME_MAX + 1];
        int rc;
        snprintf(name, sizeof name, "%s.cp.%s", cp->gpu->prefix, defs[i].name);
        rc = gpusim_stat_register(cp->world, name, defs[i].kind, defs[i].unit,
                                  (gpusim_stat_t **)((char *)&cp->st + defs[i].off));
        if (rc)
            return rc;
    }
    return 0;
}

int gpusim__gpu_cp_init(gpusim_gpu_t *g)
{
    gpusim__gpu_cp *cp = gpusim__arena_zalloc(&g->world->arena, sizeof *cp);
    int rc;
    if (!cp)
        return GPUSIM_ENOMEM;
    cp->gpu = g;
    cp->world = g->world;
    cp->next_handle = 1;
    rc = register_stats(cp);
    if (rc) {
        gpusim__arena_free(&g->world->arena, cp, sizeof *cp);
        return rc;
    }
    g->cp = cp;
    return 0;
}

void gpusim__gpu_cp_destroy(gpusim_gpu_t *g)
{
    gpusim__gpu_cp *cp = g->cp;
    if (!cp)
        return;
    cp->destroying = true;
    for (gpusim_gpu_ctx_t *c = g->ctx_head; c; c = c->next)
        ctx_state_free(c);
    while (cp->zombies) {
        gpusim_gpu_queue_t *q = cp->zombies;
        cp->zombies = q->next;
        (void)gpusim__gpu_engine_cancel(&q->job); /* its done must not come after the free */
        gpusim__gpu_queue_release(q);
    }
    while (cp->ops) {
        cp->ops->engine_owes = false; /* the engine goes with the device */
        op_detach(cp->ops);
    }
    gpusim__gpu_cp_fences_destroy(cp);
    gpusim__arena_free(&g->world->arena, cp, sizeof *cp);
    g->cp = NULL;
}

/* ---- checker -------------------------------------------------------------------------------- */

static bool queue_ok(const gpusim_gpu_ctx_t *c, const gpusim_gpu_queue_t *q)
{
    const gpusim__gpu_cp_ctx *cc = c->cp;
    bool holds_ev = q->phase == GPUSIM__CPQ_FETCH || q->phase == GPUSIM__CPQ_TLB;
    if (q->ctx != c || (q->next && q->next->prev != q) || (!q->next && cc->tail != q))
        return false;
    if (q->rptr > q->doorbell || q->doorbell > q->wptr || q->wptr - q->rptr > q->size ||
        (q->rptr | q->doorbell | q->wptr) % GPUSIM_PKT_DWORD != 0 || q->freed)
        return false;
    if (gpusim_event_pending(&q->ev) != holds_ev)
        return false;
    if ((q->phase == GPUSIM__CPQ_FENCE) != gpusim__gpu_fence_waiter_waiting(&q->fw))
        return false;
    if (q->reserved != (!holds_ev && q->phase != GPUSIM__CPQ_FENCE))
        return false;
    if (q->phase == GPUSIM__CPQ_JOB && !q->job_out)
        return false;
    /* Nothing issues while stopped. */
    if (q->phase == GPUSIM__CPQ_FETCH && (q->error || cc->sched != GPUSIM__CPC_RUN))
        return false;
    return !q->error || (q->phase == GPUSIM__CPQ_NONE && q->err.code < 0);
}

int gpusim__gpu_cp_check(const gpusim_gpu_t *g, char *buf, size_t len)
{
    const gpusim__gpu_cp *cp = g->cp;
    for (const gpusim_gpu_ctx_t *c = g->ctx_head; c; c = c->next) {
        const gpusim__gpu_cp_ctx *cc = c->cp;
        if (!cc)
            continue;
        if (cc->ctx != c ||
            (cc->op != NULL) !=
                (cc->sched == GPUSIM__CPC_EVICTING || cc->sched == GPUSIM__CPC_RESTORING) ||
            (cc->op && cc->op->ctx != c)) {
            snprintf(buf, len, "%s: command-processor state of context %u inconsistent", g->name,
                     gpusim_gpu_ctx_id(c));
            return GPUSIM_ECORRUPT;
        }
        for (const gpusim_gpu_queue_t *q = cc->head; q; q = q->next)
            if (!queue_ok(c, q)) {
                snprintf(buf, len, "%s: a queue of context %u is inconsistent", g->name,
                         gpusim_gpu_ctx_id(c));
                return GPUSIM_ECORRUPT;
            }
    }
    if (!gpusim__gpu_cp_fences_check(cp, buf, len))
        return GPUSIM_ECORRUPT;
    return 0;
}
