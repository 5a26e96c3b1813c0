/*
 * core/stats.c -- named statistics: registration, lookup, snapshots and the name-ordered walk.
 * The registry layout and its ordering argument are in core/stats.h.
 */
#include <stdio.h>
#include <string.h>

#include "core/compiler.h"
#include "core/stats.h"
#include "core/world.h"

/* ------------------------------------------------------------------------------------------- */
/* Names                                                                                       */
/* ------------------------------------------------------------------------------------------- */

static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

bool gpusim__stat_segment_ok(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return false;
    return true;
}

/* Lower-case [a-z0-9_] segments joined by single dots, 1..GPUSIM_STAT_NAME_MAX bytes. */
static bool name_valid(const char *name, size_t *len_out)
{
    size_t len = 0;
    bool segment_empty = true;
    for (const char *p = name; *p; p++, len++) {
        if (len >= GPUSIM_STAT_NAME_MAX)
            return false;
        if (*p == '.') {
            if (segment_empty)
                return false;
            segment_empty = true;
        } else if (name_char(*p)) {
            segment_empty = false;
        } else {
            return false;
        }
    }
    *len_out = len;
    return !segment_empty;
}

/* Printable ASCII without quotes, backslashes or spaces (units go into CSV and JSON verbatim). */
static bool unit_valid(const char *unit)
{
    size_t len = 0;
    for (const char *p = unit; *p; p++, len++)
        if (len >= GPUSIM_STAT_UNIT_MAX || *p <= ' ' || *p > '~' || *p == '"' || *p == '\\' ||
            *p == ',')
            return false;
    return true;
}

/*
 * Binary search by the first `len` bytes of `name` (name need not be NUL-terminated there).
 * Returns the index of the match, or the insertion point with *found false.
 */
static size_t search(const gpusim__stats *st, const char *name, size_t len, bool *found)
{
    size_t lo = 0, hi = st->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const gpusim_stat_t *s = st->sorted[mid];
        int c = strncmp(s->name, name, len);
        if (c == 0)
            c = s->name_len == len ? 0 : 1; /* equal prefix: the longer name sorts after */
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

/* True if `name` would be a leaf above, or the root of, an existing subtree (or vice versa). */
static bool conflicts(const gpusim__stats *st, const char *name, size_t len, size_t pos)
{
    bool found;
    /* An existing statistic named like one of our ancestors ("a" or "a.b" for "a.b.c")? */
    for (size_t i = 0; i < len; i++)
        if (name[i] == '.') {
            search(st, name, i, &found);
            if (found)
                return true;
        }
    /* An existing statistic below us ("a.b.c" for "a.b")? It would sort right after us. */
    if (pos < st->n) {
        const gpusim_stat_t *next = st->sorted[pos];
        if (next->name_len > len && strncmp(next->name, name, len) == 0 && next->name[len] == '.')
            return true;
    }
    return false;
}

/* ------------------------------------------------------------------------------------------- */
/* Registration and updates                                                                    */
/* ------------------------------------------------------------------------------------------- */

int gpusim_stat_register(gpusim_world_t *w, const char *name, gpusim_stat_kind_t kind,
                         const char *unit, gpusim_stat_t **out)
{
    size_t len;
    if (w == NULL || name == NULL || out == NULL || !name_valid(name, &len))
        return GPUSIM_EINVAL;
    if (kind != GPUSIM_STAT_COUNTER && kind != GPUSIM_STAT_GAUGE && kind != GPUSIM_STAT_HISTOGRAM)
        return GPUSIM_EINVAL;
    if (unit == NULL)
        unit = "";
    if (!unit_valid(unit))
        return GPUSIM_EINVAL;

    gpusim__stats *st = &w->stats;
    bool found;
    size_t pos = search(st, name, len, &found);
    if (found) {
        gpusim_stat_t *s = st->sorted[pos];
        if (s->kind != kind || strcmp(s->unit, unit) != 0)
            return GPUSIM_EEXIST;
        *out = s;
        return 0;
    }
    if (conflicts(st, name, len, pos))
        return GPUSIM_EEXIST;

    /* Allocate, then make room: if either fails nothing has changed, not even capacity. */
    gpusim_stat_t *s = gpusim__arena_zalloc(&w->arena, sizeof(*s) + len + 1);
    if (s == NULL)
        return GPUSIM_ENOMEM;
    int rc = gpusim__arena_grow(&w->arena, (void **)&st->sorted, &st->cap, st->n + 1,
                                sizeof(*st->sorted));
    if (rc != 0) {
        gpusim__arena_free(&w->arena, s, sizeof(*s) + len + 1);
        return rc;
    }
    s->kind = kind;
    s->arena = &w->arena;
    strcpy(s->unit, unit);
    s->name_len = len;
    memcpy(s->name, name, len + 1);
    if (kind == GPUSIM_STAT_HISTOGRAM)
        gpusim__hist_init(&s->u.hist);

    memmove(&st->sorted[pos + 1], &st->sorted[pos], (st->n - pos) * sizeof(*st->sorted));
    st->sorted[pos] = s;
    st->n++;
    *out = s;
    return 0;
}

int gpusim__stats_register_table(gpusim_world_t *w, const gpusim__stat_def *defs, size_t n,
                                 void *base)
{
    return gpusim__stats_register_prefixed(w, NULL, defs, n, base);
}

int gpusim__stats_register_prefixed(gpusim_world_t *w, const char *prefix,
                                    const gpusim__stat_def *defs, size_t n, void *base)
{
    for (size_t i = 0; i < n; i++) {
        gpusim_stat_t **slot = (gpusim_stat_t **)(void *)((char *)base + defs[i].offset);
        char name[GPUSIM_STAT_NAME_MAX + 1];
        const char *full = defs[i].name;
        int rc;
        if (prefix) {
            int len = snprintf(name, sizeof name, "%s.%s", prefix, defs[i].name);
            if (len < 0 || (size_t)len >= sizeof name)
                return GPUSIM_EINVAL;
            full = name;
        }
        rc = gpusim_stat_register(w, full, defs[i].kind, defs[i].unit, slot);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int gpusim_stat_add(gpusim_stat_t *s, uint64_t n)
{
    if (s == NULL || s->kind != GPUSIM_STAT_COUNTER)
        return GPUSIM_EINVAL;
    gpusim__stat_add(s, n);
    return 0;
}

int gpusim_stat_set(gpusim_stat_t *s, int64_t value)
{
    if (s == NULL || s->kind != GPUSIM_STAT_GAUGE)
        return GPUSIM_EINVAL;
    gpusim__stat_set(s, value);
    return 0;
}

int gpusim_stat_adjust(gpusim_stat_t *s, int64_t delta)
{
    if (s == NULL || s->kind != GPUSIM_STAT_GAUGE)
        return GPUSIM_EINVAL;
    int64_t v = s->u.gauge.value;
    if ((delta > 0 && v > INT64_MAX - delta) || (delta < 0 && v < INT64_MIN - delta))
        return GPUSIM_EOVERFLOW;
    gpusim__stat_adjust(s, delta);
    return 0;
}

int gpusim_stat_record(gpusim_stat_t *s, uint64_t sample)
{
    if (s == NULL || s->kind != GPUSIM_STAT_HISTOGRAM)
        return GPUSIM_EINVAL;
    return gpusim__stat_record(s, sample);
}

void gpusim__stats_destroy(gpusim__stats *st, gpusim__arena *a)
{
    for (size_t i = 0; i < st->n; i++) {
        gpusim_stat_t *s = st->sorted[i];
        if (s->kind == GPUSIM_STAT_HISTOGRAM)
            gpusim__hist_destroy(&s->u.hist, a);
        gpusim__arena_free(a, s, sizeof(*s) + s->name_len + 1);
    }
    gpusim__arena_free(a, st->sorted, st->cap * sizeof(*st->sorted));
    memset(st, 0, sizeof(*st));
}

/* ------------------------------------------------------------------------------------------- */
/* Queries                                                                                     */
/* ------------------------------------------------------------------------------------------- */

void gpusim__stat_info(const gpusim_stat_t *s, gpusim_stat_info_t *out)
{
    memset(out, 0, sizeof(*out));
    out->name = s->name;
    out->unit = s->unit;
    out->kind = s->kind;
    switch (s->kind) {
    case GPUSIM_STAT_COUNTER:
        out->count = s->u.count;
        break;
    case GPUSIM_STAT_GAUGE:
        out->value = s->u.gauge.value;
        out->peak = s->u.gauge.peak;
        break;
    case GPUSIM_STAT_HISTOGRAM: {
        const gpusim__hist *h = &s->u.hist;
        static const double qs[4] = {0.5, 0.9, 0.99, 0.999};
        uint64_t q[4];
        gpusim__hist_quantiles(h, qs, q, 4);
        out->count = h->count;
        out->sum = h->sum;
        out->min = h->count ? h->min : 0;
        out->max = h->max;
        out->p50 = q[0];
        out->p90 = q[1];
        out->p99 = q[2];
        out->p999 = q[3];
        break;
    }
    }
}

static const gpusim_stat_t *lookup(const gpusim_world_t *w, const char *name)
{
    bool found;
    size_t pos = search(&w->stats, name, strlen(name), &found);
    return found ? w->stats.sorted[pos] : NULL;
}

int gpusim_stats_get(gpusim_world_t *w, const char *name, gpusim_stat_info_t *out)
{
    if (w == NULL || name == NULL || out == NULL)
        return GPUSIM_EINVAL;
    gpusim__world_publish(w);
    const gpusim_stat_t *s = lookup(w, name);
    if (s == NULL)
        return GPUSIM_ENOENT;
    gpusim__stat_info(s, out);
    return 0;
}

int gpusim_stats_quantile(gpusim_world_t *w, const char *name, double q, uint64_t *out)
{
    if (w == NULL || name == NULL || out == NULL || !(q >= 0.0 && q <= 1.0))
        return GPUSIM_EINVAL;
    const gpusim_stat_t *s = lookup(w, name);
    if (s == NULL)
        return GPUSIM_ENOENT;
    if (s->kind != GPUSIM_STAT_HISTOGRAM)
        return GPUSIM_EINVAL;
    gpusim__hist_quantiles(&s->u.hist, &q, out, 1);
    return 0;
}

size_t gpusim_stats_count(const gpusim_world_t *w)
{
    return w != NULL ? w->stats.n : 0;
}

int gpusim_stats_iter_init(gpusim_stats_iter_t *it, gpusim_world_t *w, const char *prefix)
{
    if (it == NULL || w == NULL)
        return GPUSIM_EINVAL;
    gpusim__world_publish(w);
    it->world_ = w;
    it->prefix_ = prefix != NULL && prefix[0] != '\0' ? prefix : NULL;
    it->prefix_len_ = it->prefix_ != NULL ? strlen(prefix) : 0;
    bool found;
    it->pos_ = it->prefix_ != NULL ? search(&w->stats, prefix, it->prefix_len_, &found) : 0;
    return 0;
}

bool gpusim_stats_iter_next(gpusim_stats_iter_t *it, gpusim_stat_info_t *out)
{
    if (it == NULL || out == NULL || it->world_ == NULL)
        return false;
    const gpusim__stats *st = &it->world_->stats;
    if (it->pos_ >= st->n)
        return false;
    const gpusim_stat_t *s = st->sorted[it->pos_];
    if (it->prefix_ != NULL) {
        /* In the subtree iff the name is the prefix itself or continues it with a dot. */
        size_t n = it->prefix_len_;
        if (strncmp(s->name, it->prefix_, n) != 0 || (s->name[n] != '\0' && s->name[n] != '.'))
            return false;
    }
    it->pos_++;
    gpusim__stat_info(s, out);
    return true;
}

bool gpusim__stats_check(const gpusim__stats *st)
{
    for (size_t i = 0; i < st->n; i++) {
        const gpusim_stat_t *s = st->sorted[i];
        size_t len;
        if (!name_valid(s->name, &len) || len != s->name_len)
            return false;
        if (i > 0 && strcmp(st->sorted[i - 1]->name, s->name) >= 0)
            return false;
        if (s->kind == GPUSIM_STAT_HISTOGRAM && !gpusim__hist_check(&s->u.hist))
            return false;
        if (s->kind == GPUSIM_STAT_GAUGE && s->u.gauge.peak < s->u.gauge.value)
            return false;
    }
    return true;
}
