#!/bin/sh
# test_tmpfiles.sh - the suites that make temporary directories remove
# them: the JSON-through-jq check (its fdep-jq-* directory) and the hostile
# suite (fdep-hostile-*).  Each runs with TMPDIR set to a directory of its
# own, which must be empty afterwards.
set -u
b=${FDEP_BUILDDIR:?}
fail=0
. "$(dirname "$0")/check.sh"
[ -x "$b/tests/test_annotations" ] || { echo "the criterion suites are not built"; exit 77; }
command -v jq >/dev/null 2>&1 || { echo "jq is not installed"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fdep-tmpfiles-XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# synthesis: "[====] Synthesis: Tested: N | Passing: N | Failing: 0 | Crashing: 0"
passed() { # LOG: "tested passing failing crashing"
	sed -n 's/.*Synthesis: Tested: \([0-9]*\) | Passing: \([0-9]*\) | Failing: \([0-9]*\) | Crashing: \([0-9]*\).*/\1 \2 \3 \4/p' "$1"
}

mkdir "$tmp/jq"
TMPDIR="$tmp/jq" "$b/tests/test_annotations" --filter='annotations/json_is_valid_for_jq' \
	>"$tmp/jq.log" 2>&1
check "jq check ran and passed" "$(passed "$tmp/jq.log")" "1 1 0 0"
check "jq check left nothing in TMPDIR" "$(ls -A "$tmp/jq")" ""

if [ -x "$b/tests/test_hostile" ]; then
	mkdir "$tmp/hostile"
	TMPDIR="$tmp/hostile" "$b/tests/test_hostile" --filter='hostile/long_deep_cycle*' \
		>"$tmp/hostile.log" 2>&1
	got=$(passed "$tmp/hostile.log")
	case $got in
	"0 "*|"") check "hostile suppression tests ran" "$got" "some tests" ;;
	*) echo "ok   hostile suppression tests ran ($got)" ;;
	esac
	check "hostile suppression tests left nothing in TMPDIR" "$(ls -A "$tmp/hostile")" ""
fi
[ $fail = 0 ] || { echo "logs:"; cat "$tmp"/*.log; }
exit $fail
