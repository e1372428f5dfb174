package annotations

import (
	"strings"
	"testing"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
)

func TestPlannedDeletionAnnotations(t *testing.T) {
	t.Parallel()
	replaced := finding.Finding{
		RuleID: finding.RuleDeletionPlanned, Account: "111122223333", Region: "us-east-1",
		KeyID: "5e6f7a8b-2222-4c4c-9d9d-0123456789cd", Aliases: []string{"alias/payments"}, Severity: finding.SeverityCritical,
		InUseReason: "Decrypt 2 days ago",
		Planned: &finding.PlannedChange{Tool: "terraform", Source: "infra/tfplan.json", Address: "aws_kms_key.payments", Action: "replace", Live: true,
			Declared: &finding.Location{Path: "infra/main.tf", Line: 24}},
		Locations: []finding.Location{{Path: "infra/main.tf", Line: 24, Match: "aws_kms_key.payments"}},
	}
	// Removed from the code: no line to annotate (the comment names it).
	removed := finding.Finding{
		RuleID: finding.RuleDeletionPlanned, Severity: finding.SeverityHigh,
		Planned: &finding.PlannedChange{Tool: "terraform", Source: "infra/tfplan.json", Address: "module.kms.aws_kms_key.orders\n::error::x", Action: "delete"},
	}
	// Pending elsewhere in the account, referenced by an unchanged file: not
	// annotated on a pull request that does not touch it.
	elsewhere := key(7, finding.SeverityCritical, finding.Location{Path: "other/main.tf", Line: 3, Match: "alias/x"})
	elsewhere.Elsewhere = true
	got := write(t, finding.Result{ScanTime: scanTime, Findings: []finding.Finding{replaced, removed, elsewhere}}, Options{})
	lines := strings.Split(strings.TrimSpace(got), "\n")
	if len(lines) != 1 {
		t.Fatalf("%d annotations, want 1:\n%s", len(lines), got)
	}
	for _, want := range []string{
		"::error file=infra/main.tf,line=24,title=aws_kms_key.payments replaces KMS key alias/payments (critical)::",
		"Still needed: Decrypt 2 days ago", "This line declares the resource the change deletes.", "keep the resource",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("annotation lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "cancel-key-deletion") {
		t.Error("a planned deletion's annotation offers cancel-key-deletion")
	}
	// With fileless annotations on, the removed resource is annotated
	// without a file, and its hostile address cannot start a command.
	got = write(t, finding.Result{ScanTime: scanTime, Findings: []finding.Finding{removed}}, Options{Fileless: true})
	if !strings.HasPrefix(got, "::error title=module.kms.aws_kms_key.orders") || strings.Count(got, "\n") != 1 {
		t.Errorf("fileless annotation:\n%s", got)
	}
}
