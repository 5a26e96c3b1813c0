/*
 * notifier/notifier.h -- the notifier domain and subscription structures, shared by notifier.c
 * (domains, subscriptions, the read side) and invalidate.c (the write side). Internal.
 *
 * State of a domain (Linux: struct mmu_notifier_subscriptions):
 *
 *   seq      even while idle; odd while "fully excluded": some invalidation that overlapped a
 *            subscription is running, and the tree must not change. Starts at 2.
 *   active   invalidations between start and end (or refusal). While active > 0 but seq is even
 *            ("partially excluded"), an insert forces seq odd, because the running invalidations'
 *            ranges are not known to exclude the new subscription.
 *   tree     the subscriptions, keyed by (start, insertion order) so that callbacks run in a
 *            deterministic order.
 *   deferred inserts and removes requested while seq was odd, applied in request order by the
 *            last invalidate_end, which also makes seq even and signals phase_end.
 *
 *   seq:  2 ---start(overlap)---> 3 ---start(nested)---> 3 ---end---> 3 ---last end---> 4
 *                                 callbacks get cur_seq 3                  deferred applied,
 *                                                                          waiters woken
 *
 * A subscription's seq is always odd: set to seq - 1 on an idle insert, to the domain's odd seq on
 * an insert during an invalidation (so its first read collides), and by set_seq in callbacks; so
 * it is never ahead of the domain's (modulo 2^64: the sequence may wrap).
 *
 * Balance: every started invalidation is on the domain's open list (open_head) until it ends or
 * is refused, and the list has exactly `active` entries.
 */
#ifndef GPUSIM_NOTIFIER_NOTIFIER_H
#define GPUSIM_NOTIFIER_NOTIFIER_H

#include "gpusim.h"
#include "core/itree.h"
#include "core/world.h"

/* States of a gpusim_invalidation_t (invalidate.c). */
enum inv_state {
    INV_IDLE = 0,    /* Not started, or ended. */
    INV_CALLING = 1, /* Calling subscription callbacks. */
    INV_WAITING = 2, /* Waiting on a callback's completion. */
    INV_STARTED = 3  /* All callbacks done; the invalidator changes the page table, then ends. */
};

/* Where a subscription is. */
enum sub_state {
    SUB_IN_TREE = 1,        /* In the tree; callbacks are called. */
    SUB_PENDING_INSERT = 2, /* Inserted during an invalidation; enters the tree at its end. */
    SUB_PENDING_REMOVE = 3  /* Removed during an invalidation; leaves the tree at its end. */
};

struct gpusim_notifier_sub_s {
    gpusim__itree_node node;              /* start, last (inclusive), order; tree links. */
    gpusim_notifier_t *notifier;          /* Its domain. */
    gpusim_notifier_invalidate_cb cb;     /* The mirror's callback. */
    void *data;                           /* The mirror's pointer. */
    uint64_t seq;                         /* Always odd; see the file comment. */
    gpusim_notifier_sub_t *deferred_next; /* Link in the domain's deferred FIFO. */
    int state;                            /* enum sub_state. */
    uint32_t users;                       /* Host calls in flight that read it (hold/release). */
};

/* World-wide statistics, shared by every domain of a world (registered get-or-create). */
typedef struct notifier_stats {
    gpusim_stat_t *domains;          /* notifier.domains (gauge) */
    gpusim_stat_t *subscriptions;    /* notifier.subscriptions (gauge) */
    gpusim_stat_t *active;           /* notifier.active (gauge): invalidations open */
    gpusim_stat_t *callbacks;        /* notifier.callbacks */
    gpusim_stat_t *waits;            /* notifier.waits: WAIT answers honoured */
    gpusim_stat_t *refusals;         /* notifier.refusals: non-blockable ranges refused */
    gpusim_stat_t *violations;       /* notifier.violations: callback contract broken */
    gpusim_stat_t *deferred_inserts; /* notifier.deferred.inserts */
    gpusim_stat_t *deferred_removes; /* notifier.deferred.removes */
    gpusim_stat_t *read_waits;       /* notifier.read_begin.waits */
    gpusim_stat_t *collisions;       /* notifier.read_retry.collisions */
    gpusim_stat_t *invalidations[GPUSIM_INVALIDATOR_COUNT]; /* notifier.invalidations.<kind> */
    gpusim_stat_t *blocked[GPUSIM_INVALIDATOR_COUNT];       /* notifier.blocked_ns.<kind> */
} notifier_stats;

struct gpusim_notifier_s {
    gpusim_world_t *world;                /* Owner. */
    gpusim__owned owned;                  /* Freed with the world if the user does not. */
    gpusim__itree tree;                   /* Subscriptions in the tree. */
    uint64_t seq;                         /* Domain sequence. */
    size_t active;                        /* Invalidations open. */
    gpusim_invalidation_t *open_head;     /* Those invalidations, newest first (checked against
                                             active: every start has its end). */
    gpusim_notifier_sub_t *deferred_head; /* Deferred inserts and removes, oldest first. */
    gpusim_notifier_sub_t *deferred_tail;
    size_t nsubs;                       /* Subscriptions, in the tree or pending insert. */
    uint64_t next_order;                /* Tie-breaker for the next subscription. */
    gpusim_notifier_sub_t *in_callback; /* Subscription whose callback is running, or NULL. */
    bool seq_set; /* The running callback called set_seq (checked after each callback). */
    gpusim_completion_t phase_end;          /* Signalled when seq returns to even; then reset. */
    struct gpusim__notifier_watch *watches; /* Told of every change once it is made. */
    /* Owned by a process (host/process.c): gpusim_notifier_free() refuses it, since the process
     * would go on announcing through freed memory; its host frees it. */
    bool held;
    notifier_stats st;
};

/*
 * A watch: told, at each gpusim_notifier_invalidate_end() of the domain, of the range whose
 * translations the invalidator has just changed. It is how the coherence checker learns that the
 * host changed memory a device may still be using through a driver that did not subscribe (or did
 * not act): it costs the domain nothing and changes no sequence, unlike a subscription. A watch
 * must not start or end invalidations of the domain from `changed`.
 */
typedef struct gpusim__notifier_watch gpusim__notifier_watch;
struct gpusim__notifier_watch {
    void (*changed)(gpusim__notifier_watch *w, const gpusim_notifier_range_t *r);
    gpusim__notifier_watch *next;
};
void gpusim__notifier_watch_add(gpusim_notifier_t *n, gpusim__notifier_watch *w);
void gpusim__notifier_watch_del(gpusim_notifier_t *n, gpusim__notifier_watch *w);

/* Appends a subscription to the deferred FIFO. */
void gpusim__notifier_defer(gpusim_notifier_t *n, gpusim_notifier_sub_t *sub);

/* Frees a subscription's memory (it is in neither the tree nor the FIFO). */
void gpusim__notifier_sub_free(gpusim_notifier_t *n, gpusim_notifier_sub_t *sub);

/* The subscription's current sequence, without counting a collision (as Linux's
 * mmu_interval_check_retry, which hmm_range_fault polls before each walk; read_retry counts). */
uint64_t gpusim__notifier_sub_seq(const gpusim_notifier_sub_t *sub);

/*
 * A host call that reads a subscription across steps (hmm_range_fault checking the sequence before
 * each page) holds it for its duration: removal is refused with GPUSIM_EBUSY meanwhile, instead of
 * freeing memory the call will read. Linux needs no such count: hmm_range_fault is synchronous.
 * Returns false (nothing held) for a subscription that is not usable: not in domain n, or being
 * removed.
 */
bool gpusim__notifier_sub_hold(gpusim_notifier_sub_t *sub, const gpusim_notifier_t *n);
void gpusim__notifier_sub_release(gpusim_notifier_sub_t *sub);

/* Marks a domain as owned by a process (held) or not: gpusim_notifier_free() refuses a held one
 * with GPUSIM_EPERM. The host holds each process's domain and lets go only to free it. */
void gpusim__notifier_set_held(gpusim_notifier_t *n, bool held);

/* Whether a watch (a driver's checker) is on the domain: its process must not be freed yet. */
bool gpusim__notifier_watched(const gpusim_notifier_t *n);

/* Domain invariants: seq parity vs active, tree vs states, counts; the open invalidations (as
 * many as `active`, each in an open state, on this domain, waiting exactly when WAITING; one that
 * reached a subscription keeps the domain odd); no subscription's sequence ahead of the domain's.
 * For tests and the per-event soak (through gpusim_host_check). */
bool gpusim__notifier_check(const gpusim_notifier_t *n);

/* Test hook: sets the domain sequence (to exercise wrap-around). Only while idle. */
void gpusim__notifier_force_seq(gpusim_notifier_t *n, uint64_t seq);

#endif /* GPUSIM_NOTIFIER_NOTIFIER_H */
