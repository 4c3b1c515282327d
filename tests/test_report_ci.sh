#!/bin/sh
# test_report_ci.sh - `fencedep report` for CI: --exit-zero renders without
# gating (bad input still exits 2), -f github writes workflow commands,
# escaped as the runner wants them.
set -u
cli=${FDEP_CLI:?} data=${FDEP_SRCDIR:?}/tests/report/data
fail=0
. "$(dirname "$0")/check.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fdep-report-ci-XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# --exit-zero: same output, status 0; without it, 1
"$cli" report "$data/abba_a.json" "$data/abba_b.json" >"$tmp/gated"
check "new finding gates" $? 1
"$cli" report --exit-zero "$data/abba_a.json" "$data/abba_b.json" >"$tmp/ungated"
check "--exit-zero: status" $? 0
check "--exit-zero: same output" "$(cmp "$tmp/gated" "$tmp/ungated" && echo same)" same
head -c 100 "$data/abba_a.json" >"$tmp/truncated.json"
err=$("$cli" report --exit-zero "$tmp/truncated.json" 2>&1 >/dev/null)
check "--exit-zero, bad input: status" $? 2
check "--exit-zero, bad input: one line naming the file and position" \
	"$(echo "$err" | wc -l | tr -d ' ') $(echo "$err" | grep -c "^fencedep report: $tmp/truncated.json:[0-9]*:[0-9]*: ")" "1 1"
"$cli" report --exit-zero -f github "$data/abba_a.json" "$data/abba_b.json" >/dev/null
check "--exit-zero -f github: status" $? 0

# -f github: one ::error line, file and line of the closing acquisition
out=$("$cli" report -f github "$data/abba_a.json" "$data/abba_b.json")
check "github: status" $? 1
# the fingerprint, as the baseline has it
fp=$("$cli" report --write-baseline=/dev/stdout "$data/abba_a.json" "$data/abba_b.json" |
	sed -n 's/^\([0-9a-f]\{16\}\).*/\1/p')
check "github: a fingerprint" "$(echo "$fp" | wc -w | tr -d ' ')" 1
check "github: the annotation" "$out" "::error file=ledger.c,line=77,title=fencedep lock-order-inversion::possible circular locking dependency: accounts_lock -> ledger_lock -> accounts_lock (found by merging the graphs of several processes)%0Aledger_lock acquired while holding accounts_lock at transfer (/build/test_accounts+0x112a) accounts.c:42%0Aaccounts_lock acquired while holding ledger_lock at audit (/build/test_ledger+0x114d) ledger.c:77%0Afingerprint $fp"

# escaping: % CR LF everywhere, : and , also in properties; --srcroot
sed -e 's|"ledger\.c"|"/src/sub,dir:x/l%g.c"|' -e 's|"ledger_lock"|"led%ger,x:y\\r\\nz"|g' \
	"$data/abba_b.json" >"$tmp/b.json"
sed -e 's|"ledger_lock"|"led%ger,x:y\\r\\nz"|g' "$data/abba_a.json" >"$tmp/a.json"
out=$("$cli" report -f github --srcroot=/src/ "$tmp/a.json" "$tmp/b.json")
check "github: escaped" "$out" "::error file=sub%2Cdir%3Ax/l%25g.c,line=77,title=fencedep lock-order-inversion::possible circular locking dependency: accounts_lock -> led%25ger,x:y%0D%0Az -> accounts_lock (found by merging the graphs of several processes)%0Aled%25ger,x:y%0D%0Az acquired while holding accounts_lock at transfer (/build/test_accounts+0x112a) accounts.c:42%0Aaccounts_lock acquired while holding led%25ger,x:y%0D%0Az at audit (/build/test_ledger+0x114d) /src/sub,dir:x/l%25g.c:77%0Afingerprint $(echo "$out" | sed -n 's/.*%0Afingerprint //p')"
check "github: one line per finding" "$(echo "$out" | wc -l | tr -d ' ')" 1

# a finding in the baseline is a notice, and does not gate
"$cli" report --write-baseline="$tmp/base" "$data/abba_a.json" "$data/abba_b.json" >/dev/null
out=$("$cli" report -f github --baseline="$tmp/base" "$data/abba_a.json" "$data/abba_b.json")
check "github, baselined: status" $? 0
check "github, baselined: a notice" "${out%%file=*}" "::notice "

# nothing found: no output
out=$("$cli" report -f github "$data/abba_a.json")
check "github, clean: status" $? 0
check "github, clean: no output" "$out" ""
exit $fail
