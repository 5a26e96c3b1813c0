#!/bin/sh
# check-doc.sh VALIDATE DOC -- docs/validation.md holds exactly what `VALIDATE --markdown` prints,
# between its `<!-- validation:begin -->` and `<!-- validation:end -->` lines (with one blank line
# after the first and before the second). `make validation-doc` regenerates that part
# (tools/update-validation-doc.sh).
set -eu
validate=$1
doc=$2
tmp=${TMPDIR:-/tmp}/gpusim-validation-doc.$$
trap 'rm -f "$tmp".*' EXIT INT TERM

grep -q '^<!-- validation:begin -->$' "$doc" && grep -q '^<!-- validation:end -->$' "$doc" || {
    echo "$doc: no <!-- validation:begin --> / <!-- validation:end --> lines" >&2
    exit 1
}
awk '/^<!-- validation:end -->$/ { inside = 0 } inside { print } /^<!-- validation:begin -->$/ { inside = 1 }' \
    "$doc" >"$tmp.doc"
status=0
"$validate" --markdown >"$tmp.out" || status=$?
if [ "$status" -gt 1 ]; then
    echo "$validate --markdown failed (exit $status)" >&2
    exit 1
fi
{ echo; cat "$tmp.out"; echo; } >"$tmp.want"
if ! cmp -s "$tmp.want" "$tmp.doc"; then
    echo "$doc is out of date with gpusim-validate --markdown; run 'make validation-doc'." >&2
    diff -u "$tmp.doc" "$tmp.want" >&2 || true
    exit 1
fi
echo "ok: $doc matches gpusim-validate --markdown"
