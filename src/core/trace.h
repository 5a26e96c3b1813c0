/*
 * core/trace.h -- reporting spans to the world's trace hook (gpusim/trace.h). Internal.
 *
 * GPUSIM_TRACE(w, track, begin, end, arg_name, arg, fmt, ...) costs one predictable branch when no
 * hook is set (the default) and then evaluates none of its other arguments, like GPUSIM_LOG; with
 * a hook it formats the span's name (at most GPUSIM__TRACE_NAME_MAX - 1 bytes: longer names are
 * cut) on the stack and calls the hook. Nothing is allocated either way. Sites report a span when
 * it ends, with the begin time they kept (most already keep it for a statistic).
 *
 * Tracks that carry a device's or a driver's name are built once, when the object is created, so
 * that a site passes a stored string rather than formatting two.
 */
#ifndef GPUSIM_CORE_TRACE_H
#define GPUSIM_CORE_TRACE_H

#include "gpusim.h"
#include "core/compiler.h"
#include "core/world.h"

/* Longest span name reported, with the NUL. */
#define GPUSIM__TRACE_NAME_MAX 96

#define GPUSIM_TRACE(w, track, begin, end, arg_name, arg, ...)                                     \
    do {                                                                                           \
        if (GPUSIM_UNLIKELY((w)->trace_cb != NULL))                                                \
            gpusim__trace_span((w), (track), (begin), (end), (arg_name), (arg), __VA_ARGS__);      \
    } while (0)

/* Whether a hook is set: for sites that must compute something before GPUSIM_TRACE. */
static inline bool gpusim__tracing(const gpusim_world_t *w)
{
    return GPUSIM_UNLIKELY(w->trace_cb != NULL);
}

/* Formats the name and calls the hook (which must be set). Use GPUSIM_TRACE, which tests first. */
void gpusim__trace_span(gpusim_world_t *w, const char *track, gpusim_time_t begin,
                        gpusim_time_t end, const char *arg_name, uint64_t arg, const char *fmt, ...)
    GPUSIM_PRINTF(7, 8);

#endif /* GPUSIM_CORE_TRACE_H */
