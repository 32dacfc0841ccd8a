package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"davit/qemu"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"
)

func consoleCommand() *cli.Command {
	return &cli.Command{
		Name:      "console",
		Usage:     "attach to a VM's serial console (detach with Ctrl-])",
		ArgsUsage: "[vm] NAME",
		Description: "Connects the terminal to the serial console of VM NAME, on whichever node runs it.\n" +
			"The terminal is in raw mode while attached: every key goes to the guest. Ctrl-] detaches.",
		Flags:  []cli.Flag{namespaceFlag()},
		Action: consoleAction,
	}
}

// consoleTarget reads `console NAME`, `console vm NAME` and `console vm/NAME`.
func consoleTarget(c *cli.Context) (string, error) {
	args := c.Args().Slice()
	if len(args) == 1 && strings.Contains(args[0], "/") {
		args = strings.SplitN(args[0], "/", 2)
	}
	switch len(args) {
	case 1:
		if args[0] != "" {
			return args[0], nil
		}
	case 2:
		k, err := lookupKind(args[0])
		if err != nil {
			return "", err
		}
		if k.Kind != "VirtualMachine" {
			return "", usageError(c, "console works on VMs only, not %s", k.Plural)
		}
		if args[1] != "" {
			return args[1], nil
		}
	}
	return "", usageError(c, "console needs one VM name: davit console vm NAME")
}

func consoleAction(c *cli.Context) error {
	name, err := consoleTarget(c)
	if err != nil {
		return err
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	stream, err := cl.Console(c.Context, c.String("namespace"), name)
	if err != nil {
		return err
	}
	defer stream.Close()
	fmt.Fprintf(c.App.ErrWriter, "Connected to vm %s (escape: Ctrl-])\n", name)
	restore, err := rawTerminal(c.App.Reader)
	if err != nil {
		return err
	}
	defer restore()
	return pipeConsole(stream, c.App.Reader, c.App.Writer)
}

// rawTerminal puts stdin in raw mode when it is a terminal, so that every
// key (Ctrl-C too) reaches the guest. The returned func restores it.
func rawTerminal(in io.Reader) (restore func(), err error) {
	f, ok := in.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return func() {}, nil
	}
	old, err := term.MakeRaw(int(f.Fd()))
	if err != nil {
		return nil, fmt.Errorf("set terminal raw mode: %w", err)
	}
	return func() { _ = term.Restore(int(f.Fd()), old) }, nil
}

// pipeConsole copies in (through the escape reader) to the console and the
// console to out, until the user types Ctrl-], in ends, or the console
// does (the VM stopped, the agent went away). Detaching is not an error.
//
// Both copiers are waited for, except a read of in that cannot be
// interrupted (a terminal or an inherited pipe has no deadline): that
// goroutine ends with the process, which exits right after the command.
func pipeConsole(stream io.ReadWriteCloser, in io.Reader, out io.Writer) error {
	var wg sync.WaitGroup
	toGuest, fromGuest := make(chan error, 1), make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, err := io.Copy(stream, qemu.NewEscapeReader(in))
		toGuest <- err
	}()
	go func() {
		_, err := io.Copy(out, stream)
		fromGuest <- err
	}()
	var err error
	select {
	case err = <-toGuest:
		_ = stream.Close()
		<-fromGuest // the closed stream ends it
		if errors.Is(err, qemu.ErrEscape) {
			err = nil
		}
	case err = <-fromGuest:
		_ = stream.Close()
		if dl, ok := in.(interface{ SetReadDeadline(time.Time) error }); ok && dl.SetReadDeadline(time.Unix(1, 0)) == nil {
			wg.Wait()
			_ = dl.SetReadDeadline(time.Time{})
		}
	}
	if err != nil && !isClosed(err) {
		return fmt.Errorf("console: %w", err)
	}
	return nil
}

// isClosed reports the errors of a connection we or the agent closed.
func isClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrDeadlineExceeded) ||
		errors.Is(err, syscall.ECONNRESET)
}
