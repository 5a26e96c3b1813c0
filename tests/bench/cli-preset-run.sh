#!/bin/sh
# cli-preset-run.sh BENCH CHECK -- every built-in scenario, under every policy, meets every
# expectation it states with the amd-mi300x preset too: the scenarios' claims are about the
# policies, not about one GPU's costs. The records name the presets in force, and a preset
# changes the figures (the runs are not the default's).
. "$(dirname "$0")/common.sh"

"$bench" run --preset amd-mi300x --format json --output "$tmp/amd.json" ||
    fail "run --preset amd-mi300x exited $?"
"$check" "$tmp/amd.json" >"$tmp/amd.txt" || fail "not a valid results file"
n=$(sed -n 's/^records //p' "$tmp/amd.txt")
[ "$n" -ge 42 ] || fail "expected every built-in under every policy, got $n records"
# Each record line: index scenario policy seed status met/total.
awk '$1 != "records" && ($5 != 0 || split($6, m, "/") != 2 || m[1] != m[2])' "$tmp/amd.txt" \
    >"$tmp/bad.txt"
[ ! -s "$tmp/bad.txt" ] || fail "failed runs or unmet expectations under amd-mi300x:
$(cat "$tmp/bad.txt")"
[ "$(grep -c '"preset": "amd-mi300x+linux-x86-64"' "$tmp/amd.json")" -eq "$n" ] ||
    fail "records do not all name the presets amd-mi300x+linux-x86-64"

# The same scenario under the default presets gives other times.
"$bench" run steady-reuse --policy refault --format json --output "$tmp/nv.json" ||
    fail "default run exited $?"
grep -q '"preset": "nvidia-h100+linux-x86-64"' "$tmp/nv.json" || fail "default presets not named"
"$bench" run steady-reuse --policy refault --preset amd-mi300x --format json \
    --output "$tmp/amd1.json" || fail "amd run exited $?"
a=$(sed -n 's/.*"sim_time_ns": \([0-9]*\).*/\1/p' "$tmp/nv.json" | head -1)
b=$(sed -n 's/.*"sim_time_ns": \([0-9]*\).*/\1/p' "$tmp/amd1.json" | head -1)
[ -n "$a" ] && [ "$a" != "$b" ] || fail "the preset changed nothing (sim_time_ns $a and $b)"
echo "ok: $n runs under amd-mi300x, every expectation met"
