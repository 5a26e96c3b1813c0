#!/bin/sh
# check-exports.sh LIB -- the shared library exports exactly the public API:
#   - every defined dynamic symbol starts with gpusim_ (and never gpusim__, the internal prefix);
#   - every function declared GPUSIM_EXTERN in include/ is exported.
set -eu
lib=$1
include=$(dirname "$0")/../../include

exported=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVW]$/ { print $3 }' | sort -u)
bad=$(printf '%s\n' "$exported" | grep -v '^gpusim_' | grep -v '^_init$' | grep -v '^_fini$' || true)
internal=$(printf '%s\n' "$exported" | grep '^gpusim__' || true)
if [ -n "$bad$internal" ]; then
    echo "symbols exported that are not public gpusim_ API:"
    printf '%s\n' $bad $internal
    exit 1
fi

declared=$(grep -rh 'GPUSIM_EXTERN' "$include" | grep -v '#define' |
           sed -n 's/.*[ *]\(gpusim_[a-z0-9_]*\)(.*/\1/p' | sort -u)
missing=$(printf '%s\n' "$declared" | while read -r f; do
    printf '%s\n' "$exported" | grep -qx "$f" || echo "$f"
done)
if [ -n "$missing" ]; then
    echo "declared GPUSIM_EXTERN but not exported:"
    printf '%s\n' "$missing"
    exit 1
fi
n=$(printf '%s\n' "$declared" | wc -l)
echo "ok: $n public functions, all exported; nothing else exported"
