# The VM_BIND reference model (libvmbind) and vmbind-stress.
noinst_LTLIBRARIES += src/vmbind/libvmbind.la
src_vmbind_libvmbind_la_SOURCES = \
	src/vmbind/vmbind.h \
	src/vmbind/bo.c \
	src/vmbind/bugs.c \
	src/vmbind/exec.c \
	src/vmbind/fence.c \
	src/vmbind/gpu.c \
	src/vmbind/mem.c \
	src/vmbind/mm.c \
	src/vmbind/model.c \
	src/vmbind/preempt.c \
	src/vmbind/resv.c \
	src/vmbind/sched.c \
	src/vmbind/shrinker.c \
	src/vmbind/vm.c

bin_PROGRAMS += src/vmbind/vmbind-stress
src_vmbind_vmbind_stress_SOURCES = src/vmbind/stress.c
src_vmbind_vmbind_stress_LDADD = src/vmbind/libvmbind.la -lpthread

dist_man_MANS += man/vmbind-stress.1
EXTRA_DIST += src/vmbind/README
