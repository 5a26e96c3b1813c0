#!/bin/sh
# cli-shard.sh BENCH CHECK -- shards 0/3, 1/3, 2/3 merged (in any order) give exactly the
# unsharded run, apart from wall_time_ns; merge refuses incomplete or mismatched shard sets.
. "$(dirname "$0")/common.sh"

set -- "$data/tiny.ini" "$data/tiny2.ini" --seeds 2 --format json --jobs 2
"$bench" run "$@" --output "$tmp/all.json" || fail "unsharded run exited $?"
for i in 0 1 2; do
    "$bench" run "$@" --shard "$i/3" --output "$tmp/s$i.json" || fail "shard $i/3 exited $?"
    [ "$(records "$tmp/s$i.json")" -eq 8 ] || fail "shard $i/3 does not hold 8 of the 24 runs"
done
"$check" "$tmp/s1.json" | cut -d' ' -f1 | head -3 | tr '\n' ' ' | grep -q '^1 4 7 $' ||
    fail "shard 1/3 does not hold combinations 1, 4, 7, ..."
"$bench" merge "$tmp/s2.json" "$tmp/s0.json" "$tmp/s1.json" --output "$tmp/merged.json" ||
    fail "merge exited $?"
same_results "$tmp/all.json" "$tmp/merged.json"
# merge's other formats are the run's too.
"$bench" merge "$tmp/s1.json" "$tmp/s0.json" "$tmp/s2.json" --format table >"$tmp/merged.table"
"$bench" run "$data/tiny.ini" "$data/tiny2.ini" --seeds 2 >"$tmp/all.table"
cmp -s "$tmp/merged.table" "$tmp/all.table" || fail "merged table differs from the unsharded one"
# A shard may be empty: more shards than combinations.
"$bench" run "$data/tiny.ini" --policy pin --shard 1/2 --format json --output "$tmp/e1.json"
"$bench" run "$data/tiny.ini" --policy pin --shard 0/2 --format json --output "$tmp/e0.json"
[ "$(records "$tmp/e1.json")" -eq 0 ] || fail "shard 1/2 of one run is not empty"
"$bench" merge "$tmp/e0.json" "$tmp/e1.json" --output "$tmp/e.json" || fail "merge with an empty shard"

# mismatch MESSAGE FILE...: merge exits 2 with MESSAGE.
mismatch() {
    msg=$1
    shift
    runs "$bench" merge "$@"
    [ "$rc" -eq 2 ] || fail "merge of $* exited $rc, not 2"
    grep -qF "$msg" "$tmp/err" || fail "merge of $*: expected '$msg', got: $(cat "$tmp/err")"
}
mismatch "combinations missing" "$tmp/s0.json" "$tmp/s1.json"
mismatch "is in both" "$tmp/s0.json" "$tmp/s1.json" "$tmp/s1.json" "$tmp/s2.json"
"$bench" run "$@" --shard 1/2 --output "$tmp/h1.json"
mismatch "is in both" "$tmp/s0.json" "$tmp/h1.json" "$tmp/s2.json"
"$bench" run "$data/tiny.ini" "$data/tiny2.ini" --seeds 3 --format json --shard 1/3 \
    --output "$tmp/o1.json"
mismatch "different runs" "$tmp/s0.json" "$tmp/o1.json" "$tmp/s2.json"
"$bench" run "$data/tiny.ini" "$data/tiny2.ini" --seeds 7,8 --format json --shard 1/3 \
    --output "$tmp/p1.json"
mismatch "different runs" "$tmp/s0.json" "$tmp/p1.json" "$tmp/s2.json"

# The Slurm script, its tasks played here by hand: three array tasks, then the merge job.
sbatch=$data/../../bench/slurm/gpusim-bench.sbatch
for i in 0 1 2; do
    (cd "$tmp" && SLURM_ARRAY_TASK_ID=$i SLURM_ARRAY_JOB_ID=77 SHARDS=3 GPUSIM_BENCH="$bench" \
        ARGS="$data/tiny.ini $data/tiny2.ini --seeds 2" sh "$sbatch") ||
        fail "sbatch task $i exited $?"
done
(cd "$tmp" && MERGE=1 RESULTS=gpusim-bench-results/77 GPUSIM_BENCH="$bench" sh "$sbatch" \
    >"$tmp/merge.log") || fail "sbatch merge exited $?: $(cat "$tmp/merge.log")"
same_results "$tmp/all.json" "$tmp/gpusim-bench-results/77/results.json"
echo "ok: shards merge into the unsharded run; bad shard sets refused; the Slurm script works"
