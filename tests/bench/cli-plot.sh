#!/bin/sh
# cli-plot.sh BENCH CHECK -- --plot draws SVG and PNG charts per scenario with gnuplot; report
# writes report.md with a table per scenario, the expectations and links to its plots.
# Skipped (exit 77) where gnuplot is not installed.
. "$(dirname "$0")/common.sh"

command -v gnuplot >/dev/null 2>&1 || { echo "skipped: no gnuplot"; exit 77; }
"$bench" run "$data/tiny.ini" "$data/tiny2.ini" --format json --output "$tmp/r.json" \
    --plot "$tmp/plots" || fail "run --plot exited $?"
for s in bench-tiny bench-tiny2; do
    [ -s "$tmp/plots/$s.gp" ] || fail "no gnuplot script for $s"
    grep -q '<svg' "$tmp/plots/$s.svg" || fail "no SVG for $s"
    head -c 8 "$tmp/plots/$s.png" | grep -q PNG || fail "no PNG for $s"
done

"$bench" report "$tmp/r.json" --out "$tmp/report/sub" || fail "report exited $?"
md=$tmp/report/sub/report.md
[ -s "$md" ] || fail "no report.md"
grep -q '^## bench-tiny$' "$md" || fail "report lacks the bench-tiny section"
grep -q '^## bench-tiny2$' "$md" || fail "report lacks the bench-tiny2 section"
grep -q '^| pin-persistent | ' "$md" || fail "report table lacks pin-persistent"
grep -q '^- \*\*NOT MET\*\* `refault: ' "$md" || fail "report does not flag the unmet expectation"
grep -q '^- met `' "$md" || fail "report lists no met expectation"
grep -q '(bench-tiny.svg)' "$md" || fail "report does not link its plot"
grep -q '<svg' "$tmp/report/sub/bench-tiny.svg" || fail "report did not draw its plot"
# The report holds no date or wall time: the same results give the same bytes.
"$bench" report "$tmp/r.json" --out "$tmp/report2" || fail "second report exited $?"
cmp -s "$md" "$tmp/report2/report.md" || fail "two reports of one file differ"
echo "ok: plots and report"
