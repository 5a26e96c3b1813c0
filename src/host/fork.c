/*
 * host/fork.c -- fork and exit of a simulated process (Linux's dup_mmap()/copy_page_range() in
 * kernel/fork.c and mm/memory.c, and exit_mmap() in mm/mmap.c).
 *
 * fork is an operation of the parent (invalidator GPUSIM_INVALIDATOR_FORK). The child is created
 * at the call and filled VMA by VMA; the operation may yield between VMAs. For each VMA of the
 * parent (clipped to what is not copied yet):
 *   1. the child gets a copy of the VMA (a file's mapper count grows, a shmem object is shared);
 *   2. pinned anonymous 2 MiB mappings are split (CLEAR announced over the 2 MiB first), so that
 *      their pinned pages can be copied one by one (Peter Xu, "mm/thp: Split huge pmds/puds if
 *      they're pinned when fork()");
 *   3. every entry is copied; before the first one whose write permission the parent loses,
 *      PROTECTION_PAGE is announced over the VMA (blockable), as copy_page_range() does for a COW
 *      mapping (Linux announces every COW mapping with anonymous pages; gpusim only those where a
 *      translation actually changes):
 *        shared mapping           the same frame, writable as in the parent, clean;
 *        private page-cache page  the same frame, read-only in both (it already is in the parent);
 *        private anonymous page   copy-on-write: the parent's entry loses write, the child maps
 *                                 the same frame read-only (2 MiB mappings stay 2 MiB);
 *        pinned anonymous page    copied for the child now (folio_needs_cow_for_dma()): the
 *                                 parent keeps its pinned page writable and untouched;
 *        zero page                the zero page;
 *        swap entry               shared (one more reference on the slot).
 * Then the announcement ends. The parent's TLB flush is charged once, at the end (dup_mmap's
 * flush_tlb_mm).
 *
 * Consistency while it runs. Linux holds the parent's mmap lock for writing during the whole fork;
 * here other operations of the parent may run whenever the fork yields or waits. The fork therefore
 * keeps no pointer across a wait: when it resumes it checks that the VMA it is copying is still the
 * one it began with (same range, flags, file, offset), and if not it discards what it put in the
 * child for that VMA and starts the VMA again. Entries already copied before a wait stay copied: the
 * child sees every page as the parent had it at some instant during the fork, which is all fork
 * promises a concurrent observer.
 *
 * While the fork runs the child is not eligible for the OOM killer (in Linux it is not on the task
 * list yet), and it must not be used (it is "usable once cb ran"): a fork that finds the child's
 * address space changed under it ends with GPUSIM_EBUSY rather than corrupt it. If the fork fails (ENOMEM for page tables, reverse-map room or a copy; ESRCH when the
 * parent dies), the announcement in progress is ended (the parent is consistent at every entry
 * boundary: write-protected pages that are not shared after all are reused by the next write fault,
 * as its map count is 1 again), and the child is torn down like an exiting process: RELEASE over its
 * address space (invalidator EXIT), teardown, DEAD.
 *
 * Exit (gpusim__exit_start) is an exempt operation with invalidator EXIT: the process becomes
 * EXITING at once (its other operations end with GPUSIM_ESRCH at their next step boundary), RELEASE
 * is announced over [0, 2^64) blockable (a mirror that must wait for its device delays the exit),
 * then everything is freed (pinned frames keep their pins and live on until unpinned), the
 * announcement ends, and the process is DEAD.
 */
#include "host/host.h"
#include "core/alloc.h"

/* ---- exit ----------------------------------------------------------------------------------- */

/*
 * The exit of q, run by op: RELEASE (may wait), teardown, DEAD. Returns 0 (done), OP_WAIT (call
 * again when resumed) or an error of the announcement (nothing was done: try again later).
 */
static int exit_run(hop *op, gpusim_process_t *q)
{
    gpusim_host_t *h = op->h;
    uint64_t pages;
    if (!gpusim_invalidation_active(&op->inv)) {
        gpusim_invalidator_t kind = op->kind;
        int rc;
        op->kind = GPUSIM_INVALIDATOR_EXIT;
        rc = gpusim__op_invalidate(op, q, 0, UINT64_MAX, GPUSIM_NOTIFY_RELEASE, true);
        op->kind = kind;
        if (rc == OP_WAIT)
            return OP_WAIT;
        if (rc < 0)
            return rc;
    }
    pages = q->rss_anon + q->rss_file + q->rss_shmem;
    gpusim__process_teardown(q);
    gpusim__op_invalidate_end(op);
    q->state = GPUSIM_PROCESS_DEAD;
    op->cost += gpusim__tlb_flush_cost(h, pages);
    gpusim__host_memory_freed(h);
    return 0;
}

static int exit_step(hop *op)
{
    int rc = exit_run(op, op->p);
    if (rc == OP_WAIT)
        return STEP_BLOCKED;
    if (rc < 0) {
        /* No room to announce: the address space must not vanish unannounced, so try again a
         * quantum later (memory may have come back). */
        op->cost += op->h->p[HP_op_quantum];
        return STEP_YIELD;
    }
    return STEP_DONE;
}

int gpusim__exit_start(gpusim_process_t *p, gpusim_host_cb cb, void *data)
{
    hop *op;
    if (p->state != GPUSIM_PROCESS_LIVE)
        return GPUSIM_ESRCH;
    op = gpusim__op_new(p->host, p, exit_step, cb, data);
    if (!op)
        return GPUSIM_ENOMEM;
    op->exempt = true;
    op->kind = GPUSIM_INVALIDATOR_EXIT;
    p->state = GPUSIM_PROCESS_EXITING;
    gpusim__op_start(op);
    return 0;
}

int gpusim_process_exit(gpusim_process_t *p, gpusim_host_cb cb, void *data)
{
    if (!p)
        return GPUSIM_EINVAL;
    return gpusim__exit_start(p, cb, data);
}

/* ---- fork ----------------------------------------------------------------------------------- */

/* Phases (op->phase). */
enum { F_VMA, F_SPLIT, F_PROTECT, F_COPY, F_FAIL, F_RELEASE };

/* A phase function's "go on with the new phase" (the others return STEP_*). */
#define F_AGAIN (-1)

typedef struct fork_ctx {
    gpusim_process_t *child;
    bool unkillable;   /* the child's configured oom_unkillable, restored at the end */
    bool in_vma;       /* the child holds a copy of the VMA being copied */
    bool want_alloc;   /* a frame for a pinned page is being allocated (op_alloc said OP_WAIT) */
    bool thp;          /* a THP-eligible VMA was copied: the child goes to khugepaged */
    int err;           /* the failure being unwound (F_FAIL, F_RELEASE) */
    uint32_t prealloc; /* a frame for the next pinned page, + 1; 0 = none */
    uint64_t next;     /* where the next VMA to copy starts (or is looked for) */
    /* The parent VMA being copied, as it was when its copy began. */
    uint64_t pstart, ppgoff;
    uint32_t vflags;
    gpusim_file_t *vfile;
    uint64_t vstart, vend; /* the part of it being copied */
    uint64_t cur;          /* next address to copy in it */
    uint64_t split_va;     /* the 2 MiB mapping being split while its CLEAR is open */
    uint64_t wp_pages;     /* parent pages write-protected: one TLB flush at the end */
} fork_ctx;

/* Codes of the copy walk (copy_entry) besides 0. */
enum { W_NEED_ALLOC = 1, W_NEED_SPLIT, W_NEED_PROTECT, W_ENOMEM, W_BUSY };

static bool huge_pinned(const gpusim_host_t *h, uint32_t head)
{
    for (uint32_t i = 0; i < HOST_HUGE_PAGES; i++)
        if (frame_of(h, head + i)->pincount)
            return true;
    return false;
}

static bool is_anon_frame(const gpusim_host_t *h, uint32_t pfn)
{
    return pfn != HOST_ZERO_PFN && (frame_of(h, pfn)->flags & FF_ANON) != 0;
}

/* Whether the child's copy of the current VMA is still as the fork made it (the child must not be
 * used before the fork completes; this keeps a misuse from corrupting it). */
static bool child_vma_same(const fork_ctx *c)
{
    const hvma *cv = gpusim__vma_find(c->child, c->vstart);
    return cv && vma_start(cv) == c->vstart && vma_end(cv) == c->vend && cv->flags == c->vflags;
}

/* Whether the parent's VMA at vstart is still the one whose copy began. */
static bool vma_same(const gpusim_process_t *p, const fork_ctx *c)
{
    const hvma *v = gpusim__vma_find(p, c->vstart);
    return v && vma_start(v) == c->pstart && vma_end(v) == c->vend && v->flags == c->vflags &&
           v->file == c->vfile && v->pgoff == c->ppgoff;
}

static void drop_prealloc(gpusim_host_t *h, fork_ctx *c)
{
    if (c->prealloc) {
        gpusim__frame_free(h, c->prealloc - 1);
        c->prealloc = 0;
    }
}

/* Sets up the failure path. */
static int fork_fail(hop *op, fork_ctx *c, int err)
{
    c->err = err;
    op->phase = F_FAIL;
    return F_AGAIN;
}

/* Discards the child's copy of the current VMA and starts that part of the address space again. */
static void restart_vma(hop *op, fork_ctx *c)
{
    gpusim_process_t *child = c->child;
    hvma *cv;
    if (gpusim_invalidation_active(&op->inv))
        gpusim__op_invalidate_end(op);
    drop_prealloc(op->h, c);
    gpusim__zap_range(child, c->vstart, c->vend);
    cv = gpusim__vma_find(child, c->vstart);
    GPUSIM_ASSERT(cv && vma_start(cv) == c->vstart && vma_end(cv) == c->vend);
    if (cv)
        gpusim__vma_free(child, cv);
    c->in_vma = false;
    c->next = c->vstart;
    op->phase = F_VMA;
}

/* Gets the frame for the next pinned page. 0, OP_WAIT (call again when resumed) or an error. */
static int get_prealloc(hop *op, fork_ctx *c)
{
    uint32_t pfn;
    int rc;
    c->want_alloc = true;
    rc = gpusim__op_alloc(op, 0, &pfn);
    if (rc == OP_WAIT)
        return OP_WAIT;
    c->want_alloc = false;
    if (rc < 0)
        return rc;
    c->prealloc = pfn + 1;
    return 0;
}

/* ---- copying one entry ---------------------------------------------------------------------- */

/* A pinned anonymous page: the child gets its own copy now (copy_present_page()). */
static int copy_pinned(hop *op, fork_ctx *c, uint64_t va, pte_t e)
{
    gpusim_host_t *h = op->h;
    pte_t *cslot;
    uint32_t nf;
    hframe *f;
    if (!c->prealloc)
        return W_NEED_ALLOC;
    nf = c->prealloc - 1;
    if (gpusim__rmap_reserve(h, 2) || !(cslot = gpusim__pt_alloc(h, &c->child->pt, va)) ||
        gpusim__data_copy_frame(h, nf, PTE_PFN(e)))
        return W_ENOMEM;
    c->prealloc = 0;
    f = frame_of(h, nf);
    f->flags |= FF_ANON;
    gpusim__frame_account(h, nf, +1);
    gpusim__lru_add(h, nf, false);
    /* As copy_present_page(): dirty, and writable if the VMA is. */
    gpusim__map_frame(c->child, va, cslot, nf, (c->vflags & VM_WRITE) != 0, true, false);
    op->cost += h->p[HP_cow_copy_4k] + h->p[HP_fork_pte_4k];
    c->cur = va + HOST_PAGE_SIZE;
    return 0;
}

static int copy_huge(hop *op, fork_ctx *c, uint64_t va, pte_t *slot)
{
    gpusim_host_t *h = op->h;
    bool shared = (c->vflags & VM_SHARED) != 0;
    pte_t e = *slot;
    uint32_t head = PTE_PFN(e);
    pte_t *cslot;
    bool wp;
    if (va < c->cur || (is_anon_frame(h, head) && huge_pinned(h, head)))
        return W_NEED_SPLIT; /* pinned, or partly copied already (collapsed while we waited) */
    wp = !shared && (e & PTE_WRITE);
    if (wp && !gpusim_invalidation_active(&op->inv))
        return W_NEED_PROTECT;
    if (gpusim__rmap_reserve(h, 2) || !(cslot = gpusim__pt_alloc_pmd(h, &c->child->pt, va)))
        return W_ENOMEM;
    /* The 2 MiB lie wholly in this VMA, whose range the child had nothing in. */
    GPUSIM_ASSERT(*cslot == 0);
    if (wp) {
        *slot &= ~(pte_t)PTE_WRITE;
        c->wp_pages += HOST_HUGE_PAGES;
    }
    gpusim__map_frame(c->child, va, cslot, head, shared && (e & PTE_WRITE),
                      !shared && (e & PTE_DIRTY), true);
    op->cost += h->p[HP_fork_pmd_2m];
    c->cur = va + HOST_HUGE_SIZE;
    return 0;
}

/* Whether the child has an entry (or, for a 2 MiB copy, a table) where the fork copies to: it
 * was used before the fork ended (a fault installed a page while the fork waited). */
static bool child_used(const gpusim_process_t *child, uint64_t va, bool huge)
{
    pte_t *pmd, *pte = gpusim__pt_lookup(&child->pt, va, &pmd);
    if (pte && !huge)
        return *pte != 0;
    return pmd && *pmd != 0;
}

/* pt_walk callback over [cur, vend) of the parent: copies one entry into the child. */
static int copy_entry(void *ctx, uint64_t va, pte_t *slot, bool huge)
{
    hop *op = ctx;
    fork_ctx *c = op->priv;
    gpusim_host_t *h = op->h;
    gpusim_process_t *child = c->child;
    bool shared = (c->vflags & VM_SHARED) != 0;
    pte_t e = *slot;
    pte_t *cslot;
    uint32_t pfn;
    bool cow;
    if ((!huge || va >= c->cur) && child_used(child, va, huge)) /* (va < cur: split first) */
        return W_BUSY;
    if (huge)
        return copy_huge(op, c, va, slot);
    if (PTE_IS_SWAP(e)) {
        if (!(cslot = gpusim__pt_alloc(h, &child->pt, va)))
            return W_ENOMEM;
        gpusim__swap_get(h, PTE_PFN(e));
        *cslot = e;
        child->swapents++;
        op->cost += h->p[HP_fork_pte_4k];
        c->cur = va + HOST_PAGE_SIZE;
        return 0;
    }
    if (!PTE_IS_PRESENT(e)) { /* no other kind of entry outlives a step (host.h) */
        c->cur = va + HOST_PAGE_SIZE;
        return 0;
    }
    pfn = PTE_PFN(e);
    cow = !shared && is_anon_frame(h, pfn);
    if (cow && frame_of(h, pfn)->pincount > 0)
        return copy_pinned(op, c, va, e);
    if (cow && (e & PTE_WRITE) && !gpusim_invalidation_active(&op->inv))
        return W_NEED_PROTECT;
    if (gpusim__rmap_reserve(h, 2) || !(cslot = gpusim__pt_alloc(h, &child->pt, va)))
        return W_ENOMEM;
    if (cow && (e & PTE_WRITE)) {
        *slot &= ~(pte_t)PTE_WRITE;
        c->wp_pages++;
    }
    /* As copy_present_pte(): a shared mapping keeps its write permission and is clean in the child;
     * a private one is read-only there and keeps its dirty bit. */
    gpusim__map_frame(child, va, cslot, pfn, shared && (e & PTE_WRITE), !shared && (e & PTE_DIRTY),
                      false);
    op->cost += h->p[HP_fork_pte_4k];
    c->cur = va + HOST_PAGE_SIZE;
    return 0;
}

/* ---- phases --------------------------------------------------------------------------------- */

static bool thp_eligible(const gpusim_host_t *h, const fork_ctx *c)
{
    if (c->vfile || (c->vflags & (VM_SHARED | VM_NOHUGEPAGE)) || h->cfg.thp == GPUSIM_THP_NEVER)
        return false;
    return h->cfg.thp == GPUSIM_THP_ALWAYS || (c->vflags & VM_HUGEPAGE);
}

/* F_VMA: begins the next VMA, or finishes the fork. */
static int begin_vma(hop *op, fork_ctx *c)
{
    gpusim_process_t *p = op->p, *child = c->child;
    gpusim_host_t *h = op->h;
    hvma *v = gpusim__vma_first(p, c->next, GPUSIM_HOST_VA_END);
    uint64_t s;
    if (!v) {
        drop_prealloc(h, c);
        child->oom_unkillable = c->unkillable;
        op->cost += gpusim__tlb_flush_cost(h, c->wp_pages);
        if (c->thp)
            gpusim__khugepaged_enter(child);
        op->status = 0;
        op->result = 0;
        return STEP_DONE;
    }
    /* A VMA that grew down over what is copied already (merged while we waited) is clipped. */
    s = GPUSIM_MAX(vma_start(v), c->next);
    c->pstart = vma_start(v);
    c->ppgoff = v->pgoff;
    c->vflags = v->flags;
    c->vfile = v->file;
    c->vstart = s;
    c->vend = vma_end(v);
    c->cur = s;
    if (gpusim__vma_first(child, s, c->vend))
        return fork_fail(op, c, GPUSIM_EBUSY); /* the child was used before the fork ended */
    if (!gpusim__vma_new(child, s, c->vend, v->flags, v->file, vma_pgoff(v, s)))
        return fork_fail(op, c, GPUSIM_ENOMEM);
    c->in_vma = true;
    op->phase = F_SPLIT;
    return F_AGAIN;
}

/* After the last entry of a VMA (F_COPY): closes it; the next VMA follows (F_VMA). */
static int end_vma(hop *op, fork_ctx *c)
{
    hvma *cv;
    if (gpusim_invalidation_active(&op->inv))
        gpusim__op_invalidate_end(op);
    drop_prealloc(op->h, c);
    cv = gpusim__vma_find(c->child, c->vstart);
    if (cv)
        gpusim__vma_merge(c->child, cv); /* a clipped part joins the part copied before it */
    if (thp_eligible(op->h, c) && c->vend - c->vstart >= HOST_HUGE_SIZE)
        c->thp = true;
    c->in_vma = false;
    c->next = c->vend;
    op->phase = F_VMA;
    return gpusim__op_should_yield(op) ? STEP_YIELD : F_AGAIN;
}

typedef struct find_ctx {
    const gpusim_host_t *h;
    uint64_t cur;
    uint64_t va;
} find_ctx;

/* A 2 MiB mapping that must be split before copying: pinned anonymous, or straddling cur. */
static int find_split(void *ctx, uint64_t va, pte_t *slot, bool huge)
{
    find_ctx *f = ctx;
    uint32_t head = PTE_PFN(*slot);
    if (!huge || !PTE_IS_PRESENT(*slot))
        return 0;
    if (va < f->cur || (is_anon_frame(f->h, head) && huge_pinned(f->h, head))) {
        f->va = va;
        return 1;
    }
    return 0;
}

/* Splits the 2 MiB mapping at c->split_va (its CLEAR is open) and ends the announcement. */
static int split_now(hop *op, fork_ctx *c)
{
    gpusim_process_t *p = op->p;
    pte_t *pmd;
    int rc = 0;
    (void)gpusim__pt_lookup(&p->pt, c->split_va, &pmd);
    if (pmd && PTE_IS_PRESENT(*pmd) && (*pmd & PTE_HUGE)) {
        rc = gpusim__split_huge(p, c->split_va);
        if (rc == 0)
            op->cost += gpusim__tlb_flush_cost(op->h, HOST_HUGE_PAGES);
    }
    gpusim__op_invalidate_end(op);
    return rc;
}

/* F_SPLIT: splits, one by one, the 2 MiB mappings that cannot be copied whole. */
static int split_phase(hop *op, fork_ctx *c)
{
    gpusim_process_t *p = op->p;
    int rc;
    if (gpusim_invalidation_active(&op->inv)) { /* resumed after a CLEAR that waited */
        rc = split_now(op, c);
        if (rc)
            return fork_fail(op, c, rc);
    }
    for (;;) {
        find_ctx f = {op->h, c->cur, 0};
        if (!gpusim__pt_walk(&p->pt, c->cur & ~(HOST_HUGE_SIZE - 1), c->vend, find_split, &f)) {
            op->phase = F_COPY;
            return F_AGAIN;
        }
        c->split_va = f.va;
        rc = gpusim__op_invalidate(op, p, f.va, f.va + HOST_HUGE_SIZE, GPUSIM_NOTIFY_CLEAR, true);
        if (rc == OP_WAIT)
            return STEP_BLOCKED;
        if (rc < 0)
            return fork_fail(op, c, rc);
        rc = split_now(op, c);
        if (rc)
            return fork_fail(op, c, rc);
    }
}

/*
 * F_PROTECT: the copy met a private writable entry with no announcement open: PROTECTION_PAGE over
 * the VMA (the part being copied) before the first parent entry loses write. Entries copied before
 * it changed nothing in the parent.
 */
static int protect_phase(hop *op, fork_ctx *c)
{
    if (!gpusim_invalidation_active(&op->inv)) {
        int rc = gpusim__op_invalidate(op, op->p, c->vstart, c->vend, GPUSIM_NOTIFY_PROTECTION_PAGE,
                                       true);
        if (rc == OP_WAIT)
            return STEP_BLOCKED; /* resumed in this phase with the announcement open */
        if (rc < 0)
            return fork_fail(op, c, rc);
    }
    op->phase = F_COPY;
    return F_AGAIN;
}

/* F_COPY: copies the entries of [cur, vend). */
static int copy_phase(hop *op, fork_ctx *c)
{
    int rc = gpusim__pt_walk(&op->p->pt, c->cur, c->vend, copy_entry, op);
    switch (rc) {
    case 0:
        return end_vma(op, c);
    case W_NEED_ALLOC:
        rc = get_prealloc(op, c);
        if (rc == OP_WAIT)
            return STEP_BLOCKED;
        return rc < 0 ? fork_fail(op, c, rc) : F_AGAIN;
    case W_NEED_SPLIT:
        /* One announcement at a time: end this one; PROTECTION_PAGE is made again if needed. */
        if (gpusim_invalidation_active(&op->inv))
            gpusim__op_invalidate_end(op);
        op->phase = F_SPLIT;
        return F_AGAIN;
    case W_NEED_PROTECT:
        op->phase = F_PROTECT;
        return F_AGAIN;
    case W_BUSY:
        return fork_fail(op, c, GPUSIM_EBUSY); /* the child was used before the fork ended */
    default:
        return fork_fail(op, c, GPUSIM_ENOMEM);
    }
}

/* F_FAIL / F_RELEASE: undoes a failed fork by tearing the child down. */
static int fail_phase(hop *op, fork_ctx *c)
{
    int rc;
    if (op->phase == F_FAIL) {
        if (gpusim_invalidation_active(&op->inv))
            gpusim__op_invalidate_end(op);
        drop_prealloc(op->h, c);
        c->child->oom_unkillable = c->unkillable;
        if (c->child->state != GPUSIM_PROCESS_LIVE) { /* someone else is ending it */
            op->status = c->err;
            return STEP_DONE;
        }
        c->child->state = GPUSIM_PROCESS_EXITING;
        op->phase = F_RELEASE;
    }
    rc = exit_run(op, c->child);
    if (rc == OP_WAIT)
        return STEP_BLOCKED;
    if (rc < 0) {
        op->cost += op->h->p[HP_op_quantum]; /* as exit_step */
        return STEP_YIELD;
    }
    op->status = c->err;
    return STEP_DONE;
}

/*
 * What every resumption of a copying phase checks first: a pending allocation is taken up again
 * (op_alloc must be called again after OP_WAIT), both processes must still be live, and the VMA
 * being copied must not have changed meanwhile. 0, OP_WAIT or an error.
 */
static int fork_resume(hop *op, fork_ctx *c)
{
    if (c->want_alloc) {
        int rc = get_prealloc(op, c);
        if (rc)
            return rc;
    }
    if (op->p->state != GPUSIM_PROCESS_LIVE || c->child->state != GPUSIM_PROCESS_LIVE)
        return GPUSIM_ESRCH;
    if (c->in_vma && !child_vma_same(c))
        return GPUSIM_EBUSY;
    if (c->in_vma && !vma_same(op->p, c))
        restart_vma(op, c);
    return 0;
}

static int fork_step(hop *op)
{
    fork_ctx *c = op->priv;
    int rc = F_AGAIN;
    if (op->phase < F_FAIL) {
        rc = fork_resume(op, c);
        if (rc == OP_WAIT)
            return STEP_BLOCKED;
        rc = rc < 0 ? fork_fail(op, c, rc) : F_AGAIN;
    }
    while (rc == F_AGAIN) {
        switch (op->phase) {
        case F_VMA:
            rc = begin_vma(op, c);
            break;
        case F_SPLIT:
            rc = split_phase(op, c);
            break;
        case F_PROTECT:
            rc = protect_phase(op, c);
            break;
        case F_COPY:
            rc = copy_phase(op, c);
            break;
        default:
            rc = fail_phase(op, c);
            break;
        }
    }
    return rc;
}

static void fork_fini(hop *op)
{
    gpusim__arena_free(&op->h->world->arena, op->priv, sizeof(fork_ctx));
    op->priv = NULL;
}

int gpusim_process_fork(gpusim_process_t *p, const gpusim_process_config_t *cfg,
                        gpusim_process_t **child, gpusim_host_cb cb, void *data)
{
    gpusim_host_t *h;
    fork_ctx *c;
    hop *op;
    int rc;
    if (!p || !cfg || !child)
        return GPUSIM_EINVAL;
    if (p->state != GPUSIM_PROCESS_LIVE)
        return GPUSIM_ESRCH;
    h = p->host;
    op = gpusim__op_new(h, p, fork_step, cb, data);
    if (!op)
        return GPUSIM_ENOMEM;
    c = gpusim__arena_zalloc(&h->world->arena, sizeof *c);
    if (!c) {
        gpusim__op_discard(op);
        return GPUSIM_ENOMEM;
    }
    op->priv = c;
    op->fini = fork_fini;
    rc = gpusim__process_create(h, cfg, &c->child);
    if (rc) {
        gpusim__op_discard(op);
        return rc;
    }
    c->unkillable = cfg->oom_unkillable;
    c->child->oom_unkillable = true; /* not on the task list until the fork is done */
    /* It finishes even if the parent dies meanwhile: it must take the child down itself. */
    op->exempt = true;
    op->kind = GPUSIM_INVALIDATOR_FORK;
    op->cost = h->p[HP_fork_base];
    *child = c->child;
    gpusim__op_start(op);
    return 0;
}
