/*
 * core/event.c -- the event queue (4-ary heap, see core/event.h), the public event API and the run
 * loop that dispatches events in (time, insertion sequence) order.
 *
 * Dispatch contract: an event is removed from the queue before its callback runs, the clock is set
 * to its time, and the callback may then schedule, reschedule or cancel anything, itself included.
 * Nothing here allocates except queue growth in push(), so the steady-state cost of an event is one
 * push and one pop. After each callback the world's event hook runs, if one is set (invariant
 * checks after every event: gpusim_world_set_event_hook).
 */
#include <string.h>

#include "core/compiler.h"
#include "core/event.h"
#include "core/log.h"
#include "core/world.h"

#define ARITY 4

/* ------------------------------------------------------------------------------------------- */
/* The heap                                                                                    */
/* ------------------------------------------------------------------------------------------- */

/*
 * (a.when, a.seq) < (b.when, b.seq), without a branch: the outcome of a heap comparison is a coin
 * toss, so a branch on it mispredicts about half the time; bitwise operators on the three compare
 * results let the compiler produce flag-setting instructions instead of jumps.
 */
static inline bool key_less(const gpusim__qent *a, const gpusim__qent *b)
{
#ifdef __SIZEOF_INT128__
    /* One 128-bit comparison: compare the low halves, subtract the high ones with the borrow. */
    unsigned __int128 ka = (unsigned __int128)a->when << 64 | a->seq;
    unsigned __int128 kb = (unsigned __int128)b->when << 64 | b->seq;
    return ka < kb;
#else
    return (a->when < b->when) | ((a->when == b->when) & (a->seq < b->seq));
#endif
}

static inline void place(gpusim__queue *q, size_t i, gpusim__qent e)
{
    q->ents[i] = e;
    e.ev->index_ = (uint32_t)i;
}

/* Moves entry `e` up from hole `i` until its parent is not larger, then stores it. */
static void sift_up(gpusim__queue *q, size_t i, gpusim__qent e)
{
    while (i > 0) {
        size_t parent = (i - 1) / ARITY;
        if (!key_less(&e, &q->ents[parent]))
            break;
        place(q, i, q->ents[parent]);
        i = parent;
    }
    place(q, i, e);
}

/*
 * The smallest of the children first .. last - 1 (at least one). A full family of four, the
 * common case, is a branch-free tournament: two pairs, then their winners.
 */
static inline size_t min_child(const gpusim__qent *ents, size_t first, size_t last)
{
    if (GPUSIM_LIKELY(last - first == ARITY)) {
        size_t a = first + key_less(&ents[first + 1], &ents[first]);
        size_t b = first + 2 + key_less(&ents[first + 3], &ents[first + 2]);
        size_t take_b = (size_t)0 - (size_t)key_less(&ents[b], &ents[a]); /* all ones or 0 */
        return a ^ ((a ^ b) & take_b); /* not `?:`, which compilers turn back into a jump */
    }
    size_t best = first;
    for (size_t c = first + 1; c < last; c++)
        if (key_less(&ents[c], &ents[best]))
            best = c;
    return best;
}

/* Moves entry `e` down from hole `i` until no child is smaller, then stores it. */
static void sift_down(gpusim__queue *q, size_t i, gpusim__qent e)
{
    for (;;) {
        size_t first = ARITY * i + 1;
        if (first >= q->n)
            break;
        size_t best = min_child(q->ents, first, GPUSIM_MIN(first + ARITY, q->n));
        if (!key_less(&q->ents[best], &e))
            break;
        place(q, i, q->ents[best]);
        i = best;
    }
    place(q, i, e);
}

/* Re-establishes heap order for an entry whose key changed (or that replaced another) at `i`. */
static void fix(gpusim__queue *q, size_t i, gpusim__qent e)
{
    if (i > 0 && key_less(&e, &q->ents[(i - 1) / ARITY]))
        sift_up(q, i, e);
    else
        sift_down(q, i, e);
}

/*
 * Removes the root (the next event to run). Bottom-up: the hole left at the root moves down along
 * the smaller children to a leaf, without comparing against the entry that will fill it, and the
 * last entry then sifts up from there. The last entry is a leaf and so is usually among the
 * largest keys: it goes back up a level or none, so this costs one min_child per level instead of
 * a min_child and a comparison, and the descent has no data-dependent branch.
 */
static void pop_root(gpusim__queue *q)
{
    gpusim_event_t *ev = q->ents[0].ev;
    size_t n = --q->n;
    gpusim__qent last = q->ents[n];
    size_t i = 0;
    if (n > 0) {
        for (size_t first = 1; first < n; first = ARITY * i + 1) {
            size_t best = min_child(q->ents, first, GPUSIM_MIN(first + ARITY, n));
            place(q, i, q->ents[best]);
            i = best;
        }
        sift_up(q, i, last);
    }
    ev->index_ = GPUSIM__NOT_QUEUED;
    ev->world_ = NULL;
}

/* Removes the entry at `i`, leaving its event marked as not queued. */
static void remove_at(gpusim__queue *q, size_t i)
{
    gpusim_event_t *ev = q->ents[i].ev;
    gpusim__qent last = q->ents[--q->n];
    if (i < q->n)
        fix(q, i, last);
    ev->index_ = GPUSIM__NOT_QUEUED;
    ev->world_ = NULL;
}

int gpusim__queue_init(gpusim__queue *q, gpusim__arena *a, size_t cap)
{
    memset(q, 0, sizeof(*q));
    if (cap == 0)
        cap = GPUSIM__EVENT_DEFAULT_CAPACITY;
    return gpusim__arena_grow(a, (void **)&q->ents, &q->cap, cap, sizeof(gpusim__qent));
}

void gpusim__queue_destroy(gpusim__queue *q, gpusim__arena *a)
{
    gpusim__arena_free(a, q->ents, q->cap * sizeof(gpusim__qent));
    memset(q, 0, sizeof(*q));
}

bool gpusim__queue_check(const gpusim__queue *q, const gpusim_world_t *w)
{
    if (q->n + q->reserved > q->cap || q->peak < q->n)
        return false;
    for (size_t i = 0; i < q->n; i++) {
        const gpusim__qent *e = &q->ents[i];
        if (e->ev == NULL || e->ev->index_ != i || e->ev->world_ != w || e->ev->when_ != e->when)
            return false;
        if (e->seq >= q->next_seq)
            return false;
        if (i > 0 && key_less(e, &q->ents[(i - 1) / ARITY]))
            return false;
    }
    return true;
}

/* ------------------------------------------------------------------------------------------- */
/* Public event API                                                                            */
/* ------------------------------------------------------------------------------------------- */

void gpusim_event_init(gpusim_event_t *ev, gpusim_event_cb cb, void *data)
{
    if (ev == NULL)
        return;
    memset(ev, 0, sizeof(*ev));
    ev->data = data;
    ev->cb_ = cb;
    ev->index_ = GPUSIM__NOT_QUEUED;
}

bool gpusim_event_pending(const gpusim_event_t *ev)
{
    return ev != NULL && ev->world_ != NULL;
}

gpusim_time_t gpusim_event_time(const gpusim_event_t *ev)
{
    return ev != NULL ? ev->when_ : 0;
}

/* True if `ev` is pending in `w` and the queue agrees. Guards against foreign or corrupt events. */
static bool queued_in(const gpusim_world_t *w, const gpusim_event_t *ev)
{
    return ev->world_ == w && GPUSIM_ALWAYS(ev->index_ < w->queue.n) &&
           GPUSIM_ALWAYS(w->queue.ents[ev->index_].ev == ev);
}

/* Makes room for `extra` more entries beyond those in use and reserved. */
static int ensure_room(gpusim_world_t *w, size_t extra)
{
    gpusim__queue *q = &w->queue;
    size_t need = q->n + q->reserved + extra;
    if (GPUSIM_LIKELY(need <= q->cap))
        return 0;
    if (need > GPUSIM__EVENT_MAX_PENDING)
        return GPUSIM_ENOSPC;
    return gpusim__arena_grow(&w->arena, (void **)&q->ents, &q->cap, need, sizeof(gpusim__qent));
}

/* Inserts a non-pending event; the caller has made sure there is room. */
static void insert(gpusim_world_t *w, gpusim_event_t *ev, gpusim_time_t when)
{
    gpusim__queue *q = &w->queue;
    ev->when_ = when;
    ev->world_ = w;
    gpusim__qent e = {when, q->next_seq++, ev};
    q->nscheduled++;
    q->n++;
    if (q->n > q->peak)
        q->peak = q->n;
    sift_up(q, q->n - 1, e);
}

static int push(gpusim_world_t *w, gpusim_event_t *ev, gpusim_time_t when)
{
    int rc = ensure_room(w, 1);
    if (rc != 0)
        return rc;
    insert(w, ev, when);
    return 0;
}

int gpusim__queue_reserve(gpusim_world_t *w, size_t k)
{
    int rc = ensure_room(w, k);
    if (rc != 0)
        return rc;
    w->queue.reserved += k;
    return 0;
}

void gpusim__queue_unreserve(gpusim_world_t *w, size_t k)
{
    GPUSIM_ASSERT(w->queue.reserved >= k);
    w->queue.reserved -= k;
}

void gpusim__event_schedule_reserved(gpusim_world_t *w, gpusim_event_t *ev, gpusim_time_t when)
{
    GPUSIM_ASSERT(w->queue.reserved > 0 && ev->world_ == NULL && when >= w->now);
    w->queue.reserved--;
    insert(w, ev, when);
}

int gpusim_event_schedule(gpusim_world_t *w, gpusim_event_t *ev, gpusim_time_t when)
{
    if (w == NULL || ev == NULL || ev->cb_ == NULL || when < w->now)
        return GPUSIM_EINVAL;
    if (ev->world_ != NULL)
        return GPUSIM_EBUSY;
    return push(w, ev, when);
}

int gpusim_event_schedule_after(gpusim_world_t *w, gpusim_event_t *ev, gpusim_time_t delay)
{
    if (w == NULL || ev == NULL || ev->cb_ == NULL)
        return GPUSIM_EINVAL;
    if (delay > GPUSIM_TIME_MAX - w->now)
        return GPUSIM_EOVERFLOW;
    return gpusim_event_schedule(w, ev, w->now + delay);
}

int gpusim_event_reschedule(gpusim_world_t *w, gpusim_event_t *ev, gpusim_time_t when)
{
    if (w == NULL || ev == NULL || ev->cb_ == NULL || when < w->now)
        return GPUSIM_EINVAL;
    if (ev->world_ == NULL)
        return push(w, ev, when);
    if (!queued_in(w, ev))
        return GPUSIM_EINVAL;
    /* Re-key in place: a new sequence number, as if removed and inserted again. */
    gpusim__queue *q = &w->queue;
    size_t i = ev->index_;
    gpusim__qent e = {when, q->next_seq++, ev};
    ev->when_ = when;
    q->nscheduled++;
    fix(q, i, e);
    return 0;
}

int gpusim_event_cancel(gpusim_world_t *w, gpusim_event_t *ev)
{
    if (w == NULL || ev == NULL)
        return GPUSIM_EINVAL;
    if (ev->world_ == NULL)
        return GPUSIM_ENOENT;
    if (!queued_in(w, ev))
        return GPUSIM_EINVAL;
    remove_at(&w->queue, ev->index_);
    w->queue.ncancelled++;
    return 0;
}

size_t gpusim_world_pending(const gpusim_world_t *w)
{
    return w != NULL ? w->queue.n : 0;
}

gpusim_time_t gpusim_world_next_time(const gpusim_world_t *w)
{
    return w != NULL && w->queue.n > 0 ? w->queue.ents[0].when : GPUSIM_TIME_MAX;
}

uint64_t gpusim_world_events_run(const gpusim_world_t *w)
{
    return w != NULL ? w->events_run : 0;
}

/* ------------------------------------------------------------------------------------------- */
/* The run loop                                                                                */
/* ------------------------------------------------------------------------------------------- */

/* How a dispatch loop ended. */
typedef enum dispatch_end {
    RAN_OUT, /* No event left within the limits. */
    STOPPED, /* gpusim_world_stop() was called. */
    FREED    /* gpusim_world_free() was called from a callback: the world is gone. */
} dispatch_end;

/*
 * Runs events with time <= limit, at most max_events of them; *ran counts them. The caller has
 * checked reentrancy. When this returns FREED, `w` has been freed and must not be touched.
 */
static dispatch_end dispatch(gpusim_world_t *w, gpusim_time_t limit, uint64_t max_events,
                             uint64_t *ran)
{
    gpusim__queue *q = &w->queue;
    uint64_t n = 0;
    w->running = true;
    w->stop_requested = false;
    while (n < max_events && q->n > 0 && q->ents[0].when <= limit) {
        gpusim_event_t *ev = q->ents[0].ev;
        w->now = q->ents[0].when;
        pop_root(q);
        n++;
        w->events_run++;
        GPUSIM_LOG(w, GPUSIM_LOG_TRACE, "event", "run event due at %llu ns",
                   (unsigned long long)w->now);
        /* The callback may free `ev`: nothing below reads it again. */
        ev->cb_(w, ev);
        /* The per-event check hook: one predictable branch when unset. Not after a callback
         * that freed the world (free_requested: the hook would inspect objects being torn down). */
        if (GPUSIM_UNLIKELY(w->event_hook != NULL) && !w->free_requested)
            w->event_hook(w->event_hook_ud, w);
        if (GPUSIM_UNLIKELY(w->stop_requested))
            break;
    }
#ifdef GPUSIM_DEBUG
    GPUSIM_ASSERT(gpusim__queue_check(q, w));
#endif
    *ran = n;
    w->running = false;
    if (GPUSIM_UNLIKELY(w->free_requested)) {
        gpusim__world_release(w);
        return FREED;
    }
    dispatch_end end = w->stop_requested ? STOPPED : RAN_OUT;
    w->stop_requested = false;
    return end;
}

int gpusim_world_run_until(gpusim_world_t *w, gpusim_time_t until)
{
    if (w == NULL || until < w->now)
        return GPUSIM_EINVAL;
    if (w->running)
        return GPUSIM_EBUSY;
    uint64_t ran;
    if (dispatch(w, until, UINT64_MAX, &ran) != RAN_OUT)
        return GPUSIM_ECANCELED;
    w->now = until;
    return 0;
}

int gpusim_world_run(gpusim_world_t *w)
{
    if (w == NULL)
        return GPUSIM_EINVAL;
    if (w->running)
        return GPUSIM_EBUSY;
    uint64_t ran;
    return dispatch(w, GPUSIM_TIME_MAX, UINT64_MAX, &ran) == RAN_OUT ? 0 : GPUSIM_ECANCELED;
}

int64_t gpusim_world_run_events(gpusim_world_t *w, uint64_t n)
{
    if (w == NULL)
        return GPUSIM_EINVAL;
    if (w->running)
        return GPUSIM_EBUSY;
    if (n > INT64_MAX)
        n = INT64_MAX;
    uint64_t ran;
    dispatch(w, GPUSIM_TIME_MAX, n, &ran);
    return (int64_t)ran;
}

int gpusim_world_set_event_hook(gpusim_world_t *w, gpusim_event_hook_cb cb, void *ud)
{
    if (w == NULL)
        return GPUSIM_EINVAL;
    w->event_hook = cb;
    w->event_hook_ud = cb != NULL ? ud : NULL;
    return 0;
}

void gpusim_world_stop(gpusim_world_t *w)
{
    if (w != NULL && w->running)
        w->stop_requested = true;
}
