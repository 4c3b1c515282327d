#!/bin/sh
# setup.sh - set fencedep up on a Debian 12 machine and run it.
#
#   ./setup.sh demo   install what is missing, build, and run the VM_BIND
#                     model under the checker: a clean run, then a caught bug
#   ./setup.sh test   install what is missing, build, and run the test suite
#   ./setup.sh build  only install and build
#
# It builds out of tree in ./build and needs root (or sudo) only to install
# missing Debian packages.
set -eu

top=$(cd "$(dirname "$0")" && pwd)
build="$top/build"
jobs=$(nproc 2>/dev/null || echo 2)

BUILD_PKGS="build-essential autoconf automake libtool pkg-config libunwind-dev libdw-dev uthash-dev"
TEST_PKGS="libcriterion-dev jq xz-utils zstd python3 nodejs clang libclang-rt-14-dev chromium gdb libjemalloc2 libtcmalloc-minimal4"

install_missing() {
	missing=""
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
			missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	echo "setup.sh: installing$missing"
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

configure_and_build() {
	if [ ! -x "$top/configure" ] || [ "$top/configure.ac" -nt "$top/configure" ]; then
		(cd "$top" && autoreconf -fi >/dev/null 2>&1) || (cd "$top" && autoreconf -fi)
	fi
	mkdir -p "$build"
	cd "$build"
	if [ ! -f Makefile ] || [ "$top/configure" -nt Makefile ]; then
		"$top/configure" -q --enable-werror
	fi
	make -s -j"$jobs"
}

# One line for CI: the criterion counts of every suite plus the plain tests.
summarize() {
	passed=0 failed=0 skipped=0
	for trs in $(find "$build/tests" -name '*.trs' 2>/dev/null); do
		log="${trs%.trs}.log"
		syn=$(grep -h 'Synthesis:' "$log" 2>/dev/null | tail -n 1 || true)
		if [ -n "$syn" ]; then
			t=$(echo "$syn" | sed -n 's/.*Tested: *\([0-9]*\).*/\1/p')
			p=$(echo "$syn" | sed -n 's/.*Passing: *\([0-9]*\).*/\1/p')
			passed=$((passed + p))
			failed=$((failed + t - p))
			s=$(grep -c '\[SKIP\]' "$log" || true)
			skipped=$((skipped + s))
		else
			case $(sed -n 's/^:test-result: //p' "$trs") in
			PASS) passed=$((passed + 1)) ;;
			SKIP) skipped=$((skipped + 1)) ;;
			*) failed=$((failed + 1)) ;;
			esac
		fi
	done
	echo "$passed passed, $failed failed, $skipped skipped"
}

case "${1:-}" in
demo)
	install_missing $BUILD_PKGS
	configure_and_build
	exec "$top/demo.sh" "$build"
	;;
test)
	install_missing $BUILD_PKGS $TEST_PKGS
	configure_and_build
	status=0
	make -j"$jobs" check || status=$?
	[ $status -eq 0 ] || cat "$build"/test-suite.log | tail -n 60
	summarize
	exit $status
	;;
build)
	install_missing $BUILD_PKGS
	configure_and_build
	;;
*)
	echo "usage: $0 demo|test|build" >&2
	exit 2
	;;
esac
