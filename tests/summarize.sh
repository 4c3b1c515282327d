#!/bin/sh
# summarize.sh DIR - one line counting the test cases that ran under DIR:
# "N passed, N failed, N skipped".  A criterion suite counts its cases (its
# log holds the Synthesis line, and, with CRITERION_VERBOSITY_LEVEL=1, one
# [SKIP] line per skipped case); any other test counts as one, by the
# result automake wrote in its .trs file.  A suite that crashed before its
# Synthesis line counts as one failure.  With no .trs file at all it says
# that no test ran and exits 1.
set -u
dir=${1:?usage: summarize.sh DIR}
passed=0 failed=0 skipped=0 n=0
for trs in $(find "$dir" -name '*.trs' 2>/dev/null | sort); do
	n=$((n + 1))
	log="${trs%.trs}.log"
	result=$(sed -n 's/^:test-result: *//p' "$trs" | head -n 1)
	syn=$(grep -h '^\[====\] Synthesis:' "$log" 2>/dev/null | tail -n 1)
	if [ -n "$syn" ]; then
		t=$(echo "$syn" | sed -n 's/.*Tested: *\([0-9]*\).*/\1/p')
		p=$(echo "$syn" | sed -n 's/.*Passing: *\([0-9]*\).*/\1/p')
		s=$(grep -c '^\[SKIP\] ' "$log")
		passed=$((passed + ${p:-0}))
		failed=$((failed + ${t:-0} - ${p:-0}))
		skipped=$((skipped + s))
		# failed as a whole (a crash after the synthesis, a leak
		# check, a timeout) with no failing case counted
		case $result in
		FAIL | ERROR | XPASS)
			[ "${t:-0}" -ne "${p:-0}" ] || failed=$((failed + 1)) ;;
		esac
	else
		case $result in
		PASS | XFAIL) passed=$((passed + 1)) ;;
		SKIP) skipped=$((skipped + 1)) ;;
		*) failed=$((failed + 1)) ;;
		esac
	fi
done
if [ $n -eq 0 ]; then
	echo "no test ran"
	exit 1
fi
echo "$passed passed, $failed failed, $skipped skipped"
