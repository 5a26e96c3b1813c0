/*
 * host/mm.c -- the address-space system calls: mmap, munmap, mprotect, madvise.
 *
 * Each call validates its arguments at once (an invalid call changes nothing) and then runs as an
 * operation (op.c). What depends on the address space (is the range mapped, is there room) is
 * decided when the operation runs, so its errors arrive through the callback.
 *
 * Announcements (docs/host.md has the full table):
 *   munmap, mmap(MAP_FIXED) over a mapping        UNMAP over the whole range, once
 *   mprotect                                      PROTECTION_VMA over each VMA part changed
 *   madvise(DONTNEED), madvise(FREE)              CLEAR over each VMA part
 *   madvise(PAGEOUT)                              CLEAR per page reclaimed (reclaim.c)
 *   madvise(HUGEPAGE/NOHUGEPAGE)                  nothing: translations do not change
 * all blockable, by the calling process's thread (GPUSIM_INVALIDATOR_SYSCALL). A 2 MiB mapping
 * straddling an edge is split inside the announcement: its translations outside the range do not
 * change, so nothing more is announced for them.
 */
#include "host/host.h"

/* ---- shared pieces -------------------------------------------------------------------------- */

static bool page_aligned(uint64_t v)
{
    return (v & (HOST_PAGE_SIZE - 1)) == 0;
}

/* Rounds len up to pages; false if it overflows or leaves the address space from addr. */
static bool range_ok(uint64_t addr, uint64_t *len)
{
    uint64_t l = *len;
    if (l == 0 || l > GPUSIM_HOST_VA_END)
        return false;
    l = (l + HOST_PAGE_SIZE - 1) & ~(HOST_PAGE_SIZE - 1);
    if (addr >= GPUSIM_HOST_VA_END || l > GPUSIM_HOST_VA_END - addr)
        return false;
    *len = l;
    return true;
}

/* Makes VMA boundaries at start and end (splitting VMAs that straddle them). 0 or ENOMEM. */
static int split_edges(gpusim_process_t *p, uint64_t start, uint64_t end)
{
    hvma *v = gpusim__vma_find(p, start);
    if (v && vma_start(v) < start && !gpusim__vma_split(p, v, start))
        return GPUSIM_ENOMEM;
    v = end > 0 ? gpusim__vma_find(p, end - 1) : NULL;
    if (v && vma_end(v) > end && !gpusim__vma_split(p, v, end))
        return GPUSIM_ENOMEM;
    return 0;
}

/* Splits 2 MiB mappings straddling start or end. 0 or ENOMEM. */
static int split_huge_edges(gpusim_process_t *p, uint64_t start, uint64_t end)
{
    int rc = 0;
    if (start & (HOST_HUGE_SIZE - 1))
        rc = gpusim__split_huge(p, start);
    if (rc == 0 && (end & (HOST_HUGE_SIZE - 1)))
        rc = gpusim__split_huge(p, end - 1);
    return rc;
}

/*
 * Unmaps [start, end) for op: announces UNMAP (if anything is mapped), splits the edges, clears the
 * entries and frees the VMAs. Returns 0, OP_WAIT (call again when resumed) or an error.
 */
int gpusim__unmap_range(hop *op, uint64_t start, uint64_t end)
{
    gpusim_process_t *p = op->p;
    hvma *v, *next;
    uint64_t present;
    int rc;
    if (!gpusim_invalidation_active(&op->inv)) {
        if (!gpusim__vma_first(p, start, end))
            return 0;
        rc = gpusim__op_invalidate(op, p, start, end, GPUSIM_NOTIFY_UNMAP, true);
        if (rc == OP_WAIT)
            return OP_WAIT;
        if (rc < 0)
            return rc;
    }
    rc = split_edges(p, start, end);
    if (rc == 0)
        rc = split_huge_edges(p, start, end);
    if (rc) {
        gpusim__op_invalidate_end(op);
        return rc;
    }
    present = gpusim__zap_range(p, start, end);
    for (v = gpusim__vma_first(p, start, end); v; v = next) {
        next = gpusim__vma_next(v, start, end);
        gpusim__vma_free(p, v);
    }
    gpusim__op_invalidate_end(op);
    op->cost += gpusim__tlb_flush_cost(op->h, present);
    return 0;
}

/* ---- mmap ----------------------------------------------------------------------------------- */

static uint32_t prot_flags(unsigned prot)
{
    return ((prot & GPUSIM_PROT_READ) ? VM_READ : 0) | ((prot & GPUSIM_PROT_WRITE) ? VM_WRITE : 0) |
           ((prot & GPUSIM_PROT_EXEC) ? VM_EXEC : 0);
}

/* a[0] addr (0 until placed), a[1] len, a[2] prot, a[3] flags, a[4] offset, a[5] populate cursor,
 * ptr the file. */
static int mmap_step(hop *op)
{
    gpusim_process_t *p = op->p;
    gpusim_host_t *h = op->h;
    unsigned flags = (unsigned)op->a[3];
    uint64_t len = op->a[1];
    int rc;
    switch (op->phase) {
    case 0: /* place it */
        if (flags & (GPUSIM_MAP_FIXED | GPUSIM_MAP_FIXED_NOREPLACE)) {
            if ((flags & GPUSIM_MAP_FIXED_NOREPLACE) &&
                gpusim__vma_first(p, op->a[0], op->a[0] + len)) {
                op->status = GPUSIM_EEXIST;
                return STEP_DONE;
            }
        } else {
            uint64_t at;
            rc = gpusim__vma_gap(p, op->a[0], len, &at);
            if (rc) {
                op->status = rc;
                return STEP_DONE;
            }
            op->a[0] = at;
        }
        op->phase = 1;
        /* fall through */
    case 1: /* MAP_FIXED replaces what is there */
        rc = gpusim__unmap_range(op, op->a[0], op->a[0] + len);
        if (rc == OP_WAIT)
            return STEP_BLOCKED;
        if (rc) {
            op->status = rc;
            return STEP_DONE;
        }
        op->phase = 2;
        /* fall through */
    case 2: { /* the VMA */
        gpusim_file_t *file = op->ptr;
        uint32_t vflags = prot_flags((unsigned)op->a[2]);
        uint64_t pgoff = op->a[4] / HOST_PAGE_SIZE;
        hvma *v;
        if (flags & GPUSIM_MAP_SHARED) {
            vflags |= VM_SHARED;
            if (!file) { /* shared anonymous memory: a shmem object of its own */
                rc = gpusim__file_create(h, len / HOST_PAGE_SIZE, true, &file);
                if (rc) {
                    op->status = rc;
                    return STEP_DONE;
                }
                pgoff = 0;
            }
        }
        v = gpusim__vma_new(p, op->a[0], op->a[0] + len, vflags, file, pgoff);
        if (!v) {
            if (file && file->shmem && file->mappers == 0) {
                file->mappers = 1;
                gpusim__file_release(h, file);
            }
            op->status = GPUSIM_ENOMEM;
            return STEP_DONE;
        }
        v = gpusim__vma_merge(p, v);
        if (h->cfg.thp == GPUSIM_THP_ALWAYS && vma_is_anon(v) && !(vflags & VM_SHARED) &&
            vma_end(v) - vma_start(v) >= HOST_HUGE_SIZE)
            gpusim__khugepaged_enter(p);
        op->result = op->a[0];
        op->a[5] = op->a[0];
        op->phase = 3;
    }
        /* fall through */
    case 3: /* MAP_POPULATE: write faults for private writable mappings, read faults otherwise */
        if (!(flags & GPUSIM_MAP_POPULATE))
            return STEP_DONE;
        while (op->a[5] < op->a[0] + len) {
            bool write = !(flags & GPUSIM_MAP_SHARED) && (op->a[2] & GPUSIM_PROT_WRITE);
            rc = gpusim__fault(op, op->a[5], write);
            if (rc == OP_WAIT)
                return STEP_BLOCKED;
            if (rc == GPUSIM_EFAULT && !(op->a[2] & (GPUSIM_PROT_READ | GPUSIM_PROT_WRITE)))
                return STEP_DONE; /* PROT_NONE: nothing to populate */
            if (rc) {
                op->status = rc;
                return STEP_DONE;
            }
            op->a[5] += HOST_PAGE_SIZE;
            if (gpusim__op_should_yield(op))
                return STEP_YIELD;
        }
        return STEP_DONE;
    default:
        return STEP_DONE;
    }
}

int gpusim_process_mmap(gpusim_process_t *p, uint64_t addr, uint64_t len, unsigned prot,
                        unsigned flags, gpusim_file_t *file, uint64_t offset, gpusim_host_cb cb,
                        void *data)
{
    unsigned share = flags & (GPUSIM_MAP_PRIVATE | GPUSIM_MAP_SHARED);
    bool fixed = (flags & (GPUSIM_MAP_FIXED | GPUSIM_MAP_FIXED_NOREPLACE)) != 0;
    hop *op;
    if (!p || (share != GPUSIM_MAP_PRIVATE && share != GPUSIM_MAP_SHARED) ||
        (flags & ~(GPUSIM_MAP_PRIVATE | GPUSIM_MAP_SHARED | GPUSIM_MAP_FIXED |
                   GPUSIM_MAP_FIXED_NOREPLACE | GPUSIM_MAP_POPULATE)) ||
        (prot & ~(GPUSIM_PROT_READ | GPUSIM_PROT_WRITE | GPUSIM_PROT_EXEC)))
        return GPUSIM_EINVAL;
    /* Below vm.mmap_min_addr is outside the address space for placement, as for an unprivileged
     * Linux process (the reverse map could not even record a page at 0: its key would be 0). */
    if (fixed && (!page_aligned(addr) || addr < GPUSIM_HOST_VA_START || !range_ok(addr, &len)))
        return GPUSIM_EINVAL;
    if (!fixed && !range_ok(0, &len))
        return GPUSIM_EINVAL;
    if (file &&
        (file->host != p->host || !page_aligned(offset) || offset > file->npages * HOST_PAGE_SIZE ||
         len > file->npages * HOST_PAGE_SIZE - offset))
        return GPUSIM_EINVAL;
    if (!file && offset != 0)
        return GPUSIM_EINVAL;
    if (p->state != GPUSIM_PROCESS_LIVE)
        return GPUSIM_ESRCH;
    op = gpusim__op_new(p->host, p, mmap_step, cb, data);
    if (!op)
        return GPUSIM_ENOMEM;
    op->a[0] = fixed ? addr : (page_aligned(addr) ? addr : 0);
    op->a[1] = len;
    op->a[2] = prot;
    op->a[3] = flags;
    op->a[4] = offset;
    op->ptr = file;
    gpusim__op_start(op);
    return 0;
}

/* ---- munmap --------------------------------------------------------------------------------- */

static int munmap_step(hop *op)
{
    int rc = gpusim__unmap_range(op, op->a[0], op->a[0] + op->a[1]);
    if (rc == OP_WAIT)
        return STEP_BLOCKED;
    op->status = rc;
    return STEP_DONE;
}

/* Validates (addr, len) for munmap/mprotect/madvise and makes the operation. */
static int range_call(gpusim_process_t *p, uint64_t addr, uint64_t len, int (*step)(hop *),
                      gpusim_host_cb cb, void *data, hop **out)
{
    hop *op;
    if (!p || !page_aligned(addr) || !range_ok(addr, &len))
        return GPUSIM_EINVAL;
    if (p->state != GPUSIM_PROCESS_LIVE)
        return GPUSIM_ESRCH;
    op = gpusim__op_new(p->host, p, step, cb, data);
    if (!op)
        return GPUSIM_ENOMEM;
    op->a[0] = addr;
    op->a[1] = len;
    op->a[3] = addr; /* cursor */
    *out = op;
    return 0;
}

int gpusim_process_munmap(gpusim_process_t *p, uint64_t addr, uint64_t len, gpusim_host_cb cb,
                          void *data)
{
    hop *op;
    int rc = range_call(p, addr, len, munmap_step, cb, data, &op);
    if (rc == 0)
        gpusim__op_start(op);
    return rc;
}

/* ---- per-VMA-part operations: mprotect, madvise --------------------------------------------- */

/*
 * The shape shared by mprotect and madvise: walk the VMA parts of [a[0], a[0] + a[1]) from the
 * cursor a[3]; for each part [s, e) call `apply` (which may announce and wait). A hole makes the
 * status GPUSIM_ENOMEM: mprotect stops there (Linux leaves earlier parts changed), madvise goes on
 * to the next VMA and reports ENOMEM at the end, as Linux does.
 */
typedef int (*part_fn)(hop *op, hvma *v, uint64_t s, uint64_t e);

/* Ends the part's announcement if it is open (the part will not be applied). */
static void parts_close(hop *op)
{
    if (gpusim_invalidation_active(&op->inv))
        gpusim__op_invalidate_end(op);
}

static int parts_step(hop *op, part_fn apply, bool stop_at_hole)
{
    gpusim_process_t *p = op->p;
    uint64_t end = op->a[0] + op->a[1];
    while (op->a[3] < end) {
        uint64_t s = op->a[3], e;
        hvma *v;
        int rc;
        if (p->state != GPUSIM_PROCESS_LIVE) {
            /* It died while a part waited with its announcement open (the engine ends an
             * operation only between announcements): not a hole, ESRCH. */
            parts_close(op);
            op->status = GPUSIM_ESRCH;
            return STEP_DONE;
        }
        v = gpusim__vma_first(p, s, end);
        if (!v) {
            parts_close(op);
            op->status = GPUSIM_ENOMEM;
            return STEP_DONE;
        }
        if (vma_start(v) > s) {
            /* A hole -- perhaps made by another thread's munmap while this part waited with its
             * announcement open: close it; the next part announces its own range. */
            parts_close(op);
            op->status = GPUSIM_ENOMEM;
            if (stop_at_hole)
                return STEP_DONE;
            op->a[3] = s = vma_start(v);
        }
        e = GPUSIM_MIN(vma_end(v), end);
        rc = apply(op, v, s, e);
        if (rc == OP_WAIT)
            return STEP_BLOCKED;
        if (rc < 0) {
            op->status = rc;
            return STEP_DONE;
        }
        op->a[3] = e;
        if (op->a[3] < end && gpusim__op_should_yield(op))
            return STEP_YIELD;
    }
    return STEP_DONE;
}

/* Splits the VMA at s and e so that [s, e) is one VMA; returns it (or NULL on ENOMEM). */
static hvma *isolate(gpusim_process_t *p, uint64_t s, uint64_t e)
{
    if (split_edges(p, s, e))
        return NULL;
    return gpusim__vma_find(p, s);
}

/* mprotect ------------------------------------------------------------------------------------- */

typedef struct wp_ctx {
    uint64_t changed;
} wp_ctx;

static int write_protect(void *ctx, uint64_t va, pte_t *slot, bool huge)
{
    wp_ctx *c = ctx;
    (void)va;
    if (PTE_IS_PRESENT(*slot) && (*slot & PTE_WRITE)) {
        *slot &= ~(pte_t)PTE_WRITE;
        c->changed += huge ? HOST_HUGE_PAGES : 1;
    }
    return 0;
}

static int mprotect_part(hop *op, hvma *v, uint64_t s, uint64_t e)
{
    gpusim_process_t *p = op->p;
    uint32_t want = prot_flags((unsigned)op->a[2]);
    wp_ctx c = {0};
    int rc;
    if (!gpusim_invalidation_active(&op->inv)) {
        if ((v->flags & (VM_READ | VM_WRITE | VM_EXEC)) == want)
            return 0; /* nothing changes here */
        rc = gpusim__op_invalidate(op, p, s, e, GPUSIM_NOTIFY_PROTECTION_VMA, true);
        if (rc == OP_WAIT)
            return OP_WAIT;
        if (rc < 0)
            return rc;
    }
    v = isolate(p, s, e);
    if (!v || split_huge_edges(p, s, e)) {
        gpusim__op_invalidate_end(op);
        return GPUSIM_ENOMEM;
    }
    /* Entries lose write at once; gaining it is left to write faults (COW must still break). */
    if (!(want & VM_WRITE))
        gpusim__pt_walk(&p->pt, s, e, write_protect, &c);
    v->flags = (v->flags & ~(uint32_t)(VM_READ | VM_WRITE | VM_EXEC)) | want;
    gpusim__vma_merge(p, v);
    gpusim__op_invalidate_end(op);
    op->cost += gpusim__tlb_flush_cost(op->h, c.changed);
    return 0;
}

static int mprotect_step(hop *op)
{
    return parts_step(op, mprotect_part, true);
}

int gpusim_process_mprotect(gpusim_process_t *p, uint64_t addr, uint64_t len, unsigned prot,
                            gpusim_host_cb cb, void *data)
{
    hop *op;
    int rc;
    if (prot & ~(GPUSIM_PROT_READ | GPUSIM_PROT_WRITE | GPUSIM_PROT_EXEC))
        return GPUSIM_EINVAL;
    rc = range_call(p, addr, len, mprotect_step, cb, data, &op);
    if (rc)
        return rc;
    op->a[2] = prot;
    gpusim__op_start(op);
    return 0;
}

/* madvise -------------------------------------------------------------------------------------- */

static int dontneed_part(hop *op, hvma *v, uint64_t s, uint64_t e)
{
    gpusim_process_t *p = op->p;
    uint64_t present;
    int rc;
    (void)v;
    if (!gpusim_invalidation_active(&op->inv)) {
        rc = gpusim__op_invalidate(op, p, s, e, GPUSIM_NOTIFY_CLEAR, true);
        if (rc == OP_WAIT)
            return OP_WAIT;
        if (rc < 0)
            return rc;
    }
    if (split_huge_edges(p, s, e)) {
        gpusim__op_invalidate_end(op);
        return GPUSIM_ENOMEM;
    }
    present = gpusim__zap_range(p, s, e);
    gpusim__op_invalidate_end(op);
    op->cost += gpusim__tlb_flush_cost(op->h, present);
    return 0;
}

typedef struct lazy_ctx {
    gpusim_host_t *h;
    uint64_t marked;
} lazy_ctx;

static int mark_lazyfree(void *ctx, uint64_t va, pte_t *slot, bool huge)
{
    lazy_ctx *c = ctx;
    hframe *f;
    (void)va;
    if (huge || !PTE_IS_PRESENT(*slot) || PTE_PFN(*slot) == HOST_ZERO_PFN)
        return 0;
    f = frame_of(c->h, PTE_PFN(*slot));
    if (!(f->flags & FF_ANON) || f->mapcount != 1)
        return 0; /* shared with a fork: Linux leaves it alone too */
    *slot &= ~(pte_t)PTE_DIRTY;
    f->flags = (uint16_t)((f->flags & ~(FF_DIRTY | FF_ACCESSED)) | FF_LAZYFREE);
    if (f->flags & FF_LRU)
        gpusim__lru_move(c->h, PTE_PFN(*slot), false); /* to the inactive file list (lru_kind) */
    c->marked++;
    return 0;
}

static int free_part(hop *op, hvma *v, uint64_t s, uint64_t e)
{
    gpusim_process_t *p = op->p;
    lazy_ctx c = {op->h, 0};
    int rc;
    if (!vma_is_anon(v) || (v->flags & VM_SHARED))
        return GPUSIM_EINVAL;
    if (!gpusim_invalidation_active(&op->inv)) {
        rc = gpusim__op_invalidate(op, p, s, e, GPUSIM_NOTIFY_CLEAR, true);
        if (rc == OP_WAIT)
            return OP_WAIT;
        if (rc < 0)
            return rc;
    }
    /* Huge mappings are split so their pages can be freed one by one (Linux splits them too). */
    if (split_huge_edges(p, s, e)) {
        gpusim__op_invalidate_end(op);
        return GPUSIM_ENOMEM;
    }
    for (uint64_t va = (s + HOST_HUGE_SIZE - 1) & ~(HOST_HUGE_SIZE - 1); va + HOST_HUGE_SIZE <= e;
         va += HOST_HUGE_SIZE)
        if (gpusim__split_huge(p, va)) {
            gpusim__op_invalidate_end(op);
            return GPUSIM_ENOMEM;
        }
    gpusim__pt_walk(&p->pt, s, e, mark_lazyfree, &c);
    gpusim__op_invalidate_end(op);
    op->cost += gpusim__tlb_flush_cost(op->h, c.marked);
    return 0;
}

static int hugepage_part(hop *op, hvma *v, uint64_t s, uint64_t e)
{
    bool on = op->a[2] == GPUSIM_MADV_HUGEPAGE;
    (void)v;
    v = isolate(op->p, s, e);
    /* A 2 MiB mapping may not straddle a VMA edge (Linux: vma_adjust_trans_huge). */
    if (!v || split_huge_edges(op->p, s, e))
        return GPUSIM_ENOMEM;
    v = gpusim__vma_find(op->p, s);
    v->flags =
        (v->flags & ~(uint32_t)(VM_HUGEPAGE | VM_NOHUGEPAGE)) | (on ? VM_HUGEPAGE : VM_NOHUGEPAGE);
    v = gpusim__vma_merge(op->p, v);
    if (on && op->h->cfg.thp != GPUSIM_THP_NEVER)
        gpusim__khugepaged_enter(op->p);
    return 0;
}

static int madvise_step(hop *op)
{
    switch ((gpusim_madvise_t)op->a[2]) {
    case GPUSIM_MADV_DONTNEED:
        return parts_step(op, dontneed_part, false);
    case GPUSIM_MADV_FREE:
        return parts_step(op, free_part, false);
    case GPUSIM_MADV_HUGEPAGE:
    case GPUSIM_MADV_NOHUGEPAGE:
        return parts_step(op, hugepage_part, false);
    case GPUSIM_MADV_PAGEOUT:
    default: {
        /* reclaim.c does the work; a hole is reported at the end, as for the other advices. */
        int rc;
        if (op->a[5] == 0)
            op->a[5] = gpusim__vma_covered(op->p, op->a[0], op->a[0] + op->a[1]) ? 1 : 2;
        rc = gpusim__pageout_step(op);
        if (rc == STEP_DONE && op->status == 0 && op->a[5] == 2)
            op->status = GPUSIM_ENOMEM;
        return rc;
    }
    }
}

int gpusim_process_madvise(gpusim_process_t *p, uint64_t addr, uint64_t len,
                           gpusim_madvise_t advice, gpusim_host_cb cb, void *data)
{
    hop *op;
    int rc;
    if ((unsigned)advice > GPUSIM_MADV_NOHUGEPAGE)
        return GPUSIM_EINVAL;
    rc = range_call(p, addr, len, madvise_step, cb, data, &op);
    if (rc)
        return rc;
    op->a[2] = (uint64_t)advice;
    gpusim__op_start(op);
    return 0;
}
