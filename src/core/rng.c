/*
 * core/rng.c -- keyed random streams (see gpusim/rng.h).
 *
 * Stream derivation never draws from another stream: a stream's initial state is a hash of
 * (seed, key) or of (parent state, key), expanded to 256 bits with SplitMix64. SplitMix64 is a
 * bijection applied to distinct counter values, so four consecutive outputs are never all zero and
 * the xoshiro state is always valid.
 *
 * Floating point: the library is compiled with -ffp-contract=off, and gpusim__ln uses only +, -, *
 * and /, which IEEE-754 rounds correctly, so every variate is the same bit pattern on every
 * machine.
 */
#include <float.h>
#include <string.h>

#include "core/rng.h"

/*
 * Bit-identical results need every double operation rounded to double, not to a wider register
 * format (x87 on 32-bit x86 evaluates in 80 bits). Refuse to build where that is not so.
 */
#if !defined(FLT_EVAL_METHOD) || FLT_EVAL_METHOD != 0
#error                                                                                             \
    "gpusim needs FLT_EVAL_METHOD == 0 for deterministic floating point (on 32-bit x86: -msse2 -mfpmath=sse)"
#endif

#if defined(__SIZEOF_INT128__)
__extension__ typedef unsigned __int128 u128;
#endif

static void expand(gpusim_rng_t *rng, uint64_t x)
{
    for (int i = 0; i < 4; i++)
        rng->s[i] = gpusim__splitmix64(&x);
}

void gpusim_rng_seed(gpusim_rng_t *rng, uint64_t seed, uint64_t key)
{
    if (rng == NULL)
        return;
    expand(rng, gpusim__mix64(seed ^ gpusim__mix64(key + UINT64_C(0x9e3779b97f4a7c15))));
}

void gpusim_rng_split(const gpusim_rng_t *parent, uint64_t key, gpusim_rng_t *child)
{
    if (parent == NULL || child == NULL)
        return;
    uint64_t h = gpusim__mix64(key + UINT64_C(0x632be59bd9b4e019));
    for (int i = 0; i < 4; i++)
        h = gpusim__mix64(h ^ parent->s[i]);
    expand(child, h); /* parent is fully read before child is written: they may alias */
}

uint64_t gpusim_rng_key(const char *name)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325); /* FNV-1a 64 offset basis */
    if (name != NULL)
        for (const unsigned char *p = (const unsigned char *)name; *p; p++)
            h = (h ^ *p) * UINT64_C(0x100000001b3);
    return gpusim__mix64(h);
}

uint64_t gpusim_rng_next(gpusim_rng_t *rng)
{
    return rng != NULL ? gpusim__rng_next(rng) : 0;
}

/* High and low 64 bits of a 64x64-bit product. */
static inline uint64_t mul_hilo(uint64_t a, uint64_t b, uint64_t *lo)
{
#if defined(__SIZEOF_INT128__)
    u128 m = (u128)a * b;
    *lo = (uint64_t)m;
    return (uint64_t)(m >> 64);
#else
    uint64_t a_lo = (uint32_t)a, a_hi = a >> 32, b_lo = (uint32_t)b, b_hi = b >> 32;
    uint64_t ll = a_lo * b_lo, lh = a_lo * b_hi, hl = a_hi * b_lo, hh = a_hi * b_hi;
    uint64_t mid = (ll >> 32) + (uint32_t)lh + (uint32_t)hl;
    *lo = (mid << 32) | (uint32_t)ll;
    return hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
#endif
}

uint64_t gpusim_rng_below(gpusim_rng_t *rng, uint64_t bound)
{
    if (rng == NULL || bound <= 1)
        return 0;
    /* Lemire, "Fast random integer generation in an interval", ACM TOMACS 2019. */
    uint64_t lo, hi = mul_hilo(gpusim__rng_next(rng), bound, &lo);
    if (lo < bound) {
        uint64_t threshold = (0 - bound) % bound;
        while (lo < threshold)
            hi = mul_hilo(gpusim__rng_next(rng), bound, &lo);
    }
    return hi;
}

double gpusim_rng_double(gpusim_rng_t *rng)
{
    if (rng == NULL)
        return 0.0;
    return (double)(gpusim__rng_next(rng) >> 11) * 0x1.0p-53;
}

/*
 * ln(x) = e*ln2 + ln(m), with x = m * 2^e and m in [sqrt(1/2), sqrt(2)). For ln(m) the series
 * ln((1+s)/(1-s)) = 2(s + s^3/3 + s^5/5 + ...) with s = (m-1)/(m+1), |s| <= 0.1716, converges to
 * double precision within 12 terms. ln2 is split in a high part with trailing zero bits (exact when
 * multiplied by the exponent) and a low correction, as fdlibm does. Error: about 1 ulp.
 */
double gpusim__ln(double x)
{
    static const double ln2_hi = 6.93147180369123816490e-01;
    static const double ln2_lo = 1.90821492927058770002e-10;
    uint64_t bits;
    memcpy(&bits, &x, sizeof(bits));
    int e = (int)((bits >> 52) & 0x7ff);
    if (e == 0) { /* subnormal: scale into the normal range first */
        x *= 0x1.0p54;
        memcpy(&bits, &x, sizeof(bits));
        e = (int)((bits >> 52) & 0x7ff) - 54;
    }
    e -= 1023;
    bits = (bits & ((UINT64_C(1) << 52) - 1)) | (UINT64_C(1023) << 52); /* m in [1, 2) */
    double m;
    memcpy(&m, &bits, sizeof(m));
    if (m > 1.4142135623730951) {
        m *= 0.5;
        e += 1;
    }
    double s = (m - 1.0) / (m + 1.0);
    double s2 = s * s;
    double poly = 0.0;
    for (int k = 23; k >= 3; k -= 2)
        poly = (poly + 1.0 / k) * s2;
    double ln_m = 2.0 * s + 2.0 * s * poly;
    return (double)e * ln2_hi + (ln_m + (double)e * ln2_lo);
}

double gpusim_rng_exponential(gpusim_rng_t *rng, double mean)
{
    if (rng == NULL || !(mean > 0.0 && mean <= DBL_MAX)) /* also rejects NaN and infinity */
        return 0.0;
    /* u in (0, 1]: never 0, so the logarithm is finite. */
    double u = (double)((gpusim__rng_next(rng) >> 11) + 1) * 0x1.0p-53;
    return -mean * gpusim__ln(u);
}
