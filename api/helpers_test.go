package api

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// fields lists the field paths of errs, in order.
func fields(errs FieldErrors) []string {
	out := []string{}
	for _, e := range errs {
		out = append(out, e.Field)
	}
	return out
}

// decodeOne strictly decodes one manifest of type T.
func decodeOne[T Resource](t *testing.T, manifest string) T {
	t.Helper()
	rs, err := Decode([]byte(manifest))
	require.NoError(t, err)
	require.Len(t, rs, 1)
	r, ok := rs[0].(T)
	require.True(t, ok, "decoded %T", rs[0])
	return r
}

// ruleCase is one row of a validation table: mutate a valid object and
// expect exactly these field paths.
type ruleCase[T any] struct {
	name   string
	mutate func(T)
	want   []string
}

// runRules runs a validation table against fresh copies of a base object.
func runRules[T Resource](t *testing.T, base string, cases []ruleCase[T]) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := decodeOne[T](t, base)
			if d, ok := any(r).(Defaulter); ok {
				d.Default()
			}
			if c.mutate != nil {
				c.mutate(r)
			}
			errs := any(r).(Validator).Validate()
			want := c.want
			if want == nil {
				want = []string{}
			}
			require.Equal(t, want, fields(errs), "errors: %v", errs)
		})
	}
}

func ptr[T any](v T) *T { return &v }
