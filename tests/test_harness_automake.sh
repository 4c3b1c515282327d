#!/bin/sh
# test_harness_automake.sh - fencedep in an automake project, two ways:
# LOG_COMPILER (tests/harness/automake/Makefile.am), and the whole
# `make check` under fencedep with only= choosing the test programs.
. "${FDEP_SRCDIR:?}/tests/harness/lib.sh"
need autoreconf make
project automake
autoreconf -fi >autoreconf.log 2>&1 || { cat autoreconf.log; exit 99; }
./configure -q >configure.log 2>&1 || { cat configure.log; exit 99; }

# 1. LOG_COMPILER: the finding fails its test, the clean test passes, and
# the reports come from the tests alone
make -s check >check.log 2>&1
check "LOG_COMPILER: make check fails" $? 2
check "LOG_COMPILER: t_bad fails with the finding's status" \
	"$(grep -h '^FAIL\|^PASS' t_bad.log t_good.log | tr '\n' ' ')" \
	"FAIL t_bad (exit status: 66) PASS t_good (exit status: 0) "
check "LOG_COMPILER: the finding is in t_bad.log" "$(grep -c '^fencedep: lock-order-inversion' t_bad.log)" 1
check "LOG_COMPILER: the program's output is its own" "$(grep -c '^t_bad ran' t_bad.log)" 1
check "LOG_COMPILER: reports from the tests only" "$(reporters fencedep)" "t_bad t_good"
check "LOG_COMPILER: fencedep report" "$(report_of fencedep)" "1 lock-order-inversion "

# 2. fencedep -- make check, with only= the test programs: make, the shell,
# the compiler and the linker run unchecked
make -s clean >/dev/null 2>&1
rm -rf fd2 && mkdir fd2
fencedep --json-path="$PWD/fd2/run" --error-exitcode=0 --options='only=t_*' -- \
	make -s check LOG_COMPILER= AM_LOG_FLAGS= >check2.log 2>&1
check "only=: make check passes" $? 0
check "only=: the finding is in t_bad.log" "$(grep -c '^fencedep: lock-order-inversion' t_bad.log)" 1
check "only=: reports from the tests only" "$(reporters fd2/run)" "t_bad t_good"
check "only=: fencedep report" "$(report_of fd2/run)" "1 lock-order-inversion "
exit $fail
