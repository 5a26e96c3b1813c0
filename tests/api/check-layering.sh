#!/bin/sh
# check-layering.sh SOURCE_DIR -- #include lines obey the dependency rules of docs/architecture.md:
#
#   src/core      -> core
#   src/notifier  -> core, notifier
#   src/host      -> core, notifier, host
#   src/gpu       -> core, gpu
#   src/mirror    -> core, notifier, host, gpu, mirror
#   src/preset    -> core, host, gpu, mirror, preset (the cost presets span every table)
#   sim/, bench/, tests/validation/ -> the public <gpusim.h> only (no internal header of any layer)
#   include/      -> nothing internal
set -eu
root=$1
status=0

# check DIR ALLOWED...: every quoted include of a layer header in DIR names an allowed layer.
check() {
    dir=$1
    shift
    [ -d "$root/$dir" ] || return 0
    allowed=$(printf '%s|' "$@")
    allowed=${allowed%|}
    found=$(grep -rnE '^[[:space:]]*#[[:space:]]*include[[:space:]]+"(core|notifier|host|gpu|mirror|preset|live)/' \
                "$root/$dir" --include='*.c' --include='*.h' |
            grep -vE "\"($allowed)/" || true)
    if [ -n "$found" ]; then
        echo "layering violation in $dir (may include: ${*:-public API only}):"
        echo "$found"
        status=1
    fi
}

check src/core core
check src/notifier core notifier
check src/host core notifier host
check src/gpu core gpu
check src/mirror core notifier host gpu mirror
check src/preset core host gpu mirror preset
check sim
check bench
check tests/validation
check include

# sim/, bench/ and tests/validation/ may not reach into src/ by path either.
leak=$(grep -rnE '#[[:space:]]*include[[:space:]]+"[^"]*src/' "$root/sim" "$root/bench" "$root/include" \
           "$root/tests/validation" \
           --include='*.c' --include='*.h' 2>/dev/null || true)
if [ -n "$leak" ]; then
    echo "internal header included by path:"
    echo "$leak"
    status=1
fi
[ $status -eq 0 ] && echo "ok: includes follow the layering rules"
exit $status
