/*
 * mirror/device.c -- what the drivers of one GPU share: the fault interrupt handler and the access
 * hook.
 *
 * A device has one fault buffer and one interrupt, whatever number of contexts (drivers) it
 * serves, so the bottom half is per device, as in NVIDIA UVM and nouveau: fetch a batch (sorted and
 * coalesced by the device), serve its faults one after another, each by its context's driver, then
 * replay once per batch, and fetch again until the buffer is empty. A fault whose context belongs
 * to no driver, or to a driver whose policy does not expect faults (everything but refault), is
 * cancelled: its context alone is killed (linux-semantics.md §10.13). Service times add up in
 * virtual time: the fetch's cost, each fault's host work and PTE writes, then the replay. Each
 * batch, from its fetch to the end of its replay, is reported on the trace track of every driver
 * with faults in it (core/trace.h).
 *
 * Invariant: dev->serving is true from a fetch until the fetch that finds the buffer empty; while
 * it is true the device's interrupts are ignored (the loop will fetch their faults).
 */
#include <string.h>

#include "mirror/mirror.h"
#include "core/alloc.h"
#include "core/trace.h"

struct gpusim__mirror_dev {
    gpusim_gpu_t *gpu;
    gpusim_driver_t *drivers; /* through dev_next */
    gpusim_gpu_fault_t *batch;
    size_t max, n, i;
    bool serving;
    gpusim_driver_t *cur;      /* the driver serving batch[i - 1], or NULL */
    gpusim_event_t ev;         /* next step of the loop */
    bool replay_next;          /* ev replays (else serves the next fault) */
    bool fetch_next;           /* ev fetches */
    gpusim_time_t fetched_at;  /* when the batch being served was fetched (its trace span) */
    gpusim_gpu_ctx_t *hit_ctx; /* access hook cache: the last context seen, and its driver */
    gpusim_driver_t *hit_drv;
};

static gpusim_driver_t *driver_of(gpusim__mirror_dev *dev, gpusim_gpu_ctx_t *ctx)
{
    if (ctx == dev->hit_ctx)
        return dev->hit_drv;
    for (gpusim_driver_t *d = dev->drivers; d; d = d->dev_next)
        if (d->ctx == ctx) {
            dev->hit_ctx = ctx;
            dev->hit_drv = d;
            return d;
        }
    return NULL;
}

static void access_hook(void *data, gpusim_gpu_ctx_t *ctx, uint64_t va, bool write,
                        const gpusim_gpu_access_t *a)
{
    gpusim_driver_t *d = driver_of(data, ctx);
    if (d && d->p[GPUSIM__DP_check])
        gpusim__check_access(d, va, write, a);
}

static void step(gpusim_world_t *w, gpusim_event_t *ev);

static void schedule(gpusim__mirror_dev *dev, gpusim_time_t cost)
{
    gpusim_world_t *w = dev->gpu->world;
    if (gpusim_event_schedule(w, &dev->ev, gpusim_world_now(w) + cost) != 0)
        step(w, &dev->ev); /* no room in the queue: go on without the delay */
}

static void fetch(gpusim__mirror_dev *dev)
{
    gpusim_time_t cost = 0;
    size_t n = 0;
    (void)gpusim_gpu_fault_fetch(dev->gpu, dev->batch, dev->max, &n, &cost);
    dev->n = n;
    dev->i = 0;
    if (n == 0) {
        dev->serving = false;
        return;
    }
    for (gpusim_driver_t *d = dev->drivers; d; d = d->dev_next)
        for (size_t k = 0; k < n; k++)
            if (dev->batch[k].ctx == d->ctx) {
                gpusim__stat_add(d->st.fault_batches, 1);
                break;
            }
    dev->fetch_next = false;
    dev->fetched_at = gpusim_world_now(dev->gpu->world);
    schedule(dev, cost);
}

static void cancel_fault(gpusim_driver_t *d, gpusim_gpu_ctx_t *ctx)
{
    if (d)
        gpusim__stat_add(d->st.faults_cancelled, 1);
    if (!gpusim_gpu_ctx_error(ctx))
        (void)gpusim_gpu_ctx_kill(ctx, GPUSIM_EGPUFAULT);
}

/* Reports the batch on the track of each driver with faults in it: from its fetch to `end`. */
static void trace_batch(gpusim__mirror_dev *dev, gpusim_time_t end)
{
    for (gpusim_driver_t *d = dev->drivers; d; d = d->dev_next) {
        uint64_t n = 0;
        for (size_t k = 0; k < dev->n; k++)
            n += dev->batch[k].ctx == d->ctx;
        if (n)
            gpusim__trace_span(d->world, d->track, dev->fetched_at, end, "faults", n,
                               "fault batch");
    }
}

static void replay(gpusim__mirror_dev *dev)
{
    gpusim_time_t cost = 0, now = gpusim_world_now(dev->gpu->world);
    int rc = gpusim_gpu_fault_replay(dev->gpu, &cost);
    if (gpusim__tracing(dev->gpu->world))
        trace_batch(dev, now + (rc == 0 ? cost : 0));
    if (rc == 0) {
        for (size_t k = 0; k < dev->n; k++) {
            gpusim_driver_t *d;
            if (!dev->batch[k].ctx || !(d = driver_of(dev, dev->batch[k].ctx)))
                continue;
            gpusim__stat_add(d->st.fault_stall_ns, now + cost - dev->batch[k].time);
            gpusim__stat_add(d->st.gpu_stall_ns, now + cost - dev->batch[k].time);
        }
    }
    /* GPUSIM_EAGAIN (replay once the buffer is empty): fetch more now. */
    dev->fetch_next = true;
    schedule(dev, rc == 0 ? cost : 0);
}

static void step(gpusim_world_t *w, gpusim_event_t *ev)
{
    gpusim__mirror_dev *dev = ev->data;
    (void)w;
    if (dev->fetch_next) {
        fetch(dev);
        return;
    }
    while (dev->i < dev->n) {
        gpusim_gpu_fault_t *f = &dev->batch[dev->i++];
        gpusim_driver_t *d;
        if (!f->ctx || gpusim_gpu_ctx_error(f->ctx))
            continue;
        d = driver_of(dev, f->ctx);
        if (!d || !d->ops->fault) {
            cancel_fault(d, f->ctx);
            continue;
        }
        gpusim__stat_add(d->st.faults, 1);
        dev->cur = d;
        d->ops->fault(d, f);
        return; /* gpusim__fault_served continues */
    }
    replay(dev);
}

void gpusim__fault_served(gpusim_driver_t *d, int status, gpusim_time_t cost)
{
    gpusim__mirror_dev *dev = d->dev;
    GPUSIM_ASSERT(dev->cur == d);
    dev->cur = NULL;
    if (status)
        cancel_fault(d, d->ctx);
    schedule(dev, cost);
}

static void irq(gpusim_gpu_t *gpu, void *data)
{
    gpusim__mirror_dev *dev = data;
    (void)gpu;
    if (dev->serving)
        return;
    dev->serving = true;
    fetch(dev);
}

int gpusim__mirror_dev_attach(gpusim_driver_t *d)
{
    gpusim_gpu_t *g = d->gpu;
    gpusim__mirror_dev *dev = g->mirror;
    if (!dev) {
        gpusim__arena *a = &g->world->arena;
        if (g->handler || g->access_hook)
            return GPUSIM_EBUSY;
        dev = gpusim__arena_zalloc(a, sizeof *dev);
        if (!dev)
            return GPUSIM_ENOMEM;
        dev->max = (size_t)g->p[GPUSIM__GPU_P_fault_batch_max];
        dev->batch = gpusim__arena_alloc(a, dev->max * sizeof *dev->batch);
        if (!dev->batch) {
            gpusim__arena_free(a, dev, sizeof *dev);
            return GPUSIM_ENOMEM;
        }
        dev->gpu = g;
        gpusim_event_init(&dev->ev, step, dev);
        g->mirror = dev;
        (void)gpusim_gpu_set_fault_handler(g, irq, dev);
        g->access_hook = access_hook;
        g->access_hook_data = dev;
    }
    d->dev = dev;
    d->dev_next = dev->drivers;
    dev->drivers = d;
    return 0;
}

void gpusim__mirror_dev_detach(gpusim_driver_t *d)
{
    gpusim__mirror_dev *dev = d->dev;
    gpusim_driver_t **pp;
    if (!dev)
        return;
    for (pp = &dev->drivers; *pp != d; pp = &(*pp)->dev_next)
        ;
    *pp = d->dev_next;
    d->dev = NULL;
    dev->hit_ctx = NULL;
    dev->hit_drv = NULL;
    /* Its faults in the batch being served are skipped; if it was serving one, the loop goes on
     * (a driver is only freed with no host call pending, so its service had not started one). */
    for (size_t k = 0; k < dev->n; k++)
        if (dev->batch[k].ctx == d->ctx)
            dev->batch[k].ctx = NULL;
    if (dev->cur == d) {
        dev->cur = NULL;
        schedule(dev, 0);
    }
    if (!dev->drivers) {
        gpusim_gpu_t *g = dev->gpu;
        gpusim__arena *a = &g->world->arena;
        (void)gpusim_event_cancel(g->world, &dev->ev);
        (void)gpusim_gpu_set_fault_handler(g, NULL, NULL);
        g->access_hook = NULL;
        g->access_hook_data = NULL;
        g->mirror = NULL;
        gpusim__arena_free(a, dev->batch, dev->max * sizeof *dev->batch);
        gpusim__arena_free(a, dev, sizeof *dev);
    }
}
