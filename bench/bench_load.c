/*
 * bench_load.c -- parses the scenarios gpusim-bench is asked to run (bench_load.h).
 *
 * Scenarios are large (fixed arrays of every section), so each is malloc'd once and then shared
 * read-only by every run that plays it, on whatever thread.
 */
#include "bench_load.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int load_one(const bench_opts *o, const char *arg, sim_scenario *s, char *err, size_t errlen)
{
    const sim_builtin *b = sim_builtin_find(arg);
    int rc;
    if (b) {
        rc = sim_scenario_parse_text(b->name, b->text, s, err, errlen);
    } else {
        if (access(arg, F_OK) != 0) {
            snprintf(err, errlen,
                     "unknown scenario '%s': not a built-in (see gpusim-bench list) and no such "
                     "file",
                     arg);
            return GPUSIM_ENOENT;
        }
        rc = sim_scenario_parse_file(arg, s, err, errlen);
    }
    if (rc != 0) {
        if (!err[0]) /* the parser's message is "file:line: message"; never leave it blank */
            snprintf(err, errlen, "%s: %s", arg, gpusim_strerror(rc));
        return rc;
    }
    if (o->memory_budget)
        s->memory_budget = o->memory_budget;
    if (o->preset || o->nsets) {
        rc = sim_scenario_apply(s, o->preset, o->sets, o->nsets, o->force, err, errlen);
        if (rc != 0) {
            if (!err[0])
                snprintf(err, errlen, "%s: --preset/--set: %s", arg, gpusim_strerror(rc));
            return rc;
        }
    }
    return 0;
}

int bench_load_scenarios(const bench_opts *o, sim_scenario ***out, size_t *n, char *err,
                         size_t errlen)
{
    size_t nb, count;
    const sim_builtin *builtins = sim_builtins(&nb);
    count = o->ninputs ? o->ninputs : nb;
    *out = NULL;
    *n = 0;
    sim_scenario **list = calloc(count ? count : 1, sizeof *list);
    if (!list) {
        snprintf(err, errlen, "out of memory");
        return GPUSIM_ENOMEM;
    }
    for (size_t i = 0; i < count; i++) {
        const char *arg = o->ninputs ? o->inputs[i] : builtins[i].name;
        err[0] = '\0';
        list[i] = malloc(sizeof *list[i]);
        int rc = list[i] ? load_one(o, arg, list[i], err, errlen) : GPUSIM_ENOMEM;
        if (rc == GPUSIM_ENOMEM && !err[0])
            snprintf(err, errlen, "%s: out of memory", arg);
        for (size_t j = 0; rc == 0 && j < i; j++)
            if (strcmp(list[j]->name, list[i]->name) == 0) {
                snprintf(err, errlen, "scenario '%s' given twice (%s and %s)", list[i]->name,
                         list[j]->file, list[i]->file);
                rc = GPUSIM_EEXIST;
            }
        if (rc != 0) {
            bench_load_free(list, i + 1);
            return rc;
        }
    }
    *out = list;
    *n = count;
    return 0;
}

void bench_load_free(sim_scenario **s, size_t n)
{
    if (!s)
        return;
    for (size_t i = 0; i < n; i++)
        free(s[i]);
    free(s);
}
