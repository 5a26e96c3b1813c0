/*
 * tests/test_error.c -- the error table of gpusim/error.h and core/error.c.
 *
 * Covers, for every entry of GPUSIM_ERRNO_MAP (walked with the table's own X-macro, so a new entry
 * is tested without editing this file): the value is negative and unique; gpusim_err_name() gives
 * the entry's NAME and gpusim_strerror() its message; the enum constant equals the table value.
 * Also the two ranges (the POSIX range is -errno of the same name on Linux and above -3000, the
 * simulator range is -3000 and below), the special value 0, values outside the table, and a few
 * constants pinned by number.
 */
#include "test_util.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>

struct table_entry {
    const char *name;
    int value;
    const char *msg;
    int enum_value; /* GPUSIM_<NAME> */
};

#define TABLE_ENTRY(name, value, msg) {#name, (value), msg, GPUSIM_##name},

static const struct table_entry all_entries[] = {GPUSIM_ERRNO_MAP(TABLE_ENTRY)};
static const struct table_entry posix_entries[] = {GPUSIM_ERRNO_MAP_POSIX(TABLE_ENTRY)};
static const struct table_entry sim_entries[] = {GPUSIM_ERRNO_MAP_SIM(TABLE_ENTRY)};

#undef TABLE_ENTRY

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static void test_table_is_union_of_ranges(void **state)
{
    (void)state;
    assert_int_equal(COUNT(all_entries), COUNT(posix_entries) + COUNT(sim_entries));
    assert_true(COUNT(posix_entries) > 0);
    assert_true(COUNT(sim_entries) > 0);
    for (size_t i = 0; i < COUNT(posix_entries); i++)
        assert_int_equal(all_entries[i].value, posix_entries[i].value);
    for (size_t i = 0; i < COUNT(sim_entries); i++)
        assert_int_equal(all_entries[COUNT(posix_entries) + i].value, sim_entries[i].value);
}

static void test_every_entry_negative(void **state)
{
    (void)state;
    for (size_t i = 0; i < COUNT(all_entries); i++)
        if (all_entries[i].value >= 0)
            fail_msg("%s = %d is not negative", all_entries[i].name, all_entries[i].value);
}

static void test_every_entry_has_its_name(void **state)
{
    (void)state;
    for (size_t i = 0; i < COUNT(all_entries); i++) {
        const char *name = gpusim_err_name(all_entries[i].value);
        assert_non_null(name);
        assert_string_equal(name, all_entries[i].name);
    }
}

static void test_every_entry_has_its_message(void **state)
{
    (void)state;
    for (size_t i = 0; i < COUNT(all_entries); i++) {
        const char *msg = gpusim_strerror(all_entries[i].value);
        assert_non_null(msg);
        assert_string_equal(msg, all_entries[i].msg);
        assert_string_not_equal(msg, "unknown error");
        assert_string_not_equal(msg, "success");
    }
}

/*
 * The header promises a lower-case message. Acronyms ("GPU") are allowed: a word that contains an
 * upper-case letter must be all upper-case and at least two letters long. No leading or trailing
 * blank, no final period or newline.
 */
static void test_every_message_is_lower_case_text(void **state)
{
    (void)state;
    for (size_t i = 0; i < COUNT(all_entries); i++) {
        const char *msg = all_entries[i].msg;
        size_t len = strlen(msg);
        assert_true(len > 0);
        if (isspace((unsigned char)msg[0]) || isspace((unsigned char)msg[len - 1]) ||
            msg[len - 1] == '.')
            fail_msg("%s: badly delimited message \"%s\"", all_entries[i].name, msg);
        for (const char *w = msg; *w;) {
            size_t wlen = strcspn(w, " ");
            int upper = 0, lower = 0;
            for (size_t k = 0; k < wlen; k++) {
                upper += isupper((unsigned char)w[k]) != 0;
                lower += islower((unsigned char)w[k]) != 0;
            }
            if (upper > 0 && (lower > 0 || upper < 2))
                fail_msg("%s: message \"%s\" is not lower-case", all_entries[i].name, msg);
            w += wlen;
            while (*w == ' ')
                w++;
        }
    }
}

static void test_values_distinct(void **state)
{
    (void)state;
    for (size_t i = 0; i < COUNT(all_entries); i++)
        for (size_t j = i + 1; j < COUNT(all_entries); j++)
            if (all_entries[i].value == all_entries[j].value)
                fail_msg("%s and %s share the value %d", all_entries[i].name, all_entries[j].name,
                         all_entries[i].value);
}

static void test_names_distinct(void **state)
{
    (void)state;
    for (size_t i = 0; i < COUNT(all_entries); i++)
        for (size_t j = i + 1; j < COUNT(all_entries); j++)
            assert_string_not_equal(all_entries[i].name, all_entries[j].name);
}

static void test_enum_constants_match_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < COUNT(all_entries); i++)
        if (all_entries[i].enum_value != all_entries[i].value)
            fail_msg("GPUSIM_%s = %d, table says %d", all_entries[i].name,
                     all_entries[i].enum_value, all_entries[i].value);
}

static void test_enum_constants_pinned(void **state)
{
    (void)state;
    assert_int_equal(GPUSIM_EPERM, -1);
    assert_int_equal(GPUSIM_ENOENT, -2);
    assert_int_equal(GPUSIM_ESRCH, -3);
    assert_int_equal(GPUSIM_EAGAIN, -11);
    assert_int_equal(GPUSIM_ENOMEM, -12);
    assert_int_equal(GPUSIM_EINVAL, -22);
    assert_int_equal(GPUSIM_ENOTSUP, -95);
    assert_int_equal(GPUSIM_ETIMEDOUT, -110);
    assert_int_equal(GPUSIM_ECANCELED, -125);
    assert_int_equal(GPUSIM_EGPUFAULT, -3000);
    assert_int_equal(GPUSIM_ECTXKILLED, -3001);
    assert_int_equal(GPUSIM_EFENCETIMEDOUT, -3002);
    assert_int_equal(GPUSIM_EWOULDBLOCK, -3003);
    assert_int_equal(GPUSIM_ERETRY, -3004);
    assert_int_equal(GPUSIM_ECORRUPT, -3005);
    /* Unlike errno on Linux, "would block" and "try again" are different codes. */
    assert_int_not_equal(GPUSIM_EWOULDBLOCK, GPUSIM_EAGAIN);
    assert_string_equal(gpusim_err_name(GPUSIM_EINVAL), "EINVAL");
    assert_string_equal(gpusim_strerror(GPUSIM_EINVAL), "invalid argument");
    assert_string_equal(gpusim_err_name(GPUSIM_EGPUFAULT), "EGPUFAULT");
}

static void test_posix_range_above_minus_3000(void **state)
{
    (void)state;
    for (size_t i = 0; i < COUNT(posix_entries); i++)
        if (!(posix_entries[i].value > -3000))
            fail_msg("POSIX-range %s = %d is not above -3000", posix_entries[i].name,
                     posix_entries[i].value);
}

static void test_sim_range_at_or_below_minus_3000(void **state)
{
    (void)state;
    for (size_t i = 0; i < COUNT(sim_entries); i++)
        if (!(sim_entries[i].value <= -3000))
            fail_msg("simulator-range %s = %d is above -3000", sim_entries[i].name,
                     sim_entries[i].value);
}

#ifdef __linux__
/* The POSIX range again, with NAME expanded as the <errno.h> macro of the same name. */
struct errno_entry {
    const char *name;
    int value;
    int neg_errno;
};
#define ERRNO_ENTRY(name, value, msg) {#name, (value), -(name)},
static const struct errno_entry errno_entries[] = {GPUSIM_ERRNO_MAP_POSIX(ERRNO_ENTRY)};
#undef ERRNO_ENTRY
#endif

static void test_posix_range_is_negated_linux_errno(void **state)
{
    (void)state;
#ifdef __linux__
    assert_int_equal(COUNT(errno_entries), COUNT(posix_entries));
    for (size_t i = 0; i < COUNT(errno_entries); i++)
        if (errno_entries[i].value != errno_entries[i].neg_errno)
            fail_msg("GPUSIM_%s = %d but -%s = %d", errno_entries[i].name, errno_entries[i].value,
                     errno_entries[i].name, errno_entries[i].neg_errno);
#else
    skip();
#endif
}

static void test_zero_is_success(void **state)
{
    (void)state;
    assert_string_equal(gpusim_strerror(0), "success");
    assert_string_equal(gpusim_err_name(0), "OK");
}

static void test_values_outside_table_are_unknown(void **state)
{
    (void)state;
    static const int outside[] = {1, 22, 3000, -4, -2999, -3006, -4000, -9999, INT_MIN, INT_MAX};
    for (size_t i = 0; i < COUNT(outside); i++) {
        const char *msg = gpusim_strerror(outside[i]);
        const char *name = gpusim_err_name(outside[i]);
        assert_non_null(msg);
        assert_non_null(name);
        assert_string_equal(msg, "unknown error");
        assert_string_equal(name, "UNKNOWN");
    }
}

static void test_never_null_over_a_range(void **state)
{
    (void)state;
    for (int v = -5000; v <= 100; v++) {
        assert_non_null(gpusim_strerror(v));
        assert_non_null(gpusim_err_name(v));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        GPUSIM_TEST(test_table_is_union_of_ranges),
        GPUSIM_TEST(test_every_entry_negative),
        GPUSIM_TEST(test_every_entry_has_its_name),
        GPUSIM_TEST(test_every_entry_has_its_message),
        GPUSIM_TEST(test_every_message_is_lower_case_text),
        GPUSIM_TEST(test_values_distinct),
        GPUSIM_TEST(test_names_distinct),
        GPUSIM_TEST(test_enum_constants_match_table),
        GPUSIM_TEST(test_enum_constants_pinned),
        GPUSIM_TEST(test_posix_range_above_minus_3000),
        GPUSIM_TEST(test_sim_range_at_or_below_minus_3000),
        GPUSIM_TEST(test_posix_range_is_negated_linux_errno),
        GPUSIM_TEST(test_zero_is_success),
        GPUSIM_TEST(test_values_outside_table_are_unknown),
        GPUSIM_TEST(test_never_null_over_a_range),
    };
    return cmocka_run_group_tests_name("error", tests, NULL, NULL);
}
