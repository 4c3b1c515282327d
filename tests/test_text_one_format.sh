#!/bin/sh
# test_text_one_format.sh - `fencedep report`'s text is the runtime's: for
# findings of several kinds, the runtime's log and the command's rendering
# of the same process's JSON are the same text, but for what only the
# command knows - one line after the fingerprint ("  seen N times, new;
# reported by ...") and the closing "fencedep report: N findings ..." line
# - and a hang's stacks (JSON has the dump; the log has it too).
set -u
cli=${FDEP_CLI:?} lib=${FENCEDEP_LIBRARY:?} bin=${FDEP_TEST_BINDIR:?}
fail=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fdep-onefmt-XXXXXX")
trap 'rm -rf "$tmp"' EXIT

same() { # NAME OPTIONS PROGRAM ARGS...
	name=$1 opts=$2
	shift 2
	rm -f "$tmp"/r.*
	FENCEDEP_OPTIONS="log_path=$tmp/r:json_path=$tmp/r${opts:+:$opts}" \
		LD_PRELOAD="$lib" "$@" >/dev/null 2>&1
	log=$(ls "$tmp"/r.*.log 2>/dev/null | head -1)
	json=$(ls "$tmp"/r.*.json 2>/dev/null | head -1)
	if [ -z "$log" ] || [ -z "$json" ] || ! grep -q '^SUMMARY: ' "$log"; then
		echo "FAIL $name: no finding logged"
		fail=1
		return
	fi
	"$cli" report --exit-zero "$json" | grep -v '^  seen [0-9]* time' |
		grep -v '^fencedep report: ' >"$tmp/cmd.txt"
	if diff -u "$log" "$tmp/cmd.txt" >"$tmp/diff"; then
		echo "ok   $name"
	else
		echo "FAIL $name: the runtime's text (-) and fencedep report's (+) differ:"
		cat "$tmp/diff"
		fail=1
	fi
	# and the command's own line is there, after the fingerprint
	if ! "$cli" report --exit-zero "$json" | grep -A1 '^  fingerprint ' |
		grep -q '^  seen 1 time, new; reported by pid '; then
		echo "FAIL $name: no 'seen' line after the fingerprint"
		fail=1
	fi
}

same "lock-order-inversion, thread created" "" "$bin/abba" bug
same "cycle of four (Chain exists of)" "" "$bin/ring" 4 bug
same "bad-unlock-balance" "" "$bin/bad-unlock" foreign
same "lock-held-at-thread-exit" "" "$bin/thread-exit" return
same "held-lock-freed" "" "$bin/held-free" free
same "C++ names" "" "$bin/cxx-names"
same "C++ names, unoptimised" "" "$bin/cxx-names-O0"
same "fence-lock-inversion" "" "$bin/fdep-script" init:F publish:F +L -L sb +L -L se \
	signal:F +L wait:F -L
same "alloc-in-signalling-path, primed edges" "" "$bin/fdep-script" init:F publish:F sb alloc se \
	signal:F
exit $fail
