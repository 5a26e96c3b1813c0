/*
 * notifier/notifier.c -- notifier domains, subscriptions and the read side of the sequence protocol.
 * The write side (invalidations) is in invalidate.c; the shared state is described in notifier.h.
 *
 * Linux counterparts: gpusim_notifier_insert = __mmu_interval_notifier_insert, remove =
 * mmu_interval_notifier_remove, read_begin = mmu_interval_read_begin, read_retry =
 * mmu_interval_read_retry, set_seq = mmu_interval_set_seq. Where Linux sleeps (read_begin while an
 * invalidation covers the subscription, remove while the tree is frozen), the caller's waiter is
 * queued on the domain's phase_end completion instead.
 */
#include <stdio.h>
#include <string.h>

#include "core/compiler.h"
#include "core/log.h"
#include "core/stats.h"
#include "notifier/notifier.h"

/* ------------------------------------------------------------------------------------------- */
/* Names                                                                                       */
/* ------------------------------------------------------------------------------------------- */

static const char *name_in(const char *const *names, size_t count, unsigned index)
{
    return index < count ? names[index] : "?";
}

const char *gpusim_notifier_event_name(gpusim_notifier_event_t event)
{
    static const char *const names[] = {
#define NAME(NAME_, name) #name,
        GPUSIM_NOTIFIER_EVENT_MAP(NAME)
#undef NAME
    };
    return name_in(names, GPUSIM_ARRAY_SIZE(names), (unsigned)event);
}

const char *gpusim_invalidator_name(gpusim_invalidator_t kind)
{
    static const char *const names[] = {
#define NAME(NAME_, name) #name,
        GPUSIM_INVALIDATOR_MAP(NAME)
#undef NAME
    };
    return name_in(names, GPUSIM_ARRAY_SIZE(names), (unsigned)kind);
}

/* ------------------------------------------------------------------------------------------- */
/* Domains                                                                                     */
/* ------------------------------------------------------------------------------------------- */

static int register_stats(gpusim_world_t *w, notifier_stats *st)
{
    static const gpusim__stat_def defs[] = {
        {"notifier.domains", GPUSIM_STAT_GAUGE, "", offsetof(notifier_stats, domains)},
        {"notifier.subscriptions", GPUSIM_STAT_GAUGE, "", offsetof(notifier_stats, subscriptions)},
        {"notifier.active", GPUSIM_STAT_GAUGE, "", offsetof(notifier_stats, active)},
        {"notifier.callbacks", GPUSIM_STAT_COUNTER, "", offsetof(notifier_stats, callbacks)},
        {"notifier.waits", GPUSIM_STAT_COUNTER, "", offsetof(notifier_stats, waits)},
        {"notifier.refusals", GPUSIM_STAT_COUNTER, "", offsetof(notifier_stats, refusals)},
        {"notifier.violations", GPUSIM_STAT_COUNTER, "", offsetof(notifier_stats, violations)},
        {"notifier.deferred.inserts", GPUSIM_STAT_COUNTER, "",
         offsetof(notifier_stats, deferred_inserts)},
        {"notifier.deferred.removes", GPUSIM_STAT_COUNTER, "",
         offsetof(notifier_stats, deferred_removes)},
        {"notifier.read_begin.waits", GPUSIM_STAT_COUNTER, "",
         offsetof(notifier_stats, read_waits)},
        {"notifier.read_retry.collisions", GPUSIM_STAT_COUNTER, "",
         offsetof(notifier_stats, collisions)},
    };
    int rc = gpusim__stats_register_table(w, defs, GPUSIM_ARRAY_SIZE(defs), st);
    if (rc != 0)
        return rc;
    char name[GPUSIM_STAT_NAME_MAX + 1];
    for (int k = 0; k < GPUSIM_INVALIDATOR_COUNT; k++) {
        const char *kind = gpusim_invalidator_name((gpusim_invalidator_t)k);
        snprintf(name, sizeof(name), "notifier.invalidations.%s", kind);
        rc = gpusim_stat_register(w, name, GPUSIM_STAT_COUNTER, "", &st->invalidations[k]);
        if (rc == 0) {
            snprintf(name, sizeof(name), "notifier.blocked_ns.%s", kind);
            rc = gpusim_stat_register(w, name, GPUSIM_STAT_HISTOGRAM, "ns", &st->blocked[k]);
        }
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Frees every subscription and the domain; used by gpusim_notifier_free and world teardown. */
static void destroy(gpusim_world_t *w, gpusim__owned *o)
{
    gpusim_notifier_t *n = gpusim_container_of(o, gpusim_notifier_t, owned);
    /* Deferred inserts are not in the tree; deferred removes are, and go with it below. */
    for (gpusim_notifier_sub_t *sub = n->deferred_head, *next; sub != NULL; sub = next) {
        next = sub->deferred_next;
        if (sub->state == SUB_PENDING_INSERT)
            gpusim__notifier_sub_free(n, sub);
    }
    n->deferred_head = n->deferred_tail = NULL;
    gpusim__itree_node *node = gpusim__itree_min(&n->tree);
    while (node != NULL) {
        gpusim__itree_node *next = gpusim__itree_successor(node);
        gpusim__itree_remove(&n->tree, node);
        gpusim__notifier_sub_free(n, gpusim_container_of(node, gpusim_notifier_sub_t, node));
        node = next;
    }
    gpusim__stat_adjust(n->st.subscriptions, -(int64_t)n->nsubs);
    gpusim__stat_adjust(n->st.active, -(int64_t)n->active);
    gpusim__stat_adjust(n->st.domains, -1);
    gpusim__arena_free(&w->arena, n, sizeof(*n));
}

int gpusim_notifier_new(gpusim_world_t *w, gpusim_notifier_t **out)
{
    if (w == NULL || out == NULL)
        return GPUSIM_EINVAL;
    gpusim_notifier_t *n = gpusim__arena_zalloc(&w->arena, sizeof(*n));
    if (n == NULL)
        return GPUSIM_ENOMEM;
    int rc = register_stats(w, &n->st);
    if (rc != 0) {
        /* Statistics already registered stay: they belong to the world and are harmless. */
        gpusim__arena_free(&w->arena, n, sizeof(*n));
        return rc;
    }
    n->world = w;
    n->seq = 2;
    gpusim__itree_init(&n->tree);
    gpusim_completion_init(&n->phase_end, n);
    gpusim__world_own(w, &n->owned, destroy);
    gpusim__stat_adjust(n->st.domains, 1);
    *out = n;
    return 0;
}

int gpusim_notifier_free(gpusim_notifier_t *n)
{
    if (n == NULL)
        return GPUSIM_EINVAL;
    if (n->held)
        return GPUSIM_EPERM; /* a process's domain: freeing it would leave the process dangling */
    if (n->nsubs != 0 || n->active != 0 || n->deferred_head != NULL)
        return GPUSIM_EBUSY;
    gpusim__world_disown(&n->owned);
    destroy(n->world, &n->owned);
    return 0;
}

void gpusim__notifier_set_held(gpusim_notifier_t *n, bool held)
{
    n->held = held;
}

bool gpusim__notifier_watched(const gpusim_notifier_t *n)
{
    return n->watches != NULL;
}

size_t gpusim_notifier_count(const gpusim_notifier_t *n)
{
    return n != NULL ? n->nsubs : 0;
}

uint64_t gpusim_notifier_seq(const gpusim_notifier_t *n)
{
    return n != NULL ? n->seq : 0;
}

size_t gpusim_notifier_active(const gpusim_notifier_t *n)
{
    return n != NULL ? n->active : 0;
}

void gpusim__notifier_force_seq(gpusim_notifier_t *n, uint64_t seq)
{
    GPUSIM_ASSERT(n->active == 0 && (seq & 1) == 0);
    n->seq = seq;
}

/* ------------------------------------------------------------------------------------------- */
/* Subscriptions                                                                               */
/* ------------------------------------------------------------------------------------------- */

void gpusim__notifier_defer(gpusim_notifier_t *n, gpusim_notifier_sub_t *sub)
{
    sub->deferred_next = NULL;
    if (n->deferred_tail != NULL)
        n->deferred_tail->deferred_next = sub;
    else
        n->deferred_head = sub;
    n->deferred_tail = sub;
}

void gpusim__notifier_sub_free(gpusim_notifier_t *n, gpusim_notifier_sub_t *sub)
{
    gpusim__arena_free(&n->world->arena, sub, sizeof(*sub));
}

int gpusim_notifier_insert(gpusim_notifier_t *n, uint64_t start, uint64_t length,
                           gpusim_notifier_invalidate_cb cb, void *data,
                           gpusim_notifier_sub_t **out)
{
    if (n == NULL || cb == NULL || out == NULL || length == 0)
        return GPUSIM_EINVAL;
    if (length - 1 > UINT64_MAX - start)
        return GPUSIM_EOVERFLOW;
    if (n->in_callback != NULL)
        return GPUSIM_EDEADLK; /* Linux would take mmap_lock, held around some invalidations */
    gpusim_notifier_sub_t *sub = gpusim__arena_zalloc(&n->world->arena, sizeof(*sub));
    if (sub == NULL)
        return GPUSIM_ENOMEM;
    sub->notifier = n;
    sub->cb = cb;
    sub->data = data;
    sub->node.start = start;
    sub->node.last = start + (length - 1);
    sub->node.order = n->next_order++;

    if (n->active > 0) {
        /*
         * Some invalidation is running and we cannot tell whether it covers the new range, so the
         * new subscription must collide with it: give it the odd sequence of the current phase.
         */
        if (n->seq & 1) {
            /* Fully excluded: the tree is frozen; join it when the last invalidation ends. */
            sub->state = SUB_PENDING_INSERT;
            gpusim__notifier_defer(n, sub);
            gpusim__stat_add(n->st.deferred_inserts, 1);
        } else {
            /* Partially excluded: insert now, but make the running invalidations exclusive. */
            n->seq |= 1;
            sub->state = SUB_IN_TREE;
            gpusim__itree_insert(&n->tree, &sub->node);
        }
        sub->seq = n->seq;
    } else {
        /* Idle: odd, different from the domain's even value, and not reached again soon. */
        sub->seq = n->seq - 1;
        sub->state = SUB_IN_TREE;
        gpusim__itree_insert(&n->tree, &sub->node);
    }
    n->nsubs++;
    gpusim__stat_adjust(n->st.subscriptions, 1);
    *out = sub;
    return 0;
}

int gpusim_notifier_remove(gpusim_notifier_sub_t *sub, gpusim_waiter_t *waiter, gpusim_waiter_cb cb,
                           void *data)
{
    if (sub == NULL || sub->state == SUB_PENDING_REMOVE || (waiter != NULL && cb == NULL))
        return GPUSIM_EINVAL;
    gpusim_notifier_t *n = sub->notifier;
    if (n->in_callback != NULL)
        return GPUSIM_EDEADLK;
    if (sub->users != 0)
        return GPUSIM_EBUSY; /* a host call in flight reads it (gpusim__notifier_sub_hold) */

    if (sub->state == SUB_PENDING_INSERT) {
        /* Never reached the tree: unlink it from the FIFO and it is gone. */
        gpusim_notifier_sub_t **link = &n->deferred_head, *prev = NULL;
        while (*link != sub) {
            prev = *link;
            link = &(*link)->deferred_next;
        }
        *link = sub->deferred_next;
        if (n->deferred_tail == sub)
            n->deferred_tail = prev;
    } else if (n->seq & 1) {
        /* The tree is frozen: callbacks may still run until the last invalidation ends. */
        if (waiter != NULL) {
            int rc = gpusim_completion_wait(n->world, &n->phase_end, waiter, cb, data);
            if (rc != GPUSIM_EINPROGRESS)
                return rc == 0 ? GPUSIM_EINVAL : rc; /* phase_end is never done while odd */
        }
        sub->state = SUB_PENDING_REMOVE;
        gpusim__notifier_defer(n, sub);
        gpusim__stat_add(n->st.deferred_removes, 1);
        n->nsubs--;
        gpusim__stat_adjust(n->st.subscriptions, -1);
        return GPUSIM_EINPROGRESS;
    } else {
        gpusim__itree_remove(&n->tree, &sub->node);
    }
    n->nsubs--;
    gpusim__stat_adjust(n->st.subscriptions, -1);
    gpusim__notifier_sub_free(n, sub);
    return 0;
}

void *gpusim_notifier_sub_data(const gpusim_notifier_sub_t *sub)
{
    return sub != NULL ? sub->data : NULL;
}

int gpusim_notifier_sub_range(const gpusim_notifier_sub_t *sub, uint64_t *start, uint64_t *end)
{
    if (sub == NULL || start == NULL || end == NULL)
        return GPUSIM_EINVAL;
    *start = sub->node.start;
    *end = sub->node.last + 1; /* wraps to 0 for a range ending at 2^64 - 1, as documented */
    return 0;
}

/* ------------------------------------------------------------------------------------------- */
/* The read side                                                                               */
/* ------------------------------------------------------------------------------------------- */

int gpusim_notifier_read_begin(gpusim_notifier_sub_t *sub, uint64_t *seq, gpusim_waiter_t *waiter,
                               gpusim_waiter_cb cb, void *data)
{
    if (sub == NULL || seq == NULL || (waiter != NULL && cb == NULL))
        return GPUSIM_EINVAL;
    gpusim_notifier_t *n = sub->notifier;
    if (n->in_callback != NULL)
        return GPUSIM_EDEADLK; /* it could wait for the very invalidation calling us */
    /*
     * The subscription's seq equals the domain's (odd) seq exactly when an invalidation of the
     * current phase has called it (set_seq) or it was inserted during the phase: the mirror must
     * not read the CPU page table until that phase ends. Since a subscription's seq is always odd
     * and an idle domain's is even, this also holds across wrap-around.
     */
    *seq = sub->seq;
    if (sub->seq != n->seq)
        return 0;
    if (waiter == NULL)
        return GPUSIM_EAGAIN;
    int rc = gpusim_completion_wait(n->world, &n->phase_end, waiter, cb, data);
    if (rc == GPUSIM_EINPROGRESS)
        gpusim__stat_add(n->st.read_waits, 1);
    return rc;
}

bool gpusim_notifier_read_retry(gpusim_notifier_sub_t *sub, uint64_t seq)
{
    if (sub == NULL)
        return true;
    bool collided = sub->seq != seq;
    if (collided)
        gpusim__stat_add(sub->notifier->st.collisions, 1);
    return collided;
}

uint64_t gpusim__notifier_sub_seq(const gpusim_notifier_sub_t *sub)
{
    return sub->seq;
}

void gpusim_notifier_set_seq(gpusim_notifier_sub_t *sub, uint64_t cur_seq)
{
    if (sub == NULL)
        return;
    sub->seq = cur_seq;
    if (sub->notifier->in_callback == sub)
        sub->notifier->seq_set = true; /* the callback kept its side of the contract */
}

bool gpusim__notifier_check(const gpusim_notifier_t *n)
{
    if (!gpusim__itree_check(&n->tree))
        return false;
    /* The domain is fully excluded only while something is running. */
    if ((n->seq & 1) && n->active == 0)
        return false;
    size_t in_tree = 0, pending_insert = 0;
    for (const gpusim__itree_node *node = gpusim__itree_min(&n->tree); node != NULL;
         node = gpusim__itree_successor(node)) {
        const gpusim_notifier_sub_t *sub = gpusim_container_of(node, gpusim_notifier_sub_t, node);
        /* Never ahead of the domain (the difference, modulo 2^64, is small and not negative). */
        if ((sub->seq & 1) == 0 || sub->notifier != n || n->seq - sub->seq > UINT64_MAX / 2)
            return false;
        if (sub->state == SUB_IN_TREE)
            in_tree++;
        else if (sub->state != SUB_PENDING_REMOVE)
            return false;
    }
    for (const gpusim_notifier_sub_t *sub = n->deferred_head; sub != NULL;
         sub = sub->deferred_next) {
        if (sub->state == SUB_PENDING_INSERT)
            pending_insert++;
        else if (sub->state != SUB_PENDING_REMOVE)
            return false;
        if (sub->deferred_next == NULL && sub != n->deferred_tail)
            return false;
    }
    /* Nothing is deferred unless the tree is frozen. */
    if (n->deferred_head != NULL && (n->seq & 1) == 0)
        return false;
    if (in_tree + pending_insert != n->nsubs)
        return false;
    /* Balance: the open list holds exactly the `active` invalidations, each open on this domain. */
    size_t open = 0;
    for (const gpusim_invalidation_t *inv = n->open_head; inv != NULL; inv = inv->open_next_) {
        bool waiting = inv->waiter_.on_ != NULL || gpusim_event_pending(&inv->waiter_.ev_);
        if (++open > n->active || inv->notifier_ != n ||
            (inv->open_next_ && inv->open_next_->open_prev_ != inv) ||
            (inv->open_prev_ == NULL) != (inv == n->open_head) ||
            inv->range_.end <= inv->range_.start || inv->started_at_ > n->world->now)
            return false;
        if (inv->state_ != INV_CALLING && inv->state_ != INV_WAITING && inv->state_ != INV_STARTED)
            return false;
        if (waiting != (inv->state_ == INV_WAITING))
            return false;
        if (inv->reached_ && (n->seq & 1) == 0)
            return false; /* the phase it opened ends only with the last end */
    }
    return open == n->active;
}

bool gpusim__notifier_sub_hold(gpusim_notifier_sub_t *sub, const gpusim_notifier_t *n)
{
    if (sub->notifier != n || sub->state == SUB_PENDING_REMOVE || sub->users == UINT32_MAX)
        return false;
    sub->users++;
    return true;
}

void gpusim__notifier_sub_release(gpusim_notifier_sub_t *sub)
{
    GPUSIM_ASSERT(sub->users > 0);
    sub->users--;
}
