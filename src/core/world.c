/*
 * core/world.c -- creating and freeing worlds, their configuration, and the core's statistics.
 *
 * Construction order is arena -> world struct (inside the arena) -> event queue -> statistics, and
 * teardown is the exact reverse through one function, so a constructor that fails half-way releases
 * precisely what it made. After teardown the arena's live-byte balance must be zero: anything else
 * is a leak, which debug builds assert and tests check through gpusim__alloc_outstanding().
 */
#include <string.h>

#include "core/compiler.h"
#include "core/log.h"
#include "core/stats.h"
#include "core/world.h"

unsigned gpusim_version(void)
{
    return GPUSIM_VERSION_HEX;
}

#define STR2(x) #x
#define STR(x)  STR2(x)

const char *gpusim_version_string(void)
{
    return STR(GPUSIM_VERSION_MAJOR) "." STR(GPUSIM_VERSION_MINOR) "." STR(GPUSIM_VERSION_PATCH);
}

void gpusim_world_config_init(gpusim_world_config_t *cfg)
{
    if (cfg == NULL)
        return;
    memset(cfg, 0, sizeof(*cfg));
    cfg->seed = 1;
    cfg->log_level = GPUSIM_LOG_OFF;
    cfg->event_capacity = GPUSIM__EVENT_DEFAULT_CAPACITY;
}

static bool log_level_valid(gpusim_log_level_t level)
{
    return (unsigned)level <= GPUSIM_LOG_TRACE;
}

void gpusim__world_own(gpusim_world_t *w, gpusim__owned *o, gpusim__destroy_fn destroy)
{
    o->destroy = destroy;
    o->next = w->owned.next; /* newest first */
    o->prev = &w->owned;
    w->owned.next->prev = o;
    w->owned.next = o;
}

void gpusim__world_disown(gpusim__owned *o)
{
    o->prev->next = o->next;
    o->next->prev = o->prev;
    o->prev = o->next = o;
}

/* Frees everything a world owns, in reverse order of construction, then the arena. */
void gpusim__world_release(gpusim_world_t *w)
{
    /* Teardown reports no span: what it cuts short did not end. */
    w->trace_cb = NULL;
    /* Module objects first: they may free memory and cancel events of the world. */
    while (w->owned.next != &w->owned) {
        gpusim__owned *o = w->owned.next;
        gpusim__world_disown(o);
        o->destroy(w, o);
    }
    gpusim__stats_destroy(&w->stats, &w->arena);
    gpusim__queue_destroy(&w->queue, &w->arena);
    gpusim__arena arena = w->arena;
    gpusim__arena_free(&arena, w, sizeof(*w));
    GPUSIM_ASSERT(arena.bytes == 0);
    gpusim__arena_destroy(&arena);
}

static int register_core_stats(gpusim_world_t *w)
{
    static const gpusim__stat_def defs[] = {
        {"sim.events.run", GPUSIM_STAT_COUNTER, "", offsetof(gpusim__core_stats, events_run)},
        {"sim.events.scheduled", GPUSIM_STAT_COUNTER, "",
         offsetof(gpusim__core_stats, events_scheduled)},
        {"sim.events.cancelled", GPUSIM_STAT_COUNTER, "",
         offsetof(gpusim__core_stats, events_cancelled)},
        {"sim.events.pending", GPUSIM_STAT_GAUGE, "", offsetof(gpusim__core_stats, events_pending)},
        {"sim.now", GPUSIM_STAT_GAUGE, "ns", offsetof(gpusim__core_stats, now)},
        {"alloc.bytes", GPUSIM_STAT_GAUGE, "bytes", offsetof(gpusim__core_stats, alloc_bytes)},
        {"alloc.allocations", GPUSIM_STAT_COUNTER, "", offsetof(gpusim__core_stats, alloc_count)},
        {"alloc.failures", GPUSIM_STAT_COUNTER, "", offsetof(gpusim__core_stats, alloc_failures)},
    };
    return gpusim__stats_register_table(w, defs, GPUSIM_ARRAY_SIZE(defs), &w->core);
}

int gpusim_world_new(const gpusim_world_config_t *cfg, gpusim_world_t **out)
{
    gpusim_world_config_t defaults;
    if (out == NULL)
        return GPUSIM_EINVAL;
    if (cfg == NULL) {
        gpusim_world_config_init(&defaults);
        cfg = &defaults;
    }
    if (!log_level_valid(cfg->log_level) || cfg->event_capacity > GPUSIM__EVENT_MAX_PENDING)
        return GPUSIM_EINVAL;

    gpusim__arena arena;
    int rc = gpusim__arena_init(&arena);
    if (rc != 0)
        return rc;
    /* The world's own structures count too. A limit beyond the address space is no limit. */
    arena.limit = cfg->mem_limit >= (uint64_t)SIZE_MAX ? 0 : (size_t)cfg->mem_limit;
    gpusim_world_t *w = gpusim__arena_zalloc(&arena, sizeof(*w));
    if (w == NULL) {
        gpusim__arena_destroy(&arena);
        return GPUSIM_ENOMEM;
    }
    w->arena = arena; /* from here on, allocate through w->arena only */
    w->owned.prev = w->owned.next = &w->owned;
    w->seed = cfg->seed;
    w->log_level = cfg->log_level;
    w->log_cb = cfg->log_cb;
    w->log_ud = cfg->log_ud;

    rc = gpusim__queue_init(&w->queue, &w->arena, cfg->event_capacity);
    if (rc == 0)
        rc = register_core_stats(w);
    if (rc != 0) {
        gpusim__world_release(w);
        return rc;
    }
    GPUSIM_LOG(w, GPUSIM_LOG_INFO, "world", "created (seed %llu, allocator %s)",
               (unsigned long long)w->seed, gpusim_allocator_name());
    *out = w;
    return 0;
}

int gpusim_world_memory(const gpusim_world_t *w, gpusim_world_memory_t *out)
{
    if (w == NULL || out == NULL)
        return GPUSIM_EINVAL;
    out->bytes = w->arena.bytes;
    out->peak_bytes = w->arena.peak_bytes;
    out->limit = w->arena.limit;
    out->refused = w->arena.nrefused;
    out->refused_size = w->arena.refused_size;
    out->refused_at = w->arena.refused_at;
    return 0;
}

void gpusim_world_free(gpusim_world_t *w)
{
    if (w == NULL)
        return;
    if (w->running || w->callback_depth > 0) {
        /*
         * Called from a callback: the run loop or the module that called the callback still needs
         * the world; it frees it on the way out.
         */
        w->free_requested = true;
        w->stop_requested = true;
        return;
    }
    GPUSIM_LOG(w, GPUSIM_LOG_INFO, "world", "freed after %llu events",
               (unsigned long long)w->events_run);
    gpusim__world_release(w);
}

gpusim_time_t gpusim_world_now(const gpusim_world_t *w)
{
    return w != NULL ? w->now : 0;
}

uint64_t gpusim_world_seed(const gpusim_world_t *w)
{
    return w != NULL ? w->seed : 0;
}

int gpusim_world_rng(const gpusim_world_t *w, const char *name, gpusim_rng_t *rng)
{
    if (w == NULL || name == NULL || rng == NULL)
        return GPUSIM_EINVAL;
    gpusim_rng_seed(rng, w->seed, gpusim_rng_key(name));
    return 0;
}

void gpusim_world_set_data(gpusim_world_t *w, void *data)
{
    if (w != NULL)
        w->data = data;
}

void *gpusim_world_data(const gpusim_world_t *w)
{
    return w != NULL ? w->data : NULL;
}

int gpusim_world_set_log(gpusim_world_t *w, gpusim_log_level_t level, gpusim_log_cb cb, void *ud)
{
    if (w == NULL || !log_level_valid(level))
        return GPUSIM_EINVAL;
    w->log_level = level;
    w->log_cb = cb;
    w->log_ud = ud;
    return 0;
}

void gpusim__world_publish(gpusim_world_t *w)
{
    gpusim__core_stats *c = &w->core;
    c->events_run->u.count = w->events_run;
    c->events_scheduled->u.count = w->queue.nscheduled;
    c->events_cancelled->u.count = w->queue.ncancelled;
    c->events_pending->u.gauge.value = (int64_t)w->queue.n;
    c->events_pending->u.gauge.peak = (int64_t)w->queue.peak;
    gpusim__stat_set(c->now, (int64_t)w->now);
    c->alloc_bytes->u.gauge.value = (int64_t)w->arena.bytes;
    c->alloc_bytes->u.gauge.peak = (int64_t)w->arena.peak_bytes;
    c->alloc_count->u.count = w->arena.nallocs;
    c->alloc_failures->u.count = w->arena.nfailures;
}
