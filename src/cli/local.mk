# The fencedep command.
bin_PROGRAMS += src/cli/fencedep
include $(srcdir)/src/cli/report.mk
src_cli_fencedep_SOURCES = src/cli/fencedep.c $(REPORT_SOURCES)
src_cli_fencedep_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src/cli \
	-DFDEP_LIBDIR='"$(libdir)"'
