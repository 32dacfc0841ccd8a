package api

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseSelector(t *testing.T) {
	labels := map[string]string{"app": "web", "tier": "front", "cores": "8"}
	cases := []struct {
		sel   string
		match bool
	}{
		{"", true},
		{"app=web", true},
		{"app==web", true},
		{"app = web , tier=front", true},
		{"app=db", false},
		{"app!=db", true},
		{"missing!=x", true},
		{"app in (web, db)", true},
		{"app in (db)", false},
		{"app notin (db,cache)", true},
		{"missing notin (db)", true},
		{"app", true},
		{"!app", false},
		{"!missing", true},
		{"cores>4", true},
		{"cores<4", false},
		{"example.com/role", false},
		{"app=web,tier in (front),!legacy", true},
		{"app=", false},
	}
	for _, c := range cases {
		s, err := ParseSelector(c.sel)
		require.NoError(t, err, c.sel)
		assert.Equal(t, c.match, s.Matches(labels), c.sel)
	}
	s, err := ParseSelector("a in (x,y)")
	require.NoError(t, err)
	assert.Equal(t, []LabelSelectorRequirement{{Key: "a", Operator: OpIn, Values: []string{"x", "y"}}}, s.Requirements())
	assert.True(t, Selector{}.Empty())
}

func TestParseSelectorErrors(t *testing.T) {
	for _, bad := range []string{"a in (x", "a in ((x))", "a)", "a,,b", "a b", "-a=b", "a=b c", "a in ()", "a>x", "!", "a=(x)"} {
		_, err := ParseSelector(bad)
		assert.Error(t, err, bad)
	}
	_, err := ParseSelector("bad key!=x")
	assert.ErrorContains(t, err, "bad key!=x")
}

func TestLabelSelectorMatches(t *testing.T) {
	var nilSel *LabelSelector
	assert.True(t, nilSel.Matches(nil))
	s := &LabelSelector{
		MatchLabels: map[string]string{"group": "blue"},
		MatchExpressions: []LabelSelectorRequirement{
			{Key: "node-role.kubernetes.io/control-plane", Operator: OpDoesNotExist},
			{Key: "mem", Operator: OpGt, Values: []string{"16"}},
		},
	}
	assert.True(t, s.Matches(map[string]string{"group": "blue", "mem": "32"}))
	assert.False(t, s.Matches(map[string]string{"group": "green", "mem": "32"}))
	assert.False(t, s.Matches(map[string]string{"group": "blue", "mem": "8"}))
	assert.False(t, s.Matches(map[string]string{"group": "blue", "mem": "lots"}))
	assert.False(t, s.Matches(map[string]string{"group": "blue", "mem": "32", "node-role.kubernetes.io/control-plane": ""}))
	assert.Empty(t, s.Validate("spec.nodeSelector"))
	bad := &LabelSelector{MatchLabels: map[string]string{"a": "b c"}, MatchExpressions: []LabelSelectorRequirement{{Key: "", Operator: OpIn}}}
	assert.Equal(t, []string{"x.matchLabels[a]", "x.matchExpressions[0].key", "x.matchExpressions[0].values"}, fields(bad.Validate("x")))
}

func TestConditions(t *testing.T) {
	t0 := fixedNow
	cs := SetCondition(nil, Condition{Type: "Ready", Status: ConditionFalse, Reason: "Provisioning"}, t0)
	require.Len(t, cs, 1)
	cs2 := SetCondition(cs, Condition{Type: "Ready", Status: ConditionFalse, Reason: "Still"}, t0.Add(time.Minute))
	assert.Equal(t, t0, cs2[0].LastTransitionTime.Time, "same status keeps the time")
	assert.Equal(t, "Provisioning", cs[0].Reason, "input not modified")
	cs3 := SetCondition(cs2, Condition{Type: "Ready", Status: ConditionTrue, Reason: "Ready"}, t0.Add(time.Hour))
	assert.Equal(t, t0.Add(time.Hour), cs3[0].LastTransitionTime.Time)
	assert.True(t, IsConditionTrue(cs3, "Ready"))
	assert.False(t, IsConditionTrue(cs3, "InUse"))
	assert.Nil(t, FindCondition(cs3, "InUse"))
}

func TestSemanticEqual(t *testing.T) {
	a := ClassCPU{Type: CPUTypeDiscovery}
	b := ClassCPU{Type: CPUTypeDiscovery, Discovery: &CPUDiscovery{}, Features: []string{}}
	assert.True(t, semanticEqual(a, b))
	assert.True(t, semanticEqual(SizingPolicy{CoreFractions: []CoreFraction{FractionPercent(5)}},
		SizingPolicy{CoreFractions: []CoreFraction{fractionFromString("5%")}}))
	assert.False(t, semanticEqual(VirtualMachineSpec{EnableParavirtualization: ptr(false)}, VirtualMachineSpec{}))
	assert.True(t, semanticEqual(VirtualDiskPVC{Size: ptr(MustParseQuantity("1Gi"))}, VirtualDiskPVC{Size: ptr(MustParseQuantity("1024Mi"))}))
	assert.False(t, semanticEqual(VirtualDiskPVC{Size: ptr(MustParseQuantity("1Gi"))}, VirtualDiskPVC{}))
}
