#!/bin/sh
# cli-memory-budget.sh BENCH CHECK -- the simulator's memory budget (docs/reliability.md):
#   - a scenario whose host alone is beyond the default budget fails at once, with the message;
#   - --memory-budget and [scenario] memory_budget set it; bad values are usage errors;
#   - a run needs exactly its recorded memory_peak_bytes: that budget passes, one byte less fails;
#   - a budget that runs out anywhere in a run (set-up, the middle, the final checks) gives a failed
#     record naming the budget, never a crash: under ASan this is a failure-injection test of every
#     allocation path a run takes.
. "$(dirname "$0")/common.sh"

# peak FILE: the memory_peak_bytes of the single record of FILE.
peak() {
    sed -n 's/.*"memory_peak_bytes": \([0-9]*\).*/\1/p' "$1"
}

# A host of 1 TiB needs 12 GiB of frame descriptors: refused by the default 4 GiB budget at once.
runs "$bench" run "$data/tiny.ini" --set host.ram=1TiB --force --policy pin --format json
[ "$rc" -eq 1 ] || fail "1 TiB host: exit $rc, expected 1"
grep -q '"status": -12' "$tmp/out" || fail "1 TiB host: status is not ENOMEM"
grep -q "memory budget of 4GiB is exhausted" "$tmp/out" || fail "1 TiB host: $(cat "$tmp/out")"

for bad in 2 1KiB abc -5 ''; do
    runs "$bench" run "$data/tiny.ini" --memory-budget "$bad"
    [ "$rc" -eq 2 ] || fail "--memory-budget '$bad': exit $rc, expected 2"
    grep -q -- "--memory-budget" "$tmp/err" || fail "--memory-budget '$bad': $(cat "$tmp/err")"
done

# The scenario key, and the option overriding it.
sed 's/^duration = 1s$/duration = 1s\nmemory_budget = 1MiB/' "$data/tiny.ini" >"$tmp/small.ini"
grep -q '^memory_budget = 1MiB' "$tmp/small.ini" || fail "could not write the scenario"
runs "$bench" run "$tmp/small.ini" --policy none --format json
[ "$rc" -eq 1 ] && grep -q "memory budget of 1MiB is exhausted" "$tmp/out" ||
    fail "[scenario] memory_budget = 1MiB: exit $rc: $(cat "$tmp/out" "$tmp/err")"
runs "$bench" run "$tmp/small.ini" --policy none --memory-budget 64MiB
[ "$rc" -eq 0 ] || fail "--memory-budget 64MiB over the scenario's 1MiB: exit $rc"
printf '[scenario]\nmemory_budget = 512KiB\n' >"$tmp/tiny-budget.ini"
runs "$bench" run "$tmp/tiny-budget.ini"
[ "$rc" -eq 2 ] && grep -q "tiny-budget.ini:2: memory_budget" "$tmp/err" ||
    fail "memory_budget = 512KiB: exit $rc: $(cat "$tmp/err")"

# Budgets below a run's peak, at every policy: the run fails with the budget's message wherever it
# runs out; the peak itself is enough.
n=0
for scenario in "$data/tiny.ini" munmap-reuse oom; do
    for policy in none pin pin-persistent fence-wait fence-reload refault; do
        "$bench" run "$scenario" --policy "$policy" --format json --output "$tmp/full.json" ||
            fail "$scenario/$policy: exit $? without a budget"
        p=$(peak "$tmp/full.json")
        [ -n "$p" ] && [ "$p" -gt $((1 << 20)) ] || fail "$scenario/$policy: peak '$p'"
        "$bench" run "$scenario" --policy "$policy" --memory-budget "${p}B" >/dev/null ||
            fail "$scenario/$policy: a budget of its own peak ($p) failed"
        for budget in $((p / 4)) $((p / 2)) $((p * 9 / 10)) $((p - 1)); do
            [ "$budget" -ge $((1 << 20)) ] || continue
            runs "$bench" run "$scenario" --policy "$policy" --memory-budget "${budget}B" \
                --format json
            [ "$rc" -eq 1 ] || fail "$scenario/$policy budget $budget of $p: exit $rc"
            grep -q '"status": -12' "$tmp/out" && grep -q "memory budget of" "$tmp/out" ||
                fail "$scenario/$policy budget $budget of $p: $(grep '"error"' "$tmp/out")"
            n=$((n + 1))
        done
    done
done
echo "ok: $n runs out of budget failed cleanly; the recorded peak is exactly enough"
