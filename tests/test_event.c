/*
 * tests/test_event.c -- the event queue and the run loop.
 *
 * Covers: dispatch order by (time, insertion sequence) including ties; schedule, reschedule and
 * cancel with their error codes; callbacks that reschedule themselves or touch other events; the
 * three run modes and gpusim_world_stop(); queue growth; determinism; and a randomized differential
 * test that drives the heap and a brute-force reference with the same operations and compares
 * every dispatch while checking the heap's invariants after each step.
 */
#include "test_util.h"

#include <stdlib.h>

#include "core/event.h"
#include "core/world.h"

/* ------------------------------------------------------------------------------------------- */
/* A recorder: events that log (id, time) when they run                                        */
/* ------------------------------------------------------------------------------------------- */

#define MAX_LOG 200000

typedef struct rec {
    gpusim_event_t ev;
    int id;
} rec_t;

static int log_ids[MAX_LOG];
static gpusim_time_t log_times[MAX_LOG];
static size_t log_n;

static void record_cb(gpusim_world_t *w, gpusim_event_t *ev)
{
    rec_t *r = ev->data;
    assert_true(log_n < MAX_LOG);
    assert_false(gpusim_event_pending(ev)); /* not pending while its callback runs */
    log_ids[log_n] = r->id;
    log_times[log_n] = gpusim_world_now(w);
    log_n++;
}

static void recs_init(rec_t *r, int n)
{
    for (int i = 0; i < n; i++) {
        gpusim_event_init(&r[i].ev, record_cb, &r[i]);
        r[i].id = i;
    }
    log_n = 0;
}

/* ------------------------------------------------------------------------------------------- */
/* Ordering                                                                                    */
/* ------------------------------------------------------------------------------------------- */

static void test_runs_in_time_order(void **state)
{
    (void)state;
    enum { N = 5000 };
    static rec_t r[N];
    gpusim_world_t *w = test_world(1);
    gpusim_rng_t rng;
    gpusim_rng_seed(&rng, 42, 0);
    recs_init(r, N);
    static gpusim_time_t when[N];
    for (int i = 0; i < N; i++) {
        when[i] = gpusim_rng_below(&rng, 1000); /* many ties on purpose */
        ASSERT_OK(gpusim_event_schedule(w, &r[i].ev, when[i]));
    }
    assert_int_equal(gpusim_world_pending(w), N);
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(log_n, N);
    for (size_t k = 0; k < log_n; k++) {
        assert_int_equal(log_times[k], when[log_ids[k]]);
        if (k > 0) {
            /* Time never decreases; at equal times, the earlier insertion runs first. */
            assert_true(log_times[k - 1] <= log_times[k]);
            if (log_times[k - 1] == log_times[k])
                assert_true(log_ids[k - 1] < log_ids[k]);
        }
    }
    assert_int_equal(gpusim_world_pending(w), 0);
    assert_int_equal(gpusim_world_events_run(w), N);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

static void test_ties_run_in_insertion_order(void **state)
{
    (void)state;
    enum { N = 1000 };
    static rec_t r[N];
    gpusim_world_t *w = test_world(1);
    recs_init(r, N);
    /* Insert in a scrambled order; the ids record the insertion order we expect back. */
    for (int i = 0; i < N; i++) {
        int k = (i * 7919) % N;
        r[k].id = i;
        ASSERT_OK(gpusim_event_schedule(w, &r[k].ev, 5));
    }
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(log_n, N);
    for (int i = 0; i < N; i++)
        assert_int_equal(log_ids[i], i);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* ------------------------------------------------------------------------------------------- */
/* Schedule, reschedule, cancel                                                                */
/* ------------------------------------------------------------------------------------------- */

static void test_schedule_errors(void **state)
{
    (void)state;
    rec_t r[2];
    gpusim_event_t uninit;
    memset(&uninit, 0, sizeof(uninit));
    gpusim_world_t *w = test_world(1);
    recs_init(r, 2);

    ASSERT_ERR(gpusim_event_schedule(NULL, &r[0].ev, 1), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_event_schedule(w, NULL, 1), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_event_schedule(w, &uninit, 1), GPUSIM_EINVAL); /* no callback */

    ASSERT_OK(gpusim_world_run_until(w, 100));
    ASSERT_ERR(gpusim_event_schedule(w, &r[0].ev, 99), GPUSIM_EINVAL); /* in the past */
    ASSERT_OK(gpusim_event_schedule(w, &r[0].ev, 100));                /* now is fine */
    ASSERT_ERR(gpusim_event_schedule(w, &r[0].ev, 200), GPUSIM_EBUSY); /* already pending */
    assert_int_equal(gpusim_event_time(&r[0].ev), 100);                /* unchanged */

    ASSERT_ERR(gpusim_event_schedule_after(w, &r[1].ev, GPUSIM_TIME_MAX), GPUSIM_EOVERFLOW);
    ASSERT_OK(gpusim_event_schedule_after(w, &r[1].ev, GPUSIM_TIME_MAX - 100));
    assert_int_equal(gpusim_event_time(&r[1].ev), GPUSIM_TIME_MAX);
    ASSERT_ERR(gpusim_event_schedule_after(NULL, &r[1].ev, 1), GPUSIM_EINVAL);
    /* A bad event is reported as such even when the delay would also overflow. */
    ASSERT_ERR(gpusim_event_schedule_after(w, NULL, GPUSIM_TIME_MAX), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_event_schedule_after(w, &uninit, GPUSIM_TIME_MAX), GPUSIM_EINVAL);

    assert_int_equal(gpusim_world_pending(w), 2);
    assert_int_equal(gpusim_world_next_time(w), 100);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

static void test_cancel(void **state)
{
    (void)state;
    rec_t r[3];
    gpusim_world_t *w = test_world(1);
    gpusim_world_t *other = test_world(1);
    recs_init(r, 3);
    ASSERT_OK(gpusim_event_schedule(w, &r[0].ev, 10));
    ASSERT_OK(gpusim_event_schedule(w, &r[1].ev, 20));
    ASSERT_OK(gpusim_event_schedule(w, &r[2].ev, 30));

    ASSERT_ERR(gpusim_event_cancel(other, &r[1].ev), GPUSIM_EINVAL); /* pending elsewhere */
    ASSERT_ERR(gpusim_event_cancel(NULL, &r[1].ev), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_event_cancel(w, NULL), GPUSIM_EINVAL);
    ASSERT_OK(gpusim_event_cancel(w, &r[1].ev));
    assert_false(gpusim_event_pending(&r[1].ev));
    ASSERT_ERR(gpusim_event_cancel(w, &r[1].ev), GPUSIM_ENOENT); /* harmless twice */

    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(log_n, 2);
    assert_int_equal(log_ids[0], 0);
    assert_int_equal(log_ids[1], 2);

    /* A cancelled event can be scheduled again. */
    ASSERT_OK(gpusim_event_schedule(w, &r[1].ev, 40));
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(log_ids[2], 1);

    gpusim_stat_info_t info;
    ASSERT_OK(gpusim_stats_get(w, "sim.events.cancelled", &info));
    assert_int_equal(info.count, 1);
    gpusim_world_free(other);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

static void test_reschedule(void **state)
{
    (void)state;
    rec_t r[4];
    gpusim_world_t *w = test_world(1);
    gpusim_world_t *other = test_world(1);
    recs_init(r, 4);
    ASSERT_OK(gpusim_event_schedule(w, &r[0].ev, 50));
    ASSERT_OK(gpusim_event_schedule(w, &r[1].ev, 50));
    ASSERT_OK(gpusim_event_schedule(w, &r[2].ev, 10));

    /* Moving r[0] to the same time takes a new sequence: it now runs after r[1]. */
    ASSERT_OK(gpusim_event_reschedule(w, &r[0].ev, 50));
    /* Moving r[2] later, past both. */
    ASSERT_OK(gpusim_event_reschedule(w, &r[2].ev, 60));
    /* Rescheduling a non-pending event schedules it. */
    ASSERT_OK(gpusim_event_reschedule(w, &r[3].ev, 5));
    /* Errors leave the event where it was. */
    ASSERT_ERR(gpusim_event_reschedule(other, &r[3].ev, 7), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_event_reschedule(w, NULL, 7), GPUSIM_EINVAL);
    ASSERT_OK(gpusim_world_run_until(w, 1));
    ASSERT_ERR(gpusim_event_reschedule(w, &r[3].ev, 0), GPUSIM_EINVAL); /* past */
    assert_int_equal(gpusim_event_time(&r[3].ev), 5);
    assert_true(gpusim__queue_check(&w->queue, w));

    ASSERT_OK(gpusim_world_run(w));
    int expect[] = {3, 1, 0, 2};
    assert_int_equal(log_n, 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(log_ids[i], expect[i]);
    gpusim_world_free(other);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* ------------------------------------------------------------------------------------------- */
/* Callbacks that act on the queue                                                             */
/* ------------------------------------------------------------------------------------------- */

typedef struct ticker {
    gpusim_event_t ev;
    gpusim_time_t period;
    int ticks, limit;
    gpusim_event_t *victim; /* cancelled on the first tick, if set */
    gpusim_event_t *now_ev; /* scheduled at the current time on the first tick, if set */
} ticker_t;

static void tick_cb(gpusim_world_t *w, gpusim_event_t *ev)
{
    ticker_t *t = ev->data;
    t->ticks++;
    if (t->ticks == 1 && t->victim != NULL)
        ASSERT_OK(gpusim_event_cancel(w, t->victim));
    if (t->ticks == 1 && t->now_ev != NULL)
        ASSERT_OK(gpusim_event_schedule(w, t->now_ev, gpusim_world_now(w)));
    if (t->ticks < t->limit)
        ASSERT_OK(gpusim_event_schedule_after(w, ev, t->period));
}

static void test_callback_reschedules_itself(void **state)
{
    (void)state;
    ticker_t t = {.period = 7, .limit = 100};
    gpusim_world_t *w = test_world(1);
    gpusim_event_init(&t.ev, tick_cb, &t);
    ASSERT_OK(gpusim_event_schedule(w, &t.ev, 3));
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(t.ticks, 100);
    assert_int_equal(gpusim_world_now(w), 3 + 99 * 7);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

static void test_callback_cancels_and_schedules_now(void **state)
{
    (void)state;
    rec_t r[2];
    ticker_t t = {.period = 1, .limit = 1};
    gpusim_world_t *w = test_world(1);
    recs_init(r, 2);
    t.victim = &r[0].ev;
    t.now_ev = &r[1].ev;
    gpusim_event_init(&t.ev, tick_cb, &t);
    ASSERT_OK(gpusim_event_schedule(w, &t.ev, 10));
    ASSERT_OK(gpusim_event_schedule(w, &r[0].ev, 10)); /* same time, after the ticker */
    ASSERT_OK(gpusim_world_run(w));
    /* r[0] was cancelled before its turn; r[1], scheduled at "now" from the callback, ran. */
    assert_int_equal(log_n, 1);
    assert_int_equal(log_ids[0], 1);
    assert_int_equal(log_times[0], 10);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* ------------------------------------------------------------------------------------------- */
/* Running                                                                                     */
/* ------------------------------------------------------------------------------------------- */

static void test_run_until(void **state)
{
    (void)state;
    rec_t r[3];
    gpusim_world_t *w = test_world(1);
    recs_init(r, 3);
    ASSERT_OK(gpusim_event_schedule(w, &r[0].ev, 10));
    ASSERT_OK(gpusim_event_schedule(w, &r[1].ev, 20));
    ASSERT_OK(gpusim_event_schedule(w, &r[2].ev, 21));

    ASSERT_OK(gpusim_world_run_until(w, 20)); /* inclusive */
    assert_int_equal(log_n, 2);
    assert_int_equal(gpusim_world_now(w), 20);
    ASSERT_OK(gpusim_world_run_until(w, 20)); /* no-op */
    ASSERT_ERR(gpusim_world_run_until(w, 19), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_world_run_until(NULL, 30), GPUSIM_EINVAL);

    /* With nothing due, the clock still moves to `until`. */
    ASSERT_OK(gpusim_world_run_until(w, 21));
    ASSERT_OK(gpusim_world_run_until(w, 1000));
    assert_int_equal(log_n, 3);
    assert_int_equal(gpusim_world_now(w), 1000);
    assert_int_equal(gpusim_world_next_time(w), GPUSIM_TIME_MAX);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

static void test_run_events(void **state)
{
    (void)state;
    rec_t r[10];
    gpusim_world_t *w = test_world(1);
    recs_init(r, 10);
    for (int i = 0; i < 10; i++)
        ASSERT_OK(gpusim_event_schedule(w, &r[i].ev, (gpusim_time_t)(100 - i)));
    assert_int_equal(gpusim_world_run_events(w, 3), 3);
    assert_int_equal(gpusim_world_now(w), 93); /* the third-earliest event */
    assert_int_equal(gpusim_world_run_events(w, 0), 0);
    assert_int_equal(gpusim_world_run_events(w, 100), 7);
    assert_int_equal(gpusim_world_run_events(w, 1), 0);
    assert_int_equal(gpusim_world_run_events(NULL, 1), GPUSIM_EINVAL);
    assert_int_equal(gpusim_world_events_run(w), 10);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

typedef struct stopper {
    gpusim_event_t ev;
    int runs;
    int rc_nested; /* result of a run call made from inside the callback */
} stopper_t;

static void stop_cb(gpusim_world_t *w, gpusim_event_t *ev)
{
    stopper_t *s = ev->data;
    s->runs++;
    s->rc_nested = gpusim_world_run(w);
    gpusim_world_stop(w);
}

static void test_stop_and_reentry(void **state)
{
    (void)state;
    rec_t r[2];
    stopper_t s = {0};
    gpusim_world_t *w = test_world(1);
    recs_init(r, 2);
    gpusim_event_init(&s.ev, stop_cb, &s);
    ASSERT_OK(gpusim_event_schedule(w, &r[0].ev, 5));
    ASSERT_OK(gpusim_event_schedule(w, &s.ev, 10));
    ASSERT_OK(gpusim_event_schedule(w, &r[1].ev, 15));

    /* Outside a run, stop is ignored: it must not end the next run early. */
    gpusim_world_stop(w);
    ASSERT_ERR(gpusim_world_run_until(w, 100), GPUSIM_ECANCELED);
    assert_int_equal(s.runs, 1);
    assert_int_equal(s.rc_nested, GPUSIM_EBUSY);
    assert_int_equal(log_n, 1);                /* r[1] did not run */
    assert_int_equal(gpusim_world_now(w), 10); /* the clock stays at the stopping event */

    /* The request does not outlive the run. */
    ASSERT_OK(gpusim_world_run_until(w, 100));
    assert_int_equal(log_n, 2);
    assert_int_equal(gpusim_world_now(w), 100);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

static void test_queue_grows_from_capacity_one(void **state)
{
    (void)state;
    enum { N = 100000 };
    static rec_t r[N];
    gpusim_world_config_t cfg;
    gpusim_world_t *w;
    gpusim_world_config_init(&cfg);
    cfg.event_capacity = 1;
    ASSERT_OK(gpusim_world_new(&cfg, &w));
    recs_init(r, N);
    for (int i = 0; i < N; i++)
        ASSERT_OK(gpusim_event_schedule(w, &r[i].ev, (gpusim_time_t)(N - i)));
    assert_true(gpusim__queue_check(&w->queue, w));
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(log_n, N);
    for (int i = 0; i < N; i++)
        assert_int_equal(log_ids[i], N - 1 - i);
    gpusim_stat_info_t info;
    ASSERT_OK(gpusim_stats_get(w, "sim.events.pending", &info));
    assert_int_equal(info.value, 0);
    assert_int_equal(info.peak, N);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

static void test_free_with_pending_events(void **state)
{
    (void)state;
    rec_t r[100];
    gpusim_world_t *w = test_world(1);
    recs_init(r, 100);
    for (int i = 0; i < 100; i++)
        ASSERT_OK(gpusim_event_schedule(w, &r[i].ev, (gpusim_time_t)i));
    gpusim_world_free(w); /* must not touch or need the events */
    ASSERT_NO_LEAK();
    assert_int_equal(log_n, 0);
}

/* ------------------------------------------------------------------------------------------- */
/* Callbacks that free memory, re-enter, or free the world                                      */
/* ------------------------------------------------------------------------------------------- */

typedef struct heap_actor {
    gpusim_event_t ev;
    struct heap_actor *victim; /* cancelled and freed by this actor's callback, if set */
    int *runs;
} heap_actor_t;

/* Frees its own actor (and so its own event) from inside its callback. */
static void free_self_cb(gpusim_world_t *w, gpusim_event_t *ev)
{
    heap_actor_t *a = ev->data;
    (*a->runs)++;
    if (a->victim != NULL) {
        ASSERT_OK(gpusim_event_cancel(w, &a->victim->ev));
        free(a->victim);
    }
    free(a);
}

static void test_callback_may_free_its_event_and_others(void **state)
{
    (void)state;
    int runs = 0;
    gpusim_world_t *w = test_world(1);
    /* Many self-freeing actors, interleaved so the heap moves entries around them. */
    for (int i = 0; i < 200; i++) {
        heap_actor_t *a = calloc(1, sizeof(*a));
        assert_non_null(a);
        a->runs = &runs;
        gpusim_event_init(&a->ev, free_self_cb, a);
        ASSERT_OK(gpusim_event_schedule(w, &a->ev, (gpusim_time_t)(i % 17)));
    }
    /* One actor cancels and frees another that is still pending. */
    heap_actor_t *killer = calloc(1, sizeof(*killer));
    heap_actor_t *victim = calloc(1, sizeof(*victim));
    assert_non_null(killer);
    assert_non_null(victim);
    killer->runs = victim->runs = &runs;
    killer->victim = victim;
    gpusim_event_init(&killer->ev, free_self_cb, killer);
    gpusim_event_init(&victim->ev, free_self_cb, victim);
    ASSERT_OK(gpusim_event_schedule(w, &killer->ev, 100));
    ASSERT_OK(gpusim_event_schedule(w, &victim->ev, 101));
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(runs, 201); /* the victim never ran; nothing touched freed memory (ASan) */
    assert_true(gpusim__queue_check(&w->queue, w));
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

typedef struct reentrant {
    gpusim_event_t ev;
    int rc_run, rc_until;
    int64_t rc_events;
} reentrant_t;

static void reenter_cb(gpusim_world_t *w, gpusim_event_t *ev)
{
    reentrant_t *r = ev->data;
    r->rc_run = gpusim_world_run(w);
    r->rc_until = gpusim_world_run_until(w, gpusim_world_now(w) + 10);
    r->rc_events = gpusim_world_run_events(w, 5);
}

static void test_every_run_function_refuses_reentry(void **state)
{
    (void)state;
    reentrant_t r = {0};
    gpusim_world_t *w = test_world(1);
    gpusim_event_init(&r.ev, reenter_cb, &r);
    ASSERT_OK(gpusim_event_schedule(w, &r.ev, 1));
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(r.rc_run, GPUSIM_EBUSY);
    assert_int_equal(r.rc_until, GPUSIM_EBUSY);
    assert_int_equal(r.rc_events, GPUSIM_EBUSY);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

static void stop_only_cb(gpusim_world_t *w, gpusim_event_t *ev)
{
    (void)ev;
    gpusim_world_stop(w);
}

static void test_stop_ends_run_events_early(void **state)
{
    (void)state;
    rec_t r[5];
    gpusim_event_t stopper;
    gpusim_world_t *w = test_world(1);
    recs_init(r, 5);
    gpusim_event_init(&stopper, stop_only_cb, NULL);
    for (int i = 0; i < 5; i++)
        ASSERT_OK(gpusim_event_schedule(w, &r[i].ev, (gpusim_time_t)(10 * i)));
    ASSERT_OK(gpusim_event_schedule(w, &stopper, 15));    /* after r[0], r[1] */
    assert_int_equal(gpusim_world_run_events(w, 100), 3); /* r[0], r[1], the stopper */
    assert_int_equal(log_n, 2);
    assert_int_equal(gpusim_world_run_events(w, 100), 3); /* the rest: stop did not persist */
    assert_int_equal(log_n, 5);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

typedef struct world_killer {
    gpusim_event_t ev;
    int runs;
    int rc_after; /* a call made on the world after freeing it inside the callback */
} world_killer_t;

static void free_world_cb(gpusim_world_t *w, gpusim_event_t *ev)
{
    world_killer_t *k = ev->data;
    k->runs++;
    gpusim_world_free(w);
    /* Deferred: the world is still usable until this callback returns. */
    gpusim_event_t probe;
    gpusim_event_init(&probe, free_world_cb, k);
    k->rc_after = gpusim_event_schedule(w, &probe, gpusim_world_now(w) + 1);
    gpusim_event_cancel(w, &probe);
}

static void test_world_freed_from_its_own_callback(void **state)
{
    (void)state;
    rec_t r[2];
    gpusim_world_t *w;
    for (int mode = 0; mode < 3; mode++) {
        world_killer_t k = {0};
        w = test_world(1);
        recs_init(r, 2);
        gpusim_event_init(&k.ev, free_world_cb, &k);
        ASSERT_OK(gpusim_event_schedule(w, &r[0].ev, 5));
        ASSERT_OK(gpusim_event_schedule(w, &k.ev, 10));
        ASSERT_OK(gpusim_event_schedule(w, &r[1].ev, 15));
        /* Each run function returns without touching the freed world (ASan watches). */
        if (mode == 0)
            ASSERT_ERR(gpusim_world_run(w), GPUSIM_ECANCELED);
        else if (mode == 1)
            ASSERT_ERR(gpusim_world_run_until(w, 100), GPUSIM_ECANCELED);
        else
            assert_int_equal(gpusim_world_run_events(w, 100), 2);
        assert_int_equal(k.runs, 1);
        assert_int_equal(k.rc_after, 0);
        assert_int_equal(log_n, 1); /* r[1] never ran */
        ASSERT_NO_LEAK();           /* the world and its queue are gone */
    }
}

/* ------------------------------------------------------------------------------------------- */
/* The event hook (gpusim_world_set_event_hook)                                                  */
/* ------------------------------------------------------------------------------------------- */

typedef struct hook_rec {
    size_t calls;
    size_t log_at[8];    /* log_n at each call: the hook runs after the event it follows */
    uint64_t runs_at[8]; /* gpusim_world_events_run at each call */
    size_t stop_after;   /* calls after which the hook stops the run (0: never) */
    int reenter_rc;
} hook_rec;

static void hook_cb(void *ud, gpusim_world_t *w)
{
    hook_rec *h = ud;
    if (h->calls < 8) {
        h->log_at[h->calls] = log_n;
        h->runs_at[h->calls] = gpusim_world_events_run(w);
    }
    h->calls++;
    h->reenter_rc = gpusim_world_run(w);
    if (h->stop_after && h->calls == h->stop_after)
        gpusim_world_stop(w);
}

/* The hook runs once after each event, after its callback; it can stop the run; unset, it is not
 * called; NULL world refused. */
static void test_event_hook(void **state)
{
    (void)state;
    rec_t r[3];
    hook_rec h = {0};
    gpusim_world_t *w = test_world(1);
    ASSERT_ERR(gpusim_world_set_event_hook(NULL, hook_cb, &h), GPUSIM_EINVAL);
    recs_init(r, 3);
    for (int i = 0; i < 3; i++)
        ASSERT_OK(gpusim_event_schedule(w, &r[i].ev, (gpusim_time_t)(10 * (i + 1))));
    ASSERT_OK(gpusim_world_set_event_hook(w, hook_cb, &h));
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(h.calls, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(h.log_at[i], i + 1); /* after the i-th callback, before the next */
        assert_int_equal(h.runs_at[i], i + 1);
    }
    ASSERT_ERR(h.reenter_rc, GPUSIM_EBUSY);

    /* A hook that stops the run ends it after the event it follows. */
    memset(&h, 0, sizeof h);
    h.stop_after = 2;
    recs_init(r, 3);
    for (int i = 0; i < 3; i++)
        ASSERT_OK(gpusim_event_schedule(w, &r[i].ev, 100 + (gpusim_time_t)i));
    ASSERT_ERR(gpusim_world_run(w), GPUSIM_ECANCELED);
    assert_int_equal(h.calls, 2);
    assert_int_equal(log_n, 2);

    /* Removed: not called any more. */
    ASSERT_OK(gpusim_world_set_event_hook(w, NULL, &h));
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(log_n, 3);
    assert_int_equal(h.calls, 2);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* No hook call after an event whose callback freed the world (ASan would see it). */
static void test_event_hook_not_called_after_free(void **state)
{
    (void)state;
    world_killer_t k = {0};
    hook_rec h = {0};
    gpusim_world_t *w = test_world(1);
    rec_t r[1];
    recs_init(r, 1);
    gpusim_event_init(&k.ev, free_world_cb, &k);
    ASSERT_OK(gpusim_event_schedule(w, &r[0].ev, 5));
    ASSERT_OK(gpusim_event_schedule(w, &k.ev, 10));
    ASSERT_OK(gpusim_world_set_event_hook(w, hook_cb, &h));
    ASSERT_ERR(gpusim_world_run(w), GPUSIM_ECANCELED);
    assert_int_equal(k.runs, 1);
    assert_int_equal(h.calls, 1); /* after r[0] only */
    ASSERT_NO_LEAK();
}

/* ------------------------------------------------------------------------------------------- */
/* Randomized differential test against a brute-force reference                                */
/* ------------------------------------------------------------------------------------------- */

enum { DIFF_EVENTS = 64 };

typedef struct ref_ev {
    bool pending;
    gpusim_time_t when;
    uint64_t seq;
} ref_ev_t;

static ref_ev_t ref[DIFF_EVENTS];
static uint64_t ref_seq;

/* The reference's next event: smallest (when, seq) among pending ones; -1 if none. */
static int ref_min(void)
{
    int best = -1;
    for (int i = 0; i < DIFF_EVENTS; i++) {
        if (!ref[i].pending)
            continue;
        if (best < 0 || ref[i].when < ref[best].when ||
            (ref[i].when == ref[best].when && ref[i].seq < ref[best].seq))
            best = i;
    }
    return best;
}

static void diff_run(uint64_t seed, uint64_t *trace_hash)
{
    static rec_t r[DIFF_EVENTS];
    gpusim_world_t *w = test_world(seed);
    gpusim_rng_t rng;
    gpusim_rng_seed(&rng, seed, 1);
    recs_init(r, DIFF_EVENTS);
    memset(ref, 0, sizeof(ref));
    ref_seq = 0;
    uint64_t h = 0xcbf29ce484222325u;

    for (int step = 0; step < 20000; step++) {
        int i = (int)gpusim_rng_below(&rng, DIFF_EVENTS);
        gpusim_time_t now = gpusim_world_now(w);
        gpusim_time_t when = now + gpusim_rng_below(&rng, 50);
        switch (gpusim_rng_below(&rng, 5)) {
        case 0: /* schedule */
            if (ref[i].pending) {
                ASSERT_ERR(gpusim_event_schedule(w, &r[i].ev, when), GPUSIM_EBUSY);
            } else {
                ASSERT_OK(gpusim_event_schedule(w, &r[i].ev, when));
                ref[i] = (ref_ev_t){true, when, ref_seq++};
            }
            break;
        case 1: /* reschedule */
            ASSERT_OK(gpusim_event_reschedule(w, &r[i].ev, when));
            ref[i] = (ref_ev_t){true, when, ref_seq++};
            break;
        case 2: /* cancel */
            ASSERT_ERR(gpusim_event_cancel(w, &r[i].ev), ref[i].pending ? 0 : GPUSIM_ENOENT);
            ref[i].pending = false;
            break;
        default: { /* run a few events, comparing each with the reference */
            int k = (int)gpusim_rng_below(&rng, 4);
            for (int j = 0; j < k; j++) {
                int expect = ref_min();
                size_t before = log_n;
                assert_int_equal(gpusim_world_run_events(w, 1), expect < 0 ? 0 : 1);
                if (expect < 0)
                    break;
                assert_int_equal(log_n, before + 1);
                assert_int_equal(log_ids[before], expect);
                assert_int_equal(log_times[before], ref[expect].when);
                ref[expect].pending = false;
                h = (h ^ (uint64_t)expect ^ (log_times[before] << 8)) * 0x100000001b3u;
                log_n = 0; /* keep the recorder small */
            }
            break;
        }
        }
        for (int e = 0; e < DIFF_EVENTS; e++)
            assert_int_equal(gpusim_event_pending(&r[e].ev), ref[e].pending);
        assert_true(gpusim__queue_check(&w->queue, w));
    }
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
    *trace_hash = h;
}

static void test_randomized_against_reference(void **state)
{
    (void)state;
    uint64_t h1, h2, h3;
    diff_run(1, &h1);
    diff_run(1, &h2);
    diff_run(2, &h3);
    assert_int_equal(h1, h2); /* same seed, same dispatch sequence */
    assert_true(h1 != h3);    /* the seed matters */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        GPUSIM_TEST(test_runs_in_time_order),
        GPUSIM_TEST(test_ties_run_in_insertion_order),
        GPUSIM_TEST(test_schedule_errors),
        GPUSIM_TEST(test_cancel),
        GPUSIM_TEST(test_reschedule),
        GPUSIM_TEST(test_callback_reschedules_itself),
        GPUSIM_TEST(test_callback_cancels_and_schedules_now),
        GPUSIM_TEST(test_run_until),
        GPUSIM_TEST(test_run_events),
        GPUSIM_TEST(test_stop_and_reentry),
        GPUSIM_TEST(test_queue_grows_from_capacity_one),
        GPUSIM_TEST(test_free_with_pending_events),
        GPUSIM_TEST(test_callback_may_free_its_event_and_others),
        GPUSIM_TEST(test_every_run_function_refuses_reentry),
        GPUSIM_TEST(test_stop_ends_run_events_early),
        GPUSIM_TEST(test_world_freed_from_its_own_callback),
        GPUSIM_TEST(test_event_hook),
        GPUSIM_TEST(test_event_hook_not_called_after_free),
        GPUSIM_TEST(test_randomized_against_reference),
    };
    return cmocka_run_group_tests_name("event", tests, NULL, NULL);
}
