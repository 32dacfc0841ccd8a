package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"

	"davit/agent/client"
	"davit/api"

	"github.com/urfave/cli/v2"
)

// clusterCommands are the membership and node-maintenance verbs:
// `members`, `cluster token|leave`, `cordon`, `uncordon`.
func clusterCommands() []*cli.Command {
	return []*cli.Command{
		{
			Name:  "members",
			Usage: "list the Raft members: NAME ADDRESS ROLE HEALTH LAST CONTACT",
			Action: func(c *cli.Context) error {
				return withClient(c, printMembers)
			},
			Subcommands: []*cli.Command{{
				Name: "remove", Usage: "remove a member from the cluster", ArgsUsage: "NAME",
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return cli.Exit("error: members remove needs exactly one NAME", 1)
					}
					return withClient(c, func(ctx context.Context, cl *client.Client, out io.Writer) error {
						return removeMember(ctx, cl, out, c.Args().First())
					})
				},
			}},
		},
		{
			Name:  "cluster",
			Usage: "cluster membership",
			Subcommands: []*cli.Command{
				{Name: "token", Usage: "print the join token (run on a member)",
					Action: func(c *cli.Context) error { return withClient(c, printToken) }},
				{Name: "leave", Usage: "remove the agent at --addr from the cluster",
					Action: func(c *cli.Context) error {
						return withClient(c, func(ctx context.Context, cl *client.Client, out io.Writer) error {
							st, err := cl.Status(ctx)
							if err != nil {
								return err
							}
							return removeMember(ctx, cl, out, st.NodeName)
						})
					}},
			},
		},
		cordonCommand("cordon", true),
		cordonCommand("uncordon", false),
		labelCommand(),
	}
}

// withClient runs fn with a client for the --addr agent and prints errors
// the way the other verbs do.
func withClient(c *cli.Context, fn func(context.Context, *client.Client, io.Writer) error) error {
	cl, err := client.New(normalizeAddr(c.String("addr")))
	if err != nil {
		return cli.Exit("error: "+err.Error(), 1)
	}
	if err := fn(c.Context, cl, c.App.Writer); err != nil {
		return cli.Exit(formatErr(err), 1)
	}
	return nil
}

func formatErr(err error) string {
	if ae, ok := err.(*client.APIError); ok {
		return fmt.Sprintf("Error from server (%s): %s", ae.Reason, ae.Error())
	}
	return "error: " + err.Error()
}

func normalizeAddr(a string) string {
	if !strings.Contains(a, "://") {
		return "http://" + a
	}
	return a
}

type member struct {
	Name        string `json:"name"`
	Address     string `json:"address"`
	Role        string `json:"role"`
	Health      string `json:"health"`
	LastContact string `json:"lastContact"`
}

func getJSON(ctx context.Context, cl *client.Client, method, path string, out any) error {
	resp, err := cl.Do(ctx, method, path, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		var st struct{ Reason, Message string }
		if json.Unmarshal(b, &st) == nil && st.Message != "" {
			return fmt.Errorf("%s: %s", st.Reason, st.Message)
		}
		return fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

func printMembers(ctx context.Context, cl *client.Client, out io.Writer) error {
	var ms []member
	if err := getJSON(ctx, cl, http.MethodGet, "/v1/cluster/members", &ms); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 8, 3, ' ', 0)
	fmt.Fprintln(tw, "NAME\tADDRESS\tROLE\tHEALTH\tLAST CONTACT")
	for _, m := range ms {
		lc := m.LastContact
		if lc == "" {
			lc = "<none>"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", m.Name, m.Address, m.Role, m.Health, lc)
	}
	return tw.Flush()
}

func removeMember(ctx context.Context, cl *client.Client, out io.Writer, name string) error {
	var res map[string]string
	if err := getJSON(ctx, cl, http.MethodPost, "/v1/cluster/members/"+name+"/remove", &res); err != nil {
		return err
	}
	fmt.Fprintf(out, "member/%s removed\n", name)
	return nil
}

func printToken(ctx context.Context, cl *client.Client, out io.Writer) error {
	var res struct{ Token string }
	if err := getJSON(ctx, cl, http.MethodGet, "/v1/cluster/token", &res); err != nil {
		return err
	}
	fmt.Fprintln(out, res.Token)
	return nil
}

// cordonCommand sets (cordon) or clears (uncordon) a node's
// spec.unschedulable, as kubectl does.
func cordonCommand(name string, unschedulable bool) *cli.Command {
	return &cli.Command{
		Name: name, ArgsUsage: "NODE...",
		Usage: map[bool]string{true: "mark nodes as unschedulable", false: "mark nodes as schedulable"}[unschedulable],
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return cli.Exit("error: "+name+" needs a NODE", 1)
			}
			return withClient(c, func(ctx context.Context, cl *client.Client, out io.Writer) error {
				for _, n := range c.Args().Slice() {
					if err := setUnschedulable(ctx, cl, out, n, unschedulable); err != nil {
						return err
					}
				}
				return nil
			})
		},
	}
}

func setUnschedulable(ctx context.Context, cl *client.Client, out io.Writer, node string, v bool) error {
	kind, _ := api.LookupKind("Node")
	for attempt := 0; ; attempt++ {
		obj, err := cl.Get(ctx, kind, "", node)
		if err != nil {
			return err
		}
		var spec map[string]any
		_ = json.Unmarshal(obj.Spec, &spec)
		if spec == nil {
			spec = map[string]any{}
		}
		verb := map[bool]string{true: "cordoned", false: "uncordoned"}[v]
		if cur, _ := spec["unschedulable"].(bool); cur == v {
			fmt.Fprintf(out, "node/%s already %s\n", node, verb)
			return nil
		}
		if v {
			spec["unschedulable"] = true
		} else {
			delete(spec, "unschedulable")
		}
		if obj.Spec, err = json.Marshal(spec); err != nil {
			return err
		}
		obj.Status = nil
		_, _, err = cl.Put(ctx, obj) // carries resourceVersion: a concurrent change is a conflict
		if client.IsConflict(err) && attempt < 5 {
			continue
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "node/%s %s\n", node, verb)
		return nil
	}
}
