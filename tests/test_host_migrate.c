/*
 * tests/test_host_migrate.c -- page migration, compaction and khugepaged of the simulated host
 * (src/host/migrate.c): what moves, what is announced, what refuses to move, and that contents
 * survive.
 */
#include "test_util.h"
#include "host_util.h"

#include <stdio.h>
#include <stdlib.h>

#include "host/host.h"

#define MIB  GPUSIM_MIB
#define PAGE GPUSIM_HOST_PAGE_SIZE
#define HUGE GPUSIM_HOST_HUGE_SIZE
#define RW   (GPUSIM_PROT_READ | GPUSIM_PROT_WRITE)
#define FIX  (GPUSIM_MAP_PRIVATE | GPUSIM_MAP_FIXED)
#define SEC  UINT64_C(1000000000)

#define A_ADDR UINT64_C(0x10000000)
#define H_ADDR UINT64_C(0x40000000) /* 2 MiB aligned */

/* ---- fixture -------------------------------------------------------------------------------- */

typedef struct seen {
    uint64_t start, end;
    gpusim_notifier_event_t event;
    gpusim_invalidator_t kind;
    bool blockable;
    const void *owner;
    gpusim_time_t at;
} seen;

#define LOG_MAX 4096

typedef struct fx {
    gpusim_world_t *w;
    gpusim_host_t *h;
    gpusim_process_t *p;
    gpusim_notifier_sub_t *sub;
    seen *log;
    int nlog;
    gpusim_completion_t fence;
    bool block;
    int block_only; /* with block: only this invalidator kind waits (-1: any) */
    /* Called once, at the first MIGRATE announcement, then cleared. */
    void (*on_migrate)(struct fx *f, const gpusim_notifier_range_t *r);
} fx;

static gpusim_notifier_answer_t record(gpusim_notifier_sub_t *sub, const gpusim_notifier_range_t *r,
                                       uint64_t cur_seq, gpusim_completion_t **wait_on)
{
    fx *f = gpusim_notifier_sub_data(sub);
    gpusim_notifier_set_seq(sub, cur_seq);
    if (f->nlog < LOG_MAX)
        f->log[f->nlog++] = (seen){r->start,
                                   r->end,
                                   r->event,
                                   r->invalidator,
                                   r->blockable,
                                   r->owner,
                                   gpusim_world_now(f->w)};
    if (f->on_migrate && r->event == GPUSIM_NOTIFY_MIGRATE) {
        void (*hook)(fx *, const gpusim_notifier_range_t *) = f->on_migrate;
        f->on_migrate = NULL;
        hook(f, r);
    }
    if (f->block && r->blockable && !gpusim_completion_done(&f->fence) &&
        (f->block_only < 0 || (int)r->invalidator == f->block_only)) {
        *wait_on = &f->fence;
        return GPUSIM_NOTIFIER_WAIT;
    }
    return GPUSIM_NOTIFIER_DONE;
}

static void check(fx *f)
{
    host_check_ok(f->h);
}

static void base_cfg(gpusim_host_config_t *cfg, bool data_mode, gpusim_thp_mode_t thp,
                     bool khugepaged)
{
    gpusim_host_config_init(cfg);
    cfg->ram_bytes = 32 * MIB;
    cfg->swap_bytes = 16 * MIB;
    cfg->data_mode = data_mode;
    cfg->thp = thp;
    cfg->khugepaged = khugepaged;
}

static fx *fx_new_cfg(const gpusim_host_config_t *cfg)
{
    static fx f;
    static seen log[LOG_MAX];
    gpusim_process_config_t pc;
    memset(&f, 0, sizeof f);
    f.log = log;
    f.block_only = -1;
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

static void do_mmap_at(fx *f, uint64_t addr, uint64_t len)
{
    call c = {.w = f->w};
    ASSERT_OK(gpusim_process_mmap(f->p, addr, len, RW, FIX, NULL, 0, call_cb, &c));
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

static int do_compact(fx *f, uint64_t *moved)
{
    call c = {.w = f->w};
    ASSERT_OK(gpusim_host_compact(f->h, 0, call_cb, &c));
    int rc = finish(f, &c);
    *moved = c.result;
    return rc;
}

static int do_pin(fx *f, uint64_t addr, uint64_t n, uint64_t *pfns)
{
    call c = {.w = f->w};
    ASSERT_OK(gpusim_process_pin(f->p, addr, n, GPUSIM_PIN_WRITE, pfns, call_cb, &c));
    return finish(f, &c);
}

static gpusim_host_pte_t pte_at(fx *f, uint64_t va)
{
    gpusim_host_pte_t e;
    ASSERT_OK(gpusim_process_translate(f->p, va, &e));
    return e;
}

/* Wholly free pageblocks of node 0 (the only source of 2 MiB frames). */
static uint64_t free_blocks(fx *f)
{
    const hnode *nd = &f->h->nodes[0];
    return nd->freeblocks[0].count + nd->freeblocks[1].count;
}

/* Contents of page i of the fragmented region: a pattern of its index. */
static void pattern(uint8_t *buf, uint64_t i)
{
    for (unsigned j = 0; j < PAGE; j++)
        buf[j] = (uint8_t)(i * 13 + j * 5 + 1);
}

/* Fills `pages` pages at A_ADDR (4 KiB faults), then unmaps 3 pages of every 4: blocks are left
 * a quarter used. Returns the number of blocks that were wholly free before the unmaps. */
#define FRAG_PAGES 1536
static void fragment(fx *f)
{
    uint8_t *buf = malloc(FRAG_PAGES * PAGE);
    for (uint64_t i = 0; i < FRAG_PAGES; i++)
        pattern(buf + i * PAGE, i);
    do_mmap_at(f, A_ADDR, FRAG_PAGES * PAGE);
    ASSERT_OK(
        do_access(f, A_ADDR, FRAG_PAGES * PAGE, GPUSIM_ACCESS_WRITE, f->h->data ? buf : NULL));
    for (uint64_t i = 0; i < FRAG_PAGES; i += 4)
        ASSERT_OK(do_munmap(f, A_ADDR + (i + 1) * PAGE, 3 * PAGE));
    free(buf);
}

/* Every kept page still holds its pattern. */
static void check_fragment_data(fx *f)
{
    uint8_t want[PAGE], got[PAGE];
    for (uint64_t i = 0; i < FRAG_PAGES; i += 4) {
        pattern(want, i);
        ASSERT_OK(do_access(f, A_ADDR + i * PAGE, PAGE, GPUSIM_ACCESS_READ, got));
        assert_memory_equal(got, want, PAGE);
    }
}

/* ---- migration entries ---------------------------------------------------------------------- */

/* What the hooks below start while a page is being migrated, and what came back. */
static struct mig_probe {
    uint64_t va;          /* the page being migrated */
    gpusim_time_t t;      /* when its MIGRATE was announced */
    uint64_t old_pfn;     /* its frame then */
    call wr, snap, flt;   /* a CPU write, an HMM snapshot, an HMM fault */
    call pin;             /* a pin */
    uint64_t snap_pfn[1]; /* the snapshot's output */
    uint64_t flt_pfn[1];  /* the fault's output */
    uint64_t pin_pfn[1];  /* the pin's output */
    uint8_t buf[PAGE];    /* what the CPU writes */
} probe;

static void probe_begin(fx *f, const gpusim_notifier_range_t *r)
{
    memset(&probe, 0, sizeof probe);
    probe.va = r->start;
    probe.t = gpusim_world_now(f->w);
    probe.old_pfn = pte_at(f, r->start).pfn;
    probe.wr.w = probe.snap.w = probe.flt.w = probe.pin.w = f->w;
}

/* Starts, inside the announcement, a CPU write and two HMM calls on the page. They run at the same
 * instant, after the announcement returned: in the copy window. */
static void hook_access(fx *f, const gpusim_notifier_range_t *r)
{
    probe_begin(f, r);
    memset(probe.buf, 0xA5, PAGE);
    ASSERT_OK(gpusim_process_access(f->p, r->start, PAGE, GPUSIM_ACCESS_WRITE, probe.buf, call_cb,
                                    &probe.wr));
    ASSERT_OK(gpusim_process_range_fault(f->p, NULL, 0, r->start, 1, 0, 0, probe.snap_pfn, call_cb,
                                         &probe.snap));
    ASSERT_OK(gpusim_process_range_fault(f->p, NULL, 0, r->start, 1, GPUSIM_HMM_REQ_FAULT, 0,
                                         probe.flt_pfn, call_cb, &probe.flt));
}

/* A page in its migration's copy window reads as a migration entry: a CPU write waits until the
 * move is over and lands in the new frame; an HMM snapshot sees no page; an HMM fault waits and
 * returns the new frame. */
static void test_migration_entry_access(void **state)
{
    gpusim_host_config_t cfg;
    fx *f;
    uint64_t moved, new_pfn;
    uint8_t got[PAGE];
    (void)state;
    base_cfg(&cfg, true, GPUSIM_THP_NEVER, false);
    f = fx_new_cfg(&cfg);
    fragment(f);
    f->on_migrate = hook_access;
    ASSERT_OK(do_compact(f, &moved));
    assert_true(moved > 0);
    assert_int_equal(probe.wr.done, 1);
    assert_int_equal(probe.snap.done, 1);
    assert_int_equal(probe.flt.done, 1);
    ASSERT_OK(probe.wr.status);
    ASSERT_OK(probe.snap.status);
    ASSERT_OK(probe.flt.status);
    new_pfn = pte_at(f, probe.va).pfn;
    assert_int_not_equal(new_pfn, probe.old_pfn);
    /* The write and the fault waited for the copy; the snapshot did not. */
    assert_true(probe.wr.at >= probe.t + param(f, "migrate_4k"));
    assert_true(probe.flt.at >= probe.t + param(f, "migrate_4k"));
    assert_true(probe.snap.at < probe.t + param(f, "migrate_4k"));
    assert_int_equal(probe.snap_pfn[0], 0);
    assert_int_equal(probe.flt_pfn[0] >> GPUSIM_HMM_PFN_SHIFT, new_pfn);
    assert_true(probe.flt_pfn[0] & GPUSIM_HMM_PFN_VALID);
    assert_int_equal(stat_count(f, "host.migrate.waits"), 2);
    ASSERT_OK(do_access(f, probe.va, PAGE, GPUSIM_ACCESS_READ, got));
    assert_memory_equal(got, probe.buf, PAGE);
    fx_free(f);
}

static void hook_pin(fx *f, const gpusim_notifier_range_t *r)
{
    probe_begin(f, r);
    ASSERT_OK(gpusim_process_pin(f->p, r->start, 1, GPUSIM_PIN_WRITE, probe.pin_pfn, call_cb,
                                 &probe.pin));
}

/* A pin that reaches a page in its copy window waits for the move and pins the new frame; the
 * migration is not failed by it (Linux: GUP faults on the migration entry and waits). */
static void test_migration_entry_pin(void **state)
{
    gpusim_host_config_t cfg;
    fx *f;
    uint64_t moved, new_pfn;
    (void)state;
    base_cfg(&cfg, false, GPUSIM_THP_NEVER, false);
    f = fx_new_cfg(&cfg);
    fragment(f);
    f->on_migrate = hook_pin;
    ASSERT_OK(do_compact(f, &moved));
    assert_true(moved > 0);
    assert_int_equal(probe.pin.done, 1);
    ASSERT_OK(probe.pin.status);
    new_pfn = pte_at(f, probe.va).pfn;
    assert_int_not_equal(new_pfn, probe.old_pfn);
    assert_int_equal(probe.pin_pfn[0], new_pfn);
    assert_true(probe.pin.at >= probe.t + param(f, "migrate_4k"));
    assert_int_equal(f->h->frames[new_pfn].pincount, 1);
    assert_int_equal(stat_count(f, "host.migrate.failed_pinned"), 0);
    assert_int_equal(stat_count(f, "host.migrate.waits"), 1);
    ASSERT_OK(gpusim_process_unpin(f->p, probe.pin_pfn, 1, false, NULL));
    check(f);
    fx_free(f);
}

/* A page whose last mapping is unmapped during its copy window is freed; the migration gives up
 * (nothing moved for it) and whoever waited on it wakes up. */
static void hook_munmap(fx *f, const gpusim_notifier_range_t *r)
{
    probe_begin(f, r);
    ASSERT_OK(gpusim_process_munmap(f->p, r->start, PAGE, call_cb, &probe.wr));
}

static void test_migration_entry_munmap(void **state)
{
    gpusim_host_config_t cfg;
    fx *f;
    uint64_t moved;
    gpusim_host_pte_t e;
    (void)state;
    base_cfg(&cfg, false, GPUSIM_THP_NEVER, false);
    f = fx_new_cfg(&cfg);
    fragment(f);
    f->on_migrate = hook_munmap;
    ASSERT_OK(do_compact(f, &moved));
    assert_int_equal(probe.wr.done, 1);
    ASSERT_OK(probe.wr.status);
    ASSERT_OK(gpusim_process_translate(f->p, probe.va, &e));
    assert_false(e.present);
    check(f);
    fx_free(f);
}

static void hook_longterm_pin(fx *f, const gpusim_notifier_range_t *r)
{
    probe_begin(f, r);
    ASSERT_OK(gpusim_process_pin(f->p, r->start, 1, GPUSIM_PIN_WRITE | GPUSIM_PIN_LONGTERM,
                                 probe.pin_pfn, call_cb, &probe.pin));
}

/*
 * A long-term pin that meets a frame compaction is migrating (its MIGRATE held by a mirror) does
 * not migrate it at the same time: it waits for compaction's move to end, then moves the new frame
 * out of ZONE_MOVABLE itself. Exactly two MIGRATE announcements cover the page: compaction's and
 * the pin's (two migrations at once used to announce a third and race for the frame).
 */
static void test_migration_one_at_a_time(void **state)
{
    gpusim_host_config_t cfg;
    fx *f;
    call c = {0};
    int migrates = 0;
    (void)state;
    base_cfg(&cfg, false, GPUSIM_THP_NEVER, false);
    cfg.movable_bytes = 16 * MIB;
    f = fx_new_cfg(&cfg);
    c.w = f->w;
    fragment(f);
    f->on_migrate = hook_longterm_pin;
    f->block = true;
    f->nlog = 0;
    ASSERT_OK(gpusim_completion_signal_at(f->w, &f->fence, gpusim_world_now(f->w) + SEC / 1000));
    ASSERT_OK(gpusim_host_compact(f->h, 0, call_cb, &c));
    ASSERT_OK(finish(f, &c));
    assert_int_equal(probe.pin.done, 1);
    ASSERT_OK(probe.pin.status);
    assert_false(gpusim__frame_movable(f->h, (uint32_t)probe.pin_pfn[0]));
    assert_int_equal(probe.pin_pfn[0], pte_at(f, probe.va).pfn);
    for (int i = 0; i < f->nlog; i++)
        migrates += f->log[i].event == GPUSIM_NOTIFY_MIGRATE && f->log[i].start == probe.va;
    assert_int_equal(migrates, 2);
    ASSERT_OK(gpusim_process_unpin(f->p, probe.pin_pfn, 1, false, NULL));
    check(f);
    fx_free(f);
}

/* ---- compaction ----------------------------------------------------------------------------- */

/* Compaction empties partly used blocks into others, announcing MIGRATE page by page. */
static void test_compact_makes_free_blocks(void **state)
{
    gpusim_host_config_t cfg;
    fx *f;
    uint64_t before, moved, old[FRAG_PAGES / 4];
    gpusim_host_meminfo_t mi0, mi1;
    int changed = 0;
    (void)state;
    base_cfg(&cfg, true, GPUSIM_THP_NEVER, false);
    f = fx_new_cfg(&cfg);
    fragment(f);
    before = free_blocks(f);
    for (uint64_t i = 0; i < FRAG_PAGES; i += 4)
        old[i / 4] = pte_at(f, A_ADDR + i * PAGE).pfn;
    ASSERT_OK(gpusim_host_meminfo(f->h, &mi0));
    f->nlog = 0;
    ASSERT_OK(do_compact(f, &moved));
    assert_true(moved > 0);
    assert_true(free_blocks(f) >= before + 2);
    assert_int_equal(stat_count(f, "host.migrate.success"), moved);
    assert_int_equal(stat_count(f, "host.migrate.failed_pinned"), 0);
    ASSERT_OK(gpusim_host_meminfo(f->h, &mi1));
    assert_int_equal(mi1.free, mi0.free); /* moved, not freed or leaked */
    assert_int_equal(mi1.anon, mi0.anon);
    /* One MIGRATE per moved page, over exactly that page, from compaction, blockable. */
    assert_int_equal((uint64_t)f->nlog, moved);
    for (int k = 0; k < f->nlog; k++) {
        assert_int_equal(f->log[k].end - f->log[k].start, PAGE);
        assert_int_equal((f->log[k].start - A_ADDR) / PAGE % 4, 0);
        assert_int_equal(f->log[k].event, GPUSIM_NOTIFY_MIGRATE);
        assert_int_equal(f->log[k].kind, GPUSIM_INVALIDATOR_COMPACTION);
        assert_true(f->log[k].blockable);
        assert_null(f->log[k].owner);
    }
    for (uint64_t i = 0; i < FRAG_PAGES; i += 4) {
        gpusim_host_pte_t e = pte_at(f, A_ADDR + i * PAGE);
        assert_true(e.present && e.writable);
        changed += e.pfn != old[i / 4];
    }
    assert_int_equal((uint64_t)changed, moved);
    check_fragment_data(f);
    /* Nothing is left to do: a second run moves nothing. */
    f->nlog = 0;
    ASSERT_OK(do_compact(f, &moved));
    assert_int_equal(moved, 0);
    assert_int_equal(f->nlog, 0);
    fx_free(f);
}

/* Two partly used blocks, equally used, and nothing else partly used: the first is emptied into
 * the second (never into itself), and then nothing more can be done. */
static void test_compact_two_blocks(void **state)
{
    gpusim_host_config_t cfg;
    fx *f;
    uint64_t before, moved, n = 0, zblock;
    static uint64_t old[FRAG_PAGES];
    (void)state;
    base_cfg(&cfg, false, GPUSIM_THP_NEVER, false);
    f = fx_new_cfg(&cfg);
    do_mmap_at(f, A_ADDR, FRAG_PAGES * PAGE);
    ASSERT_OK(do_access(f, A_ADDR, FRAG_PAGES * PAGE, GPUSIM_ACCESS_WRITE, NULL));
    /* Keep everything in the zero page's block (it stays full); in the others, keep one page of
     * four where the block holds at least 256 of ours, else none. */
    zblock = 0;
    for (uint64_t i = 0; i < FRAG_PAGES; i++)
        old[i] = pte_at(f, A_ADDR + i * PAGE).pfn;
    for (uint64_t b = 1; b < f->h->nblocks; b++) {
        uint64_t cnt = 0, k = 0;
        for (uint64_t i = 0; i < FRAG_PAGES; i++)
            cnt += old[i] / 512 == b;
        for (uint64_t i = 0; i < FRAG_PAGES; i++) {
            if (old[i] / 512 != b)
                continue;
            if (cnt < 256 || k++ % 4 != 0) {
                ASSERT_OK(do_munmap(f, A_ADDR + i * PAGE, PAGE));
                old[i] = 0;
            } else {
                n++;
            }
        }
    }
    assert_int_equal(f->h->blocks[zblock].nfree, 0);
    assert_int_equal(n, 256);
    assert_int_equal(f->h->nodes[0].partial[0].count, 2);
    before = free_blocks(f);
    f->nlog = 0;
    ASSERT_OK(do_compact(f, &moved));
    assert_int_equal(moved, 128);
    assert_int_equal(free_blocks(f), before + 1);
    for (uint64_t i = 0; i < FRAG_PAGES; i++) {
        uint64_t now;
        if (!old[i] || old[i] / 512 == zblock)
            continue;
        now = pte_at(f, A_ADDR + i * PAGE).pfn;
        if (now != old[i])
            assert_int_not_equal(now / 512, old[i] / 512);
    }
    fx_free(f);
}

/* Cost: the op takes migrate_4k per page plus one dispatch per announcement. */
static void test_compact_cost(void **state)
{
    gpusim_host_config_t cfg;
    fx *f;
    uint64_t moved;
    call c = {0};
    gpusim_time_t t0;
    (void)state;
    base_cfg(&cfg, false, GPUSIM_THP_NEVER, false);
    f = fx_new_cfg(&cfg);
    c.w = f->w;
    fragment(f);
    t0 = gpusim_world_now(f->w);
    ASSERT_OK(gpusim_host_compact(f->h, 0, call_cb, &c));
    ASSERT_OK(finish(f, &c));
    moved = c.result;
    assert_true(moved > 0);
    assert_int_equal(c.at - t0, moved * (param(f, "migrate_4k") + param(f, "notifier_dispatch")));
    fx_free(f);
}

/* Pinned pages make their blocks fail (counted); after unpinning, the same blocks are emptied. */
static void test_compact_pinned(void **state)
{
    gpusim_host_config_t cfg;
    fx *f;
    uint64_t before, moved, pins[8], npins = 0, last_block = UINT64_MAX;
    (void)state;
    base_cfg(&cfg, false, GPUSIM_THP_NEVER, false);
    f = fx_new_cfg(&cfg);
    fragment(f);
    /* One pin in every block that holds pages of the region: on its highest frame, so that a
     * compaction that did not check the whole block first would move the others before failing. */
    for (uint64_t i = FRAG_PAGES; i-- > 0;) {
        uint64_t pfn;
        if (i % 4)
            continue;
        pfn = pte_at(f, A_ADDR + i * PAGE).pfn;
        if (pfn / 512 != last_block) {
            assert_true(npins < 8);
            ASSERT_OK(do_pin(f, A_ADDR + i * PAGE, 1, &pins[npins]));
            npins++;
            last_block = pfn / 512;
        }
    }
    assert_true(npins >= 3);
    before = free_blocks(f);
    f->nlog = 0;
    ASSERT_OK(do_compact(f, &moved));
    assert_int_equal(moved, 0);
    assert_int_equal(f->nlog, 0);
    assert_true(stat_count(f, "host.migrate.failed_pinned") >= 1);
    assert_int_equal(free_blocks(f), before);
    for (uint64_t k = 0; k < npins; k++)
        assert_int_equal(f->h->frames[pins[k]].pincount, 1); /* pinned pages did not move */
    ASSERT_OK(gpusim_process_unpin(f->p, pins, npins, false, NULL));
    ASSERT_OK(do_compact(f, &moved));
    assert_true(moved > 0);
    assert_true(free_blocks(f) >= before + 2);
    fx_free(f);
}

/* A mirror that makes a migration wait blocks compaction (recorded as its blocked time). */
static void test_compact_blocked(void **state)
{
    gpusim_host_config_t cfg;
    fx *f;
    uint64_t moved;
    call c = {0};
    gpusim_stat_info_t si;
    gpusim_time_t t0;
    (void)state;
    base_cfg(&cfg, true, GPUSIM_THP_NEVER, false);
    f = fx_new_cfg(&cfg);
    c.w = f->w;
    fragment(f);
    f->block = true;
    t0 = gpusim_world_now(f->w);
    ASSERT_OK(gpusim_completion_signal_at(f->w, &f->fence, t0 + 5000000));
    ASSERT_OK(gpusim_host_compact(f->h, 0, call_cb, &c));
    ASSERT_OK(finish(f, &c));
    moved = c.result;
    assert_true(moved > 0);
    assert_true(c.at >= t0 + 5000000);
    ASSERT_OK(gpusim_stats_get(f->w, "notifier.blocked_ns.compaction", &si));
    assert_int_equal(si.count, moved); /* one sample per announcement */
    assert_int_equal(si.max, 5000000); /* the first one waited for the fence */
    assert_int_equal(si.sum, 5000000);
    check_fragment_data(f);
    fx_free(f);
}

/* A world freed while compaction waits for a mirror frees everything (no leak). */
static void test_compact_teardown(void **state)
{
    gpusim_host_config_t cfg;
    fx *f;
    call c = {0};
    (void)state;
    base_cfg(&cfg, true, GPUSIM_THP_NEVER, false);
    f = fx_new_cfg(&cfg);
    c.w = f->w;
    fragment(f);
    f->block = true; /* the fence is never signalled */
    ASSERT_OK(gpusim_host_compact(f->h, 0, call_cb, &c));
    ASSERT_OK(gpusim_world_run(f->w));
    assert_int_equal(c.done, 0);
    assert_int_equal(gpusim_host_free(f->h), GPUSIM_EBUSY);
    fx_free(f);
}

static void test_compact_bad_arguments(void **state)
{
    gpusim_host_config_t cfg;
    fx *f;
    call c = {0};
    (void)state;
    base_cfg(&cfg, false, GPUSIM_THP_NEVER, false);
    f = fx_new_cfg(&cfg);
    ASSERT_ERR(gpusim_host_compact(NULL, 0, call_cb, &c), GPUSIM_EINVAL);
    ASSERT_ERR(gpusim_host_compact(f->h, 1, call_cb, &c), GPUSIM_EINVAL);
    fx_free(f);
}

/* ---- khugepaged ----------------------------------------------------------------------------- */

/* Pages faulted 4 KiB at a time in what becomes a MADV_HUGEPAGE region are collapsed into one
 * 2 MiB page (CLEAR over exactly the 2 MiB, from khugepaged), with their contents; khugepaged then
 * stops, so the world's run ends. */
static void test_khugepaged_collapse(void **state)
{
    gpusim_host_config_t cfg;
    fx *f;
    uint8_t buf[10 * PAGE], got[10 * PAGE], zero[PAGE];
    gpusim_host_meminfo_t mi0, mi1;
    gpusim_host_pte_t e;
    gpusim_time_t t0;
    (void)state;
    base_cfg(&cfg, true, GPUSIM_THP_MADVISE, true);
    f = fx_new_cfg(&cfg);
    for (unsigned i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)(i * 3 + 11);
    do_mmap_at(f, H_ADDR, 2 * HUGE);
    ASSERT_OK(do_access(f, H_ADDR, sizeof buf, GPUSIM_ACCESS_WRITE, buf));
    assert_false(pte_at(f, H_ADDR).huge);
    ASSERT_OK(gpusim_host_meminfo(f->h, &mi0));
    f->nlog = 0;
    t0 = gpusim_world_now(f->w);
    /* The advice registers the process; khugepaged runs until it has nothing to do, then stops
     * scheduling itself: nothing is left in the queue long before 100 s. */
    {
        call c = {.w = f->w};
        ASSERT_OK(
            gpusim_process_madvise(f->p, H_ADDR, 2 * HUGE, GPUSIM_MADV_HUGEPAGE, call_cb, &c));
        ASSERT_OK(gpusim_world_run_until(f->w, t0 + 100 * SEC));
        assert_int_equal(c.done, 1);
        assert_int_equal(gpusim_world_pending(f->w), 0);
        check(f);
    }
    e = pte_at(f, H_ADDR + 3 * PAGE);
    assert_true(e.present && e.huge && e.writable);
    assert_false(pte_at(f, H_ADDR + HUGE).present); /* the empty range is not collapsed */
    assert_int_equal(stat_count(f, "host.thp.collapse"), 1);
    assert_int_equal(stat_count(f, "host.thp.collapse_failed"), 0);
    assert_int_equal(f->nlog, 1);
    assert_int_equal(f->log[0].start, H_ADDR);
    assert_int_equal(f->log[0].end, H_ADDR + HUGE);
    assert_int_equal(f->log[0].event, GPUSIM_NOTIFY_CLEAR);
    assert_int_equal(f->log[0].kind, GPUSIM_INVALIDATOR_KHUGEPAGED);
    assert_true(f->log[0].blockable);
    /* It woke after one sleep and collapsed at once (then slept again, found nothing, stopped). */
    assert_int_equal(f->log[0].at, t0 + param(f, "khugepaged_sleep"));
    ASSERT_OK(gpusim_host_meminfo(f->h, &mi1));
    assert_int_equal(mi1.thp, HUGE);
    assert_int_equal(mi0.free - mi1.free, HUGE - 10 * PAGE);
    ASSERT_OK(do_access(f, H_ADDR, sizeof got, GPUSIM_ACCESS_READ, got));
    assert_memory_equal(got, buf, sizeof buf);
    memset(zero, 0, sizeof zero);
    ASSERT_OK(do_access(f, H_ADDR + 100 * PAGE, PAGE, GPUSIM_ACCESS_READ, got));
    assert_memory_equal(got, zero, PAGE);
    /* A later enter starts it again. */
    f->nlog = 0;
    ASSERT_OK(do_madvise(f, H_ADDR + HUGE, HUGE, GPUSIM_MADV_HUGEPAGE));
    assert_true(stat_count(f, "host.thp.collapse") == 1);
    fx_free(f);
}

/* What khugepaged must not collapse: pinned pages, too many empty entries, a region without the
 * advice; and with khugepaged off, nothing. */
static void test_khugepaged_skips(void **state)
{
    gpusim_host_config_t cfg;
    fx *f;
    uint64_t pfn;
    char v[8];
    (void)state;
    /* A pinned page keeps its range small. */
    base_cfg(&cfg, false, GPUSIM_THP_MADVISE, true);
    f = fx_new_cfg(&cfg);
    do_mmap_at(f, H_ADDR, HUGE);
    ASSERT_OK(do_access(f, H_ADDR, 8 * PAGE, GPUSIM_ACCESS_WRITE, NULL));
    ASSERT_OK(do_pin(f, H_ADDR + PAGE, 1, &pfn));
    ASSERT_OK(do_madvise(f, H_ADDR, HUGE, GPUSIM_MADV_HUGEPAGE));
    assert_false(pte_at(f, H_ADDR).huge);
    assert_int_equal(stat_count(f, "host.thp.collapse"), 0);
    /* Unpinned, the next enter collapses it. */
    ASSERT_OK(gpusim_process_unpin(f->p, &pfn, 1, false, NULL));
    ASSERT_OK(do_madvise(f, H_ADDR, HUGE, GPUSIM_MADV_HUGEPAGE));
    assert_true(pte_at(f, H_ADDR).huge);
    fx_free(f);

    /* max_ptes_none = 0: only a fully populated range qualifies. */
    base_cfg(&cfg, false, GPUSIM_THP_MADVISE, true);
    snprintf(v, sizeof v, "0");
    ASSERT_OK(gpusim_host_config_set(&cfg, "khugepaged_max_ptes_none", v, false, NULL, 0));
    f = fx_new_cfg(&cfg);
    do_mmap_at(f, H_ADDR, 2 * HUGE);
    ASSERT_OK(do_access(f, H_ADDR, HUGE - PAGE, GPUSIM_ACCESS_WRITE, NULL));
    ASSERT_OK(do_access(f, H_ADDR + HUGE, HUGE, GPUSIM_ACCESS_WRITE, NULL));
    ASSERT_OK(do_madvise(f, H_ADDR, 2 * HUGE, GPUSIM_MADV_HUGEPAGE));
    assert_false(pte_at(f, H_ADDR).huge);
    assert_true(pte_at(f, H_ADDR + HUGE).huge);
    assert_int_equal(stat_count(f, "host.thp.collapse"), 1);
    fx_free(f);

    /* khugepaged off: nothing, and the run ends at once. */
    base_cfg(&cfg, false, GPUSIM_THP_MADVISE, false);
    f = fx_new_cfg(&cfg);
    do_mmap_at(f, H_ADDR, HUGE);
    ASSERT_OK(do_access(f, H_ADDR, HUGE, GPUSIM_ACCESS_WRITE, NULL));
    ASSERT_OK(do_madvise(f, H_ADDR, HUGE, GPUSIM_MADV_HUGEPAGE));
    assert_false(pte_at(f, H_ADDR).huge);
    assert_true(gpusim_world_now(f->w) < SEC);
    fx_free(f);
}

/* A collapse waits for a mirror; if the range changes meanwhile it is re-checked and given up. */
typedef struct unmap_later {
    gpusim_event_t ev;
    fx *f;
    call c;
} unmap_later;

static void unmap_now(gpusim_world_t *w, gpusim_event_t *ev)
{
    unmap_later *u = ev->data;
    (void)w;
    ASSERT_OK(gpusim_process_munmap(u->f->p, H_ADDR, 8 * PAGE, call_cb, &u->c));
}

static void test_khugepaged_blocked(void **state)
{
    gpusim_host_config_t cfg;
    fx *f;
    unmap_later u;
    gpusim_time_t t0;
    gpusim_stat_info_t si;
    (void)state;
    base_cfg(&cfg, false, GPUSIM_THP_MADVISE, true);
    f = fx_new_cfg(&cfg);
    do_mmap_at(f, H_ADDR, HUGE);
    ASSERT_OK(do_access(f, H_ADDR, 8 * PAGE, GPUSIM_ACCESS_WRITE, NULL));
    f->block = true;
    f->block_only = GPUSIM_INVALIDATOR_KHUGEPAGED; /* the munmap does not wait */
    t0 = gpusim_world_now(f->w);
    /* khugepaged wakes at t0 + sleep and waits; the process unmaps the pages meanwhile. */
    ASSERT_OK(
        gpusim_completion_signal_at(f->w, &f->fence, t0 + param(f, "khugepaged_sleep") + 2 * SEC));
    memset(&u, 0, sizeof u);
    u.f = f;
    u.c.w = f->w;
    gpusim_event_init(&u.ev, unmap_now, &u);
    ASSERT_OK(gpusim_event_schedule(f->w, &u.ev, t0 + param(f, "khugepaged_sleep") + SEC));
    ASSERT_OK(do_madvise(f, H_ADDR, HUGE, GPUSIM_MADV_HUGEPAGE));
    assert_int_equal(u.c.done, 1);
    assert_false(pte_at(f, H_ADDR).present);
    assert_false(pte_at(f, H_ADDR + 8 * PAGE).huge);
    assert_int_equal(stat_count(f, "host.thp.collapse"), 0);
    assert_int_equal(stat_count(f, "host.thp.collapse_failed"), 1);
    ASSERT_OK(gpusim_stats_get(f->w, "notifier.blocked_ns.khugepaged", &si));
    assert_int_equal(si.count, 1);
    assert_int_equal(si.sum, 2 * SEC);
    fx_free(f);
}

/* A world freed while khugepaged waits for a mirror frees everything. */
static void test_khugepaged_teardown(void **state)
{
    gpusim_host_config_t cfg;
    fx *f;
    (void)state;
    base_cfg(&cfg, false, GPUSIM_THP_MADVISE, true);
    f = fx_new_cfg(&cfg);
    do_mmap_at(f, H_ADDR, HUGE);
    ASSERT_OK(do_access(f, H_ADDR, 8 * PAGE, GPUSIM_ACCESS_WRITE, NULL));
    f->block = true; /* never signalled */
    ASSERT_OK(do_madvise(f, H_ADDR, HUGE, GPUSIM_MADV_HUGEPAGE));
    assert_true(gpusim__khugepaged_busy(f->h));
    assert_int_equal(gpusim_host_free(f->h), GPUSIM_EBUSY);
    fx_free(f);
}

/*
 * A process that registers with khugepaged while a pass is under way, behind its cursor, is
 * scanned by another pass even though the pass in progress collapses nothing (regression: the
 * pass used to end with "nothing found" and khugepaged stopped for good). b's 64 MiB of empty
 * THP-eligible memory makes the pass span several wakes (khugepaged_pages covers 8 ranges a
 * wake); app (slot 0, before b's slot) registers during it.
 */
static void test_khugepaged_registration_during_pass(void **state)
{
    gpusim_host_config_t cfg;
    gpusim_process_config_t pc;
    gpusim_process_t *b;
    fx *f;
    gpusim_time_t t0;
    const uint64_t bbase = UINT64_C(0x80000000);
    (void)state;
    base_cfg(&cfg, false, GPUSIM_THP_MADVISE, true);
    f = fx_new_cfg(&cfg);
    gpusim_process_config_init(&pc);
    pc.name = "b";
    ASSERT_OK(gpusim_process_new(f->h, &pc, &b));
    /* app's range: 10 pages faulted in 4 KiB (no advice yet, so not THP-eligible). */
    do_mmap_at(f, H_ADDR, HUGE);
    ASSERT_OK(do_access(f, H_ADDR, 10 * PAGE, GPUSIM_ACCESS_WRITE, NULL));
    t0 = gpusim_world_now(f->w);
    {
        call c = {.w = f->w};
        ASSERT_OK(gpusim_process_mmap(b, bbase, 32 * HUGE, RW, FIX, NULL, 0, call_cb, &c));
        ASSERT_OK(gpusim_world_run_until(f->w, t0 + SEC));
        ASSERT_OK(gpusim_process_madvise(b, bbase, 32 * HUGE, GPUSIM_MADV_HUGEPAGE, call_cb, &c));
        ASSERT_OK(gpusim_world_run_until(f->w, t0 + SEC));
        assert_int_equal(c.done, 2);
    }
    /* The first wake (one khugepaged_sleep after b's advice) has scanned part of b. */
    ASSERT_OK(gpusim_world_run_until(f->w, t0 + param(f, "khugepaged_sleep") + 5 * SEC));
    assert_int_equal(stat_count(f, "host.thp.collapse"), 0);
    {
        call c = {.w = f->w};
        ASSERT_OK(gpusim_process_madvise(f->p, H_ADDR, HUGE, GPUSIM_MADV_HUGEPAGE, call_cb, &c));
        ASSERT_OK(gpusim_world_run_until(f->w, t0 + 20 * param(f, "khugepaged_sleep")));
        assert_int_equal(c.done, 1);
    }
    assert_true(pte_at(f, H_ADDR).huge);
    assert_int_equal(stat_count(f, "host.thp.collapse"), 1);
    assert_int_equal(gpusim_world_pending(f->w), 0); /* and it stopped again afterwards */
    check(f);
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        GPUSIM_TEST(test_compact_makes_free_blocks),
        GPUSIM_TEST(test_compact_two_blocks),
        GPUSIM_TEST(test_compact_cost),
        GPUSIM_TEST(test_compact_pinned),
        GPUSIM_TEST(test_compact_blocked),
        GPUSIM_TEST(test_compact_teardown),
        GPUSIM_TEST(test_migration_entry_access),
        GPUSIM_TEST(test_migration_entry_pin),
        GPUSIM_TEST(test_migration_entry_munmap),
        GPUSIM_TEST(test_migration_one_at_a_time),
        GPUSIM_TEST(test_compact_bad_arguments),
        GPUSIM_TEST(test_khugepaged_collapse),
        GPUSIM_TEST(test_khugepaged_skips),
        GPUSIM_TEST(test_khugepaged_blocked),
        GPUSIM_TEST(test_khugepaged_teardown),
        GPUSIM_TEST(test_khugepaged_registration_during_pass),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
