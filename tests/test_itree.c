/*
 * tests/test_itree.c -- the intrusive augmented AVL interval tree (core/itree.h).
 *
 * Covers: the empty tree and a single node; inclusive bounds and adjacent intervals; ties on start
 * broken by `order`; intervals at address 0 and at UINT64_MAX; removal of a node with two children
 * relinking nodes instead of copying keys; next() from any node and removal during an iteration;
 * a randomized differential test that drives the tree and a brute-force array with the same
 * inserts and removes (with disjoint and with heavily nested intervals, at the bottom and the top
 * of the address space), checks every invariant after each operation and compares the first/next
 * iteration of many queries and the full min/successor walk with the brute force; and the AVL
 * height bound after 100000 ascending inserts and the removal of every other node.
 */
#include "test_util.h"

#include <math.h>

#include "core/compiler.h"
#include "core/itree.h"

/* ------------------------------------------------------------------------------------------- */
/* Items: nodes embedded in a caller structure, with a reference copy of their keys            */
/* ------------------------------------------------------------------------------------------- */

typedef struct item {
    gpusim__itree_node node;   /* The embedded tree node. */
    int id;                    /* Index in its pool. */
    bool live;                 /* In the tree. */
    uint64_t start, last, ord; /* What the caller set, to catch keys moving between nodes. */
} item_t;

static item_t *item_of(gpusim__itree_node *n)
{
    return n != NULL ? gpusim_container_of(n, item_t, node) : NULL;
}

static void item_insert(gpusim__itree *t, item_t *it, uint64_t start, uint64_t last, uint64_t ord)
{
    it->start = it->node.start = start;
    it->last = it->node.last = last;
    it->ord = it->node.order = ord;
    it->live = true;
    gpusim__itree_insert(t, &it->node);
}

static void item_remove(gpusim__itree *t, item_t *it)
{
    gpusim__itree_remove(t, &it->node);
    it->live = false;
}

/* Collects the nodes that overlap [qs, ql] by first/next into out[]; returns how many. */
static size_t query(const gpusim__itree *t, uint64_t qs, uint64_t ql, item_t **out, size_t max)
{
    size_t k = 0;
    for (gpusim__itree_node *n = gpusim__itree_first(t, qs, ql); n != NULL;
         n = gpusim__itree_next(n, qs, ql)) {
        assert_true(k < max);
        out[k++] = item_of(n);
    }
    return k;
}

/* Asserts that the query [qs, ql] yields exactly the items with the given ids, in this order. */
static void expect_query(const gpusim__itree *t, uint64_t qs, uint64_t ql, const int *ids,
                         size_t nids)
{
    item_t *got[64];
    size_t k = query(t, qs, ql, got, GPUSIM_ARRAY_SIZE(got));
    assert_int_equal(k, nids);
    for (size_t i = 0; i < k; i++)
        assert_int_equal(got[i]->id, ids[i]);
}

#define EXPECT_NONE(t, qs, ql) expect_query((t), (qs), (ql), NULL, 0)
#define EXPECT(t, qs, ql, ...)                                                                     \
    do {                                                                                           \
        static const int ids_[] = {__VA_ARGS__};                                                   \
        expect_query((t), (qs), (ql), ids_, GPUSIM_ARRAY_SIZE(ids_));                              \
    } while (0)

/* Asserts that the min/successor walk yields exactly the given ids, in this order. */
static void expect_walk(const gpusim__itree *t, const int *ids, size_t nids)
{
    size_t k = 0;
    for (gpusim__itree_node *n = gpusim__itree_min(t); n != NULL; n = gpusim__itree_successor(n)) {
        assert_true(k < nids);
        assert_int_equal(item_of(n)->id, ids[k]);
        k++;
    }
    assert_int_equal(k, nids);
}

static void items_init(item_t *it, int n)
{
    memset(it, 0, (size_t)n * sizeof(*it));
    for (int i = 0; i < n; i++)
        it[i].id = i;
}

/* ------------------------------------------------------------------------------------------- */
/* Hand-written cases                                                                          */
/* ------------------------------------------------------------------------------------------- */

static void test_empty_tree(void **state)
{
    (void)state;
    gpusim__itree t;
    gpusim__itree_init(&t);
    assert_true(gpusim__itree_check(&t));
    assert_null(t.root);
    assert_int_equal(t.count, 0);
    assert_null(gpusim__itree_min(&t));
    assert_null(gpusim__itree_first(&t, 0, UINT64_MAX));
    assert_null(gpusim__itree_first(&t, 5, 5));
}

static void test_single_node(void **state)
{
    (void)state;
    gpusim__itree t;
    item_t it[1];
    items_init(it, 1);
    gpusim__itree_init(&t);
    item_insert(&t, &it[0], 10, 20, 0);
    assert_true(gpusim__itree_check(&t));
    assert_int_equal(t.count, 1);
    assert_ptr_equal(t.root, &it[0].node);
    assert_int_equal(it[0].node.height, 1);
    assert_int_equal(it[0].node.max_last, 20);
    assert_ptr_equal(gpusim__itree_min(&t), &it[0].node);
    assert_null(gpusim__itree_successor(&it[0].node));

    EXPECT_NONE(&t, 0, 9);
    EXPECT(&t, 0, 10, 0);
    EXPECT(&t, 15, 15, 0);
    EXPECT(&t, 20, 30, 0);
    EXPECT(&t, 0, UINT64_MAX, 0);
    EXPECT_NONE(&t, 21, UINT64_MAX);
    assert_null(gpusim__itree_next(&it[0].node, 0, UINT64_MAX));

    item_remove(&t, &it[0]);
    assert_true(gpusim__itree_check(&t));
    assert_null(t.root);
    assert_int_equal(t.count, 0);
    assert_null(gpusim__itree_first(&t, 0, UINT64_MAX));
    /* The removed node kept its keys and lost its links; it can go back in. */
    assert_int_equal(it[0].node.start, 10);
    assert_int_equal(it[0].node.last, 20);
    assert_null(it[0].node.parent);
    item_insert(&t, &it[0], 10, 20, 0);
    assert_true(gpusim__itree_check(&t));
    EXPECT(&t, 20, 20, 0);
}

static void test_inclusive_bounds(void **state)
{
    (void)state;
    gpusim__itree t;
    item_t it[2];
    items_init(it, 2);
    gpusim__itree_init(&t);
    item_insert(&t, &it[0], 0, 9, 0);
    EXPECT(&t, 9, 20, 0); /* last is inclusive */
    EXPECT_NONE(&t, 10, 20);
    item_insert(&t, &it[1], 30, 39, 1);
    EXPECT(&t, 9, 30, 0, 1); /* query bounds are inclusive too */
    EXPECT_NONE(&t, 10, 29);
    EXPECT(&t, 39, 39, 1);
    EXPECT_NONE(&t, 40, 40);
    assert_true(gpusim__itree_check(&t));
}

static void test_adjacent_intervals_do_not_overlap(void **state)
{
    (void)state;
    gpusim__itree t;
    item_t it[4];
    items_init(it, 4);
    gpusim__itree_init(&t);
    /* Inserted out of order: [20,29] [0,9] [30,30] [10,19]. */
    item_insert(&t, &it[2], 20, 29, 0);
    item_insert(&t, &it[0], 0, 9, 0);
    item_insert(&t, &it[3], 30, 30, 0);
    item_insert(&t, &it[1], 10, 19, 0);
    assert_true(gpusim__itree_check(&t));
    EXPECT(&t, 10, 19, 1);
    EXPECT(&t, 9, 10, 0, 1);
    EXPECT(&t, 19, 20, 1, 2);
    EXPECT(&t, 29, 29, 2);
    EXPECT(&t, 30, 30, 3);
    EXPECT(&t, 0, 30, 0, 1, 2, 3);
    EXPECT_NONE(&t, 31, UINT64_MAX);
    static const int all[] = {0, 1, 2, 3};
    expect_walk(&t, all, 4);
}

static void test_equal_starts_ordered_by_order(void **state)
{
    (void)state;
    gpusim__itree t;
    item_t it[8];
    items_init(it, 8);
    gpusim__itree_init(&t);
    /* Same start, different ends; inserted in a scrambled order. Item i has order 100 - 10 i, so
     * the expected order is by descending id, whatever the ends and insertion order. */
    static const int ins[] = {3, 6, 0, 7, 1, 5, 2, 4};
    for (int k = 0; k < 8; k++) {
        int i = ins[k];
        item_insert(&t, &it[i], 50, 50 + (uint64_t)((i * 37) % 11), (uint64_t)(100 - 10 * i));
        assert_true(gpusim__itree_check(&t));
    }
    static const int desc[] = {7, 6, 5, 4, 3, 2, 1, 0};
    expect_walk(&t, desc, 8);
    EXPECT(&t, 0, 50, 7, 6, 5, 4, 3, 2, 1, 0);
    /* Ends: item i ends at 50 + (37 i mod 11) = 50, 54, 58, 51, 55, 59, 52, 56 for i = 0..7. */
    EXPECT(&t, 58, 100, 5, 2);
    EXPECT(&t, 55, 55, 7, 5, 4, 2);
    /* A node with the same start but a smaller order sorts first. */
    item_t extra[1];
    items_init(extra, 1);
    extra[0].id = 99;
    item_insert(&t, &extra[0], 50, 50, 0);
    assert_true(gpusim__itree_check(&t));
    assert_ptr_equal(gpusim__itree_min(&t), &extra[0].node);
}

static void test_intervals_at_zero_and_uint64_max(void **state)
{
    (void)state;
    gpusim__itree t;
    item_t it[5];
    items_init(it, 5);
    gpusim__itree_init(&t);
    item_insert(&t, &it[0], 0, 0, 0);
    item_insert(&t, &it[1], 0, UINT64_MAX, 1);
    item_insert(&t, &it[2], 1, 99, 0);
    item_insert(&t, &it[3], UINT64_MAX - 9, UINT64_MAX, 0);
    item_insert(&t, &it[4], UINT64_MAX, UINT64_MAX, 0);
    assert_true(gpusim__itree_check(&t));
    assert_int_equal(t.root->max_last, UINT64_MAX);
    EXPECT(&t, 0, 0, 0, 1);
    EXPECT(&t, 0, UINT64_MAX, 0, 1, 2, 3, 4);
    EXPECT(&t, UINT64_MAX, UINT64_MAX, 1, 3, 4);
    EXPECT(&t, UINT64_MAX - 1, UINT64_MAX - 1, 1, 3);
    EXPECT(&t, 100, UINT64_MAX - 10, 1);
    EXPECT(&t, 99, UINT64_MAX - 10, 1, 2);
    item_remove(&t, &it[1]);
    assert_true(gpusim__itree_check(&t));
    EXPECT_NONE(&t, 100, UINT64_MAX - 10);
    EXPECT(&t, UINT64_MAX, UINT64_MAX, 3, 4);
    EXPECT(&t, 0, 1, 0, 2);
    item_remove(&t, &it[3]);
    item_remove(&t, &it[4]);
    assert_true(gpusim__itree_check(&t));
    assert_int_equal(t.root->max_last, 99);
    EXPECT_NONE(&t, 100, UINT64_MAX);
}

static void test_remove_relinks_nodes_without_moving_keys(void **state)
{
    (void)state;
    enum { N = 15 };
    gpusim__itree t;
    item_t it[N];
    items_init(it, N);
    gpusim__itree_init(&t);
    for (int i = 0; i < N; i++)
        item_insert(&t, &it[i], (uint64_t)i * 10, (uint64_t)i * 10 + 5, 0);
    assert_true(gpusim__itree_check(&t));
    /* Ascending inserts into an AVL tree give a perfect tree of 15: the root is item 7. */
    assert_ptr_equal(t.root, &it[7].node);
    assert_int_equal(t.root->height, 4);
    /* Remove the root (two children, its successor 8 a leaf deep in the right subtree), then item
     * 13 (two children, its successor 14 is its right child), then a leaf (0) and a node with one
     * child (1, whose left child 0 is gone). */
    static const int victims[] = {7, 13, 0, 1};
    for (size_t v = 0; v < GPUSIM_ARRAY_SIZE(victims); v++) {
        item_t *x = &it[victims[v]];
        item_remove(&t, x);
        assert_true(gpusim__itree_check(&t));
        assert_null(x->node.left);
        assert_null(x->node.right);
        assert_null(x->node.parent);
        assert_int_equal(x->node.start, x->start);
        assert_int_equal(x->node.last, x->last);
        /* Every other node still carries its own keys and is reached exactly once. */
        size_t k = 0;
        for (gpusim__itree_node *n = gpusim__itree_min(&t); n != NULL;
             n = gpusim__itree_successor(n), k++) {
            item_t *y = item_of(n);
            assert_true(y->live);
            assert_int_equal(n->start, y->start);
            assert_int_equal(n->last, y->last);
            assert_int_equal(n->start, (uint64_t)y->id * 10);
        }
        assert_int_equal(k, t.count);
    }
    static const int rest[] = {2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 14};
    expect_walk(&t, rest, GPUSIM_ARRAY_SIZE(rest));
    EXPECT(&t, 75, 100, 8, 9, 10);
}

static void test_next_from_any_node_and_removal_while_iterating(void **state)
{
    (void)state;
    enum { N = 40 };
    gpusim__itree t;
    item_t it[N];
    items_init(it, N);
    gpusim__itree_init(&t);
    /* Item i covers [i, i + (i % 4 == 0 ? 20 : 0)]: some long intervals among points. */
    for (int i = 0; i < N; i++)
        item_insert(&t, &it[i], (uint64_t)i, (uint64_t)i + (i % 4 == 0 ? 20 : 0), 0);
    assert_true(gpusim__itree_check(&t));
    /* next() from a node that does not overlap the query itself. */
    assert_ptr_equal(gpusim__itree_next(&it[25].node, 30, 31), &it[28].node);
    assert_ptr_equal(gpusim__itree_next(&it[29].node, 30, 31), &it[30].node);
    assert_ptr_equal(gpusim__itree_next(&it[3].node, 30, 31), &it[12].node);
    assert_null(gpusim__itree_next(&it[31].node, 30, 31));
    EXPECT(&t, 30, 31, 12, 16, 20, 24, 28, 30, 31);
    /* Remove every overlapping node during the iteration, fetching next first. */
    gpusim__itree_node *n = gpusim__itree_first(&t, 30, 31);
    while (n != NULL) {
        gpusim__itree_node *nx = gpusim__itree_next(n, 30, 31);
        item_remove(&t, item_of(n));
        assert_true(gpusim__itree_check(&t));
        n = nx;
    }
    EXPECT_NONE(&t, 30, 31);
    EXPECT(&t, 29, 32, 29, 32);
    assert_int_equal(t.count, N - 7);
}

/* ------------------------------------------------------------------------------------------- */
/* Randomized differential test against a brute-force array                                    */
/* ------------------------------------------------------------------------------------------- */

enum {
    POOL = 6000,    /* items available */
    PEAK = 4000,    /* live items at the peak */
    CHURN = 6000,   /* operations at the plateau */
    SLOT = 1024,    /* disjoint shape: item i lives in slot i of this many addresses */
    SPAN = 1 << 16, /* nested shape: starts fall in [base, base + SPAN) */
    MAX_BITS = 40   /* nested shape: lengths up to 2^MAX_BITS */
};

typedef enum shape { DISJOINT, NESTED } shape_t;

typedef struct diff {
    item_t items[POOL];    /* The pool. */
    int live_ids[POOL];    /* Ids of live items (unordered). */
    int live_pos[POOL];    /* live_pos[id]: index in live_ids. */
    int nlive;             /* Live items. */
    gpusim__itree t;       /* The tree under test. */
    gpusim_rng_t rng;      /* The test's randomness. */
    shape_t shape;         /* How intervals are drawn. */
    uint64_t base;         /* Lowest address the shape uses. */
    uint64_t lo, hi;       /* Every interval lies in [lo, hi]. */
    uint64_t dense_hi;     /* Most intervals start in [lo, dense_hi]. */
    uint64_t next_order;   /* Tie-breakers: unique, increasing. */
    unsigned removed[3];   /* Removals of nodes with 0, 1 and 2 children. */
    unsigned removed_root; /* Removals of the root. */
    unsigned removed_min;  /* Removals of the minimum. */
    unsigned removed_max;  /* Removals of the maximum. */
    unsigned nonempty;     /* Queries with a non-empty answer. */
    unsigned empty;        /* Queries with an empty answer. */
    item_t *got[POOL];     /* Scratch: the tree's answer. */
    item_t *sorted[POOL];  /* The brute force: live items in (start, order) order. */
} diff_t;

static diff_t D;

static uint64_t below(uint64_t n)
{
    return gpusim_rng_below(&D.rng, n);
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* True if a's (start, order) is smaller than b's, by the reference copies of the keys. */
static bool item_less(const item_t *a, const item_t *b)
{
    return a->start < b->start || (a->start == b->start && a->ord < b->ord);
}

/* The position of x in D.sorted, or where it would go: the number of live items smaller than x. */
static int sorted_rank(const item_t *x)
{
    int lo = 0, hi = D.nlive;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (item_less(D.sorted[mid], x))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Draws an interval for item `id` according to the shape. */
static void draw_interval(int id, uint64_t *start, uint64_t *last)
{
    if (D.shape == DISJOINT) {
        uint64_t slot = D.base + (uint64_t)id * SLOT;
        uint64_t r = below(8);
        if (r == 0) { /* the whole slot: adjacent to full neighbours */
            *start = slot;
            *last = slot + SLOT - 1;
        } else if (r == 1) { /* one address */
            *start = *last = slot + below(SLOT);
        } else {
            uint64_t s = below(SLOT);
            *start = slot + s;
            *last = *start + below(SLOT - s);
        }
        return;
    }
    /* Nested: many ties on start (a quarter come from 64 values), lengths from 1 to 2^40 with a
     * log-uniform spread, so that short intervals nest inside long ones at every scale. */
    *start = D.base + (below(4) == 0 ? below(64) * 1024 : below(SPAN));
    *last = sat_add(*start, below((uint64_t)1 << below(MAX_BITS + 1)));
}

static void diff_insert(void)
{
    int id;
    do
        id = (int)below(POOL);
    while (D.items[id].live);
    uint64_t s, l;
    draw_interval(id, &s, &l);
    item_insert(&D.t, &D.items[id], s, l, D.next_order++);
    int r = sorted_rank(&D.items[id]);
    memmove(&D.sorted[r + 1], &D.sorted[r], (size_t)(D.nlive - r) * sizeof(D.sorted[0]));
    D.sorted[r] = &D.items[id];
    D.live_pos[id] = D.nlive;
    D.live_ids[D.nlive++] = id;
}

static int children(const gpusim__itree_node *n)
{
    return (n->left != NULL) + (n->right != NULL);
}

/* Picks a victim: the root, the minimum, the maximum, a node with 0, 1 or 2 children, or any. */
static item_t *pick_victim(void)
{
    gpusim__itree_node *n = NULL;
    uint64_t kind = below(8);
    switch (kind) {
    case 0:
        n = D.t.root;
        break;
    case 1:
        n = gpusim__itree_min(&D.t);
        break;
    case 2:
        for (n = D.t.root; n->right != NULL;)
            n = n->right;
        break;
    case 3:
    case 4:
    case 5:
        for (int tries = 0; tries < 64 && n == NULL; tries++) {
            gpusim__itree_node *c = &D.items[D.live_ids[below((uint64_t)D.nlive)]].node;
            if (children(c) == (int)(kind - 3))
                n = c;
        }
        break;
    default:
        break;
    }
    if (n == NULL)
        n = &D.items[D.live_ids[below((uint64_t)D.nlive)]].node;
    return item_of(n);
}

static void diff_remove(void)
{
    item_t *x = pick_victim();
    assert_true(x->live);
    gpusim__itree_node *n = &x->node;
    D.removed[children(n)]++;
    D.removed_root += n == D.t.root;
    D.removed_min += n == gpusim__itree_min(&D.t);
    D.removed_max += gpusim__itree_successor(n) == NULL;
    item_remove(&D.t, x);
    int r = sorted_rank(x);
    assert_ptr_equal(D.sorted[r], x);
    memmove(&D.sorted[r], &D.sorted[r + 1], (size_t)(D.nlive - r - 1) * sizeof(D.sorted[0]));
    int pos = D.live_pos[x->id];
    int moved = D.live_ids[--D.nlive];
    D.live_ids[pos] = moved;
    D.live_pos[moved] = pos;
}

/* Compares the first/next iteration of [qs, ql] with the brute force. */
static void diff_query(uint64_t qs, uint64_t ql)
{
    size_t ngot = query(&D.t, qs, ql, D.got, POOL);
    size_t nwant = 0;
    for (int i = 0; i < D.nlive; i++) {
        item_t *x = D.sorted[i];
        if (x->start <= ql && x->last >= qs) {
            assert_true(nwant < ngot);
            assert_ptr_equal(D.got[nwant], x);
            assert_int_equal(x->node.start, x->start);
            assert_int_equal(x->node.last, x->last);
            nwant++;
        }
    }
    assert_int_equal(ngot, nwant);
    if (nwant > 0)
        D.nonempty++;
    else
        D.empty++;
}

/* A random query: points at and around live intervals, random points, wide ranges, everything,
 * and ranges beyond every interval. */
static void diff_random_query(void)
{
    uint64_t qs, ql;
    item_t *x = D.nlive > 0 ? &D.items[D.live_ids[below((uint64_t)D.nlive)]] : NULL;
    switch (below(8)) {
    case 0: /* a point at an edge of a live interval, or just outside it */
    case 1:
        if (x == NULL)
            return;
        switch (below(4)) {
        case 0:
            qs = x->start;
            break;
        case 1:
            qs = x->last;
            break;
        case 2:
            qs = x->start > 0 ? x->start - 1 : 0;
            break;
        default:
            qs = sat_add(x->last, 1);
            break;
        }
        ql = qs;
        break;
    case 2: /* a random point where intervals are dense */
        qs = ql = D.lo + below(D.dense_hi - D.lo + 1);
        break;
    case 3: /* a range around a live interval */
        if (x == NULL)
            return;
        qs = x->start >= 16 ? x->start - below(16) : 0;
        ql = sat_add(x->last, below(16));
        break;
    case 4: /* a wide range */
        qs = D.lo + below(D.dense_hi - D.lo + 1);
        ql = sat_add(qs, below((D.dense_hi - D.lo) / 4 + 1));
        break;
    case 5: /* everything */
        qs = 0;
        ql = UINT64_MAX;
        break;
    default: /* beyond every interval: above hi or below lo, whichever exists */
        if (D.hi < UINT64_MAX) {
            qs = D.hi + 1 + below(1000);
            ql = below(2) ? UINT64_MAX : sat_add(qs, below(1u << 20));
        } else {
            ql = D.lo - 1 - below(1000);
            qs = below(2) ? 0 : ql - below(ql < (1u << 20) ? ql + 1 : (1u << 20));
        }
        break;
    }
    diff_query(qs, ql);
}

/* Compares the full min/successor walk with the sorted brute force. */
static void diff_walk(void)
{
    int k = 0;
    for (gpusim__itree_node *n = gpusim__itree_min(&D.t); n != NULL;
         n = gpusim__itree_successor(n)) {
        assert_true(k < D.nlive);
        assert_ptr_equal(item_of(n), D.sorted[k]);
        assert_true(k == 0 || item_less(D.sorted[k - 1], D.sorted[k]));
        k++;
    }
    assert_int_equal(k, D.nlive);
}

static void diff_step(int op)
{
    assert_true(gpusim__itree_check(&D.t));
    assert_int_equal(D.t.count, (size_t)D.nlive);
    if (op % 2 == 0)
        diff_random_query();
    if (op % 1000 == 0)
        diff_walk();
}

static void diff_run(shape_t shape, bool top, uint64_t seed)
{
    memset(&D, 0, sizeof(D));
    items_init(D.items, POOL);
    gpusim__itree_init(&D.t);
    gpusim_rng_seed(&D.rng, seed, 0);
    D.shape = shape;
    uint64_t extent = shape == DISJOINT ? (uint64_t)POOL * SLOT : (uint64_t)SPAN;
    D.base = top ? UINT64_MAX - extent + 1 : 0;
    D.lo = D.base;
    D.dense_hi = D.base + (extent - 1);
    if (shape == DISJOINT)
        D.hi = D.dense_hi;
    else
        D.hi = sat_add(D.dense_hi, (uint64_t)1 << MAX_BITS);

    int op = 0;
    /* Grow to the peak with removals mixed in, churn, then drain to empty. */
    while (D.nlive < PEAK) {
        if (D.nlive == 0 || below(5) != 0)
            diff_insert();
        else
            diff_remove();
        diff_step(op++);
    }
    diff_walk();
    for (int q = 0; q < 500; q++)
        diff_random_query();
    for (int i = 0; i < CHURN; i++) {
        if (D.nlive == 0 || (D.nlive < POOL && below(2) == 0))
            diff_insert();
        else
            diff_remove();
        diff_step(op++);
    }
    while (D.nlive > 0) {
        if (below(5) == 0)
            diff_insert();
        else
            diff_remove();
        diff_step(op++);
    }
    assert_null(D.t.root);
    assert_true(gpusim__itree_check(&D.t));
    /* The run exercised what it claims to. */
    assert_true(D.removed[0] > 100 && D.removed[1] > 100 && D.removed[2] > 100);
    assert_true(D.removed_root > 100 && D.removed_min > 100 && D.removed_max > 100);
    assert_true(D.nonempty > 1000 && D.empty > 1000);
}

static void test_randomized_disjoint_intervals(void **state)
{
    (void)state;
    diff_run(DISJOINT, false, 1); /* from address 0 */
    diff_run(DISJOINT, true, 2);  /* up to UINT64_MAX */
}

static void test_randomized_nested_intervals(void **state)
{
    (void)state;
    diff_run(NESTED, false, 3);
    diff_run(NESTED, true, 4); /* many intervals clamped at UINT64_MAX */
}

/* ------------------------------------------------------------------------------------------- */
/* Balance                                                                                     */
/* ------------------------------------------------------------------------------------------- */

/* The largest height an AVL tree of n nodes can have: the largest h whose sparsest AVL tree
 * (N(h) = N(h-1) + N(h-2) + 1 nodes, a Fibonacci tree) has at most n nodes. */
static int avl_max_height(size_t n)
{
    size_t a = 0, b = 1; /* N(h-1), N(h) */
    int h = 1;
    if (n == 0)
        return 0;
    for (;;) {
        size_t c = a + b + 1;
        if (c > n)
            return h;
        a = b;
        b = c;
        h++;
    }
}

static void assert_balanced(const gpusim__itree *t)
{
    int h = t->root != NULL ? t->root->height : 0;
    assert_true(h <= avl_max_height(t->count));
    assert_true((double)h <= 1.45 * log2((double)t->count + 2));
}

static void test_balance_after_ascending_inserts_and_removals(void **state)
{
    (void)state;
    enum { N = 100000 };
    static gpusim__itree_node nodes[N];
    gpusim__itree t;
    gpusim__itree_init(&t);
    memset(nodes, 0, sizeof(nodes));
    for (int i = 0; i < N; i++) {
        nodes[i].start = (uint64_t)i * 16;
        nodes[i].last = nodes[i].start + 7;
        nodes[i].order = 0;
        gpusim__itree_insert(&t, &nodes[i]);
        if (i % 4096 == 0)
            assert_balanced(&t);
    }
    assert_true(gpusim__itree_check(&t));
    assert_int_equal(t.count, N);
    assert_balanced(&t);
    assert_int_equal(t.root->max_last, (uint64_t)(N - 1) * 16 + 7);

    for (int i = 0; i < N; i += 2) {
        gpusim__itree_remove(&t, &nodes[i]);
        if (i % 4096 == 0)
            assert_balanced(&t);
    }
    assert_true(gpusim__itree_check(&t));
    assert_int_equal(t.count, N / 2);
    assert_balanced(&t);
    int k = 1;
    for (gpusim__itree_node *n = gpusim__itree_min(&t); n != NULL;
         n = gpusim__itree_successor(n), k += 2)
        assert_ptr_equal(n, &nodes[k]);
    assert_int_equal(k, N + 1);
    /* Queries over the survivors: a point in a removed node's interval and one in a survivor's. */
    assert_null(gpusim__itree_first(&t, 2 * 16 + 3, 2 * 16 + 3));
    assert_ptr_equal(gpusim__itree_first(&t, 3 * 16 + 7, 5 * 16), &nodes[3]);
    assert_ptr_equal(gpusim__itree_next(&nodes[3], 3 * 16 + 7, 5 * 16), &nodes[5]);

    /* Descending removal of the rest keeps the bound all the way down. */
    for (int i = N - 1; i >= 1; i -= 2) {
        gpusim__itree_remove(&t, &nodes[i]);
        if (i % 4097 == 0)
            assert_balanced(&t);
    }
    assert_null(t.root);
    assert_int_equal(t.count, 0);
    assert_true(gpusim__itree_check(&t));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        GPUSIM_TEST(test_empty_tree),
        GPUSIM_TEST(test_single_node),
        GPUSIM_TEST(test_inclusive_bounds),
        GPUSIM_TEST(test_adjacent_intervals_do_not_overlap),
        GPUSIM_TEST(test_equal_starts_ordered_by_order),
        GPUSIM_TEST(test_intervals_at_zero_and_uint64_max),
        GPUSIM_TEST(test_remove_relinks_nodes_without_moving_keys),
        GPUSIM_TEST(test_next_from_any_node_and_removal_while_iterating),
        GPUSIM_TEST(test_randomized_disjoint_intervals),
        GPUSIM_TEST(test_randomized_nested_intervals),
        GPUSIM_TEST(test_balance_after_ascending_inserts_and_removals),
    };
    return cmocka_run_group_tests_name("itree", tests, NULL, NULL);
}
