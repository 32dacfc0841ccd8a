// Command davit is the davit agent (`davit agent`) and the admin CLI that
// talks to it over HTTP, with kubectl's grammar: `davit get vm -w`,
// `davit apply -f -`, `davit describe cvi ubuntu-22.04`.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"davit/agent/client"

	"github.com/urfave/cli/v2"
)

// version is the client's version, set at build time with
// -ldflags "-X main.version=v1.2.3".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // a second Ctrl-C kills at once
	}()
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one command line (without the program name) and returns
// the exit status. Everything it prints goes to stdout and stderr.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	app := newApp(stdin, stdout, stderr)
	if completeFlags(app, args, stdout) {
		return 0
	}
	err := app.RunContext(ctx, append([]string{app.Name}, normalizeArgs(app, args)...))
	return report(stderr, err)
}

func newApp(stdin io.Reader, stdout, stderr io.Writer) *cli.App {
	app := &cli.App{
		Name:                 "davit",
		Usage:                "run and manage a davit virtualization cluster",
		Version:              version,
		HideVersion:          true, // `davit version` says more
		Reader:               stdin,
		Writer:               stdout,
		ErrWriter:            stderr,
		EnableBashCompletion: true,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "addr", EnvVars: []string{"DAVIT_ADDR"}, Value: client.DefaultAddr,
				Usage: "address of any agent of the cluster (`URL` or host:port)"},
		},
		Commands: append([]*cli.Command{
			applyCommand(), getCommand(), describeCommand(), deleteCommand(),
			statusCommand(), versionCommand(), completionCommand(), agentCommand(),
			uploadCommand(), consoleCommand(),
		}, clusterCommands()...),
		Action:         rootAction,
		BashComplete:   rootComplete,
		ExitErrHandler: func(*cli.Context, error) {}, // run reports errors and picks the exit code
		OnUsageError:   onUsageError,
	}
	for _, c := range app.Commands {
		if c.OnUsageError == nil {
			c.OnUsageError = onUsageError
		}
	}
	return app
}

// rootAction shows the help, or rejects an unknown command.
func rootAction(c *cli.Context) error {
	if c.NArg() > 0 {
		return usageError(c, "unknown command %q for %q", c.Args().First(), c.App.Name)
	}
	return cli.ShowAppHelp(c)
}

// rootComplete lists the commands (urfave's default reads os.Args).
func rootComplete(c *cli.Context) {
	for _, cmd := range c.App.VisibleCommands() {
		for _, n := range cmd.Names() {
			fmt.Fprintln(c.App.Writer, n)
		}
	}
}
