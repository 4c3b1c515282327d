#!/bin/sh
# run-fuzzers.sh SECONDS - build the libFuzzer harnesses of fuzz/ with clang
# (-fsanitize=fuzzer,address,undefined) and run them, SECONDS in all, shared
# between them.  Exit 0 when no harness found a crash, 1 when one did,
# 77 (skipped, for make check) when clang cannot build libFuzzer programs.
#
# Environment: CLANG (default clang), FUZZ_BUILDDIR (default ./fuzz-build),
# srcdir (the source tree; default: the parent of this script's directory).
set -u

total=${1:-60}
here=$(cd "$(dirname "$0")" && pwd)
top=${srcdir:+$(cd "$srcdir" && pwd)}
top=${top:-$(dirname "$here")}
fuzzdir=$top/fuzz
out=${FUZZ_BUILDDIR:-fuzz-build}
cc=${CLANG:-clang}
san="-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"
cflags="-g -O1 -I$top/include -I$top/src/cli -I$top/src/runtime"

cli_sources="src/cli/report.c src/cli/report_read.c src/cli/report_gate.c
	src/cli/merge.c src/cli/strtab.c src/cli/sanitize.c src/cli/kinds.c
	src/cli/render_text.c src/cli/render_json.c src/cli/render_sarif.c
	src/cli/render_html.c src/cli/render_dot.c src/cli/render_github.c
	src/runtime/fingerprint.c src/runtime/suppress.c"

skip() {
	echo "run-fuzzers: SKIP: $*"
	exit 77
}

mkdir -p "$out" || exit 1
echo 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { return 0; }' \
	>"$out/probe.c"
command -v "$cc" >/dev/null 2>&1 || skip "$cc not found"
"$cc" $san "$out/probe.c" -o "$out/probe" >/dev/null 2>&1 ||
	skip "$cc cannot link -fsanitize=fuzzer (Debian: apt-get install libclang-rt-14-dev)"

# name: harness, extra sources, corpus directory
harnesses="json suppress"
[ -f "$top/src/runtime/options.c" ] && harnesses="$harnesses options"

sources_of() {
	case $1 in
	options) echo "src/runtime/options.c" ;;
	*) echo "$cli_sources" ;;
	esac
}

libs_of() {
	case $1 in
	options) ;;
	*) pkg-config --libs jansson 2>/dev/null || echo -ljansson ;;
	esac
}

build() {
	srcs=""
	for s in $(sources_of "$1"); do srcs="$srcs $top/$s"; done
	echo "run-fuzzers: building fuzz_$1"
	"$cc" $cflags $san "$fuzzdir/fuzz_$1.c" $srcs -o "$out/fuzz_$1" $(libs_of "$1")
}

n=0
for h in $harnesses; do
	build "$h" || { echo "run-fuzzers: FAIL: cannot build fuzz_$h"; exit 1; }
	n=$((n + 1))
done
each=$((total / n))
[ "$each" -ge 1 ] || each=1

status=0
for h in $harnesses; do
	corpus=$out/corpus-$h
	mkdir -p "$corpus"
	seeds=$fuzzdir/corpus/$h
	[ -d "$seeds" ] || seeds=""
	dict=""
	[ "$h" = json ] && dict="-dict=$fuzzdir/json.dict"
	log=$out/fuzz_$h.log
	echo "run-fuzzers: running fuzz_$h for $each s"
	(cd "$out" && ASAN_OPTIONS=detect_leaks=1 "./fuzz_$h" -max_total_time="$each" \
		-timeout=10 -rss_limit_mb=2048 -max_len=16384 -print_final_stats=1 \
		$dict "corpus-$h" $seeds) >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	if [ $rc -ne 0 ]; then
		echo "run-fuzzers: FAIL: fuzz_$h crashed (exit $rc); see $log:"
		tail -n 40 "$log"
		status=1
	else
		echo "run-fuzzers: fuzz_$h: ${runs:-?} executions, no crash"
	fi
done
exit $status
