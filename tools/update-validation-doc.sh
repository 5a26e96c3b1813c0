#!/bin/sh
# update-validation-doc.sh VALIDATE -- regenerates the table of docs/validation.md.
#
# Replaces everything between the `<!-- validation:begin -->` and `<!-- validation:end -->` lines
# of docs/validation.md with `VALIDATE --markdown` (framed by one blank line each side), which is
# exactly what the CTest validation.doc compares. `make validation-doc` calls it. The table is
# written even when a check fails (exit 1), so that the failure shows in the diff; a usage error
# (exit 2) changes nothing.
set -eu
validate=$1
root=$(cd "$(dirname "$0")/.." && pwd)
doc=$root/docs/validation.md
tmp=$(mktemp)
out=$(mktemp)
trap 'rm -f "$tmp" "$out"' EXIT
status=0
"$validate" --markdown >"$out" || status=$?
if [ "$status" -gt 1 ]; then
    echo "$validate --markdown failed (exit $status); $doc unchanged" >&2
    exit 1
fi
awk -v table="$out" '
    /^<!-- validation:begin -->$/ {
        print
        print ""
        while ((getline line < table) > 0)
            print line
        print ""
        skip = 1
        next
    }
    /^<!-- validation:end -->$/ { skip = 0 }
    !skip
' "$doc" >"$tmp"
grep -q '^<!-- validation:end -->$' "$tmp" || { echo "$doc has no validation markers" >&2; exit 1; }
cp "$tmp" "$doc"
echo "docs/validation.md regenerated from $validate --markdown"
[ "$status" -eq 0 ] || echo "note: a check FAILs (see the table)" >&2
