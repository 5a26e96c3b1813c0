/*
 * host/host.h -- the simulated host memory manager's structures, shared by the src/host/ modules.
 * Internal.
 *
 * Modules (one purpose each):
 *   params.c   the host's named cost parameters and config
 *   frame.c    physical memory: frames, 2 MiB pageblocks and free lists, watermarks, LRU lists,
 *              the reverse map, swap slots, data mode
 *   pgtable.c  the 4-level CPU page table of one process
 *   vma.c      VMAs: lookup, split, merge, address-space search
 *   process.c  hosts and processes: creation, teardown, public queries
 *   op.c       the asynchronous operation engine (costs, yielding, blocking, completion)
 *   mm.c       mmap, munmap, mprotect, madvise (the syscalls)
 *   mremap.c   mremap: shrink, grow in place, move
 *   fault.c    CPU faults and accesses: demand-zero, swap-in, copy-on-write, THP faults
 *   fork.c     fork and exit
 *   reclaim.c  the LRU scan, kswapd, direct reclaim, swap-out
 *   oom.c      the OOM killer and reaper
 *   migrate.c  page migration, compaction, THP collapse (khugepaged) and split
 *   gup.c      pinning and hmm_range_fault
 *   check.c    the invariant checker
 *
 * Frames. A frame number (pfn) is a uint32_t index into host->frames; frame 0 is the shared zero
 * page (RESERVED, never freed, never counted, never on an LRU). Physical memory is cut into 2 MiB
 * pageblocks of 512 frames; a node is a contiguous run of pageblocks, its top `movable_bytes` being
 * ZONE_MOVABLE. Free frames of a partly used pageblock sit on that block's free list; wholly free
 * pageblocks sit on the node's free-block list, and are the only source of 2 MiB compound frames.
 * Order-0 allocations prefer partly used blocks (as the buddy allocator prefers the smallest
 * buddy), which keeps whole blocks free for THP until memory fills up; compaction undoes the
 * fragmentation that remains.
 *
 * Counts of a frame (USED, or a compound head):
 *   mapcount = number of page-table entries mapping it (PTEs for a 4 KiB frame; PMDs for a head);
 *   pincount = pins of this 4 KiB page (pins of a compound frame are counted in each subpage, so
 *              that a split leaves every page with its own pins);
 *   refcount = mapcount + pincount + (1 if it is in a file's page cache); for a compound head,
 *              the pincount term is the sum over its 512 pages;
 *   a frame whose refcount reaches 0 is freed (its generation is bumped, its data dropped).
 * The checker (check.c) recomputes all of these from the page tables, files and pins.
 *
 * Reverse map: every (process, page address) mapping a frame, so reclaim and migration can find
 * its PTEs. The first mapping is stored in the frame; more go to a shared pool of chained entries.
 *
 * Nothing here is thread-safe: a host belongs to one world.
 */
#ifndef GPUSIM_HOST_HOST_H
#define GPUSIM_HOST_HOST_H

#include "gpusim.h"
#include "core/compiler.h"
#include "core/itree.h"
#include "core/param.h"
#include "core/world.h"

#define HOST_PAGE_SHIFT 12
#define HOST_PAGE_SIZE  (UINT64_C(1) << HOST_PAGE_SHIFT)
#define HOST_HUGE_SHIFT 21
#define HOST_HUGE_SIZE  (UINT64_C(1) << HOST_HUGE_SHIFT)
#define HOST_HUGE_PAGES 512u       /* frames in a 2 MiB compound frame / pageblock */
#define HOST_NIL        UINT32_MAX /* "no frame" in frame links */
#define HOST_ZERO_PFN   0u         /* the shared zero page */
#define HOST_MAX_PROCS  65535u

/* ---------------------------------------------------------------------------------------------- */
/* Parameters (params.c)                                                                          */
/* ---------------------------------------------------------------------------------------------- */

/*
 * XX(field, UNIT, default, min, max, tag, source) -- core/param.h. docs/host.md is this table.
 * Linux constants are [C]; figures from ../shared/reference/cost-model.md keep its tags.
 */
#define GPUSIM_HOST_PARAM_MAP(XX)                                                                  \
    XX(fault_anon_4k, NS, 2300, 1000, 4000, "D",                                                   \
       "cost-model.md 6/9.1 host_fault_anon_4k: perf bench mem mmap populate 1.81 GB/s (2025)")    \
    XX(fault_anon_2m, NS, 171000, 100000, 350000, "D",                                             \
       "cost-model.md 6/9.1 host_fault_anon_2m: perf bench populate 12.27 GB/s with THP")          \
    XX(fault_minor, NS, 500, 300, 1500, "U",                                                       \
       "cost-model.md 9.1 host_fault_minor_present: PTE fix-up without zeroing or copying")        \
    XX(cow_copy_4k, NS, 2300, 1000, 4000, "D",                                                     \
       "assumed equal to fault_anon_4k: allocate + copy 4 KiB ~ allocate + clear 4 KiB")           \
    XX(fork_base, NS, 60000, 20000, 200000, "U",                                                   \
       "fork of a near-empty process ~60-70 us (user timings: dlang issue 14770, HN 19622477)")    \
    XX(fork_pte_4k, NS, 120, 50, 1000, "U",                                                        \
       "fork copies+write-protects PTEs: 100 MiB ~3 ms, 1 GiB 30-45 ms (dlang 14770) ~120 ns/pg")  \
    XX(fork_pmd_2m, NS, 250, 50, 2000, "U",                                                        \
       "estimate: one huge PMD copied at fork (copy_huge_pmd), ~2x a PTE for the folio refs")      \
    XX(mremap_pte, NS, 20, 5, 200, "U",                                                            \
       "estimate: move_ptes/move_huge_pmd is a read, clear and write per entry moved")             \
    XX(swap_in_4k, NS, 80000, 1300, 150000, "U",                                                   \
       "cost-model.md 9.1 swap_in_4k_nvme (NVMe ~70-100 us); zram is 1.3 us [R]")                  \
    XX(swap_out_4k, NS, 20000, 1300, 150000, "U",                                                  \
       "estimate: NVMe 4 KiB write, buffered; no published per-page figure in cost-model.md")      \
    XX(reclaim_scan_4k, NS, 200, 50, 2000, "U",                                                    \
       "estimate: LRU isolation + rmap walk per page scanned")                                     \
    XX(reclaim_free_4k, NS, 1600, 800, 4000, "U",                                                  \
       "cost-model.md 6: kswapd ~1-5 GB/s per thread for clean pages; 2.5 GB/s -> 1.6 us/page")    \
    XX(file_read_4k, NS, 80000, 1300, 150000, "U",                                                 \
       "assumed equal to swap_in_4k: a page-cache miss reads 4 KiB from the same NVMe device")     \
    XX(file_write_4k, NS, 20000, 1300, 150000, "U", "assumed equal to swap_out_4k (writeback)")    \
    XX(tlb_flush_per_page, NS, 100, 50, 200, "C",                                                  \
       "cost-model.md 9.1 tlb_flush_local_per_page: arch/x86/mm/tlb.c comment")                    \
    XX(tlb_flush_full_pages, COUNT, 33, 1, 4096, "C",                                              \
       "tlb_single_page_flush_ceiling = 33 (arch/x86/mm/tlb.c): above, one full flush")            \
    XX(tlb_shootdown, NS, 2000, 1000, 5000, "U",                                                   \
       "cost-model.md 9.1 tlb_shootdown_base (IPI round trip, blog sources)")                      \
    XX(notifier_dispatch, NS, 500, 200, 2000, "U",                                                 \
       "cost-model.md 9.1 mmu_notifier_dispatch: interval-tree lookup + callback entry")           \
    XX(pin_fast_4k, NS, 30, 10, 100, "U", "cost-model.md 9.1 gup_fast_per_4k_present")             \
    XX(pin_longterm_4k, NS, 62, 20, 1000, "R",                                                     \
       "linux-semantics.md 9: long-term pin of 8 GiB of 4 KiB pages ~130 ms (v6.15 gup commit)")   \
    XX(pin_longterm_2m, NS, 1100, 500, 4000, "R",                                                  \
       "same commit: 8 GiB in 2 MiB folios 4.1-4.9 ms after the patch -> ~1.1 us per 2 MiB")       \
    XX(unpin_4k, NS, 15, 5, 100, "R", "same commit: unpin of 8 GiB of 4 KiB pages ~31.7 ms")       \
    XX(unpin_2m, NS, 270, 100, 2000, "D",                                                          \
       "unpin_4k x 512 scaled by the 2 MiB/4 KiB pin ratio (4.5/130): no direct figure")           \
    XX(hmm_walk_4k, NS, 30, 10, 200, "U",                                                          \
       "hmm_range_fault per present PTE: not published (linux-semantics.md 9); as gup fast")       \
    XX(migrate_4k, NS, 3900, 1000, 10000, "R",                                                     \
       "cost-model.md 6: move_pages 512 x 4K in 1987 us (Horiguchi, 88aaa2a1d732)")                \
    XX(migrate_2m, NS, 660000, 200000, 700000, "R", "cost-model.md 6: one 2M THP 658.54 us")       \
    XX(oom_reaper_delay, NS, 2000000000, 0, 10000000000, "C",                                      \
       "OOM_REAPER_DELAY = 2*HZ (mm/oom_kill.c, since 5.19)")                                      \
    XX(oom_reap_retries, COUNT, 10, 1, 100, "C", "MAX_OOM_REAP_RETRIES = 10 (mm/oom_kill.c)")      \
    XX(oom_reap_retry_delay, NS, 100000000, 1000000, 1000000000, "C",                              \
       "HZ/10 sleep between reap attempts (mm/oom_kill.c)")                                        \
    XX(reclaim_batch, COUNT, 32, 1, 1024, "C", "SWAP_CLUSTER_MAX = 32 (include/linux/swap.h)")     \
    XX(reclaim_retries, COUNT, 16, 1, 64, "C",                                                     \
       "MAX_RECLAIM_RETRIES = 16 (mm/internal.h): no-progress rounds before OOM")                  \
    XX(swappiness, COUNT, 60, 0, 200, "C", "vm.swappiness default 60")                             \
    XX(min_free, BYTES, 0, 0, 1099511627776, "C",                                                  \
       "vm.min_free_kbytes; 0 = Linux's formula sqrt(16 x RAM in KiB), clamped 128 KiB..256 MiB")  \
    XX(watermark_scale, COUNT, 10, 1, 3000, "C",                                                   \
       "vm.watermark_scale_factor = 10 (0.1% of RAM between watermarks)")                          \
    XX(khugepaged_sleep, NS, 10000000000, 1000000, 600000000000, "C",                              \
       "khugepaged/scan_sleep_millisecs = 10000")                                                  \
    XX(khugepaged_pages, COUNT, 4096, 8, 1048576, "C",                                             \
       "khugepaged/pages_to_scan = 8 x HPAGE_PMD_NR")                                              \
    XX(khugepaged_max_ptes_none, COUNT, 511, 0, 511, "C",                                          \
       "khugepaged/max_ptes_none = HPAGE_PMD_NR - 1")                                              \
    XX(khugepaged_collapse_2m, NS, 171000, 100000, 700000, "D",                                    \
       "assumed equal to fault_anon_2m: copying 2 MiB into a new THP at the populate rate")        \
    XX(max_map_count, COUNT, 65530, 16, 16777216, "C", "vm.max_map_count default")                 \
    XX(op_quantum, NS, 100000, 1000, 100000000, "S",                                               \
       "simulation granularity: a long operation yields after this much virtual time")

enum {
#define HOST_PARAM_ENUM(field, UNIT, def, min, max, tag, source) HP_##field,
    GPUSIM_HOST_PARAM_MAP(HOST_PARAM_ENUM)
#undef HOST_PARAM_ENUM
        HP_COUNT
};

extern const gpusim__param_desc gpusim__host_param_desc[HP_COUNT];

/* ---------------------------------------------------------------------------------------------- */
/* Frames (frame.c)                                                                               */
/* ---------------------------------------------------------------------------------------------- */

/* Frame flags. */
enum {
    FF_ANON = 1u << 0,      /* private anonymous (incl. COW copies); else page cache or shmem */
    FF_SHMEM = 1u << 1,     /* page cache of a shared anonymous object */
    FF_DIRTY = 1u << 2,     /* modified since last written out */
    FF_ACCESSED = 1u << 3,  /* referenced since the LRU last looked (second chance) */
    FF_ACTIVE = 1u << 4,    /* on an active LRU list (when FF_LRU) */
    FF_LRU = 1u << 5,       /* on an LRU list */
    FF_HEAD = 1u << 6,      /* first frame of a 2 MiB compound frame */
    FF_LAZYFREE = 1u << 7,  /* MADV_FREE'd: reclaim drops it unless dirtied again */
    FF_MIGRATING = 1u << 8, /* being migrated (from isolation to the end of the move) */
    FF_COPYING = 1u << 9    /* migration's copy window: its mappings read as migration entries */
};

/* LRU lists of a node. */
enum { LRU_INACTIVE_ANON, LRU_ACTIVE_ANON, LRU_INACTIVE_FILE, LRU_ACTIVE_FILE, LRU_COUNT };

/*
 * Frame metadata: 48 bytes. `next`/`prev` link the frame into an LRU list or a free list (never
 * both). `owner` and `index` say where a page-cache frame belongs (file number, page index).
 */
typedef struct hframe {
    uint32_t next, prev; /* list links (pfn or HOST_NIL) */
    uint32_t refcount;
    uint32_t mapcount;
    uint32_t pincount;
    uint32_t gen;   /* bumped on every free */
    uint64_t rmap;  /* 0, one inline mapping (RMAP_KEY), or RMAP_EXT | pool index */
    uint32_t owner; /* page cache: file number + 1; 0 otherwise */
    uint32_t index; /* page cache: page index in the file */
    uint16_t flags; /* FF_* */
    uint8_t state;  /* gpusim_frame_state_t */
    uint8_t lru;    /* LRU_* list when FF_LRU */
    uint32_t pad_;
} hframe;

/* Reverse-map keys: (process slot, page number, huge) packed in 63 bits. */
#define RMAP_EXT (UINT64_C(1) << 63)
#define RMAP_KEY(slot, va, huge)                                                                   \
    (((uint64_t)(slot) << 40) | (((va) >> HOST_PAGE_SHIFT) << 1) | (uint64_t)((huge) ? 1 : 0))
#define RMAP_SLOT(key) ((uint32_t)(((key) >> 40) & 0xffffu))
#define RMAP_VA(key)   ((((key) >> 1) & ((UINT64_C(1) << 39) - 1)) << HOST_PAGE_SHIFT)
#define RMAP_HUGE(key) ((key)&1u)

typedef struct rmap_ext {
    uint64_t key;
    uint32_t next; /* pool index or HOST_NIL */
    uint32_t pad_;
} rmap_ext;

/* A 2 MiB pageblock. */
typedef struct hblock {
    uint32_t free_head;  /* free frames of a partly used block (list through hframe.next/prev) */
    uint16_t nfree;      /* free frames in the block */
    uint8_t list;        /* BL_NONE, BL_PARTIAL, BL_FREE */
    uint8_t fresh;       /* never split: its frames' links were never initialised */
    uint32_t next, prev; /* in the node's partial or free-block list (block numbers) */
} hblock;

enum { BL_NONE, BL_PARTIAL, BL_FREE };

typedef struct hlist {
    uint32_t head, tail; /* frames, or blocks for block lists */
    uint64_t count;
} hlist;

/* One NUMA node. */
typedef struct hnode {
    uint32_t first_block, nblocks;             /* its pageblocks */
    uint32_t movable_first;                    /* blocks >= this one are ZONE_MOVABLE */
    uint64_t free;                             /* free frames */
    uint64_t wmark_min, wmark_low, wmark_high; /* frames */
    hlist partial[2];                          /* partly free blocks: [0] normal, [1] movable */
    hlist freeblocks[2];                       /* wholly free blocks */
    hlist lru[LRU_COUNT];
    struct reclaimer *kswapd; /* background reclaim of this node */
} hnode;

/* ---------------------------------------------------------------------------------------------- */
/* Page tables (pgtable.c)                                                                        */
/* ---------------------------------------------------------------------------------------------- */

/*
 * A page-table entry (level 0, or a 2 MiB leaf at level 1):
 *   present:     bit 0 = 1; bit 1 writable; bit 2 huge (level 1 only); bit 3 dirty; pfn << 12
 *   swap:        bit 0 = 0, type 1 in bits 1..2, slot << 12
 *   migration:   not an encoding of its own. While a frame's contents are being copied
 *                (FF_COPYING), every present entry mapping it reads as a migration entry: the
 *                fault path waits, GUP faults (and so waits), HMM snapshots it as not present
 *                (migrate.c; docs/host.md, "Migration entries").
 *   none:        0
 * Directory entries (levels 1..3) that are not huge leaves hold a pointer to the child table.
 */
typedef uint64_t pte_t;
#define PTE_PRESENT        0x1u
#define PTE_WRITE          0x2u
#define PTE_HUGE           0x4u
#define PTE_DIRTY          0x8u
#define PTE_TYPE_MASK      0x6u
#define PTE_TYPE_SWAP      0x2u
#define PTE_PFN(e)         ((uint32_t)((e) >> 12))
#define PTE_MK(pfn, flags) (((uint64_t)(pfn) << 12) | (flags))
#define PTE_IS_PRESENT(e)  (((e)&PTE_PRESENT) != 0)
#define PTE_IS_SWAP(e)     (!PTE_IS_PRESENT(e) && ((e)&PTE_TYPE_MASK) == PTE_TYPE_SWAP)

typedef struct ptable {
    uint64_t e[512]; /* entries (level 0, huge leaves) or child pointers */
} ptable;

typedef struct pgtable {
    ptable *root;    /* level 3 */
    uint64_t tables; /* table pages allocated */
} pgtable;

/* A level-1 entry that is a pointer to a level-0 table (not zero, not a leaf). */
#define PMD_IS_TABLE(e) ((e) != 0 && ((e)&7u) == 0)

/*
 * Returns a pointer to the level-0 entry for va, or NULL when there is no level-0 table there. If
 * pmd is not NULL it receives the level-1 entry's slot (NULL if the upper levels are missing), which
 * may hold a 2 MiB leaf.
 */
pte_t *gpusim__pt_lookup(const pgtable *pt, uint64_t va, pte_t **pmd);

/* Returns the level-1 entry slot for va, allocating upper tables (NULL: out of memory). */
pte_t *gpusim__pt_alloc_pmd(gpusim_host_t *h, pgtable *pt, uint64_t va);

/*
 * Returns the level-0 entry slot for va, allocating tables as needed (NULL: out of memory). The
 * level-1 entry must not be a 2 MiB leaf.
 */
pte_t *gpusim__pt_alloc(gpusim_host_t *h, pgtable *pt, uint64_t va);

/* Frees tables that hold no entry within the 2 MiB-aligned cover of [start, end). */
void gpusim__pt_prune(gpusim_host_t *h, pgtable *pt, uint64_t start, uint64_t end);

/* Frees every table (entries must have been released already). */
void gpusim__pt_destroy(gpusim_host_t *h, pgtable *pt);

/*
 * Calls fn for every non-zero leaf entry in [start, end) in address order: level-0 entries with
 * huge = false, 2 MiB leaves with huge = true (va = the leaf's start, which may be < start).
 * Skips unpopulated subtrees. fn returns 0 to continue, non-zero to stop (returned).
 */
typedef int (*pt_walk_fn)(void *ctx, uint64_t va, pte_t *slot, bool huge);
int gpusim__pt_walk(const pgtable *pt, uint64_t start, uint64_t end, pt_walk_fn fn, void *ctx);

/* ---------------------------------------------------------------------------------------------- */
/* Files and shared anonymous objects                                                             */
/* ---------------------------------------------------------------------------------------------- */

/* Page-cache slot: 0 = not cached; FILE_PFN(pfn) = in memory; FILE_SWAP(slot) = swapped (shmem). */
#define FILE_SLOT_SWAP (UINT64_C(1) << 63)

struct gpusim_file_s {
    gpusim_host_t *host;
    uint32_t id;       /* number, from 1; hframe.owner */
    bool shmem;        /* shared anonymous memory: swap-backed, zero-filled */
    uint32_t mappers;  /* VMAs referring to it (shmem objects die with the last) */
    uint64_t npages;   /* size */
    uint64_t **chunks; /* per FILE_CHUNK pages, their slots (0, pfn + 1, or FILE_SLOT_SWAP | swap
                          slot), allocated at the first store; NULL: all 0 */
    uint64_t cached;   /* pages in memory */
};

/*
 * Slots per chunk of a file's page cache index. Chunks are allocated when a page of theirs is first
 * cached, so a file costs memory and time (teardown, the checker) in proportion to what was used,
 * not to its size: a 1 TiB file or a shared mapping of terabytes is as cheap as Linux makes it.
 */
#define FILE_CHUNK 4096u

/* Slot `i` of file f (i < f->npages). */
static inline uint64_t gpusim__file_slot(const gpusim_file_t *f, uint64_t i)
{
    const uint64_t *c = f->chunks[i / FILE_CHUNK];
    return c ? c[i % FILE_CHUNK] : 0;
}

/* Stores slot `i`; a non-zero value needs its chunk (gpusim__file_slot_reserve). */
static inline void gpusim__file_slot_set(gpusim_file_t *f, uint64_t i, uint64_t v)
{
    uint64_t *c = f->chunks[i / FILE_CHUNK];
    GPUSIM_ASSERT(c || v == 0);
    if (c)
        c[i % FILE_CHUNK] = v;
}

/* ---------------------------------------------------------------------------------------------- */
/* VMAs (vma.c)                                                                                   */
/* ---------------------------------------------------------------------------------------------- */

enum {
    VM_READ = 1u << 0,
    VM_WRITE = 1u << 1,
    VM_EXEC = 1u << 2,
    VM_SHARED = 1u << 3,
    VM_HUGEPAGE = 1u << 4,
    VM_NOHUGEPAGE = 1u << 5
};

typedef struct hvma {
    gpusim__itree_node node; /* [start, last]: node.start, node.last = end - 1 */
    uint32_t flags;          /* VM_* */
    gpusim_file_t *file;     /* file or shmem object, NULL for private anonymous */
    uint64_t pgoff;          /* page offset in `file` of the VMA's start */
} hvma;

static inline uint64_t vma_start(const hvma *v)
{
    return v->node.start;
}
static inline uint64_t vma_end(const hvma *v)
{
    return v->node.last + 1;
}
static inline bool vma_is_anon(const hvma *v)
{
    return v->file == NULL;
}
static inline uint64_t vma_pgoff(const hvma *v, uint64_t va)
{
    return v->pgoff + ((va - vma_start(v)) >> HOST_PAGE_SHIFT);
}

/* ---------------------------------------------------------------------------------------------- */
/* Processes and the host                                                                         */
/* ---------------------------------------------------------------------------------------------- */

typedef struct hop hop;

struct gpusim_process_s {
    gpusim_host_t *host;
    uint32_t slot; /* index in host->procs; rmap key */
    char name[32];
    gpusim_process_state_t state;
    bool oom_killed;
    bool oom_unkillable;
    bool oom_skip;   /* the reaper gave up on it (MMF_OOM_SKIP) */
    bool has_pinned; /* MMF_HAS_PINNED: fork copies pinned anonymous pages */
    unsigned node;
    uint64_t memlock_limit;
    gpusim__itree vmas;
    uint64_t nvmas;
    uint64_t vma_order; /* tie-breaker for VMA nodes (never needed: VMAs are disjoint) */
    pgtable pt;
    gpusim_notifier_t *notifier;
    hop *ops; /* operations in flight (list through hop.pnext/pprev) */
    /* Accounting, in pages. */
    uint64_t rss_anon, rss_file, rss_shmem, swapents, pinned;
    gpusim_process_info_t info; /* fault and stall counters (memory figures computed on query) */
    gpusim_stat_t *stall_hist;  /* host.process.<name>.alloc_stall_ns */
};

typedef struct host_stats {
    gpusim_stat_t *faults_zero, *faults_zero_huge, *faults_cow, *faults_swapin, *faults_minor,
        *faults_file;
    gpusim_stat_t *thp_fault_alloc, *thp_fault_fallback, *thp_split, *thp_collapse,
        *thp_collapse_failed;
    gpusim_stat_t *reclaim_scanned, *reclaim_reclaimed, *reclaim_skipped_pinned, *reclaim_activated,
        *reclaim_refused;
    gpusim_stat_t *swap_out, *swap_in, *swap_full;
    gpusim_stat_t *kswapd_wakeups, *direct_reclaim, *direct_reclaim_stall;
    gpusim_stat_t *oom_kills, *oom_reaped, *oom_reap_skipped, *oom_failed;
    gpusim_stat_t *migrate_ok, *migrate_failed_pinned, *migrate_longterm, *migrate_waits;
    gpusim_stat_t *pin_pages, *unpin_pages, *pin_limit_refused, *pinned_frames;
    gpusim_stat_t *hmm_calls, *hmm_faults, *hmm_retries;
    gpusim_stat_t *frames_free; /* gauge */
} host_stats;

struct gpusim_host_s {
    gpusim_world_t *world;
    bool tearing_down; /* host_release is running: notifier domains may already be gone */
    gpusim__owned owned;
    gpusim_host_config_t cfg;
    uint64_t p[HP_COUNT]; /* parameters (copy of cfg.params_) */

    /* Physical memory. */
    hframe *frames;
    uint32_t nframes;
    hblock *blocks;
    uint32_t nblocks;
    hnode *nodes;
    unsigned nnodes;
    uint64_t free;  /* free frames, all nodes */
    uint8_t **data; /* data mode: per frame, 4 KiB or NULL (zeros); else NULL */
    uint64_t anon_frames, file_frames, shmem_frames, pinned_frames, thp_frames;

    /* Reverse-map overflow pool. */
    rmap_ext *rpool;
    size_t rpool_cap, rpool_used, rpool_hwm;
    uint32_t rpool_free; /* free list through .next */

    /* Swap. */
    uint32_t nslots;
    uint16_t *slot_refs; /* per slot: references (PTEs + shmem slots); 0 = free */
    uint32_t *slot_free; /* stack of free slots */
    uint32_t nslot_free;
    uint8_t **slot_data; /* data mode: contents of swapped pages */

    /* Processes and files. */
    gpusim_process_t **procs; /* by slot; NULL = free slot */
    uint32_t nprocs_cap;
    uint32_t nprocs;
    gpusim_file_t **files;
    uint32_t nfiles;
    size_t files_cap_;

    /* In-flight operations (for host_free's EBUSY) and kernel actors. */
    uint64_t ops_inflight;
    struct oom_state *oom;
    struct khugepaged *khugepaged;
    gpusim_completion_t memory_freed;   /* signalled when frames are freed and someone waits */
    gpusim_completion_t migration_done; /* signalled when a migration ends and someone waits */
    uint32_t copy_windows; /* migrations in their copy window: while 0, no frame is FF_COPYING */
    host_stats st;
};

static inline hframe *frame_of(const gpusim_host_t *h, uint32_t pfn)
{
    return &h->frames[pfn];
}
static inline uint32_t huge_head(uint32_t pfn)
{
    return pfn & ~(HOST_HUGE_PAGES - 1);
}

/* Whether the present entry e reads as a migration entry: its frame (or the compound frame it is
 * part of) is in a migration's copy window (migrate.c). */
static inline bool pte_migrating(const gpusim_host_t *h, pte_t e)
{
    uint32_t pfn = PTE_PFN(e), head = huge_head(pfn);
    /* Almost always no migration is copying: then no frame needs to be read (walks of every page
     * of a buffer, as hmm_range_fault's, would read two frames per page for nothing). */
    return h->copy_windows != 0 && PTE_IS_PRESENT(e) &&
           ((frame_of(h, pfn)->flags & FF_COPYING) ||
            ((frame_of(h, head)->flags & (FF_HEAD | FF_COPYING)) == (FF_HEAD | FF_COPYING)));
}

/* The state gpusim_host_frame_info reports for frame pfn (< h->nframes): a fresh block's frames
 * are FREE whatever their never-written fields say. Inline for the checker, which asks at every
 * GPU access. */
static inline gpusim_frame_state_t gpusim__frame_state(const gpusim_host_t *h, uint32_t pfn)
{
    const hframe *f = frame_of(h, pfn);
    if (h->blocks[pfn / HOST_HUGE_PAGES].fresh && f->state != GPUSIM_FRAME_RESERVED)
        return GPUSIM_FRAME_FREE;
    return (gpusim_frame_state_t)f->state;
}

/* The CPU page-table entry mapping va in pt (0 if none) and, in *huge, whether it is a 2 MiB
 * leaf: what gpusim_process_translate reports, without its checks. */
static inline pte_t gpusim__pt_entry(const pgtable *pt, uint64_t va, bool *huge)
{
    pte_t *pmd, *pte = gpusim__pt_lookup(pt, va, &pmd);
    *huge = false;
    if (pte)
        return *pte;
    if (pmd && *pmd && !PMD_IS_TABLE(*pmd)) {
        *huge = true;
        return *pmd;
    }
    return 0;
}

/* frame.c ------------------------------------------------------------------------------------- */

int gpusim__frames_init(gpusim_host_t *h);
void gpusim__frames_destroy(gpusim_host_t *h);

/* Allocation outcome of gpusim__frame_alloc. */
enum { ALLOC_OK = 0, ALLOC_LOW = 1, ALLOC_MIN = 2 };

/*
 * Takes a free frame (order 0) or a 2 MiB compound frame (order 9) from node `node` (falling back to
 * the others), obeying the watermarks: above low it just allocates; between low and min it wakes
 * kswapd and allocates; at min it returns GPUSIM_ENOMEM-like ALLOC_MIN without allocating (the
 * caller enters direct reclaim). `movable` prefers ZONE_MOVABLE (user pages) and allows it.
 * `emergency` ignores the min watermark (the OOM reaper, fork's early copies). On success *pfn is
 * set, the frame is USED with refcount 0 and no flags; returns 0 (or ALLOC_LOW after waking kswapd).
 * Order 9 returns ALLOC_MIN also when no wholly free block exists anywhere.
 */
int gpusim__frame_alloc(gpusim_host_t *h, unsigned node, unsigned order, bool movable,
                        bool emergency, uint32_t *pfn);

/* Frees a frame (refcount 0, unmapped, off the LRU) or a compound head (all 512 frames). */
void gpusim__frame_free(gpusim_host_t *h, uint32_t pfn);

/* Drops one reference; frees the frame (after removing it from the LRU) when none remain. */
void gpusim__frame_put(gpusim_host_t *h, uint32_t pfn);

/* Splits a compound frame into 512 independent frames, each inheriting the head's counts and
 * flags except the reverse map (the caller re-establishes mappings). */
void gpusim__frame_split(gpusim_host_t *h, uint32_t head);

/* The node / whether in ZONE_MOVABLE of a frame. */
unsigned gpusim__frame_node(const gpusim_host_t *h, uint32_t pfn);
bool gpusim__frame_movable(const gpusim_host_t *h, uint32_t pfn);

/* LRU. */
void gpusim__lru_add(gpusim_host_t *h, uint32_t pfn, bool active);
void gpusim__lru_del(gpusim_host_t *h, uint32_t pfn);
void gpusim__lru_move(gpusim_host_t *h, uint32_t pfn, bool active); /* to the head of a list */

/* Reverse map. Returns 0 or GPUSIM_ENOMEM (nothing changed). */
int gpusim__rmap_add(gpusim_host_t *h, uint32_t pfn, uint64_t key);
void gpusim__rmap_del(gpusim_host_t *h, uint32_t pfn, uint64_t key);
/* Reserves room for n more overflow entries, so that later adds cannot fail. */
int gpusim__rmap_reserve(gpusim_host_t *h, size_t n);
/* Calls fn(ctx, key) for every mapping of pfn; stops when fn returns non-zero (returned). */
int gpusim__rmap_each(const gpusim_host_t *h, uint32_t pfn, int (*fn)(void *ctx, uint64_t key),
                      void *ctx);
/* Number of mappings recorded for pfn. */
uint32_t gpusim__rmap_count(const gpusim_host_t *h, uint32_t pfn);

/* Swap slots. Returns 0 and *slot, or GPUSIM_ENOSPC. */
int gpusim__swap_alloc(gpusim_host_t *h, uint32_t *slot);
void gpusim__swap_get(gpusim_host_t *h, uint32_t slot);
void gpusim__swap_put(gpusim_host_t *h, uint32_t slot);

/* Data mode. Copies contents (NULL = zeros) between frames and slots; no-ops when off. Returns 0 or
 * GPUSIM_ENOMEM. */
int gpusim__data_copy_frame(gpusim_host_t *h, uint32_t dst, uint32_t src);
int gpusim__data_to_slot(gpusim_host_t *h, uint32_t slot, uint32_t pfn);
int gpusim__data_from_slot(gpusim_host_t *h, uint32_t pfn, uint32_t slot);
void gpusim__data_drop(gpusim_host_t *h, uint32_t pfn);
/* Gives frame pfn a contents buffer (zero-filled) if it has none. 0 or GPUSIM_ENOMEM. */
int gpusim__data_touch(gpusim_host_t *h, uint32_t pfn);

/* Wakes processes waiting for free memory (if any wait). */
void gpusim__host_memory_freed(gpusim_host_t *h);

/* Wakes kswapd of node n (reclaim.c): it reclaims until the node is above its high watermark. */
void gpusim__kswapd_wake(gpusim_host_t *h, unsigned n);

/* Accounts a frame becoming / ceasing to be anon, file or shmem (per host figures). */
void gpusim__frame_account(gpusim_host_t *h, uint32_t pfn, int delta);

/* vma.c --------------------------------------------------------------------------------------- */

hvma *gpusim__vma_find(const gpusim_process_t *p, uint64_t va); /* containing va, or NULL */
hvma *gpusim__vma_first(const gpusim_process_t *p, uint64_t start, uint64_t end);
hvma *gpusim__vma_next(const hvma *v, uint64_t start, uint64_t end);
hvma *gpusim__vma_new(gpusim_process_t *p, uint64_t start, uint64_t end, uint32_t flags,
                      gpusim_file_t *file, uint64_t pgoff); /* inserted; NULL on ENOMEM */
void gpusim__vma_free(gpusim_process_t *p, hvma *v);        /* removes and frees */
/* Splits v at addr (page aligned, strictly inside); returns the upper part or NULL on ENOMEM. */
hvma *gpusim__vma_split(gpusim_process_t *p, hvma *v, uint64_t addr);
/* Merges v with its neighbours where they are compatible and adjacent. Returns the merged VMA. */
hvma *gpusim__vma_merge(gpusim_process_t *p, hvma *v);
/* Finds a free gap of len bytes: at hint if free, else top-down. Returns 0 and *addr or ENOMEM. */
int gpusim__vma_gap(const gpusim_process_t *p, uint64_t hint, uint64_t len, uint64_t *addr);
/* Whether [start, end) is entirely covered by VMAs. */
bool gpusim__vma_covered(const gpusim_process_t *p, uint64_t start, uint64_t end);
/* Whether THP may back va in v (mode, advice, alignment of the 2 MiB range inside v). */
bool gpusim__vma_thp_ok(const gpusim_host_t *h, const hvma *v, uint64_t va);

/* Files. */
int gpusim__file_create(gpusim_host_t *h, uint64_t npages, bool shmem, gpusim_file_t **out);
void gpusim__file_release(gpusim_host_t *h, gpusim_file_t *f); /* a mapper is gone */
/* Makes sure slot `index` of f has its chunk, so that it can be set. Returns 0 or GPUSIM_ENOMEM. */
int gpusim__file_slot_reserve(gpusim_host_t *h, gpusim_file_t *f, uint64_t index);
void gpusim__files_destroy(gpusim_host_t *h); /* at host teardown */

/* zap.c: mapping and unmapping pages in one process's page table ---------------------------- */

/*
 * Maps frame pfn (a 4 KiB frame, or a compound head when huge) at va in p: writes the entry, takes
 * a reference and a map count, records the reverse mapping and the RSS. The page-table slot must
 * exist (gpusim__pt_alloc / _alloc_pmd) and be empty, and a reverse-map entry must have been
 * reserved (gpusim__rmap_reserve(h, 2)), so this cannot fail.
 */
void gpusim__map_frame(gpusim_process_t *p, uint64_t va, pte_t *slot, uint32_t pfn, bool writable,
                       bool dirty, bool huge);

/*
 * Clears one entry of p at va (present 4 KiB or 2 MiB, or swap): drops its map count, reverse
 * mapping, RSS and reference (freeing the frame if that was the last), moving the entry's dirty
 * bit to the frame. Returns the number of 4 KiB pages that were present (for TLB flush costs).
 */
uint64_t gpusim__unmap_entry(gpusim_process_t *p, uint64_t va, pte_t *slot, bool huge);

/* Clears every entry in [start, end) (2 MiB entries straddling an edge must have been split) and
 * frees empty tables. Returns the number of present 4 KiB pages cleared. */
uint64_t gpusim__zap_range(gpusim_process_t *p, uint64_t start, uint64_t end);

/*
 * Splits the 2 MiB mapping covering va in p, and the compound frame behind it: every process
 * mapping that frame by a 2 MiB entry gets 512 4 KiB entries to the same frames (translations do
 * not change, so only the caller announces: CLEAR over the 2 MiB range of p, before calling).
 * Returns 0 (also when there is no 2 MiB mapping at va) or GPUSIM_ENOMEM (nothing changed).
 */
int gpusim__split_huge(gpusim_process_t *p, uint64_t va);

/* The CPU TLB flush cost of changing `pages` present translations (x86: per page up to the
 * ceiling, then a full flush; plus one shootdown round). 0 pages cost nothing. */
gpusim_time_t gpusim__tlb_flush_cost(const gpusim_host_t *h, uint64_t pages);

/* Process helpers (process.c). */
int gpusim__process_create(gpusim_host_t *h, const gpusim_process_config_t *cfg,
                           gpusim_process_t **out);
/* Frees all memory of the address space without announcing it (host teardown, after RELEASE). */
void gpusim__process_teardown(gpusim_process_t *p);
gpusim_process_t *gpusim__proc(const gpusim_host_t *h, uint32_t slot);
/* Adjusts the process's RSS counters for a frame mapped (+1) or unmapped (-1) at `npages`. */
void gpusim__rss(gpusim_process_t *p, const hframe *f, int64_t npages);

/* ---------------------------------------------------------------------------------------------- */
/* Operations (op.c)                                                                              */
/* ---------------------------------------------------------------------------------------------- */

/*
 * An operation is one thread's system call or kernel job, run as a resumable state machine in
 * virtual time. Its step function does work at the current instant, adding what it costs to
 * op->cost, and returns:
 *   STEP_DONE     finished: the user callback runs at now + cost with op->status, op->result;
 *   STEP_YIELD    more to do: the step is called again at now + cost (a long operation yields
 *                 once op->cost reaches the op_quantum parameter, so other actors interleave);
 *   STEP_BLOCKED  it is waiting (an invalidation that must wait, a completion, direct reclaim): the
 *                 step is called again when the wait is over, at that later time.
 * A step keeps its position in op->phase and op->a[]; it must leave the host consistent whenever it
 * returns. Every change of a translation is bracketed by gpusim__op_invalidate() and
 * gpusim__op_invalidate_end(), inside one step (or across the block of the former).
 *
 * An operation holds one event-queue reservation whenever it is not queued, so that continuing it
 * can never fail; it is allocated at the call, so the only failure of a call after validation is
 * GPUSIM_ENOMEM before anything happened.
 *
 * When the operation's process dies (exit, OOM kill), it ends with GPUSIM_ESRCH at its next step
 * boundary that has no invalidation open (op->exempt ops -- exit itself -- run to the end).
 */
enum { STEP_DONE, STEP_YIELD, STEP_BLOCKED };

/* Outcome of gpusim__op_invalidate / gpusim__op_alloc besides 0 and errors: wait. */
#define OP_WAIT  1
/* Outcome of gpusim__migrate besides 0, OP_WAIT and errors: let op->cost elapse (the step returns
 * STEP_YIELD), then call again. */
#define OP_YIELD 3

struct hop {
    gpusim_host_t *h;
    gpusim_process_t *p;   /* process whose thread runs it; NULL for host-wide jobs */
    int (*step)(hop *op);  /* see above */
    void (*fini)(hop *op); /* frees op-owned state; may be NULL */
    gpusim_host_cb cb;     /* user completion */
    void *data;
    int status; /* result for cb */
    uint64_t result;
    gpusim_time_t cost;    /* time spent since the step was last scheduled */
    gpusim_time_t started; /* when the call was made */
    gpusim_event_t ev;
    gpusim_invalidation_t inv;
    gpusim_waiter_t waiter;
    hop *pnext, *pprev;        /* in p->ops */
    bool reserved;             /* holds one queue reservation */
    bool exempt;               /* finishes even if its process dies */
    bool counted_stall;        /* in direct reclaim: stall_since is valid */
    gpusim_invalidator_t kind; /* who invalidates for it (default SYSCALL) */
    int phase;                 /* step position */
    uint64_t a[8];             /* arguments and cursors */
    void *ptr;                 /* caller buffer (not owned) */
    void *priv;                /* op-owned scratch, freed by fini */
    struct reclaimer *dr;      /* direct reclaim in progress, or NULL */
    unsigned retries;          /* direct-reclaim rounds without progress */
    gpusim_time_t stall_since;
    gpusim_time_t stall_at; /* the event time at which that stall began (its trace span) */
};

/* Allocates an operation for process p (NULL: host-wide). NULL on ENOMEM (nothing allocated). */
hop *gpusim__op_new(gpusim_host_t *h, gpusim_process_t *p, int (*step)(hop *), gpusim_host_cb cb,
                    void *data);
/* Frees an operation that was never started (for error paths at call time). */
void gpusim__op_discard(hop *op);
/* Starts it: the first step runs from an event at the current time. Cannot fail. */
void gpusim__op_start(hop *op);
/* Whether the step should yield now (its cost reached the quantum). */
static inline bool gpusim__op_should_yield(const hop *op)
{
    return op->cost >= op->h->p[HP_op_quantum];
}

/*
 * Announces [start, end) to p's notifier domain with op->inv. Returns 0 (callbacks answered: change
 * the translations now, then call gpusim__op_invalidate_end), OP_WAIT (the step must return
 * STEP_BLOCKED; it is called again when the invalidation may proceed, and must then make the
 * change and end it), GPUSIM_EWOULDBLOCK (a non-blockable range was refused: nothing to end) or
 * GPUSIM_ENOMEM. Charges notifier_dispatch when the domain has subscriptions.
 */
int gpusim__op_invalidate(hop *op, gpusim_process_t *p, uint64_t start, uint64_t end,
                          gpusim_notifier_event_t event, bool blockable);
void gpusim__op_invalidate_end(hop *op);

/* Blocks on completion c (not done): the step is called again when it is signalled. */
void gpusim__op_wait(hop *op, gpusim_completion_t *c);

/*
 * Allocates for an operation (reclaim.c): as gpusim__frame_alloc for p's node with movable set,
 * but below the min watermark it enters direct reclaim (OP_WAIT: return STEP_BLOCKED and call again
 * on resumption), and when reclaim cannot make progress it invokes the OOM killer. Returns 0 with
 * *pfn, OP_WAIT, GPUSIM_ENOMEM (nothing can be freed, no process can be killed) or GPUSIM_ESRCH
 * (this op's process was killed). Order 9 never reclaims: it returns GPUSIM_ENOMEM when no whole
 * block is free, and the caller falls back to 4 KiB pages.
 */
int gpusim__op_alloc(hop *op, unsigned order, uint32_t *pfn);
/* reclaim.c: records the allocation stall in progress (if any) as over now; the engine calls it
 * for an operation that ends while stalled (its process died), so its stall time is not lost. */
void gpusim__op_stall_end(hop *op);

/* ---------------------------------------------------------------------------------------------- */
/* Cross-module entry points                                                                      */
/* ---------------------------------------------------------------------------------------------- */

/*
 * fault.c: resolves a CPU fault of p (op->p) at va for op, as handle_mm_fault does: demand-zero
 * (a 2 MiB frame where THP is allowed and one is free, else 4 KiB; reads of private anonymous
 * memory map the zero page), swap-in, a page-cache read, or a copy-on-write break (CLEAR announced
 * over the page, invalidator COW_FAULT); nothing when the entry already allows the access (but the
 * accessed bit is set). Returns 0 (the page is now present with the access allowed),
 * OP_WAIT (blocked in allocation or an invalidation: return STEP_BLOCKED and call again with the
 * same arguments when resumed), GPUSIM_EFAULT (no VMA, or the VMA forbids the access),
 * GPUSIM_ENOMEM or GPUSIM_ESRCH. Adds the cost to op->cost and counts the fault in p->info.
 * Uses op->a[6] and op->a[7] (an open copy-on-write): callers must leave them alone.
 */
int gpusim__fault(hop *op, uint64_t va, bool write);

/*
 * mm.c: unmaps [start, end) of op->p for op (munmap, mmap FIXED, mremap): announces UNMAP over the
 * range if anything is mapped there, splits VMAs and 2 MiB mappings at the edges, clears entries,
 * frees VMAs. Returns 0, OP_WAIT (call again with the same range when resumed) or an error.
 */
int gpusim__unmap_range(hop *op, uint64_t start, uint64_t end);

/* fork.c: starts the exit of p (RELEASE, teardown, DEAD) as an exempt operation; cb may be NULL.
 * p becomes EXITING at once. Used by gpusim_process_exit and by the OOM killer. 0, GPUSIM_ESRCH
 * (p is not LIVE: already exiting or dead; nothing done) or GPUSIM_ENOMEM. */
int gpusim__exit_start(gpusim_process_t *p, gpusim_host_cb cb, void *data);

/* reclaim.c: the step of madvise(MADV_PAGEOUT) over [op->a[0], op->a[0] + op->a[1]). It owns
 * op->a[3], op->a[4], op->priv and op->fini; a hole in the range makes the status GPUSIM_ENOMEM. */
int gpusim__pageout_step(hop *op);

/* Kernel actors (kswapd per node, OOM reaper, khugepaged): created with the host. */
int gpusim__actors_init(gpusim_host_t *h);
void gpusim__actors_destroy(gpusim_host_t *h);
bool gpusim__actors_busy(const gpusim_host_t *h); /* an actor has an invalidation open */
int gpusim__reclaim_init(gpusim_host_t *h);       /* reclaim.c / oom.c */
void gpusim__reclaim_destroy(gpusim_host_t *h);
bool gpusim__reclaim_busy(const gpusim_host_t *h);
/* oom.c, for reclaim.c. _destroy copes with a partial init. */
int gpusim__oom_init(gpusim_host_t *h);
void gpusim__oom_destroy(gpusim_host_t *h);
bool gpusim__oom_busy(const gpusim_host_t *h);
/* Whether an OOM victim is still dying (killed, not DEAD, not given up on by the reaper). */
bool gpusim__oom_pending(const gpusim_host_t *h);
/* The OOM killer, for op's allocation that reclaim cannot satisfy: OP_WAIT (a victim is dying: op
 * waits on h->memory_freed, then retries), GPUSIM_ENOMEM (nothing killable) or GPUSIM_ESRCH (op's
 * process is the victim). */
int gpusim__oom_kill(hop *op);
int gpusim__khugepaged_init(gpusim_host_t *h); /* migrate.c */
void gpusim__khugepaged_destroy(gpusim_host_t *h);
bool gpusim__khugepaged_busy(const gpusim_host_t *h);
/* migrate.c: tells khugepaged that p has a THP-eligible region (khugepaged_enter). */
void gpusim__khugepaged_enter(gpusim_process_t *p);

/*
 * migrate.c: migration of one frame inside an operation's step (used by compaction and by long-term
 * pins). gpusim__migrate moves frame pfn (4 KiB, or a compound head as a unit) to a frame obtained
 * from `alloc` (0 or an error; called first), announcing MIGRATE (blockable, invalidator
 * COMPACTION) over every mapping, then letting the copy time elapse with the frame FF_COPYING; the
 * move happens at one instant after that. Returns 0 (moved), OP_WAIT (return STEP_BLOCKED; call
 * again with the same arguments when resumed), OP_YIELD (return STEP_YIELD; likewise), GPUSIM_EAGAIN (another migration has the frame:
 * h->migration_done is signalled when any migration ends), GPUSIM_EBUSY (pinned; counted in host.migrate.failed_pinned), GPUSIM_ENOENT (freed or
 * changed meanwhile), GPUSIM_ENOMEM. Its state is an hmig owned by the operation (gpusim__mig_free
 * in op->fini).
 */
typedef struct hmig hmig;
typedef int (*hmig_alloc_fn)(hop *op, unsigned order, uint32_t *pfn);
hmig *gpusim__mig_new(gpusim_host_t *h); /* NULL on ENOMEM */
void gpusim__mig_free(gpusim_host_t *h, hmig *m);
int gpusim__migrate(hop *op, hmig *m, uint32_t pfn, hmig_alloc_fn alloc);

/* check.c: the invariant checker behind gpusim_host_check. */
int gpusim__host_check(const gpusim_host_t *h, char *msg, size_t msglen);

#endif /* GPUSIM_HOST_HOST_H */
