package raftstore

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// newTransport is raft.NewTCPTransport with a stream layer that owns the
// connections it accepts. raft's TCP layer leaves accepted connections (and
// the goroutine serving each) open after Close until the peer hangs up; ours
// closes them, so Store.Close can wait for those goroutines.
func newTransport(cfg Config, hl hclog.Logger) (*raft.NetworkTransport, *streamLayer, error) {
	var advertise net.Addr
	if cfg.AdvertiseAddr != "" {
		a, err := net.ResolveTCPAddr("tcp", cfg.AdvertiseAddr)
		if err != nil {
			return nil, nil, fmt.Errorf("resolve AdvertiseAddr %q: %w", cfg.AdvertiseAddr, err)
		}
		advertise = a
	}
	ln, err := net.Listen("tcp", cfg.RaftAddr)
	if err != nil {
		return nil, nil, fmt.Errorf("listen for raft on %s: %w", cfg.RaftAddr, err)
	}
	layer := &streamLayer{ln: ln.(*net.TCPListener), advertise: advertise,
		conns: map[*acceptedConn]struct{}{}, acceptEnded: make(chan struct{})}
	if a, ok := layer.Addr().(*net.TCPAddr); !ok || a.IP == nil || a.IP.IsUnspecified() {
		_ = ln.Close() // the bind error is what matters
		return nil, nil, fmt.Errorf("raft address %s is not one peers can dial: set AdvertiseAddr: %w",
			layer.Addr(), ErrInvalidConfig)
	}
	trans := raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream: layer, MaxPool: 3, Timeout: cfg.TransportTimeout, Logger: hl.Named("transport"),
	})
	return trans, layer, nil
}

// streamLayer implements raft.StreamLayer over TCP.
type streamLayer struct {
	ln        *net.TCPListener
	advertise net.Addr

	mu          sync.Mutex
	conns       map[*acceptedConn]struct{}
	closed      bool
	handlers    sync.WaitGroup // one per accepted connection until raft closes it
	acceptEnded chan struct{}  // closed when Accept fails after Close
	acceptOnce  sync.Once
}

var _ raft.StreamLayer = (*streamLayer)(nil)

// Dial implements raft.StreamLayer.
func (l *streamLayer) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	return net.DialTimeout("tcp", string(addr), timeout)
}

// Accept implements net.Listener. Raft serves each connection in a goroutine
// of its own that closes the connection when it returns.
func (l *streamLayer) Accept() (net.Conn, error) {
	c, err := l.ln.Accept()
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil || l.closed {
		if l.closed {
			l.acceptOnce.Do(func() { close(l.acceptEnded) })
		}
		if err == nil {
			err = errors.Join(net.ErrClosed, c.Close())
		}
		return nil, err
	}
	ac := &acceptedConn{Conn: c, l: l}
	l.conns[ac] = struct{}{}
	l.handlers.Add(1)
	return ac, nil
}

// Close implements net.Listener: it stops accepting and closes every
// accepted connection, which ends the goroutines serving them.
func (l *streamLayer) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	conns := make([]*acceptedConn, 0, len(l.conns))
	for c := range l.conns {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	err := l.ln.Close()
	for _, c := range conns {
		_ = c.Conn.Close() // only to interrupt the reader; its own Close follows
	}
	return err
}

// Addr implements net.Listener: the advertised address.
func (l *streamLayer) Addr() net.Addr {
	if l.advertise != nil {
		return l.advertise
	}
	return l.ln.Addr()
}

// wait waits, after Close, for the accept loop and every connection's
// goroutine to end, at most d.
func (l *streamLayer) wait(d time.Duration) bool {
	done := make(chan struct{})
	go func() {
		l.handlers.Wait()
		<-l.acceptEnded
		close(done)
	}()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

// acceptedConn is closed by raft's handler goroutine as it returns.
type acceptedConn struct {
	net.Conn
	l    *streamLayer
	once sync.Once
}

func (c *acceptedConn) Close() error {
	err := net.ErrClosed
	c.once.Do(func() {
		c.l.mu.Lock()
		delete(c.l.conns, c)
		c.l.mu.Unlock()
		err = c.Conn.Close()
		c.l.handlers.Done()
	})
	return err
}
