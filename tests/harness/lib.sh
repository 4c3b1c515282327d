# lib.sh - sourced by the tests of harness integrations: a copy of one
# sample project (tests/harness/NAME) with the two test programs, in a
# temporary directory, and fencedep first in PATH.
set -u
# a make of its own: not the variables (TESTS=...) and jobserver of the
# make check that runs this test
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES
src=${FDEP_SRCDIR:?}/tests/harness
cli=${FDEP_CLI:?}
fail=0
. "${FDEP_SRCDIR:?}/tests/check.sh"
need() { # TOOL...: skip the whole test (status 77) without one of them
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 || { echo "SKIP: $t is not installed"; exit 77; }
	done
}
project() { # NAME: copy it into $proj and cd there
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/fdep-harness-XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	proj=$tmp/$1
	cp -R "$src/$1" "$proj"
	chmod -R u+w "$proj"
	cp "$src/t_good.c" "$src/t_bad.c" "$proj/"
	mkdir -p "$tmp/bin"
	ln -s "$cli" "$tmp/bin/fencedep"
	PATH=$tmp/bin:$PATH
	export PATH
	cd "$proj" || exit 99
}
# The programs that wrote the JSON reports DIR/run.*.json (DIR/run may be
# any path prefix): their argv[0]
# file names, sorted, one line.
reporters() {
	for f in "$1".*.json; do
		[ -e "$f" ] || continue
		{ tr -d '\n' <"$f"; echo; } | sed -n 's/.*"argv": *\[ *"\([^"]*\)".*/\1/p' | sed 's|.*/||'
	done | sort | tr '\n' ' ' | sed 's/ $//'
}
# `fencedep report` over PREFIX.*.json: its status and the kinds it found
report_of() {
	out=$("$cli" report -f json "$1".*.json)
	st=$?
	echo "$st $(echo "$out" | grep -o '"kind": *"[a-z-]*-inversion"' | sed 's/.*"\([a-z-]*\)"/\1/' | sort -u | tr '\n' ' ')"
}
