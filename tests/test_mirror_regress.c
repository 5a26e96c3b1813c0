/*
 * tests/test_mirror_regress.c -- regressions found by the randomized property test
 * (test_mirror_random), each reduced to the smallest run that showed it. Each failed before its
 * fix.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "gpusim.h"
#include "core/alloc.h"
#include "mirror/mirror.h"
#include "mirror_util.h"

#define MIB GPUSIM_MIB

/* refault maps a THP-backed buffer page by page: neighbours merge into 64 KiB fragments while
 * 4 KiB TLB entries of the same translations stay cached. Those are not stale (gpu/tlb.c). */
static void test_refault_fragment_tlb(void **state)
{
    mfx f;
    gpusim_buffer_t *b;
    gpusim_job_desc_t j;
    call c = {0}, m = {0};
    uint64_t va;
    (void)state;
    mfx_init(&f, 64 * MIB, GPUSIM_POLICY_REFAULT, NULL);
    va = mfx_mmap(&f, 0x7e0000000000, 2 * MIB, GPUSIM_MAP_FIXED);
    ASSERT_OK(gpusim_process_madvise(f.p, va, 2 * MIB, GPUSIM_MADV_HUGEPAGE, call_cb, &m));
    ASSERT_OK(mfx_wait(&f, &m));
    ASSERT_OK(mfx_touch(&f, va, 2 * MIB));
    b = mfx_register(&f, va, 64 * MPAGE);
    j = mfx_kernel(b, 1, 100);
    ASSERT_OK(gpusim_driver_submit(f.d, &j, call_cb, &c));
    ASSERT_OK(mfx_wait(&f, &c));
    mfx_check(&f);
    mfx_free(&f);
}

/* pin: the driver's invariants hold after every event, also while a job's pin is in flight. */
static void test_pin_check_in_flight(void **state)
{
    mfx f;
    gpusim_buffer_t *b;
    gpusim_job_desc_t j;
    call c = {0};
    uint64_t va;
    char msg[256];
    (void)state;
    mfx_init(&f, 64 * MIB, GPUSIM_POLICY_PIN, NULL);
    b = mfx_buffer(&f, 64, &va);
    j = mfx_kernel(b, 1, 100);
    ASSERT_OK(gpusim_driver_submit(f.d, &j, call_cb, &c));
    while (!c.done && gpusim_world_pending(f.w) > 0) {
        assert_true(gpusim_world_run_events(f.w, 1) >= 0);
        if (gpusim_driver_check(f.d, msg, sizeof msg))
            fail_msg("driver check at %llu: %s", (unsigned long long)gpusim_world_now(f.w), msg);
    }
    ASSERT_OK(c.status);
    mfx_free(&f);
}

/* fence-reload: the process exits while a job runs. The restore worker finds the process gone
 * (range_fault refuses at once with ESRCH): the buffer counts as restored without a mapping, the
 * queues resume, the job ends (killed by its fault), and the world drains. It used to retry
 * every restore_delay for ever. */
static void test_reload_exit(void **state)
{
    mfx f;
    gpusim_buffer_t *b;
    gpusim_job_desc_t j;
    call c = {0}, ex = {0};
    uint64_t va;
    (void)state;
    mfx_init(&f, 64 * MIB, GPUSIM_POLICY_FENCE_RELOAD, NULL);
    b = mfx_buffer(&f, 64, &va);
    j = mfx_kernel(b, 1000, 1000);
    ASSERT_OK(gpusim_driver_submit(f.d, &j, call_cb, &c));
    ASSERT_OK(gpusim_world_run_until(f.w, gpusim_world_now(f.w) + 10 * GPUSIM_NS_PER_MS));
    ASSERT_OK(gpusim_process_exit(f.p, call_cb, &ex));
    ASSERT_OK(gpusim_world_run_until(f.w, gpusim_world_now(f.w) + 1000 * GPUSIM_NS_PER_MS));
    assert_int_equal(c.done, 1);
    assert_int_equal(ex.done, 1);
    assert_true(mfx_info(&f).restore_retries < 3);
    assert_int_equal(mfx_info(&f).use_after_free, 0);
    mfx_check(&f);
    mfx_free(&f);
}

/* fence-wait: munmap [8, 24) waits for a running job; mprotect [16, 32) waits too. The munmap
 * completes first; the mprotect resumes at page 16, finds a hole and ends with ENOMEM -- it used
 * to leave its announcement open (host/mm.c parts_step), so the domain stayed odd and every later
 * read_begin waited for ever. */
static void test_mprotect_hole_closes_invalidation(void **state)
{
    mfx f;
    gpusim_buffer_t *b;
    gpusim_job_desc_t j;
    call c = {0}, um = {0}, mp = {0};
    uint64_t va;
    gpusim_notifier_t *n;
    (void)state;
    mfx_init(&f, 64 * MIB, GPUSIM_POLICY_FENCE_WAIT, NULL);
    b = mfx_buffer(&f, 64, &va);
    n = gpusim_process_notifier(f.p);
    j = mfx_kernel(b, 100, 1000);
    ASSERT_OK(gpusim_driver_submit(f.d, &j, call_cb, &c));
    ASSERT_OK(gpusim_world_run_until(f.w, gpusim_world_now(f.w) + GPUSIM_NS_PER_MS));
    ASSERT_OK(gpusim_process_munmap(f.p, va + 8 * MPAGE, 16 * MPAGE, call_cb, &um));
    ASSERT_OK(gpusim_world_run_until(f.w, gpusim_world_now(f.w) + 10000));
    ASSERT_OK(
        gpusim_process_mprotect(f.p, va + 16 * MPAGE, 16 * MPAGE, GPUSIM_PROT_READ, call_cb, &mp));
    ASSERT_OK(mfx_wait(&f, &c));
    ASSERT_OK(mfx_wait(&f, &um));
    ASSERT_ERR(mfx_wait(&f, &mp), GPUSIM_ENOMEM);
    assert_int_equal(gpusim_notifier_active(n), 0);
    assert_int_equal(gpusim_notifier_seq(n) & 1, 0);
    mfx_check(&f);
    mfx_free(&f);
}

/* A context killed after a job was written but before its doorbell rang: the device will never
 * publish its FENCE_SIGNAL, so the driver ends the job itself (it used to wait for ever). */
static void test_kill_before_doorbell(void **state)
{
    mfx f;
    gpusim_buffer_t *b;
    gpusim_job_desc_t j;
    call c = {0};
    uint64_t va;
    (void)state;
    mfx_init(&f, 64 * MIB, GPUSIM_POLICY_NONE, NULL);
    b = mfx_buffer(&f, 64, &va);
    j = mfx_kernel(b, 1, 100);
    ASSERT_OK(gpusim_driver_submit(f.d, &j, call_cb, &c));
    while (!(f.d->run_head && gpusim_event_pending(&f.d->run_head->ev)))
        assert_true(gpusim_world_run_events(f.w, 1) == 1);
    ASSERT_OK(gpusim_gpu_ctx_kill(gpusim_driver_ctx(f.d), GPUSIM_ECTXKILLED));
    ASSERT_ERR(mfx_wait(&f, &c), GPUSIM_ECTXKILLED);
    mfx_check(&f);
    mfx_free(&f);
}

/* pin: job 1's doorbell (after 1024 PTE writes) publishes job 2 too, whose own doorbell event is
 * still queued when the context is killed. Both jobs end; job 2's event must not outlive it (it
 * used to be freed with the event queued: a use-after-free under ASan). */
static void test_published_by_earlier_doorbell(void **state)
{
    mfx f;
    gpusim_buffer_t *a, *b;
    gpusim_job_desc_t j1, j2;
    call c1 = {0}, c2 = {0};
    uint64_t va;
    (void)state;
    mfx_init(&f, 64 * MIB, GPUSIM_POLICY_PIN, NULL);
    va = mfx_mmap(&f, 0, 1792 * MPAGE, 0);
    ASSERT_OK(mfx_touch(&f, va, 1792 * MPAGE));
    a = mfx_register(&f, va, 1024 * MPAGE);
    b = mfx_register(&f, va + 1024 * MPAGE, 768 * MPAGE);
    j1 = mfx_kernel(a, 1, 100);
    j2 = mfx_kernel(b, 1, 100);
    ASSERT_OK(gpusim_driver_submit(f.d, &j1, call_cb, &c1));
    ASSERT_OK(gpusim_driver_submit(f.d, &j2, call_cb, &c2));
    while (
        !(f.d->run_head && f.d->run_head->next && gpusim_event_pending(&f.d->run_head->next->ev)))
        assert_true(gpusim_world_run_events(f.w, 1) == 1);
    while (gpusim_event_pending(&f.d->run_head->ev))
        assert_true(gpusim_world_run_events(f.w, 1) == 1);
    ASSERT_OK(gpusim_gpu_ctx_kill(gpusim_driver_ctx(f.d), GPUSIM_ECTXKILLED));
    ASSERT_ERR(mfx_wait(&f, &c1), GPUSIM_ECTXKILLED);
    ASSERT_ERR(mfx_wait(&f, &c2), GPUSIM_ECTXKILLED);
    assert_int_equal(mfx_info(&f).pinned_pages, 0);
    mfx_check(&f);
    mfx_free(&f);
}

/* pin: job 1 runs on buffer A (its pins P1). The application replaces A's memory (P2). Job 2
 * names A and B, and B's pin fails (unmapped). Job 2 used to map A as soon as A was pinned, then
 * fail on B and release P2 -- leaving job 1's PTEs on P2, which a second munmap then freed under
 * the running job 1 (use-after-free). Buffers are now mapped only once all are pinned. */
static void test_pin_failed_job_maps_nothing(void **state)
{
    mfx f;
    gpusim_buffer_t *a, *b;
    gpusim_job_desc_t j1, j2;
    call c1 = {0}, c2 = {0};
    uint64_t va;
    (void)state;
    mfx_init(&f, 64 * MIB, GPUSIM_POLICY_PIN, NULL);
    va = mfx_mmap(&f, 0, 32 * MPAGE, 0);
    ASSERT_OK(mfx_touch(&f, va, 32 * MPAGE));
    a = mfx_register(&f, va, 16 * MPAGE);
    b = mfx_register(&f, va + 16 * MPAGE, 16 * MPAGE);
    j1 = mfx_kernel(a, 1000, 1000);
    ASSERT_OK(gpusim_driver_submit(f.d, &j1, call_cb, &c1));
    ASSERT_OK(gpusim_world_run_until(f.w, gpusim_world_now(f.w) + GPUSIM_NS_PER_MS));
    ASSERT_OK(mfx_munmap(&f, va + 16 * MPAGE, 16 * MPAGE)); /* B's memory is gone */
    ASSERT_OK(mfx_munmap(&f, va, 16 * MPAGE));
    assert_int_equal(mfx_mmap(&f, va, 16 * MPAGE, GPUSIM_MAP_FIXED), va);
    ASSERT_OK(mfx_touch(&f, va, 16 * MPAGE)); /* A's new frames */
    j2 = mfx_kernel(a, 1, 100);
    j2.buffers[1] = b;
    j2.nbuffers = 2;
    ASSERT_OK(gpusim_driver_submit(f.d, &j2, call_cb, &c2));
    ASSERT_ERR(mfx_wait(&f, &c2), GPUSIM_EFAULT);
    ASSERT_OK(mfx_munmap(&f, va, 16 * MPAGE)); /* frees A's new frames */
    ASSERT_OK(mfx_wait(&f, &c1));
    assert_int_equal(mfx_info(&f).use_after_free, 0);
    assert_true(mfx_info(&f).stale > 0); /* job 1 reads its pinned P1: stale, as pinning is */
    mfx_check(&f);
    mfx_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        GPUSIM_TEST(test_refault_fragment_tlb),
        GPUSIM_TEST(test_pin_check_in_flight),
        GPUSIM_TEST(test_reload_exit),
        GPUSIM_TEST(test_mprotect_hole_closes_invalidation),
        GPUSIM_TEST(test_kill_before_doorbell),
        GPUSIM_TEST(test_published_by_earlier_doorbell),
        GPUSIM_TEST(test_pin_failed_job_maps_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
