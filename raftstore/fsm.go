package raftstore

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/hashicorp/go-memdb"
	"github.com/hashicorp/raft"

	"davit/api"
)

// fsm is the raft.FSM of the store. Raft calls Apply, Snapshot and Restore
// from one goroutine; FSMSnapshot.Persist runs concurrently with Apply and
// reads an immutable memdb snapshot. The FSM is deterministic: everything it
// writes comes from the log entry and the state (the logger is its only
// side channel).
type fsm struct {
	log   *slog.Logger
	state *state
	hub   *hub
}

var _ raft.FSM = (*fsm)(nil)

// Apply applies one committed log entry. It returns nil for a skipped
// ignorable entry and a *Result otherwise; the Result holds the stored
// object, which Store.ApplyRaw copies before handing it out.
func (f *fsm) Apply(l *raft.Log) any {
	if l.Type != raft.LogCommand {
		return nil
	}
	return f.applyEntry(l.Index, l.Data)
}

func (f *fsm) applyEntry(index uint64, data []byte) any {
	var t CommandType
	if len(data) > 0 {
		t = CommandType(data[0])
	}
	if _, known := commandNames[t]; !known {
		f.recordIndex(index)
		if len(data) > 0 && t.IsIgnorable() {
			f.log.Debug("skipping unknown ignorable command", "index", index, "type", fmt.Sprintf("%#x", uint8(t)))
			return nil
		}
		err := fmt.Errorf("apply entry %d: type %#x: %w", index, uint8(t), ErrUnknownCommand)
		f.log.Error("cannot apply log entry", "index", index, "error", err)
		return &Result{Index: index, Err: err}
	}
	res, ev := f.applyCommand(index, data)
	if res.Err != nil {
		f.log.Debug("command failed", "index", index, "type", t.String(), "error", res.Err)
	}
	if ev != nil {
		f.hub.append(*ev)
	}
	return res
}

// applyCommand decodes and applies one known command in one write
// transaction that also records the index. It returns the event to publish
// once the transaction is committed, if the command changed something.
func (f *fsm) applyCommand(index uint64, data []byte) (*Result, *Event) {
	cmd, k, err := f.decode(data)
	if err != nil {
		f.recordIndex(index)
		return &Result{Index: index, Err: fmt.Errorf("apply entry %d: %w", index, err)}, nil
	}
	txn := f.state.db.Load().Txn(true)
	defer txn.Abort()
	ch, err := mutate(txn, index, &cmd, k)
	if err == nil {
		err = writeChange(txn, k.Plural, ch)
	}
	if err != nil {
		txn.Abort()
		f.recordIndex(index)
		return &Result{Index: index, Err: err}, nil
	}
	if err := setTxnIndex(txn, index); err != nil {
		panic(err) // the meta table exists in every schema: cannot happen
	}
	txn.Commit()
	res := &Result{Index: index, Outcome: ch.outcome, Object: ch.obj}
	if ch.event == "" {
		return res, nil
	}
	return res, &Event{Type: ch.event, Kind: k.Plural, Index: index, Object: ch.obj}
}

func (f *fsm) decode(data []byte) (Command, *api.Kind, error) {
	cmd, err := DecodeCommand(data)
	if err != nil {
		return cmd, nil, err
	}
	if err := cmd.check(); err != nil {
		return cmd, nil, fmt.Errorf("%s command: %w", cmd.Type, err)
	}
	k, ok := f.state.kinds[cmd.Kind]
	if !ok {
		return cmd, nil, fmt.Errorf("%s command: kind %q: %w", cmd.Type, cmd.Kind, ErrUnknownKind)
	}
	if k.Namespaced != (cmd.Namespace != "") {
		return cmd, nil, fmt.Errorf("%s command: %s %q: namespaced is %t: %w",
			cmd.Type, k.Plural, api.Key(cmd.Namespace, cmd.Name), k.Namespaced, ErrInvalidCommand)
	}
	return cmd, k, nil
}

func writeChange(txn *memdb.Txn, plural string, ch change) error {
	switch {
	case ch.remove:
		if err := txn.Delete(plural, &record{ID: ch.obj.Key()}); err != nil {
			return fmt.Errorf("delete %s %q: %w", plural, ch.obj.Key(), err)
		}
	case ch.event != "":
		if err := txn.Insert(plural, newRecord(ch.obj)); err != nil {
			return fmt.Errorf("insert %s %q: %w", plural, ch.obj.Key(), err)
		}
	}
	return nil
}

// recordIndex advances the applied index for an entry that changed nothing.
func (f *fsm) recordIndex(index uint64) {
	txn := f.state.db.Load().Txn(true)
	defer txn.Abort()
	if err := setTxnIndex(txn, index); err != nil {
		panic(err) // the meta table exists in every schema: cannot happen
	}
	txn.Commit()
}

// Snapshot captures the current state; Persist writes it out later.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	return newFSMSnapshot(f.state), nil
}

// Restore replaces the whole state with a snapshot's, resets the watch
// history and ends every open watch with ErrExpired.
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	db, index, err := readSnapshot(f.state, rc, f.state.index())
	if err != nil {
		return fmt.Errorf("restore snapshot: %w", err)
	}
	f.state.db.Store(db)
	f.hub.reset(index)
	f.log.Info("restored state from snapshot", "index", index)
	return nil
}
