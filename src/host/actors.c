/*
 * host/actors.c -- the host's kernel actors, created and destroyed together: kswapd and the OOM
 * reaper (reclaim.c, oom.c) and khugepaged (migrate.c).
 */
#include "host/host.h"

int gpusim__actors_init(gpusim_host_t *h)
{
    int rc = gpusim__reclaim_init(h);
    if (rc == 0)
        rc = gpusim__khugepaged_init(h);
    return rc;
}

void gpusim__actors_destroy(gpusim_host_t *h)
{
    gpusim__khugepaged_destroy(h);
    gpusim__reclaim_destroy(h);
}

bool gpusim__actors_busy(const gpusim_host_t *h)
{
    return gpusim__reclaim_busy(h) || gpusim__khugepaged_busy(h);
}
