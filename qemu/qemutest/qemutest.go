package qemutest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ErrMissingTool: the machine lacks a tool the guest build needs (the
// script exits 3 and names the Debian package).
var ErrMissingTool = errors.New("missing tool for the test guest")

// GuestFiles are the built test guest's files.
type GuestFiles struct {
	Dir     string
	Vmlinux string // uncompressed kernel (fastest direct boot)
	Vmlinuz string
	Initrd  string
	Disk    string // bootable qcow2 (BIOS, syslinux)
	ISO     string // isolinux ISO
}

// ModuleRoot finds the davit module root: from this source file when the
// source tree is there, else upwards from the working directory.
func ModuleRoot() (string, error) {
	var starts []string
	if _, file, _, ok := runtime.Caller(0); ok {
		starts = append(starts, filepath.Dir(file))
	}
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	for _, dir := range starts {
		for d := dir; ; d = filepath.Dir(d) {
			if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && bytes.HasPrefix(b, []byte("module davit\n")) {
				return d, nil
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	return "", errors.New("find module root: no go.mod of module davit above here")
}

// CacheDir is where the guest is built: $DAVIT_GUEST_DIR, else
// <module root>/build/guest.
func CacheDir() (string, error) {
	if d := os.Getenv("DAVIT_GUEST_DIR"); d != "" {
		return d, nil
	}
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "build", "guest"), nil
}

// Build runs scripts/build-test-guest.sh into outDir (cached) and returns
// the guest. ErrMissingTool when a tool is missing.
func Build(ctx context.Context, outDir string) (GuestFiles, error) {
	root, err := ModuleRoot()
	if err != nil {
		return GuestFiles{}, err
	}
	script := filepath.Join(root, "scripts", "build-test-guest.sh")
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "bash", script, outDir)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() == 3 {
			return GuestFiles{}, fmt.Errorf("%w: %s", ErrMissingTool, strings.TrimSpace(stderr.String()))
		}
		return GuestFiles{}, fmt.Errorf("build test guest: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	g := GuestFiles{Dir: outDir}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		switch filepath.Base(line) {
		case "vmlinux":
			g.Vmlinux = line
		case "vmlinuz":
			g.Vmlinuz = line
		case "initrd.img":
			g.Initrd = line
		case "disk.qcow2":
			g.Disk = line
		case "guest.iso":
			g.ISO = line
		}
	}
	if g.Vmlinux == "" || g.Initrd == "" || g.Disk == "" || g.ISO == "" {
		return GuestFiles{}, fmt.Errorf("build test guest: unexpected output %q", out)
	}
	g.Dir = filepath.Dir(g.Vmlinux)
	return g, nil
}

// NeedQEMU skips the test when qemu-system-x86_64 (Debian
// qemu-system-x86) is not installed.
func NeedQEMU(tb testing.TB) {
	tb.Helper()
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		tb.Skip("qemu-system-x86_64 not installed (apt-get install qemu-system-x86 qemu-utils)")
	}
}

// Guest builds (or finds in the cache) the test guest, skipping the
// test with the reason when QEMU or a build tool is missing and failing
// it on any other error.
func Guest(tb testing.TB) GuestFiles {
	tb.Helper()
	NeedQEMU(tb)
	dir, err := CacheDir()
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	g, err := Build(ctx, dir)
	if errors.Is(err, ErrMissingTool) {
		tb.Skip(err.Error())
	}
	if err != nil {
		tb.Fatal(err)
	}
	return g
}

// ShortDir returns a fresh directory with a short path (unix socket paths
// are limited to 107 bytes, and t.TempDir's can be long), removed when
// the test ends.
func ShortDir(tb testing.TB) string {
	tb.Helper()
	d, err := os.MkdirTemp("", "dq")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = os.RemoveAll(d) })
	return d
}

// FormatArgv writes a QEMU argv one option per line with its value,
// quoting values that hold spaces: the layout of the golden files of the
// qemu package and of the VM controller.
func FormatArgv(argv []string) string {
	var b strings.Builder
	for i, a := range argv {
		if strings.ContainsAny(a, " \t") {
			a = strconv.Quote(a)
		}
		switch {
		case i == 0:
			b.WriteString(a)
		case strings.HasPrefix(a, "-"):
			b.WriteString("\n" + a)
		default:
			b.WriteString(" " + a)
		}
	}
	return b.String() + "\n"
}
