/*
 * gpu/faultbuf.c -- the replayable fault buffer (gpu/faultbuf.h).
 *
 * Every array is allocated at init and never resized, so push, fetch, replay and cancel cannot
 * fail for want of memory. The stalled records need at most nutlb * limit slots, because each one
 * is an outstanding fault and no uTLB has more than `limit`. Sorting a batch is an in-place
 * heapsort on the caller's out[] array: no allocation (libc's qsort may call malloc, outside the
 * world's arena) and O(n log n) for batches of thousands.
 */
#include <string.h>

#include "core/compiler.h"
#include "gpu/faultbuf.h"
#include "gpu/params.h"
#include "gpu/pt.h"

static inline uint32_t slot(const gpusim__gpu_faultbuf *fb, uint32_t i)
{
    /* head + i < 2 * cap < 2^21: no overflow. */
    uint32_t s = fb->head + i;
    return s >= fb->cap ? s - fb->cap : s;
}

static inline bool current(const gpusim__gpu_faultbuf *fb, const gpusim__gpu_faultbuf_entry *e)
{
    return e->epoch == fb->replays;
}

/* ------------------------------------------------------------------------------------------- */
/* Life cycle                                                                                  */
/* ------------------------------------------------------------------------------------------- */

int gpusim__gpu_faultbuf_init(gpusim__gpu_faultbuf *fb, gpusim__arena *arena, uint32_t cap,
                              uint32_t nutlb, uint32_t limit, unsigned policy)
{
    if (fb == NULL || arena == NULL || cap == 0 || cap > GPUSIM__GPU_FAULTBUF_MAX_ENTRIES ||
        nutlb == 0 || nutlb > GPUSIM__GPU_FAULTBUF_MAX_UTLBS || limit == 0 ||
        limit > GPUSIM__GPU_FAULTBUF_MAX_LIMIT || policy < GPUSIM__GPU_REPLAY_BATCH ||
        policy > GPUSIM__GPU_REPLAY_ONCE)
        return GPUSIM_EINVAL;
    memset(fb, 0, sizeof(*fb));
    size_t nstl = (size_t)nutlb * limit; /* <= 2^22: the bounds above keep sizes small */
    fb->ring = gpusim__arena_zalloc(arena, (size_t)cap * sizeof(*fb->ring));
    fb->outstanding = gpusim__arena_zalloc(arena, (size_t)nutlb * sizeof(*fb->outstanding));
    fb->stl = gpusim__arena_zalloc(arena, nstl * sizeof(*fb->stl));
    if (fb->ring == NULL || fb->outstanding == NULL || fb->stl == NULL) {
        gpusim__arena_free(arena, fb->ring, (size_t)cap * sizeof(*fb->ring));
        gpusim__arena_free(arena, fb->outstanding, (size_t)nutlb * sizeof(*fb->outstanding));
        gpusim__arena_free(arena, fb->stl, nstl * sizeof(*fb->stl));
        memset(fb, 0, sizeof(*fb));
        return GPUSIM_ENOMEM;
    }
    fb->arena = arena;
    fb->cap = cap;
    fb->nutlb = nutlb;
    fb->limit = limit;
    fb->policy = policy;
    return 0;
}

int gpusim__gpu_faultbuf_init_params(gpusim__gpu_faultbuf *fb, gpusim__arena *arena,
                                     const uint64_t *params, uint32_t nutlb)
{
    if (params == NULL)
        return GPUSIM_EINVAL;
    uint64_t cap = params[GPUSIM__GPU_P_fault_buffer_entries];
    uint64_t limit = params[GPUSIM__GPU_P_fault_outstanding_per_utlb];
    uint64_t policy = params[GPUSIM__GPU_P_fault_replay_policy];
    if (cap > UINT32_MAX || limit > UINT32_MAX || policy > GPUSIM__GPU_REPLAY_ONCE)
        return GPUSIM_EINVAL;
    return gpusim__gpu_faultbuf_init(fb, arena, (uint32_t)cap, nutlb, (uint32_t)limit,
                                     (unsigned)policy);
}

void gpusim__gpu_faultbuf_destroy(gpusim__gpu_faultbuf *fb)
{
    if (fb == NULL || fb->arena == NULL)
        return;
    gpusim__arena_free(fb->arena, fb->ring, (size_t)fb->cap * sizeof(*fb->ring));
    gpusim__arena_free(fb->arena, fb->outstanding, (size_t)fb->nutlb * sizeof(*fb->outstanding));
    gpusim__arena_free(fb->arena, fb->stl, (size_t)fb->nutlb * fb->limit * sizeof(*fb->stl));
    memset(fb, 0, sizeof(*fb));
}

/* ------------------------------------------------------------------------------------------- */
/* Push and interrupt                                                                          */
/* ------------------------------------------------------------------------------------------- */

static void stall(gpusim__gpu_faultbuf *fb, uint32_t ctx, uint32_t utlb)
{
    GPUSIM_ASSERT(fb->nstalled < (size_t)fb->nutlb * fb->limit);
    fb->stl[fb->nstalled].ctx = ctx;
    fb->stl[fb->nstalled].utlb = utlb;
    fb->nstalled++;
}

int gpusim__gpu_faultbuf_push(gpusim__gpu_faultbuf *fb, const gpusim__gpu_fault *f)
{
    if (fb == NULL || fb->ring == NULL || f == NULL || f->utlb >= fb->nutlb ||
        (f->access != GPUSIM__GPU_FAULT_READ && f->access != GPUSIM__GPU_FAULT_WRITE) ||
        (f->va & (GPUSIM__GPU_PAGE_SIZE - 1)) != 0)
        return GPUSIM_EINVAL;
    if (f->va >= GPUSIM__GPU_VA_LIMIT)
        return GPUSIM_EFAULT;
    fb->pushed++;
    if (fb->outstanding[f->utlb] >= fb->limit) {
        fb->throttled++;
        return GPUSIM__GPU_FAULT_THROTTLED;
    }
    fb->outstanding[f->utlb]++;
    if (fb->count == fb->cap) {
        /* Lost in the buffer, but the uTLB still waits for a replay: it stays outstanding. */
        stall(fb, f->ctx, f->utlb);
        fb->dropped++;
        return GPUSIM__GPU_FAULT_DROPPED;
    }
    gpusim__gpu_faultbuf_entry *e = &fb->ring[slot(fb, fb->count)];
    e->f = *f;
    e->seq = fb->next_seq++;
    e->epoch = fb->replays;
    fb->count++;
    if (fb->count > fb->peak)
        fb->peak = fb->count;
    fb->queued++;
    fb->queued_since_fetch = true;
    return GPUSIM__GPU_FAULT_QUEUED;
}

bool gpusim__gpu_faultbuf_irq_due(const gpusim__gpu_faultbuf *fb)
{
    return fb != NULL && fb->queued_since_fetch && !fb->irq_taken && fb->count > 0;
}

bool gpusim__gpu_faultbuf_irq_take(gpusim__gpu_faultbuf *fb)
{
    if (!gpusim__gpu_faultbuf_irq_due(fb))
        return false;
    fb->irq_taken = true;
    fb->interrupts++;
    return true;
}

/* ------------------------------------------------------------------------------------------- */
/* Fetch: pop, sort, coalesce                                                                  */
/* ------------------------------------------------------------------------------------------- */

/* The sort key (context, VA, arrival): total, since arrival numbers are unique. */
static inline bool key_less(const gpusim__gpu_fault_coalesced *a,
                            const gpusim__gpu_fault_coalesced *b)
{
    if (a->f.ctx != b->f.ctx)
        return a->f.ctx < b->f.ctx;
    if (a->f.va != b->f.va)
        return a->f.va < b->f.va;
    return a->seq < b->seq;
}

static void sift_down(gpusim__gpu_fault_coalesced *a, size_t i, size_t n)
{
    gpusim__gpu_fault_coalesced x = a[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && key_less(&a[c], &a[c + 1]))
            c++;
        if (!key_less(&x, &a[c]))
            break;
        a[i] = a[c];
        i = c;
    }
    a[i] = x;
}

static void heapsort(gpusim__gpu_fault_coalesced *a, size_t n)
{
    for (size_t i = n / 2; i-- > 0;)
        sift_down(a, i, n);
    for (size_t end = n; end-- > 1;) {
        gpusim__gpu_fault_coalesced t = a[0];
        a[0] = a[end];
        a[end] = t;
        sift_down(a, 0, end);
    }
}

int gpusim__gpu_faultbuf_fetch(gpusim__gpu_faultbuf *fb, gpusim__gpu_fault_coalesced *out,
                               uint32_t max, gpusim__gpu_faultbuf_fetch_info *info)
{
    if (fb == NULL || fb->ring == NULL || out == NULL || max == 0)
        return GPUSIM_EINVAL;
    uint32_t raw = fb->count < max ? fb->count : max;
    for (uint32_t i = 0; i < raw; i++) {
        const gpusim__gpu_faultbuf_entry *e = &fb->ring[slot(fb, i)];
        /* A fetched current-epoch fault stays outstanding until the replay: record it. */
        if (current(fb, e))
            stall(fb, e->f.ctx, e->f.utlb);
        out[i].f = e->f;
        out[i].seq = e->seq;
        out[i].dups = 0;
    }
    fb->head = slot(fb, raw);
    fb->count -= raw;
    fb->queued_since_fetch = false;
    fb->irq_taken = false;

    heapsort(out, raw);
    uint32_t unique = 0;
    for (uint32_t i = 0; i < raw; i++) {
        gpusim__gpu_fault_coalesced *u = unique > 0 ? &out[unique - 1] : NULL;
        if (u != NULL && u->f.ctx == out[i].f.ctx && u->f.va == out[i].f.va) {
            /* Sorted by arrival within a page, so u is the earliest; only merge the access. */
            if (out[i].f.access == GPUSIM__GPU_FAULT_WRITE)
                u->f.access = GPUSIM__GPU_FAULT_WRITE;
            u->dups++;
        } else {
            out[unique++] = out[i];
        }
    }
    fb->fetched_raw += raw;
    fb->unique += unique;
    fb->duplicates += raw - unique;
    if (info != NULL) {
        info->raw = raw;
        info->unique = unique;
        info->duplicates = raw - unique;
        info->remaining = fb->count;
    }
    return (int)unique;
}

/* ------------------------------------------------------------------------------------------- */
/* Replay and cancel                                                                           */
/* ------------------------------------------------------------------------------------------- */

int gpusim__gpu_faultbuf_next_action(const gpusim__gpu_faultbuf *fb)
{
    if (fb == NULL || fb->ring == NULL)
        return GPUSIM_EINVAL;
    switch (fb->policy) {
    case GPUSIM__GPU_REPLAY_BATCH:
        return GPUSIM__GPU_FAULT_DO_REPLAY;
    case GPUSIM__GPU_REPLAY_BATCH_FLUSH:
        return GPUSIM__GPU_FAULT_DO_REPLAY_FLUSH;
    default:
        /* ONCE: drain the ring first; what arrives while draining is serviced before replaying. */
        return fb->count > 0 ? GPUSIM__GPU_FAULT_DO_FETCH_MORE : GPUSIM__GPU_FAULT_DO_REPLAY;
    }
}

int gpusim__gpu_faultbuf_replay(gpusim__gpu_faultbuf *fb, bool flush)
{
    if (fb == NULL || fb->ring == NULL)
        return GPUSIM_EINVAL;
    uint32_t flushed = 0;
    if (flush) {
        flushed = fb->count;
        fb->flushed += flushed;
        fb->head = slot(fb, fb->count);
        fb->count = 0;
        /* The driver has looked at (and emptied) the ring: the interrupt episode ends, so that
         * the next fault raises a new one even if this episode's interrupt is still in flight. */
        fb->queued_since_fetch = false;
        fb->irq_taken = false;
    }
    memset(fb->outstanding, 0, (size_t)fb->nutlb * sizeof(*fb->outstanding));
    fb->nstalled = 0;
    fb->replays++; /* entries still in the ring are now stale */
    return (int)flushed;
}

int gpusim__gpu_faultbuf_cancel(gpusim__gpu_faultbuf *fb, uint32_t ctx)
{
    if (fb == NULL || fb->ring == NULL)
        return GPUSIM_EINVAL;
    /* Compact the ring in place, keeping the other contexts' entries in arrival order. */
    uint32_t kept = 0;
    for (uint32_t i = 0; i < fb->count; i++) {
        gpusim__gpu_faultbuf_entry *e = &fb->ring[slot(fb, i)];
        if (e->f.ctx == ctx) {
            if (current(fb, e))
                fb->outstanding[e->f.utlb]--;
            continue;
        }
        if (kept != i)
            fb->ring[slot(fb, kept)] = *e;
        kept++;
    }
    uint32_t removed = fb->count - kept;
    fb->count = kept;
    fb->cancelled += removed;
    size_t keep = 0;
    for (size_t i = 0; i < fb->nstalled; i++) {
        if (fb->stl[i].ctx == ctx) {
            fb->outstanding[fb->stl[i].utlb]--;
            continue;
        }
        fb->stl[keep++] = fb->stl[i];
    }
    fb->nstalled = keep;
    return (int)removed;
}

/* ------------------------------------------------------------------------------------------- */
/* Checker                                                                                     */
/* ------------------------------------------------------------------------------------------- */

bool gpusim__gpu_faultbuf_check(const gpusim__gpu_faultbuf *fb)
{
    if (fb == NULL || fb->ring == NULL || fb->outstanding == NULL || fb->stl == NULL)
        return false;
    if (fb->cap == 0 || fb->head >= fb->cap || fb->count > fb->cap || fb->count > fb->peak ||
        fb->peak > fb->cap || fb->nstalled > (size_t)fb->nutlb * fb->limit)
        return false;
    if (fb->policy < GPUSIM__GPU_REPLAY_BATCH || fb->policy > GPUSIM__GPU_REPLAY_ONCE)
        return false;
    /* Recount every uTLB's outstanding faults from the ring and the stalled records. */
    uint32_t tally[GPUSIM__GPU_FAULTBUF_MAX_UTLBS]; /* 16 KiB at most */
    memset(tally, 0, (size_t)fb->nutlb * sizeof(tally[0]));
    for (uint32_t i = 0; i < fb->count; i++) {
        const gpusim__gpu_faultbuf_entry *e = &fb->ring[slot(fb, i)];
        if (e->f.utlb >= fb->nutlb || e->f.access > GPUSIM__GPU_FAULT_WRITE ||
            (e->f.va & (GPUSIM__GPU_PAGE_SIZE - 1)) != 0 || e->f.va >= GPUSIM__GPU_VA_LIMIT ||
            e->epoch > fb->replays || e->seq >= fb->next_seq)
            return false;
        if (i > 0 && fb->ring[slot(fb, i - 1)].seq >= e->seq)
            return false;
        if (current(fb, e))
            tally[e->f.utlb]++;
    }
    for (size_t i = 0; i < fb->nstalled; i++) {
        if (fb->stl[i].utlb >= fb->nutlb)
            return false;
        tally[fb->stl[i].utlb]++;
    }
    for (uint32_t u = 0; u < fb->nutlb; u++)
        if (tally[u] != fb->outstanding[u] || fb->outstanding[u] > fb->limit)
            return false;
    /* Counters. */
    if (fb->pushed != fb->queued + fb->throttled + fb->dropped ||
        fb->queued != fb->fetched_raw + fb->flushed + fb->cancelled + fb->count ||
        fb->fetched_raw != fb->unique + fb->duplicates || fb->next_seq != fb->queued)
        return false;
    /* The interrupt of an episode is taken only once a fault was queued in it. */
    if (fb->irq_taken && !fb->queued_since_fetch)
        return false;
    return true;
}
