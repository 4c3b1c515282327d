# tests/report: `fencedep report` (merging, formats, baseline, suppressions,
# bad input).  The suite links the report sources and calls report_main().
if HAVE_CRITERION
check_PROGRAMS += tests/report/test_report
TESTS += tests/report/test_report
tests_report_test_report_SOURCES = tests/report/test_report.c $(REPORT_SOURCES)
tests_report_test_report_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src/cli \
	-DFDEP_REPORT_DATA='"$(abs_top_srcdir)/tests/report/data"'
tests_report_test_report_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS) $(JANSSON_CFLAGS)
tests_report_test_report_LDADD = $(CRITERION_LIBS) $(JANSSON_LIBS)
endif
EXTRA_DIST += tests/report/data
