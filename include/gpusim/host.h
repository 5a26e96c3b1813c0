/*
 * gpusim/host.h -- the simulated host memory manager: physical memory, processes and their
 * address spaces, and the kernel activity that changes them. Part of <gpusim.h>.
 *
 * A host is one machine's memory: frames of 4 KiB (2 MiB compound frames for THP), a swap device,
 * one or more NUMA nodes with min/low/high watermarks, and the kernel actors that run by themselves
 * in virtual time: kswapd (one per node), direct reclaim in allocating threads, the OOM killer and
 * OOM reaper, khugepaged and compaction. Processes have VMAs and a 4-level CPU page table and do
 * what a harness or a scenario tells them: mmap, munmap, mremap, mprotect, madvise, CPU accesses,
 * fork, exit. Each process owns one notifier domain (gpusim_process_notifier()), and every change
 * of a translation is announced through it, with Linux's event, range, blockability and invalidator
 * kind, before the old frame can be reused (docs/host.md has the table).
 *
 * Operations that can block in virtual time (anything that may invalidate, allocate, reclaim or
 * wait for I/O) are asynchronous. They validate their arguments at once: an invalid call returns a
 * negative error code and nothing happens. A call that returns 0 has been accepted, and `cb` runs
 * later from an event, exactly once, with the operation's status and result, when the operation's
 * virtual time (its costs, plus any time it was blocked) has passed (`cb` may be NULL: the
 * operation runs all the same). A process's threads are
 * independent: several operations of one process may be in flight at once.
 *
 * Costs come from named parameters (gpusim_host_config_set(), docs/host.md lists each with its
 * source); no cost is written in the code.
 */
#ifndef GPUSIM_HOST_H
#define GPUSIM_HOST_H

#ifndef GPUSIM_H_INSIDE
#error "include <gpusim.h>, not its parts"
#endif

GPUSIM_BEGIN_DECLS

/** Size of a host base page (a frame). */
#define GPUSIM_HOST_PAGE_SIZE 4096u
/** Size of a host huge page (a PMD-mapped compound frame). */
#define GPUSIM_HOST_HUGE_SIZE (2u * 1024u * 1024u)
/** Highest user address + 1: a 48-bit address space, as x86-64 with 4-level page tables. */
#define GPUSIM_HOST_VA_END    (UINT64_C(1) << 47)
/** Lowest address a mapping may have: Linux's default vm.mmap_min_addr (64 KiB). */
#define GPUSIM_HOST_VA_START  UINT64_C(0x10000)

/** A simulated host. Opaque; owned by its world. */
typedef struct gpusim_host_s gpusim_host_t;
/** A simulated process. Opaque; owned by its host. */
typedef struct gpusim_process_s gpusim_process_t;
/** A simulated file (page-cache backed). Opaque; owned by its host. */
typedef struct gpusim_file_s gpusim_file_t;

/** Transparent huge pages (/sys/kernel/mm/transparent_hugepage/enabled). */
typedef enum gpusim_thp_mode_e {
    GPUSIM_THP_NEVER = 0,   /**< No THP. */
    GPUSIM_THP_MADVISE = 1, /**< Only in MADV_HUGEPAGE regions (the common distribution default). */
    GPUSIM_THP_ALWAYS = 2   /**< Every large enough anonymous region. */
} gpusim_thp_mode_t;

/** Room for cost parameters in gpusim_host_config_t (more than are defined; ABI headroom). */
#define GPUSIM_HOST_PARAM_SLOTS 96

/**
 * A host's configuration. Initialise with gpusim_host_config_init(); set the structural fields
 * directly and cost parameters by name with gpusim_host_config_set().
 */
typedef struct gpusim_host_config_s {
    uint64_t ram_bytes;     /**< Physical memory; a multiple of 2 MiB per node. Default 1 GiB. */
    uint64_t swap_bytes;    /**< Swap device size (multiple of 4 KiB; 0: no swap). Default 1 GiB. */
    unsigned nodes;         /**< NUMA nodes (1..64), RAM split evenly. Default 1. */
    uint64_t movable_bytes; /**< Per node: the top part that is ZONE_MOVABLE (2 MiB multiple). */
    gpusim_thp_mode_t thp;  /**< THP mode. Default GPUSIM_THP_MADVISE. */
    bool data_mode;         /**< Frames carry 4 KiB of contents. Default off (no cost when off). */
    bool khugepaged;        /**< Run khugepaged (THP collapse). Default on. */
    bool mirror_aging; /**< Device accesses reported by mirrors keep pages young. Default on. */
    /** Private: cost parameters, indexed by name through gpusim_host_config_set(). */
    uint64_t params_[GPUSIM_HOST_PARAM_SLOTS];
} gpusim_host_config_t;

/** Sets every field to its default. NULL is ignored. */
GPUSIM_EXTERN void gpusim_host_config_init(gpusim_host_config_t *cfg);

/**
 * Sets the cost parameter `name` (as listed by gpusim_host_param_info()) from text with units
 * ("2.3us", "55GB/s", "32", "60%", "on"). A value outside the parameter's plausible range is
 * refused unless `force`. Returns 0, GPUSIM_EINVAL (NULL, malformed value), GPUSIM_ENOENT (no such
 * parameter) or GPUSIM_ERANGE; on error the config is unchanged and `msg` (may be NULL) explains.
 */
GPUSIM_EXTERN int gpusim_host_config_set(gpusim_host_config_t *cfg, const char *name,
                                         const char *value, bool force, char *msg, size_t msglen);

/** Reads the cost parameter `name` in its base unit. Returns 0, GPUSIM_EINVAL or GPUSIM_ENOENT. */
GPUSIM_EXTERN int gpusim_host_config_get(const gpusim_host_config_t *cfg, const char *name,
                                         uint64_t *value);

/** Fills *out for host parameter number i. Returns 0, GPUSIM_EINVAL (NULL out), or GPUSIM_ENOENT
 *  when i is past the end (*out untouched). */
GPUSIM_EXTERN int gpusim_host_param_info(size_t i, gpusim_param_info_t *out);

/**
 * Creates a host in world `w`. Freeing the world frees it. Returns 0 and sets *out, GPUSIM_EINVAL
 * (NULL, a RAM size that is zero, not a multiple of 2 MiB per node or over 16 TiB, swap_bytes not a
 * multiple of 4 KiB or over 2^32 pages, movable_bytes not a multiple of 2 MiB or not smaller than a
 * node, nodes out of range, thp out of range, a cost parameter below its minimum as in a config
 * never initialised) or GPUSIM_ENOMEM; *out is untouched on error.
 */
GPUSIM_EXTERN int gpusim_host_new(gpusim_world_t *w, const gpusim_host_config_t *cfg,
                                  gpusim_host_t **out);

/**
 * Frees a host, its processes, files and all their memory. Subscriptions still registered on a
 * process's notifier domain are left to the world (the domains go with the world). Returns 0,
 * GPUSIM_EINVAL (NULL) or GPUSIM_EBUSY (operations are in flight, or a driver mirrors one of its
 * processes: free the driver first; nothing is freed).
 */
GPUSIM_EXTERN int gpusim_host_free(gpusim_host_t *h);

/** Memory accounting of a host, in bytes unless stated. */
typedef struct gpusim_host_meminfo_s {
    uint64_t total;      /**< Physical memory. */
    uint64_t free;       /**< Free frames. */
    uint64_t anon;       /**< Anonymous frames (private and COW copies). */
    uint64_t file;       /**< Page cache of files. */
    uint64_t shmem;      /**< Shared anonymous memory. */
    uint64_t pinned;     /**< Frames with a pin count. */
    uint64_t thp;        /**< Frames in 2 MiB compound frames. */
    uint64_t swap_total; /**< Swap device size. */
    uint64_t swap_used;  /**< Swap slots in use. */
    uint64_t wmark_min;  /**< Min watermark (summed over nodes): below it, direct reclaim. */
    uint64_t wmark_low;  /**< Low watermark: below it kswapd is woken. */
    uint64_t wmark_high; /**< High watermark: kswapd reclaims up to it. */
} gpusim_host_meminfo_t;

/** Fills *out. Returns 0 or GPUSIM_EINVAL (a NULL argument; *out untouched). */
GPUSIM_EXTERN int gpusim_host_meminfo(const gpusim_host_t *h, gpusim_host_meminfo_t *out);

/**
 * Checks every invariant of the host: frame reference, map and pin counts against the page tables
 * and pins, reverse maps, LRU and free-list membership, accounting, swap slot counts, VMA trees,
 * page tables against VMAs and RSS. O(memory); reads the host only. Returns 0, GPUSIM_ECORRUPT with
 * the first violation described in msg (may be NULL), GPUSIM_EINVAL (h NULL) or GPUSIM_ENOMEM (no
 * memory for its scratch arrays, which it frees before returning).
 */
GPUSIM_EXTERN int gpusim_host_check(const gpusim_host_t *h, char *msg, size_t msglen);

/* ------------------------------------------------------------------------------------------- */
/* Frames                                                                                      */
/* ------------------------------------------------------------------------------------------- */

/** Frame states. */
typedef enum gpusim_frame_state_e {
    GPUSIM_FRAME_FREE = 0,    /**< On a free list. */
    GPUSIM_FRAME_USED = 1,    /**< Allocated (anonymous, page cache, or a compound head). */
    GPUSIM_FRAME_TAIL = 2,    /**< Part of a 2 MiB compound frame (not its first). */
    GPUSIM_FRAME_RESERVED = 3 /**< The shared zero page. */
} gpusim_frame_state_t;

/** What a frame is, as the host sees it now. */
typedef struct gpusim_frame_info_s {
    gpusim_frame_state_t state; /**< State. */
    uint32_t gen;               /**< Generation: incremented every time the frame is freed. */
    uint32_t refcount;          /**< References: mappings, pins, page cache. */
    uint32_t mapcount; /**< Page-table entries mapping it (for a compound head: PMD mappings). */
    uint32_t pincount; /**< Pins. */
    unsigned node;     /**< NUMA node. */
    bool anon;         /**< Anonymous (private) memory. */
    bool movable;      /**< In ZONE_MOVABLE. */
    bool compound;     /**< Part of a 2 MiB compound frame. */
    bool dirty;        /**< Modified since last written to swap or file. */
} gpusim_frame_info_t;

/** Fills *out for frame `pfn`. Returns 0, GPUSIM_EINVAL (NULL) or GPUSIM_ERANGE (no such frame);
 *  *out is untouched on error. */
GPUSIM_EXTERN int gpusim_host_frame_info(const gpusim_host_t *h, uint64_t pfn,
                                         gpusim_frame_info_t *out);

/**
 * Reads or writes frame contents, as a device's DMA would (data mode only). [off, off + len) must lie
 * in the 4 KiB frame. Returns 0, GPUSIM_EINVAL (NULL h or buf), GPUSIM_ENOTSUP (not data mode;
 * checked before the range) or GPUSIM_ERANGE (no such frame, or the bytes leave it). Writing marks
 * the frame dirty; writing a free frame (one freed since its number was read, say) or the zero
 * page is GPUSIM_EFAULT.
 */
GPUSIM_EXTERN int gpusim_host_frame_read(const gpusim_host_t *h, uint64_t pfn, uint32_t off,
                                         void *buf, uint32_t len);

/** See gpusim_host_frame_read(). */
GPUSIM_EXTERN int gpusim_host_frame_write(gpusim_host_t *h, uint64_t pfn, uint32_t off,
                                          const void *buf, uint32_t len);

/**
 * A mirror reports that its device accessed frame `pfn` (like a secondary MMU answering
 * clear_flush_young): reclaim then sees the page as recently used. Ignored (returns 0) when the
 * host's mirror_aging is off. Returns 0, GPUSIM_EINVAL or GPUSIM_ERANGE.
 */
GPUSIM_EXTERN int gpusim_host_mark_accessed(gpusim_host_t *h, uint64_t pfn);

/* ------------------------------------------------------------------------------------------- */
/* Files                                                                                       */
/* ------------------------------------------------------------------------------------------- */

/**
 * Creates a file of `size` bytes (a multiple of 4 KiB, at most 1 TiB) whose pages are read into the
 * page cache on first access (clean zeros, or in data mode a pattern derived from the file's number
 * and page index). Returns 0 and sets *out, GPUSIM_EINVAL or GPUSIM_ENOMEM.
 */
GPUSIM_EXTERN int gpusim_host_file_new(gpusim_host_t *h, uint64_t size, gpusim_file_t **out);

/* ------------------------------------------------------------------------------------------- */
/* Processes                                                                                   */
/* ------------------------------------------------------------------------------------------- */

/** A process's configuration. Initialise with gpusim_process_config_init(). */
typedef struct gpusim_process_config_s {
    const char *name;       /**< [a-z0-9_]{1,31}, unique in the host; NULL: "p<number>". */
    unsigned node;          /**< Preferred NUMA node. Default 0. */
    uint64_t memlock_limit; /**< RLIMIT_MEMLOCK for pins, bytes; UINT64_MAX: none. Default 8 MiB. */
    bool oom_unkillable;    /**< oom_score_adj = -1000: the OOM killer never picks it. */
} gpusim_process_config_t;

/** Sets every field to its default. NULL is ignored. */
GPUSIM_EXTERN void gpusim_process_config_init(gpusim_process_config_t *cfg);

/**
 * Creates a process with an empty address space and its notifier domain. Returns 0 and sets *out,
 * GPUSIM_EINVAL (NULL, bad name, node out of range), GPUSIM_EEXIST (name taken), GPUSIM_ENOSPC
 * (65535 processes) or GPUSIM_ENOMEM.
 */
GPUSIM_EXTERN int gpusim_process_new(gpusim_host_t *h, const gpusim_process_config_t *cfg,
                                     gpusim_process_t **out);

/**
 * Returns the notifier domain announcing this process's translation changes (NULL for NULL). It
 * belongs to the process: subscribe to it, but do not free it (gpusim_notifier_free() refuses).
 */
GPUSIM_EXTERN gpusim_notifier_t *gpusim_process_notifier(const gpusim_process_t *p);

/** Returns the process's name ("?" for NULL). */
GPUSIM_EXTERN const char *gpusim_process_name(const gpusim_process_t *p);

/** Process lifecycle. */
typedef enum gpusim_process_state_e {
    GPUSIM_PROCESS_LIVE = 0,    /**< Running. */
    GPUSIM_PROCESS_EXITING = 1, /**< Exit (or an OOM kill) is tearing the address space down. */
    GPUSIM_PROCESS_DEAD = 2     /**< Gone; its memory is freed (a zombie kept for its figures). */
} gpusim_process_state_t;

/** Figures of one process. Memory figures are bytes. */
typedef struct gpusim_process_info_s {
    gpusim_process_state_t state; /**< State. */
    bool oom_killed;              /**< Killed by the OOM killer. */
    uint64_t rss_anon;            /**< Anonymous memory mapped. */
    uint64_t rss_file;            /**< File pages mapped. */
    uint64_t rss_shmem;           /**< Shared anonymous pages mapped. */
    uint64_t swap;                /**< Swap entries in its page table. */
    uint64_t pinned;              /**< pinned_vm: bytes pinned and charged to its memlock limit. */
    uint64_t vmas;                /**< Number of VMAs. */
    uint64_t faults_minor;        /**< CPU faults that did not allocate or read. */
    uint64_t faults_major;        /**< CPU faults that read swap. */
    uint64_t faults_zero;         /**< Demand-zero faults (4 KiB or 2 MiB). */
    uint64_t faults_cow;          /**< Copy-on-write breaks. */
    uint64_t alloc_stalls;        /**< Allocations that entered direct reclaim. */
    gpusim_time_t alloc_stall_ns; /**< Total time allocations were stalled in direct reclaim. */
} gpusim_process_info_t;

/** Fills *out (a dead process keeps its figures). Returns 0 or GPUSIM_EINVAL (a NULL argument;
 *  *out untouched). */
GPUSIM_EXTERN int gpusim_process_info(const gpusim_process_t *p, gpusim_process_info_t *out);

/** The CPU translation of one address, as the process's page table holds it now. */
typedef struct gpusim_host_pte_s {
    bool present;  /**< Mapped to a frame. */
    bool writable; /**< Writable in the page table (false for COW-shared and read-only pages). */
    bool huge;     /**< Mapped by a 2 MiB entry. */
    bool swapped;  /**< A swap entry (not present). */
    uint64_t pfn;  /**< Frame of this address's 4 KiB page, when present. */
} gpusim_host_pte_t;

/**
 * Looks up the CPU page table of `p` at address `va`. An address without an entry gives all false.
 * Returns 0, GPUSIM_EINVAL (NULL, va outside the user address space; *out untouched) or
 * GPUSIM_ESRCH (dead; *out all false).
 */
GPUSIM_EXTERN int gpusim_process_translate(const gpusim_process_t *p, uint64_t va,
                                           gpusim_host_pte_t *out);

/** Completion of an asynchronous host operation: status 0 or a negative error, and a result. */
typedef void (*gpusim_host_cb)(void *data, int status, uint64_t result);

/** mmap protection bits: none. */
#define GPUSIM_PROT_NONE  0u
/** Readable. */
#define GPUSIM_PROT_READ  1u
/** Writable (implies readable, as on x86). */
#define GPUSIM_PROT_WRITE 2u
/** Executable (recorded; no effect on the simulation). */
#define GPUSIM_PROT_EXEC  4u

/** mmap flags: exactly one of PRIVATE and SHARED. Private: copy-on-write. */
#define GPUSIM_MAP_PRIVATE         0x1u
/** Shared: writes reach the file or shared object and every process mapping it. */
#define GPUSIM_MAP_SHARED          0x2u
/** Place the mapping exactly at addr, replacing what is there (an UNMAP is announced first). */
#define GPUSIM_MAP_FIXED           0x4u
/** As FIXED, but fail with GPUSIM_EEXIST if anything is mapped there. */
#define GPUSIM_MAP_FIXED_NOREPLACE 0x8u
/** Fault every page in before completing (MAP_POPULATE). */
#define GPUSIM_MAP_POPULATE        0x10u

/**
 * Maps `len` bytes (rounded up to 4 KiB) of anonymous memory (`file` NULL) or of `file` from byte
 * `offset` (4 KiB aligned). Without FIXED, `addr` is a hint (used if free, else the highest free
 * gap below the mmap base is taken). Result: the address. Errors at call time: GPUSIM_EINVAL (len 0,
 * unaligned addr with FIXED or offset, bad flags or prot, a range outside the address space or a
 * FIXED addr below GPUSIM_HOST_VA_START, a file range past the end of the file, an offset without
 * a file), GPUSIM_ESRCH (not live). Status:
 * GPUSIM_ENOMEM (no room in the address space, vm.max_map_count reached, or a shared anonymous
 * mapping beyond 16 TiB, the most pages a shared object can index), GPUSIM_EEXIST
 * (FIXED_NOREPLACE over a mapping), or for POPULATE the error of the fault that failed.
 */
GPUSIM_EXTERN int gpusim_process_mmap(gpusim_process_t *p, uint64_t addr, uint64_t len,
                                      unsigned prot, unsigned flags, gpusim_file_t *file,
                                      uint64_t offset, gpusim_host_cb cb, void *data);

/**
 * Unmaps [addr, addr + len) (len rounded up), splitting VMAs at the edges and huge mappings that
 * straddle them, announcing UNMAP over the whole range once (if anything is mapped in it).
 * Unmapping nothing succeeds. Result 0. Errors at call time: GPUSIM_EINVAL (unaligned addr, len 0,
 * outside the address space), GPUSIM_ESRCH.
 */
GPUSIM_EXTERN int gpusim_process_munmap(gpusim_process_t *p, uint64_t addr, uint64_t len,
                                        gpusim_host_cb cb, void *data);

/** mremap flags. */
#define GPUSIM_MREMAP_MAYMOVE 0x1u
/** Move to exactly new_addr (requires MAYMOVE), replacing what is there. */
#define GPUSIM_MREMAP_FIXED   0x2u

/**
 * Resizes or moves the mapping at [old_addr, old_addr + old_len), which must lie in one VMA. Shrinks
 * in place; grows in place if the space after it is free, else moves (MAYMOVE) to a new place, or to
 * new_addr (FIXED). Moving announces UNMAP over the old range. Result: the new address. Errors:
 * GPUSIM_EINVAL (unaligned, zero new_len, FIXED without MAYMOVE, overlapping FIXED ranges, a
 * FIXED new_addr below GPUSIM_HOST_VA_START),
 * GPUSIM_EFAULT (the old range is not one mapping), GPUSIM_ENOMEM (cannot grow in place and may
 * not move, or no room), GPUSIM_ESRCH.
 */
GPUSIM_EXTERN int gpusim_process_mremap(gpusim_process_t *p, uint64_t old_addr, uint64_t old_len,
                                        uint64_t new_len, unsigned flags, uint64_t new_addr,
                                        gpusim_host_cb cb, void *data);

/**
 * Changes the protection of [addr, addr + len), splitting VMAs at the edges. Announces
 * PROTECTION_VMA over each VMA part whose protection changes; removing write write-protects the
 * entries at once, adding it leaves that to write faults. Errors at call time: GPUSIM_EINVAL
 * (unaligned, bad prot), GPUSIM_ESRCH. Status GPUSIM_ENOMEM when the range has a hole: as in Linux,
 * the VMA parts before the hole have been changed.
 */
GPUSIM_EXTERN int gpusim_process_mprotect(gpusim_process_t *p, uint64_t addr, uint64_t len,
                                          unsigned prot, gpusim_host_cb cb, void *data);

/** madvise advice. */
typedef enum gpusim_madvise_e {
    GPUSIM_MADV_DONTNEED = 0, /**< Drop the pages now (CLEAR); anonymous reads see zeros again. */
    GPUSIM_MADV_FREE = 1,     /**< Private anonymous: reclaim may drop them if not written again. */
    GPUSIM_MADV_PAGEOUT = 2,  /**< Reclaim the pages now (swap anonymous ones out). */
    GPUSIM_MADV_HUGEPAGE = 3, /**< Allow THP here (and let khugepaged collapse it). */
    GPUSIM_MADV_NOHUGEPAGE = 4 /**< Forbid THP here. */
} gpusim_madvise_t;

/**
 * Applies `advice` to [addr, addr + len). Errors at call time: GPUSIM_EINVAL (unaligned, unknown
 * advice), GPUSIM_ESRCH. Status: GPUSIM_EINVAL (FREE on a shared or file mapping), GPUSIM_ENOMEM
 * (part of the range is unmapped; Linux still applies the advice to the mapped parts, and so does
 * gpusim).
 */
GPUSIM_EXTERN int gpusim_process_madvise(gpusim_process_t *p, uint64_t addr, uint64_t len,
                                         gpusim_madvise_t advice, gpusim_host_cb cb, void *data);

/** CPU access kinds. */
typedef enum gpusim_access_e {
    GPUSIM_ACCESS_READ = 0, /**< Load: demand-zero faults map the zero page. */
    GPUSIM_ACCESS_WRITE = 1 /**< Store: allocates, breaks copy-on-write, dirties. */
} gpusim_access_t;

/**
 * The process's CPU reads or writes every page of [addr, addr + len), faulting as needed
 * (demand-zero, swap-in, copy-on-write), each with its cost. In data mode, `buf` (may be NULL) is
 * copied from (write) or into (read) the pages; it must stay valid until `cb`. Result: bytes
 * accessed. An access to an unmapped address or against the protection stops there with
 * GPUSIM_EFAULT (the process would get SIGSEGV; gpusim leaves it alive); an allocation that the OOM
 * killer cannot satisfy ends with GPUSIM_ENOMEM; a process killed meanwhile ends with GPUSIM_ESRCH.
 * Errors at call time: GPUSIM_EINVAL (len 0, wrapping, bad kind, buf without data mode),
 * GPUSIM_ESRCH.
 */
GPUSIM_EXTERN int gpusim_process_access(gpusim_process_t *p, uint64_t addr, uint64_t len,
                                        gpusim_access_t kind, void *buf, gpusim_host_cb cb,
                                        void *data);

/**
 * Forks `p`: the child (created now, configured by `cfg`, usable once `cb` ran) gets a copy of the
 * address space; private memory becomes copy-on-write in both (the parent's writable anonymous
 * PTEs are write-protected, announced as PROTECTION_PAGE), shared mappings stay shared, and pinned
 * anonymous pages are copied for the child at once so the parent keeps the pinned page. Result: 0.
 * Errors at call time as gpusim_process_new(), plus GPUSIM_ESRCH.
 */
GPUSIM_EXTERN int gpusim_process_fork(gpusim_process_t *p, const gpusim_process_config_t *cfg,
                                      gpusim_process_t **child, gpusim_host_cb cb, void *data);

/**
 * Exits: the address space is torn down (RELEASE announced over everything first, blockable), its
 * memory freed, and the process becomes DEAD. Operations still in flight end with GPUSIM_ESRCH.
 * Errors: GPUSIM_EINVAL, GPUSIM_ESRCH (already exiting or dead).
 */
GPUSIM_EXTERN int gpusim_process_exit(gpusim_process_t *p, gpusim_host_cb cb, void *data);

/* ------------------------------------------------------------------------------------------- */
/* Pinning and mirroring (what driver policies call)                                           */
/* ------------------------------------------------------------------------------------------- */

/** Pin flags. */
#define GPUSIM_PIN_WRITE    0x1u
/** A long-term pin (FOLL_LONGTERM): movable pages are migrated out of ZONE_MOVABLE first. */
#define GPUSIM_PIN_LONGTERM 0x2u

/**
 * Pins `npages` pages from `addr` (pin_user_pages): faults them in (writable if GPUSIM_PIN_WRITE,
 * breaking copy-on-write), raises their pin counts and stores their frame numbers in pfns[0..n).
 * The bytes are charged to the process's locked-memory limit first; over it, GPUSIM_ENOMEM and
 * nothing is pinned (as RDMA's ib_umem_get). If a page cannot be pinned (unmapped, protection, out
 * of memory) the pins taken so far are released and the status is that error. Result: pages pinned.
 * Errors at call time: GPUSIM_EINVAL (NULL, unaligned, npages 0, a range leaving the address
 * space, bad flags), GPUSIM_ESRCH, GPUSIM_ENOMEM (over the limit).
 */
GPUSIM_EXTERN int gpusim_process_pin(gpusim_process_t *p, uint64_t addr, uint64_t npages,
                                     unsigned flags, uint64_t *pfns, gpusim_host_cb cb, void *data);

/**
 * Releases pins taken by gpusim_process_pin() on `p` (unpin_user_pages), marking the frames dirty
 * if `dirty`, and uncharges the locked memory. A frame whose last reference this was is freed.
 * Synchronous; if `cost` is not NULL it receives the time the call takes (0 on error). Returns 0,
 * GPUSIM_EINVAL (NULL p, NULL pfns with npages > 0, more pages than `p` has pinned, or a frame in
 * the list that is not pinned -- past the end, freed, unpinned already, or listed more often than
 * it is pinned: nothing is released). npages 0 does nothing.
 */
GPUSIM_EXTERN int gpusim_process_unpin(gpusim_process_t *p, const uint64_t *pfns, uint64_t npages,
                                       bool dirty, gpusim_time_t *cost);

/** hmm_range_fault input and output bits, per page (the frame number is stored from bit 12). */
#define GPUSIM_HMM_REQ_FAULT 0x1u
/** Request: the page must end up writable. */
#define GPUSIM_HMM_REQ_WRITE 0x2u
/** Output: the page is present and readable; the frame is hmm_pfns[i] >> GPUSIM_HMM_PFN_SHIFT. */
#define GPUSIM_HMM_PFN_VALID 0x1u
/** Output: the page is writable. */
#define GPUSIM_HMM_PFN_WRITE 0x2u
/** Output: the page can never be accessed (no VMA, or no read permission). */
#define GPUSIM_HMM_PFN_ERROR 0x4u
/** Output: mapped by a 2 MiB entry. */
#define GPUSIM_HMM_PFN_HUGE  0x8u
/** Where the frame number starts in an output entry. */
#define GPUSIM_HMM_PFN_SHIFT 12

/**
 * hmm_range_fault: for each of `npages` pages from `start`, with request
 * (hmm_pfns[i] & mask) | default_flags, either snapshots the CPU page table (request 0) or faults
 * the page in (GPUSIM_HMM_REQ_FAULT, plus REQ_WRITE for writable), and writes the result into
 * hmm_pfns[i]. If `sub` is not NULL, the walk stops with GPUSIM_ERETRY as soon as an invalidation
 * has started over `sub` since the read_begin that returned `seq` (Linux's -EBUSY). Status: 0,
 * GPUSIM_EFAULT (a requested page has no VMA or lacks read permission), GPUSIM_EPERM (write
 * requested on a VMA without write), GPUSIM_ERETRY, GPUSIM_ENOMEM, GPUSIM_ESRCH. Result: pages
 * faulted. Errors at call time: GPUSIM_EINVAL (NULL p or hmm_pfns, npages 0, start unaligned, a
 * range leaving the address space, unknown default_flags bits, a `sub` not in p's notifier domain
 * or being removed), GPUSIM_ESRCH. `sub` cannot be removed until `cb` has run
 * (gpusim_notifier_remove() returns GPUSIM_EBUSY meanwhile); hmm_pfns must stay valid until then.
 */
GPUSIM_EXTERN int gpusim_process_range_fault(gpusim_process_t *p, gpusim_notifier_sub_t *sub,
                                             uint64_t seq, uint64_t start, uint64_t npages,
                                             uint64_t default_flags, uint64_t mask,
                                             uint64_t *hmm_pfns, gpusim_host_cb cb, void *data);

/**
 * Compacts node `node` now (echo 1 > /proc/sys/vm/compact_node): migrates movable pages out of
 * partly used 2 MiB blocks into others so that whole blocks become free. Pinned pages cannot move
 * (counted in host.migrate.failed_pinned). Result: pages migrated. Errors: GPUSIM_EINVAL (NULL,
 * node out of range).
 */
GPUSIM_EXTERN int gpusim_host_compact(gpusim_host_t *h, unsigned node, gpusim_host_cb cb,
                                      void *data);

GPUSIM_END_DECLS

#endif /* GPUSIM_HOST_H */
