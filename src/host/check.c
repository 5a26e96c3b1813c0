/*
 * host/check.c -- the host's invariant checker (gpusim_host_check).
 *
 * It recomputes, from first principles, everything the host keeps incrementally, and compares:
 *
 *   physical memory   every pageblock's nfree is the number of its FREE frames (a fresh block counts
 *                     512 without looking at its frames); a partly used block's free list holds
 *                     exactly those frames; every block is on exactly the node list its nfree calls
 *                     for (and each list's links and count are consistent); node.free and host.free
 *                     are the sums; frame 0 is the RESERVED zero page and no other frame is;
 *                     compound frames are an aligned FF_HEAD followed by 511 TAIL frames; FREE and
 *                     TAIL frames hold no counts, reverse mappings or LRU membership;
 *   page tables       per process: no empty table below the root (the prune invariant) and
 *                     pt.tables is the number of tables; every leaf is a valid present 4 KiB entry
 *                     (to a USED non-compound frame or the zero page), a 2 MiB leaf (to a USED
 *                     compound head), or a swap entry; every entry lies in a VMA (a 2 MiB leaf
 *                     wholly in one private anonymous VMA); a writable entry needs VM_WRITE, and the
 *                     frame behind it must be the one the VMA calls for (its file's page-cache page
 *                     at the right index, or an anonymous page where the mapping is private);
 *                     rss_anon/file/shmem and swapents are what the table holds;
 *   VMAs and files    the VMA tree passes gpusim__itree_check, VMAs are page aligned and disjoint
 *                     and nvmas counts them; every file's `mappers` is the number of VMAs naming
 *                     it, `cached` the number of pages in memory, and each page-cache frame names
 *                     its file and index; only shmem objects hold swap slots;
 *   frame counts      mapcount is the number of entries mapping the frame (the zero page is not
 *                     counted); refcount = mapcount + pincount (summed over the 512 pages of a
 *                     compound frame) + 1 if in the page cache; an anonymous page mapped writable
 *                     is mapped exactly once (copy-on-write was broken); with no operation in
 *                     flight, no USED frame is without a reference (leak) and every mapped or
 *                     cached frame is on an LRU list; pinned_frames is the number of 4 KiB
 *                     frames with a pin; anon/file/shmem/thp_frames are recounted;
 *   reverse map       each frame's mappings are exactly the (process, address, huge) entries that
 *                     map it, without duplicates; the overflow pool's entries are each used once or
 *                     free;
 *   LRU               each list is a consistent doubly linked list of USED non-tail frames of its
 *                     node with FF_LRU, the list's kind (anon/file, active/inactive) and the frame's
 *                     lru field; every frame with FF_LRU is on its list; counts match;
 *   swap              slot_refs[s] is the number of swap entries plus shmem slots naming s; the free
 *                     stack holds exactly the unreferenced slots, once each;
 *   data mode         no contents on a FREE frame, the zero page or a free swap slot;
 *   notifier          each process's domain passes gpusim__notifier_check: sequence parity, the
 *                     subscriptions' sequences, and balance (as many open invalidations as
 *                     `active`, each in an open state).
 *
 * Cost: O(frames + blocks + page-table entries + swap slots + files' pages), plus O(log VMAs) per
 * VMA change met in the page-table walk. It allocates scratch arrays from the world's arena (about
 * 5 bytes per frame, 5 per swap slot, 9 per reverse-map pool entry) and frees them before
 * returning, so it can fail with GPUSIM_ENOMEM but never leaks.
 *
 * The checker only reads the host. Call it between operations: an operation that is blocked may
 * hold a freshly allocated frame that it has not mapped yet (a copy-on-write waiting for its
 * announcement), which is why the leak check is skipped while operations are in flight.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "host/host.h"
#include "core/alloc.h"
#include "notifier/notifier.h"

/* Page-table geometry (as pgtable.c): 9 bits per level above the 4 KiB page offset. */
#define LEVEL_SHIFT(l) (HOST_PAGE_SHIFT + 9 * (l))
#define ROOT_LEVEL     3

/* Per-frame marks. */
enum {
    MK_FREELIST = 1u << 0, /* seen on its block's free list */
    MK_LRU = 1u << 1,      /* seen on an LRU list */
    MK_WRITABLE = 1u << 2, /* mapped by a writable entry */
    MK_CACHE = 1u << 3     /* in a file's page cache */
};

typedef struct chk {
    const gpusim_host_t *h;
    gpusim__arena *arena;
    char *msg;
    size_t msglen;
    /* Scratch, per frame / block / swap slot / file / reverse-map pool entry. */
    uint32_t *maps;   /* entries found mapping the frame */
    uint8_t *fmark;   /* MK_* */
    uint8_t *bmark;   /* block seen on a node list */
    uint32_t *srefs;  /* references to the slot found */
    uint8_t *smark;   /* slot seen on the free stack */
    uint32_t *fmaps;  /* VMAs naming file id - 1 */
    uint8_t *pmark;   /* pool entry reached from a frame */
    uint64_t *keys;   /* one frame's reverse-map keys, for the duplicate check */
    size_t nkeys_cap; /* capacity of keys */
    /* Recounted in the frame pass. */
    uint64_t anon, file, shmem, thp; /* frames, as gpusim__frame_account counts them */
    size_t reached;                  /* pool entries reached from frames */
} chk;

static int fail(chk *c, const char *fmt, ...) GPUSIM_PRINTF(2, 3);

static int fail(chk *c, const char *fmt, ...)
{
    if (c->msg && c->msglen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->msg, c->msglen, fmt, ap);
        va_end(ap);
    }
    return GPUSIM_ECORRUPT;
}

/* Whether a frame is free: in a fresh block (its metadata is stale), or in state FREE. */
static bool frame_free(const gpusim_host_t *h, uint32_t pfn)
{
    if (pfn == HOST_ZERO_PFN)
        return false;
    return h->blocks[pfn / HOST_HUGE_PAGES].fresh || h->frames[pfn].state == GPUSIM_FRAME_FREE;
}

/* ---- scratch ------------------------------------------------------------------------------- */

static void scratch_free(chk *c)
{
    const gpusim_host_t *h = c->h;
    gpusim__arena_free(c->arena, c->maps, (size_t)h->nframes * sizeof *c->maps);
    gpusim__arena_free(c->arena, c->fmark, (size_t)h->nframes);
    gpusim__arena_free(c->arena, c->bmark, (size_t)h->nblocks);
    gpusim__arena_free(c->arena, c->srefs, (size_t)h->nslots * sizeof *c->srefs);
    gpusim__arena_free(c->arena, c->smark, (size_t)h->nslots);
    gpusim__arena_free(c->arena, c->fmaps, (size_t)h->nfiles * sizeof *c->fmaps);
    gpusim__arena_free(c->arena, c->pmark, h->rpool_hwm);
    gpusim__arena_free(c->arena, c->keys, c->nkeys_cap * sizeof *c->keys);
}

static int scratch_alloc(chk *c)
{
    const gpusim_host_t *h = c->h;
    c->nkeys_cap = h->rpool_hwm + 1; /* a frame has at most every pool entry plus one inline */
    c->maps = gpusim__arena_zalloc(c->arena, (size_t)h->nframes * sizeof *c->maps);
    c->fmark = gpusim__arena_zalloc(c->arena, (size_t)h->nframes);
    c->bmark = gpusim__arena_zalloc(c->arena, (size_t)h->nblocks);
    c->srefs = gpusim__arena_zalloc(c->arena, (size_t)h->nslots * sizeof *c->srefs);
    c->smark = gpusim__arena_zalloc(c->arena, (size_t)h->nslots);
    c->fmaps = gpusim__arena_zalloc(c->arena, (size_t)h->nfiles * sizeof *c->fmaps);
    c->pmark = gpusim__arena_zalloc(c->arena, h->rpool_hwm);
    c->keys = gpusim__arena_alloc(c->arena, c->nkeys_cap * sizeof *c->keys);
    if (!c->maps || !c->fmark || !c->bmark || !c->srefs || !c->smark || !c->fmaps || !c->pmark ||
        !c->keys) {
        scratch_free(c);
        return GPUSIM_ENOMEM;
    }
    return 0;
}

/* ---- (a) physical memory: pageblocks, free lists, node lists, compound frames ---------------- */

/* The block list a block with `nfree` free frames belongs on. */
static uint8_t block_want(uint16_t nfree)
{
    return nfree == HOST_HUGE_PAGES ? BL_FREE : nfree > 0 ? BL_PARTIAL : BL_NONE;
}

/* One node's block list: consistent links, each block of the node and zone, on the list it names. */
static int check_block_list(chk *c, unsigned n, int z, const hlist *l, uint8_t kind)
{
    const gpusim_host_t *h = c->h;
    const hnode *nd = &h->nodes[n];
    const char *name = kind == BL_FREE ? "freeblocks" : "partial";
    uint32_t prev = HOST_NIL;
    uint64_t count = 0;
    for (uint32_t b = l->head; b != HOST_NIL; b = h->blocks[b].next) {
        const hblock *blk;
        if (b < nd->first_block || b >= nd->first_block + nd->nblocks)
            return fail(c, "node %u %s[%d]: block %" PRIu32 " is not in this node", n, name, z, b);
        blk = &h->blocks[b];
        if (c->bmark[b])
            return fail(c, "node %u %s[%d]: block %" PRIu32 " is on a list twice", n, name, z, b);
        c->bmark[b] = 1;
        if ((b >= nd->movable_first) != (z == 1))
            return fail(c, "node %u %s[%d]: block %" PRIu32 " is in the other zone", n, name, z, b);
        if (blk->prev != prev)
            return fail(c,
                        "node %u %s[%d]: block %" PRIu32 " has prev %" PRIu32 ", expected %" PRIu32,
                        n, name, z, b, blk->prev, prev);
        if (blk->list != kind || block_want(blk->nfree) != kind)
            return fail(c, "block %" PRIu32 ": nfree %u (list field %u) but on node %u %s[%d]", b,
                        (unsigned)blk->nfree, (unsigned)blk->list, n, name, z);
        prev = b;
        count++;
    }
    if (l->tail != prev)
        return fail(c, "node %u %s[%d]: tail %" PRIu32 " but the last block is %" PRIu32, n, name,
                    z, l->tail, prev);
    if (l->count != count)
        return fail(c, "node %u %s[%d]: count %" PRIu64 " but %" PRIu64 " blocks are linked", n,
                    name, z, l->count, count);
    return 0;
}

/* A non-fresh block: its free list, its FREE frames and its compound frame. */
static int check_block_frames(chk *c, uint32_t b)
{
    const gpusim_host_t *h = c->h;
    const hblock *blk = &h->blocks[b];
    uint32_t first = b * HOST_HUGE_PAGES, nlist = 0, nfree = 0;
    const hframe *hf = &h->frames[first];
    bool compound = hf->state == GPUSIM_FRAME_USED && (hf->flags & FF_HEAD);
    for (uint32_t p = blk->free_head; p != HOST_NIL; p = h->frames[p].next) {
        if (p < first || p >= first + HOST_HUGE_PAGES)
            return fail(
                c, "block %" PRIu32 ": free list reaches frame %" PRIu32 " of another block", b, p);
        if (h->frames[p].state != GPUSIM_FRAME_FREE)
            return fail(c, "frame %" PRIu32 ": on block %" PRIu32 "'s free list but state %u", p, b,
                        (unsigned)h->frames[p].state);
        if (c->fmark[p] & MK_FREELIST)
            return fail(c, "block %" PRIu32 ": free list loops at frame %" PRIu32, b, p);
        c->fmark[p] |= MK_FREELIST;
        nlist++;
    }
    if (nlist != blk->nfree)
        return fail(c, "block %" PRIu32 ": nfree %u but %" PRIu32 " frames on its free list", b,
                    (unsigned)blk->nfree, nlist);
    if (compound && blk->nfree != 0)
        return fail(c, "block %" PRIu32 ": holds a compound frame but nfree %u", b,
                    (unsigned)blk->nfree);
    for (uint32_t i = 0; i < HOST_HUGE_PAGES; i++) {
        uint32_t pfn = first + i;
        const hframe *f = &h->frames[pfn];
        if (pfn == HOST_ZERO_PFN)
            continue;
        if (f->state == GPUSIM_FRAME_RESERVED)
            return fail(c, "frame %" PRIu32 ": RESERVED but only frame 0 is", pfn);
        if (f->state > GPUSIM_FRAME_RESERVED)
            return fail(c, "frame %" PRIu32 ": unknown state %u", pfn, (unsigned)f->state);
        if (i > 0 && compound && f->state != GPUSIM_FRAME_TAIL)
            return fail(c, "frame %" PRIu32 ": state %u inside the compound frame %" PRIu32, pfn,
                        (unsigned)f->state, first);
        if (!compound && f->state == GPUSIM_FRAME_TAIL)
            return fail(c, "frame %" PRIu32 ": TAIL but frame %" PRIu32 " is not a compound head",
                        pfn, first);
        if ((f->flags & FF_HEAD) && (i > 0 || f->state != GPUSIM_FRAME_USED))
            return fail(c, "frame %" PRIu32 ": FF_HEAD on a %s frame", pfn,
                        i > 0 ? "non-aligned" : "non-USED");
        if (f->state == GPUSIM_FRAME_FREE) {
            nfree++;
            if (!(c->fmark[pfn] & MK_FREELIST))
                return fail(c, "frame %" PRIu32 ": FREE but not on block %" PRIu32 "'s free list",
                            pfn, b);
        }
        if (f->state == GPUSIM_FRAME_FREE || f->state == GPUSIM_FRAME_TAIL) {
            if (f->refcount || f->mapcount || f->rmap)
                return fail(c,
                            "frame %" PRIu32 ": %s with refcount %" PRIu32 ", mapcount %" PRIu32
                            ", rmap %s",
                            pfn, f->state == GPUSIM_FRAME_FREE ? "FREE" : "TAIL", f->refcount,
                            f->mapcount, f->rmap ? "set" : "empty");
            if (f->flags & FF_LRU)
                return fail(c, "frame %" PRIu32 ": %s but FF_LRU", pfn,
                            f->state == GPUSIM_FRAME_FREE ? "FREE" : "TAIL");
        }
        if (f->state == GPUSIM_FRAME_FREE && f->pincount)
            return fail(c, "frame %" PRIu32 ": FREE with pincount %" PRIu32, pfn, f->pincount);
    }
    if (nfree != blk->nfree)
        return fail(c, "block %" PRIu32 ": nfree %u but %" PRIu32 " FREE frames", b,
                    (unsigned)blk->nfree, nfree);
    return 0;
}

static int check_physical(chk *c)
{
    const gpusim_host_t *h = c->h;
    const hframe *zero = &h->frames[HOST_ZERO_PFN];
    uint64_t total = 0;
    uint32_t next_block = 0;
    int rc;
    if (zero->state != GPUSIM_FRAME_RESERVED || zero->refcount != 1 || zero->mapcount ||
        zero->pincount || zero->rmap || (zero->flags & (FF_LRU | FF_HEAD)))
        return fail(c, "frame 0: the zero page must be RESERVED with refcount 1 and nothing else");
    if (h->blocks[0].fresh)
        return fail(c, "block 0: fresh, but it holds the zero page");
    for (unsigned n = 0; n < h->nnodes; n++) {
        const hnode *nd = &h->nodes[n];
        if (nd->first_block != next_block || nd->movable_first < nd->first_block ||
            nd->movable_first > nd->first_block + nd->nblocks)
            return fail(c,
                        "node %u: blocks [%" PRIu32 ", +%" PRIu32 ") movable from %" PRIu32
                        " do not follow the previous node",
                        n, nd->first_block, nd->nblocks, nd->movable_first);
        next_block += nd->nblocks;
        for (int z = 0; z < 2; z++) {
            if ((rc = check_block_list(c, n, z, &nd->partial[z], BL_PARTIAL)) != 0 ||
                (rc = check_block_list(c, n, z, &nd->freeblocks[z], BL_FREE)) != 0)
                return rc;
        }
    }
    if (next_block != h->nblocks)
        return fail(c, "nodes cover %" PRIu32 " blocks of %" PRIu32, next_block, h->nblocks);
    for (unsigned n = 0; n < h->nnodes; n++) {
        const hnode *nd = &h->nodes[n];
        uint64_t free = 0;
        for (uint32_t b = nd->first_block; b < nd->first_block + nd->nblocks; b++) {
            const hblock *blk = &h->blocks[b];
            uint8_t want = block_want(blk->nfree);
            if (blk->nfree > HOST_HUGE_PAGES)
                return fail(c, "block %" PRIu32 ": nfree %u", b, (unsigned)blk->nfree);
            if (blk->list != want || (want != BL_NONE && !c->bmark[b]))
                return fail(c,
                            "block %" PRIu32 ": nfree %u calls for list %u but it is on list %u%s",
                            b, (unsigned)blk->nfree, (unsigned)want, (unsigned)blk->list,
                            want != BL_NONE && !c->bmark[b] ? " (not linked)" : "");
            if (blk->fresh) {
                if (blk->nfree != HOST_HUGE_PAGES)
                    return fail(c, "block %" PRIu32 ": fresh but nfree %u", b,
                                (unsigned)blk->nfree);
            } else if ((rc = check_block_frames(c, b)) != 0) {
                return rc;
            }
            free += blk->nfree;
        }
        if (free != nd->free)
            return fail(c, "node %u: free %" PRIu64 " but its blocks hold %" PRIu64 " free frames",
                        n, nd->free, free);
        total += free;
    }
    if (total != h->free)
        return fail(c, "host free %" PRIu64 " but the nodes hold %" PRIu64 " free frames", h->free,
                    total);
    return 0;
}

/* ---- (b, c, g) page tables: every leaf, counted against frames, VMAs and RSS ----------------- */

typedef struct pwalk {
    chk *c;
    const gpusim_process_t *p;
    const hvma *v; /* the VMA of the previous leaf (leaves come in address order) */
    uint64_t rss_anon, rss_file, rss_shmem, swapents, tables;
} pwalk;

static const hvma *vma_at(pwalk *w, uint64_t va)
{
    if (!w->v || va < vma_start(w->v) || va >= vma_end(w->v))
        w->v = gpusim__vma_find(w->p, va);
    return w->v;
}

/* A present entry: the frame it names must be the one its VMA calls for. */
static int check_present(pwalk *w, uint64_t va, pte_t e, bool huge, const hvma *v)
{
    chk *c = w->c;
    const gpusim_host_t *h = c->h;
    const char *pn = w->p->name;
    uint32_t pfn = PTE_PFN(e);
    bool writable = (e & PTE_WRITE) != 0;
    const hframe *f;
    uint64_t npages = huge ? HOST_HUGE_PAGES : 1;
    if (writable && !(v->flags & VM_WRITE))
        return fail(c, "process %s: writable entry at 0x%" PRIx64 " in a VMA without write", pn,
                    va);
    if (pfn >= h->nframes)
        return fail(c, "process %s: entry at 0x%" PRIx64 " names frame %" PRIu32 " of %" PRIu32, pn,
                    va, pfn, h->nframes);
    if (pfn == HOST_ZERO_PFN) {
        if (huge || writable || v->file || (v->flags & VM_SHARED))
            return fail(c,
                        "process %s: zero page at 0x%" PRIx64
                        " must be a read-only 4 KiB entry in a private anonymous VMA",
                        pn, va);
        return 0; /* not counted anywhere */
    }
    f = &h->frames[pfn];
    if (frame_free(h, pfn))
        return fail(c, "process %s: entry at 0x%" PRIx64 " maps FREE frame %" PRIu32, pn, va, pfn);
    if (f->state == GPUSIM_FRAME_TAIL)
        return fail(c, "process %s: entry at 0x%" PRIx64 " maps TAIL frame %" PRIu32, pn, va, pfn);
    if (huge != ((f->flags & FF_HEAD) != 0))
        return fail(c, "process %s: %s entry at 0x%" PRIx64 " maps %s frame %" PRIu32, pn,
                    huge ? "2 MiB" : "4 KiB", va, huge ? "non-compound" : "compound head", pfn);
    if (f->flags & FF_ANON) {
        if (v->file && (v->flags & VM_SHARED))
            return fail(c,
                        "process %s: anonymous frame %" PRIu32 " at 0x%" PRIx64
                        " in a shared file mapping",
                        pn, pfn, va);
    } else {
        if (!v->file || f->owner != v->file->id || f->index != vma_pgoff(v, va))
            return fail(c,
                        "process %s: frame %" PRIu32 " (owner %" PRIu32 " index %" PRIu32
                        ") at 0x%" PRIx64 " is not the page cache page its VMA maps",
                        pn, pfn, f->owner, f->index, va);
        if (writable && !(v->flags & VM_SHARED))
            return fail(c,
                        "process %s: page-cache frame %" PRIu32 " mapped writable at 0x%" PRIx64
                        " in a private mapping",
                        pn, pfn, va);
    }
    if (huge && (v->file || (v->flags & VM_SHARED)))
        return fail(c, "process %s: 2 MiB entry at 0x%" PRIx64 " outside private anonymous memory",
                    pn, va);
    c->maps[pfn]++;
    if (writable)
        c->fmark[pfn] |= MK_WRITABLE;
    if (f->flags & FF_ANON)
        w->rss_anon += npages;
    else if (f->flags & FF_SHMEM)
        w->rss_shmem += npages;
    else
        w->rss_file += npages;
    return 0;
}

static int check_leaf(pwalk *w, uint64_t va, pte_t e, bool huge)
{
    chk *c = w->c;
    const gpusim_host_t *h = c->h;
    const char *pn = w->p->name;
    uint64_t size = huge ? HOST_HUGE_SIZE : HOST_PAGE_SIZE;
    const hvma *v = vma_at(w, va);
    if (!v || va + size > vma_end(v))
        return fail(c, "process %s: %s entry at 0x%" PRIx64 " is not inside one VMA", pn,
                    huge ? "2 MiB" : "4 KiB", va);
    if (PTE_IS_PRESENT(e)) {
        if (((e & PTE_HUGE) != 0) != huge)
            return fail(c, "process %s: entry at 0x%" PRIx64 " has the huge bit %s at level %d", pn,
                        va, huge ? "clear" : "set", huge ? 1 : 0);
        return check_present(w, va, e, huge, v);
    }
    if (huge)
        return fail(c, "process %s: non-present 2 MiB entry 0x%" PRIx64 " at 0x%" PRIx64, pn, e,
                    va);
    if (PTE_IS_SWAP(e)) {
        uint32_t s = PTE_PFN(e);
        if (s >= h->nslots)
            return fail(
                c, "process %s: swap entry at 0x%" PRIx64 " names slot %" PRIu32 " of %" PRIu32, pn,
                va, s, h->nslots);
        if (v->flags & VM_SHARED)
            return fail(c, "process %s: swap entry at 0x%" PRIx64 " in a shared mapping", pn, va);
        c->srefs[s]++;
        w->swapents++;
        return 0;
    }
    return fail(c, "process %s: unknown entry 0x%" PRIx64 " at 0x%" PRIx64, pn, e, va);
}

/* Walks table t (level l, covering from base): counts tables, refuses empty ones, visits leaves. */
static int walk_table(pwalk *w, const ptable *t, int l, uint64_t base)
{
    unsigned used = 0;
    w->tables++;
    for (unsigned i = 0; i < 512; i++) {
        uint64_t e = t->e[i];
        uint64_t va = base + ((uint64_t)i << LEVEL_SHIFT(l));
        int rc;
        if (e == 0)
            continue;
        used++;
        if (l == ROOT_LEVEL && va >= GPUSIM_HOST_VA_END)
            return fail(w->c, "process %s: root entry %u is above the user address space",
                        w->p->name, i);
        if (l == 0)
            rc = check_leaf(w, va, e, false);
        else if (l == 1 && !PMD_IS_TABLE(e))
            rc = check_leaf(w, va, e, true);
        else if (!PMD_IS_TABLE(e))
            rc = fail(w->c,
                      "process %s: level-%d entry 0x%" PRIx64 " at 0x%" PRIx64 " is not a table",
                      w->p->name, l, e, va);
        else
            rc = walk_table(w, (const ptable *)(uintptr_t)e, l - 1, va);
        if (rc)
            return rc;
    }
    if (used == 0 && l != ROOT_LEVEL)
        return fail(w->c, "process %s: empty level-%d table at 0x%" PRIx64 " (not pruned)",
                    w->p->name, l, base);
    return 0;
}

/* The VMA tree: balanced and consistent, page aligned, disjoint, counted; files counted. */
static int check_vmas(chk *c, const gpusim_process_t *p)
{
    const gpusim_host_t *h = c->h;
    uint64_t n = 0, prev_end = 0;
    if (!gpusim__itree_check(&p->vmas))
        return fail(c, "process %s: the VMA tree is corrupt", p->name);
    for (gpusim__itree_node *nd = gpusim__itree_min(&p->vmas); nd;
         nd = gpusim__itree_successor(nd)) {
        const hvma *v = gpusim_container_of(nd, hvma, node);
        uint64_t s = vma_start(v), e = vma_end(v);
        if (s % HOST_PAGE_SIZE || e % HOST_PAGE_SIZE || e <= s || e > GPUSIM_HOST_VA_END)
            return fail(c, "process %s: VMA [0x%" PRIx64 ", 0x%" PRIx64 ") is malformed", p->name,
                        s, e);
        if (s < prev_end)
            return fail(c, "process %s: VMA at 0x%" PRIx64 " overlaps the one ending at 0x%" PRIx64,
                        p->name, s, prev_end);
        if ((v->flags & VM_HUGEPAGE) && (v->flags & VM_NOHUGEPAGE))
            return fail(c, "process %s: VMA at 0x%" PRIx64 " is both HUGEPAGE and NOHUGEPAGE",
                        p->name, s);
        if (v->file) {
            uint32_t id = v->file->id;
            if (id == 0 || id > h->nfiles || h->files[id - 1] != v->file)
                return fail(c,
                            "process %s: VMA at 0x%" PRIx64 " names file %" PRIu32
                            " that the host does not hold",
                            p->name, s, id);
            if (v->file->shmem && !(v->flags & VM_SHARED))
                return fail(c, "process %s: VMA at 0x%" PRIx64 " is a private mapping of shmem",
                            p->name, s);
            c->fmaps[id - 1]++;
        } else if (v->flags & VM_SHARED) {
            return fail(c, "process %s: shared anonymous VMA at 0x%" PRIx64 " has no shmem object",
                        p->name, s);
        }
        prev_end = e;
        n++;
    }
    if (n != p->nvmas || n != p->vmas.count)
        return fail(c, "process %s: nvmas %" PRIu64 ", tree count %zu, but %" PRIu64 " VMAs",
                    p->name, p->nvmas, p->vmas.count, n);
    return 0;
}

static int check_process(chk *c, const gpusim_process_t *p)
{
    pwalk w = {c, p, NULL, 0, 0, 0, 0, 0};
    int rc = check_vmas(c, p);
    if (rc)
        return rc;
    /* The domain's own invariants, notifier balance included: the host is what starts and ends
     * invalidations, so a path that forgot an end shows here. */
    if (p->notifier && !gpusim__notifier_check(p->notifier))
        return fail(c,
                    "process %s: notifier domain inconsistent (seq %" PRIu64 ", %zu invalidations "
                    "open)",
                    p->name, gpusim_notifier_seq(p->notifier), gpusim_notifier_active(p->notifier));
    if (p->pt.root && (rc = walk_table(&w, p->pt.root, ROOT_LEVEL, 0)) != 0)
        return rc;
    if (w.tables != p->pt.tables)
        return fail(c, "process %s: pt.tables %" PRIu64 " but %" PRIu64 " tables are reachable",
                    p->name, p->pt.tables, w.tables);
    if (w.rss_anon != p->rss_anon || w.rss_file != p->rss_file || w.rss_shmem != p->rss_shmem)
        return fail(c,
                    "process %s: rss anon/file/shmem %" PRIu64 "/%" PRIu64 "/%" PRIu64
                    " pages but its page table maps %" PRIu64 "/%" PRIu64 "/%" PRIu64,
                    p->name, p->rss_anon, p->rss_file, p->rss_shmem, w.rss_anon, w.rss_file,
                    w.rss_shmem);
    if (w.swapents != p->swapents)
        return fail(c, "process %s: swapents %" PRIu64 " but its page table holds %" PRIu64,
                    p->name, p->swapents, w.swapents);
    return 0;
}

static int check_processes(chk *c)
{
    const gpusim_host_t *h = c->h;
    uint32_t n = 0;
    for (uint32_t i = 0; i < h->nprocs_cap; i++) {
        const gpusim_process_t *p = h->procs[i];
        int rc;
        if (!p)
            continue;
        if (p->slot != i || p->host != h)
            return fail(c, "process %s: in slot %" PRIu32 " but says slot %" PRIu32, p->name, i,
                        p->slot);
        if ((rc = check_process(c, p)) != 0)
            return rc;
        n++;
    }
    if (n != h->nprocs)
        return fail(c, "nprocs %" PRIu32 " but %" PRIu32 " processes", h->nprocs, n);
    return 0;
}

/* ---- files: page cache, swapped shmem pages, mappers ---------------------------------------- */

static int check_files(chk *c)
{
    const gpusim_host_t *h = c->h;
    for (uint32_t i = 0; i < h->nfiles; i++) {
        const gpusim_file_t *f = h->files[i];
        uint64_t cached = 0;
        if (!f) {
            if (c->fmaps[i])
                return fail(c, "file %" PRIu32 ": destroyed but mapped", i + 1);
            continue;
        }
        if (f->id != i + 1 || f->host != h)
            return fail(c, "file %" PRIu32 ": says it is file %" PRIu32, i + 1, f->id);
        if (f->mappers != c->fmaps[i])
            return fail(c, "file %" PRIu32 ": mappers %" PRIu32 " but %" PRIu32 " VMAs map it",
                        f->id, f->mappers, c->fmaps[i]);
        if (f->shmem && f->mappers == 0)
            return fail(c, "file %" PRIu32 ": a shmem object without mappers was not destroyed",
                        f->id);
        for (uint64_t x = 0; x < f->npages; x++) {
            uint64_t s;
            if (!f->chunks[x / FILE_CHUNK]) {
                x |= FILE_CHUNK - 1; /* an unused chunk: on to the next */
                continue;
            }
            s = gpusim__file_slot(f, x);
            if (s == 0)
                continue;
            if (s & FILE_SLOT_SWAP) {
                uint64_t slot = s & ~FILE_SLOT_SWAP;
                if (!f->shmem || slot >= h->nslots)
                    return fail(c, "file %" PRIu32 " page %" PRIu64 ": bad swap slot %" PRIu64,
                                f->id, x, slot);
                c->srefs[slot]++;
            } else {
                uint64_t pfn = s - 1;
                const hframe *fr;
                if (pfn == HOST_ZERO_PFN || pfn >= h->nframes || frame_free(h, (uint32_t)pfn) ||
                    h->frames[pfn].state != GPUSIM_FRAME_USED)
                    return fail(c,
                                "file %" PRIu32 " page %" PRIu64 ": caches frame %" PRIu64
                                " that is not a USED frame",
                                f->id, x, pfn);
                fr = &h->frames[pfn];
                if (c->fmark[pfn] & MK_CACHE)
                    return fail(c, "frame %" PRIu64 ": in the page cache twice", pfn);
                c->fmark[pfn] |= MK_CACHE;
                if (fr->owner != f->id || fr->index != x || (fr->flags & (FF_ANON | FF_HEAD)) ||
                    ((fr->flags & FF_SHMEM) != 0) != f->shmem)
                    return fail(c,
                                "frame %" PRIu64 ": cached as file %" PRIu32 " page %" PRIu64
                                " but says owner %" PRIu32 " index %" PRIu32 " flags 0x%x",
                                pfn, f->id, x, fr->owner, fr->index, (unsigned)fr->flags);
                cached++;
            }
        }
        if (cached != f->cached)
            return fail(c, "file %" PRIu32 ": cached %" PRIu64 " but %" PRIu64 " pages in memory",
                        f->id, f->cached, cached);
    }
    return 0;
}

/* ---- (d) LRU lists -------------------------------------------------------------------------- */

static int check_lru_list(chk *c, unsigned n, int l)
{
    const gpusim_host_t *h = c->h;
    const hlist *list = &h->nodes[n].lru[l];
    bool anon_list = l == LRU_INACTIVE_ANON || l == LRU_ACTIVE_ANON;
    bool active_list = l == LRU_ACTIVE_ANON || l == LRU_ACTIVE_FILE;
    uint32_t prev = HOST_NIL;
    uint64_t count = 0;
    for (uint32_t pfn = list->head; pfn != HOST_NIL; pfn = h->frames[pfn].next) {
        const hframe *f;
        if (pfn == HOST_ZERO_PFN || pfn >= h->nframes)
            return fail(c, "node %u lru %d: holds frame %" PRIu32, n, l, pfn);
        f = &h->frames[pfn];
        if (frame_free(h, pfn) || f->state != GPUSIM_FRAME_USED)
            return fail(c, "node %u lru %d: holds frame %" PRIu32 " in state %s", n, l, pfn,
                        frame_free(h, pfn) ? "FREE" : "TAIL");
        if (c->fmark[pfn] & MK_LRU)
            return fail(c, "node %u lru %d: frame %" PRIu32 " is on an LRU twice (loop?)", n, l,
                        pfn);
        c->fmark[pfn] |= MK_LRU;
        if (gpusim__frame_node(h, pfn) != n)
            return fail(c, "node %u lru %d: frame %" PRIu32 " belongs to node %u", n, l, pfn,
                        gpusim__frame_node(h, pfn));
        if (!(f->flags & FF_LRU) || f->lru != l)
            return fail(c, "frame %" PRIu32 ": on node %u lru %d but FF_LRU %s, lru field %u", pfn,
                        n, l, (f->flags & FF_LRU) ? "set" : "clear", (unsigned)f->lru);
        if (((f->flags & (FF_ANON | FF_SHMEM)) != 0 && !(f->flags & FF_LAZYFREE)) != anon_list ||
            ((f->flags & FF_ACTIVE) != 0) != active_list)
            return fail(c, "frame %" PRIu32 ": flags 0x%x do not suit lru %d", pfn,
                        (unsigned)f->flags, l);
        if (f->prev != prev)
            return fail(c, "frame %" PRIu32 ": lru prev %" PRIu32 ", expected %" PRIu32, pfn,
                        f->prev, prev);
        prev = pfn;
        count++;
    }
    if (list->tail != prev || list->count != count)
        return fail(c,
                    "node %u lru %d: tail %" PRIu32 " count %" PRIu64 ", but %" PRIu64
                    " frames ending at %" PRIu32,
                    n, l, list->tail, list->count, count, prev);
    return 0;
}

static int check_lru_lists(chk *c)
{
    int rc;
    for (unsigned n = 0; n < c->h->nnodes; n++)
        for (int l = 0; l < LRU_COUNT; l++)
            if ((rc = check_lru_list(c, n, l)) != 0)
                return rc;
    return 0;
}

/* ---- (b, f) one USED frame: counts, pins, accounting ----------------------------------------- */

static int frame_counts(chk *c, uint32_t pfn, const hframe *f, bool idle)
{
    const gpusim_host_t *h = c->h;
    uint32_t maps = c->maps[pfn], cache = (c->fmark[pfn] & MK_CACHE) ? 1 : 0;
    uint64_t pins = f->pincount, n;
    if (f->flags & FF_HEAD)
        for (uint32_t i = 1; i < HOST_HUGE_PAGES; i++)
            pins += h->frames[pfn + i].pincount;
    if (f->mapcount != maps)
        return fail(
            c, "frame %" PRIu32 ": mapcount %" PRIu32 " but %" PRIu32 " page-table entries map it",
            pfn, f->mapcount, maps);
    if (f->refcount != maps + pins + cache)
        return fail(c,
                    "frame %" PRIu32 ": refcount %" PRIu32 " but mapcount %" PRIu32
                    " + pincount %" PRIu64 " + cache %" PRIu32,
                    pfn, f->refcount, maps, pins, cache);
    if (idle && f->refcount == 0)
        return fail(c, "frame %" PRIu32 ": USED without a reference (leaked)", pfn);
    if (f->owner && !cache)
        return fail(c,
                    "frame %" PRIu32 ": says file %" PRIu32 " page %" PRIu32
                    " but is not in its page cache",
                    pfn, f->owner, f->index);
    /* A mapped or cached page off every LRU list is invisible to reclaim (only migration takes one
     * off, and not between operations). */
    if (idle && (maps || cache) && !(f->flags & (FF_LRU | FF_MIGRATING)))
        return fail(c, "frame %" PRIu32 ": in use but not on an LRU list", pfn);
    if ((f->flags & FF_ANON) && (f->flags & FF_SHMEM))
        return fail(c, "frame %" PRIu32 ": both FF_ANON and FF_SHMEM", pfn);
    if ((c->fmark[pfn] & MK_WRITABLE) && (f->flags & FF_ANON) && maps > 1)
        return fail(c,
                    "frame %" PRIu32 ": anonymous, mapped writable, but by %" PRIu32
                    " entries (copy-on-write not broken)",
                    pfn, maps);
    /* As gpusim__frame_account. */
    n = (f->flags & FF_HEAD) ? HOST_HUGE_PAGES : 1;
    if (f->flags & FF_ANON)
        c->anon += n;
    else if (f->flags & FF_SHMEM)
        c->shmem += n;
    else if (f->owner)
        c->file += n;
    if (f->flags & FF_HEAD)
        c->thp += n;
    return 0;
}

/* ---- (b) one USED frame: its reverse map ----------------------------------------------------- */

static int key_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Whether the entry named by key maps pfn. */
static bool key_maps(const gpusim_host_t *h, uint64_t key, uint32_t pfn)
{
    const gpusim_process_t *p = gpusim__proc(h, RMAP_SLOT(key));
    uint64_t va = RMAP_VA(key);
    pte_t *pmd, *pte;
    if (!p || va >= GPUSIM_HOST_VA_END)
        return false;
    pte = gpusim__pt_lookup(&p->pt, va, &pmd);
    if (RMAP_HUGE(key))
        return !pte && pmd && *pmd && !PMD_IS_TABLE(*pmd) && PTE_IS_PRESENT(*pmd) &&
               PTE_PFN(*pmd) == pfn && va % HOST_HUGE_SIZE == 0;
    return pte && PTE_IS_PRESENT(*pte) && PTE_PFN(*pte) == pfn;
}

/*
 * The frame's mappings are exactly the entries found mapping it: each key names an entry that maps
 * this frame, no key repeats, and there are as many keys as entries (so, the entries being
 * distinct, the two sets are equal).
 */
static int frame_rmap(chk *c, uint32_t pfn, const hframe *f)
{
    const gpusim_host_t *h = c->h;
    size_t k = 0;
    if (f->rmap == 0) {
        if (c->maps[pfn])
            return fail(c, "frame %" PRIu32 ": mapped %" PRIu32 " times but its rmap is empty", pfn,
                        c->maps[pfn]);
        return 0;
    }
    if (!(f->rmap & RMAP_EXT)) {
        c->keys[k++] = f->rmap;
    } else {
        for (uint64_t i = f->rmap & ~RMAP_EXT; i != HOST_NIL; i = h->rpool[i].next) {
            if (i >= h->rpool_hwm || c->pmark[i])
                return fail(
                    c, "frame %" PRIu32 ": rmap chain reaches pool entry %" PRIu64 " that is %s",
                    pfn, i, i >= h->rpool_hwm ? "unallocated" : "already used");
            c->pmark[i] = 1;
            c->keys[k++] = h->rpool[i].key;
            c->reached++;
        }
        if (k == 1)
            return fail(c, "frame %" PRIu32 ": a single rmap entry left in the pool", pfn);
    }
    for (size_t i = 0; i < k; i++)
        if (!key_maps(h, c->keys[i], pfn))
            return fail(c,
                        "frame %" PRIu32 ": rmap names process slot %" PRIu32 " at 0x%" PRIx64
                        "%s, which does not map it",
                        pfn, RMAP_SLOT(c->keys[i]), RMAP_VA(c->keys[i]),
                        RMAP_HUGE(c->keys[i]) ? " (2 MiB)" : "");
    if (k != c->maps[pfn])
        return fail(c, "frame %" PRIu32 ": %zu rmap entries but %" PRIu32 " mappings", pfn, k,
                    c->maps[pfn]);
    if (k > 1) {
        qsort(c->keys, k, sizeof *c->keys, key_cmp);
        for (size_t i = 1; i < k; i++)
            if (c->keys[i] == c->keys[i - 1])
                return fail(
                    c, "frame %" PRIu32 ": rmap entry for slot %" PRIu32 " at 0x%" PRIx64 " twice",
                    pfn, RMAP_SLOT(c->keys[i]), RMAP_VA(c->keys[i]));
    }
    return 0;
}

/* The overflow pool: every entry reached from exactly one frame, or on the free list once. */
static int check_rmap_pool(chk *c)
{
    const gpusim_host_t *h = c->h;
    size_t nfree = 0;
    for (uint32_t i = h->rpool_free; i != HOST_NIL; i = h->rpool[i].next) {
        if (i >= h->rpool_hwm || c->pmark[i])
            return fail(c, "rmap pool: free list reaches entry %" PRIu32 " that is %s", i,
                        i >= h->rpool_hwm ? "unallocated" : "in use or listed twice");
        c->pmark[i] = 1;
        nfree++;
    }
    if (c->reached != h->rpool_used || c->reached + nfree != h->rpool_hwm ||
        h->rpool_hwm > h->rpool_cap)
        return fail(c, "rmap pool: used %zu, hwm %zu, cap %zu, but %zu entries in use and %zu free",
                    h->rpool_used, h->rpool_hwm, h->rpool_cap, c->reached, nfree);
    return 0;
}

/*
 * Every frame once (one pass, for speed): (h) contents only on frames in use, (d) FF_LRU only on
 * frames the LRU walk met, (b, f) counts and the reverse map of USED frames; then the totals.
 */
static int check_frames(chk *c)
{
    const gpusim_host_t *h = c->h;
    /* With nothing in flight, a USED frame without a reference has been leaked. */
    bool idle = h->ops_inflight == 0 && !gpusim__actors_busy(h);
    uint64_t pinned = 0;
    int rc;
    if (h->data && h->data[HOST_ZERO_PFN])
        return fail(c, "frame 0: the zero page has contents");
    for (uint32_t pfn = 1; pfn < h->nframes; pfn++) {
        const hframe *f = &h->frames[pfn];
        if (h->blocks[pfn / HOST_HUGE_PAGES].fresh && !h->data && pfn % HOST_HUGE_PAGES == 0) {
            /* A fresh block's frames are free and their fields were never written: skip the block
             * whole. A world of many GiB never uses most of them; reading them would fault in
             * host pages for nothing (with data mode on, their contents are checked one by one). */
            pfn += HOST_HUGE_PAGES - 1;
            continue;
        }
        if (frame_free(h, pfn)) {
            if (h->data && h->data[pfn])
                return fail(c, "frame %" PRIu32 ": FREE but holds contents", pfn);
            continue;
        }
        if ((f->flags & FF_COPYING) && h->copy_windows == 0)
            return fail(c, "frame %" PRIu32 ": FF_COPYING but no migration is copying", pfn);
        if ((f->flags & FF_LRU) && !(c->fmark[pfn] & MK_LRU))
            return fail(c, "frame %" PRIu32 ": FF_LRU but on no LRU list", pfn);
        if (f->pincount)
            pinned++;
        if (f->state != GPUSIM_FRAME_USED)
            continue; /* TAIL: counted with its head; its own fields were checked in (a) */
        if ((rc = frame_counts(c, pfn, f, idle)) != 0 || (rc = frame_rmap(c, pfn, f)) != 0)
            return rc;
    }
    if (pinned != h->pinned_frames)
        return fail(c, "pinned_frames %" PRIu64 " but %" PRIu64 " frames have pins",
                    h->pinned_frames, pinned);
    if (c->anon != h->anon_frames || c->file != h->file_frames || c->shmem != h->shmem_frames ||
        c->thp != h->thp_frames)
        return fail(c,
                    "frames anon/file/shmem/thp %" PRIu64 "/%" PRIu64 "/%" PRIu64 "/%" PRIu64
                    " but recounted %" PRIu64 "/%" PRIu64 "/%" PRIu64 "/%" PRIu64,
                    h->anon_frames, h->file_frames, h->shmem_frames, h->thp_frames, c->anon,
                    c->file, c->shmem, c->thp);
    return check_rmap_pool(c);
}

/* ---- (e) swap ------------------------------------------------------------------------------- */

static int check_swap(chk *c)
{
    const gpusim_host_t *h = c->h;
    uint32_t unused = 0;
    if (h->nslot_free > h->nslots)
        return fail(c, "swap: %" PRIu32 " free slots of %" PRIu32, h->nslot_free, h->nslots);
    for (uint32_t i = 0; i < h->nslot_free; i++) {
        uint32_t s = h->slot_free[i];
        if (s >= h->nslots || c->smark[s] || h->slot_refs[s])
            return fail(c, "swap: free stack entry %" PRIu32 " is slot %" PRIu32 " (%s)", i, s,
                        s >= h->nslots ? "out of range"
                        : c->smark[s]  ? "listed twice"
                                       : "referenced");
        c->smark[s] = 1;
    }
    for (uint32_t s = 0; s < h->nslots; s++) {
        if (h->slot_refs[s] != c->srefs[s])
            return fail(c, "swap slot %" PRIu32 ": slot_refs %u but %" PRIu32 " references found",
                        s, (unsigned)h->slot_refs[s], c->srefs[s]);
        if (h->slot_refs[s] == 0) {
            unused++;
            if (h->slot_data && h->slot_data[s])
                return fail(c, "swap slot %" PRIu32 ": free but holds contents", s);
        }
    }
    if (unused != h->nslot_free)
        return fail(c, "swap: %" PRIu32 " unreferenced slots but %" PRIu32 " on the free stack",
                    unused, h->nslot_free);
    return 0;
}

/* ---- entry points --------------------------------------------------------------------------- */

int gpusim__host_check(const gpusim_host_t *h, char *msg, size_t msglen)
{
    chk c = {0};
    int rc;
    c.h = h;
    c.arena = &h->world->arena;
    c.msg = msg;
    c.msglen = msglen;
    if (msg && msglen)
        msg[0] = '\0';
    if ((rc = scratch_alloc(&c)) != 0) {
        if (msg && msglen)
            snprintf(msg, msglen, "no memory for the checker's scratch arrays");
        return rc;
    }
    /* Structure first (later groups rely on frame states and free lists being sound). */
    if ((rc = check_physical(&c)) == 0 && (rc = check_processes(&c)) == 0 &&
        (rc = check_files(&c)) == 0 && (rc = check_lru_lists(&c)) == 0 &&
        (rc = check_frames(&c)) == 0)
        rc = check_swap(&c);
    scratch_free(&c);
    return rc;
}

int gpusim_host_check(const gpusim_host_t *h, char *msg, size_t msglen)
{
    if (!h)
        return GPUSIM_EINVAL;
    return gpusim__host_check(h, msg, msglen);
}
