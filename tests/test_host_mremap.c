/*
 * tests/test_host_mremap.c -- mremap of the simulated host (src/host/mremap.c): shrink, grow in
 * place, move (to a gap or FIXED), 2 MiB mappings, exactly what is announced, the contents and
 * frames at the new address, and every error.
 */
#include "test_util.h"
#include "host_util.h"

#include "host/host.h"

#define MIB     GPUSIM_MIB
#define PAGE    GPUSIM_HOST_PAGE_SIZE
#define HUGE    GPUSIM_HOST_HUGE_SIZE
#define RW      (GPUSIM_PROT_READ | GPUSIM_PROT_WRITE)
#define ANON    GPUSIM_MAP_PRIVATE
#define FIXED   GPUSIM_MAP_FIXED
#define MAYMOVE GPUSIM_MREMAP_MAYMOVE
#define MFIXED  (GPUSIM_MREMAP_MAYMOVE | GPUSIM_MREMAP_FIXED)

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
    gpusim_completion_t fence;
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

static void check(fx *f)
{
    host_check_ok(f->h);
}

static fx *fx_new(bool data_mode, gpusim_thp_mode_t thp)
{
    static fx f;
    gpusim_host_config_t cfg;
    gpusim_process_config_t pc;
    memset(&f, 0, sizeof f);
    f.w = test_world(1);
    gpusim_host_config_init(&cfg);
    cfg.ram_bytes = 32 * MIB;
    cfg.swap_bytes = 16 * MIB;
    cfg.data_mode = data_mode;
    cfg.thp = thp;
    cfg.khugepaged = false;
    ASSERT_OK(gpusim_host_new(f.w, &cfg, &f.h));
    gpusim_process_config_init(&pc);
    pc.name = "app";
    ASSERT_OK(gpusim_process_new(f.h, &pc, &f.p));
    gpusim_completion_init(&f.fence, NULL);
    ASSERT_OK(gpusim_notifier_insert(gpusim_process_notifier(f.p), 0, GPUSIM_HOST_VA_END, record,
                                     &f, &f.sub));
    return &f;
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

static uint64_t do_mmap(fx *f, uint64_t addr, uint64_t len, unsigned prot, unsigned flags,
                        gpusim_file_t *file)
{
    call c = {0};
    ASSERT_OK(gpusim_process_mmap(f->p, addr, len, prot, flags, file, 0, call_cb, &c));
    ASSERT_OK(finish(f, &c));
    return c.result;
}

static int do_access(fx *f, uint64_t addr, uint64_t len, gpusim_access_t kind, void *buf)
{
    call c = {0};
    ASSERT_OK(gpusim_process_access(f->p, addr, len, kind, buf, call_cb, &c));
    return finish(f, &c);
}

/* mremap through the callback: returns the status, the result in *out (may be NULL). */
static int do_mremap(fx *f, uint64_t old, uint64_t old_len, uint64_t new_len, unsigned flags,
                     uint64_t new_addr, uint64_t *out)
{
    call c = {0};
    ASSERT_OK(gpusim_process_mremap(f->p, old, old_len, new_len, flags, new_addr, call_cb, &c));
    finish(f, &c);
    if (out)
        *out = c.result;
    return c.status;
}

static void fill(fx *f, uint64_t addr, uint64_t len, uint8_t seed)
{
    static uint8_t buf[16 * 4096];
    assert_true(len <= sizeof buf);
    for (uint64_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(seed + i / PAGE * 16 + i % 7);
    ASSERT_OK(do_access(f, addr, len, GPUSIM_ACCESS_WRITE, buf));
}

/* Asserts [addr, addr + len) holds what fill(seed) wrote (page offsets from the fill's start). */
static void expect_fill(fx *f, uint64_t addr, uint64_t len, uint8_t seed)
{
    static uint8_t buf[16 * 4096];
    assert_true(len <= sizeof buf);
    ASSERT_OK(do_access(f, addr, len, GPUSIM_ACCESS_READ, buf));
    for (uint64_t i = 0; i < len; i++)
        if (buf[i] != (uint8_t)(seed + i / PAGE * 16 + i % 7))
            fail_msg("byte %lu differs", (unsigned long)i);
}

static gpusim_host_pte_t pte_at(fx *f, uint64_t va)
{
    gpusim_host_pte_t e;
    ASSERT_OK(gpusim_process_translate(f->p, va, &e));
    return e;
}

static gpusim_process_info_t info(fx *f)
{
    gpusim_process_info_t in;
    ASSERT_OK(gpusim_process_info(f->p, &in));
    return in;
}

static uint64_t free_bytes(fx *f)
{
    gpusim_host_meminfo_t mi;
    ASSERT_OK(gpusim_host_meminfo(f->h, &mi));
    return mi.free;
}

static void expect_seen(fx *f, int i, uint64_t start, uint64_t end, gpusim_notifier_event_t ev)
{
    if (i >= f->nlog)
        fail_msg("announcement %d missing (%d seen)", i, f->nlog);
    assert_int_equal(f->log[i].start, start);
    assert_int_equal(f->log[i].end, end);
    assert_int_equal(f->log[i].event, ev);
    assert_int_equal(f->log[i].kind, GPUSIM_INVALIDATOR_SYSCALL);
    assert_true(f->log[i].blockable);
}

#define BASE UINT64_C(0x40000000)

/* ---- tests ---------------------------------------------------------------------------------- */

/* Shrinking unmaps the tail: UNMAP over exactly it, its frames freed, the rest untouched. */
static void test_shrink(void **state)
{
    fx *f = fx_new(true, GPUSIM_THP_NEVER);
    uint64_t a, r, pfn0, free0;
    (void)state;
    a = do_mmap(f, BASE, 8 * PAGE, RW, ANON | FIXED, NULL);
    fill(f, a, 8 * PAGE, 1);
    pfn0 = pte_at(f, a).pfn;
    free0 = free_bytes(f);
    f->nlog = 0;
    ASSERT_OK(do_mremap(f, a, 8 * PAGE, 3 * PAGE, 0, 0, &r));
    assert_int_equal(r, a);
    assert_int_equal(f->nlog, 1);
    expect_seen(f, 0, a + 3 * PAGE, a + 8 * PAGE, GPUSIM_NOTIFY_UNMAP);
    assert_int_equal(free_bytes(f) - free0, 5 * PAGE);
    assert_int_equal(pte_at(f, a).pfn, pfn0);
    assert_false(pte_at(f, a + 3 * PAGE).present);
    assert_int_equal(info(f).rss_anon, 3 * PAGE);
    assert_int_equal(info(f).vmas, 1);
    expect_fill(f, a, 3 * PAGE, 1);
    assert_int_equal(do_access(f, a + 3 * PAGE, 1, GPUSIM_ACCESS_READ, NULL), GPUSIM_EFAULT);
    /* Shrinking the middle of a VMA leaves a hole (MAYMOVE changes nothing here). */
    f->nlog = 0;
    ASSERT_OK(do_mremap(f, a, 2 * PAGE, PAGE, MAYMOVE, 0, &r));
    assert_int_equal(r, a);
    expect_seen(f, 0, a + PAGE, a + 2 * PAGE, GPUSIM_NOTIFY_UNMAP);
    assert_int_equal(info(f).vmas, 2);
    /* The same length is nothing at all. */
    f->nlog = 0;
    ASSERT_OK(do_mremap(f, a, PAGE, PAGE, MAYMOVE, 0, &r));
    assert_int_equal(r, a);
    assert_int_equal(f->nlog, 0);
    fx_free(f);
}

/* Growing in place when the space after is free: nothing announced, nothing moves; it merges with a
 * compatible next VMA it reaches. */
static void test_grow_in_place(void **state)
{
    fx *f = fx_new(true, GPUSIM_THP_NEVER);
    uint64_t a, r, pfn0;
    (void)state;
    a = do_mmap(f, BASE, 4 * PAGE, RW, ANON | FIXED, NULL);
    do_mmap(f, BASE + 8 * PAGE, 4 * PAGE, RW, ANON | FIXED, NULL);
    fill(f, a, 4 * PAGE, 2);
    pfn0 = pte_at(f, a + 3 * PAGE).pfn;
    f->nlog = 0;
    ASSERT_OK(do_mremap(f, a, 4 * PAGE, 6 * PAGE, 0, 0, &r));
    assert_int_equal(r, a);
    assert_int_equal(f->nlog, 0);
    assert_int_equal(info(f).vmas, 2);
    assert_int_equal(pte_at(f, a + 3 * PAGE).pfn, pfn0);
    ASSERT_OK(do_access(f, a + 5 * PAGE, PAGE, GPUSIM_ACCESS_WRITE, NULL));
    assert_int_equal(do_access(f, a + 6 * PAGE, 1, GPUSIM_ACCESS_READ, NULL), GPUSIM_EFAULT);
    /* Up to the next VMA: one VMA. */
    ASSERT_OK(do_mremap(f, a, 6 * PAGE, 8 * PAGE, 0, 0, &r));
    assert_int_equal(info(f).vmas, 1);
    expect_fill(f, a, 4 * PAGE, 2);
    /* Not at the VMA's end, or reaching another VMA: without MAYMOVE, ENOMEM, nothing changes. */
    do_mmap(f, BASE + 16 * PAGE, PAGE, GPUSIM_PROT_READ, ANON | FIXED, NULL);
    f->nlog = 0;
    assert_int_equal(do_mremap(f, a, 4 * PAGE, 20 * PAGE, 0, 0, NULL), GPUSIM_ENOMEM);
    assert_int_equal(do_mremap(f, a, 12 * PAGE, 20 * PAGE, 0, 0, NULL), GPUSIM_ENOMEM);
    assert_int_equal(f->nlog, 0);
    assert_int_equal(info(f).vmas, 2);
    assert_int_equal(pte_at(f, a + 3 * PAGE).pfn, pfn0);
    /* Exactly up to it is fine. */
    ASSERT_OK(do_mremap(f, a, 12 * PAGE, 16 * PAGE, 0, 0, &r));
    assert_int_equal(r, a);
    fx_free(f);
}

/* Moving: UNMAP over the old range, the same frames (and contents) at the new address. */
static void test_move(void **state)
{
    fx *f = fx_new(true, GPUSIM_THP_NEVER);
    uint64_t a, r, pfns[4], free0;
    gpusim_frame_info_t fi;
    (void)state;
    a = do_mmap(f, BASE, 4 * PAGE, RW, ANON | FIXED, NULL);
    do_mmap(f, BASE + 4 * PAGE, PAGE, GPUSIM_PROT_READ, ANON | FIXED, NULL); /* blocks growth */
    fill(f, a, 3 * PAGE, 3);                                                 /* page 3: none */
    for (int i = 0; i < 4; i++)
        pfns[i] = pte_at(f, a + (uint64_t)i * PAGE).pfn;
    free0 = free_bytes(f);
    f->nlog = 0;
    ASSERT_OK(do_mremap(f, a, 4 * PAGE, 6 * PAGE, MAYMOVE, 0, &r));
    assert_int_not_equal(r, a);
    assert_int_equal(r % PAGE, 0);
    assert_int_equal(f->nlog, 1);
    expect_seen(f, 0, a, a + 4 * PAGE, GPUSIM_NOTIFY_UNMAP);
    for (int i = 0; i < 3; i++) {
        gpusim_host_pte_t e = pte_at(f, r + (uint64_t)i * PAGE);
        assert_true(e.present && e.writable);
        assert_int_equal(e.pfn, pfns[i]);
        ASSERT_OK(gpusim_host_frame_info(f->h, pfns[i], &fi));
        assert_int_equal(fi.mapcount, 1);
        assert_false(pte_at(f, a + (uint64_t)i * PAGE).present);
    }
    assert_false(pte_at(f, r + 3 * PAGE).present);
    assert_int_equal(free_bytes(f), free0);
    assert_int_equal(info(f).rss_anon, 3 * PAGE);
    assert_int_equal(info(f).vmas, 2);
    expect_fill(f, r, 3 * PAGE, 3);
    ASSERT_OK(do_access(f, r + 5 * PAGE, PAGE, GPUSIM_ACCESS_WRITE, NULL)); /* the grown part */
    assert_int_equal(do_access(f, a, 1, GPUSIM_ACCESS_READ, NULL), GPUSIM_EFAULT);
    /* Moving part of a VMA out of its middle splits it. */
    f->nlog = 0;
    ASSERT_OK(do_mremap(f, r + PAGE, PAGE, 2 * PAGE, MAYMOVE, 0, &a));
    expect_seen(f, 0, r + PAGE, r + 2 * PAGE, GPUSIM_NOTIFY_UNMAP);
    assert_int_equal(pte_at(f, a).pfn, pfns[1]);
    assert_false(pte_at(f, r + PAGE).present);
    assert_int_equal(pte_at(f, r).pfn, pfns[0]);
    assert_int_equal(pte_at(f, r + 2 * PAGE).pfn, pfns[2]);
    /* (the new place is the gap just below r, so the moved page's VMA joins [r, r + 1 page):
     * gpusim merges anonymous VMAs without Linux's anon_vma/pgoff condition) */
    assert_int_equal(a, r - 2 * PAGE);
    assert_int_equal(info(f).vmas, 3);
    fx_free(f);
}

/* FIXED: what is at the target is unmapped first (UNMAP), then the old range moves (UNMAP). */
static void test_move_fixed(void **state)
{
    fx *f = fx_new(true, GPUSIM_THP_NEVER);
    uint64_t a, t = BASE + 0x100000, r, pfns[4], free0;
    (void)state;
    a = do_mmap(f, BASE, 4 * PAGE, RW, ANON | FIXED, NULL);
    fill(f, a, 4 * PAGE, 4);
    do_mmap(f, t + PAGE, 4 * PAGE, RW, ANON | FIXED, NULL);
    ASSERT_OK(do_access(f, t + PAGE, 4 * PAGE, GPUSIM_ACCESS_WRITE, NULL));
    for (int i = 0; i < 4; i++)
        pfns[i] = pte_at(f, a + (uint64_t)i * PAGE).pfn;
    free0 = free_bytes(f);
    f->nlog = 0;
    ASSERT_OK(do_mremap(f, a, 4 * PAGE, 4 * PAGE, MFIXED, t, &r));
    assert_int_equal(r, t);
    assert_int_equal(f->nlog, 2);
    expect_seen(f, 0, t, t + 4 * PAGE, GPUSIM_NOTIFY_UNMAP);
    expect_seen(f, 1, a, a + 4 * PAGE, GPUSIM_NOTIFY_UNMAP);
    for (int i = 0; i < 4; i++)
        assert_int_equal(pte_at(f, t + (uint64_t)i * PAGE).pfn, pfns[i]);
    assert_int_equal(free_bytes(f) - free0, 3 * PAGE); /* the target's three pages */
    assert_true(pte_at(f, t + 4 * PAGE).present);      /* the rest of the target's VMA stays */
    assert_int_equal(info(f).vmas, 1);                 /* and merges with the moved one */
    expect_fill(f, t, 4 * PAGE, 4);
    /* FIXED and shrinking: the old tail is unmapped first, then the rest moves. Nothing at the
     * new place: nothing announced for it. */
    f->nlog = 0;
    ASSERT_OK(do_mremap(f, t, 4 * PAGE, PAGE, MFIXED, BASE + 0x200000, &r));
    assert_int_equal(r, BASE + 0x200000);
    assert_int_equal(f->nlog, 2);
    expect_seen(f, 0, t + PAGE, t + 4 * PAGE, GPUSIM_NOTIFY_UNMAP);
    expect_seen(f, 1, t, t + PAGE, GPUSIM_NOTIFY_UNMAP);
    assert_int_equal(pte_at(f, r).pfn, pfns[0]);
    expect_fill(f, r, PAGE, 4);
    fx_free(f);
}

/* Shared mappings move with their frames; the other mapper keeps its own addresses. */
static void test_move_shared(void **state)
{
    fx *f = fx_new(true, GPUSIM_THP_NEVER);
    gpusim_file_t *file;
    uint64_t s, fm, r, pfn;
    gpusim_frame_info_t fi;
    (void)state;
    s = do_mmap(f, BASE, 2 * PAGE, RW, GPUSIM_MAP_SHARED | FIXED, NULL);
    fill(f, s, 2 * PAGE, 5);
    ASSERT_OK(gpusim_host_file_new(f->h, 4 * PAGE, &file));
    fm = do_mmap(f, BASE + 0x100000, 4 * PAGE, GPUSIM_PROT_READ, GPUSIM_MAP_SHARED | FIXED, file);
    do_mmap(f, BASE + 0x200000, 4 * PAGE, GPUSIM_PROT_READ, GPUSIM_MAP_SHARED | FIXED, file);
    ASSERT_OK(do_access(f, fm, 4 * PAGE, GPUSIM_ACCESS_READ, NULL));
    ASSERT_OK(do_access(f, BASE + 0x200000, 4 * PAGE, GPUSIM_ACCESS_READ, NULL));
    pfn = pte_at(f, fm + 2 * PAGE).pfn;
    ASSERT_OK(do_mremap(f, fm + 2 * PAGE, 2 * PAGE, 2 * PAGE, MFIXED, BASE + 0x300000, &r));
    assert_int_equal(pte_at(f, r).pfn, pfn);
    assert_int_equal(pte_at(f, BASE + 0x200000 + 2 * PAGE).pfn, pfn);
    ASSERT_OK(gpusim_host_frame_info(f->h, pfn, &fi));
    assert_int_equal(fi.mapcount, 2);
    ASSERT_OK(do_mremap(f, s, 2 * PAGE, 2 * PAGE, MFIXED, BASE + 0x400000, &r));
    expect_fill(f, r, 2 * PAGE, 5);
    assert_int_equal(info(f).rss_shmem, 2 * PAGE);
    fx_free(f);
}

/* 2 MiB mappings move whole when the new place keeps their alignment (an anonymous mapping whose
 * length is a multiple of 2 MiB is placed so); a misaligned FIXED target splits them. */
static void test_move_huge(void **state)
{
    fx *f = fx_new(true, GPUSIM_THP_ALWAYS);
    uint64_t a = BASE, r, head, t;
    (void)state;
    /* A page at the top of the mmap area, so that the highest gap does not end 2 MiB aligned. */
    do_mmap(f, 0, PAGE, GPUSIM_PROT_READ, ANON, NULL);
    do_mmap(f, a, 2 * HUGE, RW, ANON | FIXED, NULL);
    do_mmap(f, a + 2 * HUGE, PAGE, GPUSIM_PROT_READ, ANON | FIXED, NULL); /* blocks growth */
    fill(f, a + HUGE, 2 * PAGE, 6);
    assert_true(pte_at(f, a + HUGE).huge);
    head = pte_at(f, a + HUGE).pfn;
    f->nlog = 0;
    ASSERT_OK(do_mremap(f, a, 2 * HUGE, 4 * HUGE, MAYMOVE, 0, &r));
    assert_int_equal(f->nlog, 1);
    expect_seen(f, 0, a, a + 2 * HUGE, GPUSIM_NOTIFY_UNMAP);
    assert_int_equal(r % HUGE, 0);
    assert_true(pte_at(f, r + HUGE).huge);
    assert_int_equal(pte_at(f, r + HUGE + PAGE).pfn, head + 1);
    expect_fill(f, r + HUGE, 2 * PAGE, 6);
    /* To a target that is not 2 MiB aligned: the mapping is split, the frames stay. */
    t = BASE + 0x10000000 + PAGE;
    f->nlog = 0;
    ASSERT_OK(do_mremap(f, r + HUGE, HUGE, HUGE, MFIXED, t, &r));
    assert_int_equal(f->nlog, 1);
    assert_false(pte_at(f, t).huge);
    assert_int_equal(pte_at(f, t + 7 * PAGE).pfn, head + 7);
    expect_fill(f, t, 2 * PAGE, 6);
    /* Moving part of a 2 MiB mapping: split at the edges, only the part moves. */
    do_mmap(f, BASE + 0x20000000, HUGE, RW, ANON | FIXED, NULL);
    fill(f, BASE + 0x20000000, PAGE, 7);
    assert_true(pte_at(f, BASE + 0x20000000).huge);
    head = pte_at(f, BASE + 0x20000000).pfn;
    ASSERT_OK(do_mremap(f, BASE + 0x20000000 + 8 * PAGE, 4 * PAGE, 4 * PAGE, MFIXED,
                        BASE + 0x30000000, &r));
    assert_false(pte_at(f, BASE + 0x20000000).huge);
    assert_int_equal(pte_at(f, BASE + 0x20000000).pfn, head);
    assert_int_equal(pte_at(f, BASE + 0x30000000).pfn, head + 8);
    assert_false(pte_at(f, BASE + 0x20000000 + 8 * PAGE).present);
    fx_free(f);
}

/* A mirror that makes the UNMAP wait holds the move: the old translations stay until it is done. */
static void test_move_blocked(void **state)
{
    fx *f = fx_new(false, GPUSIM_THP_NEVER);
    call c = {0};
    uint64_t a, pfn;
    gpusim_time_t t0;
    (void)state;
    a = do_mmap(f, BASE, 2 * PAGE, RW, ANON | FIXED, NULL);
    ASSERT_OK(do_access(f, a, 2 * PAGE, GPUSIM_ACCESS_WRITE, NULL));
    pfn = pte_at(f, a).pfn;
    t0 = gpusim_world_now(f->w);
    f->block = true;
    ASSERT_OK(gpusim_completion_signal_at(f->w, &f->fence, t0 + 1000000));
    ASSERT_OK(
        gpusim_process_mremap(f->p, a, 2 * PAGE, 2 * PAGE, MFIXED, BASE + 0x100000, call_cb, &c));
    ASSERT_OK(gpusim_world_run_until(f->w, t0 + 999999));
    assert_int_equal(c.done, 0);
    assert_int_equal(pte_at(f, a).pfn, pfn);
    assert_false(pte_at(f, BASE + 0x100000).present);
    ASSERT_OK(finish(f, &c));
    assert_int_equal(pte_at(f, BASE + 0x100000).pfn, pfn);
    assert_false(pte_at(f, a).present);
    /* The process exits while a move waits: the move ends with ESRCH, not with a half move. */
    {
        call x = {0}, m = {0};
        t0 = gpusim_world_now(f->w);
        gpusim_completion_init(&f->fence, NULL);
        ASSERT_OK(gpusim_completion_signal_at(f->w, &f->fence, t0 + 1000000));
        ASSERT_OK(gpusim_process_mremap(f->p, BASE + 0x100000, 2 * PAGE, 2 * PAGE, MFIXED, a,
                                        call_cb, &m));
        ASSERT_OK(gpusim_world_run_until(f->w, t0 + 1000));
        f->block = false;
        ASSERT_OK(gpusim_process_exit(f->p, call_cb, &x));
        assert_int_equal(finish(f, &m), GPUSIM_ESRCH);
        assert_int_equal(x.done, 1);
    }
    fx_free(f);
}

/* Moving keeps pins and swap entries with their pages. */
static void test_move_pinned(void **state)
{
    fx *f = fx_new(false, GPUSIM_THP_NEVER);
    uint64_t a, r, pfn;
    hframe *fr;
    (void)state;
    a = do_mmap(f, BASE, 2 * PAGE, RW, ANON | FIXED, NULL);
    ASSERT_OK(do_access(f, a, 2 * PAGE, GPUSIM_ACCESS_WRITE, NULL));
    pfn = pte_at(f, a).pfn;
    fr = frame_of(f->h, (uint32_t)pfn);
    fr->pincount++; /* as a pin would leave it (gup.c is another module) */
    fr->refcount++;
    f->h->pinned_frames++;
    check(f);
    ASSERT_OK(do_mremap(f, a, 2 * PAGE, 2 * PAGE, MFIXED, BASE + 0x100000, &r));
    assert_int_equal(pte_at(f, r).pfn, pfn);
    assert_int_equal(fr->pincount, 1);
    assert_int_equal(fr->refcount, 2);
    fr->pincount--;
    f->h->pinned_frames--;
    gpusim__frame_put(f->h, (uint32_t)pfn);
    check(f);
    fx_free(f);
}

/* Arguments are checked at the call; the address space when the operation runs. */
static void test_errors(void **state)
{
    fx *f = fx_new(false, GPUSIM_THP_NEVER);
    call c = {0};
    uint64_t a, b, pfn;
    (void)state;
    a = do_mmap(f, BASE, 4 * PAGE, RW, ANON | FIXED, NULL);
    b = do_mmap(f, BASE + 4 * PAGE, 4 * PAGE, GPUSIM_PROT_READ, ANON | FIXED, NULL);
    ASSERT_OK(do_access(f, a, 4 * PAGE, GPUSIM_ACCESS_WRITE, NULL));
    pfn = pte_at(f, a).pfn;
    f->nlog = 0;
    /* EINVAL at the call. */
    ASSERT_ERR(gpusim_process_mremap(NULL, a, PAGE, PAGE, 0, 0, call_cb, &c), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_process_mremap(f->p, a + 1, PAGE, PAGE, 0, 0, call_cb, &c), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_process_mremap(f->p, a, PAGE, 0, 0, 0, call_cb, &c), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_process_mremap(f->p, a, 0, PAGE, MAYMOVE, 0, call_cb, &c), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_process_mremap(f->p, a, PAGE, PAGE, 0x10, 0, call_cb, &c), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_process_mremap(f->p, a, PAGE, PAGE, GPUSIM_MREMAP_FIXED, BASE + 0x100000,
                                     call_cb, &c),
               GPUSIM_EINVAL); /* FIXED without MAYMOVE */
    ASSERT_ERR(gpusim_process_mremap(f->p, a, PAGE, PAGE, MFIXED, BASE + 0x100001, call_cb, &c),
               GPUSIM_EINVAL); /* unaligned target */
    ASSERT_ERR(
        gpusim_process_mremap(f->p, a, 4 * PAGE, 4 * PAGE, MFIXED, a + 2 * PAGE, call_cb, &c),
        GPUSIM_EINVAL); /* overlapping */
    ASSERT_ERR(
        gpusim_process_mremap(f->p, a + 2 * PAGE, 2 * PAGE, 4 * PAGE, MFIXED, a, call_cb, &c),
        GPUSIM_EINVAL); /* overlapping, the other way */
    ASSERT_ERR(gpusim_process_mremap(f->p, a, PAGE, PAGE, MFIXED, GPUSIM_HOST_VA_END - PAGE / 2,
                                     call_cb, &c),
               GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_process_mremap(f->p, a, PAGE, 2 * PAGE, MFIXED, GPUSIM_HOST_VA_END - PAGE,
                                     call_cb, &c),
               GPUSIM_EINVAL); /* the new range leaves the address space */
    ASSERT_ERR(
        gpusim_process_mremap(f->p, GPUSIM_HOST_VA_END - PAGE, 2 * PAGE, PAGE, 0, 0, call_cb, &c),
        GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_process_mremap(f->p, a, UINT64_MAX, PAGE, 0, 0, call_cb, &c), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_process_mremap(f->p, a, PAGE, UINT64_MAX - 1, MAYMOVE, 0, call_cb, &c),
               GPUSIM_EINVAL);
    ASSERT_OK(gpusim_world_run(f->w));
    assert_int_equal(c.done, 0);
    /* EFAULT from the operation: not inside one VMA. Nothing announced or changed. */
    assert_int_equal(do_mremap(f, BASE + 0x100000, PAGE, 2 * PAGE, MAYMOVE, 0, NULL),
                     GPUSIM_EFAULT); /* unmapped */
    assert_int_equal(do_mremap(f, a + 2 * PAGE, 4 * PAGE, 4 * PAGE, MAYMOVE, 0, NULL),
                     GPUSIM_EFAULT); /* across two VMAs */
    assert_int_equal(do_mremap(f, b + 2 * PAGE, 4 * PAGE, PAGE, 0, 0, NULL),
                     GPUSIM_EFAULT); /* past the end of the VMA: not even a shrink */
    assert_int_equal(do_mremap(f, a, 8 * PAGE, PAGE, MFIXED, BASE + 0x100000, NULL),
                     GPUSIM_EFAULT); /* FIXED: checked before the target is touched */
    /* ENOMEM: growing in place is impossible and moving is not allowed. */
    assert_int_equal(do_mremap(f, a, 4 * PAGE, 5 * PAGE, 0, 0, NULL), GPUSIM_ENOMEM);
    assert_int_equal(do_mremap(f, a, 2 * PAGE, 3 * PAGE, 0, 0, NULL), GPUSIM_ENOMEM);
    /* ENOMEM: no room anywhere for the new length. */
    assert_int_equal(do_mremap(f, a, PAGE, GPUSIM_HOST_VA_END - 0x10000, MAYMOVE, 0, NULL),
                     GPUSIM_ENOMEM);
    assert_int_equal(f->nlog, 0);
    assert_int_equal(pte_at(f, a).pfn, pfn);
    assert_int_equal(info(f).vmas, 2);
    assert_int_equal(info(f).rss_anon, 4 * PAGE);
    /* ESRCH once the process has exited. */
    {
        call x = {0};
        ASSERT_OK(gpusim_process_exit(f->p, call_cb, &x));
        ASSERT_OK(finish(f, &x));
        ASSERT_ERR(gpusim_process_mremap(f->p, a, PAGE, PAGE, 0, 0, call_cb, &c), GPUSIM_ESRCH);
    }
    fx_free(f);
}

/* Memory for page tables or VMAs runs out at every possible point: ENOMEM and nothing changed, or
 * success. */
static void test_move_enomem_sweep(void **state)
{
    static uint64_t pfns[HUGE / PAGE + 8];
    const uint64_t a = BASE + 0x200000, t = BASE + 0x10000000, n_pages = HUGE / PAGE + 8;
    int failed = 0;
    (void)state;
    for (long n = 1; n < 200; n++) {
        fx *f = fx_new(true, GPUSIM_THP_ALWAYS);
        call c = {0};
        bool fired;
        do_mmap(f, a - 4 * PAGE, HUGE + 8 * PAGE, RW, ANON | FIXED, NULL);
        ASSERT_OK(do_access(f, a - 4 * PAGE, HUGE + 8 * PAGE, GPUSIM_ACCESS_WRITE, NULL));
        assert_true(pte_at(f, a).huge);
        for (uint64_t i = 0; i < n_pages; i++)
            pfns[i] = pte_at(f, a - 4 * PAGE + i * PAGE).pfn;
        /* [a - 2 pages, a + 2 MiB + 2 pages) to t - 2 pages: VMA splits at both ends, a 2 MiB
         * entry and 4 KiB ones, tables at the new place. */
        ASSERT_OK(gpusim_process_mremap(f->p, a - 2 * PAGE, HUGE + 4 * PAGE, HUGE + 4 * PAGE,
                                        MFIXED, t - 2 * PAGE, call_cb, &c));
        gpusim__alloc_fail_nth(n);
        ASSERT_OK(gpusim_world_run(f->w));
        fired = gpusim__alloc_fail_fired();
        gpusim__alloc_fail_nth(0);
        assert_int_equal(c.done, 1);
        check(f);
        if (c.status) {
            assert_int_equal(c.status, GPUSIM_ENOMEM);
            for (uint64_t i = 0; i < n_pages; i++)
                assert_int_equal(pte_at(f, a - 4 * PAGE + i * PAGE).pfn, pfns[i]);
            assert_true(pte_at(f, a).huge);
            assert_int_equal(info(f).vmas, 1);
            failed++;
        } else {
            assert_int_equal(c.result, t - 2 * PAGE);
            for (uint64_t i = 2; i < n_pages - 2; i++)
                assert_int_equal(pte_at(f, t - 4 * PAGE + i * PAGE).pfn, pfns[i]);
            assert_true(pte_at(f, t).huge);
            assert_int_equal(info(f).vmas, 3);
        }
        fx_free(f);
        if (!fired)
            break;
    }
    assert_true(failed > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        GPUSIM_TEST(test_shrink),       GPUSIM_TEST(test_grow_in_place),
        GPUSIM_TEST(test_move),         GPUSIM_TEST(test_move_fixed),
        GPUSIM_TEST(test_move_shared),  GPUSIM_TEST(test_move_huge),
        GPUSIM_TEST(test_move_blocked), GPUSIM_TEST(test_move_pinned),
        GPUSIM_TEST(test_errors),       GPUSIM_TEST(test_move_enomem_sweep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
