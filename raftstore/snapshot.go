package raftstore

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/hashicorp/go-memdb"
	"github.com/hashicorp/raft"

	"davit/api"
)

// Snapshot format: JSON lines. The first line is a header, then one line per
// object, tables in name order, objects in key order.
const snapshotFormat = "davit-raftstore/1"

type snapshotHeader struct {
	Format string `json:"format"`
	Index  uint64 `json:"index"`
}

type snapshotLine struct {
	Kind   string      `json:"kind"`
	Object *api.Object `json:"object"`
}

// fsmSnapshot is a point-in-time view of the state. memdb's snapshot is an
// immutable tree, so Persist may run while Apply goes on.
type fsmSnapshot struct {
	txn    *memdb.Txn
	tables []string
}

func newFSMSnapshot(s *state) *fsmSnapshot {
	tables := make([]string, 0, len(s.kinds))
	for plural := range s.kinds {
		tables = append(tables, plural)
	}
	slices.Sort(tables)
	return &fsmSnapshot{txn: s.db.Load().Snapshot().Txn(false), tables: tables}
}

// Persist writes the snapshot to sink and closes it (cancels it on error).
func (fs *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	if err := fs.write(sink); err != nil {
		return errors.Join(fmt.Errorf("persist snapshot: %w", err), sink.Cancel())
	}
	if err := sink.Close(); err != nil {
		return fmt.Errorf("persist snapshot: close sink: %w", err)
	}
	return nil
}

func (fs *fsmSnapshot) write(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	if err := enc.Encode(snapshotHeader{Format: snapshotFormat, Index: txnIndex(fs.txn)}); err != nil {
		return err
	}
	for _, table := range fs.tables {
		objs, err := scan(fs.txn, table, indexID+"_prefix", "")
		if err != nil {
			return err
		}
		for _, o := range objs {
			if err := enc.Encode(snapshotLine{Kind: table, Object: o}); err != nil {
				return fmt.Errorf("write %s %q: %w", table, o.Key(), err)
			}
		}
	}
	return bw.Flush()
}

// Release does nothing: the snapshot holds no resources but memory.
func (fs *fsmSnapshot) Release() {}

// readSnapshot builds a new database from a snapshot written by Persist. Its
// applied index is the snapshot's, except when that is not above prev (the
// index of the state it replaces, 0 at start-up): then it is prev+1, so that
// every resourceVersion handed out before the restore is older than the new
// state and a watch from one expires. No later entry can have that index:
// Raft places a restore above its last index.
func readSnapshot(s *state, r io.Reader, prev uint64) (*memdb.MemDB, uint64, error) {
	dec := json.NewDecoder(bufio.NewReaderSize(r, 64<<10))
	var h snapshotHeader
	if err := dec.Decode(&h); err != nil {
		return nil, 0, fmt.Errorf("read header: %w", err)
	}
	if h.Format != snapshotFormat {
		return nil, 0, fmt.Errorf("unknown snapshot format %q", h.Format)
	}
	db, err := s.emptyDB()
	if err != nil {
		return nil, 0, err
	}
	txn := db.Txn(true)
	defer txn.Abort()
	for n := 1; ; n++ {
		var line snapshotLine
		if err := dec.Decode(&line); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, 0, fmt.Errorf("read object %d: %w", n, err)
		}
		if _, ok := s.kinds[line.Kind]; !ok {
			return nil, 0, fmt.Errorf("object %d: kind %q: %w", n, line.Kind, ErrUnknownKind)
		}
		if line.Object == nil || line.Object.Metadata.Name == "" {
			return nil, 0, fmt.Errorf("object %d of kind %s: no object or no name", n, line.Kind)
		}
		if err := txn.Insert(line.Kind, newRecord(line.Object)); err != nil {
			return nil, 0, fmt.Errorf("insert object %d: %w", n, err)
		}
	}
	index := h.Index
	if prev > 0 && prev >= index {
		index = prev + 1
	}
	if err := setTxnIndex(txn, index); err != nil {
		return nil, 0, err
	}
	txn.Commit()
	return db, index, nil
}
