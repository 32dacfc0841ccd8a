package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// ConsoleProtocol is the Upgrade token of the console endpoint.
const ConsoleProtocol = "davit-console"

// Console opens the serial console of VM namespace/name: it sends the
// upgrade (Connection: Upgrade, Upgrade: davit-console) and returns the
// raw byte stream once the agent answers 101. Any other answer comes back
// as *APIError (404 no such VM, 409 not running, 502 its node is
// unreachable). Closing the stream detaches; so does the end of ctx,
// which bounds the whole session.
func (c *Client) Console(ctx context.Context, namespace, name string) (io.ReadWriteCloser, error) {
	if name == "" || namespace == "" {
		return nil, fmt.Errorf("console: a namespace and a VM name are required")
	}
	path := "/v1/namespaces/" + url.PathEscape(namespace) + "/virtualmachines/" + url.PathEscape(name) + "/console"
	u := c.base.String() + path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("console %s/%s: %w", namespace, name, err)
	}
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", ConsoleProtocol)
	req.Header.Set("User-Agent", c.userAgent)
	resp, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error // it would repeat the method and URL
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("console %s/%s: GET %s: %w", namespace, name, u, err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody)) // a short body still says something
		return nil, decodeError(resp.StatusCode, b)
	}
	if !strings.EqualFold(resp.Header.Get("Upgrade"), ConsoleProtocol) {
		_ = resp.Body.Close()
		return nil, fmt.Errorf("console %s/%s: the agent switched to %q, not %s", namespace, name,
			resp.Header.Get("Upgrade"), ConsoleProtocol)
	}
	rwc, ok := resp.Body.(io.ReadWriteCloser)
	if !ok {
		_ = resp.Body.Close()
		return nil, fmt.Errorf("console %s/%s: the HTTP client returned a read-only stream (%T)", namespace, name, resp.Body)
	}
	s := &consoleStream{ReadWriteCloser: rwc}
	s.stop = context.AfterFunc(ctx, func() { _ = rwc.Close() })
	return s, nil
}

// consoleStream closes the upgraded connection when its context ends.
type consoleStream struct {
	io.ReadWriteCloser
	stop func() bool
}

func (s *consoleStream) Close() error {
	s.stop()
	return s.ReadWriteCloser.Close()
}
