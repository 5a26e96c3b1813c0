/*
 * gpu/pt_node.h -- the page table's table pages and entry helpers, shared by the files of the
 * page table only (pt.c: range operations and life cycle; pt_check.c: the walk and the checker).
 * Private: nothing else includes it.
 */
#ifndef GPUSIM_GPU_PT_NODE_H
#define GPUSIM_GPU_PT_NODE_H

#include <stdbool.h>
#include <stdint.h>

#include "gpu/pt.h"

#define NENT       GPUSIM__GPU_PT_ENTRIES
#define VALID      GPUSIM__GPU_PTE_VALID
#define LEAF       GPUSIM__GPU_PTE_LEAF
#define FRAG       GPUSIM__GPU_PTE_FRAG
#define PERMS      GPUSIM__GPU_PTE_PERMS
#define SYSTEM     GPUSIM__GPU_PTE_SYSTEM
/* The bits that make two leaf translations "the same kind": fragments and merges compare them. */
#define KIND_BITS  (VALID | PERMS | SYSTEM)
#define KNOWN_BITS (VALID | PERMS | SYSTEM | FRAG | LEAF | GPUSIM__GPU_PTE_FRAME_MASK)

struct gpusim__gpu_pt_node {
    uint64_t frame;               /* The VRAM frame this table page occupies. */
    gpusim__gpu_pt_node *next;    /* Link in an operation's pool of pre-allocated tables. */
    uint32_t nvalid;              /* Entries with VALID set. */
    uint8_t level;                /* 1..4 (see pt.h). */
    bool fresh;                   /* Created by a split in the running operation. */
    uint64_t e[NENT];             /* The entries, as the hardware reads them. */
    gpusim__gpu_pt_node *child[]; /* Levels 2-4 only: the table each directory entry names. */
};

/* Bits of VA translated below one entry of a level-L table: 12, 21, 30, 39. */
static inline unsigned level_shift(unsigned level)
{
    return GPUSIM__GPU_PAGE_SHIFT + 9u * (level - 1u);
}

static inline unsigned index_at(uint64_t va, unsigned level)
{
    return (unsigned)((va >> level_shift(level)) & (NENT - 1));
}

static inline uint64_t frame_of(uint64_t e)
{
    return gpusim__gpu_pte_frame(e);
}

static inline uint64_t make_entry(uint64_t frame, uint64_t bits)
{
    return bits | (frame << GPUSIM__GPU_PTE_FRAME_SHIFT);
}

/* 4 KiB pages an entry of a level-L table maps by itself. */
static inline uint64_t pages_of(uint64_t e, unsigned level)
{
    if (!(e & VALID))
        return 0;
    if (level == 1)
        return 1;
    return (level == 2 && (e & LEAF)) ? GPUSIM__GPU_HUGE_PAGES : 0;
}

/* Sets or clears FRAG on a group of 16 PTEs so that it says exactly whether they qualify. */
void gpusim__gpu_pt_frag_fix(uint64_t *g);

/* Whether a full level-1 table is one 2 MiB leaf in disguise. */
bool gpusim__gpu_pt_mergeable(const gpusim__gpu_pt_node *t);

#endif /* GPUSIM_GPU_PT_NODE_H */
