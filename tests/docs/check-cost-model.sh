#!/bin/sh
# check-cost-model.sh GPUSIM_BENCH DOC -- DOC (docs/cost-model.md) is exactly what
# `gpusim-bench presets --markdown` prints: the document is generated from the parameter tables
# and the presets, and this test fails when someone changes either without regenerating it (or
# edits the document by hand). POSIX sh only.
set -eu
bench=$1
doc=$2
tmp=${TMPDIR:-/tmp}/gpusim-cost-model.$$
trap 'rm -f "$tmp"' EXIT
"$bench" presets --markdown >"$tmp" || {
    echo "FAIL: gpusim-bench presets --markdown exited $?" >&2
    exit 1
}
if ! cmp -s "$tmp" "$doc"; then
    diff "$doc" "$tmp" | head -40 >&2 || true
    echo "FAIL: $doc is not what gpusim-bench presets --markdown prints (above: - the file," >&2
    echo "      + the tables); regenerate it with: make cost-model-doc" >&2
    exit 1
fi
echo "ok: $doc matches the parameter tables and presets"
