/*
 * gpusim/world.h -- the world, its virtual clock and event queue, and logging. Part of <gpusim.h>.
 *
 * A world is one single-threaded discrete-event simulation. It owns the virtual clock, the event
 * queue, the master seed, the statistics registry and an allocator arena that holds every byte the
 * simulator allocates for it. Actors are state machines driven by events: an actor embeds a
 * gpusim_event_t, schedules it at a virtual time, and its callback runs when the clock gets there.
 *
 * Ordering: events run in order of (time, insertion sequence). Two events scheduled for the same
 * time run in the order they were scheduled, so a run is fully determined by its inputs and seed.
 *
 *     gpusim_world_t *w;
 *     gpusim_world_new(NULL, &w);
 *     gpusim_event_init(&actor->ev, actor_step, actor);
 *     gpusim_event_schedule_after(w, &actor->ev, 30 * GPUSIM_NS_PER_US);
 *     gpusim_world_run(w);                   // until no event is left
 *     gpusim_world_free(w);
 */
#ifndef GPUSIM_WORLD_H
#define GPUSIM_WORLD_H

#ifndef GPUSIM_H_INSIDE
#error "include <gpusim.h>, not its parts"
#endif

GPUSIM_BEGIN_DECLS

/* ------------------------------------------------------------------------------------------- */
/* Logging                                                                                     */
/* ------------------------------------------------------------------------------------------- */

/** Log levels, from silent to chatty. A world logs nothing by default. */
typedef enum gpusim_log_level_e {
    GPUSIM_LOG_OFF = 0,   /**< Nothing (the default). */
    GPUSIM_LOG_ERROR = 1, /**< Something failed that the caller will also see as an error code. */
    GPUSIM_LOG_WARN = 2,  /**< Something surprising that the simulation survives. */
    GPUSIM_LOG_INFO = 3,  /**< Milestones: world created, run finished. */
    GPUSIM_LOG_DEBUG = 4, /**< Per-operation detail. */
    GPUSIM_LOG_TRACE = 5  /**< Per-event detail; compiled out of release builds. */
} gpusim_log_level_t;

/**
 * Receives one log message. `now` is the virtual time of the message, `subsystem` a short static
 * name ("world", "event", ...), `msg` the formatted text without a trailing newline; both strings
 * are valid only during the call. Called on the world's thread.
 */
typedef void (*gpusim_log_cb)(void *ud, gpusim_log_level_t level, gpusim_time_t now,
                              const char *subsystem, const char *msg);

/* ------------------------------------------------------------------------------------------- */
/* World                                                                                       */
/* ------------------------------------------------------------------------------------------- */

/** Options for gpusim_world_new(). Initialise with gpusim_world_config_init(), then adjust. */
typedef struct gpusim_world_config_s {
    uint64_t seed;                /**< Master seed of every random stream (default 1). */
    gpusim_log_level_t log_level; /**< Messages up to this level are emitted (default OFF). */
    gpusim_log_cb log_cb;         /**< Log sink; NULL writes to stderr (default NULL). */
    void *log_ud;                 /**< Passed to log_cb. */
    size_t event_capacity;        /**< Events the queue holds before it grows (default 1024; 0
                                       means the default; at most 2^32 - 2). */
    uint64_t mem_limit;           /**< The simulator's memory budget for this world: the most
                                       bytes it may hold allocated at once, the world's own
                                       structures included (default 0: no limit). An allocation
                                       that would cross it fails as GPUSIM_ENOMEM wherever it
                                       happens: the call that needed it returns GPUSIM_ENOMEM, a
                                       step inside an event degrades as on a real allocation
                                       failure, and gpusim_world_memory() counts the refusal. */
} gpusim_world_config_t;

/** Fills `cfg` with the defaults documented in gpusim_world_config_t. */
GPUSIM_EXTERN void gpusim_world_config_init(gpusim_world_config_t *cfg);

/**
 * Creates a world at virtual time 0. `cfg` may be NULL for the defaults.
 * Returns 0 and sets *out, or GPUSIM_EINVAL (out is NULL, log level out of range, event_capacity
 * above 2^32 - 2), GPUSIM_ENOMEM. *out is untouched on error.
 */
GPUSIM_EXTERN int gpusim_world_new(const gpusim_world_config_t *cfg, gpusim_world_t **out);

/**
 * Frees a world and everything the simulator allocated for it. Events still pending are dropped
 * without being touched (their memory may already be gone); re-initialise one before reusing it.
 * NULL is ignored. Called from inside one of the world's own callbacks, the free is deferred: the
 * world stays valid until that callback returns, then the run ends (gpusim_world_run and
 * gpusim_world_run_until return GPUSIM_ECANCELED, gpusim_world_run_events the count so far) and
 * the world is freed before the run function returns. The same holds for a notifier callback
 * called outside a run: gpusim_notifier_invalidate_start then returns GPUSIM_ECANCELED.
 */
GPUSIM_EXTERN void gpusim_world_free(gpusim_world_t *w);

/** The simulator's own memory use by one world (gpusim_world_memory()). */
typedef struct gpusim_world_memory_s {
    uint64_t bytes;      /**< Bytes allocated now (as requested: the same under every allocator). */
    uint64_t peak_bytes; /**< Highest value of `bytes` since creation. */
    uint64_t limit;      /**< gpusim_world_config_t.mem_limit (0: none). */
    uint64_t refused;    /**< Allocations refused because of the limit. */
    uint64_t refused_size; /**< Size of the first refused allocation (0 if none). */
    uint64_t refused_at;   /**< `bytes` when that allocation was asked for. */
} gpusim_world_memory_t;

/**
 * Fills *out with the memory the simulator holds for world `w`. A non-zero `refused` means the
 * budget was hit and the simulation since then is not trustworthy: stop and report. Returns 0, or
 * GPUSIM_EINVAL if an argument is NULL (*out untouched).
 */
GPUSIM_EXTERN int gpusim_world_memory(const gpusim_world_t *w, gpusim_world_memory_t *out);

/** Returns the current virtual time (0 for NULL). */
GPUSIM_EXTERN gpusim_time_t gpusim_world_now(const gpusim_world_t *w);

/** Returns the master seed the world was created with (0 for NULL). */
GPUSIM_EXTERN uint64_t gpusim_world_seed(const gpusim_world_t *w);

/**
 * Initialises `rng` as the world's stream named `name` (a function of the master seed and the name
 * only). Returns 0, or GPUSIM_EINVAL if an argument is NULL.
 */
GPUSIM_EXTERN int gpusim_world_rng(const gpusim_world_t *w, const char *name, gpusim_rng_t *rng);

/** Sets the world's user data pointer; gpusim never dereferences it. NULL w is ignored. */
GPUSIM_EXTERN void gpusim_world_set_data(gpusim_world_t *w, void *data);

/** Returns the world's user data pointer (NULL until set, and for NULL w). */
GPUSIM_EXTERN void *gpusim_world_data(const gpusim_world_t *w);

/**
 * Changes the log level and sink. `cb` NULL means stderr. Returns 0, or GPUSIM_EINVAL for a level
 * outside gpusim_log_level_t.
 */
GPUSIM_EXTERN int gpusim_world_set_log(gpusim_world_t *w, gpusim_log_level_t level,
                                       gpusim_log_cb cb, void *ud);

/* ------------------------------------------------------------------------------------------- */
/* Events                                                                                      */
/* ------------------------------------------------------------------------------------------- */

/** A schedulable event (defined below). */
typedef struct gpusim_event_s gpusim_event_t;

/**
 * An event callback. It runs at the event's time with the event no longer pending, so it may
 * reschedule the same event. It may schedule and cancel any event of the world.
 */
typedef void (*gpusim_event_cb)(gpusim_world_t *w, gpusim_event_t *ev);

/**
 * A schedulable event, embedded by the caller in the actor it drives (recover the actor with
 * `data` or offsetof). The world never allocates or frees events. While an event is pending, its
 * memory must stay valid and must not be re-initialised: cancel it first.
 */
struct gpusim_event_s {
    void *data; /**< User slot, set by gpusim_event_init(); gpusim never dereferences it. */
    /* Private: maintained by the world. */
    gpusim_event_cb cb_;    /**< Callback. */
    gpusim_world_t *world_; /**< World it is pending in, or NULL. */
    gpusim_time_t when_;    /**< Time it is (or was last) scheduled for. */
    uint32_t index_;        /**< Position in the queue; UINT32_MAX when not pending. */
    uint32_t reserved_;     /**< Zero. */
};

/**
 * Initialises an event that is not pending. NULL ev is ignored; an event initialised with a NULL
 * `cb` is refused by the schedule functions (GPUSIM_EINVAL).
 */
GPUSIM_EXTERN void gpusim_event_init(gpusim_event_t *ev, gpusim_event_cb cb, void *data);

/**
 * Schedules a non-pending event at absolute virtual time `when` (>= now).
 * Returns 0, or GPUSIM_EINVAL (NULL argument, an event with no callback such as a zero-filled one
 * never passed to gpusim_event_init(), `when` in the past), GPUSIM_EBUSY (already pending: use
 * gpusim_event_reschedule()), GPUSIM_ENOMEM (the queue could not grow; nothing changed),
 * GPUSIM_ENOSPC (2^32 - 2 events are already pending).
 */
GPUSIM_EXTERN int gpusim_event_schedule(gpusim_world_t *w, gpusim_event_t *ev, gpusim_time_t when);

/**
 * Schedules a non-pending event `delay` ns from now. Errors as gpusim_event_schedule(), plus
 * GPUSIM_EOVERFLOW if now + delay does not fit in gpusim_time_t.
 */
GPUSIM_EXTERN int gpusim_event_schedule_after(gpusim_world_t *w, gpusim_event_t *ev,
                                              gpusim_time_t delay);

/**
 * Moves an event to absolute time `when` (>= now), whether or not it is pending. It takes a new
 * insertion sequence, so among events at `when` it runs after those already scheduled there.
 * Errors as gpusim_event_schedule(), without GPUSIM_EBUSY, plus GPUSIM_EINVAL for an event pending
 * in another world; on error a pending event stays where it was.
 */
GPUSIM_EXTERN int gpusim_event_reschedule(gpusim_world_t *w, gpusim_event_t *ev,
                                          gpusim_time_t when);

/**
 * Cancels a pending event. Returns 0, GPUSIM_ENOENT if it was not pending (harmless), or
 * GPUSIM_EINVAL if an argument is NULL or the event is pending in another world.
 */
GPUSIM_EXTERN int gpusim_event_cancel(gpusim_world_t *w, gpusim_event_t *ev);

/** Returns whether the event is pending in some world (false for NULL). */
GPUSIM_EXTERN bool gpusim_event_pending(const gpusim_event_t *ev);

/** Returns the time the event is, or was last, scheduled for (0 if never, and for NULL). */
GPUSIM_EXTERN gpusim_time_t gpusim_event_time(const gpusim_event_t *ev);

/** Returns the number of pending events (0 for NULL). */
GPUSIM_EXTERN size_t gpusim_world_pending(const gpusim_world_t *w);

/** Returns the time of the earliest pending event, or GPUSIM_TIME_MAX if there is none or w is
 *  NULL. */
GPUSIM_EXTERN gpusim_time_t gpusim_world_next_time(const gpusim_world_t *w);

/** Returns how many event callbacks the world has run since it was created (0 for NULL). */
GPUSIM_EXTERN uint64_t gpusim_world_events_run(const gpusim_world_t *w);

/* ------------------------------------------------------------------------------------------- */
/* Running                                                                                     */
/* ------------------------------------------------------------------------------------------- */

/**
 * Runs every event with time <= `until`, in order, then advances the clock to `until`.
 * Returns 0; GPUSIM_ECANCELED if gpusim_world_stop() ended the run early (the clock stays at the
 * last event run); GPUSIM_EINVAL if `until` is before now; GPUSIM_EBUSY if called from inside a
 * callback of this world.
 */
GPUSIM_EXTERN int gpusim_world_run_until(gpusim_world_t *w, gpusim_time_t until);

/**
 * Runs events until none is pending; the clock stays at the last event's time.
 * Returns 0, or GPUSIM_ECANCELED, GPUSIM_EBUSY as gpusim_world_run_until(), or GPUSIM_EINVAL if w
 * is NULL.
 */
GPUSIM_EXTERN int gpusim_world_run(gpusim_world_t *w);

/**
 * Runs at most `n` events (a count above INT64_MAX is taken as INT64_MAX). Returns the number run
 * (>= 0), or GPUSIM_EBUSY as above, or GPUSIM_EINVAL if w is NULL. A stop request ends the run
 * early; the count says how far it got.
 */
GPUSIM_EXTERN int64_t gpusim_world_run_events(gpusim_world_t *w, uint64_t n);

/**
 * Called after each event callback returns, while the world is running (docs/architecture.md,
 * decision 19). `w` is the world; `ud` what gpusim_world_set_event_hook() was given. It is meant
 * for invariant checks: it may read anything, and call gpusim_world_stop() to end the run after
 * this event (a failed check). It must not run the world (refused with GPUSIM_EBUSY) and should
 * not schedule, cancel or change anything, or the run is no longer the one without the hook. It
 * is not called after an event whose callback freed the world.
 */
typedef void (*gpusim_event_hook_cb)(void *ud, gpusim_world_t *w);

/**
 * Sets (or, with `cb` NULL, removes) the hook run after every event. Costs one predictable branch
 * per event when unset (the default). Returns 0, or GPUSIM_EINVAL if `w` is NULL.
 */
GPUSIM_EXTERN int gpusim_world_set_event_hook(gpusim_world_t *w, gpusim_event_hook_cb cb, void *ud);

/**
 * Asks the run in progress to return after the current callback. Outside a run, and for NULL, it
 * does nothing (the request does not outlive the run).
 */
GPUSIM_EXTERN void gpusim_world_stop(gpusim_world_t *w);

GPUSIM_END_DECLS

#endif /* GPUSIM_WORLD_H */
