/*
 * sim/parse_preset.c -- a scenario's cost presets: the preset spec ("amd-mi300x",
 * "amd-mi300x+linux-x86-64"), and writing the presets' values under the explicit settings.
 *
 * A scenario has one GPU preset (for every device and its drivers) and one host preset, named by
 * `preset =` in [scenario] and by --preset, each of which may name either kind or both; a kind
 * not named keeps what it had (the default first). Cost parameters set by name -- in [host],
 * [gpu] or by --set -- are explicit and win over any preset whatever the order they came in:
 * the setters mark them (sim__mark_explicit) and sim__presets_apply() writes the presets' values
 * into every field that is not marked. The record's `preset` is the canonical "GPU+HOST".
 */
#include "parse_internal.h"

#include <stdio.h>
#include <string.h>

/* "known: a, b, c" into msg after `off` characters. */
static void known_list(char *msg, size_t msglen, size_t off)
{
    gpusim_preset_info_t pi;
    if (off >= msglen)
        return;
    off += (size_t)snprintf(msg + off, msglen - off, " (known:");
    for (size_t i = 0; gpusim_preset_info(i, &pi) == 0 && off < msglen; i++)
        off += (size_t)snprintf(msg + off, msglen - off, "%s %s", i ? "," : "", pi.name);
    if (off < msglen)
        snprintf(msg + off, msglen - off, ")");
}

int sim__preset_spec(const char *spec, char gpu[SIM_NAME_MAX], char host[SIM_NAME_MAX], char *msg,
                     size_t msglen)
{
    char name[SIM_NAME_MAX];
    const char *p = spec;
    bool seen[2] = {false, false};
    char out[2][SIM_NAME_MAX];
    for (;;) {
        const char *plus = strchr(p, '+');
        size_t n = plus ? (size_t)(plus - p) : strlen(p);
        gpusim_preset_info_t pi;
        int i;
        if (n == 0 || n >= sizeof name) {
            snprintf(msg, msglen, "'%s' is not a preset name or NAME+NAME", spec);
            return GPUSIM_EINVAL;
        }
        memcpy(name, p, n);
        name[n] = '\0';
        i = gpusim_preset_find(name);
        if (i < 0) {
            int off = snprintf(msg, msglen, "unknown preset '%s'", name);
            known_list(msg, msglen, off > 0 ? (size_t)off : 0);
            return GPUSIM_EINVAL;
        }
        (void)gpusim_preset_info((size_t)i, &pi);
        if (seen[pi.kind]) {
            snprintf(msg, msglen, "two %s presets, '%s' and '%s': name one of each kind at most",
                     pi.kind == GPUSIM_PRESET_GPU ? "GPU" : "host", out[pi.kind], name);
            return GPUSIM_EINVAL;
        }
        seen[pi.kind] = true;
        snprintf(out[pi.kind], SIM_NAME_MAX, "%s", name);
        if (!plus)
            break;
        p = plus + 1;
    }
    if (seen[GPUSIM_PRESET_GPU])
        snprintf(gpu, SIM_NAME_MAX, "%s", out[GPUSIM_PRESET_GPU]);
    if (seen[GPUSIM_PRESET_HOST])
        snprintf(host, SIM_NAME_MAX, "%s", out[GPUSIM_PRESET_HOST]);
    return 0;
}

void sim__default_presets(sim_scenario *s)
{
    gpusim_preset_info_t pi;
    for (size_t i = 0; gpusim_preset_info(i, &pi) == 0; i++)
        if (pi.is_default)
            snprintf(pi.kind == GPUSIM_PRESET_GPU ? s->gpu_preset : s->host_preset, SIM_NAME_MAX,
                     "%s", pi.name);
}

/* The index of parameter `name` in `layer`, or -1. */
static int param_index(gpusim_layer_t layer, const char *name)
{
    gpusim_param_info_t pi;
    int (*info)(size_t, gpusim_param_info_t *) = layer == GPUSIM_LAYER_HOST ? gpusim_host_param_info
                                                 : layer == GPUSIM_LAYER_GPU
                                                     ? gpusim_gpu_param_info
                                                     : gpusim_driver_param_info;
    for (size_t i = 0; info(i, &pi) == 0; i++)
        if (strcmp(pi.name, name) == 0)
            return (int)i;
    return -1;
}

void sim__mark_explicit(gpusim_layer_t layer, const char *name, bool *mask)
{
    int i = param_index(layer, name);
    if (i >= 0)
        mask[i] = true;
}

/* Writes preset `preset`'s value of every field of `layer` not marked in `mask`. */
static void apply_layer(const char *preset, gpusim_layer_t layer, const bool *mask,
                        uint64_t *values)
{
    gpusim_param_info_t pi;
    for (size_t i = 0; gpusim_preset_param(preset, layer, i, &pi, NULL) == 0; i++)
        if (!mask[i])
            values[i] = pi.def;
}

void sim__presets_apply(sim_scenario *s)
{
    apply_layer(s->host_preset, GPUSIM_LAYER_HOST, s->host_explicit, s->host.params_);
    for (unsigned g = 0; g < s->ngpus; g++) {
        sim_gpu_desc *d = &s->gpus[g];
        apply_layer(s->gpu_preset, GPUSIM_LAYER_GPU, d->gpu_explicit, d->cfg.params_);
        apply_layer(s->gpu_preset, GPUSIM_LAYER_DRIVER, d->drv_explicit, d->drv.params_);
    }
    snprintf(s->preset, sizeof s->preset, "%s+%s", s->gpu_preset, s->host_preset);
}
