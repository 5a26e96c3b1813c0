/*
 * host/reclaim.c -- page reclaim: the LRU scan shared by kswapd (one per node), direct reclaim in
 * allocating operations and madvise(MADV_PAGEOUT); swap-out and page-cache eviction; the allocation
 * path of operations (gpusim__op_alloc), which falls back to the OOM killer (oom.c).
 *
 * One state machine, the reclaimer, does all three jobs. It scans a node's LRU lists in batches
 * (reclaim_batch = SWAP_CLUSTER_MAX pages), choosing anon or file pages in proportion to
 * swappiness x list size (Linux's get_scan_count without its cost feedback; anon only while the
 * swap device has free slots), oldest first (the inactive list's tail), with second chance:
 *   - a page with FF_ACCESSED on the inactive list is cleared and activated;
 *   - when an inactive list is smaller than its active list, pages move from the active tail to
 *     the inactive head with their accessed bit cleared (shrink_active_list);
 *   - pinned pages (refcount above mapcount + page cache) are skipped and rotated back
 *     (host.reclaim.skipped_pinned); so are pages being migrated;
 *   - any other page is the victim: a 2 MiB compound frame is split first (CLEAR over its 2 MiB in
 *     the mapping process, then gpusim__split_huge; its other 511 pages go to the inactive tail so
 *     they are reclaimed next, as Linux puts the tails of a split folio on the list it reclaims);
 *     then, for each mapping found through the reverse map, CLEAR is announced over that page in
 *     that process (blockable: a mirror may make the reclaimer wait) and, once it may proceed, the
 *     entry is replaced by a swap entry (private anonymous: a swap slot holds a copy of the data)
 *     or cleared (page cache; MADV_FREE'd clean pages are discarded). A page-cache page with no
 *     mapping left leaves the cache (dirty file pages are written back first; shmem pages go to a
 *     swap slot named by the file). The frame is freed when the last reference goes.
 * Costs (reclaim_scan_4k per page scanned, reclaim_free_4k per page freed, swap_out_4k per page
 * written to swap, file_write_4k per page written back, notifier_dispatch per announcement to a
 * domain with subscribers, one TLB flush per batch for the pages unmapped in it, as Linux batches
 * them with TTU_BATCH_FLUSH) are the reclaimer's own virtual time: kswapd's next batch starts that
 * much later, and direct reclaim and pageout add them to their operation.
 *
 * Who drives the machine:
 *   kswapd   a kernel actor per node with its own event and invalidation. Woken when an
 *            allocation passes below the low watermark, it reclaims one batch per event until the
 *            node is above its high watermark, then sleeps with nothing queued (so a world with
 *            nothing else to do stops). It gives up (sleeps and counts a failure) after scanning
 *            twice the node's LRU without freeing anything; after reclaim_retries failures in a row
 *            it is not woken again until some reclaim of the node makes progress (kswapd_failures).
 *   direct   an operation whose allocation finds its node at the min watermark runs rounds of
 *            reclaim in its own name (op->dr): each round reclaims up to a batch, scanning at most
 *            twice the node's LRU. The reclaimer has its own invalidation (the operation's may be
 *            open). When a mirror makes it wait, the round goes on from the notifier's callback,
 *            like kswapd, and the operation waits on the reclaimer's `resume` completion until the
 *            round is over: so no announcement is ever left open, even if the operation's process
 *            dies meanwhile or its step does not call back. After reclaim_retries rounds without
 *            progress (fewer when too little is reclaimable: should_reclaim_retry), the OOM killer.
 *   pageout  madvise(MADV_PAGEOUT) walks its range and makes each page mapped by this process
 *            alone the victim, ignoring the accessed bit, with the operation's own invalidation.
 * Trace (core/trace.h): a kswapd run, wake-up to sleep with the pages it reclaimed, and each
 * allocation stall (with the sample host.direct_reclaim.stall_ns records) are reported as spans.
 *
 * Every victim is revalidated after each wait (frame generation, the entry still mapping it, no
 * new pin), because anything may have happened meanwhile; a victim that changed is left alone.
 * Victims given up after being chosen (changed while waiting, mapped by an exiting process, a
 * dirty file page in data mode, simulator memory short) count in host.reclaim.refused; pages that
 * must stay because swap is full are activated (host.swap.full).
 *
 * Invariants kept: every count of host.h (refcount, mapcount, reverse map, RSS, swapents, swap slot
 * references, page-cache counts) is changed only through zap.c and frame.c helpers, or together
 * with its counterpart here (lru_to_tail reorders a list in place, keeping its count and flags;
 * a page table left without entries is pruned); a swap slot referenced by several entries (pages shared after fork)
 * holds exactly the data each of them had when it was unmapped (data mode compares the contents
 * and takes a new slot if the page was written in between, since there is no swap cache).
 */
#include <string.h>

#include "host/host.h"
#include "core/alloc.h"
#include "core/completion.h"
#include "core/event.h"
#include "core/log.h"
#include "core/trace.h"

enum { RM_KSWAPD, RM_DIRECT, RM_PAGEOUT };

/* Where the current victim stands. */
enum {
    V_NONE,  /* no victim */
    V_START, /* chosen: decide whether it can be reclaimed at all */
    V_UNMAP, /* unmap its next mapping (or finish when none is left) */
    V_SPLIT, /* a CLEAR over a 2 MiB mapping was started: split when it may proceed */
    V_CLEAR, /* a CLEAR over one 4 KiB mapping was started: replace the entry */
    V_FINISH /* no mapping left: drop it from the page cache, count it */
};

/* op->retries while the operation waits for an OOM victim to free memory. */
#define RETRIES_OOM_WAIT UINT32_MAX

/* Swappiness weighs anon against file out of this (MAX_SWAPPINESS, include/linux/swap.h). */
#define MAX_SWAPPINESS 200

/* Passes over a node's whole LRU after which reclaim that freed nothing stops: the first pass may
 * only clear accessed bits (second chance), the second finds what is reclaimable. Linux gets the
 * same bound from its priority loop (DEF_PRIORITY down to a full scan). Not a cost. */
#define FULL_PASSES 2

typedef struct reclaimer reclaimer;

struct reclaimer {
    gpusim_host_t *h;
    int mode;
    unsigned node;
    gpusim_invalidator_t kind;
    hop *op;                    /* direct reclaim, pageout: the operation it runs in */
    gpusim_time_t *cost;        /* where its costs go (kswapd: own_cost; else op->cost) */
    gpusim_time_t own_cost;     /* kswapd: cost of the batch just done */
    gpusim_invalidation_t inv;  /* kswapd, direct reclaim (pageout uses op->inv) */
    gpusim_completion_t resume; /* direct reclaim: the operation waits on it for the round's end */

    /* Batch. */
    bool in_batch;
    uint64_t target, budget; /* pages to reclaim / pages to scan at most */
    uint64_t scanned, reclaimed, tlb_pages;
    int64_t wrr_anon, wrr_file; /* smooth weighted round robin between anon and file */

    /* Victim. */
    int vstate;
    bool split_only; /* pageout: only split the 2 MiB mapping */
    bool freed;      /* one of our unmaps freed it */
    bool slot_fresh; /* `slot` was allocated for it and no entry refers to it yet */
    bool slot_used;  /* an entry of this victim refers to `slot` */
    uint32_t victim, vgen, slot;
    uint64_t vkey; /* the mapping being split or cleared (RMAP_KEY) */

    /* kswapd. */
    gpusim_event_t ev;
    bool reserved; /* holds one event-queue reservation (whenever ev is not pending) */
    bool awake;
    unsigned failures;               /* kswapd_failures: give-ups in a row */
    gpusim_time_t woke_at;           /* when it last woke (the trace's span) */
    uint64_t run_reclaimed;          /* pages reclaimed since then */
    uint64_t scanned_since_progress; /* pages scanned since a batch last freed something */
    reclaimer *dr_list;              /* direct reclaimers working on this node */

    /* Direct reclaim: links in the node's kswapd->dr_list (so teardown finds them). */
    reclaimer *next, *prev;
};

static void kswapd_run(reclaimer *r);
static int batch_run(reclaimer *r);
static void dr_finish(hop *op);

static gpusim__arena *arena_of(const gpusim_host_t *h)
{
    return &h->world->arena;
}

static gpusim_time_t now_of(const gpusim_host_t *h)
{
    return gpusim_world_now(h->world);
}

/* Extra references beyond the mappings and the page cache are pins (GUP). For a compound head
 * the refcount holds the pins of all 512 pages, so this sees a pin on any of them. */
static bool frame_pinned(const hframe *f)
{
    return f->refcount > f->mapcount + (f->owner ? 1u : 0u);
}

static uint64_t lru_total(const hnode *nd)
{
    uint64_t n = 0;
    for (int l = 0; l < LRU_COUNT; l++)
        n += nd->lru[l].count;
    return n;
}

/* Moves a frame already on an LRU list to the tail of that list (the next to be scanned). */
static void lru_to_tail(gpusim_host_t *h, uint32_t pfn)
{
    hframe *f = frame_of(h, pfn);
    hlist *l;
    if (!(f->flags & FF_LRU))
        return;
    l = &h->nodes[gpusim__frame_node(h, pfn)].lru[f->lru];
    if (l->tail == pfn)
        return;
    /* Unlink (it is not the tail, so f->next is a frame). */
    if (f->prev != HOST_NIL)
        frame_of(h, f->prev)->next = f->next;
    else
        l->head = f->next;
    frame_of(h, f->next)->prev = f->prev;
    /* Append. */
    f->next = HOST_NIL;
    f->prev = l->tail;
    frame_of(h, l->tail)->next = pfn;
    l->tail = pfn;
}

/* Back to the head of the inactive list (looked at again last), or onto the active list. */
static void rotate(gpusim_host_t *h, uint32_t pfn)
{
    if (frame_of(h, pfn)->flags & FF_LRU)
        gpusim__lru_move(h, pfn, false);
}

static void activate(gpusim_host_t *h, uint32_t pfn)
{
    if (frame_of(h, pfn)->flags & FF_LRU)
        gpusim__lru_move(h, pfn, true);
}

/* Whether swap slot `slot` holds what frame pfn holds now (always, outside data mode). */
static bool slot_matches(const gpusim_host_t *h, uint32_t slot, uint32_t pfn)
{
    static const uint8_t zeros[HOST_PAGE_SIZE];
    const uint8_t *a, *b;
    if (!h->data)
        return true;
    a = h->data[pfn] ? h->data[pfn] : zeros;
    b = h->slot_data[slot] ? h->slot_data[slot] : zeros;
    return memcmp(a, b, HOST_PAGE_SIZE) == 0;
}

/* ---- announcements -------------------------------------------------------------------------- */

static void r_inv_proceed(gpusim_world_t *w, gpusim_invalidation_t *inv, int status)
{
    reclaimer *r = inv->data;
    (void)status; /* a started blockable invalidation cannot fail */
    if (r->mode == RM_KSWAPD) {
        kswapd_run(r);
        return;
    }
    /* Direct reclaim: the round goes on here; the operation waits for its end. */
    if (batch_run(r) == OP_WAIT)
        return;
    gpusim_completion_signal(w, &r->resume); /* wakes the operation (its waiter is queued) */
    dr_finish(r->op);                        /* frees r: the completion has no waiter left */
}

/*
 * Announces CLEAR over [start, end) of q in the reclaimer's name. Returns 0 (change the entry, then
 * r_inv_end), OP_WAIT (the reclaimer is resumed when it may proceed) or GPUSIM_ENOMEM.
 */
static int r_inv_start(reclaimer *r, gpusim_process_t *q, uint64_t start, uint64_t end)
{
    gpusim_host_t *h = r->h;
    gpusim_notifier_range_t rg;
    int rc;
    if (r->mode == RM_PAGEOUT)
        return gpusim__op_invalidate(r->op, q, start, end, GPUSIM_NOTIFY_CLEAR, true);
    rg.start = start;
    rg.end = end;
    rg.event = GPUSIM_NOTIFY_CLEAR;
    rg.invalidator = r->kind;
    rg.blockable = true;
    rg.owner = NULL;
    if (gpusim_notifier_count(q->notifier) > 0)
        *r->cost += h->p[HP_notifier_dispatch];
    rc = gpusim_notifier_invalidate_start(q->notifier, &r->inv, &rg, r_inv_proceed, r);
    if (rc == GPUSIM_EINPROGRESS)
        return OP_WAIT;
    return rc == 0 ? 0 : GPUSIM_ENOMEM;
}

static void r_inv_end(reclaimer *r)
{
    int rc;
    if (r->mode == RM_PAGEOUT) {
        gpusim__op_invalidate_end(r->op);
        return;
    }
    rc = gpusim_notifier_invalidate_end(&r->inv);
    GPUSIM_ASSERT(rc == 0);
    (void)rc;
}

/* ---- one victim ----------------------------------------------------------------------------- */

static void victim_begin(reclaimer *r, uint32_t pfn, bool split_only)
{
    r->victim = pfn;
    r->vgen = frame_of(r->h, pfn)->gen;
    r->vstate = V_START;
    r->split_only = split_only;
    r->freed = r->slot_fresh = r->slot_used = false;
}

static void victim_done(reclaimer *r)
{
    if (r->slot_fresh)
        gpusim__swap_put(r->h, r->slot); /* taken for it, never referenced: free again */
    r->slot_fresh = r->slot_used = false;
    r->vstate = V_NONE;
}

/* The victim cannot be reclaimed now: count it, put it back where it is looked at last. */
static void victim_refuse(reclaimer *r)
{
    gpusim__stat_add(r->h->st.reclaim_refused, 1);
    if (frame_of(r->h, r->victim)->gen == r->vgen)
        rotate(r->h, r->victim);
    victim_done(r);
}

/* It must stay in memory (redirtied lazy-free page, swap full): activate it. */
static void victim_keep(reclaimer *r)
{
    activate(r->h, r->victim);
    victim_done(r);
}

static bool victim_valid(const reclaimer *r)
{
    const hframe *f = frame_of(r->h, r->victim);
    /* A frame a migration took while we waited is isolated in Linux: not ours to reclaim. */
    return f->state == GPUSIM_FRAME_USED && f->gen == r->vgen && !(f->flags & FF_MIGRATING);
}

static int first_key(void *ctx, uint64_t key)
{
    *(uint64_t *)ctx = key;
    return 1;
}

/* The anon page is reclaimed to swap; shmem page-cache pages need a slot at the end. */
static bool needs_swap(const hframe *f)
{
    return ((f->flags & FF_ANON) && !(f->flags & FF_LAZYFREE)) || (f->flags & FF_SHMEM);
}

/* V_SPLIT, after the CLEAR over the 2 MiB range may proceed. */
static void victim_split(reclaimer *r)
{
    gpusim_host_t *h = r->h;
    gpusim_process_t *q = gpusim__proc(h, RMAP_SLOT(r->vkey));
    uint64_t va = RMAP_VA(r->vkey);
    pte_t *pmd = NULL;
    bool live = q && q->state == GPUSIM_PROCESS_LIVE;
    bool ok;
    int rc = 0;
    if (live)
        (void)gpusim__pt_lookup(&q->pt, va, &pmd);
    ok = victim_valid(r) && (frame_of(h, r->victim)->flags & FF_HEAD) && pmd &&
         PTE_IS_PRESENT(*pmd) && (*pmd & PTE_HUGE) && PTE_PFN(*pmd) == r->victim;
    if (ok)
        rc = gpusim__split_huge(q, va);
    r_inv_end(r);
    if (!ok || rc) {
        if (victim_valid(r))
            victim_refuse(r);
        else
            victim_done(r);
        return;
    }
    *r->cost += gpusim__tlb_flush_cost(h, HOST_HUGE_PAGES);
    if (r->mode != RM_PAGEOUT) {
        /* The other 511 pages are as cold as the head: reclaim them next, in address order. */
        for (uint32_t i = HOST_HUGE_PAGES - 1; i >= 1; i--)
            lru_to_tail(h, r->victim + i);
    }
    if (r->split_only)
        victim_done(r);
    else
        r->vstate = V_UNMAP;
}

/* V_CLEAR, after the CLEAR over one mapping may proceed: replace or clear the entry. */
static void victim_clear(reclaimer *r)
{
    gpusim_host_t *h = r->h;
    gpusim_process_t *q = gpusim__proc(h, RMAP_SLOT(r->vkey));
    uint64_t va = RMAP_VA(r->vkey);
    hframe *f = frame_of(h, r->victim);
    pte_t *pte = NULL;
    if (!victim_valid(r)) {
        r_inv_end(r);
        victim_done(r);
        return;
    }
    if (q && q->state == GPUSIM_PROCESS_LIVE)
        pte = gpusim__pt_lookup(&q->pt, va, NULL);
    if (!pte || !PTE_IS_PRESENT(*pte) || PTE_PFN(*pte) != r->victim) {
        r_inv_end(r); /* changed while we waited (unmapped, COW-copied, exiting) */
        victim_refuse(r);
        return;
    }
    if (frame_pinned(f)) {
        r_inv_end(r); /* pinned while we waited */
        gpusim__stat_add(h->st.reclaim_skipped_pinned, 1);
        rotate(h, r->victim);
        victim_done(r);
        return;
    }
    if (f->flags & FF_LAZYFREE) {
        if ((*pte & PTE_DIRTY) || (f->flags & FF_DIRTY)) {
            /* Written since MADV_FREE: it is data again (Linux re-marks it swap-backed). */
            r_inv_end(r);
            f->flags &= (uint16_t)~FF_LAZYFREE;
            victim_keep(r);
            return;
        }
        gpusim__unmap_entry(q, va, pte, false); /* discarded: the next touch reads zeros */
    } else if (f->flags & FF_ANON) {
        if (!r->slot_used || !slot_matches(h, r->slot, r->victim)) {
            /* A first copy, or the page was written since the last mapping's copy. */
            uint32_t slot;
            if (gpusim__swap_alloc(h, &slot)) {
                r_inv_end(r);
                gpusim__stat_add(h->st.swap_full, 1);
                victim_keep(r);
                return;
            }
            r->slot = slot;
            r->slot_fresh = true;
            if (gpusim__data_to_slot(h, slot, r->victim)) {
                r_inv_end(r);
                victim_refuse(r); /* frees the fresh slot */
                return;
            }
            *r->cost += h->p[HP_swap_out_4k];
            gpusim__stat_add(h->st.swap_out, 1);
        } else {
            gpusim__swap_get(h, r->slot); /* a further entry naming the same copy */
        }
        gpusim__unmap_entry(q, va, pte, false);
        *pte = PTE_MK(r->slot, PTE_TYPE_SWAP);
        q->swapents++;
        r->slot_fresh = false; /* the allocation's reference is this entry's now */
        r->slot_used = true;
    } else {
        gpusim__unmap_entry(q, va, pte, false); /* page cache: refaults from the cache or file */
    }
    if (*pte == 0)
        gpusim__pt_prune(h, &q->pt, va, va + HOST_PAGE_SIZE); /* no empty table may remain */
    r->tlb_pages++;
    r_inv_end(r);
    if (f->gen != r->vgen)
        r->freed = true;
    r->vstate = V_UNMAP;
}

/* V_FINISH: no mapping is left. */
static void victim_finish(reclaimer *r)
{
    gpusim_host_t *h = r->h;
    hframe *f = frame_of(h, r->victim);
    gpusim_file_t *file;
    if (!victim_valid(r)) {
        if (r->freed) {
            r->reclaimed++;
            gpusim__stat_add(h->st.reclaim_reclaimed, 1);
            *r->cost += h->p[HP_reclaim_free_4k];
        }
        victim_done(r);
        return;
    }
    if (frame_pinned(f)) {
        gpusim__stat_add(h->st.reclaim_skipped_pinned, 1);
        rotate(h, r->victim);
        victim_done(r);
        return;
    }
    file = f->owner && f->owner <= h->nfiles ? h->files[f->owner - 1] : NULL;
    if (!file || gpusim__file_slot(file, f->index) != (uint64_t)r->victim + 1) {
        victim_refuse(r); /* not a page-cache page: nothing else can drop it */
        return;
    }
    if (f->flags & FF_SHMEM) {
        uint32_t slot;
        if (gpusim__swap_alloc(h, &slot)) {
            gpusim__stat_add(h->st.swap_full, 1);
            victim_keep(r);
            return;
        }
        if (gpusim__data_to_slot(h, slot, r->victim)) {
            gpusim__swap_put(h, slot);
            victim_refuse(r);
            return;
        }
        gpusim__file_slot_set(file, f->index, FILE_SLOT_SWAP | slot);
        *r->cost += h->p[HP_swap_out_4k];
        gpusim__stat_add(h->st.swap_out, 1);
    } else {
        if (f->flags & FF_DIRTY) {
            /* Written through a shared mapping. Files keep no contents of their own in data
             * mode (a read refills the file's pattern), so there a dirty page must stay. */
            if (h->data) {
                victim_refuse(r);
                return;
            }
            *r->cost += h->p[HP_file_write_4k];
            f->flags &= (uint16_t)~FF_DIRTY;
        }
        gpusim__file_slot_set(file, f->index, 0);
    }
    file->cached--;
    gpusim__frame_put(h, r->victim); /* the page cache's reference: frees it */
    r->reclaimed++;
    gpusim__stat_add(h->st.reclaim_reclaimed, 1);
    *r->cost += h->p[HP_reclaim_free_4k];
    victim_done(r);
}

/* Runs the victim's state machine until it is done (0) or waits (OP_WAIT). */
static int victim_run(reclaimer *r)
{
    gpusim_host_t *h = r->h;
    while (r->vstate != V_NONE) {
        hframe *f = frame_of(h, r->victim);
        switch (r->vstate) {
        case V_START:
            if (!victim_valid(r)) {
                victim_done(r);
                break;
            }
            if ((f->flags & FF_LAZYFREE) && (f->flags & FF_DIRTY)) {
                f->flags &= (uint16_t)~FF_LAZYFREE;
                victim_keep(r);
                break;
            }
            if (needs_swap(f) && h->nslot_free == 0) {
                /* Linux: add_to_swap fails, activate_locked. */
                if (h->nslots)
                    gpusim__stat_add(h->st.swap_full, 1);
                victim_keep(r);
                break;
            }
            r->vstate = V_UNMAP;
            break;
        case V_UNMAP: {
            uint64_t key = 0;
            gpusim_process_t *q;
            uint64_t va;
            int rc;
            if (!victim_valid(r)) {
                victim_finish(r); /* freed: counted if by us */
                break;
            }
            if (frame_pinned(f)) {
                gpusim__stat_add(h->st.reclaim_skipped_pinned, 1);
                rotate(h, r->victim);
                victim_done(r);
                break;
            }
            if (f->mapcount == 0) {
                r->vstate = V_FINISH;
                break;
            }
            gpusim__rmap_each(h, r->victim, first_key, &key);
            q = gpusim__proc(h, RMAP_SLOT(key));
            va = RMAP_VA(key);
            if (!q || q->state != GPUSIM_PROCESS_LIVE) {
                victim_refuse(r); /* its exit will free it */
                break;
            }
            r->vkey = key;
            if (RMAP_HUGE(key)) {
                r->vstate = V_SPLIT;
                rc = r_inv_start(r, q, va, va + HOST_HUGE_SIZE);
            } else {
                r->vstate = V_CLEAR;
                rc = r_inv_start(r, q, va, va + HOST_PAGE_SIZE);
            }
            if (rc == OP_WAIT)
                return OP_WAIT;
            if (rc) {
                r->vstate = V_UNMAP;
                victim_refuse(r);
            }
            break;
        }
        case V_SPLIT:
            victim_split(r);
            break;
        case V_CLEAR:
            victim_clear(r);
            break;
        case V_FINISH:
        default:
            victim_finish(r);
            break;
        }
    }
    return 0;
}

/* ---- the LRU scan --------------------------------------------------------------------------- */

/* Deactivates from the active tail while the inactive list is the smaller one. */
static void refill(reclaimer *r, bool anon)
{
    gpusim_host_t *h = r->h;
    hnode *nd = &h->nodes[r->node];
    hlist *act = &nd->lru[anon ? LRU_ACTIVE_ANON : LRU_ACTIVE_FILE];
    hlist *inact = &nd->lru[anon ? LRU_INACTIVE_ANON : LRU_INACTIVE_FILE];
    for (uint64_t n = 0; n < h->p[HP_reclaim_batch] && inact->count < act->count; n++) {
        uint32_t pfn = act->tail;
        frame_of(h, pfn)->flags &= (uint16_t)~FF_ACCESSED;
        gpusim__lru_move(h, pfn, false);
        *r->cost += h->p[HP_reclaim_scan_4k];
    }
}

/* The next page to look at (an inactive tail), or HOST_NIL when the node's LRU is empty. */
static uint32_t pick(reclaimer *r)
{
    gpusim_host_t *h = r->h;
    hnode *nd = &h->nodes[r->node];
    uint64_t na = nd->lru[LRU_INACTIVE_ANON].count + nd->lru[LRU_ACTIVE_ANON].count;
    uint64_t nf = nd->lru[LRU_INACTIVE_FILE].count + nd->lru[LRU_ACTIVE_FILE].count;
    uint64_t s = GPUSIM_MIN(h->p[HP_swappiness], (uint64_t)MAX_SWAPPINESS);
    int64_t wa = (na && h->nslot_free) ? (int64_t)(s * na) : 0;
    int64_t wf = (int64_t)((MAX_SWAPPINESS - s) * nf);
    bool anon;
    if (wa + wf == 0) {
        /* Only one side can be scanned (swappiness 0 or 200, swap full): file if there is any;
         * anon without swap only when nothing else is left, so MADV_FREE'd pages can go. */
        if (nf)
            anon = false;
        else if (na)
            anon = true;
        else
            return HOST_NIL;
    } else if (wa == 0 || wf == 0) {
        /* One side only: nothing to weigh, and no balance kept from when there were two (a stale
         * one would choose a side that has nothing to scan, ending the batch empty-handed). */
        r->wrr_anon = r->wrr_file = 0;
        anon = wa != 0;
    } else {
        r->wrr_anon += wa;
        r->wrr_file += wf;
        anon = r->wrr_anon > r->wrr_file; /* ties go to file, as Linux prefers file pages */
        if (anon)
            r->wrr_anon -= wa + wf;
        else
            r->wrr_file -= wa + wf;
    }
    refill(r, anon);
    return nd->lru[anon ? LRU_INACTIVE_ANON : LRU_INACTIVE_FILE].tail;
}

/* Looks at an inactive page: second chance, pins, or make it the victim. */
static void examine(reclaimer *r, uint32_t pfn)
{
    gpusim_host_t *h = r->h;
    hframe *f = frame_of(h, pfn);
    r->scanned++;
    gpusim__stat_add(h->st.reclaim_scanned, 1);
    *r->cost += h->p[HP_reclaim_scan_4k];
    if (f->flags & FF_MIGRATING) {
        rotate(h, pfn);
        return;
    }
    if (frame_pinned(f)) {
        gpusim__stat_add(h->st.reclaim_skipped_pinned, 1);
        rotate(h, pfn);
        return;
    }
    if (f->flags & FF_ACCESSED) {
        f->flags &= (uint16_t)~FF_ACCESSED;
        activate(h, pfn);
        gpusim__stat_add(h->st.reclaim_activated, 1);
        return;
    }
    victim_begin(r, pfn, false);
}

static void batch_begin(reclaimer *r, uint64_t target, uint64_t budget)
{
    r->in_batch = true;
    r->target = target;
    r->budget = budget;
    r->scanned = r->reclaimed = r->tlb_pages = 0;
}

/* Runs the batch until it reclaimed `target` pages, scanned `budget` or found nothing to scan.
 * Returns 0 (done) or OP_WAIT. */
static int batch_run(reclaimer *r)
{
    gpusim_host_t *h = r->h;
    for (;;) {
        uint32_t pfn;
        if (r->vstate != V_NONE) {
            if (victim_run(r) == OP_WAIT)
                return OP_WAIT;
            continue;
        }
        if (r->reclaimed >= r->target || r->scanned >= r->budget)
            break;
        pfn = pick(r);
        if (pfn == HOST_NIL)
            break;
        examine(r, pfn);
    }
    *r->cost += gpusim__tlb_flush_cost(h, r->tlb_pages);
    r->tlb_pages = 0;
    r->in_batch = false;
    if (r->reclaimed && h->nodes[r->node].kswapd)
        h->nodes[r->node].kswapd->failures = 0; /* the node is reclaimable again */
    return 0;
}

/* ---- kswapd --------------------------------------------------------------------------------- */

static void kswapd_arm(reclaimer *r, gpusim_time_t when)
{
    GPUSIM_ASSERT(r->reserved && !gpusim_event_pending(&r->ev));
    r->reserved = false;
    gpusim__event_schedule_reserved(r->h->world, &r->ev, when);
}

static void kswapd_event(gpusim_world_t *w, gpusim_event_t *ev)
{
    reclaimer *r = ev->data;
    /* Our own entry has just left the queue: re-reserving cannot grow it. */
    int rc = gpusim__queue_reserve(w, 1);
    GPUSIM_ASSERT(rc == 0);
    (void)rc;
    r->reserved = true;
    kswapd_run(r);
}

static void kswapd_sleep(reclaimer *r)
{
    GPUSIM_TRACE(r->h->world, "kswapd", r->woke_at, now_of(r->h), "reclaimed", r->run_reclaimed,
                 "reclaim node%u", r->node);
    r->awake = false;
    r->own_cost = 0;
}

/* One batch per call; the next starts after this one's cost. Also the continuation of a wait. */
static void kswapd_run(reclaimer *r)
{
    gpusim_host_t *h = r->h;
    hnode *nd = &h->nodes[r->node];
    if (!r->in_batch) {
        if (nd->free >= nd->wmark_high) {
            kswapd_sleep(r); /* balanced */
            return;
        }
        if (r->scanned_since_progress >= FULL_PASSES * lru_total(nd) + h->p[HP_reclaim_batch]) {
            /* Two passes over everything freed nothing (the first pass may only age pages). */
            r->failures++;
            kswapd_sleep(r);
            return;
        }
        batch_begin(r, h->p[HP_reclaim_batch], h->p[HP_reclaim_batch]);
    }
    if (batch_run(r) == OP_WAIT)
        return; /* r_inv_proceed calls us again */
    if (r->scanned == 0) {
        r->failures++; /* nothing on the LRU at all */
        kswapd_sleep(r);
        return;
    }
    r->run_reclaimed += r->reclaimed;
    if (r->reclaimed)
        r->scanned_since_progress = 0;
    else
        r->scanned_since_progress += r->scanned;
    kswapd_arm(r, now_of(h) + r->own_cost);
    r->own_cost = 0;
}

void gpusim__kswapd_wake(gpusim_host_t *h, unsigned n)
{
    reclaimer *r;
    hnode *nd;
    if (!h->nodes || n >= h->nnodes || !(r = h->nodes[n].kswapd) || r->awake)
        return;
    nd = &h->nodes[n];
    if (nd->free >= nd->wmark_high || r->failures >= h->p[HP_reclaim_retries])
        return; /* nothing to do, or hopeless until some reclaim succeeds (kswapd_failures) */
    r->awake = true;
    r->scanned_since_progress = 0;
    r->woke_at = now_of(h);
    r->run_reclaimed = 0;
    gpusim__stat_add(h->st.kswapd_wakeups, 1);
    GPUSIM_LOG(h->world, GPUSIM_LOG_DEBUG, "host", "kswapd%u wakes: %llu free, high %llu", n,
               (unsigned long long)nd->free, (unsigned long long)nd->wmark_high);
    kswapd_arm(r, now_of(h));
}

/* ---- init / teardown ------------------------------------------------------------------------ */

static reclaimer *reclaimer_new(gpusim_host_t *h, int mode, unsigned node,
                                gpusim_invalidator_t kind, hop *op)
{
    reclaimer *r = gpusim__arena_zalloc(arena_of(h), sizeof *r);
    if (!r)
        return NULL;
    r->h = h;
    r->mode = mode;
    r->node = node;
    r->kind = kind;
    r->op = op;
    r->cost = op ? &op->cost : &r->own_cost;
    gpusim_invalidation_init(&r->inv);
    gpusim_completion_init(&r->resume, r);
    gpusim_event_init(&r->ev, kswapd_event, r);
    return r;
}

int gpusim__reclaim_init(gpusim_host_t *h)
{
    for (unsigned n = 0; n < h->nnodes; n++) {
        reclaimer *r = reclaimer_new(h, RM_KSWAPD, n, GPUSIM_INVALIDATOR_KSWAPD, NULL);
        if (!r)
            return GPUSIM_ENOMEM;
        h->nodes[n].kswapd = r;
        if (gpusim__queue_reserve(h->world, 1))
            return GPUSIM_ENOMEM;
        r->reserved = true;
    }
    return gpusim__oom_init(h);
}

void gpusim__reclaim_destroy(gpusim_host_t *h)
{
    gpusim__oom_destroy(h);
    if (!h->nodes)
        return;
    for (unsigned n = 0; n < h->nnodes; n++) {
        reclaimer *r = h->nodes[n].kswapd;
        if (!r)
            continue;
        if (gpusim_event_pending(&r->ev))
            gpusim_event_cancel(h->world, &r->ev);
        else if (r->reserved)
            gpusim__queue_unreserve(h->world, 1);
        /* Direct reclaimers of operations discarded at teardown. */
        while (r->dr_list) {
            reclaimer *d = r->dr_list;
            r->dr_list = d->next;
            gpusim__arena_free(arena_of(h), d, sizeof *d);
        }
        gpusim__arena_free(arena_of(h), r, sizeof *r);
        h->nodes[n].kswapd = NULL;
    }
}

bool gpusim__reclaim_busy(const gpusim_host_t *h)
{
    if (h->nodes)
        for (unsigned n = 0; n < h->nnodes; n++)
            if (h->nodes[n].kswapd && gpusim_invalidation_active(&h->nodes[n].kswapd->inv))
                return true;
    return gpusim__oom_busy(h);
}

/* ---- direct reclaim and the allocation path ------------------------------------------------- */

/* The node to reclaim for an allocation preferring `node`: it, or the next with an LRU. */
static unsigned dr_node(const gpusim_host_t *h, unsigned node)
{
    for (unsigned k = 0; k < h->nnodes; k++) {
        unsigned n = (node + k) % h->nnodes;
        if (lru_total(&h->nodes[n]))
            return n;
    }
    return node;
}

static int dr_begin(hop *op, unsigned node)
{
    gpusim_host_t *h = op->h;
    unsigned n = dr_node(h, node);
    reclaimer *k = h->nodes[n].kswapd;
    reclaimer *r = reclaimer_new(h, RM_DIRECT, n, GPUSIM_INVALIDATOR_DIRECT_RECLAIM, op);
    if (!r)
        return GPUSIM_ENOMEM;
    r->next = k->dr_list;
    if (k->dr_list)
        k->dr_list->prev = r;
    k->dr_list = r;
    /* One round: a batch, scanning at most two passes over the node (Linux: the priority loop
     * down to a full scan). */
    batch_begin(r, h->p[HP_reclaim_batch],
                FULL_PASSES * lru_total(&h->nodes[n]) + h->p[HP_reclaim_batch]);
    op->dr = r;
    gpusim__stat_add(h->st.direct_reclaim, 1);
    return 0;
}

/* The round is over: counts it (no progress: op->retries + 1) and frees the reclaimer. */
static void dr_finish(hop *op)
{
    reclaimer *r = op->dr;
    reclaimer *k = op->h->nodes[r->node].kswapd;
    if (r->reclaimed)
        op->retries = 0;
    else
        op->retries++;
    if (r->prev)
        r->prev->next = r->next;
    else
        k->dr_list = r->next;
    if (r->next)
        r->next->prev = r->prev;
    gpusim__arena_free(arena_of(op->h), r, sizeof *r);
    op->dr = NULL;
}

/*
 * should_reclaim_retry(): whether another round could still help after `loops` rounds without
 * progress. Some node's reclaimable pages (file, plus anon while swap has room) and free pages,
 * discounted by loops / reclaim_retries, must reach its min watermark; otherwise the OOM killer
 * is called at once (without swap, anonymous memory does not count, so an OOM comes after one
 * round rather than reclaim_retries).
 */
static bool reclaim_may_help(const gpusim_host_t *h, unsigned loops)
{
    uint64_t max = h->p[HP_reclaim_retries];
    for (unsigned n = 0; n < h->nnodes; n++) {
        const hnode *nd = &h->nodes[n];
        uint64_t avail = nd->lru[LRU_INACTIVE_FILE].count + nd->lru[LRU_ACTIVE_FILE].count;
        if (h->nslot_free)
            avail += nd->lru[LRU_INACTIVE_ANON].count + nd->lru[LRU_ACTIVE_ANON].count;
        avail += nd->free;
        avail -= (loops * avail + max - 1) / max;
        if (avail > nd->wmark_min)
            return true;
    }
    return false;
}

static void stall_begin(hop *op)
{
    op->counted_stall = true;
    /* The operation's own clock is now + cost (costs are charged when it next schedules), so
     * measuring from it counts both the time it was blocked and the reclaim work it did. */
    op->stall_since = now_of(op->h) + op->cost;
    op->stall_at = now_of(op->h);
    if (op->p)
        op->p->info.alloc_stalls++;
}

void gpusim__op_stall_end(hop *op)
{
    gpusim_host_t *h = op->h;
    gpusim_time_t d;
    if (!op->counted_stall)
        return;
    d = now_of(h) + op->cost - op->stall_since;
    op->counted_stall = false;
    (void)gpusim__stat_record(h->st.direct_reclaim_stall, d);
    /* The span runs in event time, from the step that stalled, so that it holds the reclaim's
     * invalidations (which begin then, before the operation's own clock); stall_ns is the
     * sample recorded above. */
    GPUSIM_TRACE(h->world, "direct_reclaim", op->stall_at, op->stall_since + d, "stall_ns", d,
                 "direct reclaim %s", op->p ? op->p->name : "(host)");
    if (op->p) {
        op->p->info.alloc_stall_ns += d;
        (void)gpusim__stat_record(op->p->stall_hist, d);
    }
}

static int stall_end(hop *op, int rc)
{
    op->retries = 0;
    gpusim__op_stall_end(op);
    return rc;
}

int gpusim__op_alloc(hop *op, unsigned order, uint32_t *pfn)
{
    gpusim_host_t *h = op->h;
    gpusim_process_t *p = op->p;
    unsigned node = p ? p->node : 0;
    /* A round the operation waits for ends before the operation runs again. */
    GPUSIM_ASSERT(op->dr == NULL);
    if (op->dr)
        return OP_WAIT;
    for (;;) {
        int rc;
        if (p && !op->exempt && (p->oom_killed || p->state != GPUSIM_PROCESS_LIVE))
            return stall_end(op, GPUSIM_ESRCH);
        rc = gpusim__frame_alloc(h, node, order, true, false, pfn);
        if (rc != ALLOC_MIN)
            return stall_end(op, 0);
        if (order != 0)
            return stall_end(op, GPUSIM_ENOMEM); /* THP: the caller falls back to 4 KiB */
        if (!op->counted_stall)
            stall_begin(op);
        if (op->retries == RETRIES_OOM_WAIT) {
            if (gpusim__oom_pending(h)) {
                gpusim__op_wait(op, &h->memory_freed); /* the victim has still to free it */
                return OP_WAIT;
            }
            op->retries = 0; /* Linux resets no_progress_loops after an OOM kill: reclaim again */
        }
        if (op->retries < h->p[HP_reclaim_retries] &&
            (op->retries == 0 || reclaim_may_help(h, op->retries))) {
            rc = dr_begin(op, node);
            if (rc)
                return stall_end(op, rc);
            if (batch_run(op->dr) == OP_WAIT) {
                gpusim__op_wait(op, &op->dr->resume); /* until the round is over */
                return OP_WAIT;
            }
            dr_finish(op);
            continue;
        }
        rc = gpusim__oom_kill(op);
        if (rc == OP_WAIT) {
            op->retries = RETRIES_OOM_WAIT;
            return OP_WAIT;
        }
        return stall_end(op, rc);
    }
}

/* ---- madvise(MADV_PAGEOUT) ------------------------------------------------------------------ */

/* op->a[3] is the cursor (as mm.c's range operations); op->a[4] the 2 MiB range whose split was
 * attempted last (+1), so that a split that fails is not retried forever. */
#define PO_CURSOR(op) ((op)->a[3])
#define PO_SPLIT(op)  ((op)->a[4])

static void pageout_fini(hop *op)
{
    reclaimer *r = op->priv;
    if (r) {
        gpusim__arena_free(arena_of(op->h), r, sizeof *r);
        op->priv = NULL;
    }
}

/* Looks at the page under the cursor and advances it, or starts a victim. */
static void pageout_next(reclaimer *r)
{
    hop *op = r->op;
    gpusim_host_t *h = op->h;
    gpusim_process_t *p = op->p;
    uint64_t va = PO_CURSOR(op), end = op->a[0] + op->a[1];
    hvma *v = gpusim__vma_first(p, va, end);
    pte_t *pmd, *pte;
    hframe *f;
    if (!v) {
        op->status = GPUSIM_ENOMEM; /* a hole: Linux goes on and reports ENOMEM at the end */
        PO_CURSOR(op) = end;
        return;
    }
    if (vma_start(v) > va) {
        op->status = GPUSIM_ENOMEM;
        PO_CURSOR(op) = vma_start(v);
        return;
    }
    pte = gpusim__pt_lookup(&p->pt, va, &pmd);
    if (!pte) {
        uint64_t base = va & ~(HOST_HUGE_SIZE - 1);
        if (pmd && PTE_IS_PRESENT(*pmd) && (*pmd & PTE_HUGE) && PO_SPLIT(op) != base + 1) {
            f = frame_of(h, PTE_PFN(*pmd));
            if (frame_pinned(f)) {
                gpusim__stat_add(h->st.reclaim_skipped_pinned, 1);
            } else if (f->mapcount == 1 && !(f->flags & FF_MIGRATING)) {
                /* Split it (CLEAR over 2 MiB), then come back to its 4 KiB pages. */
                PO_SPLIT(op) = base + 1;
                victim_begin(r, PTE_PFN(*pmd), true);
                return;
            }
        }
        PO_CURSOR(op) = base + HOST_HUGE_SIZE;
        return;
    }
    PO_CURSOR(op) = va + HOST_PAGE_SIZE;
    if (!PTE_IS_PRESENT(*pte) || PTE_PFN(*pte) == HOST_ZERO_PFN)
        return;
    f = frame_of(h, PTE_PFN(*pte));
    if (!(f->flags & FF_LRU) || (f->flags & FF_MIGRATING))
        return;
    if (frame_pinned(f)) {
        gpusim__stat_add(h->st.reclaim_skipped_pinned, 1);
        return;
    }
    if (f->mapcount != 1)
        return; /* shared with another mapping: Linux leaves it to reclaim */
    r->scanned++;
    gpusim__stat_add(h->st.reclaim_scanned, 1);
    *r->cost += h->p[HP_reclaim_scan_4k];
    f->flags &= (uint16_t)~FF_ACCESSED; /* reclaimed whatever its age (ignore_references) */
    victim_begin(r, PTE_PFN(*pte), false);
}

int gpusim__pageout_step(hop *op)
{
    reclaimer *r = op->priv;
    if (!r) {
        GPUSIM_ASSERT(op->fini == NULL);
        r = reclaimer_new(op->h, RM_PAGEOUT, op->p->node, op->kind, op);
        if (!r) {
            op->status = GPUSIM_ENOMEM;
            return STEP_DONE;
        }
        op->priv = r;
        op->fini = pageout_fini;
        PO_CURSOR(op) = op->a[0];
        PO_SPLIT(op) = 0;
    }
    for (;;) {
        if (r->vstate != V_NONE) {
            if (victim_run(r) == OP_WAIT)
                return STEP_BLOCKED;
            continue;
        }
        if (PO_CURSOR(op) >= op->a[0] + op->a[1])
            break;
        if (op->p->state != GPUSIM_PROCESS_LIVE) {
            /* It died while we waited for a mirror (the engine only ends an operation between
             * announcements): stop, as the engine would have. */
            op->status = GPUSIM_ESRCH;
            break;
        }
        if (gpusim__op_should_yield(op)) {
            *r->cost += gpusim__tlb_flush_cost(op->h, r->tlb_pages);
            r->tlb_pages = 0;
            return STEP_YIELD;
        }
        pageout_next(r);
    }
    *r->cost += gpusim__tlb_flush_cost(op->h, r->tlb_pages);
    r->tlb_pages = 0;
    return STEP_DONE;
}
