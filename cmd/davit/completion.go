package main

import (
	"context"
	"fmt"
	"io"
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

// completeObjects completes get, describe and delete: kinds first, then
// the names of the kind's objects (completeFlags handles dashes).
func completeObjects(c *cli.Context) {
	args := c.Args().Slice()
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

// completeFlags answers a completion request for a word starting with a
// dash ("davit get --no<TAB>") with the matching flags of the command (or
// of davit itself). It reports whether it answered.
func completeFlags(app *cli.App, args []string, w io.Writer) bool {
	n := len(args)
	if n < 2 || args[n-1] != completionFlag || !strings.HasPrefix(args[n-2], "-") {
		return false
	}
	partial := args[n-2]
	flags := app.Flags
	if _, rest := leadingFlags(app.Flags, args[:n-2]); len(rest) > 0 {
		if cmd := app.Command(rest[0]); cmd != nil {
			flags = append(append([]cli.Flag{}, cmd.Flags...), app.Flags...)
		}
	}
	for _, f := range append(flags, cli.HelpFlag) {
		for _, name := range f.Names() {
			dashed := "--" + name
			if len(name) == 1 {
				dashed = "-" + name
			}
			if strings.HasPrefix(dashed, partial) {
				fmt.Fprintln(w, dashed)
			}
		}
	}
	return true
}
