#!/bin/sh
# test_install.sh - `make install` and its ldconfig hook, without touching
# the system: the tree is installed under a temporary prefix, and `id` and
# `ldconfig` are stand-ins on PATH that record their calls.  The hook must
# refresh the loader's cache only when installing into the running system
# as root (no DESTDIR), say how to preload by path when the loader does not
# search the library directory, and stay silent otherwise.  Running the
# real ldconfig would rewrite /etc/ld.so.cache, so the real by-name preload
# after a system-wide install is not tested here.
set -u
b=${FDEP_BUILDDIR:?}
fail=0
. "$(dirname "$0")/check.sh"
command -v make >/dev/null 2>&1 || { echo "make is not installed"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fdep-install-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/bin"
# ldconfig: records its arguments; -p lists what $tmp/cache holds
cat >"$tmp/bin/ldconfig" <<S
#!/bin/sh
echo "ldconfig \$*" >>"$tmp/calls"
if [ "\${1-}" = -p ] && [ -f "$tmp/cache" ]; then cat "$tmp/cache"; fi
exit 0
S
chmod +x "$tmp/bin/ldconfig"
# id -u: the uid in $tmp/uid
cat >"$tmp/bin/id" <<S
#!/bin/sh
if [ "\${1-}" = -u ]; then cat "$tmp/uid"; else exec /usr/bin/id "\$@"; fi
S
chmod +x "$tmp/bin/id"

# install PREFIX [DESTDIR]: run make install from the build tree, with the
# stand-ins first on PATH and none of an enclosing make's settings
install_to() {
	rm -f "$tmp/calls"
	: >"$tmp/calls"
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u DESTDIR PATH="$tmp/bin:$PATH" \
		make -s -C "$b" install prefix="$1" ${2:+DESTDIR="$2"} >"$tmp/out" 2>"$tmp/err"
}
# the hook's own call is the bare `ldconfig` and `ldconfig -p` (libtool's
# `ldconfig -n DIR` on its library directory is left out)
hook_calls() {
	grep -v '^ldconfig -n ' "$tmp/calls" | tr '\n' ';'
}
note() {
	grep -c 'preload the runtime by path' "$tmp/out"
}

# 1. root, into the running system, a library directory the loader does not
# search: ldconfig runs, and the note gives the path to preload
echo 0 >"$tmp/uid"
install_to "$tmp/sys"
st=$?
check "root install: status" "$st" 0
check "root install: the runtime is installed" "$(test -f "$tmp/sys/lib/libfencedep.so" && echo yes)" yes
check "root install: the hook ran ldconfig, then asked its cache" "$(hook_calls)" "ldconfig ;ldconfig -p;"
check "root install: the note names the path" \
	"$(grep -o "LD_PRELOAD=[^ ]*" "$tmp/out")" "LD_PRELOAD=$tmp/sys/lib/libfencedep.so"

# the line the note gives works as written: the installed runtime, preloaded
# by its path, checks a program (abba's inversion: status 66).  (The
# installed command looks for the runtime in the libdir configure chose,
# not in a prefix given to make install, so it is not run here.)
abba=$b/tests/progs/abba
if [ -x "$abba" ]; then
	FENCEDEP_OPTIONS=json_path=$tmp/by-path LD_PRELOAD=$tmp/sys/lib/libfencedep.so "$abba" bug \
		>/dev/null 2>&1
	check "preloaded by the installed path: the finding's status" $? 66
	check "preloaded by the installed path: a report" "$(cat "$tmp"/by-path.*.json 2>/dev/null |
		grep -c '"kind": "lock-order-inversion"')" 1
fi

# 2. the same, when the loader's cache has the library: no note
printf '\tlibfencedep.so (libc6,x86-64) => %s/sys/lib/libfencedep.so\n' "$tmp" >"$tmp/cache"
install_to "$tmp/sys"
check "root install, cached: the hook ran ldconfig" "$(hook_calls)" "ldconfig ;ldconfig -p;"
check "root install, cached: no note" "$(note)" 0
rm -f "$tmp/cache"

# 3. root with DESTDIR (a package being staged): the running system's cache
# is not touched
install_to /usr/local "$tmp/stage"
st=$?
check "staged install: status" "$st" 0
check "staged install: the runtime is staged" \
	"$(test -f "$tmp/stage/usr/local/lib/libfencedep.so" && echo yes)" yes
check "staged install: no ldconfig" "$(hook_calls)" ""
check "staged install: no note" "$(note)" 0

# 4. not root: no ldconfig (it would fail), no note
echo 1000 >"$tmp/uid"
install_to "$tmp/user"
st=$?
check "user install: status" "$st" 0
check "user install: no ldconfig" "$(hook_calls)" ""
check "user install: no note" "$(note)" 0
[ $fail = 0 ] || { echo "make's stderr:"; cat "$tmp/err"; }
exit $fail
