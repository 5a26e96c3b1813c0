/*
 * gpu/params.c -- the GPU parameter descriptors, expanded from GPUSIM_GPU_PARAM_MAP (params.h).
 */
#include "gpu/params.h"
#include "gpu/faultbuf.h"
#include "gpu/tlb.h"

const gpusim__param_desc gpusim__gpu_param_desc[GPUSIM__GPU_P_COUNT] = {
    GPUSIM_GPU_PARAM_MAP(GPUSIM__PARAM_DESC)};

void gpusim__gpu_params_defaults(uint64_t *values)
{
    gpusim__param_defaults(gpusim__gpu_param_desc, GPUSIM__GPU_P_COUNT, values);
}

bool gpusim__gpu_params_ok(const uint64_t *p, unsigned engines)
{
    if (p[GPUSIM__GPU_P_vram_size] < GPUSIM__GPU_PAGE_SIZE || p[GPUSIM__GPU_P_compute_units] == 0 ||
        p[GPUSIM__GPU_P_hbm_bw] == 0 || p[GPUSIM__GPU_P_pcie_h2d_pinned] == 0 ||
        p[GPUSIM__GPU_P_pcie_d2h_pinned] == 0 || p[GPUSIM__GPU_P_engine_quantum] == 0 ||
        p[GPUSIM__GPU_P_fault_batch_max] == 0)
        return false;
    if (p[GPUSIM__GPU_P_fault_buffer_entries] == 0 ||
        p[GPUSIM__GPU_P_fault_buffer_entries] > GPUSIM__GPU_FAULTBUF_MAX_ENTRIES ||
        p[GPUSIM__GPU_P_fault_outstanding_per_utlb] == 0 ||
        p[GPUSIM__GPU_P_fault_outstanding_per_utlb] > GPUSIM__GPU_FAULTBUF_MAX_LIMIT ||
        p[GPUSIM__GPU_P_fault_replay_policy] < GPUSIM__GPU_REPLAY_BATCH ||
        p[GPUSIM__GPU_P_fault_replay_policy] > GPUSIM__GPU_REPLAY_ONCE ||
        engines > GPUSIM__GPU_FAULTBUF_MAX_UTLBS)
        return false;
    return gpusim__gpu_tlb_params_ok(p);
}
