# bash completion for fencedep(1): the run command, its options and the
# runtime options of --options=, and `fencedep report`.  Installed as
# $(datadir)/bash-completion/completions/fencedep.

# The runtime option names, from the options table `fencedep --help` prints.
_fencedep_runtime_keys()
{
	"${1:-fencedep}" --help 2>/dev/null |
		sed -n '/^Runtime options/,$s/^  \([a-z_][a-z_]*\) .*/\1/p'
}

# The output formats `fencedep report --help` names.
_fencedep_formats()
{
	"${1:-fencedep}" report --help 2>/dev/null |
		sed -n 's/.*--format FORMAT *//p' | tr -d '(),' |
		sed 's/default//; s/ or / /'
}

_fencedep_report()
{
	local cur=$1 prev=$2 cmd=$3
	case $prev in
	-f|--format)
		COMPREPLY=($(compgen -W "$(_fencedep_formats "$cmd")" -- "$cur"))
		return;;
	-o|--output|--baseline|--write-baseline|--suppressions)
		COMPREPLY=($(compgen -f -- "$cur"))
		return;;
	--srcroot)
		COMPREPLY=($(compgen -d -- "$cur"))
		return;;
	--source-url)
		return;;
	--color)
		COMPREPLY=($(compgen -W "auto always never" -- "$cur"))
		return;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "-f --format -o --output --baseline
			--write-baseline --suppressions --cycles-only --srcroot --source-url --color -v
			--verbose -h --help -V --version" -- "$cur"))
	else
		COMPREPLY=($(compgen -f -X '!*.json' -- "$cur") $(compgen -d -- "$cur"))
	fi
}

_fencedep()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
	local cmd=${COMP_WORDS[0]} i

	COMPREPLY=()
	if ((COMP_CWORD > 1)) && [[ ${COMP_WORDS[1]} == report ]]; then
		_fencedep_report "$cur" "$prev" "$cmd"
		return
	fi
	# past the program's name: complete its own arguments
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		--) ((i++)); break;;
		-*) ;;
		*) break;;
		esac
	done
	if ((i < COMP_CWORD)); then
		if declare -F _command_offset >/dev/null; then
			_command_offset "$i"
		else
			COMPREPLY=($(compgen -f -- "$cur"))
		fi
		return
	fi
	case $cur in
	--options=*)
		local keys=$(_fencedep_runtime_keys "$cmd") last=${cur##*[=:]}
		local head=${cur%"$last"}
		COMPREPLY=($(compgen -W "$keys" -S = -- "$last"))
		COMPREPLY=("${COMPREPLY[@]/#/$head}")
		compopt -o nospace 2>/dev/null
		return;;
	--log-path=*|--json-path=*|--library=*|--suppressions=*)
		COMPREPLY=($(compgen -f -- "${cur#*=}"))
		return;;
	-*)
		COMPREPLY=($(compgen -W "--error-exitcode= --log-path= --json-path=
			--library= --options= --suppressions= --gdb --help --version" -- "$cur"))
		[[ ${COMPREPLY[0]} == *= ]] && compopt -o nospace 2>/dev/null
		return;;
	esac
	if ((COMP_CWORD == 1)); then
		COMPREPLY=($(compgen -W report -- "$cur") $(compgen -c -- "$cur"))
	else
		COMPREPLY=($(compgen -c -- "$cur"))
	fi
}

complete -F _fencedep fencedep
