/*
 * bench_args.c -- parses gpusim-bench's command line (bench_args.h).
 *
 * One table lists every option with the commands that take it, so an option given to the wrong
 * command is refused by name rather than ignored. Options may come before, between or after the
 * positional arguments, as `--opt VALUE` or `--opt=VALUE`; `--` ends the options. Every error is
 * one line naming the offending argument.
 */
#include "bench_args.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define CMD(c) (1u << (c))

typedef enum opt_id {
    OPT_HELP,
    OPT_VERSION,
    OPT_POLICY,
    OPT_SEEDS,
    OPT_PRESET,
    OPT_SET,
    OPT_FORCE,
    OPT_MEMORY_BUDGET,
    OPT_JOBS,
    OPT_FORMAT,
    OPT_OUTPUT,
    OPT_PLOT,
    OPT_TRACE,
    OPT_SHARD,
    OPT_PROGRESS,
    OPT_OUT,
    OPT_DIFF,
    OPT_MARKDOWN,
    OPT_QUICK,
    OPT_ONLY,
} opt_id;

typedef struct opt_desc {
    const char *name;
    opt_id id;
    bool takes_value;
    unsigned commands; /* CMD() mask of the commands that accept it */
} opt_desc;

static const opt_desc opts_table[] = {
    {"--help", OPT_HELP, false, ~0u},
    {"--version", OPT_VERSION, false, ~0u},
    {"--policy", OPT_POLICY, true, CMD(BENCH_CMD_RUN)},
    {"--seeds", OPT_SEEDS, true, CMD(BENCH_CMD_RUN)},
    {"--preset", OPT_PRESET, true, CMD(BENCH_CMD_RUN)},
    {"--set", OPT_SET, true, CMD(BENCH_CMD_RUN)},
    {"--force", OPT_FORCE, false, CMD(BENCH_CMD_RUN)},
    {"--memory-budget", OPT_MEMORY_BUDGET, true, CMD(BENCH_CMD_RUN)},
    {"--jobs", OPT_JOBS, true, CMD(BENCH_CMD_RUN)},
    {"--format", OPT_FORMAT, true, CMD(BENCH_CMD_RUN) | CMD(BENCH_CMD_MERGE) | CMD(BENCH_CMD_PERF)},
    {"--output", OPT_OUTPUT, true, CMD(BENCH_CMD_RUN) | CMD(BENCH_CMD_MERGE)},
    {"--plot", OPT_PLOT, true, CMD(BENCH_CMD_RUN)},
    {"--trace", OPT_TRACE, true, CMD(BENCH_CMD_RUN)},
    {"--shard", OPT_SHARD, true, CMD(BENCH_CMD_RUN)},
    {"--progress", OPT_PROGRESS, false, CMD(BENCH_CMD_RUN)},
    {"--out", OPT_OUT, true, CMD(BENCH_CMD_REPORT)},
    {"--diff", OPT_DIFF, false, CMD(BENCH_CMD_PRESETS)},
    {"--markdown", OPT_MARKDOWN, false, CMD(BENCH_CMD_PRESETS)},
    {"--quick", OPT_QUICK, false, CMD(BENCH_CMD_PERF)},
    {"--only", OPT_ONLY, true, CMD(BENCH_CMD_PERF)},
};

static const char *const command_names[] = {"",       "list",    "run", "merge",
                                            "report", "presets", "perf"};

void bench_usage(FILE *f)
{
    fputs("usage: gpusim-bench list\n"
          "       gpusim-bench run [SCENARIO|FILE ...] [options]\n"
          "       gpusim-bench merge FILE ... [--format FMT] [--output FILE]\n"
          "       gpusim-bench report RESULTS.json --out DIR\n"
          "       gpusim-bench presets [NAME | --diff A B | --markdown]\n"
          "       gpusim-bench perf [--quick] [--format table|json] [--only NAME,...]\n"
          "       gpusim-bench --help | --version\n"
          "\n"
          "Plays scenarios (built-in names or .ini files; none: every built-in) under driver\n"
          "policies and seeds, one simulated world per run, runs in parallel. docs/results.md\n"
          "describes the output.\n"
          "\n"
          "run options:\n"
          "  --policy LIST        comma-separated policies (default: all, see `list`)\n"
          "  --seeds N|LIST       N: seeds 1..N; LIST: comma-separated seeds, `7,` is seed 7\n"
          "                       alone (default: 1)\n"
          "  --preset NAME[+NAME] cost presets for every scenario: a GPU preset, a host preset\n"
          "                       or both (see `presets`); parameters set by name still win\n"
          "  --set NAME=VALUE     override a parameter (host.X, gpu.X, gpu.DEV.X, driver.X or X);\n"
          "                       may repeat\n"
          "  --force              let --set values lie outside the documented plausible range\n"
          "  --memory-budget SIZE the simulator's memory per run (default: the scenario's\n"
          "                       [scenario] memory_budget, 4GiB): a run that needs more fails\n"
          "  --jobs N             runs in parallel (default: the available CPUs)\n"
          "  --format FMT         table, csv or json (default: table)\n"
          "  --output FILE        write the results there instead of stdout\n"
          "  --plot DIR           per scenario, bar charts of the policies (gnuplot: SVG, PNG)\n"
          "  --trace FILE         Chrome trace-event JSON of every run (opens in Perfetto)\n"
          "  --shard I/N          run only combinations number % N == I (0 <= I < N)\n"
          "  --progress           show progress on stderr even when it is not a terminal\n"
          "\n"
          "merge: reads the JSON files of shards 0/N .. N-1/N of one run and writes what the\n"
          "unsharded run would have written (--format default: json).\n"
          "report: writes DIR/report.md and the plots it links to.\n"
          "presets: lists the cost presets and every parameter with its value in each preset;\n"
          "NAME: every parameter of that preset with its tag and source, the ones it changes\n"
          "marked; --diff A B: the parameters whose values differ between two presets of one\n"
          "kind; --markdown: docs/cost-model.md.\n"
          "perf: the simulator's own speed, each figure against a reference measured in the\n"
          "same run, with the issue's target and whether it is met (docs/performance.md);\n"
          "--quick: small sizes (seconds); --only: the measurements named (an unknown one:\n"
          "the list of them). Targets are printed, never an exit status.\n"
          "\n"
          "Exit status: 0 success, 1 a run failed, 2 usage error, 130 interrupted (Ctrl-C; the\n"
          "completed runs are written).\n",
          f);
}

static int usage_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return GPUSIM_EINVAL;
}

int bench_parse_u64(const char *text, uint64_t *out)
{
    uint64_t v = 0;
    if (!text || !*text)
        return GPUSIM_EINVAL;
    for (const char *p = text; *p; p++) {
        if (*p < '0' || *p > '9')
            return GPUSIM_EINVAL;
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return GPUSIM_EINVAL;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

static int parse_policies(bench_opts *o, const char *text, char *err, size_t errlen)
{
    char buf[256];
    if (strlen(text) >= sizeof buf)
        return usage_err(err, errlen, "--policy %.40s...: too long", text);
    strcpy(buf, text);
    o->npolicies = 0;
    char *save = NULL;
    if (!*buf || buf[strlen(buf) - 1] == ',' || *buf == ',' || strstr(buf, ",,"))
        return usage_err(err, errlen, "--policy '%s': empty policy name", text);
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        gpusim_policy_t p;
        if (gpusim_policy_from_name(tok, &p) != 0)
            return usage_err(err, errlen, "--policy: unknown policy '%s' (see gpusim-bench list)",
                             tok);
        for (size_t i = 0; i < o->npolicies; i++)
            if (o->policies[i] == p)
                return usage_err(err, errlen, "--policy: '%s' given twice", tok);
        o->policies[o->npolicies++] = p;
    }
    return 0;
}

static int parse_seeds(bench_opts *o, const char *text, char *err, size_t errlen)
{
    uint64_t n;
    free(o->seeds);
    o->seeds = NULL;
    o->nseeds = 0;
    if (!strchr(text, ',')) {
        if (bench_parse_u64(text, &n) != 0 || n == 0 || n > BENCH_MAX_SEEDS)
            return usage_err(err, errlen,
                             "--seeds '%s': expected a count 1..%d or a comma-separated list", text,
                             BENCH_MAX_SEEDS);
        o->seeds = malloc(n * sizeof *o->seeds);
        if (!o->seeds)
            return usage_err(err, errlen, "--seeds %s: out of memory", text);
        for (uint64_t i = 0; i < n; i++)
            o->seeds[i] = i + 1;
        o->nseeds = (size_t)n;
        return 0;
    }
    /* A list: items separated by commas; one trailing comma allowed ("7," is seed 7 alone). */
    size_t len = strlen(text), items = 1;
    for (size_t i = 0; i < len; i++)
        items += text[i] == ',';
    o->seeds = malloc(items * sizeof *o->seeds);
    if (!o->seeds)
        return usage_err(err, errlen, "--seeds: out of memory");
    const char *p = text;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t l = comma ? (size_t)(comma - p) : strlen(p);
        char item[32];
        if (l == 0 || l >= sizeof item)
            return usage_err(err, errlen, "--seeds '%s': %s seed in the list", text,
                             l ? "overlong" : "empty");
        memcpy(item, p, l);
        item[l] = '\0';
        /* JSON integers are signed 64-bit: seeds stay below 2^63 so that they print as such. */
        if (bench_parse_u64(item, &n) != 0 || n > (uint64_t)INT64_MAX)
            return usage_err(err, errlen, "--seeds: '%s' is not a seed (0..%lld)", item,
                             (long long)INT64_MAX);
        for (size_t i = 0; i < o->nseeds; i++)
            if (o->seeds[i] == n)
                return usage_err(err, errlen, "--seeds: seed %s given twice", item);
        o->seeds[o->nseeds++] = n;
        p += l;
        if (*p == ',')
            p++;
    }
    return 0;
}

static int parse_shard(bench_opts *o, const char *text, char *err, size_t errlen)
{
    const char *slash = strchr(text, '/');
    char a[32];
    uint64_t i, n;
    if (!slash || (size_t)(slash - text) >= sizeof a)
        return usage_err(err, errlen, "--shard '%s': expected I/N with 0 <= I < N", text);
    memcpy(a, text, (size_t)(slash - text));
    a[slash - text] = '\0';
    if (bench_parse_u64(a, &i) != 0 || bench_parse_u64(slash + 1, &n) != 0 || n == 0 || i >= n)
        return usage_err(err, errlen, "--shard '%s': expected I/N with 0 <= I < N", text);
    o->shard = i;
    o->nshards = n;
    return 0;
}

static int parse_set(bench_opts *o, const char *text, char *err, size_t errlen)
{
    const char *eq = strchr(text, '=');
    if (!eq || eq == text || !eq[1])
        return usage_err(err, errlen, "--set '%s': expected NAME=VALUE", text);
    if (o->nsets == SIM_MAX_SETTINGS)
        return usage_err(err, errlen, "--set: more than %d settings", SIM_MAX_SETTINGS);
    sim_setting *s = &o->sets[o->nsets];
    size_t nl = (size_t)(eq - text), vl = strlen(eq + 1);
    if (nl >= sizeof s->name || vl >= sizeof s->value)
        return usage_err(err, errlen, "--set '%s': name or value too long", text);
    memcpy(s->name, text, nl);
    s->name[nl] = '\0';
    memcpy(s->value, eq + 1, vl + 1);
    s->line = 0;
    o->nsets++;
    return 0;
}

static int apply_option(bench_opts *o, const opt_desc *d, const char *val, char *err, size_t errlen)
{
    uint64_t n;
    switch (d->id) {
    case OPT_HELP:
        o->help = true;
        return 0;
    case OPT_VERSION:
        o->version = true;
        return 0;
    case OPT_POLICY:
        return parse_policies(o, val, err, errlen);
    case OPT_SEEDS:
        return parse_seeds(o, val, err, errlen);
    case OPT_PRESET:
        if (!*val)
            return usage_err(err, errlen, "--preset: empty name");
        o->preset = val;
        return 0;
    case OPT_SET:
        return parse_set(o, val, err, errlen);
    case OPT_FORCE:
        o->force = true;
        return 0;
    case OPT_MEMORY_BUDGET: {
        char msg[128];
        if (gpusim_size_parse(val, &o->memory_budget, msg, sizeof msg) != 0)
            return usage_err(err, errlen, "--memory-budget '%s': %s", val, msg);
        if (o->memory_budget < SIM_MEMORY_BUDGET_MIN)
            return usage_err(err, errlen, "--memory-budget '%s': at least 1MiB", val);
        return 0;
    }
    case OPT_JOBS:
        if (bench_parse_u64(val, &n) != 0 || n == 0 || n > BENCH_MAX_JOBS)
            return usage_err(err, errlen, "--jobs '%s': expected 1..%d", val, BENCH_MAX_JOBS);
        o->jobs = (unsigned)n;
        return 0;
    case OPT_FORMAT:
        if (strcmp(val, "table") == 0)
            o->format = BENCH_FMT_TABLE;
        else if (strcmp(val, "csv") == 0)
            o->format = BENCH_FMT_CSV;
        else if (strcmp(val, "json") == 0)
            o->format = BENCH_FMT_JSON;
        else
            return usage_err(err, errlen, "--format '%s': expected table, csv or json", val);
        return 0;
    case OPT_OUTPUT:
    case OPT_PLOT:
    case OPT_TRACE:
    case OPT_OUT:
        if (!*val)
            return usage_err(err, errlen, "%s: empty path", d->name);
        if (d->id == OPT_OUTPUT)
            o->output = val;
        else if (d->id == OPT_PLOT)
            o->plot = val;
        else if (d->id == OPT_TRACE)
            o->trace = val;
        else
            o->out = val;
        return 0;
    case OPT_SHARD:
        return parse_shard(o, val, err, errlen);
    case OPT_PROGRESS:
        o->progress = true;
        return 0;
    case OPT_DIFF:
        o->diff = true;
        return 0;
    case OPT_MARKDOWN:
        o->markdown = true;
        return 0;
    case OPT_QUICK:
        o->quick = true;
        return 0;
    case OPT_ONLY:
        if (!*val)
            return usage_err(err, errlen, "--only: empty list");
        o->only = val;
        return 0;
    }
    return usage_err(err, errlen, "internal: option %s not handled", d->name);
}

/* The option named by arg ("--x" or "--x=value"), or NULL. */
static const opt_desc *find_option(const char *arg, const char **inline_val)
{
    const char *eq = strchr(arg, '=');
    size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
    for (size_t i = 0; i < sizeof opts_table / sizeof opts_table[0]; i++)
        if (strlen(opts_table[i].name) == len && strncmp(opts_table[i].name, arg, len) == 0) {
            *inline_val = eq ? eq + 1 : NULL;
            return &opts_table[i];
        }
    return NULL;
}

int bench_args_parse(int argc, char **argv, bench_opts *o, char *err, size_t errlen)
{
    memset(o, 0, sizeof *o);
    o->nshards = 1;
    o->inputs = calloc((size_t)(argc > 0 ? argc : 1), sizeof *o->inputs);
    if (!o->inputs)
        return usage_err(err, errlen, "out of memory");
    bool format_given = false, options_done = false;
    int i = 1;
    /* The command comes first, unless the line is only --help / --version. */
    if (i < argc && argv[i][0] != '-') {
        for (unsigned c = BENCH_CMD_LIST; c <= BENCH_CMD_PERF; c++)
            if (strcmp(argv[i], command_names[c]) == 0)
                o->command = (bench_command)c;
        if (o->command == BENCH_CMD_NONE)
            return usage_err(
                err, errlen,
                "unknown command '%s' (expected list, run, merge, report, presets or perf)",
                argv[i]);
        i++;
    }
    for (; i < argc; i++) {
        const char *arg = argv[i];
        if (options_done || arg[0] != '-' || strcmp(arg, "-") == 0) {
            if (o->command == BENCH_CMD_NONE)
                return usage_err(err, errlen,
                                 "'%s' before a command (list, run, merge, report, presets, perf)",
                                 arg);
            o->inputs[o->ninputs++] = arg;
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            options_done = true;
            continue;
        }
        const char *val = NULL;
        const opt_desc *d = find_option(arg, &val);
        if (!d)
            return usage_err(err, errlen, "unknown option '%s' (see --help)", arg);
        if (!(d->commands & CMD(o->command)))
            return usage_err(err, errlen, "option %s does not apply to %s", d->name,
                             o->command ? command_names[o->command] : "no command");
        if (d->takes_value && !val) {
            if (i + 1 >= argc)
                return usage_err(err, errlen, "option %s needs a value", d->name);
            val = argv[++i];
        } else if (!d->takes_value && val) {
            return usage_err(err, errlen, "option %s takes no value", d->name);
        }
        if (d->id == OPT_FORMAT)
            format_given = true;
        int rc = apply_option(o, d, val, err, errlen);
        if (rc)
            return rc;
    }
    if (o->help || o->version)
        return 0;
    switch (o->command) {
    case BENCH_CMD_NONE:
        return usage_err(err, errlen,
                         "missing command (list, run, merge, report, presets or perf); see --help");
    case BENCH_CMD_LIST:
        if (o->ninputs)
            return usage_err(err, errlen, "list takes no arguments ('%s')", o->inputs[0]);
        break;
    case BENCH_CMD_RUN:
        break;
    case BENCH_CMD_MERGE:
        if (!o->ninputs)
            return usage_err(err, errlen, "merge needs at least one results file");
        if (!format_given)
            o->format = BENCH_FMT_JSON;
        break;
    case BENCH_CMD_REPORT:
        if (o->ninputs != 1)
            return usage_err(err, errlen, "report needs exactly one results file, not %zu",
                             o->ninputs);
        if (!o->out)
            return usage_err(err, errlen, "report needs --out DIR");
        break;
    case BENCH_CMD_PRESETS:
        if (o->diff && o->markdown)
            return usage_err(err, errlen, "presets: --diff and --markdown do not combine");
        if (o->markdown && o->ninputs)
            return usage_err(err, errlen, "presets --markdown takes no arguments ('%s')",
                             o->inputs[0]);
        if (o->diff && o->ninputs != 2)
            return usage_err(err, errlen, "presets --diff needs two presets, not %zu", o->ninputs);
        if (!o->diff && o->ninputs > 1)
            return usage_err(err, errlen,
                             "presets takes at most one preset, not %zu (compare two with --diff)",
                             o->ninputs);
        break;
    case BENCH_CMD_PERF:
        if (o->ninputs)
            return usage_err(err, errlen, "perf takes no arguments ('%s'); see --only",
                             o->inputs[0]);
        if (o->format == BENCH_FMT_CSV)
            return usage_err(err, errlen, "perf: --format csv is not offered (table or json)");
        break;
    }
    if (o->command == BENCH_CMD_RUN) {
        if (!o->npolicies)
            for (unsigned p = 0; p < GPUSIM_POLICY_COUNT; p++)
                o->policies[o->npolicies++] = (gpusim_policy_t)p;
        if (!o->nseeds) {
            o->seeds = malloc(sizeof *o->seeds);
            if (!o->seeds)
                return usage_err(err, errlen, "out of memory");
            o->seeds[0] = 1;
            o->nseeds = 1;
        }
    }
    return 0;
}

void bench_args_free(bench_opts *o)
{
    free(o->inputs);
    free(o->seeds);
    o->inputs = NULL;
    o->seeds = NULL;
}
