package console

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// maxRelayedBody caps an error answer relayed from the owning node.
const maxRelayedBody = 1 << 20

// proxy sends the upgrade to node's agent, marked as forwarded, and
// splices the client to it. Any answer but 101 is relayed as it came.
func (h *Handler) proxy(ctx context.Context, w http.ResponseWriter, r *http.Request, ns, name, node string) {
	log := h.cfg.Logger.With("vm", ns+"/"+name, "node", node, "remote", r.RemoteAddr)
	addr := h.cluster.NodeHTTPAddr(node)
	if addr == "" {
		writeError(w, http.StatusBadGateway, "BadGateway", "VirtualMachine", name,
			"VM %s/%s runs on node %s, whose address is unknown", ns, name, node)
		return
	}
	owner, resp, err := h.dialOwner(ctx, r, addr, ns, name)
	if err != nil {
		writeError(w, http.StatusBadGateway, "BadGateway", "VirtualMachine", name,
			"VM %s/%s runs on node %s, which cannot be reached: %v", ns, name, node, err)
		return
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		defer owner.Close()
		relay(w, resp)
		return
	}
	conn, err := upgrade(w)
	if err != nil {
		_ = owner.Close()
		log.Warn("console upgrade failed", "err", err)
		return
	}
	log.Info("console proxied")
	splice(ctx, conn, owner)
	log.Info("console proxy ended")
}

// dialOwner connects to the owning agent and sends the forwarded upgrade.
// On success the caller owns the returned connection.
func (h *Handler) dialOwner(ctx context.Context, r *http.Request, addr, ns, name string) (*bufConn, *http.Response, error) {
	d := net.Dialer{Timeout: h.cfg.DialTimeout}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	path := "/v1/namespaces/" + url.PathEscape(ns) + "/virtualmachines/" + url.PathEscape(name) + "/console"
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		_ = c.Close()
		return nil, nil, fmt.Errorf("build request to %s: %w", addr, err)
	}
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", Protocol)
	req.Header.Set(ForwardedHeader, h.cluster.NodeName())
	if ua := r.Header.Get("User-Agent"); ua != "" {
		req.Header.Set("User-Agent", ua)
	}
	_ = c.SetDeadline(time.Now().Add(h.cfg.HandshakeTimeout))
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	br := bufio.NewReader(c)
	if err := req.Write(c); err != nil {
		_ = c.Close()
		return nil, nil, fmt.Errorf("send upgrade to %s: %w", addr, err)
	}
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		_ = c.Close()
		return nil, nil, fmt.Errorf("read answer from %s: %w", addr, err)
	}
	if resp.StatusCode == http.StatusSwitchingProtocols && !headerHasToken(resp.Header, "Upgrade", Protocol) {
		_ = c.Close()
		return nil, nil, fmt.Errorf("%s switched to %q, not %s", addr, resp.Header.Get("Upgrade"), Protocol)
	}
	if !stop() {
		_ = c.Close()
		return nil, nil, fmt.Errorf("connect to %s: %w", addr, ctx.Err())
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		_ = c.SetDeadline(time.Time{}) // an error body stays bounded by the handshake deadline
	}
	return &bufConn{Conn: c, r: br}, resp, nil
}

// relay copies the owner's error answer (a Status) to the client.
func relay(w http.ResponseWriter, resp *http.Response) {
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxRelayedBody))
	if err != nil && len(body) == 0 {
		writeError(w, http.StatusBadGateway, "BadGateway", "", "", "read the owning node's answer: %v", err)
		return
	}
	for _, k := range []string{"Content-Type", "Retry-After"} {
		if v := resp.Header.Get(k); v != "" {
			w.Header().Set(k, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(body) // the client hung up; nothing left to tell it
}

// splice copies both ways between a and b until one side ends or ctx
// does, then closes both and waits for both copiers.
func splice(ctx context.Context, a, b net.Conn) {
	var wg sync.WaitGroup
	done := make(chan struct{}, 2)
	copyTo := func(dst, src net.Conn) {
		defer wg.Done()
		_, _ = io.Copy(dst, src) // a closed or reset side ends the session like EOF
		done <- struct{}{}
	}
	wg.Add(2)
	go copyTo(a, b)
	go copyTo(b, a)
	select {
	case <-done:
	case <-ctx.Done():
	}
	_ = a.Close()
	_ = b.Close()
	wg.Wait()
}
