/*
 * test_badinput_core.c -- the bad-input catalogue of the core headers: error.h, rng.h, world.h
 * (world, events, running, logging), completion.h, stats.h, units.h and trace.h.
 *
 * Every public function of those headers is called with each kind of bad argument that applies to
 * it (NULL, zero, out of range, in the past, wrapping, retired state) and must return exactly the
 * error its header documents (or, for a getter, the documented neutral value), change nothing
 * observable (the world's clock, queue and statistics; the output argument where the header says it
 * is untouched), and leave the world usable: a good call succeeds afterwards, the internal checks
 * of the queue and the statistics registry pass, and nothing leaks (ASSERT_NO_LEAK).
 * docs/reliability.md §3 states the rules.
 */
#include <limits.h>
#include <math.h>

#include "badinput_util.h"
#include "core/event.h"
#include "core/stats.h"
#include "core/world.h"

/* ---- shared helpers ------------------------------------------------------------------------ */

static int fired;

static void count_cb(gpusim_world_t *w, gpusim_event_t *ev)
{
    (void)w;
    fired++;
    if (ev->data != NULL)
        (*(int *)ev->data)++;
}

/* What a failed call must not change in a world. */
typedef struct world_snap {
    gpusim_time_t now;
    size_t pending;
    gpusim_time_t next;
    uint64_t events_run;
    size_t stats;
} world_snap;

static world_snap snap(const gpusim_world_t *w)
{
    world_snap s = {gpusim_world_now(w), gpusim_world_pending(w), gpusim_world_next_time(w),
                    gpusim_world_events_run(w), gpusim_stats_count(w)};
    return s;
}

static void assert_same(const world_snap *a, const world_snap *b)
{
    assert_true(a->now == b->now);
    assert_true(a->pending == b->pending);
    assert_true(a->next == b->next);
    assert_true(a->events_run == b->events_run);
    assert_true(a->stats == b->stats);
}

/* The world still works: its queue and statistics are consistent, and an event scheduled now runs. */
static void world_usable(gpusim_world_t *w)
{
    gpusim_event_t ev;
    int ran = 0;
    assert_true(gpusim__queue_check(&w->queue, w));
    assert_true(gpusim__stats_check(&w->stats));
    gpusim_event_init(&ev, count_cb, &ran);
    ASSERT_OK(gpusim_event_schedule_after(w, &ev, 1));
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(ran, 1);
}

/* ---- error.h --------------------------------------------------------------------------------- */

static void test_error(void **state)
{
    (void)state;
    /* Out of range: positive values, values between the ranges, and the extremes. */
    const int bad[] = {1, 22, -4, -2999, -3006, -4000, INT_MIN, INT_MAX};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        BAD_EQ(strcmp(gpusim_strerror(bad[i]), "unknown error"), 0);
        BAD_EQ(strcmp(gpusim_err_name(bad[i]), "UNKNOWN"), 0);
    }
    assert_string_equal(gpusim_strerror(GPUSIM_EINVAL), "invalid argument");
    assert_string_equal(gpusim_err_name(GPUSIM_ECORRUPT), "ECORRUPT");
}

/* ---- rng.h ----------------------------------------------------------------------------------- */

static void test_rng(void **state)
{
    (void)state;
    gpusim_rng_t r, copy;
    gpusim_rng_seed(&r, 1, 2);

    /* NULL streams: setters do nothing, draws return 0. */
    BAD_VOID(gpusim_rng_seed(NULL, 1, 2));
    copy = r;
    BAD_VOID(gpusim_rng_split(NULL, 3, &r));
    assert_memory_equal(&r, &copy, sizeof r);
    BAD_VOID(gpusim_rng_split(&r, 3, NULL));
    assert_memory_equal(&r, &copy, sizeof r);
    BAD_EQ(gpusim_rng_next(NULL), 0);
    BAD_EQ(gpusim_rng_below(NULL, 10), 0);
    BAD_EQ(gpusim_rng_double(NULL), 0.0);
    BAD_EQ(gpusim_rng_exponential(NULL, 1.0), 0.0);

    /* Zero and out-of-range bounds and means: 0, and the stream does not advance. */
    BAD_EQ(gpusim_rng_below(&r, 0), 0);
    BAD_EQ(gpusim_rng_below(&r, 1), 0);
    const double means[] = {0.0, -1.0, NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < sizeof means / sizeof means[0]; i++)
        BAD_EQ(gpusim_rng_exponential(&r, means[i]), 0.0);
    assert_memory_equal(&r, &copy, sizeof r);

    /* NULL hashes as "". */
    BAD_EQ(gpusim_rng_key(NULL), gpusim_rng_key(""));

    /* Still usable. */
    assert_true(gpusim_rng_below(&r, 10) < 10);
}

/* ---- world.h: worlds and logging -------------------------------------------------------------- */

static void test_world_new(void **state)
{
    (void)state;
    gpusim_world_config_t cfg;
    gpusim_world_t *w = (gpusim_world_t *)&cfg; /* a sentinel: must stay untouched */
    gpusim_world_t *const sentinel = w;

    BAD_VOID(gpusim_world_config_init(NULL));
    BAD(gpusim_world_new(NULL, NULL), GPUSIM_EINVAL);
    gpusim_world_config_init(&cfg);
    BAD(gpusim_world_new(&cfg, NULL), GPUSIM_EINVAL);

    /* Log level out of range, both ways. */
    cfg.log_level = (gpusim_log_level_t)(GPUSIM_LOG_TRACE + 1);
    BAD(gpusim_world_new(&cfg, &w), GPUSIM_EINVAL);
    cfg.log_level = (gpusim_log_level_t)-1;
    BAD(gpusim_world_new(&cfg, &w), GPUSIM_EINVAL);
    assert_ptr_equal(w, sentinel);

    /* Event capacity above the documented maximum. */
    gpusim_world_config_init(&cfg);
    cfg.event_capacity = (size_t)UINT32_MAX; /* 2^32 - 1: one over */
    BAD(gpusim_world_new(&cfg, &w), GPUSIM_EINVAL);
    cfg.event_capacity = SIZE_MAX;
    BAD(gpusim_world_new(&cfg, &w), GPUSIM_EINVAL);
    assert_ptr_equal(w, sentinel);

    /* A memory budget too small for the world itself: ENOMEM, nothing left behind. */
    gpusim_world_config_init(&cfg);
    cfg.mem_limit = 1;
    BAD(gpusim_world_new(&cfg, &w), GPUSIM_ENOMEM);
    assert_ptr_equal(w, sentinel);

    BAD_VOID(gpusim_world_free(NULL));
    ASSERT_NO_LEAK();

    /* A good world afterwards. */
    w = test_world(3);
    world_usable(w);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

static void log_sink(void *ud, gpusim_log_level_t level, gpusim_time_t now, const char *subsystem,
                     const char *msg)
{
    (void)level;
    (void)now;
    (void)subsystem;
    (void)msg;
    (*(int *)ud)++;
}

static void count_hook(void *ud, gpusim_world_t *w)
{
    (void)w;
    (*(int *)ud)++;
}

static void test_world_getters(void **state)
{
    (void)state;
    gpusim_world_t *w = test_world(7);
    gpusim_rng_t r;
    int logged = 0;

    BAD_EQ(gpusim_world_now(NULL), 0);
    BAD_EQ(gpusim_world_seed(NULL), 0);
    BAD_VOID(gpusim_world_set_data(NULL, &r));
    BAD_EQ(gpusim_world_data(NULL), NULL);
    BAD_EQ(gpusim_world_pending(NULL), 0);
    BAD_EQ(gpusim_world_next_time(NULL), GPUSIM_TIME_MAX);
    BAD_EQ(gpusim_world_events_run(NULL), 0);
    BAD_VOID(gpusim_world_stop(NULL));

    /* memory: NULL arguments; *out untouched. */
    gpusim_world_memory_t mem;
    POISON(mem);
    BAD(gpusim_world_memory(NULL, &mem), GPUSIM_EINVAL);
    BAD(gpusim_world_memory(w, NULL), GPUSIM_EINVAL);
    ASSERT_UNTOUCHED(mem);

    /* event hook: a NULL world is refused, and a hook set on no world runs on none. */
    BAD(gpusim_world_set_event_hook(NULL, count_hook, &logged), GPUSIM_EINVAL);
    assert_null(w->event_hook);

    /* rng: every NULL argument; the stream is untouched. */
    POISON(r);
    BAD(gpusim_world_rng(NULL, "a", &r), GPUSIM_EINVAL);
    BAD(gpusim_world_rng(w, NULL, &r), GPUSIM_EINVAL);
    BAD(gpusim_world_rng(w, "a", NULL), GPUSIM_EINVAL);
    ASSERT_UNTOUCHED(r);

    /* set_log: NULL world, levels out of range; the old level and sink stay. */
    ASSERT_OK(gpusim_world_set_log(w, GPUSIM_LOG_INFO, log_sink, &logged));
    world_snap before = snap(w);
    BAD(gpusim_world_set_log(NULL, GPUSIM_LOG_INFO, NULL, NULL), GPUSIM_EINVAL);
    BAD(gpusim_world_set_log(w, (gpusim_log_level_t)6, NULL, NULL), GPUSIM_EINVAL);
    BAD(gpusim_world_set_log(w, (gpusim_log_level_t)-1, NULL, NULL), GPUSIM_EINVAL);
    assert_int_equal(w->log_level, GPUSIM_LOG_INFO);
    assert_ptr_equal(w->log_ud, &logged);
    world_snap after = snap(w);
    assert_same(&before, &after);

    /* stop outside a run: the request does not outlive it. */
    BAD_VOID(gpusim_world_stop(w));
    world_usable(w);
    ASSERT_OK(gpusim_world_set_log(w, GPUSIM_LOG_OFF, NULL, NULL));
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* ---- world.h: events ----------------------------------------------------------------------- */

static void test_event_schedule(void **state)
{
    (void)state;
    gpusim_world_t *w = test_world(1), *w2 = test_world(2);
    gpusim_event_t ev, zero, pend, other;
    memset(&zero, 0, sizeof zero);
    BAD_VOID(gpusim_event_init(NULL, count_cb, NULL));
    gpusim_event_init(&ev, count_cb, NULL);
    gpusim_event_init(&pend, count_cb, NULL);
    gpusim_event_init(&other, count_cb, NULL);
    ASSERT_OK(gpusim_world_run_until(w, 100));
    ASSERT_OK(gpusim_event_schedule(w, &pend, 200));
    ASSERT_OK(gpusim_event_schedule(w2, &other, 50));
    world_snap before = snap(w);

    /* schedule: NULLs, an event never initialised, a callback-less one, the past, pending. */
    BAD(gpusim_event_schedule(NULL, &ev, 150), GPUSIM_EINVAL);
    BAD(gpusim_event_schedule(w, NULL, 150), GPUSIM_EINVAL);
    BAD(gpusim_event_schedule(w, &zero, 150), GPUSIM_EINVAL);
    gpusim_event_t nocb;
    gpusim_event_init(&nocb, NULL, NULL);
    BAD(gpusim_event_schedule(w, &nocb, 150), GPUSIM_EINVAL);
    BAD(gpusim_event_schedule(w, &ev, 99), GPUSIM_EINVAL);
    BAD(gpusim_event_schedule(w, &ev, 0), GPUSIM_EINVAL);
    BAD(gpusim_event_schedule(w, &pend, 300), GPUSIM_EBUSY);
    BAD(gpusim_event_schedule(w, &other, 300), GPUSIM_EBUSY); /* pending in another world */
    assert_true(gpusim_event_time(&pend) == 200);

    /* schedule_after: NULLs, no callback, now + delay wrapping. */
    BAD(gpusim_event_schedule_after(NULL, &ev, 1), GPUSIM_EINVAL);
    BAD(gpusim_event_schedule_after(w, NULL, 1), GPUSIM_EINVAL);
    BAD(gpusim_event_schedule_after(w, &zero, 1), GPUSIM_EINVAL);
    BAD(gpusim_event_schedule_after(w, &ev, GPUSIM_TIME_MAX), GPUSIM_EOVERFLOW);
    BAD(gpusim_event_schedule_after(w, &ev, GPUSIM_TIME_MAX - 99), GPUSIM_EOVERFLOW);
    BAD(gpusim_event_schedule_after(w, &pend, 1), GPUSIM_EBUSY);

    /* reschedule: NULLs, the past (a pending event stays where it was), another world's event. */
    BAD(gpusim_event_reschedule(NULL, &pend, 150), GPUSIM_EINVAL);
    BAD(gpusim_event_reschedule(w, NULL, 150), GPUSIM_EINVAL);
    BAD(gpusim_event_reschedule(w, &zero, 150), GPUSIM_EINVAL);
    BAD(gpusim_event_reschedule(w, &pend, 50), GPUSIM_EINVAL);
    BAD(gpusim_event_reschedule(w, &other, 150), GPUSIM_EINVAL);
    assert_true(gpusim_event_time(&pend) == 200);
    assert_true(gpusim_event_time(&other) == 50);

    /* cancel: NULLs, not pending (twice: the second is a cancel of a retired event), another
     * world's event. */
    BAD(gpusim_event_cancel(NULL, &pend), GPUSIM_EINVAL);
    BAD(gpusim_event_cancel(w, NULL), GPUSIM_EINVAL);
    BAD(gpusim_event_cancel(w, &ev), GPUSIM_ENOENT);
    BAD(gpusim_event_cancel(w, &zero), GPUSIM_ENOENT);
    BAD(gpusim_event_cancel(w, &other), GPUSIM_EINVAL);
    assert_true(gpusim_event_pending(&other));

    /* Getters on NULL. */
    BAD_EQ(gpusim_event_pending(NULL), false);
    BAD_EQ(gpusim_event_time(NULL), 0);

    world_snap after = snap(w);
    assert_same(&before, &after);

    /* A cancelled event cancelled again: ENOENT, nothing else changes. */
    ASSERT_OK(gpusim_event_cancel(w, &pend));
    BAD(gpusim_event_cancel(w, &pend), GPUSIM_ENOENT);
    assert_int_equal(gpusim_world_pending(w), 0);

    world_usable(w);
    world_usable(w2);
    gpusim_world_free(w2);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* ---- world.h: running ------------------------------------------------------------------------ */

static int inner_rc[3];

static void reenter_cb(gpusim_world_t *w, gpusim_event_t *ev)
{
    (void)ev;
    inner_rc[0] = gpusim_world_run(w);
    inner_rc[1] = gpusim_world_run_until(w, gpusim_world_now(w) + 10);
    inner_rc[2] = (int)gpusim_world_run_events(w, 1);
}

static void test_world_run(void **state)
{
    (void)state;
    gpusim_world_t *w = test_world(1);
    gpusim_event_t ev, later;
    ASSERT_OK(gpusim_world_run_until(w, 1000));
    gpusim_event_init(&later, count_cb, NULL);
    ASSERT_OK(gpusim_event_schedule(w, &later, 5000));
    world_snap before = snap(w);

    BAD(gpusim_world_run(NULL), GPUSIM_EINVAL);
    BAD(gpusim_world_run_until(NULL, 2000), GPUSIM_EINVAL);
    BAD(gpusim_world_run_until(w, 999), GPUSIM_EINVAL); /* in the past */
    BAD(gpusim_world_run_until(w, 0), GPUSIM_EINVAL);
    BAD(gpusim_world_run_events(NULL, 1), GPUSIM_EINVAL);
    world_snap after = snap(w);
    assert_same(&before, &after);

    /* Zero events: runs nothing. */
    BAD_EQ(gpusim_world_run_events(w, 0), 0);
    after = snap(w);
    assert_same(&before, &after);

    /* Re-entering a run from one of the world's callbacks: EBUSY each, the outer run goes on. */
    gpusim_event_init(&ev, reenter_cb, NULL);
    ASSERT_OK(gpusim_event_schedule(w, &ev, 2000));
    ASSERT_OK(gpusim_world_run_until(w, 3000));
    badinput_calls_ += 3;
    assert_int_equal(inner_rc[0], GPUSIM_EBUSY);
    assert_int_equal(inner_rc[1], GPUSIM_EBUSY);
    assert_int_equal(inner_rc[2], GPUSIM_EBUSY);
    assert_true(gpusim_world_now(w) == 3000);
    assert_true(gpusim_event_pending(&later));

    /* A huge count is clamped, not misread as negative. */
    int f = fired;
    assert_int_equal(gpusim_world_run_events(w, UINT64_MAX), 1);
    assert_int_equal(fired, f + 1);
    world_usable(w);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* ---- completion.h ---------------------------------------------------------------------------- */

static int woken;

static void wake_cb(gpusim_world_t *w, gpusim_waiter_t *waiter)
{
    (void)w;
    (void)waiter;
    woken++;
}

static void test_completion(void **state)
{
    (void)state;
    gpusim_world_t *w = test_world(1), *w2 = test_world(2);
    gpusim_completion_t c, done, sched, foreign;
    gpusim_waiter_t a, b, idle;

    BAD_VOID(gpusim_completion_init(NULL, NULL));
    BAD_VOID(gpusim_waiter_init(NULL));
    gpusim_completion_init(&c, NULL);
    gpusim_completion_init(&done, NULL);
    gpusim_completion_init(&sched, NULL);
    gpusim_completion_init(&foreign, NULL);
    gpusim_waiter_init(&a);
    gpusim_waiter_init(&b);
    gpusim_waiter_init(&idle);
    ASSERT_OK(gpusim_world_run_until(w, 100));
    ASSERT_OK(gpusim_completion_signal(w, &done));
    ASSERT_OK(gpusim_completion_signal_at(w, &sched, 500));
    assert_int_equal(gpusim_completion_wait(w, &c, &a, wake_cb, NULL), GPUSIM_EINPROGRESS);
    assert_int_equal(gpusim_completion_wait(w2, &foreign, &b, wake_cb, NULL), GPUSIM_EINPROGRESS);
    world_snap before = snap(w);

    /* Getters on NULL. */
    BAD_EQ(gpusim_completion_done(NULL), false);
    BAD_EQ(gpusim_completion_time(NULL), GPUSIM_TIME_MAX);
    BAD_EQ(gpusim_waiter_waiting(NULL), false);
    BAD_EQ(gpusim_waiter_since(NULL), 0);

    /* signal: NULLs; waiters of another world (nothing is signalled). */
    BAD(gpusim_completion_signal(NULL, &c), GPUSIM_EINVAL);
    BAD(gpusim_completion_signal(w, NULL), GPUSIM_EINVAL);
    BAD(gpusim_completion_signal(w, &foreign), GPUSIM_EINVAL);
    assert_false(gpusim_completion_done(&foreign));
    assert_true(gpusim_waiter_waiting(&b));

    /* signal_at: NULLs, the past, done already, scheduled already. */
    BAD(gpusim_completion_signal_at(NULL, &c, 200), GPUSIM_EINVAL);
    BAD(gpusim_completion_signal_at(w, NULL, 200), GPUSIM_EINVAL);
    BAD(gpusim_completion_signal_at(w, &c, 99), GPUSIM_EINVAL);
    BAD(gpusim_completion_signal_at(w, &done, 200), GPUSIM_EBUSY);
    BAD(gpusim_completion_signal_at(w, &sched, 200), GPUSIM_EBUSY);
    assert_true(gpusim_event_time(&sched.timer_) == 500);

    /* reset: NULL; in use (waiters queued; a signal scheduled). */
    BAD(gpusim_completion_reset(NULL), GPUSIM_EINVAL);
    BAD(gpusim_completion_reset(&c), GPUSIM_EBUSY);
    BAD(gpusim_completion_reset(&sched), GPUSIM_EBUSY);

    /* wait: NULLs, no callback, a completion with another world's waiters, a waiting waiter. */
    BAD(gpusim_completion_wait(NULL, &c, &idle, wake_cb, NULL), GPUSIM_EINVAL);
    BAD(gpusim_completion_wait(w, NULL, &idle, wake_cb, NULL), GPUSIM_EINVAL);
    BAD(gpusim_completion_wait(w, &c, NULL, wake_cb, NULL), GPUSIM_EINVAL);
    BAD(gpusim_completion_wait(w, &c, &idle, NULL, NULL), GPUSIM_EINVAL);
    BAD(gpusim_completion_wait(w, &foreign, &idle, wake_cb, NULL), GPUSIM_EINVAL);
    BAD(gpusim_completion_wait(w, &c, &a, wake_cb, NULL), GPUSIM_EBUSY);
    BAD(gpusim_completion_wait(w, &sched, &a, wake_cb, NULL), GPUSIM_EBUSY);
    assert_false(gpusim_waiter_waiting(&idle));

    /* cancel: NULLs, an idle waiter, a waiter of another world. */
    BAD(gpusim_waiter_cancel(NULL, &a), GPUSIM_EINVAL);
    BAD(gpusim_waiter_cancel(w, NULL), GPUSIM_EINVAL);
    BAD(gpusim_waiter_cancel(w, &idle), GPUSIM_ENOENT);
    BAD(gpusim_waiter_cancel(w, &b), GPUSIM_EINVAL);
    assert_true(gpusim_waiter_waiting(&a));
    assert_true(gpusim_waiter_waiting(&b));

    world_snap after = snap(w);
    assert_same(&before, &after);

    /* Retired state: a cancelled waiter cancelled again; a woken one cancelled after its callback. */
    ASSERT_OK(gpusim_waiter_cancel(w2, &b));
    BAD(gpusim_waiter_cancel(w2, &b), GPUSIM_ENOENT);
    ASSERT_OK(gpusim_completion_signal(w, &c));
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(woken, 1);
    BAD(gpusim_waiter_cancel(w, &a), GPUSIM_ENOENT);
    /* Signalling a done completion does nothing. */
    ASSERT_OK(gpusim_completion_signal(w, &c));

    world_usable(w);
    world_usable(w2);
    gpusim_world_free(w2);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* ---- stats.h --------------------------------------------------------------------------------- */

static void test_stats_register(void **state)
{
    (void)state;
    gpusim_world_t *w = test_world(1);
    gpusim_stat_t *s = NULL, *g = NULL, *out;
    gpusim_stat_t *const sentinel = (gpusim_stat_t *)&out;
    ASSERT_OK(gpusim_stat_register(w, "t.counter", GPUSIM_STAT_COUNTER, "ns", &s));
    ASSERT_OK(gpusim_stat_register(w, "t.gauge", GPUSIM_STAT_GAUGE, NULL, &g));
    world_snap before = snap(w);
    out = sentinel;

    BAD(gpusim_stat_register(NULL, "t.x", GPUSIM_STAT_COUNTER, NULL, &out), GPUSIM_EINVAL);
    BAD(gpusim_stat_register(w, NULL, GPUSIM_STAT_COUNTER, NULL, &out), GPUSIM_EINVAL);
    BAD(gpusim_stat_register(w, "t.x", GPUSIM_STAT_COUNTER, NULL, NULL), GPUSIM_EINVAL);

    /* Bad names: empty, empty segments, upper case, other characters, too long. */
    char longname[GPUSIM_STAT_NAME_MAX + 2];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    const char *names[] = {"", ".", "a.", ".a", "a..b", "A", "a-b", "a b", "t.é", longname};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        BAD(gpusim_stat_register(w, names[i], GPUSIM_STAT_COUNTER, NULL, &out), GPUSIM_EINVAL);

    /* Bad units: too long. Bad kinds: 0 and past the last. */
    BAD(gpusim_stat_register(w, "t.x", GPUSIM_STAT_COUNTER, "0123456789abcdef", &out),
        GPUSIM_EINVAL);
    BAD(gpusim_stat_register(w, "t.x", (gpusim_stat_kind_t)0, NULL, &out), GPUSIM_EINVAL);
    BAD(gpusim_stat_register(w, "t.x", (gpusim_stat_kind_t)4, NULL, &out), GPUSIM_EINVAL);

    /* Conflicts: another kind, another unit, a subtree either way. */
    BAD(gpusim_stat_register(w, "t.counter", GPUSIM_STAT_GAUGE, "ns", &out), GPUSIM_EEXIST);
    BAD(gpusim_stat_register(w, "t.counter", GPUSIM_STAT_COUNTER, "bytes", &out), GPUSIM_EEXIST);
    BAD(gpusim_stat_register(w, "t.counter.sub", GPUSIM_STAT_COUNTER, "ns", &out), GPUSIM_EEXIST);
    BAD(gpusim_stat_register(w, "t", GPUSIM_STAT_COUNTER, "ns", &out), GPUSIM_EEXIST);
    assert_ptr_equal(out, sentinel);

    world_snap after = snap(w);
    assert_same(&before, &after);
    ASSERT_OK(gpusim_stat_register(w, "t.counter", GPUSIM_STAT_COUNTER, "ns", &out));
    assert_ptr_equal(out, s);
    world_usable(w);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

static void test_stats_update(void **state)
{
    (void)state;
    gpusim_world_t *w = test_world(1);
    gpusim_stat_t *c, *g, *h;
    gpusim_stat_info_t info;
    ASSERT_OK(gpusim_stat_register(w, "t.c", GPUSIM_STAT_COUNTER, NULL, &c));
    ASSERT_OK(gpusim_stat_register(w, "t.g", GPUSIM_STAT_GAUGE, NULL, &g));
    ASSERT_OK(gpusim_stat_register(w, "t.h", GPUSIM_STAT_HISTOGRAM, "ns", &h));
    ASSERT_OK(gpusim_stat_add(c, 5));
    ASSERT_OK(gpusim_stat_set(g, INT64_MAX - 1));
    ASSERT_OK(gpusim_stat_record(h, 7));

    /* NULL and the wrong kind, for each updater. */
    BAD(gpusim_stat_add(NULL, 1), GPUSIM_EINVAL);
    BAD(gpusim_stat_add(g, 1), GPUSIM_EINVAL);
    BAD(gpusim_stat_add(h, 1), GPUSIM_EINVAL);
    BAD(gpusim_stat_set(NULL, 1), GPUSIM_EINVAL);
    BAD(gpusim_stat_set(c, 1), GPUSIM_EINVAL);
    BAD(gpusim_stat_set(h, 1), GPUSIM_EINVAL);
    BAD(gpusim_stat_adjust(NULL, 1), GPUSIM_EINVAL);
    BAD(gpusim_stat_adjust(c, 1), GPUSIM_EINVAL);
    BAD(gpusim_stat_adjust(h, 1), GPUSIM_EINVAL);
    BAD(gpusim_stat_record(NULL, 1), GPUSIM_EINVAL);
    BAD(gpusim_stat_record(c, 1), GPUSIM_EINVAL);
    BAD(gpusim_stat_record(g, 1), GPUSIM_EINVAL);

    /* A gauge adjusted past int64_t, both ways: unchanged. */
    BAD(gpusim_stat_adjust(g, 2), GPUSIM_EOVERFLOW);
    BAD(gpusim_stat_adjust(g, INT64_MAX), GPUSIM_EOVERFLOW);
    ASSERT_OK(gpusim_stat_set(g, INT64_MIN + 1));
    BAD(gpusim_stat_adjust(g, -2), GPUSIM_EOVERFLOW);
    BAD(gpusim_stat_adjust(g, INT64_MIN), GPUSIM_EOVERFLOW);

    ASSERT_OK(gpusim_stats_get(w, "t.c", &info));
    assert_true(info.count == 5);
    ASSERT_OK(gpusim_stats_get(w, "t.g", &info));
    assert_true(info.value == INT64_MIN + 1);
    assert_true(info.peak == INT64_MAX - 1);
    ASSERT_OK(gpusim_stats_get(w, "t.h", &info));
    assert_true(info.count == 1 && info.sum == 7);
    world_usable(w);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

static void test_stats_read(void **state)
{
    (void)state;
    gpusim_world_t *w = test_world(1);
    gpusim_stat_t *c, *h;
    gpusim_stat_info_t info;
    gpusim_stats_iter_t it;
    uint64_t q;
    ASSERT_OK(gpusim_stat_register(w, "t.c", GPUSIM_STAT_COUNTER, NULL, &c));
    ASSERT_OK(gpusim_stat_register(w, "t.h", GPUSIM_STAT_HISTOGRAM, "ns", &h));
    ASSERT_OK(gpusim_stat_record(h, 9));
    world_snap before = snap(w);

    /* get: NULLs; no such statistic (also a subtree's name, and a prefix of a name). */
    POISON(info);
    BAD(gpusim_stats_get(NULL, "t.c", &info), GPUSIM_EINVAL);
    BAD(gpusim_stats_get(w, NULL, &info), GPUSIM_EINVAL);
    BAD(gpusim_stats_get(w, "t.c", NULL), GPUSIM_EINVAL);
    BAD(gpusim_stats_get(w, "t.x", &info), GPUSIM_ENOENT);
    BAD(gpusim_stats_get(w, "t", &info), GPUSIM_ENOENT);
    BAD(gpusim_stats_get(w, "t.", &info), GPUSIM_ENOENT);
    BAD(gpusim_stats_get(w, "", &info), GPUSIM_ENOENT);
    ASSERT_UNTOUCHED(info);

    /* quantile: NULLs, q out of range or NaN, not a histogram, no such statistic. */
    POISON(q);
    BAD(gpusim_stats_quantile(NULL, "t.h", 0.5, &q), GPUSIM_EINVAL);
    BAD(gpusim_stats_quantile(w, NULL, 0.5, &q), GPUSIM_EINVAL);
    BAD(gpusim_stats_quantile(w, "t.h", 0.5, NULL), GPUSIM_EINVAL);
    BAD(gpusim_stats_quantile(w, "t.h", -0.01, &q), GPUSIM_EINVAL);
    BAD(gpusim_stats_quantile(w, "t.h", 1.01, &q), GPUSIM_EINVAL);
    BAD(gpusim_stats_quantile(w, "t.h", NAN, &q), GPUSIM_EINVAL);
    BAD(gpusim_stats_quantile(w, "t.h", INFINITY, &q), GPUSIM_EINVAL);
    BAD(gpusim_stats_quantile(w, "t.c", 0.5, &q), GPUSIM_EINVAL);
    BAD(gpusim_stats_quantile(w, "t.x", 0.5, &q), GPUSIM_ENOENT);
    ASSERT_UNTOUCHED(q);

    /* Iterators: NULLs; an iterator never initialised (zero-filled); no such prefix. */
    BAD(gpusim_stats_iter_init(NULL, w, NULL), GPUSIM_EINVAL);
    BAD(gpusim_stats_iter_init(&it, NULL, NULL), GPUSIM_EINVAL);
    BAD_EQ(gpusim_stats_iter_next(NULL, &info), false);
    memset(&it, 0, sizeof it);
    BAD_EQ(gpusim_stats_iter_next(&it, &info), false);
    ASSERT_OK(gpusim_stats_iter_init(&it, w, "t"));
    BAD_EQ(gpusim_stats_iter_next(&it, NULL), false);
    ASSERT_OK(gpusim_stats_iter_init(&it, w, "nosuch"));
    BAD_EQ(gpusim_stats_iter_next(&it, &info), false);
    ASSERT_OK(gpusim_stats_iter_init(&it, w, "t.c.x"));
    BAD_EQ(gpusim_stats_iter_next(&it, &info), false);
    BAD_EQ(gpusim_stats_count(NULL), 0);

    world_snap after = snap(w);
    assert_same(&before, &after);
    /* The walk still works: "t" gives exactly t.c and t.h. */
    ASSERT_OK(gpusim_stats_iter_init(&it, w, "t"));
    assert_true(gpusim_stats_iter_next(&it, &info));
    assert_string_equal(info.name, "t.c");
    assert_true(gpusim_stats_iter_next(&it, &info));
    assert_string_equal(info.name, "t.h");
    assert_false(gpusim_stats_iter_next(&it, &info));
    world_usable(w);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* ---- units.h --------------------------------------------------------------------------------- */

typedef int (*parse_fn)(const char *, uint64_t *, char *, size_t);

/* One malformed input to one parser: the code, the value untouched, a message written. */
static void bad_parse(parse_fn fn, const char *text, int code)
{
    uint64_t v = 0x5a5a;
    char msg[128] = "";
    BAD(fn(text, &v, msg, sizeof msg), code);
    assert_true(v == 0x5a5a);
    assert_true(msg[0] != '\0');
    /* A zero-length or NULL message buffer is not written. */
    char guard[4] = "xyz";
    BAD(fn(text, &v, guard, 0), code);
    assert_string_equal(guard, "xyz");
    BAD(fn(text, &v, NULL, 100), code);
    assert_true(v == 0x5a5a);
}

static int duration_parse(const char *t, uint64_t *v, char *m, size_t n)
{
    return gpusim_duration_parse(t, v, m, n);
}

static void test_units_parse(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int code;
    } common[] = {
        {"", GPUSIM_EINVAL},        {"   ", GPUSIM_EINVAL},     {"-1KiB", GPUSIM_EINVAL},
        {"+1KiB", GPUSIM_EINVAL},   {"1e3KiB", GPUSIM_EINVAL},  {"1.KiB", GPUSIM_EINVAL},
        {".5KiB", GPUSIM_EINVAL},   {"1..5KiB", GPUSIM_EINVAL}, {"12XB", GPUSIM_EINVAL},
        {"KiB", GPUSIM_EINVAL},     {"1 KiB x", GPUSIM_EINVAL}, {"0x10", GPUSIM_EINVAL},
        {"1\tK\nB", GPUSIM_EINVAL},
    };
    parse_fn fns[] = {gpusim_size_parse, duration_parse, gpusim_rate_parse};
    for (size_t f = 0; f < 3; f++) {
        bad_parse(fns[f], NULL, GPUSIM_EINVAL);
        for (size_t i = 0; i < sizeof common / sizeof common[0]; i++)
            bad_parse(fns[f], common[i].text, common[i].code);
        /* NULL result. */
        BAD(fns[f]("1", NULL, NULL, 0), GPUSIM_EINVAL);
    }
    /* Sizes: bits, fractions of a byte, too large. */
    bad_parse(gpusim_size_parse, "8b", GPUSIM_EINVAL);
    bad_parse(gpusim_size_parse, "1Gb", GPUSIM_EINVAL);
    bad_parse(gpusim_size_parse, "0.3B", GPUSIM_EINVAL);
    bad_parse(gpusim_size_parse, "16EiB", GPUSIM_ERANGE);
    bad_parse(gpusim_size_parse, "18446744073709551616", GPUSIM_ERANGE);
    bad_parse(gpusim_size_parse, "99999999999999999999999999", GPUSIM_ERANGE);
    /* Durations: a unit is required except for 0; fractions of a ns; too long; sizes. */
    bad_parse(duration_parse, "5", GPUSIM_EINVAL);
    bad_parse(duration_parse, "0.5ns", GPUSIM_EINVAL);
    bad_parse(duration_parse, "1000000d", GPUSIM_ERANGE);
    bad_parse(duration_parse, "5KiB", GPUSIM_EINVAL);
    /* Rates: zero, no "/s", bits per second, too large. */
    bad_parse(gpusim_rate_parse, "0B/s", GPUSIM_EINVAL);
    bad_parse(gpusim_rate_parse, "0", GPUSIM_EINVAL);
    bad_parse(gpusim_rate_parse, "5GB", GPUSIM_EINVAL);
    bad_parse(gpusim_rate_parse, "5Gb/s", GPUSIM_EINVAL);
    bad_parse(gpusim_rate_parse, "16EiB/s", GPUSIM_ERANGE);

    /* Still parses. */
    uint64_t v;
    ASSERT_OK(gpusim_size_parse("4KiB", &v, NULL, 0));
    assert_true(v == 4096);
}

static void test_units_format(void **state)
{
    (void)state;
    int (*fns[])(uint64_t, char *, size_t) = {gpusim_size_format, gpusim_duration_format,
                                              gpusim_rate_format};
    for (size_t f = 0; f < 3; f++) {
        char buf[GPUSIM_UNITS_BUFSZ];
        BAD(fns[f](1536, NULL, 10), GPUSIM_EINVAL);
        BAD(fns[f](1536, NULL, 0), GPUSIM_EINVAL);
        /* Zero length: nothing written. */
        memset(buf, 'x', sizeof buf);
        BAD(fns[f](1536, buf, 0), GPUSIM_ENOSPC);
        assert_true(buf[0] == 'x');
        /* Too small: truncated, NUL-terminated, never past buflen. */
        BAD(fns[f](1536, buf, 3), GPUSIM_ENOSPC);
        assert_true(buf[2] == '\0' && buf[3] == 'x');
        /* The largest value fits the documented buffer. */
        ASSERT_OK(fns[f](UINT64_MAX, buf, sizeof buf));
    }
}

/* ---- trace.h --------------------------------------------------------------------------------- */

static void test_trace(void **state)
{
    (void)state;
    BAD(gpusim_world_set_trace(NULL, NULL, NULL), GPUSIM_EINVAL);
    gpusim_world_t *w = test_world(1);
    world_usable(w);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        GPUSIM_TEST(test_error),          GPUSIM_TEST(test_rng),
        GPUSIM_TEST(test_world_new),      GPUSIM_TEST(test_world_getters),
        GPUSIM_TEST(test_event_schedule), GPUSIM_TEST(test_world_run),
        GPUSIM_TEST(test_completion),     GPUSIM_TEST(test_stats_register),
        GPUSIM_TEST(test_stats_update),   GPUSIM_TEST(test_stats_read),
        GPUSIM_TEST(test_units_parse),    GPUSIM_TEST(test_units_format),
        GPUSIM_TEST(test_trace),
    };
    return cmocka_run_group_tests(tests, NULL, badinput_report);
}
