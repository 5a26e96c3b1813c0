/*
 * tests/validation/v_copy.c -- the host<->device copy checks: large pinned copies against the
 * preset's PCIe rates, the setup share of a 4 KiB copy, the MI300X small-copy latency, and the
 * pageable rate the model does not have.
 *
 * A copy is driven as a runtime drives a copy engine, with the device API alone: a VM context
 * mapping host memory (GPUSIM_GPU_SYSTEM, frames from a long-term pin as cudaHostRegister takes
 * them, or from hmm_range_fault for pageable memory) and VRAM, a queue, a COPY packet followed by
 * a FENCE_SIGNAL, and a host wait on the fence. A copy's time runs from the doorbell to the
 * fence: the command processor's packet fetches, the engine's setup, translations and bytes.
 * The public API has no VRAM allocator (the model times VRAM, it does not store it), so the
 * device side is a range of VRAM frames above every page-table page the context can need.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "validate.h"

#define KIB         GPUSIM_KIB
#define MIB         GPUSIM_MIB
#define GIB         GPUSIM_GIB
#define PAGE        GPUSIM_HOST_PAGE_SIZE
#define HOST_VA     (UINT64_C(1) << 36) /* host buffer, same address on the GPU: 2 MiB aligned */
#define DEV_VA      (UINT64_C(1) << 40) /* the VRAM buffer's GPU address */
#define DEV_FRAME0  (GIB / PAGE)        /* first VRAM frame of the device buffer (2 MiB aligned) */
#define LARGE_BYTES (256 * MIB)

typedef struct bench {
    v_rig r;
    gpusim_gpu_config_t gc; /* the device's configuration */
    gpusim_gpu_ctx_t *ctx;
    gpusim_gpu_queue_t *q;
    uint32_t fence;
    uint64_t fence_value;
    uint64_t bytes; /* of each buffer */
} bench;

enum { H2D, D2H };

/* `bytes` of THP-backed host memory (written first), pinned long-term (or, if !pinned, looked up
 * with hmm_range_fault as an HMM driver mirrors pageable memory) and mapped at HOST_VA; as much
 * VRAM mapped at DEV_VA; a queue and a fence. */
static int bench_new(const v_env *env, const char *preset, uint64_t bytes, bool pinned, bench *b,
                     char *err, size_t el)
{
    gpusim_host_config_t hc;
    uint64_t n = bytes / PAGE, va, *frames = NULL;
    v_call c;
    int rc;
    memset(b, 0, sizeof *b);
    b->bytes = bytes;
    if ((rc = v_host_config(env, &hc, GIB + 2 * bytes, GPUSIM_THP_MADVISE, err, el)) ||
        (rc = v_gpu_config(env, &b->gc, preset, err, el)) ||
        (rc = v_rig_new(&b->r, &hc, &b->gc, NULL, err, el)))
        return rc;
    if ((rc = v_populate(&b->r, HOST_VA, bytes, true, &va, NULL, err, el)))
        return rc;
    if (!(frames = malloc(n * sizeof *frames)))
        return v_fail(GPUSIM_ENOMEM, "frame array", err, el);
    c = (v_call){.w = b->r.w};
    if (pinned)
        rc = gpusim_process_pin(b->r.p, va, n, GPUSIM_PIN_LONGTERM | GPUSIM_PIN_WRITE, frames,
                                v_call_cb, &c);
    else
        rc = gpusim_process_range_fault(b->r.p, NULL, 0, va, n,
                                        GPUSIM_HMM_REQ_FAULT | GPUSIM_HMM_REQ_WRITE, 0, frames,
                                        v_call_cb, &c);
    if (rc || (rc = v_call_wait(b->r.w, &c))) {
        rc = v_fail(rc, pinned ? "pin" : "hmm_range_fault", err, el);
        goto out;
    }
    if (!pinned)
        for (uint64_t i = 0; i < n; i++)
            frames[i] >>= GPUSIM_HMM_PFN_SHIFT;
    if ((rc = gpusim_gpu_ctx_new(b->r.g, NULL, &b->ctx)) ||
        (rc = gpusim_gpu_map(b->ctx, HOST_VA, bytes, frames,
                             GPUSIM_GPU_READ | GPUSIM_GPU_WRITE | GPUSIM_GPU_SYSTEM, NULL))) {
        rc = v_fail(rc, "mapping host memory", err, el);
        goto out;
    }
    for (uint64_t i = 0; i < n; i++)
        frames[i] = DEV_FRAME0 + i;
    if ((rc = gpusim_gpu_map(b->ctx, DEV_VA, bytes, frames, GPUSIM_GPU_READ | GPUSIM_GPU_WRITE,
                             NULL)) ||
        (rc = gpusim_gpu_queue_new(b->ctx, 4 * KIB, &b->q)) ||
        (rc = gpusim_gpu_fence_new(b->r.g, 0, &b->fence)))
        rc = v_fail(rc, "device set-up", err, el);
out:
    free(frames);
    return rc;
}

static void fence_done(gpusim_gpu_fence_waiter_t *wt, int status)
{
    v_call *c = wt->data;
    v_call_cb(c, status, 0);
}

/* Copies `bytes` in direction `dir` and returns its time in *ns (doorbell to fence). */
static int bench_copy(bench *b, int dir, uint64_t bytes, gpusim_time_t *ns, char *err, size_t el)
{
    uint8_t pkt[GPUSIM_PKT_COPY_BYTES + GPUSIM_PKT_FENCE_BYTES];
    uint64_t src = dir == H2D ? HOST_VA : DEV_VA, dst = dir == H2D ? DEV_VA : HOST_VA;
    gpusim_gpu_fence_waiter_t wt;
    v_call c = {.w = b->r.w};
    gpusim_time_t t0;
    int n, m, rc;
    n = gpusim_packet_copy(pkt, sizeof pkt, dst, src, bytes);
    m = n < 0 ? n
              : gpusim_packet_fence_signal(pkt + n, sizeof pkt - (size_t)n, b->fence,
                                           ++b->fence_value);
    if (n < 0 || m < 0)
        return v_fail(n < 0 ? n : m, "packets", err, el);
    if ((rc = gpusim_gpu_queue_write(b->q, pkt, (size_t)(n + m))) ||
        (rc = gpusim_gpu_queue_doorbell(b->q)))
        return v_fail(rc, "queue", err, el);
    t0 = gpusim_world_now(b->r.w);
    gpusim_gpu_fence_waiter_init(&wt);
    rc = gpusim_gpu_fence_wait(b->r.g, b->fence, b->fence_value, &wt, fence_done, &c,
                               GPUSIM_TIME_MAX);
    if (rc != GPUSIM_EINPROGRESS || (rc = v_call_wait(b->r.w, &c)))
        return v_fail(rc == 0 ? GPUSIM_EAGAIN : rc, "the copy's fence", err, el);
    *ns = c.at - t0;
    return 0;
}

/* ---- d. large pinned copies ------------------------------------------------------------------ */

static void large(const v_env *env, int dir, bool pinned, v_result *out)
{
    bench b;
    gpusim_time_t ns;
    if (!bench_new(env, "nvidia-h100", LARGE_BYTES, pinned, &b, out->error, sizeof out->error) &&
        !bench_copy(&b, dir, LARGE_BYTES, &ns, out->error, sizeof out->error)) {
        out->value = v_gbps(LARGE_BYTES, ns);
        snprintf(out->detail, sizeof out->detail, "256 MiB %s in %.3f ms, THP-backed host memory%s",
                 dir == H2D ? "H2D" : "D2H", (double)ns / 1e6,
                 pinned ? ", pinned" : ", not pinned (hmm_range_fault)");
    }
    v_rig_free(&b.r);
}

void v_copy_h2d(const v_env *env, v_result *out)
{
    large(env, H2D, true, out);
}

void v_copy_d2h(const v_env *env, v_result *out)
{
    large(env, D2H, true, out);
}

void v_copy_pageable(const v_env *env, v_result *out)
{
    large(env, H2D, false, out);
}

/* ---- d. small copies ------------------------------------------------------------------------- */

/* A 4 KiB H2D copy, the second of two (the first warms the TLBs, as a benchmark's loop does);
 * *h2d receives the device's pcie_h2d_pinned. */
static int small(const v_env *env, const char *preset, gpusim_time_t *ns, uint64_t *h2d,
                 v_result *out)
{
    bench b;
    int rc = bench_new(env, preset, 2 * MIB, true, &b, out->error, sizeof out->error);
    if (!rc)
        rc = bench_copy(&b, H2D, 4 * KIB, ns, out->error, sizeof out->error);
    if (!rc)
        rc = bench_copy(&b, H2D, 4 * KIB, ns, out->error, sizeof out->error);
    if (!rc && (rc = gpusim_gpu_config_get(&b.gc, "pcie_h2d_pinned", h2d)))
        v_fail(rc, "pcie_h2d_pinned", out->error, sizeof out->error);
    v_rig_free(&b.r);
    return rc;
}

void v_copy_small(const v_env *env, v_result *out)
{
    gpusim_time_t ns;
    uint64_t h2d;
    double stream;
    if (small(env, "nvidia-h100", &ns, &h2d, out))
        return;
    /* Everything but streaming the bytes at the link's rate is fixed cost. */
    stream = (double)(4 * KIB) / (double)h2d * 1e9;
    out->value = 100.0 * (1.0 - stream / (double)ns);
    snprintf(out->detail, sizeof out->detail,
             "4 KiB H2D in %.3f us, of which %.3f us stream the bytes", (double)ns / 1e3,
             stream / 1e3);
}

void v_copy_small_mi300x(const v_env *env, v_result *out)
{
    gpusim_time_t ns;
    uint64_t h2d;
    if (small(env, "amd-mi300x", &ns, &h2d, out))
        return;
    out->value = (double)ns / 1e3;
    snprintf(out->detail, sizeof out->detail,
             "4 KiB H2D, pinned, warm TLBs: %llu ns from the doorbell to the fence",
             (unsigned long long)ns);
}
