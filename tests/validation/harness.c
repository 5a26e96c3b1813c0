/*
 * tests/validation/harness.c -- set-up for the validation checks, through <gpusim.h> only:
 * configurations from presets plus the --set overrides, a world with a host, a process, a GPU and
 * a driver, and synchronous wrappers around the asynchronous calls.
 *
 * Every helper reports failure as a negative code with a sentence in `err` and never exits, so a
 * check whose set-up breaks shows up as a FAIL row rather than ending the program.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "validate.h"

void v_call_cb(void *data, int status, uint64_t result)
{
    v_call *c = data;
    c->done++;
    c->status = status;
    c->result = result;
    c->at = gpusim_world_now(c->w);
}

int v_call_wait(gpusim_world_t *w, v_call *c)
{
    int rc = gpusim_world_run(w);
    if (rc)
        return rc;
    return c->done == 1 ? c->status : GPUSIM_EAGAIN;
}

gpusim_world_t *v_world(void)
{
    gpusim_world_config_t cfg;
    gpusim_world_t *w = NULL;
    gpusim_world_config_init(&cfg);
    cfg.seed = 1;
    return gpusim_world_new(&cfg, &w) == 0 ? w : NULL;
}

int v_fail(int rc, const char *what, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s: %s", what, gpusim_err_name(rc));
    return rc;
}

double v_gbps(uint64_t bytes, gpusim_time_t ns)
{
    return ns ? (double)bytes / (double)ns : 0.0; /* bytes per ns = GB/s */
}

/* ---- configurations --------------------------------------------------------------------------- */

/* Applies the env's overrides of `layer` through `set` (one of the three config setters). */
typedef int (*setter)(void *cfg, const char *name, const char *value, char *msg, size_t len);

static int apply_sets(const v_env *env, gpusim_layer_t layer, setter set, void *cfg, char *err,
                      size_t errlen)
{
    for (size_t i = 0; env && i < env->nsets; i++) {
        char msg[160];
        int rc;
        if (env->sets[i].layer != layer)
            continue;
        rc = set(cfg, env->sets[i].name, env->sets[i].value, msg, sizeof msg);
        if (rc) {
            snprintf(err, errlen, "--set %s.%s: %s", gpusim_layer_name(layer), env->sets[i].name,
                     msg);
            return rc;
        }
    }
    return 0;
}

static int host_set(void *cfg, const char *name, const char *value, char *msg, size_t len)
{
    return gpusim_host_config_set(cfg, name, value, false, msg, len);
}

static int gpu_set(void *cfg, const char *name, const char *value, char *msg, size_t len)
{
    return gpusim_gpu_config_set(cfg, name, value, false, msg, len);
}

static int driver_set(void *cfg, const char *name, const char *value, char *msg, size_t len)
{
    return gpusim_driver_config_set(cfg, name, value, false, msg, len);
}

int v_host_config(const v_env *env, gpusim_host_config_t *hc, uint64_t ram, gpusim_thp_mode_t thp,
                  char *err, size_t errlen)
{
    int rc;
    gpusim_host_config_init(hc);
    if ((rc = gpusim_host_config_preset(hc, "linux-x86-64")))
        return v_fail(rc, "host preset linux-x86-64", err, errlen);
    hc->ram_bytes = ram;
    hc->swap_bytes = 64 * GPUSIM_MIB;
    hc->thp = thp;
    hc->khugepaged = false; /* nothing may run by itself in the background of a measurement */
    return apply_sets(env, GPUSIM_LAYER_HOST, host_set, hc, err, errlen);
}

int v_gpu_config(const v_env *env, gpusim_gpu_config_t *gc, const char *preset, char *err,
                 size_t errlen)
{
    int rc;
    gpusim_gpu_config_init(gc);
    if (preset && (rc = gpusim_gpu_config_preset(gc, preset)))
        return v_fail(rc, preset, err, errlen);
    return apply_sets(env, GPUSIM_LAYER_GPU, gpu_set, gc, err, errlen);
}

int v_driver_config(const v_env *env, gpusim_driver_config_t *dc, gpusim_policy_t policy,
                    const char *preset, char *err, size_t errlen)
{
    int rc;
    gpusim_driver_config_init(dc, policy);
    if (preset && (rc = gpusim_driver_config_preset(dc, preset)))
        return v_fail(rc, preset, err, errlen);
    return apply_sets(env, GPUSIM_LAYER_DRIVER, driver_set, dc, err, errlen);
}

int v_gpu_set(gpusim_gpu_config_t *gc, const char *name, const char *value, char *err,
              size_t errlen)
{
    char msg[160];
    int rc = gpusim_gpu_config_set(gc, name, value, false, msg, sizeof msg);
    if (rc)
        snprintf(err, errlen, "gpu %s=%s: %s", name, value, msg);
    return rc;
}

int v_driver_set(gpusim_driver_config_t *dc, const char *name, const char *value, char *err,
                 size_t errlen)
{
    char msg[160];
    int rc = gpusim_driver_config_set(dc, name, value, false, msg, sizeof msg);
    if (rc)
        snprintf(err, errlen, "driver %s=%s: %s", name, value, msg);
    return rc;
}

/* ---- the rig ---------------------------------------------------------------------------------- */

int v_rig_new(v_rig *r, const gpusim_host_config_t *hc, const gpusim_gpu_config_t *gc,
              const gpusim_driver_config_t *dc, char *err, size_t errlen)
{
    gpusim_process_config_t pc;
    int rc;
    memset(r, 0, sizeof *r);
    if (!(r->w = v_world()))
        return v_fail(GPUSIM_ENOMEM, "world", err, errlen);
    if ((rc = gpusim_host_new(r->w, hc, &r->h)))
        goto fail_host;
    gpusim_process_config_init(&pc);
    pc.memlock_limit = UINT64_MAX; /* a GPU driver's pins are not charged to RLIMIT_MEMLOCK */
    if ((rc = gpusim_process_new(r->h, &pc, &r->p)))
        goto fail_proc;
    if (gc && (rc = gpusim_gpu_new(r->w, gc, &r->g)))
        goto fail_gpu;
    if (gc && dc && (rc = gpusim_driver_new(r->g, r->p, dc, &r->d)))
        goto fail_drv;
    return 0;
fail_host:
    v_fail(rc, "gpusim_host_new", err, errlen);
    goto out;
fail_proc:
    v_fail(rc, "gpusim_process_new", err, errlen);
    goto out;
fail_gpu:
    v_fail(rc, "gpusim_gpu_new", err, errlen);
    goto out;
fail_drv:
    v_fail(rc, "gpusim_driver_new", err, errlen);
out:
    v_rig_free(r);
    return rc;
}

void v_rig_free(v_rig *r)
{
    gpusim_world_free(r->w);
    memset(r, 0, sizeof *r);
}

int v_register(v_rig *r, uint64_t va, uint64_t len, gpusim_buffer_t **buf, char *err, size_t errlen)
{
    v_call c = {.w = r->w};
    int rc = gpusim_driver_register(r->d, va, len, GPUSIM_BUFFER_WRITE, buf, v_call_cb, &c);
    if (rc || (rc = v_call_wait(r->w, &c)))
        return v_fail(rc, "gpusim_driver_register", err, errlen);
    return 0;
}

int v_run_job(v_rig *r, const gpusim_job_desc_t *job, gpusim_time_t *ns, char *err, size_t errlen)
{
    v_call c = {.w = r->w};
    gpusim_time_t t0 = gpusim_world_now(r->w);
    int rc = gpusim_driver_submit(r->d, job, v_call_cb, &c);
    if (rc || (rc = v_call_wait(r->w, &c)))
        return v_fail(rc, "the job", err, errlen);
    if (ns)
        *ns = c.at - t0;
    return 0;
}

int v_populate(v_rig *r, uint64_t addr, uint64_t len, bool huge, uint64_t *va, gpusim_time_t *ns,
               char *err, size_t errlen)
{
    v_call c = {.w = r->w};
    gpusim_time_t t0;
    int rc = gpusim_process_mmap(r->p, addr, len, GPUSIM_PROT_READ | GPUSIM_PROT_WRITE,
                                 GPUSIM_MAP_PRIVATE, NULL, 0, v_call_cb, &c);
    if (rc || (rc = v_call_wait(r->w, &c)))
        return v_fail(rc, "mmap", err, errlen);
    if (c.result != addr)
        return v_fail(GPUSIM_EFAULT, "mmap did not take the 2 MiB-aligned hint", err, errlen);
    *va = c.result;
    if (huge) {
        c = (v_call){.w = r->w};
        rc = gpusim_process_madvise(r->p, *va, len, GPUSIM_MADV_HUGEPAGE, v_call_cb, &c);
        if (rc || (rc = v_call_wait(r->w, &c)))
            return v_fail(rc, "madvise(MADV_HUGEPAGE)", err, errlen);
    }
    c = (v_call){.w = r->w};
    t0 = gpusim_world_now(r->w);
    rc = gpusim_process_access(r->p, *va, len, GPUSIM_ACCESS_WRITE, NULL, v_call_cb, &c);
    if (rc || (rc = v_call_wait(r->w, &c)))
        return v_fail(rc, "first touch", err, errlen);
    if (ns)
        *ns = c.at - t0;
    return 0;
}
