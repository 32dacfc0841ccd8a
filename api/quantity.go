package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"strconv"
)

// Quantity is a size in bytes, written as Kubernetes writes quantities:
// "512Mi", "1Gi", "1.5Gi", "1G", "1000", "1e3". It keeps the text it was
// given, so a manifest round-trips unchanged, and compares by value.
// The zero Quantity is "unset" (IsZero), which omitzero leaves out.
type Quantity struct {
	text  string
	bytes int64
}

var quantityRE = regexp.MustCompile(`^\+?([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)|[eE]([+-]?[0-9]{1,2}))?$`)

// ParseQuantity parses a non-negative byte quantity. Fractional bytes are
// rounded up, as Kubernetes does.
func ParseQuantity(s string) (Quantity, error) {
	if len(s) > 0 && s[0] == '-' {
		return Quantity{}, fmt.Errorf("invalid quantity %q: must not be negative", s)
	}
	m := quantityRE.FindStringSubmatch(s)
	if m == nil {
		return Quantity{}, fmt.Errorf("invalid quantity %q: want a number with an optional suffix (Ki, Mi, Gi, Ti, k, M, G, T, ...)", s)
	}
	num, ok := new(big.Rat).SetString(m[1])
	if !ok {
		return Quantity{}, fmt.Errorf("invalid quantity %q", s)
	}
	num.Mul(num, quantityMultiplier(m[2], m[3]))
	// Round up to whole bytes.
	q, r := new(big.Int).QuoRem(num.Num(), num.Denom(), new(big.Int))
	if r.Sign() > 0 {
		q.Add(q, big.NewInt(1))
	}
	if !q.IsInt64() {
		return Quantity{}, fmt.Errorf("invalid quantity %q: too large", s)
	}
	return Quantity{text: s, bytes: q.Int64()}, nil
}

func quantityMultiplier(suffix, exp string) *big.Rat {
	pow := func(base, n int64) *big.Rat {
		return new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(base), big.NewInt(n), nil))
	}
	if exp != "" {
		e, _ := strconv.Atoi(exp)
		if e < 0 {
			return new(big.Rat).Inv(pow(10, int64(-e)))
		}
		return pow(10, int64(e))
	}
	switch suffix {
	case "m":
		return big.NewRat(1, 1000)
	case "k":
		return pow(10, 3)
	case "M":
		return pow(10, 6)
	case "G":
		return pow(10, 9)
	case "T":
		return pow(10, 12)
	case "P":
		return pow(10, 15)
	case "E":
		return pow(10, 18)
	case "Ki":
		return pow(2, 10)
	case "Mi":
		return pow(2, 20)
	case "Gi":
		return pow(2, 30)
	case "Ti":
		return pow(2, 40)
	case "Pi":
		return pow(2, 50)
	case "Ei":
		return pow(2, 60)
	}
	return big.NewRat(1, 1)
}

// MustParseQuantity is ParseQuantity for constants; it panics on a bad one.
func MustParseQuantity(s string) Quantity {
	q, err := ParseQuantity(s)
	if err != nil {
		panic("api: " + err.Error())
	}
	return q
}

// NewQuantity returns a quantity of n bytes, written with the largest
// binary suffix that divides it ("1Gi", "1536Mi", "1000").
func NewQuantity(n int64) Quantity {
	text := strconv.FormatInt(n, 10)
	for _, u := range []struct {
		s string
		v int64
	}{{"Ei", 1 << 60}, {"Pi", 1 << 50}, {"Ti", 1 << 40}, {"Gi", 1 << 30}, {"Mi", 1 << 20}, {"Ki", 1 << 10}} {
		if n != 0 && n%u.v == 0 {
			text = strconv.FormatInt(n/u.v, 10) + u.s
			break
		}
	}
	return Quantity{text: text, bytes: n}
}

// Bytes is the quantity's value in bytes (0 when unset).
func (q Quantity) Bytes() int64 { return q.bytes }

// String is the quantity as written.
func (q Quantity) String() string { return q.text }

// IsZero reports whether the quantity is unset (a set "0" is not zero).
func (q Quantity) IsZero() bool { return q.text == "" }

// Cmp compares by value: -1, 0 or +1.
func (q Quantity) Cmp(o Quantity) int {
	switch {
	case q.bytes < o.bytes:
		return -1
	case q.bytes > o.bytes:
		return 1
	}
	return 0
}

// MarshalJSON writes the quantity as the string it was given.
func (q Quantity) MarshalJSON() ([]byte, error) {
	if q.text == "" {
		return []byte(`"0"`), nil
	}
	return json.Marshal(q.text)
}

// UnmarshalJSON accepts a string ("1Gi") or a number (1073741824).
func (q *Quantity) UnmarshalJSON(b []byte) error {
	var v any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return err
	}
	if v == nil {
		*q = Quantity{}
		return nil
	}
	s, ok := quantityText(v)
	if !ok {
		return errors.New("quantity: expected a string or a number")
	}
	if s == "" { // an empty string is an unset quantity, as null is
		*q = Quantity{}
		return nil
	}
	p, err := ParseQuantity(s)
	if err != nil {
		return err
	}
	*q = p
	return nil
}

func quantityText(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	}
	return "", false
}

func (Quantity) checkJSON(v any) string {
	s, ok := quantityText(v)
	if !ok {
		return "expected quantity (a string like 1Gi or an integer), got " + jsonTypeName(v)
	}
	if _, err := ParseQuantity(s); err != nil {
		return err.Error()
	}
	return ""
}
