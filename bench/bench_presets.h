/*
 * bench_presets.h -- `gpusim-bench presets`: the cost presets and the parameter tables they set,
 * as text for a terminal or as the markdown of docs/cost-model.md.
 *
 *   presets              the presets, then every field of each table with its value in each
 *                        preset of the table's kind, its range and tag
 *   presets NAME         every field of NAME's tables: value, tag, source; the fields NAME changes
 *                        from its kind's default preset marked
 *   presets --diff A B   the fields whose values differ between two presets of one kind
 *   presets --markdown   docs/cost-model.md
 *
 * Everything comes from the public API (gpusim_preset_*, gpusim_*_param_info), so the output is a
 * function of the library alone: deterministic, and docs/cost-model.md cannot drift from the
 * tables (CTest docs.cost_model compares them).
 */
#ifndef GPUSIM_BENCH_PRESETS_H
#define GPUSIM_BENCH_PRESETS_H

#include "bench_args.h"

#include <stdio.h>

/* Runs the presets command of `o` (o->inputs: the names; o->diff, o->markdown), writing to `out`.
 * Returns an exit status: BENCH_EXIT_OK, BENCH_EXIT_USAGE for an unknown preset or a --diff of
 * two kinds (one line on stderr, nothing on `out`), BENCH_EXIT_FAILED when `out` fails. */
int bench_presets(const bench_opts *o, FILE *out);

#endif /* GPUSIM_BENCH_PRESETS_H */
