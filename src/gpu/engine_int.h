/*
 * gpu/engine_int.h -- the engines' shared state, private to engine.c (jobs, units, scheduling,
 * submission, life cycle), engine_slice.c (how units run: slices, accesses, fast-forward) and
 * engine_preempt.c (preemption requests). Nothing else includes it; gpu/engine.h is the contract.
 * The design and invariants are in engine.c's header comment.
 */
#ifndef GPUSIM_GPU_ENGINE_INT_H
#define GPUSIM_GPU_ENGINE_INT_H

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
    bool replay;             /* its waves repeat the memo's record (engine_memo.c) */
    gpusim_event_t done_ev;  /* delivers done; holds a reservation until scheduled */
    run *next;               /* in the engine's job FIFO (kernels, or copies) */
};

/* A wave of a kernel, or the one stream of chunks of a copy. */
struct unit {
    run *r;
    bool copy;           /* a copy's stream (else a wave) */
    int state;           /* W_* */
    uint64_t lo, hi, i;  /* wave: touches of a pass, and the next one */
    uint32_t wave;       /* wave: its index in the kernel */
    gpusim_time_t start; /* wave: when it first started */
    uint32_t pass;       /* wave: passes done */
    uint64_t sub;        /* bytes of the current touch (or of the copy) already moved */
    bool setup_done;     /* copy: dma_setup charged */
    uint8_t waits;       /* WAIT_* bits: preemption requests still counting this unit */
    /* Steady-state fast-forward (waves only). */
    gpusim_time_t pass_start; /* when the current pass began */
    uint64_t pass_epoch;      /* the device's epoch then */
    gpusim_time_t last_cost;  /* time the last complete pass took */
    uint32_t steady;          /* passes in a row that took last_cost with the epoch unchanged */
    bool ff;                  /* fast-forwarding: its event ends the remaining passes at once */
    bool replay;              /* ... the whole wave, from the memo (last_cost: its time) */
    uint32_t ff_base;         /* passes done when the fast-forward began */
    gpusim_time_t ff_start;   /* when it began (a pass boundary) */
    gpusim_gpu_req_t req;
    gpusim_event_t ev;
    unit *next, *prev; /* all live units of the device (or the ready queue while W_READY) */
};

/* The cross-kernel fast-forward (engine_memo.c has the rules). */
#define GPUSIM__MEMO_DEPTH 4 /* clean kernels remembered: cycles of 1 and 2 kernels are seen */

/* A clean kernel: its signature, its waves' times, and the window that ended at its start. */
typedef struct gpusim__eng_rec {
    uint32_t ctx_id;
    gpusim_kernel_desc_t desc;
    const void *trace;
    uint64_t before_hash;
    bool before_poisoned;
    uint64_t times_hash;  /* of times[0 .. desc.waves) */
    gpusim_time_t *times; /* [memo.cap] */
} gpusim__eng_rec;

typedef struct gpusim__eng_memo {
    /* The window: the device's changes since the last recorded kernel started. */
    gpusim_time_t win_start;
    uint64_t win_hash; /* the changes and their offsets from win_start */
    bool win_poisoned; /* something not repeatable happened in it */
    /* The kernel being recorded, and the window that ended at its start. */
    run *rec;
    bool rec_clean; /* nothing but its own waves happened on the device since it started */
    uint64_t rec_before_hash;
    bool rec_before_poisoned;
    gpusim_time_t *cur; /* [cap]: its waves' times */
    /* The last `n` clean kernels, consecutive, newest at ring[head]; `period`: the shortest
     * cycle (1 or 2 kernels) the newest ones repeat, 0 if none. */
    gpusim__eng_rec ring[GPUSIM__MEMO_DEPTH];
    unsigned head, n, period;
    uint64_t cap;         /* entries of every times array */
    gpusim_time_t *block; /* the one allocation all of them lie in */
} gpusim__eng_memo;

typedef struct gpusim__gpu_engines gpusim__gpu_engines;
struct gpusim__gpu_engines {
    uint64_t free_units;  /* compute units without a wave */
    run *kernels, *ktail; /* kernels with waves left to launch, in submission order */
    run *copies, *ctail;  /* copies, in submission order (the head runs) */
    unit *ready;          /* preempted waves to start again, ahead of new ones */
    unit *live;           /* every unit that exists */
    bool dma_busy;        /* the head copy has its unit */
    uint64_t epoch;       /* bumped by everything that may change a pass's cost (disturb) */
    uint64_t nff;         /* units fast-forwarding */
    uint64_t nreplay;     /* ... of them replaying a wave (all of one kernel's) */
    uint64_t copy_units;  /* units that are copies (running, parked or stalled) */
    /* wave_bytes_ns's last answer and its operands: a division per access otherwise. */
    uint64_t bytes_n, bytes_bw, bytes_cu;
    gpusim_time_t bytes_ns;
    gpusim_stat_t *st_ff_passes;     /* gpu.<name>.engine.ff_passes: passes not simulated */
    gpusim_stat_t *st_ff_interrupts; /* gpu.<name>.engine.ff_interrupts */
    gpusim_stat_t *st_ff_kernels;    /* gpu.<name>.engine.ff_kernels: kernels replayed */
    gpusim__eng_memo memo;           /* the cross-kernel fast-forward */
    gpusim_stat_t *st_busy_ns;       /* gpu.<name>.engine.busy_ns: sum of jobs' start-to-end */
    gpusim_stat_t *st_dma_bytes;     /* gpu.<name>.engine.dma_bytes: bytes copies moved */
};

static inline gpusim__arena *arena(const gpusim_gpu_t *g)
{
    return &g->world->arena;
}

static inline gpusim_world_t *world(const gpusim_gpu_t *g)
{
    return g->world;
}

/* ---- units ---------------------------------------------------------------------------------- */

static inline void unit_link(unit **head, unit *u)
{
    u->prev = NULL;
    u->next = *head;
    if (*head)
        (*head)->prev = u;
    *head = u;
}

static inline void unit_unlink(unit **head, unit *u)
{
    if (u->prev)
        u->prev->next = u->next;
    else
        *head = u->next;
    if (u->next)
        u->next->prev = u->prev;
    u->next = u->prev = NULL;
}

/* The request of kind k (REQ_*) that covers unit u. */
static inline gpusim__gpu_preempt *unit_req(const unit *u, int k)
{
    gpusim__gpu_job *job = u->r->job;
    return k == REQ_CTX ? &job->ctx->preempt : &job->preempt_;
}

/* A job may not run: its context or the job itself is preempted. */
static inline bool job_held(const gpusim__gpu_job *job)
{
    return job->ctx->preempt.active || job->preempt_.active;
}

static inline bool unit_held(const unit *u)
{
    return job_held(u->r->job);
}

/* engine.c */
/* Frees a unit whose event is not pending (it holds a reservation) and lets others run. */
void gpusim__eng_unit_free(gpusim_gpu_t *g, unit *u);
/* A unit's context died or its job failed: it ends here with `status` for its job. */
void gpusim__eng_unit_die(gpusim_gpu_t *g, unit *u, int status);
/* Parks a unit at a preemption point: it gives its compute unit (or the DMA engine) back. */
void gpusim__eng_unit_park(gpusim_gpu_t *g, unit *u);
/* Runs the unit's next slice `delay` from now (with its reserved slot). */
void gpusim__eng_unit_schedule(gpusim_gpu_t *g, unit *u, gpusim_time_t delay);
/* Starts waves on free compute units; starts the next copy if the DMA engine is free. */
void gpusim__eng_dispatch_more(gpusim_gpu_t *g);
void gpusim__eng_dma_more(gpusim_gpu_t *g);

/* engine_slice.c */
/* A unit's event: its next slice, its end, or its parking. */
void gpusim__eng_unit_event(gpusim_world_t *w, gpusim_event_t *ev);
/* The device's epoch moves; fast-forwarding units stop at their real position, except the
 * replayed waves of run `own` (NULL: none), whose own starts and ends are part of the replay. */
void gpusim__eng_epoch(gpusim_gpu_t *g, const run *own);

/* engine_memo.c: the cross-kernel fast-forward. */
/* Kernel r's first wave is about to start: records it if the device is idle; true when it
 * repeats the memo's steady kernel (its waves start as replays). */
bool gpusim__eng_memo_start(gpusim_gpu_t *g, run *r);
/* The time wave `wave` of a replayed kernel takes. */
gpusim_time_t gpusim__eng_memo_wave_time(const gpusim_gpu_t *g, uint32_t wave);
/* Wave u of the recorded kernel ended. */
void gpusim__eng_memo_wave_end(gpusim_gpu_t *g, const unit *u);
/* Kernel r ended (its done is scheduled): a clean recording becomes the memo. */
void gpusim__eng_memo_end(gpusim_gpu_t *g, const run *r);
/* Kernel r is cancelled. */
void gpusim__eng_memo_cancel(gpusim_gpu_t *g, const run *r);
/* Something not repeatable happened on the device (see engine_memo.c). */
void gpusim__eng_memo_poison(gpusim_gpu_t *g);
/* A repeatable change (its description hashed in `what`) happened on the device. */
void gpusim__eng_memo_change(gpusim_gpu_t *g, uint64_t what);
/* Context ctx_id is gone: a memo of its kernel is dropped. */
void gpusim__eng_memo_forget_ctx(gpusim_gpu_t *g, uint32_t ctx_id);
/* Frees the per-wave arrays. */
void gpusim__eng_memo_release(gpusim_gpu_t *g);

/* engine_preempt.c */
/* Unit u reached a preemption point or ended: counts it down in the requests waiting for it. */
void gpusim__eng_stopped_one(unit *u);
/* Drops a request's report that has not been delivered (its slot goes back). */
void gpusim__eng_preempt_drop_report(gpusim_gpu_t *g, gpusim__gpu_preempt *p);
/* Checker: every request's count matches the units waiting for it. */
bool gpusim__eng_preempts_ok(const gpusim_gpu_t *g);

#endif /* GPUSIM_GPU_ENGINE_INT_H */
