/*
 * gpusim/preset.h -- cost presets: named, sourced sets of parameter values for a class of GPU
 * (GPU and driver parameters) or of host (host parameters).
 * Part of <gpusim.h>.
 *
 * Every cost the simulator charges is a named parameter of one of three tables: the host's
 * (gpusim_host_param_info()), the GPU's (gpusim_gpu_param_info()) and the driver policies'
 * (gpusim_driver_param_info()). A table's defaults are the default presets, "nvidia-h100" for the
 * GPU and driver tables and "linux-x86-64" for the host's; another preset states, for each field
 * it changes, its value and where that value comes from. A configuration takes at most one GPU
 * preset and one host preset, in either order: they set disjoint tables. Apply presets first and
 * set individual parameters afterwards: applying a preset sets every parameter of its tables.
 *
 * docs/cost-model.md is generated from these tables (gpusim-bench presets --markdown).
 */
#ifndef GPUSIM_PRESET_H
#define GPUSIM_PRESET_H

#ifndef GPUSIM_H_INSIDE
#error "include <gpusim.h>, not its parts"
#endif

GPUSIM_BEGIN_DECLS

/** The three parameter tables. */
typedef enum gpusim_layer_e {
    GPUSIM_LAYER_HOST = 0,   /**< gpusim_host_config_t (gpusim_host_param_info()). */
    GPUSIM_LAYER_GPU = 1,    /**< gpusim_gpu_config_t (gpusim_gpu_param_info()). */
    GPUSIM_LAYER_DRIVER = 2, /**< gpusim_driver_config_t (gpusim_driver_param_info()). */
    GPUSIM_LAYER_COUNT = 3   /**< Number of tables. */
} gpusim_layer_t;

/** What a preset describes, and so which tables it sets. */
typedef enum gpusim_preset_kind_e {
    GPUSIM_PRESET_GPU = 0, /**< A GPU and its driver: the GPU and driver tables. */
    GPUSIM_PRESET_HOST = 1 /**< A host: the host table. */
} gpusim_preset_kind_t;

/** Description of one preset. Strings are static. */
typedef struct gpusim_preset_info_s {
    const char *name;          /**< "nvidia-h100", "amd-mi300x", "linux-x86-64", ... */
    gpusim_preset_kind_t kind; /**< Which tables it sets. */
    bool is_default;           /**< Its values are the defaults of its tables. */
    const char *description;   /**< One line: the hardware or system it stands for. */
} gpusim_preset_info_t;

/** Fills *out for preset number i. Returns 0, GPUSIM_EINVAL (NULL out) or GPUSIM_ENOENT (past
 *  the end). Presets are numbered GPU presets first, each kind's default first. */
GPUSIM_EXTERN int gpusim_preset_info(size_t i, gpusim_preset_info_t *out);

/** Finds a preset by name. Returns its number (>= 0), GPUSIM_EINVAL (NULL name) or
 *  GPUSIM_ENOENT (no such preset). */
GPUSIM_EXTERN int gpusim_preset_find(const char *name);

/** Returns the name of `layer` ("host", "gpu", "driver"), or "?"; a static string. */
GPUSIM_EXTERN const char *gpusim_layer_name(gpusim_layer_t layer);

/**
 * Fills *out for parameter i of `layer` as preset `preset` has it: out->def is the preset's value,
 * and out->tag and out->source are the preset's own where it changes the field (the table's
 * otherwise); name, unit and range are the table's. Returns 0 with *changed (may be NULL) telling
 * whether the preset changes the field, GPUSIM_EINVAL (NULL out, a layer out of range, or a
 * layer the preset's kind does not set) or GPUSIM_ENOENT (no such preset, i past the end).
 */
GPUSIM_EXTERN int gpusim_preset_param(const char *preset, gpusim_layer_t layer, size_t i,
                                      gpusim_param_info_t *out, bool *changed);

/**
 * Sets every host parameter of *cfg to preset `preset`'s value (a host preset). Other fields of
 * *cfg (RAM, swap, THP mode) are not parameters and stay. Returns 0, GPUSIM_EINVAL (NULL
 * argument, or a GPU preset) or GPUSIM_ENOENT (no such preset); on error nothing changes.
 */
GPUSIM_EXTERN int gpusim_host_config_preset(gpusim_host_config_t *cfg, const char *preset);

/** As gpusim_host_config_preset(), for the GPU parameters of a GPU preset. */
GPUSIM_EXTERN int gpusim_gpu_config_preset(gpusim_gpu_config_t *cfg, const char *preset);

/** As gpusim_host_config_preset(), for the driver parameters of a GPU preset. The policy and name
 *  stay. */
GPUSIM_EXTERN int gpusim_driver_config_preset(gpusim_driver_config_t *cfg, const char *preset);

GPUSIM_END_DECLS

#endif /* GPUSIM_PRESET_H */
