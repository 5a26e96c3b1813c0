/*
 * tests/test_completion.c -- completions and waiters: waking in virtual time, FIFO order, signal
 * at a time, reset, cancel in both waiting states, the reservation that makes signal infallible,
 * and bad arguments.
 */
#include "test_util.h"

#include "core/event.h"
#include "core/world.h"

#define MAX_WOKEN 64

typedef struct party {
    gpusim_waiter_t waiter;
    int id;
} party_t;

static int woken_ids[MAX_WOKEN];
static gpusim_time_t woken_at[MAX_WOKEN];
static size_t nwoken;

static void on_wake(gpusim_world_t *w, gpusim_waiter_t *waiter)
{
    party_t *p = waiter->data;
    assert_false(gpusim_waiter_waiting(waiter)); /* idle again when its callback runs */
    assert_true(nwoken < MAX_WOKEN);
    woken_ids[nwoken] = p->id;
    woken_at[nwoken] = gpusim_world_now(w);
    nwoken++;
}

static void parties_init(party_t *p, int n)
{
    for (int i = 0; i < n; i++) {
        gpusim_waiter_init(&p[i].waiter);
        p[i].id = i;
    }
    nwoken = 0;
}

static void test_signal_wakes_waiters_in_order_at_signal_time(void **state)
{
    (void)state;
    party_t p[4];
    gpusim_completion_t c;
    gpusim_world_t *w = test_world(1);
    parties_init(p, 4);
    gpusim_completion_init(&c, NULL);
    assert_false(gpusim_completion_done(&c));
    assert_int_equal(gpusim_completion_time(&c), GPUSIM_TIME_MAX);
    for (int i = 0; i < 4; i++) {
        ASSERT_OK(gpusim_world_run_until(w, (gpusim_time_t)(10 * i)));
        ASSERT_ERR(gpusim_completion_wait(w, &c, &p[i].waiter, on_wake, &p[i]), GPUSIM_EINPROGRESS);
        assert_true(gpusim_waiter_waiting(&p[i].waiter));
        assert_int_equal(gpusim_waiter_since(&p[i].waiter), 10 * i);
    }
    ASSERT_OK(gpusim_world_run_until(w, 100));
    assert_int_equal(nwoken, 0); /* nothing happens before the signal */
    ASSERT_OK(gpusim_completion_signal(w, &c));
    assert_true(gpusim_completion_done(&c));
    assert_int_equal(gpusim_completion_time(&c), 100);
    assert_int_equal(nwoken, 0); /* woken through events, never inside the signaller */
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(nwoken, 4);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(woken_ids[i], i); /* first come, first woken */
        assert_int_equal(woken_at[i], 100);
    }
    ASSERT_OK(gpusim_completion_signal(w, &c)); /* twice: a no-op */
    assert_int_equal(gpusim_completion_time(&c), 100);
    /* Waiting on a done completion returns at once, without the callback. */
    ASSERT_OK(gpusim_completion_wait(w, &c, &p[0].waiter, on_wake, &p[0]));
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(nwoken, 4);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

static void test_signal_at(void **state)
{
    (void)state;
    party_t p[1];
    gpusim_completion_t c;
    gpusim_world_t *w = test_world(1);
    parties_init(p, 1);
    gpusim_completion_init(&c, NULL);
    ASSERT_OK(gpusim_completion_signal_at(w, &c, 5000));
    ASSERT_ERR(gpusim_completion_signal_at(w, &c, 6000), GPUSIM_EBUSY); /* already scheduled */
    ASSERT_ERR(gpusim_completion_wait(w, &c, &p[0].waiter, on_wake, &p[0]), GPUSIM_EINPROGRESS);
    ASSERT_ERR(gpusim_completion_reset(&c), GPUSIM_EBUSY); /* in use */
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(nwoken, 1);
    assert_int_equal(woken_at[0], 5000);
    assert_int_equal(gpusim_completion_time(&c), 5000);
    ASSERT_ERR(gpusim_completion_signal_at(w, &c, 9000), GPUSIM_EBUSY); /* already done */

    /* Reset makes it reusable; a past time is refused. */
    ASSERT_OK(gpusim_completion_reset(&c));
    assert_false(gpusim_completion_done(&c));
    ASSERT_ERR(gpusim_completion_signal_at(w, &c, 4999), GPUSIM_EINVAL);
    ASSERT_OK(gpusim_completion_signal_at(w, &c, 8000));
    /* An early signal cancels the scheduled one. */
    ASSERT_OK(gpusim_world_run_until(w, 6000));
    ASSERT_OK(gpusim_completion_signal(w, &c));
    assert_int_equal(gpusim_completion_time(&c), 6000);
    assert_int_equal(gpusim_world_pending(w), 0);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

static void test_cancel_in_both_waiting_states(void **state)
{
    (void)state;
    party_t p[3];
    gpusim_completion_t c;
    gpusim_world_t *w = test_world(1);
    parties_init(p, 3);
    gpusim_completion_init(&c, NULL);
    for (int i = 0; i < 3; i++)
        ASSERT_ERR(gpusim_completion_wait(w, &c, &p[i].waiter, on_wake, &p[i]), GPUSIM_EINPROGRESS);
    assert_int_equal(w->queue.reserved, 3);
    /* Queued: cancel the middle one; its reservation is returned. */
    ASSERT_OK(gpusim_waiter_cancel(w, &p[1].waiter));
    assert_false(gpusim_waiter_waiting(&p[1].waiter));
    assert_int_equal(w->queue.reserved, 2);
    ASSERT_ERR(gpusim_waiter_cancel(w, &p[1].waiter), GPUSIM_ENOENT);
    ASSERT_OK(gpusim_completion_signal(w, &c));
    assert_int_equal(w->queue.reserved, 0); /* spent on the wake-ups */
    /* Woken but not yet run: cancel the last one. */
    ASSERT_OK(gpusim_waiter_cancel(w, &p[2].waiter));
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(nwoken, 1);
    assert_int_equal(woken_ids[0], 0);
    /* A cancelled waiter can wait again. */
    ASSERT_OK(gpusim_completion_reset(&c));
    ASSERT_ERR(gpusim_completion_wait(w, &c, &p[1].waiter, on_wake, &p[1]), GPUSIM_EINPROGRESS);
    ASSERT_ERR(gpusim_completion_wait(w, &c, &p[1].waiter, on_wake, &p[1]), GPUSIM_EBUSY);
    ASSERT_OK(gpusim_completion_signal(w, &c));
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(nwoken, 2);
    assert_int_equal(woken_ids[1], 1);
    assert_true(gpusim__queue_check(&w->queue, w));
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

static void test_signal_cannot_fail_for_memory(void **state)
{
    (void)state;
    enum { N = 40 };
    party_t p[N];
    gpusim_completion_t c;
    gpusim_world_config_t cfg;
    gpusim_world_t *w;
    gpusim_world_config_init(&cfg);
    cfg.event_capacity = 1; /* every reservation beyond 8 entries must grow the queue */
    ASSERT_OK(gpusim_world_new(&cfg, &w));
    parties_init(p, N);
    gpusim_completion_init(&c, NULL);
    for (int i = 0; i < N; i++) {
        if (w->queue.n + w->queue.reserved == w->queue.cap) {
            /* The reservation is where memory can run out, and the wait then changes nothing. */
            gpusim__alloc_fail_nth(1);
            ASSERT_ERR(gpusim_completion_wait(w, &c, &p[i].waiter, on_wake, &p[i]), GPUSIM_ENOMEM);
            assert_false(gpusim_waiter_waiting(&p[i].waiter));
        }
        ASSERT_ERR(gpusim_completion_wait(w, &c, &p[i].waiter, on_wake, &p[i]), GPUSIM_EINPROGRESS);
    }
    /* With every allocation failing, the signal still wakes everyone. */
    gpusim__alloc_fail_nth(1);
    ASSERT_OK(gpusim_completion_signal(w, &c));
    assert_false(gpusim__alloc_fail_fired());
    gpusim__alloc_fail_nth(0);
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(nwoken, N);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

static void test_bad_arguments(void **state)
{
    (void)state;
    party_t p[1];
    gpusim_completion_t c;
    gpusim_world_t *w = test_world(1);
    parties_init(p, 1);
    gpusim_completion_init(&c, NULL);
    gpusim_completion_init(NULL, NULL);
    gpusim_waiter_init(NULL);
    assert_false(gpusim_completion_done(NULL));
    assert_false(gpusim_waiter_waiting(NULL));
    assert_int_equal(gpusim_completion_time(NULL), GPUSIM_TIME_MAX);
    ASSERT_ERR(gpusim_completion_signal(NULL, &c), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_completion_signal(w, NULL), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_completion_signal_at(w, NULL, 1), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_completion_reset(NULL), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_completion_wait(w, &c, &p[0].waiter, NULL, NULL), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_completion_wait(w, &c, NULL, on_wake, NULL), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_completion_wait(NULL, &c, &p[0].waiter, on_wake, NULL), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_waiter_cancel(w, NULL), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_waiter_cancel(w, &p[0].waiter), GPUSIM_ENOENT);
    assert_false(gpusim_completion_done(&c));
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

static void test_waiters_belong_to_one_world(void **state)
{
    (void)state;
    party_t p[2];
    gpusim_completion_t c;
    gpusim_world_t *w1 = test_world(1), *w2 = test_world(1);
    parties_init(p, 2);
    gpusim_completion_init(&c, NULL);
    ASSERT_ERR(gpusim_completion_wait(w1, &c, &p[0].waiter, on_wake, &p[0]), GPUSIM_EINPROGRESS);
    /* Another world may not join, signal or cancel: its queue does not hold the reservation. */
    ASSERT_ERR(gpusim_completion_wait(w2, &c, &p[1].waiter, on_wake, &p[1]), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_completion_signal(w2, &c), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_waiter_cancel(w2, &p[0].waiter), GPUSIM_EINVAL);
    assert_false(gpusim_completion_done(&c));
    assert_true(gpusim_waiter_waiting(&p[0].waiter));
    assert_int_equal(w1->queue.reserved, 1);
    assert_int_equal(w2->queue.reserved, 0);
    ASSERT_OK(gpusim_completion_signal(w1, &c));
    ASSERT_OK(gpusim_world_run(w1));
    assert_int_equal(nwoken, 1);
    assert_true(gpusim__queue_check(&w1->queue, w1));
    assert_true(gpusim__queue_check(&w2->queue, w2));
    gpusim_world_free(w1);
    gpusim_world_free(w2);
    ASSERT_NO_LEAK();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        GPUSIM_TEST(test_signal_wakes_waiters_in_order_at_signal_time),
        GPUSIM_TEST(test_signal_at),
        GPUSIM_TEST(test_cancel_in_both_waiting_states),
        GPUSIM_TEST(test_signal_cannot_fail_for_memory),
        GPUSIM_TEST(test_waiters_belong_to_one_world),
        GPUSIM_TEST(test_bad_arguments),
    };
    return cmocka_run_group_tests_name("completion", tests, NULL, NULL);
}
