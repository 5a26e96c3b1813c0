/*
 * gpusim/mirror.h -- driver policies that mirror a process into a GPU context, and the coherence
 * checker that proves them. Part of <gpusim.h>.
 *
 * A driver instance mirrors one simulated process into one GPU VM context that it creates. The
 * user registers buffers (user-pointer ranges of the process) and submits jobs (one kernel
 * dispatch or one copy) that name the buffers they use; the driver's policy decides what happens
 * at registration, at submission, at job completion, on a GPU fault and on a notifier
 * invalidation (docs/mirror.md has the table, and each rule's Linux counterpart):
 *
 *   pin             pin every page of the job's buffers at submission, unpin when its fence signals
 *   pin-persistent  long-term pin when a buffer is registered, unpin when it is unregistered
 *   fence-wait      validate at submission; an invalidation waits for the jobs using the range
 *   fence-reload    validate at submission; an invalidation evicts the process's queues and a
 *                   restore worker re-validates and resumes them
 *   refault         map nothing up front; GPU faults are served in batches; an invalidation zaps
 *   none            look the pages up at submission and never hear of a change (deliberately unsafe)
 *
 *     gpusim_driver_config_t cfg;
 *     gpusim_driver_config_init(&cfg, GPUSIM_POLICY_REFAULT);
 *     gpusim_driver_new(gpu, process, &cfg, &drv);
 *     gpusim_driver_register(drv, va, len, GPUSIM_BUFFER_WRITE, &buf, on_registered, ctx);
 *     gpusim_driver_submit(drv, &job, on_done, ctx);        // on_done(ctx, status, job id)
 *
 * The coherence checker sees every GPU access (compute and DMA) the driver's context makes and
 * compares it with the host's truth: a use-after-free is an access through a translation whose
 * host frame has been freed (or freed and reused) since the driver made it; a stale access is one
 * whose frame is still allocated but no longer mapped by the CPU at that address, the change
 * having completed (for a subscribing policy, its callback for that address has returned).
 *
 * Asynchronous calls take a gpusim_host_cb (data, status, result) and call it from an event,
 * never from inside the call. Everything runs in the world's virtual time.
 */
#ifndef GPUSIM_MIRROR_H
#define GPUSIM_MIRROR_H

#ifndef GPUSIM_H_INSIDE
#error "include <gpusim.h>, not its parts"
#endif

GPUSIM_BEGIN_DECLS

/** The policies: XX(NAME, "name"). */
#define GPUSIM_POLICY_MAP(XX)                                                                      \
    XX(NONE, "none")                                                                               \
    XX(PIN, "pin")                                                                                 \
    XX(PIN_PERSISTENT, "pin-persistent")                                                           \
    XX(FENCE_WAIT, "fence-wait")                                                                   \
    XX(FENCE_RELOAD, "fence-reload")                                                               \
    XX(REFAULT, "refault")

/** A driver policy. */
typedef enum gpusim_policy_e {
#define GPUSIM__POLICY_ENUM(NAME, name) GPUSIM_POLICY_##NAME,
    GPUSIM_POLICY_MAP(GPUSIM__POLICY_ENUM)
#undef GPUSIM__POLICY_ENUM
        GPUSIM_POLICY_COUNT /**< Number of policies. */
} gpusim_policy_t;

/** Returns a policy's name ("fence-wait"), or "?" if out of range. */
GPUSIM_EXTERN const char *gpusim_policy_name(gpusim_policy_t policy);

/** Looks a policy up by exact name. Returns 0 and sets *out, GPUSIM_EINVAL (NULL) or GPUSIM_ENOENT
 *  (*out untouched on error). */
GPUSIM_EXTERN int gpusim_policy_from_name(const char *name, gpusim_policy_t *out);

/** Room for the parameters in a gpusim_driver_config_t (more than there are). */
#define GPUSIM_DRIVER_PARAM_SLOTS 32

/** How to build a driver. Initialise with gpusim_driver_config_init(). */
typedef struct gpusim_driver_config_s {
    gpusim_policy_t policy; /**< The policy. */
    const char *name;       /**< [a-z0-9_], 1-31 characters; statistics go under
                                 "mirror.<name>.". Copied. NULL: "<gpu name>_<context id>". */
    /** Policy parameters by index; use gpusim_driver_config_set() / _get() by name. */
    uint64_t params_[GPUSIM_DRIVER_PARAM_SLOTS];
} gpusim_driver_config_t;

/** Fills *cfg with `policy` and every parameter's default (docs/mirror.md). NULL is ignored. */
GPUSIM_EXTERN void gpusim_driver_config_init(gpusim_driver_config_t *cfg, gpusim_policy_t policy);

/**
 * Sets parameter `name` from text with units ("1ms", "51%"). Returns 0, GPUSIM_EINVAL (NULL, or
 * text that does not parse), GPUSIM_ENOENT (no such parameter) or GPUSIM_ERANGE (outside its
 * plausible range and not `force`); `msg` (may be NULL) receives why. On error nothing changes.
 */
GPUSIM_EXTERN int gpusim_driver_config_set(gpusim_driver_config_t *cfg, const char *name,
                                           const char *value, bool force, char *msg, size_t msglen);

/** Reads parameter `name` in its base unit. Returns 0, GPUSIM_EINVAL (NULL) or GPUSIM_ENOENT. */
GPUSIM_EXTERN int gpusim_driver_config_get(const gpusim_driver_config_t *cfg, const char *name,
                                           uint64_t *value);

/** Fills *out for driver parameter number i. Returns 0, GPUSIM_EINVAL (NULL out), or GPUSIM_ENOENT
 *  past the end (*out untouched). */
GPUSIM_EXTERN int gpusim_driver_param_info(size_t i, gpusim_param_info_t *out);

/** A driver instance. Opaque; freed with gpusim_driver_free() or with its world. */
typedef struct gpusim_driver_s gpusim_driver_t;

/** A registered buffer. Opaque; owned by its driver. */
typedef struct gpusim_buffer_s gpusim_buffer_t;

/**
 * Creates a driver mirroring process `p` into a new context of `gpu` (named by the driver; read
 * it with gpusim_driver_ctx()), with one queue and one timeline fence. The driver installs the
 * device's fault handler the first time a driver is created on it (and shares it with later
 * drivers on that device). Returns 0 and sets *out, GPUSIM_EINVAL (NULL argument, unknown policy,
 * a bad name, a boolean parameter above 1, a ring_bytes that is not a power of two from
 * GPUSIM_PKT_RING_MIN to GPUSIM_PKT_RING_MAX, a fault_granule that is not a power of two of at
 * least 4 KiB, a process and a device of different worlds), GPUSIM_EEXIST (a driver of that name
 * exists or existed in the world), GPUSIM_EBUSY (the device already has a fault handler that is
 * not the drivers'), GPUSIM_ESRCH (the process is not live) or GPUSIM_ENOMEM. On error nothing
 * changed (except, for GPUSIM_ENOMEM, a context id consumed) and *out is untouched.
 */
GPUSIM_EXTERN int gpusim_driver_new(gpusim_gpu_t *gpu, gpusim_process_t *p,
                                    const gpusim_driver_config_t *cfg, gpusim_driver_t **out);

/**
 * Frees a driver: its jobs are abandoned (their callbacks never run), its buffers are unmapped
 * from the GPU and unpinned, their subscriptions removed, its context and queue freed. Returns 0,
 * GPUSIM_EINVAL (NULL) or GPUSIM_EBUSY (a host operation the driver started has not called back,
 * a notifier invalidation is running or waiting on the driver, or an eviction or restore of its
 * queues is in flight: run the world a little and try again). Freeing the world frees its
 * drivers.
 */
GPUSIM_EXTERN int gpusim_driver_free(gpusim_driver_t *drv);

/** Returns the driver's GPU context (NULL for NULL). */
GPUSIM_EXTERN gpusim_gpu_ctx_t *gpusim_driver_ctx(const gpusim_driver_t *drv);

/** Returns the driver's policy (GPUSIM_POLICY_COUNT for NULL). */
GPUSIM_EXTERN gpusim_policy_t gpusim_driver_policy(const gpusim_driver_t *drv);

/** Returns the driver's name (owned by the driver), or NULL for NULL. */
GPUSIM_EXTERN const char *gpusim_driver_name(const gpusim_driver_t *drv);

/** Buffer flag: the GPU may write the buffer (else it is mapped read-only). */
#define GPUSIM_BUFFER_WRITE 0x1u

/**
 * Registers [va, va + len) of the process as a buffer (a userptr BO, an RDMA MR): 4 KiB-aligned,
 * len > 0, below 2^48, not overlapping another buffer of this driver. *out is set at once; the
 * policy's registration work (pin-persistent pins and maps; subscribing policies insert an
 * interval notifier) then runs and `cb(data, status, 0)` reports it from an event. A buffer whose
 * registration failed must still be unregistered. Returns 0 (cb will run), GPUSIM_EINVAL (NULL,
 * misaligned, empty, past 2^48 or wrapping, unknown flags), GPUSIM_EEXIST (overlaps a buffer),
 * GPUSIM_ECTXKILLED (the context was killed), GPUSIM_ESRCH (the process is gone) or
 * GPUSIM_ENOMEM. Status: 0 or the error of the pin (GPUSIM_ENOMEM over the memlock limit,
 * GPUSIM_EFAULT for an unmapped page, ...).
 */
GPUSIM_EXTERN int gpusim_driver_register(gpusim_driver_t *drv, uint64_t va, uint64_t len,
                                         unsigned flags, gpusim_buffer_t **out, gpusim_host_cb cb,
                                         void *data);

/**
 * Unregisters a buffer: once no pending or running job uses it (jobs submitted before keep it
 * until they end), its GPU mappings are zapped, pins released and subscription removed, then
 * cb(data, 0, 0) runs and the handle is gone (using it after that is using a freed pointer).
 * Returns 0 (cb will run), GPUSIM_EINVAL (NULL) or GPUSIM_EBUSY (already being unregistered, its
 * registration has not reported yet, or a host call of it is in flight). Works on a driver whose
 * context was killed or whose process exited.
 */
GPUSIM_EXTERN int gpusim_driver_unregister(gpusim_buffer_t *buf, gpusim_host_cb cb, void *data);

/** Returns a buffer's range: *va and *len. Returns 0 or GPUSIM_EINVAL (a NULL argument; nothing
 *  written). */
GPUSIM_EXTERN int gpusim_buffer_range(const gpusim_buffer_t *buf, uint64_t *va, uint64_t *len);

/** What a job runs. */
typedef enum gpusim_job_kind_e {
    GPUSIM_JOB_DISPATCH = 0, /**< A kernel (gpusim_kernel_desc_t) on the compute engine. */
    GPUSIM_JOB_COPY = 1 /**< A copy of `copy_bytes` from copy_src to copy_dst on the DMA engine. */
} gpusim_job_kind_t;

/** Most buffers one job may name. */
#define GPUSIM_JOB_MAX_BUFFERS 16

/** A job: one dispatch or one copy, and the buffers it uses. */
typedef struct gpusim_job_desc_s {
    gpusim_job_kind_t kind;      /**< What it runs. */
    gpusim_kernel_desc_t kernel; /**< DISPATCH: the kernel; its buffer range must lie in one of
                                      the named buffers. */
    uint64_t copy_src;           /**< COPY: source and destination, each in a named buffer. */
    uint64_t copy_dst;           /**< COPY: destination. */
    uint64_t copy_bytes;         /**< COPY: bytes, > 0. */
    gpusim_buffer_t *buffers[GPUSIM_JOB_MAX_BUFFERS]; /**< The buffers it uses. */
    unsigned nbuffers;                                /**< 1 .. GPUSIM_JOB_MAX_BUFFERS. */
} gpusim_job_desc_t;

/**
 * Submits a job. Jobs of one driver are prepared (pinned or validated, per the policy) one at a
 * time in submission order and run in that order on the driver's queue; cb(data, status, id)
 * runs when the job has ended: status 0, GPUSIM_ECTXKILLED (the context was killed: a cancelled
 * fault, a device reset), GPUSIM_ETIMEDOUT (preparation kept colliding with invalidations for
 * longer than retry_timeout), or the error that made its preparation fail (GPUSIM_EFAULT: a page
 * of a buffer is not mapped; GPUSIM_ENOMEM; GPUSIM_ESRCH: the process is gone). `id` is the job's
 * number (1, 2, ...). The descriptor is copied. Returns 0 (cb will run), GPUSIM_EINVAL (NULL,
 * a bad kernel or copy, a range outside the named buffers, a buffer of another driver, being
 * unregistered or whose registration failed, too many or no buffers, one named twice),
 * GPUSIM_EBUSY (a named buffer's registration has not reported yet), GPUSIM_ECTXKILLED,
 * GPUSIM_ESRCH or GPUSIM_ENOMEM. On error nothing was submitted.
 */
GPUSIM_EXTERN int gpusim_driver_submit(gpusim_driver_t *drv, const gpusim_job_desc_t *job,
                                       gpusim_host_cb cb, void *data);

/** What a driver did, and what its checker saw. Times are virtual ns. */
typedef struct gpusim_driver_info_s {
    uint64_t jobs_submitted;      /**< Jobs accepted. */
    uint64_t jobs_completed;      /**< Jobs that ended with status 0. */
    uint64_t jobs_failed;         /**< Jobs that ended with an error. */
    uint64_t pins;                /**< Pages pinned (pin calls x pages). */
    uint64_t unpins;              /**< Pages unpinned. */
    uint64_t pinned_pages;        /**< Pages pinned now. */
    uint64_t pinned_pages_peak;   /**< Most pages pinned at once. */
    uint64_t pages_validated;     /**< Pages walked by hmm_range_fault (every attempt). */
    uint64_t pages_mapped;        /**< GPU page-table entries written. */
    uint64_t retries;             /**< Validations restarted after a collision. */
    uint64_t faults;              /**< GPU faults served (after coalescing). */
    uint64_t fault_batches;       /**< Fault batches handled. */
    uint64_t faults_dropped;      /**< Faults dropped as stale (raised before an unmap). */
    uint64_t faults_cancelled;    /**< Faults that killed the context. */
    uint64_t invalidations;       /**< Notifier callbacks received. */
    uint64_t refusals;            /**< Non-blockable invalidations refused. */
    uint64_t evictions;           /**< fence-reload: evictions of the queues. */
    uint64_t restores;            /**< fence-reload: clean restore passes (queues resumed). */
    uint64_t restore_retries;     /**< fence-reload: restore passes that had to reschedule. */
    gpusim_time_t submit_wait_ns; /**< Time jobs waited between submission and the doorbell. */
    gpusim_time_t evicted_ns;     /**< Time the queues were evicted (fence-reload). */
    gpusim_time_t fault_stall_ns; /**< Time from a fault being raised to its replay, per fault. */
    gpusim_time_t gpu_stall_ns;   /**< Time GPU work waited for the driver: each job's
                                       preparation (pins, validation, PTE writes) up to its
                                       doorbell, plus evicted_ns, plus fault_stall_ns. */
    gpusim_time_t blocked_ns[GPUSIM_INVALIDATOR_COUNT]; /**< Time this driver's callbacks kept
                                                             each kind of invalidator waiting. */
    uint64_t checked;                                   /**< GPU accesses the checker examined. */
    uint64_t use_after_free; /**< Accesses through a freed or reused frame. */
    uint64_t stale;          /**< Accesses through a frame the CPU no longer maps there. */
    uint64_t data_mismatch;  /**< Data mode: violating reads whose bytes differ from the
                                          CPU's view. */
} gpusim_driver_info_t;

/** Fills *out. Returns 0 or GPUSIM_EINVAL (a NULL argument; *out untouched). */
GPUSIM_EXTERN int gpusim_driver_info(const gpusim_driver_t *drv, gpusim_driver_info_t *out);

/** Kinds of coherence violation. */
typedef enum gpusim_violation_kind_e {
    GPUSIM_VIOLATION_USE_AFTER_FREE = 1, /**< The frame was freed or reused since it was mapped. */
    GPUSIM_VIOLATION_STALE = 2           /**< The CPU no longer maps the address to the frame. */
} gpusim_violation_kind_t;

/** One violation the checker recorded. */
typedef struct gpusim_violation_s {
    gpusim_violation_kind_t kind;  /**< What. */
    uint64_t va;                   /**< The GPU access's page. */
    uint64_t pfn;                  /**< The host frame the GPU used. */
    bool write;                    /**< A write access. */
    gpusim_time_t time;            /**< When the access was checked. */
    gpusim_time_t changed_at;      /**< When the host last announced a change over va (0: none). */
    gpusim_notifier_event_t event; /**< That change's event. */
    gpusim_invalidator_t by;       /**< And who made it. */
} gpusim_violation_t;

/** How many violations a driver keeps in detail (the first ones). */
#define GPUSIM_DRIVER_VIOLATIONS_KEPT 8

/**
 * Copies the first violations recorded (at most GPUSIM_DRIVER_VIOLATIONS_KEPT, oldest first) to
 * out[0 .. *n), at most `max`. Returns 0 or GPUSIM_EINVAL (NULL drv or n, NULL out with max > 0;
 * nothing written).
 */
GPUSIM_EXTERN int gpusim_driver_violations(const gpusim_driver_t *drv, gpusim_violation_t *out,
                                           size_t max, size_t *n);

/**
 * Verifies the driver's invariants: every GPU page-table entry of its context lies in a buffer and
 * agrees with the checker's record of it, pin counts match, no job is lost. Returns 0,
 * GPUSIM_ECORRUPT with the first violation in msg (may be NULL), or GPUSIM_EINVAL.
 */
GPUSIM_EXTERN int gpusim_driver_check(const gpusim_driver_t *drv, char *msg, size_t msglen);

GPUSIM_END_DECLS

#endif /* GPUSIM_MIRROR_H */
