#!/bin/sh
# cli-formats.sh BENCH CHECK -- every output format reads back: JSON through the reader (and a
# byte-identical round trip), CSV with one column count on every row, the table with a row per
# run; --output; a failing run exits 1 and says why in its record.
. "$(dirname "$0")/common.sh"

set -- "$data/tiny.ini" --seeds 2
"$bench" run "$@" --format json --output "$tmp/r.json" || fail "json run exited $?"
[ "$(records "$tmp/r.json")" -eq 12 ] || fail "expected 12 records"
"$check" --rewrite "$tmp/r.json" >"$tmp/r2.json" || fail "round trip failed"
cmp -s "$tmp/r.json" "$tmp/r2.json" || fail "read then written JSON differs from the original"
head -2 "$tmp/r.json" | grep -q '"gpusim_version": "[0-9]*\.[0-9]*\.[0-9]*"' ||
    fail "no gpusim_version first"
grep -q '"blocked_by": {' "$tmp/r.json" || fail "no notifier.blocked_by object"
# Expectations: met, not met, and not evaluated (the record @pin names was not run).
grep -q '"met": true' "$tmp/r.json" || fail "no met expectation"
grep -q '"met": false' "$tmp/r.json" || fail "no unmet expectation"
"$bench" run "$data/tiny.ini" --policy pin-persistent --format json --output "$tmp/pp.json"
grep -q '"met": null' "$tmp/pp.json" || fail "an expectation naming a missing record evaluated"

# CSV: a header, then one row per run, all with the header's column count.
"$bench" run "$@" --format csv --output "$tmp/r.csv" || fail "csv run exited $?"
[ "$(wc -l <"$tmp/r.csv")" -eq 13 ] || fail "CSV: expected a header and 12 rows"
head -1 "$tmp/r.csv" | grep -q '^scenario,policy,seed,preset,status,sim_time_ns,' ||
    fail "CSV header: $(head -1 "$tmp/r.csv")"
head -1 "$tmp/r.csv" | grep -q ',notifier.blocked_by.kswapd.p99,.*,expectations_met,expectations_total$' ||
    fail "CSV header lacks fields"
[ "$(sed 's/[^,]//g' "$tmp/r.csv" | sort -u | wc -l)" -eq 1 ] || fail "CSV rows differ in columns"
grep -q '^bench-tiny,pin-persistent,2,' "$tmp/r.csv" || fail "CSV lacks the pin-persistent seed 2 row"

# Table: a header and a row per run, within 100 columns.
"$bench" run "$@" >"$tmp/r.table" || fail "table run exited $?"
head -1 "$tmp/r.table" | grep -q '^scenario  *policy  *seed' || fail "table header"
[ "$(grep -c '^bench-tiny ' "$tmp/r.table")" -eq 12 ] || fail "table: expected 12 rows"
[ "$(sed -n '/^bench-tiny /p' "$tmp/r.table" | grep -c '^.\{101,\}')" -eq 0 ] ||
    fail "table rows wider than 100 columns"

# --output: the file has it all, stdout nothing.
runs "$bench" run "$data/tiny.ini" --policy pin --format csv --output "$tmp/o.csv"
[ "$rc" -eq 0 ] && [ ! -s "$tmp/out" ] && [ "$(wc -l <"$tmp/o.csv")" -eq 2 ] || fail "--output"

# A run that fails (its set-up outlasts the duration): exit 1, the record says why, the others
# are still written.
runs "$bench" run "$data/fail.ini" "$data/tiny.ini" --policy pin --format json --output "$tmp/f.json"
[ "$rc" -eq 1 ] || fail "a failing run exited $rc, not 1"
"$check" "$tmp/f.json" >"$tmp/f.list" || fail "results with a failed run do not read back"
grep -q '^0 bench-fail pin 1 -[0-9]* ' "$tmp/f.list" || fail "failed record: $(cat "$tmp/f.list")"
grep -q '^1 bench-tiny pin 1 0 ' "$tmp/f.list" || fail "the good run's record is missing"
grep -q '"error": "..*"' "$tmp/f.json" || fail "the failed record has no error text"
runs "$bench" run "$data/fail.ini" --policy pin
[ "$rc" -eq 1 ] && grep -q 'FAILED' "$tmp/out" || fail "table of a failed run"
echo "ok: json, csv and table read back; --output; a failed run exits 1"
