/*
 * gpu/pattern.c -- access patterns (touch i of a pass as a pure function) and the trace parser.
 * See gpu/pattern.h for the patterns' definitions.
 *
 * Randomness: touch i's random choices come from mix64 of (seed, stream, i), each stream a
 * different constant, so the slot choice and the write decision of one touch are independent and
 * no touch depends on another's draw. The pointer chase is a keyed bijection of the slot indices,
 * built from a bijection on the next power of two (an odd multiply and a xor-shift, repeated, are
 * each invertible modulo 2^k) restricted to [0, nslots) by cycle walking: applying it again until
 * the value falls inside keeps it a bijection of [0, nslots), and the expected number of rounds is
 * below 2.
 */
#include <stdio.h>
#include <string.h>

#include "gpu/pattern.h"
#include "core/rng.h"

/* Stream constants: each random decision of a touch draws from its own. */
#define S_SLOT  UINT64_C(0x243f6a8885a308d3)
#define S_HOT   UINT64_C(0x13198a2e03707344)
#define S_WRITE UINT64_C(0xa4093822299f31d0)
#define S_CHASE UINT64_C(0x082efa98ec4e6c89)

static uint64_t draw(uint64_t seed, uint64_t stream, uint64_t i)
{
    return gpusim__mix64(seed ^ stream ^ gpusim__mix64(i + stream));
}

/* ---- descriptor check ----------------------------------------------------------------------- */

static int bad(char *msg, size_t msglen, const char *why)
{
    if (msg && msglen)
        snprintf(msg, msglen, "%s", why);
    return GPUSIM_EINVAL;
}

int gpusim__gpu_pattern_check(const gpusim__gpu_pattern *p, char *msg, size_t msglen)
{
    if (msg && msglen)
        msg[0] = '\0';
    if (!p)
        return bad(msg, msglen, "no pattern");
    if (p->kind >= GPUSIM__GPU_PAT_COUNT)
        return bad(msg, msglen, "unknown access pattern");
    if (p->touches == 0)
        return bad(msg, msglen, "a pass needs at least one touch");
    if (p->kind == GPUSIM__GPU_PAT_TRACE) {
        if (!p->trace || p->trace->n == 0)
            return bad(msg, msglen, "trace pattern without a trace");
        if (p->trace->span > p->bytes)
            return bad(msg, msglen, "the trace reaches past the end of the buffer");
        return 0;
    }
    if (p->touch_bytes == 0 || p->touch_bytes > GPUSIM__GPU_TOUCH_MAX)
        return bad(msg, msglen, "bytes per touch must be 1..4096");
    if (p->bytes < p->touch_bytes)
        return bad(msg, msglen, "the buffer is smaller than one touch");
    if (p->write_pct > 100)
        return bad(msg, msglen, "write percentage above 100");
    if (p->kind == GPUSIM__GPU_PAT_STRIDED && p->stride == 0)
        return bad(msg, msglen, "a strided pattern needs a stride");
    /* The same bounds as the DISPATCH packet's (docs/packets.md): a pitch below one touch makes
     * the up and down neighbours the point itself. */
    if (p->kind == GPUSIM__GPU_PAT_STENCIL && (p->stride == 0 || p->stride > p->bytes))
        return bad(msg, msglen, "a stencil needs a row pitch of 1 byte to the buffer's size");
    if (p->kind == GPUSIM__GPU_PAT_HOTCOLD &&
        (p->hot_pct == 0 || p->hot_pct > 100 || p->hot_access_pct > 100))
        return bad(msg, msglen, "hot set must be 1..100 % of the buffer, hot accesses 0..100 %");
    return 0;
}

/* ---- the pointer chase's permutation -------------------------------------------------------- */

/* A keyed bijection of [0, 2^bits). */
static uint64_t perm_pow2(uint64_t x, unsigned bits, uint64_t key)
{
    uint64_t mask = bits >= 64 ? UINT64_MAX : (UINT64_C(1) << bits) - 1;
    unsigned sh = bits / 2 ? bits / 2 : 1;
    for (int r = 0; r < 3; r++) {
        x = (x + (key & mask)) & mask;               /* add: bijective */
        x = (x * (((key >> 17) | 1) & mask)) & mask; /* odd multiply: bijective mod 2^bits */
        x ^= x >> sh;                                /* xor-shift right: bijective */
        key = gpusim__mix64(key);
    }
    return x & mask;
}

/* A keyed bijection of [0, n): cycle walking over perm_pow2. */
static uint64_t perm_n(uint64_t x, uint64_t n, uint64_t key)
{
    unsigned bits = 1;
    while (bits < 64 && (UINT64_C(1) << bits) < n)
        bits++;
    do
        x = perm_pow2(x, bits, key);
    while (x >= n);
    return x;
}

/* ---- touches -------------------------------------------------------------------------------- */

void gpusim__gpu_pattern_touch(const gpusim__gpu_pattern *p, uint64_t i, gpusim__gpu_touch *out)
{
    uint64_t tb = p->touch_bytes, nslots, slot = 0;
    if (p->kind == GPUSIM__GPU_PAT_TRACE) {
        const gpusim__gpu_trace_rec *r = &p->trace->rec[i % p->trace->n];
        out->off = r->off;
        out->bytes = r->bytes;
        out->write = r->write != 0;
        return;
    }
    nslots = p->bytes / tb;
    switch (p->kind) {
    case GPUSIM__GPU_PAT_SEQUENTIAL:
        slot = i % nslots;
        break;
    case GPUSIM__GPU_PAT_STRIDED: {
        /* (i * stride) mod bytes without overflow: reduce both factors first, then multiply in
         * 128 bits' worth of care -- i mod bytes and stride mod bytes are < 2^64, their product
         * may not be, so fold with the standard double-and-add. */
        uint64_t a = i % p->bytes, b = p->stride % p->bytes, m = p->bytes, r = 0;
        /* Fast path, the same value: both factors below 2^32, so a * b fits; reduce it once. */
        if ((a | b) >> 32 == 0) {
            slot = (a * b % m / tb) % nslots;
            break;
        }
        while (b) {
            if (b & 1)
                r = (r >= m - a) ? r - (m - a) : r + a;
            a = (a >= m - a) ? a - (m - a) : a + a;
            b >>= 1;
        }
        slot = (r / tb) % nslots;
        break;
    }
    case GPUSIM__GPU_PAT_RANDOM:
        slot = draw(p->seed, S_SLOT, i) % nslots;
        break;
    case GPUSIM__GPU_PAT_HOTCOLD: {
        uint64_t hot = nslots * p->hot_pct / 100;
        if (hot == 0)
            hot = 1;
        if (hot >= nslots || draw(p->seed, S_HOT, i) % 100 < p->hot_access_pct)
            slot = draw(p->seed, S_SLOT, i) % hot;
        else
            slot = hot + draw(p->seed, S_SLOT, i) % (nslots - hot);
        break;
    }
    case GPUSIM__GPU_PAT_STENCIL: {
        uint64_t c = (i / 5) % nslots, row = (p->stride / tb) % nslots;
        switch (i % 5) {
        case 0:
            slot = c;
            break;
        case 1:
            slot = (c + nslots - 1) % nslots;
            break;
        case 2:
            slot = (c + 1) % nslots;
            break;
        case 3:
            slot = (c + nslots - row) % nslots;
            break;
        default:
            slot = (c + row) % nslots;
            break;
        }
        break;
    }
    case GPUSIM__GPU_PAT_CHASE:
        slot = perm_n(i % nslots, nslots, p->seed ^ S_CHASE);
        break;
    default:
        break; /* rejected by gpusim__gpu_pattern_check */
    }
    out->off = slot * tb;
    out->bytes = (uint32_t)tb;
    /* 0 % and 100 % need no draw (every draw mod 100 is below 100 and not below 0). */
    out->write =
        p->write_pct >= 100 || (p->write_pct > 0 && draw(p->seed, S_WRITE, i) % 100 < p->write_pct);
}

/* ---- traces --------------------------------------------------------------------------------- */

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* Parses an unsigned number (decimal, or 0x-hex) at *s; advances *s. False on no digits or
 * overflow. */
static bool number(const char **s, const char *end, uint64_t *out)
{
    const char *p = *s;
    unsigned base = 10;
    uint64_t v = 0;
    bool any = false;
    if (end - p >= 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16;
        p += 2;
    }
    for (; p < end; p++) {
        unsigned d;
        if (*p >= '0' && *p <= '9')
            d = (unsigned)(*p - '0');
        else if (base == 16 && *p >= 'a' && *p <= 'f')
            d = (unsigned)(*p - 'a' + 10);
        else if (base == 16 && *p >= 'A' && *p <= 'F')
            d = (unsigned)(*p - 'A' + 10);
        else
            break;
        if (v > (UINT64_MAX - d) / base)
            return false;
        v = v * base + d;
        any = true;
    }
    *s = p;
    *out = v;
    return any;
}

/* Parses one line into *r: 1 (a record), 0 (blank or comment), or -1 with msg. */
static int trace_line(const char *p, const char *end, gpusim__gpu_trace_rec *r, const char **why)
{
    uint64_t off, bytes = GPUSIM__GPU_TOUCH_MAX;
    const char *hash = memchr(p, '#', (size_t)(end - p));
    if (hash)
        end = hash;
    while (p < end && is_space(*p))
        p++;
    if (p == end)
        return 0;
    if (*p != 'R' && *p != 'W') {
        *why = "expected R or W";
        return -1;
    }
    r->write = *p == 'W';
    p++;
    if (p == end || !is_space(*p)) {
        *why = "expected a space after R or W";
        return -1;
    }
    while (p < end && is_space(*p))
        p++;
    if (!number(&p, end, &off)) {
        *why = "expected an offset (decimal or 0x-hex)";
        return -1;
    }
    while (p < end && is_space(*p))
        p++;
    if (p < end) {
        if (!number(&p, end, &bytes)) {
            *why = "expected a byte count";
            return -1;
        }
        while (p < end && is_space(*p))
            p++;
        if (p < end) {
            *why = "unexpected text after the byte count";
            return -1;
        }
    }
    if (bytes == 0 || bytes > GPUSIM__GPU_TOUCH_MAX) {
        *why = "byte count must be 1..4096";
        return -1;
    }
    if (off > UINT64_MAX - bytes) {
        *why = "offset + bytes overflows";
        return -1;
    }
    r->off = off;
    r->bytes = (uint32_t)bytes;
    return 1;
}

int gpusim__gpu_trace_parse(gpusim__arena *a, const char *text, size_t len, gpusim__gpu_trace **out,
                            char *msg, size_t msglen)
{
    gpusim__gpu_trace *t;
    size_t cap = 0, n = 0, line = 0;
    const char *p = text, *end = text + len;
    gpusim__gpu_trace_rec *rec = NULL;
    uint64_t span = 0;
    if (msg && msglen)
        msg[0] = '\0';
    if (!a || !out || (!text && len))
        return GPUSIM_EINVAL;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl ? nl : end, *why = NULL;
        gpusim__gpu_trace_rec r;
        int rc;
        line++;
        if (memchr(p, '\0', (size_t)(eol - p))) {
            why = "NUL byte";
            rc = -1;
        } else {
            rc = trace_line(p, eol, &r, &why);
        }
        if (rc < 0 || (rc > 0 && n == GPUSIM__GPU_TRACE_MAX)) {
            if (msg && msglen)
                snprintf(msg, msglen, "line %zu: %s", line, rc < 0 ? why : "too many records");
            gpusim__arena_free(a, rec, cap * sizeof *rec);
            return GPUSIM_EINVAL;
        }
        if (rc > 0) {
            if (n == cap && gpusim__arena_grow(a, (void **)&rec, &cap, n + 1, sizeof *rec)) {
                gpusim__arena_free(a, rec, cap * sizeof *rec);
                return GPUSIM_ENOMEM;
            }
            rec[n++] = r;
            if (r.off + r.bytes > span)
                span = r.off + r.bytes;
        }
        p = nl ? nl + 1 : end;
    }
    if (n == 0) {
        if (msg && msglen)
            snprintf(msg, msglen, "line %zu: the trace has no records", line);
        gpusim__arena_free(a, rec, cap * sizeof *rec);
        return GPUSIM_EINVAL;
    }
    t = gpusim__arena_alloc(a, sizeof *t);
    if (!t) {
        gpusim__arena_free(a, rec, cap * sizeof *rec);
        return GPUSIM_ENOMEM;
    }
    /* Keep exactly n records, so that freeing needs only n. */
    if (cap != n) {
        gpusim__gpu_trace_rec *exact = gpusim__arena_alloc(a, n * sizeof *exact);
        if (!exact) {
            gpusim__arena_free(a, t, sizeof *t);
            gpusim__arena_free(a, rec, cap * sizeof *rec);
            return GPUSIM_ENOMEM;
        }
        memcpy(exact, rec, n * sizeof *exact);
        gpusim__arena_free(a, rec, cap * sizeof *rec);
        rec = exact;
    }
    t->n = n;
    t->rec = rec;
    t->span = span;
    *out = t;
    return 0;
}

void gpusim__gpu_trace_free(gpusim__arena *a, gpusim__gpu_trace *t)
{
    if (!t)
        return;
    gpusim__arena_free(a, t->rec, t->n * sizeof *t->rec);
    gpusim__arena_free(a, t, sizeof *t);
}
