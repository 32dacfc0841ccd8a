package console

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"
)

// isUpgrade reports whether r asks for the console protocol.
func isUpgrade(r *http.Request) bool {
	return headerHasToken(r.Header, "Connection", "upgrade") && headerHasToken(r.Header, "Upgrade", Protocol)
}

// headerHasToken reports whether a comma-separated header lists token
// (case-insensitively), as "Connection: keep-alive, Upgrade" does.
func headerHasToken(h http.Header, key, token string) bool {
	for _, v := range h.Values(key) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// switching is the answer that starts the raw byte stream.
const switching = "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: " + Protocol + "\r\n\r\n"

// upgrade takes the connection over from the HTTP server and answers 101.
func upgrade(w http.ResponseWriter) (*bufConn, error) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		writeError(w, http.StatusInternalServerError, "InternalError", "", "", "this server cannot upgrade connections")
		return nil, fmt.Errorf("upgrade: %T is not a Hijacker", w)
	}
	conn, brw, err := hj.Hijack()
	if err != nil {
		return nil, fmt.Errorf("upgrade: hijack: %w", err)
	}
	_ = conn.SetDeadline(time.Time{}) // the server's header timeout no longer applies
	if _, err := conn.Write([]byte(switching)); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("upgrade: write answer: %w", err)
	}
	return &bufConn{Conn: conn, r: brw.Reader}, nil
}

// bufConn is a connection whose first bytes may already sit in a
// bufio.Reader (the HTTP server's or our own response reader). It keeps
// net.Conn's deadlines and Close, which qemu.AttachConsole and splice use
// to unblock reads.
type bufConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufConn) Read(p []byte) (int, error) { return c.r.Read(p) }
