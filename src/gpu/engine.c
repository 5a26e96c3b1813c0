/*
 * gpu/engine.c -- the compute and DMA engines (the contract is gpu/engine.h).
 *
 * Compute. A DISPATCH is a kernel of `waves` waves, each running its share of every pass's
 * touches (gpu/pattern.h splits a pass evenly and in order). The engine has compute_units units;
 * a unit runs one wave at a time, waves start in submission order (all of a job's waves before the
 * next job's), and a preempted wave gives its unit back and starts again, ahead of new waves, when
 * its context is resumed. A running wave advances in slices of engine_quantum virtual time: at the
 * start of a slice it translates and charges touch after touch -- translation (the TLBs of engine
 * 0), memory time (bytes over its unit's share of hbm_bw, or of the PCIe bandwidth for system
 * memory) and compute_ns_per_touch -- and the slice's event fires when that time has passed. An
 * access that faults ends the slice before it; the next slice starts with it and, if it still
 * faults, the wave stalls in the fault path (gpu/fault.c) until a replay or until its context
 * dies. A touch that crosses a page boundary is two accesses.
 *
 * DMA. A COPY runs on engine 1 (engine 0 on a one-engine device), one copy at a time in
 * submission order: dma_setup once, then chunks, each as large as both pages it touches allow
 * (a 2 MiB mapping on both sides moves 2 MiB at once), at the bandwidth of its path: host to
 * device pcie_h2d_pinned, device to host pcie_d2h_pinned, device to device half of hbm_bw (read
 * and write), host to host the slower PCIe direction. Chunks are timed and faulted exactly as
 * touches. No data moves: the host MM owns contents (data mode) and the GPU model owns timing.
 *
 * Preemption points are slice ends and stalled accesses. A preemption request (gpu/engine.h:
 * gpusim__gpu_preempt) is either a context's (preempt_ctx) or a job's (preempt_job); one mechanism
 * serves both. A unit is held while its context's or its job's request is active: at its next
 * preemption point it parks, giving its compute unit (or the DMA engine) back, and units of other
 * jobs take it. When a request is made, every unit it covers that is running (W_RUN) is marked as
 * waiting for it (a bit per request kind in `waits`) and counted in its `unstopped`; a unit that
 * reaches a preemption point, or ends, clears its bits and counts down every request it waited
 * for, and a request that reaches 0 reports through its own event. A parked unit goes back to
 * work (waves through the ready queue, ahead of new waves) only when neither request holds it.
 *
 * Event-queue slots: every wave and copy holds exactly one slot of its own at all times -- a
 * reservation when its event is not pending -- and every job one more for its done callback, so
 * nothing after a successful submit fails for want of memory (a failure to launch a wave ends the
 * job with GPUSIM_ENOMEM instead).
 *
 * Steady state: a wave whose last two passes took the same time with nothing changed on the
 * device (the epoch, bumped by gpusim__gpu_engines_disturb) charges the remaining passes at once;
 * a disturbance stops it at the end of the pass in progress (docs/gpu.md).
 * Across kernels (engine_memo.c): a kernel that continues a steady cycle of recorded kernels
 * starts its waves as replays of their recorded times; a disturbance stops a replay where it is.
 *
 * Trace (core/trace.h): each job that ends is reported on "<gpu>.compute" or "<gpu>.dma", from
 * its submission to its end (the interval engine.busy_ns adds up).
 *
 * Not modelled yet: memory latency (dependent pointer chases are timed like streams).
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "gpu/engine_int.h"
#include "core/trace.h"

/* ---- ending jobs ---------------------------------------------------------------------------- */

/* Reports a job's time on its engine (submission to end, as engine.busy_ns counts it). */
static void trace_job(gpusim_world_t *w, const gpusim__gpu_job *job, int status)
{
    const gpusim_gpu_t *g = job->ctx->gpu;
    const char *arg_name = status ? "error" : NULL;
    uint64_t arg = (uint64_t)(-(int64_t)status);
    if (job->kind == GPUSIM__GPU_JOB_DISPATCH) {
        gpusim__trace_span(w, g->track_compute, job->started_, w->now, arg_name, arg,
                           "kernel ctx%u", (unsigned)gpusim_gpu_ctx_id(job->ctx));
    } else {
        gpusim__trace_span(w, g->track_dma, job->started_, w->now, status ? "error" : "bytes",
                           status ? arg : job->bytes, "copy ctx%u",
                           (unsigned)gpusim_gpu_ctx_id(job->ctx));
    }
}

static void done_event(gpusim_world_t *w, gpusim_event_t *ev)
{
    run *r = ev->data;
    gpusim__gpu_job *job = r->job;
    gpusim__gpu_preempt *p = &job->preempt_;
    int status = r->status;
    gpusim__gpu_engines *e = r->g->eng;
    job->run_ = NULL;
    gpusim__arena_free(arena(r->g), r, sizeof *r);
    /* A preemption requested after the job's end was scheduled reports after it: deliver that
     * report first, since the job is the submitter's again once done has run. */
    if (p->stopped && gpusim_event_pending(&p->ev)) {
        void (*cb)(void *) = p->stopped;
        (void)gpusim_event_cancel(w, &p->ev);
        p->stopped = NULL;
        cb(p->data);
    }
    GPUSIM_ASSERT(!p->stopped); /* its last unit has ended: unstopped is 0 */
    p->active = false;
    gpusim__stat_add(e->st_busy_ns, w->now - job->started_);
    if (gpusim__tracing(w))
        trace_job(w, job, status);
    job->done(job, status); /* last: the submitter may free the job */
}

/* Ends a job whose units are all gone: done is delivered through its own event. */
static void run_finish(run *r)
{
    if (r->ended || r->live > 0)
        return;
    if (r->job->kind == GPUSIM__GPU_JOB_DISPATCH && r->status == 0 &&
        r->next_wave < r->job->kernel.waves)
        return; /* waves still to launch */
    r->ended = true;
    gpusim__eng_memo_end(r->g, r);
    gpusim__event_schedule_reserved(world(r->g), &r->done_ev, world(r->g)->now);
}

static void fifo_remove(run **head, run **tail, run *r)
{
    run *prev = NULL;
    for (run *it = *head; it; prev = it, it = it->next)
        if (it == r) {
            if (prev)
                prev->next = r->next;
            else
                *head = r->next;
            if (*tail == r)
                *tail = prev;
            r->next = NULL;
            return;
        }
}

/*
 * A unit of run r started or ended: the epoch moves (gpusim__eng_epoch). For the kernel being
 * recorded (`own`) this is part of what it does, so its replayed waves go on and the recording
 * stays clean; any other unit is something the recorded kernel did not do.
 */
static void unit_came_or_went(gpusim_gpu_t *g, const run *r, bool own)
{
    if (!own)
        gpusim__eng_memo_poison(g);
    gpusim__eng_epoch(g, r);
}

/* Frees a unit (it holds a reservation: its event is not pending) and lets others run. */
void gpusim__eng_unit_free(gpusim_gpu_t *g, unit *u)
{
    gpusim__gpu_engines *e = g->eng;
    run *r = u->r;
    bool own = !u->copy && r == e->memo.rec; /* before run_finish ends the recording */
    if (own)
        gpusim__eng_memo_wave_end(g, u);
    if (u->state == W_READY)
        unit_unlink(&e->ready, u);
    else
        unit_unlink(&e->live, u);
    if (u->state == W_RUN || u->state == W_STALL) {
        if (u->copy)
            e->dma_busy = false;
        else
            e->free_units++;
    }
    gpusim__eng_stopped_one(u);
    if (u->ff) { /* the fast-forward ran to its end: every remaining pass was skipped */
        gpusim__stat_add(e->st_ff_passes, r->job->kernel.passes - u->ff_base);
        u->ff = false;
        e->nff--;
        e->nreplay -= u->replay;
    }
    e->copy_units -= u->copy;
    gpusim__queue_unreserve(world(g), 1);
    gpusim__arena_free(arena(g), u, sizeof *u);
    r->live--;
    run_finish(r);
    unit_came_or_went(g, r, own);
}

/* A unit's context died or its job failed: it ends here (its event is not pending). */
void gpusim__eng_unit_die(gpusim_gpu_t *g, unit *u, int status)
{
    if (u->r->status == 0)
        u->r->status = status;
    gpusim__eng_unit_free(g, u);
    gpusim__eng_dispatch_more(g);
    gpusim__eng_dma_more(g);
}

/* Parks a unit at a preemption point: it gives its compute unit (or the DMA engine) back. */
void gpusim__eng_unit_park(gpusim_gpu_t *g, unit *u)
{
    gpusim__gpu_engines *e = g->eng;
    if (u->copy)
        e->dma_busy = false;
    else
        e->free_units++;
    u->state = W_PARK;
    gpusim__eng_stopped_one(u);
    gpusim__eng_dispatch_more(g);
    gpusim__eng_dma_more(g);
}

void gpusim__eng_unit_schedule(gpusim_gpu_t *g, unit *u, gpusim_time_t delay)
{
    u->state = W_RUN;
    gpusim__event_schedule_reserved(world(g), &u->ev, world(g)->now + delay);
}

/* A new unit for run r, holding its reservation; NULL on ENOMEM (the job then dies). */
static unit *unit_new(gpusim_gpu_t *g, run *r, bool copy)
{
    unit *u = gpusim__arena_zalloc(arena(g), sizeof *u);
    if (!u)
        return NULL;
    if (gpusim__queue_reserve(world(g), 1)) {
        gpusim__arena_free(arena(g), u, sizeof *u);
        return NULL;
    }
    u->r = r;
    u->copy = copy;
    g->eng->copy_units += copy;
    gpusim_gpu_req_init(&u->req);
    gpusim_event_init(&u->ev, gpusim__eng_unit_event, u);
    unit_link(&g->eng->live, u);
    r->live++;
    return u;
}

/* Starts waves on free units: preempted waves no longer held first, then new waves. */
void gpusim__eng_dispatch_more(gpusim_gpu_t *g)
{
    gpusim__gpu_engines *e = g->eng;
    while (e->free_units > 0) {
        unit *u = e->ready;
        run *r;
        while (u && unit_held(u))
            u = u->next;
        if (u) {
            unit_unlink(&e->ready, u);
            unit_link(&e->live, u);
            e->free_units--;
            unit_came_or_went(g, u->r, !u->copy && u->r == e->memo.rec);
            u->steady = 0; /* it continues where it stopped; this pass's time is not steady */
            u->pass_start = world(g)->now;
            u->pass_epoch = e->epoch;
            gpusim__eng_unit_schedule(g, u, 0);
            continue;
        }
        for (r = e->kernels; r && (job_held(r->job) || r->status); r = r->next)
            ;
        if (!r)
            return;
        if (r->next_wave == 0)
            r->replay = gpusim__eng_memo_start(g, r);
        u = unit_new(g, r, false);
        if (!u) {
            r->status = GPUSIM_ENOMEM;
            fifo_remove(&e->kernels, &e->ktail, r);
            run_finish(r);
            continue;
        }
        gpusim__gpu_pattern_wave(&r->pat, r->next_wave, r->job->kernel.waves, &u->lo, &u->hi);
        u->i = u->lo;
        u->wave = (uint32_t)r->next_wave;
        u->start = world(g)->now;
        unit_came_or_went(g, r, r == e->memo.rec);
        u->pass_start = world(g)->now;
        u->pass_epoch = e->epoch;
        if (++r->next_wave == r->job->kernel.waves)
            fifo_remove(&e->kernels, &e->ktail, r);
        e->free_units--;
        if (r->replay) {
            /* It repeats its wave of the memo's kernel: all passes at once, as a fast-forward
             * that a disturbance stops where the wave has got to (engine_slice.c). */
            u->ff = u->replay = true;
            u->ff_base = 0;
            u->ff_start = u->start;
            u->last_cost = gpusim__eng_memo_wave_time(g, u->wave);
            u->pass = r->job->kernel.passes;
            e->nff++;
            e->nreplay++;
            gpusim__eng_unit_schedule(g, u, u->last_cost);
        } else {
            gpusim__eng_unit_schedule(g, u, 0);
        }
    }
}

/* Starts the next copy if the DMA engine is free. */
void gpusim__eng_dma_more(gpusim_gpu_t *g)
{
    gpusim__gpu_engines *e = g->eng;
    run *r;
    unit *u;
    if (e->dma_busy)
        return;
    for (u = e->copy_units ? e->live : NULL; u; u = u->next) /* a parked copy goes first */
        if (u->copy && u->state == W_PARK && !unit_held(u)) {
            e->dma_busy = true;
            gpusim__eng_unit_schedule(g, u, 0);
            return;
        }
    for (r = e->copies; r && job_held(r->job); r = r->next)
        ;
    if (!r)
        return;
    fifo_remove(&e->copies, &e->ctail, r);
    u = unit_new(g, r, true);
    if (!u) {
        r->status = GPUSIM_ENOMEM;
        run_finish(r);
        return;
    }
    e->dma_busy = true;
    gpusim__gpu_engines_disturb(g);
    gpusim__eng_unit_schedule(g, u, 0);
}

/* ---- submission and cancellation ------------------------------------------------------------ */

static int refuse(char *msg, size_t msglen, const char *why)
{
    if (msg && msglen)
        snprintf(msg, msglen, "%s", why);
    return GPUSIM_EINVAL;
}

static bool range_ok(uint64_t va, uint64_t bytes)
{
    return bytes > 0 && va < GPUSIM__GPU_VA_LIMIT && bytes <= GPUSIM__GPU_VA_LIMIT - va;
}

/* The pattern a kernel descriptor asks for on device g: 0, or GPUSIM_EINVAL with msg. */
static int kernel_pattern(const gpusim_gpu_t *g, const gpusim_kernel_desc_t *k,
                          gpusim__gpu_pattern *p, char *msg, size_t msglen)
{
    const gpusim__gpu_trace *trace = NULL;
    if (k->pattern == GPUSIM_PATTERN_TRACE &&
        (trace = gpusim__gpu_trace_get(g, k->trace_id)) == NULL)
        return refuse(msg, msglen, "no address trace is registered with this id");
    if (k->waves == 0 || k->passes == 0)
        return refuse(msg, msglen, "a kernel needs at least one wave and one pass");
    if (!range_ok(k->buffer_va, k->buffer_bytes))
        return refuse(msg, msglen, "the buffer is empty or leaves the 48-bit VA");
    memset(p, 0, sizeof *p);
    p->kind = (unsigned)k->pattern;
    p->bytes = k->buffer_bytes;
    p->touches = k->touches_per_pass;
    p->touch_bytes = k->bytes_per_touch;
    p->stride = k->stride;
    p->write_pct = k->write_pct;
    p->hot_pct = k->hot_set_pct;
    p->hot_access_pct = k->hot_access_pct;
    p->seed = k->seed;
    p->trace = trace;
    return gpusim__gpu_pattern_check(p, msg, msglen);
}

int gpusim__gpu_engine_submit(gpusim__gpu_job *job, char *msg, size_t msglen)
{
    gpusim_gpu_t *g;
    gpusim__gpu_engines *e;
    gpusim__gpu_pattern pat;
    run *r;
    int rc;
    if (msg && msglen)
        msg[0] = '\0';
    if (!job || !job->ctx || !job->done || job->run_)
        return refuse(msg, msglen, "bad job");
    g = job->ctx->gpu;
    e = g->eng;
    if (job->kind == GPUSIM__GPU_JOB_DISPATCH) {
        rc = kernel_pattern(g, &job->kernel, &pat, msg, msglen);
        if (rc)
            return rc;
    } else if (job->kind == GPUSIM__GPU_JOB_COPY) {
        if (!range_ok(job->src, job->bytes) || !range_ok(job->dst, job->bytes))
            return refuse(msg, msglen, "a copy range is empty or leaves the 48-bit VA");
    } else {
        return refuse(msg, msglen, "unknown job kind");
    }
    if (job->ctx->error)
        return GPUSIM_ECTXKILLED;
    r = gpusim__arena_zalloc(arena(g), sizeof *r);
    if (!r)
        return GPUSIM_ENOMEM;
    if (gpusim__queue_reserve(world(g), 1)) {
        gpusim__arena_free(arena(g), r, sizeof *r);
        return GPUSIM_ENOMEM;
    }
    r->job = job;
    r->g = g;
    if (job->kind == GPUSIM__GPU_JOB_DISPATCH)
        r->pat = pat;
    gpusim_event_init(&r->done_ev, done_event, r);
    memset(&job->preempt_, 0, sizeof job->preempt_);
    job->run_ = r;
    job->started_ = world(g)->now;
    if (job->kind == GPUSIM__GPU_JOB_DISPATCH) {
        if (e->ktail)
            e->ktail->next = r;
        else
            e->kernels = r;
        e->ktail = r;
        gpusim__eng_dispatch_more(g);
    } else {
        if (e->ctail)
            e->ctail->next = r;
        else
            e->copies = r;
        e->ctail = r;
        gpusim__eng_dma_more(g);
    }
    return 0;
}

/* Frees unit u whatever its state (its job is being cancelled: no callbacks). */
static void unit_discard(gpusim_gpu_t *g, unit *u)
{
    if (u->state == W_RUN && gpusim_event_pending(&u->ev)) {
        (void)gpusim_event_cancel(world(g), &u->ev);
        int rc = gpusim__queue_reserve(world(g), 1); /* the slot the event had */
        GPUSIM_ASSERT(rc == 0);
        (void)rc;
    } else if (u->state == W_STALL) {
        gpusim__gpu_req_cancel(&u->req);
    }
    gpusim__eng_unit_free(g, u);
}

/* Cancels run r: its units and its done callback go, without calls. */
static void run_cancel(run *r)
{
    gpusim_gpu_t *g = r->g;
    gpusim__gpu_engines *e = g->eng;
    unit *u, *next;
    r->ended = true; /* gpusim__eng_unit_free's run_finish must not schedule done */
    gpusim__eng_memo_cancel(g, r);
    /* The job's preemption goes with it, report first, so that its units' ends schedule none. */
    gpusim__eng_preempt_drop_report(g, &r->job->preempt_);
    fifo_remove(&e->kernels, &e->ktail, r);
    fifo_remove(&e->copies, &e->ctail, r);
    for (u = e->live; u; u = next) {
        next = u->next;
        if (u->r == r)
            unit_discard(g, u);
    }
    for (u = e->ready; u; u = next) {
        next = u->next;
        if (u->r == r)
            unit_discard(g, u);
    }
    if (gpusim_event_pending(&r->done_ev))
        (void)gpusim_event_cancel(world(g), &r->done_ev);
    else
        gpusim__queue_unreserve(world(g), 1);
    r->job->preempt_.active = false;
    r->job->run_ = NULL;
    gpusim__arena_free(arena(g), r, sizeof *r);
}

int gpusim__gpu_engine_cancel(gpusim__gpu_job *job)
{
    gpusim_gpu_t *g;
    if (!job || !job->run_)
        return GPUSIM_ENOENT;
    g = ((run *)job->run_)->g;
    run_cancel(job->run_);
    gpusim__eng_dispatch_more(g);
    gpusim__eng_dma_more(g);
    return 0;
}

/* ---- life cycle ----------------------------------------------------------------------------- */

int gpusim__gpu_engines_init(gpusim_gpu_t *g)
{
    g->eng = gpusim__arena_zalloc(arena(g), sizeof *g->eng);
    if (!g->eng)
        return GPUSIM_ENOMEM;
    g->eng->free_units = g->p[GPUSIM__GPU_P_compute_units];
    {
        static const gpusim__stat_def defs[] = {
            {"engine.ff_passes", GPUSIM_STAT_COUNTER, "",
             offsetof(gpusim__gpu_engines, st_ff_passes)},
            {"engine.ff_interrupts", GPUSIM_STAT_COUNTER, "",
             offsetof(gpusim__gpu_engines, st_ff_interrupts)},
            {"engine.ff_kernels", GPUSIM_STAT_COUNTER, "",
             offsetof(gpusim__gpu_engines, st_ff_kernels)},
            {"engine.busy_ns", GPUSIM_STAT_COUNTER, "ns",
             offsetof(gpusim__gpu_engines, st_busy_ns)},
            {"engine.dma_bytes", GPUSIM_STAT_COUNTER, "bytes",
             offsetof(gpusim__gpu_engines, st_dma_bytes)},
        };
        int rc = gpusim__stats_register_prefixed(world(g), g->prefix, defs, GPUSIM_ARRAY_SIZE(defs),
                                                 g->eng);
        if (rc) {
            gpusim__arena_free(arena(g), g->eng, sizeof *g->eng);
            g->eng = NULL;
            return rc;
        }
    }
    return 0;
}

/* Cancels every job of context c (NULL: of every context). */
static void cancel_all(gpusim_gpu_t *g, const gpusim_gpu_ctx_t *c)
{
    gpusim__gpu_engines *e = g->eng;
    for (;;) {
        run *r = NULL;
        for (unit *u = e->live; u && !r; u = u->next)
            if (!c || u->r->job->ctx == c)
                r = u->r;
        for (unit *u = e->ready; u && !r; u = u->next)
            if (!c || u->r->job->ctx == c)
                r = u->r;
        for (run *it = e->kernels; it && !r; it = it->next)
            if (!c || it->job->ctx == c)
                r = it;
        for (run *it = e->copies; it && !r; it = it->next)
            if (!c || it->job->ctx == c)
                r = it;
        if (!r)
            return;
        run_cancel(r);
    }
}

void gpusim__gpu_engines_ctx_gone(gpusim_gpu_ctx_t *c)
{
    gpusim_gpu_t *g = c->gpu;
    if (!g->eng)
        return;
    gpusim__gpu_engine_resume_ctx(c); /* drops a pending preemption report */
    cancel_all(g, c);
    gpusim__eng_memo_forget_ctx(g, gpusim_gpu_ctx_id(c));
    gpusim__eng_dispatch_more(g);
    gpusim__eng_dma_more(g);
}

void gpusim__gpu_engines_destroy(gpusim_gpu_t *g)
{
    if (!g->eng)
        return;
    for (gpusim_gpu_ctx_t *c = g->ctx_head; c; c = c->next)
        gpusim__eng_preempt_drop_report(g, &c->preempt);
    cancel_all(g, NULL); /* jobs' reports go with them (run_cancel) */
    gpusim__eng_memo_release(g);
    gpusim__arena_free(arena(g), g->eng, sizeof *g->eng);
    g->eng = NULL;
}

uint64_t gpusim__gpu_engine_free_units(const gpusim_gpu_t *g)
{
    return g->eng ? g->eng->free_units : 0;
}

int gpusim__gpu_engines_check(const gpusim_gpu_t *g, char *msg, size_t msglen)
{
    const gpusim__gpu_engines *e = g->eng;
    uint64_t waves = 0, copies = 0, ff = 0, replay = 0, copy_units = 0;
    if (!e)
        return 0;
    for (const unit *u = e->live; u; u = u->next) {
        ff += u->ff;
        replay += u->replay;
        copy_units += u->copy;
        if (u->replay && (!u->ff || u->r != e->memo.rec || !u->r->replay)) {
            snprintf(msg, msglen, "%s: a replayed wave is not fast-forwarding a replayed kernel",
                     g->name);
            return GPUSIM_ECORRUPT;
        }
        if (u->state == W_READY || !u->r || u->r->live == 0) {
            snprintf(msg, msglen, "%s: a unit on the live list is ready or has no live job",
                     g->name);
            return GPUSIM_ECORRUPT;
        }
        if (u->state == W_RUN || u->state == W_STALL)
            *(u->copy ? &copies : &waves) += 1;
    }
    for (const unit *u = e->ready; u; u = u->next)
        if (u->state != W_READY || u->copy) {
            snprintf(msg, msglen, "%s: a unit on the ready list is not a ready wave", g->name);
            return GPUSIM_ECORRUPT;
        }
    if (ff != e->nff || replay != e->nreplay || copy_units != e->copy_units) {
        snprintf(msg, msglen,
                 "%s: %llu units fast-forward (%llu replaying), %llu are copies; counted %llu "
                 "(%llu), %llu",
                 g->name, (unsigned long long)ff, (unsigned long long)replay,
                 (unsigned long long)copy_units, (unsigned long long)e->nff,
                 (unsigned long long)e->nreplay, (unsigned long long)e->copy_units);
        return GPUSIM_ECORRUPT;
    }
    if (!gpusim__eng_preempts_ok(g)) {
        snprintf(msg, msglen,
                 "%s: a preemption request's count of units still to stop is wrong, or a held "
                 "unit runs without being waited for",
                 g->name);
        return GPUSIM_ECORRUPT;
    }
    if (waves + e->free_units != g->p[GPUSIM__GPU_P_compute_units] || copies > 1 ||
        (copies == 1) != e->dma_busy) {
        snprintf(msg, msglen,
                 "%s: %llu waves running + %llu free units != %llu units, or %llu copies "
                 "running with the DMA engine %s",
                 g->name, (unsigned long long)waves, (unsigned long long)e->free_units,
                 (unsigned long long)g->p[GPUSIM__GPU_P_compute_units], (unsigned long long)copies,
                 e->dma_busy ? "busy" : "free");
        return GPUSIM_ECORRUPT;
    }
    return 0;
}
