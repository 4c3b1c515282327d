# check.sh - sourced by the shell tests: check WHAT GOT WANT prints
# "ok   WHAT", or what was got and wanted and sets fail=1.
check() { # WHAT GOT WANT
	if [ "$2" != "$3" ]; then
		printf 'FAIL %s:\n  got:  %s\n  want: %s\n' "$1" "$2" "$3"
		fail=1
	else
		echo "ok   $1"
	fi
}
