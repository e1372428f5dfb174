// Package testfixture builds the finding.Result that the report golden tests
// render: every state, severity, allowlisting, evidence and remediation, plus
// a hostile variant whose AWS strings try to break every sink.
package testfixture

import (
	"strings"
	"time"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
)

// ScanTime is the fixed scan time of the fixtures.
var ScanTime = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

// Result returns a representative, policy-judged result.
func Result() finding.Result {
	day := 24 * time.Hour
	return finding.Result{
		ScanTime: ScanTime,
		FailOn:   finding.SeverityMedium,
		Passed:   false,
		KeysSeen: 1204,
		APICalls: 1215,
		Scanned: []finding.Target{
			{Account: "111122223333", Region: "eu-west-1"}, {Account: "111122223333", Region: "us-east-1"},
			{Account: "444455556666", Region: "us-east-1"},
		},
		Errors:   []finding.ScanError{{Account: "444455556666", Region: "eu-west-1", Stage: "list-keys", Message: "AccessDeniedException: not authorized to perform kms:ListKeys"}},
		Warnings: []string{"allowlist entry at .github/kms-deletion-gate.yml:7 expired on 2026-11-01 and no longer applies"},
		Findings: []finding.Finding{
			{
				RuleID: finding.RulePendingDeletion, Account: "111122223333", Region: "us-east-1",
				KeyID: "1234abcd-12ab-34cd-56ef-1234567890ab", ARN: "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
				Aliases: []string{"alias/orders"}, State: finding.StatePendingDeletion,
				DeletionDate: ScanTime.Add(2*day + 4*time.Hour), DaysLeft: 2.17, Severity: finding.SeverityCritical,
				LastUse:      &finding.KeyUse{Operation: "Decrypt", Time: ScanTime.Add(-12 * day), EventID: "ev-1"},
				UsageTracked: true, TrackingStart: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
				InUseReason: "Decrypt 12 days ago (CloudTrail event ev-1)",
				ScheduledBy: &finding.ScheduleEvent{Principal: "arn:aws:sts::111122223333:assumed-role/Admin/alice", Time: ScanTime.Add(-5 * day), PendingWindowDays: 7},
				Remediation: &finding.Remediation{Action: "cancel", Command: "aws kms cancel-key-deletion --key-id 1234abcd-12ab-34cd-56ef-1234567890ab --region us-east-1", Outcome: "cancelled", StateAfter: "Disabled"},
				Locations:   []finding.Location{{Path: "infra/kms.tf", Line: 12, Match: "alias/orders"}},
			},
			{
				RuleID: finding.RulePendingDeletion, Account: "444455556666", Region: "us-east-1",
				KeyID: "mrk-5e6f0a1b2c3d4e5f60718293a4b5c6d7", ARN: "arn:aws:kms:us-east-1:444455556666:key/mrk-5e6f0a1b2c3d4e5f60718293a4b5c6d7", State: finding.StatePendingDeletion,
				DeletionDate: ScanTime.Add(6 * day), DaysLeft: 6, Severity: finding.SeverityHigh, UsageTracked: true,
				TrackingStart: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
			},
			{
				RuleID: finding.RulePendingDeletion, Account: "111122223333", Region: "eu-west-1",
				KeyID: "9a8b7c6d-0000-4000-8000-000000000001", ARN: "arn:aws:kms:eu-west-1:111122223333:key/9a8b7c6d-0000-4000-8000-000000000001",
				Aliases: []string{"alias/tmp-load-1"}, State: finding.StatePendingDeletion,
				DeletionDate: ScanTime.Add(25 * day), DaysLeft: 25, Severity: finding.SeverityMedium,
				Allowlisted: true, AllowReason: "Scratch keys of the load-test account", AllowExpires: "2027-01-15",
			},
			{
				RuleID: finding.RulePendingReplicaDeletion, Account: "111122223333", Region: "eu-west-1",
				KeyID: "mrk-1111", ARN: "arn:aws:kms:eu-west-1:111122223333:key/mrk-1111", State: finding.StatePendingReplicaDeletion,
				MultiRegion: true, PendingWindowDays: 14, DaysLeft: 14, Severity: finding.SeverityMedium,
			},
			{
				RuleID: finding.RuleDisabled, Account: "111122223333", Region: "us-east-1",
				KeyID: "dddddddd-0000-4000-8000-000000000002", ARN: "arn:aws:kms:us-east-1:111122223333:key/dddddddd-0000-4000-8000-000000000002",
				State: finding.StateDisabled, Severity: finding.SeverityLow,
			},
		},
	}
}

// HostileText is AWS metadata written to break sinks: workflow commands,
// Markdown and HTML, mentions, control and bidi characters, invalid UTF-8.
const HostileText = "::add-mask::x\n::stop-commands::tok\r\n##[error]boom @org/team #1 <img src=x onerror=alert(1)> | `code` [l](javascript:x) \x1b[31m\u202eevil\xff _GitHubActionsFileCommandDelimeter_"

// Hostile returns Result with hostile strings in every AWS-sourced field, and
// a 10,000-character description.
func Hostile() finding.Result {
	res := Result()
	for i := range res.Findings {
		f := &res.Findings[i]
		f.Description = HostileText + strings.Repeat("A", 10000)
		f.Aliases = append(f.Aliases, "alias/"+HostileText)
		f.Tags = map[string]string{HostileText: HostileText}
		if f.Allowlisted {
			f.AllowReason = HostileText
		}
		if f.ScheduledBy != nil {
			f.ScheduledBy.Principal = HostileText
		}
		if f.InUseReason != "" {
			f.InUseReason = HostileText
		}
	}
	res.Errors[0].Message = HostileText
	res.Warnings = append(res.Warnings, HostileText)
	return res
}
