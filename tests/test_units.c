/*
 * tests/test_units.c -- parsing and formatting of sizes, durations and rates (core/units.c).
 *
 * Covers every unit spelling of gpusim/units.h (binary and decimal sizes, durations including the
 * two UTF-8 spellings of micro, rates), case-insensitivity and spacing, exact fractions and the
 * rejection of fractions that are not a whole number of base units, overflow, malformed input and
 * its messages (content, truncation, NULL buffer), the output being left untouched on error,
 * formatting to exact strings (rounding, unit edges, UINT64_MAX, short and NULL buffers) and the
 * round trip parse(format(v)) == v for values exactly representable in their display unit.
 */
#include "test_util.h"

#include <stdio.h>

#define SENTINEL UINT64_C(0xdeadbeefcafef00d)

#define NS_PER_MIN (60 * GPUSIM_NS_PER_S)
#define NS_PER_H   (3600 * GPUSIM_NS_PER_S)
#define NS_PER_D   (86400 * GPUSIM_NS_PER_S)

typedef int (*parse_fn)(const char *text, uint64_t *out, char *msg, size_t msglen);
typedef int (*format_fn)(uint64_t v, char *buf, size_t buflen);

/* Adapter so that the three parsers share one signature (gpusim_time_t is uint64_t). */
static int duration_parse(const char *text, uint64_t *out, char *msg, size_t msglen)
{
    return gpusim_duration_parse(text, out, msg, msglen);
}

/* Parses `text` and requires success with value `want`. */
static void expect_parse(parse_fn parse, const char *text, uint64_t want)
{
    uint64_t v = SENTINEL;
    char msg[256] = "";
    int rc = parse(text, &v, msg, sizeof(msg));
    if (rc != 0)
        fail_msg("parsing '%s' returned %s: %s", text, gpusim_err_name(rc), msg);
    if (v != want)
        fail_msg("parsing '%s' gave %llu, expected %llu", text, (unsigned long long)v,
                 (unsigned long long)want);
}

/*
 * Parses `text` and requires failure with `code`, the output left untouched, and a message that
 * contains `detail` (if not NULL) and names the input (when it is short enough to be quoted whole).
 */
static void expect_parse_err(parse_fn parse, const char *what, const char *text, int code,
                             const char *detail)
{
    uint64_t v = SENTINEL;
    char msg[256];
    memset(msg, 'x', sizeof(msg));
    int rc = parse(text, &v, msg, sizeof(msg));
    if (rc != code)
        fail_msg("parsing '%s' returned %s, expected %s", text, gpusim_err_name(rc),
                 gpusim_err_name(code));
    if (v != SENTINEL)
        fail_msg("parsing '%s' failed but changed the output to %llu", text, (unsigned long long)v);
    if (memchr(msg, '\0', sizeof(msg)) == NULL)
        fail_msg("parsing '%s': the message is not NUL-terminated", text);
    if (detail != NULL && strstr(msg, detail) == NULL)
        fail_msg("parsing '%s': message \"%s\" lacks \"%s\"", text, msg, detail);
    char head[96];
    snprintf(head, sizeof(head), "invalid %s '%s'", what, text);
    if (strlen(text) <= 40 && strstr(msg, head) == NULL)
        fail_msg("parsing '%s': message \"%s\" lacks \"%s\"", text, msg, head);
}

static void expect_format(format_fn format, uint64_t v, const char *want)
{
    char buf[GPUSIM_UNITS_BUFSZ];
    memset(buf, 'x', sizeof(buf));
    int rc = format(v, buf, sizeof(buf));
    if (rc != 0)
        fail_msg("formatting %llu returned %s", (unsigned long long)v, gpusim_err_name(rc));
    if (strcmp(buf, want) != 0)
        fail_msg("formatting %llu gave \"%s\", expected \"%s\"", (unsigned long long)v, buf, want);
}

/* ------------------------------------------------------------------------------------------- */
/* Sizes                                                                                       */
/* ------------------------------------------------------------------------------------------- */

static void test_size_bare_number_is_bytes(void **state)
{
    (void)state;
    expect_parse(gpusim_size_parse, "0", 0);
    expect_parse(gpusim_size_parse, "1", 1);
    expect_parse(gpusim_size_parse, "4096", 4096);
    expect_parse(gpusim_size_parse, "123456789", 123456789);
    expect_parse(gpusim_size_parse, "0B", 0);
    expect_parse(gpusim_size_parse, "17B", 17);
}

static void test_size_binary_units(void **state)
{
    (void)state;
    expect_parse(gpusim_size_parse, "4K", 4 * GPUSIM_KIB);
    expect_parse(gpusim_size_parse, "4KiB", 4 * GPUSIM_KIB);
    expect_parse(gpusim_size_parse, "3M", 3 * GPUSIM_MIB);
    expect_parse(gpusim_size_parse, "3MiB", 3 * GPUSIM_MIB);
    expect_parse(gpusim_size_parse, "5G", 5 * GPUSIM_GIB);
    expect_parse(gpusim_size_parse, "5GiB", 5 * GPUSIM_GIB);
    expect_parse(gpusim_size_parse, "7T", 7 * GPUSIM_TIB);
    expect_parse(gpusim_size_parse, "7TiB", 7 * GPUSIM_TIB);
    expect_parse(gpusim_size_parse, "9P", 9 * GPUSIM_PIB);
    expect_parse(gpusim_size_parse, "9PiB", 9 * GPUSIM_PIB);
    expect_parse(gpusim_size_parse, "15E", 15 * GPUSIM_EIB);
    expect_parse(gpusim_size_parse, "15EiB", 15 * GPUSIM_EIB);
    expect_parse(gpusim_size_parse, "1EiB", GPUSIM_EIB);
}

static void test_size_decimal_units(void **state)
{
    (void)state;
    expect_parse(gpusim_size_parse, "4KB", UINT64_C(4000));
    expect_parse(gpusim_size_parse, "3MB", UINT64_C(3000000));
    expect_parse(gpusim_size_parse, "5GB", UINT64_C(5000000000));
    expect_parse(gpusim_size_parse, "7TB", UINT64_C(7000000000000));
    expect_parse(gpusim_size_parse, "9PB", UINT64_C(9000000000000000));
    expect_parse(gpusim_size_parse, "18EB", UINT64_C(18000000000000000000));
}

static void test_size_units_are_case_insensitive(void **state)
{
    (void)state;
    expect_parse(gpusim_size_parse, "4kiB", 4 * GPUSIM_KIB);
    expect_parse(gpusim_size_parse, "4KIB", 4 * GPUSIM_KIB);
    expect_parse(gpusim_size_parse, "4kIB", 4 * GPUSIM_KIB);
    expect_parse(gpusim_size_parse, "4k", 4 * GPUSIM_KIB);
    expect_parse(gpusim_size_parse, "2gB", UINT64_C(2000000000));
    expect_parse(gpusim_size_parse, "8B", 8);
}

static void test_lower_case_b_means_bits_and_is_refused(void **state)
{
    (void)state;
    /* A lower-case b is the conventional spelling of bits: refuse it instead of misreading it 8x. */
    const char *sizes[] = {"8b", "4kib", "4Kb", "2Gb", "2gb", "1.5mib", "3 tb"};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
        expect_parse_err(gpusim_size_parse, "size", sizes[i], GPUSIM_EINVAL, "means bits");
    const char *rates[] = {"100Mb/s", "10Gb/s", "1gb/S", "5kib/s"};
    for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++)
        expect_parse_err(gpusim_rate_parse, "rate", rates[i], GPUSIM_EINVAL, "means bits");
    expect_parse(gpusim_size_parse, "4k", 4 * GPUSIM_KIB); /* no b at all: fine */
}

static void test_size_spaces_around_and_between(void **state)
{
    (void)state;
    expect_parse(gpusim_size_parse, "4 KiB", 4 * GPUSIM_KIB);
    expect_parse(gpusim_size_parse, "  4 KiB  ", 4 * GPUSIM_KIB);
    expect_parse(gpusim_size_parse, "4   KiB", 4 * GPUSIM_KIB);
    expect_parse(gpusim_size_parse, "\t4\tKiB\t", 4 * GPUSIM_KIB);
    expect_parse(gpusim_size_parse, "  4096  ", 4096);
}

static void test_size_exact_fractions(void **state)
{
    (void)state;
    expect_parse(gpusim_size_parse, "1.5KiB", 1536);
    expect_parse(gpusim_size_parse, "1.500GiB", GPUSIM_GIB + GPUSIM_GIB / 2);
    expect_parse(gpusim_size_parse, "1.5000000000000000000GiB", GPUSIM_GIB + GPUSIM_GIB / 2);
    expect_parse(gpusim_size_parse, "0.25K", 256);
    expect_parse(gpusim_size_parse, "0.001KB", 1);
    expect_parse(gpusim_size_parse, "1.0B", 1);
    expect_parse(gpusim_size_parse, "2.000", 2);
    expect_parse(gpusim_size_parse, "0.0009765625KiB", 1);
    expect_parse(gpusim_size_parse, "1.125MB", 1125000);
}

static void test_size_fraction_of_a_byte_is_rejected(void **state)
{
    (void)state;
    expect_parse_err(gpusim_size_parse, "size", "0.3B", GPUSIM_EINVAL, "not a whole number");
    expect_parse_err(gpusim_size_parse, "size", "1.0001KiB", GPUSIM_EINVAL, "not a whole number");
    expect_parse_err(gpusim_size_parse, "size", "0.5", GPUSIM_EINVAL, "not a whole number");
    expect_parse_err(gpusim_size_parse, "size", "0.0001KB", GPUSIM_EINVAL, "not a whole number");
}

static void test_size_overflow_is_erange(void **state)
{
    (void)state;
    expect_parse_err(gpusim_size_parse, "size", "16EiB", GPUSIM_ERANGE, NULL);
    expect_parse_err(gpusim_size_parse, "size", "16E", GPUSIM_ERANGE, NULL);
    expect_parse_err(gpusim_size_parse, "size", "19EB", GPUSIM_ERANGE, NULL);
    expect_parse_err(gpusim_size_parse, "size", "20000000000000000000", GPUSIM_ERANGE, NULL);
    expect_parse_err(gpusim_size_parse, "size", "18446744073709551616", GPUSIM_ERANGE, NULL);
    expect_parse_err(gpusim_size_parse, "size", "16384PiB", GPUSIM_ERANGE, NULL);
}

static void test_size_uint64_max_parses(void **state)
{
    (void)state;
    expect_parse(gpusim_size_parse, "18446744073709551615", UINT64_MAX);
    expect_parse(gpusim_size_parse, "18446744073709551615B", UINT64_MAX);
    /* 15 + 15/16 EiB = 2^64 - 2^56: the largest exact fraction is computed without overflow. */
    expect_parse(gpusim_size_parse, "15.9375EiB", UINT64_MAX - ((UINT64_C(1) << 56) - 1));
}

static void test_size_junk_is_einval(void **state)
{
    (void)state;
    static const char *const junk[] = {
        "",    "   ", "abc",    "-4K", "+4K", "4 K B", "1.",
        ".5K", "1e3", "4KiB/s", "K",   "4K4", "4..5K", "4,5K",
    };
    for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
        expect_parse_err(gpusim_size_parse, "size", junk[i], GPUSIM_EINVAL, NULL);
    expect_parse_err(gpusim_size_parse, "size", "4XB", GPUSIM_EINVAL, "unknown unit 'XB'");
    expect_parse_err(gpusim_size_parse, "size", "4XB", GPUSIM_EINVAL, "invalid size '4XB'");
}

static void test_size_message_buffer_handling(void **state)
{
    (void)state;
    uint64_t v = SENTINEL;

    /* A NULL message buffer is allowed. */
    ASSERT_ERR(gpusim_size_parse("4XB", &v, NULL, 0), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_size_parse("4XB", &v, NULL, 100), GPUSIM_EINVAL);
    assert_true(v == SENTINEL);

    /* A short buffer receives a truncated, NUL-terminated prefix of the message. */
    char full[256];
    ASSERT_ERR(gpusim_size_parse("4XB", &v, full, sizeof(full)), GPUSIM_EINVAL);
    char small[12];
    memset(small, 'x', sizeof(small));
    ASSERT_ERR(gpusim_size_parse("4XB", &v, small, 8), GPUSIM_EINVAL);
    assert_int_equal(small[7], '\0');
    assert_int_equal(strlen(small), 7);
    assert_memory_equal(small, full, 7);
    assert_int_equal(small[8], 'x'); /* nothing written past msglen */

    /* msglen 1 gives the empty string; msglen 0 writes nothing. */
    small[0] = 'x';
    ASSERT_ERR(gpusim_size_parse("4XB", &v, small, 1), GPUSIM_EINVAL);
    assert_int_equal(small[0], '\0');
    small[0] = 'x';
    ASSERT_ERR(gpusim_size_parse("4XB", &v, small, 0), GPUSIM_EINVAL);
    assert_int_equal(small[0], 'x');
    assert_true(v == SENTINEL);
}

static void test_size_long_input_is_abbreviated_in_message(void **state)
{
    (void)state;
    const char *text = "123456789012345678901234567890123456789012345678901234567890XB";
    uint64_t v = SENTINEL;
    char msg[256];
    ASSERT_ERR(gpusim_size_parse(text, &v, msg, sizeof(msg)), GPUSIM_ERANGE);
    assert_non_null(strstr(msg, "invalid size '1234567890123456789012345678901234567890...'"));
    assert_true(v == SENTINEL);
}

/* ------------------------------------------------------------------------------------------- */
/* Durations                                                                                   */
/* ------------------------------------------------------------------------------------------- */

static void test_duration_units(void **state)
{
    (void)state;
    expect_parse(duration_parse, "7ns", 7);
    expect_parse(duration_parse, "30us", 30 * GPUSIM_NS_PER_US);
    expect_parse(duration_parse, "30\xc2\xb5s", 30 * GPUSIM_NS_PER_US);
    expect_parse(duration_parse, "30\xce\xbcs", 30 * GPUSIM_NS_PER_US);
    expect_parse(duration_parse, "4ms", 4 * GPUSIM_NS_PER_MS);
    expect_parse(duration_parse, "3s", 3 * GPUSIM_NS_PER_S);
    expect_parse(duration_parse, "5min", 5 * NS_PER_MIN);
    expect_parse(duration_parse, "2h", 2 * NS_PER_H);
    expect_parse(duration_parse, "2d", 2 * NS_PER_D);
    expect_parse(duration_parse, "1.5ms", 1500000);
    expect_parse(duration_parse, "0.5min", 30 * GPUSIM_NS_PER_S);
    expect_parse(duration_parse, "1.000000001s", GPUSIM_NS_PER_S + 1);
    expect_parse(duration_parse, "  2 H ", 2 * NS_PER_H);
    expect_parse(duration_parse, "3MS", 3 * GPUSIM_NS_PER_MS);
    expect_parse(duration_parse, "3Min", 3 * NS_PER_MIN);
    expect_parse(duration_parse, "0", 0);
    expect_parse(duration_parse, "0.000", 0);
    expect_parse(duration_parse, "0s", 0);
}

static void test_duration_errors(void **state)
{
    (void)state;
    expect_parse_err(duration_parse, "duration", "5", GPUSIM_EINVAL, "missing unit");
    expect_parse_err(duration_parse, "duration", "1.0000000001ns", GPUSIM_EINVAL,
                     "not a whole number");
    expect_parse_err(duration_parse, "duration", "0.5ns", GPUSIM_EINVAL, "not a whole number");
    expect_parse_err(duration_parse, "duration", "600000d", GPUSIM_ERANGE, NULL);
    expect_parse_err(duration_parse, "duration", "5m", GPUSIM_EINVAL, "unknown unit 'm'");
    expect_parse_err(duration_parse, "duration", "5sec", GPUSIM_EINVAL, "unknown unit 'sec'");
    expect_parse_err(duration_parse, "duration", "5KiB", GPUSIM_EINVAL, "unknown unit");
    expect_parse_err(duration_parse, "duration", "", GPUSIM_EINVAL, NULL);
    expect_parse_err(duration_parse, "duration", "-1s", GPUSIM_EINVAL, NULL);
    expect_parse_err(duration_parse, "duration", "1e3ns", GPUSIM_EINVAL, NULL);
    expect_parse_err(duration_parse, "duration", "1 s s", GPUSIM_EINVAL, NULL);
}

/* ------------------------------------------------------------------------------------------- */
/* Rates                                                                                       */
/* ------------------------------------------------------------------------------------------- */

static void test_rate_units(void **state)
{
    (void)state;
    expect_parse(gpusim_rate_parse, "55GB/s", UINT64_C(55000000000));
    expect_parse(gpusim_rate_parse, "12GiB/s", 12 * GPUSIM_GIB);
    expect_parse(gpusim_rate_parse, "100MB/s", UINT64_C(100000000));
    expect_parse(gpusim_rate_parse, "1.5KB/s", 1500);
    expect_parse(gpusim_rate_parse, "2gB/S", UINT64_C(2000000000));
    expect_parse(gpusim_rate_parse, "2GB/S", UINT64_C(2000000000));
    expect_parse(gpusim_rate_parse, "2giB/s", 2 * GPUSIM_GIB);
    expect_parse(gpusim_rate_parse, "7B/s", 7);
    expect_parse(gpusim_rate_parse, "3K/s", 3 * GPUSIM_KIB);
    expect_parse(gpusim_rate_parse, "  4 MiB/s  ", 4 * GPUSIM_MIB);
}

static void test_rate_errors(void **state)
{
    (void)state;
    expect_parse_err(gpusim_rate_parse, "rate", "0GB/s", GPUSIM_EINVAL, "greater than zero");
    expect_parse_err(gpusim_rate_parse, "rate", "55GB", GPUSIM_EINVAL, NULL);
    expect_parse_err(gpusim_rate_parse, "rate", "55", GPUSIM_EINVAL, NULL);
    expect_parse_err(gpusim_rate_parse, "rate", "55/s", GPUSIM_EINVAL, NULL);
    expect_parse_err(gpusim_rate_parse, "rate", "55XB/s", GPUSIM_EINVAL, "unknown unit 'XB'");
    expect_parse_err(gpusim_rate_parse, "rate", "0.5B/s", GPUSIM_EINVAL, "not a whole number");
    expect_parse_err(gpusim_rate_parse, "rate", "16EiB/s", GPUSIM_ERANGE, NULL);
    expect_parse_err(gpusim_rate_parse, "rate", "55GB/m", GPUSIM_EINVAL, NULL);
    expect_parse_err(gpusim_rate_parse, "rate", "-1GB/s", GPUSIM_EINVAL, NULL);
}

/* ------------------------------------------------------------------------------------------- */
/* NULL arguments                                                                              */
/* ------------------------------------------------------------------------------------------- */

static void test_parse_null_arguments(void **state)
{
    (void)state;
    uint64_t v = SENTINEL;
    char msg[96];
    /* NULL text or output is refused, and the caller still gets a message saying so. */
    ASSERT_ERR(gpusim_size_parse(NULL, &v, msg, sizeof(msg)), GPUSIM_EINVAL);
    assert_string_equal(msg, "invalid size '(null)': no text");
    ASSERT_ERR(gpusim_size_parse("4K", NULL, msg, sizeof(msg)), GPUSIM_EINVAL);
    assert_string_equal(msg, "invalid size '4K': no place for the result");
    ASSERT_ERR(gpusim_size_parse(NULL, NULL, NULL, 0), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_duration_parse(NULL, &v, msg, sizeof(msg)), GPUSIM_EINVAL);
    assert_string_equal(msg, "invalid duration '(null)': no text");
    ASSERT_ERR(gpusim_duration_parse("4ms", NULL, msg, sizeof(msg)), GPUSIM_EINVAL);
    assert_string_equal(msg, "invalid duration '4ms': no place for the result");
    ASSERT_ERR(gpusim_rate_parse(NULL, &v, msg, sizeof(msg)), GPUSIM_EINVAL);
    assert_string_equal(msg, "invalid rate '(null)': no text");
    ASSERT_ERR(gpusim_rate_parse("4GB/s", NULL, msg, sizeof(msg)), GPUSIM_EINVAL);
    assert_string_equal(msg, "invalid rate '4GB/s': no place for the result");
    assert_true(v == SENTINEL);
}

/* ------------------------------------------------------------------------------------------- */
/* Formatting                                                                                  */
/* ------------------------------------------------------------------------------------------- */

static void test_size_format_table(void **state)
{
    (void)state;
    expect_format(gpusim_size_format, 0, "0B");
    expect_format(gpusim_size_format, 1, "1B");
    expect_format(gpusim_size_format, 1000, "1000B");
    expect_format(gpusim_size_format, 1023, "1023B");
    expect_format(gpusim_size_format, 1024, "1KiB");
    expect_format(gpusim_size_format, 1025, "1.001KiB");
    expect_format(gpusim_size_format, 1536, "1.5KiB");
    expect_format(gpusim_size_format, 4096, "4KiB");
    expect_format(gpusim_size_format, 1048575, "1023.999KiB");
    expect_format(gpusim_size_format, 2 * GPUSIM_MIB, "2MiB");
    expect_format(gpusim_size_format, GPUSIM_GIB - 1,
                  "1GiB"); /* rounding carries to the next unit */
    expect_format(gpusim_size_format, GPUSIM_GIB, "1GiB");
    expect_format(gpusim_size_format, GPUSIM_TIB, "1TiB");
    expect_format(gpusim_size_format, GPUSIM_PIB, "1PiB");
    expect_format(gpusim_size_format, 2048 * GPUSIM_PIB, "2048PiB"); /* no unit above PiB */
    expect_format(gpusim_size_format, UINT64_MAX, "16384PiB");
}

static void test_format_rounds_half_up(void **state)
{
    (void)state;
    /* 1088 B = 1.0625 KiB, exactly half a thousandth above 1.062: half up gives 1.063. */
    expect_format(gpusim_size_format, 1088, "1.063KiB");
    /* 0.0005 MiB is 524.288 B: 525 B above it rounds up, 524 B below rounds down. */
    expect_format(gpusim_size_format, GPUSIM_MIB + 525, "1.001MiB");
    expect_format(gpusim_size_format, GPUSIM_MIB + 524, "1MiB");
    expect_format(gpusim_size_format, 2 * GPUSIM_MIB - 1, "2MiB"); /* 1.99999... -> 2 */
    expect_format(gpusim_rate_format, 1000500, "1.001MB/s");       /* 1.0005 -> 1.001 */
    expect_format(gpusim_rate_format, 1000499, "1MB/s");           /* 1.000499 -> 1 */
    expect_format(gpusim_rate_format, 10005, "10.005KB/s");
    expect_format(gpusim_duration_format, 1500, "1.5us");
    expect_format(gpusim_duration_format, 1999999, "2ms"); /* 1.999999 -> 2 */
    expect_format(gpusim_duration_format, 1234500, "1.235ms");
}

static void test_duration_format_table(void **state)
{
    (void)state;
    expect_format(gpusim_duration_format, 0, "0ns");
    expect_format(gpusim_duration_format, 999, "999ns");
    expect_format(gpusim_duration_format, 1000, "1us");
    expect_format(gpusim_duration_format, 1500000, "1.5ms");
    expect_format(gpusim_duration_format, GPUSIM_NS_PER_S, "1s");
    expect_format(gpusim_duration_format, 90 * GPUSIM_NS_PER_S, "1.5min");
    expect_format(gpusim_duration_format, 2 * NS_PER_H, "2h");
    expect_format(gpusim_duration_format, 48 * NS_PER_H, "48h"); /* no unit above h */
    /* Rounding that reaches the next unit prints that unit, across every step of the ladder. */
    expect_format(gpusim_duration_format, GPUSIM_NS_PER_S - 1, "1s");
    expect_format(gpusim_duration_format, 60 * GPUSIM_NS_PER_S - 1, "1min");
    expect_format(gpusim_duration_format, NS_PER_H - 1, "1h");
    expect_format(gpusim_duration_format, 59999999999, "1min"); /* 59.999999999s */
}

static void test_rate_format_table(void **state)
{
    (void)state;
    expect_format(gpusim_rate_format, 0, "0B/s");
    expect_format(gpusim_rate_format, 999, "999B/s");
    expect_format(gpusim_rate_format, 1000, "1KB/s");
    expect_format(gpusim_rate_format, 1500, "1.5KB/s");
    expect_format(gpusim_rate_format, UINT64_C(100000000), "100MB/s");
    expect_format(gpusim_rate_format, UINT64_C(55000000000), "55GB/s");
    expect_format(gpusim_rate_format, UINT64_C(12000000000000), "12TB/s");
    expect_format(gpusim_rate_format, UINT64_C(3000000000000000), "3PB/s");
    expect_format(gpusim_rate_format, UINT64_C(999999999), "1GB/s"); /* carries to the next unit */
}

static void test_format_uint64_max(void **state)
{
    (void)state;
    char buf[GPUSIM_UNITS_BUFSZ];
    ASSERT_OK(gpusim_size_format(UINT64_MAX, buf, sizeof(buf)));
    assert_string_equal(buf, "16384PiB");
    ASSERT_OK(gpusim_duration_format(UINT64_MAX, buf, sizeof(buf)));
    /* 18446744073709551615 ns / 3600e9 = 5124095.5760... h */
    assert_string_equal(buf, "5124095.576h");
    ASSERT_OK(gpusim_rate_format(UINT64_MAX, buf, sizeof(buf)));
    assert_string_equal(buf, "18446.744PB/s");
}

static void test_format_buffer_too_small(void **state)
{
    (void)state;
    char buf[8];
    memset(buf, 'x', sizeof(buf));
    ASSERT_ERR(gpusim_size_format(1536, buf, 4), GPUSIM_ENOSPC); /* "1.5KiB" needs 7 */
    assert_string_equal(buf, "1.5");
    assert_int_equal(buf[4], 'x');

    memset(buf, 'x', sizeof(buf));
    ASSERT_ERR(gpusim_size_format(1536, buf, 6), GPUSIM_ENOSPC); /* one short for the NUL */
    assert_string_equal(buf, "1.5Ki");
    ASSERT_OK(gpusim_size_format(1536, buf, 7)); /* exactly enough */
    assert_string_equal(buf, "1.5KiB");

    memset(buf, 'x', sizeof(buf));
    ASSERT_ERR(gpusim_duration_format(1500000, buf, 3), GPUSIM_ENOSPC);
    assert_string_equal(buf, "1.");
    memset(buf, 'x', sizeof(buf));
    ASSERT_ERR(gpusim_rate_format(UINT64_C(55000000000), buf, 1), GPUSIM_ENOSPC);
    assert_int_equal(buf[0], '\0');
    memset(buf, 'x', sizeof(buf));
    ASSERT_ERR(gpusim_rate_format(UINT64_C(55000000000), buf, 0), GPUSIM_ENOSPC);
    assert_int_equal(buf[0], 'x');
}

static void test_format_null_buffer(void **state)
{
    (void)state;
    ASSERT_ERR(gpusim_size_format(1, NULL, 32), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_duration_format(1, NULL, 32), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_rate_format(1, NULL, 32), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_size_format(1, NULL, 0), GPUSIM_EINVAL);
}

/* Formats v with all three functions into a GPUSIM_UNITS_BUFSZ buffer; all must succeed. */
static void expect_bufsz_suffices(uint64_t v)
{
    static const format_fn fns[] = {gpusim_size_format, gpusim_duration_format, gpusim_rate_format};
    for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
        char buf[GPUSIM_UNITS_BUFSZ];
        int rc = fns[i](v, buf, sizeof(buf));
        if (rc != 0)
            fail_msg("formatter %zu of %llu returned %s", i, (unsigned long long)v,
                     gpusim_err_name(rc));
        assert_true(strlen(buf) < sizeof(buf));
    }
}

static void test_format_bufsz_always_suffices(void **state)
{
    (void)state;
    expect_bufsz_suffices(UINT64_MAX);
    expect_bufsz_suffices(UINT64_MAX - 1);
    expect_bufsz_suffices(0);
    for (int k = 0; k < 64; k++)
        expect_bufsz_suffices((UINT64_C(1) << k) - 1);
    gpusim_rng_t r;
    gpusim_rng_seed(&r, 42, 1);
    for (int i = 0; i < 2000; i++) {
        uint64_t v = gpusim_rng_next(&r) >> gpusim_rng_below(&r, 64);
        expect_bufsz_suffices(v);
    }
}

/* ------------------------------------------------------------------------------------------- */
/* Round trip                                                                                  */
/* ------------------------------------------------------------------------------------------- */

/* Requires parse(format(v)) == v. */
static void expect_round_trip(format_fn format, parse_fn parse, uint64_t v)
{
    char buf[GPUSIM_UNITS_BUFSZ];
    char msg[256] = "";
    uint64_t back = SENTINEL;
    int rc = format(v, buf, sizeof(buf));
    if (rc != 0)
        fail_msg("formatting %llu returned %s", (unsigned long long)v, gpusim_err_name(rc));
    rc = parse(buf, &back, msg, sizeof(msg));
    if (rc != 0)
        fail_msg("%llu formatted as '%s', which does not parse: %s", (unsigned long long)v, buf,
                 msg);
    if (back != v)
        fail_msg("%llu formatted as '%s', which parses as %llu", (unsigned long long)v, buf,
                 (unsigned long long)back);
}

/*
 * Random multiples of unit/step that display in `unit` itself: [unit, next) where next is the
 * following unit (0: none, anything that fits).
 */
static uint64_t pick(gpusim_rng_t *r, uint64_t unit, uint64_t step, uint64_t next)
{
    uint64_t quantum = unit / step;
    uint64_t lo = step; /* k = step gives exactly one unit */
    uint64_t hi = next != 0 ? next / quantum : UINT64_MAX / quantum + 1;
    return (lo + gpusim_rng_below(r, hi - lo)) * quantum;
}

static void test_round_trip_sizes(void **state)
{
    (void)state;
    static const uint64_t units[] = {1, GPUSIM_KIB, GPUSIM_MIB, GPUSIM_GIB, GPUSIM_TIB, GPUSIM_PIB};
    gpusim_rng_t r;
    gpusim_rng_seed(&r, 7, 100);
    for (uint64_t v = 0; v < GPUSIM_KIB; v++) /* plain bytes */
        expect_round_trip(gpusim_size_format, gpusim_size_parse, v);
    for (size_t u = 1; u < sizeof(units) / sizeof(units[0]); u++) {
        uint64_t next = u + 1 < sizeof(units) / sizeof(units[0]) ? units[u + 1] : 0;
        for (int i = 0; i < 3000; i++) {
            /* Eighths are exact in three decimals (0.125); so are the finer steps of 2^-3. */
            expect_round_trip(gpusim_size_format, gpusim_size_parse, pick(&r, units[u], 8, next));
        }
    }
    expect_round_trip(gpusim_size_format, gpusim_size_parse,
                      16383 * GPUSIM_PIB + 7 * (GPUSIM_PIB / 8));
}

static void test_round_trip_durations(void **state)
{
    (void)state;
    static const uint64_t units[] = {
        1, GPUSIM_NS_PER_US, GPUSIM_NS_PER_MS, GPUSIM_NS_PER_S, NS_PER_MIN, NS_PER_H};
    gpusim_rng_t r;
    gpusim_rng_seed(&r, 7, 200);
    for (uint64_t v = 0; v < 5000; v++)
        expect_round_trip(gpusim_duration_format, duration_parse, v);
    for (size_t u = 1; u < sizeof(units) / sizeof(units[0]); u++) {
        uint64_t next = u + 1 < sizeof(units) / sizeof(units[0]) ? units[u + 1] : 0;
        for (int i = 0; i < 3000; i++)
            expect_round_trip(gpusim_duration_format, duration_parse,
                              pick(&r, units[u], 1000, next));
    }
}

static void test_round_trip_rates(void **state)
{
    (void)state;
    static const uint64_t units[] = {
        1,
        UINT64_C(1000),
        UINT64_C(1000000),
        UINT64_C(1000000000),
        UINT64_C(1000000000000),
        UINT64_C(1000000000000000),
    };
    gpusim_rng_t r;
    gpusim_rng_seed(&r, 7, 300);
    for (uint64_t v = 1; v < 5000; v++)
        expect_round_trip(gpusim_rate_format, gpusim_rate_parse, v);
    for (size_t u = 1; u < sizeof(units) / sizeof(units[0]); u++) {
        uint64_t next = u + 1 < sizeof(units) / sizeof(units[0]) ? units[u + 1] : 0;
        for (int i = 0; i < 3000; i++)
            expect_round_trip(gpusim_rate_format, gpusim_rate_parse,
                              pick(&r, units[u], 1000, next));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        GPUSIM_TEST(test_size_bare_number_is_bytes),
        GPUSIM_TEST(test_size_binary_units),
        GPUSIM_TEST(test_size_decimal_units),
        GPUSIM_TEST(test_size_units_are_case_insensitive),
        GPUSIM_TEST(test_lower_case_b_means_bits_and_is_refused),
        GPUSIM_TEST(test_size_spaces_around_and_between),
        GPUSIM_TEST(test_size_exact_fractions),
        GPUSIM_TEST(test_size_fraction_of_a_byte_is_rejected),
        GPUSIM_TEST(test_size_overflow_is_erange),
        GPUSIM_TEST(test_size_uint64_max_parses),
        GPUSIM_TEST(test_size_junk_is_einval),
        GPUSIM_TEST(test_size_message_buffer_handling),
        GPUSIM_TEST(test_size_long_input_is_abbreviated_in_message),
        GPUSIM_TEST(test_duration_units),
        GPUSIM_TEST(test_duration_errors),
        GPUSIM_TEST(test_rate_units),
        GPUSIM_TEST(test_rate_errors),
        GPUSIM_TEST(test_parse_null_arguments),
        GPUSIM_TEST(test_size_format_table),
        GPUSIM_TEST(test_format_rounds_half_up),
        GPUSIM_TEST(test_duration_format_table),
        GPUSIM_TEST(test_rate_format_table),
        GPUSIM_TEST(test_format_uint64_max),
        GPUSIM_TEST(test_format_buffer_too_small),
        GPUSIM_TEST(test_format_null_buffer),
        GPUSIM_TEST(test_format_bufsz_always_suffices),
        GPUSIM_TEST(test_round_trip_sizes),
        GPUSIM_TEST(test_round_trip_durations),
        GPUSIM_TEST(test_round_trip_rates),
    };
    return cmocka_run_group_tests_name("units", tests, NULL, NULL);
}
