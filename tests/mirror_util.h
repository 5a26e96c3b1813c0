/*
 * tests/mirror_util.h -- what the driver-policy suites share: a world with a host, one process,
 * one GPU and one driver, synchronous wrappers for the asynchronous calls, job descriptors, and
 * the consistency checks every test makes (host, GPU, driver). Include after test_util.h.
 */
#ifndef GPUSIM_TESTS_MIRROR_UTIL_H
#define GPUSIM_TESTS_MIRROR_UTIL_H

#include "host_util.h"

#define MPAGE GPUSIM_HOST_PAGE_SIZE

typedef struct mfx {
    gpusim_world_t *w;
    gpusim_host_t *h;
    gpusim_process_t *p;
    gpusim_gpu_t *g;
    gpusim_driver_t *d;
} mfx;

/* The host configuration mfx_init uses: `ram` bytes, 16 MiB swap, THP on madvise, no khugepaged.
 * Change fields (data_mode, swap_bytes, ...) before mfx_init_cfg. */
static inline void mfx_host_config(gpusim_host_config_t *hc, uint64_t ram)
{
    gpusim_host_config_init(hc);
    hc->ram_bytes = ram;
    hc->swap_bytes = 16 * GPUSIM_MIB;
    hc->khugepaged = false;
}

/* A world (seed 1) with a host configured by `hc`, a process, a GPU configured by `gc` (NULL: the
 * defaults) and a driver of `policy` (`dcfg` NULL: its defaults). */
static inline void mfx_init_cfg(mfx *f, const gpusim_host_config_t *hc,
                                const gpusim_gpu_config_t *gc, gpusim_policy_t policy,
                                const gpusim_driver_config_t *dcfg)
{
    gpusim_process_config_t pc;
    gpusim_driver_config_t dc;
    memset(f, 0, sizeof *f);
    f->w = test_world(1);
    ASSERT_OK(gpusim_host_new(f->w, hc, &f->h));
    gpusim_process_config_init(&pc);
    ASSERT_OK(gpusim_process_new(f->h, &pc, &f->p));
    ASSERT_OK(gpusim_gpu_new(f->w, gc, &f->g));
    if (!dcfg) {
        gpusim_driver_config_init(&dc, policy);
        dcfg = &dc;
    }
    ASSERT_OK(gpusim_driver_new(f->g, f->p, dcfg, &f->d));
}

/* A world (seed 1) with a host of `ram` bytes (16 MiB swap, THP on madvise, no khugepaged), a
 * process, a GPU (`gcfg`, NULL: the defaults) and a driver of `policy` (`dcfg` may be NULL). */
static inline void mfx_init_gpu(mfx *f, uint64_t ram, gpusim_policy_t policy,
                                const gpusim_driver_config_t *dcfg, const gpusim_gpu_config_t *gcfg)
{
    gpusim_host_config_t hc;
    mfx_host_config(&hc, ram);
    mfx_init_cfg(f, &hc, gcfg, policy, dcfg);
}

static inline void mfx_init(mfx *f, uint64_t ram, gpusim_policy_t policy,
                            const gpusim_driver_config_t *dcfg)
{
    mfx_init_gpu(f, ram, policy, dcfg, NULL);
}

/* Fails unless the host, the GPU and the driver are consistent. */
static inline void mfx_check(const mfx *f)
{
    char msg[256];
    host_check_ok(f->h);
    if (gpusim_gpu_check(f->g, msg, sizeof msg))
        fail_msg("gpu check: %s", msg);
    if (f->d && gpusim_driver_check(f->d, msg, sizeof msg))
        fail_msg("driver check: %s", msg);
}

static inline void mfx_free(mfx *f)
{
    gpusim_world_free(f->w);
    ASSERT_NO_LEAK();
}

/* Runs until the call has completed (bounded: an hour of virtual time); returns its status. */
static inline int mfx_wait(mfx *f, call *c)
{
    gpusim_time_t limit = gpusim_world_now(f->w) + 3600 * GPUSIM_NS_PER_S;
    while (!c->done && gpusim_world_pending(f->w) > 0 && gpusim_world_now(f->w) < limit)
        assert_true(gpusim_world_run_events(f->w, 1) >= 0);
    assert_int_equal(c->done, 1);
    return c->status;
}

/* mmap (anonymous, private, read-write) at `addr` (0: anywhere) with `flags` added; returns it. */
static inline uint64_t mfx_mmap(mfx *f, uint64_t addr, uint64_t len, unsigned flags)
{
    call c = {0};
    ASSERT_OK(gpusim_process_mmap(f->p, addr, len, GPUSIM_PROT_READ | GPUSIM_PROT_WRITE,
                                  GPUSIM_MAP_PRIVATE | flags, NULL, 0, call_cb, &c));
    ASSERT_OK(mfx_wait(f, &c));
    return c.result;
}

static inline int mfx_munmap(mfx *f, uint64_t addr, uint64_t len)
{
    call c = {0};
    ASSERT_OK(gpusim_process_munmap(f->p, addr, len, call_cb, &c));
    return mfx_wait(f, &c);
}

/* CPU write of every page of [addr, addr + len). */
static inline int mfx_touch(mfx *f, uint64_t addr, uint64_t len)
{
    call c = {0};
    ASSERT_OK(gpusim_process_access(f->p, addr, len, GPUSIM_ACCESS_WRITE, NULL, call_cb, &c));
    return mfx_wait(f, &c);
}

/* Registers [va, va + len) writable and waits for the registration. */
static inline gpusim_buffer_t *mfx_register(mfx *f, uint64_t va, uint64_t len)
{
    gpusim_buffer_t *b = NULL;
    call c = {0};
    ASSERT_OK(gpusim_driver_register(f->d, va, len, GPUSIM_BUFFER_WRITE, &b, call_cb, &c));
    ASSERT_OK(mfx_wait(f, &c));
    return b;
}

/* A populated buffer: mmap `pages` pages anywhere, write every page, register them writable.
 * Sets *va (may be NULL). */
static inline gpusim_buffer_t *mfx_buffer(mfx *f, uint64_t pages, uint64_t *va)
{
    uint64_t a = mfx_mmap(f, 0, pages * MPAGE, 0);
    ASSERT_OK(mfx_touch(f, a, pages * MPAGE));
    if (va)
        *va = a;
    return mfx_register(f, a, pages * MPAGE);
}

/* A job: a kernel sweeping the buffer in order `passes` times, one 64-byte touch per page, with
 * `compute_ns` of compute per touch and 25 % writes. */
static inline gpusim_job_desc_t mfx_kernel(gpusim_buffer_t *b, uint32_t passes, uint32_t compute_ns)
{
    gpusim_job_desc_t j;
    uint64_t va, len;
    memset(&j, 0, sizeof j);
    ASSERT_OK(gpusim_buffer_range(b, &va, &len));
    j.kind = GPUSIM_JOB_DISPATCH;
    j.kernel.pattern = GPUSIM_PATTERN_STRIDED;
    j.kernel.stride = MPAGE;
    j.kernel.buffer_va = va;
    j.kernel.buffer_bytes = len;
    j.kernel.passes = passes;
    j.kernel.touches_per_pass = len / MPAGE;
    j.kernel.bytes_per_touch = 64;
    j.kernel.compute_ns_per_touch = compute_ns;
    j.kernel.write_pct = 25;
    j.kernel.waves = 1;
    j.buffers[0] = b;
    j.nbuffers = 1;
    return j;
}

static inline gpusim_driver_info_t mfx_info(const mfx *f)
{
    gpusim_driver_info_t i;
    ASSERT_OK(gpusim_driver_info(f->d, &i));
    return i;
}

#endif /* GPUSIM_TESTS_MIRROR_UTIL_H */
