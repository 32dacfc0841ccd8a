package qemu

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"davit/qemu/qemutest"

	"github.com/stretchr/testify/require"
)

// fakeConsole is a console socket like QEMU's chardev server: it greets
// with a line, then echoes what it receives in upper case.
func fakeConsole(t *testing.T) (path string, drop func()) {
	path = filepath.Join(qemutest.ShortDir(t), "console.sock")
	ln, err := net.Listen("unix", path)
	require.NoError(t, err)
	var mu sync.Mutex
	var conn net.Conn
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c, err := ln.Accept()
		if err != nil {
			return
		}
		mu.Lock()
		conn = c
		mu.Unlock()
		_, _ = c.Write([]byte("DAVIT-GUEST-READY\n"))
		buf := make([]byte, 256)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			_, _ = c.Write(bytes.ToUpper(buf[:n]))
		}
	}()
	drop = func() {
		mu.Lock()
		defer mu.Unlock()
		if conn != nil {
			conn.Close()
		}
	}
	t.Cleanup(func() { ln.Close(); drop(); wg.Wait() })
	return path, drop
}

func attachAsync(ctx context.Context, path string, rw io.ReadWriter) <-chan error {
	done := make(chan error, 1)
	go func() { done <- AttachConsole(ctx, path, rw) }()
	return done
}

func waitErr(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("AttachConsole did not return")
		return nil
	}
}

// Both directions are copied; the user leaving ends the session.
func TestConsoleCopiesBothWaysAndEndsWhenUserLeaves(t *testing.T) {
	path, _ := fakeConsole(t)
	user, server := net.Pipe()
	done := attachAsync(context.Background(), path, server)
	r := bufio.NewReader(user)
	line, err := r.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "DAVIT-GUEST-READY\n", line)
	_, err = user.Write([]byte("root\n"))
	require.NoError(t, err)
	line, err = r.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "ROOT\n", line)
	user.Close()
	require.NoError(t, waitErr(t, done))
}

// QEMU exiting ends the session even while the user types nothing: the
// user side's pending Read is unblocked by a read deadline.
func TestConsoleEndsWhenGuestSideCloses(t *testing.T) {
	path, drop := fakeConsole(t)
	user, server := net.Pipe()
	defer user.Close()
	done := attachAsync(context.Background(), path, server)
	_, err := bufio.NewReader(user).ReadString('\n')
	require.NoError(t, err)
	drop()
	require.NoError(t, waitErr(t, done))
}

func TestConsoleEndsWithContext(t *testing.T) {
	path, _ := fakeConsole(t)
	user, server := net.Pipe()
	defer user.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := attachAsync(ctx, path, server)
	_, err := bufio.NewReader(user).ReadString('\n')
	require.NoError(t, err)
	cancel()
	require.NoError(t, waitErr(t, done))
}

// The CLI wraps stdin in an EscapeReader: Ctrl-] ends the session.
func TestConsoleEscape(t *testing.T) {
	path, _ := fakeConsole(t)
	pr, pw := io.Pipe()
	var out syncBuffer
	rw := struct {
		io.Reader
		io.Writer
	}{NewEscapeReader(pr), &out}
	done := attachAsync(context.Background(), path, rw)
	defer pw.Close()
	go func() { _, _ = pw.Write([]byte("ls\n")) }()
	require.Eventually(t, func() bool { return out.String() == "DAVIT-GUEST-READY\nLS\n" }, 5*time.Second, 10*time.Millisecond)
	go func() { _, _ = pw.Write([]byte("\x1dignored")) }()
	require.NoError(t, waitErr(t, done))
}

func TestEscapeReader(t *testing.T) {
	r := NewEscapeReader(strings.NewReader("ab\x1dcd"))
	b, err := io.ReadAll(r)
	require.ErrorIs(t, err, ErrEscape)
	require.Equal(t, "ab", string(b))
	_, err = r.Read(make([]byte, 4))
	require.ErrorIs(t, err, ErrEscape)

	r = NewEscapeReader(strings.NewReader("\x1d"))
	n, err := r.Read(make([]byte, 4))
	require.Zero(t, n)
	require.ErrorIs(t, err, ErrEscape)

	b, err = io.ReadAll(NewEscapeReader(strings.NewReader("plain")))
	require.NoError(t, err)
	require.Equal(t, "plain", string(b))
}

func TestConsoleNoSocket(t *testing.T) {
	err := AttachConsole(context.Background(), filepath.Join(t.TempDir(), "none.sock"), &syncBuffer{})
	require.ErrorContains(t, err, "attach console")
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Read(p []byte) (int, error) { return 0, io.EOF }

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
