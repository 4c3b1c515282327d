#!/bin/sh
# demo.sh BUILD - the main job: the VM_BIND model under fencedep, first
# clean, then with one injected driver bug that the checker reports.
set -u
build=${1:-build}
fencedep="$build/src/cli/fencedep"
stress="$build/src/vmbind/vmbind-stress"

if [ ! -x "$stress" ]; then
	echo "demo: $stress is not built" >&2
	exit 1
fi
echo "== 1. the VM_BIND model, clean, under fencedep (3 s, 4 threads)"
"$fencedep" -- "$stress" --threads 4 --seconds 3
echo "== exit status $? (0: no finding)"
echo
echo "== 2. the same model with an injected bug: the scheduler's run_job allocates"
"$fencedep" -- "$stress" --threads 4 --seconds 2 --bug alloc-in-run-job
echo "== exit status $? (66: fencedep reported a finding)"
