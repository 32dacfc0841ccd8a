package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"davit/api"
	"davit/printer"

	"github.com/urfave/cli/v2"
)

func applyCommand() *cli.Command {
	return &cli.Command{
		Name:      "apply",
		Usage:     "create or update objects from YAML or JSON manifests",
		ArgsUsage: " ",
		Description: "Reads every document of every file (- is stdin; a directory means its .yaml, .yml and .json\n" +
			"files) and sends nothing unless all of them decode. Namespaced objects without a namespace go\n" +
			"to --namespace. Prints KIND/NAME created, configured or unchanged for each.",
		Flags: []cli.Flag{
			filenameFlag("manifest `FILE`, directory, or - for stdin (repeatable)"),
			namespaceFlag(),
		},
		Action: runApply,
	}
}

func runApply(c *cli.Context) error {
	if c.NArg() > 0 {
		return usageError(c, "unexpected arguments %q: manifests are given with -f", c.Args().Slice())
	}
	objs, err := readManifests(c)
	if err != nil {
		return err
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	failed := false
	for _, o := range objs {
		if c.Context.Err() != nil {
			return c.Context.Err()
		}
		_, res, err := cl.Put(c.Context, o)
		if err != nil {
			printError(c.App.ErrWriter, err)
			failed = true
			continue
		}
		fmt.Fprintf(c.App.Writer, "%s %s\n", printer.ObjectName(o), res)
	}
	if failed {
		return errSilent
	}
	return nil
}

// readManifests decodes every document of every -f source and settles
// their namespaces. It fails on the first bad document, before anything is
// sent.
func readManifests(c *cli.Context) ([]*api.Object, error) {
	sources := c.StringSlice("filename")
	if len(sources) == 0 {
		return nil, usageError(c, "must specify -f FILE (or -f - for stdin)")
	}
	var objs []*api.Object
	for _, src := range sources {
		files, err := expandSource(src)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			data, err := readSource(c, f)
			if err != nil {
				return nil, err
			}
			decoded, err := decodeManifests(displayName(f), data)
			if err != nil {
				return nil, err
			}
			objs = append(objs, decoded...)
		}
	}
	if len(objs) == 0 {
		return nil, fmt.Errorf("no objects passed to %s", c.Command.Name)
	}
	for _, o := range objs {
		if err := settleNamespace(c, o); err != nil {
			return nil, err
		}
	}
	return objs, nil
}

// expandSource turns a directory into its manifest files, in name order.
func expandSource(src string) ([]string, error) {
	if src == "-" {
		return []string{src}, nil
	}
	fi, err := os.Stat(src)
	if err != nil {
		return nil, fmt.Errorf("the path %q does not exist", src)
	}
	if !fi.IsDir() {
		return []string{src}, nil
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		return nil, fmt.Errorf("read directory %s: %w", src, err)
	}
	var files []string
	for _, e := range entries {
		switch strings.ToLower(filepath.Ext(e.Name())) {
		case ".yaml", ".yml", ".json":
			if !e.IsDir() {
				files = append(files, filepath.Join(src, e.Name()))
			}
		}
	}
	sort.Strings(files)
	return files, nil
}

func readSource(c *cli.Context, f string) ([]byte, error) {
	if f == "-" {
		data, err := io.ReadAll(c.App.Reader)
		if err != nil {
			return nil, fmt.Errorf("read stdin: %w", err)
		}
		return data, nil
	}
	data, err := os.ReadFile(f)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", f, err)
	}
	return data, nil
}

func displayName(f string) string {
	if f == "-" {
		return "stdin"
	}
	return f
}

// decodeManifests decodes a multi-document stream strictly (api.Decode
// names the document and line of each mistake).
func decodeManifests(source string, data []byte) ([]*api.Object, error) {
	res, err := api.Decode(data)
	if err != nil {
		return nil, sourceErrors(source, err)
	}
	objs := make([]*api.Object, 0, len(res))
	for _, r := range res {
		o, err := api.ToObject(r)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", source, err)
		}
		objs = append(objs, o)
	}
	return objs, nil
}

// settleNamespace gives a namespaced object --namespace when it has none,
// refuses one whose namespace contradicts an explicit --namespace, and
// drops the namespace of a cluster-scoped object, as kubectl does.
func settleNamespace(c *cli.Context, o *api.Object) error {
	k, err := lookupKind(o.Kind)
	if err != nil {
		return err
	}
	m := &o.Metadata
	switch {
	case !k.Namespaced:
		m.Namespace = ""
	case m.Namespace == "":
		m.Namespace = c.String("namespace")
	case c.IsSet("namespace") && m.Namespace != c.String("namespace"):
		return fmt.Errorf("the namespace from the provided object %q does not match the namespace %q. You must pass '--namespace=%s' to perform this operation",
			m.Namespace, c.String("namespace"), m.Namespace)
	}
	return nil
}

// manifestErrors are the mistakes found in manifests, one per line.
type manifestErrors []error

func (es manifestErrors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

func (es manifestErrors) Unwrap() []error { return es }

// sourceErrors names the file in each of Decode's per-document errors.
func sourceErrors(source string, err error) error {
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return manifestErrors{fmt.Errorf("%s: %w", source, err)}
	}
	var out manifestErrors
	for _, e := range joined.Unwrap() {
		out = append(out, fmt.Errorf("%s: %w", source, e))
	}
	return out
}
