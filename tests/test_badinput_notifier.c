/*
 * test_badinput_notifier.c -- the bad-input catalogue of notifier.h: domains, subscriptions, the
 * read side and the invalidation side of the MMU-notifier shim.
 *
 * Every public function of notifier.h is called with each kind of bad argument that applies (NULL,
 * zero or wrapping lengths, empty ranges, enum values past the last, retired states such as an
 * invalidation ended twice or a subscription removed twice, calls from inside a callback) and must
 * return exactly the error its header documents, change nothing observable (the domain's sequence,
 * subscription count and active count, the world's queue and statistics count) and leave the
 * domain usable (its internal check passes, a good invalidation reaches its subscriptions, nothing
 * leaks). docs/reliability.md §3 states the rules.
 */
#include "badinput_util.h"
#include "core/event.h"
#include "core/stats.h"
#include "core/world.h"
#include "notifier/notifier.h"

typedef struct nsnap {
    uint64_t seq;
    size_t count, active, pending, stats;
} nsnap;

static nsnap snap(const gpusim_notifier_t *n, const gpusim_world_t *w)
{
    nsnap s = {gpusim_notifier_seq(n), gpusim_notifier_count(n), gpusim_notifier_active(n),
               gpusim_world_pending(w), gpusim_stats_count(w)};
    return s;
}

static void assert_same(const nsnap *a, const nsnap *b)
{
    assert_true(a->seq == b->seq);
    assert_true(a->count == b->count);
    assert_true(a->active == b->active);
    assert_true(a->pending == b->pending);
    assert_true(a->stats == b->stats);
}

/* What the subscription callback below does, set by each test. */
static int calls;
static gpusim_completion_t *wait_on_next;
static int (*inside)(gpusim_notifier_sub_t *sub); /* a bad call made from inside the callback */
static int inside_rc;

static gpusim_notifier_answer_t on_invalidate(gpusim_notifier_sub_t *sub,
                                              const gpusim_notifier_range_t *range,
                                              uint64_t cur_seq, gpusim_completion_t **wait_on)
{
    (void)range;
    calls++;
    gpusim_notifier_set_seq(sub, cur_seq);
    if (inside != NULL)
        inside_rc = inside(sub);
    if (wait_on_next != NULL) {
        *wait_on = wait_on_next;
        return GPUSIM_NOTIFIER_WAIT;
    }
    return GPUSIM_NOTIFIER_DONE;
}

static int proceeded;

static void on_proceed(gpusim_world_t *w, gpusim_invalidation_t *inv, int status)
{
    (void)w;
    (void)inv;
    assert_int_equal(status, 0);
    proceeded++;
}

static void on_wake(gpusim_world_t *w, gpusim_waiter_t *waiter)
{
    (void)w;
    (void)waiter;
}

static gpusim_notifier_range_t range_of(uint64_t start, uint64_t end)
{
    gpusim_notifier_range_t r = {start, end, GPUSIM_NOTIFY_UNMAP, GPUSIM_INVALIDATOR_OTHER,
                                 true,  NULL};
    return r;
}

/* The domain still works: it is consistent, and an invalidation over `sub` reaches it. */
static void domain_usable(gpusim_notifier_t *n, gpusim_world_t *w, gpusim_notifier_sub_t *sub)
{
    assert_true(gpusim__notifier_check(n));
    assert_true(gpusim__queue_check(&w->queue, w));
    if (sub != NULL) {
        uint64_t start, end, seq;
        gpusim_invalidation_t inv;
        gpusim_notifier_range_t r;
        ASSERT_OK(gpusim_notifier_sub_range(sub, &start, &end));
        r = range_of(start, start + 1);
        int before = calls;
        ASSERT_OK(gpusim_notifier_read_begin(sub, &seq, NULL, NULL, NULL));
        gpusim_invalidation_init(&inv);
        ASSERT_OK(gpusim_notifier_invalidate_start(n, &inv, &r, on_proceed, NULL));
        ASSERT_OK(gpusim_notifier_invalidate_end(&inv));
        assert_int_equal(calls, before + 1);
        assert_true(gpusim_notifier_read_retry(sub, seq));
    }
    assert_true(gpusim__notifier_check(n));
}

static void test_names(void **state)
{
    (void)state;
    BAD_EQ(strcmp(gpusim_notifier_event_name(GPUSIM_NOTIFY_COUNT), "?"), 0);
    BAD_EQ(strcmp(gpusim_notifier_event_name((gpusim_notifier_event_t)-1), "?"), 0);
    BAD_EQ(strcmp(gpusim_notifier_event_name((gpusim_notifier_event_t)1000), "?"), 0);
    BAD_EQ(strcmp(gpusim_invalidator_name(GPUSIM_INVALIDATOR_COUNT), "?"), 0);
    BAD_EQ(strcmp(gpusim_invalidator_name((gpusim_invalidator_t)-1), "?"), 0);
    BAD_EQ(strcmp(gpusim_invalidator_name((gpusim_invalidator_t)1000), "?"), 0);
    assert_string_equal(gpusim_notifier_event_name(GPUSIM_NOTIFY_UNMAP), "unmap");
}

static void test_domain(void **state)
{
    (void)state;
    gpusim_world_t *w = test_world(1);
    gpusim_notifier_t *n, *out = (gpusim_notifier_t *)&w;
    gpusim_notifier_t *const sentinel = out;
    gpusim_notifier_sub_t *sub;

    BAD(gpusim_notifier_new(NULL, &out), GPUSIM_EINVAL);
    BAD(gpusim_notifier_new(w, NULL), GPUSIM_EINVAL);
    assert_ptr_equal(out, sentinel);
    BAD(gpusim_notifier_free(NULL), GPUSIM_EINVAL);

    /* Getters on NULL. */
    BAD_EQ(gpusim_notifier_count(NULL), 0);
    BAD_EQ(gpusim_notifier_seq(NULL), 0);
    BAD_EQ(gpusim_notifier_active(NULL), 0);

    /* Freeing a domain in use: subscriptions remain; an invalidation runs. */
    ASSERT_OK(gpusim_notifier_new(w, &n));
    ASSERT_OK(gpusim_notifier_insert(n, 0x1000, 0x1000, on_invalidate, NULL, &sub));
    nsnap before = snap(n, w);
    BAD(gpusim_notifier_free(n), GPUSIM_EBUSY);
    nsnap after = snap(n, w);
    assert_same(&before, &after);
    ASSERT_OK(gpusim_notifier_remove(sub, NULL, NULL, NULL));

    gpusim_invalidation_t inv;
    gpusim_notifier_range_t r = range_of(0, 0x1000);
    gpusim_invalidation_init(&inv);
    ASSERT_OK(gpusim_notifier_invalidate_start(n, &inv, &r, on_proceed, NULL));
    BAD(gpusim_notifier_free(n), GPUSIM_EBUSY);
    ASSERT_OK(gpusim_notifier_invalidate_end(&inv));
    domain_usable(n, w, NULL);
    ASSERT_OK(gpusim_notifier_free(n));
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

static void test_insert(void **state)
{
    (void)state;
    gpusim_world_t *w = test_world(1);
    gpusim_notifier_t *n;
    gpusim_notifier_sub_t *sub, *out = (gpusim_notifier_sub_t *)&w;
    gpusim_notifier_sub_t *const sentinel = out;
    ASSERT_OK(gpusim_notifier_new(w, &n));
    ASSERT_OK(gpusim_notifier_insert(n, 0x1000, 0x1000, on_invalidate, NULL, &sub));
    nsnap before = snap(n, w);

    BAD(gpusim_notifier_insert(NULL, 0, 1, on_invalidate, NULL, &out), GPUSIM_EINVAL);
    BAD(gpusim_notifier_insert(n, 0, 1, NULL, NULL, &out), GPUSIM_EINVAL);
    BAD(gpusim_notifier_insert(n, 0, 1, on_invalidate, NULL, NULL), GPUSIM_EINVAL);
    BAD(gpusim_notifier_insert(n, 0x1000, 0, on_invalidate, NULL, &out), GPUSIM_EINVAL);
    /* Ranges that wrap past 2^64. */
    BAD(gpusim_notifier_insert(n, UINT64_MAX, 2, on_invalidate, NULL, &out), GPUSIM_EOVERFLOW);
    BAD(gpusim_notifier_insert(n, 2, UINT64_MAX, on_invalidate, NULL, &out), GPUSIM_EOVERFLOW);
    BAD(gpusim_notifier_insert(n, UINT64_MAX - 0xfff, 0x2000, on_invalidate, NULL, &out),
        GPUSIM_EOVERFLOW);
    assert_ptr_equal(out, sentinel);
    nsnap after = snap(n, w);
    assert_same(&before, &after);

    /* The whole address space is a valid range (end 0 meaning 2^64). */
    gpusim_notifier_sub_t *all;
    uint64_t start, end;
    ASSERT_OK(gpusim_notifier_insert(n, 0, UINT64_MAX, on_invalidate, NULL, &all));
    ASSERT_OK(gpusim_notifier_sub_range(all, &start, &end));
    assert_true(start == 0 && end == UINT64_MAX);
    ASSERT_OK(gpusim_notifier_remove(all, NULL, NULL, NULL));

    domain_usable(n, w, sub);
    ASSERT_OK(gpusim_notifier_remove(sub, NULL, NULL, NULL));
    ASSERT_OK(gpusim_notifier_free(n));
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

static void test_sub_getters(void **state)
{
    (void)state;
    gpusim_world_t *w = test_world(1);
    gpusim_notifier_t *n;
    gpusim_notifier_sub_t *sub;
    uint64_t start = 0x5a, end = 0x5a;
    ASSERT_OK(gpusim_notifier_new(w, &n));
    ASSERT_OK(gpusim_notifier_insert(n, 0x1000, 0x1000, on_invalidate, &start, &sub));

    BAD_EQ(gpusim_notifier_sub_data(NULL), NULL);
    BAD(gpusim_notifier_sub_range(NULL, &start, &end), GPUSIM_EINVAL);
    BAD(gpusim_notifier_sub_range(sub, NULL, &end), GPUSIM_EINVAL);
    BAD(gpusim_notifier_sub_range(sub, &start, NULL), GPUSIM_EINVAL);
    assert_true(start == 0x5a && end == 0x5a);
    BAD_EQ(gpusim_notifier_read_retry(NULL, 0), true);
    BAD_VOID(gpusim_notifier_set_seq(NULL, 1));

    domain_usable(n, w, sub);
    ASSERT_OK(gpusim_notifier_remove(sub, NULL, NULL, NULL));
    ASSERT_OK(gpusim_notifier_free(n));
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* Bad calls made from inside a subscription callback: each is GPUSIM_EDEADLK. */
static gpusim_notifier_t *cb_domain;
static gpusim_notifier_sub_t *cb_other;
static gpusim_waiter_t cb_waiter;

static int insert_inside(gpusim_notifier_sub_t *sub)
{
    (void)sub;
    gpusim_notifier_sub_t *s;
    return gpusim_notifier_insert(cb_domain, 0x9000, 0x1000, on_invalidate, NULL, &s);
}

static int remove_inside(gpusim_notifier_sub_t *sub)
{
    return gpusim_notifier_remove(sub, NULL, NULL, NULL);
}

static int remove_other_inside(gpusim_notifier_sub_t *sub)
{
    (void)sub;
    return gpusim_notifier_remove(cb_other, &cb_waiter, on_wake, NULL);
}

static int read_inside(gpusim_notifier_sub_t *sub)
{
    uint64_t seq;
    return gpusim_notifier_read_begin(sub, &seq, &cb_waiter, on_wake, NULL);
}

static int start_inside(gpusim_notifier_sub_t *sub)
{
    (void)sub;
    gpusim_invalidation_t inv;
    gpusim_notifier_range_t r = range_of(0x9000, 0xa000);
    gpusim_invalidation_init(&inv);
    return gpusim_notifier_invalidate_start(cb_domain, &inv, &r, on_proceed, NULL);
}

static void test_from_callback(void **state)
{
    (void)state;
    int (*const bad[])(gpusim_notifier_sub_t *) = {insert_inside, remove_inside,
                                                   remove_other_inside, read_inside, start_inside};
    gpusim_world_t *w = test_world(1);
    gpusim_notifier_sub_t *sub;
    ASSERT_OK(gpusim_notifier_new(w, &cb_domain));
    ASSERT_OK(gpusim_notifier_insert(cb_domain, 0x1000, 0x1000, on_invalidate, NULL, &sub));
    ASSERT_OK(gpusim_notifier_insert(cb_domain, 0x8000, 0x1000, on_invalidate, NULL, &cb_other));
    gpusim_waiter_init(&cb_waiter);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        gpusim_invalidation_t inv;
        gpusim_notifier_range_t r = range_of(0x1000, 0x2000);
        size_t count = gpusim_notifier_count(cb_domain);
        inside = bad[i];
        inside_rc = 0;
        gpusim_invalidation_init(&inv);
        ASSERT_OK(gpusim_notifier_invalidate_start(cb_domain, &inv, &r, on_proceed, NULL));
        inside = NULL;
        badinput_calls_++;
        assert_int_equal(inside_rc, GPUSIM_EDEADLK);
        ASSERT_OK(gpusim_notifier_invalidate_end(&inv));
        assert_int_equal(gpusim_notifier_count(cb_domain), count);
        assert_false(gpusim_waiter_waiting(&cb_waiter));
    }
    domain_usable(cb_domain, w, sub);
    domain_usable(cb_domain, w, cb_other);
    ASSERT_OK(gpusim_notifier_remove(sub, NULL, NULL, NULL));
    ASSERT_OK(gpusim_notifier_remove(cb_other, NULL, NULL, NULL));
    ASSERT_OK(gpusim_notifier_free(cb_domain));
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

static void test_remove(void **state)
{
    (void)state;
    gpusim_world_t *w = test_world(1);
    gpusim_notifier_t *n;
    gpusim_notifier_sub_t *sub, *keep;
    gpusim_waiter_t waiter, busy;
    gpusim_completion_t fence;
    gpusim_invalidation_t inv;
    gpusim_notifier_range_t r = range_of(0x1000, 0x2000);
    ASSERT_OK(gpusim_notifier_new(w, &n));
    ASSERT_OK(gpusim_notifier_insert(n, 0x1000, 0x1000, on_invalidate, NULL, &sub));
    ASSERT_OK(gpusim_notifier_insert(n, 0x1000, 0x1000, on_invalidate, NULL, &keep));
    gpusim_waiter_init(&waiter);
    gpusim_waiter_init(&busy);
    gpusim_completion_init(&fence, NULL);

    BAD(gpusim_notifier_remove(NULL, NULL, NULL, NULL), GPUSIM_EINVAL);
    BAD(gpusim_notifier_remove(sub, &waiter, NULL, NULL), GPUSIM_EINVAL); /* waiter, no cb */
    assert_int_equal(gpusim_notifier_count(n), 2);

    /* During an invalidation (the domain is odd): a waiter that is already waiting is EBUSY; a
     * deferred removal, removed again, is EINVAL (it is being removed). */
    wait_on_next = &fence;
    gpusim_invalidation_init(&inv);
    assert_int_equal(gpusim_notifier_invalidate_start(n, &inv, &r, on_proceed, NULL),
                     GPUSIM_EINPROGRESS);
    wait_on_next = NULL;
    assert_int_equal(gpusim_completion_wait(w, &fence, &busy, on_wake, NULL), GPUSIM_EINPROGRESS);
    nsnap before = snap(n, w);
    BAD(gpusim_notifier_remove(sub, &busy, on_wake, NULL), GPUSIM_EBUSY);
    nsnap after = snap(n, w);
    assert_same(&before, &after);
    assert_int_equal(gpusim_notifier_remove(sub, &waiter, on_wake, NULL), GPUSIM_EINPROGRESS);
    before = snap(n, w);
    BAD(gpusim_notifier_remove(sub, NULL, NULL, NULL), GPUSIM_EINVAL);
    BAD(gpusim_notifier_remove(sub, &waiter, on_wake, NULL), GPUSIM_EINVAL);
    after = snap(n, w);
    assert_same(&before, &after);

    /* invalidate_end while the start still waits: EBUSY; then the whole thing completes. */
    BAD(gpusim_notifier_invalidate_end(&inv), GPUSIM_EBUSY);
    ASSERT_OK(gpusim_completion_signal(w, &fence));
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(proceeded, 1);
    ASSERT_OK(gpusim_notifier_invalidate_end(&inv));
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(gpusim_notifier_count(n), 1);
    assert_false(gpusim_waiter_waiting(&waiter));

    domain_usable(n, w, keep);
    ASSERT_OK(gpusim_notifier_remove(keep, NULL, NULL, NULL));
    ASSERT_OK(gpusim_notifier_free(n));
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

static void test_read_begin(void **state)
{
    (void)state;
    gpusim_world_t *w = test_world(1);
    gpusim_notifier_t *n;
    gpusim_notifier_sub_t *sub;
    gpusim_waiter_t waiter, busy;
    gpusim_completion_t other;
    uint64_t seq = 0x5a;
    gpusim_invalidation_t inv;
    gpusim_notifier_range_t r = range_of(0x1000, 0x2000);
    ASSERT_OK(gpusim_notifier_new(w, &n));
    ASSERT_OK(gpusim_notifier_insert(n, 0x1000, 0x1000, on_invalidate, NULL, &sub));
    gpusim_waiter_init(&waiter);
    gpusim_waiter_init(&busy);
    gpusim_completion_init(&other, NULL);

    BAD(gpusim_notifier_read_begin(NULL, &seq, NULL, NULL, NULL), GPUSIM_EINVAL);
    BAD(gpusim_notifier_read_begin(sub, NULL, NULL, NULL, NULL), GPUSIM_EINVAL);
    BAD(gpusim_notifier_read_begin(sub, &seq, &waiter, NULL, NULL), GPUSIM_EINVAL);
    assert_true(seq == 0x5a);

    /* An invalidation over it is running: without a waiter EAGAIN; with a waiter that is waiting
     * elsewhere, EBUSY. Nothing is queued. */
    gpusim_invalidation_init(&inv);
    ASSERT_OK(gpusim_notifier_invalidate_start(n, &inv, &r, on_proceed, NULL));
    assert_int_equal(gpusim_completion_wait(w, &other, &busy, on_wake, NULL), GPUSIM_EINPROGRESS);
    nsnap before = snap(n, w);
    BAD(gpusim_notifier_read_begin(sub, &seq, NULL, NULL, NULL), GPUSIM_EAGAIN);
    BAD(gpusim_notifier_read_begin(sub, &seq, &busy, on_wake, NULL), GPUSIM_EBUSY);
    nsnap after = snap(n, w);
    assert_same(&before, &after);
    ASSERT_OK(gpusim_notifier_invalidate_end(&inv));
    ASSERT_OK(gpusim_waiter_cancel(w, &busy));

    domain_usable(n, w, sub);
    ASSERT_OK(gpusim_notifier_remove(sub, NULL, NULL, NULL));
    ASSERT_OK(gpusim_notifier_free(n));
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

static void test_invalidate(void **state)
{
    (void)state;
    gpusim_world_t *w = test_world(1);
    gpusim_notifier_t *n;
    gpusim_notifier_sub_t *sub;
    gpusim_invalidation_t inv, busy;
    gpusim_notifier_range_t r;
    ASSERT_OK(gpusim_notifier_new(w, &n));
    ASSERT_OK(gpusim_notifier_insert(n, 0x1000, 0x1000, on_invalidate, NULL, &sub));
    gpusim_invalidation_init(&inv);
    gpusim_invalidation_init(&busy);
    BAD_VOID(gpusim_invalidation_init(NULL));
    BAD_EQ(gpusim_invalidation_active(NULL), false);
    nsnap before = snap(n, w);
    int c0 = calls;

    r = range_of(0x1000, 0x2000);
    BAD(gpusim_notifier_invalidate_start(NULL, &inv, &r, on_proceed, NULL), GPUSIM_EINVAL);
    BAD(gpusim_notifier_invalidate_start(n, NULL, &r, on_proceed, NULL), GPUSIM_EINVAL);
    BAD(gpusim_notifier_invalidate_start(n, &inv, NULL, on_proceed, NULL), GPUSIM_EINVAL);
    BAD(gpusim_notifier_invalidate_start(n, &inv, &r, NULL, NULL), GPUSIM_EINVAL);
    /* Empty and reversed ranges. */
    r = range_of(0x1000, 0x1000);
    BAD(gpusim_notifier_invalidate_start(n, &inv, &r, on_proceed, NULL), GPUSIM_EINVAL);
    r = range_of(0x2000, 0x1000);
    BAD(gpusim_notifier_invalidate_start(n, &inv, &r, on_proceed, NULL), GPUSIM_EINVAL);
    r = range_of(UINT64_MAX, 0);
    BAD(gpusim_notifier_invalidate_start(n, &inv, &r, on_proceed, NULL), GPUSIM_EINVAL);
    /* Event and invalidator past the last, and negative. */
    const int bad_enum[] = {-1, 1000};
    for (size_t i = 0; i < 2; i++) {
        r = range_of(0x1000, 0x2000);
        r.event = (gpusim_notifier_event_t)bad_enum[i];
        BAD(gpusim_notifier_invalidate_start(n, &inv, &r, on_proceed, NULL), GPUSIM_EINVAL);
        r = range_of(0x1000, 0x2000);
        r.invalidator = (gpusim_invalidator_t)bad_enum[i];
        BAD(gpusim_notifier_invalidate_start(n, &inv, &r, on_proceed, NULL), GPUSIM_EINVAL);
    }
    r = range_of(0x1000, 0x2000);
    r.event = GPUSIM_NOTIFY_COUNT;
    BAD(gpusim_notifier_invalidate_start(n, &inv, &r, on_proceed, NULL), GPUSIM_EINVAL);
    r = range_of(0x1000, 0x2000);
    r.invalidator = GPUSIM_INVALIDATOR_COUNT;
    BAD(gpusim_notifier_invalidate_start(n, &inv, &r, on_proceed, NULL), GPUSIM_EINVAL);
    assert_false(gpusim_invalidation_active(&inv));

    /* invalidate_end of NULL and of one never started. */
    BAD(gpusim_notifier_invalidate_end(NULL), GPUSIM_EINVAL);
    BAD(gpusim_notifier_invalidate_end(&inv), GPUSIM_EINVAL);
    nsnap after = snap(n, w);
    assert_same(&before, &after);
    assert_int_equal(calls, c0);

    /* An active invalidation started again: EBUSY, nobody called; ended twice: EINVAL. */
    r = range_of(0x1000, 0x2000);
    ASSERT_OK(gpusim_notifier_invalidate_start(n, &busy, &r, on_proceed, NULL));
    before = snap(n, w);
    c0 = calls;
    BAD(gpusim_notifier_invalidate_start(n, &busy, &r, on_proceed, NULL), GPUSIM_EBUSY);
    after = snap(n, w);
    assert_same(&before, &after);
    assert_int_equal(calls, c0);
    ASSERT_OK(gpusim_notifier_invalidate_end(&busy));
    before = snap(n, w);
    BAD(gpusim_notifier_invalidate_end(&busy), GPUSIM_EINVAL);
    after = snap(n, w);
    assert_same(&before, &after);

    domain_usable(n, w, sub);
    ASSERT_OK(gpusim_notifier_remove(sub, NULL, NULL, NULL));
    ASSERT_OK(gpusim_notifier_free(n));
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        GPUSIM_TEST(test_names),       GPUSIM_TEST(test_domain),        GPUSIM_TEST(test_insert),
        GPUSIM_TEST(test_sub_getters), GPUSIM_TEST(test_from_callback), GPUSIM_TEST(test_remove),
        GPUSIM_TEST(test_read_begin),  GPUSIM_TEST(test_invalidate),
    };
    return cmocka_run_group_tests(tests, NULL, badinput_report);
}
