/* result_json.c -- stub, being written. */
#include "sim.h"
int sim_results_write_json(FILE *f, const sim_result *recs, size_t n)
{
    (void)f;
    (void)recs;
    (void)n;
    return GPUSIM_ENOSYS;
}
int sim_results_read_json(const char *path, sim_result **recs, size_t *n, char *err, size_t errlen)
{
    (void)path;
    (void)recs;
    (void)n;
    (void)err;
    (void)errlen;
    return GPUSIM_ENOSYS;
}
