#!/bin/sh
# update-readme-results.sh BENCH -- regenerates the README's results section from a fresh run.
#
# Runs the default set (every built-in scenario under every policy, seed 1) with gpusim-bench BENCH,
# writes docs/results/ (results.json, report.md and its plots) with `gpusim-bench report`, and
# replaces everything between the README's "results:begin" and "results:end" markers with the
# report, its links rewritten to point into docs/results/. `make readme-results` calls it.
set -eu
bench=$1
root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/docs/results
mkdir -p "$out"
"$bench" run --format json --output "$out/results.json"
"$bench" report "$out/results.json" --out "$out"
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
awk -v report="$out/report.md" '
    /<!-- results:begin -->/ {
        print
        while ((getline line < report) > 0) {
            if (line ~ /^# /) continue                      # the README has its own heading
            sub(/^## /, "### ", line)
            gsub(/\]\(/, "](docs/results/", line)           # plots live next to report.md
            print line
        }
        skip = 1
        next
    }
    /<!-- results:end -->/ { skip = 0 }
    !skip
' "$root/README.md" >"$tmp"
grep -q 'results:end' "$tmp" || { echo "README.md has no results markers" >&2; exit 1; }
cp "$tmp" "$root/README.md"
echo "README.md results section regenerated from $out/results.json"
