/*
 * core/stats.h -- the statistics registry and the hot-path updates. Internal.
 *
 * Each statistic is one arena block holding its header and its name (flexible array member), so a
 * gpusim_stat_t pointer stays valid for the world's lifetime; modules keep the pointers they
 * registered and update through the inline functions below. Counter and gauge updates cost an
 * increment; recording a histogram sample is a short out-of-line call into core/hist.c.
 *
 * The registry is an array of pointers sorted by name (strcmp order). Lookups are binary searches;
 * registration inserts in place (O(n), but statistics are registered at set-up time, not per
 * event). Because '.' sorts below every other character allowed in a name, all names of the subtree
 * "a.b.*" follow "a.b" immediately, which makes both the subtree walk and the leaf/subtree conflict
 * check a matter of looking at neighbours.
 */
#ifndef GPUSIM_CORE_STATS_H
#define GPUSIM_CORE_STATS_H

#include "gpusim.h"
#include "core/alloc.h"
#include "core/hist.h"

struct gpusim_stat_s {
    gpusim_stat_kind_t kind;
    char unit[GPUSIM_STAT_UNIT_MAX + 1];
    gpusim__arena *arena; /* The world's arena (histogram chunks are allocated on record). */
    union {
        uint64_t count; /* Counter. */
        struct {
            int64_t value;
            int64_t peak;
        } gauge;           /* Gauge. */
        gpusim__hist hist; /* Histogram. */
    } u;
    size_t name_len;
    char name[]; /* NUL-terminated. */
};

typedef struct gpusim__stats {
    gpusim_stat_t **sorted; /* Registered statistics in name order. */
    size_t n;               /* Entries in use. */
    size_t cap;             /* Entries allocated. */
} gpusim__stats;

/* One statistic of a module's table: registered into the gpusim_stat_t * at `offset` of a struct. */
typedef struct gpusim__stat_def {
    const char *name;        /* Full name. */
    gpusim_stat_kind_t kind; /* Counter, gauge or histogram. */
    const char *unit;        /* Unit, "" for plain counts. */
    size_t offset;           /* offsetof(the module's struct, its gpusim_stat_t * member). */
} gpusim__stat_def;

/* Registers defs[0..n) (get-or-create) into the slots of `base`. Returns 0 or the first error. */
int gpusim__stats_register_table(gpusim_world_t *w, const gpusim__stat_def *defs, size_t n,
                                 void *base);

/* The same, each name being "<prefix>.<def name>" (an instance's statistics: "gpu.gpu0.tlb...").
 * GPUSIM_EINVAL when a name would be too long. */
int gpusim__stats_register_prefixed(gpusim_world_t *w, const char *prefix,
                                    const gpusim__stat_def *defs, size_t n, void *base);

/* Whether `s` (not NULL) is one name segment of 1..max bytes of [a-z0-9_]: what an instance name
 * that becomes part of statistic names (a device, a process, a driver) must be. */
bool gpusim__stat_segment_ok(const char *s, size_t max);

/* Frees every statistic and the registry. */
void gpusim__stats_destroy(gpusim__stats *st, gpusim__arena *a);

/* Fills a snapshot of one statistic. */
void gpusim__stat_info(const gpusim_stat_t *s, gpusim_stat_info_t *out);

/* Verifies sorting, name validity and each histogram. */
bool gpusim__stats_check(const gpusim__stats *st);

static inline void gpusim__stat_add(gpusim_stat_t *s, uint64_t n)
{
    s->u.count += n;
}

static inline void gpusim__stat_set(gpusim_stat_t *s, int64_t v)
{
    s->u.gauge.value = v;
    if (v > s->u.gauge.peak)
        s->u.gauge.peak = v;
}

static inline void gpusim__stat_adjust(gpusim_stat_t *s, int64_t delta)
{
    gpusim__stat_set(s, s->u.gauge.value + delta);
}

static inline int gpusim__stat_record(gpusim_stat_t *s, uint64_t v)
{
    return gpusim__hist_record(&s->u.hist, s->arena, v);
}

#endif /* GPUSIM_CORE_STATS_H */
