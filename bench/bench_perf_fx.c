/*
 * bench_perf_fx.c -- the world the perf measurements that need a driver build on (bench_perf.h):
 * a host, a process, a GPU and a driver, with synchronous wrappers around the asynchronous calls.
 *
 * Invariants: every wrapper runs the world only until its own call completes, so a fixture's
 * virtual time advances exactly as far as the work asked of it; an error leaves the fixture
 * freeable with perf_fx_free().
 */
#include "bench_perf.h"

#include <string.h>

void perf_fx_cb(void *data, int status, uint64_t result)
{
    perf_call *c = data;
    c->done = 1;
    c->status = status;
    c->result = result;
}

int perf_fx_new(perf_fx *f, uint64_t ram, gpusim_policy_t policy, const gpusim_driver_config_t *dc,
                bool no_driver)
{
    gpusim_host_config_t hc;
    gpusim_process_config_t pc;
    gpusim_driver_config_t def;
    int rc;
    memset(f, 0, sizeof *f);
    gpusim_host_config_init(&hc);
    hc.ram_bytes = ram;
    hc.khugepaged = false; /* no background collapse: the measured work is the only work */
    gpusim_process_config_init(&pc);
    if ((rc = gpusim_world_new(NULL, &f->w)) != 0)
        return rc;
    if ((rc = gpusim_host_new(f->w, &hc, &f->h)) != 0 ||
        (rc = gpusim_process_new(f->h, &pc, &f->p)) != 0)
        goto fail;
    if (no_driver)
        return 0;
    if (!dc) {
        gpusim_driver_config_init(&def, policy);
        dc = &def;
    }
    if ((rc = gpusim_gpu_new(f->w, NULL, &f->g)) != 0 ||
        (rc = gpusim_driver_new(f->g, f->p, dc, &f->d)) != 0)
        goto fail;
    return 0;
fail:
    perf_fx_free(f);
    return rc;
}

void perf_fx_free(perf_fx *f)
{
    gpusim_world_free(f->w); /* frees the host, GPU and driver with it */
    memset(f, 0, sizeof *f);
}

int perf_fx_wait(perf_fx *f, const int *done)
{
    while (!*done && gpusim_world_pending(f->w) > 0)
        if (gpusim_world_run_events(f->w, 1) < 0)
            return GPUSIM_EINVAL;
    return *done ? 0 : GPUSIM_EINVAL;
}

int perf_fx_populate(perf_fx *f, uint64_t bytes, uint64_t *va)
{
    perf_call m = {0}, t = {0};
    int rc = gpusim_process_mmap(f->p, 0, bytes, GPUSIM_PROT_READ | GPUSIM_PROT_WRITE,
                                 GPUSIM_MAP_PRIVATE, NULL, 0, perf_fx_cb, &m);
    if (rc || (rc = perf_fx_wait(f, &m.done)) || (rc = m.status))
        return rc;
    *va = m.result;
    rc = gpusim_process_access(f->p, *va, bytes, GPUSIM_ACCESS_WRITE, NULL, perf_fx_cb, &t);
    if (rc || (rc = perf_fx_wait(f, &t.done)))
        return rc;
    return t.status;
}

int perf_fx_register(perf_fx *f, uint64_t va, uint64_t len, gpusim_buffer_t **out)
{
    perf_call c = {0};
    int rc = gpusim_driver_register(f->d, va, len, GPUSIM_BUFFER_WRITE, out, perf_fx_cb, &c);
    if (rc || (rc = perf_fx_wait(f, &c.done)))
        return rc;
    return c.status;
}

int perf_fx_sweep(perf_fx *f, gpusim_buffer_t *b)
{
    gpusim_job_desc_t j;
    perf_call c = {0};
    uint64_t va, len;
    int rc;
    memset(&j, 0, sizeof j);
    if ((rc = gpusim_buffer_range(b, &va, &len)) != 0)
        return rc;
    j.kind = GPUSIM_JOB_DISPATCH;
    j.kernel.pattern = GPUSIM_PATTERN_STRIDED;
    j.kernel.stride = GPUSIM_HOST_PAGE_SIZE;
    j.kernel.buffer_va = va;
    j.kernel.buffer_bytes = len;
    j.kernel.passes = 1;
    j.kernel.touches_per_pass = len / GPUSIM_HOST_PAGE_SIZE;
    j.kernel.bytes_per_touch = 64;
    j.kernel.waves = 1;
    j.buffers[0] = b;
    j.nbuffers = 1;
    rc = gpusim_driver_submit(f->d, &j, perf_fx_cb, &c);
    if (rc || (rc = perf_fx_wait(f, &c.done)))
        return rc;
    return c.status;
}
