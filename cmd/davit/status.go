package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"davit/agent/client"
	"davit/printer"

	"github.com/urfave/cli/v2"
	"sigs.k8s.io/yaml"
)

func statusCommand() *cli.Command {
	return &cli.Command{
		Name:  "status",
		Usage: "show the state of the agent at --addr: node, Raft role, leader, indexes, peers",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "`FORMAT`: json or yaml (default: readable)"},
		},
		Action: runStatus,
	}
}

// statusField is a field printed first, with its label.
type statusField struct{ key, label string }

// statusFields are printed in this order; the agent's other fields follow.
func statusFields() []statusField {
	return []statusField{
		{"nodeName", "Node"}, {"raftState", "Raft State"}, {"leader", "Leader"}, {"term", "Term"},
		{"appliedIndex", "Applied Index"}, {"commitIndex", "Commit Index"}, {"lastIndex", "Last Index"},
		{"version", "Version"}, {"uptimeSeconds", "Uptime"},
	}
}

func runStatus(c *cli.Context) error {
	if c.NArg() > 0 {
		return usageError(c, "status takes no arguments")
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	st, err := cl.Status(c.Context)
	if err != nil {
		return err
	}
	switch c.String("output") {
	case "":
		return printStatus(c.App.Writer, st)
	case "json":
		return printJSON(c.App.Writer, st.Fields)
	case "yaml":
		out, err := yaml.Marshal(st.Fields)
		if err != nil {
			return fmt.Errorf("print yaml: %w", err)
		}
		_, err = c.App.Writer.Write(out)
		return err
	}
	return usageError(c, "unknown output format %q: use json or yaml", c.String("output"))
}

func printStatus(w io.Writer, st *client.AgentStatus) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	for _, f := range statusFields() {
		fmt.Fprintf(tw, "%s:\t%s\n", f.label, statusValue(st, f.key))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if err := printPeers(w, st.Peers); err != nil {
		return err
	}
	rest := map[string]any{}
	for k, v := range st.Fields {
		rest[k] = v
	}
	for _, f := range statusFields() {
		delete(rest, f.key)
	}
	delete(rest, "leaderAddr")
	delete(rest, "peers")
	return printer.DescribeFields(w, rest)
}

func statusValue(st *client.AgentStatus, key string) string {
	switch key {
	case "leader":
		switch {
		case st.Leader == "" && st.LeaderAddr == "":
			return "<none>"
		case st.LeaderAddr == "":
			return st.Leader
		}
		return fmt.Sprintf("%s (%s)", st.Leader, st.LeaderAddr)
	case "uptimeSeconds":
		return printer.HumanDuration(time.Duration(st.UptimeSeconds * float64(time.Second)))
	}
	if v, ok := st.Fields[key]; ok && v != nil {
		return fmt.Sprint(v)
	}
	return ""
}

// printPeers prints the Raft peers as a table (or a list, when the agent
// reports them as plain strings).
func printPeers(w io.Writer, peers []any) error {
	if len(peers) == 0 {
		return nil
	}
	fmt.Fprintln(w, "Peers:")
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	cols := peerColumns(peers)
	if len(cols) > 0 {
		head := make([]string, len(cols))
		for i, c := range cols {
			head[i] = strings.ToUpper(c)
		}
		fmt.Fprintf(tw, "  %s\n", strings.Join(head, "\t"))
	}
	for _, p := range peers {
		m, ok := p.(map[string]any)
		if !ok {
			fmt.Fprintf(tw, "  %v\n", p)
			continue
		}
		cells := make([]string, len(cols))
		for i, c := range cols {
			if v, ok := m[c]; ok && v != nil {
				cells[i] = fmt.Sprint(v)
			}
		}
		fmt.Fprintf(tw, "  %s\n", strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

// peerColumns is the union of the peers' keys: id, name, address first.
func peerColumns(peers []any) []string {
	set := map[string]bool{}
	for _, p := range peers {
		if m, ok := p.(map[string]any); ok {
			for k := range m {
				set[k] = true
			}
		}
	}
	var cols []string
	for _, k := range []string{"id", "name", "address"} {
		if set[k] {
			cols = append(cols, k)
			delete(set, k)
		}
	}
	return append(cols, sortedKeys(set)...)
}

// printJSON prints v indented as kubectl does.
func printJSON(w io.Writer, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "    ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("print json: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}
