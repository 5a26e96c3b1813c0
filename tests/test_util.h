/*
 * tests/test_util.h -- what every cmocka test of gpusim includes first.
 *
 * cmocka requires <stdarg.h>, <stddef.h>, <setjmp.h> and <stdint.h> before <cmocka.h>; this header
 * gets the order right once. Tests may use internal headers (src/ is on their include path).
 *
 * Leak discipline: register tests with GPUSIM_TEST(f), which records the allocator facade's
 * process-wide balance of live bytes before the test, and end every test that creates worlds with
 * ASSERT_NO_LEAK(), which checks the balance is back where it was. That holds under both the
 * jemalloc and libc backends, so leaks are caught even where valgrind and ASan cannot look; and
 * because the baseline is per test, a test that fails half-way (leaving its world behind) does not
 * make every later test fail too.
 */
#ifndef GPUSIM_TEST_UTIL_H
#define GPUSIM_TEST_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include "gpusim.h"
#include "core/alloc.h"

static int64_t test_leak_baseline_;

static inline int test_leak_baseline(void **state)
{
    (void)state;
    test_leak_baseline_ = gpusim__alloc_outstanding();
    gpusim__alloc_fail_nth(0); /* no failure injection left over from a failed test */
    return 0;
}

/* Registers a test with the leak baseline fixture. */
#define GPUSIM_TEST(f) cmocka_unit_test_setup(f, test_leak_baseline)

/* Fails the test unless every byte it allocated through gpusim has been freed. */
#define ASSERT_NO_LEAK() assert_int_equal(gpusim__alloc_outstanding(), test_leak_baseline_)

/* Asserts that an int-returning gpusim call succeeds, printing the error name if not. */
#define ASSERT_OK(call)                                                                            \
    do {                                                                                           \
        int rc_ = (call);                                                                          \
        if (rc_ != 0)                                                                              \
            fail_msg("%s returned %s (%d)", #call, gpusim_err_name(rc_), rc_);                     \
    } while (0)

/* Asserts that a gpusim call fails with the given code. */
#define ASSERT_ERR(call, code) assert_int_equal((call), (code))

/* Creates a world with the given seed, failing the test if that is impossible. */
static inline gpusim_world_t *test_world(uint64_t seed)
{
    gpusim_world_config_t cfg;
    gpusim_world_t *w = NULL;
    gpusim_world_config_init(&cfg);
    cfg.seed = seed;
    ASSERT_OK(gpusim_world_new(&cfg, &w));
    return w;
}

#endif /* GPUSIM_TEST_UTIL_H */
