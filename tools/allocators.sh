# tools/allocators.sh -- sourced by check-determinism.sh and compare-allocators.sh, which compare
# two builds of gpusim-bench that differ in their allocator.
#
#   two_allocators NAME BENCH_A BENCH_B   sets $alloc_a and $alloc_b from each build's --version;
#                                         exits 1 (NAME in the message) unless they differ, since
#                                         comparing a build with itself would prove nothing
#   nowall JSON OUT                       OUT = the records of JSON with wall_time_ns zeroed, the
#                                         one field allowed to differ between runs

two_allocators() {
    alloc_a=$("$2" --version | sed -n 's/.*allocator \([a-z]*\).*/\1/p')
    alloc_b=$("$3" --version | sed -n 's/.*allocator \([a-z]*\).*/\1/p')
    if [ -z "$alloc_a" ] || [ "$alloc_a" = "$alloc_b" ]; then
        echo "$1: the two builds must use different allocators (got '$alloc_a' and '$alloc_b')" >&2
        exit 1
    fi
}

nowall() {
    sed 's/"wall_time_ns": [0-9]*/"wall_time_ns": 0/' "$1" >"$2"
}
