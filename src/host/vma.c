/*
 * host/vma.c -- a process's VMAs, files and shared anonymous objects.
 *
 * VMAs live in the process's interval tree (core/itree.c): they never overlap, so the tree is a
 * balanced search tree by start address whose overlap query finds the VMA containing an address in
 * O(log n). Adjacent compatible VMAs are merged, as Linux's vma_merge() does, so the VMA count (and
 * vm.max_map_count, over which mmap and splits fail with ENOMEM) behaves as in Linux.
 *
 * Files own their page cache: slot i is 0 (not cached), pfn + 1 (cached; the page cache holds one
 * reference on the frame), or FILE_SLOT_SWAP | slot for a swapped-out page of a shared anonymous
 * object (shmem). Slots live in chunks of FILE_CHUNK allocated on first use (host/host.h). Ordinary
 * files live as long as the host; shmem objects die with their last VMA.
 */
#include <string.h>

#include "host/host.h"
#include "core/alloc.h"

/* vm.mmap_min_addr and the top of the mmap area (below the stack), as on x86-64. */
#define MMAP_MIN_ADDR GPUSIM_HOST_VA_START
#define MMAP_BASE     UINT64_C(0x7f0000000000)

static hvma *node_vma(gpusim__itree_node *n)
{
    return n ? gpusim_container_of(n, hvma, node) : NULL;
}

hvma *gpusim__vma_find(const gpusim_process_t *p, uint64_t va)
{
    return node_vma(gpusim__itree_first(&p->vmas, va, va));
}

hvma *gpusim__vma_first(const gpusim_process_t *p, uint64_t start, uint64_t end)
{
    if (end <= start)
        return NULL;
    return node_vma(gpusim__itree_first(&p->vmas, start, end - 1));
}

hvma *gpusim__vma_next(const hvma *v, uint64_t start, uint64_t end)
{
    return node_vma(gpusim__itree_next(&v->node, start, end - 1));
}

hvma *gpusim__vma_new(gpusim_process_t *p, uint64_t start, uint64_t end, uint32_t flags,
                      gpusim_file_t *file, uint64_t pgoff)
{
    gpusim_host_t *h = p->host;
    hvma *v;
    if (p->nvmas >= h->p[HP_max_map_count])
        return NULL;
    v = gpusim__arena_zalloc(&h->world->arena, sizeof *v);
    if (!v)
        return NULL;
    v->node.start = start;
    v->node.last = end - 1;
    v->node.order = 0;
    v->flags = flags;
    v->file = file;
    v->pgoff = pgoff;
    if (file)
        file->mappers++;
    gpusim__itree_insert(&p->vmas, &v->node);
    p->nvmas++;
    return v;
}

void gpusim__vma_free(gpusim_process_t *p, hvma *v)
{
    gpusim__itree_remove(&p->vmas, &v->node);
    p->nvmas--;
    if (v->file)
        gpusim__file_release(p->host, v->file);
    gpusim__arena_free(&p->host->world->arena, v, sizeof *v);
}

hvma *gpusim__vma_split(gpusim_process_t *p, hvma *v, uint64_t addr)
{
    uint64_t end = vma_end(v);
    uint64_t pgoff = vma_pgoff(v, addr);
    hvma *hi;
    GPUSIM_ASSERT(addr > vma_start(v) && addr < end && addr % HOST_PAGE_SIZE == 0);
    /* Shrink first so the two never overlap in the tree; undo if the new VMA cannot be made. */
    gpusim__itree_remove(&p->vmas, &v->node);
    v->node.last = addr - 1;
    gpusim__itree_insert(&p->vmas, &v->node);
    hi = gpusim__vma_new(p, addr, end, v->flags, v->file, pgoff);
    if (!hi) {
        gpusim__itree_remove(&p->vmas, &v->node);
        v->node.last = end - 1;
        gpusim__itree_insert(&p->vmas, &v->node);
    }
    return hi;
}

static bool mergeable(const hvma *a, const hvma *b)
{
    if (vma_end(a) != vma_start(b) || a->flags != b->flags || a->file != b->file)
        return false;
    return !a->file || vma_pgoff(a, vma_end(a)) == b->pgoff;
}

hvma *gpusim__vma_merge(gpusim_process_t *p, hvma *v)
{
    hvma *prev = v->node.start > 0 ? gpusim__vma_find(p, v->node.start - 1) : NULL;
    hvma *next = gpusim__vma_find(p, vma_end(v));
    if (next && mergeable(v, next)) {
        uint64_t last = next->node.last;
        gpusim__vma_free(p, next);
        gpusim__itree_remove(&p->vmas, &v->node);
        v->node.last = last;
        gpusim__itree_insert(&p->vmas, &v->node);
    }
    if (prev && mergeable(prev, v)) {
        uint64_t last = v->node.last;
        gpusim__vma_free(p, v);
        gpusim__itree_remove(&p->vmas, &prev->node);
        prev->node.last = last;
        gpusim__itree_insert(&p->vmas, &prev->node);
        v = prev;
    }
    return v;
}

bool gpusim__vma_covered(const gpusim_process_t *p, uint64_t start, uint64_t end)
{
    uint64_t at = start;
    for (hvma *v = gpusim__vma_first(p, start, end); v; v = gpusim__vma_next(v, start, end)) {
        if (vma_start(v) > at)
            return false;
        at = vma_end(v);
        if (at >= end)
            return true;
    }
    return at >= end;
}

int gpusim__vma_gap(const gpusim_process_t *p, uint64_t hint, uint64_t len, uint64_t *addr)
{
    uint64_t best = 0, prev_end = MMAP_MIN_ADDR;
    bool found = false;
    if (len == 0 || len > MMAP_BASE - MMAP_MIN_ADDR)
        return GPUSIM_ENOMEM;
    if (hint && hint % HOST_PAGE_SIZE == 0 && hint >= MMAP_MIN_ADDR && hint <= GPUSIM_HOST_VA_END &&
        len <= GPUSIM_HOST_VA_END - hint && !gpusim__vma_first(p, hint, hint + len)) {
        *addr = hint;
        return 0;
    }
    /* Top-down: the highest gap below MMAP_BASE that fits, as the default x86-64 layout does. */
    for (gpusim__itree_node *n = gpusim__itree_min(&p->vmas);; n = gpusim__itree_successor(n)) {
        uint64_t gap_end = n ? GPUSIM_MIN(n->start, MMAP_BASE) : MMAP_BASE;
        if (gap_end > prev_end && gap_end - prev_end >= len) {
            best = gap_end - len;
            found = true;
        }
        if (!n || n->start >= MMAP_BASE)
            break;
        prev_end = GPUSIM_MAX(prev_end, n->last + 1);
    }
    if (!found)
        return GPUSIM_ENOMEM;
    *addr = best;
    return 0;
}

bool gpusim__vma_thp_ok(const gpusim_host_t *h, const hvma *v, uint64_t va)
{
    uint64_t base = va & ~(HOST_HUGE_SIZE - 1);
    if (!vma_is_anon(v) || (v->flags & VM_SHARED) || (v->flags & VM_NOHUGEPAGE))
        return false;
    if (h->cfg.thp == GPUSIM_THP_NEVER)
        return false;
    if (h->cfg.thp == GPUSIM_THP_MADVISE && !(v->flags & VM_HUGEPAGE))
        return false;
    return base >= vma_start(v) && base + HOST_HUGE_SIZE <= vma_end(v);
}

/* ---- files ---------------------------------------------------------------------------------- */

static size_t file_nchunks(uint64_t npages)
{
    return (size_t)((npages + FILE_CHUNK - 1) / FILE_CHUNK);
}

int gpusim__file_slot_reserve(gpusim_host_t *h, gpusim_file_t *f, uint64_t index)
{
    uint64_t **c = &f->chunks[index / FILE_CHUNK];
    if (!*c)
        *c = gpusim__arena_zalloc(&h->world->arena, FILE_CHUNK * sizeof(uint64_t));
    return *c ? 0 : GPUSIM_ENOMEM;
}

int gpusim__file_create(gpusim_host_t *h, uint64_t npages, bool shmem, gpusim_file_t **out)
{
    gpusim__arena *a = &h->world->arena;
    gpusim_file_t *f;
    if (h->nfiles == UINT32_MAX - 1)
        return GPUSIM_ENOSPC;
    /* A page-cache frame records its page index in 32 bits (hframe.index): an object of more
     * pages (a shared anonymous mapping beyond 16 TiB) could not be told apart from its start.
     * Refused as Linux refuses a mapping it cannot account. Found by fuzz_api. */
    if (npages > (uint64_t)UINT32_MAX + 1)
        return GPUSIM_ENOMEM;
    if (gpusim__arena_grow(a, (void **)&h->files, &h->files_cap_, (size_t)h->nfiles + 1,
                           sizeof *h->files))
        return GPUSIM_ENOMEM;
    f = gpusim__arena_zalloc(a, sizeof *f);
    if (!f)
        return GPUSIM_ENOMEM;
    f->chunks = gpusim__arena_zalloc(a, file_nchunks(npages) * sizeof(uint64_t *));
    if (!f->chunks) {
        gpusim__arena_free(a, f, sizeof *f);
        return GPUSIM_ENOMEM;
    }
    f->host = h;
    f->npages = npages;
    f->shmem = shmem;
    f->id = h->nfiles + 1;
    h->files[h->nfiles++] = f;
    *out = f;
    return 0;
}

/* Drops a file's page cache and swap slots and frees it (shmem objects only). */
static void file_destroy(gpusim_host_t *h, gpusim_file_t *f)
{
    gpusim__arena *a = &h->world->arena;
    size_t nchunks = file_nchunks(f->npages);
    /* Only the chunks that were used: O(pages used + npages / FILE_CHUNK), not O(npages). */
    for (uint64_t i = 0; i < f->npages; i++) {
        uint64_t s;
        if (!f->chunks[i / FILE_CHUNK]) {
            i |= FILE_CHUNK - 1; /* the loop's increment moves to the next chunk */
            continue;
        }
        s = gpusim__file_slot(f, i);
        if (s & FILE_SLOT_SWAP) {
            gpusim__swap_put(h, (uint32_t)(s & ~FILE_SLOT_SWAP));
        } else if (s) {
            uint32_t pfn = (uint32_t)(s - 1);
            hframe *fr = frame_of(h, pfn);
            if (fr->refcount > 1) {
                /* Still pinned: it leaves the page cache and is accounted nowhere until unpinned. */
                gpusim__frame_account(h, pfn, -1);
                fr->owner = 0;
                fr->flags &= (uint16_t)~FF_SHMEM;
                if (fr->flags & FF_LRU)
                    gpusim__lru_del(h, pfn);
            }
            gpusim__frame_put(h, pfn);
        }
        gpusim__file_slot_set(f, i, 0);
    }
    h->files[f->id - 1] = NULL;
    for (size_t c = 0; c < nchunks; c++)
        gpusim__arena_free(a, f->chunks[c], FILE_CHUNK * sizeof(uint64_t));
    gpusim__arena_free(a, f->chunks, nchunks * sizeof(uint64_t *));
    gpusim__arena_free(a, f, sizeof *f);
}

void gpusim__file_release(gpusim_host_t *h, gpusim_file_t *f)
{
    GPUSIM_ASSERT(f->mappers > 0);
    if (--f->mappers == 0 && f->shmem)
        file_destroy(h, f);
}

void gpusim__files_destroy(gpusim_host_t *h)
{
    for (uint32_t i = 0; i < h->nfiles; i++)
        if (h->files[i])
            file_destroy(h, h->files[i]);
    gpusim__arena_free(&h->world->arena, h->files, h->files_cap_ * sizeof *h->files);
}
