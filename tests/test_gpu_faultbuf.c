/*
 * tests/test_gpu_faultbuf.c -- the replayable fault buffer (src/gpu/faultbuf.h).
 *
 * Covers: the parameters it adds and initialisation from them; argument validation (nothing
 * changes on error) and allocation failure; push outcomes (queued, throttled at the per-uTLB
 * limit, dropped when full, a dropped fault holding its uTLB slot); fetch order (arrival order
 * for what is popped, (context, VA, arrival) for what is returned), coalescing with write merging
 * and duplicate counts, partial batches and batch 1; capacity 1; ring wrap-around; the interrupt
 * (exactly one per episode); each replay policy with its flush, stale entries after a plain
 * replay; cancel of one context among others; the checker catching corruption; and a randomized
 * run against a reference model with many contexts interleaved. The checker runs after every step.
 */
#include "test_util.h"

#include "core/world.h"
#include "gpu/faultbuf.h"
#include "gpu/params.h"
#include "gpu/pt.h"

#define PAGE GPUSIM__GPU_PAGE_SIZE
#define RD   GPUSIM__GPU_FAULT_READ
#define WR   GPUSIM__GPU_FAULT_WRITE

static gpusim__gpu_fault F(uint32_t ctx, uint64_t page, uint8_t access, uint16_t utlb)
{
    static gpusim_time_t t;
    gpusim__gpu_fault f = {
        .va = page * PAGE, .time = ++t, .ctx = ctx, .utlb = utlb, .access = access};
    return f;
}

/* Pushes a fault and checks the buffer; returns the outcome. */
static int push(gpusim__gpu_faultbuf *fb, uint32_t ctx, uint64_t page, uint8_t access,
                uint16_t utlb)
{
    gpusim__gpu_fault f = F(ctx, page, access, utlb);
    int rc = gpusim__gpu_faultbuf_push(fb, &f);
    assert_true(gpusim__gpu_faultbuf_check(fb));
    return rc;
}

static int fetch(gpusim__gpu_faultbuf *fb, gpusim__gpu_fault_coalesced *out, uint32_t max,
                 gpusim__gpu_faultbuf_fetch_info *info)
{
    int rc = gpusim__gpu_faultbuf_fetch(fb, out, max, info);
    assert_true(gpusim__gpu_faultbuf_check(fb));
    return rc;
}

/* ------------------------------------------------------------------------------------------- */
/* Parameters and initialisation                                                               */
/* ------------------------------------------------------------------------------------------- */

static void test_params_and_init_from_params(void **state)
{
    (void)state;
    uint64_t p[GPUSIM__GPU_P_COUNT];
    gpusim__gpu_params_defaults(p);
    /* cost-model.md §1.1 and §9.2. */
    assert_int_equal(p[GPUSIM__GPU_P_fault_buffer_entries], 512);
    assert_int_equal(p[GPUSIM__GPU_P_fault_batch_max], 256);
    assert_int_equal(p[GPUSIM__GPU_P_fault_outstanding_per_utlb], 56);
    assert_int_equal(p[GPUSIM__GPU_P_fault_replay_policy], GPUSIM__GPU_REPLAY_BATCH_FLUSH);
    /* §9.2's 30 us per batch includes the interrupt, which is charged on its own. */
    assert_int_equal(p[GPUSIM__GPU_P_fault_batch_fixed] + p[GPUSIM__GPU_P_fault_interrupt], 30000);
    assert_int_equal(p[GPUSIM__GPU_P_fault_sw_per_fault], 500);
    assert_int_equal(p[GPUSIM__GPU_P_fault_replay], 5000);
    assert_int_equal(p[GPUSIM__GPU_P_fault_interrupt], 5000);
    assert_int_equal(gpusim__gpu_param_desc[GPUSIM__GPU_P_fault_batch_max].max, 6144);

    gpusim_world_t *w = test_world(1);
    gpusim__gpu_faultbuf fb;
    ASSERT_OK(gpusim__gpu_faultbuf_init_params(&fb, &w->arena, p, 80));
    assert_int_equal(fb.cap, 512);
    assert_int_equal(fb.limit, 56);
    assert_int_equal(fb.nutlb, 80);
    assert_int_equal(fb.policy, GPUSIM__GPU_REPLAY_BATCH_FLUSH);
    assert_true(gpusim__gpu_faultbuf_check(&fb));
    gpusim__gpu_faultbuf_destroy(&fb);
    p[GPUSIM__GPU_P_fault_replay_policy] = 0; /* BLOCK is not modelled */
    ASSERT_ERR(gpusim__gpu_faultbuf_init_params(&fb, &w->arena, p, 80), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim__gpu_faultbuf_init_params(&fb, &w->arena, NULL, 80), GPUSIM_EINVAL);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

static void test_init_rejects_bad_arguments(void **state)
{
    (void)state;
    gpusim_world_t *w = test_world(1);
    gpusim__arena *a = &w->arena;
    gpusim__gpu_faultbuf fb, before;
    memset(&fb, 0x5a, sizeof fb);
    before = fb;
    const uint32_t M = GPUSIM__GPU_FAULTBUF_MAX_ENTRIES;
    ASSERT_ERR(gpusim__gpu_faultbuf_init(NULL, a, 8, 1, 1, 1), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim__gpu_faultbuf_init(&fb, NULL, 8, 1, 1, 1), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim__gpu_faultbuf_init(&fb, a, 0, 1, 1, 1), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim__gpu_faultbuf_init(&fb, a, M + 1, 1, 1, 1), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim__gpu_faultbuf_init(&fb, a, 8, 0, 1, 1), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim__gpu_faultbuf_init(&fb, a, 8, GPUSIM__GPU_FAULTBUF_MAX_UTLBS + 1, 1, 1),
               GPUSIM_EINVAL);
    ASSERT_ERR(gpusim__gpu_faultbuf_init(&fb, a, 8, 1, 0, 1), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim__gpu_faultbuf_init(&fb, a, 8, 1, GPUSIM__GPU_FAULTBUF_MAX_LIMIT + 1, 1),
               GPUSIM_EINVAL);
    ASSERT_ERR(gpusim__gpu_faultbuf_init(&fb, a, 8, 1, 1, 0), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim__gpu_faultbuf_init(&fb, a, 8, 1, 1, 4), GPUSIM_EINVAL);
    assert_memory_equal(&fb, &before, sizeof fb);
    /* The largest sizes are accepted. */
    ASSERT_OK(gpusim__gpu_faultbuf_init(&fb, a, M, GPUSIM__GPU_FAULTBUF_MAX_UTLBS,
                                        GPUSIM__GPU_FAULTBUF_MAX_LIMIT, GPUSIM__GPU_REPLAY_ONCE));
    assert_true(gpusim__gpu_faultbuf_check(&fb));
    gpusim__gpu_faultbuf_destroy(&fb);
    gpusim__gpu_faultbuf_destroy(&fb); /* zeroed: ignored */
    gpusim__gpu_faultbuf_destroy(NULL);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

static void test_init_allocation_failure_leaves_nothing(void **state)
{
    (void)state;
    gpusim_world_t *w = test_world(1);
    int64_t base = gpusim__alloc_outstanding();
    for (long n = 1; n <= 3; n++) {
        gpusim__gpu_faultbuf fb;
        gpusim__alloc_fail_nth(n);
        ASSERT_ERR(gpusim__gpu_faultbuf_init(&fb, &w->arena, 64, 4, 8, 1), GPUSIM_ENOMEM);
        assert_true(gpusim__alloc_fail_fired());
        assert_int_equal(gpusim__alloc_outstanding(), base);
        assert_null(fb.ring);
        gpusim__gpu_faultbuf_destroy(&fb); /* harmless on the zeroed struct */
    }
    gpusim__alloc_fail_nth(0);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* ------------------------------------------------------------------------------------------- */
/* Push                                                                                        */
/* ------------------------------------------------------------------------------------------- */

static void test_push_rejects_bad_faults(void **state)
{
    (void)state;
    gpusim_world_t *w = test_world(1);
    gpusim__gpu_faultbuf fb;
    ASSERT_OK(gpusim__gpu_faultbuf_init(&fb, &w->arena, 8, 2, 4, 1));
    gpusim__gpu_fault f = F(1, 1, RD, 0);
    ASSERT_ERR(gpusim__gpu_faultbuf_push(NULL, &f), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim__gpu_faultbuf_push(&fb, NULL), GPUSIM_EINVAL);
    f.utlb = 2;
    ASSERT_ERR(gpusim__gpu_faultbuf_push(&fb, &f), GPUSIM_EINVAL);
    f = F(1, 1, 2, 0);
    ASSERT_ERR(gpusim__gpu_faultbuf_push(&fb, &f), GPUSIM_EINVAL);
    f = F(1, 1, RD, 0);
    f.va += 8;
    ASSERT_ERR(gpusim__gpu_faultbuf_push(&fb, &f), GPUSIM_EINVAL);
    f.va = GPUSIM__GPU_VA_LIMIT;
    ASSERT_ERR(gpusim__gpu_faultbuf_push(&fb, &f), GPUSIM_EFAULT);
    f.va = UINT64_MAX & ~(PAGE - 1);
    ASSERT_ERR(gpusim__gpu_faultbuf_push(&fb, &f), GPUSIM_EFAULT);
    assert_int_equal(fb.pushed, 0);
    assert_int_equal(fb.count, 0);
    assert_int_equal(gpusim__gpu_faultbuf_outstanding(&fb, 0), 0);
    assert_false(gpusim__gpu_faultbuf_irq_due(&fb));
    /* The last page below the limit is fine. */
    f.va = GPUSIM__GPU_VA_LIMIT - PAGE;
    assert_int_equal(gpusim__gpu_faultbuf_push(&fb, &f), GPUSIM__GPU_FAULT_QUEUED);
    assert_true(gpusim__gpu_faultbuf_check(&fb));
    /* Calls on a destroyed (zeroed) buffer are refused, not crashes. */
    gpusim__gpu_faultbuf_destroy(&fb);
    gpusim__gpu_fault_coalesced out[1];
    ASSERT_ERR(gpusim__gpu_faultbuf_push(&fb, &f), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim__gpu_faultbuf_fetch(&fb, out, 1, NULL), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim__gpu_faultbuf_replay(&fb, true), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim__gpu_faultbuf_cancel(&fb, 1), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim__gpu_faultbuf_next_action(&fb), GPUSIM_EINVAL);
    assert_false(gpusim__gpu_faultbuf_check(&fb));
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

static void test_throttle_at_the_utlb_limit(void **state)
{
    (void)state;
    gpusim_world_t *w = test_world(1);
    gpusim__gpu_faultbuf fb;
    gpusim__gpu_fault_coalesced out[16];
    ASSERT_OK(gpusim__gpu_faultbuf_init(&fb, &w->arena, 16, 2, 3, GPUSIM__GPU_REPLAY_BATCH));
    for (uint64_t i = 0; i < 3; i++)
        assert_int_equal(push(&fb, 1, i, RD, 0), GPUSIM__GPU_FAULT_QUEUED);
    /* The fourth is refused and nothing is recorded. */
    assert_int_equal(push(&fb, 1, 9, RD, 0), GPUSIM__GPU_FAULT_THROTTLED);
    assert_int_equal(fb.count, 3);
    assert_int_equal(fb.throttled, 1);
    assert_int_equal(gpusim__gpu_faultbuf_outstanding(&fb, 0), 3);
    /* Another uTLB is not affected. */
    assert_int_equal(push(&fb, 1, 9, RD, 1), GPUSIM__GPU_FAULT_QUEUED);
    /* Fetched faults stay outstanding until the replay. */
    assert_int_equal(fetch(&fb, out, 16, NULL), 4);
    assert_int_equal(gpusim__gpu_faultbuf_outstanding(&fb, 0), 3);
    assert_int_equal(push(&fb, 1, 10, RD, 0), GPUSIM__GPU_FAULT_THROTTLED);
    ASSERT_OK(gpusim__gpu_faultbuf_replay(&fb, false));
    assert_true(gpusim__gpu_faultbuf_check(&fb));
    assert_int_equal(gpusim__gpu_faultbuf_outstanding(&fb, 0), 0);
    assert_int_equal(gpusim__gpu_faultbuf_outstanding(&fb, 1), 0);
    assert_int_equal(gpusim__gpu_faultbuf_outstanding(&fb, 7), 0); /* out of range */
    assert_int_equal(push(&fb, 1, 10, RD, 0), GPUSIM__GPU_FAULT_QUEUED);
    assert_int_equal(fb.pushed, 7);
    gpusim__gpu_faultbuf_destroy(&fb);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

static void test_full_buffer_drops_and_dropped_faults_hold_their_slot(void **state)
{
    (void)state;
    gpusim_world_t *w = test_world(1);
    gpusim__gpu_faultbuf fb;
    gpusim__gpu_fault_coalesced out[4];
    ASSERT_OK(gpusim__gpu_faultbuf_init(&fb, &w->arena, 2, 2, 3, GPUSIM__GPU_REPLAY_BATCH));
    assert_int_equal(push(&fb, 1, 1, RD, 0), GPUSIM__GPU_FAULT_QUEUED);
    assert_int_equal(push(&fb, 1, 2, RD, 1), GPUSIM__GPU_FAULT_QUEUED);
    assert_int_equal(push(&fb, 1, 3, RD, 0), GPUSIM__GPU_FAULT_DROPPED);
    assert_int_equal(push(&fb, 1, 4, RD, 0), GPUSIM__GPU_FAULT_DROPPED);
    assert_int_equal(fb.dropped, 2);
    assert_int_equal(fb.count, 2);
    assert_int_equal(fb.peak, 2);
    /* uTLB 0: one entry in the ring and two dropped faults, all waiting for the replay. */
    assert_int_equal(gpusim__gpu_faultbuf_outstanding(&fb, 0), 3);
    assert_int_equal(push(&fb, 1, 5, RD, 0), GPUSIM__GPU_FAULT_THROTTLED);
    /* The dropped faults never reach the driver. */
    assert_int_equal(fetch(&fb, out, 4, NULL), 2);
    assert_int_equal(out[0].f.va, 1 * PAGE);
    assert_int_equal(out[1].f.va, 2 * PAGE);
    ASSERT_OK(gpusim__gpu_faultbuf_replay(&fb, false));
    assert_int_equal(gpusim__gpu_faultbuf_outstanding(&fb, 0), 0);
    assert_int_equal(fb.nstalled, 0);
    assert_true(gpusim__gpu_faultbuf_check(&fb));
    /* After the replay the requesters raise them again, and now there is room. */
    assert_int_equal(push(&fb, 1, 3, RD, 0), GPUSIM__GPU_FAULT_QUEUED);
    assert_int_equal(push(&fb, 1, 4, RD, 0), GPUSIM__GPU_FAULT_QUEUED);
    gpusim__gpu_faultbuf_destroy(&fb);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

static void test_capacity_one(void **state)
{
    (void)state;
    gpusim_world_t *w = test_world(1);
    gpusim__gpu_faultbuf fb;
    gpusim__gpu_fault_coalesced out[1];
    gpusim__gpu_faultbuf_fetch_info info;
    ASSERT_OK(gpusim__gpu_faultbuf_init(&fb, &w->arena, 1, 1, 56, GPUSIM__GPU_REPLAY_BATCH));
    for (uint64_t round = 0; round < 5; round++) {
        assert_int_equal(push(&fb, 3, 100 + round, WR, 0), GPUSIM__GPU_FAULT_QUEUED);
        assert_int_equal(push(&fb, 3, 200 + round, RD, 0), GPUSIM__GPU_FAULT_DROPPED);
        assert_int_equal(fetch(&fb, out, 1, &info), 1);
        assert_int_equal(out[0].f.va, (100 + round) * PAGE);
        assert_int_equal(out[0].f.access, WR);
        assert_int_equal(info.remaining, 0);
        assert_int_equal(fb.head, 0);
    }
    assert_int_equal(gpusim__gpu_faultbuf_outstanding(&fb, 0), 10);
    assert_int_equal(fb.dropped, 5);
    assert_int_equal(fb.peak, 1);
    gpusim__gpu_faultbuf_destroy(&fb);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* ------------------------------------------------------------------------------------------- */
/* Fetch                                                                                       */
/* ------------------------------------------------------------------------------------------- */

static void test_fetch_sorts_by_context_then_va(void **state)
{
    (void)state;
    gpusim_world_t *w = test_world(1);
    gpusim__gpu_faultbuf fb;
    gpusim__gpu_fault_coalesced out[8];
    gpusim__gpu_faultbuf_fetch_info info;
    ASSERT_OK(gpusim__gpu_faultbuf_init(&fb, &w->arena, 8, 4, 8, GPUSIM__GPU_REPLAY_BATCH));
    static const uint32_t ctx[] = {7, 2, 7, 2, 5, 2};
    static const uint64_t page[] = {3, 9, 1, 4, 6, 1};
    for (int i = 0; i < 6; i++)
        assert_int_equal(push(&fb, ctx[i], page[i], RD, (uint16_t)(i % 4)),
                         GPUSIM__GPU_FAULT_QUEUED);
    assert_int_equal(fetch(&fb, out, 8, &info), 6);
    static const uint32_t ectx[] = {2, 2, 2, 5, 7, 7};
    static const uint64_t epage[] = {1, 4, 9, 6, 1, 3};
    for (int i = 0; i < 6; i++) {
        assert_int_equal(out[i].f.ctx, ectx[i]);
        assert_int_equal(out[i].f.va, epage[i] * PAGE);
        assert_int_equal(out[i].dups, 0);
    }
    assert_int_equal(info.raw, 6);
    assert_int_equal(info.unique, 6);
    assert_int_equal(info.duplicates, 0);
    assert_int_equal(info.remaining, 0);
    /* An empty fetch is allowed and returns nothing. */
    assert_int_equal(fetch(&fb, out, 8, &info), 0);
    assert_int_equal(info.raw, 0);
    ASSERT_ERR(gpusim__gpu_faultbuf_fetch(&fb, out, 0, NULL), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim__gpu_faultbuf_fetch(&fb, NULL, 8, NULL), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim__gpu_faultbuf_fetch(NULL, out, 8, NULL), GPUSIM_EINVAL);
    gpusim__gpu_faultbuf_destroy(&fb);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

static void test_coalescing_merges_writes_and_counts_duplicates(void **state)
{
    (void)state;
    gpusim_world_t *w = test_world(1);
    gpusim__gpu_faultbuf fb;
    gpusim__gpu_fault_coalesced out[8];
    gpusim__gpu_faultbuf_fetch_info info;
    ASSERT_OK(gpusim__gpu_faultbuf_init(&fb, &w->arena, 8, 4, 8, GPUSIM__GPU_REPLAY_BATCH));
    gpusim__gpu_fault first = F(1, 5, RD, 2);
    assert_int_equal(gpusim__gpu_faultbuf_push(&fb, &first), GPUSIM__GPU_FAULT_QUEUED);
    assert_int_equal(push(&fb, 1, 5, RD, 0), GPUSIM__GPU_FAULT_QUEUED);
    assert_int_equal(push(&fb, 1, 5, WR, 1), GPUSIM__GPU_FAULT_QUEUED);
    assert_int_equal(push(&fb, 1, 5, RD, 3), GPUSIM__GPU_FAULT_QUEUED);
    assert_int_equal(push(&fb, 2, 5, RD, 0), GPUSIM__GPU_FAULT_QUEUED); /* other context */
    assert_int_equal(push(&fb, 1, 6, RD, 0), GPUSIM__GPU_FAULT_QUEUED); /* other page */
    assert_int_equal(fetch(&fb, out, 8, &info), 3);
    assert_int_equal(out[0].f.ctx, 1);
    assert_int_equal(out[0].f.va, 5 * PAGE);
    assert_int_equal(out[0].f.access, WR); /* a write among the duplicates */
    assert_int_equal(out[0].dups, 3);
    assert_int_equal(out[0].f.utlb, 2); /* the earliest arrival's */
    assert_int_equal(out[0].f.time, first.time);
    assert_int_equal(out[0].seq, 0);
    assert_int_equal(out[1].f.va, 6 * PAGE);
    assert_int_equal(out[1].f.access, RD);
    assert_int_equal(out[2].f.ctx, 2);
    assert_int_equal(out[2].f.access, RD);
    assert_int_equal(info.raw, 6);
    assert_int_equal(info.unique, 3);
    assert_int_equal(info.duplicates, 3);
    assert_int_equal(fb.duplicates, 3);
    assert_int_equal(fb.unique, 3);
    gpusim__gpu_faultbuf_destroy(&fb);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

static void test_all_duplicates(void **state)
{
    (void)state;
    gpusim_world_t *w = test_world(1);
    gpusim__gpu_faultbuf fb;
    gpusim__gpu_fault_coalesced out[64];
    gpusim__gpu_faultbuf_fetch_info info;
    ASSERT_OK(gpusim__gpu_faultbuf_init(&fb, &w->arena, 64, 8, 8, GPUSIM__GPU_REPLAY_BATCH));
    for (int i = 0; i < 64; i++)
        assert_int_equal(push(&fb, 4, 77, RD, (uint16_t)(i % 8)), GPUSIM__GPU_FAULT_QUEUED);
    assert_int_equal(fetch(&fb, out, 64, &info), 1);
    assert_int_equal(out[0].dups, 63);
    assert_int_equal(out[0].f.access, RD);
    assert_int_equal(out[0].f.utlb, 0);
    assert_int_equal(info.duplicates, 63);
    gpusim__gpu_faultbuf_destroy(&fb);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

static void test_partial_batches_pop_oldest_first(void **state)
{
    (void)state;
    gpusim_world_t *w = test_world(1);
    gpusim__gpu_faultbuf fb;
    gpusim__gpu_fault_coalesced out[8];
    gpusim__gpu_faultbuf_fetch_info info;
    ASSERT_OK(gpusim__gpu_faultbuf_init(&fb, &w->arena, 8, 1, 8, GPUSIM__GPU_REPLAY_ONCE));
    /* Arrival order 9, 1, 5, 1, 3: a batch of 2 takes 9 and 1 (the oldest), not 1 and 1. */
    static const uint64_t page[] = {9, 1, 5, 1, 3};
    for (int i = 0; i < 5; i++)
        assert_int_equal(push(&fb, 1, page[i], RD, 0), GPUSIM__GPU_FAULT_QUEUED);
    assert_int_equal(fetch(&fb, out, 2, &info), 2);
    assert_int_equal(out[0].f.va, 1 * PAGE);
    assert_int_equal(out[1].f.va, 9 * PAGE);
    assert_int_equal(info.remaining, 3);
    /* Batch 1: one entry at a time, in arrival order. */
    static const uint64_t rest[] = {5, 1, 3};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(gpusim__gpu_faultbuf_next_action(&fb), GPUSIM__GPU_FAULT_DO_FETCH_MORE);
        assert_int_equal(fetch(&fb, out, 1, &info), 1);
        assert_int_equal(out[0].f.va, rest[i] * PAGE);
        assert_int_equal(info.remaining, (uint32_t)(2 - i));
    }
    assert_int_equal(gpusim__gpu_faultbuf_next_action(&fb), GPUSIM__GPU_FAULT_DO_REPLAY);
    gpusim__gpu_faultbuf_destroy(&fb);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

static void test_ring_wraps_around(void **state)
{
    (void)state;
    gpusim_world_t *w = test_world(1);
    gpusim__gpu_faultbuf fb;
    gpusim__gpu_fault_coalesced out[5];
    ASSERT_OK(gpusim__gpu_faultbuf_init(&fb, &w->arena, 5, 2, 8, GPUSIM__GPU_REPLAY_BATCH));
    /* Push 3, pop 2, so head and tail chase each other around the 5 slots many times; pages grow
     * so each popped batch must be exactly the next ones in arrival order. */
    uint64_t next_push = 0, next_pop = 0;
    bool wrapped = false;
    for (int round = 0; round < 40; round++) {
        for (int k = 0; k < 3 && fb.count < fb.cap; k++)
            assert_int_equal(push(&fb, 1, next_push++, RD, (uint16_t)(k & 1)),
                             GPUSIM__GPU_FAULT_QUEUED);
        wrapped |= fb.head + fb.count > fb.cap;
        int n = fetch(&fb, out, 2, NULL);
        for (int i = 0; i < n; i++)
            assert_int_equal(out[i].f.va, (next_pop++) * PAGE);
        ASSERT_OK(gpusim__gpu_faultbuf_replay(&fb, false));
        assert_true(gpusim__gpu_faultbuf_check(&fb));
    }
    assert_true(wrapped);
    while (fb.count > 0) {
        int n = fetch(&fb, out, 5, NULL);
        for (int i = 0; i < n; i++)
            assert_int_equal(out[i].f.va, (next_pop++) * PAGE);
    }
    assert_int_equal(next_pop, next_push);
    assert_int_equal(fb.fetched_raw, next_push);
    gpusim__gpu_faultbuf_destroy(&fb);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* ------------------------------------------------------------------------------------------- */
/* Interrupt, policies, replay, cancel                                                         */
/* ------------------------------------------------------------------------------------------- */

static void test_one_interrupt_per_episode(void **state)
{
    (void)state;
    gpusim_world_t *w = test_world(1);
    gpusim__gpu_faultbuf fb;
    gpusim__gpu_fault_coalesced out[8];
    ASSERT_OK(gpusim__gpu_faultbuf_init(&fb, &w->arena, 8, 1, 8, GPUSIM__GPU_REPLAY_BATCH));
    assert_false(gpusim__gpu_faultbuf_irq_due(&fb));
    assert_false(gpusim__gpu_faultbuf_irq_take(&fb));
    push(&fb, 1, 1, RD, 0);
    assert_true(gpusim__gpu_faultbuf_irq_due(&fb));
    assert_true(gpusim__gpu_faultbuf_irq_take(&fb));
    assert_false(gpusim__gpu_faultbuf_irq_take(&fb)); /* exactly one */
    push(&fb, 1, 2, RD, 0);
    assert_false(gpusim__gpu_faultbuf_irq_due(&fb)); /* same episode */
    assert_true(gpusim__gpu_faultbuf_check(&fb));
    /* A batch of 1 leaves an entry but starts no episode: the driver knows from `remaining`. */
    assert_int_equal(fetch(&fb, out, 1, NULL), 1);
    assert_false(gpusim__gpu_faultbuf_irq_due(&fb));
    /* A fault after the fetch starts a new one. */
    push(&fb, 1, 3, RD, 0);
    assert_true(gpusim__gpu_faultbuf_irq_take(&fb));
    assert_int_equal(fb.interrupts, 2);
    /* A flushing replay ends the episode too: the next fault interrupts again. */
    assert_int_equal(gpusim__gpu_faultbuf_replay(&fb, true), 2);
    assert_false(gpusim__gpu_faultbuf_irq_due(&fb));
    push(&fb, 1, 4, RD, 0);
    assert_true(gpusim__gpu_faultbuf_irq_take(&fb));
    /* A plain replay does not: the interrupt already taken covers what is in the ring. */
    ASSERT_OK(gpusim__gpu_faultbuf_replay(&fb, false));
    push(&fb, 1, 5, RD, 0);
    assert_false(gpusim__gpu_faultbuf_irq_due(&fb));
    /* Cancelling everything leaves no interrupt due. */
    assert_int_equal(fetch(&fb, out, 8, NULL), 2);
    push(&fb, 9, 1, RD, 0);
    assert_true(gpusim__gpu_faultbuf_irq_due(&fb));
    assert_int_equal(gpusim__gpu_faultbuf_cancel(&fb, 9), 1);
    assert_false(gpusim__gpu_faultbuf_irq_due(&fb));
    assert_int_equal(fb.interrupts, 3);
    gpusim__gpu_faultbuf_destroy(&fb);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

static void test_policy_batch_replays_without_flush_leaving_stale_entries(void **state)
{
    (void)state;
    gpusim_world_t *w = test_world(1);
    gpusim__gpu_faultbuf fb;
    gpusim__gpu_fault_coalesced out[8];
    ASSERT_OK(gpusim__gpu_faultbuf_init(&fb, &w->arena, 8, 1, 8, GPUSIM__GPU_REPLAY_BATCH));
    for (uint64_t i = 0; i < 5; i++)
        push(&fb, 1, i, RD, 0);
    assert_int_equal(fetch(&fb, out, 2, NULL), 2);
    assert_int_equal(gpusim__gpu_faultbuf_next_action(&fb), GPUSIM__GPU_FAULT_DO_REPLAY);
    assert_int_equal(gpusim__gpu_faultbuf_replay(&fb, false), 0);
    assert_true(gpusim__gpu_faultbuf_check(&fb));
    /* The three left behind are stale: their requesters retried, so they hold no slot. */
    assert_int_equal(fb.count, 3);
    assert_int_equal(gpusim__gpu_faultbuf_outstanding(&fb, 0), 0);
    assert_int_equal(fb.replays, 1);
    /* The requesters fault again: duplicates across batches, as UVM sees under BATCH. */
    push(&fb, 1, 2, RD, 0);
    assert_int_equal(gpusim__gpu_faultbuf_outstanding(&fb, 0), 1);
    assert_int_equal(fetch(&fb, out, 8, NULL), 3);
    assert_int_equal(out[0].f.va, 2 * PAGE);
    assert_int_equal(out[0].dups, 1);
    /* Only the fresh fault is stalled; the stale ones were not recorded. */
    assert_int_equal(fb.nstalled, 1);
    assert_int_equal(gpusim__gpu_faultbuf_outstanding(&fb, 0), 1);
    assert_int_equal(fb.flushed, 0);
    gpusim__gpu_faultbuf_destroy(&fb);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

static void test_policy_batch_flush_discards_the_rest(void **state)
{
    (void)state;
    gpusim_world_t *w = test_world(1);
    gpusim__gpu_faultbuf fb;
    gpusim__gpu_fault_coalesced out[8];
    ASSERT_OK(gpusim__gpu_faultbuf_init(&fb, &w->arena, 8, 2, 8, GPUSIM__GPU_REPLAY_BATCH_FLUSH));
    for (uint64_t i = 0; i < 6; i++)
        push(&fb, 1, i, RD, (uint16_t)(i & 1));
    assert_int_equal(fetch(&fb, out, 2, NULL), 2);
    assert_int_equal(gpusim__gpu_faultbuf_next_action(&fb), GPUSIM__GPU_FAULT_DO_REPLAY_FLUSH);
    assert_int_equal(gpusim__gpu_faultbuf_replay(&fb, true), 4);
    assert_true(gpusim__gpu_faultbuf_check(&fb));
    assert_int_equal(fb.count, 0);
    assert_int_equal(fb.flushed, 4);
    assert_int_equal(fb.replays, 1);
    assert_int_equal(gpusim__gpu_faultbuf_outstanding(&fb, 0), 0);
    assert_int_equal(gpusim__gpu_faultbuf_outstanding(&fb, 1), 0);
    assert_int_equal(gpusim__gpu_faultbuf_next_action(&fb), GPUSIM__GPU_FAULT_DO_REPLAY_FLUSH);
    ASSERT_ERR(gpusim__gpu_faultbuf_replay(NULL, true), GPUSIM_EINVAL);
    gpusim__gpu_faultbuf_destroy(&fb);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

static void test_policy_once_drains_before_replaying(void **state)
{
    (void)state;
    gpusim_world_t *w = test_world(1);
    gpusim__gpu_faultbuf fb;
    gpusim__gpu_fault_coalesced out[4];
    ASSERT_OK(gpusim__gpu_faultbuf_init(&fb, &w->arena, 16, 1, 16, GPUSIM__GPU_REPLAY_ONCE));
    for (uint64_t i = 0; i < 10; i++)
        push(&fb, 1, i, RD, 0);
    int batches = 0;
    do {
        fetch(&fb, out, 4, NULL);
        batches++;
        if (batches == 2)
            push(&fb, 1, 99, WR, 0); /* arrives while draining: serviced before the replay */
    } while (gpusim__gpu_faultbuf_next_action(&fb) == GPUSIM__GPU_FAULT_DO_FETCH_MORE);
    assert_int_equal(batches, 3);
    assert_int_equal(fb.fetched_raw, 11);
    assert_int_equal(gpusim__gpu_faultbuf_next_action(&fb), GPUSIM__GPU_FAULT_DO_REPLAY);
    assert_int_equal(gpusim__gpu_faultbuf_outstanding(&fb, 0), 11);
    ASSERT_OK(gpusim__gpu_faultbuf_replay(&fb, false));
    assert_int_equal(gpusim__gpu_faultbuf_outstanding(&fb, 0), 0);
    assert_int_equal(fb.replays, 1);
    assert_true(gpusim__gpu_faultbuf_check(&fb));
    gpusim__gpu_faultbuf_destroy(&fb);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

static void test_cancel_removes_one_context_only(void **state)
{
    (void)state;
    gpusim_world_t *w = test_world(1);
    gpusim__gpu_faultbuf fb;
    gpusim__gpu_fault_coalesced out[8];
    ASSERT_OK(gpusim__gpu_faultbuf_init(&fb, &w->arena, 6, 2, 8, GPUSIM__GPU_REPLAY_BATCH));
    /* Move the head so the ring wraps: push 4, fetch 4 (ctx 2's faults become stalled). */
    for (uint64_t i = 0; i < 4; i++)
        push(&fb, (uint32_t)(i & 1) + 1, 50 + i, RD, 0);
    assert_int_equal(fetch(&fb, out, 8, NULL), 4);
    /* Interleave contexts 1, 2, 3 around the wrap; one of ctx 2's is dropped. */
    static const uint32_t ctx[] = {1, 2, 3, 2, 1, 2, 2};
    for (int i = 0; i < 7; i++)
        push(&fb, ctx[i], (uint64_t)i, RD, (uint16_t)(i & 1));
    assert_int_equal(fb.dropped, 1);
    assert_true(fb.head + fb.count > fb.cap);
    uint32_t before0 = gpusim__gpu_faultbuf_outstanding(&fb, 0);
    uint32_t before1 = gpusim__gpu_faultbuf_outstanding(&fb, 1);
    assert_int_equal(gpusim__gpu_faultbuf_cancel(&fb, 2), 3);
    assert_true(gpusim__gpu_faultbuf_check(&fb));
    assert_int_equal(fb.cancelled, 3);
    /* Released: ctx 2's ring entries (pages 1, 3 and 5, on uTLB 1), its two stalled fetches
     * (uTLB 0) and its dropped fault (uTLB 0). */
    assert_int_equal(gpusim__gpu_faultbuf_outstanding(&fb, 0), before0 - 3);
    assert_int_equal(gpusim__gpu_faultbuf_outstanding(&fb, 1), before1 - 3);
    /* The other contexts' entries are intact and in arrival order. */
    assert_int_equal(fb.count, 3);
    static const uint32_t keep_ctx[] = {1, 3, 1};
    static const uint64_t keep_page[] = {0, 2, 4};
    for (uint32_t i = 0; i < 3; i++) {
        const gpusim__gpu_faultbuf_entry *e = &fb.ring[(fb.head + i) % fb.cap];
        assert_int_equal(e->f.ctx, keep_ctx[i]);
        assert_int_equal(e->f.va, keep_page[i] * PAGE);
    }
    assert_int_equal(gpusim__gpu_faultbuf_cancel(&fb, 2), 0); /* nothing left of it */
    assert_int_equal(gpusim__gpu_faultbuf_cancel(&fb, 42), 0);
    assert_int_equal(fetch(&fb, out, 8, NULL), 3);
    assert_int_equal(out[0].f.ctx, 1);
    assert_int_equal(out[2].f.ctx, 3);
    gpusim__gpu_faultbuf_destroy(&fb);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

static void test_check_detects_corruption(void **state)
{
    (void)state;
    gpusim_world_t *w = test_world(1);
    gpusim__gpu_faultbuf fb;
    ASSERT_OK(gpusim__gpu_faultbuf_init(&fb, &w->arena, 4, 2, 4, GPUSIM__GPU_REPLAY_BATCH));
    push(&fb, 1, 1, RD, 0);
    push(&fb, 1, 2, RD, 1);
    assert_true(gpusim__gpu_faultbuf_check(&fb));
    fb.outstanding[1]++;
    assert_false(gpusim__gpu_faultbuf_check(&fb));
    fb.outstanding[1]--;
    fb.ring[fb.head].seq = 5; /* arrival order broken */
    assert_false(gpusim__gpu_faultbuf_check(&fb));
    fb.ring[fb.head].seq = 0;
    fb.dropped++;
    assert_false(gpusim__gpu_faultbuf_check(&fb));
    fb.dropped--;
    fb.head = fb.cap;
    assert_false(gpusim__gpu_faultbuf_check(&fb));
    fb.head = 0;
    fb.ring[1].f.va |= 1;
    assert_false(gpusim__gpu_faultbuf_check(&fb));
    fb.ring[1].f.va &= ~UINT64_C(1);
    fb.peak = 1;
    assert_false(gpusim__gpu_faultbuf_check(&fb));
    fb.peak = 2;
    assert_true(gpusim__gpu_faultbuf_check(&fb));
    assert_false(gpusim__gpu_faultbuf_check(NULL));
    gpusim__gpu_faultbuf_destroy(&fb);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

/* ------------------------------------------------------------------------------------------- */
/* Randomized run against a reference model                                                    */
/* ------------------------------------------------------------------------------------------- */

enum { RCAP = 24, RUTLB = 6, RLIMIT = 10, RCTX = 16, RPAGES = 6, RSTEPS = 6000 };

typedef struct ref_ent {
    gpusim__gpu_fault f;
    uint64_t seq;
    bool current;
} ref_ent;

typedef struct ref_model {
    ref_ent ring[RCAP]; /* oldest first */
    uint32_t n;
    uint32_t outstanding[RUTLB];
    uint32_t stalled[RCTX][RUTLB]; /* fetched or dropped, per context and uTLB */
    uint64_t next_seq;
} ref_model;

static uint64_t lcg(uint64_t *s)
{
    *s = *s * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
    return *s >> 33;
}

/* The batch the reference expects from popping `raw` entries: selection sort, then coalescing. */
static uint32_t ref_fetch(ref_model *m, uint32_t max, gpusim__gpu_fault_coalesced *exp)
{
    uint32_t raw = m->n < max ? m->n : max;
    ref_ent popped[RCAP];
    memcpy(popped, m->ring, raw * sizeof(ref_ent));
    memmove(m->ring, m->ring + raw, (m->n - raw) * sizeof(ref_ent));
    m->n -= raw;
    for (uint32_t i = 0; i < raw; i++)
        if (popped[i].current)
            m->stalled[popped[i].f.ctx][popped[i].f.utlb]++;
    bool used[RCAP] = {false};
    uint32_t unique = 0;
    for (uint32_t k = 0; k < raw; k++) {
        int best = -1;
        for (uint32_t i = 0; i < raw; i++) {
            if (used[i])
                continue;
            const ref_ent *a = &popped[i];
            if (best < 0 || a->f.ctx < popped[best].f.ctx ||
                (a->f.ctx == popped[best].f.ctx && a->f.va < popped[best].f.va))
                best = (int)i; /* strict: the earliest arrival wins ties */
        }
        used[best] = true;
        const ref_ent *b = &popped[best];
        if (unique > 0 && exp[unique - 1].f.ctx == b->f.ctx && exp[unique - 1].f.va == b->f.va) {
            exp[unique - 1].dups++;
            if (b->f.access == WR)
                exp[unique - 1].f.access = WR;
        } else {
            exp[unique].f = b->f;
            exp[unique].seq = b->seq;
            exp[unique].dups = 0;
            unique++;
        }
    }
    return unique;
}

static void run_random(uint64_t seed, unsigned policy, uint64_t *digest)
{
    gpusim_world_t *w = test_world(seed);
    gpusim__gpu_faultbuf fb;
    ASSERT_OK(gpusim__gpu_faultbuf_init(&fb, &w->arena, RCAP, RUTLB, RLIMIT, policy));
    static ref_model m;
    memset(&m, 0, sizeof m);
    uint64_t s = seed;
    gpusim__gpu_fault_coalesced out[RCAP], exp[RCAP];
    for (int step = 0; step < RSTEPS; step++) {
        uint64_t r = lcg(&s) % 100;
        if (r < 70) {
            gpusim__gpu_fault f = {.va = (lcg(&s) % RPAGES) * PAGE,
                                   .time = (gpusim_time_t)step,
                                   .ctx = (uint32_t)(lcg(&s) % RCTX),
                                   .utlb = (uint16_t)(lcg(&s) % RUTLB),
                                   .access = (uint8_t)(lcg(&s) % 4 == 0 ? WR : RD)};
            int expect;
            if (m.outstanding[f.utlb] >= RLIMIT) {
                expect = GPUSIM__GPU_FAULT_THROTTLED;
            } else if (m.n == RCAP) {
                expect = GPUSIM__GPU_FAULT_DROPPED;
                m.outstanding[f.utlb]++;
                m.stalled[f.ctx][f.utlb]++;
            } else {
                expect = GPUSIM__GPU_FAULT_QUEUED;
                m.outstanding[f.utlb]++;
                m.ring[m.n++] = (ref_ent){.f = f, .seq = m.next_seq++, .current = true};
            }
            assert_int_equal(gpusim__gpu_faultbuf_push(&fb, &f), expect);
            *digest = *digest * 31 + (uint64_t)expect;
        } else if (r < 88) {
            uint32_t max = 1 + (uint32_t)(lcg(&s) % 8);
            uint32_t ne = ref_fetch(&m, max, exp);
            assert_int_equal(gpusim__gpu_faultbuf_fetch(&fb, out, max, NULL), (int)ne);
            for (uint32_t i = 0; i < ne; i++) {
                assert_int_equal(out[i].f.ctx, exp[i].f.ctx);
                assert_int_equal(out[i].f.va, exp[i].f.va);
                assert_int_equal(out[i].f.access, exp[i].f.access);
                assert_int_equal(out[i].f.utlb, exp[i].f.utlb);
                assert_int_equal(out[i].seq, exp[i].seq);
                assert_int_equal(out[i].dups, exp[i].dups);
                *digest = *digest * 31 + out[i].seq * 7 + out[i].dups;
            }
        } else if (r < 97) {
            bool flush = policy == GPUSIM__GPU_REPLAY_BATCH_FLUSH;
            if (flush)
                m.n = 0;
            for (uint32_t i = 0; i < m.n; i++)
                m.ring[i].current = false;
            memset(m.outstanding, 0, sizeof m.outstanding);
            memset(m.stalled, 0, sizeof m.stalled);
            assert_true(gpusim__gpu_faultbuf_replay(&fb, flush) >= 0);
        } else {
            uint32_t ctx = (uint32_t)(lcg(&s) % RCTX);
            uint32_t k = 0, removed = 0;
            for (uint32_t i = 0; i < m.n; i++) {
                if (m.ring[i].f.ctx == ctx) {
                    if (m.ring[i].current)
                        m.outstanding[m.ring[i].f.utlb]--;
                    removed++;
                } else {
                    m.ring[k++] = m.ring[i];
                }
            }
            m.n = k;
            for (uint32_t u = 0; u < RUTLB; u++) {
                m.outstanding[u] -= m.stalled[ctx][u];
                m.stalled[ctx][u] = 0;
            }
            assert_int_equal(gpusim__gpu_faultbuf_cancel(&fb, ctx), (int)removed);
        }
        assert_true(gpusim__gpu_faultbuf_check(&fb));
        assert_int_equal(fb.count, m.n);
        for (uint32_t u = 0; u < RUTLB; u++)
            assert_int_equal(gpusim__gpu_faultbuf_outstanding(&fb, u), m.outstanding[u]);
    }
    assert_true(fb.dropped > 0 && fb.throttled > 0 && fb.duplicates > 0 && fb.cancelled > 0);
    *digest = *digest * 31 + fb.pushed + fb.dropped * 3 + fb.throttled * 5;
    gpusim__gpu_faultbuf_destroy(&fb);
    gpusim_world_free(w);
}

static void test_random_against_reference(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        uint64_t d1 = 0, d2 = 0, d3 = 0;
        run_random(seed, GPUSIM__GPU_REPLAY_BATCH, &d1);
        run_random(seed, GPUSIM__GPU_REPLAY_BATCH, &d2);
        run_random(seed, GPUSIM__GPU_REPLAY_BATCH_FLUSH, &d3);
        assert_true(d1 == d2); /* deterministic */
        assert_true(d1 != d3);
    }
    ASSERT_NO_LEAK();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        GPUSIM_TEST(test_params_and_init_from_params),
        GPUSIM_TEST(test_init_rejects_bad_arguments),
        GPUSIM_TEST(test_init_allocation_failure_leaves_nothing),
        GPUSIM_TEST(test_push_rejects_bad_faults),
        GPUSIM_TEST(test_throttle_at_the_utlb_limit),
        GPUSIM_TEST(test_full_buffer_drops_and_dropped_faults_hold_their_slot),
        GPUSIM_TEST(test_capacity_one),
        GPUSIM_TEST(test_fetch_sorts_by_context_then_va),
        GPUSIM_TEST(test_coalescing_merges_writes_and_counts_duplicates),
        GPUSIM_TEST(test_all_duplicates),
        GPUSIM_TEST(test_partial_batches_pop_oldest_first),
        GPUSIM_TEST(test_ring_wraps_around),
        GPUSIM_TEST(test_one_interrupt_per_episode),
        GPUSIM_TEST(test_policy_batch_replays_without_flush_leaving_stale_entries),
        GPUSIM_TEST(test_policy_batch_flush_discards_the_rest),
        GPUSIM_TEST(test_policy_once_drains_before_replaying),
        GPUSIM_TEST(test_cancel_removes_one_context_only),
        GPUSIM_TEST(test_check_detects_corruption),
        GPUSIM_TEST(test_random_against_reference),
    };
    return cmocka_run_group_tests_name("gpu_faultbuf", tests, NULL, NULL);
}
