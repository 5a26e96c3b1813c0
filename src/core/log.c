/*
 * core/log.c -- message formatting and the default stderr sink.
 *
 * Messages are formatted into a fixed stack buffer (no allocation, so logging works even when the
 * arena is exhausted); longer messages are truncated and end in "...".
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/log.h"

#define MSG_MAX 512

const char *gpusim__log_level_name(gpusim_log_level_t level)
{
    static const char *const names[] = {"OFF", "ERROR", "WARN", "INFO", "DEBUG", "TRACE"};
    if ((unsigned)level >= GPUSIM_ARRAY_SIZE(names))
        return "?";
    return names[level];
}

static void stderr_sink(gpusim_log_level_t level, gpusim_time_t now, const char *subsystem,
                        const char *msg)
{
    char t[GPUSIM_UNITS_BUFSZ];
    gpusim_duration_format(now, t, sizeof(t));
    fprintf(stderr, "gpusim [%s] %-5s %s: %s\n", t, gpusim__log_level_name(level), subsystem, msg);
}

void gpusim__log(const gpusim_world_t *w, gpusim_log_level_t level, const char *subsystem,
                 const char *fmt, ...)
{
    char msg[MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n < 0)
        snprintf(msg, sizeof(msg), "(unformattable message: %s)", fmt);
    else if (n >= (int)sizeof(msg))
        memcpy(msg + sizeof(msg) - 4, "...", 4);
    if (w->log_cb != NULL)
        w->log_cb(w->log_ud, level, w->now, subsystem, msg);
    else
        stderr_sink(level, w->now, subsystem, msg);
}
