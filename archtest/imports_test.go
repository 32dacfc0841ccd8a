package archtest

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// allowed lists, for each package that has a rule, every davit package it
// may import directly. Packages not listed may import anything except
// what the general rules below forbid.
var allowed = map[string][]string{
	"davit/api":                {},
	"davit/jsonpath":           {},
	"davit/cpuinfo":            {},
	"davit/cgroup":             {},
	"davit/qemu":               {"davit/cgroup"},
	"davit/images":             {"davit/api"},
	"davit/raftstore":          {"davit/api"},
	"davit/printer":            {"davit/api", "davit/jsonpath"},
	"davit/agent/client":       {"davit/api"},
	"davit/agent/httpapi":      {"davit/api"},
	"davit/agent/classstatus":  {"davit/api"},
	"davit/agent/scheduler":    {"davit/api", "davit/cgroup"},
	"davit/agent/vmop":         {"davit/api"},
	"davit/agent/imagectl":     {"davit/api", "davit/images", "davit/raftstore", "davit/agent/statusupdate", "davit/agent/view"},
	"davit/agent/statusupdate": {"davit/api", "davit/raftstore"},
	"davit/agent/diskctl":      {"davit/api", "davit/images", "davit/raftstore", "davit/agent/statusupdate", "davit/agent/view"},
	"davit/agent/vmopctl":      {"davit/api", "davit/raftstore", "davit/agent/vmop", "davit/agent/view"},
	"davit/agent/console":      {"davit/api", "davit/qemu", "davit/agent/httpapi"},
	"davit/agent/vmctl": {"davit/api", "davit/raftstore", "davit/qemu", "davit/cgroup", "davit/agent/scheduler",
		"davit/agent/vmop", "davit/agent/imagectl", "davit/agent/statusupdate", "davit/agent/view"},
	"davit/agent/view":              {"davit/api", "davit/raftstore"},
	"davit/raftstore/raftstoretest": {"davit/raftstore"},
}

// imports returns each package of the module (by import path) with the
// davit packages its non-test files import.
func imports(t *testing.T) map[string][]string {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "build") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		pkg := "davit"
		if rel != "." {
			pkg += "/" + filepath.ToSlash(rel)
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if p == "davit" || strings.HasPrefix(p, "davit/") {
				out[pkg] = append(out[pkg], p)
			}
		}
		if _, ok := out[pkg]; !ok {
			out[pkg] = nil
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestImportRules(t *testing.T) {
	all := imports(t)
	pkgs := make([]string, 0, len(all))
	for p := range all {
		pkgs = append(pkgs, p)
	}
	sort.Strings(pkgs)
	for _, pkg := range pkgs {
		inAgent := pkg == "davit/agent" || strings.HasPrefix(pkg, "davit/agent/")
		for _, imp := range all[pkg] {
			if rules, ok := allowed[pkg]; ok && !contains(rules, imp) {
				t.Errorf("%s imports %s; it may import only %v", pkg, imp, rules)
			}
			if imp == "davit/agent" && pkg != "davit/cmd/davit" && !strings.HasPrefix(pkg, "davit/e2e") && pkg != "davit/bench" {
				t.Errorf("%s imports davit/agent: nothing below the agent imports it", pkg)
			}
			if strings.HasPrefix(imp, "davit/agent/") && !inAgent && !strings.HasPrefix(pkg, "davit/cmd/") &&
				!strings.HasPrefix(pkg, "davit/e2e") && pkg != "davit/bench" {
				t.Errorf("%s imports %s: agent's sub-packages serve the agent and the CLI only", pkg, imp)
			}
		}
	}
	if len(all["davit/api"]) != 0 {
		t.Errorf("api imports %v: it must import nothing of ours", all["davit/api"])
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
