package printer

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"davit/api"
)

// kubectl's table layout: every cell but the last is padded to the widest
// cell of its column plus three spaces, and to at least six.
const (
	cellPadding  = 3
	cellMinWidth = 6
)

// TableOptions shape a table.
type TableOptions struct {
	Wide          bool // include the columns marked Wide
	NoHeaders     bool
	AllNamespaces bool // a NAMESPACE column first
	WithKind      bool // NAME as kind/name, when several kinds are printed
	// Now is the clock AGE columns are computed against (time.Now when nil).
	Now func() time.Time
}

// TablePrinter prints the rows of one kind. Column widths only grow from
// one Print to the next, so the rows of a watch line up with the header
// printed first (kubectl's RememberWidths).
type TablePrinter struct {
	w      io.Writer
	kind   *api.Kind
	opts   TableOptions
	cols   []column
	widths []int
	header bool // printed (or suppressed) already
}

// NewTable returns a table printer for kind.
func NewTable(w io.Writer, kind *api.Kind, opts TableOptions) (*TablePrinter, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	cols, err := compileColumns(kind, opts.Wide)
	if err != nil {
		return nil, err
	}
	return &TablePrinter{w: w, kind: kind, opts: opts, cols: cols, header: opts.NoHeaders}, nil
}

// Print writes the header (the first time) and a row per object.
func (t *TablePrinter) Print(objs ...*api.Object) error {
	var rows [][]string
	if !t.header {
		rows = append(rows, t.headerRow())
		t.header = true
	}
	now := t.opts.Now()
	for _, o := range objs {
		row, err := t.row(o, now)
		if err != nil {
			return err
		}
		rows = append(rows, row)
	}
	t.grow(rows)
	var buf bytes.Buffer
	for _, r := range rows {
		t.writeRow(&buf, r)
	}
	_, err := t.w.Write(buf.Bytes())
	return err
}

func (t *TablePrinter) headerRow() []string {
	var h []string
	if t.opts.AllNamespaces && t.kind.Namespaced {
		h = append(h, "NAMESPACE")
	}
	h = append(h, "NAME")
	for _, c := range t.cols {
		h = append(h, c.Name)
	}
	return h
}

func (t *TablePrinter) row(obj *api.Object, now time.Time) ([]string, error) {
	m, err := ToMap(obj)
	if err != nil {
		return nil, err
	}
	var r []string
	if t.opts.AllNamespaces && t.kind.Namespaced {
		r = append(r, obj.Metadata.Namespace)
	}
	name := obj.Metadata.Name
	if t.kind.Kind == "StorageClass" && isDefaultStorageClass(obj) {
		name += " (default)"
	}
	if t.opts.WithKind {
		name = strings.ToLower(t.kind.Kind) + "/" + name
	}
	r = append(r, name)
	for _, c := range t.cols {
		r = append(r, c.cell(m, now))
	}
	return r, nil
}

func isDefaultStorageClass(obj *api.Object) bool {
	a := obj.Metadata.Annotations
	return a[api.DefaultStorageClassAnnotation] == "true" ||
		a["storageclass.beta.kubernetes.io/is-default-class"] == "true"
}

func (t *TablePrinter) grow(rows [][]string) {
	for _, r := range rows {
		for i, cell := range r {
			if i >= len(t.widths) {
				t.widths = append(t.widths, 0)
			}
			t.widths[i] = max(t.widths[i], utf8.RuneCountInString(cell)+cellPadding, cellMinWidth)
		}
	}
}

func (t *TablePrinter) writeRow(buf *bytes.Buffer, r []string) {
	start := buf.Len()
	for i, cell := range r {
		buf.WriteString(cell)
		if i < len(r)-1 {
			buf.WriteString(strings.Repeat(" ", t.widths[i]-utf8.RuneCountInString(cell)))
		}
	}
	line := strings.TrimRight(buf.String()[start:], " ")
	buf.Truncate(start)
	fmt.Fprintln(buf, line)
}
