/*
 * core/units.c -- parsing and printing quantities with units (spellings in gpusim/units.h).
 *
 * Parsing is exact integer arithmetic: "1.5ms" is read as mantissa 15 with one decimal, and the
 * result 15 * 10^6 / 10 is computed after cancelling the common factor of the unit's multiplier and
 * the power of ten, so no floating point rounding can change a value and a quantity that is not a
 * whole number of base units is detected rather than truncated.
 *
 * The three parsers share one grammar and differ only in a `quantity` descriptor (unit table,
 * whether a bare number is allowed, whether "/s" must follow); the three formatters share one
 * printer and differ only in their unit ladder.
 */
#include <stdio.h>
#include <string.h>

#include "gpusim.h"
#include "core/compiler.h"

typedef struct unit_def {
    const char
        *name;     /* Parse tables: lower-case, matched case-insensitively. Ladders: as printed. */
    uint64_t mult; /* Base units (bytes or ns) per unit. */
} unit_def;

static const unit_def size_units[] = {
    {"b", 1},
    {"k", GPUSIM_KIB},
    {"kib", GPUSIM_KIB},
    {"m", GPUSIM_MIB},
    {"mib", GPUSIM_MIB},
    {"g", GPUSIM_GIB},
    {"gib", GPUSIM_GIB},
    {"t", GPUSIM_TIB},
    {"tib", GPUSIM_TIB},
    {"p", GPUSIM_PIB},
    {"pib", GPUSIM_PIB},
    {"e", GPUSIM_EIB},
    {"eib", GPUSIM_EIB},
    {"kb", UINT64_C(1000)},
    {"mb", UINT64_C(1000000)},
    {"gb", UINT64_C(1000000000)},
    {"tb", UINT64_C(1000000000000)},
    {"pb", UINT64_C(1000000000000000)},
    {"eb", UINT64_C(1000000000000000000)},
};

static const unit_def duration_units[] = {
    {"ns", 1},
    {"us", GPUSIM_NS_PER_US},
    {"\xc2\xb5s", GPUSIM_NS_PER_US}, /* micro sign */
    {"\xce\xbcs", GPUSIM_NS_PER_US}, /* Greek mu */
    {"ms", GPUSIM_NS_PER_MS},
    {"s", GPUSIM_NS_PER_S},
    {"min", 60 * GPUSIM_NS_PER_S},
    {"h", 3600 * GPUSIM_NS_PER_S},
    {"d", 86400 * GPUSIM_NS_PER_S},
};

#define SIZE_UNITS_HELP     "B, K/KiB, M/MiB, G/GiB, T/TiB, P/PiB, E/EiB, KB, MB, GB, TB, PB, EB"
#define DURATION_UNITS_HELP "ns, us, ms, s, min, h, d"

/* ------------------------------------------------------------------------------------------- */
/* Parsing                                                                                     */
/* ------------------------------------------------------------------------------------------- */

typedef struct parse_ctx {
    const char *what; /* "size", "duration", "rate" */
    const char *text; /* The whole input, for messages. */
    char *msg;
    size_t msglen;
} parse_ctx;

static int fail(const parse_ctx *c, int rc, const char *detail)
{
    if (c->msg != NULL && c->msglen > 0) {
        const char *text = c->text != NULL ? c->text : "(null)";
        snprintf(c->msg, c->msglen, "invalid %s '%.40s%s': %s", c->what, text,
                 strlen(text) > 40 ? "..." : "", detail);
    }
    return rc;
}

static bool is_space(char ch)
{
    return ch == ' ' || ch == '\t';
}

static char lower(char ch)
{
    return ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
}

static uint64_t gcd(uint64_t a, uint64_t b)
{
    while (b != 0) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/*
 * Reads "DIGITS[.DIGITS]" at *p. Trailing zeros of the fraction are dropped, so "1.500" is
 * mantissa 15 with one decimal. Advances *p past the number.
 */
static int parse_number(const parse_ctx *c, const char **p, uint64_t *mant, unsigned *decimals)
{
    const char *s = *p;
    if (*s < '0' || *s > '9')
        return fail(c, GPUSIM_EINVAL, "expected a number");
    uint64_t m = 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        unsigned d = (unsigned)(*s - '0');
        if (m > (UINT64_MAX - d) / 10)
            return fail(c, GPUSIM_ERANGE, "number too large");
        m = m * 10 + d;
    }
    unsigned f = 0;
    if (*s == '.') {
        s++;
        const char *frac = s;
        while (*s >= '0' && *s <= '9')
            s++;
        if (s == frac)
            return fail(c, GPUSIM_EINVAL, "expected digits after '.'");
        const char *end = s;
        while (end > frac && end[-1] == '0')
            end--;
        for (const char *q = frac; q < end; q++) {
            unsigned d = (unsigned)(*q - '0');
            if (m > (UINT64_MAX - d) / 10 || f >= 19)
                return fail(c, GPUSIM_ERANGE, "too many digits");
            m = m * 10 + d;
            f++;
        }
    }
    *p = s;
    *mant = m;
    *decimals = f;
    return 0;
}

/* Finds the unit spelled by [u, u+len) (case-insensitive), or NULL. */
static const unit_def *find_unit(const unit_def *units, size_t n, const char *u, size_t len)
{
    for (size_t i = 0; i < n; i++) {
        const char *name = units[i].name;
        if (strlen(name) != len)
            continue;
        size_t k = 0;
        while (k < len && lower(u[k]) == name[k])
            k++;
        if (k == len)
            return &units[i];
    }
    return NULL;
}

/* mant / 10^decimals * mult, exactly. */
static int scale(const parse_ctx *c, uint64_t mant, unsigned decimals, uint64_t mult,
                 const char *base, uint64_t *out)
{
    uint64_t pow10 = 1;
    for (unsigned i = 0; i < decimals; i++)
        pow10 *= 10;
    uint64_t g = gcd(mult, pow10);
    uint64_t num = mult / g, den = pow10 / g;
    if (mant % den != 0) {
        char detail[64];
        snprintf(detail, sizeof(detail), "not a whole number of %s", base);
        return fail(c, GPUSIM_EINVAL, detail);
    }
    uint64_t whole = mant / den;
    if (num != 0 && whole > UINT64_MAX / num)
        return fail(c, GPUSIM_ERANGE, "value does not fit in 64 bits");
    *out = whole * num;
    return 0;
}

/*
 * The shared grammar: [spaces] NUMBER [spaces] [UNIT] [spaces]. `unit` receives the unit text
 * (possibly empty) as a pointer and length.
 */
static int split(const parse_ctx *c, uint64_t *mant, unsigned *decimals, const char **unit,
                 size_t *unit_len)
{
    if (c->text == NULL)
        return fail(c, GPUSIM_EINVAL, "no text");
    const char *p = c->text;
    while (is_space(*p))
        p++;
    if (*p == '\0')
        return fail(c, GPUSIM_EINVAL, "empty");
    if (*p == '-' || *p == '+')
        return fail(c, GPUSIM_EINVAL, "no sign allowed");
    int rc = parse_number(c, &p, mant, decimals);
    if (rc != 0)
        return rc;
    while (is_space(*p))
        p++;
    const char *u = p;
    while (*p != '\0' && !is_space(*p))
        p++;
    *unit = u;
    *unit_len = (size_t)(p - u);
    while (is_space(*p))
        p++;
    if (*p != '\0')
        return fail(c, GPUSIM_EINVAL, "unexpected text after the unit");
    return 0;
}

static int unknown_unit(const parse_ctx *c, const char *u, size_t len, const char *help)
{
    char detail[160];
    snprintf(detail, sizeof(detail), "unknown unit '%.*s' (expected %s)", (int)GPUSIM_MIN(len, 16),
             u, help);
    return fail(c, GPUSIM_EINVAL, detail);
}

/* What distinguishes the three kinds of quantity. */
typedef struct quantity {
    const char *what;      /* "size", "duration", "rate": names the input in messages. */
    const unit_def *units; /* Accepted units. */
    size_t nunits;
    const char *help;    /* The units, listed for "unknown unit" messages. */
    const char *base;    /* The base unit, for "not a whole number of ..." messages. */
    bool bytes;          /* Size units: a lower-case 'b' suffix (bits) is refused. */
    bool bare_number_ok; /* A number without a unit is in base units (else only "0" is). */
    bool per_second;     /* The unit must end in "/s" and the value must be positive. */
} quantity;

static const quantity size_q = {
    "size", size_units, GPUSIM_ARRAY_SIZE(size_units), SIZE_UNITS_HELP, "bytes", true, true, false};
static const quantity duration_q = {"duration",
                                    duration_units,
                                    GPUSIM_ARRAY_SIZE(duration_units),
                                    DURATION_UNITS_HELP,
                                    "nanoseconds",
                                    false,
                                    false,
                                    false};
static const quantity rate_q = {"rate",
                                size_units,
                                GPUSIM_ARRAY_SIZE(size_units),
                                SIZE_UNITS_HELP " per second",
                                "bytes per second",
                                true,
                                false,
                                true};

static int parse_quantity(const quantity *qt, const char *text, uint64_t *out, char *msg,
                          size_t msglen)
{
    parse_ctx c = {qt->what, text, msg, msglen};
    uint64_t mant = 0, v = 0;
    unsigned dec = 0;
    const char *u = "";
    size_t ulen = 0;
    if (out == NULL)
        return fail(&c, GPUSIM_EINVAL, "no place for the result");
    int rc = split(&c, &mant, &dec, &u, &ulen);
    if (rc != 0)
        return rc;
    if (qt->per_second) {
        if (ulen < 3 || u[ulen - 2] != '/' || lower(u[ulen - 1]) != 's')
            return fail(&c, GPUSIM_EINVAL,
                        "expected a size unit per second, such as GB/s or MiB/s");
        ulen -= 2;
    }
    uint64_t mult = 1;
    if (ulen == 0) {
        if (!qt->bare_number_ok && mant != 0)
            return fail(&c, GPUSIM_EINVAL, "missing unit (" DURATION_UNITS_HELP ")");
    } else {
        if (qt->bytes && u[ulen - 1] == 'b') {
            char detail[96];
            snprintf(detail, sizeof(detail),
                     "lower-case 'b' in '%.*s' means bits; sizes are in bytes (write B)",
                     (int)GPUSIM_MIN(ulen, 16), u);
            return fail(&c, GPUSIM_EINVAL, detail);
        }
        const unit_def *d = find_unit(qt->units, qt->nunits, u, ulen);
        if (d == NULL)
            return unknown_unit(&c, u, ulen, qt->help);
        mult = d->mult;
    }
    rc = scale(&c, mant, dec, mult, qt->base, &v);
    if (rc != 0)
        return rc;
    if (qt->per_second && v == 0)
        return fail(&c, GPUSIM_EINVAL, "a rate must be greater than zero");
    *out = v;
    return 0;
}

int gpusim_size_parse(const char *text, uint64_t *bytes, char *msg, size_t msglen)
{
    return parse_quantity(&size_q, text, bytes, msg, msglen);
}

int gpusim_duration_parse(const char *text, gpusim_time_t *ns, char *msg, size_t msglen)
{
    return parse_quantity(&duration_q, text, ns, msg, msglen);
}

int gpusim_rate_parse(const char *text, uint64_t *bytes_per_s, char *msg, size_t msglen)
{
    return parse_quantity(&rate_q, text, bytes_per_s, msg, msglen);
}

/* ------------------------------------------------------------------------------------------- */
/* Formatting                                                                                  */
/* ------------------------------------------------------------------------------------------- */

/*
 * Prints v in the largest unit it reaches, with up to three decimals rounded half up and trailing
 * zeros dropped.
 */
static int format(uint64_t v, const unit_def *units, size_t n, char *buf, size_t buflen)
{
    if (buf == NULL)
        return GPUSIM_EINVAL;
    size_t i = 0;
    while (i + 1 < n && v >= units[i + 1].mult)
        i++;
    uint64_t whole, milli;
    for (;;) {
        uint64_t mult = units[i].mult;
        uint64_t rem = v % mult;
        whole = v / mult;
        /* rem < mult <= 2^50 (no ladder goes beyond peta), so rem * 1000 cannot overflow. */
        milli = (rem * 1000 + mult / 2) / mult;
        if (milli == 1000) {
            whole++;
            milli = 0;
        }
        /* Rounding may reach the next unit (1023.9999 MiB -> 1024 MiB): print 1 GiB instead. */
        if (i + 1 < n && whole >= units[i + 1].mult / mult) {
            i++;
            continue;
        }
        break;
    }
    char frac[8] = "";
    if (milli != 0) {
        snprintf(frac, sizeof(frac), ".%03u", (unsigned)milli);
        size_t len = strlen(frac);
        while (frac[len - 1] == '0')
            frac[--len] = '\0';
    }
    int w = snprintf(buf, buflen, "%llu%s%s", (unsigned long long)whole, frac, units[i].name);
    return w < 0 || (size_t)w >= buflen ? GPUSIM_ENOSPC : 0;
}

int gpusim_size_format(uint64_t bytes, char *buf, size_t buflen)
{
    static const unit_def units[] = {
        {"B", 1},
        {"KiB", GPUSIM_KIB},
        {"MiB", GPUSIM_MIB},
        {"GiB", GPUSIM_GIB},
        {"TiB", GPUSIM_TIB},
        {"PiB", GPUSIM_PIB},
    };
    return format(bytes, units, GPUSIM_ARRAY_SIZE(units), buf, buflen);
}

int gpusim_duration_format(gpusim_time_t ns, char *buf, size_t buflen)
{
    static const unit_def units[] = {
        {"ns", 1},
        {"us", GPUSIM_NS_PER_US},
        {"ms", GPUSIM_NS_PER_MS},
        {"s", GPUSIM_NS_PER_S},
        {"min", 60 * GPUSIM_NS_PER_S},
        {"h", 3600 * GPUSIM_NS_PER_S},
    };
    return format(ns, units, GPUSIM_ARRAY_SIZE(units), buf, buflen);
}

int gpusim_rate_format(uint64_t bytes_per_s, char *buf, size_t buflen)
{
    static const unit_def units[] = {
        {"B/s", 1},
        {"KB/s", UINT64_C(1000)},
        {"MB/s", UINT64_C(1000000)},
        {"GB/s", UINT64_C(1000000000)},
        {"TB/s", UINT64_C(1000000000000)},
        {"PB/s", UINT64_C(1000000000000000)},
    };
    return format(bytes_per_s, units, GPUSIM_ARRAY_SIZE(units), buf, buflen);
}
