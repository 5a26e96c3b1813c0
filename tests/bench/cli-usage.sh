#!/bin/sh
# cli-usage.sh BENCH CHECK -- gpusim-bench's command line: --help, --version, list, and every
# usage error exits 2 with one clear line on stderr and nothing on stdout.
. "$(dirname "$0")/common.sh"

runs "$bench" --help
[ "$rc" -eq 0 ] || fail "--help exited $rc"
grep -q '^usage: gpusim-bench' "$tmp/out" || fail "--help printed no usage on stdout"
[ ! -s "$tmp/err" ] || fail "--help wrote to stderr"
runs "$bench" run --help
[ "$rc" -eq 0 ] && grep -q '^usage:' "$tmp/out" || fail "run --help"
runs "$bench" --version
[ "$rc" -eq 0 ] || fail "--version exited $rc"
grep -Eq '^gpusim-bench [0-9]+\.[0-9]+\.[0-9]+ \(allocator (jemalloc|libc)\)$' "$tmp/out" || fail "--version: $(cat "$tmp/out")"

# list: every policy, and every built-in with a description.
runs "$bench" list
[ "$rc" -eq 0 ] || fail "list exited $rc: $(cat "$tmp/err")"
for p in none pin pin-persistent fence-wait fence-reload refault; do
    grep -q "^  $p\$" "$tmp/out" || fail "list does not show policy $p"
done
grep -q '^  steady-reuse  *[^ ]' "$tmp/out" || fail "list does not describe steady-reuse"

# usage MESSAGE ARGS...: exits 2, says MESSAGE (a fixed string) in one line, prints nothing else.
usage() {
    msg=$1
    shift
    runs "$bench" "$@"
    [ "$rc" -eq 2 ] || fail "exit $rc, not 2, for: $*"
    [ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "not one line on stderr for: $*: $(cat "$tmp/err")"
    grep -qF -- "$msg" "$tmp/err" || fail "for: $*: expected '$msg', got: $(cat "$tmp/err")"
    [ ! -s "$tmp/out" ] || fail "a usage error wrote to stdout: $*"
}

usage "missing command"
usage "unknown command 'bogus'" bogus
usage "unknown option '--bogus'" run --bogus
usage "unknown option '--bogus=1'" run "$data/tiny.ini" --bogus=1
usage "option --jobs does not apply to list" list --jobs 2
usage "list takes no arguments" list extra
usage "option --policy needs a value" run --policy
usage "option --progress takes no value" run --progress=yes
for s in 3/3 1/0 x 1 -1/2 1/ /2 1/2x 99999999999999999999/2; do
    usage "--shard '$s': expected I/N with 0 <= I < N" run "$data/tiny.ini" --shard "$s"
done
usage "unknown policy 'nope'" run "$data/tiny.ini" --policy pin,nope
usage "'pin' given twice" run "$data/tiny.ini" --policy pin,pin
usage "empty policy name" run "$data/tiny.ini" --policy pin,
usage "--seeds '0'" run "$data/tiny.ini" --seeds 0
usage "--seeds 'x'" run "$data/tiny.ini" --seeds x
usage "empty seed" run "$data/tiny.ini" --seeds 1,,2
usage "seed 2 given twice" run "$data/tiny.ini" --seeds 2,2
usage "--jobs '0': expected 1..1024" run "$data/tiny.ini" --jobs 0
usage "--jobs '2000': expected 1..1024" run "$data/tiny.ini" --jobs 2000
usage "--format 'xml': expected table, csv or json" run "$data/tiny.ini" --format xml
usage "--set 'foo': expected NAME=VALUE" run "$data/tiny.ini" --set foo
usage "unknown scenario 'no-such-scenario'" run no-such-scenario
usage "given twice" run "$data/tiny.ini" "$data/tiny.ini"
usage "merge needs at least one results file" merge
usage "report needs --out DIR" report x.json
usage "perf takes no arguments ('extra')" perf extra
usage "--only: unknown measurement 'nope' (expected events," perf --only events,nope
usage "perf: --format csv is not offered" perf --format csv
usage "option --quick does not apply to run" run --quick

# perf: the rows asked for and no others, each with a verdict; targets never set the exit status.
runs "$bench" perf --quick --only events,frame-memory --format json
[ "$rc" -eq 0 ] || fail "perf exited $rc: $(cat "$tmp/err")"
grep -q '"name": "event queue schedule+dispatch", "unit": "events/s"' "$tmp/out" || fail "perf: no event row"
grep -q '"name": "memory per simulated host frame", "unit": "bytes"' "$tmp/out" || fail "perf: no frame row"
[ "$(grep -c '"meets": \(true\|false\)' "$tmp/out")" -eq 2 ] || fail "perf: not two judged rows: $(cat "$tmp/out")"
! grep -q 'TLB hit' "$tmp/out" || fail "perf --only ran a measurement not asked for"
usage "report needs exactly one results file" report --out "$tmp/r"

# A scenario that does not parse: "file:line: message", from the parser.
runs "$bench" run "$data/bad.ini"
[ "$rc" -eq 2 ] || fail "a scenario parse error exited $rc"
grep -Eq 'bad\.ini:[0-9]+: .' "$tmp/err" || fail "parse error not as file:line: $(cat "$tmp/err")"
[ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "parse error: more than one line"
# A --set the scenario has no parameter for.
runs "$bench" run "$data/tiny.ini" --set no_such_parameter=1
[ "$rc" -eq 2 ] && grep -q 'no_such_parameter' "$tmp/err" || fail "--set of an unknown parameter"

# Bad results files for merge and report.
echo '{"results": [' >"$tmp/broken.json"
runs "$bench" merge "$tmp/broken.json"
[ "$rc" -eq 2 ] && grep -q 'broken.json:[0-9]*:[0-9]*: not JSON' "$tmp/err" || fail "merge of broken JSON"
runs "$bench" report "$tmp/none.json" --out "$tmp/r"
[ "$rc" -eq 2 ] && grep -q 'none.json' "$tmp/err" || fail "report of a missing file"

# --plot without gnuplot on PATH: a clear error, exit 1, before anything runs.
runs env PATH=/nonexistent "$bench" run "$data/tiny.ini" --plot "$tmp/plots"
[ "$rc" -eq 1 ] && grep -q 'gnuplot' "$tmp/err" || fail "--plot without gnuplot: exit $rc"
echo "ok: usage, list, errors"
