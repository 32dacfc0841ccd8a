package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"davit/api"

	"github.com/urfave/cli/v2"
)

func completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script (bash or zsh)",
		ArgsUsage: "bash|zsh",
		Description: "Load it in the current shell:\n\n" +
			"  source <(davit completion bash)\n" +
			"  source <(davit completion zsh)\n\n" +
			"Commands, flags, kinds and object names (read from the agent) complete.",
		Action: runCompletion,
		BashComplete: func(c *cli.Context) {
			fmt.Fprintln(c.App.Writer, "bash\nzsh")
		},
	}
}

func runCompletion(c *cli.Context) error {
	switch c.Args().First() {
	case "bash":
		_, err := fmt.Fprint(c.App.Writer, bashCompletion)
		return err
	case "zsh":
		_, err := fmt.Fprint(c.App.Writer, zshCompletion)
		return err
	case "":
		return usageError(c, "name a shell: bash or zsh")
	}
	return usageError(c, "unsupported shell %q: use bash or zsh", c.Args().First())
}

// The scripts ask davit itself for candidates through urfave/cli's
// --generate-bash-completion flag.
const bashCompletion = `# davit completion for bash. Load with: source <(davit completion bash)
_davit_complete() {
  local cur="${COMP_WORDS[COMP_CWORD]}"
  local -a words=("${COMP_WORDS[@]:0:COMP_CWORD}")
  local opts
  if [[ "$cur" == -* ]]; then
    opts=$("${words[@]}" "$cur" --generate-bash-completion 2>/dev/null)
  else
    opts=$("${words[@]}" --generate-bash-completion 2>/dev/null)
  fi
  COMPREPLY=($(compgen -W "${opts}" -- "${cur}"))
}
complete -o bashdefault -o default -F _davit_complete davit
`

const zshCompletion = `#compdef davit
# davit completion for zsh. Load with: source <(davit completion zsh)
_davit() {
  local -a opts
  local cur=${words[-1]}
  if [[ "$cur" == -* ]]; then
    opts=("${(@f)$(${words[@]:0:#words[@]-1} ${cur} --generate-bash-completion 2>/dev/null)}")
  else
    opts=("${(@f)$(${words[@]:0:#words[@]-1} --generate-bash-completion 2>/dev/null)}")
  fi
  if [[ "${opts[1]}" != "" ]]; then
    _describe 'values' opts
  else
    _files
  fi
}
if [[ "${funcstack[1]}" == "_davit" ]]; then
  _davit "$@"
else
  compdef _davit davit
fi
`

// completeObjects completes get, describe and delete: flags after a dash,
// kinds first, then the names of the kind's objects.
func completeObjects(c *cli.Context) {
	args := c.Args().Slice()
	if n := len(args); n > 0 && strings.HasPrefix(args[n-1], "-") {
		cli.DefaultCompleteWithFlags(c.Command)(c)
		return
	}
	if len(args) == 0 {
		for _, k := range api.Kinds() {
			fmt.Fprintln(c.App.Writer, k.Singular)
			for _, s := range k.ShortNames {
				fmt.Fprintln(c.App.Writer, s)
			}
		}
		return
	}
	k, ok := api.LookupKind(strings.Split(args[0], ",")[0])
	if !ok {
		return
	}
	cl, err := newClient(c)
	if err != nil {
		return // completion prints candidates or nothing, never errors
	}
	ctx, cancel := context.WithTimeout(c.Context, 2*time.Second)
	defer cancel()
	l, err := cl.List(ctx, k, namespaceOf(c, k), "", false)
	if err != nil {
		return
	}
	for _, o := range l.Items {
		fmt.Fprintln(c.App.Writer, o.Metadata.Name)
	}
}
