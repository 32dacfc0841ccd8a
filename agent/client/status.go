package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// AgentStatus is GET /v1/status, the state of the agent answering.
type AgentStatus struct {
	NodeName      string  `json:"nodeName"`
	RaftState     string  `json:"raftState"`
	Leader        string  `json:"leader"`
	LeaderAddr    string  `json:"leaderAddr"`
	Term          uint64  `json:"term"`
	AppliedIndex  uint64  `json:"appliedIndex"`
	CommitIndex   uint64  `json:"commitIndex"`
	LastIndex     uint64  `json:"lastIndex"`
	Peers         []any   `json:"peers"`
	Version       string  `json:"version"`
	UptimeSeconds float64 `json:"uptimeSeconds"`
	// Fields is the whole document (numbers as json.Number), including
	// what the agent reports beyond the fields above.
	Fields map[string]any `json:"-"`
}

// Status reads the agent's status.
func (c *Client) Status(ctx context.Context) (*AgentStatus, error) {
	resp, err := c.Do(ctx, http.MethodGet, "/v1/status", nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("GET /v1/status: read: %w", err)
	}
	var st AgentStatus
	if err := json.Unmarshal(body, &st); err != nil {
		return nil, fmt.Errorf("GET /v1/status: decode: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&st.Fields); err != nil {
		return nil, fmt.Errorf("GET /v1/status: decode: %w", err)
	}
	return &st, nil
}
