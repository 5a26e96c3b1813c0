/*
 * gpu/device.c -- devices and VM contexts (gpusim/gpu.h): configuration, life cycle, and the
 * driver-facing operations on page tables and TLBs. Engine accesses are in gpu/access.c.
 *
 * The operations are thin: validation and the translation of public flags to entry bits here,
 * the work in pt.c and tlb.c. Each reports its virtual cost to the caller rather than advancing
 * any clock, because on real hardware these are steps of a driver's work (a CPU or copy engine
 * writing entries, an invalidation round trip) and the driver's actor is what waits for them.
 *
 * Invariants: every context on the device's list has a live page table whose id is below
 * next_ctx_id; the VRAM's used frames are exactly the table pages of the contexts (nothing else
 * allocates VRAM yet); no TLB entry disagrees with its context's table (gpusim_gpu_check).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "gpu/device.h"
#include "gpu/cp.h"
#include "gpu/engine.h"
#include "gpu/pattern.h"
#include "core/alloc.h"
#include "core/param.h"
#include "core/rng.h"

_Static_assert(GPUSIM__GPU_P_COUNT <= GPUSIM_GPU_PARAM_SLOTS, "GPU parameters fit in the config");
_Static_assert(GPUSIM_GPU_MAX_ENGINES == GPUSIM__GPU_TLB_MAX_ENGINES, "one engine limit");
_Static_assert(GPUSIM_GPU_FRAME_MAX == GPUSIM__GPU_FRAME_MAX, "one frame limit");
_Static_assert(GPUSIM_GPU_VA_END == GPUSIM__GPU_VA_LIMIT, "one VA size");

/* ---- configuration -------------------------------------------------------------------------- */

void gpusim_gpu_config_init(gpusim_gpu_config_t *cfg)
{
    if (!cfg)
        return;
    memset(cfg, 0, sizeof *cfg);
    cfg->name = "gpu0";
    cfg->engines = 2;
    cfg->replayable = true;
    gpusim__gpu_params_defaults(cfg->params_);
}

int gpusim_gpu_config_set(gpusim_gpu_config_t *cfg, const char *name, const char *value, bool force,
                          char *msg, size_t msglen)
{
    return gpusim__param_set(gpusim__gpu_param_desc, GPUSIM__GPU_P_COUNT, cfg ? cfg->params_ : NULL,
                             "GPU", name, value, force, msg, msglen);
}

int gpusim_gpu_config_get(const gpusim_gpu_config_t *cfg, const char *name, uint64_t *value)
{
    return gpusim__param_get(gpusim__gpu_param_desc, GPUSIM__GPU_P_COUNT, cfg ? cfg->params_ : NULL,
                             name, value);
}

int gpusim_gpu_param_info(size_t i, gpusim_param_info_t *out)
{
    return gpusim__param_info(gpusim__gpu_param_desc, GPUSIM__GPU_P_COUNT, i, out);
}

/* ---- devices -------------------------------------------------------------------------------- */

static void ctx_release(gpusim_gpu_ctx_t *c)
{
    gpusim_gpu_t *g = c->gpu;
    if (c->prev)
        c->prev->next = c->next;
    else
        g->ctx_head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        g->ctx_tail = c->prev;
    gpusim__gpu_pt_free(c->pt);
    gpusim__arena_free(&g->world->arena, c, sizeof *c);
}

static void gpu_release(gpusim_gpu_t *g)
{
    gpusim__gpu_cp_destroy(g);
    gpusim__gpu_engines_destroy(g);
    for (size_t i = 0; i < g->ntraces; i++)
        gpusim__gpu_trace_free(&g->world->arena, g->traces[i]);
    gpusim__arena_free(&g->world->arena, g->traces, g->traces_cap * sizeof *g->traces);
    gpusim__gpu_faults_destroy(g);
    while (g->ctx_tail)
        ctx_release(g->ctx_tail);
    gpusim__gpu_tlb_free(g->tlb);
    gpusim__gpu_vram_free(g->vram);
    gpusim__arena_free(&g->world->arena, g, sizeof *g);
}

static void gpu_destroy(gpusim_world_t *w, gpusim__owned *o)
{
    (void)w;
    gpu_release((gpusim_gpu_t *)o); /* `owned` is the first member */
}

int gpusim_gpu_new(gpusim_world_t *w, const gpusim_gpu_config_t *cfg, gpusim_gpu_t **out)
{
    gpusim_gpu_config_t def;
    gpusim_gpu_t *g;
    char stat[GPUSIM_STAT_NAME_MAX + 1];
    gpusim_stat_info_t si;
    int rc;
    if (!w || !out)
        return GPUSIM_EINVAL;
    if (!cfg) {
        gpusim_gpu_config_init(&def);
        cfg = &def;
    }
    if (!cfg->name || !gpusim__stat_segment_ok(cfg->name, GPUSIM__GPU_NAME_MAX) ||
        cfg->engines == 0 || cfg->engines > GPUSIM_GPU_MAX_ENGINES ||
        !gpusim__gpu_params_ok(cfg->params_, cfg->engines))
        return GPUSIM_EINVAL; /* before anything is registered: a refusal leaves no statistics */
    /* Statistics outlive devices: a name used before in this world would merge two devices'
     * figures, so it is refused. */
    snprintf(stat, sizeof stat, "gpu.%s.vram.total_bytes", cfg->name);
    if (gpusim_stats_get(w, stat, &si) == 0)
        return GPUSIM_EEXIST;
    g = gpusim__arena_zalloc(&w->arena, sizeof *g);
    if (!g)
        return GPUSIM_ENOMEM;
    g->world = w;
    memcpy(g->name, cfg->name, strlen(cfg->name) + 1);
    snprintf(g->prefix, sizeof g->prefix, "gpu.%s", cfg->name);
    snprintf(g->track_compute, sizeof g->track_compute, "%s.compute", cfg->name);
    snprintf(g->track_dma, sizeof g->track_dma, "%s.dma", cfg->name);
    snprintf(g->track_cp, sizeof g->track_cp, "%s.cp", cfg->name);
    memcpy(g->p, cfg->params_, sizeof g->p);
    g->engines = cfg->engines;
    g->next_ctx_id = 1;
    g->replayable = cfg->replayable;
    rc = gpusim__gpu_vram_new(w, g->p[GPUSIM__GPU_P_vram_size] & ~(GPUSIM__GPU_PAGE_SIZE - 1),
                              g->prefix, &g->vram);
    if (rc == 0)
        rc = gpusim__gpu_tlb_new(w, g->p, g->engines, g->prefix, &g->tlb);
    if (rc == 0)
        rc = gpusim__gpu_faults_init(g);
    if (rc == 0)
        rc = gpusim__gpu_engines_init(g);
    if (rc == 0)
        rc = gpusim__gpu_cp_init(g);
    if (rc) {
        gpusim__gpu_engines_destroy(g);
        gpusim__gpu_faults_destroy(g);
        gpusim__gpu_tlb_free(g->tlb);
        gpusim__gpu_vram_free(g->vram);
        gpusim__arena_free(&w->arena, g, sizeof *g);
        return rc;
    }
    /* The device frees its parts, in its own order. */
    gpusim__world_disown(&g->vram->owned);
    gpusim__world_disown(&g->tlb->owned);
    gpusim__world_own(w, &g->owned, gpu_destroy);
    *out = g;
    return 0;
}

void gpusim_gpu_free(gpusim_gpu_t *g)
{
    if (!g)
        return;
    gpusim__world_disown(&g->owned);
    gpu_release(g);
}

const char *gpusim_gpu_name(const gpusim_gpu_t *g)
{
    return g ? g->name : NULL;
}

static const gpusim__gpu_pt *pt_of(void *arg, uint32_t id)
{
    const gpusim_gpu_t *g = arg;
    for (const gpusim_gpu_ctx_t *c = g->ctx_head; c; c = c->next)
        if (c->pt->ctx == id)
            return c->pt;
    return NULL;
}

int gpusim_gpu_check(const gpusim_gpu_t *g, char *msg, size_t msglen)
{
    char buf[256];
    uint64_t tables = 0;
    if (msg && msglen)
        msg[0] = '\0';
    if (!g)
        return GPUSIM_EINVAL;
    if (!gpusim__gpu_vram_check(g->vram)) {
        snprintf(buf, sizeof buf, "%s: VRAM bitmaps inconsistent", g->name);
        goto bad;
    }
    for (const gpusim_gpu_ctx_t *c = g->ctx_head; c; c = c->next) {
        if (c->gpu != g || c->pt->ctx == 0 || c->pt->ctx >= g->next_ctx_id ||
            (c->next && c->next->prev != c) || (!c->next && g->ctx_tail != c)) {
            snprintf(buf, sizeof buf, "%s: context list broken at context %" PRIu32, g->name,
                     c->pt->ctx);
            goto bad;
        }
        if (!gpusim__gpu_pt_check(c->pt)) {
            snprintf(buf, sizeof buf, "%s: page table of context %" PRIu32 " inconsistent", g->name,
                     c->pt->ctx);
            goto bad;
        }
        tables += c->pt->tables;
    }
    if (tables != gpusim__gpu_vram_used(g->vram)) {
        snprintf(buf, sizeof buf,
                 "%s: %" PRIu64 " VRAM frames used, but the contexts' tables hold %" PRIu64,
                 g->name, gpusim__gpu_vram_used(g->vram), tables);
        goto bad;
    }
    if (!gpusim__gpu_tlb_check(g->tlb)) {
        snprintf(buf, sizeof buf, "%s: TLB structure inconsistent", g->name);
        goto bad;
    }
    if (!gpusim__gpu_tlb_coherent(g->tlb, pt_of, (void *)g, buf, sizeof buf))
        goto bad;
    if (gpusim__gpu_engines_check(g, buf, sizeof buf))
        goto bad;
    if (gpusim__gpu_cp_check(g, buf, sizeof buf))
        goto bad;
    return 0;
bad:
    if (msg && msglen)
        snprintf(msg, msglen, "%s", buf);
    return GPUSIM_ECORRUPT;
}

/* ---- contexts ------------------------------------------------------------------------------- */

int gpusim_gpu_ctx_new(gpusim_gpu_t *g, void *data, gpusim_gpu_ctx_t **out)
{
    gpusim_gpu_ctx_t *c;
    int rc;
    if (!g || !out)
        return GPUSIM_EINVAL;
    if (g->next_ctx_id == UINT32_MAX)
        return GPUSIM_ENOMEM; /* ids are never reused */
    c = gpusim__arena_zalloc(&g->world->arena, sizeof *c);
    if (!c)
        return GPUSIM_ENOMEM;
    rc = gpusim__gpu_pt_new(g->world, g->vram, g->next_ctx_id, g->prefix, &c->pt);
    if (rc) {
        gpusim__arena_free(&g->world->arena, c, sizeof *c);
        return rc;
    }
    gpusim__world_disown(&c->pt->owned);
    g->next_ctx_id++;
    c->gpu = g;
    c->data = data;
    c->prev = g->ctx_tail;
    if (g->ctx_tail)
        g->ctx_tail->next = c;
    else
        g->ctx_head = c;
    g->ctx_tail = c;
    *out = c;
    return 0;
}

void gpusim_gpu_ctx_free(gpusim_gpu_ctx_t *c)
{
    if (!c)
        return;
    /* No TLB may keep an entry for a context that is gone (the id is never reused, but the
     * entries would still take ways). */
    (void)gpusim__gpu_tlb_inval_context(c->gpu->tlb, c->pt->ctx);
    gpusim__gpu_cp_ctx_free(c);
    gpusim__gpu_engines_ctx_gone(c);
    gpusim__gpu_ctx_faults_end(c);
    ctx_release(c);
}

uint32_t gpusim_gpu_ctx_id(const gpusim_gpu_ctx_t *c)
{
    return c ? c->pt->ctx : 0;
}

void *gpusim_gpu_ctx_data(const gpusim_gpu_ctx_t *c)
{
    return c ? c->data : NULL;
}

gpusim_gpu_t *gpusim_gpu_ctx_gpu(const gpusim_gpu_ctx_t *c)
{
    return c ? c->gpu : NULL;
}

/* ---- page tables ---------------------------------------------------------------------------- */

/* Public flags to entry bits; UINT64_MAX for unknown flags. */
static uint64_t entry_bits(unsigned flags, unsigned allowed)
{
    uint64_t bits = 0;
    if (flags & ~allowed)
        return UINT64_MAX;
    if (flags & GPUSIM_GPU_READ)
        bits |= GPUSIM__GPU_PTE_READ;
    if (flags & GPUSIM_GPU_WRITE)
        bits |= GPUSIM__GPU_PTE_WRITE;
    if (flags & GPUSIM_GPU_SYSTEM)
        bits |= GPUSIM__GPU_PTE_SYSTEM;
    return bits;
}

/* Reports the cost of `writes` entry writes through cost (may be NULL) when rc is 0. Callers
 * compute rc first: argument evaluation order is unspecified, and writes is an output of it. */
/*
 * A page-table or TLB change, described for the engines' window (gpu/engine_memo.c): the same
 * operation with the same arguments, at the same offset from a kernel's start, hashes the same.
 */
enum {
    CHANGE_MAP = 1,
    CHANGE_UNMAP,
    CHANGE_PROTECT,
    CHANGE_INVAL,
    CHANGE_INVAL_CTX,
    CHANGE_INVAL_ALL
};

static uint64_t change_id(unsigned op, const gpusim_gpu_ctx_t *c, uint64_t va, uint64_t len,
                          uint64_t bits)
{
    uint64_t h = gpusim__mix64(op ^ (c ? (uint64_t)gpusim_gpu_ctx_id(c) << 8 : 0));
    h = gpusim__mix64(h ^ va);
    h = gpusim__mix64(h ^ len);
    return gpusim__mix64(h ^ bits);
}

static int report(const gpusim_gpu_ctx_t *c, int rc, uint64_t writes, gpusim_time_t *cost)
{
    if (rc == 0 && cost)
        *cost = writes * c->gpu->p[GPUSIM__GPU_P_pte_update_per_4k];
    return rc;
}

int gpusim_gpu_map(gpusim_gpu_ctx_t *c, uint64_t va, uint64_t len, const uint64_t *frames,
                   unsigned flags, gpusim_time_t *cost)
{
    uint64_t bits = entry_bits(flags, GPUSIM_GPU_READ | GPUSIM_GPU_WRITE | GPUSIM_GPU_SYSTEM);
    uint64_t writes = 0;
    int rc;
    if (!c || bits == UINT64_MAX)
        return GPUSIM_EINVAL;
    rc = gpusim__gpu_pt_map(c->pt, va, len, frames, bits, &writes);
    if (rc == 0) {
        uint64_t id = change_id(CHANGE_MAP, c, va, len, bits);
        for (uint64_t i = 0; i < len >> GPUSIM__GPU_PAGE_SHIFT; i++)
            id = gpusim__mix64(id ^ frames[i]);
        gpusim__gpu_engines_change(c->gpu, id);
    }
    return report(c, rc, writes, cost);
}

int gpusim_gpu_unmap(gpusim_gpu_ctx_t *c, uint64_t va, uint64_t len, gpusim_time_t *cost)
{
    uint64_t writes = 0;
    int rc;
    if (!c)
        return GPUSIM_EINVAL;
    rc = gpusim__gpu_pt_unmap(c->pt, va, len, &writes);
    if (rc == 0)
        gpusim__gpu_engines_change(c->gpu, change_id(CHANGE_UNMAP, c, va, len, 0));
    return report(c, rc, writes, cost);
}

int gpusim_gpu_protect(gpusim_gpu_ctx_t *c, uint64_t va, uint64_t len, unsigned perms,
                       gpusim_time_t *cost)
{
    uint64_t bits = entry_bits(perms, GPUSIM_GPU_READ | GPUSIM_GPU_WRITE);
    uint64_t writes = 0;
    int rc;
    if (!c || bits == UINT64_MAX)
        return GPUSIM_EINVAL;
    rc = gpusim__gpu_pt_protect(c->pt, va, len, bits, &writes);
    if (rc == 0)
        gpusim__gpu_engines_change(c->gpu, change_id(CHANGE_PROTECT, c, va, len, bits));
    return report(c, rc, writes, cost);
}

int gpusim_gpu_translate(const gpusim_gpu_ctx_t *c, uint64_t va, gpusim_gpu_pte_t *out)
{
    gpusim__gpu_pt_walk w;
    if (!c || !out)
        return GPUSIM_EINVAL;
    if (va >= GPUSIM_GPU_VA_END)
        return GPUSIM_EFAULT;
    memset(out, 0, sizeof *out);
    if (!gpusim__gpu_pt_walk_va(c->pt, va, &w))
        return 0;
    out->valid = true;
    out->flags = ((w.pte & GPUSIM__GPU_PTE_READ) ? GPUSIM_GPU_READ : 0) |
                 ((w.pte & GPUSIM__GPU_PTE_WRITE) ? GPUSIM_GPU_WRITE : 0) |
                 ((w.pte & GPUSIM__GPU_PTE_SYSTEM) ? GPUSIM_GPU_SYSTEM : 0);
    out->frame = w.pa >> GPUSIM__GPU_PAGE_SHIFT;
    out->page_size = w.size;
    return 0;
}

/* ---- TLB invalidation ----------------------------------------------------------------------- */

int gpusim_gpu_tlb_invalidate(gpusim_gpu_ctx_t *c, uint64_t va, uint64_t len, gpusim_time_t *cost)
{
    uint64_t ns = 0;
    int rc;
    if (!c)
        return GPUSIM_EINVAL;
    rc = gpusim__gpu_tlb_inval_range(c->gpu->tlb, c->pt->ctx, va, len, &ns);
    if (rc == 0)
        gpusim__gpu_engines_change(c->gpu, change_id(CHANGE_INVAL, c, va, len, 0));
    if (rc == 0 && cost)
        *cost = ns;
    return rc;
}

int gpusim_gpu_tlb_invalidate_ctx(gpusim_gpu_ctx_t *c, gpusim_time_t *cost)
{
    uint64_t ns;
    if (!c)
        return GPUSIM_EINVAL;
    ns = gpusim__gpu_tlb_inval_context(c->gpu->tlb, c->pt->ctx);
    gpusim__gpu_engines_change(c->gpu, change_id(CHANGE_INVAL_CTX, c, 0, 0, 0));
    if (cost)
        *cost = ns;
    return 0;
}

int gpusim_gpu_tlb_invalidate_all(gpusim_gpu_t *g, gpusim_time_t *cost)
{
    uint64_t ns;
    if (!g)
        return GPUSIM_EINVAL;
    ns = gpusim__gpu_tlb_inval_global(g->tlb);
    gpusim__gpu_engines_change(g, change_id(CHANGE_INVAL_ALL, NULL, 0, 0, 0));
    if (cost)
        *cost = ns;
    return 0;
}

/* ---- address traces ------------------------------------------------------------------------- */

int gpusim_gpu_trace_load(gpusim_gpu_t *g, const char *text, size_t len, uint32_t *id, char *msg,
                          size_t msglen)
{
    gpusim__gpu_trace *t;
    int rc;
    if (msg && msglen)
        msg[0] = '\0';
    if (!g || !id || (!text && len))
        return GPUSIM_EINVAL;
    if (g->ntraces >= UINT32_MAX - 1)
        return GPUSIM_ENOMEM;
    /* Parse first: text that is refused must not grow the device's table either. */
    rc = gpusim__gpu_trace_parse(&g->world->arena, text, len, &t, msg, msglen);
    if (rc)
        return rc;
    if (g->ntraces == g->traces_cap &&
        gpusim__arena_grow(&g->world->arena, (void **)&g->traces, &g->traces_cap, g->ntraces + 1,
                           sizeof *g->traces)) {
        gpusim__gpu_trace_free(&g->world->arena, t);
        return GPUSIM_ENOMEM;
    }
    g->traces[g->ntraces++] = t;
    *id = (uint32_t)g->ntraces;
    return 0;
}

const gpusim__gpu_trace *gpusim__gpu_trace_get(const gpusim_gpu_t *g, uint32_t id)
{
    return id >= 1 && id <= g->ntraces ? g->traces[id - 1] : NULL;
}
