/*
 * gpusim/gpu.h -- an emulated GPU: devices, VM contexts, their page tables and TLBs, faults,
 * queues, fences and preemption.
 * Part of <gpusim.h>.
 *
 * A device (gpusim_gpu_t) has VRAM, TLBs (one L1 per engine, a shared L2, a page-walk cache) and
 * any number of VM contexts (gpusim_gpu_ctx_t), one per (process, device) a driver mirrors. A
 * context owns a 4-level radix page table over a 48-bit VA whose table pages live in VRAM; its
 * entries map 4 KiB pages of host memory (GPUSIM_GPU_SYSTEM: the frame is a host frame number) or
 * of VRAM. The device picks 64 KiB fragments and 2 MiB leaves by itself wherever frames are
 * contiguous and aligned (docs/gpu.md).
 *
 * The operations a driver performs on the device -- writing entries, invalidating TLBs -- are
 * synchronous: they change the device's state at the current virtual instant and report the
 * virtual time they take (`*cost`, in ns, from the device's cost parameters), which the caller
 * charges to whatever actor performs them. Nothing here schedules events.
 *
 * Work reaches the device through user queues ("Queues"): rings of packets (gpusim/packet.h) that
 * the command processor executes in virtual time, one packet at a time, with timeline fences
 * ("Fences") for ordering between queues and with the host; the driver can evict and restore a
 * context's queues, or preempt and resume one queue ("Preemption"). Those parts schedule events;
 * callbacks always run from events.
 *
 * Ownership: devices and contexts are created and freed through this API; a device still alive
 * when its world is freed is freed with it (its contexts too), and a context takes its queues with
 * it. Every call validates its arguments first and changes nothing when it fails.
 */
#ifndef GPUSIM_GPU_H
#define GPUSIM_GPU_H

#ifndef GPUSIM_H_INSIDE
#error "include <gpusim.h>, not its parts"
#endif

GPUSIM_BEGIN_DECLS

/** An emulated GPU. Opaque. */
typedef struct gpusim_gpu_s gpusim_gpu_t;

/** A GPU VM context: one address space (page table) on one device. Opaque. */
typedef struct gpusim_gpu_ctx_s gpusim_gpu_ctx_t;

/** Room for the cost parameters in a gpusim_gpu_config_t (more than the device has). */
#define GPUSIM_GPU_PARAM_SLOTS 128

/** Most engines (each with its own L1 TLB) a device may have. */
#define GPUSIM_GPU_MAX_ENGINES 1024

/** How to build a device. Initialise with gpusim_gpu_config_init(), then change what you need. */
typedef struct gpusim_gpu_config_s {
    const char *name; /**< [a-z0-9_], 1-31 characters; statistics go under "gpu.<name>.".
                           Copied. Default "gpu0". */
    unsigned engines; /**< Engines with their own L1 TLB, 1..GPUSIM_GPU_MAX_ENGINES. Default 2
                           (a compute engine and a DMA engine). Each is a uTLB of the fault
                           buffer: fault_outstanding_per_utlb applies per engine. */
    bool replayable;  /**< Replayable faults (default true): a faulting access stalls until the
                           driver replays. False: a fault kills its context at once. */
    /** Cost parameters by index; use gpusim_gpu_config_set() / _get() by name. */
    uint64_t params_[GPUSIM_GPU_PARAM_SLOTS];
} gpusim_gpu_config_t;

/** Fills *cfg with the defaults (the H100-class preset of docs/gpu.md). NULL is ignored. */
GPUSIM_EXTERN void gpusim_gpu_config_init(gpusim_gpu_config_t *cfg);

/**
 * Sets the cost parameter `name` from text with units ("125ns", "80GiB", "4096"). A value outside
 * the parameter's plausible range is refused with GPUSIM_ERANGE unless `force`. Returns 0,
 * GPUSIM_EINVAL (NULL argument, or text that does not parse), GPUSIM_ENOENT (no such parameter)
 * or GPUSIM_ERANGE; `msg` (may be NULL) receives an explanation. On error nothing changes.
 */
GPUSIM_EXTERN int gpusim_gpu_config_set(gpusim_gpu_config_t *cfg, const char *name,
                                        const char *value, bool force, char *msg, size_t msglen);

/** Reads the cost parameter `name` in its base unit. Returns 0, GPUSIM_EINVAL or GPUSIM_ENOENT. */
GPUSIM_EXTERN int gpusim_gpu_config_get(const gpusim_gpu_config_t *cfg, const char *name,
                                        uint64_t *value);

/** Fills *out for GPU parameter number i. Returns 0, GPUSIM_EINVAL (NULL out), or GPUSIM_ENOENT
 *  when i is past the end (*out untouched). */
GPUSIM_EXTERN int gpusim_gpu_param_info(size_t i, gpusim_param_info_t *out);

/**
 * Creates a device in world w (cfg NULL: the defaults). Returns 0, GPUSIM_EINVAL (NULL w or out,
 * a bad name or engine count, TLB geometry that does not divide, or a parameter past a hard bound
 * that `force` cannot lift: a zero bandwidth, compute_units, engine_quantum or fault_batch_max,
 * VRAM under one page, a fault buffer of 0 or more than 2^20 - 1 entries, 0 or more than 1024
 * outstanding faults per uTLB, a replay policy other than 1..3), GPUSIM_EEXIST (a device of that
 * name exists or existed in the world: statistics outlive devices) or GPUSIM_ENOMEM. A refused
 * call registers nothing; *out is untouched on error.
 */
GPUSIM_EXTERN int gpusim_gpu_new(gpusim_world_t *w, const gpusim_gpu_config_t *cfg,
                                 gpusim_gpu_t **out);

/** Frees a device and every context still on it. NULL is ignored. */
GPUSIM_EXTERN void gpusim_gpu_free(gpusim_gpu_t *gpu);

/** Returns the device's name (a string owned by the device), or NULL for NULL. */
GPUSIM_EXTERN const char *gpusim_gpu_name(const gpusim_gpu_t *gpu);

/**
 * Verifies every invariant of the device: VRAM accounting, every context's page table (canonical
 * shape, counts, table frames), that no TLB entry disagrees with its page table (a stale entry
 * is a bug in whoever changed the table without invalidating: the driver invalidates in the same
 * call that changes a translation, so this holds between any two events), and that no fence's
 * value is below the one the previous check of this device saw (fence monotonicity; recording
 * those values is the only thing the check writes, and the simulation never reads them). Returns
 * 0, or GPUSIM_ECORRUPT with the first violation in msg (may be NULL), or GPUSIM_EINVAL for NULL.
 */
GPUSIM_EXTERN int gpusim_gpu_check(const gpusim_gpu_t *gpu, char *msg, size_t msglen);

/**
 * Creates a VM context on the device (its root table takes one VRAM frame); `data` is the
 * caller's, returned by gpusim_gpu_ctx_data(). Returns 0, GPUSIM_EINVAL or GPUSIM_ENOMEM (no
 * memory, or VRAM full).
 */
GPUSIM_EXTERN int gpusim_gpu_ctx_new(gpusim_gpu_t *gpu, void *data, gpusim_gpu_ctx_t **out);

/**
 * Frees a context: its page table goes back to VRAM and its TLB entries are dropped (without a
 * cost: the context is gone); its queues are freed (gpusim_gpu_queue_free()) and an eviction or
 * restore in progress is dropped (its callback never runs). NULL is ignored.
 */
GPUSIM_EXTERN void gpusim_gpu_ctx_free(gpusim_gpu_ctx_t *ctx);

/** Returns the context's id (unique on its device, never reused; tags its TLB entries); 0 for
 *  NULL. */
GPUSIM_EXTERN uint32_t gpusim_gpu_ctx_id(const gpusim_gpu_ctx_t *ctx);

/** Returns the `data` given to gpusim_gpu_ctx_new() (NULL for NULL). */
GPUSIM_EXTERN void *gpusim_gpu_ctx_data(const gpusim_gpu_ctx_t *ctx);

/** Returns the device a context belongs to (NULL for NULL). */
GPUSIM_EXTERN gpusim_gpu_t *gpusim_gpu_ctx_gpu(const gpusim_gpu_ctx_t *ctx);

/** Page-table entry flag: the GPU may read the page. */
#define GPUSIM_GPU_READ   0x1u
/** Page-table entry flag: the GPU may write the page. */
#define GPUSIM_GPU_WRITE  0x2u
/** Page-table entry flag: the frame is host memory (a host frame number), reached over the bus;
 *  without it the frame is a VRAM frame. */
#define GPUSIM_GPU_SYSTEM 0x4u

/** Highest frame number an entry can hold (40 bits of 4 KiB frames: a 52-bit physical address). */
#define GPUSIM_GPU_FRAME_MAX ((UINT64_C(1) << 40) - 1)

/** End of the GPU virtual address space (48 bits). */
#define GPUSIM_GPU_VA_END (UINT64_C(1) << 48)

/**
 * Maps [va, va + len) to frames[0 .. len / 4 KiB) (one frame per 4 KiB page) with `flags`
 * (GPUSIM_GPU_READ / _WRITE / _SYSTEM), replacing whatever was mapped there. Does not touch the
 * TLBs: replacing a valid translation needs an invalidation, as on real hardware. *cost (may be
 * NULL; untouched on error) receives the time the entry writes take (pte_update_per_4k each).
 * Returns 0,
 * GPUSIM_EINVAL (NULL ctx or frames, va or len not 4 KiB-aligned, len 0, unknown flags, a frame
 * over GPUSIM_GPU_FRAME_MAX), GPUSIM_EFAULT (the range wraps or passes GPUSIM_GPU_VA_END) or
 * GPUSIM_ENOMEM (no memory or no VRAM for table pages). On error nothing changed.
 */
GPUSIM_EXTERN int gpusim_gpu_map(gpusim_gpu_ctx_t *ctx, uint64_t va, uint64_t len,
                                 const uint64_t *frames, unsigned flags, gpusim_time_t *cost);

/** Unmaps [va, va + len) (holes are ignored). No TLB effect; *cost and errors as for map. */
GPUSIM_EXTERN int gpusim_gpu_unmap(gpusim_gpu_ctx_t *ctx, uint64_t va, uint64_t len,
                                   gpusim_time_t *cost);

/**
 * Sets the permissions of every mapped page in [va, va + len) to `perms` (GPUSIM_GPU_READ /
 * _WRITE; 0 keeps the pages mapped but inaccessible); holes are ignored. No TLB effect; *cost and
 * errors as for map.
 */
GPUSIM_EXTERN int gpusim_gpu_protect(gpusim_gpu_ctx_t *ctx, uint64_t va, uint64_t len,
                                     unsigned perms, gpusim_time_t *cost);

/**
 * Invalidates the context's cached translations overlapping [va, va + len) in every TLB of the
 * device (and the page-walk cache). *cost (may be NULL) receives tlb_inval_range. Returns 0,
 * GPUSIM_EINVAL (NULL ctx, len 0) or GPUSIM_EFAULT (the range wraps or passes GPUSIM_GPU_VA_END).
 */
GPUSIM_EXTERN int gpusim_gpu_tlb_invalidate(gpusim_gpu_ctx_t *ctx, uint64_t va, uint64_t len,
                                            gpusim_time_t *cost);

/** Invalidates everything cached for the context. *cost: tlb_inval_context. 0 or GPUSIM_EINVAL. */
GPUSIM_EXTERN int gpusim_gpu_tlb_invalidate_ctx(gpusim_gpu_ctx_t *ctx, gpusim_time_t *cost);

/** Invalidates every TLB of the device. *cost: tlb_inval_global. 0 or GPUSIM_EINVAL. */
GPUSIM_EXTERN int gpusim_gpu_tlb_invalidate_all(gpusim_gpu_t *gpu, gpusim_time_t *cost);

/** What a context's page table says about one address. */
typedef struct gpusim_gpu_pte_s {
    bool valid;         /**< A translation exists. */
    unsigned flags;     /**< GPUSIM_GPU_READ / _WRITE / _SYSTEM, when valid. */
    uint64_t frame;     /**< Frame of this address's 4 KiB page, when valid. */
    uint64_t page_size; /**< Size of the page the entry maps: 4 KiB, 64 KiB or 2 MiB; 0 if none. */
} gpusim_gpu_pte_t;

/**
 * Reads the translation of va from the page table (not the TLBs: no cost, no TLB or statistics
 * effect). Returns 0 (out->valid says whether there is one), GPUSIM_EINVAL (NULL) or
 * GPUSIM_EFAULT (va at or past GPUSIM_GPU_VA_END); *out is untouched on those errors.
 */
GPUSIM_EXTERN int gpusim_gpu_translate(const gpusim_gpu_ctx_t *ctx, uint64_t va,
                                       gpusim_gpu_pte_t *out);

/** Where gpusim_gpu_access() found its translation. */
typedef enum gpusim_gpu_xlate_source_e {
    GPUSIM_GPU_XLATE_L1 = 1, /**< The engine's L1 TLB. */
    GPUSIM_GPU_XLATE_L2,     /**< The shared L2 TLB. */
    GPUSIM_GPU_XLATE_WALK    /**< A page-table walk (after the page-walk cache). */
} gpusim_gpu_xlate_source_t;

/** The outcome of one engine access (gpusim_gpu_access()). */
typedef struct gpusim_gpu_access_s {
    uint64_t pa;                      /**< Address in the aperture `flags` names; 0 on a fault. */
    unsigned flags;                   /**< GPUSIM_GPU_READ / _WRITE / _SYSTEM of the translation
                                           used (as cached: possibly stale). */
    uint64_t page_size;               /**< 4 KiB, 64 KiB or 2 MiB; 0 when nothing translated. */
    gpusim_time_t cost;               /**< Virtual time of the translation. */
    gpusim_gpu_xlate_source_t source; /**< Where it was found (walk for a fault). */
} gpusim_gpu_access_t;

/**
 * Translates one access by engine `engine` (0 .. engines - 1) of the context's device to `va`, as
 * the hardware would: the engine's L1 TLB, then the L2, then a walk that fills both; the TLBs may
 * hold a translation the page table no longer has (until invalidated), and that is what is used.
 * `write` asks for write permission. Returns 0 with *out filled; GPUSIM_EGPUFAULT when there is
 * no valid translation or it lacks the permission (out->cost is still the time spent; the engines
 * turn this into a fault-buffer entry); GPUSIM_EINVAL (NULL, engine out of range) or GPUSIM_EFAULT
 * (va at or past GPUSIM_GPU_VA_END), *out untouched. A pure translation: a killed context still
 * translates (gpusim_gpu_touch() is what refuses it). Allocation-free; the hit path is the
 * simulator's fastest.
 */
GPUSIM_EXTERN int gpusim_gpu_access(gpusim_gpu_ctx_t *ctx, unsigned engine, uint64_t va, bool write,
                                    gpusim_gpu_access_t *out);

/**
 * Translates the accesses va[0 .. n) by engine `engine` of the context's device, in order, exactly
 * as n calls gpusim_gpu_access(ctx, engine, va[i], write, &out[i]) would: the same out[] values,
 * return code, TLB contents and LRU order, costs and statistics. Faster than the loop: the context
 * and engine are resolved once, and the lines that later misses will read (L2 TLB sets, page-table
 * entries) are prefetched while earlier ones are translated, so walks overlap.
 *
 * Stops at the first access that does not return 0 and returns its code, with *done its index:
 * GPUSIM_EGPUFAULT (out[*done] filled as gpusim_gpu_access fills it: the cost, the source, and the
 * page size when a translation without the permission was found) or GPUSIM_EFAULT (va[*done] at
 * or past GPUSIM_GPU_VA_END; out[*done] untouched). out[0 .. *done) hold the accesses before it,
 * and the accesses after it are not made (no TLB or statistics effect). Returns 0 with *done = n
 * when every access succeeded; n = 0 is valid (0, *done = 0, va may then be NULL).
 *
 * GPUSIM_EINVAL: NULL ctx, out or done, NULL va with n > 0, engine out of range; nothing changes
 * and *done and out[] are untouched. va[] and out[] belong to the caller and are not kept;
 * out must hold n elements. Allocation-free.
 */
GPUSIM_EXTERN int gpusim_gpu_access_batch(gpusim_gpu_ctx_t *ctx, unsigned engine,
                                          const uint64_t *va, size_t n, bool write,
                                          gpusim_gpu_access_t *out, size_t *done);

/* ---- Address traces ---------------------------------------------------------------------- */

/**
 * Registers an address trace for TRACE kernels (a DISPATCH with pattern GPUSIM_PATTERN_TRACE names
 * it by `*id`). The text is one access per line, `R|W <offset> [<bytes>]` -- the offset in the
 * kernel's buffer, decimal or 0x-hex; bytes 1..4096, default 4096 -- with `#` comments and blank
 * lines (docs/gpu.md, "Address traces"); a scenario reads it from a file and passes the text. The
 * text is copied. Returns 0 with *id (nonzero, never reused on the device), GPUSIM_EINVAL (NULL gpu
 * or id, NULL text with len > 0; or text that does not parse, with "line N: ..." in msg: a bad
 * line, a NUL byte, no record at all), or GPUSIM_ENOMEM; on error nothing is kept and *id is
 * untouched. Traces live as long as the device.
 */
GPUSIM_EXTERN int gpusim_gpu_trace_load(gpusim_gpu_t *gpu, const char *text, size_t len,
                                        uint32_t *id, char *msg, size_t msglen);

/* ---- Faults ------------------------------------------------------------------------------ */

/** One GPU page fault as the driver fetches it: duplicates coalesced (same context and page). */
typedef struct gpusim_gpu_fault_s {
    gpusim_gpu_ctx_t *ctx; /**< The faulting context. */
    uint64_t va;           /**< The page (4 KiB aligned). */
    bool write;            /**< A write among the coalesced accesses. */
    uint32_t duplicates;   /**< Raw entries coalesced into this one beyond the first. */
    gpusim_time_t time;    /**< When the earliest of them was raised. */
} gpusim_gpu_fault_t;

/** The device interrupts the driver: faults wait in the buffer (gpusim_gpu_fault_fetch()). */
typedef void (*gpusim_gpu_fault_handler)(gpusim_gpu_t *gpu, void *data);

/**
 * Installs the driver's fault interrupt handler (NULL: none; faults then wait in the buffer and
 * their requesters stay stalled). The handler runs in an event, fault_interrupt after the first
 * fault of an episode (a fault queued since the driver last fetched), once per episode. Returns 0
 * or GPUSIM_EINVAL.
 */
GPUSIM_EXTERN int gpusim_gpu_set_fault_handler(gpusim_gpu_t *gpu, gpusim_gpu_fault_handler cb,
                                               void *data);

/**
 * Fetches a batch: pops up to `max` raw entries (0 or more than fault_batch_max: fault_batch_max)
 * in arrival order, sorts and coalesces them, and writes the unique faults to out[0 .. *n) (out
 * must hold `max` entries; faults of contexts freed meanwhile are left out). *cost (may be NULL):
 * fault_batch_fixed + fault_sw_per_fault per raw entry + fault_per_vablock per distinct (context,
 * 2 MiB block) of the unique faults, the driver's time to do it. Returns 0 (an empty buffer gives
 * *n = 0), or GPUSIM_EINVAL (NULL gpu, out or n; *n and *cost untouched).
 */
GPUSIM_EXTERN int gpusim_gpu_fault_fetch(gpusim_gpu_t *gpu, gpusim_gpu_fault_t *out, size_t max,
                                         size_t *n, gpusim_time_t *cost);

/**
 * Replays under the device's fault_replay_policy: BATCH replays; BATCH_FLUSH first discards what
 * is left in the buffer (those requesters fault again); ONCE replays only once the buffer is empty
 * and returns GPUSIM_EAGAIN otherwise (fetch more first). Every stalled requester retries its
 * access fault_replay ns from now; *cost (may be NULL; untouched on error) is fault_replay. Returns
 * 0, GPUSIM_EAGAIN or GPUSIM_EINVAL (NULL).
 */
GPUSIM_EXTERN int gpusim_gpu_fault_replay(gpusim_gpu_t *gpu, gpusim_time_t *cost);

/**
 * Kills a context (the driver cancelling its faults, a non-replayable fault, a device reset): its
 * entries leave the fault buffer, its stalled requesters end with GPUSIM_ECTXKILLED, and every
 * later touch of it (gpusim_gpu_touch()) fails with GPUSIM_ECTXKILLED. Its queues stop in error with `err` (their jobs
 * end with GPUSIM_ECTXKILLED), the fences their unexecuted FENCE_SIGNAL packets name fail with
 * GPUSIM_ECTXKILLED, an eviction or restore in progress ends with GPUSIM_ECTXKILLED, and later
 * doorbells and queues fail with GPUSIM_ECTXKILLED. Other contexts are not affected. `err`
 * (negative) is recorded for gpusim_gpu_ctx_error(). Returns 0, GPUSIM_EINVAL (NULL, or `err` not
 * negative), or GPUSIM_EBUSY (already killed: the first error stays).
 */
GPUSIM_EXTERN int gpusim_gpu_ctx_kill(gpusim_gpu_ctx_t *ctx, int err);

/** Returns 0 while the context is alive, else the error it was killed with; GPUSIM_EINVAL for
 *  NULL. */
GPUSIM_EXTERN int gpusim_gpu_ctx_error(const gpusim_gpu_ctx_t *ctx);

/** A requester whose access faulted and must wait (see gpusim_gpu_touch()). */
typedef struct gpusim_gpu_req_s gpusim_gpu_req_t;

/**
 * Runs when a stalled access completes: status 0 with *a (the translation, after a replay), or
 * GPUSIM_ECTXKILLED (a is NULL). The requester is idle again when it runs.
 */
typedef void (*gpusim_gpu_touch_cb)(gpusim_gpu_req_t *req, int status,
                                    const gpusim_gpu_access_t *a);

/**
 * One engine access that may fault: an engine's wave or DMA chunk, caller-allocated. Initialise
 * with gpusim_gpu_req_init(); it must stay valid while it waits.
 */
struct gpusim_gpu_req_s {
    void *data; /**< User slot, set by gpusim_gpu_touch(). */
    /* Private: maintained by the device. */
    gpusim_event_t ev_;      /**< Delivers the retry or the end. */
    gpusim_gpu_req_t *prev_; /**< Neighbours in the device's list of waiting requesters. */
    gpusim_gpu_req_t *next_;
    gpusim_gpu_t *gpu_;      /**< The device, while waiting. */
    gpusim_gpu_ctx_t *ctx_;  /**< The context, while waiting (NULL once it is killed). */
    gpusim_gpu_touch_cb cb_; /**< Callback. */
    uint64_t va_;            /**< The access. */
    unsigned engine_;        /**< Its engine (uTLB). */
    bool write_;             /**< A write. */
    int state_;              /**< Idle, stalled, retrying, or ending. */
    gpusim_time_t since_;    /**< When it first faulted. */
};

/** Initialises an idle requester. NULL is ignored. */
GPUSIM_EXTERN void gpusim_gpu_req_init(gpusim_gpu_req_t *req);

/**
 * An access by `engine` to `va` that may fault. If the translation is there (and permits the
 * access), *a is filled and 0 is returned; the callback is not called. Otherwise the fault goes to
 * the fault buffer (or is throttled by the engine's outstanding-fault limit, or dropped when the
 * buffer is full: the requester stalls either way), GPUSIM_EINPROGRESS is returned, and `cb` runs
 * once, after a replay found the translation (retrying as often as needed) or when the context is
 * killed. On a non-replayable device the fault kills the context: GPUSIM_ECTXKILLED. Errors:
 * GPUSIM_EINVAL (NULL, bad engine, `req` already waiting), GPUSIM_EFAULT (va outside the VA),
 * GPUSIM_ECTXKILLED (the context is dead), GPUSIM_ENOMEM (no room to queue the wait: nothing
 * happened).
 */
GPUSIM_EXTERN int gpusim_gpu_touch(gpusim_gpu_ctx_t *ctx, unsigned engine, uint64_t va, bool write,
                                   gpusim_gpu_req_t *req, gpusim_gpu_touch_cb cb, void *data,
                                   gpusim_gpu_access_t *a);

/* ---- Queues ------------------------------------------------------------------------------ */

/**
 * A user queue: a ring buffer of packets (gpusim/packet.h, docs/packets.md) on one context, run by
 * the device's command processor. The host writes packets with gpusim_gpu_queue_write() and makes
 * them visible with gpusim_gpu_queue_doorbell(); the queue then executes them in order, one at a
 * time, each after a fetch-and-decode time (cp_packet). Opaque; freed with its context.
 */
typedef struct gpusim_gpu_queue_s gpusim_gpu_queue_t;

/** What a queue is doing (gpusim_gpu_queue_info()). */
typedef enum gpusim_gpu_queue_state_e {
    GPUSIM_GPU_QUEUE_IDLE = 0,  /**< Every packet published by a doorbell has completed. */
    GPUSIM_GPU_QUEUE_RUNNING,   /**< Fetching or executing a packet (a job on an engine too). */
    GPUSIM_GPU_QUEUE_WAITING,   /**< Blocked on a FENCE_WAIT until its fence reaches the value. */
    GPUSIM_GPU_QUEUE_PREEMPTED, /**< Held: its context is being evicted, is evicted or is
                                     being restored, or the queue itself is being preempted, is
                                     preempted or is being resumed. No packet issues until every
                                     hold is lifted (the restore, the resume completes). */
    GPUSIM_GPU_QUEUE_ERROR      /**< Stopped for good at a packet; the error says why. */
} gpusim_gpu_queue_state_t;

/**
 * Why a queue stopped. The strings are static, except `message` for a job an engine refused,
 * which the queue owns: all stay valid until the queue is freed.
 */
typedef struct gpusim_gpu_queue_error_s {
    int code;            /**< 0 while the queue is not in error. GPUSIM_EINVAL: a malformed
                              packet, or a job the engine refused; GPUSIM_ENOENT: a fence handle
                              that names no fence; GPUSIM_ERANGE: a FENCE_SIGNAL value not above
                              the fence's; a failed fence's error (FENCE_WAIT, FENCE_SIGNAL);
                              the context's kill error (gpusim_gpu_ctx_error()) when it was
                              killed; GPUSIM_ENOMEM: no memory to run the packet. */
    uint64_t offset;     /**< Ring counter (bytes since creation) of the packet it stopped at;
                              rptr stays there. */
    uint32_t opcode;     /**< That packet's opcode field; 0 if its header was not read. */
    const char *reason;  /**< Short name: the decoder's ("unknown_opcode", "truncated", ...,
                              docs/packets.md) or the command processor's ("unknown_fence",
                              "fence_value", "fence_failed", "context_killed", "job_refused",
                              "no_memory"); NULL while not in error. */
    const char *message; /**< A sentence saying what went wrong; NULL while not in error. */
    const char *field;   /**< The packet field the decoder blames, or NULL. */
} gpusim_gpu_queue_error_t;

/** A snapshot of a queue (gpusim_gpu_queue_info()). */
typedef struct gpusim_gpu_queue_info_s {
    gpusim_gpu_queue_state_t state; /**< What it is doing. */
    uint32_t size;                  /**< Ring size in bytes. */
    uint64_t rptr;                  /**< Counter of the packet in progress or next to run: the
                                         ring space before it is free. */
    uint64_t wptr;                  /**< Counter after the last byte written. */
    uint64_t doorbell;              /**< wptr as of the last doorbell: the stream it may run. */
    uint64_t packets;               /**< Packets completed. */
    gpusim_gpu_queue_error_t error; /**< Why it stopped, when state is GPUSIM_GPU_QUEUE_ERROR. */
} gpusim_gpu_queue_info_t;

/**
 * Creates a queue on the context with a ring of `ring_bytes` bytes (a power of two from
 * GPUSIM_PKT_RING_MIN to GPUSIM_PKT_RING_MAX), owned by the queue and zero-filled; rptr = wptr =
 * 0. A queue of an evicted context is preempted until the restore. Returns 0, GPUSIM_EINVAL (NULL,
 * a ring size that is not such a power of two), GPUSIM_ECTXKILLED (the context was killed) or
 * GPUSIM_ENOMEM; *out is untouched on error.
 */
GPUSIM_EXTERN int gpusim_gpu_queue_new(gpusim_gpu_ctx_t *ctx, uint32_t ring_bytes,
                                       gpusim_gpu_queue_t **out);

/**
 * Frees a queue. Work in flight is abandoned: its job is cancelled on its engine, its fence wait
 * ends, and every fence that one of its published but unexecuted FENCE_SIGNAL packets names fails
 * with GPUSIM_ECANCELED (its waiters wake with it), since that signal will never come. Freeing a
 * context or a device frees its queues. NULL is ignored.
 */
GPUSIM_EXTERN void gpusim_gpu_queue_free(gpusim_gpu_queue_t *q);

/**
 * Copies `len` bytes (a multiple of 4, > 0) into the ring at wptr, wrapping at its end, and
 * advances wptr; the queue does not see them before the next doorbell. Returns 0, GPUSIM_EINVAL
 * (NULL, len 0 or not a multiple of 4), or GPUSIM_ENOSPC when the ring lacks room (the space of
 * packets not yet completed is not free); on error nothing is written. Writing to a queue of a
 * killed context or stopped in error is accepted (the ring is the host's memory); its doorbell is
 * refused.
 */
GPUSIM_EXTERN int gpusim_gpu_queue_write(gpusim_gpu_queue_t *q, const void *bytes, size_t len);

/**
 * Rings the doorbell: publishes wptr. An idle queue starts fetching at the current virtual time.
 * Returns 0, GPUSIM_EINVAL, GPUSIM_ECTXKILLED (the context was killed) or GPUSIM_ECANCELED (the
 * queue stopped in error: read why with gpusim_gpu_queue_info(), then free it).
 */
GPUSIM_EXTERN int gpusim_gpu_queue_doorbell(gpusim_gpu_queue_t *q);

/** Fills *out with the queue's state, pointers and error. Returns 0 or GPUSIM_EINVAL (a NULL
 *  argument; *out untouched). */
GPUSIM_EXTERN int gpusim_gpu_queue_info(const gpusim_gpu_queue_t *q, gpusim_gpu_queue_info_t *out);

/* ---- Preemption -------------------------------------------------------------------------- */

/**
 * Runs when an eviction, a restore, a queue preemption or a queue resume ends: status 0, or why it
 * failed (see each call).
 */
typedef void (*gpusim_gpu_ctx_cb)(void *data, int status);

/**
 * Evicts every queue of the context (the driver preempting a process's queues): from now on they
 * issue no new packet; the context's jobs are preempted at their next preemption point; once all
 * have stopped, saving their state takes preempt_save, then cb(data, 0) runs and the context stays
 * evicted until gpusim_gpu_ctx_restore(). If the whole preemption has not completed within
 * queue_preempt_timeout of this call, the device is reset: every context on it is killed with
 * GPUSIM_ETIMEDOUT (their queues stop in error, their jobs end) and cb(data, GPUSIM_ETIMEDOUT)
 * runs. If the context is killed meanwhile, cb(data, GPUSIM_ECTXKILLED). Freeing the context
 * drops the eviction (cb never runs). Returns 0 (cb will run, from an event), GPUSIM_EINVAL (NULL
 * ctx or cb), GPUSIM_ECTXKILLED, GPUSIM_EBUSY (evicted already, or an eviction or restore is in progress)
 * or GPUSIM_ENOMEM.
 */
GPUSIM_EXTERN int gpusim_gpu_ctx_evict(gpusim_gpu_ctx_t *ctx, gpusim_gpu_ctx_cb cb, void *data);

/**
 * Restores an evicted context: after queue_resume, its jobs continue where they stopped, its
 * queues issue packets again (work published meanwhile included) and cb(data, 0) runs; a kill
 * meanwhile gives cb(data, GPUSIM_ECTXKILLED). Returns 0 (cb will run, from an event),
 * GPUSIM_EINVAL (NULL ctx or cb, or the context is not evicted), GPUSIM_ECTXKILLED, GPUSIM_EBUSY (an
 * eviction or restore is in progress) or GPUSIM_ENOMEM.
 */
GPUSIM_EXTERN int gpusim_gpu_ctx_restore(gpusim_gpu_ctx_t *ctx, gpusim_gpu_ctx_cb cb, void *data);

/**
 * Preempts one queue alone (other queues of its context go on): from now on it issues no new
 * packet (a fetch in progress is redone after the resume; a FENCE_WAIT stays blocked); its job, if
 * one is running, is preempted at its next preemption point; once it has stopped, saving its state
 * takes preempt_save, then cb(data, 0) runs and the queue stays preempted (state
 * GPUSIM_GPU_QUEUE_PREEMPTED; doorbells are accepted) until gpusim_gpu_queue_resume(). As for an
 * eviction, if the preemption has not completed within queue_preempt_timeout of this call the
 * device is reset (every context on it killed with GPUSIM_ETIMEDOUT) and cb(data,
 * GPUSIM_ETIMEDOUT) runs; a kill of the context meanwhile gives cb(data, GPUSIM_ECTXKILLED); freeing
 * the queue or its context drops the preemption (cb never runs). A queue preemption and an eviction
 * of its context are independent holds, each with its own cost and callback: the queue issues
 * again only when both are lifted. Returns 0 (cb will run, from an event), GPUSIM_EINVAL (NULL q or
 * cb), GPUSIM_ECTXKILLED, GPUSIM_ECANCELED (the queue stopped in error), GPUSIM_EBUSY (the queue is
 * preempted already, or its preemption or resume is in progress) or GPUSIM_ENOMEM.
 */
GPUSIM_EXTERN int gpusim_gpu_queue_preempt(gpusim_gpu_queue_t *q, gpusim_gpu_ctx_cb cb, void *data);

/**
 * Resumes a preempted queue: after queue_resume, its job continues where it stopped, the queue
 * issues packets again (work published meanwhile included) and cb(data, 0) runs -- unless its
 * context is evicted, in which case both wait for the context's restore. A kill meanwhile gives
 * cb(data, GPUSIM_ECTXKILLED); freeing the queue drops it. Returns 0 (cb will run, from an event),
 * GPUSIM_EINVAL (NULL q or cb, or the queue is not preempted), GPUSIM_ECTXKILLED, GPUSIM_EBUSY (its
 * preemption or resume is in progress) or GPUSIM_ENOMEM.
 */
GPUSIM_EXTERN int gpusim_gpu_queue_resume(gpusim_gpu_queue_t *q, gpusim_gpu_ctx_cb cb, void *data);

/* ---- Fences ------------------------------------------------------------------------------ */

/**
 * Private: the size, in 64-bit words, of the device's waiter inside a gpusim_gpu_fence_waiter_t
 * (checked at compile time by the library).
 */
#define GPUSIM_GPU_FENCE_WAITER_WORDS 32

/** A host-side wait on a device fence (defined below). */
typedef struct gpusim_gpu_fence_waiter_s gpusim_gpu_fence_waiter_t;

/**
 * Runs when a host wait ends: status 0 (the fence reached the value), GPUSIM_EFENCETIMEDOUT, or
 * the fence's error (GPUSIM_ECTXKILLED: the queue that would have signalled it was killed;
 * GPUSIM_ECANCELED: it was freed or stopped in error). The waiter is idle again when it runs.
 */
typedef void (*gpusim_gpu_fence_cb)(gpusim_gpu_fence_waiter_t *waiter, int status);

/**
 * A host-side actor waiting on a device fence. Caller-allocated; initialise with
 * gpusim_gpu_fence_waiter_init(); it must stay valid while it waits (cancel it first).
 */
struct gpusim_gpu_fence_waiter_s {
    void *data; /**< User slot, set by gpusim_gpu_fence_wait(); never dereferenced by gpusim. */
    /* Private: maintained by the device. */
    gpusim_gpu_fence_cb cb_;          /**< Callback. */
    gpusim_gpu_t *gpu_;               /**< The device while waiting, else NULL. */
    gpusim_gpu_fence_waiter_t *prev_; /**< Neighbours among the device's waiting host waiters. */
    gpusim_gpu_fence_waiter_t *next_;
    uint64_t impl_[GPUSIM_GPU_FENCE_WAITER_WORDS]; /**< The device's own fence waiter. */
};

/**
 * Creates a timeline fence (a 64-bit value that only increases) with value `initial` and returns
 * its handle: non-zero, never reused on the device, what FENCE_SIGNAL and FENCE_WAIT packets
 * name. Returns 0, GPUSIM_EINVAL (NULL), GPUSIM_ENOMEM or GPUSIM_ENOSPC (2^32 - 1 handles used).
 */
GPUSIM_EXTERN int gpusim_gpu_fence_new(gpusim_gpu_t *gpu, uint64_t initial, uint32_t *handle);

/**
 * Frees a fence. Returns 0, GPUSIM_EINVAL (NULL gpu), GPUSIM_ENOENT (no such fence: 0, never
 * created, or freed already -- handles are never reused) or GPUSIM_EBUSY (a queue or a host waiter
 * is waiting on it). A packet naming it later stops its queue in error.
 */
GPUSIM_EXTERN int gpusim_gpu_fence_free(gpusim_gpu_t *gpu, uint32_t handle);

/**
 * Reads a fence: *value (may be NULL) its value, *error (may be NULL) 0 or the error it failed
 * with. Returns 0, GPUSIM_EINVAL (NULL gpu) or GPUSIM_ENOENT (no such fence, as for
 * gpusim_gpu_fence_free()); both are untouched on error.
 */
GPUSIM_EXTERN int gpusim_gpu_fence_value(const gpusim_gpu_t *gpu, uint32_t handle, uint64_t *value,
                                         int *error);

/**
 * Signals a fence from the host: its value becomes `value`, and every waiter (queue or host) whose
 * target it reaches wakes, through events at the current time. Returns 0, GPUSIM_EINVAL (NULL, or
 * value not above the current value), GPUSIM_ENOENT, or the fence's error if it failed.
 */
GPUSIM_EXTERN int gpusim_gpu_fence_signal(gpusim_gpu_t *gpu, uint32_t handle, uint64_t value);

/** Initialises an idle host waiter. NULL is ignored. */
GPUSIM_EXTERN void gpusim_gpu_fence_waiter_init(gpusim_gpu_fence_waiter_t *waiter);

/**
 * Waits, from the host, until fence `handle` reaches `value`, for at most `timeout` ns
 * (GPUSIM_TIME_MAX: for ever; 0: poll). Returns 0 (reached already; cb is not called),
 * GPUSIM_EINPROGRESS (cb runs once, later, from an event: 0, GPUSIM_EFENCETIMEDOUT at now +
 * timeout, or the fence's error), GPUSIM_EFENCETIMEDOUT (timeout 0, not reached), the fence's
 * error (it failed before reaching value), GPUSIM_EINVAL (NULL), GPUSIM_ENOENT (no such fence),
 * GPUSIM_EBUSY (the waiter is waiting) or GPUSIM_ENOMEM; only EINPROGRESS leaves it waiting. If
 * the device is freed, a waiting waiter becomes idle and cb never runs.
 */
GPUSIM_EXTERN int gpusim_gpu_fence_wait(gpusim_gpu_t *gpu, uint32_t handle, uint64_t value,
                                        gpusim_gpu_fence_waiter_t *waiter, gpusim_gpu_fence_cb cb,
                                        void *data, gpusim_time_t timeout);

/**
 * Stops a waiting host waiter; its callback will not run. Returns 0, GPUSIM_ENOENT (not waiting)
 * or GPUSIM_EINVAL.
 */
GPUSIM_EXTERN int gpusim_gpu_fence_waiter_cancel(gpusim_gpu_fence_waiter_t *waiter);

GPUSIM_END_DECLS

#endif /* GPUSIM_GPU_H */
