#!/bin/sh
# compare-allocators.sh BENCH_JEMALLOC BENCH_LIBC [REPS] -- wall time and peak RSS of the default
# benchmark (every built-in scenario under every policy, seed 1, --jobs 1) with the two allocator
# builds of gpusim-bench (`make compare-allocators` passes build/ and build-libc/, both
# RelWithDebInfo).
#
# Runs the two alternately, REPS times each (default 5), so that a slow patch of a shared machine
# hits both alike; prints every rep, the medians of wall time and peak RSS, and libc / jemalloc
# ratios. Both builds must also give the same records, byte for byte apart from wall_time_ns
# (compared on the first rep); the script exits 1 if they do not, or if the two builds do not use
# different allocators (gpusim-bench --version names it). Wall time and peak RSS come from GNU
# time (/usr/bin/time -f '%e %M': seconds, KiB).
set -eu
a=$1
b=$2
reps=${3:-5}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

[ -x /usr/bin/time ] || { echo "compare-allocators: needs GNU time (apt-get install time)" >&2; exit 1; }
case $reps in '' | *[!0-9]* | 0) echo "compare-allocators: REPS must be a positive integer" >&2; exit 2 ;; esac
. "$(dirname "$0")/allocators.sh"
two_allocators compare-allocators "$a" "$b"

run() { # run SIDE BENCH REP: appends "wall_s rss_kib" to $tmp/SIDE
    /usr/bin/time -f '%e %M' -o "$tmp/time" "$2" run --format json --jobs 1 --output "$tmp/$1.json"
    cat "$tmp/time" >>"$tmp/$1"
    if [ "$3" = 1 ]; then
        nowall "$tmp/$1.json" "$tmp/$1.records"
    fi
}

: >"$tmp/a"
: >"$tmp/b"
i=1
while [ "$i" -le "$reps" ]; do
    run a "$a" "$i"
    run b "$b" "$i"
    if [ "$i" = 1 ] && ! cmp -s "$tmp/a.records" "$tmp/b.records"; then
        echo "compare-allocators: $alloc_a and $alloc_b builds give different records:" >&2
        diff "$tmp/a.records" "$tmp/b.records" | head -20 >&2
        exit 1
    fi
    i=$((i + 1))
done

median() { # median FILE COLUMN
    cut -d' ' -f"$2" "$1" | sort -n | sed -n "$(((reps + 1) / 2))p"
}
wa=$(median "$tmp/a" 1)
wb=$(median "$tmp/b" 1)
ra=$(median "$tmp/a" 2)
rb=$(median "$tmp/b" 2)
records=$(grep -c '"scenario"' "$tmp/a.records")
echo "default benchmark, --jobs 1, $reps alternating reps each; records identical ($records)"
printf '%-9s wall s: %s\n' "$alloc_a" "$(cut -d' ' -f1 "$tmp/a" | tr '\n' ' ')"
printf '%-9s wall s: %s\n' "$alloc_b" "$(cut -d' ' -f1 "$tmp/b" | tr '\n' ' ')"
awk -v a="$alloc_a" -v b="$alloc_b" -v wa="$wa" -v wb="$wb" -v ra="$ra" -v rb="$rb" 'BEGIN {
    printf "median wall: %s %.2f s, %s %.2f s, %s/%s %.3f\n", a, wa, b, wb, b, a, wb / wa
    printf "median peak RSS: %s %.1f MiB, %s %.1f MiB, %s/%s %.3f\n", a, ra / 1024, b, rb / 1024, b, a, rb / ra
}'
