/*
 * tests/test_host_check.c -- the host's invariant checker (src/host/check.c).
 *
 * Each test builds a small consistent host through the public API (mmap, CPU reads and writes,
 * munmap, mprotect, madvise), plus a swapped-out page made by hand with the internal helpers,
 * asserts that the checker passes, then corrupts one invariant at a time through the internal
 * structures and asserts that the checker reports exactly that (GPUSIM_ECORRUPT and a message
 * naming it), restores it, and asserts that the checker passes again.
 */
#include "test_util.h"
#include "host_util.h"

#include "host/host.h"
#include "notifier/notifier.h"

#define MIB  GPUSIM_MIB
#define PAGE GPUSIM_HOST_PAGE_SIZE
#define HUGE GPUSIM_HOST_HUGE_SIZE

/* Fixed addresses of the fixture's mappings. */
#define VA_ANON  UINT64_C(0x100000000) /* 16 pages private anonymous, written; 2 unmapped */
#define VA_ZERO  UINT64_C(0x100100000) /* 4 pages private anonymous, read (zero page) */
#define VA_RO    UINT64_C(0x100200000) /* 4 pages private anonymous, written, then read-only */
#define VA_SHM   UINT64_C(0x100300000) /* 8 pages shared anonymous, written */
#define VA_FSH   UINT64_C(0x100400000) /* 8 pages of the file, shared */
#define VA_THP   UINT64_C(0x200000000) /* 4 MiB private anonymous, MADV_HUGEPAGE, one THP */
#define VA_FPRIV UINT64_C(0x100500000) /* (process b) 8 pages of the file, private */
#define VA_FAR   UINT64_C(0x300000000) /* nothing mapped */

/* ---- fixture -------------------------------------------------------------------------------- */

typedef struct fx {
    gpusim_world_t *w;
    gpusim_host_t *h;
    gpusim_process_t *a, *b;
    gpusim_file_t *file;
    uint32_t swap_slot; /* the hand-made swap entry of a at VA_ANON + 3 pages */
} fx;

static char msg[512];

static void check_ok(fx *f)
{
    int rc = gpusim_host_check(f->h, msg, sizeof msg);
    if (rc)
        fail_msg("host check: %s (%s)", msg, gpusim_err_name(rc));
}

/* The checker must fail with ECORRUPT and a message containing `what`. */
#define CORRUPT(f, what)                                                                           \
    do {                                                                                           \
        int rc_ = gpusim_host_check((f)->h, msg, sizeof msg);                                      \
        if (rc_ != GPUSIM_ECORRUPT)                                                                \
            fail_msg("line %d: expected ECORRUPT for \"%s\", got %s (%s)", __LINE__, what,         \
                     gpusim_err_name(rc_), msg);                                                   \
        if (!strstr(msg, what))                                                                    \
            fail_msg("line %d: expected \"%s\" in \"%s\"", __LINE__, what, msg);                   \
    } while (0)

static int run_call(fx *f, call *c)
{
    ASSERT_OK(gpusim_world_run(f->w));
    assert_int_equal(c->done, 1);
    check_ok(f);
    return c->status;
}

static void do_mmap(fx *f, gpusim_process_t *p, uint64_t addr, uint64_t len, unsigned prot,
                    unsigned flags, gpusim_file_t *file)
{
    call c = {0};
    ASSERT_OK(
        gpusim_process_mmap(p, addr, len, prot, flags | GPUSIM_MAP_FIXED, file, 0, call_cb, &c));
    ASSERT_OK(run_call(f, &c));
    assert_int_equal(c.result, addr);
}

/* Writes carry a pattern (data mode), so pages have contents that swap and COW must keep. */
static void do_access(fx *f, gpusim_process_t *p, uint64_t addr, uint64_t len, bool write)
{
    static uint8_t buf[16 * PAGE];
    call c = {0};
    assert_true(len <= sizeof buf);
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(addr + i * 7);
    ASSERT_OK(gpusim_process_access(p, addr, len, write ? GPUSIM_ACCESS_WRITE : GPUSIM_ACCESS_READ,
                                    buf, call_cb, &c));
    ASSERT_OK(run_call(f, &c));
}

static void do_munmap(fx *f, gpusim_process_t *p, uint64_t addr, uint64_t len)
{
    call c = {0};
    ASSERT_OK(gpusim_process_munmap(p, addr, len, call_cb, &c));
    ASSERT_OK(run_call(f, &c));
}

static void do_mprotect(fx *f, gpusim_process_t *p, uint64_t addr, uint64_t len, unsigned prot)
{
    call c = {0};
    ASSERT_OK(gpusim_process_mprotect(p, addr, len, prot, call_cb, &c));
    ASSERT_OK(run_call(f, &c));
}

static void do_madvise(fx *f, gpusim_process_t *p, uint64_t addr, uint64_t len,
                       gpusim_madvise_t advice)
{
    call c = {0};
    ASSERT_OK(gpusim_process_madvise(p, addr, len, advice, call_cb, &c));
    ASSERT_OK(run_call(f, &c));
}

/* The frame behind va in p (present). */
static uint32_t pfn_at(gpusim_process_t *p, uint64_t va)
{
    gpusim_host_pte_t t;
    ASSERT_OK(gpusim_process_translate(p, va, &t));
    assert_true(t.present);
    return (uint32_t)t.pfn;
}

/* The level-0 entry of p at va. */
static pte_t *pte_at(gpusim_process_t *p, uint64_t va)
{
    pte_t *e = gpusim__pt_lookup(&p->pt, va, NULL);
    assert_non_null(e);
    return e;
}

/* Swaps the private anonymous 4 KiB page at va out by hand, as reclaim would. Returns the slot. */
static uint32_t swap_out(gpusim_process_t *p, uint64_t va)
{
    gpusim_host_t *h = p->host;
    pte_t *e = pte_at(p, va);
    uint32_t pfn = PTE_PFN(*e), s;
    assert_true(PTE_IS_PRESENT(*e));
    ASSERT_OK(gpusim__swap_alloc(h, &s));
    ASSERT_OK(gpusim__data_to_slot(h, s, pfn));
    gpusim__unmap_entry(p, va, e, false); /* the last reference: the frame is freed */
    *e = PTE_MK(s, PTE_TYPE_SWAP);
    p->swapents++;
    return s;
}

/*
 * The consistent state every test starts from: two processes; private anonymous pages written,
 * read (zero page) and made read-only; a partial munmap; a THP; shared anonymous memory; a file
 * mapped shared by a and private by b (page-cache frames mapped by both, and one COW copy); a
 * swapped-out page.
 */
static fx *fx_new(unsigned nodes)
{
    static fx f;
    gpusim_host_config_t cfg;
    gpusim_process_config_t pc;
    memset(&f, 0, sizeof f);
    f.w = test_world(7);
    gpusim_host_config_init(&cfg);
    cfg.ram_bytes = 32 * MIB;
    cfg.swap_bytes = 8 * MIB;
    cfg.nodes = nodes;
    cfg.movable_bytes = nodes > 1 ? 4 * MIB : 0;
    cfg.data_mode = true;
    cfg.thp = GPUSIM_THP_MADVISE;
    ASSERT_OK(gpusim_host_new(f.w, &cfg, &f.h));
    check_ok(&f);
    gpusim_process_config_init(&pc);
    pc.name = "a";
    ASSERT_OK(gpusim_process_new(f.h, &pc, &f.a));
    pc.name = "b";
    pc.node = nodes - 1;
    ASSERT_OK(gpusim_process_new(f.h, &pc, &f.b));
    ASSERT_OK(gpusim_host_file_new(f.h, 32 * PAGE, &f.file));
    check_ok(&f);

    do_mmap(&f, f.a, VA_ANON, 16 * PAGE, GPUSIM_PROT_READ | GPUSIM_PROT_WRITE, GPUSIM_MAP_PRIVATE,
            NULL);
    do_access(&f, f.a, VA_ANON, 16 * PAGE, true);
    do_munmap(&f, f.a, VA_ANON + 6 * PAGE, 2 * PAGE);
    do_mmap(&f, f.a, VA_ZERO, 4 * PAGE, GPUSIM_PROT_READ | GPUSIM_PROT_WRITE, GPUSIM_MAP_PRIVATE,
            NULL);
    do_access(&f, f.a, VA_ZERO, 4 * PAGE, false);
    do_mmap(&f, f.a, VA_RO, 4 * PAGE, GPUSIM_PROT_READ | GPUSIM_PROT_WRITE, GPUSIM_MAP_PRIVATE,
            NULL);
    do_access(&f, f.a, VA_RO, 4 * PAGE, true);
    do_mprotect(&f, f.a, VA_RO, 4 * PAGE, GPUSIM_PROT_READ);
    do_mmap(&f, f.a, VA_SHM, 8 * PAGE, GPUSIM_PROT_READ | GPUSIM_PROT_WRITE, GPUSIM_MAP_SHARED,
            NULL);
    do_access(&f, f.a, VA_SHM, 8 * PAGE, true);
    do_mmap(&f, f.a, VA_THP, 2 * HUGE, GPUSIM_PROT_READ | GPUSIM_PROT_WRITE, GPUSIM_MAP_PRIVATE,
            NULL);
    do_madvise(&f, f.a, VA_THP, 2 * HUGE, GPUSIM_MADV_HUGEPAGE);
    do_access(&f, f.a, VA_THP, PAGE, true);
    do_mmap(&f, f.a, VA_FSH, 8 * PAGE, GPUSIM_PROT_READ | GPUSIM_PROT_WRITE, GPUSIM_MAP_SHARED,
            f.file);
    do_access(&f, f.a, VA_FSH, 2 * PAGE, true);
    do_access(&f, f.a, VA_FSH + 2 * PAGE, 2 * PAGE, false);
    do_mmap(&f, f.b, VA_FPRIV, 8 * PAGE, GPUSIM_PROT_READ | GPUSIM_PROT_WRITE, GPUSIM_MAP_PRIVATE,
            f.file);
    do_access(&f, f.b, VA_FPRIV, 4 * PAGE, false);
    do_access(&f, f.b, VA_FPRIV + 5 * PAGE, PAGE, true);

    f.swap_slot = swap_out(f.a, VA_ANON + 3 * PAGE);
    check_ok(&f);
    return &f;
}

static void fx_free(fx *f)
{
    check_ok(f);
    gpusim_world_free(f->w);
    ASSERT_NO_LEAK();
}

/* ---- the consistent state ------------------------------------------------------------------- */

static void test_check_clean(void **state)
{
    fx *f;
    gpusim_host_pte_t t;
    (void)state;
    ASSERT_ERR(gpusim_host_check(NULL, msg, sizeof msg), GPUSIM_EINVAL);
    f = fx_new(1);
    /* The fixture is what it claims to be. */
    ASSERT_OK(gpusim_process_translate(f->a, VA_THP, &t));
    assert_true(t.present && t.huge);
    ASSERT_OK(gpusim_process_translate(f->a, VA_ZERO, &t));
    assert_true(t.present && t.pfn == HOST_ZERO_PFN);
    ASSERT_OK(gpusim_process_translate(f->a, VA_ANON + 3 * PAGE, &t));
    assert_true(t.swapped);
    assert_int_equal(pfn_at(f->a, VA_FSH + 2 * PAGE), pfn_at(f->b, VA_FPRIV + 2 * PAGE));
    assert_int_equal(gpusim__rmap_count(f->h, pfn_at(f->b, VA_FPRIV + 2 * PAGE)), 2);
    /* msg may be NULL, and a short buffer is truncated, not overrun. */
    ASSERT_OK(gpusim_host_check(f->h, NULL, 0));
    f->h->free++;
    ASSERT_ERR(gpusim_host_check(f->h, NULL, 0), GPUSIM_ECORRUPT);
    memset(msg, 'x', sizeof msg);
    ASSERT_ERR(gpusim_host_check(f->h, msg, 8), GPUSIM_ECORRUPT);
    assert_int_equal(strlen(msg), 7);
    assert_int_equal(msg[8], 'x');
    f->h->free--;
    fx_free(f);
}

/* Scratch allocation failures give ENOMEM, a message, and leave nothing behind. */
static void test_check_nomem(void **state)
{
    fx *f;
    int rc;
    long n;
    (void)state;
    f = fx_new(1);
    for (n = 1;; n++) {
        int64_t before = gpusim__alloc_outstanding();
        gpusim__alloc_fail_nth(n);
        rc = gpusim_host_check(f->h, msg, sizeof msg);
        gpusim__alloc_fail_nth(0);
        assert_int_equal(gpusim__alloc_outstanding(), before);
        if (rc == 0)
            break;
        assert_int_equal(rc, GPUSIM_ENOMEM);
        assert_non_null(strstr(msg, "no memory"));
    }
    assert_true(n > 1);
    fx_free(f);
}

/* ---- (a) physical memory -------------------------------------------------------------------- */

static void test_check_physical(void **state)
{
    fx *f;
    gpusim_host_t *h;
    uint32_t pfn, b, head, fb;
    hblock *blk;
    (void)state;
    f = fx_new(1);
    h = f->h;
    pfn = pfn_at(f->a, VA_ANON);
    b = pfn / HOST_HUGE_PAGES;
    blk = &h->blocks[b];
    assert_int_equal(blk->list, BL_PARTIAL);

    blk->nfree++;
    CORRUPT(f, "nfree");
    blk->nfree--;
    check_ok(f);

    h->nodes[0].free++;
    CORRUPT(f, "node 0: free");
    h->nodes[0].free--;
    h->free--;
    CORRUPT(f, "host free");
    h->free++;
    check_ok(f);

    /* A block whose list field disagrees with the list it is on. */
    blk->list = BL_NONE;
    CORRUPT(f, "but on node 0 partial");
    blk->list = BL_PARTIAL;
    h->nodes[0].partial[0].count++;
    CORRUPT(f, "count");
    h->nodes[0].partial[0].count--;
    check_ok(f);

    /* A FREE frame dropped from its block's free list. */
    {
        uint32_t first = blk->free_head;
        blk->free_head = h->frames[first].next;
        CORRUPT(f, "free list");
        blk->free_head = first;
    }
    /* A used frame marked FREE (and so missing from the free list). */
    {
        uint8_t st = h->frames[pfn].state;
        h->frames[pfn].state = GPUSIM_FRAME_FREE;
        CORRUPT(f, "FREE");
        h->frames[pfn].state = st;
    }
    check_ok(f);

    /* A fresh block that is not wholly free. */
    fb = h->nodes[0].freeblocks[0].head;
    assert_int_not_equal(fb, HOST_NIL);
    assert_true(h->blocks[fb].fresh);
    h->blocks[fb].nfree = 511;
    CORRUPT(f, "nfree 511");
    h->blocks[fb].nfree = HOST_HUGE_PAGES;
    check_ok(f);

    /* The zero page. */
    h->frames[HOST_ZERO_PFN].refcount = 2;
    CORRUPT(f, "zero page");
    h->frames[HOST_ZERO_PFN].refcount = 1;
    h->frames[pfn].state = GPUSIM_FRAME_RESERVED;
    CORRUPT(f, "RESERVED");
    h->frames[pfn].state = GPUSIM_FRAME_USED;
    check_ok(f);

    /* Compound frames: tails after an aligned head, nothing else. */
    head = pfn_at(f->a, VA_THP);
    assert_int_equal(head % HOST_HUGE_PAGES, 0);
    h->frames[head + 7].state = GPUSIM_FRAME_USED;
    CORRUPT(f, "inside the compound frame");
    h->frames[head + 7].state = GPUSIM_FRAME_TAIL;
    h->frames[pfn].flags |= FF_HEAD;
    CORRUPT(f, "FF_HEAD");
    h->frames[pfn].flags &= (uint16_t)~FF_HEAD;
    h->frames[head + 9].refcount = 1;
    CORRUPT(f, "TAIL with refcount 1");
    h->frames[head + 9].refcount = 0;
    fx_free(f);
}

/* Two nodes and a movable zone: per-node lists and sums. */
static void test_check_nodes(void **state)
{
    fx *f;
    hnode *n1;
    uint32_t b;
    (void)state;
    f = fx_new(2);
    n1 = &f->h->nodes[1];
    assert_true(n1->movable_first < n1->first_block + n1->nblocks);
    n1->free++;
    CORRUPT(f, "node 1: free");
    n1->free--;
    check_ok(f);
    /* A block of node 1 moved to node 0's list (count adjusted, so only membership is wrong). */
    b = n1->freeblocks[0].head;
    assert_int_not_equal(b, HOST_NIL);
    assert_int_not_equal(f->h->nodes[0].freeblocks[0].head, HOST_NIL);
    {
        hlist save0 = f->h->nodes[0].freeblocks[0], save1 = n1->freeblocks[0];
        hblock saveb = f->h->blocks[b];
        uint32_t next = f->h->blocks[b].next;
        n1->freeblocks[0].head = next;
        if (next != HOST_NIL)
            f->h->blocks[next].prev = HOST_NIL;
        n1->freeblocks[0].count--;
        f->h->blocks[b].next = f->h->nodes[0].freeblocks[0].head;
        f->h->blocks[f->h->nodes[0].freeblocks[0].head].prev = b;
        f->h->nodes[0].freeblocks[0].head = b;
        f->h->nodes[0].freeblocks[0].count++;
        CORRUPT(f, "is not in this node");
        f->h->blocks[f->h->blocks[b].next].prev = HOST_NIL;
        if (next != HOST_NIL)
            f->h->blocks[next].prev = b;
        f->h->blocks[b] = saveb;
        f->h->nodes[0].freeblocks[0] = save0;
        n1->freeblocks[0] = save1;
    }
    fx_free(f);
}

/* ---- (b) reference, map and pin counts, the page cache -------------------------------------- */

static void test_check_counts(void **state)
{
    fx *f;
    gpusim_host_t *h;
    hframe *fr;
    uint32_t pfn, head, cached, extra;
    (void)state;
    f = fx_new(1);
    h = f->h;
    pfn = pfn_at(f->a, VA_ANON + PAGE);
    fr = &h->frames[pfn];

    fr->refcount++;
    CORRUPT(f, "refcount 2 but mapcount 1 + pincount 0 + cache 0");
    fr->refcount--;
    fr->mapcount++;
    CORRUPT(f, "mapcount 2 but 1 page-table entries map it");
    fr->mapcount--;
    fr->pincount++;
    CORRUPT(f, "refcount 1 but mapcount 1 + pincount 1");
    fr->refcount++;
    h->pinned_frames++;
    check_ok(f); /* a consistent pin */
    fr->refcount--;
    fr->pincount--;
    h->pinned_frames--;
    check_ok(f);

    /* Pins of a compound frame count on its head. */
    head = pfn_at(f->a, VA_THP);
    h->frames[head + 100].pincount = 1;
    h->pinned_frames++;
    CORRUPT(f, "+ pincount 1");
    h->frames[head].refcount++;
    check_ok(f);
    h->frames[head].refcount--;
    h->frames[head + 100].pincount = 0;
    h->pinned_frames--;
    check_ok(f);

    /* The page cache's reference. */
    cached = pfn_at(f->a, VA_FSH + 2 * PAGE);
    assert_int_equal(h->frames[cached].refcount, 3); /* a, b, the page cache */
    h->frames[cached].refcount--;
    CORRUPT(f, "+ cache 1");
    h->frames[cached].refcount++;
    h->frames[cached].index++;
    CORRUPT(f, "index");
    h->frames[cached].index--;
    check_ok(f);

    /* A USED frame nobody refers to, with nothing in flight: leaked. */
    ASSERT_OK(gpusim__frame_alloc(h, 0, 0, true, false, &extra));
    CORRUPT(f, "leaked");
    gpusim__frame_free(h, extra);
    check_ok(f);

    /* An anonymous page mapped writable and a second time: COW not broken. */
    {
        pte_t *z = pte_at(f->a, VA_ZERO);
        assert_int_equal(PTE_PFN(*z), HOST_ZERO_PFN);
        gpusim__unmap_entry(f->a, VA_ZERO, z, false);
        ASSERT_OK(gpusim__rmap_reserve(h, 2));
        gpusim__map_frame(f->a, VA_ZERO, z, pfn, false, false, false);
        CORRUPT(f, "copy-on-write not broken");
        *pte_at(f->a, VA_ANON + PAGE) &= ~(pte_t)PTE_WRITE;
        check_ok(f); /* both read-only: a legal COW share */
        *pte_at(f->a, VA_ANON + PAGE) |= PTE_WRITE;
        gpusim__unmap_entry(f->a, VA_ZERO, z, false);
        gpusim__map_frame(f->a, VA_ZERO, z, HOST_ZERO_PFN, false, false, false);
    }
    fx_free(f);
}

/* ---- (b) reverse map ------------------------------------------------------------------------ */

static void test_check_rmap(void **state)
{
    fx *f;
    gpusim_host_t *h;
    uint32_t pfn, shared;
    uint64_t save;
    (void)state;
    f = fx_new(1);
    h = f->h;
    pfn = pfn_at(f->a, VA_ANON + 2 * PAGE);
    save = h->frames[pfn].rmap;
    assert_int_equal(save, RMAP_KEY(f->a->slot, VA_ANON + 2 * PAGE, false));

    h->frames[pfn].rmap = 0;
    CORRUPT(f, "rmap is empty");
    h->frames[pfn].rmap = RMAP_KEY(f->a->slot, VA_ANON + 4 * PAGE, false);
    CORRUPT(f, "which does not map it");
    h->frames[pfn].rmap = RMAP_KEY(f->b->slot, VA_ANON + 2 * PAGE, false);
    CORRUPT(f, "which does not map it");
    h->frames[pfn].rmap = RMAP_KEY(f->a->slot, VA_ANON + 2 * PAGE, true);
    CORRUPT(f, "(2 MiB)");
    h->frames[pfn].rmap = save;
    check_ok(f);

    /* A frame mapped by two processes: entries in the pool. */
    shared = pfn_at(f->b, VA_FPRIV + 2 * PAGE);
    assert_true(h->frames[shared].rmap & RMAP_EXT);
    {
        uint32_t i = (uint32_t)(h->frames[shared].rmap & ~RMAP_EXT);
        uint32_t j = h->rpool[i].next;
        uint64_t k = h->rpool[j].key;
        h->rpool[j].key = h->rpool[i].key;
        CORRUPT(f, "twice");
        h->rpool[j].key = k;
        check_ok(f);
        h->rpool_used++;
        CORRUPT(f, "rmap pool");
        h->rpool_used--;
        /* A chain of one entry must have gone back inline. */
        h->rpool[i].next = HOST_NIL;
        CORRUPT(f, "single rmap entry");
        h->rpool[i].next = j;
    }
    fx_free(f);
}

/* ---- (c, g) processes, VMAs, page tables, files --------------------------------------------- */

static void test_check_process(void **state)
{
    fx *f;
    gpusim_process_t *a;
    pte_t *e, save;
    hvma *v;
    (void)state;
    f = fx_new(1);
    a = f->a;

    a->rss_anon++;
    CORRUPT(f, "rss anon/file/shmem");
    a->rss_anon--;
    a->rss_shmem--;
    CORRUPT(f, "rss anon/file/shmem");
    a->rss_shmem++;
    f->b->rss_file++;
    CORRUPT(f, "process b: rss");
    f->b->rss_file--;
    a->swapents++;
    CORRUPT(f, "swapents 2 but its page table holds 1");
    a->swapents--;
    a->nvmas++;
    CORRUPT(f, "nvmas");
    a->nvmas--;
    check_ok(f);
    /* The notifier domain: an invalidation counted open that no invalidator holds (a start
     * without its end). */
    a->notifier->active++;
    CORRUPT(f, "process a: notifier domain inconsistent");
    a->notifier->active--;
    check_ok(f);

    /* A VMA shrunk under its entries. */
    v = gpusim__vma_find(a, VA_ANON);
    assert_non_null(v);
    gpusim__itree_remove(&a->vmas, &v->node);
    v->node.last -= PAGE;
    gpusim__itree_insert(&a->vmas, &v->node);
    CORRUPT(f, "is not inside one VMA");
    gpusim__itree_remove(&a->vmas, &v->node);
    v->node.last += PAGE;
    gpusim__itree_insert(&a->vmas, &v->node);
    check_ok(f);

    /* A writable entry in a read-only VMA (mprotect must have write-protected it). */
    e = pte_at(a, VA_RO + PAGE);
    assert_false(*e & PTE_WRITE);
    *e |= PTE_WRITE;
    CORRUPT(f, "writable entry at 0x100201000 in a VMA without write");
    *e &= ~(pte_t)PTE_WRITE;
    /* The zero page must stay read-only. */
    e = pte_at(a, VA_ZERO);
    *e |= PTE_WRITE;
    CORRUPT(f, "zero page");
    *e &= ~(pte_t)PTE_WRITE;
    check_ok(f);

    /* Entries that must not exist. */
    e = pte_at(a, VA_ZERO + PAGE);
    save = *e;
    *e = PTE_MK(HOST_NIL >> 1, PTE_PRESENT);
    CORRUPT(f, "names frame");
    *e = PTE_MK(12345, 0x4); /* not present, type 2: no such entry type (host.h) */
    CORRUPT(f, "unknown entry");
    *e = PTE_MK(f->h->nslots, PTE_TYPE_SWAP);
    CORRUPT(f, "names slot");
    *e = PTE_MK(f->h->nframes - 1, PTE_PRESENT); /* the last frame is free */
    CORRUPT(f, "maps FREE frame");
    *e = PTE_MK(pfn_at(a, VA_THP) + 1, PTE_PRESENT); /* a tail of the THP */
    CORRUPT(f, "maps TAIL frame");
    *e = save;
    check_ok(f);

    /* The 2 MiB entry: its huge bit, and only in private anonymous memory. */
    {
        pte_t *pmd;
        assert_null(gpusim__pt_lookup(&a->pt, VA_THP, &pmd));
        assert_true(pmd && (*pmd & PTE_HUGE));
        *pmd &= ~(pte_t)PTE_HUGE;
        CORRUPT(f, "huge bit clear");
        *pmd |= PTE_HUGE;
        gpusim__vma_find(a, VA_THP)->flags |= VM_SHARED;
        CORRUPT(f, "shared anonymous VMA");
        gpusim__vma_find(a, VA_THP)->flags &= ~(uint32_t)VM_SHARED;
        check_ok(f);
    }
    /* A swap entry in a shared mapping (shmem pages are swapped through their object). */
    e = pte_at(a, VA_ANON + 3 * PAGE);
    {
        pte_t *s = pte_at(a, VA_SHM + PAGE), keep = *s;
        *s = *e;
        CORRUPT(f, "in a shared mapping");
        *s = keep;
    }
    check_ok(f);

    /* A page-cache page where the VMA maps another index, and an anonymous page in a shared
     * mapping. */
    e = pte_at(a, VA_FSH);
    save = *e;
    *e = (*pte_at(a, VA_FSH + PAGE) & ~(pte_t)PTE_WRITE);
    CORRUPT(f, "not the page cache page its VMA maps");
    *e = save;
    check_ok(f);

    /* Page tables: the count, and the prune invariant. */
    a->pt.tables++;
    CORRUPT(f, "pt.tables");
    a->pt.tables--;
    assert_non_null(gpusim__pt_alloc(f->h, &a->pt, VA_FAR));
    CORRUPT(f, "empty level-0 table");
    gpusim__pt_prune(f->h, &a->pt, VA_FAR, VA_FAR + PAGE);
    check_ok(f);

    /* Files: mappers and cached pages. */
    f->file->mappers++;
    CORRUPT(f, "mappers 3 but 2 VMAs map it");
    f->file->mappers--;
    f->file->cached++;
    CORRUPT(f, "cached");
    f->file->cached--;
    fx_free(f);
}

/* ---- (d) LRU -------------------------------------------------------------------------------- */

static void test_check_lru(void **state)
{
    fx *f;
    gpusim_host_t *h;
    hframe *fr;
    hlist *l;
    uint32_t pfn;
    (void)state;
    f = fx_new(1);
    h = f->h;
    pfn = pfn_at(f->a, VA_ANON + 4 * PAGE);
    fr = &h->frames[pfn];
    assert_true(fr->flags & FF_LRU);
    l = &h->nodes[0].lru[fr->lru];

    /* Off the list but still flagged. */
    {
        uint8_t k = fr->lru;
        uint16_t flags = fr->flags;
        gpusim__lru_del(h, pfn);
        fr->flags = flags;
        fr->lru = k;
        CORRUPT(f, "FF_LRU but on no LRU list");
        fr->flags &= (uint16_t) ~(FF_LRU | FF_ACTIVE);
        gpusim__lru_add(h, pfn, (flags & FF_ACTIVE) != 0);
        check_ok(f);
        /* Mapped, but off every list and not flagged (a forgotten lru_add): reclaim cannot see it. */
        gpusim__lru_del(h, pfn);
        CORRUPT(f, "in use but not on an LRU list");
        gpusim__lru_add(h, pfn, (flags & FF_ACTIVE) != 0);
        check_ok(f);
    }
    /* On the list but not flagged; flagged for the wrong list; a bad link; a bad count. */
    fr->flags &= (uint16_t)~FF_LRU;
    CORRUPT(f, "FF_LRU clear");
    fr->flags |= FF_LRU;
    fr->flags ^= FF_ACTIVE;
    CORRUPT(f, "do not suit lru");
    fr->flags ^= FF_ACTIVE;
    assert_int_equal(l->head, pfn); /* just added */
    fr->prev = fr->next;
    CORRUPT(f, "lru prev");
    fr->prev = HOST_NIL;
    l->count++;
    CORRUPT(f, "count");
    l->count--;
    check_ok(f);
    fx_free(f);
}

/* ---- (e) swap ------------------------------------------------------------------------------- */

static void test_check_swap(void **state)
{
    fx *f;
    gpusim_host_t *h;
    uint32_t s, top;
    (void)state;
    f = fx_new(1);
    h = f->h;
    s = f->swap_slot;
    assert_int_equal(h->slot_refs[s], 1);

    h->slot_refs[s]++;
    CORRUPT(f, "slot_refs 2 but 1 references found");
    h->slot_refs[s]--;
    check_ok(f);

    /* The free stack: a referenced slot on it, a slot on it twice, a slot missing from it. */
    top = h->slot_free[h->nslot_free - 1];
    h->slot_free[h->nslot_free - 1] = s;
    CORRUPT(f, "referenced");
    h->slot_free[h->nslot_free - 1] = h->slot_free[0];
    CORRUPT(f, "listed twice");
    h->slot_free[h->nslot_free - 1] = top;
    h->nslot_free--;
    CORRUPT(f, "on the free stack");
    h->nslot_free++;
    check_ok(f);

    /* A shmem page swapped out is referenced by its object's slot. */
    {
        gpusim_file_t *shm = gpusim__vma_find(f->a, VA_SHM)->file;
        assert_true(shm->shmem);
        h->slot_refs[top] = 1;
        h->nslot_free--;
        CORRUPT(f, "slot_refs 1 but 0 references found");
        /* Room for a page beyond the mapped ones, in the same chunk: unused, so no entry maps it. */
        shm->npages++;
        assert_true(shm->npages <= FILE_CHUNK);
        assert_int_equal(gpusim__file_slot_reserve(h, shm, shm->npages - 1), 0);
        gpusim__file_slot_set(shm, shm->npages - 1, FILE_SLOT_SWAP | top);
        check_ok(f);
        gpusim__file_slot_set(shm, shm->npages - 1, 0);
        shm->npages--;
        h->slot_refs[top] = 0;
        h->nslot_free++;
    }
    fx_free(f);
}

/* ---- (f) accounting ------------------------------------------------------------------------- */

static void test_check_accounting(void **state)
{
    fx *f;
    gpusim_host_t *h;
    uint64_t *fields[5];
    const char *names[5] = {"frames anon", "frames anon", "frames anon", "frames anon",
                            "pinned_frames"};
    (void)state;
    f = fx_new(1);
    h = f->h;
    fields[0] = &h->anon_frames;
    fields[1] = &h->file_frames;
    fields[2] = &h->shmem_frames;
    fields[3] = &h->thp_frames;
    fields[4] = &h->pinned_frames;
    assert_true(h->anon_frames > 0 && h->file_frames > 0 && h->shmem_frames > 0 &&
                h->thp_frames == HOST_HUGE_PAGES);
    for (int i = 0; i < 5; i++) {
        (*fields[i])++;
        CORRUPT(f, names[i]);
        (*fields[i])--;
        check_ok(f);
    }
    fx_free(f);
}

/* ---- (h) data mode -------------------------------------------------------------------------- */

static void test_check_data(void **state)
{
    fx *f;
    gpusim_host_t *h;
    uint32_t freepfn;
    uint8_t *buf;
    (void)state;
    f = fx_new(1);
    h = f->h;
    /* The swapped page's contents went to its slot; a written page has contents. */
    assert_non_null(h->slot_data[f->swap_slot]);
    assert_non_null(h->data[pfn_at(f->a, VA_ANON)]);
    buf = gpusim__arena_zalloc(&f->w->arena, PAGE);
    assert_non_null(buf);

    freepfn = h->blocks[pfn_at(f->a, VA_ANON) / HOST_HUGE_PAGES].free_head;
    assert_int_not_equal(freepfn, HOST_NIL);
    h->data[freepfn] = buf;
    CORRUPT(f, "FREE but holds contents");
    h->data[freepfn] = NULL;
    h->data[HOST_ZERO_PFN] = buf;
    CORRUPT(f, "zero page has contents");
    h->data[HOST_ZERO_PFN] = NULL;
    h->slot_data[h->slot_free[0]] = buf;
    CORRUPT(f, "free but holds contents");
    h->slot_data[h->slot_free[0]] = NULL;
    check_ok(f);
    gpusim__arena_free(&f->w->arena, buf, PAGE);
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        GPUSIM_TEST(test_check_clean),    GPUSIM_TEST(test_check_nomem),
        GPUSIM_TEST(test_check_physical), GPUSIM_TEST(test_check_nodes),
        GPUSIM_TEST(test_check_counts),   GPUSIM_TEST(test_check_rmap),
        GPUSIM_TEST(test_check_process),  GPUSIM_TEST(test_check_lru),
        GPUSIM_TEST(test_check_swap),     GPUSIM_TEST(test_check_accounting),
        GPUSIM_TEST(test_check_data),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
