/*
 * core/world.h -- the definition of a world, shared by the core modules. Internal.
 *
 * A world is a single-threaded discrete-event simulation (docs/architecture.md, "Time and
 * determinism"). It owns, and frees with itself:
 *   - an arena, the allocation context of everything below and of every module built on the world;
 *   - the virtual clock and the event queue;
 *   - the statistics registry;
 *   - the master seed, from which every random stream is derived by name.
 *
 * The world struct itself lives in its own arena, so that destroying the arena is the last step of
 * gpusim_world_free().
 */
#ifndef GPUSIM_CORE_WORLD_H
#define GPUSIM_CORE_WORLD_H

#include "gpusim.h"
#include "core/alloc.h"
#include "core/event.h"
#include "core/stats.h"

/*
 * An object a module created in a world and that the world must free if the user does not: a
 * notifier domain, later a process or a GPU. Embedded in the object; the world keeps them in a list
 * and, at teardown, destroys the ones still there, newest first, before anything else.
 */
typedef struct gpusim__owned gpusim__owned;
typedef void (*gpusim__destroy_fn)(gpusim_world_t *w, gpusim__owned *o);
struct gpusim__owned {
    gpusim__owned *prev; /* Neighbours in the world's circular list. */
    gpusim__owned *next;
    gpusim__destroy_fn destroy; /* Frees the object (through the world's arena). */
};

/* Statistics the core publishes; raw values live in hot structures and are copied on query. */
typedef struct gpusim__core_stats {
    gpusim_stat_t *events_run;       /* sim.events.run */
    gpusim_stat_t *events_scheduled; /* sim.events.scheduled */
    gpusim_stat_t *events_cancelled; /* sim.events.cancelled */
    gpusim_stat_t *events_pending;   /* sim.events.pending (gauge, peak) */
    gpusim_stat_t *now;              /* sim.now (gauge, ns) */
    gpusim_stat_t *alloc_bytes;      /* alloc.bytes (gauge, peak) */
    gpusim_stat_t *alloc_count;      /* alloc.allocations */
    gpusim_stat_t *alloc_failures;   /* alloc.failures */
} gpusim__core_stats;

struct gpusim_world_s {
    gpusim__arena arena;             /* Allocation context; the world struct is its first block. */
    gpusim_time_t now;               /* Virtual clock, ns. Never decreases. */
    gpusim__queue queue;             /* Pending events. */
    uint64_t events_run;             /* Callbacks run since creation. */
    bool running;                    /* Inside gpusim_world_run*(): reentry is refused. */
    bool stop_requested;             /* gpusim_world_stop() was called during this run. */
    bool free_requested;             /* gpusim_world_free() was called from a callback: deferred. */
    unsigned callback_depth;         /* Module calls into user code in progress (outside events). */
    uint64_t seed;                   /* Master seed. */
    gpusim__stats stats;             /* Registry of named statistics. */
    gpusim__core_stats core;         /* The core's own statistics. */
    gpusim_log_level_t log_level;    /* Messages above this level are dropped before formatting. */
    gpusim_log_cb log_cb;            /* Sink; NULL = stderr. */
    void *log_ud;                    /* Passed to log_cb. */
    gpusim_trace_cb trace_cb;        /* Span hook (core/trace.h); NULL = none, the default. */
    void *trace_ud;                  /* Passed to trace_cb. */
    gpusim_event_hook_cb event_hook; /* Runs after each event (core/event.c); NULL = none. */
    void *event_hook_ud;             /* Passed to event_hook. */
    void *data;                      /* User pointer. */
    gpusim__owned owned;             /* Sentinel of the list of objects to destroy at teardown. */
};

/* Copies the core's raw counters into its statistics; called before any statistics query. */
void gpusim__world_publish(gpusim_world_t *w);

/* Frees everything the world owns, the world itself last. The run loop calls it for a deferred free. */
void gpusim__world_release(gpusim_world_t *w);

/*
 * Brackets a call from a module into user code that is not an event callback (a notifier
 * callback called from gpusim_notifier_invalidate_start). gpusim_world_free() called inside such
 * a call is deferred; gpusim__world_leave() returns true when the caller must now release the
 * world with gpusim__world_release() and return without touching it (or its objects) again.
 */
static inline void gpusim__world_enter(gpusim_world_t *w)
{
    w->callback_depth++;
}

static inline bool gpusim__world_leave(gpusim_world_t *w)
{
    w->callback_depth--;
    return w->free_requested && !w->running && w->callback_depth == 0;
}

/* Puts `o` on the world's list of objects to destroy at teardown. */
void gpusim__world_own(gpusim_world_t *w, gpusim__owned *o, gpusim__destroy_fn destroy);

/* Takes `o` off that list (the object is being freed by its own API). */
void gpusim__world_disown(gpusim__owned *o);

#endif /* GPUSIM_CORE_WORLD_H */
