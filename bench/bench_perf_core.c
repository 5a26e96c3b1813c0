/*
 * bench_perf_core.c -- the simulation core and the host model (bench_perf.h):
 *
 *   events        schedule + dispatch rate of the event queue: 1024 events in flight, each
 *                 rescheduling itself a pseudo-random delay ahead when it fires (no reference);
 *   host-fault    a simulated anonymous fault (mmap, then a CPU write to every page) against a
 *                 real mmap + first touch of as many 4 KiB pages on this machine;
 *   frame-memory  gpusim_world_memory() of a host of N frames, per frame, empty and with most
 *                 frames mapped by a process (no reference);
 *   big-world     a 64 GiB host with a fully mirrored 16 GiB buffer (refault driver mapping the
 *                 buffer when it is registered), in a child process so that its peak resident
 *                 set (VmHWM) is its own; and the world's own peak allocation.
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS, madvise, fork: not in strict C11 */
#include "bench_perf.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE GPUSIM_HOST_PAGE_SIZE

/* ---- event queue ---------------------------------------------------------------------------- */

typedef struct ev_state {
    uint64_t lcg;
} ev_state;

static void on_event(gpusim_world_t *w, gpusim_event_t *ev)
{
    ev_state *s = ev->data;
    s->lcg = s->lcg * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
    gpusim_event_schedule_after(w, ev, 1 + (s->lcg >> 54)); /* 1 .. 1024 ns ahead */
}

static int events_once(uint64_t n, double *rate)
{
    enum { INFLIGHT = 1024 };
    gpusim_world_t *w;
    gpusim_event_t *ev = calloc(INFLIGHT, sizeof *ev);
    ev_state s = {1};
    int rc = ev ? gpusim_world_new(NULL, &w) : GPUSIM_ENOMEM;
    if (rc) {
        free(ev);
        return rc;
    }
    for (int i = 0; i < INFLIGHT && rc == 0; i++) {
        gpusim_event_init(&ev[i], on_event, &s);
        rc = gpusim_event_schedule(w, &ev[i], (gpusim_time_t)i);
    }
    if (rc == 0) {
        uint64_t t0 = perf_now();
        int64_t ran = gpusim_world_run_events(w, n);
        double ns = (double)(perf_now() - t0);
        if (ran < 0)
            rc = (int)ran;
        else
            *rate = (double)ran / (ns / 1e9);
    }
    gpusim_world_free(w);
    free(ev);
    return rc;
}

void perf_event_queue(perf_ctx *c)
{
    uint64_t n = c->quick ? 1000000 : 20000000;
    double rate[PERF_REPS];
    for (int i = 0; i < PERF_REPS; i++) {
        int rc = events_once(n, &rate[i]);
        if (rc)
            return perf_fail(c, "events", rc);
    }
    perf_addf(c, "event queue schedule+dispatch", "events/s", perf_median(rate, PERF_REPS), NAN,
              NAN, PERF_GOAL_MIN, 20e6,
              "1024 events in flight, each rescheduled 1..1024 ns ahead when it fires; %llu events",
              (unsigned long long)n);
}

/* ---- host fault ----------------------------------------------------------------------------- */

/* Wall ns per page of a simulated mmap + first write of `pages` anonymous pages. */
static int sim_fault_once(uint64_t pages, double *ns)
{
    perf_fx f;
    perf_call m = {0}, t = {0};
    uint64_t ram = (2 * pages * PAGE + GPUSIM_HOST_HUGE_SIZE - 1) / GPUSIM_HOST_HUGE_SIZE *
                   GPUSIM_HOST_HUGE_SIZE;
    int rc = perf_fx_new(&f, ram < 64 * GPUSIM_MIB ? 64 * GPUSIM_MIB : ram, GPUSIM_POLICY_NONE,
                         NULL, true);
    if (rc)
        return rc;
    uint64_t t0 = perf_now();
    rc = gpusim_process_mmap(f.p, 0, pages * PAGE, GPUSIM_PROT_READ | GPUSIM_PROT_WRITE,
                             GPUSIM_MAP_PRIVATE, NULL, 0, perf_fx_cb, &m);
    if (rc == 0 && (rc = perf_fx_wait(&f, &m.done)) == 0 && (rc = m.status) == 0)
        rc = gpusim_process_access(f.p, m.result, pages * PAGE, GPUSIM_ACCESS_WRITE, NULL,
                                   perf_fx_cb, &t);
    if (rc == 0 && (rc = perf_fx_wait(&f, &t.done)) == 0)
        rc = t.status;
    *ns = (double)(perf_now() - t0) / (double)pages;
    perf_fx_free(&f);
    return rc;
}

/* The same on this machine: mmap, 4 KiB pages only (no THP), one write per page. */
static int real_fault_once(uint64_t pages, double *ns)
{
    uint64_t t0 = perf_now();
    volatile char *p =
        mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return GPUSIM_ENOMEM;
    madvise((void *)p, pages * PAGE, MADV_NOHUGEPAGE);
    for (uint64_t i = 0; i < pages; i++)
        p[i * PAGE] = 1;
    *ns = (double)(perf_now() - t0) / (double)pages;
    munmap((void *)p, pages * PAGE);
    return 0;
}

void perf_host_fault(perf_ctx *c)
{
    uint64_t pages = c->quick ? 16384 : 262144;
    double sim[PERF_REPS], real[PERF_REPS], ratio[PERF_REPS];
    for (int i = 0; i < PERF_REPS; i++) {
        int rc = sim_fault_once(pages, &sim[i]);
        if (rc == 0)
            rc = real_fault_once(pages, &real[i]);
        if (rc)
            return perf_fail(c, "host-fault", rc);
        ratio[i] = sim[i] / real[i];
    }
    perf_addf(c, "simulated anonymous host fault", "ns/page", perf_median(sim, PERF_REPS),
              perf_median(real, PERF_REPS), perf_median(ratio, PERF_REPS), PERF_GOAL_RATIO_LT, 1,
              "mmap + first write of %llu pages (%llu MiB), simulated vs real (MADV_NOHUGEPAGE)",
              (unsigned long long)pages, (unsigned long long)(pages * PAGE >> 20));
}

/* ---- memory per frame ----------------------------------------------------------------------- */

void perf_frame_memory(perf_ctx *c)
{
    uint64_t ram = c->quick ? 256 * GPUSIM_MIB : 4 * GPUSIM_GIB, frames = ram / PAGE;
    gpusim_world_memory_t before, empty, used;
    perf_fx f;
    uint64_t va;
    int rc = gpusim_world_new(NULL, &f.w);
    if (rc)
        return perf_fail(c, "frame-memory", rc);
    gpusim_world_memory(f.w, &before);
    gpusim_world_free(f.w);
    if ((rc = perf_fx_new(&f, ram, GPUSIM_POLICY_NONE, NULL, true)) != 0)
        return perf_fail(c, "frame-memory", rc);
    gpusim_world_memory(f.w, &empty);
    /* Most of RAM mapped by one process: adds the VMA, page-table and reverse-map state. */
    if ((rc = perf_fx_populate(&f, ram / 4 * 3, &va)) == 0)
        gpusim_world_memory(f.w, &used);
    perf_fx_free(&f);
    if (rc)
        return perf_fail(c, "frame-memory", rc);
    perf_addf(c, "memory per simulated host frame", "bytes",
              (double)(empty.bytes - before.bytes) / (double)frames, NAN, NAN, PERF_GOAL_MAX, 64,
              "gpusim_world_memory of a host of %llu frames (%llu MiB), less an empty world's, / "
              "frames",
              (unsigned long long)frames, (unsigned long long)(ram >> 20));
    perf_addf(c, "  same, 75 % of frames mapped", "bytes",
              (double)(used.bytes - before.bytes) / (double)frames, NAN, NAN, PERF_GOAL_NONE, 0,
              "after one process wrote 75 %% of RAM (its page tables and VMAs included)");
}

/* ---- a big world ---------------------------------------------------------------------------- */

typedef struct big_result {
    int rc;
    double peak_rss, rss0, world_peak, wall_ns, mapped;
} big_result;

static void big_world_child(uint64_t ram, uint64_t buf, big_result *r)
{
    gpusim_driver_config_t dc;
    gpusim_world_memory_t m;
    gpusim_driver_info_t di;
    gpusim_buffer_t *b;
    perf_fx f;
    uint64_t va, t0 = perf_now();
    FILE *cr = fopen("/proc/self/clear_refs", "w");
    if (cr) { /* "5" resets VmHWM to the current RSS (Linux >= 4.0) */
        fputs("5", cr);
        fclose(cr);
    }
    r->rss0 = (double)perf_rss();
    gpusim_driver_config_init(&dc, GPUSIM_POLICY_REFAULT);
    r->rc = gpusim_driver_config_set(&dc, "prefetch_on_register", "on", false, NULL, 0);
    if (r->rc == 0 && (r->rc = perf_fx_new(&f, ram, GPUSIM_POLICY_REFAULT, &dc, false)) == 0) {
        if ((r->rc = perf_fx_populate(&f, buf, &va)) == 0 &&
            (r->rc = perf_fx_register(&f, va, buf, &b)) == 0) {
            gpusim_world_memory(f.w, &m);
            r->world_peak = (double)m.peak_bytes;
            if ((r->rc = gpusim_driver_info(f.d, &di)) == 0)
                r->mapped = (double)di.pages_mapped; /* proof the buffer is mirrored */
        }
        perf_fx_free(&f);
    }
    r->wall_ns = (double)(perf_now() - t0);
    r->peak_rss = (double)perf_peak_rss();
}

void perf_big_world(perf_ctx *c)
{
    uint64_t ram = c->quick ? 4 * GPUSIM_GIB : 64 * GPUSIM_GIB, buf = ram / 4;
    big_result r = {GPUSIM_EINVAL, 0, 0, 0, 0, 0};
    int fd[2];
    pid_t pid;
    fflush(NULL);
    if (pipe(fd) != 0 || (pid = fork()) < 0)
        return perf_fail(c, "big-world: fork", GPUSIM_ENOMEM);
    if (pid == 0) { /* the child: measure, report through the pipe, exit without cleanup */
        close(fd[0]);
        big_world_child(ram, buf, &r);
        _exit(write(fd[1], &r, sizeof r) == (ssize_t)sizeof r ? 0 : 1);
    }
    close(fd[1]);
    ssize_t got = read(fd[0], &r, sizeof r);
    close(fd[0]);
    waitpid(pid, NULL, 0);
    if (got != (ssize_t)sizeof r)
        return perf_fail(c, "big-world: the child died", GPUSIM_EINVAL);
    if (r.rc)
        return perf_fail(c, "big-world", r.rc);
    perf_addf(c, c->quick ? "4 GiB host, 1 GiB mirrored (quick)" : "64 GiB host, 16 GiB mirrored",
              "bytes", r.peak_rss, NAN, NAN, PERF_GOAL_MAX,
              c->quick ? 2.0 * GPUSIM_GIB / 16 : 2.0 * GPUSIM_GIB,
              "peak RSS (VmHWM) of a child process, %.0f MiB at its start; %.0f GPU PTEs written; "
              "built in %.2f s%s",
              r.rss0 / (1 << 20), r.mapped, r.wall_ns / 1e9,
              c->quick ? "; quick: 1/16 scale and target" : "");
    perf_addf(c, "  same, the world's own peak allocation", "bytes", r.world_peak, NAN, NAN,
              PERF_GOAL_MAX, c->quick ? 2.0 * GPUSIM_GIB / 16 : 2.0 * GPUSIM_GIB,
              "gpusim_world_memory peak_bytes (allocator overhead not included)");
}
