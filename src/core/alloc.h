/*
 * core/alloc.h -- the allocator facade: every byte the simulator allocates goes through here.
 * Internal.
 *
 * A gpusim__arena is the allocation context of one world. With the jemalloc backend it owns a
 * private jemalloc arena (arenas.create; mallocx/sdallocx with that arena and no thread cache),
 * destroyed as a whole when the world is freed; with the libc backend it is malloc/free. Either way
 * the arena keeps exact accounts of live bytes and allocations, so "bytes in use" is the same
 * figure under both backends and a leak shows up as a non-zero balance at teardown.
 *
 * Callers pass the size of a block when they free or resize it (as Lua's allocator does). That
 * makes the accounting exact and lets jemalloc use sized deallocation.
 *
 * A limit (gpusim__arena.limit, 0 for none) caps the live bytes: an allocation or growth that
 * would take them above it fails like an exhausted machine and is counted in `nrefused`. It is the
 * world's memory budget (gpusim_world_config_t.mem_limit): a scenario too big for the machine
 * fails at the allocation that crosses the line instead of swapping the host to death.
 *
 * Failure injection (tests only): gpusim__alloc_fail_nth(n) makes the n-th allocation from now on,
 * on this thread, fail as if memory were exhausted. Creating an arena counts as an allocation.
 * Every constructor must turn that into GPUSIM_ENOMEM and leave nothing allocated.
 */
#ifndef GPUSIM_CORE_ALLOC_H
#define GPUSIM_CORE_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct gpusim__arena {
    unsigned je_index;   /* jemalloc arena index (jemalloc backend only). */
    bool has_je_arena;   /* the jemalloc arena exists and must be destroyed. */
    size_t bytes;        /* Live bytes, as requested by callers. */
    size_t peak_bytes;   /* Highest value of `bytes`. */
    uint64_t nallocs;    /* Successful allocations, ever. */
    uint64_t nfrees;     /* Frees, ever. */
    uint64_t nfailures;  /* Allocations that failed (real, injected or refused by the limit). */
    size_t limit;        /* Most live bytes allowed; 0: no limit. */
    uint64_t nrefused;   /* Allocations refused because of `limit` (also in nfailures). */
    size_t refused_size; /* Size of the first refused request (what a message reports), */
    size_t refused_at;   /* and the live bytes when it came. */
} gpusim__arena;

/* Initialises an arena with no limit (creates the jemalloc arena). Returns 0 or GPUSIM_ENOMEM. */
int gpusim__arena_init(gpusim__arena *h);

/*
 * Releases the arena. With jemalloc, the jemalloc arena and anything still in it is destroyed; the
 * live-byte balance is not reset, so a leak remains visible in gpusim__alloc_outstanding().
 */
void gpusim__arena_destroy(gpusim__arena *h);

/* Allocates `size` bytes (size 0 allocates 1). Returns NULL on failure. */
void *gpusim__arena_alloc(gpusim__arena *h, size_t size);

/* As gpusim__arena_alloc(), zero-filled. */
void *gpusim__arena_zalloc(gpusim__arena *h, size_t size);

/*
 * Resizes a block of `old_size` bytes (p may be NULL with old_size 0). Returns the new block, or
 * NULL on failure, in which case the old block is untouched.
 */
void *gpusim__arena_realloc(gpusim__arena *h, void *p, size_t old_size, size_t new_size);

/* Frees a block of `size` bytes (its size at allocation or last resize). NULL is ignored. */
void gpusim__arena_free(gpusim__arena *h, void *p, size_t size);

/*
 * Grows an array so that it holds at least `need` elements of `elem` bytes, at least doubling.
 * *cap is updated. Returns 0 or GPUSIM_ENOMEM (array untouched) / GPUSIM_EOVERFLOW.
 */
int gpusim__arena_grow(gpusim__arena *h, void **array, size_t *cap, size_t need, size_t elem);

/* Bytes allocated through every arena of the process and not yet freed (tests: leak checks). */
int64_t gpusim__alloc_outstanding(void);

/*
 * Test hook: the n-th allocation from now on (n >= 1) on this thread fails; 0 disables. Returns
 * nothing; gpusim__alloc_fail_fired() tells whether the failure happened.
 */
void gpusim__alloc_fail_nth(long n);
bool gpusim__alloc_fail_fired(void);

#endif /* GPUSIM_CORE_ALLOC_H */
