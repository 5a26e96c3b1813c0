/*
 * tests/test_mirror_random.c -- the driver policies' randomized property test (issue 6, "Tests").
 *
 * For each policy, SEEDS seeds each build a world -- a small host (64 MiB of RAM, 32 MiB of
 * swap, THP always; khugepaged every 1 ms on odd seeds, 16 MiB of ZONE_MOVABLE on seeds with bit
 * 1), one GPU with the default configuration, one process ("app") with four anonymous buffers
 * mapped at fixed addresses and written (4 MiB and 2 MiB THP-aligned, 1.06 MiB unaligned, 512 KiB
 * that the GPU only reads), and a driver of the policy with the buffers registered -- and run it
 * for RUN_NS of virtual time (half under sanitizers), then let what is in flight drain, while:
 *
 *   - the GPU is kept busy: NSLOTS jobs are always submitted (a kernel over a buffer or part of
 *     one, SEQUENTIAL or RANDOM, 1-4 passes, some writes; or a copy between two buffers), and each
 *     is replaced a little after it ends, whatever its status;
 *   - random host activity starts at random times, mostly over the buffer a running job uses:
 *     munmap then mmap FIXED at the same address, mmap FIXED over the buffer, madvise DONTNEED and
 *     PAGEOUT, mprotect (read-only or none, then back), mremap (moved away and back, moved away
 *     and replaced, shrunk and regrown), fork with writes in parent and child then the child's
 *     exit, memory pressure from another process (reclaim, swap), an allocation beyond RAM + swap
 *     (the OOM killer; sometimes the app's own), compaction (migration), THP splits (munmap or
 *     mprotect of a few pages inside a 2 MiB block), CPU writes and reads, and the app's exit.
 *
 * Jobs that fail (EFAULT for an unmapped page, ECTXKILLED when refault cancels a fault on a hole,
 * ESRCH once the process is gone, ...) are counted, not asserted: the property is the checker's.
 * When the driver's context is killed or its process dies, the driver is retired (its figures
 * summed into the run's, gpusim_driver_check, gpusim_driver_free) and a new one takes over: on
 * the same process if it lives, else on a new process with freshly mapped buffers (an "epoch").
 *
 * Properties, from gpusim_driver_info summed over a run's drivers:
 *   refault, fence-wait, fence-reload: use_after_free == 0 and stale == 0;
 *   pin, pin-persistent: use_after_free == 0 (stale accesses are pinning's real property);
 *   none: use_after_free > 0 summed over its seeds (the checker can fail);
 *   every run: checked > 0, and gpusim_host_check, gpusim_gpu_check and gpusim_driver_check pass
 *   (every CHECK_EVERY activity ticks during the run, and at its end).
 * One seed is run twice and its figures must be identical (determinism). A run that does not
 * drain within 400 ms after its end fails too, printing each driver's internal state.
 *
 * Each policy prints one line: jobs by outcome, drivers (contexts killed), accesses checked,
 * use-after-free and stale accesses, and what the drivers did. Run time: about 20 s in a Debug
 * build. GPUSIM_MIRROR_SOAK=N runs N more seeds per policy (test_soak); GPUSIM_MIRROR_RUN=
 * policy:seed runs that one run alone (to reproduce a failure: the message names both).
 */
#include "test_util.h"

#include "core/compiler.h"
#include "mirror/mirror.h" /* the driver's state, printed when a run does not drain */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define KIB  GPUSIM_KIB
#define MIB  GPUSIM_MIB
#define PAGE UINT64_C(4096)
#define HUGE UINT64_C(0x200000)
#define US   GPUSIM_NS_PER_US
#define MS   GPUSIM_NS_PER_MS

#define RAM         (64 * MIB)
#define SWAP        (32 * MIB)
#define BASE        UINT64_C(0x7e0000000000) /* the buffers; 2 MiB aligned */
#define SCRATCH     (BASE + 64 * MIB)        /* mremap targets: 4 MiB per op slot */
#define NBUF        4
#define NSLOTS      2   /* jobs kept submitted */
#define MAXOPS      8   /* host operations (chains) in flight at most */
#define MAXEPOCHS   256 /* drivers per run at most */
#define RUN_NS      (150 * MS)
#define TICK_NS     (200 * US) /* activity ticks: uniform in [1, TICK_NS] apart */
#define CHECK_EVERY 16         /* checkers every so many ticks */
#define SEEDS       8          /* per policy in the default suite */

/* Sanitizer builds run shorter: each run costs several times more there. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define RUN_TIME (RUN_NS / 2)
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define RUN_TIME (RUN_NS / 2)
#endif
#endif
#ifndef RUN_TIME
#define RUN_TIME RUN_NS
#endif

/* The quick per-event soak (soak.mirror_events): seeds per policy and virtual time of activity
 * per run. A check round costs about 100 events (the host checker is O(frames)), and sanitizers
 * multiply that again by 20 to 50: there, one short seed per policy. */
#if RUN_TIME == RUN_NS
#define EVENT_SEEDS  2
#define EVENT_RUN_NS (RUN_NS / 6)
#else
#define EVENT_SEEDS  1
#define EVENT_RUN_NS (RUN_NS / 24)
#endif

static const struct bufspec {
    uint64_t off, len;
    bool write;
} bufspec[NBUF] = {
    {0, 4 * MIB, true},                          /* 2 MiB aligned: THP */
    {8 * MIB, 2 * MIB, true},                    /* one huge page */
    {16 * MIB + 12 * KIB, MIB + 64 * KIB, true}, /* unaligned */
    {24 * MIB, 512 * KIB, false},                /* the GPU only reads it */
};

/* Host activity, with its weight. */
#define ACT_KINDS(XX)                                                                              \
    XX(REMAP, remap, 12)                                                                           \
    XX(REPLACE, replace, 5)                                                                        \
    XX(DONTNEED, dontneed, 10)                                                                     \
    XX(MPROTECT, mprotect, 7)                                                                      \
    XX(MREMAP, mremap, 7)                                                                          \
    XX(FORK, fork, 6)                                                                              \
    XX(PRESSURE, pressure, 6)                                                                      \
    XX(OOM, oom, 2)                                                                                \
    XX(COMPACT, compact, 6)                                                                        \
    XX(THP_SPLIT, thp_split, 7)                                                                    \
    XX(PAGEOUT, pageout, 5)                                                                        \
    XX(CPU, cpu, 8)                                                                                \
    XX(EXIT, exit, 1)

enum {
#define XX_ENUM(N, n, wt) A_##N,
    ACT_KINDS(XX_ENUM)
#undef XX_ENUM
        A_COUNT
};

static const char *const act_names[A_COUNT] = {
#define XX_NAME(N, n, wt) #n,
    ACT_KINDS(XX_NAME)
#undef XX_NAME
};

static const unsigned act_weight[A_COUNT] = {
#define XX_WT(N, n, wt) wt,
    ACT_KINDS(XX_WT)
#undef XX_WT
};

/* Job outcomes. */
enum { J_OK, J_EFAULT, J_EPERM, J_CTXKILLED, J_ESRCH, J_ETIMEDOUT, J_ENOMEM, J_OTHER, J_COUNT };
static const char *const job_names[J_COUNT] = {"ok",    "EFAULT",    "EPERM",  "ECTXKILLED",
                                               "ESRCH", "ETIMEDOUT", "ENOMEM", "other"};

enum { BS_NONE, BS_REG, BS_READY, BS_FAILED, BS_UNREG };

/* Everything a run produces; compared whole (memcmp) by the determinism test: uint64_t only. */
typedef struct run_result {
    gpusim_driver_info_t info; /* summed over the run's drivers */
    uint64_t jobs[J_COUNT];
    uint64_t submit_refused; /* submissions refused at call time (context killed, process gone) */
    uint64_t epochs;         /* drivers created */
    uint64_t reg_failed;     /* registrations that reported an error */
    uint64_t acts[A_COUNT];  /* host activities started */
    uint64_t act_errors[A_COUNT]; /* their steps that failed (call time or status) */
    uint64_t checks;
    uint64_t ctx_kills;
    uint64_t other_status; /* the last job status counted as J_OTHER, negated */
    uint64_t end_time;
} run_result;

_Static_assert(sizeof(gpusim_driver_info_t) % sizeof(uint64_t) == 0, "info is uint64_t only");

struct rt;
struct epoch;

typedef struct bslot {
    struct epoch *e;
    int ix;
    gpusim_buffer_t *b;
    int state; /* BS_* */
    int tries; /* registrations attempted */
} bslot;

/* One driver's life: its process (created, or the previous driver's), its buffers, its jobs. */
typedef struct epoch {
    struct rt *t;
    int id;
    gpusim_process_t *p;
    gpusim_driver_t *d;
    bslot buf[NBUF];
    int jobs_out; /* jobs submitted whose callback has not run */
    int host_out; /* host calls and registrations whose callback has not run */
    bool building, dying, retired, freed;
    int bstep; /* building a new process: mmap, write of each buffer in turn */
    gpusim_event_t ev;
} epoch;

/* A job slot of the feeder. */
typedef struct slot {
    struct rt *t;
    gpusim_event_t ev;
    epoch *e; /* the epoch of the job in flight, or NULL */
    int buf;  /* the buffer its kernel runs over (-1: none) */
} slot;

/* A chain of host operations (one activity), one step at a time. */
typedef struct op {
    struct rt *t;
    bool used;
    int ix;
    int kind, variant, step;
    gpusim_process_t *p, *child;
    uint64_t addr, len, addr2, len2;
    unsigned prot;
    int status;
    uint64_t result;
    gpusim_event_t ev;
} op;

typedef struct rt {
    gpusim_world_t *w;
    gpusim_host_t *h;
    gpusim_gpu_t *gpu;
    gpusim_policy_t policy;
    uint64_t seed;
    gpusim_rng_t rng;
    epoch ep[MAXEPOCHS];
    int nep;
    epoch *cur;
    slot slots[NSLOTS];
    op ops[MAXOPS];
    int ops_out;
    gpusim_event_t tick;
    uint64_t ticks;
    gpusim_process_t *hog;
    bool pressure_busy;
    int names;
    bool stopping;
    gpusim_time_t end;
    char failure[1024];
    uint64_t event_checks; /* per-event check rounds (run_cfg.per_event) */
    run_result res;
    gpusim_violation_t viol[GPUSIM_DRIVER_VIOLATIONS_KEPT];
    size_t nviol;
} rt;

static void fail_now(rt *t, const char *fmt, ...) GPUSIM_PRINTF(2, 3);

static void fail_now(rt *t, const char *fmt, ...)
{
    va_list ap;
    int n;
    if (t->failure[0])
        return;
    n = snprintf(t->failure, sizeof t->failure, "t=%" PRIu64 " ns: ", gpusim_world_now(t->w));
    va_start(ap, fmt);
    vsnprintf(t->failure + n, sizeof t->failure - (size_t)n, fmt, ap);
    va_end(ap);
    gpusim_world_stop(t->w);
}

static uint64_t rnd(rt *t, uint64_t n)
{
    return gpusim_rng_below(&t->rng, n);
}

static bool chance(rt *t, unsigned percent)
{
    return rnd(t, 100) < percent;
}

static bool coherent(gpusim_policy_t p)
{
    return p == GPUSIM_POLICY_REFAULT || p == GPUSIM_POLICY_FENCE_WAIT ||
           p == GPUSIM_POLICY_FENCE_RELOAD;
}

static bool live(const gpusim_process_t *p)
{
    gpusim_process_info_t info;
    return p && gpusim_process_info(p, &info) == 0 && info.state == GPUSIM_PROCESS_LIVE;
}

static void info_add(gpusim_driver_info_t *sum, const gpusim_driver_info_t *x)
{
    uint64_t a[sizeof *sum / sizeof(uint64_t)], b[sizeof *sum / sizeof(uint64_t)];
    memcpy(a, sum, sizeof a);
    memcpy(b, x, sizeof b);
    for (size_t i = 0; i < GPUSIM_ARRAY_SIZE(a); i++)
        a[i] += b[i];
    memcpy(sum, a, sizeof a);
}

static void schedule_after(rt *t, gpusim_event_t *ev, gpusim_time_t delay)
{
    int rc = gpusim_event_schedule_after(t->w, ev, delay);
    if (rc)
        fail_now(t, "gpusim_event_schedule_after: %s", gpusim_err_name(rc));
}

static void checks(rt *t, const char *when)
{
    char msg[512];
    int rc;
    t->res.checks++;
    if ((rc = gpusim_host_check(t->h, msg, sizeof msg)) != 0)
        fail_now(t, "host check (%s): %s %s", when, gpusim_err_name(rc), msg);
    if ((rc = gpusim_gpu_check(t->gpu, msg, sizeof msg)) != 0)
        fail_now(t, "gpu check (%s): %s %s", when, gpusim_err_name(rc), msg);
    for (int i = 0; i < t->nep; i++) {
        epoch *e = &t->ep[i];
        if (!e->d)
            continue;
        if ((rc = gpusim_driver_check(e->d, msg, sizeof msg)) != 0)
            fail_now(t, "driver check of %s (epoch %d, %s): %s %s", gpusim_driver_name(e->d), i,
                     when, gpusim_err_name(rc), msg);
    }
}

/* ---- epochs: a driver, its process and its buffers ------------------------------------------ */

static void build_step(gpusim_world_t *w, gpusim_event_t *ev);

static uint64_t buf_va(int i)
{
    return BASE + bufspec[i].off;
}

static void proc_config(rt *t, gpusim_process_config_t *pc, char *name, size_t n, const char *what)
{
    gpusim_process_config_init(pc);
    snprintf(name, n, "%s%d", what, t->names++);
    pc->name = name;
    pc->memlock_limit = UINT64_MAX;
}

static void reg_cb(void *data, int status, uint64_t result)
{
    bslot *bs = data;
    (void)result;
    bs->e->host_out--;
    if (bs->state != BS_REG) {
        fail_now(bs->e->t, "registration callback for a buffer in state %d", bs->state);
        return;
    }
    if (status == 0) {
        bs->state = BS_READY;
    } else {
        bs->state = BS_FAILED;
        bs->e->t->res.reg_failed++;
    }
}

static void unreg_cb(void *data, int status, uint64_t result)
{
    bslot *bs = data;
    (void)result;
    bs->e->host_out--;
    if (status != 0)
        fail_now(bs->e->t, "unregister reported %s", gpusim_err_name(status));
    bs->state = BS_NONE;
    bs->b = NULL;
}

static void reg(epoch *e, int i)
{
    rt *t = e->t;
    bslot *bs = &e->buf[i];
    int rc = gpusim_driver_register(e->d, buf_va(i), bufspec[i].len,
                                    bufspec[i].write ? GPUSIM_BUFFER_WRITE : 0, &bs->b, reg_cb, bs);
    bs->tries++;
    if (rc == 0) {
        bs->state = BS_REG;
        e->host_out++;
    } else if (rc == GPUSIM_ECTXKILLED || rc == GPUSIM_ESRCH) {
        e->dying = true;
    } else {
        fail_now(t, "gpusim_driver_register(buffer %d): %s", i, gpusim_err_name(rc));
    }
}

/* Creates the epoch's driver and registers its buffers. */
static void attach(epoch *e)
{
    rt *t = e->t;
    gpusim_driver_config_t cfg;
    int rc;
    gpusim_driver_config_init(&cfg, t->policy);
    rc = gpusim_driver_new(t->gpu, e->p, &cfg, &e->d);
    if (rc == GPUSIM_ESRCH) {
        e->dying = true;
        return;
    }
    if (rc) {
        fail_now(t, "gpusim_driver_new: %s", gpusim_err_name(rc));
        e->dying = true;
        return;
    }
    t->res.epochs++;
    for (int i = 0; i < NBUF && !e->dying; i++)
        reg(e, i);
}

/* Starts a new epoch: on process p if it lives, else on a new process whose buffers are mapped
 * and written first. */
static void epoch_start(rt *t, gpusim_process_t *p)
{
    epoch *e;
    if (t->nep == MAXEPOCHS)
        return;
    e = &t->ep[t->nep];
    memset(e, 0, sizeof *e);
    e->t = t;
    e->id = t->nep++;
    for (int i = 0; i < NBUF; i++)
        e->buf[i] = (bslot){e, i, NULL, BS_NONE, 0};
    t->cur = e;
    gpusim_event_init(&e->ev, build_step, e);
    if (p) {
        e->p = p;
        attach(e);
        return;
    }
    {
        gpusim_process_config_t pc;
        char name[32];
        int rc;
        proc_config(t, &pc, name, sizeof name, "app");
        rc = gpusim_process_new(t->h, &pc, &e->p);
        if (rc) {
            fail_now(t, "gpusim_process_new: %s", gpusim_err_name(rc));
            e->dying = true;
            return;
        }
    }
    e->building = true;
    schedule_after(t, &e->ev, 0);
}

static void build_cb(void *data, int status, uint64_t result)
{
    epoch *e = data;
    (void)status;
    (void)result;
    e->host_out--;
    schedule_after(e->t, &e->ev, 0);
}

static void build_step(gpusim_world_t *w, gpusim_event_t *ev)
{
    epoch *e = ev->data;
    rt *t = e->t;
    int i = e->bstep / 2, rc;
    (void)w;
    if (t->stopping || t->failure[0]) {
        e->building = false;
        e->dying = true;
        return;
    }
    if (i == NBUF) {
        e->building = false;
        attach(e);
        return;
    }
    if (e->bstep % 2 == 0)
        rc = gpusim_process_mmap(e->p, buf_va(i), bufspec[i].len,
                                 GPUSIM_PROT_READ | GPUSIM_PROT_WRITE,
                                 GPUSIM_MAP_PRIVATE | GPUSIM_MAP_FIXED, NULL, 0, build_cb, e);
    else
        rc = gpusim_process_access(e->p, buf_va(i), bufspec[i].len, GPUSIM_ACCESS_WRITE, NULL,
                                   build_cb, e);
    e->bstep++;
    if (rc == 0) {
        e->host_out++;
    } else {
        if (rc != GPUSIM_ESRCH)
            fail_now(t, "building buffer %d, step %d: %s", i, e->bstep - 1, gpusim_err_name(rc));
        e->building = false;
        e->dying = true;
    }
}

static void try_free(epoch *e)
{
    int rc;
    if (!e->d) {
        e->freed = true;
        return;
    }
    rc = gpusim_driver_free(e->d);
    if (rc == 0) {
        e->d = NULL;
        e->freed = true;
    } else if (rc != GPUSIM_EBUSY) {
        fail_now(e->t, "gpusim_driver_free: %s", gpusim_err_name(rc));
    }
}

/* Sums the epoch's figures into the run's, checks its driver and frees it (or tries later). */
static void retire(epoch *e)
{
    rt *t = e->t;
    e->retired = true;
    if (e->d) {
        gpusim_driver_info_t info;
        char msg[512];
        int rc;
        if ((rc = gpusim_driver_info(e->d, &info)) != 0) {
            fail_now(t, "gpusim_driver_info: %s", gpusim_err_name(rc));
            return;
        }
        info_add(&t->res.info, &info);
        if ((info.use_after_free || info.stale) && t->nviol < GPUSIM_ARRAY_SIZE(t->viol)) {
            size_t n = 0;
            if (gpusim_driver_violations(e->d, t->viol + t->nviol,
                                         GPUSIM_ARRAY_SIZE(t->viol) - t->nviol, &n) == 0)
                t->nviol += n;
        }
        if (gpusim_gpu_ctx_error(gpusim_driver_ctx(e->d)) != 0)
            t->res.ctx_kills++;
        if ((rc = gpusim_driver_check(e->d, msg, sizeof msg)) != 0)
            fail_now(t, "driver check at retirement of epoch %d: %s %s", e->id, gpusim_err_name(rc),
                     msg);
    }
    try_free(e);
}

/* Housekeeping, from the test's own events only: notices a dead context or process, retires a
 * drained epoch and starts the next, retries registrations and frees of retired drivers. */
static void tend(rt *t)
{
    epoch *e = t->cur;
    for (int i = 0; i < t->nep; i++)
        if (t->ep[i].retired && !t->ep[i].freed)
            try_free(&t->ep[i]);
    if (!e || t->failure[0])
        return;
    if (!e->dying && !e->building &&
        (!live(e->p) || (e->d && gpusim_gpu_ctx_error(gpusim_driver_ctx(e->d)) != 0)))
        e->dying = true;
    if (e->dying) {
        if (e->jobs_out == 0 && e->host_out == 0 && !e->building) {
            gpusim_process_t *p = live(e->p) ? e->p : NULL;
            retire(e);
            t->cur = NULL;
            if (!t->stopping)
                epoch_start(t, p);
        }
        return;
    }
    if (e->building || !e->d)
        return;
    for (int i = 0; i < NBUF && !e->dying; i++) {
        bslot *bs = &e->buf[i];
        if (bs->state == BS_FAILED) {
            int rc = gpusim_driver_unregister(bs->b, unreg_cb, bs);
            if (rc == 0) {
                bs->state = BS_UNREG;
                e->host_out++;
            } else if (rc != GPUSIM_EBUSY) {
                fail_now(t, "gpusim_driver_unregister: %s", gpusim_err_name(rc));
            }
        } else if (bs->state == BS_NONE && bs->tries < 8) {
            reg(e, i);
        }
    }
}

/* ---- the GPU feeder ------------------------------------------------------------------------- */

static int ready_buffer(rt *t, epoch *e, bool want_write)
{
    int cand[NBUF], n = 0;
    for (int i = 0; i < NBUF; i++)
        if (e->buf[i].state == BS_READY && (!want_write || bufspec[i].write))
            cand[n++] = i;
    return n ? cand[rnd(t, (uint64_t)n)] : -1;
}

/* A random job over the epoch's ready buffers; returns the buffer its kernel uses, or -1. */
static int make_job(rt *t, epoch *e, gpusim_job_desc_t *job)
{
    int b = ready_buffer(t, e, false);
    memset(job, 0, sizeof *job);
    if (b < 0)
        return -1;
    if (chance(t, 20)) {
        int d = ready_buffer(t, e, true);
        if (d >= 0 && d != b) {
            uint64_t maxp = GPUSIM_MIN(bufspec[b].len, bufspec[d].len) / PAGE;
            uint64_t n = 1 + rnd(t, GPUSIM_MIN(maxp, 256));
            job->kind = GPUSIM_JOB_COPY;
            job->copy_bytes = n * PAGE - (chance(t, 30) ? rnd(t, PAGE) : 0);
            job->copy_src = buf_va(b) + rnd(t, bufspec[b].len / PAGE - n + 1) * PAGE;
            job->copy_dst = buf_va(d) + rnd(t, bufspec[d].len / PAGE - n + 1) * PAGE;
            job->buffers[0] = e->buf[b].b;
            job->buffers[1] = e->buf[d].b;
            job->nbuffers = 2;
            return b;
        }
    }
    {
        gpusim_kernel_desc_t *k = &job->kernel;
        uint64_t pages = bufspec[b].len / PAGE, first = 0, n = pages;
        if (chance(t, 40)) {
            n = 1 + rnd(t, pages);
            first = rnd(t, pages - n + 1);
        }
        job->kind = GPUSIM_JOB_DISPATCH;
        k->pattern = chance(t, 50) ? GPUSIM_PATTERN_SEQUENTIAL : GPUSIM_PATTERN_RANDOM;
        k->buffer_va = buf_va(b) + first * PAGE;
        k->buffer_bytes = n * PAGE;
        k->passes = 1 + (uint32_t)rnd(t, 4);
        k->bytes_per_touch = chance(t, 70) ? (uint32_t)PAGE : 64u << rnd(t, 6);
        k->touches_per_pass = k->pattern == GPUSIM_PATTERN_SEQUENTIAL
                                  ? n * PAGE / k->bytes_per_touch
                                  : 1 + rnd(t, 2 * n);
        k->touches_per_pass = GPUSIM_MIN(k->touches_per_pass, UINT64_C(2048));
        k->compute_ns_per_touch = 20 + (uint32_t)rnd(t, 280);
        k->write_pct = bufspec[b].write ? (uint8_t)rnd(t, 60) : 0;
        k->seed = k->pattern == GPUSIM_PATTERN_RANDOM ? gpusim_rng_next(&t->rng) : 0;
        k->waves = 1 + (uint32_t)rnd(t, 16);
        job->buffers[0] = e->buf[b].b;
        job->nbuffers = 1;
    }
    return b;
}

static void job_cb(void *data, int status, uint64_t id)
{
    slot *s = data;
    rt *t = s->t;
    epoch *e = s->e;
    int j;
    (void)id;
    if (!e) {
        fail_now(t, "job callback on an idle slot (status %s)", gpusim_err_name(status));
        return;
    }
    e->jobs_out--;
    s->e = NULL;
    s->buf = -1;
    switch (status) {
    case 0:
        j = J_OK;
        break;
    case GPUSIM_EFAULT:
        j = J_EFAULT;
        break;
    case GPUSIM_EPERM:
        j = J_EPERM;
        break;
    case GPUSIM_ECTXKILLED:
        j = J_CTXKILLED;
        break;
    case GPUSIM_ESRCH:
        j = J_ESRCH;
        break;
    case GPUSIM_ETIMEDOUT:
        j = J_ETIMEDOUT;
        break;
    case GPUSIM_ENOMEM:
        j = J_ENOMEM;
        break;
    default:
        j = J_OTHER;
        t->res.other_status = (uint64_t) - (int64_t)status;
        break;
    }
    t->res.jobs[j]++;
    if (status == GPUSIM_ECTXKILLED || status == GPUSIM_ESRCH)
        e->dying = true;
    if (!t->stopping)
        schedule_after(t, &s->ev, rnd(t, 30 * US));
}

static void slot_fire(gpusim_world_t *w, gpusim_event_t *ev)
{
    slot *s = ev->data;
    rt *t = s->t;
    epoch *e;
    gpusim_job_desc_t job;
    int b, rc;
    (void)w;
    if (t->stopping || t->failure[0])
        return;
    tend(t);
    e = t->cur;
    if (!e || e->dying || e->building || !e->d || (b = make_job(t, e, &job)) < 0) {
        schedule_after(t, &s->ev, 50 * US);
        return;
    }
    rc = gpusim_driver_submit(e->d, &job, job_cb, s);
    if (rc == 0) {
        s->e = e;
        s->buf = b;
        e->jobs_out++;
    } else if (rc == GPUSIM_ECTXKILLED || rc == GPUSIM_ESRCH) {
        e->dying = true;
        t->res.submit_refused++;
        schedule_after(t, &s->ev, 20 * US);
    } else {
        fail_now(t, "gpusim_driver_submit: %s (kind %d, va 0x%" PRIx64 ", bytes %" PRIu64 ")",
                 gpusim_err_name(rc), job.kind,
                 job.kind == GPUSIM_JOB_COPY ? job.copy_src : job.kernel.buffer_va,
                 job.kind == GPUSIM_JOB_COPY ? job.copy_bytes : job.kernel.buffer_bytes);
    }
}

/* ---- host activity -------------------------------------------------------------------------- */

#define OP_DONE 1 /* op_issue: the chain is over */

static void op_fire(gpusim_world_t *w, gpusim_event_t *ev);

static void op_end(op *o)
{
    rt *t = o->t;
    if (o->kind == A_PRESSURE || o->kind == A_OOM)
        t->pressure_busy = false;
    o->used = false;
    t->ops_out--;
}

static gpusim_time_t hold_ns(int kind)
{
    switch (kind) {
    case A_MPROTECT:
    case A_THP_SPLIT:
    case A_FORK:
    case A_PRESSURE:
        return 200 * US;
    case A_REMAP:
    case A_MREMAP:
        return 20 * US;
    default:
        return 100 * US;
    }
}

static void op_cb(void *data, int status, uint64_t result)
{
    op *o = data;
    rt *t = o->t;
    o->status = status;
    o->result = result;
    if (status)
        t->res.act_errors[o->kind]++;
    o->step++;
    if (t->stopping || t->failure[0]) {
        op_end(o);
        return;
    }
    /* mprotect, THP splits, forks and pressure hold their state a while, so that jobs meet it;
     * an unmapped range is mapped again soon (a hole makes refault and fence-reload kill the
     * context when the GPU reaches it, which is legitimate but ends the driver). */
    schedule_after(t, &o->ev, rnd(t, hold_ns(o->kind)));
}

static int do_mmap(op *o, gpusim_process_t *p, uint64_t addr, uint64_t len, bool fixed)
{
    return gpusim_process_mmap(p, addr, len, GPUSIM_PROT_READ | GPUSIM_PROT_WRITE,
                               GPUSIM_MAP_PRIVATE | (fixed ? GPUSIM_MAP_FIXED : 0), NULL, 0, op_cb,
                               o);
}

static int do_write(op *o, gpusim_process_t *p, uint64_t addr, uint64_t len)
{
    return gpusim_process_access(p, addr, len, GPUSIM_ACCESS_WRITE, NULL, op_cb, o);
}

static gpusim_process_t *hog(rt *t)
{
    if (!live(t->hog)) {
        gpusim_process_config_t pc;
        char name[32];
        int rc;
        proc_config(t, &pc, name, sizeof name, "hog");
        pc.memlock_limit = 8 * MIB;
        rc = gpusim_process_new(t->h, &pc, &t->hog);
        if (rc) {
            fail_now(t, "gpusim_process_new(hog): %s", gpusim_err_name(rc));
            return NULL;
        }
    }
    return t->hog;
}

/* Issues the current step of an activity: 0 (its callback will run), OP_DONE, or an error. */
static int op_issue(op *o)
{
    rt *t = o->t;
    switch (o->kind) {
    case A_REMAP: /* munmap, mmap FIXED at the same place, write */
        switch (o->step) {
        case 0:
            return gpusim_process_munmap(o->p, o->addr, o->len, op_cb, o);
        case 1:
            return do_mmap(o, o->p, o->addr, o->len, true);
        case 2:
            return do_write(o, o->p, o->addr, o->len);
        default:
            return OP_DONE;
        }
    case A_REPLACE: /* mmap FIXED over the buffer, write */
        switch (o->step) {
        case 0:
            return do_mmap(o, o->p, o->addr, o->len, true);
        case 1:
            return do_write(o, o->p, o->addr, o->len);
        default:
            return OP_DONE;
        }
    case A_DONTNEED: /* drop, sometimes write again */
        if (o->step == 0)
            return gpusim_process_madvise(o->p, o->addr, o->len, GPUSIM_MADV_DONTNEED, op_cb, o);
        if (o->step == 1 && o->variant)
            return do_write(o, o->p, o->addr, o->len);
        return OP_DONE;
    case A_MPROTECT:
    case A_THP_SPLIT: /* protect (or unmap) a while, then restore */
        if (o->kind == A_THP_SPLIT && o->variant == 0) {
            switch (o->step) {
            case 0:
                return gpusim_process_munmap(o->p, o->addr, o->len, op_cb, o);
            case 1:
                return do_mmap(o, o->p, o->addr, o->len, true);
            case 2:
                return do_write(o, o->p, o->addr, o->len);
            default:
                return OP_DONE;
            }
        }
        if (o->step == 0)
            return gpusim_process_mprotect(o->p, o->addr, o->len, o->prot, op_cb, o);
        if (o->step == 1)
            return gpusim_process_mprotect(o->p, o->addr, o->len,
                                           GPUSIM_PROT_READ | GPUSIM_PROT_WRITE, op_cb, o);
        return OP_DONE;
    case A_MREMAP:
        if (o->variant == 2) { /* shrink in place, map the tail again, write it */
            switch (o->step) {
            case 0:
                return gpusim_process_mremap(o->p, o->addr, o->len, o->len2, 0, 0, op_cb, o);
            case 1:
                if (o->status)
                    return OP_DONE;
                return do_mmap(o, o->p, o->addr + o->len2, o->len - o->len2, true);
            case 2:
                return do_write(o, o->p, o->addr + o->len2, o->len - o->len2);
            default:
                return OP_DONE;
            }
        }
        switch (o->step) { /* move away; then back (0), or replaced and the moved part unmapped */
        case 0:
            return gpusim_process_mremap(o->p, o->addr, o->len, o->len,
                                         GPUSIM_MREMAP_MAYMOVE | GPUSIM_MREMAP_FIXED, o->addr2,
                                         op_cb, o);
        case 1:
            if (o->status)
                return OP_DONE;
            if (o->variant == 0)
                return gpusim_process_mremap(o->p, o->addr2, o->len, o->len,
                                             GPUSIM_MREMAP_MAYMOVE | GPUSIM_MREMAP_FIXED, o->addr,
                                             op_cb, o);
            return do_mmap(o, o->p, o->addr, o->len, true);
        case 2:
            if (o->variant == 0)
                return OP_DONE;
            return gpusim_process_munmap(o->p, o->addr2, o->len, op_cb, o);
        case 3:
            return do_write(o, o->p, o->addr, o->len);
        default:
            return OP_DONE;
        }
    case A_FORK: /* fork, the parent writes, the child writes, the child exits */
        switch (o->step) {
        case 0: {
            gpusim_process_config_t pc;
            char name[32];
            proc_config(t, &pc, name, sizeof name, "child");
            return gpusim_process_fork(o->p, &pc, &o->child, op_cb, o);
        }
        case 1:
            if (o->status) {
                o->step = 3;
                return op_issue(o);
            }
            return do_write(o, o->p, o->addr, o->len);
        case 2:
            return do_write(o, o->child, o->addr, o->len);
        case 3:
            if (!o->child || !live(o->child))
                return OP_DONE;
            return gpusim_process_exit(o->child, op_cb, o);
        default:
            return OP_DONE;
        }
    case A_PRESSURE:
    case A_OOM: /* another process (or the app) allocates and writes, then unmaps */
        switch (o->step) {
        case 0:
            return do_mmap(o, o->p, 0, o->len, false);
        case 1:
            if (o->status)
                return OP_DONE;
            o->addr = o->result;
            return do_write(o, o->p, o->addr, o->len);
        case 2:
            return gpusim_process_munmap(o->p, o->addr, o->len, op_cb, o);
        default:
            return OP_DONE;
        }
    case A_COMPACT:
        return o->step == 0 ? gpusim_host_compact(t->h, 0, op_cb, o) : OP_DONE;
    case A_PAGEOUT:
        return o->step == 0
                   ? gpusim_process_madvise(o->p, o->addr, o->len, GPUSIM_MADV_PAGEOUT, op_cb, o)
                   : OP_DONE;
    case A_CPU:
        return o->step == 0
                   ? gpusim_process_access(o->p, o->addr, o->len,
                                           o->variant ? GPUSIM_ACCESS_WRITE : GPUSIM_ACCESS_READ,
                                           NULL, op_cb, o)
                   : OP_DONE;
    case A_EXIT:
        return o->step == 0 ? gpusim_process_exit(o->p, op_cb, o) : OP_DONE;
    default:
        return OP_DONE;
    }
}

static void op_advance(op *o)
{
    rt *t = o->t;
    int rc = op_issue(o);
    if (rc == 0)
        return;
    if (rc != OP_DONE) {
        t->res.act_errors[o->kind]++;
        /* A process gone, a range that is not one mapping (mremap): the chain ends. */
        if (rc == GPUSIM_EINVAL)
            fail_now(t, "%s step %d refused: %s (addr 0x%" PRIx64 " len 0x%" PRIx64 ")",
                     act_names[o->kind], o->step, gpusim_err_name(rc), o->addr, o->len);
    }
    op_end(o);
}

static void op_fire(gpusim_world_t *w, gpusim_event_t *ev)
{
    (void)w;
    op_advance(ev->data);
}

static int pick_kind(rt *t)
{
    unsigned total = 0, x;
    for (int k = 0; k < A_COUNT; k++)
        total += act_weight[k];
    x = (unsigned)rnd(t, total);
    for (int k = 0; k < A_COUNT; k++) {
        if (x < act_weight[k])
            return k;
        x -= act_weight[k];
    }
    return A_CPU;
}

/* A range of a buffer: mostly of the one a running job uses. */
static void pick_range(rt *t, op *o)
{
    int cand[NSLOTS], n = 0, b;
    uint64_t pages, first, np;
    for (int i = 0; i < NSLOTS; i++)
        if (t->slots[i].e && t->slots[i].buf >= 0)
            cand[n++] = t->slots[i].buf;
    b = n && chance(t, 70) ? cand[rnd(t, (uint64_t)n)] : (int)rnd(t, NBUF);
    pages = bufspec[b].len / PAGE;
    if (chance(t, 15)) {
        first = 0;
        np = pages;
    } else {
        np = 1 + rnd(t, GPUSIM_MIN(pages, UINT64_C(64)));
        first = rnd(t, pages - np + 1);
    }
    o->addr = buf_va(b) + first * PAGE;
    o->len = np * PAGE;
}

static void start_activity(rt *t)
{
    op *o = NULL;
    epoch *e = t->cur;
    int kind = pick_kind(t);
    for (int i = 0; i < MAXOPS; i++)
        if (!t->ops[i].used) {
            o = &t->ops[i];
            break;
        }
    if (!o)
        return;
    /* Activities over the app need a live app with its buffers mapped. */
    if (kind != A_COMPACT && kind != A_PRESSURE && kind != A_OOM &&
        (!e || e->building || !live(e->p)))
        return;
    if ((kind == A_PRESSURE || kind == A_OOM) && t->pressure_busy)
        return;
    memset(o, 0, offsetof(op, ev));
    o->t = t;
    o->used = true;
    o->ix = (int)(o - t->ops);
    o->kind = kind;
    o->p = e ? e->p : NULL;
    gpusim_event_init(&o->ev, op_fire, o);
    switch (kind) {
    case A_DONTNEED:
    case A_CPU:
        o->variant = (int)rnd(t, 2); /* fall through */
    case A_REMAP:
    case A_REPLACE:
    case A_FORK:
    case A_PAGEOUT:
        pick_range(t, o);
        break;
    case A_MPROTECT:
        pick_range(t, o);
        o->prot = chance(t, 50) ? GPUSIM_PROT_READ : GPUSIM_PROT_NONE;
        break;
    case A_MREMAP:
        pick_range(t, o);
        o->variant = (int)rnd(t, 3);
        o->addr2 = SCRATCH + (uint64_t)o->ix * 4 * MIB;
        if (o->variant == 2) {
            if (o->len < 2 * PAGE)
                o->variant = 0;
            else
                o->len2 = (1 + rnd(t, o->len / PAGE - 1)) * PAGE;
        }
        break;
    case A_THP_SPLIT: {
        int b = (int)rnd(t, 2); /* the 2 MiB-aligned buffers */
        uint64_t blocks = bufspec[b].len / HUGE, np = 1 + rnd(t, 16);
        o->addr = buf_va(b) + rnd(t, blocks) * HUGE + rnd(t, HUGE / PAGE - np) * PAGE;
        o->len = np * PAGE;
        o->variant = (int)rnd(t, 2);
        o->prot = GPUSIM_PROT_READ;
        break;
    }
    case A_PRESSURE:
    case A_OOM:
        if (kind == A_OOM && e && !e->building && live(e->p) && chance(t, 30)) {
            o->variant = 1; /* the app itself: the OOM killer may take it */
        } else {
            o->p = hog(t);
            if (!o->p) {
                o->used = false;
                return;
            }
        }
        o->len = kind == A_OOM ? RAM + SWAP + 16 * MIB : (24 + rnd(t, 32)) * MIB;
        t->pressure_busy = true;
        break;
    default:
        break;
    }
    t->ops_out++;
    t->res.acts[kind]++;
    op_advance(o);
}

static void tick_fire(gpusim_world_t *w, gpusim_event_t *ev)
{
    rt *t = ev->data;
    (void)w;
    if (t->failure[0] || t->stopping)
        return;
    t->ticks++;
    tend(t);
    if (t->ticks % CHECK_EVERY == 0)
        checks(t, "during the run");
    if (t->failure[0])
        return;
    start_activity(t);
    schedule_after(t, &t->tick, 1 + rnd(t, TICK_NS));
}

/* ---- a whole run ---------------------------------------------------------------------------- */

static bool quiet(rt *t)
{
    if (t->ops_out)
        return false;
    for (int i = 0; i < t->nep; i++)
        if (t->ep[i].jobs_out || t->ep[i].host_out || t->ep[i].building)
            return false;
    return true;
}

typedef struct run_cfg {
    gpusim_policy_t policy;
    uint64_t seed;
    gpusim_time_t time; /* virtual time of activity */
    bool per_event;     /* every check after every event (gpusim_world_set_event_hook) */
} run_cfg;

/* What a run cost the simulator (not part of run_result: the checks must not change it). */
typedef struct run_cost {
    uint64_t events;       /* events dispatched */
    uint64_t event_checks; /* per-event check rounds */
    double wall_s;         /* wall-clock seconds of the run: printed, never asserted */
} run_cost;

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The per-event hook: every checker after every event; the first failure stops the run. */
static void check_hook(void *ud, gpusim_world_t *w)
{
    rt *t = ud;
    (void)w;
    if (t->failure[0])
        return;
    t->event_checks++;
    checks(t, "after an event");
}

/* What a driver is doing (internal state), for a run that does not drain. */
static void describe_driver(const epoch *e)
{
    const gpusim_driver_t *d = e->d;
    gpusim_gpu_queue_info_t qi;
    unsigned pend = 0;
    if (!d)
        return;
    for (const gpusim__job *j = d->pend_head; j; j = j->next)
        pend++;
    memset(&qi, 0, sizeof qi);
    (void)gpusim_gpu_queue_info(d->queue, &qi);
    print_message(
        "  driver %s (epoch %d%s%s): %u pending, %s, %" PRIu64 " running, seq done %" PRIu64
        " next %" PRIu64 ", host_ops %u, waits %s; evict_done %d evict_busy %d"
        " restore_ev %s; ctx error %s; queue state %d rptr %" PRIu64 " doorbell %" PRIu64 "\n",
        d->name, e->id, e->dying ? ", dying" : "", e->retired ? ", retired" : "", pend,
        d->preparing ? "one preparing" : "none preparing", d->running, d->done_seq, d->next_seq,
        d->host_ops, d->waits ? "yes" : "none", d->evict_done, d->evict_busy,
        gpusim_event_pending(&d->restore_ev) ? "pending" : "idle",
        gpusim_err_name(gpusim_gpu_ctx_error(d->ctx)), (int)qi.state, qi.rptr, qi.doorbell);
    if (d->preparing) {
        const gpusim__validation *v = &d->preparing->v;
        gpusim_process_info_t pi;
        memset(&pi, 0, sizeof pi);
        (void)gpusim_process_info(d->proc, &pi);
        print_message(
            "    preparing job %" PRIu64 ": step %u, validation busy %d, read_begin waiting %d, "
            "buffer 0x%" PRIx64 "; process %s state %d; notifier seq %" PRIu64 ", active %zu\n",
            d->preparing->id, d->preparing->step, v->busy, gpusim_waiter_waiting(&v->waiter),
            v->buf ? v->buf->va : 0, gpusim_process_name(d->proc), (int)pi.state,
            gpusim_notifier_seq(gpusim_process_notifier(d->proc)),
            gpusim_notifier_active(gpusim_process_notifier(d->proc)));
    }
    for (const gpusim_buffer_t *b = d->buf_head; b; b = b->next)
        print_message("    buffer 0x%" PRIx64 "+0x%" PRIx64
                      ": state %d invalid %d last_seq %" PRIu64 " users %u host_busy %u\n",
                      b->va, b->len, b->state, b->invalid, b->last_seq, b->users, b->host_busy);
}

static void describe_violations(const rt *t)
{
    for (size_t i = 0; i < t->nviol; i++) {
        const gpusim_violation_t *v = &t->viol[i];
        print_message("  violation %zu: %s %s va 0x%" PRIx64 " pfn %" PRIu64 " at %" PRIu64
                      " ns; last change at %" PRIu64 " ns: %s by %s\n",
                      i, v->kind == GPUSIM_VIOLATION_USE_AFTER_FREE ? "use-after-free" : "stale",
                      v->write ? "write" : "read", v->va, v->pfn, v->time, v->changed_at,
                      gpusim_notifier_event_name(v->event), gpusim_invalidator_name(v->by));
    }
}

static void run_costed(const run_cfg *rc, run_result *out, run_cost *cost)
{
    rt *t = calloc(1, sizeof *t);
    gpusim_host_config_t hc;
    double t0 = wall_now();
    int r;
    assert_non_null(t);
    t->w = test_world(rc->seed);
    if (rc->per_event)
        ASSERT_OK(gpusim_world_set_event_hook(t->w, check_hook, t));
    t->policy = rc->policy;
    t->seed = rc->seed;
    ASSERT_OK(gpusim_world_rng(t->w, "mirror_random", &t->rng));
    gpusim_host_config_init(&hc);
    hc.ram_bytes = RAM;
    hc.swap_bytes = SWAP;
    hc.thp = GPUSIM_THP_ALWAYS;
    hc.movable_bytes = (rc->seed & 2) ? 16 * MIB : 0; /* long-term pins migrate out of it */
    if (rc->seed & 1)
        ASSERT_OK(gpusim_host_config_set(&hc, "khugepaged_sleep", "1ms", false, NULL, 0));
    ASSERT_OK(gpusim_host_new(t->w, &hc, &t->h));
    if (rc->per_event) {
        /* The device checker scans the VRAM bitmaps, 80 GiB of them by default: after every event
         * that would be nearly all the cost. The GPU's VRAM holds only page tables here (user
         * memory is the host's), so 1 GiB changes nothing but the scan. */
        gpusim_gpu_config_t gc;
        gpusim_gpu_config_init(&gc);
        ASSERT_OK(gpusim_gpu_config_set(&gc, "vram_size", "1GiB", false, NULL, 0));
        ASSERT_OK(gpusim_gpu_new(t->w, &gc, &t->gpu));
    } else {
        ASSERT_OK(gpusim_gpu_new(t->w, NULL, &t->gpu));
    }
    for (int i = 0; i < NSLOTS; i++) {
        t->slots[i].t = t;
        t->slots[i].buf = -1;
        gpusim_event_init(&t->slots[i].ev, slot_fire, &t->slots[i]);
        schedule_after(t, &t->slots[i].ev, 1 + (uint64_t)i);
    }
    gpusim_event_init(&t->tick, tick_fire, t);
    t->end = rc->time;
    epoch_start(t, NULL);
    schedule_after(t, &t->tick, 1 + rnd(t, TICK_NS));

    r = gpusim_world_run_until(t->w, t->end);
    if (r && r != GPUSIM_ECANCELED)
        fail_now(t, "gpusim_world_run_until: %s", gpusim_err_name(r));
    /* Stop everything that starts work, and let what runs end (bounded). */
    t->stopping = true;
    for (int i = 0; i < 400 && !t->failure[0] && !quiet(t); i++) {
        r = gpusim_world_run_until(t->w, gpusim_world_now(t->w) + 1 * MS);
        if (r && r != GPUSIM_ECANCELED)
            fail_now(t, "gpusim_world_run_until: %s", gpusim_err_name(r));
    }
    if (!t->failure[0] && !quiet(t)) {
        epoch *e = t->cur;
        fail_now(t,
                 "not quiet 400 ms after the end: %d ops in flight; current epoch %d: %d jobs, "
                 "%d host calls outstanding%s",
                 t->ops_out, e ? e->id : -1, e ? e->jobs_out : 0, e ? e->host_out : 0,
                 e && e->building ? ", building" : "");
        for (int i = 0; i < t->nep; i++)
            describe_driver(&t->ep[i]);
    }
    if (!t->failure[0]) {
        if (t->cur) {
            retire(t->cur);
            t->cur = NULL;
        }
        checks(t, "at the end");
        for (int i = 0; i < t->nep; i++)
            if (!t->ep[i].freed)
                try_free(&t->ep[i]);
    }
    t->res.end_time = gpusim_world_now(t->w);
    if (t->failure[0]) {
        describe_violations(t);
        fail_msg("policy %s, seed %" PRIu64 ": %s", gpusim_policy_name(rc->policy), rc->seed,
                 t->failure);
    }
    /* The properties of this run. */
    if (t->res.info.checked == 0)
        fail_msg("policy %s, seed %" PRIu64 ": the checker saw no access",
                 gpusim_policy_name(rc->policy), rc->seed);
    if (t->res.info.use_after_free && rc->policy != GPUSIM_POLICY_NONE) {
        describe_violations(t);
        fail_msg("policy %s, seed %" PRIu64 ": %" PRIu64 " use-after-free accesses",
                 gpusim_policy_name(rc->policy), rc->seed, t->res.info.use_after_free);
    }
    if (t->res.info.stale && coherent(rc->policy)) {
        describe_violations(t);
        fail_msg("policy %s, seed %" PRIu64 ": %" PRIu64 " stale accesses",
                 gpusim_policy_name(rc->policy), rc->seed, t->res.info.stale);
    }
    *out = t->res;
    if (cost) {
        cost->events = gpusim_world_events_run(t->w);
        cost->event_checks = t->event_checks;
    }
    gpusim_world_free(t->w);
    free(t);
    if (cost)
        cost->wall_s = wall_now() - t0;
    ASSERT_NO_LEAK();
}

static void run(const run_cfg *rc, run_result *out)
{
    run_costed(rc, out, NULL);
}

/* ---- the tests ------------------------------------------------------------------------------ */

static void res_add(run_result *sum, const run_result *r)
{
    gpusim_driver_info_t info = sum->info;
    uint64_t other = sum->other_status;
    uint64_t a[sizeof *sum / sizeof(uint64_t)], b[sizeof *sum / sizeof(uint64_t)];
    _Static_assert(sizeof(run_result) % sizeof(uint64_t) == 0, "run_result is uint64_t only");
    info_add(&info, &r->info);
    memcpy(a, sum, sizeof a);
    memcpy(b, r, sizeof b);
    for (size_t i = 0; i < GPUSIM_ARRAY_SIZE(a); i++)
        a[i] += b[i];
    memcpy(sum, a, sizeof a);
    sum->info = info;
    sum->other_status = r->other_status ? r->other_status : other; /* not a sum */
}

static void summary(gpusim_policy_t policy, int seeds, const run_result *s)
{
    char jobs[256];
    size_t at = 0;
    for (int j = 0; j < J_COUNT; j++)
        if (s->jobs[j])
            at += (size_t)snprintf(jobs + at, sizeof jobs - at, "%s%s%s%s %" PRIu64, at ? ", " : "",
                                   job_names[j], j == J_OTHER ? " " : "",
                                   j == J_OTHER ? gpusim_err_name(-(int)s->other_status) : "",
                                   s->jobs[j]);
    print_message("%-14s %d seeds: %" PRIu64 " jobs (%s), %" PRIu64 " drivers (%" PRIu64
                  " contexts killed), checked %" PRIu64 ", uaf %" PRIu64 ", stale %" PRIu64
                  "; invalidations %" PRIu64 ", faults %" PRIu64 ", evictions %" PRIu64
                  ", pins %" PRIu64 ", virtual %.1f ms\n",
                  gpusim_policy_name(policy), seeds, s->info.jobs_submitted, jobs, s->epochs,
                  s->ctx_kills, s->info.checked, s->info.use_after_free, s->info.stale,
                  s->info.invalidations, s->info.faults, s->info.evictions, s->info.pins,
                  (double)s->end_time / 1e6);
}

static void policy_seeds(gpusim_policy_t policy, uint64_t first, int n)
{
    run_result sum;
    if (n == SEEDS && (getenv("GPUSIM_MIRROR_RUN") || getenv("GPUSIM_MIRROR_EVENTS")))
        skip(); /* one run, or the per-event soak, was asked for (test_soak, test_events) */
    memset(&sum, 0, sizeof sum);
    for (int i = 0; i < n; i++) {
        run_cfg rc = {policy, first + (uint64_t)i, RUN_TIME, false};
        run_result r;
        run(&rc, &r);
        res_add(&sum, &r);
    }
    summary(policy, n, &sum);
    if (policy == GPUSIM_POLICY_NONE && n > 0 && sum.info.use_after_free == 0)
        fail_msg("policy none: no use-after-free in %d seeds: the schedule never freed memory a "
                 "kernel was using, or the checker cannot see it",
                 n);
}

static void test_refault(void **state)
{
    (void)state;
    policy_seeds(GPUSIM_POLICY_REFAULT, 1, SEEDS);
}

static void test_fence_wait(void **state)
{
    (void)state;
    policy_seeds(GPUSIM_POLICY_FENCE_WAIT, 1, SEEDS);
}

static void test_fence_reload(void **state)
{
    (void)state;
    policy_seeds(GPUSIM_POLICY_FENCE_RELOAD, 1, SEEDS);
}

static void test_pin_persistent(void **state)
{
    (void)state;
    policy_seeds(GPUSIM_POLICY_PIN_PERSISTENT, 1, SEEDS);
}

static void test_pin(void **state)
{
    (void)state;
    policy_seeds(GPUSIM_POLICY_PIN, 1, SEEDS);
}

static void test_none(void **state)
{
    (void)state;
    policy_seeds(GPUSIM_POLICY_NONE, 1, SEEDS);
}

/* The same seed gives the same figures, for a policy that subscribes and one that does not. */
static void test_deterministic(void **state)
{
    static const gpusim_policy_t policies[] = {GPUSIM_POLICY_FENCE_RELOAD, GPUSIM_POLICY_NONE};
    (void)state;
    if (getenv("GPUSIM_MIRROR_RUN") || getenv("GPUSIM_MIRROR_EVENTS"))
        skip();
    for (size_t i = 0; i < GPUSIM_ARRAY_SIZE(policies); i++) {
        run_cfg rc = {policies[i], 7, RUN_TIME / 3, false};
        run_result a, b;
        run(&rc, &a);
        run(&rc, &b);
        assert_memory_equal(&a.info, &b.info, sizeof a.info);
        assert_memory_equal(&a, &b, sizeof a);
    }
}

/* ---- the per-event soak (GPUSIM_MIRROR_EVENTS) ---------------------------------------------- */

/* Totals of a per-event soak, over policies. */
typedef struct ev_totals {
    int seeds;
    uint64_t events, checks;
    double wall_checked, wall_plain;
} ev_totals;

/* Seeds [first, first + n) of `policy`, each run twice: plainly, then with every checker after
 * every event. Both runs must pass, and give the same figures: checking reads, it never changes
 * what is simulated. Prints the events per second of both (never asserted). */
static void events_seeds(gpusim_policy_t policy, uint64_t first, int n, gpusim_time_t time,
                         ev_totals *tot)
{
    ev_totals mine = {0};
    run_result sum;
    memset(&sum, 0, sizeof sum);
    for (int i = 0; i < n; i++) {
        run_cfg plain = {policy, first + (uint64_t)i, time, false};
        run_cfg checked = {policy, first + (uint64_t)i, time, true};
        run_result a, b;
        run_cost ca, cb;
        run_costed(&plain, &a, &ca);
        run_costed(&checked, &b, &cb);
        b.checks = a.checks; /* the one figure the hook changes (it counts checker rounds) */
        if (memcmp(&a, &b, sizeof a) != 0 || ca.events != cb.events)
            fail_msg("policy %s, seed %" PRIu64 ": the run checked after every event differs "
                     "from the plain run (%" PRIu64 " vs %" PRIu64 " events)",
                     gpusim_policy_name(policy), plain.seed, cb.events, ca.events);
        if (cb.event_checks != cb.events)
            fail_msg("policy %s, seed %" PRIu64 ": %" PRIu64 " check rounds for %" PRIu64 " events",
                     gpusim_policy_name(policy), plain.seed, cb.event_checks, cb.events);
        res_add(&sum, &b);
        mine.seeds++;
        mine.events += cb.events;
        mine.checks += cb.event_checks;
        mine.wall_checked += cb.wall_s;
        mine.wall_plain += ca.wall_s;
    }
    summary(policy, n, &sum);
    print_message("%-14s per event: %" PRIu64 " events, each followed by every check; %.0f "
                  "events/s checked, %.0f unchecked (x%.0f)\n",
                  "", mine.events, (double)mine.events / mine.wall_checked,
                  (double)mine.events / mine.wall_plain, mine.wall_checked / mine.wall_plain);
    tot->seeds += mine.seeds;
    tot->events += mine.events;
    tot->checks += mine.checks;
    tot->wall_checked += mine.wall_checked;
    tot->wall_plain += mine.wall_plain;
}

/* GPUSIM_MIRROR_EVENTS=quick: EVENT_SEEDS seeds per policy of EVENT_RUN_NS each, checked after
 * every event (CTest soak.mirror_events). =N: N seeds per policy (2000 onwards) of the full run
 * time (make soak). Unset: skipped. */
static void test_events(void **state)
{
    const char *env = getenv("GPUSIM_MIRROR_EVENTS");
    ev_totals tot = {0};
    bool quick;
    long n;
    (void)state;
    if (!env || getenv("GPUSIM_MIRROR_RUN"))
        skip();
    quick = strcmp(env, "quick") == 0;
    n = quick ? EVENT_SEEDS : strtol(env, NULL, 10);
    if (n <= 0)
        fail_msg("GPUSIM_MIRROR_EVENTS=%s: expected \"quick\" or a number of seeds", env);
    for (int p = 0; p < GPUSIM_POLICY_COUNT; p++)
        events_seeds((gpusim_policy_t)p, quick ? 1 : 2000, (int)n, quick ? EVENT_RUN_NS : RUN_TIME,
                     &tot);
    print_message("per-event soak: %d runs, %" PRIu64 " events checked, %.1f s checked "
                  "(%.0f events/s), %.1f s unchecked (%.0f events/s): checking costs x%.0f\n",
                  tot.seeds, tot.events, tot.wall_checked, (double)tot.events / tot.wall_checked,
                  tot.wall_plain, (double)tot.events / tot.wall_plain,
                  tot.wall_checked / tot.wall_plain);
}

/* GPUSIM_MIRROR_SOAK=N: N more seeds (1000 onwards) for every policy. GPUSIM_MIRROR_RUN=
 * policy:seed runs that one (to reproduce a failure), after every event if GPUSIM_MIRROR_EVENTS
 * is set too. */
static void test_soak(void **state)
{
    const char *env = getenv("GPUSIM_MIRROR_SOAK");
    const char *one = getenv("GPUSIM_MIRROR_RUN");
    long n = env ? strtol(env, NULL, 10) : 0;
    (void)state;
    if (one && strchr(one, ':')) {
        char name[32];
        gpusim_policy_t p;
        size_t len = (size_t)(strchr(one, ':') - one);
        snprintf(name, sizeof name, "%.*s", (int)len, one);
        ASSERT_OK(gpusim_policy_from_name(name, &p));
        if (getenv("GPUSIM_MIRROR_EVENTS")) {
            ev_totals tot = {0};
            events_seeds(p, strtoull(strchr(one, ':') + 1, NULL, 10), 1,
                         strcmp(getenv("GPUSIM_MIRROR_EVENTS"), "quick") == 0 ? EVENT_RUN_NS
                                                                              : RUN_TIME,
                         &tot);
        } else {
            policy_seeds(p, strtoull(strchr(one, ':') + 1, NULL, 10), 1);
        }
    }
    if (n <= 0)
        skip();
    for (int p = 0; p < GPUSIM_POLICY_COUNT; p++)
        policy_seeds((gpusim_policy_t)p, 1000, (int)n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        GPUSIM_TEST(test_refault),       GPUSIM_TEST(test_fence_wait),
        GPUSIM_TEST(test_fence_reload),  GPUSIM_TEST(test_pin_persistent),
        GPUSIM_TEST(test_pin),           GPUSIM_TEST(test_none),
        GPUSIM_TEST(test_deterministic), GPUSIM_TEST(test_soak),
        GPUSIM_TEST(test_events),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
