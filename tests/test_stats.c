/*
 * tests/test_stats.c -- the statistics registry: names, kinds, updates, queries and the walk.
 *
 * Histogram accuracy has its own suite (test_hist.c); here a histogram is just one more kind.
 */
#include "test_util.h"

#include <stdio.h>

#include "core/stats.h"
#include "core/world.h"

static gpusim_stat_t *reg(gpusim_world_t *w, const char *name, gpusim_stat_kind_t kind,
                          const char *unit)
{
    gpusim_stat_t *s = NULL;
    ASSERT_OK(gpusim_stat_register(w, name, kind, unit, &s));
    assert_non_null(s);
    return s;
}

static void test_names_are_validated(void **state)
{
    (void)state;
    gpusim_world_t *w = test_world(1);
    gpusim_stat_t *s;
    const char *bad[] = {"",    ".",   "a.",  ".a",   "a..b",     "A",  "gpu.Faults",
                         "a b", "a-b", "a/b", "a.b.", "\xc3\xa9", "a\t"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        s = (gpusim_stat_t *)&s; /* sentinel: must be left alone on error */
        ASSERT_ERR(gpusim_stat_register(w, bad[i], GPUSIM_STAT_COUNTER, "", &s), GPUSIM_EINVAL);
        assert_ptr_equal(s, (gpusim_stat_t *)&s);
    }
    char longest[GPUSIM_STAT_NAME_MAX + 2];
    memset(longest, 'a', sizeof(longest));
    longest[GPUSIM_STAT_NAME_MAX] = '\0';
    reg(w, longest, GPUSIM_STAT_COUNTER, NULL); /* exactly the maximum: fine */
    longest[GPUSIM_STAT_NAME_MAX] = 'a';
    longest[GPUSIM_STAT_NAME_MAX + 1] = '\0';
    ASSERT_ERR(gpusim_stat_register(w, longest, GPUSIM_STAT_COUNTER, "", &s), GPUSIM_EINVAL);

    reg(w, "gpu.0.tlb.l1.hits", GPUSIM_STAT_COUNTER, "");
    reg(w, "notifier.blocked_ns.kswapd", GPUSIM_STAT_HISTOGRAM, "ns");

    /* Units: short, printable, nothing that breaks CSV or JSON. */
    ASSERT_ERR(gpusim_stat_register(w, "u.a", GPUSIM_STAT_COUNTER, "a b", &s), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_stat_register(w, "u.b", GPUSIM_STAT_COUNTER, "\"", &s), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_stat_register(w, "u.c", GPUSIM_STAT_COUNTER, "a,b", &s), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_stat_register(w, "u.d", GPUSIM_STAT_COUNTER, "0123456789abcdef", &s),
               GPUSIM_EINVAL);
    reg(w, "u.e", GPUSIM_STAT_COUNTER, "0123456789abcde"); /* 15 bytes: the maximum */

    /* Other bad arguments. */
    ASSERT_ERR(gpusim_stat_register(NULL, "x", GPUSIM_STAT_COUNTER, "", &s), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_stat_register(w, NULL, GPUSIM_STAT_COUNTER, "", &s), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_stat_register(w, "x", GPUSIM_STAT_COUNTER, "", NULL), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_stat_register(w, "x", (gpusim_stat_kind_t)0, "", &s), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_stat_register(w, "x", (gpusim_stat_kind_t)4, "", &s), GPUSIM_EINVAL);
    assert_true(gpusim__stats_check(&w->stats));
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

static void test_register_is_get_or_create(void **state)
{
    (void)state;
    gpusim_world_t *w = test_world(1);
    gpusim_stat_t *s, *a = reg(w, "gpu.faults", GPUSIM_STAT_COUNTER, "");
    size_t n = gpusim_stats_count(w);
    assert_ptr_equal(reg(w, "gpu.faults", GPUSIM_STAT_COUNTER, NULL), a); /* NULL unit == "" */
    assert_int_equal(gpusim_stats_count(w), n);
    ASSERT_ERR(gpusim_stat_register(w, "gpu.faults", GPUSIM_STAT_GAUGE, "", &s), GPUSIM_EEXIST);
    ASSERT_ERR(gpusim_stat_register(w, "gpu.faults", GPUSIM_STAT_COUNTER, "ns", &s), GPUSIM_EEXIST);
    assert_int_equal(gpusim_stats_count(w), n);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

static void test_leaf_and_subtree_cannot_share_a_name(void **state)
{
    (void)state;
    gpusim_world_t *w = test_world(1);
    gpusim_stat_t *s;
    reg(w, "a.b", GPUSIM_STAT_COUNTER, "");
    /* Below an existing leaf. */
    ASSERT_ERR(gpusim_stat_register(w, "a.b.c", GPUSIM_STAT_COUNTER, "", &s), GPUSIM_EEXIST);
    ASSERT_ERR(gpusim_stat_register(w, "a.b.c.d", GPUSIM_STAT_COUNTER, "", &s), GPUSIM_EEXIST);
    /* Siblings that merely share characters are fine. */
    reg(w, "a.b0", GPUSIM_STAT_COUNTER, "");
    reg(w, "a.b_c", GPUSIM_STAT_COUNTER, "");
    reg(w, "a.bc.d", GPUSIM_STAT_COUNTER, "");
    /* Above an existing subtree. */
    reg(w, "x.y.z", GPUSIM_STAT_COUNTER, "");
    ASSERT_ERR(gpusim_stat_register(w, "x.y", GPUSIM_STAT_COUNTER, "", &s), GPUSIM_EEXIST);
    ASSERT_ERR(gpusim_stat_register(w, "x", GPUSIM_STAT_COUNTER, "", &s), GPUSIM_EEXIST);
    reg(w, "x.y0", GPUSIM_STAT_COUNTER, "");
    /* The core's own names are subject to the same rule. */
    ASSERT_ERR(gpusim_stat_register(w, "sim.events", GPUSIM_STAT_COUNTER, "", &s), GPUSIM_EEXIST);
    ASSERT_ERR(gpusim_stat_register(w, "sim.now.x", GPUSIM_STAT_COUNTER, "", &s), GPUSIM_EEXIST);
    assert_true(gpusim__stats_check(&w->stats));
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

static void test_counter_and_gauge_updates(void **state)
{
    (void)state;
    gpusim_world_t *w = test_world(1);
    gpusim_stat_t *c = reg(w, "t.count", GPUSIM_STAT_COUNTER, "");
    gpusim_stat_t *g = reg(w, "t.depth", GPUSIM_STAT_GAUGE, "bytes");
    gpusim_stat_t *h = reg(w, "t.lat", GPUSIM_STAT_HISTOGRAM, "ns");
    gpusim_stat_info_t info;

    ASSERT_OK(gpusim_stat_add(c, 3));
    ASSERT_OK(gpusim_stat_add(c, 4));
    ASSERT_OK(gpusim_stats_get(w, "t.count", &info));
    assert_int_equal(info.kind, GPUSIM_STAT_COUNTER);
    assert_int_equal(info.count, 7);
    assert_string_equal(info.name, "t.count");
    assert_string_equal(info.unit, "");

    /* A gauge's peak starts at 0 and follows the highest value, including through adjust. */
    ASSERT_OK(gpusim_stat_set(g, -5));
    ASSERT_OK(gpusim_stats_get(w, "t.depth", &info));
    assert_int_equal(info.value, -5);
    assert_int_equal(info.peak, 0);
    ASSERT_OK(gpusim_stat_adjust(g, 25));
    ASSERT_OK(gpusim_stat_set(g, 7));
    ASSERT_OK(gpusim_stats_get(w, "t.depth", &info));
    assert_int_equal(info.value, 7);
    assert_int_equal(info.peak, 20);
    assert_string_equal(info.unit, "bytes");
    ASSERT_OK(gpusim_stat_set(g, INT64_MAX - 1));
    ASSERT_ERR(gpusim_stat_adjust(g, 2), GPUSIM_EOVERFLOW);
    ASSERT_OK(gpusim_stat_set(g, INT64_MIN + 1));
    ASSERT_ERR(gpusim_stat_adjust(g, -2), GPUSIM_EOVERFLOW);
    ASSERT_OK(gpusim_stats_get(w, "t.depth", &info));
    assert_int_equal(info.value, INT64_MIN + 1); /* a refused adjust changes nothing */

    /* Mutators refuse the wrong kind and NULL. */
    ASSERT_ERR(gpusim_stat_add(g, 1), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_stat_add(h, 1), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_stat_set(c, 1), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_stat_adjust(h, 1), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_stat_record(c, 1), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_stat_record(g, 1), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_stat_add(NULL, 1), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_stat_set(NULL, 1), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_stat_adjust(NULL, 1), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_stat_record(NULL, 1), GPUSIM_EINVAL);
    ASSERT_OK(gpusim_stats_get(w, "t.count", &info));
    assert_int_equal(info.count, 7);

    ASSERT_OK(gpusim_stat_record(h, 10));
    ASSERT_OK(gpusim_stat_record(h, 30));
    ASSERT_OK(gpusim_stats_get(w, "t.lat", &info));
    assert_int_equal(info.count, 2);
    assert_int_equal(info.sum, 40);
    assert_int_equal(info.min, 10);
    assert_int_equal(info.max, 30);
    assert_int_equal(info.p50, 10);
    assert_int_equal(info.p99, 30);

    ASSERT_ERR(gpusim_stats_get(w, "t.nothing", &info), GPUSIM_ENOENT);
    ASSERT_ERR(gpusim_stats_get(w, "t", &info), GPUSIM_ENOENT); /* a subtree is not a stat */
    ASSERT_ERR(gpusim_stats_get(NULL, "t.count", &info), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_stats_get(w, NULL, &info), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_stats_get(w, "t.count", NULL), GPUSIM_EINVAL);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* Collects the names a walk yields, joined by spaces. */
static void walk(gpusim_world_t *w, const char *prefix, char *out, size_t len)
{
    gpusim_stats_iter_t it;
    gpusim_stat_info_t info;
    out[0] = '\0';
    ASSERT_OK(gpusim_stats_iter_init(&it, w, prefix));
    while (gpusim_stats_iter_next(&it, &info)) {
        if (out[0] != '\0')
            strncat(out, " ", len - strlen(out) - 1);
        strncat(out, info.name, len - strlen(out) - 1);
    }
}

static void test_walk_in_name_order(void **state)
{
    (void)state;
    gpusim_world_t *w = test_world(1);
    const char *names[] = {"gpu_x",          "gpu.1.faults", "gpu.0.tlb.misses", "gpu0",
                           "gpu.0.tlb.hits", "gpu.0.faults", "host.frames",      "gpu.10.faults"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        reg(w, names[i], GPUSIM_STAT_COUNTER, "");
    char buf[1024];

    walk(w, "gpu", buf, sizeof(buf));
    assert_string_equal(buf, "gpu.0.faults gpu.0.tlb.hits gpu.0.tlb.misses gpu.1.faults "
                             "gpu.10.faults");
    walk(w, "gpu.0.tlb", buf, sizeof(buf));
    assert_string_equal(buf, "gpu.0.tlb.hits gpu.0.tlb.misses");
    walk(w, "gpu.0.tlb.hits", buf, sizeof(buf)); /* a leaf is its own subtree */
    assert_string_equal(buf, "gpu.0.tlb.hits");
    walk(w, "gpu.1", buf, sizeof(buf)); /* not gpu.10 */
    assert_string_equal(buf, "gpu.1.faults");
    walk(w, "nothing", buf, sizeof(buf));
    assert_string_equal(buf, "");
    walk(w, "zzz", buf, sizeof(buf)); /* beyond every name */
    assert_string_equal(buf, "");

    /* NULL and "" walk everything, sorted, the core's statistics included. */
    walk(w, NULL, buf, sizeof(buf));
    char all[1024];
    walk(w, "", all, sizeof(all));
    assert_string_equal(buf, all);
    size_t count = 1;
    for (const char *p = buf; *p; p++)
        count += *p == ' ';
    assert_int_equal(count, gpusim_stats_count(w));
    assert_non_null(strstr(buf, "alloc.bytes"));
    assert_true(gpusim__stats_check(&w->stats));

    gpusim_stats_iter_t it;
    gpusim_stat_info_t info;
    ASSERT_ERR(gpusim_stats_iter_init(NULL, w, NULL), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_stats_iter_init(&it, NULL, NULL), GPUSIM_EINVAL);
    assert_false(gpusim_stats_iter_next(NULL, &info));
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

typedef struct counter_actor {
    gpusim_event_t ev;
    int left;
} counter_actor_t;

static void step(gpusim_world_t *w, gpusim_event_t *ev)
{
    counter_actor_t *a = ev->data;
    if (--a->left > 0)
        ASSERT_OK(gpusim_event_schedule_after(w, ev, 10));
}

static void test_core_statistics_are_published(void **state)
{
    (void)state;
    gpusim_world_t *w = test_world(1);
    counter_actor_t a = {.left = 50};
    gpusim_event_init(&a.ev, step, &a);
    ASSERT_OK(gpusim_event_schedule(w, &a.ev, 0));
    ASSERT_OK(gpusim_world_run_until(w, 1000));

    gpusim_stat_info_t info;
    ASSERT_OK(gpusim_stats_get(w, "sim.events.run", &info));
    assert_int_equal(info.count, 50);
    ASSERT_OK(gpusim_stats_get(w, "sim.events.scheduled", &info));
    assert_int_equal(info.count, 50);
    ASSERT_OK(gpusim_stats_get(w, "sim.events.pending", &info));
    assert_int_equal(info.value, 0);
    assert_int_equal(info.peak, 1);
    ASSERT_OK(gpusim_stats_get(w, "sim.now", &info));
    assert_int_equal(info.value, 1000);
    assert_string_equal(info.unit, "ns");
    ASSERT_OK(gpusim_stats_get(w, "alloc.bytes", &info));
    assert_int_equal(info.value, (int64_t)w->arena.bytes);
    assert_true(info.value > 0 && info.peak >= info.value);
    ASSERT_OK(gpusim_stats_get(w, "alloc.allocations", &info));
    assert_int_equal(info.count, w->arena.nallocs);
    ASSERT_OK(gpusim_stats_get(w, "alloc.failures", &info));
    assert_int_equal(info.count, 0);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

static void test_worlds_have_separate_registries(void **state)
{
    (void)state;
    gpusim_world_t *a = test_world(1), *b = test_world(1);
    gpusim_stat_t *sa = reg(a, "x.n", GPUSIM_STAT_COUNTER, "");
    gpusim_stat_t *sb = reg(b, "x.n", GPUSIM_STAT_COUNTER, "");
    assert_ptr_not_equal(sa, sb);
    ASSERT_OK(gpusim_stat_add(sa, 5));
    gpusim_stat_info_t info;
    ASSERT_OK(gpusim_stats_get(b, "x.n", &info));
    assert_int_equal(info.count, 0);
    gpusim_world_free(a);
    gpusim_world_free(b);
    ASSERT_NO_LEAK();
}

static void test_many_registrations_stay_sorted(void **state)
{
    (void)state;
    gpusim_world_t *w = test_world(1);
    gpusim_rng_t rng;
    gpusim_rng_seed(&rng, 9, 9);
    char name[64];
    size_t base = gpusim_stats_count(w);
    for (int i = 0; i < 2000; i++) {
        /* Random three-level names; collisions with the same kind are simply re-found. */
        snprintf(name, sizeof(name), "r%u.s%u.t%u", (unsigned)gpusim_rng_below(&rng, 20),
                 (unsigned)gpusim_rng_below(&rng, 20), (unsigned)gpusim_rng_below(&rng, 20));
        reg(w, name, GPUSIM_STAT_COUNTER, "");
    }
    assert_true(gpusim_stats_count(w) > base + 1000);
    assert_true(gpusim__stats_check(&w->stats));
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        GPUSIM_TEST(test_names_are_validated),
        GPUSIM_TEST(test_register_is_get_or_create),
        GPUSIM_TEST(test_leaf_and_subtree_cannot_share_a_name),
        GPUSIM_TEST(test_counter_and_gauge_updates),
        GPUSIM_TEST(test_walk_in_name_order),
        GPUSIM_TEST(test_core_statistics_are_published),
        GPUSIM_TEST(test_worlds_have_separate_registries),
        GPUSIM_TEST(test_many_registrations_stay_sorted),
    };
    return cmocka_run_group_tests_name("stats", tests, NULL, NULL);
}
