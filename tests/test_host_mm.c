/*
 * tests/test_host_mm.c -- the address-space system calls and CPU faults of the simulated host
 * (src/host/mm.c, fault.c): Linux semantics, errors, and exactly what is announced to mirrors.
 */
#include "test_util.h"
#include "host_util.h"

#include "host/host.h"

#define MIB  GPUSIM_MIB
#define PAGE GPUSIM_HOST_PAGE_SIZE

/* ---- fixture -------------------------------------------------------------------------------- */

/* A recorded announcement. */
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
    gpusim_completion_t fence; /* when `block` is set, callbacks wait on it */
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
    ASSERT_OK(gpusim_host_new(f.w, &cfg, &f.h));
    gpusim_process_config_init(&pc);
    pc.name = "app";
    ASSERT_OK(gpusim_process_new(f.h, &pc, &f.p));
    gpusim_completion_init(&f.fence, NULL);
    /* One subscription over the whole address space, as test_hmm's dmirror has. */
    ASSERT_OK(gpusim_notifier_insert(gpusim_process_notifier(f.p), 0, GPUSIM_HOST_VA_END, record,
                                     &f, &f.sub));
    return &f;
}

static void fx_free(fx *f)
{
    gpusim_world_free(f->w);
    ASSERT_NO_LEAK();
}

/* Runs the world until the call completes; returns its status. */
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

static int do_munmap(fx *f, uint64_t addr, uint64_t len)
{
    call c = {0};
    ASSERT_OK(gpusim_process_munmap(f->p, addr, len, call_cb, &c));
    return finish(f, &c);
}

static int do_mprotect(fx *f, uint64_t addr, uint64_t len, unsigned prot)
{
    call c = {0};
    ASSERT_OK(gpusim_process_mprotect(f->p, addr, len, prot, call_cb, &c));
    return finish(f, &c);
}

static int do_madvise(fx *f, uint64_t addr, uint64_t len, gpusim_madvise_t adv)
{
    call c = {0};
    ASSERT_OK(gpusim_process_madvise(f->p, addr, len, adv, call_cb, &c));
    return finish(f, &c);
}

static gpusim_host_pte_t pte_at(fx *f, uint64_t va)
{
    gpusim_host_pte_t e;
    ASSERT_OK(gpusim_process_translate(f->p, va, &e));
    return e;
}

static void expect_seen(fx *f, int i, uint64_t start, uint64_t end, gpusim_notifier_event_t ev,
                        gpusim_invalidator_t kind)
{
    assert_true(i < f->nlog);
    assert_int_equal(f->log[i].start, start);
    assert_int_equal(f->log[i].end, end);
    assert_int_equal(f->log[i].event, ev);
    assert_int_equal(f->log[i].kind, kind);
    assert_true(f->log[i].blockable);
}

#define RW   (GPUSIM_PROT_READ | GPUSIM_PROT_WRITE)
#define ANON GPUSIM_MAP_PRIVATE

/* ---- tests ---------------------------------------------------------------------------------- */

/* Reads map the zero page; writes allocate; faults are counted; nothing is announced. */
static void test_demand_zero(void **state)
{
    fx *f = fx_new(64 * MIB, false, GPUSIM_THP_NEVER);
    gpusim_process_info_t info;
    gpusim_host_meminfo_t mi0, mi1;
    uint64_t a;
    (void)state;
    ASSERT_OK(gpusim_host_meminfo(f->h, &mi0));
    a = do_mmap(f, 0, 16 * PAGE, RW, ANON, NULL);
    assert_true(a >= 0x10000 && a % PAGE == 0);
    assert_false(pte_at(f, a).present);
    ASSERT_OK(do_access(f, a, 4 * PAGE, GPUSIM_ACCESS_READ, NULL));
    assert_true(pte_at(f, a).present);
    assert_int_equal(pte_at(f, a).pfn, 0); /* the zero page */
    assert_false(pte_at(f, a).writable);
    ASSERT_OK(do_access(f, a, 8 * PAGE, GPUSIM_ACCESS_WRITE, NULL));
    assert_true(pte_at(f, a).writable);
    assert_int_not_equal(pte_at(f, a).pfn, 0);
    assert_int_not_equal(pte_at(f, a).pfn, pte_at(f, a + PAGE).pfn);
    ASSERT_OK(gpusim_process_info(f->p, &info));
    assert_int_equal(info.rss_anon, 8 * PAGE);
    assert_int_equal(info.faults_zero, 8); /* 4 zero-page maps + 4 new pages */
    assert_int_equal(info.faults_cow, 4);  /* writes over the zero page copy it */
    ASSERT_OK(gpusim_host_meminfo(f->h, &mi1));
    assert_int_equal(mi0.free - mi1.free, 8 * PAGE);
    assert_int_equal(f->nlog, 4); /* the 4 COW breaks of zero-page entries, CLEAR each */
    for (int i = 0; i < 4; i++)
        expect_seen(f, i, a + (uint64_t)i * PAGE, a + (uint64_t)(i + 1) * PAGE, GPUSIM_NOTIFY_CLEAR,
                    GPUSIM_INVALIDATOR_COW_FAULT);
    fx_free(f);
}

/* The cost of a demand-zero fault is the parameter's, per page. */
static void test_fault_cost(void **state)
{
    fx *f = fx_new(64 * MIB, false, GPUSIM_THP_NEVER);
    uint64_t a = do_mmap(f, 0, 10 * PAGE, RW, ANON, NULL);
    gpusim_time_t t0 = gpusim_world_now(f->w);
    uint64_t per;
    (void)state;
    ASSERT_OK(do_access(f, a, 10 * PAGE, GPUSIM_ACCESS_WRITE, NULL));
    ASSERT_OK(gpusim_host_config_get(&f->h->cfg, "fault_anon_4k", &per));
    assert_int_equal(gpusim_world_now(f->w) - t0, 10 * per);
    fx_free(f);
}

/* munmap: partial unmaps split VMAs, free memory, and announce UNMAP over exactly the range. */
static void test_munmap_partial(void **state)
{
    fx *f = fx_new(64 * MIB, false, GPUSIM_THP_NEVER);
    gpusim_process_info_t info;
    gpusim_host_meminfo_t mi0, mi1;
    uint64_t a;
    (void)state;
    a = do_mmap(f, 0, 8 * PAGE, RW, ANON, NULL);
    ASSERT_OK(do_access(f, a, 8 * PAGE, GPUSIM_ACCESS_WRITE, NULL));
    ASSERT_OK(gpusim_host_meminfo(f->h, &mi0));
    f->nlog = 0;
    ASSERT_OK(do_munmap(f, a + 2 * PAGE, 3 * PAGE));
    assert_int_equal(f->nlog, 1);
    expect_seen(f, 0, a + 2 * PAGE, a + 5 * PAGE, GPUSIM_NOTIFY_UNMAP, GPUSIM_INVALIDATOR_SYSCALL);
    ASSERT_OK(gpusim_process_info(f->p, &info));
    assert_int_equal(info.vmas, 2);
    assert_int_equal(info.rss_anon, 5 * PAGE);
    ASSERT_OK(gpusim_host_meminfo(f->h, &mi1));
    assert_int_equal(mi1.free - mi0.free, 3 * PAGE);
    assert_false(pte_at(f, a + 2 * PAGE).present);
    assert_true(pte_at(f, a + 5 * PAGE).present);
    /* Touching the hole faults: SIGSEGV, reported as EFAULT with the bytes done. */
    assert_int_equal(do_access(f, a + PAGE, 2 * PAGE, GPUSIM_ACCESS_READ, NULL), GPUSIM_EFAULT);
    /* Unmapping nothing succeeds and announces nothing. */
    f->nlog = 0;
    ASSERT_OK(do_munmap(f, a + 2 * PAGE, 3 * PAGE));
    assert_int_equal(f->nlog, 0);
    fx_free(f);
}

/* Bad arguments are refused at the call and change nothing. */
static void test_bad_arguments(void **state)
{
    fx *f = fx_new(64 * MIB, false, GPUSIM_THP_NEVER);
    call c = {0};
    (void)state;
    ASSERT_ERR(gpusim_process_mmap(f->p, 0, 0, RW, ANON, NULL, 0, call_cb, &c), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_process_mmap(f->p, 0, PAGE, RW, 0, NULL, 0, call_cb, &c), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_process_mmap(f->p, 0, PAGE, RW, GPUSIM_MAP_PRIVATE | GPUSIM_MAP_SHARED, NULL,
                                   0, call_cb, &c),
               GPUSIM_EINVAL);
    ASSERT_ERR(
        gpusim_process_mmap(f->p, 0x10001, PAGE, RW, ANON | GPUSIM_MAP_FIXED, NULL, 0, call_cb, &c),
        GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_process_mmap(f->p, GPUSIM_HOST_VA_END - PAGE, 2 * PAGE, RW,
                                   ANON | GPUSIM_MAP_FIXED, NULL, 0, call_cb, &c),
               GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_process_mmap(f->p, 0, PAGE, 0x80, ANON, NULL, 0, call_cb, &c), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_process_munmap(f->p, 0x10001, PAGE, call_cb, &c), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_process_munmap(f->p, 0x10000, 0, call_cb, &c), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_process_munmap(f->p, UINT64_MAX - PAGE + 1, PAGE, call_cb, &c),
               GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_process_mprotect(f->p, 0x10000, PAGE, 0x40, call_cb, &c), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_process_madvise(f->p, 0x10000, PAGE, (gpusim_madvise_t)99, call_cb, &c),
               GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_process_access(f->p, 0x10000, 0, GPUSIM_ACCESS_READ, NULL, call_cb, &c),
               GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_process_access(f->p, 0x10000, PAGE, GPUSIM_ACCESS_READ, &c, call_cb, &c),
               GPUSIM_EINVAL); /* a buffer without data mode */
    ASSERT_OK(gpusim_world_run(f->w));
    assert_int_equal(c.done, 0);
    assert_int_equal(f->nlog, 0);
    check(f);
    fx_free(f);
}

/* MAP_FIXED replaces (announcing UNMAP first); FIXED_NOREPLACE refuses with EEXIST. */
static void test_mmap_fixed(void **state)
{
    fx *f = fx_new(64 * MIB, false, GPUSIM_THP_NEVER);
    call c = {0};
    uint64_t a, pfn;
    (void)state;
    a = do_mmap(f, 0, 4 * PAGE, RW, ANON, NULL);
    ASSERT_OK(do_access(f, a, 4 * PAGE, GPUSIM_ACCESS_WRITE, NULL));
    pfn = pte_at(f, a + PAGE).pfn;
    f->nlog = 0;
    ASSERT_OK(gpusim_process_mmap(f->p, a + PAGE, PAGE, RW, ANON | GPUSIM_MAP_FIXED_NOREPLACE, NULL,
                                  0, call_cb, &c));
    assert_int_equal(finish(f, &c), GPUSIM_EEXIST);
    assert_int_equal(pte_at(f, a + PAGE).pfn, pfn);
    assert_int_equal(f->nlog, 0);
    assert_int_equal(do_mmap(f, a + PAGE, PAGE, GPUSIM_PROT_READ, ANON | GPUSIM_MAP_FIXED, NULL),
                     a + PAGE);
    assert_int_equal(f->nlog, 1);
    expect_seen(f, 0, a + PAGE, a + 2 * PAGE, GPUSIM_NOTIFY_UNMAP, GPUSIM_INVALIDATOR_SYSCALL);
    assert_false(pte_at(f, a + PAGE).present);
    ASSERT_OK(gpusim_host_frame_info(f->h, pfn, &(gpusim_frame_info_t){0}));
    fx_free(f);
}

/* mprotect write-protects entries, announces PROTECTION_VMA, and a write then faults. */
static void test_mprotect(void **state)
{
    fx *f = fx_new(64 * MIB, false, GPUSIM_THP_NEVER);
    gpusim_process_info_t info;
    uint64_t a;
    (void)state;
    a = do_mmap(f, 0, 4 * PAGE, RW, ANON, NULL);
    ASSERT_OK(do_access(f, a, 4 * PAGE, GPUSIM_ACCESS_WRITE, NULL));
    f->nlog = 0;
    ASSERT_OK(do_mprotect(f, a + PAGE, 2 * PAGE, GPUSIM_PROT_READ));
    assert_int_equal(f->nlog, 1);
    expect_seen(f, 0, a + PAGE, a + 3 * PAGE, GPUSIM_NOTIFY_PROTECTION_VMA,
                GPUSIM_INVALIDATOR_SYSCALL);
    assert_false(pte_at(f, a + PAGE).writable);
    assert_true(pte_at(f, a).writable);
    ASSERT_OK(gpusim_process_info(f->p, &info));
    assert_int_equal(info.vmas, 3);
    assert_int_equal(do_access(f, a + PAGE, 1, GPUSIM_ACCESS_WRITE, NULL), GPUSIM_EFAULT);
    ASSERT_OK(do_access(f, a + PAGE, 1, GPUSIM_ACCESS_READ, NULL));
    /* Back to RW: VMAs merge again, and the write fault reuses the exclusive page (minor). */
    ASSERT_OK(do_mprotect(f, a + PAGE, 2 * PAGE, RW));
    ASSERT_OK(gpusim_process_info(f->p, &info));
    assert_int_equal(info.vmas, 1);
    {
        uint64_t pfn = pte_at(f, a + PAGE).pfn, minor = info.faults_minor;
        ASSERT_OK(do_access(f, a + PAGE, 1, GPUSIM_ACCESS_WRITE, NULL));
        assert_int_equal(pte_at(f, a + PAGE).pfn, pfn);
        ASSERT_OK(gpusim_process_info(f->p, &info));
        assert_int_equal(info.faults_minor, minor + 1);
    }
    /* A hole: ENOMEM. */
    ASSERT_OK(do_munmap(f, a + 3 * PAGE, PAGE));
    assert_int_equal(do_mprotect(f, a + 3 * PAGE, PAGE, GPUSIM_PROT_READ), GPUSIM_ENOMEM);
    /* PROT_NONE forbids reads too. */
    ASSERT_OK(do_mprotect(f, a, PAGE, GPUSIM_PROT_NONE));
    assert_int_equal(do_access(f, a, 1, GPUSIM_ACCESS_READ, NULL), GPUSIM_EFAULT);
    fx_free(f);
}

/* madvise(DONTNEED) drops pages (reads see zeros again); FREE marks; HUGEPAGE announces nothing. */
static void test_madvise(void **state)
{
    fx *f = fx_new(64 * MIB, true, GPUSIM_THP_NEVER);
    uint8_t buf[2 * 4096], out[2 * 4096];
    gpusim_process_info_t info;
    uint64_t a;
    (void)state;
    a = do_mmap(f, 0, 4 * PAGE, RW, ANON, NULL);
    memset(buf, 0xab, sizeof buf);
    ASSERT_OK(do_access(f, a, sizeof buf, GPUSIM_ACCESS_WRITE, buf));
    ASSERT_OK(do_access(f, a, sizeof out, GPUSIM_ACCESS_READ, out));
    assert_memory_equal(out, buf, sizeof buf);
    f->nlog = 0;
    ASSERT_OK(do_madvise(f, a, PAGE, GPUSIM_MADV_DONTNEED));
    assert_int_equal(f->nlog, 1);
    expect_seen(f, 0, a, a + PAGE, GPUSIM_NOTIFY_CLEAR, GPUSIM_INVALIDATOR_SYSCALL);
    ASSERT_OK(do_access(f, a, sizeof out, GPUSIM_ACCESS_READ, out));
    for (size_t i = 0; i < PAGE; i++)
        assert_int_equal(out[i], 0);
    assert_memory_equal(out + PAGE, buf + PAGE, PAGE);
    f->nlog = 0;
    ASSERT_OK(do_madvise(f, a, 4 * PAGE, GPUSIM_MADV_HUGEPAGE));
    assert_int_equal(f->nlog, 0);
    ASSERT_OK(do_madvise(f, a + PAGE, PAGE, GPUSIM_MADV_FREE));
    assert_int_equal(f->nlog, 1);
    expect_seen(f, 0, a + PAGE, a + 2 * PAGE, GPUSIM_NOTIFY_CLEAR, GPUSIM_INVALIDATOR_SYSCALL);
    ASSERT_OK(gpusim_process_info(f->p, &info));
    assert_int_equal(info.rss_anon, PAGE); /* the FREE'd page stays mapped until reclaim */
    /* A hole makes ENOMEM but the mapped part is still advised. */
    assert_int_equal(do_madvise(f, a + 2 * PAGE, 4 * PAGE, GPUSIM_MADV_DONTNEED), GPUSIM_ENOMEM);
    fx_free(f);
}

/* A subscriber that waits blocks munmap: the call completes only after the fence. */
static void test_munmap_blocked(void **state)
{
    fx *f = fx_new(64 * MIB, false, GPUSIM_THP_NEVER);
    call c = {0};
    uint64_t a;
    gpusim_stat_info_t si;
    (void)state;
    a = do_mmap(f, 0, 4 * PAGE, RW, ANON, NULL);
    ASSERT_OK(do_access(f, a, 4 * PAGE, GPUSIM_ACCESS_WRITE, NULL));
    f->block = true;
    ASSERT_OK(gpusim_completion_signal_at(f->w, &f->fence, gpusim_world_now(f->w) + 1000000));
    ASSERT_OK(gpusim_process_munmap(f->p, a, 4 * PAGE, call_cb, &c));
    ASSERT_OK(gpusim_world_run_until(f->w, gpusim_world_now(f->w) + 999999));
    assert_int_equal(c.done, 0);
    assert_true(pte_at(f, a).present); /* not changed before the callback finished waiting */
    ASSERT_OK(finish(f, &c));
    assert_false(pte_at(f, a).present);
    ASSERT_OK(gpusim_stats_get(f->w, "notifier.blocked_ns.syscall", &si));
    assert_int_equal(si.count, 1);
    assert_true(si.max >= 999999);
    fx_free(f);
}

/* THP: a write fault in an aligned MADV_HUGEPAGE region maps 2 MiB; partial munmap splits it. */
static void test_thp(void **state)
{
    fx *f = fx_new(64 * MIB, false, GPUSIM_THP_MADVISE);
    gpusim_process_info_t info;
    uint64_t a, raw;
    (void)state;
    raw = do_mmap(f, 0, 8 * MIB, RW, ANON, NULL);
    a = (raw + 2 * MIB - 1) & ~(uint64_t)(2 * MIB - 1);
    ASSERT_OK(do_madvise(f, raw, 8 * MIB, GPUSIM_MADV_HUGEPAGE));
    ASSERT_OK(do_access(f, a, 1, GPUSIM_ACCESS_WRITE, NULL));
    assert_true(pte_at(f, a).huge);
    assert_int_equal(pte_at(f, a + 5 * PAGE).pfn, pte_at(f, a).pfn + 5);
    ASSERT_OK(gpusim_process_info(f->p, &info));
    assert_int_equal(info.rss_anon, 2 * MIB);
    f->nlog = 0;
    ASSERT_OK(do_munmap(f, a + MIB, PAGE));
    assert_int_equal(f->nlog, 1);
    expect_seen(f, 0, a + MIB, a + MIB + PAGE, GPUSIM_NOTIFY_UNMAP, GPUSIM_INVALIDATOR_SYSCALL);
    assert_false(pte_at(f, a).huge);
    assert_true(pte_at(f, a).present);
    assert_false(pte_at(f, a + MIB).present);
    ASSERT_OK(gpusim_process_info(f->p, &info));
    assert_int_equal(info.rss_anon, 2 * MIB - PAGE);
    fx_free(f);
}

/* Files: shared mappings see the page cache; private writes copy; data come from the file. */
static void test_file_mappings(void **state)
{
    fx *f = fx_new(64 * MIB, true, GPUSIM_THP_NEVER);
    gpusim_file_t *file;
    uint8_t b1[16], b2[16], w[16];
    uint64_t s, q;
    (void)state;
    ASSERT_OK(gpusim_host_file_new(f->h, 4 * PAGE, &file));
    s = do_mmap(f, 0, 4 * PAGE, RW, GPUSIM_MAP_SHARED, file);
    q = do_mmap(f, 0, 4 * PAGE, RW, GPUSIM_MAP_PRIVATE, file);
    ASSERT_OK(do_access(f, s, sizeof b1, GPUSIM_ACCESS_READ, b1));
    ASSERT_OK(do_access(f, q, sizeof b2, GPUSIM_ACCESS_READ, b2));
    assert_memory_equal(b1, b2, sizeof b1);
    assert_int_equal(pte_at(f, s).pfn, pte_at(f, q).pfn); /* the same page-cache frame */
    memset(w, 0x5a, sizeof w);
    ASSERT_OK(do_access(f, q, sizeof w, GPUSIM_ACCESS_WRITE, w)); /* private: a copy */
    assert_int_not_equal(pte_at(f, s).pfn, pte_at(f, q).pfn);
    ASSERT_OK(do_access(f, s, sizeof b1, GPUSIM_ACCESS_READ, b1));
    assert_memory_equal(b1, b2, sizeof b1); /* the file did not change */
    ASSERT_OK(do_access(f, s + PAGE, sizeof w, GPUSIM_ACCESS_WRITE, w)); /* shared: the file */
    ASSERT_OK(do_access(f, q + PAGE, sizeof b2, GPUSIM_ACCESS_READ, b2));
    assert_memory_equal(b2, w, sizeof w);
    fx_free(f);
}

/* Shared anonymous memory is one object: a second mapping of the same VMA range is the same. */
static void test_shared_anon(void **state)
{
    fx *f = fx_new(64 * MIB, false, GPUSIM_THP_ALWAYS);
    gpusim_process_info_t info;
    uint64_t a = do_mmap(f, 0, 4 * MIB, RW, GPUSIM_MAP_SHARED, NULL);
    (void)state;
    ASSERT_OK(do_access(f, a, 4 * MIB, GPUSIM_ACCESS_WRITE, NULL));
    assert_false(pte_at(f, a).huge); /* no THP for shared memory */
    ASSERT_OK(gpusim_process_info(f->p, &info));
    assert_int_equal(info.rss_shmem, 4 * MIB);
    ASSERT_OK(do_munmap(f, a, 4 * MIB));
    ASSERT_OK(gpusim_process_info(f->p, &info));
    assert_int_equal(info.rss_shmem, 0);
    {
        gpusim_host_meminfo_t mi;
        ASSERT_OK(gpusim_host_meminfo(f->h, &mi));
        assert_int_equal(mi.shmem, 0); /* the object died with its last mapping */
    }
    fx_free(f);
}

/* Parameters: set by name with units, ranges enforced, unknown names refused. */
/*
 * The simulator's own memory per simulated frame: a host of 1 GiB (no swap) costs at most 64 bytes
 * per 4 KiB frame in all (frames, pageblocks, lists, watermarks), so a 64 GiB host needs at most
 * 1 GiB (the bound: well under 2 GiB). Memory that grows with use (page tables, shared
 * reverse mappings, data mode's contents) is not part of this figure.
 */
static void test_memory_per_frame(void **state)
{
    gpusim_host_config_t cfg;
    gpusim_world_t *w = test_world(1);
    gpusim_host_t *h;
    int64_t before = gpusim__alloc_outstanding(), used;
    uint64_t nframes;
    (void)state;
    gpusim_host_config_init(&cfg);
    cfg.ram_bytes = GPUSIM_GIB;
    cfg.swap_bytes = 0;
    ASSERT_OK(gpusim_host_new(w, &cfg, &h));
    nframes = cfg.ram_bytes / PAGE;
    used = gpusim__alloc_outstanding() - before;
    print_message("host of 1 GiB: %.1f bytes of simulator memory per frame\n",
                  (double)used / (double)nframes);
    assert_true(used > 0 && (uint64_t)used <= 64 * nframes);
    gpusim_host_free(h);
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

static void test_params(void **state)
{
    gpusim_host_config_t cfg;
    gpusim_param_info_t pi;
    uint64_t v;
    char msg[128];
    (void)state;
    gpusim_host_config_init(&cfg);
    ASSERT_OK(gpusim_host_config_set(&cfg, "fault_anon_4k", "3us", false, msg, sizeof msg));
    ASSERT_OK(gpusim_host_config_get(&cfg, "fault_anon_4k", &v));
    assert_int_equal(v, 3000);
    ASSERT_ERR(gpusim_host_config_set(&cfg, "fault_anon_4k", "1ms", false, msg, sizeof msg),
               GPUSIM_ERANGE);
    assert_non_null(strstr(msg, "plausible"));
    ASSERT_OK(gpusim_host_config_set(&cfg, "fault_anon_4k", "1ms", true, msg, sizeof msg));
    ASSERT_ERR(gpusim_host_config_set(&cfg, "nope", "1", false, msg, sizeof msg), GPUSIM_ENOENT);
    ASSERT_ERR(gpusim_host_config_set(&cfg, "swappiness", "1us", false, msg, sizeof msg),
               GPUSIM_EINVAL);
    ASSERT_OK(gpusim_host_param_info(0, &pi));
    assert_non_null(pi.source);
    for (size_t i = 0; gpusim_host_param_info(i, &pi) == 0; i++) {
        assert_true(pi.def >= pi.min && pi.def <= pi.max);
        assert_true(strlen(pi.source) > 10);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        GPUSIM_TEST(test_demand_zero),
        GPUSIM_TEST(test_fault_cost),
        GPUSIM_TEST(test_munmap_partial),
        GPUSIM_TEST(test_bad_arguments),
        GPUSIM_TEST(test_mmap_fixed),
        GPUSIM_TEST(test_mprotect),
        GPUSIM_TEST(test_madvise),
        GPUSIM_TEST(test_munmap_blocked),
        GPUSIM_TEST(test_thp),
        GPUSIM_TEST(test_file_mappings),
        GPUSIM_TEST(test_shared_anon),
        GPUSIM_TEST(test_memory_per_frame),
        GPUSIM_TEST(test_params),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
