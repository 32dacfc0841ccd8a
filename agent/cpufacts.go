package agent

import (
	"context"
	"path/filepath"
	"strings"

	"davit/cpuinfo"
	"davit/raftstore"
)

// loadCPUFacts returns this node's CPU facts: the recorded file given with
// --cpu-facts (test clusters simulate nodes with different CPUs that way),
// else a probe with a throwaway QEMU, cached in DATA/cpu-facts.json and
// redone when QEMU or the kernel changes.
func (a *Agent) loadCPUFacts(ctx context.Context, accel string) (cpuinfo.Facts, error) {
	if a.cfg.CPUFacts != "" {
		return cpuinfo.LoadFile(a.cfg.CPUFacts)
	}
	cfg := cpuinfo.DefaultConfig()
	cfg.Accelerator = accel
	cfg.Logger = a.log.With("component", "cpuinfo")
	return cpuinfo.LoadOrProbe(ctx, filepath.Join(a.cfg.DataDir, "cpu-facts.json"), cfg)
}

// cpuLabels are the node labels published from the facts. The
// cpu-model-migration labels are left out: the admin guide's
// `jq 'select(.key | test("cpu-model"))'` would list every model twice.
func cpuLabels(f cpuinfo.Facts) map[string]string {
	out := map[string]string{}
	for k, v := range cpuinfo.Labels(f) {
		if !strings.HasPrefix(k, cpuinfo.ModelMigrationLabelPrefix) {
			out[k] = v
		}
	}
	return out
}

// syncOwnLabels writes this node's CPU labels into its Node object when
// they differ, keeping every label an admin set.
func (a *Agent) syncOwnLabels(ctx context.Context, want map[string]string) error {
	obj, err := a.store.Get("Node", "", a.cfg.NodeName)
	if err != nil {
		return err
	}
	merged := cpuinfo.MergeLabels(obj.Metadata.Labels, want)
	if sameJSON(obj.Metadata.Labels, merged) {
		return nil
	}
	upd := obj.DeepCopy()
	upd.Metadata.Labels = merged
	upd.Status = nil
	res, err := a.apply(ctx, raftstore.PutCommand("Node", upd))
	if err != nil {
		return err
	}
	return res.Err
}
