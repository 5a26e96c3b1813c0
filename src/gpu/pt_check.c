/*
 * gpu/pt_check.c -- the GPU page table read as the hardware reads it (gpusim__gpu_pt_walk_va), and
 * the checker of every invariant listed in gpu/pt.h (gpusim__gpu_pt_check). Reads only.
 */
#include <stdlib.h>
#include <string.h>

#include "gpu/pt_node.h"

/* ------------------------------------------------------------------------------------------- */
/* Walk                                                                                        */
/* ------------------------------------------------------------------------------------------- */

bool gpusim__gpu_pt_walk_va(const gpusim__gpu_pt *pt, uint64_t va, gpusim__gpu_pt_walk *out)
{
    memset(out, 0, sizeof(*out));
    if (va >= GPUSIM__GPU_VA_LIMIT)
        return false;
    const gpusim__gpu_pt_node *n = pt->root;
    for (unsigned level = GPUSIM__GPU_PT_LEVELS;; level--) {
        out->table[level] = n->frame;
        out->levels++;
        uint64_t ent = n->e[index_at(va, level)];
        if (!(ent & VALID))
            return false;
        if (level == 1 || (ent & LEAF)) {
            uint64_t size = level == 1
                                ? ((ent & FRAG) ? GPUSIM__GPU_FRAG_SIZE : GPUSIM__GPU_PAGE_SIZE)
                                : GPUSIM__GPU_HUGE_SIZE;
            /* A PTE's frame is its own 4 KiB page's, even inside a fragment. */
            uint64_t span = level == 1 ? GPUSIM__GPU_PAGE_SIZE : GPUSIM__GPU_HUGE_SIZE;
            out->pte = ent;
            out->size = size;
            out->pa = (frame_of(ent) << GPUSIM__GPU_PTE_FRAME_SHIFT) + (va & (span - 1));
            return true;
        }
        n = n->child[index_at(va, level)];
    }
}

/* ------------------------------------------------------------------------------------------- */
/* Checker                                                                                     */
/* ------------------------------------------------------------------------------------------- */

typedef struct check_state {
    const gpusim__gpu_pt *pt;
    uint64_t tables;  /* table pages seen */
    uint64_t mapped;  /* 4 KiB pages mapped */
    uint64_t *frames; /* frames of the tables seen (capacity pt->tables) */
} check_state;

static bool check_node(check_state *cs, const gpusim__gpu_pt_node *n, unsigned level)
{
    if (n->level != level || n->fresh || n->next != NULL)
        return false;
    if (!gpusim__gpu_vram_frame_used(cs->pt->vram, n->frame) || cs->tables >= cs->pt->tables)
        return false;
    cs->frames[cs->tables++] = n->frame;
    uint32_t valid = 0;
    for (unsigned i = 0; i < NENT; i++) {
        uint64_t ent = n->e[i];
        const gpusim__gpu_pt_node *c = level > 1 ? n->child[i] : NULL;
        if (!(ent & VALID)) {
            if (ent != 0 || c != NULL)
                return false; /* a cleared entry is all zeros and names nothing */
            continue;
        }
        valid++;
        if ((ent & ~KNOWN_BITS) != 0)
            return false;
        if (level == 1) {
            if (ent & LEAF)
                return false;
            cs->mapped++;
        } else if (level == 2 && (ent & LEAF)) {
            if ((ent & FRAG) || c != NULL || frame_of(ent) % GPUSIM__GPU_HUGE_PAGES != 0)
                return false;
            cs->mapped += GPUSIM__GPU_HUGE_PAGES;
        } else {
            /* A directory entry: exactly VALID and the frame of the table it names. */
            if (c == NULL || ent != make_entry(c->frame, VALID) || c->nvalid == 0)
                return false;
            if (!check_node(cs, c, level - 1))
                return false;
            if (level == 2 && gpusim__gpu_pt_mergeable(c))
                return false; /* canonical form: would have been merged */
        }
    }
    if (valid != n->nvalid)
        return false;
    if (level == 1) {
        for (unsigned g = 0; g < NENT; g += GPUSIM__GPU_FRAG_PAGES) {
            uint64_t v[GPUSIM__GPU_FRAG_PAGES];
            memcpy(v, &n->e[g], sizeof v);
            gpusim__gpu_pt_frag_fix(v);
            if (memcmp(v, &n->e[g], sizeof v) != 0)
                return false;
        }
    }
    return true;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

bool gpusim__gpu_pt_check(const gpusim__gpu_pt *pt)
{
    if (pt == NULL || pt->root == NULL || pt->tables == 0)
        return false;
    gpusim__arena *arena = &pt->world->arena;
    size_t bytes = (size_t)pt->tables * sizeof(uint64_t);
    check_state cs = {.pt = pt, .frames = gpusim__arena_alloc(arena, bytes)};
    if (cs.frames == NULL)
        return false;
    bool ok = check_node(&cs, pt->root, GPUSIM__GPU_PT_LEVELS) && cs.tables == pt->tables &&
              cs.mapped == pt->mapped_pages;
    if (ok) {
        /* Every table in its own frame. */
        qsort(cs.frames, (size_t)cs.tables, sizeof(uint64_t), cmp_u64);
        for (uint64_t k = 1; ok && k < cs.tables; k++)
            ok = cs.frames[k] != cs.frames[k - 1];
    }
    gpusim__arena_free(arena, cs.frames, bytes);
    return ok && gpusim__gpu_vram_check(pt->vram) && gpusim__gpu_vram_used(pt->vram) >= pt->tables;
}
