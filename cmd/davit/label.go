package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"davit/agent/client"
	"davit/api"

	"github.com/urfave/cli/v2"
)

// labelCommand is kubectl's `label`: `davit label node n1 group=blue
// old-` sets group and removes old.
func labelCommand() *cli.Command {
	return &cli.Command{
		Name:      "label",
		Usage:     "set (key=value) or remove (key-) labels of an object",
		ArgsUsage: "KIND NAME KEY=VALUE... KEY-...",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "namespace", Aliases: []string{"n"}, Value: "default", Usage: "namespace of a namespaced kind"},
			&cli.BoolFlag{Name: "overwrite", Usage: "allow changing an existing label's value"},
		},
		Action: func(c *cli.Context) error {
			args := c.Args().Slice()
			if len(args) < 3 {
				return cli.Exit("error: label needs KIND NAME and at least one KEY=VALUE or KEY-", 1)
			}
			kind, ok := api.LookupKind(args[0])
			if !ok {
				return cli.Exit(fmt.Sprintf("error: the server doesn't have a resource type %q", args[0]), 1)
			}
			ns := ""
			if kind.Namespaced {
				ns = c.String("namespace")
			}
			return withClient(c, func(ctx context.Context, cl *client.Client, out io.Writer) error {
				return relabel(ctx, cl, out, kind, ns, args[1], args[2:], c.Bool("overwrite"))
			})
		},
	}
}

func relabel(ctx context.Context, cl *client.Client, out io.Writer, kind *api.Kind, ns, name string, changes []string, overwrite bool) error {
	for attempt := 0; ; attempt++ {
		obj, err := cl.Get(ctx, kind, ns, name)
		if err != nil {
			return err
		}
		if obj.Metadata.Labels == nil {
			obj.Metadata.Labels = map[string]string{}
		}
		for _, ch := range changes {
			if k, ok := strings.CutSuffix(ch, "-"); ok && !strings.Contains(ch, "=") {
				delete(obj.Metadata.Labels, k)
				continue
			}
			k, v, ok := strings.Cut(ch, "=")
			if !ok || k == "" {
				return fmt.Errorf("%q is not KEY=VALUE or KEY-", ch)
			}
			if cur, exists := obj.Metadata.Labels[k]; exists && cur != v && !overwrite {
				return fmt.Errorf("%s already has a value (%s), and --overwrite is false", k, cur)
			}
			obj.Metadata.Labels[k] = v
		}
		obj.Status = nil
		_, _, err = cl.Put(ctx, obj) // carries resourceVersion: a concurrent change conflicts
		if client.IsConflict(err) && attempt < 5 {
			continue
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%s/%s labeled\n", strings.ToLower(kind.Kind), name)
		return nil
	}
}
