/*
 * core/itree.h -- an intrusive, augmented AVL interval tree of caller-owned nodes. Internal.
 *
 * Each node covers the closed interval [start, last] of 64-bit addresses (last is inclusive, so an
 * interval may end at UINT64_MAX and none is ever empty). Nodes are kept in a binary search tree
 * ordered by the pair (start, order): `order` is a caller-chosen tie-breaker (an allocation
 * sequence number, say) that makes the key unique, so every walk visits nodes in one deterministic
 * order that never depends on pointer values. The tree is an AVL tree (the heights of two siblings
 * differ by at most one), so a tree of n nodes is at most 1.44 log2(n + 2) levels deep, and each
 * node is augmented with max_last, the largest `last` in its subtree, which lets a query skip any
 * subtree that ends before the query starts (CLRS 14.3; Linux's interval_tree_generic.h).
 *
 *                 [40,49] max 99          (start, order) grows to the right;
 *                /              \         max_last = max(last, left->max_last, right->max_last)
 *      [10,99] max 99      [60,61] max 70
 *                         /
 *                 [50,70] max 70
 *
 * Invariants (checked by gpusim__itree_check()):
 *   - order: an in-order walk visits strictly increasing (start, order) pairs; start <= last;
 *   - links: root->parent is NULL, and every child's parent pointer names its parent;
 *   - height: a node's height is 1 + the larger of its children's (NULL counts 0), and the two
 *     children's heights differ by at most 1;
 *   - max_last: as drawn above;
 *   - count: the number of nodes reachable from the root.
 *
 * Costs (n nodes in the tree):
 *   - insert and remove: O(log n) time, at most O(log n) rotations; nothing is allocated, ever;
 *   - gpusim__itree_first: O(log n);
 *   - a first/next iteration reporting k overlapping nodes: O(log n + k) when the stored intervals
 *     do not overlap one another (disjoint buffers, the common case), because the overlapping nodes
 *     are then consecutive in key order and the walk between them is an in-order walk; in general
 *     each gpusim__itree_next is O(log n), so heavily nested intervals cost O((k + 1) log n);
 *   - gpusim__itree_min and gpusim__itree_successor: O(log n), amortised O(1) over a full walk;
 *   - gpusim__itree_check: O(n).
 *
 * Nodes are embedded in the caller's structures (recover them with gpusim_container_of) and are
 * never moved or rewritten except for their links and maintained fields: removing a node with two
 * children relinks its successor into its place rather than copying keys, so pointers that callers
 * hold to other nodes stay valid. A tree is not thread-safe; it belongs to one world.
 */
#ifndef GPUSIM_CORE_ITREE_H
#define GPUSIM_CORE_ITREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Field order matters for speed, not for results: a search reads left, right, start, last and
 * max_last of each node on its path, so they come first (40 bytes, one cache line or two adjacent
 * ones however the caller's structure is aligned); parent, order and height serve insert, remove
 * and iteration.
 */
typedef struct gpusim__itree_node {
    struct gpusim__itree_node *left;  /* Child with smaller (start, order), or NULL. */
    struct gpusim__itree_node *right; /* Child with larger (start, order), or NULL. */
    uint64_t start;    /* First address covered. Set by the caller before insert; then fixed. */
    uint64_t last;     /* Last address covered, inclusive; start <= last. Set by the caller. */
    uint64_t max_last; /* Maintained: the largest `last` in this node's subtree. */
    struct gpusim__itree_node *parent; /* Parent, or NULL at the root (and when not in a tree). */
    uint64_t order; /* Tie-breaker among equal starts; (start, order) unique in a tree. */
    int height;     /* Maintained: AVL height of this node's subtree, a leaf is 1. */
} gpusim__itree_node;

typedef struct gpusim__itree {
    gpusim__itree_node *root; /* Root node, or NULL when the tree is empty. */
    size_t count;             /* Nodes in the tree. */
} gpusim__itree;

/* Makes `t` an empty tree. */
void gpusim__itree_init(gpusim__itree *t);

/*
 * Inserts node `n`, whose start, last and order the caller has set (start <= last, and no node of
 * `t` has the same (start, order)). `n` must not be in any tree. Its other fields are overwritten.
 */
void gpusim__itree_insert(gpusim__itree *t, gpusim__itree_node *n);

/*
 * Removes node `n`, which must be in `t`. Other nodes keep their keys and addresses; `n`'s links are
 * cleared, its start, last and order are left as they were, and it may be inserted again.
 */
void gpusim__itree_remove(gpusim__itree *t, gpusim__itree_node *n);

/*
 * Returns the first node in (start, order) order whose [start, last] overlaps the query
 * [start, last] (both bounds inclusive; the query needs start <= last), or NULL if none does.
 */
gpusim__itree_node *gpusim__itree_first(const gpusim__itree *t, uint64_t start, uint64_t last);

/*
 * Returns the next node after `n` in (start, order) order that overlaps [start, last], or NULL.
 * `n` must be in a tree (it need not overlap the query itself). Stateless: it works from `n`'s
 * links alone, so an iteration may change the tree between steps as long as the node it continues
 * from is still in it; to remove overlapping nodes while iterating, fetch the next node before
 * removing the current one.
 */
gpusim__itree_node *gpusim__itree_next(const gpusim__itree_node *n, uint64_t start, uint64_t last);

/* Returns the node with the smallest (start, order), or NULL if `t` is empty. */
gpusim__itree_node *gpusim__itree_min(const gpusim__itree *t);

/* Returns the node after `n` (which must be in a tree) in (start, order) order, or NULL. */
gpusim__itree_node *gpusim__itree_successor(const gpusim__itree_node *n);

/* Verifies every invariant above; returns false at the first violation. O(n). */
bool gpusim__itree_check(const gpusim__itree *t);

#endif /* GPUSIM_CORE_ITREE_H */
