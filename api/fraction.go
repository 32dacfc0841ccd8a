package api

import (
	"encoding/json"
	"regexp"
	"strconv"
)

// CoreFraction is a class's core fraction: an integer percent 1..100
// (v1alpha2), a "N%" string (v1alpha3) or "Auto" (defaultCoreFraction
// only). It marshals back in the form it was given.
type CoreFraction struct {
	// Percent is 1..100; 0 for Auto or an unparsable string.
	Percent int
	// Auto is set for "Auto".
	Auto bool
	// text is the string form as given; empty for the integer form.
	text string
}

var (
	fractionPercentRE = regexp.MustCompile(`^(100|[1-9][0-9]?)%$`)
	fractionRE        = regexp.MustCompile(`^(Auto|(100|[1-9][0-9]?)%)$`)
)

// FractionPercent returns the integer form of n percent.
func FractionPercent(n int) CoreFraction { return CoreFraction{Percent: n} }

// FractionAuto returns "Auto".
func FractionAuto() CoreFraction { return CoreFraction{Auto: true, text: "Auto"} }

// ParseFraction parses a VM's coreFraction ("10%" or "Auto"); ok is false
// when s does not match ^(Auto|(100|[1-9][0-9]?)%)$.
func ParseFraction(s string) (CoreFraction, bool) {
	if !fractionRE.MatchString(s) {
		return CoreFraction{text: s}, false
	}
	return fractionFromString(s), true
}

func fractionFromString(s string) CoreFraction {
	f := CoreFraction{text: s}
	if s == "Auto" {
		f.Auto = true
		return f
	}
	if fractionPercentRE.MatchString(s) {
		f.Percent, _ = strconv.Atoi(s[:len(s)-1])
	}
	return f
}

// IsString reports whether the fraction was written as a string.
func (f CoreFraction) IsString() bool { return f.text != "" }

// String renders the fraction as a VM writes it: "10%" or "Auto".
func (f CoreFraction) String() string {
	if f.Auto {
		return "Auto"
	}
	if f.text != "" && f.Percent == 0 {
		return f.text
	}
	return strconv.Itoa(f.Percent) + "%"
}

// MarshalJSON writes the form that was given.
func (f CoreFraction) MarshalJSON() ([]byte, error) {
	if f.text != "" {
		return json.Marshal(f.text)
	}
	if f.Auto {
		return []byte(`"Auto"`), nil
	}
	return []byte(strconv.Itoa(f.Percent)), nil
}

// UnmarshalJSON accepts an integer or a string; the range and format are
// checked by Validate so that the error names the field.
func (f *CoreFraction) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = fractionFromString(s)
		return nil
	}
	*f = CoreFraction{}
	if string(b) == "null" {
		return nil
	}
	return json.Unmarshal(b, &f.Percent)
}

func (CoreFraction) checkJSON(v any) string {
	switch x := v.(type) {
	case string:
		return ""
	case json.Number:
		if _, err := strconv.Atoi(x.String()); err == nil {
			return ""
		}
	}
	return "expected integer or string, got " + jsonTypeName(v)
}

// validPercent reports whether f is a percent 1..100 in a valid form.
func (f CoreFraction) validPercent() bool {
	if f.text != "" {
		return fractionPercentRE.MatchString(f.text)
	}
	return !f.Auto && f.Percent >= 1 && f.Percent <= 100
}

// display renders the fraction as written, for error values.
func (f CoreFraction) display() string {
	if f.text != "" {
		return f.text
	}
	return strconv.Itoa(f.Percent)
}
