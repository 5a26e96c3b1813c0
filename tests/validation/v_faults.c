/*
 * tests/validation/v_faults.c -- the GPU fault checks: an isolated fault, a full fault batch, and
 * the density prefetcher against pure on-demand faulting (docs/validation.md has the arithmetic).
 *
 * All of them use the refault policy (the driver maps nothing up front and serves GPU faults in
 * batches) over host memory that the process has already written, so no host page allocation is
 * hidden in a GPU figure: what is measured is the fault path alone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "validate.h"

#define KIB   GPUSIM_KIB
#define MIB   GPUSIM_MIB
#define PAGE  GPUSIM_HOST_PAGE_SIZE
#define BLOCK GPUSIM_HOST_HUGE_SIZE /* a 2 MiB VA block */
#define BASE  (UINT64_C(1) << 32)   /* where buffers are mapped: 2 MiB aligned */

/* A kernel of one pass and one wave touching each of the `pages` pages of [va, ...) once, in
 * order (a 4-byte read at the start of each page: the kernel does as little as a sweep can). */
static gpusim_job_desc_t sweep_job(gpusim_buffer_t *b, uint64_t va, uint64_t pages)
{
    gpusim_job_desc_t j;
    memset(&j, 0, sizeof j);
    j.kind = GPUSIM_JOB_DISPATCH;
    j.kernel.pattern = GPUSIM_PATTERN_STRIDED;
    j.kernel.buffer_va = va;
    j.kernel.buffer_bytes = pages * PAGE;
    j.kernel.passes = 1;
    j.kernel.touches_per_pass = pages;
    j.kernel.bytes_per_touch = 4;
    j.kernel.stride = PAGE;
    j.kernel.waves = 1;
    j.buffers[0] = b;
    j.nbuffers = 1;
    return j;
}

/* ---- a. an isolated fault ---------------------------------------------------------------------- */

void v_fault_isolated(const v_env *env, v_result *out)
{
    gpusim_host_config_t hc;
    gpusim_gpu_config_t gc;
    gpusim_driver_config_t dc;
    gpusim_driver_info_t di;
    gpusim_buffer_t *b;
    gpusim_job_desc_t j;
    v_rig r;
    uint64_t va;
    char *err = out->error;
    size_t el = sizeof out->error;
    if (v_host_config(env, &hc, 256 * MIB, GPUSIM_THP_NEVER, err, el) ||
        v_gpu_config(env, &gc, "nvidia-h100", err, el) ||
        v_driver_config(env, &dc, GPUSIM_POLICY_REFAULT, "nvidia-h100", err, el) ||
        v_rig_new(&r, &hc, &gc, &dc, err, el))
        return;
    if (v_populate(&r, BASE, BLOCK, false, &va, NULL, err, el) ||
        v_register(&r, va, BLOCK, &b, err, el))
        goto out;
    j = sweep_job(b, va, 1);
    if (v_run_job(&r, &j, NULL, err, el))
        goto out;
    (void)gpusim_driver_info(r.d, &di);
    if (di.faults != 1 || di.fault_batches != 1) {
        snprintf(err, el, "expected 1 fault in 1 batch, got %llu in %llu",
                 (unsigned long long)di.faults, (unsigned long long)di.fault_batches);
        goto out;
    }
    out->value = (double)di.fault_stall_ns / 1e3;
    snprintf(out->detail, sizeof out->detail,
             "one read of an unmapped page, prefetch on: %llu ns from the fault to its replay "
             "(the driver's fault_stall_ns)",
             (unsigned long long)di.fault_stall_ns);
out:
    v_rig_free(&r);
}

/* ---- b. a full batch over 7 VA blocks ---------------------------------------------------------- */

#define BATCH_FAULTS  256u
#define BATCH_BLOCKS  7u
#define BATCH_ENGINES 5u /* uTLBs: 5 x 56 outstanding faults >= 256 */

typedef struct batch_trace {
    unsigned spans;           /* "fault batch" spans seen */
    uint64_t faults;          /* faults of the first */
    gpusim_time_t begin, end; /* its extent */
} batch_trace;

static void on_span(void *ud, const gpusim_trace_span_t *s)
{
    batch_trace *t = ud;
    if (strcmp(s->name, "fault batch") != 0)
        return;
    if (t->spans++ == 0) {
        t->faults = s->arg;
        t->begin = s->begin;
        t->end = s->end;
    }
}

static void touch_done(gpusim_gpu_req_t *req, int status, const gpusim_gpu_access_t *a)
{
    unsigned *left = req->data;
    (void)a;
    if (status == 0)
        --*left;
}

void v_fault_batch(const v_env *env, v_result *out)
{
    gpusim_host_config_t hc;
    gpusim_gpu_config_t gc;
    gpusim_driver_config_t dc;
    gpusim_driver_info_t di;
    gpusim_buffer_t *b;
    gpusim_gpu_req_t *req = NULL;
    batch_trace t = {0};
    unsigned left = BATCH_FAULTS;
    v_rig r;
    uint64_t va;
    char *err = out->error;
    size_t el = sizeof out->error;
    if (v_host_config(env, &hc, 256 * MIB, GPUSIM_THP_NEVER, err, el) ||
        v_gpu_config(env, &gc, "nvidia-h100", err, el) ||
        v_driver_config(env, &dc, GPUSIM_POLICY_REFAULT, "nvidia-h100", err, el) ||
        v_driver_set(&dc, "prefetch", "0", err, el))
        return;
    gc.engines = BATCH_ENGINES;
    if (v_rig_new(&r, &hc, &gc, &dc, err, el))
        return;
    if (v_populate(&r, BASE, BATCH_BLOCKS * BLOCK, false, &va, NULL, err, el) ||
        v_register(&r, va, BATCH_BLOCKS * BLOCK, &b, err, el))
        goto out;
    if (!(req = calloc(BATCH_FAULTS, sizeof *req))) {
        v_fail(GPUSIM_ENOMEM, "requesters", err, el);
        goto out;
    }
    (void)gpusim_world_set_trace(r.w, on_span, &t);
    /* 256 reads of distinct pages at one instant, round-robin over the 7 blocks (36 or 37 pages
     * each) and over the engines' uTLBs, as many SMs faulting at once would raise them. */
    for (unsigned i = 0; i < BATCH_FAULTS; i++) {
        uint64_t a = va + (i % BATCH_BLOCKS) * BLOCK + (i / BATCH_BLOCKS) * PAGE;
        gpusim_gpu_access_t acc;
        int rc;
        gpusim_gpu_req_init(&req[i]);
        rc = gpusim_gpu_touch(gpusim_driver_ctx(r.d), i % BATCH_ENGINES, a, false, &req[i],
                              touch_done, &left, &acc);
        if (rc != GPUSIM_EINPROGRESS) {
            v_fail(rc == 0 ? GPUSIM_EEXIST : rc, "a touch did not fault", err, el);
            goto out;
        }
    }
    {
        int rc = gpusim_world_run(r.w);
        if (rc) {
            v_fail(rc, "run", err, el);
            goto out;
        }
    }
    (void)gpusim_driver_info(r.d, &di);
    if (left != 0 || t.spans != 1 || t.faults != BATCH_FAULTS || di.faults != BATCH_FAULTS) {
        snprintf(err, el,
                 "expected one batch of %u faults, all served: %u batches, first of %llu, "
                 "%u accesses unserved",
                 BATCH_FAULTS, t.spans, (unsigned long long)t.faults, left);
        goto out;
    }
    out->value = (double)(t.end - t.begin) / 1e3;
    snprintf(out->detail, sizeof out->detail,
             "256 reads on 7 VA blocks from 5 uTLBs at one instant, prefetch off: %llu ns from "
             "the batch's fetch to its replay (trace span)",
             (unsigned long long)(t.end - t.begin));
out:
    v_rig_free(&r); /* the world first: requesters may still be queued on the device */
    free(req);
}

/* ---- f, g. a sequential first-touch sweep ------------------------------------------------------ */

#define SWEEP_BYTES (64 * MIB)

typedef struct sweep {
    bool done;
    gpusim_time_t ns; /* the kernel job, submission to end */
    uint64_t faults;  /* faults served */
} sweep;

/* One sweep over 64 MiB with the given GPU preset and prefetch setting (NULL: the preset's). */
static int run_sweep(const v_env *env, const char *preset, const char *prefetch, sweep *s,
                     char *err, size_t el)
{
    gpusim_host_config_t hc;
    gpusim_gpu_config_t gc;
    gpusim_driver_config_t dc;
    gpusim_driver_info_t di;
    gpusim_buffer_t *b;
    gpusim_job_desc_t j;
    v_rig r;
    uint64_t va;
    int rc;
    if ((rc = v_host_config(env, &hc, 256 * MIB, GPUSIM_THP_NEVER, err, el)) ||
        (rc = v_gpu_config(env, &gc, preset, err, el)) ||
        (rc = v_driver_config(env, &dc, GPUSIM_POLICY_REFAULT, preset, err, el)) ||
        (prefetch && (rc = v_driver_set(&dc, "prefetch", prefetch, err, el))) ||
        (rc = v_rig_new(&r, &hc, &gc, &dc, err, el)))
        return rc;
    if ((rc = v_populate(&r, BASE, SWEEP_BYTES, false, &va, NULL, err, el)) ||
        (rc = v_register(&r, va, SWEEP_BYTES, &b, err, el)))
        goto out;
    j = sweep_job(b, va, SWEEP_BYTES / PAGE);
    if ((rc = v_run_job(&r, &j, &s->ns, err, el)))
        goto out;
    (void)gpusim_driver_info(r.d, &di);
    s->faults = di.faults;
    s->done = true;
out:
    v_rig_free(&r);
    return rc;
}

/* The prefetcher's pair of sweeps, run once for both checks that read it. */
static struct {
    bool run;
    int rc;
    char err[V_TEXT];
    sweep on, off;
} pf;

static int prefetch_pair(const v_env *env, v_result *out)
{
    if (!pf.run) {
        pf.run = true;
        pf.rc = run_sweep(env, "nvidia-h100", "1", &pf.on, pf.err, sizeof pf.err);
        if (!pf.rc)
            pf.rc = run_sweep(env, "nvidia-h100", "0", &pf.off, pf.err, sizeof pf.err);
    }
    if (pf.rc)
        snprintf(out->error, sizeof out->error, "%s", pf.err);
    else if (!pf.on.faults || !pf.on.ns)
        snprintf(out->error, sizeof out->error, "the prefetching sweep served no fault");
    return pf.rc || out->error[0];
}

void v_prefetch_faults(const v_env *env, v_result *out)
{
    if (prefetch_pair(env, out))
        return;
    out->value = (double)pf.off.faults / (double)pf.on.faults;
    snprintf(out->detail, sizeof out->detail,
             "64 MiB, one wave: %llu faults on demand, %llu with prefetch (%.1f per 2 MiB block)",
             (unsigned long long)pf.off.faults, (unsigned long long)pf.on.faults,
             (double)pf.on.faults / (double)(SWEEP_BYTES / BLOCK));
}

void v_prefetch_time(const v_env *env, v_result *out)
{
    if (prefetch_pair(env, out))
        return;
    out->value = (double)pf.off.ns / (double)pf.on.ns;
    snprintf(out->detail, sizeof out->detail,
             "64 MiB, one wave: kernel %.3f ms on demand, %.3f ms with prefetch",
             (double)pf.off.ns / 1e6, (double)pf.on.ns / 1e6);
}

void v_granule_mi300x(const v_env *env, v_result *out)
{
    sweep s = {0};
    if (run_sweep(env, "amd-mi300x", NULL, &s, out->error, sizeof out->error))
        return;
    out->value = (double)s.faults / (double)(SWEEP_BYTES / BLOCK);
    snprintf(out->detail, sizeof out->detail,
             "64 MiB sweep: %llu faults for %llu blocks of 2 MiB; kernel %.3f ms",
             (unsigned long long)s.faults, (unsigned long long)(SWEEP_BYTES / BLOCK),
             (double)s.ns / 1e6);
}
