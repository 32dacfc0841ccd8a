package qemu

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The qemu package sits below the agent: of davit's packages it may import
// only davit/cgroup (and its own sub-packages); never davit/agent or
// davit/api — the agent converts its resources into a Spec.
func TestNoForbiddenImports(t *testing.T) {
	for _, dir := range []string{".", "qemutest"} {
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		fset := token.NewFileSet()
		for _, e := range entries {
			if !strings.HasSuffix(e.Name(), ".go") {
				continue
			}
			f, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, parser.ImportsOnly)
			require.NoError(t, err)
			for _, imp := range f.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				if path != "davit" && !strings.HasPrefix(path, "davit/") {
					continue
				}
				ok := path == "davit/cgroup" || strings.HasPrefix(path, "davit/cgroup/") || strings.HasPrefix(path, "davit/qemu/")
				require.True(t, ok, "%s/%s imports %s", dir, e.Name(), path)
			}
		}
	}
}
