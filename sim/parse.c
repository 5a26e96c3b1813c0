/* parse.c -- stub, being written. */
#include "sim.h"
int sim_scenario_parse_file(const char *path, sim_scenario *out, char *err, size_t errlen)
{
    (void)path;
    (void)out;
    (void)err;
    (void)errlen;
    return GPUSIM_ENOSYS;
}
int sim_scenario_parse_text(const char *name, const char *text, sim_scenario *out, char *err,
                            size_t errlen)
{
    (void)name;
    (void)text;
    (void)out;
    (void)err;
    (void)errlen;
    return GPUSIM_ENOSYS;
}
int sim_scenario_apply(sim_scenario *s, const char *preset, const sim_setting *sets, size_t nsets,
                       char *err, size_t errlen)
{
    (void)s;
    (void)preset;
    (void)sets;
    (void)nsets;
    (void)err;
    (void)errlen;
    return GPUSIM_ENOSYS;
}
