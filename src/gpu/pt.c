/*
 * gpu/pt.c -- the GPU page table: range operations in canonical form and the life cycle (gpu/pt.h
 * has the entry format and the invariants; pt_check.c the walk and the checker).
 *
 * Every range operation runs in three steps:
 *   1. validate the arguments (nothing touched);
 *   2. plan: count the table pages the operation will create (new directory and level-1 tables,
 *      and splits of 2 MiB leaves it changes only in part), and allocate exactly that many into a
 *      pool (arena memory plus a VRAM frame each); a failure frees the pool and returns;
 *   3. apply, which cannot fail: it takes tables from the pool, rewrites entries, recomputes
 *      fragment bits group by group, merges level-1 tables that became one 2 MiB leaf and frees
 *      tables that became empty.
 * The planning pass and the apply pass decide "does this 2 MiB piece need a level-1 table" with the
 * same helpers (huge_ok, leaf_changes), so the pool is always used up exactly; a debug assertion
 * checks it.
 *
 * Unmap and protect visit only populated subtrees: a missing table is skipped whole. Map visits
 * the range, creating what is missing.
 */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "core/compiler.h"
#include "gpu/pt_node.h"

enum op_kind { OP_MAP, OP_UNMAP, OP_PROTECT };

/* One range operation in progress. */
typedef struct pt_op {
    gpusim__gpu_pt *pt;
    enum op_kind kind;
    uint64_t start; /* [start, end): the range, 4 KiB-aligned, inside 48 bits. */
    uint64_t end;
    const uint64_t *frames;        /* MAP: frames[(va - start) >> 12] backs va. */
    uint64_t flags;                /* MAP: permissions and aperture; PROTECT: permissions. */
    gpusim__gpu_pt_node *pool[2];  /* Pre-allocated tables: [0] level 1, [1] directories. */
    gpusim__gpu_pt_node *fresh[2]; /* Tables created by splits (at most one at each end). */
    uint64_t writes;               /* Entries written so far (fresh tables counted at the end). */
} pt_op;

static size_t node_size(unsigned level)
{
    size_t base = offsetof(gpusim__gpu_pt_node, child);
    return level == 1 ? base : base + NENT * sizeof(gpusim__gpu_pt_node *);
}

/* ------------------------------------------------------------------------------------------- */
/* Table pages                                                                                 */
/* ------------------------------------------------------------------------------------------- */

/* Allocates a zeroed table page of `level` (memory and a VRAM frame), not yet in the tree. */
static int node_new(gpusim__gpu_pt *pt, unsigned level, gpusim__gpu_pt_node **out)
{
    gpusim__gpu_pt_node *n = gpusim__arena_zalloc(&pt->world->arena, node_size(level));
    if (n == NULL)
        return GPUSIM_ENOMEM;
    if (gpusim__gpu_vram_frame_alloc(pt->vram, &n->frame) != 0) {
        gpusim__arena_free(&pt->world->arena, n, node_size(level));
        return GPUSIM_ENOMEM;
    }
    n->level = (uint8_t)level;
    *out = n;
    return 0;
}

/* Frees a table page that is not (or no longer) in the tree. */
static void node_release(gpusim__gpu_pt *pt, gpusim__gpu_pt_node *n)
{
    int rc = gpusim__gpu_vram_frame_free(pt->vram, n->frame, 1);
    GPUSIM_ASSERT(rc == 0);
    (void)rc;
    gpusim__arena_free(&pt->world->arena, n, node_size(n->level));
}

/*
 * Frees a subtree that has been unlinked from the tree, with its accounting. Returns the valid
 * entries of its tables, fresh ones excepted: what clearing them one at a time would have counted
 * as writes (unmap_drop). A level-1 table's entries are all 4 KiB PTEs, so its count is nvalid
 * and its entries need not be read.
 */
static uint64_t subtree_drop(gpusim__gpu_pt *pt, pt_op *op, gpusim__gpu_pt_node *n)
{
    uint64_t entries = n->fresh ? 0 : n->nvalid;
    if (n->level == 1) {
        pt->mapped_pages -= n->nvalid;
    } else {
        for (unsigned i = 0; i < NENT; i++) {
            if (n->child[i] != NULL)
                entries += subtree_drop(pt, op, n->child[i]);
            else
                pt->mapped_pages -= pages_of(n->e[i], n->level);
        }
    }
    if (n->fresh && op != NULL)
        for (unsigned k = 0; k < 2; k++)
            if (op->fresh[k] == n)
                op->fresh[k] = NULL;
    pt->tables--;
    gpusim__stat_adjust(pt->st_tables, -1);
    node_release(pt, n);
    return entries;
}

/* Takes a pre-allocated table from the pool for use at `level`. */
static gpusim__gpu_pt_node *pool_take(pt_op *op, unsigned level)
{
    gpusim__gpu_pt_node **head = &op->pool[level == 1 ? 0 : 1];
    gpusim__gpu_pt_node *n = *head;
    GPUSIM_ASSERT(n != NULL); /* the plan counted every table the operation takes */
    *head = n->next;
    n->next = NULL;
    n->level = (uint8_t)level;
    op->pt->tables++;
    gpusim__stat_adjust(op->pt->st_tables, 1);
    return n;
}

static void pool_drain(pt_op *op)
{
    for (unsigned k = 0; k < 2; k++) {
        while (op->pool[k] != NULL) {
            gpusim__gpu_pt_node *n = op->pool[k];
            op->pool[k] = n->next;
            node_release(op->pt, n);
        }
    }
}

static int pool_fill(pt_op *op, const uint64_t need[2])
{
    for (unsigned k = 0; k < 2; k++) {
        for (uint64_t j = 0; j < need[k]; j++) {
            gpusim__gpu_pt_node *n;
            int rc = node_new(op->pt, k == 0 ? 1 : 2, &n);
            if (rc != 0) {
                pool_drain(op);
                return rc;
            }
            n->next = op->pool[k];
            op->pool[k] = n;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------- */
/* Entry updates                                                                               */
/* ------------------------------------------------------------------------------------------- */

/* Writes entry i of table n, keeping the counts; a store that changes nothing is not a write. */
static void store(pt_op *op, gpusim__gpu_pt_node *n, unsigned i, uint64_t v)
{
    uint64_t old = n->e[i];
    if (old == v)
        return;
    n->e[i] = v;
    if ((old ^ v) & VALID)
        n->nvalid = (v & VALID) ? n->nvalid + 1 : n->nvalid - 1;
    op->pt->mapped_pages += pages_of(v, n->level);
    op->pt->mapped_pages -= pages_of(old, n->level);
    if (!n->fresh)
        op->writes++;
}

/* Points directory entry i of n at table c. */
static void dir_link(pt_op *op, gpusim__gpu_pt_node *n, unsigned i, gpusim__gpu_pt_node *c)
{
    n->child[i] = c;
    store(op, n, i, make_entry(c->frame, VALID));
}

/* Replaces directory entry i of n (which names a table) by v, freeing the table's subtree. */
static void unlink_drop(pt_op *op, gpusim__gpu_pt_node *n, unsigned i, uint64_t v)
{
    gpusim__gpu_pt_node *c = n->child[i];
    n->child[i] = NULL;
    store(op, n, i, v);
    subtree_drop(op->pt, op, c);
}

/*
 * UNMAP of a range covering all of the table in directory entry i of n: drops the subtree whole.
 * Same result and same write count as clearing its entries one at a time (each valid entry one
 * write, every table emptied and freed, then the directory entry): the count comes from the
 * tables' nvalid instead of 512 stores per table, so unmapping a mirrored range costs a visit
 * of its tables rather than of its PTEs.
 */
static void unmap_drop(pt_op *op, gpusim__gpu_pt_node *n, unsigned i)
{
    gpusim__gpu_pt_node *c = n->child[i];
    n->child[i] = NULL;
    store(op, n, i, 0);
    op->writes += subtree_drop(op->pt, op, c);
}

/* Sets or clears FRAG on a group of 16 PTEs so that it says exactly whether they qualify. */
void gpusim__gpu_pt_frag_fix(uint64_t *g)
{
    uint64_t f0 = frame_of(g[0]);
    bool ok = (g[0] & VALID) && f0 % GPUSIM__GPU_FRAG_PAGES == 0;
    for (unsigned j = 1; ok && j < GPUSIM__GPU_FRAG_PAGES; j++)
        ok = (g[j] & KIND_BITS) == (g[0] & KIND_BITS) && frame_of(g[j]) == f0 + j;
    for (unsigned j = 0; j < GPUSIM__GPU_FRAG_PAGES; j++)
        g[j] = ok ? g[j] | FRAG : g[j] & ~FRAG;
}

/* Whether a full level-1 table is one 2 MiB leaf in disguise. */
bool gpusim__gpu_pt_mergeable(const gpusim__gpu_pt_node *t)
{
    if (t->nvalid != NENT)
        return false;
    uint64_t f0 = frame_of(t->e[0]);
    if (f0 % GPUSIM__GPU_HUGE_PAGES != 0)
        return false;
    for (unsigned j = 1; j < NENT; j++)
        if ((t->e[j] & KIND_BITS) != (t->e[0] & KIND_BITS) || frame_of(t->e[j]) != f0 + j)
            return false;
    return true;
}

static inline uint64_t map_frame(const pt_op *op, uint64_t va)
{
    return op->frames[(va - op->start) >> GPUSIM__GPU_PAGE_SHIFT];
}

/* MAP: whether the 512 frames from the 2 MiB-aligned va can be one 2 MiB leaf. */
static bool huge_ok(const pt_op *op, uint64_t va)
{
    const uint64_t *f = &op->frames[(va - op->start) >> GPUSIM__GPU_PAGE_SHIFT];
    if (f[0] % GPUSIM__GPU_HUGE_PAGES != 0)
        return false;
    for (unsigned j = 1; j < GPUSIM__GPU_HUGE_PAGES; j++)
        if (f[j] != f[0] + j)
            return false;
    return true;
}

/* Whether the operation changes any page of the 2 MiB leaf `leaf` at cbase within [s, e). */
static bool leaf_changes(const pt_op *op, uint64_t leaf, uint64_t cbase, uint64_t s, uint64_t e)
{
    switch (op->kind) {
    case OP_MAP:
        if ((leaf & GPUSIM__GPU_PTE_MAP_FLAGS) != op->flags)
            return true;
        for (uint64_t va = s; va < e; va += GPUSIM__GPU_PAGE_SIZE)
            if (map_frame(op, va) != frame_of(leaf) + ((va - cbase) >> GPUSIM__GPU_PAGE_SHIFT))
                return true;
        return false;
    case OP_UNMAP:
        return true;
    case OP_PROTECT:
    default:
        return (leaf & PERMS) != op->flags;
    }
}

/* The new value of the PTE for va under the operation. */
static uint64_t op_entry(const pt_op *op, uint64_t va, uint64_t old)
{
    switch (op->kind) {
    case OP_MAP:
        return make_entry(map_frame(op, va), VALID | op->flags);
    case OP_UNMAP:
        return 0;
    case OP_PROTECT:
    default:
        return (old & VALID) ? (old & ~(PERMS | FRAG)) | op->flags : 0;
    }
}

/* ------------------------------------------------------------------------------------------- */
/* Apply                                                                                       */
/* ------------------------------------------------------------------------------------------- */

/* Level-1 table t maps [base, base + 2 MiB); applies the operation to [s, e) within it. */
static void apply_l1(pt_op *op, gpusim__gpu_pt_node *t, uint64_t base, uint64_t s, uint64_t e)
{
    unsigned first = (unsigned)((s - base) >> GPUSIM__GPU_PAGE_SHIFT);
    unsigned last = (unsigned)((e - 1 - base) >> GPUSIM__GPU_PAGE_SHIFT);
    for (unsigned g = first / GPUSIM__GPU_FRAG_PAGES; g <= last / GPUSIM__GPU_FRAG_PAGES; g++) {
        uint64_t v[GPUSIM__GPU_FRAG_PAGES];
        for (unsigned j = 0; j < GPUSIM__GPU_FRAG_PAGES; j++) {
            unsigned i = g * GPUSIM__GPU_FRAG_PAGES + j;
            uint64_t va = base + ((uint64_t)i << GPUSIM__GPU_PAGE_SHIFT);
            v[j] = (i >= first && i <= last) ? op_entry(op, va, t->e[i]) : t->e[i];
        }
        gpusim__gpu_pt_frag_fix(v);
        for (unsigned j = 0; j < GPUSIM__GPU_FRAG_PAGES; j++)
            store(op, t, g * GPUSIM__GPU_FRAG_PAGES + j, v[j]);
    }
}

/* Replaces the 2 MiB leaf in entry i of n by an equivalent level-1 table. */
static void split(pt_op *op, gpusim__gpu_pt_node *n, unsigned i)
{
    uint64_t leaf = n->e[i];
    gpusim__gpu_pt_node *t = pool_take(op, 1);
    /* Written once with its final contents: counted at the end of the operation (pt.h). */
    t->fresh = true;
    unsigned slot = op->fresh[0] == NULL ? 0 : 1;
    GPUSIM_ASSERT(op->fresh[slot] == NULL); /* only the range's two ends can split */
    op->fresh[slot] = t;
    uint64_t bits = (leaf & KIND_BITS) | FRAG; /* 512 aligned frames: every group a fragment */
    for (unsigned j = 0; j < NENT; j++)
        t->e[j] = make_entry(frame_of(leaf) + j, bits);
    t->nvalid = NENT;
    op->pt->mapped_pages += NENT; /* store() below subtracts the leaf's 512 */
    dir_link(op, n, i, t);
    gpusim__stat_add(op->pt->st_splits, 1);
}

/* Level-2 table n maps [base, base + 1 GiB); applies the operation to [s, e) within it. */
static void apply_l2(pt_op *op, gpusim__gpu_pt_node *n, uint64_t base, uint64_t s, uint64_t e)
{
    for (unsigned i = index_at(s, 2); i <= index_at(e - 1, 2); i++) {
        uint64_t cbase = base + ((uint64_t)i << GPUSIM__GPU_HUGE_SHIFT);
        uint64_t cs = GPUSIM_MAX(s, cbase), ce = GPUSIM_MIN(e, cbase + GPUSIM__GPU_HUGE_SIZE);
        bool full = cs == cbase && ce == cbase + GPUSIM__GPU_HUGE_SIZE;
        uint64_t ent = n->e[i];

        if (op->kind == OP_MAP && full && huge_ok(op, cbase)) {
            uint64_t leaf = make_entry(map_frame(op, cbase), VALID | LEAF | op->flags);
            if (n->child[i] != NULL)
                unlink_drop(op, n, i, leaf);
            else
                store(op, n, i, leaf);
            continue;
        }
        if (!(ent & VALID)) {
            if (op->kind != OP_MAP)
                continue; /* nothing mapped here */
            dir_link(op, n, i, pool_take(op, 1));
        } else if (full && op->kind == OP_UNMAP && !(ent & LEAF)) {
            unmap_drop(op, n, i); /* the whole level-1 table goes */
            continue;
        } else if (ent & LEAF) {
            if (!leaf_changes(op, ent, cbase, cs, ce))
                continue;
            if (full && op->kind == OP_UNMAP) {
                store(op, n, i, 0);
                continue;
            }
            if (full && op->kind == OP_PROTECT) {
                store(op, n, i, (ent & ~PERMS) | op->flags);
                continue;
            }
            if (full) /* a map of 4 KiB pages over all of it: a new table, written whole */
                dir_link(op, n, i, pool_take(op, 1));
            else
                split(op, n, i); /* part of the leaf changes: at most one at each end */
        }
        gpusim__gpu_pt_node *t = n->child[i];
        apply_l1(op, t, cbase, cs, ce);
        if (t->nvalid == 0) {
            unlink_drop(op, n, i, 0);
        } else if (gpusim__gpu_pt_mergeable(t)) {
            uint64_t leaf = make_entry(frame_of(t->e[0]), (t->e[0] & KIND_BITS) | LEAF);
            unlink_drop(op, n, i, leaf);
            gpusim__stat_add(op->pt->st_merges, 1);
        }
    }
}

/* Directory table n (level 3 or 4) maps [base, base + its span); applies to [s, e) within it. */
static void apply_dir(pt_op *op, gpusim__gpu_pt_node *n, uint64_t base, uint64_t s, uint64_t e)
{
    unsigned level = n->level, sh = level_shift(level);
    for (unsigned i = index_at(s, level); i <= index_at(e - 1, level); i++) {
        uint64_t cbase = base + ((uint64_t)i << sh);
        uint64_t cs = GPUSIM_MAX(s, cbase), ce = GPUSIM_MIN(e, cbase + (UINT64_C(1) << sh));
        gpusim__gpu_pt_node *c = n->child[i];
        if (c == NULL) {
            if (op->kind != OP_MAP)
                continue; /* an empty subtree: unmap and protect never enter it */
            c = pool_take(op, level - 1);
            dir_link(op, n, i, c);
        } else if (op->kind == OP_UNMAP && cs == cbase && ce == cbase + (UINT64_C(1) << sh)) {
            unmap_drop(op, n, i); /* the range covers the whole subtree */
            continue;
        }
        if (level - 1 == 2)
            apply_l2(op, c, cbase, cs, ce);
        else
            apply_dir(op, c, cbase, cs, ce);
        if (c->nvalid == 0)
            unlink_drop(op, n, i, 0);
    }
}

/* ------------------------------------------------------------------------------------------- */
/* Plan                                                                                        */
/* ------------------------------------------------------------------------------------------- */

/*
 * MAP: counts the tables the operation will create below table n of `level` for [s, e) within
 * [base, ...); n is NULL where the table does not exist yet (the caller counted it).
 * need[0] counts level-1 tables, need[1] directory tables. Mirrors apply_dir/apply_l2.
 */
static void plan_map(const pt_op *op, const gpusim__gpu_pt_node *n, unsigned level, uint64_t base,
                     uint64_t s, uint64_t e, uint64_t need[2])
{
    unsigned sh = level_shift(level);
    for (unsigned i = index_at(s, level); i <= index_at(e - 1, level); i++) {
        uint64_t cbase = base + ((uint64_t)i << sh);
        uint64_t cs = GPUSIM_MAX(s, cbase), ce = GPUSIM_MIN(e, cbase + (UINT64_C(1) << sh));
        if (level == 2) {
            bool full = cs == cbase && ce == cbase + GPUSIM__GPU_HUGE_SIZE;
            uint64_t ent = n != NULL ? n->e[i] : 0;
            if (full && huge_ok(op, cbase))
                continue;
            if (!(ent & VALID))
                need[0]++;
            else if ((ent & LEAF) && leaf_changes(op, ent, cbase, cs, ce))
                need[0]++;
        } else {
            const gpusim__gpu_pt_node *c = n != NULL ? n->child[i] : NULL;
            if (c == NULL)
                need[1]++;
            plan_map(op, c, level - 1, cbase, cs, ce, need);
        }
    }
}

/* The level-2 entry covering va, or 0 when its path does not exist. */
static uint64_t l2_entry(const gpusim__gpu_pt *pt, uint64_t va)
{
    const gpusim__gpu_pt_node *n = pt->root;
    for (unsigned level = 4; level > 2 && n != NULL; level--)
        n = n->child[index_at(va, level)];
    return n != NULL ? n->e[index_at(va, 2)] : 0;
}

/* UNMAP, PROTECT: only the 2 MiB pieces at the ends can be covered in part and need a split. */
static void plan_ends(const pt_op *op, uint64_t need[2])
{
    uint64_t ends[2] = {op->start, op->end - 1};
    for (unsigned k = 0; k < 2; k++) {
        uint64_t cbase = ends[k] & ~(GPUSIM__GPU_HUGE_SIZE - 1);
        if (k == 1 && cbase == (op->start & ~(GPUSIM__GPU_HUGE_SIZE - 1)))
            break; /* one piece holds both ends */
        uint64_t cs = GPUSIM_MAX(op->start, cbase);
        uint64_t ce = GPUSIM_MIN(op->end, cbase + GPUSIM__GPU_HUGE_SIZE);
        bool full = cs == cbase && ce == cbase + GPUSIM__GPU_HUGE_SIZE;
        uint64_t ent = l2_entry(op->pt, cbase);
        if (!full && (ent & LEAF) && leaf_changes(op, ent, cbase, cs, ce))
            need[0]++;
    }
}

/* ------------------------------------------------------------------------------------------- */
/* Range operations                                                                            */
/* ------------------------------------------------------------------------------------------- */

static int check_range(uint64_t va, uint64_t len)
{
    if (len == 0 || va % GPUSIM__GPU_PAGE_SIZE != 0 || len % GPUSIM__GPU_PAGE_SIZE != 0)
        return GPUSIM_EINVAL;
    if (va >= GPUSIM__GPU_VA_LIMIT || len > GPUSIM__GPU_VA_LIMIT - va)
        return GPUSIM_EFAULT; /* leaves the 48-bit VA, or wraps */
    return 0;
}

static int run(pt_op *op, uint64_t *writes)
{
    uint64_t need[2] = {0, 0};
    if (op->kind == OP_MAP)
        plan_map(op, op->pt->root, GPUSIM__GPU_PT_LEVELS, 0, op->start, op->end, need);
    else
        plan_ends(op, need);
    int rc = pool_fill(op, need);
    if (rc != 0)
        return rc;

    apply_dir(op, op->pt->root, 0, op->start, op->end);

    for (unsigned k = 0; k < 2; k++) {
        if (op->fresh[k] != NULL) {
            op->writes += op->fresh[k]->nvalid;
            op->fresh[k]->fresh = false;
        }
    }
    GPUSIM_ASSERT(op->pool[0] == NULL && op->pool[1] == NULL);
    pool_drain(op); /* empty unless the plan was wrong; never leak */
    gpusim__stat_add(op->pt->st_writes, op->writes);
    gpusim__stat_add(op->pt->st_ops, 1);
    if (writes != NULL)
        *writes = op->writes;
    return 0;
}

int gpusim__gpu_pt_map(gpusim__gpu_pt *pt, uint64_t va, uint64_t len, const uint64_t *frames,
                       uint64_t flags, uint64_t *writes)
{
    if (pt == NULL || frames == NULL || (flags & ~GPUSIM__GPU_PTE_MAP_FLAGS) != 0)
        return GPUSIM_EINVAL;
    int rc = check_range(va, len);
    if (rc != 0)
        return rc;
    for (uint64_t k = 0; k < len >> GPUSIM__GPU_PAGE_SHIFT; k++)
        if (frames[k] > GPUSIM__GPU_FRAME_MAX)
            return GPUSIM_EINVAL;
    pt_op op = {
        .pt = pt, .kind = OP_MAP, .start = va, .end = va + len, .frames = frames, .flags = flags};
    return run(&op, writes);
}

int gpusim__gpu_pt_unmap(gpusim__gpu_pt *pt, uint64_t va, uint64_t len, uint64_t *writes)
{
    if (pt == NULL)
        return GPUSIM_EINVAL;
    int rc = check_range(va, len);
    if (rc != 0)
        return rc;
    pt_op op = {.pt = pt, .kind = OP_UNMAP, .start = va, .end = va + len};
    return run(&op, writes);
}

int gpusim__gpu_pt_protect(gpusim__gpu_pt *pt, uint64_t va, uint64_t len, uint64_t perms,
                           uint64_t *writes)
{
    if (pt == NULL || (perms & ~PERMS) != 0)
        return GPUSIM_EINVAL;
    int rc = check_range(va, len);
    if (rc != 0)
        return rc;
    pt_op op = {.pt = pt, .kind = OP_PROTECT, .start = va, .end = va + len, .flags = perms};
    return run(&op, writes);
}

/* ------------------------------------------------------------------------------------------- */
/* Life cycle                                                                                  */
/* ------------------------------------------------------------------------------------------- */

static void destroy(gpusim_world_t *w, gpusim__owned *o)
{
    gpusim__gpu_pt *pt = gpusim_container_of(o, gpusim__gpu_pt, owned);
    subtree_drop(pt, NULL, pt->root);
    GPUSIM_ASSERT(pt->tables == 0 && pt->mapped_pages == 0);
    gpusim__arena_free(&w->arena, pt, sizeof(*pt));
}

static int register_stats(gpusim_world_t *w, const char *prefix, gpusim__gpu_pt *pt)
{
    static const gpusim__stat_def defs[] = {
        {"pt.tables", GPUSIM_STAT_GAUGE, "", offsetof(gpusim__gpu_pt, st_tables)},
        {"pt.pte_writes", GPUSIM_STAT_COUNTER, "", offsetof(gpusim__gpu_pt, st_writes)},
        {"pt.splits", GPUSIM_STAT_COUNTER, "", offsetof(gpusim__gpu_pt, st_splits)},
        {"pt.merges", GPUSIM_STAT_COUNTER, "", offsetof(gpusim__gpu_pt, st_merges)},
        {"pt.range_ops", GPUSIM_STAT_COUNTER, "", offsetof(gpusim__gpu_pt, st_ops)},
    };
    return gpusim__stats_register_prefixed(w, prefix, defs, GPUSIM_ARRAY_SIZE(defs), pt);
}

int gpusim__gpu_pt_new(gpusim_world_t *w, gpusim__gpu_vram *vram, uint32_t ctx, const char *prefix,
                       gpusim__gpu_pt **out)
{
    if (w == NULL || vram == NULL || prefix == NULL || out == NULL || vram->world != w)
        return GPUSIM_EINVAL;
    gpusim__gpu_pt *pt = gpusim__arena_zalloc(&w->arena, sizeof(*pt));
    if (pt == NULL)
        return GPUSIM_ENOMEM;
    pt->world = w;
    pt->vram = vram;
    pt->ctx = ctx;
    int rc = register_stats(w, prefix, pt);
    if (rc == 0)
        rc = node_new(pt, GPUSIM__GPU_PT_LEVELS, &pt->root);
    if (rc != 0) {
        gpusim__arena_free(&w->arena, pt, sizeof(*pt));
        return rc;
    }
    pt->tables = 1;
    gpusim__stat_adjust(pt->st_tables, 1);
    gpusim__world_own(w, &pt->owned, destroy);
    *out = pt;
    return 0;
}

void gpusim__gpu_pt_free(gpusim__gpu_pt *pt)
{
    if (pt == NULL)
        return;
    gpusim__world_disown(&pt->owned);
    destroy(pt->world, &pt->owned);
}
