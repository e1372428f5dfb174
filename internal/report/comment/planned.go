package comment

import (
	"fmt"
	"strings"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/escape"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/report"
)

// Cell limits of the planned-deletion table and the added-entries list.
const (
	maxAddress = 120
	maxPath    = 160
	maxAdded   = 20
)

// group orders the comment: deletions this change plans, then keys pending
// deletion that count for the verdict, then those elsewhere in the account.
func group(f finding.Finding) int {
	switch {
	case f.RuleID == finding.RuleDeletionPlanned:
		return 0
	case f.Elsewhere:
		return 2
	}
	return 1
}

func split(rows []finding.Finding) (planned, here, elsewhere []finding.Finding) {
	for _, f := range rows {
		switch group(f) {
		case 0:
			planned = append(planned, f)
		case 1:
			here = append(here, f)
		default:
			elsewhere = append(elsewhere, f)
		}
	}
	return planned, here, elsewhere
}

// table writes the table of keys pending deletion (or disabled).
func (r renderer) table(b *strings.Builder, rows []finding.Finding) {
	b.WriteString("\n| Deletion date | Time left | Severity | Account | Region | Key | Aliases | State | Last use | Scheduled by | Allowlist |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, f := range rows {
		b.WriteString(r.row(f))
	}
}

// plannedTable writes the keys this change deletes or replaces: the
// resource, where the head commit declares it (or, when the change removes
// the declaration, the plan it was read from), and the live key.
func (r renderer) plannedTable(b *strings.Builder, rows []finding.Finding) {
	if len(rows) == 0 {
		return
	}
	b.WriteString("\n#### Deleted by this change\n\n")
	b.WriteString("| Severity | Resource | Change | Declared | Account | Region | Key | Aliases | Last use | Allowlist |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|\n")
	for _, f := range rows {
		p := f.Planned
		if p == nil {
			p = &finding.PlannedChange{}
		}
		declared := "removed by this change; read from " + escape.Code(clipPath(p.Source))
		switch {
		case p.Declared != nil:
			declared = escape.Code(fmt.Sprintf("%s:%d", clipPath(p.Declared.Path), p.Declared.Line))
		case p.RemovedFrom != nil:
			declared = "removed from " + escape.Code(fmt.Sprintf("%s:%d", clipPath(p.RemovedFrom.Path), p.RemovedFrom.Line)) + " (base)"
		}
		var key string
		switch {
		case f.KeyID != "" && p.Live:
			key = escape.Code(f.KeyID)
			if f.Description != "" {
				key += "<br>" + escape.Markdown(f.Description, maxDescription)
			}
		case f.KeyID != "":
			key = escape.Code(f.KeyID) + "<br>not found in AWS"
		default:
			key = "not named by the plan"
		}
		if f.InUseReason != "" {
			key += "<br>⚠️ " + escape.Markdown(f.InUseReason, maxReason)
		}
		aliases := aliasCell(f)
		lastUse := "—"
		if p.Live {
			lastUse = r.lastUse(f)
		}
		cells := []string{
			report.SeverityBadge(f.Severity),
			escape.Code(escape.PlainText(p.Address, maxAddress)) + "<br>" + escape.Markdown(p.Tool, maxShort),
			escape.Markdown(p.Action, maxShort), declared,
			orDash(escape.Markdown(f.Account, maxShort)), orDash(escape.Markdown(f.Region, maxShort)),
			key, aliases, lastUse, allowCell(f),
		}
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
}

// addedEntries lists the allowlist entries this pull request adds or widens.
func (r renderer) addedEntries(b *strings.Builder) {
	added := r.res.AllowAddedByChange
	if len(added) == 0 {
		return
	}
	b.WriteString("\n**Allowlist entries added by this pull request** approve nothing until the pull request is merged; a reviewer approves them by merging:\n\n")
	for _, e := range added[:min(len(added), maxAdded)] {
		line := "- " + escape.Code(clipPath(e.Source)) + ": " + escape.Markdown(e.Selector, maxReason)
		if e.Reason != "" {
			line += ", “" + escape.Markdown(e.Reason, maxReason) + "”"
		}
		if e.Expires != "" {
			line += " (until " + escape.Markdown(e.Expires, maxShort) + ")"
		}
		b.WriteString(line + "\n")
	}
	if extra := len(added) - maxAdded; extra > 0 {
		fmt.Fprintf(b, "- … %d more\n", extra)
	}
}

// elsewhereNote is the verdict's sentence about keys outside the change.
func (r renderer) elsewhereNote(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" %d %s pending deletion elsewhere in the account %s listed below, not counted (`fail-scope: change`).",
		n, plural(n, "key", "keys"), plural(n, "is", "are"))
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// clipPath cuts a path or address before it becomes inline code.
func clipPath(p string) string { return escape.PlainText(p, maxPath) }
