# The fencedep command.
bin_PROGRAMS += src/cli/fencedep
include $(srcdir)/src/cli/report.mk
src_cli_fencedep_SOURCES = src/cli/fencedep.c $(REPORT_SOURCES)
src_cli_fencedep_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src/cli \
	-DFDEP_LIBDIR='"$(libdir)"'
# The build tree's command preloads the build tree's runtime; an installed
# copy never looks anywhere but FDEP_LIBDIR (fencedep.c: in_build_tree).
src_cli_fencedep_CPPFLAGS += -DFDEP_BUILD_EXE='"$(abs_top_builddir)/src/cli/fencedep"' \
	-DFDEP_BUILD_LIBRARY='"$(abs_top_builddir)/.libs/libfencedep.so"'
src_cli_fencedep_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
src_cli_fencedep_LDADD = $(JANSSON_LIBS)
