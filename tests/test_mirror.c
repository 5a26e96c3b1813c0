/*
 * tests/test_mirror.c -- the driver layer (gpusim/mirror.h): names and parameters, argument
 * checking, each policy running a job over a buffer coherently, and what each policy does when
 * the application unmaps memory a running job uses (the checker's verdict per policy).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "gpusim.h"
#include "core/alloc.h"
#include "mirror_util.h"

#define MIB GPUSIM_MIB

static void test_policy_names(void **state)
{
    (void)state;
    for (unsigned i = 0; i < GPUSIM_POLICY_COUNT; i++) {
        gpusim_policy_t p;
        ASSERT_OK(gpusim_policy_from_name(gpusim_policy_name((gpusim_policy_t)i), &p));
        assert_int_equal(p, i);
    }
    assert_string_equal(gpusim_policy_name(GPUSIM_POLICY_PIN_PERSISTENT), "pin-persistent");
    assert_string_equal(gpusim_policy_name(GPUSIM_POLICY_COUNT), "?");
    gpusim_policy_t p;
    ASSERT_ERR(gpusim_policy_from_name("pinned", &p), GPUSIM_ENOENT);
    ASSERT_ERR(gpusim_policy_from_name(NULL, &p), GPUSIM_EINVAL);
}

static void test_params(void **state)
{
    gpusim_driver_config_t c;
    gpusim_param_info_t pi;
    uint64_t v;
    char msg[128];
    (void)state;
    gpusim_driver_config_init(&c, GPUSIM_POLICY_FENCE_RELOAD);
    ASSERT_OK(gpusim_driver_config_get(&c, "restore_delay", &v));
    assert_int_equal(v, GPUSIM_NS_PER_MS);
    ASSERT_OK(gpusim_driver_config_set(&c, "restore_delay", "5ms", false, msg, sizeof msg));
    ASSERT_OK(gpusim_driver_config_get(&c, "restore_delay", &v));
    assert_int_equal(v, 5 * GPUSIM_NS_PER_MS);
    ASSERT_ERR(gpusim_driver_config_set(&c, "restore_delay", "100s", false, msg, sizeof msg),
               GPUSIM_ERANGE);
    ASSERT_ERR(gpusim_driver_config_set(&c, "nope", "1", false, msg, sizeof msg), GPUSIM_ENOENT);
    ASSERT_ERR(gpusim_driver_config_set(&c, "prefetch_threshold", "x", false, msg, sizeof msg),
               GPUSIM_EINVAL);
    ASSERT_OK(gpusim_driver_config_get(&c, "restore_delay", &v));
    assert_int_equal(v, 5 * GPUSIM_NS_PER_MS); /* failed sets changed nothing */
    for (size_t i = 0; gpusim_driver_param_info(i, &pi) == 0; i++) {
        assert_non_null(pi.source);
        assert_true(pi.def >= pi.min && pi.def <= pi.max);
    }
}

static void test_bad_arguments(void **state)
{
    mfx f;
    gpusim_buffer_t *b = NULL;
    gpusim_driver_t *d2;
    gpusim_driver_config_t c;
    gpusim_job_desc_t j;
    call cb = {0};
    uint64_t va;
    (void)state;
    mfx_init(&f, 64 * MIB, GPUSIM_POLICY_REFAULT, NULL);
    va = mfx_mmap(&f, 0, 64 * MPAGE, 0);
    gpusim_driver_config_init(&c, GPUSIM_POLICY_COUNT);
    ASSERT_ERR(gpusim_driver_new(f.g, f.p, &c, &d2), GPUSIM_EINVAL);
    gpusim_driver_config_init(&c, GPUSIM_POLICY_PIN);
    c.name = "Bad-Name";
    ASSERT_ERR(gpusim_driver_new(f.g, f.p, &c, &d2), GPUSIM_EINVAL);
    c.name = gpusim_driver_name(f.d);
    ASSERT_ERR(gpusim_driver_new(f.g, f.p, &c, &d2), GPUSIM_EEXIST);
    ASSERT_ERR(gpusim_driver_new(NULL, f.p, &c, &d2), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_driver_register(f.d, va + 1, MPAGE, 0, &b, call_cb, &cb), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_driver_register(f.d, va, 0, 0, &b, call_cb, &cb), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_driver_register(f.d, va, MPAGE, 8, &b, call_cb, &cb), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_driver_register(f.d, UINT64_MAX - MPAGE + 1, MPAGE, 0, &b, call_cb, &cb),
               GPUSIM_EINVAL);
    b = mfx_register(&f, va, 32 * MPAGE);
    ASSERT_ERR(gpusim_driver_register(f.d, va + 31 * MPAGE, 2 * MPAGE, 0, &b, call_cb, &cb),
               GPUSIM_EEXIST);
    j = mfx_kernel(b, 1, 100);
    j.kernel.buffer_bytes = 33 * MPAGE; /* past the buffer */
    ASSERT_ERR(gpusim_driver_submit(f.d, &j, call_cb, &cb), GPUSIM_EINVAL);
    j = mfx_kernel(b, 1, 100);
    j.nbuffers = 0;
    ASSERT_ERR(gpusim_driver_submit(f.d, &j, call_cb, &cb), GPUSIM_EINVAL);
    j = mfx_kernel(b, 1, 100);
    j.buffers[1] = b;
    j.nbuffers = 2; /* the same buffer twice */
    ASSERT_ERR(gpusim_driver_submit(f.d, &j, call_cb, &cb), GPUSIM_EINVAL);
    j = mfx_kernel(b, 0, 100); /* zero passes: a bad kernel */
    ASSERT_ERR(gpusim_driver_submit(f.d, &j, call_cb, &cb), GPUSIM_EINVAL);
    assert_int_equal(cb.done, 0);
    assert_int_equal(mfx_info(&f).jobs_submitted, 0);
    ASSERT_ERR(gpusim_driver_free(NULL), GPUSIM_EINVAL);
    mfx_check(&f);
    ASSERT_OK(gpusim_driver_free(f.d));
    f.d = NULL;
    mfx_check(&f);
    mfx_free(&f);
}

/* Each policy runs a job over a populated buffer: it completes, the checker saw every access
 * and no violation, and the policy did its work (pins, validations, faults). */
static void run_one(gpusim_policy_t pol)
{
    mfx f;
    gpusim_buffer_t *b;
    gpusim_job_desc_t j;
    gpusim_driver_info_t i;
    call c = {0};
    uint64_t va;
    mfx_init(&f, 64 * MIB, pol, NULL);
    b = mfx_buffer(&f, 64, &va);
    j = mfx_kernel(b, 3, 100);
    ASSERT_OK(gpusim_driver_submit(f.d, &j, call_cb, &c));
    ASSERT_OK(mfx_wait(&f, &c));
    assert_int_equal(c.result, 1); /* the job id */
    mfx_check(&f);
    i = mfx_info(&f);
    assert_int_equal(i.jobs_completed, 1);
    assert_true(i.checked >= 64); /* at least the first pass, access by access */
    assert_int_equal(i.use_after_free, 0);
    assert_int_equal(i.stale, 0);
    switch (pol) {
    case GPUSIM_POLICY_PIN:
        assert_int_equal(i.pins, 64);
        assert_int_equal(i.unpins, 64);
        assert_int_equal(i.pinned_pages, 0);
        assert_int_equal(i.pinned_pages_peak, 64);
        break;
    case GPUSIM_POLICY_PIN_PERSISTENT:
        assert_int_equal(i.pins, 64);
        assert_int_equal(i.pinned_pages, 64);
        break;
    case GPUSIM_POLICY_REFAULT:
        assert_true(i.faults > 0 && i.faults < 64); /* the prefetcher grows the granule */
        assert_int_equal(i.pages_mapped, 64);
        break;
    default:
        assert_int_equal(i.pages_validated, 64);
        assert_int_equal(i.pages_mapped, 64);
        assert_int_equal(i.faults, 0);
        break;
    }
    mfx_free(&f);
}

static void test_job_each_policy(void **state)
{
    (void)state;
    for (unsigned p = 0; p < GPUSIM_POLICY_COUNT; p++)
        run_one((gpusim_policy_t)p);
}

/* The application unmaps a buffer while a 64 ms job uses it. What each policy does, and what the
 * checker sees: the design brief §7's expectations, policy by policy. */
static void unmap_running(gpusim_policy_t pol)
{
    mfx f;
    gpusim_buffer_t *b;
    gpusim_job_desc_t j;
    gpusim_driver_info_t i;
    call job = {0}, um = {0};
    uint64_t va;
    gpusim_time_t t0, t_unmap;
    mfx_init(&f, 64 * MIB, pol, NULL);
    b = mfx_buffer(&f, 64, &va);
    j = mfx_kernel(b, 1000, 1000); /* 1000 passes x 64 touches x 1 us */
    job.w = um.w = f.w;
    t0 = gpusim_world_now(f.w);
    ASSERT_OK(gpusim_driver_submit(f.d, &j, call_cb, &job));
    ASSERT_OK(gpusim_world_run_until(f.w, t0 + 10 * GPUSIM_NS_PER_MS));
    assert_int_equal(job.done, 0);
    t_unmap = gpusim_world_now(f.w);
    ASSERT_OK(gpusim_process_munmap(f.p, va, 64 * MPAGE, call_cb, &um));
    (void)mfx_wait(&f, &job);
    ASSERT_OK(mfx_wait(&f, &um));
    mfx_check(&f);
    i = mfx_info(&f);
    switch (pol) {
    case GPUSIM_POLICY_NONE:
        assert_int_equal(job.status, 0);
        assert_true(i.use_after_free > 0); /* the checker can fail */
        break;
    case GPUSIM_POLICY_PIN:
    case GPUSIM_POLICY_PIN_PERSISTENT:
        /* The pinned frames stay with the GPU: stale, never freed. munmap did not wait. */
        assert_int_equal(job.status, 0);
        assert_int_equal(i.use_after_free, 0);
        assert_true(i.stale > 0);
        assert_true(um.at < t_unmap + GPUSIM_NS_PER_MS);
        break;
    case GPUSIM_POLICY_FENCE_WAIT:
        /* munmap waited for the job: it ended first, and nothing was violated. */
        assert_int_equal(job.status, 0);
        assert_true(um.at >= job.at);
        assert_true(i.blocked_ns[GPUSIM_INVALIDATOR_SYSCALL] >= job.at - t_unmap);
        assert_int_equal(i.use_after_free + i.stale, 0);
        break;
    case GPUSIM_POLICY_FENCE_RELOAD:
    case GPUSIM_POLICY_REFAULT:
        /* munmap waited for the preemption (or the TLB invalidation) only; the job then touched
         * unmapped memory: its context was killed, and nothing was violated. */
        assert_int_equal(job.status, GPUSIM_ECTXKILLED);
        assert_true(um.at < t_unmap + GPUSIM_NS_PER_MS);
        assert_int_equal(gpusim_gpu_ctx_error(gpusim_driver_ctx(f.d)), GPUSIM_EGPUFAULT);
        assert_int_equal(i.use_after_free + i.stale, 0);
        assert_true(i.blocked_ns[GPUSIM_INVALIDATOR_SYSCALL] > 0);
        break;
    default:
        break;
    }
    mfx_free(&f);
}

static void test_unmap_running_job(void **state)
{
    (void)state;
    for (unsigned p = 0; p < GPUSIM_POLICY_COUNT; p++)
        unmap_running((gpusim_policy_t)p);
}

/* Data mode: the CPU drops a page (MADV_DONTNEED) and writes new bytes where it was, then a job
 * reads the buffer. Under pin-persistent the GPU still reads the pinned frame: stale, and its
 * bytes differ from what the CPU wrote (data_mismatch). Under refault the GPU refaults the new
 * page: nothing to report. */
static void dontneed_then_write(gpusim_policy_t pol, uint64_t *stale, uint64_t *mismatch)
{
    mfx f;
    gpusim_host_config_t hc;
    gpusim_process_config_t pc;
    gpusim_driver_config_t dc;
    gpusim_buffer_t *b;
    gpusim_job_desc_t j;
    gpusim_driver_info_t i;
    call c = {0}, m = {0};
    uint8_t bytes[16 * 4096];
    uint64_t va;
    memset(&f, 0, sizeof f);
    f.w = test_world(1);
    gpusim_host_config_init(&hc);
    hc.ram_bytes = 64 * MIB;
    hc.swap_bytes = 0;
    hc.khugepaged = false;
    hc.data_mode = true;
    ASSERT_OK(gpusim_host_new(f.w, &hc, &f.h));
    gpusim_process_config_init(&pc);
    ASSERT_OK(gpusim_process_new(f.h, &pc, &f.p));
    ASSERT_OK(gpusim_gpu_new(f.w, NULL, &f.g));
    gpusim_driver_config_init(&dc, pol);
    ASSERT_OK(gpusim_driver_new(f.g, f.p, &dc, &f.d));
    va = mfx_mmap(&f, 0, 16 * MPAGE, 0);
    memset(bytes, 0xaa, sizeof bytes);
    ASSERT_OK(
        gpusim_process_access(f.p, va, sizeof bytes, GPUSIM_ACCESS_WRITE, bytes, call_cb, &c));
    ASSERT_OK(mfx_wait(&f, &c));
    b = mfx_register(&f, va, 16 * MPAGE);
    ASSERT_OK(gpusim_process_madvise(f.p, va, 4 * MPAGE, GPUSIM_MADV_DONTNEED, call_cb, &m));
    ASSERT_OK(mfx_wait(&f, &m));
    memset(bytes, 0x55, sizeof bytes);
    memset(&c, 0, sizeof c);
    ASSERT_OK(
        gpusim_process_access(f.p, va, sizeof bytes, GPUSIM_ACCESS_WRITE, bytes, call_cb, &c));
    ASSERT_OK(mfx_wait(&f, &c));
    j = mfx_kernel(b, 2, 100);
    j.kernel.write_pct = 0; /* reads only: the data comparison is for reads */
    memset(&c, 0, sizeof c);
    ASSERT_OK(gpusim_driver_submit(f.d, &j, call_cb, &c));
    ASSERT_OK(mfx_wait(&f, &c));
    mfx_check(&f);
    i = mfx_info(&f);
    assert_int_equal(i.use_after_free, 0);
    *stale = i.stale;
    *mismatch = i.data_mismatch;
    mfx_free(&f);
}

static void test_data_mode_mismatch(void **state)
{
    uint64_t stale, mismatch;
    (void)state;
    dontneed_then_write(GPUSIM_POLICY_PIN_PERSISTENT, &stale, &mismatch);
    assert_true(stale >= 4); /* each of the four dropped pages, at least once */
    assert_true(mismatch >= 4);
    assert_true(mismatch <= stale);
    dontneed_then_write(GPUSIM_POLICY_REFAULT, &stale, &mismatch);
    assert_int_equal(stale, 0);
    assert_int_equal(mismatch, 0);
}

/* fence-reload when preemption is not available: with preempt = 0 an invalidation waits for the
 * jobs (munmap ends after the job, no eviction); with a preemption that cannot finish in time the
 * device is reset, the job's context dies, and the invalidation goes on at once. */
static void reload_degraded(bool no_preempt)
{
    mfx f;
    gpusim_driver_config_t dc;
    gpusim_gpu_config_t gc;
    gpusim_buffer_t *b;
    gpusim_job_desc_t j;
    gpusim_driver_info_t i;
    call job = {0}, um = {0};
    uint64_t va;
    gpusim_time_t t_unmap;
    gpusim_driver_config_init(&dc, GPUSIM_POLICY_FENCE_RELOAD);
    gpusim_gpu_config_init(&gc);
    if (no_preempt)
        ASSERT_OK(gpusim_driver_config_set(&dc, "preempt", "0", false, NULL, 0));
    else /* shorter than the state save: every preemption times out */
        ASSERT_OK(gpusim_gpu_config_set(&gc, "queue_preempt_timeout", "10us", true, NULL, 0));
    mfx_init_gpu(&f, 64 * MIB, GPUSIM_POLICY_FENCE_RELOAD, &dc, &gc);
    b = mfx_buffer(&f, 64, &va);
    j = mfx_kernel(b, 1000, 1000);
    job.w = um.w = f.w;
    ASSERT_OK(gpusim_driver_submit(f.d, &j, call_cb, &job));
    ASSERT_OK(gpusim_world_run_until(f.w, gpusim_world_now(f.w) + 10 * GPUSIM_NS_PER_MS));
    t_unmap = gpusim_world_now(f.w);
    ASSERT_OK(gpusim_process_munmap(f.p, va, 64 * MPAGE, call_cb, &um));
    (void)mfx_wait(&f, &job);
    ASSERT_OK(mfx_wait(&f, &um));
    mfx_check(&f);
    i = mfx_info(&f);
    assert_int_equal(i.use_after_free + i.stale, 0);
    if (no_preempt) {
        assert_int_equal(job.status, 0);
        assert_true(um.at >= job.at);
        assert_int_equal(i.evictions, 0);
    } else {
        assert_int_equal(i.evictions, 1);
        assert_int_not_equal(job.status, 0);
        assert_int_equal(gpusim_gpu_ctx_error(gpusim_driver_ctx(f.d)), GPUSIM_ETIMEDOUT);
        assert_true(um.at < t_unmap + GPUSIM_NS_PER_MS);
    }
    mfx_free(&f);
}

static void test_fence_reload_degraded(void **state)
{
    (void)state;
    reload_degraded(true);
    reload_degraded(false);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        GPUSIM_TEST(test_policy_names),          GPUSIM_TEST(test_params),
        GPUSIM_TEST(test_bad_arguments),         GPUSIM_TEST(test_job_each_policy),
        GPUSIM_TEST(test_unmap_running_job),     GPUSIM_TEST(test_data_mode_mismatch),
        GPUSIM_TEST(test_fence_reload_degraded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
