/*
 * mirror/mirror.h -- the driver layer's internals: drivers, buffers, jobs, the policy interface,
 * and the shared steps every policy is built from. Internal.
 *
 * Files:
 *   driver.c       driver and buffer life cycle, the submission pipeline, job completion
 *   device.c       what is shared per GPU: the fault handler (batches, dispatch per context) and
 *                  the access hook that feeds the checker
 *   validate.c     the hmm_range_fault loop (read_begin, fault, read_retry) and GPU map / zap
 *   waits.c        invalidations that make the invalidator wait, and their blocked time
 *   checker.c      the coherence checker and the host-change watch
 *   params.c       the policy parameters (one table, with sources)
 *   pol_*.c        one file per policy, each a gpusim__policy_ops
 *
 * Invariants (gpusim_driver_check verifies them):
 *   - every valid GPU PTE of the driver's context lies in a registered buffer, and the buffer's
 *     shadow entry for that page records it (same frame, SH_MAPPED);
 *   - a job is on exactly one of: the pending FIFO (not yet written to the ring), `preparing`, or
 *     the running FIFO (written, fence value `seq` not yet reached); running seqs increase; a job
 *     is written in the event that commits it (the ring always has room: kick bounds `running`);
 *   - buf->users counts the jobs on those lists that name the buffer;
 *   - pinned_pages equals the pages the driver holds pinned (pin: per job; pin-persistent: per
 *     buffer).
 * "Under the driver lock" (linux-semantics.md §1) means "within one event callback": the commit
 * step of a validation (read_retry, map, write the job) never spans two events.
 */
#ifndef GPUSIM_MIRROR_INT_H
#define GPUSIM_MIRROR_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "gpusim.h"
#include "core/itree.h"
#include "core/param.h"
#include "core/stats.h"
#include "core/world.h"
#include "host/host.h"
#include "notifier/notifier.h"
#include "gpu/device.h"

/* The page size of buffers, mappings and the checker. */
#define GPUSIM__MPAGE UINT64_C(4096)

/* ---- parameters ---------------------------------------------------------------------------- */

/* clang-format off */
#define GPUSIM_DRIVER_PARAM_MAP(XX)                                                                \
    XX(restore_delay, NS, GPUSIM_NS_PER_MS, 0, 10 * GPUSIM_NS_PER_S, "C",                          \
       "fence-reload: AMDGPU_USERPTR_RESTORE_DELAY_MS = 1 ms (amdgpu_amdkfd_gpuvm.c, "             \
       "linux-semantics.md §5): 'long enough to allow consecutive VM changes to accumulate'; "     \
       "kfd_svm uses 1 ms too, TTM eviction 100 ms (PROCESS_RESTORE_TIME_MS)")                     \
    XX(preempt, BOOL, 1, 0, 1, "S",                                                                \
       "fence-reload: 1 quiesces the queues by preemption (kgd2kfd_quiesce_mm); 0 models a "       \
       "device or kernel without it: the eviction degrades to waiting for the jobs")               \
    XX(retry_timeout, NS, GPUSIM_NS_PER_S, GPUSIM_NS_PER_MS, 60 * GPUSIM_NS_PER_S, "C",            \
       "HMM_RANGE_DEFAULT_TIMEOUT = 1000 ms (include/linux/hmm.h), mlx5 MMU_NOTIFIER_TIMEOUT "     \
       "1000 ms: how long a validation may keep colliding before it fails")                        \
    XX(prefetch, BOOL, 1, 0, 1, "S",                                                               \
       "refault: 1 grows each fault's granule with the density prefetcher (NVIDIA UVM "            \
       "uvm_perf_prefetch_enable defaults to 1); 0 maps the faulting 4 KiB page only")             \
    XX(prefetch_threshold, PERCENT, 51, 1, 100, "C",                                               \
       "refault: uvm_perf_prefetch_threshold = 51 (uvm_perf_prefetch.c, linux-semantics.md §6): "  \
       "a subregion of the 2 MiB block is prefetched when more than 51 % of it is resident")       \
    XX(fault_granule, BYTES, 4 * GPUSIM_KIB, 4 * GPUSIM_KIB, 2 * GPUSIM_MIB, "C",                  \
       "refault: the naturally aligned region a fault validates and maps at least (clipped to "   \
       "the buffer); NVIDIA UVM services the faulting 4 KiB page and leaves growth to the "        \
       "prefetcher (uvm_gpu_replayable_faults.c); a power of two")                                 \
    XX(prefetch_on_register, BOOL, 0, 0, 1, "S",                                                   \
       "refault: 1 validates and maps a buffer when it is registered (kfd_svm prefetch "           \
       "attribute, ibv_advise_mr PREFETCH); 0 leaves everything to faults")                        \
    XX(check, BOOL, 1, 0, 1, "S",                                                                  \
       "1 runs the coherence checker on every GPU access of the driver's context")                 \
    XX(ring_bytes, BYTES, 64 * GPUSIM_KIB, 4 * GPUSIM_KIB, 16 * GPUSIM_MIB, "S",                   \
       "size of the driver's queue ring; a job takes one DISPATCH or COPY and one FENCE_SIGNAL; "  \
       "jobs wait in the driver while the ring is full")
/* clang-format on */

enum {
#define GPUSIM__DP_ENUM(field, UNIT, def, min, max, tag, source) GPUSIM__DP_##field,
    GPUSIM_DRIVER_PARAM_MAP(GPUSIM__DP_ENUM)
#undef GPUSIM__DP_ENUM
        GPUSIM__DP_COUNT
};

extern const gpusim__param_desc gpusim__driver_param_desc[GPUSIM__DP_COUNT];

/* ---- buffers ------------------------------------------------------------------------------- */

/* What the driver last programmed into the GPU for one 4 KiB page of a buffer (the checker's
 * record of the translation and of the frame generation it was made with). */
typedef struct gpusim__shadow {
    uint32_t pfn;  /* host frame */
    uint32_t gen;  /* the frame's generation when the PTE was written */
    uint8_t flags; /* SH_* */
} gpusim__shadow;

#define SH_MAPPED 0x1u /* the GPU PTE is valid now */
#define SH_WRITE  0x2u /* mapped writable */
#define SH_EVER   0x4u /* pfn/gen describe the last translation written (kept after a zap) */

enum buf_state { B_REGISTERING, B_ACTIVE, B_FAILED, B_UNREGISTERING };

/* A host change over a buffer, kept for violation reports. */
typedef struct gpusim__change {
    uint64_t start, end;
    gpusim_time_t time;
    gpusim_notifier_event_t event;
    gpusim_invalidator_t by;
} gpusim__change;

#define BUF_CHANGES 4

struct gpusim_buffer_s {
    gpusim__itree_node node; /* [va, va + len - 1] in drv->bufs */
    gpusim_driver_t *drv;
    gpusim_buffer_t *next, *prev; /* drv->buf_head list, registration order */
    uint64_t va, len, npages;
    unsigned flags;             /* GPUSIM_BUFFER_* */
    int state;                  /* enum buf_state */
    gpusim_notifier_sub_t *sub; /* subscribing policies, once inserted */
    gpusim__shadow *sh;         /* [npages] */
    uint64_t *pins;             /* pin-persistent: pinned frames [npages], npinned valid */
    uint64_t npinned;
    bool invalid;      /* fence-wait / fence-reload: an invalidation hit it since validation */
    uint64_t last_seq; /* fence value of the newest job written that names it; 0 none */
    uint32_t users;    /* jobs pending, preparing or running that name it */
    gpusim_time_t unmap_time;            /* refault: last UNMAP or RELEASE over it (stale faults) */
    gpusim__change changes[BUF_CHANGES]; /* ring of the latest host changes over it */
    unsigned nchanges;
    gpusim_event_t ev; /* registration / unregistration completion */
    gpusim_host_cb cb; /* registration or unregistration callback */
    void *cbdata;
    int status;                /* for cb */
    gpusim_waiter_t rm_waiter; /* deferred notifier removal */
    uint32_t host_busy;        /* validations or pins of it in flight (walking or waiting) */
};

/* ---- validation: the hmm_range_fault loop -------------------------------------------------- */

typedef struct gpusim__validation gpusim__validation;
/* Status 0: hmm[] holds a snapshot of [start, start + npages); the caller commits it under the
 * lock (gpusim__validation_collided, then gpusim__map_hmm) or retries. Else the error. */
typedef void (*gpusim__validation_cb)(gpusim__validation *v, int status);

struct gpusim__validation {
    gpusim_driver_t *drv;
    gpusim_buffer_t *buf;
    uint64_t start, npages; /* page-aligned; within buf */
    bool write;             /* request writable pages */
    uint64_t *hmm;          /* [npages], owned by the caller */
    uint64_t seq;           /* from read_begin */
    gpusim_time_t t0;       /* first attempt: bounds the retries (retry_timeout) */
    gpusim__validation_cb done;
    void *data;
    gpusim_waiter_t waiter; /* read_begin wait */
    bool busy;              /* range_fault in flight or read_begin waiting */
};

/* Starts (or restarts, after a collision) a validation; done() runs from an event. Returns 0 or
 * an error at call time (nothing started). */
int gpusim__validate(gpusim__validation *v);
/* Under the lock: true if the snapshot collided (counted; the caller retries or gives up). */
bool gpusim__validation_collided(gpusim__validation *v);
/* True once retries have gone on for longer than retry_timeout. */
bool gpusim__validation_expired(const gpusim__validation *v);

/* Maps the snapshot's valid pages [start, start + npages) of buf (writable where the host said
 * so and the buffer allows), records them in the shadow, and invalidates the GPU TLBs where a
 * valid translation was replaced by another. Adds the cost to *cost. Returns 0 or ENOMEM. */
int gpusim__map_hmm(gpusim_buffer_t *buf, uint64_t start, uint64_t npages, const uint64_t *hmm,
                    gpusim_time_t *cost);
/* Maps pinned frames pfns[0..npages) at start. Same contract. */
int gpusim__map_pfns(gpusim_buffer_t *buf, uint64_t start, uint64_t npages, const uint64_t *pfns,
                     bool write, gpusim_time_t *cost);
/* Unmaps [start, end) ∩ buf from the GPU and invalidates the TLBs over it, if anything there was
 * mapped; adds the cost. The shadow keeps the last translation (SH_EVER) for the checker. */
void gpusim__zap(gpusim_buffer_t *buf, uint64_t start, uint64_t end, gpusim_time_t *cost);

/* ---- jobs ---------------------------------------------------------------------------------- */

typedef struct gpusim__job gpusim__job;
struct gpusim__job {
    gpusim_driver_t *drv;
    gpusim__job *next;
    gpusim_job_desc_t desc;
    uint64_t id;  /* submission number */
    uint64_t seq; /* fence value once written; 0 before */
    gpusim_time_t t_submit;
    gpusim_time_t t_prepare; /* when its preparation began (to the doorbell: its trace span) */
    gpusim_host_cb cb;
    void *data;
    gpusim_gpu_fence_waiter_t fw;
    gpusim_event_t ev;  /* doorbell after the driver's time */
    gpusim_time_t cost; /* driver time spent preparing, charged before the doorbell */
    unsigned step;      /* policy: buffer being prepared */
    uint64_t *pins[GPUSIM_JOB_MAX_BUFFERS]; /* pin: frames pinned per buffer */
    gpusim__validation v;                   /* policy: the validation in flight */
    uint64_t seqs[GPUSIM_JOB_MAX_BUFFERS];  /* per buffer: its read_begin sequence */
    uint64_t *hmm;                          /* policy: snapshot scratch [hmm_n] */
    uint64_t hmm_n;
};

/* Walks every buffer of the job and commits them together (none, fence-wait, fence-reload);
 * ends with gpusim__job_prepared. */
void gpusim__job_validate(gpusim__job *job);
/* Policy → driver: the job is ready (status 0: write it and ring after job->cost), or failed. */
void gpusim__job_prepared(gpusim__job *job, int status);
/* Re-examines the pending FIFO (a gate opened, a job ended). */
void gpusim__drv_kick(gpusim_driver_t *d);

/* ---- waits: invalidations that block their invalidator ------------------------------------- */

enum wait_until { WAIT_SEQ, WAIT_EVICTED, WAIT_TIME };

typedef struct gpusim__inv_wait gpusim__inv_wait;
struct gpusim__inv_wait {
    gpusim_driver_t *drv;
    gpusim__inv_wait *next;
    gpusim_completion_t c; /* what the invalidator waits on */
    gpusim_event_t ev;     /* WAIT_TIME */
    int until;             /* enum wait_until */
    uint64_t seq;          /* WAIT_SEQ: the fence value to reach */
    gpusim_time_t start;
    gpusim_time_t extra;      /* time still to wait once the condition holds (zap cost) */
    gpusim_buffer_t *zap_buf; /* zap [zap_start, zap_end) of it when the condition holds */
    uint64_t zap_start, zap_end;
    gpusim_invalidator_t by;
};

/* Callback answers that make the invalidator wait. wait_time: `t` (refault's zap, done in the
 * callback). wait_then_zap: until `until` holds (WAIT_SEQ: the fence reached seq; WAIT_EVICTED:
 * the eviction completed), then zap [start, end) of b, then what the zap costs -- the GPU is
 * stopped before its translations go. Both answer DONE when there is nothing to wait for. */
gpusim_notifier_answer_t gpusim__wait_time(gpusim_driver_t *d, gpusim_time_t t,
                                           gpusim_invalidator_t by, gpusim_completion_t **wait_on);
gpusim_notifier_answer_t gpusim__wait_then_zap(gpusim_driver_t *d, int until, uint64_t seq,
                                               gpusim_buffer_t *b, uint64_t start, uint64_t end,
                                               gpusim_invalidator_t by,
                                               gpusim_completion_t **wait_on);
/* Re-examines every wait of the driver (a job ended, an eviction completed). */
void gpusim__waits_poke(gpusim_driver_t *d);
void gpusim__waits_destroy(gpusim_driver_t *d);

/* ---- the policy interface ------------------------------------------------------------------ */

typedef struct gpusim__policy_ops {
    bool subscribes; /* buffers get an interval notifier */
    /* Registration work after the notifier (if any) is in: 0 done, GPUSIM_EINPROGRESS (the
     * policy calls gpusim__buf_registered later), or an error. May be NULL. */
    int (*reg)(gpusim_buffer_t *b);
    /* Unregistration: drop what the policy holds (pins, mappings). May be NULL. */
    void (*unreg)(gpusim_buffer_t *b);
    /* Prepare a job; eventually gpusim__job_prepared. NULL: ready at once. */
    void (*prepare)(gpusim__job *job);
    /* The job's fence signalled (or failed). May be NULL. */
    void (*job_done)(gpusim__job *job);
    /* Whether the pending FIFO must wait (fence-reload while evicted). May be NULL. */
    bool (*gate)(gpusim_driver_t *d);
    /* The notifier callback, after the common part (set_seq, change recorded). */
    gpusim_notifier_answer_t (*invalidate)(gpusim_buffer_t *b, const gpusim_notifier_range_t *r,
                                           gpusim_completion_t **wait_on);
    /* A GPU fault of this driver's context; eventually gpusim__fault_served. NULL: fatal. */
    void (*fault)(gpusim_driver_t *d, const gpusim_gpu_fault_t *f);
    /* The driver is being freed: stop timers, cancel waiters. May be NULL. */
    void (*destroy)(gpusim_driver_t *d);
} gpusim__policy_ops;

extern const gpusim__policy_ops gpusim__pol_none, gpusim__pol_pin, gpusim__pol_pin_persistent,
    gpusim__pol_fence_wait, gpusim__pol_fence_reload, gpusim__pol_refault;

/* Policy → driver: the registration work finished with status. */
void gpusim__buf_registered(gpusim_buffer_t *b, int status);
/* Policy → device: a fault is served (status 0), or must kill the context (an error). */
void gpusim__fault_served(gpusim_driver_t *d, int status, gpusim_time_t cost);

/* ---- the per-GPU part (device.c) ----------------------------------------------------------- */

typedef struct gpusim__mirror_dev gpusim__mirror_dev;

int gpusim__mirror_dev_attach(gpusim_driver_t *d);
void gpusim__mirror_dev_detach(gpusim_driver_t *d);

/* ---- the checker (checker.c) --------------------------------------------------------------- */

/* One GPU access of the driver's context (from the device's access hook). */
void gpusim__check_access(gpusim_driver_t *d, uint64_t va, bool write,
                          const gpusim_gpu_access_t *a);
/* The host changed [start, end) of the process (after the change; from the host's watch). */
void gpusim__check_changed(gpusim__notifier_watch *w, const gpusim_notifier_range_t *r);

/* ---- the driver ---------------------------------------------------------------------------- */

typedef struct gpusim__driver_stats {
    gpusim_stat_t *jobs_submitted, *jobs_completed, *jobs_failed;
    gpusim_stat_t *pins, *unpins, *pinned_pages; /* pinned_pages: gauge with peak */
    gpusim_stat_t *pages_validated, *pages_mapped, *retries;
    gpusim_stat_t *faults, *fault_batches, *faults_dropped, *faults_cancelled;
    gpusim_stat_t *invalidations, *refusals, *evictions, *restores, *restore_retries;
    gpusim_stat_t *submit_wait_ns, *evicted_ns, *fault_stall_ns, *gpu_stall_ns;
    gpusim_stat_t *blocked[GPUSIM_INVALIDATOR_COUNT];
    gpusim_stat_t *checked, *uaf, *stale, *data_mismatch;
} gpusim__driver_stats;

struct gpusim_driver_s {
    gpusim__owned owned; /* first: on the world's list */
    gpusim_world_t *world;
    gpusim_gpu_t *gpu;
    gpusim_process_t *proc;
    gpusim_host_t *host;
    gpusim_gpu_ctx_t *ctx;
    gpusim_gpu_queue_t *queue;
    uint32_t fence;
    gpusim_policy_t policy;
    const gpusim__policy_ops *ops;
    char name[32];
    char track[40]; /* "driver:<name>": its trace track (core/trace.h) */
    uint64_t p[GPUSIM__DP_COUNT];
    gpusim__driver_stats st;

    gpusim__itree bufs; /* registered buffers by range */
    gpusim_buffer_t *buf_head, *buf_tail;
    uint64_t buf_order;

    gpusim__job *pend_head, *pend_tail; /* submitted, not yet prepared */
    gpusim__job *preparing;             /* being prepared (one at a time) */
    gpusim__job *run_head, *run_tail;   /* written to the ring, fence pending */
    uint64_t running;                   /* jobs on the running list */
    uint64_t next_id, next_seq, done_seq;
    unsigned host_ops; /* host calls not yet called back */

    gpusim__inv_wait *waits;

    /* fence-reload */
    bool evict_done; /* ... and the eviction has completed */
    bool evict_busy; /* a gpu ctx_evict / ctx_restore call is in flight */
    gpusim_time_t evicted_since;
    gpusim_event_t restore_ev;
    gpusim_event_t kick_ev; /* starts preparation after a submission, from an event */
    void *pol;              /* policy-private state */

    /* refault: the fault being served and the batch */
    gpusim__mirror_dev *dev;
    gpusim_driver_t *dev_next; /* drivers on the same device */

    /* checker */
    gpusim__notifier_watch watch;
    gpusim_violation_t viol[GPUSIM_DRIVER_VIOLATIONS_KEPT];
    size_t nviol;
    uint64_t pinned_pages;
};

/* Buffer lookup: the buffer containing va, or NULL. */
gpusim_buffer_t *gpusim__buf_find(const gpusim_driver_t *d, uint64_t va);

/* Pin accounting shared by the two pinning policies. */
void gpusim__drv_pinned(gpusim_driver_t *d, int64_t pages);

static inline gpusim_time_t drv_now(const gpusim_driver_t *d)
{
    return gpusim_world_now(d->world);
}

#endif /* GPUSIM_MIRROR_INT_H */
