# `fencedep report`: merge, render and gate per-process JSON reports.
# Included from src/cli/local.mk; the sources go into src/cli/fencedep.
REPORT_SOURCES = \
	src/cli/report.c src/cli/report.h src/cli/report_model.h \
	src/cli/report_read.c src/cli/report_gate.c src/cli/merge.c \
	src/cli/strtab.c src/cli/strtab.h \
	src/cli/sanitize.c src/cli/sanitize.h src/runtime/utf8.h \
	src/cli/kinds.c src/cli/kinds.h src/cli/render.h \
	src/cli/render_text.c src/cli/render_json.c src/cli/render_sarif.c \
	src/cli/render_html.c src/cli/render_dot.c src/cli/render_github.c \
	src/runtime/fingerprint.c src/runtime/fingerprint.h \
	src/runtime/suppress.c src/runtime/suppress.h

# libFuzzer harnesses (JSON reports, suppression and baseline files,
# FENCEDEP_OPTIONS), built with clang by fuzz/run-fuzzers.sh.  `make check`
# runs them for under a minute in all (fuzz/check-fuzzers.sh, skipped when
# clang cannot link libFuzzer); `make fuzz` for FUZZ_SECONDS.
FUZZ_SECONDS = 900
TESTS += fuzz/check-fuzzers.sh
EXTRA_DIST += fuzz/run-fuzzers.sh fuzz/check-fuzzers.sh fuzz/json.dict \
	fuzz/fuzz_json.c fuzz/fuzz_suppress.c fuzz/fuzz_options.c \
	fuzz/corpus

fuzz:
	FUZZ_BUILDDIR=fuzz-build srcdir='$(srcdir)' \
		$(SHELL) $(srcdir)/fuzz/run-fuzzers.sh $(FUZZ_SECONDS)

clean-local: clean-fuzz
clean-fuzz:
	rm -rf fuzz-build

.PHONY: fuzz clean-fuzz
