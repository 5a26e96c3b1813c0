/*
 * host/oom.c -- the OOM killer and the OOM reaper (mm/oom_kill.c).
 *
 * The killer runs in the allocating operation when direct reclaim has made no progress for
 * reclaim_retries rounds (gpusim__op_alloc). It picks the live process with the largest footprint
 * (resident + swapped pages: oom_badness() without page tables and oom_score_adj), never one
 * marked oom_unkillable, never one already killed, and among equals the lowest process slot
 * (Linux keeps the first it meets in process order). It marks it oom_killed, starts its exit
 * (gpusim__exit_start: RELEASE, blockable, then teardown), and arms the reaper oom_reaper_delay
 * later. While a victim is pending (killed, not DEAD, not given up on) no second victim is chosen:
 * allocating operations wait on h->memory_freed and retry. Nothing killable: the allocation fails
 * with GPUSIM_ENOMEM (host.oom.failed). A process with nothing to free is not a candidate (Linux
 * would count its page tables; a simulated process without memory has none).
 *
 * The reaper frees what the victim's exit may not get to free soon (its RELEASE can be held up by a
 * mirror waiting for a device): if the victim is not DEAD when it runs, it walks the victim's
 * private VMAs (anonymous or file: not VM_SHARED, as __oom_reap_task_mm) and, for each, announces
 * UNMAP over the VMA **non-blockable** (invalidator OOM_REAPER,
 * mmu_notifier_invalidate_range_start_nonblock). A mirror that would have to wait refuses
 * (GPUSIM_EWOULDBLOCK): the VMA is skipped (host.oom.reap_skipped_vmas), as __oom_reap_task_mm
 * does. Otherwise its pages and swap entries are zapped, except pages with pins, which stay
 * mapped. A pass that skipped a VMA is retried every oom_reap_retry_delay, at most
 * oom_reap_retries passes in all; then (or after a complete pass) the victim gets oom_skip
 * (MMF_OOM_SKIP) and a new victim may be chosen. The reaper and the exit run concurrently: the
 * notifier allows several invalidations at once, and zapping an entry twice is harmless.
 *
 * The reaper is a kernel actor with its own event and invalidation; it holds one event-queue
 * reservation whenever its event is not pending, so arming it never fails. Its work is not
 * charged virtual time (it runs between its timed retries).
 *
 * Trace (core/trace.h): the kill and each reaper pass are reported as instants, on the tracks
 * "oom_killer" and "oom_reaper".
 */
#include "host/host.h"
#include "core/alloc.h"
#include "core/event.h"
#include "core/log.h"
#include "core/trace.h"

struct oom_state {
    gpusim_host_t *h;
    gpusim_process_t *victim; /* whose reaping is armed, or NULL */
    unsigned attempts;        /* reaper passes over it so far */
    gpusim_event_t ev;
    bool reserved; /* holds one event-queue reservation (whenever ev is not pending) */
    gpusim_invalidation_t inv;
};

typedef struct oom_state oom_state;

static gpusim_time_t now_of(const gpusim_host_t *h)
{
    return gpusim_world_now(h->world);
}

static bool pending(const gpusim_process_t *p)
{
    return p->oom_killed && p->state != GPUSIM_PROCESS_DEAD && !p->oom_skip;
}

bool gpusim__oom_pending(const gpusim_host_t *h)
{
    for (uint32_t i = 0; i < h->nprocs_cap; i++)
        if (h->procs[i] && pending(h->procs[i]))
            return true;
    return false;
}

/* oom_badness(): rss + swap entries (page tables are not simulated memory). Pinned pages are not
 * added: those still mapped are in the rss already, and Linux does not count pinned_vm. */
static uint64_t footprint(const gpusim_process_t *p)
{
    return p->rss_anon + p->rss_file + p->rss_shmem + p->swapents;
}

static gpusim_process_t *select_victim(const gpusim_host_t *h)
{
    gpusim_process_t *best = NULL;
    uint64_t best_points = 0;
    for (uint32_t i = 0; i < h->nprocs_cap; i++) {
        gpusim_process_t *p = h->procs[i];
        uint64_t points;
        if (!p || p->state != GPUSIM_PROCESS_LIVE || p->oom_killed || p->oom_unkillable)
            continue;
        points = footprint(p);
        if (points > best_points) { /* strictly: the lowest slot wins a tie */
            best = p;
            best_points = points;
        }
    }
    return best;
}

/* Arms the reaper at `when` (moving it if it is already armed). */
static void reaper_arm(oom_state *o, gpusim_time_t when)
{
    gpusim_world_t *w = o->h->world;
    if (gpusim_event_pending(&o->ev)) {
        int rc = gpusim_event_reschedule(w, &o->ev, when); /* in place: cannot fail */
        GPUSIM_ASSERT(rc == 0);
        (void)rc;
        return;
    }
    GPUSIM_ASSERT(o->reserved);
    o->reserved = false;
    gpusim__event_schedule_reserved(w, &o->ev, when);
}

static void oom_kill(gpusim_host_t *h, gpusim_process_t *v)
{
    oom_state *o = h->oom;
    int rc;
    v->oom_killed = true;
    gpusim__stat_add(h->st.oom_kills, 1);
    GPUSIM_TRACE(h->world, "oom_killer", now_of(h), now_of(h), "pages", footprint(v), "oom kill %s",
                 v->name);
    GPUSIM_LOG(h->world, GPUSIM_LOG_INFO, "host",
               "out of memory: killed process %s (anon %llu, file %llu, shmem %llu, swap %llu, "
               "pinned %llu pages)",
               v->name, (unsigned long long)v->rss_anon, (unsigned long long)v->rss_file,
               (unsigned long long)v->rss_shmem, (unsigned long long)v->swapents,
               (unsigned long long)v->pinned);
    rc = gpusim__exit_start(v, NULL, NULL);
    if (rc)
        GPUSIM_LOG(h->world, GPUSIM_LOG_WARN, "host",
                   "OOM victim %s: exit could not start (%s); only the reaper frees its memory",
                   v->name, gpusim_err_name(rc));
    o->victim = v;
    o->attempts = 0;
    reaper_arm(o, now_of(h) + h->p[HP_oom_reaper_delay]);
}

int gpusim__oom_kill(hop *op)
{
    gpusim_host_t *h = op->h;
    gpusim_process_t *p = op->p;
    if (p && p->oom_killed)
        return GPUSIM_ESRCH;
    if (!gpusim__oom_pending(h)) {
        gpusim_process_t *v = select_victim(h);
        if (!v) {
            gpusim__stat_add(h->st.oom_failed, 1);
            return GPUSIM_ENOMEM;
        }
        oom_kill(h, v);
        if (v == p)
            return GPUSIM_ESRCH;
    }
    gpusim__op_wait(op, &h->memory_freed);
    return OP_WAIT;
}

/* ---- the reaper ----------------------------------------------------------------------------- */

typedef struct reap_ctx {
    gpusim_process_t *p;
    uint64_t pages; /* present pages zapped */
} reap_ctx;

static int reap_one(void *ctx, uint64_t va, pte_t *slot, bool huge)
{
    reap_ctx *c = ctx;
    gpusim_host_t *h = c->p->host;
    pte_t e = *slot;
    if (PTE_IS_PRESENT(e)) {
        const hframe *f = frame_of(h, PTE_PFN(e));
        if (PTE_PFN(e) == HOST_ZERO_PFN) {
            gpusim__unmap_entry(c->p, va, slot, huge);
            return 0;
        }
        if (f->refcount > f->mapcount + (f->owner ? 1u : 0u))
            return 0; /* pinned: leave it mapped (the pin keeps it alive anyway) */
        c->pages += gpusim__unmap_entry(c->p, va, slot, huge);
    } else if (PTE_IS_SWAP(e)) {
        gpusim__unmap_entry(c->p, va, slot, huge); /* frees the swap slot */
    }
    return 0;
}

static void reaper_proceed(gpusim_world_t *w, gpusim_invalidation_t *inv, int status)
{
    /* A non-blockable invalidation never waits: a WAIT answer becomes a refusal. */
    (void)w;
    (void)inv;
    (void)status;
    GPUSIM_ASSERT(0);
}

/* One pass over the victim's private anonymous VMAs. Returns the number of VMAs skipped. */
static unsigned reap(oom_state *o, gpusim_process_t *v)
{
    gpusim_host_t *h = o->h;
    unsigned skipped = 0;
    uint64_t pages = 0;
    for (hvma *m = gpusim__vma_first(v, 0, GPUSIM_HOST_VA_END); m;
         m = gpusim__vma_next(m, 0, GPUSIM_HOST_VA_END)) {
        gpusim_notifier_range_t rg;
        reap_ctx c = {v, 0};
        int rc;
        if (m->flags & VM_SHARED)
            continue; /* as __oom_reap_task_mm: anonymous or private (file COW pages too) */
        rg.start = vma_start(m);
        rg.end = vma_end(m);
        rg.event = GPUSIM_NOTIFY_UNMAP;
        rg.invalidator = GPUSIM_INVALIDATOR_OOM_REAPER;
        rg.blockable = false;
        rg.owner = NULL;
        rc = gpusim_notifier_invalidate_start(v->notifier, &o->inv, &rg, reaper_proceed, o);
        GPUSIM_ASSERT(rc != GPUSIM_EINPROGRESS);
        if (rc) {
            /* Refused (or no memory to start): skip it, as __oom_reap_task_mm does. */
            skipped++;
            gpusim__stat_add(h->st.oom_reap_skipped, 1);
            continue;
        }
        gpusim__pt_walk(&v->pt, rg.start, rg.end, reap_one, &c);
        gpusim__pt_prune(h, &v->pt, rg.start, rg.end);
        rc = gpusim_notifier_invalidate_end(&o->inv);
        GPUSIM_ASSERT(rc == 0);
        (void)rc;
        gpusim__stat_add(h->st.oom_reaped, c.pages);
        pages += c.pages;
    }
    /* The pass takes no virtual time (see the top of the file): an instant on the trace. */
    GPUSIM_TRACE(h->world, "oom_reaper", now_of(h), now_of(h), "pages", pages, "reap %s", v->name);
    return skipped;
}

/* The victim needs no more reaping: let the killer choose again, and wake those waiting. */
static void reaper_done(oom_state *o, gpusim_process_t *v)
{
    if (v->state != GPUSIM_PROCESS_DEAD)
        v->oom_skip = true;
    o->victim = NULL;
    gpusim__host_memory_freed(o->h);
}

static void reaper_event(gpusim_world_t *w, gpusim_event_t *ev)
{
    oom_state *o = ev->data;
    gpusim_host_t *h = o->h;
    gpusim_process_t *v = o->victim;
    /* Our own entry has just left the queue: re-reserving cannot grow it. */
    int rc = gpusim__queue_reserve(w, 1);
    GPUSIM_ASSERT(rc == 0);
    (void)rc;
    o->reserved = true;
    if (!v)
        return;
    if (v->state == GPUSIM_PROCESS_DEAD || v->oom_skip) {
        reaper_done(o, v);
        return;
    }
    o->attempts++;
    if (reap(o, v) && o->attempts < h->p[HP_oom_reap_retries]) {
        reaper_arm(o, now_of(h) + h->p[HP_oom_reap_retry_delay]);
        return;
    }
    if (o->attempts >= h->p[HP_oom_reap_retries])
        GPUSIM_LOG(h->world, GPUSIM_LOG_INFO, "host", "oom_reaper: unable to reap %s", v->name);
    reaper_done(o, v);
}

/* ---- init / teardown ------------------------------------------------------------------------ */

int gpusim__oom_init(gpusim_host_t *h)
{
    oom_state *o = gpusim__arena_zalloc(&h->world->arena, sizeof *o);
    if (!o)
        return GPUSIM_ENOMEM;
    o->h = h;
    gpusim_event_init(&o->ev, reaper_event, o);
    gpusim_invalidation_init(&o->inv);
    h->oom = o;
    if (gpusim__queue_reserve(h->world, 1))
        return GPUSIM_ENOMEM;
    o->reserved = true;
    return 0;
}

void gpusim__oom_destroy(gpusim_host_t *h)
{
    oom_state *o = h->oom;
    if (!o)
        return;
    if (gpusim_event_pending(&o->ev))
        gpusim_event_cancel(h->world, &o->ev);
    else if (o->reserved)
        gpusim__queue_unreserve(h->world, 1);
    gpusim__arena_free(&h->world->arena, o, sizeof *o);
    h->oom = NULL;
}

bool gpusim__oom_busy(const gpusim_host_t *h)
{
    return h->oom && gpusim_invalidation_active(&h->oom->inv);
}
