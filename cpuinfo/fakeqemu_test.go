package cpuinfo

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The test binary doubles as a fake qemu-system-x86_64: run with
// CPUINFO_FAKE_QEMU=<major.minor.micro> it answers `--version` and speaks
// QMP on stdio like `-machine none -qmp stdio` does, from a small model
// catalogue. CPUINFO_FAKE_QEMU_MODE=nokvm makes `-accel kvm` fail as QEMU
// does without /dev/kvm; =hang never greets.
func TestMain(m *testing.M) {
	if v := os.Getenv("CPUINFO_FAKE_QEMU"); v != "" {
		os.Exit(fakeQEMUMain(v, os.Getenv("CPUINFO_FAKE_QEMU_MODE"), os.Args[1:]))
	}
	os.Exit(m.Run())
}

// fakeQEMU configures a test to run the test binary as QEMU and returns
// a Config for it.
func fakeQEMU(t *testing.T, version, mode string) Config {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("CPUINFO_FAKE_QEMU", version)
	t.Setenv("CPUINFO_FAKE_QEMU_MODE", mode)
	cfg := DefaultConfig()
	cfg.QEMUBinary = exe
	cfg.Timeout = 10 * time.Second
	cfg.CPUInfoPath = "testdata/cpuinfo-epyc-pvm.txt"
	return cfg
}

func fakeQEMUMain(version, mode string, args []string) int {
	accel := ""
	for i, a := range args {
		if a == "--version" {
			fmt.Printf("QEMU emulator version %s (fake)\nCopyright (c) the fake\n", version)
			return 0
		}
		if a == "-accel" && i+1 < len(args) {
			accel = args[i+1]
		}
	}
	switch {
	case mode == "nokvm" && accel == AccelKVM:
		fmt.Fprintln(os.Stderr, "Could not access KVM kernel module: No such file or directory")
		fmt.Fprintln(os.Stderr, "qemu-system-x86_64: -accel kvm: failed to initialize kvm: No such file or directory")
		return 1
	case mode == "hang":
		time.Sleep(time.Hour)
		return 0
	}
	if err := serveFakeQMP(os.Stdin, os.Stdout, version, accel); err != nil {
		fmt.Fprintln(os.Stderr, "fake qemu:", err)
		return 1
	}
	return 0
}

type fakeModel struct {
	vendor      string
	features    []string
	unavailable []string
}

func fakeCatalogue(accel string) map[string]fakeModel {
	base64 := strings.Fields("fpu de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 " +
		"clflush mmx fxsr sse sse2 pni cx16 hypervisor syscall nx lm")
	with := func(list []string, more ...string) []string {
		return append(append([]string(nil), list...), more...)
	}
	nehalem := with(base64, "ssse3", "sse4.1", "sse4.2", "popcnt", "lahf-lm")
	westmere := with(nehalem, "aes", "pclmulqdq")
	maxFeatures := with(westmere, "avx", "rdrand", "svm", "abm", "rdtscp")
	host := fakeModel{vendor: VendorIntel, unavailable: []string{"kvm"}}
	if accel == AccelKVM {
		host = fakeModel{vendor: VendorIntel, features: maxFeatures}
	}
	return map[string]fakeModel{
		"qemu64":      {vendor: VendorAMD, features: with(base64, "lahf-lm", "svm")},
		"kvm64":       {vendor: VendorIntel, features: base64},
		"Opteron_G2":  {vendor: VendorAMD, features: with(base64, "lahf-lm", "svm", "rdtscp")},
		"Nehalem":     {vendor: VendorIntel, features: nehalem},
		"Westmere":    {vendor: VendorIntel, features: westmere},
		"Westmere-v1": {vendor: VendorIntel, features: westmere},
		"SandyBridge": {vendor: VendorIntel, features: with(westmere, "avx", "x2apic"), unavailable: []string{"x2apic"}},
		"max":         {vendor: VendorAMD, features: maxFeatures},
		"base":        {},
		"host":        host,
	}
}

// serveFakeQMP speaks QMP on r/w until r ends: the greeting, then one
// answer per command, with an event before the cpu definitions.
func serveFakeQMP(r io.Reader, w io.Writer, version, accel string) error {
	enc := json.NewEncoder(w)
	var v [3]int
	for i, part := range strings.SplitN(version, ".", 3) {
		v[i], _ = strconv.Atoi(part)
	}
	ver := map[string]any{"qemu": map[string]int{"major": v[0], "minor": v[1], "micro": v[2]}, "package": "fake"}
	if err := enc.Encode(map[string]any{"QMP": map[string]any{"version": ver, "capabilities": []string{"oob"}}}); err != nil {
		return err
	}
	cat := fakeCatalogue(accel)
	dec := json.NewDecoder(r)
	for {
		var req struct {
			Execute   string `json:"execute"`
			Arguments struct {
				Model struct{ Name string } `json:"model"`
			} `json:"arguments"`
			ID any `json:"id"`
		}
		if err := dec.Decode(&req); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		var ret any
		var qerr map[string]string
		switch req.Execute {
		case "qmp_capabilities":
			ret = map[string]any{}
		case "query-version":
			ret = ver
		case "query-cpu-definitions":
			_ = enc.Encode(map[string]any{"event": "RTC_CHANGE", "data": map[string]int{"offset": 0}})
			var defs []map[string]any
			for name, m := range cat {
				defs = append(defs, map[string]any{"name": name, "unavailable-features": append([]string{}, m.unavailable...)})
			}
			ret = defs
		case "query-cpu-model-expansion":
			m, ok := cat[req.Arguments.Model.Name]
			if !ok {
				qerr = map[string]string{"class": "GenericError", "desc": "The CPU type '" + req.Arguments.Model.Name + "' is not a recognized"}
				break
			}
			// Like QEMU: aliases and switches that are no features, and
			// features switched off.
			props := map[string]any{"vendor": m.vendor, "family": 6, "check": true, "kvm": true, "l3-cache": true, "avx512f": false}
			for _, f := range m.features {
				props[f] = true
				if f == "sse4.1" {
					props["sse4_1"], props["sse4-1"] = true, true
				}
			}
			ret = map[string]any{"model": map[string]any{"name": req.Arguments.Model.Name, "props": props}}
		default:
			qerr = map[string]string{"class": "CommandNotFound", "desc": "The command " + req.Execute + " has not been found"}
		}
		msg := map[string]any{"id": req.ID, "return": ret}
		if qerr != nil {
			msg = map[string]any{"id": req.ID, "error": qerr}
		}
		if err := enc.Encode(msg); err != nil {
			return err
		}
	}
}
