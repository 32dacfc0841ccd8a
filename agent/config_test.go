package agent

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConfigFileAndValidation(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "agent.yaml")
	require.NoError(t, os.WriteFile(f, []byte("dataDir: /tmp/x\nhttpAddr: 127.0.0.1:1\nsnapshotInterval: 5s\nwriteTimeout: 3s\n"), 0o600))
	c := DefaultConfig()
	require.NoError(t, c.LoadFile(f))
	assert.Equal(t, "/tmp/x", c.DataDir)
	assert.Equal(t, 5*time.Second, c.SnapshotInterval.Duration)
	assert.Equal(t, 3*time.Second, c.WriteTimeout.Duration)
	require.NoError(t, c.Validate())
	assert.Equal(t, "127.0.0.1:1", c.AdvertiseHTTP, "advertise defaults to the listen address")

	require.NoError(t, os.WriteFile(f, []byte("dataDirr: /tmp/x\n"), 0o600))
	c2 := DefaultConfig()
	err := c2.LoadFile(f)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "dataDirr")

	bad := DefaultConfig()
	bad.HTTPAddr, bad.LogFormat, bad.LogLevel = "nope", "xml", "loud"
	err = bad.Validate()
	require.Error(t, err)
	for _, want := range []string{`httpAddr: "nope"`, `logFormat: "xml"`, `logLevel: "loud"`} {
		assert.Contains(t, err.Error(), want)
	}
}

func TestChooseAccelerator(t *testing.T) {
	dir := t.TempDir()
	noVMX := filepath.Join(dir, "cpuinfo1")
	require.NoError(t, os.WriteFile(noVMX, []byte("processor: 0\nflags\t\t: fpu sse sse2\n"), 0o600))
	acc, why := chooseAccelerator(noVMX, "/dev/kvm")
	assert.Equal(t, "tcg", acc)
	assert.Contains(t, why, "no vmx/svm")

	vmx := filepath.Join(dir, "cpuinfo2")
	require.NoError(t, os.WriteFile(vmx, []byte("flags\t\t: fpu vmx sse2\n"), 0o600))
	acc, why = chooseAccelerator(vmx, filepath.Join(dir, "no-such-kvm"))
	assert.Equal(t, "tcg", acc)
	assert.Contains(t, why, "does not open")

	kvm := filepath.Join(dir, "kvm")
	require.NoError(t, os.WriteFile(kvm, nil, 0o600))
	acc, _ = chooseAccelerator(vmx, kvm)
	assert.Equal(t, "kvm", acc)
}

func TestTokenIsCreatedOnceAndAtomically(t *testing.T) {
	p := filepath.Join(t.TempDir(), "join-token")
	tok, err := loadOrCreateToken(p, "")
	require.NoError(t, err)
	assert.Len(t, tok, 64)
	again, err := loadOrCreateToken(p, "")
	require.NoError(t, err)
	assert.Equal(t, tok, again)
	_, err = os.Stat(p + ".tmp")
	assert.True(t, os.IsNotExist(err), "temporary file left behind")
	assert.True(t, tokenOK(tok, again))
	assert.False(t, tokenOK(tok, "x"))
	assert.False(t, tokenOK("", ""))
}

func TestHeartbeatReadiness(t *testing.T) {
	var h heartbeats
	t0 := time.Now()
	h.reset(t0)
	s, _, _ := h.readiness("n1", t0.Add(time.Second))
	assert.Equal(t, "Unknown", s, "right after an election")
	s, _, _ = h.readiness("n1", t0.Add(nodeGrace+time.Second))
	assert.Equal(t, "False", s, "no heartbeat for a whole lease after the election")
	h.beat("n1", t0.Add(4*time.Second))
	s, _, _ = h.readiness("n1", t0.Add(5*time.Second))
	assert.Equal(t, "True", s)
	s, _, msg := h.readiness("n1", t0.Add(4*time.Second+nodeGrace+time.Second))
	assert.Equal(t, "False", s)
	assert.Contains(t, msg, "no heartbeat for 4s")
}
