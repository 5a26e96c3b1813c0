/*
 * builtin.c -- the built-in scenarios: the .ini files of sim/scenarios, compiled in by
 * cmake/embed-scenarios.cmake (builtin_data.c), so gpusim-bench needs no data directory.
 */
#include "sim.h"

#include <string.h>

extern const sim_builtin sim_builtin_table[]; /* builtin_data.c, NULL-terminated */

const sim_builtin *sim_builtins(size_t *n)
{
    size_t i = 0;
    while (sim_builtin_table[i].name)
        i++;
    *n = i;
    return sim_builtin_table;
}

const sim_builtin *sim_builtin_find(const char *name)
{
    for (size_t i = 0; sim_builtin_table[i].name; i++)
        if (strcmp(sim_builtin_table[i].name, name) == 0)
            return &sim_builtin_table[i];
    return NULL;
}
