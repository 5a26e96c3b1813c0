/*
 * preset/preset.c -- the cost presets (gpusim/preset.h): for each preset, the fields it changes
 * in the host, GPU and driver parameter tables, with the value's source and confidence tag.
 *
 * The tables themselves (GPUSIM_HOST_PARAM_MAP in host/host.h, GPUSIM_GPU_PARAM_MAP in
 * gpu/params.h, GPUSIM_DRIVER_PARAM_MAP in mirror/mirror.h) hold every field's name, unit,
 * plausible range and default; a table's defaults are its kind's default preset ("nvidia-h100",
 * "linux-x86-64"), which therefore changes nothing here. Every other preset is a list of rows
 *
 *   XX(LAYER, field, value, tag, "source")
 *
 * naming a field by its identifier, so a row for a field that does not exist does not compile.
 * Invariants (tests/test_preset.c): every value lies in its field's plausible range, no preset
 * names a field twice or a table its kind does not set, and applying a preset then reading a
 * field gives the value gpusim_preset_param() reports.
 */
#include <string.h>

#include "gpusim.h"
#include "core/compiler.h"
#include "core/param.h"
#include "host/host.h"
#include "gpu/params.h"
#include "mirror/mirror.h"

/* clang-format off */
#define PRESET_AMD_MI300X(XX)                                                                      \
    XX(GPU, vram_size, 192 * GPUSIM_GIB, "R",                                                      \
       "MI300X 192 GB HBM3 (cost-model.md §5.2, Vultr docs citing AMD), taken as GiB like the "    \
       "H100's 80")                                                                                \
    XX(GPU, compute_units, 304, "R",                                                               \
       "304 CUs (cost-model.md §4: ROCm GPU-spec table, MI325X row, the same die)")                \
    XX(GPU, hbm_bw, UINT64_C(4505000000000), "D",                                                  \
       "cost-model.md §5.2/§9.3 hbm_bw 5300 GB/s for MI300X [R] x 0.85 achievable (A100 reached "  \
       "87 % of peak, §5.2 [R]) = 4505 GB/s")                                                      \
    XX(GPU, pcie_h2d_pinned, UINT64_C(50000000000), "D",                                           \
       "cost-model.md §9.3 pcie_h2d_pinned 50 GB/s [D]: the MI300X host link is PCIe Gen5 x16 "    \
       "(MLPerf v4.1 system description [R]); the figure is H200's measured Gen5 rate (§5.1) "     \
       "rounded down")                                                                             \
    XX(GPU, pcie_d2h_pinned, UINT64_C(50000000000), "D",                                           \
       "taken equal to pcie_h2d_pinned: the same Gen5 x16 link, on which H200 measured 52.3-54.9 " \
       "GB/s device-to-host (cost-model.md §5.1 [R]); no MI300X figure")                          \
    XX(GPU, dma_setup, 6 * GPUSIM_NS_PER_US, "R",                                                  \
       "cost-model.md §5.1/§9.3 dma_setup_hw 6 us: rocm-bandwidth-test's ~6 us for a ~4 KiB "      \
       "pinned copy on MI300X (ROCm/hip #3809; hipMemcpy's own 36-50 us is HIP software, not "     \
       "the copy engine)")                                                                         \
    XX(GPU, tlb_inval_range, 10 * GPUSIM_NS_PER_US, "U",                                           \
       "cost-model.md §9.3 gpu_tlb_inval_per_xcc 10 us [U]: a KIQ round trip; the XCCs are "       \
       "flushed in parallel since commit d3859b81fda2 (serially before: x8)")                      \
    XX(GPU, tlb_inval_context, 10 * GPUSIM_NS_PER_US, "U",                                         \
       "cost-model.md §9.3 gpu_tlb_inval_per_xcc 10 us [U]: a PASID flush is the same KIQ round "  \
       "trip (amdkfd flushes heavy-weight after unmap, commit 765385ec00a9)")                      \
    XX(GPU, tlb_inval_global, 10 * GPUSIM_NS_PER_US, "U",                                          \
       "cost-model.md §9.3 gpu_tlb_inval_per_xcc 10 us [U]; no separate figure for a global "      \
       "flush")                                                                                    \
    XX(GPU, fault_batch_fixed, 35 * GPUSIM_NS_PER_US, "U",                                         \
       "cost-model.md §9.3 retry_fault_fixed 40 us [U] (IH ring, worker, range lookup; no "        \
       "published figure) less fault_interrupt (5 us), which is charged on its own")               \
    XX(GPU, preempt_save, 34 * GPUSIM_NS_PER_US, "D",                                              \
       "cost-model.md §4/§9.3 cwsr_save 34 us [D]: MI300X full-occupancy CWSR state ~179 MB "      \
       "(304 CUs x (512 KiB VGPR + 64 KiB LDS)) / 5.3 TB/s")                                       \
    XX(GPU, queue_resume, 34 * GPUSIM_NS_PER_US, "D",                                              \
       "the same ~179 MB restored at the same bandwidth as preempt_save (cost-model.md §4)")       \
    XX(DRIVER, fault_granule, 2 * GPUSIM_MIB, "C",                                                 \
       "cost-model.md §1.2: svm_default_granularity = 9 (2^9 pages = 2 MiB; kfd_svm.c, "           \
       "amdgpu_drv.c): a retry fault is served over the 2 MiB-aligned range, clipped to the VMA")  \
    XX(DRIVER, prefetch, 0, "C",                                                                   \
       "kfd_svm has no density prefetcher: its fault granule is already the whole 2 MiB range "    \
       "(cost-model.md §1.2, Cooper et al. 2024: range-based, aggressive prefetching)")
/* clang-format on */

typedef struct override {
    gpusim_layer_t layer;
    size_t index; /* into the layer's table */
    uint64_t value;
    const char *tag;
    const char *source;
} override;

#define INDEX_HOST(field)   HP_##field
#define INDEX_GPU(field)    GPUSIM__GPU_P_##field
#define INDEX_DRIVER(field) GPUSIM__DP_##field
#define ROW(LAYER, field, value, tag, source)                                                      \
    {GPUSIM_LAYER_##LAYER, INDEX_##LAYER(field), (value), tag, source},

static const override amd_mi300x[] = {PRESET_AMD_MI300X(ROW)};

typedef struct preset_def {
    gpusim_preset_info_t info;
    const override *rows;
    size_t nrows;
} preset_def;

static const preset_def presets[] = {
    {{"nvidia-h100", GPUSIM_PRESET_GPU, true,
      "NVIDIA H100 SXM5 (Hopper) on a PCIe Gen5 x16 host link, nvidia-uvm fault handling"},
     NULL,
     0},
    {{"amd-mi300x", GPUSIM_PRESET_GPU, false,
      "AMD Instinct MI300X (CDNA3) on a PCIe Gen5 x16 host link, amdkfd SVM with XNACK"},
     amd_mi300x,
     GPUSIM_ARRAY_SIZE(amd_mi300x)},
    {{"linux-x86-64", GPUSIM_PRESET_HOST, true,
      "x86-64 server running Linux 6.x, 4 KiB base pages, swap on an NVMe SSD"},
     NULL,
     0},
};

/* A layer's table. */
typedef struct table {
    const gpusim__param_desc *desc;
    size_t n;
} table;

static table layer_table(gpusim_layer_t layer)
{
    switch (layer) {
    case GPUSIM_LAYER_HOST:
        return (table){gpusim__host_param_desc, HP_COUNT};
    case GPUSIM_LAYER_GPU:
        return (table){gpusim__gpu_param_desc, GPUSIM__GPU_P_COUNT};
    case GPUSIM_LAYER_DRIVER:
        return (table){gpusim__driver_param_desc, GPUSIM__DP_COUNT};
    default:
        return (table){NULL, 0};
    }
}

static bool kind_sets(gpusim_preset_kind_t kind, gpusim_layer_t layer)
{
    return kind == GPUSIM_PRESET_HOST ? layer == GPUSIM_LAYER_HOST
                                      : layer == GPUSIM_LAYER_GPU || layer == GPUSIM_LAYER_DRIVER;
}

static const preset_def *find(const char *name)
{
    int i = gpusim_preset_find(name);
    return i >= 0 ? &presets[i] : NULL;
}

/* The preset's row for (layer, index), or NULL when it keeps the default. */
static const override *row_of(const preset_def *p, gpusim_layer_t layer, size_t index)
{
    for (size_t i = 0; i < p->nrows; i++)
        if (p->rows[i].layer == layer && p->rows[i].index == index)
            return &p->rows[i];
    return NULL;
}

int gpusim_preset_info(size_t i, gpusim_preset_info_t *out)
{
    if (!out)
        return GPUSIM_EINVAL;
    if (i >= GPUSIM_ARRAY_SIZE(presets))
        return GPUSIM_ENOENT;
    *out = presets[i].info;
    return 0;
}

int gpusim_preset_find(const char *name)
{
    if (!name)
        return GPUSIM_EINVAL;
    for (size_t i = 0; i < GPUSIM_ARRAY_SIZE(presets); i++)
        if (strcmp(presets[i].info.name, name) == 0)
            return (int)i;
    return GPUSIM_ENOENT;
}

const char *gpusim_layer_name(gpusim_layer_t layer)
{
    static const char *const names[GPUSIM_LAYER_COUNT] = {"host", "gpu", "driver"};
    return (unsigned)layer < GPUSIM_LAYER_COUNT ? names[layer] : "?";
}

int gpusim_preset_param(const char *name, gpusim_layer_t layer, size_t i, gpusim_param_info_t *out,
                        bool *changed)
{
    const preset_def *p;
    const override *r;
    table t = layer_table(layer);
    int rc;
    if (!name || !out || !t.desc)
        return GPUSIM_EINVAL;
    if (!(p = find(name)))
        return GPUSIM_ENOENT;
    if (!kind_sets(p->info.kind, layer))
        return GPUSIM_EINVAL;
    if ((rc = gpusim__param_info(t.desc, t.n, i, out)) != 0)
        return rc;
    r = row_of(p, layer, i);
    if (r) {
        out->def = r->value;
        out->tag = r->tag;
        out->source = r->source;
    }
    if (changed)
        *changed = r != NULL;
    return 0;
}

/* Writes preset `name`'s values of `layer` into values[]. */
static int apply(const char *name, gpusim_layer_t layer, uint64_t *values)
{
    const preset_def *p;
    table t = layer_table(layer);
    if (!name || !values)
        return GPUSIM_EINVAL;
    if (!(p = find(name)))
        return GPUSIM_ENOENT;
    if (!kind_sets(p->info.kind, layer))
        return GPUSIM_EINVAL;
    gpusim__param_defaults(t.desc, t.n, values);
    for (size_t i = 0; i < p->nrows; i++)
        if (p->rows[i].layer == layer)
            values[p->rows[i].index] = p->rows[i].value;
    return 0;
}

int gpusim_host_config_preset(gpusim_host_config_t *cfg, const char *name)
{
    return apply(name, GPUSIM_LAYER_HOST, cfg ? cfg->params_ : NULL);
}

int gpusim_gpu_config_preset(gpusim_gpu_config_t *cfg, const char *name)
{
    return apply(name, GPUSIM_LAYER_GPU, cfg ? cfg->params_ : NULL);
}

int gpusim_driver_config_preset(gpusim_driver_config_t *cfg, const char *name)
{
    return apply(name, GPUSIM_LAYER_DRIVER, cfg ? cfg->params_ : NULL);
}
