package qemu

import (
	"context"
	"testing"
	"time"

	"davit/qemu/qemutest"

	"github.com/stretchr/testify/require"
)

// The figures `make bench` reports, measured once as a test.
func TestBootComparison(t *testing.T) {
	if testing.Short() {
		t.Skip("boots two guests")
	}
	g := qemutest.Guest(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := BootComparison(ctx, g.Dir)
	require.NoError(t, err)
	t.Log(res)
	for _, s := range res.Steps {
		t.Logf("  step %-13s %v", s.Name, s.Took)
	}
	require.Positive(t, res.BareRunning)
	require.Greater(t, res.DavitMarker, res.DavitRunning)
}

func BenchmarkBootComparison(b *testing.B) {
	g := qemutest.Guest(b)
	var davitRun, bareRun, davitMarker, bareMarker time.Duration
	for i := 0; i < b.N; i++ {
		res, err := BootComparison(context.Background(), g.Dir)
		if err != nil {
			b.Fatal(err)
		}
		davitRun += res.DavitRunning
		bareRun += res.BareRunning
		davitMarker += res.DavitMarker
		bareMarker += res.BareMarker
	}
	n := float64(b.N)
	b.ReportMetric(davitRun.Seconds()*1000/n, "davit-running-ms")
	b.ReportMetric(bareRun.Seconds()*1000/n, "bare-running-ms")
	b.ReportMetric(float64(davitRun)/float64(bareRun), "running-ratio")
	b.ReportMetric(davitMarker.Seconds()*1000/n, "davit-marker-ms")
	b.ReportMetric(bareMarker.Seconds()*1000/n, "bare-marker-ms")
	b.ReportMetric(float64(davitMarker)/float64(bareMarker), "marker-ratio")
}
