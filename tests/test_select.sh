#!/bin/sh
# test_select.sh - the fencedep command warns, once, when the runtime did
# not get into the program; only= and exclude= choose the programs checked.
set -u
cli=${FDEP_CLI:?} progs=${FDEP_TEST_BINDIR:?}
fail=0
. "$(dirname "$0")/check.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fdep-select-XXXXXX")
chmod 755 "$tmp"
trap 'rm -rf "$tmp"' EXIT
# run CMD...: "STATUS|STDOUT|STDERR" (stderr read to its end, which comes
# when the warning's writer is gone too)
run() {
	err=$( { "$@" >"$tmp/out"; echo $? >"$tmp/st"; } 2>&1)
	echo "$(cat "$tmp/st")|$(cat "$tmp/out")|$err"
}
# status CMD...: the status of run, when stderr reports the finding
status() {
	r=$(run "$@")
	case $r in
	*"fencedep: lock-order-inversion"*) echo "${r%%|*} with finding" ;;
	*) echo "${r%%|*}" ;;
	esac
}

# 1. the runtime got in: no warning; a finding as usual
check "checked program" "$(run "$cli" -- "$progs/abba" clean)" "0|done|"
check "checked program, finding" "$(status "$cli" -- "$progs/abba" bug)" "66 with finding"
case $(run "$cli" -- "$progs/abba" bug) in *warning*) check "no warning with a finding" warning "" ;; esac
# a program that runs others: one acknowledgement, no warning
check "shell running programs" \
	"$(run "$cli" -- sh -c "'$progs/abba' clean; '$progs/abba' clean")" "0|done
done|"

# 2. it did not: a static program runs as it would, with one warning
check "static program" "$(run "$cli" -- "$progs/static-hello")" \
	"0|hello|fencedep: warning: $progs/static-hello ran without the checker: it is statically linked; nothing was checked"
# a checked shell that then execs a static program: the shell was checked,
# no warning (the command watches the program it ran, not what that runs)
check "checked shell, static child" "$(run "$cli" -- sh -c "'$progs/static-hello'")" "0|hello|"
# setuid to another user: the loader ignores LD_PRELOAD
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	cp "$progs/abba" "$tmp/suid" && chown nobody "$tmp/suid" && chmod 4755 "$tmp/suid"
	check "setuid program" "$(run "$cli" -- "$tmp/suid" clean)" \
		"0|done|fencedep: warning: $tmp/suid ran without the checker: it is setuid or setgid, and the loader ignores LD_PRELOAD for it; nothing was checked"
else
	echo "skip setuid program: needs root"
fi
# a program that cannot run: that error only
check "no such program" "$(run "$cli" -- "$tmp/none")" \
	"127||fencedep: cannot run '$tmp/none': No such file or directory"

# 3. a forged or stale FENCEDEP_ACK never writes: fd 1 is a pipe here, but
# not the one named
check "forged FENCEDEP_ACK" \
	"$(FENCEDEP_ACK="1:0:0" LD_PRELOAD="${FENCEDEP_LIBRARY:?}" "$progs/abba" clean)" "done"

# 4. only= and exclude=: file-name globs, or whole-path globs with a /
check "only, not matching" "$(run "$cli" --options=only='nomatch,x*' -- "$progs/abba" bug)" "0|done|"
check "only, matching" "$(status "$cli" --options=only='nomatch,ab?a' -- "$progs/abba" bug)" "66 with finding"
check "only, whole path" "$(status "$cli" --options="only=*/progs/a*" -- "$progs/abba" bug)" "66 with finding"
check "only, whole path, not matching" "$(run "$cli" --options="only=/nowhere/*" -- "$progs/abba" bug)" "0|done|"
check "exclude, matching" "$(run "$cli" --options=exclude='*ba' -- "$progs/abba" bug)" "0|done|"
check "exclude, not matching" "$(status "$cli" --options=exclude=sh -- "$progs/abba" bug)" "66 with finding"
# through FENCEDEP_OPTIONS, the shell excluded and the test checked
check "shell excluded, its child checked" \
	"$(FENCEDEP_OPTIONS=exclude=sh,dash,bash status "$cli" -- sh -c "'$progs/abba' bug")" "66 with finding"
# a run of several programs: each checked process prints its statistics at
# exit with verbosity=2, the shell too (dash leaves by _exit); the ones not
# selected print nothing
checked() {
	"$cli" --options="verbosity=2$1" -- sh -c "'$progs/abba' clean; '$progs/trylock' try" 2>&1 |
		grep -c '^fencedep: .*findings.*acquisitions'
}
check "several programs, all checked" "$(checked "")" 3
check "several programs, only one" "$(checked ":only=trylock")" 1
check "several programs, one excluded" "$(checked ":exclude=abba")" 2
check "several programs, shell excluded" "$(checked ":exclude=sh,dash")" 2
check "several programs, none" "$(checked ":only=nomatch")" 0
exit $fail
