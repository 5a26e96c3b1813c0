/*
 * core/itree.c -- the intrusive augmented AVL interval tree (see core/itree.h).
 *
 * Rebalancing: insert attaches the new node as a leaf and remove unlinks a node with at most one
 * child (a node with two children first has its successor relinked into its place); both then call
 * fix_upward() from the lowest changed node to the root. At each node that recomputes the height
 * and max_last from the children and, if the heights of the children differ by two, performs the
 * single or double rotation that restores balance. Rotations recompute height and max_last of the
 * two nodes they move, lower one first. Walking all the way to the root (rather than stopping once
 * a height stops changing) is what keeps max_last right above the change; it costs O(log n).
 *
 * Overlap search: a node overlaps the query [qs, ql] when start <= ql and last >= qs. Starts grow in
 * key order, so once a node's start exceeds ql nothing after it can overlap; and a subtree whose
 * max_last < qs holds no node with last >= qs. search() finds the leftmost node N of a subtree with
 * last >= qs by one downward path (going left whenever the left subtree's max_last allows it); if N
 * does not also satisfy start <= ql, no node of the subtree, nor any later node, overlaps.
 *
 * Nothing here allocates or reads a node's memory other than the nodes on the paths it walks, and
 * no arithmetic is done on addresses (only comparisons), so 0 and UINT64_MAX need no special case.
 */
#include "core/compiler.h"
#include "core/itree.h"

/* The deepest an AVL tree of SIZE_MAX nodes can be is about 1.44 * 64 + 1; check() gives up below
 * this depth so that a corrupt (unbalanced or cyclic) tree cannot exhaust the stack. */
#define ITREE_MAX_HEIGHT 128

/* ------------------------------------------------------------------------------------------- */
/* Keys and maintained fields                                                                  */
/* ------------------------------------------------------------------------------------------- */

/* True if a's key (start, order) is smaller than b's. */
static inline bool key_less(const gpusim__itree_node *a, const gpusim__itree_node *b)
{
    return a->start < b->start || (a->start == b->start && a->order < b->order);
}

static inline int height_of(const gpusim__itree_node *n)
{
    return n != NULL ? n->height : 0;
}

/* Recomputes n's height and max_last from its own interval and its children. */
static inline void update(gpusim__itree_node *n)
{
    int hl = height_of(n->left), hr = height_of(n->right);
    uint64_t m = n->last;
    if (n->left != NULL && n->left->max_last > m)
        m = n->left->max_last;
    if (n->right != NULL && n->right->max_last > m)
        m = n->right->max_last;
    n->height = 1 + GPUSIM_MAX(hl, hr);
    n->max_last = m;
}

/* Makes `child` (possibly NULL) take old's place under old's parent, or at the root. */
static inline void replace_child(gpusim__itree *t, gpusim__itree_node *parent,
                                 const gpusim__itree_node *old, gpusim__itree_node *child)
{
    if (parent == NULL)
        t->root = child;
    else if (parent->left == old)
        parent->left = child;
    else
        parent->right = child;
    if (child != NULL)
        child->parent = parent;
}

/* ------------------------------------------------------------------------------------------- */
/* Rotations and rebalancing                                                                   */
/* ------------------------------------------------------------------------------------------- */

/*
 *       x                 y
 *      / \               / \
 *     a   y     ==>     x   c        rotate_left(x); rotate_right(y) is the mirror image.
 *        / \           / \
 *       b   c         a   b
 *
 * Returns y, the new root of the subtree. x->right must not be NULL.
 */
static gpusim__itree_node *rotate_left(gpusim__itree *t, gpusim__itree_node *x)
{
    gpusim__itree_node *y = x->right;
    gpusim__itree_node *b = y->left;
    replace_child(t, x->parent, x, y);
    x->right = b;
    if (b != NULL)
        b->parent = x;
    y->left = x;
    x->parent = y;
    update(x);
    update(y);
    return y;
}

static gpusim__itree_node *rotate_right(gpusim__itree *t, gpusim__itree_node *y)
{
    gpusim__itree_node *x = y->left;
    gpusim__itree_node *b = x->right;
    replace_child(t, y->parent, y, x);
    y->left = b;
    if (b != NULL)
        b->parent = y;
    x->right = y;
    y->parent = x;
    update(y);
    update(x);
    return x;
}

/*
 * Restores the AVL balance at n, whose children are balanced and whose heights differ by at most
 * two, and whose own fields are up to date. Returns the root of the subtree that n was the root of.
 */
static gpusim__itree_node *rebalance(gpusim__itree *t, gpusim__itree_node *n)
{
    int bf = height_of(n->left) - height_of(n->right);
    if (bf > 1) {
        if (height_of(n->left->left) < height_of(n->left->right))
            rotate_left(t, n->left);
        return rotate_right(t, n);
    }
    if (bf < -1) {
        if (height_of(n->right->right) < height_of(n->right->left))
            rotate_right(t, n->right);
        return rotate_left(t, n);
    }
    return n;
}

/* Updates and rebalances every node from n (possibly NULL) up to the root. */
static void fix_upward(gpusim__itree *t, gpusim__itree_node *n)
{
    while (n != NULL) {
        update(n);
        n = rebalance(t, n)->parent;
    }
}

/* ------------------------------------------------------------------------------------------- */
/* Insert and remove                                                                           */
/* ------------------------------------------------------------------------------------------- */

void gpusim__itree_init(gpusim__itree *t)
{
    t->root = NULL;
    t->count = 0;
}

void gpusim__itree_insert(gpusim__itree *t, gpusim__itree_node *n)
{
    GPUSIM_ASSERT(n->start <= n->last);
    gpusim__itree_node *parent = NULL;
    gpusim__itree_node **link = &t->root;
    while (*link != NULL) {
        parent = *link;
        GPUSIM_ASSERT(parent != n); /* already in this tree */
        GPUSIM_ASSERT(parent->start != n->start || parent->order != n->order); /* unique keys */
        link = key_less(n, parent) ? &parent->left : &parent->right;
    }
    n->left = n->right = NULL;
    n->parent = parent;
    n->height = 1;
    n->max_last = n->last;
    *link = n;
    t->count++;
    fix_upward(t, parent);
}

#ifdef GPUSIM_DEBUG
/* True if n hangs below t's root (a walk up the parent links: O(log n)). */
static bool in_tree(const gpusim__itree *t, const gpusim__itree_node *n)
{
    while (n->parent != NULL)
        n = n->parent;
    return n == t->root;
}
#endif

void gpusim__itree_remove(gpusim__itree *t, gpusim__itree_node *n)
{
    GPUSIM_ASSERT(t->count > 0 && in_tree(t, n));
    gpusim__itree_node *parent = n->parent;
    gpusim__itree_node *lowest; /* the lowest node whose subtree changed */
    if (n->left == NULL || n->right == NULL) {
        /* At most one child: it takes n's place. */
        replace_child(t, parent, n, n->left != NULL ? n->left : n->right);
        lowest = parent;
    } else {
        /*
         * Two children: the successor s (leftmost node of n's right subtree, so s has no left
         * child) is unlinked from its place and relinked into n's, taking over n's children and
         * height. Keys never move between nodes: callers hold pointers to them.
         */
        gpusim__itree_node *s = n->right;
        while (s->left != NULL)
            s = s->left;
        if (s == n->right) {
            lowest = s; /* s keeps its right subtree; its own right side lost one level */
        } else {
            lowest = s->parent;
            lowest->left = s->right;
            if (s->right != NULL)
                s->right->parent = lowest;
            s->right = n->right;
            s->right->parent = s;
        }
        s->left = n->left;
        s->left->parent = s;
        s->height = n->height;
        replace_child(t, parent, n, s);
    }
    n->left = n->right = n->parent = NULL;
    n->height = 0;
    t->count--;
    fix_upward(t, lowest);
}

/* ------------------------------------------------------------------------------------------- */
/* Walks and overlap queries                                                                   */
/* ------------------------------------------------------------------------------------------- */

static gpusim__itree_node *leftmost(gpusim__itree_node *n)
{
    while (n->left != NULL)
        n = n->left;
    return n;
}

gpusim__itree_node *gpusim__itree_min(const gpusim__itree *t)
{
    return t->root != NULL ? leftmost(t->root) : NULL;
}

gpusim__itree_node *gpusim__itree_successor(const gpusim__itree_node *n)
{
    if (n->right != NULL)
        return leftmost(n->right);
    /* Climb until we arrive from a left child. */
    while (n->parent != NULL && n->parent->right == n)
        n = n->parent;
    return n->parent;
}

/*
 * Starts loading the fields a search reads of node n (possibly NULL), from left to max_last (see
 * core/itree.h). A search of a tree larger than the caches misses on about every level; prefetching
 * both children while deciding at their parent overlaps the fetch of the child it takes with that
 * decision (which itself needs the left child's max_last), so each level costs about one memory
 * latency instead of two. Prefetches never fault and change no result.
 */
static inline void prefetch(const gpusim__itree_node *n)
{
#if defined(__GNUC__) || defined(__clang__)
    if (n != NULL) {
        __builtin_prefetch(&n->left);
        __builtin_prefetch(&n->max_last);
    }
#else
    (void)n;
#endif
}

/*
 * Returns the first node of the subtree rooted at n that overlaps [qs, ql], or NULL. Requires
 * n->max_last >= qs, i.e. some node of the subtree ends at or after qs. One downward path.
 */
static gpusim__itree_node *search(gpusim__itree_node *n, uint64_t qs, uint64_t ql)
{
    for (;;) {
        prefetch(n->left);
        prefetch(n->right);
        /* Invariant: n->max_last >= qs. The leftmost node with last >= qs is the answer if any. */
        if (n->left != NULL && n->left->max_last >= qs) {
            n = n->left;
            continue;
        }
        if (n->start > ql)
            return NULL; /* n and everything after it start too late */
        if (n->last >= qs)
            return n;
        n = n->right; /* n ends too early; the leftmost candidate is in its right subtree */
        if (n == NULL || n->max_last < qs)
            return NULL;
    }
}

gpusim__itree_node *gpusim__itree_first(const gpusim__itree *t, uint64_t start, uint64_t last)
{
    GPUSIM_ASSERT(start <= last);
    if (t->root == NULL || t->root->max_last < start)
        return NULL;
    return search(t->root, start, last);
}

gpusim__itree_node *gpusim__itree_next(const gpusim__itree_node *n, uint64_t start, uint64_t last)
{
    GPUSIM_ASSERT(start <= last);
    /* The cast drops const only to return a node of the caller's tree; nothing is written. */
    gpusim__itree_node *cur = (gpusim__itree_node *)n;
    for (;;) {
        /* Everything up to and including cur has been reported or ruled out. */
        if (cur->right != NULL && cur->right->max_last >= start)
            return search(cur->right, start, last);
        /* Nothing in cur's right subtree: climb to the first ancestor reached from its left. */
        const gpusim__itree_node *from;
        do {
            from = cur;
            cur = cur->parent;
            if (cur == NULL)
                return NULL;
        } while (cur->right == from);
        if (cur->start > last)
            return NULL;
        if (cur->last >= start)
            return cur;
    }
}

/* ------------------------------------------------------------------------------------------- */
/* Invariant check                                                                             */
/* ------------------------------------------------------------------------------------------- */

typedef struct check_state {
    const gpusim__itree_node *prev; /* The previous node of the in-order walk, or NULL. */
    size_t seen;                    /* Nodes visited so far. */
    size_t limit;                   /* t->count: visiting more means a cycle or a bad count. */
} check_state;

/* Checks the subtree at n (not NULL) hanging below `parent` at `depth`. */
static bool check_node(const gpusim__itree_node *n, const gpusim__itree_node *parent, int depth,
                       check_state *st)
{
    if (n->parent != parent || depth > ITREE_MAX_HEIGHT || ++st->seen > st->limit)
        return false;
    if (n->left != NULL && !check_node(n->left, n, depth + 1, st))
        return false;
    /* In-order position: n's key must exceed its predecessor's. */
    if (n->start > n->last || (st->prev != NULL && !key_less(st->prev, n)))
        return false;
    st->prev = n;
    if (n->right != NULL && !check_node(n->right, n, depth + 1, st))
        return false;
    int hl = height_of(n->left), hr = height_of(n->right);
    if (n->height != 1 + GPUSIM_MAX(hl, hr) || hl - hr > 1 || hr - hl > 1)
        return false;
    uint64_t m = n->last;
    if (n->left != NULL && n->left->max_last > m)
        m = n->left->max_last;
    if (n->right != NULL && n->right->max_last > m)
        m = n->right->max_last;
    return n->max_last == m;
}

bool gpusim__itree_check(const gpusim__itree *t)
{
    check_state st = {NULL, 0, t->count};
    if (t->root != NULL && !check_node(t->root, NULL, 1, &st))
        return false;
    return st.seen == t->count;
}
