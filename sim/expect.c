/* expect.c -- stub, being written. */
#include "sim.h"
int sim_expect_parse(const char *text, sim_expect *e, char *err, size_t errlen)
{
    (void)text;
    (void)e;
    (void)err;
    (void)errlen;
    return GPUSIM_ENOSYS;
}
void sim_expect_eval(sim_result *recs, size_t n)
{
    (void)recs;
    (void)n;
}
