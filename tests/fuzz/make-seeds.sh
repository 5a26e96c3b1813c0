#!/bin/sh
# tests/fuzz/make-seeds.sh -- (re)writes the seed corpora of tests/fuzz/corpus/ (POSIX sh and awk).
#
#   packet    the decoder corpus tests/data/packets/*.hex, as binary (docs/packets.md §4)
#   scenario  the built-in scenarios (sim/scenarios) and the parser's test scenarios
#   units     one input per spelling worth knowing: sizes, durations, rates (valid and not),
#             values to format, and parameter settings (fuzz_units.c has the layout)
#   api       programs that reach deep states under every policy (fuzz_api.c has the layout; the
#             opcode numbers below are the indices of its `ops` table)
#
# The files are committed; run this again after changing an input layout. Usage: sh make-seeds.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=$here/corpus

# Writes the bytes given as decimal numbers to stdout.
bytes() {
    for b in "$@"; do
        # shellcheck disable=SC2059
        printf "\\$(printf '%03o' "$b")"
    done
}

# hex2bin FILE: the bytes of a .hex corpus file (whitespace ignored, '#' to the end of a line).
hex2bin() {
    sed 's/#.*//' "$1" | tr -d ' \t\r\n' | awk '
        BEGIN { for (i = 0; i < 16; i++) v[substr("0123456789abcdef", i + 1, 1)] = i }
        { s = tolower($0); for (i = 1; i < length(s); i += 2)
              printf "%s ", v[substr(s, i, 1)] * 16 + v[substr(s, i + 1, 1)] }'
}

rm -rf "$out"
mkdir -p "$out/packet" "$out/scenario" "$out/units" "$out/api"

# ---- packet ----------------------------------------------------------------------------------
for f in "$root"/tests/data/packets/*.hex; do
    name=$(basename "$f" .hex)
    # shellcheck disable=SC2046
    bytes $(hex2bin "$f") >"$out/packet/$name"
done

# ---- scenario --------------------------------------------------------------------------------
for f in "$root"/sim/scenarios/*.ini "$root"/tests/data/scenarios/*.ini; do
    cp "$f" "$out/scenario/$(basename "$f")"
done
# The expectation grammar is also parsed from the first line.
printf 'pin: sim_time_ns > 2 * sim_time_ns@pin-persistent\n[buffer b]\nsize = 4KiB\n' \
    >"$out/scenario/expect-first-line"

# ---- units -----------------------------------------------------------------------------------
# unit OP BUFLEN TEXT [BYTE...]: byte 0 is OP | BUFLEN << 3, then the BYTEs (decimal), then the
# text. (Bytes go through `bytes`, never through $(...), which would drop a NUL.)
n=0
unit() {
    n=$((n + 1))
    op=$1 len=$2 text=$3
    shift 3
    { bytes $((op | len << 3)) "$@"; printf '%s' "$text"; } >"$out/units/$(printf '%03d' $n)"
}
for s in 4KiB 1.5MiB "16 GiB" 0.3B 12XB 8b 1EiB 16EiB 18446744073709551615 \
    18446744073709551616 1.0009765625KiB 100MB " 7 " -1K 1e3; do
    unit 0 31 "$s"
    unit 0 5 "$s"
done
for s in 1.5ms 2us "3 µs" 60min 1d 0 5 0.5ns 213503d 1.000000001s; do
    unit 1 31 "$s"
done
for s in 55GB/s 12GiB/s 0B/s 100Mb/s 1.5KB/s 3/s 18EB/s; do
    unit 2 31 "$s"
done
# format: the value's little-endian bytes.
unit 3 31 "" 0 4                          # 1 KiB
unit 3 3 "" 1 4                           # 1025: rounded, ENOSPC
unit 4 31 "" 96 227 22                    # 1.5 ms
unit 4 31 "" 255 255 255 255 255 255 255 255
unit 5 31 "" 0 118 72 206 12              # 55 GB/s
unit 5 0 ""
# settings: layer byte (0 host, 1 gpu, 2 driver; +4 force), then NAME=VALUE.
unit 6 31 "fault_anon_4k=2.3us" 0
unit 6 31 "vram_size=80GiB" 1
unit 6 31 "tlb_l1_lookup=1h" 1
unit 6 31 "tlb_l1_lookup=1h" 5
unit 6 31 "prefetch=on" 2
unit 6 31 "prefetch_threshold=51%" 2
unit 6 31 "fault_granule=3KiB" 2
unit 6 8 "no_such_parameter=1" 0
unit 7 31 "restore_delay" 2

# ---- api -------------------------------------------------------------------------------------
# Opcodes (fuzz_api.c, table `ops`).
MMAP=0 MUNMAP=2 MPROTECT=3 MADVISE=4 MREMAP=5 ACCESS=6 FORK=8 EXIT=9 PIN=11 UNPIN=12 HMM=13
COMPACT=14 DRV_NEW=16 DRV_FREE=17 REG=18 UNREG=20 SUBMIT=21 RUN=23 KILL=25 F_NEW=26 F_FREE=27
F_SIGNAL=28 F_WAIT=29 CTX_NEW=31 MAP=33 ACC=35 Q_NEW=36 Q_WRITE=38 Q_CTL=39 INFO=42 CHECK=43

# Pieces: an address in the window is "0 K" (BASE + K x 64 KiB); a length "0 N" is N+1 pages.
map64="$MMAP 0 0 0 0 63 3 1"              # mmap 256 KiB at BASE, RW, private fixed populate
reg64="$REG 0 0 0 0 0 63 1"               # register it (driver 0, slot 0, writable)
kern="$SUBMIT 0 1 0 0 0 0 1 8 255 15 7 50 2" # a sequential kernel over buffer 0
copy="$SUBMIT 0 1 7 0 0"                  # a copy inside buffer 0 (half to the other half)
run="$RUN 255 255"                        # 16 ms
api() {
    name=$1
    shift
    # shellcheck disable=SC2086
    bytes $* >"$out/api/$name"
}
for pol in 0 1 2 3 4 5; do
    api "job-$pol" $pol 0 $map64 $reg64 $run $kern $run $copy $run $INFO 0 0 0 $CHECK
    api "churn-$pol" $pol 1 $map64 $reg64 $run $kern $MUNMAP 0 0 2 0 7 $MMAP 0 0 2 0 7 3 1 \
        $kern $run $MADVISE 0 0 1 0 3 2 $run $CHECK
    api "fork-$pol" $pol 4 $map64 $reg64 $run $FORK 0 0 $run $ACCESS 0 0 0 0 15 1 $kern \
        $PIN 0 0 0 0 16 1 $run $UNPIN 0 0 $EXIT 1 $run $CHECK
    api "kill-$pol" $pol 0 $map64 $reg64 $run $kern $KILL 1 0 $kern $REG 0 1 0 8 0 3 1 \
        $UNREG 0 $UNREG 0 $run $DRV_FREE 0 $DRV_NEW 0 $run
    api "exit-$pol" $pol 2 $map64 $reg64 $kern $EXIT 0 $run $kern $REG 0 1 0 8 0 3 1 $run \
        $DRV_FREE 0 $CHECK
    api "protect-$pol" $pol 0 $map64 $reg64 $run $MPROTECT 0 0 0 0 63 1 $kern $run \
        $MREMAP 0 0 0 0 7 0 7 3 0 32 $kern $run $COMPACT 0 $HMM 0 0 0 0 8 1 3 $run $CHECK
done
# Memory pressure: 14 MiB written in a 16 MiB host with a buffer registered, then compaction.
api pressure 1 1 $map64 $reg64 $run \
    $MMAP 0 0 0 16 63 3 1 $MMAP 0 0 0 32 63 3 1 $MMAP 0 0 0 48 63 3 1 $MMAP 0 0 0 64 63 3 1 \
    $MMAP 0 0 0 80 63 3 1 $MMAP 0 0 0 96 63 3 1 $MMAP 0 0 0 112 63 3 1 $run $kern $run \
    $MMAP 0 0 0 128 63 3 1 $MMAP 0 0 0 144 63 3 1 $MMAP 0 0 0 160 63 3 1 $run $COMPACT 0 $run \
    $CHECK
# A raw context and queue: FENCE_WAIT on fence 0, a DISPATCH over mapped VRAM, FENCE_SIGNAL of
# fence 1; the host waits on fence 1 and signals fence 0; fence 0 is then freed twice.
api queue 0 0 $F_NEW 0 0 $F_NEW 0 0 $CTX_NEW 0 $MAP 0 0 0 16 3 0 16 $Q_NEW 0 0 0 10 \
    $Q_WRITE 0 5 0 0 1 $Q_WRITE 0 3 0 0 2 1 4 16 0 10 50 1 9 $Q_WRITE 0 4 0 1 1 $Q_CTL 0 0 \
    $F_WAIT 0 1 1 1 $run $F_SIGNAL 0 0 1 $run $Q_CTL 0 3 $F_FREE 0 $F_FREE 0 $ACC 0 0 0 0 \
    $ACC 0 0 1 200 0 $run $CHECK
# Batched accesses on a raw context (op_gpu_access with bit 2 of `how`): 7 reads a page apart
# over a mapped range and past it, 5 writes 17 pages apart, a bad engine, and 7 accesses from
# just below GPUSIM_GPU_VA_END (the first, unmapped, faults).
api batch 0 0 $CTX_NEW 0 $MAP 0 0 0 16 3 0 16 $ACC 0 0 60 0 0 $ACC 0 1 110 0 8 $ACC 0 0 60 0 0 \
    $ACC 0 2 60 0 0 $ACC 0 0 188 0 224 255 255 255 255 0 0 $CHECK
echo "make-seeds: $(find "$out" -type f | wc -l) seeds written under $out"
