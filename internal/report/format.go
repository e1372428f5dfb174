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
		if f.PendingWindowDays > 0 {
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
	return f.DeletionDate.UTC().Format("2006-01-02 15:04 UTC")
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

// Ago renders how long before now t was: "12 days ago", "5 hours ago".
func Ago(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < 0:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d minutes ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d hours ago", int(d.Hours()))
	default:
		return fmt.Sprintf("%d days ago", int(d.Hours()/24))
	}
}

// ScheduledBy renders who scheduled the deletion, or "" when unknown.
func ScheduledBy(f finding.Finding) string {
	if f.ScheduledBy == nil {
		return ""
	}
	return fmt.Sprintf("%s at %s", f.ScheduledBy.Principal, f.ScheduledBy.Time.UTC().Format("2006-01-02 15:04 UTC"))
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
	BySeverity  map[finding.Severity]int // unapproved only
	Allowlisted int
	Total       int
}

// Count tallies res.
func Count(res finding.Result) Tally {
	t := Tally{BySeverity: res.Counts(), Total: len(res.Findings)}
	for _, f := range res.Findings {
		if f.Allowlisted {
			t.Allowlisted++
		}
	}
	return t
}
