/*
 * host/fault.c -- CPU page faults (Linux's handle_mm_fault) and CPU accesses of a range.
 *
 * gpusim__fault() resolves one access to one page, one step at a time: each pass looks at the
 * entry as it is now and does one thing (map the zero page, allocate and map a zeroed page or a
 * 2 MiB one, read a page into the page cache, swap a page in, break copy-on-write, split a 2 MiB
 * mapping), then looks again, until the access is allowed. Because it re-reads the entry every
 * pass, it can return OP_WAIT anywhere (an allocation in direct reclaim, an invalidation a mirror
 * made wait) and be called again later with nothing remembered except an open copy-on-write
 * (op->a[6], op->a[7]): the world may have changed meanwhile.
 *
 * Linux behaviours kept (mm/memory.c, mm/huge_memory.c):
 *   - a read of never-touched private anonymous memory maps the shared zero page (no allocation);
 *   - a write to a private page mapped by one process reuses it (wp_can_reuse_anon_folio); a
 *     write to one mapped by several, to the zero page or to a private file page copies it, after
 *     announcing CLEAR over the page (the old translation is replaced);
 *   - THP: a write fault in a THP-eligible, wholly unmapped 2 MiB range allocates a 2 MiB frame if a
 *     whole block is free (no direct reclaim for it: Linux's GFP_TRANSHUGE_LIGHT), else falls back
 *     to 4 KiB; a write to a shared 2 MiB mapping splits it (CLEAR over the 2 MiB) and copies 4 KiB;
 *   - installing an entry where there was none is not announced (Linux does not notify on
 *     fault-in: a mirror learns of new pages by faulting or validating).
 * Simplifications (docs/host.md): reads of THP-eligible memory map the 4 KiB zero page rather than
 * the huge zero page; no swap cache (a page swapped in is private to the faulting process; other
 * processes sharing the swap slot read their own copy).
 */
#include <string.h>

#include "host/host.h"

/* op->a[6]/a[7] hold an open copy-on-write: the new frame + 1 and the old entry. */

/* A pass did something: look at the entry again. Distinct from 0, OP_WAIT and errors. */
#define AGAIN       2
#define COW_NEW(op) ((op)->a[6])
#define COW_OLD(op) ((op)->a[7])

static bool access_ok(const hvma *v, bool write)
{
    if (write)
        return (v->flags & VM_WRITE) != 0;
    return (v->flags & (VM_READ | VM_WRITE)) != 0;
}

/* Sets up a newly allocated frame as anonymous, shmem or page cache and puts it on the LRU. */
static void frame_setup(gpusim_host_t *h, uint32_t pfn, uint16_t flags, uint32_t owner,
                        uint32_t index)
{
    hframe *f = frame_of(h, pfn);
    f->flags |= flags;
    f->owner = owner;
    f->index = index;
    gpusim__frame_account(h, pfn, +1);
    gpusim__lru_add(h, pfn, false);
}

/* Fills a file page's contents in data mode: a pattern of (file, index) so tests can check it. */
static int file_fill(gpusim_host_t *h, uint32_t pfn, const gpusim_file_t *file, uint64_t index)
{
    int rc;
    if (!h->data || file->shmem)
        return 0;
    rc = gpusim__data_touch(h, pfn);
    if (rc)
        return rc;
    for (uint32_t j = 0; j < HOST_PAGE_SIZE; j++)
        h->data[pfn][j] = (uint8_t)(file->id * 31u + (uint32_t)index * 7u + j);
    return 0;
}

/* Maps pfn at va (a 4 KiB entry): table and reverse-map room first, so mapping cannot fail. */
static int map_small(gpusim_process_t *p, uint64_t va, uint32_t pfn, bool writable, bool dirty)
{
    gpusim_host_t *h = p->host;
    pte_t *slot;
    if (gpusim__rmap_reserve(h, 2))
        return GPUSIM_ENOMEM;
    slot = gpusim__pt_alloc(h, &p->pt, va);
    if (!slot)
        return GPUSIM_ENOMEM;
    gpusim__map_frame(p, va, slot, pfn, writable, dirty, false);
    return 0;
}

/* Gets a frame for an operation; on failure nothing is held. */
static int alloc_frame(hop *op, unsigned order, uint32_t *pfn)
{
    return gpusim__op_alloc(op, order, pfn);
}

/* The page-cache frame of page `index` of `file` (reading or swapping it in). 0 and *pfn, OP_WAIT,
 * or an error. */
static int cache_get(hop *op, gpusim_file_t *file, uint64_t index, uint32_t *pfn)
{
    gpusim_host_t *h = op->h;
    uint64_t s = gpusim__file_slot(file, index);
    uint32_t nf;
    int rc;
    if (s && !(s & FILE_SLOT_SWAP)) {
        *pfn = (uint32_t)(s - 1);
        return 0;
    }
    /* The slot's chunk first: failing after the frame is set up would have to undo it. */
    rc = gpusim__file_slot_reserve(h, file, index);
    if (rc)
        return rc;
    rc = alloc_frame(op, 0, &nf);
    if (rc)
        return rc;
    if (s & FILE_SLOT_SWAP) {
        uint32_t slot = (uint32_t)(s & ~FILE_SLOT_SWAP);
        rc = gpusim__data_from_slot(h, nf, slot);
        if (rc) {
            gpusim__frame_free(h, nf);
            return rc;
        }
        gpusim__swap_put(h, slot);
        op->cost += h->p[HP_swap_in_4k];
        gpusim__stat_add(h->st.faults_swapin, 1);
        if (op->p)
            op->p->info.faults_major++;
    } else if (file->shmem) {
        op->cost += h->p[HP_fault_anon_4k];
    } else {
        rc = file_fill(h, nf, file, index);
        if (rc) {
            gpusim__frame_free(h, nf);
            return rc;
        }
        op->cost += h->p[HP_file_read_4k];
        gpusim__stat_add(h->st.faults_file, 1);
        if (op->p)
            op->p->info.faults_major++;
    }
    frame_setup(h, nf, file->shmem ? FF_SHMEM : 0, file->id, (uint32_t)index);
    frame_of(h, nf)->refcount = 1; /* the page cache's reference */
    gpusim__file_slot_set(file, index, (uint64_t)nf + 1);
    file->cached++;
    *pfn = nf;
    return 0;
}

/* Finishes an open copy-on-write after its CLEAR announcement returned. */
static int cow_apply(hop *op, uint64_t va)
{
    gpusim_process_t *p = op->p;
    gpusim_host_t *h = op->h;
    uint32_t nf = (uint32_t)(COW_NEW(op) - 1);
    pte_t *slot = gpusim__pt_lookup(&p->pt, va, NULL);
    int rc = 0;
    COW_NEW(op) = 0;
    if (!slot || *slot != COW_OLD(op)) {
        /* Changed while we waited (unmapped, reclaimed, already copied): start over. */
        gpusim__frame_free(h, nf);
        gpusim__op_invalidate_end(op);
        return AGAIN;
    }
    rc = gpusim__data_copy_frame(h, nf, PTE_PFN(*slot));
    if (rc == 0)
        rc = gpusim__rmap_reserve(h, 2);
    if (rc) {
        gpusim__frame_free(h, nf);
        gpusim__op_invalidate_end(op);
        return rc;
    }
    gpusim__unmap_entry(p, va, slot, false);
    frame_setup(h, nf, FF_ANON, 0, 0);
    gpusim__map_frame(p, va, slot, nf, true, true, false);
    gpusim__op_invalidate_end(op);
    op->cost += h->p[HP_cow_copy_4k] + gpusim__tlb_flush_cost(h, 1);
    gpusim__stat_add(h->st.faults_cow, 1);
    p->info.faults_cow++;
    return 0;
}

/* Starts a copy-on-write of the 4 KiB page at va whose entry is `old`. */
static int cow_start(hop *op, uint64_t va, pte_t old)
{
    gpusim_invalidator_t kind = op->kind;
    uint32_t nf;
    int rc = alloc_frame(op, 0, &nf);
    if (rc)
        return rc;
    COW_NEW(op) = (uint64_t)nf + 1;
    COW_OLD(op) = old;
    op->kind = GPUSIM_INVALIDATOR_COW_FAULT;
    rc = gpusim__op_invalidate(op, op->p, va, va + HOST_PAGE_SIZE, GPUSIM_NOTIFY_CLEAR, true);
    op->kind = kind;
    if (rc == OP_WAIT)
        return OP_WAIT;
    if (rc < 0) {
        COW_NEW(op) = 0;
        gpusim__frame_free(op->h, nf);
        return rc;
    }
    return cow_apply(op, va);
}

/* Splits the 2 MiB mapping at va after announcing CLEAR over it. 0, 1 (again), OP_WAIT, error. */
static int huge_split(hop *op, uint64_t va)
{
    uint64_t base = va & ~(HOST_HUGE_SIZE - 1);
    gpusim_invalidator_t kind = op->kind;
    int rc;
    if (!gpusim_invalidation_active(&op->inv)) {
        op->kind = GPUSIM_INVALIDATOR_COW_FAULT;
        rc = gpusim__op_invalidate(op, op->p, base, base + HOST_HUGE_SIZE, GPUSIM_NOTIFY_CLEAR,
                                   true);
        op->kind = kind;
        if (rc == OP_WAIT)
            return OP_WAIT;
        if (rc < 0)
            return rc;
    }
    rc = gpusim__split_huge(op->p, va);
    gpusim__op_invalidate_end(op);
    if (rc)
        return rc;
    op->cost += gpusim__tlb_flush_cost(op->h, HOST_HUGE_PAGES);
    return AGAIN;
}

/* A write to a present, write-protected 4 KiB entry. */
static int write_protected(hop *op, const hvma *v, uint64_t va, pte_t *slot)
{
    gpusim_host_t *h = op->h;
    uint32_t pfn = PTE_PFN(*slot);
    const hframe *f = frame_of(h, pfn);
    if ((v->flags & VM_SHARED) && pfn != HOST_ZERO_PFN) {
        *slot |= PTE_WRITE | PTE_DIRTY; /* shared: write-enable (write-notify not modelled) */
        op->cost += h->p[HP_fault_minor];
        op->p->info.faults_minor++;
        gpusim__stat_add(h->st.faults_minor, 1);
        return AGAIN;
    }
    if (pfn != HOST_ZERO_PFN && (f->flags & FF_ANON) && f->mapcount == 1) {
        *slot |= PTE_WRITE | PTE_DIRTY; /* exclusive anonymous page: reuse it */
        op->cost += h->p[HP_fault_minor];
        op->p->info.faults_minor++;
        gpusim__stat_add(h->st.faults_minor, 1);
        return AGAIN;
    }
    return cow_start(op, va, *slot);
}

/* No entry at va: fault a page in. */
static int fault_none(hop *op, const hvma *v, uint64_t va, bool write, pte_t *pmd)
{
    gpusim_process_t *p = op->p;
    gpusim_host_t *h = op->h;
    uint32_t pfn;
    int rc;
    if (v->file) {
        uint64_t index = vma_pgoff(v, va);
        bool shared = (v->flags & VM_SHARED) != 0;
        if (index >= v->file->npages)
            return GPUSIM_EFAULT; /* past the end of the file: SIGBUS */
        rc = cache_get(op, v->file, index, &pfn);
        if (rc)
            return rc;
        if (!shared && write) {
            /* A private write: copy the file page into an anonymous one (nothing was mapped). */
            uint32_t nf;
            rc = alloc_frame(op, 0, &nf);
            if (rc)
                return rc;
            rc = gpusim__data_copy_frame(h, nf, pfn);
            if (rc) {
                gpusim__frame_free(h, nf);
                return rc;
            }
            frame_setup(h, nf, FF_ANON, 0, 0);
            rc = map_small(p, va, nf, true, true);
            if (rc) {
                gpusim__lru_del(h, nf);
                gpusim__frame_free(h, nf);
                return rc;
            }
            op->cost += h->p[HP_cow_copy_4k];
            p->info.faults_cow++;
            gpusim__stat_add(h->st.faults_cow, 1);
            return AGAIN;
        }
        rc = map_small(p, va, pfn, shared && write, shared && write);
        if (rc)
            return rc;
        op->cost += h->p[HP_fault_minor];
        p->info.faults_minor++;
        gpusim__stat_add(h->st.faults_minor, 1);
        return AGAIN;
    }
    if (!write) {
        rc = map_small(p, va, HOST_ZERO_PFN, false, false);
        if (rc)
            return rc;
        op->cost += h->p[HP_fault_minor];
        p->info.faults_zero++;
        gpusim__stat_add(h->st.faults_zero, 1);
        return AGAIN;
    }
    if (gpusim__vma_thp_ok(h, v, va) && (!pmd || *pmd == 0)) {
        uint64_t base = va & ~(HOST_HUGE_SIZE - 1);
        /* Simulator memory first, so that nothing can fail once the frame is taken (a frame freed
         * before frame_setup accounted it would unbalance the THP figure). The tables would be
         * needed by the 4 KiB fallback as well. */
        pte_t *slot;
        if (gpusim__rmap_reserve(h, 2) || !(slot = gpusim__pt_alloc_pmd(h, &p->pt, base)))
            return GPUSIM_ENOMEM;
        rc = gpusim__frame_alloc(h, p->node, 9, true, false, &pfn);
        if (rc != ALLOC_MIN) {
            frame_setup(h, pfn, FF_ANON, 0, 0);
            gpusim__map_frame(p, base, slot, pfn, true, true, true);
            op->cost += h->p[HP_fault_anon_2m];
            p->info.faults_zero++;
            gpusim__stat_add(h->st.faults_zero_huge, 1);
            gpusim__stat_add(h->st.thp_fault_alloc, 1);
            return AGAIN;
        }
        gpusim__stat_add(h->st.thp_fault_fallback, 1);
        gpusim__khugepaged_enter(p); /* it may collapse the range later */
    }
    rc = alloc_frame(op, 0, &pfn);
    if (rc)
        return rc;
    frame_setup(h, pfn, FF_ANON, 0, 0);
    rc = map_small(p, va, pfn, true, true);
    if (rc) {
        gpusim__lru_del(h, pfn);
        gpusim__frame_free(h, pfn);
        return rc;
    }
    op->cost += h->p[HP_fault_anon_4k];
    p->info.faults_zero++;
    gpusim__stat_add(h->st.faults_zero, 1);
    return AGAIN;
}

/* A swap entry at va: read the page back into a new private frame. */
static int fault_swap(hop *op, const hvma *v, uint64_t va, pte_t *slot)
{
    gpusim_process_t *p = op->p;
    gpusim_host_t *h = op->h;
    uint32_t s = PTE_PFN(*slot), pfn;
    bool exclusive = h->slot_refs[s] == 1;
    int rc = alloc_frame(op, 0, &pfn);
    if (rc)
        return rc;
    rc = gpusim__data_from_slot(h, pfn, s);
    if (rc == 0)
        rc = gpusim__rmap_reserve(h, 2);
    if (rc) {
        gpusim__frame_free(h, pfn);
        return rc;
    }
    *slot = 0;
    gpusim__swap_put(h, s);
    p->swapents--;
    frame_setup(h, pfn, FF_ANON, 0, 0);
    /* Writable at once only if nobody else shares the slot (do_swap_page's exclusive case). */
    gpusim__map_frame(p, va, slot, pfn, exclusive && (v->flags & VM_WRITE), false, false);
    op->cost += h->p[HP_swap_in_4k];
    p->info.faults_major++;
    gpusim__stat_add(h->st.faults_swapin, 1);
    gpusim__stat_add(h->st.swap_in, 1);
    return AGAIN;
}

/* One pass: 0 = the access is allowed now, AGAIN = something was done (look again), OP_WAIT, or an
 * error. */
static int fault_pass(hop *op, uint64_t va, bool write)
{
    gpusim_process_t *p = op->p;
    gpusim_host_t *h = op->h;
    hvma *v = gpusim__vma_find(p, va);
    pte_t *pmd, *slot;
    if (COW_NEW(op))
        return cow_apply(op, va); /* resumed after the CLEAR announcement */
    if (gpusim_invalidation_active(&op->inv))
        return huge_split(op, va); /* resumed after the 2 MiB CLEAR announcement */
    if (!v || !access_ok(v, write))
        return GPUSIM_EFAULT;
    slot = gpusim__pt_lookup(&p->pt, va, &pmd);
    if (pte_migrating(h, slot ? *slot : (pmd ? *pmd : 0))) {
        /* A migration entry: wait until the move is over, then look again (migration_entry_wait).
         * The wait is charged as time, not as a fault. */
        gpusim__stat_add(h->st.migrate_waits, 1);
        gpusim__op_wait(op, &h->migration_done);
        return OP_WAIT;
    }
    if (!slot && pmd && *pmd) {
        /* A 2 MiB leaf. */
        hframe *head = frame_of(h, PTE_PFN(*pmd));
        head->flags |= FF_ACCESSED;
        if (!write || (*pmd & PTE_WRITE)) {
            if (write)
                *pmd |= PTE_DIRTY;
            return 0;
        }
        if (head->mapcount == 1) {
            *pmd |= PTE_WRITE | PTE_DIRTY;
            op->cost += h->p[HP_fault_minor];
            p->info.faults_minor++;
            gpusim__stat_add(h->st.faults_minor, 1);
            return AGAIN;
        }
        return huge_split(op, va);
    }
    if (!slot || *slot == 0)
        return fault_none(op, v, va, write, pmd);
    if (PTE_IS_SWAP(*slot))
        return fault_swap(op, v, va, slot);
    if (!PTE_IS_PRESENT(*slot))
        return GPUSIM_EFAULT; /* no other kind of entry persists (host.h) */
    if (PTE_PFN(*slot) != HOST_ZERO_PFN)
        frame_of(h, PTE_PFN(*slot))->flags |= FF_ACCESSED;
    if (!write)
        return 0;
    if (*slot & PTE_WRITE) {
        *slot |= PTE_DIRTY;
        /* Written again after MADV_FREE: the page must be kept (the PTE dirty bit in Linux), and
         * goes back to the anon lists. */
        {
            hframe *f = frame_of(h, PTE_PFN(*slot));
            if (f->flags & FF_LAZYFREE) {
                f->flags &= (uint16_t)~FF_LAZYFREE;
                if (f->flags & FF_LRU)
                    gpusim__lru_move(h, PTE_PFN(*slot), (f->flags & FF_ACTIVE) != 0);
            }
        }
        return 0;
    }
    return write_protected(op, v, va, slot);
}

int gpusim__fault(hop *op, uint64_t va, bool write)
{
    for (;;) {
        int rc = fault_pass(op, va, write);
        if (rc != AGAIN)
            return rc;
    }
}

/* ---- gpusim_process_access ------------------------------------------------------------------ */

/* The frame (4 KiB) behind va, which must be present. */
static uint32_t frame_at(const gpusim_process_t *p, uint64_t va, pte_t **entry)
{
    pte_t *pmd, *slot = gpusim__pt_lookup(&p->pt, va, &pmd);
    if (slot) {
        *entry = slot;
        return PTE_PFN(*slot);
    }
    *entry = pmd;
    return PTE_PFN(*pmd) + (uint32_t)((va >> HOST_PAGE_SHIFT) & (HOST_HUGE_PAGES - 1));
}

/* Copies between the caller's buffer and the page at va (data mode). */
static int access_copy(hop *op, uint64_t va, uint64_t lo, uint64_t n, bool write)
{
    gpusim_host_t *h = op->h;
    uint8_t *buf = (uint8_t *)op->ptr + (va + lo - op->a[0]);
    pte_t *entry;
    uint32_t pfn = frame_at(op->p, va, &entry);
    if (!write) {
        if (h->data[pfn])
            memcpy(buf, h->data[pfn] + lo, n);
        else
            memset(buf, 0, n);
        return 0;
    }
    if (gpusim__data_touch(h, pfn))
        return GPUSIM_ENOMEM;
    memcpy(h->data[pfn] + lo, buf, n);
    return 0;
}

static int access_step(hop *op)
{
    uint64_t start = op->a[0], end = op->a[0] + op->a[1];
    bool write = op->a[2] != 0;
    while (op->a[3] < end) {
        uint64_t va = op->a[3] & ~(HOST_PAGE_SIZE - 1);
        uint64_t lo = op->a[3] - va;
        uint64_t n = GPUSIM_MIN(HOST_PAGE_SIZE - lo, end - op->a[3]);
        int rc = gpusim__fault(op, va, write);
        if (rc == OP_WAIT)
            return STEP_BLOCKED;
        if (rc < 0) {
            op->status = rc;
            op->result = op->a[3] - start;
            return STEP_DONE;
        }
        if (op->ptr && op->h->data) {
            rc = access_copy(op, va, lo, n, write);
            if (rc) {
                op->status = rc;
                op->result = op->a[3] - start;
                return STEP_DONE;
            }
        }
        op->a[3] += n;
        if (op->a[3] < end && gpusim__op_should_yield(op))
            return STEP_YIELD;
    }
    op->result = op->a[1];
    return STEP_DONE;
}

int gpusim_process_access(gpusim_process_t *p, uint64_t addr, uint64_t len, gpusim_access_t kind,
                          void *buf, gpusim_host_cb cb, void *data)
{
    hop *op;
    if (!p || len == 0 || addr >= GPUSIM_HOST_VA_END || len > GPUSIM_HOST_VA_END - addr ||
        (kind != GPUSIM_ACCESS_READ && kind != GPUSIM_ACCESS_WRITE) || (buf && !p->host->data))
        return GPUSIM_EINVAL;
    if (p->state != GPUSIM_PROCESS_LIVE)
        return GPUSIM_ESRCH;
    op = gpusim__op_new(p->host, p, access_step, cb, data);
    if (!op)
        return GPUSIM_ENOMEM;
    op->a[0] = addr;
    op->a[1] = len;
    op->a[2] = kind == GPUSIM_ACCESS_WRITE;
    op->a[3] = addr;
    op->ptr = buf;
    gpusim__op_start(op);
    return 0;
}
