/*
 * tests/test_sim_parse.c -- the scenario parser (sim/parse*.c) and sim_scenario_apply().
 *
 * Covers: every key of docs/scenarios.md landing in its field with its unit (the file
 * tests/data/scenarios/full.ini sets each one to a value that is not its default), every default
 * (a minimal file), focused cases of units, booleans, enums, derived values (touches from the
 * buffer, passes from length, stride from bytes_per_touch, count from every), references given
 * in any order, the implicit gpu0 and process "app", the default scenario name, comments,
 * indentation, a UTF-8 BOM and CRLF line ends; every error path through a table of
 * (text, message fragment, line), each checked for its exact "t.ini:LINE: " prefix; parse_file on
 * good and bad files and a missing one; and apply(): presets, every form of setting name, and
 * their errors. Needs nothing but the sim library: no world is created.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

#if !defined(GPUSIM_SCENARIO_DATA_DIR) || !defined(GPUSIM_DOCS_DIR)
#error "GPUSIM_SCENARIO_DATA_DIR must name tests/data/scenarios, GPUSIM_DOCS_DIR docs/"
#endif

#define KiB (UINT64_C(1) << 10)
#define MiB (UINT64_C(1) << 20)
#define GiB (UINT64_C(1) << 30)
#define US  UINT64_C(1000)
#define MS  UINT64_C(1000000)
#define S   UINT64_C(1000000000)

static sim_scenario scen; /* large: one, reused by every test */

/* Parses text as "t.ini" and fails the test on error. */
static sim_scenario *parse_ok(const char *text)
{
    char err[512] = "";
    int rc = sim_scenario_parse_text("t.ini", text, &scen, err, sizeof err);
    if (rc != 0)
        fail_msg("parse failed (%d): %s\n--- text ---\n%s", rc, err, text);
    return &scen;
}

/* Parses text and requires an error at `line` whose message contains `frag`. */
static void parse_err_at(const char *text, const char *frag, unsigned line)
{
    char err[512] = "";
    char prefix[32];
    int rc = sim_scenario_parse_text("t.ini", text, &scen, err, sizeof err);
    if (rc >= 0)
        fail_msg("parse succeeded, expected an error at line %u with '%s'\n--- text ---\n%s", line,
                 frag, text);
    snprintf(prefix, sizeof prefix, "t.ini:%u: ", line);
    if (strncmp(err, prefix, strlen(prefix)) != 0 || strstr(err, frag) == NULL)
        fail_msg("error '%s', expected prefix '%s' and '%s'\n--- text ---\n%s", err, prefix, frag,
                 text);
}

static uint64_t host_param(const gpusim_host_config_t *h, const char *name)
{
    uint64_t v = 0;
    assert_int_equal(gpusim_host_config_get(h, name, &v), 0);
    return v;
}

static uint64_t gpu_param(const gpusim_gpu_config_t *g, const char *name)
{
    uint64_t v = 0;
    assert_int_equal(gpusim_gpu_config_get(g, name, &v), 0);
    return v;
}

static uint64_t drv_param(const gpusim_driver_config_t *d, const char *name)
{
    uint64_t v = 0;
    assert_int_equal(gpusim_driver_config_get(d, name, &v), 0);
    return v;
}

static const sim_job_desc *job(const sim_scenario *s, const char *name)
{
    for (unsigned i = 0; i < s->njobs; i++)
        if (strcmp(s->jobs[i].name, name) == 0)
            return &s->jobs[i];
    fail_msg("no job %s", name);
    return NULL;
}

static const sim_activity_desc *act(const sim_scenario *s, const char *name)
{
    for (unsigned i = 0; i < s->nactivities; i++)
        if (strcmp(s->activities[i].name, name) == 0)
            return &s->activities[i];
    fail_msg("no activity %s", name);
    return NULL;
}

/* ---- the complete file -------------------------------------------------------------------- */

static void check_full(const sim_scenario *s, const char *file)
{
    gpusim_host_config_t hdef;
    gpusim_host_config_init(&hdef);

    assert_string_equal(s->name, "full-example");
    assert_string_equal(s->description, "Every key of the format");
    assert_string_equal(s->file, file);
    assert_string_equal(s->preset, "nvidia-h100+linux-x86-64");
    assert_int_equal(s->duration, 1500 * MS);
    assert_int_equal(s->memory_budget, 256 * MiB);

    assert_int_equal(s->host.ram_bytes, 8 * GiB);
    assert_int_equal(s->host.swap_bytes, 512 * MiB);
    assert_int_equal(s->host.nodes, 2);
    assert_int_equal(s->host.movable_bytes, 1 * GiB);
    assert_int_equal(s->host.thp, GPUSIM_THP_ALWAYS);
    assert_false(s->host.khugepaged);
    assert_false(s->host.mirror_aging);
    assert_true(s->host.data_mode);
    assert_int_equal(host_param(&s->host, "swap_in_4k"), 50 * US);
    assert_int_equal(host_param(&s->host, "fault_anon_4k"), 3 * US);
    assert_int_equal(host_param(&s->host, "swap_out_4k"), host_param(&hdef, "swap_out_4k"));

    assert_int_equal(s->ngpus, 2);
    const sim_gpu_desc *a = &s->gpus[0], *g0 = &s->gpus[1];
    assert_string_equal(a->name, "a100");
    assert_ptr_equal(a->cfg.name, a->name);
    assert_int_equal(a->cfg.engines, 4);
    assert_false(a->cfg.replayable);
    assert_true(a->policy_fixed);
    assert_int_equal(a->policy, GPUSIM_POLICY_FENCE_WAIT);
    assert_int_equal(drv_param(&a->drv, "restore_delay"), 2 * MS);
    assert_int_equal(drv_param(&a->drv, "prefetch"), 0);
    assert_int_equal(gpu_param(&a->cfg, "page_walk_level"), 150);
    assert_int_equal(a->line, 22);
    assert_string_equal(g0->name, "gpu0");
    assert_ptr_equal(g0->cfg.name, g0->name);
    assert_false(g0->policy_fixed);
    assert_true(g0->cfg.replayable);
    assert_int_equal(gpu_param(&g0->cfg, "tlb_l2_entries"), 8192);
    assert_int_equal(drv_param(&g0->drv, "prefetch"), 1);

    assert_int_equal(s->nprocesses, 2);
    const sim_process_desc *p1 = &s->processes[0], *p2 = &s->processes[1];
    assert_string_equal(p1->name, "app1");
    assert_ptr_equal(p1->cfg.name, p1->name);
    assert_int_equal(p1->cfg.memlock_limit, UINT64_MAX);
    assert_true(p1->cfg.oom_unkillable);
    assert_int_equal(p1->cfg.node, 1);
    assert_ptr_equal(p2->cfg.name, p2->name);
    assert_int_equal(p2->cfg.memlock_limit, 64 * MiB);
    assert_false(p2->cfg.oom_unkillable);
    assert_int_equal(p2->cfg.node, 0);

    assert_int_equal(s->nbuffers, 3);
    const sim_buffer_desc *in = &s->buffers[0];
    assert_string_equal(in->name, "in");
    assert_int_equal(in->process, 0);
    assert_int_equal(in->size, 256 * MiB);
    assert_true(in->hugepage);
    assert_false(in->populate);
    assert_false(in->writable);
    assert_int_equal(in->fragment, 0);
    assert_int_equal(s->buffers[1].size, 128 * MiB);
    assert_int_equal(s->buffers[1].fragment, 50);
    assert_true(s->buffers[1].populate);
    assert_true(s->buffers[1].writable);
    assert_false(s->buffers[1].hugepage);
    assert_int_equal(s->buffers[2].process, 1);

    assert_int_equal(s->njobs, 7);
    const sim_job_desc *j = job(s, "seq");
    assert_int_equal(j->gpu, 0);
    assert_int_equal(j->kind, SIM_JOB_KERNEL);
    assert_int_equal(j->nbuffers, 2);
    assert_int_equal(j->buffers[0], 0);
    assert_int_equal(j->buffers[1], 1);
    assert_int_equal(j->kernel.pattern, GPUSIM_PATTERN_SEQUENTIAL);
    assert_int_equal(j->kernel.buffer_va, 0);
    assert_int_equal(j->kernel.buffer_bytes, 256 * MiB);
    assert_int_equal(j->kernel.passes, 3);
    assert_int_equal(j->kernel.touches_per_pass, 1000);
    assert_int_equal(j->kernel.bytes_per_touch, 256);
    assert_int_equal(j->kernel.compute_ns_per_touch, 1000);
    assert_int_equal(j->kernel.write_pct, 25);
    assert_int_equal(j->kernel.waves, 4);
    assert_int_equal(j->kernel.hot_set_pct, 0);
    assert_int_equal(j->kernel.stride, 0);
    assert_int_equal(j->kernel.seed, 0);
    assert_false(j->seed_fixed);
    assert_int_equal(j->start, 5 * MS);
    assert_int_equal(j->repeat, 10);
    assert_int_equal(j->interval, 20 * MS);

    j = job(s, "hot");
    assert_int_equal(j->gpu, 1);
    assert_int_equal(j->kernel.pattern, GPUSIM_PATTERN_HOTCOLD);
    assert_int_equal(j->kernel.hot_set_pct, 20);
    assert_int_equal(j->kernel.hot_access_pct, 80);
    assert_int_equal(j->kernel.seed, 42);
    assert_true(j->seed_fixed);
    /* 65536 touches x 100 ns = 6.5536 ms a pass: 10 ms needs 2 passes */
    assert_int_equal(j->kernel.touches_per_pass, 65536);
    assert_int_equal(j->kernel.passes, 2);

    j = job(s, "strided");
    assert_int_equal(j->kernel.pattern, GPUSIM_PATTERN_STRIDED);
    assert_int_equal(j->kernel.stride, 64 * KiB);
    j = job(s, "stencil");
    assert_int_equal(j->kernel.pattern, GPUSIM_PATTERN_STENCIL);
    assert_int_equal(j->kernel.stride, 512);
    assert_int_equal(j->kernel.touches_per_pass, 128 * MiB / 512);
    j = job(s, "rnd");
    assert_int_equal(j->kernel.pattern, GPUSIM_PATTERN_RANDOM);
    assert_false(j->seed_fixed);
    assert_int_equal(j->buffers[0], 2);
    j = job(s, "chase");
    assert_int_equal(j->kernel.pattern, GPUSIM_PATTERN_CHASE);
    assert_true(j->seed_fixed);
    assert_int_equal(j->kernel.seed, 1);
    j = job(s, "copy");
    assert_int_equal(j->kind, SIM_JOB_COPY);
    assert_int_equal(j->copy_bytes, 64 * MiB);
    assert_int_equal(j->kernel.passes, 0);
    assert_int_equal(j->kernel.buffer_bytes, 0);

    assert_int_equal(s->nactivities, 10);
    const sim_activity_desc *c = act(s, "churn");
    assert_int_equal(c->type, SIM_ACT_CHURN);
    assert_int_equal(c->buffer, 0);
    assert_int_equal(c->process, 0);
    assert_int_equal(c->offset, 1 * MiB);
    assert_int_equal(c->len, 2 * MiB);
    assert_int_equal(c->at, 1 * MS);
    assert_int_equal(c->every, 10 * MS);
    assert_int_equal(c->count, 5);
    c = act(s, "madv");
    assert_int_equal(c->type, SIM_ACT_MADVISE);
    assert_int_equal(c->advice, GPUSIM_MADV_PAGEOUT);
    assert_int_equal(c->buffer, 1);
    assert_int_equal(c->count, 1);
    c = act(s, "prot");
    assert_int_equal(c->prot, GPUSIM_PROT_READ | GPUSIM_PROT_EXEC);
    assert_int_equal(c->hold, 100 * US);
    c = act(s, "move");
    assert_int_equal(c->type, SIM_ACT_MREMAP);
    assert_int_equal(c->hold, 1 * MS);
    c = act(s, "fork");
    assert_int_equal(c->type, SIM_ACT_FORK);
    assert_int_equal(c->parent_writes, 1 * MiB);
    assert_int_equal(c->child_writes, 8 * KiB);
    assert_int_equal(c->hold, 5 * MS);
    c = act(s, "fork2");
    assert_int_equal(c->buffer, -1);
    assert_int_equal(c->process, 1);
    c = act(s, "press");
    assert_int_equal(c->type, SIM_ACT_PRESSURE);
    assert_int_equal(c->buffer, -1);
    assert_int_equal(c->bytes, 2 * GiB);
    assert_int_equal(c->rate, 1 * GiB);
    assert_int_equal(c->hold, 100 * MS);
    assert_int_equal(c->at, 50 * MS);
    c = act(s, "compact");
    assert_int_equal(c->type, SIM_ACT_COMPACT);
    assert_int_equal(c->node, 1);
    assert_int_equal(c->every, 1 * S);
    assert_int_equal(c->count, 0);
    c = act(s, "bye");
    assert_int_equal(c->type, SIM_ACT_EXIT);
    assert_int_equal(c->process, 1);
    assert_int_equal(c->buffer, -1);
    c = act(s, "bye2");
    assert_int_equal(c->process, 0);
    assert_int_equal(c->buffer, 0);
    assert_int_equal(c->at, 1200 * MS);

    assert_int_equal(s->nexpects, 3);
    assert_string_equal(s->expects[0].text, "*: checker.stale == 0");
    assert_true(s->expects[1].policies[GPUSIM_POLICY_PIN_PERSISTENT]);
    assert_false(s->expects[1].policies[GPUSIM_POLICY_REFAULT]);
    assert_string_equal(s->expects[1].rhs.policy, "refault");
    assert_int_equal(s->expects[2].rhs.factor, 1 * MS);
    assert_int_equal(s->expects[2].line, 170);
}

static void test_full_file(void **state)
{
    (void)state;
    char err[512] = "";
    const char *path = GPUSIM_SCENARIO_DATA_DIR "/full.ini";
    int rc = sim_scenario_parse_file(path, &scen, err, sizeof err);
    if (rc != 0)
        fail_msg("%s", err);
    check_full(&scen, path);
}

/* The same file through parse_text: the same result, the file field is the name given. */
static void test_full_text(void **state)
{
    (void)state;
    FILE *f = fopen(GPUSIM_SCENARIO_DATA_DIR "/full.ini", "rb");
    assert_non_null(f);
    static char text[16384];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    char err[512] = "";
    int rc = sim_scenario_parse_text("whatever.ini", text, &scen, err, sizeof err);
    if (rc != 0)
        fail_msg("%s", err);
    check_full(&scen, "whatever.ini");
}

/* ---- defaults ----------------------------------------------------------------------------- */

static void test_defaults(void **state)
{
    (void)state;
    char err[512] = "";
    int rc =
        sim_scenario_parse_file(GPUSIM_SCENARIO_DATA_DIR "/minimal.ini", &scen, err, sizeof err);
    if (rc != 0)
        fail_msg("%s", err);
    const sim_scenario *s = &scen;
    gpusim_host_config_t h;
    gpusim_host_config_init(&h);
    assert_string_equal(s->name, "minimal"); /* file name less .ini; CRLF line ends */
    assert_string_equal(s->description, "");
    assert_string_equal(s->preset, "nvidia-h100+linux-x86-64");
    assert_int_equal(s->duration, 60 * S);
    assert_int_equal(s->memory_budget, SIM_MEMORY_BUDGET_DEFAULT);
    assert_memory_equal(&s->host, &h, sizeof h);
    assert_int_equal(s->ngpus, 1);
    gpusim_gpu_config_t g;
    gpusim_gpu_config_init(&g);
    assert_string_equal(s->gpus[0].name, "gpu0");
    assert_ptr_equal(s->gpus[0].cfg.name, s->gpus[0].name);
    assert_int_equal(s->gpus[0].cfg.engines, g.engines);
    assert_memory_equal(s->gpus[0].cfg.params_, g.params_, sizeof g.params_);
    assert_false(s->gpus[0].policy_fixed);
    gpusim_driver_config_t d;
    gpusim_driver_config_init(&d, GPUSIM_POLICY_NONE);
    assert_memory_equal(s->gpus[0].drv.params_, d.params_, sizeof d.params_);
    assert_int_equal(s->nprocesses, 1);
    assert_string_equal(s->processes[0].name, "app");
    assert_ptr_equal(s->processes[0].cfg.name, s->processes[0].name);
    gpusim_process_config_t p;
    gpusim_process_config_init(&p);
    assert_int_equal(s->processes[0].cfg.memlock_limit, p.memlock_limit);
    assert_int_equal(s->nbuffers, 1);
    assert_int_equal(s->buffers[0].line, 2);
    assert_true(s->buffers[0].populate);
    assert_true(s->buffers[0].writable);
    assert_false(s->buffers[0].hugepage);
    assert_int_equal(s->buffers[0].fragment, 0);
    const sim_job_desc *j = &s->jobs[0];
    assert_int_equal(j->line, 5);
    assert_int_equal(j->kind, SIM_JOB_KERNEL);
    assert_int_equal(j->kernel.pattern, GPUSIM_PATTERN_SEQUENTIAL);
    assert_int_equal(j->kernel.buffer_bytes, 16 * MiB);
    assert_int_equal(j->kernel.passes, 1);
    assert_int_equal(j->kernel.touches_per_pass, 16 * MiB / 4096);
    assert_int_equal(j->kernel.bytes_per_touch, 4096);
    assert_int_equal(j->kernel.compute_ns_per_touch, 100);
    assert_int_equal(j->kernel.write_pct, 0);
    assert_int_equal(j->kernel.waves, 1);
    assert_int_equal(j->start, 0);
    assert_int_equal(j->repeat, 1);
    assert_int_equal(j->interval, 0);
    assert_int_equal(s->nactivities, 0);
    assert_int_equal(s->nexpects, 0);
}

/* A file with nothing but comments is a scenario too: one default device, nothing to run. */
static void test_empty(void **state)
{
    (void)state;
    char err[512] = "";
    assert_int_equal(
        sim_scenario_parse_text("dir/empty-one.ini", "; nothing\n", &scen, err, sizeof err), 0);
    assert_string_equal(scen.name, "empty-one");
    assert_int_equal(scen.ngpus, 1);
    assert_int_equal(scen.nprocesses, 0);
    assert_int_equal(sim_scenario_parse_text("noext", "", &scen, err, sizeof err), 0);
    assert_string_equal(scen.name, "noext");
}

static void test_activity_defaults(void **state)
{
    (void)state;
    const sim_scenario *s = parse_ok("[buffer b]\nsize = 1MiB\n"
                                     "[activity m]\ntype = mprotect\nbuffer = b\n"
                                     "[activity p]\ntype = pressure\nsize = 1GiB\n"
                                     "[activity c]\ntype = compact\nevery = 1s\ncount = 3\n"
                                     "[activity e]\ntype = exit\n"
                                     "[activity f]\ntype = fork\n");
    const sim_activity_desc *a = act(s, "m");
    assert_int_equal(a->prot, GPUSIM_PROT_READ);
    assert_int_equal(a->offset, 0);
    assert_int_equal(a->len, 0);
    assert_int_equal(a->at, 0);
    assert_int_equal(a->every, 0);
    assert_int_equal(a->count, 1);
    assert_int_equal(a->hold, 0);
    a = act(s, "p");
    assert_int_equal(a->rate, 0);
    assert_int_equal(a->hold, 0);
    assert_int_equal(a->prot, 0);
    a = act(s, "c");
    assert_int_equal(a->node, 0);
    assert_int_equal(a->count, 3);
    a = act(s, "e");
    assert_int_equal(a->process, 0); /* the only process (the implicit app) */
    assert_int_equal(a->buffer, -1);
    a = act(s, "f");
    assert_int_equal(a->process, 0);
    assert_int_equal(a->parent_writes, 0);
}

/* Every built-in scenario parses, and is named after its file. */
static void test_builtins(void **state)
{
    (void)state;
    size_t n;
    const sim_builtin *b = sim_builtins(&n);
    assert_true(n > 0);
    for (size_t i = 0; i < n; i++) {
        char err[512] = "";
        if (sim_scenario_parse_text(b[i].name, b[i].text, &scen, err, sizeof err) != 0)
            fail_msg("built-in %s: %s", b[i].name, err);
        assert_string_equal(scen.name, b[i].name);
        assert_true(scen.description[0] != '\0');
        assert_true(scen.njobs > 0);
        assert_true(scen.nexpects > 0);
    }
}

/* Every ```ini example of docs/scenarios.md parses (the examples are part of the reference). */
static void test_doc_examples(void **state)
{
    (void)state;
    FILE *f = fopen(GPUSIM_DOCS_DIR "/scenarios.md", "rb");
    assert_non_null(f);
    static char doc[131072], text[16384];
    size_t n = fread(doc, 1, sizeof doc - 1, f);
    fclose(f);
    assert_true(n < sizeof doc - 1);
    doc[n] = '\0';
    unsigned examples = 0;
    for (const char *p = strstr(doc, "```ini\n"); p != NULL; p = strstr(p, "```ini\n")) {
        p += 7;
        const char *end = strstr(p, "```");
        assert_non_null(end);
        assert_true((size_t)(end - p) < sizeof text);
        memcpy(text, p, (size_t)(end - p));
        text[end - p] = '\0';
        char name[32], err[512] = "";
        snprintf(name, sizeof name, "example-%u", ++examples);
        if (sim_scenario_parse_text(name, text, &scen, err, sizeof err) != 0)
            fail_msg("docs/scenarios.md example %u: %s", examples, err);
        p = end + 3;
    }
    assert_true(examples >= 3);
}

/* ---- focused cases ------------------------------------------------------------------------ */

static void test_units(void **state)
{
    (void)state;
    const sim_scenario *s = parse_ok("[scenario]\nduration = 1h\n"
                                     "[host]\nram = 2G\nswap = 0\nmovable = 0\n"
                                     "[process p]\nmemlock = 1.5MiB\n"
                                     "[buffer b]\nsize = 1 MiB\n"
                                     "[job j]\nbuffers = b\nbytes_per_touch = 1\n"
                                     "compute = 0\nstart = 1.5us\nwrite = 100 %\n"
                                     "[activity p]\ntype = pressure\nsize = 1GB\n"
                                     "rate = 100MB/s\n");
    assert_int_equal(s->duration, 3600 * S);
    assert_int_equal(s->host.ram_bytes, 2 * GiB);
    assert_int_equal(s->host.swap_bytes, 0);
    assert_int_equal(s->processes[0].cfg.memlock_limit, 3 * MiB / 2);
    assert_int_equal(s->buffers[0].size, 1 * MiB);
    assert_int_equal(s->jobs[0].kernel.bytes_per_touch, 1);
    assert_int_equal(s->jobs[0].kernel.touches_per_pass, 1 * MiB);
    assert_int_equal(s->jobs[0].kernel.compute_ns_per_touch, 0);
    assert_int_equal(s->jobs[0].start, 1500);
    assert_int_equal(s->jobs[0].kernel.write_pct, 100);
    assert_int_equal(s->activities[0].bytes, 1000000000);
    assert_int_equal(s->activities[0].rate, 100000000);
}

static void test_booleans(void **state)
{
    (void)state;
    static const char *const yes[] = {"true", "on", "yes", "1", "TRUE", "Yes"};
    static const char *const no[] = {"false", "off", "no", "0", "False", "OFF"};
    char text[128];
    for (size_t i = 0; i < 6; i++) {
        snprintf(text, sizeof text, "[host]\ndata_mode = %s\nkhugepaged = %s\n", yes[i], no[i]);
        const sim_scenario *s = parse_ok(text);
        assert_true(s->host.data_mode);
        assert_false(s->host.khugepaged);
    }
}

static void test_enums(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        unsigned value;
    } advice[] = {{"dontneed", GPUSIM_MADV_DONTNEED},
                  {"free", GPUSIM_MADV_FREE},
                  {"pageout", GPUSIM_MADV_PAGEOUT},
                  {"hugepage", GPUSIM_MADV_HUGEPAGE},
                  {"nohugepage", GPUSIM_MADV_NOHUGEPAGE}},
      prot[] = {{"none", GPUSIM_PROT_NONE},
                {"read", GPUSIM_PROT_READ},
                {"read-write", GPUSIM_PROT_READ | GPUSIM_PROT_WRITE},
                {"read-exec", GPUSIM_PROT_READ | GPUSIM_PROT_EXEC}},
      thp[] = {{"never", GPUSIM_THP_NEVER},
               {"madvise", GPUSIM_THP_MADVISE},
               {"always", GPUSIM_THP_ALWAYS}};
    char text[256];
    for (size_t i = 0; i < 5; i++) {
        snprintf(text, sizeof text,
                 "[buffer b]\nsize=8KiB\n[activity a]\ntype=madvise\nbuffer=b\nadvice=%s\n",
                 advice[i].name);
        assert_int_equal(parse_ok(text)->activities[0].advice, advice[i].value);
    }
    for (size_t i = 0; i < 4; i++) {
        snprintf(text, sizeof text,
                 "[buffer b]\nsize=8KiB\n[activity a]\ntype=mprotect\nbuffer=b\nprot=%s\n",
                 prot[i].name);
        assert_int_equal(parse_ok(text)->activities[0].prot, prot[i].value);
    }
    for (size_t i = 0; i < 3; i++) {
        snprintf(text, sizeof text, "[host]\nthp = %s\n", thp[i].name);
        assert_int_equal(parse_ok(text)->host.thp, thp[i].value);
    }
    static const char *const types[] = {"churn", "madvise",  "mprotect", "mremap",
                                        "fork",  "pressure", "compact",  "exit"};
    for (unsigned i = 0; i < 8; i++) {
        snprintf(text, sizeof text, "[buffer b]\nsize=8KiB\n[activity a]\ntype=%s\n%s%s%s",
                 types[i], i <= 4 || i == 7 ? "buffer = b\n" : "", i == 1 ? "advice = free\n" : "",
                 i == 5 ? "size = 4KiB\n" : "");
        assert_int_equal(parse_ok(text)->activities[0].type, i);
    }
    for (int p = 0; p < GPUSIM_POLICY_COUNT; p++) {
        snprintf(text, sizeof text, "[gpu]\npolicy = %s\n", gpusim_policy_name(p));
        assert_int_equal(parse_ok(text)->gpus[0].policy, p);
    }
}

/* Pattern defaults and ranges exactly at their bounds. */
static void test_edges(void **state)
{
    (void)state;
    const sim_scenario *s = parse_ok("[buffer b]\nsize = 1MiB\n[buffer c]\nsize = 64KiB\n"
                                     "[job h]\nbuffers = b\nkernel = hotcold\n"
                                     "[job s]\nbuffers = b\nkernel = strided\n"
                                     "[job t]\nbuffers = b\nkernel = stencil\nstride = 1MiB\n"
                                     "[job c]\nbuffers = b c\ncopy = 64KiB\n"
                                     "[activity end]\ntype = churn\nbuffer = b\n"
                                     "offset = 512KiB\nlength = 512KiB\n"
                                     "[activity fk]\ntype = fork\nbuffer = b\noffset = 1020KiB\n"
                                     "parent_writes = 4KiB\nchild_writes = 4KiB\n");
    const sim_job_desc *j = job(s, "h");
    assert_int_equal(j->kernel.hot_set_pct, 10);
    assert_int_equal(j->kernel.hot_access_pct, 90);
    assert_int_equal(j->kernel.stride, 0);
    assert_false(j->seed_fixed);
    j = job(s, "s");
    assert_int_equal(j->kernel.stride, 4096);
    assert_int_equal(j->kernel.hot_set_pct, 0);
    assert_int_equal(job(s, "t")->kernel.stride, 1 * MiB);
    assert_int_equal(job(s, "c")->copy_bytes, 64 * KiB);
    assert_int_equal(job(s, "c")->buffers[1], 1);
    assert_int_equal(act(s, "end")->offset, 512 * KiB);
    assert_int_equal(act(s, "end")->len, 512 * KiB);
    assert_int_equal(act(s, "fk")->parent_writes, 4 * KiB);
}

/* length = L sets passes = max(1, ceil(L / (ceil(touches / waves) * compute))). */
static void test_length(void **state)
{
    (void)state;
    static const struct {
        const char *keys;
        uint32_t passes;
    } cases[] = {
        {"touches = 100\ncompute = 1us\nlength = 1ms", 10},                 /* 100 us a pass */
        {"touches = 100\ncompute = 1us\nlength = 1001us", 11},              /* rounds up */
        {"touches = 100\ncompute = 1us\nlength = 1ns", 1},                  /* at least one */
        {"touches = 100\nwaves = 3\ncompute = 1us\nlength = 1ms", 30},      /* 34 us a pass */
        {"touches = 100\nwaves = 1000\ncompute = 1us\nlength = 1ms", 1000}, /* 1 us a pass */
        {"compute = 1ns\nlength = 1s", 3815},                               /* 262144 touches */
    };
    char text[256];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(text, sizeof text, "[buffer b]\nsize = 1GiB\n[job j]\nbuffers = b\n%s\n",
                 cases[i].keys);
        const sim_scenario *s = parse_ok(text);
        if (s->jobs[0].kernel.passes != cases[i].passes)
            fail_msg("case %zu: passes %u, expected %u", i, s->jobs[0].kernel.passes,
                     cases[i].passes);
    }
}

/* Sections may name sections that come later; indices follow the order of the file. */
static void test_forward_references(void **state)
{
    (void)state;
    const sim_scenario *s = parse_ok("[job j]\ngpu = second\nbuffers = y, x\n"
                                     "[activity a]\ntype = churn\nbuffer = y\n"
                                     "[buffer x]\nprocess = q\nsize = 8KiB\n"
                                     "[buffer y]\nprocess = q\nsize = 4KiB\n"
                                     "[gpu first]\n[gpu second]\n"
                                     "[process p]\n[process q]\n");
    assert_int_equal(s->jobs[0].gpu, 1);
    assert_int_equal(s->jobs[0].buffers[0], 1);
    assert_int_equal(s->jobs[0].buffers[1], 0);
    assert_int_equal(s->jobs[0].kernel.buffer_bytes, 4 * KiB);
    assert_int_equal(s->buffers[0].process, 1);
    assert_int_equal(s->activities[0].buffer, 1);
    assert_int_equal(s->activities[0].process, 1);
    assert_int_equal(s->ngpus, 2);
    assert_int_equal(s->nprocesses, 2); /* no implicit app */
    /* process names may have '-' (the runner gives the library '_') */
    s = parse_ok("[process my-app]\n[buffer b]\nsize = 4KiB\n");
    assert_string_equal(s->processes[0].name, "my-app");
}

/* Comments, blanks, indentation, a byte order mark, CRLF, and what inih makes of ';'. */
static void test_lexical(void **state)
{
    (void)state;
    const sim_scenario *s = parse_ok("\xEF\xBB\xBF; comment\n"
                                     "# another comment\n"
                                     "\n"
                                     "   [scenario]   ; trailing comment\r\n"
                                     "\t  description   =   a;b # not a comment ; a comment\r\n"
                                     "    duration=2s\n"
                                     "  [ gpu   big ]  # hash comment\n"
                                     "\tengines = 3\n");
    assert_string_equal(s->description, "a;b # not a comment");
    assert_int_equal(s->duration, 2 * S);
    assert_string_equal(s->gpus[0].name, "big");
    assert_int_equal(s->gpus[0].cfg.engines, 3);
    assert_int_equal(s->gpus[0].line, 7);
    /* an empty value is a value: the empty description */
    s = parse_ok("[scenario]\ndescription =\n");
    assert_string_equal(s->description, "");
    /* a line of 199 characters is the longest inih holds */
    char text[512];
    snprintf(text, sizeof text, "[scenario]\ndescription = %0185d\n", 7);
    assert_int_equal(strlen(strchr(text, '\n') + 1), 199 + 1);
    parse_ok(text);
    snprintf(text, sizeof text, "[scenario]\ndescription = %0186d\n", 7);
    parse_err_at(text, "line too long (200 characters, at most 199)", 2);
    /* names: 31 characters, digits, '_' and '-' */
    parse_ok("[job a234567890123456789012345678_-]\nbuffers = b\n[buffer b]\nsize = 4KiB\n");
    parse_ok("[scenario]\nname = a234567890123456789012345678-0\n");
}

/* Expectations are parsed at their lines, in order. */
static void test_expect_section(void **state)
{
    (void)state;
    const sim_scenario *s = parse_ok("[expect]\n"
                                     "check = *: checker.stale == 0\n"
                                     "; between\n"
                                     "check = pin: seed >= 0\n");
    assert_int_equal(s->nexpects, 2);
    assert_int_equal(s->expects[0].line, 2);
    assert_int_equal(s->expects[1].line, 4);
    assert_int_equal(s->expects[1].op, SIM_GE);
    /* up to SIM_MAX_EXPECT of them */
    static char text[8192];
    size_t off = (size_t)snprintf(text, sizeof text, "[expect]\n");
    for (unsigned i = 0; i < SIM_MAX_EXPECT; i++)
        off += (size_t)snprintf(text + off, sizeof text - off, "check = *: seed >= %u\n", i);
    assert_int_equal(parse_ok(text)->nexpects, SIM_MAX_EXPECT);
    snprintf(text + off, sizeof text - off, "check = *: seed >= 0\n");
    parse_err_at(text, "too many expectations (at most 32)", SIM_MAX_EXPECT + 2);
}

static unsigned count_lines(const char *text)
{
    unsigned n = 0;
    for (; *text != '\0'; text++)
        n += *text == '\n';
    return n;
}

/* The bounds: SIM_MAX_* sections of a kind parse, one more is an error at its header. */
static void test_bounds(void **state)
{
    (void)state;
    static char text[32768];
    static const struct {
        const char *prefix, *head, *tail; /* each section: head NUMBER tail */
        unsigned max;
        const char *msg;
    } kinds[] = {
        {"", "[gpu g", "]\n", SIM_MAX_GPUS, "too many [gpu] sections (at most 4)"},
        {"", "[process p", "]\n", SIM_MAX_PROCESSES, "too many [process] sections (at most 16)"},
        {"", "[buffer b", "]\nsize = 4KiB\n", SIM_MAX_BUFFERS,
         "too many [buffer] sections (at most 64)"},
        {"[buffer b]\nsize = 4KiB\n", "[job j", "]\nbuffers = b\n", SIM_MAX_JOBS,
         "too many [job] sections (at most 64)"},
        {"", "[activity a", "]\ntype = compact\n", SIM_MAX_ACTIVITIES,
         "too many [activity] sections (at most 64)"},
    };
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        size_t off = (size_t)snprintf(text, sizeof text, "%s", kinds[k].prefix);
        for (unsigned i = 0; i < kinds[k].max; i++)
            off += (size_t)snprintf(text + off, sizeof text - off, "%s%u%s", kinds[k].head, i,
                                    kinds[k].tail);
        parse_ok(text);
        unsigned line = count_lines(text) + 1;
        snprintf(text + off, sizeof text - off, "%s%u%s", kinds[k].head, 999u, kinds[k].tail);
        parse_err_at(text, kinds[k].msg, line);
    }
    /* 16 buffers in one job, not 17 */
    size_t off = 0;
    for (unsigned i = 0; i < GPUSIM_JOB_MAX_BUFFERS + 1; i++)
        off += (size_t)snprintf(text + off, sizeof text - off, "[buffer b%u]\nsize = 4KiB\n", i);
    off += (size_t)snprintf(text + off, sizeof text - off, "[job j]\nbuffers = b0");
    for (unsigned i = 1; i < GPUSIM_JOB_MAX_BUFFERS; i++)
        off += (size_t)snprintf(text + off, sizeof text - off, ", b%u", i);
    snprintf(text + off, sizeof text - off, "\n");
    assert_int_equal(parse_ok(text)->jobs[0].nbuffers, GPUSIM_JOB_MAX_BUFFERS);
    unsigned line = count_lines(text);
    snprintf(text + off, sizeof text - off, ",b16\n");
    parse_err_at(text, "buffers: more than 16 buffers", line);
}

/* ---- errors ------------------------------------------------------------------------------- */

#define B    "[buffer b]\nsize = 1MiB\n" /* lines 1-2 */
#define BJ   B "[job j]\nbuffers = b\n"  /* lines 1-4 */
#define BA   B "[activity a]\n"          /* lines 1-3 */
#define X10  "xxxxxxxxxx"
#define X100 X10 X10 X10 X10 X10 X10 X10 X10 X10 X10

static const struct {
    const char *text;
    const char *msg;
    unsigned line;
} errors[] = {
    /* lines that are not INI */
    {"[scenario\nname = x\n", "section header without ']'", 1},
    {"[scenario] junk\n", "unexpected text after ']': 'junk'", 1},
    {"[bogus]\n", "unknown section [bogus] (known: scenario, host, gpu", 1},
    {"; c\n[Host]\n", "unknown section [Host]", 2},
    {"duration = 1s\n[scenario]\n", "'duration' before any [section]", 1},
    {"[host]\nram 1GiB\n", "expected 'key = value', a [section] or a comment, got 'ram 1GiB'", 2},
    {"[host]\nram: 1GiB\n", "expected 'key = value'", 2},
    {"[host]\nram ; = 1GiB\n", "expected 'key = value'", 2},
    {"[host]\n= 1GiB\n", "missing key before '='", 2},
    {"[scenario]\n\ndescription = " X100 X100 "\n", "line too long (214 characters, at most 199)",
     3},
    /* section names */
    {"[host foo]\n", "[host] takes no name", 1},
    {"[scenario x]\n", "[scenario] takes no name", 1},
    {"[expect x]\n", "[expect] takes no name", 1},
    {"[job]\n", "[job] needs a name: [job NAME]", 1},
    {"[process]\n", "[process] needs a name", 1},
    {"[buffer]\n", "[buffer] needs a name", 1},
    {"[activity]\n", "[activity] needs a name", 1},
    {"[job Bad]\n", "'Bad' is not a valid job name ([a-z0-9_-], 1 to 31 characters)", 1},
    {"[job a2345678901234567890123456789012]\n", "is not a valid job name", 1},
    {"[job a b]\n", "section name 'a b' contains a blank", 1},
    {"[process My]\n", "'My' is not a valid process name ([a-z0-9_-]", 1},
    {"[process a-b]\n[process a_b]\n",
     "[process a_b] and [process a-b] (line 1) are the same process name once '-' is read as '_'",
     2},
    {"[gpu my-gpu]\n", "'my-gpu' is not a valid gpu name", 1},
    {"[host]\n[host]\n", "duplicate section [host] (first at line 1)", 2},
    {"[scenario]\n[host]\n[scenario]\n", "duplicate section [scenario] (first at line 1)", 3},
    {"[expect]\n[expect]\n", "duplicate section [expect]", 2},
    {B "[buffer b]\nsize = 4KiB\n", "duplicate section [buffer b] (first at line 1)", 3},
    {"[gpu]\n[gpu gpu0]\n", "duplicate section [gpu gpu0] (first at line 1)", 2},
    {"[job x]\nbuffers = b\n" B "[job x]\n", "duplicate section [job x]", 5},
    /* keys */
    {"[scenario]\nfoo = 1\n", "unknown key 'foo' in [scenario] (keys: name, description", 2},
    {"[scenario]\nduration = 1s\nduration = 2s\n", "duplicate key 'duration' (first at line 2)", 3},
    {BJ "passes = 1\npasses = 2\n", "duplicate key 'passes' (first at line 5)", 6},
    {"[host]\nswap_latency = 50us\nswap_in_4k = 60us\n",
     "duplicate key 'swap_in_4k' (first at line 2)", 3},
    {"[host]\nfault_minor = 1us\nfault_minor = 1us\n", "duplicate key 'fault_minor'", 3},
    {"[gpu]\ndriver.prefetch = on\ndriver.prefetch = off\n", "duplicate key 'driver.prefetch'", 3},
    {"[gpu]\nengines = 2\nengines = 2\n", "duplicate key 'engines'", 3},
    {"[expect]\nassert = *: seed > 0\n", "unknown key 'assert' in [expect] (the key is 'check')",
     2},
    /* [scenario] */
    {"[scenario]\nname = Bad_Name\n", "name: 'Bad_Name' is not a scenario name ([a-z0-9-]", 2},
    {"[scenario]\nname = a_b\n", "is not a scenario name", 2},
    {"[scenario]\nname =\n", "is not a scenario name", 2},
    {"[scenario]\nduration = 0\n", "duration: 0 is out of range (at least 1ns)", 2},
    {"[scenario]\nmemory_budget = 1KiB\n", "memory_budget: 1KiB is out of range (at least 1MiB)",
     2},
    {"[scenario]\nduration = 10\n", "duration: invalid duration '10': missing unit", 2},
    {"[scenario]\npreset = amd-mi300\n",
     "preset: unknown preset 'amd-mi300' (known: nvidia-h100, amd-mi300x, linux-x86-64)", 2},
    {"[scenario]\npreset = amd-mi300x+nvidia-h100\n",
     "preset: two GPU presets, 'amd-mi300x' and 'nvidia-h100': name one of each kind at most", 2},
    {"[scenario]\npreset = amd-mi300x+\n",
     "preset: 'amd-mi300x+' is not a preset name or NAME+NAME", 2},
    /* [host] */
    {"[host]\nram = 1001MiB\n", "ram = 1001MiB is not a positive multiple of 2MiB per node", 2},
    {"[host]\nram = 0\n", "is not a positive multiple of 2MiB per node", 2},
    {"[host]\nram = 32TiB\n", "ram = 32TiB is more than 16TiB", 2},
    {"[host]\nnodes = 3\n", "ram = 1GiB is not a positive multiple of 2MiB per node (3 nodes)", 1},
    {"[host]\nnodes = 0\n", "nodes: 0 is out of range (1 .. 64)", 2},
    {"[host]\nnodes = 65\n", "nodes: 65 is out of range (1 .. 64)", 2},
    {"[host]\nnodes = -1\n", "nodes: expected a whole number, got '-1'", 2},
    {"[host]\nnodes = 99999999999999999999999\n", "is too large", 2},
    {"[host]\nswap = 5000\n", "swap = 4.883KiB is not a multiple of 4KiB", 2},
    {"[host]\nmovable = 2GiB\n", "movable = 2GiB is not a multiple of 2MiB within one node", 2},
    {"[host]\nmovable = 1MiB\n", "movable = 1MiB is not a multiple of 2MiB", 2},
    {"[host]\nthp = sometimes\n", "thp: unknown value 'sometimes' (one of: never, madvise, always)",
     2},
    {"[host]\nkhugepaged = maybe\n",
     "khugepaged: expected true/false, on/off, yes/no or 1/0, got 'maybe'", 2},
    {"[host]\nswap_in_4k = 1h\n", "swap_in_4k: 1h is outside the plausible range", 2},
    {"[host]\nswap_latency = 1h\n", "is outside the plausible range", 2},
    {"[host]\nfault_minor = abc\n", "fault_minor: invalid duration 'abc'", 2},
    {"[host]\nnosuch = 1\n", "unknown key 'nosuch' in [host]", 2},
    {"[host]\nram = lots\n", "ram: invalid size 'lots'", 2},
    /* [gpu] */
    {"[gpu]\nengines = 0\n", "engines: 0 is out of range (1 .. 1024)", 2},
    {"[gpu]\nreplayable = 2\n", "replayable: expected true/false", 2},
    {"[gpu]\npolicy = magic\n", "policy: unknown policy 'magic' (one of: none, pin,", 2},
    {"[gpu]\ndriver.nosuch = 1\n", "unknown driver parameter 'nosuch'", 2},
    {"[gpu]\ndriver.restore_delay = 1\n", "driver.restore_delay:", 2},
    {"[gpu]\nnosuch = 1\n", "unknown key 'nosuch' in [gpu]", 2},
    {"[gpu]\npage_walk_level = abc\n", "page_walk_level: invalid duration 'abc'", 2},
    /* [process] */
    {"[process p]\nmemlock = lots\n", "memlock: invalid size 'lots'", 2},
    {"[process p]\nnode = 1\n", "node = 1 but the host has 1 node", 2},
    {"[process p]\nnode = 64\n", "node: 64 is out of range (0 .. 63)", 2},
    {"[process p]\noom_unkillable = sure\n", "oom_unkillable: expected true/false", 2},
    {"[process p]\nname = x\n", "unknown key 'name' in [process] (keys: memlock", 2},
    /* [buffer] */
    {"[buffer b]\n", "[buffer b]: missing key 'size'", 1},
    {"[buffer b]\nhugepage = on\n[job j]\n", "[buffer b]: missing key 'size'", 1},
    {"[buffer b]\nsize = 5000\n", "size: 5000 is not a positive multiple of 4KiB", 2},
    {"[buffer b]\nsize = 0\n", "size: 0 is not a positive multiple of 4KiB", 2},
    {"[buffer b]\nsize = 4KiB\nprocess = ghost\n", "unknown process 'ghost'", 3},
    {"[buffer b]\nsize = 4KiB\nprocess = Ghost\n", "process: 'Ghost' is not a section name", 3},
    {"[process p]\n[process q]\n[buffer b]\nsize = 4KiB\n",
     "[buffer b]: the scenario has 2 [process] sections; name one with process =", 3},
    {"[buffer b]\nsize = 4KiB\npopulate = 1x\n", "populate: expected true/false", 3},
    {"[buffer b]\nsize = 4KiB\nfragment = 91%\n", "fragment: 91% is out of range (0% .. 90%)", 3},
    {"[buffer b]\nfragment = 50%\nsize = 4KiB\npopulate = no\n", "fragment needs populate = true",
     2},
    /* [job] */
    {"[job j]\n", "[job j]: missing key 'buffers'", 1},
    {"[job j]\nkernel = random\n[buffer b]\n", "[job j]: missing key 'buffers'", 1},
    {B "[job j]\nbuffers = b, ghost\n", "unknown buffer 'ghost'", 4},
    {B "[job j]\nbuffers = b, b\n", "buffers: buffer 'b' is listed twice", 4},
    {B "[job j]\nbuffers = ,\n", "buffers: expected a list of buffer names", 4},
    {B "[job j]\nbuffers = b, B\n", "buffers: 'B' is not a section name", 4},
    {"[process p]\n[process q]\n[buffer x]\nprocess = p\nsize = 4KiB\n"
     "[buffer y]\nprocess = q\nsize = 4KiB\n[job j]\nbuffers = x, y\n",
     "buffers 'x' and 'y' belong to different processes (p, q)", 10},
    {BJ "gpu = ghost\n", "unknown gpu 'ghost'", 5},
    {"[gpu a]\n[gpu b]\n" BJ, "[job j]: the scenario has 2 [gpu] sections; name one with gpu =", 5},
    {BJ "kernel = random\ncopy = 4KiB\n", "kernel and copy are exclusive", 6},
    {BJ "copy = 4KiB\nkernel = random\n", "kernel and copy are exclusive", 6},
    {BJ "copy = 4KiB\npasses = 2\n", "'passes' does not apply to a copy job", 6},
    {BJ "compute = 1us\ncopy = 4KiB\n", "'compute' does not apply to a copy job", 5},
    {BJ "copy = 4KiB\n", "a copy job names 2 buffers (from, to), not 1", 4},
    {B "[buffer c]\nsize = 4KiB\n[job j]\nbuffers = b, c\ncopy = 8KiB\n",
     "copy: buffer 'c' is smaller than the copy", 7},
    {BJ "copy = 0\n", "copy: must be more than 0 bytes", 5},
    {BJ "kernel = trace\n",
     "kernel: unknown value 'trace' (one of: sequential, strided, random, "
     "hotcold, stencil, chase)",
     5},
    {BJ "hot_set = 20%\n", "'hot_set' does not apply to kernel = sequential", 5},
    {BJ "hot_access = 20%\nkernel = random\n", "'hot_access' does not apply to kernel = random", 5},
    {BJ "kernel = random\nstride = 8KiB\n", "'stride' does not apply to kernel = random", 6},
    {BJ "kernel = strided\npattern_seed = 1\n", "'pattern_seed' does not apply to kernel = strided",
     6},
    {BJ "pattern_seed = 1\n", "'pattern_seed' does not apply to kernel = sequential", 5},
    {BJ "passes = 2\nlength = 1ms\n", "length and passes are exclusive", 6},
    {BJ "length = 1ms\npasses = 2\n", "length and passes are exclusive", 6},
    {BJ "compute = 0\nlength = 1ms\n", "length needs compute > 0", 6},
    {BJ "length = 0\n", "length: must be more than 0", 5},
    {BJ "passes = 0\n", "passes: 0 is out of range (1 .. 4294967295)", 5},
    {BJ "passes = 4294967296\n", "passes: 4294967296 is out of range", 5},
    {BJ "touches = 0\n", "touches: 0 is out of range (at least 1)", 5},
    {BJ "waves = 0\n", "waves: 0 is out of range", 5},
    {BJ "bytes_per_touch = 8KiB\n", "bytes_per_touch: 8KiB is out of range (1B .. 4KiB)", 5},
    {BJ "bytes_per_touch = 0\n", "bytes_per_touch: 0 is out of range", 5},
    {BJ "compute = 5s\n", "compute: 5s is out of range (0ns .. 4.295s)", 5},
    {BJ "write = 101%\n", "write: 101% is out of range (0% .. 100%)", 5},
    {BJ "write = 50\n", "write: expected a whole percentage such as '50%', got '50'", 5},
    {BJ "write = 50.5%\n", "write: expected a whole percentage", 5},
    {BJ "write = %\n", "write: expected a whole percentage", 5},
    {BJ "kernel = hotcold\nhot_set = 0%\n", "hot_set: 0% is out of range (1% .. 100%)", 6},
    {BJ "kernel = strided\nstride = 2MiB\n", "stride is larger than buffer 'b'", 6},
    {BJ "kernel = stencil\nstride = 0\n", "stride: 0 is out of range", 6},
    {BJ "repeat = 0\n", "repeat: 0 is out of range (at least 1)", 5},
    {BJ "start = soon\n", "start: invalid duration 'soon'", 5},
    {BJ "pattern_seed = x\n", "expected a whole number", 5},
    {BJ "touches = 1\ncompute = 1ns\nlength = 1d\n", "length gives 86400000000000 passes", 7},
    {BJ "touches = 18446744073709551615\npasses = 2\n",
     "[job j]: passes x touches does not fit in 64 bits", 3},
    {BJ "buffer = b\n", "unknown key 'buffer' in [job] (keys: gpu, buffers, kernel, copy", 5},
    /* [activity] */
    {BA "at = 1s\n", "[activity a]: missing key 'type'", 3},
    {BA "type = nap\n",
     "type: unknown value 'nap' (one of: churn, madvise, mprotect, mremap, "
     "fork, pressure, compact, exit)",
     4},
    {BA "type = churn\n", "[activity a]: missing key 'buffer' (type = churn needs one)", 3},
    {BA "type = mremap\n", "missing key 'buffer' (type = mremap needs one)", 3},
    {BA "type = madvise\nbuffer = b\n", "[activity a]: missing key 'advice'", 3},
    {BA "type = pressure\n", "[activity a]: missing key 'size'", 3},
    {BA "buffer = b\ntype = pressure\nsize = 1GiB\n", "'buffer' does not apply to type = pressure",
     4},
    {BA "type = compact\nbuffer = b\n", "'buffer' does not apply to type = compact", 5},
    {BA "type = compact\nhold = 1s\n", "'hold' does not apply to type = compact", 5},
    {BA "type = churn\nbuffer = b\nadvice = free\n", "'advice' does not apply to type = churn", 6},
    {BA "type = churn\nbuffer = b\nprocess = app\n", "'process' does not apply to type = churn", 6},
    {BA "type = exit\nnode = 0\n", "'node' does not apply to type = exit", 5},
    {BA "type = pressure\nsize = 1GiB\nrate = 1Gb/s\n", "rate: invalid rate '1Gb/s'", 6},
    {BA "type = madvise\nbuffer = b\nadvice = forget\n",
     "advice: unknown value 'forget' (one of: dontneed, free, pageout, hugepage, nohugepage)", 6},
    {BA "type = mprotect\nbuffer = b\nprot = write\n",
     "prot: unknown value 'write' (one of: none, read, read-write, read-exec)", 6},
    {BA "type = exit\nbuffer = b\nprocess = app\n",
     "give buffer or process, not both (a buffer names its process)", 6},
    {BA "type = fork\nparent_writes = 4KiB\n", "parent_writes needs a buffer", 5},
    {BA "type = fork\nchild_writes = 4KiB\n", "child_writes needs a buffer", 5},
    {BA "type = fork\noffset = 0\n", "offset needs a buffer", 5},
    {BA "type = fork\nlength = 4KiB\n", "length needs a buffer", 5},
    {BA "type = compact\ncount = 3\n", "count = 3 needs every > 0 (without every it happens once)",
     5},
    {BA "type = compact\ncount = 0\n", "count = 0 needs every > 0", 5},
    {BA "type = churn\nbuffer = b\noffset = 100\n", "offset is not a multiple of 4KiB", 6},
    {BA "type = churn\nbuffer = b\nlength = 100\n", "length is not a multiple of 4KiB", 6},
    {BA "type = churn\nbuffer = b\noffset = 512KiB\nlength = 1MiB\n",
     "the range [offset, offset + length) is not inside buffer 'b'", 7},
    {BA "type = churn\nbuffer = b\noffset = 1MiB\n", "is not inside buffer 'b'", 6},
    {BA "type = fork\nbuffer = b\noffset = 512KiB\nparent_writes = 600KiB\n",
     "parent_writes is larger than the range", 7},
    {BA "type = fork\nbuffer = b\nlength = 4KiB\nchild_writes = 8KiB\n",
     "child_writes is larger than the range", 7},
    {BA "type = compact\nnode = 1\n", "node = 1 but the host has 1 node", 5},
    {"[activity a]\ntype = exit\n", "[activity a]: the scenario has no [process]", 1},
    {"[activity a]\ntype = fork\n", "[activity a]: the scenario has no [process]", 1},
    {"[process p]\n[process q]\n[activity a]\ntype = exit\n",
     "[activity a]: the scenario has 2 [process] sections", 3},
    {BA "type = churn\nbuffer = ghost\n", "unknown buffer 'ghost'", 5},
    {BA "type = exit\nprocess = ghost\n", "unknown process 'ghost'", 5},
    {BA "type = churn\nbuffer = b\nat = later\n", "at: invalid duration 'later'", 6},
    /* [expect] */
    {"[expect]\ncheck = *: gpu.nosuch > 0\n", "check: unknown metric 'gpu.nosuch'", 2},
    {"[expect]\n\ncheck = pin, magic: seed > 0\n", "check: unknown policy 'magic'", 3},
    {"[expect]\ncheck = seed > 0\n", "check: expected 'POLICIES: LHS OP RHS'", 2},
};

static void test_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++)
        parse_err_at(errors[i].text, errors[i].msg, errors[i].line);
}

/* Errors name the file as given, with the line; the default name comes from the base name. */
static void test_error_names(void **state)
{
    (void)state;
    char err[512];
    assert_true(sim_scenario_parse_text("dir/My File.ini", "[host]\n", &scen, err, sizeof err) < 0);
    assert_string_equal(err, "dir/My File.ini:1: no name: 'My File' (from the file name) is not a "
                             "scenario name ([a-z0-9-], 1 to 31 characters); set name = in "
                             "[scenario]");
    assert_true(sim_scenario_parse_text("builtin:X", "; c\n[scenario]\n", &scen, err, sizeof err) <
                0);
    assert_non_null(strstr(err, "builtin:X:2: no name: 'X'"));
    assert_int_equal(sim_scenario_parse_text("builtin:x-1", "", &scen, err, sizeof err), 0);
    assert_string_equal(scen.name, "x-1");
    assert_string_equal(scen.file, "builtin:x-1");
    assert_int_equal(
        sim_scenario_parse_text("My File.ini", "[scenario]\nname = ok\n", &scen, err, sizeof err),
        0);
    assert_string_equal(scen.name, "ok");
    /* the message is truncated to the buffer, never overrun */
    char small[16];
    memset(small, 'x', sizeof small);
    assert_true(sim_scenario_parse_text("t.ini", "[bogus]\n", &scen, small, sizeof small) < 0);
    assert_string_equal(small, "t.ini:1: unknow");
    assert_true(sim_scenario_parse_text("t.ini", "[bogus]\n", &scen, NULL, 0) < 0);
    assert_int_equal(sim_scenario_parse_text(NULL, "", &scen, err, sizeof err), GPUSIM_EINVAL);
    assert_int_equal(sim_scenario_parse_text("t", NULL, &scen, err, sizeof err), GPUSIM_EINVAL);
    assert_int_equal(sim_scenario_parse_text("t", "", NULL, err, sizeof err), GPUSIM_EINVAL);
}

static void test_files(void **state)
{
    (void)state;
    char err[512];
    const char *path = GPUSIM_SCENARIO_DATA_DIR "/bad-reference.ini";
    char want[512];
    assert_true(sim_scenario_parse_file(path, &scen, err, sizeof err) < 0);
    snprintf(want, sizeof want, "%s:8: unknown buffer 'missing'", path);
    assert_string_equal(err, want);

    path = GPUSIM_SCENARIO_DATA_DIR "/bad-syntax.ini";
    assert_true(sim_scenario_parse_file(path, &scen, err, sizeof err) < 0);
    snprintf(want, sizeof want, "%s:4: expected 'key = value'", path);
    assert_memory_equal(err, want, strlen(want));

    path = GPUSIM_SCENARIO_DATA_DIR "/no-such-file.ini";
    assert_int_equal(sim_scenario_parse_file(path, &scen, err, sizeof err), GPUSIM_ENOENT);
    snprintf(want, sizeof want, "%s: cannot open: ", path);
    assert_memory_equal(err, want, strlen(want));

    /* a directory opens but does not read */
    assert_true(sim_scenario_parse_file(GPUSIM_SCENARIO_DATA_DIR, &scen, err, sizeof err) < 0);
    snprintf(want, sizeof want, "%s:1: cannot read: ", GPUSIM_SCENARIO_DATA_DIR);
    assert_memory_equal(err, want, strlen(want));
    assert_int_equal(sim_scenario_parse_file(NULL, &scen, err, sizeof err), GPUSIM_EINVAL);
}

/* ---- apply -------------------------------------------------------------------------------- */

static const char apply_base[] = "[gpu a]\n[gpu b]\n[process p]\nnode = 1\n"
                                 "[host]\nnodes = 2\n"
                                 "[activity c]\ntype = compact\nnode = 1\n";

static void apply_ok(sim_scenario *s, const char *name, const char *value)
{
    sim_setting set;
    char err[512] = "";
    memset(&set, 0, sizeof set);
    snprintf(set.name, sizeof set.name, "%s", name);
    snprintf(set.value, sizeof set.value, "%s", value);
    int rc = sim_scenario_apply(s, NULL, &set, 1, false, err, sizeof err);
    if (rc != 0)
        fail_msg("--set %s=%s: %d %s", name, value, rc, err);
}

static void apply_err(sim_scenario *s, const char *name, const char *value, const char *msg)
{
    sim_setting set;
    char err[512] = "";
    memset(&set, 0, sizeof set);
    snprintf(set.name, sizeof set.name, "%s", name);
    snprintf(set.value, sizeof set.value, "%s", value);
    assert_true(sim_scenario_apply(s, NULL, &set, 1, false, err, sizeof err) < 0);
    if (strcmp(err, msg) != 0)
        fail_msg("--set %s=%s gave '%s', expected '%s'", name, value, err, msg);
}

static void test_apply(void **state)
{
    (void)state;
    sim_scenario *s = parse_ok(apply_base);
    char err[512];

    /* presets (test_presets has more) */
    assert_int_equal(sim_scenario_apply(s, NULL, NULL, 0, false, err, sizeof err), 0);
    assert_string_equal(s->preset, "nvidia-h100+linux-x86-64");
    assert_int_equal(sim_scenario_apply(s, "nvidia-h100", NULL, 0, false, err, sizeof err), 0);
    assert_string_equal(s->preset, "nvidia-h100+linux-x86-64");
    assert_int_equal(sim_scenario_apply(s, "amd-mi300", NULL, 0, false, err, sizeof err),
                     GPUSIM_EINVAL);
    assert_string_equal(err, "--preset amd-mi300: unknown preset 'amd-mi300' (known: nvidia-h100, "
                             "amd-mi300x, linux-x86-64)");

    /* host.X: [host] keys, the alias and cost parameters */
    apply_ok(s, "host.ram", "4GiB");
    assert_int_equal(s->host.ram_bytes, 4 * GiB);
    apply_ok(s, "host.thp", "never");
    assert_int_equal(s->host.thp, GPUSIM_THP_NEVER);
    apply_ok(s, "host.swap_latency", "70us");
    assert_int_equal(host_param(&s->host, "swap_in_4k"), 70 * US);
    apply_ok(s, "host.fault_anon_4k", "3us");
    assert_int_equal(host_param(&s->host, "fault_anon_4k"), 3 * US);

    /* gpu.X on every device, gpu.DEV.X on one, driver.X and gpu.driver.X on every device */
    apply_ok(s, "gpu.engines", "8");
    assert_int_equal(s->gpus[0].cfg.engines, 8);
    assert_int_equal(s->gpus[1].cfg.engines, 8);
    apply_ok(s, "gpu.b.engines", "3");
    assert_int_equal(s->gpus[0].cfg.engines, 8);
    assert_int_equal(s->gpus[1].cfg.engines, 3);
    apply_ok(s, "gpu.a.page_walk_level", "200ns");
    assert_int_equal(gpu_param(&s->gpus[0].cfg, "page_walk_level"), 200);
    assert_int_equal(gpu_param(&s->gpus[1].cfg, "page_walk_level"), 125);
    apply_ok(s, "gpu.policy", "refault");
    assert_true(s->gpus[0].policy_fixed && s->gpus[1].policy_fixed);
    assert_int_equal(s->gpus[1].policy, GPUSIM_POLICY_REFAULT);
    apply_ok(s, "driver.restore_delay", "5ms");
    assert_int_equal(drv_param(&s->gpus[0].drv, "restore_delay"), 5 * MS);
    assert_int_equal(drv_param(&s->gpus[1].drv, "restore_delay"), 5 * MS);
    apply_ok(s, "gpu.driver.prefetch", "off");
    assert_int_equal(drv_param(&s->gpus[0].drv, "prefetch"), 0);
    assert_int_equal(drv_param(&s->gpus[1].drv, "prefetch"), 0);
    apply_ok(s, "gpu.a.driver.prefetch", "on");
    assert_int_equal(drv_param(&s->gpus[0].drv, "prefetch"), 1);
    assert_int_equal(drv_param(&s->gpus[1].drv, "prefetch"), 0);

    /* unqualified names, found in exactly one table */
    apply_ok(s, "swappiness", "30");
    assert_int_equal(host_param(&s->host, "swappiness"), 30);
    apply_ok(s, "swap", "2GiB");
    assert_int_equal(s->host.swap_bytes, 2 * GiB);
    apply_ok(s, "swap_latency", "60us");
    assert_int_equal(host_param(&s->host, "swap_in_4k"), 60 * US);
    apply_ok(s, "tlb_l2_entries", "8192");
    assert_int_equal(gpu_param(&s->gpus[0].cfg, "tlb_l2_entries"), 8192);
    assert_int_equal(gpu_param(&s->gpus[1].cfg, "tlb_l2_entries"), 8192);
    apply_ok(s, "replayable", "off");
    assert_false(s->gpus[1].cfg.replayable);
    apply_ok(s, "retry_timeout", "2s");
    assert_int_equal(drv_param(&s->gpus[0].drv, "retry_timeout"), 2 * S);
    assert_int_equal(drv_param(&s->gpus[1].drv, "retry_timeout"), 2 * S);

    /* several settings in order: the last one wins */
    sim_setting sets[2] = {{"host.ram", "2GiB", 0}, {"ram", "6GiB", 0}};
    assert_int_equal(sim_scenario_apply(s, "nvidia-h100", sets, 2, false, err, sizeof err), 0);
    assert_int_equal(s->host.ram_bytes, 6 * GiB);
}

/* The value preset `preset` gives parameter `name` of `layer`. */
static uint64_t preset_value(const char *preset, gpusim_layer_t layer, const char *name)
{
    gpusim_param_info_t pi;
    for (size_t i = 0; gpusim_preset_param(preset, layer, i, &pi, NULL) == 0; i++)
        if (strcmp(pi.name, name) == 0)
            return pi.def;
    fail_msg("no %s parameter %s", gpusim_layer_name(layer), name);
    return 0;
}

/* Presets from the file and from --preset, combined by kind; parameters set by name win over
 * every preset whatever the order. */
static void test_presets(void **state)
{
    (void)state;
    char err[512];
    const uint64_t amd_vram = preset_value("amd-mi300x", GPUSIM_LAYER_GPU, "vram_size");
    const uint64_t nv_vram = preset_value("nvidia-h100", GPUSIM_LAYER_GPU, "vram_size");
    const uint64_t amd_granule = preset_value("amd-mi300x", GPUSIM_LAYER_DRIVER, "fault_granule");
    assert_int_not_equal(amd_vram, nv_vram);
    assert_int_not_equal(amd_granule,
                         preset_value("nvidia-h100", GPUSIM_LAYER_DRIVER, "fault_granule"));

    /* the file's preset reaches every device and its drivers; a [gpu] parameter given before the
     * [scenario] that names the preset still wins */
    sim_scenario *s = parse_ok("[gpu a]\ndma_setup = 7us\n[gpu b]\ndriver.prefetch = on\n"
                               "[scenario]\npreset = amd-mi300x\n");
    assert_string_equal(s->preset, "amd-mi300x+linux-x86-64");
    assert_int_equal(gpu_param(&s->gpus[0].cfg, "vram_size"), amd_vram);
    assert_int_equal(gpu_param(&s->gpus[1].cfg, "vram_size"), amd_vram);
    assert_int_equal(drv_param(&s->gpus[0].drv, "fault_granule"), amd_granule);
    assert_int_equal(drv_param(&s->gpus[0].drv, "prefetch"), 0); /* the preset's */
    assert_int_equal(drv_param(&s->gpus[1].drv, "prefetch"), 1); /* explicit */
    assert_int_equal(gpu_param(&s->gpus[0].cfg, "dma_setup"), 7 * US);
    assert_int_equal(gpu_param(&s->gpus[1].cfg, "dma_setup"),
                     preset_value("amd-mi300x", GPUSIM_LAYER_GPU, "dma_setup"));

    /* --set marks a parameter explicit; a later --preset rewrites the rest only */
    apply_ok(s, "gpu.b.vram_size", "1GiB");
    assert_int_equal(sim_scenario_apply(s, "nvidia-h100", NULL, 0, false, err, sizeof err), 0);
    assert_string_equal(s->preset, "nvidia-h100+linux-x86-64");
    assert_int_equal(gpu_param(&s->gpus[0].cfg, "vram_size"), nv_vram);
    assert_int_equal(gpu_param(&s->gpus[1].cfg, "vram_size"), GPUSIM_GIB);
    assert_int_equal(gpu_param(&s->gpus[0].cfg, "dma_setup"), 7 * US);
    assert_int_equal(drv_param(&s->gpus[0].drv, "fault_granule"), 4 * GPUSIM_KIB);

    /* a host preset alone keeps the GPU preset; both kinds in either order */
    assert_int_equal(sim_scenario_apply(s, "amd-mi300x", NULL, 0, false, err, sizeof err), 0);
    assert_int_equal(sim_scenario_apply(s, "linux-x86-64", NULL, 0, false, err, sizeof err), 0);
    assert_string_equal(s->preset, "amd-mi300x+linux-x86-64");
    assert_int_equal(
        sim_scenario_apply(s, "linux-x86-64+nvidia-h100", NULL, 0, false, err, sizeof err), 0);
    assert_string_equal(s->preset, "nvidia-h100+linux-x86-64");

    /* bad specs change nothing */
    assert_int_equal(
        sim_scenario_apply(s, "amd-mi300x+amd-mi300x", NULL, 0, false, err, sizeof err),
        GPUSIM_EINVAL);
    assert_string_equal(err, "--preset amd-mi300x+amd-mi300x: two GPU presets, 'amd-mi300x' and "
                             "'amd-mi300x': name one of each kind at most");
    assert_int_equal(sim_scenario_apply(s, "+", NULL, 0, false, err, sizeof err), GPUSIM_EINVAL);
    assert_int_equal(
        sim_scenario_apply(s, "linux-x86-64+linux-x86-64", NULL, 0, false, err, sizeof err),
        GPUSIM_EINVAL);
    assert_string_equal(s->preset, "nvidia-h100+linux-x86-64");
    assert_int_equal(gpu_param(&s->gpus[0].cfg, "vram_size"), nv_vram);
}

/* --force lets a value outside the plausible range through, for deliberate sweeps. */
static void test_apply_force(void **state)
{
    (void)state;
    sim_scenario *s = parse_ok(apply_base);
    char err[512];
    sim_setting set = {"host.fault_anon_4k", "1ms", 0};
    assert_int_equal(sim_scenario_apply(s, NULL, &set, 1, false, err, sizeof err), GPUSIM_ERANGE);
    assert_int_equal(host_param(&s->host, "fault_anon_4k"),
                     preset_value("linux-x86-64", GPUSIM_LAYER_HOST, "fault_anon_4k"));
    assert_int_equal(sim_scenario_apply(s, NULL, &set, 1, true, err, sizeof err), 0);
    assert_int_equal(host_param(&s->host, "fault_anon_4k"), GPUSIM_NS_PER_MS);
    /* still refused: what does not parse */
    sim_setting bad = {"host.fault_anon_4k", "fast", 0};
    assert_true(sim_scenario_apply(s, NULL, &bad, 1, true, err, sizeof err) < 0);
}

static void test_apply_errors(void **state)
{
    (void)state;
    sim_scenario *s = parse_ok(apply_base);
    apply_err(s, "nosuch", "1",
              "--set nosuch=1: no such parameter (not a host, GPU or driver "
              "parameter)");
    apply_err(s, "host.nosuch", "1",
              "--set host.nosuch=1: no host parameter or [host] key "
              "'nosuch'");
    apply_err(s, "gpu.nosuch", "1", "--set gpu.nosuch=1: no GPU parameter or [gpu] key 'nosuch'");
    apply_err(s, "gpu.ghost.engines", "1",
              "--set gpu.ghost.engines=1: no device 'ghost' (devices: a, b)");
    apply_err(s, "driver.nosuch", "1", "--set driver.nosuch=1: no driver parameter 'nosuch'");
    apply_err(s, "gpu.engines", "0", "--set gpu.engines=0: 0 is out of range (1 .. 1024)");
    apply_err(s, "host.swap_in_4k", "1h",
              "--set host.swap_in_4k=1h: swap_in_4k: 1h is outside the plausible range "
              "1.3us..150us");
    apply_err(s, "ram", "lots", "--set ram=lots: invalid size 'lots': expected a number");
    apply_err(s, "host.ram", "3MiB",
              "--set host.ram=3MiB: ram = 3MiB is not a positive multiple of 2MiB per node (2 "
              "nodes)");
    assert_int_equal(s->host.ram_bytes, 1 * GiB); /* refused: unchanged */
    apply_err(s, "gpu.policy", "magic",
              "--set gpu.policy=magic: unknown policy 'magic' (one of: none, pin, pin-persistent, "
              "fence-wait, fence-reload, refault)");
    assert_false(s->gpus[0].policy_fixed);
    /* a host change that leaves a node behind: the process, then the compaction */
    apply_err(s, "host.nodes", "1",
              "--set host.nodes=1: process 'p' is on node 1 but the host has 1 node");
    assert_int_equal(s->host.nodes, 2);
    s->processes[0].cfg.node = 0;
    apply_err(s, "nodes", "1",
              "--set nodes=1: activity 'c' compacts node 1 but the host has 1 "
              "node");
    s->activities[0].node = 0;
    apply_ok(s, "nodes", "1");
    /* the failing setting is named even after good ones */
    sim_setting sets[2] = {{"host.ram", "2GiB", 0}, {"gpu.engines", "x", 0}};
    char err[512];
    assert_true(sim_scenario_apply(s, NULL, sets, 2, false, err, sizeof err) < 0);
    assert_string_equal(err, "--set gpu.engines=x: expected a whole number, got 'x'");
    assert_int_equal(sim_scenario_apply(NULL, NULL, NULL, 0, false, err, sizeof err),
                     GPUSIM_EINVAL);
    assert_int_equal(sim_scenario_apply(s, NULL, NULL, 1, false, err, sizeof err), GPUSIM_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_file),
        cmocka_unit_test(test_full_text),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_builtins),
        cmocka_unit_test(test_doc_examples),
        cmocka_unit_test(test_activity_defaults),
        cmocka_unit_test(test_units),
        cmocka_unit_test(test_booleans),
        cmocka_unit_test(test_enums),
        cmocka_unit_test(test_edges),
        cmocka_unit_test(test_length),
        cmocka_unit_test(test_forward_references),
        cmocka_unit_test(test_lexical),
        cmocka_unit_test(test_expect_section),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_error_names),
        cmocka_unit_test(test_files),
        cmocka_unit_test(test_apply),
        cmocka_unit_test(test_apply_errors),
        cmocka_unit_test(test_presets),
        cmocka_unit_test(test_apply_force),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
