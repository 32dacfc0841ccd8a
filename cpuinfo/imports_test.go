package cpuinfo

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestNoDavitImports pins DESIGN §2: cpuinfo imports no davit package,
// in its code or its tests.
func TestNoDavitImports(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if path == "davit" || strings.HasPrefix(path, "davit/") {
				t.Errorf("%s imports %s", name, path)
			}
		}
	}
}
