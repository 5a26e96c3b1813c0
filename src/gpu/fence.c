/*
 * gpu/fence.c -- timeline fences (gpu/fence.h).
 *
 * A waiter has one event, used twice: while queued with a timeout it is pending at the deadline;
 * when a signal wakes the waiter it is moved to the signal's time. A waiter without a timeout has
 * no pending event while queued and instead holds one reservation in the event queue, which the
 * signal spends. Either way the signal schedules without allocating, so it cannot fail. The event
 * callback tells the two cases apart by whether the waiter is still queued: if it is, the deadline
 * came first.
 */
#include <string.h>

#include "core/compiler.h"
#include "core/event.h"
#include "core/world.h"
#include "gpu/fence.h"

static inline gpusim__gpu_fence_waiter *waiter_of(gpusim__itree_node *n)
{
    return gpusim_container_of(n, gpusim__gpu_fence_waiter, node);
}

void gpusim__gpu_fence_init(gpusim__gpu_fence *f, uint64_t initial)
{
    if (f == NULL)
        return;
    memset(f, 0, sizeof(*f));
    f->value = initial;
    gpusim__itree_init(&f->waiters);
}

void gpusim__gpu_fence_waiter_init(gpusim__gpu_fence_waiter *waiter)
{
    if (waiter == NULL)
        return;
    memset(waiter, 0, sizeof(*waiter));
    waiter->deadline = GPUSIM_TIME_MAX;
}

bool gpusim__gpu_fence_waiter_waiting(const gpusim__gpu_fence_waiter *waiter)
{
    return waiter != NULL && (waiter->on != NULL || gpusim_event_pending(&waiter->ev));
}

/* The world of the fence's queued waiters: they all share it. NULL when there are none. */
static gpusim_world_t *waiters_world(const gpusim__gpu_fence *f)
{
    gpusim__itree_node *n = gpusim__itree_min(&f->waiters);
    return n != NULL ? waiter_of(n)->world : NULL;
}

/* Whether w may operate on f: its queued waiters and its scheduled signal, if any, are in w. */
static bool world_ok(const gpusim_world_t *w, const gpusim__gpu_fence *f)
{
    gpusim_world_t *ww = waiters_world(f);
    return (ww == NULL || ww == w) && (f->timer.world_ == NULL || f->timer.world_ == w);
}

/* ------------------------------------------------------------------------------------------- */
/* Waking                                                                                      */
/* ------------------------------------------------------------------------------------------- */

/* The waiter's event: a wake-up (on == NULL) or its deadline (still queued). */
static void waiter_event(gpusim_world_t *w, gpusim_event_t *ev)
{
    gpusim__gpu_fence_waiter *waiter = ev->data;
    gpusim__gpu_fence *f = waiter->on;
    if (f != NULL) {
        gpusim__itree_remove(&f->waiters, &waiter->node);
        waiter->on = NULL;
        waiter->status = GPUSIM_EFENCETIMEDOUT;
        f->timeouts++;
    }
    waiter->cb(w, waiter, waiter->status);
}

/* Dequeues a queued waiter and schedules its wake-up at now with `status`; cannot fail. */
static void wake(gpusim_world_t *w, gpusim__gpu_fence *f, gpusim__gpu_fence_waiter *waiter,
                 int status)
{
    gpusim__itree_remove(&f->waiters, &waiter->node);
    waiter->on = NULL;
    waiter->status = status;
    if (gpusim_event_pending(&waiter->ev)) {
        /* Re-keying a pending event in place allocates nothing; it takes a new sequence number,
         * so wake-ups run in the order they are issued here. */
        int rc = gpusim_event_reschedule(w, &waiter->ev, w->now);
        (void)GPUSIM_ALWAYS(rc == 0);
    } else {
        gpusim__event_schedule_reserved(w, &waiter->ev, w->now);
    }
}

/* Sets the value and wakes, in (target, arrival) order, every waiter it satisfies. */
static void apply_signal(gpusim_world_t *w, gpusim__gpu_fence *f, uint64_t value)
{
    f->value = value;
    f->signals++;
    if (gpusim_event_pending(&f->timer) && f->timer_value <= value)
        gpusim_event_cancel(w, &f->timer); /* moot: it could only be refused later */
    gpusim__itree_node *n;
    while ((n = gpusim__itree_min(&f->waiters)) != NULL && n->start <= value) {
        wake(w, f, waiter_of(n), 0);
        f->woken++;
    }
}

int gpusim__gpu_fence_signal(gpusim_world_t *w, gpusim__gpu_fence *f, uint64_t value)
{
    if (w == NULL || f == NULL || !world_ok(w, f))
        return GPUSIM_EINVAL;
    if (f->error != 0)
        return f->error;
    if (value <= f->value)
        return GPUSIM_EINVAL;
    apply_signal(w, f, value);
    return 0;
}

static void timer_fired(gpusim_world_t *w, gpusim_event_t *ev)
{
    gpusim__gpu_fence *f = ev->data;
    /* set_error and a direct signal reaching timer_value both cancel the timer. */
    if (GPUSIM_ALWAYS(f->error == 0 && f->timer_value > f->value))
        apply_signal(w, f, f->timer_value);
}

int gpusim__gpu_fence_signal_at(gpusim_world_t *w, gpusim__gpu_fence *f, uint64_t value,
                                gpusim_time_t when)
{
    if (w == NULL || f == NULL || when < w->now || !world_ok(w, f))
        return GPUSIM_EINVAL;
    if (f->error != 0)
        return f->error;
    if (value <= f->value)
        return GPUSIM_EINVAL;
    if (gpusim_event_pending(&f->timer))
        return GPUSIM_EBUSY;
    gpusim_event_init(&f->timer, timer_fired, f);
    int rc = gpusim_event_schedule(w, &f->timer, when);
    if (rc != 0)
        return rc;
    f->timer_value = value;
    return 0;
}

int gpusim__gpu_fence_signal_cancel(gpusim_world_t *w, gpusim__gpu_fence *f)
{
    if (w == NULL || f == NULL)
        return GPUSIM_EINVAL;
    if (!gpusim_event_pending(&f->timer))
        return GPUSIM_ENOENT;
    return gpusim_event_cancel(w, &f->timer); /* GPUSIM_EINVAL if pending in another world */
}

int gpusim__gpu_fence_set_error(gpusim_world_t *w, gpusim__gpu_fence *f, int err)
{
    if (w == NULL || f == NULL || err >= 0 || !world_ok(w, f))
        return GPUSIM_EINVAL;
    if (f->error != 0)
        return GPUSIM_EBUSY;
    if (gpusim_event_pending(&f->timer))
        gpusim_event_cancel(w, &f->timer); /* in w: world_ok checked it */
    f->error = err;
    gpusim__itree_node *n;
    while ((n = gpusim__itree_min(&f->waiters)) != NULL) {
        wake(w, f, waiter_of(n), err);
        f->errors++;
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------- */
/* Waiting                                                                                     */
/* ------------------------------------------------------------------------------------------- */

int gpusim__gpu_fence_wait(gpusim_world_t *w, gpusim__gpu_fence *f, uint64_t target,
                           gpusim__gpu_fence_waiter *waiter, gpusim__gpu_fence_cb cb, void *data,
                           gpusim_time_t timeout)
{
    if (w == NULL || f == NULL || waiter == NULL || cb == NULL || !world_ok(w, f))
        return GPUSIM_EINVAL;
    if (gpusim__gpu_fence_waiter_waiting(waiter))
        return GPUSIM_EBUSY;
    waiter->data = data;
    waiter->since = w->now;
    f->waits++;
    if (f->value >= target) {
        f->immediate++;
        return 0;
    }
    if (f->error != 0) {
        f->errors++;
        return f->error;
    }
    if (timeout == 0) {
        f->timeouts++;
        return GPUSIM_EFENCETIMEDOUT;
    }
    gpusim_time_t deadline =
        timeout >= GPUSIM_TIME_MAX - w->now ? GPUSIM_TIME_MAX : w->now + timeout;
    gpusim_event_init(&waiter->ev, waiter_event, waiter);
    /* With a deadline the event is queued now; without one, room for the wake-up is reserved. */
    int rc = deadline == GPUSIM_TIME_MAX ? gpusim__queue_reserve(w, 1)
                                         : gpusim_event_schedule(w, &waiter->ev, deadline);
    if (rc != 0) {
        f->waits--; /* nothing happened */
        return rc;
    }
    waiter->cb = cb;
    waiter->world = w;
    waiter->deadline = deadline;
    waiter->status = 0;
    waiter->on = f;
    waiter->node.start = waiter->node.last = target;
    waiter->node.order = f->next_order++;
    gpusim__itree_insert(&f->waiters, &waiter->node);
    return GPUSIM_EINPROGRESS;
}

int gpusim__gpu_fence_waiter_cancel(gpusim_world_t *w, gpusim__gpu_fence_waiter *waiter)
{
    if (w == NULL || waiter == NULL)
        return GPUSIM_EINVAL;
    if (!gpusim__gpu_fence_waiter_waiting(waiter))
        return GPUSIM_ENOENT;
    if (waiter->world != w)
        return GPUSIM_EINVAL;
    gpusim__gpu_fence *f = waiter->on;
    if (gpusim_event_pending(&waiter->ev))
        gpusim_event_cancel(w, &waiter->ev); /* woken, or queued with a deadline */
    else
        gpusim__queue_unreserve(w, 1); /* queued without a deadline: return the reservation */
    if (f != NULL) {
        gpusim__itree_remove(&f->waiters, &waiter->node);
        waiter->on = NULL;
        f->cancels++;
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------- */
/* Checker                                                                                     */
/* ------------------------------------------------------------------------------------------- */

bool gpusim__gpu_fence_check(const gpusim_world_t *w, const gpusim__gpu_fence *f)
{
    if (w == NULL || f == NULL || !gpusim__itree_check(&f->waiters))
        return false;
    if (f->error > 0 || (f->error != 0 && f->waiters.count != 0))
        return false;
    if (gpusim_event_pending(&f->timer) &&
        (f->error != 0 || f->timer_value <= f->value || f->timer.world_ != w))
        return false;
    size_t untimed = 0;
    for (gpusim__itree_node *n = gpusim__itree_min(&f->waiters); n != NULL;
         n = gpusim__itree_successor(n)) {
        const gpusim__gpu_fence_waiter *x = waiter_of(n);
        if (x->on != f || x->world != w || n->start != n->last || n->start <= f->value ||
            n->order >= f->next_order || x->cb == NULL)
            return false;
        bool timed = x->deadline != GPUSIM_TIME_MAX;
        if (gpusim_event_pending(&x->ev) != timed ||
            (timed && gpusim_event_time(&x->ev) != x->deadline))
            return false;
        untimed += !timed;
    }
    /* Each waiter without a deadline holds one reservation (others may hold more). */
    return w->queue.reserved >= untimed;
}
