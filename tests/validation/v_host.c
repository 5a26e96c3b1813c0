/*
 * tests/validation/v_host.c -- the host checks: long-term pinning and unpinning of 8 GiB (4 KiB
 * pages and THP), and anonymous demand-zero population with 4 KiB and 2 MiB pages.
 *
 * The pin checks reproduce the kernel's gup_test benchmark as the published figures ran it
 * (gup_test -LT -m 8192 -n 512, docs/validation.md): the memory is written from user space
 * first, then pinned long-term for writing (gup_test's default FOLL_WRITE) 512 pages per call,
 * then unpinned 512 pages per call; only the pin and unpin calls are timed. The
 * population checks reproduce `perf bench mem mmap -f populate`: one MAP_POPULATE mmap, timed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "validate.h"

#define MIB      GPUSIM_MIB
#define GIB      GPUSIM_GIB
#define PAGE     GPUSIM_HOST_PAGE_SIZE
#define BASE     (UINT64_C(1) << 36) /* where the memory is mapped: 2 MiB aligned */
#define PIN_SIZE (8 * GIB)
#define PER_CALL 512u /* gup_test -n 512 */

/* ---- c. long-term pinning -------------------------------------------------------------------- */

typedef struct pin_run {
    gpusim_time_t pin_ns, unpin_ns;
} pin_run;

/* Writes 8 GiB, THP-backed if `huge`, else in 4 KiB pages (THP is on madvise and the range is not
 * advised: what gup_test -T's MADV_NOHUGEPAGE gets), then pins it long-term and unpins it 512
 * pages per call. */
static int pin_8g(const v_env *env, bool huge, pin_run *o, char *err, size_t el)
{
    gpusim_host_config_t hc;
    uint64_t *pfns, va, npages = PIN_SIZE / PAGE;
    v_rig r;
    int rc;
    memset(o, 0, sizeof *o);
    if ((rc = v_host_config(env, &hc, PIN_SIZE + GIB, GPUSIM_THP_MADVISE, err, el)) ||
        (rc = v_rig_new(&r, &hc, NULL, NULL, err, el)))
        return rc;
    if (!(pfns = malloc(npages * sizeof *pfns))) {
        rc = v_fail(GPUSIM_ENOMEM, "frame array", err, el);
        goto out;
    }
    if ((rc = v_populate(&r, BASE, PIN_SIZE, huge, &va, NULL, err, el)))
        goto out;
    for (uint64_t i = 0; i < npages; i += PER_CALL) {
        v_call c = {.w = r.w};
        gpusim_time_t t0 = gpusim_world_now(r.w);
        rc = gpusim_process_pin(r.p, va + i * PAGE, PER_CALL,
                                GPUSIM_PIN_LONGTERM | GPUSIM_PIN_WRITE, pfns + i, v_call_cb, &c);
        if (rc || (rc = v_call_wait(r.w, &c))) {
            v_fail(rc, "gpusim_process_pin", err, el);
            goto out;
        }
        o->pin_ns += c.at - t0;
    }
    for (uint64_t i = 0; i < npages; i += PER_CALL) {
        gpusim_time_t cost = 0;
        if ((rc = gpusim_process_unpin(r.p, pfns + i, PER_CALL, false, &cost))) {
            v_fail(rc, "gpusim_process_unpin", err, el);
            goto out;
        }
        o->unpin_ns += cost;
    }
out:
    v_rig_free(&r); /* the world first: nothing it holds may point into pfns when it goes */
    free(pfns);
    return rc;
}

/* The two pin runs, made once for the three checks that read them. */
static struct {
    bool run;
    int rc;
    char err[V_TEXT];
    pin_run small, huge;
} pins;

static int pin_pair(const v_env *env, v_result *out)
{
    if (!pins.run) {
        pins.run = true;
        pins.rc = pin_8g(env, false, &pins.small, pins.err, sizeof pins.err);
        if (!pins.rc)
            pins.rc = pin_8g(env, true, &pins.huge, pins.err, sizeof pins.err);
    }
    if (pins.rc)
        snprintf(out->error, sizeof out->error, "%s", pins.err);
    else if (!pins.huge.pin_ns)
        snprintf(out->error, sizeof out->error, "pinning 8 GiB of THP took no time");
    return pins.rc || out->error[0];
}

void v_pin_4k(const v_env *env, v_result *out)
{
    if (pin_pair(env, out))
        return;
    out->value = (double)pins.small.pin_ns / 1e6;
    snprintf(out->detail, sizeof out->detail,
             "8 GiB written first, then 4096 long-term write pins of 512 pages; virtual time "
             "of the pin calls");
}

void v_unpin_4k(const v_env *env, v_result *out)
{
    if (pin_pair(env, out))
        return;
    out->value = (double)pins.small.unpin_ns / 1e6;
    snprintf(out->detail, sizeof out->detail,
             "the same pages released 512 per call; sum of the calls' reported costs");
}

void v_pin_thp_speedup(const v_env *env, v_result *out)
{
    if (pin_pair(env, out))
        return;
    out->value = (double)pins.small.pin_ns / (double)pins.huge.pin_ns;
    snprintf(out->detail, sizeof out->detail,
             "8 GiB pinned in %.3f ms with 4 KiB pages, %.3f ms with THP (unpin %.3f ms)",
             (double)pins.small.pin_ns / 1e6, (double)pins.huge.pin_ns / 1e6,
             (double)pins.huge.unpin_ns / 1e6);
}

/* ---- e. demand-zero population --------------------------------------------------------------- */

#define POP_SIZE GIB

/* One MAP_POPULATE mmap of 1 GiB with THP never (4 KiB pages) or always (2 MiB pages). */
static void populate(const v_env *env, gpusim_thp_mode_t thp, v_result *out)
{
    gpusim_host_config_t hc;
    gpusim_process_info_t pi;
    v_rig r;
    v_call c;
    gpusim_time_t t0;
    char *err = out->error;
    size_t el = sizeof out->error;
    int rc;
    if (v_host_config(env, &hc, POP_SIZE + GIB, thp, err, el) ||
        v_rig_new(&r, &hc, NULL, NULL, err, el))
        return;
    c = (v_call){.w = r.w};
    t0 = gpusim_world_now(r.w);
    rc = gpusim_process_mmap(r.p, BASE, POP_SIZE, GPUSIM_PROT_READ | GPUSIM_PROT_WRITE,
                             GPUSIM_MAP_PRIVATE | GPUSIM_MAP_POPULATE, NULL, 0, v_call_cb, &c);
    if (rc || (rc = v_call_wait(r.w, &c))) {
        v_fail(rc, "mmap(MAP_POPULATE)", err, el);
        goto out;
    }
    (void)gpusim_process_info(r.p, &pi);
    if (pi.rss_anon != POP_SIZE) {
        snprintf(err, el, "populated %llu bytes, not 1 GiB", (unsigned long long)pi.rss_anon);
        goto out;
    }
    out->value = v_gbps(POP_SIZE, c.at - t0);
    snprintf(out->detail, sizeof out->detail, "1 GiB in %.3f ms: %llu demand-zero faults",
             (double)(c.at - t0) / 1e6, (unsigned long long)pi.faults_zero);
out:
    v_rig_free(&r);
}

void v_populate_4k(const v_env *env, v_result *out)
{
    populate(env, GPUSIM_THP_NEVER, out);
}

void v_populate_2m(const v_env *env, v_result *out)
{
    populate(env, GPUSIM_THP_ALWAYS, out);
}
