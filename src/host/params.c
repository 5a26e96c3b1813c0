/*
 * host/params.c -- the host's configuration: defaults, named cost parameters, their descriptions.
 *
 * The parameter table (GPUSIM_HOST_PARAM_MAP in host.h) is the only place a host cost is written;
 * this file expands it into descriptors and serves the public by-name interface.
 */
#include <string.h>

#include "host/host.h"

const gpusim__param_desc gpusim__host_param_desc[HP_COUNT] = {
    GPUSIM_HOST_PARAM_MAP(GPUSIM__PARAM_DESC)};

_Static_assert(HP_COUNT <= GPUSIM_HOST_PARAM_SLOTS, "host parameters fit in the config");

void gpusim_host_config_init(gpusim_host_config_t *cfg)
{
    if (!cfg)
        return;
    memset(cfg, 0, sizeof *cfg);
    cfg->ram_bytes = GPUSIM_GIB;
    cfg->swap_bytes = GPUSIM_GIB;
    cfg->nodes = 1;
    cfg->thp = GPUSIM_THP_MADVISE;
    cfg->khugepaged = true;
    cfg->mirror_aging = true;
    gpusim__param_defaults(gpusim__host_param_desc, HP_COUNT, cfg->params_);
}

int gpusim_host_config_set(gpusim_host_config_t *cfg, const char *name, const char *value,
                           bool force, char *msg, size_t msglen)
{
    return gpusim__param_set(gpusim__host_param_desc, HP_COUNT, cfg ? cfg->params_ : NULL, "host",
                             name, value, force, msg, msglen);
}

int gpusim_host_config_get(const gpusim_host_config_t *cfg, const char *name, uint64_t *value)
{
    return gpusim__param_get(gpusim__host_param_desc, HP_COUNT, cfg ? cfg->params_ : NULL, name,
                             value);
}

int gpusim_host_param_info(size_t i, gpusim_param_info_t *out)
{
    return gpusim__param_info(gpusim__host_param_desc, HP_COUNT, i, out);
}
