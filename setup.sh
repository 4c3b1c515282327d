#!/bin/sh
# setup.sh - set fencedep up on a Debian 12 machine and run it.
#
#   ./setup.sh demo     install what is missing, build, and run the VM_BIND
#                       model under the checker: a clean run, then a caught bug
#   ./setup.sh test     install what is missing, build, and run the test suite
#   ./setup.sh build    only install and build
#   ./setup.sh install  build, then install into /usr/local (make install)
#   ./setup.sh bench [--real] [--quick]
#                       install the benchmarks' tools, build, and run
#                       bench/run (--real: the real programs, bench/real)
#
# Any of them, in any order, any number of times: it builds out of tree in
# ./build and runs configure again whenever what configure would find has
# changed (packages installed since, a newer configure script).  It needs
# root (or sudo) only to install missing Debian packages.
set -eu

top=$(cd "$(dirname "$0")" && pwd)
build="$top/build"
jobs=$(nproc 2>/dev/null || echo 2)

# What each package is for: "package:why", with _ for a space (the why is
# shown when the package is installed).
BUILD_PKGS="build-essential:compiler autoconf:build automake:build libtool:build
pkg-config:build libunwind-dev:stack_traces libdw-dev:file_and_line_of_stack_frames
uthash-dev:tables_of_the_fencedep_command libjansson-dev:reads_JSON_reports libiberty-dev:demangles_C++_names man-db:the_manual_(man_fencedep)"
TEST_PKGS="libcriterion-dev:the_test_framework jq:checks_the_JSON_reports
xz-utils:a_real_program_run_under_the_checker zstd:a_real_program_run_under_the_checker
python3:a_real_program_run_under_the_checker nodejs:a_real_program_run_under_the_checker
gdb:the_--gdb_test libjemalloc2:other_allocators libtcmalloc-minimal4:other_allocators
clang:the_fuzzers libclang-rt-14-dev:the_fuzzers
chromium:renders_the_HTML_report_in_a_headless_browser
libglib2.0-dev:the_GLib_lock_tests libglib2.0-tests:GLib's_own_tests_run_under_the_checker
libgomp1:the_OpenMP_lock_tests gettext:an_OpenMP_program_(msgmerge)_run_under_the_checker
libpython3.11-testsuite:Python's_threading_tests_run_under_the_checker
meson:the_meson_test_--wrapper_example cmake:the_ctest_example"
# Only for ./setup.sh bench.
BENCH_PKGS="clang:the_ThreadSanitizer_column valgrind:the_Helgrind_column
time:wall_time_and_peak_RSS_of_the_real_programs xz-utils:a_real_program_(xz_-T2)
zstd:a_real_program_(zstd_-T2) pigz:a_real_program_(pigz) python3:a_real_program_(Python's_threading_tests)
libpython3.11-testsuite:Python's_threading_tests libsqlite3-dev:the_threaded_sqlite3_client"

say() {
	echo "setup.sh: $*"
}

installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"
}

# install_missing PKG:WHY... - install what is not installed, showing what
# and why, and apt's progress as one line per step of ten percent.
install_missing() {
	missing=""
	for pw in "$@"; do
		installed "${pw%%:*}" || missing="$missing $pw"
	done
	[ -n "$missing" ] || return 0
	names=""
	for pw in $missing; do
		names="$names ${pw%%:*}"
	done
	sudo=""
	if [ "$(id -u)" -ne 0 ]; then
		if ! command -v sudo >/dev/null 2>&1; then
			echo "setup.sh: missing Debian packages; run this as root, or install them first: apt-get install$names" >&2
			exit 1
		fi
		sudo=sudo
	fi
	say "installing$names"
	for pw in $missing; do
		echo "  ${pw%%:*}: $(echo "${pw#*:}" | tr _ ' ')"
	done
	log="${TMPDIR:-/tmp}/fencedep-setup-apt.$$.log"
	st="$log.status"
	$sudo apt-get update -q >"$log" 2>&1 || {
		tail -n 20 "$log" >&2
		say "apt-get update failed (the whole output: $log)" >&2
		exit 1
	}
	# APT::Status-Fd: "dlstatus:...:PERCENT:..." and "pmstatus:PKG:PERCENT:WHAT"
	{
		DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends \
			-o APT::Status-Fd=3 $names 3>&1 >>"$log" 2>&1
		echo $? >"$st"
	} | awk -F: '
		$1 == "dlstatus" && int($3) >= dl + 10 { dl = int($3 / 10) * 10; printf "  downloading %d%%\n", dl; fflush() }
		$1 == "pmstatus" && int($3) >= pm + 10 { pm = int($3 / 10) * 10; printf "  installing %d%% (%s)\n", pm, $4; fflush() }'
	if [ "$(cat "$st")" != 0 ]; then
		tail -n 20 "$log" >&2
		say "apt-get install failed (the whole output: $log)" >&2
		exit 1
	fi
	rm -f "$log" "$st"
}

# What configure's result depends on besides the tree: the packages it
# looks for.  A change (criterion installed after a demo's configure, say)
# means configure runs again.
package_stamp() {
	for pw in $BUILD_PKGS $TEST_PKGS; do
		dpkg-query -W -f='${Package} ${Version} ${Status}\n' "${pw%%:*}" 2>/dev/null ||
			echo "${pw%%:*} absent"
	done
}

configure_and_build() {
	if [ ! -x "$top/configure" ] || [ "$top/configure.ac" -nt "$top/configure" ]; then
		say "generating configure (autoreconf)"
		(cd "$top" && autoreconf -fi >/dev/null 2>&1) || (cd "$top" && autoreconf -fi)
	fi
	mkdir -p "$build"
	cd "$build"
	stamp=$(package_stamp)
	if [ ! -f Makefile ] || [ ! -f config.status ] || [ "$top/configure" -nt config.status ] ||
		[ "$stamp" != "$(cat .setup-packages 2>/dev/null)" ]; then
		say "configuring in $build"
		rm -f .setup-packages
		if ! "$top/configure" -q --enable-werror >configure.out 2>&1; then
			cat configure.out >&2
			say "configure failed (details: $build/config.log)" >&2
			exit 1
		fi
		echo "$stamp" >.setup-packages
	fi
	say "building"
	if ! make -s -j"$jobs"; then
		say "the build failed (the errors are above); nothing ran" >&2
		exit 1
	fi
}

case "${1:-}" in
demo)
	install_missing $BUILD_PKGS
	configure_and_build
	exec "$top/demo.sh" "$build"
	;;
test)
	install_missing $BUILD_PKGS $TEST_PKGS
	# the SARIF validator (official 2.1.0 schema), from npm
	if ! command -v sarif-multitool >/dev/null 2>&1; then
		# Debian's nodejs comes without npm, which is a package of its own;
		# a nodejs from elsewhere (NodeSource) has it and conflicts with it
		if ! command -v npm >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
			say "installing npm: installs the SARIF validator"
			DEBIAN_FRONTEND=noninteractive apt-get install -y -q npm >/dev/null 2>&1 ||
				say "could not install npm: the SARIF schema test will be skipped"
		fi
		say "installing @microsoft/sarif-multitool from npm: validates the SARIF report"
		npm install -g --silent @microsoft/sarif-multitool >/dev/null 2>&1 ||
			say "could not install @microsoft/sarif-multitool: its test will be skipped"
	fi
	configure_and_build
	# no stale result may be counted: a test that does not run this time
	# (its program failed to build) must not show last time's result
	find "$build" \( -name '*.trs' -o -name 'test-suite.log' \) -exec rm -f {} +
	say "running the test suite (make check)"
	status=0
	make -j"$jobs" check || status=$?
	[ $status -eq 0 ] || [ ! -f "$build/test-suite.log" ] || tail -n 60 "$build/test-suite.log"
	# what was skipped, and why (a criterion case's reason, or the first
	# line of a plain test's log)
	for trs in $(find "$build" -name '*.trs' | sort); do
		log=${trs%.trs}.log
		grep -h '^\[SKIP\] ' "$log" | grep -v ': Test is disabled$' | sed 's/^\[SKIP\] /skipped: /'
		if grep -q '^:test-result: SKIP' "$trs"; then
			t=${log#"$build"/}
			echo "skipped: ${t%.log}: $(head -n 1 "$log")"
		fi
	done
	line=$(sh "$top/tests/summarize.sh" "$build") || {
		say "no test ran: make check failed before running them (the errors are above)" >&2
		exit 1
	}
	echo "$line"
	exit $status
	;;
build)
	install_missing $BUILD_PKGS
	configure_and_build
	;;
install)
	install_missing $BUILD_PKGS
	configure_and_build
	sudo=""
	if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then
		sudo=sudo
	fi
	say "installing into $(sed -n 's/^prefix = //p' "$build/Makefile")"
	$sudo make -s install
	;;
bench)
	shift
	install_missing $BUILD_PKGS $BENCH_PKGS
	configure_and_build
	exec "$top/bench/run" "$@" "$build"
	;;
*)
	echo "usage: $0 demo|test|build|install|bench" >&2
	exit 2
	;;
esac
