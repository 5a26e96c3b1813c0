/*
 * tests/test_host_reclaim.c -- reclaim, swap, kswapd, direct reclaim and MADV_PAGEOUT of the
 * simulated host (src/host/reclaim.c): which pages go, which stay, what is announced to mirrors,
 * how long invalidators are blocked, and that swapped data comes back.
 *
 * Sizes: a 32 MiB host has 8192 frames and watermarks min 181, low 226, high 271 pages (Linux's
 * formula), so a test fills memory in milliseconds.
 */
#include "test_util.h"
#include "host_util.h"

#include <stdio.h>

#include "host/host.h"

#define MIB  GPUSIM_MIB
#define PAGE GPUSIM_HOST_PAGE_SIZE
#define RW   (GPUSIM_PROT_READ | GPUSIM_PROT_WRITE)
#define ANON GPUSIM_MAP_PRIVATE
#define MS   GPUSIM_NS_PER_MS

/* ---- fixture -------------------------------------------------------------------------------- */

typedef struct seen {
    uint64_t start, end;
    gpusim_notifier_event_t event;
    gpusim_invalidator_t kind;
    bool blockable;
} seen;

#define MAXLOG 8192

/* A test mirror: records every announcement, and can make chosen invalidators wait. */
typedef struct mirror {
    gpusim_world_t *w;
    seen log[MAXLOG];
    int nlog;
    unsigned wait_kinds;   /* bit (1 << kind): answer WAIT to blockable ranges of that kind */
    int waits_left;        /* how many WAIT answers are left to give */
    gpusim_time_t wait_ns; /* each wait lasts this long */
    gpusim_completion_t fence;
    bool armed;               /* the fence's signal is scheduled */
    bool refuse_nonblockable; /* answer WOULD_BLOCK to non-blockable ranges */
    bool hold_release;        /* RELEASE waits on `hold` (a device that never lets go) */
    gpusim_completion_t hold;
    void (*on_wait)(struct mirror *m); /* called when a WAIT is answered */
    void *data;
} mirror;

static gpusim_notifier_answer_t mirror_cb(gpusim_notifier_sub_t *sub,
                                          const gpusim_notifier_range_t *r, uint64_t cur_seq,
                                          gpusim_completion_t **wait_on)
{
    mirror *m = gpusim_notifier_sub_data(sub);
    gpusim_notifier_set_seq(sub, cur_seq);
    if (m->nlog < MAXLOG)
        m->log[m->nlog++] = (seen){r->start, r->end, r->event, r->invalidator, r->blockable};
    if (!r->blockable)
        return m->refuse_nonblockable ? GPUSIM_NOTIFIER_WOULD_BLOCK : GPUSIM_NOTIFIER_DONE;
    if (r->event == GPUSIM_NOTIFY_RELEASE && m->hold_release) {
        *wait_on = &m->hold;
        return GPUSIM_NOTIFIER_WAIT;
    }
    if ((m->wait_kinds & (1u << r->invalidator)) && m->waits_left > 0) {
        m->waits_left--;
        if (gpusim_completion_done(&m->fence)) {
            ASSERT_OK(gpusim_completion_reset(&m->fence));
            m->armed = false;
        }
        if (!m->armed) { /* else: this one waits for the fence already set, too */
            ASSERT_OK(
                gpusim_completion_signal_at(m->w, &m->fence, gpusim_world_now(m->w) + m->wait_ns));
            m->armed = true;
        }
        if (m->on_wait)
            m->on_wait(m);
        *wait_on = &m->fence;
        return GPUSIM_NOTIFIER_WAIT;
    }
    return GPUSIM_NOTIFIER_DONE;
}

static mirror mirrors[3];

static mirror *mirror_new(gpusim_world_t *w, gpusim_process_t *p, uint64_t start, uint64_t len,
                          int i)
{
    mirror *m = &mirrors[i];
    gpusim_notifier_sub_t *sub;
    memset(m, 0, sizeof *m);
    m->w = w;
    gpusim_completion_init(&m->fence, NULL);
    gpusim_completion_init(&m->hold, NULL);
    ASSERT_OK(gpusim_notifier_insert(gpusim_process_notifier(p), start, len, mirror_cb, m, &sub));
    return m;
}

typedef struct fx {
    gpusim_world_t *w;
    gpusim_host_t *h;
} fx;

static gpusim_host_config_t host_cfg(uint64_t ram, uint64_t swap)
{
    gpusim_host_config_t cfg;
    gpusim_host_config_init(&cfg);
    cfg.ram_bytes = ram;
    cfg.swap_bytes = swap;
    cfg.thp = GPUSIM_THP_NEVER;
    cfg.khugepaged = false;
    return cfg;
}

static void fx_start(fx *f, const gpusim_host_config_t *cfg)
{
    memset(f, 0, sizeof *f);
    f->w = test_world(1);
    ASSERT_OK(gpusim_host_new(f->w, cfg, &f->h));
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

/* Runs the world until it is idle; the call must have completed. Returns its status. */
static int finish(fx *f, call *c)
{
    return host_finish(f->w, f->h, c);
}

static uint64_t do_mmap(fx *f, gpusim_process_t *p, uint64_t addr, uint64_t len, unsigned flags,
                        gpusim_file_t *file)
{
    call c = {0};
    ASSERT_OK(gpusim_process_mmap(p, addr, len, RW, flags, file, 0, call_cb, &c));
    ASSERT_OK(finish(f, &c));
    return c.result;
}

static int do_access(fx *f, gpusim_process_t *p, uint64_t addr, uint64_t len, gpusim_access_t kind,
                     void *buf)
{
    call c = {0};
    ASSERT_OK(gpusim_process_access(p, addr, len, kind, buf, call_cb, &c));
    return finish(f, &c);
}

static int do_madvise(fx *f, gpusim_process_t *p, uint64_t addr, uint64_t len, gpusim_madvise_t adv)
{
    call c = {0};
    ASSERT_OK(gpusim_process_madvise(p, addr, len, adv, call_cb, &c));
    return finish(f, &c);
}

/* Maps `pages` anonymous pages and writes them all. Returns the address. */
static uint64_t populate(fx *f, gpusim_process_t *p, uint64_t pages)
{
    uint64_t a = do_mmap(f, p, 0, pages * PAGE, ANON, NULL);
    ASSERT_OK(do_access(f, p, a, pages * PAGE, GPUSIM_ACCESS_WRITE, NULL));
    return a;
}

static gpusim_host_pte_t pte_at(gpusim_process_t *p, uint64_t va)
{
    gpusim_host_pte_t e;
    ASSERT_OK(gpusim_process_translate(p, va, &e));
    return e;
}

/* Ages pages: clears the accessed bit, as if a previous LRU pass had looked at them. */
static void age(fx *f, gpusim_process_t *p, uint64_t a, uint64_t pages)
{
    for (uint64_t i = 0; i < pages; i++) {
        gpusim_host_pte_t e = pte_at(p, a + i * PAGE);
        if (e.present && e.pfn)
            frame_of(f->h, e.huge ? huge_head((uint32_t)e.pfn) : (uint32_t)e.pfn)->flags &=
                (uint16_t)~FF_ACCESSED;
    }
}

/*
 * Makes b map A's page at va as fork would (copy-on-write: read-only in both), so the tests of
 * shared pages do not depend on fork.c: b gets a private anonymous VMA over the page.
 */
static void share_page(fx *f, gpusim_process_t *a, gpusim_process_t *b, uint64_t va)
{
    pte_t *ea = gpusim__pt_lookup(&a->pt, va, NULL), *eb;
    assert_int_equal(do_mmap(f, b, va, PAGE, ANON | GPUSIM_MAP_FIXED, NULL), va);
    assert_true(ea && PTE_IS_PRESENT(*ea));
    *ea &= ~(pte_t)PTE_WRITE;
    ASSERT_OK(gpusim__rmap_reserve(f->h, 2));
    eb = gpusim__pt_alloc(f->h, &b->pt, va);
    assert_non_null(eb);
    gpusim__map_frame(b, va, eb, PTE_PFN(*ea), false, false, false);
    check(f);
}

static uint64_t stat_count(fx *f, const char *name)
{
    gpusim_stat_info_t si;
    ASSERT_OK(gpusim_stats_get(f->w, name, &si));
    return si.count;
}

static gpusim_stat_info_t stat_info(fx *f, const char *name)
{
    gpusim_stat_info_t si;
    ASSERT_OK(gpusim_stats_get(f->w, name, &si));
    return si;
}

static uint64_t free_pages(fx *f)
{
    return f->h->nodes[0].free;
}

static uint64_t swapped_in(gpusim_process_t *p, uint64_t a, uint64_t pages)
{
    uint64_t n = 0;
    for (uint64_t i = 0; i < pages; i++)
        n += pte_at(p, a + i * PAGE).swapped;
    return n;
}

/* ---- tests ---------------------------------------------------------------------------------- */

/*
 * Cold pages go first. A's even pages are cold, its odd pages were read again (accessed); then B
 * fills memory. Reclaim takes the oldest cold pages in LRU order -- exactly A's first even pages --
 * and activates the hot ones, which all stay; B's fresh pages are not touched.
 */
static void test_cold_pages_first(void **state)
{
    gpusim_host_config_t cfg = host_cfg(32 * MIB, 64 * MIB);
    gpusim_process_t *a, *b;
    uint64_t va, vb, n = 2048, nb, swapped = 0;
    fx f;
    (void)state;
    fx_start(&f, &cfg);
    a = proc(&f, "a", false);
    b = proc(&f, "b", false);
    va = populate(&f, a, n);
    age(&f, a, va, n);
    for (uint64_t i = 1; i < n; i += 2)
        ASSERT_OK(do_access(&f, a, va + i * PAGE, 1, GPUSIM_ACCESS_READ, NULL));
    nb = free_pages(&f) - f.h->nodes[0].wmark_min + 300;
    vb = populate(&f, b, nb);
    for (uint64_t i = 0; i < n; i++) {
        gpusim_host_pte_t e = pte_at(a, va + i * PAGE);
        if (i % 2) {
            if (!e.present)
                fail_msg("hot page %llu: swapped %d", (unsigned long long)i, e.swapped);
            assert_true(e.present); /* hot: never reclaimed */
        } else if (e.swapped) {
            assert_int_equal(i, 2 * swapped); /* a prefix of the cold pages, oldest first */
            swapped++;
        } else {
            assert_true(e.present);
        }
    }
    assert_true(swapped >= 300);
    assert_true(swapped < n / 2);
    assert_int_equal(swapped_in(b, vb, nb), 0);
    assert_int_equal(stat_count(&f, "host.swap.out"), swapped);
    assert_int_equal(stat_count(&f, "host.reclaim.reclaimed"), swapped);
    assert_true(stat_count(&f, "host.reclaim.activated") >= swapped - 1);
    assert_true(free_pages(&f) >= f.h->nodes[0].wmark_min);
    fx_free(&f);
}

/*
 * Mirror aging. A's first half is reported used by a device (gpusim_host_mark_accessed, as a
 * secondary MMU's young callback would) and its second half is not; then B fills memory. With
 * mirror_aging on, the reported pages get their second chance and reclaim takes only unreported
 * ones; with it off, the report is ignored and the oldest pages -- the reported ones -- go first.
 */
static uint64_t aging_run(bool mirror_aging, uint64_t *unreported_swapped)
{
    gpusim_host_config_t cfg = host_cfg(32 * MIB, 64 * MIB);
    gpusim_process_t *a, *b;
    uint64_t va, n = 2048, reported_swapped = 0;
    fx f;
    cfg.mirror_aging = mirror_aging;
    fx_start(&f, &cfg);
    a = proc(&f, "a", false);
    b = proc(&f, "b", false);
    va = populate(&f, a, n);
    age(&f, a, va, n);
    for (uint64_t i = 0; i < n / 2; i++)
        ASSERT_OK(gpusim_host_mark_accessed(f.h, pte_at(a, va + i * PAGE).pfn));
    populate(&f, b, free_pages(&f) - f.h->nodes[0].wmark_min + 300);
    *unreported_swapped = 0;
    for (uint64_t i = 0; i < n; i++) {
        if (!pte_at(a, va + i * PAGE).swapped)
            continue;
        if (i < n / 2)
            reported_swapped++;
        else
            (*unreported_swapped)++;
    }
    check(&f);
    fx_free(&f);
    return reported_swapped;
}

static void test_mirror_aging(void **state)
{
    uint64_t unreported;
    (void)state;
    assert_int_equal(aging_run(true, &unreported), 0);
    assert_true(unreported >= 300);
    assert_true(aging_run(false, &unreported) >= 300);
    assert_int_equal(unreported, 0);
}

/*
 * Aging without help: every page starts referenced. A first pass activates what it meets; when the
 * inactive list gets shorter than the active one, pages come back from the active tail with their
 * bit cleared, and a page not used since is reclaimed there. The oldest pages (A's, in fault
 * order) go first; B's, younger, are not reached.
 */
static void test_aging(void **state)
{
    gpusim_host_config_t cfg = host_cfg(32 * MIB, 64 * MIB);
    gpusim_process_t *a, *b;
    uint64_t va, vb, n = 4096, nb, swapped = 0;
    fx f;
    (void)state;
    fx_start(&f, &cfg);
    a = proc(&f, "a", false);
    b = proc(&f, "b", false);
    va = populate(&f, a, n);
    nb = free_pages(&f) - f.h->nodes[0].wmark_min + 200;
    vb = populate(&f, b, nb);
    for (uint64_t i = 0; i < n; i++) {
        if (pte_at(a, va + i * PAGE).swapped) {
            assert_int_equal(i, swapped); /* a prefix: oldest first */
            swapped++;
        }
    }
    assert_true(swapped >= 200);
    assert_int_equal(swapped_in(b, vb, nb), 0);
    assert_true(stat_count(&f, "host.reclaim.activated") >= swapped);
    fx_free(&f);
}

/*
 * Deactivation clears the accessed bit: pages referenced while on the active list (before the
 * pressure began) are moved back to the inactive list when it is the shorter one, and reclaimed
 * there in order unless referenced again, before the younger pages of the process pressing.
 */
static void test_deactivation_clears_accessed(void **state)
{
    gpusim_host_config_t cfg = host_cfg(32 * MIB, 64 * MIB);
    gpusim_process_t *a, *b;
    uint64_t va, vb, n = 5000, nb, swapped = 0;
    fx f;
    (void)state;
    fx_start(&f, &cfg);
    a = proc(&f, "a", false);
    b = proc(&f, "b", false);
    va = populate(&f, a, n);
    for (uint64_t i = 0; i < n; i++) {
        uint32_t pfn = (uint32_t)pte_at(a, va + i * PAGE).pfn;
        gpusim__lru_move(f.h, pfn, true); /* active, and referenced there */
        frame_of(f.h, pfn)->flags |= FF_ACCESSED;
    }
    check(&f);
    nb = free_pages(&f) - f.h->nodes[0].wmark_min + 200;
    vb = populate(&f, b, nb);
    for (uint64_t i = 0; i < n; i++) {
        if (pte_at(a, va + i * PAGE).swapped) {
            assert_int_equal(i, swapped); /* a prefix: the active list's tail first */
            swapped++;
        }
    }
    assert_true(swapped >= 200);
    assert_int_equal(swapped_in(b, vb, nb), 0);
    fx_free(&f);
}

/* Pinned pages are never reclaimed, by kswapd, direct reclaim or MADV_PAGEOUT; they are counted. */
static void test_pinned_never_reclaimed(void **state)
{
    gpusim_host_config_t cfg = host_cfg(32 * MIB, 64 * MIB);
    static uint64_t pfns[256];
    gpusim_process_t *a, *b;
    uint64_t va, n = 1024, skipped;
    call c = {0};
    fx f;
    (void)state;
    fx_start(&f, &cfg);
    a = proc(&f, "a", false);
    b = proc(&f, "b", false);
    va = populate(&f, a, n);
    ASSERT_OK(gpusim_process_pin(a, va, 256, GPUSIM_PIN_WRITE, pfns, call_cb, &c));
    assert_int_equal(finish(&f, &c), 0);
    age(&f, a, va, n);
    /* Pressure: the pinned pages are the oldest on the LRU, so reclaim meets them first. */
    populate(&f, b, free_pages(&f) - f.h->nodes[0].wmark_min + 400);
    skipped = stat_count(&f, "host.reclaim.skipped_pinned");
    assert_true(skipped >= 256);
    for (uint64_t i = 0; i < 256; i++) {
        gpusim_host_pte_t e = pte_at(a, va + i * PAGE);
        assert_true(e.present);
        assert_int_equal(e.pfn, pfns[i]);
    }
    assert_true(swapped_in(a, va + 256 * PAGE, n - 256) >= 400);
    /* MADV_PAGEOUT of everything: only the unpinned pages go. */
    ASSERT_OK(do_madvise(&f, a, va, n * PAGE, GPUSIM_MADV_PAGEOUT));
    assert_int_equal(swapped_in(a, va, 256), 0);
    assert_int_equal(swapped_in(a, va + 256 * PAGE, n - 256), n - 256);
    assert_int_equal(stat_count(&f, "host.reclaim.skipped_pinned"), skipped + 256);
    for (uint64_t i = 0; i < 256; i++)
        assert_int_equal(pte_at(a, va + i * PAGE).pfn, pfns[i]);
    ASSERT_OK(gpusim_process_unpin(a, pfns, 256, false, NULL));
    check(&f);
    fx_free(&f);
}

/* Data mode: pages swapped out by MADV_PAGEOUT come back with their contents. */
static void test_swap_roundtrip_data(void **state)
{
    gpusim_host_config_t cfg = host_cfg(16 * MIB, 16 * MIB);
    static uint8_t out[64 * PAGE], in[64 * PAGE];
    gpusim_process_t *a;
    uint64_t va;
    fx f;
    (void)state;
    cfg.data_mode = true;
    fx_start(&f, &cfg);
    a = proc(&f, "a", false);
    for (size_t i = 0; i < sizeof out; i++)
        out[i] = (uint8_t)(i * 7 + i / PAGE);
    va = do_mmap(&f, a, 0, 64 * PAGE, ANON, NULL);
    ASSERT_OK(do_access(&f, a, va, sizeof out, GPUSIM_ACCESS_WRITE, out));
    ASSERT_OK(do_madvise(&f, a, va, 64 * PAGE, GPUSIM_MADV_PAGEOUT));
    assert_int_equal(swapped_in(a, va, 64), 64);
    assert_int_equal(f.h->nslots - f.h->nslot_free, 64);
    ASSERT_OK(do_access(&f, a, va, sizeof in, GPUSIM_ACCESS_READ, in));
    assert_memory_equal(in, out, sizeof out);
    assert_int_equal(swapped_in(a, va, 64), 0);
    assert_int_equal(stat_count(&f, "host.swap.in"), 64);
    assert_int_equal(f.h->nslot_free, f.h->nslots); /* every slot freed by the swap-ins */
    fx_free(&f);
}

/*
 * A page shared by A and B (copy-on-write) is reclaimed; while reclaim waits for the mirror of the
 * second mapping it announces, that process writes the page: the first mapping was already
 * replaced, so the write reuses the page in place, and the copy already in swap (the other
 * process's data) must not be reused for it: the writer's data goes to a slot of its own.
 */
typedef struct share_ctx {
    gpusim_process_t *proc[2];
    uint8_t *buf;
    uint64_t va;
    int waits;
    int writer; /* index of the process that wrote during the wait */
    call c;
} share_ctx;

static share_ctx share;

static void write_during_wait(mirror *m)
{
    int i = (int)(m - mirrors);
    if (++share.waits != 2)
        return; /* the first mapping's wait: nothing happens meanwhile */
    share.writer = i;
    ASSERT_OK(gpusim_process_access(share.proc[i], share.va, PAGE, GPUSIM_ACCESS_WRITE, share.buf,
                                    call_cb, &share.c));
}

static void test_shared_page_swap_data(void **state)
{
    gpusim_host_config_t cfg = host_cfg(16 * MIB, 16 * MIB);
    static uint8_t pa[PAGE], pb[PAGE], got[PAGE];
    gpusim_process_t *a, *b, *c;
    uint64_t va;
    fx f;
    (void)state;
    cfg.data_mode = true;
    fx_start(&f, &cfg);
    a = proc(&f, "a", false);
    b = proc(&f, "b", false);
    c = proc(&f, "c", false);
    memset(pa, 0xaa, sizeof pa);
    memset(pb, 0xbb, sizeof pb);
    va = do_mmap(&f, a, 0, PAGE, ANON, NULL);
    ASSERT_OK(do_access(&f, a, va, PAGE, GPUSIM_ACCESS_WRITE, pa));
    share_page(&f, a, b, va);
    /* MADV_PAGEOUT leaves pages mapped by more than this process alone. */
    ASSERT_OK(do_madvise(&f, a, va, PAGE, GPUSIM_MADV_PAGEOUT));
    assert_true(pte_at(a, va).present);
    /* Reclaim reaches the shared page first (the oldest); each mirror holds it up for 1 ms. */
    age(&f, a, va, 1);
    memset(&share, 0, sizeof share);
    share = (share_ctx){{a, b}, pb, va, 0, -1, {0}};
    for (int i = 0; i < 2; i++) {
        mirror *m = mirror_new(f.w, share.proc[i], va, PAGE, i);
        m->wait_kinds =
            (1u << GPUSIM_INVALIDATOR_KSWAPD) | (1u << GPUSIM_INVALIDATOR_DIRECT_RECLAIM);
        m->waits_left = 1;
        m->wait_ns = MS;
        m->on_wait = write_during_wait;
    }
    populate(&f, c, free_pages(&f) - f.h->nodes[0].wmark_min + 64);
    assert_int_equal(share.waits, 2);
    assert_int_equal(share.c.done, 1);
    ASSERT_OK(share.c.status);
    assert_true(pte_at(a, va).swapped);
    assert_true(pte_at(b, va).swapped);
    /* Two copies now: one per process. */
    assert_int_not_equal(*gpusim__pt_lookup(&a->pt, va, NULL),
                         *gpusim__pt_lookup(&b->pt, va, NULL));
    ASSERT_OK(do_access(&f, share.proc[share.writer], va, PAGE, GPUSIM_ACCESS_READ, got));
    assert_memory_equal(got, pb, PAGE);
    ASSERT_OK(do_access(&f, share.proc[1 - share.writer], va, PAGE, GPUSIM_ACCESS_READ, got));
    assert_memory_equal(got, pa, PAGE);
    fx_free(&f);
}

/* A page shared by two processes is unmapped in both, announced in each, and both entries name
 * the same swap slot (no data mode: no second copy is needed). */
static void test_shared_page_one_slot(void **state)
{
    gpusim_host_config_t cfg = host_cfg(16 * MIB, 16 * MIB);
    gpusim_process_t *a, *b, *c;
    mirror *ma, *mb;
    uint64_t va;
    pte_t *ea, *eb;
    fx f;
    (void)state;
    fx_start(&f, &cfg);
    a = proc(&f, "a", false);
    b = proc(&f, "b", false);
    c = proc(&f, "c", false);
    va = populate(&f, a, 1);
    share_page(&f, a, b, va);
    age(&f, a, va, 1);
    ma = mirror_new(f.w, a, 0, GPUSIM_HOST_VA_END, 0);
    mb = mirror_new(f.w, b, 0, GPUSIM_HOST_VA_END, 1);
    populate(&f, c, free_pages(&f) - f.h->nodes[0].wmark_min + 16);
    ea = gpusim__pt_lookup(&a->pt, va, NULL);
    eb = gpusim__pt_lookup(&b->pt, va, NULL);
    assert_true(PTE_IS_SWAP(*ea));
    assert_int_equal(*ea, *eb);
    assert_int_equal(f.h->slot_refs[PTE_PFN(*ea)], 2);
    assert_int_equal(ma->nlog, 1);
    assert_int_equal(mb->nlog, 1);
    assert_int_equal(ma->log[0].start, va);
    assert_int_equal(ma->log[0].end, va + PAGE);
    assert_int_equal(ma->log[0].event, GPUSIM_NOTIFY_CLEAR);
    assert_int_equal(mb->log[0].start, va);
    assert_int_equal(mb->log[0].end, va + PAGE);
    fx_free(&f);
}

/* kswapd wakes when an allocation passes below low, reclaims to high, sleeps; the world stops. */
static void test_kswapd_low_high(void **state)
{
    gpusim_host_config_t cfg = host_cfg(32 * MIB, 64 * MIB);
    gpusim_process_t *a;
    uint64_t va, n, low, high, batch;
    gpusim_time_t t0;
    fx f;
    (void)state;
    fx_start(&f, &cfg);
    a = proc(&f, "a", false);
    low = f.h->nodes[0].wmark_low;
    high = f.h->nodes[0].wmark_high;
    batch = f.h->p[HP_reclaim_batch];
    n = free_pages(&f) - low - 10;
    va = do_mmap(&f, a, 0, (n + 20) * PAGE, ANON, NULL);
    ASSERT_OK(do_access(&f, a, va, n * PAGE, GPUSIM_ACCESS_WRITE, NULL));
    assert_int_equal(free_pages(&f), low + 10);
    assert_int_equal(stat_count(&f, "host.kswapd.wakeups"), 0);
    age(&f, a, va, n);
    t0 = gpusim_world_now(f.w);
    ASSERT_OK(do_access(&f, a, va + n * PAGE, 20 * PAGE, GPUSIM_ACCESS_WRITE, NULL));
    /* Woken once, ran until above high, went to sleep leaving nothing queued. */
    assert_int_equal(stat_count(&f, "host.kswapd.wakeups"), 1);
    assert_true(free_pages(&f) >= high);
    assert_true(free_pages(&f) < high + batch);
    assert_int_equal(gpusim_world_pending(f.w), 0);
    assert_int_equal(stat_count(&f, "host.direct_reclaim.count"), 0);
    assert_int_equal(stat_count(&f, "host.swap.out"), swapped_in(a, va, n));
    /* Its work took virtual time: per page scanned, freed and written to swap. */
    assert_true(
        gpusim_world_now(f.w) - t0 >=
        stat_count(&f, "host.swap.out") *
            (f.h->p[HP_reclaim_scan_4k] + f.h->p[HP_reclaim_free_4k] + f.h->p[HP_swap_out_4k]));
    /* Above low, allocating again does not wake it. */
    ASSERT_OK(do_access(&f, a, va + n * PAGE, 20 * PAGE, GPUSIM_ACCESS_READ, NULL));
    assert_int_equal(stat_count(&f, "host.kswapd.wakeups"), 1);
    fx_free(&f);
}

/*
 * A mirror that answers WAIT blocks kswapd for exactly that long (notifier.blocked_ns.kswapd), the
 * host cannot be freed meanwhile, and every announcement is CLEAR over one page that is swapped.
 */
static void test_kswapd_blocked_by_mirror(void **state)
{
    gpusim_host_config_t cfg = host_cfg(32 * MIB, 64 * MIB);
    gpusim_process_t *a;
    uint64_t va, n, low;
    gpusim_stat_info_t si;
    mirror *m;
    call c = {0};
    fx f;
    (void)state;
    fx_start(&f, &cfg);
    a = proc(&f, "a", false);
    low = f.h->nodes[0].wmark_low;
    n = free_pages(&f) - low + 10;
    va = do_mmap(&f, a, 0, n * PAGE, ANON, NULL);
    ASSERT_OK(do_access(&f, a, va, (n - 20) * PAGE, GPUSIM_ACCESS_WRITE, NULL));
    age(&f, a, va, n - 20);
    m = mirror_new(f.w, a, va, n * PAGE, 0);
    m->wait_kinds = 1u << GPUSIM_INVALIDATOR_KSWAPD;
    m->waits_left = 1;
    m->wait_ns = 5 * MS;
    ASSERT_OK(gpusim_process_access(a, va + (n - 20) * PAGE, 20 * PAGE, GPUSIM_ACCESS_WRITE, NULL,
                                    call_cb, &c));
    ASSERT_OK(gpusim_world_run_until(f.w, gpusim_world_now(f.w) + MS));
    assert_int_equal(c.done, 1);
    assert_int_equal(m->nlog, 1); /* kswapd is inside its first announcement */
    assert_true(gpusim__actors_busy(f.h));
    ASSERT_ERR(gpusim_host_free(f.h), GPUSIM_EBUSY);
    check(&f);
    ASSERT_OK(gpusim_world_run(f.w));
    check(&f);
    si = stat_info(&f, "notifier.blocked_ns.kswapd");
    assert_int_equal(si.count, (uint64_t)m->nlog);
    assert_int_equal(si.max, 5 * MS);
    assert_int_equal(si.sum, 5 * MS);
    assert_int_equal((uint64_t)m->nlog, stat_count(&f, "host.swap.out"));
    for (int i = 0; i < m->nlog; i++) {
        assert_int_equal(m->log[i].end - m->log[i].start, PAGE);
        assert_int_equal(m->log[i].event, GPUSIM_NOTIFY_CLEAR);
        assert_int_equal(m->log[i].kind, GPUSIM_INVALIDATOR_KSWAPD);
        assert_true(m->log[i].blockable);
        assert_true(pte_at(a, m->log[i].start).swapped);
        if (i)
            assert_int_equal(m->log[i].start, m->log[i - 1].start + PAGE); /* oldest first */
    }
    assert_int_equal(m->log[0].start, va);
    assert_true(free_pages(&f) >= f.h->nodes[0].wmark_high);
    fx_free(&f);
}

/* Direct reclaim: the allocating process stalls; its stall is recorded per process and host-wide,
 * and includes the time a mirror made it wait (notifier.blocked_ns.direct_reclaim). */
static void test_direct_reclaim_stall(void **state)
{
    gpusim_host_config_t cfg = host_cfg(32 * MIB, 64 * MIB);
    gpusim_process_t *a, *b;
    gpusim_process_info_t ib, ia;
    gpusim_stat_info_t ps, hs, bl;
    uint64_t va, n = 4096;
    mirror *m;
    fx f;
    (void)state;
    fx_start(&f, &cfg);
    a = proc(&f, "a", false);
    b = proc(&f, "b", false);
    va = populate(&f, a, n);
    age(&f, a, va, n);
    m = mirror_new(f.w, a, va, n * PAGE, 0);
    m->wait_kinds = 1u << GPUSIM_INVALIDATOR_DIRECT_RECLAIM;
    m->waits_left = 1;
    m->wait_ns = 50 * MS; /* far more than the reclaim work itself costs */
    populate(&f, b, free_pages(&f) + 200);
    ASSERT_OK(gpusim_process_info(b, &ib));
    ASSERT_OK(gpusim_process_info(a, &ia));
    assert_true(ib.alloc_stalls >= 1);
    assert_true(ib.alloc_stall_ns >= 50 * MS);
    assert_int_equal(ia.alloc_stalls, 0);
    ps = stat_info(&f, "host.process.b.alloc_stall_ns");
    hs = stat_info(&f, "host.direct_reclaim.stall_ns");
    bl = stat_info(&f, "notifier.blocked_ns.direct_reclaim");
    assert_int_equal(ps.count, ib.alloc_stalls);
    assert_int_equal(ps.sum, ib.alloc_stall_ns);
    assert_int_equal(hs.count, ib.alloc_stalls);
    assert_int_equal(hs.sum, ib.alloc_stall_ns);
    assert_int_equal(bl.max, 50 * MS);
    assert_int_equal(bl.sum, 50 * MS);
    assert_true(stat_count(&f, "host.direct_reclaim.count") >= ib.alloc_stalls);
    for (int i = 0; i < m->nlog; i++)
        assert_true(m->log[i].kind == GPUSIM_INVALIDATOR_DIRECT_RECLAIM ||
                    m->log[i].kind == GPUSIM_INVALIDATOR_KSWAPD);
    fx_free(&f);
}

/* The allocating process exits while its direct reclaim waits for a mirror: the round still ends
 * (no announcement is left open), the operation ends with ESRCH, the host can be freed. */
static void test_direct_reclaim_process_exits(void **state)
{
    gpusim_host_config_t cfg = host_cfg(32 * MIB, 64 * MIB);
    gpusim_process_t *a, *b;
    uint64_t va, vb, n = 4096;
    call c = {0}, ce = {0};
    mirror *m;
    fx f;
    (void)state;
    fx_start(&f, &cfg);
    a = proc(&f, "a", false);
    b = proc(&f, "b", false);
    va = populate(&f, a, n);
    age(&f, a, va, n);
    m = mirror_new(f.w, a, va, n * PAGE, 0);
    m->wait_kinds = 1u << GPUSIM_INVALIDATOR_DIRECT_RECLAIM;
    m->waits_left = 1;
    m->wait_ns = 10 * MS;
    vb = do_mmap(&f, b, 0, n * PAGE, ANON, NULL);
    ASSERT_OK(gpusim_process_access(b, vb, n * PAGE, GPUSIM_ACCESS_WRITE, NULL, call_cb, &c));
    while (m->waits_left)
        assert_true(gpusim_world_run_events(f.w, 1) == 1);
    assert_non_null(b->ops);
    ASSERT_OK(gpusim_process_exit(b, call_cb, &ce));
    ASSERT_OK(gpusim_world_run(f.w));
    check(&f);
    assert_int_equal(c.done, 1);
    assert_int_equal(c.status, GPUSIM_ESRCH);
    assert_int_equal(ce.done, 1);
    assert_int_equal(gpusim_process_info(b, &(gpusim_process_info_t){0}), 0);
    assert_int_equal(gpusim_notifier_active(gpusim_process_notifier(a)), 0);
    assert_int_equal(gpusim_notifier_seq(gpusim_process_notifier(a)) % 2, 0);
    /* The stall that ended with the process is recorded, including the mirror's wait. */
    {
        gpusim_stat_info_t ps = stat_info(&f, "host.process.b.alloc_stall_ns");
        assert_int_equal(ps.count, 1);
        assert_true(ps.sum >= 10 * MS);
        assert_int_equal(stat_info(&f, "host.direct_reclaim.stall_ns").count, 1);
    }
    ASSERT_OK(gpusim_host_free(f.h));
    fx_free(&f);
}

/* MADV_PAGEOUT: a 2 MiB mapping is split first (CLEAR over 2 MiB), then CLEAR per page reclaimed,
 * in the caller's name; only the range's pages go; a hole gives ENOMEM but the rest is done. */
static void test_pageout_announcements(void **state)
{
    gpusim_host_config_t cfg = host_cfg(32 * MIB, 64 * MIB);
    const uint64_t base = UINT64_C(0x40000000);
    gpusim_process_t *a;
    mirror *m;
    fx f;
    (void)state;
    cfg.thp = GPUSIM_THP_ALWAYS;
    fx_start(&f, &cfg);
    a = proc(&f, "a", false);
    assert_int_equal(do_mmap(&f, a, base, 2 * MIB, ANON | GPUSIM_MAP_FIXED, NULL), base);
    ASSERT_OK(do_access(&f, a, base, 2 * MIB, GPUSIM_ACCESS_WRITE, NULL));
    assert_true(pte_at(a, base).huge);
    m = mirror_new(f.w, a, 0, GPUSIM_HOST_VA_END, 0);
    ASSERT_OK(do_madvise(&f, a, base + 3 * PAGE, 2 * PAGE, GPUSIM_MADV_PAGEOUT));
    assert_int_equal(m->nlog, 3);
    assert_int_equal(m->log[0].start, base);
    assert_int_equal(m->log[0].end, base + 2 * MIB);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(m->log[i].event, GPUSIM_NOTIFY_CLEAR);
        assert_int_equal(m->log[i].kind, GPUSIM_INVALIDATOR_SYSCALL);
        assert_true(m->log[i].blockable);
    }
    assert_int_equal(m->log[1].start, base + 3 * PAGE);
    assert_int_equal(m->log[1].end, base + 4 * PAGE);
    assert_int_equal(m->log[2].start, base + 4 * PAGE);
    assert_int_equal(m->log[2].end, base + 5 * PAGE);
    assert_int_equal(stat_count(&f, "host.thp.split"), 1);
    assert_int_equal(swapped_in(a, base, 512), 2);
    assert_true(pte_at(a, base + 3 * PAGE).swapped);
    assert_true(pte_at(a, base + 4 * PAGE).swapped);
    assert_true(pte_at(a, base + 5 * PAGE).present);
    assert_false(pte_at(a, base + 5 * PAGE).huge);
    /* A hole in the range: ENOMEM, but the mapped part is paged out (Linux semantics). */
    m->nlog = 0;
    assert_int_equal(do_madvise(&f, a, base + 2 * MIB - 2 * PAGE, 4 * PAGE, GPUSIM_MADV_PAGEOUT),
                     GPUSIM_ENOMEM);
    assert_int_equal(m->nlog, 2);
    assert_true(pte_at(a, base + 2 * MIB - PAGE).swapped);
    /* Pages already swapped, or never touched, announce nothing. */
    m->nlog = 0;
    ASSERT_OK(do_madvise(&f, a, base + 3 * PAGE, 2 * PAGE, GPUSIM_MADV_PAGEOUT));
    assert_int_equal(m->nlog, 0);
    fx_free(&f);
}

/* Reclaim meets a cold 2 MiB page: CLEAR over its 2 MiB (in the reclaimer's name), split, then
 * its pages are reclaimed in address order, each announced, before anything younger. */
static void test_reclaim_splits_thp(void **state)
{
    gpusim_host_config_t cfg = host_cfg(32 * MIB, 64 * MIB);
    const uint64_t base = UINT64_C(0x40000000);
    gpusim_process_t *a, *b;
    uint64_t reclaimed;
    mirror *m;
    fx f;
    (void)state;
    cfg.thp = GPUSIM_THP_ALWAYS;
    fx_start(&f, &cfg);
    a = proc(&f, "a", false);
    b = proc(&f, "b", false);
    assert_int_equal(do_mmap(&f, a, base, 2 * MIB, ANON | GPUSIM_MAP_FIXED, NULL), base);
    ASSERT_OK(do_access(&f, a, base, 2 * MIB, GPUSIM_ACCESS_WRITE, NULL));
    assert_true(pte_at(a, base).huge);
    age(&f, a, base, 1);
    m = mirror_new(f.w, a, 0, GPUSIM_HOST_VA_END, 0);
    populate(&f, b, free_pages(&f) - f.h->nodes[0].wmark_min + 100);
    reclaimed = stat_count(&f, "host.reclaim.reclaimed");
    assert_true(reclaimed >= 100 && reclaimed < 512);
    assert_int_equal(stat_count(&f, "host.thp.split"), 1);
    assert_int_equal((uint64_t)m->nlog, 1 + reclaimed);
    assert_int_equal(m->log[0].start, base);
    assert_int_equal(m->log[0].end, base + 2 * MIB);
    for (int i = 0; i < m->nlog; i++) {
        assert_int_equal(m->log[i].event, GPUSIM_NOTIFY_CLEAR);
        assert_true(m->log[i].kind == GPUSIM_INVALIDATOR_KSWAPD ||
                    m->log[i].kind == GPUSIM_INVALIDATOR_DIRECT_RECLAIM);
        if (i) {
            assert_int_equal(m->log[i].start, base + (uint64_t)(i - 1) * PAGE);
            assert_int_equal(m->log[i].end, base + (uint64_t)i * PAGE);
        }
    }
    assert_int_equal(swapped_in(a, base, 512), reclaimed);
    assert_true(pte_at(a, base + reclaimed * PAGE).present);
    /* The split pages were next in line: no younger page was even looked at. */
    assert_int_equal(stat_count(&f, "host.reclaim.activated"), 0);
    assert_int_equal(stat_count(&f, "host.reclaim.scanned"), reclaimed);
    fx_free(&f);
}

/* MADV_FREE'd clean pages are discarded without swap; a page written again is kept as data. */
static void test_lazyfree_discarded(void **state)
{
    gpusim_host_config_t cfg = host_cfg(16 * MIB, 16 * MIB);
    static uint8_t buf[8 * PAGE], zero[PAGE];
    gpusim_process_t *a;
    uint64_t va;
    fx f;
    (void)state;
    cfg.data_mode = true;
    fx_start(&f, &cfg);
    a = proc(&f, "a", false);
    memset(buf, 0x5a, sizeof buf);
    va = do_mmap(&f, a, 0, 8 * PAGE, ANON, NULL);
    ASSERT_OK(do_access(&f, a, va, 8 * PAGE, GPUSIM_ACCESS_WRITE, buf));
    ASSERT_OK(do_madvise(&f, a, va, 4 * PAGE, GPUSIM_MADV_FREE));
    ASSERT_OK(do_access(&f, a, va + 2 * PAGE, PAGE, GPUSIM_ACCESS_WRITE, buf));
    ASSERT_OK(do_madvise(&f, a, va, 8 * PAGE, GPUSIM_MADV_PAGEOUT));
    for (uint64_t i = 0; i < 8; i++) {
        gpusim_host_pte_t e = pte_at(a, va + i * PAGE);
        assert_false(e.present);
        /* 0, 1, 3 discarded; 2 (written again) and 4..7 swapped */
        assert_int_equal(e.swapped, i == 2 || i >= 4);
    }
    assert_int_equal(stat_count(&f, "host.swap.out"), 5);
    assert_int_equal(stat_count(&f, "host.reclaim.reclaimed"), 8);
    ASSERT_OK(do_access(&f, a, va, PAGE, GPUSIM_ACCESS_READ, buf));
    assert_memory_equal(buf, zero, PAGE); /* discarded: reads zeros */
    ASSERT_OK(do_access(&f, a, va + 2 * PAGE, PAGE, GPUSIM_ACCESS_READ, buf));
    assert_int_equal(buf[0], 0x5a);
    fx_free(&f);
}

/* Shared anonymous (shmem) pages: unmapped everywhere, then moved from the page cache to swap slots
 * named by the shmem object; they come back with their contents. */
static void test_shmem_pages(void **state)
{
    gpusim_host_config_t cfg = host_cfg(16 * MIB, 16 * MIB);
    static uint8_t out[8 * PAGE], in[8 * PAGE];
    gpusim_process_t *a;
    gpusim_file_t *obj;
    uint64_t va;
    fx f;
    (void)state;
    cfg.data_mode = true;
    fx_start(&f, &cfg);
    a = proc(&f, "a", false);
    for (size_t i = 0; i < sizeof out; i++)
        out[i] = (uint8_t)(i * 13 + 1);
    va = do_mmap(&f, a, 0, 8 * PAGE, GPUSIM_MAP_SHARED, NULL);
    ASSERT_OK(do_access(&f, a, va, sizeof out, GPUSIM_ACCESS_WRITE, out));
    obj = gpusim__vma_find(a, va)->file;
    assert_non_null(obj);
    assert_true(obj->shmem);
    assert_int_equal(obj->cached, 8);
    ASSERT_OK(do_madvise(&f, a, va, 8 * PAGE, GPUSIM_MADV_PAGEOUT));
    assert_int_equal(obj->cached, 0);
    for (uint64_t i = 0; i < 8; i++) {
        gpusim_host_pte_t e = pte_at(a, va + i * PAGE);
        assert_false(e.present || e.swapped); /* the entry is gone; the object holds the slot */
        assert_true(gpusim__file_slot(obj, i) & FILE_SLOT_SWAP);
    }
    assert_int_equal(stat_count(&f, "host.swap.out"), 8);
    assert_int_equal(f.h->nslots - f.h->nslot_free, 8);
    ASSERT_OK(do_access(&f, a, va, sizeof in, GPUSIM_ACCESS_READ, in));
    assert_memory_equal(in, out, sizeof out);
    assert_int_equal(stat_count(&f, "host.faults.swapin"), 8);
    assert_int_equal(f.h->nslot_free, f.h->nslots);
    fx_free(&f);
}

/* File pages: clean ones are dropped from the page cache, dirty ones written back first (their cost
 * charged); neither uses swap. swappiness 0 reclaims file pages before anon. */
static void test_file_pages(void **state)
{
    gpusim_host_config_t cfg = host_cfg(16 * MIB, 16 * MIB);
    gpusim_file_t *file;
    gpusim_process_t *a;
    uint64_t va;
    gpusim_time_t t0, t1;
    fx f;
    (void)state;
    fx_start(&f, &cfg);
    a = proc(&f, "a", false);
    ASSERT_OK(gpusim_host_file_new(f.h, 16 * PAGE, &file));
    va = do_mmap(&f, a, 0, 16 * PAGE, GPUSIM_MAP_SHARED, file);
    ASSERT_OK(do_access(&f, a, va, 8 * PAGE, GPUSIM_ACCESS_READ, NULL));
    ASSERT_OK(do_access(&f, a, va + 8 * PAGE, 4 * PAGE, GPUSIM_ACCESS_WRITE, NULL));
    assert_int_equal(file->cached, 12);
    t0 = gpusim_world_now(f.w);
    ASSERT_OK(do_madvise(&f, a, va, 8 * PAGE, GPUSIM_MADV_PAGEOUT));
    t1 = gpusim_world_now(f.w);
    ASSERT_OK(do_madvise(&f, a, va + 8 * PAGE, 4 * PAGE, GPUSIM_MADV_PAGEOUT));
    /* Four dirty pages cost their writeback on top of what four clean ones would. */
    assert_true(gpusim_world_now(f.w) - t1 >= 4 * f.h->p[HP_file_write_4k]);
    assert_true(t1 - t0 < 8 * f.h->p[HP_file_write_4k]);
    assert_int_equal(file->cached, 0);
    assert_int_equal(stat_count(&f, "host.swap.out"), 0);
    assert_int_equal(stat_count(&f, "host.reclaim.reclaimed"), 12);
    for (uint64_t i = 0; i < 12; i++) {
        gpusim_host_pte_t e = pte_at(a, va + i * PAGE);
        assert_false(e.present || e.swapped);
    }
    ASSERT_OK(do_access(&f, a, va, 12 * PAGE, GPUSIM_ACCESS_READ, NULL));
    assert_int_equal(stat_count(&f, "host.faults.file_read"), 24);
    fx_free(&f);
}

static void swappiness_run(uint64_t swappiness, uint64_t *swapped, uint64_t *dropped)
{
    gpusim_host_config_t cfg = host_cfg(32 * MIB, 64 * MIB);
    gpusim_file_t *file;
    gpusim_process_t *a, *b;
    uint64_t va, vf;
    char v[16];
    fx f;
    snprintf(v, sizeof v, "%llu", (unsigned long long)swappiness);
    ASSERT_OK(gpusim_host_config_set(&cfg, "swappiness", v, false, NULL, 0));
    fx_start(&f, &cfg);
    a = proc(&f, "a", false);
    b = proc(&f, "b", false);
    ASSERT_OK(gpusim_host_file_new(f.h, 2048 * PAGE, &file));
    vf = do_mmap(&f, a, 0, 2048 * PAGE, GPUSIM_MAP_SHARED, file);
    ASSERT_OK(do_access(&f, a, vf, 2048 * PAGE, GPUSIM_ACCESS_READ, NULL));
    va = populate(&f, a, 2048);
    age(&f, a, vf, 2048);
    age(&f, a, va, 2048);
    populate(&f, b, free_pages(&f) - f.h->nodes[0].wmark_min + 256);
    *swapped = stat_count(&f, "host.swap.out");
    *dropped = 2048 - file->cached;
    fx_free(&f);
}

static void test_swappiness(void **state)
{
    uint64_t s, d, s60, d60, s140, d140;
    (void)state;
    swappiness_run(0, &s, &d); /* file only while there is file */
    assert_int_equal(s, 0);
    assert_true(d >= 256);
    swappiness_run(200, &s, &d); /* anon only while there is swap */
    assert_true(s >= 256);
    assert_int_equal(d, 0);
    /* In between both are reclaimed, and a higher swappiness shifts reclaim towards anon. */
    swappiness_run(60, &s60, &d60);
    swappiness_run(140, &s140, &d140);
    assert_true(s60 >= 32 && d60 >= 32 && s140 >= 32 && d140 >= 32);
    assert_true(s140 > s60);
    assert_true(d140 < d60);
}

/* Freeing the world while kswapd and a direct reclaimer are blocked by a mirror that never lets go
 * frees everything (the reclaimers' state included). */
static void test_world_freed_while_blocked(void **state)
{
    gpusim_host_config_t cfg = host_cfg(32 * MIB, 64 * MIB);
    gpusim_process_t *a, *b;
    uint64_t va, vb, n = 4096;
    mirror *m;
    call c = {0};
    fx f;
    (void)state;
    fx_start(&f, &cfg);
    a = proc(&f, "a", false);
    b = proc(&f, "b", false);
    va = populate(&f, a, n);
    age(&f, a, va, n);
    m = mirror_new(f.w, a, va, n * PAGE, 0);
    m->wait_kinds = (1u << GPUSIM_INVALIDATOR_KSWAPD) | (1u << GPUSIM_INVALIDATOR_DIRECT_RECLAIM);
    m->waits_left = 2;
    m->wait_ns = 1000 * GPUSIM_NS_PER_S; /* far beyond the end of this test */
    vb = do_mmap(&f, b, 0, n * PAGE, ANON, NULL);
    ASSERT_OK(gpusim_process_access(b, vb, n * PAGE, GPUSIM_ACCESS_WRITE, NULL, call_cb, &c));
    ASSERT_OK(gpusim_world_run_until(f.w, gpusim_world_now(f.w) + GPUSIM_NS_PER_S));
    assert_int_equal(m->waits_left, 0); /* both are inside an announcement */
    assert_int_equal(c.done, 0);
    assert_true(b->ops != NULL && b->ops->dr != NULL);
    check(&f);
    fx_free(&f);
}

/* A frame's generation only grows (host.h; gpusim_frame_info_t.gen "incremented every time the
 * frame is freed"), also when it comes back as a tail of a new 2 MiB frame: reclaim and migration
 * revalidate their victims by it. */
static void test_gen_never_goes_back(void **state)
{
    gpusim_host_config_t cfg = host_cfg(16 * MIB, 16 * MIB);
    const uint64_t base = UINT64_C(0x40000000);
    gpusim_frame_info_t fi;
    gpusim_process_t *a;
    uint64_t head;
    uint32_t g1;
    call c = {0};
    fx f;
    (void)state;
    cfg.thp = GPUSIM_THP_ALWAYS;
    fx_start(&f, &cfg);
    a = proc(&f, "a", false);
    assert_int_equal(do_mmap(&f, a, base, 2 * MIB, ANON | GPUSIM_MAP_FIXED, NULL), base);
    ASSERT_OK(do_access(&f, a, base, 2 * MIB, GPUSIM_ACCESS_WRITE, NULL));
    assert_true(pte_at(a, base).huge);
    head = pte_at(a, base).pfn;
    ASSERT_OK(gpusim_process_munmap(a, base, 2 * MIB, call_cb, &c));
    ASSERT_OK(finish(&f, &c));
    ASSERT_OK(gpusim_host_frame_info(f.h, head + 5, &fi));
    g1 = fi.gen;
    assert_true(g1 >= 1);
    /* The same block becomes a 2 MiB frame again. */
    assert_int_equal(do_mmap(&f, a, base, 2 * MIB, ANON | GPUSIM_MAP_FIXED, NULL), base);
    ASSERT_OK(do_access(&f, a, base, 2 * MIB, GPUSIM_ACCESS_WRITE, NULL));
    assert_int_equal(pte_at(a, base).pfn, head);
    ASSERT_OK(gpusim_host_frame_info(f.h, head + 5, &fi));
    assert_int_equal(fi.state, GPUSIM_FRAME_TAIL);
    assert_true(fi.gen >= g1);
    fx_free(&f);
}

/*
 * MADV_FREE'd pages are reclaimable without swap: Linux moves them to the file LRU
 * (lru_lazyfree_fn) and counts them in should_reclaim_retry. A few pinned file pages must not make
 * reclaim look only at the file side and call the OOM killer while 4000 of them could go.
 */
static void test_lazyfree_without_swap(void **state)
{
    gpusim_host_config_t cfg = host_cfg(32 * MIB, 0);
    static uint64_t pfns[64];
    gpusim_process_t *a, *x;
    gpusim_file_t *file;
    uint64_t vf, va, vx, n;
    call pc = {0};
    fx f;
    (void)state;
    fx_start(&f, &cfg);
    a = proc(&f, "a", false);
    x = proc(&f, "x", true);
    ASSERT_OK(gpusim_host_file_new(f.h, 64 * PAGE, &file));
    vf = do_mmap(&f, a, 0, 64 * PAGE, GPUSIM_MAP_SHARED, file);
    ASSERT_OK(gpusim_process_pin(a, vf, 64, 0, pfns, call_cb, &pc));
    ASSERT_OK(finish(&f, &pc));
    va = populate(&f, a, 4000);
    ASSERT_OK(do_madvise(&f, a, va, 4000 * PAGE, GPUSIM_MADV_FREE));
    check(&f);
    n = free_pages(&f) + 1000;
    vx = do_mmap(&f, x, 0, n * PAGE, ANON, NULL);
    ASSERT_OK(do_access(&f, x, vx, n * PAGE, GPUSIM_ACCESS_WRITE, NULL));
    assert_int_equal(stat_count(&f, "host.oom.kills"), 0);
    assert_true(stat_count(&f, "host.reclaim.reclaimed") >= 1000);
    ASSERT_OK(gpusim_process_unpin(a, pfns, 64, false, NULL));
    fx_free(&f);
}

/* The process of a madvise exits while the call waits for a mirror: the call ends with ESRCH
 * (host.h: an operation of a dead process ends with GPUSIM_ESRCH), not with the ENOMEM of a range
 * whose VMAs have gone. */
static void madvise_process_exits(gpusim_madvise_t advice)
{
    gpusim_host_config_t cfg = host_cfg(16 * MIB, 16 * MIB);
    gpusim_process_t *a;
    uint64_t va;
    call c = {0}, ce = {0};
    mirror *m;
    fx f;
    fx_start(&f, &cfg);
    a = proc(&f, "a", false);
    va = populate(&f, a, 8);
    m = mirror_new(f.w, a, 0, GPUSIM_HOST_VA_END, 0);
    m->wait_kinds = 1u << GPUSIM_INVALIDATOR_SYSCALL;
    m->waits_left = 1;
    m->wait_ns = MS;
    ASSERT_OK(gpusim_process_madvise(a, va, 8 * PAGE, advice, call_cb, &c));
    while (m->waits_left)
        assert_true(gpusim_world_run_events(f.w, 1) == 1);
    ASSERT_OK(gpusim_process_exit(a, call_cb, &ce));
    ASSERT_OK(gpusim_world_run(f.w));
    check(&f);
    assert_int_equal(ce.done, 1);
    assert_int_equal(c.done, 1);
    assert_int_equal(c.status, GPUSIM_ESRCH);
    fx_free(&f);
}

/* MADV_PAGEOUT (reclaim.c's pageout walk). */
static void test_pageout_process_exits(void **state)
{
    (void)state;
    madvise_process_exits(GPUSIM_MADV_PAGEOUT);
}

/* MADV_DONTNEED (mm.c's range operations). */
static void test_dontneed_process_exits(void **state)
{
    (void)state;
    madvise_process_exits(GPUSIM_MADV_DONTNEED);
}

/* Freeing the world while a MADV_PAGEOUT waits inside its announcement frees everything. */
static void test_world_freed_pageout_blocked(void **state)
{
    gpusim_host_config_t cfg = host_cfg(16 * MIB, 16 * MIB);
    gpusim_process_t *a;
    uint64_t va;
    call c = {0};
    mirror *m;
    fx f;
    (void)state;
    fx_start(&f, &cfg);
    a = proc(&f, "a", false);
    va = populate(&f, a, 8);
    m = mirror_new(f.w, a, 0, GPUSIM_HOST_VA_END, 0);
    m->wait_kinds = 1u << GPUSIM_INVALIDATOR_SYSCALL;
    m->waits_left = 1;
    m->wait_ns = 1000 * GPUSIM_NS_PER_S;
    ASSERT_OK(gpusim_process_madvise(a, va, 8 * PAGE, GPUSIM_MADV_PAGEOUT, call_cb, &c));
    ASSERT_OK(gpusim_world_run_until(f.w, gpusim_world_now(f.w) + GPUSIM_NS_PER_S));
    assert_int_equal(m->waits_left, 0);
    assert_int_equal(c.done, 0);
    check(&f);
    fx_free(&f);
}

/*
 * kswapd's anon/file balance must not outlive one side. Phase 1: anonymous pressure with
 * swappiness 195 and a little page cache, so kswapd weighs anon far above file. Then the anonymous
 * memory goes (exit), and c streams a file 1.5 times the size of RAM: only file pages are left on
 * the LRU. Each clean page costs kswapd reclaim_scan_4k + reclaim_free_4k (1.8 us) against the
 * reader's file_read_4k (80 us), so kswapd keeps up and the reader never enters direct reclaim --
 * unless kswapd picks the empty anon side, ends batches having scanned nothing and gives up
 * (kswapd_failures).
 */
static void test_kswapd_one_side_left(void **state)
{
    gpusim_host_config_t cfg = host_cfg(32 * MIB, 64 * MIB);
    const uint64_t nfile = 12000;
    gpusim_process_t *a, *b, *c;
    gpusim_file_t *file;
    uint64_t vf, d0;
    fx f;
    (void)state;
    ASSERT_OK(gpusim_host_config_set(&cfg, "swappiness", "195", false, NULL, 0));
    fx_start(&f, &cfg);
    a = proc(&f, "a", false);
    b = proc(&f, "b", false);
    c = proc(&f, "c", false);
    ASSERT_OK(gpusim_host_file_new(f.h, nfile * PAGE, &file));
    vf = do_mmap(&f, c, 0, nfile * PAGE, GPUSIM_MAP_SHARED, file);
    ASSERT_OK(do_access(&f, c, vf, 200 * PAGE, GPUSIM_ACCESS_READ, NULL));
    populate(&f, a, 6000);
    populate(&f, b, free_pages(&f) - f.h->nodes[0].wmark_min + 300);
    assert_true(stat_count(&f, "host.swap.out") > 0);
    ASSERT_OK(gpusim_process_exit(a, NULL, NULL));
    ASSERT_OK(gpusim_process_exit(b, NULL, NULL));
    ASSERT_OK(gpusim_world_run(f.w));
    d0 = stat_count(&f, "host.direct_reclaim.count");
    ASSERT_OK(do_access(&f, c, vf, nfile * PAGE, GPUSIM_ACCESS_READ, NULL));
    assert_true(file->cached < nfile); /* reclaim did run */
    assert_int_equal(stat_count(&f, "host.direct_reclaim.count"), d0);
    fx_free(&f);
}

/* Host creation fails cleanly at every allocation (reclaim_destroy on a partial init). */
static void test_init_failures(void **state)
{
    gpusim_host_config_t cfg = host_cfg(8 * MIB, 8 * MIB);
    (void)state;
    for (long n = 1;; n++) {
        gpusim_world_t *w = test_world(1);
        gpusim_host_t *h = NULL;
        int rc;
        gpusim__alloc_fail_nth(n);
        rc = gpusim_host_new(w, &cfg, &h);
        gpusim__alloc_fail_nth(0);
        if (rc == 0) {
            ASSERT_OK(gpusim_host_free(h));
            gpusim_world_free(w);
            ASSERT_NO_LEAK();
            break;
        }
        assert_int_equal(rc, GPUSIM_ENOMEM);
        gpusim_world_free(w);
        ASSERT_NO_LEAK();
        assert_true(n < 1000);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        GPUSIM_TEST(test_cold_pages_first),
        GPUSIM_TEST(test_mirror_aging),
        GPUSIM_TEST(test_aging),
        GPUSIM_TEST(test_deactivation_clears_accessed),
        GPUSIM_TEST(test_pinned_never_reclaimed),
        GPUSIM_TEST(test_swap_roundtrip_data),
        GPUSIM_TEST(test_shared_page_swap_data),
        GPUSIM_TEST(test_shared_page_one_slot),
        GPUSIM_TEST(test_kswapd_low_high),
        GPUSIM_TEST(test_kswapd_blocked_by_mirror),
        GPUSIM_TEST(test_direct_reclaim_stall),
        GPUSIM_TEST(test_direct_reclaim_process_exits),
        GPUSIM_TEST(test_pageout_announcements),
        GPUSIM_TEST(test_reclaim_splits_thp),
        GPUSIM_TEST(test_lazyfree_discarded),
        GPUSIM_TEST(test_shmem_pages),
        GPUSIM_TEST(test_file_pages),
        GPUSIM_TEST(test_swappiness),
        GPUSIM_TEST(test_world_freed_while_blocked),
        GPUSIM_TEST(test_init_failures),
        GPUSIM_TEST(test_gen_never_goes_back),
        GPUSIM_TEST(test_lazyfree_without_swap),
        GPUSIM_TEST(test_pageout_process_exits),
        GPUSIM_TEST(test_dontneed_process_exits),
        GPUSIM_TEST(test_world_freed_pageout_blocked),
        GPUSIM_TEST(test_kswapd_one_side_left),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
