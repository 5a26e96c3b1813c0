#!/bin/sh
# tests/fuzz/run.sh BUILD_DIR SECONDS TARGET... -- runs libFuzzer targets one after another.
#
# What `make fuzz` and `make fuzz-ci` call, on a build configured with GPUSIM_FUZZ=ON. Each target
# fuzz_<t> runs for SECONDS (-max_total_time), growing BUILD_DIR/corpus/<t> (the first corpus
# directory, where libFuzzer writes new inputs) from the seeds of tests/fuzz/corpus/<t> and the
# regression inputs of tests/fuzz/regress/<t>, which it only reads. A crash, a leak, a sanitizer
# report or an input slower than 10 s stops that target; its input is kept under
# BUILD_DIR/artifacts/<t>/ and the run fails, after the other targets have had their turn. The full
# log of each target is BUILD_DIR/fuzz-<t>.log. At the end, one line per target: the executions
# (libFuzzer's stat::number_of_executed_units), executions per second, and the last coverage
# figures (cov: edges, ft: features, corp: corpus entries).
#
# FUZZ_SEED (environment) fixes libFuzzer's random seed: `make fuzz-ci` sets it, so that what CI
# explores depends on the code and the time it is given, not on the hour it ran, and a finding
# there is found again by `make fuzz-ci` on a developer's machine. Unset (`make fuzz`), libFuzzer
# draws a new seed each run, which is what long runs want.
set -eu

if [ $# -lt 3 ]; then
    echo "usage: $0 BUILD_DIR SECONDS TARGET..." >&2
    exit 2
fi
build=$1
secs=$2
shift 2
src=$(cd "$(dirname "$0")" && pwd)

case $secs in
'' | *[!0-9]*)
    echo "fuzz: FUZZ_SECONDS must be a whole number of seconds, not '$secs'" >&2
    exit 2
    ;;
esac

status=0
summary=""
for t in "$@"; do
    bin=$build/tests/fuzz/fuzz_$t
    if [ ! -x "$bin" ]; then
        echo "fuzz: no target $bin (targets: packet scenario units api)" >&2
        exit 2
    fi
    corpus=$build/corpus/$t
    artifacts=$build/artifacts/$t
    log=$build/fuzz-$t.log
    mkdir -p "$corpus" "$artifacts"
    echo "fuzz: $t for ${secs} s (corpus $corpus, log $log)"
    if "$bin" -max_total_time="$secs" ${FUZZ_SEED:+-seed="$FUZZ_SEED"} -print_final_stats=1 \
        -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$artifacts/" "$corpus" "$src/corpus/$t" "$src/regress/$t" \
        >"$log" 2>&1; then
        result=ok
    else
        result=FAILED
        status=1
        echo "fuzz: $t FAILED; the end of its log:" >&2
        tail -n 40 "$log" >&2
        ls "$artifacts" >&2
    fi
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    cov=$(grep -o 'cov: [0-9]* ft: [0-9]* corp: [0-9]*' "$log" | tail -n 1 || true)
    line=$(printf '%-9s %-7s %12s executions %8s exec/s   %s' "$t" "$result" "${execs:-?}" \
        "${rate:-?}" "${cov:-}")
    summary="$summary$line
"
done

echo "fuzz: summary (${secs} s per target)"
printf '%s' "$summary"
exit $status
