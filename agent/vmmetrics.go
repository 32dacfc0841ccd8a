package agent

import (
	"davit/agent/vmctl"

	"github.com/prometheus/client_golang/prometheus"
)

// vmCollector exports the cgroup counters of the VMs running on this node
// (davit_vm_*, labelled namespace and name), read at each scrape.
type vmCollector struct {
	vms                                       *vmctl.Controller
	cpu, throttled, throttledPeriods, periods *prometheus.Desc
	mem, memLimit, running                    *prometheus.Desc
}

func newVMCollector(vms *vmctl.Controller) *vmCollector {
	l := []string{"namespace", "name"}
	return &vmCollector{vms: vms,
		cpu:              prometheus.NewDesc("davit_vm_cpu_seconds_total", "CPU time used by the VM's QEMU (its cgroup).", l, nil),
		throttled:        prometheus.NewDesc("davit_vm_cpu_throttled_seconds_total", "Time the VM was throttled by its CFS quota (its cores).", l, nil),
		throttledPeriods: prometheus.NewDesc("davit_vm_cpu_throttled_periods_total", "CFS periods in which the VM was throttled.", l, nil),
		periods:          prometheus.NewDesc("davit_vm_cpu_periods_total", "CFS periods in which the VM ran.", l, nil),
		mem:              prometheus.NewDesc("davit_vm_memory_bytes", "Memory charged to the VM's cgroup.", l, nil),
		memLimit:         prometheus.NewDesc("davit_vm_memory_limit_bytes", "The VM's cgroup memory limit (memory plus overhead).", l, nil),
		running:          prometheus.NewDesc("davit_vms_running", "VMs running on this node with a readable cgroup.", nil, nil),
	}
}

func (c *vmCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.cpu, c.throttled, c.throttledPeriods, c.periods, c.mem, c.memLimit, c.running} {
		ch <- d
	}
}

func (c *vmCollector) Collect(ch chan<- prometheus.Metric) {
	usage := c.vms.Usage()
	for _, u := range usage {
		s := u.Stats
		for _, m := range []struct {
			d *prometheus.Desc
			t prometheus.ValueType
			v float64
		}{
			{c.cpu, prometheus.CounterValue, float64(s.UsageNs) / 1e9},
			{c.throttled, prometheus.CounterValue, float64(s.ThrottledNs) / 1e9},
			{c.throttledPeriods, prometheus.CounterValue, float64(s.ThrottledPeriods)},
			{c.periods, prometheus.CounterValue, float64(s.Periods)},
			{c.mem, prometheus.GaugeValue, float64(s.MemoryUsageBytes)},
			{c.memLimit, prometheus.GaugeValue, float64(s.MemoryLimitBytes)},
		} {
			ch <- prometheus.MustNewConstMetric(m.d, m.t, m.v, u.Namespace, u.Name)
		}
	}
	ch <- prometheus.MustNewConstMetric(c.running, prometheus.GaugeValue, float64(len(usage)))
}
