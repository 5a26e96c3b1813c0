/*
 * tests/validation/validate.h -- what the validation suite's files share: the check table, the
 * record each check fills, and the harness (harness.c) that sets worlds up through the public API.
 *
 * A check reproduces one published measurement: it builds the situation the measurement describes
 * with <gpusim.h> alone, as an external harness would, and reports the simulated figure. The
 * table (checks.c) holds, for each check, what it measures, the published band and where the band
 * comes from; a check whose model cannot reach its band declares the gap and its reason there.
 * Invariants: every figure is computed from virtual time and simulator counters only (never wall
 * time), so the same build gives the same table on every run; a check never aborts the program --
 * a set-up failure becomes its record's error and the check FAILs.
 */
#ifndef GPUSIM_VALIDATE_H
#define GPUSIM_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gpusim.h"

/* ---- records ---------------------------------------------------------------------------------- */

/* A check's outcome. */
typedef enum v_status {
    V_PASS = 0, /* the simulated figure lies in the published band */
    V_GAP = 1,  /* outside the band, as the check's declared gap says it must be */
    V_FAIL = 2  /* outside the band without a declared gap, a gap that closed, or a set-up error */
} v_status;

/* Room for a check's detail line and error message. */
#define V_TEXT 200

/* What a check's measurement reports. */
typedef struct v_result {
    double value;        /* the simulated figure, in the check's unit */
    char detail[V_TEXT]; /* how it was obtained, with the figures that make it up ("" if none) */
    char error[V_TEXT];  /* non-empty: the set-up failed and value means nothing */
} v_result;

/* Overrides given with --set, applied after the presets in every world a check builds. */
#define V_MAX_SETS 16

typedef struct v_set {
    gpusim_layer_t layer; /* which table */
    const char *name;     /* the parameter */
    const char *value;    /* its text, with units */
} v_set;

typedef struct v_env {
    v_set sets[V_MAX_SETS]; /* --set overrides, in order */
    size_t nsets;
} v_env;

/* One check of the table. Band limits are in `unit`; high may be INFINITY ("at least low"). */
typedef struct v_check {
    const char *id;        /* short and stable: "fault.isolated" */
    const char *what;      /* what is measured, one line */
    const char *preset;    /* the presets the worlds use ("nvidia-h100", "linux-x86-64") */
    const char *unit;      /* of value, low and high: "us", "ms", "GB/s", "x", "%", "faults" */
    int decimals;          /* digits after the point when printing value and band */
    double low, high;      /* the published band */
    const char *published; /* the published figure, as the source states it */
    const char *source;    /* cost-model.md (or anchors.md) section, and the primary source */
    const char *gap;       /* NULL, or why the model cannot reach the band (a known gap) */
    void (*measure)(const v_env *env, v_result *out);
} v_check;

/* The table (checks.c). */
extern const v_check v_checks[];
extern const size_t v_nchecks;

/* The status of a check given its result: PASS in band, GAP outside with a declared gap, FAIL
 * otherwise; a declared gap whose figure is now in band FAILs ("gap closed"). *why (may be NULL)
 * receives a static explanation for a FAIL, or NULL. */
v_status v_judge(const v_check *c, const v_result *r, const char **why);

/* ---- the measurements (one file per subject) -------------------------------------------------- */

void v_fault_isolated(const v_env *env, v_result *out);    /* v_faults.c */
void v_fault_batch(const v_env *env, v_result *out);       /* v_faults.c */
void v_prefetch_faults(const v_env *env, v_result *out);   /* v_faults.c */
void v_prefetch_time(const v_env *env, v_result *out);     /* v_faults.c */
void v_granule_mi300x(const v_env *env, v_result *out);    /* v_faults.c */
void v_pin_4k(const v_env *env, v_result *out);            /* v_host.c */
void v_unpin_4k(const v_env *env, v_result *out);          /* v_host.c */
void v_pin_thp_speedup(const v_env *env, v_result *out);   /* v_host.c */
void v_populate_4k(const v_env *env, v_result *out);       /* v_host.c */
void v_populate_2m(const v_env *env, v_result *out);       /* v_host.c */
void v_copy_h2d(const v_env *env, v_result *out);          /* v_copy.c */
void v_copy_d2h(const v_env *env, v_result *out);          /* v_copy.c */
void v_copy_small(const v_env *env, v_result *out);        /* v_copy.c */
void v_copy_small_mi300x(const v_env *env, v_result *out); /* v_copy.c */
void v_copy_pageable(const v_env *env, v_result *out);     /* v_copy.c */

/* ---- the harness (harness.c) ------------------------------------------------------------------ */

/* One asynchronous call's completion: run the world until `done`. */
typedef struct v_call {
    gpusim_world_t *w;
    int done;         /* times the callback ran */
    int status;       /* its status */
    uint64_t result;  /* its result */
    gpusim_time_t at; /* virtual time of the callback */
} v_call;

/* A gpusim_host_cb for a v_call (data). */
void v_call_cb(void *data, int status, uint64_t result);

/* Runs the world until nothing is left to do and returns the call's status: GPUSIM_EAGAIN if its
 * callback never ran, the world's error if the run failed. */
int v_call_wait(gpusim_world_t *w, v_call *c);

/* A world with seed 1 (NULL on failure). */
gpusim_world_t *v_world(void);

/* Configurations: the preset (NULL: the table's default), then the env's overrides of that table.
 * The host has `ram` bytes, 64 MiB of swap, THP mode `thp`, no khugepaged. Return 0, or a negative
 * code with the reason in err. */
int v_host_config(const v_env *env, gpusim_host_config_t *hc, uint64_t ram, gpusim_thp_mode_t thp,
                  char *err, size_t errlen);
int v_gpu_config(const v_env *env, gpusim_gpu_config_t *gc, const char *preset, char *err,
                 size_t errlen);
int v_driver_config(const v_env *env, gpusim_driver_config_t *dc, gpusim_policy_t policy,
                    const char *preset, char *err, size_t errlen);

/* Sets one parameter of a configuration by name (within its range) or explains in err. */
int v_gpu_set(gpusim_gpu_config_t *gc, const char *name, const char *value, char *err,
              size_t errlen);
int v_driver_set(gpusim_driver_config_t *dc, const char *name, const char *value, char *err,
                 size_t errlen);

/* A world with a host, one process (no locked-memory limit) and, if asked, a GPU and a driver
 * mirroring the process on it. Freeing the world frees everything. */
typedef struct v_rig {
    gpusim_world_t *w;
    gpusim_host_t *h;
    gpusim_process_t *p;
    gpusim_gpu_t *g;    /* NULL without a GPU */
    gpusim_driver_t *d; /* NULL without a driver */
} v_rig;

/* Builds a rig: gc NULL means no GPU (and no driver), dc NULL no driver. Returns 0, or a negative
 * code with the reason in err (and nothing left allocated). */
int v_rig_new(v_rig *r, const gpusim_host_config_t *hc, const gpusim_gpu_config_t *gc,
              const gpusim_driver_config_t *dc, char *err, size_t errlen);
void v_rig_free(v_rig *r);

/* Registers [va, va + len) with the rig's driver (GPU-writable) and waits for the policy's
 * registration work. */
int v_register(v_rig *r, uint64_t va, uint64_t len, gpusim_buffer_t **buf, char *err,
               size_t errlen);

/* Submits a job to the rig's driver and runs until it ends; *ns (may be NULL) receives the
 * virtual time from the submission to its end. A job that fails is an error. */
int v_run_job(v_rig *r, const gpusim_job_desc_t *job, gpusim_time_t *ns, char *err, size_t errlen);

/* Maps `len` bytes of anonymous read-write memory at the hint `addr` (2 MiB aligned), madvised
 * MADV_HUGEPAGE if `huge`, and writes every page (first touch, so the host's own faults are paid
 * here, not in what is measured). *va receives the address; *ns (may be NULL) the virtual time
 * of the first touch. Returns 0 or a negative code with the reason in err. */
int v_populate(v_rig *r, uint64_t addr, uint64_t len, bool huge, uint64_t *va, gpusim_time_t *ns,
               char *err, size_t errlen);

/* Formats "what: error name" into err and returns rc (for `return v_fail(...)`). */
int v_fail(int rc, const char *what, char *err, size_t errlen);

/* Bytes over a duration, in GB/s (10^9 bytes per second). */
double v_gbps(uint64_t bytes, gpusim_time_t ns);

#endif /* GPUSIM_VALIDATE_H */
