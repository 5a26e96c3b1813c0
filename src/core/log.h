/*
 * core/log.h -- leveled logging to a per-world sink. Internal.
 *
 * GPUSIM_LOG(w, level, subsystem, fmt, ...) costs one predictable branch when the world's level is
 * below `level` (the default: logging off), and nothing at all for levels above GPUSIM__LOG_MAX,
 * which the compiler removes: TRACE exists only in debug builds, so the event loop and other hot
 * paths may carry TRACE statements freely. Arguments are not evaluated when the message is dropped.
 */
#ifndef GPUSIM_CORE_LOG_H
#define GPUSIM_CORE_LOG_H

#include "gpusim.h"
#include "core/compiler.h"
#include "core/world.h"

#ifdef GPUSIM_DEBUG
#define GPUSIM__LOG_MAX GPUSIM_LOG_TRACE
#else
#define GPUSIM__LOG_MAX GPUSIM_LOG_DEBUG
#endif

#define GPUSIM_LOG(w, level, subsystem, ...)                                                       \
    do {                                                                                           \
        if ((level) <= GPUSIM__LOG_MAX && GPUSIM_UNLIKELY((level) <= (w)->log_level))              \
            gpusim__log((w), (level), (subsystem), __VA_ARGS__);                                   \
    } while (0)

/* Formats and delivers one message. Use GPUSIM_LOG, which filters first. */
void gpusim__log(const gpusim_world_t *w, gpusim_log_level_t level, const char *subsystem,
                 const char *fmt, ...) GPUSIM_PRINTF(4, 5);

/* The name of a level ("ERROR" ... "TRACE"); "?" for an invalid one. */
const char *gpusim__log_level_name(gpusim_log_level_t level);

#endif /* GPUSIM_CORE_LOG_H */
