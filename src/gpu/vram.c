/*
 * gpu/vram.c -- device frames in a two-level bitmap (gpu/vram.h).
 *
 * Why a bitmap and not a free list: a free list of 20 M frames would cost 8 bytes a frame up front,
 * and lowest-first allocation from a bitmap keeps page-table pages packed at the bottom of VRAM,
 * which makes allocation order (and so every frame number a test sees) easy to predict.
 */
#include <stdio.h>
#include <string.h>

#include "core/compiler.h"
#include "gpu/vram.h"

#define WORD_BITS 64u
#define ALL_ONES  UINT64_MAX

static inline unsigned ctz64(uint64_t x)
{
    return (unsigned)__builtin_ctzll(x);
}

/*
 * Bits set in x. The checker counts every word of a bitmap of up to 20 M frames, nearly all of
 * them all-zero or all-one: those are answered without counting, and the rest by a SWAR count,
 * since a build for generic x86-64 has no popcnt instruction and __builtin_popcountll becomes a
 * call into libgcc's table loop.
 */
static inline unsigned popcount64(uint64_t x)
{
    if (x == 0 || x == ALL_ONES)
        return x ? 64u : 0u;
    x = x - ((x >> 1) & UINT64_C(0x5555555555555555));
    x = (x & UINT64_C(0x3333333333333333)) + ((x >> 2) & UINT64_C(0x3333333333333333));
    x = (x + (x >> 4)) & UINT64_C(0x0f0f0f0f0f0f0f0f);
    return (unsigned)((x * UINT64_C(0x0101010101010101)) >> 56);
}

static inline bool bit_test(const uint64_t *b, uint64_t i)
{
    return (b[i / WORD_BITS] >> (i % WORD_BITS)) & 1u;
}

/* Recomputes the summary bit of word wi of `bits` after it changed. */
static void summary_update(gpusim__gpu_vram *v, size_t wi)
{
    uint64_t mask = UINT64_C(1) << (wi % WORD_BITS);
    if (v->bits[wi] == ALL_ONES) {
        v->full[wi / WORD_BITS] |= mask;
    } else {
        v->full[wi / WORD_BITS] &= ~mask;
        if (wi / WORD_BITS < v->hint)
            v->hint = wi / WORD_BITS;
    }
}

static void destroy(gpusim_world_t *w, gpusim__owned *o)
{
    gpusim__gpu_vram *v = gpusim_container_of(o, gpusim__gpu_vram, owned);
    gpusim__stat_adjust(v->st_used, -(int64_t)(v->used * GPUSIM__GPU_FRAME_SIZE));
    gpusim__stat_adjust(v->st_total, -(int64_t)(v->nframes * GPUSIM__GPU_FRAME_SIZE));
    gpusim__arena_free(&w->arena, v->bits, v->nwords * sizeof(uint64_t));
    gpusim__arena_free(&w->arena, v->full, v->nfull * sizeof(uint64_t));
    gpusim__arena_free(&w->arena, v, sizeof(*v));
}

static int register_stats(gpusim_world_t *w, const char *prefix, gpusim__gpu_vram *v)
{
    char name[GPUSIM_STAT_NAME_MAX + 1];
    int n = snprintf(name, sizeof name, "%s.vram.used_bytes", prefix);
    if (n < 0 || (size_t)n >= sizeof name)
        return GPUSIM_EINVAL;
    int rc = gpusim_stat_register(w, name, GPUSIM_STAT_GAUGE, "bytes", &v->st_used);
    if (rc != 0)
        return rc;
    snprintf(name, sizeof name, "%s.vram.total_bytes", prefix);
    return gpusim_stat_register(w, name, GPUSIM_STAT_GAUGE, "bytes", &v->st_total);
}

int gpusim__gpu_vram_new(gpusim_world_t *w, uint64_t bytes, const char *prefix,
                         gpusim__gpu_vram **out)
{
    if (w == NULL || prefix == NULL || out == NULL || bytes == 0 ||
        bytes % GPUSIM__GPU_FRAME_SIZE != 0)
        return GPUSIM_EINVAL;
    uint64_t nframes = bytes >> GPUSIM__GPU_FRAME_SHIFT;
    uint64_t nwords = (nframes + WORD_BITS - 1) / WORD_BITS;
    uint64_t nfull = (nwords + WORD_BITS - 1) / WORD_BITS;
    if (nwords > SIZE_MAX / sizeof(uint64_t))
        return GPUSIM_ENOMEM;

    gpusim__gpu_vram *v = gpusim__arena_zalloc(&w->arena, sizeof(*v));
    if (v == NULL)
        return GPUSIM_ENOMEM;
    v->world = w;
    v->nframes = nframes;
    v->nwords = (size_t)nwords;
    v->nfull = (size_t)nfull;
    v->bits = gpusim__arena_zalloc(&w->arena, v->nwords * sizeof(uint64_t));
    v->full = v->bits ? gpusim__arena_zalloc(&w->arena, v->nfull * sizeof(uint64_t)) : NULL;
    int rc = v->full ? register_stats(w, prefix, v) : GPUSIM_ENOMEM;
    if (rc != 0) {
        gpusim__arena_free(&w->arena, v->full, v->full ? v->nfull * sizeof(uint64_t) : 0);
        gpusim__arena_free(&w->arena, v->bits, v->bits ? v->nwords * sizeof(uint64_t) : 0);
        gpusim__arena_free(&w->arena, v, sizeof(*v));
        return rc;
    }
    /* Frames past the end are permanently "used" so that no search needs a bounds check. */
    if (nframes % WORD_BITS != 0) {
        v->bits[v->nwords - 1] = ALL_ONES << (nframes % WORD_BITS);
        summary_update(v, v->nwords - 1);
    }
    gpusim__stat_adjust(v->st_total, (int64_t)bytes);
    gpusim__world_own(w, &v->owned, destroy);
    *out = v;
    return 0;
}

void gpusim__gpu_vram_free(gpusim__gpu_vram *v)
{
    if (v == NULL)
        return;
    gpusim__world_disown(&v->owned);
    destroy(v->world, &v->owned);
}

/* Marks frames [first, first + n) used or free (they are known to be in the opposite state). */
static void mark(gpusim__gpu_vram *v, uint64_t first, uint64_t n, bool used)
{
    uint64_t f = first, end = first + n;
    while (f < end) {
        size_t wi = (size_t)(f / WORD_BITS);
        unsigned lo = (unsigned)(f % WORD_BITS);
        uint64_t span = GPUSIM_MIN(end - f, (uint64_t)(WORD_BITS - lo));
        uint64_t mask = (span == WORD_BITS ? ALL_ONES : ((UINT64_C(1) << span) - 1)) << lo;
        if (wi >= v->top)
            v->top = wi + 1;
        if (used)
            v->bits[wi] |= mask;
        else
            v->bits[wi] &= ~mask;
        summary_update(v, wi);
        f += span;
    }
    if (used)
        v->used += n;
    else
        v->used -= n;
    int64_t bytes = (int64_t)(n * GPUSIM__GPU_FRAME_SIZE);
    gpusim__stat_adjust(v->st_used, used ? bytes : -bytes);
}

int gpusim__gpu_vram_frame_alloc(gpusim__gpu_vram *v, uint64_t *frame)
{
    for (size_t si = v->hint; si < v->nfull; si++) {
        uint64_t free_words = ~v->full[si];
        if (si == v->nfull - 1 && v->nwords % WORD_BITS != 0)
            free_words &= (UINT64_C(1) << (v->nwords % WORD_BITS)) - 1; /* words that exist */
        if (free_words == 0) {
            v->hint = si + 1;
            continue;
        }
        size_t wi = si * WORD_BITS + ctz64(free_words);
        uint64_t f = (uint64_t)wi * WORD_BITS + ctz64(~v->bits[wi]);
        mark(v, f, 1, true);
        *frame = f;
        return 0;
    }
    return GPUSIM_ENOMEM;
}

/* The first used frame in [from, to), or `to` if there is none. */
static uint64_t first_used(const gpusim__gpu_vram *v, uint64_t from, uint64_t to)
{
    uint64_t f = from;
    while (f < to) {
        size_t wi = (size_t)(f / WORD_BITS);
        uint64_t word = v->bits[wi] >> (f % WORD_BITS);
        if (word != 0)
            return GPUSIM_MIN(to, f + ctz64(word));
        f = (uint64_t)(wi + 1) * WORD_BITS;
    }
    return to;
}

int gpusim__gpu_vram_frame_alloc_contig(gpusim__gpu_vram *v, uint64_t n, uint64_t align,
                                        uint64_t *first)
{
    if (n == 0 || align == 0 || (align & (align - 1)) != 0)
        return GPUSIM_EINVAL;
    uint64_t cand = 0;
    while (cand < v->nframes && n <= v->nframes - cand) {
        uint64_t u = first_used(v, cand, cand + n);
        if (u == cand + n) {
            mark(v, cand, n, true);
            *first = cand;
            return 0;
        }
        /* Skip past the used frame, to the next aligned candidate. */
        uint64_t next = (u + align) & ~(align - 1);
        if (next <= cand)
            break; /* overflow */
        cand = next;
    }
    return GPUSIM_ENOMEM;
}

int gpusim__gpu_vram_frame_free(gpusim__gpu_vram *v, uint64_t first, uint64_t n)
{
    if (n == 0 || first >= v->nframes || n > v->nframes - first)
        return GPUSIM_EINVAL;
    for (uint64_t f = first; f < first + n; f++)
        if (!bit_test(v->bits, f))
            return GPUSIM_EINVAL; /* a double free: refused rather than corrupting the count */
    mark(v, first, n, false);
    return 0;
}

bool gpusim__gpu_vram_frame_used(const gpusim__gpu_vram *v, uint64_t frame)
{
    return frame < v->nframes && bit_test(v->bits, frame);
}

/* Whether word wi of the bitmap agrees with its summary bit and the hint. */
static bool word_ok(const gpusim__gpu_vram *v, size_t wi)
{
    bool full = (v->full[wi / WORD_BITS] >> (wi % WORD_BITS)) & 1u;
    return full == (v->bits[wi] == ALL_ONES) && (full || wi / WORD_BITS >= v->hint);
}

/*
 * Words from `top` to the last but one were never written since the bitmap was allocated zeroed
 * (mark() is the only writer and raises `top`): they are zero and so are their summary bits, by
 * construction. The check reads [0, top) and the last word; of the rest it verifies only what
 * their being zero requires of the hint. A device of 80 GiB has 328 k words, of which a run
 * typically writes a few: reading them all cost a millisecond and faulted in 2.6 MB of zero pages.
 */
bool gpusim__gpu_vram_check(const gpusim__gpu_vram *v)
{
    uint64_t ones = 0;
    size_t last = v->nwords - 1, top = GPUSIM_MIN(v->top, last);
    for (size_t wi = 0; wi < top; wi++) {
        ones += popcount64(v->bits[wi]);
        if (!word_ok(v, wi))
            return false;
    }
    if (top < last && top / WORD_BITS < v->hint)
        return false; /* word `top` is zero, so not full: the hint may not pass it */
    ones += popcount64(v->bits[last]);
    if (!word_ok(v, last))
        return false;
    uint64_t padding = (uint64_t)v->nwords * WORD_BITS - v->nframes;
    if (padding != 0 &&
        (v->bits[last] >> (WORD_BITS - padding)) != (ALL_ONES >> (WORD_BITS - padding)))
        return false;
    /* Summary bits past the last word must be clear (they describe no word). */
    if (v->nwords % WORD_BITS != 0 && (v->full[v->nfull - 1] >> (v->nwords % WORD_BITS)) != 0)
        return false;
    return ones - padding == v->used && v->used <= v->nframes;
}
