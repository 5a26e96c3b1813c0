/*
 * mirror/waits.c -- invalidations that make their invalidator wait, and how long.
 *
 * A notifier callback that must wait answers GPUSIM_NOTIFIER_WAIT with a completion. Each such
 * answer gets its own record here: the condition it waits for (a fence value of the driver's
 * timeline: fence-wait; the eviction having completed: fence-reload; nothing: refault's TLB
 * invalidation), then `extra` time (the zap's PTE writes and TLB invalidation, done once the GPU
 * is stopped), then the completion is signalled and the time since the callback is added to the
 * driver's blocked_ns.<invalidator>. One record per callback keeps that per-driver figure exact
 * even when several invalidations wait on the same job.
 *
 * Invariant: a record is on drv->waits from creation until it signals; it is freed right after
 * signalling, which is safe because signalling dequeues every waiter (gpusim/completion.h) and
 * the record's timer has fired.
 */
#include "mirror/mirror.h"
#include "core/alloc.h"

static void wait_signal(gpusim__inv_wait *iw)
{
    gpusim_driver_t *d = iw->drv;
    gpusim__inv_wait **pp = &d->waits;
    while (*pp != iw)
        pp = &(*pp)->next;
    *pp = iw->next;
    gpusim__stat_add(d->st.blocked[iw->by], drv_now(d) - iw->start);
    (void)gpusim_completion_signal(d->world, &iw->c);
    gpusim__arena_free(&d->world->arena, iw, sizeof *iw);
}

static void wait_timer(gpusim_world_t *w, gpusim_event_t *ev)
{
    (void)w;
    wait_signal(ev->data);
}

/* The condition holds: zap, wait what it costs (`extra`), then signal. */
static void wait_ready(gpusim__inv_wait *iw)
{
    if (iw->zap_buf)
        gpusim__zap(iw->zap_buf, iw->zap_start, iw->zap_end, &iw->extra);
    iw->until = WAIT_TIME;
    if (iw->extra == 0 ||
        gpusim_event_schedule(iw->drv->world, &iw->ev, drv_now(iw->drv) + iw->extra) != 0)
        wait_signal(iw);
}

static bool wait_holds(const gpusim__inv_wait *iw)
{
    const gpusim_driver_t *d = iw->drv;
    switch (iw->until) {
    case WAIT_SEQ:
        return d->done_seq >= iw->seq || gpusim_gpu_ctx_error(d->ctx);
    case WAIT_EVICTED:
        return d->evict_done || gpusim_gpu_ctx_error(d->ctx);
    default:
        return false; /* WAIT_TIME: its timer */
    }
}

static gpusim_notifier_answer_t wait_new(gpusim_driver_t *d, int until, uint64_t seq,
                                         gpusim_time_t extra, gpusim_buffer_t *b, uint64_t start,
                                         uint64_t end, gpusim_invalidator_t by,
                                         gpusim_completion_t **wait_on)
{
    gpusim__inv_wait *iw = gpusim__arena_zalloc(&d->world->arena, sizeof *iw);
    if (!iw) {
        /* docs/mirror.md "Resource failures": without memory to wait, zap now and go on. */
        if (b)
            gpusim__zap(b, start, end, NULL);
        return GPUSIM_NOTIFIER_DONE;
    }
    iw->drv = d;
    iw->until = until;
    iw->seq = seq;
    iw->extra = extra;
    iw->zap_buf = b;
    iw->zap_start = start;
    iw->zap_end = end;
    iw->by = (unsigned)by < GPUSIM_INVALIDATOR_COUNT ? by : GPUSIM_INVALIDATOR_OTHER;
    iw->start = drv_now(d);
    gpusim_completion_init(&iw->c, iw);
    gpusim_event_init(&iw->ev, wait_timer, iw);
    iw->next = d->waits;
    d->waits = iw;
    if (until != WAIT_TIME && !wait_holds(iw)) {
        *wait_on = &iw->c;
        return GPUSIM_NOTIFIER_WAIT;
    }
    if (b)
        gpusim__zap(b, start, end, &iw->extra);
    iw->zap_buf = NULL;
    iw->until = WAIT_TIME;
    if (iw->extra == 0 || gpusim_event_schedule(d->world, &iw->ev, drv_now(d) + iw->extra) != 0) {
        d->waits = iw->next; /* nothing to wait for (or no room to): answer DONE */
        gpusim__arena_free(&d->world->arena, iw, sizeof *iw);
        return GPUSIM_NOTIFIER_DONE;
    }
    *wait_on = &iw->c;
    return GPUSIM_NOTIFIER_WAIT;
}

gpusim_notifier_answer_t gpusim__wait_time(gpusim_driver_t *d, gpusim_time_t t,
                                           gpusim_invalidator_t by, gpusim_completion_t **wait_on)
{
    return wait_new(d, WAIT_TIME, 0, t, NULL, 0, 0, by, wait_on);
}

gpusim_notifier_answer_t gpusim__wait_then_zap(gpusim_driver_t *d, int until, uint64_t seq,
                                               gpusim_buffer_t *b, uint64_t start, uint64_t end,
                                               gpusim_invalidator_t by,
                                               gpusim_completion_t **wait_on)
{
    return wait_new(d, until, seq, 0, b, start, end, by, wait_on);
}

void gpusim__waits_poke(gpusim_driver_t *d)
{
    gpusim__inv_wait *iw = d->waits;
    while (iw) {
        gpusim__inv_wait *next = iw->next;
        if (iw->until != WAIT_TIME && wait_holds(iw))
            wait_ready(iw);
        iw = next;
    }
}

void gpusim__waits_destroy(gpusim_driver_t *d)
{
    while (d->waits) {
        gpusim__inv_wait *iw = d->waits;
        d->waits = iw->next;
        (void)gpusim_event_cancel(d->world, &iw->ev);
        gpusim__arena_free(&d->world->arena, iw, sizeof *iw);
    }
}
