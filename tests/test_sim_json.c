/*
 * test_sim_json.c -- the result JSON of docs/results.md: sim_results_write_json then
 * sim_results_read_json gives back every field; keys come in the documented order; the reader
 * refuses each kind of bad file with a message naming the file and the field.
 *
 * Files live in a temporary directory made per test. No world is created here (records are
 * filled by hand), so the allocator's leak check of test_util.h does not apply; the sim library
 * is linked as gpusim-bench links it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];

static int make_dir(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/test_sim_json.XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
    char cmd[128];
    (void)state;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void path_of(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", dir, name);
}

/* Two records where every numeric field has a value of its own, status and expectations of each
 * kind. */
static void fill(sim_result *r, size_t n)
{
    size_t nf;
    const sim_field *f = sim_result_fields(&nf);
    for (size_t i = 0; i < n; i++) {
        sim_result_init(&r[i]);
        r[i].index = 10 + i;
        r[i].combinations = 40;
        snprintf(r[i].scenario, sizeof r[i].scenario, "scen-%zu", i);
        snprintf(r[i].policy, sizeof r[i].policy, "%s", i ? "pin" : "refault");
        snprintf(r[i].preset, sizeof r[i].preset, "%s", i ? "" : "nvidia-h100");
        r[i].seed = 1000 + i;
        for (size_t k = 0; k < nf; k++) {
            uint64_t v = 1000000 * (i + 1) + k * 7 + 1;
            memcpy((char *)&r[i] + f[k].offset, &v, sizeof v);
        }
        r[i].nexpectations = 3;
        snprintf(r[i].expectations[0].text, SIM_TEXT_MAX, "*: checker.stale == 0");
        r[i].expectations[0].met = 1;
        snprintf(r[i].expectations[1].text, SIM_TEXT_MAX, "pin: \"quoted\" \\ text");
        r[i].expectations[1].met = 0;
        snprintf(r[i].expectations[2].text, SIM_TEXT_MAX, "pin: a < b@refault");
        r[i].expectations[2].met = -1;
    }
    if (n > 1) {
        r[1].status = GPUSIM_EINVAL;
        snprintf(r[1].error, sizeof r[1].error, "set-up took longer than the duration");
    }
}

static void write_file(const char *path, const sim_result *r, size_t n)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(sim_results_write_json(f, r, n), 0);
    assert_int_equal(fclose(f), 0);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char buf[1 << 16];
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    buf[len] = '\0';
    fclose(f);
    return buf;
}

static void spit(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static void assert_same(const sim_result *a, const sim_result *b)
{
    size_t nf;
    const sim_field *f = sim_result_fields(&nf);
    assert_int_equal(a->index, b->index);
    assert_int_equal(a->combinations, b->combinations);
    assert_string_equal(a->scenario, b->scenario);
    assert_string_equal(a->policy, b->policy);
    assert_string_equal(a->preset, b->preset);
    assert_int_equal(a->seed, b->seed);
    assert_int_equal(a->status, b->status);
    assert_string_equal(a->status ? a->error : "", b->status ? b->error : "");
    for (size_t k = 0; k < nf; k++) {
        uint64_t x, y;
        memcpy(&x, (const char *)a + f[k].offset, sizeof x);
        memcpy(&y, (const char *)b + f[k].offset, sizeof y);
        if (x != y)
            fail_msg("%s: wrote %llu, read %llu", f[k].path, (unsigned long long)x,
                     (unsigned long long)y);
    }
    assert_int_equal(a->nexpectations, b->nexpectations);
    for (unsigned e = 0; e < a->nexpectations; e++) {
        assert_string_equal(a->expectations[e].text, b->expectations[e].text);
        assert_int_equal(a->expectations[e].met, b->expectations[e].met);
    }
}

static void round_trip_keeps_every_field(void **state)
{
    sim_result in[2], *out = NULL;
    size_t n = 99;
    char path[128], err[256] = "";
    (void)state;
    fill(in, 2);
    path_of(path, sizeof path, "rt.json");
    write_file(path, in, 2);
    assert_int_equal(sim_results_read_json(path, &out, &n, err, sizeof err), 0);
    assert_int_equal(n, 2);
    assert_same(&in[0], &out[0]);
    assert_same(&in[1], &out[1]);
    /* Written again, the same bytes: what makes merged and unsharded outputs comparable. */
    char path2[128];
    path_of(path2, sizeof path2, "rt2.json");
    write_file(path2, out, n);
    char *first = strdup(slurp(path));
    assert_string_equal(first, slurp(path2));
    free(first);
    free(out);
}

static void keys_come_in_the_documented_order(void **state)
{
    sim_result in[2];
    char path[128];
    (void)state;
    fill(in, 2);
    path_of(path, sizeof path, "order.json");
    write_file(path, in, 2);
    const char *text = slurp(path);
    assert_true(strncmp(text, "{\n  \"gpusim_version\": \"", 23) == 0);
    static const char *const keys[] = {
        "\"results\"",      "\"index\"",  "\"combinations\"", "\"scenario\"",    "\"policy\"",
        "\"seed\"",         "\"preset\"", "\"status\"",       "\"sim_time_ns\"", "\"wall_time_ns\"",
        "\"events\"",       "\"gpu\"",    "\"stall_ns\"",     "\"host\"",        "\"notifier\"",
        "\"blocked_by\"",   "\"kswapd\"", "\"p99\"",          "\"checker\"",     "\"stale\"",
        "\"expectations\"", "\"text\"",   "\"met\""};
    const char *at = text;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const char *next = strstr(at, keys[i]);
        if (!next)
            fail_msg("key %s missing or out of order", keys[i]);
        at = next;
    }
    /* "error" only in the failed record (the second), after its status. */
    const char *second = strstr(text, "\"index\": 11");
    assert_non_null(second);
    const char *err = strstr(text, "\"error\"");
    assert_non_null(err);
    assert_true(err > second);
    assert_null(strstr(err + 1, "\"error\""));
    /* met: true, false, null. */
    assert_non_null(strstr(text, "\"met\": true"));
    assert_non_null(strstr(text, "\"met\": false"));
    assert_non_null(strstr(text, "\"met\": null"));
}

static void large_values_survive(void **state)
{
    sim_result in, *out = NULL;
    size_t n;
    char path[128], err[256] = "";
    (void)state;
    fill(&in, 1);
    in.sim_time_ns = (uint64_t)INT64_MAX; /* the largest exact JSON integer */
    in.events = UINT64_MAX;               /* beyond: written as a real, read back clamped */
    in.gpu.dma_bytes = (uint64_t)1 << 63;
    path_of(path, sizeof path, "big.json");
    write_file(path, &in, 1);
    assert_int_equal(sim_results_read_json(path, &out, &n, err, sizeof err), 0);
    assert_int_equal(out[0].sim_time_ns, (uint64_t)INT64_MAX);
    assert_int_equal(out[0].events, UINT64_MAX);
    assert_int_equal(out[0].gpu.dma_bytes, (uint64_t)1 << 63);
    free(out);
}

static void empty_results_read_as_none(void **state)
{
    sim_result *out = (sim_result *)1;
    size_t n = 5;
    char path[128], err[256] = "";
    (void)state;
    path_of(path, sizeof path, "empty.json");
    write_file(path, NULL, 0);
    assert_int_equal(sim_results_read_json(path, &out, &n, err, sizeof err), 0);
    assert_int_equal(n, 0);
    free(out);
}

/* Writes a valid file, replaces the first `from` by `to`, and expects the reader to refuse it
 * with a message containing `msg`. */
static void expect_refused(const char *from, const char *to, const char *msg)
{
    sim_result in[2], *out = NULL;
    size_t n = 7;
    char path[128], err[512] = "";
    fill(in, 2);
    path_of(path, sizeof path, "bad.json");
    write_file(path, in, 2);
    char *text = strdup(slurp(path));
    char *at = strstr(text, from);
    if (!at)
        fail_msg("'%s' not in the written file", from);
    size_t len = strlen(text) + strlen(to) + 1;
    char *edited = malloc(len);
    snprintf(edited, len, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
    spit(path, edited);
    free(edited);
    free(text);
    int rc = sim_results_read_json(path, &out, &n, err, sizeof err);
    if (rc == 0)
        fail_msg("accepted a file with '%s' in place of '%s'", to, from);
    assert_null(out);
    assert_int_equal(n, 0);
    if (!strstr(err, msg) || strncmp(err, path, strlen(path)) != 0)
        fail_msg("message '%s' lacks the path or '%s'", err, msg);
}

static void bad_fields_are_refused_by_name(void **state)
{
    (void)state;
    expect_refused("\"stall_ns\"", "\"stall\"", "results[0].gpu.stall_ns: missing");
    expect_refused("\"stall_ns\": 1", "\"stall_ns\": -1", "results[0].gpu.stall_ns: not a");
    expect_refused("\"stall_ns\": 1", "\"stall_ns\": \"x\", \"y\": 1",
                   "results[0].gpu.stall_ns: not a non-negative integer");
    expect_refused("\"kswapd\": {", "\"kswapd\": 3, \"x\": {",
                   "results[0].notifier.blocked_by.kswapd: not an object");
    expect_refused("\"status\": 0", "\"status\": \"ok\"", "results[0].status: not an integer");
    expect_refused("\"scenario\": \"scen-0\"", "\"scenario\": 5",
                   "results[0].scenario: not a string");
    expect_refused("\"scenario\": \"scen-0\"",
                   "\"scenario\": \"a-name-much-longer-than-thirty-one-characters\"",
                   "results[0].scenario: longer than 31");
    expect_refused("\"met\": true", "\"met\": 1", "results[0].expectations[0].met: not true");
    expect_refused("\"index\": 11", "\"idx\": 11", "results[1].index: missing");
    expect_refused("\"error\": \"set-up", "\"err\": \"set-up", "results[1].error: missing");
    expect_refused("\"expectations\": [", "\"expectations\": 1, \"x\": [",
                   "results[0].expectations: not an array");
    expect_refused("\"results\": [", "\"results\": 3, \"r\": [", "not a gpusim-bench results");
    expect_refused("\"gpusim_version\"", "\"version\"", "not a gpusim-bench results");
    expect_refused("\"seed\": 1000", "\"seed\": 1000, \"seed\": 1", "not JSON");
    expect_refused("{", "[", "not JSON");
}

static void unreadable_files_are_refused(void **state)
{
    sim_result *out = NULL;
    size_t n;
    char path[128], err[512] = "";
    (void)state;
    path_of(path, sizeof path, "missing.json");
    assert_int_not_equal(sim_results_read_json(path, &out, &n, err, sizeof err), 0);
    assert_non_null(strstr(err, "missing.json"));
    path_of(path, sizeof path, "trunc.json");
    spit(path, "{\"gpusim_version\": \"0.1.0\", \"results\": [");
    assert_int_not_equal(sim_results_read_json(path, &out, &n, err, sizeof err), 0);
    assert_non_null(strstr(err, "trunc.json:1:"));
    assert_non_null(strstr(err, "not JSON"));
}

static void too_many_expectations_are_refused(void **state)
{
    char path[128], err[512] = "", buf[16384];
    sim_result *out = NULL;
    size_t n, used;
    (void)state;
    sim_result in;
    fill(&in, 1);
    in.nexpectations = 0;
    path_of(path, sizeof path, "many.json");
    write_file(path, &in, 1);
    const char *text = slurp(path);
    const char *at = strstr(text, "\"expectations\": []");
    assert_non_null(at);
    used = (size_t)snprintf(buf, sizeof buf, "%.*s\"expectations\": [", (int)(at - text), text);
    for (int i = 0; i <= SIM_MAX_EXPECT; i++)
        used += (size_t)snprintf(buf + used, sizeof buf - used,
                                 "%s{\"text\": \"e%d\", \"met\": null}", i ? ", " : "", i);
    snprintf(buf + used, sizeof buf - used, "%s", at + strlen("\"expectations\": ["));
    spit(path, buf);
    assert_int_not_equal(sim_results_read_json(path, &out, &n, err, sizeof err), 0);
    assert_non_null(strstr(err, "expectations: more than 32"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip_keeps_every_field),
        cmocka_unit_test(keys_come_in_the_documented_order),
        cmocka_unit_test(large_values_survive),
        cmocka_unit_test(empty_results_read_as_none),
        cmocka_unit_test(bad_fields_are_refused_by_name),
        cmocka_unit_test(unreadable_files_are_refused),
        cmocka_unit_test(too_many_expectations_are_refused),
    };
    return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
