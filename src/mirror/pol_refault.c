/*
 * mirror/pol_refault.c -- the policy `refault`: fault-and-refault, as HMM/SVM with XNACK
 * (kfd_svm svm_range_restore_pages), nouveau SVM, NVIDIA UVM and RDMA ODP do it
 * (linux-semantics.md §5-§7).
 *
 *   registration   an interval notifier over the buffer; with prefetch_on_register, the buffer is
 *                  validated and mapped at once (kfd_svm's prefetch attribute, ibv_advise_mr)
 *   submission     nothing: the job runs and the GPU faults on what is not mapped
 *   GPU fault      per fault of a batch (device.c runs the batch and the replay): find the
 *                  buffer; read_begin; hmm_range_fault over the fault's granule; under the lock
 *                  read_retry (retry on collision); map
 *   invalidation   refuse a non-blockable range (kfd_svm and mlx5 do); otherwise zap the PTEs and
 *                  invalidate the TLBs, and make the invalidator wait only for that
 *
 * The granule is the naturally aligned fault_granule around the faulting page (4 KiB for UVM,
 * 2 MiB for kfd_svm), clipped to the buffer, or, with `prefetch`, UVM's density prefetcher
 * (uvm_perf_prefetch.c): within the fault's 2 MiB block (clipped to the buffer), the largest
 * naturally aligned power-of-two region around the page whose mapped pages, counting the faulting
 * one, exceed prefetch_threshold percent. A sequential first touch thus maps 1, 2, 4, ... pages
 * per fault until a region is half mapped, where one page more stays under 51 %: 17 faults per
 * 2 MiB instead of 512 (docs/validation.md, prefetch.faults).
 *
 * Stale faults (linux-semantics.md §10.6, svm_range_drain_retry_fault): a fault raised before the
 * latest UNMAP over its buffer is dropped, not served -- its address may now hold a new mapping
 * the faulting access never meant. The replay makes the access retry; if it still happens, it
 * faults afresh and is served against what is mapped then. A fault outside every buffer, or on an
 * address the host has no mapping for (hmm_range_fault's EFAULT), or a write to a read-only
 * buffer, is cancelled: its context alone is killed (GPUSIM_EGPUFAULT).
 */
#include "mirror/mirror.h"
#include "core/alloc.h"

#define BLOCK_PAGES 512u /* a 2 MiB VA block */

typedef struct refault_state {
    gpusim__validation v;
    uint64_t hmm[BLOCK_PAGES];
    gpusim_time_t cost;
} refault_state;

static gpusim_notifier_answer_t rf_invalidate(gpusim_buffer_t *b, const gpusim_notifier_range_t *r,
                                              gpusim_completion_t **wait_on)
{
    gpusim_time_t cost = 0;
    if (!r->blockable)
        return GPUSIM_NOTIFIER_WOULD_BLOCK;
    gpusim__zap(b, r->start, r->end, &cost);
    return gpusim__wait_time(b->drv, cost, r->invalidator, wait_on);
}

/* The naturally aligned region of `pages` pages around va, clipped to the buffer. */
static void aligned_region(const gpusim_buffer_t *b, uint64_t va, uint64_t pages, uint64_t *start,
                           uint64_t *n)
{
    uint64_t lo = va & ~(pages * GPUSIM__MPAGE - 1), hi = lo + pages * GPUSIM__MPAGE;
    lo = GPUSIM_MAX(lo, b->va);
    hi = GPUSIM_MIN(hi, b->va + b->len);
    *start = lo;
    *n = (hi - lo) / GPUSIM__MPAGE;
}

/* The granule to serve a fault at va in: [*start, *start + *n pages). */
static void granule(const gpusim_buffer_t *b, uint64_t va, uint64_t min_pages, uint32_t threshold,
                    bool prefetch, uint64_t *start, uint64_t *n)
{
    uint64_t page = (va - b->va) / GPUSIM__MPAGE; /* index in the buffer */
    aligned_region(b, va, min_pages, start, n);
    if (!prefetch)
        return;
    for (uint64_t size = min_pages * 2; size <= BLOCK_PAGES; size *= 2) {
        uint64_t lo, pages, mapped = 0;
        aligned_region(b, va, size, &lo, &pages);
        for (uint64_t i = (lo - b->va) / GPUSIM__MPAGE; i < (lo - b->va) / GPUSIM__MPAGE + pages;
             i++)
            if ((b->sh[i].flags & SH_MAPPED) || i == page)
                mapped++;
        if (mapped * 100 > pages * threshold) {
            *start = lo;
            *n = pages;
        }
    }
}

static void rf_validated(gpusim__validation *v, int status)
{
    gpusim_driver_t *d = v->drv;
    refault_state *st = d->pol;
    if (status == 0 && gpusim__validation_collided(v)) {
        if (!gpusim__validation_expired(v) && gpusim__validate(v) == 0)
            return;
        gpusim__fault_served(d, 0, st->cost); /* give up: the replay makes it fault again */
        return;
    }
    if (status == 0) {
        (void)gpusim__map_hmm(v->buf, v->start, v->npages, st->hmm, &st->cost);
        gpusim__fault_served(d, 0, st->cost); /* ENOMEM: not mapped, it faults again */
        return;
    }
    /* EFAULT (no mapping at all), EPERM (write to read-only memory), ESRCH: cancel. ENOMEM,
     * ETIMEDOUT: leave it to fault again. */
    gpusim__fault_served(
        d, status == GPUSIM_ENOMEM || status == GPUSIM_ETIMEDOUT ? 0 : GPUSIM_EGPUFAULT, st->cost);
}

static void rf_fault(gpusim_driver_t *d, const gpusim_gpu_fault_t *f)
{
    refault_state *st = d->pol;
    gpusim_buffer_t *b = gpusim__buf_find(d, f->va);
    uint64_t start, n;
    if (!b || b->state != B_ACTIVE || (f->write && !(b->flags & GPUSIM_BUFFER_WRITE))) {
        gpusim__fault_served(d, GPUSIM_EGPUFAULT, 0);
        return;
    }
    if (f->time < b->unmap_time) {
        gpusim__stat_add(d->st.faults_dropped, 1);
        gpusim__fault_served(d, 0, 0);
        return;
    }
    if (!st) {
        st = d->pol = gpusim__arena_zalloc(&d->world->arena, sizeof *st);
        if (!st) {
            gpusim__fault_served(d, 0, 0); /* no memory to serve it now: it faults again */
            return;
        }
        gpusim_waiter_init(&st->v.waiter);
    }
    granule(b, f->va, d->p[GPUSIM__DP_fault_granule] / GPUSIM__MPAGE,
            (uint32_t)d->p[GPUSIM__DP_prefetch_threshold], d->p[GPUSIM__DP_prefetch] != 0, &start,
            &n);
    st->cost = 0;
    st->v.drv = d;
    st->v.buf = b;
    st->v.start = start;
    st->v.npages = n;
    st->v.write = f->write;
    st->v.hmm = st->hmm;
    st->v.t0 = 0;
    st->v.done = rf_validated;
    st->v.data = NULL;
    if (gpusim__validate(&st->v) != 0)
        gpusim__fault_served(d, GPUSIM_EGPUFAULT, 0);
}

/* ---- prefetch at registration --------------------------------------------------------------- */

typedef struct rf_prefetch {
    gpusim__validation v;
    uint64_t *hmm;
} rf_prefetch;

static void pf_done(gpusim__validation *v, int status)
{
    rf_prefetch *pf = v->data;
    gpusim_buffer_t *b = v->buf;
    gpusim_driver_t *d = v->drv;
    if (status == 0 && gpusim__validation_collided(v) && !gpusim__validation_expired(v) &&
        gpusim__validate(v) == 0)
        return;
    if (status == 0)
        (void)gpusim__map_hmm(b, b->va, b->npages, pf->hmm, NULL);
    gpusim__arena_free(&d->world->arena, pf->hmm, b->npages * sizeof(uint64_t));
    gpusim__arena_free(&d->world->arena, pf, sizeof *pf);
    /* A prefetch that fails leaves the buffer to faults; the registration still succeeds. */
    gpusim__buf_registered(b, 0);
}

static int rf_reg(gpusim_buffer_t *b)
{
    gpusim_driver_t *d = b->drv;
    rf_prefetch *pf;
    if (!d->p[GPUSIM__DP_prefetch_on_register])
        return 0;
    pf = gpusim__arena_zalloc(&d->world->arena, sizeof *pf);
    if (!pf)
        return 0;
    pf->hmm = gpusim__arena_alloc(&d->world->arena, b->npages * sizeof(uint64_t));
    if (!pf->hmm) {
        gpusim__arena_free(&d->world->arena, pf, sizeof *pf);
        return 0;
    }
    gpusim_waiter_init(&pf->v.waiter);
    pf->v.drv = d;
    pf->v.buf = b;
    pf->v.start = b->va;
    pf->v.npages = b->npages;
    pf->v.write = (b->flags & GPUSIM_BUFFER_WRITE) != 0;
    pf->v.hmm = pf->hmm;
    pf->v.done = pf_done;
    pf->v.data = pf;
    if (gpusim__validate(&pf->v) != 0) {
        gpusim__arena_free(&d->world->arena, pf->hmm, b->npages * sizeof(uint64_t));
        gpusim__arena_free(&d->world->arena, pf, sizeof *pf);
        return 0;
    }
    return GPUSIM_EINPROGRESS;
}

static void rf_destroy(gpusim_driver_t *d)
{
    refault_state *st = d->pol;
    if (!st)
        return;
    if (gpusim_waiter_waiting(&st->v.waiter))
        (void)gpusim_waiter_cancel(d->world, &st->v.waiter);
    gpusim__arena_free(&d->world->arena, st, sizeof *st);
    d->pol = NULL;
}

const gpusim__policy_ops gpusim__pol_refault = {
    .subscribes = true,
    .reg = rf_reg,
    .invalidate = rf_invalidate,
    .fault = rf_fault,
    .destroy = rf_destroy,
};
