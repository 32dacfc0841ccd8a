package cpuinfo

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Recorded facts in testdata are written by TestRecordFacts:
//
//	CPUINFO_RECORD=1 go test ./cpuinfo/ -run TestRecordFacts
//
// this-machine-tcg.json is a real probe of the machine it runs on under
// TCG. The simulated nodes are KVM hosts this machine is not: their
// /proc/cpuinfo flag lines are written by hand (simulatedNodes), mapped
// with QEMUFeatures, and combined with this QEMU's own model definitions,
// so each node's usable models follow from its features exactly as QEMU
// decides: a model is usable when every feature of its definition is one
// the guest can have.
func TestRecordFacts(t *testing.T) {
	if os.Getenv("CPUINFO_RECORD") == "" {
		t.Skip("set CPUINFO_RECORD=1 to rewrite testdata/*.json")
	}
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		t.Skip("qemu-system-x86_64 not installed")
	}
	ctx := context.Background()
	cfg := DefaultConfig()
	here, err := Probe(ctx, cfg)
	require.NoError(t, err)
	require.NoError(t, WriteFile("testdata/this-machine-tcg.json", here))

	catalogue := modelCatalogue(t, cfg)
	for _, n := range simulatedNodes() {
		f := simulate(n, catalogue, here.QEMUVersion)
		require.NoError(t, f.Validate(), n.file)
		require.NoError(t, WriteFile(filepath.Join("testdata", n.file), f))
		t.Logf("%s: %d features, %d guest features, %d usable models, host model %s",
			n.file, len(f.Features), len(f.HostModelFeatures), len(f.UsableModels), f.HostModel)
	}
}

// modelCatalogue expands every named model this QEMU defines, usable
// here or not.
func modelCatalogue(t *testing.T, cfg Config) map[string]CPUModel {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, err := startQEMU(ctx, cfg.QEMUBinary, cfg.Accelerator)
	require.NoError(t, err)
	defer p.kill()
	var defs []cpuDefinition
	require.NoError(t, p.conn.execute("query-cpu-definitions", nil, &defs))
	out := map[string]CPUModel{}
	for _, d := range defs {
		if !isNamedModel(d.Name) {
			continue
		}
		m, err := expandModel(p.conn, d.Name)
		require.NoError(t, err)
		out[d.Name] = m
	}
	return out
}

type simulatedNode struct {
	file, vendor, kernel string
	// flags is the node's /proc/cpuinfo flags line.
	flags string
	// guestOnly are the features `-cpu host` shows that the kernel's
	// flags do not: the IA32_ARCH_CAPABILITIES bits KVM passes on, and
	// what KVM itself offers (virt-ssbd on AMD).
	guestOnly []string
}

func simulatedNodes() []simulatedNode {
	return []simulatedNode{{
		file: "intel-westmere-kvm.json", vendor: VendorIntel, kernel: "6.1.0-18-amd64",
		// Xeon X5650 (Westmere-EP, 2010): AES-NI and PCLMULQDQ, no AVX.
		flags: "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush dts acpi mmx fxsr " +
			"sse sse2 ss ht tm pbe syscall nx pdpe1gb rdtscp lm constant_tsc arch_perfmon pebs bts rep_good nopl " +
			"xtopology nonstop_tsc cpuid aperfmperf pni pclmulqdq dtes64 monitor ds_cpl vmx smx est tm2 ssse3 cx16 " +
			"xtpr pdcm pcid dca sse4_1 sse4_2 popcnt aes lahf_lm pti ssbd ibrs ibpb stibp tpr_shadow vnmi " +
			"flexpriority ept vpid dtherm ida arat md_clear flush_l1d",
	}, {
		file: "intel-cascadelake-kvm.json", vendor: VendorIntel, kernel: "6.1.0-18-amd64",
		// Xeon Gold 6248 (Cascade Lake-SP, 2019), TSX off as Debian's
		// kernel leaves it: AVX-512 with VNNI, no hle or rtm.
		flags: "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush dts acpi mmx fxsr " +
			"sse sse2 ss ht tm pbe syscall nx pdpe1gb rdtscp lm constant_tsc art arch_perfmon pebs bts rep_good " +
			"nopl xtopology nonstop_tsc cpuid aperfmperf pni pclmulqdq dtes64 monitor ds_cpl vmx smx est tm2 ssse3 " +
			"sdbg fma cx16 xtpr pdcm pcid dca sse4_1 sse4_2 x2apic movbe popcnt tsc_deadline_timer aes xsave avx " +
			"f16c rdrand lahf_lm abm 3dnowprefetch cpuid_fault epb cat_l3 cdp_l3 invpcid_single intel_ppin ssbd " +
			"mba ibrs ibpb stibp ibrs_enhanced tpr_shadow vnmi flexpriority ept vpid ept_ad fsgsbase tsc_adjust " +
			"bmi1 avx2 smep bmi2 erms invpcid cqm mpx rdt_a avx512f avx512dq rdseed adx smap clflushopt clwb " +
			"intel_pt avx512cd avx512bw avx512vl xsaveopt xsavec xgetbv1 xsaves cqm_llc cqm_occup_llc " +
			"cqm_mbm_total cqm_mbm_local dtherm ida arat pln pts pku ospke avx512_vnni md_clear flush_l1d " +
			"arch_capabilities",
		guestOnly: []string{"rdctl-no", "ibrs-all", "skip-l1dfl-vmentry", "mds-no", "tsx-ctrl"},
	}, {
		file: "amd-epyc-rome-kvm.json", vendor: VendorAMD, kernel: "6.1.0-18-amd64",
		// EPYC 7402 (Rome, Zen 2, 2019): AVX2, SHA, CLZERO, no AVX-512,
		// no PCID or INVPCID.
		flags: "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 " +
			"ht syscall nx mmxext fxsr_opt pdpe1gb rdtscp lm constant_tsc rep_good nopl nonstop_tsc cpuid " +
			"extd_apicid aperfmperf rapl pni pclmulqdq monitor ssse3 fma cx16 sse4_1 sse4_2 movbe popcnt aes " +
			"xsave avx f16c rdrand lahf_lm cmp_legacy svm extapic cr8_legacy abm sse4a misalignsse 3dnowprefetch " +
			"osvw ibs skinit wdt tce topoext perfctr_core perfctr_nb bpext perfctr_llc mwaitx cpb cat_l3 cdp_l3 " +
			"hw_pstate ssbd mba ibrs ibpb stibp vmmcall fsgsbase bmi1 avx2 smep bmi2 cqm rdt_a rdseed adx smap " +
			"clflushopt clwb sha_ni xsaveopt xsavec xgetbv1 xsaves cqm_llc cqm_occup_llc cqm_mbm_total " +
			"cqm_mbm_local clzero irperf xsaveerptr rdpru wbnoinvd amd_ppin arat npt lbrv svm_lock nrip_save " +
			"tsc_scale vmcb_clean flushbyasid decodeassists pausefilter pfthreshold avic v_vmsave_vmload vgif " +
			"v_spec_ctrl umip rdpid overflow_recov succor smca sev sev_es",
		guestOnly: []string{"virt-ssbd"},
	}}
}

// kvmAdds are features KVM gives every guest whatever the host lists, and
// kvmDrops host features `-cpu host` does not pass on (debug store,
// thermal and power monitoring, MONITOR/MWAIT, AMD IBS and friends, the
// unmigratable invariant TSC, Intel PT without pt_mode=1).
var (
	kvmAdds  = []string{"hypervisor", "x2apic", "tsc-deadline", "arat", "tsc-adjust"}
	kvmDrops = setOf("monitor", "ds", "acpi", "tm", "pbe", "dtes64", "ds-cpl", "smx", "est", "tm2", "xtpr",
		"dca", "ht", "ibs", "skinit", "wdt", "tce", "extapic", "perfctr-nb", "invtsc", "intel-pt")
)

// simulate builds a KVM node's facts. Model definitions get QEMU's KVM
// defaults (x2apic on; monitor, acpi and svm off) before the subset test.
func simulate(n simulatedNode, catalogue map[string]CPUModel, qemuVersion string) Facts {
	host := QEMUFeatures(n.vendor, strings.Fields(n.flags))
	guest := map[string]bool{}
	for _, f := range host {
		guest[f] = !kvmDrops[f]
	}
	for _, f := range append(slices.Clone(kvmAdds), n.guestOnly...) {
		guest[f] = true
	}
	f := Facts{
		Schema: FactsSchema, Vendor: n.vendor, Features: host, Accelerator: AccelKVM,
		UsableModels: []string{"base", "host", "max"}, Models: map[string]CPUModel{},
		HostModelFeatures: sortedKeys(guest), QEMUVersion: qemuVersion,
		QEMUBinary: "/usr/bin/qemu-system-x86_64", KernelVersion: n.kernel,
	}
	for name, m := range catalogue {
		feats := setOf(m.Features...)
		feats["x2apic"], feats["monitor"], feats["acpi"], feats["svm"] = true, false, false, false
		usable := true
		for feat, on := range feats {
			if on && !guest[feat] {
				usable = false
			}
		}
		if usable {
			f.UsableModels = append(f.UsableModels, name)
			f.Models[name] = CPUModel{Vendor: m.Vendor, Features: sortedKeys(feats)}
		}
	}
	slices.Sort(f.UsableModels)
	f.HostModel = chooseBaseline(guest, f)
	return f
}
