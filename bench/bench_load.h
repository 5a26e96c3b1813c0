/*
 * bench_load.h -- turns gpusim-bench's scenario arguments into parsed scenarios, with --preset and
 * --set applied.
 *
 * A SCENARIO argument is a built-in name first (sim_builtin_find), else a file path. Every
 * failure here is the user's (unknown name, parse error "file:line: message", bad --set), so the
 * caller exits with status 2 and nothing runs.
 */
#ifndef GPUSIM_BENCH_LOAD_H
#define GPUSIM_BENCH_LOAD_H

#include "bench_args.h"

/*
 * Loads o->inputs (none: every built-in, in sim_builtins() order) into *out, an array of *n
 * malloc'd scenarios (free with bench_load_free). Returns 0, or a negative error with a one-line
 * message in err. Two scenarios with the same [scenario] name are refused: records are told
 * apart by name.
 */
int bench_load_scenarios(const bench_opts *o, sim_scenario ***out, size_t *n, char *err,
                         size_t errlen);
void bench_load_free(sim_scenario **s, size_t n);

#endif /* GPUSIM_BENCH_LOAD_H */
