/*
 * host/mremap.c -- mremap (mm/mremap.c): shrink, grow in place, move.
 *
 * The call validates its arguments at once (unaligned, zero lengths, bad flags, FIXED without
 * MAYMOVE, overlapping FIXED ranges, ranges outside the address space: GPUSIM_EINVAL); what depends
 * on the address space is decided when the operation runs, as in mm.c, and arrives through the
 * callback: GPUSIM_EFAULT when [old_addr, old_addr + old_len) is not inside one VMA (checked before
 * anything is changed), GPUSIM_ENOMEM when it cannot grow in place and may not move, or there is no
 * room. The result is the mapping's (new) address.
 *
 *   shrink          unmaps the tail [old_addr + new_len, old_addr + old_len) as munmap does
 *                   (gpusim__unmap_range: UNMAP over the tail, 2 MiB mappings straddling its edges
 *                   split inside that announcement, as mm.c does);
 *   grow in place   when the old range ends its VMA and the space after it is free: the VMA is
 *                   extended (and merged with a compatible next VMA); no translation changes, so
 *                   nothing is announced;
 *   move (MAYMOVE)  to a free gap (an anonymous mapping whose new length is a multiple of 2 MiB gets
 *                   an address congruent to the old one modulo 2 MiB, as __get_unmapped_area() ->
 *                   thp_get_unmapped_area_vmflags() gives it, so its 2 MiB mappings move whole), or
 *                   with FIXED to new_addr after unmapping what is there (UNMAP over the new range)
 *                   and, if shrinking, the old tail (UNMAP over it). Then UNMAP is announced over
 *                   the old range, blockable, and inside it the entries move to the new addresses:
 *                   the same frames, counts and dirty bits; only the reverse-map keys change. 2 MiB
 *                   mappings that straddle the old range's edges, or would land misaligned, are
 *                   split first (inside the announcement: their translations outside the range do
 *                   not change).
 *
 * Differences from Linux: old_len 0 (duplicating a shared mapping) is refused with GPUSIM_EINVAL;
 * Linux's move announces UNMAP over the old range a second time when it unmaps the (by then empty)
 * old VMA, which gpusim does not repeat; MREMAP_DONTUNMAP is not modelled. Failures of memory for
 * page tables are found before any entry moves (Linux moves entries back instead).
 */
#include "host/host.h"

/* Phases (op->phase). a[0] old_addr, a[1] old_len, a[2] new_len, a[3] flags, a[4] new address. */
enum { M_START, M_SHRINK, M_TARGET, M_TARGET_SHRINK, M_MOVE, M_MOVE_DO };

static bool page_aligned(uint64_t v)
{
    return (v & (HOST_PAGE_SIZE - 1)) == 0;
}

/* GPUSIM_ESRCH if p died while the operation waited with an announcement open (the engine ends it
 * with ESRCH only between announcements), else 0. */
static int live(const gpusim_process_t *p)
{
    return p->state == GPUSIM_PROCESS_LIVE ? 0 : GPUSIM_ESRCH;
}

/* The VMA holding all of [addr, addr + len), or NULL. */
static hvma *old_vma(const gpusim_process_t *p, uint64_t addr, uint64_t len)
{
    hvma *v = gpusim__vma_find(p, addr);
    if (!v || len > vma_end(v) - addr)
        return NULL;
    return v;
}

/* Chooses where a moved mapping goes (get_unmapped_area with no hint). 0 or GPUSIM_ENOMEM. */
static int place(const gpusim_process_t *p, const hvma *v, uint64_t old, uint64_t new_len,
                 uint64_t *out)
{
    uint64_t at;
    if (vma_is_anon(v) && new_len % HOST_HUGE_SIZE == 0 && new_len <= GPUSIM_HOST_VA_END &&
        gpusim__vma_gap(p, 0, new_len + HOST_HUGE_SIZE, &at) == 0) {
        *out = at + ((old - at) & (HOST_HUGE_SIZE - 1));
        return 0;
    }
    return gpusim__vma_gap(p, 0, new_len, out);
}

/* Extends v (whose end is the old range's end) to new_end if that space is free. */
static bool grow_in_place(gpusim_process_t *p, hvma *v, uint64_t new_end)
{
    if (new_end > GPUSIM_HOST_VA_END || gpusim__vma_first(p, vma_end(v), new_end))
        return false;
    gpusim__itree_remove(&p->vmas, &v->node);
    v->node.last = new_end - 1;
    gpusim__itree_insert(&p->vmas, &v->node);
    gpusim__vma_merge(p, v);
    return true;
}

/* ---- moving entries ------------------------------------------------------------------------- */

typedef struct move_ctx {
    gpusim_process_t *p;
    uint64_t old, new;
    uint64_t entries, present;
} move_ctx;

/* pt_walk callback: moves one entry of the old range to its new address (tables exist there). */
static int move_entry(void *ctx, uint64_t va, pte_t *slot, bool huge)
{
    move_ctx *m = ctx;
    gpusim_process_t *p = m->p;
    gpusim_host_t *h = p->host;
    uint64_t dst = va - m->old + m->new;
    pte_t e = *slot;
    pte_t *d, *pmd;
    d = gpusim__pt_lookup(&p->pt, dst, &pmd);
    if (huge)
        d = pmd;
    GPUSIM_ASSERT(d && *d == 0);
    *slot = 0;
    *d = e;
    if (PTE_IS_PRESENT(e) && PTE_PFN(e) != HOST_ZERO_PFN) {
        int rc;
        /* A delete then an add consume no net pool room: the reservation made before the walk
         * keeps every add from having to grow the pool. */
        gpusim__rmap_del(h, PTE_PFN(e), RMAP_KEY(p->slot, va, huge));
        rc = gpusim__rmap_add(h, PTE_PFN(e), RMAP_KEY(p->slot, dst, huge));
        GPUSIM_ASSERT(rc == 0);
        (void)rc;
        m->present += huge ? HOST_HUGE_PAGES : 1;
    }
    m->entries++;
    return 0;
}

/* Creates the page tables the entries of [old, old + len) will need at new. 0 or ENOMEM. */
static int prepare_tables(gpusim_process_t *p, uint64_t old, uint64_t len, uint64_t new)
{
    gpusim_host_t *h = p->host;
    uint64_t end = old + len;
    for (uint64_t chunk = old & ~(HOST_HUGE_SIZE - 1); chunk < end; chunk += HOST_HUGE_SIZE) {
        pte_t *pmd;
        uint64_t s = GPUSIM_MAX(chunk, old), e = GPUSIM_MIN(chunk + HOST_HUGE_SIZE, end);
        (void)gpusim__pt_lookup(&p->pt, chunk, &pmd);
        if (!pmd || *pmd == 0)
            continue;
        if (!PMD_IS_TABLE(*pmd)) {
            if (!gpusim__pt_alloc_pmd(h, &p->pt, chunk - old + new))
                return GPUSIM_ENOMEM;
        } else if (!gpusim__pt_alloc(h, &p->pt, s - old + new) ||
                   !gpusim__pt_alloc(h, &p->pt, e - 1 - old + new)) {
            return GPUSIM_ENOMEM;
        }
    }
    return gpusim__rmap_reserve(h, 2);
}

/* Splits the 2 MiB mappings that cannot move whole: straddling an edge, or landing misaligned. */
static int split_for_move(gpusim_process_t *p, uint64_t old, uint64_t len, uint64_t new)
{
    int rc = 0;
    if (old & (HOST_HUGE_SIZE - 1))
        rc = gpusim__split_huge(p, old);
    if (rc == 0 && ((old + len) & (HOST_HUGE_SIZE - 1)))
        rc = gpusim__split_huge(p, old + len - 1);
    if (rc == 0 && ((new - old) & (HOST_HUGE_SIZE - 1)))
        for (uint64_t va = old & ~(HOST_HUGE_SIZE - 1); rc == 0 && va < old + len;
             va += HOST_HUGE_SIZE)
            rc = gpusim__split_huge(p, va);
    return rc;
}

/*
 * Moves [old, old + len) (inside one VMA) to [new, new + new_len) (free), with the UNMAP over the
 * old range open. Returns 0, or GPUSIM_ENOMEM with no translation changed.
 */
static int move_range(hop *op, uint64_t old, uint64_t len, uint64_t new, uint64_t new_len)
{
    gpusim_process_t *p = op->p;
    gpusim_host_t *h = op->h;
    hvma *v = old_vma(p, old, len), *nv, *hi;
    move_ctx m = {p, old, new, 0, 0};
    GPUSIM_ASSERT(v);
    /* The new VMA and the old one cut to exactly the old range: all that can fail first. */
    nv = gpusim__vma_new(p, new, new + new_len, v->flags, v->file, vma_pgoff(v, old));
    if (!nv)
        return GPUSIM_ENOMEM;
    if (vma_start(v) < old) {
        hi = gpusim__vma_split(p, v, old);
        if (!hi)
            goto undo_new;
        v = hi;
    }
    if (vma_end(v) > old + len && !gpusim__vma_split(p, v, old + len))
        goto undo_split;
    if (split_for_move(p, old, len, new))
        goto undo_split;
    if (prepare_tables(p, old, len, new)) {
        gpusim__pt_prune(h, &p->pt, new, new + new_len);
        goto undo_split;
    }
    gpusim__pt_walk(&p->pt, old, old + len, move_entry, &m);
    gpusim__pt_prune(h, &p->pt, old, old + len);
    gpusim__pt_prune(h, &p->pt, new, new + new_len); /* tables made for entries outside the range */
    gpusim__vma_free(p, v);
    gpusim__vma_merge(p, nv);
    op->cost += m.entries * h->p[HP_mremap_pte] + gpusim__tlb_flush_cost(h, m.present);
    return 0;

undo_split:
    /* nv first: it may be adjacent to (and mergeable with) the pieces of v. */
    gpusim__vma_free(p, nv);
    gpusim__vma_merge(p, v); /* the pieces were one VMA: they merge back */
    return GPUSIM_ENOMEM;
undo_new:
    gpusim__vma_free(p, nv);
    return GPUSIM_ENOMEM;
}

/* ---- the operation -------------------------------------------------------------------------- */

static int finish(hop *op, int status, uint64_t result)
{
    op->status = status;
    op->result = status ? 0 : result;
    return STEP_DONE;
}

static int mremap_step(hop *op)
{
    gpusim_process_t *p = op->p;
    uint64_t old = op->a[0], new_len = op->a[2];
    unsigned flags = (unsigned)op->a[3];
    bool fixed = (flags & GPUSIM_MREMAP_FIXED) != 0;
    hvma *v;
    int rc;
    for (;;) {
        uint64_t old_len = op->a[1], new = op->a[4];
        switch (op->phase) {
        case M_START:
            v = old_vma(p, old, old_len);
            if (!v)
                return finish(op, GPUSIM_EFAULT, 0);
            if (fixed) {
                op->phase = M_TARGET;
            } else if (new_len == old_len) {
                return finish(op, 0, old);
            } else if (new_len < old_len) {
                op->phase = M_SHRINK;
            } else if (old + old_len == vma_end(v) && grow_in_place(p, v, old + new_len)) {
                return finish(op, 0, old);
            } else if (flags & GPUSIM_MREMAP_MAYMOVE) {
                op->phase = M_MOVE;
            } else {
                return finish(op, GPUSIM_ENOMEM, 0);
            }
            break;
        case M_SHRINK:
            rc = gpusim__unmap_range(op, old + new_len, old + old_len);
            if (rc == OP_WAIT)
                return STEP_BLOCKED;
            return finish(op, rc ? rc : live(p), old);
        case M_TARGET: /* FIXED: what is at the new place goes first */
            rc = gpusim__unmap_range(op, new, new + new_len);
            if (rc == OP_WAIT)
                return STEP_BLOCKED;
            if (rc || (rc = live(p)) != 0)
                return finish(op, rc, 0);
            op->phase = M_TARGET_SHRINK;
            break;
        case M_TARGET_SHRINK: /* FIXED and shrinking: the old tail goes, the rest moves */
            if (old_len > new_len) {
                rc = gpusim__unmap_range(op, old + new_len, old + old_len);
                if (rc == OP_WAIT)
                    return STEP_BLOCKED;
                if (rc || (rc = live(p)) != 0)
                    return finish(op, rc, 0);
                op->a[1] = new_len;
            }
            op->phase = M_MOVE;
            break;
        case M_MOVE:
            v = old_vma(p, old, old_len);
            if (!v)
                return finish(op, GPUSIM_EFAULT, 0);
            if (!fixed) {
                rc = place(p, v, old, new_len, &op->a[4]);
                if (rc)
                    return finish(op, rc, 0);
            }
            op->phase = M_MOVE_DO;
            rc = gpusim__op_invalidate(op, p, old, old + old_len, GPUSIM_NOTIFY_UNMAP, true);
            if (rc == OP_WAIT)
                return STEP_BLOCKED;
            if (rc < 0)
                return finish(op, rc, 0);
            break;
        case M_MOVE_DO:
        default:
            /* The UNMAP is open; others may have run while it waited: look again. */
            v = old_vma(p, old, old_len);
            if (!v || live(p)) {
                gpusim__op_invalidate_end(op);
                return finish(op, live(p) ? live(p) : GPUSIM_EFAULT, 0);
            }
            if (gpusim__vma_first(p, new, new + new_len)) {
                if (fixed) { /* mapped again meanwhile: replace it again */
                    gpusim__op_invalidate_end(op);
                    op->phase = M_TARGET;
                    break;
                }
                rc = place(p, v, old, new_len, &op->a[4]);
                if (rc) {
                    gpusim__op_invalidate_end(op);
                    return finish(op, rc, 0);
                }
                new = op->a[4];
            }
            rc = move_range(op, old, old_len, new, new_len);
            gpusim__op_invalidate_end(op);
            return finish(op, rc, new);
        }
    }
}

int gpusim_process_mremap(gpusim_process_t *p, uint64_t old_addr, uint64_t old_len,
                          uint64_t new_len, unsigned flags, uint64_t new_addr, gpusim_host_cb cb,
                          void *data)
{
    bool fixed = (flags & GPUSIM_MREMAP_FIXED) != 0;
    hop *op;
    if (!p || (flags & ~(GPUSIM_MREMAP_MAYMOVE | GPUSIM_MREMAP_FIXED)) ||
        (fixed && !(flags & GPUSIM_MREMAP_MAYMOVE)) || !page_aligned(old_addr) || old_len == 0 ||
        new_len == 0 || old_len > GPUSIM_HOST_VA_END || new_len > GPUSIM_HOST_VA_END)
        return GPUSIM_EINVAL;
    old_len = (old_len + HOST_PAGE_SIZE - 1) & ~(HOST_PAGE_SIZE - 1);
    new_len = (new_len + HOST_PAGE_SIZE - 1) & ~(HOST_PAGE_SIZE - 1);
    if (old_addr >= GPUSIM_HOST_VA_END || old_len > GPUSIM_HOST_VA_END - old_addr)
        return GPUSIM_EINVAL;
    if (fixed && (!page_aligned(new_addr) || new_addr < GPUSIM_HOST_VA_START ||
                  new_addr >= GPUSIM_HOST_VA_END || new_len > GPUSIM_HOST_VA_END - new_addr ||
                  (old_addr < new_addr + new_len && new_addr < old_addr + old_len)))
        return GPUSIM_EINVAL;
    if (p->state != GPUSIM_PROCESS_LIVE)
        return GPUSIM_ESRCH;
    op = gpusim__op_new(p->host, p, mremap_step, cb, data);
    if (!op)
        return GPUSIM_ENOMEM;
    op->a[0] = old_addr;
    op->a[1] = old_len;
    op->a[2] = new_len;
    op->a[3] = flags;
    op->a[4] = fixed ? new_addr : 0;
    gpusim__op_start(op);
    return 0;
}
