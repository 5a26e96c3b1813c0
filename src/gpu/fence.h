/*
 * gpu/fence.h -- timeline fences: a 64-bit value that only increases, signalled by queues and
 * waited on by queues and host-side actors, with timeouts and an error state. Internal.
 *
 * The model is a Vulkan timeline semaphore / amdgpu user-queue fence / drm_syncobj timeline point:
 * a waiter asks for a target value and is woken once the fence's value reaches it. Nothing
 * blocks: a waiter's callback runs later, in an event.
 *
 *     gpusim__gpu_fence_init(&f, 0);
 *     gpusim__gpu_fence_signal_at(w, &f, 1, now + job_ns);          // the producing queue
 *     rc = gpusim__gpu_fence_wait(w, &f, 1, &actor->fw, done, actor, timeout);
 *     // rc 0: already reached (done is not called); GPUSIM_EINPROGRESS: done(w, fw, status) later
 *
 * Signals. signal(value) requires value > the current value (GPUSIM_EINVAL otherwise, nothing
 * changes) and wakes every waiter whose target <= value, in order of target and then of arrival.
 * Each woken waiter gets its own event at the signal's virtual time, scheduled in that order, so a
 * callback never runs inside the signaller's call stack and the order is deterministic. A signal
 * cannot fail for want of memory: a waiter without a timeout reserved its wake-up in the event
 * queue when it began to wait (gpusim__queue_reserve, as core/completion.c does); a waiter with a
 * timeout already has its event pending at the deadline, and the signal moves it to now
 * (gpusim_event_reschedule of a pending event re-keys it in place, allocating nothing).
 * signal_at(value, when) schedules one signal (one at a time per fence; cancellable); a direct
 * signal that reaches its value makes it moot and cancels it.
 *
 * Timeouts. A wait with timeout t ends with GPUSIM_EFENCETIMEDOUT at now + t unless the target is
 * reached first; the waiter is dequeued and later signals do not see it. A signal and a deadline
 * at the same virtual time: whichever event runs first wins (deterministic, by event order).
 * t == GPUSIM_TIME_MAX (or any t that would pass GPUSIM_TIME_MAX) waits for ever; t == 0 polls:
 * GPUSIM_EFENCETIMEDOUT at once when the target is not reached.
 *
 * Errors. set_error(err) marks the fence failed (its producer's context was killed): every queued
 * waiter is woken with err (same order and delivery as a signal), later waits for a value not yet
 * reached fail at once with err, signals are refused with err, and a pending signal_at is
 * cancelled. A wait for a value reached before the error still succeeds: that work completed.
 *
 * Waiter states (like core/completion.c's):
 *
 *     idle --wait()--> queued --signal / set_error--> woken --its event runs--> idle (cb called)
 *                        |  \--deadline event runs-------------------------> idle (cb: timeout)
 *                        +--cancel()--> idle          woken --cancel()--> idle (no callback)
 *
 *   queued: on != NULL, in the fence's tree; ev pending at the deadline, or (no timeout) not
 *           pending and holding one reservation;
 *   woken:  on == NULL, ev pending at the signal's time, status set;
 *   idle:   on == NULL, ev not pending.
 *
 * Waiters are kept in the fence's interval tree (core/itree.h) keyed by (target, arrival): insert
 * and remove O(log n); a signal waking k waiters costs O(k log n) and nothing else, since the
 * tree's minimum is the next candidate. Sorted lists were rejected: host actors and queues may
 * queue many waiters on one fence (every job of a pipeline waits on its predecessor's point).
 *
 * Ownership: fences and waiters are caller-allocated; nothing here allocates except the event
 * queue's room for wake-ups. A waiter must stay valid while waiting (cancel it first); a fence must
 * stay valid while it has waiters or a scheduled signal. A fence's waiters and its scheduled
 * signal all belong to one world, the one passed to every call. If that world is freed, waiters
 * still waiting stay "waiting": initialise them again before reuse.
 *
 * Invariants (gpusim__gpu_fence_check): the tree is a valid itree; every queued waiter is on this
 * fence, in world w, with target > value, an arrival number below next_order, and its event
 * pending exactly when it has a deadline (at that deadline); the world holds at least one event
 * reservation per waiter without a deadline; a failed fence has no queued waiters and no
 * scheduled signal; a scheduled signal is in world w and its value is above the current value.
 */
#ifndef GPUSIM_GPU_FENCE_H
#define GPUSIM_GPU_FENCE_H

#include <stdbool.h>
#include <stdint.h>

#include "gpusim.h"
#include "core/itree.h"

typedef struct gpusim__gpu_fence gpusim__gpu_fence;
typedef struct gpusim__gpu_fence_waiter gpusim__gpu_fence_waiter;

/*
 * Runs when a wait ends: status 0 (the target was reached), GPUSIM_EFENCETIMEDOUT or the fence's
 * error. The waiter is idle again when it runs, so it may wait again.
 */
typedef void (*gpusim__gpu_fence_cb)(gpusim_world_t *w, gpusim__gpu_fence_waiter *waiter,
                                     int status);

struct gpusim__gpu_fence_waiter {
    void *data;              /* User slot, set by wait; never dereferenced here. */
    gpusim__itree_node node; /* In the fence's tree: start = last = target, order = arrival. */
    gpusim_event_t ev;       /* The deadline while queued; the wake-up once woken. */
    gpusim__gpu_fence *on;   /* Fence waited on while queued, else NULL. */
    gpusim__gpu_fence_cb cb; /* Callback. */
    gpusim_world_t *world;   /* World of the current or last wait. */
    gpusim_time_t since;     /* When the current or last wait began. */
    gpusim_time_t deadline;  /* When it times out; GPUSIM_TIME_MAX: never. */
    int status;              /* What the callback will get once woken. */
};

struct gpusim__gpu_fence {
    uint64_t value;        /* Current value: only increases. */
    int error;             /* 0, or the negative error the fence failed with. */
    gpusim__itree waiters; /* Queued waiters by (target, arrival). */
    uint64_t next_order;   /* Arrival number of the next waiter. */
    gpusim_event_t timer;  /* A signal scheduled with signal_at. */
    uint64_t timer_value;  /* The value it will signal. */
    /* Counters, ever. */
    uint64_t signals;   /* Signals applied (direct and scheduled). */
    uint64_t waits;     /* Wait calls that got past argument checks. */
    uint64_t immediate; /* Waits satisfied at once (returned 0). */
    uint64_t woken;     /* Waiters woken by a signal (status 0). */
    uint64_t timeouts;  /* Waits ended by their timeout (polls included). */
    uint64_t errors;    /* Waits ended by the fence's error (at once or woken). */
    uint64_t cancels;   /* Waits cancelled by the waiter. */
};

/* Initialises a fence with value `initial`, no error, no waiters. NULL is ignored. */
void gpusim__gpu_fence_init(gpusim__gpu_fence *f, uint64_t initial);

/* Initialises an idle waiter. NULL is ignored. */
void gpusim__gpu_fence_waiter_init(gpusim__gpu_fence_waiter *waiter);

/* The current value (0 for NULL). */
static inline uint64_t gpusim__gpu_fence_value(const gpusim__gpu_fence *f)
{
    return f != NULL ? f->value : 0;
}

/* The fence's error: 0 while it has none (and for NULL). */
static inline int gpusim__gpu_fence_error(const gpusim__gpu_fence *f)
{
    return f != NULL ? f->error : 0;
}

/*
 * Sets the value to `value` and wakes the waiters it satisfies (see "Signals"). Returns 0,
 * GPUSIM_EINVAL (NULL, value <= current value, waiters from another world) or the fence's error,
 * changing nothing on failure.
 */
int gpusim__gpu_fence_signal(gpusim_world_t *w, gpusim__gpu_fence *f, uint64_t value);

/*
 * Schedules signal(value) at absolute time `when` (>= now). At that time it applies only if the
 * value is still above the fence's (a direct signal reaching it cancels it). Returns 0,
 * GPUSIM_EINVAL (NULL, when < now, value <= current value, waiters from another world),
 * GPUSIM_EBUSY (a signal is already scheduled), the fence's error, GPUSIM_ENOMEM or GPUSIM_ENOSPC.
 */
int gpusim__gpu_fence_signal_at(gpusim_world_t *w, gpusim__gpu_fence *f, uint64_t value,
                                gpusim_time_t when);

/* Cancels the scheduled signal. Returns 0, GPUSIM_ENOENT (none) or GPUSIM_EINVAL (NULL). */
int gpusim__gpu_fence_signal_cancel(gpusim_world_t *w, gpusim__gpu_fence *f);

/*
 * Fails the fence with `err` (negative) and wakes every waiter with it (see "Errors"). Returns 0,
 * GPUSIM_EINVAL (NULL, err >= 0, waiters from another world) or GPUSIM_EBUSY (it already failed;
 * the first error stays).
 */
int gpusim__gpu_fence_set_error(gpusim_world_t *w, gpusim__gpu_fence *f, int err);

/*
 * Waits until the value is >= target, for at most `timeout` ns (GPUSIM_TIME_MAX: for ever). `data`
 * goes to waiter->data. Returns:
 *   0                      reached already; cb is not called;
 *   GPUSIM_EINPROGRESS     queued; cb runs once, later;
 *   the fence's error      it failed and target is not reached; nothing queued;
 *   GPUSIM_EFENCETIMEDOUT  timeout 0 and target not reached; nothing queued;
 *   GPUSIM_EINVAL          NULL argument, or the fence has waiters from another world;
 *   GPUSIM_EBUSY           the waiter is already waiting;
 *   GPUSIM_ENOMEM, GPUSIM_ENOSPC  no room in the event queue; nothing queued.
 */
int gpusim__gpu_fence_wait(gpusim_world_t *w, gpusim__gpu_fence *f, uint64_t target,
                           gpusim__gpu_fence_waiter *waiter, gpusim__gpu_fence_cb cb, void *data,
                           gpusim_time_t timeout);

/*
 * Stops a waiter, queued or woken but not yet run; its callback will not run. Returns 0,
 * GPUSIM_ENOENT (not waiting) or GPUSIM_EINVAL (NULL, or `w` is not the world it waits in).
 */
int gpusim__gpu_fence_waiter_cancel(gpusim_world_t *w, gpusim__gpu_fence_waiter *waiter);

/* Whether the waiter is waiting (queued, or woken with its callback still to run). */
bool gpusim__gpu_fence_waiter_waiting(const gpusim__gpu_fence_waiter *waiter);

/* Verifies the invariants listed at the top of this file for fence f in world w. */
bool gpusim__gpu_fence_check(const gpusim_world_t *w, const gpusim__gpu_fence *f);

#endif /* GPUSIM_GPU_FENCE_H */
