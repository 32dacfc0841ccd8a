package api

import (
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestImportsNothingOfOurs pins DESIGN §2: api imports only the standard
// library and yaml, never another davit package.
func TestImportsNothingOfOurs(t *testing.T) {
	entries, err := os.ReadDir(".")
	require.NoError(t, err)
	allowed := []string{"sigs.k8s.io/yaml", "github.com/stretchr/testify/"}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), e.Name(), nil, parser.ImportsOnly)
		require.NoError(t, err)
		for _, imp := range f.Imports {
			path, err := strconv.Unquote(imp.Path.Value)
			require.NoError(t, err)
			first := strings.Split(path, "/")[0]
			if !strings.Contains(first, ".") {
				require.False(t, path == "davit" || strings.HasPrefix(path, "davit/"), "%s imports %s", e.Name(), path)
				continue // standard library
			}
			ok := false
			for _, a := range allowed {
				ok = ok || path == a || strings.HasPrefix(path, a)
			}
			require.True(t, ok, "%s imports %s", e.Name(), path)
		}
	}
}
