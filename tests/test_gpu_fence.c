/*
 * tests/test_gpu_fence.c -- timeline fences (src/gpu/fence.h).
 *
 * Covers: immediate satisfaction; wake order (target, then arrival) through events at the signal's
 * time, never inside the signaller; signals that do not increase the value; timeouts (dequeued,
 * not called again), a signal beating the deadline, polling with timeout 0, waiting for ever and
 * saturating deadlines; the error state (waiters woken with it, later waits and signals refused,
 * reached values still succeed); scheduled signals and their cancellation; cancelling a waiter in
 * each state; re-waiting from the callback; signals that cannot fail for memory and waits that
 * fail cleanly; one world per fence; bad arguments; the checker catching corruption; and a
 * randomized run against a reference model, twice, for determinism. The checker runs after every
 * step.
 */
#include "test_util.h"

#include "core/event.h"
#include "core/world.h"
#include "gpu/fence.h"

#define FOREVER GPUSIM_TIME_MAX

typedef struct party {
    gpusim__gpu_fence_waiter fw;
    int id;
    int calls;
} party;

typedef struct wake_rec {
    int id;
    int status;
    gpusim_time_t at;
} wake_rec;

static wake_rec wlog[4096];
static int nlog;
static gpusim__gpu_fence *rewait_fence; /* on_wake waits again on it (target + 1) when set */

static void on_wake(gpusim_world_t *w, gpusim__gpu_fence_waiter *fw, int status)
{
    party *p = fw->data;
    assert_ptr_equal(&p->fw, fw);
    assert_false(gpusim__gpu_fence_waiter_waiting(fw)); /* idle before the callback */
    p->calls++;
    if (nlog < (int)(sizeof wlog / sizeof wlog[0]))
        wlog[nlog++] = (wake_rec){p->id, status, gpusim_world_now(w)};
    if (rewait_fence != NULL && status == 0)
        assert_int_equal(
            gpusim__gpu_fence_wait(w, rewait_fence, fw->node.start + 1, fw, on_wake, p, FOREVER),
            GPUSIM_EINPROGRESS);
}

static void parties_init(party *p, int n)
{
    nlog = 0;
    rewait_fence = NULL;
    for (int i = 0; i < n; i++) {
        gpusim__gpu_fence_waiter_init(&p[i].fw);
        p[i].id = i;
        p[i].calls = 0;
    }
}

static int wait(gpusim_world_t *w, gpusim__gpu_fence *f, uint64_t target, party *p,
                gpusim_time_t timeout)
{
    int rc = gpusim__gpu_fence_wait(w, f, target, &p->fw, on_wake, p, timeout);
    assert_true(gpusim__gpu_fence_check(w, f));
    return rc;
}

static void run_to(gpusim_world_t *w, gpusim_time_t t)
{
    ASSERT_OK(gpusim_world_run_until(w, t));
}

/* ------------------------------------------------------------------------------------------- */
/* Signals and order                                                                           */
/* ------------------------------------------------------------------------------------------- */

static void test_wait_for_a_reached_value_returns_at_once(void **state)
{
    (void)state;
    party p[2];
    gpusim__gpu_fence f;
    gpusim_world_t *w = test_world(1);
    parties_init(p, 2);
    gpusim__gpu_fence_init(&f, 10);
    assert_int_equal(gpusim__gpu_fence_value(&f), 10);
    ASSERT_OK(wait(w, &f, 10, &p[0], FOREVER));
    ASSERT_OK(wait(w, &f, 0, &p[1], 0));
    assert_false(gpusim__gpu_fence_waiter_waiting(&p[0].fw));
    assert_int_equal(gpusim_world_pending(w), 0);
    assert_int_equal(w->queue.reserved, 0);
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(p[0].calls + p[1].calls, 0);
    assert_int_equal(f.immediate, 2);
    assert_int_equal(f.waits, 2);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

static void test_signal_wakes_by_target_then_arrival_at_signal_time(void **state)
{
    (void)state;
    party p[6];
    gpusim__gpu_fence f;
    gpusim_world_t *w = test_world(1);
    parties_init(p, 6);
    gpusim__gpu_fence_init(&f, 0);
    /* Arrival order: targets 5, 3, 3, 7, 1 (with and without timeouts), 9. */
    static const uint64_t target[] = {5, 3, 3, 7, 1, 9};
    for (int i = 0; i < 6; i++)
        assert_int_equal(wait(w, &f, target[i], &p[i], i % 2 ? 1000000 : FOREVER),
                         GPUSIM_EINPROGRESS);
    run_to(w, 100);
    ASSERT_OK(gpusim__gpu_fence_signal(w, &f, 5));
    assert_true(gpusim__gpu_fence_check(w, &f));
    /* Nothing runs inside the signaller's call stack. */
    assert_int_equal(nlog, 0);
    assert_int_equal(gpusim__gpu_fence_value(&f), 5);
    run_to(w, 100);
    static const int order[] = {4, 1, 2, 0}; /* 1, 3 (first), 3 (second), 5 */
    assert_int_equal(nlog, 4);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(wlog[i].id, order[i]);
        assert_int_equal(wlog[i].status, 0);
        assert_int_equal(wlog[i].at, 100);
    }
    assert_true(gpusim__gpu_fence_waiter_waiting(&p[3].fw));
    assert_true(gpusim__gpu_fence_waiter_waiting(&p[5].fw));
    /* Jumping past both wakes them in target order. */
    run_to(w, 200);
    ASSERT_OK(gpusim__gpu_fence_signal(w, &f, 1000));
    run_to(w, 200);
    assert_int_equal(nlog, 6);
    assert_int_equal(wlog[4].id, 3);
    assert_int_equal(wlog[5].id, 5);
    assert_int_equal(wlog[5].at, 200);
    assert_int_equal(f.woken, 6);
    assert_int_equal(f.signals, 2);
    /* Timed-out deadlines were moved, not left behind; reservations were all spent. */
    assert_int_equal(gpusim_world_pending(w), 0);
    assert_int_equal(w->queue.reserved, 0);
    assert_true(gpusim__queue_check(&w->queue, w));
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

static void test_signal_must_increase_the_value(void **state)
{
    (void)state;
    party p[1];
    gpusim__gpu_fence f;
    gpusim_world_t *w = test_world(1);
    parties_init(p, 1);
    gpusim__gpu_fence_init(&f, 4);
    assert_int_equal(wait(w, &f, 6, &p[0], FOREVER), GPUSIM_EINPROGRESS);
    ASSERT_ERR(gpusim__gpu_fence_signal(w, &f, 4), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim__gpu_fence_signal(w, &f, 3), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim__gpu_fence_signal_at(w, &f, 4, 10), GPUSIM_EINVAL);
    assert_int_equal(gpusim__gpu_fence_value(&f), 4);
    assert_int_equal(f.signals, 0);
    ASSERT_OK(gpusim__gpu_fence_signal(w, &f, 5)); /* not enough for the waiter */
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(p[0].calls, 0);
    ASSERT_OK(gpusim__gpu_fence_signal(w, &f, UINT64_MAX));
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(p[0].calls, 1);
    ASSERT_ERR(gpusim__gpu_fence_signal(w, &f, UINT64_MAX), GPUSIM_EINVAL);
    assert_true(gpusim__gpu_fence_check(w, &f));
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* ------------------------------------------------------------------------------------------- */
/* Timeouts                                                                                    */
/* ------------------------------------------------------------------------------------------- */

static void test_timeout_dequeues_the_waiter(void **state)
{
    (void)state;
    party p[2];
    gpusim__gpu_fence f;
    gpusim_world_t *w = test_world(1);
    parties_init(p, 2);
    gpusim__gpu_fence_init(&f, 0);
    run_to(w, 50);
    assert_int_equal(wait(w, &f, 1, &p[0], 100), GPUSIM_EINPROGRESS);
    assert_int_equal(wait(w, &f, 1, &p[1], FOREVER), GPUSIM_EINPROGRESS);
    run_to(w, 149);
    assert_int_equal(nlog, 0);
    run_to(w, 150);
    assert_int_equal(nlog, 1);
    assert_int_equal(wlog[0].id, 0);
    assert_int_equal(wlog[0].status, GPUSIM_EFENCETIMEDOUT);
    assert_int_equal(wlog[0].at, 150);
    assert_false(gpusim__gpu_fence_waiter_waiting(&p[0].fw));
    assert_int_equal(f.waiters.count, 1);
    assert_true(gpusim__gpu_fence_check(w, &f));
    /* A later signal does not call it again, and still wakes the other. */
    ASSERT_OK(gpusim__gpu_fence_signal(w, &f, 1));
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(p[0].calls, 1);
    assert_int_equal(p[1].calls, 1);
    assert_int_equal(wlog[1].status, 0);
    assert_int_equal(f.timeouts, 1);
    assert_int_equal(f.woken, 1);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

static void test_signal_before_the_deadline_wins(void **state)
{
    (void)state;
    party p[1];
    gpusim__gpu_fence f;
    gpusim_world_t *w = test_world(1);
    parties_init(p, 1);
    gpusim__gpu_fence_init(&f, 0);
    assert_int_equal(wait(w, &f, 2, &p[0], 1000), GPUSIM_EINPROGRESS);
    assert_int_equal(gpusim_world_next_time(w), 1000);
    assert_int_equal(w->queue.reserved, 0); /* the deadline event is the room for the wake-up */
    run_to(w, 400);
    ASSERT_OK(gpusim__gpu_fence_signal(w, &f, 2));
    assert_int_equal(gpusim_world_next_time(w), 400);
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(p[0].calls, 1);
    assert_int_equal(wlog[0].status, 0);
    assert_int_equal(wlog[0].at, 400);
    assert_int_equal(gpusim_world_now(w), 400); /* nothing left at the old deadline */
    assert_int_equal(f.timeouts, 0);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

static void test_timeout_zero_polls_and_forever_reserves(void **state)
{
    (void)state;
    party p[3];
    gpusim__gpu_fence f;
    gpusim_world_t *w = test_world(1);
    parties_init(p, 3);
    gpusim__gpu_fence_init(&f, 0);
    ASSERT_ERR(wait(w, &f, 1, &p[0], 0), GPUSIM_EFENCETIMEDOUT);
    assert_false(gpusim__gpu_fence_waiter_waiting(&p[0].fw));
    assert_int_equal(f.timeouts, 1);
    /* For ever: no event, one reservation. */
    assert_int_equal(wait(w, &f, 1, &p[1], FOREVER), GPUSIM_EINPROGRESS);
    assert_int_equal(gpusim_world_pending(w), 0);
    assert_int_equal(w->queue.reserved, 1);
    assert_int_equal(p[1].fw.deadline, GPUSIM_TIME_MAX);
    /* A timeout that would pass GPUSIM_TIME_MAX saturates to for ever. */
    run_to(w, 10);
    assert_int_equal(wait(w, &f, 1, &p[2], GPUSIM_TIME_MAX - 5), GPUSIM_EINPROGRESS);
    assert_int_equal(p[2].fw.deadline, GPUSIM_TIME_MAX);
    assert_int_equal(w->queue.reserved, 2);
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(nlog, 0);
    ASSERT_OK(gpusim__gpu_fence_signal(w, &f, 1));
    assert_int_equal(w->queue.reserved, 0);
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(nlog, 2);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* ------------------------------------------------------------------------------------------- */
/* Errors, scheduled signals, cancel                                                           */
/* ------------------------------------------------------------------------------------------- */

static void test_error_wakes_waiters_and_refuses_later_calls(void **state)
{
    (void)state;
    party p[5];
    gpusim__gpu_fence f;
    gpusim_world_t *w = test_world(1);
    parties_init(p, 5);
    gpusim__gpu_fence_init(&f, 3);
    assert_int_equal(wait(w, &f, 9, &p[0], FOREVER), GPUSIM_EINPROGRESS);
    assert_int_equal(wait(w, &f, 4, &p[1], 500), GPUSIM_EINPROGRESS);
    ASSERT_OK(gpusim__gpu_fence_signal_at(w, &f, 8, 300));
    run_to(w, 20);
    ASSERT_ERR(gpusim__gpu_fence_set_error(w, &f, 0), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim__gpu_fence_set_error(w, &f, 5), GPUSIM_EINVAL);
    ASSERT_OK(gpusim__gpu_fence_set_error(w, &f, GPUSIM_ECTXKILLED));
    assert_true(gpusim__gpu_fence_check(w, &f));
    assert_int_equal(nlog, 0);                    /* delivered by events */
    assert_false(gpusim_event_pending(&f.timer)); /* the scheduled signal is cancelled */
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(nlog, 2);
    assert_int_equal(wlog[0].id, 1); /* target order */
    assert_int_equal(wlog[1].id, 0);
    assert_int_equal(wlog[0].status, GPUSIM_ECTXKILLED);
    assert_int_equal(wlog[1].status, GPUSIM_ECTXKILLED);
    assert_int_equal(wlog[1].at, 20);
    assert_int_equal(gpusim__gpu_fence_value(&f), 3); /* the scheduled signal never applied */
    /* Later calls. */
    ASSERT_ERR(wait(w, &f, 4, &p[2], FOREVER), GPUSIM_ECTXKILLED);
    assert_false(gpusim__gpu_fence_waiter_waiting(&p[2].fw));
    ASSERT_OK(wait(w, &f, 3, &p[3], FOREVER)); /* reached before the error */
    ASSERT_ERR(gpusim__gpu_fence_signal(w, &f, 4), GPUSIM_ECTXKILLED);
    ASSERT_ERR(gpusim__gpu_fence_signal_at(w, &f, 4, 100), GPUSIM_ECTXKILLED);
    ASSERT_ERR(gpusim__gpu_fence_set_error(w, &f, GPUSIM_EGPUFAULT), GPUSIM_EBUSY);
    assert_int_equal(gpusim__gpu_fence_error(&f), GPUSIM_ECTXKILLED);
    assert_int_equal(f.errors, 3);
    assert_int_equal(w->queue.reserved, 0);
    assert_int_equal(gpusim_world_pending(w), 0);
    assert_true(gpusim__gpu_fence_check(w, &f));
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

static void test_signal_at_and_its_cancellation(void **state)
{
    (void)state;
    party p[2];
    gpusim__gpu_fence f;
    gpusim_world_t *w = test_world(1);
    parties_init(p, 2);
    gpusim__gpu_fence_init(&f, 0);
    assert_int_equal(wait(w, &f, 2, &p[0], FOREVER), GPUSIM_EINPROGRESS);
    run_to(w, 10);
    ASSERT_ERR(gpusim__gpu_fence_signal_at(w, &f, 2, 9), GPUSIM_EINVAL); /* in the past */
    ASSERT_OK(gpusim__gpu_fence_signal_at(w, &f, 2, 70));
    ASSERT_ERR(gpusim__gpu_fence_signal_at(w, &f, 3, 80), GPUSIM_EBUSY);
    assert_true(gpusim__gpu_fence_check(w, &f));
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(nlog, 1);
    assert_int_equal(wlog[0].at, 70);
    assert_int_equal(gpusim__gpu_fence_value(&f), 2);
    /* Cancelled: nothing happens at its time. */
    ASSERT_ERR(gpusim__gpu_fence_signal_cancel(w, &f), GPUSIM_ENOENT);
    ASSERT_OK(gpusim__gpu_fence_signal_at(w, &f, 5, 100));
    ASSERT_OK(gpusim__gpu_fence_signal_cancel(w, &f));
    ASSERT_ERR(gpusim__gpu_fence_signal_cancel(w, &f), GPUSIM_ENOENT);
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(gpusim__gpu_fence_value(&f), 2);
    /* A direct signal reaching the scheduled value makes it moot: it is cancelled. */
    ASSERT_OK(gpusim__gpu_fence_signal_at(w, &f, 6, 200));
    ASSERT_OK(gpusim__gpu_fence_signal(w, &f, 4)); /* below: the scheduled one stays */
    assert_true(gpusim_event_pending(&f.timer));
    ASSERT_OK(gpusim__gpu_fence_signal(w, &f, 7));
    assert_false(gpusim_event_pending(&f.timer));
    assert_true(gpusim__gpu_fence_check(w, &f));
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(gpusim__gpu_fence_value(&f), 7);
    assert_int_equal(f.signals, 3);
    ASSERT_ERR(gpusim__gpu_fence_signal_cancel(NULL, &f), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim__gpu_fence_signal_cancel(w, NULL), GPUSIM_EINVAL);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

static void test_cancel_in_every_waiting_state(void **state)
{
    (void)state;
    party p[4];
    gpusim__gpu_fence f;
    gpusim_world_t *w = test_world(1);
    parties_init(p, 4);
    gpusim__gpu_fence_init(&f, 0);
    ASSERT_ERR(gpusim__gpu_fence_waiter_cancel(w, &p[0].fw), GPUSIM_ENOENT); /* idle */
    assert_int_equal(wait(w, &f, 5, &p[0], FOREVER), GPUSIM_EINPROGRESS);    /* queued, reserved */
    assert_int_equal(wait(w, &f, 5, &p[1], 100), GPUSIM_EINPROGRESS);        /* queued, deadline */
    assert_int_equal(wait(w, &f, 1, &p[2], FOREVER), GPUSIM_EINPROGRESS);    /* to be woken */
    assert_int_equal(wait(w, &f, 1, &p[3], 100), GPUSIM_EINPROGRESS);        /* to be woken */
    ASSERT_OK(gpusim__gpu_fence_waiter_cancel(w, &p[0].fw));
    assert_int_equal(w->queue.reserved, 1); /* p[2]'s only */
    ASSERT_OK(gpusim__gpu_fence_waiter_cancel(w, &p[1].fw));
    assert_true(gpusim__gpu_fence_check(w, &f));
    ASSERT_OK(gpusim__gpu_fence_signal(w, &f, 1));
    assert_true(gpusim__gpu_fence_waiter_waiting(&p[2].fw)); /* woken, not yet run */
    ASSERT_OK(gpusim__gpu_fence_waiter_cancel(w, &p[2].fw));
    ASSERT_OK(gpusim__gpu_fence_waiter_cancel(w, &p[3].fw));
    ASSERT_ERR(gpusim__gpu_fence_waiter_cancel(w, &p[3].fw), GPUSIM_ENOENT);
    ASSERT_OK(gpusim_world_run(w));
    for (int i = 0; i < 4; i++)
        assert_int_equal(p[i].calls, 0);
    assert_int_equal(f.cancels, 2); /* the queued ones; woken ones were already counted woken */
    assert_int_equal(f.waiters.count, 0);
    assert_int_equal(w->queue.reserved, 0);
    assert_int_equal(gpusim_world_pending(w), 0);
    assert_int_equal(gpusim_world_now(w), 0);
    assert_true(gpusim__gpu_fence_check(w, &f));
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

static void test_callback_may_wait_again(void **state)
{
    (void)state;
    party p[1];
    gpusim__gpu_fence f;
    gpusim_world_t *w = test_world(1);
    parties_init(p, 1);
    gpusim__gpu_fence_init(&f, 0);
    rewait_fence = &f;
    assert_int_equal(wait(w, &f, 1, &p[0], FOREVER), GPUSIM_EINPROGRESS);
    for (uint64_t v = 1; v <= 5; v++) {
        ASSERT_OK(gpusim__gpu_fence_signal(w, &f, v));
        ASSERT_OK(gpusim_world_run(w));
        assert_int_equal(p[0].calls, (int)v);
        assert_true(gpusim__gpu_fence_waiter_waiting(&p[0].fw));
        assert_int_equal(p[0].fw.node.start, v + 1);
        assert_true(gpusim__gpu_fence_check(w, &f));
    }
    ASSERT_OK(gpusim__gpu_fence_waiter_cancel(w, &p[0].fw));
    rewait_fence = NULL;
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* ------------------------------------------------------------------------------------------- */
/* Memory, worlds, arguments, checker                                                          */
/* ------------------------------------------------------------------------------------------- */

static void test_signal_cannot_fail_for_memory(void **state)
{
    (void)state;
    enum { N = 40 };
    party p[N];
    gpusim__gpu_fence f;
    gpusim_world_config_t cfg;
    gpusim_world_t *w;
    gpusim_world_config_init(&cfg);
    cfg.event_capacity = 1; /* the queue must grow for the waiters */
    ASSERT_OK(gpusim_world_new(&cfg, &w));
    parties_init(p, N);
    gpusim__gpu_fence_init(&f, 0);
    int failures = 0;
    for (int i = 0; i < N; i++) {
        gpusim_time_t timeout = i % 3 == 0 ? 1000 : FOREVER;
        if (w->queue.n + w->queue.reserved == w->queue.cap) {
            /* Waiting is where memory can run out, and the wait then changes nothing. */
            gpusim__alloc_fail_nth(1);
            uint64_t waits = f.waits;
            ASSERT_ERR(wait(w, &f, (uint64_t)(N - i), &p[i], timeout), GPUSIM_ENOMEM);
            assert_false(gpusim__gpu_fence_waiter_waiting(&p[i].fw));
            assert_int_equal(f.waits, waits);
            failures++;
        }
        assert_int_equal(wait(w, &f, (uint64_t)(N - i), &p[i], timeout), GPUSIM_EINPROGRESS);
    }
    assert_true(failures > 0);
    gpusim__alloc_fail_nth(1);
    ASSERT_OK(gpusim__gpu_fence_signal(w, &f, N));
    assert_false(gpusim__alloc_fail_fired());
    gpusim__alloc_fail_nth(0);
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(nlog, N);
    for (int i = 0; i < N; i++)
        assert_int_equal(wlog[i].id, N - 1 - i); /* ascending targets */
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

static void test_waiters_belong_to_one_world(void **state)
{
    (void)state;
    party p[2];
    gpusim__gpu_fence f;
    gpusim_world_t *w1 = test_world(1), *w2 = test_world(1);
    parties_init(p, 2);
    gpusim__gpu_fence_init(&f, 0);
    assert_int_equal(wait(w1, &f, 1, &p[0], FOREVER), GPUSIM_EINPROGRESS);
    ASSERT_ERR(gpusim__gpu_fence_wait(w2, &f, 1, &p[1].fw, on_wake, &p[1], FOREVER), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim__gpu_fence_signal(w2, &f, 1), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim__gpu_fence_signal_at(w2, &f, 1, 5), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim__gpu_fence_set_error(w2, &f, GPUSIM_ECTXKILLED), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim__gpu_fence_waiter_cancel(w2, &p[0].fw), GPUSIM_EINVAL);
    assert_false(gpusim__gpu_fence_check(w2, &f));
    assert_int_equal(gpusim__gpu_fence_value(&f), 0);
    assert_int_equal(w2->queue.reserved, 0);
    ASSERT_OK(gpusim__gpu_fence_signal(w1, &f, 1));
    ASSERT_OK(gpusim_world_run(w1));
    assert_int_equal(p[0].calls, 1);
    /* A scheduled signal binds the fence to its world in the same way. */
    ASSERT_OK(gpusim__gpu_fence_signal_at(w1, &f, 3, 50));
    ASSERT_ERR(gpusim__gpu_fence_signal(w2, &f, 2), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim__gpu_fence_set_error(w2, &f, GPUSIM_ECTXKILLED), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim__gpu_fence_signal_cancel(w2, &f), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim__gpu_fence_wait(w2, &f, 9, &p[1].fw, on_wake, &p[1], FOREVER), GPUSIM_EINVAL);
    assert_false(gpusim__gpu_fence_check(w2, &f));
    assert_true(gpusim__gpu_fence_check(w1, &f));
    ASSERT_OK(gpusim_world_run(w1));
    assert_int_equal(gpusim__gpu_fence_value(&f), 3);
    gpusim_world_free(w1);
    gpusim_world_free(w2);
    ASSERT_NO_LEAK();
}

static void test_bad_arguments(void **state)
{
    (void)state;
    party p[1];
    gpusim__gpu_fence f;
    gpusim_world_t *w = test_world(1);
    parties_init(p, 1);
    gpusim__gpu_fence_init(&f, 0);
    gpusim__gpu_fence_init(NULL, 0);
    gpusim__gpu_fence_waiter_init(NULL);
    ASSERT_ERR(gpusim__gpu_fence_signal(NULL, &f, 1), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim__gpu_fence_signal(w, NULL, 1), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim__gpu_fence_signal_at(NULL, &f, 1, 0), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim__gpu_fence_signal_at(w, NULL, 1, 0), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim__gpu_fence_set_error(NULL, &f, -1), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim__gpu_fence_set_error(w, NULL, -1), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim__gpu_fence_wait(NULL, &f, 1, &p[0].fw, on_wake, p, 1), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim__gpu_fence_wait(w, NULL, 1, &p[0].fw, on_wake, p, 1), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim__gpu_fence_wait(w, &f, 1, NULL, on_wake, p, 1), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim__gpu_fence_wait(w, &f, 1, &p[0].fw, NULL, p, 1), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim__gpu_fence_waiter_cancel(NULL, &p[0].fw), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim__gpu_fence_waiter_cancel(w, NULL), GPUSIM_EINVAL);
    assert_false(gpusim__gpu_fence_waiter_waiting(NULL));
    assert_int_equal(gpusim__gpu_fence_value(NULL), 0);
    assert_int_equal(gpusim__gpu_fence_error(NULL), 0);
    assert_false(gpusim__gpu_fence_check(NULL, &f));
    assert_false(gpusim__gpu_fence_check(w, NULL));
    /* A waiter that is already waiting is refused. */
    assert_int_equal(wait(w, &f, 1, &p[0], FOREVER), GPUSIM_EINPROGRESS);
    ASSERT_ERR(wait(w, &f, 2, &p[0], FOREVER), GPUSIM_EBUSY);
    assert_int_equal(p[0].fw.node.start, 1);
    assert_int_equal(f.waits, 1);
    assert_int_equal(w->queue.reserved, 1);
    ASSERT_OK(gpusim__gpu_fence_waiter_cancel(w, &p[0].fw));
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

static void test_check_detects_corruption(void **state)
{
    (void)state;
    party p[2];
    gpusim__gpu_fence f;
    gpusim_world_t *w = test_world(1);
    parties_init(p, 2);
    gpusim__gpu_fence_init(&f, 0);
    assert_int_equal(wait(w, &f, 3, &p[0], FOREVER), GPUSIM_EINPROGRESS);
    assert_int_equal(wait(w, &f, 4, &p[1], 50), GPUSIM_EINPROGRESS);
    assert_true(gpusim__gpu_fence_check(w, &f));
    f.value = 3; /* a waiter already satisfied but still queued */
    assert_false(gpusim__gpu_fence_check(w, &f));
    f.value = 0;
    f.error = GPUSIM_ECTXKILLED; /* a failed fence with waiters */
    assert_false(gpusim__gpu_fence_check(w, &f));
    f.error = 0;
    p[1].fw.deadline = 60; /* the deadline event disagrees */
    assert_false(gpusim__gpu_fence_check(w, &f));
    p[1].fw.deadline = 50;
    w->queue.reserved--; /* the untimed waiter's reservation is gone */
    assert_false(gpusim__gpu_fence_check(w, &f));
    w->queue.reserved++;
    f.next_order = 1;
    assert_false(gpusim__gpu_fence_check(w, &f));
    f.next_order = 2;
    assert_true(gpusim__gpu_fence_check(w, &f));
    ASSERT_OK(gpusim__gpu_fence_waiter_cancel(w, &p[0].fw));
    ASSERT_OK(gpusim__gpu_fence_waiter_cancel(w, &p[1].fw));
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* ------------------------------------------------------------------------------------------- */
/* Randomized run against a reference model                                                    */
/* ------------------------------------------------------------------------------------------- */

enum { RN = 64, RSTEPS = 3000 };

static uint64_t lcg(uint64_t *s)
{
    *s = *s * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
    return *s >> 33;
}

/* Per party: what the reference expects. */
typedef struct ref_party {
    bool waiting;     /* queued (not yet woken or timed out) */
    uint64_t target;  /* while waiting */
    gpusim_time_t dl; /* deadline while waiting */
    uint64_t order;   /* arrival */
    int expect_calls; /* callbacks expected so far */
} ref_party;

static uint64_t run_random(uint64_t seed)
{
    static party p[RN];
    static ref_party r[RN];
    gpusim__gpu_fence f;
    gpusim_world_t *w = test_world(seed);
    parties_init(p, RN);
    memset(r, 0, sizeof r);
    gpusim__gpu_fence_init(&f, 0);
    uint64_t s = seed, order = 0, digest = 0;
    for (int step = 0; step < RSTEPS; step++) {
        int i = (int)(lcg(&s) % RN);
        uint64_t op = lcg(&s) % 10;
        if (op < 5 && !r[i].waiting && !gpusim__gpu_fence_waiter_waiting(&p[i].fw)) {
            uint64_t target = f.value + lcg(&s) % 8;
            gpusim_time_t timeout = lcg(&s) % 3 == 0 ? FOREVER : lcg(&s) % 400;
            int rc = wait(w, &f, target, &p[i], timeout);
            if (target <= f.value) {
                assert_int_equal(rc, 0);
            } else if (timeout == 0) {
                assert_int_equal(rc, GPUSIM_EFENCETIMEDOUT);
            } else {
                assert_int_equal(rc, GPUSIM_EINPROGRESS);
                r[i] = (ref_party){true, target,
                                   timeout == FOREVER ? FOREVER : gpusim_world_now(w) + timeout,
                                   order++, r[i].expect_calls};
            }
        } else if (op < 7) {
            uint64_t v = f.value + 1 + lcg(&s) % 3;
            ASSERT_OK(gpusim__gpu_fence_signal(w, &f, v));
            for (int k = 0; k < RN; k++)
                if (r[k].waiting && r[k].target <= v) {
                    r[k].waiting = false;
                    r[k].expect_calls++;
                }
        } else if (op < 8 && r[i].waiting) {
            ASSERT_OK(gpusim__gpu_fence_waiter_cancel(w, &p[i].fw));
            r[i].waiting = false;
        } else {
            /* Let time pass: deadlines that expire strictly before the target time fire. */
            gpusim_time_t until = gpusim_world_now(w) + lcg(&s) % 120;
            for (int k = 0; k < RN; k++)
                if (r[k].waiting && r[k].dl <= until) {
                    r[k].waiting = false;
                    r[k].expect_calls++;
                }
            ASSERT_OK(gpusim_world_run_until(w, until));
        }
        ASSERT_OK(gpusim_world_run_until(w, gpusim_world_now(w))); /* deliver wake-ups */
        assert_true(gpusim__gpu_fence_check(w, &f));
        assert_true(gpusim__queue_check(&w->queue, w));
        for (int k = 0; k < RN; k++) {
            assert_int_equal(p[k].calls, r[k].expect_calls);
            assert_int_equal(gpusim__gpu_fence_waiter_waiting(&p[k].fw), r[k].waiting);
        }
    }
    for (int k = 0; k < nlog; k++)
        digest = digest * 1000003 + (uint64_t)wlog[k].id * 7 + (uint64_t)(wlog[k].status & 0xff) +
                 wlog[k].at;
    assert_true(f.timeouts > 0 && f.woken > 0 && f.cancels > 0 && f.immediate > 0);
    for (int k = 0; k < RN; k++)
        if (gpusim__gpu_fence_waiter_waiting(&p[k].fw))
            ASSERT_OK(gpusim__gpu_fence_waiter_cancel(w, &p[k].fw));
    gpusim_world_free(w);
    return digest;
}

static void test_random_against_reference_and_deterministic(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        static wake_rec first[sizeof wlog / sizeof wlog[0]];
        uint64_t a = run_random(seed);
        int n = nlog;
        assert_true(n > 100 && n < (int)(sizeof wlog / sizeof wlog[0]));
        memcpy(first, wlog, (size_t)n * sizeof first[0]);
        uint64_t b = run_random(seed);
        assert_true(a == b);
        assert_int_equal(n, nlog);
        assert_memory_equal(first, wlog, (size_t)n * sizeof first[0]);
    }
    ASSERT_NO_LEAK();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        GPUSIM_TEST(test_wait_for_a_reached_value_returns_at_once),
        GPUSIM_TEST(test_signal_wakes_by_target_then_arrival_at_signal_time),
        GPUSIM_TEST(test_signal_must_increase_the_value),
        GPUSIM_TEST(test_timeout_dequeues_the_waiter),
        GPUSIM_TEST(test_signal_before_the_deadline_wins),
        GPUSIM_TEST(test_timeout_zero_polls_and_forever_reserves),
        GPUSIM_TEST(test_error_wakes_waiters_and_refuses_later_calls),
        GPUSIM_TEST(test_signal_at_and_its_cancellation),
        GPUSIM_TEST(test_cancel_in_every_waiting_state),
        GPUSIM_TEST(test_callback_may_wait_again),
        GPUSIM_TEST(test_signal_cannot_fail_for_memory),
        GPUSIM_TEST(test_waiters_belong_to_one_world),
        GPUSIM_TEST(test_bad_arguments),
        GPUSIM_TEST(test_check_detects_corruption),
        GPUSIM_TEST(test_random_against_reference_and_deterministic),
    };
    return cmocka_run_group_tests_name("gpu_fence", tests, NULL, NULL);
}
