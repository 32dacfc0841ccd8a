package cpuinfo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// FactsSchema is the version of the Facts JSON this package writes. A
// cache of another schema is probed again; a recorded file of another
// schema is refused.
const FactsSchema = 1

// Facts is everything davit knows about one node's CPU. Its JSON is the
// cache file and the recorded-facts format (testdata/*.json).
type Facts struct {
	Schema int `json:"schema"`
	// Vendor is the CPUID vendor string: GenuineIntel, AuthenticAMD, ...
	Vendor string `json:"vendor"`
	// Features are the host CPU's features (from /proc/cpuinfo), named as
	// QEMU names them, sorted.
	Features []string `json:"features"`
	// Accelerator is the one the models were probed with: kvm or tcg.
	Accelerator string `json:"accelerator"`
	// UsableModels are the models QEMU lists with no unavailable feature
	// under Accelerator, sorted, as QEMU names them: versioned names
	// (Nehalem-v1) and the pseudo models max and base included.
	UsableModels []string `json:"usableModels"`
	// Models holds the vendor and features of every usable named model
	// (query-cpu-model-expansion type full), the catalogue CPUArg picks a
	// baseline from.
	Models map[string]CPUModel `json:"models"`
	// HostModel is the named model closest to HostModelFeatures: the
	// usable one with the most features, all of them in HostModelFeatures,
	// preferring the host's vendor (see CPUArg).
	HostModel string `json:"hostModel"`
	// HostModelFeatures are the features a guest on this node can be
	// given: the expansion of "host" under KVM, of "max" under TCG.
	// These, not Features, become cpu-feature labels.
	HostModelFeatures []string `json:"hostModelFeatures"`
	// QEMUVersion is as `qemu-system-x86_64 --version` prints it after
	// "QEMU emulator version ", e.g. "7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)".
	QEMUVersion string `json:"qemuVersion"`
	// QEMUBinary and QEMUModTime identify the probed binary; with
	// QEMUVersion and KernelVersion they decide whether a cache is stale.
	QEMUBinary    string    `json:"qemuBinary,omitempty"`
	QEMUModTime   time.Time `json:"qemuModTime,omitzero"`
	KernelVersion string    `json:"kernelVersion"`
	ProbedAt      time.Time `json:"probedAt,omitzero"`
}

// CPUModel is one QEMU named CPU model as this node's QEMU defines it.
type CPUModel struct {
	Vendor   string   `json:"vendor"`
	Features []string `json:"features"`
}

// Usable reports whether QEMU can run model on this node.
func (f Facts) Usable(model string) bool {
	return slices.Contains(f.UsableModels, model)
}

// Validate checks that recorded facts are complete and consistent, naming
// the first bad field.
func (f Facts) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf(format+": %w", append(a, ErrInvalidFacts)...)
	}
	switch {
	case f.Schema != FactsSchema:
		return bad("schema %d: want %d", f.Schema, FactsSchema)
	case f.Vendor == "":
		return bad("vendor is empty")
	case f.Accelerator != AccelKVM && f.Accelerator != AccelTCG:
		return bad("accelerator %q: want %q or %q", f.Accelerator, AccelKVM, AccelTCG)
	case len(f.HostModelFeatures) == 0:
		return bad("hostModelFeatures is empty")
	case f.HostModel != "" && !f.Usable(f.HostModel):
		return bad("hostModel %q is not in usableModels", f.HostModel)
	}
	for _, list := range []struct {
		field string
		names []string
	}{{"features", f.Features}, {"hostModelFeatures", f.HostModelFeatures}} {
		for _, n := range list.names {
			if !IsQEMUFeature(n) {
				return bad("%s: %q is no QEMU feature name", list.field, n)
			}
		}
	}
	for _, m := range f.UsableModels {
		if _, ok := f.Models[m]; isNamedModel(m) && !ok {
			return bad("models: usable model %q has no entry", m)
		}
	}
	for name := range f.Models {
		if !f.Usable(name) {
			return bad("models: %q is not in usableModels", name)
		}
	}
	return nil
}

// LoadFile reads recorded facts, the agent's --cpu-facts FILE: unknown
// fields are errors, and the facts must Validate.
func LoadFile(path string) (Facts, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Facts{}, fmt.Errorf("load cpu facts: %w", err)
	}
	var f Facts
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return Facts{}, fmt.Errorf("load cpu facts %s: %v: %w", path, err, ErrInvalidFacts)
	}
	if err := f.Validate(); err != nil {
		return Facts{}, fmt.Errorf("load cpu facts %s: %w", path, err)
	}
	return f, nil
}

// WriteFile writes facts as indented JSON, atomically (a temporary file
// in the same directory renamed over path).
func WriteFile(path string, f Facts) error {
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("write cpu facts: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write cpu facts: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename this finds nothing
	_, err = tmp.Write(append(b, '\n'))
	if err == nil {
		err = tmp.Chmod(0o644) // facts are no secret; CreateTemp makes 0600
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("write cpu facts %s: %w", path, err)
	}
	return nil
}

// LoadOrProbe returns the facts cached at cachePath while they are still
// true, and otherwise probes and rewrites the cache. The cache is stale
// when it has another schema or accelerator, when the QEMU binary moved or
// changed (modification time or `--version`), when the kernel release
// changed, or when /proc/cpuinfo shows another vendor or feature set. An
// unreadable cache is probed again, logged; a failed write is an error.
func LoadOrProbe(ctx context.Context, cachePath string, cfg Config) (Facts, error) {
	if err := cfg.Validate(); err != nil {
		return Facts{}, fmt.Errorf("load or probe cpu facts: %w", err)
	}
	log := cfg.logger()
	cached, err := LoadFile(cachePath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		log.Info("no cpu facts cache, probing", "path", cachePath)
	case err != nil:
		log.Warn("cpu facts cache unusable, probing", "path", cachePath, "err", err)
	default:
		reason := staleReason(ctx, cached, cfg)
		if reason == "" {
			log.Info("cpu facts from cache", "path", cachePath, "probedAt", cached.ProbedAt)
			return cached, nil
		}
		log.Info("cpu facts cache stale, probing", "path", cachePath, "reason", reason)
	}
	f, err := Probe(ctx, cfg)
	if err != nil {
		return Facts{}, err
	}
	if err := WriteFile(cachePath, f); err != nil {
		return Facts{}, fmt.Errorf("cache cpu facts: %w", err)
	}
	return f, nil
}

// staleReason says why cached no longer describes this node, or "" when
// it still does. A check that cannot run counts as stale: the probe that
// follows reports the real error.
func staleReason(ctx context.Context, cached Facts, cfg Config) string {
	if cached.Accelerator != cfg.Accelerator {
		return fmt.Sprintf("accelerator %s, cached %s", cfg.Accelerator, cached.Accelerator)
	}
	bin, modTime, err := resolveQEMU(cfg.QEMUBinary)
	if err != nil {
		return err.Error()
	}
	if bin != cached.QEMUBinary {
		return fmt.Sprintf("qemu binary %s, cached %s", bin, cached.QEMUBinary)
	}
	if !modTime.Equal(cached.QEMUModTime) {
		return fmt.Sprintf("qemu binary modified at %s, cached %s", modTime, cached.QEMUModTime)
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	version, err := qemuVersion(ctx, bin)
	if err != nil {
		return err.Error()
	}
	if version != cached.QEMUVersion {
		return fmt.Sprintf("qemu version %s, cached %s", version, cached.QEMUVersion)
	}
	kernel, err := kernelRelease()
	if err != nil {
		return err.Error()
	}
	if kernel != cached.KernelVersion {
		return fmt.Sprintf("kernel %s, cached %s", kernel, cached.KernelVersion)
	}
	host, err := ReadHost(cfg.CPUInfoPath)
	if err != nil {
		return err.Error()
	}
	if host.Vendor != cached.Vendor || !slices.Equal(host.Features, cached.Features) {
		return "host cpu vendor or features changed"
	}
	return ""
}
