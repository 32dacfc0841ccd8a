package cgroup

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
)

// ParseCPUList parses the kernel's list format ("0-3,6,8-9", as in
// cpuset.cpus and Cpus_allowed_list) into sorted CPU numbers. An empty or
// blank string is the empty set.
func ParseCPUList(s string) ([]int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	var out []int
	for part := range strings.SplitSeq(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 0 {
			return nil, fmt.Errorf("parse CPU list %q: bad CPU %q", s, lo)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return nil, fmt.Errorf("parse CPU list %q: bad range %q", s, part)
			}
		}
		for c := a; c <= b; c++ {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// FormatCPUList writes CPU numbers in the kernel's list format, ranges
// collapsed: [0 1 2 5] → "0-2,5". The empty set is "".
func FormatCPUList(cpus []int) string {
	c := slices.Clone(cpus)
	slices.Sort(c)
	c = slices.Compact(c)
	var b strings.Builder
	for i := 0; i < len(c); {
		j := i
		for j+1 < len(c) && c[j+1] == c[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(c[i]))
		if j > i {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(c[j]))
		}
		i = j + 1
	}
	return b.String()
}

// ReadCPUsAllowed returns the CPUs a thread may run on, from the
// Cpus_allowed_list line of /proc/<tid>/status (a TID names its thread
// there as well as under /proc/<pid>/task/<tid>).
func ReadCPUsAllowed(tid int) ([]int, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", tid))
	if err != nil {
		return nil, fmt.Errorf("read CPUs allowed: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "Cpus_allowed_list:"); ok {
			return ParseCPUList(v)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read CPUs allowed of %d: %w", tid, err)
	}
	return nil, fmt.Errorf("read CPUs allowed of %d: no Cpus_allowed_list", tid)
}

// Threads lists the TIDs of a process, from /proc/<pid>/task.
func Threads(pid int) ([]int, error) {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return nil, fmt.Errorf("list threads: %w", err)
	}
	var out []int
	for _, e := range ents {
		if t, err := strconv.Atoi(e.Name()); err == nil {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return out, nil
}
