package main

import (
	"fmt"
	"io"
	"strings"
)

// commands lists every command, for help and shell completion; the
// dispatch in run handles each (TestCommandsAreDispatched).
var commands = []string{
	"investigate", "analyze", "triage", "timeline", "scan", "http", "dns",
	"mcp", "stream", "carve", "tls", "log", "intel", "shard", "merge", "worker", "submit", "completion", "version", "help",
}

// The completion scripts complete command names, and a command's flags by
// asking the binary for that command's help, so they never fall behind a
// new flag; anything else completes as a file name.
const bashCompletion = `# bash completion for reconpcap: source it, or put it in
# /etc/bash_completion.d/ (reconpcap completion bash > /etc/bash_completion.d/reconpcap)
_reconpcap() {
    local cur=${COMP_WORDS[COMP_CWORD]}
    if [ "$COMP_CWORD" -eq 1 ]; then
        COMPREPLY=($(compgen -W "{{commands}} --version --help" -- "$cur"))
        return
    fi
    if [[ $cur == -* ]]; then
        local flags
        flags=$("${COMP_WORDS[0]}" "${COMP_WORDS[1]}" -h 2>&1 | sed -n 's/^  -\([A-Za-z0-9_.-]*\).*/--\1/p')
        COMPREPLY=($(compgen -W "$flags" -- "$cur"))
        return
    fi
    COMPREPLY=($(compgen -f -- "$cur"))
}
complete -o filenames -F _reconpcap reconpcap
`

const zshCompletion = `#compdef reconpcap
# zsh completion for reconpcap: put it on $fpath as _reconpcap
# (reconpcap completion zsh > "${fpath[1]}/_reconpcap")
_reconpcap() {
    if (( CURRENT == 2 )); then
        compadd -- {{commands}} --version --help
        return
    fi
    if [[ $PREFIX == -* ]]; then
        local -a flags
        flags=(${(f)"$(${words[1]} ${words[2]} -h 2>&1 | sed -n 's/^  -\([A-Za-z0-9_.-]*\).*/--\1/p')"})
        compadd -- $flags
        return
    fi
    _files
}
compdef _reconpcap reconpcap
`

const fishCompletion = `# fish completion for reconpcap
# (reconpcap completion fish > ~/.config/fish/completions/reconpcap.fish)
function __reconpcap_flags
    set -l cmd (commandline -opc)
    if test (count $cmd) -ge 2
        $cmd[1] $cmd[2] -h 2>&1 | sed -n 's/^  -\([A-Za-z0-9_.-]*\).*/--\1/p'
    end
end
complete -c reconpcap -f -n '__fish_use_subcommand' -a '{{commands}}'
complete -c reconpcap -n 'not __fish_use_subcommand; and string match -q -- "-*" (commandline -ct)' -a '(__reconpcap_flags)'
complete -c reconpcap -n 'not __fish_use_subcommand' -F
`

func runCompletion(args []string, stdout io.Writer) error {
	if len(args) != 1 {
		return usagef("completion takes one shell: bash, zsh or fish")
	}
	var script string
	switch args[0] {
	case "bash":
		script = bashCompletion
	case "zsh":
		script = zshCompletion
	case "fish":
		script = fishCompletion
	default:
		return usagef("completion %q: want bash, zsh or fish", args[0])
	}
	fmt.Fprint(stdout, strings.ReplaceAll(script, "{{commands}}", strings.Join(commands, " ")))
	return nil
}
