package client

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImports pins the davit packages this one may import (see doc.go).
func TestImports(t *testing.T) {
	allowed := map[string]bool{"davit/api": true}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		ast, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range ast.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if (p == "davit" || strings.HasPrefix(p, "davit/")) && !allowed[p] {
				t.Errorf("%s imports %s; allowed davit imports: %v", f, p, allowed)
			}
		}
	}
}
