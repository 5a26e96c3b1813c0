/*
 * tests/test_sim_run.c -- the runner (sim/run.c, sim/run_activity.c): each built-in scenario
 * under every policy, determinism, each host activity's effect, and the runner's failure paths.
 *
 * Small scenarios are written inline; their figures are checked against what the activity must
 * cause (an mremap away and back is two UNMAP-class invalidations of the range, a pressure
 * process that outgrows RAM makes reclaim run, an exit ends the job streams with ESRCH ...), so
 * each test fails if the activity silently does nothing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

static sim_scenario *parse(const char *text)
{
    sim_scenario *s = malloc(sizeof *s);
    char err[512] = "";
    assert_non_null(s);
    if (sim_scenario_parse_text("t", text, s, err, sizeof err) != 0)
        fail_msg("parse: %s", err);
    return s;
}

static sim_result run(const sim_scenario *s, gpusim_policy_t p, uint64_t seed)
{
    sim_result r;
    int rc = sim_run(s, p, seed, NULL, &r);
    if (rc != 0)
        fail_msg("sim_run(%s, %s): %d", s->name, gpusim_policy_name(p), rc);
    return r;
}

/* Two records are the same run: every field but wall_time_ns. */
static void assert_same(sim_result a, sim_result b)
{
    a.wall_time_ns = b.wall_time_ns = 0;
    assert_memory_equal(&a, &b, sizeof a);
}

/* A job over one buffer that runs long enough for activities to meet it. */
#define BASE                                                                                       \
    "[scenario]\nduration = 1s\n[host]\nram = 512MiB\nswap = 256MiB\n"                             \
    "[process app]\nmemlock = unlimited\n"                                                         \
    "[buffer data]\nsize = 8MiB\n"                                                                 \
    "[job sweep]\nbuffers = data\nkernel = strided\nstride = 4KiB\nbytes_per_touch = 256\n"        \
    "compute = 1us\nwrite = 50%\nwaves = 16\nrepeat = 20\ninterval = 500us\n"

/* Every built-in scenario runs under every policy to a successful end with every expectation it
 * states met: the claims of docs/scenarios.md hold in the default build. */
static void test_builtins_every_policy(void **state)
{
    size_t n;
    const sim_builtin *b = sim_builtins(&n);
    (void)state;
    assert_int_equal(n, 7);
    for (size_t i = 0; i < n; i++) {
        sim_scenario *s = malloc(sizeof *s);
        sim_result recs[GPUSIM_POLICY_COUNT];
        char err[512] = "";
        assert_non_null(s);
        if (sim_scenario_parse_text(b[i].name, b[i].text, s, err, sizeof err) != 0)
            fail_msg("%s: %s", b[i].name, err);
        for (int p = 0; p < GPUSIM_POLICY_COUNT; p++) {
            recs[p] = run(s, (gpusim_policy_t)p, 1);
            if (recs[p].status != 0)
                fail_msg("%s/%s: %s", b[i].name, gpusim_policy_name(p), recs[p].error);
            assert_true(recs[p].sim_time_ns > 0);
            assert_true(recs[p].events > 0);
        }
        sim_expect_eval(recs, GPUSIM_POLICY_COUNT);
        for (int p = 0; p < GPUSIM_POLICY_COUNT; p++)
            for (unsigned k = 0; k < recs[p].nexpectations; k++)
                if (recs[p].expectations[k].met != 1)
                    fail_msg("%s/%s: expectation not met (%d): %s", b[i].name, recs[p].policy,
                             recs[p].expectations[k].met, recs[p].expectations[k].text);
        free(s);
    }
}

/* The same (scenario, policy, seed) gives the same record; another seed may not. */
static void test_deterministic(void **state)
{
    sim_scenario *s = parse(BASE "[job rand]\nbuffers = data\nkernel = random\n"
                                 "bytes_per_touch = 64\ntouches = 512\ncompute = 1us\nrepeat = 3\n"
                                 "[activity c]\ntype = churn\nbuffer = data\nlength = 64KiB\n"
                                 "at = 1ms\nevery = 2ms\ncount = 3\n");
    (void)state;
    for (int p = 0; p < GPUSIM_POLICY_COUNT; p++)
        assert_same(run(s, (gpusim_policy_t)p, 7), run(s, (gpusim_policy_t)p, 7));
    free(s);
}

/* Expectations are listed for the policies they name, unevaluated. */
static void test_expectations_listed(void **state)
{
    sim_scenario *s = parse(BASE "[expect]\ncheck = pin: gpu.faults == 0\n"
                                 "check = *: checker.use_after_free == 0\n");
    sim_result r;
    (void)state;
    r = run(s, GPUSIM_POLICY_PIN, 1);
    assert_int_equal(r.nexpectations, 2);
    assert_int_equal(r.expectations[0].met, -1);
    assert_string_equal(r.expectations[0].text, "pin: gpu.faults == 0");
    r = run(s, GPUSIM_POLICY_REFAULT, 1);
    assert_int_equal(r.nexpectations, 1);
    assert_string_equal(r.expectations[0].text, "*: checker.use_after_free == 0");
    free(s);
}

/* mremap away and back: the range is unmapped twice (the move and the move back). */
static void test_activity_mremap(void **state)
{
    sim_scenario *s = parse(BASE "[activity m]\ntype = mremap\nbuffer = data\noffset = 1MiB\n"
                                 "length = 1MiB\nhold = 1ms\nat = 2ms\n");
    sim_result r;
    (void)state;
    r = run(s, GPUSIM_POLICY_REFAULT, 1);
    assert_int_equal(r.status, 0);
    assert_true(r.notifier.blocked_by[GPUSIM_INVALIDATOR_SYSCALL].count >= 2);
    assert_int_equal(r.checker.use_after_free + r.checker.stale, 0);
    free(s);
    /* Without protection, a kernel running across the move keeps using the moved frames while
     * the CPU maps them elsewhere: the checker sees stale accesses. The hold outlasts a pass
     * (3.4 ms): a change interrupts the GPU's fast-forward only at the end of the pass in
     * progress, so accesses in a shorter window are charged, not checked (docs/mirror.md §4). */
    s = parse("[buffer data]\nsize = 8MiB\n[job long]\nbuffers = data\nkernel = strided\n"
              "stride = 4KiB\nbytes_per_touch = 256\ncompute = 1us\nwaves = 16\npasses = 50\n"
              "[activity m]\ntype = mremap\nbuffer = data\noffset = 1MiB\nlength = 1MiB\n"
              "hold = 10ms\nat = 2ms\n");
    r = run(s, GPUSIM_POLICY_NONE, 1);
    assert_int_equal(r.status, 0);
    assert_true(r.checker.stale > 0);
    assert_int_equal(r.checker.use_after_free, 0);
    free(s);
}

/* mprotect read-only and back, madvise(DONTNEED): each is an invalidation the driver receives. */
static void test_activity_mprotect_madvise(void **state)
{
    sim_scenario *s = parse(BASE "[activity p]\ntype = mprotect\nbuffer = data\nprot = read\n"
                                 "hold = 1ms\nat = 2ms\n"
                                 "[activity d]\ntype = madvise\nbuffer = data\nadvice = dontneed\n"
                                 "offset = 4MiB\nlength = 1MiB\nat = 5ms\n");
    sim_result r;
    (void)state;
    r = run(s, GPUSIM_POLICY_FENCE_WAIT, 1);
    assert_int_equal(r.status, 0);
    /* mprotect twice and madvise once, all system calls over the subscribed range */
    assert_true(r.notifier.blocked_by[GPUSIM_INVALIDATOR_SYSCALL].count >= 3);
    assert_int_equal(r.checker.use_after_free + r.checker.stale, 0);
    free(s);
}

/* A pressure process larger than free memory makes reclaim run and swap. */
static void test_activity_pressure(void **state)
{
    sim_scenario *s = parse(BASE "[activity hog]\ntype = pressure\nsize = 600MiB\n"
                                 "hold = 10ms\nat = 1ms\n");
    sim_result r;
    (void)state;
    r = run(s, GPUSIM_POLICY_REFAULT, 1);
    assert_int_equal(r.status, 0);
    assert_true(r.host.reclaimed_pages > 0);
    assert_true(r.host.swap_outs > 0);
    free(s);
}

/* At a rate, the writes take bytes / rate: 200 MiB at 100 MiB/s is 100 chunks of 2 MiB, 20 ms
 * apart (1.98 s from the first to the last), where faulting it in at once takes about 0.1 s; the
 * run ends once the process has held it 10 ms and exited. */
static void test_activity_pressure_rate(void **state)
{
    sim_scenario *s = parse("[scenario]\nduration = 10s\n[host]\nram = 512MiB\n"
                            "[activity hog]\ntype = pressure\nsize = 200MiB\nrate = 100MiB/s\n"
                            "hold = 10ms\n");
    sim_result r;
    (void)state;
    r = run(s, GPUSIM_POLICY_REFAULT, 1);
    assert_int_equal(r.status, 0);
    assert_true(r.sim_time_ns >= 1990 * GPUSIM_NS_PER_MS);
    assert_true(r.sim_time_ns < 2500 * GPUSIM_NS_PER_MS);
    free(s);
}

/* Fork with writes: copy-on-write breaks in both; under pin-persistent the pinned pages are copied
 * for the child at fork, so the GPU's view stays the parent's. */
static void test_activity_fork(void **state)
{
    sim_scenario *s = parse(BASE "[activity f]\ntype = fork\nbuffer = data\nparent_writes = 1MiB\n"
                                 "child_writes = 1MiB\nhold = 1ms\nat = 2ms\n");
    sim_result r;
    (void)state;
    r = run(s, GPUSIM_POLICY_PIN_PERSISTENT, 1);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.checker.stale + r.checker.use_after_free, 0);
    r = run(s, GPUSIM_POLICY_REFAULT, 1);
    assert_true(r.notifier.blocked_by[GPUSIM_INVALIDATOR_FORK].count > 0);
    assert_int_equal(r.checker.stale + r.checker.use_after_free, 0);
    free(s);
}

/* The process exits under its jobs: they end (not completed), and the run ends early. */
static void test_activity_exit(void **state)
{
    sim_scenario *s = parse(BASE "[activity x]\ntype = exit\nprocess = app\nat = 3ms\n");
    sim_result r;
    (void)state;
    r = run(s, GPUSIM_POLICY_REFAULT, 1);
    assert_int_equal(r.status, 0);
    assert_true(r.gpu.jobs_completed < 20);
    assert_true(r.sim_time_ns < GPUSIM_NS_PER_S);
    assert_true(r.notifier.blocked_by[GPUSIM_INVALIDATOR_EXIT].count > 0);
    free(s);
}

/* Long names: "<gpu>_<process>" does not fit a driver name, and two pairs would cut to the same
 * 31 characters; the runner names them apart. */
static void test_driver_names(void **state)
{
    sim_scenario *s = parse("[gpu aaaaaaaaaaaaaaaaaaaa]\n"
                            "[process pppppppppppp1]\n[process pppppppppppp2]\n"
                            "[buffer b1]\nprocess = pppppppppppp1\nsize = 4KiB\n"
                            "[buffer b2]\nprocess = pppppppppppp2\nsize = 4KiB\n"
                            "[job j1]\nbuffers = b1\n[job j2]\nbuffers = b2\n");
    sim_result r;
    (void)state;
    r = run(s, GPUSIM_POLICY_REFAULT, 1);
    if (r.status != 0)
        fail_msg("%s", r.error);
    assert_int_equal(r.gpu.jobs_completed, 2);
    free(s);
}

/* A scenario the policy cannot play is a failed run with a reason, not a crash: pin-persistent
 * over the default 8 MiB memlock limit. */
static void test_registration_failure(void **state)
{
    sim_scenario *s = parse("[buffer big]\nsize = 16MiB\n[job j]\nbuffers = big\n");
    sim_result r;
    (void)state;
    r = run(s, GPUSIM_POLICY_PIN_PERSISTENT, 1);
    assert_int_not_equal(r.status, 0);
    assert_non_null(strstr(r.error, "registering"));
    assert_non_null(strstr(r.error, "big"));
    r = run(s, GPUSIM_POLICY_REFAULT, 1);
    assert_int_equal(r.status, 0);
    free(s);
}

/* The duration caps the run: an endless periodic activity ends there. */
static void test_duration_caps(void **state)
{
    sim_scenario *s = parse("[scenario]\nduration = 20ms\n[buffer b]\nsize = 64KiB\n"
                            "[job j]\nbuffers = b\n"
                            "[activity m]\ntype = madvise\nbuffer = b\nadvice = pageout\n"
                            "every = 1ms\n");
    sim_result r;
    (void)state;
    r = run(s, GPUSIM_POLICY_FENCE_WAIT, 1);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.sim_time_ns, 20 * GPUSIM_NS_PER_MS);
    free(s);
}

/* A raised stop flag abandons the run. */
static void test_stop_flag(void **state)
{
    sim_scenario *s = parse(BASE);
    atomic_int stop = 1;
    sim_run_opts opts = {.stop = &stop, .trace = NULL};
    sim_result r;
    (void)state;
    assert_int_equal(sim_run(s, GPUSIM_POLICY_PIN, 1, &opts, &r), GPUSIM_ECANCELED);
    assert_int_equal(sim_run(NULL, GPUSIM_POLICY_PIN, 1, NULL, &r), GPUSIM_EINVAL);
    assert_int_equal(sim_run(s, GPUSIM_POLICY_COUNT, 1, NULL, &r), GPUSIM_EINVAL);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtins_every_policy),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_expectations_listed),
        cmocka_unit_test(test_activity_mremap),
        cmocka_unit_test(test_activity_mprotect_madvise),
        cmocka_unit_test(test_activity_pressure),
        cmocka_unit_test(test_activity_pressure_rate),
        cmocka_unit_test(test_activity_fork),
        cmocka_unit_test(test_activity_exit),
        cmocka_unit_test(test_driver_names),
        cmocka_unit_test(test_registration_failure),
        cmocka_unit_test(test_duration_caps),
        cmocka_unit_test(test_stop_flag),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
