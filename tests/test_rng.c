/*
 * tests/test_rng.c -- the keyed random streams of core/rng.c (gpusim/rng.h).
 *
 * Covers:
 *   - known answers: xoshiro256** from the state {1, 2, 3, 4}; the state gpusim_rng_seed() derives
 *     for (0, 0); gpusim_rng_split() and gpusim_rng_key() results; gpusim__ln() bit patterns;
 *   - determinism of (seed, key) streams and their sensitivity to seed and key;
 *   - keyed independence of world streams (creation order does not matter, the seed does);
 *   - gpusim_rng_split(): parent untouched, deterministic, key-sensitive, aliasing allowed;
 *   - gpusim_rng_key(): deterministic, NULL == "", no collisions over 10000 names;
 *   - gpusim_rng_below(): degenerate bounds, range, chi-square uniformity, no modulo bias;
 *   - gpusim_rng_double(): range, 53-bit construction, mean;
 *   - gpusim_rng_exponential(): range, mean and variance, non-positive and NaN means;
 *   - gpusim__ln() against libm's log() and its bit-level determinism through a checksum of
 *     exponential variates.
 *
 * Every expected constant below was computed by an independent Python model of the documented
 * algorithms (Python ints masked to 64 bits for the integer parts; Python floats, which are
 * IEEE-754 binary64 with correctly rounded + - * /, evaluated in the same order as rng.c for the
 * float parts), not by printing what the C code returns. Where a published reference exists it
 * agrees too: the xoshiro256** outputs from {1, 2, 3, 4} start 11520, 0, 1509978240,
 * 1215971899390074240, and SplitMix64's first output from 0 is 0xe220a8397b1dcdaf.
 *
 * All draws come from fixed seeds, so the statistical checks are deterministic: they either always
 * pass or always fail for a given implementation.
 */
#include "test_util.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/rng.h"

#define SEQ_LEN 1000

/* The doubles nearest sqrt(2) and sqrt(1/2) (<math.h>'s M_SQRT2 is not ISO C). */
#define SQRT2   0x1.6a09e667f3bcdp+0
#define SQRT1_2 0x1.6a09e667f3bcdp-1

/* Fills out[] with the next SEQ_LEN outputs of r. */
static void draw_seq(gpusim_rng_t *r, uint64_t *out)
{
    for (int i = 0; i < SEQ_LEN; i++)
        out[i] = gpusim_rng_next(r);
}

/* Fails unless no position of a and b holds the same value. */
static void assert_seq_all_differ(const uint64_t *a, const uint64_t *b)
{
    for (int i = 0; i < SEQ_LEN; i++)
        if (a[i] == b[i])
            fail_msg("sequences agree at draw %d (0x%016llx)", i, (unsigned long long)a[i]);
}

static void assert_state_equal(const gpusim_rng_t *a, const gpusim_rng_t *b)
{
    for (int i = 0; i < 4; i++)
        assert_int_equal(a->s[i], b->s[i]);
}

static uint64_t double_bits(double x)
{
    uint64_t b;
    memcpy(&b, &x, sizeof(b));
    return b;
}

static double bits_double(uint64_t b)
{
    double x;
    memcpy(&x, &b, sizeof(x));
    return x;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* ------------------------------------------------------------------------------------------- */
/* Known answers                                                                               */
/* ------------------------------------------------------------------------------------------- */

static void test_next_known_answers_from_1234(void **state)
{
    (void)state;
    /*
     * Python: s = [1, 2, 3, 4]; result = rotl(s1 * 5, 7) * 9; t = s1 << 17; s2 ^= s0; s3 ^= s1;
     * s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = rotl(s3, 45), all mod 2^64. The first four match the
     * published reference outputs (11520, 0, 1509978240, 1215971899390074240).
     */
    static const uint64_t expected[8] = {
        UINT64_C(0x0000000000002d00), UINT64_C(0x0000000000000000), UINT64_C(0x000000005a007080),
        UINT64_C(0x10e0000000009d80), UINT64_C(0x10e0b61ce1009d80), UINT64_C(0x0870021ce143ad00),
        UINT64_C(0xe071c3c2e143f089), UINT64_C(0x75a1690ef7a20380),
    };
    static const uint64_t expected_state[4] = {
        UINT64_C(0xd058d4081b070347),
        UINT64_C(0x60785010040e8140),
        UINT64_C(0xe03808160b0380c3),
        UINT64_C(0x30204e0f198301a1),
    };
    gpusim_rng_t r = {{1, 2, 3, 4}};
    for (int i = 0; i < 8; i++)
        assert_int_equal(gpusim_rng_next(&r), expected[i]);
    for (int i = 0; i < 4; i++)
        assert_int_equal(r.s[i], expected_state[i]);
}

static void test_inline_next_matches_public_next(void **state)
{
    (void)state;
    gpusim_rng_t a, b;
    gpusim_rng_seed(&a, 5, 6);
    b = a;
    for (int i = 0; i < SEQ_LEN; i++)
        assert_int_equal(gpusim__rng_next(&a), gpusim_rng_next(&b));
}

static void test_seed_known_answer_0_0(void **state)
{
    (void)state;
    /*
     * Python model of rng.c: x = mix64(seed ^ mix64(key + 0x9e3779b97f4a7c15)), then four
     * SplitMix64 steps (x += 0x9e3779b97f4a7c15; s[i] = mix64(x)). For (0, 0) the inner mix64 is
     * SplitMix64's well-known first output 0xe220a8397b1dcdaf and x = 0x48218226ff3cd4bf.
     */
    static const uint64_t expected[4] = {
        UINT64_C(0x568a9b0b1a2c05ec),
        UINT64_C(0x44e5b8b147ef718b),
        UINT64_C(0x458563ab55521133),
        UINT64_C(0x7aec644539b6c0f9),
    };
    assert_int_equal(gpusim__mix64(UINT64_C(0x9e3779b97f4a7c15)), UINT64_C(0xe220a8397b1dcdaf));
    gpusim_rng_t r;
    gpusim_rng_seed(&r, 0, 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(r.s[i], expected[i]);
}

static void test_split_known_answer(void **state)
{
    (void)state;
    /*
     * Python model: h = mix64(key + 0x632be59bd9b4e019); h = mix64(h ^ parent.s[i]) for i = 0..3;
     * child = the SplitMix64 expansion of h. Parent is gpusim_rng_seed(0, 0), key 7.
     */
    static const uint64_t expected[4] = {
        UINT64_C(0x0e07d3709e2a10de),
        UINT64_C(0x1a7e163ce5f20f9a),
        UINT64_C(0xeb627be60dd8a9c5),
        UINT64_C(0x73beee55594fc7c9),
    };
    gpusim_rng_t parent, child;
    gpusim_rng_seed(&parent, 0, 0);
    gpusim_rng_split(&parent, 7, &child);
    for (int i = 0; i < 4; i++)
        assert_int_equal(child.s[i], expected[i]);
}

static void test_key_known_answers(void **state)
{
    (void)state;
    /* Python model: FNV-1a 64 over the bytes (basis 0xcbf29ce484222325, prime 0x100000001b3),
     * then mix64. "" is mix64 of the basis alone. */
    assert_int_equal(gpusim_rng_key(""), UINT64_C(0xf52a15e9a9b5e89b));
    assert_int_equal(gpusim_rng_key("kswapd"), UINT64_C(0x17f0e283e2f0a5e2));
}

/* ------------------------------------------------------------------------------------------- */
/* Determinism and keyed independence                                                          */
/* ------------------------------------------------------------------------------------------- */

static void test_same_seed_and_key_give_identical_sequences(void **state)
{
    (void)state;
    uint64_t a[SEQ_LEN], b[SEQ_LEN];
    gpusim_rng_t r1, r2;
    gpusim_rng_seed(&r1, 12345, 678);
    gpusim_rng_seed(&r2, 12345, 678);
    draw_seq(&r1, a);
    draw_seq(&r2, b);
    assert_memory_equal(a, b, sizeof(a));
}

static void test_different_key_or_seed_give_different_sequences(void **state)
{
    (void)state;
    uint64_t base[SEQ_LEN], other[SEQ_LEN];
    gpusim_rng_t r;
    gpusim_rng_seed(&r, 12345, 678);
    draw_seq(&r, base);

    gpusim_rng_seed(&r, 12345, 679); /* neighbouring key */
    draw_seq(&r, other);
    assert_seq_all_differ(base, other);

    gpusim_rng_seed(&r, 12346, 678); /* neighbouring seed */
    draw_seq(&r, other);
    assert_seq_all_differ(base, other);

    /* Swapping seed and key gives another stream too. */
    uint64_t ab[SEQ_LEN], ba[SEQ_LEN];
    gpusim_rng_seed(&r, 0, 1);
    draw_seq(&r, ab);
    gpusim_rng_seed(&r, 1, 0);
    draw_seq(&r, ba);
    assert_seq_all_differ(ab, ba);
}

static void test_world_stream_independent_of_other_streams(void **state)
{
    (void)state;
    uint64_t a1[SEQ_LEN], a2[SEQ_LEN], a3[SEQ_LEN], bseq[SEQ_LEN];
    gpusim_world_t *w1 = test_world(2024);
    gpusim_world_t *w2 = test_world(2024);
    gpusim_world_t *w3 = test_world(2025);
    gpusim_rng_t b, c, a;

    /* World 1 creates and uses "b" and "c" before "a"; world 2 creates only "a". */
    ASSERT_OK(gpusim_world_rng(w1, "b", &b));
    draw_seq(&b, bseq);
    ASSERT_OK(gpusim_world_rng(w1, "c", &c));
    for (int i = 0; i < 17; i++)
        (void)gpusim_rng_next(&c);
    ASSERT_OK(gpusim_world_rng(w1, "a", &a));
    draw_seq(&a, a1);

    ASSERT_OK(gpusim_world_rng(w2, "a", &a));
    draw_seq(&a, a2);
    assert_memory_equal(a1, a2, sizeof(a1));

    /* Another stream of the same world, and the same stream of another seed, differ. */
    assert_seq_all_differ(a1, bseq);
    ASSERT_OK(gpusim_world_rng(w3, "a", &a));
    draw_seq(&a, a3);
    assert_seq_all_differ(a1, a3);

    gpusim_world_free(w1);
    gpusim_world_free(w2);
    gpusim_world_free(w3);
    ASSERT_NO_LEAK();
}

static void test_world_rng_rejects_null(void **state)
{
    (void)state;
    gpusim_world_t *w = test_world(1);
    gpusim_rng_t r;
    ASSERT_ERR(gpusim_world_rng(NULL, "a", &r), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_world_rng(w, NULL, &r), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_world_rng(w, "a", NULL), GPUSIM_EINVAL);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* ------------------------------------------------------------------------------------------- */
/* gpusim_rng_split                                                                            */
/* ------------------------------------------------------------------------------------------- */

static void test_split_does_not_modify_parent(void **state)
{
    (void)state;
    gpusim_rng_t parent, before, child;
    gpusim_rng_seed(&parent, 99, 1);
    before = parent;
    gpusim_rng_split(&parent, 3, &child);
    gpusim_rng_split(&parent, 4, &child);
    assert_state_equal(&parent, &before);
}

static void test_split_same_key_gives_same_child(void **state)
{
    (void)state;
    uint64_t a[SEQ_LEN], b[SEQ_LEN];
    gpusim_rng_t parent, c1, c2, other;
    gpusim_rng_seed(&parent, 99, 1);
    gpusim_rng_split(&parent, 3, &c1);
    gpusim_rng_split(&parent, 5, &other); /* a child derived in between changes nothing */
    gpusim_rng_split(&parent, 3, &c2);
    assert_state_equal(&c1, &c2);
    draw_seq(&c1, a);
    draw_seq(&c2, b);
    assert_memory_equal(a, b, sizeof(a));
}

static void test_split_different_keys_give_different_children(void **state)
{
    (void)state;
    uint64_t a[SEQ_LEN], b[SEQ_LEN];
    gpusim_rng_t parent, c1, c2;
    gpusim_rng_seed(&parent, 99, 1);
    gpusim_rng_split(&parent, 3, &c1);
    gpusim_rng_split(&parent, 4, &c2);
    draw_seq(&c1, a);
    draw_seq(&c2, b);
    assert_seq_all_differ(a, b);
}

static void test_split_child_differs_from_parent(void **state)
{
    (void)state;
    uint64_t p[SEQ_LEN], c[SEQ_LEN];
    gpusim_rng_t parent, child;
    gpusim_rng_seed(&parent, 99, 1);
    gpusim_rng_split(&parent, 0, &child);
    draw_seq(&parent, p);
    draw_seq(&child, c);
    assert_seq_all_differ(p, c);
}

static void test_split_child_may_alias_parent(void **state)
{
    (void)state;
    gpusim_rng_t r, copy, separate;
    gpusim_rng_seed(&r, 99, 1);
    for (int i = 0; i < 5; i++)
        (void)gpusim_rng_next(&r);
    copy = r;
    gpusim_rng_split(&copy, 7, &separate);
    gpusim_rng_split(&r, 7, &r);
    assert_state_equal(&r, &separate);
}

/* ------------------------------------------------------------------------------------------- */
/* gpusim_rng_key                                                                              */
/* ------------------------------------------------------------------------------------------- */

static void test_key_deterministic_and_null_is_empty(void **state)
{
    (void)state;
    char name[16];
    snprintf(name, sizeof(name), "%s", "kswapd");
    assert_int_equal(gpusim_rng_key("kswapd"), gpusim_rng_key(name));
    assert_int_equal(gpusim_rng_key(NULL), gpusim_rng_key(""));
    assert_int_not_equal(gpusim_rng_key("kswapd"), gpusim_rng_key("kswapd0"));
    assert_int_not_equal(gpusim_rng_key("a"), gpusim_rng_key(""));
}

#define N_KEYS 10000

static void test_key_no_collisions_over_10000_names(void **state)
{
    (void)state;
    static uint64_t keys[N_KEYS];
    char name[32];
    for (int i = 0; i < N_KEYS; i++) {
        snprintf(name, sizeof(name), "actor-%d", i);
        keys[i] = gpusim_rng_key(name);
    }
    qsort(keys, N_KEYS, sizeof(keys[0]), cmp_u64);
    for (int i = 1; i < N_KEYS; i++)
        if (keys[i] == keys[i - 1])
            fail_msg("two names hash to 0x%016llx", (unsigned long long)keys[i]);
}

/* ------------------------------------------------------------------------------------------- */
/* gpusim_rng_below                                                                            */
/* ------------------------------------------------------------------------------------------- */

static void test_below_degenerate_bounds_return_zero(void **state)
{
    (void)state;
    gpusim_rng_t r;
    gpusim_rng_seed(&r, 7, 7);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(gpusim_rng_below(&r, 0), 0);
        assert_int_equal(gpusim_rng_below(&r, 1), 0);
    }
}

static void test_below_results_less_than_bound(void **state)
{
    (void)state;
    static const uint64_t bounds[] = {
        2, 3, 10, (UINT64_C(1) << 32) + 1, (UINT64_C(1) << 63) + 1, UINT64_MAX,
    };
    gpusim_rng_t r;
    gpusim_rng_seed(&r, 7, 8);
    for (size_t b = 0; b < sizeof(bounds) / sizeof(bounds[0]); b++) {
        uint64_t max_seen = 0;
        for (int i = 0; i < 10000; i++) {
            uint64_t v = gpusim_rng_below(&r, bounds[b]);
            assert_true(v < bounds[b]);
            if (v > max_seen)
                max_seen = v;
        }
        /* The top of the range is reached too: for the small bounds exactly, for the large ones
         * the maximum of 10000 draws is well into the top half. */
        assert_true(max_seen >= bounds[b] / 2);
        if (bounds[b] <= 10)
            assert_int_equal(max_seen, bounds[b] - 1);
    }
}

/* Pearson's chi-square statistic of `draws` values of gpusim_rng_below(bound) over `bound` bins. */
static double chi_square_below(uint64_t seed, uint64_t bound, int draws)
{
    uint64_t counts[16] = {0};
    gpusim_rng_t r;
    assert_true(bound <= 16);
    gpusim_rng_seed(&r, seed, gpusim_rng_key("chi-square"));
    for (int i = 0; i < draws; i++) {
        uint64_t v = gpusim_rng_below(&r, bound);
        assert_true(v < bound);
        counts[v]++;
    }
    double expected = (double)draws / (double)bound, chi2 = 0.0;
    for (uint64_t i = 0; i < bound; i++) {
        double d = (double)counts[i] - expected;
        chi2 += d * d / expected;
    }
    return chi2;
}

static void test_below_uniform_chi_square(void **state)
{
    (void)state;
    /* Critical values of chi-square at p = 0.001: 27.877 for 9 degrees of freedom, 13.816 for 2. */
    double chi10 = chi_square_below(31337, 10, 100000);
    double chi3 = chi_square_below(31337, 3, 100000);
    if (!(chi10 < 27.877))
        fail_msg("bound 10: chi-square %.3f >= 27.877", chi10);
    if (!(chi3 < 13.816))
        fail_msg("bound 3: chi-square %.3f >= 13.816", chi3);
}

static void test_below_not_modulo_biased(void **state)
{
    (void)state;
    /*
     * bound = 3 * 2^62, where 2^64 / bound = 4/3, so any draw without rejection is badly biased:
     *   - naive `next % bound` maps both [0, 2^62) and [3 * 2^62, 2^64) onto [0, 2^62), so half
     *     the values would land below 2^62 instead of a third;
     *   - Lemire's multiply-shift without its rejection step, floor(next * bound / 2^64) =
     *     floor(3 * next / 4), gives two preimages to every multiple of 3 and one to the others,
     *     so half the values would be multiples of 3 instead of a third.
     * An unbiased draw puts a third of the values in each class.
     */
    const uint64_t bound = (UINT64_C(1) << 63) + (UINT64_C(1) << 62);
    const uint64_t low = UINT64_C(1) << 62;
    const int draws = 200000;
    gpusim_rng_t r;
    gpusim_rng_seed(&r, 4242, gpusim_rng_key("bias"));
    int below_low = 0, multiple_of_3 = 0;
    for (int i = 0; i < draws; i++) {
        uint64_t v = gpusim_rng_below(&r, bound);
        assert_true(v < bound);
        below_low += v < low;
        multiple_of_3 += v % 3 == 0;
    }
    double frac_low = (double)below_low / draws;
    double frac_3 = (double)multiple_of_3 / draws;
    if (fabs(frac_low - 1.0 / 3.0) > 0.01 / 3.0)
        fail_msg("fraction below 2^62 is %.5f, want 1/3 within 1%%", frac_low);
    if (fabs(frac_3 - 1.0 / 3.0) > 0.01 / 3.0)
        fail_msg("fraction of multiples of 3 is %.5f, want 1/3 within 1%%", frac_3);
}

/* ------------------------------------------------------------------------------------------- */
/* gpusim_rng_double                                                                           */
/* ------------------------------------------------------------------------------------------- */

static void test_double_in_unit_interval_with_mean_half(void **state)
{
    (void)state;
    const int draws = 1000000;
    gpusim_rng_t r;
    gpusim_rng_seed(&r, 555, gpusim_rng_key("double"));
    double sum = 0.0;
    for (int i = 0; i < draws; i++) {
        double d = gpusim_rng_double(&r);
        if (!(d >= 0.0 && d < 1.0))
            fail_msg("draw %d = %.17g is outside [0, 1)", i, d);
        sum += d;
    }
    double mean = sum / draws;
    if (fabs(mean - 0.5) > 0.002)
        fail_msg("mean %.6f is not within 0.002 of 0.5", mean);
}

static void test_double_is_top_53_bits_scaled(void **state)
{
    (void)state;
    gpusim_rng_t a, b;
    gpusim_rng_seed(&a, 556, 0);
    b = a;
    for (int i = 0; i < SEQ_LEN; i++) {
        double d = gpusim_rng_double(&a);
        uint64_t n = gpusim_rng_next(&b);
        assert_true(d == (double)(n >> 11) * 0x1.0p-53);
    }
    /* From {1, 2, 3, 4} the first output is 0x2d00, so the first double is 5 * 2^-53. */
    gpusim_rng_t k = {{1, 2, 3, 4}};
    assert_true(gpusim_rng_double(&k) == 5.0 * 0x1.0p-53);
    /* The largest value is 1 - 2^-53, never 1: an all-ones output maps below 1. */
    assert_true((double)(UINT64_MAX >> 11) * 0x1.0p-53 < 1.0);
}

/* ------------------------------------------------------------------------------------------- */
/* gpusim_rng_exponential                                                                      */
/* ------------------------------------------------------------------------------------------- */

static void test_exponential_mean_and_variance(void **state)
{
    (void)state;
    const int draws = 1000000;
    const double want = 1000.0;
    gpusim_rng_t r;
    gpusim_rng_seed(&r, 777, gpusim_rng_key("exponential"));
    double sum = 0.0, sum_sq = 0.0;
    for (int i = 0; i < draws; i++) {
        double x = gpusim_rng_exponential(&r, want);
        if (!(x >= 0.0) || !isfinite(x))
            fail_msg("draw %d = %.17g is negative or not finite", i, x);
        sum += x;
        sum_sq += x * x;
    }
    double mean = sum / draws;
    double var = sum_sq / draws - mean * mean;
    if (fabs(mean - want) > 0.01 * want)
        fail_msg("mean %.3f is not within 1%% of %.1f", mean, want);
    if (fabs(var - want * want) > 0.03 * want * want)
        fail_msg("variance %.1f is not within 3%% of %.1f", var, want * want);
}

static void test_exponential_rejects_nonfinite_or_nonpositive_mean(void **state)
{
    (void)state;
    static const double bad[] = {0.0, -0.0, -1.0, -1000.0, -INFINITY, INFINITY};
    gpusim_rng_t r;
    gpusim_rng_seed(&r, 778, 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_true(gpusim_rng_exponential(&r, bad[i]) == 0.0);
    assert_true(gpusim_rng_exponential(&r, NAN) == 0.0);
    assert_true(gpusim_rng_exponential(&r, -NAN) == 0.0);
}

static void test_exponential_checksum_matches_python_model(void **state)
{
    (void)state;
    /*
     * Stream gpusim_rng_seed(&r, 2024, 7), mean 1000.0, 1000 draws. Python model of rng.c:
     * u = float((next >> 11) + 1) * 2.0**-53; x = -mean * ln(u), with ln() transcribed from
     * gpusim__ln() (same constants, same operation order, subnormal scaling by 2^54, 11-term
     * Horner loop k = 23, 21, ..., 3). First draw 4705.6529208480615; XOR of all bit patterns
     * 0x00064403285558d8. A mismatch means the floating-point path is not bit-reproducible (for
     * instance an FMA contraction or a changed operation order).
     */
    gpusim_rng_t r;
    gpusim_rng_seed(&r, 2024, 7);
    uint64_t first = 0, xor_sum = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t b = double_bits(gpusim_rng_exponential(&r, 1000.0));
        if (i == 0)
            first = b;
        xor_sum ^= b;
    }
    assert_int_equal(first, UINT64_C(0x40b261a725d2194d));
    assert_int_equal(xor_sum, UINT64_C(0x00064403285558d8));
}

/* ------------------------------------------------------------------------------------------- */
/* gpusim__ln                                                                                  */
/* ------------------------------------------------------------------------------------------- */

/* Fails unless gpusim__ln(x) is within 4 DBL_EPSILON relative error of libm's log(x). */
static void check_ln(double x)
{
    double got = gpusim__ln(x), ref = log(x);
    if (!isfinite(got))
        fail_msg("gpusim__ln(%a) = %a is not finite", x, got);
    if (fabs(got - ref) > 4.0 * DBL_EPSILON * fabs(ref))
        fail_msg("gpusim__ln(%a) = %.17g, log() = %.17g: relative error %.3g eps", x, got, ref,
                 fabs(got - ref) / fabs(ref) / DBL_EPSILON);
}

static void test_ln_matches_libm_on_random_values(void **state)
{
    (void)state;
    gpusim_rng_t r;
    gpusim_rng_seed(&r, 9001, gpusim_rng_key("ln"));
    int checked = 0;
    for (int i = 0; i < 100000; i++) {
        double d = gpusim_rng_double(&r);
        if (d == 0.0)
            continue;
        check_ln(d);
        /* The same mantissa across the whole exponent range, subnormals included. */
        check_ln(ldexp(d, (int)gpusim_rng_below(&r, 2100) - 1075));
        checked++;
    }
    assert_true(checked > 99990);
}

static void test_ln_edge_values(void **state)
{
    (void)state;
    assert_true(double_bits(gpusim__ln(1.0)) == double_bits(0.0)); /* exactly +0.0 */

    const double edges[] = {
        2.0,
        0.5,
        1e-300,
        DBL_MIN,
        4.9e-324, /* the smallest subnormal, 2^-1074 */
        1e-310,
        DBL_MAX,
        SQRT2,
        nextafter(SQRT2, 0.0),
        nextafter(SQRT2, 2.0),
        SQRT1_2,
        nextafter(SQRT1_2, 0.0),
        nextafter(SQRT1_2, 1.0),
        nextafter(1.0, 0.0),
        nextafter(1.0, 2.0),
        1.0 + 1e-10,
        1.0 - 1e-10,
        nextafter(2.0, 0.0),
        nextafter(DBL_MIN, 0.0), /* the largest subnormal */
        0.1,
        3.0,
        10.0,
    };
    for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++)
        check_ln(edges[i]);
}

static void test_ln_known_bit_patterns(void **state)
{
    (void)state;
    /*
     * From the Python transcription of gpusim__ln(). ln(sqrt(2)) and ln(sqrt(1/2)) are where the
     * range reduction switches; gpusim's result there is 1 ulp from the correctly rounded one,
     * which the 4 DBL_EPSILON bound of check_ln() allows, but it must be the same ulp everywhere.
     */
    static const struct {
        uint64_t x, ln;
    } kat[] = {
        {UINT64_C(0x3ff6a09e667f3bcd), UINT64_C(0x3fd62e42fefa39f1)}, /* sqrt(2): libm ...39f0 */
        {UINT64_C(0x3fe6a09e667f3bcd), UINT64_C(0xbfd62e42fefa39ed)}, /* sqrt(1/2): libm ...39ee */
        {UINT64_C(0x0000000000000001), UINT64_C(0xc0874385446d71c3)}, /* 2^-1074 */
        {UINT64_C(0x000fffffffffffff), UINT64_C(0xc086232bdd7abcd2)}, /* largest subnormal */
        {UINT64_C(0x7fefffffffffffff), UINT64_C(0x40862e42fefa39ef)}, /* DBL_MAX */
        {UINT64_C(0x3fb999999999999a), UINT64_C(0xc0026bb1bbb55515)}, /* 0.1 */
        {UINT64_C(0x3fefffffffffffff), UINT64_C(0xbca0000000000000)}, /* 1 - 2^-53 */
    };
    for (size_t i = 0; i < sizeof(kat) / sizeof(kat[0]); i++) {
        double got = gpusim__ln(bits_double(kat[i].x));
        if (double_bits(got) != kat[i].ln)
            fail_msg("gpusim__ln(%a) = %a, want %a", bits_double(kat[i].x), got,
                     bits_double(kat[i].ln));
    }
}

static void test_null_stream_is_harmless(void **state)
{
    (void)state;
    gpusim_rng_t r, copy;
    gpusim_rng_seed(&r, 5, 6);
    copy = r;
    gpusim_rng_seed(NULL, 1, 2);
    gpusim_rng_split(NULL, 3, &r);
    gpusim_rng_split(&r, 3, NULL);
    assert_memory_equal(&r, &copy, sizeof(r)); /* nothing was written anywhere */
    assert_int_equal(gpusim_rng_next(NULL), 0);
    assert_int_equal(gpusim_rng_below(NULL, 100), 0);
    assert_true(gpusim_rng_double(NULL) == 0.0);
    assert_true(gpusim_rng_exponential(NULL, 10.0) == 0.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        GPUSIM_TEST(test_next_known_answers_from_1234),
        GPUSIM_TEST(test_inline_next_matches_public_next),
        GPUSIM_TEST(test_seed_known_answer_0_0),
        GPUSIM_TEST(test_split_known_answer),
        GPUSIM_TEST(test_key_known_answers),
        GPUSIM_TEST(test_same_seed_and_key_give_identical_sequences),
        GPUSIM_TEST(test_different_key_or_seed_give_different_sequences),
        GPUSIM_TEST(test_world_stream_independent_of_other_streams),
        GPUSIM_TEST(test_world_rng_rejects_null),
        GPUSIM_TEST(test_split_does_not_modify_parent),
        GPUSIM_TEST(test_split_same_key_gives_same_child),
        GPUSIM_TEST(test_split_different_keys_give_different_children),
        GPUSIM_TEST(test_split_child_differs_from_parent),
        GPUSIM_TEST(test_split_child_may_alias_parent),
        GPUSIM_TEST(test_key_deterministic_and_null_is_empty),
        GPUSIM_TEST(test_key_no_collisions_over_10000_names),
        GPUSIM_TEST(test_below_degenerate_bounds_return_zero),
        GPUSIM_TEST(test_below_results_less_than_bound),
        GPUSIM_TEST(test_below_uniform_chi_square),
        GPUSIM_TEST(test_below_not_modulo_biased),
        GPUSIM_TEST(test_double_in_unit_interval_with_mean_half),
        GPUSIM_TEST(test_double_is_top_53_bits_scaled),
        GPUSIM_TEST(test_exponential_mean_and_variance),
        GPUSIM_TEST(test_exponential_rejects_nonfinite_or_nonpositive_mean),
        GPUSIM_TEST(test_exponential_checksum_matches_python_model),
        GPUSIM_TEST(test_ln_matches_libm_on_random_values),
        GPUSIM_TEST(test_ln_edge_values),
        GPUSIM_TEST(test_ln_known_bit_patterns),
        GPUSIM_TEST(test_null_stream_is_harmless),
    };
    return cmocka_run_group_tests_name("rng", tests, NULL, NULL);
}
