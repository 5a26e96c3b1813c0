/*
 * tests/test_sim_expect.c -- expectations (sim/expect.c): sim_expect_parse and sim_expect_eval.
 *
 * Parsing: every operator, "*" and lists of policies, factors (whole and decimal), constants
 * plain, decimal and with duration and size units, "seed" and nested metric paths, @policy, the
 * text kept trimmed and the line left alone; every error with its message. Evaluation: each
 * operator met and not met at the boundary, constants with units, factors, @policy read from the
 * record of the same scenario, preset and seed (never another seed, scenario or preset), a missing
 * record (-1), a record whose policy the text does not list (-1), a text that does not parse (0),
 * duplicate records (agreeing: used; disagreeing: -1), and the outcome of every record being the
 * same under every order of the records.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

static sim_expect parse_ok(const char *text)
{
    sim_expect e;
    char err[256] = "";
    e.line = 77;
    int rc = sim_expect_parse(text, &e, err, sizeof err);
    if (rc != 0)
        fail_msg("'%s': %d %s", text, rc, err);
    assert_int_equal(e.line, 77);
    return e;
}

static void parse_err(const char *text, const char *msg)
{
    sim_expect e;
    char err[256] = "";
    int rc = sim_expect_parse(text, &e, err, sizeof err);
    if (rc != GPUSIM_EINVAL || strstr(err, msg) == NULL)
        fail_msg("'%s': rc %d '%s', expected EINVAL and '%s'", text, rc, err, msg);
}

static void test_parse(void **state)
{
    (void)state;
    sim_expect e = parse_ok("  *: gpu.stall_ns < 1ms  ");
    assert_string_equal(e.text, "*: gpu.stall_ns < 1ms");
    for (int p = 0; p < GPUSIM_POLICY_COUNT; p++)
        assert_true(e.policies[p]);
    assert_int_equal(e.op, SIM_LT);
    assert_string_equal(e.lhs.metric, "gpu.stall_ns");
    assert_string_equal(e.lhs.policy, "");
    assert_true(e.lhs.factor == 1.0);
    assert_string_equal(e.rhs.metric, "");
    assert_true(e.rhs.factor == 1e6);

    e = parse_ok("pin , refault:2*sim_time_ns@pin-persistent>=0.5");
    assert_true(e.policies[GPUSIM_POLICY_PIN]);
    assert_true(e.policies[GPUSIM_POLICY_REFAULT]);
    assert_false(e.policies[GPUSIM_POLICY_PIN_PERSISTENT]);
    assert_false(e.policies[GPUSIM_POLICY_NONE]);
    assert_true(e.lhs.factor == 2.0);
    assert_string_equal(e.lhs.metric, "sim_time_ns");
    assert_string_equal(e.lhs.policy, "pin-persistent");
    assert_int_equal(e.op, SIM_GE);
    assert_true(e.rhs.factor == 0.5);

    e = parse_ok("fence-wait: notifier.blocked_by.kswapd.max <= 0.25 * seed@none");
    assert_int_equal(e.op, SIM_LE);
    assert_string_equal(e.lhs.metric, "notifier.blocked_by.kswapd.max");
    assert_string_equal(e.rhs.metric, "seed");
    assert_string_equal(e.rhs.policy, "none");
    assert_true(e.rhs.factor == 0.25);

    static const struct {
        const char *text;
        sim_cmp op;
    } ops[] = {{"*: seed < 1", SIM_LT},  {"*: seed <= 1", SIM_LE}, {"*: seed > 1", SIM_GT},
               {"*: seed >= 1", SIM_GE}, {"*: seed == 1", SIM_EQ}, {"*: seed != 1", SIM_NE}};
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(parse_ok(ops[i].text).op, ops[i].op);

    /* constants: plain, decimal, durations and sizes, on either side */
    static const struct {
        const char *text;
        double value;
    } consts[] = {
        {"*: 10 < seed", 10},     {"*: 1.5 < seed", 1.5},      {"*: .5 < seed", 0.5},
        {"*: 7. < seed", 7},      {"*: 1ms < seed", 1e6},      {"*: 1.5us < seed", 1500},
        {"*: 2h < seed", 7200e9}, {"*: 2MiB < seed", 2097152}, {"*: 4 KiB < seed", 4096},
        {"*: 1GB < seed", 1e9},   {"*: 0 < seed", 0},
    };
    for (size_t i = 0; i < sizeof consts / sizeof consts[0]; i++) {
        e = parse_ok(consts[i].text);
        assert_string_equal(e.lhs.metric, "");
        if (e.lhs.factor != consts[i].value)
            fail_msg("'%s' gave %g", consts[i].text, e.lhs.factor);
    }
    /* every field of the table is a metric */
    size_t n;
    const sim_field *f = sim_result_fields(&n);
    for (size_t i = 0; i < n; i++) {
        char text[160];
        snprintf(text, sizeof text, "*: %s@refault > 0", f[i].path);
        assert_string_equal(parse_ok(text).lhs.metric, f[i].path);
    }
}

static void test_parse_errors(void **state)
{
    (void)state;
    parse_err("seed > 0", "expected 'POLICIES: LHS OP RHS', got 'seed > 0'");
    parse_err("*: seed", "no comparison (one of < <= > >= == !=)");
    parse_err("*: seed = 1", "unknown operator '=' (one of < <= > >= == !=)");
    parse_err("*: seed ! 1", "unknown operator '!'");
    parse_err("*: seed =< 1", "unknown operator '='");
    parse_err("*: seed < 1 < 2", "more than one comparison");
    parse_err("*: < 1", "the left side is empty");
    parse_err("*: seed >", "the right side is empty");
    parse_err("magic: seed > 0", "unknown policy 'magic' (a list of policies, or *)");
    parse_err(": seed > 0", "unknown policy ''");
    parse_err("pin,,refault: seed > 0", "unknown policy ''");
    parse_err("pin, *: seed > 0", "unknown policy '*'");
    parse_err("pin, pin: seed > 0", "policy 'pin' is listed twice");
    parse_err("*: gpu.nosuch > 0", "unknown metric 'gpu.nosuch'");
    parse_err("*: gpu > 0", "unknown metric 'gpu'");
    parse_err("*: Seed > 0", "unknown metric 'Seed'");
    parse_err("*: seed@magic > 0", "unknown policy 'magic' after '@'");
    parse_err("*: seed@ > 0", "unknown policy '' after '@'");
    parse_err("*: x * seed > 0", "'x' before '*' is not a number");
    parse_err("*: -2 * seed > 0", "before '*' is not a number");
    parse_err("*: 2 * 3 > 0", "a factor multiplies a metric (NUMBER * METRIC)");
    parse_err("*: 2 * 1ms > 0", "a factor multiplies a metric");
    parse_err("*: 2 * > 0", "a factor multiplies a metric");
    parse_err("*: 2 * seed * 2 > 0", "a factor multiplies a metric");
    parse_err("*: seed > 12XB", "'12XB' is not a number, a duration or a size");
    parse_err("*: seed > 1e3", "'1e3' is not a number");
    parse_err("*: seed > 0.3B", "'0.3B' is not a number");
    char text[400];
    memset(text, 'x', sizeof text);
    memcpy(text, "*: seed > ", 10);
    text[sizeof text - 1] = '\0';
    parse_err(text, "too long (at most 255 characters)");
    sim_expect e;
    char err[8];
    assert_int_equal(sim_expect_parse(NULL, &e, err, sizeof err), GPUSIM_EINVAL);
    assert_int_equal(sim_expect_parse("*: seed > 0", NULL, err, sizeof err), GPUSIM_EINVAL);
    /* a short message buffer is filled, NUL-terminated, never overrun */
    memset(err, 'x', sizeof err);
    assert_int_equal(sim_expect_parse("*: nosuch > 0", &e, err, sizeof err), GPUSIM_EINVAL);
    assert_string_equal(err, "unknown");
}

/* ---- evaluation --------------------------------------------------------------------------- */

static sim_result rec(const char *scenario, const char *policy, uint64_t seed, uint64_t stall)
{
    sim_result r;
    sim_result_init(&r);
    snprintf(r.scenario, sizeof r.scenario, "%s", scenario);
    snprintf(r.policy, sizeof r.policy, "%s", policy);
    snprintf(r.preset, sizeof r.preset, "nvidia-h100");
    r.seed = seed;
    r.gpu.stall_ns = stall;
    r.sim_time_ns = 1000;
    return r;
}

static void add(sim_result *r, const char *text)
{
    snprintf(r->expectations[r->nexpectations].text, SIM_TEXT_MAX, "%s", text);
    r->expectations[r->nexpectations].met = 99;
    r->nexpectations++;
}

/* Evaluates one record alone with one expectation; returns met. */
static int eval1(uint64_t stall, const char *text)
{
    sim_result r = rec("s", "pin", 3, stall);
    add(&r, text);
    sim_expect_eval(&r, 1);
    return r.expectations[0].met;
}

static void test_eval_single(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        uint64_t stall;
        int met;
    } cases[] = {
        {"*: gpu.stall_ns < 1ms", 999999, 1},
        {"*: gpu.stall_ns < 1ms", 1000000, 0},
        {"*: gpu.stall_ns <= 1ms", 1000000, 1},
        {"*: gpu.stall_ns <= 1ms", 1000001, 0},
        {"*: gpu.stall_ns > 1us", 1001, 1},
        {"*: gpu.stall_ns > 1us", 1000, 0},
        {"*: gpu.stall_ns >= 1us", 1000, 1},
        {"*: gpu.stall_ns >= 1us", 999, 0},
        {"*: gpu.stall_ns == 4KiB", 4096, 1},
        {"*: gpu.stall_ns == 4KiB", 4097, 0},
        {"*: gpu.stall_ns != 0", 1, 1},
        {"*: gpu.stall_ns != 0", 0, 0},
        {"pin: 2 * gpu.stall_ns > 1999", 1000, 1},
        {"pin: 0.5 * gpu.stall_ns == 500", 1000, 1},
        {"pin: gpu.stall_ns > 0.5 * sim_time_ns", 501, 1},
        {"pin: gpu.stall_ns > 0.5 * sim_time_ns", 500, 0},
        {"*: seed == 3", 0, 1},
        {"*: 3 == seed", 0, 1},
        {"*: 1 < 2", 0, 1},
        {"*: 2 < 1", 0, 0},
        /* the record's own policy, named: itself */
        {"*: gpu.stall_ns == gpu.stall_ns@pin", 5, 1},
        /* not for this record's policy: not evaluated */
        {"refault, none: gpu.stall_ns < 1ms", 0, -1},
        /* a text that does not parse: not met */
        {"*: gpu.nosuch < 1ms", 0, 0},
        {"garbage", 0, 0},
        /* another policy's record is not there */
        {"*: gpu.stall_ns < gpu.stall_ns@refault", 0, -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int met = eval1(cases[i].stall, cases[i].text);
        if (met != cases[i].met)
            fail_msg("'%s' with stall %llu: met %d, expected %d", cases[i].text,
                     (unsigned long long)cases[i].stall, met, cases[i].met);
    }
}

/* The runs of test_eval_records: two scenarios, two seeds, three policies, one other preset. */
#define NRECS 11
static void make_records(sim_result *r)
{
    const char *pa = "pin: gpu.stall_ns > 2 * gpu.stall_ns@refault";
    const char *pb = "pin, refault: gpu.stall_ns <= gpu.stall_ns@fence-wait";
    r[0] = rec("a", "pin", 1, 300);
    add(&r[0], pa); /* refault seed 1: 100 -> met */
    add(&r[0], pb); /* fence-wait seed 1 missing -> -1 */
    r[1] = rec("a", "refault", 1, 100);
    add(&r[1], pb); /* fence-wait missing -> -1 */
    r[2] = rec("a", "pin", 2, 300);
    add(&r[2], pa); /* refault seed 2: 200 -> not met */
    add(&r[2], pb); /* fence-wait seed 2: 300 -> met */
    r[3] = rec("a", "refault", 2, 200);
    add(&r[3], pb); /* met */
    r[4] = rec("a", "fence-wait", 2, 300);
    r[5] = rec("b", "pin", 1, 300);
    add(&r[5], pa); /* scenario b has no refault: -1 (a's refault seed 1 must not be used) */
    r[6] = rec("b", "refault", 7, 1);
    r[7] = rec("a", "pin", 1, 300); /* the same run under another preset */
    snprintf(r[7].preset, sizeof r[7].preset, "other");
    add(&r[7], pa); /* no refault under "other": -1 */
    r[8] = rec("c", "pin", 1, 300);
    add(&r[8], pa); /* two refault records that agree: used */
    r[9] = rec("c", "refault", 1, 100);
    r[10] = rec("c", "refault", 1, 100);
}

static const int expected_met[NRECS][2] = {
    {1, -1},  {-1, 99}, {0, 1},  {1, 99},  {99, 99}, {-1, 99},
    {99, 99}, {-1, 99}, {1, 99}, {99, 99}, {99, 99},
};

/* A record's identity, to find it again after shuffling. */
static int find(const sim_result *recs, size_t n, const sim_result *want)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(recs[i].scenario, want->scenario) == 0 &&
            strcmp(recs[i].policy, want->policy) == 0 &&
            strcmp(recs[i].preset, want->preset) == 0 && recs[i].seed == want->seed &&
            recs[i].gpu.stall_ns == want->gpu.stall_ns)
            return (int)i;
    return -1;
}

static void check_records(const sim_result *recs, const sim_result *orig, const char *order)
{
    for (size_t k = 0; k < NRECS; k++) {
        int i = find(recs, NRECS, &orig[k]);
        assert_true(i >= 0);
        for (unsigned e = 0; e < 2; e++) {
            int met = e < recs[i].nexpectations ? recs[i].expectations[e].met : 99;
            if (met != expected_met[k][e])
                fail_msg("%s: record %zu (%s/%s/%llu) expectation %u: met %d, expected %d", order,
                         k, orig[k].scenario, orig[k].policy, (unsigned long long)orig[k].seed, e,
                         met, expected_met[k][e]);
        }
    }
}

static void test_eval_records(void **state)
{
    (void)state;
    static sim_result orig[NRECS], recs[NRECS];
    make_records(orig);
    memcpy(recs, orig, sizeof recs);
    sim_expect_eval(recs, NRECS);
    check_records(recs, orig, "as made");

    /* reversed, and every rotation: the same outcomes */
    for (size_t i = 0; i < NRECS; i++)
        recs[i] = orig[NRECS - 1 - i];
    sim_expect_eval(recs, NRECS);
    check_records(recs, orig, "reversed");
    for (size_t rot = 1; rot < NRECS; rot++) {
        char what[32];
        for (size_t i = 0; i < NRECS; i++)
            recs[i] = orig[(i + rot) % NRECS];
        sim_expect_eval(recs, NRECS);
        snprintf(what, sizeof what, "rotated by %zu", rot);
        check_records(recs, orig, what);
    }
    /* random orders (a fixed LCG: no wall clock, the same every run) */
    uint64_t x = 12345;
    for (unsigned round = 0; round < 50; round++) {
        memcpy(recs, orig, sizeof recs);
        for (size_t i = NRECS - 1; i > 0; i--) {
            x = x * 6364136223846793005u + 1442695040888963407u;
            size_t j = (size_t)(x >> 33) % (i + 1);
            sim_result t = recs[i];
            recs[i] = recs[j];
            recs[j] = t;
        }
        sim_expect_eval(recs, NRECS);
        check_records(recs, orig, "shuffled");
    }
    /* evaluating again changes nothing */
    sim_expect_eval(recs, NRECS);
    check_records(recs, orig, "evaluated twice");
}

/* Duplicates of a named record that disagree: the term is missing, in any order. */
static void test_eval_ambiguous(void **state)
{
    (void)state;
    sim_result r[3];
    r[0] = rec("c", "pin", 1, 300);
    add(&r[0], "pin: gpu.stall_ns > 2 * gpu.stall_ns@refault");
    r[1] = rec("c", "refault", 1, 100);
    r[2] = rec("c", "refault", 1, 200);
    sim_expect_eval(r, 3);
    assert_int_equal(r[0].expectations[0].met, -1);
    sim_result t = r[0];
    r[0] = r[2];
    r[2] = t;
    sim_expect_eval(r, 3);
    assert_int_equal(r[2].expectations[0].met, -1);
}

/* Unknown policy names in records, empty input, more outcomes than the array holds. */
static void test_eval_edges(void **state)
{
    (void)state;
    sim_expect_eval(NULL, 0);
    sim_result r = rec("s", "magic", 1, 0);
    add(&r, "*: seed == 1");
    sim_expect_eval(&r, 0);
    assert_int_equal(r.expectations[0].met, 99); /* n = 0: nothing evaluated */
    sim_expect_eval(&r, 1);
    assert_int_equal(r.expectations[0].met, -1); /* not a policy: no text applies */
    r = rec("s", "none", 1, 0);
    for (unsigned i = 0; i < SIM_MAX_EXPECT; i++)
        add(&r, "*: seed == 1");
    r.nexpectations = SIM_MAX_EXPECT + 5; /* corrupt: clamped */
    sim_expect_eval(&r, 1);
    for (unsigned i = 0; i < SIM_MAX_EXPECT; i++)
        assert_int_equal(r.expectations[i].met, 1);
    /* an unterminated text (a corrupt record) is read within its array */
    r = rec("s", "none", 1, 0);
    add(&r, "*: seed == 1");
    memset(r.expectations[0].text + 12, ' ', SIM_TEXT_MAX - 12);
    sim_expect_eval(&r, 1);
    assert_int_equal(r.expectations[0].met, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),          cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_eval_single),    cmocka_unit_test(test_eval_records),
        cmocka_unit_test(test_eval_ambiguous), cmocka_unit_test(test_eval_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
