/*
 * core/completion.h -- what other modules need of completions beyond the public API. Internal.
 */
#ifndef GPUSIM_CORE_COMPLETION_H
#define GPUSIM_CORE_COMPLETION_H

#include "gpusim.h"

/*
 * Queues `waiter` on a completion that is not done, spending one reservation the caller took
 * earlier with gpusim__queue_reserve() (it becomes the waiter's). Cannot fail. The waiter must be
 * idle, and the completion's other waiters must be in the same world.
 */
void gpusim__completion_enqueue(gpusim_world_t *w, gpusim_completion_t *c, gpusim_waiter_t *waiter,
                                gpusim_waiter_cb cb, void *data);

#endif /* GPUSIM_CORE_COMPLETION_H */
