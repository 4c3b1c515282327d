#!/bin/sh
# test_html_browser.sh - the HTML report, opened in headless Chromium: it
# loads, every finding is there with its drawing, nothing hostile from the
# input runs, and a screenshot is drawn.  Skipped without chromium.
cli=${FDEP_CLI:-src/cli/fencedep}
data=${FDEP_SRCDIR:-.}/tests/report/data
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome)
[ -n "$browser" ] || { echo "SKIP: no chromium (setup.sh test installs it)"; exit 77; }
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail=0

"$cli" report -f html -o "$tmp/r.html" --source-url='https://src.example/repo/blob/main/{path}#L{line}' \
	"$data/abba_a.json" "$data/abba_b.json" \
	"$data/fence_a.json" "$data/fence_b.json" "$data/escape_a.json" "$data/escape_b.json"
[ $? -eq 1 ] || { echo "FAIL: fencedep report did not find the cycles"; exit 1; }

run_browser() {
	HOME=$tmp timeout 120 "$browser" --headless --no-sandbox --disable-gpu \
		--no-first-run --disable-extensions --hide-scrollbars \
		--user-data-dir="$tmp/profile" "$@" 2>"$tmp/browser.err"
}

run_browser --dump-dom "file://$tmp/r.html" >"$tmp/dom.html"
[ -s "$tmp/dom.html" ] || {
	if grep -q 'Running as root without --no-sandbox\|cannot open display\|Trace/breakpoint' "$tmp/browser.err"; then
		echo "SKIP: chromium cannot run here"; cat "$tmp/browser.err"; exit 77
	fi
	echo "FAIL: chromium rendered nothing"; cat "$tmp/browser.err"; exit 1
}
expect() {
	if grep -q "$1" "$tmp/dom.html"; then echo "ok: $2"; else echo "FAIL: $2"; fail=1; fi
}
refuse() {
	if grep -q "$1" "$tmp/dom.html"; then echo "FAIL: $2"; fail=1; else echo "ok: $2"; fi
}
n=$(grep -o '<section class="finding' "$tmp/dom.html" | wc -l)
[ "$n" -eq 3 ] && echo "ok: 3 findings" || { echo "FAIL: $n findings, 3 expected"; fail=1; }
n=$(grep -o '<svg ' "$tmp/dom.html" | wc -l)
[ "$n" -eq 3 ] && echo "ok: 3 cycles drawn" || { echo "FAIL: $n drawings, 3 expected"; fail=1; }
expect 'class="legend"' "a legend"
expect 'SUMMARY: fencedep: lock-order-inversion' "a summary line per finding"
expect '<a class="src" href="https://src.example/repo/blob/main/accounts.c#L42">accounts.c:42</a>' \
	"a frame's file is a link (--source-url)"
expect '<pre class="scenario">' "the possible unsafe scenario"
expect 'How to fix:</b> Take the locks in one order' "the kind's fix hint"
expect 'acquisitions' "the per-process statistics"
refuse '<script' "no script element from the input"
refuse '<b>x' "no markup from the input"

run_browser --window-size=1200,1600 --screenshot="$tmp/shot.png" "file://$tmp/r.html" >/dev/null
size=$(wc -c <"$tmp/shot.png" 2>/dev/null || echo 0)
[ "$size" -gt 20000 ] && echo "ok: screenshot of $size bytes" ||
	{ echo "FAIL: screenshot of $size bytes"; fail=1; }
exit $fail
