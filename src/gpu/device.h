/*
 * gpu/device.h -- the device object behind gpusim_gpu_t and its VM contexts. Internal.
 *
 * A device owns its VRAM, its TLBs and its contexts; the world owns the device (the parts are
 * taken off the world's list when created, so that the device alone frees them, in its order).
 * Contexts are kept in a list in creation order and carry an id that is never reused on the
 * device, so that a TLB entry can never be mistaken for a later context's.
 *
 * Faults (fault.c): the device owns the replayable fault buffer, the one interrupt event, and the
 * list of requesters waiting for a replay or for the news that their context died. Each waiting
 * requester holds exactly one event-queue slot -- a reservation while stalled, its pending event
 * while retrying or ending -- so a replay or a kill never fails for want of memory; the interrupt
 * event likewise holds one whenever it is not pending.
 *
 * The command processor (gpu/cp.h: queues, fences, preemption) hangs off one pointer of the
 * device and one of each context; the engines attach here as they are built (issue 5).
 */
#ifndef GPUSIM_GPU_DEVICE_H
#define GPUSIM_GPU_DEVICE_H

#include "gpusim.h"
#include "core/world.h"
#include "gpu/engine.h"
#include "gpu/faultbuf.h"
#include "gpu/params.h"
#include "gpu/pt.h"
#include "gpu/tlb.h"
#include "gpu/vram.h"

#define GPUSIM__GPU_NAME_MAX 31

struct gpusim_gpu_ctx_s {
    gpusim_gpu_t *gpu;      /* The device. */
    gpusim__gpu_pt *pt;     /* The context's page table (owned). */
    void *data;             /* The caller's. */
    gpusim_gpu_ctx_t *prev; /* Neighbours in the device's list, oldest first. */
    gpusim_gpu_ctx_t *next;
    int error;                     /* 0 while alive; the error it was killed with. */
    gpusim__gpu_preempt preempt;   /* preempt_ctx .. resume_ctx of its jobs (gpu/engine.h). */
    struct gpusim__gpu_cp_ctx *cp; /* Command-processor state (gpu/cp.h), created on first use. */
};

/* Requester states (gpusim_gpu_req_t.state_). */
enum {
    GPUSIM__GPU_REQ_IDLE,
    GPUSIM__GPU_REQ_STALLED,
    GPUSIM__GPU_REQ_RETRYING,
    GPUSIM__GPU_REQ_ENDING
};

/* The device's fault statistics, under gpu.<name>.fault. */
typedef struct gpusim__gpu_fault_stats {
    gpusim_stat_t *raised;     /* accesses that faulted (each retry that faults again counts) */
    gpusim_stat_t *throttled;  /* ... refused at the engine's outstanding-fault limit */
    gpusim_stat_t *dropped;    /* ... lost to a full buffer */
    gpusim_stat_t *interrupts; /* handler calls */
    gpusim_stat_t *batches;    /* fetches that returned faults */
    gpusim_stat_t *replays;    /* replays */
    gpusim_stat_t *kills;      /* contexts killed */
    gpusim_stat_t *stall;      /* histogram: first fault to completion of a requester, ns */
} gpusim__gpu_fault_stats;

struct gpusim_gpu_s {
    gpusim__owned owned;                   /* On the world's list. */
    gpusim_world_t *world;                 /* Allocation context and clock. */
    char name[GPUSIM__GPU_NAME_MAX + 1];   /* [a-z0-9_] */
    char prefix[GPUSIM__GPU_NAME_MAX + 8]; /* "gpu.<name>": statistics prefix */
    uint64_t p[GPUSIM__GPU_P_COUNT];       /* Cost parameters. */
    unsigned engines;                      /* L1 TLBs. */
    gpusim__gpu_vram *vram;                /* Device memory (owned). */
    gpusim__gpu_tlb *tlb;                  /* L1s, L2, page-walk cache (owned). */
    gpusim_gpu_ctx_t *ctx_head;            /* Contexts, oldest first. */
    gpusim_gpu_ctx_t *ctx_tail;
    uint32_t next_ctx_id;               /* Id of the next context (never reused). */
    bool replayable;                    /* Faults stall and replay (else they kill). */
    gpusim__gpu_faultbuf fb;            /* The replayable fault buffer. */
    gpusim__gpu_fault_coalesced *batch; /* Fetch scratch, [fault_batch_max]. */
    gpusim_gpu_fault_handler handler;   /* The driver's interrupt handler, or NULL. */
    void *handler_data;
    gpusim_event_t irq;         /* The pending interrupt. */
    bool irq_reserved;          /* Holds a queue slot while irq is not pending. */
    gpusim_gpu_req_t *req_head; /* Waiting requesters, in the order they stalled. */
    gpusim_gpu_req_t *req_tail;
    gpusim__gpu_fault_stats fst;
    struct gpusim__gpu_engines *eng;   /* Compute and DMA engines (engine.c). */
    struct gpusim__gpu_trace **traces; /* Registered traces; id i + 1 is traces[i]. */
    size_t ntraces;                    /* Traces registered. */
    size_t traces_cap;                 /* Slots allocated. */
    struct gpusim__gpu_cp *cp;         /* Queues, fences, preemption (gpu/cp.h; owned). */
    /* Told of every access an engine makes once it is translated (the coherence checker of
     * src/mirror/); NULL: none. One branch per access when unset. */
    void (*access_hook)(void *data, gpusim_gpu_ctx_t *c, uint64_t va, bool write,
                        const gpusim_gpu_access_t *a);
    void *access_hook_data;
    void *mirror; /* src/mirror/'s per-device state, owned by it; NULL until a driver exists */
    /* Trace tracks (core/trace.h): "<name>.compute", "<name>.dma", "<name>.cp". */
    char track_compute[GPUSIM__GPU_NAME_MAX + 9];
    char track_dma[GPUSIM__GPU_NAME_MAX + 5];
    char track_cp[GPUSIM__GPU_NAME_MAX + 4];
};

/* device.c: the trace registered under id, or NULL. */
const struct gpusim__gpu_trace *gpusim__gpu_trace_get(const gpusim_gpu_t *g, uint32_t id);

/* fault.c: creates / frees the fault machinery of a device (called by gpusim_gpu_new / free). */
int gpusim__gpu_faults_init(gpusim_gpu_t *g);
void gpusim__gpu_faults_destroy(gpusim_gpu_t *g);

/* fault.c: a context is going (killed or freed): its entries leave the fault buffer and its
 * waiting requesters end with GPUSIM_ECTXKILLED. */
void gpusim__gpu_ctx_faults_end(gpusim_gpu_ctx_t *c);

/* fault.c: stops a waiting requester without calling it (its engine job is being cancelled). The
 * fault it raised stays in the buffer; the driver finds its translation there or not. */
void gpusim__gpu_req_cancel(gpusim_gpu_req_t *r);

/* engine.c: creates / frees the engines of a device; a context is going (its jobs are dropped
 * without their done callbacks: the command processor ends its queues itself). */
int gpusim__gpu_engines_init(gpusim_gpu_t *g);
void gpusim__gpu_engines_destroy(gpusim_gpu_t *g);
void gpusim__gpu_engines_ctx_gone(gpusim_gpu_ctx_t *c);

#endif /* GPUSIM_GPU_DEVICE_H */
