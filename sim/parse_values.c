/*
 * sim/parse_values.c -- the value syntaxes of scenario keys: counts, booleans, percentages, enum
 * names, and sizes, durations and rates through the library's unit parsers; range checks with
 * messages in the key's own unit; names.
 *
 * sim__key_set() is the one place a fixed key's text becomes a stored value: it parses by the
 * key's kind, checks the key's [min, max] and only then stores, so a refused value never changes
 * the scenario. Messages name the input and what is wrong, never the file or line (the caller
 * adds those).
 */
#include "parse_internal.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* ---- values ------------------------------------------------------------------------------- */

bool sim__name_ok(const char *s, const char *extra)
{
    size_t n = strlen(s);
    if (n == 0 || n >= SIM_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || strchr(extra, ch) != NULL))
            return false;
    }
    return true;
}

int sim__parse_count(const char *v, uint64_t *out, char *msg, size_t msglen)
{
    uint64_t x = 0;
    if (*v == '\0') {
        snprintf(msg, msglen, "expected a whole number, got nothing");
        return GPUSIM_EINVAL;
    }
    for (const char *p = v; *p != '\0'; p++) {
        if (*p < '0' || *p > '9') {
            snprintf(msg, msglen, "expected a whole number, got '%s'", v);
            return GPUSIM_EINVAL;
        }
        unsigned d = (unsigned)(*p - '0');
        if (x > (UINT64_MAX - d) / 10) {
            snprintf(msg, msglen, "'%s' is too large", v);
            return GPUSIM_ERANGE;
        }
        x = x * 10 + d;
    }
    *out = x;
    return 0;
}

/* ASCII case-insensitive equality (strcasecmp is POSIX, not C11). */
static bool same_nocase(const char *a, const char *b)
{
    for (; *a != '\0' && *b != '\0'; a++, b++)
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
            return false;
    return *a == *b;
}

static int parse_bool(const char *v, uint64_t *out, char *msg, size_t msglen)
{
    static const char *const yes[] = {"true", "on", "yes", "1"};
    static const char *const no[] = {"false", "off", "no", "0"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (same_nocase(v, yes[i])) {
            *out = 1;
            return 0;
        }
        if (same_nocase(v, no[i])) {
            *out = 0;
            return 0;
        }
    }
    snprintf(msg, msglen, "expected true/false, on/off, yes/no or 1/0, got '%s'", v);
    return GPUSIM_EINVAL;
}

/* A whole percentage: digits, optional spaces, '%'. */
static int parse_percent(const char *v, uint64_t *out, char *msg, size_t msglen)
{
    char digits[24];
    size_t n = 0;
    while (v[n] >= '0' && v[n] <= '9' && n < sizeof digits - 1) {
        digits[n] = v[n];
        n++;
    }
    digits[n] = '\0';
    const char *p = v + n;
    while (*p == ' ' || *p == '\t')
        p++;
    if (n == 0 || p[0] != '%' || p[1] != '\0') {
        snprintf(msg, msglen, "expected a whole percentage such as '50%%', got '%s'", v);
        return GPUSIM_EINVAL;
    }
    return sim__parse_count(digits, out, msg, msglen);
}

static int parse_enum(const sim__key *k, const char *v, uint64_t *out, char *msg, size_t msglen)
{
    for (size_t i = 0; k->names[i] != NULL; i++) {
        if (strcmp(v, k->names[i]) == 0) {
            *out = k->values != NULL ? k->values[i] : i;
            return 0;
        }
    }
    size_t off = (size_t)snprintf(msg, msglen, "unknown value '%s' (one of:", v);
    for (size_t i = 0; k->names[i] != NULL && off < msglen; i++)
        off += (size_t)snprintf(msg + off, msglen - off, "%s %s", i ? "," : "", k->names[i]);
    if (off < msglen)
        snprintf(msg + off, msglen - off, ")");
    return GPUSIM_EINVAL;
}

/* A value of key k in the key's own unit, for range messages. */
static void format_value(const sim__key *k, uint64_t v, char *buf, size_t len)
{
    switch (k->kind) {
    case SIM__V_SIZE:
        gpusim_size_format(v, buf, len);
        break;
    case SIM__V_DURATION:
        gpusim_duration_format(v, buf, len);
        break;
    case SIM__V_RATE:
        gpusim_rate_format(v, buf, len);
        break;
    case SIM__V_PERCENT:
        snprintf(buf, len, "%" PRIu64 "%%", v);
        break;
    default:
        snprintf(buf, len, "%" PRIu64, v);
        break;
    }
}

static void store(void *obj, size_t offset, unsigned width, sim__vkind kind, uint64_t v)
{
    char *p = (char *)obj + offset;
    if (kind == SIM__V_BOOL) {
        bool b = v != 0;
        memcpy(p, &b, sizeof b);
    } else if (width == 1) {
        uint8_t x = (uint8_t)v;
        memcpy(p, &x, 1);
    } else if (width == 4) {
        uint32_t x = (uint32_t)v;
        memcpy(p, &x, 4);
    } else {
        memcpy(p, &v, 8);
    }
}

int sim__key_set(const sim__key *k, void *obj, void *aux, const char *value, char *msg,
                 size_t msglen)
{
    uint64_t v = 0;
    int rc;
    switch (k->kind) {
    case SIM__V_CUSTOM:
        return k->set(obj, aux, value, msg, msglen);
    case SIM__V_SIZE:
        rc = gpusim_size_parse(value, &v, msg, msglen);
        break;
    case SIM__V_DURATION:
        rc = gpusim_duration_parse(value, &v, msg, msglen);
        break;
    case SIM__V_RATE:
        /* "0" is "no rate" (at once) where a key allows it; gpusim_rate_parse refuses zero. */
        rc = strcmp(value, "0") == 0 ? 0 : gpusim_rate_parse(value, &v, msg, msglen);
        break;
    case SIM__V_COUNT:
        rc = sim__parse_count(value, &v, msg, msglen);
        break;
    case SIM__V_BOOL:
        rc = parse_bool(value, &v, msg, msglen);
        break;
    case SIM__V_PERCENT:
        rc = parse_percent(value, &v, msg, msglen);
        break;
    case SIM__V_ENUM:
        rc = parse_enum(k, value, &v, msg, msglen);
        break;
    default:
        rc = GPUSIM_EINVAL;
        snprintf(msg, msglen, "internal error: bad key kind");
        break;
    }
    if (rc != 0)
        return rc;
    if (v < k->min || v > k->max) {
        char lo[GPUSIM_UNITS_BUFSZ], hi[GPUSIM_UNITS_BUFSZ];
        format_value(k, k->min, lo, sizeof lo);
        format_value(k, k->max, hi, sizeof hi);
        if (k->max == UINT64_MAX)
            snprintf(msg, msglen, "%s is out of range (at least %s)", value, lo);
        else
            snprintf(msg, msglen, "%s is out of range (%s .. %s)", value, lo, hi);
        return GPUSIM_ERANGE;
    }
    store(obj, k->offset, k->width, k->kind, v);
    return 0;
}

int sim__key_find(const sim__key *keys, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(keys[i].name, name) == 0)
            return (int)i;
    return -1;
}
