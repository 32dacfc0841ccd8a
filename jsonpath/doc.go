// Package jsonpath evaluates kubectl's JSONPath templates over decoded JSON
// (map[string]any, []any, strings, numbers, bools and nil, as
// encoding/json produces them; json.Number is understood too).
//
// The dialect is kubectl's: text outside braces is printed as is; inside
// braces go paths (.a.b, ..name for recursive descent, [0], [-1], [1:3],
// [*], .*, ['key'], unions [0,2] and ['a','b'], filters
// [?(@.type=="Ready")], [?(@.mounted==true)], [?(@.size>1)] and
// existence filters [?(@.name)]), quoted strings ({"\n"}), and
// {range EXPR}...{end} blocks. Dots inside keys are escaped with a
// backslash (.metadata.annotations.example\.com/key). Several results of one
// expression are separated by a space; maps and lists print as compact
// JSON, strings raw, null as "null".
//
// Where kubectl's behaviour is an accident ("['a.b']" meaning the path a.b),
// this package does the obvious thing instead ("['a.b']" is the key "a.b").
// Parsing and evaluation return errors, never panic.
//
// The package is pure and imports nothing of davit's.
package jsonpath
