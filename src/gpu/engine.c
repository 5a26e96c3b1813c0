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
 *
 * Not modelled yet: memory latency (dependent pointer chases are timed like streams).
 */
#include <stdio.h>
#include <string.h>

#include "gpu/engine.h"
#include "gpu/device.h"
#include "gpu/pattern.h"
#include "core/alloc.h"
#include "core/event.h"

/* Unit states. */
enum { W_RUN, W_STALL, W_PARK, W_READY };

/* The two preemption requests that may cover a unit: its context's and its job's. */
enum { REQ_CTX, REQ_JOB, REQ_KINDS };
#define WAIT_BIT(k) ((uint8_t)(1u << (k)))

typedef struct run run;
typedef struct unit unit;

/* A job being run: a kernel (with its waves) or a copy. */
struct run {
    gpusim__gpu_job *job;
    gpusim_gpu_t *g;
    gpusim__gpu_pattern pat; /* DISPATCH */
    uint64_t next_wave;      /* DISPATCH: waves launched so far */
    uint64_t live;           /* units of this job not finished */
    int status;              /* 0 until the job dies (ECTXKILLED, ENOMEM) */
    bool ended;              /* done is scheduled or was cancelled */
    gpusim_event_t done_ev;  /* delivers done; holds a reservation until scheduled */
    run *next;               /* in the engine's job FIFO (kernels, or copies) */
};

/* A wave of a kernel, or the one stream of chunks of a copy. */
struct unit {
    run *r;
    bool copy;          /* a copy's stream (else a wave) */
    int state;          /* W_* */
    uint64_t lo, hi, i; /* wave: touches of a pass, and the next one */
    uint32_t pass;      /* wave: passes done */
    uint64_t sub;       /* bytes of the current touch (or of the copy) already moved */
    bool setup_done;    /* copy: dma_setup charged */
    uint8_t waits;      /* WAIT_* bits: preemption requests still counting this unit */
    /* Steady-state fast-forward (waves only). */
    gpusim_time_t pass_start; /* when the current pass began */
    uint64_t pass_epoch;      /* the device's epoch then */
    gpusim_time_t last_cost;  /* time the last complete pass took */
    uint32_t steady;          /* passes in a row that took last_cost with the epoch unchanged */
    bool ff;                  /* fast-forwarding: its event ends the remaining passes at once */
    uint32_t ff_base;         /* passes done when the fast-forward began */
    gpusim_time_t ff_start;   /* when it began (a pass boundary) */
    gpusim_gpu_req_t req;
    gpusim_event_t ev;
    unit *next, *prev; /* all live units of the device (or the ready queue while W_READY) */
};

typedef struct gpusim__gpu_engines gpusim__gpu_engines;
struct gpusim__gpu_engines {
    uint64_t free_units;         /* compute units without a wave */
    run *kernels, *ktail;        /* kernels with waves left to launch, in submission order */
    run *copies, *ctail;         /* copies, in submission order (the head runs) */
    unit *ready;                 /* preempted waves to start again, ahead of new ones */
    unit *live;                  /* every unit that exists */
    bool dma_busy;               /* the head copy has its unit */
    uint64_t epoch;              /* bumped by everything that may change a pass's cost (disturb) */
    uint64_t nff;                /* units fast-forwarding */
    gpusim_stat_t *st_ff_passes; /* gpu.<name>.engine.ff_passes: passes not simulated */
    gpusim_stat_t *st_ff_interrupts; /* gpu.<name>.engine.ff_interrupts */
};

static gpusim__arena *arena(const gpusim_gpu_t *g)
{
    return &g->world->arena;
}

static gpusim_world_t *world(const gpusim_gpu_t *g)
{
    return g->world;
}

/* ---- steady-state fast-forward ------------------------------------------------------------- */

/*
 * Something changed that may change a pass's cost (a translation, a TLB invalidation, a fault, a
 * replay, a kill, a preemption, a unit starting or ending): passes begun before it are not steady,
 * and a wave fast-forwarding stops at the end of the pass it is in, at the time the fast-forward
 * gives that pass, and simulates the passes after it. The change's effect on the rest of that one
 * pass is the scheme's approximation: at most one pass per interruption, and none at all for the
 * changes that do not touch the wave's translations (another unit ending, say).
 */
void gpusim__gpu_engines_disturb(gpusim_gpu_t *g)
{
    gpusim__gpu_engines *e = g->eng;
    gpusim_time_t now;
    if (!e)
        return;
    e->epoch++;
    if (e->nff == 0)
        return;
    now = world(g)->now;
    for (unit *u = e->live; u; u = u->next) {
        uint64_t next, passes;
        gpusim_time_t at;
        if (!u->ff)
            continue;
        passes = u->r->job->kernel.passes;
        u->ff = false;
        e->nff--;
        gpusim__stat_add(e->st_ff_interrupts, 1);
        /* The first pass boundary at or after now, counted in passes from ff_start. */
        next = now <= u->ff_start ? 0 : (now - u->ff_start + u->last_cost - 1) / u->last_cost;
        if (u->ff_base + next >= passes) {
            /* Its event, at the end of the last pass, comes first: let it finish. */
            gpusim__stat_add(e->st_ff_passes, passes - u->ff_base);
            continue;
        }
        gpusim__stat_add(e->st_ff_passes, next);
        at = u->ff_start + next * u->last_cost;
        u->pass = (uint32_t)(u->ff_base + next);
        u->i = u->lo;
        u->sub = 0;
        u->steady = 0;
        u->pass_start = at;
        u->pass_epoch = e->epoch;
        (void)gpusim_event_reschedule(world(g), &u->ev, at); /* pending: needs no memory */
    }
}

/* ---- ending jobs ---------------------------------------------------------------------------- */

static void done_event(gpusim_world_t *w, gpusim_event_t *ev)
{
    run *r = ev->data;
    gpusim__gpu_job *job = r->job;
    gpusim__gpu_preempt *p = &job->preempt_;
    int status = r->status;
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
    job->done(job, status);
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

/* ---- units ---------------------------------------------------------------------------------- */

static void unit_link(unit **head, unit *u)
{
    u->prev = NULL;
    u->next = *head;
    if (*head)
        (*head)->prev = u;
    *head = u;
}

static void unit_unlink(unit **head, unit *u)
{
    if (u->prev)
        u->prev->next = u->next;
    else
        *head = u->next;
    if (u->next)
        u->next->prev = u->prev;
    u->next = u->prev = NULL;
}

static void dispatch_more(gpusim_gpu_t *g);
static void dma_more(gpusim_gpu_t *g);
static void unit_event(gpusim_world_t *w, gpusim_event_t *ev);

/* The request of kind k (REQ_*) that covers unit u. */
static gpusim__gpu_preempt *unit_req(const unit *u, int k)
{
    gpusim__gpu_job *job = u->r->job;
    return k == REQ_CTX ? &job->ctx->preempt : &job->preempt_;
}

/* A job may not run: its context or the job itself is preempted. */
static bool job_held(const gpusim__gpu_job *job)
{
    return job->ctx->preempt.active || job->preempt_.active;
}

static bool unit_held(const unit *u)
{
    return job_held(u->r->job);
}

/* Unit u reached a preemption point (or ended): every request still waiting for it counts it,
 * and one that has no unit left to wait for reports (its event's slot was reserved at the
 * request). */
static void stopped_one(unit *u)
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
static void preempt_drop_report(gpusim_gpu_t *g, gpusim__gpu_preempt *p)
{
    if (!p->stopped)
        return;
    if (gpusim_event_pending(&p->ev))
        (void)gpusim_event_cancel(world(g), &p->ev);
    else
        gpusim__queue_unreserve(world(g), 1);
    p->stopped = NULL;
}

/* Frees a unit (it holds a reservation: its event is not pending) and lets others run. */
static void unit_free(gpusim_gpu_t *g, unit *u)
{
    gpusim__gpu_engines *e = g->eng;
    run *r = u->r;
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
    stopped_one(u);
    if (u->ff) { /* the fast-forward ran to its end: every remaining pass was skipped */
        gpusim__stat_add(e->st_ff_passes, r->job->kernel.passes - u->ff_base);
        u->ff = false;
        e->nff--;
    }
    gpusim__queue_unreserve(world(g), 1);
    gpusim__arena_free(arena(g), u, sizeof *u);
    r->live--;
    run_finish(r);
    gpusim__gpu_engines_disturb(g);
}

/* A unit's context died or its job failed: it ends here (its event is not pending). */
static void unit_die(gpusim_gpu_t *g, unit *u, int status)
{
    if (u->r->status == 0)
        u->r->status = status;
    unit_free(g, u);
    dispatch_more(g);
    dma_more(g);
}

/* Parks a unit at a preemption point: it gives its compute unit (or the DMA engine) back. */
static void unit_park(gpusim_gpu_t *g, unit *u)
{
    gpusim__gpu_engines *e = g->eng;
    if (u->copy)
        e->dma_busy = false;
    else
        e->free_units++;
    u->state = W_PARK;
    stopped_one(u);
    dispatch_more(g);
    dma_more(g);
}

static void unit_schedule(gpusim_gpu_t *g, unit *u, gpusim_time_t delay)
{
    u->state = W_RUN;
    gpusim__event_schedule_reserved(world(g), &u->ev, world(g)->now + delay);
}

static void req_done(gpusim_gpu_req_t *req, int status, const gpusim_gpu_access_t *a)
{
    unit *u = req->data;
    gpusim_gpu_t *g = u->r->g;
    (void)a;
    if (status) {
        unit_die(g, u, status);
        return;
    }
    /* The access can go ahead now; the next slice starts with it (a TLB hit: the retry filled
     * the TLBs). A preemption that came while it was stalled keeps it parked. */
    if (unit_held(u)) {
        unit_park(g, u);
        return;
    }
    unit_schedule(g, u, 0);
}

/* Memory time of n bytes for a wave: its unit's share of the bandwidth of the page's memory. */
static gpusim_time_t wave_bytes_ns(const gpusim_gpu_t *g, uint64_t n, const gpusim_gpu_access_t *a,
                                   bool write)
{
    uint64_t bw = (a->flags & GPUSIM_GPU_SYSTEM)
                      ? g->p[write ? GPUSIM__GPU_P_pcie_d2h_pinned : GPUSIM__GPU_P_pcie_h2d_pinned]
                      : g->p[GPUSIM__GPU_P_hbm_bw];
    return n * GPUSIM_NS_PER_S * g->p[GPUSIM__GPU_P_compute_units] / bw;
}

/*
 * One access at va for unit u, at offset `spent` into the current slice: 0 with *a (translated),
 * 1 (the slice must end here: a fault after time was spent; the next slice retries it), or -1
 * (the unit stalled in the fault path, or died).
 */
static int unit_access(gpusim_gpu_t *g, unit *u, unsigned engine, uint64_t va, bool write,
                       gpusim_time_t spent, gpusim_gpu_access_t *a)
{
    gpusim_gpu_ctx_t *c = u->r->job->ctx;
    int rc;
    if (spent > 0) {
        rc = gpusim_gpu_access(c, engine, va, write, a);
        if (rc == 0)
            return 0;
        if (rc == GPUSIM_EGPUFAULT && !c->error)
            return 1;
    }
    rc = gpusim_gpu_touch(c, engine, va, write, &u->req, req_done, u, a);
    if (rc == 0)
        return 0;
    if (rc == GPUSIM_EINPROGRESS) {
        u->state = W_STALL;
        stopped_one(u); /* a stalled access is a preemption point */
        return -1;
    }
    unit_die(g, u, rc == GPUSIM_ECTXKILLED ? GPUSIM_ECTXKILLED : GPUSIM_ENOMEM);
    return -1;
}

/* A wave's slice. */
static void wave_slice(gpusim_gpu_t *g, unit *u)
{
    run *r = u->r;
    const gpusim_kernel_desc_t *k = &r->job->kernel;
    gpusim_time_t spent = 0, quantum = g->p[GPUSIM__GPU_P_engine_quantum];
    while (spent < quantum) {
        gpusim__gpu_touch t;
        if (u->i == u->hi) {
            gpusim_time_t boundary = world(g)->now + spent, cost = boundary - u->pass_start;
            uint64_t left;
            u->steady =
                (u->pass_epoch == g->eng->epoch && cost == u->last_cost) ? u->steady + 1 : 0;
            u->last_cost = cost;
            u->pass_start = boundary;
            u->pass_epoch = g->eng->epoch;
            if (++u->pass == k->passes || u->lo == u->hi) {
                /* Done once the slice's time has passed: finish at the next event. */
                u->pass = k->passes;
                break;
            }
            left = k->passes - u->pass;
            if (u->steady >= 1 && cost > 0 && g->p[GPUSIM__GPU_P_engine_fast_forward] &&
                left <= (GPUSIM_TIME_MAX - boundary) / cost) {
                /* Two passes in a row took the same time with nothing changed: charge the rest
                 * at that time and end at once, unless something changes meanwhile (disturb). */
                u->ff = true;
                u->ff_base = u->pass;
                u->ff_start = boundary;
                u->pass = k->passes;
                g->eng->nff++;
                spent += left * cost;
                break;
            }
            u->i = u->lo;
        }
        gpusim__gpu_pattern_touch(&r->pat, u->i, &t);
        while (u->sub < t.bytes) {
            uint64_t va = k->buffer_va + t.off + u->sub;
            uint64_t n = GPUSIM_MIN((uint64_t)t.bytes - u->sub,
                                    GPUSIM__GPU_PAGE_SIZE - (va & (GPUSIM__GPU_PAGE_SIZE - 1)));
            gpusim_gpu_access_t a;
            int rc = unit_access(g, u, 0, va, t.write, spent, &a);
            if (rc < 0)
                return;
            if (rc > 0)
                goto out;
            spent += a.cost + wave_bytes_ns(g, n, &a, t.write);
            u->sub += n;
        }
        spent += k->compute_ns_per_touch;
        u->sub = 0;
        u->i++;
    }
out:
    unit_schedule(g, u, spent);
}

/* Bandwidth of a copy chunk's path. */
static uint64_t copy_bw(const gpusim_gpu_t *g, const gpusim_gpu_access_t *src,
                        const gpusim_gpu_access_t *dst)
{
    bool hs = (src->flags & GPUSIM_GPU_SYSTEM) != 0, hd = (dst->flags & GPUSIM_GPU_SYSTEM) != 0;
    if (hs && !hd)
        return g->p[GPUSIM__GPU_P_pcie_h2d_pinned];
    if (!hs && hd)
        return g->p[GPUSIM__GPU_P_pcie_d2h_pinned];
    if (!hs && !hd)
        return g->p[GPUSIM__GPU_P_hbm_bw] / 2;
    return GPUSIM_MIN(g->p[GPUSIM__GPU_P_pcie_h2d_pinned], g->p[GPUSIM__GPU_P_pcie_d2h_pinned]);
}

static unsigned dma_engine(const gpusim_gpu_t *g)
{
    return g->engines > 1 ? 1 : 0;
}

/* A copy's slice. */
static void copy_slice(gpusim_gpu_t *g, unit *u)
{
    gpusim__gpu_job *job = u->r->job;
    gpusim_time_t spent = 0, quantum = g->p[GPUSIM__GPU_P_engine_quantum];
    if (!u->setup_done) {
        u->setup_done = true;
        spent = g->p[GPUSIM__GPU_P_dma_setup];
    }
    while (u->sub < job->bytes && spent < quantum) {
        uint64_t s = job->src + u->sub, d = job->dst + u->sub, n;
        gpusim_gpu_access_t as, ad;
        int rc = unit_access(g, u, dma_engine(g), s, false, spent, &as);
        if (rc < 0)
            return;
        if (rc > 0)
            break;
        rc = unit_access(g, u, dma_engine(g), d, true, spent + as.cost, &ad);
        if (rc < 0)
            return;
        if (rc > 0)
            break;
        n = GPUSIM_MIN(job->bytes - u->sub, as.page_size - (s & (as.page_size - 1)));
        n = GPUSIM_MIN(n, ad.page_size - (d & (ad.page_size - 1)));
        spent += as.cost + ad.cost + n * GPUSIM_NS_PER_S / copy_bw(g, &as, &ad);
        u->sub += n;
    }
    unit_schedule(g, u, spent);
}

static void unit_event(gpusim_world_t *w, gpusim_event_t *ev)
{
    unit *u = ev->data;
    run *r = u->r;
    gpusim_gpu_t *g = r->g;
    gpusim_gpu_ctx_t *c = r->job->ctx;
    /* Our own entry has just left the queue: re-reserving it cannot fail. */
    int rc = gpusim__queue_reserve(w, 1);
    GPUSIM_ASSERT(rc == 0);
    (void)rc;
    if (c->error || r->status) {
        unit_die(g, u, c->error ? GPUSIM_ECTXKILLED : r->status);
        return;
    }
    if (u->copy ? u->sub == r->job->bytes : u->pass == r->job->kernel.passes) {
        unit_free(g, u);
        dispatch_more(g);
        dma_more(g);
        return;
    }
    if (unit_held(u)) {
        unit_park(g, u);
        return;
    }
    if (u->copy)
        copy_slice(g, u);
    else
        wave_slice(g, u);
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
    gpusim_gpu_req_init(&u->req);
    gpusim_event_init(&u->ev, unit_event, u);
    unit_link(&g->eng->live, u);
    r->live++;
    return u;
}

/* Starts waves on free units: preempted waves no longer held first, then new waves. */
static void dispatch_more(gpusim_gpu_t *g)
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
            gpusim__gpu_engines_disturb(g);
            u->steady = 0; /* it continues where it stopped; this pass's time is not steady */
            u->pass_start = world(g)->now;
            u->pass_epoch = e->epoch;
            unit_schedule(g, u, 0);
            continue;
        }
        for (r = e->kernels; r && (job_held(r->job) || r->status); r = r->next)
            ;
        if (!r)
            return;
        u = unit_new(g, r, false);
        if (!u) {
            r->status = GPUSIM_ENOMEM;
            fifo_remove(&e->kernels, &e->ktail, r);
            run_finish(r);
            continue;
        }
        gpusim__gpu_pattern_wave(&r->pat, r->next_wave, r->job->kernel.waves, &u->lo, &u->hi);
        u->i = u->lo;
        gpusim__gpu_engines_disturb(g);
        u->pass_start = world(g)->now;
        u->pass_epoch = e->epoch;
        if (++r->next_wave == r->job->kernel.waves)
            fifo_remove(&e->kernels, &e->ktail, r);
        e->free_units--;
        unit_schedule(g, u, 0);
    }
}

/* Starts the next copy if the DMA engine is free. */
static void dma_more(gpusim_gpu_t *g)
{
    gpusim__gpu_engines *e = g->eng;
    run *r;
    unit *u;
    if (e->dma_busy)
        return;
    for (u = e->live; u; u = u->next) /* a parked copy no longer held goes first */
        if (u->copy && u->state == W_PARK && !unit_held(u)) {
            e->dma_busy = true;
            unit_schedule(g, u, 0);
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
    unit_schedule(g, u, 0);
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
        dispatch_more(g);
    } else {
        if (e->ctail)
            e->ctail->next = r;
        else
            e->copies = r;
        e->ctail = r;
        dma_more(g);
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
    unit_free(g, u);
}

/* Cancels run r: its units and its done callback go, without calls. */
static void run_cancel(run *r)
{
    gpusim_gpu_t *g = r->g;
    gpusim__gpu_engines *e = g->eng;
    unit *u, *next;
    r->ended = true; /* unit_free's run_finish must not schedule done */
    /* The job's preemption goes with it, report first, so that its units' ends schedule none. */
    preempt_drop_report(g, &r->job->preempt_);
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
    dispatch_more(g);
    dma_more(g);
    return 0;
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
    preempt_drop_report(g, p);
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
    dispatch_more(g);
    dma_more(g);
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

/* ---- life cycle ----------------------------------------------------------------------------- */

int gpusim__gpu_engines_init(gpusim_gpu_t *g)
{
    g->eng = gpusim__arena_zalloc(arena(g), sizeof *g->eng);
    if (!g->eng)
        return GPUSIM_ENOMEM;
    g->eng->free_units = g->p[GPUSIM__GPU_P_compute_units];
    {
        char name[GPUSIM_STAT_NAME_MAX + 1];
        int rc;
        snprintf(name, sizeof name, "%s.engine.ff_passes", g->prefix);
        rc = gpusim_stat_register(world(g), name, GPUSIM_STAT_COUNTER, "", &g->eng->st_ff_passes);
        if (rc == 0) {
            snprintf(name, sizeof name, "%s.engine.ff_interrupts", g->prefix);
            rc = gpusim_stat_register(world(g), name, GPUSIM_STAT_COUNTER, "",
                                      &g->eng->st_ff_interrupts);
        }
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
    dispatch_more(g);
    dma_more(g);
}

void gpusim__gpu_engines_destroy(gpusim_gpu_t *g)
{
    if (!g->eng)
        return;
    for (gpusim_gpu_ctx_t *c = g->ctx_head; c; c = c->next)
        preempt_drop_report(g, &c->preempt);
    cancel_all(g, NULL); /* jobs' reports go with them (run_cancel) */
    gpusim__arena_free(arena(g), g->eng, sizeof *g->eng);
    g->eng = NULL;
}

uint64_t gpusim__gpu_engine_free_units(const gpusim_gpu_t *g)
{
    return g->eng ? g->eng->free_units : 0;
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
static bool preempts_ok(const gpusim_gpu_t *g)
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

int gpusim__gpu_engines_check(const gpusim_gpu_t *g, char *msg, size_t msglen)
{
    const gpusim__gpu_engines *e = g->eng;
    uint64_t waves = 0, copies = 0;
    if (!e)
        return 0;
    for (const unit *u = e->live; u; u = u->next) {
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
    if (!preempts_ok(g)) {
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
