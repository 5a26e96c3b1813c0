/*
 * gpu/faultbuf.h -- a GPU's replayable fault buffer: a finite ring of fault entries, a per-uTLB
 * limit on outstanding faults, batch fetch with coalescing, and replay. Internal.
 *
 * The shape is NVIDIA's (cost-model.md §1.1, linux-semantics.md §6): the GPU MMU writes one entry
 * per fault into a ring shared with the driver; the driver, interrupted, fetches up to a batch of
 * entries, sorts them and coalesces duplicates (same context and page; a write among them makes the
 * coalesced fault a write), services them and issues a replay, upon which every stalled requester
 * retries its access. The module is a data structure with explicit operations: the device calls
 * them at virtual times it computes; nothing here schedules events or charges time.
 *
 *     push(fault) --> QUEUED     an entry is written; the requester stalls until a replay
 *                 --> THROTTLED  its uTLB is at the outstanding limit: nothing is recorded; the
 *                                requester stalls until the next replay, then faults again
 *                 --> DROPPED    the ring is full: the entry is lost (counted); the requester
 *                                stays stalled and faults again after the next replay
 *
 * Outstanding faults. Each uTLB may have at most `limit` faults outstanding (56 on Volta: Allen &
 * Ge SC'21 §3.2); a replay makes all of them retry and resets every count to 0. A DROPPED fault
 * counts against the limit: the uTLB issued it and waits for a replay exactly as for a recorded
 * one -- the overflow happens downstream, in the buffer, and the uTLB never learns of it. Allen &
 * Ge describe dropped faults as re-issued after replay, which is what a requester held by its uTLB
 * until the replay does; and it keeps the throttle meaningful when the buffer is full. A fault
 * counts from its push until the next replay (or until a cancel of its context), whether its entry
 * is still in the ring, was fetched by the driver, or was dropped. Entries fetched or dropped
 * leave a "stalled" record (uTLB, context) so that a cancel can release exactly its context's
 * share.
 *
 * Epochs. A replay without a flush (policy BATCH) leaves later entries in the ring; their
 * requesters retry at the replay and will fault again if still unserviced, so these entries no
 * longer count against their uTLB (they are "stale", from an older epoch). The driver still
 * fetches them; they are the duplicates across batches that BATCH_FLUSH exists to avoid.
 *
 * Interrupt. An interrupt is due when a fault has been queued since the driver last looked at
 * the ring (a fetch, or a flushing replay, which empties it), the ring is not empty, and the
 * device has not yet taken that interrupt (irq_take); so the device schedules exactly one
 * interrupt per such episode. A fault queued after the driver looked starts a new episode even if
 * the previous interrupt is still in flight: an interrupt that finds nothing is harmless, a lost
 * one would leave faults unserviced. After each replay the driver checks
 * gpusim__gpu_faultbuf_count() itself: BATCH may leave entries, as in UVM's service loop.
 *
 * Fetch. Up to `max` entries are popped in arrival order, then sorted by (context, page VA, arrival)
 * -- a total order, so the result never depends on the sort's stability -- and coalesced into unique
 * faults, each with its merged access, the earliest arrival's uTLB and time, and a duplicate count.
 *
 * Invariants (gpusim__gpu_faultbuf_check): head < cap and count <= cap; arrival sequence numbers
 * strictly increase around the ring; every entry is well formed and no newer than the current
 * epoch; for every uTLB, outstanding == (its current-epoch entries in the ring) + (its stalled
 * records) <= limit; pushed == queued + throttled + dropped; queued == fetched_raw + flushed +
 * cancelled + count; fetched_raw == unique + duplicates; count <= peak <= cap.
 */
#ifndef GPUSIM_GPU_FAULTBUF_H
#define GPUSIM_GPU_FAULTBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gpusim.h"
#include "core/alloc.h"

/* Largest ring: the hardware's size register has a 20-bit field (params.h fault_buffer_entries). */
#define GPUSIM__GPU_FAULTBUF_MAX_ENTRIES ((UINT32_C(1) << 20) - 1)
/* Bounds on the uTLBs and the per-uTLB limit (the stalled records take utlbs x limit slots). */
#define GPUSIM__GPU_FAULTBUF_MAX_UTLBS   4096
#define GPUSIM__GPU_FAULTBUF_MAX_LIMIT   1024

/* Access of a fault. */
enum { GPUSIM__GPU_FAULT_READ = 0, GPUSIM__GPU_FAULT_WRITE = 1 };

/* Replay policies, numbered as NVIDIA UVM's uvm_perf_fault_replay_policy (0, BLOCK, is absent). */
enum {
    GPUSIM__GPU_REPLAY_BATCH = 1,       /* replay after each batch */
    GPUSIM__GPU_REPLAY_BATCH_FLUSH = 2, /* flush the ring, then replay, after each batch */
    GPUSIM__GPU_REPLAY_ONCE = 3         /* replay once, after the ring has been drained */
};

/* Outcomes of a push (non-negative; errors are negative). */
enum {
    GPUSIM__GPU_FAULT_QUEUED = 0,
    GPUSIM__GPU_FAULT_THROTTLED = 1,
    GPUSIM__GPU_FAULT_DROPPED = 2
};

/* What the policy says to do after a batch has been serviced. */
enum {
    GPUSIM__GPU_FAULT_DO_REPLAY = 1,       /* replay(flush = false) */
    GPUSIM__GPU_FAULT_DO_REPLAY_FLUSH = 2, /* replay(flush = true) */
    GPUSIM__GPU_FAULT_DO_FETCH_MORE = 3    /* fetch and service another batch first */
};

/* One fault as the GPU raises it. */
typedef struct gpusim__gpu_fault {
    uint64_t va;        /* Page VA: 4 KiB aligned, below the 48-bit limit. */
    gpusim_time_t time; /* When it was raised (informational: the device's clock). */
    uint32_t ctx;       /* GPU VM context id. */
    uint16_t utlb;      /* The uTLB that raised it, < the buffer's utlb count. */
    uint8_t access;     /* GPUSIM__GPU_FAULT_READ or _WRITE. */
} gpusim__gpu_fault;

/* One unique fault of a fetched batch. */
typedef struct gpusim__gpu_fault_coalesced {
    gpusim__gpu_fault f; /* The earliest arrival's fault, with the merged access. */
    uint64_t seq;        /* The earliest arrival's sequence number (arrival order). */
    uint32_t dups;       /* Raw entries merged into this one beyond the first. */
} gpusim__gpu_fault_coalesced;

/* What one fetch did. */
typedef struct gpusim__gpu_faultbuf_fetch_info {
    uint32_t raw;    /* Entries popped. */
    uint32_t unique; /* Unique faults written to out[] (raw == unique + duplicates). */
    uint32_t duplicates;
    uint32_t remaining; /* Entries still in the ring. */
} gpusim__gpu_faultbuf_fetch_info;

/* A ring slot. */
typedef struct gpusim__gpu_faultbuf_entry {
    gpusim__gpu_fault f; /* The fault. */
    uint64_t seq;        /* Arrival sequence number, unique and increasing. */
    uint64_t epoch;      /* Replays done when it was queued; < epoch now means stale. */
} gpusim__gpu_faultbuf_entry;

/* An outstanding fault no longer in the ring (fetched or dropped), waiting for a replay. */
typedef struct gpusim__gpu_faultbuf_stalled {
    uint32_t ctx;  /* Its context. */
    uint32_t utlb; /* Its uTLB. */
} gpusim__gpu_faultbuf_stalled;

typedef struct gpusim__gpu_faultbuf {
    gpusim__arena *arena;              /* Allocation context of the arrays. */
    gpusim__gpu_faultbuf_entry *ring;  /* [cap] */
    uint32_t cap;                      /* Ring entries. */
    uint32_t head;                     /* Oldest entry (GET). */
    uint32_t count;                    /* Entries in the ring. */
    uint32_t nutlb;                    /* uTLBs. */
    uint32_t limit;                    /* Most outstanding faults per uTLB. */
    unsigned policy;                   /* GPUSIM__GPU_REPLAY_*. */
    uint32_t *outstanding;             /* [nutlb] faults outstanding per uTLB. */
    gpusim__gpu_faultbuf_stalled *stl; /* [nutlb * limit] stalled records, in arrival order. */
    size_t nstalled;                   /* Records in use. */
    uint64_t next_seq;                 /* Sequence number of the next queued entry. */
    bool queued_since_fetch;           /* A fault was queued since the last fetch. */
    bool irq_taken;                    /* The device took the interrupt of this episode. */
    /* Counters, ever. */
    uint64_t pushed;      /* Valid push calls: queued + throttled + dropped. */
    uint64_t queued;      /* Entries written to the ring. */
    uint64_t throttled;   /* Pushes refused at the uTLB limit. */
    uint64_t dropped;     /* Pushes lost to a full ring. */
    uint64_t fetched_raw; /* Entries popped by fetches. */
    uint64_t unique;      /* Unique faults returned by fetches. */
    uint64_t duplicates;  /* Entries coalesced into another (fetched_raw - unique). */
    uint64_t flushed;     /* Entries discarded by replay(flush). */
    uint64_t cancelled;   /* Entries removed by cancel. */
    uint64_t replays;     /* Replays issued; also the current epoch. */
    uint64_t interrupts;  /* Interrupts taken by the device. */
    uint32_t peak;        /* Highest count. */
} gpusim__gpu_faultbuf;

/*
 * Initialises a fault buffer of `cap` entries (1..GPUSIM__GPU_FAULTBUF_MAX_ENTRIES) for `nutlb`
 * uTLBs (1..GPUSIM__GPU_FAULTBUF_MAX_UTLBS), each allowed `limit` outstanding faults
 * (1..GPUSIM__GPU_FAULTBUF_MAX_LIMIT), under replay `policy`. Arrays come from `arena`. Returns 0,
 * GPUSIM_EINVAL (NULL or out of range; *fb untouched) or GPUSIM_ENOMEM (nothing allocated, *fb
 * zeroed).
 */
int gpusim__gpu_faultbuf_init(gpusim__gpu_faultbuf *fb, gpusim__arena *arena, uint32_t cap,
                              uint32_t nutlb, uint32_t limit, unsigned policy);

/*
 * As gpusim__gpu_faultbuf_init, with cap, limit and policy from params[GPUSIM__GPU_P_COUNT]
 * (fault_buffer_entries, fault_outstanding_per_utlb, fault_replay_policy).
 */
int gpusim__gpu_faultbuf_init_params(gpusim__gpu_faultbuf *fb, gpusim__arena *arena,
                                     const uint64_t *params, uint32_t nutlb);

/* Frees the arrays; *fb is zeroed. NULL and a zeroed buffer are ignored. */
void gpusim__gpu_faultbuf_destroy(gpusim__gpu_faultbuf *fb);

/*
 * Raises a fault. Returns GPUSIM__GPU_FAULT_QUEUED, _THROTTLED or _DROPPED (see the top of this
 * file), or GPUSIM_EINVAL (NULL, utlb out of range, bad access, VA not 4 KiB aligned) or
 * GPUSIM_EFAULT (VA at or above 2^48), changing nothing.
 */
int gpusim__gpu_faultbuf_push(gpusim__gpu_faultbuf *fb, const gpusim__gpu_fault *f);

/* Whether an interrupt is due (see "Interrupt"); does not change anything. */
bool gpusim__gpu_faultbuf_irq_due(const gpusim__gpu_faultbuf *fb);

/*
 * Takes the due interrupt: returns true, once per episode, when one is due (the device schedules
 * it), false otherwise.
 */
bool gpusim__gpu_faultbuf_irq_take(gpusim__gpu_faultbuf *fb);

/*
 * Pops up to `max` entries (max >= 1) and writes the unique faults they coalesce into to out[0..],
 * sorted by (context, VA); out must hold `max` elements. *info (may be NULL) says what was done.
 * Returns the number of unique faults (0 when the ring is empty), or GPUSIM_EINVAL (NULL fb or out,
 * max 0), changing nothing. Every fetch, even of nothing, ends the interrupt episode.
 */
int gpusim__gpu_faultbuf_fetch(gpusim__gpu_faultbuf *fb, gpusim__gpu_fault_coalesced *out,
                               uint32_t max, gpusim__gpu_faultbuf_fetch_info *info);

/* What the policy says to do after a batch has been serviced: GPUSIM__GPU_FAULT_DO_*. */
int gpusim__gpu_faultbuf_next_action(const gpusim__gpu_faultbuf *fb);

/*
 * Replays: every uTLB's outstanding count drops to 0 and the stalled records go (every stalled
 * requester retries); entries left in the ring become stale. With `flush` the ring is emptied
 * first, its entries counted as flushed. Returns the number of entries flushed, or GPUSIM_EINVAL
 * (NULL).
 */
int gpusim__gpu_faultbuf_replay(gpusim__gpu_faultbuf *fb, bool flush);

/*
 * Cancels context ctx: removes its entries from the ring, keeping the others in order, and
 * releases every outstanding count it holds (ring entries and stalled records). Returns the number
 * of ring entries removed, or GPUSIM_EINVAL (NULL).
 */
int gpusim__gpu_faultbuf_cancel(gpusim__gpu_faultbuf *fb, uint32_t ctx);

/* Entries in the ring. */
static inline uint32_t gpusim__gpu_faultbuf_count(const gpusim__gpu_faultbuf *fb)
{
    return fb->count;
}

/* Faults outstanding on uTLB u (0 when u is out of range). */
static inline uint32_t gpusim__gpu_faultbuf_outstanding(const gpusim__gpu_faultbuf *fb, uint32_t u)
{
    return u < fb->nutlb ? fb->outstanding[u] : 0;
}

/* Verifies the invariants listed at the top of this file. */
bool gpusim__gpu_faultbuf_check(const gpusim__gpu_faultbuf *fb);

#endif /* GPUSIM_GPU_FAULTBUF_H */
