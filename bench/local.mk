# Benchmarks: `make bench` builds and runs them against this build tree
# (`make bench BENCHFLAGS=--quick` for the short run).  They report, they do
# not gate, and are not part of `make check`.
EXTRA_DIST += bench/run bench/bench.c bench/harness.h bench/scale.c bench/libs.c bench/README
# real programs, native against checked (bench/run --real)
EXTRA_DIST += bench/real bench/sqlite-threads.c

.PHONY: bench
bench: all
	$(srcdir)/bench/run $(BENCHFLAGS) $(abs_top_builddir)
