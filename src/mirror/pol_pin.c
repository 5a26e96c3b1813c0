/*
 * mirror/pol_pin.c -- the policies that pin: `pin` (get_user_pages at every command submission,
 * the "horribly slow" userptr path) and `pin-persistent` (a long-term pin at registration:
 * cudaHostRegister, RDMA memory registration, FOLL_LONGTERM). linux-semantics.md §4.
 *
 * Neither subscribes: a pinned page stays with the GPU whatever the CPU does to the address (the
 * GPU keeps reading the pinned frame after a munmap or a COW break: stale, never freed). Pinned
 * pages cannot be reclaimed, migrated or compacted; the host counts the failures.
 *
 *   pin             submission: pin every page of every buffer (fault-in + pin), map the frames;
 *                   job end: unpin, and unmap the buffer if no other job uses it
 *   pin-persistent  registration: long-term pin of the whole buffer, map; unregistration: unmap,
 *                   unpin; submission: nothing
 * A GPU fault is not expected under either: the context is killed.
 */
#include "mirror/mirror.h"
#include "core/alloc.h"

static gpusim_notifier_answer_t pin_invalidate(gpusim_buffer_t *b, const gpusim_notifier_range_t *r,
                                               gpusim_completion_t **wait_on)
{
    (void)b;
    (void)r;
    (void)wait_on;
    return GPUSIM_NOTIFIER_DONE; /* never called: they do not subscribe */
}

static unsigned pin_flags(const gpusim_buffer_t *b)
{
    return (b->flags & GPUSIM_BUFFER_WRITE) ? GPUSIM_PIN_WRITE : 0;
}

/* ---- pin: per submission -------------------------------------------------------------------- */

static void pin_next(gpusim__job *job);

static void pin_done(void *data, int status, uint64_t result)
{
    gpusim__job *job = data;
    gpusim_driver_t *d = job->drv;
    gpusim_buffer_t *b = job->desc.buffers[job->step];
    (void)result;
    d->host_ops--;
    b->host_busy--;
    if (status) {
        gpusim__arena_free(&d->world->arena, job->pins[job->step], b->npages * sizeof(uint64_t));
        job->pins[job->step] = NULL;
        gpusim__job_prepared(job, status);
        return;
    }
    gpusim__drv_pinned(d, (int64_t)b->npages);
    job->step++;
    pin_next(job);
}

static void pin_next(gpusim__job *job)
{
    gpusim_driver_t *d = job->drv;
    gpusim_buffer_t *b;
    int rc;
    if (job->step == job->desc.nbuffers) {
        /* Every buffer is pinned: map them all now, in the event that commits the job. Mapping
         * one as soon as it is pinned would let a job that then fails to pin the next leave its
         * frames in PTEs that a running job uses, and release them (a use-after-free). */
        int err = 0;
        for (unsigned i = 0; i < job->desc.nbuffers && !err; i++) {
            b = job->desc.buffers[i];
            err = gpusim__map_pfns(b, b->va, b->npages, job->pins[i],
                                   (b->flags & GPUSIM_BUFFER_WRITE) != 0, &job->cost);
        }
        gpusim__job_prepared(job, err);
        return;
    }
    b = job->desc.buffers[job->step];
    job->pins[job->step] = gpusim__arena_alloc(&d->world->arena, b->npages * sizeof(uint64_t));
    if (!job->pins[job->step]) {
        gpusim__job_prepared(job, GPUSIM_ENOMEM);
        return;
    }
    rc = gpusim_process_pin(d->proc, b->va, b->npages, pin_flags(b), job->pins[job->step], pin_done,
                            job);
    if (rc) {
        gpusim__arena_free(&d->world->arena, job->pins[job->step], b->npages * sizeof(uint64_t));
        job->pins[job->step] = NULL;
        gpusim__job_prepared(job, rc);
        return;
    }
    d->host_ops++;
    b->host_busy++;
}

static void pin_prepare(gpusim__job *job)
{
    job->step = 0;
    pin_next(job);
}

static void pin_job_done(gpusim__job *job)
{
    gpusim_driver_t *d = job->drv;
    for (unsigned i = 0; i < job->desc.nbuffers; i++) {
        gpusim_buffer_t *b = job->desc.buffers[i];
        if (!job->pins[i])
            continue;
        /* The GPU must stop using the frames before they are released: unmap first, unless a
         * later job (which mapped its own pins over these) still needs the buffer. */
        if (b->users == 1)
            gpusim__zap(b, b->va, b->va + b->len, NULL);
        (void)gpusim_process_unpin(d->proc, job->pins[i], b->npages,
                                   (b->flags & GPUSIM_BUFFER_WRITE) != 0, NULL);
        gpusim__drv_pinned(d, -(int64_t)b->npages);
        gpusim__arena_free(&d->world->arena, job->pins[i], b->npages * sizeof(uint64_t));
        job->pins[i] = NULL;
    }
}

const gpusim__policy_ops gpusim__pol_pin = {
    .subscribes = false,
    .prepare = pin_prepare,
    .job_done = pin_job_done,
    .invalidate = pin_invalidate,
};

/* ---- pin-persistent: per registration ------------------------------------------------------- */

static void pp_done(void *data, int status, uint64_t result)
{
    gpusim_buffer_t *b = data;
    gpusim_driver_t *d = b->drv;
    (void)result;
    d->host_ops--;
    b->host_busy--;
    if (status == 0) {
        b->npinned = b->npages;
        gpusim__drv_pinned(d, (int64_t)b->npages);
        status = gpusim__map_pfns(b, b->va, b->npages, b->pins,
                                  (b->flags & GPUSIM_BUFFER_WRITE) != 0, NULL);
    }
    gpusim__buf_registered(b, status);
}

static int pp_reg(gpusim_buffer_t *b)
{
    gpusim_driver_t *d = b->drv;
    int rc;
    b->pins = gpusim__arena_alloc(&d->world->arena, b->npages * sizeof(uint64_t));
    if (!b->pins)
        return GPUSIM_ENOMEM;
    rc = gpusim_process_pin(d->proc, b->va, b->npages, pin_flags(b) | GPUSIM_PIN_LONGTERM, b->pins,
                            pp_done, b);
    if (rc)
        return rc;
    d->host_ops++;
    b->host_busy++;
    return GPUSIM_EINPROGRESS;
}

static void pp_unreg(gpusim_buffer_t *b)
{
    gpusim_driver_t *d = b->drv;
    gpusim__zap(b, b->va, b->va + b->len, NULL);
    if (b->npinned) {
        (void)gpusim_process_unpin(d->proc, b->pins, b->npinned,
                                   (b->flags & GPUSIM_BUFFER_WRITE) != 0, NULL);
        gpusim__drv_pinned(d, -(int64_t)b->npinned);
        b->npinned = 0;
    }
}

const gpusim__policy_ops gpusim__pol_pin_persistent = {
    .subscribes = false,
    .reg = pp_reg,
    .unreg = pp_unreg,
    .invalidate = pin_invalidate,
};
