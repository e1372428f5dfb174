package remediate

import (
	"testing"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
)

func TestEligible(t *testing.T) {
	t.Parallel()
	pending := finding.Finding{RuleID: finding.RulePendingDeletion, State: finding.StatePendingDeletion, Severity: finding.SeverityHigh}
	tests := []struct {
		name string
		mod  func(*finding.Finding)
		want bool
	}{
		{"pending, unapproved, at the threshold", func(*finding.Finding) {}, true},
		{"allowlisted", func(f *finding.Finding) { f.Allowlisted = true }, false},
		{"below the threshold", func(f *finding.Finding) { f.Severity = finding.SeverityMedium }, false},
		{"disabled", func(f *finding.Finding) { f.RuleID, f.State = finding.RuleDisabled, finding.StateDisabled }, false},
		// A planned deletion of a key already pending has its own pending
		// finding: that one is remediated, once.
		{"planned deletion of a pending key", func(f *finding.Finding) { f.RuleID = finding.RuleDeletionPlanned }, false},
	}
	for _, tc := range tests {
		f := pending
		tc.mod(&f)
		if got := Eligible(f, finding.SeverityHigh); got != tc.want {
			t.Errorf("%s: Eligible = %v, want %v", tc.name, got, tc.want)
		}
	}
}
