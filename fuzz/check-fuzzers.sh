#!/bin/sh
# check-fuzzers.sh - the fuzzing part of `make check`: every harness, 48
# seconds in all, in a scratch directory removed afterwards.  Fails on any
# crash; skipped (77) when clang cannot link libFuzzer.
dir=$(mktemp -d "${TMPDIR:-/tmp}/fencedep-fuzz.XXXXXX") || exit 1
here=$(cd "$(dirname "$0")" && pwd)
srcdir=${srcdir:-$(dirname "$here")}
export srcdir
FUZZ_BUILDDIR=$dir "$here/run-fuzzers.sh" 48
status=$?
rm -rf "$dir"
exit $status
