#!/bin/sh
# check-format.sh CLANG_FORMAT SOURCE_DIR -- every C file is formatted with the project's .clang-format.
set -eu
cf=$1
root=$2
files=$(find "$root/include" "$root/src" "$root/tests" "$root/bench" "$root/sim" \
             -name '*.[ch]' 2>/dev/null | sort)
cd "$root"
if ! "$cf" --dry-run --Werror $files; then
    echo "run 'make format' to fix"
    exit 1
fi
echo "ok: $(echo "$files" | wc -l) files formatted"
