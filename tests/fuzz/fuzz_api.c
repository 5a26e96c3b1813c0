/*
 * tests/fuzz/fuzz_api.c -- libFuzzer target: a program of public-API calls on one small world.
 *
 * The input is a program. Byte 0 picks the drivers' policy (mod GPUSIM_POLICY_COUNT), byte 1 the
 * world's options (bit 0 THP always, 1 khugepaged, 2 no memlock limit, 3 a non-replayable GPU,
 * 4 data mode, 5 no swap). The world: a host of 16 MiB of RAM and 8 MiB of swap, process "app", a
 * GPU with 64 MiB of VRAM, and a driver of that policy on the app. Then each opcode byte (mod OP_COUNT) is one call,
 * its arguments read from the bytes after it (zeros past the end): host calls (mmap, munmap,
 * mprotect, madvise, mremap, access, fork, exit, pin, unpin, hmm_range_fault, compaction, files),
 * driver calls (new, free, register, unregister, submit, context kill), GPU calls on raw contexts
 * of the fuzzer's own (map, unmap, protect, TLB invalidations, accesses one at a time and in
 * batches, faulting touches, queues with packets written raw or by the encoders, doorbells,
 * evictions and preemptions),
 * fences (new, free, signal, host waits and their cancellation), address traces, runs of the
 * world and checks. Addresses and lengths come mostly from a small window, so calls meet each
 * other's mappings, buffers and registrations, and sometimes from anywhere: unmapped, misaligned,
 * zero, huge, wrapping past the end of the address space.
 *
 * Invalid calls are the point, but only those the API defines: handles are tracked here so that a
 * freed *pointer* (a buffer after its unregistration reported, a queue or context after its free)
 * is never passed, and arrays handed to asynchronous calls stay valid until their callback. Integer
 * ids are fair game after they are freed (fence handles), and so is every call on a killed context,
 * an exited process or a buffer still being registered or unregistered.
 *
 * Checked: every return code and every callback status is 0 or a code of gpusim's error table
 * (never ECORRUPT, which only the checkers return), and EINPROGRESS comes only from the calls that
 * document it; gpusim_host_check, gpusim_gpu_check and gpusim_driver_check pass whenever the
 * program asks and at the end; and once everything is freed (drivers, GPU, host, world), the
 * allocator facade's balance of live bytes is back where it was (no leak, in either allocator
 * build; LeakSanitizer checks the rest); and the world never held more than MEM_LIMIT (memory in
 * proportion to a virtual size rather than to what is used is a bug: see regress/api). Work is bounded: at most MAX_OPS calls, EVENT_BUDGET events
 * in all, small lengths and kernels, so one input runs in milliseconds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpusim.h"
#include "core/alloc.h" /* gpusim__alloc_outstanding(): the leak balance */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MIB  GPUSIM_MIB
#define PAGE UINT64_C(4096)
#define US   GPUSIM_NS_PER_US

#define BASE     UINT64_C(0x7f0000000000) /* the host window: 256 steps of 64 KiB */
#define GPU_BASE UINT64_C(0x100000000)    /* the raw contexts' window */

#define MAX_OPS      256
#define EVENT_BUDGET 20000u      /* events run per input, over every run and the drain */
#define RUN_EVENTS   2000u       /* most events one RUN op may run */
#define MEM_LIMIT    (256 * MIB) /* the world's allocations at their peak */
#define NPROC        6
#define NFILE        2
#define NDRV         3
#define NBUF         8
#define NPIN         4
#define PIN_MAX      64 /* pages per pin or range fault */
#define NFENCE       12
#define NWAITER      4
#define NCTX         2
#define NQUEUE       3
#define NREQ         4
#define NTRACE       4

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            die(#cond, __LINE__, "");                                                              \
    } while (0)

static void die(const char *what, int line, const char *detail)
{
    fprintf(stderr, "fuzz_api: check failed at fuzz_api.c:%d: %s %s\n", line, what, detail);
    abort();
}

/* ---- state ------------------------------------------------------------------------------- */

enum { B_FREE, B_REGISTERING, B_READY, B_FAILED, B_UNREGISTERING };
enum { P_NONE, P_FORKING, P_USABLE };
enum { PIN_IDLE, PIN_PENDING, PIN_HELD };

typedef struct buf_slot {
    int state;
    int drv; /* index into drv */
    gpusim_buffer_t *b;
    uint64_t va, len;
} buf_slot;

typedef struct pin_slot {
    int state;
    int proc;
    uint64_t n; /* pages held */
    uint64_t pfns[PIN_MAX];
} pin_slot;

typedef struct queue_slot {
    gpusim_gpu_queue_t *q;
    int ctx; /* index into ctx */
} queue_slot;

static struct fz {
    /* The program. */
    const uint8_t *d;
    size_t n, i;
    /* The world. */
    gpusim_world_t *w;
    gpusim_host_t *h;
    gpusim_gpu_t *gpu;
    gpusim_policy_t policy;
    unsigned opts;
    uint64_t events_left;
    gpusim_process_t *proc[NPROC];
    int pstate[NPROC];
    gpusim_file_t *file[NFILE];
    gpusim_driver_t *drv[NDRV];
    buf_slot buf[NBUF];
    pin_slot pin[NPIN];
    pin_slot hmm[NPIN];     /* range-fault arrays: the same shape; n unused */
    uint32_t fence[NFENCE]; /* handles ever created (freed ones stay: double frees) */
    int nfence;
    gpusim_gpu_fence_waiter_t waiter[NWAITER];
    gpusim_gpu_ctx_t *ctx[NCTX];
    queue_slot queue[NQUEUE];
    gpusim_gpu_req_t req[NREQ];
    uint32_t trace[NTRACE];
    int ntrace;
    uint64_t host_out; /* our host and registration callbacks outstanding */
} g;

/* ---- reading the program ------------------------------------------------------------------ */

static uint8_t u8(void)
{
    return g.i < g.n ? g.d[g.i++] : 0;
}

static uint64_t uN(unsigned bytes)
{
    uint64_t v = 0;
    for (unsigned k = 0; k < bytes; k++)
        v |= (uint64_t)u8() << (8 * k);
    return v;
}

static unsigned pick(unsigned n)
{
    return u8() % n;
}

/* A host address: mostly page-aligned in the window, sometimes anywhere. */
static uint64_t addr(void)
{
    switch (u8() % 8) {
    case 5:
        return BASE + uN(2); /* misaligned */
    case 6:
        return uN(8);
    case 7:
        return GPUSIM_HOST_VA_END - uN(1) * PAGE; /* at the end: lengths wrap past it */
    default:
        return BASE + (uint64_t)u8() * 16 * PAGE;
    }
}

/* A length: mostly a few pages, sometimes zero, misaligned, huge or wrapping. */
static uint64_t length(void)
{
    switch (u8() % 8) {
    case 5:
        return uN(2);
    case 6:
        return uN(8);
    case 7:
        return UINT64_MAX - uN(1) * PAGE;
    default:
        return (1 + (uint64_t)u8() % 64) * PAGE;
    }
}

/* ---- checks ------------------------------------------------------------------------------ */

static bool known(int rc)
{
    return rc == 0 || (rc < 0 && strcmp(gpusim_err_name(rc), "UNKNOWN") != 0);
}

/* GPUSIM_FUZZ_TRACE set in the environment: every call and status is printed (to debug an input). */
static bool tracing(void)
{
    static int on = -1;
    if (on < 0)
        on = getenv("GPUSIM_FUZZ_TRACE") != NULL;
    return on;
}

/* A call's return code: known, never ECORRUPT, EINPROGRESS only where documented. */
static int rc_check(int rc, bool may_progress, int line, const char *call)
{
    char detail[64];
    snprintf(detail, sizeof detail, "(rc %d %s)", rc, gpusim_err_name(rc));
    if (tracing())
        fprintf(stderr, "%12llu ns  %-60.60s %s\n", (unsigned long long)gpusim_world_now(g.w), call,
                gpusim_err_name(rc));
    if (!known(rc) || rc == GPUSIM_ECORRUPT || (rc == GPUSIM_EINPROGRESS && !may_progress))
        die("return code", line, detail);
    return rc;
}
#define RC(call)  rc_check((call), false, __LINE__, #call)
#define RCP(call) rc_check((call), true, __LINE__, #call)

static void status_check(int status, int line)
{
    char detail[64];
    snprintf(detail, sizeof detail, "(status %d %s)", status, gpusim_err_name(status));
    if (tracing())
        fprintf(stderr, "%12llu ns  callback at fuzz_api.c:%-40d %s\n",
                (unsigned long long)gpusim_world_now(g.w), line, gpusim_err_name(status));
    if (!known(status) || status == GPUSIM_ECORRUPT || status == GPUSIM_EINPROGRESS)
        die("callback status", line, detail);
}

static void checkers(void)
{
    char msg[512];
    if (gpusim_host_check(g.h, msg, sizeof msg) != 0)
        die("gpusim_host_check", __LINE__, msg);
    if (gpusim_gpu_check(g.gpu, msg, sizeof msg) != 0)
        die("gpusim_gpu_check", __LINE__, msg);
    for (int i = 0; i < NDRV; i++)
        if (g.drv[i] && gpusim_driver_check(g.drv[i], msg, sizeof msg) != 0)
            die("gpusim_driver_check", __LINE__, msg);
}

/* ---- callbacks --------------------------------------------------------------------------- */

static void host_cb(void *data, int status, uint64_t result)
{
    (void)data;
    (void)result;
    status_check(status, __LINE__);
    g.host_out--;
}

static void fork_cb(void *data, int status, uint64_t result)
{
    int *pstate = data;
    (void)result;
    status_check(status, __LINE__);
    g.host_out--;
    *pstate = P_USABLE; /* even a failed fork's child is a valid (dead) process */
}

static void pin_cb(void *data, int status, uint64_t result)
{
    pin_slot *s = data;
    status_check(status, __LINE__);
    g.host_out--;
    s->state = status == 0 && result > 0 ? PIN_HELD : PIN_IDLE;
    s->n = status == 0 ? result : 0;
}

static void hmm_cb(void *data, int status, uint64_t result)
{
    pin_slot *s = data;
    (void)result;
    status_check(status, __LINE__);
    g.host_out--;
    s->state = PIN_IDLE;
}

static void reg_cb(void *data, int status, uint64_t result)
{
    buf_slot *s = data;
    (void)result;
    status_check(status, __LINE__);
    g.host_out--;
    CHECK(s->state == B_REGISTERING);
    s->state = status == 0 ? B_READY : B_FAILED;
}

static void unreg_cb(void *data, int status, uint64_t result)
{
    buf_slot *s = data;
    (void)result;
    CHECK(status == 0);
    g.host_out--;
    CHECK(s->state == B_UNREGISTERING);
    s->state = B_FREE;
    s->b = NULL;
}

static void job_cb(void *data, int status, uint64_t id)
{
    (void)data;
    (void)id;
    status_check(status, __LINE__);
}

static void ctx_cb(void *data, int status)
{
    (void)data;
    status_check(status, __LINE__);
}

static void fence_cb(gpusim_gpu_fence_waiter_t *waiter, int status)
{
    (void)waiter;
    status_check(status, __LINE__);
}

static void touch_cb(gpusim_gpu_req_t *req, int status, const gpusim_gpu_access_t *a)
{
    (void)req;
    status_check(status, __LINE__);
    CHECK(status == 0 ? a != NULL : a == NULL);
}

/* ---- picking handles ---------------------------------------------------------------------- */

/* A process that may be passed (created, or a forked child whose fork reported); NULL if none. */
static gpusim_process_t *proc_pick(int *ix)
{
    int k = (int)pick(NPROC);
    for (int t = 0; t < NPROC; t++) {
        int j = (k + t) % NPROC;
        if (g.pstate[j] == P_USABLE) {
            if (ix)
                *ix = j;
            return g.proc[j];
        }
    }
    return NULL;
}

static int free_proc_slot(void)
{
    for (int i = 0; i < NPROC; i++)
        if (g.pstate[i] == P_NONE)
            return i;
    return -1;
}

static int drv_pick(void)
{
    int k = (int)pick(NDRV);
    for (int t = 0; t < NDRV; t++)
        if (g.drv[(k + t) % NDRV])
            return (k + t) % NDRV;
    return -1;
}

/* A buffer slot whose handle is valid (anything but B_FREE), or -1. */
static int buf_pick(void)
{
    int k = (int)pick(NBUF);
    for (int t = 0; t < NBUF; t++)
        if (g.buf[(k + t) % NBUF].state != B_FREE)
            return (k + t) % NBUF;
    return -1;
}

static uint32_t fence_pick(void)
{
    unsigned s = u8();
    if (g.nfence == 0 || s % 8 == 7)
        return (uint32_t)uN(1); /* any id, mostly unknown */
    return g.fence[s % (unsigned)g.nfence];
}

static int ctx_pick(void)
{
    int k = (int)pick(NCTX);
    for (int t = 0; t < NCTX; t++)
        if (g.ctx[(k + t) % NCTX])
            return (k + t) % NCTX;
    return -1;
}

static int queue_pick(void)
{
    int k = (int)pick(NQUEUE);
    for (int t = 0; t < NQUEUE; t++)
        if (g.queue[(k + t) % NQUEUE].q)
            return (k + t) % NQUEUE;
    return -1;
}

/* ---- running ----------------------------------------------------------------------------- */

/* Runs the events up to now + delay, at most `max` of them, within the input's budget. */
static void run_for(gpusim_time_t delay, uint64_t max)
{
    gpusim_time_t now = gpusim_world_now(g.w);
    gpusim_time_t until = delay > GPUSIM_TIME_MAX - now ? GPUSIM_TIME_MAX : now + delay;
    while (max > 0 && g.events_left > 0 && gpusim_world_pending(g.w) > 0 &&
           gpusim_world_next_time(g.w) <= until) {
        CHECK(gpusim_world_run_events(g.w, 1) == 1);
        max--;
        g.events_left--;
    }
    if (until != GPUSIM_TIME_MAX && gpusim_world_next_time(g.w) > until)
        CHECK(gpusim_world_run_until(g.w, until) == 0);
}

/* ---- host operations ---------------------------------------------------------------------- */

static void op_mmap(void)
{
    static const unsigned flags[8] = {
        GPUSIM_MAP_PRIVATE | GPUSIM_MAP_FIXED,
        GPUSIM_MAP_PRIVATE | GPUSIM_MAP_FIXED | GPUSIM_MAP_POPULATE,
        GPUSIM_MAP_SHARED | GPUSIM_MAP_FIXED,
        GPUSIM_MAP_PRIVATE | GPUSIM_MAP_FIXED_NOREPLACE,
        GPUSIM_MAP_PRIVATE,
        GPUSIM_MAP_SHARED | GPUSIM_MAP_POPULATE,
        GPUSIM_MAP_PRIVATE | GPUSIM_MAP_FIXED,
        0,
    };
    gpusim_process_t *p = proc_pick(NULL);
    uint64_t a = addr(), len = length();
    unsigned prot = u8() & 7, fl = u8();
    unsigned flags_v = fl & 0x80 ? fl & 0x3f : flags[fl % 8];
    gpusim_file_t *f = NULL;
    uint64_t off = 0;
    if (fl & 0x40) {
        f = g.file[pick(NFILE)];
        off = (uint64_t)u8() * PAGE;
    }
    if (p && RC(gpusim_process_mmap(p, a, len, prot, flags_v, f, off, host_cb, NULL)) == 0)
        g.host_out++;
}

static void op_munmap(void)
{
    gpusim_process_t *p = proc_pick(NULL);
    uint64_t a = addr(), len = length();
    if (p && RC(gpusim_process_munmap(p, a, len, host_cb, NULL)) == 0)
        g.host_out++;
}

static void op_mprotect(void)
{
    gpusim_process_t *p = proc_pick(NULL);
    uint64_t a = addr(), len = length();
    unsigned prot = u8() % 9;
    if (p && RC(gpusim_process_mprotect(p, a, len, prot, host_cb, NULL)) == 0)
        g.host_out++;
}

static void op_madvise(void)
{
    gpusim_process_t *p = proc_pick(NULL);
    uint64_t a = addr(), len = length();
    gpusim_madvise_t adv = (gpusim_madvise_t)(u8() % 6);
    if (p && RC(gpusim_process_madvise(p, a, len, adv, host_cb, NULL)) == 0)
        g.host_out++;
}

static void op_mremap(void)
{
    gpusim_process_t *p = proc_pick(NULL);
    uint64_t a = addr(), len = length(), nlen = length();
    unsigned fl = u8() % 4;
    uint64_t na = addr();
    if (p && RC(gpusim_process_mremap(p, a, len, nlen, fl, na, host_cb, NULL)) == 0)
        g.host_out++;
}

static void op_access(void)
{
    gpusim_process_t *p = proc_pick(NULL);
    uint64_t a = addr(), len = length();
    gpusim_access_t kind = (gpusim_access_t)(u8() % 3);
    /* Longer accesses only cost time; wrapping ones must still be refused, so keep those. */
    if (len > 256 * PAGE && len < UINT64_MAX / 2)
        len = 256 * PAGE;
    if (p && RC(gpusim_process_access(p, a, len, kind, NULL, host_cb, NULL)) == 0)
        g.host_out++;
}

static void op_fork(void)
{
    gpusim_process_t *p = proc_pick(NULL);
    gpusim_process_config_t pc;
    int slot = free_proc_slot();
    bool no_cfg = u8() % 8 == 7;
    if (!p || slot < 0)
        return;
    gpusim_process_config_init(&pc); /* named "p<number>" */
    if (RC(gpusim_process_fork(p, no_cfg ? NULL : &pc, &g.proc[slot], fork_cb, &g.pstate[slot])) ==
        0) {
        g.pstate[slot] = P_FORKING;
        g.host_out++;
    }
}

static void op_exit(void)
{
    gpusim_process_t *p = proc_pick(NULL);
    if (p && RC(gpusim_process_exit(p, host_cb, NULL)) == 0)
        g.host_out++;
}

static void op_process_new(void)
{
    gpusim_process_config_t pc;
    int slot = free_proc_slot();
    if (slot < 0)
        return;
    gpusim_process_config_init(&pc);
    pc.memlock_limit = u8() & 1 ? UINT64_MAX : 2 * MIB;
    pc.oom_unkillable = u8() & 1;
    if (RC(gpusim_process_new(g.h, &pc, &g.proc[slot])) == 0)
        g.pstate[slot] = P_USABLE;
}

static void op_pin(void)
{
    int pix = 0;
    gpusim_process_t *p = proc_pick(&pix);
    pin_slot *s = &g.pin[pick(NPIN)];
    uint64_t a = addr();
    uint64_t n = u8() % (PIN_MAX + 1);
    unsigned fl = u8() % 5;
    if (!p || s->state != PIN_IDLE)
        return;
    if (RC(gpusim_process_pin(p, a, n, fl, s->pfns, pin_cb, s)) == 0) {
        s->state = PIN_PENDING;
        s->proc = pix;
        g.host_out++;
    }
}

static void op_unpin(void)
{
    pin_slot *s = &g.pin[pick(NPIN)];
    unsigned how = u8();
    gpusim_time_t cost;
    if (how % 4 == 3) {
        /* Frames no pin can hold (past any host's memory), so never another user's pin. */
        uint64_t bogus[2] = {UINT64_C(1) << 40, UINT64_MAX};
        gpusim_process_t *p = proc_pick(NULL);
        if (p)
            CHECK(RC(gpusim_process_unpin(p, bogus, 1 + how % 2, false, &cost)) != 0);
        return;
    }
    if (s->state != PIN_HELD)
        return;
    CHECK(RC(gpusim_process_unpin(g.proc[s->proc], s->pfns, s->n, how & 4, &cost)) == 0);
    s->state = PIN_IDLE;
}

static void op_range_fault(void)
{
    gpusim_process_t *p = proc_pick(NULL);
    pin_slot *s = &g.hmm[pick(NPIN)];
    uint64_t a = addr();
    uint64_t n = u8() % (PIN_MAX + 1);
    uint64_t dflt = u8() & 3, mask = u8() & 3;
    if (!p || s->state != PIN_IDLE)
        return;
    for (unsigned i = 0; i < PIN_MAX; i++)
        s->pfns[i] = u8() & 3;
    if (RC(gpusim_process_range_fault(p, NULL, 0, a, n, dflt, mask, s->pfns, hmm_cb, s)) == 0) {
        s->state = PIN_PENDING;
        g.host_out++;
    }
}

static void op_compact(void)
{
    unsigned node = u8() % 3 == 2 ? 1 : 0;
    if (RC(gpusim_host_compact(g.h, node, host_cb, NULL)) == 0)
        g.host_out++;
}

static void op_file_new(void)
{
    int slot = (int)pick(NFILE);
    uint64_t sz = u8() & 0x80 ? uN(8) : (uint64_t)(u8() % 64) * PAGE;
    if (g.file[slot] == NULL)
        (void)RC(gpusim_host_file_new(g.h, sz, &g.file[slot]));
}

/* ---- driver operations -------------------------------------------------------------------- */

static void op_driver_new(void)
{
    gpusim_process_t *p = proc_pick(NULL);
    gpusim_driver_config_t cfg;
    int slot = -1;
    for (int i = 0; i < NDRV && slot < 0; i++)
        if (!g.drv[i])
            slot = i;
    if (!p || slot < 0)
        return;
    gpusim_driver_config_init(&cfg, g.policy);
    if (RC(gpusim_driver_new(g.gpu, p, &cfg, &g.drv[slot])) != 0)
        g.drv[slot] = NULL;
}

/* Frees driver i; on success its buffers' handles are gone. */
static int driver_free(int i)
{
    int rc = RC(gpusim_driver_free(g.drv[i]));
    if (rc != 0) {
        CHECK(rc == GPUSIM_EBUSY);
        return rc;
    }
    g.drv[i] = NULL;
    for (int b = 0; b < NBUF; b++)
        if (g.buf[b].state != B_FREE && g.buf[b].drv == i) {
            /* A report still pending never comes: the driver dropped it with the buffer. */
            if (g.buf[b].state == B_REGISTERING || g.buf[b].state == B_UNREGISTERING)
                g.host_out--;
            g.buf[b].state = B_FREE;
            g.buf[b].b = NULL;
        }
    return 0;
}

static void op_driver_free(void)
{
    int d = drv_pick();
    if (d >= 0)
        (void)driver_free(d);
}

static void op_register(void)
{
    int d = drv_pick();
    buf_slot *s = &g.buf[pick(NBUF)];
    uint64_t a = addr(), len = length();
    unsigned fl = u8() % 3;
    if (d < 0 || s->state != B_FREE)
        return;
    /* KNOWN (tests/fuzz/known/): a registration allocates 12 bytes of checker shadow per page of
     * its length, so a terabyte buffer costs gigabytes at once. Clamped until that is sparse. */
    if (len > 4 * GPUSIM_GIB && len < GPUSIM_GPU_VA_END)
        len = 4 * GPUSIM_GIB;
    if (RC(gpusim_driver_register(g.drv[d], a, len, fl, &s->b, reg_cb, s)) == 0) {
        s->state = B_REGISTERING;
        s->drv = d;
        s->va = a;
        s->len = len;
        g.host_out++;
    }
}

static void op_unregister(void)
{
    int b = buf_pick();
    if (b < 0)
        return;
    buf_slot *s = &g.buf[b];
    int rc = RC(gpusim_driver_unregister(s->b, unreg_cb, s));
    if (rc == 0) {
        CHECK(s->state == B_READY || s->state == B_FAILED);
        s->state = B_UNREGISTERING;
        g.host_out++;
    } else {
        CHECK(rc == GPUSIM_EBUSY); /* still registering, or being unregistered: a double free */
    }
}

/* A kernel over [va, va + len): valid for its pattern unless `raw`, then any field values. */
static void kernel_desc(gpusim_kernel_desc_t *k, uint64_t va, uint64_t len, bool raw)
{
    memset(k, 0, sizeof *k);
    if (raw) {
        k->pattern = (gpusim_access_pattern_t)u8();
        k->buffer_va = uN(8);
        k->buffer_bytes = uN(4);
        k->passes = (uint32_t)uN(1);
        k->touches_per_pass = uN(1);
        k->bytes_per_touch = (uint32_t)uN(2);
        k->compute_ns_per_touch = (uint32_t)uN(1);
        k->write_pct = u8();
        k->hot_set_pct = u8();
        k->hot_access_pct = u8();
        k->stride = uN(2);
        k->seed = uN(1);
        k->trace_id = (uint32_t)uN(1);
        k->waves = (uint32_t)uN(1);
        return;
    }
    k->pattern = (gpusim_access_pattern_t)(u8() % 7);
    k->buffer_va = va;
    k->buffer_bytes = len ? len : PAGE;
    k->passes = 1 + u8() % 2;
    k->touches_per_pass = 1 + u8() % 32;
    k->bytes_per_touch = 1 + (uint32_t)(uN(2) % 4096);
    if (k->bytes_per_touch > k->buffer_bytes)
        k->bytes_per_touch = (uint32_t)k->buffer_bytes;
    k->compute_ns_per_touch = u8();
    k->write_pct = u8() % 101;
    k->waves = 1 + u8() % 4;
    switch (k->pattern) {
    case GPUSIM_PATTERN_STRIDED:
    case GPUSIM_PATTERN_STENCIL:
        k->stride = 1 + uN(2) % k->buffer_bytes;
        break;
    case GPUSIM_PATTERN_HOTCOLD:
        k->hot_set_pct = 1 + u8() % 100;
        k->hot_access_pct = u8() % 101;
        k->seed = u8();
        break;
    case GPUSIM_PATTERN_RANDOM:
    case GPUSIM_PATTERN_CHASE:
        k->seed = u8();
        break;
    case GPUSIM_PATTERN_TRACE:
        k->trace_id = g.ntrace && u8() % 4 ? g.trace[u8() % (unsigned)g.ntrace] : u8();
        break;
    default:
        break;
    }
}

static void op_submit(void)
{
    int d = drv_pick();
    gpusim_job_desc_t job;
    unsigned nb = u8() % 4, how = u8();
    uint64_t va = BASE, len = PAGE;
    if (d < 0)
        return;
    memset(&job, 0, sizeof job);
    for (unsigned i = 0; i < nb; i++) {
        int b = buf_pick();
        if (b >= 0)
            job.buffers[job.nbuffers++] = g.buf[b].b;
    }
    /* The range: inside the first named buffer, from a page offset, at most 64 pages. */
    for (int b = 0; b < NBUF; b++)
        if (job.nbuffers && g.buf[b].state != B_FREE && g.buf[b].b == job.buffers[0]) {
            uint64_t off = (uint64_t)u8() * PAGE;
            va = g.buf[b].va;
            len = g.buf[b].len;
            if (off < len && len < GPUSIM_GPU_VA_END) {
                va += off;
                len -= off;
            }
            if (len > 64 * PAGE)
                len = 64 * PAGE;
        }
    if (how & 1) {
        job.kind = GPUSIM_JOB_COPY;
        job.copy_src = va;
        job.copy_dst = how & 2 ? va + len / 2 : uN(8);
        job.copy_bytes = how & 4 ? len / 2 : uN(3);
    } else {
        job.kind = (how & 0x80) ? (gpusim_job_kind_t)u8() : GPUSIM_JOB_DISPATCH;
        kernel_desc(&job.kernel, va, len, (how & 0x70) == 0x70);
    }
    (void)RC(gpusim_driver_submit(g.drv[d], &job, job_cb, NULL));
}

static void op_run(void)
{
    run_for(uN(2) * US / 4, RUN_EVENTS);
}

static void op_ctx_kill(void)
{
    unsigned how = u8();
    int err = how & 0x80 ? (int)(int8_t)u8() : GPUSIM_ECTXKILLED;
    gpusim_gpu_ctx_t *c = NULL;
    if (how & 1) {
        int d = drv_pick();
        if (d >= 0)
            c = gpusim_driver_ctx(g.drv[d]);
    } else {
        int k = ctx_pick();
        if (k >= 0)
            c = g.ctx[k];
    }
    if (c)
        (void)RC(gpusim_gpu_ctx_kill(c, err));
}

/* ---- fences ------------------------------------------------------------------------------- */

static void op_fence_new(void)
{
    uint32_t h;
    uint64_t init = u8() & 1 ? uN(8) : u8();
    if (g.nfence < NFENCE && RC(gpusim_gpu_fence_new(g.gpu, init, &h)) == 0)
        g.fence[g.nfence++] = h;
}

static void op_fence_free(void)
{
    (void)RC(gpusim_gpu_fence_free(g.gpu, fence_pick()));
}

static void op_fence_signal(void)
{
    uint32_t h = fence_pick();
    uint64_t v = u8() & 1 ? uN(8) : u8();
    uint64_t cur;
    int err;
    (void)RC(gpusim_gpu_fence_value(g.gpu, h, &cur, &err));
    (void)RC(gpusim_gpu_fence_signal(g.gpu, h, v));
}

static void op_fence_wait(void)
{
    gpusim_gpu_fence_waiter_t *wt = &g.waiter[pick(NWAITER)];
    uint32_t h = fence_pick();
    uint64_t v = u8();
    unsigned t = u8() % 4;
    gpusim_time_t timeout = t == 0 ? 0 : t == 1 ? GPUSIM_TIME_MAX : (gpusim_time_t)u8() * US;
    (void)RCP(gpusim_gpu_fence_wait(g.gpu, h, v, wt, fence_cb, NULL, timeout));
}

static void op_fence_cancel(void)
{
    (void)RC(gpusim_gpu_fence_waiter_cancel(&g.waiter[pick(NWAITER)]));
}

/* ---- raw GPU contexts and queues ---------------------------------------------------------- */

static void op_ctx_new(void)
{
    int k = (int)pick(NCTX);
    if (!g.ctx[k] && RC(gpusim_gpu_ctx_new(g.gpu, NULL, &g.ctx[k])) != 0)
        g.ctx[k] = NULL;
}

static void op_ctx_free(void)
{
    int k = ctx_pick();
    if (k < 0)
        return;
    gpusim_gpu_ctx_free(g.ctx[k]);
    g.ctx[k] = NULL;
    for (int q = 0; q < NQUEUE; q++)
        if (g.queue[q].q && g.queue[q].ctx == k)
            g.queue[q].q = NULL; /* freed with its context */
}

/*
 * After a successful change of a raw context's page table, invalidate the range, as a driver must:
 * the device leaves that to whoever changes the table, and gpusim_gpu_check reports a TLB entry
 * that disagrees with its table as that caller's bug.
 */
static void gpu_changed(int k, int rc, uint64_t va, uint64_t len)
{
    gpusim_time_t cost;
    if (rc == 0 && len > 0)
        CHECK(RC(gpusim_gpu_tlb_invalidate(g.ctx[k], va, len, &cost)) == 0);
}

static void op_gpu_map(void)
{
    int k = ctx_pick();
    uint64_t frames[16];
    uint64_t va = u8() & 0x80 ? uN(8) : GPU_BASE + (uint64_t)u8() * PAGE;
    uint64_t n = u8() % 17;
    unsigned flags = u8() % 9;
    uint64_t first = u8() & 1 ? uN(6) : u8();
    gpusim_time_t cost;
    for (uint64_t i = 0; i < 16; i++)
        frames[i] = first + i;
    if (k >= 0)
        gpu_changed(k, RC(gpusim_gpu_map(g.ctx[k], va, n * PAGE, frames, flags, &cost)), va,
                    n * PAGE);
}

static void op_gpu_edit(void)
{
    int k = ctx_pick();
    unsigned how = u8() % 5;
    uint64_t va = u8() & 0x80 ? uN(8) : GPU_BASE + (uint64_t)u8() * PAGE;
    uint64_t len = u8() & 0x80 ? uN(8) : (uint64_t)(u8() % 32) * PAGE;
    unsigned perms = u8() % 5;
    gpusim_time_t cost;
    if (k < 0)
        return;
    switch (how) {
    case 0:
        gpu_changed(k, RC(gpusim_gpu_unmap(g.ctx[k], va, len, &cost)), va, len);
        break;
    case 1:
        gpu_changed(k, RC(gpusim_gpu_protect(g.ctx[k], va, len, perms, &cost)), va, len);
        break;
    case 2:
        (void)RC(gpusim_gpu_tlb_invalidate(g.ctx[k], va, len, &cost));
        break;
    case 3:
        (void)RC(gpusim_gpu_tlb_invalidate_ctx(g.ctx[k], &cost));
        break;
    default:
        (void)RC(gpusim_gpu_tlb_invalidate_all(g.gpu, &cost));
        break;
    }
}

static void op_gpu_access(void)
{
    int k = ctx_pick();
    unsigned engine = u8() % 3, how = u8();
    uint64_t va = how & 0x80 ? uN(8) : GPU_BASE + (uint64_t)u8() * PAGE + u8();
    gpusim_gpu_access_t a;
    gpusim_gpu_pte_t pte;
    if (k < 0)
        return;
    (void)RC(gpusim_gpu_translate(g.ctx[k], va, &pte));
    if (how & 1) {
        gpusim_gpu_req_t *r = &g.req[how / 2 % NREQ];
        (void)RCP(gpusim_gpu_touch(g.ctx[k], engine, va, how & 2, r, touch_cb, NULL, &a));
    } else if (how & 4) {
        /* A batch of 0-7 accesses from va on, a page or 17 pages apart (past the VA's end when va
         * is near it). Its arguments come from bytes already read, so the inputs of the corpus
         * keep their layout. */
        uint64_t vas[8];
        gpusim_gpu_access_t out[8];
        size_t n = (how >> 3) & 7, done = SIZE_MAX;
        for (size_t j = 0; j < n; j++)
            vas[j] = va + j * (how & 0x40 ? 17 * PAGE : PAGE);
        int rc = gpusim_gpu_access_batch(g.ctx[k], engine, n ? vas : NULL, n, how & 2, out, &done);
        CHECK(rc == 0 || rc == GPUSIM_EGPUFAULT || rc == GPUSIM_EINVAL || rc == GPUSIM_EFAULT);
        CHECK(rc == GPUSIM_EINVAL ? done == SIZE_MAX : rc == 0 ? done == n : done < n);
    } else {
        int rc = gpusim_gpu_access(g.ctx[k], engine, va, how & 2, &a);
        CHECK(rc == 0 || rc == GPUSIM_EGPUFAULT || rc == GPUSIM_EINVAL || rc == GPUSIM_EFAULT);
    }
}

static void op_queue_new(void)
{
    int k = ctx_pick(), q = (int)pick(NQUEUE);
    uint32_t ring = u8() & 0x80 ? (uint32_t)uN(4) : UINT32_C(1) << (u8() % 26);
    if (k < 0 || g.queue[q].q)
        return;
    if (RC(gpusim_gpu_queue_new(g.ctx[k], ring, &g.queue[q].q)) == 0)
        g.queue[q].ctx = k;
    else
        g.queue[q].q = NULL;
}

static void op_queue_free(void)
{
    int q = queue_pick();
    if (q < 0)
        return;
    gpusim_gpu_queue_free(g.queue[q].q);
    g.queue[q].q = NULL;
}

/* Writes one packet: raw bytes of the program, or one made by an encoder. */
static void op_queue_write(void)
{
    int q = queue_pick();
    uint8_t pkt[GPUSIM_PKT_DISPATCH_BYTES + 64];
    gpusim_kernel_desc_t k;
    unsigned how = u8() % 8;
    uint64_t va = GPU_BASE + (uint64_t)u8() * PAGE;
    int n = 0;
    switch (how) {
    case 0: {
        size_t len = u8() % sizeof pkt;
        for (size_t i = 0; i < len; i++)
            pkt[i] = u8();
        n = (int)len;
        break;
    }
    case 1:
        n = gpusim_packet_nop(pkt, sizeof pkt, 4 * (1 + u8() % 8));
        break;
    case 2:
        n = gpusim_packet_copy(pkt, sizeof pkt, va + (uint64_t)u8() * PAGE, va, 1 + uN(2));
        break;
    case 3:
        kernel_desc(&k, va, (1 + (uint64_t)u8() % 16) * PAGE, false);
        n = gpusim_packet_dispatch(pkt, sizeof pkt, &k);
        break;
    case 4:
        n = gpusim_packet_fence_signal(pkt, sizeof pkt, fence_pick(), u8());
        break;
    case 5:
        n = gpusim_packet_fence_wait(pkt, sizeof pkt, fence_pick(), u8());
        break;
    case 6:
        n = gpusim_packet_tlb_invalidate(pkt, sizeof pkt, (gpusim_tlb_scope_t)(u8() % 2), va,
                                         (uint64_t)(u8() % 4) * PAGE);
        break;
    default:
        break;
    }
    CHECK(n >= 0 || n == GPUSIM_EINVAL); /* encoders: bytes, or EINVAL (the buffer is large) */
    if (q >= 0 && n >= 0)
        (void)RC(gpusim_gpu_queue_write(g.queue[q].q, pkt, (size_t)n));
}

static void op_queue_ctl(void)
{
    int q = queue_pick();
    unsigned how = u8() % 4;
    gpusim_gpu_queue_info_t info;
    if (q < 0)
        return;
    switch (how) {
    case 0:
        (void)RC(gpusim_gpu_queue_doorbell(g.queue[q].q));
        break;
    case 1:
        (void)RC(gpusim_gpu_queue_preempt(g.queue[q].q, ctx_cb, NULL));
        break;
    case 2:
        (void)RC(gpusim_gpu_queue_resume(g.queue[q].q, ctx_cb, NULL));
        break;
    default:
        CHECK(RC(gpusim_gpu_queue_info(g.queue[q].q, &info)) == 0);
        CHECK(info.rptr <= info.wptr && info.doorbell <= info.wptr);
        CHECK((info.state == GPUSIM_GPU_QUEUE_ERROR) == (info.error.code != 0));
        break;
    }
}

static void op_evict(void)
{
    int k = ctx_pick();
    if (k < 0)
        return;
    if (u8() & 1)
        (void)RC(gpusim_gpu_ctx_evict(g.ctx[k], ctx_cb, NULL));
    else
        (void)RC(gpusim_gpu_ctx_restore(g.ctx[k], ctx_cb, NULL));
}

static void op_trace_load(void)
{
    char text[64], msg[80];
    size_t len = u8() % sizeof text;
    uint32_t id;
    for (size_t i = 0; i < len; i++)
        text[i] = (char)u8();
    if (RC(gpusim_gpu_trace_load(g.gpu, text, len, &id, msg, sizeof msg)) == 0 && g.ntrace < NTRACE)
        g.trace[g.ntrace++] = id;
}

static void op_info(void)
{
    int d = drv_pick(), b = buf_pick();
    gpusim_process_t *p = proc_pick(NULL);
    gpusim_driver_info_t di;
    gpusim_violation_t v[GPUSIM_DRIVER_VIOLATIONS_KEPT];
    gpusim_process_info_t pi;
    gpusim_host_meminfo_t mi;
    gpusim_host_pte_t pte;
    size_t n;
    uint64_t bva, blen;
    if (d >= 0) {
        CHECK(RC(gpusim_driver_info(g.drv[d], &di)) == 0);
        CHECK(RC(gpusim_driver_violations(g.drv[d], v, GPUSIM_DRIVER_VIOLATIONS_KEPT, &n)) == 0);
        CHECK(di.jobs_completed + di.jobs_failed <= di.jobs_submitted);
    }
    if (p) {
        CHECK(RC(gpusim_process_info(p, &pi)) == 0);
        (void)RC(gpusim_process_translate(p, addr(), &pte));
    }
    if (b >= 0)
        CHECK(RC(gpusim_buffer_range(g.buf[b].b, &bva, &blen)) == 0);
    CHECK(RC(gpusim_host_meminfo(g.h, &mi)) == 0);
    CHECK(mi.free <= mi.total);
}

typedef void (*op_fn)(void);
static const op_fn ops[] = {
    op_mmap,         op_mmap,        op_munmap,      op_mprotect,   op_madvise,      op_mremap,
    op_access,       op_access,      op_fork,        op_exit,       op_process_new,  op_pin,
    op_unpin,        op_range_fault, op_compact,     op_file_new,   op_driver_new,   op_driver_free,
    op_register,     op_register,    op_unregister,  op_submit,     op_submit,       op_run,
    op_run,          op_ctx_kill,    op_fence_new,   op_fence_free, op_fence_signal, op_fence_wait,
    op_fence_cancel, op_ctx_new,     op_ctx_free,    op_gpu_map,    op_gpu_edit,     op_gpu_access,
    op_queue_new,    op_queue_free,  op_queue_write, op_queue_ctl,  op_evict,        op_trace_load,
    op_info,         checkers,
};
#define OP_COUNT (sizeof ops / sizeof ops[0])

/* ---- the world ---------------------------------------------------------------------------- */

static void world_new(void)
{
    gpusim_host_config_t hc;
    gpusim_gpu_config_t gc;
    gpusim_process_config_t pc;
    gpusim_driver_config_t dc;

    CHECK(gpusim_world_new(NULL, &g.w) == 0);
    gpusim_host_config_init(&hc);
    hc.ram_bytes = 16 * MIB;
    hc.swap_bytes = g.opts & 32 ? 0 : 8 * MIB;
    hc.thp = g.opts & 1 ? GPUSIM_THP_ALWAYS : GPUSIM_THP_MADVISE;
    hc.khugepaged = (g.opts & 2) != 0;
    hc.data_mode = (g.opts & 16) != 0;
    CHECK(gpusim_host_new(g.w, &hc, &g.h) == 0);
    gpusim_gpu_config_init(&gc);
    gc.replayable = (g.opts & 8) == 0;
    /* gpusim_gpu_check is O(VRAM): 80 GiB would cost more than the rest of an input. Small VRAM
     * also lets page tables run out of it. */
    CHECK(gpusim_gpu_config_set(&gc, "vram_size", "64MiB", true, NULL, 0) == 0);
    CHECK(gpusim_gpu_new(g.w, &gc, &g.gpu) == 0);
    gpusim_process_config_init(&pc);
    pc.name = "app";
    pc.memlock_limit = g.opts & 4 ? UINT64_MAX : 8 * MIB;
    CHECK(gpusim_process_new(g.h, &pc, &g.proc[0]) == 0);
    g.pstate[0] = P_USABLE;
    gpusim_driver_config_init(&dc, g.policy);
    CHECK(gpusim_driver_new(g.gpu, g.proc[0], &dc, &g.drv[0]) == 0);
    for (int i = 0; i < NWAITER; i++)
        gpusim_gpu_fence_waiter_init(&g.waiter[i]);
    for (int i = 0; i < NREQ; i++)
        gpusim_gpu_req_init(&g.req[i]);
}

/* Lets work in flight finish (within the budget), checks, and frees everything. */
static void world_end(void)
{
    bool drivers_left = false;
    gpusim_stat_info_t mem;
    run_for(GPUSIM_TIME_MAX, g.events_left);
    checkers();
    /* The simulator's own memory follows what the world uses, not the virtual sizes it was given:
     * a 1 TiB file or a terabyte shared mapping in a 16 MiB host must not cost gigabytes. */
    CHECK(gpusim_stats_get(g.w, "alloc.bytes", &mem) == 0);
    if (mem.peak > (int64_t)MEM_LIMIT)
        die("memory", __LINE__, "(the world allocated more than MEM_LIMIT at its peak)");
    for (int i = 0; i < NDRV; i++) {
        for (int tries = 0; g.drv[i] && tries < 4; tries++)
            if (driver_free(i) == GPUSIM_EBUSY)
                run_for(10 * GPUSIM_NS_PER_MS, 1000);
        drivers_left |= g.drv[i] != NULL;
    }
    /* A driver that stayed busy still uses its device and host: the world frees all three. */
    if (!drivers_left) {
        gpusim_gpu_free(g.gpu);
        int rc = RC(gpusim_host_free(g.h));
        CHECK(rc == 0 || rc == GPUSIM_EBUSY);
    }
    gpusim_world_free(g.w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t baseline = gpusim__alloc_outstanding();
    memset(&g, 0, sizeof g);
    g.d = data;
    g.n = size;
    g.policy = (gpusim_policy_t)(u8() % GPUSIM_POLICY_COUNT);
    g.opts = u8();
    g.events_left = EVENT_BUDGET;
    world_new();
    for (unsigned n = 0; n < MAX_OPS && g.i < g.n; n++)
        ops[u8() % OP_COUNT]();
    world_end();
    if (gpusim__alloc_outstanding() != baseline)
        die("leak", __LINE__,
            "(the allocator's balance of live bytes is not back at its baseline)");
    return 0;
}
