package main

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// completionFlag is the flag urfave/cli appends when the shell asks for
// completions; it must stay last.
const completionFlag = "--generate-bash-completion"

// normalizeArgs lets flags follow arguments, as kubectl users write them
// (`davit get cvi ubuntu-22.04 -w -o wide`), although urfave/cli stops
// parsing flags at the first argument. It moves a command's flags before
// its arguments, moves global flags (--addr) before the command, and
// splits kubectl's glued short forms (-ojson, -nprod). Arguments after
// "--" stay arguments.
func normalizeArgs(app *cli.App, args []string) []string {
	complete := len(args) > 0 && args[len(args)-1] == completionFlag
	if complete {
		args = args[:len(args)-1]
	}
	global, rest := leadingFlags(app.Flags, args)
	out := global
	if len(rest) > 0 {
		if cmd := app.Command(rest[0]); cmd != nil && !cmd.SkipFlagParsing {
			g, flags, positional := splitFlags(cmd.Flags, app.Flags, rest[1:])
			if wantsHelp(flags) {
				flags, positional = []string{"--help"}, nil // `get vm -h` is get's help, not a topic "vm"
			}
			out = append(append(out, g...), rest[0])
			out = append(out, flags...)
			out = append(out, positional...)
		} else {
			out = append(out, rest...)
		}
	}
	if complete {
		out = append(out, completionFlag)
	}
	return out
}

// leadingFlags splits the global flags before the command from the rest.
func leadingFlags(flags []cli.Flag, args []string) (global, rest []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" || !isFlagArg(a) {
			return global, args[i:]
		}
		global = append(global, a)
		if f := findFlag(flags, a); f != nil && takesValue(f) && !strings.Contains(a, "=") && i+1 < len(args) {
			global = append(global, args[i+1])
			i++
		}
	}
	return global, nil
}

// splitFlags sorts a command's arguments into global flags, the command's
// flags (with their values) and positional arguments.
func splitFlags(cmdFlags, globalFlags []cli.Flag, args []string) (global, flags, positional []string) {
	dashed := false // some positional argument starts with '-'
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			for _, p := range args[i+1:] {
				dashed = dashed || strings.HasPrefix(p, "-")
			}
			positional = append(positional, args[i+1:]...)
			break
		}
		if !isFlagArg(a) {
			positional = append(positional, a)
			continue
		}
		f, isGlobal := findFlag(cmdFlags, a), false
		if f == nil {
			if f = findFlag(globalFlags, a); f != nil {
				isGlobal = true
			} else if name, value, ok := splitGlued(cmdFlags, a); ok {
				flags = append(flags, name, value)
				continue
			}
		}
		group := []string{a}
		if f != nil && takesValue(f) && !strings.Contains(a, "=") && i+1 < len(args) {
			group = append(group, args[i+1])
			i++
		}
		if isGlobal {
			global = append(global, group...)
		} else {
			flags = append(flags, group...) // unknown flags too: urfave reports them
		}
	}
	if dashed {
		positional = append([]string{"--"}, positional...)
	}
	return global, flags, positional
}

func wantsHelp(flags []string) bool {
	for _, f := range flags {
		if f == "-h" || f == "--help" || f == "-help" {
			return true
		}
	}
	return false
}

func isFlagArg(a string) bool { return len(a) > 1 && a[0] == '-' }

// flagName returns the name in -x, --name or --name=value.
func flagName(a string) string {
	name := strings.TrimLeft(a, "-")
	if i := strings.IndexByte(name, '='); i >= 0 {
		name = name[:i]
	}
	return name
}

func findFlag(flags []cli.Flag, a string) cli.Flag {
	name := flagName(a)
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				return f
			}
		}
	}
	return nil
}

func takesValue(f cli.Flag) bool {
	d, ok := f.(cli.DocGenerationFlag)
	return ok && d.TakesValue()
}

// splitGlued turns "-ojson" into "-o", "json" when -o takes a value.
func splitGlued(flags []cli.Flag, a string) (name, value string, ok bool) {
	if len(a) < 3 || a[1] == '-' || strings.Contains(a, "=") {
		return "", "", false
	}
	f := findFlag(flags, a[:2])
	if f == nil || !takesValue(f) {
		return "", "", false
	}
	return a[:2], a[2:], true
}
