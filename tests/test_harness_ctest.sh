#!/bin/sh
# test_harness_ctest.sh - fencedep under ctest, as a launcher before each
# test and as LD_PRELOAD in the tests' ENVIRONMENT.
. "${FDEP_SRCDIR:?}/tests/harness/lib.sh"
need cmake ctest make
project cmake
for way in launcher environment; do
	rm -rf "build-$way" "fd-$way"
	mkdir "fd-$way"
	if [ $way = launcher ]; then
		set -- -DFENCEDEP=fencedep
	else
		set -- -DFENCEDEP_RUNTIME="${FENCEDEP_LIBRARY:?}"
	fi
	cmake -S . -B "build-$way" -DFENCEDEP_JSON="$PWD/fd-$way/run" "$@" >"cmake-$way.log" 2>&1 ||
		{ cat "cmake-$way.log"; exit 99; }
	cmake --build "build-$way" >"build-$way.log" 2>&1 || { cat "build-$way.log"; exit 99; }
	(cd "build-$way" && ctest --output-on-failure) >"ctest-$way.log" 2>&1
	check "$way: ctest fails" $? 8
	check "$way: t_good passes" "$(grep -c 'Test  *#[0-9]*: t_good \.* *Passed' "ctest-$way.log")" 1
	check "$way: t_bad fails" "$(grep -c 'Test  *#[0-9]*: t_bad \.*\*\*\*Failed' "ctest-$way.log")" 1
	check "$way: the finding is in ctest's output" "$(grep -c '^fencedep: lock-order-inversion' "ctest-$way.log")" 1
	check "$way: reports from the tests only" "$(reporters "fd-$way/run")" "t_bad t_good"
	check "$way: fencedep report" "$(report_of "fd-$way/run")" "1 lock-order-inversion "
done
exit $fail
