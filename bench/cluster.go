package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// clusterWrites starts three agents on loopback (the first bootstraps, the
// others join it) and measures creates per second with clients spread
// over all three.
func clusterWrites(bin, dir string, d time.Duration, clients int) (float64, int, error) {
	var cmds []*exec.Cmd
	defer func() {
		for _, c := range cmds {
			stopAgent(c)
		}
	}()
	first, base0, err := startNamedAgent(bin, filepath.Join(dir, "n0"), "n0")
	if err != nil {
		return 0, 0, err
	}
	cmds = append(cmds, first)
	tok, err := os.ReadFile(filepath.Join(dir, "n0", "join-token"))
	if err != nil {
		return 0, 0, fmt.Errorf("read join token: %w", err)
	}
	bases := []string{base0}
	for i := 1; i < 3; i++ {
		c, base, err := startNamedAgent(bin, filepath.Join(dir, fmt.Sprint("n", i)), fmt.Sprint("n", i),
			"--join", strings.TrimPrefix(base0, "http://"), "--join-token", strings.TrimSpace(string(tok)))
		if err != nil {
			return 0, 0, err
		}
		cmds = append(cmds, c)
		bases = append(bases, base)
	}
	return writeLoad(bases, d, clients)
}
