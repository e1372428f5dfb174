package summary_test

import (
	"strings"
	"testing"
	"time"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/report/summary"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/report/testfixture"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/golden"
)

func TestSummaryPullRequest(t *testing.T) {
	scan := testfixture.ScanTime
	planned := finding.Finding{
		RuleID: finding.RuleDeletionPlanned, Account: "111122223333", Region: "us-east-1",
		KeyID: "5e6f7a8b-2222-4c4c-9d9d-0123456789cd", State: finding.StateEnabled, Severity: finding.SeverityCritical,
		InUseReason:  "Decrypt 2 days ago",
		AllowAddedBy: ".github/kms-deletion-gate.yml:9",
		Planned: &finding.PlannedChange{Tool: "terraform", Source: "infra/tfplan.json", Address: "aws_kms_key.payments", Action: "replace",
			Live: true, Declared: &finding.Location{Path: "infra/main.tf", Line: 24}},
	}
	removed := finding.Finding{
		RuleID: finding.RuleDeletionPlanned, Severity: finding.SeverityHigh,
		Planned: &finding.PlannedChange{Tool: "cloudformation", Source: "cs.json", Address: "OrdersKey", Action: "delete"},
	}
	elsewhere := finding.Finding{
		RuleID: finding.RulePendingDeletion, Account: "444455556666", Region: "eu-west-1", KeyID: "dddddddd-1111-2222-3333-444444444444",
		State: finding.StatePendingDeletion, DeletionDate: scan.Add(48 * time.Hour), Severity: finding.SeverityCritical, Elsewhere: true,
	}
	res := finding.Result{
		ScanTime: scan, FailOn: finding.SeverityMedium, Scope: "change",
		Scanned:            []finding.Target{{Account: "111122223333", Region: "us-east-1"}},
		Findings:           []finding.Finding{planned, removed, elsewhere},
		AllowAddedByChange: []finding.AllowNote{{Source: ".github/kms-deletion-gate.yml:9", Selector: "key alias/payments", Reason: "re-key <b>", Expires: "2027-01-31"}},
	}
	got := summary.Render(res, summary.Options{ToolVersion: "v1.0.0"})
	golden.Check(t, "summary_pull_request.md", []byte(got))
	a, b, c := strings.Index(got, "### Deleted by this change"), strings.Index(got, "### Elsewhere in the account"), strings.Index(got, "dddddddd-")
	if a < 0 || b < a || c < b {
		t.Errorf("sections missing or out of order (%d %d %d)", a, b, c)
	}
	for _, want := range []string{
		"Fail scope **change**", "1 finding(s) elsewhere in the account",
		"`aws_kms_key.payments` (replace, `infra/main.tf:24`)",
		"`OrdersKey` (delete, removed; from `cs.json`)<br>key not named by the plan (not found in AWS)",
		"is added by this pull request", "Allowlist entries **added by this pull request**",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks %q", want)
		}
	}
	if strings.Contains(got, "<b>") {
		t.Error("the entry's reason reached the summary raw")
	}
}
