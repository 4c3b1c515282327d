#!/bin/sh
# test_sarif_schema.sh - fencedep report's SARIF against the official SARIF
# 2.1.0 JSON schema and the SARIF rules, with Microsoft's validator from npm
# (@microsoft/sarif-multitool, which carries the schema; setup.sh test
# installs it).  Skipped, not passed, when it is not installed.
cli=${FDEP_CLI:-src/cli/fencedep}
data=${FDEP_SRCDIR:-.}/tests/report/data
tool=$(command -v sarif-multitool)
[ -n "$tool" ] || { echo "SKIP: sarif-multitool not installed (npm install -g @microsoft/sarif-multitool)"; exit 77; }
root=$(npm root -g 2>/dev/null)
schema=$(find "$root/@microsoft" -name 'sarif-2.1.0.json' 2>/dev/null | head -n 1)
[ -n "$schema" ] || { echo "SKIP: the validator's copy of the SARIF 2.1.0 schema is missing"; exit 77; }
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail=0

# the validator must see a broken log as broken, or its silence means nothing
printf '%s' '{"version":"2.1.0","runs":[{"tool":{"driver":{}},"results":[{"level":"fatal","message":{"text":"x"}}]}]}' \
	>"$tmp/broken.sarif"

validate() {
	HOME=$tmp DOTNET_CLI_TELEMETRY_OPTOUT=1 timeout 300 "$tool" validate \
		--json-schema "$schema" --output "$tmp/$(basename "$1").out" "$1" >"$tmp/v.txt" 2>&1
	grep ': error ' "$tmp/v.txt"
}

if ! validate "$tmp/broken.sarif" >/dev/null; then
	echo "SKIP: the validator does not report a broken log here:"; cat "$tmp/v.txt"; exit 77
fi

check() {
	name=$1
	shift
	"$cli" report -f sarif -o "$tmp/$name.sarif" "$@"
	if errors=$(validate "$tmp/$name.sarif"); then
		echo "FAIL: $name: not valid SARIF 2.1.0:"
		echo "$errors"
		fail=1
	else
		echo "ok: $name is valid SARIF 2.1.0"
	fi
}
check merged-cycle "$data/abba_a.json" "$data/abba_b.json"
check fences "$data/fence_a.json" "$data/fence_b.json" "$data/fence_wait.json"
check srcroot --srcroot=/build "$data/legacy.json" "$data/legacy2.json"
check hostile "$data/escape_a.json" "$data/escape_b.json"
check nothing "$data/chain_a.json"
exit $fail
