package qemu

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// EscapeByte is the console escape key, Ctrl-] (as in telnet and virsh).
const EscapeByte = 0x1d

// AttachConsole connects to a VM's serial console socket and copies both
// ways between it and rw (the user's side: a hijacked HTTP connection, a
// websocket) until ctx ends, the user side ends (EOF), or the console does
// (QEMU exited). A normal end returns nil.
//
// QEMU serves one console client at a time; a second one waits (until ctx
// ends) for the first to leave. Output the guest writes while nobody is
// attached is lost.
//
// Both copying goroutines end before AttachConsole returns. To unblock a
// Read on rw that is still waiting, AttachConsole sets a past read
// deadline when rw has SetReadDeadline (and clears it after), else closes
// rw when it is an io.Closer; otherwise it waits for that Read to return.
func AttachConsole(ctx context.Context, socketPath string, rw io.ReadWriter) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", socketPath)
	if err != nil {
		return fmt.Errorf("attach console: %w", err)
	}
	var wg sync.WaitGroup
	errc := make(chan error, 2)
	wg.Add(2)
	go func() { // user -> guest
		defer wg.Done()
		_, err := io.Copy(conn, rw)
		errc <- userSideErr(err)
	}()
	go func() { // guest -> user
		defer wg.Done()
		_, err := io.Copy(rw, conn)
		errc <- err
	}()
	select {
	case err = <-errc:
	case <-ctx.Done():
	}
	_ = conn.Close()
	unblockRead(rw)
	wg.Wait()
	if dl, ok := rw.(interface{ SetReadDeadline(time.Time) error }); ok {
		_ = dl.SetReadDeadline(time.Time{})
	}
	if err != nil && !errors.Is(err, net.ErrClosed) && !errors.Is(err, ErrEscape) {
		return fmt.Errorf("console: %w", err)
	}
	return nil
}

func userSideErr(err error) error {
	if errors.Is(err, ErrEscape) || errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

func unblockRead(rw io.ReadWriter) {
	if dl, ok := rw.(interface{ SetReadDeadline(time.Time) error }); ok {
		_ = dl.SetReadDeadline(time.Unix(1, 0))
		return
	}
	if c, ok := rw.(io.Closer); ok {
		_ = c.Close()
	}
}

// AttachConsole attaches rw to this VM's serial console; see the
// package-level AttachConsole.
func (i *Instance) AttachConsole(ctx context.Context, rw io.ReadWriter) error {
	return AttachConsole(ctx, i.paths.ConsoleSocket(), rw)
}

// EscapeReader is the client side of the console escape: it passes the
// user's keystrokes through until Ctrl-] (EscapeByte) and then returns
// ErrEscape, so that `davit console` can wrap its raw-mode stdin in it and
// detach when the copy loop stops with ErrEscape. Bytes typed before the
// escape in the same read are delivered first.
type EscapeReader struct {
	r       io.Reader
	escaped bool
}

// NewEscapeReader wraps r.
func NewEscapeReader(r io.Reader) *EscapeReader { return &EscapeReader{r: r} }

// Read implements io.Reader.
func (e *EscapeReader) Read(p []byte) (int, error) {
	if e.escaped {
		return 0, ErrEscape
	}
	n, err := e.r.Read(p)
	if k := bytes.IndexByte(p[:n], EscapeByte); k >= 0 {
		e.escaped = true
		if k == 0 {
			return 0, ErrEscape
		}
		return k, nil
	}
	return n, err
}
