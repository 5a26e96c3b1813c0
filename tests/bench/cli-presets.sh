#!/bin/sh
# cli-presets.sh BENCH CHECK -- `gpusim-bench presets`: the listing, one preset, --diff and
# --markdown, and every usage error exits 2 with one clear line on stderr and nothing on stdout.
. "$(dirname "$0")/common.sh"
doc=$data/../../docs/cost-model.md

# ok ARGS...: exits 0 with output on stdout and nothing on stderr.
ok() {
    runs "$bench" "$@"
    [ "$rc" -eq 0 ] || fail "exit $rc for: $*: $(cat "$tmp/err")"
    [ ! -s "$tmp/err" ] || fail "stderr for: $*: $(cat "$tmp/err")"
    [ -s "$tmp/out" ] || fail "no output for: $*"
}

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

# The listing: every preset with its kind, and a table per layer with a column per preset.
ok presets
grep -q '^  nvidia-h100  *GPU  *default  *[^ ]' "$tmp/out" || fail "listing: nvidia-h100"
grep -q '^  amd-mi300x  *GPU  *[^d ]' "$tmp/out" || fail "listing: amd-mi300x is no default"
grep -q '^  linux-x86-64  *host  *default ' "$tmp/out" || fail "listing: linux-x86-64"
for l in host gpu driver; do
    grep -q "^$l parameters ([0-9]*):\$" "$tmp/out" || fail "listing: no $l table"
done
grep -q '^  name  *unit  *nvidia-h100  *amd-mi300x  *range  *tag$' "$tmp/out" ||
    fail "listing: the GPU tables' header"
grep -q '^  vram_size  *bytes  *80GiB  *192GiB\*  *16MiB\.\.1TiB  *R$' "$tmp/out" ||
    fail "listing: vram_size: $(grep vram_size "$tmp/out")"
grep -q '^  dma_setup  *ns  *5us  *6us\*  *[^ ]*  *U/R$' "$tmp/out" ||
    fail "listing: dma_setup's tags per preset: $(grep dma_setup "$tmp/out")"
grep -q '^  swap_in_4k  *ns  *80us  *1\.3us\.\.150us  *U$' "$tmp/out" || fail "listing: swap_in_4k"

# One preset: every field with value, tag and source; the changed ones marked.
ok presets amd-mi300x
grep -q '^amd-mi300x: AMD' "$tmp/out" || fail "NAME: no description"
grep -q '^\* vram_size  *192GiB  *\[R\]  *MI300X' "$tmp/out" || fail "NAME: vram_size not marked"
grep -q '^\* fault_granule  *2MiB  *\[C\] ' "$tmp/out" || fail "NAME: fault_granule not marked"
grep -q '^  page_walk_level  *125ns  *\[D\]  *cost-model' "$tmp/out" ||
    fail "NAME: page_walk_level marked or missing"
marked=$(grep -c '^\* ' "$tmp/out")
grep -q "marks the $marked fields it changes" "$tmp/out" || fail "NAME: the count of changed fields"
ok presets nvidia-h100
grep -q '^\* ' "$tmp/out" && fail "the default preset marks a field"
grep -q 'changes no field' "$tmp/out" || fail "the default preset does not say it changes nothing"
grep -q '^  vram_size  *80GiB  *\[R\]  *H100' "$tmp/out" || fail "nvidia-h100: vram_size"
ok presets linux-x86-64
grep -q '^host parameters:$' "$tmp/out" || fail "linux-x86-64: no host table"
grep -q '^gpu parameters' "$tmp/out" && fail "a host preset shows the GPU table"

# --diff: only the fields whose values differ, each with both values and both sources.
ok presets --diff nvidia-h100 amd-mi300x
grep -q '^gpu\.vram_size$' "$tmp/out" || fail "--diff does not list vram_size"
grep -q '^  nvidia-h100  *80GiB  *\[R\]  *H100 80 GB' "$tmp/out" || fail "--diff: H100's side"
grep -q '^  amd-mi300x  *192GiB  *\[R\]  *MI300X 192 GB' "$tmp/out" || fail "--diff: MI300X's side"
grep -q '^driver\.fault_granule$' "$tmp/out" || fail "--diff does not list driver.fault_granule"
grep -q 'page_walk_level' "$tmp/out" && fail "--diff lists page_walk_level, which is the same"
n=$(grep -c '^[a-z]*\.[a-z0-9_]*$' "$tmp/out")
grep -q "^nvidia-h100 and amd-mi300x differ in $n fields:\$" "$tmp/out" || fail "--diff: the count"
ok presets --diff amd-mi300x nvidia-h100
grep -q '^  amd-mi300x  *192GiB' "$tmp/out" || fail "--diff B A"
ok presets --diff amd-mi300x amd-mi300x
[ "$(cat "$tmp/out")" = "amd-mi300x and amd-mi300x: no differences" ] ||
    fail "--diff of a preset with itself: $(cat "$tmp/out")"
ok presets linux-x86-64 --diff linux-x86-64
grep -q 'no differences' "$tmp/out" || fail "--diff of the host preset with itself"

# --markdown is docs/cost-model.md, and the same bytes every time.
ok presets --markdown
cmp -s "$tmp/out" "$doc" || fail "--markdown is not docs/cost-model.md (make cost-model-doc)"
head -1 "$tmp/out" | grep -q '^<!-- Generated .*make cost-model-doc' || fail "--markdown: line 1"
grep -q '^| `vram_size` | bytes | 80GiB | \*\*192GiB\*\* | .*<br>\*\*amd-mi300x:\*\* \[R\] MI300X' \
    "$tmp/out" || fail "--markdown: vram_size lacks amd-mi300x's value, tag or source"
cp "$tmp/out" "$tmp/md1"
ok presets --markdown
cmp -s "$tmp/out" "$tmp/md1" || fail "two runs of presets --markdown differ"

usage "unknown preset 'nope' (known: nvidia-h100, amd-mi300x, linux-x86-64)" presets nope
usage "unknown preset 'nope'" presets --diff nvidia-h100 nope
usage "unknown preset 'nope'" presets --diff nope nvidia-h100
usage "amd-mi300x is a GPU preset and linux-x86-64 a host preset" \
    presets --diff amd-mi300x linux-x86-64
usage "presets --diff needs two presets, not 1" presets --diff nvidia-h100
usage "presets --diff needs two presets, not 0" presets --diff
usage "presets --diff needs two presets, not 3" presets --diff a b c
usage "presets takes at most one preset, not 2" presets nvidia-h100 amd-mi300x
usage "presets --markdown takes no arguments ('nvidia-h100')" presets --markdown nvidia-h100
usage "--diff and --markdown do not combine" presets --diff --markdown a b
usage "option --diff takes no value" presets --diff=a b
usage "option --jobs does not apply to presets" presets --jobs 2
usage "option --markdown does not apply to run" run --markdown
usage "option --diff does not apply to list" list --diff

# --help names the command.
ok --help
grep -q '^       gpusim-bench presets \[NAME | --diff A B | --markdown\]$' "$tmp/out" ||
    fail "--help does not show presets"

# A write error (a full disk) exits 1.
if [ -w /dev/full ]; then
    set +e
    "$bench" presets >/dev/full 2>"$tmp/err"
    rc=$?
    set -e
    [ "$rc" -eq 1 ] && grep -q 'cannot write' "$tmp/err" || fail "presets >/dev/full: exit $rc"
fi
echo "ok: presets, NAME, --diff, --markdown, errors"
