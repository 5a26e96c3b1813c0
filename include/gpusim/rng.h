/*
 * gpusim/rng.h -- deterministic, keyed random streams. Part of <gpusim.h>.
 *
 * Every actor in a world draws from its own stream. A stream is derived from (world seed, stream
 * name) or from (parent stream, key) by hashing, never by drawing from a shared generator, so
 * adding an actor, or creating actors in another order, leaves every other actor's numbers
 * unchanged.
 *
 * The generator is xoshiro256** (Blackman and Vigna, "Scrambled linear pseudorandom number
 * generators", ACM TOMS 2021): 256 bits of state, period 2^256 - 1, passes BigCrush, about 1 ns per
 * draw. Seeds are expanded with SplitMix64 so that similar seeds give unrelated states. Derived
 * floating-point variates use only correctly rounded IEEE operations, so results are bit-identical
 * on every machine.
 *
 * Bad arguments never crash: with a NULL stream the setters do nothing and the draws return 0.
 */
#ifndef GPUSIM_RNG_H
#define GPUSIM_RNG_H

#ifndef GPUSIM_H_INSIDE
#error "include <gpusim.h>, not its parts"
#endif

GPUSIM_BEGIN_DECLS

/**
 * One random stream. Caller-allocated (embed it in the actor that uses it); copying it forks the
 * stream. The state is never all zero.
 */
typedef struct gpusim_rng_s {
    uint64_t s[4]; /**< Private generator state. */
} gpusim_rng_t;

/**
 * Initialises a stream from a seed and a stream key. (seed, key) is hashed to 64 bits and expanded,
 * so two different pairs give unrelated streams except with probability 2^-64.
 */
GPUSIM_EXTERN void gpusim_rng_seed(gpusim_rng_t *rng, uint64_t seed, uint64_t key);

/**
 * Derives the child stream `key` of `parent` without advancing the parent: the same parent state
 * and key always give the same child, whatever other children were derived before. `child` may be
 * the same object as `parent`.
 */
GPUSIM_EXTERN void gpusim_rng_split(const gpusim_rng_t *parent, uint64_t key, gpusim_rng_t *child);

/** Returns the next 64 uniformly distributed bits of the stream. */
GPUSIM_EXTERN uint64_t gpusim_rng_next(gpusim_rng_t *rng);

/**
 * Returns a uniformly distributed integer in [0, bound), without modulo bias (Lemire's method).
 * Returns 0 when bound is 0 or 1.
 */
GPUSIM_EXTERN uint64_t gpusim_rng_below(gpusim_rng_t *rng, uint64_t bound);

/** Returns a uniformly distributed double in [0, 1) with 53 random bits. */
GPUSIM_EXTERN double gpusim_rng_double(gpusim_rng_t *rng);

/**
 * Returns an exponentially distributed value with the given mean, e.g. Poisson inter-arrival
 * times. Returns 0 when mean is not a positive finite number. Bit-identical on every IEEE-754
 * machine: the logarithm is gpusim's own, not libm's.
 */
GPUSIM_EXTERN double gpusim_rng_exponential(gpusim_rng_t *rng, double mean);

/**
 * Hashes a stream name to a stream key (64-bit FNV-1a, then a SplitMix64 finaliser). Useful to key
 * streams by actor name: gpusim_rng_seed(&r, seed, gpusim_rng_key("kswapd")). NULL hashes as "".
 */
GPUSIM_EXTERN uint64_t gpusim_rng_key(const char *name);

GPUSIM_END_DECLS

#endif /* GPUSIM_RNG_H */
