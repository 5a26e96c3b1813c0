#!/bin/sh
# check-documented.sh INCLUDE_DIR -- every public symbol in the installed headers is documented.
#
# A public function (GPUSIM_EXTERN), type (typedef) or macro (#define GPUSIM_*, not the internal
# GPUSIM__* nor include guards) must be preceded by a comment, carry a trailing /**< comment, or be
# one branch of a preprocessor conditional whose other branch is documented.
set -eu
dir=$1
status=0
for f in "$dir"/gpusim.h "$dir"/gpusim/*.h; do
    awk -v file="$f" '
        function documented() {
            return prev ~ /\*\/[ \t]*$/ || prev ~ /^#[ \t]*(if|ifdef|ifndef|else|elif)/ || $0 ~ /\/\*\*</
        }
        /^[ \t]*$/ { prev = ""; next }   # a blank line breaks adjacency
        /^[ \t]*(\/\*|\*)/ { prev = $0; next }   # comment lines declare nothing
        {
            name = ""
            if ($0 ~ /GPUSIM_EXTERN/ && $0 !~ /#define/) name = $0
            else if ($0 ~ /^typedef/) name = $0
            else if ($0 ~ /^#define GPUSIM_[A-Z]/ && $0 !~ /_H$/ && $0 !~ /_H_INSIDE/) name = $0
            if (name != "" && !documented()) {
                printf "%s:%d: undocumented public symbol: %s\n", file, NR, name
                bad = 1
            }
            prev = $0
        }
        END { exit bad }
    ' "$f" || status=1
done
[ $status -eq 0 ] && echo "ok: every public symbol is documented"
exit $status
