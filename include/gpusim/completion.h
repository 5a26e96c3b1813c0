/*
 * gpusim/completion.h -- completions and waiters: waiting for something in virtual time.
 * Part of <gpusim.h>.
 *
 * A completion stands for something that finishes at some virtual time: a GPU fence signalling, a
 * queue preemption, a TLB invalidation, the end of an invalidation phase. Whoever produces it
 * signals it (now, or at a scheduled time); whoever must wait registers a waiter, and the waiter's
 * callback runs when the completion is signalled. Nothing blocks: an actor that waits simply has
 * no event until its waiter fires, which is how a notifier callback "blocks" kswapd in virtual time.
 *
 *     gpusim_completion_init(&fence, NULL);
 *     gpusim_completion_signal_at(w, &fence, now + job_length);   // the producer
 *     if (gpusim_completion_wait(w, &fence, &actor->waiter, on_done, actor) == 0)
 *         on_done_now(actor);                                      // it had already signalled
 *
 * Ordering: a signal wakes its waiters in the order they began waiting, each through its own event
 * at the signal's time, so a woken callback never runs inside the signaller's call stack and the
 * order is deterministic.
 *
 * Ownership: completions and waiters are caller-allocated; the world never allocates or frees
 * them. A waiter must stay valid while it waits (cancel it before freeing it); a completion must
 * stay valid while it has waiters or a scheduled signal. Neither may be re-initialised while in
 * use. A completion's waiters all belong to one world, the one passed to signal and cancel. When a
 * world is freed, waiters still waiting in it stay "waiting" for ever: initialise them again before
 * reuse.
 */
#ifndef GPUSIM_COMPLETION_H
#define GPUSIM_COMPLETION_H

#ifndef GPUSIM_H_INSIDE
#error "include <gpusim.h>, not its parts"
#endif

GPUSIM_BEGIN_DECLS

/** Something that finishes in virtual time (defined below). */
typedef struct gpusim_completion_s gpusim_completion_t;
/** One party waiting on a completion (defined below). */
typedef struct gpusim_waiter_s gpusim_waiter_t;

/** Runs when the completion a waiter waited on has been signalled; the waiter is idle again. */
typedef void (*gpusim_waiter_cb)(gpusim_world_t *w, gpusim_waiter_t *waiter);

/** One party waiting on a completion. Caller-allocated; initialise with gpusim_waiter_init(). */
struct gpusim_waiter_s {
    void *data; /**< User slot, set by gpusim_completion_wait(); never dereferenced by gpusim. */
    /* Private: maintained by the completion. */
    gpusim_event_t ev_;       /**< Delivers the wake-up at the signal's time. */
    gpusim_waiter_t *next_;   /**< Next waiter in the completion's FIFO. */
    gpusim_completion_t *on_; /**< Completion waited on while queued, else NULL. */
    gpusim_waiter_cb cb_;     /**< Callback to run on wake-up. */
    gpusim_time_t since_;     /**< When the wait began. */
    gpusim_world_t *world_;   /**< World of the current or last wait. */
};

/** Something that finishes in virtual time. Caller-allocated; gpusim_completion_init() first. */
struct gpusim_completion_s {
    void *data; /**< User slot, set by gpusim_completion_init(); never dereferenced by gpusim. */
    /* Private: maintained by the completion. */
    gpusim_waiter_t *head_; /**< Oldest queued waiter. */
    gpusim_waiter_t *tail_; /**< Newest queued waiter. */
    gpusim_event_t timer_;  /**< A signal scheduled with gpusim_completion_signal_at(). */
    gpusim_time_t done_at_; /**< When it was signalled. */
    bool done_;             /**< Signalled and not reset since. */
};

/** Initialises a completion that has not been signalled. Never fails; NULL is ignored. */
GPUSIM_EXTERN void gpusim_completion_init(gpusim_completion_t *c, void *data);

/** Initialises an idle waiter. Never fails; NULL is ignored. */
GPUSIM_EXTERN void gpusim_waiter_init(gpusim_waiter_t *waiter);

/** Returns whether the completion has been signalled (and not reset since); false for NULL. */
GPUSIM_EXTERN bool gpusim_completion_done(const gpusim_completion_t *c);

/** Returns the virtual time of the signal, or GPUSIM_TIME_MAX while not signalled (and for NULL). */
GPUSIM_EXTERN gpusim_time_t gpusim_completion_time(const gpusim_completion_t *c);

/**
 * Signals the completion now: it becomes done and every queued waiter is woken (see "Ordering").
 * Signalling a done completion does nothing. A scheduled signal that has not fired is cancelled.
 * Cannot fail for want of memory: each waiter reserved its wake-up when it began to wait.
 * Returns 0, or GPUSIM_EINVAL (NULL argument, or waiters that began to wait in another world;
 * nothing is signalled then).
 */
GPUSIM_EXTERN int gpusim_completion_signal(gpusim_world_t *w, gpusim_completion_t *c);

/**
 * Schedules the signal at absolute time `when` (>= now). Returns 0, GPUSIM_EINVAL (NULL, `when` in
 * the past), GPUSIM_EBUSY (already done, or a signal is already scheduled) or GPUSIM_ENOMEM.
 */
GPUSIM_EXTERN int gpusim_completion_signal_at(gpusim_world_t *w, gpusim_completion_t *c,
                                              gpusim_time_t when);

/**
 * Makes a done completion not done again, for reuse. Returns 0, GPUSIM_EINVAL (NULL) or GPUSIM_EBUSY
 * (waiters are queued or a signal is scheduled: it is in use).
 */
GPUSIM_EXTERN int gpusim_completion_reset(gpusim_completion_t *c);

/**
 * Waits for the completion. If it is already done, returns 0 and `cb` is not called. Otherwise the
 * waiter is queued, returns GPUSIM_EINPROGRESS, and `cb` runs once, after the signal. `data` is
 * stored in waiter->data. Returns GPUSIM_EINVAL (NULL argument, or the completion already has
 * waiters from another world), GPUSIM_EBUSY (this waiter is already waiting), GPUSIM_ENOMEM (no room
 * could be reserved for the wake-up) or GPUSIM_ENOSPC (the world has 2^32 - 2 events pending)
 * without queueing anything.
 */
GPUSIM_EXTERN int gpusim_completion_wait(gpusim_world_t *w, gpusim_completion_t *c,
                                         gpusim_waiter_t *waiter, gpusim_waiter_cb cb, void *data);

/**
 * Stops a waiter from waiting, whether it is still queued or already woken but not yet run; its
 * callback will not run. Returns 0, GPUSIM_ENOENT (it was not waiting) or GPUSIM_EINVAL (NULL, or
 * `w` is not the world it waits in).
 */
GPUSIM_EXTERN int gpusim_waiter_cancel(gpusim_world_t *w, gpusim_waiter_t *waiter);

/** Returns whether the waiter is waiting (queued, or woken with its callback still to run); false
 *  for NULL. */
GPUSIM_EXTERN bool gpusim_waiter_waiting(const gpusim_waiter_t *waiter);

/** Returns when the waiter's current or last wait began (0 for NULL). */
GPUSIM_EXTERN gpusim_time_t gpusim_waiter_since(const gpusim_waiter_t *waiter);

GPUSIM_END_DECLS

#endif /* GPUSIM_COMPLETION_H */
