/*
 * run.c -- plays one (scenario, policy, seed) in a world of its own and fills its result record.
 *
 * Phases, all in virtual time:
 *   1. set-up: host, devices, processes; every buffer mapped (2 MiB aligned), advised and written
 *      by the CPU; one driver per (device, process) pair that a job uses, with the run's policy
 *      (or the device's fixed one); each buffer registered with every driver whose jobs name it.
 *      The world runs until all of that has called back; set-up time counts in sim_time_ns, so a
 *      policy that works at registration (pin-persistent) pays for it in the figures.
 *   2. play: jobs are submitted at their start (then back to back or every interval), activities
 *      run their occurrences (run_activity.c); a deadline event at `duration` caps the run.
 *   3. the record: statistics and driver figures summed over devices, after the invariant checks
 *      of host, devices and drivers (a broken invariant fails the run).
 *
 * Invariant: the run state outlives the world (freed after gpusim_world_free), so no callback can
 * reach freed memory. Determinism: everything derives from (scenario, policy, seed); the only
 * wall-clock reading is wall_time_ns.
 */
#include "run_int.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Events run between two looks at the stop flag: small enough for a prompt Ctrl-C. */
#define SIM_EVENTS_PER_SLICE 20000

void sim__run_fail(sim_run_state *r, const char *fmt, ...)
{
    if (r->status == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->error, sizeof r->error, fmt, ap);
        va_end(ap);
        r->status = GPUSIM_EINVAL;
    }
    gpusim_world_stop(r->w);
}

static bool jobs_done(const sim_run_state *r)
{
    for (unsigned i = 0; i < r->s->njobs; i++) {
        const sim_job_state *j = &r->jobs[i];
        if (j->ended < j->submitted)
            return false;
        if (!j->stopped && j->submitted < r->s->jobs[i].repeat)
            return false;
    }
    return true;
}

void sim__run_check_finished(sim_run_state *r)
{
    if (r->finished || !jobs_done(r) || !sim__activities_done(r))
        return;
    r->finished = true;
    r->end = gpusim_world_now(r->w);
    gpusim_world_stop(r->w);
}

/* ---- set-up --------------------------------------------------------------------------------- */

static void setup_cb(void *data, int status, uint64_t result)
{
    sim_run_state *r = data;
    (void)result;
    if (status && !r->setup_status)
        r->setup_status = status;
    r->pending--;
}

/* Runs the world until every set-up operation has called back. */
static int setup_wait(sim_run_state *r, const char *what)
{
    while (r->pending) {
        int64_t n = gpusim_world_run_events(r->w, 1);
        if (n <= 0) {
            sim__run_fail(r, "set-up stalled while %s", what);
            return GPUSIM_EINVAL;
        }
    }
    if (r->setup_status) {
        sim__run_fail(r, "%s: %s", what, gpusim_strerror(r->setup_status));
        return r->setup_status;
    }
    return 0;
}

/* A host call that reports through setup_cb: counts it in flight when it was accepted. */
static int setup_call(sim_run_state *r, int rc, const char *what, const char *name)
{
    if (rc) {
        sim__run_fail(r, "%s %s: %s", what, name, gpusim_strerror(rc));
        return rc;
    }
    r->pending++;
    return 0;
}

/* Section names may hold '-'; gpusim object names are [a-z0-9_]. */
static void object_name(char *dst, const char *src)
{
    size_t i;
    for (i = 0; src[i] && i < SIM_NAME_MAX - 1; i++)
        dst[i] = src[i] == '-' ? '_' : src[i];
    dst[i] = '\0';
}

static int setup_world(sim_run_state *r, uint64_t seed)
{
    const sim_scenario *s = r->s;
    gpusim_world_config_t wc;
    int rc;
    gpusim_world_config_init(&wc);
    wc.seed = seed;
    wc.mem_limit = s->memory_budget;
    rc = gpusim_world_new(&wc, &r->w);
    if (rc)
        return rc;
    if (r->trace && (rc = sim_trace_attach(r->trace, r->w)) != 0)
        return rc;
    rc = gpusim_host_new(r->w, &s->host, &r->h);
    if (rc) {
        sim__run_fail(r, "[host]: %s", gpusim_strerror(rc));
        return rc;
    }
    for (unsigned i = 0; i < s->ngpus; i++) {
        gpusim_gpu_config_t gc = s->gpus[i].cfg;
        char name[SIM_NAME_MAX];
        object_name(name, s->gpus[i].name);
        gc.name = name;
        rc = gpusim_gpu_new(r->w, &gc, &r->gpus[i]);
        if (rc) {
            sim__run_fail(r, "[gpu %s]: %s", s->gpus[i].name, gpusim_strerror(rc));
            return rc;
        }
    }
    for (unsigned i = 0; i < s->nprocesses; i++) {
        gpusim_process_config_t pc = s->processes[i].cfg;
        char name[SIM_NAME_MAX];
        object_name(name, s->processes[i].name);
        pc.name = name;
        rc = gpusim_process_new(r->h, &pc, &r->procs[i]);
        if (rc) {
            sim__run_fail(r, "[process %s]: %s", s->processes[i].name, gpusim_strerror(rc));
            return rc;
        }
    }
    return 0;
}

/* Writes buffer i page by page, each page followed by its share of filler pages, then unmaps the
 * filler: the buffer's frames end up `fragment` percent diluted in the blocks they occupy. Every
 * write is waited for, so the allocation order is exactly the interleaving. */
static int populate_fragmented(sim_run_state *r, unsigned i)
{
    const sim_buffer_desc *b = &r->s->buffers[i];
    gpusim_process_t *p = r->procs[b->process];
    uint64_t pages = b->size / GPUSIM_HOST_PAGE_SIZE, owed = 0, used = 0;
    uint64_t filler_pages = pages * b->fragment / (100 - b->fragment) + 1;
    int rc =
        setup_call(r,
                   gpusim_process_mmap(p, SIM_FILLER_BASE, filler_pages * GPUSIM_HOST_PAGE_SIZE,
                                       GPUSIM_PROT_READ | GPUSIM_PROT_WRITE,
                                       GPUSIM_MAP_PRIVATE | GPUSIM_MAP_FIXED, NULL, 0, setup_cb, r),
                   "mapping the filler of buffer", b->name);
    if (rc || (rc = setup_wait(r, "mapping a filler")) != 0)
        return rc;
    for (uint64_t k = 0; k < pages && !rc; k++) {
        uint64_t n;
        rc = setup_call(r,
                        gpusim_process_access(p, r->buf_va[i] + k * GPUSIM_HOST_PAGE_SIZE,
                                              GPUSIM_HOST_PAGE_SIZE, GPUSIM_ACCESS_WRITE, NULL,
                                              setup_cb, r),
                        "populating buffer", b->name);
        if (rc || (rc = setup_wait(r, "populating a fragmented buffer")) != 0)
            return rc;
        owed += b->fragment; /* filler pages per buffer page: fragment / (100 - fragment) */
        n = owed / (100 - b->fragment);
        owed -= n * (100 - b->fragment);
        if (n > filler_pages - used)
            n = filler_pages - used;
        if (n == 0)
            continue;
        rc = setup_call(r,
                        gpusim_process_access(p, SIM_FILLER_BASE + used * GPUSIM_HOST_PAGE_SIZE,
                                              n * GPUSIM_HOST_PAGE_SIZE, GPUSIM_ACCESS_WRITE, NULL,
                                              setup_cb, r),
                        "writing the filler of buffer", b->name);
        used += n;
        if (!rc)
            rc = setup_wait(r, "populating a fragmented buffer");
    }
    if (!rc)
        rc = setup_call(r,
                        gpusim_process_munmap(p, SIM_FILLER_BASE,
                                              filler_pages * GPUSIM_HOST_PAGE_SIZE, setup_cb, r),
                        "unmapping the filler of buffer", b->name);
    return rc ? rc : setup_wait(r, "unmapping a filler");
}

/* Maps every buffer, advises it, and writes it from the CPU when it is to be populated. */
static int setup_buffers(sim_run_state *r)
{
    const sim_scenario *s = r->s;
    uint64_t next[SIM_MAX_PROCESSES];
    int rc = 0;
    for (unsigned i = 0; i < SIM_MAX_PROCESSES; i++)
        next[i] = SIM_BUFFER_BASE;
    for (unsigned i = 0; i < s->nbuffers && !rc; i++) {
        const sim_buffer_desc *b = &s->buffers[i];
        gpusim_process_t *p = r->procs[b->process];
        r->buf_va[i] = next[b->process];
        next[b->process] += (b->size + 2 * SIM_HUGE - 1) / SIM_HUGE * SIM_HUGE;
        rc = setup_call(
            r,
            gpusim_process_mmap(p, r->buf_va[i], b->size, GPUSIM_PROT_READ | GPUSIM_PROT_WRITE,
                                GPUSIM_MAP_PRIVATE | GPUSIM_MAP_FIXED, NULL, 0, setup_cb, r),
            "mmap of buffer", b->name);
        if (!rc && b->hugepage)
            rc = setup_call(
                r,
                gpusim_process_madvise(p, r->buf_va[i], b->size, GPUSIM_MADV_HUGEPAGE, setup_cb, r),
                "madvise of buffer", b->name);
    }
    if (rc || (rc = setup_wait(r, "mapping the buffers")) != 0)
        return rc;
    for (unsigned i = 0; i < s->nbuffers && !rc; i++) {
        const sim_buffer_desc *b = &s->buffers[i];
        if (b->populate && b->fragment)
            rc = populate_fragmented(r, i);
        else if (b->populate)
            rc = setup_call(r,
                            gpusim_process_access(r->procs[b->process], r->buf_va[i], b->size,
                                                  GPUSIM_ACCESS_WRITE, NULL, setup_cb, r),
                            "populating buffer", b->name);
    }
    return rc ? rc : setup_wait(r, "populating the buffers");
}

static void register_cb(void *data, int status, uint64_t result)
{
    sim_reg_op *op = data;
    sim_run_state *r = op->run;
    if (status && !r->setup_status)
        sim__run_fail(r, "registering buffer %s with %s (%s): %s", r->s->buffers[op->buffer].name,
                      r->s->gpus[op->gpu].name,
                      gpusim_policy_name(
                          gpusim_driver_policy(r->drv[op->gpu][r->s->buffers[op->buffer].process])),
                      gpusim_strerror(status));
    setup_cb(r, status, result);
}

/* A driver's name: "<gpu>_<process>" when that fits in 31 characters and no driver of this run
 * has it yet (two pairs can spell it alike: "a_b"+"c", "a"+"b_c"), else "drv<g>_<p>". */
static void driver_name(const sim_run_state *r, unsigned g, unsigned p, const char *gname,
                        const char *pname, char *name, size_t len)
{
    int n = snprintf(name, len, "%s_%s", gname, pname);
    bool taken = n < 0 || n > 31;
    for (unsigned i = 0; i < r->s->ngpus && !taken; i++)
        for (unsigned j = 0; j < r->s->nprocesses && !taken; j++)
            taken = r->drv[i][j] && strcmp(gpusim_driver_name(r->drv[i][j]), name) == 0;
    if (taken)
        snprintf(name, len, "drv%u_%u", g, p);
}

/* One driver per (device, process) pair a job uses; each buffer registered once per device. */
static int setup_drivers(sim_run_state *r)
{
    const sim_scenario *s = r->s;
    int rc = 0;
    for (unsigned j = 0; j < s->njobs && !rc; j++) {
        const sim_job_desc *job = &s->jobs[j];
        unsigned g = job->gpu, p = s->buffers[job->buffers[0]].process;
        if (!r->drv[g][p]) {
            const sim_gpu_desc *gd = &s->gpus[g];
            gpusim_driver_config_t dc = gd->drv;
            char name[SIM_NAME_MAX * 2 + 2], gname[SIM_NAME_MAX], pname[SIM_NAME_MAX];
            object_name(gname, gd->name);
            object_name(pname, s->processes[p].name);
            driver_name(r, g, p, gname, pname, name, sizeof name);
            dc.policy = gd->policy_fixed ? gd->policy : r->policy;
            dc.name = name;
            rc = gpusim_driver_new(r->gpus[g], r->procs[p], &dc, &r->drv[g][p]);
            if (rc) {
                sim__run_fail(r, "driver for [gpu %s] and [process %s]: %s", gd->name,
                              s->processes[p].name, gpusim_strerror(rc));
                return rc;
            }
        }
        for (unsigned k = 0; k < job->nbuffers && !rc; k++) {
            unsigned b = job->buffers[k];
            if (r->reg[g][b])
                continue;
            r->regop[g][b] = (sim_reg_op){.run = r, .gpu = g, .buffer = b};
            rc = gpusim_driver_register(r->drv[g][p], r->buf_va[b], s->buffers[b].size,
                                        s->buffers[b].writable ? GPUSIM_BUFFER_WRITE : 0,
                                        &r->reg[g][b], register_cb, &r->regop[g][b]);
            rc = setup_call(r, rc, "registering buffer", s->buffers[b].name);
        }
    }
    return rc ? rc : setup_wait(r, "registering the buffers");
}

/* ---- jobs ----------------------------------------------------------------------------------- */

static void job_submit(sim_job_state *js);

static void job_ended(void *data, int status, uint64_t id)
{
    sim_job_state *js = data;
    sim_run_state *r = js->run;
    const sim_job_desc *job = &r->s->jobs[js->index];
    (void)id;
    js->ended++;
    /* A killed context or a gone process can run nothing more. Another failure (EFAULT: a
     * submission that met a hole) ends a back-to-back stream, as a failed ioctl would end the
     * application's loop (resubmitting at once would fail again in zero time); a periodic stream
     * goes on at its next tick. */
    if (status == GPUSIM_ECTXKILLED || status == GPUSIM_ESRCH || (status && job->interval == 0))
        js->stopped = true;
    if (!js->stopped && job->interval == 0 && js->submitted < job->repeat)
        job_submit(js);
    sim__run_check_finished(r);
}

static void job_submit(sim_job_state *js)
{
    sim_run_state *r = js->run;
    const sim_scenario *s = r->s;
    const sim_job_desc *job = &s->jobs[js->index];
    unsigned g = job->gpu, p = s->buffers[job->buffers[0]].process;
    gpusim_job_desc_t d;
    int rc;
    memset(&d, 0, sizeof d);
    for (unsigned k = 0; k < job->nbuffers; k++)
        d.buffers[k] = r->reg[g][job->buffers[k]];
    d.nbuffers = job->nbuffers;
    if (job->kind == SIM_JOB_COPY) {
        d.kind = GPUSIM_JOB_COPY;
        d.copy_src = r->buf_va[job->buffers[0]];
        d.copy_dst = r->buf_va[job->buffers[1]];
        d.copy_bytes = job->copy_bytes;
    } else {
        d.kind = GPUSIM_JOB_DISPATCH;
        d.kernel = job->kernel;
        d.kernel.buffer_va = r->buf_va[job->buffers[0]];
        if (!job->seed_fixed && (job->kernel.pattern == GPUSIM_PATTERN_RANDOM ||
                                 job->kernel.pattern == GPUSIM_PATTERN_HOTCOLD ||
                                 job->kernel.pattern == GPUSIM_PATTERN_CHASE)) {
            /* One stream per job, keyed by its name: adding a job leaves the others' alone. */
            gpusim_rng_t rng;
            char key[SIM_NAME_MAX + 8];
            snprintf(key, sizeof key, "job.%s", job->name);
            gpusim_world_rng(r->w, key, &rng);
            d.kernel.seed = gpusim_rng_next(&rng);
        }
    }
    rc = gpusim_driver_submit(r->drv[g][p], &d, job_ended, js);
    if (rc == 0) {
        js->submitted++;
    } else if (rc == GPUSIM_ECTXKILLED || rc == GPUSIM_ESRCH) {
        js->stopped = true;
    } else {
        sim__run_fail(r, "[job %s]: submission %" PRIu64 " refused: %s", job->name,
                      js->submitted + 1, gpusim_strerror(rc));
        js->stopped = true;
    }
}

/* A timed submission: the first one, or the next of a job with an interval. */
static void job_event(gpusim_world_t *w, gpusim_event_t *ev)
{
    sim_job_state *js = ev->data;
    const sim_job_desc *job = &js->run->s->jobs[js->index];
    if (js->stopped)
        return;
    job_submit(js);
    if (!js->stopped && job->interval && js->submitted < job->repeat)
        gpusim_event_schedule_after(w, ev, job->interval);
    sim__run_check_finished(js->run);
}

static void deadline_event(gpusim_world_t *w, gpusim_event_t *ev)
{
    sim_run_state *r = ev->data;
    r->finished = true;
    r->end = gpusim_world_now(w);
    gpusim_world_stop(w);
}

/* ---- the record ----------------------------------------------------------------------------- */

static uint64_t stat_of(gpusim_world_t *w, const char *name, int what)
{
    gpusim_stat_info_t si;
    if (gpusim_stats_get(w, name, &si) != 0)
        return 0;
    switch (what) {
    case 'p':
        return si.peak > 0 ? (uint64_t)si.peak : 0;
    case 's':
        return si.sum;
    default:
        return si.count;
    }
}

static uint64_t gpu_stat(gpusim_world_t *w, gpusim_gpu_t *g, const char *suffix)
{
    char name[GPUSIM_STAT_NAME_MAX + 1];
    snprintf(name, sizeof name, "gpu.%s.%s", gpusim_gpu_name(g), suffix);
    return stat_of(w, name, 'c');
}

static void collect(sim_run_state *r, sim_result *out)
{
    const sim_scenario *s = r->s;
    gpusim_world_t *w = r->w;
    out->sim_time_ns = r->end;
    out->events = gpusim_world_events_run(w);
    gpusim_world_memory_t mem;
    if (gpusim_world_memory(w, &mem) == 0)
        out->memory_peak_bytes = mem.peak_bytes;
    for (unsigned g = 0; g < s->ngpus; g++) {
        gpusim_gpu_t *gpu = r->gpus[g];
        if (!gpu)
            continue;
        out->gpu.busy_ns += gpu_stat(w, gpu, "engine.busy_ns");
        out->gpu.tlb_misses += gpu_stat(w, gpu, "tlb.walks");
        out->gpu.tlb_invalidations += gpu_stat(w, gpu, "tlb.invalidations.range") +
                                      gpu_stat(w, gpu, "tlb.invalidations.context") +
                                      gpu_stat(w, gpu, "tlb.invalidations.global");
        out->gpu.preemptions +=
            gpu_stat(w, gpu, "cp.queue_preemptions") + gpu_stat(w, gpu, "cp.evictions");
        out->gpu.dma_bytes += gpu_stat(w, gpu, "engine.dma_bytes");
        for (unsigned p = 0; p < s->nprocesses; p++) {
            gpusim_driver_info_t di;
            if (!r->drv[g][p] || gpusim_driver_info(r->drv[g][p], &di) != 0)
                continue;
            out->gpu.jobs_completed += di.jobs_completed;
            out->gpu.jobs_failed += di.jobs_failed;
            out->gpu.stall_ns += di.gpu_stall_ns;
            out->gpu.faults += di.faults;
            out->gpu.fault_batches += di.fault_batches;
            if (gpusim_gpu_ctx_error(gpusim_driver_ctx(r->drv[g][p])))
                out->gpu.contexts_killed++;
            out->checker.accesses += di.checked;
            out->checker.use_after_free += di.use_after_free;
            out->checker.stale += di.stale;
        }
    }
    out->host.pinned_pages_peak = stat_of(w, "host.pin.frames", 'p');
    out->host.reclaimed_pages = stat_of(w, "host.reclaim.reclaimed", 'c');
    out->host.reclaim_skipped_pinned = stat_of(w, "host.reclaim.skipped_pinned", 'c');
    out->host.alloc_stall_ns = stat_of(w, "host.direct_reclaim.stall_ns", 's');
    out->host.oom_kills = stat_of(w, "host.oom.kills", 'c');
    out->host.migrations = stat_of(w, "host.migrate.success", 'c');
    out->host.migration_failures = stat_of(w, "host.migrate.failed_pinned", 'c');
    out->host.swap_outs = stat_of(w, "host.swap.out", 'c');
    out->host.swap_ins = stat_of(w, "host.swap.in", 'c');
    for (unsigned k = 0; k < GPUSIM_INVALIDATOR_COUNT; k++) {
        char name[GPUSIM_STAT_NAME_MAX + 1];
        gpusim_stat_info_t si;
        sim_summary *sum = &out->notifier.blocked_by[k];
        snprintf(name, sizeof name, "notifier.invalidations.%s", sim_invalidator_name(k));
        out->notifier.invalidations += stat_of(w, name, 'c');
        snprintf(name, sizeof name, "notifier.blocked_ns.%s", sim_invalidator_name(k));
        if (gpusim_stats_get(w, name, &si) != 0)
            continue;
        sum->count = si.count;
        sum->total = si.sum;
        sum->p50 = si.p50;
        sum->p99 = si.p99;
        sum->max = si.max;
        out->notifier.blocked_ns += si.sum;
    }
}

/* The invariant checks of every layer: a run that breaks one is a failed run. */
static void check_invariants(sim_run_state *r)
{
    char msg[SIM_TEXT_MAX - 32];
    if (gpusim_host_check(r->h, msg, sizeof msg) != 0) {
        sim__run_fail(r, "host invariant: %s", msg);
        return;
    }
    for (unsigned g = 0; g < r->s->ngpus; g++) {
        if (gpusim_gpu_check(r->gpus[g], msg, sizeof msg) != 0) {
            sim__run_fail(r, "GPU invariant: %s", msg);
            return;
        }
        for (unsigned p = 0; p < r->s->nprocesses; p++)
            if (r->drv[g][p] && gpusim_driver_check(r->drv[g][p], msg, sizeof msg) != 0) {
                sim__run_fail(r, "driver invariant: %s", msg);
                return;
            }
    }
}

/*
 * The memory budget (docs/reliability.md): once the world refused an allocation, whatever failed
 * after it is a consequence, so the record names the budget instead, and the run stops. Returns
 * true when the budget was hit.
 */
static bool over_budget(sim_run_state *r)
{
    gpusim_world_memory_t m;
    char limit[32], used[32], asked[32];
    if (!r->w || gpusim_world_memory(r->w, &m) != 0 || m.refused == 0)
        return false;
    gpusim_size_format(m.limit, limit, sizeof limit);
    gpusim_size_format(m.refused_at, used, sizeof used);
    gpusim_size_format(m.refused_size, asked, sizeof asked);
    snprintf(r->error, sizeof r->error,
             "the simulator's memory budget of %s is exhausted (%s in use, %s more refused): "
             "raise [scenario] memory_budget or gpusim-bench run --memory-budget",
             limit, used, asked);
    r->status = GPUSIM_ENOMEM;
    gpusim_world_stop(r->w);
    return true;
}

/* ---- the run -------------------------------------------------------------------------------- */

static int play(sim_run_state *r, const atomic_int *stop)
{
    const sim_scenario *s = r->s;
    gpusim_time_t t0 = gpusim_world_now(r->w);
    if (s->duration <= t0) {
        sim__run_fail(r, "set-up took longer than the duration (%" PRIu64 " ns)", t0);
        return 0;
    }
    gpusim_event_init(&r->deadline, deadline_event, r);
    if (gpusim_event_schedule(r->w, &r->deadline, s->duration))
        return GPUSIM_ENOMEM;
    for (unsigned i = 0; i < s->njobs; i++) {
        sim_job_state *js = &r->jobs[i];
        js->run = r;
        js->index = i;
        gpusim_event_init(&js->ev, job_event, js);
        if (gpusim_event_schedule(r->w, &js->ev, t0 + s->jobs[i].start))
            return GPUSIM_ENOMEM;
    }
    sim__activities_start(r, t0);
    sim__run_check_finished(r);
    while (!r->finished && r->status == 0) {
        if (stop && *stop)
            return GPUSIM_ECANCELED;
        int64_t n = gpusim_world_run_events(r->w, SIM_EVENTS_PER_SLICE);
        if (over_budget(r))
            break;
        if (n < 0)
            return (int)n;
        if (n == 0) { /* cannot happen while the deadline is pending */
            sim__run_fail(r, "the world ran out of events before the deadline");
            break;
        }
    }
    return 0;
}

static uint64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * GPUSIM_NS_PER_S + (uint64_t)ts.tv_nsec;
}

int sim_run(const sim_scenario *s, gpusim_policy_t policy, uint64_t seed, const sim_run_opts *opts,
            sim_result *out)
{
    uint64_t t_start = wall_ns();
    sim_run_state *r;
    int rc;
    if (!s || !out || (unsigned)policy >= GPUSIM_POLICY_COUNT)
        return GPUSIM_EINVAL;
    r = calloc(1, sizeof *r);
    if (!r)
        return GPUSIM_ENOMEM;
    r->s = s;
    r->policy = policy;
    r->trace = opts ? opts->trace : NULL;
    sim_result_init(out);
    snprintf(out->scenario, sizeof out->scenario, "%s", s->name);
    snprintf(out->policy, sizeof out->policy, "%s", gpusim_policy_name(policy));
    snprintf(out->preset, sizeof out->preset, "%s", s->preset);
    out->seed = seed;
    for (unsigned i = 0; i < s->nexpects; i++)
        if (s->expects[i].policies[policy]) {
            sim_outcome *o = &out->expectations[out->nexpectations++];
            snprintf(o->text, sizeof o->text, "%s", s->expects[i].text);
            o->met = -1;
        }

    rc = setup_world(r, seed);
    if (rc == 0 && r->status == 0)
        rc = setup_buffers(r);
    if (rc == 0 && r->status == 0)
        rc = setup_drivers(r);
    if (rc == 0 && r->status == 0)
        rc = play(r, opts ? opts->stop : NULL);
    else if (r->status)
        rc = 0; /* a set-up failure is the scenario's: it is recorded, not returned */
    if (rc == 0 && r->status == 0)
        check_invariants(r);
    if (over_budget(r))
        rc = 0; /* so is running out of budget, whatever it broke on the way */
    if (rc == 0 && r->w) {
        if (!r->end)
            r->end = r->w ? gpusim_world_now(r->w) : 0;
        collect(r, out);
    }
    if (rc == 0) {
        out->status = r->status;
        snprintf(out->error, sizeof out->error, "%s", r->error);
    }
    if (r->w)
        gpusim_world_free(r->w);
    free(r);
    out->wall_time_ns = wall_ns() - t_start;
    return rc;
}
