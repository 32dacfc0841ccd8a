package api

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
)

// Helpers shared by the kinds' Validate methods.

func checkEnum(errs *FieldErrors, path, v string, allowed ...string) {
	if v != "" && !contains(allowed, v) {
		errs.Add(ErrNotSupported, path, "must be one of "+strings.Join(allowed, ", "), v)
	}
}

func requireEnum(errs *FieldErrors, path, v string, allowed ...string) {
	if v == "" {
		errs.Add(ErrRequired, path, "must be one of "+strings.Join(allowed, ", "))
		return
	}
	checkEnum(errs, path, v, allowed...)
}

func checkBase64(errs *FieldErrors, path, v string) {
	if v == "" {
		return
	}
	if _, err := base64.StdEncoding.DecodeString(v); err != nil {
		errs.Add(ErrInvalid, path, "must be base64-encoded")
	}
}

// checkRefName checks the name of a referenced object (a DNS-1123
// subdomain); an empty name is Required.
func checkRefName(errs *FieldErrors, path, name string) {
	validateName(errs, path, name, nameRule{})
}

// wrongKind reports an old object of another kind passed to ValidateUpdate.
func wrongKind(want string, old Resource) FieldErrors {
	got := "<nil>"
	if old != nil {
		got = old.GetTypeMeta().Kind
	}
	return FieldErrors{{Type: ErrInvalid, Field: "kind", Value: got,
		Detail: fmt.Sprintf("cannot update a %s from a %s", want, got)}}
}

// terminating reports whether either version of the object is being deleted.
func terminating(a, b *ObjectMeta) bool {
	return a.DeletionTimestamp != nil || b.DeletionTimestamp != nil
}

func validateTolerations(errs *FieldErrors, path string, ts []Toleration) {
	for i, t := range ts {
		p := fmt.Sprintf("%s[%d]", path, i)
		if t.Key != "" {
			if msg := qualifiedNameError(t.Key); msg != "" {
				errs.Add(ErrInvalid, p+".key", "key "+msg, t.Key)
			}
		}
		checkEnum(errs, p+".operator", t.Operator, "Exists", "Equal")
		checkEnum(errs, p+".effect", t.Effect, TaintNoSchedule, TaintPreferNoSchedule, TaintNoExecute)
		switch {
		case t.Operator == "Exists" && t.Value != "":
			errs.Add(ErrInvalid, p+".value", "must be empty when operator is Exists", t.Value)
		case t.Key == "" && t.Operator != "Exists":
			errs.Add(ErrInvalid, p+".operator", "must be Exists when key is empty", t.Operator)
		}
		if t.TolerationSeconds != nil && t.Effect != TaintNoExecute {
			errs.Add(ErrForbidden, p+".tolerationSeconds", "allowed only with effect NoExecute")
		}
	}
}

var configKeyRE = regexp.MustCompile(`^[-._a-zA-Z0-9]+$`)
