package summary

import (
	"fmt"
	"strings"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/escape"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
)

// writeTables writes the findings in up to three tables: the deletions the
// change plans, the keys that count for the verdict, and those elsewhere in
// the account (fail-scope change). A run with neither planned deletions nor
// findings elsewhere has the one table "Keys".
func writeTables(b *strings.Builder, res finding.Result, budget int, runURL string) {
	var planned, here, elsewhere []finding.Finding
	for _, f := range res.Findings {
		switch {
		case f.RuleID == finding.RuleDeletionPlanned:
			planned = append(planned, f)
		case f.Elsewhere:
			elsewhere = append(elsewhere, f)
		default:
			here = append(here, f)
		}
	}
	used := 0
	if len(planned) == 0 && len(elsewhere) == 0 {
		writeTable(b, "Keys", here, res.ScanTime, budget, &used, runURL)
		return
	}
	for _, t := range []struct {
		title string
		rows  []finding.Finding
	}{
		{"Deleted by this change", planned},
		{"Keys pending deletion", here},
		{"Elsewhere in the account (reported, not counted: fail-scope change)", elsewhere},
	} {
		if len(t.rows) > 0 && !writeTable(b, t.title, t.rows, res.ScanTime, budget, &used, runURL) {
			return
		}
	}
}

// keyCell names the key; for a planned deletion, the resource that deletes
// it and where it is declared (or the plan it was read from) come first.
func keyCell(f finding.Finding) string {
	id := escape.Identifier(f.KeyID)
	if f.KeyID == "" {
		id = "key not named by the plan"
	}
	p := f.Planned
	if p == nil {
		return id
	}
	where := "removed; from " + escape.Identifier(p.Source)
	switch {
	case p.Declared != nil:
		where = escape.Identifier(fmt.Sprintf("%s:%d", p.Declared.Path, p.Declared.Line))
	case p.RemovedFrom != nil:
		where = "removed from " + escape.Identifier(fmt.Sprintf("%s:%d", p.RemovedFrom.Path, p.RemovedFrom.Line)) + " at base"
	}
	s := escape.Identifier(p.Address) + " (" + escape.Markdown(p.Action, 20) + ", " + where + ")<br>" + id
	if !p.Live {
		s += " (not found in AWS)"
	}
	return s
}

// writeScope says what the verdict judged, what the pull request added to
// the allowlist and which config-file settings it changes.
func writeScope(b *strings.Builder, res finding.Result) {
	if res.Scope == "change" {
		n := 0
		for _, f := range res.Findings {
			if f.Elsewhere {
				n++
			}
		}
		fmt.Fprintf(b, "Fail scope **change**: the verdict counts the deletions this change plans and the keys pending deletion that the changed files reference; %d finding(s) elsewhere in the account are reported below but not counted.\n\n", n)
	}
	if len(res.AllowAddedByChange) > 0 {
		b.WriteString("Allowlist entries **added by this pull request** approve nothing until it is merged:\n\n")
		for _, e := range res.AllowAddedByChange {
			fmt.Fprintf(b, "- %s: %s, %s (until %s)\n", escape.Identifier(e.Source), escape.Markdown(e.Selector, 300),
				escape.Markdown(e.Reason, 300), escape.Markdown(e.Expires, 10))
		}
		b.WriteString("\n")
	}
	writeSettingChanges(b, res)
}
