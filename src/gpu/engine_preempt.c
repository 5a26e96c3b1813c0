/*
 * gpu/engine_preempt.c -- preemption of the engines' work (engine.c's header has the model): a
 * request per context and per job, the units it waits for, its report through its own event, and
 * resuming; the checker's view of the requests.
 */
#include <stdio.h>
#include <string.h>

#include "gpu/engine_int.h"

/* Unit u reached a preemption point (or ended): every request still waiting for it counts it,
 * and one that has no unit left to wait for reports (its event's slot was reserved at the
 * request). */
void gpusim__eng_stopped_one(unit *u)
{
    gpusim_world_t *w = world(u->r->g);
    for (int k = 0; k < REQ_KINDS; k++) {
        gpusim__gpu_preempt *p;
        if (!(u->waits & WAIT_BIT(k)))
            continue;
        u->waits &= (uint8_t)~WAIT_BIT(k);
        p = unit_req(u, k);
        GPUSIM_ASSERT(p->active && p->unstopped > 0);
        if (--p->unstopped == 0 && p->stopped)
            gpusim__event_schedule_reserved(w, &p->ev, w->now);
    }
}

static void stopped_event(gpusim_world_t *w, gpusim_event_t *ev)
{
    gpusim__gpu_preempt *p = ev->data;
    void (*cb)(void *) = p->stopped;
    (void)w;
    p->stopped = NULL;
    if (cb)
        cb(p->data);
}

/* Drops request p's report if it has not been delivered: its event, or the reservation for it. */
void gpusim__eng_preempt_drop_report(gpusim_gpu_t *g, gpusim__gpu_preempt *p)
{
    if (!p->stopped)
        return;
    if (gpusim_event_pending(&p->ev))
        (void)gpusim_event_cancel(world(g), &p->ev);
    else
        gpusim__queue_unreserve(world(g), 1);
    p->stopped = NULL;
}

/* ---- preemption ----------------------------------------------------------------------------- */

/*
 * Makes request p (of kind k, REQ_*) active: every running unit it covers is marked to stop at its
 * next event, and `stopped` is reported when the last of them has (at once if there is none).
 * Units parked, ready or stalled already are at a preemption point and are not waited for.
 */
static int preempt_start(gpusim_gpu_t *g, gpusim__gpu_preempt *p, int k,
                         void (*stopped)(void *data), void *data)
{
    uint64_t n = 0;
    if (p->active)
        return GPUSIM_EBUSY;
    if (stopped && gpusim__queue_reserve(world(g), 1))
        return GPUSIM_ENOMEM;
    gpusim__gpu_engines_disturb(g); /* fast-forwarding waves stop at their real position */
    for (unit *u = g->eng->live; u; u = u->next)
        if (unit_req(u, k) == p && u->state == W_RUN) {
            u->waits |= WAIT_BIT(k);
            n++;
        }
    p->active = true;
    p->unstopped = n;
    p->stopped = stopped;
    p->data = data;
    gpusim_event_init(&p->ev, stopped_event, p);
    if (stopped && n == 0)
        gpusim__event_schedule_reserved(world(g), &p->ev, world(g)->now);
    return 0;
}

/* Ends request p (of kind k): an undelivered report is dropped, and the units it held that nothing
 * else holds go back to work. */
static void preempt_end(gpusim_gpu_t *g, gpusim__gpu_preempt *p, int k)
{
    unit *u, *next;
    if (!p->active)
        return;
    gpusim__eng_preempt_drop_report(g, p);
    p->active = false;
    p->unstopped = 0;
    gpusim__gpu_engines_disturb(g);
    for (u = g->eng->live; u; u = next) {
        next = u->next;
        if (unit_req(u, k) != p)
            continue;
        u->waits &= (uint8_t)~WAIT_BIT(k);
        if (u->state == W_PARK && !u->copy && !unit_held(u)) {
            unit_unlink(&g->eng->live, u);
            u->state = W_READY;
            unit_link(&g->eng->ready, u);
        }
    }
    gpusim__eng_dispatch_more(g);
    gpusim__eng_dma_more(g);
}

int gpusim__gpu_engine_preempt_ctx(gpusim_gpu_ctx_t *c, void (*stopped)(void *data), void *data)
{
    if (!c)
        return GPUSIM_EINVAL;
    return preempt_start(c->gpu, &c->preempt, REQ_CTX, stopped, data);
}

void gpusim__gpu_engine_resume_ctx(gpusim_gpu_ctx_t *c)
{
    if (c)
        preempt_end(c->gpu, &c->preempt, REQ_CTX);
}

int gpusim__gpu_engine_preempt_job(gpusim__gpu_job *job, void (*stopped)(void *data), void *data)
{
    if (!job)
        return GPUSIM_EINVAL;
    if (!job->run_)
        return GPUSIM_ENOENT;
    return preempt_start(((run *)job->run_)->g, &job->preempt_, REQ_JOB, stopped, data);
}

void gpusim__gpu_engine_resume_job(gpusim__gpu_job *job)
{
    if (job && job->run_)
        preempt_end(((run *)job->run_)->g, &job->preempt_, REQ_JOB);
}

/* Units on the live list waiting for request p (of kind k). */
static uint64_t waiting_for(const gpusim__gpu_engines *e, const gpusim__gpu_preempt *p, int k)
{
    uint64_t n = 0;
    for (const unit *u = e->live; u; u = u->next)
        n += (u->waits & WAIT_BIT(k)) && unit_req(u, k) == p;
    return n;
}

/* A request's count matches the units waiting for it, and only an active one waits. */
static bool preempt_ok(const gpusim__gpu_engines *e, const gpusim__gpu_preempt *p, int k)
{
    return (p->active || p->unstopped == 0) && waiting_for(e, p, k) == p->unstopped;
}

/* The preemption invariants of gpu/engine.h. */
bool gpusim__eng_preempts_ok(const gpusim_gpu_t *g)
{
    const gpusim__gpu_engines *e = g->eng;
    for (const gpusim_gpu_ctx_t *c = g->ctx_head; c; c = c->next)
        if (!preempt_ok(e, &c->preempt, REQ_CTX))
            return false;
    for (const unit *u = e->live; u; u = u->next) {
        if (!preempt_ok(e, &u->r->job->preempt_, REQ_JOB))
            return false;
        if (u->state == W_RUN && unit_held(u) && u->waits == 0)
            return false; /* held, running, and nobody waiting for it to stop */
        if (u->state != W_RUN && u->waits != 0)
            return false; /* at a preemption point, yet counted as running */
    }
    for (const unit *u = e->ready; u; u = u->next)
        if (u->waits != 0)
            return false;
    for (const run *r = e->kernels; r; r = r->next)
        if (!preempt_ok(e, &r->job->preempt_, REQ_JOB))
            return false;
    for (const run *r = e->copies; r; r = r->next)
        if (!preempt_ok(e, &r->job->preempt_, REQ_JOB))
            return false;
    return true;
}
