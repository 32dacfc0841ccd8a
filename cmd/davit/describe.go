package main

import (
	"fmt"

	"davit/api"
	"davit/printer"

	"github.com/urfave/cli/v2"
)

func describeCommand() *cli.Command {
	return &cli.Command{
		Name:      "describe",
		Usage:     "show objects in detail: spec, status and conditions",
		ArgsUsage: "KIND [NAME...] | KIND/NAME...",
		Description: "Without a name, describes every object of the kind (in the namespace, or matching -l).\n\n" +
			"Kinds: " + kindNames(),
		Flags:        []cli.Flag{namespaceFlag(), allNamespacesFlag(), selectorFlag()},
		Action:       runDescribe,
		BashComplete: completeObjects,
	}
}

func runDescribe(c *cli.Context) error {
	targets, err := parseTargets(c, "describe")
	if err != nil {
		return err
	}
	if err := checkNamedAcrossNamespaces(c, targets); err != nil {
		return err
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	results, soft, err := fetch(c, cl, targets)
	if err != nil {
		return err
	}
	var objs []*api.Object
	var kinds []*api.Kind
	for _, r := range results {
		objs = append(objs, r.objs...)
		kinds = append(kinds, r.kind)
	}
	for i, o := range objs {
		if i > 0 {
			fmt.Fprintln(c.App.Writer)
		}
		if err := printer.Describe(c.App.Writer, o); err != nil {
			return err
		}
	}
	for _, e := range soft {
		printError(c.App.ErrWriter, e)
	}
	if len(soft) > 0 {
		return errSilent
	}
	if len(objs) == 0 {
		noResources(c, kinds)
	}
	return nil
}
