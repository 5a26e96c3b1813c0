/*
 * bench_perf_notifier.c -- the cost of a notifier invalidation with many subscriptions
 * (bench_perf.h; moved here from the former gpusim-perf-notifier).
 *
 * A domain gets N disjoint 64 KiB subscriptions with 64 KiB gaps between them, then runs
 * invalidate_start + invalidate_end over 4 KiB pages: half land inside a subscription (one
 * callback, which answers DONE after set_seq), half in a gap (no callback). Random pages make
 * each lookup walk a root-to-leaf path through a tree far larger than the caches, so beyond
 * ~100 k subscriptions it measures memory latency as much as the algorithm; sequential pages (as
 * reclaim or a large munmap produce) keep the path cached. The row is the random case, the worse.
 */
#include "bench_perf.h"

#include <math.h>
#include <stdlib.h>

#define SUB_SPAN (64 * GPUSIM_KIB)

static gpusim_notifier_answer_t on_invalidate(gpusim_notifier_sub_t *sub,
                                              const gpusim_notifier_range_t *range,
                                              uint64_t cur_seq, gpusim_completion_t **wait_on)
{
    (void)range;
    (void)wait_on;
    gpusim_notifier_set_seq(sub, cur_seq);
    return GPUSIM_NOTIFIER_DONE;
}

static void never_called(gpusim_world_t *w, gpusim_invalidation_t *inv, int status)
{
    (void)w;
    (void)inv;
    (void)status;
    abort(); /* every callback answers DONE: nothing ever waits */
}

double perf_notifier_invalidation(size_t n, size_t rounds, bool sequential, uint64_t *callbacks)
{
    gpusim_world_t *w;
    gpusim_notifier_t *dom;
    gpusim_rng_t rng;
    gpusim_invalidation_t inv;
    gpusim_stat_info_t info;
    double ns = -1;
    if (gpusim_world_new(NULL, &w) != 0)
        return -1;
    if (gpusim_notifier_new(w, &dom) != 0)
        goto out;
    gpusim_world_rng(w, "perf.notifier", &rng);
    for (size_t i = 0; i < n; i++) {
        gpusim_notifier_sub_t *sub;
        if (gpusim_notifier_insert(dom, (uint64_t)i * 2 * SUB_SPAN, SUB_SPAN, on_invalidate, NULL,
                                   &sub) != 0)
            goto out;
    }
    gpusim_invalidation_init(&inv);
    gpusim_notifier_range_t r = {0, 0, GPUSIM_NOTIFY_CLEAR, GPUSIM_INVALIDATOR_KSWAPD, true, NULL};
    const uint64_t pages = (uint64_t)n * 2 * SUB_SPAN / 4096;
    uint64_t t0 = perf_now();
    for (size_t i = 0; i < rounds; i++) {
        /* A 4 KiB page of the 2n * 64 KiB span: half in subscriptions, half in gaps. */
        uint64_t page = sequential ? i % pages : gpusim_rng_below(&rng, pages);
        r.start = page * 4096;
        r.end = r.start + 4096;
        if (gpusim_notifier_invalidate_start(dom, &inv, &r, never_called, NULL) != 0 ||
            gpusim_notifier_invalidate_end(&inv) != 0)
            goto out;
    }
    ns = (double)(perf_now() - t0) / (double)rounds;
    gpusim_stats_get(w, "notifier.callbacks", &info);
    *callbacks = info.count;
out:
    gpusim_world_free(w); /* frees the domain and its subscriptions */
    return ns;
}

void perf_notifier(perf_ctx *c)
{
    size_t n = c->quick ? 10000 : 1000000, rounds = c->quick ? 20000 : 400000;
    double rnd[PERF_REPS], seq[PERF_REPS];
    uint64_t cb = 0, cb2 = 0;
    for (int i = 0; i < PERF_REPS; i++) {
        rnd[i] = perf_notifier_invalidation(n, rounds, false, &cb);
        seq[i] = perf_notifier_invalidation(n, rounds, true, &cb2);
        if (rnd[i] < 0 || seq[i] < 0)
            return perf_fail(c, "notifier", GPUSIM_ENOMEM);
    }
    perf_addf(c, c->quick ? "notifier lookup, 10 k subs (quick)" : "notifier lookup, 1 M subs",
              "ns/inval", perf_median(rnd, PERF_REPS), NAN, NAN, PERF_GOAL_MAX, 1000,
              "random 4 KiB pages, %llu of %zu with a callback; sequential pages: %.0f ns%s",
              (unsigned long long)cb, rounds, perf_median(seq, PERF_REPS),
              c->quick ? "; quick: 10 k subscriptions, not 1 M" : "");
}
