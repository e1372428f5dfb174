package sarif

import (
	"strings"
	"testing"
	"time"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
)

func TestPlannedDeletionResult(t *testing.T) {
	t.Parallel()
	scan := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	decl := finding.Location{Path: "infra/main.tf", Line: 24, Match: "aws_kms_key.payments"}
	res := finding.Result{ScanTime: scan, Findings: []finding.Finding{
		{
			RuleID: finding.RuleDeletionPlanned, Account: "111122223333", Region: "us-east-1",
			KeyID: "5e6f7a8b-2222-4c4c-9d9d-0123456789cd", ARN: "arn:aws:kms:us-east-1:111122223333:key/5e6f7a8b-2222-4c4c-9d9d-0123456789cd",
			Aliases: []string{"alias/payments"}, State: finding.StateEnabled, Severity: finding.SeverityCritical,
			Planned:   &finding.PlannedChange{Tool: "terraform", Source: "infra/tfplan.json", Address: "aws_kms_key.payments", Action: "replace", Live: true, Declared: &decl},
			Locations: []finding.Location{decl},
		},
		{
			// The plan withholds the id; the address is hostile.
			RuleID: finding.RuleDeletionPlanned, Severity: finding.SeverityHigh,
			Planned: &finding.PlannedChange{Tool: "terraform", Source: "tfplan.json", Address: "aws_kms_key.x[\"[evil](https://x.test)\"]", Action: "delete"},
		},
	}}
	_, l := buildLog(t, res, Options{})
	rs := l.Runs[0].Results
	if len(rs) != 2 {
		t.Fatalf("%d results", len(rs))
	}
	first := rs[0]
	if first.RuleID != finding.RuleDeletionPlanned || first.Level != "error" ||
		!strings.HasPrefix(first.Message.Text, "aws_kms_key.payments replaces KMS key alias/payments in 111122223333/us-east-1 (terraform infra/tfplan.json).") ||
		first.Locations[0].PhysicalLocation.ArtifactLocation.URI != "infra/main.tf" || first.Locations[0].PhysicalLocation.Region.StartLine != 24 {
		t.Errorf("first result: %+v", first)
	}
	second := rs[1]
	if !strings.Contains(second.Message.Text, `\](https://`) || strings.Contains(second.Message.Text, "cancel-key-deletion") || strings.Contains(second.Message.Text, "Key ARN") || !strings.Contains(second.Message.Text, "not found in AWS") ||
		!strings.Contains(second.Message.Text, "deletes a KMS key") {
		t.Errorf("second message %q", second.Message.Text)
	}
	// Two findings without a key id get distinct, stable fingerprints.
	if Fingerprint(res.Findings[1]) == Fingerprint(finding.Finding{RuleID: finding.RuleDeletionPlanned, Planned: &finding.PlannedChange{Tool: "terraform", Address: "aws_kms_key.y"}}) {
		t.Error("planned deletions without a key id share a fingerprint")
	}
}
