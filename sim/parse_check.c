/*
 * sim/parse_check.c -- the scenario parser's checks across keys and sections: when a section ends
 * (required keys, keys that do not apply to its `type =` or `kernel =`, exclusive keys, the host's
 * structure), and at the end of the file (names resolved to indices, the implicit gpu0 and process
 * "app", defaults that depend on other sections: touches from the buffer size, passes from
 * `length`, the range of an activity within its buffer, nodes within the host, the default
 * scenario name).
 *
 * Every error points at the line of the key at fault, or at the section's header when a key is
 * missing or the problem is the section as a whole. Invariant: after sim__finish() without error,
 * every index in the scenario is valid and every cfg.name points into the scenario itself.
 */
#include "parse_internal.h"

#include <stdio.h>
#include <string.h>

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

static int close_host(sim__pctx *c, sim__sect *sc)
{
    const char *which;
    char msg[SIM_TEXT_MAX];
    if (sim__host_check(&c->s->host, &which, msg, sizeof msg) != 0) {
        unsigned line = sim__key_line(sc, which);
        sim__fail(c, line ? line : sc->line, "%s", msg);
    }
    return c->rc;
}

static int close_job(sim__pctx *c, sim__sect *sc)
{
    sim_job_desc *j = &c->s->jobs[sc->index];
    sim__job_pending *jp = &c->jobp[sc->index];
    size_t n;
    const sim__key *keys = sim__keys(SIM__S_JOB, &n);
    unsigned kernel = sim__key_line(sc, "kernel"), copy = sim__key_line(sc, "copy");
    if (jp->nbuffers == 0)
        return sim__fail(c, sc->line, "[job %s]: missing key 'buffers'", j->name);
    if (kernel && copy)
        return sim__fail(c, max_u(kernel, copy),
                         "kernel and copy are exclusive (a job is one or the "
                         "other)");
    unsigned mode = j->kind == SIM_JOB_COPY ? SIM__JOB_COPY : 1u << j->kernel.pattern;
    for (size_t i = 0; i < n; i++) {
        if (sc->kl[i] == 0 || keys[i].mask == 0 || (keys[i].mask & mode) != 0)
            continue;
        if (j->kind == SIM_JOB_COPY)
            return sim__fail(c, sc->kl[i], "'%s' does not apply to a copy job", keys[i].name);
        return sim__fail(c, sc->kl[i], "'%s' does not apply to kernel = %s", keys[i].name,
                         enum_name(SIM__S_JOB, "kernel", j->kernel.pattern));
    }
    unsigned passes = sim__key_line(sc, "passes"), length = sim__key_line(sc, "length");
    if (passes && length)
        return sim__fail(c, max_u(passes, length),
                         "length and passes are exclusive (length sets "
                         "passes)");
    if (length && j->kernel.compute_ns_per_touch == 0)
        return sim__fail(c, length, "length needs compute > 0 (it counts compute time)");
    if (j->kind == SIM_JOB_COPY) {
        if (jp->nbuffers != 2)
            return sim__fail(c, sim__key_line(sc, "buffers"),
                             "a copy job names 2 buffers (from, to), not %u", jp->nbuffers);
        memset(&j->kernel, 0, sizeof j->kernel);
        return c->rc;
    }
    /* The pattern's own fields get their defaults; the others stay 0 (the decoder's rule). */
    gpusim_kernel_desc_t *k = &j->kernel;
    if (k->pattern == GPUSIM_PATTERN_HOTCOLD) {
        if (!sim__key_line(sc, "hot_set"))
            k->hot_set_pct = 10;
        if (!sim__key_line(sc, "hot_access"))
            k->hot_access_pct = 90;
    }
    if ((k->pattern == GPUSIM_PATTERN_STRIDED || k->pattern == GPUSIM_PATTERN_STENCIL) &&
        !sim__key_line(sc, "stride"))
        k->stride = k->bytes_per_touch;
    return c->rc;
}

static int close_activity(sim__pctx *c, sim__sect *sc)
{
    sim_activity_desc *a = &c->s->activities[sc->index];
    sim__activity_pending *ap = &c->actp[sc->index];
    size_t n;
    const sim__key *keys = sim__keys(SIM__S_ACTIVITY, &n);
    if (a->type == SIM_ACT_COUNT)
        return sim__fail(c, sc->line, "[activity %s]: missing key 'type'", a->name);
    const char *tname = enum_name(SIM__S_ACTIVITY, "type", a->type);
    /* references are resolved at the end; their lines are those of their keys */
    ap->buffer.line = sim__key_line(sc, "buffer");
    ap->process.line = sim__key_line(sc, "process");
    for (size_t i = 0; i < n; i++)
        if (sc->kl[i] && keys[i].mask && !(keys[i].mask & (1u << a->type)))
            return sim__fail(c, sc->kl[i], "'%s' does not apply to type = %s", keys[i].name, tname);
    bool needs_buffer = a->type == SIM_ACT_CHURN || a->type == SIM_ACT_MADVISE ||
                        a->type == SIM_ACT_MPROTECT || a->type == SIM_ACT_MREMAP;
    if (needs_buffer && ap->buffer.line == 0)
        return sim__fail(c, sc->line, "[activity %s]: missing key 'buffer' (type = %s needs one)",
                         a->name, tname);
    if (a->type == SIM_ACT_MADVISE && !sim__key_line(sc, "advice"))
        return sim__fail(c, sc->line, "[activity %s]: missing key 'advice'", a->name);
    if (a->type == SIM_ACT_PRESSURE && !sim__key_line(sc, "size"))
        return sim__fail(c, sc->line, "[activity %s]: missing key 'size'", a->name);
    if (ap->buffer.line && ap->process.line)
        return sim__fail(c, max_u(ap->buffer.line, ap->process.line),
                         "give buffer or process, not both (a buffer names its process)");
    if (a->type == SIM_ACT_FORK && ap->buffer.line == 0) {
        static const char *const ranged[] = {"offset", "length", "parent_writes", "child_writes"};
        for (size_t i = 0; i < 4; i++) {
            unsigned l = sim__key_line(sc, ranged[i]);
            bool zero = (i == 2 && a->parent_writes == 0) || (i == 3 && a->child_writes == 0);
            if (l && !zero)
                return sim__fail(c, l, "%s needs a buffer (the range it applies to)", ranged[i]);
        }
    }
    unsigned count = sim__key_line(sc, "count");
    if (a->every == 0 && count && a->count != 1)
        return sim__fail(c, count, "count = %llu needs every > 0 (without every it happens once)",
                         (unsigned long long)a->count);
    if (!count)
        a->count = a->every == 0 ? 1 : 0;
    if (a->type == SIM_ACT_MPROTECT && !sim__key_line(sc, "prot"))
        a->prot = GPUSIM_PROT_READ;
    return c->rc;
}

void sim__close_section(sim__pctx *c)
{
    sim__sect *sc = c->cur;
    if (sc == NULL || c->rc != 0)
        return;
    switch (sc->kind) {
    case SIM__S_HOST:
        close_host(c, sc);
        break;
    case SIM__S_BUFFER: {
        const sim_buffer_desc *b = &c->s->buffers[sc->index];
        if (b->size == 0)
            sim__fail(c, sc->line, "[buffer %s]: missing key 'size'", b->name);
        else if (b->fragment != 0 && !b->populate)
            sim__fail(c, sim__key_line(sc, "fragment"),
                      "fragment needs populate = true (it is how the buffer is populated)");
        break;
    }
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

/* ---- resolving names, filling defaults ---------------------------------------------------------- */

static int find_name(sim_scenario *s, sim__sect_kind kind, const char *name)
{
    unsigned n = *sim__kind_count(s, kind);
    for (unsigned i = 0; i < n; i++)
        if (strcmp(sim__item_name(s, kind, i), name) == 0)
            return (int)i;
    return -1;
}

/* The item a reference names, or the only one when none is named; -1 after an error. */
static int resolve(sim__pctx *c, sim__sect_kind kind, const sim__ref *r, unsigned line,
                   const char *what)
{
    unsigned n = *sim__kind_count(c->s, kind);
    if (r->line != 0) {
        int i = find_name(c->s, kind, r->name);
        if (i < 0)
            sim__fail(c, r->line, "unknown %s '%s'", sim__sect_names[kind], r->name);
        return i;
    }
    if (n == 1)
        return 0;
    if (n == 0)
        sim__fail(c, line, "%s: the scenario has no [%s]", what, sim__sect_names[kind]);
    else
        sim__fail(c, line, "%s: the scenario has %u [%s] sections; name one with %s =", what, n,
                  sim__sect_names[kind], sim__sect_names[kind]);
    return -1;
}

static int finish_job(sim__pctx *c, unsigned ji)
{
    sim_scenario *s = c->s;
    sim_job_desc *j = &s->jobs[ji];
    sim__job_pending *jp = &c->jobp[ji];
    sim__sect *sc = sim__sect_of(c, SIM__S_JOB, ji);
    char what[64];
    snprintf(what, sizeof what, "[job %s]", j->name);
    jp->gpu.line = sim__key_line(sc, "gpu");
    for (unsigned b = 0; b < jp->nbuffers; b++)
        jp->buffers[b].line = sim__key_line(sc, "buffers");
    int g = resolve(c, SIM__S_GPU, &jp->gpu, sc->line, what);
    if (g < 0)
        return c->rc;
    j->gpu = (unsigned)g;
    for (unsigned b = 0; b < jp->nbuffers; b++) {
        int bi = find_name(s, SIM__S_BUFFER, jp->buffers[b].name);
        if (bi < 0)
            return sim__fail(c, jp->buffers[b].line, "unknown buffer '%s'", jp->buffers[b].name);
        j->buffers[b] = (unsigned)bi;
        if (s->buffers[bi].process != s->buffers[j->buffers[0]].process)
            return sim__fail(c, jp->buffers[b].line,
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
                return sim__fail(c, sim__key_line(sc, "copy"),
                                 "copy: buffer '%s' is smaller than the copy",
                                 s->buffers[j->buffers[b]].name);
        return c->rc;
    }
    gpusim_kernel_desc_t *k = &j->kernel;
    k->buffer_bytes = size0;
    if (!sim__key_line(sc, "touches"))
        k->touches_per_pass = size0 / k->bytes_per_touch;
    if (k->stride > size0)
        return sim__fail(c, sim__key_line(sc, "stride") ? sim__key_line(sc, "stride") : sc->line,
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
            return sim__fail(c, sim__key_line(sc, "length"),
                             "length gives %llu passes (at most %u)", (unsigned long long)passes,
                             UINT32_MAX);
        k->passes = (uint32_t)(passes < 1 ? 1 : passes);
    }
    if (k->touches_per_pass > UINT64_MAX / k->passes)
        return sim__fail(c, sc->line, "[job %s]: passes x touches does not fit in 64 bits",
                         j->name);
    return c->rc;
}

static int finish_activity(sim__pctx *c, unsigned ai)
{
    sim_scenario *s = c->s;
    sim_activity_desc *a = &s->activities[ai];
    sim__activity_pending *ap = &c->actp[ai];
    sim__sect *sc = sim__sect_of(c, SIM__S_ACTIVITY, ai);
    char what[64];
    snprintf(what, sizeof what, "[activity %s]", a->name);
    if (a->type == SIM_ACT_PRESSURE || a->type == SIM_ACT_COMPACT) {
        a->process = 0; /* unused: pressure makes its own process */
        if (a->node >= s->host.nodes)
            sim__fail(c, sim__key_line(sc, "node"), "node = %u but the host has %u node%s", a->node,
                      s->host.nodes, s->host.nodes == 1 ? "" : "s");
        return c->rc;
    }
    if (ap->buffer.line != 0) {
        int b = find_name(s, SIM__S_BUFFER, ap->buffer.name);
        if (b < 0)
            return sim__fail(c, ap->buffer.line, "unknown buffer '%s'", ap->buffer.name);
        a->buffer = b;
        a->process = s->buffers[b].process;
        uint64_t size = s->buffers[b].size;
        unsigned ol = sim__key_line(sc, "offset"), ll = sim__key_line(sc, "length");
        if (a->offset % GPUSIM_HOST_PAGE_SIZE != 0)
            return sim__fail(c, ol, "offset is not a multiple of 4KiB");
        if (a->len % GPUSIM_HOST_PAGE_SIZE != 0)
            return sim__fail(c, ll, "length is not a multiple of 4KiB");
        if (a->offset >= size || a->len > size - a->offset)
            return sim__fail(c, max_u(ol, ll),
                             "the range [offset, offset + length) is not inside "
                             "buffer '%s'",
                             ap->buffer.name);
        uint64_t range = a->len ? a->len : size - a->offset;
        if (a->parent_writes > range)
            return sim__fail(c, sim__key_line(sc, "parent_writes"),
                             "parent_writes is larger than the range");
        if (a->child_writes > range)
            return sim__fail(c, sim__key_line(sc, "child_writes"),
                             "child_writes is larger than the range");
        return c->rc;
    }
    int p = resolve(c, SIM__S_PROCESS, &ap->process, sc->line, what);
    if (p >= 0)
        a->process = (unsigned)p;
    return c->rc;
}

/* The default scenario name: the file's base name less ".ini". */
static int default_name(sim__pctx *c)
{
    const char *base = strrchr(c->fname, '/');
    base = base ? base + 1 : c->fname;
    if (strncmp(base, "builtin:", 8) == 0) /* the name sim.h gives built-ins' file */
        base += 8;
    size_t n = strlen(base);
    if (n > 4 && strcmp(base + n - 4, ".ini") == 0)
        n -= 4;
    char name[SIM_TEXT_MAX];
    snprintf(name, sizeof name, "%.*s", (int)(n < sizeof name - 1 ? n : sizeof name - 1), base);
    if (!sim__name_ok(name, "-")) {
        unsigned line =
            c->single[SIM__S_SCENARIO] >= 0 ? c->sects[c->single[SIM__S_SCENARIO]].line : 1;
        return sim__fail(
            c, line,
            "no name: '%s' (from the file name) is not a scenario name ([a-z0-9-], 1 to "
            "31 characters); set name = in [scenario]",
            name);
    }
    memcpy(c->s->name, name, strlen(name) + 1); /* sim__name_ok: shorter than SIM_NAME_MAX */
    return c->rc;
}

void sim__finish(sim__pctx *c)
{
    sim_scenario *s = c->s;
    if (s->ngpus == 0)
        sim__gpu_init(&s->gpus[s->ngpus++], "gpu0", 0);
    if (s->nprocesses == 0 && s->nbuffers > 0)
        sim__process_init(&s->processes[s->nprocesses++], "app", 0);
    for (unsigned i = 0; i < s->nprocesses && c->rc == 0; i++) {
        sim_process_desc *p = &s->processes[i];
        if (p->line != 0 && p->cfg.node >= s->host.nodes) /* not the implicit "app" */
            sim__fail(c, sim__key_line(sim__sect_of(c, SIM__S_PROCESS, i), "node"),
                      "node = %u but the host has %u node%s", p->cfg.node, s->host.nodes,
                      s->host.nodes == 1 ? "" : "s");
    }
    for (unsigned i = 0; i < s->nbuffers && c->rc == 0; i++) {
        char what[64];
        snprintf(what, sizeof what, "[buffer %s]", s->buffers[i].name);
        c->bufp[i].process.line = sim__key_line(sim__sect_of(c, SIM__S_BUFFER, i), "process");
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
    if (c->rc == 0 && s->name[0] == '\0')
        default_name(c);
}
