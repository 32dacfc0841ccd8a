package printer

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"davit/api"
	"davit/jsonpath"
)

// Special columns computed by the printer (api.Column.Special).
const (
	specialNodeStatus = "nodeStatus"
	specialNodeRoles  = "nodeRoles"
)

// rolePrefixes are the node role label prefixes: kubectl's and davit's.
func rolePrefixes() []string { return []string{"node-role.kubernetes.io/", "node-role.davit.io/"} }

// column is a compiled printer column.
type column struct {
	api.Column
	path *jsonpath.Template
}

func compileColumns(kind *api.Kind, wide bool) ([]column, error) {
	var cols []column
	for _, c := range kind.Columns {
		if c.Wide && !wide {
			continue
		}
		col := column{Column: c}
		if c.Special == "" {
			t, err := jsonpath.ParsePath(c.JSONPath)
			if err != nil {
				return nil, fmt.Errorf("%s column %s: %w", kind.Kind, c.Name, err)
			}
			col.path = t.AllowMissingKeys(true)
		}
		cols = append(cols, col)
	}
	return cols, nil
}

// cell computes a column's text for one object. As in a CRD's printer
// columns, only the first value a path yields is shown, and a path that
// yields nothing shows an empty cell.
func (c column) cell(obj map[string]any, now time.Time) string {
	switch c.Special {
	case specialNodeStatus:
		return nodeStatus(obj)
	case specialNodeRoles:
		return nodeRoles(obj)
	}
	var v any
	if res, err := c.path.FindResults(obj); err == nil && len(res) > 0 && len(res[0]) > 0 {
		v = res[0][0]
	}
	switch c.Type {
	case "date":
		s, _ := v.(string)
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return ""
		}
		return HumanDuration(now.Sub(t))
	case "bool":
		if v == nil {
			return "false"
		}
	}
	if v == nil {
		return ""
	}
	return cellText(v)
}

// cellText prints a value like kubectl: strings raw and cut at the first
// line break, other values as JSONPath prints them.
func cellText(v any) string {
	s, ok := v.(string)
	if !ok {
		var err error
		if s, err = jsonpath.FormatValue(v); err != nil {
			return ""
		}
	}
	if i := strings.IndexAny(s, "\r\n\f"); i >= 0 {
		s = s[:i] + "..."
	}
	return s
}

// nodeStatus is kubectl's node STATUS: Ready, NotReady or Unknown from the
// Ready condition, plus ",SchedulingDisabled" for a cordoned node.
func nodeStatus(obj map[string]any) string {
	status := "Unknown"
	for _, c := range conditions(obj) {
		if c["type"] != "Ready" {
			continue
		}
		switch c["status"] {
		case "True":
			status = "Ready"
		case "False":
			status = "NotReady"
		}
	}
	if spec, _ := obj["spec"].(map[string]any); spec != nil && spec["unschedulable"] == true {
		status += ",SchedulingDisabled"
	}
	return status
}

// nodeRoles lists the roles a node's labels give it, sorted, or "<none>".
func nodeRoles(obj map[string]any) string {
	labels := nested(obj, "metadata", "labels")
	set := map[string]bool{}
	for k, v := range labels {
		for _, p := range rolePrefixes() {
			if role, ok := strings.CutPrefix(k, p); ok && role != "" {
				set[role] = true
			}
		}
		if s, _ := v.(string); k == "kubernetes.io/role" && s != "" {
			set[s] = true
		}
	}
	if len(set) == 0 {
		return "<none>"
	}
	roles := make([]string, 0, len(set))
	for r := range set {
		roles = append(roles, r)
	}
	sort.Strings(roles)
	return strings.Join(roles, ",")
}

// conditions returns .status.conditions as maps.
func conditions(obj map[string]any) []map[string]any {
	status, _ := obj["status"].(map[string]any)
	list, _ := status["conditions"].([]any)
	var out []map[string]any
	for _, c := range list {
		if m, ok := c.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// nested returns the map at a path of keys, or nil.
func nested(obj map[string]any, keys ...string) map[string]any {
	cur := obj
	for _, k := range keys {
		next, _ := cur[k].(map[string]any)
		if next == nil {
			return nil
		}
		cur = next
	}
	return cur
}
