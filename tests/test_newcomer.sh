#!/bin/sh
# test_newcomer.sh - the newcomer's path (issue 14) where it can be checked
# without installing anything: setup.sh runs configure again exactly when
# what configure found has changed (criterion installed after a `demo`, a
# newer configure script), keeps configure's warnings out of sight unless
# it fails; and the setuid test's program carries no RUNPATH, so it runs
# wherever the tree is (a clone in a 0700 /root); a missing package is
# installed saying what, why, and apt's progress.  setup.sh runs here on a
# copy of itself in a stand-in tree whose configure, make and dpkg-query
# (and apt-get) are stand-ins that record their calls.
set -u
srcdir=${FDEP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
b=${FDEP_BUILDDIR:-}
fail=0
. "$(dirname "$0")/check.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fdep-newcomer-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
t=$tmp/tree
mkdir -p "$t" "$tmp/bin"
cp "$srcdir/setup.sh" "$t/setup.sh"
echo "AC_INIT" >"$t/configure.ac"
# configure: counts its runs, warns about criterion when it is absent, fails
# when $tmp/configure-fails exists
cat >"$t/configure" <<S
#!/bin/sh
echo run >>"$tmp/configured"
grep -q '^libcriterion-dev ' "$tmp/installed" ||
	echo "configure: WARNING: criterion not found: make check needs libcriterion-dev"
if [ -f "$tmp/configure-fails" ]; then echo "configure: error: broken on purpose"; exit 1; fi
echo all: >Makefile
echo stamp >config.status
S
chmod +x "$t/configure"
touch -d '2020-01-01' "$t/configure.ac"
# dpkg-query -W -f=FORMAT PKG: installed when PKG is listed in $tmp/installed
cat >"$tmp/bin/dpkg-query" <<S
#!/bin/sh
for p; do :; done
v=\$(sed -n "s/^\$p //p" "$tmp/installed")
[ -n "\$v" ] || exit 1
echo "\$p \$v install ok installed"
S
printf '#!/bin/sh\necho "make $*" >>"%s/made"\n' "$tmp" >"$tmp/bin/make"
printf '#!/bin/sh\necho 0\n' >"$tmp/bin/id"
chmod +x "$tmp/bin/dpkg-query" "$tmp/bin/make" "$tmp/bin/id"
# every build package installed, none of the test packages
sed -n '/^BUILD_PKGS="/,/"$/p' "$srcdir/setup.sh" | tr ' "' '\n\n' | sed -n 's/:.*//p' |
	grep -v '^BUILD_PKGS=' | sed 's/$/ 1.0/' >"$tmp/installed"
check "stand-in: build packages listed" "$(wc -l <"$tmp/installed" | tr -d ' ')" \
	"$(sed -n '/^BUILD_PKGS="/,/"$/p' "$srcdir/setup.sh" | tr ' ' '\n' | grep -c :)"

setup() { # setup.sh build, with the stand-ins first on PATH
	PATH="$tmp/bin:$PATH" sh "$t/setup.sh" build >"$tmp/out" 2>&1
}
runs() {
	wc -l <"$tmp/configured" 2>/dev/null | tr -d ' ' || echo 0
}

# apt-get: "update" succeeds; "install" reports progress on the status
# descriptor as apt does, then lists the packages as installed
cat >"$tmp/bin/apt-get" <<S
#!/bin/sh
[ "\$1" = update ] && exit 0
echo "apt-get \$*" >>"$tmp/apt"
echo "dlstatus:1:50:fetching" >&3
echo "dlstatus:1:100:fetched" >&3
echo "pmstatus:libdw-dev:100:Installed libdw-dev" >&3
for p; do case \$p in -*|*=*|install) ;; *) echo "\$p 1.0" >>"$tmp/installed" ;; esac; done
S
chmod +x "$tmp/bin/apt-get"
sed -i '/^libdw-dev /d' "$tmp/installed"

# 1. first build (a demo's), a build package missing: it is installed,
# saying what and why, with progress; configure runs, its criterion warning
# is not shown
setup
check "first build: status" $? 0
check "first build: installs the missing package" "$(sed 's/ -o .*//' "$tmp/apt")" \
	"apt-get install -y -q --no-install-recommends"
check "first build: only that package" "$(sed 's/.* //' "$tmp/apt")" "libdw-dev"
check "first build: says what and why" "$(grep -c '^  libdw-dev: file and line of stack frames$' "$tmp/out")" 1
check "first build: shows the download's progress" "$(grep -c '^  downloading 100%$' "$tmp/out")" 1
check "first build: shows the installation's progress" \
	"$(grep -c '^  installing 100% (Installed libdw-dev)$' "$tmp/out")" 1
check "first build: configure ran" "$(runs)" 1
check "first build: no criterion warning shown" "$(grep -c criterion "$tmp/out")" 0
check "first build: make ran" "$(grep -c '^make' "$tmp/made")" 1
# 2. again, nothing changed: no configure
setup
check "second build: configure not run again" "$(runs)" 1
# 3. criterion installed since (what `./setup.sh test` does): configure again
echo "libcriterion-dev 2.4.1" >>"$tmp/installed"
setup
check "criterion installed: configure ran again" "$(runs)" 2
setup
check "then: not again" "$(runs)" 2
# 4. a package upgraded: configure again
sed -i 's/^libdw-dev .*/libdw-dev 2.0/' "$tmp/installed"
setup
check "package upgraded: configure ran again" "$(runs)" 3
# 5. a newer configure script: configure again
touch -d '+1 minute' "$t/configure"
setup
check "newer configure: configure ran again" "$(runs)" 4
# 6. configure fails: its output is shown, the status is not zero, and the
# next run tries again
touch "$tmp/configure-fails"
sed -i 's/^libdw-dev .*/libdw-dev 3.0/' "$tmp/installed"
setup
st=$?
check "configure fails: status" "$st" 1
check "configure fails: its error is shown" "$(grep -c 'broken on purpose' "$tmp/out")" 1
rm -f "$tmp/configure-fails"
setup
check "after a failed configure: configure ran again" "$(runs)" 6

# 7. the setuid test's program (the runtime built in) has no RUNPATH into
# the tree: it runs as nobody wherever the clone is
if [ -n "$b" ] && [ -f "$b/tests/progs/rel-secure" ] && command -v readelf >/dev/null 2>&1; then
	check "rel-secure: no RUNPATH or RPATH" \
		"$(readelf -d "$b/tests/progs/rel-secure" | grep -cE 'RUNPATH|RPATH')" 0
fi
[ $fail = 0 ] || { echo "setup.sh's last output:"; cat "$tmp/out"; }
exit $fail
