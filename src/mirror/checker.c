/*
 * mirror/checker.c -- the coherence checker: every GPU access of a driver's context against the
 * host's truth (design brief §7; docs/mirror.md "The checker").
 *
 * For an access to va through host frame F (the translation the GPU actually used, possibly from
 * a stale TLB entry):
 *   use-after-free  F is free now, or F's generation differs from the one recorded when the
 *                   driver wrote the translation (F was freed, and perhaps reused, since);
 *   stale           otherwise, if the CPU page table does not map va to F now. The host changes a
 *                   page table only after every subscriber's callback has returned (the shim's
 *                   protocol), so "no longer mapped" already implies "announced and acknowledged"
 *                   for a subscribing policy, and "completed" for one that does not subscribe.
 * In data mode a violating read also compares F's bytes with the CPU's frame at va.
 *
 * The host's watch (notifier/notifier.h) tells the checker of each change once it is made: it
 * records the change against the buffers it overlaps (for the violation report) and disturbs the
 * GPU's steady-state fast-forward, so that the passes after a change are simulated access by
 * access -- and checked -- instead of being charged at the rate of the passes before it. Passes
 * fast-forwarded later repeat the translations of a checked pass; they are not counted again.
 */
#include <string.h>

#include "mirror/mirror.h"

static const gpusim__change *last_change(const gpusim_buffer_t *b, uint64_t va)
{
    const gpusim__change *best = NULL;
    unsigned n = GPUSIM_MIN(b->nchanges, BUF_CHANGES);
    for (unsigned k = 0; k < n; k++) {
        const gpusim__change *c = &b->changes[k];
        if (va >= c->start && va < c->end && (!best || c->time >= best->time))
            best = c;
    }
    return best;
}

static void record(gpusim_driver_t *d, const gpusim_buffer_t *b, gpusim_violation_kind_t kind,
                   uint64_t va, uint64_t pfn, bool write)
{
    gpusim_violation_t *v;
    const gpusim__change *c;
    gpusim__stat_add(kind == GPUSIM_VIOLATION_USE_AFTER_FREE ? d->st.uaf : d->st.stale, 1);
    if (d->nviol >= GPUSIM_DRIVER_VIOLATIONS_KEPT)
        return;
    v = &d->viol[d->nviol++];
    memset(v, 0, sizeof *v);
    v->kind = kind;
    v->va = va & ~(GPUSIM__MPAGE - 1);
    v->pfn = pfn;
    v->write = write;
    v->time = drv_now(d);
    c = last_change(b, va);
    if (c) {
        v->changed_at = c->time;
        v->event = c->event;
        v->by = c->by;
    }
}

/* Data mode: do the bytes of the frame the GPU read differ from the CPU's view of va? */
static bool data_differs(const gpusim_driver_t *d, uint64_t pfn, const gpusim_host_pte_t *cpu)
{
    uint8_t a[256], b[256];
    if (!d->host->cfg.data_mode || !cpu->present)
        return false;
    for (uint32_t off = 0; off < GPUSIM__MPAGE; off += sizeof a) {
        if (gpusim_host_frame_read(d->host, pfn, off, a, sizeof a) ||
            gpusim_host_frame_read(d->host, cpu->pfn, off, b, sizeof b))
            return false;
        if (memcmp(a, b, sizeof a) != 0)
            return true;
    }
    return false;
}

void gpusim__check_access(gpusim_driver_t *d, uint64_t va, bool write, const gpusim_gpu_access_t *a)
{
    const gpusim_host_t *h = d->host;
    gpusim_buffer_t *b;
    const gpusim__shadow *s;
    gpusim_host_pte_t cpu;
    uint64_t pfn;
    bool uaf;
    gpusim__stat_add(d->st.checked, 1);
    if (!(a->flags & GPUSIM_GPU_SYSTEM))
        return; /* device memory: not the host's */
    pfn = a->pa / GPUSIM__MPAGE;
    if (pfn >= h->nframes)
        return;
    /* The host's internal views (host.h) rather than gpusim_host_frame_info and
     * gpusim_process_translate: the same answers without filling structures at every access. */
    b = gpusim__buf_find(d, va);
    s = b ? &b->sh[(va - b->va) / GPUSIM__MPAGE] : NULL;
    uaf = gpusim__frame_state(h, (uint32_t)pfn) == GPUSIM_FRAME_FREE;
    if (!uaf && s && (s->flags & SH_EVER) && s->pfn == pfn)
        uaf = s->gen != frame_of(h, (uint32_t)pfn)->gen;
    if (uaf) {
        record(d, b, GPUSIM_VIOLATION_USE_AFTER_FREE, va, pfn, write);
        return;
    }
    if (d->proc->state != GPUSIM_PROCESS_DEAD && va < GPUSIM_HOST_VA_END) {
        bool huge;
        pte_t e = gpusim__pt_entry(&d->proc->pt, va, &huge);
        if (PTE_IS_PRESENT(e) &&
            PTE_PFN(e) + (huge ? (va >> HOST_PAGE_SHIFT) % HOST_HUGE_PAGES : 0) == pfn)
            return;
    }
    /* A violation (rare): the full translation, for the data comparison. */
    if (gpusim_process_translate(d->proc, va & ~(GPUSIM__MPAGE - 1), &cpu) != 0)
        memset(&cpu, 0, sizeof cpu); /* the process is gone: nothing maps va */
    record(d, b, GPUSIM_VIOLATION_STALE, va, pfn, write);
    if (!write && data_differs(d, pfn, &cpu))
        gpusim__stat_add(d->st.data_mismatch, 1);
}

void gpusim__check_changed(gpusim__notifier_watch *w, const gpusim_notifier_range_t *r)
{
    gpusim_driver_t *d = gpusim_container_of(w, gpusim_driver_t, watch);
    bool hit = false;
    if (r->end <= r->start)
        return;
    for (gpusim__itree_node *n = gpusim__itree_first(&d->bufs, r->start, r->end - 1); n;
         n = gpusim__itree_next(n, r->start, r->end - 1)) {
        gpusim_buffer_t *b = gpusim_container_of(n, gpusim_buffer_t, node);
        gpusim__change *c = &b->changes[b->nchanges++ % BUF_CHANGES];
        c->start = r->start;
        c->end = r->end;
        c->time = drv_now(d);
        c->event = r->event;
        c->by = r->invalidator;
        hit = true;
    }
    if (hit && d->p[GPUSIM__DP_check])
        gpusim__gpu_engines_disturb(d->gpu);
}

/* ---- invariants ----------------------------------------------------------------------------- */

#include <stdarg.h>
#include <stdio.h>

static GPUSIM_PRINTF(3, 4) int fail(char *msg, size_t msglen, const char *fmt, ...)
{
    va_list ap;
    if (msg && msglen) {
        va_start(ap, fmt);
        vsnprintf(msg, msglen, fmt, ap);
        va_end(ap);
    }
    return GPUSIM_ECORRUPT;
}

int gpusim_driver_check(const gpusim_driver_t *d, char *msg, size_t msglen)
{
    uint64_t pinned = 0, users;
    if (!d)
        return GPUSIM_EINVAL;
    if (msg && msglen)
        msg[0] = '\0';
    for (const gpusim_buffer_t *b = d->buf_head; b; b = b->next) {
        for (uint64_t i = 0; i < b->npages; i++) {
            gpusim_gpu_pte_t pte;
            const gpusim__shadow *s = &b->sh[i];
            uint64_t va = b->va + i * GPUSIM__MPAGE;
            (void)gpusim_gpu_translate(d->ctx, va, &pte);
            if (pte.valid != !!(s->flags & SH_MAPPED))
                return fail(msg, msglen, "buffer 0x%llx: page 0x%llx GPU entry %s, record %s",
                            (unsigned long long)b->va, (unsigned long long)va,
                            pte.valid ? "valid" : "absent",
                            s->flags & SH_MAPPED ? "mapped" : "not");
            if (pte.valid && (pte.frame != s->pfn || !(pte.flags & GPUSIM_GPU_SYSTEM) ||
                              !!(pte.flags & GPUSIM_GPU_WRITE) != !!(s->flags & SH_WRITE)))
                return fail(msg, msglen, "page 0x%llx: GPU maps frame %llu, record says %u",
                            (unsigned long long)va, (unsigned long long)pte.frame, s->pfn);
        }
        pinned += b->npinned;
        users = 0;
        for (const gpusim__job *j = d->pend_head; j; j = j->next)
            for (unsigned k = 0; k < j->desc.nbuffers; k++)
                users += j->desc.buffers[k] == b;
        for (const gpusim__job *j = d->run_head; j; j = j->next)
            for (unsigned k = 0; k < j->desc.nbuffers; k++)
                users += j->desc.buffers[k] == b;
        if (d->preparing)
            for (unsigned k = 0; k < d->preparing->desc.nbuffers; k++)
                users += d->preparing->desc.buffers[k] == b;
        if (users != b->users)
            return fail(msg, msglen, "buffer 0x%llx: %u users recorded, %llu jobs name it",
                        (unsigned long long)b->va, b->users, (unsigned long long)users);
    }
    for (const gpusim__job *j = d->run_head; j; j = j->next) {
        for (unsigned k = 0; k < j->desc.nbuffers; k++)
            if (j->pins[k])
                pinned += j->desc.buffers[k]->npages;
        if (j->next && j->next->seq <= j->seq)
            return fail(msg, msglen, "running jobs out of order");
    }
    if (d->preparing) /* buffers [0, step) are pinned; the pin of buffer `step` is in flight */
        for (unsigned k = 0; k < d->preparing->step && k < d->preparing->desc.nbuffers; k++)
            if (d->preparing->pins[k])
                pinned += d->preparing->desc.buffers[k]->npages;
    if (pinned != d->pinned_pages)
        return fail(msg, msglen, "%llu pages pinned by jobs and buffers, %llu counted",
                    (unsigned long long)pinned, (unsigned long long)d->pinned_pages);
    return 0;
}
