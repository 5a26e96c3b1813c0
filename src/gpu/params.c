/*
 * gpu/params.c -- the GPU parameter descriptors, expanded from GPUSIM_GPU_PARAM_MAP (params.h).
 */
#include "gpu/params.h"

const gpusim__param_desc gpusim__gpu_param_desc[GPUSIM__GPU_P_COUNT] = {
    GPUSIM_GPU_PARAM_MAP(GPUSIM__PARAM_DESC)};

void gpusim__gpu_params_defaults(uint64_t *values)
{
    gpusim__param_defaults(gpusim__gpu_param_desc, GPUSIM__GPU_P_COUNT, values);
}
