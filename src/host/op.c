/*
 * host/op.c -- the asynchronous operation engine (contract in host/host.h, "Operations").
 *
 * One event per operation at a time: the operation's event either continues its step (after a
 * yield) or delivers its completion. An operation that waits (an invalidation the notifier made
 * wait, a completion) is resumed by that wait's callback instead, which runs inside an event.
 * Because an operation always holds a queue reservation when it is not queued, and an event's own
 * queue entry is released before its callback runs, re-reserving at the top of every callback can
 * never fail.
 */
#include "host/host.h"
#include "core/alloc.h"
#include "core/completion.h"
#include "core/event.h"

static void op_run(hop *op);

static void op_event(gpusim_world_t *w, gpusim_event_t *ev)
{
    hop *op = ev->data;
    (void)w;
    op_run(op);
}

static void op_finish_event(gpusim_world_t *w, gpusim_event_t *ev)
{
    hop *op = ev->data;
    gpusim_host_t *h = op->h;
    gpusim_host_cb cb = op->cb;
    void *data = op->data;
    int status = op->status;
    uint64_t result = op->result;
    gpusim_process_t *p = op->p;
    (void)w;
    if (p) {
        if (op->pprev)
            op->pprev->pnext = op->pnext;
        else
            p->ops = op->pnext;
        if (op->pnext)
            op->pnext->pprev = op->pprev;
    }
    h->ops_inflight--;
    gpusim__op_discard(op);
    if (cb)
        cb(data, status, result);
}

hop *gpusim__op_new(gpusim_host_t *h, gpusim_process_t *p, int (*step)(hop *), gpusim_host_cb cb,
                    void *data)
{
    gpusim_world_t *w = h->world;
    hop *op = gpusim__arena_zalloc(&w->arena, sizeof *op);
    if (!op)
        return NULL;
    if (gpusim__queue_reserve(w, 1)) {
        gpusim__arena_free(&w->arena, op, sizeof *op);
        return NULL;
    }
    op->h = h;
    op->p = p;
    op->step = step;
    op->cb = cb;
    op->data = data;
    op->reserved = true;
    op->kind = GPUSIM_INVALIDATOR_SYSCALL;
    op->started = w->now;
    gpusim_event_init(&op->ev, op_event, op);
    gpusim_invalidation_init(&op->inv);
    gpusim_waiter_init(&op->waiter);
    return op;
}

void gpusim__op_discard(hop *op)
{
    gpusim_world_t *w = op->h->world;
    if (op->fini)
        op->fini(op);
    if (op->reserved)
        gpusim__queue_unreserve(w, 1);
    gpusim__arena_free(&w->arena, op, sizeof *op);
}

void gpusim__op_start(hop *op)
{
    gpusim_world_t *w = op->h->world;
    if (op->p) {
        op->pnext = op->p->ops;
        op->pprev = NULL;
        if (op->p->ops)
            op->p->ops->pprev = op;
        op->p->ops = op;
    }
    op->h->ops_inflight++;
    op->reserved = false;
    gpusim__event_schedule_reserved(w, &op->ev, w->now);
}

static void op_schedule(hop *op, gpusim_event_cb cb)
{
    gpusim_world_t *w = op->h->world;
    gpusim_time_t when = w->now + op->cost;
    op->cost = 0;
    gpusim_event_init(&op->ev, cb, op);
    op->reserved = false;
    gpusim__event_schedule_reserved(w, &op->ev, when);
}

static void op_run(hop *op)
{
    gpusim_world_t *w = op->h->world;
    if (!op->reserved) {
        /* Our own entry (or the waiter's) has just left the queue: this cannot grow it. */
        int rc = gpusim__queue_reserve(w, 1);
        GPUSIM_ASSERT(rc == 0);
        (void)rc;
        op->reserved = true;
    }
    for (;;) {
        int rc;
        if (op->p && op->p->state != GPUSIM_PROCESS_LIVE && !op->exempt &&
            !gpusim_invalidation_active(&op->inv) && !op->dr) {
            op->status = GPUSIM_ESRCH;
            gpusim__op_stall_end(op);
            op_schedule(op, op_finish_event);
            return;
        }
        rc = op->step(op);
        if (rc == STEP_DONE) {
            op_schedule(op, op_finish_event);
            return;
        }
        if (rc == STEP_YIELD) {
            op_schedule(op, op_event);
            return;
        }
        return; /* STEP_BLOCKED: the wait's callback calls op_run again */
    }
}

/* ---- invalidations -------------------------------------------------------------------------- */

static void op_inv_proceed(gpusim_world_t *w, gpusim_invalidation_t *inv, int status)
{
    hop *op = inv->data;
    (void)w;
    (void)status; /* a started blockable invalidation cannot fail */
    op_run(op);
}

int gpusim__op_invalidate(hop *op, gpusim_process_t *p, uint64_t start, uint64_t end,
                          gpusim_notifier_event_t event, bool blockable)
{
    gpusim_notifier_range_t r;
    int rc;
    r.start = start;
    r.end = end;
    r.event = event;
    r.invalidator = op->kind;
    r.blockable = blockable;
    r.owner = NULL;
    if (gpusim_notifier_count(p->notifier) > 0)
        op->cost += op->h->p[HP_notifier_dispatch];
    rc = gpusim_notifier_invalidate_start(p->notifier, &op->inv, &r, op_inv_proceed, op);
    if (rc == GPUSIM_EINPROGRESS)
        return OP_WAIT;
    if (rc == GPUSIM_ENOSPC)
        rc = GPUSIM_ENOMEM;
    return rc;
}

void gpusim__op_invalidate_end(hop *op)
{
    int rc = gpusim_notifier_invalidate_end(&op->inv);
    GPUSIM_ASSERT(rc == 0);
    (void)rc;
}

/* ---- waits ---------------------------------------------------------------------------------- */

static void op_wake(gpusim_world_t *w, gpusim_waiter_t *waiter)
{
    hop *op = waiter->data;
    (void)w;
    op_run(op);
}

void gpusim__op_wait(hop *op, gpusim_completion_t *c)
{
    GPUSIM_ASSERT(op->reserved && !gpusim_completion_done(c));
    op->reserved = false; /* the waiter takes our reservation */
    gpusim__completion_enqueue(op->h->world, c, &op->waiter, op_wake, op);
}
