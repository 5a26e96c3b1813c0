/*
 * bench_presets.c -- `gpusim-bench presets` (bench_presets.h): lists the presets and the three
 * parameter tables, one preset, the difference between two, or docs/cost-model.md.
 *
 * The tables are read through the public API only: gpusim_{host,gpu,driver}_param_info() for a
 * field's row (its default is the default preset's value) and gpusim_preset_param() for a
 * preset's value, tag and source. A preset's own tag and source are shown wherever it changes a
 * field, so no value appears without the reason for it.
 *
 * Invariants: the output is a function of the library alone (no clock, no environment), so the
 * markdown is byte-identical on every machine and CTest can compare it with the checked-in doc;
 * errors are found before anything is written, so a usage error leaves stdout empty; a failed
 * write is caught once at the end (ferror), as the other commands do.
 */
#include "bench_presets.h"

#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#define MAX_PRESETS 16 /* of one kind; more is a library change this file must follow */
#define CELL        80 /* one cell of a text table: a name, a value, a range, tags */
#define MAX_COLS    (MAX_PRESETS + 4)

typedef int (*info_fn)(size_t i, gpusim_param_info_t *out);

static const info_fn table_info[GPUSIM_LAYER_COUNT] = {
    gpusim_host_param_info, gpusim_gpu_param_info, gpusim_driver_param_info};

static gpusim_preset_kind_t kind_of(gpusim_layer_t layer)
{
    return layer == GPUSIM_LAYER_HOST ? GPUSIM_PRESET_HOST : GPUSIM_PRESET_GPU;
}

static const char *kind_name(gpusim_preset_kind_t kind)
{
    return kind == GPUSIM_PRESET_HOST ? "host" : "GPU";
}

/* The layers a preset of `kind` sets, in table order. */
static size_t layers_of(gpusim_preset_kind_t kind, gpusim_layer_t *out)
{
    size_t n = 0;
    for (unsigned l = 0; l < GPUSIM_LAYER_COUNT; l++)
        if (kind_of((gpusim_layer_t)l) == kind)
            out[n++] = (gpusim_layer_t)l;
    return n;
}

static size_t nfields(gpusim_layer_t layer)
{
    gpusim_param_info_t t;
    size_t n = 0;
    while (table_info[layer](n, &t) == 0)
        n++;
    return n;
}

/* The presets of `kind` in the library's order, which puts its default first. */
static size_t presets_of(gpusim_preset_kind_t kind, gpusim_preset_info_t *out)
{
    gpusim_preset_info_t p;
    size_t n = 0;
    for (size_t i = 0; gpusim_preset_info(i, &p) == 0; i++)
        if (p.kind == kind && n < MAX_PRESETS)
            out[n++] = p;
    return n;
}

/* Preset `name`'s row i of `layer`, and whether it changes the field. The caller has checked
 * that the preset exists and sets the layer, so this cannot fail for i below nfields(). */
static gpusim_param_info_t param_of(const char *name, gpusim_layer_t layer, size_t i, bool *changed)
{
    gpusim_param_info_t v;
    memset(&v, 0, sizeof v);
    if (gpusim_preset_param(name, layer, i, &v, changed) != 0) {
        v.name = v.unit = v.tag = v.source = "?";
        if (changed)
            *changed = false;
    }
    return v;
}

/* A value with its unit, as the library prints parameters (core/param.c): "2.3us", "80GiB",
 * "55GB/s", "51%", "on"; the spellings --set and scenario files accept. */
static void format_value(const char *unit, uint64_t v, char *buf, size_t len)
{
    if (strcmp(unit, "ns") == 0)
        gpusim_duration_format(v, buf, len);
    else if (strcmp(unit, "bytes") == 0)
        gpusim_size_format(v, buf, len);
    else if (strcmp(unit, "bytes/s") == 0)
        gpusim_rate_format(v, buf, len);
    else if (strcmp(unit, "percent") == 0)
        snprintf(buf, len, "%" PRIu64 "%%", v);
    else if (strcmp(unit, "bool") == 0)
        snprintf(buf, len, "%s", v ? "on" : "off");
    else
        snprintf(buf, len, "%" PRIu64, v);
}

static void format_range(const gpusim_param_info_t *t, char *buf, size_t len)
{
    char lo[GPUSIM_UNITS_BUFSZ], hi[GPUSIM_UNITS_BUFSZ];
    format_value(t->unit, t->min, lo, sizeof lo);
    format_value(t->unit, t->max, hi, sizeof hi);
    snprintf(buf, len, "%s..%s", lo, hi);
}

static int usage(const char *fmt, ...)
{
    va_list ap;
    fputs("gpusim-bench: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return BENCH_EXIT_USAGE;
}

/* Finds preset `name` into *p, or says which presets there are. Returns an exit status. */
static int lookup(const char *name, gpusim_preset_info_t *p)
{
    char known[512] = "";
    int i = gpusim_preset_find(name);
    if (i >= 0 && gpusim_preset_info((size_t)i, p) == 0)
        return BENCH_EXIT_OK;
    for (size_t k = 0; gpusim_preset_info(k, p) == 0; k++) {
        size_t len = strlen(known);
        snprintf(known + len, sizeof known - len, "%s%s", k ? ", " : "", p->name);
    }
    return usage("unknown preset '%s' (known: %s)", name, known);
}

/* ---- text tables ---------------------------------------------------------------------------- */

typedef char cell[CELL];

/* Prints cells[0..n) padded to width[], two spaces apart, without trailing blanks. */
static void print_cells(FILE *out, const char *indent, cell *cells, size_t n, const size_t *width)
{
    fputs(indent, out);
    for (size_t c = 0; c < n; c++) {
        if (c + 1 < n)
            fprintf(out, "%-*s  ", (int)width[c], cells[c]);
        else
            fputs(cells[c], out);
    }
    fputc('\n', out);
}

static void widen(size_t *width, cell *cells, size_t n)
{
    for (size_t c = 0; c < n; c++)
        if (strlen(cells[c]) > width[c])
            width[c] = strlen(cells[c]);
}

/* Overview row i of `layer` (i == SIZE_MAX: the header): name, unit, the value in each preset
 * (with '*' where it changes the field), range, and the tags, one per preset in column order
 * where they differ. Returns the number of cells. */
static size_t overview_row(gpusim_layer_t layer, size_t i, const gpusim_preset_info_t *ps,
                           size_t np, cell *cells)
{
    size_t c = 0;
    if (i == SIZE_MAX) {
        snprintf(cells[c++], CELL, "name");
        snprintf(cells[c++], CELL, "unit");
        for (size_t k = 0; k < np; k++)
            snprintf(cells[c++], CELL, "%s", ps[k].name);
        snprintf(cells[c++], CELL, "range");
        snprintf(cells[c++], CELL, "tag");
        return c;
    }
    gpusim_param_info_t t;
    if (table_info[layer](i, &t) != 0)
        return 0;
    char tags[CELL] = "";
    bool tags_differ = false;
    snprintf(cells[c++], CELL, "%s", t.name);
    snprintf(cells[c++], CELL, "%s", t.unit);
    for (size_t k = 0; k < np; k++) {
        bool changed;
        gpusim_param_info_t v = param_of(ps[k].name, layer, i, &changed);
        char val[GPUSIM_UNITS_BUFSZ];
        format_value(t.unit, v.def, val, sizeof val);
        snprintf(cells[c++], CELL, "%s%s", val, changed ? "*" : "");
        tags_differ |= strcmp(v.tag, t.tag) != 0;
        size_t len = strlen(tags);
        snprintf(tags + len, sizeof tags - len, "%s%s", k ? "/" : "", v.tag);
    }
    format_range(&t, cells[c++], CELL);
    snprintf(cells[c++], CELL, "%s", tags_differ ? tags : t.tag);
    return c;
}

static void print_overview(FILE *out)
{
    gpusim_preset_info_t p, ps[MAX_PRESETS];
    cell cells[MAX_COLS];
    size_t width[MAX_COLS] = {0};

    fputs("Presets (a GPU preset sets the gpu and driver tables, a host preset the host table):\n",
          out);
    for (size_t pass = 0; pass < 2; pass++)
        for (size_t i = 0; gpusim_preset_info(i, &p) == 0; i++) {
            snprintf(cells[0], CELL, "%s", p.name);
            snprintf(cells[1], CELL, "%s", kind_name(p.kind));
            snprintf(cells[2], CELL, "%s", p.is_default ? "default" : "");
            if (pass == 0) {
                widen(width, cells, 3);
                continue;
            }
            fputs("  ", out);
            for (size_t c = 0; c < 3; c++)
                fprintf(out, "%-*s  ", (int)width[c], cells[c]);
            fprintf(out, "%s\n", p.description); /* may be longer than a cell */
        }

    for (unsigned l = 0; l < GPUSIM_LAYER_COUNT; l++) {
        gpusim_layer_t layer = (gpusim_layer_t)l;
        size_t np = presets_of(kind_of(layer), ps), nf = nfields(layer), nc = 0;
        memset(width, 0, sizeof width);
        for (size_t i = 0; i <= nf; i++) {
            nc = overview_row(layer, i == nf ? SIZE_MAX : i, ps, np, cells);
            widen(width, cells, nc);
        }
        fprintf(out, "\n%s parameters (%zu):\n", gpusim_layer_name(layer), nf);
        nc = overview_row(layer, SIZE_MAX, ps, np, cells);
        print_cells(out, "  ", cells, nc, width);
        for (size_t i = 0; i < nf; i++) {
            nc = overview_row(layer, i, ps, np, cells);
            print_cells(out, "  ", cells, nc, width);
        }
    }
    fputs("\n* the preset changes the field (the first preset of each kind is its default).\n"
          "tag: how the value is known (R read in the primary text, R2 in a secondary source, "
          "C code\n"
          "constant, D derived, W low-authority web text, U estimate, S simulator setting); one "
          "per\n"
          "preset, in column order, where they differ. `gpusim-bench presets NAME` shows the "
          "sources;\n"
          "docs/cost-model.md has everything.\n",
          out);
}

/* ---- one preset ----------------------------------------------------------------------------- */

static void print_preset(FILE *out, const gpusim_preset_info_t *p)
{
    gpusim_layer_t layers[GPUSIM_LAYER_COUNT];
    gpusim_preset_info_t ps[MAX_PRESETS];
    size_t nl = layers_of(p->kind, layers), nchanged = 0;
    size_t wname = 0, wval = 0;
    presets_of(p->kind, ps);

    for (size_t l = 0; l < nl; l++)
        for (size_t i = 0; i < nfields(layers[l]); i++) {
            bool changed;
            char val[GPUSIM_UNITS_BUFSZ];
            gpusim_param_info_t v = param_of(p->name, layers[l], i, &changed);
            format_value(v.unit, v.def, val, sizeof val);
            nchanged += changed;
            wname = strlen(v.name) > wname ? strlen(v.name) : wname;
            wval = strlen(val) > wval ? strlen(val) : wval;
        }

    fprintf(out, "%s: %s\n", p->name, p->description);
    if (p->is_default)
        fprintf(out,
                "The default %s preset: its values are the defaults of its tables, and it "
                "changes no field.\n",
                kind_name(p->kind));
    else
        fprintf(out, "A %s preset: * marks the %zu field%s it changes from %s, the default.\n",
                kind_name(p->kind), nchanged, nchanged == 1 ? "" : "s", ps[0].name);
    for (size_t l = 0; l < nl; l++) {
        fprintf(out, "\n%s parameters:\n", gpusim_layer_name(layers[l]));
        for (size_t i = 0; i < nfields(layers[l]); i++) {
            bool changed;
            char val[GPUSIM_UNITS_BUFSZ], tag[CELL];
            gpusim_param_info_t v = param_of(p->name, layers[l], i, &changed);
            format_value(v.unit, v.def, val, sizeof val);
            snprintf(tag, sizeof tag, "[%s]", v.tag);
            fprintf(out, "%s %-*s  %-*s  %-4s  %s\n", changed ? "*" : " ", (int)wname, v.name,
                    (int)wval, val, tag, v.source);
        }
    }
}

/* ---- two presets ---------------------------------------------------------------------------- */

static int print_diff(FILE *out, const gpusim_preset_info_t *a, const gpusim_preset_info_t *b)
{
    gpusim_layer_t layers[GPUSIM_LAYER_COUNT];
    size_t nl, ndiff = 0;
    int wname;
    if (a->kind != b->kind)
        return usage("presets --diff: %s is a %s preset and %s a %s preset; only presets of one "
                     "kind compare",
                     a->name, kind_name(a->kind), b->name, kind_name(b->kind));
    nl = layers_of(a->kind, layers);
    wname = (int)(strlen(a->name) > strlen(b->name) ? strlen(a->name) : strlen(b->name));
    for (size_t l = 0; l < nl; l++)
        for (size_t i = 0; i < nfields(layers[l]); i++)
            ndiff += param_of(a->name, layers[l], i, NULL).def !=
                     param_of(b->name, layers[l], i, NULL).def;
    if (ndiff == 0) {
        fprintf(out, "%s and %s: no differences\n", a->name, b->name);
        return BENCH_EXIT_OK;
    }
    fprintf(out, "%s and %s differ in %zu field%s:\n", a->name, b->name, ndiff,
            ndiff == 1 ? "" : "s");
    for (size_t l = 0; l < nl; l++)
        for (size_t i = 0; i < nfields(layers[l]); i++) {
            gpusim_param_info_t va = param_of(a->name, layers[l], i, NULL);
            gpusim_param_info_t vb = param_of(b->name, layers[l], i, NULL);
            char sa[GPUSIM_UNITS_BUFSZ], sb[GPUSIM_UNITS_BUFSZ], ta[CELL], tb[CELL];
            int wval;
            if (va.def == vb.def)
                continue;
            format_value(va.unit, va.def, sa, sizeof sa);
            format_value(vb.unit, vb.def, sb, sizeof sb);
            snprintf(ta, sizeof ta, "[%s]", va.tag);
            snprintf(tb, sizeof tb, "[%s]", vb.tag);
            wval = (int)(strlen(sa) > strlen(sb) ? strlen(sa) : strlen(sb));
            fprintf(out, "\n%s.%s\n", gpusim_layer_name(layers[l]), va.name);
            fprintf(out, "  %-*s  %-*s  %-4s  %s\n", wname, a->name, wval, sa, ta, va.source);
            fprintf(out, "  %-*s  %-*s  %-4s  %s\n", wname, b->name, wval, sb, tb, vb.source);
        }
    return BENCH_EXIT_OK;
}

/* ---- docs/cost-model.md --------------------------------------------------------------------- */

/* Writes text into a markdown table cell: '|' would end the cell, '<' open HTML, and '*', '`',
 * '\' and a '_' at a word's edge would start formatting; all are escaped. */
static void md_text(FILE *out, const char *s)
{
    for (const char *p = s; *p; p++) {
        bool word_before = p > s && (p[-1] == '_' || (p[-1] >= '0' && p[-1] <= '9') ||
                                     ((p[-1] | 0x20) >= 'a' && (p[-1] | 0x20) <= 'z'));
        bool word_after = p[1] == '_' || (p[1] >= '0' && p[1] <= '9') ||
                          ((p[1] | 0x20) >= 'a' && (p[1] | 0x20) <= 'z');
        if (*p == '|' || *p == '*' || *p == '`' || *p == '\\' ||
            (*p == '_' && !(word_before && word_after)))
            fputc('\\', out);
        if (*p == '<')
            fputs("&lt;", out);
        else
            fputc(*p, out);
    }
}

static const char *const md_intro =
    "# The cost model\n"
    "\n"
    "Every cost the simulator charges, and every setting that shapes its model, is a named\n"
    "parameter of one of three tables: the host's (`host`), the GPU's (`gpu`) and the\n"
    "driver policies' (`driver`). This file lists every parameter with its unit, its value\n"
    "in each preset, its plausible range, how well the value is known and where it comes\n"
    "from. It is generated from the tables that define the presets (the `*_PARAM_MAP`\n"
    "tables of `src/host/host.h`, `src/gpu/params.h` and `src/mirror/mirror.h`, and\n"
    "`src/preset/preset.c`), so it cannot disagree with the code: CTest `docs.cost_model`\n"
    "fails when it does.\n"
    "\n"
    "## How to read it\n"
    "\n"
    "- **Values** are written as scenario files and `--set` take them: durations in ns, us,\n"
    "  ms, s; sizes in binary units (KiB = 2^10 bytes, GiB = 2^30 bytes); rates in decimal\n"
    "  bytes per second (GB/s = 10^9 B/s); counts as plain numbers; percentages with `%`;\n"
    "  switches as `on` or `off`. A value in **bold** is one a preset changes from its\n"
    "  kind's default preset.\n"
    "- **Range** is the plausible range: a value set by name outside it is refused unless\n"
    "  forced. It bounds sweeps; it does not claim that every value inside it is realistic.\n"
    "- **Source** says where the value comes from. \"cost-model.md N\" or \"§N\" is section N\n"
    "  of `../shared/reference/cost-model.md` (the research notes, which cite the primary\n"
    "  sources), and \"anchors.md\" is `../shared/reference/anchors.md`. Where a preset\n"
    "  changes a field, its own tag and source follow the default's, after the preset's\n"
    "  name.\n"
    "- **Tag** says how well the value is known, as in `../shared/reference/cost-model.md`\n"
    "  §0:\n"
    "\n"
    "| tag | meaning |\n"
    "|---|---|\n"
    "| R | read in the primary text: a paper, a kernel commit message, vendor documentation, an "
    "issue thread with the measurement |\n"
    "| R2 | read in a secondary source that quotes or summarises the primary one, whose own text "
    "was not seen |\n"
    "| C | a constant in source code (Linux, a driver, another simulator's configuration): a "
    "design parameter, not a measurement |\n"
    "| D | derived with arithmetic from other figures; the source shows the arithmetic |\n"
    "| W | read in low-authority web text (a blog, a tutorial, a newsletter); as weak as U |\n"
    "| U | an estimate, not verified: to be calibrated before a result depends on it |\n"
    "| S | a simulator setting, not a cost |\n";

static void md_presets(FILE *out)
{
    gpusim_preset_info_t p;
    fputs("\n"
          "## Presets\n"
          "\n"
          "A GPU preset sets the `gpu` and `driver` tables, a host preset the `host` table; a\n"
          "configuration takes one of each, and a kind's default preset when it names none. Apply\n"
          "presets first and single parameters after them: applying a preset sets every parameter\n"
          "of its tables (`gpusim_gpu_config_preset()` and friends in `include/gpusim/preset.h`).\n"
          "`gpusim-bench presets` lists them, `gpusim-bench presets --diff A B` compares two.\n"
          "\n"
          "| preset | kind | default | description |\n"
          "|---|---|---|---|\n",
          out);
    for (size_t i = 0; gpusim_preset_info(i, &p) == 0; i++) {
        fprintf(out, "| `%s` | %s | %s | ", p.name, kind_name(p.kind), p.is_default ? "yes" : "no");
        md_text(out, p.description);
        fputs(" |\n", out);
    }
}

/* How a layer's parameters are set by name, for its section's introduction. */
static const char *const md_set_by_name[GPUSIM_LAYER_COUNT] = {
    "in a scenario's `[host]` section,\n"
    "with `--set host.NAME=VALUE`, or with `gpusim_host_config_set()`",
    "in a scenario's `[gpu]` section,\n"
    "with `--set gpu.NAME=VALUE`, or with `gpusim_gpu_config_set()`",
    "as `driver.NAME` in a scenario's `[gpu]`\n"
    "section, with `--set driver.NAME=VALUE`, or with `gpusim_driver_config_set()`",
};

static void md_layer(FILE *out, gpusim_layer_t layer)
{
    static const char *const title[GPUSIM_LAYER_COUNT] = {"Host", "GPU", "Driver"};
    gpusim_preset_info_t ps[MAX_PRESETS];
    size_t np = presets_of(kind_of(layer), ps), nf = nfields(layer);

    fprintf(out, "\n## %s parameters (`%s`)\n\n", title[layer], gpusim_layer_name(layer));
    fprintf(out, "%zu parameters, set %s.\n\n", nf, md_set_by_name[layer]);
    fputs("| parameter | unit |", out);
    for (size_t k = 0; k < np; k++)
        fprintf(out, " `%s` |", ps[k].name);
    fputs(" range | tag | source |\n|---|---|", out);
    for (size_t k = 0; k < np; k++)
        fputs("--:|", out);
    fputs("---|---|---|\n", out);

    for (size_t i = 0; i < nf; i++) {
        gpusim_param_info_t t;
        char buf[CELL];
        if (table_info[layer](i, &t) != 0)
            break;
        fprintf(out, "| `%s` | %s |", t.name, t.unit);
        for (size_t k = 0; k < np; k++) {
            bool changed;
            gpusim_param_info_t v = param_of(ps[k].name, layer, i, &changed);
            format_value(t.unit, v.def, buf, sizeof buf);
            fprintf(out, changed ? " **%s** |" : " %s |", buf);
        }
        format_range(&t, buf, sizeof buf);
        fprintf(out, " %s | %s", buf, t.tag);
        for (size_t k = 0; k < np; k++) {
            bool changed;
            gpusim_param_info_t v = param_of(ps[k].name, layer, i, &changed);
            if (changed)
                fprintf(out, "<br>%s: %s", ps[k].name, v.tag);
        }
        fputs(" | ", out);
        md_text(out, t.source);
        for (size_t k = 0; k < np; k++) {
            bool changed;
            gpusim_param_info_t v = param_of(ps[k].name, layer, i, &changed);
            if (changed) {
                fprintf(out, "<br>**%s:** [%s] ", ps[k].name, v.tag);
                md_text(out, v.source);
            }
        }
        fputs(" |\n", out);
    }
}

static void print_markdown(FILE *out)
{
    fputs("<!-- Generated from the parameter tables and presets by `make cost-model-doc` "
          "(gpusim-bench presets, markdown output): do not edit. -->\n",
          out);
    fputs(md_intro, out);
    md_presets(out);
    for (unsigned l = 0; l < GPUSIM_LAYER_COUNT; l++)
        md_layer(out, (gpusim_layer_t)l);
}

/* ---- the command ---------------------------------------------------------------------------- */

int bench_presets(const bench_opts *o, FILE *out)
{
    gpusim_preset_info_t a, b;
    int status = BENCH_EXIT_OK;
    /* Every name is checked before anything is written. */
    for (size_t i = 0; i < o->ninputs; i++)
        if ((status = lookup(o->inputs[i], i ? &b : &a)) != BENCH_EXIT_OK)
            return status;
    if (o->markdown)
        print_markdown(out);
    else if (o->diff)
        status = print_diff(out, &a, &b);
    else if (o->ninputs == 1)
        print_preset(out, &a);
    else
        print_overview(out);
    if (fflush(out) != 0 || ferror(out)) {
        fprintf(stderr, "gpusim-bench: cannot write to stdout\n");
        return BENCH_EXIT_FAILED;
    }
    return status;
}
