package policy

import (
	"strings"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/config"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
)

// MarkElsewhere records the fail scope on res and, under ScopeChange, marks
// Elsewhere every finding outside the change (InChange): it is reported but
// not counted by Apply's verdict. Call it before Apply.
func MarkElsewhere(res *finding.Result, scope config.FailScope, changedFiles []string) {
	res.Scope = string(scope)
	in := InChange(res.Findings, changedFiles)
	for i := range res.Findings {
		res.Findings[i].Elsewhere = scope == config.ScopeChange && !in[i]
	}
}

// SplitTrusted divides a pull request's allowlist (head) into the entries
// that approve deletions and those the pull request adds or widens, which
// do not (AddedByChange against base), unless trustHead.
func SplitTrusted(base, head []config.AllowEntry, trustHead bool) (trusted, added []config.AllowEntry) {
	for i, isAdded := range AddedByChange(base, head) {
		if isAdded {
			added = append(added, head[i])
		}
		if !isAdded || trustHead {
			trusted = append(trusted, head[i])
		}
	}
	return trusted, added
}

// MarkAddedByChange notes, on every finding the allowlist did not approve,
// the first entry added by the pull request that would have, and lists
// those entries on res for the reports. Call it after Apply.
func MarkAddedByChange(res *finding.Result, added []config.AllowEntry) {
	res.AllowAddedByChange = nil
	for _, e := range added {
		res.AllowAddedByChange = append(res.AllowAddedByChange, Note(e))
	}
	for i := range res.Findings {
		f := &res.Findings[i]
		f.AllowAddedBy = ""
		if f.Allowlisted {
			continue
		}
		for _, e := range added {
			if Matches(e, *f) {
				f.AllowAddedBy = e.Source
				break
			}
		}
	}
}

// Note describes an allowlist entry for the reports.
func Note(e config.AllowEntry) finding.AllowNote {
	var sel []string
	for _, s := range []struct{ name, value string }{{"key", e.Key}, {"alias", e.Alias}, {"account", e.Account}, {"region", e.Region}} {
		if s.value != "" {
			sel = append(sel, s.name+" "+s.value)
		}
	}
	return finding.AllowNote{Source: e.Source, Selector: strings.Join(sel, ", "), Reason: e.Reason, Expires: e.ExpiresText()}
}

// plannedSeverity judges a deletion the change plans: critical when the
// live key was used within recent-use-days (forensics sets InUseReason),
// high otherwise: applying the change starts the deletion, whatever the
// waiting period.
func plannedSeverity(f finding.Finding) (float64, finding.Severity) {
	if f.InUseReason != "" {
		return 0, finding.SeverityCritical
	}
	return 0, finding.SeverityHigh
}
