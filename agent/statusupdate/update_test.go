package statusupdate

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"davit/api"
	"davit/raftstore"
	"davit/raftstore/raftstoretest"

	"github.com/stretchr/testify/require"
)

func TestUpdateWritesOnlyChangesAndRetriesConflicts(t *testing.T) {
	s := raftstoretest.New(t)
	ctx := context.Background()
	obj := &api.Object{TypeMeta: api.TypeMeta{APIVersion: "davit/v1", Kind: "Secret"},
		Metadata: api.ObjectMeta{Namespace: "ns", Name: "a"}, Spec: json.RawMessage(`{}`)}
	res, err := s.Apply(ctx, raftstore.CreateCommand("Secret", obj))
	require.NoError(t, err)
	require.NoError(t, res.Err)
	stored, err := s.Get("Secret", "ns", "a")
	require.NoError(t, err)

	wrote, err := Write(ctx, s, stored, map[string]string{"phase": "One"})
	require.NoError(t, err)
	require.True(t, wrote)
	_, err = Write(ctx, s, stored, map[string]string{"phase": "Two"})
	require.True(t, errors.Is(err, raftstore.ErrConflict), "a stale object is refused: %v", err)

	calls := 0
	err = Update(ctx, s, "Secret", "ns", "a", func(o *api.Object) (any, error) {
		calls++
		if calls == 1 { // someone else writes between the read and the write
			_, werr := Write(ctx, s, o, map[string]string{"phase": "Other"})
			require.NoError(t, werr)
		}
		return map[string]string{"phase": "Two"}, nil
	})
	require.NoError(t, err)
	require.Equal(t, 2, calls, "the conflict was retried on the newer object")
	got, err := s.Get("Secret", "ns", "a")
	require.NoError(t, err)
	require.JSONEq(t, `{"phase":"Two"}`, string(got.Status))

	rv := got.Metadata.ResourceVersion
	wrote, err = Write(ctx, s, got, map[string]string{"phase": "Two"})
	require.NoError(t, err)
	require.False(t, wrote, "an unchanged status is not written")
	err = Update(ctx, s, "Secret", "ns", "a", func(*api.Object) (any, error) { return nil, ErrSkipped })
	require.ErrorIs(t, err, ErrSkipped)
	got, _ = s.Get("Secret", "ns", "a")
	require.Equal(t, rv, got.Metadata.ResourceVersion)
	require.True(t, Same([]byte(`{"a":1,"b":2}`), []byte(`{"b":2, "a":1}`)))
}
