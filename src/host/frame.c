/*
 * host/frame.c -- physical memory: frames, pageblocks and free lists, watermarks, LRU lists, the
 * reverse map, swap slots and data mode (the structures are described in host/host.h).
 *
 * Invariants (checked by check.c):
 *   - a FREE frame is either in a fresh pageblock (metadata never initialised since the block was
 *     last wholly free) or on its partly used block's free list; block.nfree counts them;
 *   - a block is on exactly one node list matching its state: freeblocks when nfree = 512,
 *     partial when 0 < nfree < 512, none when full;
 *   - node.free and host.free are the sums of block.nfree;
 *   - a frame is on an LRU list iff FF_LRU, and on the list named by its `lru` field.
 *
 * Why pageblocks and not a buddy allocator: the simulator needs exactly two orders (4 KiB and
 * 2 MiB). Keeping whole blocks apart gives THP allocation its real failure mode (no wholly free
 * block while many frames are free: fragmentation), which compaction then repairs.
 */
#include <string.h>

#include "host/host.h"
#include "core/alloc.h"

/* The bound on metadata per 4 KiB frame (docs/host.md, "Physical memory"). */
_Static_assert(sizeof(hframe) <= 64, "a frame's metadata fits in 64 bytes");

static gpusim__arena *arena_of(const gpusim_host_t *h)
{
    return &h->world->arena;
}

/* ---- block lists (block numbers linked through hblock.next/prev) ---------------------------- */

static void blist_init(hlist *l)
{
    l->head = l->tail = HOST_NIL;
    l->count = 0;
}

static void blist_push(gpusim_host_t *h, hlist *l, uint32_t b)
{
    hblock *blk = &h->blocks[b];
    blk->prev = HOST_NIL;
    blk->next = l->head;
    if (l->head != HOST_NIL)
        h->blocks[l->head].prev = b;
    else
        l->tail = b;
    l->head = b;
    l->count++;
}

static void blist_del(gpusim_host_t *h, hlist *l, uint32_t b)
{
    hblock *blk = &h->blocks[b];
    if (blk->prev != HOST_NIL)
        h->blocks[blk->prev].next = blk->next;
    else
        l->head = blk->next;
    if (blk->next != HOST_NIL)
        h->blocks[blk->next].prev = blk->prev;
    else
        l->tail = blk->prev;
    blk->next = blk->prev = HOST_NIL;
    l->count--;
}

unsigned gpusim__frame_node(const gpusim_host_t *h, uint32_t pfn)
{
    uint32_t b = pfn / HOST_HUGE_PAGES;
    for (unsigned n = 0; n < h->nnodes; n++)
        if (b < h->nodes[n].first_block + h->nodes[n].nblocks)
            return n;
    return h->nnodes - 1;
}

static bool block_movable(const gpusim_host_t *h, uint32_t b)
{
    const hnode *nd = &h->nodes[gpusim__frame_node(h, b * HOST_HUGE_PAGES)];
    return b >= nd->movable_first;
}

bool gpusim__frame_movable(const gpusim_host_t *h, uint32_t pfn)
{
    return block_movable(h, pfn / HOST_HUGE_PAGES);
}

/* The list a block belongs on, given nfree. */
static hlist *block_home(gpusim_host_t *h, uint32_t b, uint8_t *which)
{
    hblock *blk = &h->blocks[b];
    hnode *nd = &h->nodes[gpusim__frame_node(h, b * HOST_HUGE_PAGES)];
    int z = block_movable(h, b) ? 1 : 0;
    if (blk->nfree == HOST_HUGE_PAGES) {
        *which = BL_FREE;
        return &nd->freeblocks[z];
    }
    if (blk->nfree > 0) {
        *which = BL_PARTIAL;
        return &nd->partial[z];
    }
    *which = BL_NONE;
    return NULL;
}

/* Moves block b to the list its nfree calls for. */
static void block_rehome(gpusim_host_t *h, uint32_t b)
{
    hblock *blk = &h->blocks[b];
    hnode *nd = &h->nodes[gpusim__frame_node(h, b * HOST_HUGE_PAGES)];
    int z = block_movable(h, b) ? 1 : 0;
    uint8_t which;
    hlist *home = block_home(h, b, &which);
    if (which == blk->list)
        return;
    if (blk->list == BL_FREE)
        blist_del(h, &nd->freeblocks[z], b);
    else if (blk->list == BL_PARTIAL)
        blist_del(h, &nd->partial[z], b);
    blk->list = which;
    if (home)
        blist_push(h, home, b);
}

/* Gives a wholly free block a free list of its 512 frames (first use, or reuse after merging). */
static void block_unfresh(gpusim_host_t *h, uint32_t b)
{
    hblock *blk = &h->blocks[b];
    uint32_t first = b * HOST_HUGE_PAGES;
    for (uint32_t i = 0; i < HOST_HUGE_PAGES; i++) {
        hframe *f = &h->frames[first + i];
        f->state = GPUSIM_FRAME_FREE;
        f->next = i + 1 < HOST_HUGE_PAGES ? first + i + 1 : HOST_NIL;
        f->prev = HOST_NIL;
    }
    blk->free_head = first;
    blk->fresh = 0;
}

/* ---- init / destroy ------------------------------------------------------------------------- */

static uint64_t isqrt(uint64_t v)
{
    uint64_t r = 0, bit = UINT64_C(1) << 62;
    while (bit > v)
        bit >>= 2;
    while (bit) {
        if (v >= r + bit) {
            v -= r + bit;
            r = (r >> 1) + bit;
        } else {
            r >>= 1;
        }
        bit >>= 2;
    }
    return r;
}

/* Linux's __setup_per_zone_wmarks() / calculate_min_free_kbytes(), per node. */
static void set_watermarks(gpusim_host_t *h)
{
    uint64_t min_bytes = h->p[HP_min_free];
    if (min_bytes == 0) {
        uint64_t kib = isqrt((uint64_t)h->nframes * 4 * 16);
        kib = GPUSIM_MAX(kib, UINT64_C(128));
        kib = GPUSIM_MIN(kib, UINT64_C(262144));
        min_bytes = kib * 1024;
    }
    for (unsigned n = 0; n < h->nnodes; n++) {
        hnode *nd = &h->nodes[n];
        uint64_t managed = (uint64_t)nd->nblocks * HOST_HUGE_PAGES;
        uint64_t min = min_bytes / HOST_PAGE_SIZE * managed / h->nframes;
        uint64_t tmp = GPUSIM_MAX(min / 4, managed * h->p[HP_watermark_scale] / 10000);
        nd->wmark_min = min;
        nd->wmark_low = min + tmp;
        nd->wmark_high = min + 2 * tmp;
    }
}

int gpusim__frames_init(gpusim_host_t *h)
{
    gpusim__arena *a = arena_of(h);
    const gpusim_host_config_t *cfg = &h->cfg;
    uint64_t nframes = cfg->ram_bytes / HOST_PAGE_SIZE;
    uint32_t per_node;

    h->nframes = (uint32_t)nframes;
    h->nblocks = (uint32_t)(nframes / HOST_HUGE_PAGES);
    h->nnodes = cfg->nodes;
    h->frames = gpusim__arena_zalloc(a, nframes * sizeof(hframe));
    h->blocks = gpusim__arena_zalloc(a, (size_t)h->nblocks * sizeof(hblock));
    h->nodes = gpusim__arena_zalloc(a, h->nnodes * sizeof(hnode));
    if (!h->frames || !h->blocks || !h->nodes)
        return GPUSIM_ENOMEM;
    if (cfg->data_mode) {
        h->data = gpusim__arena_zalloc(a, nframes * sizeof(uint8_t *));
        if (!h->data)
            return GPUSIM_ENOMEM;
    }
    per_node = h->nblocks / h->nnodes;
    for (unsigned n = 0; n < h->nnodes; n++) {
        hnode *nd = &h->nodes[n];
        nd->first_block = n * per_node;
        nd->nblocks = per_node;
        nd->movable_first =
            nd->first_block + per_node - (uint32_t)(cfg->movable_bytes / HOST_HUGE_SIZE);
        for (int z = 0; z < 2; z++) {
            blist_init(&nd->partial[z]);
            blist_init(&nd->freeblocks[z]);
        }
        for (int l = 0; l < LRU_COUNT; l++) {
            nd->lru[l].head = nd->lru[l].tail = HOST_NIL;
            nd->lru[l].count = 0;
        }
    }
    /* Every block starts wholly free and fresh; block 0 gives up frame 0 to the zero page. */
    for (uint32_t b = h->nblocks; b-- > 0;) {
        hblock *blk = &h->blocks[b];
        blk->nfree = HOST_HUGE_PAGES;
        blk->fresh = 1;
        blk->list = BL_NONE;
        blk->next = blk->prev = HOST_NIL;
        block_rehome(h, b);
        h->nodes[gpusim__frame_node(h, b * HOST_HUGE_PAGES)].free += HOST_HUGE_PAGES;
    }
    h->free = nframes;
    block_unfresh(h, 0);
    h->blocks[0].free_head = h->frames[HOST_ZERO_PFN].next;
    h->blocks[0].nfree--;
    block_rehome(h, 0);
    h->nodes[0].free--;
    h->free--;
    h->frames[HOST_ZERO_PFN].state = GPUSIM_FRAME_RESERVED;
    h->frames[HOST_ZERO_PFN].next = HOST_NIL;
    h->frames[HOST_ZERO_PFN].refcount = 1;
    set_watermarks(h);

    /* Swap. */
    h->nslots = (uint32_t)(cfg->swap_bytes / HOST_PAGE_SIZE);
    if (h->nslots) {
        h->slot_refs = gpusim__arena_zalloc(a, h->nslots * sizeof(uint16_t));
        h->slot_free = gpusim__arena_alloc(a, h->nslots * sizeof(uint32_t));
        if (!h->slot_refs || !h->slot_free)
            return GPUSIM_ENOMEM;
        /* Lowest slot first, as the swap allocator clusters from the start of the device. */
        for (uint32_t i = 0; i < h->nslots; i++)
            h->slot_free[i] = h->nslots - 1 - i;
        h->nslot_free = h->nslots;
        if (cfg->data_mode) {
            h->slot_data = gpusim__arena_zalloc(a, h->nslots * sizeof(uint8_t *));
            if (!h->slot_data)
                return GPUSIM_ENOMEM;
        }
    }
    h->rpool_free = HOST_NIL;
    return 0;
}

void gpusim__frames_destroy(gpusim_host_t *h)
{
    gpusim__arena *a = arena_of(h);
    if (h->data) {
        for (uint32_t i = 0; i < h->nframes; i++)
            gpusim__arena_free(a, h->data[i], HOST_PAGE_SIZE);
        gpusim__arena_free(a, h->data, (size_t)h->nframes * sizeof(uint8_t *));
    }
    if (h->slot_data) {
        for (uint32_t i = 0; i < h->nslots; i++)
            gpusim__arena_free(a, h->slot_data[i], HOST_PAGE_SIZE);
        gpusim__arena_free(a, h->slot_data, (size_t)h->nslots * sizeof(uint8_t *));
    }
    gpusim__arena_free(a, h->slot_refs, (size_t)h->nslots * sizeof(uint16_t));
    gpusim__arena_free(a, h->slot_free, (size_t)h->nslots * sizeof(uint32_t));
    gpusim__arena_free(a, h->rpool, h->rpool_cap * sizeof(rmap_ext));
    gpusim__arena_free(a, h->frames, (size_t)h->nframes * sizeof(hframe));
    gpusim__arena_free(a, h->blocks, (size_t)h->nblocks * sizeof(hblock));
    gpusim__arena_free(a, h->nodes, h->nnodes * sizeof(hnode));
}

/* ---- allocation ----------------------------------------------------------------------------- */

static bool take_from_node(gpusim_host_t *h, unsigned n, unsigned order, bool movable,
                           uint32_t *pfn)
{
    hnode *nd = &h->nodes[n];
    /* Movable (user) allocations prefer ZONE_MOVABLE, as GFP_HIGHUSER_MOVABLE does. */
    int zones[2] = {movable ? 1 : 0, 0};
    int nz = movable ? 2 : 1;
    for (int i = 0; i < nz; i++) {
        int z = zones[i];
        uint32_t b;
        if (order == 0 && nd->partial[z].head != HOST_NIL) {
            b = nd->partial[z].head;
        } else if (nd->freeblocks[z].head != HOST_NIL) {
            b = nd->freeblocks[z].head;
        } else {
            continue;
        }
        hblock *blk = &h->blocks[b];
        if (order == 0) {
            uint32_t p;
            if (blk->fresh || blk->nfree == HOST_HUGE_PAGES) {
                if (blk->fresh || blk->free_head == HOST_NIL)
                    block_unfresh(h, b);
            }
            p = blk->free_head;
            blk->free_head = h->frames[p].next;
            blk->nfree--;
            block_rehome(h, b);
            *pfn = p;
        } else {
            uint32_t first = b * HOST_HUGE_PAGES;
            blk->nfree = 0;
            blk->fresh = 0;
            blk->free_head = HOST_NIL;
            block_rehome(h, b);
            for (uint32_t i2 = 1; i2 < HOST_HUGE_PAGES; i2++) {
                hframe *t = &h->frames[first + i2];
                uint32_t tgen = t->gen; /* generations only ever grow (host.h) */
                memset(t, 0, sizeof *t);
                t->gen = tgen;
                t->state = GPUSIM_FRAME_TAIL;
                t->next = t->prev = HOST_NIL;
            }
            *pfn = first;
        }
        {
            uint64_t n_frames = order ? HOST_HUGE_PAGES : 1;
            hframe *f = &h->frames[*pfn];
            uint32_t gen = f->gen;
            memset(f, 0, sizeof *f);
            f->gen = gen;
            f->state = GPUSIM_FRAME_USED;
            f->next = f->prev = HOST_NIL;
            if (order)
                f->flags = FF_HEAD;
            nd->free -= n_frames;
            h->free -= n_frames;
            gpusim__stat_set(h->st.frames_free, (int64_t)h->free);
        }
        return true;
    }
    return false;
}

static bool node_has(const gpusim_host_t *h, unsigned n, unsigned order)
{
    const hnode *nd = &h->nodes[n];
    if (order == 0)
        return nd->free > 0;
    return nd->freeblocks[0].count + nd->freeblocks[1].count > 0;
}

int gpusim__frame_alloc(gpusim_host_t *h, unsigned node, unsigned order, bool movable,
                        bool emergency, uint32_t *pfn)
{
    uint64_t need = order ? HOST_HUGE_PAGES : 1;
    int rc = ALLOC_OK;
    /* Pass 0: above the low watermark. Pass 1: above min, after waking kswapd. Pass 2: none. */
    for (int pass = 0; pass < 3; pass++) {
        if (pass == 2 && !emergency)
            break;
        for (unsigned k = 0; k < h->nnodes; k++) {
            unsigned n = (node + k) % h->nnodes;
            hnode *nd = &h->nodes[n];
            uint64_t mark = pass == 0 ? nd->wmark_low : pass == 1 ? nd->wmark_min : 0;
            if (nd->free < need + mark || !node_has(h, n, order))
                continue;
            if (take_from_node(h, n, order, movable, pfn))
                return rc;
        }
        if (pass == 0) {
            for (unsigned k = 0; k < h->nnodes; k++)
                gpusim__kswapd_wake(h, (node + k) % h->nnodes);
            rc = ALLOC_LOW;
        }
    }
    return ALLOC_MIN;
}

void gpusim__frame_free(gpusim_host_t *h, uint32_t pfn)
{
    hframe *f = &h->frames[pfn];
    uint32_t b = pfn / HOST_HUGE_PAGES;
    hblock *blk = &h->blocks[b];
    unsigned n = gpusim__frame_node(h, pfn);
    GPUSIM_ASSERT(f->state == GPUSIM_FRAME_USED && f->refcount == 0 && f->mapcount == 0 &&
                  f->pincount == 0 && !(f->flags & FF_LRU) && f->rmap == 0);
    gpusim__frame_account(h, pfn, -1);
    if (f->flags & FF_HEAD) {
        for (uint32_t i = 0; i < HOST_HUGE_PAGES; i++) {
            hframe *t = &h->frames[pfn + i];
            gpusim__data_drop(h, pfn + i);
            t->gen++;
            t->state = GPUSIM_FRAME_FREE;
            t->flags = 0;
            t->owner = t->index = 0;
            t->refcount = t->mapcount = t->pincount = 0;
            t->rmap = 0;
        }
        blk->nfree = HOST_HUGE_PAGES;
        blk->free_head = HOST_NIL;
        blk->fresh = 1;
        h->nodes[n].free += HOST_HUGE_PAGES;
        h->free += HOST_HUGE_PAGES;
    } else {
        gpusim__data_drop(h, pfn);
        f->gen++;
        f->state = GPUSIM_FRAME_FREE;
        f->flags = 0;
        f->owner = f->index = 0;
        f->next = blk->free_head;
        f->prev = HOST_NIL;
        blk->free_head = pfn;
        blk->nfree++;
        if (blk->nfree == HOST_HUGE_PAGES) {
            /* Wholly free again: forget the frame list (the block is "fresh" until split). */
            blk->free_head = HOST_NIL;
            blk->fresh = 1;
        }
        h->nodes[n].free++;
        h->free++;
    }
    block_rehome(h, b);
    gpusim__stat_set(h->st.frames_free, (int64_t)h->free);
    gpusim__host_memory_freed(h);
}

void gpusim__frame_put(gpusim_host_t *h, uint32_t pfn)
{
    hframe *f = &h->frames[pfn];
    if (pfn == HOST_ZERO_PFN)
        return;
    GPUSIM_ASSERT(f->refcount > 0);
    if (--f->refcount == 0) {
        if (f->flags & FF_LRU)
            gpusim__lru_del(h, pfn);
        gpusim__frame_free(h, pfn);
    }
}

void gpusim__frame_split(gpusim_host_t *h, uint32_t head)
{
    hframe *hf = &h->frames[head];
    bool on_lru = (hf->flags & FF_LRU) != 0;
    bool active = (hf->flags & FF_ACTIVE) != 0;
    uint16_t flags =
        hf->flags & (uint16_t)(FF_ANON | FF_SHMEM | FF_DIRTY | FF_ACCESSED | FF_LAZYFREE);
    GPUSIM_ASSERT(hf->flags & FF_HEAD);
    if (on_lru)
        gpusim__lru_del(h, head);
    gpusim__frame_account(h, head, -1);
    for (uint32_t i = 0; i < HOST_HUGE_PAGES; i++) {
        hframe *f = &h->frames[head + i];
        uint32_t pins = f->pincount; /* pins are counted per 4 KiB page (host.h) */
        f->state = GPUSIM_FRAME_USED;
        f->flags = flags;
        f->mapcount = hf->mapcount;
        f->pincount = pins;
        f->refcount = hf->mapcount + pins;
        f->owner = 0;
        f->index = 0;
        f->next = f->prev = HOST_NIL; /* tails' reverse maps are empty: the caller fills them */
    }
    for (uint32_t i = 0; i < HOST_HUGE_PAGES; i++) {
        gpusim__frame_account(h, head + i, +1);
        if (on_lru)
            gpusim__lru_add(h, head + i, active);
    }
}

/* ---- accounting ----------------------------------------------------------------------------- */

void gpusim__frame_account(gpusim_host_t *h, uint32_t pfn, int delta)
{
    hframe *f = &h->frames[pfn];
    uint64_t n = (f->flags & FF_HEAD) ? HOST_HUGE_PAGES : 1;
    uint64_t d = (uint64_t)(int64_t)delta * n;
    if (f->flags & FF_ANON)
        h->anon_frames += d;
    else if (f->flags & FF_SHMEM)
        h->shmem_frames += d;
    else if (f->owner)
        h->file_frames += d;
    if (f->flags & FF_HEAD)
        h->thp_frames += d;
}

/* ---- LRU ------------------------------------------------------------------------------------ */

/* MADV_FREE'd pages are on the file lists, as Linux's lru_lazyfree_fn() puts them there (they are
 * no longer swap-backed), so reclaim finds them even without swap. */
static int lru_kind(const hframe *f, bool active)
{
    bool anonlike = (f->flags & (FF_ANON | FF_SHMEM)) != 0 && !(f->flags & FF_LAZYFREE);
    return (anonlike ? LRU_INACTIVE_ANON : LRU_INACTIVE_FILE) + (active ? 1 : 0);
}

void gpusim__lru_add(gpusim_host_t *h, uint32_t pfn, bool active)
{
    hframe *f = &h->frames[pfn];
    hnode *nd = &h->nodes[gpusim__frame_node(h, pfn)];
    int k = lru_kind(f, active);
    hlist *l = &nd->lru[k];
    GPUSIM_ASSERT(!(f->flags & FF_LRU));
    f->prev = HOST_NIL;
    f->next = l->head;
    if (l->head != HOST_NIL)
        h->frames[l->head].prev = pfn;
    else
        l->tail = pfn;
    l->head = pfn;
    l->count++;
    f->lru = (uint8_t)k;
    f->flags |= FF_LRU;
    if (active)
        f->flags |= FF_ACTIVE;
    else
        f->flags &= (uint16_t)~FF_ACTIVE;
}

void gpusim__lru_del(gpusim_host_t *h, uint32_t pfn)
{
    hframe *f = &h->frames[pfn];
    hnode *nd = &h->nodes[gpusim__frame_node(h, pfn)];
    hlist *l = &nd->lru[f->lru];
    GPUSIM_ASSERT(f->flags & FF_LRU);
    if (f->prev != HOST_NIL)
        h->frames[f->prev].next = f->next;
    else
        l->head = f->next;
    if (f->next != HOST_NIL)
        h->frames[f->next].prev = f->prev;
    else
        l->tail = f->prev;
    f->next = f->prev = HOST_NIL;
    l->count--;
    f->flags &= (uint16_t) ~(FF_LRU | FF_ACTIVE);
}

void gpusim__lru_move(gpusim_host_t *h, uint32_t pfn, bool active)
{
    gpusim__lru_del(h, pfn);
    gpusim__lru_add(h, pfn, active);
}

/* ---- reverse map ---------------------------------------------------------------------------- */

int gpusim__rmap_reserve(gpusim_host_t *h, size_t n)
{
    size_t free_n = h->rpool_cap - h->rpool_used;
    if (free_n >= n)
        return 0;
    return gpusim__arena_grow(arena_of(h), (void **)&h->rpool, &h->rpool_cap, h->rpool_used + n,
                              sizeof(rmap_ext));
}

static uint32_t rpool_get(gpusim_host_t *h)
{
    uint32_t i;
    if (h->rpool_free != HOST_NIL) {
        i = h->rpool_free;
        h->rpool_free = h->rpool[i].next;
    } else {
        /* Indices are handed out in order; freed ones are recycled through rpool_free. */
        i = (uint32_t)h->rpool_hwm++;
    }
    h->rpool_used++;
    return i;
}

static void rpool_put(gpusim_host_t *h, uint32_t i)
{
    h->rpool[i].next = h->rpool_free;
    h->rpool_free = i;
    h->rpool_used--;
}

int gpusim__rmap_add(gpusim_host_t *h, uint32_t pfn, uint64_t key)
{
    hframe *f = &h->frames[pfn];
    uint32_t i, j;
    if (f->rmap == 0) {
        f->rmap = key;
        return 0;
    }
    if (gpusim__rmap_reserve(h, 2))
        return GPUSIM_ENOMEM;
    if (!(f->rmap & RMAP_EXT)) {
        /* Move the inline entry to the pool first. */
        j = rpool_get(h);
        h->rpool[j].key = f->rmap;
        h->rpool[j].next = HOST_NIL;
        f->rmap = RMAP_EXT | j;
    }
    i = rpool_get(h);
    h->rpool[i].key = key;
    h->rpool[i].next = (uint32_t)(f->rmap & ~RMAP_EXT);
    f->rmap = RMAP_EXT | i;
    return 0;
}

void gpusim__rmap_del(gpusim_host_t *h, uint32_t pfn, uint64_t key)
{
    hframe *f = &h->frames[pfn];
    uint32_t *link, i;
    if (!(f->rmap & RMAP_EXT)) {
        GPUSIM_ASSERT(f->rmap == key);
        f->rmap = 0;
        return;
    }
    i = (uint32_t)(f->rmap & ~RMAP_EXT);
    if (h->rpool[i].key == key) {
        uint32_t next = h->rpool[i].next;
        rpool_put(h, i);
        f->rmap = next == HOST_NIL ? 0 : (RMAP_EXT | next);
    } else {
        link = &h->rpool[i].next;
        while (*link != HOST_NIL && h->rpool[*link].key != key)
            link = &h->rpool[*link].next;
        GPUSIM_ASSERT(*link != HOST_NIL);
        if (*link == HOST_NIL)
            return;
        i = *link;
        *link = h->rpool[i].next;
        rpool_put(h, i);
    }
    /* Back to inline when one entry remains. */
    if (f->rmap & RMAP_EXT) {
        i = (uint32_t)(f->rmap & ~RMAP_EXT);
        if (h->rpool[i].next == HOST_NIL) {
            f->rmap = h->rpool[i].key;
            rpool_put(h, i);
        }
    }
}

int gpusim__rmap_each(const gpusim_host_t *h, uint32_t pfn, int (*fn)(void *ctx, uint64_t key),
                      void *ctx)
{
    const hframe *f = &h->frames[pfn];
    if (f->rmap == 0)
        return 0;
    if (!(f->rmap & RMAP_EXT))
        return fn(ctx, f->rmap);
    for (uint32_t i = (uint32_t)(f->rmap & ~RMAP_EXT); i != HOST_NIL;) {
        uint32_t next = h->rpool[i].next; /* fn may remove this entry */
        int rc = fn(ctx, h->rpool[i].key);
        if (rc)
            return rc;
        i = next;
    }
    return 0;
}

uint32_t gpusim__rmap_count(const gpusim_host_t *h, uint32_t pfn)
{
    const hframe *f = &h->frames[pfn];
    uint32_t n = 0;
    if (f->rmap == 0)
        return 0;
    if (!(f->rmap & RMAP_EXT))
        return 1;
    for (uint32_t i = (uint32_t)(f->rmap & ~RMAP_EXT); i != HOST_NIL; i = h->rpool[i].next)
        n++;
    return n;
}

/* ---- swap slots ----------------------------------------------------------------------------- */

int gpusim__swap_alloc(gpusim_host_t *h, uint32_t *slot)
{
    if (h->nslot_free == 0)
        return GPUSIM_ENOSPC;
    *slot = h->slot_free[--h->nslot_free];
    h->slot_refs[*slot] = 1;
    return 0;
}

void gpusim__swap_get(gpusim_host_t *h, uint32_t slot)
{
    GPUSIM_ASSERT(h->slot_refs[slot] > 0 && h->slot_refs[slot] < UINT16_MAX);
    h->slot_refs[slot]++;
}

void gpusim__swap_put(gpusim_host_t *h, uint32_t slot)
{
    GPUSIM_ASSERT(h->slot_refs[slot] > 0);
    if (--h->slot_refs[slot] == 0) {
        if (h->slot_data) {
            gpusim__arena_free(arena_of(h), h->slot_data[slot], HOST_PAGE_SIZE);
            h->slot_data[slot] = NULL;
        }
        h->slot_free[h->nslot_free++] = slot;
    }
}

/* ---- data mode ------------------------------------------------------------------------------ */

/* Copies 4 KiB (NULL = zeros) into *dst, allocating it; NULL src frees it. */
static int data_set(gpusim_host_t *h, uint8_t **dst, const uint8_t *src)
{
    if (!src) {
        gpusim__arena_free(arena_of(h), *dst, HOST_PAGE_SIZE);
        *dst = NULL;
        return 0;
    }
    if (!*dst) {
        *dst = gpusim__arena_alloc(arena_of(h), HOST_PAGE_SIZE);
        if (!*dst)
            return GPUSIM_ENOMEM;
    }
    memcpy(*dst, src, HOST_PAGE_SIZE);
    return 0;
}

int gpusim__data_copy_frame(gpusim_host_t *h, uint32_t dst, uint32_t src)
{
    if (!h->data || dst == src)
        return 0;
    return data_set(h, &h->data[dst], h->data[src]);
}

int gpusim__data_to_slot(gpusim_host_t *h, uint32_t slot, uint32_t pfn)
{
    if (!h->data)
        return 0;
    return data_set(h, &h->slot_data[slot], h->data[pfn]);
}

int gpusim__data_from_slot(gpusim_host_t *h, uint32_t pfn, uint32_t slot)
{
    if (!h->data)
        return 0;
    return data_set(h, &h->data[pfn], h->slot_data[slot]);
}

void gpusim__data_drop(gpusim_host_t *h, uint32_t pfn)
{
    if (h->data && h->data[pfn]) {
        gpusim__arena_free(arena_of(h), h->data[pfn], HOST_PAGE_SIZE);
        h->data[pfn] = NULL;
    }
}

int gpusim__data_touch(gpusim_host_t *h, uint32_t pfn)
{
    if (!h->data || h->data[pfn])
        return 0;
    h->data[pfn] = gpusim__arena_zalloc(arena_of(h), HOST_PAGE_SIZE);
    return h->data[pfn] ? 0 : GPUSIM_ENOMEM;
}
