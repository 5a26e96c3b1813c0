/*
 * core/alloc.c -- the allocator facade (see core/alloc.h for the contract).
 *
 * Two backends chosen at build time:
 *
 *   jemalloc  one private jemalloc arena per gpusim__arena, created with "arenas.create".
 *             Every call passes MALLOCX_ARENA(arena) | MALLOCX_TCACHE_NONE: the arena keeps the
 *             world's memory together (its statistics are the world's), and bypassing the thread
 *             cache is what makes "arena.<i>.destroy" legal at teardown, from whatever thread the
 *             world ran on.
 *   libc      malloc/free. Sanitizer and valgrind builds always use it: they cannot see inside
 *             jemalloc's mallocx heap.
 *
 * Invariants: h->bytes is the sum of the sizes of the live blocks of h; the process-wide
 * `outstanding` counter is the sum of h->bytes over every arena ever created (leaks stay counted).
 */
#include "core/alloc.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpusim.h"
#include "core/compiler.h"

#ifdef GPUSIM_USE_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

/* Process-wide live bytes over all arenas. Worlds may run on different threads, hence atomic. */
static _Atomic int64_t outstanding;

/* Failure injection is per thread so that parallel worlds (the bench runner) cannot interfere. */
static _Thread_local long fail_countdown;
static _Thread_local bool fail_fired;

const char *gpusim_allocator_name(void)
{
#ifdef GPUSIM_USE_JEMALLOC
    return "jemalloc";
#else
    return "libc";
#endif
}

void gpusim__alloc_fail_nth(long n)
{
    fail_countdown = n > 0 ? n : 0;
    fail_fired = false;
}

bool gpusim__alloc_fail_fired(void)
{
    return fail_fired;
}

int64_t gpusim__alloc_outstanding(void)
{
    return atomic_load_explicit(&outstanding, memory_order_relaxed);
}

/*
 * Returns true, and counts the refusal, when growing h's live bytes by `add` (a block of `sub`
 * bytes being replaced) would cross its limit. Shrinking is never refused.
 */
static bool over_limit(gpusim__arena *h, size_t add, size_t sub)
{
    if (GPUSIM_LIKELY(h->limit == 0) || add <= sub)
        return false;
    if (h->bytes <= h->limit && add - sub <= h->limit - h->bytes)
        return false;
    if (h->nrefused++ == 0) {
        h->refused_size = add;
        h->refused_at = h->bytes;
    }
    return true;
}

/* Returns true when the injected failure is due now. Costs one thread-local test when disabled. */
static bool injected_failure(void)
{
    if (GPUSIM_LIKELY(fail_countdown == 0))
        return false;
    if (--fail_countdown > 0)
        return false;
    fail_fired = true;
    return true;
}

static void account(gpusim__arena *h, size_t add, size_t sub)
{
    h->bytes = h->bytes + add - sub;
    if (h->bytes > h->peak_bytes)
        h->peak_bytes = h->bytes;
    atomic_fetch_add_explicit(&outstanding, (int64_t)add - (int64_t)sub, memory_order_relaxed);
}

#ifdef GPUSIM_USE_JEMALLOC
static int arena_flags(const gpusim__arena *h)
{
    return (int)MALLOCX_ARENA(h->je_index) | MALLOCX_TCACHE_NONE;
}
#endif

int gpusim__arena_init(gpusim__arena *h)
{
    memset(h, 0, sizeof(*h));
    if (injected_failure())
        return GPUSIM_ENOMEM;
#ifdef GPUSIM_USE_JEMALLOC
    unsigned index;
    size_t len = sizeof(index);
    if (mallctl("arenas.create", &index, &len, NULL, 0) != 0)
        return GPUSIM_ENOMEM;
    h->je_index = index;
    h->has_je_arena = true;
#endif
    return 0;
}

void gpusim__arena_destroy(gpusim__arena *h)
{
#ifdef GPUSIM_USE_JEMALLOC
    if (h->has_je_arena) {
        char name[64];
        snprintf(name, sizeof(name), "arena.%u.destroy", h->je_index);
        int rc = mallctl(name, NULL, NULL, NULL, 0);
        GPUSIM_ASSERT(rc == 0);
        (void)rc;
        h->has_je_arena = false;
    }
#else
    (void)h;
#endif
}

static void *raw_alloc(gpusim__arena *h, size_t size, bool zero)
{
#ifdef GPUSIM_USE_JEMALLOC
    return mallocx(size, arena_flags(h) | (zero ? MALLOCX_ZERO : 0));
#else
    (void)h;
    return zero ? calloc(1, size) : malloc(size);
#endif
}

static void *arena_alloc(gpusim__arena *h, size_t size, bool zero)
{
    if (size == 0)
        size = 1;
    void *p = injected_failure() || over_limit(h, size, 0) ? NULL : raw_alloc(h, size, zero);
    if (GPUSIM_UNLIKELY(p == NULL)) {
        h->nfailures++;
        return NULL;
    }
    h->nallocs++;
    account(h, size, 0);
    return p;
}

void *gpusim__arena_alloc(gpusim__arena *h, size_t size)
{
    return arena_alloc(h, size, false);
}

void *gpusim__arena_zalloc(gpusim__arena *h, size_t size)
{
    return arena_alloc(h, size, true);
}

void *gpusim__arena_realloc(gpusim__arena *h, void *p, size_t old_size, size_t new_size)
{
    if (p == NULL)
        return gpusim__arena_alloc(h, new_size);
    if (new_size == 0)
        new_size = 1;
    if (old_size == 0)
        old_size = 1;
    void *q = NULL;
    if (!injected_failure() && !over_limit(h, new_size, old_size)) {
#ifdef GPUSIM_USE_JEMALLOC
        q = rallocx(p, new_size, arena_flags(h));
#else
        q = realloc(p, new_size);
#endif
    }
    if (GPUSIM_UNLIKELY(q == NULL)) {
        h->nfailures++;
        return NULL;
    }
    account(h, new_size, old_size);
    return q;
}

void gpusim__arena_free(gpusim__arena *h, void *p, size_t size)
{
    if (p == NULL)
        return;
    if (size == 0)
        size = 1;
    GPUSIM_ASSERT(h->bytes >= size);
    h->nfrees++;
    account(h, 0, size);
#ifdef GPUSIM_USE_JEMALLOC
    sdallocx(p, size, MALLOCX_TCACHE_NONE);
#else
    free(p);
#endif
}

int gpusim__arena_grow(gpusim__arena *h, void **array, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 8;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2)
            return GPUSIM_EOVERFLOW;
        ncap *= 2;
    }
    if (ncap > SIZE_MAX / elem)
        return GPUSIM_EOVERFLOW;
    void *p = gpusim__arena_realloc(h, *array, *cap * elem, ncap * elem);
    if (p == NULL)
        return GPUSIM_ENOMEM;
    *array = p;
    *cap = ncap;
    return 0;
}
