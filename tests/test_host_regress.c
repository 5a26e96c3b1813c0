/*
 * tests/test_host_regress.c -- regression tests for host MM bugs found in review (each failed, or
 * crashed under ASan, before its fix): duplicate pfns in one unpin, an in-flight hmm_range_fault
 * whose subscription is removed, mremap's ENOMEM path next to the old VMA, and a child used
 * while its fork waits.
 */
#include "test_util.h"
#include "host_util.h"

#include "host/host.h"

#define MIB    GPUSIM_MIB
#define PAGE   GPUSIM_HOST_PAGE_SIZE
#define HUGE   GPUSIM_HOST_HUGE_SIZE
#define RW     (GPUSIM_PROT_READ | GPUSIM_PROT_WRITE)
#define ANON   GPUSIM_MAP_PRIVATE
#define FIX    (GPUSIM_MAP_PRIVATE | GPUSIM_MAP_FIXED)
#define MFIXED (GPUSIM_MREMAP_MAYMOVE | GPUSIM_MREMAP_FIXED)

typedef struct fx {
    gpusim_world_t *w;
    gpusim_host_t *h;
    gpusim_process_t *p;
    gpusim_notifier_sub_t *sub;
    gpusim_completion_t fence;
    bool block;
    int nseen;
} fx;

static gpusim_notifier_answer_t record(gpusim_notifier_sub_t *sub, const gpusim_notifier_range_t *r,
                                       uint64_t cur_seq, gpusim_completion_t **wait_on)
{
    fx *f = gpusim_notifier_sub_data(sub);
    gpusim_notifier_set_seq(sub, cur_seq);
    f->nseen++;
    if (f->block && r->blockable && !gpusim_completion_done(&f->fence)) {
        *wait_on = &f->fence;
        return GPUSIM_NOTIFIER_WAIT;
    }
    return GPUSIM_NOTIFIER_DONE;
}

static fx *fx_new_cfg(gpusim_host_config_t *cfg)
{
    static fx f;
    gpusim_process_config_t pc;
    memset(&f, 0, sizeof f);
    f.w = test_world(1);
    ASSERT_OK(gpusim_host_new(f.w, cfg, &f.h));
    gpusim_process_config_init(&pc);
    pc.name = "app";
    pc.memlock_limit = UINT64_MAX;
    ASSERT_OK(gpusim_process_new(f.h, &pc, &f.p));
    gpusim_completion_init(&f.fence, NULL);
    ASSERT_OK(gpusim_notifier_insert(gpusim_process_notifier(f.p), 0, GPUSIM_HOST_VA_END, record,
                                     &f, &f.sub));
    return &f;
}

static void base_cfg(gpusim_host_config_t *cfg)
{
    gpusim_host_config_init(cfg);
    cfg->ram_bytes = 32 * MIB;
    cfg->swap_bytes = 16 * MIB;
    cfg->thp = GPUSIM_THP_NEVER;
    cfg->khugepaged = false;
}

static fx *fx_new(void)
{
    gpusim_host_config_t cfg;
    base_cfg(&cfg);
    return fx_new_cfg(&cfg);
}

static void fx_free(fx *f)
{
    gpusim_world_free(f->w);
    ASSERT_NO_LEAK();
}

static void do_mmap(fx *f, gpusim_process_t *p, uint64_t addr, uint64_t len)
{
    call c = {.w = f->w};
    ASSERT_OK(gpusim_process_mmap(p, addr, len, RW, FIX, NULL, 0, call_cb, &c));
    ASSERT_OK(host_finish(f->w, f->h, &c));
}

static int do_access(fx *f, gpusim_process_t *p, uint64_t addr, uint64_t len, bool write)
{
    call c = {.w = f->w};
    ASSERT_OK(gpusim_process_access(p, addr, len, write ? GPUSIM_ACCESS_WRITE : GPUSIM_ACCESS_READ,
                                    NULL, call_cb, &c));
    return host_finish(f->w, f->h, &c);
}

static int do_pin(fx *f, uint64_t addr, uint64_t n, uint64_t *pfns)
{
    call c = {.w = f->w};
    ASSERT_OK(gpusim_process_pin(f->p, addr, n, GPUSIM_PIN_WRITE, pfns, call_cb, &c));
    return host_finish(f->w, f->h, &c);
}

/* ---- gup.c ---------------------------------------------------------------------------------- */

/* A frame pinned twice, unpinned by one call listing it twice: host.pinned must drop by one page,
 * and h->pinned_frames must equal the number of frames with pins (the checker's invariant). */
static void test_unpin_duplicate_pfn(void **state)
{
    fx *f = fx_new();
    const uint64_t a = 0x10000000;
    uint64_t pfn[2];
    gpusim_host_meminfo_t mi;
    (void)state;
    do_mmap(f, f->p, a, 2 * PAGE);
    ASSERT_OK(do_pin(f, a, 1, &pfn[0]));
    ASSERT_OK(do_pin(f, a, 1, &pfn[1]));
    ASSERT_OK(do_pin(f, a + PAGE, 1, &pfn[1])); /* a second pinned frame, so 0 is not "right" */
    pfn[1] = pfn[0];
    ASSERT_OK(gpusim_process_unpin(f->p, pfn, 2, false, NULL));
    ASSERT_OK(gpusim_host_meminfo(f->h, &mi));
    assert_int_equal(mi.pinned, PAGE); /* the page at a + PAGE is still pinned */
    host_check_ok(f->h);
    fx_free(f);
}

static gpusim_notifier_answer_t keep_seq(gpusim_notifier_sub_t *sub,
                                         const gpusim_notifier_range_t *r, uint64_t cur_seq,
                                         gpusim_completion_t **wait_on)
{
    (void)r;
    (void)wait_on;
    gpusim_notifier_set_seq(sub, cur_seq);
    return GPUSIM_NOTIFIER_DONE;
}

/* The subscription given to range_fault cannot be removed while the call is in flight (it yields
 * every op_quantum, and each step reads the subscription's sequence): removal is refused with
 * EBUSY until the callback, then succeeds. A subscription of another process is refused. */
static void test_hmm_sub_removed_in_flight(void **state)
{
    fx *f = fx_new();
    const uint64_t a = 0x10000000, n = 256;
    static uint64_t pfns[256];
    gpusim_notifier_sub_t *sub;
    uint64_t seq;
    call c;
    (void)state;
    c = (call){.w = f->w};
    do_mmap(f, f->p, a, n * PAGE);
    ASSERT_OK(
        gpusim_notifier_insert(gpusim_process_notifier(f->p), a, n * PAGE, keep_seq, NULL, &sub));
    ASSERT_OK(gpusim_notifier_read_begin(sub, &seq, NULL, NULL, NULL));
    memset(pfns, 0, sizeof pfns);
    ASSERT_OK(gpusim_process_range_fault(f->p, sub, seq, a, n, GPUSIM_HMM_REQ_FAULT, 0, pfns,
                                         call_cb, &c));
    ASSERT_OK(gpusim_world_run_until(f->w, gpusim_world_now(f->w) + 1));
    assert_int_equal(c.done, 0); /* yielded part-way */
    ASSERT_ERR(gpusim_notifier_remove(sub, NULL, NULL, NULL), GPUSIM_EBUSY);
    ASSERT_OK(host_finish(f->w, f->h, &c));
    assert_int_equal(c.result, n);
    ASSERT_OK(gpusim_notifier_remove(sub, NULL, NULL, NULL));
    fx_free(f);
}

static void test_hmm_foreign_sub_refused(void **state)
{
    fx *f = fx_new();
    gpusim_process_config_t pc;
    gpusim_process_t *q;
    gpusim_notifier_sub_t *sub;
    uint64_t pfn = 0;
    call c = {0};
    (void)state;
    gpusim_process_config_init(&pc);
    pc.name = "other";
    ASSERT_OK(gpusim_process_new(f->h, &pc, &q));
    do_mmap(f, f->p, 0x10000000, PAGE);
    ASSERT_OK(gpusim_notifier_insert(gpusim_process_notifier(q), 0, PAGE, keep_seq, NULL, &sub));
    ASSERT_ERR(gpusim_process_range_fault(f->p, sub, 0, 0x10000000, 1, 0, 0, &pfn, call_cb, &c),
               GPUSIM_EINVAL);
    ASSERT_OK(gpusim_notifier_remove(sub, NULL, NULL, NULL));
    assert_int_equal(c.done, 0);
    host_check_ok(f->h);
    fx_free(f);
}

/* ---- mremap.c ------------------------------------------------------------------------------- */

/*
 * Builds a process with `extra` other VMAs besides V = [a, a + 4 pages) (written), with
 * vm.max_map_count = 16, so that the move's second VMA split fails with ENOMEM.
 */
static fx *mremap_fx(uint64_t a, unsigned extra)
{
    gpusim_host_config_t cfg;
    fx *f;
    base_cfg(&cfg);
    ASSERT_OK(gpusim_host_config_set(&cfg, "max_map_count", "16", false, NULL, 0));
    f = fx_new_cfg(&cfg);
    do_mmap(f, f->p, a, 4 * PAGE);
    ASSERT_OK(do_access(f, f->p, a, 4 * PAGE, true));
    for (unsigned i = 0; i < extra; i++)
        do_mmap(f, f->p, 0x20000000 + (uint64_t)i * 2 * PAGE, PAGE);
    return f;
}

/* The new VMA lands just below the old one: the undo path merges the old VMA into the new one and
 * then frees the new one -- the old mapping's VMA vanishes while its entries stay. */
static void test_mremap_enomem_new_below(void **state)
{
    const uint64_t a = 0x10000000;
    fx *f = mremap_fx(a, 14); /* 15 VMAs: the new VMA makes 16, the split at a + PAGE fails */
    call c = {.w = f->w};
    gpusim_process_info_t in;
    (void)state;
    ASSERT_OK(gpusim_process_mremap(f->p, a, PAGE, PAGE, MFIXED, a - PAGE, call_cb, &c));
    assert_int_equal(host_finish(f->w, f->h, &c), GPUSIM_ENOMEM);
    ASSERT_OK(gpusim_process_info(f->p, &in));
    assert_int_equal(in.vmas, 15);
    assert_int_equal(do_access(f, f->p, a, 4 * PAGE, true), 0); /* the old mapping is still there */
    fx_free(f);
}

/* The new VMA lands just above the old one: the undo path frees the new VMA twice. */
static void test_mremap_enomem_new_above(void **state)
{
    const uint64_t a = 0x10000000;
    fx *f = mremap_fx(a, 14);
    call c = {.w = f->w};
    gpusim_process_info_t in;
    (void)state;
    ASSERT_OK(gpusim_process_mremap(f->p, a, PAGE, PAGE, MFIXED, a + 4 * PAGE, call_cb, &c));
    assert_int_equal(host_finish(f->w, f->h, &c), GPUSIM_ENOMEM);
    ASSERT_OK(gpusim_process_info(f->p, &in));
    assert_int_equal(in.vmas, 15);
    assert_int_equal(do_access(f, f->p, a, 4 * PAGE, true), 0);
    fx_free(f);
}

/* ---- fork.c --------------------------------------------------------------------------------- */

/* Forks the fixture's process while a mirror holds its PROTECTION_PAGE, makes the child access
 * `a` meanwhile, lets the fork go on: it must end with EBUSY rather than copy over the child's new
 * entry (fork.c: "ends with GPUSIM_EBUSY rather than corrupt it"). */
static void fork_with_early_child_access(fx *f, uint64_t a, gpusim_access_t kind)
{
    gpusim_process_config_t pc;
    gpusim_process_t *child;
    call c = {.w = f->w}, x = {.w = f->w};
    gpusim_time_t t0;
    gpusim_process_config_init(&pc);
    pc.name = "child";
    f->block = true;
    t0 = gpusim_world_now(f->w);
    ASSERT_OK(gpusim_process_fork(f->p, &pc, &child, call_cb, &c));
    ASSERT_OK(gpusim_world_run_until(f->w, t0 + 1000));
    assert_int_equal(c.done, 0); /* waiting in PROTECTION_PAGE, the child's VMA made */
    f->block = false;
    ASSERT_OK(gpusim_process_access(child, a, PAGE, kind, NULL, call_cb, &x));
    ASSERT_OK(gpusim_world_run_until(f->w, gpusim_world_now(f->w) + 100000));
    assert_int_equal(x.done, 1);
    ASSERT_OK(x.status);
    ASSERT_OK(gpusim_completion_signal(f->w, &f->fence));
    assert_int_equal(host_finish(f->w, f->h, &c), GPUSIM_EBUSY);
}

/* The child is written (not re-mapped) while the fork waits: a 4 KiB entry. */
static void test_fork_child_written_early(void **state)
{
    fx *f = fx_new();
    const uint64_t a = 0x70000000;
    (void)state;
    do_mmap(f, f->p, a, 4 * PAGE);
    ASSERT_OK(do_access(f, f->p, a, 4 * PAGE, true));
    fork_with_early_child_access(f, a, GPUSIM_ACCESS_WRITE);
    fx_free(f);
}

/* Same with a 2 MiB mapping in the parent and a read (zero page, so a level-0 table) in the child:
 * copy_huge asserted the child's PMD was empty. */
static void test_fork_child_read_early_huge(void **state)
{
    gpusim_host_config_t cfg;
    fx *f;
    const uint64_t a = 0x40000000;
    gpusim_host_pte_t e;
    (void)state;
    base_cfg(&cfg);
    cfg.thp = GPUSIM_THP_ALWAYS;
    f = fx_new_cfg(&cfg);
    do_mmap(f, f->p, a, HUGE);
    ASSERT_OK(do_access(f, f->p, a, PAGE, true));
    ASSERT_OK(gpusim_process_translate(f->p, a, &e));
    assert_true(e.huge);
    fork_with_early_child_access(f, a, GPUSIM_ACCESS_READ);
    fx_free(f);
}

/* gpusim_world_free with a range_fault (holding its subscription) in flight: the domains are freed
 * before the host, so the operation's teardown must not release the subscription (it did: a
 * use-after-free under ASan). */
static gpusim_notifier_answer_t cb_done(gpusim_notifier_sub_t *sub,
                                        const gpusim_notifier_range_t *r, uint64_t cur_seq,
                                        gpusim_completion_t **wait_on)
{
    (void)r;
    (void)wait_on;
    gpusim_notifier_set_seq(sub, cur_seq);
    return GPUSIM_NOTIFIER_DONE;
}

static void test_free_world_with_hmm_in_flight(void **state)
{
    gpusim_world_t *w = test_world(1);
    gpusim_host_config_t hc;
    gpusim_host_t *h;
    gpusim_process_t *p;
    gpusim_process_config_t pc;
    gpusim_notifier_sub_t *sub;
    call m = {0}, rf = {0};
    uint64_t seq, pfns[16];
    (void)state;
    gpusim_host_config_init(&hc);
    hc.ram_bytes = 64 * GPUSIM_MIB;
    ASSERT_OK(gpusim_host_new(w, &hc, &h));
    gpusim_process_config_init(&pc);
    ASSERT_OK(gpusim_process_new(h, &pc, &p));
    ASSERT_OK(gpusim_process_mmap(p, 0, 16 * 4096, GPUSIM_PROT_READ | GPUSIM_PROT_WRITE,
                                  GPUSIM_MAP_PRIVATE, NULL, 0, call_cb, &m));
    ASSERT_OK(gpusim_world_run(w));
    ASSERT_OK(gpusim_notifier_insert(gpusim_process_notifier(p), m.result, 16 * 4096, cb_done, NULL,
                                     &sub));
    ASSERT_OK(gpusim_notifier_read_begin(sub, &seq, NULL, NULL, NULL));
    ASSERT_OK(gpusim_process_range_fault(p, sub, seq, m.result, 16, GPUSIM_HMM_REQ_FAULT, 0, pfns,
                                         call_cb, &rf));
    gpusim_world_free(w); /* the range_fault is still in flight */
    assert_int_equal(rf.done, 0);
    ASSERT_NO_LEAK();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        GPUSIM_TEST(test_free_world_with_hmm_in_flight),
        GPUSIM_TEST(test_unpin_duplicate_pfn),
        GPUSIM_TEST(test_hmm_sub_removed_in_flight),
        GPUSIM_TEST(test_hmm_foreign_sub_refused),
        GPUSIM_TEST(test_mremap_enomem_new_below),
        GPUSIM_TEST(test_mremap_enomem_new_above),
        GPUSIM_TEST(test_fork_child_written_early),
        GPUSIM_TEST(test_fork_child_read_early_huge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
