/*
 * gpusim/gpu.h -- an emulated GPU: devices, VM contexts, their page tables and TLBs.
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
 * Ownership: devices and contexts are created and freed through this API; a device still alive
 * when its world is freed is freed with it (its contexts too). Every call validates its arguments
 * first and changes nothing when it fails.
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
                           (a compute engine and a DMA engine). */
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

/** Fills *out for GPU parameter number i. Returns 0, or GPUSIM_ENOENT when i is past the end. */
GPUSIM_EXTERN int gpusim_gpu_param_info(size_t i, gpusim_param_info_t *out);

/**
 * Creates a device in world w (cfg NULL: the defaults). Returns 0, GPUSIM_EINVAL (NULL w or out,
 * a bad name or engine count, TLB geometry that does not divide), GPUSIM_EEXIST (a device of that
 * name exists in the world) or GPUSIM_ENOMEM.
 */
GPUSIM_EXTERN int gpusim_gpu_new(gpusim_world_t *w, const gpusim_gpu_config_t *cfg,
                                 gpusim_gpu_t **out);

/** Frees a device and every context still on it. NULL is ignored. */
GPUSIM_EXTERN void gpusim_gpu_free(gpusim_gpu_t *gpu);

/** Returns the device's name (a string owned by the device). */
GPUSIM_EXTERN const char *gpusim_gpu_name(const gpusim_gpu_t *gpu);

/**
 * Verifies every invariant of the device: VRAM accounting, every context's page table (canonical
 * shape, counts, table frames), and that no TLB entry disagrees with its page table (a stale entry
 * is a bug in whoever changed the table without invalidating). Returns 0, or GPUSIM_ECORRUPT with
 * the first violation in msg (may be NULL), or GPUSIM_EINVAL for NULL.
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
 * cost: the context is gone). NULL is ignored.
 */
GPUSIM_EXTERN void gpusim_gpu_ctx_free(gpusim_gpu_ctx_t *ctx);

/** Returns the context's id (unique on its device, never reused; tags its TLB entries). */
GPUSIM_EXTERN uint32_t gpusim_gpu_ctx_id(const gpusim_gpu_ctx_t *ctx);

/** Returns the `data` given to gpusim_gpu_ctx_new(). */
GPUSIM_EXTERN void *gpusim_gpu_ctx_data(const gpusim_gpu_ctx_t *ctx);

/** Returns the device a context belongs to. */
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
 * NULL) receives the time the entry writes take (pte_update_per_4k each). Returns 0,
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
 * GPUSIM_EFAULT (va at or past GPUSIM_GPU_VA_END).
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
 * (va at or past GPUSIM_GPU_VA_END). Allocation-free; the hit path is the simulator's fastest.
 */
GPUSIM_EXTERN int gpusim_gpu_access(gpusim_gpu_ctx_t *ctx, unsigned engine, uint64_t va, bool write,
                                    gpusim_gpu_access_t *out);

GPUSIM_END_DECLS

#endif /* GPUSIM_GPU_H */
