/*
 * tests/test_host_fork.c -- fork and exit of the simulated host (src/host/fork.c): copy-on-write
 * both ways, shared mappings, pinned pages staying with the parent, 2 MiB mappings, exactly what is
 * announced (PROTECTION_PAGE at fork, CLEAR for pinned THPs, RELEASE at exit), the counts after
 * every step, failures (memory, a parent that dies) and the exit's timing with a waiting mirror.
 */
#include "test_util.h"
#include "host_util.h"

#include "host/host.h"

#define MIB  GPUSIM_MIB
#define PAGE GPUSIM_HOST_PAGE_SIZE
#define HUGE GPUSIM_HOST_HUGE_SIZE
#define RW   (GPUSIM_PROT_READ | GPUSIM_PROT_WRITE)
#define ANON GPUSIM_MAP_PRIVATE

/* ---- fixture -------------------------------------------------------------------------------- */

/* A recorded announcement, with the process (subscription) it was made to. */
typedef struct seen {
    int who;
    uint64_t start, end;
    gpusim_notifier_event_t event;
    gpusim_invalidator_t kind;
    bool blockable;
} seen;

struct fx;

typedef struct tap {
    struct fx *f;
    int who;
    gpusim_notifier_sub_t *sub;
} tap;

typedef struct fx {
    gpusim_world_t *w;
    gpusim_host_t *h;
    gpusim_process_t *p;
    tap taps[4];
    int ntaps;
    seen log[64];
    int nlog;
    gpusim_completion_t fence; /* when `block` is set, blockable callbacks wait on it */
    bool block;
} fx;

static gpusim_notifier_answer_t record(gpusim_notifier_sub_t *sub, const gpusim_notifier_range_t *r,
                                       uint64_t cur_seq, gpusim_completion_t **wait_on)
{
    tap *t = gpusim_notifier_sub_data(sub);
    fx *f = t->f;
    gpusim_notifier_set_seq(sub, cur_seq);
    if (f->nlog < 64)
        f->log[f->nlog++] =
            (seen){t->who, r->start, r->end, r->event, r->invalidator, r->blockable};
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

/* Subscribes a recorder to all of p's address space; returns its tag. */
static int tap_on(fx *f, gpusim_process_t *p)
{
    tap *t = &f->taps[f->ntaps];
    t->f = f;
    t->who = f->ntaps;
    ASSERT_OK(gpusim_notifier_insert(gpusim_process_notifier(p), 0, GPUSIM_HOST_VA_END, record, t,
                                     &t->sub));
    return f->ntaps++;
}

static fx *fx_new(uint64_t ram, bool data_mode, gpusim_thp_mode_t thp)
{
    static fx f;
    gpusim_host_config_t cfg;
    gpusim_process_config_t pc;
    memset(&f, 0, sizeof f);
    f.w = test_world(1);
    gpusim_host_config_init(&cfg);
    cfg.ram_bytes = ram;
    cfg.swap_bytes = 16 * MIB;
    cfg.data_mode = data_mode;
    cfg.thp = thp;
    cfg.khugepaged = false;
    ASSERT_OK(gpusim_host_new(f.w, &cfg, &f.h));
    gpusim_process_config_init(&pc);
    pc.name = "parent";
    ASSERT_OK(gpusim_process_new(f.h, &pc, &f.p));
    gpusim_completion_init(&f.fence, NULL);
    tap_on(&f, f.p); /* who = 0 */
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

static uint64_t do_mmap(fx *f, gpusim_process_t *p, uint64_t addr, uint64_t len, unsigned prot,
                        unsigned flags, gpusim_file_t *file)
{
    call c = {.w = f->w};
    ASSERT_OK(gpusim_process_mmap(p, addr, len, prot, flags, file, 0, call_cb, &c));
    ASSERT_OK(finish(f, &c));
    return c.result;
}

static int do_access(fx *f, gpusim_process_t *p, uint64_t addr, uint64_t len, gpusim_access_t kind,
                     void *buf)
{
    call c = {.w = f->w};
    ASSERT_OK(gpusim_process_access(p, addr, len, kind, buf, call_cb, &c));
    return finish(f, &c);
}

static void fill(fx *f, gpusim_process_t *p, uint64_t addr, uint64_t len, uint8_t v)
{
    uint8_t buf[4 * 4096];
    assert_true(len <= sizeof buf);
    memset(buf, v, len);
    ASSERT_OK(do_access(f, p, addr, len, GPUSIM_ACCESS_WRITE, buf));
}

/* Asserts every byte of [addr, addr + len) reads v in p. */
static void expect_bytes(fx *f, gpusim_process_t *p, uint64_t addr, uint64_t len, uint8_t v)
{
    uint8_t buf[4 * 4096];
    assert_true(len <= sizeof buf);
    ASSERT_OK(do_access(f, p, addr, len, GPUSIM_ACCESS_READ, buf));
    for (uint64_t i = 0; i < len; i++)
        if (buf[i] != v)
            fail_msg("byte %lu at %#lx is %#x, not %#x", (unsigned long)i, (unsigned long)addr,
                     buf[i], v);
}

static int do_fork(fx *f, gpusim_process_t *p, const char *name, gpusim_process_t **child)
{
    gpusim_process_config_t pc;
    call c = {.w = f->w};
    gpusim_process_config_init(&pc);
    pc.name = name;
    ASSERT_OK(gpusim_process_fork(p, &pc, child, call_cb, &c));
    return finish(f, &c);
}

static int do_exit(fx *f, gpusim_process_t *p)
{
    call c = {.w = f->w};
    ASSERT_OK(gpusim_process_exit(p, call_cb, &c));
    return finish(f, &c);
}

static gpusim_host_pte_t pte_of(gpusim_process_t *p, uint64_t va)
{
    gpusim_host_pte_t e;
    ASSERT_OK(gpusim_process_translate(p, va, &e));
    return e;
}

static gpusim_frame_info_t frame(fx *f, uint64_t pfn)
{
    gpusim_frame_info_t fi;
    ASSERT_OK(gpusim_host_frame_info(f->h, pfn, &fi));
    return fi;
}

static uint64_t free_bytes(fx *f)
{
    gpusim_host_meminfo_t mi;
    ASSERT_OK(gpusim_host_meminfo(f->h, &mi));
    return mi.free;
}

static gpusim_process_info_t info_of(gpusim_process_t *p)
{
    gpusim_process_info_t in;
    ASSERT_OK(gpusim_process_info(p, &in));
    return in;
}

static void expect_seen(fx *f, int i, int who, uint64_t start, uint64_t end,
                        gpusim_notifier_event_t ev, gpusim_invalidator_t kind)
{
    if (i >= f->nlog)
        fail_msg("announcement %d missing (%d seen)", i, f->nlog);
    assert_int_equal(f->log[i].who, who);
    assert_int_equal(f->log[i].start, start);
    assert_int_equal(f->log[i].end, end);
    assert_int_equal(f->log[i].event, ev);
    assert_int_equal(f->log[i].kind, kind);
    assert_true(f->log[i].blockable);
}

/* Pins the page at va for writing (pin_user_pages, gup.c); returns its frame. */
static uint64_t pin_page(fx *f, gpusim_process_t *p, uint64_t va)
{
    call c = {.w = f->w};
    uint64_t pfn = 0;
    ASSERT_OK(gpusim_process_pin(p, va, 1, GPUSIM_PIN_WRITE, &pfn, call_cb, &c));
    ASSERT_OK(finish(f, &c));
    assert_int_equal(pfn, pte_of(p, va).pfn);
    return pfn;
}

static void unpin_page(fx *f, gpusim_process_t *p, uint64_t pfn)
{
    (void)f;
    ASSERT_OK(gpusim_process_unpin(p, &pfn, 1, true, NULL));
}

/* ---- fork: copy-on-write -------------------------------------------------------------------- */

/* A private page written by the child after fork is not seen by the parent and vice versa. */
static void test_fork_cow_private(void **state)
{
    fx *f = fx_new(32 * MIB, true, GPUSIM_THP_NEVER);
    gpusim_process_t *child;
    uint64_t a, pfn0, pfn1, free0;
    (void)state;
    a = do_mmap(f, f->p, 0, 4 * PAGE, RW, ANON, NULL);
    fill(f, f->p, a, 4 * PAGE, 0xa1);
    pfn0 = pte_of(f->p, a).pfn;
    pfn1 = pte_of(f->p, a + PAGE).pfn;
    free0 = free_bytes(f);
    f->nlog = 0;
    ASSERT_OK(do_fork(f, f->p, "child", &child));
    /* Write-protection of the parent is announced once, over the VMA, by the fork. */
    assert_int_equal(f->nlog, 1);
    expect_seen(f, 0, 0, a, a + 4 * PAGE, GPUSIM_NOTIFY_PROTECTION_PAGE, GPUSIM_INVALIDATOR_FORK);
    /* Both map the same frames, read-only; nothing was allocated. */
    for (uint64_t va = a; va < a + 4 * PAGE; va += PAGE) {
        gpusim_host_pte_t pe = pte_of(f->p, va), ce = pte_of(child, va);
        assert_true(pe.present && ce.present);
        assert_false(pe.writable);
        assert_false(ce.writable);
        assert_int_equal(pe.pfn, ce.pfn);
        assert_int_equal(frame(f, pe.pfn).mapcount, 2);
        assert_int_equal(frame(f, pe.pfn).refcount, 2);
    }
    assert_int_equal(free_bytes(f), free0);
    assert_int_equal(info_of(child).rss_anon, 4 * PAGE);
    assert_int_equal(info_of(child).vmas, 1);
    assert_int_equal(info_of(child).state, GPUSIM_PROCESS_LIVE);
    /* The child writes page 0: it gets a copy, the parent keeps its data and its frame. */
    fill(f, child, a, PAGE, 0xc0);
    expect_bytes(f, child, a, PAGE, 0xc0);
    expect_bytes(f, f->p, a, PAGE, 0xa1);
    assert_int_equal(pte_of(f->p, a).pfn, pfn0);
    assert_int_not_equal(pte_of(child, a).pfn, pfn0);
    assert_int_equal(frame(f, pfn0).mapcount, 1);
    /* The parent writes page 1: the parent gets the copy, the child keeps the original. */
    fill(f, f->p, a + PAGE, PAGE, 0xb2);
    expect_bytes(f, f->p, a + PAGE, PAGE, 0xb2);
    expect_bytes(f, child, a + PAGE, PAGE, 0xa1);
    assert_int_equal(pte_of(child, a + PAGE).pfn, pfn1);
    assert_int_not_equal(pte_of(f->p, a + PAGE).pfn, pfn1);
    /* The parent's page 0 is its own again: its write reuses the frame (no copy). */
    fill(f, f->p, a, PAGE, 0xa2);
    assert_int_equal(pte_of(f->p, a).pfn, pfn0);
    expect_bytes(f, child, a, PAGE, 0xc0);
    assert_int_equal(free_bytes(f), free0 - 2 * PAGE);
    fx_free(f);
}

/* Shared mappings (shmem and file) stay shared: the same frames, writable as in the parent. */
static void test_fork_shared(void **state)
{
    fx *f = fx_new(32 * MIB, true, GPUSIM_THP_NEVER);
    gpusim_process_t *child;
    gpusim_file_t *file;
    uint64_t s, fs, fp, free0;
    (void)state;
    s = do_mmap(f, f->p, 0, 2 * PAGE, RW, GPUSIM_MAP_SHARED, NULL);
    fill(f, f->p, s, 2 * PAGE, 0x11);
    ASSERT_OK(gpusim_host_file_new(f->h, 4 * PAGE, &file));
    fs = do_mmap(f, f->p, 0, 2 * PAGE, RW, GPUSIM_MAP_SHARED, file);
    fp = do_mmap(f, f->p, 0, 2 * PAGE, RW, GPUSIM_MAP_PRIVATE, file);
    ASSERT_OK(do_access(f, f->p, fs, 2 * PAGE, GPUSIM_ACCESS_WRITE, NULL));
    ASSERT_OK(do_access(f, f->p, fp, 2 * PAGE, GPUSIM_ACCESS_READ, NULL));
    free0 = free_bytes(f);
    f->nlog = 0;
    ASSERT_OK(do_fork(f, f->p, "child", &child));
    assert_int_equal(f->nlog, 0); /* nothing private and writable: nothing to announce */
    assert_int_equal(free_bytes(f), free0);
    for (uint64_t i = 0; i < 2; i++) {
        gpusim_host_pte_t pe = pte_of(f->p, s + i * PAGE), ce = pte_of(child, s + i * PAGE);
        assert_true(pe.writable && ce.writable);
        assert_int_equal(pe.pfn, ce.pfn);
        pe = pte_of(f->p, fs + i * PAGE);
        ce = pte_of(child, fs + i * PAGE);
        assert_true(pe.writable && ce.writable);
        assert_int_equal(pe.pfn, ce.pfn);
        pe = pte_of(f->p, fp + i * PAGE); /* private file pages: the page cache, read-only */
        ce = pte_of(child, fp + i * PAGE);
        assert_false(pe.writable || ce.writable);
        assert_int_equal(pe.pfn, ce.pfn);
        assert_int_equal(frame(f, pe.pfn).mapcount, 4); /* and the shared mapping of the file */
    }
    assert_int_equal(info_of(child).rss_shmem, 2 * PAGE);
    assert_int_equal(info_of(child).rss_file, 4 * PAGE);
    /* Each sees the other's writes. */
    fill(f, child, s, PAGE, 0x22);
    expect_bytes(f, f->p, s, PAGE, 0x22);
    fill(f, f->p, s + PAGE, PAGE, 0x33);
    expect_bytes(f, child, s + PAGE, PAGE, 0x33);
    fill(f, child, fs, PAGE, 0x44);
    expect_bytes(f, f->p, fs, PAGE, 0x44);
    /* The shmem object outlives the parent's exit; the child still sees it. */
    ASSERT_OK(do_exit(f, f->p));
    expect_bytes(f, child, s, PAGE, 0x22);
    ASSERT_OK(do_exit(f, child));
    fx_free(f);
}

/* Exactly the private VMAs with writable pages are announced, in order, each over its range. */
static void test_fork_protection_ranges(void **state)
{
    fx *f = fx_new(32 * MIB, false, GPUSIM_THP_NEVER);
    gpusim_process_t *child, *grandchild;
    uint64_t base = 0x40000000, a, b, c, d, e;
    (void)state;
    /* a: written (writable PTEs). b: only read (zero page). c: shared, written. d: written then
     * made read-only. e: written, different protection (no merge with a). Gaps between them. */
    a = do_mmap(f, f->p, base, 4 * PAGE, RW, ANON | GPUSIM_MAP_FIXED, NULL);
    b = do_mmap(f, f->p, base + 8 * PAGE, 4 * PAGE, RW, ANON | GPUSIM_MAP_FIXED, NULL);
    c = do_mmap(f, f->p, base + 16 * PAGE, 4 * PAGE, RW, GPUSIM_MAP_SHARED | GPUSIM_MAP_FIXED,
                NULL);
    d = do_mmap(f, f->p, base + 24 * PAGE, 4 * PAGE, RW, ANON | GPUSIM_MAP_FIXED, NULL);
    e = do_mmap(f, f->p, base + 32 * PAGE, 4 * PAGE, RW | GPUSIM_PROT_EXEC, ANON | GPUSIM_MAP_FIXED,
                NULL);
    ASSERT_OK(do_access(f, f->p, a + PAGE, PAGE, GPUSIM_ACCESS_WRITE, NULL));
    ASSERT_OK(do_access(f, f->p, b, 4 * PAGE, GPUSIM_ACCESS_READ, NULL));
    ASSERT_OK(do_access(f, f->p, c, 4 * PAGE, GPUSIM_ACCESS_WRITE, NULL));
    ASSERT_OK(do_access(f, f->p, d, 4 * PAGE, GPUSIM_ACCESS_WRITE, NULL));
    {
        call m = {.w = f->w};
        ASSERT_OK(gpusim_process_mprotect(f->p, d, 4 * PAGE, GPUSIM_PROT_READ, call_cb, &m));
        ASSERT_OK(finish(f, &m));
    }
    ASSERT_OK(do_access(f, f->p, e + 3 * PAGE, PAGE, GPUSIM_ACCESS_WRITE, NULL));
    f->nlog = 0;
    ASSERT_OK(do_fork(f, f->p, "child", &child));
    assert_int_equal(f->nlog, 2);
    expect_seen(f, 0, 0, a, a + 4 * PAGE, GPUSIM_NOTIFY_PROTECTION_PAGE, GPUSIM_INVALIDATOR_FORK);
    expect_seen(f, 1, 0, e, e + 4 * PAGE, GPUSIM_NOTIFY_PROTECTION_PAGE, GPUSIM_INVALIDATOR_FORK);
    assert_int_equal(info_of(child).vmas, 5);
    assert_true(pte_of(child, b).present && pte_of(child, b).pfn == 0); /* the zero page */
    assert_true(pte_of(child, c).writable);
    assert_false(pte_of(child, d).writable);
    /* Nothing writable is left in the parent's private memory: a second fork announces nothing. */
    f->nlog = 0;
    ASSERT_OK(do_fork(f, f->p, "child2", &grandchild));
    assert_int_equal(f->nlog, 0);
    assert_int_equal(frame(f, pte_of(f->p, a + PAGE).pfn).mapcount, 3);
    /* The child's own writes are not the parent's business; its fork announces in its domain. */
    tap_on(f, child); /* who = 1 */
    f->nlog = 0;
    {
        gpusim_process_t *gc;
        ASSERT_OK(do_access(f, child, a + PAGE, PAGE, GPUSIM_ACCESS_WRITE, NULL)); /* COW break */
        assert_int_equal(f->nlog, 1);
        expect_seen(f, 0, 1, a + PAGE, a + 2 * PAGE, GPUSIM_NOTIFY_CLEAR,
                    GPUSIM_INVALIDATOR_COW_FAULT);
        f->nlog = 0;
        ASSERT_OK(do_fork(f, child, "gc", &gc));
        assert_int_equal(f->nlog, 1);
        expect_seen(f, 0, 1, a, a + 4 * PAGE, GPUSIM_NOTIFY_PROTECTION_PAGE,
                    GPUSIM_INVALIDATOR_FORK);
    }
    fx_free(f);
}

/* A pinned page stays with the parent: the child gets a copy at fork, the parent's entry is left
 * writable and untouched, and later writes by the parent do not move it. */
static void test_fork_pinned(void **state)
{
    fx *f = fx_new(32 * MIB, true, GPUSIM_THP_NEVER);
    gpusim_process_t *child;
    uint64_t a, b, pinned, pinned_b, free0;
    gpusim_time_t t0;
    uint64_t cow, base, pte;
    (void)state;
    a = do_mmap(f, f->p, 0x50000000, 2 * PAGE, RW, ANON | GPUSIM_MAP_FIXED, NULL);
    b = do_mmap(f, f->p, 0x60000000, PAGE, RW, ANON | GPUSIM_MAP_FIXED, NULL);
    fill(f, f->p, a, 2 * PAGE, 0x5a);
    fill(f, f->p, b, PAGE, 0x6b);
    pinned = pin_page(f, f->p, a);
    pinned_b = pin_page(f, f->p, b);
    check(f);
    free0 = free_bytes(f);
    f->nlog = 0;
    t0 = gpusim_world_now(f->w);
    ASSERT_OK(do_fork(f, f->p, "child", &child));
    /* a has an unpinned writable page (announced); b has only a pinned one (nothing to protect). */
    assert_int_equal(f->nlog, 1);
    expect_seen(f, 0, 0, a, a + 2 * PAGE, GPUSIM_NOTIFY_PROTECTION_PAGE, GPUSIM_INVALIDATOR_FORK);
    /* The parent's pinned pages: same frame, still writable, mapped once, pin intact. */
    assert_int_equal(pte_of(f->p, a).pfn, pinned);
    assert_true(pte_of(f->p, a).writable);
    assert_true(pte_of(f->p, b).writable);
    assert_false(pte_of(f->p, a + PAGE).writable);
    assert_int_equal(frame(f, pinned).mapcount, 1);
    assert_int_equal(frame(f, pinned).pincount, 1);
    assert_int_equal(frame(f, pinned).refcount, 2);
    /* The child's copies: other frames, same contents, writable (the VMA is). */
    assert_int_not_equal(pte_of(child, a).pfn, pinned);
    assert_int_not_equal(pte_of(child, b).pfn, pinned_b);
    assert_true(pte_of(child, a).writable);
    assert_int_equal(pte_of(child, a + PAGE).pfn, pte_of(f->p, a + PAGE).pfn);
    assert_int_equal(free_bytes(f), free0 - 2 * PAGE);
    /* Cost: fork_base, 3 entries, 2 copies, one TLB flush for the one page write-protected. */
    ASSERT_OK(gpusim_host_config_get(&f->h->cfg, "cow_copy_4k", &cow));
    ASSERT_OK(gpusim_host_config_get(&f->h->cfg, "fork_base", &base));
    ASSERT_OK(gpusim_host_config_get(&f->h->cfg, "fork_pte_4k", &pte));
    {
        uint64_t disp, tlb, sd;
        ASSERT_OK(gpusim_host_config_get(&f->h->cfg, "notifier_dispatch", &disp));
        ASSERT_OK(gpusim_host_config_get(&f->h->cfg, "tlb_flush_per_page", &tlb));
        ASSERT_OK(gpusim_host_config_get(&f->h->cfg, "tlb_shootdown", &sd));
        assert_int_equal(gpusim_world_now(f->w) - t0, base + 3 * pte + 2 * cow + disp + tlb + sd);
    }
    /* The parent writes through its pinned page (what a device DMAing there would see). */
    fill(f, f->p, a, PAGE, 0x77);
    assert_int_equal(pte_of(f->p, a).pfn, pinned);
    expect_bytes(f, child, a, PAGE, 0x5a);
    fill(f, child, b, PAGE, 0x88);
    expect_bytes(f, f->p, b, PAGE, 0x6b);
    {
        uint8_t byte;
        ASSERT_OK(gpusim_host_frame_read(f->h, pinned, 0, &byte, 1));
        assert_int_equal(byte, 0x77);
    }
    /* After exit, the pinned frames live on with their pins until unpinned. */
    ASSERT_OK(do_exit(f, f->p));
    assert_int_equal(frame(f, pinned).state, GPUSIM_FRAME_USED);
    assert_int_equal(frame(f, pinned).mapcount, 0);
    assert_int_equal(frame(f, pinned).refcount, 1);
    unpin_page(f, f->p, pinned);
    unpin_page(f, f->p, pinned_b);
    assert_int_equal(frame(f, pinned).state, GPUSIM_FRAME_FREE);
    check(f);
    ASSERT_OK(do_exit(f, child));
    fx_free(f);
}

/* 2 MiB mappings are shared whole, read-only in both; a pinned one is split first (CLEAR). */
static void test_fork_huge(void **state)
{
    fx *f = fx_new(64 * MIB, true, GPUSIM_THP_ALWAYS);
    gpusim_process_t *child, *child2;
    uint64_t a = 0x80000000, head, pinned;
    (void)state;
    do_mmap(f, f->p, a, 2 * HUGE, RW, ANON | GPUSIM_MAP_FIXED, NULL);
    fill(f, f->p, a, PAGE, 0x21);
    fill(f, f->p, a + HUGE, PAGE, 0x22);
    assert_true(pte_of(f->p, a).huge && pte_of(f->p, a + HUGE).huge);
    head = pte_of(f->p, a).pfn;
    f->nlog = 0;
    ASSERT_OK(do_fork(f, f->p, "child", &child));
    assert_int_equal(f->nlog, 1);
    expect_seen(f, 0, 0, a, a + 2 * HUGE, GPUSIM_NOTIFY_PROTECTION_PAGE, GPUSIM_INVALIDATOR_FORK);
    assert_true(pte_of(child, a + 5 * PAGE).huge);
    assert_false(pte_of(child, a).writable || pte_of(f->p, a).writable);
    assert_int_equal(pte_of(child, a + 5 * PAGE).pfn, head + 5);
    assert_int_equal(frame(f, head).mapcount, 2);
    assert_int_equal(info_of(child).rss_anon, 2 * HUGE);
    /* The child's write splits the shared 2 MiB and copies one page. */
    fill(f, child, a, PAGE, 0x31);
    expect_bytes(f, f->p, a, PAGE, 0x21);
    expect_bytes(f, child, a, PAGE, 0x31);
    ASSERT_OK(do_exit(f, child));
    /* The second 2 MiB mapping is the parent's alone again; pin a page of it and fork: the
     * mapping is split (CLEAR over its 2 MiB) and the pinned page copied for the child. */
    fill(f, f->p, a + HUGE, PAGE, 0x23); /* write-enables the now exclusive 2 MiB mapping */
    assert_true(pte_of(f->p, a + HUGE).huge && pte_of(f->p, a + HUGE).writable);
    pinned = pin_page(f, f->p, a + HUGE + 3 * PAGE);
    check(f);
    f->nlog = 0;
    ASSERT_OK(do_fork(f, f->p, "child2", &child2));
    assert_int_equal(f->nlog, 2);
    expect_seen(f, 0, 0, a + HUGE, a + 2 * HUGE, GPUSIM_NOTIFY_CLEAR, GPUSIM_INVALIDATOR_FORK);
    expect_seen(f, 1, 0, a, a + 2 * HUGE, GPUSIM_NOTIFY_PROTECTION_PAGE, GPUSIM_INVALIDATOR_FORK);
    assert_false(pte_of(f->p, a + HUGE).huge);
    assert_true(pte_of(f->p, a + HUGE + 3 * PAGE).writable);
    assert_int_equal(pte_of(f->p, a + HUGE + 3 * PAGE).pfn, pinned);
    assert_int_not_equal(pte_of(child2, a + HUGE + 3 * PAGE).pfn, pinned);
    assert_int_equal(pte_of(child2, a + HUGE + 4 * PAGE).pfn, pinned + 1);
    assert_false(pte_of(f->p, a + HUGE + 4 * PAGE).writable);
    expect_bytes(f, child2, a + HUGE, PAGE, 0x23);
    unpin_page(f, f->p, pinned);
    check(f);
    fx_free(f);
}

/* Swapped-out pages are shared by reference to the swap slot. */
static void test_fork_swap(void **state)
{
    fx *f = fx_new(32 * MIB, true, GPUSIM_THP_NEVER);
    gpusim_process_t *child;
    uint64_t a;
    call c = {.w = f->w};
    (void)state;
    a = do_mmap(f, f->p, 0, 2 * PAGE, RW, ANON, NULL);
    fill(f, f->p, a, 2 * PAGE, 0x99);
    ASSERT_OK(gpusim_process_madvise(f->p, a, 2 * PAGE, GPUSIM_MADV_PAGEOUT, call_cb, &c));
    if (finish(f, &c) != 0 || !pte_of(f->p, a).swapped) {
        /* reclaim.c may not page out yet; the rest of the test needs it */
        fx_free(f);
        skip();
    }
    ASSERT_OK(do_fork(f, f->p, "child", &child));
    assert_true(pte_of(child, a).swapped);
    assert_int_equal(info_of(child).swap, info_of(f->p).swap);
    expect_bytes(f, child, a, PAGE, 0x99);
    expect_bytes(f, f->p, a, 2 * PAGE, 0x99);
    ASSERT_OK(do_exit(f, child));
    ASSERT_OK(do_exit(f, f->p));
    fx_free(f);
}

/* Bad calls change nothing. */
static void test_fork_errors(void **state)
{
    fx *f = fx_new(32 * MIB, false, GPUSIM_THP_NEVER);
    gpusim_process_config_t pc;
    gpusim_process_t *child = NULL, *dead;
    call c = {.w = f->w};
    (void)state;
    gpusim_process_config_init(&pc);
    ASSERT_ERR(gpusim_process_fork(NULL, &pc, &child, call_cb, &c), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_process_fork(f->p, NULL, &child, call_cb, &c), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_process_fork(f->p, &pc, NULL, call_cb, &c), GPUSIM_EINVAL);
    pc.name = "Bad-Name";
    ASSERT_ERR(gpusim_process_fork(f->p, &pc, &child, call_cb, &c), GPUSIM_EINVAL);
    pc.name = "parent";
    ASSERT_ERR(gpusim_process_fork(f->p, &pc, &child, call_cb, &c), GPUSIM_EEXIST);
    pc.name = NULL;
    pc.node = 5;
    ASSERT_ERR(gpusim_process_fork(f->p, &pc, &child, call_cb, &c), GPUSIM_EINVAL);
    assert_null(child);
    ASSERT_OK(do_fork(f, f->p, "dead", &dead));
    ASSERT_OK(do_exit(f, dead));
    pc.node = 0;
    pc.name = "x";
    ASSERT_ERR(gpusim_process_fork(dead, &pc, &child, call_cb, &c), GPUSIM_ESRCH);
    ASSERT_ERR(gpusim_process_exit(dead, call_cb, &c), GPUSIM_ESRCH);
    ASSERT_ERR(gpusim_process_exit(NULL, call_cb, &c), GPUSIM_EINVAL);
    ASSERT_OK(gpusim_world_run(f->w));
    assert_int_equal(c.done, 0);
    assert_int_equal(f->h->nprocs, 2);
    check(f);
    fx_free(f);
}

/* ---- fork under concurrency and failure ----------------------------------------------------- */

/* The VMA changes while the fork waits for a mirror: the fork starts that VMA again. */
static void test_fork_vma_changes_while_blocked(void **state)
{
    fx *f = fx_new(32 * MIB, true, GPUSIM_THP_NEVER);
    gpusim_process_config_t pc;
    gpusim_process_t *child;
    call c = {.w = f->w}, m = {.w = f->w};
    uint64_t a = 0x70000000;
    gpusim_time_t t0;
    (void)state;
    do_mmap(f, f->p, a, 4 * PAGE, RW, ANON | GPUSIM_MAP_FIXED, NULL);
    fill(f, f->p, a, 4 * PAGE, 0x42);
    gpusim_process_config_init(&pc);
    pc.name = "child";
    f->block = true;
    f->nlog = 0;
    t0 = gpusim_world_now(f->w);
    ASSERT_OK(gpusim_process_fork(f->p, &pc, &child, call_cb, &c));
    ASSERT_OK(gpusim_world_run_until(f->w, t0 + 1000000));
    assert_int_equal(c.done, 0);
    assert_int_equal(f->nlog, 1); /* the fork waits in its PROTECTION_PAGE */
    assert_true(pte_of(f->p, a).writable);
    /* Meanwhile the parent unmaps the first page (the mirror answers at once this time). */
    f->block = false;
    ASSERT_OK(gpusim_process_munmap(f->p, a, PAGE, call_cb, &m));
    ASSERT_OK(gpusim_world_run_until(f->w, t0 + 2000000));
    assert_int_equal(m.done, 1);
    ASSERT_OK(gpusim_completion_signal(f->w, &f->fence));
    ASSERT_OK(finish(f, &c));
    ASSERT_OK(m.status);
    assert_int_equal(f->nlog, 3);
    expect_seen(f, 1, 0, a, a + PAGE, GPUSIM_NOTIFY_UNMAP, GPUSIM_INVALIDATOR_SYSCALL);
    expect_seen(f, 2, 0, a + PAGE, a + 4 * PAGE, GPUSIM_NOTIFY_PROTECTION_PAGE,
                GPUSIM_INVALIDATOR_FORK);
    assert_int_equal(info_of(child).vmas, 1);
    assert_false(pte_of(child, a).present);
    assert_int_equal(pte_of(child, a + PAGE).pfn, pte_of(f->p, a + PAGE).pfn);
    assert_int_equal(do_access(f, child, a, 1, GPUSIM_ACCESS_READ, NULL), GPUSIM_EFAULT);
    expect_bytes(f, child, a + PAGE, 3 * PAGE, 0x42);
    fx_free(f);
}

/* The parent exits while its fork waits: the fork ends with ESRCH and takes the child down. */
static void test_fork_parent_dies(void **state)
{
    fx *f = fx_new(32 * MIB, false, GPUSIM_THP_NEVER);
    gpusim_process_config_t pc;
    gpusim_process_t *child;
    call c = {.w = f->w}, x = {.w = f->w};
    uint64_t free0, a;
    gpusim_time_t t0;
    (void)state;
    free0 = free_bytes(f);
    a = do_mmap(f, f->p, 0, 4 * PAGE, RW, ANON, NULL);
    ASSERT_OK(do_access(f, f->p, a, 4 * PAGE, GPUSIM_ACCESS_WRITE, NULL));
    gpusim_process_config_init(&pc);
    pc.name = "child";
    f->block = true;
    t0 = gpusim_world_now(f->w);
    ASSERT_OK(gpusim_process_fork(f->p, &pc, &child, call_cb, &c));
    ASSERT_OK(gpusim_world_run_until(f->w, t0 + 1000));
    tap_on(f, child); /* who = 1: sees the child's RELEASE */
    f->block = false;
    f->nlog = 0;
    ASSERT_OK(gpusim_process_exit(f->p, call_cb, &x));
    ASSERT_OK(gpusim_world_run_until(f->w, t0 + 1000000));
    assert_int_equal(x.done, 1);
    assert_int_equal(info_of(f->p).state, GPUSIM_PROCESS_DEAD);
    assert_int_equal(c.done, 0);
    ASSERT_OK(gpusim_completion_signal(f->w, &f->fence));
    assert_int_equal(finish(f, &c), GPUSIM_ESRCH);
    assert_int_equal(info_of(child).state, GPUSIM_PROCESS_DEAD);
    assert_int_equal(f->nlog, 2);
    expect_seen(f, 0, 0, 0, UINT64_MAX, GPUSIM_NOTIFY_RELEASE, GPUSIM_INVALIDATOR_EXIT);
    expect_seen(f, 1, 1, 0, UINT64_MAX, GPUSIM_NOTIFY_RELEASE, GPUSIM_INVALIDATOR_EXIT);
    assert_int_equal(free_bytes(f), free0);
    fx_free(f);
}

/* Using the child before the fork completed is refused (EBUSY), not allowed to corrupt it. */
static void test_fork_child_used_early(void **state)
{
    fx *f = fx_new(32 * MIB, false, GPUSIM_THP_NEVER);
    gpusim_process_config_t pc;
    gpusim_process_t *child;
    call c = {.w = f->w};
    uint64_t a = 0x70000000, free0;
    gpusim_time_t t0;
    (void)state;
    free0 = free_bytes(f);
    do_mmap(f, f->p, a, 4 * PAGE, RW, ANON | GPUSIM_MAP_FIXED, NULL);
    ASSERT_OK(do_access(f, f->p, a, 4 * PAGE, GPUSIM_ACCESS_WRITE, NULL));
    gpusim_process_config_init(&pc);
    pc.name = "child";
    f->block = true;
    t0 = gpusim_world_now(f->w);
    ASSERT_OK(gpusim_process_fork(f->p, &pc, &child, call_cb, &c));
    ASSERT_OK(gpusim_world_run_until(f->w, t0 + 1000));
    f->block = false;
    do_mmap(f, child, a + PAGE, PAGE, GPUSIM_PROT_READ, ANON | GPUSIM_MAP_FIXED, NULL);
    ASSERT_OK(gpusim_completion_signal(f->w, &f->fence));
    assert_int_equal(finish(f, &c), GPUSIM_EBUSY);
    assert_int_equal(info_of(child).state, GPUSIM_PROCESS_DEAD);
    ASSERT_OK(do_access(f, f->p, a, 4 * PAGE, GPUSIM_ACCESS_WRITE, NULL));
    ASSERT_OK(do_exit(f, f->p));
    assert_int_equal(free_bytes(f), free0);
    fx_free(f);
}

/* Builds the parent used by the failure sweep: private (with a pinned page), shared, huge. */
static void sweep_parent(fx *f, uint64_t *pinned)
{
    uint64_t a = 0x80000000;
    do_mmap(f, f->p, a, 8 * PAGE, RW, ANON | GPUSIM_MAP_FIXED, NULL);
    fill(f, f->p, a, 4 * PAGE, 0x10);
    do_mmap(f, f->p, a + 0x100000, 2 * PAGE, RW, GPUSIM_MAP_SHARED | GPUSIM_MAP_FIXED, NULL);
    fill(f, f->p, a + 0x100000, 2 * PAGE, 0x20);
    do_mmap(f, f->p, a + HUGE, HUGE, RW, ANON | GPUSIM_MAP_FIXED, NULL);
    ASSERT_OK(do_access(f, f->p, a + HUGE, PAGE, GPUSIM_ACCESS_WRITE, NULL));
    *pinned = pin_page(f, f->p, a + PAGE);
}

/*
 * Every allocation the fork makes fails in turn: the fork either succeeds or ends with ENOMEM, the
 * child is then dead, the parent keeps its pages and data, and no frame is lost.
 */
static void test_fork_enomem_sweep(void **state)
{
    int failed = 0;
    (void)state;
    for (long n = 1; n < 400; n++) {
        fx *f = fx_new(32 * MIB, true, GPUSIM_THP_ALWAYS);
        gpusim_process_config_t pc;
        gpusim_process_t *child = NULL;
        call c = {.w = f->w};
        uint64_t pinned, free0, pfns[8];
        bool fired;
        sweep_parent(f, &pinned);
        for (int i = 0; i < 8; i++)
            pfns[i] = pte_of(f->p, 0x80000000 + (uint64_t)i * PAGE).pfn;
        free0 = free_bytes(f);
        gpusim_process_config_init(&pc);
        pc.name = "child";
        ASSERT_OK(gpusim_process_fork(f->p, &pc, &child, call_cb, &c));
        gpusim__alloc_fail_nth(n);
        ASSERT_OK(gpusim_world_run(f->w));
        fired = gpusim__alloc_fail_fired();
        gpusim__alloc_fail_nth(0);
        assert_int_equal(c.done, 1);
        check(f);
        if (c.status == 0) {
            assert_int_equal(info_of(child).state, GPUSIM_PROCESS_LIVE);
            expect_bytes(f, child, 0x80000000, 4 * PAGE, 0x10);
        } else {
            assert_int_equal(c.status, GPUSIM_ENOMEM);
            assert_int_equal(info_of(child).state, GPUSIM_PROCESS_DEAD);
            assert_int_equal(free_bytes(f), free0);
            failed++;
        }
        /* The parent is intact either way: same frames, same data, its pinned page writable. */
        for (int i = 0; i < 8; i++)
            assert_int_equal(pte_of(f->p, 0x80000000 + (uint64_t)i * PAGE).pfn, pfns[i]);
        assert_true(pte_of(f->p, 0x80000000 + PAGE).writable);
        expect_bytes(f, f->p, 0x80000000, 4 * PAGE, 0x10);
        expect_bytes(f, f->p, 0x80000000 + 0x100000, 2 * PAGE, 0x20);
        fill(f, f->p, 0x80000000, 4 * PAGE, 0x30);
        unpin_page(f, f->p, pinned);
        check(f);
        fx_free(f);
        if (!fired)
            break;
    }
    assert_true(failed > 3);
}

/* The call itself fails cleanly for want of memory: no child, nothing started. */
static void test_fork_call_enomem(void **state)
{
    (void)state;
    for (long n = 1; n < 50; n++) {
        fx *f = fx_new(32 * MIB, false, GPUSIM_THP_NEVER);
        gpusim_process_config_t pc;
        gpusim_process_t *child = NULL;
        call c = {.w = f->w};
        int rc;
        bool fired;
        gpusim_process_config_init(&pc);
        pc.name = "child";
        gpusim__alloc_fail_nth(n);
        rc = gpusim_process_fork(f->p, &pc, &child, call_cb, &c);
        fired = gpusim__alloc_fail_fired();
        gpusim__alloc_fail_nth(0);
        if (rc) {
            assert_int_equal(rc, GPUSIM_ENOMEM);
            assert_null(child);
            assert_int_equal(f->h->nprocs, 1);
        } else {
            ASSERT_OK(finish(f, &c));
        }
        check(f);
        fx_free(f);
        if (!fired)
            break;
    }
}

/* ---- exit ----------------------------------------------------------------------------------- */

/* Exit announces RELEASE once over everything, frees all memory, and leaves a DEAD process. */
static void test_exit_release(void **state)
{
    fx *f = fx_new(32 * MIB, false, GPUSIM_THP_ALWAYS);
    gpusim_file_t *file;
    call c = {.w = f->w};
    uint64_t free0, a;
    (void)state;
    free0 = free_bytes(f);
    a = do_mmap(f, f->p, 0, 4 * HUGE, RW, ANON, NULL);
    ASSERT_OK(do_access(f, f->p, a, 4 * HUGE, GPUSIM_ACCESS_WRITE, NULL));
    ASSERT_OK(gpusim_host_file_new(f->h, 8 * PAGE, &file));
    a = do_mmap(f, f->p, 0, 8 * PAGE, GPUSIM_PROT_READ, GPUSIM_MAP_SHARED, file);
    ASSERT_OK(do_access(f, f->p, a, 8 * PAGE, GPUSIM_ACCESS_READ, NULL));
    a = do_mmap(f, f->p, 0, 8 * PAGE, RW, GPUSIM_MAP_SHARED, NULL);
    ASSERT_OK(do_access(f, f->p, a, 8 * PAGE, GPUSIM_ACCESS_WRITE, NULL));
    assert_true(free_bytes(f) < free0);
    f->nlog = 0;
    ASSERT_OK(do_exit(f, f->p));
    assert_int_equal(f->nlog, 1);
    expect_seen(f, 0, 0, 0, UINT64_MAX, GPUSIM_NOTIFY_RELEASE, GPUSIM_INVALIDATOR_EXIT);
    assert_int_equal(info_of(f->p).state, GPUSIM_PROCESS_DEAD);
    assert_int_equal(info_of(f->p).rss_anon + info_of(f->p).rss_file + info_of(f->p).rss_shmem, 0);
    assert_int_equal(info_of(f->p).vmas, 0);
    /* The file's page cache stays (8 pages); everything else is back. */
    assert_int_equal(free_bytes(f), free0 - 8 * PAGE);
    /* Everything on a dead process is refused at the call. */
    ASSERT_ERR(gpusim_process_exit(f->p, call_cb, &c), GPUSIM_ESRCH);
    ASSERT_ERR(gpusim_process_mmap(f->p, 0, PAGE, RW, ANON, NULL, 0, call_cb, &c), GPUSIM_ESRCH);
    ASSERT_ERR(gpusim_process_mremap(f->p, a, PAGE, PAGE, 0, 0, call_cb, &c), GPUSIM_ESRCH);
    ASSERT_ERR(gpusim_process_translate(f->p, a, &(gpusim_host_pte_t){0}), GPUSIM_ESRCH);
    ASSERT_OK(gpusim_world_run(f->w));
    assert_int_equal(c.done, 0);
    assert_int_equal(f->nlog, 1);
    fx_free(f);
}

/* Runs an exit whose RELEASE is answered DONE (wait 0) or WAIT until now + wait; returns the
 * completion time minus the call time, and checks the state flips at exactly the wait's end. */
static gpusim_time_t timed_exit(gpusim_time_t wait)
{
    fx *f = fx_new(32 * MIB, false, GPUSIM_THP_NEVER);
    call c = {.w = f->w};
    gpusim_time_t t0, took;
    uint64_t a = do_mmap(f, f->p, 0, 4 * PAGE, RW, ANON, NULL);
    ASSERT_OK(do_access(f, f->p, a, 4 * PAGE, GPUSIM_ACCESS_WRITE, NULL));
    t0 = gpusim_world_now(f->w);
    if (wait) {
        f->block = true;
        ASSERT_OK(gpusim_completion_signal_at(f->w, &f->fence, t0 + wait));
    }
    ASSERT_OK(gpusim_process_exit(f->p, call_cb, &c));
    assert_int_equal(info_of(f->p).state, GPUSIM_PROCESS_EXITING);
    if (wait) {
        ASSERT_OK(gpusim_world_run_until(f->w, t0 + wait - 1));
        assert_int_equal(info_of(f->p).state, GPUSIM_PROCESS_EXITING);
        assert_true(pte_of(f->p, a).present); /* nothing freed before the mirror is done */
    }
    ASSERT_OK(gpusim_world_run_until(f->w, t0 + wait));
    assert_int_equal(info_of(f->p).state, GPUSIM_PROCESS_DEAD);
    ASSERT_OK(finish(f, &c));
    assert_int_equal(c.status, 0);
    assert_int_equal(f->nlog, 1);
    assert_true(f->log[0].blockable);
    took = c.at - t0;
    fx_free(f);
    return took;
}

/* A mirror that makes RELEASE wait delays the exit by exactly its wait. */
static void test_exit_waits_for_mirror(void **state)
{
    gpusim_time_t fast, slow;
    (void)state;
    fast = timed_exit(0);
    slow = timed_exit(5000000);
    assert_int_equal(slow - fast, 5000000);
}

/* Operations in flight when the process exits end with ESRCH; memory comes back. */
static void test_exit_ends_inflight(void **state)
{
    fx *f = fx_new(32 * MIB, false, GPUSIM_THP_NEVER);
    call acc = {.w = f->w}, x = {.w = f->w};
    uint64_t free0 = free_bytes(f), a;
    (void)state;
    a = do_mmap(f, f->p, 0, 4 * MIB, RW, ANON, NULL);
    ASSERT_OK(gpusim_process_access(f->p, a, 4 * MIB, GPUSIM_ACCESS_WRITE, NULL, call_cb, &acc));
    ASSERT_OK(gpusim_world_run_until(f->w, gpusim_world_now(f->w) + 300000));
    assert_int_equal(acc.done, 0);
    ASSERT_OK(gpusim_process_exit(f->p, call_cb, &x));
    ASSERT_OK(gpusim_world_run(f->w));
    assert_int_equal(acc.done, 1);
    assert_int_equal(acc.status, GPUSIM_ESRCH);
    assert_int_equal(x.done, 1);
    ASSERT_OK(x.status);
    check(f);
    assert_int_equal(free_bytes(f), free0);
    fx_free(f);
}

/* A child that exits gives back only what was its own; the parent's pages stay. */
static void test_exit_child_counts(void **state)
{
    fx *f = fx_new(32 * MIB, true, GPUSIM_THP_NEVER);
    gpusim_process_t *child;
    uint64_t a, free0, pfn;
    (void)state;
    a = do_mmap(f, f->p, 0, 4 * PAGE, RW, ANON, NULL);
    fill(f, f->p, a, 4 * PAGE, 0x61);
    pfn = pte_of(f->p, a).pfn;
    free0 = free_bytes(f);
    ASSERT_OK(do_fork(f, f->p, "child", &child));
    fill(f, child, a, 2 * PAGE, 0x62); /* two private copies */
    assert_int_equal(free_bytes(f), free0 - 2 * PAGE);
    ASSERT_OK(do_exit(f, child));
    assert_int_equal(free_bytes(f), free0);
    assert_int_equal(frame(f, pfn).mapcount, 1);
    expect_bytes(f, f->p, a, 4 * PAGE, 0x61);
    fill(f, f->p, a + 3 * PAGE, PAGE, 0x63); /* exclusive again: reused, no copy */
    assert_int_equal(free_bytes(f), free0);
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        GPUSIM_TEST(test_fork_cow_private),
        GPUSIM_TEST(test_fork_shared),
        GPUSIM_TEST(test_fork_protection_ranges),
        GPUSIM_TEST(test_fork_pinned),
        GPUSIM_TEST(test_fork_huge),
        GPUSIM_TEST(test_fork_swap),
        GPUSIM_TEST(test_fork_errors),
        GPUSIM_TEST(test_fork_vma_changes_while_blocked),
        GPUSIM_TEST(test_fork_parent_dies),
        GPUSIM_TEST(test_fork_child_used_early),
        GPUSIM_TEST(test_fork_enomem_sweep),
        GPUSIM_TEST(test_fork_call_enomem),
        GPUSIM_TEST(test_exit_release),
        GPUSIM_TEST(test_exit_waits_for_mirror),
        GPUSIM_TEST(test_exit_ends_inflight),
        GPUSIM_TEST(test_exit_child_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
