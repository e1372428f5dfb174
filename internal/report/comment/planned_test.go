package comment

import (
	"strings"
	"testing"
	"time"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/golden"
)

// pullRequestResult is a fail-scope change run: two deletions the change
// plans (one replaced and still declared, one removed), a pending key the
// changed code references, two elsewhere in the account, and an allowlist
// entry the pull request adds.
func pullRequestResult() finding.Result {
	replaced := finding.Finding{
		RuleID: finding.RuleDeletionPlanned, Account: "111122223333", Region: "us-east-1",
		KeyID: "5e6f7a8b-2222-4c4c-9d9d-0123456789cd", ARN: "arn:aws:kms:us-east-1:111122223333:key/5e6f7a8b-2222-4c4c-9d9d-0123456789cd",
		Aliases: []string{"alias/payments"}, Description: "payments ledger", State: finding.StateEnabled, Severity: finding.SeverityCritical,
		UsageTracked: true, LastUse: &finding.KeyUse{Operation: "Decrypt", Time: scanTime.Add(-2 * 24 * time.Hour)},
		InUseReason: "Decrypt 2 days ago",
		Planned: &finding.PlannedChange{Tool: "terraform", Source: "infra/tfplan.json", Address: "aws_kms_key.payments", Action: "replace",
			Reason: "replace_because_cannot_update", Live: true, Declared: &finding.Location{Path: "infra/main.tf", Line: 24}},
		AllowAddedBy: ".github/kms-deletion-gate.yml:9",
	}
	removed := finding.Finding{
		RuleID: finding.RuleDeletionPlanned, Account: "111122223333", Region: "us-east-1",
		KeyID: "0a1b2c3d-1111-4a4a-8b8b-0123456789ab", State: finding.StateEnabled, Severity: finding.SeverityHigh,
		UsageTracked: true,
		Planned:      &finding.PlannedChange{Tool: "terraform", Source: "infra/tfplan.json", Address: "module.kms.aws_kms_key.orders", Action: "delete", Live: true},
	}
	touched := pendingKey("111122223333", "us-east-1", "1234abcd-12ab-34cd-56ef-1234567890ab", 5*24*time.Hour, finding.SeverityHigh)
	touched.Locations = []finding.Location{{Path: "app/config.yaml", Line: 3}}
	far := pendingKey("444455556666", "eu-west-1", "dddddddd-1111-2222-3333-444444444444", 2*24*time.Hour, finding.SeverityCritical)
	far.Elsewhere = true
	far2 := pendingKey("444455556666", "eu-west-1", "eeeeeeee-1111-2222-3333-444444444444", 20*24*time.Hour, finding.SeverityMedium)
	far2.Elsewhere = true
	return finding.Result{
		ScanTime: scanTime, Scanned: scanned(2), FailOn: finding.SeverityMedium, Scope: "change",
		Findings: []finding.Finding{far2, touched, far, removed, replaced},
		AllowAddedByChange: []finding.AllowNote{{
			Source: ".github/kms-deletion-gate.yml:9", Selector: "key alias/payments",
			Reason: "re-keying payments <img src=x> @org/team", Expires: "2027-01-31",
		}},
	}
}

func TestPullRequestGolden(t *testing.T) {
	t.Parallel()
	onlyElsewhere := pullRequestResult()
	onlyElsewhere.Findings = onlyElsewhere.Findings[:1]
	onlyElsewhere.AllowAddedByChange = nil
	onlyElsewhere.Passed = true
	tests := []struct {
		name string
		res  finding.Result
	}{
		{"pull_request", pullRequestResult()},
		{"pull_request_elsewhere_only", onlyElsewhere},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := Render(tc.res, Options{RunURL: runURL})
			golden.Check(t, tc.name+".md", []byte(got))
		})
	}
}

// TestPullRequestSections checks what the golden file shows, section by
// section, so a reviewer of a regenerated golden file has a second opinion.
func TestPullRequestSections(t *testing.T) {
	t.Parallel()
	got := Render(pullRequestResult(), Options{})
	planned := strings.Index(got, "#### Deleted by this change")
	pending := strings.Index(got, "#### Pending deletion")
	elsewhere := strings.Index(got, "#### Elsewhere in the account")
	if planned < 0 || pending < planned || elsewhere < pending {
		t.Fatalf("sections out of order or missing (%d, %d, %d):\n%s", planned, pending, elsewhere, got)
	}
	for _, want := range []string{
		"**❌ Gate failed**: this change deletes 2 keys, and 1 key is pending deletion",
		"2 keys pending deletion elsewhere in the account are listed below, not counted",
		"`infra/main.tf:24`", // the replaced key's declaration
		"removed by this change; read from `infra/tfplan.json`", // the removed one names its plan
		"`module.kms.aws_kms_key.orders`",                       // and its address
		"⏳ added by this pull request",                          // the entry the PR adds does not approve
		"**Allowlist entries added by this pull request**",
		`&lt;img src\=x&gt;`, // the entry's reason is escaped
	} {
		if !strings.Contains(got, want) {
			t.Errorf("comment lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "<img") || strings.Contains(got, "@org/team") {
		t.Error("untrusted text reached the comment raw")
	}
	if strings.Count(got, "cancel-key-deletion --key-id '5e6f") > 0 || strings.Contains(got, "cancel-key-deletion --key-id 5e6f") {
		t.Error("a planned deletion got a cancel command; the key is not scheduled")
	}
}
