/*
 * gpu/engine_stub.c -- TEMPORARY: REPLACED BY engine.c. DELETE THIS FILE WHEN THE ENGINES LAND.
 *
 * A trivial implementation of the engine contract (gpu/engine.h), only so that the command
 * processor (cp.c, queue.c) links and can be tested before the compute and DMA engines exist:
 *   - submit checks the job, refuses TRACE kernels (no trace is ever registered here) and ends the
 *     job through a world event a fixed STUB_JOB_NS later, with status 0, or GPUSIM_ECTXKILLED if
 *     its context was killed meanwhile; it touches no memory and never faults;
 *   - cancel removes that event (done is then not called);
 *   - preempt_ctx calls stopped(data) through an event at the current time, without stopping
 *     anything (jobs keep running and may end while their context is evicted);
 *   - resume_ctx does nothing.
 * Each pending event lives in a small record owned by the world (freed at teardown if still
 * pending). The stub does not know devices: a device freed while a preemption record is pending
 * would have its stopped() called after the free, so tests do not do that.
 */
#include <stdio.h>

#include "gpu/device.h"
#include "gpu/engine.h"
#include "core/alloc.h"
#include "core/world.h"

/* How long every stub job takes. Not a cost parameter: the stub is not a model. */
#define STUB_JOB_NS GPUSIM_NS_PER_US

typedef struct stub_rec {
    gpusim__owned owned;         /* On the world's list (first member). */
    gpusim_world_t *w;           /* The world. */
    gpusim_event_t ev;           /* The job's end, or the preemption's stopped(). */
    gpusim__gpu_job *job;        /* The job, or NULL for a preemption. */
    void (*stopped)(void *data); /* Preemption: what to call, and with what. */
    void *data;
} stub_rec;

static void rec_free(stub_rec *r)
{
    gpusim__world_disown(&r->owned);
    gpusim__arena_free(&r->w->arena, r, sizeof *r);
}

static void rec_destroy(gpusim_world_t *w, gpusim__owned *o)
{
    stub_rec *r = (stub_rec *)o;
    if (gpusim_event_pending(&r->ev))
        (void)gpusim_event_cancel(w, &r->ev);
    if (r->job)
        r->job->run_ = NULL;
    gpusim__arena_free(&w->arena, r, sizeof *r);
}

static void rec_fire(gpusim_world_t *w, gpusim_event_t *ev)
{
    stub_rec *r = ev->data;
    gpusim__gpu_job *job = r->job;
    void (*stopped)(void *) = r->stopped;
    void *data = r->data;
    (void)w;
    rec_free(r);
    if (job) {
        job->run_ = NULL;
        job->done(job, gpusim_gpu_ctx_error(job->ctx) ? GPUSIM_ECTXKILLED : 0);
    } else {
        stopped(data);
    }
}

static stub_rec *rec_new(gpusim_world_t *w, gpusim_time_t when)
{
    stub_rec *r = gpusim__arena_zalloc(&w->arena, sizeof *r);
    if (!r)
        return NULL;
    r->w = w;
    gpusim_event_init(&r->ev, rec_fire, r);
    if (gpusim_event_schedule(w, &r->ev, when)) {
        gpusim__arena_free(&w->arena, r, sizeof *r);
        return NULL;
    }
    gpusim__world_own(w, &r->owned, rec_destroy);
    return r;
}

int gpusim__gpu_engine_submit(gpusim__gpu_job *job, char *msg, size_t msglen)
{
    gpusim_world_t *w;
    stub_rec *r;
    if (!job || !job->ctx || !job->done || job->run_ ||
        (job->kind != GPUSIM__GPU_JOB_DISPATCH && job->kind != GPUSIM__GPU_JOB_COPY)) {
        if (msg && msglen)
            snprintf(msg, msglen, "bad job");
        return GPUSIM_EINVAL;
    }
    if (job->kind == GPUSIM__GPU_JOB_DISPATCH && job->kernel.pattern == GPUSIM_PATTERN_TRACE) {
        if (msg && msglen)
            snprintf(msg, msglen, "trace %u is not registered", job->kernel.trace_id);
        return GPUSIM_EINVAL;
    }
    if (job->ctx->error)
        return GPUSIM_ECTXKILLED;
    w = job->ctx->gpu->world;
    r = rec_new(w, w->now + STUB_JOB_NS);
    if (!r)
        return GPUSIM_ENOMEM;
    r->job = job;
    job->run_ = r;
    job->started_ = w->now;
    return 0;
}

int gpusim__gpu_engine_cancel(gpusim__gpu_job *job)
{
    stub_rec *r;
    if (!job || !job->run_)
        return GPUSIM_ENOENT;
    r = job->run_;
    (void)gpusim_event_cancel(r->w, &r->ev);
    job->run_ = NULL;
    rec_free(r);
    return 0;
}

int gpusim__gpu_engine_preempt_ctx(gpusim_gpu_ctx_t *ctx, void (*stopped)(void *data), void *data)
{
    stub_rec *r;
    if (!ctx || !stopped)
        return GPUSIM_EINVAL;
    r = rec_new(ctx->gpu->world, ctx->gpu->world->now);
    if (!r)
        return GPUSIM_ENOMEM;
    r->stopped = stopped;
    r->data = data;
    return 0;
}

void gpusim__gpu_engine_resume_ctx(gpusim_gpu_ctx_t *ctx)
{
    (void)ctx;
}
