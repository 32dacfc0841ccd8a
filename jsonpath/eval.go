package jsonpath

import (
	"encoding/json"
	"fmt"
	"sort"
)

// maxResults bounds the values one expression may produce, so that a
// template like {..........} cannot exhaust memory.
const maxResults = 1 << 20

// evaluator applies chains to values.
type evaluator struct {
	allowMissing bool
}

func (e evaluator) chain(c *chain, in []any) ([]any, error) {
	cur := in
	for _, s := range c.steps {
		next, err := e.step(s, cur)
		if err != nil {
			return nil, err
		}
		if len(next) > maxResults {
			return nil, fmt.Errorf("expression yields more than %d values", maxResults)
		}
		cur = next
	}
	return cur, nil
}

func (e evaluator) step(s step, in []any) ([]any, error) {
	switch s := s.(type) {
	case fieldStep:
		return e.field(s.name, in)
	case recursiveStep:
		var out []any
		for _, v := range in {
			if out = descend(v, out); len(out) > maxResults {
				break // chain reports it
			}
		}
		return out, nil
	case wildcardStep:
		var out []any
		for _, v := range in {
			out = append(out, children(v)...)
		}
		return out, nil
	case literalStep:
		out := make([]any, len(in))
		for i := range in {
			out[i] = s.value
		}
		return out, nil
	case unionStep:
		return e.union(s, in)
	case indexStep:
		return e.index(s, in)
	case filterStep:
		return e.filter(s, in)
	}
	return nil, fmt.Errorf("unknown step %T", s) // unreachable: the parser makes only the steps above
}

func (e evaluator) field(name string, in []any) ([]any, error) {
	if name == "" {
		return in, nil
	}
	var out []any
	for _, v := range in {
		if m, ok := v.(map[string]any); ok {
			if x, ok := m[name]; ok {
				out = append(out, x)
			}
		}
	}
	if len(out) == 0 && !e.allowMissing {
		return nil, fmt.Errorf("%s is not found", name)
	}
	return out, nil
}

func (e evaluator) union(s unionStep, in []any) ([]any, error) {
	var out []any
	for _, v := range in {
		for _, alt := range s.alts {
			r, err := e.chain(alt, []any{v})
			if err != nil {
				return nil, err
			}
			out = append(out, r...)
		}
	}
	return out, nil
}

func (e evaluator) index(s indexStep, in []any) ([]any, error) {
	var out []any
	for _, v := range in {
		if v == nil {
			continue
		}
		list, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("%s is not an array and cannot be indexed", typeName(v))
		}
		if !s.single {
			out = append(out, slice(list, s)...)
			continue
		}
		i := s.start
		if i < 0 {
			i += len(list)
		}
		if i < 0 || i >= len(list) {
			if e.allowMissing {
				continue
			}
			return nil, fmt.Errorf("array index out of bounds: index %d, length %d", s.start, len(list))
		}
		out = append(out, list[i])
	}
	return out, nil
}

// slice returns list[start:end:stride] with Python's clamping.
func slice(list []any, s indexStep) []any {
	n := len(list)
	clamp := func(i, def int, has bool) int {
		if !has {
			return def
		}
		if i < 0 {
			i += n
		}
		return max(0, min(i, n))
	}
	start, end := clamp(s.start, 0, s.hasStart), clamp(s.end, n, s.hasEnd)
	stride := 1
	if s.hasStride {
		stride = s.stride
	}
	var out []any
	for i := start; i < end; {
		out = append(out, list[i])
		if stride > end-i {
			break
		}
		i += stride
	}
	return out
}

func (e evaluator) filter(s filterStep, in []any) ([]any, error) {
	lenient := evaluator{allowMissing: true}
	var out []any
	for _, v := range in {
		if v == nil {
			continue
		}
		list, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("%s is not an array and cannot be filtered", typeName(v))
		}
		for _, item := range list {
			keep, err := lenient.keep(s, item)
			if err != nil {
				return nil, err
			}
			if keep {
				out = append(out, item)
			}
		}
	}
	return out, nil
}

// keep reports whether item passes a filter. Missing fields fail it.
func (e evaluator) keep(s filterStep, item any) (bool, error) {
	lefts, err := e.chain(s.left, []any{item})
	if err != nil {
		return false, err
	}
	if s.op == "exists" {
		return len(lefts) > 0, nil
	}
	rights, err := e.chain(s.right, []any{item})
	if err != nil {
		return false, err
	}
	if len(lefts) == 0 || len(rights) == 0 {
		return false, nil
	}
	if len(lefts) > 1 || len(rights) > 1 {
		return false, fmt.Errorf("a filter can compare only one value at a time")
	}
	return compare(s.op, lefts[0], rights[0]), nil
}

// descend appends v and every value nested in it, depth first.
func descend(v any, out []any) []any {
	out = append(out, v)
	for _, c := range children(v) {
		if len(out) > maxResults {
			break
		}
		out = descend(c, out)
	}
	return out
}

// children returns a list's elements or a map's values in key order.
func children(v any) []any {
	switch x := v.(type) {
	case []any:
		return x
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		out := make([]any, len(keys))
		for i, k := range keys {
			out[i] = x[k]
		}
		return out
	}
	return nil
}

func typeName(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case string:
		return "a string"
	case bool:
		return "a bool"
	case json.Number, float64, float32, int, int64, int32, uint, uint64, uint32:
		return "a number"
	}
	return fmt.Sprintf("%T", v)
}
