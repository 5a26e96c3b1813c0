/*
 * tests/test_hist.c -- the log-linear histogram (core/hist.c) and its public face through the
 * statistics registry (gpusim_stat_record, gpusim_stats_get, gpusim_stats_quantile).
 *
 * Covers: the documented quantile error bound (|reported - exact| <= exact * GPUSIM_HIST_REL_ERROR)
 * against exact nearest-rank quantiles of several deterministic data sets, with samples below 256
 * kept exactly; q = 0 and q = 1 giving min and max exactly; exact count, sum (saturating), min and
 * max; the empty histogram; values at every bucket and chunk boundary up to UINT64_MAX;
 * gpusim__hist_rank edge cases; a failed chunk allocation (the sample counts but is not bucketed);
 * and the argument checking of gpusim_stats_quantile. Every test frees what it creates and ends
 * with ASSERT_NO_LEAK().
 */
#include "test_util.h"

#include <math.h>

#include <stdio.h>
#include <stdlib.h>

#include "core/hist.h"

#define N_SAMPLES 20000

/* The quantiles checked against exact ones (ascending, as gpusim__hist_quantiles requires). */
static const double check_qs[] = {0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 0.9999};
#define N_QS ((int)(sizeof(check_qs) / sizeof(check_qs[0])))

/* The data under test and a sorted copy; static because 2 x 160 KB is large for a stack. */
static uint64_t data[N_SAMPLES];
static uint64_t sorted[N_SAMPLES];

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/*
 * Fails unless |est - exact| <= exact * GPUSIM_HIST_REL_ERROR. The bound is 2^-8, so in integers
 * this is diff <= floor(exact / 256) (diff is an integer); for exact < 256 it demands equality.
 */
static void expect_within_bound(uint64_t est, uint64_t exact, const char *what, double q)
{
    const uint64_t inv = (uint64_t)(1.0 / GPUSIM_HIST_REL_ERROR);
    assert_true(1.0 / (double)inv == GPUSIM_HIST_REL_ERROR); /* the bound is 1/inv exactly */
    uint64_t diff = est > exact ? est - exact : exact - est;
    if (diff > exact / inv)
        fail_msg("%s: quantile %g is %llu, exact %llu: error %llu exceeds %llu", what, q,
                 (unsigned long long)est, (unsigned long long)exact, (unsigned long long)diff,
                 (unsigned long long)(exact / inv));
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return b > UINT64_MAX - a ? UINT64_MAX : a + b;
}

/* The exact nearest-rank quantile q of sorted[0..n). */
static uint64_t exact_quantile(double q, size_t n)
{
    uint64_t rank = gpusim__hist_rank(q, n);
    assert_true(rank >= 1 && rank <= n);
    return sorted[rank - 1];
}

/*
 * Records data[0..n) into a fresh histogram and checks count, sum, min, max exactly and every
 * quantile of check_qs (in one pass and one at a time) against the exact ones.
 */
static void check_data_set(const char *what, size_t n)
{
    gpusim__arena a;
    gpusim__hist h;
    ASSERT_OK(gpusim__arena_init(&a));
    gpusim__hist_init(&h);

    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        ASSERT_OK(gpusim__hist_record(&h, &a, data[i]));
        sum = sat_add(sum, data[i]);
    }
    assert_true(gpusim__hist_check(&h));

    memcpy(sorted, data, n * sizeof(data[0]));
    qsort(sorted, n, sizeof(sorted[0]), cmp_u64);
    assert_int_equal(h.count, n);
    assert_int_equal(h.bucketed, n);
    assert_int_equal(h.sum, sum);
    assert_int_equal(h.min, sorted[0]);
    assert_int_equal(h.max, sorted[n - 1]);

    /* All quantiles in one pass, with the extremes at both ends. */
    double qs[N_QS + 2];
    uint64_t out[N_QS + 2];
    qs[0] = 0.0;
    for (int i = 0; i < N_QS; i++)
        qs[i + 1] = check_qs[i];
    qs[N_QS + 1] = 1.0;
    gpusim__hist_quantiles(&h, qs, out, N_QS + 2);
    assert_int_equal(out[0], sorted[0]);
    assert_int_equal(out[N_QS + 1], sorted[n - 1]);
    for (int i = 1; i <= N_QS; i++)
        expect_within_bound(out[i], exact_quantile(qs[i], n), what, qs[i]);

    /* One at a time gives the same answers. */
    for (int i = 0; i < N_QS + 2; i++) {
        uint64_t one;
        gpusim__hist_quantiles(&h, &qs[i], &one, 1);
        assert_int_equal(one, out[i]);
    }

    gpusim__hist_destroy(&h, &a);
    assert_true(gpusim__hist_check(&h));
    gpusim__arena_destroy(&a);
    ASSERT_NO_LEAK();
}

/* ------------------------------------------------------------------------------------------- */
/* Quantile accuracy                                                                           */
/* ------------------------------------------------------------------------------------------- */

static void test_quantiles_uniform(void **state)
{
    (void)state;
    gpusim_rng_t r;
    gpusim_rng_seed(&r, 1, 1);
    for (size_t i = 0; i < N_SAMPLES; i++)
        data[i] = gpusim_rng_below(&r, UINT64_C(1000000000));
    check_data_set("uniform [0, 1e9)", N_SAMPLES);
}

static void test_quantiles_exponential(void **state)
{
    (void)state;
    gpusim_rng_t r;
    gpusim_rng_seed(&r, 1, 2);
    for (size_t i = 0; i < N_SAMPLES; i++)
        data[i] = (uint64_t)gpusim_rng_exponential(&r, 1e6);
    check_data_set("exponential, mean 1e6", N_SAMPLES);
}

static void test_quantiles_log_uniform(void **state)
{
    (void)state;
    gpusim_rng_t r;
    gpusim_rng_seed(&r, 1, 3);
    for (size_t i = 0; i < N_SAMPLES; i++) {
        unsigned e = (unsigned)gpusim_rng_below(&r, 61);
        uint64_t top = UINT64_C(1) << e;
        data[i] = top | (gpusim_rng_next(&r) & (top - 1));
    }
    check_data_set("log-uniform 2^0 .. 2^61", N_SAMPLES);
}

static void test_quantiles_small_integers(void **state)
{
    (void)state;
    gpusim_rng_t r;
    gpusim_rng_seed(&r, 1, 4);
    for (size_t i = 0; i < N_SAMPLES; i++)
        data[i] = gpusim_rng_below(&r, 300);
    check_data_set("small integers [0, 300)", N_SAMPLES);
}

static void test_quantiles_below_256_are_exact(void **state)
{
    (void)state;
    gpusim__arena a;
    gpusim__hist h;
    gpusim_rng_t r;
    gpusim_rng_seed(&r, 1, 5);
    ASSERT_OK(gpusim__arena_init(&a));
    gpusim__hist_init(&h);
    for (size_t i = 0; i < N_SAMPLES; i++) {
        data[i] = gpusim_rng_below(&r, 256);
        ASSERT_OK(gpusim__hist_record(&h, &a, data[i]));
    }
    memcpy(sorted, data, sizeof(data));
    qsort(sorted, N_SAMPLES, sizeof(sorted[0]), cmp_u64);
    for (int i = 0; i < N_QS; i++) {
        uint64_t est;
        gpusim__hist_quantiles(&h, &check_qs[i], &est, 1);
        assert_int_equal(est, exact_quantile(check_qs[i], N_SAMPLES));
    }
    /* Every q on a fine grid, too. */
    for (int k = 1; k < 1000; k++) {
        double q = k / 1000.0;
        uint64_t est;
        gpusim__hist_quantiles(&h, &q, &est, 1);
        assert_int_equal(est, exact_quantile(q, N_SAMPLES));
    }
    gpusim__hist_destroy(&h, &a);
    gpusim__arena_destroy(&a);
    ASSERT_NO_LEAK();
}

static void test_quantiles_constant(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_SAMPLES; i++)
        data[i] = UINT64_C(987654321);
    check_data_set("constant", N_SAMPLES);
}

static void test_quantiles_two_points(void **state)
{
    (void)state;
    gpusim_rng_t r;
    gpusim_rng_seed(&r, 1, 6);
    for (size_t i = 0; i < N_SAMPLES; i++)
        data[i] = gpusim_rng_below(&r, 10) < 3 ? 7 : UINT64_C(1000000012345);
    check_data_set("two points", N_SAMPLES);
}

static void test_quantile_extremes_are_exact(void **state)
{
    (void)state;
    gpusim__arena a;
    gpusim__hist h;
    ASSERT_OK(gpusim__arena_init(&a));
    gpusim__hist_init(&h);
    /* Both extremes sit at the far edge of a wide bucket, so a bucket midpoint would be wrong. */
    const uint64_t lo = UINT64_C(1) << 20, hi = (UINT64_C(1) << 40) - 1;
    ASSERT_OK(gpusim__hist_record(&h, &a, hi));
    ASSERT_OK(gpusim__hist_record(&h, &a, 5000000));
    ASSERT_OK(gpusim__hist_record(&h, &a, lo));
    ASSERT_OK(gpusim__hist_record(&h, &a, 6000000));
    const double qs[2] = {0.0, 1.0};
    uint64_t out[2];
    gpusim__hist_quantiles(&h, qs, out, 2);
    assert_int_equal(out[0], lo);
    assert_int_equal(out[1], hi);
    gpusim__hist_destroy(&h, &a);
    gpusim__arena_destroy(&a);
    ASSERT_NO_LEAK();
}

/* ------------------------------------------------------------------------------------------- */
/* Count, sum, min, max                                                                        */
/* ------------------------------------------------------------------------------------------- */

static void test_sum_saturates(void **state)
{
    (void)state;
    gpusim__arena a;
    gpusim__hist h;
    ASSERT_OK(gpusim__arena_init(&a));
    gpusim__hist_init(&h);
    ASSERT_OK(gpusim__hist_record(&h, &a, UINT64_MAX - 1));
    assert_int_equal(h.sum, UINT64_MAX - 1);
    ASSERT_OK(gpusim__hist_record(&h, &a, 1));
    assert_int_equal(h.sum, UINT64_MAX); /* exactly full, not yet saturated */
    ASSERT_OK(gpusim__hist_record(&h, &a, 5));
    assert_int_equal(h.sum, UINT64_MAX);
    ASSERT_OK(gpusim__hist_record(&h, &a, UINT64_MAX));
    assert_int_equal(h.sum, UINT64_MAX);
    assert_int_equal(h.count, 4);
    assert_int_equal(h.min, 1);
    assert_int_equal(h.max, UINT64_MAX);
    assert_true(gpusim__hist_check(&h));
    gpusim__hist_destroy(&h, &a);
    gpusim__arena_destroy(&a);

    /* The same through the public API. */
    gpusim_world_t *w = test_world(1);
    gpusim_stat_t *s;
    gpusim_stat_info_t info;
    ASSERT_OK(gpusim_stat_register(w, "x.lat", GPUSIM_STAT_HISTOGRAM, "ns", &s));
    ASSERT_OK(gpusim_stat_record(s, UINT64_MAX / 2 + 1));
    ASSERT_OK(gpusim_stat_record(s, UINT64_MAX / 2 + 1));
    ASSERT_OK(gpusim_stats_get(w, "x.lat", &info));
    assert_int_equal(info.sum, UINT64_MAX);
    assert_int_equal(info.count, 2);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

static void test_public_stats_match_exact(void **state)
{
    (void)state;
    gpusim_world_t *w = test_world(2);
    gpusim_stat_t *s;
    gpusim_stat_info_t info;
    gpusim_rng_t r;
    ASSERT_OK(gpusim_stat_register(w, "x.lat", GPUSIM_STAT_HISTOGRAM, "ns", &s));
    gpusim_rng_seed(&r, 2, 1);
    uint64_t sum = 0;
    for (size_t i = 0; i < N_SAMPLES; i++) {
        unsigned e = (unsigned)gpusim_rng_below(&r, 40);
        uint64_t top = UINT64_C(1) << e;
        data[i] = top | (gpusim_rng_next(&r) & (top - 1));
        sum = sat_add(sum, data[i]);
        ASSERT_OK(gpusim_stat_record(s, data[i]));
    }
    memcpy(sorted, data, sizeof(data));
    qsort(sorted, N_SAMPLES, sizeof(sorted[0]), cmp_u64);

    ASSERT_OK(gpusim_stats_get(w, "x.lat", &info));
    assert_int_equal(info.kind, GPUSIM_STAT_HISTOGRAM);
    assert_string_equal(info.unit, "ns");
    assert_int_equal(info.count, N_SAMPLES);
    assert_int_equal(info.sum, sum);
    assert_int_equal(info.min, sorted[0]);
    assert_int_equal(info.max, sorted[N_SAMPLES - 1]);
    expect_within_bound(info.p50, exact_quantile(0.5, N_SAMPLES), "p50", 0.5);
    expect_within_bound(info.p90, exact_quantile(0.9, N_SAMPLES), "p90", 0.9);
    expect_within_bound(info.p99, exact_quantile(0.99, N_SAMPLES), "p99", 0.99);
    expect_within_bound(info.p999, exact_quantile(0.999, N_SAMPLES), "p999", 0.999);

    for (int i = 0; i < N_QS; i++) {
        uint64_t est;
        ASSERT_OK(gpusim_stats_quantile(w, "x.lat", check_qs[i], &est));
        expect_within_bound(est, exact_quantile(check_qs[i], N_SAMPLES), "public", check_qs[i]);
    }
    uint64_t v;
    ASSERT_OK(gpusim_stats_quantile(w, "x.lat", 0.0, &v));
    assert_int_equal(v, sorted[0]);
    ASSERT_OK(gpusim_stats_quantile(w, "x.lat", 1.0, &v));
    assert_int_equal(v, sorted[N_SAMPLES - 1]);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

static void test_empty_histogram_is_all_zero(void **state)
{
    (void)state;
    gpusim_world_t *w = test_world(3);
    gpusim_stat_t *s;
    gpusim_stat_info_t info;
    ASSERT_OK(gpusim_stat_register(w, "x.lat", GPUSIM_STAT_HISTOGRAM, "ns", &s));
    memset(&info, 0xa5, sizeof(info));
    ASSERT_OK(gpusim_stats_get(w, "x.lat", &info));
    assert_int_equal(info.kind, GPUSIM_STAT_HISTOGRAM);
    assert_int_equal(info.count, 0);
    assert_int_equal(info.sum, 0);
    assert_int_equal(info.min, 0);
    assert_int_equal(info.max, 0);
    assert_int_equal(info.p50, 0);
    assert_int_equal(info.p90, 0);
    assert_int_equal(info.p99, 0);
    assert_int_equal(info.p999, 0);
    static const double qs[] = {0.0, 0.5, 0.999, 1.0};
    for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
        uint64_t v = 12345;
        ASSERT_OK(gpusim_stats_quantile(w, "x.lat", qs[i], &v));
        assert_int_equal(v, 0);
    }
    gpusim_world_free(w);

    /* The internal histogram agrees. */
    gpusim__hist h;
    gpusim__hist_init(&h);
    assert_true(gpusim__hist_check(&h));
    uint64_t out[4] = {1, 1, 1, 1};
    gpusim__hist_quantiles(&h, qs, out, 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(out[i], 0);
    ASSERT_NO_LEAK();
}

/* ------------------------------------------------------------------------------------------- */
/* Bucket boundaries                                                                           */
/* ------------------------------------------------------------------------------------------- */

/*
 * Fills vals[] with 0, 1, 127, 128, 255, 256, 257, then 2^k - 1, 2^k, 2^k + 1 for k = 1..63, then
 * UINT64_MAX. Returns the number written.
 */
static size_t boundary_values(uint64_t *vals)
{
    size_t n = 0;
    static const uint64_t small[] = {0, 1, 127, 128, 255, 256, 257};
    for (size_t i = 0; i < sizeof(small) / sizeof(small[0]); i++)
        vals[n++] = small[i];
    for (int k = 1; k < 64; k++) {
        uint64_t p = UINT64_C(1) << k;
        vals[n++] = p - 1;
        vals[n++] = p;
        vals[n++] = p + 1;
    }
    vals[n++] = UINT64_MAX;
    return n;
}

static void test_boundary_values_record_and_check(void **state)
{
    (void)state;
    uint64_t vals[7 + 3 * 63 + 1];
    size_t n = boundary_values(vals);
    gpusim__arena a;
    gpusim__hist all;
    ASSERT_OK(gpusim__arena_init(&a));
    gpusim__hist_init(&all);
    for (size_t i = 0; i < n; i++) {
        ASSERT_OK(gpusim__hist_record(&all, &a, vals[i]));
        assert_true(gpusim__hist_check(&all));

        /* Alone, a value is its own median: within the bound, and exact since it is min and max. */
        gpusim__hist one;
        gpusim__hist_init(&one);
        ASSERT_OK(gpusim__hist_record(&one, &a, vals[i]));
        assert_true(gpusim__hist_check(&one));
        assert_int_equal(one.count, 1);
        assert_int_equal(one.min, vals[i]);
        assert_int_equal(one.max, vals[i]);
        const double half = 0.5;
        uint64_t med;
        gpusim__hist_quantiles(&one, &half, &med, 1);
        expect_within_bound(med, vals[i], "single value", half);
        assert_int_equal(med, vals[i]);
        gpusim__hist_destroy(&one, &a);
    }
    assert_int_equal(all.count, n);
    assert_int_equal(all.bucketed, n);
    assert_int_equal(all.min, 0);
    assert_int_equal(all.max, UINT64_MAX);
    gpusim__hist_destroy(&all, &a);
    gpusim__arena_destroy(&a);
    ASSERT_NO_LEAK();
}

static void test_boundary_values_unclamped_median(void **state)
{
    (void)state;
    /*
     * In {0, v, v, UINT64_MAX} the median is v and clamping to [min, max] cannot hide an error:
     * the reported value is the raw bucket midpoint.
     */
    uint64_t vals[7 + 3 * 63 + 1];
    size_t n = boundary_values(vals);
    gpusim__arena a;
    ASSERT_OK(gpusim__arena_init(&a));
    for (size_t i = 0; i < n; i++) {
        gpusim__hist h;
        gpusim__hist_init(&h);
        ASSERT_OK(gpusim__hist_record(&h, &a, 0));
        ASSERT_OK(gpusim__hist_record(&h, &a, vals[i]));
        ASSERT_OK(gpusim__hist_record(&h, &a, vals[i]));
        ASSERT_OK(gpusim__hist_record(&h, &a, UINT64_MAX));
        assert_true(gpusim__hist_check(&h));
        const double half = 0.5;
        uint64_t med;
        gpusim__hist_quantiles(&h, &half, &med, 1);
        char what[48];
        snprintf(what, sizeof(what), "median of {0, %llu x2, max}", (unsigned long long)vals[i]);
        expect_within_bound(med, vals[i], what, half);
        gpusim__hist_destroy(&h, &a);
    }
    gpusim__arena_destroy(&a);
    ASSERT_NO_LEAK();
}

/* ------------------------------------------------------------------------------------------- */
/* Nearest rank                                                                                */
/* ------------------------------------------------------------------------------------------- */

static void test_rank_edge_cases(void **state)
{
    (void)state;
    assert_int_equal(gpusim__hist_rank(0.0, 0), 0);
    assert_int_equal(gpusim__hist_rank(0.5, 0), 0);
    assert_int_equal(gpusim__hist_rank(1.0, 0), 0);
    assert_int_equal(gpusim__hist_rank(0.0, 1), 1);
    assert_int_equal(gpusim__hist_rank(0.0, 10), 1);
    assert_int_equal(gpusim__hist_rank(1e-12, 10), 1);
    assert_int_equal(gpusim__hist_rank(1.0, 1), 1);
    assert_int_equal(gpusim__hist_rank(1.0, 10), 10);
    assert_int_equal(gpusim__hist_rank(0.5, 3), 2);
    assert_int_equal(gpusim__hist_rank(0.5, 4), 2);
    assert_int_equal(gpusim__hist_rank(0.25, 4), 1);
    assert_int_equal(gpusim__hist_rank(0.26, 4), 2);
    assert_int_equal(gpusim__hist_rank(0.9, 10), 9);
    assert_int_equal(gpusim__hist_rank(0.99, 100), 99);
    assert_int_equal(gpusim__hist_rank(0.5, UINT64_MAX), UINT64_C(1) << 63);
}

/* ceil(1 * n) is n, also for a count that a double cannot represent exactly. */
static void test_rank_q1_is_n_for_n_above_2_pow_53(void **state)
{
    (void)state;
    const uint64_t n = (UINT64_C(1) << 53) + 1; /* (double)n rounds to 2^53 */
    assert_int_equal(gpusim__hist_rank(1.0, n), n);
}

/* ceil(1 * n) is n for the largest count; q * (double)n is 2^64, which does not fit in uint64_t. */
static void test_rank_q1_is_n_for_uint64_max(void **state)
{
    (void)state;
    assert_int_equal(gpusim__hist_rank(1.0, UINT64_MAX), UINT64_MAX);
    assert_int_equal(gpusim__hist_rank(1.0, UINT64_MAX - 1000), UINT64_MAX - 1000);
}

/* ------------------------------------------------------------------------------------------- */
/* Allocation failure                                                                          */
/* ------------------------------------------------------------------------------------------- */

static void test_chunk_allocation_failure(void **state)
{
    (void)state;
    gpusim__arena a;
    gpusim__hist h;
    ASSERT_OK(gpusim__arena_init(&a));
    gpusim__hist_init(&h);
    ASSERT_OK(gpusim__hist_record(&h, &a, 10));
    ASSERT_OK(gpusim__hist_record(&h, &a, 20));
    ASSERT_OK(gpusim__hist_record(&h, &a, 30));

    /* 1000000 lies in a chunk not yet allocated. */
    gpusim__alloc_fail_nth(1);
    int rc = gpusim__hist_record(&h, &a, 1000000);
    bool fired = gpusim__alloc_fail_fired();
    gpusim__alloc_fail_nth(0);
    assert_true(fired);
    assert_int_equal(rc, GPUSIM_ENOMEM);

    assert_int_equal(h.count, 4);
    assert_int_equal(h.bucketed, 3);
    assert_int_equal(h.sum, 1000060);
    assert_int_equal(h.min, 10);
    assert_int_equal(h.max, 1000000);
    assert_true(gpusim__hist_check(&h));

    /* Quantiles are over the three bucketed samples; q = 1 is still the true maximum. */
    const double qs[5] = {0.0, 0.34, 0.5, 0.99, 1.0};
    uint64_t out[5];
    gpusim__hist_quantiles(&h, qs, out, 5);
    assert_int_equal(out[0], 10);
    assert_int_equal(out[1], 20); /* rank ceil(0.34 * 3) = 2 */
    assert_int_equal(out[2], 20);
    assert_int_equal(out[3], 30);
    assert_int_equal(out[4], 1000000);

    /* The chunk is allocated on the next try. */
    ASSERT_OK(gpusim__hist_record(&h, &a, 1000000));
    assert_int_equal(h.count, 5);
    assert_int_equal(h.bucketed, 4);
    assert_true(gpusim__hist_check(&h));

    gpusim__hist_destroy(&h, &a);
    gpusim__arena_destroy(&a);
    ASSERT_NO_LEAK();
}

static void test_chunk_allocation_failure_first_sample(void **state)
{
    (void)state;
    gpusim__arena a;
    gpusim__hist h;
    ASSERT_OK(gpusim__arena_init(&a));
    gpusim__hist_init(&h);
    gpusim__alloc_fail_nth(1);
    int rc = gpusim__hist_record(&h, &a, 4242);
    gpusim__alloc_fail_nth(0);
    assert_int_equal(rc, GPUSIM_ENOMEM);
    assert_int_equal(h.count, 1);
    assert_int_equal(h.bucketed, 0);
    assert_true(gpusim__hist_check(&h));
    /* With no bucketed sample, every quantile falls back to the known extremes. */
    const double qs[3] = {0.0, 0.5, 1.0};
    uint64_t out[3];
    gpusim__hist_quantiles(&h, qs, out, 3);
    assert_int_equal(out[0], 4242);
    assert_int_equal(out[1], 4242);
    assert_int_equal(out[2], 4242);
    gpusim__hist_destroy(&h, &a);
    gpusim__arena_destroy(&a);
    ASSERT_NO_LEAK();
}

static void test_chunk_allocation_failure_public(void **state)
{
    (void)state;
    gpusim_world_t *w = test_world(4);
    gpusim_stat_t *s;
    gpusim_stat_info_t info;
    ASSERT_OK(gpusim_stat_register(w, "x.lat", GPUSIM_STAT_HISTOGRAM, "ns", &s));
    ASSERT_OK(gpusim_stat_record(s, 100));
    ASSERT_OK(gpusim_stat_record(s, 200));

    gpusim__alloc_fail_nth(1);
    int rc = gpusim_stat_record(s, UINT64_C(1) << 40);
    gpusim__alloc_fail_nth(0);
    assert_int_equal(rc, GPUSIM_ENOMEM);

    ASSERT_OK(gpusim_stats_get(w, "x.lat", &info));
    assert_int_equal(info.count, 3);
    assert_int_equal(info.sum, 300 + (UINT64_C(1) << 40));
    assert_int_equal(info.min, 100);
    assert_int_equal(info.max, UINT64_C(1) << 40);
    assert_int_equal(info.p50, 100); /* rank ceil(0.5 * 2) = 1 of the two bucketed samples */
    assert_int_equal(info.p99, 200);
    uint64_t v;
    ASSERT_OK(gpusim_stats_quantile(w, "x.lat", 1.0, &v));
    assert_int_equal(v, UINT64_C(1) << 40);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* ------------------------------------------------------------------------------------------- */
/* gpusim_stats_quantile arguments                                                             */
/* ------------------------------------------------------------------------------------------- */

static void test_stats_quantile_errors(void **state)
{
    (void)state;
    gpusim_world_t *w = test_world(5);
    gpusim_stat_t *lat, *cnt;
    ASSERT_OK(gpusim_stat_register(w, "x.lat", GPUSIM_STAT_HISTOGRAM, "ns", &lat));
    ASSERT_OK(gpusim_stat_register(w, "x.count", GPUSIM_STAT_COUNTER, NULL, &cnt));
    ASSERT_OK(gpusim_stat_record(lat, 1000));
    ASSERT_OK(gpusim_stat_add(cnt, 3));

    double nan = NAN;
    uint64_t v = 777;
    ASSERT_ERR(gpusim_stats_quantile(w, "x.lat", -0.001, &v), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_stats_quantile(w, "x.lat", -1.0, &v), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_stats_quantile(w, "x.lat", 1.001, &v), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_stats_quantile(w, "x.lat", nan, &v), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_stats_quantile(w, "x.lat", -nan, &v), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_stats_quantile(w, "x.nope", 0.5, &v), GPUSIM_ENOENT);
    ASSERT_ERR(gpusim_stats_quantile(w, "x", 0.5, &v), GPUSIM_ENOENT);
    ASSERT_ERR(gpusim_stats_quantile(w, "x.count", 0.5, &v), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_stats_quantile(NULL, "x.lat", 0.5, &v), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_stats_quantile(w, NULL, 0.5, &v), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_stats_quantile(w, "x.lat", 0.5, NULL), GPUSIM_EINVAL);
    assert_int_equal(v, 777);

    /* The limits themselves are accepted. */
    ASSERT_OK(gpusim_stats_quantile(w, "x.lat", 0.0, &v));
    assert_int_equal(v, 1000);
    ASSERT_OK(gpusim_stats_quantile(w, "x.lat", 1.0, &v));
    assert_int_equal(v, 1000);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        GPUSIM_TEST(test_quantiles_uniform),
        GPUSIM_TEST(test_quantiles_exponential),
        GPUSIM_TEST(test_quantiles_log_uniform),
        GPUSIM_TEST(test_quantiles_small_integers),
        GPUSIM_TEST(test_quantiles_below_256_are_exact),
        GPUSIM_TEST(test_quantiles_constant),
        GPUSIM_TEST(test_quantiles_two_points),
        GPUSIM_TEST(test_quantile_extremes_are_exact),
        GPUSIM_TEST(test_sum_saturates),
        GPUSIM_TEST(test_public_stats_match_exact),
        GPUSIM_TEST(test_empty_histogram_is_all_zero),
        GPUSIM_TEST(test_boundary_values_record_and_check),
        GPUSIM_TEST(test_boundary_values_unclamped_median),
        GPUSIM_TEST(test_rank_edge_cases),
        GPUSIM_TEST(test_rank_q1_is_n_for_n_above_2_pow_53),
        GPUSIM_TEST(test_rank_q1_is_n_for_uint64_max),
        GPUSIM_TEST(test_chunk_allocation_failure),
        GPUSIM_TEST(test_chunk_allocation_failure_first_sample),
        GPUSIM_TEST(test_chunk_allocation_failure_public),
        GPUSIM_TEST(test_stats_quantile_errors),
    };
    return cmocka_run_group_tests_name("hist", tests, NULL, NULL);
}
