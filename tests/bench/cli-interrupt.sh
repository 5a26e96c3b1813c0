#!/bin/sh
# cli-interrupt.sh BENCH CHECK -- Ctrl-C: SIGINT during a run stops it, abandons the queued runs,
# writes the completed ones as valid JSON and exits 130.
#
# slow.ini runs take a few seconds each and --jobs 1 plays them one after the other; --progress
# prints a line per completed run, which tells when at least one is done. Nothing depends on how
# fast the machine is: the wait for the first run is bounded generously (10 minutes), and the
# check is only "at least one and fewer than all".
. "$(dirname "$0")/common.sh"

total=6
"$bench" run "$data/slow.ini" --policy pin --seeds $total --jobs 1 --progress --format json \
    --output "$tmp/partial.json" 2>"$tmp/progress" &
pid=$!
i=0
until grep -q "1/$total runs done" "$tmp/progress" 2>/dev/null; do
    i=$((i + 1))
    [ $i -le 6000 ] || { kill "$pid"; fail "no run completed within 10 minutes"; }
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
done
kill -INT "$pid" 2>/dev/null || true
set +e
wait "$pid"
rc=$?
set -e
[ "$rc" -eq 130 ] || fail "exit status $rc after SIGINT, not 130: $(cat "$tmp/progress")"
n=$(records "$tmp/partial.json")
[ "$n" -ge 1 ] && [ "$n" -lt $total ] || fail "$n records after SIGINT: expected 1..$((total - 1))"
# The records written are the first ones, complete: combination order, status 0.
"$check" "$tmp/partial.json" | head -1 | grep -q '^0 bench-slow pin 1 0 ' ||
    fail "first record: $("$check" "$tmp/partial.json" | head -1)"

# A run in flight is abandoned through the stop flag, not waited for: bench-tiny (milliseconds)
# and bench-slow start together on two threads; once bench-tiny is done, SIGINT must end
# bench-slow early, leaving exactly one record.
"$bench" run "$data/tiny.ini" "$data/slow.ini" --policy pin --jobs 2 --progress --format json \
    --output "$tmp/flight.json" 2>"$tmp/progress2" &
pid=$!
i=0
until grep -q "1/2 runs done" "$tmp/progress2" 2>/dev/null; do
    i=$((i + 1))
    [ $i -le 6000 ] || { kill "$pid"; fail "bench-tiny did not complete within 10 minutes"; }
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
done
kill -INT "$pid" 2>/dev/null || true
set +e
wait "$pid"
rc=$?
set -e
[ "$rc" -eq 130 ] || fail "exit status $rc after SIGINT with a run in flight, not 130"
[ "$(records "$tmp/flight.json")" -eq 1 ] ||
    fail "the run in flight was not abandoned: $(records "$tmp/flight.json") records"
echo "ok: SIGINT wrote $n of $total runs and exited 130; a run in flight is abandoned"
