package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func secretJSON(name string, i int) []byte {
	return []byte(fmt.Sprintf(`{"apiVersion":"davit/v1","kind":"Secret","metadata":{"name":%q,"namespace":"default"},"type":"Opaque","data":{"n":"%s"}}`,
		name, b64(fmt.Sprint(i))))
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// TestKill9LosesNoAcknowledgedWrite: 8 clients write while the agent is
// killed with SIGKILL; after a restart every write that got a 2xx is there.
func TestKill9LosesNoAcknowledgedWrite(t *testing.T) {
	a := startSingle(t)
	hc := &http.Client{Timeout: 5 * time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	acked := map[string]bool{}
	var wg sync.WaitGroup
	for c := 0; c < 8; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				name := fmt.Sprintf("w%d-%d", c, i)
				req, _ := http.NewRequest(http.MethodPut, a.URL()+"/v1/namespaces/default/secrets/"+name, bytes.NewReader(secretJSON(name, i)))
				resp, err := hc.Do(req)
				if err != nil {
					return // the agent died
				}
				resp.Body.Close()
				if resp.StatusCode/100 == 2 {
					mu.Lock()
					acked[name] = true
					mu.Unlock()
				}
			}
		}(c)
	}
	time.Sleep(1500 * time.Millisecond)
	a.Kill()
	cancel()
	wg.Wait()
	require.NotEmpty(t, acked, "no write was acknowledged before the kill")
	a.Start()
	for name := range acked {
		resp, err := hc.Get(a.URL() + "/v1/namespaces/default/secrets/" + name)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode, "acknowledged write %s lost", name)
	}
	t.Logf("%d acknowledged writes survived kill -9", len(acked))
}
