/*
 * core/hist.c -- log-linear histograms (layout and error bound in core/hist.h).
 */
#include <string.h>

#include "gpusim.h"
#include "core/compiler.h"
#include "core/hist.h"

#define K GPUSIM__HIST_SUB_BITS

/* Position of the highest set bit of v > 0. */
static inline int msb(uint64_t v)
{
    return 63 - __builtin_clzll(v);
}

/* Maps a value to (chunk, bucket-within-chunk). */
static inline void locate(uint64_t v, unsigned *chunk, unsigned *sub)
{
    if (v < GPUSIM__HIST_SUB) {
        *chunk = 0;
        *sub = (unsigned)v;
        return;
    }
    int m = msb(v);    /* m >= K */
    int shift = m - K; /* bucket width is 2^shift */
    *chunk = (unsigned)(shift + 1);
    *sub = (unsigned)((v >> shift) - GPUSIM__HIST_SUB);
}

/* The value reported for a bucket: the midpoint of [lo, lo + width - 1], rounded down. */
static uint64_t bucket_value(unsigned chunk, unsigned sub)
{
    if (chunk == 0)
        return sub;
    int shift = (int)chunk - 1;
    uint64_t lo = ((uint64_t)GPUSIM__HIST_SUB + sub) << shift;
    uint64_t width = UINT64_C(1) << shift;
    return lo + (width - 1) / 2;
}

void gpusim__hist_init(gpusim__hist *h)
{
    memset(h, 0, sizeof(*h));
    h->min = UINT64_MAX;
}

void gpusim__hist_destroy(gpusim__hist *h, gpusim__arena *a)
{
    for (unsigned c = 0; c < GPUSIM__HIST_CHUNKS; c++)
        gpusim__arena_free(a, h->chunks[c], GPUSIM__HIST_SUB * sizeof(uint64_t));
    gpusim__hist_init(h);
}

int gpusim__hist_record(gpusim__hist *h, gpusim__arena *a, uint64_t v)
{
    h->count++;
    h->sum = v > UINT64_MAX - h->sum ? UINT64_MAX : h->sum + v;
    if (v < h->min)
        h->min = v;
    if (v > h->max)
        h->max = v;
    unsigned chunk, sub;
    locate(v, &chunk, &sub);
    if (GPUSIM_UNLIKELY(h->chunks[chunk] == NULL)) {
        h->chunks[chunk] = gpusim__arena_zalloc(a, GPUSIM__HIST_SUB * sizeof(uint64_t));
        if (h->chunks[chunk] == NULL)
            return GPUSIM_ENOMEM;
    }
    h->chunks[chunk][sub]++;
    h->bucketed++;
    return 0;
}

uint64_t gpusim__hist_rank(double q, uint64_t n)
{
    if (n == 0)
        return 0;
    if (!(q > 0.0))
        return 1;
    /*
     * ceil(q * n) in floating point. Answer q >= 1 (and any product that reaches n) before the
     * conversion: (double)n rounds up to 2^64 for n near UINT64_MAX, and converting 2^64 to
     * uint64_t is undefined. For n above 2^53 the rank of 0 < q < 1 is exact to within the double's
     * rounding of n, which is far below a histogram bucket's width.
     */
    double x = q * (double)n;
    if (q >= 1.0 || x >= (double)n)
        return n;
    uint64_t r = (uint64_t)x;
    if ((double)r < x)
        r++;
    return r < 1 ? 1 : r > n ? n : r;
}

void gpusim__hist_quantiles(const gpusim__hist *h, const double *qs, uint64_t *out, int nq)
{
    int i = 0;
    if (h->count == 0) {
        for (; i < nq; i++)
            out[i] = 0;
        return;
    }
    /* The extremes are known exactly; answer them without the buckets. */
    for (int j = 0; j < nq; j++) {
        if (qs[j] <= 0.0)
            out[j] = h->min;
        else if (qs[j] >= 1.0)
            out[j] = h->max;
    }
    while (i < nq && qs[i] <= 0.0)
        i++;
    uint64_t seen = 0;
    for (unsigned c = 0; c < GPUSIM__HIST_CHUNKS && i < nq && qs[i] < 1.0; c++) {
        const uint64_t *b = h->chunks[c];
        if (b == NULL)
            continue;
        for (unsigned s = 0; s < GPUSIM__HIST_SUB && i < nq && qs[i] < 1.0; s++) {
            seen += b[s];
            while (i < nq && qs[i] < 1.0 && seen >= gpusim__hist_rank(qs[i], h->bucketed)) {
                uint64_t v = bucket_value(c, s);
                out[i++] = v < h->min ? h->min : v > h->max ? h->max : v;
            }
        }
    }
    /* Only reachable if no sample found a bucket (every chunk allocation failed). */
    for (; i < nq; i++)
        if (qs[i] < 1.0)
            out[i] = h->max;
}

bool gpusim__hist_check(const gpusim__hist *h)
{
    uint64_t total = 0;
    for (unsigned c = 0; c < GPUSIM__HIST_CHUNKS; c++)
        if (h->chunks[c] != NULL)
            for (unsigned s = 0; s < GPUSIM__HIST_SUB; s++)
                total += h->chunks[c][s];
    if (total != h->bucketed || h->bucketed > h->count)
        return false;
    if (h->count == 0)
        return h->min == UINT64_MAX && h->max == 0 && h->sum == 0;
    return h->min <= h->max;
}
