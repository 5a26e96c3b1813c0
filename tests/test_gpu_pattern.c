/*
 * tests/test_gpu_pattern.c -- access patterns and address traces (gpu/pattern.h): each pattern's
 * touches against hand-computed values or their defining property, determinism, the split of a
 * pass among waves, descriptor checks, and the trace parser's records and errors.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gpusim.h"
#include "core/alloc.h"
#include "core/compiler.h"
#include "core/world.h"
#include "gpu/pattern.h"
#include "test_util.h"

#define MIB (UINT64_C(1) << 20)

static gpusim__gpu_pattern pat(unsigned kind, uint64_t bytes, uint64_t touches, uint32_t tb)
{
    gpusim__gpu_pattern p;
    memset(&p, 0, sizeof p);
    p.kind = kind;
    p.bytes = bytes;
    p.touches = touches;
    p.touch_bytes = tb;
    p.seed = 42;
    return p;
}

static gpusim__gpu_touch touch(const gpusim__gpu_pattern *p, uint64_t i)
{
    gpusim__gpu_touch t;
    gpusim__gpu_pattern_touch(p, i, &t);
    return t;
}

static void check_ok(const gpusim__gpu_pattern *p)
{
    char msg[128];
    if (gpusim__gpu_pattern_check(p, msg, sizeof msg))
        fail_msg("pattern check: %s", msg);
}

static void test_sequential_and_strided(void **state)
{
    gpusim__gpu_pattern p = pat(GPUSIM__GPU_PAT_SEQUENTIAL, 10 * 4096, 25, 4096);
    (void)state;
    check_ok(&p);
    for (uint64_t i = 0; i < 25; i++) {
        gpusim__gpu_touch t = touch(&p, i);
        assert_int_equal(t.off, (i % 10) * 4096);
        assert_int_equal(t.bytes, 4096);
        assert_false(t.write); /* write_pct 0 */
    }
    /* Strided by 3 pages over 10 pages: 0, 3, 6, 9, 2, 5, ... (mod the buffer). */
    p = pat(GPUSIM__GPU_PAT_STRIDED, 10 * 4096, 25, 64);
    p.stride = 3 * 4096;
    check_ok(&p);
    for (uint64_t i = 0; i < 25; i++)
        assert_int_equal(touch(&p, i).off, ((3 * i) % 10) * 4096);
    /* A stride that is not a multiple of the touch: rounded down to a slot. */
    p.stride = 100;
    assert_int_equal(touch(&p, 3).off, 256); /* 300 -> slot 4 of 64 bytes */
}

/* (i * stride) mod bytes is exact where the product does not fit in 64 bits. */
static void test_strided_no_overflow(void **state)
{
    gpusim__gpu_pattern p = pat(GPUSIM__GPU_PAT_STRIDED, (UINT64_C(1) << 47) + 4096 * 7, 1, 4096);
    (void)state;
    p.stride = (UINT64_C(1) << 46) + 4096 * 3;
    check_ok(&p);
    for (uint64_t i = UINT64_C(1) << 40; i < (UINT64_C(1) << 40) + 100; i += 7) {
        __extension__ unsigned __int128 prod = (unsigned __int128)i * p.stride;
        uint64_t want = (uint64_t)(prod % p.bytes);
        want -= want % 4096;
        assert_int_equal(touch(&p, i).off, want);
    }
}

/* The factors either side of 2^32, where touch() switches between one 64-bit product and the
 * overflow-safe fold: every offset is still (i * stride) mod bytes; write_pct 100 writes every
 * touch and 0 none. */
static void test_strided_fast_path_boundary(void **state)
{
    gpusim__gpu_pattern p = pat(GPUSIM__GPU_PAT_STRIDED, (UINT64_C(1) << 40) + 4096 * 5, 1, 4096);
    const uint64_t around[] = {(UINT64_C(1) << 32) - 4096, (UINT64_C(1) << 32) - 1,
                               UINT64_C(1) << 32,          (UINT64_C(1) << 32) + 4096,
                               (UINT64_C(1) << 33) - 1,    (UINT64_C(1) << 33) + 12288};
    (void)state;
    for (size_t s = 0; s < GPUSIM_ARRAY_SIZE(around); s++) {
        p.stride = around[s];
        p.write_pct = s % 2 ? 100 : 0;
        check_ok(&p);
        for (size_t k = 0; k < GPUSIM_ARRAY_SIZE(around); k++) {
            uint64_t i = around[k];
            __extension__ unsigned __int128 prod = (unsigned __int128)i * p.stride;
            uint64_t want = (uint64_t)(prod % p.bytes);
            want -= want % 4096;
            gpusim__gpu_touch t = touch(&p, i);
            assert_int_equal(t.off, want);
            assert_int_equal(t.write, s % 2 ? true : false);
        }
    }
    /* Just inside the shortcuts, 1 % and 99 %, the draw decides: about that share writes. */
    for (uint32_t pct = 1; pct <= 99; pct += 98) {
        unsigned writes = 0;
        p.write_pct = pct;
        for (uint64_t i = 0; i < 10000; i++)
            writes += touch(&p, i).write;
        assert_in_range(writes, pct * 100 - 90, pct * 100 + 90);
    }
}

static void test_random_is_uniform_and_deterministic(void **state)
{
    gpusim__gpu_pattern p = pat(GPUSIM__GPU_PAT_RANDOM, 16 * 4096, 16000, 4096), q = p;
    unsigned count[16] = {0};
    int differ = 0;
    (void)state;
    check_ok(&p);
    q.seed = 43;
    for (uint64_t i = 0; i < 16000; i++) {
        gpusim__gpu_touch t = touch(&p, i);
        assert_int_equal(t.off % 4096, 0);
        assert_true(t.off < p.bytes);
        count[t.off / 4096]++;
        assert_int_equal(touch(&p, i).off, t.off); /* a pure function of i */
        differ += touch(&q, i).off != t.off;
    }
    for (int s = 0; s < 16; s++)
        assert_true(count[s] > 800 && count[s] < 1200); /* mean 1000 */
    assert_true(differ > 14000);                        /* another seed, another sequence */
}

static void test_hotcold(void **state)
{
    gpusim__gpu_pattern p = pat(GPUSIM__GPU_PAT_HOTCOLD, 100 * 4096, 20000, 4096);
    unsigned hot = 0;
    (void)state;
    p.hot_pct = 10;
    p.hot_access_pct = 90;
    check_ok(&p);
    for (uint64_t i = 0; i < 20000; i++)
        hot += touch(&p, i).off < 10 * 4096;
    assert_true(hot > 17700 && hot < 18300); /* 90 % of 20000 */
}

static void test_stencil(void **state)
{
    gpusim__gpu_pattern p = pat(GPUSIM__GPU_PAT_STENCIL, 64 * 4096, 5 * 64, 4096);
    (void)state;
    p.stride = 8 * 4096; /* 8 slots per row */
    check_ok(&p);
    /* Point 0: itself, left (wraps to 63), right, up (wraps to 56), down. */
    assert_int_equal(touch(&p, 0).off, 0);
    assert_int_equal(touch(&p, 1).off, 63 * 4096);
    assert_int_equal(touch(&p, 2).off, 1 * 4096);
    assert_int_equal(touch(&p, 3).off, 56 * 4096);
    assert_int_equal(touch(&p, 4).off, 8 * 4096);
    /* Point 20. */
    assert_int_equal(touch(&p, 100).off, 20 * 4096);
    assert_int_equal(touch(&p, 103).off, 12 * 4096);
    assert_int_equal(touch(&p, 104).off, 28 * 4096);
}

/* A pass of nslots touches of a chase visits every slot exactly once, in a scrambled order. */
static void test_chase_is_a_permutation(void **state)
{
    static const uint64_t sizes[] = {1, 2, 3, 1000, 1024, 4099};
    (void)state;
    for (size_t k = 0; k < GPUSIM_ARRAY_SIZE(sizes); k++) {
        uint64_t n = sizes[k], in_order = 0;
        gpusim__gpu_pattern p = pat(GPUSIM__GPU_PAT_CHASE, n * 64, n, 64);
        uint8_t *seen = calloc(n, 1);
        check_ok(&p);
        assert_true(gpusim__gpu_pattern_dependent(&p));
        for (uint64_t i = 0; i < n; i++) {
            uint64_t s = touch(&p, i).off / 64;
            assert_true(s < n);
            assert_int_equal(seen[s], 0);
            seen[s] = 1;
            in_order += s == i;
        }
        if (n >= 1000)
            assert_true(in_order < n / 10);
        free(seen);
    }
}

static void test_write_share(void **state)
{
    gpusim__gpu_pattern p = pat(GPUSIM__GPU_PAT_SEQUENTIAL, MIB, 10000, 256);
    unsigned writes = 0;
    (void)state;
    p.write_pct = 30;
    for (uint64_t i = 0; i < 10000; i++)
        writes += touch(&p, i).write;
    assert_true(writes > 2800 && writes < 3200);
    p.write_pct = 100;
    for (uint64_t i = 0; i < 100; i++)
        assert_true(touch(&p, i).write);
}

/* Waves split a pass evenly, in order, without gaps or overlaps, whatever the numbers. */
static void test_waves(void **state)
{
    static const uint64_t touches[] = {1, 7, 100, 1000003, UINT64_MAX};
    static const uint64_t waves[] = {1, 3, 64, 1000, UINT64_C(1) << 32};
    (void)state;
    for (size_t a = 0; a < GPUSIM_ARRAY_SIZE(touches); a++)
        for (size_t b = 0; b < GPUSIM_ARRAY_SIZE(waves); b++) {
            gpusim__gpu_pattern p = pat(GPUSIM__GPU_PAT_SEQUENTIAL, MIB, touches[a], 64);
            uint64_t n = waves[b], prev = 0, lo, hi, q = touches[a] / n;
            uint64_t step = n > 4096 ? n / 1024 + 1 : 1;
            for (uint64_t w = 0; w < n; w += step) {
                gpusim__gpu_pattern_wave(&p, w, n, &lo, &hi);
                if (step == 1)
                    assert_int_equal(lo, prev); /* no gap, no overlap */
                if (!(hi >= lo && hi - lo >= q && hi - lo - q <= 1))
                    fail_msg("touches %" PRIu64 " waves %" PRIu64 " wave %" PRIu64 ": [%" PRIu64
                             ", %" PRIu64 ")",
                             touches[a], n, w, lo, hi);
                prev = hi;
            }
            gpusim__gpu_pattern_wave(&p, n - 1, n, &lo, &hi);
            assert_int_equal(hi, touches[a]);
        }
}

static void test_check_rejects(void **state)
{
    gpusim__gpu_pattern p;
    char msg[128];
    (void)state;
    assert_int_equal(gpusim__gpu_pattern_check(NULL, msg, sizeof msg), GPUSIM_EINVAL);
#define REJECT(field, value, kind, text)                                                           \
    do {                                                                                           \
        p = pat(kind, MIB, 10, 64);                                                                \
        p.stride = 4096;                                                                           \
        p.hot_pct = 10;                                                                            \
        check_ok(&p);                                                                              \
        p.field = value;                                                                           \
        assert_int_equal(gpusim__gpu_pattern_check(&p, msg, sizeof msg), GPUSIM_EINVAL);           \
        assert_non_null(strstr(msg, text));                                                        \
    } while (0)
    REJECT(kind, GPUSIM__GPU_PAT_COUNT, GPUSIM__GPU_PAT_SEQUENTIAL, "unknown");
    REJECT(touches, 0, GPUSIM__GPU_PAT_SEQUENTIAL, "at least one touch");
    REJECT(touch_bytes, 0, GPUSIM__GPU_PAT_SEQUENTIAL, "1..4096");
    REJECT(touch_bytes, 4097, GPUSIM__GPU_PAT_SEQUENTIAL, "1..4096");
    REJECT(bytes, 63, GPUSIM__GPU_PAT_SEQUENTIAL, "smaller than one touch");
    REJECT(write_pct, 101, GPUSIM__GPU_PAT_RANDOM, "write percentage");
    REJECT(stride, 0, GPUSIM__GPU_PAT_STRIDED, "needs a stride");
    REJECT(stride, 0, GPUSIM__GPU_PAT_STENCIL, "row pitch");
    REJECT(stride, MIB + 1, GPUSIM__GPU_PAT_STENCIL, "row pitch");
    REJECT(hot_pct, 0, GPUSIM__GPU_PAT_HOTCOLD, "hot set");
    REJECT(hot_access_pct, 101, GPUSIM__GPU_PAT_HOTCOLD, "hot set");
    p = pat(GPUSIM__GPU_PAT_TRACE, MIB, 10, 64);
    assert_int_equal(gpusim__gpu_pattern_check(&p, msg, sizeof msg), GPUSIM_EINVAL);
    assert_non_null(strstr(msg, "without a trace"));
#undef REJECT
}

/* ---- traces --------------------------------------------------------------------------------- */

static void test_trace_parse_and_replay(void **state)
{
    gpusim_world_t *w = test_world(1);
    gpusim__gpu_trace *t;
    gpusim__gpu_pattern p;
    char msg[128];
    static const char text[] = "# a trace\n"
                               "R 0 64\n"
                               "  W 0x2000   # default: a whole page\n"
                               "\n"
                               "R\t8192 1\r\n"
                               "W 12288 4096";
    (void)state;
    ASSERT_OK(gpusim__gpu_trace_parse(&w->arena, text, strlen(text), &t, msg, sizeof msg));
    assert_int_equal(t->n, 4);
    assert_int_equal(t->rec[1].off, 0x2000);
    assert_int_equal(t->rec[1].bytes, 4096);
    assert_int_equal(t->rec[1].write, 1);
    assert_int_equal(t->rec[2].bytes, 1);
    assert_int_equal(t->span, 16384);
    p = pat(GPUSIM__GPU_PAT_TRACE, 16384, 10, 0);
    p.trace = t;
    check_ok(&p);
    assert_int_equal(touch(&p, 5).off, 0x2000); /* record 5 mod 4 */
    assert_true(touch(&p, 5).write);
    assert_int_equal(touch(&p, 0).bytes, 64);
    p.bytes = 16383;
    assert_int_equal(gpusim__gpu_pattern_check(&p, msg, sizeof msg), GPUSIM_EINVAL);
    assert_non_null(strstr(msg, "past the end"));
    gpusim__gpu_trace_free(&w->arena, t);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

static void test_trace_errors(void **state)
{
    gpusim_world_t *w = test_world(1);
    gpusim__gpu_trace *t = NULL;
    char msg[128];
    static const struct {
        const char *text;
        const char *want;
    } bad[] = {
        {"R 0\nX 10\n", "line 2: expected R or W"},
        {"R0\n", "line 1: expected a space"},
        {"W \n", "line 1: expected an offset"},
        {"W 0x\n", "line 1: expected an offset"},
        {"R 10 0\n", "line 1: byte count must be 1..4096"},
        {"R 10 4097\n", "line 1: byte count must be 1..4096"},
        {"R 10 64 junk\n", "line 1: unexpected text"},
        {"R 99999999999999999999\n", "line 1: expected an offset"},
        {"R 0xffffffffffffffff 2\n", "line 1: offset + bytes overflows"},
        {"# nothing\n\n", "line 2: the trace has no records"},
        {"", "line 0: the trace has no records"},
    };
    (void)state;
    for (size_t i = 0; i < GPUSIM_ARRAY_SIZE(bad); i++) {
        int64_t bytes = w->arena.bytes;
        assert_int_equal(gpusim__gpu_trace_parse(&w->arena, bad[i].text, strlen(bad[i].text), &t,
                                                 msg, sizeof msg),
                         GPUSIM_EINVAL);
        if (!strstr(msg, bad[i].want))
            fail_msg("case %zu: got \"%s\", want \"%s\"", i, msg, bad[i].want);
        assert_int_equal(w->arena.bytes, bytes); /* nothing kept */
    }
    /* A NUL inside the text is an error, not the end of the input. */
    assert_int_equal(gpusim__gpu_trace_parse(&w->arena, "R 0\n\0R 1\n", 9, &t, msg, sizeof msg),
                     GPUSIM_EINVAL);
    assert_non_null(strstr(msg, "line 2: NUL"));
    assert_int_equal(gpusim__gpu_trace_parse(NULL, "R 0", 3, &t, msg, sizeof msg), GPUSIM_EINVAL);
    assert_int_equal(gpusim__gpu_trace_parse(&w->arena, "R 0", 3, NULL, msg, sizeof msg),
                     GPUSIM_EINVAL);
    assert_null(t);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* Every allocation point of the parser fails cleanly. */
static void test_trace_alloc_failures(void **state)
{
    gpusim_world_t *w = test_world(1);
    char text[64 * 16] = "", msg[128];
    int points = 0;
    (void)state;
    for (int i = 0; i < 64; i++)
        snprintf(text + strlen(text), sizeof text - strlen(text), "R %d\n", i * 4096);
    for (long k = 1;; k++) {
        gpusim__gpu_trace *t = NULL;
        int rc;
        bool fired;
        size_t bytes = w->arena.bytes;
        gpusim__alloc_fail_nth(k);
        rc = gpusim__gpu_trace_parse(&w->arena, text, strlen(text), &t, msg, sizeof msg);
        fired = gpusim__alloc_fail_fired();
        gpusim__alloc_fail_nth(0);
        if (!fired) {
            ASSERT_OK(rc);
            assert_int_equal(t->n, 64);
            gpusim__gpu_trace_free(&w->arena, t);
            break;
        }
        points++;
        assert_int_equal(rc, GPUSIM_ENOMEM);
        assert_int_equal(w->arena.bytes, bytes);
    }
    assert_true(points >= 2);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        GPUSIM_TEST(test_sequential_and_strided),
        GPUSIM_TEST(test_strided_no_overflow),
        GPUSIM_TEST(test_strided_fast_path_boundary),
        GPUSIM_TEST(test_random_is_uniform_and_deterministic),
        GPUSIM_TEST(test_hotcold),
        GPUSIM_TEST(test_stencil),
        GPUSIM_TEST(test_chase_is_a_permutation),
        GPUSIM_TEST(test_write_share),
        GPUSIM_TEST(test_waves),
        GPUSIM_TEST(test_check_rejects),
        GPUSIM_TEST(test_trace_parse_and_replay),
        GPUSIM_TEST(test_trace_errors),
        GPUSIM_TEST(test_trace_alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
