/*
 * gpu/cp.h -- the command processor: user queues, packet execution, the device fence table,
 * preemption (eviction / restore of a context, preemption / resume of one queue) with timeout
 * escalation to a device reset. Internal.
 *
 * Files: cp.c (device and context state, kills, checker), cp_preempt.c (eviction, restore, queue
 * preemption and resume, the timeout and the reset), queue.c (the queues and the execution of their
 * packets), cp_fence.c (the fence table and its public API).
 * The public API is gpusim/gpu.h, sections "Queues", "Preemption" and "Fences".
 *
 * A queue executes its packets in order, one at a time. Before each packet the command processor
 * spends cp_packet (fetch and decode); then the packet runs: NOP, FENCE_SIGNAL and a FENCE_WAIT
 * whose value is reached complete at once, TLB_INVALIDATE takes its invalidation cost, a FENCE_WAIT
 * blocks until its fence reaches the value, COPY and DISPATCH become a job on an engine
 * (gpu/engine.h) and complete when it ends. rptr stays on the packet in progress, so the ring
 * space of a packet is free only once it completed, and an error names the packet that failed.
 *
 * Event-queue slots. Every live queue holds exactly one slot of the world's event queue: its step
 * event while pending (phases FETCH and TLB), the reservation of its fence waiter (phase FENCE), and
 * otherwise a reservation of its own (q->reserved). So nothing that happens inside an event --
 * the next fetch, a wake-up, a kill -- can fail for want of memory. An eviction or a queue
 * preemption in progress holds a reservation (or its pending step event) for its completion in the
 * same way.
 *
 * Two holds. A queue issues packets only while neither its context (eviction) nor the queue itself
 * (queue preemption) is stopped, and its job runs only while the engine holds neither the context
 * nor the job (gpu/engine.h). The two are independent: each has its own request, cost, timeout and
 * callback, and each resume lifts only its own hold.
 *
 * Invariants (gpusim__gpu_cp_check): every queue is on its context's list, with rptr <= doorbell
 * <= wptr, wptr - rptr <= size, all multiples of 4; its phase matches what it holds (above); a
 * queue in error, stopped, or of a context not running, issues no packet (no FETCH phase); a
 * context or queue has an operation exactly while STOPPING or RESUMING, and it names it; the fence table
 * is sorted by handle, every handle below next_handle, and every fence satisfies
 * gpusim__gpu_fence_check and has not gone below the value the previous check saw.
 */
#ifndef GPUSIM_GPU_CP_H
#define GPUSIM_GPU_CP_H

#include <stdbool.h>
#include <stdint.h>

#include "gpusim.h"
#include "gpu/engine.h"
#include "gpu/fence.h"
#include "gpu/packet.h"

typedef struct gpusim__gpu_cp gpusim__gpu_cp;
typedef struct gpusim__gpu_cp_ctx gpusim__gpu_cp_ctx;
typedef struct gpusim__gpu_cp_op gpusim__gpu_cp_op;

/* What a queue is doing (queue.c). */
enum {
    GPUSIM__CPQ_NONE,  /* nothing in progress (idle, parked, in error, or a job whose end is due) */
    GPUSIM__CPQ_FETCH, /* fetching and decoding the packet at rptr: ev pending */
    GPUSIM__CPQ_TLB,   /* a TLB_INVALIDATE taking its cost: ev pending */
    GPUSIM__CPQ_JOB,   /* a COPY or DISPATCH running on an engine */
    GPUSIM__CPQ_FENCE  /* a FENCE_WAIT blocked: fw queued on the fence */
};

struct gpusim_gpu_queue_s {
    gpusim__gpu_cp *cp;       /* The device's command processor. */
    gpusim_gpu_ctx_t *ctx;    /* The context whose VA and fences the packets use. */
    gpusim_gpu_queue_t *prev; /* Neighbours on the context's list, oldest first. */
    gpusim_gpu_queue_t *next;
    uint8_t *ring;                /* The host-visible ring (owned), `size` bytes. */
    uint32_t size;                /* A power of two, GPUSIM_PKT_RING_MIN .. GPUSIM_PKT_RING_MAX. */
    uint64_t rptr;                /* Counter of the packet in progress / next to run. */
    uint64_t wptr;                /* Counter after the last byte the host wrote. */
    uint64_t doorbell;            /* wptr as of the last doorbell: the end of the visible stream. */
    int phase;                    /* GPUSIM__CPQ_* */
    bool reserved;                /* Holds its own event-queue reservation (see cp.h). */
    bool job_out;                 /* A submitted job whose done has not run yet. */
    bool error;                   /* Stopped in error: err says why; nothing more runs. */
    bool freed;                   /* Freed by the host while job_out: freed when done runs. */
    int sched;                    /* GPUSIM__CPC_*: its own preemption (not its context's). */
    gpusim__gpu_cp_op *op;        /* Its preemption or resume in progress, or NULL. */
    gpusim__gpu_packet pkt;       /* The packet in progress (phases TLB, JOB, FENCE). */
    gpusim_event_t ev;            /* Phases FETCH and TLB: the end of the step. */
    gpusim__gpu_job job;          /* Phase JOB. */
    gpusim__gpu_fence_waiter fw;  /* Phase FENCE. */
    uint64_t packets;             /* Packets completed. */
    gpusim_gpu_queue_error_t err; /* The error, when `error`. */
    char msg[128];                /* An engine's refusal, pointed to by err.message. */
};

/* Scheduling state of a context (eviction, restore) or of one queue (queue preemption, resume):
 * gpusim__gpu_cp_ctx.sched, gpusim_gpu_queue_s.sched. */
enum {
    GPUSIM__CPC_RUN,      /* not held: queues issue packets */
    GPUSIM__CPC_STOPPING, /* a preemption is stopping the jobs or saving the state */
    GPUSIM__CPC_STOPPED,  /* stopped; waiting for a restore / resume */
    GPUSIM__CPC_RESUMING  /* queue_resume in progress */
};

/* A context's command-processor state (gpusim_gpu_ctx_t.cp), created on first use. */
struct gpusim__gpu_cp_ctx {
    gpusim_gpu_ctx_t *ctx;    /* The context. */
    gpusim_gpu_queue_t *head; /* Its queues, oldest first. */
    gpusim_gpu_queue_t *tail;
    int sched;             /* GPUSIM__CPC_* */
    gpusim__gpu_cp_op *op; /* The eviction or restore in progress, or NULL. */
};

/* The command processor's statistics, under gpu.<name>.cp. */
typedef struct gpusim__gpu_cp_stats {
    gpusim_stat_t *packets;     /* packets completed */
    gpusim_stat_t *errors;      /* queues stopped in error */
    gpusim_stat_t *evictions;   /* evictions completed */
    gpusim_stat_t *restores;    /* restores completed */
    gpusim_stat_t *resets;      /* device resets (preemption timeouts) */
    gpusim_stat_t *evict_ns;    /* histogram: eviction request to completion */
    gpusim_stat_t *qpreempts;   /* queue preemptions completed */
    gpusim_stat_t *qresumes;    /* queue resumes completed */
    gpusim_stat_t *qpreempt_ns; /* histogram: queue preemption request to completion */
} gpusim__gpu_cp_stats;

/* One entry of the fence table (cp_fence.c). */
typedef struct gpusim__gpu_cp_fence {
    uint32_t handle;     /* Non-zero, never reused on the device. */
    gpusim__gpu_fence f; /* The timeline. */
    uint64_t seen;       /* The checker's: the value at the previous gpusim_gpu_check (the model
                            never reads it); a value below it went back in time. */
} gpusim__gpu_cp_fence;

/* A device's command processor (gpusim_gpu_t.cp). */
struct gpusim__gpu_cp {
    gpusim_gpu_t *gpu;             /* The device. */
    gpusim_world_t *world;         /* Its world. */
    gpusim__gpu_cp_fence **fences; /* The fence table, sorted by handle (handles only grow). */
    size_t nfences, capfences;
    uint32_t next_handle;               /* Handle of the next fence. */
    gpusim_gpu_fence_waiter_t *hw_head; /* Host waiters waiting on this device's fences. */
    gpusim__gpu_cp_op *ops;             /* Preemptions and resumes not yet finished with. */
    gpusim_gpu_queue_t *zombies;        /* Freed queues whose job's done is still due. */
    bool resetting;                     /* A device reset is killing the contexts. */
    bool destroying;                    /* The device is being freed: abandon nothing. */
    gpusim__gpu_cp_stats st;
};

/* ---- cp.c ---- */

/* Creates / destroys a device's command processor (gpusim_gpu_new, gpu teardown). Destroy drops
 * everything in flight: jobs are cancelled, waiters and callbacks never run. */
int gpusim__gpu_cp_init(gpusim_gpu_t *g);
void gpusim__gpu_cp_destroy(gpusim_gpu_t *g);

/* A context was killed (gpusim_gpu_ctx_kill; c->error is set): its queues stop in error (their
 * jobs are left to the engines, which end them with GPUSIM_ECTXKILLED), the fences its
 * unexecuted signals name fail, its eviction or restore ends. */
void gpusim__gpu_cp_ctx_killed(gpusim_gpu_ctx_t *c);

/* A context is being freed: its queues are freed, an eviction or restore is dropped. */
void gpusim__gpu_cp_ctx_free(gpusim_gpu_ctx_t *c);

/* Verifies the invariants of cp.h. Returns 0 or GPUSIM_ECORRUPT with a message in buf. */
int gpusim__gpu_cp_check(const gpusim_gpu_t *g, char *buf, size_t len);

/* The context's state, created if needed. NULL on ENOMEM. */
gpusim__gpu_cp_ctx *gpusim__gpu_cp_ctx_get(gpusim_gpu_ctx_t *c);

/* ---- cp_preempt.c ---- */

/* A context was killed: its queues' preemptions and resumes, then its eviction or restore, end
 * with GPUSIM_ECTXKILLED (GPUSIM_ETIMEDOUT during a reset), from their events. */
void gpusim__gpu_cp_ops_killed(gpusim_gpu_ctx_t *c);

/* A context is being freed (after its queues): its eviction or restore is dropped (the callback
 * never runs), and so is every wait for the engine's report on it. */
void gpusim__gpu_cp_ops_ctx_gone(gpusim_gpu_ctx_t *c);

/* A queue is being freed (gpusim_gpu_queue_free, after halting it): its preemption or resume is
 * dropped (the callback never runs). job_cancelled: its job, if any, was cancelled on the engine,
 * so the engine will not report its preemption. */
void gpusim__gpu_cp_queue_gone(gpusim_gpu_queue_t *q, bool job_cancelled);

/* The device is being freed: every operation goes, without callbacks. */
void gpusim__gpu_cp_ops_destroy(gpusim__gpu_cp *cp);

/* The checker: op is the unfinished operation of context c (q NULL) or of its queue q. */
bool gpusim__gpu_cp_op_names(const gpusim__gpu_cp_op *op, const gpusim_gpu_ctx_t *c,
                             const gpusim_gpu_queue_t *q);

/* ---- queue.c ---- */

/* Starts fetching the next packet if the queue may run and has one (call after any change). */
void gpusim__gpu_queue_kick(gpusim_gpu_queue_t *q);

/* Stops a queue wherever it is: cancels its step, its fence wait and (if cancel_job) its job. The
 * queue keeps one reservation. Returns false when the job's done is still due (not cancelled, or
 * the engine could not cancel it): the queue must stay allocated until then. */
bool gpusim__gpu_queue_halt(gpusim_gpu_queue_t *q, bool cancel_job);

/* Stops a queue in error at rptr (if not already), with `code` and a static reason and message.
 * A job in flight is not cancelled: its engine ends it (its done is then ignored). */
void gpusim__gpu_queue_fail(gpusim_gpu_queue_t *q, int code, const char *reason,
                            const char *message);

/* Fails, with `err`, every fence that an unexecuted FENCE_SIGNAL of [rptr, doorbell) would have
 * raised (the fence exists, has no error and is below the value). */
void gpusim__gpu_queue_abandon_signals(gpusim_gpu_queue_t *q, int err);

/* Frees a halted queue's memory (ring and struct). */
void gpusim__gpu_queue_release(gpusim_gpu_queue_t *q);

/* Preempting (its context, or the queue alone): a queue whose step is in progress gives it up (a
 * fetch is redone after the resume; a TLB invalidation, already applied, completes). */
void gpusim__gpu_queue_park(gpusim_gpu_queue_t *q);

/* ---- cp_fence.c ---- */

/* The fence of `handle`, or NULL. */
gpusim__gpu_cp_fence *gpusim__gpu_cp_fence_find(const gpusim__gpu_cp *cp, uint32_t handle);

/* Frees the fence table; cancels host waiters (their callbacks never run). */
void gpusim__gpu_cp_fences_destroy(gpusim__gpu_cp *cp);

/* Checks the fence table; false with a message at the first violation. */
bool gpusim__gpu_cp_fences_check(const gpusim__gpu_cp *cp, char *buf, size_t len);

#endif /* GPUSIM_GPU_CP_H */
