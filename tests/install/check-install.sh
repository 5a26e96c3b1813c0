#!/bin/sh
# check-install.sh CMAKE BUILD_DIR CONSUMER_SRC WORK_DIR CC
#
# Installs the build into a scratch prefix, then builds and runs consumer.c against the installed
# copy in four ways: pkg-config (shared and static) and find_package (gpusim::gpusim and
# gpusim::gpusim_static). The static consumers must not need libgpusim.so at run time.
set -eu
cmake=$1
build=$2
src=$3
work=$4
cc=$5

rm -rf "$work"
mkdir -p "$work"
prefix=$work/prefix
"$cmake" --install "$build" --prefix "$prefix" >"$work/install.log"
test -f "$prefix/include/gpusim.h"
test -d "$prefix/include/gpusim"

pc=$(find "$prefix" -name gpusim.pc | head -n 1)
test -n "$pc" || { echo "gpusim.pc was not installed"; exit 1; }
PKG_CONFIG_PATH=$(dirname "$pc")
export PKG_CONFIG_PATH
libdir=$(pkg-config --variable=libdir gpusim)
cflags="-std=c11 -Wall -Wextra -Wpedantic -Werror"

echo "== pkg-config, shared"
# shellcheck disable=SC2046
"$cc" $cflags -o "$work/pc-shared" "$src/consumer.c" $(pkg-config --cflags --libs gpusim) \
    "-Wl,-rpath,$libdir"
"$work/pc-shared"

echo "== pkg-config, static"
# shellcheck disable=SC2046
"$cc" $cflags -o "$work/pc-static" "$src/consumer.c" $(pkg-config --cflags gpusim) \
    "-L$libdir" -Wl,-Bstatic -lgpusim -Wl,-Bdynamic \
    $(pkg-config --static --libs gpusim | sed 's/-lgpusim//')
"$work/pc-static"
if ldd "$work/pc-static" | grep -q libgpusim; then
    echo "the static consumer still needs libgpusim.so"
    exit 1
fi

echo "== find_package(gpusim)"
"$cmake" -S "$src" -B "$work/cmake-consumer" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_C_COMPILER="$cc" >"$work/cmake-configure.log" 2>&1 || {
    cat "$work/cmake-configure.log"
    exit 1
}
"$cmake" --build "$work/cmake-consumer" >"$work/cmake-build.log" 2>&1 || {
    cat "$work/cmake-build.log"
    exit 1
}
"$work/cmake-consumer/consumer_shared"
"$work/cmake-consumer/consumer_static"
if ldd "$work/cmake-consumer/consumer_static" | grep -q libgpusim; then
    echo "gpusim::gpusim_static still needs libgpusim.so"
    exit 1
fi
echo "ok: installed gpusim consumed four ways"
