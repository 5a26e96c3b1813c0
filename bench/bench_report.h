/*
 * bench_report.h -- `gpusim-bench report`: a markdown report of a results file, with its plots.
 *
 * DIR/report.md has, per scenario, its description (when it is a built-in), a table of the
 * policies with the decisive numbers (means over seeds), the expectations with their outcome
 * (met / NOT MET / not evaluated) and the plot (bench_plot.h) drawn into DIR. It is what the
 * README's results section is made from.
 */
#ifndef GPUSIM_BENCH_REPORT_H
#define GPUSIM_BENCH_REPORT_H

#include "sim.h"

/* Writes DIR/report.md and the plots for recs[0..n); `source` names the results file in the
 * report. Returns 0, or a negative error with a message in err. */
int bench_report_write(const char *dir, const char *source, const sim_result *recs, size_t n,
                       char *err, size_t errlen);

#endif /* GPUSIM_BENCH_REPORT_H */
