/*
 * mirror/pol_fence_wait.c -- the policy `fence-wait`: amdgpu's graphics userptr
 * (amdgpu_hmm_invalidate_gfx, amdgpu_cs.c; linux-semantics.md §5).
 *
 *   registration   an interval notifier over the buffer
 *   submission     walk every page of every buffer (hmm_range_fault), then under the lock check
 *                  read_retry for each, map what changed, and attach the job's fence
 *   invalidation   refuse a non-blockable range; otherwise mark the buffer invalid and wait --
 *                  blocking the invalidator -- until every job that uses the buffer has signalled
 *                  its fence (dma_resv_wait_timeout with MAX_SCHEDULE_TIMEOUT), then zap the PTEs
 *                  and invalidate the TLBs, and wait for that too
 *   GPU fault      not expected: the context is killed
 *
 * "Every job using the range" is every job written to the ring that names the buffer; they run
 * in order on one queue, so waiting for the newest (buf->last_seq) waits for all. A job being
 * prepared is not attached yet: its commit sees the collision and retries.
 */
#include "mirror/mirror.h"

static gpusim_notifier_answer_t fw_invalidate(gpusim_buffer_t *b, const gpusim_notifier_range_t *r,
                                              gpusim_completion_t **wait_on)
{
    if (!r->blockable)
        return GPUSIM_NOTIFIER_WOULD_BLOCK;
    b->invalid = true;
    return gpusim__wait_then_zap(b->drv, WAIT_SEQ, b->last_seq, b, r->start, r->end, r->invalidator,
                                 wait_on);
}

const gpusim__policy_ops gpusim__pol_fence_wait = {
    .subscribes = true,
    .prepare = gpusim__job_validate,
    .invalidate = fw_invalidate,
};
