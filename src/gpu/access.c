/*
 * gpu/access.c -- engine accesses (gpusim/gpu.h): gpusim_gpu_access, one translation, and
 * gpusim_gpu_access_batch, many by one engine for one context.
 *
 * The batch is defined as the loop of single calls: every output, return code, TLB entry, LRU
 * stamp, fill, eviction, cost and statistic is the one the loop would give. It is faster in two
 * ways, neither of which can change a result:
 *   - L1 hits: the engine, context and L1 are resolved once, the LRU clock stays in a register and
 *     the hits are counted at the end (gpu/tlb.h, "Batches"), and a verified lookaside hint finds
 *     the L1 entry without a search.
 *   - Misses are software-pipelined: while va[i] is translated, the lines that translating later
 *     addresses will need are prefetched -- the L2 TLB sets, and the page-table lines, found by a
 *     read-only descent of the table (pt_table_at). A walk then finds its lines in the cache
 *     instead of waiting for memory one walk after another, which is what made a single call per
 *     access ten times slower than independent walks. Prefetching has no effect on any state; it
 *     is switched on by a miss and off after a run of hits, so runs of hits pay nothing for it.
 *
 * pt_table_at reads the table's nodes (gpu/pt_node.h), the one reader of them outside the page
 * table's own files: it follows gpusim__gpu_pt_walk_va (gpu/pt_check.c), reading the same entries
 * and child pointers, and must change with it.
 *
 * Invariant: while a batch runs, nothing but the batch touches the TLB (it calls nothing that
 * could reach it: no callback, no event), so its clock and hit count may live in registers.
 */
#include "gpu/device.h"
#include "gpu/pt_node.h"

_Static_assert((int)GPUSIM_GPU_XLATE_L1 == (int)GPUSIM__GPU_XLATE_L1 &&
                   (int)GPUSIM_GPU_XLATE_L2 == (int)GPUSIM__GPU_XLATE_L2 &&
                   (int)GPUSIM_GPU_XLATE_WALK == (int)GPUSIM__GPU_XLATE_WALK,
               "one numbering of translation sources");
_Static_assert(GPUSIM__GPU_PTE_READ == GPUSIM_GPU_READ << 1 &&
                   GPUSIM__GPU_PTE_WRITE == GPUSIM_GPU_WRITE << 1 &&
                   GPUSIM__GPU_PTE_SYSTEM == GPUSIM_GPU_SYSTEM << 1,
               "public flags are the entry's permission and aperture bits shifted down by one");

/*
 * Prefetching runs ahead of the accesses in groups of GROUP: every GROUP / 2 accesses, the page-
 * table lines of the upper levels for the accesses up to 2 * GROUP ahead (the FAR stage), then
 * the leaf tables' lines and the L2 TLB sets for those up to GROUP ahead (the NEAR stage, whose
 * descent reads what the FAR stage fetched). Grouping matters more than the distance: a
 * prefetch whose address misses the CPU's TLB waits for the CPU's page walk before it can
 * retire, and one translation is too long for the CPU to have the next one's prefetch in flight
 * meanwhile; a group's prefetches are close together, so their walks and misses overlap.
 */
#define GROUP      16
/* L1 hits in a row after which a batch stops prefetching. */
#define HIT_STREAK 32

/*
 * The outcome of a translation as the caller sees it: rc 0 with the permission asked for, else
 * GPUSIM_EGPUFAULT with the cost, the source and (when a translation was found without the
 * permission) its page size.
 */
static inline int access_out(int rc, const gpusim__gpu_xlate *x, bool write,
                             gpusim_gpu_access_t *out)
{
    out->cost = x->cost_ns;
    out->source = (gpusim_gpu_xlate_source_t)x->source;
    if (rc != 0 || !(x->flags & (write ? GPUSIM__GPU_PTE_WRITE : GPUSIM__GPU_PTE_READ))) {
        out->pa = 0;
        out->flags = 0;
        out->page_size = rc == 0 ? x->size : 0;
        return GPUSIM_EGPUFAULT;
    }
    out->pa = x->pa;
    out->flags =
        (unsigned)(x->flags >> 1) & (GPUSIM_GPU_READ | GPUSIM_GPU_WRITE | GPUSIM_GPU_SYSTEM);
    out->page_size = x->size;
    return 0;
}

int gpusim_gpu_access(gpusim_gpu_ctx_t *c, unsigned engine, uint64_t va, bool write,
                      gpusim_gpu_access_t *out)
{
    gpusim__gpu_xlate x;
    int rc;
    if (GPUSIM_UNLIKELY(!c || !out || engine >= c->gpu->engines))
        return GPUSIM_EINVAL;
    if (GPUSIM_UNLIKELY(va >= GPUSIM_GPU_VA_END))
        return GPUSIM_EFAULT;
    rc = gpusim__gpu_tlb_translate(c->gpu->tlb, engine, c->pt, va, &x);
    return access_out(rc, &x, write, out);
}

/*
 * The table at level `stop` (1..3) that a walk of va reads, or NULL when the walk stops above it
 * (a hole, a 2 MiB leaf, an address outside the VA): a read-only descent from the root through
 * the directory entries and child pointers, as gpusim__gpu_pt_walk_va makes it. The caller
 * prefetches what the walk will read in that table.
 *
 * Only the lines above `stop` are read here, and the batch has prefetched them earlier (the
 * FAR stage prefetches the level-2 table that the NEAR stage descends through), so this rarely
 * waits for memory. The prefetches stay in the caller: GCC deletes calls of a function whose only
 * effect is a prefetch, which it considers pure.
 */
static inline const gpusim__gpu_pt_node *pt_table_at(const gpusim__gpu_pt *pt, uint64_t va,
                                                     unsigned stop)
{
    if (va >= GPUSIM__GPU_VA_LIMIT)
        return NULL;
    const gpusim__gpu_pt_node *n = pt->root;
    for (unsigned level = GPUSIM__GPU_PT_LEVELS; level > stop; level--) {
        unsigned i = index_at(va, level);
        uint64_t ent = n->e[i];
        if (!(ent & VALID) || (ent & LEAF))
            return NULL;
        n = n->child[i];
    }
    return n;
}

/* Prefetches what a walk of va reads in its level-`stop` table: the header (the table's frame),
 * the entry, and for a directory the child pointer. */
#define PT_PREFETCH(pt, va, stop)                                                                  \
    do {                                                                                           \
        const gpusim__gpu_pt_node *pn_ = pt_table_at((pt), (va), (stop));                          \
        if (pn_ != NULL) {                                                                         \
            unsigned pi_ = index_at((va), (stop));                                                 \
            GPUSIM__GPU_PREFETCH(&pn_->frame);                                                     \
            GPUSIM__GPU_PREFETCH(&pn_->e[pi_]);                                                    \
            if ((stop) > 1)                                                                        \
                GPUSIM__GPU_PREFETCH(&pn_->child[pi_]);                                            \
        }                                                                                          \
    } while (0)

/* Hint slots of a batch, indexed by bits 12.. of the VA (the 4 KiB page number): twice the
 * default L1's entries. */
#define HINTS 32

/* An L1 hit of va on entry e, of page size `size`, with `need` the permission bit asked for:
 * gpusim__gpu_tlb_translate's fast path with the clock in *clock, then access_out. Returns 0 or
 * GPUSIM_EGPUFAULT. */
static inline int l1_hit(gpusim__gpu_tlb_entry *e, uint64_t va, uint64_t size, uint64_t need,
                         uint64_t l1_ns, uint64_t *clock, gpusim_gpu_access_t *o)
{
    uint64_t data = e->data;
    e->stamp = ++*clock;
    o->cost = l1_ns;
    o->source = GPUSIM_GPU_XLATE_L1;
    o->page_size = size;
    if (GPUSIM_UNLIKELY(!(data & need))) {
        o->pa = 0;
        o->flags = 0;
        return GPUSIM_EGPUFAULT;
    }
    o->pa = (data & GPUSIM__GPU_PTE_FRAME_MASK) + (va & (size - 1));
    o->flags = (unsigned)(data >> 1) & (GPUSIM_GPU_READ | GPUSIM_GPU_WRITE | GPUSIM_GPU_SYSTEM);
    return 0;
}

/*
 * gpusim_gpu_access_batch's loop. Two paths: the hit loop, for runs of L1 hits found by their
 * hint, and the general path, for everything else (hint misses, L1 misses, prefetching). The hit
 * loop holds everything it reads in locals -- the L1's array, the context, the clock, the hints --
 * because out[] is written through a pointer the compiler must assume may alias any of them, and
 * it runs only while no prefetching is due. A miss writes the clock back, calls the TLB's own
 * miss path and reloads what that can change (the clock and the classes present in the L1).
 * gpu/tlb.h, "Batches", says why the results are those of single calls.
 *
 * A hint is the index in the L1's array of the entry where its slot last hit. Any index is a
 * valid guess (they start at 0): the entry is used only if its key and context are va's at the
 * L1's lowest class, and an entry sits in the set its key selects, so set and way need not be
 * computed.
 *
 * Statistics: the L1 hits are the accesses looked up less the misses, added at the end.
 */
static int batch(gpusim_gpu_ctx_t *c, unsigned engine, const uint64_t *va, size_t n, bool write,
                 gpusim_gpu_access_t *out, size_t *done)
{
    gpusim__gpu_tlb *t = c->gpu->tlb;
    const gpusim__gpu_pt *pt = c->pt;
    gpusim__gpu_tlb_cache *l1 = &t->l1[engine];
    gpusim__gpu_tlb_entry *const l1e = l1->e;
    const uint64_t l1_ns = t->l1_lookup_ns;
    const uint8_t *const shift = l1->shift;
    const uint32_t ctx = pt->ctx;
    const uint64_t need = write ? GPUSIM__GPU_PTE_WRITE : GPUSIM__GPU_PTE_READ;
    uint64_t clock = t->clock, misses = 0;
    /* The L1's lowest class (CLASSES: empty), its shift, the key bits it adds and its page size.
     * An empty L1 gives keys that match no entry (low bits 0). */
    unsigned first = gpusim__gpu_tlb_first_class(l1);
    unsigned fshift = first < GPUSIM__GPU_TLB_CLASSES ? shift[first] : 63;
    uint64_t fkey = first + 1, fsize = UINT64_C(1) << fshift;
    uint32_t hint[HINTS] = {0};
    /* Prefetching: active while the last miss is less than HIT_STREAK accesses back; the next
     * group is due at access `next` (SIZE_MAX: inactive); prefetched up to near and far. */
    size_t i = 0, next = SIZE_MAX, last_miss = 0, near = 0, far = 0;
    int rc = 0;

    while (i < n) {
        if (next == SIZE_MAX) {
            /* The hit loop: leaves at the first access its hint does not find. No entry has the
             * key of an address at or past GPUSIM_GPU_VA_END, so those leave it too. */
            for (; i < n; i++) {
                uint64_t v = va[i];
                gpusim__gpu_tlb_entry *e = l1e + hint[(v >> GPUSIM__GPU_PAGE_SHIFT) & (HINTS - 1)];
                if (GPUSIM_UNLIKELY(e->key != (((v >> fshift) << 2) | fkey) || e->ctx != ctx))
                    break;
                if (GPUSIM_UNLIKELY(l1_hit(e, v, fsize, need, l1_ns, &clock, &out[i]) != 0)) {
                    rc = GPUSIM_EGPUFAULT;
                    goto end;
                }
            }
            if (i == n)
                break;
        } else if (i >= next) {
            if (i - last_miss >= HIT_STREAK) {
                next = SIZE_MAX; /* a run of hits: back to the hit loop */
                continue;
            }
            /* va[j > i] is read here for prefetching only: the access itself reads va[i] when
             * its turn comes, after out[0 .. i) are written, as single calls would. */
            size_t to = GPUSIM_MIN(n, i + 2 * GROUP);
            for (size_t j = GPUSIM_MAX(far, i + 1); j < to; j++)
                PT_PREFETCH(pt, va[j], 2);
            far = to;
            to = GPUSIM_MIN(n, i + GROUP);
            for (size_t j = GPUSIM_MAX(near, i + 1); j < to; j++) {
                PT_PREFETCH(pt, va[j], 1);
                gpusim__gpu_tlb_prefetch(t, va[j]);
            }
            near = to;
            next = i + GROUP / 2;
        }
        /* The general path, for access i. */
        uint64_t v = va[i];
        if (GPUSIM_UNLIKELY(v >= GPUSIM_GPU_VA_END)) {
            rc = GPUSIM_EFAULT; /* out[i] untouched, as by the single call */
            break;
        }
        unsigned h = (unsigned)(v >> GPUSIM__GPU_PAGE_SHIFT) & (HINTS - 1);
        gpusim__gpu_tlb_entry *e = l1e + hint[h];
        uint64_t size = fsize;
        if (e->key != (((v >> fshift) << 2) | fkey) || e->ctx != ctx) {
            e = gpusim__gpu_tlb_find(l1, ctx, v);
            if (e != NULL) {
                hint[h] = (uint32_t)(e - l1e);
                size = UINT64_C(1) << shift[(e->key & 3) - 1];
            }
        }
        if (e != NULL) {
            rc = l1_hit(e, v, size, need, l1_ns, &clock, &out[i]);
        } else {
            gpusim__gpu_xlate x;
            if (next == SIZE_MAX)
                next = i + 1; /* a miss: prefetch from the next access on */
            last_miss = i;
            misses++;
            t->clock = clock;
            rc = access_out(gpusim__gpu_tlb_translate_miss(t, engine, pt, v, &x), &x, write,
                            &out[i]);
            clock = t->clock;
            first = gpusim__gpu_tlb_first_class(l1);
            fshift = first < GPUSIM__GPU_TLB_CLASSES ? shift[first] : 63;
            fkey = first + 1;
            fsize = UINT64_C(1) << fshift;
        }
        if (GPUSIM_UNLIKELY(rc != 0))
            break;
        i++;
    }
end:
    t->clock = clock;
    gpusim__stat_add(l1->hits, i + (rc == GPUSIM_EGPUFAULT) - misses);
    *done = i;
    return rc;
}

int gpusim_gpu_access_batch(gpusim_gpu_ctx_t *c, unsigned engine, const uint64_t *va, size_t n,
                            bool write, gpusim_gpu_access_t *out, size_t *done)
{
    if (GPUSIM_UNLIKELY(!c || !out || !done || (!va && n) || engine >= c->gpu->engines))
        return GPUSIM_EINVAL;
    return batch(c, engine, va, n, write, out, done);
}
