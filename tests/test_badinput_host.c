/*
 * test_badinput_host.c -- the bad-input catalogue of host.h: configuration, hosts, frames, files,
 * processes, the memory-management calls, pinning and hmm_range_fault.
 *
 * Every public function of host.h is called with each kind of bad argument that applies (NULL,
 * zero lengths and counts, addresses and lengths that are not 4 KiB-aligned, ranges outside the
 * 47-bit address space or wrapping past 2^64, flags and enum values past the last, frame numbers
 * past the end, and retired states: an exiting or dead process, a freed frame, a pin released
 * twice, a subscription of another process) and must return exactly the error its header
 * documents, at call time, without starting anything: the host's meminfo, the process's figures,
 * the world's queue and statistics are as before, the host's full invariant check passes, a good
 * call succeeds afterwards and nothing leaks. Errors that an accepted call reports through its
 * callback (an unmapped address, a hole) are checked for their documented status too.
 * docs/reliability.md §3 states the rules.
 */
#include "badinput_util.h"
#include "host_util.h"

#define PG     GPUSIM_HOST_PAGE_SIZE
#define VA_END GPUSIM_HOST_VA_END

typedef struct hfx {
    gpusim_world_t *w;
    gpusim_host_t *h, *h2;
    gpusim_process_t *p, *dead;
    gpusim_file_t *f, *f2;
    uint64_t va; /* 16 pages, mapped read-write, written */
} hfx;

/* Runs until nothing is left; returns the status of `c`, which must have completed once. */
static int finish(hfx *x, call *c)
{
    return host_finish(x->w, x->h, c);
}

static void hfx_init(hfx *x, bool data_mode)
{
    gpusim_host_config_t hc;
    gpusim_process_config_t pc;
    call c = {0};
    memset(x, 0, sizeof *x);
    x->w = test_world(1);
    gpusim_host_config_init(&hc);
    hc.ram_bytes = 64 * GPUSIM_MIB;
    hc.swap_bytes = 16 * GPUSIM_MIB;
    hc.khugepaged = false;
    hc.data_mode = data_mode;
    ASSERT_OK(gpusim_host_new(x->w, &hc, &x->h));
    ASSERT_OK(gpusim_host_new(x->w, &hc, &x->h2));
    ASSERT_OK(gpusim_host_file_new(x->h, 8 * PG, &x->f));
    ASSERT_OK(gpusim_host_file_new(x->h2, 8 * PG, &x->f2));
    gpusim_process_config_init(&pc);
    pc.name = "live";
    ASSERT_OK(gpusim_process_new(x->h, &pc, &x->p));
    pc.name = "dead";
    ASSERT_OK(gpusim_process_new(x->h, &pc, &x->dead));
    ASSERT_OK(gpusim_process_exit(x->dead, call_cb, &c));
    ASSERT_OK(finish(x, &c));
    memset(&c, 0, sizeof c);
    ASSERT_OK(gpusim_process_mmap(x->p, 0, 16 * PG, GPUSIM_PROT_READ | GPUSIM_PROT_WRITE,
                                  GPUSIM_MAP_PRIVATE, NULL, 0, call_cb, &c));
    ASSERT_OK(finish(x, &c));
    x->va = c.result;
    memset(&c, 0, sizeof c);
    ASSERT_OK(gpusim_process_access(x->p, x->va, 16 * PG, GPUSIM_ACCESS_WRITE, NULL, call_cb, &c));
    ASSERT_OK(finish(x, &c));
}

/* What a call refused at call time must not change. */
typedef struct hsnap {
    gpusim_host_meminfo_t mem;
    gpusim_process_info_t info, dead;
    size_t pending, stats, subs;
} hsnap;

static hsnap snap(const hfx *x)
{
    hsnap s;
    memset(&s, 0, sizeof s);
    ASSERT_OK(gpusim_host_meminfo(x->h, &s.mem));
    ASSERT_OK(gpusim_process_info(x->p, &s.info));
    ASSERT_OK(gpusim_process_info(x->dead, &s.dead));
    s.pending = gpusim_world_pending(x->w);
    s.stats = gpusim_stats_count(x->w);
    s.subs = gpusim_notifier_count(gpusim_process_notifier(x->p));
    return s;
}

static void assert_unchanged(const hfx *x, const hsnap *before)
{
    hsnap now = snap(x);
    assert_memory_equal(&now, before, sizeof now);
}

/* The host still works: consistent, and a good mmap + write + munmap succeeds. */
static void host_usable(hfx *x)
{
    call c = {0};
    host_check_ok(x->h);
    ASSERT_OK(gpusim_process_mmap(x->p, 0, 4 * PG, GPUSIM_PROT_READ | GPUSIM_PROT_WRITE,
                                  GPUSIM_MAP_PRIVATE, NULL, 0, call_cb, &c));
    ASSERT_OK(finish(x, &c));
    uint64_t a = c.result;
    memset(&c, 0, sizeof c);
    ASSERT_OK(gpusim_process_access(x->p, a, 4 * PG, GPUSIM_ACCESS_WRITE, NULL, call_cb, &c));
    ASSERT_OK(finish(x, &c));
    assert_true(c.result == 4 * PG);
    memset(&c, 0, sizeof c);
    ASSERT_OK(gpusim_process_munmap(x->p, a, 4 * PG, call_cb, &c));
    ASSERT_OK(finish(x, &c));
}

static void hfx_free(hfx *x)
{
    host_usable(x);
    gpusim_world_free(x->w);
    ASSERT_NO_LEAK();
}

/* ---- configuration and hosts --------------------------------------------------------------- */

static void test_config(void **state)
{
    (void)state;
    gpusim_host_config_t cfg;
    BAD_VOID(gpusim_host_config_init(NULL));
    gpusim_host_config_init(&cfg);
    PARAM_CATALOGUE(gpusim_host_config_set, gpusim_host_config_get, gpusim_host_param_info,
                    gpusim_host_config_t, cfg, "fault_anon_4k", "5000ns");
    /* A duration without a unit is malformed for an ns parameter. */
    BAD(gpusim_host_config_set(&cfg, "fault_anon_4k", "2000", false, NULL, 0), GPUSIM_EINVAL);
    BAD_VOID(gpusim_process_config_init(NULL));
}

static void test_host_new(void **state)
{
    (void)state;
    gpusim_world_t *w = test_world(1);
    gpusim_host_config_t good, cfg;
    gpusim_host_t *h = (gpusim_host_t *)&cfg;
    gpusim_host_t *const sentinel = h;
    gpusim_host_config_init(&good);
    good.ram_bytes = 64 * GPUSIM_MIB;
    size_t stats = gpusim_stats_count(w);

    BAD(gpusim_host_new(NULL, &good, &h), GPUSIM_EINVAL);
    BAD(gpusim_host_new(w, NULL, &h), GPUSIM_EINVAL);
    BAD(gpusim_host_new(w, &good, NULL), GPUSIM_EINVAL);

    /* One bad structural field at a time. */
    static const struct {
        uint64_t ram, swap, movable;
        unsigned nodes;
        int thp;
    } bad[] = {
        {0, 0, 0, 1, 1},                                   /* no RAM */
        {64 * GPUSIM_MIB + 4096, 0, 0, 1, 1},              /* RAM not a 2 MiB multiple */
        {8 * GPUSIM_MIB, 0, 0, 3, 1},                      /* not 2 MiB per node */
        {32 * GPUSIM_TIB, 0, 0, 1, 1},                     /* over 16 TiB */
        {64 * GPUSIM_MIB, 0, 0, 0, 1},                     /* no node */
        {128 * GPUSIM_MIB, 0, 0, 65, 1},                   /* too many nodes */
        {64 * GPUSIM_MIB, 100, 0, 1, 1},                   /* swap not a 4 KiB multiple */
        {64 * GPUSIM_MIB, 32 * GPUSIM_TIB, 0, 1, 1},       /* swap over 2^32 pages */
        {64 * GPUSIM_MIB, 0, 64 * GPUSIM_MIB, 1, 1},       /* movable = a whole node */
        {64 * GPUSIM_MIB, 0, 128 * GPUSIM_MIB, 1, 1},      /* movable larger than a node */
        {64 * GPUSIM_MIB, 0, 4096, 1, 1},                  /* movable not a 2 MiB multiple */
        {64 * GPUSIM_MIB, 0, 0, 1, GPUSIM_THP_ALWAYS + 1}, /* THP mode past the last */
        {64 * GPUSIM_MIB, 0, 0, 1, -1},                    /* THP mode negative */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cfg = good;
        cfg.ram_bytes = bad[i].ram;
        cfg.swap_bytes = bad[i].swap;
        cfg.movable_bytes = bad[i].movable;
        cfg.nodes = bad[i].nodes;
        cfg.thp = (gpusim_thp_mode_t)bad[i].thp;
        BAD(gpusim_host_new(w, &cfg, &h), GPUSIM_EINVAL);
    }
    /* A config never initialised (zero cost parameters). */
    memset(&cfg, 0, sizeof cfg);
    cfg.ram_bytes = 64 * GPUSIM_MIB;
    cfg.nodes = 1;
    BAD(gpusim_host_new(w, &cfg, &h), GPUSIM_EINVAL);
    assert_ptr_equal(h, sentinel);
    assert_int_equal(gpusim_stats_count(w), stats);
    assert_int_equal(gpusim_world_pending(w), 0);

    BAD(gpusim_host_free(NULL), GPUSIM_EINVAL);

    /* Still creates a good host, and frees it. */
    ASSERT_OK(gpusim_host_new(w, &good, &h));
    host_check_ok(h);
    ASSERT_OK(gpusim_host_free(h));
    gpusim_world_free(w);
    ASSERT_NO_LEAK();
}

static void test_host_queries(void **state)
{
    (void)state;
    hfx x;
    hfx_init(&x, false);
    gpusim_host_meminfo_t mi;
    gpusim_frame_info_t fi;
    gpusim_file_t *file = (gpusim_file_t *)&x;
    gpusim_file_t *const sentinel = file;
    char buf[16];
    hsnap before = snap(&x);

    POISON(mi);
    BAD(gpusim_host_meminfo(NULL, &mi), GPUSIM_EINVAL);
    BAD(gpusim_host_meminfo(x.h, NULL), GPUSIM_EINVAL);
    ASSERT_UNTOUCHED(mi);
    BAD(gpusim_host_check(NULL, NULL, 0), GPUSIM_EINVAL);

    /* Frames: NULLs, numbers past the end. */
    POISON(fi);
    BAD(gpusim_host_frame_info(NULL, 1, &fi), GPUSIM_EINVAL);
    BAD(gpusim_host_frame_info(x.h, 1, NULL), GPUSIM_EINVAL);
    BAD(gpusim_host_frame_info(x.h, 64 * GPUSIM_MIB / PG, &fi), GPUSIM_ERANGE);
    BAD(gpusim_host_frame_info(x.h, UINT64_MAX, &fi), GPUSIM_ERANGE);
    BAD(gpusim_host_frame_info(x.h, UINT64_C(1) << 32, &fi), GPUSIM_ERANGE);
    ASSERT_UNTOUCHED(fi);
    BAD(gpusim_host_mark_accessed(NULL, 1), GPUSIM_EINVAL);
    BAD(gpusim_host_mark_accessed(x.h, 64 * GPUSIM_MIB / PG), GPUSIM_ERANGE);
    BAD(gpusim_host_mark_accessed(x.h, UINT64_C(1) << 32), GPUSIM_ERANGE);
    /* Frame contents outside data mode. */
    BAD(gpusim_host_frame_read(x.h, 1, 0, buf, sizeof buf), GPUSIM_ENOTSUP);
    BAD(gpusim_host_frame_write(x.h, 1, 0, buf, sizeof buf), GPUSIM_ENOTSUP);

    /* Files: NULLs, size 0, not a page multiple, over 1 TiB. */
    BAD(gpusim_host_file_new(NULL, PG, &file), GPUSIM_EINVAL);
    BAD(gpusim_host_file_new(x.h, PG, NULL), GPUSIM_EINVAL);
    BAD(gpusim_host_file_new(x.h, 0, &file), GPUSIM_EINVAL);
    BAD(gpusim_host_file_new(x.h, PG + 1, &file), GPUSIM_EINVAL);
    BAD(gpusim_host_file_new(x.h, PG - 1, &file), GPUSIM_EINVAL);
    BAD(gpusim_host_file_new(x.h, GPUSIM_TIB + PG, &file), GPUSIM_EINVAL);
    BAD(gpusim_host_file_new(x.h, UINT64_MAX - PG + 1, &file), GPUSIM_EINVAL);
    assert_ptr_equal(file, sentinel);

    /* Compaction: NULL, node past the last. */
    BAD(gpusim_host_compact(NULL, 0, NULL, NULL), GPUSIM_EINVAL);
    BAD(gpusim_host_compact(x.h, 1, NULL, NULL), GPUSIM_EINVAL);
    BAD(gpusim_host_compact(x.h, UINT32_MAX, NULL, NULL), GPUSIM_EINVAL);

    assert_unchanged(&x, &before);
    hfx_free(&x);
}

/* Frame contents in data mode: out-of-range offsets and lengths, freed frames, the zero page. */
static void test_frame_data(void **state)
{
    (void)state;
    hfx x;
    hfx_init(&x, true);
    gpusim_host_pte_t pte;
    unsigned char buf[64], back[64];
    call c = {0};
    memset(buf, 0x77, sizeof buf);
    ASSERT_OK(gpusim_process_translate(x.p, x.va, &pte));
    assert_true(pte.present);
    const uint64_t pfn = pte.pfn;
    ASSERT_OK(gpusim_host_frame_read(x.h, pfn, 0, back, sizeof back));

    BAD(gpusim_host_frame_read(NULL, pfn, 0, buf, 8), GPUSIM_EINVAL);
    BAD(gpusim_host_frame_read(x.h, pfn, 0, NULL, 8), GPUSIM_EINVAL);
    BAD(gpusim_host_frame_write(NULL, pfn, 0, buf, 8), GPUSIM_EINVAL);
    BAD(gpusim_host_frame_write(x.h, pfn, 0, NULL, 8), GPUSIM_EINVAL);
    const struct {
        uint64_t pfn;
        uint32_t off, len;
    } range[] = {
        {64 * GPUSIM_MIB / PG, 0, 8},
        {UINT64_MAX, 0, 8},
        {pfn, PG + 1, 0},
        {pfn, PG, 1},
        {pfn, PG - 4, 8},
        {pfn, 0, PG + 1},
        {pfn, UINT32_MAX, 2},
        {pfn, 8, UINT32_MAX},
    };
    for (size_t i = 0; i < sizeof range / sizeof range[0]; i++) {
        BAD(gpusim_host_frame_read(x.h, range[i].pfn, range[i].off, buf, range[i].len),
            GPUSIM_ERANGE);
        BAD(gpusim_host_frame_write(x.h, range[i].pfn, range[i].off, buf, range[i].len),
            GPUSIM_ERANGE);
    }

    /* The zero page (a read fault of untouched anonymous memory maps it) is not writable. */
    ASSERT_OK(gpusim_process_mmap(x.p, 0, PG, GPUSIM_PROT_READ, GPUSIM_MAP_PRIVATE, NULL, 0,
                                  call_cb, &c));
    ASSERT_OK(finish(&x, &c));
    uint64_t ro = c.result;
    memset(&c, 0, sizeof c);
    ASSERT_OK(gpusim_process_access(x.p, ro, PG, GPUSIM_ACCESS_READ, NULL, call_cb, &c));
    ASSERT_OK(finish(&x, &c));
    gpusim_host_pte_t zero;
    ASSERT_OK(gpusim_process_translate(x.p, ro, &zero));
    assert_true(zero.present);
    BAD(gpusim_host_frame_write(x.h, zero.pfn, 0, buf, 8), GPUSIM_EFAULT);

    /* A frame freed by munmap ("use after free" of a frame number): EFAULT, nothing written. */
    hsnap before = snap(&x);
    memset(&c, 0, sizeof c);
    ASSERT_OK(gpusim_process_munmap(x.p, x.va, PG, call_cb, &c));
    ASSERT_OK(finish(&x, &c));
    gpusim_frame_info_t fi;
    ASSERT_OK(gpusim_host_frame_info(x.h, pfn, &fi));
    assert_int_equal(fi.state, GPUSIM_FRAME_FREE);
    before = snap(&x);
    BAD(gpusim_host_frame_write(x.h, pfn, 0, buf, 8), GPUSIM_EFAULT);
    /* A frame never used. */
    BAD(gpusim_host_frame_write(x.h, 64 * GPUSIM_MIB / PG - 1, 0, buf, 8), GPUSIM_EFAULT);
    assert_unchanged(&x, &before);
    hfx_free(&x);
}

/* ---- processes --------------------------------------------------------------------------- */

static void test_process_new(void **state)
{
    (void)state;
    hfx x;
    hfx_init(&x, false);
    gpusim_process_config_t pc;
    gpusim_process_t *p = (gpusim_process_t *)&x;
    gpusim_process_t *const sentinel = p;
    gpusim_process_info_t pi;
    gpusim_host_pte_t pte;
    hsnap before = snap(&x);
    gpusim_process_config_init(&pc);

    BAD(gpusim_process_new(NULL, &pc, &p), GPUSIM_EINVAL);
    BAD(gpusim_process_new(x.h, NULL, &p), GPUSIM_EINVAL);
    BAD(gpusim_process_new(x.h, &pc, NULL), GPUSIM_EINVAL);
    const char *names[] = {"", "A", "a-b", "a.b", "a b", "0123456789012345678901234567890x"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        pc.name = names[i];
        BAD(gpusim_process_new(x.h, &pc, &p), GPUSIM_EINVAL);
    }
    gpusim_process_config_init(&pc);
    pc.node = 1;
    BAD(gpusim_process_new(x.h, &pc, &p), GPUSIM_EINVAL);
    pc.node = UINT32_MAX;
    BAD(gpusim_process_new(x.h, &pc, &p), GPUSIM_EINVAL);
    gpusim_process_config_init(&pc);
    pc.name = "live";
    BAD(gpusim_process_new(x.h, &pc, &p), GPUSIM_EEXIST);
    pc.name = "dead"; /* a zombie keeps its name */
    BAD(gpusim_process_new(x.h, &pc, &p), GPUSIM_EEXIST);
    assert_ptr_equal(p, sentinel);

    /* Getters on NULL. */
    BAD_EQ(gpusim_process_notifier(NULL), NULL);
    BAD_EQ(strcmp(gpusim_process_name(NULL), "?"), 0);
    POISON(pi);
    BAD(gpusim_process_info(NULL, &pi), GPUSIM_EINVAL);
    BAD(gpusim_process_info(x.p, NULL), GPUSIM_EINVAL);
    ASSERT_UNTOUCHED(pi);

    /* translate: NULLs, addresses outside the user address space, a dead process. */
    POISON(pte);
    BAD(gpusim_process_translate(NULL, x.va, &pte), GPUSIM_EINVAL);
    BAD(gpusim_process_translate(x.p, x.va, NULL), GPUSIM_EINVAL);
    BAD(gpusim_process_translate(x.p, VA_END, &pte), GPUSIM_EINVAL);
    BAD(gpusim_process_translate(x.p, UINT64_MAX, &pte), GPUSIM_EINVAL);
    ASSERT_UNTOUCHED(pte);
    BAD(gpusim_process_translate(x.dead, x.va, &pte), GPUSIM_ESRCH);

    assert_unchanged(&x, &before);
    hfx_free(&x);
}

/* A process's notifier domain belongs to the process: gpusim_notifier_free() refuses it. */
static void test_process_domain(void **state)
{
    (void)state;
    hfx x;
    hfx_init(&x, false);
    gpusim_notifier_t *n = gpusim_process_notifier(x.p);
    hsnap before = snap(&x);
    BAD(gpusim_notifier_free(n), GPUSIM_EPERM);
    BAD(gpusim_notifier_free(gpusim_process_notifier(x.dead)), GPUSIM_EPERM);
    assert_unchanged(&x, &before);
    /* The domain still announces the process's changes. */
    assert_ptr_equal(gpusim_process_notifier(x.p), n);
    hfx_free(&x);
}

static void test_mmap(void **state)
{
    (void)state;
    hfx x;
    hfx_init(&x, false);
    const unsigned rw = GPUSIM_PROT_READ | GPUSIM_PROT_WRITE;
    const unsigned priv = GPUSIM_MAP_PRIVATE, fixed = GPUSIM_MAP_PRIVATE | GPUSIM_MAP_FIXED;
    call c = {0};
    hsnap before = snap(&x);

    BAD(gpusim_process_mmap(NULL, 0, PG, rw, priv, NULL, 0, call_cb, &c), GPUSIM_EINVAL);
    /* Zero and huge lengths. */
    BAD(gpusim_process_mmap(x.p, 0, 0, rw, priv, NULL, 0, call_cb, &c), GPUSIM_EINVAL);
    BAD(gpusim_process_mmap(x.p, 0, VA_END + 1, rw, priv, NULL, 0, call_cb, &c), GPUSIM_EINVAL);
    BAD(gpusim_process_mmap(x.p, 0, UINT64_MAX, rw, priv, NULL, 0, call_cb, &c), GPUSIM_EINVAL);
    /* Flags: neither or both of PRIVATE and SHARED, unknown bits; unknown protection bits. */
    BAD(gpusim_process_mmap(x.p, 0, PG, rw, 0, NULL, 0, call_cb, &c), GPUSIM_EINVAL);
    BAD(gpusim_process_mmap(x.p, 0, PG, rw, GPUSIM_MAP_FIXED, NULL, 0, call_cb, &c), GPUSIM_EINVAL);
    BAD(gpusim_process_mmap(x.p, 0, PG, rw, priv | GPUSIM_MAP_SHARED, NULL, 0, call_cb, &c),
        GPUSIM_EINVAL);
    BAD(gpusim_process_mmap(x.p, 0, PG, rw, priv | 0x20, NULL, 0, call_cb, &c), GPUSIM_EINVAL);
    BAD(gpusim_process_mmap(x.p, 0, PG, rw, priv | 0x80000000u, NULL, 0, call_cb, &c),
        GPUSIM_EINVAL);
    BAD(gpusim_process_mmap(x.p, 0, PG, 8, priv, NULL, 0, call_cb, &c), GPUSIM_EINVAL);
    /* FIXED: misaligned, outside the address space, wrapping. */
    BAD(gpusim_process_mmap(x.p, 0x10000001, PG, rw, fixed, NULL, 0, call_cb, &c), GPUSIM_EINVAL);
    BAD(gpusim_process_mmap(x.p, 0x10000800, PG, rw, fixed, NULL, 0, call_cb, &c), GPUSIM_EINVAL);
    BAD(gpusim_process_mmap(x.p, VA_END, PG, rw, fixed, NULL, 0, call_cb, &c), GPUSIM_EINVAL);
    BAD(gpusim_process_mmap(x.p, VA_END - PG, 2 * PG, rw, fixed, NULL, 0, call_cb, &c),
        GPUSIM_EINVAL);
    BAD(gpusim_process_mmap(x.p, UINT64_MAX - PG + 1, 2 * PG, rw, fixed, NULL, 0, call_cb, &c),
        GPUSIM_EINVAL);
    BAD(gpusim_process_mmap(x.p, 0x10000000, PG, rw, priv | GPUSIM_MAP_FIXED_NOREPLACE, NULL, 0,
                            call_cb, &c),
        0); /* a good one, to be sure the flag itself is accepted */
    ASSERT_OK(finish(&x, &c));
    before = snap(&x);
    memset(&c, 0, sizeof c);
    BAD(gpusim_process_mmap(x.p, 0x10000001, PG, rw, priv | GPUSIM_MAP_FIXED_NOREPLACE, NULL, 0,
                            call_cb, &c),
        GPUSIM_EINVAL);
    /* FIXED below vm.mmap_min_addr (a page at 0 once broke the reverse map: fuzz_api). */
    BAD(gpusim_process_mmap(x.p, 0, PG, rw, priv | GPUSIM_MAP_FIXED, NULL, 0, call_cb, &c),
        GPUSIM_EINVAL);
    BAD(gpusim_process_mmap(x.p, GPUSIM_HOST_VA_START - PG, PG, rw, priv | GPUSIM_MAP_FIXED, NULL,
                            0, call_cb, &c),
        GPUSIM_EINVAL);
    /* Files: offset misaligned, past the end, a range past the end, a file of another host, an
     * offset without a file. */
    BAD(gpusim_process_mmap(x.p, 0, PG, rw, priv, x.f, 100, call_cb, &c), GPUSIM_EINVAL);
    BAD(gpusim_process_mmap(x.p, 0, PG, rw, priv, x.f, 9 * PG, call_cb, &c), GPUSIM_EINVAL);
    BAD(gpusim_process_mmap(x.p, 0, 2 * PG, rw, priv, x.f, 7 * PG, call_cb, &c), GPUSIM_EINVAL);
    BAD(gpusim_process_mmap(x.p, 0, 9 * PG, rw, priv, x.f, 0, call_cb, &c), GPUSIM_EINVAL);
    BAD(gpusim_process_mmap(x.p, 0, PG, rw, priv, x.f, UINT64_MAX - PG + 1, call_cb, &c),
        GPUSIM_EINVAL);
    BAD(gpusim_process_mmap(x.p, 0, PG, rw, priv, x.f2, 0, call_cb, &c), GPUSIM_EINVAL);
    BAD(gpusim_process_mmap(x.p, 0, PG, rw, priv, NULL, PG, call_cb, &c), GPUSIM_EINVAL);
    /* A dead process. */
    BAD(gpusim_process_mmap(x.dead, 0, PG, rw, priv, NULL, 0, call_cb, &c), GPUSIM_ESRCH);
    assert_unchanged(&x, &before);
    assert_int_equal(c.done, 0);

    /* Status errors: FIXED_NOREPLACE over a mapping. */
    ASSERT_OK(gpusim_process_mmap(x.p, x.va, PG, rw, priv | GPUSIM_MAP_FIXED_NOREPLACE, NULL, 0,
                                  call_cb, &c));
    badinput_calls_++;
    assert_int_equal(finish(&x, &c), GPUSIM_EEXIST);
    hfx_free(&x);
}

static void test_munmap_mprotect_madvise(void **state)
{
    (void)state;
    hfx x;
    hfx_init(&x, false);
    call c = {0};
    hsnap before = snap(&x);
    const struct {
        uint64_t addr, len;
    } bad[] = {
        {0x10000001, PG},              /* misaligned address */
        {0x10000800, PG},              /* misaligned address */
        {0x10000000, 0},               /* zero length */
        {VA_END, PG},                  /* outside */
        {VA_END - PG, 2 * PG},         /* leaves the address space */
        {UINT64_MAX - PG + 1, 2 * PG}, /* wraps */
        {0, UINT64_MAX},               /* wraps while rounding up */
        {0, VA_END + 1},               /* longer than the address space */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        BAD(gpusim_process_munmap(x.p, bad[i].addr, bad[i].len, call_cb, &c), GPUSIM_EINVAL);
        BAD(gpusim_process_mprotect(x.p, bad[i].addr, bad[i].len, GPUSIM_PROT_READ, call_cb, &c),
            GPUSIM_EINVAL);
        BAD(gpusim_process_madvise(x.p, bad[i].addr, bad[i].len, GPUSIM_MADV_DONTNEED, call_cb, &c),
            GPUSIM_EINVAL);
    }
    BAD(gpusim_process_munmap(NULL, x.va, PG, call_cb, &c), GPUSIM_EINVAL);
    BAD(gpusim_process_mprotect(NULL, x.va, PG, GPUSIM_PROT_READ, call_cb, &c), GPUSIM_EINVAL);
    BAD(gpusim_process_madvise(NULL, x.va, PG, GPUSIM_MADV_DONTNEED, call_cb, &c), GPUSIM_EINVAL);
    BAD(gpusim_process_mprotect(x.p, x.va, PG, 8, call_cb, &c), GPUSIM_EINVAL);
    BAD(gpusim_process_mprotect(x.p, x.va, PG, ~0u, call_cb, &c), GPUSIM_EINVAL);
    BAD(gpusim_process_madvise(x.p, x.va, PG, (gpusim_madvise_t)(GPUSIM_MADV_NOHUGEPAGE + 1),
                               call_cb, &c),
        GPUSIM_EINVAL);
    BAD(gpusim_process_madvise(x.p, x.va, PG, (gpusim_madvise_t)-1, call_cb, &c), GPUSIM_EINVAL);
    BAD(gpusim_process_munmap(x.dead, x.va, PG, call_cb, &c), GPUSIM_ESRCH);
    BAD(gpusim_process_mprotect(x.dead, x.va, PG, GPUSIM_PROT_READ, call_cb, &c), GPUSIM_ESRCH);
    BAD(gpusim_process_madvise(x.dead, x.va, PG, GPUSIM_MADV_DONTNEED, call_cb, &c), GPUSIM_ESRCH);
    assert_unchanged(&x, &before);
    assert_int_equal(c.done, 0);

    /* Status errors: a hole in the range (mprotect, madvise); FREE on a shared mapping. */
    ASSERT_OK(gpusim_process_mprotect(x.p, x.va + 15 * PG, 2 * PG, GPUSIM_PROT_READ, call_cb, &c));
    badinput_calls_++;
    assert_int_equal(finish(&x, &c), GPUSIM_ENOMEM);
    memset(&c, 0, sizeof c);
    ASSERT_OK(
        gpusim_process_madvise(x.p, x.va + 15 * PG, 2 * PG, GPUSIM_MADV_DONTNEED, call_cb, &c));
    badinput_calls_++;
    assert_int_equal(finish(&x, &c), GPUSIM_ENOMEM);
    memset(&c, 0, sizeof c);
    ASSERT_OK(gpusim_process_mmap(x.p, 0, PG, GPUSIM_PROT_READ | GPUSIM_PROT_WRITE,
                                  GPUSIM_MAP_SHARED, NULL, 0, call_cb, &c));
    ASSERT_OK(finish(&x, &c));
    uint64_t shared = c.result;
    memset(&c, 0, sizeof c);
    ASSERT_OK(gpusim_process_madvise(x.p, shared, PG, GPUSIM_MADV_FREE, call_cb, &c));
    badinput_calls_++;
    assert_int_equal(finish(&x, &c), GPUSIM_EINVAL);
    /* Unmapping nothing succeeds (and unmapping twice is unmapping nothing). */
    memset(&c, 0, sizeof c);
    ASSERT_OK(gpusim_process_munmap(x.p, shared, PG, call_cb, &c));
    ASSERT_OK(finish(&x, &c));
    memset(&c, 0, sizeof c);
    ASSERT_OK(gpusim_process_munmap(x.p, shared, PG, call_cb, &c));
    ASSERT_OK(finish(&x, &c));
    hfx_free(&x);
}

static void test_mremap(void **state)
{
    (void)state;
    hfx x;
    hfx_init(&x, false);
    const unsigned mv = GPUSIM_MREMAP_MAYMOVE, fx = GPUSIM_MREMAP_MAYMOVE | GPUSIM_MREMAP_FIXED;
    call c = {0};
    hsnap before = snap(&x);
    const uint64_t va = x.va;

    BAD(gpusim_process_mremap(NULL, va, PG, 2 * PG, mv, 0, call_cb, &c), GPUSIM_EINVAL);
    BAD(gpusim_process_mremap(x.p, va, PG, 2 * PG, 0x4, 0, call_cb, &c), GPUSIM_EINVAL);
    BAD(gpusim_process_mremap(x.p, va, PG, 2 * PG, GPUSIM_MREMAP_FIXED, 0x20000000, call_cb, &c),
        GPUSIM_EINVAL);
    BAD(gpusim_process_mremap(x.p, va + 1, PG, 2 * PG, mv, 0, call_cb, &c), GPUSIM_EINVAL);
    BAD(gpusim_process_mremap(x.p, va, PG, PG, mv | GPUSIM_MREMAP_FIXED, 0, call_cb, &c),
        GPUSIM_EINVAL);
    BAD(gpusim_process_mremap(x.p, va, 0, 2 * PG, mv, 0, call_cb, &c), GPUSIM_EINVAL);
    BAD(gpusim_process_mremap(x.p, va, PG, 0, mv, 0, call_cb, &c), GPUSIM_EINVAL);
    BAD(gpusim_process_mremap(x.p, va, VA_END + 1, PG, mv, 0, call_cb, &c), GPUSIM_EINVAL);
    BAD(gpusim_process_mremap(x.p, va, PG, VA_END + 1, mv, 0, call_cb, &c), GPUSIM_EINVAL);
    BAD(gpusim_process_mremap(x.p, va, UINT64_MAX, PG, mv, 0, call_cb, &c), GPUSIM_EINVAL);
    BAD(gpusim_process_mremap(x.p, va, PG, UINT64_MAX, mv, 0, call_cb, &c), GPUSIM_EINVAL);
    BAD(gpusim_process_mremap(x.p, VA_END, PG, PG, mv, 0, call_cb, &c), GPUSIM_EINVAL);
    BAD(gpusim_process_mremap(x.p, VA_END - PG, 2 * PG, PG, mv, 0, call_cb, &c), GPUSIM_EINVAL);
    /* FIXED targets: misaligned, outside, leaving the address space, overlapping the source. */
    BAD(gpusim_process_mremap(x.p, va, PG, PG, fx, 0x20000001, call_cb, &c), GPUSIM_EINVAL);
    BAD(gpusim_process_mremap(x.p, va, PG, PG, fx, VA_END, call_cb, &c), GPUSIM_EINVAL);
    BAD(gpusim_process_mremap(x.p, va, PG, 2 * PG, fx, VA_END - PG, call_cb, &c), GPUSIM_EINVAL);
    BAD(gpusim_process_mremap(x.p, va, 4 * PG, 4 * PG, fx, va + 2 * PG, call_cb, &c),
        GPUSIM_EINVAL);
    BAD(gpusim_process_mremap(x.p, va + 2 * PG, 4 * PG, 4 * PG, fx, va, call_cb, &c),
        GPUSIM_EINVAL);
    BAD(gpusim_process_mremap(x.dead, va, PG, 2 * PG, mv, 0, call_cb, &c), GPUSIM_ESRCH);
    assert_unchanged(&x, &before);
    assert_int_equal(c.done, 0);

    /* Status errors: the old range is not one mapping (unmapped; spans a hole). */
    ASSERT_OK(gpusim_process_mremap(x.p, 0x7000000000, PG, 2 * PG, mv, 0, call_cb, &c));
    badinput_calls_++;
    assert_int_equal(finish(&x, &c), GPUSIM_EFAULT);
    memset(&c, 0, sizeof c);
    ASSERT_OK(gpusim_process_mremap(x.p, va + 15 * PG, 2 * PG, 4 * PG, mv, 0, call_cb, &c));
    badinput_calls_++;
    assert_int_equal(finish(&x, &c), GPUSIM_EFAULT);
    hfx_free(&x);
}

static void test_access(void **state)
{
    (void)state;
    hfx x;
    hfx_init(&x, false);
    call c = {0};
    char buf[8];
    hsnap before = snap(&x);
    const gpusim_access_t wr = GPUSIM_ACCESS_WRITE;

    BAD(gpusim_process_access(NULL, x.va, PG, wr, NULL, call_cb, &c), GPUSIM_EINVAL);
    BAD(gpusim_process_access(x.p, x.va, 0, wr, NULL, call_cb, &c), GPUSIM_EINVAL);
    BAD(gpusim_process_access(x.p, VA_END, 1, wr, NULL, call_cb, &c), GPUSIM_EINVAL);
    BAD(gpusim_process_access(x.p, VA_END - 1, 2, wr, NULL, call_cb, &c), GPUSIM_EINVAL);
    BAD(gpusim_process_access(x.p, UINT64_MAX, 2, wr, NULL, call_cb, &c), GPUSIM_EINVAL);
    BAD(gpusim_process_access(x.p, x.va, UINT64_MAX, wr, NULL, call_cb, &c), GPUSIM_EINVAL);
    BAD(gpusim_process_access(x.p, x.va, PG, (gpusim_access_t)2, NULL, call_cb, &c), GPUSIM_EINVAL);
    BAD(gpusim_process_access(x.p, x.va, PG, (gpusim_access_t)-1, NULL, call_cb, &c),
        GPUSIM_EINVAL);
    BAD(gpusim_process_access(x.p, x.va, sizeof buf, wr, buf, call_cb, &c), GPUSIM_EINVAL);
    BAD(gpusim_process_access(x.dead, x.va, PG, wr, NULL, call_cb, &c), GPUSIM_ESRCH);
    assert_unchanged(&x, &before);
    assert_int_equal(c.done, 0);

    /* Status errors: unmapped; against the protection. Misaligned accesses are fine. */
    ASSERT_OK(gpusim_process_access(x.p, 0x7000000000, PG, wr, NULL, call_cb, &c));
    badinput_calls_++;
    assert_int_equal(finish(&x, &c), GPUSIM_EFAULT);
    memset(&c, 0, sizeof c);
    ASSERT_OK(gpusim_process_mprotect(x.p, x.va, PG, GPUSIM_PROT_READ, call_cb, &c));
    ASSERT_OK(finish(&x, &c));
    memset(&c, 0, sizeof c);
    ASSERT_OK(gpusim_process_access(x.p, x.va + 5, 10, wr, NULL, call_cb, &c));
    badinput_calls_++;
    assert_int_equal(finish(&x, &c), GPUSIM_EFAULT);
    memset(&c, 0, sizeof c);
    ASSERT_OK(gpusim_process_access(x.p, x.va + PG + 5, 10, wr, NULL, call_cb, &c));
    ASSERT_OK(finish(&x, &c));
    hfx_free(&x);
}

static void test_fork_exit(void **state)
{
    (void)state;
    hfx x;
    hfx_init(&x, false);
    gpusim_process_config_t pc;
    gpusim_process_t *child = (gpusim_process_t *)&x;
    gpusim_process_t *const sentinel = child;
    call c = {0};
    gpusim_process_config_init(&pc);
    hsnap before = snap(&x);

    BAD(gpusim_process_fork(NULL, &pc, &child, call_cb, &c), GPUSIM_EINVAL);
    BAD(gpusim_process_fork(x.p, NULL, &child, call_cb, &c), GPUSIM_EINVAL);
    BAD(gpusim_process_fork(x.p, &pc, NULL, call_cb, &c), GPUSIM_EINVAL);
    pc.name = "Bad";
    BAD(gpusim_process_fork(x.p, &pc, &child, call_cb, &c), GPUSIM_EINVAL);
    pc.name = NULL;
    pc.node = 3;
    BAD(gpusim_process_fork(x.p, &pc, &child, call_cb, &c), GPUSIM_EINVAL);
    pc.node = 0;
    pc.name = "live";
    BAD(gpusim_process_fork(x.p, &pc, &child, call_cb, &c), GPUSIM_EEXIST);
    pc.name = NULL;
    BAD(gpusim_process_fork(x.dead, &pc, &child, call_cb, &c), GPUSIM_ESRCH);
    assert_ptr_equal(child, sentinel);

    BAD(gpusim_process_exit(NULL, call_cb, &c), GPUSIM_EINVAL);
    BAD(gpusim_process_exit(x.dead, call_cb, &c), GPUSIM_ESRCH);
    assert_unchanged(&x, &before);
    assert_int_equal(c.done, 0);

    /* An exiting process (exit called, not yet run): every call is ESRCH; exit again too. */
    gpusim_process_t *q;
    gpusim_process_config_init(&pc);
    pc.name = "exiting";
    ASSERT_OK(gpusim_process_new(x.h, &pc, &q));
    ASSERT_OK(gpusim_process_exit(q, call_cb, &c));
    call d = {0};
    uint64_t pfns[1];
    pc.name = NULL;
    BAD(gpusim_process_exit(q, call_cb, &d), GPUSIM_ESRCH);
    BAD(gpusim_process_fork(q, &pc, &child, call_cb, &d), GPUSIM_ESRCH);
    BAD(gpusim_process_mmap(q, 0, PG, GPUSIM_PROT_READ, GPUSIM_MAP_PRIVATE, NULL, 0, call_cb, &d),
        GPUSIM_ESRCH);
    BAD(gpusim_process_access(q, x.va, PG, GPUSIM_ACCESS_READ, NULL, call_cb, &d), GPUSIM_ESRCH);
    BAD(gpusim_process_pin(q, x.va, 1, 0, pfns, call_cb, &d), GPUSIM_ESRCH);
    ASSERT_OK(finish(&x, &c));
    assert_int_equal(d.done, 0);
    assert_ptr_equal(child, sentinel);
    hfx_free(&x);
}

static void test_pin(void **state)
{
    (void)state;
    hfx x;
    hfx_init(&x, false);
    uint64_t pfns[16], more[16];
    gpusim_time_t cost = 99;
    call c = {0};
    hsnap before = snap(&x);

    BAD(gpusim_process_pin(NULL, x.va, 1, 0, pfns, call_cb, &c), GPUSIM_EINVAL);
    BAD(gpusim_process_pin(x.p, x.va, 1, 0, NULL, call_cb, &c), GPUSIM_EINVAL);
    BAD(gpusim_process_pin(x.p, x.va, 0, 0, pfns, call_cb, &c), GPUSIM_EINVAL);
    BAD(gpusim_process_pin(x.p, x.va + 1, 1, 0, pfns, call_cb, &c), GPUSIM_EINVAL);
    BAD(gpusim_process_pin(x.p, VA_END, 1, 0, pfns, call_cb, &c), GPUSIM_EINVAL);
    BAD(gpusim_process_pin(x.p, VA_END - PG, 2, 0, pfns, call_cb, &c), GPUSIM_EINVAL);
    BAD(gpusim_process_pin(x.p, x.va, UINT64_MAX, 0, pfns, call_cb, &c), GPUSIM_EINVAL);
    BAD(gpusim_process_pin(x.p, x.va, UINT64_MAX / PG + 2, 0, pfns, call_cb, &c), GPUSIM_EINVAL);
    BAD(gpusim_process_pin(x.p, x.va, 1, 0x4, pfns, call_cb, &c), GPUSIM_EINVAL);
    BAD(gpusim_process_pin(x.dead, x.va, 1, 0, pfns, call_cb, &c), GPUSIM_ESRCH);
    /* Over the memlock limit (8 MiB = 2048 pages): ENOMEM, nothing charged. */
    BAD(gpusim_process_pin(x.p, x.va, 2049, 0, pfns, call_cb, &c), GPUSIM_ENOMEM);
    assert_unchanged(&x, &before);
    assert_int_equal(c.done, 0);

    /* Pin 4 pages, then unpin badly. */
    ASSERT_OK(gpusim_process_pin(x.p, x.va, 4, GPUSIM_PIN_WRITE, pfns, call_cb, &c));
    ASSERT_OK(finish(&x, &c));
    ASSERT_OK(gpusim_process_translate(x.p, x.va + 8 * PG, &(gpusim_host_pte_t){0}));
    gpusim_host_pte_t pte;
    ASSERT_OK(gpusim_process_translate(x.p, x.va + 8 * PG, &pte));
    before = snap(&x);
    BAD(gpusim_process_unpin(NULL, pfns, 4, false, &cost), GPUSIM_EINVAL);
    assert_true(cost == 0);
    BAD(gpusim_process_unpin(x.p, NULL, 4, false, NULL), GPUSIM_EINVAL);
    BAD(gpusim_process_unpin(x.p, pfns, 5, false, NULL), GPUSIM_EINVAL); /* more than pinned */
    BAD(gpusim_process_unpin(x.p, pfns, UINT64_MAX, false, NULL), GPUSIM_EINVAL);
    /* A frame that is not pinned among pinned ones: nothing is released. */
    memcpy(more, pfns, sizeof more);
    more[2] = pte.pfn;
    BAD(gpusim_process_unpin(x.p, more, 4, true, NULL), GPUSIM_EINVAL);
    /* A frame listed twice needs two pins. */
    more[2] = pfns[0];
    BAD(gpusim_process_unpin(x.p, more, 4, true, NULL), GPUSIM_EINVAL);
    /* Frame numbers past the end. */
    more[2] = 64 * GPUSIM_MIB / PG;
    BAD(gpusim_process_unpin(x.p, more, 4, true, NULL), GPUSIM_EINVAL);
    more[2] = UINT64_MAX;
    BAD(gpusim_process_unpin(x.p, more, 4, true, NULL), GPUSIM_EINVAL);
    /* The pins of another process (the dead one pinned nothing). */
    BAD(gpusim_process_unpin(x.dead, pfns, 1, false, NULL), GPUSIM_EINVAL);
    assert_unchanged(&x, &before);
    host_check_ok(x.h);

    /* Zero pages with a NULL list is nothing to do. */
    ASSERT_OK(gpusim_process_unpin(x.p, NULL, 0, false, NULL));
    /* Unpinned, then unpinned again ("use after free" of pins): EINVAL, nothing changes. */
    ASSERT_OK(gpusim_process_unpin(x.p, pfns, 4, false, &cost));
    before = snap(&x);
    BAD(gpusim_process_unpin(x.p, pfns, 4, false, &cost), GPUSIM_EINVAL);
    assert_unchanged(&x, &before);

    /* Status errors: an unmapped page; the pins taken so far are released. */
    memset(&c, 0, sizeof c);
    ASSERT_OK(gpusim_process_pin(x.p, x.va + 14 * PG, 4, 0, pfns, call_cb, &c));
    badinput_calls_++;
    assert_int_equal(finish(&x, &c), GPUSIM_EFAULT);
    gpusim_process_info_t pi;
    ASSERT_OK(gpusim_process_info(x.p, &pi));
    assert_true(pi.pinned == 0);
    hfx_free(&x);
}

static gpusim_notifier_answer_t sub_cb(gpusim_notifier_sub_t *sub,
                                       const gpusim_notifier_range_t *range, uint64_t cur_seq,
                                       gpusim_completion_t **wait_on)
{
    (void)range;
    (void)wait_on;
    gpusim_notifier_set_seq(sub, cur_seq);
    return GPUSIM_NOTIFIER_DONE;
}

static void test_range_fault(void **state)
{
    (void)state;
    hfx x;
    hfx_init(&x, false);
    uint64_t hmm[16];
    gpusim_process_t *q;
    gpusim_process_config_t pc;
    gpusim_notifier_sub_t *sub, *foreign;
    uint64_t seq;
    call c = {0};
    const uint64_t req = GPUSIM_HMM_REQ_FAULT;
    gpusim_process_config_init(&pc);
    pc.name = "other";
    ASSERT_OK(gpusim_process_new(x.h, &pc, &q));
    ASSERT_OK(
        gpusim_notifier_insert(gpusim_process_notifier(x.p), x.va, 16 * PG, sub_cb, NULL, &sub));
    ASSERT_OK(
        gpusim_notifier_insert(gpusim_process_notifier(q), x.va, 16 * PG, sub_cb, NULL, &foreign));
    ASSERT_OK(gpusim_notifier_read_begin(sub, &seq, NULL, NULL, NULL));
    hsnap before = snap(&x);

    BAD(gpusim_process_range_fault(NULL, NULL, 0, x.va, 1, req, 0, hmm, call_cb, &c),
        GPUSIM_EINVAL);
    BAD(gpusim_process_range_fault(x.p, NULL, 0, x.va, 1, req, 0, NULL, call_cb, &c),
        GPUSIM_EINVAL);
    BAD(gpusim_process_range_fault(x.p, NULL, 0, x.va, 0, req, 0, hmm, call_cb, &c), GPUSIM_EINVAL);
    BAD(gpusim_process_range_fault(x.p, NULL, 0, x.va + 8, 1, req, 0, hmm, call_cb, &c),
        GPUSIM_EINVAL);
    BAD(gpusim_process_range_fault(x.p, NULL, 0, VA_END, 1, req, 0, hmm, call_cb, &c),
        GPUSIM_EINVAL);
    BAD(gpusim_process_range_fault(x.p, NULL, 0, VA_END - PG, 2, req, 0, hmm, call_cb, &c),
        GPUSIM_EINVAL);
    BAD(gpusim_process_range_fault(x.p, NULL, 0, x.va, UINT64_MAX, req, 0, hmm, call_cb, &c),
        GPUSIM_EINVAL);
    BAD(gpusim_process_range_fault(x.p, NULL, 0, x.va, 1, 0x4, 0, hmm, call_cb, &c), GPUSIM_EINVAL);
    BAD(gpusim_process_range_fault(x.p, NULL, 0, x.va, 1, UINT64_MAX, 0, hmm, call_cb, &c),
        GPUSIM_EINVAL);
    /* A subscription of another process's domain. */
    BAD(gpusim_process_range_fault(x.p, foreign, seq, x.va, 1, req, 0, hmm, call_cb, &c),
        GPUSIM_EINVAL);
    BAD(gpusim_process_range_fault(x.dead, NULL, 0, x.va, 1, req, 0, hmm, call_cb, &c),
        GPUSIM_ESRCH);
    assert_unchanged(&x, &before);
    assert_int_equal(c.done, 0);

    /* While a call holds `sub`, its removal is refused; afterwards it goes. */
    ASSERT_OK(gpusim_process_range_fault(x.p, sub, seq, x.va, 4, req, 0, hmm, call_cb, &c));
    BAD(gpusim_notifier_remove(sub, NULL, NULL, NULL), GPUSIM_EBUSY);
    ASSERT_OK(finish(&x, &c));

    /* Status errors: an unmapped page; write on a read-only VMA. */
    memset(&c, 0, sizeof c);
    ASSERT_OK(gpusim_process_range_fault(x.p, NULL, 0, 0x7000000000, 1, req, 0, hmm, call_cb, &c));
    badinput_calls_++;
    assert_int_equal(finish(&x, &c), GPUSIM_EFAULT);
    memset(&c, 0, sizeof c);
    ASSERT_OK(gpusim_process_mprotect(x.p, x.va, PG, GPUSIM_PROT_READ, call_cb, &c));
    ASSERT_OK(finish(&x, &c));
    memset(&c, 0, sizeof c);
    ASSERT_OK(gpusim_process_range_fault(x.p, NULL, 0, x.va, 1, req | GPUSIM_HMM_REQ_WRITE, 0, hmm,
                                         call_cb, &c));
    badinput_calls_++;
    assert_int_equal(finish(&x, &c), GPUSIM_EPERM);

    ASSERT_OK(gpusim_notifier_remove(sub, NULL, NULL, NULL));
    ASSERT_OK(gpusim_notifier_remove(foreign, NULL, NULL, NULL));
    hfx_free(&x);
}

/* gpusim_host_free() while operations are in flight: EBUSY, nothing freed. */
static void test_host_free_busy(void **state)
{
    (void)state;
    hfx x;
    hfx_init(&x, false);
    call c = {0};
    ASSERT_OK(gpusim_process_access(x.p, x.va, 16 * PG, GPUSIM_ACCESS_READ, NULL, call_cb, &c));
    BAD(gpusim_host_free(x.h), GPUSIM_EBUSY);
    ASSERT_OK(finish(&x, &c));
    ASSERT_OK(gpusim_host_free(x.h2));
    hfx_free(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        GPUSIM_TEST(test_config),       GPUSIM_TEST(test_host_new),
        GPUSIM_TEST(test_host_queries), GPUSIM_TEST(test_frame_data),
        GPUSIM_TEST(test_process_new),  GPUSIM_TEST(test_process_domain),
        GPUSIM_TEST(test_mmap),         GPUSIM_TEST(test_munmap_mprotect_madvise),
        GPUSIM_TEST(test_mremap),       GPUSIM_TEST(test_access),
        GPUSIM_TEST(test_fork_exit),    GPUSIM_TEST(test_pin),
        GPUSIM_TEST(test_range_fault),  GPUSIM_TEST(test_host_free_busy),
    };
    return cmocka_run_group_tests(tests, NULL, badinput_report);
}
