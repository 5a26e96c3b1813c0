/*
 * core/compiler.h -- compiler helpers and the three levels of assertion. Internal.
 *
 * Assertion levels (docs/development.md):
 *   GPUSIM_ASSERT(x)   a precondition or invariant; checked in debug builds (GPUSIM_DEBUG), gone
 *                      in release builds.
 *   GPUSIM_ALWAYS(x)   a defensive condition that should always hold: asserts in debug builds and
 *   GPUSIM_NEVER(x)    evaluates to (x) in release builds, so the code can recover instead of
 *                      crashing (SQLite's ALWAYS/NEVER).
 *   *_check()          functions that walk a whole structure and verify it; tests call them, debug
 *                      builds call them after mutating operations.
 */
#ifndef GPUSIM_CORE_COMPILER_H
#define GPUSIM_CORE_COMPILER_H

#include <assert.h>
#include <stddef.h>

#if defined(__GNUC__) || defined(__clang__)
#define GPUSIM_LIKELY(x)    __builtin_expect(!!(x), 1)
#define GPUSIM_UNLIKELY(x)  __builtin_expect(!!(x), 0)
#define GPUSIM_NOINLINE     __attribute__((noinline))
#define GPUSIM_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define GPUSIM_LIKELY(x)   (x)
#define GPUSIM_UNLIKELY(x) (x)
#define GPUSIM_NOINLINE
#define GPUSIM_PRINTF(f, a)
#endif

#ifdef GPUSIM_DEBUG
#define GPUSIM_ASSERT(x) assert(x)
#define GPUSIM_ALWAYS(x) ((x) ? 1 : (assert(0 && #x), 0))
#define GPUSIM_NEVER(x)  ((x) ? (assert(0 && #x), 1) : 0)
#else
#define GPUSIM_ASSERT(x) ((void)0)
#define GPUSIM_ALWAYS(x) (x)
#define GPUSIM_NEVER(x)  (x)
#endif

/** Recovers a pointer to the enclosing struct from a pointer to one of its members. */
#define gpusim_container_of(ptr, type, member)                                                     \
    ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

/** Number of elements of an array (not a pointer). */
#define GPUSIM_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define GPUSIM_MIN(a, b) ((a) < (b) ? (a) : (b))
#define GPUSIM_MAX(a, b) ((a) > (b) ? (a) : (b))

#endif /* GPUSIM_CORE_COMPILER_H */
