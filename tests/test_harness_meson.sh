#!/bin/sh
# test_harness_meson.sh - fencedep as meson's test wrapper.
. "${FDEP_SRCDIR:?}/tests/harness/lib.sh"
need meson ninja
project meson
meson setup build >setup.log 2>&1 || { cat setup.log; exit 99; }
meson compile -C build >compile.log 2>&1 || { cat compile.log; exit 99; }
mkdir fd
meson test -C build --wrapper="fencedep --json-path=$PWD/fd/run --" >test.log 2>&1
check "meson test fails" $? 1
log=build/meson-logs/testlog-fencedep.txt
[ -f "$log" ] || log=build/meson-logs/testlog.txt
check "t_bad fails with the finding's status" "$(grep -c ' t_bad  *FAIL .*exit status 66$' test.log)" 1
check "the finding is in the test log" "$(grep -c '^fencedep: lock-order-inversion' "$log")" 1
check "t_good passes" "$(grep -c ' t_good  *OK ' test.log)" 1
check "reports from the tests only" "$(reporters fd/run)" "t_bad t_good"
check "fencedep report" "$(report_of fd/run)" "1 lock-order-inversion "
exit $fail
