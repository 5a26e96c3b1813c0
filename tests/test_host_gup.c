/*
 * tests/test_host_gup.c -- pinning (gpusim_process_pin / _unpin) and hmm_range_fault
 * (gpusim_process_range_fault) of the simulated host (src/host/gup.c): counts, the locked-memory
 * limit, costs, long-term pins of ZONE_MOVABLE pages, snapshot and fault outputs, collisions.
 */
#include "test_util.h"
#include "host_util.h"

#include <stdlib.h>

#include "host/host.h"

#define MIB  GPUSIM_MIB
#define PAGE GPUSIM_HOST_PAGE_SIZE
#define HUGE GPUSIM_HOST_HUGE_SIZE
#define RW   (GPUSIM_PROT_READ | GPUSIM_PROT_WRITE)
#define ANON GPUSIM_MAP_PRIVATE
#define FIX  (GPUSIM_MAP_PRIVATE | GPUSIM_MAP_FIXED)

/* Fixed addresses, so that tests know where holes are (and 2 MiB alignment). */
#define A_ADDR UINT64_C(0x10000000) /* read-write anonymous */
#define R_ADDR UINT64_C(0x10100000) /* read-only anonymous */
#define N_ADDR UINT64_C(0x10200000) /* PROT_NONE */
#define HOLE   UINT64_C(0x10300000) /* nothing mapped */
#define H_ADDR UINT64_C(0x40000000) /* THP region */

/* ---- fixture -------------------------------------------------------------------------------- */

typedef struct seen {
    uint64_t start, end;
    gpusim_notifier_event_t event;
    gpusim_invalidator_t kind;
    bool blockable;
} seen;

typedef struct fx {
    gpusim_world_t *w;
    gpusim_host_t *h;
    gpusim_process_t *p;
    gpusim_notifier_sub_t *sub;
    seen log[64];
    int nlog;
    gpusim_completion_t fence; /* when `block` is set, blockable callbacks wait on it */
    bool block;
} fx;

static gpusim_notifier_answer_t record(gpusim_notifier_sub_t *sub, const gpusim_notifier_range_t *r,
                                       uint64_t cur_seq, gpusim_completion_t **wait_on)
{
    fx *f = gpusim_notifier_sub_data(sub);
    gpusim_notifier_set_seq(sub, cur_seq);
    if (f->nlog < 64)
        f->log[f->nlog++] = (seen){r->start, r->end, r->event, r->invalidator, r->blockable};
    if (f->block && r->blockable && !gpusim_completion_done(&f->fence)) {
        *wait_on = &f->fence;
        return GPUSIM_NOTIFIER_WAIT;
    }
    return GPUSIM_NOTIFIER_DONE;
}

/* A subscription that only keeps the sequence (as dmirror's snapshot notifier). */
static gpusim_notifier_answer_t keep_seq(gpusim_notifier_sub_t *sub,
                                         const gpusim_notifier_range_t *r, uint64_t cur_seq,
                                         gpusim_completion_t **wait_on)
{
    (void)r;
    (void)wait_on;
    gpusim_notifier_set_seq(sub, cur_seq);
    return GPUSIM_NOTIFIER_DONE;
}

static void check(fx *f)
{
    host_check_ok(f->h);
}

static fx *fx_new_cfg(gpusim_host_config_t *cfg, uint64_t memlock)
{
    static fx f;
    gpusim_process_config_t pc;
    memset(&f, 0, sizeof f);
    f.w = test_world(1);
    ASSERT_OK(gpusim_host_new(f.w, cfg, &f.h));
    gpusim_process_config_init(&pc);
    pc.name = "app";
    pc.memlock_limit = memlock;
    ASSERT_OK(gpusim_process_new(f.h, &pc, &f.p));
    gpusim_completion_init(&f.fence, NULL);
    ASSERT_OK(gpusim_notifier_insert(gpusim_process_notifier(f.p), 0, GPUSIM_HOST_VA_END, record,
                                     &f, &f.sub));
    return &f;
}

static void base_cfg(gpusim_host_config_t *cfg, uint64_t ram, bool data_mode)
{
    gpusim_host_config_init(cfg);
    cfg->ram_bytes = ram;
    cfg->swap_bytes = 16 * MIB;
    cfg->data_mode = data_mode;
    cfg->thp = GPUSIM_THP_MADVISE;
    cfg->khugepaged = false; /* its wakes would only stretch the runs of these tests */
}

static fx *fx_new(uint64_t ram, bool data_mode)
{
    gpusim_host_config_t cfg;
    base_cfg(&cfg, ram, data_mode);
    return fx_new_cfg(&cfg, UINT64_MAX);
}

static void fx_free(fx *f)
{
    gpusim_world_free(f->w);
    ASSERT_NO_LEAK();
}

static int finish(fx *f, call *c)
{
    return host_finish(f->w, f->h, c);
}

static uint64_t param(fx *f, const char *name)
{
    uint64_t v;
    ASSERT_OK(gpusim_host_config_get(&f->h->cfg, name, &v));
    return v;
}

static uint64_t stat_count(fx *f, const char *name)
{
    gpusim_stat_info_t i;
    ASSERT_OK(gpusim_stats_get(f->w, name, &i));
    return i.count;
}

static void do_mmap_at(fx *f, uint64_t addr, uint64_t len, unsigned prot)
{
    call c = {.w = f->w};
    ASSERT_OK(gpusim_process_mmap(f->p, addr, len, prot, FIX, NULL, 0, call_cb, &c));
    ASSERT_OK(finish(f, &c));
    assert_int_equal(c.result, addr);
}

static int do_access(fx *f, uint64_t addr, uint64_t len, gpusim_access_t kind, void *buf)
{
    call c = {.w = f->w};
    ASSERT_OK(gpusim_process_access(f->p, addr, len, kind, buf, call_cb, &c));
    return finish(f, &c);
}

static int do_munmap(fx *f, uint64_t addr, uint64_t len)
{
    call c = {.w = f->w};
    ASSERT_OK(gpusim_process_munmap(f->p, addr, len, call_cb, &c));
    return finish(f, &c);
}

static int do_madvise(fx *f, uint64_t addr, uint64_t len, gpusim_madvise_t adv)
{
    call c = {.w = f->w};
    ASSERT_OK(gpusim_process_madvise(f->p, addr, len, adv, call_cb, &c));
    return finish(f, &c);
}

/* Pins and runs to completion; returns the status, *result the pages pinned, *took the time. */
static int do_pin(fx *f, uint64_t addr, uint64_t n, unsigned flags, uint64_t *pfns,
                  uint64_t *result, gpusim_time_t *took)
{
    call c = {.w = f->w};
    gpusim_time_t t0 = gpusim_world_now(f->w);
    ASSERT_OK(gpusim_process_pin(f->p, addr, n, flags, pfns, call_cb, &c));
    int rc = finish(f, &c);
    if (result)
        *result = c.result;
    if (took)
        *took = c.at - t0;
    return rc;
}

static int do_hmm(fx *f, gpusim_notifier_sub_t *sub, uint64_t seq, uint64_t start, uint64_t n,
                  uint64_t def, uint64_t mask, uint64_t *pfns, uint64_t *result)
{
    call c = {.w = f->w};
    ASSERT_OK(gpusim_process_range_fault(f->p, sub, seq, start, n, def, mask, pfns, call_cb, &c));
    int rc = finish(f, &c);
    if (result)
        *result = c.result;
    return rc;
}

static gpusim_host_pte_t pte_at(fx *f, uint64_t va)
{
    gpusim_host_pte_t e;
    ASSERT_OK(gpusim_process_translate(f->p, va, &e));
    return e;
}

static gpusim_frame_info_t frame_at(fx *f, uint64_t pfn)
{
    gpusim_frame_info_t fi;
    ASSERT_OK(gpusim_host_frame_info(f->h, pfn, &fi));
    return fi;
}

static uint64_t pinned_bytes(fx *f)
{
    gpusim_process_info_t info;
    ASSERT_OK(gpusim_process_info(f->p, &info));
    return info.pinned;
}

static uint64_t host_pinned(fx *f)
{
    gpusim_host_meminfo_t mi;
    ASSERT_OK(gpusim_host_meminfo(f->h, &mi));
    return mi.pinned;
}

/* ---- pinning -------------------------------------------------------------------------------- */

/* A write pin faults pages in, raises pin and reference counts, and returns what translate says. */
static void test_pin_faults_in(void **state)
{
    fx *f = fx_new(32 * MIB, false);
    uint64_t pfns[8], n;
    gpusim_time_t took;
    (void)state;
    do_mmap_at(f, A_ADDR, 16 * PAGE, RW);
    f->nlog = 0;
    ASSERT_OK(do_pin(f, A_ADDR, 8, GPUSIM_PIN_WRITE, pfns, &n, &took));
    assert_int_equal(n, 8);
    for (uint64_t i = 0; i < 8; i++) {
        gpusim_host_pte_t e = pte_at(f, A_ADDR + i * PAGE);
        gpusim_frame_info_t fi = frame_at(f, pfns[i]);
        assert_true(e.present && e.writable);
        assert_int_equal(e.pfn, pfns[i]);
        assert_int_not_equal(pfns[i], 0);
        assert_int_equal(fi.pincount, 1);
        assert_int_equal(fi.mapcount, 1);
        assert_int_equal(fi.refcount, 2);
    }
    assert_false(pte_at(f, A_ADDR + 8 * PAGE).present); /* only what was asked */
    assert_int_equal(f->nlog, 0);                       /* faulting in announces nothing */
    assert_true(f->p->has_pinned);
    assert_int_equal(pinned_bytes(f), 8 * PAGE);
    assert_int_equal(host_pinned(f), 8 * PAGE);
    assert_int_equal(stat_count(f, "host.pin.pages"), 8);
    /* Slow path: the fault's cost plus the fast pin per page. */
    assert_int_equal(took, 8 * (param(f, "fault_anon_4k") + param(f, "pin_fast_4k")));
    /* Present pages pin on the fast path only; a second pin of a page raises its count again. */
    ASSERT_OK(do_pin(f, A_ADDR, 8, GPUSIM_PIN_WRITE, pfns, &n, &took));
    assert_int_equal(took, 8 * param(f, "pin_fast_4k"));
    assert_int_equal(frame_at(f, pfns[0]).pincount, 2);
    assert_int_equal(frame_at(f, pfns[0]).refcount, 3);
    assert_int_equal(host_pinned(f), 8 * PAGE); /* frames with pins, not pins */
    assert_int_equal(pinned_bytes(f), 16 * PAGE);
    fx_free(f);
}

/* Long-term pins of pages that need a fault cost the fault plus pin_longterm_4k. */
static void test_pin_longterm_cost(void **state)
{
    fx *f = fx_new(32 * MIB, false);
    uint64_t pfns[4];
    gpusim_time_t took;
    (void)state;
    do_mmap_at(f, A_ADDR, 4 * PAGE, RW);
    ASSERT_OK(do_pin(f, A_ADDR, 4, GPUSIM_PIN_WRITE | GPUSIM_PIN_LONGTERM, pfns, NULL, &took));
    assert_int_equal(took, 4 * (param(f, "fault_anon_4k") + param(f, "pin_longterm_4k")));
    fx_free(f);
}

/* Over RLIMIT_MEMLOCK: ENOMEM at the call, counted, and nothing is pinned or faulted. */
static void test_pin_memlock_limit(void **state)
{
    gpusim_host_config_t cfg;
    fx *f;
    call c = {0};
    uint64_t pfns[8];
    (void)state;
    base_cfg(&cfg, 32 * MIB, false);
    f = fx_new_cfg(&cfg, 4 * PAGE);
    c.w = f->w;
    do_mmap_at(f, A_ADDR, 8 * PAGE, RW);
    ASSERT_ERR(gpusim_process_pin(f->p, A_ADDR, 5, GPUSIM_PIN_WRITE, pfns, call_cb, &c),
               GPUSIM_ENOMEM);
    ASSERT_OK(gpusim_world_run(f->w));
    assert_int_equal(c.done, 0);
    assert_int_equal(stat_count(f, "host.pin.limit_refused"), 1);
    assert_int_equal(pinned_bytes(f), 0);
    assert_false(pte_at(f, A_ADDR).present);
    check(f);
    /* Up to the limit works; one page more does not. */
    ASSERT_OK(do_pin(f, A_ADDR, 4, GPUSIM_PIN_WRITE, pfns, NULL, NULL));
    assert_int_equal(pinned_bytes(f), 4 * PAGE);
    ASSERT_ERR(gpusim_process_pin(f->p, A_ADDR + 4 * PAGE, 1, 0, pfns + 4, call_cb, &c),
               GPUSIM_ENOMEM);
    assert_int_equal(stat_count(f, "host.pin.limit_refused"), 2);
    assert_false(pte_at(f, A_ADDR + 4 * PAGE).present);
    /* Unpinning gives the room back. */
    ASSERT_OK(gpusim_process_unpin(f->p, pfns, 4, false, NULL));
    ASSERT_OK(do_pin(f, A_ADDR + 4 * PAGE, 4, 0, pfns, NULL, NULL));
    fx_free(f);
}

/* Bad arguments are refused at the call and change nothing. */
static void test_pin_bad_arguments(void **state)
{
    fx *f = fx_new(32 * MIB, false);
    call c = {0};
    uint64_t pfns[2];
    (void)state;
    c.w = f->w;
    do_mmap_at(f, A_ADDR, 4 * PAGE, RW);
    ASSERT_ERR(gpusim_process_pin(NULL, A_ADDR, 1, 0, pfns, call_cb, &c), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_process_pin(f->p, A_ADDR, 1, 0, NULL, call_cb, &c), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_process_pin(f->p, A_ADDR, 0, 0, pfns, call_cb, &c), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_process_pin(f->p, A_ADDR + 1, 1, 0, pfns, call_cb, &c), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_process_pin(f->p, A_ADDR, 1, 0x80, pfns, call_cb, &c), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_process_pin(f->p, GPUSIM_HOST_VA_END - PAGE, 2, 0, pfns, call_cb, &c),
               GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_process_unpin(NULL, pfns, 1, false, NULL), GPUSIM_EINVAL);
    ASSERT_OK(gpusim_world_run(f->w));
    assert_int_equal(c.done, 0);
    assert_int_equal(pinned_bytes(f), 0);
    check(f);
    fx_free(f);
}

/* A page that cannot be pinned fails the call; the pins taken before it are released. */
static void test_pin_failure_releases(void **state)
{
    fx *f = fx_new(32 * MIB, false);
    uint64_t pfns[8], n;
    gpusim_host_meminfo_t mi;
    (void)state;
    do_mmap_at(f, A_ADDR, 4 * PAGE, RW);
    do_mmap_at(f, R_ADDR, 4 * PAGE, GPUSIM_PROT_READ);
    /* Runs off the end of the mapping into a hole. */
    assert_int_equal(do_pin(f, A_ADDR, 6, GPUSIM_PIN_WRITE, pfns, &n, NULL), GPUSIM_EFAULT);
    assert_int_equal(n, 0);
    assert_int_equal(pinned_bytes(f), 0);
    assert_int_equal(host_pinned(f), 0);
    assert_true(pte_at(f, A_ADDR).present); /* the faults stay, as in Linux */
    assert_int_equal(frame_at(f, pte_at(f, A_ADDR).pfn).pincount, 0);
    assert_int_equal(frame_at(f, pte_at(f, A_ADDR).pfn).refcount, 1);
    /* A write pin of a read-only mapping. */
    assert_int_equal(do_pin(f, R_ADDR, 1, GPUSIM_PIN_WRITE, pfns, NULL, NULL), GPUSIM_EFAULT);
    /* A read pin of a page that was mapped and then made PROT_NONE (its entry may stay). */
    {
        call c = {.w = f->w};
        ASSERT_OK(gpusim_process_mprotect(f->p, A_ADDR, PAGE, GPUSIM_PROT_NONE, call_cb, &c));
        ASSERT_OK(finish(f, &c));
        assert_int_equal(do_pin(f, A_ADDR, 1, 0, pfns, NULL, NULL), GPUSIM_EFAULT);
    }
    ASSERT_OK(gpusim_host_meminfo(f->h, &mi));
    assert_int_equal(mi.pinned, 0);
    assert_int_equal(pinned_bytes(f), 0);
    fx_free(f);
}

/* unpin restores counts and the charge; invalid lists change nothing. */
static void test_unpin(void **state)
{
    fx *f = fx_new(32 * MIB, false);
    uint64_t pfns[4], bad[2];
    gpusim_time_t cost;
    (void)state;
    do_mmap_at(f, A_ADDR, 4 * PAGE, RW);
    ASSERT_OK(do_pin(f, A_ADDR, 4, GPUSIM_PIN_WRITE, pfns, NULL, NULL));
    /* A list with one frame that is not pinned: refused as a whole. */
    bad[0] = pfns[0];
    bad[1] = pfns[0]; /* pinned once, listed twice */
    ASSERT_ERR(gpusim_process_unpin(f->p, bad, 2, false, NULL), GPUSIM_EINVAL);
    bad[1] = f->h->nframes + 5;
    ASSERT_ERR(gpusim_process_unpin(f->p, bad, 2, false, NULL), GPUSIM_EINVAL);
    assert_int_equal(frame_at(f, pfns[0]).pincount, 1);
    assert_int_equal(pinned_bytes(f), 4 * PAGE);
    check(f);
    ASSERT_OK(gpusim_process_unpin(f->p, pfns, 4, true, &cost));
    assert_int_equal(cost, 4 * param(f, "unpin_4k"));
    for (int i = 0; i < 4; i++) {
        gpusim_frame_info_t fi = frame_at(f, pfns[i]);
        assert_int_equal(fi.pincount, 0);
        assert_int_equal(fi.refcount, 1);
        assert_true(fi.dirty);
    }
    assert_int_equal(pinned_bytes(f), 0);
    assert_int_equal(host_pinned(f), 0);
    assert_int_equal(stat_count(f, "host.pin.unpinned"), 4);
    check(f);
    /* Again: nothing is pinned any more. */
    ASSERT_ERR(gpusim_process_unpin(f->p, pfns, 1, false, NULL), GPUSIM_EINVAL);
    fx_free(f);
}

/* A pinned page outlives its mapping: munmap leaves it allocated (with contents) until unpin. */
static void test_pin_survives_munmap(void **state)
{
    fx *f = fx_new(32 * MIB, true);
    uint8_t buf[PAGE], back[PAGE];
    uint64_t pfn;
    gpusim_frame_info_t fi;
    gpusim_host_meminfo_t mi0, mi1;
    (void)state;
    for (unsigned i = 0; i < PAGE; i++)
        buf[i] = (uint8_t)(i * 7 + 3);
    do_mmap_at(f, A_ADDR, 2 * PAGE, RW);
    ASSERT_OK(do_access(f, A_ADDR, PAGE, GPUSIM_ACCESS_WRITE, buf));
    ASSERT_OK(do_pin(f, A_ADDR, 1, 0, &pfn, NULL, NULL));
    ASSERT_OK(gpusim_host_meminfo(f->h, &mi0));
    ASSERT_OK(do_munmap(f, A_ADDR, 2 * PAGE));
    assert_false(pte_at(f, A_ADDR).present);
    fi = frame_at(f, pfn);
    assert_int_equal(fi.state, GPUSIM_FRAME_USED);
    assert_int_equal(fi.mapcount, 0);
    assert_int_equal(fi.pincount, 1);
    assert_int_equal(fi.refcount, 1);
    ASSERT_OK(gpusim_host_frame_read(f->h, pfn, 0, back, PAGE));
    assert_memory_equal(back, buf, PAGE); /* the device still reads what the CPU wrote */
    ASSERT_OK(gpusim_host_meminfo(f->h, &mi1));
    assert_int_equal(mi1.free, mi0.free);
    ASSERT_OK(gpusim_process_unpin(f->p, &pfn, 1, false, NULL));
    fi = frame_at(f, pfn);
    assert_int_equal(fi.state, GPUSIM_FRAME_FREE);
    ASSERT_OK(gpusim_host_meminfo(f->h, &mi1));
    assert_int_equal(mi1.free, mi0.free + PAGE);
    check(f);
    fx_free(f);
}

/* Read pins of untouched private memory return the zero page, which is never really pinned. */
static void test_pin_zero_page(void **state)
{
    fx *f = fx_new(32 * MIB, false);
    uint64_t pfns[2];
    (void)state;
    do_mmap_at(f, A_ADDR, 2 * PAGE, RW);
    ASSERT_OK(do_pin(f, A_ADDR, 2, 0, pfns, NULL, NULL));
    assert_int_equal(pfns[0], 0);
    assert_int_equal(pfns[1], 0);
    assert_int_equal(frame_at(f, 0).pincount, 0);
    assert_int_equal(host_pinned(f), 0);
    assert_int_equal(pinned_bytes(f), 2 * PAGE); /* still charged, as pinned_vm is */
    ASSERT_OK(gpusim_process_unpin(f->p, pfns, 2, false, NULL));
    assert_int_equal(pinned_bytes(f), 0);
    /* A long-term read pin unshares the zero page: the pinned page is a real, private one. */
    ASSERT_OK(do_pin(f, A_ADDR, 1, GPUSIM_PIN_LONGTERM, pfns, NULL, NULL));
    assert_int_not_equal(pfns[0], 0);
    assert_int_equal(pte_at(f, A_ADDR).pfn, pfns[0]);
    assert_int_equal(frame_at(f, pfns[0]).pincount, 1);
    fx_free(f);
}

/* A long-term pin moves a ZONE_MOVABLE page out first, announcing MIGRATE; data is kept. */
static void test_pin_longterm_migrates(void **state)
{
    gpusim_host_config_t cfg;
    fx *f;
    uint8_t buf[PAGE], back[PAGE];
    uint64_t old, pfn;
    gpusim_time_t took;
    (void)state;
    base_cfg(&cfg, 32 * MIB, true);
    cfg.movable_bytes = 16 * MIB;
    f = fx_new_cfg(&cfg, UINT64_MAX);
    for (unsigned i = 0; i < PAGE; i++)
        buf[i] = (uint8_t)(i ^ 0x5a);
    do_mmap_at(f, A_ADDR, 4 * PAGE, RW);
    ASSERT_OK(do_access(f, A_ADDR, PAGE, GPUSIM_ACCESS_WRITE, buf));
    old = pte_at(f, A_ADDR).pfn;
    assert_true(frame_at(f, old).movable); /* user pages prefer ZONE_MOVABLE */
    /* A short-term pin leaves it where it is. */
    ASSERT_OK(do_pin(f, A_ADDR, 1, GPUSIM_PIN_WRITE, &pfn, NULL, NULL));
    assert_int_equal(pfn, old);
    ASSERT_OK(gpusim_process_unpin(f->p, &pfn, 1, false, NULL));
    f->nlog = 0;
    ASSERT_OK(do_pin(f, A_ADDR, 1, GPUSIM_PIN_WRITE | GPUSIM_PIN_LONGTERM, &pfn, NULL, &took));
    assert_int_not_equal(pfn, old);
    assert_false(frame_at(f, pfn).movable);
    assert_int_equal(pte_at(f, A_ADDR).pfn, pfn);
    assert_true(pte_at(f, A_ADDR).writable);
    assert_int_equal(frame_at(f, pfn).pincount, 1);
    assert_int_equal(frame_at(f, old).state, GPUSIM_FRAME_FREE);
    assert_int_equal(f->nlog, 1);
    assert_int_equal(f->log[0].start, A_ADDR);
    assert_int_equal(f->log[0].end, A_ADDR + PAGE);
    assert_int_equal(f->log[0].event, GPUSIM_NOTIFY_MIGRATE);
    assert_int_equal(f->log[0].kind, GPUSIM_INVALIDATOR_COMPACTION);
    assert_true(f->log[0].blockable);
    assert_int_equal(stat_count(f, "host.migrate.longterm_pin"), 1);
    assert_int_equal(stat_count(f, "host.migrate.success"), 1);
    /* a long-term pin pays the long-term rate even on a page that is present */
    assert_int_equal(took, param(f, "migrate_4k") + param(f, "notifier_dispatch") +
                               param(f, "pin_longterm_4k"));
    ASSERT_OK(gpusim_host_frame_read(f->h, pfn, 0, back, PAGE));
    assert_memory_equal(back, buf, PAGE);
    memset(back, 0, PAGE);
    ASSERT_OK(do_access(f, A_ADDR, PAGE, GPUSIM_ACCESS_READ, back));
    assert_memory_equal(back, buf, PAGE);
    /* A page already outside ZONE_MOVABLE is not moved again. */
    f->nlog = 0;
    ASSERT_OK(do_pin(f, A_ADDR, 1, GPUSIM_PIN_LONGTERM, &old, NULL, NULL));
    assert_int_equal(old, pfn);
    assert_int_equal(f->nlog, 0);
    /* A pinned movable page cannot be migrated: the long-term pin fails with ENOMEM. */
    ASSERT_OK(do_access(f, A_ADDR + PAGE, PAGE, GPUSIM_ACCESS_WRITE, NULL));
    ASSERT_OK(do_pin(f, A_ADDR + PAGE, 1, 0, &old, NULL, NULL));
    assert_true(frame_at(f, old).movable);
    assert_int_equal(do_pin(f, A_ADDR + PAGE, 1, GPUSIM_PIN_LONGTERM, &pfn, NULL, NULL),
                     GPUSIM_ENOMEM);
    assert_int_equal(stat_count(f, "host.migrate.failed_pinned"), 1);
    assert_int_equal(frame_at(f, old).pincount, 1);
    fx_free(f);
}

/* A long-term pin's migration waits for a mirror that asks to (the fence is signalled later). */
static void test_pin_longterm_blocked(void **state)
{
    gpusim_host_config_t cfg;
    fx *f;
    uint64_t pfn;
    gpusim_time_t took;
    gpusim_stat_info_t si;
    (void)state;
    base_cfg(&cfg, 32 * MIB, false);
    cfg.movable_bytes = 16 * MIB;
    f = fx_new_cfg(&cfg, UINT64_MAX);
    do_mmap_at(f, A_ADDR, PAGE, RW);
    ASSERT_OK(do_access(f, A_ADDR, PAGE, GPUSIM_ACCESS_WRITE, NULL));
    f->block = true;
    ASSERT_OK(gpusim_completion_signal_at(f->w, &f->fence, gpusim_world_now(f->w) + 1000000));
    ASSERT_OK(do_pin(f, A_ADDR, 1, GPUSIM_PIN_LONGTERM, &pfn, NULL, &took));
    assert_true(took >= 1000000);
    assert_false(frame_at(f, pfn).movable);
    ASSERT_OK(gpusim_stats_get(f->w, "notifier.blocked_ns.compaction", &si));
    assert_int_equal(si.count, 1);
    assert_int_equal(si.sum, 1000000);
    fx_free(f);
}

/* A long-term pin of a page of a 2 MiB mapping in ZONE_MOVABLE moves the whole 2 MiB frame when a
 * whole unmovable block is free (MIGRATE over the 2 MiB), else splits the mapping (CLEAR) and
 * moves the one page (MIGRATE over 4 KiB). Contents are kept either way. */
static void test_pin_longterm_huge(void **state)
{
    gpusim_host_config_t cfg;
    fx *f;
    uint8_t buf[PAGE], back[PAGE];
    uint64_t pfn, head;
    gpusim_host_pte_t e;
    (void)state;
    for (unsigned i = 0; i < PAGE; i++)
        buf[i] = (uint8_t)(i * 11 + 1);
    for (int tight = 0; tight < 2; tight++) {
        base_cfg(&cfg, 32 * MIB, true);
        /* tight: the normal zone is the zero page's block only, so no 2 MiB frame fits there */
        cfg.movable_bytes = tight ? 30 * MIB : 16 * MIB;
        f = fx_new_cfg(&cfg, UINT64_MAX);
        do_mmap_at(f, H_ADDR, HUGE, RW);
        ASSERT_OK(do_madvise(f, H_ADDR, HUGE, GPUSIM_MADV_HUGEPAGE));
        ASSERT_OK(do_access(f, H_ADDR + 7 * PAGE, PAGE, GPUSIM_ACCESS_WRITE, buf));
        e = pte_at(f, H_ADDR);
        assert_true(e.huge);
        head = e.pfn;
        assert_true(frame_at(f, head).movable);
        f->nlog = 0;
        ASSERT_OK(do_pin(f, H_ADDR + 7 * PAGE, 1, GPUSIM_PIN_LONGTERM, &pfn, NULL, NULL));
        assert_false(frame_at(f, pfn).movable);
        assert_int_equal(pte_at(f, H_ADDR + 7 * PAGE).pfn, pfn);
        ASSERT_OK(gpusim_host_frame_read(f->h, pfn, 0, back, PAGE));
        assert_memory_equal(back, buf, PAGE);
        if (!tight) {
            assert_true(pte_at(f, H_ADDR + 7 * PAGE).huge);
            assert_int_equal(pfn % 512, 7);
            assert_int_equal(frame_at(f, head).state, GPUSIM_FRAME_FREE);
            assert_int_equal(f->nlog, 1);
            assert_int_equal(f->log[0].start, H_ADDR);
            assert_int_equal(f->log[0].end, H_ADDR + HUGE);
            assert_int_equal(f->log[0].event, GPUSIM_NOTIFY_MIGRATE);
            assert_int_equal(stat_count(f, "host.migrate.success"), 512);
        } else {
            assert_false(pte_at(f, H_ADDR + 7 * PAGE).huge);
            assert_int_equal(pte_at(f, H_ADDR + 6 * PAGE).pfn, head + 6); /* the rest stays */
            assert_int_equal(f->nlog, 2);
            assert_int_equal(f->log[0].start, H_ADDR);
            assert_int_equal(f->log[0].end, H_ADDR + HUGE);
            assert_int_equal(f->log[0].event, GPUSIM_NOTIFY_CLEAR);
            assert_int_equal(f->log[0].kind, GPUSIM_INVALIDATOR_COMPACTION);
            assert_int_equal(f->log[1].start, H_ADDR + 7 * PAGE);
            assert_int_equal(f->log[1].end, H_ADDR + 8 * PAGE);
            assert_int_equal(f->log[1].event, GPUSIM_NOTIFY_MIGRATE);
            assert_int_equal(stat_count(f, "host.migrate.success"), 1);
        }
        assert_int_equal(stat_count(f, "host.migrate.longterm_pin"), 1);
        fx_free(f);
    }
}

/* Pins of a 2 MiB mapping count per 4 KiB page and on the head's refcount; cost per 512 pages. */
static void test_pin_huge(void **state)
{
    fx *f = fx_new(32 * MIB, false);
    uint64_t *pfns = calloc(512, sizeof *pfns);
    gpusim_host_pte_t e;
    gpusim_time_t took, cost;
    uint64_t head;
    (void)state;
    do_mmap_at(f, H_ADDR, HUGE, RW);
    ASSERT_OK(do_madvise(f, H_ADDR, HUGE, GPUSIM_MADV_HUGEPAGE));
    ASSERT_OK(do_access(f, H_ADDR, PAGE, GPUSIM_ACCESS_WRITE, NULL));
    e = pte_at(f, H_ADDR);
    assert_true(e.huge);
    head = e.pfn;
    ASSERT_OK(do_pin(f, H_ADDR + 3 * PAGE, 2, GPUSIM_PIN_WRITE, pfns, NULL, NULL));
    assert_int_equal(pfns[0], head + 3);
    assert_int_equal(pfns[1], head + 4);
    assert_int_equal(frame_at(f, head + 3).pincount, 1);
    assert_int_equal(frame_at(f, head).pincount, 0);
    assert_int_equal(frame_at(f, head).refcount, 1 + 2);
    assert_int_equal(host_pinned(f), 2 * PAGE);
    check(f);
    ASSERT_OK(gpusim_process_unpin(f->p, pfns, 2, false, NULL));
    assert_int_equal(frame_at(f, head).refcount, 1);
    ASSERT_OK(do_pin(f, H_ADDR, 512, GPUSIM_PIN_WRITE, pfns, NULL, &took));
    assert_int_equal(took, param(f, "pin_longterm_2m"));
    assert_int_equal(frame_at(f, head).refcount, 1 + 512);
    check(f);
    ASSERT_OK(gpusim_process_unpin(f->p, pfns, 512, false, &cost));
    assert_int_equal(cost, param(f, "unpin_2m"));
    free(pfns);
    fx_free(f);
}

/* A read pin of a copy-on-write shared page unshares it first: the parent pins its own copy. */
static void test_pin_unshares_cow(void **state)
{
    fx *f = fx_new(32 * MIB, false);
    gpusim_process_config_t pc;
    gpusim_process_t *child;
    call c = {0};
    uint64_t shared, pfn;
    gpusim_host_pte_t ce;
    (void)state;
    c.w = f->w;
    do_mmap_at(f, A_ADDR, PAGE, RW);
    ASSERT_OK(do_access(f, A_ADDR, PAGE, GPUSIM_ACCESS_WRITE, NULL));
    shared = pte_at(f, A_ADDR).pfn;
    gpusim_process_config_init(&pc);
    pc.name = "child";
    ASSERT_OK(gpusim_process_fork(f->p, &pc, &child, call_cb, &c));
    ASSERT_OK(finish(f, &c));
    assert_int_equal(frame_at(f, shared).mapcount, 2);
    f->nlog = 0;
    ASSERT_OK(do_pin(f, A_ADDR, 1, 0, &pfn, NULL, NULL));
    assert_int_not_equal(pfn, shared);
    assert_int_equal(pte_at(f, A_ADDR).pfn, pfn);
    ASSERT_OK(gpusim_process_translate(child, A_ADDR, &ce));
    assert_int_equal(ce.pfn, shared);
    assert_int_equal(frame_at(f, shared).mapcount, 1);
    assert_int_equal(frame_at(f, pfn).pincount, 1);
    /* The parent's copy was announced (CLEAR of the COW break) before it replaced the page. */
    assert_int_equal(f->nlog, 1);
    assert_int_equal(f->log[0].event, GPUSIM_NOTIFY_CLEAR);
    fx_free(f);
}

/* A process that dies while its pin is in progress: the pin ends with ESRCH and holds nothing. */
static void test_pin_process_dies(void **state)
{
    fx *f = fx_new(32 * MIB, false);
    call c = {0}, e = {0};
    uint64_t *pfns = calloc(256, sizeof *pfns);
    (void)state;
    c.w = e.w = f->w;
    do_mmap_at(f, A_ADDR, 256 * PAGE, RW);
    /* 256 faults take longer than one quantum: the exit runs between two of its steps. */
    ASSERT_OK(gpusim_process_pin(f->p, A_ADDR, 256, GPUSIM_PIN_WRITE, pfns, call_cb, &c));
    ASSERT_OK(gpusim_process_exit(f->p, call_cb, &e));
    ASSERT_OK(gpusim_world_run(f->w));
    assert_int_equal(c.done, 1);
    assert_int_equal(c.status, GPUSIM_ESRCH);
    assert_int_equal(e.done, 1);
    assert_int_equal(host_pinned(f), 0);
    assert_int_equal(pinned_bytes(f), 0);
    check(f);
    free(pfns);
    fx_free(f);
}

/* ---- hmm_range_fault ------------------------------------------------------------------------ */

#define VALID GPUSIM_HMM_PFN_VALID
#define WRITE GPUSIM_HMM_PFN_WRITE
#define ERROR GPUSIM_HMM_PFN_ERROR
#define HUGEF GPUSIM_HMM_PFN_HUGE
#define SHIFT GPUSIM_HMM_PFN_SHIFT
#define FAULT GPUSIM_HMM_REQ_FAULT
#define REQW  GPUSIM_HMM_REQ_WRITE

/* Regions: A (rw: none, zero page, written), R (read-only, read), N (PROT_NONE), hole, H (THP). */
static void hmm_regions(fx *f)
{
    do_mmap_at(f, A_ADDR, 8 * PAGE, RW);
    do_mmap_at(f, R_ADDR, 2 * PAGE, GPUSIM_PROT_READ);
    do_mmap_at(f, N_ADDR, PAGE, GPUSIM_PROT_NONE);
    do_mmap_at(f, H_ADDR, HUGE, RW);
    ASSERT_OK(do_madvise(f, H_ADDR, HUGE, GPUSIM_MADV_HUGEPAGE));
    ASSERT_OK(do_access(f, A_ADDR + PAGE, PAGE, GPUSIM_ACCESS_READ, NULL));
    ASSERT_OK(do_access(f, A_ADDR + 2 * PAGE, PAGE, GPUSIM_ACCESS_WRITE, NULL));
    ASSERT_OK(do_access(f, R_ADDR, PAGE, GPUSIM_ACCESS_READ, NULL));
    ASSERT_OK(do_access(f, H_ADDR, PAGE, GPUSIM_ACCESS_WRITE, NULL));
}

/* Snapshots report what the page table holds, fault nothing and announce nothing. */
static void test_hmm_snapshot(void **state)
{
    fx *f = fx_new(32 * MIB, false);
    uint64_t out[4], n;
    uint64_t head;
    (void)state;
    hmm_regions(f);
    f->nlog = 0;
    memset(out, 0xff, sizeof out); /* inputs are masked out (mask 0) */
    ASSERT_OK(do_hmm(f, NULL, 0, A_ADDR, 4, 0, 0, out, &n));
    assert_int_equal(n, 0);
    assert_int_equal(out[0], 0);     /* none */
    assert_int_equal(out[1], VALID); /* the zero page: a normal valid page */
    assert_int_equal(out[2], VALID | WRITE | (pte_at(f, A_ADDR + 2 * PAGE).pfn << SHIFT));
    assert_int_equal(out[3], 0);
    assert_false(pte_at(f, A_ADDR).present);
    ASSERT_OK(do_hmm(f, NULL, 0, R_ADDR, 2, 0, 0, out, NULL));
    assert_int_equal(out[0], VALID);
    assert_int_equal(out[1], 0);
    ASSERT_OK(do_hmm(f, NULL, 0, N_ADDR, 1, 0, 0, out, NULL));
    assert_int_equal(out[0], ERROR); /* no read permission */
    ASSERT_OK(do_hmm(f, NULL, 0, HOLE, 2, 0, 0, out, NULL));
    assert_int_equal(out[0], ERROR); /* no VMA */
    assert_int_equal(out[1], ERROR);
    head = pte_at(f, H_ADDR).pfn;
    ASSERT_OK(do_hmm(f, NULL, 0, H_ADDR + 5 * PAGE, 2, 0, 0, out, NULL));
    assert_int_equal(out[0], VALID | WRITE | HUGEF | ((head + 5) << SHIFT));
    assert_int_equal(out[1], VALID | WRITE | HUGEF | ((head + 6) << SHIFT));
    assert_int_equal(f->nlog, 0);
    assert_int_equal(stat_count(f, "host.hmm.calls"), 5);
    assert_int_equal(stat_count(f, "host.hmm.faults"), 0);
    fx_free(f);
}

/* Faulting requests: read faults map the zero page, write requests make the page writable. */
static void test_hmm_fault(void **state)
{
    fx *f = fx_new(32 * MIB, false);
    uint64_t out[4], n, written;
    gpusim_time_t t0;
    (void)state;
    hmm_regions(f);
    written = pte_at(f, A_ADDR + 2 * PAGE).pfn;
    t0 = gpusim_world_now(f->w);
    ASSERT_OK(do_hmm(f, NULL, 0, A_ADDR, 3, FAULT, 0, out, &n));
    assert_int_equal(n, 1); /* only page 0 needed a fault */
    assert_int_equal(out[0], VALID);
    assert_int_equal(out[1], VALID);
    assert_int_equal(out[2], VALID | WRITE | (written << SHIFT));
    /* Cost: 3 pages walked, one of them again after its fault, plus the fault. */
    assert_int_equal(gpusim_world_now(f->w) - t0,
                     4 * param(f, "hmm_walk_4k") + param(f, "fault_minor"));
    /* Per-page write requests through the mask: page 1 only (the zero page is copied). */
    out[0] = 0;
    out[1] = REQW;
    out[2] = 0;
    ASSERT_OK(do_hmm(f, NULL, 0, A_ADDR, 3, FAULT, REQW, out, &n));
    assert_int_equal(n, 1);
    assert_int_equal(out[0], VALID);
    assert_int_not_equal(pte_at(f, A_ADDR + PAGE).pfn, 0);
    assert_int_equal(out[1], VALID | WRITE | (pte_at(f, A_ADDR + PAGE).pfn << SHIFT));
    assert_int_equal(out[2], VALID | WRITE | (written << SHIFT));
    /* REQ_WRITE by default over the whole range. */
    ASSERT_OK(do_hmm(f, NULL, 0, A_ADDR + 3 * PAGE, 1, FAULT | REQW, 0, out, &n));
    assert_int_equal(n, 1);
    assert_int_equal(out[0], VALID | WRITE | (pte_at(f, A_ADDR + 3 * PAGE).pfn << SHIFT));
    assert_int_equal(stat_count(f, "host.hmm.faults"), 3);
    fx_free(f);
}

/* Long runs (gup.c's hmm_run): across a page-table boundary, a VMA boundary and yields, with holes
 * that fault in the middle and a write refused half-way: the same results as page by page. */
static void test_hmm_long_run(void **state)
{
    enum { RW_PAGES = 700, RO_PAGES = 300, N = RW_PAGES + RO_PAGES };
    const uint64_t base = UINT64_C(0x201f0000); /* the 2 MiB boundary is 16 pages in */
    gpusim_host_config_t cfg;
    static uint64_t out[N];
    uint64_t n, holes = 0;
    gpusim_time_t t0;
    (void)state;
    base_cfg(&cfg, 64 * MIB, false);
    ASSERT_OK(
        gpusim_host_config_set(&cfg, "op_quantum", "1us", false, NULL, 0)); /* yields: ~33 pages */
    fx *f = fx_new_cfg(&cfg, UINT64_MAX);
    do_mmap_at(f, base, RW_PAGES * PAGE, RW);
    do_mmap_at(f, base + RW_PAGES * PAGE, RO_PAGES * PAGE, GPUSIM_PROT_READ);
    for (uint64_t i = 0; i < N; i++)
        if (i % 97 != 5) /* holes at 5, 102, ... */
            ASSERT_OK(do_access(f, base + i * PAGE, PAGE,
                                i < RW_PAGES ? GPUSIM_ACCESS_WRITE : GPUSIM_ACCESS_READ, NULL));
    /* Snapshot: every page as the page table has it, one walk each. */
    t0 = gpusim_world_now(f->w);
    ASSERT_OK(do_hmm(f, NULL, 0, base, N, 0, 0, out, &n));
    assert_int_equal(gpusim_world_now(f->w) - t0, N * param(f, "hmm_walk_4k"));
    for (uint64_t i = 0; i < N; i++) {
        gpusim_host_pte_t e = pte_at(f, base + i * PAGE);
        uint64_t want = e.present ? VALID | (e.writable ? WRITE : 0) | (e.pfn << SHIFT) : 0;
        assert_int_equal(out[i], want);
        holes += !e.present;
    }
    assert_int_equal(holes, 11);
    /* Faulting reads: each hole faults once, mid-run, and is walked again. */
    ASSERT_OK(do_hmm(f, NULL, 0, base, N, FAULT, 0, out, &n));
    assert_int_equal(n, holes);
    for (uint64_t i = 0; i < N; i++)
        assert_true(out[i] & VALID);
    /* A write request on one read-only page, past hundreds of good ones: EPERM there. */
    memset(out, 0, sizeof out);
    out[RW_PAGES + 50] = REQW;
    for (uint64_t i = RW_PAGES + 51; i < N; i++)
        out[i] = REQW | UINT64_C(0xabc0000); /* inputs past the refusal are left alone */
    assert_int_equal(do_hmm(f, NULL, 0, base, N, FAULT, REQW, out, NULL), GPUSIM_EPERM);
    for (uint64_t i = 0; i < RW_PAGES + 50; i++)
        assert_true(out[i] & VALID);
    assert_int_equal(out[RW_PAGES + 51], REQW | UINT64_C(0xabc0000));
    assert_int_equal(gpusim_host_check(f->h, NULL, 0), 0);
    fx_free(f);
}

/* Errors: write on a read-only VMA is EPERM; no VMA or no read permission is EFAULT. */
static void test_hmm_errors(void **state)
{
    fx *f = fx_new(32 * MIB, false);
    uint64_t out[16];
    call c = {0};
    (void)state;
    c.w = f->w;
    hmm_regions(f);
    assert_int_equal(do_hmm(f, NULL, 0, R_ADDR, 1, FAULT | REQW, 0, out, NULL), GPUSIM_EPERM);
    ASSERT_OK(do_hmm(f, NULL, 0, R_ADDR, 2, FAULT, 0, out, NULL)); /* reads are fine */
    assert_int_equal(out[1], VALID);
    assert_int_equal(do_hmm(f, NULL, 0, HOLE, 1, FAULT, 0, out, NULL), GPUSIM_EFAULT);
    assert_int_equal(do_hmm(f, NULL, 0, N_ADDR, 1, FAULT, 0, out, NULL), GPUSIM_EFAULT);
    /* Running off the end of A into the hole: the pages before it are filled. */
    assert_int_equal(do_hmm(f, NULL, 0, A_ADDR + 6 * PAGE, 4, FAULT, 0, out, NULL), GPUSIM_EFAULT);
    assert_int_equal(out[0], VALID);
    assert_int_equal(out[1], VALID);
    /* Call-time errors. */
    ASSERT_ERR(gpusim_process_range_fault(NULL, NULL, 0, A_ADDR, 1, 0, 0, out, call_cb, &c),
               GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_process_range_fault(f->p, NULL, 0, A_ADDR, 0, 0, 0, out, call_cb, &c),
               GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_process_range_fault(f->p, NULL, 0, A_ADDR + 1, 1, 0, 0, out, call_cb, &c),
               GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_process_range_fault(f->p, NULL, 0, A_ADDR, 1, 0x10, 0, out, call_cb, &c),
               GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_process_range_fault(f->p, NULL, 0, A_ADDR, 1, 0, 0, NULL, call_cb, &c),
               GPUSIM_EINVAL);
    ASSERT_OK(gpusim_world_run(f->w));
    assert_int_equal(c.done, 0);
    fx_free(f);
}

/* An invalidation over the subscription since read_begin makes the call fail with ERETRY. */
static void test_hmm_retry(void **state)
{
    fx *f = fx_new(32 * MIB, false);
    gpusim_notifier_sub_t *sub;
    uint64_t out[8], seq, n;
    (void)state;
    do_mmap_at(f, A_ADDR, 8 * PAGE, RW);
    ASSERT_OK(do_access(f, A_ADDR, 8 * PAGE, GPUSIM_ACCESS_WRITE, NULL));
    ASSERT_OK(gpusim_notifier_insert(gpusim_process_notifier(f->p), A_ADDR, 8 * PAGE, keep_seq,
                                     NULL, &sub));
    ASSERT_OK(gpusim_notifier_read_begin(sub, &seq, NULL, NULL, NULL));
    ASSERT_OK(do_hmm(f, sub, seq, A_ADDR, 4, FAULT, 0, out, NULL)); /* no collision */
    ASSERT_OK(do_munmap(f, A_ADDR + 7 * PAGE, PAGE)); /* another page of the subscription */
    assert_int_equal(do_hmm(f, sub, seq, A_ADDR, 4, FAULT, 0, out, NULL), GPUSIM_ERETRY);
    assert_int_equal(stat_count(f, "host.hmm.retries"), 1);
    ASSERT_OK(gpusim_notifier_read_begin(sub, &seq, NULL, NULL, NULL));
    ASSERT_OK(do_hmm(f, sub, seq, A_ADDR, 4, FAULT, 0, out, &n));
    assert_int_equal(n, 0);
    /* A collision during the call: the faults of 64 pages span several quanta, and a munmap
     * that runs in between is seen before the next page is walked. */
    {
        uint64_t big[64], base = UINT64_C(0x20000000);
        call c = {.w = f->w}, m = {.w = f->w};
        gpusim_notifier_sub_t *sub2;
        do_mmap_at(f, base, 65 * PAGE, RW);
        ASSERT_OK(gpusim_notifier_insert(gpusim_process_notifier(f->p), base, 65 * PAGE, keep_seq,
                                         NULL, &sub2));
        ASSERT_OK(gpusim_notifier_read_begin(sub2, &seq, NULL, NULL, NULL));
        ASSERT_OK(gpusim_process_range_fault(f->p, sub2, seq, base, 64, FAULT | REQW, 0, big,
                                             call_cb, &c));
        ASSERT_OK(gpusim_process_munmap(f->p, base + 64 * PAGE, PAGE, call_cb, &m));
        ASSERT_OK(gpusim_world_run(f->w));
        assert_int_equal(c.status, GPUSIM_ERETRY);
        assert_true(c.result > 0 && c.result < 64);
        assert_int_equal(stat_count(f, "host.hmm.retries"), 2);
        check(f);
    }
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        GPUSIM_TEST(test_pin_faults_in),
        GPUSIM_TEST(test_pin_longterm_cost),
        GPUSIM_TEST(test_pin_memlock_limit),
        GPUSIM_TEST(test_pin_bad_arguments),
        GPUSIM_TEST(test_pin_failure_releases),
        GPUSIM_TEST(test_unpin),
        GPUSIM_TEST(test_pin_survives_munmap),
        GPUSIM_TEST(test_pin_zero_page),
        GPUSIM_TEST(test_pin_longterm_migrates),
        GPUSIM_TEST(test_pin_longterm_blocked),
        GPUSIM_TEST(test_pin_longterm_huge),
        GPUSIM_TEST(test_pin_huge),
        GPUSIM_TEST(test_pin_unshares_cow),
        GPUSIM_TEST(test_pin_process_dies),
        GPUSIM_TEST(test_hmm_snapshot),
        GPUSIM_TEST(test_hmm_fault),
        GPUSIM_TEST(test_hmm_long_run),
        GPUSIM_TEST(test_hmm_errors),
        GPUSIM_TEST(test_hmm_retry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
