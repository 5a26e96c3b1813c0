/*
 * tests/test_world.c -- creating, configuring and freeing worlds; version and allocator queries.
 */
#include "test_util.h"

#include <stdio.h>

#include "core/world.h"

static void test_config_defaults(void **state)
{
    (void)state;
    gpusim_world_config_t cfg;
    memset(&cfg, 0xab, sizeof(cfg));
    gpusim_world_config_init(&cfg);
    assert_int_equal(cfg.seed, 1);
    assert_int_equal(cfg.log_level, GPUSIM_LOG_OFF);
    assert_null(cfg.log_cb);
    assert_null(cfg.log_ud);
    assert_int_equal(cfg.event_capacity, 1024);
    gpusim_world_config_init(NULL); /* harmless */
}

static void test_new_and_free(void **state)
{
    (void)state;
    gpusim_world_t *w = NULL;
    ASSERT_OK(gpusim_world_new(NULL, &w)); /* NULL config: the defaults */
    assert_non_null(w);
    assert_int_equal(gpusim_world_now(w), 0);
    assert_int_equal(gpusim_world_seed(w), 1);
    assert_int_equal(gpusim_world_pending(w), 0);
    assert_int_equal(gpusim_world_events_run(w), 0);
    assert_int_equal(gpusim_world_next_time(w), GPUSIM_TIME_MAX);
    assert_null(gpusim_world_data(w));
    int x;
    gpusim_world_set_data(w, &x);
    assert_ptr_equal(gpusim_world_data(w), &x);
    gpusim_world_free(w);
    gpusim_world_free(NULL); /* harmless */
    ASSERT_NO_LEAK();
}

static void test_new_rejects_bad_arguments(void **state)
{
    (void)state;
    gpusim_world_config_t cfg;
    gpusim_world_t *w = (gpusim_world_t *)&cfg;
    ASSERT_ERR(gpusim_world_new(NULL, NULL), GPUSIM_EINVAL);
    gpusim_world_config_init(&cfg);
    cfg.log_level = (gpusim_log_level_t)6;
    ASSERT_ERR(gpusim_world_new(&cfg, &w), GPUSIM_EINVAL);
    cfg.log_level = (gpusim_log_level_t)-1;
    ASSERT_ERR(gpusim_world_new(&cfg, &w), GPUSIM_EINVAL);
    gpusim_world_config_init(&cfg);
    cfg.event_capacity = (size_t)UINT32_MAX; /* more than the queue can ever index */
    ASSERT_ERR(gpusim_world_new(&cfg, &w), GPUSIM_EINVAL);
    cfg.event_capacity = SIZE_MAX;
    ASSERT_ERR(gpusim_world_new(&cfg, &w), GPUSIM_EINVAL);
    assert_ptr_equal(w, (gpusim_world_t *)&cfg); /* untouched */
    ASSERT_NO_LEAK();
}

static void test_queries_on_null_world(void **state)
{
    (void)state;
    gpusim_rng_t rng;
    assert_int_equal(gpusim_world_now(NULL), 0);
    assert_int_equal(gpusim_world_seed(NULL), 0);
    assert_int_equal(gpusim_world_pending(NULL), 0);
    assert_int_equal(gpusim_world_events_run(NULL), 0);
    assert_int_equal(gpusim_world_next_time(NULL), GPUSIM_TIME_MAX);
    assert_null(gpusim_world_data(NULL));
    gpusim_world_set_data(NULL, NULL);
    gpusim_world_stop(NULL);
    assert_int_equal(gpusim_stats_count(NULL), 0);
    ASSERT_ERR(gpusim_world_rng(NULL, "a", &rng), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_world_run(NULL), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_world_set_log(NULL, GPUSIM_LOG_OFF, NULL, NULL), GPUSIM_EINVAL);
}

static void test_seed_determines_streams(void **state)
{
    (void)state;
    gpusim_world_t *a = test_world(7), *b = test_world(7), *c = test_world(8);
    gpusim_rng_t ra, rb, rc, other;
    assert_int_equal(gpusim_world_seed(a), 7);
    ASSERT_OK(gpusim_world_rng(b, "other", &other)); /* creating a stream disturbs nothing */
    gpusim_rng_next(&other);
    ASSERT_OK(gpusim_world_rng(a, "kswapd", &ra));
    ASSERT_OK(gpusim_world_rng(b, "kswapd", &rb));
    ASSERT_OK(gpusim_world_rng(c, "kswapd", &rc));
    assert_memory_equal(&ra, &rb, sizeof(ra));
    assert_memory_not_equal(&ra, &rc, sizeof(ra));
    ASSERT_OK(gpusim_world_rng(a, "reclaim", &rb));
    assert_memory_not_equal(&ra, &rb, sizeof(ra));
    ASSERT_ERR(gpusim_world_rng(a, NULL, &ra), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_world_rng(a, "x", NULL), GPUSIM_EINVAL);
    gpusim_world_free(a);
    gpusim_world_free(b);
    gpusim_world_free(c);
    ASSERT_NO_LEAK();
}

typedef struct pinger {
    gpusim_event_t ev;
    int n;
} pinger_t;

static void ping(gpusim_world_t *w, gpusim_event_t *ev)
{
    pinger_t *p = ev->data;
    if (++p->n < 10)
        ASSERT_OK(gpusim_event_schedule_after(w, ev, 100));
}

static void test_worlds_are_independent(void **state)
{
    (void)state;
    gpusim_world_t *a = test_world(1), *b = test_world(1);
    pinger_t pa = {0}, pb = {0};
    gpusim_event_init(&pa.ev, ping, &pa);
    gpusim_event_init(&pb.ev, ping, &pb);
    ASSERT_OK(gpusim_event_schedule(a, &pa.ev, 0));
    ASSERT_OK(gpusim_event_schedule(b, &pb.ev, 50));
    ASSERT_OK(gpusim_world_run(a));
    assert_int_equal(pa.n, 10);
    assert_int_equal(pb.n, 0); /* b's clock and queue did not move */
    assert_int_equal(gpusim_world_now(b), 0);
    assert_int_equal(gpusim_world_pending(b), 1);
    ASSERT_OK(gpusim_world_run(b));
    assert_int_equal(gpusim_world_now(a), 900);
    assert_int_equal(gpusim_world_now(b), 950);
    gpusim_world_free(a);
    gpusim_world_free(b);
    ASSERT_NO_LEAK();
}

static void test_version(void **state)
{
    (void)state;
    char expect[32];
    snprintf(expect, sizeof(expect), "%d.%d.%d", GPUSIM_VERSION_MAJOR, GPUSIM_VERSION_MINOR,
             GPUSIM_VERSION_PATCH);
    assert_string_equal(gpusim_version_string(), expect);
    assert_int_equal(gpusim_version(), GPUSIM_VERSION_HEX);
    assert_int_equal(GPUSIM_VERSION_HEX >> 16, GPUSIM_VERSION_MAJOR);
}

static void test_allocator_name_matches_build(void **state)
{
    (void)state;
#ifdef GPUSIM_USE_JEMALLOC
    assert_string_equal(gpusim_allocator_name(), "jemalloc");
#else
    assert_string_equal(gpusim_allocator_name(), "libc");
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        GPUSIM_TEST(test_config_defaults),
        GPUSIM_TEST(test_new_and_free),
        GPUSIM_TEST(test_new_rejects_bad_arguments),
        GPUSIM_TEST(test_queries_on_null_world),
        GPUSIM_TEST(test_seed_determines_streams),
        GPUSIM_TEST(test_worlds_are_independent),
        GPUSIM_TEST(test_version),
        GPUSIM_TEST(test_allocator_name_matches_build),
    };
    return cmocka_run_group_tests_name("world", tests, NULL, NULL);
}
