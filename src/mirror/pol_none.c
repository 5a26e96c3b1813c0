/*
 * mirror/pol_none.c -- the policy `none`: a deliberately broken driver (design brief §1).
 *
 * At each submission it looks the pages of the job's buffers up (the hmm_range_fault walk,
 * faulting them in) and maps them, but it neither pins them nor subscribes to changes: when the
 * host unmaps, migrates or reclaims a page, the GPU keeps the old translation. It exists to prove
 * that the coherence checker can fail: under host activity it must report use-after-free.
 */
#include "mirror/mirror.h"

static gpusim_notifier_answer_t
none_invalidate(gpusim_buffer_t *b, const gpusim_notifier_range_t *r, gpusim_completion_t **wait_on)
{
    (void)b;
    (void)r;
    (void)wait_on;
    return GPUSIM_NOTIFIER_DONE; /* never called: it does not subscribe */
}

const gpusim__policy_ops gpusim__pol_none = {
    .subscribes = false,
    .prepare = gpusim__job_validate,
    .invalidate = none_invalidate,
};
