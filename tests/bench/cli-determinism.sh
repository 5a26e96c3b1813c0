#!/bin/sh
# cli-determinism.sh BENCH CHECK -- the same command gives the same records, apart from
# wall_time_ns, twice in a row and with any --jobs (output is in combination order, not in order
# of completion); and the seed reaches the simulation.
. "$(dirname "$0")/common.sh"

set -- "$data/tiny.ini" "$data/tiny2.ini" --seeds 2 --format json
"$bench" run "$@" --jobs 1 --output "$tmp/j1.json" || fail "run --jobs 1 exited $?"
"$bench" run "$@" --jobs 1 --output "$tmp/j1b.json" || fail "second run --jobs 1 exited $?"
"$bench" run "$@" --jobs 2 --output "$tmp/j2.json" || fail "run --jobs 2 exited $?"
"$bench" run "$@" --jobs 5 --output "$tmp/j5.json" || fail "run --jobs 5 exited $?"
[ "$(records "$tmp/j1.json")" -eq 24 ] || fail "expected 24 records (2 scenarios x 2 seeds x 6)"
same_results "$tmp/j1.json" "$tmp/j1b.json"
same_results "$tmp/j1.json" "$tmp/j2.json"
same_results "$tmp/j1.json" "$tmp/j5.json"

# Records come in combination order: scenario, then seed, then policy, numbered from 0.
"$check" "$tmp/j2.json" | head -8 >"$tmp/order"
cat >"$tmp/order.expected" <<'END'
0 bench-tiny none 1
1 bench-tiny pin 1
2 bench-tiny pin-persistent 1
3 bench-tiny fence-wait 1
4 bench-tiny fence-reload 1
5 bench-tiny refault 1
6 bench-tiny none 2
7 bench-tiny pin 2
END
cut -d' ' -f1-4 "$tmp/order" | cmp -s - "$tmp/order.expected" || fail "records out of order: $(cat "$tmp/order")"

# The table has no wall-clock column: byte-identical whatever --jobs.
"$bench" run "$data/tiny.ini" --jobs 1 >"$tmp/t1" || fail "table run exited $?"
"$bench" run "$data/tiny.ini" --jobs 3 >"$tmp/t3" || fail "table run exited $?"
cmp -s "$tmp/t1" "$tmp/t3" || fail "the table differs between --jobs 1 and --jobs 3"

# Another seed gives other figures (seed lines aside), so the seed does reach the run.
"$bench" run "$data/tiny.ini" --seeds 1, --policy refault --format json --output "$tmp/s1.json"
"$bench" run "$data/tiny.ini" --seeds 2, --policy refault --format json --output "$tmp/s2.json"
nowall "$tmp/s1.json" | grep -v '"seed"' >"$tmp/s1"
nowall "$tmp/s2.json" | grep -v '"seed"' >"$tmp/s2"
if cmp -s "$tmp/s1" "$tmp/s2"; then
    fail "seeds 1 and 2 gave the same figures"
fi
# --trace: one process per run, labelled scenario/policy/seed, in combination order whatever
# --jobs; the trace holds simulated time only, so it is byte-identical too.
"$bench" run "$data/tiny.ini" --policy refault,pin --seeds 2 --jobs 1 --trace "$tmp/t1.trace" \
    >/dev/null || fail "run --trace exited $?"
"$bench" run "$data/tiny.ini" --policy refault,pin --seeds 2 --jobs 4 --trace "$tmp/t4.trace" \
    >/dev/null || fail "run --trace exited $?"
grep -q '"traceEvents"' "$tmp/t1.trace" || fail "the trace is not a trace-event file"
grep -o '"bench-tiny/[a-z-]*/[0-9]*"' "$tmp/t1.trace" | uniq | tr '\n' ' ' >"$tmp/labels"
[ "$(cat "$tmp/labels")" = '"bench-tiny/refault/1" "bench-tiny/pin/1" "bench-tiny/refault/2" "bench-tiny/pin/2" ' ] ||
    fail "trace processes: $(cat "$tmp/labels")"
cmp -s "$tmp/t1.trace" "$tmp/t4.trace" || fail "the trace differs between --jobs 1 and --jobs 4"
echo "ok: deterministic across runs and --jobs, in combination order"
