/*
 * tests/test_host_random.c -- long random sequences of host operations across several processes,
 * with the invariant checker (gpusim_host_check) after every completed operation.
 *
 * The test drives 3-4 processes on a small host (32 MiB of RAM, 32 MiB of swap) with random mmaps
 * (anonymous private and shared, file private and shared, at a hint, FIXED, FIXED_NOREPLACE, or
 * anywhere; sometimes POPULATE), munmaps (partial, or spanning several VMAs), mprotects, madvises
 * (every advice), CPU reads and writes (small ones, and big ones that press memory), forks, exits,
 * mremaps, pins and unpins, hmm_range_fault calls and compactions. Each step is a batch of one to
 * three operations started together and run to completion, so several are often in flight at once
 * (and the processes' subscribers sometimes make invalidations wait, so they interleave).
 *
 * What it asserts:
 *   - the checker passes after every operation completes (inside its callback, while the others of
 *     the batch may still be in flight);
 *   - every operation completes with the status and result a model predicts. The model is a map of
 *     each process's 64 MiB window: per page, what is mapped there (kind, protection, object and
 *     index), and in data mode the bytes every page must hold (private pages per process, shared
 *     objects and files once). Reads are verified against it byte for byte. Only outcomes that
 *     depend on memory pressure (ENOMEM from an allocation, an OOM kill's ESRCH) are accepted
 *     besides the predicted one;
 *   - no translation changed without an announcement: before a batch, a sample of each process's
 *     mapped pages is translated; after it, every page whose (present, frame) changed, or that lost
 *     write permission, must lie in a range announced to that process's notifier during the batch;
 *   - frames returned by pins and hmm_range_fault are what the page table maps (unless an
 *     invalidation over the page intervened).
 * Concurrency is restricted to operations whose outcomes commute (different processes, or one
 * process on disjoint ranges with a known placement; no writes to shared objects in multi-op
 * batches), so the model stays exact.
 *
 * An operation whose implementation is missing (GPUSIM_ENOSYS at call time) is counted as
 * unavailable and skipped, so the test could run while the host was being written; none is now.
 *
 * Run time: about 4,000 operations in 2 s (RelWithDebInfo), 2,000 under ASan (BATCHES) in ~7 s,
 * most of it in the checker.
 */
#include "test_util.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "host/host.h"

#define MIB  GPUSIM_MIB
#define PAGE UINT64_C(4096)
#define HUGE UINT64_C(0x200000)

#define MAXPROC    4                        /* live processes at most */
#define MINPROC    3                        /* live processes at least (replacements) */
#define WTOP       UINT64_C(0x7f0000000000) /* vma.c's mmap base: top-down mmaps start below */
#define WPAGES     16384u                   /* a 64 MiB window per process */
#define WBASE      (WTOP - (uint64_t)WPAGES * PAGE)
#define NFILES     2
#define FILE_PAGES 512u
#define MAXOPS     3
#define SAMPLE     192 /* translations sampled per process and batch */

/* Sanitizer builds run half as many batches: each costs several times more there. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define BATCHES(n) ((n) / 2)
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define BATCHES(n) ((n) / 2)
#endif
#endif
#ifndef BATCHES
#define BATCHES(n) (n)
#endif

enum { K_NONE, K_ANON, K_SHM, K_FILE, K_FPRIV };

/* Kinds of operations (counted per kind). */
#define OP_KINDS(XX)                                                                               \
    XX(MMAP, mmap)                                                                                 \
    XX(MUNMAP, munmap)                                                                             \
    XX(MPROTECT, mprotect)                                                                         \
    XX(MADVISE, madvise)                                                                           \
    XX(ACCESS, access)                                                                             \
    XX(FORK, fork)                                                                                 \
    XX(EXIT, exit)                                                                                 \
    XX(MREMAP, mremap)                                                                             \
    XX(PIN, pin)                                                                                   \
    XX(UNPIN, unpin)                                                                               \
    XX(RANGE_FAULT, range_fault)                                                                   \
    XX(COMPACT, compact)

enum {
#define XX_ENUM(N, n) O_##N,
    OP_KINDS(XX_ENUM)
#undef XX_ENUM
        O_COUNT
};

static const char *const op_names[O_COUNT] = {
#define XX_NAME(N, n) #n,
    OP_KINDS(XX_NAME)
#undef XX_NAME
};

/* ---- the model ------------------------------------------------------------------------------- */

typedef struct mpage {
    uint8_t kind;  /* K_* */
    uint8_t prot;  /* GPUSIM_PROT_* */
    bool freed;    /* K_ANON after MADV_FREE: `alt` (dropped) is as possible as `data` */
    bool cow;      /* K_FPRIV: has its own copy (else it shows the file) */
    bool unk;      /* contents unknown (an operation failed half-way): not verified */
    uint32_t obj;  /* K_SHM: object; K_FILE, K_FPRIV: file */
    uint32_t idx;  /* page in the object or file */
    uint8_t *data; /* private bytes (NULL: zeros) */
    uint8_t *alt;  /* K_ANON freed: the other possibility (NULL: zeros) */
} mpage;

typedef struct mobj {
    uint32_t npages;
    uint8_t **pages; /* NULL: zeros */
} mobj;

typedef struct pinrec {
    uint64_t *pfns;
    uint64_t n;
} pinrec;

typedef struct span {
    uint64_t s, e;
} span;

struct rt;

typedef struct mproc {
    struct rt *t;
    gpusim_process_t *p;
    bool live; /* in the model */
    int id;    /* index in rt.procs */
    mpage *pg; /* WPAGES */
    gpusim_completion_t fence;
    span *log; /* ranges announced during the batch */
    size_t nlog, caplog;
    pinrec pins[16];
    int npins;
    /* Batch bookkeeping. */
    bool exclusive;    /* an op that needs the process alone */
    span busy[MAXOPS]; /* ranges of this batch's ops (pages) */
    int nbusy;
    uint32_t *mapped; /* pages mapped at the start of the batch */
    uint32_t nmapped;
    uint32_t recent[4]; /* first pages of recent big anonymous mappings (THP candidates) */
    int nrecent;
    uint32_t written[64]; /* pages written lately (data mode: reads there verify something) */
    int nwritten;
} mproc;

typedef struct rop {
    struct rt *t;
    int kind;
    int proc;  /* index, or -1 (compact) */
    int child; /* fork: index of the child slot */
    uint64_t addr, len, arg, arg2;
    unsigned prot, flags;
    int advice;
    uint8_t *buf;
    uint64_t *pfns;
    uint64_t npages;
    /* Expected. */
    int exp_status;
    uint64_t exp_result;
    bool may_nomem; /* ENOMEM from an allocation is acceptable */
    /* Outcome. */
    bool done;
    int status;
    uint64_t result;
} rop;

typedef struct rt {
    gpusim_world_t *w;
    gpusim_host_t *h;
    gpusim_rng_t rng, cbrng;
    bool data;
    mproc procs[MAXPROC * 64]; /* slots used in turn; dead ones stay */
    int nprocs;
    int names;
    mobj *objs; /* shm objects; [0..NFILES) are the files */
    uint32_t nobjs, capobjs;
    gpusim_file_t *files[NFILES];
    rop ops[MAXOPS];
    int nops, outstanding;
    bool multi; /* the batch has more than one op */
    /* Translations sampled before the batch. */
    struct sample {
        int proc;
        uint64_t va;
        gpusim_host_pte_t pte;
    } * samp;
    size_t nsamp, capsamp;
    /* Work left after the batch: mappings placed outside the window, children of failed forks. */
    span tidy[MAXOPS];
    int tidy_proc[MAXOPS], ntidy;
    int reap[MAXOPS], nreap;
    char failure[768];
    /* Statistics. */
    uint64_t started[O_COUNT], ok[O_COUNT], failed[O_COUNT], unavailable[O_COUNT];
    uint64_t efault[O_COUNT], enomem[O_COUNT], esrch[O_COUNT];
    uint64_t checks, batches, concurrent, translations, changed, min_free, hogs;
    uint64_t digest;
} rt;

static void fail_now(rt *t, const char *fmt, ...) GPUSIM_PRINTF(2, 3);

static void fail_now(rt *t, const char *fmt, ...)
{
    va_list ap;
    if (t->failure[0])
        return;
    va_start(ap, fmt);
    vsnprintf(t->failure, sizeof t->failure, fmt, ap);
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

static uint32_t page_ix(uint64_t va)
{
    return (uint32_t)((va - WBASE) / PAGE);
}

static uint64_t page_va(uint32_t i)
{
    return WBASE + (uint64_t)i * PAGE;
}

static uint8_t *page_dup(const uint8_t *src)
{
    uint8_t *d;
    if (!src)
        return NULL;
    d = malloc(PAGE);
    assert_non_null(d);
    memcpy(d, src, PAGE);
    return d;
}

static void page_clear(mpage *m)
{
    free(m->data);
    free(m->alt);
    memset(m, 0, sizeof *m);
}

/* The object a shared page lives in. */
static mobj *obj_of(rt *t, const mpage *m)
{
    return &t->objs[m->obj];
}

static uint32_t obj_new(rt *t, uint32_t npages)
{
    if (t->nobjs == t->capobjs) {
        t->capobjs = t->capobjs ? 2 * t->capobjs : 16;
        t->objs = realloc(t->objs, t->capobjs * sizeof *t->objs);
        assert_non_null(t->objs);
    }
    t->objs[t->nobjs].npages = npages;
    t->objs[t->nobjs].pages = calloc(npages, sizeof(uint8_t *));
    assert_non_null(t->objs[t->nobjs].pages);
    return t->nobjs++;
}

/* What a page holds now: which = 0 the main possibility, 1 the other (freed pages). NULL = 0s. */
static const uint8_t *page_bytes(rt *t, const mpage *m, int which)
{
    switch (m->kind) {
    case K_ANON:
        return which ? m->alt : m->data;
    case K_FPRIV:
        if (m->cow)
            return m->data;
        /* fall through */
    case K_SHM:
    case K_FILE:
        return obj_of(t, m)->pages[m->idx];
    default:
        return NULL;
    }
}

static void bytes_put(uint8_t **dst, uint64_t off, const uint8_t *src, uint64_t n)
{
    if (!*dst) {
        *dst = calloc(1, PAGE);
        assert_non_null(*dst);
    }
    memcpy(*dst + off, src, n);
}

/* A write of n bytes at offset off of page m (data mode). */
static void page_write(rt *t, mpage *m, uint64_t off, const uint8_t *src, uint64_t n)
{
    switch (m->kind) {
    case K_ANON:
        bytes_put(&m->data, off, src, n);
        if (m->freed)
            bytes_put(&m->alt, off, src, n);
        break;
    case K_FPRIV:
        if (!m->cow) {
            m->data = page_dup(obj_of(t, m)->pages[m->idx]);
            m->cow = true;
        }
        bytes_put(&m->data, off, src, n);
        break;
    case K_SHM:
    case K_FILE:
        bytes_put(&obj_of(t, m)->pages[m->idx], off, src, n);
        break;
    default:
        break;
    }
}

/* A private file page gets its own copy (a write fault without data: pin, populate, hmm). */
static void page_cow(rt *t, mpage *m)
{
    if (m->kind == K_FPRIV && !m->cow) {
        m->data = t->data ? page_dup(obj_of(t, m)->pages[m->idx]) : NULL;
        m->cow = true;
    }
}

static bool bytes_eq(const uint8_t *page, uint64_t off, const uint8_t *got, uint64_t n)
{
    if (page)
        return memcmp(page + off, got, n) == 0;
    for (uint64_t i = 0; i < n; i++)
        if (got[i])
            return false;
    return true;
}

static bool allowed(const mpage *m, bool write)
{
    if (m->kind == K_NONE)
        return false;
    return write ? (m->prot & GPUSIM_PROT_WRITE) != 0
                 : (m->prot & (GPUSIM_PROT_READ | GPUSIM_PROT_WRITE)) != 0;
}

/* ---- processes and subscribers -------------------------------------------------------------- */

static gpusim_notifier_answer_t on_invalidate(gpusim_notifier_sub_t *sub,
                                              const gpusim_notifier_range_t *r, uint64_t cur_seq,
                                              gpusim_completion_t **wait_on)
{
    mproc *m = gpusim_notifier_sub_data(sub);
    rt *t = m->t;
    gpusim_notifier_set_seq(sub, cur_seq);
    if (m->nlog == m->caplog) {
        m->caplog = m->caplog ? 2 * m->caplog : 16;
        m->log = realloc(m->log, m->caplog * sizeof *m->log);
        assert_non_null(m->log);
    }
    m->log[m->nlog++] = (span){r->start, r->end};
    t->digest = t->digest * 31 + r->start + r->event;
    /* Sometimes the mirror must wait for its device: the invalidator blocks for a while. */
    if (r->blockable && gpusim_rng_below(&t->cbrng, 4) == 0) {
        gpusim_time_t when = gpusim_world_now(t->w) + 1000 + gpusim_rng_below(&t->cbrng, 50000);
        if (gpusim_completion_done(&m->fence) && gpusim_completion_reset(&m->fence) != 0)
            return GPUSIM_NOTIFIER_DONE;
        if (!gpusim_completion_done(&m->fence)) {
            int rc = gpusim_completion_signal_at(t->w, &m->fence, when);
            if (rc != 0 && rc != GPUSIM_EBUSY)
                return GPUSIM_NOTIFIER_DONE;
            *wait_on = &m->fence;
            return GPUSIM_NOTIFIER_WAIT;
        }
    }
    return GPUSIM_NOTIFIER_DONE;
}

static void host_check(rt *t, const char *when)
{
    char msg[512];
    int rc = gpusim_host_check(t->h, msg, sizeof msg);
    t->checks++;
    {
        gpusim_host_meminfo_t mi;
        if (gpusim_host_meminfo(t->h, &mi) == 0 && mi.free < t->min_free)
            t->min_free = mi.free;
    }
    if (rc)
        fail_now(t, "host check after %s: %s (%s)", when, msg, gpusim_err_name(rc));
}

/* Takes a model slot for process p (created, or a fork child). */
static mproc *proc_slot(rt *t, gpusim_process_t *p)
{
    mproc *m;
    assert_true(t->nprocs < (int)GPUSIM_ARRAY_SIZE(t->procs));
    m = &t->procs[t->nprocs];
    memset(m, 0, sizeof *m);
    m->t = t;
    m->id = t->nprocs++;
    m->p = p;
    m->live = true;
    m->pg = calloc(WPAGES, sizeof *m->pg);
    m->mapped = malloc(WPAGES * sizeof *m->mapped);
    assert_non_null(m->pg);
    assert_non_null(m->mapped);
    gpusim_completion_init(&m->fence, NULL);
    ASSERT_OK(gpusim_notifier_insert(gpusim_process_notifier(p), 0, GPUSIM_HOST_VA_END,
                                     on_invalidate, m, &(gpusim_notifier_sub_t *){NULL}));
    return m;
}

static void proc_config(rt *t, gpusim_process_config_t *pc, char *name, size_t n)
{
    gpusim_process_config_init(pc);
    snprintf(name, n, "p%d", t->names++);
    pc->name = name;
    pc->memlock_limit = UINT64_MAX;
}

static void proc_new(rt *t)
{
    gpusim_process_config_t pc;
    gpusim_process_t *p;
    char name[32];
    proc_config(t, &pc, name, sizeof name);
    ASSERT_OK(gpusim_process_new(t->h, &pc, &p));
    proc_slot(t, p);
    host_check(t, "process creation");
}

static int live_count(const rt *t)
{
    int n = 0;
    for (int i = 0; i < t->nprocs; i++)
        n += t->procs[i].live;
    return n;
}

/* The model forgets a process (exited or killed); its pins are released. */
static void proc_forget(mproc *m)
{
    for (int i = 0; i < m->npins; i++) {
        ASSERT_OK(gpusim_process_unpin(m->p, m->pins[i].pfns, m->pins[i].n, false, NULL));
        free(m->pins[i].pfns);
    }
    m->npins = 0;
    for (uint32_t i = 0; i < WPAGES; i++)
        page_clear(&m->pg[i]);
    m->live = false;
}

/* ---- running a batch ------------------------------------------------------------------------ */

static void op_done(void *data, int status, uint64_t result)
{
    rop *o = data;
    rt *t = o->t;
    char what[64];
    o->done = true;
    o->status = status;
    o->result = result;
    t->digest = t->digest * 131 + (uint64_t)(status + 4096) * 7 + result;
    snprintf(what, sizeof what, "%s", op_names[o->kind]);
    host_check(t, what);
    if (--t->outstanding == 0)
        gpusim_world_stop(t->w);
}

static bool any_active(const rt *t)
{
    for (int i = 0; i < t->nprocs; i++)
        if (gpusim_notifier_active(gpusim_process_notifier(t->procs[i].p)))
            return true;
    return false;
}

/* Runs until the batch's operations have completed and no invalidation is open. */
static void run_batch(rt *t)
{
    gpusim_time_t limit = gpusim_world_now(t->w) + 600 * GPUSIM_NS_PER_S;
    while (t->outstanding > 0 && !t->failure[0]) {
        int rc = gpusim_world_run_until(t->w, limit);
        if (rc == 0 && t->outstanding > 0) {
            fail_now(t, "%d operation(s) never completed", t->outstanding);
            return;
        }
    }
    for (int n = 0; any_active(t) && !t->failure[0]; n++) {
        if (n > 1000000 || gpusim_world_run_events(t->w, 1) != 1) {
            fail_now(t, "an invalidation stays open after the batch");
            return;
        }
    }
}

/* ---- choosing operations -------------------------------------------------------------------- */

static bool busy_overlaps(const mproc *m, uint32_t first, uint32_t n)
{
    for (int i = 0; i < m->nbusy; i++)
        if (first < m->busy[i].e && m->busy[i].s < first + n)
            return true;
    return false;
}

/* A random live process that can take an op (exclusive: nothing else of it in the batch). */
static mproc *pick_proc(rt *t, bool exclusive)
{
    int cand[MAXPROC * 64], n = 0;
    for (int i = 0; i < t->nprocs; i++) {
        mproc *m = &t->procs[i];
        if (!m->live || m->exclusive || (exclusive && m->nbusy))
            continue;
        cand[n++] = i;
    }
    if (n == 0)
        return NULL;
    return &t->procs[cand[rnd(t, (uint64_t)n)]];
}

/* A random range of pages in the window: usually around a mapped page. */
static void pick_range(rt *t, mproc *m, uint32_t maxpages, uint32_t *first, uint32_t *n)
{
    uint32_t len = 1 + (uint32_t)rnd(t, maxpages);
    uint32_t start = (uint32_t)rnd(t, WPAGES);
    if (m->nmapped && chance(t, 85)) {
        /* Mostly where something is mapped, often exactly over a mapped run. */
        start = m->mapped[rnd(t, m->nmapped)];
        if (chance(t, 30)) {
            uint32_t back = (uint32_t)rnd(t, 8); /* not inside GPUSIM_MIN: it evaluates twice */
            start -= GPUSIM_MIN(start, back);
        }
        if (chance(t, 60)) {
            uint32_t run = 0;
            while (start + run < WPAGES && run < maxpages && m->pg[start + run].kind != K_NONE)
                run++;
            if (run)
                len = 1 + (uint32_t)rnd(t, run);
        }
    }
    if (start + len > WPAGES)
        len = WPAGES - start;
    *first = start;
    *n = len;
}

static bool claim(mproc *m, uint32_t first, uint32_t n, bool exclusive)
{
    if (m->exclusive || (exclusive && m->nbusy) || busy_overlaps(m, first, n))
        return false;
    m->busy[m->nbusy++] = (span){first, first + n};
    m->exclusive = exclusive;
    return true;
}

static rop *op_add(rt *t, int kind, mproc *m)
{
    rop *o = &t->ops[t->nops++];
    memset(o, 0, sizeof *o);
    o->t = t;
    o->kind = kind;
    o->proc = m ? m->id : -1;
    o->child = -1;
    return o;
}

/* Undoes op_add when the op turns out impossible to start. */
static void op_drop(rt *t)
{
    rop *o = &t->ops[--t->nops];
    free(o->buf);
    free(o->pfns);
}

/* Top-down placement as vma.c's gpusim__vma_gap: the highest free run that fits, at its top; the
 * run at the bottom of the window continues below it. */
static uint64_t predict_topdown(const mproc *m, uint64_t npages)
{
    uint64_t run = 0;
    for (uint32_t i = WPAGES; i-- > 0;) {
        if (m->pg[i].kind == K_NONE) {
            run++;
            if (run >= npages && (i == 0 || m->pg[i - 1].kind != K_NONE))
                return page_va(i) + run * PAGE - npages * PAGE;
        } else {
            run = 0;
        }
    }
    /* The bottom run extends below the window. */
    {
        uint64_t top = WBASE;
        for (uint32_t i = 0; i < WPAGES && m->pg[i].kind == K_NONE; i++)
            top = page_va(i) + PAGE;
        return top - npages * PAGE;
    }
}

static bool range_free(const mproc *m, uint32_t first, uint32_t n)
{
    for (uint32_t i = first; i < first + n; i++)
        if (m->pg[i].kind != K_NONE)
            return false;
    return true;
}

static int start_mmap(rt *t, mproc *m, rop *o)
{
    uint32_t npages, first;
    unsigned share;
    int kind, how;
    gpusim_file_t *file = NULL;
    uint64_t offset = 0, u = rnd(t, 100);
    kind = u < 50 ? K_ANON : u < 65 ? K_SHM : u < 80 ? K_FILE : K_FPRIV;
    /* Small, or big enough (4-6 MiB) to hold a whole aligned 2 MiB wherever it lands. */
    npages = chance(t, 85) ? 1 + (uint32_t)rnd(t, 32) : 1024 + (uint32_t)rnd(t, 512);
    if (kind == K_ANON && chance(t, 20))
        npages = 2048 + (uint32_t)rnd(t, 2048); /* 8-16 MiB, populated below: memory pressure */
    t->hogs += npages >= 2048;
    if (kind == K_FILE || kind == K_FPRIV) {
        uint32_t fi = (uint32_t)rnd(t, NFILES);
        npages = GPUSIM_MIN(npages, 64u);
        offset = rnd(t, FILE_PAGES - npages + 1);
        file = t->files[fi];
        o->arg2 = fi;
        o->arg = offset;
    }
    share = (kind == K_SHM || kind == K_FILE) ? GPUSIM_MAP_SHARED : GPUSIM_MAP_PRIVATE;
    o->prot = chance(t, 80)   ? GPUSIM_PROT_READ | GPUSIM_PROT_WRITE
              : chance(t, 70) ? GPUSIM_PROT_READ
                              : GPUSIM_PROT_NONE;
    o->len = (uint64_t)npages * PAGE;
    o->advice = kind;
    how = (int)rnd(t, 4); /* 0 FIXED, 1 FIXED_NOREPLACE, 2 hint, 3 anywhere */
    first = (uint32_t)rnd(t, WPAGES - npages + 1);
    if (chance(t, 30))
        first &= ~(uint32_t)511; /* 2 MiB aligned: room for THP */
    o->addr = page_va(first);
    o->flags = share | (chance(t, 10) || npages >= 2048 ? GPUSIM_MAP_POPULATE : 0);
    if (how == 0 || how == 1) {
        o->flags |= how == 0 ? GPUSIM_MAP_FIXED : GPUSIM_MAP_FIXED_NOREPLACE;
        if (!claim(m, first, npages, false))
            return 1;
        if (how == 1 && !range_free(m, first, npages)) {
            o->exp_status = GPUSIM_EEXIST;
        } else {
            o->exp_result = o->addr;
        }
    } else {
        if (!claim(m, 0, WPAGES, true))
            return 1;
        if (how == 3)
            o->addr = 0;
        o->exp_result =
            (how == 2 && range_free(m, first, npages)) ? o->addr : predict_topdown(m, npages);
    }
    o->may_nomem = (o->flags & GPUSIM_MAP_POPULATE) != 0;
    return gpusim_process_mmap(m->p, o->addr, o->len, o->prot, o->flags, file, offset * PAGE,
                               op_done, o);
}

static int start_munmap(rt *t, mproc *m, rop *o)
{
    uint32_t first, n;
    pick_range(t, m, chance(t, 20) ? 2048 : 48, &first, &n);
    if (chance(t, 15))
        first &= ~(uint32_t)511;
    if (first + n > WPAGES)
        n = WPAGES - first;
    if (!claim(m, first, n, false))
        return 1;
    o->addr = page_va(first);
    o->len = (uint64_t)n * PAGE;
    return gpusim_process_munmap(m->p, o->addr, o->len, op_done, o);
}

static int start_mprotect(rt *t, mproc *m, rop *o)
{
    uint32_t first, n, k;
    static const unsigned prots[] = {GPUSIM_PROT_NONE, GPUSIM_PROT_READ,
                                     GPUSIM_PROT_READ | GPUSIM_PROT_WRITE,
                                     GPUSIM_PROT_READ | GPUSIM_PROT_WRITE | GPUSIM_PROT_EXEC};
    pick_range(t, m, 64, &first, &n);
    if (!claim(m, first, n, false))
        return 1;
    o->addr = page_va(first);
    o->len = (uint64_t)n * PAGE;
    o->prot = prots[rnd(t, 4)];
    for (k = 0; k < n && m->pg[first + k].kind != K_NONE; k++)
        ;
    o->exp_status = k < n ? GPUSIM_ENOMEM : 0;
    return gpusim_process_mprotect(m->p, o->addr, o->len, o->prot, op_done, o);
}

static int start_madvise(rt *t, mproc *m, rop *o)
{
    uint32_t first, n;
    bool hole = false;
    o->advice = (int)rnd(t, 5);
    if (m->nrecent && chance(t, 20))
        o->advice = GPUSIM_MADV_HUGEPAGE; /* big mappings become THP candidates */
    pick_range(t, m, o->advice == GPUSIM_MADV_HUGEPAGE ? 1024 : 64, &first, &n);
    if (o->advice == GPUSIM_MADV_HUGEPAGE && chance(t, 70)) {
        /* Whole aligned 2 MiB ranges of big mappings, so that write faults can take huge pages. */
        if (m->nrecent)
            first = (m->recent[rnd(t, (uint64_t)GPUSIM_MIN(m->nrecent, 4))] + 511) & ~(uint32_t)511;
        first = GPUSIM_MIN(first, WPAGES - 512) & ~(uint32_t)511;
        n = 512 * (1 + (uint32_t)rnd(t, 2));
        n = GPUSIM_MIN(n, WPAGES - first);
    }
    if (!claim(m, first, n, false))
        return 1;
    o->addr = page_va(first);
    o->len = (uint64_t)n * PAGE;
    for (uint32_t i = first; i < first + n; i++) {
        if (m->pg[i].kind == K_NONE) {
            hole = true;
        } else if (o->advice == GPUSIM_MADV_FREE && m->pg[i].kind != K_ANON) {
            o->exp_status = GPUSIM_EINVAL;
            break;
        }
    }
    if (o->exp_status == 0 && hole)
        o->exp_status = GPUSIM_ENOMEM;
    return gpusim_process_madvise(m->p, o->addr, o->len, (gpusim_madvise_t)o->advice, op_done, o);
}

static int start_access(rt *t, mproc *m, rop *o)
{
    uint32_t first, n, k;
    bool write = chance(t, 55);
    uint64_t big = chance(t, 5) ? 2048 : chance(t, 25) ? 32 : 4;
    pick_range(t, m, (uint32_t)big, &first, &n);
    if (t->data && m->nwritten && chance(t, 40)) {
        /* Back to a page written before (maybe since copied by COW, swap or migration). */
        first = m->written[rnd(t, (uint64_t)GPUSIM_MIN(m->nwritten, 64))];
        n = 1 + (uint32_t)rnd(t, GPUSIM_MIN(4, WPAGES - first));
    } else if (m->nrecent && chance(t, 15)) {
        /* Write one page of a big mapping: a THP fault where the 2 MiB is still untouched (a
         * read first would map the 4 KiB zero page there, and rule THP out: fault.c). */
        first = (m->recent[rnd(t, (uint64_t)GPUSIM_MIN(m->nrecent, 4))] + 511) & ~(uint32_t)511;
        first = GPUSIM_MIN(first + (uint32_t)rnd(t, 512), WPAGES - 1);
        n = 1;
        write = true;
    }
    o->addr = page_va(first) + (chance(t, 30) ? rnd(t, PAGE) : 0);
    o->len = (uint64_t)n * PAGE - (o->addr - page_va(first));
    if (chance(t, 30) && o->len > 1)
        o->len -= rnd(t, GPUSIM_MIN(o->len - 1, PAGE));
    if (chance(t, 35)) {
        /* A few bytes: a partly written page shows whether a copy (COW, swap, migration) kept
         * the bytes around them. */
        o->addr = page_va(first) + rnd(t, PAGE);
        o->len = 1 + rnd(t, 256);
        if (o->addr + o->len > page_va(first + n))
            o->len = page_va(first + n) - o->addr;
    }
    /* The pages actually touched. */
    n = (uint32_t)((o->addr + o->len - 1) / PAGE - o->addr / PAGE + 1);
    if (!claim(m, first, n, false))
        return 1;
    /* No writes to shared objects while other operations run: their readers would race. */
    if (write && t->multi)
        for (uint32_t i = first; i < first + n; i++)
            if (m->pg[i].kind == K_SHM || m->pg[i].kind == K_FILE)
                write = false;
    o->arg = write;
    for (k = 0; k < n && allowed(&m->pg[first + k], write); k++)
        ;
    if (k < n) {
        uint64_t at = page_va(first + k);
        o->exp_status = GPUSIM_EFAULT;
        o->exp_result = at > o->addr ? at - o->addr : 0;
    } else {
        o->exp_result = o->len;
    }
    o->may_nomem = true;
    if (t->data) {
        o->buf = malloc(o->len);
        assert_non_null(o->buf);
        uint64_t r = 0;
        for (uint64_t i = 0; i < o->len; i++) {
            if (i % 8 == 0)
                r = write ? gpusim_rng_next(&t->rng) : UINT64_C(0xa5a5a5a5a5a5a5a5);
            o->buf[i] = (uint8_t)(r >> (i % 8 * 8));
        }
    }
    return gpusim_process_access(m->p, o->addr, o->len,
                                 write ? GPUSIM_ACCESS_WRITE : GPUSIM_ACCESS_READ, o->buf, op_done,
                                 o);
}

static int start_fork(rt *t, mproc *m, rop *o)
{
    gpusim_process_config_t pc;
    gpusim_process_t *child = NULL;
    char name[32];
    int rc;
    if (live_count(t) >= MAXPROC || !claim(m, 0, WPAGES, true))
        return 1;
    proc_config(t, &pc, name, sizeof name);
    o->may_nomem = true;
    rc = gpusim_process_fork(m->p, &pc, &child, op_done, o);
    if (rc == 0) {
        mproc *c = proc_slot(t, child);
        o->child = c->id;
        c->live = false; /* usable once the fork completes */
        c->exclusive = true;
    }
    return rc;
}

static int start_exit(rt *t, mproc *m, rop *o)
{
    if (live_count(t) < MINPROC || !claim(m, 0, WPAGES, true))
        return 1;
    return gpusim_process_exit(m->p, op_done, o);
}

static int start_mremap(rt *t, mproc *m, rop *o)
{
    uint32_t first, n, vfirst, vn, newn;
    hvma *v;
    if (!claim(m, 0, WPAGES, true))
        return 1;
    /* A private anonymous VMA inside the window, and a part of it. */
    pick_range(t, m, 1, &first, &n);
    if (m->pg[first].kind != K_ANON)
        return 1;
    v = gpusim__vma_find(m->p, page_va(first));
    if (!v || vma_start(v) < WBASE)
        return 1;
    vfirst = page_ix(vma_start(v));
    vn = (uint32_t)((vma_end(v) - vma_start(v)) / PAGE);
    first = vfirst + (uint32_t)rnd(t, vn);
    n = 1 + (uint32_t)rnd(t, vfirst + vn - first);
    newn = chance(t, 40) ? 1 + (uint32_t)rnd(t, n) : n + 1 + (uint32_t)rnd(t, 64);
    o->addr = page_va(first);
    o->len = (uint64_t)n * PAGE;
    o->npages = newn;
    o->flags = chance(t, 70) ? GPUSIM_MREMAP_MAYMOVE : 0;
    if (o->flags && chance(t, 40)) {
        uint32_t dst = (uint32_t)rnd(t, WPAGES - newn + 1);
        if (dst < first + n && first < dst + newn)
            return 1; /* overlapping FIXED ranges are EINVAL: not what this test looks for */
        o->flags |= GPUSIM_MREMAP_FIXED;
        o->arg = page_va(dst);
    }
    if (newn <= n || (o->flags & GPUSIM_MREMAP_FIXED)) {
        o->exp_result = (o->flags & GPUSIM_MREMAP_FIXED) ? o->arg : o->addr;
    } else if (range_free(m, first + n, GPUSIM_MIN(newn, WPAGES - first) - n)) {
        o->exp_result = o->addr; /* grows in place (above the window nothing is mapped) */
    } else if (!o->flags) {
        o->exp_status = GPUSIM_ENOMEM;
    } else {
        o->exp_result = UINT64_MAX; /* moved somewhere free: checked when it completes */
    }
    o->may_nomem = true;
    return gpusim_process_mremap(m->p, o->addr, o->len, (uint64_t)newn * PAGE, o->flags, o->arg,
                                 op_done, o);
}

static int start_pin(rt *t, mproc *m, rop *o)
{
    uint32_t first, n, k;
    bool write;
    if (m->npins == (int)GPUSIM_ARRAY_SIZE(m->pins))
        return 1;
    pick_range(t, m, 16, &first, &n);
    if (!claim(m, first, n, false))
        return 1;
    o->flags = (chance(t, 60) ? GPUSIM_PIN_WRITE : 0) | (chance(t, 30) ? GPUSIM_PIN_LONGTERM : 0);
    write = (o->flags & GPUSIM_PIN_WRITE) != 0;
    o->addr = page_va(first);
    o->npages = n;
    o->pfns = calloc(n, sizeof *o->pfns);
    assert_non_null(o->pfns);
    for (k = 0; k < n && allowed(&m->pg[first + k], write); k++)
        ;
    o->exp_status = k < n ? GPUSIM_EFAULT : 0;
    o->exp_result = k < n ? 0 : n;
    o->arg = k; /* pages faulted before the failure */
    o->may_nomem = true;
    return gpusim_process_pin(m->p, o->addr, n, o->flags, o->pfns, op_done, o);
}

static int start_range_fault(rt *t, mproc *m, rop *o)
{
    uint32_t first, n, k;
    bool fault = chance(t, 70), write = fault && chance(t, 40);
    pick_range(t, m, 32, &first, &n);
    if (!claim(m, first, n, false))
        return 1;
    o->addr = page_va(first);
    o->npages = n;
    o->pfns = calloc(n, sizeof *o->pfns);
    assert_non_null(o->pfns);
    o->arg = (fault ? GPUSIM_HMM_REQ_FAULT : 0) | (write ? GPUSIM_HMM_REQ_WRITE : 0);
    o->exp_status = 0;
    o->exp_result = UINT64_MAX; /* pages that needed a fault: not modelled */
    if (fault) {
        for (k = 0; k < n; k++) {
            const mpage *pg = &m->pg[first + k];
            if (!allowed(pg, false)) {
                o->exp_status = GPUSIM_EFAULT;
                break;
            }
            if (write && !(pg->prot & GPUSIM_PROT_WRITE)) {
                o->exp_status = GPUSIM_EPERM;
                break;
            }
        }
        o->arg2 = k;
    }
    o->may_nomem = true;
    return gpusim_process_range_fault(m->p, NULL, 0, o->addr, n, o->arg, 0, o->pfns, op_done, o);
}

static int start_compact(rt *t, rop *o)
{
    (void)t;
    o->exp_result = UINT64_MAX; /* any number of pages */
    return gpusim_host_compact(t->h, 0, op_done, o);
}

/* Unpin is synchronous: it runs as its own step, with the checker after it. */
static void do_unpin(rt *t, mproc *m)
{
    int i;
    if (m->npins == 0)
        return;
    i = (int)rnd(t, (uint64_t)m->npins);
    t->started[O_UNPIN]++;
    ASSERT_OK(gpusim_process_unpin(m->p, m->pins[i].pfns, m->pins[i].n, chance(t, 50), NULL));
    t->ok[O_UNPIN]++;
    free(m->pins[i].pfns);
    m->pins[i] = m->pins[--m->npins];
    host_check(t, "unpin");
}

/* Picks and starts one operation; false if nothing could be started. */
static bool start_one(rt *t, int kind)
{
    mproc *m = NULL;
    rop *o;
    int rc;
    bool exclusive = kind == O_FORK || kind == O_EXIT || kind == O_MREMAP;
    if (kind != O_COMPACT && !(m = pick_proc(t, exclusive)))
        return false;
    if (kind == O_UNPIN) {
        do_unpin(t, m); /* synchronous: between batches */
        return false;
    }
    if (kind == O_COMPACT)
        for (int i = 0; i < t->nops; i++)
            if (t->ops[i].kind == O_COMPACT)
                return false;
    o = op_add(t, kind, m);
    switch (kind) {
    case O_MMAP:
        rc = start_mmap(t, m, o);
        break;
    case O_MUNMAP:
        rc = start_munmap(t, m, o);
        break;
    case O_MPROTECT:
        rc = start_mprotect(t, m, o);
        break;
    case O_MADVISE:
        rc = start_madvise(t, m, o);
        break;
    case O_ACCESS:
        rc = start_access(t, m, o);
        break;
    case O_FORK:
        rc = start_fork(t, m, o);
        break;
    case O_EXIT:
        rc = start_exit(t, m, o);
        break;
    case O_MREMAP:
        rc = start_mremap(t, m, o);
        break;
    case O_PIN:
        rc = start_pin(t, m, o);
        break;
    case O_RANGE_FAULT:
        rc = start_range_fault(t, m, o);
        break;
    case O_COMPACT:
        rc = start_compact(t, o);
        break;
    default:
        rc = 1;
        break;
    }
    if (rc == 1) {
        op_drop(t);
        return false;
    }
    if (rc == GPUSIM_ENOSYS) {
        t->unavailable[kind]++;
        op_drop(t);
        return false;
    }
    if (rc != 0) {
        fail_now(t, "%s: call refused with %s", op_names[kind], gpusim_err_name(rc));
        op_drop(t);
        return false;
    }
    t->started[kind]++;
    t->outstanding++;
    return true;
}

static int pick_kind(rt *t)
{
    static const unsigned weight[O_COUNT] = {15, 12, 8, 10, 35, 3, 1, 4, 4, 4, 4, 1};
    unsigned total = 0, u;
    for (int k = 0; k < O_COUNT; k++)
        total += weight[k];
    u = (unsigned)rnd(t, total);
    for (int k = 0; k < O_COUNT; k++) {
        if (u < weight[k])
            return k;
        u -= weight[k];
    }
    return O_ACCESS;
}

/* ---- checking outcomes and updating the model ----------------------------------------------- */

static bool logged(const mproc *m, uint64_t va)
{
    for (size_t i = 0; i < m->nlog; i++)
        if (va >= m->log[i].s && va < m->log[i].e)
            return true;
    return false;
}

/* The model's view of a page after the batch. */
static mpage *mp(rt *t, const rop *o, uint64_t va)
{
    return &t->procs[o->proc].pg[page_ix(va)];
}

static void apply_unmap(mproc *m, uint64_t addr, uint64_t len)
{
    for (uint64_t va = addr; va < addr + len; va += PAGE)
        if (va >= WBASE && va < WTOP)
            page_clear(&m->pg[page_ix(va)]);
}

static void apply_mmap(rt *t, mproc *m, rop *o, uint64_t at)
{
    uint32_t obj = 0;
    int kind = o->advice;
    if (kind == K_SHM)
        obj = obj_new(t, (uint32_t)(o->len / PAGE));
    else if (kind == K_FILE || kind == K_FPRIV)
        obj = (uint32_t)o->arg2;
    apply_unmap(m, at, o->len);
    if (kind == K_ANON && o->len >= HUGE && at >= WBASE && at < WTOP)
        m->recent[m->nrecent++ % 4] = page_ix(at);
    for (uint64_t i = 0; i < o->len / PAGE; i++) {
        uint64_t va = at + i * PAGE;
        mpage *pg;
        if (va < WBASE || va >= WTOP)
            continue;
        pg = &m->pg[page_ix(va)];
        pg->kind = (uint8_t)kind;
        pg->prot = (uint8_t)o->prot;
        pg->obj = obj;
        pg->idx = (uint32_t)(kind == K_SHM ? i : o->arg + i);
    }
    /* Populated private writable file pages were copied. */
    if (kind == K_FPRIV && (o->flags & GPUSIM_MAP_POPULATE) && (o->prot & GPUSIM_PROT_WRITE))
        for (uint64_t va = at; va < at + o->len; va += PAGE)
            if (va >= WBASE && va < WTOP) {
                if (o->status == 0)
                    page_cow(t, &m->pg[page_ix(va)]);
                else
                    m->pg[page_ix(va)].unk = true;
            }
}

/* An access's bytes: writes go into the model, reads are verified against it. */
static void apply_access(rt *t, mproc *m, rop *o)
{
    uint64_t done = o->result;
    bool write = o->arg != 0;
    if (!t->data)
        return;
    for (uint64_t pos = 0; pos < done;) {
        uint64_t va = o->addr + pos;
        uint64_t off = va % PAGE;
        uint64_t n = GPUSIM_MIN(PAGE - off, done - pos);
        mpage *pg = mp(t, o, va);
        if (write) {
            page_write(t, pg, off, o->buf + pos, n);
            if (pos == 0 || off == 0)
                m->written[m->nwritten++ % 64] = page_ix(va);
        } else if (!pg->unk && !bytes_eq(page_bytes(t, pg, 0), off, o->buf + pos, n) &&
                   !(pg->freed && bytes_eq(page_bytes(t, pg, 1), off, o->buf + pos, n))) {
            fail_now(t,
                     "process %s: read at 0x%" PRIx64 " (%" PRIu64 " bytes, page kind %d%s%s) "
                     "does not return what was written",
                     gpusim_process_name(t->procs[o->proc].p), va, n, pg->kind,
                     pg->freed ? ", freed" : "", pg->cow ? ", cow" : "");
            return;
        }
        pos += n;
    }
}

static void apply_madvise(mproc *m, rop *o)
{
    for (uint64_t va = o->addr; va < o->addr + o->len; va += PAGE) {
        mpage *pg = &m->pg[page_ix(va)];
        if (pg->kind == K_NONE)
            continue;
        if (o->advice == GPUSIM_MADV_DONTNEED) {
            if (pg->kind == K_ANON) {
                uint8_t prot = pg->prot;
                page_clear(pg);
                pg->kind = K_ANON;
                pg->prot = prot;
            } else if (pg->kind == K_FPRIV) {
                free(pg->data);
                pg->data = NULL;
                pg->cow = false;
                pg->unk = false;
            }
        } else if (o->advice == GPUSIM_MADV_FREE) {
            if (pg->kind != K_ANON)
                break; /* EINVAL stopped it here */
            if (pg->freed && pg->alt)
                pg->unk = true; /* three possibilities: not tracked */
            free(pg->alt);
            pg->alt = NULL;
            pg->freed = true;
        }
    }
}

static void apply_fork(rt *t, mproc *parent, rop *o)
{
    mproc *c = &t->procs[o->child];
    c->exclusive = false;
    if (o->status != 0) {
        t->reap[t->nreap++] = c->id; /* never usable: make sure it is gone */
        return;
    }
    c->live = true;
    memcpy(c->written, parent->written, sizeof c->written);
    c->nwritten = parent->nwritten;
    for (uint32_t i = 0; i < WPAGES; i++) {
        c->pg[i] = parent->pg[i];
        c->pg[i].data = page_dup(parent->pg[i].data);
        c->pg[i].alt = page_dup(parent->pg[i].alt);
    }
}

static void tidy_later(rt *t, mproc *m, uint64_t addr, uint64_t len)
{
    t->tidy[t->ntidy] = (span){addr, addr + len};
    t->tidy_proc[t->ntidy++] = m->id;
}

static void apply_mremap(rt *t, mproc *m, rop *o)
{
    uint64_t oldn = o->len / PAGE, newn = o->npages, at = o->result, keep;
    bool inside = at >= WBASE && at + newn * PAGE <= WTOP;
    mpage *moved = calloc(oldn, sizeof *moved);
    assert_non_null(moved);
    if (o->exp_result == UINT64_MAX && inside && !range_free(m, page_ix(at), (uint32_t)newn)) {
        fail_now(t, "mremap moved onto a mapping at 0x%" PRIx64, at);
        free(moved);
        return;
    }
    for (uint64_t i = 0; i < oldn; i++) {
        moved[i] = m->pg[page_ix(o->addr) + i];
        memset(&m->pg[page_ix(o->addr) + i], 0, sizeof(mpage));
    }
    if (at != o->addr)
        apply_unmap(m, at, newn * PAGE);
    /* Whatever lies outside the window is unmapped after the batch and not modelled. */
    keep = newn;
    if (at == o->addr && !inside) {
        keep = (WTOP - at) / PAGE; /* grew in place past the top of the window */
        tidy_later(t, m, WTOP, at + newn * PAGE - WTOP);
    } else if (!inside) {
        keep = 0; /* moved below the window */
        tidy_later(t, m, at, newn * PAGE);
    }
    for (uint64_t i = 0; i < keep; i++) {
        mpage *pg = &m->pg[page_ix(at) + i];
        if (i < oldn) {
            *pg = moved[i];
            moved[i].data = moved[i].alt = NULL;
        } else {
            memset(pg, 0, sizeof *pg);
            pg->kind = K_ANON;
            pg->prot = moved[oldn - 1].prot;
        }
    }
    for (uint64_t i = 0; i < oldn; i++)
        page_clear(&moved[i]);
    free(moved);
}

/* Pinned and faulted frames must be what the page table maps (unless invalidated meanwhile). */
static void check_frames(rt *t, mproc *m, const rop *o, bool hmm)
{
    for (uint64_t i = 0; i < o->npages; i++) {
        uint64_t va = o->addr + i * PAGE;
        gpusim_host_pte_t pte;
        uint64_t pfn = hmm ? o->pfns[i] >> GPUSIM_HMM_PFN_SHIFT : o->pfns[i];
        if ((hmm && !(o->pfns[i] & GPUSIM_HMM_PFN_VALID)) || logged(m, va))
            continue;
        ASSERT_OK(gpusim_process_translate(m->p, va, &pte));
        if (!pte.present || pte.pfn != pfn)
            fail_now(t, "%s at 0x%" PRIx64 " gave frame %" PRIu64 " but the page maps %s%" PRIu64,
                     hmm ? "range_fault" : "pin", va, pfn, pte.present ? "frame " : "nothing ",
                     pte.pfn);
    }
}

static bool outcome_ok(const rop *o, bool dead)
{
    if (dead && o->status == GPUSIM_ESRCH)
        return true;
    if (o->status == o->exp_status)
        return o->status != 0 || o->exp_result == UINT64_MAX || o->result == o->exp_result ||
               (o->kind == O_ACCESS && o->exp_status == GPUSIM_EFAULT);
    if (o->status == o->exp_status && o->status == GPUSIM_EFAULT)
        return o->result == o->exp_result;
    if (o->may_nomem && o->status == GPUSIM_ENOMEM)
        return o->kind != O_ACCESS || o->result <= o->exp_result;
    if (o->kind == O_MADVISE && o->advice == GPUSIM_MADV_PAGEOUT && o->status == GPUSIM_ENOSYS)
        return true; /* reclaim not there yet */
    return false;
}

/* Prints the model of [addr, addr + n pages) as runs, to explain a failure. */
static void dump_range(const mproc *m, uint64_t addr, uint64_t n)
{
    uint64_t i = 0;
    if (addr < WBASE || addr >= WTOP)
        return;
    n = GPUSIM_MIN(n, (WTOP - addr) / PAGE);
    while (i < n) {
        const mpage *a = &m->pg[page_ix(addr) + i];
        uint64_t j = i + 1;
        while (j < n && m->pg[page_ix(addr) + j].kind == a->kind &&
               m->pg[page_ix(addr) + j].prot == a->prot)
            j++;
        print_message("    model: pages %" PRIu64 "..%" PRIu64 " kind %d prot %u\n", i, j - 1,
                      a->kind, a->prot);
        i = j;
    }
}

static void finish_op(rt *t, rop *o)
{
    mproc *m = o->proc >= 0 ? &t->procs[o->proc] : NULL;
    bool dead = false;
    if (!o->done)
        return;
    if (m) {
        gpusim_process_info_t info;
        ASSERT_OK(gpusim_process_info(m->p, &info));
        dead = info.state != GPUSIM_PROCESS_LIVE && o->kind != O_EXIT;
    }
    if (!outcome_ok(o, dead) ||
        (o->kind == O_ACCESS && o->status == GPUSIM_EFAULT && o->result != o->exp_result)) {
        if (m)
            dump_range(m, o->addr, o->npages ? o->npages : (o->len + PAGE - 1) / PAGE);
        fail_now(t,
                 "%s (process %s, addr 0x%" PRIx64 " len 0x%" PRIx64 " prot %u flags 0x%x advice "
                 "%d arg %" PRIu64 "): status %s result 0x%" PRIx64
                 ", expected %s result 0x%" PRIx64,
                 op_names[o->kind], m ? gpusim_process_name(m->p) : "-", o->addr, o->len, o->prot,
                 o->flags, o->advice, o->arg, gpusim_err_name(o->status), o->result,
                 gpusim_err_name(o->exp_status), o->exp_result);
        return;
    }
    if (o->status == 0)
        t->ok[o->kind]++;
    else
        t->failed[o->kind]++;
    t->efault[o->kind] += o->status == GPUSIM_EFAULT;
    t->enomem[o->kind] += o->status == GPUSIM_ENOMEM;
    t->esrch[o->kind] += o->status == GPUSIM_ESRCH;
    if (dead)
        return; /* the process is gone: forgotten after the batch */
    switch (o->kind) {
    case O_MMAP:
        if (o->status == 0 || (o->status == GPUSIM_ENOMEM && o->result)) {
            apply_mmap(t, m, o, o->result);
            if (o->result < WBASE || o->result + o->len > WTOP)
                tidy_later(t, m, o->result, o->len);
        }
        break;
    case O_MUNMAP:
        apply_unmap(m, o->addr, o->len);
        break;
    case O_MPROTECT:
        for (uint64_t va = o->addr; va < o->addr + o->len; va += PAGE) {
            mpage *pg = &m->pg[page_ix(va)];
            if (pg->kind == K_NONE)
                break;
            pg->prot = (uint8_t)o->prot;
        }
        break;
    case O_MADVISE:
        apply_madvise(m, o);
        break;
    case O_ACCESS:
        apply_access(t, m, o);
        break;
    case O_FORK:
        apply_fork(t, m, o);
        break;
    case O_EXIT:
        proc_forget(m);
        break;
    case O_MREMAP:
        if (o->status == 0)
            apply_mremap(t, m, o);
        break;
    case O_PIN: {
        uint64_t n = o->status == 0 ? o->npages : o->arg;
        for (uint64_t i = 0; i < n; i++) {
            mpage *pg = &m->pg[page_ix(o->addr) + i];
            if (!(o->flags & GPUSIM_PIN_WRITE))
                continue;
            if (o->status == 0 || o->status == GPUSIM_EFAULT)
                page_cow(t, pg);
            else
                pg->unk = true;
        }
        if (o->status == 0) {
            check_frames(t, m, o, false);
            m->pins[m->npins++] = (pinrec){o->pfns, o->npages};
            o->pfns = NULL;
        }
        break;
    }
    case O_RANGE_FAULT: {
        uint64_t n = (o->arg & GPUSIM_HMM_REQ_FAULT) ? (o->status == 0 ? o->npages : o->arg2) : 0;
        for (uint64_t i = 0; i < n; i++) {
            mpage *pg = &m->pg[page_ix(o->addr) + i];
            if (!(o->arg & GPUSIM_HMM_REQ_WRITE))
                continue;
            if (o->status == 0 || o->status == GPUSIM_EFAULT || o->status == GPUSIM_EPERM)
                page_cow(t, pg);
            else
                pg->unk = true;
        }
        if (o->status == 0)
            check_frames(t, m, o, true);
        break;
    }
    default:
        break;
    }
}

/* ---- translations before and after a batch -------------------------------------------------- */

static void sample_add(rt *t, int proc, uint64_t va)
{
    struct sample *s;
    if (t->nsamp == t->capsamp) {
        t->capsamp = t->capsamp ? 2 * t->capsamp : 256;
        t->samp = realloc(t->samp, t->capsamp * sizeof *t->samp);
        assert_non_null(t->samp);
    }
    s = &t->samp[t->nsamp++];
    s->proc = proc;
    s->va = va;
    ASSERT_OK(gpusim_process_translate(t->procs[proc].p, va, &s->pte));
}

/* Samples each live process's translations (its mapped pages were listed when the batch began). */
static void sample_before(rt *t)
{
    t->nsamp = 0;
    for (int i = 0; i < t->nprocs; i++) {
        mproc *m = &t->procs[i];
        if (!m->live)
            continue;
        if (m->nmapped <= SAMPLE) {
            for (uint32_t k = 0; k < m->nmapped; k++)
                sample_add(t, i, page_va(m->mapped[k]));
        } else {
            for (uint32_t k = 0; k < SAMPLE; k++)
                sample_add(t, i, page_va(m->mapped[rnd(t, m->nmapped)]));
        }
        /* And the pages the batch works on. */
        for (int b = 0; b < m->nbusy; b++)
            for (uint64_t x = m->busy[b].s; x < m->busy[b].e && x < m->busy[b].s + 64; x++)
                if (m->pg[x].kind != K_NONE)
                    sample_add(t, i, page_va((uint32_t)x));
    }
}

static void compare_after(rt *t)
{
    for (size_t i = 0; i < t->nsamp; i++) {
        const struct sample *s = &t->samp[i];
        mproc *m = &t->procs[s->proc];
        gpusim_host_pte_t now;
        gpusim_process_info_t info;
        ASSERT_OK(gpusim_process_info(m->p, &info));
        if (info.state == GPUSIM_PROCESS_DEAD || !s->pte.present)
            continue;
        ASSERT_OK(gpusim_process_translate(m->p, s->va, &now));
        t->translations++;
        if (now.present && now.pfn == s->pte.pfn && (now.writable || !s->pte.writable))
            continue;
        t->changed++;
        if (!logged(m, s->va)) {
            fail_now(t,
                     "process %s: 0x%" PRIx64 " went from frame %" PRIu64 "%s to %s%" PRIu64
                     "%s without an announcement",
                     gpusim_process_name(m->p), s->va, s->pte.pfn,
                     s->pte.writable ? " (writable)" : "", now.present ? "frame " : "nothing ",
                     now.pfn, now.writable ? " (writable)" : "");
            return;
        }
    }
}

/* ---- one batch ------------------------------------------------------------------------------ */

/* Runs one cleanup operation (started by the caller with op_done on ops[0]) to its end. */
static void run_cleanup(rt *t, rop *o, int rc, const char *what)
{
    if (rc) {
        fail_now(t, "cleanup %s refused: %s", what, gpusim_err_name(rc));
        return;
    }
    t->outstanding = 1;
    run_batch(t);
    if (!t->failure[0] && o->status)
        fail_now(t, "cleanup %s: %s", what, gpusim_err_name(o->status));
}

static void cleanup(rt *t)
{
    for (int i = 0; i < t->ntidy && !t->failure[0]; i++) {
        mproc *m = &t->procs[t->tidy_proc[i]];
        rop *o;
        t->nops = 0;
        o = op_add(t, O_MUNMAP, m);
        o->addr = t->tidy[i].s;
        o->len = t->tidy[i].e - t->tidy[i].s;
        if (m->live) {
            run_cleanup(t, o, gpusim_process_munmap(m->p, o->addr, o->len, op_done, o), "munmap");
            apply_unmap(m, o->addr, o->len);
        }
    }
    for (int i = 0; i < t->nreap && !t->failure[0]; i++) {
        mproc *c = &t->procs[t->reap[i]];
        gpusim_process_info_t info;
        rop *o;
        ASSERT_OK(gpusim_process_info(c->p, &info));
        if (info.state != GPUSIM_PROCESS_LIVE)
            continue;
        t->nops = 0;
        o = op_add(t, O_EXIT, c);
        run_cleanup(t, o, gpusim_process_exit(c->p, op_done, o), "exit");
    }
    t->ntidy = t->nreap = 0;
    t->nops = 0;
}

static void batch(rt *t)
{
    int want;
    for (int i = 0; i < t->nprocs; i++) {
        mproc *m = &t->procs[i];
        m->nlog = 0;
        m->nbusy = 0;
        m->exclusive = false;
        m->nmapped = 0;
        for (uint32_t x = 0; m->live && x < WPAGES; x++)
            if (m->pg[x].kind != K_NONE)
                m->mapped[m->nmapped++] = x;
    }
    t->nops = 0;
    t->outstanding = 0;
    t->multi = chance(t, 40);
    want = t->multi ? 2 + (int)rnd(t, 2) : 1;
    for (int tries = 0; t->nops < want && tries < 4 * want && !t->failure[0]; tries++)
        start_one(t, pick_kind(t));
    if (t->nops == 0 || t->failure[0])
        return;
    t->batches++;
    t->concurrent += t->nops > 1;
    sample_before(t);
    run_batch(t);
    host_check(t, "the batch"); /* kernel activity may have run after the last completion */
    for (int i = 0; i < t->nops && !t->failure[0]; i++)
        finish_op(t, &t->ops[i]);
    if (!t->failure[0])
        compare_after(t);
    for (int i = 0; i < t->nops; i++) {
        free(t->ops[i].buf);
        free(t->ops[i].pfns);
        t->ops[i].buf = NULL;
        t->ops[i].pfns = NULL;
    }
    /* Processes the OOM killer took. */
    for (int i = 0; i < t->nprocs; i++) {
        gpusim_process_info_t info;
        if (!t->procs[i].live)
            continue;
        ASSERT_OK(gpusim_process_info(t->procs[i].p, &info));
        if (info.state != GPUSIM_PROCESS_LIVE)
            proc_forget(&t->procs[i]);
    }
    cleanup(t);
    while (!t->failure[0] && live_count(t) < MINPROC)
        proc_new(t);
}

/* ---- a whole run ---------------------------------------------------------------------------- */

typedef struct run_cfg {
    uint64_t seed;
    int batches;
    bool data;
    gpusim_thp_mode_t thp;
    uint64_t movable; /* ZONE_MOVABLE bytes (long-term pins migrate out of it) */
    uint64_t swap;    /* swap bytes */
    bool khugepaged;  /* khugepaged every millisecond (else its default 10 s: never, here) */
} run_cfg;

static uint64_t run(const run_cfg *rc, bool verbose)
{
    rt *t = calloc(1, sizeof *t);
    gpusim_host_config_t cfg;
    uint64_t digest;
    assert_non_null(t);
    t->w = test_world(rc->seed);
    t->min_free = UINT64_MAX;
    t->data = rc->data;
    ASSERT_OK(gpusim_world_rng(t->w, "host_random", &t->rng));
    ASSERT_OK(gpusim_world_rng(t->w, "host_random.mirrors", &t->cbrng));
    gpusim_host_config_init(&cfg);
    cfg.ram_bytes = 32 * MIB;
    cfg.swap_bytes = rc->swap;
    cfg.thp = rc->thp;
    cfg.data_mode = rc->data;
    cfg.movable_bytes = rc->movable;
    if (rc->khugepaged)
        ASSERT_OK(gpusim_host_config_set(&cfg, "khugepaged_sleep", "1ms", false, NULL, 0));
    ASSERT_OK(gpusim_host_new(t->w, &cfg, &t->h));
    for (int f = 0; f < NFILES; f++) {
        uint32_t o;
        ASSERT_OK(gpusim_host_file_new(t->h, FILE_PAGES * PAGE, &t->files[f]));
        o = obj_new(t, FILE_PAGES);
        assert_int_equal(o, (uint32_t)f);
        /* The contents fault.c reads into the page cache (file_fill). */
        for (uint32_t i = 0; t->data && i < FILE_PAGES; i++) {
            t->objs[o].pages[i] = malloc(PAGE);
            assert_non_null(t->objs[o].pages[i]);
            for (uint32_t j = 0; j < PAGE; j++)
                t->objs[o].pages[i][j] = (uint8_t)(t->files[f]->id * 31u + i * 7u + j);
        }
    }
    for (int i = 0; i < MAXPROC; i++)
        proc_new(t);
    for (int b = 0; b < rc->batches && !t->failure[0]; b++)
        batch(t);
    if (t->failure[0]) {
        /* What the failing batch was doing. */
        for (int i = 0; i < t->nops; i++) {
            const rop *o = &t->ops[i];
            print_message("  op %d: %s process %s addr 0x%" PRIx64 " len 0x%" PRIx64
                          " prot %u flags 0x%x advice %d arg 0x%" PRIx64 " npages %" PRIu64
                          ": %s, status %s result 0x%" PRIx64 "\n",
                          i, op_names[o->kind],
                          o->proc >= 0 ? gpusim_process_name(t->procs[o->proc].p) : "-", o->addr,
                          o->len, o->prot, o->flags, o->advice, o->arg, o->npages,
                          o->done ? "done" : "in flight", gpusim_err_name(o->status), o->result);
        }
        fail_msg("seed %" PRIu64 ", batch %" PRIu64 ": %s", rc->seed, t->batches, t->failure);
    }
    digest = t->digest * 31 + gpusim_world_now(t->w);
    if (verbose) {
        uint64_t total = 0;
        for (int k = 0; k < O_COUNT; k++)
            total += t->started[k];
        print_message("seed %" PRIu64 ": %" PRIu64 " ops in %" PRIu64 " batches (%" PRIu64
                      " concurrent), %" PRIu64 " checks, %" PRIu64
                      " translations compared (%" PRIu64 " changed), virtual %.3f s\n",
                      rc->seed, total, t->batches, t->concurrent, t->checks, t->translations,
                      t->changed, (double)gpusim_world_now(t->w) / 1e9);
        {
            /* What the kernel side did meanwhile. */
            static const char *const names[] = {"host.swap.out",
                                                "host.swap.in",
                                                "host.reclaim.reclaimed",
                                                "host.kswapd.wakeups",
                                                "host.direct_reclaim.count",
                                                "host.oom.kills",
                                                "host.thp.fault_alloc",
                                                "host.thp.fault_fallback",
                                                "host.thp.split",
                                                "host.thp.collapse",
                                                "host.migrate.success",
                                                "host.migrate.waits",
                                                "host.faults.cow"};
            char line[512];
            size_t at = 0;
            for (size_t k = 0; k < GPUSIM_ARRAY_SIZE(names); k++) {
                gpusim_stat_info_t si;
                if (gpusim_stats_get(t->w, names[k], &si) == 0)
                    at += (size_t)snprintf(line + at, sizeof line - at, " %s %" PRIu64,
                                           names[k] + 5, si.count);
            }
            print_message("   %s; %" PRIu64 " hogs, lowest free %" PRIu64 " KiB\n", line, t->hogs,
                          t->min_free / 1024);
        }
        for (int k = 0; k < O_COUNT; k++)
            print_message("    %-11s %4" PRIu64 " started, %4" PRIu64 " ok, %4" PRIu64
                          " EFAULT, %4" PRIu64 " ENOMEM, %4" PRIu64 " ESRCH, %4" PRIu64
                          " unavailable\n",
                          op_names[k], t->started[k], t->ok[k], t->efault[k], t->enomem[k],
                          t->esrch[k], t->unavailable[k]);
    }
    /* Teardown: the model, then the world (which frees the host and everything in it). */
    for (int i = 0; i < t->nprocs; i++) {
        mproc *m = &t->procs[i];
        for (int k = 0; k < m->npins; k++)
            free(m->pins[k].pfns);
        for (uint32_t x = 0; x < WPAGES; x++)
            page_clear(&m->pg[x]);
        free(m->pg);
        free(m->mapped);
        free(m->log);
    }
    for (uint32_t o = 0; o < t->nobjs; o++) {
        for (uint32_t i = 0; i < t->objs[o].npages; i++)
            free(t->objs[o].pages[i]);
        free(t->objs[o].pages);
    }
    free(t->objs);
    free(t->samp);
    gpusim_world_free(t->w);
    free(t);
    ASSERT_NO_LEAK();
    return digest;
}

static void test_random_anon_thp(void **state)
{
    run_cfg rc = {1, BATCHES(700), false, GPUSIM_THP_MADVISE, 0, 32 * MIB, false};
    (void)state;
    run(&rc, true);
}

static void test_random_data(void **state)
{
    run_cfg rc = {2, BATCHES(700), true, GPUSIM_THP_MADVISE, 0, 32 * MIB, true};
    (void)state;
    run(&rc, true);
}

static void test_random_thp_always(void **state)
{
    run_cfg rc = {3, BATCHES(700), false, GPUSIM_THP_ALWAYS, 8 * MIB, 8 * MIB, true};
    (void)state;
    run(&rc, true);
}

static void test_random_data_movable(void **state)
{
    run_cfg rc = {4, BATCHES(500), true, GPUSIM_THP_ALWAYS, 8 * MIB, 32 * MIB, false};
    (void)state;
    run(&rc, true);
}

/* The same seed gives the same run: statuses, announcements and virtual time. */
static void test_random_deterministic(void **state)
{
    run_cfg rc = {5, BATCHES(150), true, GPUSIM_THP_MADVISE, 0, 32 * MIB, true};
    (void)state;
    assert_int_equal(run(&rc, false), run(&rc, false));
}

/*
 * The long soak, off by default: GPUSIM_HOST_SOAK=N runs N more seeds (100 onwards) of 1,000
 * batches each, cycling through the four configurations above. `make soak` sets it.
 */
static void test_random_soak(void **state)
{
    const char *env = getenv("GPUSIM_HOST_SOAK");
    long n = env ? strtol(env, NULL, 10) : 0;
    (void)state;
    if (n <= 0)
        skip();
    for (long i = 0; i < n; i++) {
        run_cfg rc = {100 + (uint64_t)i, BATCHES(1000), false, GPUSIM_THP_MADVISE, 0,
                      32 * MIB,          false};
        rc.data = (i & 1) != 0;
        rc.thp = (i & 2) ? GPUSIM_THP_ALWAYS : GPUSIM_THP_MADVISE;
        rc.movable = (i & 4) ? 8 * MIB : 0;
        rc.khugepaged = (i & 8) == 0;
        rc.swap = (i % 3 == 0) ? 8 * MIB : 32 * MIB;
        run(&rc, true);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        GPUSIM_TEST(test_random_anon_thp),      GPUSIM_TEST(test_random_data),
        GPUSIM_TEST(test_random_thp_always),    GPUSIM_TEST(test_random_data_movable),
        GPUSIM_TEST(test_random_deterministic), GPUSIM_TEST(test_random_soak),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
