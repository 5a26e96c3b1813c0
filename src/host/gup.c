/*
 * host/gup.c -- pinning (pin_user_pages / unpin_user_pages) and hmm_range_fault.
 *
 * Pinning. gpusim_process_pin charges the bytes to the process's locked-memory limit first (as
 * RDMA's ib_umem_get charges pinned_vm), then an operation walks the pages one at a time: each
 * page is faulted in if it is not present with the access needed (gpusim__fault, as GUP's
 * faultin_page), long-term pins first move pages out of ZONE_MOVABLE
 * (check_and_migrate_movable_pages), and then the pin is taken:
 *   - the 4 KiB page's pincount is raised (for a page of a 2 MiB compound frame: that subpage's
 *     pincount, and the HEAD's refcount -- host.h "Counts of a frame"), and the frame's refcount;
 *   - h->pinned_frames counts 4 KiB pages with pincount > 0 (gauge host.pin.frames, with its peak);
 *     the process gets MMF_HAS_PINNED;
 *   - the shared zero page is never really pinned (Linux: try_grab_folio skips it): its pfn is
 *     returned, and unpinning it does nothing.
 * Anonymous pages: GUP pins only exclusive anonymous pages; a read pin of a COW-shared one (mapped
 * by several processes) first breaks the sharing with an "unshare" fault, so that the pinned page
 * is the one the process keeps (FOLL_PIN's gup_must_unshare). Long-term read pins in private
 * mappings also unshare the zero page and page-cache pages (reliable R/O long-term pins, Linux
 * 6.1). gpusim unshares with a write fault, which leaves the page writable and dirty where Linux
 * maps it read-only, and cannot unshare in a private VMA without VM_WRITE (such a page is pinned
 * shared).
 *
 * A pin that fails part-way releases the pins it took and the charge; its status is the error.
 * When its process dies, the engine ends it with GPUSIM_ESRCH at the next step boundary without
 * calling the step, so the release is done in op->fini then (a migration in progress makes the
 * operation exempt until it is over, so the abort never leaves announcements open).
 *
 * hmm_range_fault. For each page: the request is (hmm_pfns[i] & mask) | default_flags; before each
 * page the subscription's sequence is compared with `seq` (Linux's mmu_interval_check_retry before
 * each walk) and a change ends the call with GPUSIM_ERETRY; a page that must be faulted is faulted
 * and then walked again. Outputs: VALID (+ WRITE when the PTE is writable, + HUGE for 2 MiB
 * mappings) with the 4 KiB frame number, the zero page as a normal read-only page, ERROR for no VMA
 * or no read permission, 0 for anything else (none, swap).
 *
 * Costs (host.h parameters): a 4 KiB page costs pin_longterm_4k for a long-term pin (the figure
 * was measured on pages already present: gup_test writes them first) and pin_fast_4k otherwise,
 * plus the fault when it needed one (charged by gpusim__fault); pages of 2 MiB mappings cost
 * pin_longterm_2m per 512 (the batched folio path); a migration costs what migrate.c charges.
 * Unpinning costs unpin_4k per page, unpin_2m per 512 pages of compound frames. hmm_range_fault
 * costs hmm_walk_4k per page walked (a faulted page is walked again) plus its faults.
 */
#include "host/host.h"
#include "core/alloc.h"
#include "notifier/notifier.h"

/* ---- pin counts ------------------------------------------------------------------------------ */

/* Takes one pin on the 4 KiB page pfn whose frame (compound head, or itself) is head. */
static void pin_one(gpusim_host_t *h, uint32_t pfn, uint32_t head)
{
    hframe *f = frame_of(h, pfn);
    if (pfn == HOST_ZERO_PFN)
        return;
    if (f->pincount++ == 0)
        gpusim__stat_set(h->st.pinned_frames, (int64_t)++h->pinned_frames);
    frame_of(h, head)->refcount++;
}

/* The frame that holds the references of the 4 KiB page pfn. */
static uint32_t page_head(const gpusim_host_t *h, uint32_t pfn)
{
    return frame_of(h, pfn)->state == GPUSIM_FRAME_TAIL ? huge_head(pfn) : pfn;
}

/* Drops one pin of pfn (valid: pincount > 0); the frame is freed if that was its last reference. */
static void unpin_one(gpusim_host_t *h, uint32_t pfn, bool dirty)
{
    hframe *f = frame_of(h, pfn);
    uint32_t head;
    if (pfn == HOST_ZERO_PFN)
        return;
    head = page_head(h, pfn);
    GPUSIM_ASSERT(f->pincount > 0);
    if (--f->pincount == 0)
        gpusim__stat_set(h->st.pinned_frames, (int64_t)--h->pinned_frames);
    if (dirty) {
        f->flags |= FF_DIRTY;
        frame_of(h, head)->flags |= FF_DIRTY; /* set_page_dirty on the folio */
    }
    gpusim__frame_put(h, head);
}

/* Cost of the n-th page (from 1) pinned or unpinned through a 2 MiB frame: `per2m` per 512 pages,
 * spread so that the total is exact. */
static gpusim_time_t huge_share(uint64_t per2m, uint64_t n)
{
    return per2m * n / HOST_HUGE_PAGES - per2m * (n - 1) / HOST_HUGE_PAGES;
}

/* ---- gpusim_process_pin ---------------------------------------------------------------------- */

enum { PIN_LOOK, PIN_FAULTING, PIN_MIGRATING, PIN_SPLITTING };

typedef struct pin_state {
    hmig *m;          /* long-term pins: migration out of ZONE_MOVABLE (allocated when needed) */
    uint64_t held;    /* pins taken: pfns[0..held) */
    uint64_t huge;    /* pages pinned through 2 MiB mappings (for their shared cost) */
    uint32_t mig_pfn; /* frame being migrated */
    int state;        /* PIN_* */
    bool write_fault; /* the open fault is a write */
    bool faulted;     /* the current page needed a fault */
    bool charged;     /* npages are charged to p->pinned and pfns[0..held) are pinned */
    /* pin_look's last VMA and page table (the 512 entries mapping [table_va, + 2 MiB)): the next
     * page is usually in both. Valid only while the step runs and looks pages up; forgotten at
     * each step and before a fault, a migration or a split, which may change them. */
    hvma *v;
    pte_t *table;
    uint64_t table_va;
} pin_state;

#define PIN_ADDR(op)  ((op)->a[0])
#define PIN_N(op)     ((op)->a[1])
#define PIN_FLAGS(op) ((op)->a[2])
/* a[6], a[7] belong to gpusim__fault. */

/* Destination of a long-term pin's migration: outside ZONE_MOVABLE. */
static int alloc_pinnable(hop *op, unsigned order, uint32_t *pfn)
{
    int rc = gpusim__frame_alloc(op->h, op->p->node, order, false, false, pfn);
    return rc == ALLOC_MIN ? GPUSIM_ENOMEM : 0;
}

/* Releases what a failed pin took: its pins and the charge. */
static void pin_release(hop *op)
{
    gpusim_process_t *p = op->p;
    gpusim_host_t *h = op->h;
    pin_state *st = op->priv;
    const uint64_t *pfns = op->ptr;
    uint64_t huge = 0;
    for (uint64_t i = 0; i < st->held; i++) {
        uint32_t pfn = (uint32_t)pfns[i];
        const hframe *f = frame_of(h, pfn);
        bool compound = f->state == GPUSIM_FRAME_TAIL || (f->flags & FF_HEAD);
        op->cost += compound ? huge_share(h->p[HP_unpin_2m], ++huge) : h->p[HP_unpin_4k];
        unpin_one(h, pfn, false);
    }
    st->held = 0;
    p->pinned -= PIN_N(op);
    st->charged = false;
}

/* Ends the pin with error rc. */
static int pin_fail(hop *op, int rc)
{
    pin_release(op);
    op->status = op->p->state != GPUSIM_PROCESS_LIVE ? GPUSIM_ESRCH : rc;
    op->result = 0;
    return STEP_DONE;
}

/* Whether a read pin of the present entry e must first break its sharing (gup_must_unshare). */
static bool must_unshare(const gpusim_host_t *h, const hvma *v, pte_t e, bool longterm)
{
    const hframe *f;
    if (v->flags & VM_SHARED)
        return false;
    if (PTE_PFN(e) == HOST_ZERO_PFN)
        return longterm;
    f = frame_of(h, PTE_PFN(e)); /* the head, for a 2 MiB entry */
    if (f->flags & FF_ANON)
        return f->mapcount > 1;
    return longterm; /* a page-cache page in a private mapping */
}

/* Splits the 2 MiB mapping at va (CLEAR over it) so that one page of it can be migrated alone, as
 * migrate_pages splits a folio it cannot move whole. 0, OP_WAIT or an error. */
static int pin_split(hop *op, uint64_t va)
{
    uint64_t base = va & ~(HOST_HUGE_SIZE - 1);
    int rc;
    if (!gpusim_invalidation_active(&op->inv)) {
        op->kind = GPUSIM_INVALIDATOR_COMPACTION;
        rc = gpusim__op_invalidate(op, op->p, base, base + HOST_HUGE_SIZE, GPUSIM_NOTIFY_CLEAR,
                                   true);
        op->kind = GPUSIM_INVALIDATOR_SYSCALL;
        if (rc == OP_WAIT)
            return OP_WAIT;
        if (rc < 0)
            return rc;
    }
    rc = gpusim__split_huge(op->p, va);
    gpusim__op_invalidate_end(op);
    if (rc == 0)
        op->cost += gpusim__tlb_flush_cost(op->h, HOST_HUGE_PAGES);
    return rc;
}

/*
 * Looks at the page at va and pins it if it can: 0 (pinned), 1 (st->state changed: a fault, a
 * migration), or an error.
 */
static int pin_look(hop *op, pin_state *st, uint64_t va)
{
    gpusim_process_t *p = op->p;
    gpusim_host_t *h = op->h;
    unsigned flags = (unsigned)PIN_FLAGS(op);
    bool longterm = (flags & GPUSIM_PIN_LONGTERM) != 0;
    bool write = (flags & GPUSIM_PIN_WRITE) != 0;
    hvma *v = st->v;
    pte_t *pmd = NULL, *pte, e = 0;
    bool huge = false;
    uint32_t pfn, head;
    if (!v || va < vma_start(v) || va >= vma_end(v))
        v = st->v = gpusim__vma_find(p, va);
    /* check_vma_flags: a write pin needs VM_WRITE, a read pin VM_READ (whatever the PTE says: a
     * page made PROT_NONE may still be present). */
    if (!v || !(v->flags & (write ? VM_WRITE : VM_READ)))
        return GPUSIM_EFAULT;
    if (st->table && va - st->table_va < HOST_HUGE_SIZE) {
        pte = &st->table[(va - st->table_va) >> HOST_PAGE_SHIFT];
    } else {
        pte = gpusim__pt_lookup(&p->pt, va, &pmd);
        st->table = pte ? pte - ((va & (HOST_HUGE_SIZE - 1)) >> HOST_PAGE_SHIFT) : NULL;
        st->table_va = va & ~(HOST_HUGE_SIZE - 1);
    }
    if (pte) {
        e = *pte;
    } else if (pmd && *pmd && !PMD_IS_TABLE(*pmd)) {
        e = *pmd;
        huge = true;
    }
    if (PTE_IS_PRESENT(e) && !write && (v->flags & VM_WRITE) && must_unshare(h, v, e, longterm))
        write = true;
    /* A migration entry: GUP's follow_page misses and faults, and the fault waits for the move. */
    if (!PTE_IS_PRESENT(e) || (write && !(e & PTE_WRITE)) || pte_migrating(h, e)) {
        st->state = PIN_FAULTING;
        st->write_fault = write;
        return 1;
    }
    head = PTE_PFN(e);
    pfn = head + (huge ? (uint32_t)((va >> HOST_PAGE_SHIFT) & (HOST_HUGE_PAGES - 1)) : 0);
    if (longterm && pfn != HOST_ZERO_PFN && gpusim__frame_movable(h, pfn)) {
        if (!st->m && !(st->m = gpusim__mig_new(h)))
            return GPUSIM_ENOMEM;
        st->mig_pfn = head;
        st->state = PIN_MIGRATING;
        return 1;
    }
    if (huge)
        op->cost += huge_share(h->p[HP_pin_longterm_2m], ++st->huge);
    else if (longterm)
        op->cost += h->p[HP_pin_longterm_4k];
    else
        op->cost += h->p[HP_pin_fast_4k];
    pin_one(h, pfn, head);
    p->has_pinned = true;
    gpusim__stat_add(h->st.pin_pages, 1);
    ((uint64_t *)op->ptr)[st->held++] = pfn;
    st->faulted = false;
    return 0;
}

static int pin_step(hop *op)
{
    pin_state *st = op->priv;
    st->v = NULL; /* other actors ran since the last step */
    st->table = NULL;
    while (st->held < PIN_N(op)) {
        uint64_t va = PIN_ADDR(op) + st->held * HOST_PAGE_SIZE;
        int rc;
        if (st->state != PIN_LOOK) {
            st->v = NULL;
            st->table = NULL;
        }
        switch (st->state) {
        case PIN_FAULTING:
            rc = gpusim__fault(op, va, st->write_fault);
            if (rc == OP_WAIT)
                return STEP_BLOCKED;
            st->state = PIN_LOOK;
            if (rc)
                return pin_fail(op, rc);
            st->faulted = true;
            break;
        case PIN_MIGRATING:
            rc = gpusim__migrate(op, st->m, st->mig_pfn, alloc_pinnable);
            if (rc == OP_WAIT)
                return STEP_BLOCKED;
            if (rc == OP_YIELD)
                return STEP_YIELD;
            st->state = PIN_LOOK;
            if (rc == GPUSIM_EAGAIN) {
                /* Another migration has the frame: wait for it to end, then look again (Linux
                 * retries the pin when a folio cannot be isolated). */
                gpusim__op_wait(op, &op->h->migration_done);
                return STEP_BLOCKED;
            }
            if (rc == 0) {
                gpusim__stat_add(op->h->st.migrate_longterm, 1);
            } else if (rc == GPUSIM_ENOMEM && (frame_of(op->h, st->mig_pfn)->flags & FF_HEAD)) {
                st->state = PIN_SPLITTING; /* no whole unmovable block: move the page alone */
            } else if (rc != GPUSIM_ENOENT) {
                /* Pinned by someone else, or no memory outside ZONE_MOVABLE: Linux's
                 * migrate_longterm_unpinnable_folios fails the pin with -ENOMEM. */
                return pin_fail(op, GPUSIM_ENOMEM);
            }
            break;
        case PIN_SPLITTING:
            rc = pin_split(op, va);
            if (rc == OP_WAIT)
                return STEP_BLOCKED;
            st->state = PIN_LOOK;
            if (rc)
                return pin_fail(op, rc);
            break;
        default:
            rc = pin_look(op, st, va);
            if (rc < 0)
                return pin_fail(op, rc);
            if (rc == 0 && st->held < PIN_N(op) && gpusim__op_should_yield(op))
                return STEP_YIELD;
            break;
        }
    }
    op->result = PIN_N(op);
    return STEP_DONE;
}

static void pin_fini(hop *op)
{
    pin_state *st = op->priv;
    if (!st)
        return;
    /* Ended by the engine (its process died) while holding pins: release them now. An operation
     * discarded unfinished at host teardown (status still 0) leaves them to the dying host. */
    if (st->charged && op->status != 0)
        pin_release(op);
    gpusim__mig_free(op->h, st->m);
    gpusim__arena_free(&op->h->world->arena, st, sizeof *st);
    op->priv = NULL;
}

int gpusim_process_pin(gpusim_process_t *p, uint64_t addr, uint64_t npages, unsigned flags,
                       uint64_t *pfns, gpusim_host_cb cb, void *data)
{
    gpusim_host_t *h;
    pin_state *st;
    hop *op;
    if (!p || !pfns || npages == 0 || addr % HOST_PAGE_SIZE != 0 || addr >= GPUSIM_HOST_VA_END ||
        npages > (GPUSIM_HOST_VA_END - addr) / HOST_PAGE_SIZE ||
        (flags & ~(GPUSIM_PIN_WRITE | GPUSIM_PIN_LONGTERM)) != 0)
        return GPUSIM_EINVAL;
    if (p->state != GPUSIM_PROCESS_LIVE)
        return GPUSIM_ESRCH;
    h = p->host;
    if (p->memlock_limit != UINT64_MAX &&
        (p->pinned + npages) * HOST_PAGE_SIZE > p->memlock_limit) {
        gpusim__stat_add(h->st.pin_limit_refused, 1);
        return GPUSIM_ENOMEM;
    }
    op = gpusim__op_new(h, p, pin_step, cb, data);
    if (!op)
        return GPUSIM_ENOMEM;
    st = gpusim__arena_zalloc(&h->world->arena, sizeof *st);
    if (!st) {
        gpusim__op_discard(op);
        return GPUSIM_ENOMEM;
    }
    op->priv = st;
    op->fini = pin_fini;
    op->ptr = pfns;
    PIN_ADDR(op) = addr;
    PIN_N(op) = npages;
    PIN_FLAGS(op) = flags;
    p->pinned += npages; /* charged now, so that concurrent pins see it */
    st->charged = true;
    gpusim__op_start(op);
    return 0;
}

int gpusim_process_unpin(gpusim_process_t *p, const uint64_t *pfns, uint64_t npages, bool dirty,
                         gpusim_time_t *cost)
{
    gpusim_host_t *h;
    gpusim_time_t t = 0;
    uint64_t i, huge = 0;
    if (cost)
        *cost = 0;
    if (!p || (!pfns && npages) || npages > p->pinned)
        return GPUSIM_EINVAL;
    h = p->host;
    /* Validate everything first (taking the pins off tentatively, so that a frame listed twice
     * needs two pins), and put them back if one is not pinned: then nothing has changed. */
    for (i = 0; i < npages; i++) {
        uint64_t pfn = pfns[i];
        hframe *f;
        if (pfn == HOST_ZERO_PFN)
            continue;
        if (pfn >= h->nframes)
            break;
        f = frame_of(h, (uint32_t)pfn);
        if (h->blocks[pfn / HOST_HUGE_PAGES].fresh ||
            (f->state != GPUSIM_FRAME_USED && f->state != GPUSIM_FRAME_TAIL) || f->pincount == 0)
            break;
        f->pincount--;
    }
    /* Undo every tentative drop before the real ones (done one by one, a frame listed twice
     * would see its pincount reach 0 twice and leave pinned_frames twice). */
    {
        bool valid = i == npages;
        while (i-- > 0)
            if (pfns[i] != HOST_ZERO_PFN)
                frame_of(h, (uint32_t)pfns[i])->pincount++;
        if (!valid)
            return GPUSIM_EINVAL;
    }
    for (i = 0; i < npages; i++) {
        uint32_t pfn = (uint32_t)pfns[i];
        if (pfn != HOST_ZERO_PFN) {
            hframe *f = frame_of(h, pfn);
            bool compound = f->state == GPUSIM_FRAME_TAIL || (f->flags & FF_HEAD);
            t += compound ? huge_share(h->p[HP_unpin_2m], ++huge) : h->p[HP_unpin_4k];
            unpin_one(h, pfn, dirty);
        } else {
            t += h->p[HP_unpin_4k];
        }
    }
    p->pinned -= npages;
    gpusim__stat_add(h->st.unpin_pages, npages);
    if (cost)
        *cost = t;
    return 0;
}

/* ---- gpusim_process_range_fault -------------------------------------------------------------- */

#define HMM_START(op)   ((op)->a[0])
#define HMM_N(op)       ((op)->a[1])
#define HMM_DEFAULT(op) ((op)->a[2])
#define HMM_MASK(op)    ((op)->a[3])
#define HMM_CUR(op)     ((op)->a[4])
#define HMM_SEQ(op)     ((op)->a[5])
/* a[6], a[7] belong to gpusim__fault; op->ptr is hmm_pfns, op->priv the subscription (not owned),
 * op->phase 1 while a fault is open. */

#define HMM_REQ_BITS ((uint64_t)(GPUSIM_HMM_REQ_FAULT | GPUSIM_HMM_REQ_WRITE))

/* The output entry for the CPU entry e (2 MiB when huge) at va. */
static uint64_t hmm_snapshot(const gpusim_host_t *h, pte_t e, bool huge, uint64_t va)
{
    uint64_t pfn;
    if (!PTE_IS_PRESENT(e) || pte_migrating(h, e))
        return 0; /* a migration entry is not present to a snapshot (hmm_vma_handle_pte) */
    pfn = PTE_PFN(e) + (huge ? ((va >> HOST_PAGE_SHIFT) & (HOST_HUGE_PAGES - 1)) : 0);
    return (pfn << GPUSIM_HMM_PFN_SHIFT) | GPUSIM_HMM_PFN_VALID |
           ((e & PTE_WRITE) ? GPUSIM_HMM_PFN_WRITE : 0) | (huge ? GPUSIM_HMM_PFN_HUGE : 0);
}

static int hmm_end(hop *op, int status)
{
    op->status = status;
    return STEP_DONE;
}

/*
 * The run of pages from the current one (pte, at va, just walked and needing no fault) to the end
 * of its page table, its VMA or the call, whichever comes first: the loop of hmm_step without its
 * per-page lookups, for the common case of a mapped buffer. Each page costs, yields and stops for a
 * fault exactly where hmm_step would. The sequence is not checked again: nothing runs between two
 * pages of one step, and a fault, which may invalidate, ends the run. Returns HMM_GO_ON to go on in
 * hmm_step (at the page the run stopped at, phase 1 if it needs a fault), STEP_YIELD, or STEP_DONE
 * (every page done, or the call failed).
 */
enum { HMM_GO_ON = -1 };

static int hmm_run(hop *op, const hvma *v, const pte_t *pte, uint64_t va, uint64_t table_end)
{
    const gpusim_host_t *h = op->h;
    uint64_t *pfns = op->ptr;
    uint64_t i = HMM_CUR(op), n = HMM_N(op), cost = op->cost;
    uint64_t walk = h->p[HP_hmm_walk_4k], quantum = h->p[HP_op_quantum];
    uint64_t mask = HMM_MASK(op), dflt = HMM_DEFAULT(op);
    uint64_t end = GPUSIM_MIN(table_end, vma_end(v));
    int rc = HMM_GO_ON;
    for (;;) {
        pfns[i] = hmm_snapshot(h, *pte, false, va);
        i++;
        va += HOST_PAGE_SIZE;
        pte++;
        if (i == n) {
            rc = STEP_DONE;
            break;
        }
        if (cost >= quantum) {
            rc = STEP_YIELD;
            break;
        }
        if (va >= end)
            break; /* another table or VMA: hmm_step looks it up */
        cost += walk;
        uint64_t req = ((pfns[i] & mask) | dflt) & HMM_REQ_BITS;
        bool write = (req & GPUSIM_HMM_REQ_WRITE) != 0;
        pte_t e = *pte;
        if ((req & GPUSIM_HMM_REQ_FAULT) &&
            (!PTE_IS_PRESENT(e) || (write && !(e & PTE_WRITE)) || pte_migrating(h, e))) {
            if (write && !(v->flags & VM_WRITE))
                rc = hmm_end(op, GPUSIM_EPERM);
            else
                op->phase = 1;
            break;
        }
    }
    HMM_CUR(op) = i;
    op->cost = cost;
    return rc;
}

static int hmm_step(hop *op)
{
    gpusim_process_t *p = op->p;
    gpusim_host_t *h = op->h;
    const gpusim_notifier_sub_t *sub = op->priv;
    uint64_t *pfns = op->ptr;
    /* The VMA and the page table of the last page walked: the next page is usually in both.
     * Nothing changes them while this step runs, except a fault (which forgets them). */
    hvma *v = NULL;
    pte_t *table = NULL; /* the 512 entries that map [table_va, table_va + 2 MiB) */
    uint64_t table_va = 0;
    while (HMM_CUR(op) < HMM_N(op)) {
        uint64_t i = HMM_CUR(op);
        uint64_t va = HMM_START(op) + i * HOST_PAGE_SIZE;
        uint64_t req = ((pfns[i] & HMM_MASK(op)) | HMM_DEFAULT(op)) & HMM_REQ_BITS;
        bool fault, write = (req & GPUSIM_HMM_REQ_WRITE) != 0;
        pte_t *pmd, *pte, e = 0;
        bool huge = false;
        int rc;
        if (op->phase == 1) {
            /* A fault of page i is open: finish it, then walk the page again. */
            rc = gpusim__fault(op, va, write);
            if (rc == OP_WAIT)
                return STEP_BLOCKED;
            op->phase = 0;
            if (rc)
                return hmm_end(op, rc);
            op->result++;
            gpusim__stat_add(h->st.hmm_faults, 1);
            v = NULL; /* the fault may have split, merged or filled tables */
            table = NULL;
            continue;
        }
        /* Linux checks the sequence before every walk (mmu_interval_check_retry). */
        if (sub && gpusim__notifier_sub_seq(sub) != HMM_SEQ(op)) {
            gpusim__stat_add(h->st.hmm_retries, 1);
            return hmm_end(op, GPUSIM_ERETRY);
        }
        op->cost += h->p[HP_hmm_walk_4k];
        if (!v || va < vma_start(v) || va >= vma_end(v))
            v = gpusim__vma_find(p, va);
        if (!v || !(v->flags & VM_READ)) {
            if (req & GPUSIM_HMM_REQ_FAULT)
                return hmm_end(op, GPUSIM_EFAULT);
            pfns[i] = GPUSIM_HMM_PFN_ERROR;
            HMM_CUR(op)++;
            continue;
        }
        if (table && va - table_va < HOST_HUGE_SIZE) {
            pte = &table[(va - table_va) >> HOST_PAGE_SHIFT];
            pmd = NULL;
        } else {
            pte = gpusim__pt_lookup(&p->pt, va, &pmd);
            table = pte ? pte - ((va & (HOST_HUGE_SIZE - 1)) >> HOST_PAGE_SHIFT) : NULL;
            table_va = va & ~(HOST_HUGE_SIZE - 1);
        }
        if (pte) {
            e = *pte;
        } else if (pmd && *pmd && !PMD_IS_TABLE(*pmd)) {
            e = *pmd;
            huge = true;
        }
        fault = (req & GPUSIM_HMM_REQ_FAULT) &&
                (!PTE_IS_PRESENT(e) || (write && !(e & PTE_WRITE)) || pte_migrating(h, e));
        if (fault) {
            if (write && !(v->flags & VM_WRITE))
                return hmm_end(op, GPUSIM_EPERM);
            op->phase = 1;
            continue;
        }
        if (pte) {
            int r = hmm_run(op, v, pte, va, table_va + HOST_HUGE_SIZE);
            if (r != HMM_GO_ON)
                return r;
            continue;
        }
        pfns[i] = hmm_snapshot(h, e, huge, va);
        HMM_CUR(op)++;
        if (HMM_CUR(op) < HMM_N(op) && gpusim__op_should_yield(op))
            return STEP_YIELD;
    }
    return STEP_DONE;
}

/* The call is over (done, failed, or its process died): the subscription may be removed again. */
static void hmm_fini(hop *op)
{
    /* At world teardown the domains were freed before the host (process.c's header): the
     * subscription went with them. */
    if (op->priv && !op->h->tearing_down)
        gpusim__notifier_sub_release(op->priv);
}

int gpusim_process_range_fault(gpusim_process_t *p, gpusim_notifier_sub_t *sub, uint64_t seq,
                               uint64_t start, uint64_t npages, uint64_t default_flags,
                               uint64_t mask, uint64_t *hmm_pfns, gpusim_host_cb cb, void *data)
{
    hop *op;
    if (!p || !hmm_pfns || npages == 0 || start % HOST_PAGE_SIZE != 0 ||
        start >= GPUSIM_HOST_VA_END || npages > (GPUSIM_HOST_VA_END - start) / HOST_PAGE_SIZE ||
        (default_flags & ~HMM_REQ_BITS) != 0)
        return GPUSIM_EINVAL;
    if (p->state != GPUSIM_PROCESS_LIVE)
        return GPUSIM_ESRCH;
    op = gpusim__op_new(p->host, p, hmm_step, cb, data);
    if (!op)
        return GPUSIM_ENOMEM;
    if (sub && !gpusim__notifier_sub_hold(sub, p->notifier)) {
        gpusim__op_discard(op);
        return GPUSIM_EINVAL;
    }
    op->ptr = hmm_pfns;
    op->priv = sub; /* held until the call ends: its removal is refused meanwhile */
    op->fini = hmm_fini;
    HMM_START(op) = start;
    HMM_N(op) = npages;
    HMM_DEFAULT(op) = default_flags;
    HMM_MASK(op) = mask;
    HMM_SEQ(op) = seq;
    gpusim__stat_add(p->host->st.hmm_calls, 1);
    gpusim__op_start(op);
    return 0;
}
