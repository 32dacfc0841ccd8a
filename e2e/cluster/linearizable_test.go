package cluster

import (
	"context"
	"fmt"
	"math"
	"math/rand"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// regInput is one register operation: a write of Value, or a read.
type regInput struct {
	Write bool
	Value string
}

// registerModel is a single read/write register. A write whose outcome
// is unknown (timeout, 503) may or may not have happened: it is recorded
// with an infinite return time, so the checker may place it anywhere after
// its call.
var registerModel = porcupine.Model{
	Init: func() any { return "" },
	Step: func(state, input, output any) (bool, any) {
		in := input.(regInput)
		if in.Write {
			return true, in.Value
		}
		return output.(string) == state.(string), state
	},
	DescribeOperation: func(input, output any) string {
		in := input.(regInput)
		if in.Write {
			return fmt.Sprintf("put(%q)", in.Value)
		}
		return fmt.Sprintf("get() -> %q", output)
	},
}

// history records operations against a zero time.
type history struct {
	mu    sync.Mutex
	start time.Time
	ops   []porcupine.Operation
}

func (h *history) now() int64 { return int64(time.Since(h.start)) }

func (h *history) add(op porcupine.Operation) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ops = append(h.ops, op)
}

// registerWorkload runs clients that write and read one register through
// random nodes while partition rounds run, and returns the history.
// readNode picks the node a read goes to; consistent selects the read path.
func registerWorkload(t *testing.T, c *Cluster, rounds int, consistent bool, readNode func(round int) int,
	partition func(round int)) []porcupine.Operation {
	h := &history{start: time.Now()}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var round int
	var roundMu sync.Mutex
	var wg sync.WaitGroup
	for cl := 0; cl < 4; cl++ {
		wg.Add(1)
		go func(cl int) {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(cl)))
			for i := 0; ctx.Err() == nil; i++ {
				roundMu.Lock()
				r := round
				roundMu.Unlock()
				op := porcupine.Operation{ClientId: cl, Call: h.now()}
				octx, ocancel := context.WithTimeout(ctx, 3*time.Second)
				if cl%2 == 0 { // writers
					v := fmt.Sprintf("c%d-%d", cl, i)
					op.Input = regInput{Write: true, Value: v}
					code, err := putSecret(octx, c.Nodes[rng.Intn(len(c.Nodes))], "register", v)
					op.Output = ""
					if err == nil && code/100 == 2 {
						op.Return = h.now()
					} else {
						op.Return = math.MaxInt64 // unknown outcome
					}
					h.add(op)
				} else { // readers
					op.Input = regInput{}
					v, code, err := getSecret(octx, c.Nodes[readNode(r)], "register", consistent)
					if err == nil && (code == http.StatusOK || code == http.StatusNotFound) {
						op.Output, op.Return = v, h.now()
						h.add(op)
					}
				}
				ocancel()
				time.Sleep(time.Duration(rng.Intn(20)) * time.Millisecond)
			}
		}(cl)
	}
	for r := 0; r < rounds; r++ {
		roundMu.Lock()
		round = r
		roundMu.Unlock()
		partition(r)
		time.Sleep(700 * time.Millisecond)
		c.Heal()
		time.Sleep(700 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	return h.ops
}

func check(t *testing.T, ops []porcupine.Operation) porcupine.CheckResult {
	t.Helper()
	res := porcupine.CheckOperationsTimeout(registerModel, ops, 60*time.Second)
	require.NotEqual(t, porcupine.Unknown, res, "checker timed out on %d operations", len(ops))
	return res
}

// TestLinearizableUnderPartitions: consistent reads and writes across the
// three nodes, through 10 rounds of partitions (a random node isolated,
// the leader included) and heals, form a linearizable history.
func TestLinearizableUnderPartitions(t *testing.T) {
	c := newCluster(t, 3, "--log-level", "info")
	code, err := putSecret(context.Background(), c.Nodes[0], "register", "")
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, code)
	rng := rand.New(rand.NewSource(42))
	ops := registerWorkload(t, c, 10, true,
		func(int) int { return rand.Intn(3) },
		func(r int) {
			alone := rng.Intn(3)
			var rest []int
			for i := 0; i < 3; i++ {
				if i != alone {
					rest = append(rest, i)
				}
			}
			c.Partition(rest, []int{alone})
		})
	t.Logf("%d operations recorded", len(ops))
	require.Greater(t, len(ops), 40)
	assert.Equal(t, porcupine.Ok, check(t, ops), "history is not linearizable")
}

// TestStaleReadsAreCaught is the test of the test: the same checker on the
// same workload, but reading locally (no consistent=1) from a node cut off
// from the majority, must find the history not linearizable.
func TestStaleReadsAreCaught(t *testing.T) {
	c := newCluster(t, 3, "--log-level", "info")
	code, err := putSecret(context.Background(), c.Nodes[0], "register", "")
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, code)
	// Isolate a follower, so the majority keeps its leader and its writes
	// complete while the isolated node still answers reads from its state.
	ld := -1
	require.Eventually(t, func() bool { ld = c.leader(); return ld >= 0 }, 10*time.Second, 50*time.Millisecond)
	alone := (ld + 1) % 3
	ops := registerWorkload(t, c, 2, false,
		func(int) int { return alone },
		func(int) { c.Partition([]int{ld, (ld + 2) % 3}, []int{alone}) })
	t.Logf("%d operations recorded", len(ops))
	assert.Equal(t, porcupine.Illegal, check(t, ops), "the checker accepted stale reads")
}
