/*
 * host/zap.c -- mapping and unmapping pages in a process's page table, keeping every count that
 * depends on a translation in step: the frame's reference and map counts, the reverse map, the
 * process's RSS and swap counters, swap-slot references. All page-table changes of the host go
 * through these functions, so the checker's "counts equal what the page tables say" holds by
 * construction.
 */
#include "host/host.h"

void gpusim__rss(gpusim_process_t *p, const hframe *f, int64_t npages)
{
    if (f->flags & FF_ANON)
        p->rss_anon += (uint64_t)npages;
    else if (f->flags & FF_SHMEM)
        p->rss_shmem += (uint64_t)npages;
    else
        p->rss_file += (uint64_t)npages;
}

void gpusim__map_frame(gpusim_process_t *p, uint64_t va, pte_t *slot, uint32_t pfn, bool writable,
                       bool dirty, bool huge)
{
    gpusim_host_t *h = p->host;
    hframe *f = frame_of(h, pfn);
    int rc;
    GPUSIM_ASSERT(*slot == 0 || PTE_IS_SWAP(*slot) == false);
    *slot = PTE_MK(pfn, PTE_PRESENT | (writable ? PTE_WRITE : 0) | (dirty ? PTE_DIRTY : 0) |
                            (huge ? PTE_HUGE : 0));
    if (pfn == HOST_ZERO_PFN)
        return; /* the zero page is not counted (as Linux's special PTEs) */
    f->refcount++;
    f->mapcount++;
    f->flags |= FF_ACCESSED;
    rc = gpusim__rmap_add(h, pfn, RMAP_KEY(p->slot, va, huge));
    GPUSIM_ASSERT(rc == 0); /* reserved by the caller */
    (void)rc;
    gpusim__rss(p, f, huge ? HOST_HUGE_PAGES : 1);
}

uint64_t gpusim__unmap_entry(gpusim_process_t *p, uint64_t va, pte_t *slot, bool huge)
{
    gpusim_host_t *h = p->host;
    pte_t e = *slot;
    *slot = 0;
    if (PTE_IS_PRESENT(e)) {
        uint32_t pfn = PTE_PFN(e);
        hframe *f;
        if (pfn == HOST_ZERO_PFN)
            return 1;
        f = frame_of(h, pfn);
        if (e & PTE_DIRTY)
            f->flags |= FF_DIRTY;
        f->mapcount--;
        gpusim__rmap_del(h, pfn, RMAP_KEY(p->slot, va, huge));
        gpusim__rss(p, f, -(int64_t)(huge ? HOST_HUGE_PAGES : 1));
        gpusim__frame_put(h, pfn);
        return huge ? HOST_HUGE_PAGES : 1;
    }
    if (PTE_IS_SWAP(e)) {
        gpusim__swap_put(h, PTE_PFN(e));
        p->swapents--;
    }
    return 0;
}

typedef struct zap_ctx {
    gpusim_process_t *p;
    uint64_t present;
} zap_ctx;

static int zap_one(void *ctx, uint64_t va, pte_t *slot, bool huge)
{
    zap_ctx *z = ctx;
    z->present += gpusim__unmap_entry(z->p, va, slot, huge);
    return 0;
}

uint64_t gpusim__zap_range(gpusim_process_t *p, uint64_t start, uint64_t end)
{
    zap_ctx z = {p, 0};
    gpusim__pt_walk(&p->pt, start, end, zap_one, &z);
    gpusim__pt_prune(p->host, &p->pt, start, end);
    return z.present;
}

/* ---- splitting 2 MiB mappings --------------------------------------------------------------- */

#define SPLIT_MAX_MAPPERS 64

typedef struct split_ctx {
    gpusim_host_t *h;
    uint64_t keys[SPLIT_MAX_MAPPERS];  /* the 2 MiB mappings of the frame */
    ptable *tables[SPLIT_MAX_MAPPERS]; /* preallocated level-0 tables, one per mapping */
    unsigned n;
} split_ctx;

static int collect_mapper(void *ctx, uint64_t key)
{
    split_ctx *s = ctx;
    if (s->n == SPLIT_MAX_MAPPERS)
        return 1;
    s->keys[s->n++] = key;
    return 0;
}

/* Replaces the 2 MiB leaf of one mapping by a table of 512 entries to the same frames. */
static void split_mapper(split_ctx *s, uint64_t key, ptable *t)
{
    gpusim_host_t *h = s->h;
    gpusim_process_t *q = gpusim__proc(h, RMAP_SLOT(key));
    uint64_t va = RMAP_VA(key);
    pte_t *pmd;
    pte_t e;
    uint32_t head;
    int rc;
    (void)gpusim__pt_lookup(&q->pt, va, &pmd);
    GPUSIM_ASSERT(pmd && PTE_IS_PRESENT(*pmd) && (*pmd & PTE_HUGE));
    e = *pmd;
    head = PTE_PFN(e);
    for (uint32_t i = 0; i < HOST_HUGE_PAGES; i++) {
        t->e[i] = PTE_MK(head + i, PTE_PRESENT | (e & (PTE_WRITE | PTE_DIRTY)));
        if (i) {
            rc = gpusim__rmap_add(h, head + i, RMAP_KEY(q->slot, va + i * HOST_PAGE_SIZE, false));
            GPUSIM_ASSERT(rc == 0);
            (void)rc;
        }
    }
    /* The head's huge reverse mapping becomes a 4 KiB one. */
    gpusim__rmap_del(h, head, key);
    rc = gpusim__rmap_add(h, head, RMAP_KEY(q->slot, va, false));
    GPUSIM_ASSERT(rc == 0);
    (void)rc;
    *pmd = (uint64_t)(uintptr_t)t;
    q->pt.tables++;
}

int gpusim__split_huge(gpusim_process_t *p, uint64_t va)
{
    gpusim_host_t *h = p->host;
    gpusim__arena *a = &h->world->arena;
    split_ctx s = {h, {0}, {0}, 0};
    pte_t *pmd;
    uint32_t head;
    (void)gpusim__pt_lookup(&p->pt, va, &pmd);
    if (!pmd || !PTE_IS_PRESENT(*pmd) || !(*pmd & PTE_HUGE))
        return 0;
    head = PTE_PFN(*pmd);
    if (gpusim__rmap_each(h, head, collect_mapper, &s))
        return GPUSIM_ENOMEM; /* more than 64 processes map one THP: not supported */
    GPUSIM_ASSERT(s.n >= 1);
    /* Everything that can fail first: tables and reverse-map room. */
    if (gpusim__rmap_reserve(h, (size_t)s.n * (HOST_HUGE_PAGES + 2)))
        return GPUSIM_ENOMEM;
    for (unsigned i = 0; i < s.n; i++) {
        s.tables[i] = gpusim__arena_zalloc(a, sizeof(ptable));
        if (!s.tables[i]) {
            while (i-- > 0)
                gpusim__arena_free(a, s.tables[i], sizeof(ptable));
            return GPUSIM_ENOMEM;
        }
    }
    /* The frame first (512 independent frames with the head's counts), then each mapping. */
    gpusim__frame_split(h, head);
    for (unsigned i = 0; i < s.n; i++)
        split_mapper(&s, s.keys[i], s.tables[i]);
    gpusim__stat_add(h->st.thp_split, 1);
    return 0;
}

gpusim_time_t gpusim__tlb_flush_cost(const gpusim_host_t *h, uint64_t pages)
{
    uint64_t n;
    if (pages == 0)
        return 0;
    n = GPUSIM_MIN(pages, h->p[HP_tlb_flush_full_pages]);
    return n * h->p[HP_tlb_flush_per_page] + h->p[HP_tlb_shootdown];
}
