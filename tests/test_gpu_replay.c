/*
 * tests/test_gpu_replay.c -- the cross-kernel fast-forward (gpu/engine_memo.c): a series of
 * identical one-pass kernels, each submitted when the one before has ended, with the fast-forward
 * on and off. Replayed kernels must end exactly when simulated ones do; a repeated driver change
 * between kernels must not stop replays, a new change or a foreign job must; a disturbance during
 * a replay must stop it where it is, and the rest must be simulated.
 */
#include <stdio.h>

#include "test_util.h"
#include "gpu_engine_util.h"

#define NPAGES  96u /* more pages than the L1 TLB holds: kernels depend on the TLB state */
#define KERNELS 14

/* What happens before kernel k of a series (on the series' world and context). */
typedef void (*between_fn)(gpusim_world_t *w, gpusim_gpu_ctx_t *c, int k);

typedef struct series {
    gpusim_time_t dur[KERNELS]; /* each kernel's submission to end */
    bool replayed[KERNELS];     /* it started as a replay (engine.ff_kernels moved) */
    uint64_t ff_kernels, events, interrupts;
} series;

/* Maps NPAGES pages at VA to scattered frames (shift: where they start): one TLB entry each. */
static void map_scattered(gpusim_gpu_ctx_t *c, uint64_t shift)
{
    uint64_t f[NPAGES];
    for (uint64_t i = 0; i < NPAGES; i++)
        f[i] = 4096 + shift + 3 * i;
    ASSERT_OK(gpusim_gpu_map(c, VA, NPAGES * PAGE, f, RW, NULL));
}

/* Runs KERNELS kernels one after the other, `between` before each; `mid` (may be NULL) runs
 * once, half-way through kernel `mid_k` (timed from the undisturbed series `calm`). */
static void run_series(bool ff, between_fn between, between_fn mid, int mid_k, const series *calm,
                       series *out)
{
    gpusim_world_t *w = test_world(3);
    gpusim_gpu_t *g = device_ff(w, "4", ff);
    gpusim_gpu_ctx_t *c;
    jobrec j;
    char msg[256];
    memset(out, 0, sizeof *out);
    ASSERT_OK(gpusim_gpu_ctx_new(g, NULL, &c));
    map_scattered(c, 0);
    for (int k = 0; k < KERNELS; k++) {
        uint64_t before;
        gpusim_time_t t0;
        if (between)
            between(w, c, k);
        before = stat(w, "gpu.gpu0.engine.ff_kernels");
        kernel(&j, w, c, VA, NPAGES * PAGE, 3 * NPAGES, 256, 1, 6, 50);
        j.job.kernel.pattern = GPUSIM_PATTERN_STRIDED;
        j.job.kernel.stride = PAGE;
        t0 = gpusim_world_now(w);
        ASSERT_OK(gpusim__gpu_engine_submit(&j.job, NULL, 0));
        if (mid && k == mid_k) {
            ASSERT_OK(gpusim_world_run_until(w, t0 + calm->dur[k] / 2));
            assert_int_equal(j.done, 0);
            if (gpusim_gpu_check(g, msg, sizeof msg)) /* invariants hold mid-replay */
                fail_msg("gpu check: %s", msg);
            mid(w, c, k);
        }
        ASSERT_OK(gpusim_world_run(w));
        assert_int_equal(j.done, 1);
        ASSERT_OK(j.status);
        out->dur[k] = j.at - t0;
        out->replayed[k] = stat(w, "gpu.gpu0.engine.ff_kernels") > before;
        ASSERT_OK(gpusim_world_run_until(w, gpusim_world_now(w) + 1000)); /* a gap */
    }
    out->ff_kernels = stat(w, "gpu.gpu0.engine.ff_kernels");
    out->interrupts = stat(w, "gpu.gpu0.engine.ff_interrupts");
    out->events = gpusim_world_events_run(w);
    check_idle(g);
    gpusim_world_free(w);
}

static void assert_same_times(const series *fast, const series *full)
{
    for (int k = 0; k < KERNELS; k++)
        if (fast->dur[k] != full->dur[k])
            fail_msg("kernel %d: fast-forward %llu ns, simulated %llu ns", k,
                     (unsigned long long)fast->dur[k], (unsigned long long)full->dur[k]);
    assert_int_equal(full->ff_kernels, 0);
}

/* Undisturbed: from some kernel on every kernel is a replay, and each ends exactly when the
 * simulated one does, with far fewer events. */
static void test_replay_matches_full(void **state)
{
    series fast, full;
    int first = -1;
    (void)state;
    run_series(false, NULL, NULL, 0, NULL, &full);
    run_series(true, NULL, NULL, 0, NULL, &fast);
    assert_same_times(&fast, &full);
    for (int k = 0; k < KERNELS; k++)
        if (fast.replayed[k] && first < 0)
            first = k;
    assert_true(first >= 2 && first <= 5); /* two equal kernels (or two equal pairs) first */
    for (int k = first; k < KERNELS; k++)
        assert_true(fast.replayed[k]);
    assert_int_equal(fast.ff_kernels, KERNELS - first);
    assert_true(fast.events * 2 < full.events);
    ASSERT_NO_LEAK();
}

/* What `pin` does at every submission: unmap, invalidate, map the same frames again. */
static void remap_same(gpusim_world_t *w, gpusim_gpu_ctx_t *c, int k)
{
    (void)w;
    (void)k;
    ASSERT_OK(gpusim_gpu_unmap(c, VA, NPAGES * PAGE, NULL));
    ASSERT_OK(gpusim_gpu_tlb_invalidate(c, VA, NPAGES * PAGE, NULL));
    map_scattered(c, 0);
}

/* ... but before kernel 8 the frames are others. */
static void remap_moved_at_8(gpusim_world_t *w, gpusim_gpu_ctx_t *c, int k)
{
    (void)w;
    ASSERT_OK(gpusim_gpu_unmap(c, VA, NPAGES * PAGE, NULL));
    ASSERT_OK(gpusim_gpu_tlb_invalidate(c, VA, NPAGES * PAGE, NULL));
    map_scattered(c, k >= 8 ? 1 : 0);
}

/* A copy on the device before kernel 8: a unit no kernel of the series had. */
static void copy_at_8(gpusim_world_t *w, gpusim_gpu_ctx_t *c, int k)
{
    jobrec cp;
    if (k != 8)
        return;
    copy(&cp, w, c, VA + PAGE, VA, PAGE);
    ASSERT_OK(gpusim__gpu_engine_submit(&cp.job, NULL, 0));
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(cp.done, 1);
}

/* The same driver change before every kernel does not stop replays; a change not seen before (other
 * frames) or a foreign unit (a copy) makes the next kernel simulated; replays resume once the
 * kernels are steady again; every kernel ends when the simulated one does. */
static void test_replay_window(void **state)
{
    static const between_fn cases[] = {remap_same, remap_moved_at_8, copy_at_8};
    (void)state;
    for (size_t i = 0; i < GPUSIM_ARRAY_SIZE(cases); i++) {
        series fast, full;
        run_series(false, cases[i], NULL, 0, NULL, &full);
        run_series(true, cases[i], NULL, 0, NULL, &fast);
        assert_same_times(&fast, &full);
        assert_true(fast.replayed[7]);
        assert_true(fast.replayed[KERNELS - 1]);
        if (cases[i] != remap_same)
            assert_false(fast.replayed[8]);
        else
            assert_true(fast.replayed[8]);
    }
    ASSERT_NO_LEAK();
}

/* A TLB invalidation of the context: every translation must be walked again. */
static void invalidate_ctx(gpusim_world_t *w, gpusim_gpu_ctx_t *c, int k)
{
    (void)w;
    (void)k;
    ASSERT_OK(gpusim_gpu_tlb_invalidate_ctx(c, NULL));
}

/* An invalidation half-way through a replayed kernel stops the replay there: the kernel's second
 * half is simulated (it walks again), so it ends later than undisturbed and close to the simulated
 * kernel with the same invalidation; the kernels after it are simulated until steady again. */
static void test_replay_interrupted(void **state)
{
    series calm, fast, full;
    const int k = 9;
    gpusim_time_t diff;
    (void)state;
    run_series(true, NULL, NULL, 0, NULL, &calm);
    assert_true(calm.replayed[k]);
    run_series(false, NULL, invalidate_ctx, k, &calm, &full);
    run_series(true, NULL, invalidate_ctx, k, &calm, &fast);
    assert_true(fast.interrupts >= 1);
    assert_true(fast.dur[k] > calm.dur[k]);
    assert_true(full.dur[k] > calm.dur[k]);
    /* Where it stops is approximate (time spread evenly over the touches): within 5 %. */
    diff = fast.dur[k] > full.dur[k] ? fast.dur[k] - full.dur[k] : full.dur[k] - fast.dur[k];
    if (diff * 20 > full.dur[k])
        fail_msg("disturbed kernel: fast-forward %llu ns, simulated %llu ns",
                 (unsigned long long)fast.dur[k], (unsigned long long)full.dur[k]);
    assert_false(fast.replayed[k + 1]);
    for (int i = 0; i < k; i++)
        assert_int_equal(fast.dur[i], full.dur[i]);
    ASSERT_NO_LEAK();
}

/* Cancelling a replayed kernel, and freeing the world during one: nothing leaks, the engine is
 * idle and consistent, and the kernel after a cancelled one is simulated. */
static void test_replay_cancel(void **state)
{
    series calm;
    gpusim_world_t *w = test_world(3);
    gpusim_gpu_t *g = device(w, "4");
    gpusim_gpu_ctx_t *c;
    jobrec j;
    uint64_t ff;
    (void)state;
    run_series(true, NULL, NULL, 0, NULL, &calm);
    ASSERT_OK(gpusim_gpu_ctx_new(g, NULL, &c));
    map_scattered(c, 0);
    for (int k = 0; k < 9; k++) {
        gpusim_time_t t0;
        kernel(&j, w, c, VA, NPAGES * PAGE, 3 * NPAGES, 256, 1, 6, 50);
        j.job.kernel.pattern = GPUSIM_PATTERN_STRIDED;
        j.job.kernel.stride = PAGE;
        t0 = gpusim_world_now(w);
        ASSERT_OK(gpusim__gpu_engine_submit(&j.job, NULL, 0));
        if (k == 7) { /* a replay (calm says so): cancel it half-way */
            assert_true(calm.replayed[k]);
            ASSERT_OK(gpusim_world_run_until(w, t0 + calm.dur[k] / 2));
            ff = stat(w, "gpu.gpu0.engine.ff_kernels");
            ASSERT_OK(gpusim__gpu_engine_cancel(&j.job));
            check_idle(g);
            continue;
        }
        if (k == 8) { /* leave it running, replayed or not, and free the world */
            ASSERT_OK(gpusim_world_run_until(w, t0 + calm.dur[k] / 2));
            assert_int_equal(stat(w, "gpu.gpu0.engine.ff_kernels"), ff); /* simulated */
            break;
        }
        ASSERT_OK(gpusim_world_run(w));
        assert_int_equal(j.done, 1);
        ASSERT_OK(gpusim_world_run_until(w, gpusim_world_now(w) + 1000));
    }
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        GPUSIM_TEST(test_replay_matches_full),
        GPUSIM_TEST(test_replay_window),
        GPUSIM_TEST(test_replay_interrupted),
        GPUSIM_TEST(test_replay_cancel),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
