package raftstore

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"time"

	"davit/api"
)

// CommandType is the first byte of every log entry this package writes. The
// types are versioned by number: a change to a body's meaning gets a new
// type, never a new meaning for an old one.
type CommandType uint8

// Ignorable is the bit of a CommandType that tells an FSM which does not know
// the type to skip the entry instead of failing it (Nomad's pattern), so new
// optional commands can be rolled out one server at a time.
const Ignorable CommandType = 0x80

// Command types. Types 1..0x7f must be understood by every server; types
// with the Ignorable bit may be skipped by older ones.
const (
	CmdCreate          CommandType = 1
	CmdPut             CommandType = 2
	CmdUpdateStatus    CommandType = 3
	CmdDelete          CommandType = 4
	CmdAddFinalizer    CommandType = 5
	CmdRemoveFinalizer CommandType = 6
)

var commandNames = map[CommandType]string{
	CmdCreate:          "Create",
	CmdPut:             "Put",
	CmdUpdateStatus:    "UpdateStatus",
	CmdDelete:          "Delete",
	CmdAddFinalizer:    "AddFinalizer",
	CmdRemoveFinalizer: "RemoveFinalizer",
}

func (t CommandType) String() string {
	if n, ok := commandNames[t]; ok {
		return n
	}
	return fmt.Sprintf("CommandType(%#x)", uint8(t))
}

// IsIgnorable reports whether t carries the Ignorable bit.
func (t CommandType) IsIgnorable() bool { return t&Ignorable != 0 }

// Command is one write. Its body is JSON after the type byte.
//
//   - Create: Object must not exist. Takes spec, type, data, status, labels,
//     annotations and finalizers from Object.
//   - Put: creates Object (spec, type, data, labels, annotations) or updates
//     those fields of the stored one; status, uid, creationTimestamp and
//     finalizers of a stored object are kept.
//   - UpdateStatus: replaces the status of an existing object.
//   - Delete: removes an object, or sets its deletionTimestamp while it has
//     finalizers.
//   - AddFinalizer / RemoveFinalizer: edit metadata.finalizers; removing the
//     last one of an object being deleted removes the object.
//
// ResourceVersion, when set, is a precondition: the command fails with
// ErrConflict unless the stored object has exactly that resourceVersion.
// UID and Time are filled in by EncodeCommand when empty; the FSM uses them
// (never its own clock or randomness) for metadata.uid, creationTimestamp
// and deletionTimestamp.
type Command struct {
	Type            CommandType `json:"-"`
	Kind            string      `json:"kind"` // a kind's plural; EncodeCommand resolves any name
	Namespace       string      `json:"namespace,omitempty"`
	Name            string      `json:"name"`
	Object          *api.Object `json:"object,omitempty"`
	ResourceVersion string      `json:"resourceVersion,omitempty"`
	Finalizer       string      `json:"finalizer,omitempty"`
	UID             string      `json:"uid,omitempty"`
	Time            time.Time   `json:"time,omitzero"`
}

// CreateCommand creates obj, which must not exist.
func CreateCommand(kind string, obj *api.Object) Command {
	return Command{Type: CmdCreate, Kind: kind, Namespace: obj.Metadata.Namespace,
		Name: obj.Metadata.Name, Object: obj}
}

// PutCommand creates or updates obj. obj.Metadata.ResourceVersion, when set,
// is the precondition.
func PutCommand(kind string, obj *api.Object) Command {
	return Command{Type: CmdPut, Kind: kind, Namespace: obj.Metadata.Namespace,
		Name: obj.Metadata.Name, Object: obj, ResourceVersion: obj.Metadata.ResourceVersion}
}

// UpdateStatusCommand replaces the status of the stored object named by obj
// with obj.Status. obj.Metadata.ResourceVersion, when set, is the
// precondition. Only the status travels in the log.
func UpdateStatusCommand(kind string, obj *api.Object) Command {
	return Command{Type: CmdUpdateStatus, Kind: kind, Namespace: obj.Metadata.Namespace,
		Name: obj.Metadata.Name, ResourceVersion: obj.Metadata.ResourceVersion,
		Object: &api.Object{
			Metadata: api.ObjectMeta{Namespace: obj.Metadata.Namespace, Name: obj.Metadata.Name},
			Status:   obj.Status,
		}}
}

// DeleteCommand deletes an object; resourceVersion ("" for none) is the
// precondition.
func DeleteCommand(kind, namespace, name, resourceVersion string) Command {
	return Command{Type: CmdDelete, Kind: kind, Namespace: namespace, Name: name,
		ResourceVersion: resourceVersion}
}

// AddFinalizerCommand adds finalizer to an object (no change if present).
func AddFinalizerCommand(kind, namespace, name, finalizer string) Command {
	return Command{Type: CmdAddFinalizer, Kind: kind, Namespace: namespace, Name: name,
		Finalizer: finalizer}
}

// RemoveFinalizerCommand removes finalizer from an object (no change if
// absent).
func RemoveFinalizerCommand(kind, namespace, name, finalizer string) Command {
	return Command{Type: CmdRemoveFinalizer, Kind: kind, Namespace: namespace, Name: name,
		Finalizer: finalizer}
}

// EncodeCommand checks cmd, resolves its kind to the plural, fills in an
// empty UID (for Create and Put) and a zero Time with fresh values, and
// returns the log entry: the type byte followed by the JSON body. cmd itself
// is not modified. A follower encodes and forwards the bytes to the leader,
// which hands them to ApplyRaw.
func EncodeCommand(cmd Command) ([]byte, error) {
	k, ok := api.LookupKind(cmd.Kind)
	if !ok {
		return nil, fmt.Errorf("encode %s command: kind %q: %w", cmd.Type, cmd.Kind, ErrUnknownKind)
	}
	cmd.Kind = k.Plural
	if cmd.Time.IsZero() {
		cmd.Time = time.Now().UTC()
	}
	if cmd.UID == "" && (cmd.Type == CmdCreate || cmd.Type == CmdPut) {
		cmd.UID = newUID()
	}
	if err := cmd.check(); err != nil {
		return nil, fmt.Errorf("encode %s command: %w", cmd.Type, err)
	}
	body, err := json.Marshal(cmd)
	if err != nil {
		return nil, fmt.Errorf("encode %s command: %w", cmd.Type, err)
	}
	return append([]byte{byte(cmd.Type)}, body...), nil
}

// DecodeCommand parses a log entry written by EncodeCommand. It does not
// check the body's fields; the FSM does.
func DecodeCommand(b []byte) (Command, error) {
	if len(b) == 0 {
		return Command{}, fmt.Errorf("decode command: empty entry: %w", ErrInvalidCommand)
	}
	cmd := Command{Type: CommandType(b[0])}
	if err := json.Unmarshal(b[1:], &cmd); err != nil {
		return Command{}, fmt.Errorf("decode %s command: %v: %w", cmd.Type, err, ErrInvalidCommand)
	}
	return cmd, nil
}

// check validates the shape of a command (not the state it applies to).
func (c *Command) check() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), ErrInvalidCommand)
	}
	if _, ok := commandNames[c.Type]; !ok {
		return fmt.Errorf("type %#x: %w", uint8(c.Type), ErrUnknownCommand)
	}
	if c.Name == "" {
		return bad("empty name")
	}
	if c.Time.IsZero() {
		return bad("no timestamp")
	}
	switch c.Type {
	case CmdCreate, CmdPut:
		if c.UID == "" {
			return bad("no uid")
		}
		fallthrough
	case CmdUpdateStatus:
		if c.Object == nil {
			return bad("no object")
		}
		if c.Object.Metadata.Name != c.Name || c.Object.Metadata.Namespace != c.Namespace {
			return bad("object %q does not match command %q",
				c.Object.Key(), api.Key(c.Namespace, c.Name))
		}
	case CmdAddFinalizer, CmdRemoveFinalizer:
		if c.Finalizer == "" {
			return bad("empty finalizer")
		}
	}
	return nil
}

// Outcome says what a command did.
type Outcome string

// Outcomes of a command.
const (
	OutcomeCreated         Outcome = "created"
	OutcomeUpdated         Outcome = "updated"
	OutcomeUnchanged       Outcome = "unchanged"
	OutcomeDeleted         Outcome = "deleted"
	OutcomeDeletionStarted Outcome = "deletionStarted"
	// OutcomeIgnored: an unknown command type with the Ignorable bit.
	OutcomeIgnored Outcome = "ignored"
)

// Result is what applying one command did.
type Result struct {
	// Index is the Raft index of the log entry that carried the command.
	Index   uint64
	Outcome Outcome
	// Object is the object after the command: for Deleted, as it was when
	// deleted, with the deletion's index as resourceVersion; for Unchanged,
	// the stored object. Nil when Err is set.
	Object *api.Object
	// Err is ErrNotFound, ErrConflict, ErrAlreadyExists, ErrUnknownKind,
	// ErrUnknownCommand or ErrInvalidCommand, wrapped with context.
	Err error
}

// newUID returns a random (version 4) UUID.
func newUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (it crashes the program instead)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
