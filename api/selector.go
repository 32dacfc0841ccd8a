package api

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Selector is a parsed kubectl label selector ("app=web,tier!=db",
// "env in (a,b)", "!legacy"). The zero Selector matches everything.
type Selector struct {
	reqs []LabelSelectorRequirement
}

var (
	setOpRE    = regexp.MustCompile(`^(\S+)\s+(in|notin)\s*\((.*)\)$`)
	binaryOpRE = regexp.MustCompile(`^([^=!<>\s]+)\s*(==|!=|=|>|<)\s*(.*)$`)
)

// ParseSelector parses a comma-joined list of requirements: key=value,
// key==value, key!=value, key in (v1,v2), key notin (v1), key, !key,
// key>N, key<N. An empty string selects everything.
func ParseSelector(s string) (Selector, error) {
	var sel Selector
	if strings.TrimSpace(s) == "" {
		return sel, nil
	}
	parts, err := splitSelector(s)
	if err != nil {
		return Selector{}, err
	}
	for _, p := range parts {
		r, err := parseRequirement(strings.TrimSpace(p))
		if err != nil {
			return Selector{}, fmt.Errorf("selector %q: %w", s, err)
		}
		sel.reqs = append(sel.reqs, r)
	}
	return sel, nil
}

// splitSelector splits on the commas outside parentheses.
func splitSelector(s string) ([]string, error) {
	var parts []string
	depth, start := 0, 0
	for i, c := range s {
		switch c {
		case '(':
			depth++
			if depth > 1 {
				return nil, fmt.Errorf("selector %q: nested parentheses", s)
			}
		case ')':
			depth--
			if depth < 0 {
				return nil, fmt.Errorf("selector %q: unbalanced ')'", s)
			}
		case ',':
			if depth == 0 {
				parts = append(parts, s[start:i])
				start = i + 1
			}
		}
	}
	if depth != 0 {
		return nil, fmt.Errorf("selector %q: unclosed '('", s)
	}
	return append(parts, s[start:]), nil
}

func parseRequirement(p string) (LabelSelectorRequirement, error) {
	if p == "" {
		return LabelSelectorRequirement{}, fmt.Errorf("empty requirement")
	}
	if key, ok := strings.CutPrefix(p, "!"); ok {
		return checkRequirement(LabelSelectorRequirement{Key: strings.TrimSpace(key), Operator: OpDoesNotExist})
	}
	if m := setOpRE.FindStringSubmatch(p); m != nil {
		op := OpIn
		if m[2] == "notin" {
			op = OpNotIn
		}
		if strings.TrimSpace(m[3]) == "" {
			return LabelSelectorRequirement{}, fmt.Errorf("%q: %s needs at least one value", m[1], m[2])
		}
		var values []string
		for _, v := range strings.Split(m[3], ",") {
			values = append(values, strings.TrimSpace(v))
		}
		return checkRequirement(LabelSelectorRequirement{Key: m[1], Operator: op, Values: values})
	}
	if m := binaryOpRE.FindStringSubmatch(p); m != nil {
		op := map[string]string{"=": OpIn, "==": OpIn, "!=": OpNotIn, ">": OpGt, "<": OpLt}[m[2]]
		return checkRequirement(LabelSelectorRequirement{Key: m[1], Operator: op, Values: []string{strings.TrimSpace(m[3])}})
	}
	if strings.ContainsAny(p, " =!<>()") {
		return LabelSelectorRequirement{}, fmt.Errorf("cannot parse requirement %q", p)
	}
	return checkRequirement(LabelSelectorRequirement{Key: p, Operator: OpExists})
}

func checkRequirement(r LabelSelectorRequirement) (LabelSelectorRequirement, error) {
	var errs FieldErrors
	validateRequirement(&errs, "", r)
	if len(errs) > 0 {
		msgs := make([]string, len(errs))
		for i, e := range errs {
			msgs[i] = e.Detail
		}
		return LabelSelectorRequirement{}, fmt.Errorf("%q: %s", r.Key, strings.Join(msgs, "; "))
	}
	return r, nil
}

// Matches reports whether labels satisfy every requirement.
func (s Selector) Matches(labels map[string]string) bool {
	for _, r := range s.reqs {
		if !r.Matches(labels) {
			return false
		}
	}
	return true
}

// Empty reports whether the selector selects everything.
func (s Selector) Empty() bool { return len(s.reqs) == 0 }

// Requirements returns the parsed requirements.
func (s Selector) Requirements() []LabelSelectorRequirement {
	return append([]LabelSelectorRequirement(nil), s.reqs...)
}

// Matches reports whether labels satisfy the requirement (Kubernetes
// semantics: NotIn and DoesNotExist match an absent key).
func (r LabelSelectorRequirement) Matches(labels map[string]string) bool {
	v, has := labels[r.Key]
	switch r.Operator {
	case OpExists:
		return has
	case OpDoesNotExist:
		return !has
	case OpIn:
		return has && contains(r.Values, v)
	case OpNotIn:
		return !has || !contains(r.Values, v)
	case OpGt, OpLt:
		if !has || len(r.Values) != 1 {
			return false
		}
		lv, err1 := strconv.ParseInt(v, 10, 64)
		rv, err2 := strconv.ParseInt(r.Values[0], 10, 64)
		if err1 != nil || err2 != nil {
			return false
		}
		return (r.Operator == OpGt && lv > rv) || (r.Operator == OpLt && lv < rv)
	}
	return false
}

// Matches reports whether labels satisfy the selector; a nil or empty
// selector matches everything.
func (s *LabelSelector) Matches(labels map[string]string) bool {
	if s == nil {
		return true
	}
	for k, v := range s.MatchLabels {
		if lv, ok := labels[k]; !ok || lv != v {
			return false
		}
	}
	for _, r := range s.MatchExpressions {
		if !r.Matches(labels) {
			return false
		}
	}
	return true
}

// Validate checks the selector's keys, values and operators.
func (s *LabelSelector) Validate(path string) FieldErrors {
	var errs FieldErrors
	validateLabelSelector(&errs, path, s)
	return errs
}

func validateLabelSelector(errs *FieldErrors, path string, s *LabelSelector) {
	if s == nil {
		return
	}
	validateLabels(errs, joinPath(path, "matchLabels"), s.MatchLabels)
	for i, r := range s.MatchExpressions {
		validateRequirement(errs, fmt.Sprintf("%s[%d]", joinPath(path, "matchExpressions"), i), r)
	}
}

func validateRequirement(errs *FieldErrors, path string, r LabelSelectorRequirement) {
	if msg := qualifiedNameError(r.Key); msg != "" {
		errs.Add(ErrInvalid, joinPath(path, "key"), "key "+msg, r.Key)
	}
	vpath := joinPath(path, "values")
	switch r.Operator {
	case OpIn, OpNotIn:
		if len(r.Values) == 0 {
			errs.Add(ErrRequired, vpath, "must be non-empty for "+r.Operator)
		}
		for i, v := range r.Values {
			if msg := labelValueError(v); msg != "" {
				errs.Add(ErrInvalid, fmt.Sprintf("%s[%d]", vpath, i), msg, v)
			}
		}
	case OpExists, OpDoesNotExist:
		if len(r.Values) > 0 {
			errs.Add(ErrForbidden, vpath, "must be empty for "+r.Operator)
		}
	case OpGt, OpLt:
		if len(r.Values) != 1 {
			errs.Add(ErrInvalid, vpath, "must hold exactly one integer for "+r.Operator)
		} else if _, err := strconv.ParseInt(r.Values[0], 10, 64); err != nil {
			errs.Add(ErrInvalid, vpath+"[0]", "must be an integer for "+r.Operator, r.Values[0])
		}
	default:
		errs.Add(ErrNotSupported, joinPath(path, "operator"),
			"must be one of In, NotIn, Exists, DoesNotExist, Gt, Lt", r.Operator)
	}
}

func contains[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
