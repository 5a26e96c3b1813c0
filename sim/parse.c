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
 * implicit gpu0 and process "app" are added. Errors stop at the first: the context keeps one
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

#define MAX_SECTIONS                                                                               \
    (3 + SIM_MAX_GPUS + SIM_MAX_PROCESSES + SIM_MAX_BUFFERS + SIM_MAX_JOBS + SIM_MAX_ACTIVITIES)
_Static_assert(SIM_MAX_GPUS <= 64 && SIM_MAX_PROCESSES <= 64 && SIM_MAX_BUFFERS <= 64 &&
                   SIM_MAX_JOBS <= 64 && SIM_MAX_ACTIVITIES <= 64,
               "pctx.by_index holds 64 of each kind");
#define MAX_DYN_KEYS 160 /* parameters set by name in one section (more than the tables hold) */

typedef struct sect {
    sim__sect_kind kind;
    unsigned index;             /* into the scenario's array of that kind (0 for single sections) */
    unsigned line;              /* of the header */
    unsigned kl[SIM__KEYS_MAX]; /* line of each fixed key given, by table index; 0: not given */
} sect;

typedef struct pctx {
    const char *fname;
    sim_scenario *s;
    /* input: a FILE (getline into buf) or text */
    FILE *f;
    const char *text;
    char *buf;
    size_t bufcap;
    unsigned lineno;
    /* the first error */
    int rc;
    char *err;
    size_t errlen;
    /* sections */
    sect sects[MAX_SECTIONS];
    unsigned nsects;
    sect *cur;
    int single[SIM__S_COUNT];        /* sects index of [scenario], [host], [expect]; -1 */
    int by_index[SIM__S_COUNT][64];  /* sects index of (kind, i) */
    char dyn[MAX_DYN_KEYS][48];      /* parameter keys seen in the current section */
    unsigned dyn_line[MAX_DYN_KEYS]; /* ... and their lines */
    unsigned ndyn;
    sim__buffer_pending bufp[SIM_MAX_BUFFERS];
    sim__job_pending jobp[SIM_MAX_JOBS];
    sim__activity_pending actp[SIM_MAX_ACTIVITIES];
} pctx;

static const char *const sect_names[SIM__S_COUNT] = {
    "scenario", "host", "gpu", "process", "buffer", "job", "activity", "expect",
};

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int
fail(pctx *c, unsigned line, const char *fmt, ...)
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
static int fail_key(pctx *c, const char *key, const char *msg)
{
    size_t n = strlen(key);
    if (strncmp(msg, key, n) == 0 && msg[n] == ':')
        fail(c, c->lineno, "%s", msg);
    else
        fail(c, c->lineno, "%s: %s", key, msg);
    return c->rc;
}

static sect *sect_of(pctx *c, sim__sect_kind kind, unsigned index)
{
    return &c->sects[c->by_index[kind][index]];
}

/* The line of key `name` in section sc, or 0 when it was not given. */
static unsigned key_line(const sect *sc, const char *name)
{
    size_t n;
    const sim__key *keys = sim__keys(sc->kind, &n);
    int i = sim__key_find(keys, n, name);
    return i >= 0 ? sc->kl[i] : 0;
}

/* The name of value v of enum key `name` in section kind `kind` ("hotcold" for kernel = 3). */
static const char *enum_name(sim__sect_kind kind, const char *name, unsigned v)
{
    size_t n;
    const sim__key *keys = sim__keys(kind, &n);
    const sim__key *k = &keys[sim__key_find(keys, n, name)];
    for (unsigned i = 0; k->names[i] != NULL; i++)
        if ((k->values ? k->values[i] : i) == v)
            return k->names[i];
    return "?";
}

static unsigned max_u(unsigned a, unsigned b)
{
    return a > b ? a : b;
}

/* ---- closing a section: the checks that need all of its keys ------------------------------ */

static int close_host(pctx *c, sect *sc)
{
    const char *which;
    char msg[SIM_TEXT_MAX];
    if (sim__host_check(&c->s->host, &which, msg, sizeof msg) != 0) {
        unsigned line = key_line(sc, which);
        fail(c, line ? line : sc->line, "%s", msg);
    }
    return c->rc;
}

static int close_job(pctx *c, sect *sc)
{
    sim_job_desc *j = &c->s->jobs[sc->index];
    sim__job_pending *jp = &c->jobp[sc->index];
    size_t n;
    const sim__key *keys = sim__keys(SIM__S_JOB, &n);
    unsigned kernel = key_line(sc, "kernel"), copy = key_line(sc, "copy");
    if (jp->nbuffers == 0)
        return fail(c, sc->line, "[job %s]: missing key 'buffers'", j->name);
    if (kernel && copy)
        return fail(c, max_u(kernel, copy),
                    "kernel and copy are exclusive (a job is one or the "
                    "other)");
    unsigned mode = j->kind == SIM_JOB_COPY ? SIM__JOB_COPY : 1u << j->kernel.pattern;
    for (size_t i = 0; i < n; i++) {
        if (sc->kl[i] == 0 || keys[i].mask == 0 || (keys[i].mask & mode) != 0)
            continue;
        if (j->kind == SIM_JOB_COPY)
            return fail(c, sc->kl[i], "'%s' does not apply to a copy job", keys[i].name);
        return fail(c, sc->kl[i], "'%s' does not apply to kernel = %s", keys[i].name,
                    enum_name(SIM__S_JOB, "kernel", j->kernel.pattern));
    }
    unsigned passes = key_line(sc, "passes"), length = key_line(sc, "length");
    if (passes && length)
        return fail(c, max_u(passes, length),
                    "length and passes are exclusive (length sets "
                    "passes)");
    if (length && j->kernel.compute_ns_per_touch == 0)
        return fail(c, length, "length needs compute > 0 (it counts compute time)");
    if (j->kind == SIM_JOB_COPY) {
        if (jp->nbuffers != 2)
            return fail(c, key_line(sc, "buffers"), "a copy job names 2 buffers (from, to), not %u",
                        jp->nbuffers);
        memset(&j->kernel, 0, sizeof j->kernel);
        return c->rc;
    }
    /* The pattern's own fields get their defaults; the others stay 0 (the decoder's rule). */
    gpusim_kernel_desc_t *k = &j->kernel;
    if (k->pattern == GPUSIM_PATTERN_HOTCOLD) {
        if (!key_line(sc, "hot_set"))
            k->hot_set_pct = 10;
        if (!key_line(sc, "hot_access"))
            k->hot_access_pct = 90;
    }
    if ((k->pattern == GPUSIM_PATTERN_STRIDED || k->pattern == GPUSIM_PATTERN_STENCIL) &&
        !key_line(sc, "stride"))
        k->stride = k->bytes_per_touch;
    return c->rc;
}

static int close_activity(pctx *c, sect *sc)
{
    sim_activity_desc *a = &c->s->activities[sc->index];
    sim__activity_pending *ap = &c->actp[sc->index];
    size_t n;
    const sim__key *keys = sim__keys(SIM__S_ACTIVITY, &n);
    if (a->type == SIM_ACT_COUNT)
        return fail(c, sc->line, "[activity %s]: missing key 'type'", a->name);
    const char *tname = enum_name(SIM__S_ACTIVITY, "type", a->type);
    /* references are resolved at the end; their lines are those of their keys */
    ap->buffer.line = key_line(sc, "buffer");
    ap->process.line = key_line(sc, "process");
    for (size_t i = 0; i < n; i++)
        if (sc->kl[i] && keys[i].mask && !(keys[i].mask & (1u << a->type)))
            return fail(c, sc->kl[i], "'%s' does not apply to type = %s", keys[i].name, tname);
    bool needs_buffer = a->type == SIM_ACT_CHURN || a->type == SIM_ACT_MADVISE ||
                        a->type == SIM_ACT_MPROTECT || a->type == SIM_ACT_MREMAP;
    if (needs_buffer && ap->buffer.line == 0)
        return fail(c, sc->line, "[activity %s]: missing key 'buffer' (type = %s needs one)",
                    a->name, tname);
    if (a->type == SIM_ACT_MADVISE && !key_line(sc, "advice"))
        return fail(c, sc->line, "[activity %s]: missing key 'advice'", a->name);
    if (a->type == SIM_ACT_PRESSURE && !key_line(sc, "size"))
        return fail(c, sc->line, "[activity %s]: missing key 'size'", a->name);
    if (ap->buffer.line && ap->process.line)
        return fail(c, max_u(ap->buffer.line, ap->process.line),
                    "give buffer or process, not both (a buffer names its process)");
    if (a->type == SIM_ACT_FORK && ap->buffer.line == 0) {
        static const char *const ranged[] = {"offset", "length", "parent_writes", "child_writes"};
        for (size_t i = 0; i < 4; i++) {
            unsigned l = key_line(sc, ranged[i]);
            bool zero = (i == 2 && a->parent_writes == 0) || (i == 3 && a->child_writes == 0);
            if (l && !zero)
                return fail(c, l, "%s needs a buffer (the range it applies to)", ranged[i]);
        }
    }
    unsigned count = key_line(sc, "count");
    if (a->every == 0 && count && a->count != 1)
        return fail(c, count, "count = %llu needs every > 0 (without every it happens once)",
                    (unsigned long long)a->count);
    if (!count)
        a->count = a->every == 0 ? 1 : 0;
    if (a->type == SIM_ACT_MPROTECT && !key_line(sc, "prot"))
        a->prot = GPUSIM_PROT_READ;
    return c->rc;
}

static void close_section(pctx *c)
{
    sect *sc = c->cur;
    if (sc == NULL || c->rc != 0)
        return;
    switch (sc->kind) {
    case SIM__S_HOST:
        close_host(c, sc);
        break;
    case SIM__S_BUFFER:
        if (c->s->buffers[sc->index].size == 0)
            fail(c, sc->line, "[buffer %s]: missing key 'size'", c->s->buffers[sc->index].name);
        break;
    case SIM__S_JOB:
        close_job(c, sc);
        break;
    case SIM__S_ACTIVITY:
        close_activity(c, sc);
        break;
    default:
        break;
    }
}

/* ---- opening a section -------------------------------------------------------------------- */

static const unsigned kind_max[SIM__S_COUNT] = {
    1, 1, SIM_MAX_GPUS, SIM_MAX_PROCESSES, SIM_MAX_BUFFERS, SIM_MAX_JOBS, SIM_MAX_ACTIVITIES, 1,
};

static unsigned *kind_count(sim_scenario *s, sim__sect_kind kind)
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

static const char *item_name(sim_scenario *s, sim__sect_kind kind, unsigned i)
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

static void gpu_init(sim_gpu_desc *g, const char *name, unsigned line)
{
    memset(g, 0, sizeof *g);
    snprintf(g->name, sizeof g->name, "%s", name);
    gpusim_gpu_config_init(&g->cfg);
    gpusim_driver_config_init(&g->drv, GPUSIM_POLICY_NONE);
    g->policy = GPUSIM_POLICY_NONE;
    g->line = line;
}

static void process_init(sim_process_desc *p, const char *name, unsigned line)
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
        gpu_init(&s->gpus[i], name, line);
        break;
    case SIM__S_PROCESS:
        process_init(&s->processes[i], name, line);
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

/* "[kind]" or "[kind NAME]": checks it, closes the open section and opens this one. */
static int section_header(pctx *c, char *line)
{
    char *end = strchr(line, ']');
    if (end == NULL)
        return fail(c, c->lineno, "section header without ']'");
    char *rest = end + 1;
    rest += strspn(rest, " \t");
    if (*rest != '\0' && *rest != ';' && *rest != '#')
        return fail(c, c->lineno, "unexpected text after ']': '%s'", rest);
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
        if (strcmp(inner, sect_names[k]) == 0)
            kind = k;
    if (kind < 0)
        return fail(c, c->lineno,
                    "unknown section [%s] (known: scenario, host, gpu, process NAME, buffer NAME, "
                    "job NAME, activity NAME, expect)",
                    inner);
    close_section(c);
    if (c->rc != 0)
        return c->rc;
    c->cur = NULL;
    c->ndyn = 0;

    bool named = kind == SIM__S_PROCESS || kind == SIM__S_BUFFER || kind == SIM__S_JOB ||
                 kind == SIM__S_ACTIVITY;
    if (kind == SIM__S_GPU && *name == '\0')
        name = "gpu0";
    if (kind_count(c->s, kind) == NULL && *name != '\0')
        return fail(c, c->lineno, "[%s] takes no name", inner);
    if (named && *name == '\0')
        return fail(c, c->lineno, "[%s] needs a name: [%s NAME]", inner, inner);
    if (strpbrk(name, " \t") != NULL)
        return fail(c, c->lineno, "section name '%s' contains a blank", name);
    /* Devices and processes keep their names in the library, whose rule has no '-'. */
    const char *extra = kind == SIM__S_GPU || kind == SIM__S_PROCESS ? "_" : "_-";
    if (*name != '\0' && !sim__name_ok(name, extra))
        return fail(c, c->lineno, "'%s' is not a valid %s name ([a-z0-9%s], 1 to 31 characters)",
                    name, inner, extra);

    unsigned index = 0;
    unsigned *count = kind_count(c->s, kind);
    if (count == NULL) {
        if (c->single[kind] >= 0)
            return fail(c, c->lineno, "duplicate section [%s] (first at line %u)", inner,
                        c->sects[c->single[kind]].line);
        c->single[kind] = (int)c->nsects;
    } else {
        for (unsigned i = 0; i < *count; i++)
            if (strcmp(item_name(c->s, kind, i), name) == 0)
                return fail(c, c->lineno, "duplicate section [%s %s] (first at line %u)", inner,
                            name, sect_of(c, kind, i)->line);
        if (*count >= kind_max[kind])
            return fail(c, c->lineno, "too many [%s] sections (at most %u)", inner, kind_max[kind]);
        index = (*count)++;
        c->by_index[kind][index] = (int)c->nsects;
        item_init(c->s, kind, index, name, c->lineno);
    }
    sect *sc = &c->sects[c->nsects++];
    memset(sc, 0, sizeof *sc);
    sc->kind = kind;
    sc->index = index;
    sc->line = c->lineno;
    c->cur = sc;
    return c->rc;
}

/* ---- keys --------------------------------------------------------------------------------- */

/* A parameter set by name: refuses a second one of the same name in the section. */
static bool dyn_once(pctx *c, const char *key)
{
    for (unsigned i = 0; i < c->ndyn; i++)
        if (strcmp(c->dyn[i], key) == 0) {
            fail(c, c->lineno, "duplicate key '%s' (first at line %u)", key, c->dyn_line[i]);
            return false;
        }
    if (c->ndyn == MAX_DYN_KEYS) {
        fail(c, c->lineno, "too many keys in one section");
        return false;
    }
    snprintf(c->dyn[c->ndyn], sizeof c->dyn[0], "%s", key);
    c->dyn_line[c->ndyn++] = c->lineno;
    return true;
}

static bool fixed_once(pctx *c, sect *sc, int i, const char *key)
{
    if (sc->kl[i] != 0) {
        fail(c, c->lineno, "duplicate key '%s' (first at line %u)", key, sc->kl[i]);
        return false;
    }
    sc->kl[i] = c->lineno;
    return true;
}

/* [host] and [gpu]: a fixed key or a parameter by name. */
static int open_key(pctx *c, sect *sc, const char *key, const char *value)
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
                 ? sim__host_set(&c->s->host, key, value, NULL, msg, sizeof msg)
                 : sim__gpu_set(&c->s->gpus[sc->index], key, value, NULL, msg, sizeof msg);
    if (rc == GPUSIM_ENOENT && sc->kind == SIM__S_HOST)
        return fail(c, c->lineno,
                    "unknown key '%s' in [host] (not a [host] key nor a host cost "
                    "parameter)",
                    key);
    if (rc == GPUSIM_ENOENT && strncmp(key, "driver.", 7) == 0)
        return fail(c, c->lineno, "unknown driver parameter '%s'", key + 7);
    if (rc == GPUSIM_ENOENT)
        return fail(c, c->lineno,
                    "unknown key '%s' in [gpu] (not a [gpu] key nor a GPU cost "
                    "parameter)",
                    key);
    if (rc != 0)
        fail_key(c, key, msg);
    return c->rc;
}

static void *item_of(pctx *c, sect *sc, void **aux)
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

static int expect_key(pctx *c, const char *key, const char *value)
{
    char msg[SIM_TEXT_MAX];
    if (strcmp(key, "check") != 0)
        return fail(c, c->lineno, "unknown key '%s' in [expect] (the key is 'check')", key);
    if (c->s->nexpects == SIM_MAX_EXPECT)
        return fail(c, c->lineno, "too many expectations (at most %u)", SIM_MAX_EXPECT);
    sim_expect *e = &c->s->expects[c->s->nexpects];
    if (sim_expect_parse(value, e, msg, sizeof msg) != 0)
        return fail(c, c->lineno, "check: %s", msg);
    e->line = c->lineno;
    c->s->nexpects++;
    return c->rc;
}

/* inih's handler: one `key = value` of the current section. */
static int on_key(void *user, const char *section, const char *key, const char *value)
{
    pctx *c = user;
    (void)section; /* ours is c->cur, opened by the reader */
    if (c->rc != 0)
        return 0;
    if (c->cur == NULL) {
        fail(c, c->lineno, "'%s' before any [section]", key);
        return 0;
    }
    if (*key == '\0') {
        fail(c, c->lineno, "missing key before '='");
        return 0;
    }
    sect *sc = c->cur;
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
        fail(c, c->lineno, "unknown key '%s' in [%s] (keys: %s)", key, sect_names[sc->kind], list);
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
static bool next_line(pctx *c, char **line, size_t *len)
{
    if (c->f != NULL) {
        errno = 0;
        ssize_t n = getline(&c->buf, &c->bufcap, c->f);
        if (n < 0) {
            if (ferror(c->f) || errno == ENOMEM) {
                fail(c, c->lineno + 1, "cannot read: %s", strerror(errno ? errno : EIO));
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
                fail(c, c->lineno + 1, "out of memory");
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
    pctx *c = stream;
    char *line;
    size_t len;
    if (c->rc != 0 || !next_line(c, &line, &len))
        return NULL;
    c->lineno++;
    if (memchr(line, '\0', len) != NULL) {
        fail(c, c->lineno, "the line contains a NUL byte");
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
        fail(c, c->lineno, "expected 'key = value', a [section] or a comment, got '%.40s%s'", line,
             len > 40 ? "..." : "");
        return NULL;
    }
    if (len + 1 > (size_t)num) {
        fail(c, c->lineno, "line too long (%zu characters, at most %d)", len, num - 1);
        return NULL;
    }
    memcpy(str, line, len + 1);
    return str;
}

/* ---- resolving names, filling defaults ---------------------------------------------------------- */

static int find_name(sim_scenario *s, sim__sect_kind kind, const char *name)
{
    unsigned n = *kind_count(s, kind);
    for (unsigned i = 0; i < n; i++)
        if (strcmp(item_name(s, kind, i), name) == 0)
            return (int)i;
    return -1;
}

/* The item a reference names, or the only one when none is named; -1 after an error. */
static int resolve(pctx *c, sim__sect_kind kind, const sim__ref *r, unsigned line, const char *what)
{
    unsigned n = *kind_count(c->s, kind);
    if (r->line != 0) {
        int i = find_name(c->s, kind, r->name);
        if (i < 0)
            fail(c, r->line, "unknown %s '%s'", sect_names[kind], r->name);
        return i;
    }
    if (n == 1)
        return 0;
    if (n == 0)
        fail(c, line, "%s: the scenario has no [%s]", what, sect_names[kind]);
    else
        fail(c, line, "%s: the scenario has %u [%s] sections; name one with %s =", what, n,
             sect_names[kind], sect_names[kind]);
    return -1;
}

static int finish_job(pctx *c, unsigned ji)
{
    sim_scenario *s = c->s;
    sim_job_desc *j = &s->jobs[ji];
    sim__job_pending *jp = &c->jobp[ji];
    sect *sc = sect_of(c, SIM__S_JOB, ji);
    char what[64];
    snprintf(what, sizeof what, "[job %s]", j->name);
    jp->gpu.line = key_line(sc, "gpu");
    for (unsigned b = 0; b < jp->nbuffers; b++)
        jp->buffers[b].line = key_line(sc, "buffers");
    int g = resolve(c, SIM__S_GPU, &jp->gpu, sc->line, what);
    if (g < 0)
        return c->rc;
    j->gpu = (unsigned)g;
    for (unsigned b = 0; b < jp->nbuffers; b++) {
        int bi = find_name(s, SIM__S_BUFFER, jp->buffers[b].name);
        if (bi < 0)
            return fail(c, jp->buffers[b].line, "unknown buffer '%s'", jp->buffers[b].name);
        j->buffers[b] = (unsigned)bi;
        if (s->buffers[bi].process != s->buffers[j->buffers[0]].process)
            return fail(c, jp->buffers[b].line,
                        "buffers '%s' and '%s' belong to different processes (%s, %s)",
                        s->buffers[j->buffers[0]].name, s->buffers[bi].name,
                        s->processes[s->buffers[j->buffers[0]].process].name,
                        s->processes[s->buffers[bi].process].name);
    }
    j->nbuffers = jp->nbuffers;
    uint64_t size0 = s->buffers[j->buffers[0]].size;
    if (j->kind == SIM_JOB_COPY) {
        for (unsigned b = 0; b < 2; b++)
            if (s->buffers[j->buffers[b]].size < j->copy_bytes)
                return fail(c, key_line(sc, "copy"), "copy: buffer '%s' is smaller than the copy",
                            s->buffers[j->buffers[b]].name);
        return c->rc;
    }
    gpusim_kernel_desc_t *k = &j->kernel;
    k->buffer_bytes = size0;
    if (!key_line(sc, "touches"))
        k->touches_per_pass = size0 / k->bytes_per_touch;
    if (k->stride > size0)
        return fail(c, key_line(sc, "stride") ? key_line(sc, "stride") : sc->line,
                    "stride is larger than buffer '%s'", s->buffers[j->buffers[0]].name);
    if (jp->length != 0) {
        /* passes = ceil(length / (ceil(touches / waves) * compute)), at least 1 */
        uint64_t per_wave = k->touches_per_pass / k->waves + (k->touches_per_pass % k->waves != 0);
        uint64_t compute = k->compute_ns_per_touch, passes = 1;
        if (per_wave <= UINT64_MAX / compute) {
            uint64_t per_pass = per_wave * compute;
            passes = jp->length / per_pass + (jp->length % per_pass != 0);
        }
        if (passes > UINT32_MAX)
            return fail(c, key_line(sc, "length"), "length gives %llu passes (at most %u)",
                        (unsigned long long)passes, UINT32_MAX);
        k->passes = (uint32_t)(passes < 1 ? 1 : passes);
    }
    if (k->touches_per_pass > UINT64_MAX / k->passes)
        return fail(c, sc->line, "[job %s]: passes x touches does not fit in 64 bits", j->name);
    return c->rc;
}

static int finish_activity(pctx *c, unsigned ai)
{
    sim_scenario *s = c->s;
    sim_activity_desc *a = &s->activities[ai];
    sim__activity_pending *ap = &c->actp[ai];
    sect *sc = sect_of(c, SIM__S_ACTIVITY, ai);
    char what[64];
    snprintf(what, sizeof what, "[activity %s]", a->name);
    if (a->type == SIM_ACT_PRESSURE || a->type == SIM_ACT_COMPACT) {
        a->process = 0; /* unused: pressure makes its own process */
        if (a->node >= s->host.nodes)
            fail(c, key_line(sc, "node"), "node = %u but the host has %u node%s", a->node,
                 s->host.nodes, s->host.nodes == 1 ? "" : "s");
        return c->rc;
    }
    if (ap->buffer.line != 0) {
        int b = find_name(s, SIM__S_BUFFER, ap->buffer.name);
        if (b < 0)
            return fail(c, ap->buffer.line, "unknown buffer '%s'", ap->buffer.name);
        a->buffer = b;
        a->process = s->buffers[b].process;
        uint64_t size = s->buffers[b].size;
        unsigned ol = key_line(sc, "offset"), ll = key_line(sc, "length");
        if (a->offset % GPUSIM_HOST_PAGE_SIZE != 0)
            return fail(c, ol, "offset is not a multiple of 4KiB");
        if (a->len % GPUSIM_HOST_PAGE_SIZE != 0)
            return fail(c, ll, "length is not a multiple of 4KiB");
        if (a->offset >= size || a->len > size - a->offset)
            return fail(c, max_u(ol, ll),
                        "the range [offset, offset + length) is not inside "
                        "buffer '%s'",
                        ap->buffer.name);
        uint64_t range = a->len ? a->len : size - a->offset;
        if (a->parent_writes > range)
            return fail(c, key_line(sc, "parent_writes"), "parent_writes is larger than the range");
        if (a->child_writes > range)
            return fail(c, key_line(sc, "child_writes"), "child_writes is larger than the range");
        return c->rc;
    }
    int p = resolve(c, SIM__S_PROCESS, &ap->process, sc->line, what);
    if (p >= 0)
        a->process = (unsigned)p;
    return c->rc;
}

static void finish(pctx *c)
{
    sim_scenario *s = c->s;
    if (s->ngpus == 0)
        gpu_init(&s->gpus[s->ngpus++], "gpu0", 0);
    if (s->nprocesses == 0 && s->nbuffers > 0)
        process_init(&s->processes[s->nprocesses++], "app", 0);
    for (unsigned i = 0; i < s->nprocesses && c->rc == 0; i++) {
        sim_process_desc *p = &s->processes[i];
        if (p->line != 0 && p->cfg.node >= s->host.nodes) /* not the implicit "app" */
            fail(c, key_line(sect_of(c, SIM__S_PROCESS, i), "node"),
                 "node = %u but the host has %u node%s", p->cfg.node, s->host.nodes,
                 s->host.nodes == 1 ? "" : "s");
    }
    for (unsigned i = 0; i < s->nbuffers && c->rc == 0; i++) {
        char what[64];
        snprintf(what, sizeof what, "[buffer %s]", s->buffers[i].name);
        c->bufp[i].process.line = key_line(sect_of(c, SIM__S_BUFFER, i), "process");
        int p = resolve(c, SIM__S_PROCESS, &c->bufp[i].process, s->buffers[i].line, what);
        if (p >= 0)
            s->buffers[i].process = (unsigned)p;
    }
    for (unsigned i = 0; i < s->njobs && c->rc == 0; i++)
        finish_job(c, i);
    for (unsigned i = 0; i < s->nactivities && c->rc == 0; i++)
        finish_activity(c, i);
    for (unsigned i = 0; i < s->ngpus; i++)
        s->gpus[i].cfg.name = s->gpus[i].name;
    for (unsigned i = 0; i < s->nprocesses; i++)
        s->processes[i].cfg.name = s->processes[i].name;
}

/* The default scenario name: the file's base name less ".ini". */
static int default_name(pctx *c)
{
    const char *base = strrchr(c->fname, '/');
    base = base ? base + 1 : c->fname;
    size_t n = strlen(base);
    if (n > 4 && strcmp(base + n - 4, ".ini") == 0)
        n -= 4;
    char name[SIM_TEXT_MAX];
    snprintf(name, sizeof name, "%.*s", (int)(n < sizeof name - 1 ? n : sizeof name - 1), base);
    if (!sim__name_ok(name, "-")) {
        unsigned line =
            c->single[SIM__S_SCENARIO] >= 0 ? c->sects[c->single[SIM__S_SCENARIO]].line : 1;
        return fail(c, line,
                    "no name: '%s' (from the file name) is not a scenario name ([a-z0-9-], 1 to "
                    "31 characters); set name = in [scenario]",
                    name);
    }
    memcpy(c->s->name, name, strlen(name) + 1); /* sim__name_ok: shorter than SIM_NAME_MAX */
    return c->rc;
}

/* ---- entry points ------------------------------------------------------------------------- */

static int parse(const char *fname, FILE *f, const char *text, sim_scenario *out, char *err,
                 size_t errlen)
{
    if (errlen > 0)
        err[0] = '\0';
    pctx *c = calloc(1, sizeof *c);
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
    snprintf(out->preset, sizeof out->preset, "%s", SIM__PRESET_DEFAULT);
    out->duration = 60 * GPUSIM_NS_PER_S;
    gpusim_host_config_init(&out->host);

    int r = ini_parse_stream(reader, c, on_key, c);
    if (c->rc == 0 && r == -2) {
        fail(c, c->lineno, "out of memory");
        c->rc = GPUSIM_ENOMEM;
    } else if (c->rc == 0 && r != 0) {
        fail(c, r > 0 ? (unsigned)r : c->lineno, "syntax error");
    }
    close_section(c);
    if (c->rc == 0)
        finish(c);
    if (c->rc == 0 && out->name[0] == '\0')
        default_name(c);
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
