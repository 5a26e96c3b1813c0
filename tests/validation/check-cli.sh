#!/bin/sh
# check-cli.sh VALIDATE -- gpusim-validate's own behaviour: usage errors exit 2 with a clear
# message, a check pushed out of its band FAILs (exit 1), a declared gap whose figure moves into
# its band FAILs as "gap closed", and the output does not change from one run to the next.
set -eu
v=$1
tmp=${TMPDIR:-/tmp}/gpusim-validate-cli.$$
trap 'rm -f "$tmp".*' EXIT INT TERM
fail() { echo "FAIL: $*" >&2; exit 1; }

# expect STATUS PATTERN ARGS...: runs VALIDATE ARGS, wants exit STATUS and PATTERN in its output.
expect() {
    want=$1 pattern=$2
    shift 2
    status=0
    "$v" "$@" >"$tmp.out" 2>&1 || status=$?
    [ "$status" -eq "$want" ] || { cat "$tmp.out" >&2; fail "'$*' exited $status, not $want"; }
    grep -q -- "$pattern" "$tmp.out" || { cat "$tmp.out" >&2; fail "'$*' did not print '$pattern'"; }
}

expect 0 'usage: gpusim-validate' --help
expect 2 "unknown argument '--frobnicate'" --frobnicate
expect 2 'needs an argument' --only
expect 2 "no check 'no.such'" --only no.such
expect 2 'wants LAYER.NAME=VALUE' --set fault_replay=5us
expect 2 "unknown layer 'cpu'" --set cpu.fault_replay=5us
expect 2 'gpu.no_such_param' --set gpu.no_such_param=1
expect 2 'gpu.fault_replay=1h' --set gpu.fault_replay=1h

# A check in its band passes; the same check with a contributing cost at the top of its
# plausible range (an isolated fault: 5 + 55 + 0.5 + ... + 5 us > 50 us) fails.
expect 0 'fault.isolated *PASS' --only fault.isolated
expect 1 'outside the published band' --only fault.isolated --set gpu.fault_batch_fixed=55us
# A declared gap whose figure lands in its band fails: pageable copies at 14 GB/s.
expect 1 'gap closed: update the check and docs/validation.md' --only copy.pageable \
    --set gpu.pcie_h2d_pinned=14GB/s

# Deterministic: two runs print the same bytes.
"$v" --markdown >"$tmp.a" || true
"$v" --markdown >"$tmp.b" || true
cmp -s "$tmp.a" "$tmp.b" || fail "two runs of --markdown differ"
echo "ok: gpusim-validate usage, failures and determinism"
