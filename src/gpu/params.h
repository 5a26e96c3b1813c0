/*
 * gpu/params.h -- the GPU's named cost parameters (one table, core/param.h's shape). Internal.
 *
 * Every latency, size and geometry the translation model charges or uses is a row of
 * GPUSIM_GPU_PARAM_MAP: XX(field, UNIT, default, min, max, tag, "source"). The tag is the
 * confidence tag of ../shared/reference/cost-model.md §0 (R read, R2 secondary, C code constant,
 * D derived with the arithmetic shown, U estimate, S a simulator setting). The same table expands
 * into the index enum below and the descriptor array gpusim__gpu_param_desc[] (params.c), so a
 * default is written in exactly one place. No module of src/gpu/ writes a cost literal: it reads
 * values[GPUSIM__GPU_P_<field>] from an array the caller filled (gpusim__param_defaults, then any
 * overrides).
 *
 * The translation model (page tables, TLBs, VRAM), the fault buffer and the command processor
 * (cp_packet, preempt_save, queue_resume, queue_preempt_timeout) have theirs so far; the engines
 * add theirs when they are built. fault_buffer_entries,
 * fault_outstanding_per_utlb and fault_replay_policy configure gpu/faultbuf.c; fault_batch_max
 * and the fault_* costs are read by the device, which drives the buffer in virtual time.
 */
#ifndef GPUSIM_GPU_PARAMS_H
#define GPUSIM_GPU_PARAMS_H

#include "gpusim.h"
#include "core/param.h"

/* clang-format off */
#define GPUSIM_GPU_PARAM_MAP(XX)                                                                   \
    XX(vram_size, BYTES, 80 * GPUSIM_GIB, 16 * GPUSIM_MIB, GPUSIM_TIB, "R",                        \
       "H100 80 GB (cost-model.md §5.2, Scaleway docs PR #5834), taken as 80 GiB; H200 141 GB "    \
       "and MI300X 192 GB (§5.2) are within the range")                                            \
    XX(page_walk_level, NS, 125, 25, 375, "D",                                                     \
       "cost-model.md §9.2 gpu_page_walk 500 ns [U] (sweep 100-1500) for a walk that misses "      \
       "every page-walk cache; a 4K walk reads 4 table levels, so 500 / 4 = 125 ns per level "     \
       "read from memory (sweep 25-375)")                                                          \
    XX(tlb_l1_lookup, NS, 0, 0, 100, "S",                                                          \
       "an L1 TLB hit is part of the engine's memory access, which the engine charges; gem5's "    \
       "GPU L1 TLB hit is 1 cycle (anchors.md, configs/common/GPUTLBOptions.py [C])")              \
    XX(tlb_l2_lookup, NS, 40, 0, 500, "D",                                                         \
       "gem5 GPUTLBOptions.py: the 4096-entry second-level GPU TLB hits in 69 cycles [C] "         \
       "(anchors.md); 69 cycles at an assumed ~1.7 GHz clock = 40 ns; paid by every L1 miss")      \
    XX(tlb_inval_range, NS, 5 * GPUSIM_NS_PER_US, 2 * GPUSIM_NS_PER_US,                            \
       20 * GPUSIM_NS_PER_US, "U",                                                                 \
       "cost-model.md §9.2 gpu_tlb_inval 5 us [U] (sweep 2-20 us); §3: NVIDIA invalidate via "     \
       "push buffer + membar ~2-10 us [U]; a fixed round trip, independent of the range size")     \
    XX(tlb_inval_context, NS, 5 * GPUSIM_NS_PER_US, 2 * GPUSIM_NS_PER_US,                          \
       20 * GPUSIM_NS_PER_US, "U",                                                                 \
       "cost-model.md §9.2 gpu_tlb_inval 5 us [U] (sweep 2-20 us); no separate figure for a "      \
       "whole-context (PASID/VMID) invalidation")                                                  \
    XX(tlb_inval_global, NS, 5 * GPUSIM_NS_PER_US, 2 * GPUSIM_NS_PER_US,                           \
       20 * GPUSIM_NS_PER_US, "U",                                                                 \
       "cost-model.md §9.2 gpu_tlb_inval 5 us [U] (sweep 2-20 us); no separate figure for a "      \
       "global invalidation")                                                                      \
    XX(pte_update_per_4k, NS, 50, 20, 500, "U",                                                    \
       "cost-model.md §9.2 gpu_pte_update_per_4k 0.05 us [U] (sweep 0.02-0.5 us): CPU or copy "    \
       "engine writing one 8-byte entry; charged per entry a range operation writes")              \
    XX(tlb_l1_entries, COUNT, 16, 1, 65536, "D",                                                   \
       "cost-model.md §9.2 gpu_l1_tlb_reach 32 MiB ([R] Maxwell, [U] Hopper) / 2 MiB per entry "   \
       "= 16 entries; the same 16 as Mei & Chu's Fermi-Maxwell L1 TLB (§7, [U])")                  \
    XX(tlb_l1_ways, COUNT, 16, 1, 65536, "U",                                                      \
       "assumption, no figure in the cost model: fully associative, 16 ways = one set of 16 "      \
       "(set counts vary: MGPUSim's per-CU L1 is 4 sets x 64 ways, anchors.md [C])")               \
    XX(tlb_l2_entries, COUNT, 4096, 1, 1048576, "D",                                               \
       "cost-model.md §9.2 gpu_l2_tlb_reach 8 GiB ([U], Volta recollection) / 2 MiB per entry = "  \
       "4096 entries; gem5's second-level GPU TLB also has 4096 (anchors.md [C])")                 \
    XX(tlb_l2_ways, COUNT, 16, 1, 1048576, "C",                                                    \
       "Mosaic's shared L2 TLB is 16-way (anchors.md, CMU-SAFARI/Mosaic gpu-sim.cc); "             \
       "4096 / 16 = 256 sets")                                                                     \
    XX(pwc_entries, COUNT, 64, 1, 65536, "C",                                                      \
       "a 64-entry page-walk cache in gem5 Vega (VegaGPUTLB.py) and in Mosaic (anchors.md)")       \
    XX(pwc_ways, COUNT, 8, 1, 65536, "C",                                                          \
       "Mosaic's page-walk cache is 8-way (anchors.md); 64 / 8 = 8 sets")                          \
    XX(fault_buffer_entries, COUNT, 512, 1, 1048575, "C",                                          \
       "MacSim's fault buffer has 512 entries (cost-model.md §1.1, def/memory.param.def [C]). "    \
       "NVIDIA's replayable buffer size is a silicon reset value that drivers read from a "        \
       "register and no source states (nouveau gv100_fault_buffer_info / tu102_, RM "              \
       "kgmmuSetAndGetDefaultFaultBufferSize_TU102; a 20-bit field, hence the max); a "            \
       "third-party GSP emulator reports 6272 entries for a GA106 [W]")                            \
    XX(fault_batch_max, COUNT, 256, 1, 6144, "C",                                                  \
       "cost-model.md §1.1/§9.2: uvm_perf_fault_batch_count = 256 "                                \
       "(UVM_PERF_FAULT_BATCH_COUNT_DEFAULT, min 1); Allen & Ge SC'21 swept it up to 6144 [R]")    \
    XX(fault_outstanding_per_utlb, COUNT, 56, 32, 128, "R",                                        \
       "cost-model.md §1.1/§9.2: at most 56 outstanding faults per uTLB on Titan V (Volta), "      \
       "Allen & Ge SC'21 §3.2 [R]; sweep 32-128")                                                  \
    XX(fault_replay_policy, COUNT, 2, 1, 3, "C",                                                   \
       "UVM_PERF_FAULT_REPLAY_POLICY_DEFAULT = BATCH_FLUSH (cost-model.md §1.1 [C]); values as "   \
       "uvm_perf_fault_replay_policy: 1 BATCH, 2 BATCH_FLUSH, 3 ONCE (0 BLOCK is not modelled)")   \
    XX(fault_interrupt, NS, 5 * GPUSIM_NS_PER_US, 1 * GPUSIM_NS_PER_US, 30 * GPUSIM_NS_PER_US,     \
       "U",                                                                                        \
       "estimate, no figure in cost-model.md: from the buffer going non-empty to the driver's "    \
       "bottom half running (MSI delivery, top half, work-queue wake-up). Charged once per "       \
       "interrupt; carved out of §9.2's fault_batch_fixed, which includes it")                     \
    XX(fault_batch_fixed, NS, 25 * GPUSIM_NS_PER_US, 5 * GPUSIM_NS_PER_US, 55 * GPUSIM_NS_PER_US,  \
       "D",                                                                                        \
       "cost-model.md §9.2 fault_batch_fixed 30 us [U] (sweep 10-60 us: interrupt, wake the "      \
       "worker, fetch the buffer, sort) minus fault_interrupt (5 us), which is charged on its "    \
       "own: 25 us per batch; bounded by Kim et al. ASPLOS'20 batch totals 223-553 us [R2]")       \
    XX(fault_sw_per_fault, NS, 500, 200, 1700, "D",                                                \
       "cost-model.md §9.2 fault_sw_per_fault 0.5 us [D]: Kim et al. ASPLOS'20 median runtime "    \
       "handling 140 us / 256 faults (upper bound 430 / 256 = 1.7 us)")                            \
    XX(fault_per_vablock, NS, 5 * GPUSIM_NS_PER_US, 2 * GPUSIM_NS_PER_US, 20 * GPUSIM_NS_PER_US,  \
       "U",                                                                                        \
       "cost-model.md §9.2 fault_per_vablock 5 us [U] (sweep 2-20 us): UVM services a batch one "  \
       "2 MiB VA block at a time, each a separate step whose count drives the batch's cost "        \
       "(Allen & Ge SC'21 §2.2, §4 [R]); charged per distinct (context, 2 MiB block) among a "     \
       "fetched batch's unique faults")                                                            \
    XX(fault_replay, NS, 5 * GPUSIM_NS_PER_US, 2 * GPUSIM_NS_PER_US, 20 * GPUSIM_NS_PER_US, "U",   \
       "cost-model.md §9.2 fault_replay 5 us [U] (sweep 2-20 us): push the replay method and "     \
       "wait for the GPU to take it")                                                               \
    XX(compute_units, COUNT, 132, 1, 1024, "R",                                                    \
       "H100 SXM has 132 SMs (cost-model.md §4, read on a reseller spec page): one wave runs on "  \
       "a unit at a time")                                                                         \
    XX(hbm_bw, RATE, UINT64_C(2848000000000), UINT64_C(100000000000),                             \
       UINT64_C(10000000000000), "D",                                                              \
       "cost-model.md §5.2/§9.2 hbm_bw 3350 GB/s for H100 SXM [R] x 0.85 achievable (A100 "        \
       "reached 87 % of peak, §5.2 [R]) = 2848 GB/s; shared evenly by the compute units")          \
    XX(pcie_h2d_pinned, RATE, UINT64_C(55000000000), UINT64_C(1000000000),                         \
       UINT64_C(128000000000), "R",                                                                \
       "cost-model.md §5.1/§9.2: H200 pinned host-to-device 53.2-55.4 GB/s (DeepSpeed PR #8283); "  \
       "used for every transfer from host memory (DMA, and kernels reading system memory)")        \
    XX(pcie_d2h_pinned, RATE, UINT64_C(53000000000), UINT64_C(1000000000),                         \
       UINT64_C(128000000000), "R",                                                                \
       "cost-model.md §5.1/§9.2: H200 pinned device-to-host 52.3-54.9 GB/s (DeepSpeed PR #8283)")  \
    XX(dma_setup, NS, 5 * GPUSIM_NS_PER_US, 2 * GPUSIM_NS_PER_US, 10 * GPUSIM_NS_PER_US, "U",      \
       "cost-model.md §9.2 dma_setup 5 us [U] (2-10 us): copy-engine launch, charged once per "     \
       "COPY")                                                                                     \
    XX(engine_quantum, NS, 2 * GPUSIM_NS_PER_US, 1, GPUSIM_NS_PER_MS, "S",                         \
       "simulator setting: a wave or a copy runs this much virtual time of touches or chunks per " \
       "event, translated at the start of the slice; smaller is finer-grained and slower")        \
    XX(engine_fast_forward, BOOL, 1, 0, 1, "S",                                                    \
       "simulator setting: a wave whose last two passes took the same time with nothing changed "  \
       "on the device is charged the rest at that pass time (docs/gpu.md, fast-forward); 0 "       \
       "simulates every pass")                                                                                        \
    XX(cp_packet, NS, 100, 10, 2 * GPUSIM_NS_PER_US, "U",                                          \
       "estimate, no published figure (cost-model.md has none): the command processor fetching "  \
       "and decoding one packet from a user queue; PM4 (AMD) and GPFIFO/pushbuffer (NVIDIA) "      \
       "packet processing is sub-microsecond. Charged once per packet, before it executes")       \
    XX(preempt_save, NS, 20 * GPUSIM_NS_PER_US, 10 * GPUSIM_NS_PER_US, 200 * GPUSIM_NS_PER_US,     \
       "D",                                                                                        \
       "cost-model.md §4/§9.2 preempt_save 20 us [D] (sweep 14-40): NVIDIA H100/H200 "             \
       "full-occupancy context of ~65 MB (132 SMs x (256 KiB registers + 228 KiB shared memory)) " \
       "/ 3.35-4.8 TB/s = 14-20 us; AMD's CWSR save is 34 us on MI300X, 41 us per MI250X GCD "     \
       "(§9.3 cwsr_save [D], sweep 20-200)")                                                      \
    XX(queue_resume, NS, 20 * GPUSIM_NS_PER_US, 10 * GPUSIM_NS_PER_US, 200 * GPUSIM_NS_PER_US,     \
       "D",                                                                                        \
       "cost-model.md §9.2 queue_resume 20 us [D] (sweep 14-40): NVIDIA H100/H200, the same "      \
       "~65 MB context restored at the same bandwidth as preempt_save")                            \
    XX(queue_preempt_timeout, NS, 9000 * GPUSIM_NS_PER_MS, 1 * GPUSIM_NS_PER_MS,                   \
       60000 * GPUSIM_NS_PER_MS, "C",                                                              \
       "cost-model.md §4/§9.3 queue_preempt_timeout 9000 ms [C]: AMD amdkfd "                      \
       "queue_preemption_timeout_ms default (the driver's wait for the CP's UNMAP_QUEUES fence; "  \
       "on expiry amdkfd resets the GPU). A timeout, not a latency: it models hangs only")
/* clang-format on */

/* Indices into a GPU parameter values array: GPUSIM__GPU_P_<field>. */
#define GPUSIM__GPU_P_ENUM(field, UNIT, def, min, max, tag, source) GPUSIM__GPU_P_##field,
enum { GPUSIM_GPU_PARAM_MAP(GPUSIM__GPU_P_ENUM) GPUSIM__GPU_P_COUNT };
#undef GPUSIM__GPU_P_ENUM

/* The descriptors of the table, in index order. */
extern const gpusim__param_desc gpusim__gpu_param_desc[GPUSIM__GPU_P_COUNT];

/* Fills values[0..GPUSIM__GPU_P_COUNT) with the defaults. */
void gpusim__gpu_params_defaults(uint64_t *values);

/*
 * Whether a device with `engines` engines can be built from `values` at all: the hard bounds that
 * no `force` may cross, because the device would divide by them or could not lay out its parts
 * (a zero bandwidth, unit count, quantum or batch; VRAM under one page; a TLB geometry or fault
 * buffer its builders refuse). gpusim_gpu_new checks them before it creates anything, so a refused
 * configuration leaves no statistics behind. Values merely outside the plausible range are fine.
 */
bool gpusim__gpu_params_ok(const uint64_t *values, unsigned engines);

#endif /* GPUSIM_GPU_PARAMS_H */
