/*
 * host/migrate.c -- page migration, compaction (compact_node) and THP collapse (khugepaged).
 *
 * Migration (gpusim__migrate) moves one frame -- a 4 KiB frame, or a 2 MiB compound frame as a
 * unit -- to a newly allocated frame, as Linux's migrate_pages() does for one folio:
 *   1. refuse a pinned frame (refcount > mapcount + page-cache reference: the early check of
 *      compaction's isolate_migratepages_block / folio_expected_ref_count), counted in
 *      host.migrate.failed_pinned; allocate the destination (no memory: nothing is announced);
 *   2. announce MIGRATE (blockable, invalidator COMPACTION, owner NULL) over the page -- or the
 *      2 MiB range -- of every mapping found through the reverse map, each in its own process's
 *      domain. Each announcement may make us wait; all of them stay open until step 4, so no
 *      mirror can re-read the old translation in between;
 *   3. the copy window: the frame is marked FF_COPYING and the operation lets the copy time
 *      (migrate_4k or migrate_2m) elapse. Every mapping of a copying frame reads as a migration
 *      entry: a CPU access or a GUP pin that reaches it waits (host.migrate.waits) until the move
 *      is over, as migration_entry_wait() makes it wait in Linux; an HMM snapshot reports it not
 *      present;
 *   4. at one instant: copy the contents, re-point every PTE (keeping its write and dirty bits),
 *      move the reverse map, the counts, the LRU membership and the page-cache slot, free the old
 *      frame; then end every announcement and wake whoever waits.
 * Linux replaces the PTEs with migration entries once the announcements return and restores them
 * after the copy; gpusim keeps the PTEs as they are and makes the frame flag do the migration
 * entry's work where Linux looks for one (the fault path, GUP, HMM). Zap, fork, mremap and
 * mprotect therefore need no new entry type: they treat the entry as the present entry it was,
 * and step 4 re-points whatever mappings exist by then. Linux ends the announcements before the
 * copy and a mirror that re-faults meanwhile waits on the migration entry; gpusim keeps them open
 * until step 4, so the mirror's read_begin waits instead -- either way it sees the new frame only
 * after the copy. Because the frame stays mapped while announcements wait and while it is copied,
 * everything is re-checked before step 4: the frame may have been freed (its last mapping
 * zapped), split, or mapped by someone new meanwhile (a new mapping is announced too; a pin cannot
 * be taken: it waits).
 *
 * Compaction (gpusim_host_compact) empties partly used pageblocks so that THP allocations find
 * whole free blocks: per zone of the node, it takes the partly used block with the most free
 * frames, checks that every used frame in it can move (on an LRU, not pinned: a pinned frame makes
 * the block fail, counted), and migrates its frames into the fullest OTHER partly used blocks
 * (never into the block being emptied, never into a wholly free block), until no block can be
 * emptied any more.
 *
 * khugepaged scans, every khugepaged_sleep, up to khugepaged_pages pages of THP-eligible VMAs of
 * the processes that called gpusim__khugepaged_enter, and collapses each 2 MiB range whose entries
 * are all present private anonymous pages mapped by this process only and not pinned, or empty (at
 * most khugepaged_max_ptes_none of them, the zero page counting as empty), without swap entries:
 * CLEAR is announced over the 2 MiB (blockable, invalidator KHUGEPAGED), the contents are copied
 * into a new 2 MiB frame, the small entries are replaced by one 2 MiB entry. Linux keeps scanning
 * registered address spaces forever; gpusim stops scheduling khugepaged after a full pass that
 * collapsed nothing (so a world with nothing left to do ends) and starts again at the next
 * gpusim__khugepaged_enter.
 *
 * Host-wide operations of this module (compaction and khugepaged's scans) have no process to hang
 * on, so the module keeps them in a list of its own and discards them when the host is destroyed.
 */
#include <string.h>

#include "host/host.h"
#include "core/alloc.h"
#include "core/completion.h"
#include "core/event.h"

struct khugepaged {
    gpusim_host_t *h;
    gpusim_event_t timer;  /* the next wake */
    bool timer_reserved;   /* holds a queue reservation while the timer is not queued */
    hop *scan;             /* the scan in progress, or NULL */
    hop *jobs;             /* host-wide operations of this module in flight (list via pnext) */
    uint8_t *registered;   /* per process slot: khugepaged_enter was called */
    size_t registered_cap; /* entries in `registered` */
    uint32_t slot;         /* scan cursor: process slot and address */
    uint64_t va;
    uint64_t collapsed; /* collapses in the current full pass */
    bool entered;       /* a process registered since the current full pass began */
};

static gpusim__arena *arena_of(const gpusim_host_t *h)
{
    return &h->world->arena;
}

/* Whether a frame is pinned (Linux: more references than mappings and the page cache explain). */
static bool frame_pinned(const hframe *f)
{
    return f->refcount > f->mapcount + (f->owner ? 1u : 0u);
}

/* ---- host-wide jobs -------------------------------------------------------------------------- */

static void job_link(gpusim_host_t *h, hop *op)
{
    struct khugepaged *kh = h->khugepaged;
    op->pprev = NULL;
    op->pnext = kh->jobs;
    if (kh->jobs)
        kh->jobs->pprev = op;
    kh->jobs = op;
}

static void job_unlink(hop *op)
{
    struct khugepaged *kh = op->h->khugepaged;
    if (op->pprev)
        op->pprev->pnext = op->pnext;
    else
        kh->jobs = op->pnext;
    if (op->pnext)
        op->pnext->pprev = op->pprev;
    op->pnext = op->pprev = NULL;
}

/* ============================================================================================== */
/* Migration of one frame                                                                         */
/* ============================================================================================== */

/* One open announcement: the mapping it covers. Invalidations are allocated one by one because the
 * notifier keeps pointers into them while they are open (the array of slots may move). */
typedef struct mig_slot {
    uint64_t key;
    gpusim_invalidation_t *inv;
} mig_slot;

struct hmig {
    gpusim_host_t *h;
    uint32_t src; /* the frame (a compound head when huge) */
    uint32_t gen; /* its generation when we started: a change means it was freed meanwhile */
    uint32_t dst; /* the destination, allocated before the first announcement, or HOST_NIL */
    bool busy;    /* announcements may be open */
    bool copying; /* in the copy window (step 3): the frame is FF_COPYING */
    bool huge;    /* a compound frame */
    bool exempt;  /* op->exempt before we started */
    uint32_t n;   /* announcements open: slots[0..n) */
    size_t cap;   /* slots allocated (their invalidations are kept for reuse) */
    mig_slot *slots;
    gpusim_completion_t resume; /* signalled when a waiting announcement may proceed */
};

hmig *gpusim__mig_new(gpusim_host_t *h)
{
    hmig *m = gpusim__arena_zalloc(arena_of(h), sizeof *m);
    if (!m)
        return NULL;
    m->h = h;
    m->dst = HOST_NIL;
    gpusim_completion_init(&m->resume, m);
    return m;
}

void gpusim__mig_free(gpusim_host_t *h, hmig *m)
{
    gpusim__arena *a = arena_of(h);
    if (!m)
        return;
    if (m->dst != HOST_NIL)
        gpusim__frame_free(h, m->dst); /* discarded mid-migration (world teardown) */
    /* Announcements left open can only be those of a world being torn down, whose domains are
     * already gone: they are not ended, only freed. */
    for (size_t i = 0; i < m->cap; i++)
        gpusim__arena_free(a, m->slots[i].inv, sizeof(gpusim_invalidation_t));
    gpusim__arena_free(a, m->slots, m->cap * sizeof *m->slots);
    gpusim__arena_free(a, m, sizeof *m);
}

/* The notifier lets a waiting announcement proceed: resume the operation. */
static void mig_proceed(gpusim_world_t *w, gpusim_invalidation_t *inv, int status)
{
    hmig *m = inv->data;
    (void)status; /* a started blockable invalidation cannot fail */
    gpusim_completion_signal(w, &m->resume);
}

/* Ends every open announcement and the migration; returns rc. */
static int mig_finish(hop *op, hmig *m, int rc)
{
    hframe *f = frame_of(m->h, m->src);
    for (uint32_t i = 0; i < m->n; i++) {
        int erc = gpusim_notifier_invalidate_end(m->slots[i].inv);
        GPUSIM_ASSERT(erc == 0);
        (void)erc;
    }
    m->n = 0;
    m->busy = false;
    op->exempt = m->exempt;
    if (m->dst != HOST_NIL) {
        gpusim__frame_free(m->h, m->dst); /* not used: the migration did not happen */
        m->dst = HOST_NIL;
    }
    if (f->gen == m->gen && f->state == GPUSIM_FRAME_USED)
        f->flags &= (uint16_t) ~(FF_MIGRATING | FF_COPYING);
    /* Whoever waited for this migration -- at its migration entry, or for the frame to be free to
     * migrate again -- looks again. The completion is host-wide: a waiter whose frame is still
     * being migrated by another migration simply waits again. */
    if (m->copying)
        m->h->copy_windows--;
    m->copying = false;
    gpusim_completion_signal(m->h->world, &m->h->migration_done);
    gpusim_completion_reset(&m->h->migration_done);
    return rc;
}

/* Whether the frame is still the one we started with, in the same shape. */
static bool mig_same(const hmig *m)
{
    const hframe *f = frame_of(m->h, m->src);
    return f->gen == m->gen && f->state == GPUSIM_FRAME_USED &&
           ((f->flags & FF_HEAD) != 0) == m->huge;
}

typedef struct mig_find {
    const hmig *m;
    uint64_t key;
} mig_find;

static int find_unannounced(void *ctx, uint64_t key)
{
    mig_find *mf = ctx;
    for (uint32_t i = 0; i < mf->m->n; i++)
        if (mf->m->slots[i].key == key)
            return 0;
    mf->key = key;
    return 1;
}

/* Opens the announcement of one mapping: 0, OP_WAIT or GPUSIM_ENOMEM (not opened). */
static int mig_announce(hop *op, hmig *m, uint64_t key)
{
    gpusim_host_t *h = m->h;
    gpusim_process_t *q = gpusim__proc(h, RMAP_SLOT(key));
    gpusim_notifier_range_t r;
    gpusim_invalidation_t *inv;
    int rc;
    GPUSIM_ASSERT(q != NULL);
    if (m->n == m->cap) {
        size_t cap = m->cap;
        if (gpusim__arena_grow(arena_of(h), (void **)&m->slots, &cap, m->n + 1, sizeof *m->slots))
            return GPUSIM_ENOMEM;
        for (size_t i = m->cap; i < cap; i++)
            m->slots[i].inv = NULL;
        m->cap = cap;
    }
    if (!m->slots[m->n].inv) {
        m->slots[m->n].inv = gpusim__arena_alloc(arena_of(h), sizeof(gpusim_invalidation_t));
        if (!m->slots[m->n].inv)
            return GPUSIM_ENOMEM;
    }
    inv = m->slots[m->n].inv;
    gpusim_invalidation_init(inv);
    r.start = RMAP_VA(key);
    r.end = r.start + (RMAP_HUGE(key) ? HOST_HUGE_SIZE : HOST_PAGE_SIZE);
    r.event = GPUSIM_NOTIFY_MIGRATE;
    r.invalidator = GPUSIM_INVALIDATOR_COMPACTION;
    r.blockable = true;
    r.owner = NULL;
    if (gpusim_notifier_count(q->notifier) > 0)
        op->cost += h->p[HP_notifier_dispatch];
    rc = gpusim_notifier_invalidate_start(q->notifier, inv, &r, mig_proceed, m);
    if (rc != 0 && rc != GPUSIM_EINPROGRESS)
        return GPUSIM_ENOMEM; /* ENOMEM / ENOSPC: nothing started */
    m->slots[m->n++].key = key;
    if (rc == GPUSIM_EINPROGRESS) {
        if (gpusim_completion_done(&m->resume))
            gpusim_completion_reset(&m->resume);
        gpusim__op_wait(op, &m->resume);
        return OP_WAIT;
    }
    return 0;
}

typedef struct mig_repoint {
    gpusim_host_t *h;
    uint32_t src, dst;
} mig_repoint;

/* Re-points one mapping's entry from src to dst, keeping its bits. */
static int repoint(void *ctx, uint64_t key)
{
    mig_repoint *rp = ctx;
    gpusim_process_t *q = gpusim__proc(rp->h, RMAP_SLOT(key));
    pte_t *pmd, *slot = gpusim__pt_lookup(&q->pt, RMAP_VA(key), &pmd);
    if (RMAP_HUGE(key))
        slot = pmd;
    GPUSIM_ASSERT(slot && PTE_IS_PRESENT(*slot) && PTE_PFN(*slot) == rp->src);
    *slot = PTE_MK(rp->dst, *slot & (PTE_PRESENT | PTE_WRITE | PTE_HUGE | PTE_DIRTY));
    return 0;
}

/* Step 4: the move itself, at one instant. 0 or an error (nothing changed). */
static int mig_apply(hmig *m)
{
    gpusim_host_t *h = m->h;
    uint32_t src = m->src, dst = m->dst, npages = m->huge ? HOST_HUGE_PAGES : 1;
    hframe *sf = frame_of(h, src), *df = frame_of(h, dst);
    mig_repoint rp;
    for (uint32_t i = 0; i < npages; i++)
        if (gpusim__data_copy_frame(h, dst + i, src + i))
            return GPUSIM_ENOMEM;      /* mig_finish frees dst */
    m->dst = HOST_NIL;                 /* consumed */
    gpusim__frame_account(h, dst, -1); /* re-accounted below with the source's flags */
    sf->flags &= (uint16_t) ~(FF_MIGRATING | FF_COPYING);
    df->flags = (uint16_t)(sf->flags & ~(FF_LRU | FF_ACTIVE));
    df->owner = sf->owner;
    df->index = sf->index;
    df->refcount = sf->refcount;
    df->mapcount = sf->mapcount;
    df->rmap = sf->rmap; /* keys name (process, address), not frames: the chain moves whole */
    for (uint32_t i = 1; i < npages; i++)
        frame_of(h, dst + i)->flags = frame_of(h, src + i)->flags & FF_DIRTY;
    rp.h = h;
    rp.src = src;
    rp.dst = dst;
    gpusim__rmap_each(h, dst, repoint, &rp);
    if (sf->flags & FF_LRU) {
        bool active = (sf->flags & FF_ACTIVE) != 0;
        gpusim__lru_del(h, src);
        gpusim__lru_add(h, dst, active);
    }
    if (df->owner) {
        gpusim_file_t *file = h->files[df->owner - 1];
        GPUSIM_ASSERT(file && gpusim__file_slot(file, df->index) == (uint64_t)src + 1);
        gpusim__file_slot_set(file, df->index, (uint64_t)dst + 1);
    }
    gpusim__frame_account(h, dst, +1);
    /* The old frame: nothing refers to it any more (its flags stay for frame_free's accounting). */
    sf->refcount = 0;
    sf->mapcount = 0;
    sf->rmap = 0;
    gpusim__frame_free(h, src);
    gpusim__stat_add(h->st.migrate_ok, npages);
    return 0;
}

int gpusim__migrate(hop *op, hmig *m, uint32_t pfn, hmig_alloc_fn alloc)
{
    gpusim_host_t *h = m->h;
    if (!m->busy) {
        hframe *f = frame_of(h, pfn);
        if (pfn == HOST_ZERO_PFN || f->state != GPUSIM_FRAME_USED ||
            h->blocks[pfn / HOST_HUGE_PAGES].fresh)
            return GPUSIM_ENOENT;
        if (f->flags & FF_MIGRATING)
            return GPUSIM_EAGAIN; /* isolated by another migration (folio_isolate_lru fails) */
        if (frame_pinned(f)) {
            gpusim__stat_add(h->st.migrate_failed_pinned, 1);
            return GPUSIM_EBUSY;
        }
        /* The destination first, as migrate_pages does (get_new_folio before unmapping): no
         * memory, no announcement. Accounted from now on (a new compound frame counts as THP), so
         * that freeing it unused balances. */
        if (alloc(op, (f->flags & FF_HEAD) ? 9 : 0, &m->dst)) {
            m->dst = HOST_NIL;
            return GPUSIM_ENOMEM;
        }
        gpusim__frame_account(h, m->dst, +1);
        m->src = pfn;
        m->gen = f->gen;
        m->huge = (f->flags & FF_HEAD) != 0;
        m->n = 0;
        m->busy = true;
        /* Announcements of other processes are open across our waits: the operation must run to
         * the end of the migration even if its own process dies meanwhile. */
        m->exempt = op->exempt;
        op->exempt = true;
        f->flags |= FF_MIGRATING;
    }
    GPUSIM_ASSERT(m->src == pfn);
    for (;;) {
        mig_find mf = {m, 0};
        int rc;
        if (!mig_same(m))
            return mig_finish(op, m, GPUSIM_ENOENT);
        if (frame_pinned(frame_of(h, m->src))) {
            gpusim__stat_add(h->st.migrate_failed_pinned, 1);
            return mig_finish(op, m, GPUSIM_EBUSY);
        }
        if (gpusim__rmap_each(h, m->src, find_unannounced, &mf)) {
            rc = mig_announce(op, m, mf.key);
            if (rc == OP_WAIT)
                return OP_WAIT;
            if (rc)
                return mig_finish(op, m, rc);
            continue;
        }
        if (!m->copying) {
            /* Every mapping is announced: open the copy window (step 3). */
            frame_of(h, m->src)->flags |= FF_COPYING;
            m->copying = true;
            h->copy_windows++;
            op->cost += m->huge ? h->p[HP_migrate_2m] : h->p[HP_migrate_4k];
            return OP_YIELD;
        }
        return mig_finish(op, m, mig_apply(m));
    }
}

/* ============================================================================================== */
/* Compaction                                                                                     */
/* ============================================================================================== */

typedef struct compact {
    hmig *m;
    unsigned node;
    int zone;         /* 0: normal, 1: movable; 2: done */
    uint32_t first;   /* the node's first block */
    uint32_t nblocks; /* and its number of blocks */
    uint8_t *skip;    /* per block of the node: cannot be emptied in this run */
    uint32_t src;     /* block being emptied, or HOST_NIL */
    uint32_t cursor;  /* next frame of src to look at */
    uint32_t cur;     /* frame being migrated, or HOST_NIL */
} compact;

/* Moves partly used block b to the front of its list, so that the allocator takes from it. */
static void partial_to_front(gpusim_host_t *h, hlist *l, uint32_t b)
{
    hblock *blk = &h->blocks[b];
    if (l->head == b)
        return;
    h->blocks[blk->prev].next = blk->next;
    if (blk->next != HOST_NIL)
        h->blocks[blk->next].prev = blk->prev;
    else
        l->tail = blk->prev;
    blk->prev = HOST_NIL;
    blk->next = l->head;
    h->blocks[l->head].prev = b;
    l->head = b;
}

/* Destination of a compaction migration: a free frame of the fullest other partly used block. */
static int compact_alloc(hop *op, unsigned order, uint32_t *pfn)
{
    gpusim_host_t *h = op->h;
    compact *c = op->priv;
    hlist *l = &h->nodes[c->node].partial[c->zone];
    uint32_t best = HOST_NIL;
    int rc;
    GPUSIM_ASSERT(order == 0);
    (void)order;
    for (uint32_t b = l->head; b != HOST_NIL; b = h->blocks[b].next) {
        if (b == c->src)
            continue;
        if (best == HOST_NIL || h->blocks[b].nfree < h->blocks[best].nfree ||
            (h->blocks[b].nfree == h->blocks[best].nfree && b < best))
            best = b;
    }
    if (best == HOST_NIL)
        return GPUSIM_ENOMEM;
    partial_to_front(h, l, best);
    rc = gpusim__frame_alloc(h, c->node, 0, c->zone == 1, false, pfn);
    if (rc == ALLOC_MIN)
        return GPUSIM_ENOMEM; /* below the min watermark: compaction stops, as Linux's does */
    if (*pfn / HOST_HUGE_PAGES != best) {
        gpusim__frame_free(h, *pfn); /* the allocator went elsewhere (another node): give it back */
        return GPUSIM_ENOMEM;
    }
    return 0;
}

/* Whether every used frame of block b can move; counts the pinned ones when not. */
static bool block_movable_now(gpusim_host_t *h, uint32_t b)
{
    bool ok = true;
    for (uint32_t i = 0; i < HOST_HUGE_PAGES; i++) {
        uint32_t pfn = b * HOST_HUGE_PAGES + i;
        const hframe *f = frame_of(h, pfn);
        if (f->state == GPUSIM_FRAME_FREE)
            continue;
        if (f->state != GPUSIM_FRAME_USED || !(f->flags & FF_LRU) || (f->flags & FF_HEAD)) {
            ok = false; /* the zero page, or a frame on no LRU: not movable */
        } else if (frame_pinned(f)) {
            gpusim__stat_add(h->st.migrate_failed_pinned, 1);
            ok = false;
        }
    }
    return ok;
}

/* The partly used block with the most free frames that can be emptied, or HOST_NIL. */
static uint32_t pick_source(gpusim_host_t *h, compact *c)
{
    hlist *l = &h->nodes[c->node].partial[c->zone];
    for (;;) {
        uint32_t best = HOST_NIL;
        uint64_t total = 0;
        for (uint32_t b = l->head; b != HOST_NIL; b = h->blocks[b].next) {
            total += h->blocks[b].nfree;
            if (c->skip[b - c->first])
                continue;
            if (best == HOST_NIL || h->blocks[b].nfree > h->blocks[best].nfree ||
                (h->blocks[b].nfree == h->blocks[best].nfree && b < best))
                best = b;
        }
        if (best == HOST_NIL)
            return HOST_NIL;
        /* Room for its used frames in the others? If not for the emptiest block, then for none. */
        if (total - h->blocks[best].nfree < HOST_HUGE_PAGES - (uint64_t)h->blocks[best].nfree)
            return HOST_NIL;
        if (block_movable_now(h, best))
            return best;
        c->skip[best - c->first] = 1;
    }
}

static int compact_step(hop *op)
{
    gpusim_host_t *h = op->h;
    compact *c = op->priv;
    for (;;) {
        const hframe *f;
        uint32_t pfn;
        if (c->cur != HOST_NIL) {
            int rc = gpusim__migrate(op, c->m, c->cur, compact_alloc);
            if (rc == OP_WAIT)
                return STEP_BLOCKED;
            if (rc == OP_YIELD)
                return STEP_YIELD;
            if (rc == 0) {
                op->result++;
            } else if ((rc == GPUSIM_EBUSY || rc == GPUSIM_EAGAIN) && c->src != HOST_NIL) {
                /* Pinned, or being migrated by someone else, meanwhile: the block cannot be
                 * emptied in this run. */
                c->skip[c->src - c->first] = 1;
                c->src = HOST_NIL;
            } else if (rc == GPUSIM_ENOMEM) {
                c->src = HOST_NIL; /* nowhere to put it: this zone is as compact as it gets */
                c->zone++;
            }
            c->cur = HOST_NIL;
            if (gpusim__op_should_yield(op))
                return STEP_YIELD;
            continue;
        }
        if (c->zone > 1)
            return STEP_DONE;
        if (c->src == HOST_NIL) {
            c->src = pick_source(h, c);
            if (c->src == HOST_NIL)
                c->zone++;
            c->cursor = 0;
            continue;
        }
        if (c->cursor == HOST_HUGE_PAGES || h->blocks[c->src].nfree == HOST_HUGE_PAGES) {
            /* One pass over the block: it is wholly free now, or it cannot be (a frame arrived or
             * became unmovable meanwhile), and is not tried again in this run. */
            if (h->blocks[c->src].nfree != HOST_HUGE_PAGES)
                c->skip[c->src - c->first] = 1;
            c->src = HOST_NIL;
            continue;
        }
        pfn = c->src * HOST_HUGE_PAGES + c->cursor++;
        f = frame_of(h, pfn);
        if (f->state == GPUSIM_FRAME_USED && (f->flags & FF_LRU) && !(f->flags & FF_HEAD))
            c->cur = pfn;
    }
}

static void compact_fini(hop *op)
{
    gpusim_host_t *h = op->h;
    compact *c = op->priv;
    job_unlink(op);
    if (!c)
        return;
    gpusim__mig_free(h, c->m);
    gpusim__arena_free(arena_of(h), c->skip, c->nblocks);
    gpusim__arena_free(arena_of(h), c, sizeof *c);
    op->priv = NULL;
}

int gpusim_host_compact(gpusim_host_t *h, unsigned node, gpusim_host_cb cb, void *data)
{
    hop *op;
    compact *c;
    if (!h || node >= h->nnodes)
        return GPUSIM_EINVAL;
    if (!h->khugepaged)
        return GPUSIM_ENOMEM; /* a host whose actors could not be created is not usable */
    op = gpusim__op_new(h, NULL, compact_step, cb, data);
    if (!op)
        return GPUSIM_ENOMEM;
    c = gpusim__arena_zalloc(arena_of(h), sizeof *c);
    if (c) {
        c->node = node;
        c->first = h->nodes[node].first_block;
        c->nblocks = h->nodes[node].nblocks;
        c->src = c->cur = HOST_NIL;
        c->skip = gpusim__arena_zalloc(arena_of(h), c->nblocks);
        c->m = gpusim__mig_new(h);
    }
    if (!c || !c->skip || !c->m) {
        if (c) {
            gpusim__mig_free(h, c->m);
            gpusim__arena_free(arena_of(h), c->skip, c->nblocks);
            gpusim__arena_free(arena_of(h), c, sizeof *c);
        }
        gpusim__op_discard(op);
        return GPUSIM_ENOMEM;
    }
    op->priv = c;
    op->fini = compact_fini;
    op->kind = GPUSIM_INVALIDATOR_COMPACTION;
    job_link(h, op);
    gpusim__op_start(op);
    return 0;
}

/* ============================================================================================== */
/* khugepaged                                                                                     */
/* ============================================================================================== */

/* Scan operation state in op->a[]. */
#define SCAN_BUDGET(op) ((op)->a[0]) /* pages scanned in this wake */
#define SCAN_FRAME(op)  ((op)->a[1]) /* the new 2 MiB frame + 1 while a collapse waits */
#define SCAN_SLOT(op)   ((op)->a[2]) /* process slot and range of that collapse */
#define SCAN_BASE(op)   ((op)->a[3])

static void kh_wake(gpusim_world_t *w, gpusim_event_t *ev);

static void kh_schedule(struct khugepaged *kh)
{
    gpusim_world_t *w = kh->h->world;
    GPUSIM_ASSERT(kh->timer_reserved);
    gpusim_event_init(&kh->timer, kh_wake, kh);
    kh->timer_reserved = false;
    gpusim__event_schedule_reserved(w, &kh->timer, w->now + kh->h->p[HP_khugepaged_sleep]);
}

/* Whether the 2 MiB range at base of q can be collapsed now (hpage_collapse_scan_pmd). */
static bool collapsible(gpusim_host_t *h, gpusim_process_t *q, uint64_t base)
{
    hvma *v;
    pte_t *pmd, *pte;
    uint64_t none = 0;
    if (q->state != GPUSIM_PROCESS_LIVE)
        return false;
    v = gpusim__vma_find(q, base);
    if (!v || !gpusim__vma_thp_ok(h, v, base))
        return false;
    pte = gpusim__pt_lookup(&q->pt, base, &pmd);
    if (!pte)
        return false; /* nothing mapped at all, or already a 2 MiB mapping */
    for (uint32_t i = 0; i < HOST_HUGE_PAGES; i++) {
        pte_t e = pte[i];
        const hframe *f;
        if (e == 0 || (PTE_IS_PRESENT(e) && PTE_PFN(e) == HOST_ZERO_PFN)) {
            if (++none > h->p[HP_khugepaged_max_ptes_none])
                return false;
            continue;
        }
        if (!PTE_IS_PRESENT(e))
            return false; /* a swap entry: Linux may swap it in (max_ptes_swap); gpusim skips */
        f = frame_of(h, PTE_PFN(e));
        if (f->state != GPUSIM_FRAME_USED || !(f->flags & FF_ANON) || (f->flags & FF_MIGRATING) ||
            f->mapcount != 1 || frame_pinned(f))
            return false;
    }
    return none < HOST_HUGE_PAGES;
}

/* The next 2 MiB range to look at, advancing the cursor; false at the end of a full pass. */
static bool next_range(struct khugepaged *kh, gpusim_process_t **out, uint64_t *base)
{
    gpusim_host_t *h = kh->h;
    while (kh->slot < kh->registered_cap && kh->slot < h->nprocs_cap) {
        gpusim_process_t *q = gpusim__proc(h, kh->slot);
        hvma *v;
        if (!kh->registered[kh->slot] || !q || q->state != GPUSIM_PROCESS_LIVE) {
            kh->registered[kh->slot] = 0; /* gone: khugepaged_exit */
            kh->slot++;
            kh->va = 0;
            continue;
        }
        while ((v = gpusim__vma_first(q, kh->va, GPUSIM_HOST_VA_END)) != NULL) {
            uint64_t b = GPUSIM_MAX(kh->va, vma_start(v));
            b = (b + HOST_HUGE_SIZE - 1) & ~(HOST_HUGE_SIZE - 1);
            if (b + HOST_HUGE_SIZE <= vma_end(v) && gpusim__vma_thp_ok(h, v, b)) {
                kh->va = b + HOST_HUGE_SIZE;
                *out = q;
                *base = b;
                return true;
            }
            kh->va = vma_end(v);
        }
        kh->slot++;
        kh->va = 0;
    }
    return false;
}

/* Replaces the 512 small entries of the range (announced) by one 2 MiB entry to frame hp. */
static int collapse_apply(hop *op, gpusim_process_t *q, uint64_t base, uint32_t hp)
{
    gpusim_host_t *h = op->h;
    pte_t *pmd, *pte = gpusim__pt_lookup(&q->pt, base, &pmd);
    ptable *t = (ptable *)(uintptr_t)*pmd; /* the level-0 table; pte = &t->e[0] */
    hvma *v = gpusim__vma_find(q, base);
    uint64_t present = 0;
    hframe *hf = frame_of(h, hp);
    /* Everything that can fail first: the copies and reverse-map room. */
    for (uint32_t i = 0; i < HOST_HUGE_PAGES; i++) {
        pte_t e = pte[i];
        if (PTE_IS_PRESENT(e) && PTE_PFN(e) != HOST_ZERO_PFN &&
            gpusim__data_copy_frame(h, hp + i, PTE_PFN(e)))
            return GPUSIM_ENOMEM;
    }
    if (gpusim__rmap_reserve(h, 2))
        return GPUSIM_ENOMEM;
    /* The 2 MiB entry replaces the table pointer; the detached table's entries are then released
     * one by one and the table freed. (gpusim__pt_prune cannot be used: freeing the emptied table
     * could free the upper tables too, and then the PMD slot would need an allocation that could
     * fail after the small pages are gone.) */
    *pmd = 0;
    gpusim__frame_account(h, hp, -1); /* accounted as THP only since its allocation */
    hf->flags |= FF_ANON | FF_DIRTY;
    gpusim__frame_account(h, hp, +1);
    gpusim__lru_add(h, hp, false);
    /* Linux: maybe_pmd_mkwrite(pmd_mkdirty()): writable when the VMA is. */
    gpusim__map_frame(q, base, pmd, hp, (v->flags & VM_WRITE) != 0, true, true);
    for (uint32_t i = 0; i < HOST_HUGE_PAGES; i++)
        if (t->e[i])
            present += gpusim__unmap_entry(q, base + i * HOST_PAGE_SIZE, &t->e[i], false);
    gpusim__arena_free(arena_of(h), t, sizeof(ptable));
    q->pt.tables--;
    op->cost += h->p[HP_khugepaged_collapse_2m] + gpusim__tlb_flush_cost(h, present);
    gpusim__stat_add(h->st.thp_collapse, 1);
    h->khugepaged->collapsed++;
    return 0;
}

/* Finishes a collapse whose CLEAR announcement has returned (re-checking what waiting changed). */
static void collapse_finish(hop *op)
{
    gpusim_host_t *h = op->h;
    gpusim_process_t *q = gpusim__proc(h, (uint32_t)SCAN_SLOT(op));
    uint64_t base = SCAN_BASE(op);
    uint32_t hp = (uint32_t)(SCAN_FRAME(op) - 1);
    SCAN_FRAME(op) = 0;
    if (!q || !collapsible(h, q, base) || collapse_apply(op, q, base, hp)) {
        gpusim__frame_free(h, hp);
        gpusim__stat_add(h->st.thp_collapse_failed, 1);
    }
    gpusim__op_invalidate_end(op);
}

/* Starts collapsing the range: 0 (done or given up) or OP_WAIT. */
static int collapse_start(hop *op, gpusim_process_t *q, uint64_t base)
{
    gpusim_host_t *h = op->h;
    uint32_t hp;
    int rc = gpusim__frame_alloc(h, q->node, 9, true, false, &hp);
    if (rc == ALLOC_MIN) {
        gpusim__stat_add(h->st.thp_collapse_failed, 1); /* no whole free block: skip the range */
        return 0;
    }
    gpusim__frame_account(h, hp, +1); /* a compound frame counts as THP while it exists */
    SCAN_FRAME(op) = (uint64_t)hp + 1;
    SCAN_SLOT(op) = q->slot;
    SCAN_BASE(op) = base;
    rc = gpusim__op_invalidate(op, q, base, base + HOST_HUGE_SIZE, GPUSIM_NOTIFY_CLEAR, true);
    if (rc == OP_WAIT)
        return OP_WAIT;
    if (rc < 0) {
        SCAN_FRAME(op) = 0;
        gpusim__frame_free(h, hp);
        gpusim__stat_add(h->st.thp_collapse_failed, 1);
        return 0;
    }
    collapse_finish(op);
    return 0;
}

static int scan_step(hop *op)
{
    gpusim_host_t *h = op->h;
    struct khugepaged *kh = h->khugepaged;
    if (SCAN_FRAME(op))
        collapse_finish(op); /* resumed after the CLEAR announcement */
    while (SCAN_BUDGET(op) < h->p[HP_khugepaged_pages]) {
        gpusim_process_t *q;
        uint64_t base;
        if (!next_range(kh, &q, &base)) {
            /* A full pass is over: go on sleeping and scanning only if it found work, or if a
             * process registered meanwhile (its ranges may lie behind the cursor). */
            op->result = kh->collapsed > 0 || kh->entered;
            kh->collapsed = 0;
            kh->slot = 0;
            kh->va = 0;
            return STEP_DONE;
        }
        SCAN_BUDGET(op) += HOST_HUGE_PAGES; /* Linux counts HPAGE_PMD_NR per range looked at */
        if (collapsible(h, q, base) && collapse_start(op, q, base) == OP_WAIT)
            return STEP_BLOCKED;
        if (gpusim__op_should_yield(op))
            return STEP_YIELD;
    }
    op->result = 1; /* the pass continues at the next wake */
    return STEP_DONE;
}

static void scan_fini(hop *op)
{
    struct khugepaged *kh = op->h->khugepaged;
    job_unlink(op);
    kh->scan = NULL;
    if (SCAN_FRAME(op)) {
        /* Discarded while a collapse waited (world teardown): give the frame back. */
        gpusim__frame_free(op->h, (uint32_t)(SCAN_FRAME(op) - 1));
        SCAN_FRAME(op) = 0;
    }
}

static void scan_done(void *data, int status, uint64_t more)
{
    struct khugepaged *kh = data;
    (void)status;
    if (more && !gpusim_event_pending(&kh->timer))
        kh_schedule(kh);
    /* else idle until the next gpusim__khugepaged_enter */
}

static void kh_wake(gpusim_world_t *w, gpusim_event_t *ev)
{
    struct khugepaged *kh = ev->data;
    gpusim_host_t *h = kh->h;
    hop *op;
    /* Our own queue entry has just been released: re-reserving it cannot fail. */
    int rc = gpusim__queue_reserve(w, 1);
    GPUSIM_ASSERT(rc == 0);
    (void)rc;
    kh->timer_reserved = true;
    if (kh->slot == 0 && kh->va == 0)
        kh->entered = false; /* a full pass begins: it will see every registration so far */
    op = gpusim__op_new(h, NULL, scan_step, scan_done, kh);
    if (!op) {
        kh_schedule(kh); /* no memory for the scan now: try at the next wake */
        return;
    }
    op->kind = GPUSIM_INVALIDATOR_KHUGEPAGED;
    op->fini = scan_fini;
    kh->scan = op;
    job_link(h, op);
    gpusim__op_start(op);
}

int gpusim__khugepaged_init(gpusim_host_t *h)
{
    struct khugepaged *kh = gpusim__arena_zalloc(arena_of(h), sizeof *kh);
    if (!kh)
        return GPUSIM_ENOMEM;
    kh->h = h;
    gpusim_event_init(&kh->timer, kh_wake, kh);
    h->khugepaged = kh;
    if (gpusim__queue_reserve(h->world, 1))
        return GPUSIM_ENOMEM;
    kh->timer_reserved = true;
    return 0;
}

void gpusim__khugepaged_destroy(gpusim_host_t *h)
{
    struct khugepaged *kh = h->khugepaged;
    gpusim_world_t *w = h->world;
    if (!kh)
        return;
    /* Jobs still in flight (only when the world itself is being freed: gpusim_host_free refuses
     * while operations run) are discarded; their fini unlinks them. */
    while (kh->jobs) {
        hop *op = kh->jobs;
        if (gpusim_event_pending(&op->ev))
            gpusim_event_cancel(w, &op->ev);
        gpusim__op_discard(op);
    }
    if (gpusim_event_pending(&kh->timer))
        gpusim_event_cancel(w, &kh->timer);
    else if (kh->timer_reserved)
        gpusim__queue_unreserve(w, 1);
    gpusim__arena_free(arena_of(h), kh->registered, kh->registered_cap);
    gpusim__arena_free(arena_of(h), kh, sizeof *kh);
    h->khugepaged = NULL;
}

bool gpusim__khugepaged_busy(const gpusim_host_t *h)
{
    const struct khugepaged *kh = h->khugepaged;
    return kh && kh->scan && gpusim_invalidation_active(&kh->scan->inv);
}

void gpusim__khugepaged_enter(gpusim_process_t *p)
{
    gpusim_host_t *h = p->host;
    struct khugepaged *kh = h->khugepaged;
    if (!kh || !h->cfg.khugepaged || h->cfg.thp == GPUSIM_THP_NEVER)
        return;
    if (p->slot >= kh->registered_cap) {
        size_t cap = kh->registered_cap;
        if (gpusim__arena_grow(arena_of(h), (void **)&kh->registered, &cap, (size_t)p->slot + 1, 1))
            return; /* out of memory: khugepaged does not learn of p (it only loses collapses) */
        memset(kh->registered + kh->registered_cap, 0, cap - kh->registered_cap);
        kh->registered_cap = cap;
    }
    kh->registered[p->slot] = 1;
    kh->entered = true;
    if (!kh->scan && !gpusim_event_pending(&kh->timer))
        kh_schedule(kh);
}
