/* run.c -- stub, being written. */
#include "sim.h"
int sim_run(const sim_scenario *s, gpusim_policy_t policy, uint64_t seed, const sim_run_opts *opts,
            sim_result *out)
{
    (void)s;
    (void)policy;
    (void)seed;
    (void)opts;
    (void)out;
    return GPUSIM_ENOSYS;
}
