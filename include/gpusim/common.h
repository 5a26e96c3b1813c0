/*
 * gpusim/common.h -- export macro, basic types and version query. Part of <gpusim.h>.
 */
#ifndef GPUSIM_COMMON_H
#define GPUSIM_COMMON_H

#ifndef GPUSIM_H_INSIDE
#error "include <gpusim.h>, not its parts"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/**
 * GPUSIM_EXTERN marks a symbol as part of the public ABI. The library is built with hidden
 * visibility, so everything not marked stays inside libgpusim.so.
 */
#if defined(__GNUC__) || defined(__clang__)
#define GPUSIM_EXTERN __attribute__((visibility("default")))
#else
#define GPUSIM_EXTERN
#endif

#ifdef __cplusplus
/** Opens a block of C declarations (extern "C" under C++). */
#define GPUSIM_BEGIN_DECLS extern "C" {
/** Closes a block opened by GPUSIM_BEGIN_DECLS. */
#define GPUSIM_END_DECLS   }
#else
/** Opens a block of C declarations (extern "C" under C++). */
#define GPUSIM_BEGIN_DECLS
/** Closes a block opened by GPUSIM_BEGIN_DECLS. */
#define GPUSIM_END_DECLS
#endif

GPUSIM_BEGIN_DECLS

/**
 * A point in, or a span of, virtual time in nanoseconds. Virtual time starts at 0 when a world is
 * created and never goes backwards. 2^64 ns is about 584 years, so it does not wrap in practice;
 * arithmetic that would overflow is rejected with GPUSIM_EOVERFLOW.
 */
typedef uint64_t gpusim_time_t;

/** The largest representable time; also used to mean "never". */
#define GPUSIM_TIME_MAX UINT64_MAX

/** Nanoseconds per microsecond. */
#define GPUSIM_NS_PER_US UINT64_C(1000)
/** Nanoseconds per millisecond. */
#define GPUSIM_NS_PER_MS UINT64_C(1000000)
/** Nanoseconds per second. */
#define GPUSIM_NS_PER_S  UINT64_C(1000000000)

/** Bytes per kibibyte (2^10). */
#define GPUSIM_KIB (UINT64_C(1) << 10)
/** Bytes per mebibyte (2^20). */
#define GPUSIM_MIB (UINT64_C(1) << 20)
/** Bytes per gibibyte (2^30). */
#define GPUSIM_GIB (UINT64_C(1) << 30)
/** Bytes per tebibyte (2^40). */
#define GPUSIM_TIB (UINT64_C(1) << 40)
/** Bytes per pebibyte (2^50). */
#define GPUSIM_PIB (UINT64_C(1) << 50)
/** Bytes per exbibyte (2^60). */
#define GPUSIM_EIB (UINT64_C(1) << 60)

/**
 * Description of one named model parameter (a cost, size or setting of the host or of a GPU; see
 * gpusim_host_param_info() and gpusim_gpu_param_info()). Strings are static.
 */
typedef struct gpusim_param_info_s {
    const char *name;   /**< Name, [a-z0-9_]. */
    const char *unit;   /**< "ns", "bytes", "bytes/s", "count", "percent" or "bool". */
    uint64_t def;       /**< Default, in the base unit. */
    uint64_t min;       /**< Plausible range, inclusive. */
    uint64_t max;       /**< Upper end of the plausible range. */
    const char *tag;    /**< Confidence: R, R2, C, D, W, U, or S (docs/cost-model.md). */
    const char *source; /**< Where the default comes from. */
} gpusim_param_info_t;

/** A simulated world: virtual clock, event queue, RNG, statistics and allocator arena. Opaque. */
typedef struct gpusim_world_s gpusim_world_t;

/** Returns the library's version as GPUSIM_VERSION_HEX was when it was built. */
GPUSIM_EXTERN unsigned gpusim_version(void);

/** Returns the library's version as "MAJOR.MINOR.PATCH"; a static string. */
GPUSIM_EXTERN const char *gpusim_version_string(void);

/**
 * Returns the name of the allocator behind the simulator's own memory, "jemalloc" or "libc";
 * a static string. Reports should print it: memory figures depend on it.
 */
GPUSIM_EXTERN const char *gpusim_allocator_name(void);

GPUSIM_END_DECLS

#endif /* GPUSIM_COMMON_H */
