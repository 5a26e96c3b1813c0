/*
 * tests/test_notifier.c -- the MMU-notifier shim against Linux's mmu_interval_notifier semantics.
 *
 * Covers: range edge cases (exclusive ends, adjacency, zero length, wrap); the odd/even sequence
 * and every interleaving in the kernel's read_begin/read_retry explanation; inserts and removes
 * during invalidations (deferred, applied once, at the last end; forced-odd insert while partially
 * excluded); nested and concurrent invalidations; non-blockable refusal with balanced counts and no
 * early re-establishment (Linux bug: "ensure range_end() is paired with range_start()"); waits that
 * block the invalidator for exactly the completion time, per invalidator kind; remove from a
 * callback (EDEADLK); contract violations; sequence wrap-around; teardown; allocation failures; and
 * a randomized test against a brute-force reference with thousands of ranges.
 *
 * Test mirrors are `mirror_t`: a subscription whose callback records its calls and answers as told.
 */
#include "test_util.h"

#include <stdio.h>

#include "core/event.h"
#include "core/world.h"
#include "notifier/notifier.h"

/* ------------------------------------------------------------------------------------------- */
/* Test mirrors and invalidators                                                               */
/* ------------------------------------------------------------------------------------------- */

typedef struct mirror {
    gpusim_notifier_sub_t *sub;
    int id;
    gpusim_notifier_answer_t answer;     /* what the callback answers */
    gpusim_completion_t *wait_on;        /* for GPUSIM_NOTIFIER_WAIT */
    bool skip_set_seq;                   /* break the contract */
    bool remove_self;                    /* try to remove itself from the callback */
    gpusim_notifier_sub_t *remove_other; /* try to remove another from the callback */
    int remove_rc;                       /* what that remove returned */
    int reenter;                         /* 1: invalidate, 2: read_begin, 3: insert */
    gpusim_notifier_t *reenter_domain;   /* domain for `reenter` */
    int reenter_rc;                      /* what the re-entering call returned */
    bool free_world;                     /* free the world from the callback */
    int calls;
    uint64_t last_cur_seq;
    gpusim_notifier_range_t last_range;
    gpusim_time_t last_call_at;
} mirror_t;

/* Global call log: which mirror ids were called, in order. */
#define MAX_CALLS 100000
static int call_log[MAX_CALLS];
static size_t ncalls;

static gpusim_world_t *cur_world;

static void reenter_proceed(gpusim_world_t *w, gpusim_invalidation_t *inv, int status)
{
    (void)w;
    (void)inv;
    (void)status;
}

static gpusim_notifier_answer_t mirror_cb(gpusim_notifier_sub_t *sub,
                                          const gpusim_notifier_range_t *range, uint64_t cur_seq,
                                          gpusim_completion_t **wait_on)
{
    mirror_t *m = gpusim_notifier_sub_data(sub);
    assert_ptr_equal(sub, m->sub);
    assert_true(cur_seq & 1); /* callbacks always see an odd sequence */
    m->calls++;
    m->last_cur_seq = cur_seq;
    m->last_range = *range;
    m->last_call_at = gpusim_world_now(cur_world);
    if (ncalls < MAX_CALLS)
        call_log[ncalls++] = m->id;
    if (!m->skip_set_seq)
        gpusim_notifier_set_seq(sub, cur_seq);
    if (m->remove_self)
        m->remove_rc = gpusim_notifier_remove(sub, NULL, NULL, NULL);
    if (m->remove_other != NULL)
        m->remove_rc = gpusim_notifier_remove(m->remove_other, NULL, NULL, NULL);
    if (m->reenter != 0) {
        int mode = m->reenter;
        m->reenter = 0; /* one shot: a broken refusal must fail an assertion, not recurse */
        gpusim_invalidation_t inv;
        gpusim_notifier_range_t r = {0,    0x100000, GPUSIM_NOTIFY_CLEAR, GPUSIM_INVALIDATOR_OTHER,
                                     true, NULL};
        uint64_t seq;
        gpusim_notifier_sub_t *other;
        gpusim_invalidation_init(&inv);
        if (mode == 1) {
            m->reenter_rc = gpusim_notifier_invalidate_start(m->reenter_domain, &inv, &r,
                                                             reenter_proceed, NULL);
            if (m->reenter_rc == 0)
                gpusim_notifier_invalidate_end(&inv);
        } else if (mode == 2) {
            m->reenter_rc = gpusim_notifier_read_begin(sub, &seq, NULL, NULL, NULL);
        } else {
            m->reenter_rc =
                gpusim_notifier_insert(m->reenter_domain, 0x900000, 0x1000, mirror_cb, m, &other);
        }
    }
    if (m->free_world)
        gpusim_world_free(cur_world);
    if (m->answer == GPUSIM_NOTIFIER_WAIT)
        *wait_on = m->wait_on;
    return m->answer;
}

static void mirror_insert(gpusim_notifier_t *n, mirror_t *m, int id, uint64_t start, uint64_t len)
{
    memset(m, 0, sizeof(*m));
    m->id = id;
    m->answer = GPUSIM_NOTIFIER_DONE;
    ASSERT_OK(gpusim_notifier_insert(n, start, len, mirror_cb, m, &m->sub));
}

typedef struct invalidator {
    gpusim_invalidation_t inv;
    int proceeded;
    int status;
    gpusim_time_t proceeded_at;
} invalidator_t;

static void proceed(gpusim_world_t *w, gpusim_invalidation_t *inv, int status)
{
    invalidator_t *iv = inv->data;
    iv->proceeded++;
    iv->status = status;
    iv->proceeded_at = gpusim_world_now(w);
}

static gpusim_notifier_range_t range_of(uint64_t start, uint64_t end, gpusim_invalidator_t who,
                                        bool blockable)
{
    gpusim_notifier_range_t r = {start, end, GPUSIM_NOTIFY_UNMAP, who, blockable, NULL};
    return r;
}

/* Starts an invalidation by `who`; returns the start's result. */
static int start_inv(gpusim_notifier_t *n, invalidator_t *iv, uint64_t start, uint64_t end,
                     gpusim_invalidator_t who, bool blockable)
{
    gpusim_notifier_range_t r = range_of(start, end, who, blockable);
    memset(iv, 0, sizeof(*iv));
    gpusim_invalidation_init(&iv->inv);
    return gpusim_notifier_invalidate_start(n, &iv->inv, &r, proceed, iv);
}

typedef struct reader {
    gpusim_waiter_t waiter;
    int resumed;
    gpusim_time_t resumed_at;
} reader_t;

static void resume(gpusim_world_t *w, gpusim_waiter_t *waiter)
{
    reader_t *r = waiter->data;
    r->resumed++;
    r->resumed_at = gpusim_world_now(w);
}

static gpusim_world_t *setup(gpusim_notifier_t **n)
{
    gpusim_world_t *w = test_world(1);
    cur_world = w;
    ncalls = 0;
    ASSERT_OK(gpusim_notifier_new(w, n));
    return w;
}

/*
 * Ends a test: removes the listed mirrors' subscriptions (NULL-terminated), frees the domain (which
 * must then be empty and idle) and the world, and checks that nothing leaked.
 */
static void finish(gpusim_world_t *w, gpusim_notifier_t *n, mirror_t *const *mirrors)
{
    for (; *mirrors != NULL; mirrors++)
        ASSERT_OK(gpusim_notifier_remove((*mirrors)->sub, NULL, NULL, NULL));
    ASSERT_OK(gpusim_notifier_free(n));
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

#define FINISH(w, n, ...) finish((w), (n), (mirror_t *const[]){__VA_ARGS__, NULL})

static uint64_t stat_count(gpusim_world_t *w, const char *name)
{
    gpusim_stat_info_t info;
    ASSERT_OK(gpusim_stats_get(w, name, &info));
    return info.count;
}

/* ------------------------------------------------------------------------------------------- */
/* Names and ranges                                                                            */
/* ------------------------------------------------------------------------------------------- */

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(gpusim_notifier_event_name(GPUSIM_NOTIFY_UNMAP), "unmap");
    assert_string_equal(gpusim_notifier_event_name(GPUSIM_NOTIFY_EXCLUSIVE), "exclusive");
    assert_string_equal(gpusim_notifier_event_name(GPUSIM_NOTIFY_COUNT), "?");
    assert_string_equal(gpusim_invalidator_name(GPUSIM_INVALIDATOR_KSWAPD), "kswapd");
    assert_string_equal(gpusim_invalidator_name(GPUSIM_INVALIDATOR_OOM_REAPER), "oom_reaper");
    assert_string_equal(gpusim_invalidator_name((gpusim_invalidator_t)-1), "?");
    /* Every kind has its blocked-time histogram and counter. */
    gpusim_notifier_t *n;
    gpusim_world_t *w = setup(&n);
    char name[128];
    for (int k = 0; k < GPUSIM_INVALIDATOR_COUNT; k++) {
        gpusim_stat_info_t info;
        snprintf(name, sizeof(name), "notifier.blocked_ns.%s",
                 gpusim_invalidator_name((gpusim_invalidator_t)k));
        ASSERT_OK(gpusim_stats_get(w, name, &info));
        assert_int_equal(info.kind, GPUSIM_STAT_HISTOGRAM);
        assert_string_equal(info.unit, "ns");
    }
    ASSERT_OK(gpusim_notifier_free(n));
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

static void test_insert_validation(void **state)
{
    (void)state;
    gpusim_notifier_t *n;
    gpusim_notifier_sub_t *sub = (gpusim_notifier_sub_t *)&n;
    gpusim_world_t *w = setup(&n);
    mirror_t m;
    ASSERT_ERR(gpusim_notifier_insert(n, 0x1000, 0, mirror_cb, &m, &sub), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_notifier_insert(n, 2, UINT64_MAX, mirror_cb, &m, &sub), GPUSIM_EOVERFLOW);
    ASSERT_ERR(gpusim_notifier_insert(n, UINT64_MAX, 2, mirror_cb, &m, &sub), GPUSIM_EOVERFLOW);
    ASSERT_ERR(gpusim_notifier_insert(NULL, 0, 1, mirror_cb, &m, &sub), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_notifier_insert(n, 0, 1, NULL, &m, &sub), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_notifier_insert(n, 0, 1, mirror_cb, &m, NULL), GPUSIM_EINVAL);
    assert_ptr_equal(sub, (gpusim_notifier_sub_t *)&n); /* untouched */
    assert_int_equal(gpusim_notifier_count(n), 0);

    /* The whole address space, up to and including the last byte, is a valid subscription. */
    uint64_t s, e;
    mirror_insert(n, &m, 0, 1, UINT64_MAX);
    ASSERT_OK(gpusim_notifier_sub_range(m.sub, &s, &e));
    assert_int_equal(s, 1);
    assert_int_equal(e, 0); /* 2^64, documented as 0 */
    ASSERT_ERR(gpusim_notifier_sub_range(NULL, &s, &e), GPUSIM_EINVAL);
    assert_ptr_equal(gpusim_notifier_sub_data(m.sub), &m);
    assert_null(gpusim_notifier_sub_data(NULL));
    invalidator_t iv;
    ASSERT_OK(start_inv(n, &iv, UINT64_MAX - 1, UINT64_MAX, GPUSIM_INVALIDATOR_OTHER, true));
    assert_int_equal(m.calls, 1);
    ASSERT_OK(gpusim_notifier_invalidate_end(&iv.inv));
    FINISH(w, n, &m);
}

static void test_overlap_edges(void **state)
{
    (void)state;
    gpusim_notifier_t *n;
    gpusim_world_t *w = setup(&n);
    mirror_t a, b;
    invalidator_t iv;
    mirror_insert(n, &a, 1, 0x1000, 0x1000); /* [0x1000, 0x2000) */
    mirror_insert(n, &b, 2, 0x2000, 0x1000); /* [0x2000, 0x3000): adjacent */
    static const struct {
        uint64_t start, end;
        int a_calls, b_calls;
    } cases[] = {
        {0x2000, 0x3000, 0, 1}, /* exactly b */
        {0x1fff, 0x2000, 1, 0}, /* the last byte of a; b starts at the exclusive end */
        {0x0fff, 0x1000, 0, 0}, /* just before a */
        {0x3000, 0x4000, 0, 0}, /* just after b */
        {0x1fff, 0x2001, 1, 1}, /* straddles the boundary */
        {0x0000, 0x10000, 1, 1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        a.calls = b.calls = 0;
        ncalls = 0;
        ASSERT_OK(start_inv(n, &iv, cases[i].start, cases[i].end, GPUSIM_INVALIDATOR_OTHER, true));
        ASSERT_OK(gpusim_notifier_invalidate_end(&iv.inv));
        assert_int_equal(a.calls, cases[i].a_calls);
        assert_int_equal(b.calls, cases[i].b_calls);
        if (a.calls && b.calls) /* address order */
            assert_true(call_log[0] == 1 && call_log[1] == 2);
    }
    /* Empty and reversed ranges are refused, and nothing starts. */
    ASSERT_ERR(start_inv(n, &iv, 0x2000, 0x2000, GPUSIM_INVALIDATOR_OTHER, true), GPUSIM_EINVAL);
    ASSERT_ERR(start_inv(n, &iv, 0x3000, 0x2000, GPUSIM_INVALIDATOR_OTHER, true), GPUSIM_EINVAL);
    assert_int_equal(gpusim_notifier_active(n), 0);
    assert_true(gpusim__notifier_check(n));
    FINISH(w, n, &a, &b);
}

/* ------------------------------------------------------------------------------------------- */
/* The sequence protocol                                                                       */
/* ------------------------------------------------------------------------------------------- */

static void test_sequence_parity(void **state)
{
    (void)state;
    gpusim_notifier_t *n;
    gpusim_world_t *w = setup(&n);
    mirror_t a;
    invalidator_t iv;
    assert_int_equal(gpusim_notifier_seq(n), 2); /* idle: even, as Linux starts */
    /* An invalidation that overlaps no subscription leaves the sequence even. */
    ASSERT_OK(start_inv(n, &iv, 0, 0x1000, GPUSIM_INVALIDATOR_OTHER, true));
    assert_int_equal(gpusim_notifier_seq(n), 2);
    assert_int_equal(gpusim_notifier_active(n), 1);
    ASSERT_OK(gpusim_notifier_invalidate_end(&iv.inv));
    assert_int_equal(gpusim_notifier_active(n), 0);

    mirror_insert(n, &a, 1, 0x1000, 0x1000);
    uint64_t seq;
    ASSERT_OK(gpusim_notifier_read_begin(a.sub, &seq, NULL, NULL, NULL));
    assert_true(seq & 1); /* a subscription's sequence is always odd */
    ASSERT_OK(start_inv(n, &iv, 0x1800, 0x1900, GPUSIM_INVALIDATOR_OTHER, true));
    assert_int_equal(gpusim_notifier_seq(n), 3); /* odd while fully excluded */
    assert_int_equal(a.last_cur_seq, 3);
    assert_true(gpusim__notifier_check(n));
    ASSERT_OK(gpusim_notifier_invalidate_end(&iv.inv));
    assert_int_equal(gpusim_notifier_seq(n), 4); /* even again */
    assert_true(gpusim__notifier_check(n));
    FINISH(w, n, &a);
}

/*
 * The interleavings of the kernel's explanation in mmu_interval_read_begin():
 *   1. read_begin, then an invalidation starts and its callback sets the sequence: read_retry must
 *      be true, both before and after the invalidation ends.
 *   2. read_begin while that invalidation is running: the reader must wait for its end; then
 *      read_retry is false unless another invalidation came.
 *   3. read_begin after the end: no wait, no collision.
 */
static void test_read_retry_interleavings(void **state)
{
    (void)state;
    gpusim_notifier_t *n;
    gpusim_world_t *w = setup(&n);
    mirror_t a;
    invalidator_t iv;
    reader_t r = {0};
    uint64_t seq1, seq2, seq3;
    gpusim_waiter_init(&r.waiter);
    mirror_insert(n, &a, 1, 0x1000, 0x1000);

    /* 1. A read in progress collides with an invalidation that starts before its retry check. */
    ASSERT_OK(gpusim_notifier_read_begin(a.sub, &seq1, &r.waiter, resume, &r));
    assert_false(gpusim_notifier_read_retry(a.sub, seq1));
    ASSERT_OK(start_inv(n, &iv, 0x1000, 0x2000, GPUSIM_INVALIDATOR_SYSCALL, true));
    assert_true(gpusim_notifier_read_retry(a.sub, seq1));

    /* 2. A read begun during the invalidation waits for its end (EAGAIN without a waiter). */
    ASSERT_ERR(gpusim_notifier_read_begin(a.sub, &seq2, NULL, NULL, NULL), GPUSIM_EAGAIN);
    ASSERT_ERR(gpusim_notifier_read_begin(a.sub, &seq2, &r.waiter, resume, &r), GPUSIM_EINPROGRESS);
    assert_int_equal(seq2, gpusim_notifier_seq(n)); /* it read the phase's odd value */
    ASSERT_OK(gpusim_world_run_until(w, 1000));
    assert_int_equal(r.resumed, 0); /* still running: still waiting */
    ASSERT_OK(gpusim_notifier_invalidate_end(&iv.inv));
    assert_true(gpusim_notifier_read_retry(a.sub, seq1)); /* 1. is still a collision */
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(r.resumed, 1);
    assert_int_equal(r.resumed_at, 1000);
    assert_false(gpusim_notifier_read_retry(a.sub, seq2)); /* consistent snapshot now */

    /* 3. After the end, no wait and no collision. */
    ASSERT_OK(gpusim_notifier_read_begin(a.sub, &seq3, &r.waiter, resume, &r));
    assert_int_equal(seq3, seq2);
    assert_false(gpusim_notifier_read_retry(a.sub, seq3));

    /* A read that waited can collide again if another invalidation comes before its check. */
    ASSERT_OK(start_inv(n, &iv, 0x1000, 0x1001, GPUSIM_INVALIDATOR_SYSCALL, true));
    ASSERT_OK(gpusim_notifier_invalidate_end(&iv.inv));
    assert_true(gpusim_notifier_read_retry(a.sub, seq3));
    assert_int_equal(stat_count(w, "notifier.read_begin.waits"), 1);
    assert_int_equal(stat_count(w, "notifier.read_retry.collisions"), 3);
    FINISH(w, n, &a);
}

static void test_other_subscriptions_do_not_collide(void **state)
{
    (void)state;
    gpusim_notifier_t *n;
    gpusim_world_t *w = setup(&n);
    mirror_t a, b;
    invalidator_t iv;
    uint64_t seq;
    mirror_insert(n, &a, 1, 0x1000, 0x1000);
    mirror_insert(n, &b, 2, 0x8000, 0x1000);
    ASSERT_OK(gpusim_notifier_read_begin(a.sub, &seq, NULL, NULL, NULL));
    /* b is invalidated: the domain is odd, but a neither waits nor collides. */
    ASSERT_OK(start_inv(n, &iv, 0x8000, 0x9000, GPUSIM_INVALIDATOR_SYSCALL, true));
    assert_true(gpusim_notifier_seq(n) & 1);
    uint64_t seq_a;
    ASSERT_OK(gpusim_notifier_read_begin(a.sub, &seq_a, NULL, NULL, NULL));
    assert_false(gpusim_notifier_read_retry(a.sub, seq));
    ASSERT_OK(gpusim_notifier_invalidate_end(&iv.inv));
    assert_false(gpusim_notifier_read_retry(a.sub, seq));
    assert_int_equal(a.calls, 0);
    FINISH(w, n, &a, &b);
}

static void test_sequence_wraps_around(void **state)
{
    (void)state;
    gpusim_notifier_t *n;
    gpusim_world_t *w = setup(&n);
    mirror_t a;
    invalidator_t iv;
    reader_t r = {0};
    uint64_t seq;
    gpusim_waiter_init(&r.waiter);
    gpusim__notifier_force_seq(n, UINT64_MAX - 1); /* the last even value */
    mirror_insert(n, &a, 1, 0x1000, 0x1000);
    ASSERT_OK(start_inv(n, &iv, 0x1000, 0x2000, GPUSIM_INVALIDATOR_SYSCALL, true));
    assert_int_equal(gpusim_notifier_seq(n), UINT64_MAX);
    ASSERT_ERR(gpusim_notifier_read_begin(a.sub, &seq, &r.waiter, resume, &r), GPUSIM_EINPROGRESS);
    ASSERT_OK(gpusim_notifier_invalidate_end(&iv.inv));
    assert_int_equal(gpusim_notifier_seq(n), 0); /* wrapped, and even */
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(r.resumed, 1); /* the waiter still woke */
    assert_false(gpusim_notifier_read_retry(a.sub, seq));
    ASSERT_OK(start_inv(n, &iv, 0x1000, 0x2000, GPUSIM_INVALIDATOR_SYSCALL, true));
    assert_int_equal(a.last_cur_seq, 1);
    assert_true(gpusim_notifier_read_retry(a.sub, seq));
    ASSERT_OK(gpusim_notifier_invalidate_end(&iv.inv));
    assert_true(gpusim__notifier_check(n));
    FINISH(w, n, &a);
}

/* ------------------------------------------------------------------------------------------- */
/* Inserts and removes during invalidations                                                    */
/* ------------------------------------------------------------------------------------------- */

static void test_insert_during_invalidation_is_deferred_to_the_last_end(void **state)
{
    (void)state;
    gpusim_notifier_t *n;
    gpusim_world_t *w = setup(&n);
    mirror_t a, b;
    invalidator_t iv1, iv2, iv3;
    reader_t r = {0};
    uint64_t seq;
    gpusim_waiter_init(&r.waiter);
    mirror_insert(n, &a, 1, 0x1000, 0x1000);
    ASSERT_OK(start_inv(n, &iv1, 0x1000, 0x2000, GPUSIM_INVALIDATOR_SYSCALL, true));
    ASSERT_OK(start_inv(n, &iv2, 0x0, 0x100000, GPUSIM_INVALIDATOR_KSWAPD, true)); /* nested */

    /* b is inserted while the domain is fully excluded: it waits on the deferred list. */
    mirror_insert(n, &b, 2, 0x1800, 0x1000);
    assert_int_equal(gpusim_notifier_count(n), 2);
    assert_int_equal(stat_count(w, "notifier.deferred.inserts"), 1);
    ASSERT_OK(start_inv(n, &iv3, 0x1800, 0x1900, GPUSIM_INVALIDATOR_SYSCALL, true));
    assert_int_equal(b.calls, 0); /* not in the tree yet */
    ASSERT_OK(gpusim_notifier_invalidate_end(&iv3.inv));
    /* Its first read must wait: it was inserted during the phase, so it collides. */
    ASSERT_ERR(gpusim_notifier_read_begin(b.sub, &seq, &r.waiter, resume, &r), GPUSIM_EINPROGRESS);
    assert_true(gpusim__notifier_check(n));

    ASSERT_OK(gpusim_notifier_invalidate_end(&iv1.inv)); /* not the last: still deferred */
    ASSERT_OK(start_inv(n, &iv3, 0x1800, 0x1900, GPUSIM_INVALIDATOR_SYSCALL, true));
    assert_int_equal(b.calls, 0);
    ASSERT_OK(gpusim_notifier_invalidate_end(&iv3.inv));
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(r.resumed, 0);

    ASSERT_OK(gpusim_notifier_invalidate_end(&iv2.inv)); /* the last end applies it */
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(r.resumed, 1);
    ASSERT_OK(start_inv(n, &iv3, 0x1800, 0x1900, GPUSIM_INVALIDATOR_SYSCALL, true));
    assert_int_equal(b.calls, 1); /* exactly once, and now it is in the tree */
    ASSERT_OK(gpusim_notifier_invalidate_end(&iv3.inv));
    assert_int_equal(stat_count(w, "notifier.deferred.inserts"), 1);
    assert_true(gpusim__notifier_check(n));
    FINISH(w, n, &a, &b);
}

static void test_insert_while_partially_excluded_forces_odd(void **state)
{
    (void)state;
    gpusim_notifier_t *n;
    gpusim_world_t *w = setup(&n);
    mirror_t b;
    invalidator_t iv, iv2;
    reader_t r = {0};
    uint64_t seq;
    gpusim_waiter_init(&r.waiter);
    /* An invalidation is running but overlaps nothing: the domain stays even. */
    ASSERT_OK(start_inv(n, &iv, 0x1000, 0x2000, GPUSIM_INVALIDATOR_SYSCALL, true));
    assert_int_equal(gpusim_notifier_seq(n), 2);
    /* Its range may cover the new subscription, so the insert makes the phase exclusive. */
    mirror_insert(n, &b, 2, 0x1800, 0x1000);
    assert_int_equal(gpusim_notifier_seq(n), 3);
    ASSERT_ERR(gpusim_notifier_read_begin(b.sub, &seq, &r.waiter, resume, &r), GPUSIM_EINPROGRESS);
    /* ...but it is in the tree at once (nothing was frozen when it came). */
    ASSERT_OK(start_inv(n, &iv2, 0x1800, 0x1900, GPUSIM_INVALIDATOR_SYSCALL, true));
    assert_int_equal(b.calls, 1);
    ASSERT_OK(gpusim_notifier_invalidate_end(&iv2.inv));
    assert_int_equal(stat_count(w, "notifier.deferred.inserts"), 0);
    ASSERT_OK(gpusim_notifier_invalidate_end(&iv.inv));
    assert_int_equal(gpusim_notifier_seq(n), 4);
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(r.resumed, 1);
    FINISH(w, n, &b);
}

static void test_remove_waits_for_running_invalidations(void **state)
{
    (void)state;
    gpusim_notifier_t *n;
    gpusim_world_t *w = setup(&n);
    mirror_t a, b, c;
    invalidator_t iv1, iv2;
    reader_t r = {0};
    gpusim_waiter_init(&r.waiter);
    mirror_insert(n, &a, 1, 0x1000, 0x1000);
    mirror_insert(n, &b, 2, 0x4000, 0x1000);
    ASSERT_OK(start_inv(n, &iv1, 0x1000, 0x2000, GPUSIM_INVALIDATOR_SYSCALL, true));

    /* Removing a (or any subscription) while the domain is odd is deferred. */
    ASSERT_ERR(gpusim_notifier_remove(a.sub, &r.waiter, resume, &r), GPUSIM_EINPROGRESS);
    assert_int_equal(gpusim_notifier_count(n), 1);
    ASSERT_ERR(gpusim_notifier_remove(a.sub, NULL, NULL, NULL), GPUSIM_EINVAL); /* twice */
    /* Until then its callback may still run (Linux: it is still in the tree). */
    ASSERT_OK(start_inv(n, &iv2, 0x1000, 0x2000, GPUSIM_INVALIDATOR_KSWAPD, true));
    assert_int_equal(a.calls, 2);
    ASSERT_OK(gpusim_notifier_invalidate_end(&iv2.inv));
    /* Removing without a waiter, also deferred. */
    ASSERT_ERR(gpusim_notifier_remove(b.sub, NULL, NULL, NULL), GPUSIM_EINPROGRESS);
    /* A subscription inserted during the phase and removed before it ends is simply gone. */
    mirror_insert(n, &c, 3, 0x8000, 0x1000);
    ASSERT_OK(gpusim_notifier_remove(c.sub, NULL, NULL, NULL));
    assert_int_equal(gpusim_notifier_count(n), 0);
    assert_true(gpusim__notifier_check(n));
    ASSERT_ERR(gpusim_notifier_free(n), GPUSIM_EBUSY); /* still running */

    ASSERT_OK(gpusim_world_run_until(w, 777));
    ASSERT_OK(gpusim_notifier_invalidate_end(&iv1.inv));
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(r.resumed, 1);
    assert_int_equal(r.resumed_at, 777);
    /* Gone: a new invalidation calls nobody. */
    ASSERT_OK(start_inv(n, &iv1, 0, 0x100000, GPUSIM_INVALIDATOR_SYSCALL, true));
    ASSERT_OK(gpusim_notifier_invalidate_end(&iv1.inv));
    assert_int_equal(a.calls, 2);
    assert_int_equal(b.calls, 0);
    assert_int_equal(c.calls, 0);
    assert_int_equal(stat_count(w, "notifier.deferred.removes"), 2);
    ASSERT_OK(gpusim_notifier_free(n));
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

static void test_remove_from_a_callback_is_refused(void **state)
{
    (void)state;
    gpusim_notifier_t *n;
    gpusim_world_t *w = setup(&n);
    mirror_t a, b;
    invalidator_t iv;
    mirror_insert(n, &a, 1, 0x1000, 0x1000);
    mirror_insert(n, &b, 2, 0x9000, 0x1000);
    a.remove_self = true;
    ASSERT_OK(start_inv(n, &iv, 0x1000, 0x2000, GPUSIM_INVALIDATOR_SYSCALL, true));
    assert_int_equal(a.remove_rc, GPUSIM_EDEADLK);
    ASSERT_OK(gpusim_notifier_invalidate_end(&iv.inv));
    a.remove_self = false;
    a.remove_other = b.sub; /* any subscription, not only itself */
    ASSERT_OK(start_inv(n, &iv, 0x1000, 0x2000, GPUSIM_INVALIDATOR_SYSCALL, true));
    assert_int_equal(a.remove_rc, GPUSIM_EDEADLK);
    ASSERT_OK(gpusim_notifier_invalidate_end(&iv.inv));
    assert_int_equal(gpusim_notifier_count(n), 2); /* nothing was removed */
    FINISH(w, n, &a, &b);
}

/* ------------------------------------------------------------------------------------------- */
/* Refusals                                                                                    */
/* ------------------------------------------------------------------------------------------- */

static void test_nonblockable_refusal_is_balanced(void **state)
{
    (void)state;
    gpusim_notifier_t *n;
    gpusim_world_t *w = setup(&n);
    mirror_t a, b, c;
    invalidator_t reaper;
    mirror_insert(n, &a, 1, 0x1000, 0x1000);
    mirror_insert(n, &b, 2, 0x2000, 0x1000);
    mirror_insert(n, &c, 3, 0x3000, 0x1000);
    b.answer = GPUSIM_NOTIFIER_WOULD_BLOCK;
    ASSERT_ERR(start_inv(n, &reaper, 0x1000, 0x4000, GPUSIM_INVALIDATOR_OOM_REAPER, false),
               GPUSIM_EWOULDBLOCK);
    /* a was called, b refused, c was never called: the reaper backs off at the refusal. */
    assert_int_equal(a.calls, 1);
    assert_int_equal(b.calls, 1);
    assert_int_equal(c.calls, 0);
    /* The shim closed the invalidation itself: everything balanced and idle again. */
    assert_int_equal(gpusim_notifier_active(n), 0);
    assert_false(gpusim_notifier_seq(n) & 1);
    assert_false(gpusim_invalidation_active(&reaper.inv));
    ASSERT_ERR(gpusim_notifier_invalidate_end(&reaper.inv), GPUSIM_EINVAL);
    assert_int_equal(reaper.proceeded, 0);
    assert_int_equal(stat_count(w, "notifier.refusals"), 1);
    assert_int_equal(stat_count(w, "notifier.invalidations.oom_reaper"), 1);
    assert_int_equal(stat_count(w, "notifier.blocked_ns.oom_reaper"), 1); /* one sample, of 0 */
    gpusim_stat_info_t info;
    ASSERT_OK(gpusim_stats_get(w, "notifier.active", &info));
    assert_int_equal(info.value, 0);
    /* The invalidation can be reused. */
    b.answer = GPUSIM_NOTIFIER_DONE;
    ASSERT_OK(start_inv(n, &reaper, 0x1000, 0x4000, GPUSIM_INVALIDATOR_OOM_REAPER, false));
    ASSERT_OK(gpusim_notifier_invalidate_end(&reaper.inv));
    assert_int_equal(c.calls, 1);
    assert_true(gpusim__notifier_check(n));
    FINISH(w, n, &a, &b, &c);
}

/*
 * Linux bug "ensure range_end() is paired with range_start()": a refusal must not end somebody
 * else's invalidation. With a blockable invalidation still open over a, a mirror must not be able
 * to re-establish its mapping after the reaper's refusal.
 */
static void test_refusal_does_not_reopen_a_range_still_being_invalidated(void **state)
{
    (void)state;
    gpusim_notifier_t *n;
    gpusim_world_t *w = setup(&n);
    mirror_t a, b;
    invalidator_t munmap_caller, reaper;
    reader_t r = {0};
    uint64_t seq;
    gpusim_waiter_init(&r.waiter);
    mirror_insert(n, &a, 1, 0x1000, 0x1000);
    mirror_insert(n, &b, 2, 0x2000, 0x1000);
    ASSERT_OK(start_inv(n, &munmap_caller, 0x1000, 0x2000, GPUSIM_INVALIDATOR_SYSCALL, true));
    b.answer = GPUSIM_NOTIFIER_WOULD_BLOCK;
    ASSERT_ERR(start_inv(n, &reaper, 0x1000, 0x3000, GPUSIM_INVALIDATOR_OOM_REAPER, false),
               GPUSIM_EWOULDBLOCK);
    assert_int_equal(gpusim_notifier_active(n), 1); /* only the munmap caller's */
    assert_true(gpusim_notifier_seq(n) & 1);
    /* a's mirror tries to re-establish: it has to wait for the munmap caller. */
    ASSERT_ERR(gpusim_notifier_read_begin(a.sub, &seq, &r.waiter, resume, &r), GPUSIM_EINPROGRESS);
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(r.resumed, 0);
    ASSERT_OK(gpusim_notifier_invalidate_end(&munmap_caller.inv));
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(r.resumed, 1);
    assert_int_equal(gpusim_notifier_active(n), 0);
    FINISH(w, n, &a, &b);
}

/* ------------------------------------------------------------------------------------------- */
/* Waiting in virtual time                                                                     */
/* ------------------------------------------------------------------------------------------- */

static void test_wait_blocks_the_invalidator_for_the_completion_time(void **state)
{
    (void)state;
    gpusim_notifier_t *n;
    gpusim_world_t *w = setup(&n);
    mirror_t a;
    invalidator_t kswapd;
    gpusim_completion_t fence;
    gpusim_completion_init(&fence, NULL);
    mirror_insert(n, &a, 1, 0x1000, 0x1000);
    a.answer = GPUSIM_NOTIFIER_WAIT;
    a.wait_on = &fence;
    ASSERT_OK(gpusim_world_run_until(w, 1000));
    ASSERT_OK(gpusim_completion_signal_at(w, &fence, 1000 + 5 * GPUSIM_NS_PER_MS));
    ASSERT_ERR(start_inv(n, &kswapd, 0x1000, 0x2000, GPUSIM_INVALIDATOR_KSWAPD, true),
               GPUSIM_EINPROGRESS);
    assert_true(gpusim_invalidation_active(&kswapd.inv));
    ASSERT_ERR(gpusim_notifier_invalidate_end(&kswapd.inv), GPUSIM_EBUSY); /* not started yet */
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(kswapd.proceeded, 1);
    assert_int_equal(kswapd.status, 0);
    assert_int_equal(kswapd.proceeded_at, 1000 + 5 * GPUSIM_NS_PER_MS);
    ASSERT_OK(gpusim_notifier_invalidate_end(&kswapd.inv));

    gpusim_stat_info_t info;
    ASSERT_OK(gpusim_stats_get(w, "notifier.blocked_ns.kswapd", &info));
    assert_int_equal(info.count, 1);
    assert_int_equal(info.max, 5 * GPUSIM_NS_PER_MS); /* exactly the wait */
    ASSERT_OK(gpusim_stats_get(w, "notifier.blocked_ns.direct_reclaim", &info));
    assert_int_equal(info.count, 0); /* and under kswapd only */
    assert_int_equal(stat_count(w, "notifier.waits"), 1);

    /* A completion that has already signalled costs no time. */
    ASSERT_OK(start_inv(n, &kswapd, 0x1000, 0x2000, GPUSIM_INVALIDATOR_KSWAPD, true));
    ASSERT_OK(gpusim_notifier_invalidate_end(&kswapd.inv));
    ASSERT_OK(gpusim_stats_get(w, "notifier.blocked_ns.kswapd", &info));
    assert_int_equal(info.count, 2);
    assert_int_equal(info.min, 0);
    FINISH(w, n, &a);
}

/*
 * gpusim__notifier_check's balance and sequence rules (what the per-event soak relies on): each one
 * broken on purpose is reported, and the check passes again once it is restored.
 */
static void test_check_catches_imbalance(void **state)
{
    (void)state;
    gpusim_notifier_t *n;
    gpusim_world_t *w = setup(&n);
    mirror_t a;
    invalidator_t x, y;
    gpusim_completion_t fence;
    gpusim_completion_init(&fence, NULL);
    mirror_insert(n, &a, 1, 0x1000, 0x1000);
    assert_true(gpusim__notifier_check(n));

    /* One invalidation open, waiting on the fence; one open over nothing. */
    a.answer = GPUSIM_NOTIFIER_WAIT;
    a.wait_on = &fence;
    ASSERT_ERR(start_inv(n, &x, 0x1000, 0x2000, GPUSIM_INVALIDATOR_KSWAPD, true),
               GPUSIM_EINPROGRESS);
    ASSERT_OK(start_inv(n, &y, 0x9000, 0xa000, GPUSIM_INVALIDATOR_OTHER, true));
    assert_int_equal(gpusim_notifier_active(n), 2);
    assert_true(gpusim__notifier_check(n));

    /* A start counted without its invalidation (or an end that forgot to leave). */
    n->active++;
    assert_false(gpusim__notifier_check(n));
    n->active--;
    /* An end that left without being counted out. */
    n->active--;
    assert_false(gpusim__notifier_check(n));
    n->active++;
    /* An open invalidation in the wrong state: says WAITING but waits for nothing. */
    assert_int_equal(y.inv.state_, INV_STARTED);
    y.inv.state_ = INV_WAITING;
    assert_false(gpusim__notifier_check(n));
    y.inv.state_ = INV_STARTED;
    /* ... or idle while on the list. */
    x.inv.state_ = INV_IDLE;
    assert_false(gpusim__notifier_check(n));
    x.inv.state_ = INV_WAITING;
    /* One that reached a subscription with the domain even. */
    n->seq++;
    assert_false(gpusim__notifier_check(n));
    n->seq--;
    /* A subscription's sequence ahead of the domain's. */
    uint64_t seq = a.sub->seq;
    a.sub->seq = n->seq + 2;
    assert_false(gpusim__notifier_check(n));
    a.sub->seq = seq;
    assert_true(gpusim__notifier_check(n));

    ASSERT_OK(gpusim_completion_signal(w, &fence));
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(x.proceeded, 1);
    ASSERT_OK(gpusim_notifier_invalidate_end(&x.inv));
    ASSERT_OK(gpusim_notifier_invalidate_end(&y.inv));
    assert_int_equal(gpusim_notifier_active(n), 0);
    assert_null(n->open_head);
    assert_true(gpusim__notifier_check(n));
    FINISH(w, n, &a);
}

static void test_callbacks_run_one_after_another(void **state)
{
    (void)state;
    gpusim_notifier_t *n;
    gpusim_world_t *w = setup(&n);
    mirror_t a, b, c;
    invalidator_t iv;
    gpusim_completion_t fa, fb;
    gpusim_completion_init(&fa, NULL);
    gpusim_completion_init(&fb, NULL);
    mirror_insert(n, &a, 1, 0x1000, 0x1000);
    mirror_insert(n, &b, 2, 0x2000, 0x1000);
    mirror_insert(n, &c, 3, 0x3000, 0x1000);
    a.answer = b.answer = GPUSIM_NOTIFIER_WAIT;
    a.wait_on = &fa;
    b.wait_on = &fb;
    ASSERT_OK(gpusim_completion_signal_at(w, &fa, 2000));
    ASSERT_ERR(start_inv(n, &iv, 0x1000, 0x4000, GPUSIM_INVALIDATOR_DIRECT_RECLAIM, true),
               GPUSIM_EINPROGRESS);
    assert_int_equal(b.calls, 0); /* b is called only after a's wait */
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(b.calls, 1);
    assert_int_equal(b.last_call_at, 2000);
    assert_int_equal(c.calls, 0);
    ASSERT_OK(gpusim_world_run_until(w, 5000));
    ASSERT_OK(gpusim_completion_signal(w, &fb));
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(c.calls, 1);
    assert_int_equal(c.last_call_at, 5000);
    assert_int_equal(iv.proceeded_at, 5000); /* the waits add up */
    /* Each subscription is called exactly once per invalidation, waits or not. */
    assert_int_equal(a.calls, 1);
    assert_int_equal(b.calls, 1);
    assert_int_equal(c.calls, 1);
    assert_int_equal(ncalls, 3);
    assert_int_equal(b.last_cur_seq, a.last_cur_seq); /* one phase, one sequence */
    ASSERT_OK(gpusim_notifier_invalidate_end(&iv.inv));
    FINISH(w, n, &a, &b, &c);
}

static void test_concurrent_invalidators_block_independently(void **state)
{
    (void)state;
    gpusim_notifier_t *n;
    gpusim_world_t *w = setup(&n);
    mirror_t a, b;
    invalidator_t kswapd, munmap_caller;
    gpusim_completion_t fa, fb;
    gpusim_completion_init(&fa, NULL);
    gpusim_completion_init(&fb, NULL);
    mirror_insert(n, &a, 1, 0x1000, 0x1000);
    mirror_insert(n, &b, 2, 0x8000, 0x1000);
    a.answer = b.answer = GPUSIM_NOTIFIER_WAIT;
    a.wait_on = &fa;
    b.wait_on = &fb;
    ASSERT_OK(gpusim_completion_signal_at(w, &fa, 9000));
    ASSERT_OK(gpusim_completion_signal_at(w, &fb, 3000));
    /* One invalidator suspended while another starts, on the same domain. */
    ASSERT_ERR(start_inv(n, &kswapd, 0x1000, 0x2000, GPUSIM_INVALIDATOR_KSWAPD, true),
               GPUSIM_EINPROGRESS);
    ASSERT_ERR(start_inv(n, &munmap_caller, 0x8000, 0x9000, GPUSIM_INVALIDATOR_SYSCALL, true),
               GPUSIM_EINPROGRESS);
    assert_int_equal(gpusim_notifier_active(n), 2);
    ASSERT_OK(gpusim_world_run(w));
    assert_int_equal(munmap_caller.proceeded_at, 3000);
    assert_int_equal(kswapd.proceeded_at, 9000);
    ASSERT_OK(gpusim_notifier_invalidate_end(&munmap_caller.inv));
    assert_true(gpusim_notifier_seq(n) & 1); /* kswapd's is still open */
    ASSERT_OK(gpusim_notifier_invalidate_end(&kswapd.inv));
    assert_false(gpusim_notifier_seq(n) & 1);
    gpusim_stat_info_t info;
    ASSERT_OK(gpusim_stats_get(w, "notifier.blocked_ns.kswapd", &info));
    assert_int_equal(info.max, 9000);
    ASSERT_OK(gpusim_stats_get(w, "notifier.blocked_ns.syscall", &info));
    assert_int_equal(info.max, 3000);
    ASSERT_OK(gpusim_stats_get(w, "notifier.active", &info));
    assert_int_equal(info.peak, 2);
    FINISH(w, n, &a, &b);
}

/* ------------------------------------------------------------------------------------------- */
/* Contract violations and bad arguments                                                       */
/* ------------------------------------------------------------------------------------------- */

static void test_contract_violations_are_counted(void **state)
{
    (void)state;
    gpusim_notifier_t *n;
    gpusim_world_t *w = setup(&n);
    mirror_t a;
    invalidator_t iv;
    gpusim_completion_t fence;
    gpusim_completion_init(&fence, NULL);
    mirror_insert(n, &a, 1, 0x1000, 0x1000);

    /* Forgetting set_seq: counted, and not repaired (the checker must see the bug). */
    uint64_t seq;
    ASSERT_OK(gpusim_notifier_read_begin(a.sub, &seq, NULL, NULL, NULL));
    a.skip_set_seq = true;
    ASSERT_OK(start_inv(n, &iv, 0x1000, 0x2000, GPUSIM_INVALIDATOR_SYSCALL, true));
    ASSERT_OK(gpusim_notifier_invalidate_end(&iv.inv));
    assert_int_equal(stat_count(w, "notifier.violations"), 1);
    assert_false(gpusim_notifier_read_retry(a.sub, seq)); /* the collision is missed */
    a.skip_set_seq = false;

    /* Refusing a blockable range: counted, then treated as done (Linux WARNs and continues). */
    a.answer = GPUSIM_NOTIFIER_WOULD_BLOCK;
    ASSERT_OK(start_inv(n, &iv, 0x1000, 0x2000, GPUSIM_INVALIDATOR_SYSCALL, true));
    ASSERT_OK(gpusim_notifier_invalidate_end(&iv.inv));
    assert_int_equal(stat_count(w, "notifier.violations"), 2);

    /* Asking a non-blockable invalidator to wait: counted, and a refusal. */
    a.answer = GPUSIM_NOTIFIER_WAIT;
    a.wait_on = &fence;
    ASSERT_ERR(start_inv(n, &iv, 0x1000, 0x2000, GPUSIM_INVALIDATOR_OOM_REAPER, false),
               GPUSIM_EWOULDBLOCK);
    assert_int_equal(stat_count(w, "notifier.violations"), 3);

    /* WAIT without a completion: counted, treated as done. */
    a.wait_on = NULL;
    ASSERT_OK(start_inv(n, &iv, 0x1000, 0x2000, GPUSIM_INVALIDATOR_SYSCALL, true));
    ASSERT_OK(gpusim_notifier_invalidate_end(&iv.inv));
    assert_int_equal(stat_count(w, "notifier.violations"), 4);

    /* An answer outside the enum: counted, treated as done. */
    a.answer = (gpusim_notifier_answer_t)42;
    ASSERT_OK(start_inv(n, &iv, 0x1000, 0x2000, GPUSIM_INVALIDATOR_SYSCALL, true));
    ASSERT_OK(gpusim_notifier_invalidate_end(&iv.inv));
    assert_int_equal(stat_count(w, "notifier.violations"), 5);
    assert_int_equal(gpusim_notifier_active(n), 0);
    FINISH(w, n, &a);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    gpusim_notifier_t *n;
    gpusim_world_t *w = setup(&n);
    mirror_t a;
    invalidator_t iv;
    uint64_t seq;
    gpusim_notifier_range_t r = range_of(0, 0x1000, GPUSIM_INVALIDATOR_SYSCALL, true);
    gpusim_invalidation_init(&iv.inv);
    mirror_insert(n, &a, 1, 0x0, 0x1000);
    ASSERT_ERR(gpusim_notifier_new(NULL, &n), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_notifier_new(w, NULL), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_notifier_free(NULL), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_notifier_free(n), GPUSIM_EBUSY); /* a subscription remains */
    ASSERT_ERR(gpusim_notifier_invalidate_start(NULL, &iv.inv, &r, proceed, &iv), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_notifier_invalidate_start(n, NULL, &r, proceed, &iv), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_notifier_invalidate_start(n, &iv.inv, NULL, proceed, &iv), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_notifier_invalidate_start(n, &iv.inv, &r, NULL, &iv), GPUSIM_EINVAL);
    r.event = GPUSIM_NOTIFY_COUNT;
    ASSERT_ERR(gpusim_notifier_invalidate_start(n, &iv.inv, &r, proceed, &iv), GPUSIM_EINVAL);
    r.event = GPUSIM_NOTIFY_CLEAR;
    r.invalidator = GPUSIM_INVALIDATOR_COUNT;
    ASSERT_ERR(gpusim_notifier_invalidate_start(n, &iv.inv, &r, proceed, &iv), GPUSIM_EINVAL);
    r.invalidator = GPUSIM_INVALIDATOR_SYSCALL;
    r.owner = &a; /* e.g. a mirror's own migration, which it may recognise and ignore */
    ASSERT_OK(gpusim_notifier_invalidate_start(n, &iv.inv, &r, proceed, &iv));
    ASSERT_ERR(gpusim_notifier_invalidate_start(n, &iv.inv, &r, proceed, &iv), GPUSIM_EBUSY);
    /* The whole range reaches the callback: bounds, event, kind, blockable, owner. */
    assert_int_equal(a.last_range.start, 0);
    assert_int_equal(a.last_range.end, 0x1000);
    assert_int_equal(a.last_range.event, GPUSIM_NOTIFY_CLEAR);
    assert_int_equal(a.last_range.invalidator, GPUSIM_INVALIDATOR_SYSCALL);
    assert_true(a.last_range.blockable);
    assert_ptr_equal(a.last_range.owner, &a);
    ASSERT_OK(gpusim_notifier_invalidate_end(&iv.inv));
    ASSERT_ERR(gpusim_notifier_invalidate_end(&iv.inv), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_notifier_invalidate_end(NULL), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_notifier_read_begin(NULL, &seq, NULL, NULL, NULL), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_notifier_read_begin(a.sub, NULL, NULL, NULL, NULL), GPUSIM_EINVAL);
    assert_true(gpusim_notifier_read_retry(NULL, 1));
    gpusim_notifier_set_seq(NULL, 1);
    ASSERT_ERR(gpusim_notifier_remove(NULL, NULL, NULL, NULL), GPUSIM_EINVAL);
    assert_int_equal(gpusim_notifier_count(NULL), 0);
    assert_false(gpusim_invalidation_active(NULL));
    assert_int_equal(gpusim_notifier_active(n), 0);
    FINISH(w, n, &a);
}

/* ------------------------------------------------------------------------------------------- */
/* Lifetime and memory                                                                         */
/* ------------------------------------------------------------------------------------------- */

static void test_world_teardown_frees_domains_and_subscriptions(void **state)
{
    (void)state;
    gpusim_notifier_t *n, *n2;
    gpusim_world_t *w = setup(&n);
    mirror_t m[3];
    invalidator_t iv;
    ASSERT_OK(gpusim_notifier_new(w, &n2));
    mirror_insert(n, &m[0], 0, 0x1000, 0x1000);
    mirror_insert(n2, &m[1], 1, 0x1000, 0x1000);
    /* Leave an invalidation open with a deferred insert and a deferred remove. */
    ASSERT_OK(start_inv(n, &iv, 0x1000, 0x2000, GPUSIM_INVALIDATOR_SYSCALL, true));
    mirror_insert(n, &m[2], 2, 0x5000, 0x1000);
    ASSERT_ERR(gpusim_notifier_remove(m[0].sub, NULL, NULL, NULL), GPUSIM_EINPROGRESS);
    gpusim_stat_info_t info;
    ASSERT_OK(gpusim_stats_get(w, "notifier.domains", &info));
    assert_int_equal(info.value, 2);
    gpusim_world_free(w); /* frees both domains and every subscription */
    ASSERT_NO_LEAK();
}

static void test_allocation_failures(void **state)
{
    (void)state;
    gpusim_world_t *w = test_world(1);
    cur_world = w;
    /* gpusim_notifier_new at each allocation point (the first domain registers statistics). */
    int points = 0;
    for (long k = 1;; k++) {
        gpusim_notifier_t *n = NULL;
        size_t bytes = w->arena.bytes;
        gpusim__alloc_fail_nth(k);
        int rc = gpusim_notifier_new(w, &n);
        bool fired = gpusim__alloc_fail_fired();
        gpusim__alloc_fail_nth(0);
        if (!fired) {
            ASSERT_OK(rc);
            ASSERT_OK(gpusim_notifier_free(n));
            break;
        }
        points++;
        ASSERT_ERR(rc, GPUSIM_ENOMEM);
        assert_null(n);
        /* The domain itself is not leaked; statistics already registered stay with the world. */
        assert_true(w->arena.bytes >= bytes);
    }
    assert_true(points >= 2);

    gpusim_notifier_t *n;
    ASSERT_OK(gpusim_notifier_new(w, &n));
    size_t bytes = w->arena.bytes;
    mirror_t m;
    gpusim__alloc_fail_nth(1);
    ASSERT_ERR(gpusim_notifier_insert(n, 0x1000, 0x1000, mirror_cb, &m, &m.sub), GPUSIM_ENOMEM);
    gpusim__alloc_fail_nth(0);
    assert_int_equal(w->arena.bytes, bytes);
    assert_int_equal(gpusim_notifier_count(n), 0);
    ASSERT_OK(gpusim_notifier_free(n));
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* ------------------------------------------------------------------------------------------- */
/* Phases after the first, failure paths, re-entry, a world freed in a callback                */
/* ------------------------------------------------------------------------------------------- */

static void test_readers_wait_in_every_phase(void **state)
{
    (void)state;
    gpusim_notifier_t *n;
    gpusim_world_t *w = setup(&n);
    mirror_t a;
    invalidator_t iv;
    reader_t r = {0};
    uint64_t seq;
    gpusim_waiter_init(&r.waiter);
    mirror_insert(n, &a, 1, 0x1000, 0x1000);
    for (int phase = 1; phase <= 3; phase++) {
        ASSERT_OK(start_inv(n, &iv, 0x1000, 0x2000, GPUSIM_INVALIDATOR_SYSCALL, true));
        ASSERT_ERR(gpusim_notifier_read_begin(a.sub, &seq, &r.waiter, resume, &r),
                   GPUSIM_EINPROGRESS);
        ASSERT_OK(gpusim_world_run(w));
        assert_int_equal(r.resumed, phase - 1); /* it waits while the phase lasts */
        ASSERT_OK(gpusim_notifier_invalidate_end(&iv.inv));
        ASSERT_OK(gpusim_world_run(w));
        assert_int_equal(r.resumed, phase);
        assert_false(gpusim_notifier_read_retry(a.sub, seq));
    }
    FINISH(w, n, &a);
}

static void nop_event(gpusim_world_t *w, gpusim_event_t *ev)
{
    (void)w;
    (void)ev;
}

/* Schedules far-future events until the next reservation must grow the queue. */
static void fill_queue(gpusim_world_t *w, gpusim_event_t *evs, size_t max)
{
    size_t i = 0;
    while (w->queue.n + w->queue.reserved < w->queue.cap) {
        assert_true(i < max);
        gpusim_event_init(&evs[i], nop_event, NULL);
        ASSERT_OK(gpusim_event_schedule(w, &evs[i], GPUSIM_TIME_MAX));
        i++;
    }
}

static void test_failures_change_nothing(void **state)
{
    (void)state;
    gpusim_world_config_t cfg;
    gpusim_world_t *w;
    gpusim_notifier_t *n;
    gpusim_event_t evs[64];
    mirror_t a, b;
    invalidator_t iv, iv2;
    reader_t r = {0};
    uint64_t seq;
    gpusim_world_config_init(&cfg);
    cfg.event_capacity = 1; /* a small queue, so that reservations must grow it */
    ASSERT_OK(gpusim_world_new(&cfg, &w));
    cur_world = w;
    ncalls = 0;
    gpusim_waiter_init(&r.waiter);
    ASSERT_OK(gpusim_notifier_new(w, &n));
    mirror_insert(n, &a, 1, 0x1000, 0x1000);
    mirror_insert(n, &b, 2, 0x2000, 0x1000);
    fill_queue(w, evs, 32);

    /* A blockable invalidation that cannot reserve room for a wait fails before calling anyone. */
    gpusim__alloc_fail_nth(1);
    ASSERT_ERR(start_inv(n, &iv, 0x1000, 0x3000, GPUSIM_INVALIDATOR_SYSCALL, true), GPUSIM_ENOMEM);
    gpusim__alloc_fail_nth(0);
    assert_int_equal(a.calls + b.calls, 0);
    assert_int_equal(gpusim_notifier_active(n), 0);
    assert_int_equal(gpusim_notifier_seq(n), 2);
    assert_false(gpusim_invalidation_active(&iv.inv));
    /* A non-blockable one never waits, so it needs no room. */
    gpusim__alloc_fail_nth(1);
    ASSERT_OK(start_inv(n, &iv, 0x1000, 0x3000, GPUSIM_INVALIDATOR_OOM_REAPER, false));
    gpusim__alloc_fail_nth(0);
    ASSERT_OK(gpusim_notifier_invalidate_end(&iv.inv));

    /* A reader or a remover that cannot queue its wait changes nothing either. */
    ASSERT_OK(start_inv(n, &iv, 0x1000, 0x3000, GPUSIM_INVALIDATOR_SYSCALL, true)); /* grows */
    fill_queue(w, evs + 32, 32);
    gpusim__alloc_fail_nth(1);
    ASSERT_ERR(gpusim_notifier_read_begin(a.sub, &seq, &r.waiter, resume, &r), GPUSIM_ENOMEM);
    gpusim__alloc_fail_nth(1);
    ASSERT_ERR(gpusim_notifier_remove(b.sub, &r.waiter, resume, &r), GPUSIM_ENOMEM);
    gpusim__alloc_fail_nth(0);
    assert_false(gpusim_waiter_waiting(&r.waiter));
    assert_int_equal(gpusim_notifier_count(n), 2);
    assert_int_equal(stat_count(w, "notifier.deferred.removes"), 0);
    ASSERT_OK(start_inv(n, &iv2, 0x2000, 0x3000, GPUSIM_INVALIDATOR_OOM_REAPER, false));
    assert_int_equal(b.calls, 3); /* b is still subscribed */
    ASSERT_OK(gpusim_notifier_invalidate_end(&iv2.inv));
    ASSERT_OK(gpusim_notifier_invalidate_end(&iv.inv));
    assert_true(gpusim__notifier_check(n));
    assert_true(gpusim__queue_check(&w->queue, w));
    FINISH(w, n, &a, &b);
}

static void test_remove_is_immediate_while_partially_excluded(void **state)
{
    (void)state;
    gpusim_notifier_t *n;
    gpusim_world_t *w = setup(&n);
    mirror_t a;
    invalidator_t iv;
    mirror_insert(n, &a, 1, 0x1000, 0x1000);
    /* An invalidation runs, but over nothing: the domain is even and the tree may change. */
    ASSERT_OK(start_inv(n, &iv, 0x8000, 0x9000, GPUSIM_INVALIDATOR_SYSCALL, true));
    assert_int_equal(gpusim_notifier_seq(n), 2);
    ASSERT_OK(gpusim_notifier_remove(a.sub, NULL, NULL, NULL));
    assert_int_equal(gpusim_notifier_count(n), 0);
    assert_int_equal(stat_count(w, "notifier.deferred.removes"), 0);
    ASSERT_OK(gpusim_notifier_invalidate_end(&iv.inv));
    ASSERT_OK(start_inv(n, &iv, 0x1000, 0x2000, GPUSIM_INVALIDATOR_SYSCALL, true));
    ASSERT_OK(gpusim_notifier_invalidate_end(&iv.inv));
    assert_int_equal(a.calls, 0); /* gone at once */
    ASSERT_OK(gpusim_notifier_free(n));
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

static void test_reentry_from_a_callback(void **state)
{
    (void)state;
    gpusim_notifier_t *n, *other;
    gpusim_world_t *w = setup(&n);
    mirror_t a, o;
    invalidator_t iv;
    ASSERT_OK(gpusim_notifier_new(w, &other));
    mirror_insert(n, &a, 1, 0x1000, 0x1000);
    mirror_insert(other, &o, 2, 0x0, 0x100000);
    /* Same domain: invalidate, read_begin and insert are refused, and nothing changes. */
    for (int mode = 1; mode <= 3; mode++) {
        a.reenter = mode;
        a.reenter_domain = n;
        ASSERT_OK(start_inv(n, &iv, 0x1000, 0x2000, GPUSIM_INVALIDATOR_SYSCALL, true));
        assert_int_equal(a.reenter_rc, GPUSIM_EDEADLK);
        ASSERT_OK(gpusim_notifier_invalidate_end(&iv.inv));
    }
    assert_int_equal(gpusim_notifier_count(n), 1);
    assert_int_equal(gpusim_notifier_active(n), 0);
    /* Another domain (another address space): allowed, and it calls that domain's mirror. */
    a.reenter = 1;
    a.reenter_domain = other;
    ASSERT_OK(start_inv(n, &iv, 0x1000, 0x2000, GPUSIM_INVALIDATOR_SYSCALL, true));
    assert_int_equal(a.reenter_rc, 0);
    assert_int_equal(o.calls, 1);
    ASSERT_OK(gpusim_notifier_invalidate_end(&iv.inv));
    /* Both domains are out of their callbacks again: a remove from outside is accepted. */
    ASSERT_OK(gpusim_notifier_remove(o.sub, NULL, NULL, NULL));
    ASSERT_OK(gpusim_notifier_free(other));
    FINISH(w, n, &a);
}

static void test_missing_set_seq_is_seen_within_one_phase(void **state)
{
    (void)state;
    gpusim_notifier_t *n;
    gpusim_world_t *w = setup(&n);
    mirror_t a;
    invalidator_t iv1, iv2;
    mirror_insert(n, &a, 1, 0x1000, 0x1000);
    ASSERT_OK(start_inv(n, &iv1, 0x1000, 0x2000, GPUSIM_INVALIDATOR_SYSCALL, true));
    /* Called again in the same phase, its sequence already equals cur_seq; still, it shows. */
    a.skip_set_seq = true;
    ASSERT_OK(start_inv(n, &iv2, 0x1000, 0x2000, GPUSIM_INVALIDATOR_KSWAPD, true));
    assert_int_equal(stat_count(w, "notifier.violations"), 1);
    ASSERT_OK(gpusim_notifier_invalidate_end(&iv2.inv));
    ASSERT_OK(gpusim_notifier_invalidate_end(&iv1.inv));
    FINISH(w, n, &a);
}

static void test_world_freed_from_a_notifier_callback(void **state)
{
    (void)state;
    /* Outside a run: invalidate_start reports ECANCELED and everything is gone. */
    gpusim_notifier_t *n;
    gpusim_world_t *w = setup(&n);
    mirror_t a, b;
    invalidator_t iv;
    (void)w;
    mirror_insert(n, &a, 1, 0x1000, 0x1000);
    mirror_insert(n, &b, 2, 0x2000, 0x1000);
    a.free_world = true;
    ASSERT_ERR(start_inv(n, &iv, 0x1000, 0x3000, GPUSIM_INVALIDATOR_SYSCALL, true),
               GPUSIM_ECANCELED);
    assert_int_equal(b.calls, 0); /* nobody after the callback that freed the world */
    assert_false(gpusim_invalidation_active(&iv.inv));
    ASSERT_NO_LEAK();
}

typedef struct starter {
    gpusim_event_t ev;
    gpusim_notifier_t *n;
    invalidator_t iv;
    int rc;
} starter_t;

static void start_from_event(gpusim_world_t *w, gpusim_event_t *ev)
{
    (void)w;
    starter_t *st = ev->data;
    st->rc = start_inv(st->n, &st->iv, 0x1000, 0x2000, GPUSIM_INVALIDATOR_KSWAPD, true);
}

static void test_world_freed_from_a_notifier_callback_during_a_run(void **state)
{
    (void)state;
    /* Inside a run: the invalidation completes, then the run ends and frees the world. */
    gpusim_notifier_t *n;
    gpusim_world_t *w = setup(&n);
    mirror_t a;
    starter_t st = {.n = n};
    mirror_insert(n, &a, 1, 0x1000, 0x1000);
    a.free_world = true;
    gpusim_event_init(&st.ev, start_from_event, &st);
    ASSERT_OK(gpusim_event_schedule(w, &st.ev, 10));
    ASSERT_ERR(gpusim_world_run(w), GPUSIM_ECANCELED);
    assert_int_equal(st.rc, 0);
    assert_int_equal(a.calls, 1);
    ASSERT_NO_LEAK();
}

static void test_gauges(void **state)
{
    (void)state;
    gpusim_notifier_t *n, *n2;
    gpusim_world_t *w = setup(&n);
    mirror_t a, b;
    invalidator_t iv;
    gpusim_stat_info_t info;
    ASSERT_OK(gpusim_notifier_new(w, &n2));
    mirror_insert(n, &a, 1, 0x1000, 0x1000);
    mirror_insert(n2, &b, 2, 0x1000, 0x1000);
    ASSERT_OK(gpusim_stats_get(w, "notifier.subscriptions", &info));
    assert_int_equal(info.value, 2);
    ASSERT_OK(start_inv(n, &iv, 0x1000, 0x2000, GPUSIM_INVALIDATOR_SYSCALL, true));
    ASSERT_ERR(gpusim_notifier_remove(a.sub, NULL, NULL, NULL), GPUSIM_EINPROGRESS);
    ASSERT_OK(gpusim_stats_get(w, "notifier.subscriptions", &info));
    assert_int_equal(info.value, 1); /* a removed subscription no longer counts */
    ASSERT_OK(gpusim_notifier_invalidate_end(&iv.inv));
    ASSERT_OK(gpusim_stats_get(w, "notifier.subscriptions", &info));
    assert_int_equal(info.value, 1);
    assert_int_equal(info.peak, 2);
    ASSERT_OK(gpusim_notifier_remove(b.sub, NULL, NULL, NULL));
    ASSERT_OK(gpusim_notifier_free(n2));
    ASSERT_OK(gpusim_stats_get(w, "notifier.domains", &info));
    assert_int_equal(info.value, 1);
    assert_int_equal(info.peak, 2);
    ASSERT_OK(gpusim_stats_get(w, "notifier.subscriptions", &info));
    assert_int_equal(info.value, 0);
    ASSERT_OK(gpusim_notifier_free(n));
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* ------------------------------------------------------------------------------------------- */
/* Randomized test against a brute-force reference                                             */
/* ------------------------------------------------------------------------------------------- */

enum { REF_SLOTS = 3000 };

typedef struct ref_sub {
    mirror_t m;
    bool live;
    uint64_t start, last;
    uint64_t order; /* insertion order: the tie-breaker among equal starts */
} ref_sub_t;

static ref_sub_t refs[REF_SLOTS];

static void random_range(gpusim_rng_t *rng, uint64_t *start, uint64_t *len)
{
    /* A 1 MiB space with page-ish granularity, so that overlaps and adjacencies are common. */
    *start = gpusim_rng_below(rng, 256) * 0x1000 + (gpusim_rng_below(rng, 4) ? 0 : 0x800);
    *len = (1 + gpusim_rng_below(rng, gpusim_rng_below(rng, 8) ? 4 : 64)) * 0x800;
}

static void test_randomized_against_reference(void **state)
{
    (void)state;
    gpusim_notifier_t *n;
    gpusim_world_t *w = setup(&n);
    gpusim_rng_t rng;
    gpusim_rng_seed(&rng, 2024, 3);
    uint64_t order = 0;
    size_t live = 0, peak = 0;
    static int expect[REF_SLOTS];
    memset(refs, 0, sizeof(refs));

    for (int step = 0; step < 30000; step++) {
        uint64_t op = gpusim_rng_below(&rng, 10);
        int slot = (int)gpusim_rng_below(&rng, REF_SLOTS);
        if (op < 5) { /* insert into a free slot */
            if (refs[slot].live)
                continue;
            uint64_t start, len;
            random_range(&rng, &start, &len);
            mirror_insert(n, &refs[slot].m, slot, start, len);
            refs[slot].live = true;
            refs[slot].start = start;
            refs[slot].last = start + len - 1;
            refs[slot].order = order++;
            live++;
            peak = live > peak ? live : peak;
        } else if (op < 7) { /* remove */
            if (!refs[slot].live)
                continue;
            ASSERT_OK(gpusim_notifier_remove(refs[slot].m.sub, NULL, NULL, NULL));
            refs[slot].live = false;
            live--;
        } else { /* invalidate a random range; compare the callbacks with the reference */
            uint64_t start, len;
            random_range(&rng, &start, &len);
            size_t k = 0;
            for (int i = 0; i < REF_SLOTS; i++)
                if (refs[i].live && refs[i].start <= start + len - 1 && start <= refs[i].last)
                    expect[k++] = i;
            /* Reference order: by start, then insertion order (insertion sort: k is small). */
            for (size_t i = 1; i < k; i++) {
                int v = expect[i];
                size_t j = i;
                while (j > 0 && (refs[expect[j - 1]].start > refs[v].start ||
                                 (refs[expect[j - 1]].start == refs[v].start &&
                                  refs[expect[j - 1]].order > refs[v].order))) {
                    expect[j] = expect[j - 1];
                    j--;
                }
                expect[j] = v;
            }
            invalidator_t iv;
            ncalls = 0;
            ASSERT_OK(start_inv(n, &iv, start, start + len, GPUSIM_INVALIDATOR_OTHER, true));
            ASSERT_OK(gpusim_notifier_invalidate_end(&iv.inv));
            assert_int_equal(ncalls, k);
            for (size_t i = 0; i < k; i++)
                assert_int_equal(call_log[i], expect[i]);
        }
        if (step % 1000 == 0)
            assert_true(gpusim__notifier_check(n));
    }
    assert_int_equal(gpusim_notifier_count(n), live);
    assert_true(peak > 1000); /* thousands of ranges, as the issue asks */
    assert_true(gpusim__notifier_check(n));
    gpusim_world_free(w); /* frees the remaining subscriptions */
    ASSERT_NO_LEAK();
}

/*
 * The same against a reference model of the protocol itself, with invalidations left open while
 * subscriptions come and go, so that deferred inserts and removes, forced-odd inserts and the
 * last-end processing are exercised in every order. The model is the rules of docs/notifier.md:
 *   insert: active && odd -> pending insert; active && even -> in tree, domain odd; idle -> in tree
 *   remove: pending insert -> gone; odd -> pending remove (still called); even -> gone
 *   start:  active++; overlapping anything in the tree (pending removes included) -> odd;
 *           callbacks: exactly those, in (start, insertion) order
 *   end:    active--; at 0 and odd: even, pending inserts join, pending removes leave
 */
enum { M_FREE = 0, M_TREE, M_PENDING_INSERT, M_PENDING_REMOVE };

static int model_state[REF_SLOTS];

static void test_randomized_with_open_invalidations(void **state)
{
    (void)state;
    gpusim_notifier_t *n;
    gpusim_world_t *w = setup(&n);
    gpusim_rng_t rng;
    gpusim_rng_seed(&rng, 77, 5);
    enum { OPEN_MAX = 4 };
    invalidator_t open[OPEN_MAX]; /* an active invalidation stays where it is: slot[] moves */
    int slot_of[OPEN_MAX] = {0, 1, 2, 3}; /* [0, nopen): open ones; the rest: free */
    int nopen = 0, model_active = 0;
    bool model_odd = false;
    uint64_t order = 0;
    static int expect[REF_SLOTS];
    memset(refs, 0, sizeof(refs));
    memset(model_state, 0, sizeof(model_state));

    for (int step = 0; step < 40000; step++) {
        uint64_t op = gpusim_rng_below(&rng, 12);
        int slot = (int)gpusim_rng_below(&rng, REF_SLOTS);
        if (op < 4) { /* insert */
            if (model_state[slot] != M_FREE)
                continue;
            uint64_t start, len;
            random_range(&rng, &start, &len);
            mirror_insert(n, &refs[slot].m, slot, start, len);
            refs[slot].start = start;
            refs[slot].last = start + len - 1;
            refs[slot].order = order++;
            if (model_active > 0 && model_odd) {
                model_state[slot] = M_PENDING_INSERT;
            } else {
                model_state[slot] = M_TREE;
                if (model_active > 0)
                    model_odd = true;
            }
        } else if (op < 7) { /* remove */
            int st = model_state[slot];
            if (st == M_FREE || st == M_PENDING_REMOVE)
                continue;
            int rc = gpusim_notifier_remove(refs[slot].m.sub, NULL, NULL, NULL);
            if (st == M_PENDING_INSERT || !model_odd) {
                ASSERT_OK(rc);
                model_state[slot] = M_FREE;
            } else {
                ASSERT_ERR(rc, GPUSIM_EINPROGRESS);
                model_state[slot] = M_PENDING_REMOVE;
            }
        } else if (op < 10 && nopen < OPEN_MAX) { /* start one, leave it open */
            uint64_t start, len;
            random_range(&rng, &start, &len);
            size_t k = 0;
            for (int i = 0; i < REF_SLOTS; i++)
                if ((model_state[i] == M_TREE || model_state[i] == M_PENDING_REMOVE) &&
                    refs[i].start <= start + len - 1 && start <= refs[i].last)
                    expect[k++] = i;
            for (size_t i = 1; i < k; i++) { /* (start, insertion order) */
                int v = expect[i];
                size_t j = i;
                while (j > 0 && (refs[expect[j - 1]].start > refs[v].start ||
                                 (refs[expect[j - 1]].start == refs[v].start &&
                                  refs[expect[j - 1]].order > refs[v].order))) {
                    expect[j] = expect[j - 1];
                    j--;
                }
                expect[j] = v;
            }
            ncalls = 0;
            ASSERT_OK(start_inv(n, &open[slot_of[nopen]], start, start + len,
                                GPUSIM_INVALIDATOR_OTHER, true));
            nopen++;
            model_active++;
            if (k > 0)
                model_odd = true;
            assert_int_equal(ncalls, k);
            for (size_t i = 0; i < k; i++)
                assert_int_equal(call_log[i], expect[i]);
        } else if (nopen > 0) { /* end a random open one */
            int i = (int)gpusim_rng_below(&rng, (uint64_t)nopen);
            int ended = slot_of[i];
            ASSERT_OK(gpusim_notifier_invalidate_end(&open[ended].inv));
            slot_of[i] = slot_of[--nopen];
            slot_of[nopen] = ended;
            model_active--;
            if (model_active == 0 && model_odd) {
                model_odd = false;
                for (int s2 = 0; s2 < REF_SLOTS; s2++) {
                    if (model_state[s2] == M_PENDING_INSERT)
                        model_state[s2] = M_TREE;
                    else if (model_state[s2] == M_PENDING_REMOVE)
                        model_state[s2] = M_FREE;
                }
            }
        }
        assert_int_equal(gpusim_notifier_active(n), (size_t)model_active);
        assert_int_equal((gpusim_notifier_seq(n) & 1) != 0, model_odd);
        if (step % 500 == 0) {
            size_t live = 0;
            for (int i = 0; i < REF_SLOTS; i++)
                live += model_state[i] == M_TREE || model_state[i] == M_PENDING_INSERT;
            assert_int_equal(gpusim_notifier_count(n), live);
            assert_true(gpusim__notifier_check(n));
        }
    }
    assert_true(stat_count(w, "notifier.deferred.inserts") > 100);
    assert_true(stat_count(w, "notifier.deferred.removes") > 100);
    while (nopen > 0)
        ASSERT_OK(gpusim_notifier_invalidate_end(&open[slot_of[--nopen]].inv));
    assert_true(gpusim__notifier_check(n));
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        GPUSIM_TEST(test_names),
        GPUSIM_TEST(test_insert_validation),
        GPUSIM_TEST(test_overlap_edges),
        GPUSIM_TEST(test_sequence_parity),
        GPUSIM_TEST(test_read_retry_interleavings),
        GPUSIM_TEST(test_other_subscriptions_do_not_collide),
        GPUSIM_TEST(test_sequence_wraps_around),
        GPUSIM_TEST(test_insert_during_invalidation_is_deferred_to_the_last_end),
        GPUSIM_TEST(test_insert_while_partially_excluded_forces_odd),
        GPUSIM_TEST(test_remove_waits_for_running_invalidations),
        GPUSIM_TEST(test_remove_from_a_callback_is_refused),
        GPUSIM_TEST(test_nonblockable_refusal_is_balanced),
        GPUSIM_TEST(test_refusal_does_not_reopen_a_range_still_being_invalidated),
        GPUSIM_TEST(test_wait_blocks_the_invalidator_for_the_completion_time),
        GPUSIM_TEST(test_callbacks_run_one_after_another),
        GPUSIM_TEST(test_concurrent_invalidators_block_independently),
        GPUSIM_TEST(test_contract_violations_are_counted),
        GPUSIM_TEST(test_bad_arguments),
        GPUSIM_TEST(test_world_teardown_frees_domains_and_subscriptions),
        GPUSIM_TEST(test_allocation_failures),
        GPUSIM_TEST(test_readers_wait_in_every_phase),
        GPUSIM_TEST(test_failures_change_nothing),
        GPUSIM_TEST(test_remove_is_immediate_while_partially_excluded),
        GPUSIM_TEST(test_reentry_from_a_callback),
        GPUSIM_TEST(test_missing_set_seq_is_seen_within_one_phase),
        GPUSIM_TEST(test_world_freed_from_a_notifier_callback),
        GPUSIM_TEST(test_world_freed_from_a_notifier_callback_during_a_run),
        GPUSIM_TEST(test_gauges),
        GPUSIM_TEST(test_randomized_against_reference),
        GPUSIM_TEST(test_randomized_with_open_invalidations),
        GPUSIM_TEST(test_check_catches_imbalance),
    };
    return cmocka_run_group_tests_name("notifier", tests, NULL, NULL);
}
