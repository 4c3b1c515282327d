# The checker engine; with preload/ it makes libfencedep.so.
lib_LTLIBRARIES += libfencedep.la
libfencedep_la_SOURCES = \
	src/runtime/runtime.h src/runtime/hot.h src/runtime/spin.h src/runtime/finding.h src/runtime/options.def \
	src/runtime/utf8.h src/runtime/frames.h src/runtime/textcolor.h src/runtime/rawsys.h \
	src/runtime/explain.h \
	src/runtime/alloc.c src/runtime/table.c src/runtime/options.c src/runtime/class.c \
	src/runtime/instance.c src/runtime/held.c src/runtime/chain.c \
	src/runtime/graph.c src/runtime/prime.c src/runtime/fence.c src/runtime/event.c \
	src/runtime/reclaim.c src/runtime/ww.c src/runtime/api.c \
	src/runtime/stack.c src/runtime/report.c src/runtime/report_text.c \
	src/runtime/report_json.c src/runtime/init.c src/runtime/watchdog.c \
	src/runtime/fingerprint.c src/runtime/fingerprint.h \
	src/runtime/suppress.c src/runtime/suppress.h \
	src/runtime/sigusage.c src/runtime/select.c
libfencedep_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden \
	-ftls-model=initial-exec $(LIBUNWIND_CFLAGS) $(LIBDW_CFLAGS)
libfencedep_la_LIBADD = $(LIBUNWIND_LIBS) $(LIBDW_LIBS) $(LIBIBERTY_LIBS)
# libiberty's symbols stay inside: the program may link its own copy
libfencedep_la_LDFLAGS = -version-info 0:0:0 -Wl,-z,nodelete -Wl,--exclude-libs,libiberty.a
