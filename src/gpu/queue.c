/*
 * gpu/queue.c -- user queues: the ring the host writes, the doorbell, and the in-order execution
 * of packets by the command processor (gpusim/gpu.h, "Queues"; gpu/cp.h).
 *
 * A queue runs one packet at a time. A step is: cp_packet to fetch and decode the packet at rptr
 * (an event), then execution. NOP and FENCE_SIGNAL complete at once; FENCE_WAIT completes at once
 * when the value is reached and otherwise blocks the queue on the fence; TLB_INVALIDATE applies
 * the invalidation and completes after its cost (tlb_inval_range / tlb_inval_context); COPY and
 * DISPATCH become a job on an engine and complete when it ends. Completing a packet moves rptr past
 * it and fetches the next, if the doorbell published one and the context is running.
 *
 * Errors. A packet the decoder refuses, a fence handle that names no fence, a signal value not
 * above the fence's, a failed fence, or a job the engine refuses stops the queue in error at that
 * packet (rptr stays on it; the packets before it ran). The fences that its unexecuted signals
 * would have raised then fail with GPUSIM_ECANCELED, so that nobody waits for ever on work that
 * will never run; a killed context fails them with GPUSIM_ECTXKILLED (cp.c). A queue in error
 * runs nothing more; the host reads why and frees it.
 *
 * Invariants: see gpu/cp.h (one event-queue slot per queue, in the form its phase says).
 */
#include <string.h>

#include "gpu/cp.h"
#include "gpu/device.h"
#include "core/alloc.h"
#include "core/event.h"

static gpusim_time_t later(const gpusim_world_t *w, uint64_t d)
{
    return d >= GPUSIM_TIME_MAX - w->now ? GPUSIM_TIME_MAX : w->now + d;
}

/* Takes back the slot a queue's event or fence waiter just gave up. The entry was released a
 * moment ago (an event ran or was cancelled, a reservation returned), so this cannot fail. */
static void q_rereserve(gpusim_gpu_queue_t *q)
{
    int rc = gpusim__queue_reserve(q->cp->world, 1);
    (void)GPUSIM_ALWAYS(rc == 0);
    q->reserved = true;
}

/* Neither the queue nor its context is held (preempted, or being preempted or resumed). */
static bool may_issue(const gpusim_gpu_queue_t *q)
{
    return !q->error && q->ctx->cp->sched == GPUSIM__CPC_RUN && q->sched == GPUSIM__CPC_RUN;
}

void gpusim__gpu_queue_kick(gpusim_gpu_queue_t *q)
{
    gpusim_world_t *w = q->cp->world;
    if (q->phase != GPUSIM__CPQ_NONE || !may_issue(q) || q->rptr == q->doorbell)
        return;
    q->phase = GPUSIM__CPQ_FETCH;
    q->reserved = false;
    gpusim__event_schedule_reserved(w, &q->ev, later(w, q->ctx->gpu->p[GPUSIM__GPU_P_cp_packet]));
}

/* The packet at rptr completed. */
static void q_complete(gpusim_gpu_queue_t *q)
{
    q->rptr += q->pkt.bytes;
    q->packets++;
    gpusim__stat_add(q->cp->st.packets, 1);
}

/* The opcode field of the header at rptr, if the doorbell published one. */
static uint32_t opcode_at_rptr(const gpusim_gpu_queue_t *q)
{
    const uint8_t *h = q->ring + (q->rptr & (q->size - 1)); /* dword-aligned: inside the ring */
    return q->rptr < q->doorbell ? h[0] : 0;
}

static void q_set_error(gpusim_gpu_queue_t *q, int code, const char *reason, const char *message,
                        const char *field, uint32_t opcode)
{
    q->error = true;
    q->err.code = code;
    q->err.offset = q->rptr;
    q->err.opcode = opcode;
    q->err.reason = reason;
    q->err.message = message;
    q->err.field = field;
    gpusim__stat_add(q->cp->st.errors, 1);
}

void gpusim__gpu_queue_fail(gpusim_gpu_queue_t *q, int code, const char *reason,
                            const char *message)
{
    if (q->error)
        return;
    /* A job is left to its engine, which ends it with GPUSIM_ECTXKILLED (gpu/engine.h): this may
     * run inside the engine's own call stack (a non-replayable fault kills the context from
     * gpusim_gpu_touch), where cancelling its job under it would be unsafe. */
    (void)gpusim__gpu_queue_halt(q, false);
    q_set_error(q, code, reason, message, NULL, opcode_at_rptr(q));
}

/* A packet failed while executing: the queue stops, its pending signals are abandoned. */
static void q_fail_exec(gpusim_gpu_queue_t *q, int code, const char *reason, const char *message)
{
    gpusim__gpu_queue_fail(q, code, reason, message);
    gpusim__gpu_queue_abandon_signals(q, GPUSIM_ECANCELED);
}

void gpusim__gpu_queue_abandon_signals(gpusim_gpu_queue_t *q, int err)
{
    gpusim__gpu_packet p;
    if (q->cp->destroying)
        return;
    for (uint64_t r = q->rptr;
         gpusim__gpu_packet_decode(q->ring, q->size, r, q->doorbell, &p, NULL) == 0; r += p.bytes) {
        gpusim__gpu_cp_fence *f;
        if (p.opcode != GPUSIM_PKT_FENCE_SIGNAL)
            continue;
        f = gpusim__gpu_cp_fence_find(q->cp, p.u.fence.fence);
        if (f && !f->f.error && f->f.value < p.u.fence.value)
            (void)gpusim__gpu_fence_set_error(q->cp->world, &f->f, err);
    }
}

bool gpusim__gpu_queue_halt(gpusim_gpu_queue_t *q, bool cancel_job)
{
    gpusim_world_t *w = q->cp->world;
    switch (q->phase) {
    case GPUSIM__CPQ_FETCH:
    case GPUSIM__CPQ_TLB:
        gpusim_event_cancel(w, &q->ev);
        q_rereserve(q);
        break;
    case GPUSIM__CPQ_FENCE:
        (void)gpusim__gpu_fence_waiter_cancel(w, &q->fw);
        q_rereserve(q);
        break;
    default:
        break;
    }
    /* A job may be out in phase JOB, or after a kill left it to its engine. ENOENT: it has ended
     * and its done is on its way; the queue must wait for it. */
    if (cancel_job && q->job_out && gpusim__gpu_engine_cancel(&q->job) == 0)
        q->job_out = false;
    q->phase = GPUSIM__CPQ_NONE;
    return !q->job_out;
}

void gpusim__gpu_queue_park(gpusim_gpu_queue_t *q)
{
    int phase = q->phase;
    if (phase != GPUSIM__CPQ_FETCH && phase != GPUSIM__CPQ_TLB)
        return; /* a job is preempted by the engine; a fence wait goes on waiting */
    gpusim_event_cancel(q->cp->world, &q->ev);
    q_rereserve(q);
    q->phase = GPUSIM__CPQ_NONE;
    if (phase == GPUSIM__CPQ_TLB)
        q_complete(q); /* the invalidation was applied when the packet began */
}

/* ---- executing packets ---------------------------------------------------------------------- */

static void q_fence_woken(gpusim_world_t *w, gpusim__gpu_fence_waiter *fw, int status)
{
    gpusim_gpu_queue_t *q = fw->data;
    (void)w;
    q_rereserve(q);
    q->phase = GPUSIM__CPQ_NONE;
    if (status != 0) {
        q_fail_exec(q, status, "fence_failed", "the fence the queue waits on failed");
        return;
    }
    q_complete(q);
    gpusim__gpu_queue_kick(q);
}

static void q_job_done(gpusim__gpu_job *job, int status)
{
    gpusim_gpu_queue_t *q = job->data;
    gpusim_gpu_ctx_t *c = q->ctx;
    q->job_out = false;
    if (q->freed) {
        gpusim__gpu_cp *cp = q->cp;
        if (q->prev)
            q->prev->next = q->next;
        else
            cp->zombies = q->next;
        if (q->next)
            q->next->prev = q->prev;
        gpusim__gpu_queue_release(q);
        return;
    }
    if (q->error || q->phase != GPUSIM__CPQ_JOB)
        return; /* stopped meanwhile */
    q->phase = GPUSIM__CPQ_NONE;
    if (status == 0) {
        q_complete(q);
        gpusim__gpu_queue_kick(q);
    } else if (status == GPUSIM_ECTXKILLED) {
        gpusim__gpu_queue_fail(q, c->error ? c->error : status, "context_killed",
                               "the queue's context was killed");
        gpusim__gpu_queue_abandon_signals(q, GPUSIM_ECTXKILLED);
    } else {
        q_fail_exec(q, status, "job_failed", "the engine ended the job with an error");
    }
}

static void exec_signal(gpusim_gpu_queue_t *q)
{
    gpusim__gpu_cp_fence *f = gpusim__gpu_cp_fence_find(q->cp, q->pkt.u.fence.fence);
    int rc;
    if (!f) {
        q_fail_exec(q, GPUSIM_ENOENT, "unknown_fence", "the fence handle names no fence");
        return;
    }
    rc = gpusim__gpu_fence_signal(q->cp->world, &f->f, q->pkt.u.fence.value);
    if (rc == 0) {
        q_complete(q);
        gpusim__gpu_queue_kick(q);
    } else if (f->f.error) {
        q_fail_exec(q, f->f.error, "fence_failed", "the fence to signal has failed");
    } else {
        q_fail_exec(q, GPUSIM_ERANGE, "fence_value",
                    "the signal value is not above the fence's value");
    }
}

static void exec_wait(gpusim_gpu_queue_t *q)
{
    gpusim__gpu_cp_fence *f = gpusim__gpu_cp_fence_find(q->cp, q->pkt.u.fence.fence);
    gpusim_world_t *w = q->cp->world;
    int rc;
    if (!f) {
        q_fail_exec(q, GPUSIM_ENOENT, "unknown_fence", "the fence handle names no fence");
        return;
    }
    /* The waiter takes over the queue's slot: a wait without a deadline reserves one. */
    gpusim__queue_unreserve(w, 1);
    q->reserved = false;
    rc = gpusim__gpu_fence_wait(w, &f->f, q->pkt.u.fence.value, &q->fw, q_fence_woken, q,
                                GPUSIM_TIME_MAX);
    if (rc == GPUSIM_EINPROGRESS) {
        q->phase = GPUSIM__CPQ_FENCE;
        return;
    }
    q_rereserve(q);
    if (rc == 0) {
        q_complete(q);
        gpusim__gpu_queue_kick(q);
    } else if (rc == GPUSIM_ENOMEM || rc == GPUSIM_ENOSPC) {
        q_fail_exec(q, GPUSIM_ENOMEM, "no_memory", "no memory to run the packet");
    } else {
        q_fail_exec(q, rc, "fence_failed", "the fence the queue waits on failed");
    }
}

static void exec_tlb(gpusim_gpu_queue_t *q)
{
    gpusim_world_t *w = q->cp->world;
    gpusim_time_t cost = 0;
    int rc;
    /* Applied when the packet begins; the queue moves on once the round trip is paid. */
    if (q->pkt.u.inval.scope == GPUSIM_TLB_SCOPE_RANGE)
        rc = gpusim_gpu_tlb_invalidate(q->ctx, q->pkt.u.inval.va, q->pkt.u.inval.bytes, &cost);
    else
        rc = gpusim_gpu_tlb_invalidate_ctx(q->ctx, &cost);
    (void)GPUSIM_ALWAYS(rc == 0); /* the decoder checked the range */
    q->phase = GPUSIM__CPQ_TLB;
    q->reserved = false;
    gpusim__event_schedule_reserved(w, &q->ev, later(w, cost));
}

static void exec_job(gpusim_gpu_queue_t *q)
{
    gpusim__gpu_job *j = &q->job;
    int rc;
    memset(j, 0, sizeof *j);
    j->ctx = q->ctx;
    if (q->pkt.opcode == GPUSIM_PKT_DISPATCH) {
        j->kind = GPUSIM__GPU_JOB_DISPATCH;
        j->kernel = q->pkt.u.dispatch;
    } else {
        j->kind = GPUSIM__GPU_JOB_COPY;
        j->dst = q->pkt.u.copy.dst_va;
        j->src = q->pkt.u.copy.src_va;
        j->bytes = q->pkt.u.copy.bytes;
    }
    j->done = q_job_done;
    j->data = q;
    q->msg[0] = '\0';
    rc = gpusim__gpu_engine_submit(j, q->msg, sizeof q->msg);
    if (rc == 0) {
        q->phase = GPUSIM__CPQ_JOB;
        q->job_out = true;
    } else if (rc == GPUSIM_EINVAL) {
        q_fail_exec(q, rc, "job_refused", q->msg[0] ? q->msg : "the engine refused the job");
    } else if (rc == GPUSIM_ECTXKILLED) {
        q_fail_exec(q, q->ctx->error ? q->ctx->error : rc, "context_killed",
                    "the queue's context was killed");
    } else {
        q_fail_exec(q, GPUSIM_ENOMEM, "no_memory", "no memory to run the packet");
    }
}

/* The fetch, or the end of a TLB invalidation. */
static void q_step(gpusim_world_t *w, gpusim_event_t *ev)
{
    gpusim_gpu_queue_t *q = ev->data;
    gpusim__gpu_packet_error perr;
    int phase = q->phase;
    int rc;
    (void)w;
    q_rereserve(q);
    q->phase = GPUSIM__CPQ_NONE;
    if (phase == GPUSIM__CPQ_TLB) {
        q_complete(q);
        gpusim__gpu_queue_kick(q);
        return;
    }
    if (!GPUSIM_ALWAYS(may_issue(q)))
        return; /* preemptions and errors cancel the fetch */
    rc = gpusim__gpu_packet_decode(q->ring, q->size, q->rptr, q->doorbell, &q->pkt, &perr);
    if (rc != 0) {
        if (rc == GPUSIM_EAGAIN)
            return; /* nothing published (kick checks) */
        q_set_error(q, GPUSIM_EINVAL, gpusim__gpu_packet_reason_name(perr.reason),
                    gpusim__gpu_packet_reason_str(perr.reason), perr.field, perr.opcode);
        gpusim__gpu_queue_abandon_signals(q, GPUSIM_ECANCELED);
        return;
    }
    switch (q->pkt.opcode) {
    case GPUSIM_PKT_NOP:
        q_complete(q);
        gpusim__gpu_queue_kick(q);
        break;
    case GPUSIM_PKT_FENCE_SIGNAL:
        exec_signal(q);
        break;
    case GPUSIM_PKT_FENCE_WAIT:
        exec_wait(q);
        break;
    case GPUSIM_PKT_TLB_INVALIDATE:
        exec_tlb(q);
        break;
    default: /* COPY, DISPATCH: the decoder knows no other opcode */
        exec_job(q);
        break;
    }
}

/* ---- the host's side ------------------------------------------------------------------------ */

int gpusim_gpu_queue_new(gpusim_gpu_ctx_t *c, uint32_t ring_bytes, gpusim_gpu_queue_t **out)
{
    gpusim__arena *a;
    gpusim__gpu_cp_ctx *cc;
    gpusim_gpu_queue_t *q;
    bool fresh;
    if (!c || !out || ring_bytes < GPUSIM_PKT_RING_MIN || ring_bytes > GPUSIM_PKT_RING_MAX ||
        (ring_bytes & (ring_bytes - 1)) != 0)
        return GPUSIM_EINVAL;
    if (c->error)
        return GPUSIM_ECTXKILLED;
    a = &c->gpu->world->arena;
    fresh = c->cp == NULL;
    cc = gpusim__gpu_cp_ctx_get(c);
    q = cc ? gpusim__arena_zalloc(a, sizeof *q) : NULL;
    if (q)
        q->ring = gpusim__arena_zalloc(a, ring_bytes);
    if (!q || !q->ring || gpusim__queue_reserve(c->gpu->world, 1)) {
        if (q)
            gpusim__arena_free(a, q->ring, q->ring ? ring_bytes : 0);
        gpusim__arena_free(a, q, q ? sizeof *q : 0);
        if (fresh && cc) {
            gpusim__arena_free(a, cc, sizeof *cc);
            c->cp = NULL;
        }
        return GPUSIM_ENOMEM;
    }
    q->cp = c->gpu->cp;
    q->ctx = c;
    q->size = ring_bytes;
    q->reserved = true;
    q->phase = GPUSIM__CPQ_NONE;
    gpusim_event_init(&q->ev, q_step, q);
    gpusim__gpu_fence_waiter_init(&q->fw);
    q->prev = cc->tail;
    if (cc->tail)
        cc->tail->next = q;
    else
        cc->head = q;
    cc->tail = q;
    *out = q;
    return 0;
}

void gpusim__gpu_queue_release(gpusim_gpu_queue_t *q)
{
    gpusim_world_t *w = q->cp->world;
    if (q->reserved)
        gpusim__queue_unreserve(w, 1);
    gpusim__arena_free(&w->arena, q->ring, q->size);
    gpusim__arena_free(&w->arena, q, sizeof *q);
}

void gpusim_gpu_queue_free(gpusim_gpu_queue_t *q)
{
    gpusim__gpu_cp_ctx *cc;
    gpusim__gpu_cp *cp;
    bool done;
    if (!q)
        return;
    cc = q->ctx->cp;
    cp = q->cp;
    if (q->prev)
        q->prev->next = q->next;
    else
        cc->head = q->next;
    if (q->next)
        q->next->prev = q->prev;
    else
        cc->tail = q->prev;
    q->prev = q->next = NULL;
    done = gpusim__gpu_queue_halt(q, true);
    gpusim__gpu_cp_queue_gone(q, done); /* a preemption or resume in progress is dropped */
    if (!q->error)                      /* else its signals were abandoned when it stopped */
        gpusim__gpu_queue_abandon_signals(q, GPUSIM_ECANCELED);
    if (!done) {
        /* The engine already ended the job and its done is on its way: free the queue then. */
        gpusim__queue_unreserve(cp->world, 1);
        q->reserved = false;
        q->freed = true;
        q->next = cp->zombies;
        if (cp->zombies)
            cp->zombies->prev = q;
        cp->zombies = q;
        return;
    }
    gpusim__gpu_queue_release(q);
}

int gpusim_gpu_queue_write(gpusim_gpu_queue_t *q, const void *bytes, size_t len)
{
    uint32_t pos, first;
    if (!q || !bytes || len == 0 || len % GPUSIM_PKT_DWORD != 0)
        return GPUSIM_EINVAL;
    if (len > q->size - (q->wptr - q->rptr))
        return GPUSIM_ENOSPC;
    pos = (uint32_t)(q->wptr & (q->size - 1));
    first = q->size - pos < len ? q->size - pos : (uint32_t)len;
    memcpy(q->ring + pos, bytes, first);
    memcpy(q->ring, (const uint8_t *)bytes + first, len - first);
    q->wptr += len;
    return 0;
}

int gpusim_gpu_queue_doorbell(gpusim_gpu_queue_t *q)
{
    if (!q)
        return GPUSIM_EINVAL;
    if (q->ctx->error)
        return GPUSIM_ECTXKILLED;
    if (q->error)
        return GPUSIM_ECANCELED;
    q->doorbell = q->wptr;
    gpusim__gpu_queue_kick(q);
    return 0;
}

int gpusim_gpu_queue_info(const gpusim_gpu_queue_t *q, gpusim_gpu_queue_info_t *out)
{
    if (!q || !out)
        return GPUSIM_EINVAL;
    memset(out, 0, sizeof *out);
    if (q->error)
        out->state = GPUSIM_GPU_QUEUE_ERROR;
    else if (q->ctx->cp->sched != GPUSIM__CPC_RUN || q->sched != GPUSIM__CPC_RUN)
        out->state = GPUSIM_GPU_QUEUE_PREEMPTED;
    else if (q->phase == GPUSIM__CPQ_FENCE)
        out->state = GPUSIM_GPU_QUEUE_WAITING;
    else if (q->phase != GPUSIM__CPQ_NONE || q->rptr != q->doorbell)
        out->state = GPUSIM_GPU_QUEUE_RUNNING;
    else
        out->state = GPUSIM_GPU_QUEUE_IDLE;
    out->size = q->size;
    out->rptr = q->rptr;
    out->wptr = q->wptr;
    out->doorbell = q->doorbell;
    out->packets = q->packets;
    if (q->error)
        out->error = q->err;
    return 0;
}
