/*
 * mirror/validate.c -- the steps policies are built from: the hmm_range_fault loop and the GPU
 * page-table writes that follow it.
 *
 * The loop is Documentation/mm/hmm.rst's (linux-semantics.md §1):
 *
 *   again: seq = read_begin(sub)               may wait for a running invalidation
 *          hmm_range_fault(range, seq)         faults pages in; ERETRY if the sequence moved
 *          lock; if read_retry(sub, seq) goto again; program PTEs; unlock
 *
 * gpusim__validate runs the first two lines asynchronously and hands the snapshot to the caller,
 * which runs the third in one event (the lock). Retries are bounded in time (retry_timeout, like
 * HMM_RANGE_DEFAULT_TIMEOUT), not in count. A policy without a subscription (none) runs the walk
 * without a sequence: it can never learn that its snapshot went stale, which is the point.
 *
 * Mapping keeps the buffer's shadow (mirror/mirror.h) equal to what the GPU page table holds, plus
 * the frame generation each entry was written with, which is what the checker compares against.
 */
#include <string.h>

#include "mirror/mirror.h"
#include "core/alloc.h"

static void range_done(void *data, int status, uint64_t result);

static int start_walk(gpusim__validation *v)
{
    gpusim_driver_t *d = v->drv;
    uint64_t req = GPUSIM_HMM_REQ_FAULT | (v->write ? GPUSIM_HMM_REQ_WRITE : 0);
    int rc = gpusim_process_range_fault(d->proc, v->buf->sub, v->seq, v->start, v->npages, req, 0,
                                        v->hmm, range_done, v);
    if (rc)
        return rc;
    d->host_ops++;
    v->buf->host_busy++;
    return 0;
}

static void begin_woken(gpusim_world_t *w, gpusim_waiter_t *waiter)
{
    gpusim__validation *v = waiter->data;
    int rc;
    (void)w;
    v->drv->host_ops--;
    v->buf->host_busy--;
    rc = start_walk(v);
    if (rc) {
        v->busy = false;
        v->done(v, rc);
    }
}

/* read_begin, then the walk. Returns 0 (done() will run) or an error (nothing pending). */
static int attempt(gpusim__validation *v)
{
    int rc;
    if (v->buf->sub) {
        rc = gpusim_notifier_read_begin(v->buf->sub, &v->seq, &v->waiter, begin_woken, v);
        if (rc == GPUSIM_EINPROGRESS) {
            v->drv->host_ops++; /* waiting counts as a call in flight (gpusim_driver_free) */
            v->buf->host_busy++;
            return 0;
        }
        if (rc)
            return rc;
    }
    return start_walk(v);
}

static void range_done(void *data, int status, uint64_t result)
{
    gpusim__validation *v = data;
    gpusim_driver_t *d = v->drv;
    (void)result;
    d->host_ops--;
    v->buf->host_busy--;
    gpusim__stat_add(d->st.pages_validated, v->npages);
    if (status == GPUSIM_ERETRY) {
        gpusim__stat_add(d->st.retries, 1);
        if (gpusim__validation_expired(v)) {
            status = GPUSIM_ETIMEDOUT;
        } else {
            status = attempt(v);
            if (status == 0)
                return;
        }
    }
    v->busy = false;
    v->done(v, status);
}

int gpusim__validate(gpusim__validation *v)
{
    int rc;
    if (v->t0 == 0)
        v->t0 = drv_now(v->drv) + 1; /* +1: 0 means "not started" */
    v->busy = true;
    rc = attempt(v);
    if (rc)
        v->busy = false;
    return rc;
}

bool gpusim__validation_collided(gpusim__validation *v)
{
    if (!v->buf->sub)
        return false;
    if (!gpusim_notifier_read_retry(v->buf->sub, v->seq))
        return false;
    gpusim__stat_add(v->drv->st.retries, 1);
    return true;
}

bool gpusim__validation_expired(const gpusim__validation *v)
{
    return drv_now(v->drv) + 1 - v->t0 > v->drv->p[GPUSIM__DP_retry_timeout];
}

/* ---- GPU page-table writes ------------------------------------------------------------------ */

/* A run of pages to map with one call. */
typedef struct map_run {
    gpusim_buffer_t *buf;
    uint64_t va; /* first page of the run */
    size_t n;    /* pages in it */
    bool write;
    uint64_t fr[512];
    uint64_t flush_lo, flush_hi; /* TLB range to invalidate: replaced translations */
    gpusim_time_t cost;
    int rc;
} map_run;

static void run_init(map_run *m, gpusim_buffer_t *b)
{
    m->buf = b;
    m->va = 0;
    m->n = 0;
    m->write = false;
    m->flush_lo = m->flush_hi = 0;
    m->cost = 0;
    m->rc = 0; /* fr[] is written before it is read */
}

static void run_flush(map_run *m)
{
    gpusim_driver_t *d = m->buf->drv;
    gpusim_time_t c = 0;
    unsigned flags;
    int rc;
    if (m->n == 0)
        return;
    flags = GPUSIM_GPU_READ | GPUSIM_GPU_SYSTEM | (m->write ? GPUSIM_GPU_WRITE : 0);
    rc = gpusim_gpu_map(d->ctx, m->va, m->n * GPUSIM__MPAGE, m->fr, flags, &c);
    if (rc) {
        /* Out of memory for page tables: the pages stay unmapped (the GPU faults on them, or a
         * later validation maps them); the shadow is updated by the caller only on success. */
        if (!m->rc)
            m->rc = rc;
    } else {
        for (size_t i = 0; i < m->n; i++) {
            gpusim__shadow *s = &m->buf->sh[(m->va - m->buf->va) / GPUSIM__MPAGE + i];
            s->pfn = (uint32_t)m->fr[i];
            s->gen = frame_of(d->host, s->pfn)->gen;
            s->flags = (uint8_t)(SH_MAPPED | SH_EVER | (m->write ? SH_WRITE : 0));
        }
        gpusim__stat_add(d->st.pages_mapped, m->n);
    }
    m->cost += c;
    m->n = 0;
}

/* Adds page va -> pfn (write) to the run, unless the shadow says it is mapped so already. */
static void run_add(map_run *m, uint64_t va, uint64_t pfn, bool write)
{
    gpusim_buffer_t *b = m->buf;
    gpusim__shadow *s = &b->sh[(va - b->va) / GPUSIM__MPAGE];
    const hframe *f = frame_of(b->drv->host, (uint32_t)pfn);
    if ((s->flags & SH_MAPPED) && s->pfn == pfn && s->gen == f->gen &&
        !!(s->flags & SH_WRITE) == write)
        return;
    if (s->flags & SH_MAPPED) {
        /* Replacing a valid translation: the TLBs may hold the old one. */
        if (m->flush_hi == 0 || va < m->flush_lo)
            m->flush_lo = va;
        if (va + GPUSIM__MPAGE > m->flush_hi)
            m->flush_hi = va + GPUSIM__MPAGE;
    }
    if (m->n > 0 && (m->write != write || m->va + m->n * GPUSIM__MPAGE != va ||
                     m->n == GPUSIM_ARRAY_SIZE(m->fr)))
        run_flush(m);
    if (m->n == 0) {
        m->va = va;
        m->write = write;
    }
    m->fr[m->n++] = pfn;
}

static int run_end(map_run *m, gpusim_time_t *cost)
{
    run_flush(m);
    if (m->flush_hi) {
        gpusim_time_t c = 0;
        (void)gpusim_gpu_tlb_invalidate(m->buf->drv->ctx, m->flush_lo, m->flush_hi - m->flush_lo,
                                        &c);
        m->cost += c;
    }
    if (cost)
        *cost += m->cost;
    return m->rc;
}

int gpusim__map_hmm(gpusim_buffer_t *b, uint64_t start, uint64_t npages, const uint64_t *hmm,
                    gpusim_time_t *cost)
{
    map_run m;
    bool can_write = (b->flags & GPUSIM_BUFFER_WRITE) != 0;
    run_init(&m, b);
    for (uint64_t i = 0; i < npages; i++) {
        uint64_t va = start + i * GPUSIM__MPAGE;
        if (!(hmm[i] & GPUSIM_HMM_PFN_VALID)) {
            run_flush(&m);
            gpusim__zap(b, va, va + GPUSIM__MPAGE, &m.cost);
            continue;
        }
        run_add(&m, va, hmm[i] >> GPUSIM_HMM_PFN_SHIFT,
                can_write && (hmm[i] & GPUSIM_HMM_PFN_WRITE));
    }
    return run_end(&m, cost);
}

int gpusim__map_pfns(gpusim_buffer_t *b, uint64_t start, uint64_t npages, const uint64_t *pfns,
                     bool write, gpusim_time_t *cost)
{
    map_run m;
    run_init(&m, b);
    for (uint64_t i = 0; i < npages; i++)
        run_add(&m, start + i * GPUSIM__MPAGE, pfns[i], write);
    return run_end(&m, cost);
}

void gpusim__zap(gpusim_buffer_t *b, uint64_t start, uint64_t end, gpusim_time_t *cost)
{
    gpusim_driver_t *d = b->drv;
    uint64_t lo, hi, first = UINT64_MAX, last = 0;
    gpusim_time_t c1 = 0, c2 = 0;
    start &= ~(GPUSIM__MPAGE - 1);
    lo = GPUSIM_MAX(start, b->va);
    hi = GPUSIM_MIN(end, b->va + b->len);
    if (lo >= hi)
        return;
    for (uint64_t i = (lo - b->va) / GPUSIM__MPAGE;
         i < (hi - b->va + GPUSIM__MPAGE - 1) / GPUSIM__MPAGE; i++)
        if (b->sh[i].flags & SH_MAPPED) {
            b->sh[i].flags &= (uint8_t)~SH_MAPPED;
            if (first == UINT64_MAX)
                first = i;
            last = i;
        }
    if (first == UINT64_MAX)
        return;
    lo = b->va + first * GPUSIM__MPAGE;
    hi = b->va + (last + 1) * GPUSIM__MPAGE;
    (void)gpusim_gpu_unmap(d->ctx, lo, hi - lo, &c1);
    (void)gpusim_gpu_tlb_invalidate(d->ctx, lo, hi - lo, &c2);
    if (cost)
        *cost += c1 + c2;
}

/* ---- a job's buffers, validated and committed together ------------------------------------ */

/*
 * amdgpu_cs_parser_bos / amdgpu_cs_submit (linux-semantics.md §5): walk every buffer of the job,
 * then, under the lock, check every buffer's sequence; one collision restarts the whole job (the
 * kernel returns -EAGAIN and libdrm restarts the ioctl); otherwise map what changed and attach the
 * job. A buffer committed early could be invalidated while a later one is walked, so nothing is
 * mapped before the final check.
 */
static void jv_next(gpusim__job *job);

static void jv_done(gpusim__validation *v, int status)
{
    gpusim__job *job = v->data;
    if (status) {
        gpusim__job_prepared(job, status);
        return;
    }
    job->seqs[job->step++] = v->seq;
    jv_next(job);
}

static void jv_next(gpusim__job *job)
{
    gpusim_driver_t *d = job->drv;
    const gpusim_job_desc_t *j = &job->desc;
    uint64_t off = 0;
    int rc = 0;
    if (job->step < j->nbuffers) {
        gpusim_buffer_t *b = j->buffers[job->step];
        for (unsigned i = 0; i < job->step; i++)
            off += j->buffers[i]->npages;
        job->v.drv = d;
        job->v.buf = b;
        job->v.start = b->va;
        job->v.npages = b->npages;
        job->v.write = (b->flags & GPUSIM_BUFFER_WRITE) != 0;
        job->v.hmm = job->hmm + off;
        job->v.done = jv_done;
        job->v.data = job;
        rc = gpusim__validate(&job->v);
        if (rc)
            gpusim__job_prepared(job, rc);
        return;
    }
    /* The lock. */
    for (unsigned i = 0; i < j->nbuffers; i++) {
        gpusim_buffer_t *b = j->buffers[i];
        if (b->sub && gpusim_notifier_read_retry(b->sub, job->seqs[i])) {
            gpusim__stat_add(d->st.retries, 1);
            if (gpusim__validation_expired(&job->v)) {
                gpusim__job_prepared(job, GPUSIM_ETIMEDOUT);
                return;
            }
            job->step = 0;
            jv_next(job);
            return;
        }
    }
    for (unsigned i = 0; i < j->nbuffers; i++) {
        gpusim_buffer_t *b = j->buffers[i];
        int r = gpusim__map_hmm(b, b->va, b->npages, job->hmm + off, &job->cost);
        if (r && !rc)
            rc = r;
        b->invalid = false;
        off += b->npages;
    }
    gpusim__job_prepared(job, rc);
}

void gpusim__job_validate(gpusim__job *job)
{
    gpusim_driver_t *d = job->drv;
    uint64_t total = 0;
    for (unsigned i = 0; i < job->desc.nbuffers; i++)
        total += job->desc.buffers[i]->npages;
    if (!job->hmm) {
        job->hmm = gpusim__arena_alloc(&d->world->arena, total * sizeof(uint64_t));
        if (!job->hmm) {
            gpusim__job_prepared(job, GPUSIM_ENOMEM);
            return;
        }
        job->hmm_n = total;
    }
    job->step = 0;
    job->v.t0 = 0;
    jv_next(job);
}
