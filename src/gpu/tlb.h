/*
 * gpu/tlb.h -- a GPU's translation caches: per-engine L1 TLBs, a shared L2 TLB and a page-walk
 * cache, with the cost of every lookup, walk and invalidation. Internal.
 *
 * A translation goes L1 (the engine's) -> L2 (shared) -> page-table walk, and the result fills
 * every level it missed. TLBs are set-associative with true LRU (a 64-bit use stamp per entry,
 * from one clock per TLB, so the victim is the least recently used way) and hold mixed page sizes:
 * 4 KiB, 64 KiB (a fragment, cached as one entry) and 2 MiB. An entry of size s lives in set
 * (va >> s) mod sets, so a lookup probes one set per size class that the cache currently holds
 * (counted per class), and entries of different sizes share sets. Every entry is tagged with its
 * context id, so contexts never see each other's translations.
 *
 * The page-walk cache (PWC) holds directory entries -- "the level-L table for this VA region is in
 * frame F" -- for levels 2 to 4, keyed by (context, level, region). A walk starts below the
 * deepest directory the PWC holds for the address and pays page_walk_level for every table it
 * reads from memory: a full 4 KiB walk reads 4, a 2 MiB leaf 3, and with the level-2 directory
 * cached a walk reads 1. Translations always come from the page table itself; a PWC entry whose
 * frame no longer matches the table the walk reaches counts as a miss (a real GPU would follow the
 * stale pointer; correct drivers invalidate first, and staleness is modelled where it matters, in
 * the TLBs).
 *
 * The TLBs are not coherent with the page table, as on real hardware: after a PTE change, cached
 * translations stay until the driver invalidates. Invalidation by range (one context), by context
 * and globally each drop every L1, L2 and PWC entry they cover -- an entry is covered when any
 * byte of its page (or directory region) overlaps, so a 4 KiB invalidation inside a cached 2 MiB
 * page drops the 2 MiB entry -- and each returns its cost in ns from the parameters.
 *
 * Costs (gpu/params.h): an L1 hit costs tlb_l1_lookup; an L2 hit tlb_l1_lookup + tlb_l2_lookup; a
 * walk adds page_walk_level per table read. A walk that finds no valid translation returns
 * GPUSIM_EGPUFAULT with its cost and caches nothing but the directories it read.
 *
 * The hit path (gpusim__gpu_tlb_translate on an L1 hit) is inline and allocation-free; misses
 * take the out-of-line gpusim__gpu_tlb_translate_miss. Nothing after creation allocates.
 *
 * Invariants (gpusim__gpu_tlb_check): every entry sits in the set its key selects; per-class
 * counts match; no two entries of one cache have the same key and context; stamps are distinct
 * within a set and not above the clock.
 */
#ifndef GPUSIM_GPU_TLB_H
#define GPUSIM_GPU_TLB_H

#include <stdbool.h>
#include <stdint.h>

#include "gpusim.h"
#include "core/compiler.h"
#include "core/stats.h"
#include "core/world.h"
#include "gpu/params.h"
#include "gpu/pt.h"

/* A hint that the line holding p will be read soon (no effect on any state); compilers without
 * __builtin_prefetch get nothing. */
#if defined(__GNUC__) || defined(__clang__)
#define GPUSIM__GPU_PREFETCH(p) __builtin_prefetch((p), 0, 3)
#else
#define GPUSIM__GPU_PREFETCH(p) ((void)(p))
#endif

/* Size classes of TLB entries. PWC classes are directory levels 2, 3, 4 (covering 2M, 1G, 512G). */
enum { GPUSIM__GPU_TLB_4K, GPUSIM__GPU_TLB_64K, GPUSIM__GPU_TLB_2M, GPUSIM__GPU_TLB_CLASSES };

#define GPUSIM__GPU_TLB_MAX_ENGINES 1024

typedef struct gpusim__gpu_tlb_entry {
    uint64_t key;   /* (page number << 2) | (class + 1); 0 = empty way. */
    uint64_t data;  /* TLB: the page's first frame | KIND bits (PTE form). PWC: a table's frame. */
    uint64_t stamp; /* LRU: the TLB clock at the last use. */
    uint32_t ctx;   /* Context id. */
    uint32_t pad;   /* Keeps entries 32 bytes. */
} gpusim__gpu_tlb_entry;

/* One set-associative cache: an L1, the L2 or the PWC. */
typedef struct gpusim__gpu_tlb_cache {
    gpusim__gpu_tlb_entry *e;                  /* sets * ways entries; set s is e[s * ways ..]. */
    uint64_t set_mask;                         /* sets - 1 (sets is a power of two). */
    uint32_t ways;                             /* Associativity. */
    uint32_t present[GPUSIM__GPU_TLB_CLASSES]; /* Valid entries per class: skip empty classes. */
    const uint8_t *shift; /* Per class: VA bits below the key (12/16/21 or 21/30/39). */
    gpusim_stat_t *hits;  /* Shared by all L1s: <prefix>.tlb.l1.hits etc. */
    gpusim_stat_t *misses;
    gpusim_stat_t *evictions;
} gpusim__gpu_tlb_cache;

typedef struct gpusim__gpu_tlb {
    gpusim__owned owned;             /* On the world's list: freed with the world if not before. */
    gpusim_world_t *world;           /* Allocation context. */
    uint64_t clock;                  /* LRU clock: incremented at every use or fill. */
    unsigned nengines;               /* L1 TLBs. */
    gpusim__gpu_tlb_cache *l1;       /* [nengines] */
    gpusim__gpu_tlb_cache l2;        /* Shared L2 TLB. */
    gpusim__gpu_tlb_cache pwc;       /* Page-walk cache. */
    uint64_t l1_lookup_ns;           /* tlb_l1_lookup */
    uint64_t l2_lookup_ns;           /* tlb_l2_lookup */
    uint64_t walk_level_ns;          /* page_walk_level */
    uint64_t inval_range_ns;         /* tlb_inval_range */
    uint64_t inval_context_ns;       /* tlb_inval_context */
    uint64_t inval_global_ns;        /* tlb_inval_global */
    gpusim_stat_t *st_walks;         /* <prefix>.tlb.walks */
    gpusim_stat_t *st_walk_levels;   /* <prefix>.tlb.walk_levels (tables read from memory) */
    gpusim_stat_t *st_faults;        /* <prefix>.tlb.faults (walks with no valid translation) */
    gpusim_stat_t *st_inval_range;   /* <prefix>.tlb.invalidations.range */
    gpusim_stat_t *st_inval_context; /* <prefix>.tlb.invalidations.context */
    gpusim_stat_t *st_inval_global;  /* <prefix>.tlb.invalidations.global */
    gpusim_stat_t *st_dropped;       /* <prefix>.tlb.invalidated_entries (L1 + L2 + PWC) */
} gpusim__gpu_tlb;

/* Where a translation was found. */
enum { GPUSIM__GPU_XLATE_L1 = 1, GPUSIM__GPU_XLATE_L2, GPUSIM__GPU_XLATE_WALK };

/* The result of a translation. */
typedef struct gpusim__gpu_xlate {
    uint64_t pa;      /* Address of va in the aperture the flags name; 0 on a fault. */
    uint64_t flags;   /* VALID | READ | WRITE | SYSTEM as cached (the caller checks access). */
    uint64_t size;    /* Page size of the translation used: 4 KiB, 64 KiB or 2 MiB. */
    uint64_t cost_ns; /* Virtual time the translation took. */
    unsigned source;  /* GPUSIM__GPU_XLATE_L1, _L2 or _WALK. */
    unsigned levels;  /* Walk only: tables read from memory (after the PWC). */
} gpusim__gpu_xlate;

/* Whether params give every cache (L1, L2, page-walk cache) a geometry tlb_new accepts: entries
 * 1..2^24, a multiple of ways, a power-of-two number of sets. */
bool gpusim__gpu_tlb_params_ok(const uint64_t *params);

/*
 * Creates the TLBs of a device with `nengines` engines (1..GPUSIM__GPU_TLB_MAX_ENGINES), geometry
 * and costs from params[GPUSIM__GPU_P_COUNT], statistics under "<prefix>.tlb.". Returns 0,
 * GPUSIM_EINVAL (bad argument; entries not a multiple of ways, or sets not a power of two) or
 * GPUSIM_ENOMEM. Nothing allocated on failure (statistics stay with the world).
 */
int gpusim__gpu_tlb_new(gpusim_world_t *w, const uint64_t *params, unsigned nengines,
                        const char *prefix, gpusim__gpu_tlb **out);

/* Frees the TLBs. NULL is ignored. */
void gpusim__gpu_tlb_free(gpusim__gpu_tlb *t);

/* Out-of-line part of gpusim__gpu_tlb_translate: an L1 miss. Call it only after the L1 lookup
 * for (pt->ctx, va) found nothing: its fills rely on that to skip searching the L1 set. */
int gpusim__gpu_tlb_translate_miss(gpusim__gpu_tlb *t, unsigned engine, const gpusim__gpu_pt *pt,
                                   uint64_t va, gpusim__gpu_xlate *out);

/* The entry of class k caching va for ctx in cache c, or NULL. Does not touch LRU state. */
static inline gpusim__gpu_tlb_entry *
gpusim__gpu_tlb_find_class(gpusim__gpu_tlb_cache *c, uint32_t ctx, uint64_t va, unsigned k)
{
    uint64_t vpn = va >> c->shift[k];
    uint64_t key = (vpn << 2) | (k + 1);
    gpusim__gpu_tlb_entry *set = c->e + (size_t)(vpn & c->set_mask) * c->ways;
    for (uint32_t w = 0; w < c->ways; w++)
        if (set[w].key == key && set[w].ctx == ctx)
            return &set[w];
    return NULL;
}

/* The entry of any size caching va for ctx in TLB cache c, or NULL. Does not touch LRU state. */
static inline gpusim__gpu_tlb_entry *gpusim__gpu_tlb_find(gpusim__gpu_tlb_cache *c, uint32_t ctx,
                                                          uint64_t va)
{
    for (unsigned k = 0; k < GPUSIM__GPU_TLB_CLASSES; k++) {
        if (c->present[k] == 0)
            continue;
        gpusim__gpu_tlb_entry *e = gpusim__gpu_tlb_find_class(c, ctx, va, k);
        if (e != NULL)
            return e;
    }
    return NULL;
}

/* Fills *out from a TLB entry of class k for va. */
static inline void gpusim__gpu_tlb_result(const gpusim__gpu_tlb_cache *c,
                                          const gpusim__gpu_tlb_entry *e, uint64_t va,
                                          gpusim__gpu_xlate *out)
{
    unsigned k = (unsigned)(e->key & 3) - 1;
    uint64_t size = UINT64_C(1) << c->shift[k];
    out->pa = (gpusim__gpu_pte_frame(e->data) << GPUSIM__GPU_PTE_FRAME_SHIFT) + (va & (size - 1));
    out->flags = e->data & (GPUSIM__GPU_PTE_VALID | GPUSIM__GPU_PTE_MAP_FLAGS);
    out->size = size;
    out->levels = 0;
}

/*
 * Translates va for context pt->ctx on `engine`. Returns 0 with *out filled, or
 * GPUSIM_EGPUFAULT (no valid translation; out->cost_ns is still the time spent). Permissions are
 * not checked here: out->flags says what the page allows.
 */
static inline int gpusim__gpu_tlb_translate(gpusim__gpu_tlb *t, unsigned engine,
                                            const gpusim__gpu_pt *pt, uint64_t va,
                                            gpusim__gpu_xlate *out)
{
    GPUSIM_ASSERT(engine < t->nengines);
    gpusim__gpu_tlb_cache *l1 = &t->l1[engine];
    gpusim__gpu_tlb_entry *e = gpusim__gpu_tlb_find(l1, pt->ctx, va);
    if (GPUSIM_LIKELY(e != NULL)) {
        e->stamp = ++t->clock;
        gpusim__stat_add(l1->hits, 1);
        gpusim__gpu_tlb_result(l1, e, va, out);
        out->cost_ns = t->l1_lookup_ns;
        out->source = GPUSIM__GPU_XLATE_L1;
        return 0;
    }
    return gpusim__gpu_tlb_translate_miss(t, engine, pt, va, out);
}

/* ------------------------------------------------------------------------------------------- */
/* Batches (gpusim_gpu_access_batch, gpu/access.c)                                             */
/* ------------------------------------------------------------------------------------------- */

/*
 * A batch makes its L1 hits itself, with the helpers below, and leaves everything else to
 * gpusim__gpu_tlb_translate_miss, so that each translation is exactly the one
 * gpusim__gpu_tlb_translate would make. While it runs it holds the LRU clock in a register and
 * counts its L1 hits locally: it writes t->clock back before every miss and at the end, and adds
 * the hits to l1->hits at the end. Nothing else touches the TLB meanwhile, and nothing reads its
 * statistics, so the state after the batch is the state after the same single calls.
 *
 * Its L1 lookaside hints name the entry where an address last hit; a hinted entry is used only when
 * it has the key and context of va at the lowest class the L1 holds (gpusim__gpu_tlb_first_class),
 * which makes it the entry gpusim__gpu_tlb_find would return: classes are searched smallest
 * first, and no two entries of a cache share key and context. Otherwise the batch searches the
 * L1 with gpusim__gpu_tlb_find.
 */

/* The lowest size class cache c holds, or GPUSIM__GPU_TLB_CLASSES when it is empty. */
static inline unsigned gpusim__gpu_tlb_first_class(const gpusim__gpu_tlb_cache *c)
{
    unsigned k = 0;
    while (k < GPUSIM__GPU_TLB_CLASSES && c->present[k] == 0)
        k++;
    return k;
}

/* Prefetches the L2 TLB sets a translation of va will search (no effect on any state). Out of
 * line on purpose: a compiler that sees a function whose only effect is a prefetch may take it
 * for pure and drop its calls. */
void gpusim__gpu_tlb_prefetch(const gpusim__gpu_tlb *t, uint64_t va);

/*
 * Invalidates every cached translation and directory of context ctx overlapping [va, va + len)
 * in every L1, the L2 and the PWC; *cost_ns (may be NULL) receives tlb_inval_range. Returns 0,
 * GPUSIM_EINVAL (len 0) or GPUSIM_EFAULT (the range wraps or leaves the 48-bit VA), changing
 * nothing on error.
 */
int gpusim__gpu_tlb_inval_range(gpusim__gpu_tlb *t, uint32_t ctx, uint64_t va, uint64_t len,
                                uint64_t *cost_ns);

/* Invalidates everything cached for context ctx. Returns the cost, tlb_inval_context (0 if t is
 * NULL). */
uint64_t gpusim__gpu_tlb_inval_context(gpusim__gpu_tlb *t, uint32_t ctx);

/* Invalidates everything. Returns the cost, tlb_inval_global (0 if t is NULL). */
uint64_t gpusim__gpu_tlb_inval_global(gpusim__gpu_tlb *t);

/* Verifies the invariants listed at the top of this file. */
bool gpusim__gpu_tlb_check(const gpusim__gpu_tlb *t);

/*
 * Verifies that every L1 and L2 entry agrees with the page table of its context: same page size,
 * frame and flags as a walk of the entry's address gives now. `pt_of` returns the table of a
 * context id (NULL: the context is gone, so no entry may name it). Returns true, or false with the
 * first disagreement in msg (a stale entry: a table changed without an invalidation).
 */
bool gpusim__gpu_tlb_coherent(const gpusim__gpu_tlb *t,
                              const gpusim__gpu_pt *(*pt_of)(void *arg, uint32_t ctx), void *arg,
                              char *msg, size_t msglen);

#endif /* GPUSIM_GPU_TLB_H */
