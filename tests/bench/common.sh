# common.sh -- sourced by the gpusim-bench tests (tests/bench/cli-*.sh), which CTest runs as
#   sh cli-NAME.sh GPUSIM_BENCH RESULTS_CHECK
# It sets $bench, $check (bench-results-check), $data (this directory, with the test scenarios)
# and $tmp (a scratch directory removed on exit), and defines the helpers below. POSIX sh only:
# CI has neither python nor jq.
set -eu
bench=$1
check=$2
data=$(cd "$(dirname "$0")" && pwd)
tmp=${TMPDIR:-/tmp}/gpusim-bench-test.$$
rm -rf "$tmp"
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# runs CMD...: runs it with stdout in $tmp/out and stderr in $tmp/err; its exit status in $rc.
runs() {
    set +e
    "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    set -e
}

# nowall FILE: the JSON without its wall_time_ns values, the one field allowed to differ.
nowall() {
    sed 's/"wall_time_ns": [0-9]*/"wall_time_ns": 0/' "$1"
}

# same_results A B: A and B hold the same records apart from wall time.
same_results() {
    nowall "$1" >"$tmp/same.a"
    nowall "$2" >"$tmp/same.b"
    cmp -s "$tmp/same.a" "$tmp/same.b" || {
        diff "$tmp/same.a" "$tmp/same.b" | head -20 >&2
        fail "$1 and $2 differ (apart from wall_time_ns)"
    }
}

# records FILE: the number of records in a results file (which must be valid).
records() {
    "$check" "$1" >"$tmp/records" || fail "$1 is not a valid results file"
    sed -n 's/^records //p' "$tmp/records"
}
