#!/bin/sh
# test_completion.sh - the bash completion of fencedep completes the
# command's options, the runtime options of --options= and `fencedep
# report`'s options and formats, from the built command.
command -v bash >/dev/null 2>&1 || { echo "SKIP: no bash"; exit 77; }
top=${FDEP_SRCDIR:-${srcdir:-.}}
builddir=${FDEP_BUILDDIR:-$PWD}
exec bash -c '
fail=0
PATH="$2/src/cli:$PATH"
. "$1/completion/fencedep.bash"
complete_line() {
	COMP_WORDS=($1)
	[ "${1% }" != "$1" ] && COMP_WORDS+=("")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	_fencedep
	echo "${COMPREPLY[*]}"
}
expect() {
	got=$(complete_line "$1")
	case " $got " in
	*" $2 "*) echo "ok: [$1] -> $2" ;;
	*) echo "FAIL: [$1]: expected $2 among: $got"; fail=1 ;;
	esac
}
expect "fencedep report --ver" --version
expect "fencedep report --supp" --suppressions
expect "fencedep report --sou" --source-url
expect "fencedep report -f s" sarif
expect "fencedep report -f h" html
expect "fencedep --err" --error-exitcode=
expect "fencedep --options=verb" --options=verbosity=
expect "fencedep --options=exitcode=0:watch" --options=exitcode=0:watchdog=
expect "fencedep rep" report
complete -p fencedep >/dev/null || { echo "FAIL: not registered"; fail=1; }
exit $fail
' sh "$top" "$builddir"
