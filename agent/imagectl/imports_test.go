package imagectl

import (
	"go/build"
	"strings"
	"testing"
)

// The controllers must not import the agent (DESIGN §2): the agent passes
// itself in through Cluster.
func TestNoAgentImport(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		if imp == "davit/agent" || strings.HasPrefix(imp, "davit/cmd") {
			t.Errorf("imagectl imports %s", imp)
		}
	}
}
