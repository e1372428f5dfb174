package policy

import (
	"testing"
	"time"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/config"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
)

// TestPullRequestVerdict walks the pull-request order of the stages: scope,
// the trusted allowlist, then what the pull request added. A key the change
// deletes fails the gate even though the pull request allowlists it; a key
// pending elsewhere does not fail it; the same run under fail-scope all
// fails on the key elsewhere too.
func TestPullRequestVerdict(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	expires := now.AddDate(0, 2, 0)
	base := []config.AllowEntry{{Alias: "alias/retired-*", Reason: "retired", Expires: expires, Source: "base.yml:2"}}
	head := append(append([]config.AllowEntry{}, base...),
		config.AllowEntry{Key: "alias/payments", Reason: "re-key", Expires: expires, Source: ".github/kms-deletion-gate.yml:6"})
	findings := func() []finding.Finding {
		return []finding.Finding{
			{RuleID: finding.RuleDeletionPlanned, Account: "111122223333", Region: "us-east-1", KeyID: "5e6f7a8b-2222-4c4c-9d9d-0123456789cd",
				Aliases: []string{"alias/payments"}, State: finding.StateEnabled, Planned: &finding.PlannedChange{Address: "aws_kms_key.payments", Live: true}},
			{RuleID: finding.RulePendingDeletion, Account: "111122223333", Region: "us-east-1", KeyID: "1234abcd-12ab-34cd-56ef-1234567890ab",
				Aliases: []string{"alias/retired-orders"}, State: finding.StatePendingDeletion, DeletionDate: now.Add(10 * 24 * time.Hour),
				Locations: []finding.Location{{Path: "infra/main.tf", Line: 3}}},
			{RuleID: finding.RulePendingDeletion, Account: "444455556666", Region: "eu-west-1", KeyID: "dddddddd-1111-2222-3333-444444444444",
				State: finding.StatePendingDeletion, DeletionDate: now.Add(2 * 24 * time.Hour), Locations: []finding.Location{{Path: "other/main.tf", Line: 3}}},
		}
	}
	run := func(scope config.FailScope, trustHead bool) finding.Result {
		res := finding.Result{ScanTime: now, Findings: findings()}
		MarkElsewhere(&res, scope, []string{"infra/main.tf", "infra/tfplan.json"})
		trusted, added := SplitTrusted(base, head, trustHead)
		Policy{CriticalDays: 3, HighDays: 7, FailOn: finding.SeverityMedium, Allow: trusted, Now: now}.Apply(&res)
		MarkAddedByChange(&res, added)
		return res
	}
	byKey := func(res finding.Result) map[string]finding.Finding {
		m := map[string]finding.Finding{}
		for _, f := range res.Findings {
			m[f.KeyID[:4]] = f
		}
		return m
	}

	res := run(config.ScopeChange, false)
	got := byKey(res)
	if res.Passed || res.Scope != string(config.ScopeChange) {
		t.Errorf("passed %v scope %q: the change deletes an unapproved key", res.Passed, res.Scope)
	}
	if p := got["5e6f"]; p.Allowlisted || p.AllowAddedBy != ".github/kms-deletion-gate.yml:6" || !p.Gating(res.FailOn) || p.Severity != finding.SeverityHigh {
		t.Errorf("planned deletion: allowlisted %v, added by %q, gating %v", p.Allowlisted, p.AllowAddedBy, p.Gating(res.FailOn))
	}
	if k := got["1234"]; !k.Allowlisted || k.Elsewhere {
		t.Errorf("the touched key is approved by the base allowlist: %+v", k)
	}
	if k := got["dddd"]; !k.Elsewhere || k.Gating(res.FailOn) || k.Severity != finding.SeverityCritical {
		t.Errorf("the key elsewhere is critical, reported, not gating: %+v", k)
	}
	if len(res.AllowAddedByChange) != 1 || res.AllowAddedByChange[0].Selector != "key alias/payments" {
		t.Errorf("added entries %+v", res.AllowAddedByChange)
	}

	// allowlist-from: head trusts the pull request's own entry.
	res = run(config.ScopeChange, true)
	if !res.Passed || !byKey(res)["5e6f"].Allowlisted {
		t.Errorf("allowlist-from head: passed %v", res.Passed)
	}
	// fail-scope all: the key elsewhere counts again.
	res = run(config.ScopeAll, true)
	if res.Passed || byKey(res)["dddd"].Elsewhere {
		t.Errorf("fail-scope all: passed %v", res.Passed)
	}
}

func TestPlannedSeverity(t *testing.T) {
	t.Parallel()
	p := Policy{CriticalDays: 3, HighDays: 7, FailOn: finding.SeverityMedium}
	for reason, want := range map[string]finding.Severity{"": finding.SeverityHigh, "Decrypt 2 days ago": finding.SeverityCritical} {
		res := finding.Result{ScanTime: time.Now(), Findings: []finding.Finding{{RuleID: finding.RuleDeletionPlanned, InUseReason: reason}}}
		p.Apply(&res)
		if got := res.Findings[0].Severity; got != want {
			t.Errorf("in use %q: %s, want %s", reason, got, want)
		}
	}
}
