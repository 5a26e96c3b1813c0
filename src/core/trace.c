/*
 * core/trace.c -- the world's trace hook (gpusim/trace.h): setting it, and delivering one span.
 *
 * The hook is two fields of the world (core/world.h), tested inline at every reporting site by
 * GPUSIM_TRACE (core/trace.h); this file holds the out-of-line part, which runs only when a hook
 * is set. A span whose end precedes its begin would be a bug at the reporting site: debug builds
 * assert, release builds report it as an instant at `begin` rather than hand viewers a negative
 * duration.
 */
#include <stdarg.h>
#include <stdio.h>

#include "core/trace.h"

int gpusim_world_set_trace(gpusim_world_t *w, gpusim_trace_cb cb, void *ud)
{
    if (w == NULL)
        return GPUSIM_EINVAL;
    w->trace_cb = cb;
    w->trace_ud = cb != NULL ? ud : NULL;
    return 0;
}

GPUSIM_NOINLINE void gpusim__trace_span(gpusim_world_t *w, const char *track, gpusim_time_t begin,
                                        gpusim_time_t end, const char *arg_name, uint64_t arg,
                                        const char *fmt, ...)
{
    char name[GPUSIM__TRACE_NAME_MAX];
    gpusim_trace_span_t s;
    va_list ap;
    GPUSIM_ASSERT(end >= begin);
    va_start(ap, fmt);
    (void)vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    s.track = track;
    s.name = name;
    s.begin = begin;
    s.end = GPUSIM_ALWAYS(end >= begin) ? end : begin;
    s.arg_name = arg_name;
    s.arg = arg_name != NULL ? arg : 0;
    w->trace_cb(w->trace_ud, &s);
}
