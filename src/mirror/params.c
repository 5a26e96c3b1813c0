/*
 * mirror/params.c -- the driver policies' parameter table (mirror/mirror.h) expanded into
 * descriptors, and the by-name configuration of gpusim/mirror.h.
 */
#include <string.h>

#include "mirror/mirror.h"

_Static_assert(GPUSIM__DP_COUNT <= GPUSIM_DRIVER_PARAM_SLOTS, "driver parameters fit the config");

const gpusim__param_desc gpusim__driver_param_desc[GPUSIM__DP_COUNT] = {
    GPUSIM_DRIVER_PARAM_MAP(GPUSIM__PARAM_DESC)};

void gpusim_driver_config_init(gpusim_driver_config_t *cfg, gpusim_policy_t policy)
{
    if (!cfg)
        return;
    memset(cfg, 0, sizeof *cfg);
    cfg->policy = policy;
    cfg->name = NULL;
    gpusim__param_defaults(gpusim__driver_param_desc, GPUSIM__DP_COUNT, cfg->params_);
}

int gpusim_driver_config_set(gpusim_driver_config_t *cfg, const char *name, const char *value,
                             bool force, char *msg, size_t msglen)
{
    return gpusim__param_set(gpusim__driver_param_desc, GPUSIM__DP_COUNT, cfg ? cfg->params_ : NULL,
                             "driver", name, value, force, msg, msglen);
}

int gpusim_driver_config_get(const gpusim_driver_config_t *cfg, const char *name, uint64_t *value)
{
    return gpusim__param_get(gpusim__driver_param_desc, GPUSIM__DP_COUNT, cfg ? cfg->params_ : NULL,
                             name, value);
}

int gpusim_driver_param_info(size_t i, gpusim_param_info_t *out)
{
    return gpusim__param_info(gpusim__driver_param_desc, GPUSIM__DP_COUNT, i, out);
}

static const char *const policy_names[GPUSIM_POLICY_COUNT] = {
#define GPUSIM__POLICY_NAME(NAME, name) name,
    GPUSIM_POLICY_MAP(GPUSIM__POLICY_NAME)
#undef GPUSIM__POLICY_NAME
};

const char *gpusim_policy_name(gpusim_policy_t policy)
{
    return (unsigned)policy < GPUSIM_POLICY_COUNT ? policy_names[policy] : "?";
}

int gpusim_policy_from_name(const char *name, gpusim_policy_t *out)
{
    if (!name || !out)
        return GPUSIM_EINVAL;
    for (unsigned i = 0; i < GPUSIM_POLICY_COUNT; i++)
        if (strcmp(name, policy_names[i]) == 0) {
            *out = (gpusim_policy_t)i;
            return 0;
        }
    return GPUSIM_ENOENT;
}
