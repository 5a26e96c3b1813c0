/*
 * core/rng.h -- inline generator steps shared by the core and the modules' hot paths. Internal.
 *
 * The public functions in gpusim/rng.h wrap these; modules that draw per access (access-pattern
 * generators) call the inline versions to avoid a call per draw.
 */
#ifndef GPUSIM_CORE_RNG_H
#define GPUSIM_CORE_RNG_H

#include <stdint.h>

#include "gpusim.h"

static inline uint64_t gpusim__rotl64(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* SplitMix64's output function: a bijective 64-bit mixer with full avalanche. */
static inline uint64_t gpusim__mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* One step of SplitMix64: advances *state by the golden-ratio increment and mixes it. */
static inline uint64_t gpusim__splitmix64(uint64_t *state)
{
    *state += UINT64_C(0x9e3779b97f4a7c15);
    return gpusim__mix64(*state);
}

/* One step of xoshiro256**. */
static inline uint64_t gpusim__rng_next(gpusim_rng_t *r)
{
    uint64_t *s = r->s;
    uint64_t result = gpusim__rotl64(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = gpusim__rotl64(s[3], 45);
    return result;
}

/* Natural logarithm of x > 0 from basic IEEE operations only (bit-identical everywhere). */
double gpusim__ln(double x);

#endif /* GPUSIM_CORE_RNG_H */
