package policy_test

import (
	"strings"
	"testing"
	"time"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/config"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/policy"
)

var now = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func pending(id string, in time.Duration) finding.Finding {
	return finding.Finding{
		RuleID: finding.RulePendingDeletion, Account: "111122223333", Region: "us-east-1", KeyID: id,
		ARN:   "arn:aws:kms:us-east-1:111122223333:key/" + id,
		State: finding.StatePendingDeletion, DeletionDate: now.Add(in),
	}
}

func TestSeverityByTimeLeft(t *testing.T) {
	t.Parallel()
	day := 24 * time.Hour
	cases := []struct {
		name string
		f    finding.Finding
		want finding.Severity
		days float64
	}{
		{"2 days", pending("a", 2*day), finding.SeverityCritical, 2},
		{"3 days less a minute", pending("a", 3*day-time.Minute), finding.SeverityCritical, 3},
		{"exactly 3 days counts as within 3 days", pending("a", 3*day), finding.SeverityCritical, 3},
		// DaysLeft shows 3 (rounded) but the key is past the threshold.
		{"3 days and 7 minutes", pending("a", 3*day+7*time.Minute), finding.SeverityHigh, 3},
		{"exactly 7 days", pending("a", 7*day), finding.SeverityHigh, 7},
		{"7 days and a minute", pending("a", 7*day+time.Minute), finding.SeverityMedium, 7},
		{"3 days and an hour", pending("a", 3*day+time.Hour), finding.SeverityHigh, 3.04},
		{"6 days", pending("a", 6*day), finding.SeverityHigh, 6},
		{"25 days", pending("a", 25*day), finding.SeverityMedium, 25},
		{"past due", pending("a", -time.Hour), finding.SeverityCritical, -0.04},
		{"in use makes critical", func() finding.Finding { f := pending("a", 25*day); f.InUseReason = "Decrypt 1 day ago"; return f }(), finding.SeverityCritical, 25},
		{"replica deletion by window", finding.Finding{RuleID: finding.RulePendingReplicaDeletion, PendingWindowDays: 14}, finding.SeverityMedium, 14},
		{"replica deletion short window", finding.Finding{RuleID: finding.RulePendingReplicaDeletion, PendingWindowDays: 7}, finding.SeverityHigh, 7},
		{"disabled is low", finding.Finding{RuleID: finding.RuleDisabled}, finding.SeverityLow, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := finding.Result{ScanTime: now, Findings: []finding.Finding{tc.f}}
			policy.Policy{CriticalDays: 3, HighDays: 7, FailOn: finding.SeverityMedium, Now: now}.Apply(&res)
			f := res.Findings[0]
			if f.Severity != tc.want || f.DaysLeft != tc.days {
				t.Errorf("severity %s days %v, want %s %v", f.Severity, f.DaysLeft, tc.want, tc.days)
			}
		})
	}
}

func TestGateAndAllowlist(t *testing.T) {
	t.Parallel()
	day := 24 * time.Hour
	f := pending("1234abcd-12ab-34cd-56ef-1234567890ab", 10*day)
	f.Aliases = []string{"alias/tmp-load"}
	allow := func(e config.AllowEntry) config.AllowEntry {
		e.Reason, e.Source = "because", "kdg.yml:2"
		if e.Expires.IsZero() {
			e.Expires = time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)
		}
		return e
	}
	cases := []struct {
		name        string
		entry       *config.AllowEntry
		failOn      finding.Severity
		allowlisted bool
		passed      bool
		warnings    int
	}{
		{"no allowlist fails at medium", nil, finding.SeverityMedium, false, false, 0},
		{"fail-on high passes a medium", nil, finding.SeverityHigh, false, true, 0},
		{"fail-on none always passes", nil, finding.SeverityNone, false, true, 0},
		{"fail-on low fails a medium", nil, finding.SeverityLow, false, false, 0},
		{"by ARN", &config.AllowEntry{Key: f.ARN}, finding.SeverityMedium, true, true, 0},
		{"by key id", &config.AllowEntry{Key: f.KeyID}, finding.SeverityMedium, true, true, 0},
		{"by ARN glob", &config.AllowEntry{Key: "arn:aws:kms:us-east-1:111122223333:key/*"}, finding.SeverityMedium, true, true, 0},
		{"by alias in key", &config.AllowEntry{Key: "alias/tmp-load"}, finding.SeverityMedium, true, true, 0},
		{"by alias ARN", &config.AllowEntry{Key: "arn:aws:kms:us-east-1:111122223333:alias/tmp-*"}, finding.SeverityMedium, true, true, 0},
		{"by alias glob + account + region", &config.AllowEntry{Alias: "alias/tmp-*", Account: "111122223333", Region: "us-east-1"}, finding.SeverityMedium, true, true, 0},
		{"other account does not match", &config.AllowEntry{Alias: "alias/tmp-*", Account: "999999999999"}, finding.SeverityMedium, false, false, 0},
		{"other region does not match", &config.AllowEntry{Alias: "alias/tmp-*", Region: "eu-west-1"}, finding.SeverityMedium, false, false, 0},
		{"alias glob is anchored", &config.AllowEntry{Alias: "alias/tmp"}, finding.SeverityMedium, false, false, 0},
		{"expired entry is ignored and warned", &config.AllowEntry{Key: f.KeyID, Expires: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)}, finding.SeverityMedium, false, false, 1},
		{"entry expiring today still applies", &config.AllowEntry{Key: f.KeyID, Expires: time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)}, finding.SeverityMedium, true, true, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := policy.Policy{CriticalDays: 3, HighDays: 7, FailOn: tc.failOn, Now: now}
			if tc.entry != nil {
				p.Allow = []config.AllowEntry{allow(*tc.entry)}
			}
			res := finding.Result{ScanTime: now, Findings: []finding.Finding{f}}
			p.Apply(&res)
			got := res.Findings[0]
			if got.Allowlisted != tc.allowlisted || res.Passed != tc.passed || len(res.Warnings) != tc.warnings {
				t.Fatalf("allowlisted=%v passed=%v warnings=%v", got.Allowlisted, res.Passed, res.Warnings)
			}
			if got.Allowlisted && (got.AllowReason != "because" || got.AllowExpires == "") {
				t.Errorf("allow reason/expiry not carried: %+v", got)
			}
			if tc.warnings > 0 && !strings.Contains(res.Warnings[0], "kdg.yml:2 expired on 2026-11-23") {
				t.Errorf("warning = %q", res.Warnings[0])
			}
		})
	}
}

func TestSortSoonestFirstDeterministic(t *testing.T) {
	t.Parallel()
	day := 24 * time.Hour
	a, b, c := pending("c", 9*day), pending("a", 2*day), pending("b", 9*day)
	d := finding.Finding{RuleID: finding.RuleDisabled, KeyID: "d"}
	res := finding.Result{ScanTime: now, Findings: []finding.Finding{d, a, b, c}}
	policy.Policy{CriticalDays: 3, HighDays: 7, Now: now}.Apply(&res)
	var order []string
	for _, f := range res.Findings {
		order = append(order, f.KeyID)
	}
	if strings.Join(order, ",") != "a,b,c,d" {
		t.Errorf("order = %v", order)
	}
}
