// Package policy judges findings: severity by time left to DeletionDate (and
// evidence of use), the allowlist, and the gate's verdict.
package policy

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/bmatcuk/doublestar/v4"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/config"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
)

// Policy holds the thresholds and the allowlist of one run.
type Policy struct {
	CriticalDays int
	HighDays     int
	FailOn       finding.Severity
	Allow        []config.AllowEntry
	Now          time.Time
}

// Apply sets severity, days left and allowlist status on every finding of res,
// sorts them, warns about expired allowlist entries, and sets the verdict.
func (p Policy) Apply(res *finding.Result) {
	now := p.Now
	if now.IsZero() {
		now = res.ScanTime
	}
	var active []config.AllowEntry
	for _, e := range p.Allow {
		if e.Expired(now) {
			res.Warnings = append(res.Warnings, fmt.Sprintf("allowlist entry at %s expired on %s and no longer applies", e.Source, e.ExpiresText()))
			continue
		}
		active = append(active, e)
	}
	for i := range res.Findings {
		f := &res.Findings[i]
		f.DaysLeft, f.Severity = p.judge(*f, now)
		f.Allowlisted, f.AllowReason, f.AllowExpires = false, "", ""
		for _, e := range active {
			if Matches(e, *f) {
				f.Allowlisted, f.AllowReason, f.AllowExpires = true, e.Reason, e.ExpiresText()
				break
			}
		}
	}
	Sort(res.Findings)
	res.FailOn = p.FailOn
	res.Passed = true
	for _, f := range res.Findings {
		if f.Gating(p.FailOn) {
			res.Passed = false
		}
	}
}

// judge returns the days left and the severity of f at now.
func (p Policy) judge(f finding.Finding, now time.Time) (float64, finding.Severity) {
	if f.RuleID == finding.RuleDisabled {
		if f.InUseReason != "" {
			return 0, finding.SeverityHigh
		}
		return 0, finding.SeverityLow
	}
	var left time.Duration
	switch {
	case !f.DeletionDate.IsZero():
		left = f.DeletionDate.Sub(now)
	case f.PendingWindowDays > 0:
		// A primary waiting for its replicas: it is deleted at least this
		// long after the last replica goes, so this is the soonest it can be.
		left = time.Duration(f.PendingWindowDays) * day
	}
	// The severity compares exact durations; DaysLeft is rounded for display
	// only. Rounding first would count 3 days and 7 minutes as 3 days.
	// Exactly N days is "within N days": at the threshold counts.
	days := math.Round(left.Hours()/24*100) / 100
	if f.InUseReason != "" {
		return days, finding.SeverityCritical
	}
	switch {
	case left <= time.Duration(p.CriticalDays)*day:
		return days, finding.SeverityCritical
	case left <= time.Duration(p.HighDays)*day:
		return days, finding.SeverityHigh
	default:
		return days, finding.SeverityMedium
	}
}

const day = 24 * time.Hour

// Matches reports whether allowlist entry e covers finding f.
func Matches(e config.AllowEntry, f finding.Finding) bool {
	if e.Account != "" && !glob(e.Account, f.Account) {
		return false
	}
	if e.Region != "" && !glob(e.Region, f.Region) {
		return false
	}
	if e.Key != "" {
		ok := glob(e.Key, f.ARN) || glob(e.Key, f.KeyID)
		for _, a := range f.Aliases {
			ok = ok || glob(e.Key, a) || glob(e.Key, aliasARN(f, a))
		}
		if !ok {
			return false
		}
	}
	if e.Alias != "" {
		ok := false
		for _, a := range f.Aliases {
			ok = ok || glob(e.Alias, a)
		}
		if !ok {
			return false
		}
	}
	return true
}

func aliasARN(f finding.Finding, alias string) string {
	partition := "aws"
	if len(f.ARN) > 4 {
		if rest := f.ARN[4:]; len(rest) > 0 {
			for i := 0; i < len(rest); i++ {
				if rest[i] == ':' {
					partition = rest[:i]
					break
				}
			}
		}
	}
	return fmt.Sprintf("arn:%s:kms:%s:%s:%s", partition, f.Region, f.Account, alias)
}

func glob(pattern, s string) bool {
	ok, err := doublestar.Match(pattern, s)
	return err == nil && ok
}

// Sort orders findings soonest deletion first (zero dates last), then by
// account, region and key, so every report is deterministic.
func Sort(fs []finding.Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		ad, bd := sortDate(a), sortDate(b)
		if !ad.Equal(bd) {
			return ad.Before(bd)
		}
		if a.Account != b.Account {
			return a.Account < b.Account
		}
		if a.Region != b.Region {
			return a.Region < b.Region
		}
		if a.KeyID != b.KeyID {
			return a.KeyID < b.KeyID
		}
		return a.RuleID < b.RuleID
	})
}

var farFuture = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

func sortDate(f finding.Finding) time.Time {
	if f.DeletionDate.IsZero() {
		return farFuture
	}
	return f.DeletionDate
}
