/*
 * gpu/engine_slice.c -- how the engines' units run (engine.c's header has the model): a wave's or a
 * copy's slice of engine_quantum, its accesses through the TLBs and the fault path, the memory and
 * bus time they cost, and the steady-state fast-forward of repeated passes with the device epoch
 * that interrupts it.
 */
#include <stdio.h>
#include <string.h>

#include "gpu/engine_int.h"

/* ---- steady-state fast-forward ------------------------------------------------------------- */

/* floor(a * b / c) for a < c, without overflow. */
static uint64_t mul_div(uint64_t a, uint64_t b, uint64_t c)
{
#ifdef __SIZEOF_INT128__
    __extension__ typedef unsigned __int128 u128;
    return (uint64_t)((u128)a * b / c);
#else
    uint64_t q = 0, r = 0; /* q * c + r = a * (the bits of b taken so far), r < c */
    for (int i = 63; i >= 0; i--) {
        q <<= 1;
        if (r >= c - r) {
            r -= c - r;
            q++;
        } else {
            r <<= 1;
        }
        if ((b >> i) & 1) {
            if (r >= c - a) {
                r -= c - a;
                q++;
            } else {
                r += a;
            }
        }
    }
    return q;
#endif
}

/* Disturbed at `now`, replayed wave u stops replaying and goes on simulating (see below). */
static void replay_stop(gpusim_gpu_t *g, unit *u, gpusim_time_t now)
{
    gpusim__gpu_engines *e = g->eng;
    uint64_t n = u->hi - u->lo, total = n * u->r->job->kernel.passes, pos;
    gpusim_time_t q = g->p[GPUSIM__GPU_P_engine_quantum], at;
    /* A simulated wave translates a slice's touches at the slice's start, so a change lands at
     * the end of the slice in progress: the replay stops at the next multiple of the quantum. */
    gpusim_time_t elapsed = now - u->ff_start, stop = elapsed / q * q + (elapsed % q ? q : 0);
    if (n == 0 || stop >= u->last_cost)
        return;                               /* its end comes first: let it finish */
    pos = mul_div(stop, total, u->last_cost); /* stop < last_cost: pos < total */
    at = u->ff_start + stop;
    u->ff = u->replay = false;
    e->nff--;
    e->nreplay--;
    gpusim__stat_add(e->st_ff_interrupts, 1);
    gpusim__stat_add(e->st_ff_passes, pos / n);
    u->pass = (uint32_t)(pos / n);
    u->i = u->lo + pos % n;
    u->sub = 0;
    u->steady = 0;
    u->last_cost = 0; /* the partial pass it is in is not a measure */
    u->pass_start = at;
    u->pass_epoch = e->epoch;
    (void)gpusim_event_reschedule(world(g), &u->ev, at); /* pending: needs no memory */
}

/*
 * Something changed that may change a pass's cost (a translation, a TLB invalidation, a fault, a
 * replay, a kill, a preemption, a unit starting or ending): passes begun before it are not steady,
 * and a wave fast-forwarding stops at the end of the pass it is in, at the time the fast-forward
 * gives that pass, and simulates the passes after it. The change's effect on the rest of that one
 * pass is the scheme's approximation: at most one pass per interruption, and none at all for the
 * changes that do not touch the wave's translations (another unit ending, say).
 *
 * A replayed wave (engine_memo.c) is one "pass" as long as the whole wave, so ending that pass
 * first would hide the change from the rest of the kernel: it stops instead at the end of the
 * quantum in progress, at the touch its share of the recorded time reaches there (time spread
 * evenly over its touches: the approximation), and simulates from there.
 */
void gpusim__eng_epoch(gpusim_gpu_t *g, const run *own)
{
    gpusim__gpu_engines *e = g->eng;
    gpusim_time_t now;
    e->epoch++;
    /* Nothing to stop: no fast-forward, or only the replayed waves of `own` (at most one kernel
     * replays at a time: another's unit starting stops it). */
    if (e->nff == 0 || (own && own->replay && e->nff == e->nreplay))
        return;
    now = world(g)->now;
    for (unit *u = e->live; u; u = u->next) {
        uint64_t next, passes;
        gpusim_time_t at;
        if (!u->ff)
            continue;
        if (u->replay) {
            if (u->r != own)
                replay_stop(g, u, now);
            continue;
        }
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

void gpusim__gpu_engines_disturb(gpusim_gpu_t *g)
{
    if (!g->eng)
        return;
    gpusim__eng_memo_poison(g);
    gpusim__eng_epoch(g, NULL);
}

void gpusim__gpu_engines_change(gpusim_gpu_t *g, uint64_t what)
{
    if (!g->eng)
        return;
    gpusim__eng_memo_change(g, what);
    gpusim__eng_epoch(g, NULL);
}

static void req_done(gpusim_gpu_req_t *req, int status, const gpusim_gpu_access_t *a)
{
    unit *u = req->data;
    gpusim_gpu_t *g = u->r->g;
    (void)a;
    if (status) {
        gpusim__eng_unit_die(g, u, status);
        return;
    }
    /* The access can go ahead now; the next slice starts with it (a TLB hit: the retry filled
     * the TLBs). A preemption that came while it was stalled keeps it parked. */
    if (unit_held(u)) {
        gpusim__eng_unit_park(g, u);
        return;
    }
    gpusim__eng_unit_schedule(g, u, 0);
}

/* Memory time of n bytes for a wave: its unit's share of the bandwidth of the page's memory.
 * Kernels touch the same number of bytes again and again: the last answer is kept. */
static gpusim_time_t wave_bytes_ns(const gpusim_gpu_t *g, uint64_t n, const gpusim_gpu_access_t *a,
                                   bool write)
{
    gpusim__gpu_engines *e = g->eng;
    uint64_t bw = (a->flags & GPUSIM_GPU_SYSTEM)
                      ? g->p[write ? GPUSIM__GPU_P_pcie_d2h_pinned : GPUSIM__GPU_P_pcie_h2d_pinned]
                      : g->p[GPUSIM__GPU_P_hbm_bw];
    uint64_t cu = g->p[GPUSIM__GPU_P_compute_units];
    if (n != e->bytes_n || bw != e->bytes_bw || cu != e->bytes_cu) {
        e->bytes_n = n;
        e->bytes_bw = bw;
        e->bytes_cu = cu;
        e->bytes_ns = n * GPUSIM_NS_PER_S * cu / bw;
    }
    return e->bytes_ns;
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
            goto done;
        if (rc == GPUSIM_EGPUFAULT && !c->error)
            return 1;
    }
    rc = gpusim_gpu_touch(c, engine, va, write, &u->req, req_done, u, a);
    if (rc == 0)
        goto done;
    if (rc == GPUSIM_EINPROGRESS) {
        u->state = W_STALL;
        gpusim__eng_stopped_one(u); /* a stalled access is a preemption point */
        return -1;
    }
    gpusim__eng_unit_die(g, u, rc == GPUSIM_ECTXKILLED ? GPUSIM_ECTXKILLED : GPUSIM_ENOMEM);
    return -1;
done:
    if (g->access_hook)
        g->access_hook(g->access_hook_data, c, va, write, a);
    return 0;
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
    gpusim__eng_unit_schedule(g, u, spent);
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
        gpusim__stat_add(g->eng->st_dma_bytes, n);
    }
    gpusim__eng_unit_schedule(g, u, spent);
}

void gpusim__eng_unit_event(gpusim_world_t *w, gpusim_event_t *ev)
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
        gpusim__eng_unit_die(g, u, c->error ? GPUSIM_ECTXKILLED : r->status);
        return;
    }
    if (u->copy ? u->sub == r->job->bytes : u->pass == r->job->kernel.passes) {
        gpusim__eng_unit_free(g, u);
        gpusim__eng_dispatch_more(g);
        gpusim__eng_dma_more(g);
        return;
    }
    if (unit_held(u)) {
        gpusim__eng_unit_park(g, u);
        return;
    }
    if (u->copy)
        copy_slice(g, u);
    else
        wave_slice(g, u);
}
