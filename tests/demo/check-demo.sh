#!/bin/sh
# check-demo.sh DEMO GOLDEN -- the main job runs, is deterministic, and rejects bad arguments.
#
# Determinism is checked two ways: two runs of this binary give the same bytes, and the output
# matches GOLDEN, recorded on another machine, so a compiler, libc or platform that changes a single
# simulated number is caught. Two kinds of line are left out of the golden comparison: the banner
# (it carries the version) and alloc.* (the simulator's own memory use, which depends on pointer
# width and struct layout, not on the simulation).
set -eu
demo=$1
golden=$2
tmp=${TMPDIR:-/tmp}/gpusim-demo-check.$$
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT

"$demo" >"$tmp/a" 2>/dev/null
"$demo" >"$tmp/b" 2>/dev/null
cmp "$tmp/a" "$tmp/b" || { echo "two runs with the same seed differ"; exit 1; }
"$demo" --seed 2 >"$tmp/c" 2>/dev/null
if cmp -s "$tmp/a" "$tmp/c"; then
    echo "a different seed gave the same output"
    exit 1
fi
grep -v '^alloc\.' "$tmp/a" | grep -v '^gpusim ' >"$tmp/a.filtered"
if ! cmp -s "$tmp/a.filtered" "$golden"; then
    echo "output differs from $golden:"
    diff "$golden" "$tmp/a.filtered" || true
    exit 1
fi
grep -q '^demo.latency' "$tmp/a" || { echo "no latency histogram in the output"; exit 1; }
grep -q '^sim.events.run' "$tmp/a" || { echo "core statistics missing from the output"; exit 1; }

"$demo" --time 1.5ms >/dev/null 2>&1 || { echo "--time 1.5ms was refused"; exit 1; }
for bad in "--time 5" "--time 1.5XB" "--seed x" "--seed -1" "--seed 99999999999999999999" \
           "--seed 1x" "--bogus 1" "--time"; do
    # shellcheck disable=SC2086
    if "$demo" $bad >/dev/null 2>"$tmp/err"; then
        echo "accepted bad arguments: $bad"
        exit 1
    fi
    test -s "$tmp/err" || { echo "no message for bad arguments: $bad"; exit 1; }
done
"$demo" --time 5 >/dev/null 2>"$tmp/err" || true
grep -q "invalid duration '5': missing unit" "$tmp/err" || { echo "unclear message for --time 5"; exit 1; }
echo "ok: deterministic, seed-sensitive, rejects bad arguments"
