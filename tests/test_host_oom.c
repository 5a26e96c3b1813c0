/*
 * tests/test_host_oom.c -- the OOM killer and the OOM reaper of the simulated host
 * (src/host/oom.c): who is killed, who never is, what happens when nothing can be killed, and the
 * reaper's non-blockable invalidations that a mirror may refuse.
 *
 * The hosts have no swap, so anonymous memory cannot be reclaimed and an allocation that finds the
 * node at its min watermark ends, after reclaim_retries rounds without progress, in the OOM killer.
 */
#include "test_util.h"
#include "host_util.h"

#include "host/host.h"

#define MIB  GPUSIM_MIB
#define PAGE GPUSIM_HOST_PAGE_SIZE
#define ANON GPUSIM_MAP_PRIVATE
#define RW   (GPUSIM_PROT_READ | GPUSIM_PROT_WRITE)

typedef struct seen {
    uint64_t start, end;
    gpusim_notifier_event_t event;
    gpusim_invalidator_t kind;
    bool blockable;
    gpusim_time_t t;
} seen;

#define MAXLOG 256

/* A test mirror: records announcements; may hold the exit's RELEASE and refuse non-blockable
 * ranges (a device that cannot be stopped without waiting). */
typedef struct mirror {
    gpusim_world_t *w;
    seen log[MAXLOG];
    int nlog;
    bool refuse_nonblockable;
    bool hold_release;
    gpusim_time_t hold_ns; /* if not 0, the hold ends this long after the RELEASE arrives */
    gpusim_completion_t hold;
} mirror;

static gpusim_notifier_answer_t mirror_cb(gpusim_notifier_sub_t *sub,
                                          const gpusim_notifier_range_t *r, uint64_t cur_seq,
                                          gpusim_completion_t **wait_on)
{
    mirror *m = gpusim_notifier_sub_data(sub);
    gpusim_notifier_set_seq(sub, cur_seq);
    if (m->nlog < MAXLOG)
        m->log[m->nlog++] = (seen){r->start,       r->end,       r->event,
                                   r->invalidator, r->blockable, gpusim_world_now(m->w)};
    if (!r->blockable)
        return m->refuse_nonblockable ? GPUSIM_NOTIFIER_WOULD_BLOCK : GPUSIM_NOTIFIER_DONE;
    if (r->event == GPUSIM_NOTIFY_RELEASE && m->hold_release && !gpusim_completion_done(&m->hold)) {
        if (m->hold_ns)
            ASSERT_OK(
                gpusim_completion_signal_at(m->w, &m->hold, gpusim_world_now(m->w) + m->hold_ns));
        *wait_on = &m->hold;
        return GPUSIM_NOTIFIER_WAIT;
    }
    return GPUSIM_NOTIFIER_DONE;
}

static mirror mirrors[2];

static mirror *mirror_new(gpusim_world_t *w, gpusim_process_t *p, uint64_t start, uint64_t len,
                          int i)
{
    mirror *m = &mirrors[i];
    gpusim_notifier_sub_t *sub;
    memset(m, 0, sizeof *m);
    m->w = w;
    gpusim_completion_init(&m->hold, NULL);
    ASSERT_OK(gpusim_notifier_insert(gpusim_process_notifier(p), start, len, mirror_cb, m, &sub));
    return m;
}

typedef struct fx {
    gpusim_world_t *w;
    gpusim_host_t *h;
} fx;

static void fx_start(fx *f)
{
    gpusim_host_config_t cfg;
    memset(f, 0, sizeof *f);
    f->w = test_world(1);
    gpusim_host_config_init(&cfg);
    cfg.ram_bytes = 32 * MIB; /* 8192 frames; min watermark 181 pages */
    cfg.swap_bytes = 0;
    cfg.thp = GPUSIM_THP_NEVER;
    cfg.khugepaged = false;
    ASSERT_OK(gpusim_host_new(f->w, &cfg, &f->h));
}

static void fx_free(fx *f)
{
    gpusim_world_free(f->w);
    ASSERT_NO_LEAK();
}

static void check(fx *f)
{
    host_check_ok(f->h);
}

static gpusim_process_t *proc(fx *f, const char *name, bool unkillable)
{
    gpusim_process_config_t pc;
    gpusim_process_t *p;
    gpusim_process_config_init(&pc);
    pc.name = name;
    pc.oom_unkillable = unkillable;
    pc.memlock_limit = UINT64_MAX;
    ASSERT_OK(gpusim_process_new(f->h, &pc, &p));
    return p;
}

static uint64_t do_mmap(fx *f, gpusim_process_t *p, uint64_t len, unsigned prot)
{
    call c = {0};
    ASSERT_OK(gpusim_process_mmap(p, 0, len, prot, ANON, NULL, 0, call_cb, &c));
    ASSERT_OK(gpusim_world_run(f->w));
    assert_int_equal(c.done, 1);
    ASSERT_OK(c.status);
    return c.result;
}

/* Starts writing `pages` new anonymous pages in p; the caller runs the world. */
static uint64_t start_fill_prot(fx *f, gpusim_process_t *p, uint64_t pages, unsigned prot, call *c)
{
    uint64_t a = do_mmap(f, p, pages * PAGE, prot);
    ASSERT_OK(gpusim_process_access(p, a, pages * PAGE, GPUSIM_ACCESS_WRITE, NULL, call_cb, c));
    return a;
}

static uint64_t start_fill(fx *f, gpusim_process_t *p, uint64_t pages, call *c)
{
    return start_fill_prot(f, p, pages, RW, c);
}

/* Writes `pages` new pages in p (a new VMA; `prot` different from a neighbour's keeps it apart). */
static uint64_t fill_prot(fx *f, gpusim_process_t *p, uint64_t pages, unsigned prot)
{
    call c = {0};
    uint64_t a = start_fill_prot(f, p, pages, prot, &c);
    ASSERT_OK(gpusim_world_run(f->w));
    assert_int_equal(c.done, 1);
    ASSERT_OK(c.status);
    check(f);
    return a;
}

static uint64_t fill(fx *f, gpusim_process_t *p, uint64_t pages)
{
    return fill_prot(f, p, pages, RW);
}

static uint64_t stat_count(fx *f, const char *name)
{
    gpusim_stat_info_t si;
    ASSERT_OK(gpusim_stats_get(f->w, name, &si));
    return si.count;
}

static gpusim_process_info_t info(gpusim_process_t *p)
{
    gpusim_process_info_t i;
    ASSERT_OK(gpusim_process_info(p, &i));
    return i;
}

static uint64_t free_pages(fx *f)
{
    return f->h->nodes[0].free;
}

/* ---- tests ---------------------------------------------------------------------------------- */

/*
 * Two processes need more than is left: the OOM killer kills the largest killable process (not the
 * larger unkillable one), once only -- the victim's mirror holds its exit up for 10 ms, and the
 * second allocator to run out waits for that victim rather than choosing another -- and both
 * allocations then succeed. The victim's exit freed everything before the reaper's delay, so the
 * reaper has nothing to announce.
 */
static void test_oom_kills_largest_killable(void **state)
{
    gpusim_process_t *unk, *big, *small, *x, *y;
    uint64_t rest, ax, ay;
    call cx = {0}, cy = {0};
    mirror *m;
    fx f;
    (void)state;
    fx_start(&f);
    unk = proc(&f, "unk", true);
    big = proc(&f, "big", false);
    small = proc(&f, "small", false);
    x = proc(&f, "x", true);
    y = proc(&f, "y", true);
    fill(&f, unk, 3000);
    fill(&f, big, 2500);
    fill(&f, small, 500);
    m = mirror_new(f.w, big, 0, GPUSIM_HOST_VA_END, 0);
    m->hold_release = true;
    m->hold_ns = 10 * GPUSIM_NS_PER_MS;
    rest = free_pages(&f);
    ax = do_mmap(&f, x, (rest / 2 + 100) * PAGE, RW);
    ay = do_mmap(&f, y, (rest / 2 + 100) * PAGE, RW);
    /* Both write at once (their operations interleave every op_quantum). */
    ASSERT_OK(gpusim_process_access(x, ax, (rest / 2 + 100) * PAGE, GPUSIM_ACCESS_WRITE, NULL,
                                    call_cb, &cx));
    ASSERT_OK(gpusim_process_access(y, ay, (rest / 2 + 100) * PAGE, GPUSIM_ACCESS_WRITE, NULL,
                                    call_cb, &cy));
    ASSERT_OK(gpusim_world_run(f.w));
    check(&f);
    assert_int_equal(cx.done, 1);
    assert_int_equal(cy.done, 1);
    ASSERT_OK(cx.status);
    ASSERT_OK(cy.status);
    assert_int_equal(stat_count(&f, "host.oom.kills"), 1);
    assert_true(info(big).oom_killed);
    assert_int_equal(info(big).state, GPUSIM_PROCESS_DEAD);
    assert_false(info(unk).oom_killed);
    assert_false(info(small).oom_killed);
    assert_int_equal(info(small).rss_anon, 500 * PAGE);
    assert_int_equal(info(x).rss_anon, (rest / 2 + 100) * PAGE);
    assert_int_equal(info(y).rss_anon, (rest / 2 + 100) * PAGE);
    assert_int_equal(info(x).alloc_stalls, 1); /* both waited for the victim */
    assert_int_equal(info(y).alloc_stalls, 1);
    assert_true(info(x).alloc_stall_ns >= 5 * GPUSIM_NS_PER_MS);
    assert_true(info(y).alloc_stall_ns >= 5 * GPUSIM_NS_PER_MS);
    /* Only the exit's RELEASE reached big's mirror: it was dead before the reaper's time. */
    assert_int_equal(m->nlog, 1);
    assert_int_equal(m->log[0].event, GPUSIM_NOTIFY_RELEASE);
    assert_int_equal(m->log[0].kind, GPUSIM_INVALIDATOR_EXIT);
    assert_int_equal(stat_count(&f, "host.oom.reaped_pages"), 0);
    fx_free(&f);
}

/* Among equals the first process (lowest slot) is chosen; a process with no memory never is. */
static void test_oom_tie_break(void **state)
{
    gpusim_process_t *empty, *p1, *p2, *x;
    call c = {0};
    fx f;
    (void)state;
    fx_start(&f);
    empty = proc(&f, "empty", false);
    p1 = proc(&f, "p1", false);
    p2 = proc(&f, "p2", false);
    x = proc(&f, "x", true);
    fill(&f, p1, 3000);
    fill(&f, p2, 3000);
    start_fill(&f, x, free_pages(&f) + 100, &c);
    ASSERT_OK(gpusim_world_run(f.w));
    assert_int_equal(c.done, 1);
    ASSERT_OK(c.status);
    assert_true(info(p1).oom_killed);
    assert_false(info(p2).oom_killed);
    assert_false(info(empty).oom_killed);
    check(&f);
    fx_free(&f);
}

/* Nothing killable: the allocation fails with ENOMEM, nobody is killed. */
static void test_oom_nothing_killable(void **state)
{
    gpusim_process_t *unk, *x;
    uint64_t n;
    call c = {0};
    fx f;
    (void)state;
    fx_start(&f);
    unk = proc(&f, "unk", true);
    x = proc(&f, "x", true);
    fill(&f, unk, 6000);
    n = free_pages(&f) + 100;
    start_fill(&f, x, n, &c);
    ASSERT_OK(gpusim_world_run(f.w));
    check(&f);
    assert_int_equal(c.done, 1);
    assert_int_equal(c.status, GPUSIM_ENOMEM);
    assert_true(c.result < n * PAGE);
    assert_int_equal(c.result, info(x).rss_anon);
    assert_int_equal(stat_count(&f, "host.oom.kills"), 0);
    assert_true(stat_count(&f, "host.oom.failed") >= 1);
    assert_int_equal(info(unk).state, GPUSIM_PROCESS_LIVE);
    assert_int_equal(info(x).state, GPUSIM_PROCESS_LIVE);
    /* Reclaim was tried first; without swap nothing was reclaimable, so one round sufficed to
     * know it (should_reclaim_retry), not reclaim_retries. */
    assert_int_equal(stat_count(&f, "host.direct_reclaim.count"), 1);
    assert_int_equal(info(x).alloc_stalls, 1);
    fx_free(&f);
}

/* The allocating process itself is the victim: its operation ends with ESRCH, it dies. */
static void test_oom_kills_allocator(void **state)
{
    gpusim_process_t *unk, *x;
    call c = {0};
    fx f;
    (void)state;
    fx_start(&f);
    unk = proc(&f, "unk", true);
    x = proc(&f, "x", false);
    fill(&f, unk, 6000);
    start_fill(&f, x, free_pages(&f) + 100, &c);
    ASSERT_OK(gpusim_world_run(f.w));
    check(&f);
    assert_int_equal(c.done, 1);
    assert_int_equal(c.status, GPUSIM_ESRCH);
    assert_true(info(x).oom_killed);
    assert_int_equal(info(x).state, GPUSIM_PROCESS_DEAD);
    assert_false(info(unk).oom_killed);
    assert_int_equal(stat_count(&f, "host.oom.kills"), 1);
    /* The stall that ended with the process is recorded, not lost. */
    assert_int_equal(info(x).alloc_stalls, 1);
    assert_true(info(x).alloc_stall_ns > 0);
    assert_int_equal(stat_count(&f, "host.process.x.alloc_stall_ns"), 1);
    assert_int_equal(stat_count(&f, "host.direct_reclaim.stall_ns"), 1);
    fx_free(&f);
}

/*
 * The victim's exit is held up by a mirror (RELEASE waits for a device that never finishes). The
 * reaper comes oom_reaper_delay after the kill and announces UNMAP over each private VMA,
 * non-blockable: the mirror over V1 refuses, so V1 is skipped; V2 is zapped, except its pinned
 * pages. It retries every oom_reap_retry_delay, oom_reap_retries passes in all, then gives up
 * (oom_skip). The memory it freed let the waiting allocation finish.
 */
static void test_oom_reaper(void **state)
{
    static uint64_t pfns[16];
    gpusim_process_t *unk, *v, *x;
    uint64_t v1, v2, n = 1024, retries, delay, retry_delay;
    gpusim_stat_info_t si;
    call c = {0}, pc = {0};
    mirror *m1, *m2;
    gpusim_time_t t_kill;
    int unmaps = 0;
    fx f;
    (void)state;
    fx_start(&f);
    retries = f.h->p[HP_oom_reap_retries];
    delay = f.h->p[HP_oom_reaper_delay];
    retry_delay = f.h->p[HP_oom_reap_retry_delay];
    unk = proc(&f, "unk", true);
    v = proc(&f, "v", false);
    x = proc(&f, "x", true);
    v1 = fill(&f, v, n);
    v2 = fill_prot(&f, v, n, RW | GPUSIM_PROT_EXEC);
    assert_int_equal(info(v).vmas, 2);
    ASSERT_OK(gpusim_process_pin(v, v2, 16, GPUSIM_PIN_WRITE, pfns, call_cb, &pc));
    ASSERT_OK(gpusim_world_run(f.w));
    ASSERT_OK(pc.status);
    m1 = mirror_new(f.w, v, v1, n * PAGE, 0);
    m1->hold_release = true;
    m1->refuse_nonblockable = true;
    m2 = mirror_new(f.w, v, v2, n * PAGE, 1);
    fill(&f, unk, 4000);
    start_fill(&f, x, free_pages(&f) + 500, &c);
    ASSERT_OK(gpusim_world_run(f.w));
    check(&f);
    /* The allocation finished thanks to the reaper. */
    assert_int_equal(c.done, 1);
    ASSERT_OK(c.status);
    assert_true(info(v).oom_killed);
    assert_int_equal(info(v).state, GPUSIM_PROCESS_EXITING);
    assert_true(v->oom_skip);
    /* V1: RELEASE (held), then one refused non-blockable UNMAP per reaper pass. */
    assert_int_equal(m1->nlog, 1 + (int)retries);
    assert_int_equal(m1->log[0].event, GPUSIM_NOTIFY_RELEASE);
    assert_true(m1->log[0].blockable);
    t_kill = m1->log[0].t;
    for (int i = 1; i < m1->nlog; i++) {
        assert_int_equal(m1->log[i].start, v1);
        assert_int_equal(m1->log[i].end, v1 + n * PAGE);
        assert_int_equal(m1->log[i].event, GPUSIM_NOTIFY_UNMAP);
        assert_int_equal(m1->log[i].kind, GPUSIM_INVALIDATOR_OOM_REAPER);
        assert_false(m1->log[i].blockable);
        assert_int_equal(m1->log[i].t, t_kill + delay + (uint64_t)(i - 1) * retry_delay);
    }
    /* V2: RELEASE, then the reaper's UNMAP over exactly V2 on every pass. */
    for (int i = 0; i < m2->nlog; i++) {
        if (m2->log[i].kind != GPUSIM_INVALIDATOR_OOM_REAPER)
            continue;
        unmaps++;
        assert_int_equal(m2->log[i].start, v2);
        assert_int_equal(m2->log[i].end, v2 + n * PAGE);
        assert_int_equal(m2->log[i].event, GPUSIM_NOTIFY_UNMAP);
        assert_false(m2->log[i].blockable);
    }
    assert_int_equal(unmaps, (int)retries);
    assert_int_equal(stat_count(&f, "host.oom.reap_skipped_vmas"), retries);
    assert_int_equal(stat_count(&f, "host.oom.reaped_pages"), n - 16);
    /* Non-blockable: the reaper was never blocked. */
    ASSERT_OK(gpusim_stats_get(f.w, "notifier.blocked_ns.oom_reaper", &si));
    assert_int_equal(si.count, 2 * retries);
    assert_int_equal(si.max, 0);
    /* V1 untouched, V2 gone but for its pinned pages. */
    for (uint64_t i = 0; i < n; i++) {
        gpusim_host_pte_t e1, e2;
        ASSERT_OK(gpusim_process_translate(v, v1 + i * PAGE, &e1));
        ASSERT_OK(gpusim_process_translate(v, v2 + i * PAGE, &e2));
        assert_true(e1.present);
        assert_int_equal(e2.present, i < 16);
        if (i < 16)
            assert_int_equal(e2.pfn, pfns[i]);
    }
    assert_int_equal(info(v).rss_anon, (n + 16) * PAGE);
    /* The device finally lets go: the exit completes. */
    ASSERT_OK(gpusim_completion_signal(f.w, &m1->hold));
    ASSERT_OK(gpusim_world_run(f.w));
    assert_int_equal(info(v).state, GPUSIM_PROCESS_DEAD);
    check(&f);
    fx_free(&f);
}

/* The badness of a process is oom_badness()'s resident + swapped pages: pinned pages are resident
 * already. A with 1000 pages, 600 of them pinned, is smaller than B with 1500. */
static void test_oom_pins_counted_once(void **state)
{
    static uint64_t pfns[600];
    gpusim_process_t *a, *b, *x;
    uint64_t va;
    call c = {0}, pc = {0};
    fx f;
    (void)state;
    fx_start(&f);
    a = proc(&f, "a", false);
    b = proc(&f, "b", false);
    x = proc(&f, "x", true);
    va = fill(&f, a, 1000);
    ASSERT_OK(gpusim_process_pin(a, va, 600, GPUSIM_PIN_WRITE, pfns, call_cb, &pc));
    ASSERT_OK(gpusim_world_run(f.w));
    ASSERT_OK(pc.status);
    fill_prot(&f, b, 1500, RW | GPUSIM_PROT_EXEC);
    start_fill(&f, x, free_pages(&f) + 100, &c);
    ASSERT_OK(gpusim_world_run(f.w));
    check(&f);
    assert_int_equal(c.done, 1);
    ASSERT_OK(c.status);
    assert_true(info(b).oom_killed);
    assert_false(info(a).oom_killed);
    fx_free(&f);
}

/*
 * The reaper reaps private file mappings too (__oom_reap_task_mm: anonymous or not VM_SHARED): the
 * victim's copy-on-write pages there are freed while its exit is held up, announced UNMAP
 * non-blockable over the VMA, and the allocation that needed them succeeds.
 */
static void test_oom_reaper_private_file(void **state)
{
    gpusim_process_t *unk, *v, *x;
    gpusim_file_t *file;
    uint64_t vf, n = 2048;
    call c = {0}, cm = {0}, ca = {0};
    int reaps = 0;
    mirror *m;
    fx f;
    (void)state;
    fx_start(&f);
    unk = proc(&f, "unk", true);
    v = proc(&f, "v", false);
    x = proc(&f, "x", true);
    ASSERT_OK(gpusim_host_file_new(f.h, n * PAGE, &file));
    ASSERT_OK(gpusim_process_mmap(v, 0, n * PAGE, RW, ANON, file, 0, call_cb, &cm));
    ASSERT_OK(gpusim_world_run(f.w));
    ASSERT_OK(cm.status);
    vf = cm.result;
    ASSERT_OK(gpusim_process_access(v, vf, n * PAGE, GPUSIM_ACCESS_WRITE, NULL, call_cb, &ca));
    ASSERT_OK(gpusim_world_run(f.w));
    ASSERT_OK(ca.status);
    assert_int_equal(info(v).rss_anon, n * PAGE);
    m = mirror_new(f.w, v, 0, GPUSIM_HOST_VA_END, 0);
    m->hold_release = true;
    fill(&f, unk, free_pages(&f) - 600);
    /* More than what is free plus the whole page cache: only v's private pages can make it up. */
    start_fill(&f, x, free_pages(&f) + file->cached + 800, &c);
    ASSERT_OK(gpusim_world_run(f.w));
    check(&f);
    assert_int_equal(c.done, 1);
    ASSERT_OK(c.status);
    assert_true(info(v).oom_killed);
    assert_int_equal(info(v).state, GPUSIM_PROCESS_EXITING);
    assert_int_equal(info(v).rss_anon, 0);
    assert_int_equal(stat_count(&f, "host.oom.reaped_pages"), n);
    for (int i = 0; i < m->nlog; i++) {
        if (m->log[i].kind != GPUSIM_INVALIDATOR_OOM_REAPER)
            continue;
        reaps++;
        assert_int_equal(m->log[i].start, vf);
        assert_int_equal(m->log[i].end, vf + n * PAGE);
        assert_int_equal(m->log[i].event, GPUSIM_NOTIFY_UNMAP);
        assert_false(m->log[i].blockable);
    }
    assert_int_equal(reaps, 1);
    ASSERT_OK(gpusim_completion_signal(f.w, &m->hold));
    ASSERT_OK(gpusim_world_run(f.w));
    assert_int_equal(info(v).state, GPUSIM_PROCESS_DEAD);
    check(&f);
    fx_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        GPUSIM_TEST(test_oom_kills_largest_killable),
        GPUSIM_TEST(test_oom_tie_break),
        GPUSIM_TEST(test_oom_nothing_killable),
        GPUSIM_TEST(test_oom_kills_allocator),
        GPUSIM_TEST(test_oom_reaper),
        GPUSIM_TEST(test_oom_pins_counted_once),
        GPUSIM_TEST(test_oom_reaper_private_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
