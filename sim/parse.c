/*
 * sim/parse.c -- reads a scenario file (docs/scenarios.md) into a sim_scenario.
 *
 * inih splits `key = value` lines and strips comments; it is driven with ini_parse_stream() and a
 * reader of our own, which counts the lines it hands out (so every error carries FILE:LINE:), strips
 * leading blanks (so an indented key is a key, never an inih continuation line), and handles the
 * lines inih would treat loosely itself: section headers (checked and opened here, also when the
 * section has no keys: this inih build calls the handler for keys only), lines that are not
 * `key = value`, over-long lines. It hands inih an empty line in place of each of those.
 *
 * Three phases: (1) each key is parsed into the section's structure as it comes (parse_keys.c
 * says how); (2) when a section ends, the checks that need all of its keys run (required keys,
 * keys that do not apply to the section's `type =` or `kernel =`); (3) at the end of the file,
 * names are resolved to indices, defaults that depend on other sections are filled, and the
 * implicit gpu0 and process "app" are added. Phases 2 and 3 are in parse_check.c. Errors stop at the first: the context keeps one
 * message, and the reader hands out nothing more once it is set.
 *
 * Invariants: on success every index in *out is valid, every name unique in its kind, and each
 * gpu and process cfg.name points at its desc's name inside *out; on error *out is unspecified.
 */
#include "parse_internal.h"

#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const sim__sect_names[SIM__S_COUNT] = {
    "scenario", "host", "gpu", "process", "buffer", "job", "activity", "expect",
};

int sim__fail(sim__pctx *c, unsigned line, const char *fmt, ...)
{
    if (c->rc != 0)
        return c->rc;
    c->rc = GPUSIM_EINVAL;
    size_t off = 0;
    if (c->errlen > 0) {
        int n = snprintf(c->err, c->errlen, "%s:%u: ", c->fname, line);
        off = n < 0 ? 0 : (size_t)n;
    }
    if (off < c->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err + off, c->errlen - off, fmt, ap);
        va_end(ap);
    }
    return c->rc;
}

/* A setter's failure: "key: why", unless the library's message already starts with the key. */
static int fail_key(sim__pctx *c, const char *key, const char *msg)
{
    size_t n = strlen(key);
    if (strncmp(msg, key, n) == 0 && msg[n] == ':')
        sim__fail(c, c->lineno, "%s", msg);
    else
        sim__fail(c, c->lineno, "%s: %s", key, msg);
    return c->rc;
}

sim__sect *sim__sect_of(sim__pctx *c, sim__sect_kind kind, unsigned index)
{
    return &c->sects[c->by_index[kind][index]];
}

/* The line of key `name` in section sc, or 0 when it was not given. */
unsigned sim__key_line(const sim__sect *sc, const char *name)
{
    size_t n;
    const sim__key *keys = sim__keys(sc->kind, &n);
    int i = sim__key_find(keys, n, name);
    return i >= 0 ? sc->kl[i] : 0;
}

/* ---- opening a section -------------------------------------------------------------------- */

static const unsigned kind_max[SIM__S_COUNT] = {
    1, 1, SIM_MAX_GPUS, SIM_MAX_PROCESSES, SIM_MAX_BUFFERS, SIM_MAX_JOBS, SIM_MAX_ACTIVITIES, 1,
};

unsigned *sim__kind_count(sim_scenario *s, sim__sect_kind kind)
{
    switch (kind) {
    case SIM__S_GPU:
        return &s->ngpus;
    case SIM__S_PROCESS:
        return &s->nprocesses;
    case SIM__S_BUFFER:
        return &s->nbuffers;
    case SIM__S_JOB:
        return &s->njobs;
    case SIM__S_ACTIVITY:
        return &s->nactivities;
    default:
        return NULL;
    }
}

const char *sim__item_name(sim_scenario *s, sim__sect_kind kind, unsigned i)
{
    switch (kind) {
    case SIM__S_GPU:
        return s->gpus[i].name;
    case SIM__S_PROCESS:
        return s->processes[i].name;
    case SIM__S_BUFFER:
        return s->buffers[i].name;
    case SIM__S_JOB:
        return s->jobs[i].name;
    case SIM__S_ACTIVITY:
        return s->activities[i].name;
    default:
        return "";
    }
}

void sim__gpu_init(sim_gpu_desc *g, const char *name, unsigned line)
{
    memset(g, 0, sizeof *g);
    snprintf(g->name, sizeof g->name, "%s", name);
    gpusim_gpu_config_init(&g->cfg);
    gpusim_driver_config_init(&g->drv, GPUSIM_POLICY_NONE);
    g->policy = GPUSIM_POLICY_NONE;
    g->line = line;
}

void sim__process_init(sim_process_desc *p, const char *name, unsigned line)
{
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    gpusim_process_config_init(&p->cfg);
    p->line = line;
}

/* Fills a new item of `kind` with its defaults. */
static void item_init(sim_scenario *s, sim__sect_kind kind, unsigned i, const char *name,
                      unsigned line)
{
    switch (kind) {
    case SIM__S_GPU:
        sim__gpu_init(&s->gpus[i], name, line);
        break;
    case SIM__S_PROCESS:
        sim__process_init(&s->processes[i], name, line);
        break;
    case SIM__S_BUFFER: {
        sim_buffer_desc *b = &s->buffers[i];
        memset(b, 0, sizeof *b);
        b->populate = true;
        b->writable = true;
        b->line = line;
        snprintf(b->name, sizeof b->name, "%s", name);
        break;
    }
    case SIM__S_JOB: {
        sim_job_desc *j = &s->jobs[i];
        memset(j, 0, sizeof *j);
        j->kind = SIM_JOB_KERNEL;
        j->kernel.pattern = GPUSIM_PATTERN_SEQUENTIAL;
        j->kernel.passes = 1;
        j->kernel.bytes_per_touch = GPUSIM_PKT_MAX_BYTES_PER_TOUCH;
        j->kernel.compute_ns_per_touch = 100;
        j->kernel.waves = 1;
        j->repeat = 1;
        j->line = line;
        snprintf(j->name, sizeof j->name, "%s", name);
        break;
    }
    case SIM__S_ACTIVITY: {
        sim_activity_desc *a = &s->activities[i];
        memset(a, 0, sizeof *a);
        a->type = SIM_ACT_COUNT; /* not given yet */
        a->buffer = -1;
        a->line = line;
        snprintf(a->name, sizeof a->name, "%s", name);
        break;
    }
    default:
        break;
    }
}

/* Equal once every '-' is a '_'. */
static bool same_process_name(const char *a, const char *b)
{
    for (; *a != '\0' && *b != '\0'; a++, b++)
        if ((*a == '-' ? '_' : *a) != (*b == '-' ? '_' : *b))
            return false;
    return *a == *b;
}

/* "[kind]" or "[kind NAME]": checks it, closes the open section and opens this one. */
static int section_header(sim__pctx *c, char *line)
{
    char *end = strchr(line, ']');
    if (end == NULL)
        return sim__fail(c, c->lineno, "section header without ']'");
    char *rest = end + 1;
    rest += strspn(rest, " \t");
    if (*rest != '\0' && *rest != ';' && *rest != '#')
        return sim__fail(c, c->lineno, "unexpected text after ']': '%s'", rest);
    *end = '\0';
    char *inner = line + 1;
    inner += strspn(inner, " \t");
    size_t wl = strcspn(inner, " \t");
    char *name = inner + wl;
    name += strspn(name, " \t");
    char *ne = name + strlen(name);
    while (ne > name && (ne[-1] == ' ' || ne[-1] == '\t'))
        *--ne = '\0';
    inner[wl] = '\0';

    int kind = -1;
    for (int k = 0; k < SIM__S_COUNT; k++)
        if (strcmp(inner, sim__sect_names[k]) == 0)
            kind = k;
    if (kind < 0)
        return sim__fail(
            c, c->lineno,
            "unknown section [%s] (known: scenario, host, gpu, process NAME, buffer NAME, "
            "job NAME, activity NAME, expect)",
            inner);
    sim__close_section(c);
    if (c->rc != 0)
        return c->rc;
    c->cur = NULL;
    c->ndyn = 0;

    bool named = kind == SIM__S_PROCESS || kind == SIM__S_BUFFER || kind == SIM__S_JOB ||
                 kind == SIM__S_ACTIVITY;
    if (kind == SIM__S_GPU && *name == '\0')
        name = "gpu0";
    if (sim__kind_count(c->s, kind) == NULL && *name != '\0')
        return sim__fail(c, c->lineno, "[%s] takes no name", inner);
    if (named && *name == '\0')
        return sim__fail(c, c->lineno, "[%s] needs a name: [%s NAME]", inner, inner);
    if (strpbrk(name, " \t") != NULL)
        return sim__fail(c, c->lineno, "section name '%s' contains a blank", name);
    /* A device's name is the library's (statistics go under gpu.<name>.), whose rule has no '-'. */
    const char *extra = kind == SIM__S_GPU ? "_" : "_-";
    if (*name != '\0' && !sim__name_ok(name, extra))
        return sim__fail(c, c->lineno,
                         "'%s' is not a valid %s name ([a-z0-9%s], 1 to 31 characters)", name,
                         inner, extra);

    unsigned index = 0;
    unsigned *count = sim__kind_count(c->s, kind);
    if (count == NULL) {
        if (c->single[kind] >= 0)
            return sim__fail(c, c->lineno, "duplicate section [%s] (first at line %u)", inner,
                             c->sects[c->single[kind]].line);
        c->single[kind] = (int)c->nsects;
    } else {
        for (unsigned i = 0; i < *count; i++) {
            const char *other = sim__item_name(c->s, kind, i);
            if (strcmp(other, name) == 0)
                return sim__fail(c, c->lineno, "duplicate section [%s %s] (first at line %u)",
                                 inner, name, sim__sect_of(c, kind, i)->line);
            /* the runner names library processes with '_' for '-' (the library's rule) */
            if (kind == SIM__S_PROCESS && same_process_name(other, name))
                return sim__fail(c, c->lineno,
                                 "[process %s] and [process %s] (line %u) are the same process "
                                 "name once '-' is read as '_'",
                                 name, other, sim__sect_of(c, kind, i)->line);
        }
        if (*count >= kind_max[kind])
            return sim__fail(c, c->lineno, "too many [%s] sections (at most %u)", inner,
                             kind_max[kind]);
        index = (*count)++;
        c->by_index[kind][index] = (int)c->nsects;
        item_init(c->s, kind, index, name, c->lineno);
    }
    sim__sect *sc = &c->sects[c->nsects++];
    memset(sc, 0, sizeof *sc);
    sc->kind = kind;
    sc->index = index;
    sc->line = c->lineno;
    c->cur = sc;
    return c->rc;
}

/* ---- keys --------------------------------------------------------------------------------- */

/* A parameter set by name: refuses a second one of the same name in the section. */
static bool dyn_once(sim__pctx *c, const char *key)
{
    for (unsigned i = 0; i < c->ndyn; i++)
        if (strcmp(c->dyn[i], key) == 0) {
            sim__fail(c, c->lineno, "duplicate key '%s' (first at line %u)", key, c->dyn_line[i]);
            return false;
        }
    if (c->ndyn == MAX_DYN_KEYS) {
        sim__fail(c, c->lineno, "too many keys in one section");
        return false;
    }
    snprintf(c->dyn[c->ndyn], sizeof c->dyn[0], "%s", key);
    c->dyn_line[c->ndyn++] = c->lineno;
    return true;
}

static bool fixed_once(sim__pctx *c, sim__sect *sc, int i, const char *key)
{
    if (sc->kl[i] != 0) {
        sim__fail(c, c->lineno, "duplicate key '%s' (first at line %u)", key, sc->kl[i]);
        return false;
    }
    sc->kl[i] = c->lineno;
    return true;
}

/* [host] and [gpu]: a fixed key or a parameter by name. */
static int open_key(sim__pctx *c, sim__sect *sc, const char *key, const char *value)
{
    char msg[SIM_TEXT_MAX];
    size_t n;
    const sim__key *keys = sim__keys(sc->kind, &n);
    int i = sim__key_find(keys, n, key);
    if (i >= 0 && !fixed_once(c, sc, i, key))
        return c->rc;
    if (i < 0 && sc->kind == SIM__S_HOST && !dyn_once(c, sim__host_canonical(key)))
        return c->rc;
    if (i < 0 && sc->kind == SIM__S_GPU && !dyn_once(c, key))
        return c->rc;
    int rc = sc->kind == SIM__S_HOST
                 ? sim__host_set(c->s, key, value, false, NULL, msg, sizeof msg)
                 : sim__gpu_set(&c->s->gpus[sc->index], key, value, false, NULL, msg, sizeof msg);
    if (rc == GPUSIM_ENOENT && sc->kind == SIM__S_HOST)
        return sim__fail(c, c->lineno,
                         "unknown key '%s' in [host] (not a [host] key nor a host cost "
                         "parameter)",
                         key);
    if (rc == GPUSIM_ENOENT && strncmp(key, "driver.", 7) == 0)
        return sim__fail(c, c->lineno, "unknown driver parameter '%s'", key + 7);
    if (rc == GPUSIM_ENOENT)
        return sim__fail(c, c->lineno,
                         "unknown key '%s' in [gpu] (not a [gpu] key nor a GPU cost "
                         "parameter)",
                         key);
    if (rc != 0)
        fail_key(c, key, msg);
    return c->rc;
}

static void *item_of(sim__pctx *c, sim__sect *sc, void **aux)
{
    sim_scenario *s = c->s;
    *aux = NULL;
    switch (sc->kind) {
    case SIM__S_SCENARIO:
        return s;
    case SIM__S_PROCESS:
        return &s->processes[sc->index];
    case SIM__S_BUFFER:
        *aux = &c->bufp[sc->index];
        return &s->buffers[sc->index];
    case SIM__S_JOB:
        *aux = &c->jobp[sc->index];
        return &s->jobs[sc->index];
    case SIM__S_ACTIVITY:
        *aux = &c->actp[sc->index];
        return &s->activities[sc->index];
    default:
        return NULL;
    }
}

static int expect_key(sim__pctx *c, const char *key, const char *value)
{
    char msg[SIM_TEXT_MAX];
    if (strcmp(key, "check") != 0)
        return sim__fail(c, c->lineno, "unknown key '%s' in [expect] (the key is 'check')", key);
    if (c->s->nexpects == SIM_MAX_EXPECT)
        return sim__fail(c, c->lineno, "too many expectations (at most %u)", SIM_MAX_EXPECT);
    sim_expect *e = &c->s->expects[c->s->nexpects];
    if (sim_expect_parse(value, e, msg, sizeof msg) != 0)
        return sim__fail(c, c->lineno, "check: %s", msg);
    e->line = c->lineno;
    c->s->nexpects++;
    return c->rc;
}

/* inih's handler: one `key = value` of the current section. */
static int on_key(void *user, const char *section, const char *key, const char *value)
{
    sim__pctx *c = user;
    (void)section; /* ours is c->cur, opened by the reader */
    if (c->rc != 0)
        return 0;
    if (c->cur == NULL) {
        sim__fail(c, c->lineno, "'%s' before any [section]", key);
        return 0;
    }
    if (*key == '\0') {
        sim__fail(c, c->lineno, "missing key before '='");
        return 0;
    }
    sim__sect *sc = c->cur;
    if (sc->kind == SIM__S_HOST || sc->kind == SIM__S_GPU) {
        open_key(c, sc, key, value);
        return c->rc == 0;
    }
    if (sc->kind == SIM__S_EXPECT) {
        expect_key(c, key, value);
        return c->rc == 0;
    }
    size_t n;
    const sim__key *keys = sim__keys(sc->kind, &n);
    int i = sim__key_find(keys, n, key);
    if (i < 0) {
        char list[SIM_TEXT_MAX];
        size_t off = 0;
        for (size_t k = 0; k < n && off < sizeof list; k++)
            off += (size_t)snprintf(list + off, sizeof list - off, "%s%s", k ? ", " : "",
                                    keys[k].name);
        sim__fail(c, c->lineno, "unknown key '%s' in [%s] (keys: %s)", key,
                  sim__sect_names[sc->kind], list);
        return 0;
    }
    if (!fixed_once(c, sc, i, key))
        return 0;
    void *aux;
    void *obj = item_of(c, sc, &aux);
    char msg[SIM_TEXT_MAX];
    if (sim__key_set(&keys[i], obj, aux, value, msg, sizeof msg) != 0) {
        fail_key(c, key, msg);
        return 0;
    }
    return 1;
}

/* ---- the reader ------------------------------------------------------------------------------ */

/* The next raw line without its end of line; false at the end. */
static bool next_line(sim__pctx *c, char **line, size_t *len)
{
    if (c->f != NULL) {
        errno = 0;
        ssize_t n = getline(&c->buf, &c->bufcap, c->f);
        if (n < 0) {
            if (ferror(c->f) || errno == ENOMEM) {
                sim__fail(c, c->lineno + 1, "cannot read: %s", strerror(errno ? errno : EIO));
                if (errno == ENOMEM)
                    c->rc = GPUSIM_ENOMEM;
            }
            return false;
        }
        *line = c->buf;
        *len = (size_t)n;
    } else {
        if (*c->text == '\0')
            return false;
        size_t n = strcspn(c->text, "\n");
        if (n + 1 > c->bufcap) {
            char *nb = realloc(c->buf, n + 1);
            if (nb == NULL) {
                sim__fail(c, c->lineno + 1, "out of memory");
                c->rc = GPUSIM_ENOMEM;
                return false;
            }
            c->buf = nb;
            c->bufcap = n + 1;
        }
        memcpy(c->buf, c->text, n);
        c->buf[n] = '\0';
        c->text += n + (c->text[n] == '\n');
        *line = c->buf;
        *len = n;
    }
    if (*len > 0 && (*line)[*len - 1] == '\n')
        (*line)[--*len] = '\0';
    if (*len > 0 && (*line)[*len - 1] == '\r')
        (*line)[--*len] = '\0';
    return true;
}

/* inih's reader: hands out key lines; handles everything else itself (see the header). */
static char *reader(char *str, int num, void *stream)
{
    sim__pctx *c = stream;
    char *line;
    size_t len;
    if (c->rc != 0 || !next_line(c, &line, &len))
        return NULL;
    c->lineno++;
    if (memchr(line, '\0', len) != NULL) {
        sim__fail(c, c->lineno, "the line contains a NUL byte");
        return NULL;
    }
    if (c->lineno == 1 && strncmp(line, "\xEF\xBB\xBF", 3) == 0)
        line += 3; /* UTF-8 byte order mark */
    line += strspn(line, " \t");
    len = strlen(line);
    str[0] = '\0';
    if (len == 0 || line[0] == ';' || line[0] == '#')
        return str;
    if (line[0] == '[') {
        section_header(c, line);
        return c->rc == 0 ? str : NULL;
    }
    /* inih splits at the first '=' or ':' unless a comment (';' after a blank) comes first;
     * only '=' is the scenario format's separator. */
    size_t i = 0;
    while (line[i] != '\0' && line[i] != '=' && line[i] != ':' &&
           !(line[i] == ';' && i > 0 && (line[i - 1] == ' ' || line[i - 1] == '\t')))
        i++;
    if (line[i] != '=') {
        sim__fail(c, c->lineno, "expected 'key = value', a [section] or a comment, got '%.40s%s'",
                  line, len > 40 ? "..." : "");
        return NULL;
    }
    if (len + 1 > (size_t)num) {
        sim__fail(c, c->lineno, "line too long (%zu characters, at most %d)", len, num - 1);
        return NULL;
    }
    memcpy(str, line, len + 1);
    return str;
}

/* ---- entry points ------------------------------------------------------------------------- */

static int parse(const char *fname, FILE *f, const char *text, sim_scenario *out, char *err,
                 size_t errlen)
{
    if (errlen > 0)
        err[0] = '\0';
    sim__pctx *c = calloc(1, sizeof *c);
    if (c == NULL) {
        snprintf(err, errlen, "%s: out of memory", fname);
        return GPUSIM_ENOMEM;
    }
    c->fname = fname;
    c->s = out;
    c->f = f;
    c->text = text;
    c->err = err;
    c->errlen = errlen;
    for (int k = 0; k < SIM__S_COUNT; k++)
        c->single[k] = -1;

    memset(out, 0, sizeof *out);
    snprintf(out->file, sizeof out->file, "%s", fname);
    sim__default_presets(out);
    out->duration = 60 * GPUSIM_NS_PER_S;
    out->memory_budget = SIM_MEMORY_BUDGET_DEFAULT;
    gpusim_host_config_init(&out->host);

    int r = ini_parse_stream(reader, c, on_key, c);
    if (c->rc == 0 && r == -2) {
        sim__fail(c, c->lineno, "out of memory");
        c->rc = GPUSIM_ENOMEM;
    } else if (c->rc == 0 && r != 0) {
        sim__fail(c, r > 0 ? (unsigned)r : c->lineno, "syntax error");
    }
    sim__close_section(c);
    if (c->rc == 0)
        sim__finish(c);
    if (c->rc == 0)
        sim__presets_apply(out);
    int rc = c->rc;
    free(c->buf);
    free(c);
    return rc;
}

int sim_scenario_parse_file(const char *path, sim_scenario *out, char *err, size_t errlen)
{
    if (path == NULL || out == NULL) {
        snprintf(err, errlen, "no file");
        return GPUSIM_EINVAL;
    }
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        int e = errno;
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(e));
        return e == ENOENT ? GPUSIM_ENOENT : GPUSIM_EINVAL;
    }
    int rc = parse(path, f, NULL, out, err, errlen);
    fclose(f);
    return rc;
}

int sim_scenario_parse_text(const char *name, const char *text, sim_scenario *out, char *err,
                            size_t errlen)
{
    if (name == NULL || text == NULL || out == NULL) {
        snprintf(err, errlen, "%s: no text", name ? name : "(null)");
        return GPUSIM_EINVAL;
    }
    return parse(name, NULL, text, out, err, errlen);
}
