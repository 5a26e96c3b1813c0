/*
 * tests/validation/validate.c -- gpusim-validate: runs the validation checks (checks.c) and prints
 * simulated against published figures, as a plain text table or as the markdown table of
 * docs/validation.md.
 *
 *   gpusim-validate [--markdown] [--only ID]... [--set LAYER.NAME=VALUE]...
 *
 * Exit status: 0 when no check FAILs (PASS and declared GAPs are fine), 1 when one does, 2 for a
 * usage error. --set overrides a parameter in every world after the presets (a sensitivity run,
 * or a mutation check of the suite itself); --only runs the named checks alone. The output
 * depends on nothing but the build and the options: no wall time, no host names, no paths.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "validate.h"

static const char *const status_name[] = {"PASS", "GAP", "FAIL"};

static void usage(FILE *f)
{
    fprintf(f, "usage: gpusim-validate [--markdown] [--only ID]... [--set LAYER.NAME=VALUE]...\n"
               "  Runs gpusim's validation checks against published measurements\n"
               "  (docs/validation.md). Exit 0 when no check fails, 1 when one does.\n"
               "  --markdown            print the markdown table of docs/validation.md\n"
               "  --only ID             run only check ID (repeatable)\n"
               "  --set LAYER.NAME=VAL  set a host, gpu or driver parameter after the presets\n"
               "                        in every world (repeatable), e.g. gpu.fault_replay=10us\n");
}

/* Parses "LAYER.NAME=VALUE" into *s and checks it against a scratch configuration of that table.
 * Returns 0, or 2 with a message on stderr. `arg` must outlive *s (it is split in place). */
static int parse_set(char *arg, v_set *s)
{
    char *dot = strchr(arg, '.'), *eq = strchr(arg, '='), msg[160] = "";
    int rc;
    if (!dot || !eq || eq < dot || dot == arg || eq == dot + 1) {
        fprintf(stderr, "gpusim-validate: --set wants LAYER.NAME=VALUE, not '%s'\n", arg);
        return 2;
    }
    *dot = '\0';
    *eq = '\0';
    s->name = dot + 1;
    s->value = eq + 1;
    if (strcmp(arg, "host") == 0) {
        gpusim_host_config_t c;
        s->layer = GPUSIM_LAYER_HOST;
        gpusim_host_config_init(&c);
        rc = gpusim_host_config_set(&c, s->name, s->value, false, msg, sizeof msg);
    } else if (strcmp(arg, "gpu") == 0) {
        gpusim_gpu_config_t c;
        s->layer = GPUSIM_LAYER_GPU;
        gpusim_gpu_config_init(&c);
        rc = gpusim_gpu_config_set(&c, s->name, s->value, false, msg, sizeof msg);
    } else if (strcmp(arg, "driver") == 0) {
        gpusim_driver_config_t c;
        s->layer = GPUSIM_LAYER_DRIVER;
        gpusim_driver_config_init(&c, GPUSIM_POLICY_REFAULT);
        rc = gpusim_driver_config_set(&c, s->name, s->value, false, msg, sizeof msg);
    } else {
        fprintf(stderr, "gpusim-validate: --set: unknown layer '%s' (host, gpu or driver)\n", arg);
        return 2;
    }
    if (rc) {
        fprintf(stderr, "gpusim-validate: --set %s.%s=%s: %s\n", arg, s->name, s->value, msg);
        return 2;
    }
    return 0;
}

/* "20.0-50.0 us" or ">= 10.0 x" (text), "20.0–50.0 us" or "≥ 10.0 x" (markdown). */
static void band(const v_check *c, bool md, char *buf, size_t len)
{
    if (isinf(c->high))
        snprintf(buf, len, "%s %.*f %s", md ? "≥" : ">=", c->decimals, c->low, c->unit);
    else if (c->low == c->high)
        snprintf(buf, len, "%.*f %s", c->decimals, c->low, c->unit);
    else
        snprintf(buf, len, "%.*f%s%.*f %s", c->decimals, c->low, md ? "–" : "-", c->decimals,
                 c->high, c->unit);
}

static void value(const v_check *c, const v_result *r, char *buf, size_t len)
{
    if (r->error[0])
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%.*f %s", c->decimals, r->value, c->unit);
}

static void print_text(const v_check *const *run, const v_result *res, size_t n)
{
    printf("%-18s %-5s %15s  %-20s %s\n", "check", "", "simulated", "published band", "preset");
    for (size_t i = 0; i < n; i++) {
        char v[48], b[48];
        value(run[i], &res[i], v, sizeof v);
        band(run[i], false, b, sizeof b);
        printf("%-18s %-5s %15s  %-20s %s\n", run[i]->id,
               status_name[v_judge(run[i], &res[i], NULL)], v, b, run[i]->preset);
    }
    printf("\n");
    for (size_t i = 0; i < n; i++) {
        const char *why;
        v_status st = v_judge(run[i], &res[i], &why);
        printf("%s: %s\n", run[i]->id, run[i]->what);
        if (res[i].error[0])
            printf("  error: %s\n", res[i].error);
        else if (res[i].detail[0])
            printf("  %s\n", res[i].detail);
        if (st == V_GAP)
            printf("  known gap: %s\n", run[i]->gap);
        if (st == V_FAIL)
            printf("  FAIL: %s\n", why);
    }
}

static void print_markdown(const v_check *const *run, const v_result *res, size_t n)
{
    printf("| check | what is measured | preset | simulated | published band | status |\n"
           "|---|---|---|--:|--:|---|\n");
    for (size_t i = 0; i < n; i++) {
        char v[48], b[48];
        value(run[i], &res[i], v, sizeof v);
        band(run[i], true, b, sizeof b);
        printf("| `%s` | %s | %s | %s | %s | %s |\n", run[i]->id, run[i]->what, run[i]->preset, v,
               b, status_name[v_judge(run[i], &res[i], NULL)]);
    }
    printf("\nPublished figures and sources (paths under `../shared/reference/`):\n\n");
    for (size_t i = 0; i < n; i++)
        printf("- `%s`: %s. Source: %s.\n", run[i]->id, run[i]->published, run[i]->source);
    printf("\nHow each figure was obtained:\n\n");
    for (size_t i = 0; i < n; i++) {
        const char *why;
        v_status st = v_judge(run[i], &res[i], &why);
        printf("- `%s`: %s.", run[i]->id, res[i].error[0] ? res[i].error : res[i].detail);
        if (st == V_GAP)
            printf(" **Known gap:** %s.", run[i]->gap);
        if (st == V_FAIL)
            printf(" **FAIL:** %s.", why);
        printf("\n");
    }
}

int main(int argc, char **argv)
{
    static v_env env;
    static const v_check *run[64];
    static v_result res[64];
    const char *only[64];
    size_t nonly = 0, n = 0;
    bool markdown = false, failed = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--markdown") == 0) {
            markdown = true;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--only") == 0 || strcmp(argv[i], "--set") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "gpusim-validate: %s needs an argument\n", argv[i]);
                return 2;
            }
            if (argv[i][2] == 'o') {
                if (nonly == sizeof only / sizeof only[0]) {
                    fprintf(stderr, "gpusim-validate: too many --only\n");
                    return 2;
                }
                only[nonly++] = argv[++i];
            } else {
                if (env.nsets == V_MAX_SETS) {
                    fprintf(stderr, "gpusim-validate: at most %d --set\n", V_MAX_SETS);
                    return 2;
                }
                if (parse_set(argv[++i], &env.sets[env.nsets++]))
                    return 2;
            }
        } else {
            fprintf(stderr, "gpusim-validate: unknown argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    for (size_t k = 0; k < nonly; k++) {
        bool known = false;
        for (size_t c = 0; c < v_nchecks; c++)
            known |= strcmp(only[k], v_checks[c].id) == 0;
        if (!known) {
            fprintf(stderr, "gpusim-validate: --only: no check '%s'\n", only[k]);
            return 2;
        }
    }
    for (size_t c = 0; c < v_nchecks && n < sizeof run / sizeof run[0]; c++) {
        bool want = nonly == 0;
        for (size_t k = 0; k < nonly; k++)
            want |= strcmp(only[k], v_checks[c].id) == 0;
        if (!want)
            continue;
        run[n] = &v_checks[c];
        v_checks[c].measure(&env, &res[n]);
        failed |= v_judge(run[n], &res[n], NULL) == V_FAIL;
        n++;
    }
    if (markdown)
        print_markdown(run, res, n);
    else
        print_text(run, res, n);
    return failed ? 1 : 0;
}
