/*
 * tests/badinput_util.h -- what the bad-input catalogue (tests/test_badinput_*.c) shares: a counted
 * assertion for one bad call, and the group teardown that prints how many bad calls an executable
 * made. Include after test_util.h.
 *
 * Every bad call goes through BAD() (an int result: the exact documented error code) or BAD_EQ()
 * (a value result: the documented neutral value, for getters that cannot return an error), so the
 * count printed at the end is the number of bad calls the catalogue makes (tests/README-badinput.md
 * quotes it). A call that must merely not crash (a void function given NULL) goes through BAD_VOID().
 */
#ifndef GPUSIM_TESTS_BADINPUT_UTIL_H
#define GPUSIM_TESTS_BADINPUT_UTIL_H

#include <stdio.h>

#include "test_util.h"

static unsigned long badinput_calls_;

/* One bad call of an int-returning function: it must return exactly `code`. */
#define BAD(call, code)                                                                            \
    do {                                                                                           \
        badinput_calls_++;                                                                         \
        int brc_ = (int)(call);                                                                    \
        if (brc_ != (code))                                                                        \
            fail_msg("%s returned %s (%d), expected %s", #call, gpusim_err_name(brc_), brc_,       \
                     gpusim_err_name(code));                                                       \
    } while (0)

/* One bad call of a getter: it must return the documented neutral value. */
#define BAD_EQ(call, value)                                                                        \
    do {                                                                                           \
        badinput_calls_++;                                                                         \
        assert_true((call) == (value));                                                            \
    } while (0)

/* One bad call of a void function: it must return (and change nothing, asserted by the caller). */
#define BAD_VOID(call)                                                                             \
    do {                                                                                           \
        badinput_calls_++;                                                                         \
        call;                                                                                      \
    } while (0)

/* Group teardown: prints the number of bad calls the executable made. */
static inline int badinput_report(void **state)
{
    (void)state;
    printf("badinput: %lu bad calls\n", badinput_calls_);
    return 0;
}

/* Fills an output struct with a byte pattern, to prove afterwards that a failed call left it. */
#define POISON(x) memset(&(x), 0xa5, sizeof(x))

/* True if every byte of x still holds the POISON pattern. */
static inline bool badinput_poisoned(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != 0xa5)
            return false;
    return true;
}

/* Asserts that a failed call left an output POISONed before it untouched. */
#define ASSERT_UNTOUCHED(x) assert_true(badinput_poisoned(&(x), sizeof(x)))

#endif /* GPUSIM_TESTS_BADINPUT_UTIL_H */
