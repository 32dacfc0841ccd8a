package api

import "time"

// ConditionStatus is True, False or Unknown.
type ConditionStatus string

// Condition statuses.
const (
	ConditionTrue    ConditionStatus = "True"
	ConditionFalse   ConditionStatus = "False"
	ConditionUnknown ConditionStatus = "Unknown"
)

// Condition is a metav1.Condition: one aspect of an object's state.
type Condition struct {
	Type               string          `json:"type"`
	Status             ConditionStatus `json:"status"`
	Reason             string          `json:"reason"`
	Message            string          `json:"message"`
	LastTransitionTime Time            `json:"lastTransitionTime"`
	ObservedGeneration int64           `json:"observedGeneration,omitempty"`
}

// FindCondition returns the condition of type t, or nil.
func FindCondition(conds []Condition, t string) *Condition {
	for i := range conds {
		if conds[i].Type == t {
			return &conds[i]
		}
	}
	return nil
}

// SetCondition returns conds with c added or replacing the condition of
// its type. LastTransitionTime is set to now when the status changes (or
// the condition is new) and kept otherwise. conds is not modified.
func SetCondition(conds []Condition, c Condition, now time.Time) []Condition {
	out := append([]Condition(nil), conds...)
	if old := FindCondition(out, c.Type); old != nil {
		if old.Status == c.Status && !old.LastTransitionTime.IsZero() {
			c.LastTransitionTime = old.LastTransitionTime
		} else {
			c.LastTransitionTime = *NewTime(now)
		}
		*old = c
		return out
	}
	c.LastTransitionTime = *NewTime(now)
	return append(out, c)
}

// IsConditionTrue reports whether the condition of type t is True.
func IsConditionTrue(conds []Condition, t string) bool {
	c := FindCondition(conds, t)
	return c != nil && c.Status == ConditionTrue
}
