/*
 * sim/parse_apply.c -- command-line settings over a parsed scenario: --preset and --set NAME=VALUE.
 *
 * --preset replaces the presets of the kinds it names and rewrites every parameter not set by
 * name (parse_preset.c); a --set parameter is then explicit, so a later preset keeps it.
 *
 * A setting goes through the very setters the [host] and [gpu] sections use (parse_keys.c), so a
 * value means the same on the command line as in a file and is refused with the same message.
 * NAME is "host.X", "gpu.X" (every device), "gpu.DEV.X" (one device), "driver.X" (every device's
 * driver parameters), or a bare X that exactly one of the host, GPU and driver tables knows.
 *
 * Invariant: after a successful call the scenario passes every check the parser makes on what a
 * setting can change (the host's structure, process and compaction nodes within the host's
 * nodes). On error the scenario may hold the settings before the failing one: do not run it.
 */
#include "parse_internal.h"

#include <stdio.h>
#include <string.h>

/* What --set can change and the parser checks across sections: nodes named by processes and
 * compaction activities. */
static int check_host(const sim_scenario *s, char *msg, size_t msglen)
{
    const char *which;
    int rc = sim__host_check(&s->host, &which, msg, msglen);
    if (rc != 0)
        return rc;
    for (unsigned i = 0; i < s->nprocesses; i++) {
        if (s->processes[i].cfg.node >= s->host.nodes) {
            snprintf(msg, msglen, "process '%s' is on node %u but the host has %u node%s",
                     s->processes[i].name, s->processes[i].cfg.node, s->host.nodes,
                     s->host.nodes == 1 ? "" : "s");
            return GPUSIM_EINVAL;
        }
    }
    for (unsigned i = 0; i < s->nactivities; i++) {
        const sim_activity_desc *a = &s->activities[i];
        if (a->type == SIM_ACT_COMPACT && a->node >= s->host.nodes) {
            snprintf(msg, msglen, "activity '%s' compacts node %u but the host has %u node%s",
                     a->name, a->node, s->host.nodes, s->host.nodes == 1 ? "" : "s");
            return GPUSIM_EINVAL;
        }
    }
    return 0;
}

static int set_host(sim_scenario *s, const char *key, const char *value, bool force, char *msg,
                    size_t msglen)
{
    gpusim_host_config_t saved = s->host;
    bool saved_explicit[GPUSIM_HOST_PARAM_SLOTS];
    memcpy(saved_explicit, s->host_explicit, sizeof saved_explicit);
    int rc = sim__host_set(s, key, value, force, NULL, msg, msglen);
    if (rc == GPUSIM_ENOENT)
        snprintf(msg, msglen, "no host parameter or [host] key '%s'", key);
    if (rc == 0)
        rc = check_host(s, msg, msglen);
    if (rc != 0) {
        s->host = saved;
        memcpy(s->host_explicit, saved_explicit, sizeof saved_explicit);
    }
    return rc;
}

/* One device (dev >= 0) or all of them. */
static int set_gpu(sim_scenario *s, int dev, const char *key, const char *value, bool force,
                   char *msg, size_t msglen)
{
    for (unsigned i = 0; i < s->ngpus; i++) {
        if (dev >= 0 && (unsigned)dev != i)
            continue;
        int rc = sim__gpu_set(&s->gpus[i], key, value, force, NULL, msg, msglen);
        if (rc == GPUSIM_ENOENT && strncmp(key, "driver.", 7) == 0)
            snprintf(msg, msglen, "no driver parameter '%s'", key + 7);
        else if (rc == GPUSIM_ENOENT)
            snprintf(msg, msglen, "no GPU parameter or [gpu] key '%s'", key);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Which tables know a bare name: bit 0 host, bit 1 GPU, bit 2 driver. */
static unsigned tables_of(const char *key)
{
    gpusim_host_config_t h;
    gpusim_gpu_config_t g;
    gpusim_driver_config_t d;
    uint64_t v;
    size_t n;
    unsigned found = 0;
    gpusim_host_config_init(&h);
    gpusim_gpu_config_init(&g);
    gpusim_driver_config_init(&d, GPUSIM_POLICY_NONE);
    const sim__key *hk = sim__keys(SIM__S_HOST, &n);
    if (sim__key_find(hk, n, key) >= 0 ||
        gpusim_host_config_get(&h, sim__host_canonical(key), &v) == 0)
        found |= 1;
    const sim__key *gk = sim__keys(SIM__S_GPU, &n);
    if (sim__key_find(gk, n, key) >= 0 || gpusim_gpu_config_get(&g, key, &v) == 0)
        found |= 2;
    if (gpusim_driver_config_get(&d, key, &v) == 0)
        found |= 4;
    return found;
}

static int apply_one(sim_scenario *s, const char *name, const char *value, bool force, char *msg,
                     size_t msglen)
{
    if (strncmp(name, "host.", 5) == 0)
        return set_host(s, name + 5, value, force, msg, msglen);
    if (strncmp(name, "driver.", 7) == 0)
        return set_gpu(s, -1, name, value, force, msg, msglen);
    if (strncmp(name, "gpu.", 4) == 0) {
        const char *rest = name + 4;
        const char *dot = strchr(rest, '.');
        if (dot != NULL) {
            /* gpu.DEV.X when DEV is a device, else X is itself dotted (gpu.driver.X) */
            for (unsigned i = 0; i < s->ngpus; i++) {
                size_t n = strlen(s->gpus[i].name);
                if ((size_t)(dot - rest) == n && strncmp(rest, s->gpus[i].name, n) == 0)
                    return set_gpu(s, (int)i, dot + 1, value, force, msg, msglen);
            }
            if (strncmp(rest, "driver.", 7) != 0) {
                size_t off = (size_t)snprintf(
                    msg, msglen, "no device '%.*s' (devices:", (int)(dot - rest), rest);
                for (unsigned i = 0; i < s->ngpus && off < msglen; i++)
                    off += (size_t)snprintf(msg + off, msglen - off, "%s %s", i ? "," : "",
                                            s->gpus[i].name);
                if (off < msglen)
                    snprintf(msg + off, msglen - off, ")");
                return GPUSIM_ENOENT;
            }
        }
        return set_gpu(s, -1, rest, value, force, msg, msglen);
    }
    unsigned t = tables_of(name);
    if (t == 0) {
        snprintf(msg, msglen, "no such parameter (not a host, GPU or driver parameter)");
        return GPUSIM_ENOENT;
    }
    if (t != 1 && t != 2 && t != 4) {
        snprintf(msg, msglen, "ambiguous: %s%s%s%s%s%s (qualify it)", t & 1 ? "host." : "",
                 t & 1 ? name : "", t & 2 ? (t & 1 ? ", gpu." : "gpu.") : "", t & 2 ? name : "",
                 t & 4 ? ", driver." : "", t & 4 ? name : "");
        return GPUSIM_EINVAL;
    }
    if (t == 1)
        return set_host(s, name, value, force, msg, msglen);
    if (t == 2)
        return set_gpu(s, -1, name, value, force, msg, msglen);
    char key[sizeof((sim_setting *)0)->name + 8];
    snprintf(key, sizeof key, "driver.%s", name);
    return set_gpu(s, -1, key, value, force, msg, msglen);
}

int sim_scenario_apply(sim_scenario *s, const char *preset, const sim_setting *sets, size_t nsets,
                       bool force, char *err, size_t errlen)
{
    char msg[SIM_TEXT_MAX];
    if (errlen > 0)
        err[0] = '\0';
    if (s == NULL || (sets == NULL && nsets > 0)) {
        snprintf(err, errlen, "no scenario or settings");
        return GPUSIM_EINVAL;
    }
    if (preset != NULL) {
        int rc = sim__preset_spec(preset, s->gpu_preset, s->host_preset, msg, sizeof msg);
        if (rc != 0) {
            snprintf(err, errlen, "--preset %s: %s", preset, msg);
            return rc;
        }
        sim__presets_apply(s);
    }
    for (size_t i = 0; i < nsets; i++) {
        /* the arrays may be full: read them within their size */
        char name[sizeof sets[i].name + 1], value[sizeof sets[i].value + 1];
        snprintf(name, sizeof name, "%.*s", (int)sizeof sets[i].name, sets[i].name);
        snprintf(value, sizeof value, "%.*s", (int)sizeof sets[i].value, sets[i].value);
        int rc = apply_one(s, name, value, force, msg, sizeof msg);
        if (rc != 0) {
            snprintf(err, errlen, "--set %s=%s: %s", name, value, msg);
            return rc;
        }
    }
    return 0;
}
