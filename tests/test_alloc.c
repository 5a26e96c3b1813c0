/*
 * tests/test_alloc.c -- the allocator facade and what the rest of the core does when it fails.
 *
 * Covers: exact accounting of live bytes through alloc, zalloc, realloc and free; array growth and
 * its overflow checks; failure injection; every public constructor (and every operation that can
 * allocate) swept over each of its allocation points with the n-th allocation failing, checking
 * that it returns GPUSIM_ENOMEM, changes nothing and leaks nothing; world teardown leaving no
 * allocation behind; and, in jemalloc builds, one private arena per world, destroyed with it.
 */
#include "test_util.h"

#include <stdio.h>

#include "core/event.h"
#include "core/stats.h"
#include "core/world.h"

#ifdef GPUSIM_USE_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

static void test_accounting_is_exact(void **state)
{
    (void)state;
    gpusim__arena a;
    ASSERT_OK(gpusim__arena_init(&a));
    char *p = gpusim__arena_alloc(&a, 100);
    char *z = gpusim__arena_zalloc(&a, 64);
    assert_non_null(p);
    assert_non_null(z);
    for (int i = 0; i < 64; i++)
        assert_int_equal(z[i], 0);
    assert_int_equal(a.bytes, 164);
    assert_int_equal(gpusim__alloc_outstanding(), test_leak_baseline_ + 164);
    memset(p, 7, 100);
    p = gpusim__arena_realloc(&a, p, 100, 5000);
    assert_non_null(p);
    assert_int_equal(p[99], 7); /* contents survive a resize */
    assert_int_equal(a.bytes, 5064);
    assert_int_equal(a.peak_bytes, 5064);
    p = gpusim__arena_realloc(&a, p, 5000, 10);
    assert_int_equal(a.bytes, 74);
    assert_int_equal(a.peak_bytes, 5064);
    gpusim__arena_free(&a, p, 10);
    gpusim__arena_free(&a, z, 64);
    gpusim__arena_free(&a, NULL, 123); /* ignored */
    assert_int_equal(a.bytes, 0);
    assert_int_equal(a.nallocs, 2);
    assert_int_equal(a.nfrees, 2);
    gpusim__arena_destroy(&a);
    ASSERT_NO_LEAK();
}

static void test_grow(void **state)
{
    (void)state;
    gpusim__arena a;
    ASSERT_OK(gpusim__arena_init(&a));
    int *arr = NULL;
    size_t cap = 0;
    ASSERT_OK(gpusim__arena_grow(&a, (void **)&arr, &cap, 1, sizeof(int)));
    assert_true(cap >= 1);
    size_t before = cap;
    ASSERT_OK(gpusim__arena_grow(&a, (void **)&arr, &cap, before, sizeof(int))); /* fits: no-op */
    assert_int_equal(cap, before);
    ASSERT_OK(gpusim__arena_grow(&a, (void **)&arr, &cap, before + 1, sizeof(int)));
    assert_true(cap >= 2 * before); /* at least doubles */
    assert_int_equal(a.bytes, cap * sizeof(int));

    /* Sizes that cannot be represented are refused before anything is allocated. */
    ASSERT_ERR(gpusim__arena_grow(&a, (void **)&arr, &cap, SIZE_MAX, sizeof(int)),
               GPUSIM_EOVERFLOW);
    ASSERT_ERR(gpusim__arena_grow(&a, (void **)&arr, &cap, SIZE_MAX / 4, 64), GPUSIM_EOVERFLOW);
    assert_int_equal(a.bytes, cap * sizeof(int));

    /* A failed growth leaves the array as it was. */
    arr[0] = 42;
    size_t cap_before = cap;
    gpusim__alloc_fail_nth(1);
    ASSERT_ERR(gpusim__arena_grow(&a, (void **)&arr, &cap, cap + 1, sizeof(int)), GPUSIM_ENOMEM);
    assert_true(gpusim__alloc_fail_fired());
    assert_int_equal(cap, cap_before);
    assert_int_equal(arr[0], 42);
    assert_int_equal(a.nfailures, 1);
    gpusim__arena_free(&a, arr, cap * sizeof(int));
    gpusim__arena_destroy(&a);
    ASSERT_NO_LEAK();
}

static void test_injection_counts_allocations(void **state)
{
    (void)state;
    gpusim__arena a;
    ASSERT_OK(gpusim__arena_init(&a));
    gpusim__alloc_fail_nth(3);
    void *p1 = gpusim__arena_alloc(&a, 8);
    void *p2 = gpusim__arena_zalloc(&a, 8);
    assert_false(gpusim__alloc_fail_fired());
    void *p3 = gpusim__arena_alloc(&a, 8); /* the third one fails */
    assert_true(gpusim__alloc_fail_fired());
    void *p4 = gpusim__arena_alloc(&a, 8); /* and only that one */
    assert_non_null(p1);
    assert_non_null(p2);
    assert_null(p3);
    assert_non_null(p4);
    assert_int_equal(a.bytes, 24);
    gpusim__arena_free(&a, p1, 8);
    gpusim__arena_free(&a, p2, 8);
    gpusim__arena_free(&a, p4, 8);

    /* Creating an arena is an allocation point too. */
    gpusim__arena b;
    gpusim__alloc_fail_nth(1);
    ASSERT_ERR(gpusim__arena_init(&b), GPUSIM_ENOMEM);
    gpusim__alloc_fail_nth(0);
    gpusim__arena_destroy(&a);
    ASSERT_NO_LEAK();
}

/* ------------------------------------------------------------------------------------------- */
/* Every constructor survives every allocation failure                                          */
/* ------------------------------------------------------------------------------------------- */

static void test_world_new_survives_every_failure(void **state)
{
    (void)state;
    int points = 0;
    for (long n = 1;; n++) {
        gpusim_world_t *w = (gpusim_world_t *)&points; /* sentinel: untouched on failure */
        gpusim__alloc_fail_nth(n);
        int rc = gpusim_world_new(NULL, &w);
        bool fired = gpusim__alloc_fail_fired();
        gpusim__alloc_fail_nth(0);
        if (!fired) {
            ASSERT_OK(rc);
            gpusim_world_free(w);
            break;
        }
        points++;
        ASSERT_ERR(rc, GPUSIM_ENOMEM);
        assert_ptr_equal(w, (gpusim_world_t *)&points);
        ASSERT_NO_LEAK();
    }
    /* Arena, world, queue, registry and eight core statistics at the very least. */
    assert_true(points >= 11);
    ASSERT_NO_LEAK();
}

static void test_stat_register_survives_every_failure(void **state)
{
    (void)state;
    static const gpusim_stat_kind_t kinds[] = {GPUSIM_STAT_COUNTER, GPUSIM_STAT_GAUGE,
                                               GPUSIM_STAT_HISTOGRAM};
    gpusim_world_t *w = test_world(1);
    char name[32];
    for (int k = 0; k < 3; k++) {
        /* Fill the registry to a power of two so the sweep also hits its growth. */
        for (int i = 0; gpusim_stats_count(w) < 64; i++) {
            gpusim_stat_t *s;
            snprintf(name, sizeof(name), "fill%d.n%d", k, i);
            ASSERT_OK(gpusim_stat_register(w, name, GPUSIM_STAT_COUNTER, "", &s));
        }
        snprintf(name, sizeof(name), "target.k%d", k);
        int points = 0;
        for (long n = 1;; n++) {
            size_t count = gpusim_stats_count(w);
            size_t bytes = w->arena.bytes;
            gpusim_stat_t *s = NULL;
            gpusim__alloc_fail_nth(n);
            int rc = gpusim_stat_register(w, name, kinds[k], "ns", &s);
            bool fired = gpusim__alloc_fail_fired();
            gpusim__alloc_fail_nth(0);
            if (!fired) {
                ASSERT_OK(rc);
                assert_non_null(s);
                break;
            }
            points++;
            ASSERT_ERR(rc, GPUSIM_ENOMEM);
            assert_null(s);
            assert_int_equal(gpusim_stats_count(w), count); /* nothing half-registered */
            assert_int_equal(w->arena.bytes, bytes);        /* nothing leaked */
            assert_true(gpusim__stats_check(&w->stats));
        }
        assert_true(points >= 1);
    }
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

static void nop_cb(gpusim_world_t *w, gpusim_event_t *ev)
{
    (void)w;
    (void)ev;
}

static void test_schedule_survives_queue_growth_failure(void **state)
{
    (void)state;
    gpusim_world_config_t cfg;
    gpusim_world_t *w;
    gpusim_world_config_init(&cfg);
    cfg.event_capacity = 1;
    ASSERT_OK(gpusim_world_new(&cfg, &w));
    enum { N = 64 };
    gpusim_event_t ev[N];
    int failures = 0;
    for (int i = 0; i < N; i++) {
        gpusim_event_init(&ev[i], nop_cb, NULL);
        if (w->queue.n == w->queue.cap) {
            /* The queue must grow for this one: make that fail first. */
            size_t bytes = w->arena.bytes;
            gpusim__alloc_fail_nth(1);
            ASSERT_ERR(gpusim_event_schedule(w, &ev[i], (gpusim_time_t)i), GPUSIM_ENOMEM);
            assert_true(gpusim__alloc_fail_fired());
            assert_false(gpusim_event_pending(&ev[i]));
            assert_int_equal(gpusim_world_pending(w), (size_t)i);
            assert_int_equal(w->arena.bytes, bytes);
            assert_true(gpusim__queue_check(&w->queue, w));
            failures++;
        }
        ASSERT_OK(gpusim_event_schedule(w, &ev[i], (gpusim_time_t)i));
    }
    assert_true(failures >= 3); /* 8 -> 16 -> 32 -> 64 */
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(gpusim_world_events_run(w), N);
    gpusim_stat_info_t info;
    ASSERT_OK(gpusim_stats_get(w, "alloc.failures", &info));
    assert_int_equal(info.count, (uint64_t)failures);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

static void test_world_teardown_frees_everything(void **state)
{
    (void)state;
    gpusim_world_t *w = test_world(3);
    gpusim_stat_t *h;
    ASSERT_OK(gpusim_stat_register(w, "lat", GPUSIM_STAT_HISTOGRAM, "ns", &h));
    for (uint64_t v = 1; v != 0 && v < (UINT64_C(1) << 62); v *= 3)
        ASSERT_OK(gpusim_stat_record(h, v)); /* touches many histogram chunks */
    gpusim_event_t ev[1000];
    for (int i = 0; i < 1000; i++) {
        gpusim_event_init(&ev[i], nop_cb, NULL);
        ASSERT_OK(gpusim_event_schedule(w, &ev[i], (gpusim_time_t)i * 3));
    }
    ASSERT_OK(gpusim_world_run_until(w, 1500)); /* half of them run, half stay pending */
    assert_true(gpusim__alloc_outstanding() > test_leak_baseline_);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* The limit caps live bytes: growth past it is refused and counted, shrinking and freeing are
 * not, and a refusal leaves the block where it was. */
static void test_limit_caps_live_bytes(void **state)
{
    (void)state;
    gpusim__arena a;
    ASSERT_OK(gpusim__arena_init(&a));
    a.limit = 1000;
    char *p = gpusim__arena_alloc(&a, 600);
    assert_non_null(p);
    assert_null(gpusim__arena_alloc(&a, 401)); /* 1001 > 1000 */
    assert_int_equal(a.nrefused, 1);
    assert_int_equal(a.refused_size, 401);
    assert_int_equal(a.refused_at, 600);
    assert_int_equal(a.nfailures, 1);
    assert_int_equal(a.bytes, 600);
    char *q = gpusim__arena_alloc(&a, 400); /* exactly at the limit */
    assert_non_null(q);
    p[0] = 'x';
    assert_null(gpusim__arena_realloc(&a, p, 600, 601)); /* growth refused, p untouched */
    assert_int_equal(p[0], 'x');
    assert_int_equal(a.nrefused, 2);
    assert_int_equal(a.refused_size, 401);      /* the first refusal is what a message reports */
    p = gpusim__arena_realloc(&a, p, 600, 100); /* shrinking is always allowed */
    assert_non_null(p);
    assert_int_equal(a.bytes, 500);
    int *arr = NULL;
    size_t cap = 0;
    ASSERT_ERR(gpusim__arena_grow(&a, (void **)&arr, &cap, 200, sizeof(int)), GPUSIM_ENOMEM);
    assert_int_equal(cap, 0);
    gpusim__arena_free(&a, q, 400);
    ASSERT_OK(gpusim__arena_grow(&a, (void **)&arr, &cap, 100, sizeof(int))); /* room again */
    /* Live bytes above a limit lowered after the fact: every growth is refused, none wraps. */
    a.limit = 10;
    assert_null(gpusim__arena_alloc(&a, 1));
    gpusim__arena_free(&a, arr, cap * sizeof(int));
    gpusim__arena_free(&a, p, 100);
    assert_int_equal(a.bytes, 0);
    gpusim__arena_destroy(&a);
    ASSERT_NO_LEAK();
}

/* A world's mem_limit is its arena's: the world's own structures count, a refusal surfaces as
 * GPUSIM_ENOMEM from the call that needed memory, and gpusim_world_memory reports it. */
static void test_world_mem_limit(void **state)
{
    (void)state;
    gpusim_world_config_t cfg;
    gpusim_world_t *w = NULL;
    gpusim_world_config_init(&cfg);
    assert_int_equal(cfg.mem_limit, 0);
    cfg.mem_limit = 64; /* smaller than the world itself */
    ASSERT_ERR(gpusim_world_new(&cfg, &w), GPUSIM_ENOMEM);
    assert_null(w);
    ASSERT_NO_LEAK();

    cfg.mem_limit = 0;
    ASSERT_OK(gpusim_world_new(&cfg, &w));
    gpusim_world_memory_t m;
    ASSERT_OK(gpusim_world_memory(w, &m));
    uint64_t base = m.bytes;
    assert_true(base > 0 && m.peak_bytes >= base && m.limit == 0 && m.refused == 0);
    gpusim_world_free(w);

    cfg.mem_limit = base + 4096; /* the world fits; a big statistic does not */
    ASSERT_OK(gpusim_world_new(&cfg, &w));
    gpusim_stat_t *st;
    int rc = 0;
    char name[32];
    for (int i = 0; i < 1000 && rc == 0; i++) {
        snprintf(name, sizeof name, "s%d", i);
        rc = gpusim_stat_register(w, name, GPUSIM_STAT_HISTOGRAM, "ns", &st);
    }
    assert_int_equal(rc, GPUSIM_ENOMEM);
    ASSERT_OK(gpusim_world_memory(w, &m));
    assert_int_equal(m.limit, base + 4096);
    assert_true(m.refused >= 1 && m.refused_size > 0);
    assert_true(m.refused_at + m.refused_size > m.limit); /* it would have crossed the line */
    assert_true(m.bytes <= m.limit && m.peak_bytes <= m.limit);
    ASSERT_ERR(gpusim_world_memory(NULL, &m), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_world_memory(w, NULL), GPUSIM_EINVAL);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

#ifdef GPUSIM_USE_JEMALLOC
/*
 * Pages jemalloc has active in arena `index`, or -1 if the arena does not exist. (The manual's
 * "arena.<i>.initialized" reports false for arenas made with arenas.create, so it cannot tell.)
 */
static long je_arena_pages(unsigned index)
{
    uint64_t epoch = 1;
    size_t len = sizeof(epoch);
    mallctl("epoch", &epoch, &len, &epoch, len); /* refresh the statistics snapshot */
    char name[64];
    size_t pactive;
    len = sizeof(pactive);
    snprintf(name, sizeof(name), "stats.arenas.%u.pactive", index);
    if (mallctl(name, &pactive, &len, NULL, 0) != 0)
        return -1;
    return (long)pactive;
}
#endif

static void test_each_world_has_its_own_arena(void **state)
{
    (void)state;
#ifdef GPUSIM_USE_JEMALLOC
    assert_string_equal(gpusim_allocator_name(), "jemalloc");
    gpusim_world_t *a = test_world(1), *b = test_world(1);
    assert_true(a->arena.has_je_arena && b->arena.has_je_arena);
    assert_int_not_equal(a->arena.je_index, b->arena.je_index);
    unsigned ia = a->arena.je_index;
    assert_true(je_arena_pages(ia) > 0); /* the world's memory is in its arena */
    /* The world struct itself lives in its arena. */
    unsigned owner = 0;
    size_t len = sizeof(owner);
    assert_int_equal(mallctl("arenas.lookup", &owner, &len, &(void *){a}, sizeof(void *)), 0);
    assert_int_equal(owner, ia);
    gpusim_world_free(a);
    assert_int_equal(je_arena_pages(ia), -1); /* destroyed with the world */
    gpusim_world_free(b);
#else
    assert_string_equal(gpusim_allocator_name(), "libc");
    gpusim_world_t *a = test_world(1);
    assert_false(a->arena.has_je_arena);
    gpusim_world_free(a);
#endif
    ASSERT_NO_LEAK();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        GPUSIM_TEST(test_accounting_is_exact),
        GPUSIM_TEST(test_grow),
        GPUSIM_TEST(test_injection_counts_allocations),
        GPUSIM_TEST(test_world_new_survives_every_failure),
        GPUSIM_TEST(test_stat_register_survives_every_failure),
        GPUSIM_TEST(test_schedule_survives_queue_growth_failure),
        GPUSIM_TEST(test_world_teardown_frees_everything),
        GPUSIM_TEST(test_each_world_has_its_own_arena),
        GPUSIM_TEST(test_limit_caps_live_bytes),
        GPUSIM_TEST(test_world_mem_limit),
    };
    return cmocka_run_group_tests_name("alloc", tests, NULL, NULL);
}
