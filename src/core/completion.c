/*
 * core/completion.c -- completions and waiters (see gpusim/completion.h).
 *
 * A waiter is in one of three states:
 *
 *     idle --wait()--> queued --signal()--> woken --its event runs--> idle (callback called)
 *                        |                    |
 *                        +-----cancel()-------+-----> idle (no callback)
 *
 *   queued: on_ != NULL, linked in on_'s FIFO;
 *   woken:  on_ == NULL, ev_ pending at the signal's time;
 *   idle:   on_ == NULL, ev_ not pending.
 *
 * Every queued waiter holds one reservation in the world's event queue (core/event.h), taken when it
 * starts waiting and spent when the signal schedules its wake-up (or returned on cancel). That is why
 * a signal, which may come from a timer callback with nobody to report an error to, cannot fail.
 *
 * Invariants: a completion that is done has no queued waiters; all queued waiters of a completion
 * carry the same world_, and each holds one reservation in that world's queue.
 *
 * Modules that must not fail at the moment they wait (an invalidation whose callbacks have already
 * run) take the reservation earlier with gpusim__queue_reserve() and queue with
 * gpusim__completion_enqueue(), which cannot fail.
 */
#include <string.h>

#include "core/compiler.h"
#include "core/completion.h"
#include "core/event.h"
#include "core/world.h"

void gpusim_completion_init(gpusim_completion_t *c, void *data)
{
    if (c == NULL)
        return;
    memset(c, 0, sizeof(*c));
    c->data = data;
    c->done_at_ = GPUSIM_TIME_MAX;
}

void gpusim_waiter_init(gpusim_waiter_t *waiter)
{
    if (waiter != NULL)
        memset(waiter, 0, sizeof(*waiter));
}

bool gpusim_completion_done(const gpusim_completion_t *c)
{
    return c != NULL && c->done_;
}

gpusim_time_t gpusim_completion_time(const gpusim_completion_t *c)
{
    return c != NULL && c->done_ ? c->done_at_ : GPUSIM_TIME_MAX;
}

bool gpusim_waiter_waiting(const gpusim_waiter_t *waiter)
{
    return waiter != NULL && (waiter->on_ != NULL || gpusim_event_pending(&waiter->ev_));
}

gpusim_time_t gpusim_waiter_since(const gpusim_waiter_t *waiter)
{
    return waiter != NULL ? waiter->since_ : 0;
}

/* The wake-up event of a waiter: it is idle again before its callback runs, so it may re-wait. */
static void wake(gpusim_world_t *w, gpusim_event_t *ev)
{
    gpusim_waiter_t *waiter = ev->data;
    waiter->cb_(w, waiter);
}

int gpusim_completion_signal(gpusim_world_t *w, gpusim_completion_t *c)
{
    if (w == NULL || c == NULL || (c->head_ != NULL && c->head_->world_ != w))
        return GPUSIM_EINVAL;
    if (c->done_)
        return 0;
    if (gpusim_event_pending(&c->timer_))
        gpusim_event_cancel(w, &c->timer_);
    c->done_ = true;
    c->done_at_ = w->now;
    gpusim_waiter_t *waiter = c->head_;
    c->head_ = c->tail_ = NULL;
    while (waiter != NULL) {
        gpusim_waiter_t *next = waiter->next_;
        waiter->next_ = NULL;
        waiter->on_ = NULL;
        gpusim__event_schedule_reserved(w, &waiter->ev_, w->now);
        waiter = next;
    }
    return 0;
}

static void timer_fired(gpusim_world_t *w, gpusim_event_t *ev)
{
    gpusim_completion_signal(w, ev->data);
}

int gpusim_completion_signal_at(gpusim_world_t *w, gpusim_completion_t *c, gpusim_time_t when)
{
    if (w == NULL || c == NULL || when < w->now)
        return GPUSIM_EINVAL;
    if (c->done_ || gpusim_event_pending(&c->timer_))
        return GPUSIM_EBUSY;
    gpusim_event_init(&c->timer_, timer_fired, c);
    return gpusim_event_schedule(w, &c->timer_, when);
}

int gpusim_completion_reset(gpusim_completion_t *c)
{
    if (c == NULL)
        return GPUSIM_EINVAL;
    if (c->head_ != NULL || gpusim_event_pending(&c->timer_))
        return GPUSIM_EBUSY;
    c->done_ = false;
    c->done_at_ = GPUSIM_TIME_MAX;
    return 0;
}

void gpusim__completion_enqueue(gpusim_world_t *w, gpusim_completion_t *c, gpusim_waiter_t *waiter,
                                gpusim_waiter_cb cb, void *data)
{
    GPUSIM_ASSERT(!c->done_ && !gpusim_waiter_waiting(waiter));
    GPUSIM_ASSERT(c->head_ == NULL || c->head_->world_ == w);
    gpusim_event_init(&waiter->ev_, wake, waiter);
    waiter->data = data;
    waiter->since_ = w->now;
    waiter->world_ = w;
    waiter->cb_ = cb;
    waiter->on_ = c;
    waiter->next_ = NULL;
    if (c->tail_ != NULL)
        c->tail_->next_ = waiter;
    else
        c->head_ = waiter;
    c->tail_ = waiter;
}

int gpusim_completion_wait(gpusim_world_t *w, gpusim_completion_t *c, gpusim_waiter_t *waiter,
                           gpusim_waiter_cb cb, void *data)
{
    if (w == NULL || c == NULL || waiter == NULL || cb == NULL ||
        (c->head_ != NULL && c->head_->world_ != w))
        return GPUSIM_EINVAL;
    if (gpusim_waiter_waiting(waiter))
        return GPUSIM_EBUSY;
    if (c->done_) {
        waiter->data = data;
        waiter->since_ = w->now;
        return 0;
    }
    int rc = gpusim__queue_reserve(w, 1);
    if (rc != 0)
        return rc;
    gpusim__completion_enqueue(w, c, waiter, cb, data);
    return GPUSIM_EINPROGRESS;
}

int gpusim_waiter_cancel(gpusim_world_t *w, gpusim_waiter_t *waiter)
{
    if (w == NULL || waiter == NULL)
        return GPUSIM_EINVAL;
    if (gpusim_waiter_waiting(waiter) && waiter->world_ != w)
        return GPUSIM_EINVAL;
    if (gpusim_event_pending(&waiter->ev_))
        return gpusim_event_cancel(w, &waiter->ev_); /* woken, callback not yet run */
    gpusim_completion_t *c = waiter->on_;
    if (c == NULL)
        return GPUSIM_ENOENT;
    /* Unlink from the FIFO (waiters per completion are few; a scan is fine). */
    gpusim_waiter_t *prev = NULL;
    for (gpusim_waiter_t *it = c->head_; it != NULL; prev = it, it = it->next_) {
        if (it != waiter)
            continue;
        if (prev != NULL)
            prev->next_ = it->next_;
        else
            c->head_ = it->next_;
        if (c->tail_ == it)
            c->tail_ = prev;
        break;
    }
    waiter->next_ = NULL;
    waiter->on_ = NULL;
    gpusim__queue_unreserve(w, 1);
    return 0;
}
