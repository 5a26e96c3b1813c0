/*
 * tests/badinput_util.h -- what the bad-input catalogue (tests/test_badinput_*.c) shares: a counted
 * assertion for one bad call, and the group teardown that prints how many bad calls an executable
 * made. Include after test_util.h.
 *
 * Every bad call goes through BAD() (an int result: the exact documented error code) or BAD_EQ()
 * (a value result: the documented neutral value, for getters that cannot return an error), so the
 * count printed at the end is the number of bad calls the catalogue makes (docs/reliability.md §3
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

/*
 * The catalogue of one by-name parameter table (host, GPU or driver), given its three functions:
 * NULL at every argument of set_fn, get_fn and info_fn, an unknown name, malformed text, a value past the plausible range
 * (`over`, refused without force), and a number past the table. Each must fail with its documented
 * code and leave the config byte-for-byte as it was; the message buffer is not overrun.
 * `cfg` is an initialised config of type `type`; `name` a parameter of the table.
 */
#define PARAM_CATALOGUE(set_fn, get_fn, info_fn, type, cfg, name, over)                            \
    do {                                                                                           \
        type copy_ = (cfg);                                                                        \
        uint64_t v_ = 0x5a5a;                                                                      \
        char msg_[96];                                                                             \
        char guard_[4] = "xyz";                                                                    \
        gpusim_param_info_t info_;                                                                 \
        BAD(set_fn(NULL, name, "1", false, NULL, 0), GPUSIM_EINVAL);                               \
        BAD(set_fn(&(cfg), NULL, "1", false, NULL, 0), GPUSIM_EINVAL);                             \
        BAD(set_fn(&(cfg), name, NULL, false, NULL, 0), GPUSIM_EINVAL);                            \
        BAD(set_fn(&(cfg), "no_such_param", "1", false, msg_, sizeof msg_), GPUSIM_ENOENT);        \
        assert_true(msg_[0] != '\0');                                                              \
        BAD(set_fn(&(cfg), "", "1", false, NULL, 0), GPUSIM_ENOENT);                               \
        BAD(set_fn(&(cfg), name, "junk", false, msg_, sizeof msg_), GPUSIM_EINVAL);                \
        BAD(set_fn(&(cfg), name, "", true, NULL, 0), GPUSIM_EINVAL);                               \
        BAD(set_fn(&(cfg), name, "-1", true, NULL, 0), GPUSIM_EINVAL);                             \
        BAD(set_fn(&(cfg), name, over, false, guard_, 0), GPUSIM_ERANGE);                          \
        assert_string_equal(guard_, "xyz");                                                        \
        BAD(set_fn(&(cfg), name, over, false, msg_, sizeof msg_), GPUSIM_ERANGE);                  \
        assert_true(msg_[0] != '\0');                                                              \
        assert_memory_equal(&copy_, &(cfg), sizeof copy_);                                         \
        BAD(get_fn(NULL, name, &v_), GPUSIM_EINVAL);                                               \
        BAD(get_fn(&(cfg), NULL, &v_), GPUSIM_EINVAL);                                             \
        BAD(get_fn(&(cfg), name, NULL), GPUSIM_EINVAL);                                            \
        BAD(get_fn(&(cfg), "no_such_param", &v_), GPUSIM_ENOENT);                                  \
        assert_true(v_ == 0x5a5a);                                                                 \
        POISON(info_);                                                                             \
        BAD(info_fn(0, NULL), GPUSIM_EINVAL);                                                      \
        BAD(info_fn(SIZE_MAX, &info_), GPUSIM_ENOENT);                                             \
        size_t n_ = 0;                                                                             \
        while (info_fn(n_, &info_) == 0)                                                           \
            n_++;                                                                                  \
        POISON(info_);                                                                             \
        BAD(info_fn(n_, &info_), GPUSIM_ENOENT);                                                   \
        ASSERT_UNTOUCHED(info_);                                                                   \
        /* Still usable: the value past the range is taken with force. */                          \
        ASSERT_OK(set_fn(&(cfg), name, over, true, NULL, 0));                                      \
        (cfg) = copy_;                                                                             \
    } while (0)

#endif /* GPUSIM_TESTS_BADINPUT_UTIL_H */
