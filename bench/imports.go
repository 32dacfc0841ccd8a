package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// importSize is the benchmark image: 512 MiB of incompressible data, so
// every qcow2 cluster is allocated and nothing is skipped as zeros.
const importSize = 512 << 20

// importBench measures an HTTP import by a davit agent against `curl -o`
// of the same file from the same loopback server, in the same run:
//   - a raw image, which the import converts to qcow2 (download,
//     checksum, spool, qemu-img check and convert, store);
//   - the same data as qcow2, which is stored as it is (download,
//     checksum, spool, qemu-img check, store).
//
// Times run from the PUT of the image until the agent reports Ready, as a
// user waits for it; the "job" figures start when the importer reports
// its first progress (leaving out the up to one resync period before the
// job starts).
func importBench(bin, dir string) error {
	fmt.Println("== HTTP image import, 512 MiB, loopback ==")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if _, err := exec.LookPath("curl"); err != nil {
		return fmt.Errorf("curl is needed for the baseline: %w", err)
	}
	raw, qcow, err := importFixtures(dir)
	if err != nil {
		return err
	}
	srv, base, err := serveDir(dir)
	if err != nil {
		return err
	}
	defer srv.Close()
	curlRate, err := curlRate(base+"/"+filepath.Base(raw), filepath.Join(dir, "curl.out"))
	if err != nil {
		return err
	}
	cmd, agentURL, err := startAgent(bin, filepath.Join(dir, "agent"))
	if err != nil {
		return err
	}
	defer stopAgent(cmd)
	rawRate, rawJob, err := timeImport(agentURL, "bench-raw", base+"/"+filepath.Base(raw), raw)
	if err != nil {
		return fmt.Errorf("raw import: %w", err)
	}
	qRate, qJob, err := timeImport(agentURL, "bench-qcow2", base+"/"+filepath.Base(qcow), qcow)
	if err != nil {
		return fmt.Errorf("qcow2 import: %w", err)
	}
	fmt.Printf("curl -o, 512 MiB over loopback HTTP (MiB/s):        %8.0f\n", curlRate)
	fmt.Printf("davit import raw→qcow2, PUT to Ready (MiB/s):       %8.0f  (job alone %.0f)\n", rawRate, rawJob)
	fmt.Printf("ratio davit/curl, with conversion:                  %8.2f  (job alone %.2f)\n", rawRate/curlRate, rawJob/curlRate)
	fmt.Printf("davit import qcow2 (download+checksum+store) (MiB/s): %6.0f  (job alone %.0f)\n", qRate, qJob)
	fmt.Printf("ratio davit/curl, download+checksum+store:          %8.2f  (job alone %.2f)\n", qRate/curlRate, qJob/curlRate)
	return nil
}

// importFixtures writes the raw image and its qcow2 twin.
func importFixtures(dir string) (string, string, error) {
	raw, qcow := filepath.Join(dir, "bench.raw"), filepath.Join(dir, "bench.qcow2")
	f, err := os.Create(raw)
	if err != nil {
		return "", "", err
	}
	src := rand.NewChaCha8([32]byte{'d', 'a', 'v', 'i', 't'})
	_, err = io.CopyN(f, src, importSize)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", "", fmt.Errorf("write %s: %w", raw, err)
	}
	if out, err := exec.Command("qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw, qcow).CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("qemu-img convert: %w: %s", err, out)
	}
	return raw, qcow, nil
}

// serveDir serves dir over HTTP on loopback.
func serveDir(dir string) (*http.Server, string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	srv := &http.Server{Handler: http.FileServer(http.Dir(dir)), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return srv, "http://" + ln.Addr().String(), nil
}

// curlRate downloads url with `curl -o` and returns MiB/s.
func curlRate(url, out string) (float64, error) {
	defer os.Remove(out)
	start := time.Now()
	if b, err := exec.Command("curl", "-sSf", "-o", out, url).CombinedOutput(); err != nil {
		return 0, fmt.Errorf("curl: %w: %s", err, b)
	}
	return mibps(importSize, time.Since(start)), nil
}

// timeImport creates a CVI of url (with its sha256) and returns MiB/s of
// the image's size from the PUT to Ready, and from the job's first
// progress report to Ready.
func timeImport(agentURL, name, url, file string) (float64, float64, error) {
	sum, err := sha256Hex(file)
	if err != nil {
		return 0, 0, err
	}
	body, _ := json.Marshal(map[string]any{
		"apiVersion": "virtualization.deckhouse.io/v1alpha2", "kind": "ClusterVirtualImage",
		"metadata": map[string]any{"name": name},
		"spec": map[string]any{"dataSource": map[string]any{"type": "HTTP",
			"http": map[string]any{"url": url, "checksum": map[string]string{"sha256": sum}}}},
	})
	req, err := http.NewRequest(http.MethodPut, agentURL+"/v1/clustervirtualimages/"+name, bytes.NewReader(body))
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, 0, err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return 0, 0, fmt.Errorf("create image: %s", resp.Status)
	}
	var jobStart time.Time
	for deadline := start.Add(5 * time.Minute); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		phase, progress, msg := imagePhase(agentURL, name)
		if jobStart.IsZero() && progress != "" {
			jobStart = time.Now()
		}
		switch phase {
		case "Ready":
			end := time.Now()
			return mibps(importSize, end.Sub(start)), mibps(importSize, end.Sub(jobStart)), nil
		case "Failed":
			return 0, 0, fmt.Errorf("import failed: %s", msg)
		}
	}
	return 0, 0, fmt.Errorf("image %s not Ready after 5 minutes", name)
}

func imagePhase(agentURL, name string) (phase, progress, msg string) {
	resp, err := http.Get(agentURL + "/v1/clustervirtualimages/" + name)
	if err != nil {
		return "", "", ""
	}
	defer resp.Body.Close()
	var obj struct {
		Status struct {
			Phase      string `json:"phase"`
			Progress   string `json:"progress"`
			Conditions []struct {
				Type, Message string
			} `json:"conditions"`
		} `json:"status"`
	}
	if json.NewDecoder(resp.Body).Decode(&obj) != nil {
		return "", "", ""
	}
	for _, c := range obj.Status.Conditions {
		if c.Type == "Ready" {
			msg = c.Message
		}
	}
	return obj.Status.Phase, obj.Status.Progress, msg
}

func sha256Hex(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func mibps(n int64, d time.Duration) float64 { return float64(n) / (1 << 20) / d.Seconds() }
