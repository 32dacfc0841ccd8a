package main

import (
	"fmt"
	"time"

	"davit/agent/client"
	"davit/api"
	"davit/printer"

	"github.com/urfave/cli/v2"
)

func getCommand() *cli.Command {
	return &cli.Command{
		Name:      "get",
		Usage:     "list objects, or show some by name",
		ArgsUsage: "KIND[,KIND...] [NAME...] | KIND/NAME...",
		Description: "Prints a table of the kind's columns (more with -o wide), or the objects as json, yaml, names\n" +
			"or a JSONPath template. -w prints every later change as a new line.\n\n" +
			"Kinds: " + kindNames(),
		Flags: []cli.Flag{
			namespaceFlag(), allNamespacesFlag(), selectorFlag(),
			&cli.StringFlag{Name: "output", Aliases: []string{"o"},
				Usage: "`FORMAT`: wide, json, yaml, name or jsonpath=TEMPLATE"},
			&cli.BoolFlag{Name: "watch", Aliases: []string{"w"}, Usage: "after listing, print every change until interrupted"},
			&cli.BoolFlag{Name: "no-headers", Usage: "print tables without their header"},
		},
		Action:       runGet,
		BashComplete: completeObjects,
	}
}

// found is what one kind's request returned.
type found struct {
	kind *api.Kind
	objs []*api.Object
}

func runGet(c *cli.Context) error {
	targets, err := parseTargets(c, "get")
	if err != nil {
		return err
	}
	if err := checkNamedAcrossNamespaces(c, targets); err != nil {
		return err
	}
	format, err := printer.ParseFormat(c.String("output"))
	if err != nil {
		return err
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	if c.Bool("watch") {
		return watch(c, cl, targets, format)
	}
	results, errs, err := fetch(c, cl, targets)
	if err != nil {
		return err
	}
	if err := printFound(c, targets, results, format); err != nil {
		return err
	}
	for _, e := range errs {
		printError(c.App.ErrWriter, e)
	}
	if len(errs) > 0 {
		return errSilent
	}
	return nil
}

// fetch lists or reads every target. A missing named object is a soft
// error (the others still print); anything else stops.
func fetch(c *cli.Context, cl *client.Client, targets []target) (results []found, soft []error, err error) {
	for _, t := range targets {
		ns := namespaceOf(c, t.kind)
		r := found{kind: t.kind}
		if len(t.names) == 0 {
			l, err := cl.List(c.Context, t.kind, ns, c.String("selector"), c.Bool("all-namespaces"))
			if err != nil {
				return nil, nil, err
			}
			r.objs = l.Items
		}
		for _, name := range t.names {
			obj, err := cl.Get(c.Context, t.kind, c.String("namespace"), name)
			if client.IsNotFound(err) {
				soft = append(soft, err)
				continue
			}
			if err != nil {
				return nil, nil, err
			}
			r.objs = append(r.objs, obj)
		}
		results = append(results, r)
	}
	return results, soft, nil
}

func printFound(c *cli.Context, targets []target, results []found, format printer.Format) error {
	var all []*api.Object
	var kinds []*api.Kind
	for _, r := range results {
		all = append(all, r.objs...)
		kinds = append(kinds, r.kind)
	}
	named := false
	for _, t := range targets {
		named = named || len(t.names) > 0
	}
	if len(all) == 0 && !named && (format.IsTable() || format.Type == printer.Name) {
		noResources(c, kinds)
		return nil
	}
	if !format.IsTable() {
		p := printer.NewPrinter(c.App.Writer, format)
		if len(targets) == 1 && len(targets[0].names) == 1 && len(all) == 1 {
			return p.PrintObject(all[0])
		}
		if len(all) == 0 && named {
			return nil // only errors to show
		}
		return p.PrintList(all)
	}
	return printTables(c, results, format, len(results) > 1)
}

// printTables prints one table per kind that has objects, separated by a
// blank line.
func printTables(c *cli.Context, results []found, format printer.Format, withKind bool) error {
	first := true
	for _, r := range results {
		if len(r.objs) == 0 {
			continue
		}
		if !first {
			fmt.Fprintln(c.App.Writer)
		}
		first = false
		tp, err := newTable(c, r.kind, format, withKind)
		if err != nil {
			return err
		}
		if err := tp.Print(r.objs...); err != nil {
			return err
		}
	}
	return nil
}

func newTable(c *cli.Context, k *api.Kind, format printer.Format, withKind bool) (*printer.TablePrinter, error) {
	return printer.NewTable(c.App.Writer, k, printer.TableOptions{
		Wide: format.Type == printer.Wide, NoHeaders: c.Bool("no-headers"),
		AllNamespaces: c.Bool("all-namespaces"), WithKind: withKind, Now: time.Now})
}

// watch prints the current objects, then every change, until the context
// ends (Ctrl-C).
func watch(c *cli.Context, cl *client.Client, targets []target, format printer.Format) error {
	if len(targets) != 1 {
		return usageError(c, "you may only specify a single resource type with --watch")
	}
	t := targets[0]
	if len(t.names) > 1 {
		return usageError(c, "watch is only supported on a single object or a whole kind, but %d names were given", len(t.names))
	}
	initial, rv, err := watchStart(c, cl, t)
	if err != nil {
		return err
	}
	emit, err := watchPrinter(c, t.kind, format)
	if err != nil {
		return err
	}
	if len(initial) > 0 {
		if err := emit(initial...); err != nil {
			return err
		}
	}
	name := ""
	if len(t.names) == 1 {
		name = t.names[0]
	}
	events, err := cl.Watch(c.Context, t.kind, namespaceOf(c, t.kind), name, c.String("selector"), rv)
	if err != nil {
		return err
	}
	for ev := range events {
		if ev.Type == client.Error {
			return ev.Err
		}
		if err := emit(ev.Object); err != nil {
			return err
		}
	}
	return nil // interrupted
}

// watchStart reads what a watch starts from and the version it starts at.
func watchStart(c *cli.Context, cl *client.Client, t target) ([]*api.Object, string, error) {
	if len(t.names) == 1 {
		obj, err := cl.Get(c.Context, t.kind, c.String("namespace"), t.names[0])
		if err != nil {
			return nil, "", err
		}
		return []*api.Object{obj}, obj.Metadata.ResourceVersion, nil
	}
	l, err := cl.List(c.Context, t.kind, namespaceOf(c, t.kind), c.String("selector"), c.Bool("all-namespaces"))
	if err != nil {
		return nil, "", err
	}
	return l.Items, l.Metadata.ResourceVersion, nil
}

// watchPrinter returns a function printing objects as rows of one table
// (header first, widths kept) or one by one in another format.
func watchPrinter(c *cli.Context, k *api.Kind, format printer.Format) (func(...*api.Object) error, error) {
	if format.IsTable() {
		tp, err := newTable(c, k, format, false)
		if err != nil {
			return nil, err
		}
		return tp.Print, nil
	}
	p := printer.NewPrinter(c.App.Writer, format)
	return func(objs ...*api.Object) error {
		for _, o := range objs {
			if err := p.PrintObject(o); err != nil {
				return err
			}
		}
		return nil
	}, nil
}
