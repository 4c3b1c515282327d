#!/bin/sh
# test_setup.sh - setup.sh's summary line and its refusal to install
# without root or sudo.
set -u
srcdir=${FDEP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
fail=0
. "$(dirname "$0")/check.sh"

# 1. criterion suites count their cases, skipped ones as skipped (their
# [SKIP] lines), a suite that crashed before its synthesis as one failure,
# plain tests by their .trs result
got=$(sh "$srcdir/tests/summarize.sh" "$srcdir/tests/summary/run")
check "summary of sample logs" "$got" "5 passed, 2 failed, 3 skipped"

# 2. no .trs file at all (the test programs did not build): not "0 passed"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fdep-setup-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
got=$(sh "$srcdir/tests/summarize.sh" "$tmp"; echo "status $?")
check "summary with nothing run" "$(echo $got)" "no test ran status 1"

# 3. not root, no sudo, packages missing: one line saying what to do, and a
# non-zero status.  A PATH of only the tools setup.sh needs, where `id`
# says uid 1000 and dpkg-query finds nothing installed.
mkdir "$tmp/bin"
for t in dirname nproc grep tr cat sed; do
	p=$(command -v $t) && ln -s "$p" "$tmp/bin/$t"
done
printf '#!/bin/sh\necho 1000\n' >"$tmp/bin/id"
printf '#!/bin/sh\nexit 1\n' >"$tmp/bin/dpkg-query"
chmod +x "$tmp/bin/id" "$tmp/bin/dpkg-query"
sh_path=$(command -v sh)
PATH="$tmp/bin" "$sh_path" "$srcdir/setup.sh" demo >"$tmp/out" 2>"$tmp/err"
st=$?
check "no sudo: status" "$st" 1
check "no sudo: nothing on stdout" "$(cat "$tmp/out")" ""
check "no sudo: one line on stderr" "$(wc -l <"$tmp/err" | tr -d ' ')" 1
case $(cat "$tmp/err") in
*"run this as root, or install them first: apt-get install build-essential autoconf"*"man-db") ok=yes ;;
*) ok="no: $(cat "$tmp/err")" ;;
esac
check "no sudo: says what to do" "$ok" yes
exit $fail
