/*
 * core/param.c -- parsing, range-checking and printing named model parameters (core/param.h).
 *
 * Durations, sizes and rates reuse the exact unit parsers of core/units.c, so "0.062us" is 62 ns
 * with no rounding and "1.5ns" is refused rather than truncated.
 */
#include <stdio.h>
#include <string.h>

#include "gpusim.h"
#include "core/param.h"

void gpusim__param_defaults(const gpusim__param_desc *d, size_t n, uint64_t *values)
{
    for (size_t i = 0; i < n; i++)
        values[i] = d[i].def;
}

long gpusim__param_find(const gpusim__param_desc *d, size_t n, const char *name)
{
    if (!name)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (strcmp(d[i].name, name) == 0)
            return (long)i;
    return -1;
}

/* A plain decimal integer, optionally followed by `suffix` (may be NULL). */
static int parse_integer(const char *text, const char *suffix, uint64_t *out)
{
    uint64_t v = 0;
    const char *p = text;
    if (*p < '0' || *p > '9')
        return GPUSIM_EINVAL;
    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned digit = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - digit) / 10)
            return GPUSIM_EINVAL;
        v = v * 10 + digit;
    }
    if (*p && !(suffix && strcmp(p, suffix) == 0))
        return GPUSIM_EINVAL;
    *out = v;
    return 0;
}

static int parse_bool(const char *text, uint64_t *out)
{
    static const char *const yes[] = {"1", "true", "on", "yes"};
    static const char *const no[] = {"0", "false", "off", "no"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (strcmp(text, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcmp(text, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return GPUSIM_EINVAL;
}

int gpusim__param_parse(const gpusim__param_desc *d, const char *text, bool force, uint64_t *out,
                        char *msg, size_t msglen)
{
    char scratch[1];
    uint64_t v = 0;
    int rc;
    if (!msg) {
        msg = scratch;
        msglen = sizeof scratch;
    }
    if (msglen)
        msg[0] = '\0';
    if (!d || !text || !out)
        return GPUSIM_EINVAL;
    switch (d->unit) {
    case GPUSIM__PARAM_NS:
        rc = gpusim_duration_parse(text, &v, msg, msglen);
        break;
    case GPUSIM__PARAM_BYTES:
        rc = gpusim_size_parse(text, &v, msg, msglen);
        break;
    case GPUSIM__PARAM_RATE:
        rc = gpusim_rate_parse(text, &v, msg, msglen);
        break;
    case GPUSIM__PARAM_COUNT:
        rc = parse_integer(text, NULL, &v);
        if (rc)
            snprintf(msg, msglen, "%s: expected a non-negative integer, got \"%s\"", d->name, text);
        break;
    case GPUSIM__PARAM_PERCENT:
        rc = parse_integer(text, "%", &v);
        if (rc)
            snprintf(msg, msglen, "%s: expected a percentage such as 51%%, got \"%s\"", d->name,
                     text);
        break;
    case GPUSIM__PARAM_BOOL:
        rc = parse_bool(text, &v);
        if (rc)
            snprintf(msg, msglen, "%s: expected on/off, got \"%s\"", d->name, text);
        break;
    default:
        return GPUSIM_EINVAL;
    }
    if (rc)
        return rc;
    if (!force && (v < d->min || v > d->max)) {
        char lo[GPUSIM_UNITS_BUFSZ], hi[GPUSIM_UNITS_BUFSZ];
        gpusim__param_format(d, d->min, lo, sizeof lo);
        gpusim__param_format(d, d->max, hi, sizeof hi);
        snprintf(msg, msglen, "%s: %s is outside the plausible range %s..%s", d->name, text, lo,
                 hi);
        return GPUSIM_ERANGE;
    }
    *out = v;
    return 0;
}

int gpusim__param_format(const gpusim__param_desc *d, uint64_t value, char *buf, size_t buflen)
{
    switch (d->unit) {
    case GPUSIM__PARAM_NS:
        return gpusim_duration_format(value, buf, buflen);
    case GPUSIM__PARAM_BYTES:
        return gpusim_size_format(value, buf, buflen);
    case GPUSIM__PARAM_RATE:
        return gpusim_rate_format(value, buf, buflen);
    case GPUSIM__PARAM_PERCENT:
        return snprintf(buf, buflen, "%llu%%", (unsigned long long)value);
    case GPUSIM__PARAM_BOOL:
        return snprintf(buf, buflen, "%s", value ? "on" : "off");
    case GPUSIM__PARAM_COUNT:
    default:
        return snprintf(buf, buflen, "%llu", (unsigned long long)value);
    }
}

int gpusim__param_set(const gpusim__param_desc *d, size_t n, uint64_t *values, const char *layer,
                      const char *name, const char *value, bool force, char *msg, size_t msglen)
{
    uint64_t v;
    long i;
    int rc;
    if (msg && msglen)
        msg[0] = '\0';
    if (!values || !name || !value)
        return GPUSIM_EINVAL;
    i = gpusim__param_find(d, n, name);
    if (i < 0) {
        if (msg)
            snprintf(msg, msglen, "no %s parameter named \"%s\"", layer, name);
        return GPUSIM_ENOENT;
    }
    rc = gpusim__param_parse(&d[i], value, force, &v, msg, msglen);
    if (rc == 0)
        values[i] = v;
    return rc;
}

int gpusim__param_get(const gpusim__param_desc *d, size_t n, const uint64_t *values,
                      const char *name, uint64_t *value)
{
    long i;
    if (!values || !name || !value)
        return GPUSIM_EINVAL;
    i = gpusim__param_find(d, n, name);
    if (i < 0)
        return GPUSIM_ENOENT;
    *value = values[i];
    return 0;
}

int gpusim__param_info(const gpusim__param_desc *d, size_t n, size_t i, gpusim_param_info_t *out)
{
    static const char *const units[] = {"ns", "bytes", "bytes/s", "count", "percent", "bool"};
    if (!out)
        return GPUSIM_EINVAL;
    if (i >= n)
        return GPUSIM_ENOENT;
    out->name = d[i].name;
    out->unit = units[d[i].unit];
    out->def = d[i].def;
    out->min = d[i].min;
    out->max = d[i].max;
    out->tag = d[i].tag;
    out->source = d[i].source;
    return 0;
}
