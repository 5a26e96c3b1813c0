#!/bin/sh
# ensure-deps.sh -- make sure the Debian packages gpusim builds and tests with are installed.
#
# Called by the top-level Makefile before every configure. It is cheap when nothing is missing
# (one dpkg-query call), installs what is missing when run as root, and otherwise prints the exact
# apt-get line to run and fails, so that a build never half-starts without its dependencies.
#
# The package list is the single source of truth for what gpusim needs from Debian; docs/dependencies.md
# says why each one is there.
set -eu

# Tools and libraries needed to build the library, the CLI and the tests. clang-format is here so
# that the format check (CTest api.format) runs everywhere instead of being skipped where it is
# missing; bookworm's is version 14, which pins the formatting.
PACKAGES="
cmake
make
gcc
libc6-dev
pkg-config
libcmocka-dev
libuv1-dev
libjemalloc-dev
libinih-dev
libjansson-dev
gnuplot-nox
clang-format
"

# `ensure-deps.sh fuzz` (make fuzz, make fuzz-ci) also needs clang and its libFuzzer runtime.
if [ "${1:-}" = fuzz ]; then
    PACKAGES="clang
libclang-rt-14-dev"
fi

missing=""
for pkg in $PACKAGES; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
    if [ "$status" != "installed" ]; then
        missing="$missing $pkg"
    fi
done

if [ -z "$missing" ]; then
    exit 0
fi

line="apt-get install -y --no-install-recommends$missing"
if [ "$(id -u)" -ne 0 ]; then
    echo "gpusim: missing Debian packages:$missing" >&2
    echo "gpusim: run this as root, then run make again:" >&2
    echo "    $line" >&2
    exit 1
fi

echo "gpusim: installing missing Debian packages:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# A fresh machine may have empty package lists; refresh them only when we actually install.
apt-get update -qq >&2
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >&2
