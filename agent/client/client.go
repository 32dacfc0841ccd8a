package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"davit/api"
)

// DefaultAddr is where the CLI looks for an agent.
const DefaultAddr = "http://127.0.0.1:9640"

// maxErrorBody caps how much of an error response is read.
const maxErrorBody = 1 << 20

// Client talks to one davit agent. It is safe for concurrent use.
type Client struct {
	base      *url.URL
	http      *http.Client
	userAgent string
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client (timeouts, TLS, transport). Do not
// give it a Timeout if you watch: a watch lasts as long as its context.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.http = hc } }

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// New returns a client of the agent at baseURL: "http://host:port", or
// just "host:port".
func New(baseURL string, opts ...Option) (*Client, error) {
	raw := strings.TrimSpace(baseURL)
	if raw == "" {
		raw = DefaultAddr
	}
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("agent address %q: %w", baseURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("agent address %q: scheme must be http or https", baseURL)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("agent address %q: no host", baseURL)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	c := &Client{base: u, http: http.DefaultClient, userAgent: "davit"}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// BaseURL is the agent's address as the client uses it.
func (c *Client) BaseURL() string { return c.base.String() }

// Result says what a Put did.
type Result string

// Put results, as `davit apply` prints them.
const (
	Created    Result = "created"
	Configured Result = "configured"
	Unchanged  Result = "unchanged"
)

// List is a list response.
type List struct {
	APIVersion string        `json:"apiVersion"`
	Kind       string        `json:"kind"`
	Metadata   ListMeta      `json:"metadata"`
	Items      []*api.Object `json:"items"`
}

// ListMeta carries the resourceVersion a list was read at; a watch from
// it sees every later change.
type ListMeta struct {
	ResourceVersion string `json:"resourceVersion"`
}

// Path returns the URL path of a kind's collection (name "") or of one
// object. A namespaced kind with namespace "" addresses every namespace.
func Path(kind *api.Kind, namespace, name string) string {
	p := "/v1/" + kind.Plural
	if kind.Namespaced && namespace != "" {
		p = "/v1/namespaces/" + url.PathEscape(namespace) + "/" + kind.Plural
	}
	if name != "" {
		p += "/" + url.PathEscape(name)
	}
	return p
}

// Get reads one object.
func (c *Client) Get(ctx context.Context, kind *api.Kind, namespace, name string) (*api.Object, error) {
	if err := checkName(kind, namespace, name); err != nil {
		return nil, err
	}
	var obj api.Object
	if err := c.doJSON(ctx, http.MethodGet, Path(kind, namespace, name), nil, &obj); err != nil {
		return nil, err
	}
	return &obj, nil
}

// List reads the objects of a kind in a namespace (every namespace with
// allNamespaces, or for cluster-scoped kinds) that match a label selector
// ("" matches all).
func (c *Client) List(ctx context.Context, kind *api.Kind, namespace, selector string, allNamespaces bool) (*List, error) {
	if allNamespaces {
		namespace = ""
	}
	p := Path(kind, namespace, "")
	if selector != "" {
		p += "?" + url.Values{"labelSelector": {selector}}.Encode()
	}
	var l List
	if err := c.doJSON(ctx, http.MethodGet, p, nil, &l); err != nil {
		return nil, err
	}
	return &l, nil
}

// Put creates or updates an object (kind, namespace and name from obj).
// A metadata.resourceVersion in obj is a precondition.
func (c *Client) Put(ctx context.Context, obj *api.Object) (*api.Object, Result, error) {
	kind, ok := api.LookupKind(obj.Kind)
	if !ok {
		return nil, "", fmt.Errorf("put: unknown kind %q", obj.Kind)
	}
	m := obj.Metadata
	if err := checkName(kind, m.Namespace, m.Name); err != nil {
		return nil, "", err
	}
	body, err := json.Marshal(obj)
	if err != nil {
		return nil, "", fmt.Errorf("put %s %q: encode: %w", obj.Kind, m.Name, err)
	}
	resp, err := c.Do(ctx, http.MethodPut, Path(kind, m.Namespace, m.Name), bytes.NewReader(body))
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	var stored api.Object
	if err := decodeBody(resp, &stored); err != nil {
		return nil, "", err
	}
	res := Result(resp.Header.Get("X-Davit-Result"))
	if res == "" {
		res = Configured
		if resp.StatusCode == http.StatusCreated {
			res = Created
		}
	}
	return &stored, res, nil
}

// Delete deletes an object and returns it as it is after the request: an
// object with finalizers carries a deletionTimestamp and stays until they
// are removed.
func (c *Client) Delete(ctx context.Context, kind *api.Kind, namespace, name string) (*api.Object, error) {
	if err := checkName(kind, namespace, name); err != nil {
		return nil, err
	}
	var obj api.Object
	if err := c.doJSON(ctx, http.MethodDelete, Path(kind, namespace, name), nil, &obj); err != nil {
		return nil, err
	}
	return &obj, nil
}

func checkName(kind *api.Kind, namespace, name string) error {
	if name == "" {
		return fmt.Errorf("%s: a name is required", kind.Singular)
	}
	if kind.Namespaced && namespace == "" {
		return fmt.Errorf("%s %q: a namespace is required", kind.Singular, name)
	}
	return nil
}

// Do sends a request to path (with its query) and returns the response
// when its status is 2xx; the caller closes its body. Other statuses come
// back as *APIError.
func (c *Client) Do(ctx context.Context, method, path string, body io.Reader) (*http.Response, error) {
	u := c.base.String() + path
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", c.userAgent)
	resp, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error // it would repeat the method and URL
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("%s %s: %w", method, u, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody)) // a short body still says something
		return nil, decodeError(resp.StatusCode, b)
	}
	return resp, nil
}

// doJSON sends in (when not nil) as JSON and decodes the answer into out.
func (c *Client) doJSON(ctx context.Context, method, path string, in io.Reader, out any) error {
	resp, err := c.Do(ctx, method, path, in)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return decodeBody(resp, out)
}

func decodeBody(resp *http.Response, out any) error {
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: decode response: %w", resp.Request.Method, resp.Request.URL.Path, err)
	}
	return nil
}
