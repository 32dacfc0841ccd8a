package api

import "reflect"

var (
	quantityType = reflect.TypeFor[Quantity]()
	fractionType = reflect.TypeFor[CoreFraction]()
)

// semanticEqual compares two values of the same type by meaning rather
// than by text: quantities by bytes ("1Gi" equals "1024Mi"), fractions by
// value (50 equals "50%"), a nil slice or map equals an empty one, and a nil pointer to a struct
// equals a pointer to an empty struct ("discovery: {}").
func semanticEqual(a, b any) bool {
	return valueEqual(reflect.ValueOf(a), reflect.ValueOf(b))
}

func valueEqual(a, b reflect.Value) bool {
	if !a.IsValid() || !b.IsValid() {
		return a.IsValid() == b.IsValid()
	}
	switch a.Type() {
	case quantityType:
		qa, qb := a.Interface().(Quantity), b.Interface().(Quantity)
		return qa.IsZero() == qb.IsZero() && qa.Cmp(qb) == 0
	case fractionType:
		fa, fb := a.Interface().(CoreFraction), b.Interface().(CoreFraction)
		return fa.Auto == fb.Auto && fa.Percent == fb.Percent && (fa.Percent != 0 || fa.text == fb.text)
	}
	switch a.Kind() {
	case reflect.Pointer:
		return pointerEqual(a, b)
	case reflect.Struct:
		for i := 0; i < a.NumField(); i++ {
			if a.Type().Field(i).IsExported() && !valueEqual(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	case reflect.Slice:
		if a.Len() != b.Len() {
			return false
		}
		for i := 0; i < a.Len(); i++ {
			if !valueEqual(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Map:
		if a.Len() != b.Len() {
			return false
		}
		for _, k := range a.MapKeys() {
			bv := b.MapIndex(k)
			if !bv.IsValid() || !valueEqual(a.MapIndex(k), bv) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a.Interface(), b.Interface())
}

func pointerEqual(a, b reflect.Value) bool {
	switch {
	case a.IsNil() && b.IsNil():
		return true
	case a.IsNil() != b.IsNil() && a.Type().Elem().Kind() != reflect.Struct:
		return false // a nil *bool or *int means "default", not zero
	case a.IsNil():
		return valueEqual(reflect.Zero(b.Type().Elem()), b.Elem())
	case b.IsNil():
		return valueEqual(a.Elem(), reflect.Zero(a.Type().Elem()))
	}
	return valueEqual(a.Elem(), b.Elem())
}
