/*
 * gpusim/trace.h -- the trace hook: spans of virtual time that the simulator's actors spend on
 * something, reported to one callback per world. Part of <gpusim.h>.
 *
 * A span is one actor (its track) doing one thing (its name) over [begin, end) in virtual ns. The
 * library reports a span once, when it ends, so spans arrive roughly in order of their end, not
 * of their begin. A few are reported at the instant their end becomes certain, which may be a
 * little before it (a fault batch ends when the replay it has just issued completes; an
 * allocation stall ends after work the operation has charged but not yet waited out). Two spans
 * of one track may overlap without nesting (two processes' direct reclaims, two kernels on one
 * compute engine). What is reported (docs/traces.md has the details):
 *
 *   track                      name                         arg
 *   <invalidator kind>         "invalidate <event>"         blocked_ns: how long the callbacks
 *     ("syscall", "kswapd",    ("invalidate unmap"), from   kept the invalidator waiting (the
 *     "direct_reclaim", ...)   invalidate_start to _end;    sample notifier.blocked_ns.<kind>
 *                              "... refused": a non-        got); only invalidations that
 *                              blockable range refused      reached a subscription
 *   "kswapd"                   "reclaim node<N>"            reclaimed (pages), wake to sleep
 *   "direct_reclaim"           "direct reclaim <process>"   stall_ns: an allocation stall (the
 *                                                           sample host.direct_reclaim.stall_ns
 *                                                           got)
 *   "oom_killer"               "oom kill <process>"         pages: the victim's footprint
 *   "oom_reaper"               "reap <process>"             pages zapped (a pass takes no time)
 *   "<gpu>.compute"            "kernel ctx<id>"             error (negated code) if it failed
 *   "<gpu>.dma"                "copy ctx<id>"               bytes, or error if it failed
 *   "<gpu>.cp"                 "evict ctx<id>", "restore    error if it failed; "reset":
 *                              ctx<id>", "preempt queue     contexts killed by a preemption
 *                              ctx<id>", "resume queue      timeout
 *                              ctx<id>", "reset"
 *   "driver:<driver name>"     "prepare job <id>"           queued_ns: submission to preparation
 *                              (preparation to doorbell),   (error if it failed instead)
 *                              "fault batch" (fetch to      faults of this driver in the batch
 *                              replay done), "evict"        -
 *                              (fence-reload: eviction to
 *                              queues restored), "restore"  clean: 1 resumed the queues, 0 must
 *                              (one restore pass)           be retried
 *
 * Cost: with no hook set, each reporting site is one predictable branch and evaluates nothing
 * else; nothing is allocated either way. Reporting is deterministic: the same world and inputs
 * report the same spans in the same order.
 *
 *     static void on_span(void *ud, const gpusim_trace_span_t *s)
 *     {
 *         printf("%s: %s [%llu, %llu)\n", s->track, s->name, (unsigned long long)s->begin,
 *                (unsigned long long)s->end);
 *     }
 *     gpusim_world_set_trace(w, on_span, NULL);
 */
#ifndef GPUSIM_TRACE_H
#define GPUSIM_TRACE_H

#ifndef GPUSIM_H_INSIDE
#error "include <gpusim.h>, not its parts"
#endif

GPUSIM_BEGIN_DECLS

/** One span, as given to a gpusim_trace_cb. The strings are valid only during the call. */
typedef struct gpusim_trace_span_s {
    const char *track;    /**< The actor: "kswapd", "gpu0.compute", "driver:gpu0_1", ... */
    const char *name;     /**< What it did: "invalidate unmap", "kernel ctx1", "fault batch". */
    gpusim_time_t begin;  /**< When it began (virtual ns). */
    gpusim_time_t end;    /**< When it ended; end >= begin (equal for an instant's work). */
    const char *arg_name; /**< Name of the numeric argument ("blocked_ns"), or NULL if none. */
    uint64_t arg;         /**< The argument's value (0 when arg_name is NULL). */
} gpusim_trace_span_t;

/**
 * Receives one span when it ends, on the world's thread, from inside the simulation (an event
 * callback or a call that ended it). It must not call into the world or anything in it (it may
 * only record the span); copy the strings to keep them.
 */
typedef void (*gpusim_trace_cb)(void *ud, const gpusim_trace_span_t *span);

/**
 * Sets (cb non-NULL) or removes (cb NULL) the world's trace hook. Spans that end from now on are
 * reported, including those that began before. Returns 0, or GPUSIM_EINVAL if w is NULL.
 */
GPUSIM_EXTERN int gpusim_world_set_trace(gpusim_world_t *w, gpusim_trace_cb cb, void *ud);

GPUSIM_END_DECLS

#endif /* GPUSIM_TRACE_H */
