/*
 * bench_plot.c -- gnuplot bar charts of the policies, per scenario (bench_plot.h).
 *
 * The script is self-contained (the data sits in it as a here-document) and names its outputs
 * relative to its own directory, so gnuplot is started with `cd DIR; load 'NAME.gp'`. Strings
 * inside the script are single-quoted, where gnuplot reads '' as one quote; that covers any
 * directory or scenario name. Each value axis gets its own unit, chosen from the largest value,
 * and its own range, so an all-zero panel (no violations: the usual case) draws without
 * gnuplot's "empty range" warning, and the log-scale panel falls back to linear when no value is
 * positive.
 */
#include "bench_plot.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int bench_plot_check(char *err, size_t errlen)
{
    const char *path = getenv("PATH");
    char buf[4096];
    while (path && *path) {
        const char *colon = strchr(path, ':');
        size_t len = colon ? (size_t)(colon - path) : strlen(path);
        if (len == 0) /* an empty PATH entry is the current directory */
            snprintf(buf, sizeof buf, "./gnuplot");
        else
            snprintf(buf, sizeof buf, "%.*s/gnuplot", (int)len, path);
        if (access(buf, X_OK) == 0)
            return 0;
        path = colon ? colon + 1 : NULL;
    }
    snprintf(err, errlen,
             "--plot needs gnuplot, which is not on PATH (Debian: apt-get install gnuplot-nox)");
    return GPUSIM_ENOENT;
}

void bench_plot_name(const char *scenario, char *buf, size_t len)
{
    size_t i = 0;
    for (; scenario[i] && i + 1 < len; i++) {
        char c = scenario[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_' || (c == '.' && i > 0);
        buf[i] = ok ? c : '_';
    }
    if (len)
        buf[i] = '\0';
    if (len > 8 && i == 0)
        snprintf(buf, len, "unnamed");
}

int bench_mkdirs(const char *dir, char *err, size_t errlen)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf) {
        snprintf(err, errlen, "%s: path too long", dir);
        return GPUSIM_EINVAL;
    }
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
            snprintf(err, errlen, "cannot create directory %s: %s", buf, strerror(errno));
            return GPUSIM_EINVAL;
        }
        *p = saved;
        if (!saved)
            break;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s: not a directory", dir);
        return GPUSIM_EINVAL;
    }
    return 0;
}

/* A single-quoted gnuplot string. */
static void gp_quote(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\'')
            fputc('\'', f);
        if (*s != '\n' && *s != '\r')
            fputc(*s, f);
    }
    fputc('\'', f);
}

/* The largest unit of time the value reaches. */
static void time_unit(double max_ns, const char **name, double *div)
{
    static const struct {
        const char *name;
        double ns;
    } units[] = {{"s", 1e9}, {"ms", 1e6}, {"us", 1e3}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (max_ns >= units[i].ns) {
            *name = units[i].name;
            *div = units[i].ns;
            return;
        }
    *name = "ns";
    *div = 1;
}

enum { P_TIME, P_BLOCKED, P_PINNED, P_VIOL, NPANELS };

static double panel_value(const bench_row *r, int panel)
{
    switch (panel) {
    case P_TIME:
        return r->sim_time_ns;
    case P_BLOCKED:
        return r->blocked_ns;
    case P_PINNED:
        return r->pinned_peak;
    default:
        return r->uaf + r->stale;
    }
}

static void write_panels(FILE *f, const bench_group *g, const char *terminal, const char *out)
{
    static const char *const titles[NPANELS] = {"GPU completion time (sim_time_ns)",
                                                "invalidator blocked time (notifier.blocked_ns)",
                                                "pinned pages, peak (host.pinned_pages_peak)",
                                                "violations (checker.use_after_free + stale)"};
    static const char *const colors[NPANELS] = {"#4477aa", "#ee6677", "#228833", "#aa3377"};
    fprintf(f, "set terminal %s\nset output ", terminal);
    gp_quote(f, out);
    fputs("\nset multiplot layout 2,2 title ", f);
    char title[160];
    if (g->nseeds > 1)
        snprintf(title, sizeof title, "%s (mean of %zu seeds)", g->scenario, g->nseeds);
    else
        snprintf(title, sizeof title, "%s", g->scenario);
    gp_quote(f, title);
    fputs("\n", f);
    for (int p = 0; p < NPANELS; p++) {
        double max = 0, minpos = INFINITY;
        for (size_t r = 0; r < g->nrows; r++) {
            double v = panel_value(&g->rows[r], p);
            max = v > max ? v : max;
            if (v > 0 && v < minpos)
                minpos = v;
        }
        const char *unit = "";
        double div = 1;
        if (p == P_TIME || p == P_BLOCKED)
            time_unit(max, &unit, &div);
        bool logy = p == P_BLOCKED && max > 0;
        fputs("set title ", f);
        gp_quote(f, titles[p]);
        fputs("\nset ylabel ", f);
        gp_quote(f, p == P_TIME || p == P_BLOCKED ? unit : p == P_PINNED ? "pages" : "count");
        fputc('\n', f);
        if (logy) {
            /* Zero has no place on a log axis: those bars are left out (NaN). */
            fprintf(f, "set logscale y\nset yrange [%.6g:%.6g]\n", minpos / div / 2, max / div * 2);
            fprintf(f,
                    "plot $data using ($%d > 0 ? $%d / %.17g : NaN):xtic(1) notitle lc rgb '%s'\n",
                    p + 2, p + 2, div, colors[p]);
            fputs("unset logscale y\n", f);
        } else {
            fprintf(f, "set yrange [0:%.6g]\n", max > 0 ? max / div * 1.1 : 1.0);
            fprintf(f, "plot $data using ($%d / %.17g):xtic(1) notitle lc rgb '%s'\n", p + 2, div,
                    colors[p]);
        }
    }
    fputs("unset multiplot\nunset output\n", f);
}

static int write_script(const char *path, const char *name, const bench_group *g)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f,
            "# %s.gp -- written by gpusim-bench: the policies of scenario %s.\n"
            "# Draw again with: gnuplot %s.gp (in this directory)\n",
            name, g->scenario, name);
    fputs("$data << EOD\n# policy sim_time_ns blocked_ns pinned_pages violations\n", f);
    for (size_t r = 0; r < g->nrows; r++) {
        const bench_row *row = &g->rows[r];
        char label[SIM_NAME_MAX + 16];
        snprintf(label, sizeof label, "%s%s", row->policy,
                 row->failed == row->runs ? " (failed)" : "");
        for (char *c = label; *c; c++)
            if (*c == '"' || *c == '\n')
                *c = '\'';
        fprintf(f, "\"%s\" %.17g %.17g %.17g %.17g\n", label, row->sim_time_ns, row->blocked_ns,
                row->pinned_peak, row->uaf + row->stale);
    }
    fputs("EOD\n"
          "set style data histograms\n"
          "set style histogram clustered gap 1\n"
          "set style fill solid 0.85 border -1\n"
          "set boxwidth 0.8\n"
          "set xtics rotate by 30 right nomirror\n"
          "set grid ytics\n"
          "set key off\n",
          f);
    char out[300];
    snprintf(out, sizeof out, "%s.svg", name);
    write_panels(f, g, "svg size 1000,700 dynamic noenhanced font 'sans,11' background '#ffffff'",
                 out);
    snprintf(out, sizeof out, "%s.png", name);
    write_panels(f, g, "pngcairo size 1000,700 noenhanced font 'sans,10'", out);
    bool bad = ferror(f) != 0;
    return fclose(f) != 0 || bad ? -1 : 0;
}

static int run_gnuplot(const char *dir, const char *name, char *err, size_t errlen)
{
    /* A gnuplot that dies early would turn our next write into SIGPIPE: take EPIPE instead. */
    struct sigaction ign = {.sa_handler = SIG_IGN}, old;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGPIPE, &ign, &old);
    int rc = 0;
    FILE *p = popen("gnuplot", "w");
    if (!p) {
        snprintf(err, errlen, "cannot start gnuplot: %s", strerror(errno));
        rc = GPUSIM_ENOENT;
    } else {
        fputs("cd ", p);
        gp_quote(p, dir);
        fprintf(p, "\nload '%s.gp'\n", name); /* name is [A-Za-z0-9._-] only */
        int st = pclose(p);
        if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            snprintf(err, errlen, "gnuplot failed on %s/%s.gp (exit status %d)", dir, name,
                     st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1);
            rc = GPUSIM_EINVAL;
        }
    }
    sigaction(SIGPIPE, &old, NULL);
    return rc;
}

int bench_plot_write(const char *dir, const bench_group *g, size_t ngroups, char *err,
                     size_t errlen)
{
    int rc = bench_mkdirs(dir, err, errlen);
    if (rc)
        return rc;
    for (size_t k = 0; k < ngroups; k++) {
        char name[SIM_NAME_MAX], path[4200];
        bench_plot_name(g[k].scenario, name, sizeof name);
        snprintf(path, sizeof path, "%s/%s.gp", dir, name);
        if (write_script(path, name, &g[k]) != 0) {
            snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
            return GPUSIM_ENOSPC;
        }
        if ((rc = run_gnuplot(dir, name, err, errlen)) != 0)
            return rc;
    }
    return 0;
}
