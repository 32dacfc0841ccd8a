package api

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
)

var (
	dns1123LabelRE     = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	dns1123SubdomainRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
	mixedCaseNameRE    = regexp.MustCompile(`^[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)*$`)
	qualifiedNameRE    = regexp.MustCompile(`^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$`)
	labelValueRE       = regexp.MustCompile(`^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$`)
)

const maxAnnotationBytes = 256 << 10

func (Time) checkJSON(v any) string {
	s, ok := v.(string)
	if !ok {
		return "expected RFC 3339 timestamp string, got " + jsonTypeName(v)
	}
	if _, err := time.Parse(time.RFC3339, s); err != nil {
		return fmt.Sprintf("invalid timestamp %q: want RFC 3339 (2006-01-02T15:04:05Z)", s)
	}
	return ""
}

// nameRule says how a kind's metadata.name is checked.
type nameRule struct {
	namespaced bool
	noDots     bool // CVI, VI, VD
	maxLen     int  // 0: 253
	mixedCase  bool // VirtualMachineClass: the admin guide's own cpuX, cpuY
	fixed      string
}

// validateMeta checks the metadata users write: name, namespace, labels,
// annotations.
func validateMeta(m *ObjectMeta, rule nameRule) FieldErrors {
	var errs FieldErrors
	validateName(&errs, "metadata.name", m.Name, rule)
	switch {
	case rule.namespaced && m.Namespace != "" && (len(m.Namespace) > 63 || !dns1123LabelRE.MatchString(m.Namespace)):
		errs.Add(ErrInvalid, "metadata.namespace", "must be a DNS-1123 label (lower case letters, digits, '-'; at most 63 characters)", m.Namespace)
	case !rule.namespaced && m.Namespace != "":
		errs.Add(ErrForbidden, "metadata.namespace", "not allowed for a cluster-scoped kind", m.Namespace)
	}
	validateLabels(&errs, "metadata.labels", m.Labels)
	validateAnnotations(&errs, "metadata.annotations", m.Annotations)
	return errs
}

func validateName(errs *FieldErrors, path, name string, rule nameRule) {
	maxLen := rule.maxLen
	if maxLen == 0 {
		maxLen = 253
	}
	re, what := dns1123SubdomainRE, "a DNS-1123 subdomain (lower case letters, digits, '-' and '.')"
	if rule.mixedCase {
		re, what = mixedCaseNameRE, "letters, digits, '-' and '.', starting and ending with a letter or digit"
	}
	switch {
	case name == "":
		errs.Add(ErrRequired, path, "name is required")
	case rule.fixed != "" && name != rule.fixed:
		errs.Add(ErrInvalid, path, fmt.Sprintf("must be %q: there is one object of this kind", rule.fixed), name)
	case len(name) > maxLen:
		errs.Add(ErrTooLong, path, fmt.Sprintf("must be at most %d characters", maxLen), name)
	case !re.MatchString(name):
		errs.Add(ErrInvalid, path, "must be "+what, name)
	case rule.noDots && strings.Contains(name, "."):
		errs.Add(ErrInvalid, path, "must not contain '.'", name)
	}
}

// validQualifiedName checks a label or annotation key: [prefix/]name.
func qualifiedNameError(key string) string {
	prefix, name, hasPrefix := strings.Cut(key, "/")
	if !hasPrefix {
		name, prefix = prefix, ""
	}
	switch {
	case hasPrefix && (prefix == "" || len(prefix) > 253 || !dns1123SubdomainRE.MatchString(prefix)):
		return "prefix must be a DNS-1123 subdomain"
	case name == "":
		return "name part must not be empty"
	case len(name) > 63:
		return "name part must be at most 63 characters"
	case !qualifiedNameRE.MatchString(name):
		return "name part must consist of letters, digits, '-', '_' or '.', and start and end with a letter or digit"
	}
	return ""
}

func labelValueError(v string) string {
	if len(v) > 63 {
		return "must be at most 63 characters"
	}
	if !labelValueRE.MatchString(v) {
		return "must be empty or consist of letters, digits, '-', '_' or '.', and start and end with a letter or digit"
	}
	return ""
}

func validateLabels(errs *FieldErrors, path string, labels map[string]string) {
	for _, k := range sortedStringKeys(labels) {
		if msg := qualifiedNameError(k); msg != "" {
			errs.Add(ErrInvalid, path, "key "+msg, k)
		}
		if msg := labelValueError(labels[k]); msg != "" {
			errs.Add(ErrInvalid, path+"["+k+"]", msg, labels[k])
		}
	}
}

func validateAnnotations(errs *FieldErrors, path string, ann map[string]string) {
	total := 0
	for _, k := range sortedStringKeys(ann) {
		if msg := qualifiedNameError(k); msg != "" {
			errs.Add(ErrInvalid, path, "key "+msg, k)
		}
		total += len(k) + len(ann[k])
	}
	if total > maxAnnotationBytes {
		errs.Add(ErrTooLong, path, fmt.Sprintf("annotations may hold at most %d bytes in total", maxAnnotationBytes))
	}
}

func sortedStringKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
