/*
 * tests/fuzz/fuzz_units.c -- libFuzzer target: the unit parsers and formatters of gpusim/units.h,
 * and the by-name parameter setters that read values through them.
 *
 * Input: byte 0 chooses what runs (bits 0-2) and the size of the message or output buffer
 * (bits 3-7: 0..31 bytes, allocated at exactly that size so that AddressSanitizer sees a write one
 * past it); the rest is the text (NUL-terminated copy) or, for the formatters, a little-endian
 * u64 value.
 *
 *   0, 1, 2   gpusim_size_parse / duration_parse / rate_parse of the text
 *   3, 4, 5   gpusim_size_format / duration_format / rate_format of the value
 *   6, 7      "NAME=VALUE" given to gpusim_{host,gpu,driver}_config_set (layer: the text's first
 *             byte mod 3; force: bit 2 of it)
 *
 * Checked, besides the absence of crashes and sanitizer reports:
 *   - a parser returns 0, GPUSIM_EINVAL or GPUSIM_ERANGE; on error the result is unchanged and the
 *     message fits its buffer, NUL-terminated;
 *   - a parsed value formats (gpusim_*_format) and, where the header promises it (the value is a
 *     whole number of thousandths of the unit the formatter picked), parses back to itself; where
 *     the text was rounded, any value it parses to is within a thousandth of the original;
 *   - a formatter returns 0 or GPUSIM_ENOSPC, NUL-terminates within the buffer, and writes a prefix
 *     of what a large enough buffer receives;
 *   - a setter returns 0, EINVAL, ENOENT or ERANGE; on error the configuration is byte for byte
 *     unchanged; on success the getter reads the parameter back and, without force, the value lies
 *     in its plausible range.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpusim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            die(#cond, __LINE__);                                                                  \
    } while (0)

static const char *g_text; /* the input, for the message */

static void die(const char *what, int line)
{
    fprintf(stderr, "fuzz_units: check failed at fuzz_units.c:%d: %s (text '%.80s')\n", line, what,
            g_text ? g_text : "");
    abort();
}

typedef int (*parse_fn)(const char *, uint64_t *, char *, size_t);
typedef int (*format_fn)(uint64_t, char *, size_t);

static const parse_fn parsers[3] = {gpusim_size_parse, gpusim_duration_parse, gpusim_rate_parse};
static const format_fn formatters[3] = {gpusim_size_format, gpusim_duration_format,
                                        gpusim_rate_format};

/* The message fits in msglen bytes with its NUL. */
static void check_msg(const char *msg, size_t msglen)
{
    if (msglen > 0)
        CHECK(memchr(msg, '\0', msglen) != NULL);
}

/* Formats v with kind k and checks the text against the header's promises. */
static void round_trip(int k, uint64_t v)
{
    char text[GPUSIM_UNITS_BUFSZ], one[GPUSIM_UNITS_BUFSZ + 1];
    uint64_t w = 0, mult = 0;
    CHECK(formatters[k](v, text, sizeof text) == 0);
    /* The unit the formatter chose: the text after the number; "1<unit>" parses to its size. */
    const char *u = text;
    while ((*u >= '0' && *u <= '9') || *u == '.')
        u++;
    snprintf(one, sizeof one, "1%s", u);
    CHECK(parsers[k](one, &mult, NULL, 0) == 0 && mult > 0);
    int rc = parsers[k](text, &w, NULL, 0);
    /* Exact: the remainder is a whole number of thousandths of the unit (rem < mult <= 2^50, so
     * the product cannot overflow). A zero rate has no valid text ("a rate must be > 0"). */
    bool exact = (v % mult) * 1000 % mult == 0;
    if (k == 2 && v == 0)
        CHECK(rc == GPUSIM_EINVAL);
    else if (exact)
        CHECK(rc == 0 && w == v);
    else if (rc == 0)
        CHECK((w > v ? w - v : v - w) <= v / 1000 + 1);
    else
        CHECK(rc == GPUSIM_EINVAL || rc == GPUSIM_ERANGE);
}

static void fuzz_parse(int k, const char *text, size_t msglen)
{
    char *msg = malloc(msglen ? msglen : 1);
    const uint64_t sentinel = UINT64_C(0x5a5a5a5a5a5a5a5a);
    uint64_t v = sentinel;
    if (msg == NULL)
        return;
    memset(msg, 'x', msglen ? msglen : 1);
    int rc = parsers[k](text, &v, msg, msglen);
    CHECK(rc == 0 || rc == GPUSIM_EINVAL || rc == GPUSIM_ERANGE);
    if (rc != 0) {
        CHECK(v == sentinel);
        check_msg(msg, msglen);
    } else {
        round_trip(k, v);
    }
    free(msg);
}

static void fuzz_format(int k, uint64_t v, size_t buflen)
{
    char full[GPUSIM_UNITS_BUFSZ];
    char *buf = malloc(buflen ? buflen : 1);
    if (buf == NULL)
        return;
    CHECK(formatters[k](v, full, sizeof full) == 0);
    int rc = formatters[k](v, buf, buflen);
    CHECK(rc == 0 || rc == GPUSIM_ENOSPC);
    CHECK(rc == 0 ? strlen(full) < buflen : strlen(full) >= buflen);
    if (buflen > 0) {
        check_msg(buf, buflen);
        CHECK(strncmp(buf, full, buflen - 1) == 0);
    }
    CHECK(formatters[k](v, NULL, 8) == GPUSIM_EINVAL);
    round_trip(k, v);
    free(buf);
}

/* The plausible range of parameter `name` in a layer's table. */
static bool param_range(int layer, const char *name, uint64_t *min, uint64_t *max)
{
    gpusim_param_info_t info;
    for (size_t i = 0;; i++) {
        int rc = layer == 0   ? gpusim_host_param_info(i, &info)
                 : layer == 1 ? gpusim_gpu_param_info(i, &info)
                              : gpusim_driver_param_info(i, &info);
        if (rc != 0)
            return false;
        if (strcmp(info.name, name) == 0) {
            *min = info.min;
            *max = info.max;
            return true;
        }
    }
}

static void fuzz_setter(char *text, size_t msglen)
{
    int layer = (unsigned char)text[0] % 3;
    bool force = ((unsigned char)text[0] & 4) != 0;
    char *name = text[0] ? text + 1 : text;
    char *eq = strchr(name, '=');
    const char *value = eq ? eq + 1 : NULL;
    char *msg = malloc(msglen ? msglen : 1);
    uint64_t got = 0, min = 0, max = 0;
    int rc, grc;
    if (msg == NULL)
        return;
    if (eq)
        *eq = '\0';
    if (layer == 0) {
        gpusim_host_config_t cfg, before;
        gpusim_host_config_init(&cfg);
        before = cfg;
        rc = gpusim_host_config_set(&cfg, name, value, force, msg, msglen);
        CHECK(rc == 0 || memcmp(&cfg, &before, sizeof cfg) == 0);
        grc = rc == 0 ? gpusim_host_config_get(&cfg, name, &got) : 0;
    } else if (layer == 1) {
        gpusim_gpu_config_t cfg, before;
        gpusim_gpu_config_init(&cfg);
        before = cfg;
        rc = gpusim_gpu_config_set(&cfg, name, value, force, msg, msglen);
        CHECK(rc == 0 || memcmp(&cfg, &before, sizeof cfg) == 0);
        grc = rc == 0 ? gpusim_gpu_config_get(&cfg, name, &got) : 0;
    } else {
        gpusim_driver_config_t cfg, before;
        gpusim_driver_config_init(&cfg, GPUSIM_POLICY_REFAULT);
        before = cfg;
        rc = gpusim_driver_config_set(&cfg, name, value, force, msg, msglen);
        CHECK(rc == 0 || memcmp(&cfg, &before, sizeof cfg) == 0);
        grc = rc == 0 ? gpusim_driver_config_get(&cfg, name, &got) : 0;
    }
    CHECK(rc == 0 || rc == GPUSIM_EINVAL || rc == GPUSIM_ENOENT || rc == GPUSIM_ERANGE);
    CHECK(grc == 0);
    if (rc != 0)
        check_msg(msg, msglen);
    else if (!force)
        CHECK(param_range(layer, name, &min, &max) && got >= min && got <= max);
    free(msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        uint64_t v = 7;
        CHECK(gpusim_size_parse(NULL, &v, NULL, 0) == GPUSIM_EINVAL && v == 7);
        CHECK(gpusim_duration_parse("1s", NULL, NULL, 0) == GPUSIM_EINVAL);
        return 0;
    }
    int op = data[0] & 7;
    size_t buflen = data[0] >> 3;
    if (op >= 3 && op <= 5) {
        uint64_t v = 0;
        for (size_t i = 1; i < size && i <= 8; i++)
            v |= (uint64_t)data[i] << (8 * (i - 1));
        fuzz_format(op - 3, v, buflen);
        return 0;
    }
    char *text = malloc(size);
    if (text == NULL)
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    g_text = text;
    if (op < 3)
        fuzz_parse(op, text, buflen);
    else
        fuzz_setter(text, buflen);
    g_text = NULL;
    free(text);
    return 0;
}
