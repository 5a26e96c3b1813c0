/*
 * gpu/engine_memo.c -- the cross-kernel fast-forward: a kernel that repeats the one before it, in
 * a state the device has already shown to be steady, is replayed from that kernel's record
 * instead of simulated access by access (docs/gpu.md, "Steady-state fast-forward").
 *
 * The within-kernel fast-forward (engine_slice.c) needs two equal passes of one wave. A workload
 * of many short kernels (one pass each, the same work every submission: steady-reuse, any
 * training loop) never has them, so every access of every kernel was simulated. This module
 * extends the same rule to kernels:
 *
 *   Recording. A kernel whose first wave starts on an idle device (no other unit live or ready,
 *   no copy) is recorded: each wave's time from its start to its end. It is *clean* if nothing
 *   but its own waves' starts and ends happened on the device while it ran.
 *   The window. Everything that happens on the device between the start of one recorded kernel
 *   and the start of the next is folded into a hash, each with its offset from the window's
 *   start: the page-table and TLB changes a driver makes (gpusim__gpu_engines_change: map,
 *   unmap, protect, invalidations, with their arguments), which repeat identically when a driver
 *   does the same thing at every submission. Anything else (a fault, a replay, a kill, a
 *   preemption, a host change the checker saw, another job's unit) *poisons* the window: it
 *   compares equal to nothing.
 *   Steady. The last few clean kernels, consecutive, are remembered. They are steady with period
 *   p (1 or 2) when the newest p of them equal the p before, one for one: the same signature
 *   (context, descriptor, trace), per-wave times and preceding window. Period 2 is common: a
 *   sweep that overflows the TLBs can leave them in one of two states, and the kernels alternate
 *   between two times for ever.
 *   Replay. A kernel starting on an idle device, with the device steady with period p, repeats
 *   the kernel p back (K+1 repeats K+1-p) if it has that kernel's signature and follows a window
 *   equal to (and as unpoisoned as) the one that preceded it: its waves start fast-forwarded, each
 *   ending after its time in that record, as an undisturbed wave fast-forwarding its passes does.
 *
 * Why this is the pass rule again: the device's state at a kernel's start is the state at the
 * previous start, transformed by that kernel and the window's changes. A repeated cycle of equal
 * times is the evidence (as equal times of two passes are) that the state at the cycle's starts
 * was the same; the same kernels and the same windows then lead to the same states again. Like
 * the pass rule it is a heuristic on that evidence, not a proof.
 *
 * A disturbance during a replay (engine_slice.c) stops each replayed wave at the touch its share
 * of the recorded time has reached, and the wave simulates the rest: the change is seen from about
 * where it happened, not at the end of the kernel.
 *
 * Invariants: `rec` is a kernel of this device that has not ended, or NULL; `cur` and every ring
 * entry's `times` hold `cap` entries (all allocated together, or none); the ring's `n` newest
 * entries are consecutive clean kernels, with nothing unrecorded between them; a replayed run's
 * waves are replay units until a disturbance; no entry names a context that is gone (ids are
 * never reused, so an entry is dropped with its context).
 */
#include <string.h>

#include "gpu/engine_int.h"
#include "core/rng.h"

/* Kernels of more waves are not recorded: the per-wave arrays stay within 1.25 MiB. */
#define MEMO_MAX_WAVES 32768u

static bool same_kernel(const gpusim_kernel_desc_t *a, const gpusim_kernel_desc_t *b)
{
    return a->pattern == b->pattern && a->buffer_va == b->buffer_va &&
           a->buffer_bytes == b->buffer_bytes && a->passes == b->passes &&
           a->touches_per_pass == b->touches_per_pass && a->bytes_per_touch == b->bytes_per_touch &&
           a->compute_ns_per_touch == b->compute_ns_per_touch && a->write_pct == b->write_pct &&
           a->hot_set_pct == b->hot_set_pct && a->hot_access_pct == b->hot_access_pct &&
           a->stride == b->stride && a->seed == b->seed && a->trace_id == b->trace_id &&
           a->waves == b->waves;
}

/* The entry `back` kernels before the newest (0: the newest); the ring holds more than `back`. */
static gpusim__eng_rec *entry(gpusim__eng_memo *m, unsigned back)
{
    return &m->ring[(m->head + GPUSIM__MEMO_DEPTH - back) % GPUSIM__MEMO_DEPTH];
}

/* Kernel r has the signature of entry e. */
static bool is_kernel(const gpusim__eng_rec *e, const run *r)
{
    return e->ctx_id == gpusim_gpu_ctx_id(r->job->ctx) && e->trace == r->pat.trace &&
           same_kernel(&e->desc, &r->job->kernel);
}

/* Two entries record the same kernel, with the same times, after the same window. */
static bool same_entry(const gpusim__eng_rec *a, const gpusim__eng_rec *b)
{
    return a->ctx_id == b->ctx_id && a->trace == b->trace && same_kernel(&a->desc, &b->desc) &&
           !a->before_poisoned && !b->before_poisoned && a->before_hash == b->before_hash &&
           a->times_hash == b->times_hash &&
           memcmp(a->times, b->times, a->desc.waves * sizeof *a->times) == 0;
}

/* The shortest cycle the newest entries repeat: p when entries 0..p-1 equal entries p..2p-1. */
static unsigned find_period(gpusim__eng_memo *m)
{
    for (unsigned p = 1; 2 * p <= GPUSIM__MEMO_DEPTH && 2 * p <= m->n; p++) {
        unsigned i = 0;
        while (i < p && same_entry(entry(m, i), entry(m, i + p)))
            i++;
        if (i == p)
            return p;
    }
    return 0;
}

/* The device runs nothing: no unit live or waiting, no copy queued. */
static bool device_idle(const gpusim__gpu_engines *e)
{
    return e->live == NULL && e->ready == NULL && e->copies == NULL && !e->dma_busy;
}

void gpusim__eng_memo_poison(gpusim_gpu_t *g)
{
    gpusim__eng_memo *m = &g->eng->memo;
    m->win_poisoned = true;
    m->rec_clean = false;
}

void gpusim__eng_memo_change(gpusim_gpu_t *g, uint64_t what)
{
    gpusim__eng_memo *m = &g->eng->memo;
    uint64_t at = world(g)->now - m->win_start;
    m->win_hash = gpusim__mix64(m->win_hash ^ gpusim__mix64(what ^ gpusim__mix64(at)));
    m->rec_clean = false; /* a change during a kernel: not a kernel to repeat */
}

void gpusim__eng_memo_forget_ctx(gpusim_gpu_t *g, uint32_t ctx_id)
{
    gpusim__eng_memo *m = &g->eng->memo;
    for (unsigned i = 0; i < m->n; i++)
        if (entry(m, i)->ctx_id == ctx_id) {
            m->n = m->period = 0;
            return;
        }
}

/* Grows the per-wave arrays to n entries; false when it cannot (nothing is recorded then). */
static bool memo_reserve(gpusim_gpu_t *g, gpusim__eng_memo *m, uint64_t n)
{
    gpusim_time_t *a;
    if (n <= m->cap)
        return true;
    if (n > MEMO_MAX_WAVES)
        return false;
    a = gpusim__arena_alloc(arena(g), (GPUSIM__MEMO_DEPTH + 1) * n * sizeof *a);
    if (!a)
        return false;
    for (unsigned i = 0; i < GPUSIM__MEMO_DEPTH; i++) {
        if (m->cap)
            memcpy(a + i * n, m->ring[i].times, m->cap * sizeof *a);
    }
    gpusim__eng_memo_release(g);
    for (unsigned i = 0; i < GPUSIM__MEMO_DEPTH; i++)
        m->ring[i].times = a + i * n;
    m->cur = a + GPUSIM__MEMO_DEPTH * n;
    m->block = a;
    m->cap = n;
    return true;
}

bool gpusim__eng_memo_start(gpusim_gpu_t *g, run *r)
{
    gpusim__gpu_engines *e = g->eng;
    gpusim__eng_memo *m = &e->memo;
    const gpusim__eng_rec *model;
    bool replay;
    if (!device_idle(e)) {
        gpusim__eng_memo_poison(g); /* kernels overlap: neither is a kernel to repeat */
        return false;
    }
    model = m->period ? entry(m, m->period - 1) : NULL;
    replay = g->p[GPUSIM__GPU_P_engine_fast_forward] && model && is_kernel(model, r) &&
             !m->win_poisoned && m->win_hash == model->before_hash;
    m->rec_before_hash = m->win_hash;
    m->rec_before_poisoned = m->win_poisoned;
    m->win_start = world(g)->now;
    m->win_hash = 0;
    m->win_poisoned = false;
    m->rec = NULL;
    if (!memo_reserve(g, m, r->job->kernel.waves)) {
        m->win_poisoned = true; /* too many waves to record: the next kernel is simulated */
        m->n = m->period = 0;
        return false;
    }
    m->rec = r;
    m->rec_clean = true;
    if (!replay)
        return false;
    /* Its waves take their times from the model: copy them where the recording would put them,
     * so that an undisturbed replay records exactly the model. */
    gpusim__stat_add(e->st_ff_kernels, 1);
    memcpy(m->cur, model->times, model->desc.waves * sizeof *m->cur);
    return true;
}

gpusim_time_t gpusim__eng_memo_wave_time(const gpusim_gpu_t *g, uint32_t wave)
{
    return g->eng->memo.cur[wave];
}

void gpusim__eng_memo_wave_end(gpusim_gpu_t *g, const unit *u)
{
    gpusim__eng_memo *m = &g->eng->memo;
    if (u->r == m->rec)
        m->cur[u->wave] = world(g)->now - u->start;
}

void gpusim__eng_memo_end(gpusim_gpu_t *g, const run *r)
{
    gpusim__eng_memo *m = &g->eng->memo;
    uint32_t waves = r->job->kernel.waves;
    gpusim__eng_rec *e;
    gpusim_time_t *t;
    uint64_t h = 0;
    if (r != m->rec)
        return;
    m->rec = NULL;
    if (!m->rec_clean || r->status != 0 || r->next_wave != waves) {
        m->n = m->period = 0;
        return;
    }
    m->head = (m->head + 1) % GPUSIM__MEMO_DEPTH;
    e = &m->ring[m->head];
    t = e->times; /* the oldest entry's array becomes the next recording's */
    e->times = m->cur;
    m->cur = t;
    for (uint32_t i = 0; i < waves; i++)
        h = gpusim__mix64(h ^ e->times[i]);
    e->times_hash = h;
    e->ctx_id = gpusim_gpu_ctx_id(r->job->ctx);
    e->desc = r->job->kernel;
    e->trace = r->pat.trace;
    e->before_hash = m->rec_before_hash;
    e->before_poisoned = m->rec_before_poisoned;
    if (m->n < GPUSIM__MEMO_DEPTH)
        m->n++;
    m->period = find_period(m);
}

void gpusim__eng_memo_cancel(gpusim_gpu_t *g, const run *r)
{
    gpusim__eng_memo *m = &g->eng->memo;
    if (r == m->rec) {
        m->rec = NULL;
        m->n = m->period = 0;
    }
}

void gpusim__eng_memo_release(gpusim_gpu_t *g)
{
    gpusim__eng_memo *m = &g->eng->memo;
    if (m->cap)
        gpusim__arena_free(arena(g), m->block, (GPUSIM__MEMO_DEPTH + 1) * m->cap * sizeof *m->cur);
    m->block = NULL;
    for (unsigned i = 0; i < GPUSIM__MEMO_DEPTH; i++)
        m->ring[i].times = NULL;
    m->cur = NULL;
    m->cap = 0;
}
