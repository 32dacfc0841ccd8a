package images

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// qemuImgWaitDelay bounds how long Wait waits for qemu-img's pipes after
// the process was killed by a cancelled context.
const qemuImgWaitDelay = 5 * time.Second

// ImageInfo is what `qemu-img info` says of an image.
type ImageInfo struct {
	Format      string // qemu-img's name: qcow2, vpc, raw, ...
	VirtualSize int64  // bytes the guest sees
	ActualSize  int64  // bytes allocated on the host
	BackingFile string // set when the image depends on another file
	DataFile    string // qcow2 external data file, if any
	Encrypted   bool
	Corrupt     bool // qcow2's own corrupt flag
}

// Info runs `qemu-img info --output=json` on path, read as format (never
// probed). An image qemu-img cannot open matches ErrCorruptImage.
func Info(ctx context.Context, path string, format Format) (ImageInfo, error) {
	out, err := runQemuImg(ctx, "info", "--output=json", "-f", format.QemuFormat(), path)
	if err != nil {
		return ImageInfo{}, fmt.Errorf("inspect %s image: %w", format, err)
	}
	var raw struct {
		Format         string `json:"format"`
		VirtualSize    int64  `json:"virtual-size"`
		ActualSize     int64  `json:"actual-size"`
		BackingFile    string `json:"backing-filename"`
		Encrypted      bool   `json:"encrypted"`
		FormatSpecific struct {
			Data struct {
				DataFile string `json:"data-file"`
				Corrupt  bool   `json:"corrupt"`
			} `json:"data"`
		} `json:"format-specific"`
	}
	if err := json.Unmarshal(out, &raw); err != nil {
		return ImageInfo{}, fmt.Errorf("parse qemu-img info output: %w", err)
	}
	return ImageInfo{
		Format: raw.Format, VirtualSize: raw.VirtualSize, ActualSize: raw.ActualSize,
		BackingFile: raw.BackingFile, DataFile: raw.FormatSpecific.Data.DataFile,
		Encrypted: raw.Encrypted, Corrupt: raw.FormatSpecific.Data.Corrupt,
	}, nil
}

// Checkable reports whether `qemu-img check` supports format.
func Checkable(format Format) bool {
	switch format {
	case FormatQCOW2, FormatVDI, FormatVHDX, FormatVMDK:
		return true
	}
	return false
}

// Check runs `qemu-img check` on path. Corruption (a truncated file, broken
// tables) matches ErrCorruptImage; leaked clusters are harmless and pass.
// Formats without a check pass.
func Check(ctx context.Context, path string, format Format) error {
	if !Checkable(format) {
		return nil
	}
	out, err := runQemuImg(ctx, "check", "--output=json", "-f", format.QemuFormat(), path)
	var exitErr *qemuImgError
	switch {
	case err == nil:
		return nil
	case !errors.As(err, &exitErr):
		return fmt.Errorf("check %s image: %w", format, err)
	case exitErr.code == 3: // leaks only
		return nil
	case exitErr.code == 63: // this format has no check
		return nil
	}
	var res struct {
		Corruptions int `json:"corruptions"`
		CheckErrors int `json:"check-errors"`
	}
	_ = json.Unmarshal(out, &res) // absent when the image could not be opened
	found := "qemu-img check"
	if n := res.Corruptions + res.CheckErrors; n > 0 {
		found = fmt.Sprintf("qemu-img check found %d errors", n)
	}
	return fmt.Errorf("check %s image: %w (%s: %s); the file is truncated or damaged: download or export it again",
		format, ErrCorruptImage, found, exitErr.firstLine())
}

var convertProgressRe = regexp.MustCompile(`\(\s*([0-9]+(?:\.[0-9]+)?)/100%\)`)

// Convert writes src (read as srcFormat) to dst as qcow2 with
// `qemu-img convert -p`, calling progress with 0..100 as it goes.
func Convert(ctx context.Context, src string, srcFormat Format, dst string, progress func(pct float64)) error {
	bin, err := exec.LookPath("qemu-img")
	if err != nil {
		return fmt.Errorf("convert image: %w", ErrQemuImgMissing)
	}
	cmd := exec.CommandContext(ctx, bin, "convert", "-p", "-f", srcFormat.QemuFormat(), "-O", "qcow2", src, dst)
	cmd.WaitDelay = qemuImgWaitDelay
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("convert image: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("convert image: start qemu-img: %w", err)
	}
	sc := bufio.NewScanner(stdout)
	sc.Split(splitCRLF)
	for sc.Scan() {
		m := convertProgressRe.FindSubmatch(sc.Bytes())
		if m == nil || progress == nil {
			continue
		}
		if pct, err := strconv.ParseFloat(string(m[1]), 64); err == nil {
			progress(pct)
		}
	}
	if err := cmd.Wait(); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("convert %s image: %w", srcFormat, ctx.Err())
		}
		return fmt.Errorf("convert %s image to qcow2: %w", srcFormat, &qemuImgError{args: "convert", code: exitCode(err), stderr: stderr.String()})
	}
	return nil
}

// Create makes a blank qcow2 disk of size bytes at path.
func Create(ctx context.Context, path string, size int64) error {
	if _, err := runQemuImg(ctx, "create", "-q", "-f", "qcow2", path, strconv.FormatInt(size, 10)); err != nil {
		return fmt.Errorf("create qcow2 disk: %w", unwrapCorrupt(err))
	}
	return nil
}

// Resize grows (or, with shrink, shrinks) the disk at path to size bytes.
func Resize(ctx context.Context, path string, format Format, size int64, shrink bool) error {
	args := []string{"resize", "-q", "-f", format.QemuFormat()}
	if shrink {
		args = append(args, "--shrink")
	}
	if _, err := runQemuImg(ctx, append(args, path, strconv.FormatInt(size, 10))...); err != nil {
		return fmt.Errorf("resize %s disk: %w", format, unwrapCorrupt(err))
	}
	return nil
}

// unwrapCorrupt drops runQemuImg's ErrCorruptImage for commands that do
// not read an untrusted image, keeping qemu-img's own message.
func unwrapCorrupt(err error) error {
	var qerr *qemuImgError
	if errors.As(err, &qerr) {
		return qerr
	}
	return err
}

// splitCRLF splits qemu-img's progress output, which ends lines with \r.
func splitCRLF(data []byte, atEOF bool) (int, []byte, error) {
	if i := bytes.IndexAny(data, "\r\n"); i >= 0 {
		return i + 1, data[:i], nil
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}

// qemuImgError is a qemu-img run that exited non-zero.
type qemuImgError struct {
	args   string
	code   int
	stderr string
}

func (e *qemuImgError) Error() string {
	return fmt.Sprintf("qemu-img %s exited with status %d: %s", e.args, e.code, e.firstLine())
}

// firstLine is the first meaningful line of stderr, without the
// "qemu-img: " prefix.
func (e *qemuImgError) firstLine() string {
	for _, line := range strings.Split(e.stderr, "\n") {
		line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "qemu-img:"))
		if line != "" {
			return line
		}
	}
	return fmt.Sprintf("qemu-img exited with status %d", e.code)
}

// runQemuImg runs qemu-img and returns its stdout. A non-zero exit is a
// *qemuImgError matching ErrCorruptImage for info (the file matched a
// format's signature but qemu-img cannot read it); only check inspects the
// code further.
func runQemuImg(ctx context.Context, args ...string) ([]byte, error) {
	bin, err := exec.LookPath("qemu-img")
	if err != nil {
		return nil, ErrQemuImgMissing
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.WaitDelay = qemuImgWaitDelay
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			return nil, fmt.Errorf("run qemu-img %s: %w", args[0], err)
		}
		qerr := &qemuImgError{args: args[0], code: ee.ExitCode(), stderr: stderr.String()}
		if args[0] == "check" {
			return stdout.Bytes(), qerr
		}
		return nil, fmt.Errorf("%w: %w", ErrCorruptImage, qerr)
	}
	return stdout.Bytes(), nil
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}
