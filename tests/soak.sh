#!/bin/sh
# soak.sh [SECONDS] - run the real programs (tests/test_realprogs) and
# vmbind-stress under the checker again and again for SECONDS (default
# 3600).  Fails on any finding, crash or hang, and when the peak resident
# size of equal-length vmbind-stress runs keeps growing (the runtime's
# memory must not grow from one run to the next).
#
# Environment: FDEP_BUILDDIR (the build tree, default .), FENCEDEP_LIBRARY,
# SOAK_STRESS_SECONDS (length of one vmbind-stress run, default 20).
set -u
total=${1:-3600}
build=${FDEP_BUILDDIR:-.}
build=$(cd "$build" && pwd)
lib=${FENCEDEP_LIBRARY:-$build/.libs/libfencedep.so}
srcdir=$(cd "$(dirname "$0")/.." && pwd)
stress_s=${SOAK_STRESS_SECONDS:-20}
stress=$build/src/vmbind/vmbind-stress
work=$(mktemp -d /tmp/fdep-soak-XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM

export FENCEDEP_LIBRARY="$lib" FDEP_TEST_BINDIR="$build/tests/progs" \
	FDEP_CLI="$build/src/cli/fencedep" FDEP_SRCDIR="$srcdir"

fail() {
	echo "soak: FAIL: $*" >&2
	exit 1
}

[ -f "$lib" ] || fail "no runtime library at $lib (run make first)"
[ -x "$stress" ] || fail "no $stress"
realprogs=$build/tests/test_realprogs
[ -x "$realprogs" ] || realprogs=

# run a command: its exit status in $status, its peak resident size in
# KiB in $rss (0 without /usr/bin/time)
measure() {
	status=0
	rss=0
	if [ -x /usr/bin/time ]; then
		/usr/bin/time -f %M -o "$work/time" "$@" >"$work/out" 2>"$work/err" || status=$?
		rss=$(tail -n 1 "$work/time")
		case $rss in *[!0-9]* | '') rss=0 ;; esac
	else
		"$@" >"$work/out" 2>"$work/err" || status=$?
	fi
}

start=$(date +%s)
round=0
first_rss=
last_rss=
grown=0
while :; do
	now=$(date +%s)
	[ $((now - start)) -lt "$total" ] || break
	round=$((round + 1))
	if [ -n "$realprogs" ]; then
		"$realprogs" -j1 >"$work/real.log" 2>&1 || {
			cat "$work/real.log" >&2
			fail "round $round: real programs"
		}
	fi
	rm -f "$work"/r.*
	measure env FENCEDEP_OPTIONS="json_path=$work/r" LD_PRELOAD="$lib" \
		"$stress" --threads 4 --seconds "$stress_s" --seed "$round"
	if [ "$status" -ne 0 ]; then
		cat "$work/err" >&2
		fail "round $round: vmbind-stress exit status $status"
	fi
	for f in "$work"/r.*.json; do
		[ -f "$f" ] || fail "round $round: no JSON report"
		if grep -q '"fingerprint"' "$f"; then
			cat "$work/err" >&2
			fail "round $round: vmbind-stress reported a finding ($f)"
		fi
	done
	grep -q '^ops_per_sec=' "$work/out" || fail "round $round: vmbind-stress output: $(tail -n 3 "$work/out")"
	[ -n "$first_rss" ] || first_rss=$rss
	# more than 25% + 16 MiB over the first run of the same length, twice
	# in a row: the runtime's memory grows
	if [ "$rss" -gt $((first_rss + first_rss / 4 + 16384)) ]; then
		grown=$((grown + 1))
		[ "$grown" -lt 2 ] || fail "round $round: peak RSS $rss KiB, first run $first_rss KiB"
	else
		grown=0
	fi
	last_rss=$rss
	echo "soak: round $round: real programs ok, vmbind-stress ok ($(tail -n 1 "$work/out")), peak RSS $rss KiB"
done
echo "soak: PASS: $round rounds in $(($(date +%s) - start)) s, vmbind-stress peak RSS first $first_rss KiB, last ${last_rss:-?} KiB"
