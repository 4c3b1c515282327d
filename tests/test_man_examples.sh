#!/bin/sh
# test_man_examples.sh - the text report shown in fencedep(1) (OUTPUT,
# Text findings) is what the runtime prints: the example is run again and
# both are compared with pids, numbers, addresses and directories made
# neutral.
man=${FDEP_BUILDDIR:-.}/man/fencedep.1
prog=${FDEP_TEST_BINDIR:-tests/progs}/abba
lib=${FENCEDEP_LIBRARY:-.libs/libfencedep.so}
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

[ -f "$man" ] && [ -x "$prog" ] && [ -f "$lib" ] || { echo "SKIP: not built"; exit 77; }

# the .EX block after the line naming the example's command line
awk '/fencedep \.\/abba bug/ { found = 1 } found && /^\.EX/ { on = 1; next }
     on && /^\.EE/ { exit } on { print }' "$man" |
	sed 's/\\-/-/g; s/\\e/\\/g' >"$tmp/man.txt"
[ -s "$tmp/man.txt" ] || { echo "FAIL: no example found in $man"; exit 1; }

FENCEDEP_OPTIONS="log_path=$tmp/run" LD_PRELOAD="$lib" "$prog" bug >/dev/null 2>&1
cat "$tmp"/run.*.log >"$tmp/run.txt" 2>/dev/null
[ -s "$tmp/run.txt" ] || { echo "FAIL: the example printed nothing"; exit 1; }

neutral() {
	sed -E 's/0x[0-9a-f]+/HEX/g; s/[0-9a-f]{16}/FP/g; s#(/[^ /():]+)+/#/DIR/#g; s/[0-9]+/N/g' "$1" |
		sed '/^$/d'
}
neutral "$tmp/man.txt" >"$tmp/man.n"
neutral "$tmp/run.txt" >"$tmp/run.n"
if ! diff -u "$tmp/man.n" "$tmp/run.n"; then
	echo "FAIL: fencedep(1)'s example is not what the runtime prints (above: - man, + real)"
	exit 1
fi
echo "ok: fencedep(1)'s text example matches a real run"

# the statistics line of verbosity=2, for the run the page names
vmbind=${FDEP_BUILDDIR:-.}/src/vmbind/vmbind-stress
[ -x "$vmbind" ] || { echo "SKIP: no vmbind-stress"; exit 0; }
awk '/vmbind\\-stress \\-\\-iterations 200 \\-\\-threads 2/ { found = 1 }
     found && /^\.EX/ { on = 1; next } on && /^\.EE/ { exit } on { print }' "$man" |
	sed 's/\\-/-/g' >"$tmp/stats-man.txt"
[ -s "$tmp/stats-man.txt" ] || { echo "FAIL: no statistics example in $man"; exit 1; }
FENCEDEP_OPTIONS="verbosity=2" LD_PRELOAD="$lib" "$vmbind" --iterations 200 --threads 2 \
	2>&1 >/dev/null | grep '^fencedep: stats:' >"$tmp/stats-run.txt"
sed -E 's/[0-9]+/N/g' "$tmp/stats-man.txt" >"$tmp/stats-man.n"
sed -E 's/[0-9]+/N/g' "$tmp/stats-run.txt" >"$tmp/stats-run.n"
if ! diff -u "$tmp/stats-man.n" "$tmp/stats-run.n"; then
	echo "FAIL: fencedep(1)'s statistics line is not what the runtime prints (- man, + real)"
	exit 1
fi
echo "ok: fencedep(1)'s statistics line matches a real run"
