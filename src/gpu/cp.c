/*
 * gpu/cp.c -- the command processor's device and context state: life cycle, killed contexts,
 * freeing, and the checker (gpu/cp.h). Preemption -- eviction, restore, queue preemption and
 * resume, the timeout and the reset -- is in cp_preempt.c; the queues are in queue.c.
 *
 * Invariants: a context's command-processor state exists from its first queue or eviction until
 * the context is freed, and names it; see gpu/cp.h for the rest.
 */
#include <stdio.h>
#include <string.h>

#include "gpu/cp.h"
#include "gpu/device.h"
#include "core/alloc.h"
#include "core/event.h"

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
    gpusim__gpu_cp_ops_killed(c); /* preemptions and resumes in progress end with the kill */
}

/* Frees the queues and the state of a context; its operation is dropped. */
static void ctx_state_free(gpusim_gpu_ctx_t *c)
{
    gpusim__gpu_cp_ctx *cc = c->cp;
    gpusim__gpu_cp *cp = c->gpu->cp;
    if (!cc)
        return;
    while (cc->head)
        gpusim_gpu_queue_free(cc->head); /* their preemptions and resumes go with them */
    gpusim__gpu_cp_ops_ctx_gone(c);
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
    static const gpusim__stat_def defs[] = {
        {"cp.packets", GPUSIM_STAT_COUNTER, "", offsetof(gpusim__gpu_cp_stats, packets)},
        {"cp.queue_errors", GPUSIM_STAT_COUNTER, "", offsetof(gpusim__gpu_cp_stats, errors)},
        {"cp.evictions", GPUSIM_STAT_COUNTER, "", offsetof(gpusim__gpu_cp_stats, evictions)},
        {"cp.restores", GPUSIM_STAT_COUNTER, "", offsetof(gpusim__gpu_cp_stats, restores)},
        {"cp.resets", GPUSIM_STAT_COUNTER, "", offsetof(gpusim__gpu_cp_stats, resets)},
        {"cp.evict_ns", GPUSIM_STAT_HISTOGRAM, "ns", offsetof(gpusim__gpu_cp_stats, evict_ns)},
        {"cp.queue_preemptions", GPUSIM_STAT_COUNTER, "",
         offsetof(gpusim__gpu_cp_stats, qpreempts)},
        {"cp.queue_resumes", GPUSIM_STAT_COUNTER, "", offsetof(gpusim__gpu_cp_stats, qresumes)},
        {"cp.queue_preempt_ns", GPUSIM_STAT_HISTOGRAM, "ns",
         offsetof(gpusim__gpu_cp_stats, qpreempt_ns)},
    };
    return gpusim__stats_register_prefixed(cp->world, cp->gpu->prefix, defs,
                                           GPUSIM_ARRAY_SIZE(defs), &cp->st);
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
    gpusim__gpu_cp_ops_destroy(cp);
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
    /* Its own preemption: an operation exactly while one is in progress, naming the queue. */
    if ((q->op != NULL) != (q->sched == GPUSIM__CPC_STOPPING || q->sched == GPUSIM__CPC_RESUMING) ||
        (q->op && !gpusim__gpu_cp_op_names(q->op, c, q)))
        return false;
    /* Nothing issues while stopped. */
    if (q->phase == GPUSIM__CPQ_FETCH &&
        (q->error || cc->sched != GPUSIM__CPC_RUN || q->sched != GPUSIM__CPC_RUN))
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
                (cc->sched == GPUSIM__CPC_STOPPING || cc->sched == GPUSIM__CPC_RESUMING) ||
            (cc->op && !gpusim__gpu_cp_op_names(cc->op, c, NULL))) {
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
