package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print the client's version and the version of the agent at --addr",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "client", Usage: "print only the client's version"},
		},
		Action: runVersion,
	}
}

func runVersion(c *cli.Context) error {
	fmt.Fprintf(c.App.Writer, "Client Version: %s\n", version)
	if c.Bool("client") {
		return nil
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	st, err := cl.Status(c.Context)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "Server Version: %s\n", st.Version)
	return nil
}
