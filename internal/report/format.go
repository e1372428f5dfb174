// Package report holds what every report renders the same way: time left,
// last use, and the accounting of a result.
package report

import (
	"fmt"
	"math"
	"time"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
)

// TimeLeft renders the days left of f as "2d 4h", "5h", "past due" or "-"
// when no deletion date is known.
func TimeLeft(f finding.Finding) string {
	if f.RuleID == finding.RuleDisabled {
		return "-"
	}
	if f.DeletionDate.IsZero() {
		if f.PendingWindowDays > 0 && f.RuleID == finding.RulePendingReplicaDeletion {
			return fmt.Sprintf(">= %dd after replicas", f.PendingWindowDays)
		}
		return "-"
	}
	if f.DaysLeft <= 0 {
		return "past due"
	}
	hours := int(math.Floor(f.DaysLeft * 24))
	d, h := hours/24, hours%24
	switch {
	case d == 0:
		return fmt.Sprintf("%dh", h)
	case h == 0:
		return fmt.Sprintf("%dd", d)
	default:
		return fmt.Sprintf("%dd %dh", d, h)
	}
}

// DeletionDate renders the deletion date as 2026-11-26 14:03 UTC, or "-".
func DeletionDate(f finding.Finding) string {
	if f.DeletionDate.IsZero() {
		return "-"
	}
	return Minute(f.DeletionDate)
}

// LastUse renders the last recorded use of the key relative to the scan:
// "Decrypt, 12 days ago", "none recorded since 2026-01-01", or "not checked".
// Operation names come from AWS and must still be escaped by the caller.
func LastUse(f finding.Finding, scan time.Time) string {
	if f.LastUse != nil {
		return fmt.Sprintf("%s, %s", f.LastUse.Operation, Ago(scan, f.LastUse.Time))
	}
	if f.UsageTracked {
		if f.TrackingStart.IsZero() {
			return "none recorded"
		}
		return "none recorded since " + f.TrackingStart.UTC().Format(time.DateOnly)
	}
	return "not checked"
}

// Ago renders how long before scan t was: "12 days ago", "5 hours ago",
// "less than an hour ago", or "on 2026-11-24 12:00 UTC" when either time is
// unknown or t is after scan.
func Ago(scan, t time.Time) string {
	d := scan.Sub(t)
	switch {
	case scan.IsZero() || t.IsZero() || d < 0:
		return "on " + Minute(t)
	case d < time.Hour:
		return "less than an hour ago"
	case d < 48*time.Hour:
		return fmt.Sprintf("%d hours ago", int(d.Hours()))
	default:
		return fmt.Sprintf("%d days ago", int(d.Hours()/24))
	}
}

// Minute renders t in UTC to the minute: 2026-11-24 12:00 UTC.
func Minute(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

// DaysLeftPhrase says how long until the deletion date in whole days, for
// sentences: "3 days left", "less than a day left".
func DaysLeftPhrase(days float64) string {
	switch {
	case days < 0:
		return "the deletion date has passed"
	case days < 1:
		return "less than a day left"
	case days < 2:
		return "1 day left"
	default:
		return fmt.Sprintf("%d days left", int(math.Floor(days)))
	}
}

// ScheduledBy renders who scheduled the deletion, or "" when unknown.
func ScheduledBy(f finding.Finding) string {
	if f.ScheduledBy == nil {
		return ""
	}
	return fmt.Sprintf("%s at %s", f.ScheduledBy.Principal, Minute(f.ScheduledBy.Time))
}

// Verdict renders the gate's verdict in words.
func Verdict(res finding.Result) string {
	if res.Passed {
		return "pass"
	}
	return "fail"
}

// Tally counts findings for outputs and headers.
type Tally struct {
	BySeverity  map[finding.Severity]int // unapproved and counted by the verdict (not elsewhere)
	Allowlisted int
	Total       int
	// Elsewhere counts unapproved findings outside the change under review
	// (fail-scope: change): reported, not counted by the verdict.
	Elsewhere int
}

// Count tallies res.
func Count(res finding.Result) Tally {
	t := Tally{BySeverity: res.Counts(), Total: len(res.Findings)}
	for _, f := range res.Findings {
		if f.Allowlisted {
			t.Allowlisted++
		} else if f.Elsewhere {
			t.Elsewhere++
		}
	}
	return t
}

// SeverityBadge renders a severity with its colour for Markdown reports.
func SeverityBadge(s finding.Severity) string {
	switch s {
	case finding.SeverityCritical:
		return "🔴 critical"
	case finding.SeverityHigh:
		return "🟠 high"
	case finding.SeverityMedium:
		return "🟡 medium"
	case finding.SeverityLow:
		return "🔵 low"
	}
	return s.String()
}
