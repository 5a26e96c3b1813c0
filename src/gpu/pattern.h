/*
 * gpu/pattern.h -- the memory access patterns of compute kernels, and address traces. Internal.
 *
 * A kernel touches a buffer in a pattern: sequential, strided, uniform random, hot/cold, a 5-point
 * stencil, a pointer chase, or the replay of a recorded trace. A pattern is a pure function from a
 * touch's index to the touch (offset in the buffer, bytes, read or write), so that:
 *   - every pass of a kernel makes exactly the same touches (what lets the engine fast-forward a
 *     steady state and still match full simulation);
 *   - the touches of a pass can be split among waves in any way and each wave computes its own
 *     without replaying the others' (random access in O(1));
 *   - the result depends on nothing but the descriptor and the seed (no shared generator state).
 * Randomness is a counter-based hash (core/rng.h's mix64) of (seed, stream, index).
 *
 * Touches are aligned to `touch_bytes` "slots" of the buffer: slot k covers [k * touch_bytes,
 * (k + 1) * touch_bytes), nslots = bytes / touch_bytes. A slot may straddle two 4 KiB pages when
 * touch_bytes does not divide 4096; the engine splits it. Pattern by pattern, touch i is:
 *   SEQUENTIAL  slot i mod nslots;
 *   STRIDED     offset (i x stride) mod bytes, rounded down to a slot;
 *   RANDOM      a uniform slot;
 *   HOTCOLD     with probability hot_access_pct %, a uniform slot of the hot set (the first
 *               hot_pct % of the slots, at least one), else a uniform slot of the rest;
 *   STENCIL     point p = i / 5 (slot p mod nslots) and its neighbours -1, +1, -row, +row slots
 *               (row = stride / touch_bytes, wrapping), in that order: a 5-point stencil sweep;
 *   CHASE       a pseudo-random permutation of the slots (a bijection, so a pass of nslots touches
 *               visits every slot once), each touch depending on the one before it
 *               (gpusim__gpu_pattern_dependent: the engine may not overlap them);
 *   TRACE       record i mod n of the trace (its offset, bytes and direction).
 * Every pattern but TRACE writes with probability write_pct %, decided per touch index.
 */
#ifndef GPUSIM_GPU_PATTERN_H
#define GPUSIM_GPU_PATTERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gpusim.h"
#include "core/alloc.h"

enum {
    GPUSIM__GPU_PAT_SEQUENTIAL,
    GPUSIM__GPU_PAT_STRIDED,
    GPUSIM__GPU_PAT_RANDOM,
    GPUSIM__GPU_PAT_HOTCOLD,
    GPUSIM__GPU_PAT_STENCIL,
    GPUSIM__GPU_PAT_CHASE,
    GPUSIM__GPU_PAT_TRACE,
    GPUSIM__GPU_PAT_COUNT
};

/* Largest touch: one page. */
#define GPUSIM__GPU_TOUCH_MAX 4096u
/* Most records a trace may hold. */
#define GPUSIM__GPU_TRACE_MAX (UINT64_C(1) << 24)

/* One access of a trace. */
typedef struct gpusim__gpu_trace_rec {
    uint64_t off;   /* Offset in the buffer. */
    uint32_t bytes; /* 1..GPUSIM__GPU_TOUCH_MAX */
    uint32_t write; /* 0 read, 1 write */
} gpusim__gpu_trace_rec;

/* A parsed address trace (gpusim__gpu_trace_parse); immutable once built. */
typedef struct gpusim__gpu_trace {
    size_t n;                   /* Records, >= 1. */
    gpusim__gpu_trace_rec *rec; /* [n] */
    uint64_t span;              /* max(off + bytes): the buffer must be at least this large. */
} gpusim__gpu_trace;

/* A kernel's access pattern over its buffer (offsets are relative to the buffer's start). */
typedef struct gpusim__gpu_pattern {
    unsigned kind;                  /* GPUSIM__GPU_PAT_* */
    uint64_t bytes;                 /* Buffer size, >= touch_bytes. */
    uint64_t touches;               /* Touches per pass, >= 1. */
    uint32_t touch_bytes;           /* 1..GPUSIM__GPU_TOUCH_MAX (ignored by TRACE). */
    uint64_t stride;                /* STRIDED: bytes between touches (> 0); STENCIL: row pitch. */
    uint32_t write_pct;             /* 0..100 (ignored by TRACE). */
    uint32_t hot_pct;               /* HOTCOLD: share of the slots that is hot, 1..100. */
    uint32_t hot_access_pct;        /* HOTCOLD: share of touches that go to the hot set, 0..100. */
    uint64_t seed;                  /* RANDOM, HOTCOLD, CHASE, and the write decisions. */
    const gpusim__gpu_trace *trace; /* TRACE: the records (not owned). */
} gpusim__gpu_pattern;

/* One touch. */
typedef struct gpusim__gpu_touch {
    uint64_t off;   /* Offset in the buffer. */
    uint32_t bytes; /* Bytes touched from off. */
    bool write;     /* A write (else a read). */
} gpusim__gpu_touch;

/*
 * Checks a descriptor: 0, or GPUSIM_EINVAL with the reason in msg (unknown kind, a size or
 * percentage out of range, a stride that STRIDED/STENCIL need, a trace missing or larger than the
 * buffer).
 */
int gpusim__gpu_pattern_check(const gpusim__gpu_pattern *p, char *msg, size_t msglen);

/* Touch i (any index; a pass is 0 .. touches - 1) of a checked descriptor. O(1). */
void gpusim__gpu_pattern_touch(const gpusim__gpu_pattern *p, uint64_t i, gpusim__gpu_touch *out);

/* Whether each touch depends on the previous one (a pointer chase: no overlap). */
static inline bool gpusim__gpu_pattern_dependent(const gpusim__gpu_pattern *p)
{
    return p->kind == GPUSIM__GPU_PAT_CHASE;
}

/* The touches [*lo, *hi) of wave w of n waves: an even split of a pass, in order. */
static inline void gpusim__gpu_pattern_wave(const gpusim__gpu_pattern *p, uint64_t w, uint64_t n,
                                            uint64_t *lo, uint64_t *hi)
{
    /* touches * w / n without overflow: touches < 2^64, w < n. */
    uint64_t q = p->touches / n, r = p->touches % n;
    *lo = q * w + (r * w) / n;
    *hi = q * (w + 1) + (r * (w + 1)) / n;
}

/*
 * Parses a trace from text (docs/gpu.md, "Address traces"): one access per line,
 * `R|W <offset> [<bytes>]` (offset decimal or 0x-hex; bytes 1..4096, default 4096), `#` starts a
 * comment, blank lines are ignored. Returns 0 with a trace allocated in the arena, GPUSIM_EINVAL
 * with "line N: ..." in msg (nothing allocated), or GPUSIM_ENOMEM.
 */
int gpusim__gpu_trace_parse(gpusim__arena *a, const char *text, size_t len, gpusim__gpu_trace **out,
                            char *msg, size_t msglen);

/* Frees a trace. NULL is ignored. */
void gpusim__gpu_trace_free(gpusim__arena *a, gpusim__gpu_trace *t);

#endif /* GPUSIM_GPU_PATTERN_H */
