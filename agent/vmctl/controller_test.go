package vmctl

import (
	"context"
	"os"
	"testing"
	"time"

	"davit/qemu"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// noBlobs is a Blobs that has nothing.
type noBlobs struct{}

func (noBlobs) LocalBlob(context.Context, string) (string, error) { return "", os.ErrNotExist }

func validConfig() Config {
	cfg := DefaultConfig("/var/lib/davit")
	cfg.NodeName = "n1"
	cfg.Blobs = noBlobs{}
	return cfg
}

func TestDefaultConfigIsValidOnceNodeAndBlobsAreSet(t *testing.T) {
	cfg := validConfig()
	require.NoError(t, cfg.Validate())
	assert.Equal(t, "/var/lib/davit", cfg.QEMU.DataDir)
	assert.Equal(t, qemu.AccelTCG, cfg.Accelerator)
	assert.Nil(t, cfg.Cgroups, "no cgroups unless the agent sets them")

	_, err := New(cfg, nil)
	require.NoError(t, err)
}

func TestConfigValidateNamesEachBadField(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(c *Config)
		want   string
	}{
		{"nodeName", func(c *Config) { c.NodeName = "" }, "nodeName: must not be empty"},
		{"qemu.dataDir", func(c *Config) { c.QEMU.DataDir = "" }, "qemu.dataDir: must not be empty"},
		{"accelerator", func(c *Config) { c.Accelerator = qemu.AccelAuto }, `accelerator: "auto" is not kvm or tcg`},
		{"accelerator empty", func(c *Config) { c.Accelerator = "" }, `accelerator: "" is not kvm or tcg`},
		{"blobs", func(c *Config) { c.Blobs = nil }, "blobs: must be set"},
		{"resync", func(c *Config) { c.Resync = 0 }, "resync: 0s must be positive"},
		{"backoffMin", func(c *Config) { c.BackoffMin = -time.Second }, "backoffMin: -1s must be positive"},
		{"backoffMax", func(c *Config) { c.BackoffMax = 0 }, "backoffMax: 0s must be positive"},
		{"stableAfter", func(c *Config) { c.StableAfter = -time.Millisecond }, "stableAfter: -1ms must be positive"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := validConfig()
			tc.mutate(&cfg)
			err := cfg.Validate()
			require.Error(t, err)
			assert.Equal(t, tc.want, err.Error(), "exactly the bad field is named")

			_, err = New(cfg, nil)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "vm controller config: "+tc.want)
		})
	}

	t.Run("every bad field at once", func(t *testing.T) {
		err := (&Config{}).Validate()
		require.Error(t, err)
		for _, want := range []string{"nodeName", "qemu.dataDir", "accelerator", "blobs", "resync", "backoffMin", "backoffMax", "stableAfter"} {
			assert.Contains(t, err.Error(), want+": ")
		}
	})
}

func TestBackoff(t *testing.T) {
	c := &Controller{cfg: Config{BackoffMin: time.Second, BackoffMax: time.Minute}}
	want := []time.Duration{
		0: time.Second, // no failure yet: the minimum
		1: time.Second,
		2: 2 * time.Second,
		3: 4 * time.Second,
		4: 8 * time.Second,
		5: 16 * time.Second,
		6: 32 * time.Second,
		7: time.Minute, // 64 s capped
		8: time.Minute,
	}
	for n, d := range want {
		assert.Equal(t, d, c.backoff(n), "backoff(%d)", n)
	}
	assert.Equal(t, time.Minute, c.backoff(1000), "no overflow after many failures")
	assert.Equal(t, time.Minute, c.backoff(1<<40))

	c = &Controller{cfg: Config{BackoffMin: 3 * time.Second, BackoffMax: 10 * time.Second}}
	assert.Equal(t, []time.Duration{3 * time.Second, 6 * time.Second, 10 * time.Second, 10 * time.Second},
		[]time.Duration{c.backoff(1), c.backoff(2), c.backoff(3), c.backoff(4)}, "capped at a maximum that is no power of two of the minimum")

	c = &Controller{cfg: Config{BackoffMin: time.Minute, BackoffMax: time.Second}}
	assert.Equal(t, time.Second, c.backoff(1), "a minimum above the maximum is capped too")
}
