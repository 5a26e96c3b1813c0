/*
 * gpusim-perf-notifier -- how the cost of a notifier invalidation grows with the number of
 * subscriptions, up to a million.
 *
 * For each size N, a domain gets N disjoint 64 KiB subscriptions (with 64 KiB gaps between them),
 * then runs invalidate_start + invalidate_end over 4 KiB ranges: half land inside a subscription
 * (one callback, which answers DONE after set_seq), half in a gap (no callback). Two patterns:
 *
 *   random      uniformly random pages: each lookup walks a root-to-leaf path through a tree far
 *               larger than the caches, so beyond ~100k subscriptions it measures memory latency
 *               (one miss per level) as much as the algorithm;
 *   sequential  pages in address order, as reclaim or an munmap of a large range produce: the
 *               path stays cached, so the cost is the algorithm's.
 *
 * For each, the wall time per invalidation is printed with the cost divided by log2 N, and the
 * growth exponent between the smallest and largest size, log(cost ratio) / log(size ratio):
 * about 0.1 for logarithmic growth over this range, 1 for a linear scan.
 *
 * All figures come from one run on one machine, compared with each other, so they mean something
 * on a noisy shared machine too; absolute nanoseconds are printed for reference only. Public API
 * only (links the shared library).
 *
 *   gpusim-perf-notifier [--quick]     --quick: small sizes, for the test suite's smoke run
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gpusim.h>
#include <uv.h>

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

/*
 * Returns the mean wall time of one invalidation with n subscriptions, in ns, with random or
 * sequential pages; -1 on error.
 */
static double measure(size_t n, size_t rounds, bool sequential, uint64_t *callbacks)
{
    gpusim_world_t *w;
    gpusim_notifier_t *dom;
    gpusim_rng_t rng;
    if (gpusim_world_new(NULL, &w) != 0 || gpusim_notifier_new(w, &dom) != 0)
        return -1;
    gpusim_world_rng(w, "perf.notifier", &rng);
    for (size_t i = 0; i < n; i++) {
        gpusim_notifier_sub_t *sub;
        if (gpusim_notifier_insert(dom, (uint64_t)i * 2 * SUB_SPAN, SUB_SPAN, on_invalidate, NULL,
                                   &sub) != 0)
            return -1;
    }
    gpusim_invalidation_t inv;
    gpusim_invalidation_init(&inv);
    gpusim_notifier_range_t r = {0, 0, GPUSIM_NOTIFY_CLEAR, GPUSIM_INVALIDATOR_KSWAPD, true, NULL};
    uint64_t t0 = uv_hrtime();
    const uint64_t pages = (uint64_t)n * 2 * SUB_SPAN / 4096;
    for (size_t i = 0; i < rounds; i++) {
        /* A 4 KiB page of the 2n * 64 KiB span: half in subscriptions, half in gaps. */
        uint64_t page = sequential ? i % pages : gpusim_rng_below(&rng, pages);
        r.start = page * 4096;
        r.end = r.start + 4096;
        if (gpusim_notifier_invalidate_start(dom, &inv, &r, never_called, NULL) != 0 ||
            gpusim_notifier_invalidate_end(&inv) != 0)
            return -1;
    }
    uint64_t elapsed = uv_hrtime() - t0;
    gpusim_stat_info_t info;
    gpusim_stats_get(w, "notifier.callbacks", &info);
    *callbacks = info.count;
    gpusim_world_free(w); /* frees the domain and its subscriptions */
    return (double)elapsed / (double)rounds;
}

int main(int argc, char **argv)
{
    bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    if (argc > 1 && !quick) {
        fprintf(stderr, "usage: gpusim-perf-notifier [--quick]\n");
        return 2;
    }
    static const size_t full[] = {1000, 4000, 16000, 64000, 256000, 1000000};
    static const size_t small[] = {100, 1000};
    const size_t *sizes = quick ? small : full;
    size_t nsizes = quick ? 2 : sizeof(full) / sizeof(full[0]);
    size_t rounds = quick ? 2000 : 400000;

    printf("notifier invalidation cost vs subscriptions (%zu invalidations per size, %s)\n", rounds,
           gpusim_allocator_name());
    for (int pattern = 0; pattern < 2; pattern++) {
        bool sequential = pattern == 1;
        double first = 0, last = 0;
        printf("\n%s pages\n%12s %16s %12s %14s\n", sequential ? "sequential" : "random",
               "subscriptions", "ns/invalidation", "callbacks", "ns / log2(n)");
        for (size_t i = 0; i < nsizes; i++) {
            uint64_t callbacks = 0;
            double ns = measure(sizes[i], rounds, sequential, &callbacks);
            if (ns < 0) {
                fprintf(stderr, "gpusim-perf-notifier: set-up failed at %zu subscriptions\n",
                        sizes[i]);
                return 1;
            }
            printf("%12zu %16.1f %12llu %14.2f\n", sizes[i], ns, (unsigned long long)callbacks,
                   ns / log2((double)sizes[i]));
            if (i == 0)
                first = ns;
            last = ns;
        }
        double exponent = log(last / first) / log((double)sizes[nsizes - 1] / (double)sizes[0]);
        printf("growth exponent %zu -> %zu: %.3f (about 0.1 = logarithmic, 1 = linear); "
               "%.0f ns per invalidation at %zu\n",
               sizes[0], sizes[nsizes - 1], exponent, last, sizes[nsizes - 1]);
    }
    return 0;
}
