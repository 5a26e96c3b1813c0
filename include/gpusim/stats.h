/*
 * gpusim/stats.h -- named statistics: counters, gauges and histograms. Part of <gpusim.h>.
 *
 * Every figure a world produces is a statistic with a hierarchical name: lower-case segments of
 * [a-z0-9_] joined by dots, such as "gpu.0.tlb.l1.hits" or "notifier.blocked_ns.kswapd". One name
 * is one statistic; a name is never also the prefix of another ("a.b" and "a.b.c" cannot both
 * exist), so the set of names is a tree that output code can print as nested JSON.
 *
 * Kinds:
 *   - counter: a monotonically increasing uint64 (events, bytes moved);
 *   - gauge: a signed current value with the peak it has reached (queue depth, bytes in use);
 *   - histogram: a distribution of uint64 samples (latencies in ns, sizes in bytes) with exact
 *     count, sum, min and max and log-linear buckets for quantiles. A reported quantile is within
 *     GPUSIM_HIST_REL_ERROR of the exact nearest-rank quantile of the samples.
 *
 * Output code never hard-codes the list of statistics: gpusim_stats_get() reads one by name and the
 * iterator walks all (or one subtree) in name order, which is deterministic.
 */
#ifndef GPUSIM_STATS_H
#define GPUSIM_STATS_H

#ifndef GPUSIM_H_INSIDE
#error "include <gpusim.h>, not its parts"
#endif

GPUSIM_BEGIN_DECLS

/** Longest statistic name, in bytes, without the terminating NUL. */
#define GPUSIM_STAT_NAME_MAX 127

/** Longest unit string, in bytes, without the terminating NUL. */
#define GPUSIM_STAT_UNIT_MAX 15

/**
 * Bound on the relative error of a histogram quantile: |reported - exact| <= exact * 2^-8.
 * Samples below 256 are kept exactly.
 */
#define GPUSIM_HIST_REL_ERROR (1.0 / 256.0)

/** The kind of a statistic. */
typedef enum gpusim_stat_kind_e {
    GPUSIM_STAT_COUNTER = 1,  /**< Monotonic uint64 count. */
    GPUSIM_STAT_GAUGE = 2,    /**< Signed current value with peak. */
    GPUSIM_STAT_HISTOGRAM = 3 /**< Distribution of uint64 samples. */
} gpusim_stat_kind_t;

/** A registered statistic. Opaque; owned by its world and valid until the world is freed. */
typedef struct gpusim_stat_s gpusim_stat_t;

/** A snapshot of one statistic, filled by gpusim_stats_get() and gpusim_stats_iter_next(). */
typedef struct gpusim_stat_info_s {
    const char *name;        /**< Full name; valid until the world is freed. */
    const char *unit;        /**< Unit ("ns", "bytes", "" for plain counts); same lifetime. */
    gpusim_stat_kind_t kind; /**< Which of the fields below are meaningful. */
    uint64_t count;          /**< Counter: its value. Histogram: number of samples. */
    int64_t value;           /**< Gauge: current value. */
    int64_t peak;            /**< Gauge: highest value it has had (starts at 0). */
    uint64_t sum;            /**< Histogram: sum of samples, saturating at UINT64_MAX. */
    uint64_t min;            /**< Histogram: smallest sample (0 when empty). */
    uint64_t max;            /**< Histogram: largest sample (0 when empty). */
    uint64_t p50;            /**< Histogram: median. */
    uint64_t p90;            /**< Histogram: 90th percentile. */
    uint64_t p99;            /**< Histogram: 99th percentile. */
    uint64_t p999;           /**< Histogram: 99.9th percentile. */
} gpusim_stat_info_t;

/**
 * Registers a statistic, or returns the one already registered under `name` if it has the same
 * kind and unit (so instances of a module can share a name safely). `unit` may be NULL for "".
 * Returns 0 and sets *out, or GPUSIM_EINVAL (NULL argument, bad name or unit, bad kind),
 * GPUSIM_EEXIST (the name exists with another kind or unit, or conflicts with a subtree),
 * GPUSIM_ENOMEM.
 */
GPUSIM_EXTERN int gpusim_stat_register(gpusim_world_t *w, const char *name, gpusim_stat_kind_t kind,
                                       const char *unit, gpusim_stat_t **out);

/** Adds `n` to a counter. Returns 0, or GPUSIM_EINVAL if `s` is NULL or not a counter. */
GPUSIM_EXTERN int gpusim_stat_add(gpusim_stat_t *s, uint64_t n);

/** Sets a gauge, updating its peak. Returns 0, or GPUSIM_EINVAL if `s` is NULL or not a gauge. */
GPUSIM_EXTERN int gpusim_stat_set(gpusim_stat_t *s, int64_t value);

/**
 * Adds `delta` (may be negative) to a gauge. Returns 0, GPUSIM_EINVAL if `s` is NULL or not a gauge,
 * or
 * GPUSIM_EOVERFLOW if the result would not fit in int64_t (the gauge is then unchanged).
 */
GPUSIM_EXTERN int gpusim_stat_adjust(gpusim_stat_t *s, int64_t delta);

/**
 * Records one sample in a histogram. Returns 0, or GPUSIM_EINVAL if `s` is NULL or not a histogram.
 * Buckets for a new power-of-two range of values are allocated on first use (1 KiB each). If that
 * allocation fails the call returns GPUSIM_ENOMEM; the sample still counts in count, sum, min and
 * max, but quantiles are computed over the samples that found a bucket.
 */
GPUSIM_EXTERN int gpusim_stat_record(gpusim_stat_t *s, uint64_t sample);

/**
 * Reads the statistic `name`. Returns 0, GPUSIM_ENOENT if there is none (a subtree's name is not a
 * statistic), or GPUSIM_EINVAL for a NULL argument; *out is untouched on error.
 */
GPUSIM_EXTERN int gpusim_stats_get(gpusim_world_t *w, const char *name, gpusim_stat_info_t *out);

/**
 * Reads quantile q (0 <= q <= 1, nearest rank) of histogram `name`; q = 0 gives the minimum and
 * q = 1 the maximum exactly. Returns 0, GPUSIM_ENOENT, or GPUSIM_EINVAL (not a histogram, q out of
 * range or NaN, NULL argument); *out is untouched on error. An empty histogram gives 0.
 */
GPUSIM_EXTERN int gpusim_stats_quantile(gpusim_world_t *w, const char *name, double q,
                                        uint64_t *out);

/** A cursor over the statistics of a world in name order. Caller-allocated; fields private. */
typedef struct gpusim_stats_iter_s {
    gpusim_world_t *world_; /**< World being walked. */
    const char *prefix_;    /**< Subtree to walk (caller's string), or NULL for all. */
    size_t prefix_len_;     /**< strlen(prefix_). */
    size_t pos_;            /**< Next position in the world's sorted registry. */
} gpusim_stats_iter_t;

/**
 * Starts a walk over the statistics named `prefix` or "<prefix>.*" (NULL or "" for all). The
 * prefix string must outlive the walk. Registering statistics during a walk may make it skip or
 * repeat entries. Returns 0, or GPUSIM_EINVAL if `it` or `w` is NULL.
 */
GPUSIM_EXTERN int gpusim_stats_iter_init(gpusim_stats_iter_t *it, gpusim_world_t *w,
                                         const char *prefix);

/** Fills `out` with the next statistic and returns true, or returns false at the end (and for a
 *  NULL argument or an iterator never initialised). */
GPUSIM_EXTERN bool gpusim_stats_iter_next(gpusim_stats_iter_t *it, gpusim_stat_info_t *out);

/** Returns the number of registered statistics (0 for NULL). */
GPUSIM_EXTERN size_t gpusim_stats_count(const gpusim_world_t *w);

GPUSIM_END_DECLS

#endif /* GPUSIM_STATS_H */
