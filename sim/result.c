/*
 * result.c -- the result record of a run: its field table and lookups by path.
 *
 * Every numeric field of sim_result has one entry here, in the order the JSON and CSV show it.
 * The table is static const (built from the invalidator X-macro), so it is shared by every thread
 * without initialisation. Invariant: each offset names a uint64_t inside sim_result.
 */
#include "sim.h"

#include <stddef.h>
#include <string.h>

#define F(path, member)                                                                            \
    {                                                                                              \
        path, offsetof(sim_result, member)                                                         \
    }
#define SIM__SUMMARY(NAME, name)                                                                   \
    F("notifier.blocked_by." #name ".count",                                                       \
      notifier.blocked_by[GPUSIM_INVALIDATOR_##NAME].count),                                       \
        F("notifier.blocked_by." #name ".total",                                                   \
          notifier.blocked_by[GPUSIM_INVALIDATOR_##NAME].total),                                   \
        F("notifier.blocked_by." #name ".p50",                                                     \
          notifier.blocked_by[GPUSIM_INVALIDATOR_##NAME].p50),                                     \
        F("notifier.blocked_by." #name ".p99",                                                     \
          notifier.blocked_by[GPUSIM_INVALIDATOR_##NAME].p99),                                     \
        F("notifier.blocked_by." #name ".max",                                                     \
          notifier.blocked_by[GPUSIM_INVALIDATOR_##NAME].max),

static const sim_field sim_fields[] = {
    F("sim_time_ns", sim_time_ns),
    F("wall_time_ns", wall_time_ns),
    F("events", events),
    F("memory_peak_bytes", memory_peak_bytes),
    F("gpu.jobs_completed", gpu.jobs_completed),
    F("gpu.jobs_failed", gpu.jobs_failed),
    F("gpu.busy_ns", gpu.busy_ns),
    F("gpu.stall_ns", gpu.stall_ns),
    F("gpu.faults", gpu.faults),
    F("gpu.fault_batches", gpu.fault_batches),
    F("gpu.tlb_misses", gpu.tlb_misses),
    F("gpu.tlb_invalidations", gpu.tlb_invalidations),
    F("gpu.preemptions", gpu.preemptions),
    F("gpu.dma_bytes", gpu.dma_bytes),
    F("gpu.contexts_killed", gpu.contexts_killed),
    F("host.pinned_pages_peak", host.pinned_pages_peak),
    F("host.reclaimed_pages", host.reclaimed_pages),
    F("host.reclaim_skipped_pinned", host.reclaim_skipped_pinned),
    F("host.alloc_stall_ns", host.alloc_stall_ns),
    F("host.oom_kills", host.oom_kills),
    F("host.migrations", host.migrations),
    F("host.migration_failures", host.migration_failures),
    F("host.swap_outs", host.swap_outs),
    F("host.swap_ins", host.swap_ins),
    F("notifier.invalidations", notifier.invalidations),
    F("notifier.blocked_ns", notifier.blocked_ns),
    GPUSIM_INVALIDATOR_MAP(SIM__SUMMARY) F("checker.accesses", checker.accesses),
    F("checker.use_after_free", checker.use_after_free),
    F("checker.stale", checker.stale),
};
#undef SIM__SUMMARY
#undef F

static const char *const sim_invalidator_names[] = {
#define SIM__NAME(NAME, name) #name,
    GPUSIM_INVALIDATOR_MAP(SIM__NAME)
#undef SIM__NAME
};

const char *sim_invalidator_name(unsigned kind)
{
    return kind < GPUSIM_INVALIDATOR_COUNT ? sim_invalidator_names[kind] : NULL;
}

const sim_field *sim_result_fields(size_t *n)
{
    *n = sizeof sim_fields / sizeof sim_fields[0];
    return sim_fields;
}

void sim_result_init(sim_result *r)
{
    memset(r, 0, sizeof *r);
    for (unsigned i = 0; i < SIM_MAX_EXPECT; i++)
        r->expectations[i].met = -1;
}

int sim_result_field(const sim_result *r, const char *path, double *out)
{
    if (strcmp(path, "seed") == 0) {
        *out = (double)r->seed;
        return 0;
    }
    for (size_t i = 0; i < sizeof sim_fields / sizeof sim_fields[0]; i++) {
        if (strcmp(sim_fields[i].path, path) == 0) {
            uint64_t v;
            memcpy(&v, (const char *)r + sim_fields[i].offset, sizeof v);
            *out = (double)v;
            return 0;
        }
    }
    return GPUSIM_ENOENT;
}
