package cgroup

import (
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSharesAndWeight(t *testing.T) {
	for _, tc := range []struct {
		milli  int64
		shares uint64
		weight uint64
	}{
		{milli: 1000, shares: 1024, weight: 100}, // 1 CPU weighs like one ordinary task/group
		{milli: 500, shares: 512, weight: 50},
		{milli: 250, shares: 256, weight: 25},
		{milli: 400, shares: 409, weight: 40}, // 2 cores × 20%
		{milli: 50, shares: 51, weight: 5},    // 1 core × 5%, the smallest coreFraction
		{milli: 1, shares: 2, weight: 1},      // kernel minimums
		{milli: 64000, shares: 65536, weight: 6400},
		{milli: 1 << 20, shares: 262144, weight: 10000}, // kernel maximums
	} {
		assert.Equal(t, tc.shares, SharesFromMilli(tc.milli), "shares of %d", tc.milli)
		assert.Equal(t, tc.weight, WeightFromMilli(tc.milli), "weight of %d", tc.milli)
	}
	// The weights keep ratios: 2 CPUs × 50% : 2 × 25% : 1 × 50% = 2:1:1.
	assert.Equal(t, 2*SharesFromMilli(500), SharesFromMilli(1000))
	assert.Equal(t, 2*WeightFromMilli(500), WeightFromMilli(1000))
}

func TestMilliRoundTrip(t *testing.T) {
	for m := int64(2); m <= 64000; m++ {
		require.Equal(t, m, MilliFromShares(SharesFromMilli(m)), "v1 round trip of %d", m)
	}
	for m := int64(10); m <= 100000; m += 10 {
		require.Equal(t, m, MilliFromWeight(WeightFromMilli(m)), "v2 round trip of %d", m)
	}
}

func TestMemoryOverhead(t *testing.T) {
	assert.Equal(t, int64(128+16+2)<<20, MemoryOverhead(2, 1<<30))
	assert.Equal(t, int64(128+8)<<20, MemoryOverhead(1, 0))
	assert.Equal(t, int64(128+8*8+32)<<20, MemoryOverhead(8, 16<<30))
}

func TestSpecValidate(t *testing.T) {
	ok := []Spec{
		{CPUGuaranteedMilli: 400, CPULimitCores: 2, MemoryBytes: 1 << 30},
		{CPUGuaranteedMilli: 2000, CPULimitCores: 2, DedicatedCPUs: []int{2, 3}},
		{CPUGuaranteedMilli: 50, CPULimitCores: 1}, // no memory limit
	}
	for _, s := range ok {
		assert.NoError(t, s.Validate(), "%+v", s)
	}
	for _, tc := range []struct {
		spec Spec
		want []string
	}{
		{Spec{}, []string{"CPULimitCores 0", "CPUGuaranteedMilli 0"}},
		{Spec{CPUGuaranteedMilli: 3000, CPULimitCores: 2, MemoryBytes: -1},
			[]string{"CPUGuaranteedMilli 3000", "MemoryBytes -1"}},
		{Spec{CPUGuaranteedMilli: 1000, CPULimitCores: 3, DedicatedCPUs: []int{1, 1}},
			[]string{"need one CPU per core", "coreFraction 100%", "CPU 1 listed twice"}},
		{Spec{CPUGuaranteedMilli: 1000, CPULimitCores: 1, DedicatedCPUs: []int{-1}}, []string{"CPU -1 is negative"}},
	} {
		err := tc.spec.Validate()
		require.ErrorIs(t, err, ErrInvalidSpec)
		for _, w := range tc.want {
			assert.Contains(t, err.Error(), w)
		}
	}
}

func TestResourcesValidate(t *testing.T) {
	cur := Spec{CPUGuaranteedMilli: 500, CPULimitCores: 1}
	two := 2
	milli := int64(1500)
	assert.NoError(t, Resources{CPULimitCores: &two, CPUGuaranteedMilli: &milli}.Validate(cur))
	assert.ErrorIs(t, Resources{CPUGuaranteedMilli: &milli}.Validate(cur), ErrInvalidSpec, "1500 milli on 1 core")
}

func TestCPUList(t *testing.T) {
	for _, tc := range []struct {
		in   string
		cpus []int
		out  string
	}{
		{"", nil, ""},
		{"0", []int{0}, "0"},
		{"0-3,6,8-9\n", []int{0, 1, 2, 3, 6, 8, 9}, "0-3,6,8-9"},
		{"5,1,2", []int{1, 2, 5}, "1-2,5"},
	} {
		got, err := ParseCPUList(tc.in)
		require.NoError(t, err)
		assert.Equal(t, tc.cpus, got, tc.in)
		assert.Equal(t, tc.out, FormatCPUList(got))
	}
	for _, bad := range []string{"a", "3-1", "1,", "-1"} {
		_, err := ParseCPUList(bad)
		assert.Error(t, err, bad)
	}
}

func TestReadCPUsAllowedSelf(t *testing.T) {
	cpus, err := ReadCPUsAllowed(os.Getpid())
	require.NoError(t, err)
	assert.NotEmpty(t, cpus)
	tids, err := Threads(os.Getpid())
	require.NoError(t, err)
	assert.Contains(t, tids, os.Getpid())
}

func TestCheckUID(t *testing.T) {
	assert.NoError(t, checkUID("0b7f3c1e-6a3d-4f7a-9d51-2c2f1e0f9a10"))
	for _, bad := range []string{"", ".", "..", "a/b", "a b", strings.Repeat("x", 129)} {
		assert.ErrorIs(t, checkUID(bad), ErrInvalidSpec, bad)
	}
}

// TestImportsNothingOfOurs pins DESIGN §2: cgroup imports no davit package.
func TestImportsNothingOfOurs(t *testing.T) {
	entries, err := os.ReadDir(".")
	require.NoError(t, err)
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), e.Name(), nil, parser.ImportsOnly)
		require.NoError(t, err)
		for _, imp := range f.Imports {
			path, err := strconv.Unquote(imp.Path.Value)
			require.NoError(t, err)
			require.False(t, path == "davit" || strings.HasPrefix(path, "davit/"), "%s imports %s", e.Name(), path)
		}
	}
}
