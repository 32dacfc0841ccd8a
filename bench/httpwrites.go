package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// startAgent starts a single-node agent process and waits until it is ready.
func startAgent(bin, dir string, extra ...string) (*exec.Cmd, string, error) {
	return startNamedAgent(bin, dir, "bench", extra...)
}

// startNamedAgent starts an agent process named name and waits until it is
// ready.
func startNamedAgent(bin, dir, name string, extra ...string) (*exec.Cmd, string, error) {
	httpAddr, err := freeAddr()
	if err != nil {
		return nil, "", err
	}
	raftAddr, err := freeAddr()
	if err != nil {
		return nil, "", err
	}
	cmd := exec.Command(bin, append([]string{"agent", "--data-dir", dir, "--node-name", name,
		"--http-addr", httpAddr, "--raft-addr", raftAddr, "--log-level", "error"}, extra...)...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	base := "http://" + httpAddr
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return cmd, base, nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	stopAgent(cmd)
	return nil, "", fmt.Errorf("agent at %s not ready after 30s", base)
}

func stopAgent(cmd *exec.Cmd) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// benchClass is the object every benchmark write creates.
func benchClass(name string) []byte {
	b, _ := json.Marshal(map[string]any{
		"apiVersion": "virtualization.deckhouse.io/v1alpha2", "kind": "VirtualMachineClass",
		"metadata": map[string]any{"name": name, "labels": map[string]string{"bench": "raft"}},
		"spec": map[string]any{
			"cpu": map[string]any{"type": "Model", "model": "Nehalem"},
			"sizingPolicies": []any{map[string]any{
				"cores":         map[string]any{"min": 1, "max": 4},
				"memory":        map[string]any{"min": "1Gi", "max": "8Gi", "step": "512Mi"},
				"coreFractions": []int{5, 10, 20, 50, 100},
			}},
		},
	})
	return b
}

// httpWrites measures creates per second through the HTTP API and returns
// the size of one written object, for the baseline's entry size.
func httpWrites(bin, dir string, d time.Duration, clients int) (float64, int, error) {
	cmd, base, err := startAgent(bin, dir)
	if err != nil {
		return 0, 0, err
	}
	defer stopAgent(cmd)
	return writeLoad([]string{base}, d, clients)
}

// writeLoad has clients create objects through the given agents (client
// i uses agent i mod n) for d and returns creates per second and the size
// of one written object.
func writeLoad(bases []string, d time.Duration, clients int) (float64, int, error) {
	tr := &http.Transport{MaxIdleConnsPerHost: clients}
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	var done, failed atomic.Int64
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var wg sync.WaitGroup
	start := time.Now()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				name := fmt.Sprintf("bench-%d-%d", c, i)
				base := bases[c%len(bases)]
				req, _ := http.NewRequest(http.MethodPut, base+"/v1/virtualmachineclasses/"+name, bytes.NewReader(benchClass(name)))
				resp, err := hc.Do(req)
				if err != nil {
					failed.Add(1)
					continue
				}
				resp.Body.Close()
				if resp.StatusCode == http.StatusCreated {
					done.Add(1)
				} else {
					failed.Add(1)
				}
			}
		}(c)
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	if failed.Load() > 0 {
		fmt.Printf("  (%d writes failed)\n", failed.Load())
	}
	return float64(done.Load()) / elapsed, len(benchClass("bench-00-00000")) + 64, nil
}
