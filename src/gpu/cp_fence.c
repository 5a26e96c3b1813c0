/*
 * gpu/cp_fence.c -- the device's fence table and its public API: fences named by handles, host
 * signals and host-side waits with a timeout (gpusim/gpu.h, "Fences").
 *
 * A fence is a gpu/fence.h timeline; the table maps handles to fences. Handles are given in
 * increasing order and never reused, so the table, an array of pointers in creation order, is
 * sorted by handle and a lookup (every FENCE_SIGNAL and FENCE_WAIT packet does one) is a binary
 * search. A packet naming a freed handle therefore finds nothing rather than a newer fence.
 *
 * A host waiter (gpusim_gpu_fence_waiter_t) holds the device's own fence waiter in private
 * storage and is kept on the device's list while it waits, so that freeing the device can stop it
 * (its callback then never runs) even when it is woken and its wake-up event is still pending.
 *
 * Invariants (gpusim__gpu_cp_fences_check): handles strictly increase along the table and are
 * below next_handle (unless every handle was used); every fence passes gpusim__gpu_fence_check,
 * and its value is not below the one the previous check recorded in `seen` (fence monotonicity
 * between checks: the check's only write);
 * every listed host waiter is waiting and names this device.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "gpu/cp.h"
#include "gpu/device.h"
#include "core/alloc.h"
#include "core/compiler.h"

_Static_assert(sizeof(gpusim__gpu_fence_waiter) <= sizeof(((gpusim_gpu_fence_waiter_t *)0)->impl_),
               "GPUSIM_GPU_FENCE_WAITER_WORDS holds the device's fence waiter");
_Static_assert(_Alignof(gpusim__gpu_fence_waiter) <= _Alignof(uint64_t),
               "the storage is aligned for the device's fence waiter");

static gpusim__gpu_fence_waiter *impl(gpusim_gpu_fence_waiter_t *hw)
{
    return (gpusim__gpu_fence_waiter *)(void *)hw->impl_;
}

/* Index of the first fence whose handle is >= `handle`. */
static size_t lower_bound(const gpusim__gpu_cp *cp, uint32_t handle)
{
    size_t lo = 0, hi = cp->nfences;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp->fences[mid]->handle < handle)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

gpusim__gpu_cp_fence *gpusim__gpu_cp_fence_find(const gpusim__gpu_cp *cp, uint32_t handle)
{
    size_t i = lower_bound(cp, handle);
    return i < cp->nfences && cp->fences[i]->handle == handle ? cp->fences[i] : NULL;
}

int gpusim_gpu_fence_new(gpusim_gpu_t *g, uint64_t initial, uint32_t *handle)
{
    gpusim__gpu_cp *cp;
    gpusim__gpu_cp_fence *f;
    if (!g || !handle)
        return GPUSIM_EINVAL;
    cp = g->cp;
    if (cp->next_handle == 0)
        return GPUSIM_ENOSPC; /* every handle was used: they are never reused */
    if (gpusim__arena_grow(&cp->world->arena, (void **)&cp->fences, &cp->capfences, cp->nfences + 1,
                           sizeof *cp->fences))
        return GPUSIM_ENOMEM;
    f = gpusim__arena_alloc(&cp->world->arena, sizeof *f);
    if (!f)
        return GPUSIM_ENOMEM;
    gpusim__gpu_fence_init(&f->f, initial);
    f->seen = initial;
    f->handle = cp->next_handle++;
    cp->fences[cp->nfences++] = f;
    *handle = f->handle;
    return 0;
}

int gpusim_gpu_fence_free(gpusim_gpu_t *g, uint32_t handle)
{
    gpusim__gpu_cp *cp;
    size_t i;
    if (!g)
        return GPUSIM_EINVAL;
    cp = g->cp;
    i = lower_bound(cp, handle);
    if (i == cp->nfences || cp->fences[i]->handle != handle)
        return GPUSIM_ENOENT;
    if (cp->fences[i]->f.waiters.count != 0)
        return GPUSIM_EBUSY;
    gpusim__arena_free(&cp->world->arena, cp->fences[i], sizeof *cp->fences[i]);
    memmove(&cp->fences[i], &cp->fences[i + 1], (cp->nfences - i - 1) * sizeof *cp->fences);
    cp->nfences--;
    return 0;
}

int gpusim_gpu_fence_value(const gpusim_gpu_t *g, uint32_t handle, uint64_t *value, int *error)
{
    const gpusim__gpu_cp_fence *f;
    if (!g)
        return GPUSIM_EINVAL;
    f = gpusim__gpu_cp_fence_find(g->cp, handle);
    if (!f)
        return GPUSIM_ENOENT;
    if (value)
        *value = f->f.value;
    if (error)
        *error = f->f.error;
    return 0;
}

int gpusim_gpu_fence_signal(gpusim_gpu_t *g, uint32_t handle, uint64_t value)
{
    gpusim__gpu_cp_fence *f;
    if (!g)
        return GPUSIM_EINVAL;
    f = gpusim__gpu_cp_fence_find(g->cp, handle);
    if (!f)
        return GPUSIM_ENOENT;
    return gpusim__gpu_fence_signal(g->world, &f->f, value);
}

/* ---- host waiters --------------------------------------------------------------------------- */

static void hw_unlink(gpusim__gpu_cp *cp, gpusim_gpu_fence_waiter_t *hw)
{
    if (hw->prev_)
        hw->prev_->next_ = hw->next_;
    else
        cp->hw_head = hw->next_;
    if (hw->next_)
        hw->next_->prev_ = hw->prev_;
    hw->prev_ = hw->next_ = NULL;
    hw->gpu_ = NULL;
}

void gpusim_gpu_fence_waiter_init(gpusim_gpu_fence_waiter_t *hw)
{
    if (!hw)
        return;
    memset(hw, 0, sizeof *hw);
    gpusim__gpu_fence_waiter_init(impl(hw));
}

static void hw_woken(gpusim_world_t *w, gpusim__gpu_fence_waiter *iw, int status)
{
    gpusim_gpu_fence_waiter_t *hw = iw->data;
    (void)w;
    hw_unlink(hw->gpu_->cp, hw);
    hw->cb_(hw, status); /* last: it may free the device */
}

int gpusim_gpu_fence_wait(gpusim_gpu_t *g, uint32_t handle, uint64_t value,
                          gpusim_gpu_fence_waiter_t *hw, gpusim_gpu_fence_cb cb, void *data,
                          gpusim_time_t timeout)
{
    gpusim__gpu_cp_fence *f;
    gpusim__gpu_cp *cp;
    int rc;
    if (!g || !hw || !cb)
        return GPUSIM_EINVAL;
    cp = g->cp;
    f = gpusim__gpu_cp_fence_find(cp, handle);
    if (!f)
        return GPUSIM_ENOENT;
    if (hw->gpu_)
        return GPUSIM_EBUSY;
    hw->data = data;
    rc = gpusim__gpu_fence_wait(g->world, &f->f, value, impl(hw), hw_woken, hw, timeout);
    if (rc != GPUSIM_EINPROGRESS)
        return rc;
    hw->cb_ = cb;
    hw->gpu_ = g;
    hw->prev_ = NULL;
    hw->next_ = cp->hw_head;
    if (cp->hw_head)
        cp->hw_head->prev_ = hw;
    cp->hw_head = hw;
    return rc;
}

int gpusim_gpu_fence_waiter_cancel(gpusim_gpu_fence_waiter_t *hw)
{
    if (!hw)
        return GPUSIM_EINVAL;
    if (!hw->gpu_)
        return GPUSIM_ENOENT;
    (void)gpusim__gpu_fence_waiter_cancel(hw->gpu_->world, impl(hw));
    hw_unlink(hw->gpu_->cp, hw);
    return 0;
}

/* ---- life cycle and checker ----------------------------------------------------------------- */

void gpusim__gpu_cp_fences_destroy(gpusim__gpu_cp *cp)
{
    while (cp->hw_head) {
        gpusim_gpu_fence_waiter_t *hw = cp->hw_head;
        (void)gpusim__gpu_fence_waiter_cancel(cp->world, impl(hw));
        hw_unlink(cp, hw);
    }
    for (size_t i = 0; i < cp->nfences; i++)
        gpusim__arena_free(&cp->world->arena, cp->fences[i], sizeof *cp->fences[i]);
    gpusim__arena_free(&cp->world->arena, cp->fences, cp->capfences * sizeof *cp->fences);
    cp->fences = NULL;
    cp->nfences = cp->capfences = 0;
}

bool gpusim__gpu_cp_fences_check(const gpusim__gpu_cp *cp, char *buf, size_t len)
{
    for (size_t i = 0; i < cp->nfences; i++) {
        const gpusim__gpu_cp_fence *f = cp->fences[i];
        if (f->handle == 0 || (i > 0 && cp->fences[i - 1]->handle >= f->handle) ||
            (cp->next_handle != 0 && f->handle >= cp->next_handle)) {
            snprintf(buf, len, "%s: fence table out of order at handle %u", cp->gpu->name,
                     f->handle);
            return false;
        }
        if (!gpusim__gpu_fence_check(cp->world, &f->f)) {
            snprintf(buf, len, "%s: fence %u inconsistent", cp->gpu->name, f->handle);
            return false;
        }
        /* Monotonicity across checks (run after every event by the soak): the one field a check
         * writes, the checker's own record, so checking never changes the simulation. */
        if (f->f.value < f->seen) {
            snprintf(buf, len, "%s: fence %u went back from %" PRIu64 " to %" PRIu64, cp->gpu->name,
                     f->handle, f->seen, f->f.value);
            return false;
        }
        cp->fences[i]->seen = f->f.value;
    }
    for (const gpusim_gpu_fence_waiter_t *hw = cp->hw_head; hw; hw = hw->next_)
        if (hw->gpu_ != cp->gpu || (hw->next_ && hw->next_->prev_ != hw) ||
            !gpusim__gpu_fence_waiter_waiting(
                (const gpusim__gpu_fence_waiter *)(const void *)hw->impl_)) {
            snprintf(buf, len, "%s: host fence waiter list inconsistent", cp->gpu->name);
            return false;
        }
    return true;
}
