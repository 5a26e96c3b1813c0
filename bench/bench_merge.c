/*
 * bench_merge.c -- checks and orders the records of shard files (bench_merge.h).
 *
 * The checks, in order, each with a message saying which files disagree:
 *   1. every record has the same `combinations` and an index below it;
 *   2. no index twice (a shard given twice, or shards of different N overlap);
 *   3. no index missing (a shard, or part of one, is absent);
 *   4. the records form the run's grid: with P policies and K seeds, record i has the policy of
 *      record i % P, the seed of record (i / P % K) * P and the scenario of its block of P * K,
 *      and no (scenario, seed, policy) repeats. This catches files of different runs whose
 *      indices happen to fit together.
 */
#include "bench_merge.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

typedef struct item {
    sim_result rec;
    const char *origin;
} item;

static int cmp_index(const void *a, const void *b)
{
    uint64_t x = ((const item *)a)->rec.index, y = ((const item *)b)->rec.index;
    return (x > y) - (x < y);
}

static int merge_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return GPUSIM_EINVAL;
}

static bool same_cell(const sim_result *a, const sim_result *b)
{
    return strcmp(a->scenario, b->scenario) == 0 && a->seed == b->seed;
}

/* Check 4 on records already sorted and complete (index == position). */
static int check_grid(const item *it, size_t n, char *err, size_t errlen)
{
    size_t P = 1, K = 1;
    while (P < n && same_cell(&it[P].rec, &it[0].rec))
        P++;
    while (K * P < n && strcmp(it[K * P].rec.scenario, it[0].rec.scenario) == 0)
        K++;
    if (n % (P * K) != 0)
        return merge_err(err, errlen,
                         "%zu records do not make whole scenarios of %zu seeds x %zu policies: "
                         "the files come from different runs",
                         n, K, P);
    for (size_t i = 0; i < n; i++) {
        const sim_result *r = &it[i].rec;
        const sim_result *pol = &it[i % P].rec, *seed = &it[(i / P % K) * P].rec,
                         *scen = &it[i / (P * K) * (P * K)].rec;
        bool fits = strcmp(r->policy, pol->policy) == 0 && r->seed == seed->seed &&
                    strcmp(r->scenario, scen->scenario) == 0;
        /* A scenario block must not repeat an earlier block's scenario, nor a seed block an
         * earlier seed of its scenario, nor a policy an earlier one of its seed. */
        if (fits && i % (P * K) == 0)
            for (size_t j = 0; j < i && fits; j += P * K)
                fits = strcmp(it[j].rec.scenario, r->scenario) != 0;
        if (fits && i % P == 0 && i % (P * K) != 0)
            for (size_t j = i / (P * K) * (P * K); j < i && fits; j += P)
                fits = it[j].rec.seed != r->seed;
        if (fits && i < P)
            for (size_t j = 0; j < i && fits; j++)
                fits = strcmp(it[j].rec.policy, r->policy) != 0;
        if (!fits)
            return merge_err(err, errlen,
                             "%s: record %" PRIu64 " (%s/%s/seed %" PRIu64
                             ") does not fit the run's scenario x seed x policy order: the "
                             "files come from different runs",
                             it[i].origin, r->index, r->scenario, r->policy, r->seed);
    }
    return 0;
}

int bench_merge(sim_result *recs, const char **origin, size_t n, char *err, size_t errlen)
{
    if (n == 0)
        return merge_err(err, errlen, "no records to merge");
    uint64_t total = recs[0].combinations;
    for (size_t i = 0; i < n; i++) {
        if (recs[i].combinations != total)
            return merge_err(err, errlen,
                             "%s and %s come from different runs (%" PRIu64 " and %" PRIu64
                             " combinations)",
                             origin[0], origin[i], total, recs[i].combinations);
        if (recs[i].index >= total)
            return merge_err(err, errlen,
                             "%s: record index %" PRIu64 " is not below its combinations (%" PRIu64
                             ")",
                             origin[i], recs[i].index, total);
    }
    item *it = malloc(n * sizeof *it);
    if (!it)
        return merge_err(err, errlen, "out of memory for %zu records", n);
    for (size_t i = 0; i < n; i++) {
        it[i].rec = recs[i];
        it[i].origin = origin[i];
    }
    qsort(it, n, sizeof *it, cmp_index);
    int rc = 0;
    for (size_t i = 1; i < n && !rc; i++)
        if (it[i].rec.index == it[i - 1].rec.index)
            rc = merge_err(err, errlen,
                           "combination %" PRIu64 " is in both %s and %s: a shard given twice, or "
                           "shards of different --shard N",
                           it[i].rec.index, it[i - 1].origin, it[i].origin);
    if (!rc && n != total) {
        /* Name the first gaps: they tell which shard is missing. */
        char list[128] = "";
        size_t used = 0, shown = 0, expect = 0;
        for (size_t i = 0; i <= n && shown < 5; i++) {
            uint64_t next = i < n ? it[i].rec.index : total;
            for (; expect < next && shown < 5; expect++, shown++)
                used += (size_t)snprintf(list + used, sizeof list - used, "%s%zu",
                                         shown ? ", " : "", expect);
            expect = next + 1;
        }
        rc = merge_err(err, errlen,
                       "%" PRIu64 " of %" PRIu64 " combinations missing (%s%s): a shard file is "
                       "missing or incomplete",
                       total - n, total, list, total - n > shown ? ", ..." : "");
    }
    if (!rc)
        rc = check_grid(it, n, err, errlen);
    if (!rc) {
        for (size_t i = 0; i < n; i++)
            recs[i] = it[i].rec;
        sim_expect_eval(recs, n);
    }
    free(it);
    return rc;
}
