package cluster

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// putSecret writes the register (a Secret) with value v through node nd.
func putSecret(ctx context.Context, nd *Node, name, v string) (int, error) {
	body := fmt.Sprintf(`{"apiVersion":"davit/v1","kind":"Secret","metadata":{"name":%q,"namespace":"default"},"type":"Opaque","data":{"v":%q}}`,
		name, base64.StdEncoding.EncodeToString([]byte(v)))
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, nd.URL()+"/v1/namespaces/default/secrets/"+name, strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	resp, err := nd.Client().Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// getSecret reads the register's value from nd (consistent or local).
func getSecret(ctx context.Context, nd *Node, name string, consistent bool) (string, int, error) {
	url := nd.URL() + "/v1/namespaces/default/secrets/" + name
	if consistent {
		url += "?consistent=1"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", 0, err
	}
	resp, err := nd.Client().Do(req)
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return "", resp.StatusCode, nil
	}
	var obj struct {
		Data map[string]string `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&obj); err != nil {
		return "", resp.StatusCode, err
	}
	v, _ := base64.StdEncoding.DecodeString(obj.Data["v"])
	return string(v), resp.StatusCode, nil
}

// status fetches /v1/status of nd.
func status(nd *Node) (map[string]any, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, nd.URL()+"/v1/status", nil)
	resp, err := nd.Client().Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var st map[string]any
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

// leader returns the index of the node that says it leads, or -1.
func (c *Cluster) leader(skip ...int) int {
	for i, nd := range c.Nodes {
		if contains(skip, i) {
			continue
		}
		if st, err := status(nd); err == nil && st["raftState"] == "Leader" {
			return i
		}
	}
	return -1
}

func contains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// checkCreatedOnce reads nd's whole change history of secrets (a watch from
// resourceVersion 1) and checks each acknowledged object was added exactly
// once and never modified afterwards.
func checkCreatedOnce(nd *Node, acked map[string]bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, nd.URL()+"/v1/namespaces/default/secrets", nil)
	resp, err := nd.Client().Do(req)
	if err != nil {
		return err
	}
	var list struct {
		Items []struct {
			Metadata struct {
				ResourceVersion string `json:"resourceVersion"`
			} `json:"metadata"`
		} `json:"items"`
	}
	err = json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	if err != nil {
		return err
	}
	// The history is read up to the newest secret's last change.
	var until uint64
	for _, it := range list.Items {
		var rv uint64
		fmt.Sscan(it.Metadata.ResourceVersion, &rv)
		until = max(until, rv)
	}
	req, _ = http.NewRequestWithContext(ctx, http.MethodGet, nd.URL()+"/v1/namespaces/default/secrets?watch=1&resourceVersion=1", nil)
	resp, err = nd.Client().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	added := map[string]int{}
	for {
		var ev struct {
			Type   string `json:"type"`
			Object struct {
				Metadata struct {
					Name            string `json:"name"`
					ResourceVersion string `json:"resourceVersion"`
				} `json:"metadata"`
				Message string `json:"message"`
			} `json:"object"`
		}
		if err := dec.Decode(&ev); err != nil {
			return fmt.Errorf("read history: %w", err)
		}
		if ev.Type == "ERROR" {
			return fmt.Errorf("history: %s", ev.Object.Message)
		}
		name := ev.Object.Metadata.Name
		switch ev.Type {
		case "ADDED":
			added[name]++
		case "MODIFIED", "DELETED":
			if acked[name] {
				return fmt.Errorf("%s was %s after its creation", name, ev.Type)
			}
		}
		var rv uint64
		fmt.Sscan(ev.Object.Metadata.ResourceVersion, &rv)
		if rv >= until {
			break
		}
	}
	for name := range acked {
		if added[name] != 1 {
			return fmt.Errorf("%s added %d times in the history", name, added[name])
		}
	}
	return nil
}
