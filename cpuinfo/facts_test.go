package cpuinfo

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFactsJSONRoundTrip(t *testing.T) {
	for _, name := range []string{"this-machine-tcg.json", "intel-westmere-kvm.json", "amd-epyc-rome-kvm.json"} {
		t.Run(name, func(t *testing.T) {
			f := mustLoad(t, name)
			path := filepath.Join(t.TempDir(), "facts.json")
			require.NoError(t, WriteFile(path, f))
			back, err := LoadFile(path)
			require.NoError(t, err)
			assert.Equal(t, f, back)
			orig, err := os.ReadFile(filepath.Join("testdata", name))
			require.NoError(t, err)
			again, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, string(orig), string(again), "the file format is stable")
		})
	}
	t.Run("times survive", func(t *testing.T) {
		f := smallFacts()
		f.QEMUModTime = time.Date(2025, 5, 25, 20, 44, 1, 123456789, time.UTC)
		b, err := json.Marshal(f)
		require.NoError(t, err)
		var back Facts
		require.NoError(t, json.Unmarshal(b, &back))
		assert.True(t, f.QEMUModTime.Equal(back.QEMUModTime))
		assert.NotContains(t, string(b), "probedAt", "zero times are left out")
	})
}

func TestLoadFileRejects(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(map[string]any)
		want   string
	}{
		{"unknown field", func(m map[string]any) { m["cpuFlags"] = []string{} }, "cpuFlags"},
		{"schema", func(m map[string]any) { m["schema"] = 2 }, "schema 2"},
		{"vendor", func(m map[string]any) { m["vendor"] = "" }, "vendor"},
		{"accelerator", func(m map[string]any) { m["accelerator"] = "hvf" }, `accelerator "hvf"`},
		{"kernel flag name", func(m map[string]any) { m["features"] = []string{"sse4_2"} }, `"sse4_2" is no QEMU feature`},
		{"no guest features", func(m map[string]any) { m["hostModelFeatures"] = []string{} }, "hostModelFeatures"},
		{"host model not usable", func(m map[string]any) { m["hostModel"] = "Skylake-Client" }, "Skylake-Client"},
		{"model without definition", func(m map[string]any) { m["usableModels"] = []string{"Nehalem", "Penryn"} }, `"Penryn" has no entry`},
		{"definition of unusable model", func(m map[string]any) { m["usableModels"] = []string{"kvm64"}; m["hostModel"] = "" }, `"Nehalem" is not in usableModels`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(smallFacts())
			require.NoError(t, err)
			var m map[string]any
			require.NoError(t, json.Unmarshal(b, &m))
			tc.mutate(m)
			b, err = json.Marshal(m)
			require.NoError(t, err)
			path := filepath.Join(t.TempDir(), "facts.json")
			require.NoError(t, os.WriteFile(path, b, 0o644))
			_, err = LoadFile(path)
			assert.ErrorIs(t, err, ErrInvalidFacts)
			assert.ErrorContains(t, err, tc.want)
		})
	}
	_, err := LoadFile(filepath.Join(t.TempDir(), "missing.json"))
	assert.ErrorIs(t, err, os.ErrNotExist)
}

// TestLoadOrProbeCache runs the cache against the fake QEMU: kept while
// true, probed again when what it was computed from changed.
func TestLoadOrProbeCache(t *testing.T) {
	// mark tells a cached answer from a fresh probe: the fake's probe
	// never yields this host model.
	const mark = "kvm64"
	for _, tc := range []struct {
		name    string
		edit    func(*Facts)
		upgrade bool // the fake QEMU reports another version
		cfg     func(*Config)
		reprobe bool
	}{
		{name: "unchanged", reprobe: false},
		{name: "recorded qemu version changed", edit: func(f *Facts) { f.QEMUVersion = "7.1.0 (fake)" }, reprobe: true},
		{name: "qemu upgraded", upgrade: true, reprobe: true},
		{name: "qemu binary modified", edit: func(f *Facts) { f.QEMUModTime = f.QEMUModTime.Add(-time.Hour) }, reprobe: true},
		{name: "qemu binary moved", edit: func(f *Facts) { f.QEMUBinary = "/opt/qemu/bin/qemu-system-x86_64" }, reprobe: true},
		{name: "kernel changed", edit: func(f *Facts) { f.KernelVersion = "5.10.0-30-amd64" }, reprobe: true},
		{name: "host features changed", edit: func(f *Facts) { f.Features = f.Features[1:] }, reprobe: true},
		{name: "accelerator changed", cfg: func(c *Config) { c.Accelerator = AccelKVM }, reprobe: true},
		{name: "older schema", edit: func(f *Facts) { f.Schema = 0 }, reprobe: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := fakeQEMU(t, "7.2.0", "")
			var logs bytes.Buffer
			cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			path := filepath.Join(t.TempDir(), "cpu-facts.json")

			first, err := LoadOrProbe(context.Background(), path, cfg)
			require.NoError(t, err)
			require.NotEqual(t, mark, first.HostModel)
			cached, err := LoadFile(path)
			require.NoError(t, err, "the probe wrote the cache")
			assert.Equal(t, first, cached)

			cached.HostModel = mark
			if tc.edit != nil {
				tc.edit(&cached)
			}
			writeRaw(t, path, cached)
			if tc.upgrade {
				t.Setenv("CPUINFO_FAKE_QEMU", "7.2.1")
			}
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}

			got, err := LoadOrProbe(context.Background(), path, cfg)
			require.NoError(t, err)
			if !tc.reprobe {
				assert.Equal(t, mark, got.HostModel, "cache reused")
				assert.Contains(t, logs.String(), "cpu facts from cache")
				return
			}
			assert.NotEqual(t, mark, got.HostModel, "probed again")
			assert.Contains(t, logs.String(), "cpu facts cache")
			if tc.upgrade {
				assert.Equal(t, "7.2.1 (fake)", got.QEMUVersion)
			}
			again, err := LoadFile(path)
			require.NoError(t, err)
			assert.Equal(t, got, again, "the cache was rewritten")
		})
	}
}

func TestLoadOrProbeUnreadableCache(t *testing.T) {
	cfg := fakeQEMU(t, "7.2.0", "")
	path := filepath.Join(t.TempDir(), "cpu-facts.json")
	require.NoError(t, os.WriteFile(path, []byte("{not json"), 0o644))
	f, err := LoadOrProbe(context.Background(), path, cfg)
	require.NoError(t, err)
	assert.Equal(t, "7.2.0 (fake)", f.QEMUVersion)

	cfg.Timeout = 0
	_, err = LoadOrProbe(context.Background(), path, cfg)
	assert.ErrorIs(t, err, ErrInvalidConfig)
}

// writeRaw writes facts without validating them, as an old or hand-edited
// cache may be.
func writeRaw(t *testing.T, path string, f Facts) {
	t.Helper()
	b, err := json.Marshal(f)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, b, 0o644))
}
