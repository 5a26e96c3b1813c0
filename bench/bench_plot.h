/*
 * bench_plot.h -- per scenario, bar charts of the policies drawn by gnuplot (SVG and PNG).
 *
 * Four panels per scenario: GPU completion time (sim_time_ns), invalidator blocked time
 * (notifier.blocked_ns, log scale), peak pinned pages, and coherence violations (use_after_free +
 * stale), each a mean over the seeds. DIR/NAME.gp is the gnuplot script (kept, so a chart can be
 * restyled by hand: cd DIR && gnuplot NAME.gp), DIR/NAME.svg and DIR/NAME.png its output.
 */
#ifndef GPUSIM_BENCH_PLOT_H
#define GPUSIM_BENCH_PLOT_H

#include "bench_summary.h"

#include <stddef.h>

/* Whether gnuplot is on PATH. Returns 0, or GPUSIM_ENOENT with a message in err. */
int bench_plot_check(char *err, size_t errlen);

/* The base name of a scenario's plot files: the name with anything but [A-Za-z0-9._-] as '_'. */
void bench_plot_name(const char *scenario, char *buf, size_t len);

/* Creates DIR (and its parents) if needed and draws every group there. Returns 0, or a negative
 * error with a message in err (DIR cannot be created, a file cannot be written, gnuplot failed). */
int bench_plot_write(const char *dir, const bench_group *g, size_t ngroups, char *err,
                     size_t errlen);

/* mkdir -p. Returns 0 or a negative error with a message in err. */
int bench_mkdirs(const char *dir, char *err, size_t errlen);

#endif /* GPUSIM_BENCH_PLOT_H */
