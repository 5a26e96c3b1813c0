/*
 * run_activity.c -- the host activities of a scenario ([activity] sections), played in virtual
 * time against the run's processes.
 *
 * An activity is a sequence of occurrences: the first at t0 + `at`, the next at
 * t0 + at + k x every or, when the previous one ran past that, as soon as it ends (occurrences of
 * one activity never overlap). An occurrence is a chain of steps; a step starts one or two host
 * operations (or a hold timer) and the chain moves on when all of them have called back:
 *
 *   churn     munmap, mmap again at the same address (MADV_HUGEPAGE again if the buffer had it),
 *             a CPU write of the range
 *   madvise   madvise(advice)
 *   mprotect  mprotect(prot), hold, mprotect(read-write)
 *   mremap    mremap the range away (MAYMOVE|FIXED), hold, mremap it back to where it was
 *   fork      fork, parent and child write their bytes, hold, the child exits
 *   pressure  a new process maps `bytes` and writes them (chunk by chunk at `rate`), holds them,
 *             exits (hold 0: it keeps them to the end of the run)
 *   compact   compaction of a node
 *   exit      the process exits
 *
 * Errors the host reports as outcomes of memory pressure or of a process gone (ENOMEM, ESRCH,
 * EFAULT, EAGAIN, EBUSY) end the occurrence early, after its clean-up step (the child's or the
 * pressure process's exit); GPUSIM_EINVAL means the scenario asked for something impossible and
 * fails the run.
 */
#include "run_int.h"

#include <stdio.h>

/* Writes of a pressure process at a rate go in chunks of this size. */
#define SIM_PRESSURE_CHUNK (UINT64_C(2) << 20)

static const char *const act_names[SIM_ACT_COUNT] = {
    "churn", "madvise", "mprotect", "mremap", "fork", "pressure", "compact", "exit",
};

static void act_next(sim_activity_state *a);

static const sim_activity_desc *desc(const sim_activity_state *a)
{
    return &a->run->s->activities[a->index];
}

/* The activity's range: [*va, *va + *len) of its buffer. */
static void act_range(const sim_activity_state *a, uint64_t *va, uint64_t *len)
{
    const sim_activity_desc *d = desc(a);
    const sim_run_state *r = a->run;
    uint64_t size = r->s->buffers[d->buffer].size;
    *va = r->buf_va[d->buffer] + d->offset;
    *len = d->len ? d->len : size - d->offset;
}

/* Where mremap parks the range: its own region, at the same offset modulo 2 MiB. */
static uint64_t away_va(const sim_activity_state *a, uint64_t va)
{
    return SIM_AWAY_BASE + (uint64_t)a->index * SIM_AWAY_STRIDE + (va & (SIM_HUGE - 1));
}

static gpusim_process_t *act_process(const sim_activity_state *a)
{
    return a->run->procs[desc(a)->process];
}

/* After a failure: the chain goes on at its clean-up step (the child's or the pressure process's
 * exit, step 4) or ends. act_next() increments the step before running it, hence the 3. */
static void act_failed(sim_activity_state *a, int status)
{
    const sim_activity_desc *d = desc(a);
    if (status == GPUSIM_EINVAL) {
        sim__run_fail(a->run, "[activity %s]: %s step %u: %s", d->name, act_names[d->type], a->step,
                      gpusim_strerror(status));
        return;
    }
    if ((d->type == SIM_ACT_FORK || d->type == SIM_ACT_PRESSURE) && a->other && a->step < 4)
        a->step = 3;
    else
        a->step = 100;
}

static void act_cb(void *data, int status, uint64_t result)
{
    sim_activity_state *a = data;
    (void)result;
    if (status)
        act_failed(a, status);
    if (--a->waiting == 0)
        act_next(a);
}

/* Counts a host call in flight, or treats its refusal as the step's failure. */
static void act_call(sim_activity_state *a, int rc)
{
    if (rc == 0)
        a->waiting++;
    else
        act_failed(a, rc);
}

static void act_hold_event(gpusim_world_t *w, gpusim_event_t *ev)
{
    (void)w;
    act_cb(ev->data, 0, 0);
}

static void act_timer(sim_activity_state *a, gpusim_time_t after)
{
    gpusim_event_init(&a->ev, act_hold_event, a);
    if (gpusim_event_schedule_after(a->run->w, &a->ev, after) == 0)
        a->waiting++;
    else
        sim__run_fail(a->run, "[activity %s]: out of memory", desc(a)->name);
}

static void occurrence_event(gpusim_world_t *w, gpusim_event_t *ev);

/* Whether an activity with `done` occurrences behind it has no more to run. */
static bool act_finished(const sim_activity_desc *d, uint64_t done)
{
    return d->every == 0 ? done >= 1 : d->count && done >= d->count;
}

/* The occurrence is over: record its span, schedule the next or finish the activity. */
static void occurrence_end(sim_activity_state *a)
{
    sim_run_state *r = a->run;
    const sim_activity_desc *d = desc(a);
    gpusim_time_t now = gpusim_world_now(r->w);
    if (r->trace) {
        char track[SIM_NAME_MAX + 8], name[SIM_NAME_MAX + 16];
        snprintf(track, sizeof track, "app:%s", r->s->processes[d->process].name);
        snprintf(name, sizeof name, "%s %s", act_names[d->type], d->name);
        sim_trace_span(r->trace, track, name, a->began, now);
    }
    a->step = 0;
    a->other = NULL;
    a->chunk = 0;
    a->done++;
    if (act_finished(d, a->done)) {
        sim__run_check_finished(r);
        return;
    }
    {
        gpusim_time_t t0 = r->acts_t0, next = t0 + d->at + a->done * d->every;
        gpusim_event_init(&a->ev, occurrence_event, a);
        if (gpusim_event_schedule(r->w, &a->ev, next > now ? next : now))
            sim__run_fail(r, "[activity %s]: out of memory", d->name);
    }
}

static void step_churn(sim_activity_state *a, uint64_t va, uint64_t len)
{
    gpusim_process_t *p = act_process(a);
    const sim_buffer_desc *b = &a->run->s->buffers[desc(a)->buffer];
    switch (a->step) {
    case 1:
        act_call(a, gpusim_process_munmap(p, va, len, act_cb, a));
        break;
    case 2:
        act_call(a, gpusim_process_mmap(p, va, len, GPUSIM_PROT_READ | GPUSIM_PROT_WRITE,
                                        GPUSIM_MAP_PRIVATE | GPUSIM_MAP_FIXED, NULL, 0, act_cb, a));
        break;
    case 3:
        if (b->hugepage)
            act_call(a, gpusim_process_madvise(p, va, len, GPUSIM_MADV_HUGEPAGE, act_cb, a));
        break;
    case 4:
        act_call(a, gpusim_process_access(p, va, len, GPUSIM_ACCESS_WRITE, NULL, act_cb, a));
        break;
    default:
        a->step = 100;
    }
}

/* Steps 3 and 4 of fork and pressure: hold, then the other process (child, pressure process)
 * exits; then the occurrence ends. */
static void step_hold_then_exit(sim_activity_state *a)
{
    if (a->step == 3 && desc(a)->hold)
        act_timer(a, desc(a)->hold);
    else if (a->step == 4 && a->other)
        act_call(a, gpusim_process_exit(a->other, act_cb, a));
    else if (a->step > 4)
        a->step = 100;
}

static void step_fork(sim_activity_state *a, uint64_t va, uint64_t len)
{
    const sim_activity_desc *d = desc(a);
    gpusim_process_t *p = act_process(a);
    switch (a->step) {
    case 1: {
        gpusim_process_config_t pc;
        gpusim_process_config_init(&pc);
        act_call(a, gpusim_process_fork(p, &pc, &a->other, act_cb, a));
        break;
    }
    case 2:
        if (d->parent_writes)
            act_call(a,
                     gpusim_process_access(p, va, d->parent_writes < len ? d->parent_writes : len,
                                           GPUSIM_ACCESS_WRITE, NULL, act_cb, a));
        if (d->child_writes && a->other)
            act_call(a, gpusim_process_access(a->other, va,
                                              d->child_writes < len ? d->child_writes : len,
                                              GPUSIM_ACCESS_WRITE, NULL, act_cb, a));
        break;
    default:
        step_hold_then_exit(a);
    }
}

static void step_pressure(sim_activity_state *a)
{
    const sim_activity_desc *d = desc(a);
    uint64_t base = SIM_HOG_BASE + (uint64_t)a->index * SIM_AWAY_STRIDE;
    switch (a->step) {
    case 1: {
        gpusim_process_config_t pc;
        int rc;
        gpusim_process_config_init(&pc);
        rc = gpusim_process_new(a->run->h, &pc, &a->other);
        if (rc) {
            act_failed(a, rc);
            break;
        }
        act_call(a,
                 gpusim_process_mmap(a->other, base, d->bytes, GPUSIM_PROT_READ | GPUSIM_PROT_WRITE,
                                     GPUSIM_MAP_PRIVATE | GPUSIM_MAP_FIXED, NULL, 0, act_cb, a));
        break;
    }
    case 2: { /* all at once, or one chunk and then the time the rate gives it */
        uint64_t n = d->rate ? d->bytes - a->chunk : d->bytes;
        if (d->rate && n > SIM_PRESSURE_CHUNK)
            n = SIM_PRESSURE_CHUNK;
        act_call(a, gpusim_process_access(a->other, base + a->chunk, n, GPUSIM_ACCESS_WRITE, NULL,
                                          act_cb, a));
        if (a->step != 2)
            break; /* refused: act_failed moved the chain on */
        a->chunk += n;
        if (d->rate && a->chunk < d->bytes) {
            act_timer(a, n * GPUSIM_NS_PER_S / d->rate);
            a->step--; /* write the next chunk once both have called back */
        }
        break;
    }
    case 3:
        if (d->hold == 0) {
            a->other = NULL; /* it keeps its memory to the end of the run */
            a->step = 100;
            break;
        }
        /* fall through */
    default:
        step_hold_then_exit(a);
    }
}

/* Runs the next step of the current occurrence, skipping steps that start nothing. */
static void act_next(sim_activity_state *a)
{
    sim_run_state *r = a->run;
    const sim_activity_desc *d = desc(a);
    uint64_t va = 0, len = 0;
    if (d->buffer >= 0)
        act_range(a, &va, &len);
    while (a->waiting == 0 && r->status == 0) {
        if (a->step >= 100) {
            occurrence_end(a);
            return;
        }
        a->step++;
        switch (d->type) {
        case SIM_ACT_CHURN:
            step_churn(a, va, len);
            break;
        case SIM_ACT_MADVISE:
            if (a->step == 1)
                act_call(a, gpusim_process_madvise(act_process(a), va, len, d->advice, act_cb, a));
            else
                a->step = 100;
            break;
        case SIM_ACT_MPROTECT:
            if (a->step == 1)
                act_call(a, gpusim_process_mprotect(act_process(a), va, len, d->prot, act_cb, a));
            else if (a->step == 2 && d->hold)
                act_timer(a, d->hold);
            else if (a->step == 3)
                act_call(a,
                         gpusim_process_mprotect(act_process(a), va, len,
                                                 GPUSIM_PROT_READ | GPUSIM_PROT_WRITE, act_cb, a));
            else if (a->step > 3)
                a->step = 100;
            break;
        case SIM_ACT_MREMAP:
            if (a->step == 1)
                act_call(a, gpusim_process_mremap(act_process(a), va, len, len,
                                                  GPUSIM_MREMAP_MAYMOVE | GPUSIM_MREMAP_FIXED,
                                                  away_va(a, va), act_cb, a));
            else if (a->step == 2 && d->hold)
                act_timer(a, d->hold);
            else if (a->step == 3)
                act_call(a, gpusim_process_mremap(act_process(a), away_va(a, va), len, len,
                                                  GPUSIM_MREMAP_MAYMOVE | GPUSIM_MREMAP_FIXED, va,
                                                  act_cb, a));
            else if (a->step > 3)
                a->step = 100;
            break;
        case SIM_ACT_FORK:
            step_fork(a, va, len);
            break;
        case SIM_ACT_PRESSURE:
            step_pressure(a);
            break;
        case SIM_ACT_COMPACT:
            if (a->step == 1)
                act_call(a, gpusim_host_compact(r->h, d->node, act_cb, a));
            else
                a->step = 100;
            break;
        case SIM_ACT_EXIT:
            if (a->step == 1)
                act_call(a, gpusim_process_exit(act_process(a), act_cb, a));
            else
                a->step = 100;
            break;
        default:
            a->step = 100;
        }
    }
}

static void occurrence_event(gpusim_world_t *w, gpusim_event_t *ev)
{
    sim_activity_state *a = ev->data;
    a->began = gpusim_world_now(w);
    a->step = 0;
    act_next(a);
}

void sim__activities_start(sim_run_state *r, gpusim_time_t t0)
{
    r->acts_t0 = t0;
    for (unsigned i = 0; i < r->s->nactivities; i++) {
        sim_activity_state *a = &r->acts[i];
        a->run = r;
        a->index = i;
        gpusim_event_init(&a->ev, occurrence_event, a);
        if (gpusim_event_schedule(r->w, &a->ev, t0 + r->s->activities[i].at)) {
            sim__run_fail(r, "[activity %s]: out of memory", r->s->activities[i].name);
            return;
        }
    }
}

bool sim__activities_done(const sim_run_state *r)
{
    for (unsigned i = 0; i < r->s->nactivities; i++) {
        const sim_activity_desc *d = &r->s->activities[i];
        bool endless = d->every && d->count == 0;
        if (!endless && !act_finished(d, r->acts[i].done))
            return false;
    }
    return true;
}
