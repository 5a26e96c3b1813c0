/*
 * host/process.c -- hosts and processes: creation and teardown, statistics, and the public
 * queries (meminfo, frame info and contents, translations, process figures).
 *
 * Ownership: the world owns a host (gpusim__owned); a host owns its processes, files and actors.
 * A process's notifier domain is the world's (it may outlive the host if mirrors still subscribe).
 * Teardown order at world free: objects created later go first, so process domains are gone
 * before the host is destroyed; host teardown therefore never calls into the notifier.
 */
#include <stdio.h>
#include <string.h>

#include "host/host.h"
#include "core/alloc.h"
#include "notifier/notifier.h"

#define ST(field, kind, unit, name)                                                                \
    {                                                                                              \
        name, kind, unit, offsetof(host_stats, field)                                              \
    }

static int register_stats(gpusim_world_t *w, host_stats *st)
{
    static const gpusim__stat_def defs[] = {
        ST(faults_zero, GPUSIM_STAT_COUNTER, "", "host.faults.zero"),
        ST(faults_zero_huge, GPUSIM_STAT_COUNTER, "", "host.faults.zero_huge"),
        ST(faults_cow, GPUSIM_STAT_COUNTER, "", "host.faults.cow"),
        ST(faults_swapin, GPUSIM_STAT_COUNTER, "", "host.faults.swapin"),
        ST(faults_minor, GPUSIM_STAT_COUNTER, "", "host.faults.minor"),
        ST(faults_file, GPUSIM_STAT_COUNTER, "", "host.faults.file_read"),
        ST(thp_fault_alloc, GPUSIM_STAT_COUNTER, "", "host.thp.fault_alloc"),
        ST(thp_fault_fallback, GPUSIM_STAT_COUNTER, "", "host.thp.fault_fallback"),
        ST(thp_split, GPUSIM_STAT_COUNTER, "", "host.thp.split"),
        ST(thp_collapse, GPUSIM_STAT_COUNTER, "", "host.thp.collapse"),
        ST(thp_collapse_failed, GPUSIM_STAT_COUNTER, "", "host.thp.collapse_failed"),
        ST(reclaim_scanned, GPUSIM_STAT_COUNTER, "", "host.reclaim.scanned"),
        ST(reclaim_reclaimed, GPUSIM_STAT_COUNTER, "", "host.reclaim.reclaimed"),
        ST(reclaim_skipped_pinned, GPUSIM_STAT_COUNTER, "", "host.reclaim.skipped_pinned"),
        ST(reclaim_activated, GPUSIM_STAT_COUNTER, "", "host.reclaim.activated"),
        ST(reclaim_refused, GPUSIM_STAT_COUNTER, "", "host.reclaim.refused"),
        ST(swap_out, GPUSIM_STAT_COUNTER, "", "host.swap.out"),
        ST(swap_in, GPUSIM_STAT_COUNTER, "", "host.swap.in"),
        ST(swap_full, GPUSIM_STAT_COUNTER, "", "host.swap.full"),
        ST(kswapd_wakeups, GPUSIM_STAT_COUNTER, "", "host.kswapd.wakeups"),
        ST(direct_reclaim, GPUSIM_STAT_COUNTER, "", "host.direct_reclaim.count"),
        ST(direct_reclaim_stall, GPUSIM_STAT_HISTOGRAM, "ns", "host.direct_reclaim.stall_ns"),
        ST(oom_kills, GPUSIM_STAT_COUNTER, "", "host.oom.kills"),
        ST(oom_reaped, GPUSIM_STAT_COUNTER, "", "host.oom.reaped_pages"),
        ST(oom_reap_skipped, GPUSIM_STAT_COUNTER, "", "host.oom.reap_skipped_vmas"),
        ST(oom_failed, GPUSIM_STAT_COUNTER, "", "host.oom.failed"),
        ST(migrate_ok, GPUSIM_STAT_COUNTER, "", "host.migrate.success"),
        ST(migrate_failed_pinned, GPUSIM_STAT_COUNTER, "", "host.migrate.failed_pinned"),
        ST(migrate_longterm, GPUSIM_STAT_COUNTER, "", "host.migrate.longterm_pin"),
        ST(migrate_waits, GPUSIM_STAT_COUNTER, "", "host.migrate.waits"),
        ST(pin_pages, GPUSIM_STAT_COUNTER, "", "host.pin.pages"),
        ST(unpin_pages, GPUSIM_STAT_COUNTER, "", "host.pin.unpinned"),
        ST(pin_limit_refused, GPUSIM_STAT_COUNTER, "", "host.pin.limit_refused"),
        ST(pinned_frames, GPUSIM_STAT_GAUGE, "pages", "host.pin.frames"),
        ST(hmm_calls, GPUSIM_STAT_COUNTER, "", "host.hmm.calls"),
        ST(hmm_faults, GPUSIM_STAT_COUNTER, "", "host.hmm.faults"),
        ST(hmm_retries, GPUSIM_STAT_COUNTER, "", "host.hmm.retries"),
        ST(frames_free, GPUSIM_STAT_GAUGE, "pages", "host.frames_free"),
    };
    return gpusim__stats_register_table(w, defs, GPUSIM_ARRAY_SIZE(defs), st);
}

/* ---- host ----------------------------------------------------------------------------------- */

static void host_destroy(gpusim_world_t *w, gpusim__owned *o);

static void host_release(gpusim_host_t *h)
{
    gpusim__arena *a = &h->world->arena;
    h->tearing_down = true; /* operations' fini must not touch the (already freed) domains */
    for (uint32_t i = 0; i < h->nprocs_cap; i++) {
        gpusim_process_t *p = h->procs[i];
        if (!p)
            continue;
        while (p->ops) {
            hop *op = p->ops;
            p->ops = op->pnext;
            if (gpusim_event_pending(&op->ev))
                gpusim_event_cancel(h->world, &op->ev);
            gpusim__op_discard(op);
        }
        gpusim__process_teardown(p);
        gpusim__arena_free(a, p, sizeof *p);
    }
    gpusim__actors_destroy(h);
    gpusim__files_destroy(h);
    gpusim__arena_free(a, h->procs, h->nprocs_cap * sizeof *h->procs);
    gpusim__frames_destroy(h);
    gpusim__arena_free(a, h, sizeof *h);
}

static void host_destroy(gpusim_world_t *w, gpusim__owned *o)
{
    gpusim_host_t *h = gpusim_container_of(o, gpusim_host_t, owned);
    (void)w;
    host_release(h);
}

int gpusim_host_new(gpusim_world_t *w, const gpusim_host_config_t *cfg, gpusim_host_t **out)
{
    gpusim_host_t *h;
    uint64_t per_node;
    int rc;
    if (!w || !cfg || !out)
        return GPUSIM_EINVAL;
    if (cfg->nodes < 1 || cfg->nodes > 64 || cfg->ram_bytes == 0 ||
        cfg->ram_bytes > 16 * GPUSIM_TIB || cfg->ram_bytes % (HOST_HUGE_SIZE * cfg->nodes) != 0 ||
        cfg->swap_bytes % HOST_PAGE_SIZE != 0 || cfg->swap_bytes / HOST_PAGE_SIZE > UINT32_MAX ||
        cfg->movable_bytes % HOST_HUGE_SIZE != 0 || (unsigned)cfg->thp > GPUSIM_THP_ALWAYS)
        return GPUSIM_EINVAL;
    per_node = cfg->ram_bytes / cfg->nodes;
    if (cfg->movable_bytes >= per_node)
        return GPUSIM_EINVAL;
    for (size_t i = 0; i < HP_COUNT; i++)
        if (cfg->params_[i] < gpusim__host_param_desc[i].min && i != HP_min_free)
            return GPUSIM_EINVAL; /* an uninitialised config; forced values above max are fine */
    h = gpusim__arena_zalloc(&w->arena, sizeof *h);
    if (!h)
        return GPUSIM_ENOMEM;
    h->world = w;
    h->cfg = *cfg;
    memcpy(h->p, cfg->params_, sizeof h->p);
    gpusim_completion_init(&h->memory_freed, h);
    gpusim_completion_init(&h->migration_done, h);
    rc = register_stats(w, &h->st);
    if (rc == 0)
        rc = gpusim__frames_init(h);
    if (rc == 0)
        rc = gpusim__actors_init(h);
    if (rc) {
        host_release(h);
        return rc == GPUSIM_ENOMEM ? rc : GPUSIM_ENOMEM;
    }
    gpusim__stat_set(h->st.frames_free, (int64_t)h->free);
    gpusim__world_own(w, &h->owned, host_destroy);
    *out = h;
    return 0;
}

int gpusim_host_free(gpusim_host_t *h)
{
    if (!h)
        return GPUSIM_EINVAL;
    if (h->ops_inflight || gpusim__actors_busy(h))
        return GPUSIM_EBUSY;
    /* A driver mirroring a process (it watches the domain) would be left with a freed process. */
    for (uint32_t i = 0; i < h->nprocs_cap; i++)
        if (h->procs[i] && h->procs[i]->notifier && gpusim__notifier_watched(h->procs[i]->notifier))
            return GPUSIM_EBUSY;
    /* Domains with subscribers stay with the world; the others go now. */
    for (uint32_t i = 0; i < h->nprocs_cap; i++) {
        if (!h->procs[i] || !h->procs[i]->notifier)
            continue;
        gpusim__notifier_set_held(h->procs[i]->notifier, false); /* the process goes */
        if (gpusim_notifier_free(h->procs[i]->notifier) == 0)
            h->procs[i]->notifier = NULL;
    }
    gpusim__world_disown(&h->owned);
    host_release(h);
    return 0;
}

void gpusim__host_memory_freed(gpusim_host_t *h)
{
    /* Signalled only when someone waits, then reset, so it costs nothing otherwise. */
    if (h->memory_freed.head_ != NULL) {
        gpusim_completion_signal(h->world, &h->memory_freed);
        gpusim_completion_reset(&h->memory_freed);
    }
}

int gpusim_host_meminfo(const gpusim_host_t *h, gpusim_host_meminfo_t *out)
{
    if (!h || !out)
        return GPUSIM_EINVAL;
    memset(out, 0, sizeof *out);
    out->total = (uint64_t)h->nframes * HOST_PAGE_SIZE;
    out->free = h->free * HOST_PAGE_SIZE;
    out->anon = h->anon_frames * HOST_PAGE_SIZE;
    out->file = h->file_frames * HOST_PAGE_SIZE;
    out->shmem = h->shmem_frames * HOST_PAGE_SIZE;
    out->pinned = h->pinned_frames * HOST_PAGE_SIZE;
    out->thp = h->thp_frames * HOST_PAGE_SIZE;
    out->swap_total = (uint64_t)h->nslots * HOST_PAGE_SIZE;
    out->swap_used = (uint64_t)(h->nslots - h->nslot_free) * HOST_PAGE_SIZE;
    for (unsigned n = 0; n < h->nnodes; n++) {
        out->wmark_min += h->nodes[n].wmark_min * HOST_PAGE_SIZE;
        out->wmark_low += h->nodes[n].wmark_low * HOST_PAGE_SIZE;
        out->wmark_high += h->nodes[n].wmark_high * HOST_PAGE_SIZE;
    }
    return 0;
}

/* ---- frames --------------------------------------------------------------------------------- */

int gpusim_host_frame_info(const gpusim_host_t *h, uint64_t pfn, gpusim_frame_info_t *out)
{
    const hframe *f;
    uint32_t b;
    if (!h || !out)
        return GPUSIM_EINVAL;
    if (pfn >= h->nframes)
        return GPUSIM_ERANGE;
    memset(out, 0, sizeof *out);
    b = (uint32_t)(pfn / HOST_HUGE_PAGES);
    f = frame_of(h, (uint32_t)pfn);
    out->node = gpusim__frame_node(h, (uint32_t)pfn);
    out->movable = gpusim__frame_movable(h, (uint32_t)pfn);
    out->gen = f->gen;
    out->state = gpusim__frame_state(h, (uint32_t)pfn);
    if (h->blocks[b].fresh && out->state == GPUSIM_FRAME_FREE)
        return 0; /* never initialised since the block was last free */
    out->refcount = f->refcount;
    out->mapcount = f->mapcount;
    out->pincount = f->pincount;
    out->anon = (f->flags & FF_ANON) != 0;
    out->compound = f->state == GPUSIM_FRAME_TAIL || (f->flags & FF_HEAD);
    out->dirty = (f->flags & FF_DIRTY) != 0;
    return 0;
}

static int frame_data_check(const gpusim_host_t *h, uint64_t pfn, uint32_t off, const void *buf,
                            uint32_t len)
{
    if (!h || !buf)
        return GPUSIM_EINVAL;
    if (!h->data)
        return GPUSIM_ENOTSUP;
    if (pfn >= h->nframes || off > HOST_PAGE_SIZE || len > HOST_PAGE_SIZE - off)
        return GPUSIM_ERANGE;
    return 0;
}

int gpusim_host_frame_read(const gpusim_host_t *h, uint64_t pfn, uint32_t off, void *buf,
                           uint32_t len)
{
    int rc = frame_data_check(h, pfn, off, buf, len);
    if (rc)
        return rc;
    if (h->data[pfn])
        memcpy(buf, h->data[pfn] + off, len);
    else
        memset(buf, 0, len);
    return 0;
}

int gpusim_host_frame_write(gpusim_host_t *h, uint64_t pfn, uint32_t off, const void *buf,
                            uint32_t len)
{
    int rc = frame_data_check(h, pfn, off, buf, len);
    hframe *f;
    if (rc)
        return rc;
    f = frame_of(h, (uint32_t)pfn);
    if (pfn == HOST_ZERO_PFN || h->blocks[pfn / HOST_HUGE_PAGES].fresh ||
        (f->state != GPUSIM_FRAME_USED && f->state != GPUSIM_FRAME_TAIL))
        return GPUSIM_EFAULT;
    rc = gpusim__data_touch(h, (uint32_t)pfn);
    if (rc)
        return rc;
    memcpy(h->data[pfn] + off, buf, len);
    frame_of(h, huge_head((uint32_t)pfn))->flags |= FF_DIRTY;
    f->flags |= FF_DIRTY;
    return 0;
}

int gpusim_host_mark_accessed(gpusim_host_t *h, uint64_t pfn)
{
    hframe *f;
    if (!h)
        return GPUSIM_EINVAL;
    if (pfn >= h->nframes)
        return GPUSIM_ERANGE;
    if (!h->cfg.mirror_aging)
        return 0;
    f = frame_of(h, (uint32_t)pfn);
    if (f->state == GPUSIM_FRAME_TAIL)
        f = frame_of(h, huge_head((uint32_t)pfn));
    if (f->state == GPUSIM_FRAME_USED && !h->blocks[pfn / HOST_HUGE_PAGES].fresh)
        f->flags |= FF_ACCESSED;
    return 0;
}

int gpusim_host_file_new(gpusim_host_t *h, uint64_t size, gpusim_file_t **out)
{
    if (!h || !out || size == 0 || size % HOST_PAGE_SIZE != 0 || size > GPUSIM_TIB)
        return GPUSIM_EINVAL;
    return gpusim__file_create(h, size / HOST_PAGE_SIZE, false, out);
}

/* ---- processes ------------------------------------------------------------------------------ */

void gpusim_process_config_init(gpusim_process_config_t *cfg)
{
    if (!cfg)
        return;
    memset(cfg, 0, sizeof *cfg);
    cfg->memlock_limit = 8 * GPUSIM_MIB; /* RLIMIT_MEMLOCK default since Linux 5.16 */
}

gpusim_process_t *gpusim__proc(const gpusim_host_t *h, uint32_t slot)
{
    return slot < h->nprocs_cap ? h->procs[slot] : NULL;
}

int gpusim__process_create(gpusim_host_t *h, const gpusim_process_config_t *cfg,
                           gpusim_process_t **out)
{
    gpusim__arena *a = &h->world->arena;
    gpusim_process_t *p;
    char name[32], stat[GPUSIM_STAT_NAME_MAX + 1];
    uint32_t slot;
    int rc;
    if (!cfg || cfg->node >= h->nnodes || (cfg->name && !gpusim__stat_segment_ok(cfg->name, 31)))
        return GPUSIM_EINVAL;
    for (slot = 0; slot < h->nprocs_cap && h->procs[slot]; slot++)
        ;
    if (slot >= HOST_MAX_PROCS)
        return GPUSIM_ENOSPC;
    if (cfg->name)
        snprintf(name, sizeof name, "%s", cfg->name);
    else
        snprintf(name, sizeof name, "p%u", (unsigned)slot);
    for (uint32_t i = 0; i < h->nprocs_cap; i++)
        if (h->procs[i] && strcmp(h->procs[i]->name, name) == 0)
            return GPUSIM_EEXIST;
    if (slot == h->nprocs_cap) {
        size_t cap = h->nprocs_cap;
        if (gpusim__arena_grow(a, (void **)&h->procs, &cap, (size_t)slot + 1, sizeof *h->procs))
            return GPUSIM_ENOMEM;
        for (size_t i = h->nprocs_cap; i < cap; i++)
            h->procs[i] = NULL;
        h->nprocs_cap = (uint32_t)cap;
    }
    p = gpusim__arena_zalloc(a, sizeof *p);
    if (!p)
        return GPUSIM_ENOMEM;
    snprintf(stat, sizeof stat, "host.process.%s.alloc_stall_ns", name);
    rc = gpusim_stat_register(h->world, stat, GPUSIM_STAT_HISTOGRAM, "ns", &p->stall_hist);
    if (rc == 0)
        rc = gpusim_notifier_new(h->world, &p->notifier);
    if (rc) {
        gpusim__arena_free(a, p, sizeof *p);
        return rc == GPUSIM_ENOMEM ? rc : GPUSIM_EINVAL;
    }
    gpusim__notifier_set_held(p->notifier, true); /* users subscribe; only the host frees it */
    p->host = h;
    p->slot = slot;
    memcpy(p->name, name, sizeof p->name);
    p->state = GPUSIM_PROCESS_LIVE;
    p->node = cfg->node;
    p->memlock_limit = cfg->memlock_limit;
    p->oom_unkillable = cfg->oom_unkillable;
    gpusim__itree_init(&p->vmas);
    h->procs[slot] = p;
    h->nprocs++;
    *out = p;
    return 0;
}

int gpusim_process_new(gpusim_host_t *h, const gpusim_process_config_t *cfg, gpusim_process_t **out)
{
    if (!h || !out)
        return GPUSIM_EINVAL;
    return gpusim__process_create(h, cfg, out);
}

/* Frees everything the address space holds, without announcing (teardown, or after RELEASE). */
void gpusim__process_teardown(gpusim_process_t *p)
{
    gpusim__itree_node *n;
    gpusim__zap_range(p, 0, GPUSIM_HOST_VA_END);
    while ((n = gpusim__itree_min(&p->vmas)) != NULL)
        gpusim__vma_free(p, gpusim_container_of(n, hvma, node));
    gpusim__pt_destroy(p->host, &p->pt);
}

gpusim_notifier_t *gpusim_process_notifier(const gpusim_process_t *p)
{
    return p ? p->notifier : NULL;
}

const char *gpusim_process_name(const gpusim_process_t *p)
{
    return p ? p->name : "?";
}

int gpusim_process_info(const gpusim_process_t *p, gpusim_process_info_t *out)
{
    if (!p || !out)
        return GPUSIM_EINVAL;
    *out = p->info;
    out->state = p->state;
    out->oom_killed = p->oom_killed;
    out->rss_anon = p->rss_anon * HOST_PAGE_SIZE;
    out->rss_file = p->rss_file * HOST_PAGE_SIZE;
    out->rss_shmem = p->rss_shmem * HOST_PAGE_SIZE;
    out->swap = p->swapents * HOST_PAGE_SIZE;
    out->pinned = p->pinned * HOST_PAGE_SIZE;
    out->vmas = p->nvmas;
    return 0;
}

int gpusim_process_translate(const gpusim_process_t *p, uint64_t va, gpusim_host_pte_t *out)
{
    pte_t e;
    bool huge;
    if (!p || !out || va >= GPUSIM_HOST_VA_END)
        return GPUSIM_EINVAL;
    memset(out, 0, sizeof *out);
    if (p->state == GPUSIM_PROCESS_DEAD)
        return GPUSIM_ESRCH;
    e = gpusim__pt_entry(&p->pt, va, &huge);
    if (PTE_IS_PRESENT(e)) {
        out->present = true;
        out->writable = (e & PTE_WRITE) != 0;
        out->huge = huge;
        out->pfn = PTE_PFN(e) + (huge ? ((va >> HOST_PAGE_SHIFT) & (HOST_HUGE_PAGES - 1)) : 0);
    } else if (PTE_IS_SWAP(e)) {
        out->swapped = true;
    }
    return 0;
}
