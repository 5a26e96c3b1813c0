#!/bin/sh
# check-determinism.sh BENCH_A BENCH_B -- the default benchmark gives the same records, byte for
# byte apart from wall_time_ns, run after run, whatever --jobs, and across two builds of
# gpusim-bench (`make determinism` passes the jemalloc release build and the libc debug build).
#
# Runs the default set (every built-in scenario under every policy, seed 1) four times:
#   A --jobs 1, A again --jobs 1, A --jobs 2, B --jobs 2
# and compares every result file with the first. Also checks that A and B really are builds with
# different allocators (gpusim-bench --version names it), so the comparison means something.
# Prints one line per comparison; exits 1 at the first difference, showing its first lines.
set -eu
a=$1
b=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

. "$(dirname "$0")/allocators.sh"
two_allocators check-determinism "$a" "$b"

run() { # run NAME BENCH JOBS
    "$2" run --format json --jobs "$3" --output "$tmp/$1.json"
    nowall "$tmp/$1.json" "$tmp/$1"
}

run first "$a" 1
records=$(grep -c '"scenario"' "$tmp/first")
for spec in "again $a 1" "jobs2 $a 2" "other-allocator $b 2"; do
    set -- $spec
    run "$1" "$2" "$3"
    if ! cmp -s "$tmp/first" "$tmp/$1"; then
        echo "check-determinism: $1 ($2 --jobs $3) differs from the first run:" >&2
        diff "$tmp/first" "$tmp/$1" | head -20 >&2
        exit 1
    fi
    echo "identical: $records records, $1 ($alloc_a vs $([ "$2" = "$a" ] && echo "$alloc_a" || echo "$alloc_b"), --jobs $3)"
done
