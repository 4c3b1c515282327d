#!/bin/sh
# test_pkgconfig.sh - fencedep.pc gives fencedep.h and no library (an
# annotated program runs without the runtime), fencedep-runtime.pc links the
# runtime, and both name the runtime's path for LD_PRELOAD.
set -u
b=${FDEP_BUILDDIR:?} src=${FDEP_SRCDIR:?} cc=${FDEP_CC:-cc}
command -v pkg-config >/dev/null 2>&1 || { echo "pkg-config is not installed"; exit 77; }
PKG_CONFIG_PATH=$b
export PKG_CONFIG_PATH
fail=0
. "$(dirname "$0")/check.sh"
prefix=$(pkg-config --variable=prefix fencedep)
libdir=$(pkg-config --variable=libdir fencedep)
check "fencedep: no library" "$(pkg-config --libs fencedep | tr -d ' ')" ""
check "fencedep: the header's directory" "$(pkg-config --cflags fencedep | tr -d ' ')" "-I$prefix/include"
check "fencedep: runtime variable" "$(pkg-config --variable=runtime fencedep)" "$libdir/libfencedep.so"
check "fencedep-runtime: links the runtime" "$(pkg-config --libs fencedep-runtime | tr -s ' ' | sed 's/ $//')" "-L$libdir -lfencedep"
check "fencedep-runtime: runtime variable" "$(pkg-config --variable=runtime fencedep-runtime)" "$libdir/libfencedep.so"

# an annotated program built with fencedep's flags alone links and runs
# without the runtime (every call a no-op)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fdep-pc-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/p.c" <<'P'
#include <fencedep.h>
#include <stdio.h>
static int fence, lock;
int main(void)
{
	fdep_acquire(&lock, "my_lock", 0);
	fdep_fence_publish(&fence);
	fdep_might_alloc();
	fdep_fence_signal(&fence);
	fdep_release(&lock);
	puts("ran");
	return 0;
}
P
# the installed header lives in $includedir; here it is the source tree's
if $cc -I"$src/include" $(pkg-config --libs fencedep) "$tmp/p.c" -o "$tmp/p" 2>"$tmp/err"; then
	check "annotated program without the runtime: output" "$("$tmp/p")" "ran"
	check "annotated program without the runtime: no library needed" \
		"$(readelf -d "$tmp/p" 2>/dev/null | grep -c 'libfencedep')" 0
else
	check "annotated program links with fencedep's flags alone" "$(cat "$tmp/err")" ""
fi
exit $fail
