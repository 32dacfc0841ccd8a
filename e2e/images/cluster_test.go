package e2eimages

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"davit/agent/imagectl"
	"davit/api"
	"davit/e2e/cluster"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// An image imported on one node is replicated to a peer (imageReplicas 2
// of 3 nodes); when the importing node is killed the replica serves it,
// the image stays Ready, and the leader gives the lost copy to the third
// node.
func TestReplicasSurviveHolderLoss(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster")
	}
	dir := fixtures(t)
	cfg := filepath.Join(t.TempDir(), "agent.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte("images:\n  nodeLostAfter: 3s\n"), 0o644))
	c := cluster.New(t, 3, cluster.Options{ExtraArgs: []string{"--config", cfg}})
	n0 := c.Nodes[0]
	_, errOut, code := n0.CLI(uploadYAML("replicated"), "apply", "-f", "-")
	require.Equal(t, 0, code, errOut)

	st := waitNode(t, n0, "replicated", func(st imagectl.Status) bool {
		return st.Phase == api.ImageWaitForUserUpload && st.ImageUploadURLs != nil
	})
	body, err := os.ReadFile(filepath.Join(dir, fileQCOW2))
	require.NoError(t, err)
	secret := filepath.Base(st.ImageUploadURLs.External)
	req, err := http.NewRequest(http.MethodPut, n0.URL()+"/upload/"+secret, bytes.NewReader(body))
	require.NoError(t, err)
	resp, err := n0.Client().Do(req)
	require.NoError(t, err)
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", msg)

	st = waitNode(t, n0, "replicated", func(st imagectl.Status) bool {
		return st.Phase == api.ImageReady && len(st.Blob.Holders) == 2
	})
	digest := st.Blob.Digest
	require.Contains(t, st.Blob.Holders, n0.Name, "imported where it was uploaded")
	var replica, third *cluster.Node
	for _, nd := range c.Nodes[1:] {
		if slices.Contains(st.Blob.Holders, nd.Name) {
			replica = nd
		} else {
			third = nd
		}
	}
	require.NotNil(t, replica)
	require.NotNil(t, third)
	assert.FileExists(t, filepath.Join(replica.DataDir, "images", "sha256", strings.TrimPrefix(digest, "sha256:")))
	// A node without the blob redirects to a holder.
	assert.Equal(t, digest, fetchBlob(t, third, digest))

	n0.Kill()
	assert.Equal(t, digest, fetchBlob(t, replica, digest), "the replica serves the blob")
	st = waitNode(t, replica, "replicated", func(st imagectl.Status) bool { return true })
	assert.Equal(t, api.ImageReady, st.Phase, "the image stays Ready")

	// The lost holder is replaced by the third node.
	st = waitNode(t, replica, "replicated", func(st imagectl.Status) bool {
		return st.Blob != nil && slices.Equal(st.Blob.Holders, sortedPair(replica.Name, third.Name))
	})
	assert.Equal(t, api.ImageReady, st.Phase)
	assert.FileExists(t, filepath.Join(third.DataDir, "images", "sha256", strings.TrimPrefix(digest, "sha256:")))
	assert.Equal(t, digest, fetchBlob(t, third, digest))
}

func sortedPair(a, b string) []string {
	s := []string{a, b}
	slices.Sort(s)
	return s
}

// waitNode polls an image through one node until cond holds.
func waitNode(t *testing.T, nd *cluster.Node, name string, cond func(imagectl.Status) bool) imagectl.Status {
	t.Helper()
	var st imagectl.Status
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := nd.Client().Get(nd.URL() + "/v1/clustervirtualimages/" + name)
		if err == nil {
			var obj struct {
				Status imagectl.Status `json:"status"`
			}
			err = json.NewDecoder(resp.Body).Decode(&obj)
			resp.Body.Close()
			if err == nil && resp.StatusCode == http.StatusOK {
				st = obj.Status
				if cond(st) {
					return st
				}
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	b, _ := json.Marshal(st)
	t.Fatalf("image %s never reached the expected state through %s: %s", name, nd.Name, b)
	return st
}

// fetchBlob downloads a blob from a node and returns the digest of what
// arrived.
func fetchBlob(t *testing.T, nd *cluster.Node, digest string) string {
	t.Helper()
	resp, err := nd.Client().Get(nd.URL() + "/v1/blobs/" + digest)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	h := sha256.New()
	_, err = io.Copy(h, resp.Body)
	require.NoError(t, err)
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}
