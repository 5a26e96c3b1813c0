/*
 * gpu/tlb.c -- TLB misses, fills, walks through the page-walk cache, invalidation (gpu/tlb.h).
 *
 * Invalidation picks, per size class, between probing exactly the sets the range's pages map to
 * (small ranges: a 4 KiB invalidation touches one set per class) and scanning the whole cache
 * (ranges with at least as many pages of that class as there are sets). Both drop exactly the
 * entries whose page overlaps the range, so the choice affects only the simulator's speed; the
 * tests exercise both.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "gpu/tlb.h"

#define KIND_BITS (GPUSIM__GPU_PTE_VALID | GPUSIM__GPU_PTE_MAP_FLAGS)

/* VA bits below the key of each class. */
static const uint8_t tlb_shift[GPUSIM__GPU_TLB_CLASSES] = {
    GPUSIM__GPU_PAGE_SHIFT, GPUSIM__GPU_FRAG_SHIFT, GPUSIM__GPU_HUGE_SHIFT};
/* PWC class k caches level-(k + 2) directory entries, each covering 2 MiB, 1 GiB or 512 GiB. */
static const uint8_t pwc_shift[GPUSIM__GPU_TLB_CLASSES] = {21, 30, 39};

static inline unsigned class_of(const gpusim__gpu_tlb_entry *e)
{
    return (unsigned)(e->key & 3) - 1;
}

static inline size_t cache_entries(const gpusim__gpu_tlb_cache *c)
{
    return (size_t)(c->set_mask + 1) * c->ways;
}

/* ------------------------------------------------------------------------------------------- */
/* Fill and drop                                                                               */
/* ------------------------------------------------------------------------------------------- */

/*
 * Puts (ctx, class k, page number vpn) -> data in cache c: refreshes the same key if present,
 * else takes the first empty way of the set, else evicts the least recently used way.
 *
 * Empty ways are all-zero (drop() clears them whole), so their stamp is 0, below every valid
 * entry's (>= 1, from ++clock), and valid stamps within a set are distinct: "the first empty way,
 * else the LRU way" is exactly the first way of least stamp, found in one branch-free pass. The
 * key search is a separate pass, skipped when the caller has just looked the key up and knows it
 * is absent (`absent`), which is the common case of a miss.
 */
static void cache_fill(gpusim__gpu_tlb *t, gpusim__gpu_tlb_cache *c, uint32_t ctx, unsigned k,
                       uint64_t vpn, uint64_t data, bool absent)
{
    uint64_t key = (vpn << 2) | (k + 1);
    gpusim__gpu_tlb_entry *set = c->e + (size_t)(vpn & c->set_mask) * c->ways;
    gpusim__gpu_tlb_entry *v = NULL;
    if (!absent) {
        for (uint32_t w = 0; w < c->ways; w++) {
            if (set[w].key == key && set[w].ctx == ctx) {
                v = &set[w];
                break;
            }
        }
    }
    if (v == NULL) {
        uint32_t best = 0;
        uint64_t least = set[0].stamp;
        for (uint32_t w = 1; w < c->ways; w++) {
            uint64_t s = set[w].stamp;
            best = s < least ? w : best;
            least = s < least ? s : least;
        }
        v = &set[best];
        if (v->key != 0) {
            c->present[class_of(v)]--;
            gpusim__stat_add(c->evictions, 1);
        }
        c->present[k]++;
    }
    v->key = key;
    v->ctx = ctx;
    v->data = data;
    v->stamp = ++t->clock;
}

static void drop(gpusim__gpu_tlb_cache *c, gpusim__gpu_tlb_entry *e, uint64_t *dropped)
{
    c->present[class_of(e)]--;
    memset(e, 0, sizeof(*e));
    (*dropped)++;
}

/* What an invalidation covers: all contexts or one, and a VA range [start, end). */
typedef struct inval_scope {
    bool all_ctx;
    uint32_t ctx;
    uint64_t start;
    uint64_t end; /* exclusive; GPUSIM__GPU_VA_LIMIT for "everything" */
} inval_scope;

static void cache_inval(gpusim__gpu_tlb_cache *c, const inval_scope *sc, uint64_t *dropped)
{
    uint64_t sets = c->set_mask + 1;
    for (unsigned k = 0; k < GPUSIM__GPU_TLB_CLASSES; k++) {
        if (c->present[k] == 0)
            continue;
        uint64_t first = sc->start >> c->shift[k];
        uint64_t last = (sc->end - 1) >> c->shift[k];
        if (last - first + 1 < sets) {
            /* Probe the sets the range's pages of this class map to. */
            for (uint64_t vpn = first; vpn <= last; vpn++) {
                uint64_t key = (vpn << 2) | (k + 1);
                gpusim__gpu_tlb_entry *set = c->e + (size_t)(vpn & c->set_mask) * c->ways;
                for (uint32_t w = 0; w < c->ways; w++)
                    if (set[w].key == key && (sc->all_ctx || set[w].ctx == sc->ctx))
                        drop(c, &set[w], dropped);
            }
        } else {
            size_t n = cache_entries(c);
            for (size_t i = 0; i < n; i++) {
                gpusim__gpu_tlb_entry *e = &c->e[i];
                if (e->key == 0 || class_of(e) != k || !(sc->all_ctx || e->ctx == sc->ctx))
                    continue;
                uint64_t vpn = e->key >> 2;
                if (vpn >= first && vpn <= last)
                    drop(c, e, dropped);
            }
        }
    }
}

static void inval(gpusim__gpu_tlb *t, const inval_scope *sc)
{
    uint64_t dropped = 0;
    for (unsigned i = 0; i < t->nengines; i++)
        cache_inval(&t->l1[i], sc, &dropped);
    cache_inval(&t->l2, sc, &dropped);
    cache_inval(&t->pwc, sc, &dropped);
    gpusim__stat_add(t->st_dropped, dropped);
}

int gpusim__gpu_tlb_inval_range(gpusim__gpu_tlb *t, uint32_t ctx, uint64_t va, uint64_t len,
                                uint64_t *cost_ns)
{
    if (t == NULL || len == 0)
        return GPUSIM_EINVAL;
    if (va >= GPUSIM__GPU_VA_LIMIT || len > GPUSIM__GPU_VA_LIMIT - va)
        return GPUSIM_EFAULT;
    inval_scope sc = {.all_ctx = false, .ctx = ctx, .start = va, .end = va + len};
    inval(t, &sc);
    gpusim__stat_add(t->st_inval_range, 1);
    if (cost_ns != NULL)
        *cost_ns = t->inval_range_ns;
    return 0;
}

uint64_t gpusim__gpu_tlb_inval_context(gpusim__gpu_tlb *t, uint32_t ctx)
{
    if (t == NULL)
        return 0;
    inval_scope sc = {.all_ctx = false, .ctx = ctx, .start = 0, .end = GPUSIM__GPU_VA_LIMIT};
    inval(t, &sc);
    gpusim__stat_add(t->st_inval_context, 1);
    return t->inval_context_ns;
}

uint64_t gpusim__gpu_tlb_inval_global(gpusim__gpu_tlb *t)
{
    if (t == NULL)
        return 0;
    inval_scope sc = {.all_ctx = true, .ctx = 0, .start = 0, .end = GPUSIM__GPU_VA_LIMIT};
    inval(t, &sc);
    gpusim__stat_add(t->st_inval_global, 1);
    return t->inval_global_ns;
}

/* ------------------------------------------------------------------------------------------- */
/* Misses and walks                                                                            */
/* ------------------------------------------------------------------------------------------- */

/*
 * Walks va in pt and returns the tables read from memory: the walk starts below the deepest
 * level-L directory the PWC holds for va, if the walk really passes through that directory to the
 * table the PWC names; every directory read from memory is then cached.
 */
static unsigned walk(gpusim__gpu_tlb *t, const gpusim__gpu_pt *pt, uint64_t va,
                     gpusim__gpu_pt_walk *w, bool *valid)
{
    *valid = gpusim__gpu_pt_walk_va(pt, va, w);
    unsigned reads = w->levels, hit = 0;
    if (w->levels < 2)
        return reads; /* no directory on the way: nothing to look up or cache */
    for (unsigned level = 2; level <= GPUSIM__GPU_PT_LEVELS; level++) {
        /* The walk passed a level-L directory iff it read the level-(L-1) table. */
        if (w->levels < 6 - level)
            continue;
        gpusim__gpu_tlb_entry *e = gpusim__gpu_tlb_find_class(&t->pwc, pt->ctx, va, level - 2);
        if (e != NULL && e->data == w->table[level - 1]) {
            e->stamp = ++t->clock;
            hit = level;
            reads = w->levels - (GPUSIM__GPU_PT_LEVELS + 1 - level);
            break;
        }
    }
    gpusim__stat_add(hit ? t->pwc.hits : t->pwc.misses, 1);
    for (unsigned level = 2; level <= GPUSIM__GPU_PT_LEVELS && (hit == 0 || level < hit); level++)
        if (w->levels >= 6 - level)
            cache_fill(t, &t->pwc, pt->ctx, level - 2, va >> pwc_shift[level - 2],
                       w->table[level - 1], false);
    return reads;
}

void gpusim__gpu_tlb_prefetch(const gpusim__gpu_tlb *t, uint64_t va)
{
    const gpusim__gpu_tlb_cache *c = &t->l2;
    size_t bytes = c->ways * sizeof(gpusim__gpu_tlb_entry);
    for (unsigned k = 0; k < GPUSIM__GPU_TLB_CLASSES; k++) {
        if (c->present[k] == 0)
            continue;
        const char *set =
            (const char *)(c->e + (size_t)((va >> c->shift[k]) & c->set_mask) * c->ways);
        for (size_t off = 0; off < bytes; off += 64)
            GPUSIM__GPU_PREFETCH(set + off);
    }
}

int gpusim__gpu_tlb_translate_miss(gpusim__gpu_tlb *t, unsigned engine, const gpusim__gpu_pt *pt,
                                   uint64_t va, gpusim__gpu_xlate *out)
{
    gpusim__gpu_tlb_cache *l1 = &t->l1[engine];
    uint32_t ctx = pt->ctx;
    uint64_t cost = t->l1_lookup_ns + t->l2_lookup_ns;
    gpusim__stat_add(l1->misses, 1);

    gpusim__gpu_tlb_entry *e = gpusim__gpu_tlb_find(&t->l2, ctx, va);
    if (e != NULL) {
        e->stamp = ++t->clock;
        gpusim__stat_add(t->l2.hits, 1);
        /* The caller's L1 lookup for va found nothing: the key is absent from the L1. */
        cache_fill(t, l1, ctx, class_of(e), e->key >> 2, e->data, true);
        gpusim__gpu_tlb_result(&t->l2, e, va, out);
        out->cost_ns = cost;
        out->source = GPUSIM__GPU_XLATE_L2;
        return 0;
    }
    gpusim__stat_add(t->l2.misses, 1);

    gpusim__gpu_pt_walk w;
    bool valid;
    unsigned reads = walk(t, pt, va, &w, &valid);
    gpusim__stat_add(t->st_walks, 1);
    gpusim__stat_add(t->st_walk_levels, reads);
    cost += reads * t->walk_level_ns;
    out->cost_ns = cost;
    out->source = GPUSIM__GPU_XLATE_WALK;
    out->levels = reads;
    if (!valid) {
        gpusim__stat_add(t->st_faults, 1);
        out->pa = 0;
        out->flags = 0;
        out->size = 0;
        return GPUSIM_EGPUFAULT;
    }
    /* Cache the translation at the size the table gives it: a fragment as one 64 KiB entry. */
    unsigned k = w.size == GPUSIM__GPU_PAGE_SIZE   ? GPUSIM__GPU_TLB_4K
                 : w.size == GPUSIM__GPU_FRAG_SIZE ? GPUSIM__GPU_TLB_64K
                                                   : GPUSIM__GPU_TLB_2M;
    uint64_t base = w.pa - (va & (w.size - 1)); /* PA of the page's first byte */
    uint64_t data = (base & GPUSIM__GPU_PTE_FRAME_MASK) | (w.pte & KIND_BITS);
    uint64_t vpn = va >> tlb_shift[k];
    /* Neither the L1 lookup (the caller's) nor the L2 lookup above found an entry of any class
     * for va: the key is absent from both. */
    cache_fill(t, &t->l2, ctx, k, vpn, data, true);
    cache_fill(t, l1, ctx, k, vpn, data, true);
    out->pa = w.pa;
    out->flags = w.pte & KIND_BITS;
    out->size = w.size;
    return 0;
}

/* ------------------------------------------------------------------------------------------- */
/* Life cycle                                                                                  */
/* ------------------------------------------------------------------------------------------- */

static bool geometry_ok(uint64_t entries, uint64_t ways)
{
    if (entries == 0 || ways == 0 || entries > (UINT64_C(1) << 24) || entries % ways != 0)
        return false;
    uint64_t sets = entries / ways;
    return (sets & (sets - 1)) == 0;
}

bool gpusim__gpu_tlb_params_ok(const uint64_t *p)
{
    return geometry_ok(p[GPUSIM__GPU_P_tlb_l1_entries], p[GPUSIM__GPU_P_tlb_l1_ways]) &&
           geometry_ok(p[GPUSIM__GPU_P_tlb_l2_entries], p[GPUSIM__GPU_P_tlb_l2_ways]) &&
           geometry_ok(p[GPUSIM__GPU_P_pwc_entries], p[GPUSIM__GPU_P_pwc_ways]);
}

static int cache_init(gpusim_world_t *w, gpusim__gpu_tlb_cache *c, uint64_t entries, uint64_t ways,
                      const uint8_t *shift)
{
    c->e = gpusim__arena_zalloc(&w->arena, (size_t)entries * sizeof(gpusim__gpu_tlb_entry));
    if (c->e == NULL)
        return GPUSIM_ENOMEM;
    c->ways = (uint32_t)ways;
    c->set_mask = entries / ways - 1;
    c->shift = shift;
    return 0;
}

static void cache_fini(gpusim_world_t *w, gpusim__gpu_tlb_cache *c)
{
    if (c->e != NULL)
        gpusim__arena_free(&w->arena, c->e, cache_entries(c) * sizeof(gpusim__gpu_tlb_entry));
    c->e = NULL;
}

static void release(gpusim_world_t *w, gpusim__gpu_tlb *t)
{
    if (t->l1 != NULL) {
        for (unsigned i = 0; i < t->nengines; i++)
            cache_fini(w, &t->l1[i]);
        gpusim__arena_free(&w->arena, t->l1, t->nengines * sizeof(gpusim__gpu_tlb_cache));
    }
    cache_fini(w, &t->l2);
    cache_fini(w, &t->pwc);
    gpusim__arena_free(&w->arena, t, sizeof(*t));
}

static void destroy(gpusim_world_t *w, gpusim__owned *o)
{
    release(w, gpusim_container_of(o, gpusim__gpu_tlb, owned));
}

/* Registers "<prefix>.<defs[k].name>" into the slots of `base`. */
static int register_stats(gpusim_world_t *w, const char *prefix, gpusim__gpu_tlb *t)
{
#define CACHE_DEFS(level)                                                                          \
    {"tlb." level ".hits", GPUSIM_STAT_COUNTER, "", offsetof(gpusim__gpu_tlb_cache, hits)},        \
        {"tlb." level ".misses", GPUSIM_STAT_COUNTER, "",                                          \
         offsetof(gpusim__gpu_tlb_cache, misses)},                                                 \
        {"tlb." level ".evictions", GPUSIM_STAT_COUNTER, "",                                       \
         offsetof(gpusim__gpu_tlb_cache, evictions)},
    static const gpusim__stat_def l1_defs[] = {CACHE_DEFS("l1")};
    static const gpusim__stat_def l2_defs[] = {CACHE_DEFS("l2")};
    static const gpusim__stat_def pwc_defs[] = {CACHE_DEFS("pwc")};
#undef CACHE_DEFS
    static const gpusim__stat_def defs[] = {
        {"tlb.walks", GPUSIM_STAT_COUNTER, "", offsetof(gpusim__gpu_tlb, st_walks)},
        {"tlb.walk_levels", GPUSIM_STAT_COUNTER, "", offsetof(gpusim__gpu_tlb, st_walk_levels)},
        {"tlb.faults", GPUSIM_STAT_COUNTER, "", offsetof(gpusim__gpu_tlb, st_faults)},
        {"tlb.invalidations.range", GPUSIM_STAT_COUNTER, "",
         offsetof(gpusim__gpu_tlb, st_inval_range)},
        {"tlb.invalidations.context", GPUSIM_STAT_COUNTER, "",
         offsetof(gpusim__gpu_tlb, st_inval_context)},
        {"tlb.invalidations.global", GPUSIM_STAT_COUNTER, "",
         offsetof(gpusim__gpu_tlb, st_inval_global)},
        {"tlb.invalidated_entries", GPUSIM_STAT_COUNTER, "", offsetof(gpusim__gpu_tlb, st_dropped)},
    };
    /* Every engine's L1 shares one set of statistics: register into the first, copy to all. */
    int rc =
        gpusim__stats_register_prefixed(w, prefix, l1_defs, GPUSIM_ARRAY_SIZE(l1_defs), &t->l1[0]);
    if (rc == 0)
        rc =
            gpusim__stats_register_prefixed(w, prefix, l2_defs, GPUSIM_ARRAY_SIZE(l2_defs), &t->l2);
    if (rc == 0)
        rc = gpusim__stats_register_prefixed(w, prefix, pwc_defs, GPUSIM_ARRAY_SIZE(pwc_defs),
                                             &t->pwc);
    if (rc == 0)
        rc = gpusim__stats_register_prefixed(w, prefix, defs, GPUSIM_ARRAY_SIZE(defs), t);
    if (rc != 0)
        return rc;
    for (unsigned i = 1; i < t->nengines; i++) {
        t->l1[i].hits = t->l1[0].hits;
        t->l1[i].misses = t->l1[0].misses;
        t->l1[i].evictions = t->l1[0].evictions;
    }
    return 0;
}

int gpusim__gpu_tlb_new(gpusim_world_t *w, const uint64_t *params, unsigned nengines,
                        const char *prefix, gpusim__gpu_tlb **out)
{
    if (w == NULL || params == NULL || prefix == NULL || out == NULL || nengines == 0 ||
        nengines > GPUSIM__GPU_TLB_MAX_ENGINES)
        return GPUSIM_EINVAL;
    const uint64_t *p = params;
    if (!gpusim__gpu_tlb_params_ok(p))
        return GPUSIM_EINVAL;

    gpusim__gpu_tlb *t = gpusim__arena_zalloc(&w->arena, sizeof(*t));
    if (t == NULL)
        return GPUSIM_ENOMEM;
    t->world = w;
    t->l1 = gpusim__arena_zalloc(&w->arena, nengines * sizeof(gpusim__gpu_tlb_cache));
    int rc = GPUSIM_ENOMEM;
    if (t->l1 != NULL) {
        t->nengines = nengines;
        rc = 0;
        for (unsigned i = 0; i < nengines && rc == 0; i++)
            rc = cache_init(w, &t->l1[i], p[GPUSIM__GPU_P_tlb_l1_entries],
                            p[GPUSIM__GPU_P_tlb_l1_ways], tlb_shift);
    }
    if (rc == 0)
        rc = cache_init(w, &t->l2, p[GPUSIM__GPU_P_tlb_l2_entries], p[GPUSIM__GPU_P_tlb_l2_ways],
                        tlb_shift);
    if (rc == 0)
        rc = cache_init(w, &t->pwc, p[GPUSIM__GPU_P_pwc_entries], p[GPUSIM__GPU_P_pwc_ways],
                        pwc_shift);
    if (rc == 0)
        rc = register_stats(w, prefix, t);
    if (rc != 0) {
        release(w, t);
        return rc;
    }
    t->l1_lookup_ns = p[GPUSIM__GPU_P_tlb_l1_lookup];
    t->l2_lookup_ns = p[GPUSIM__GPU_P_tlb_l2_lookup];
    t->walk_level_ns = p[GPUSIM__GPU_P_page_walk_level];
    t->inval_range_ns = p[GPUSIM__GPU_P_tlb_inval_range];
    t->inval_context_ns = p[GPUSIM__GPU_P_tlb_inval_context];
    t->inval_global_ns = p[GPUSIM__GPU_P_tlb_inval_global];
    gpusim__world_own(w, &t->owned, destroy);
    *out = t;
    return 0;
}

void gpusim__gpu_tlb_free(gpusim__gpu_tlb *t)
{
    if (t == NULL)
        return;
    gpusim__world_disown(&t->owned);
    destroy(t->world, &t->owned);
}

/* ------------------------------------------------------------------------------------------- */
/* Checker                                                                                     */
/* ------------------------------------------------------------------------------------------- */

static bool cache_check(const gpusim__gpu_tlb *t, const gpusim__gpu_tlb_cache *c, bool is_pwc)
{
    uint32_t counts[GPUSIM__GPU_TLB_CLASSES] = {0};
    for (uint64_t s = 0; s <= c->set_mask; s++) {
        const gpusim__gpu_tlb_entry *set = c->e + (size_t)s * c->ways;
        for (uint32_t w = 0; w < c->ways; w++) {
            const gpusim__gpu_tlb_entry *e = &set[w];
            if (e->key == 0) {
                if (e->data != 0 || e->stamp != 0 || e->ctx != 0)
                    return false; /* dropped entries are cleared whole */
                continue;
            }
            if ((e->key & 3) == 0 || ((e->key >> 2) & c->set_mask) != s)
                return false;
            unsigned k = class_of(e);
            counts[k]++;
            if (e->stamp == 0 || e->stamp > t->clock)
                return false;
            if (!is_pwc) {
                uint64_t frame = gpusim__gpu_pte_frame(e->data);
                uint64_t align = (UINT64_C(1) << (tlb_shift[k] - GPUSIM__GPU_PAGE_SHIFT)) - 1;
                if ((e->data & ~(KIND_BITS | GPUSIM__GPU_PTE_FRAME_MASK)) != 0 ||
                    !(e->data & GPUSIM__GPU_PTE_VALID) || (frame & align) != 0)
                    return false;
            }
            for (uint32_t v = 0; v < w; v++) {
                if (set[v].key == 0)
                    continue;
                if ((set[v].key == e->key && set[v].ctx == e->ctx) || set[v].stamp == e->stamp)
                    return false;
            }
        }
    }
    return memcmp(counts, c->present, sizeof counts) == 0;
}

bool gpusim__gpu_tlb_check(const gpusim__gpu_tlb *t)
{
    if (t == NULL)
        return false;
    for (unsigned i = 0; i < t->nengines; i++)
        if (!cache_check(t, &t->l1[i], false))
            return false;
    return cache_check(t, &t->l2, false) && cache_check(t, &t->pwc, true);
}

/* One cache's entries against the page tables (gpusim__gpu_tlb_coherent). */
static bool cache_coherent(const gpusim__gpu_tlb_cache *c, const char *what,
                           const gpusim__gpu_pt *(*pt_of)(void *arg, uint32_t ctx), void *arg,
                           char *msg, size_t msglen)
{
    size_t n = (size_t)(c->set_mask + 1) * c->ways;
    for (size_t i = 0; i < n; i++) {
        const gpusim__gpu_tlb_entry *e = &c->e[i];
        gpusim__gpu_pt_walk w;
        unsigned k;
        uint64_t va, size;
        const gpusim__gpu_pt *pt;
        if (e->key == 0)
            continue;
        k = (unsigned)(e->key & 3) - 1;
        size = UINT64_C(1) << c->shift[k];
        va = (e->key >> 2) << c->shift[k];
        pt = pt_of(arg, e->ctx);
        if (pt == NULL) {
            snprintf(msg, msglen,
                     "%s entry for 0x%" PRIx64 " names context %" PRIu32 ", which no longer exists",
                     what, va, e->ctx);
            return false;
        }
        /* A cached entry may be smaller than the page that now maps it: mapping neighbours
         * merges 4 KiB entries into a 64 KiB fragment (or a 2 MiB leaf) without changing any
         * translation, so the 4 KiB entry still says what the table says. A larger one is
         * stale: its other pages may now differ. */
        if (!gpusim__gpu_pt_walk_va(pt, va, &w) || w.size < size ||
            (w.pa & GPUSIM__GPU_PTE_FRAME_MASK) != (e->data & GPUSIM__GPU_PTE_FRAME_MASK) ||
            (w.pte & KIND_BITS) != (e->data & KIND_BITS)) {
            snprintf(msg, msglen,
                     "stale %s entry: context %" PRIu32 " 0x%" PRIx64 " (%" PRIu64
                     " KiB) caches 0x%" PRIx64 ", the page table has 0x%" PRIx64 " (%" PRIu64
                     " KiB)",
                     what, e->ctx, va, size >> 10, e->data, w.pte ? w.pa | (w.pte & KIND_BITS) : 0,
                     w.size >> 10);
            return false;
        }
    }
    return true;
}

bool gpusim__gpu_tlb_coherent(const gpusim__gpu_tlb *t,
                              const gpusim__gpu_pt *(*pt_of)(void *arg, uint32_t ctx), void *arg,
                              char *msg, size_t msglen)
{
    char what[32];
    for (unsigned i = 0; i < t->nengines; i++) {
        snprintf(what, sizeof what, "L1[%u]", i);
        if (!cache_coherent(&t->l1[i], what, pt_of, arg, msg, msglen))
            return false;
    }
    return cache_coherent(&t->l2, "L2", pt_of, arg, msg, msglen);
}
