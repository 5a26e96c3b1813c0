/*
 * host/params.c -- the host's configuration: defaults, named cost parameters, their descriptions.
 *
 * The parameter table (GPUSIM_HOST_PARAM_MAP in host.h) is the only place a host cost is written;
 * this file expands it into descriptors and serves the public by-name interface.
 */
#include <stdio.h>
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
    uint64_t v;
    long i;
    int rc;
    if (msg && msglen)
        msg[0] = '\0';
    if (!cfg || !name || !value)
        return GPUSIM_EINVAL;
    i = gpusim__param_find(gpusim__host_param_desc, HP_COUNT, name);
    if (i < 0) {
        if (msg)
            snprintf(msg, msglen, "no host parameter named \"%s\"", name);
        return GPUSIM_ENOENT;
    }
    rc = gpusim__param_parse(&gpusim__host_param_desc[i], value, force, &v, msg, msglen);
    if (rc == 0)
        cfg->params_[i] = v;
    return rc;
}

int gpusim_host_config_get(const gpusim_host_config_t *cfg, const char *name, uint64_t *value)
{
    long i;
    if (!cfg || !name || !value)
        return GPUSIM_EINVAL;
    i = gpusim__param_find(gpusim__host_param_desc, HP_COUNT, name);
    if (i < 0)
        return GPUSIM_ENOENT;
    *value = cfg->params_[i];
    return 0;
}

int gpusim_host_param_info(size_t i, gpusim_param_info_t *out)
{
    static const char *const units[] = {"ns", "bytes", "bytes/s", "count", "percent", "bool"};
    const gpusim__param_desc *d;
    if (!out)
        return GPUSIM_EINVAL;
    if (i >= HP_COUNT)
        return GPUSIM_ENOENT;
    d = &gpusim__host_param_desc[i];
    out->name = d->name;
    out->unit = units[d->unit];
    out->def = d->def;
    out->min = d->min;
    out->max = d->max;
    out->tag = d->tag;
    out->source = d->source;
    return 0;
}
