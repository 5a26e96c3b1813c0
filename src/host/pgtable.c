/*
 * host/pgtable.c -- a process's 4-level CPU page table (x86-64 layout: 9 bits per level over a
 * 48-bit address, 4 KiB leaves at level 0 and 2 MiB leaves at level 1).
 *
 * Entries are described in host/host.h. Directory entries hold child-table pointers (8-byte
 * aligned, so their low three bits are zero, which tells them from 2 MiB leaves). Table pages come
 * from the world's arena, not from simulated RAM: page-table memory is small (0.2 % of what it
 * maps) and charging it would only blur the comparisons the simulator exists for (docs/host.md).
 *
 * Invariant: no table is empty except the root (gpusim__pt_prune runs after every operation that
 * clears entries), so a walk never descends into a subtree without entries.
 */
#include "host/host.h"
#include "core/alloc.h"

#define LEVEL_SHIFT(l)     (HOST_PAGE_SHIFT + 9 * (l))
#define LEVEL_INDEX(va, l) ((unsigned)(((va) >> LEVEL_SHIFT(l)) & 511u))

static ptable *child(uint64_t e)
{
    return (ptable *)(uintptr_t)e;
}

static ptable *table_new(gpusim_host_t *h, pgtable *pt)
{
    ptable *t = gpusim__arena_zalloc(&h->world->arena, sizeof(ptable));
    if (t)
        pt->tables++;
    return t;
}

static void table_free(gpusim_host_t *h, pgtable *pt, ptable *t)
{
    gpusim__arena_free(&h->world->arena, t, sizeof(ptable));
    pt->tables--;
}

pte_t *gpusim__pt_lookup(const pgtable *pt, uint64_t va, pte_t **pmd)
{
    ptable *t = pt->root;
    if (pmd)
        *pmd = NULL;
    for (int l = 3; l >= 1 && t; l--) {
        uint64_t *slot = &t->e[LEVEL_INDEX(va, l)];
        if (l == 1) {
            if (pmd)
                *pmd = slot;
            if (!PMD_IS_TABLE(*slot))
                return NULL;
        } else if (*slot == 0) {
            return NULL;
        }
        t = child(*slot);
    }
    return t ? &t->e[LEVEL_INDEX(va, 0)] : NULL;
}

pte_t *gpusim__pt_alloc_pmd(gpusim_host_t *h, pgtable *pt, uint64_t va)
{
    ptable *t;
    if (!pt->root && !(pt->root = table_new(h, pt)))
        return NULL;
    t = pt->root;
    for (int l = 3; l >= 2; l--) {
        uint64_t *slot = &t->e[LEVEL_INDEX(va, l)];
        if (*slot == 0) {
            ptable *c = table_new(h, pt);
            if (!c)
                return NULL; /* empty tables left behind are pruned by the caller's prune */
            *slot = (uint64_t)(uintptr_t)c;
        }
        t = child(*slot);
    }
    return &t->e[LEVEL_INDEX(va, 1)];
}

pte_t *gpusim__pt_alloc(gpusim_host_t *h, pgtable *pt, uint64_t va)
{
    pte_t *pmd = gpusim__pt_alloc_pmd(h, pt, va);
    if (!pmd)
        return NULL;
    GPUSIM_ASSERT(*pmd == 0 || PMD_IS_TABLE(*pmd));
    if (*pmd == 0) {
        ptable *c = table_new(h, pt);
        if (!c)
            return NULL;
        *pmd = (uint64_t)(uintptr_t)c;
    }
    return &child(*pmd)->e[LEVEL_INDEX(va, 0)];
}

static bool table_empty(const ptable *t)
{
    for (unsigned i = 0; i < 512; i++)
        if (t->e[i])
            return false;
    return true;
}

/* Frees the empty child tables of table t (level l >= 1, covering from base) within [start, last]. */
static void prune_table(gpusim_host_t *h, pgtable *pt, ptable *t, int l, uint64_t base,
                        uint64_t start, uint64_t last)
{
    unsigned i0 = start > base ? (unsigned)((start - base) >> LEVEL_SHIFT(l)) : 0;
    unsigned i1 = (unsigned)GPUSIM_MIN(UINT64_C(511), (last - base) >> LEVEL_SHIFT(l));
    for (unsigned i = i0; i <= i1; i++) {
        uint64_t e = t->e[i];
        if (!PMD_IS_TABLE(e))
            continue;
        if (l >= 2)
            prune_table(h, pt, child(e), l - 1, base + ((uint64_t)i << LEVEL_SHIFT(l)), start,
                        last);
        if (table_empty(child(e))) {
            table_free(h, pt, child(e));
            t->e[i] = 0;
        }
    }
}

void gpusim__pt_prune(gpusim_host_t *h, pgtable *pt, uint64_t start, uint64_t end)
{
    if (!pt->root || end <= start)
        return;
    prune_table(h, pt, pt->root, 3, 0, start, end - 1);
}

static void destroy_level(gpusim_host_t *h, pgtable *pt, ptable *t, int l)
{
    if (l >= 1)
        for (unsigned i = 0; i < 512; i++)
            if (PMD_IS_TABLE(t->e[i]))
                destroy_level(h, pt, child(t->e[i]), l - 1);
    table_free(h, pt, t);
}

void gpusim__pt_destroy(gpusim_host_t *h, pgtable *pt)
{
    if (pt->root)
        destroy_level(h, pt, pt->root, 3);
    pt->root = NULL;
}

static int walk_level(const ptable *t, int l, uint64_t base, uint64_t start, uint64_t last,
                      pt_walk_fn fn, void *ctx)
{
    uint64_t span = UINT64_C(1) << LEVEL_SHIFT(l);
    unsigned i0 = start > base ? (unsigned)((start - base) >> LEVEL_SHIFT(l)) : 0;
    unsigned i1 = (unsigned)GPUSIM_MIN(UINT64_C(511), (last - base) >> LEVEL_SHIFT(l));
    for (unsigned i = i0; i <= i1; i++) {
        uint64_t e = t->e[i];
        uint64_t va = base + i * span;
        int rc;
        if (e == 0)
            continue;
        if (l == 0) {
            rc = fn(ctx, va, (pte_t *)&t->e[i], false);
        } else if (l == 1 && !PMD_IS_TABLE(e)) {
            rc = fn(ctx, va, (pte_t *)&t->e[i], true);
        } else {
            rc = walk_level(child(e), l - 1, va, start, last, fn, ctx);
        }
        if (rc)
            return rc;
    }
    return 0;
}

int gpusim__pt_walk(const pgtable *pt, uint64_t start, uint64_t end, pt_walk_fn fn, void *ctx)
{
    if (!pt->root || end <= start)
        return 0;
    return walk_level(pt->root, 3, 0, start, end - 1, fn, ctx);
}
