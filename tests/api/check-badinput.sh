#!/bin/sh
# check-badinput.sh INCLUDE_DIR TESTS_DIR -- the bad-input catalogue is complete: every function
# declared GPUSIM_EXTERN in the public headers is called in some tests/test_badinput_*.c, unless it
# is exempt below. A new public function fails this check until the catalogue covers it (or it is
# exempted here, with the reason). docs/reliability.md §3 describes the catalogue.
set -eu
include=$1
tests=$2

# Functions that take no argument, so there is nothing bad to give them: "name reason".
exempt='
gpusim_version no arguments
gpusim_version_string no arguments
gpusim_allocator_name no arguments
'

files=$(ls "$tests"/test_badinput_*.c 2>/dev/null || true)
if [ -z "$files" ]; then
    echo "no tests/test_badinput_*.c found in $tests"
    exit 1
fi

# Declarations may wrap: join each GPUSIM_EXTERN line with the next so the name is on it.
declared=$(cat "$include"/gpusim.h "$include"/gpusim/*.h | awk '
    /GPUSIM_EXTERN/ && !/#define/ { line = $0; if (line !~ /\(/) { getline nxt; line = line nxt }
                                    print line }' |
           sed -n 's/.*[ *]\(gpusim_[a-z0-9_]*\)(.*/\1/p' | sort -u)

missing=''
stale=''
n=0
covered=0
for f in $declared; do
    n=$((n + 1))
    if printf '%s\n' "$exempt" | grep -q "^$f "; then
        continue
    fi
    if grep -qw "$f" $files; then
        covered=$((covered + 1))
    else
        missing="$missing $f"
    fi
done
# An exemption for a function that no longer exists is stale.
for f in $(printf '%s\n' "$exempt" | awk 'NF { print $1 }'); do
    printf '%s\n' "$declared" | grep -qx "$f" || stale="$stale $f"
done
status=0
if [ -n "$missing" ]; then
    echo "public functions missing from the bad-input catalogue (tests/test_badinput_*.c):"
    printf '  %s\n' $missing
    status=1
fi
if [ -n "$stale" ]; then
    echo "exempt in check-badinput.sh but not declared GPUSIM_EXTERN:"
    printf '  %s\n' $stale
    status=1
fi
nexempt=$(printf '%s\n' "$exempt" | awk 'NF' | wc -l)
[ $status -eq 0 ] && echo "ok: $n public functions: $covered in the bad-input catalogue, $nexempt exempt"
exit $status
