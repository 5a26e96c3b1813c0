/*
 * tests/gpu_engine_util.h -- what the engine tests (test_gpu_engine.c, test_gpu_replay.c) share:
 * a device with or without fast-forward, contiguous mappings, kernel and copy jobs that record
 * when they end, and the idle check. Include after test_util.h.
 */
#ifndef GPUSIM_TEST_GPU_ENGINE_UTIL_H
#define GPUSIM_TEST_GPU_ENGINE_UTIL_H

#include "gpu/device.h"
#include "gpu/engine.h"

#define PAGE UINT64_C(4096)
#define HUGE (UINT64_C(2) << 20)
#define VA   UINT64_C(0x7f0000000000) /* 2 MiB aligned */
#define VB   UINT64_C(0x7f4000000000)
#define RW   (GPUSIM_GPU_READ | GPUSIM_GPU_WRITE)

typedef struct jobrec {
    gpusim__gpu_job job;
    int done;
    int status;
    gpusim_time_t at;
    gpusim_world_t *w;
} jobrec;

static inline void on_done(gpusim__gpu_job *job, int status)
{
    jobrec *j = job->data;
    j->done++;
    j->status = status;
    j->at = gpusim_world_now(j->w);
}

static inline gpusim_gpu_t *device_ff(gpusim_world_t *w, const char *units, bool ff)
{
    gpusim_gpu_config_t cfg;
    gpusim_gpu_t *g;
    char msg[128];
    gpusim_gpu_config_init(&cfg);
    ASSERT_OK(gpusim_gpu_config_set(&cfg, "vram_size", "64MiB", false, msg, sizeof msg));
    if (units)
        ASSERT_OK(gpusim_gpu_config_set(&cfg, "compute_units", units, false, msg, sizeof msg));
    ASSERT_OK(
        gpusim_gpu_config_set(&cfg, "engine_fast_forward", ff ? "1" : "0", false, msg, sizeof msg));
    ASSERT_OK(gpusim_gpu_new(w, &cfg, &g));
    return g;
}

static inline gpusim_gpu_t *device(gpusim_world_t *w, const char *units)
{
    return device_ff(w, units, true);
}

/* Maps n pages at va to frames first, first + 1, ... (contiguous: fragments and 2 MiB leaves). */
static inline void map_run(gpusim_gpu_ctx_t *c, uint64_t va, uint64_t n, uint64_t first,
                           unsigned flags)
{
    static uint64_t f[1024];
    assert_true(n <= 1024);
    for (uint64_t i = 0; i < n; i++)
        f[i] = first + i;
    ASSERT_OK(gpusim_gpu_map(c, va, n * PAGE, f, flags, NULL));
}

static inline void kernel(jobrec *j, gpusim_world_t *w, gpusim_gpu_ctx_t *c, uint64_t va,
                          uint64_t bytes, uint64_t touches, uint32_t tb, uint32_t passes,
                          uint32_t waves, uint32_t compute_ns)
{
    memset(j, 0, sizeof *j);
    j->w = w;
    j->job.ctx = c;
    j->job.kind = GPUSIM__GPU_JOB_DISPATCH;
    j->job.kernel.pattern = GPUSIM_PATTERN_SEQUENTIAL;
    j->job.kernel.buffer_va = va;
    j->job.kernel.buffer_bytes = bytes;
    j->job.kernel.touches_per_pass = touches;
    j->job.kernel.bytes_per_touch = tb;
    j->job.kernel.passes = passes;
    j->job.kernel.waves = waves;
    j->job.kernel.compute_ns_per_touch = compute_ns;
    j->job.done = on_done;
    j->job.data = j;
}

static inline void copy(jobrec *j, gpusim_world_t *w, gpusim_gpu_ctx_t *c, uint64_t dst,
                        uint64_t src, uint64_t bytes)
{
    memset(j, 0, sizeof *j);
    j->w = w;
    j->job.ctx = c;
    j->job.kind = GPUSIM__GPU_JOB_COPY;
    j->job.dst = dst;
    j->job.src = src;
    j->job.bytes = bytes;
    j->job.done = on_done;
    j->job.data = j;
}

/* Invariants, and no event-queue slot kept by anything idle. */
static inline void check_idle(gpusim_gpu_t *g)
{
    char msg[256];
    if (gpusim_gpu_check(g, msg, sizeof msg))
        fail_msg("gpu check: %s", msg);
    assert_int_equal(g->world->queue.reserved, g->irq_reserved ? 1 : 0);
    assert_int_equal(gpusim__gpu_engine_free_units(g), g->p[GPUSIM__GPU_P_compute_units]);
}

static inline uint64_t stat(gpusim_world_t *w, const char *name)
{
    gpusim_stat_info_t si;
    ASSERT_OK(gpusim_stats_get(w, name, &si));
    return si.count;
}

#endif /* GPUSIM_TEST_GPU_ENGINE_UTIL_H */
