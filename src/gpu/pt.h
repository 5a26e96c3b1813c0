/*
 * gpu/pt.h -- one GPU VM context's page table: a 4-level radix tree over a 48-bit VA. Internal.
 *
 * Levels are numbered from the leaves: a level-1 table holds 4 KiB PTEs, a level-2 table's entries
 * each cover 2 MiB, level 3 1 GiB, level 4 (the root) 512 GiB. Every table has 512 8-byte entries
 * and lives in one 4 KiB VRAM frame, allocated from the context's VRAM (gpu/vram.h), so page
 * tables cost device memory. An entry is either 0 (not valid) or valid and one of:
 *   - a directory entry (levels 2-4): VALID and the frame of the next table;
 *   - a 2 MiB leaf (level 2 only): VALID | LEAF | permissions | aperture, a 512-aligned frame;
 *   - a 4 KiB PTE (level 1): VALID | permissions | aperture | maybe FRAG, a frame.
 * FRAG marks the 16 entries of a 64 KiB fragment: an aligned group of 16 PTEs that are all valid,
 * with the same permissions and aperture and 16 consecutive frames starting at a multiple of 16.
 * A TLB may cache such a group as one 64 KiB entry.
 *
 * The table is kept in a canonical form, so its shape is a function of the translations alone:
 *   - FRAG is set on exactly the groups that qualify (fragments form and break automatically);
 *   - a level-1 table whose 512 entries would form one 2 MiB leaf (all valid, same flags,
 *     consecutive frames from a multiple of 512) is replaced by that leaf and freed ("merge");
 *     a range operation that changes part of a 2 MiB leaf first splits it into a level-1 table;
 *   - no table but the root is empty: a table whose last valid entry goes is freed at once, and
 *     its frame returns to VRAM.
 * gpusim__gpu_pt_check() verifies all of this, the valid-entry count of every table, and that
 * every table frame is a distinct allocated VRAM frame.
 *
 * Range operations (map, unmap, protect) are atomic: arguments are validated first, then every
 * table page the operation will need is allocated up front (a planning pass computes the exact
 * number), so a failure (GPUSIM_EINVAL, GPUSIM_EFAULT, GPUSIM_ENOMEM) leaves the table exactly
 * as it was. Unmap and protect can need memory too: changing part of a 2 MiB leaf splits it.
 *
 * Each range operation reports the number of 8-byte entries it wrote, for the caller to charge
 * pte_update_per_4k for each: an entry counts when its value changes (fragment bits included,
 * directory entries included); a table created by a split counts once per valid entry it ends up
 * with (the driver writes the new table with its final contents), and a table freed by the
 * operation costs only the directory entry that pointed to it.
 *
 * Data frames are not checked against VRAM: a SYSTEM entry names a host frame, and a VRAM entry's
 * frame belongs to whoever migrated data there. Frame numbers must fit in 40 bits (52-bit PAs).
 */
#ifndef GPUSIM_GPU_PT_H
#define GPUSIM_GPU_PT_H

#include <stdbool.h>
#include <stdint.h>

#include "gpusim.h"
#include "core/stats.h"
#include "core/world.h"
#include "gpu/vram.h"

#define GPUSIM__GPU_VA_BITS    48
#define GPUSIM__GPU_VA_LIMIT   (UINT64_C(1) << GPUSIM__GPU_VA_BITS)
#define GPUSIM__GPU_PT_LEVELS  4
#define GPUSIM__GPU_PT_ENTRIES 512
#define GPUSIM__GPU_PAGE_SHIFT 12 /* 4 KiB */
#define GPUSIM__GPU_FRAG_SHIFT 16 /* 64 KiB fragment */
#define GPUSIM__GPU_HUGE_SHIFT 21 /* 2 MiB leaf */
#define GPUSIM__GPU_PAGE_SIZE  (UINT64_C(1) << GPUSIM__GPU_PAGE_SHIFT)
#define GPUSIM__GPU_FRAG_SIZE  (UINT64_C(1) << GPUSIM__GPU_FRAG_SHIFT)
#define GPUSIM__GPU_HUGE_SIZE  (UINT64_C(1) << GPUSIM__GPU_HUGE_SHIFT)
#define GPUSIM__GPU_FRAG_PAGES 16  /* 4 KiB pages per fragment */
#define GPUSIM__GPU_HUGE_PAGES 512 /* 4 KiB pages per 2 MiB leaf */

/* Entry bits. */
#define GPUSIM__GPU_PTE_VALID       (UINT64_C(1) << 0)
#define GPUSIM__GPU_PTE_READ        (UINT64_C(1) << 1)
#define GPUSIM__GPU_PTE_WRITE       (UINT64_C(1) << 2)
#define GPUSIM__GPU_PTE_SYSTEM      (UINT64_C(1) << 3) /* host memory (over the bus); clear = VRAM */
#define GPUSIM__GPU_PTE_FRAG        (UINT64_C(1) << 4) /* one of the 16 entries of a 64 KiB fragment */
#define GPUSIM__GPU_PTE_LEAF        (UINT64_C(1) << 5) /* a level-2 entry that maps 2 MiB */
#define GPUSIM__GPU_PTE_FRAME_SHIFT 12
#define GPUSIM__GPU_FRAME_BITS      40
#define GPUSIM__GPU_FRAME_MAX       ((UINT64_C(1) << GPUSIM__GPU_FRAME_BITS) - 1)
#define GPUSIM__GPU_PTE_FRAME_MASK  (GPUSIM__GPU_FRAME_MAX << GPUSIM__GPU_PTE_FRAME_SHIFT)
/* Permissions a map or protect may set. */
#define GPUSIM__GPU_PTE_PERMS       (GPUSIM__GPU_PTE_READ | GPUSIM__GPU_PTE_WRITE)
/* Flags a map may set: permissions and aperture. */
#define GPUSIM__GPU_PTE_MAP_FLAGS   (GPUSIM__GPU_PTE_PERMS | GPUSIM__GPU_PTE_SYSTEM)

static inline uint64_t gpusim__gpu_pte_frame(uint64_t pte)
{
    return (pte & GPUSIM__GPU_PTE_FRAME_MASK) >> GPUSIM__GPU_PTE_FRAME_SHIFT;
}

typedef struct gpusim__gpu_pt_node gpusim__gpu_pt_node; /* a table page (pt.c) */

typedef struct gpusim__gpu_pt {
    gpusim__owned owned;       /* On the world's list: freed with the world if not before. */
    gpusim_world_t *world;     /* Allocation context. */
    gpusim__gpu_vram *vram;    /* Where table pages live; must outlive the table. */
    uint32_t ctx;              /* Context id: tags this context's TLB entries. */
    gpusim__gpu_pt_node *root; /* The level-4 table; always present. */
    uint64_t tables;           /* Table pages in the tree, root included. */
    uint64_t mapped_pages;     /* 4 KiB pages with a valid translation. */
    gpusim_stat_t *st_tables;  /* <prefix>.pt.tables (gauge: table pages, all contexts) */
    gpusim_stat_t *st_writes;  /* <prefix>.pt.pte_writes */
    gpusim_stat_t *st_splits;  /* <prefix>.pt.splits (2 MiB leaves split) */
    gpusim_stat_t *st_merges;  /* <prefix>.pt.merges (level-1 tables merged into a leaf) */
    gpusim_stat_t *st_ops;     /* <prefix>.pt.range_ops */
} gpusim__gpu_pt;

/*
 * Creates an empty page table for context `ctx` (its root table takes one VRAM frame), with
 * statistics under "<prefix>.pt.". Returns 0, GPUSIM_EINVAL or GPUSIM_ENOMEM (no memory, or VRAM
 * full).
 */
int gpusim__gpu_pt_new(gpusim_world_t *w, gpusim__gpu_vram *vram, uint32_t ctx, const char *prefix,
                       gpusim__gpu_pt **out);

/* Frees every table page (returning the frames to VRAM) and the table. NULL is ignored. */
void gpusim__gpu_pt_free(gpusim__gpu_pt *pt);

/*
 * Maps [va, va + len) to frames[0 .. len / 4 KiB), one frame per 4 KiB page, with `flags` (a
 * subset of GPUSIM__GPU_PTE_MAP_FLAGS), replacing whatever was mapped there. Uses a 2 MiB leaf
 * for each 2 MiB-aligned 2 MiB piece whose frames are consecutive from a multiple of 512, and
 * fragments wherever 16 aligned pages have consecutive frames from a multiple of 16.
 * *writes (may be NULL) receives the number of entries written.
 * Returns 0; GPUSIM_EINVAL (va or len not 4 KiB-aligned, len 0, frames NULL, bad flags, a frame
 * over GPUSIM__GPU_FRAME_MAX); GPUSIM_EFAULT (the range wraps or leaves the 48-bit VA);
 * GPUSIM_ENOMEM. On error nothing changed.
 */
int gpusim__gpu_pt_map(gpusim__gpu_pt *pt, uint64_t va, uint64_t len, const uint64_t *frames,
                       uint64_t flags, uint64_t *writes);

/* Unmaps [va, va + len); holes are ignored. Errors and *writes as for map. */
int gpusim__gpu_pt_unmap(gpusim__gpu_pt *pt, uint64_t va, uint64_t len, uint64_t *writes);

/*
 * Sets the permissions of every valid page in [va, va + len) to `perms` (a subset of
 * GPUSIM__GPU_PTE_PERMS; 0 leaves pages mapped but inaccessible); holes are ignored. Errors and
 * *writes as for map.
 */
int gpusim__gpu_pt_protect(gpusim__gpu_pt *pt, uint64_t va, uint64_t len, uint64_t perms,
                           uint64_t *writes);

/* The result of walking one address. */
typedef struct gpusim__gpu_pt_walk {
    uint64_t pte;    /* The leaf entry (a PTE or a 2 MiB leaf); 0 when not mapped. */
    uint64_t pa;     /* Address of va in the entry's aperture; 0 when not mapped. */
    uint64_t size;   /* Page size of the translation: 4 KiB, 64 KiB (FRAG) or 2 MiB; 0 if none. */
    unsigned levels; /* Table pages read, 1..4; 0 when va is outside the 48-bit VA. */
    uint64_t table[GPUSIM__GPU_PT_LEVELS + 1]; /* table[L]: frame of the level-L table read. */
} gpusim__gpu_pt_walk;

/*
 * Walks va as the hardware would, from the root down, stopping at the first entry that is not a
 * directory. Returns true when va has a valid translation. Reads only; allocation-free.
 */
bool gpusim__gpu_pt_walk_va(const gpusim__gpu_pt *pt, uint64_t va, gpusim__gpu_pt_walk *out);

/* Verifies every invariant listed at the top of this file. */
bool gpusim__gpu_pt_check(const gpusim__gpu_pt *pt);

#endif /* GPUSIM_GPU_PT_H */
