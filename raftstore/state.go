package raftstore

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/hashicorp/go-memdb"

	"davit/api"
)

// metaTable holds one row: the Raft index of the last entry the FSM applied.
// Keeping it in memdb makes a read transaction see objects and index
// together, which is what a list-then-watch needs.
const metaTable = "raftstore_meta"

const appliedKey = "applied"

// Index names of every kind table.
const (
	indexID        = "id"        // namespace/name (api.Key)
	indexNamespace = "namespace" // metadata.namespace; absent for cluster-scoped kinds
	indexNode      = "node"      // status.nodeName, when set
	indexPhase     = "phase"     // status.phase, when set
)

// record is a row of a kind table. Object is never modified once inserted:
// a change inserts a new record with a new Object.
type record struct {
	ID        string
	Namespace string
	Node      string
	Phase     string
	Object    *api.Object
}

type metaRow struct {
	Key   string
	Index uint64
}

func newRecord(obj *api.Object) *record {
	// Only an object-shaped status can be indexed; any other shape simply
	// leaves the record out of the node and phase indexes.
	var st struct {
		NodeName string `json:"nodeName"`
		Phase    string `json:"phase"`
	}
	if len(obj.Status) > 0 {
		_ = json.Unmarshal(obj.Status, &st)
	}
	return &record{ID: obj.Key(), Namespace: obj.Metadata.Namespace,
		Node: st.NodeName, Phase: st.Phase, Object: obj}
}

func schema(kinds map[string]*api.Kind) *memdb.DBSchema {
	s := &memdb.DBSchema{Tables: map[string]*memdb.TableSchema{
		metaTable: {Name: metaTable, Indexes: map[string]*memdb.IndexSchema{
			indexID: {Name: indexID, Unique: true, Indexer: &memdb.StringFieldIndex{Field: "Key"}},
		}},
	}}
	for plural := range kinds {
		s.Tables[plural] = &memdb.TableSchema{Name: plural, Indexes: map[string]*memdb.IndexSchema{
			indexID: {Name: indexID, Unique: true,
				Indexer: &memdb.StringFieldIndex{Field: "ID"}},
			indexNamespace: {Name: indexNamespace, AllowMissing: true,
				Indexer: &memdb.StringFieldIndex{Field: "Namespace"}},
			indexNode: {Name: indexNode, AllowMissing: true,
				Indexer: &memdb.StringFieldIndex{Field: "Node"}},
			indexPhase: {Name: indexPhase, AllowMissing: true,
				Indexer: &memdb.StringFieldIndex{Field: "Phase"}},
		}}
	}
	return s
}

// state is the indexed, replicated state. Only the FSM writes it (one
// goroutine); readers use read transactions of whatever database is current.
// A snapshot restore swaps the whole database.
type state struct {
	kinds map[string]*api.Kind // by plural
	db    atomic.Pointer[memdb.MemDB]
}

func newState() (*state, error) {
	s := &state{kinds: map[string]*api.Kind{}}
	for _, k := range api.Kinds() {
		s.kinds[k.Plural] = k
	}
	db, err := s.emptyDB()
	if err != nil {
		return nil, err
	}
	s.db.Store(db)
	return s, nil
}

func (s *state) emptyDB() (*memdb.MemDB, error) {
	db, err := memdb.NewMemDB(schema(s.kinds))
	if err != nil {
		return nil, fmt.Errorf("create state: %w", err)
	}
	return db, nil
}

// resolve maps any kind name (plural, kind, singular, short name) to its
// plural, the table name.
func (s *state) resolve(kind string) (*api.Kind, error) {
	if k, ok := s.kinds[kind]; ok {
		return k, nil
	}
	if k, ok := api.LookupKind(kind); ok {
		if k, ok := s.kinds[k.Plural]; ok {
			return k, nil
		}
	}
	return nil, fmt.Errorf("kind %q: %w", kind, ErrUnknownKind)
}

// index returns the Raft index of the last entry applied to the state.
func (s *state) index() uint64 { return txnIndex(s.db.Load().Txn(false)) }

func txnIndex(txn *memdb.Txn) uint64 {
	raw, err := txn.First(metaTable, indexID, appliedKey)
	if err != nil || raw == nil { // the table always exists; nil before the first entry
		return 0
	}
	return raw.(*metaRow).Index
}

func setTxnIndex(txn *memdb.Txn, index uint64) error {
	if err := txn.Insert(metaTable, &metaRow{Key: appliedKey, Index: index}); err != nil {
		return fmt.Errorf("set applied index: %w", err)
	}
	return nil
}

func lookup(txn *memdb.Txn, plural, key string) (*api.Object, error) {
	raw, err := txn.First(plural, indexID, key)
	if err != nil {
		return nil, fmt.Errorf("get %s %q: %w", plural, key, err)
	}
	if raw == nil {
		return nil, nil
	}
	return raw.(*record).Object, nil
}

// scan returns the stored objects of a table through one index, unsorted.
// The objects are the stored ones: callers copy before handing them out.
func scan(txn *memdb.Txn, plural, index string, args ...any) ([]*api.Object, error) {
	it, err := txn.Get(plural, index, args...)
	if err != nil {
		return nil, fmt.Errorf("list %s by %s: %w", plural, index, err)
	}
	var out []*api.Object
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, raw.(*record).Object)
	}
	return out, nil
}

// Get returns a copy of one object, or an error wrapping ErrNotFound.
func (s *state) Get(kind, namespace, name string) (*api.Object, error) {
	k, err := s.resolve(kind)
	if err != nil {
		return nil, fmt.Errorf("get: %w", err)
	}
	obj, err := lookup(s.db.Load().Txn(false), k.Plural, api.Key(namespace, name))
	if err != nil {
		return nil, err
	}
	if obj == nil {
		return nil, fmt.Errorf("get %s %q: %w", k.Plural, api.Key(namespace, name), ErrNotFound)
	}
	return obj.DeepCopy(), nil
}

// List returns copies of the objects of a kind in namespace ("" for every
// namespace) for which match (nil for all) is true, sorted by namespace and
// name, and the index of the state they were read at. match sees the stored
// objects: it must neither modify nor keep them.
func (s *state) List(kind, namespace string, match func(*api.Object) bool) ([]*api.Object, uint64, error) {
	if namespace == "" {
		return s.listBy(kind, indexID, "", match)
	}
	return s.listBy(kind, indexNamespace, namespace, match)
}

// listBy lists through an index; indexID with "" lists the whole table
// (an id prefix scan).
func (s *state) listBy(kind, index, value string, match func(*api.Object) bool) ([]*api.Object, uint64, error) {
	k, err := s.resolve(kind)
	if err != nil {
		return nil, 0, fmt.Errorf("list: %w", err)
	}
	txn := s.db.Load().Txn(false)
	var objs []*api.Object
	if index == indexID {
		objs, err = scan(txn, k.Plural, indexID+"_prefix", value)
	} else {
		objs, err = scan(txn, k.Plural, index, value)
	}
	if err != nil {
		return nil, 0, err
	}
	return copyMatching(objs, match), txnIndex(txn), nil
}

func copyMatching(objs []*api.Object, match func(*api.Object) bool) []*api.Object {
	out := make([]*api.Object, 0, len(objs))
	for _, o := range objs {
		if match == nil || match(o) {
			out = append(out, o.DeepCopy())
		}
	}
	sortObjects(out)
	return out
}

func sortObjects(objs []*api.Object) {
	slices.SortFunc(objs, func(a, b *api.Object) int {
		return cmp.Or(cmp.Compare(a.Metadata.Namespace, b.Metadata.Namespace),
			cmp.Compare(a.Metadata.Name, b.Metadata.Name))
	})
}
