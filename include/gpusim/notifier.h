/*
 * gpusim/notifier.h -- the MMU-notifier shim: interval subscriptions and invalidations.
 * Part of <gpusim.h>.
 *
 * The simulated host memory manager tells every mirror of an address space (a GPU driver policy, a
 * second device, a test harness) that translations are about to change, through one notifier domain
 * per address space. It behaves like Linux's mmu_interval_notifier (docs/notifier.md maps every
 * rule to its kernel counterpart), adapted to virtual time: where Linux sleeps, gpusim suspends the
 * caller until a completion is signalled and resumes it through a callback.
 *
 * Mirror side (the driver's fault handler or submission path):
 *
 *     again:
 *       rc = gpusim_notifier_read_begin(sub, &seq, &waiter, resume, ctx);  // may have to wait
 *       ... snapshot or fault the host pages (hmm_range_fault-style) ...
 *       if (gpusim_notifier_read_retry(sub, seq))       // under the driver's lock
 *           goto again;                                 // an invalidation collided
 *       ... program device PTEs ...
 *
 *   and the subscription's callback, called at the start of every invalidation that overlaps it:
 *
 *     answer invalidate(sub, range, cur_seq, &wait_on):
 *       gpusim_notifier_set_seq(sub, cur_seq);          // always, under the driver's lock
 *       zap device PTEs; if the GPU must be waited for:
 *           if (!range->blockable) return GPUSIM_NOTIFIER_WOULD_BLOCK;
 *           *wait_on = &fence; return GPUSIM_NOTIFIER_WAIT;
 *       return GPUSIM_NOTIFIER_DONE;
 *
 * Invalidator side (the host MM):
 *
 *     rc = gpusim_notifier_invalidate_start(n, &inv, &range, proceed, ctx);  // errors aside:
 *       0                   every callback answered DONE: change the CPU page table now, then
 *                           gpusim_notifier_invalidate_end(&inv);
 *       GPUSIM_EINPROGRESS  a callback asked to wait: `proceed` runs when the waits are over
 *                           (virtual time has passed: the invalidator was blocked), then do the
 *                           same as above;
 *       GPUSIM_EWOULDBLOCK  a callback refused a non-blockable range: back off; the shim has
 *                           already closed the invalidation (do not call invalidate_end).
 *
 * Sequence protocol: a domain's sequence is even while idle and odd while an invalidation that
 * overlaps some subscription is running ("fully excluded"); a subscription's sequence is always odd.
 * read_begin returns the subscription's sequence and, if an invalidation over it is running, makes
 * the caller wait until the domain's sequence moves on; read_retry says whether the subscription's
 * sequence changed since, i.e. whether the mirror's snapshot collided with an invalidation.
 * Inserting or removing a subscription while the domain is odd is deferred until the last running
 * invalidation ends; a subscription inserted then collides on its first read, deterministically.
 *
 * Threads: none. "Under the driver's lock" means "in the same event callback"; the protocol is kept
 * exactly so that a policy written against it is also correct with real concurrency.
 */
#ifndef GPUSIM_NOTIFIER_H
#define GPUSIM_NOTIFIER_H

#ifndef GPUSIM_H_INSIDE
#error "include <gpusim.h>, not its parts"
#endif

GPUSIM_BEGIN_DECLS

/**
 * Why translations change: XX(NAME, name). Linux's enum mmu_notifier_event, value for value:
 *   UNMAP            munmap, or an mremap that moves the range;
 *   CLEAR            a PTE is cleared for another reason: madvise, a page replaced (COW, reclaim,
 *                    KSM, THP split);
 *   PROTECTION_VMA   mprotect of the whole VMA;
 *   PROTECTION_PAGE  a per-page write-permission change (the device must re-read the CPU PTE);
 *   SOFT_DIRTY       soft-dirty tracking: same page, same access;
 *   RELEASE          the address space is dying (sent over everything, always blockable);
 *   MIGRATE          pages are being migrated; a mirror may ignore it when `owner` is itself;
 *   EXCLUSIVE        a PTE is being made device-exclusive; `owner` is the device asking.
 */
#define GPUSIM_NOTIFIER_EVENT_MAP(XX)                                                              \
    XX(UNMAP, unmap)                                                                               \
    XX(CLEAR, clear)                                                                               \
    XX(PROTECTION_VMA, protection_vma)                                                             \
    XX(PROTECTION_PAGE, protection_page)                                                           \
    XX(SOFT_DIRTY, soft_dirty)                                                                     \
    XX(RELEASE, release)                                                                           \
    XX(MIGRATE, migrate)                                                                           \
    XX(EXCLUSIVE, exclusive)

/** The event of an invalidation (see GPUSIM_NOTIFIER_EVENT_MAP). */
typedef enum gpusim_notifier_event_e {
#define GPUSIM__NOTIFY_ENUM(NAME, name) GPUSIM_NOTIFY_##NAME,
    GPUSIM_NOTIFIER_EVENT_MAP(GPUSIM__NOTIFY_ENUM)
#undef GPUSIM__NOTIFY_ENUM
        GPUSIM_NOTIFY_COUNT /**< Number of events; not an event. */
} gpusim_notifier_event_t;

/**
 * Who invalidates: XX(NAME, name). The time each kind spends blocked in notifier callbacks is
 * recorded separately (statistic notifier.blocked_ns.<name>), because a blocked kswapd and a
 * blocked munmap caller are different problems.
 *   SYSCALL         a process's own thread in munmap, madvise, mprotect, mremap;
 *   KSWAPD          background reclaim;
 *   DIRECT_RECLAIM  reclaim in an allocating thread that found memory short;
 *   OOM_REAPER      the OOM reaper (its invalidations are not blockable);
 *   COMPACTION      kcompactd, page migration, NUMA balancing;
 *   KHUGEPAGED      THP collapse;
 *   FORK            write-protecting anonymous memory at fork;
 *   COW_FAULT       a CPU write fault breaking copy-on-write;
 *   EXIT            process exit (RELEASE);
 *   OTHER           anything else (a test harness).
 */
#define GPUSIM_INVALIDATOR_MAP(XX)                                                                 \
    XX(SYSCALL, syscall)                                                                           \
    XX(KSWAPD, kswapd)                                                                             \
    XX(DIRECT_RECLAIM, direct_reclaim)                                                             \
    XX(OOM_REAPER, oom_reaper)                                                                     \
    XX(COMPACTION, compaction)                                                                     \
    XX(KHUGEPAGED, khugepaged)                                                                     \
    XX(FORK, fork)                                                                                 \
    XX(COW_FAULT, cow_fault)                                                                       \
    XX(EXIT, exit)                                                                                 \
    XX(OTHER, other)

/** The kind of invalidator (see GPUSIM_INVALIDATOR_MAP). */
typedef enum gpusim_invalidator_e {
#define GPUSIM__INVALIDATOR_ENUM(NAME, name) GPUSIM_INVALIDATOR_##NAME,
    GPUSIM_INVALIDATOR_MAP(GPUSIM__INVALIDATOR_ENUM)
#undef GPUSIM__INVALIDATOR_ENUM
        GPUSIM_INVALIDATOR_COUNT /**< Number of kinds; not a kind. */
} gpusim_invalidator_t;

/** Returns the lower-case name of an event ("unmap"), or "?" if out of range. */
GPUSIM_EXTERN const char *gpusim_notifier_event_name(gpusim_notifier_event_t event);

/** Returns the lower-case name of an invalidator kind ("kswapd"), or "?" if out of range. */
GPUSIM_EXTERN const char *gpusim_invalidator_name(gpusim_invalidator_t kind);

/** What is being invalidated, and why. */
typedef struct gpusim_notifier_range_s {
    uint64_t start;                   /**< First address, inclusive. */
    uint64_t end;                     /**< Last address + 1 (exclusive); end > start. */
    gpusim_notifier_event_t event;    /**< Why. */
    gpusim_invalidator_t invalidator; /**< Who. */
    bool blockable;                   /**< Whether callbacks may make the invalidator wait. */
    const void *owner; /**< Tag of the party causing it (MIGRATE, EXCLUSIVE), or NULL. */
} gpusim_notifier_range_t;

/** A notifier domain: one per simulated address space. Opaque; owned by its world. */
typedef struct gpusim_notifier_s gpusim_notifier_t;

/** An interval subscription of a mirror to a domain. Opaque; owned by its domain. */
typedef struct gpusim_notifier_sub_s gpusim_notifier_sub_t;

/** A subscription callback's answer. */
typedef enum gpusim_notifier_answer_e {
    /** The device no longer uses any translation in the range. */
    GPUSIM_NOTIFIER_DONE = 0,
    /** The callback would have to wait, and the range is not blockable: the invalidator backs off. */
    GPUSIM_NOTIFIER_WOULD_BLOCK = 1,
    /** The invalidator must wait for *wait_on (a fence, a preemption, a TLB flush) first. */
    GPUSIM_NOTIFIER_WAIT = 2
} gpusim_notifier_answer_t;

/**
 * A subscription's callback, called at the start of each invalidation that overlaps it, with the
 * domain's current odd sequence. It must call gpusim_notifier_set_seq(sub, cur_seq) whatever it
 * answers. To answer GPUSIM_NOTIFIER_WAIT it stores a completion in *wait_on; the range must be
 * blockable. Contract violations (no set_seq, WAIT on a non-blockable range, WOULD_BLOCK on a
 * blockable one, WAIT without a completion) are counted in notifier.violations and handled as Linux
 * does: a refusal of a blockable range counts as DONE, a WAIT that cannot be honoured as a refusal.
 */
typedef gpusim_notifier_answer_t (*gpusim_notifier_invalidate_cb)(
    gpusim_notifier_sub_t *sub, const gpusim_notifier_range_t *range, uint64_t cur_seq,
    gpusim_completion_t **wait_on);

/* ------------------------------------------------------------------------------------------- */
/* Domains and subscriptions                                                                   */
/* ------------------------------------------------------------------------------------------- */

/**
 * Creates a notifier domain in world `w`, with the domain sequence at 2 (even, idle). Freeing the
 * world frees the domain if gpusim_notifier_free() was not called. Returns 0 and sets *out,
 * GPUSIM_EINVAL or GPUSIM_ENOMEM.
 */
GPUSIM_EXTERN int gpusim_notifier_new(gpusim_world_t *w, gpusim_notifier_t **out);

/**
 * Frees a domain. Returns 0, GPUSIM_EINVAL (NULL), GPUSIM_EPERM (the domain of a process,
 * gpusim_process_notifier(): it goes with its host) or GPUSIM_EBUSY if subscriptions remain or an
 * invalidation is running (nothing is freed then). NULL is refused rather than ignored so that a
 * leak in a harness shows.
 */
GPUSIM_EXTERN int gpusim_notifier_free(gpusim_notifier_t *n);

/**
 * Subscribes [start, start + length) with callback `cb`; `data` is returned by
 * gpusim_notifier_sub_data(). If an invalidation is running, the subscription may enter the tree
 * only when the last one ends; either way its first read_begin waits for the running
 * invalidations, which is how it learns of them (as in Linux), so it never misses one. Returns 0
 * and sets *out, GPUSIM_EINVAL (NULL argument, length 0), GPUSIM_EOVERFLOW (the range wraps past
 * 2^64), GPUSIM_EDEADLK (called from a callback of this domain) or GPUSIM_ENOMEM. (Linux returns
 * -EOVERFLOW for a zero length too; gpusim calls it invalid.)
 */
GPUSIM_EXTERN int gpusim_notifier_insert(gpusim_notifier_t *n, uint64_t start, uint64_t length,
                                         gpusim_notifier_invalidate_cb cb, void *data,
                                         gpusim_notifier_sub_t **out);

/**
 * Removes a subscription. While the domain is odd (an invalidation that overlapped some
 * subscription is running) the tree is frozen and the removal is deferred until the last running
 * invalidation ends: the subscription's callback may still be called until then; the function
 * returns GPUSIM_EINPROGRESS and, if `waiter` is not NULL, `cb` runs when the subscription is gone
 * ("remove waits for any running callback"). Otherwise, including while invalidations that overlap
 * nothing are running, and for a subscription whose own insertion is still deferred, it is removed
 * and freed at once and 0 is returned. Either way the handle must not be used after a successful
 * call. Errors, with nothing changed: GPUSIM_EDEADLK (called from a subscription callback of the
 * domain: Linux forbids it, it would wait for itself), GPUSIM_EINVAL (NULL, a waiter without a
 * callback, or a subscription already being removed), GPUSIM_EBUSY (the waiter is already
 * waiting, or a gpusim_process_range_fault() given this subscription has not called back yet),
 * GPUSIM_ENOMEM or GPUSIM_ENOSPC (the wait could not be queued).
 */
GPUSIM_EXTERN int gpusim_notifier_remove(gpusim_notifier_sub_t *sub, gpusim_waiter_t *waiter,
                                         gpusim_waiter_cb cb, void *data);

/** Returns the `data` given to gpusim_notifier_insert(). */
GPUSIM_EXTERN void *gpusim_notifier_sub_data(const gpusim_notifier_sub_t *sub);

/** Sets *start and *end ([start, end), end 0 meaning 2^64) of a subscription. Returns 0 or EINVAL. */
GPUSIM_EXTERN int gpusim_notifier_sub_range(const gpusim_notifier_sub_t *sub, uint64_t *start,
                                            uint64_t *end);

/** Returns the number of subscriptions, including those whose insertion is deferred. */
GPUSIM_EXTERN size_t gpusim_notifier_count(const gpusim_notifier_t *n);

/** Returns the domain's sequence: even when idle, odd while an overlapping invalidation runs. */
GPUSIM_EXTERN uint64_t gpusim_notifier_seq(const gpusim_notifier_t *n);

/** Returns the number of invalidations between start and end (or refusal). */
GPUSIM_EXTERN size_t gpusim_notifier_active(const gpusim_notifier_t *n);

/* ------------------------------------------------------------------------------------------- */
/* The read side                                                                               */
/* ------------------------------------------------------------------------------------------- */

/**
 * Begins a read of the subscription's range. Sets *seq to the value to give read_retry. If an
 * invalidation over the subscription is running, the reader must wait for it to end: with a waiter
 * it is queued, the function returns GPUSIM_EINPROGRESS and `cb` runs when the invalidation ends;
 * without one it returns GPUSIM_EAGAIN (try again later). Otherwise returns 0. As in Linux,
 * read_retry may already be true when the wait ends; the caller bounds its retries. Errors:
 * GPUSIM_EINVAL (NULL argument, waiter without callback), GPUSIM_EDEADLK (called from a callback of
 * this domain: it could wait for the invalidation calling it), GPUSIM_EBUSY (the waiter is already
 * waiting), GPUSIM_ENOMEM or GPUSIM_ENOSPC (the wait could not be queued).
 */
GPUSIM_EXTERN int gpusim_notifier_read_begin(gpusim_notifier_sub_t *sub, uint64_t *seq,
                                             gpusim_waiter_t *waiter, gpusim_waiter_cb cb,
                                             void *data);

/**
 * Returns true if an invalidation started over the subscription since the read_begin that returned
 * `seq`: the snapshot collided and must be retried. Call it where the device PTEs are programmed.
 * Collisions are counted (notifier.read_retry.collisions). NULL returns true.
 */
GPUSIM_EXTERN bool gpusim_notifier_read_retry(gpusim_notifier_sub_t *sub, uint64_t seq);

/** Records the sequence of the invalidation being handled; callbacks must always call it. */
GPUSIM_EXTERN void gpusim_notifier_set_seq(gpusim_notifier_sub_t *sub, uint64_t cur_seq);

/* ------------------------------------------------------------------------------------------- */
/* The invalidation side                                                                       */
/* ------------------------------------------------------------------------------------------- */

/** One invalidation by one invalidator (defined below). */
typedef struct gpusim_invalidation_s gpusim_invalidation_t;

/**
 * Called when an invalidation that had to wait may proceed; `status` is always 0 (a started
 * blockable invalidation cannot fail). The invalidator was blocked from its start until now.
 */
typedef void (*gpusim_invalidation_cb)(gpusim_world_t *w, gpusim_invalidation_t *inv, int status);

/**
 * One invalidation by one invalidator. Caller-allocated (embed it in the actor that invalidates);
 * initialise with gpusim_invalidation_init(). Reusable once it has ended; never re-initialise,
 * move or copy one that is active (its domain keeps it on a list). One left active when its world is freed stays "active": initialise it again.
 */
struct gpusim_invalidation_s {
    void *data; /**< User slot, set by gpusim_notifier_invalidate_start(). */
    /* Private: maintained by the domain. */
    gpusim_notifier_range_t range_;    /**< What is being invalidated. */
    gpusim_notifier_t *notifier_;      /**< Domain, while not idle. */
    gpusim_invalidation_cb cb_;        /**< Continuation after a wait. */
    gpusim_notifier_sub_t *cursor_;    /**< Next subscription to call after a wait. */
    uint64_t cur_seq_;                 /**< The domain sequence given to callbacks. */
    gpusim_time_t started_at_;         /**< When invalidate_start was called. */
    gpusim_time_t blocked_ns_;         /**< How long callbacks kept it waiting (once started). */
    gpusim_waiter_t waiter_;           /**< Waits on a callback's completion. */
    int state_;                        /**< Idle, calling, waiting, started. */
    int spare_;                        /**< Holds an event-queue reservation for its next wait. */
    int reached_;                      /**< Overlapped a subscription when it started (traced). */
    gpusim_invalidation_t *open_prev_; /**< Neighbours in the domain's list of open ones. */
    gpusim_invalidation_t *open_next_;
};

/** Initialises an idle invalidation. NULL is ignored. */
GPUSIM_EXTERN void gpusim_invalidation_init(gpusim_invalidation_t *inv);

/**
 * Starts an invalidation of range->[start, end) (see the top of this file for the three outcomes:
 * 0, GPUSIM_EINPROGRESS, GPUSIM_EWOULDBLOCK). Subscriptions overlapping the range are called one
 * after another in address order; when one asks to wait, the next is called only after its
 * completion signals, as Linux calls them in turn on one thread. Errors, with nothing started and
 * nobody called: GPUSIM_EINVAL (NULL argument, end <= start, event or invalidator out of range,
 * `cb` NULL), GPUSIM_EBUSY (`inv` is not idle), GPUSIM_EDEADLK (called from a callback of this
 * domain), GPUSIM_ENOMEM or GPUSIM_ENOSPC (room for a possible wait could not be reserved: a
 * blockable invalidation reserves it before calling anyone, so that once started it cannot fail).
 * GPUSIM_ECANCELED: a callback freed the world (called outside a run); the world, the domain and
 * the invalidation are gone.
 */
GPUSIM_EXTERN int gpusim_notifier_invalidate_start(gpusim_notifier_t *n, gpusim_invalidation_t *inv,
                                                   const gpusim_notifier_range_t *range,
                                                   gpusim_invalidation_cb cb, void *data);

/**
 * Ends a started invalidation (the CPU page table has been changed). The last running invalidation
 * to end makes the domain sequence even, applies deferred inserts and removes, and wakes readers
 * and removers waiting for it. Returns 0, GPUSIM_EINVAL (NULL, or `inv` was not started), or
 * GPUSIM_EBUSY (`inv` is still calling or waiting: its start has not completed).
 */
GPUSIM_EXTERN int gpusim_notifier_invalidate_end(gpusim_invalidation_t *inv);

/** Returns whether `inv` has started (or is starting) and not yet ended. */
GPUSIM_EXTERN bool gpusim_invalidation_active(const gpusim_invalidation_t *inv);

GPUSIM_END_DECLS

#endif /* GPUSIM_NOTIFIER_H */
