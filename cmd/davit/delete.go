package main

import (
	"context"
	"fmt"
	"strings"

	"davit/agent/client"
	"davit/api"

	"github.com/urfave/cli/v2"
)

func deleteCommand() *cli.Command {
	return &cli.Command{
		Name:      "delete",
		Usage:     "delete objects by name, by label, or as listed in manifests",
		ArgsUsage: "KIND NAME... | KIND/NAME... | KIND --all | KIND -l SELECTOR | -f FILE",
		Description: "An object with finalizers stays, marked for deletion, until its controllers let go; with\n" +
			"--wait (the default) delete waits for that.",
		Flags: []cli.Flag{
			namespaceFlag(), selectorFlag(),
			filenameFlag("delete the objects of manifest `FILE` (- for stdin, repeatable)"),
			&cli.BoolFlag{Name: "all", Usage: "delete every object of the kind (in the namespace)"},
			&cli.BoolFlag{Name: "ignore-not-found", Usage: "treat a missing object as deleted"},
			&cli.BoolFlag{Name: "wait", Value: true, Usage: "wait until objects with finalizers are gone"},
		},
		Action:       runDelete,
		BashComplete: completeObjects,
	}
}

// victim is one object to delete.
type victim struct {
	kind      *api.Kind
	namespace string
	name      string
}

func runDelete(c *cli.Context) error {
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	victims, err := victims(c, cl)
	if err != nil {
		return err
	}
	failed := false
	for _, v := range victims {
		if c.Context.Err() != nil {
			return c.Context.Err()
		}
		if err := deleteOne(c, cl, v); err != nil {
			printError(c.App.ErrWriter, err)
			failed = true
		}
	}
	if failed {
		return errSilent
	}
	return nil
}

// victims resolves the command line into objects.
func victims(c *cli.Context, cl *client.Client) ([]victim, error) {
	if len(c.StringSlice("filename")) > 0 {
		if c.NArg() > 0 {
			return nil, usageError(c, "give either -f or KIND NAME, not both")
		}
		objs, err := readManifests(c)
		if err != nil {
			return nil, err
		}
		var out []victim
		for _, o := range objs {
			k, _ := api.LookupKind(o.Kind) // readManifests checked the kind
			out = append(out, victim{k, o.Metadata.Namespace, o.Metadata.Name})
		}
		return out, nil
	}
	targets, err := parseTargets(c, "delete")
	if err != nil {
		return nil, err
	}
	var out []victim
	for _, t := range targets {
		vs, err := targetVictims(c, cl, t)
		if err != nil {
			return nil, err
		}
		out = append(out, vs...)
	}
	return out, nil
}

func targetVictims(c *cli.Context, cl *client.Client, t target) ([]victim, error) {
	ns := namespaceOf(c, t.kind)
	bulk := c.Bool("all") || c.String("selector") != ""
	switch {
	case len(t.names) > 0 && bulk:
		return nil, usageError(c, "names cannot be combined with --all or --selector")
	case len(t.names) > 0:
		var out []victim
		for _, n := range t.names {
			out = append(out, victim{t.kind, ns, n})
		}
		return out, nil
	case !bulk:
		return nil, usageError(c, "resource(s) were provided, but no name was specified (use --all to delete every %s)", t.kind.Singular)
	}
	l, err := cl.List(c.Context, t.kind, ns, c.String("selector"), false)
	if err != nil {
		return nil, err
	}
	var out []victim
	for _, o := range l.Items {
		out = append(out, victim{t.kind, o.Metadata.Namespace, o.Metadata.Name})
	}
	if len(out) == 0 {
		noResources(c, []*api.Kind{t.kind})
	}
	return out, nil
}

// deleteOne deletes an object, prints `kind "name" deleted`, and waits
// for its finalizers when asked.
func deleteOne(c *cli.Context, cl *client.Client, v victim) error {
	obj, err := cl.Delete(c.Context, v.kind, v.namespace, v.name)
	if client.IsNotFound(err) && c.Bool("ignore-not-found") {
		return nil
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "%s %q deleted\n", strings.ToLower(v.kind.Kind), v.name)
	if obj.Metadata.DeletionTimestamp == nil || !c.Bool("wait") {
		return nil
	}
	return waitGone(c, cl, v, obj.Metadata.ResourceVersion)
}

// waitGone returns once the object is deleted for good.
func waitGone(c *cli.Context, cl *client.Client, v victim, rv string) error {
	ctx, cancel := context.WithCancel(c.Context)
	defer cancel() // stops the watch
	events, err := cl.Watch(ctx, v.kind, v.namespace, v.name, "", rv)
	if err != nil {
		return fmt.Errorf("wait for %s %q to go: %w", v.kind.Singular, v.name, err)
	}
	if _, err := cl.Get(ctx, v.kind, v.namespace, v.name); client.IsNotFound(err) {
		return nil // gone before the watch began
	}
	for ev := range events {
		switch ev.Type {
		case client.Deleted:
			return nil
		case client.Error:
			return fmt.Errorf("wait for %s %q to go: %w", v.kind.Singular, v.name, ev.Err)
		}
	}
	return c.Context.Err()
}
