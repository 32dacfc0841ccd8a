package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"strings"

	"davit/agent/client"
	"davit/api"

	"github.com/cheggaaa/pb/v3"
	"github.com/urfave/cli/v2"
)

// uploadCommand is `davit upload cvi|vi|vd NAME FILE`: the guide's
// `curl URL -T FILE`, with a progress bar on a terminal.
func uploadCommand() *cli.Command {
	return &cli.Command{
		Name:      "upload",
		Usage:     "upload a disk image file to an image or disk waiting for it (dataSource.type Upload)",
		ArgsUsage: "cvi|vi|vd NAME FILE",
		Description: "Sends FILE to the upload URL in the object's status.imageUploadURLs, through the agent named\n" +
			"by --addr, and waits until the agent has imported it. The object must be in phase WaitForUserUpload.\n" +
			"A progress bar is drawn on stderr when it is a terminal.",
		Flags:  []cli.Flag{namespaceFlag()},
		Action: runUpload,
	}
}

func runUpload(c *cli.Context) error {
	if c.NArg() != 3 {
		return usageError(c, "upload takes three arguments: cvi|vi|vd NAME FILE")
	}
	kind, ok := api.LookupKind(c.Args().Get(0))
	if !ok || !uploadable(kind) {
		return usageError(c, "cannot upload to %q: give cvi, vi or vd", c.Args().Get(0))
	}
	name, file := c.Args().Get(1), c.Args().Get(2)
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	ns := ""
	if kind.Namespaced {
		ns = c.String("namespace")
	}
	secret, err := uploadSecret(c.Context, cl, kind, ns, name)
	if err != nil {
		return err
	}
	if err := sendFile(c.Context, cl.BaseURL()+"/upload/"+secret, file, c.App.ErrWriter); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "%s/%s uploaded\n", strings.ToLower(kind.Kind), name)
	return nil
}

func uploadable(k *api.Kind) bool {
	switch k.Kind {
	case api.KindClusterVirtualImage, api.KindVirtualImage, api.KindVirtualDisk:
		return true
	}
	return false
}

// uploadSecret reads the secret of the object's upload URL.
func uploadSecret(ctx context.Context, cl *client.Client, kind *api.Kind, ns, name string) (string, error) {
	obj, err := cl.Get(ctx, kind, ns, name)
	if err != nil {
		return "", err
	}
	var st struct {
		Phase string               `json:"phase"`
		URLs  *api.ImageUploadURLs `json:"imageUploadURLs"`
	}
	_ = json.Unmarshal(obj.Status, &st)
	what := strings.ToLower(kind.Kind) + "/" + name
	if st.Phase != string(api.ImageWaitForUserUpload) || st.URLs == nil || st.URLs.External == "" {
		return "", fmt.Errorf("%s is not waiting for an upload (phase %q): only an object with dataSource.type "+
			"Upload in phase WaitForUserUpload takes one", what, st.Phase)
	}
	return path.Base(st.URLs.External), nil
}

// sendFile PUTs the file to url, drawing a progress bar on a terminal.
func sendFile(ctx context.Context, url, file string, stderr io.Writer) error {
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	var body io.Reader = f
	if isTerminal(stderr) {
		bar := pb.New64(fi.Size()).Set(pb.Bytes, true).SetWriter(stderr)
		bar.Start()
		defer bar.Finish()
		body = bar.NewProxyReader(f)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, url, body)
	if err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	req.ContentLength = fi.Size()
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("User-Agent", "davit/"+version)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("upload %s: %w", file, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("upload %s: the agent answered %s: %s", file, resp.Status, strings.TrimSpace(string(msg)))
	}
	return nil
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
