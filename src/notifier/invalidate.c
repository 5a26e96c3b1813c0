/*
 * notifier/invalidate.c -- the write side: starting and ending invalidations in virtual time.
 *
 * Linux counterparts: invalidate_start = mn_itree_invalidate (with mn_itree_inv_start_range), end =
 * mn_itree_inv_end. Linux calls the overlapping subscriptions one after another on the invalidating
 * thread, and a callback that must wait for the device sleeps in place. Here a callback that must
 * wait answers GPUSIM_NOTIFIER_WAIT with a completion; the invalidation queues its own waiter on it,
 * remembers the next subscription (the tree is frozen while the domain is odd, so the pointer stays
 * good), and continues from there when the completion signals. The invalidator is told to proceed
 * through its callback, and the virtual time between its start and that moment is the time it was
 * blocked, recorded per invalidator kind. An invalidation that reached a subscription is also
 * reported to the world's trace hook when it ends or is refused (core/trace.h), with that time.
 *
 * Never failing once started: Linux never fails a blockable invalidation once its callbacks have
 * run, so neither may we. A blockable invalidation therefore reserves one event-queue entry before
 * calling anyone (gpusim__queue_reserve; the only point where it can fail, with nothing started)
 * and lends it to the waiter of each wait (gpusim__completion_enqueue, which cannot fail). After a
 * wake-up it takes a new one, which needs no memory: the wake-up event has just freed its entry.
 *
 * States of a gpusim_invalidation_t:
 *
 *   IDLE --start--> CALLING --all DONE--> STARTED --end--> IDLE
 *                    |   ^
 *              WAIT  v   | completion signalled
 *                   WAITING
 *                    (refusal of a non-blockable range, in CALLING: closed, back to IDLE)
 */
#include <string.h>

#include "core/compiler.h"
#include "core/completion.h"
#include "core/event.h"
#include "core/itree.h"
#include "core/log.h"
#include "core/stats.h"
#include "core/trace.h"
#include "notifier/notifier.h"

/* The domain's list of open invalidations (gpusim__notifier_check counts it against active). */
static void open_link(gpusim_notifier_t *n, gpusim_invalidation_t *inv)
{
    inv->open_prev_ = NULL;
    inv->open_next_ = n->open_head;
    if (n->open_head)
        n->open_head->open_prev_ = inv;
    n->open_head = inv;
}

static void open_unlink(gpusim_notifier_t *n, gpusim_invalidation_t *inv)
{
    if (inv->open_prev_)
        inv->open_prev_->open_next_ = inv->open_next_;
    else
        n->open_head = inv->open_next_;
    if (inv->open_next_)
        inv->open_next_->open_prev_ = inv->open_prev_;
    inv->open_prev_ = inv->open_next_ = NULL;
}

void gpusim_invalidation_init(gpusim_invalidation_t *inv)
{
    if (inv == NULL)
        return;
    memset(inv, 0, sizeof(*inv));
    gpusim_waiter_init(&inv->waiter_);
}

bool gpusim_invalidation_active(const gpusim_invalidation_t *inv)
{
    return inv != NULL && inv->state_ != INV_IDLE;
}

/*
 * One invalidation leaves the open set (Linux: mn_itree_inv_end). The last one to leave ends the
 * exclusive phase: the sequence becomes even, deferred inserts and removes are applied in request
 * order, and everyone waiting for the phase (readers, removers) is woken.
 */
static void leave(gpusim_notifier_t *n, gpusim_invalidation_t *inv)
{
    GPUSIM_ASSERT(n->active > 0);
    open_unlink(n, inv);
    n->active--;
    gpusim__stat_adjust(n->st.active, -1);
    if (n->active > 0 || (n->seq & 1) == 0)
        return;
    n->seq++;
    gpusim_notifier_sub_t *sub = n->deferred_head;
    n->deferred_head = n->deferred_tail = NULL;
    while (sub != NULL) {
        gpusim_notifier_sub_t *next = sub->deferred_next;
        sub->deferred_next = NULL;
        if (sub->state == SUB_PENDING_INSERT) {
            sub->state = SUB_IN_TREE;
            gpusim__itree_insert(&n->tree, &sub->node);
        } else {
            gpusim__itree_remove(&n->tree, &sub->node);
            gpusim__notifier_sub_free(n, sub);
        }
        sub = next;
    }
    if (n->phase_end.head_ != NULL) { /* readers or removers wait for this phase */
        gpusim_completion_signal(n->world, &n->phase_end);
        gpusim_completion_reset(&n->phase_end); /* its waiters are now wake-up events */
    }
}

/* Gives back the reservation an invalidation holds for its next wait, if any. */
static void drop_spare(gpusim_notifier_t *n, gpusim_invalidation_t *inv)
{
    if (inv->spare_) {
        gpusim__queue_unreserve(n->world, 1);
        inv->spare_ = 0;
    }
}

/* The invalidator stops waiting (it may proceed, or it gave up): record how long it was blocked
 * (kept for the trace, which reports the invalidation when it ends). */
static void record_blocked(gpusim_notifier_t *n, gpusim_invalidation_t *inv)
{
    inv->blocked_ns_ = n->world->now - inv->started_at_;
    gpusim__stat_record(n->st.blocked[inv->range_.invalidator], inv->blocked_ns_);
}

/*
 * Reports an invalidation that reached a subscription to the trace hook, on its invalidator's
 * track: from its start to now (its end, or its refusal), with the time it was blocked. Those
 * that reached nobody are not reported: no mirror heard of them, and kswapd's and the fault
 * path's would flood a trace.
 */
static void trace_inv(gpusim_notifier_t *n, const gpusim_invalidation_t *inv, const char *how)
{
    if (gpusim__tracing(n->world) && inv->reached_)
        gpusim__trace_span(n->world, gpusim_invalidator_name(inv->range_.invalidator),
                           inv->started_at_, n->world->now, "blocked_ns", inv->blocked_ns_,
                           "invalidate %s%s", gpusim_notifier_event_name(inv->range_.event), how);
}

/* Closes an invalidation that will not proceed (refused). */
static void close_refused(gpusim_notifier_t *n, gpusim_invalidation_t *inv)
{
    record_blocked(n, inv);
    trace_inv(n, inv, " refused");
    drop_spare(n, inv);
    inv->state_ = INV_IDLE;
    inv->notifier_ = NULL;
    leave(n, inv);
}

static void violation(gpusim_notifier_t *n, const gpusim_notifier_sub_t *sub, const char *what)
{
    gpusim__stat_add(n->st.violations, 1);
    GPUSIM_LOG(n->world, GPUSIM_LOG_WARN, "notifier",
               "subscription [0x%llx, 0x%llx] broke the callback contract: %s",
               (unsigned long long)sub->node.start, (unsigned long long)sub->node.last, what);
}

static void woken(gpusim_world_t *w, gpusim_waiter_t *waiter);

/*
 * Calls the callbacks of `sub` and the overlapping subscriptions after it, in order, until one
 * must be waited for. Returns 0 (all done: STARTED), GPUSIM_EINPROGRESS (WAITING),
 * GPUSIM_EWOULDBLOCK (refused: closed) or GPUSIM_ECANCELED (a callback freed the world outside a
 * run: it has been released, and neither `n` nor the world may be touched).
 */
static int call_from(gpusim_notifier_t *n, gpusim_invalidation_t *inv, gpusim_notifier_sub_t *sub)
{
    gpusim_world_t *w = n->world;
    const gpusim_notifier_range_t *range = &inv->range_;
    const uint64_t last = range->end - 1;
    while (sub != NULL) {
        gpusim__itree_node *next_node = gpusim__itree_next(&sub->node, range->start, last);
        gpusim_notifier_sub_t *next =
            next_node != NULL ? gpusim_container_of(next_node, gpusim_notifier_sub_t, node) : NULL;

        gpusim_completion_t *wait_on = NULL;
        gpusim_notifier_sub_t *outer = n->in_callback;
        bool outer_seq_set = n->seq_set;
        n->in_callback = sub;
        n->seq_set = false;
        gpusim__world_enter(w);
        gpusim_notifier_answer_t answer = sub->cb(sub, range, inv->cur_seq_, &wait_on);
        bool world_gone = gpusim__world_leave(w);
        bool seq_set = n->seq_set;
        n->in_callback = outer;
        n->seq_set = outer_seq_set;
        if (GPUSIM_UNLIKELY(world_gone)) {
            inv->state_ = INV_IDLE;
            inv->notifier_ = NULL;
            inv->spare_ = 0;
            gpusim__world_release(w);
            return GPUSIM_ECANCELED;
        }
        gpusim__stat_add(n->st.callbacks, 1);
        if (!seq_set)
            violation(n, sub, "did not call gpusim_notifier_set_seq");
        else if (sub->seq != inv->cur_seq_)
            violation(n, sub, "called gpusim_notifier_set_seq with a value other than cur_seq");

        switch (answer) {
        case GPUSIM_NOTIFIER_DONE:
            break;
        case GPUSIM_NOTIFIER_WOULD_BLOCK:
            if (range->blockable) {
                /* Linux WARNs and carries on: a blockable range cannot be refused. */
                violation(n, sub, "refused a blockable range");
                break;
            }
            gpusim__stat_add(n->st.refusals, 1);
            close_refused(n, inv);
            return GPUSIM_EWOULDBLOCK;
        case GPUSIM_NOTIFIER_WAIT:
            if (!range->blockable) {
                violation(n, sub, "asked a non-blockable invalidator to wait");
                gpusim__stat_add(n->st.refusals, 1);
                close_refused(n, inv);
                return GPUSIM_EWOULDBLOCK;
            }
            if (wait_on == NULL || (wait_on->head_ != NULL && wait_on->head_->world_ != w)) {
                violation(n, sub, "answered WAIT without a completion of this world");
                break;
            }
            if (gpusim_completion_done(wait_on))
                break; /* already signalled: nothing to wait for */
            if (!inv->spare_) {
                /* Impossible by construction (see the file comment); stay sound regardless. */
                if (GPUSIM_NEVER(gpusim__queue_reserve(w, 1) != 0)) {
                    violation(n, sub, "WAIT could not be queued (out of memory); treated as DONE");
                    break;
                }
                inv->spare_ = 1;
            }
            gpusim__completion_enqueue(w, wait_on, &inv->waiter_, woken, inv);
            inv->spare_ = 0; /* lent to the waiter; its wake-up event spends it */
            gpusim__stat_add(n->st.waits, 1);
            inv->cursor_ = next;
            inv->state_ = INV_WAITING;
            return GPUSIM_EINPROGRESS;
        default:
            violation(n, sub, "returned an unknown answer");
            break;
        }
        sub = next;
    }
    record_blocked(n, inv);
    drop_spare(n, inv);
    inv->state_ = INV_STARTED;
    return 0;
}

/* A completion the invalidation waited on has signalled: carry on with the next subscription. */
static void woken(gpusim_world_t *w, gpusim_waiter_t *waiter)
{
    gpusim_invalidation_t *inv = waiter->data;
    gpusim_notifier_t *n = inv->notifier_;
    /* Our wake-up event has just left the queue, so this reservation needs no allocation. */
    int rc = gpusim__queue_reserve(w, 1);
    GPUSIM_ASSERT(rc == 0);
    inv->spare_ = rc == 0;
    inv->state_ = INV_CALLING;
    rc = call_from(n, inv, inv->cursor_);
    if (rc != GPUSIM_EINPROGRESS)
        inv->cb_(w, inv, rc);
}

int gpusim_notifier_invalidate_start(gpusim_notifier_t *n, gpusim_invalidation_t *inv,
                                     const gpusim_notifier_range_t *range,
                                     gpusim_invalidation_cb cb, void *data)
{
    if (n == NULL || inv == NULL || range == NULL || cb == NULL || range->end <= range->start ||
        (unsigned)range->event >= GPUSIM_NOTIFY_COUNT ||
        (unsigned)range->invalidator >= GPUSIM_INVALIDATOR_COUNT)
        return GPUSIM_EINVAL;
    if (inv->state_ != INV_IDLE)
        return GPUSIM_EBUSY;
    if (n->in_callback != NULL)
        return GPUSIM_EDEADLK; /* Linux: lockdep flags an invalidation started from a callback */
    /* The one point where a blockable invalidation may fail: before anyone was called. */
    if (range->blockable) {
        int rc = gpusim__queue_reserve(n->world, 1);
        if (rc != 0)
            return rc;
    }

    inv->range_ = *range;
    inv->spare_ = range->blockable;
    inv->notifier_ = n;
    inv->cb_ = cb;
    inv->data = data;
    inv->cursor_ = NULL;
    inv->started_at_ = n->world->now;
    inv->blocked_ns_ = 0;
    inv->state_ = INV_CALLING;
    gpusim__stat_add(n->st.invalidations[range->invalidator], 1);

    /* Linux: mn_itree_inv_start_range. Overlap with any subscription makes the phase exclusive. */
    n->active++;
    open_link(n, inv);
    gpusim__stat_adjust(n->st.active, 1);
    gpusim__itree_node *first = gpusim__itree_first(&n->tree, range->start, range->end - 1);
    if (first != NULL)
        n->seq |= 1;
    inv->reached_ = first != NULL;
    inv->cur_seq_ = n->seq;
    GPUSIM_LOG(n->world, GPUSIM_LOG_DEBUG, "notifier",
               "%s invalidation [0x%llx, 0x%llx) by %s%s, seq %llu",
               gpusim_notifier_event_name(range->event), (unsigned long long)range->start,
               (unsigned long long)range->end, gpusim_invalidator_name(range->invalidator),
               range->blockable ? "" : " (non-blockable)", (unsigned long long)n->seq);
    return call_from(
        n, inv, first != NULL ? gpusim_container_of(first, gpusim_notifier_sub_t, node) : NULL);
}

int gpusim_notifier_invalidate_end(gpusim_invalidation_t *inv)
{
    if (inv == NULL || inv->state_ == INV_IDLE)
        return GPUSIM_EINVAL;
    if (inv->state_ != INV_STARTED)
        return GPUSIM_EBUSY;
    gpusim_notifier_t *n = inv->notifier_;
    inv->state_ = INV_IDLE;
    inv->notifier_ = NULL;
    trace_inv(n, inv, "");
    for (gpusim__notifier_watch *wt = n->watches; wt; wt = wt->next)
        wt->changed(wt, &inv->range_);
    leave(n, inv);
    return 0;
}

void gpusim__notifier_watch_add(gpusim_notifier_t *n, gpusim__notifier_watch *w)
{
    w->next = n->watches;
    n->watches = w;
}

void gpusim__notifier_watch_del(gpusim_notifier_t *n, gpusim__notifier_watch *w)
{
    for (gpusim__notifier_watch **pp = &n->watches; *pp; pp = &(*pp)->next)
        if (*pp == w) {
            *pp = w->next;
            w->next = NULL;
            return;
        }
}
