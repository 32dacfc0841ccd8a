package cpuinfo

// This file holds the two read-only name tables: the feature names QEMU
// gives CPUID and MSR feature bits, and the Linux /proc/cpuinfo flags that
// QEMU spells differently.

// qemuFeatures is the set of canonical x86 feature names of QEMU's
// feature_word_info (target/i386/cpu.c), from 7.2 onwards, one line per
// feature word. QEMU's alias properties (sse3, sse4_1, sse4-1, xd, i64,
// pclmuldq, lahf_lm, ...) are not listed: a name here is the one QEMU
// itself reports in unavailable-features.
//
// Left out on purpose: the KVM paravirtual leaf (kvmclock, kvm-*), the
// Hyper-V enlightenments (hv-*) and the VMX capability MSRs (vmx-*). They
// are not properties of the host CPU a class can ask for, and the vmx-*
// bits a named model carries under KVM would keep that model from ever
// being a subset of a node's features.
var qemuFeatures = setOf(
	// CPUID 1 EDX
	"fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "sep", "mtrr",
	"pge", "mca", "cmov", "pat", "pse36", "pn", "clflush", "ds", "acpi", "mmx", "fxsr",
	"sse", "sse2", "ss", "ht", "tm", "ia64", "pbe",
	// CPUID 1 ECX
	"pni", "pclmulqdq", "dtes64", "monitor", "ds-cpl", "vmx", "smx", "est", "tm2", "ssse3",
	"cid", "fma", "cx16", "xtpr", "pdcm", "pcid", "dca", "sse4.1", "sse4.2", "x2apic",
	"movbe", "popcnt", "tsc-deadline", "aes", "xsave", "avx", "f16c", "rdrand", "hypervisor",
	// CPUID 8000_0001 EDX
	"syscall", "nx", "mmxext", "fxsr-opt", "pdpe1gb", "rdtscp", "lm", "3dnowext", "3dnow",
	// CPUID 8000_0001 ECX
	"lahf-lm", "cmp-legacy", "svm", "extapic", "cr8legacy", "abm", "sse4a", "misalignsse",
	"3dnowprefetch", "osvw", "ibs", "xop", "skinit", "wdt", "lwp", "fma4", "tce",
	"nodeid-msr", "tbm", "topoext", "perfctr-core", "perfctr-nb",
	// CPUID C000_0001 EDX (VIA PadLock)
	"xstore", "xstore-en", "xcrypt", "xcrypt-en", "ace2", "ace2-en", "phe", "phe-en", "pmm", "pmm-en",
	// CPUID 8000_000A EDX (SVM)
	"npt", "lbrv", "svm-lock", "nrip-save", "tsc-scale", "vmcb-clean", "flushbyasid",
	"decodeassists", "pause-filter", "pfthreshold", "avic", "v-vmsave-vmload", "vgif", "vnmi",
	"svme-addr-chk",
	// CPUID 7.0 EBX
	"fsgsbase", "tsc-adjust", "sgx", "bmi1", "hle", "avx2", "fdp-excptn-only", "smep", "bmi2",
	"erms", "invpcid", "rtm", "zero-fcs-fds", "mpx", "avx512f", "avx512dq", "rdseed", "adx",
	"smap", "avx512ifma", "pcommit", "clflushopt", "clwb", "intel-pt", "avx512pf", "avx512er",
	"avx512cd", "sha-ni", "avx512bw", "avx512vl",
	// CPUID 7.0 ECX
	"avx512vbmi", "umip", "pku", "waitpkg", "avx512vbmi2", "gfni", "vaes", "vpclmulqdq",
	"avx512vnni", "avx512bitalg", "avx512-vpopcntdq", "la57", "rdpid", "bus-lock-detect",
	"cldemote", "movdiri", "movdir64b", "sgxlc", "pks",
	// CPUID 7.0 EDX
	"avx512-4vnniw", "avx512-4fmaps", "fsrm", "avx512-vp2intersect", "md-clear", "serialize",
	"tsx-ldtrk", "arch-lbr", "amx-bf16", "avx512-fp16", "amx-tile", "amx-int8", "spec-ctrl",
	"stibp", "flush-l1d", "arch-capabilities", "core-capability", "ssbd",
	// CPUID 7.1 EAX, 7.1 EDX, 7.2 EDX, 0x24 EBX
	"sha512", "sm3", "sm4", "avx-vnni", "avx512-bf16", "cmpccxadd", "fzrm", "fsrs", "fsrc",
	"fred", "lkgs", "wrmsrns", "amx-fp16", "avx-ifma", "lam",
	"avx-vnni-int8", "avx-ne-convert", "amx-complex", "avx-vnni-int16", "prefetchiti", "avx10",
	"intel-psfd", "ipred-ctrl", "rrsba-ctrl", "ddpd-u", "bhi-ctrl", "mcdt-no",
	"avx10-128", "avx10-256", "avx10-512",
	// CPUID 8000_0007 EDX and EBX, 8000_0008 EBX
	"invtsc", "overflow-recov", "succor",
	"clzero", "xsaveerptr", "wbnoinvd", "ibpb", "ibrs", "amd-stibp", "stibp-always-on",
	"amd-ssbd", "virt-ssbd", "amd-no-ssb", "amd-psfd",
	// CPUID 8000_0021 EAX, 8000_0022 EAX
	"no-nested-data-bp", "lfence-always-serializing", "null-sel-clr-base", "auto-ibrs",
	"eraps", "sbpb", "ibpb-brtype", "srso-no", "srso-user-kernel-no", "perfmon-v2",
	// CPUID 0xD.1 EAX (XSAVE), 6 EAX, 0x14.0 ECX
	"xsaveopt", "xsavec", "xgetbv1", "xsaves", "xfd", "arat", "intel-pt-lip",
	// CPUID 0x12 (SGX)
	"sgx1", "sgx2", "sgx-edeccssa", "sgx-exinfo", "sgx-debug", "sgx-mode64",
	"sgx-provisionkey", "sgx-tokenkey", "sgx-kss", "sgx-aex-notify",
	// MSR IA32_ARCH_CAPABILITIES, IA32_CORE_CAPABILITY, IA32_PERF_CAPABILITIES
	"rdctl-no", "ibrs-all", "rsba", "skip-l1dfl-vmentry", "ssb-no", "mds-no",
	"pschange-mc-no", "tsx-ctrl", "taa-no", "sbdr-ssdp-no", "fbsdp-no", "psdp-no", "fb-clear",
	"bhi-no", "pbrsb-no", "gds-no", "rfds-no", "rfds-clear",
	"split-lock-detect", "full-width-write",
)

// kernelToQEMU maps the /proc/cpuinfo flags whose QEMU name differs. A
// flag absent here keeps its name when QEMU knows it (fpu, pni, avx2,
// ...) and is dropped otherwise: the kernel's synthetic flags
// (constant_tsc, rep_good, nopl, xtopology, cpuid, vmmcall, ...) are no
// CPUID bit a guest could be given.
var kernelToQEMU = map[string]string{
	// CPUID 1
	"dts":                "ds",
	"ds_cpl":             "ds-cpl",
	"sse4_1":             "sse4.1",
	"sse4_2":             "sse4.2",
	"tsc_deadline_timer": "tsc-deadline",
	// CPUID 8000_0001
	"fxsr_opt":     "fxsr-opt",
	"lahf_lm":      "lahf-lm",
	"cmp_legacy":   "cmp-legacy",
	"cr8_legacy":   "cr8legacy",
	"nodeid_msr":   "nodeid-msr",
	"perfctr_core": "perfctr-core",
	"perfctr_nb":   "perfctr-nb",
	// VIA PadLock
	"rng":     "xstore",
	"rng_en":  "xstore-en",
	"ace":     "xcrypt",
	"ace_en":  "xcrypt-en",
	"ace2_en": "ace2-en",
	"phe_en":  "phe-en",
	"pmm_en":  "pmm-en",
	// SVM
	"svm_lock":        "svm-lock",
	"nrip_save":       "nrip-save",
	"tsc_scale":       "tsc-scale",
	"vmcb_clean":      "vmcb-clean",
	"pausefilter":     "pause-filter",
	"v_vmsave_vmload": "v-vmsave-vmload",
	// CPUID 7.0
	"tsc_adjust":          "tsc-adjust",
	"intel_pt":            "intel-pt",
	"sha_ni":              "sha-ni",
	"avx512_vbmi2":        "avx512vbmi2",
	"avx512_vnni":         "avx512vnni",
	"avx512_bitalg":       "avx512bitalg",
	"avx512_vpopcntdq":    "avx512-vpopcntdq",
	"bus_lock_detect":     "bus-lock-detect",
	"sgx_lc":              "sgxlc",
	"avx512_4vnniw":       "avx512-4vnniw",
	"avx512_4fmaps":       "avx512-4fmaps",
	"avx512_vp2intersect": "avx512-vp2intersect",
	"md_clear":            "md-clear",
	"tsxldtrk":            "tsx-ldtrk",
	"arch_lbr":            "arch-lbr",
	"amx_bf16":            "amx-bf16",
	"avx512_fp16":         "avx512-fp16",
	"amx_tile":            "amx-tile",
	"amx_int8":            "amx-int8",
	"flush_l1d":           "flush-l1d",
	"arch_capabilities":   "arch-capabilities",
	"split_lock_detect":   "split-lock-detect",
	// CPUID 7.1
	"avx_vnni":       "avx-vnni",
	"avx512_bf16":    "avx512-bf16",
	"amx_fp16":       "amx-fp16",
	"avx_ifma":       "avx-ifma",
	"avx_vnni_int8":  "avx-vnni-int8",
	"avx_ne_convert": "avx-ne-convert",
	"amx_complex":    "amx-complex",
	"avx_vnni_int16": "avx-vnni-int16",
	// CPUID 8000_0007, 8000_0008, 8000_0021, 8000_0022. The kernel sets
	// nonstop_tsc from the invariant-TSC bit (8000_0007 EDX[8]).
	"nonstop_tsc":       "invtsc",
	"overflow_recov":    "overflow-recov",
	"virt_ssbd":         "virt-ssbd",
	"no_nested_data_bp": "no-nested-data-bp",
	"null_sel_clr_base": "null-sel-clr-base",
	"autoibrs":          "auto-ibrs",
	"perfmon_v2":        "perfmon-v2",
}

// speculationFlags maps the kernel's vendor-neutral speculation-control
// flags, which it derives from different CPUID bits per vendor, to the
// QEMU feature of that vendor's bit.
var speculationFlags = map[string]struct{ intel, amd string }{
	"ibrs":  {"spec-ctrl", "ibrs"},
	"ibpb":  {"spec-ctrl", "ibpb"},
	"stibp": {"stibp", "amd-stibp"},
	"ssbd":  {"ssbd", "amd-ssbd"},
}

func setOf(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}
