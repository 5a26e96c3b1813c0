/*
 * core/event.h -- the event queue of a world: a 4-ary min-heap of caller-owned events. Internal.
 *
 * Layout: an array of entries {when, seq, ev}. The ordering key (when, seq) is copied into the
 * entry so that sifting compares keys in one array without reading event memory; the event keeps
 * its array position in ev->index_ (one store per entry moved) so that cancel and reschedule are
 * O(log n) without a search. A 4-ary heap is half as deep as a binary one and its four children share a
 * cache line or two, which is what makes schedule + dispatch cost tens of nanoseconds.
 *
 *             [0]
 *      [1]  [2]  [3]  [4]          children of i: 4i+1 .. 4i+4;  parent of i: (i-1)/4
 *     /|||\ ...
 *
 * Invariants (checked by gpusim__queue_check()):
 *   - heap order: no entry's key is smaller than its parent's;
 *   - for every i < n: ents[i].ev->index_ == i and ents[i].ev->world_ is this queue's world;
 *   - seq values are unique; next_seq is larger than all of them;
 *   - n + reserved <= cap.
 *
 * The array grows by doubling through the world's arena (never shrinks), so in steady state
 * scheduling allocates nothing; growth is the only way schedule can fail (GPUSIM_ENOMEM).
 */
#ifndef GPUSIM_CORE_EVENT_H
#define GPUSIM_CORE_EVENT_H

#include <stdbool.h>
#include <stdint.h>

#include "gpusim.h"
#include "core/alloc.h"

/* ev->index_ of an event that is not in any queue. */
#define GPUSIM__NOT_QUEUED UINT32_MAX

/* Entries allocated when a world's configuration does not say (gpusim_world_config_init). */
#define GPUSIM__EVENT_DEFAULT_CAPACITY 1024

/* Most events that can be pending at once (indices are 32 bits, one value marks "not queued"). */
#define GPUSIM__EVENT_MAX_PENDING (GPUSIM__NOT_QUEUED - 1)

typedef struct gpusim__qent {
    gpusim_time_t when; /* Copy of ev->when_: the primary key. */
    uint64_t seq;       /* Insertion sequence: the tie-breaker. */
    gpusim_event_t *ev; /* The event. */
} gpusim__qent;

typedef struct gpusim__queue {
    gpusim__qent *ents;  /* Heap array, `cap` entries allocated from the world's arena. */
    size_t n;            /* Entries in use. */
    size_t cap;          /* Entries allocated. */
    size_t peak;         /* Highest n ever. */
    uint64_t next_seq;   /* Sequence given to the next insertion. */
    uint64_t nscheduled; /* Insertions, ever (schedule and reschedule). */
    uint64_t ncancelled; /* Cancellations of pending events, ever. */
    size_t reserved;     /* Entries promised to gpusim__event_schedule_reserved() callers. */
} gpusim__queue;

/* Allocates room for `cap` entries (0: the default). Returns 0, GPUSIM_ENOMEM or GPUSIM_EOVERFLOW. */
int gpusim__queue_init(gpusim__queue *q, gpusim__arena *a, size_t cap);

/* Frees the array. Pending events are not touched. */
void gpusim__queue_destroy(gpusim__queue *q, gpusim__arena *a);

/*
 * Reservations: a caller that must later schedule an event where it cannot handle failure (waking a
 * waiter when a completion is signalled) reserves the entry in advance. gpusim__queue_reserve()
 * grows the array so that n + reserved always fits; ordinary scheduling never uses reserved room.
 * Returns 0 or GPUSIM_ENOMEM (nothing reserved).
 */
int gpusim__queue_reserve(gpusim_world_t *w, size_t k);

/* Returns k unused reservations. */
void gpusim__queue_unreserve(gpusim_world_t *w, size_t k);

/* Schedules a non-pending event using one reservation; cannot fail. `when` >= now. */
void gpusim__event_schedule_reserved(gpusim_world_t *w, gpusim_event_t *ev, gpusim_time_t when);

/* Verifies every invariant above for the queue of world w; returns false at the first violation. */
bool gpusim__queue_check(const gpusim__queue *q, const gpusim_world_t *w);

#endif /* GPUSIM_CORE_EVENT_H */
