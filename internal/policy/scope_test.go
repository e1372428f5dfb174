package policy

import (
	"fmt"
	"testing"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
)

func TestInChange(t *testing.T) {
	t.Parallel()
	at := func(paths ...string) []finding.Location {
		var out []finding.Location
		for _, p := range paths {
			out = append(out, finding.Location{Path: p, Line: 3})
		}
		return out
	}
	findings := []finding.Finding{
		{RuleID: finding.RuleDeletionPlanned, KeyID: "planned"},                                   // always in
		{RuleID: finding.RulePendingDeletion, KeyID: "touched", Locations: at("infra/main.tf")},   // referenced by a changed file
		{RuleID: finding.RulePendingDeletion, KeyID: "dotted", Locations: at("./app/x.yaml")},     // same path spelled differently
		{RuleID: finding.RulePendingDeletion, KeyID: "untouched", Locations: at("other/main.tf")}, // referenced, but not by a changed file
		{RuleID: finding.RulePendingDeletion, KeyID: "nowhere"},                                   // referenced by no file
		{RuleID: finding.RuleDisabled, KeyID: "disabled", Locations: at("infra/main.tf")},         // any rule referenced by a changed file
	}
	changed := []string{"infra/main.tf", "app/x.yaml", "README.md"}
	got := InChange(findings, changed)
	want := []bool{true, true, true, false, false, true}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("InChange = %v, want %v", got, want)
	}
	if got := InChange(findings, nil); fmt.Sprint(got) != fmt.Sprint([]bool{true, false, false, false, false, false}) {
		t.Errorf("with no changed files only the planned deletion is in the change: %v", got)
	}
}
