package main

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"syscall"

	"davit/agent/client"
	"davit/api"

	"github.com/urfave/cli/v2"
)

// Flags shared by several commands.
func namespaceFlag() cli.Flag {
	return &cli.StringFlag{Name: "namespace", Aliases: []string{"n"}, Value: "default",
		Usage: "the `NAMESPACE` of namespaced kinds"}
}

func allNamespacesFlag() cli.Flag {
	return &cli.BoolFlag{Name: "all-namespaces", Aliases: []string{"A"},
		Usage: "every namespace (ignores --namespace)"}
}

func selectorFlag() cli.Flag {
	return &cli.StringFlag{Name: "selector", Aliases: []string{"l"},
		Usage: "label `SELECTOR`: a=b,c!=d,e in (x,y),!f"}
}

func filenameFlag(usage string) cli.Flag {
	return &cli.StringSliceFlag{Name: "filename", Aliases: []string{"f"}, Usage: usage}
}

// newClient connects to the agent named by --addr / DAVIT_ADDR.
func newClient(c *cli.Context) (*client.Client, error) {
	return client.New(c.String("addr"), client.WithUserAgent("davit/"+version))
}

// target is a kind and the names asked for (none: all of them).
type target struct {
	kind  *api.Kind
	names []string
}

// parseTargets reads kubectl's forms: KIND [NAME...], KIND,KIND [NAME...]
// and KIND/NAME....
func parseTargets(c *cli.Context, verb string) ([]target, error) {
	args := c.Args().Slice()
	if len(args) == 0 {
		return nil, usageError(c, "you must specify the type of resource to %s; one of: %s", verb, kindNames())
	}
	if strings.Contains(args[0], "/") {
		return slashTargets(args)
	}
	for _, name := range args[1:] {
		if strings.Contains(name, "/") {
			return nil, fmt.Errorf("there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (e.g. 'davit %s vm/linux-vm' instead of 'davit %s vm vm/linux-vm')", verb, verb)
		}
	}
	var out []target
	for _, name := range strings.Split(args[0], ",") {
		k, err := lookupKind(name)
		if err != nil {
			return nil, err
		}
		out = append(out, target{kind: k, names: args[1:]})
	}
	return out, nil
}

func slashTargets(args []string) ([]target, error) {
	var out []target
	for _, a := range args {
		kindName, name, ok := strings.Cut(a, "/")
		if !ok || name == "" || strings.Contains(name, "/") {
			return nil, fmt.Errorf("arguments in resource/name form must have a single resource and name, not %q", a)
		}
		k, err := lookupKind(kindName)
		if err != nil {
			return nil, err
		}
		if n := len(out); n > 0 && out[n-1].kind.Kind == k.Kind {
			out[n-1].names = append(out[n-1].names, name)
			continue
		}
		out = append(out, target{kind: k, names: []string{name}})
	}
	return out, nil
}

func lookupKind(name string) (*api.Kind, error) {
	k, ok := api.LookupKind(name)
	if !ok {
		return nil, fmt.Errorf("the server doesn't have a resource type %q", name)
	}
	return k, nil
}

// kindNames lists every kind with its short names, for messages and
// completion.
func kindNames() string {
	var names []string
	for _, k := range api.Kinds() {
		n := k.Singular
		if len(k.ShortNames) > 0 {
			n += " (" + strings.Join(k.ShortNames, ", ") + ")"
		}
		names = append(names, n)
	}
	return strings.Join(names, ", ")
}

// checkNamedAcrossNamespaces rejects names with --all-namespaces, as
// kubectl does: a name is unique only within its namespace.
func checkNamedAcrossNamespaces(c *cli.Context, targets []target) error {
	for _, t := range targets {
		if len(t.names) > 0 && t.kind.Namespaced && c.Bool("all-namespaces") {
			return fmt.Errorf("a resource cannot be retrieved by name across all namespaces")
		}
	}
	return nil
}

// namespaceOf is the namespace a command addresses for a kind: "" for
// cluster-scoped kinds and with --all-namespaces.
func namespaceOf(c *cli.Context, k *api.Kind) string {
	if !k.Namespaced || c.Bool("all-namespaces") {
		return ""
	}
	return c.String("namespace")
}

// noResources prints kubectl's message for an empty result.
func noResources(c *cli.Context, kinds []*api.Kind) {
	for _, k := range kinds {
		if k.Namespaced && !c.Bool("all-namespaces") {
			fmt.Fprintf(c.App.ErrWriter, "No resources found in %s namespace.\n", c.String("namespace"))
			return
		}
	}
	fmt.Fprintln(c.App.ErrWriter, "No resources found")
}

// errSilent ends a command with status 1 after it has printed its errors.
var errSilent = errors.New("errors were printed")

// usageErr is a mistake on the command line.
type usageErr struct {
	command string
	msg     string
}

func (e *usageErr) Error() string { return e.msg }

func usageError(c *cli.Context, format string, args ...any) error {
	return &usageErr{command: commandPath(c), msg: fmt.Sprintf(format, args...)}
}

func onUsageError(c *cli.Context, err error, _ bool) error {
	return &usageErr{command: commandPath(c), msg: err.Error()}
}

// commandPath is "get" for `davit get`, "" for davit itself.
func commandPath(c *cli.Context) string {
	if c.Command == nil || c.Command.Name == c.App.Name {
		return ""
	}
	return c.Command.FullName()
}

// report prints err as kubectl would and returns the exit status.
func report(stderr io.Writer, err error) int {
	var exit cli.ExitCoder
	var usage *usageErr
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errSilent):
		return 1
	case errors.As(err, &usage):
		help := "davit --help"
		if usage.command != "" {
			help = "davit " + usage.command + " --help"
		}
		fmt.Fprintf(stderr, "error: %s\nSee '%s' for usage.\n", usage.msg, help)
		return 1
	case errors.As(err, &exit):
		if msg := err.Error(); msg != "" {
			fmt.Fprintln(stderr, msg)
		}
		return exit.ExitCode()
	}
	printError(stderr, err)
	return 1
}

// printError prints one error: "Error from server (Reason): message" with
// the field errors below it, or "error: message".
func printError(w io.Writer, err error) {
	var apiErr *client.APIError
	var manifest manifestErrors
	switch {
	case errors.As(err, &manifest):
		for _, e := range manifest {
			fmt.Fprintf(w, "error: %v\n", e)
		}
	case errors.As(err, &apiErr):
		fmt.Fprintf(w, "Error from server (%s): %s\n", apiErr.Reason, apiErr.Error())
	case errors.Is(err, syscall.ECONNREFUSED):
		fmt.Fprintf(w, "error: %v\nIs the agent running? Point --addr or DAVIT_ADDR at one.\n", err)
	default:
		fmt.Fprintf(w, "error: %v\n", err)
	}
}

// sortedKeys returns a map's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
