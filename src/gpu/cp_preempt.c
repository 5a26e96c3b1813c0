/*
 * gpu/cp_preempt.c -- preemption in the command processor: eviction and restore of a context,
 * preemption and resume of one queue, and the preemption timeout that resets the device
 * (gpusim/gpu.h, "Preemption"; gpu/cp.h).
 *
 * A preemption -- an eviction of a context, or a preemption of one queue -- is an operation
 * (gpusim__gpu_cp_op) in stages: STOPPING (the queues concerned issue nothing more and their jobs
 * are asked to stop: gpusim__gpu_engine_preempt_ctx for a context, gpusim__gpu_engine_preempt_job
 * for the queue's job), SAVING (they have stopped: preempt_save), then the caller's callback. A
 * timer set at queue_preempt_timeout from the request races it; if it fires first, the device is
 * reset as amdkfd does when the CP misses its UNMAP_QUEUES fence: every context on the device is
 * killed with GPUSIM_ETIMEDOUT. Both kinds share that code: one implementation of the stages, the
 * timeout and the reset. A restore or a queue resume is a one-stage operation (queue_resume, then
 * the jobs and queues go on).
 *
 * The context's hold and the queue's are independent (gpu/cp.h): a queue preempted alone stays
 * preempted across an eviction and restore of its context, and an evicted context's queue may be
 * preempted and resumed alone; each operation charges its own cost.
 *
 * An operation outlives its target when the engine still owes it the `stopped` call (that call
 * carries only the operation's pointer), so operations are kept on the device's list, and freed
 * once both the callback is done with and the engine has answered -- or when the engine drops the
 * report: with the job (a queue freed, its job cancelled), with the context (freed), or with the
 * device.
 *
 * Event-queue slots: an operation holds one for its step event (a reservation while it waits for
 * the engine, the pending event otherwise), so a kill or a reset can always deliver its result.
 * User callbacks run from that event, last, so they may free the queue, the context or the device.
 *
 * Invariants: a context's (a queue's) `op` is the operation in progress, exactly when its sched is
 * STOPPING or RESUMING, and that operation names it; an operation names its context (and queue)
 * until it is freed or they are, so that freeing them finds it.
 *
 * Trace (core/trace.h): each operation is reported on the device's "<gpu>.cp" track, from its
 * request to the delivery of its result; a reset as an instant.
 */

#include "gpu/cp.h"
#include "gpu/device.h"
#include "core/alloc.h"
#include "core/event.h"
#include "core/trace.h"

enum { OP_EVICT, OP_RESTORE, OP_QPREEMPT, OP_QRESUME };
enum {
    ST_STOPPING, /* EVICT, QPREEMPT: waiting for the engine's stopped(); step reserved */
    ST_WORKING,  /* step pending at the end of preempt_save / queue_resume */
    ST_ENDING,   /* step pending at now, delivering a failure */
    ST_FINISHED  /* callback delivered or dropped; waiting only for the engine */
};

struct gpusim__gpu_cp_op {
    gpusim__gpu_cp *cp;    /* The device's command processor. */
    gpusim_gpu_ctx_t *ctx; /* The context (the queue's); NULL once it is freed. */
    gpusim_gpu_queue_t *q; /* QPREEMPT, QRESUME: the queue; NULL once it is freed. */
    int kind;              /* OP_*. */
    int stage;             /* ST_*. */
    bool engine_owes;      /* EVICT, QPREEMPT: the engine has yet to call stopped(). */
    bool reserved;         /* Holds a reservation for `step`. */
    gpusim_event_t step;   /* End of the stage, or delivery of a failure. */
    gpusim_event_t timer;  /* EVICT, QPREEMPT: the preemption timeout. */
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

/* The scheduling state and operation slot of what an unfinished operation works on. */
static int *op_sched(const gpusim__gpu_cp_op *op)
{
    return op->q ? &op->q->sched : &op->ctx->cp->sched;
}

static gpusim__gpu_cp_op **op_slot(const gpusim__gpu_cp_op *op)
{
    return op->q ? &op->q->op : &op->ctx->cp->op;
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

/* The operation no longer concerns its target: events stopped, the target's slot cleared. */
static void op_finish(gpusim__gpu_cp_op *op)
{
    gpusim_world_t *w = op->cp->world;
    gpusim__gpu_cp_op **slot;
    if (op->stage == ST_FINISHED)
        return;
    if (gpusim_event_pending(&op->timer))
        gpusim_event_cancel(w, &op->timer);
    if (gpusim_event_pending(&op->step))
        gpusim_event_cancel(w, &op->step);
    if (op->reserved)
        gpusim__queue_unreserve(w, 1);
    op->reserved = false;
    slot = op_slot(op);
    if (*slot == op)
        *slot = NULL;
    op->stage = ST_FINISHED;
}

/* Finishes the operation, and frees it unless the engine still owes it its report. */
static void op_detach(gpusim__gpu_cp_op *op)
{
    op_finish(op);
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

/* A stage's work is done: the target takes its new state. */
static void op_complete(gpusim__gpu_cp_op *op)
{
    gpusim__gpu_cp *cp = op->cp;
    gpusim_world_t *w = cp->world;
    gpusim_gpu_queue_t *q = op->q;
    switch (op->kind) {
    case OP_EVICT:
        op->ctx->cp->sched = GPUSIM__CPC_STOPPED;
        gpusim__stat_add(cp->st.evictions, 1);
        (void)gpusim__stat_record(cp->st.evict_ns, w->now - op->started);
        break;
    case OP_RESTORE:
        op->ctx->cp->sched = GPUSIM__CPC_RUN;
        gpusim__stat_add(cp->st.restores, 1);
        gpusim__gpu_engine_resume_ctx(op->ctx); /* jobs the queue holds stay held */
        for (gpusim_gpu_queue_t *it = op->ctx->cp->head; it; it = it->next)
            gpusim__gpu_queue_kick(it);
        break;
    case OP_QPREEMPT:
        q->sched = GPUSIM__CPC_STOPPED;
        gpusim__stat_add(cp->st.qpreempts, 1);
        (void)gpusim__stat_record(cp->st.qpreempt_ns, w->now - op->started);
        break;
    default: /* OP_QRESUME */
        q->sched = GPUSIM__CPC_RUN;
        gpusim__stat_add(cp->st.qresumes, 1);
        if (q->job_out)
            gpusim__gpu_engine_resume_job(&q->job); /* held still if the context is evicted */
        gpusim__gpu_queue_kick(q);
        break;
    }
}

/* Reports an operation that ends now, from its request (with the error it ends with, if any). */
static void trace_op(gpusim_world_t *w, const gpusim__gpu_cp_op *op, int status)
{
    static const char *const what[] = {
        [OP_EVICT] = "evict",
        [OP_RESTORE] = "restore",
        [OP_QPREEMPT] = "preempt queue",
        [OP_QRESUME] = "resume queue",
    };
    gpusim__trace_span(w, op->cp->gpu->track_cp, op->started, w->now, status ? "error" : NULL,
                       (uint64_t)(-(int64_t)status), "%s ctx%u", what[op->kind],
                       (unsigned)gpusim_gpu_ctx_id(op->ctx));
}

static void op_step(gpusim_world_t *w, gpusim_event_t *ev)
{
    gpusim__gpu_cp_op *op = ev->data;
    gpusim_gpu_ctx_cb cb = op->cb;
    void *data = op->data;
    int status = op->status;
    if (op->stage == ST_WORKING) {
        status = 0;
        op_complete(op);
    }
    if (gpusim__tracing(w))
        trace_op(w, op, status);
    op_detach(op);
    cb(data, status); /* last: it may free the queue, the context or the device */
}

/* Everything has stopped: saving takes preempt_save (the step takes over the reservation). */
static void op_save(gpusim__gpu_cp_op *op)
{
    gpusim_world_t *w = op->cp->world;
    op->stage = ST_WORKING;
    op->reserved = false;
    gpusim__event_schedule_reserved(w, &op->step,
                                    later(w, op->cp->gpu->p[GPUSIM__GPU_P_preempt_save]));
}

/* The engine: every job concerned has stopped. */
static void op_stopped(void *data)
{
    gpusim__gpu_cp_op *op = data;
    op->engine_owes = false;
    if (op->stage == ST_FINISHED) {
        op_unlink_free(op);
        return;
    }
    if (op->stage != ST_STOPPING)
        return; /* failing already */
    op_save(op);
}

/* The preemption did not complete in time: reset the device. */
static void op_timeout(gpusim_world_t *w, gpusim_event_t *ev)
{
    gpusim__gpu_cp_op *op = ev->data;
    gpusim__gpu_cp *cp = op->cp;
    uint64_t killed = 0;
    gpusim__stat_add(cp->st.resets, 1);
    cp->resetting = true; /* every operation ended by these kills reports GPUSIM_ETIMEDOUT */
    for (gpusim_gpu_ctx_t *c = cp->gpu->ctx_head; c; c = c->next)
        if (!c->error) {
            (void)gpusim_gpu_ctx_kill(c, GPUSIM_ETIMEDOUT);
            killed++;
        }
    cp->resetting = false;
    /* The reset itself is an instant; the timed-out operation reports its own span (failed). */
    GPUSIM_TRACE(w, cp->gpu->track_cp, w->now, w->now, "contexts", killed, "reset");
}

static gpusim__gpu_cp_op *op_new(gpusim__gpu_cp *cp, gpusim_gpu_ctx_t *c, gpusim_gpu_queue_t *q,
                                 int kind, gpusim_gpu_ctx_cb cb, void *data)
{
    gpusim__gpu_cp_op *op = gpusim__arena_zalloc(&cp->world->arena, sizeof *op);
    if (!op)
        return NULL;
    op->cp = cp;
    op->ctx = c;
    op->q = q;
    op->kind = kind;
    op->cb = cb;
    op->data = data;
    op->started = cp->world->now;
    gpusim_event_init(&op->step, op_step, op);
    gpusim_event_init(&op->timer, op_timeout, op);
    return op;
}

/* Puts a new operation in place on its target, in state `sched`. */
static void op_link(gpusim__gpu_cp_op *op, int stage, int sched)
{
    gpusim__gpu_cp *cp = op->cp;
    op->next = cp->ops;
    if (cp->ops)
        cp->ops->prev = op;
    cp->ops = op;
    op->stage = stage;
    *op_slot(op) = op;
    *op_sched(op) = sched;
}

/*
 * Starts a preemption: of every queue of context c (q NULL: an eviction), or of queue q of c
 * alone. The timeout is set and the engine asked to stop the jobs concerned -- the context's, or
 * q's job if one is out; with nothing to wait for, saving starts at once. Nothing changes on
 * failure (GPUSIM_ENOMEM).
 */
static int stop_begin(gpusim_gpu_ctx_t *c, gpusim_gpu_queue_t *q, gpusim_gpu_ctx_cb cb, void *data)
{
    gpusim__gpu_cp *cp = c->gpu->cp;
    gpusim_world_t *w = cp->world;
    bool engine = !q || q->job_out;
    gpusim__gpu_cp_op *op = op_new(cp, c, q, q ? OP_QPREEMPT : OP_EVICT, cb, data);
    int rc;
    if (!op)
        return GPUSIM_ENOMEM;
    rc = gpusim__queue_reserve(w, 1);
    if (rc == 0) {
        op->reserved = true;
        rc = gpusim_event_schedule(w, &op->timer,
                                   later(w, c->gpu->p[GPUSIM__GPU_P_queue_preempt_timeout]));
    }
    if (rc == 0 && engine) {
        op->engine_owes = true;
        rc = q ? gpusim__gpu_engine_preempt_job(&q->job, op_stopped, op)
               : gpusim__gpu_engine_preempt_ctx(c, op_stopped, op);
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
    op_link(op, ST_STOPPING, GPUSIM__CPC_STOPPING);
    if (q) {
        gpusim__gpu_queue_park(q);
    } else {
        for (gpusim_gpu_queue_t *it = c->cp->head; it; it = it->next)
            gpusim__gpu_queue_park(it);
    }
    if (!engine)
        op_save(op);
    return 0;
}

/* Starts a restore of context c (q NULL) or a resume of queue q: queue_resume, then they go on. */
static int resume_begin(gpusim_gpu_ctx_t *c, gpusim_gpu_queue_t *q, gpusim_gpu_ctx_cb cb,
                        void *data)
{
    gpusim_world_t *w = c->gpu->world;
    gpusim__gpu_cp_op *op = op_new(c->gpu->cp, c, q, q ? OP_QRESUME : OP_RESTORE, cb, data);
    if (!op)
        return GPUSIM_ENOMEM;
    if (gpusim_event_schedule(w, &op->step, later(w, c->gpu->p[GPUSIM__GPU_P_queue_resume]))) {
        gpusim__arena_free(&w->arena, op, sizeof *op);
        return GPUSIM_ENOMEM;
    }
    op_link(op, ST_WORKING, GPUSIM__CPC_RESUMING);
    return 0;
}

int gpusim_gpu_ctx_evict(gpusim_gpu_ctx_t *c, gpusim_gpu_ctx_cb cb, void *data)
{
    if (!c || !cb)
        return GPUSIM_EINVAL;
    if (c->error)
        return GPUSIM_ECTXKILLED;
    if (c->cp && c->cp->sched != GPUSIM__CPC_RUN)
        return GPUSIM_EBUSY;
    if (!gpusim__gpu_cp_ctx_get(c))
        return GPUSIM_ENOMEM; /* a new cp state stays if stop_begin fails: it is empty */
    return stop_begin(c, NULL, cb, data);
}

int gpusim_gpu_ctx_restore(gpusim_gpu_ctx_t *c, gpusim_gpu_ctx_cb cb, void *data)
{
    if (!c || !cb)
        return GPUSIM_EINVAL;
    if (c->error)
        return GPUSIM_ECTXKILLED;
    if (!c->cp || c->cp->sched == GPUSIM__CPC_RUN)
        return GPUSIM_EINVAL;
    if (c->cp->sched != GPUSIM__CPC_STOPPED)
        return GPUSIM_EBUSY;
    return resume_begin(c, NULL, cb, data);
}

int gpusim_gpu_queue_preempt(gpusim_gpu_queue_t *q, gpusim_gpu_ctx_cb cb, void *data)
{
    if (!q || !cb)
        return GPUSIM_EINVAL;
    if (q->ctx->error)
        return GPUSIM_ECTXKILLED;
    if (q->error)
        return GPUSIM_ECANCELED;
    if (q->sched != GPUSIM__CPC_RUN)
        return GPUSIM_EBUSY;
    return stop_begin(q->ctx, q, cb, data);
}

int gpusim_gpu_queue_resume(gpusim_gpu_queue_t *q, gpusim_gpu_ctx_cb cb, void *data)
{
    if (!q || !cb)
        return GPUSIM_EINVAL;
    if (q->ctx->error)
        return GPUSIM_ECTXKILLED;
    if (q->sched == GPUSIM__CPC_RUN)
        return GPUSIM_EINVAL;
    if (q->sched != GPUSIM__CPC_STOPPED)
        return GPUSIM_EBUSY;
    return resume_begin(q->ctx, q, cb, data);
}

/* ---- the rest of the command processor's hooks ---------------------------------------------- */

void gpusim__gpu_cp_ops_killed(gpusim_gpu_ctx_t *c)
{
    gpusim__gpu_cp_ctx *cc = c->cp;
    int status = c->gpu->cp->resetting ? GPUSIM_ETIMEDOUT : GPUSIM_ECTXKILLED;
    /* Nothing is in progress any more (a dead context runs nothing anyway): the queues'
     * operations end first, in queue order, then the context's. */
    for (gpusim_gpu_queue_t *q = cc->head; q; q = q->next)
        if (q->op) {
            gpusim__gpu_cp_op *op = q->op;
            q->op = NULL;
            q->sched = GPUSIM__CPC_RUN;
            op_fail(op, status);
        }
    if (cc->op) {
        gpusim__gpu_cp_op *op = cc->op;
        cc->op = NULL;
        cc->sched = GPUSIM__CPC_RUN;
        op_fail(op, status);
    }
}

void gpusim__gpu_cp_ops_ctx_gone(gpusim_gpu_ctx_t *c)
{
    /* The operation in progress, and one that is delivering a failure, are dropped; so is the
     * wait for the engine's report, which the engine drops with the context (it resumes the
     * context's preemption and cancels its jobs, gpusim__gpu_engines_ctx_gone, right after). */
    for (gpusim__gpu_cp_op *op = c->gpu->cp->ops, *next; op; op = next) {
        next = op->next;
        if (op->ctx == c) {
            op->engine_owes = false;
            op_detach(op);
        }
    }
}

void gpusim__gpu_cp_queue_gone(gpusim_gpu_queue_t *q, bool job_cancelled)
{
    for (gpusim__gpu_cp_op *op = q->cp->ops, *next; op; op = next) {
        next = op->next;
        if (op->q != q)
            continue;
        if (job_cancelled)
            op->engine_owes = false; /* the job's preemption went with it */
        op_finish(op);
        op->q = NULL; /* a report still owed (the job's end is due) finds it finished */
        if (!op->engine_owes)
            op_unlink_free(op);
    }
}

void gpusim__gpu_cp_ops_destroy(gpusim__gpu_cp *cp)
{
    while (cp->ops) {
        cp->ops->engine_owes = false; /* the engine goes with the device */
        op_detach(cp->ops);
    }
}

bool gpusim__gpu_cp_op_names(const gpusim__gpu_cp_op *op, const gpusim_gpu_ctx_t *c,
                             const gpusim_gpu_queue_t *q)
{
    return op->ctx == c && op->q == q && op->stage != ST_FINISHED;
}
